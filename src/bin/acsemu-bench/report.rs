//! The figures, the targets of issue 9 with PASS/MISS, the table and the JSON.

use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use serde_json::{json, Value};

use crate::load::LoadResult;
use crate::procs::Memory;
use crate::scenarios::Spec;
use crate::seed::Seeded;
use crate::sign::Key;
use crate::Cli;

pub const DEFAULT_ACCOUNT: &str = acsemu::config::DEFAULT_ACCOUNT_ID;

/// A generator using more than this share of one core in a window may be what limits it.
const GENERATOR_BOUND: f64 = 0.85;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Read,
    Write,
    Baseline,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Write => "write",
            Self::Baseline => "baseline",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Run {
    pub label: String,
    pub kind: Kind,
    pub result: Option<LoadResult>,
    pub note: Option<String>,
    pub pool: usize,
    pub presign: Duration,
}

impl Run {
    pub fn failed(label: &str, kind: Kind, why: String) -> Self {
        eprintln!("  {label}: FAILED: {why}");
        Self::skipped(label, kind, format!("failed: {why}"))
    }

    pub fn skipped(label: &str, kind: Kind, why: String) -> Self {
        Self {
            label: label.to_string(),
            kind,
            result: None,
            note: Some(why),
            pool: 0,
            presign: Duration::ZERO,
        }
    }

    pub fn done(
        label: &str,
        kind: Kind,
        result: LoadResult,
        pool: usize,
        presign: Duration,
    ) -> Self {
        let note = result.first_failure.as_ref().map(|f| {
            format!(
                "{} failed, {} I/O errors; first: {f}",
                result.failed, result.io_errors
            )
        });
        Self {
            label: label.to_string(),
            kind,
            result: Some(result),
            note,
            pool,
            presign,
        }
    }

    pub fn rps(&self) -> Option<f64> {
        self.result.as_ref().map(LoadResult::rps)
    }

    pub fn p99(&self) -> Option<f64> {
        self.result.as_ref().map(|r| r.percentile_ms(99.0))
    }

    pub fn p50(&self) -> Option<f64> {
        self.result.as_ref().map(|r| r.percentile_ms(50.0))
    }

    /// Whether the generator used most of a core: then it, not the server, may set the rate.
    pub fn generator_bound(&self) -> bool {
        self.result.as_ref().is_some_and(|r| {
            r.elapsed.as_secs_f64() > 0.0
                && r.generator_cpu / r.elapsed.as_secs_f64() > GENERATOR_BOUND
        })
    }

    pub fn progress_line(&self) -> String {
        match &self.result {
            Some(r) => format!(
                "{:<44} {:>9.0} req/s  p50 {:>6.2} ms  p99 {:>7.2} ms  ({} ok, {} failed)",
                self.label,
                r.rps(),
                r.percentile_ms(50.0),
                r.percentile_ms(99.0),
                r.ok,
                r.failed + r.io_errors
            ),
            None => format!(
                "{:<44} skipped: {}",
                self.label,
                self.note.as_deref().unwrap_or("")
            ),
        }
    }

    fn row(&self, out: &mut String) {
        match &self.result {
            Some(r) => {
                let secs = r.elapsed.as_secs_f64().max(1e-9);
                let _ = writeln!(
                    out,
                    "{:<44} {:>9.0} {:>8.2} {:>8.2} {:>8.2} {:>9} {:>6} {:>7} {:>7.0}% {:>7.0}% {:>7.1}{}",
                    self.label,
                    r.rps(),
                    r.percentile_ms(50.0),
                    r.percentile_ms(99.0),
                    f64::from(r.latencies_us.last().copied().unwrap_or(0)) / 1000.0,
                    r.ok,
                    r.failed + r.io_errors,
                    r.mean_body(),
                    r.server_cpu / secs * 100.0,
                    r.generator_cpu / secs * 100.0,
                    r.generator_us_per_request(),
                    if self.generator_bound() { "  (generator-bound?)" } else { "" }
                );
                if let Some(n) = &self.note {
                    let _ = writeln!(out, "    note: {n}");
                }
            }
            None => {
                let _ = writeln!(
                    out,
                    "{:<44} skipped: {}",
                    self.label,
                    self.note.as_deref().unwrap_or("")
                );
            }
        }
    }

