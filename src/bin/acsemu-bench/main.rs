//! `acsemu-bench`: starts the real server (`acsemu serve` as a child process, on a temporary
//! database) and a bare actix-web baseline, drives both with pre-signed requests over keep-alive
//! connections, and reports cold start, resident memory, throughput and latency, how they grow
//! with state size, and PASS/MISS against the targets of issue 9. `scripts/bench` builds the
//! release binaries and runs it; the table goes to standard output, the figures as JSON to
//! `target/bench/latest.json`.

mod bare;
mod load;
mod procs;
mod report;
mod scenarios;
mod seed;
mod sign;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;

#[derive(Parser, Debug, Clone)]
#[command(
    name = "acsemu-bench",
    about = "Benchmarks acsemu against a bare actix-web baseline (see README, Performance)"
)]
pub struct Cli {
    /// Short run for development: 1 s per scenario, 3 cold starts.
    #[arg(long)]
    pub quick: bool,
    /// Seconds per timed window (default 3, or 1 with --quick).
    #[arg(long)]
    pub duration: Option<f64>,
    /// Concurrent keep-alive connections (closed loop).
    #[arg(long, default_value_t = 64)]
    pub connections: usize,
    /// The acsemu binary (default: `acsemu` beside this binary).
    #[arg(long)]
    pub server: Option<PathBuf>,
    /// Where the JSON report goes.
    #[arg(long, default_value = "target/bench/latest.json")]
    pub json: PathBuf,
    /// Sections to run, comma-separated: cold, main, bare, growth (default all).
    #[arg(long, value_delimiter = ',')]
    pub only: Vec<String>,
    /// Role counts for the growth runs.
    #[arg(long, value_delimiter = ',', default_value = "1000,10000,100000")]
    pub sizes: Vec<usize>,
    /// Cold starts per database (default 5, or 3 with --quick).
    #[arg(long)]
    pub cold_runs: Option<usize>,
    /// Start acsemu with `--quiet` (by default it logs one line per request, as it does out of
    /// the box; the log goes to a file in the temporary directory).
    #[arg(long)]
    pub quiet_server: bool,
    /// Largest pool of pre-signed requests per window.
    #[arg(long, default_value_t = 250_000)]
    pub max_requests: usize,
    /// Compare with another emulator (`moto`): not implemented yet; recorded as such.
    #[arg(long)]
    pub compare: Option<String>,
    /// Keep the temporary directory (databases, server logs) for inspection.
    #[arg(long)]
    pub keep: bool,

    /// Internal: serve the bare baseline instead of benchmarking.
    #[arg(long, hide = true)]
    pub bare: bool,
    #[arg(long, hide = true)]
    pub listen: Option<std::net::SocketAddr>,
    #[arg(long, hide = true)]
    pub data: Option<PathBuf>,
    #[arg(long, hide = true)]
    pub access_key_id: Option<String>,
    #[arg(long, hide = true)]
    pub access_key_secret: Option<String>,
    #[arg(long, hide = true)]
    pub workers: Option<usize>,
}

impl Cli {
    pub fn window(&self) -> Duration {
        let secs = self
            .duration
            .unwrap_or(if self.quick { 1.0 } else { 3.0 })
            .clamp(0.2, 60.0);
        Duration::from_secs_f64(secs)
    }

    pub fn cold_runs(&self) -> usize {
        self.cold_runs
            .unwrap_or(if self.quick { 3 } else { 5 })
            .clamp(1, 50)
    }

    pub fn section(&self, name: &str) -> bool {
        self.only.is_empty() || self.only.iter().any(|s| s == name)
    }
}

/// Worker threads both servers use: acsemu's default (one per core).
pub fn workers() -> usize {
    std::thread::available_parallelism().map_or(2, std::num::NonZero::get)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if cli.bare {
        return serve_bare(&cli);
    }
    match scenarios::run_all(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("acsemu-bench: {e}");
            ExitCode::FAILURE
        }
    }
}

fn serve_bare(cli: &Cli) -> ExitCode {
    let (Some(listen), Some(data), Some(ak), Some(sk)) = (
        cli.listen,
        cli.data.clone(),
        cli.access_key_id.clone(),
        cli.access_key_secret.clone(),
    ) else {
        eprintln!(
            "acsemu-bench --bare needs --listen, --data, --access-key-id, --access-key-secret"
        );
        return ExitCode::FAILURE;
    };
    let args = bare::BareArgs {
        listen,
        data,
        access_key_id: ak,
        access_key_secret: sk,
        workers: cli.workers.unwrap_or_else(workers),
    };
    match bare::serve(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("acsemu-bench --bare: {e}");
            ExitCode::FAILURE
        }
    }
}
