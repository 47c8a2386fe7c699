//! Child servers (acsemu itself and the bare baseline), their ready lines, and what /proc says
//! about them (resident memory, CPU time).

use std::io::BufRead;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How long a server may take to print its ready line.
const READY_TIMEOUT: Duration = Duration::from_secs(20);
/// Linux reports CPU times in clock ticks of 1/100 s on every supported architecture.
const CLOCK_TICKS: f64 = 100.0;

pub struct Server {
    child: Child,
    pub pid: u32,
    pub addr: SocketAddr,
    pub host: String,
    pub account_id: String,
    pub access_key_id: String,
    pub access_key_secret: String,
    /// When the process was spawned.
    pub spawned: Instant,
    pub log: PathBuf,
}

impl Server {
    /// `program args...`, stdout piped for the ready line, stderr into `log`.
    pub fn spawn(program: &Path, args: &[String], log: &Path) -> Result<Self, String> {
        let log_file = std::fs::File::create(log)
            .map_err(|e| format!("cannot create {}: {e}", log.display()))?;
        let spawned = Instant::now();
        let mut child = Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log_file))
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", program.display()))?;
        let pid = child.id();
        let Some(stdout) = child.stdout.take() else {
            let _ = child.kill();
            let _ = child.wait();
            return Err("no stdout pipe".into());
        };
        let (tx, rx) = mpsc::channel();
        // The reader keeps the pipe open for the server's life; it ends at EOF.
        std::thread::spawn(move || {
            let mut reader = std::io::BufReader::new(stdout);
            let mut sent = false;
            let mut line = String::new();
            for _ in 0..1000 {
                line.clear();
                match reader.read_line(&mut line) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        if !sent && line.contains(" ready ") {
                            let _ = tx.send(line.trim().to_string());
                            sent = true;
                        }
                    }
                }
            }
        });
        let line = match rx.recv_timeout(READY_TIMEOUT) {
            Ok(v) => v,
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "{} printed no ready line; log tail:\n{}",
                    program.display(),
                    tail(log)
                ));
            }
        };
        let field = |name: &str| -> String {
            line.split(' ')
                .find_map(|p| p.strip_prefix(name).and_then(|r| r.strip_prefix('=')))
                .unwrap_or_default()
                .to_string()
        };
        let endpoint = field("endpoint");
        let host = endpoint.trim_start_matches("http://").to_string();
        let addr: SocketAddr = match host.parse() {
            Ok(a) => a,
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("cannot read the address in {line:?}"));
            }
        };
        Ok(Self {
            child,
            pid,
            addr,
            host,
            account_id: field("account_id"),
            access_key_id: field("access_key_id"),
            access_key_secret: field("access_key_secret"),
            spawned,
            log: log.to_path_buf(),
        })
    }

    pub fn rss(&self) -> Memory {
        memory(self.pid)
    }

    pub fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn log_tail(&self) -> String {
        tail(&self.log)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(10)..].join("\n")
}

/// Resident memory in KiB: now (VmRSS) and the peak (VmHWM).
#[derive(Debug, Clone, Copy, Default)]
pub struct Memory {
    pub rss_kib: u64,
    pub hwm_kib: u64,
}

impl Memory {
    pub fn rss_mib(self) -> f64 {
        self.rss_kib as f64 / 1024.0
    }

    pub fn hwm_mib(self) -> f64 {
        self.hwm_kib as f64 / 1024.0
    }
}

pub fn memory(pid: u32) -> Memory {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let kib = |key: &str| -> u64 {
        text.lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|r| r.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    };
    Memory {
        rss_kib: kib("VmRSS:"),
        hwm_kib: kib("VmHWM:"),
    }
}

/// User + system CPU seconds of `pid` (this process when `None`).
pub fn cpu_seconds(pid: Option<u32>) -> f64 {
    let path = pid.map_or_else(
        || "/proc/self/stat".to_string(),
        |p| format!("/proc/{p}/stat"),
    );
    let text = std::fs::read_to_string(path).unwrap_or_default();
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let Some(rest) = text.rfind(')').map(|i| &text[i + 1..]) else {
        return 0.0;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let tick = |i: usize| -> f64 {
        fields
            .get(i)
            .and_then(|v| v.parse::<u64>().ok())
            .map_or(0.0, |v| v as f64)
    };
    // `rest` starts at field 3 (state), so field N is index N - 3.
    (tick(11) + tick(12)) / CLOCK_TICKS
}