    fn json(&self) -> Value {
        let Some(r) = &self.result else {
            return json!({"label": self.label, "kind": self.kind.name(), "skipped": self.note});
        };
        let secs = r.elapsed.as_secs_f64().max(1e-9);
        json!({
            "label": self.label,
            "kind": self.kind.name(),
            "rps": round(r.rps(), 1),
            "p50_ms": round(r.percentile_ms(50.0), 3),
            "p90_ms": round(r.percentile_ms(90.0), 3),
            "p99_ms": round(r.percentile_ms(99.0), 3),
            "max_ms": round(f64::from(r.latencies_us.last().copied().unwrap_or(0)) / 1000.0, 3),
            "requests": r.requests,
            "ok": r.ok,
            "failed": r.failed,
            "io_errors": r.io_errors,
            "statuses": r.statuses.iter().map(|(k, v)| (k.to_string(), json!(v))).collect::<serde_json::Map<_, _>>(),
            "window_s": round(secs, 3),
            "pool": self.pool,
            "pool_exhausted": r.exhausted,
            "presign_s": round(self.presign.as_secs_f64(), 3),
            "mean_body_bytes": r.mean_body(),
            "server_cpu_pct": round(r.server_cpu / secs * 100.0, 1),
            "generator_cpu_pct": round(r.generator_cpu / secs * 100.0, 1),
            "generator_us_per_request": round(r.generator_us_per_request(), 2),
            "generator_bound": self.generator_bound(),
            "note": self.note,
        })
    }
}

#[derive(Debug, Clone)]
pub struct ColdStart {
    pub label: String,
    pub runs: Vec<(Duration, Memory)>,
    pub note: Option<String>,
    pub seeded: Option<Seeded>,
}

impl ColdStart {
    pub fn new(label: &str) -> Self {
        Self {
            label: label.to_string(),
            runs: Vec::new(),
            note: None,
            seeded: None,
        }
    }

    pub fn push(&mut self, took: Duration, mem: Memory) {
        self.runs.push((took, mem));
    }

    fn sorted_ms(&self) -> Vec<f64> {
        let mut v: Vec<f64> = self.runs.iter().map(|(d, _)| ms(*d)).collect();
        v.sort_by(f64::total_cmp);
        v
    }

    pub fn median_ms(&self) -> Option<f64> {
        let v = self.sorted_ms();
        v.get(v.len() / 2).copied()
    }

    pub fn median_rss(&self) -> Option<f64> {
        let mut v: Vec<f64> = self.runs.iter().map(|(_, m)| m.rss_mib()).collect();
        v.sort_by(f64::total_cmp);
        v.get(v.len() / 2).copied()
    }

    pub fn progress_line(&self) -> String {
        format!(
            "{:<44} median {} (runs: {})  RSS {}{}",
            self.label,
            opt_ms(self.median_ms()),
            self.sorted_ms()
                .iter()
                .map(|m| format!("{m:.1}"))
                .collect::<Vec<_>>()
                .join(", "),
            opt_mib(self.median_rss()),
            self.note
                .as_ref()
                .map(|n| format!("  ({n})"))
                .unwrap_or_default()
        )
    }
}

#[derive(Debug, Clone)]
pub struct Growth {
    pub roles: usize,
    pub cold_start: Duration,
    pub rss_start: Memory,
    pub rss_after: Memory,
    pub get_role: Run,
    pub create_role: Run,
}

#[derive(Debug, Clone)]
pub struct Check {
    pub name: String,
    pub value: String,
    pub limit: String,
    /// None: not measured in this run.
    pub pass: Option<bool>,
}

