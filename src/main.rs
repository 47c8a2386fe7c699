//! The command line: `acsemu serve`, `acsemu env`, `acsemu export`.

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::{Args, Parser, Subcommand, ValueEnum};

use acsemu::config::{LogFormat, ServeArgs, DEFAULT_ACCOUNT_ID, DEFAULT_DATA};
use acsemu::state_file::{self, StateFile};
use acsemu::store::{Store, StoreError};
use acsemu::{AppState, Config, StartError};

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
    Serve(ServeCmd),
    /// Print shell exports that point the SDKs and the aliyun CLI at acsemu:
    /// `eval "$(acsemu env)"`. Takes the same flags and ACSEMU_* variables as `serve`.
    Env(EnvCmd),
    /// Write the current state as a state file (secrets of user AccessKeys included).
    Export(ExportCmd),
}

#[derive(Args)]
struct ServeCmd {
    #[command(flatten)]
    args: ServeArgs,
    /// Apply this state file (YAML, or JSON when it ends in .json) before the first request;
    /// applying the same file again changes nothing.
    #[arg(long, env = "ACSEMU_INIT", value_name = "FILE")]
    init: Option<PathBuf>,
}

#[derive(Args)]
struct EnvCmd {
    #[command(flatten)]
    args: ServeArgs,
    /// Also export ALIBABA_CLOUD_CREDENTIALS_URI with this instance's role credentials.
    #[arg(long, value_name = "INSTANCE_ID")]
    instance: Option<String>,
}

#[derive(Clone, Copy, ValueEnum)]
enum ExportFormat {
    Yaml,
    Json,
}

#[derive(Args)]
struct ExportCmd {
    /// The SQLite database to read (it may be in use by a running server).
    #[arg(long, env = "ACSEMU_DATA", default_value = DEFAULT_DATA)]
    data: PathBuf,
    /// The account whose buckets to export.
    #[arg(long, env = "ACSEMU_ACCOUNT_ID", default_value = DEFAULT_ACCOUNT_ID)]
    account_id: String,
    #[arg(long, value_enum, default_value = "yaml")]
    format: ExportFormat,
    /// Write here (owner-only: it holds secrets) instead of standard output.
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(cmd) => serve(&cmd),
        Command::Env(cmd) => env(&cmd),
        Command::Export(cmd) => export(&cmd),
    }
}

/// Log lines are formatted on the request thread but written by a background thread through a
/// buffer flushed whenever it runs dry: one line per request cost a write(2) per request on the
/// request path (issue 9's profile). Nothing is dropped (`lossy(false)`); the guard flushes the
/// rest when `serve` returns.
fn init_logs(args: &ServeArgs) -> tracing_appender::non_blocking::WorkerGuard {
    let level = if args.quiet { "warn" } else { "info" };
    let filter = tracing_subscriber::EnvFilter::try_from_env("ACSEMU_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .lossy(false)
        // The default preallocates 128k slots (about 4 MiB resident); 4096 lines is plenty of
        // slack for a writer that only waits on stderr.
        .buffered_lines_limit(4096)
        .finish(std::io::BufWriter::new(std::io::stderr()));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    match args.log_format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Pretty => builder.compact().init(),
    }
    guard
}

fn serve(cmd: &ServeCmd) -> std::process::ExitCode {
    let _log_guard = init_logs(&cmd.args);
    let config = match Config::from_args(&cmd.args) {
        Ok(c) => c,
        Err(e) => return fail(&e),
    };
    // Read the state file before anything listens, so a bad file fails fast.
    let init = match &cmd.init {
        Some(path) => match StateFile::read(path) {
            Ok(f) => Some((path.clone(), f)),
            Err(e) => return fail(&e),
        },
        None => None,
    };
    let workers = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
    match actix_rt::System::new().block_on(async { start(config, init, workers).await }) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => fail(&e),
    }
}

