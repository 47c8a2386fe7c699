//! `acsemu serve`: the command line.

use std::io::Write;
use std::sync::Arc;

use clap::{Parser, Subcommand};

use acsemu::config::{LogFormat, ServeArgs};
use acsemu::{AppState, Config};

#[derive(Parser)]
#[command(
    name = "acsemu",
    version,
    about = "A local emulator of Alibaba Cloud RAM, STS, ECS, instance metadata and OSS"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start the server.
    Serve(ServeArgs),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => serve(&args),
    }
}

fn init_logs(args: &ServeArgs) {
    let level = if args.quiet { "warn" } else { "info" };
    let filter = tracing_subscriber::EnvFilter::try_from_env("ACSEMU_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    match args.log_format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Pretty => builder.compact().init(),
    }
}

fn serve(args: &ServeArgs) -> std::process::ExitCode {
    init_logs(args);
    let config = match Config::from_args(args) {
        Ok(c) => c,
        Err(e) => return fail(&e),
    };
    let workers = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
    let runtime = match actix_rt::System::new().block_on(async { start(config, workers).await }) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => return fail(&e),
    };
    runtime
}

async fn start(config: Config, workers: usize) -> Result<(), String> {
    let state = Arc::new(AppState::new(config).map_err(|e| e.to_string())?);
    let bound = acsemu::bind(state.clone(), workers).map_err(|e| e.to_string())?;
    let c = &state.config;
    let mut out = std::io::stdout().lock();
    // The one ready line scripts and test fixtures wait for.
    let oss = state
        .oss
        .listener()
        .map(|a| format!(" oss_endpoint=http://{a}"))
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "acsemu ready endpoint=http://{} account_id={} access_key_id={} access_key_secret={}{oss}",
        bound.addr, c.account_id, c.root_access_key_id, c.root_access_key_secret
    );
    let _ = out.flush();
    drop(out);
    let result = bound.server.await.map_err(|e| e.to_string());
    state.shutdown();
    result
}

fn fail(message: &str) -> std::process::ExitCode {
    eprintln!("acsemu: {message}");
    std::process::ExitCode::FAILURE
}