pub struct Report {
    pub window: Duration,
    pub connections: usize,
    pub server_bin: String,
    pub quick: bool,
    pub quiet_server: bool,
    pub cold: Vec<ColdStart>,
    pub main: Vec<(Spec, Key, Run)>,
    pub skipped: Vec<Run>,
    pub main_memory: (Memory, Memory),
    pub main_first_request: Option<Duration>,
    pub main_account: String,
    pub server_log_lines: usize,
    pub fixed: Vec<(String, Run)>,
    pub bare: Vec<(String, Run)>,
    pub bare_memory: (Memory, Memory),
    pub growth: Vec<Growth>,
    pub notes: Vec<String>,
    pub checks: Vec<Check>,
    /// Lowest generator CPU cost per request seen, in microseconds, and the one-thread ceiling
    /// it implies.
    pub generator: Option<(f64, f64)>,
}

impl Report {
    pub fn new(cli: &Cli, server_bin: &Path) -> Self {
        Self {
            window: cli.window(),
            connections: cli.connections,
            server_bin: server_bin.display().to_string(),
            quick: cli.quick,
            quiet_server: cli.quiet_server,
            cold: Vec::new(),
            main: Vec::new(),
            skipped: Vec::new(),
            main_memory: (Memory::default(), Memory::default()),
            main_first_request: None,
            main_account: String::new(),
            server_log_lines: 0,
            fixed: Vec::new(),
            bare: Vec::new(),
            bare_memory: (Memory::default(), Memory::default()),
            growth: Vec::new(),
            notes: Vec::new(),
            checks: Vec::new(),
            generator: None,
        }
    }

    fn main_run(&self, label: &str) -> Option<&Run> {
        self.main
            .iter()
            .find(|(s, _, _)| s.label() == label)
            .map(|(_, _, r)| r)
    }

    fn bare_run(&self, route: &str) -> Option<&Run> {
        self.bare.iter().find(|(r, _)| r == route).map(|(_, r)| r)
    }

    fn all_runs(&self) -> impl Iterator<Item = &Run> {
        self.main
            .iter()
            .map(|(_, _, r)| r)
            .chain(self.fixed.iter().map(|(_, r)| r))
            .chain(self.bare.iter().map(|(_, r)| r))
            .chain(
                self.growth
                    .iter()
                    .flat_map(|g| [&g.get_role, &g.create_role]),
            )
    }