async fn start(
    config: Config,
    init: Option<(PathBuf, StateFile)>,
    workers: usize,
) -> Result<(), String> {
    let state = Arc::new(AppState::new(config).map_err(|e| explain(&e))?);
    if let Some((path, file)) = init {
        let applied = state_file::apply_to(&state, &file).map_err(|e| {
            format!(
                "cannot apply the state file {}: {e} (nothing was changed)",
                path.display()
            )
        })?;
        tracing::info!(
            file = %path.display(),
            created = applied.created,
            updated = applied.updated,
            "applied the state file"
        );
    }
    let bound = acsemu::bind(state.clone(), workers).map_err(|e| explain(&e))?;
    let c = &state.config;
    let mut out = std::io::stdout().lock();
    let oss = state
        .oss
        .listener()
        .map(|a| format!(" oss_endpoint=http://{a}"))
        .unwrap_or_default();
    let metadata = state
        .metadata
        .listener()
        .map(|a| format!(" metadata_endpoint=http://{a}"))
        .unwrap_or_default();
    // The one ready line scripts and test fixtures wait for: always the first line.
    let _ = writeln!(
        out,
        "acsemu ready endpoint=http://{} account_id={} access_key_id={} access_key_secret={}{oss}{metadata}",
        bound.addr, c.account_id, c.root_access_key_id, c.root_access_key_secret
    );
    // Then what `acsemu env` prints, for copy and paste.
    for line in env_lines(bound.addr, c, state.oss.listener(), None) {
        let _ = writeln!(out, "{line}");
    }
    let _ = out.flush();
    drop(out);
    let result = bound.server.await.map_err(|e| e.to_string());
    state.shutdown();
    result
}

/// Every start-up failure, said so that the reader knows what to do next.
fn explain(e: &StartError) -> String {
    match e {
        StartError::Bind(addr, io) if io.kind() == std::io::ErrorKind::AddrInUse => format!(
            "cannot listen on {addr}: the address is already in use (another acsemu?). Stop that \
             process, or choose another address with --listen (port 0 picks a free one)."
        ),
        StartError::Bind(addr, io) if io.kind() == std::io::ErrorKind::PermissionDenied => {
            format!(
                "cannot listen on {addr}: permission denied (ports below 1024 need root). Choose \
                 another address with --listen."
            )
        }
        StartError::Store(StoreError::Open { path, reason }) => format!(
            "cannot open the database {path}: {reason}. It must be a readable and writable SQLite \
             file written by acsemu; start on another file with --data PATH, or with --in-memory."
        ),
        StartError::Store(StoreError::TooNew(path, found, known)) => format!(
            "the database {path} was written by a newer acsemu (schema version {found}; this \
             binary knows versions up to {known}). Run the newer acsemu, or start on another \
             file with --data PATH."
        ),
        other => other.to_string(),
    }
}