    /// Computes the generator ceiling and the target checks.
    pub fn finish(&mut self) {
        let best = self
            .all_runs()
            .filter_map(|r| r.result.as_ref())
            .filter(|r| r.requests > 0 && r.generator_cpu > 0.0)
            .map(LoadResult::generator_us_per_request)
            .fold(f64::INFINITY, f64::min);
        if best.is_finite() && best > 0.0 {
            self.generator = Some((best, 1e6 / best));
        }
        if self.all_runs().any(Run::generator_bound) {
            self.notes.push(
                "some windows used most of a core in the generator (marked generator-bound?): \
                 on 2 cores the generator and the server share the CPU, for acsemu and the \
                 baseline alike"
                    .into(),
            );
        }
        let mut checks = Vec::new();
        let ratio = |a: Option<&Run>, b: Option<&Run>| -> Option<f64> {
            let (a, b) = (a?.rps()?, b?.rps()?);
            (b > 0.0).then(|| a / b)
        };
        for (label, route, bare_label, min) in [
            ("GetCallerIdentity", "sig", "bare signature check", 0.6),
            ("GetRole", "read", "bare signed read", 0.6),
            ("CreateRole", "insert", "bare signed insert", 0.5),
            ("AssumeRole", "insert", "bare signed insert", 0.5),
        ] {
            let r = ratio(self.main_run(label), self.bare_run(route));
            checks.push(Check {
                name: format!("{label} rps vs {bare_label}"),
                value: r.map_or("n/a".into(), |r| format!("{:.0}%", r * 100.0)),
                limit: format!(">= {:.0}%", min * 100.0),
                pass: r.map(|r| r >= min),
            });
        }
        for (spec, _, run) in &self.main {
            let limit = if spec.kind() == Kind::Write {
                100.0
            } else {
                10.0
            };
            let p = run.p99();
            checks.push(Check {
                name: format!("{} p99 at {} connections", spec.label(), self.connections),
                value: opt_ms(p),
                limit: format!("<= {limit} ms"),
                pass: p.map(|p| p <= limit),
            });
        }
        for run in &self.skipped {
            checks.push(Check {
                name: format!("{} p99", run.label),
                value: "skipped".into(),
                limit: "<= 10 ms".into(),
                pass: None,
            });
        }
        for (i, limit) in [(0usize, 20.0), (1, 100.0)] {
            let c = self.cold.get(i);
            let v = c.and_then(ColdStart::median_ms);
            checks.push(Check {
                name: format!("cold start, {}", c.map_or("-", |c| c.label.as_str())),
                value: opt_ms(v),
                limit: format!("<= {limit} ms"),
                pass: v.map(|v| v <= limit),
            });
        }
        let (start, after) = self.main_memory;
        let start_mib = if start.rss_kib > 0 {
            Some(start.rss_mib())
        } else {
            self.cold.first().and_then(ColdStart::median_rss)
        };
        checks.push(Check {
            name: "RSS after start".into(),
            value: opt_mib(start_mib),
            limit: "<= 10 MiB".into(),
            pass: start_mib.map(|v| v <= 10.0),
        });
        let after_mib = (after.rss_kib > 0).then(|| after.rss_mib());
        checks.push(Check {
            name: "RSS after load".into(),
            value: opt_mib(after_mib),
            limit: "<= 30 MiB".into(),
            pass: after_mib.map(|v| v <= 30.0),
        });
        if let (Some(first), Some(last)) = (self.growth.first(), self.growth.last()) {
            if first.roles != last.roles {
                let span = format!("{} -> {} roles", first.roles, last.roles);
                let mut grow =
                    |name: &str, a: Option<f64>, b: Option<f64>, higher_is_better: bool| {
                        let factor = match (a, b) {
                            (Some(a), Some(b)) if a > 0.0 && b > 0.0 => {
                                Some(if higher_is_better { a / b } else { b / a })
                            }
                            _ => None,
                        };
                        checks.push(Check {
                            name: format!("{name} degradation, {span}"),
                            value: factor.map_or("n/a".into(), |f| format!("{f:.2}x")),
                            limit: "<= 2x".into(),
                            pass: factor.map(|f| f <= 2.0),
                        });
                    };
                grow(
                    "GetRole rps",
                    first.get_role.rps(),
                    last.get_role.rps(),
                    true,
                );
                grow(
                    "GetRole p99",
                    first.get_role.p99(),
                    last.get_role.p99(),
                    false,
                );
                grow(
                    "CreateRole rps",
                    first.create_role.rps(),
                    last.create_role.rps(),
                    true,
                );
                grow(
                    "CreateRole p99",
                    first.create_role.p99(),
                    last.create_role.p99(),
                    false,
                );
                grow(
                    "cold start",
                    Some(ms(first.cold_start)),
                    Some(ms(last.cold_start)),
                    false,
                );
                grow(
                    "RSS after start",
                    Some(first.rss_start.rss_mib()),
                    Some(last.rss_start.rss_mib()),
                    false,
                );
                grow(
                    "RSS after load",
                    Some(first.rss_after.rss_mib()),
                    Some(last.rss_after.rss_mib()),
                    false,
                );
            }
        }
        self.checks = checks;
    }

    pub fn table(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "\nacsemu-bench: {} connections, {:.1} s windows, {} server workers, server {}{}",
            self.connections,
            self.window.as_secs_f64(),
            crate::workers(),
            self.server_bin,
            if self.quiet_server {
                " --quiet"
            } else {
                " (request logging on, to a file)"
            }
        );
        if !self.cold.is_empty() {
            let _ = writeln!(
                out,
                "\nCold start (process start -> first successful signed request)"
            );
            for c in &self.cold {
                let _ = writeln!(out, "  {}", c.progress_line());
                if let Some(s) = &c.seeded {
                    let _ = writeln!(
                        out,
                        "    seeded {} roles, {} policies, {} instances in {:.2} s",
                        s.roles,
                        s.policies,
                        s.instances,
                        s.took.as_secs_f64()
                    );
                }
            }
        }
        let header = format!(
            "{:<44} {:>9} {:>8} {:>8} {:>8} {:>9} {:>6} {:>7} {:>8} {:>8} {:>7}",
            "scenario",
            "req/s",
            "p50 ms",
            "p99 ms",
            "max ms",
            "ok",
            "fail",
            "body B",
            "srv CPU",
            "gen CPU",
            "gen us"
        );
        if !self.main.is_empty() || !self.skipped.is_empty() {
            let _ = writeln!(out, "\nacsemu (new database)\n{header}");
            for (_, _, r) in &self.main {
                r.row(&mut out);
            }
            for r in &self.skipped {
                r.row(&mut out);
            }
            let _ = writeln!(
                out,
                "  RSS after start {:.1} MiB, after load {:.1} MiB (peak {:.1} MiB)",
                self.main_memory.0.rss_mib(),
                self.main_memory.1.rss_mib(),
                self.main_memory.1.hwm_mib()
            );
        }
        if !self.fixed.is_empty() || !self.bare.is_empty() {
            let _ = writeln!(
                out,
                "\nbare actix-web baseline (same workers, same requests)\n{header}"
            );
            for (_, r) in self.fixed.iter().chain(self.bare.iter()) {
                r.row(&mut out);
            }
            let _ = writeln!(
                out,
                "  baseline RSS after start {:.1} MiB, after load {:.1} MiB",
                self.bare_memory.0.rss_mib(),
                self.bare_memory.1.rss_mib()
            );
            let _ = writeln!(out, "\nacsemu as a share of the baseline (throughput)");
            for (spec, _, run) in &self.main {
                let fixed = self
                    .fixed
                    .iter()
                    .find(|(l, _)| l == spec.label())
                    .and_then(|(_, r)| r.rps());
                let own = match spec {
                    Spec::CallerIdentity => Some(("signature check", "sig")),
                    Spec::GetRole(_) => Some(("signed read", "read")),
                    Spec::CreateRole { .. } | Spec::AssumeRole { .. } => {
                        Some(("signed insert", "insert"))
                    }
                    _ => None,
                };
                let pct = |b: Option<f64>| match (run.rps(), b) {
                    (Some(a), Some(b)) if b > 0.0 => format!("{:>5.0}%", a / b * 100.0),
                    _ => "  n/a".into(),
                };
                let mut line = format!("  {:<24} {} of fixed body", spec.label(), pct(fixed));
                if let Some((name, route)) = own {
                    let _ = write!(
                        line,
                        "   {} of bare {name}",
                        pct(self.bare_run(route).and_then(Run::rps))
                    );
                }
                let _ = writeln!(out, "{line}");
            }
        }
        if !self.growth.is_empty() {
            let _ = writeln!(
                out,
                "\nGrowth with state size\n{:>8} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}",
                "roles", "cold ms", "RSS0 MiB", "RSS1 MiB", "Get rps", "Get p50", "Get p99", "Create/s", "Cre p50", "Cre p99"
            );
            for g in &self.growth {
                let f =
                    |v: Option<f64>, prec: usize| v.map_or("-".into(), |v| format!("{v:.prec$}"));
                let _ = writeln!(
                    out,
                    "{:>8} {:>9.1} {:>9.1} {:>9.1} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}",
                    g.roles,
                    ms(g.cold_start),
                    g.rss_start.rss_mib(),
                    g.rss_after.rss_mib(),
                    f(g.get_role.rps(), 0),
                    f(g.get_role.p50(), 2),
                    f(g.get_role.p99(), 2),
                    f(g.create_role.rps(), 0),
                    f(g.create_role.p50(), 2),
                    f(g.create_role.p99(), 2),
                );
                for r in [&g.get_role, &g.create_role] {
                    if let Some(n) = &r.note {
                        let _ = writeln!(out, "    {}: {n}", r.label);
                    }
                }
            }
        }
        if let Some((us, ceiling)) = self.generator {
            let _ = writeln!(
                out,
                "\nLoad generator: one thread, {us:.1} us CPU per request at best -> ceiling about {ceiling:.0} req/s on one core \
                 (requests signed before each window)"
            );
        }
        let _ = writeln!(out, "\nTargets");
        for c in &self.checks {
            let verdict = match c.pass {
                Some(true) => "PASS",
                Some(false) => "MISS",
                None => "n/a ",
            };
            let _ = writeln!(
                out,
                "  {verdict}  {:<52} {:>10}  (target {})",
                c.name, c.value, c.limit
            );
        }
        for n in &self.notes {
            let _ = writeln!(out, "note: {n}");
        }
        out
    }

    pub fn json(&self) -> Value {
        json!({
            "config": {
                "connections": self.connections,
                "window_s": self.window.as_secs_f64(),
                "server_workers": crate::workers(),
                "cores": crate::workers(),
                "server": self.server_bin,
                "quick": self.quick,
                "server_request_logging": !self.quiet_server,
            },
            "cold_start": self.cold.iter().map(|c| json!({
                "label": c.label,
                "median_ms": c.median_ms().map(|v| round(v, 2)),
                "runs_ms": c.sorted_ms().iter().map(|v| round(*v, 2)).collect::<Vec<_>>(),
                "rss_after_start_mib": c.median_rss().map(|v| round(v, 2)),
                "seeded": c.seeded.as_ref().map(|s| json!({
                    "roles": s.roles, "policies": s.policies, "instances": s.instances,
                    "instances_skipped": s.instances_skipped, "seconds": round(s.took.as_secs_f64(), 3),
                })),
                "note": c.note,
            })).collect::<Vec<_>>(),
            "memory": {
                "acsemu_rss_after_start_mib": round(self.main_memory.0.rss_mib(), 2),
                "acsemu_rss_after_load_mib": round(self.main_memory.1.rss_mib(), 2),
                "acsemu_rss_peak_mib": round(self.main_memory.1.hwm_mib(), 2),
                "bare_rss_after_start_mib": round(self.bare_memory.0.rss_mib(), 2),
                "bare_rss_after_load_mib": round(self.bare_memory.1.rss_mib(), 2),
            },
            "acsemu": self.main.iter().map(|(_, _, r)| r.json()).chain(self.skipped.iter().map(Run::json)).collect::<Vec<_>>(),
            "baseline_fixed_body": self.fixed.iter().map(|(l, r)| {
                let mut v = r.json();
                v["same_as"] = json!(l);
                v
            }).collect::<Vec<_>>(),
            "baseline": self.bare.iter().map(|(route, r)| {
                let mut v = r.json();
                v["route"] = json!(route);
                v
            }).collect::<Vec<_>>(),
            "growth": self.growth.iter().map(|g| json!({
                "roles": g.roles,
                "cold_start_ms": round(ms(g.cold_start), 2),
                "rss_after_start_mib": round(g.rss_start.rss_mib(), 2),
                "rss_after_load_mib": round(g.rss_after.rss_mib(), 2),
                "get_role": g.get_role.json(),
                "create_role": g.create_role.json(),
            })).collect::<Vec<_>>(),
            "generator": self.generator.map(|(us, c)| json!({
                "threads": 1,
                "best_us_per_request": round(us, 2),
                "ceiling_rps_one_core": round(c, 0),
            })),
            "targets": self.checks.iter().map(|c| json!({
                "name": c.name,
                "value": c.value,
                "target": c.limit,
                "result": match c.pass { Some(true) => "PASS", Some(false) => "MISS", None => "n/a" },
            })).collect::<Vec<_>>(),
            "notes": self.notes,
        })
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn opt_ms(v: Option<f64>) -> String {
    v.map_or("-".into(), |v| format!("{v:.2} ms"))
}

fn opt_mib(v: Option<f64>) -> String {
    v.map_or("-".into(), |v| format!("{v:.1} MiB"))
}

fn round(v: f64, places: i32) -> f64 {
    let f = 10f64.powi(places);
    (v * f).round() / f
}