/// `export NAME='value'` lines: what the official SDKs and the aliyun CLI read.
///
/// - `ALIBABA_CLOUD_ACCESS_KEY_ID` / `_SECRET`: the credentials default chain of every official
///   SDK (alibabacloud-credentials, credentials-go, ...) and the aliyun CLI.
/// - `ALIBABA_CLOUD_SECURITY_TOKEN` is unset: a token left from another session would be sent
///   with the root key and refused.
/// - `ALIBABA_CLOUD_REGION_ID`: the aliyun CLI's region.
/// - `ALIBABA_CLOUD_ENDPOINT`: the aliyun CLI's endpoint (`host:port`). The Python SDKs read no
///   endpoint variable (alibabacloud-tea-openapi and aliyun-python-sdk-core take it in code):
///   give them `ACSEMU_ENDPOINT`.
/// - `ALIBABA_CLOUD_ECS_METADATA` names a role, not an endpoint, and is left alone.
/// - With an instance, `ALIBABA_CLOUD_CREDENTIALS_URI` for the `credentials_uri` provider.
fn env_lines(
    addr: SocketAddr,
    c: &Config,
    oss: Option<SocketAddr>,
    instance: Option<&str>,
) -> Vec<String> {
    let host = |a: SocketAddr| {
        let ip = if a.ip().is_unspecified() {
            std::net::IpAddr::from([127, 0, 0, 1])
        } else {
            a.ip()
        };
        SocketAddr::new(ip, a.port()).to_string()
    };
    let hostport = host(addr);
    let mut vars = vec![
        ("ALIBABA_CLOUD_ACCESS_KEY_ID", c.root_access_key_id.clone()),
        (
            "ALIBABA_CLOUD_ACCESS_KEY_SECRET",
            c.root_access_key_secret.clone(),
        ),
        ("ALIBABA_CLOUD_REGION_ID", "cn-hangzhou".to_string()),
        ("ALIBABA_CLOUD_ENDPOINT", hostport.clone()),
        ("ACSEMU_ENDPOINT", format!("http://{hostport}")),
        ("ACSEMU_ACCOUNT_ID", c.account_id.clone()),
    ];
    if let Some(o) = oss {
        vars.push(("ACSEMU_OSS_ENDPOINT", format!("http://{}", host(o))));
    }
    if let Some(id) = instance {
        let token = c
            .control_token
            .as_ref()
            .map(|t| format!("?token={}", percent_encode(t)))
            .unwrap_or_default();
        vars.push((
            "ALIBABA_CLOUD_CREDENTIALS_URI",
            format!(
                "http://{hostport}/_acsemu/credentials/{}{token}",
                percent_encode(id)
            ),
        ));
    }
    let mut lines: Vec<String> = vars
        .into_iter()
        .map(|(k, v)| format!("export {k}={}", shell_quote(&v)))
        .collect();
    lines.push("unset ALIBABA_CLOUD_SECURITY_TOKEN".to_string());
    lines
}

/// Everything but the unreserved characters of RFC 3986.
const URL_VALUE: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

fn percent_encode(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, URL_VALUE).to_string()
}

/// Single quotes, with each `'` written as `'\''`.
fn shell_quote(v: &str) -> String {
    format!("'{}'", v.replace('\'', r"'\''"))
}

fn env(cmd: &EnvCmd) -> std::process::ExitCode {
    let config = match Config::from_args(&cmd.args) {
        Ok(c) => c,
        Err(e) => return fail(&e),
    };
    if config.listen.port() == 0 {
        return fail(
            "acsemu env needs the port the server listens on; with --listen ...:0 read the lines \
             `acsemu serve` prints after its ready line instead",
        );
    }
    let mut out = std::io::stdout().lock();
    for line in env_lines(
        config.listen,
        &config,
        config.oss_listen,
        cmd.instance.as_deref(),
    ) {
        let _ = writeln!(out, "{line}");
    }
    std::process::ExitCode::SUCCESS
}

fn export(cmd: &ExportCmd) -> std::process::ExitCode {
    match export_text(cmd) {
        Ok(text) => match &cmd.output {
            Some(path) => match write_private(path, &text) {
                Ok(()) => std::process::ExitCode::SUCCESS,
                Err(e) => fail(&format!("cannot write {}: {e}", path.display())),
            },
            None => {
                let mut out = std::io::stdout().lock();
                let _ = out.write_all(text.as_bytes());
                let _ = out.flush();
                std::process::ExitCode::SUCCESS
            }
        },
        Err(e) => fail(&e),
    }
}

fn export_text(cmd: &ExportCmd) -> Result<String, String> {
    // Store::open would create a missing database: an export of nothing is a mistake.
    if !cmd.data.is_file() {
        return Err(format!(
            "there is no database at {} (give the one the server uses with --data PATH)",
            cmd.data.display()
        ));
    }
    let store = Store::open(Some(&cmd.data)).map_err(|e| explain(&StartError::Store(e)))?;
    let file = state_file::export(&store, &cmd.account_id)
        .map_err(|e| format!("cannot read the state: {}", e.message))?;
    let format = match cmd.format {
        ExportFormat::Yaml => state_file::Format::Yaml,
        ExportFormat::Json => state_file::Format::Json,
    };
    file.render(format)
}

#[cfg(unix)]
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(text.as_bytes())
}

#[cfg(not(unix))]
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    std::fs::write(path, text)
}

fn fail(message: &str) -> std::process::ExitCode {
    eprintln!("acsemu: {message}");
    std::process::ExitCode::FAILURE
}
