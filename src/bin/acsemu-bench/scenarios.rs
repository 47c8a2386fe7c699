//! The runs: cold starts, the main scenarios on acsemu, the bare baseline, and growth with state
//! size. Every window is bounded by its pool of pre-signed requests and by time.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::load;
use crate::procs::Server;
use crate::report::{ColdStart, Growth, Kind, Report, Run};
use crate::seed;
use crate::sign::{self, Key, Nonces, Target};
use crate::Cli;

pub const RAM: &str = "2015-05-01";
pub const STS: &str = "2015-04-01";
pub const ECS: &str = "2014-05-26";

const READ_ROLE: &str = "BenchReadRole";
const ECS_ROLE: &str = "BenchEcsRole";
const BENCH_USER: &str = "bench-user";
const BUCKET: &str = "acsemu-bench-bucket";
const OBJECT: &str = "bench-4k.bin";
const OBJECT_SIZE: usize = 4096;
const REGION: &str = "cn-hangzhou";

/// What one scenario's requests are.
#[derive(Debug, Clone)]
pub enum Spec {
    CallerIdentity,
    GetRole(String),
    CreateRole { trust: String },
    AssumeRole { arn: String },
    Metadata { instance: String, role: String },
    GetObject,
}

impl Spec {
    pub fn label(&self) -> &'static str {
        match self {
            Self::CallerIdentity => "GetCallerIdentity",
            Self::GetRole(_) => "GetRole",
            Self::CreateRole { .. } => "CreateRole",
            Self::AssumeRole { .. } => "AssumeRole",
            Self::Metadata { .. } => "metadata credentials",
            Self::GetObject => "OSS GetObject 4 KiB",
        }
    }

    pub fn kind(&self) -> Kind {
        match self {
            Self::CreateRole { .. } | Self::AssumeRole { .. } => Kind::Write,
            _ => Kind::Read,
        }
    }
}

/// Builds `n` requests of `spec`, each with a fresh nonce (and, for CreateRole, a fresh name),
/// signed with `key`, for `host`, under `prefix` (empty for acsemu; `/fixed/N` and the like
/// for the bare server).
pub fn build(
    spec: &Spec,
    key: &Key,
    host: &str,
    prefix: &str,
    nonces: &Nonces,
    n: usize,
) -> Vec<Vec<u8>> {
    let ts = sign::now_iso();
    let date = sign::now_rfc1123();
    let path = if prefix.is_empty() { "/" } else { prefix };
    let target = Target { host, path };
    (0..n)
        .map(|_| {
            let nonce = nonces.next();
            match spec {
                Spec::CallerIdentity => {
                    sign::rpc_get(&target, key, STS, "GetCallerIdentity", &[], &nonce, &ts)
                }
                Spec::GetRole(name) => sign::rpc_get(
                    &target,
                    key,
                    RAM,
                    "GetRole",
                    &[("RoleName", name)],
                    &nonce,
                    &ts,
                ),
                Spec::CreateRole { trust } => {
                    let name = nonces.unique_name("bench-");
                    sign::rpc_get(
                        &target,
                        key,
                        RAM,
                        "CreateRole",
                        &[("RoleName", &name), ("AssumeRolePolicyDocument", trust)],
                        &nonce,
                        &ts,
                    )
                }
                Spec::AssumeRole { arn } => sign::rpc_get(
                    &target,
                    key,
                    STS,
                    "AssumeRole",
                    &[("RoleArn", arn), ("RoleSessionName", "bench")],
                    &nonce,
                    &ts,
                ),
                Spec::Metadata { instance, role } => {
                    sign::metadata_get(host, prefix, instance, role)
                }
                Spec::GetObject => sign::oss_get(host, prefix, key, BUCKET, OBJECT, &nonce, &date),
            }
        })
        .collect()
}

pub struct Bench<'a> {
    pub cli: &'a Cli,
    pub server_bin: PathBuf,
    pub tmp: PathBuf,
    pub nonces: Nonces,
    files: std::cell::Cell<usize>,
}

impl<'a> Bench<'a> {
    fn new(cli: &'a Cli) -> Result<Self, String> {
        let server_bin = match &cli.server {
            Some(p) => p.clone(),
            None => std::env::current_exe()
                .map_err(|e| e.to_string())?
                .with_file_name("acsemu"),
        };
        if !server_bin.is_file() {
            return Err(format!(
                "no server binary at {} (build it: cargo build --release, or pass --server)",
                server_bin.display()
            ));
        }
        let tmp = std::env::temp_dir().join(format!(
            "acsemu-bench-{}-{}",
            std::process::id(),
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::create_dir_all(&tmp).map_err(|e| format!("{}: {e}", tmp.display()))?;
        Ok(Self {
            cli,
            server_bin,
            tmp,
            nonces: Nonces::new(),
            files: std::cell::Cell::new(0),
        })
    }

    /// A new file name in the temporary directory.
    fn file(&self, stem: &str, ext: &str) -> PathBuf {
        let n = self.files.get() + 1;
        self.files.set(n);
        self.tmp.join(format!("{n:03}-{stem}.{ext}"))
    }

    fn spawn_acsemu(&self, data: &Path) -> Result<Server, String> {
        let mut args = vec![
            "serve".to_string(),
            "--listen".into(),
            "127.0.0.1:0".into(),
            "--data".into(),
            data.display().to_string(),
        ];
        if self.cli.quiet_server {
            args.push("--quiet".into());
        }
        Server::spawn(&self.server_bin, &args, &self.file("acsemu", "log"))
    }

    fn spawn_bare(&self, data: &Path, key: &Key) -> Result<Server, String> {
        let exe = std::env::current_exe().map_err(|e| e.to_string())?;
        let args = vec![
            "--bare".to_string(),
            "--listen".into(),
            "127.0.0.1:0".into(),
            "--data".into(),
            data.display().to_string(),
            "--access-key-id".into(),
            key.id.clone(),
            "--access-key-secret".into(),
            key.secret.clone(),
            "--workers".into(),
            crate::workers().to_string(),
        ];
        Server::spawn(&exe, &args, &self.file("bare", "log"))
    }

    fn root(server: &Server) -> Key {
        Key::new(&server.access_key_id, &server.access_key_secret)
    }

    /// Process start to the first successful signed request; the server keeps running.
    fn cold_start(&self, data: &Path) -> Result<(Duration, Server), String> {
        let server = self.spawn_acsemu(data)?;
        let key = Self::root(&server);
        let req = build(
            &Spec::CallerIdentity,
            &key,
            &server.host,
            "",
            &self.nonces,
            1,
        );
        let first = req.first().ok_or("no request built")?;
        let resp = load::call(server.addr, first)
            .map_err(|e| format!("first request: {e}; server log:\n{}", server.log_tail()))?;
        let took = server.spawned.elapsed();
        if resp.status != 200 {
            return Err(format!(
                "first request: HTTP {} {}",
                resp.status, resp.snippet
            ));
        }
        Ok((took, server))
    }

    /// A signed RPC call outside any window; the answer as JSON.
    fn api(
        &self,
        server: &Server,
        key: &Key,
        version: &str,
        action: &str,
        params: &[(&str, &str)],
    ) -> Result<Value, String> {
        let req = sign::rpc_get(
            &Target {
                host: &server.host,
                path: "/",
            },
            key,
            version,
            action,
            params,
            &self.nonces.next(),
            &sign::now_iso(),
        );
        let resp = load::call(server.addr, &req)?;
        if resp.status != 200 {
            return Err(format!("{action}: HTTP {} {}", resp.status, resp.snippet));
        }
        serde_json::from_slice(&resp.body).map_err(|e| format!("{action}: not JSON: {e}"))
    }

    /// Warm-up (which also estimates the rate), then the timed window over a pool sized for it.
    fn measure(
        &self,
        server: &Server,
        label: &str,
        kind: Kind,
        spec: &Spec,
        key: &Key,
        prefix: &str,
    ) -> Run {
        let conns = self.cli.connections.clamp(1, 1024);
        let window = self.cli.window();
        let make = |n: usize| Arc::new(build(spec, key, &server.host, prefix, &self.nonces, n));
        let warm_window = window.min(Duration::from_secs(1));
        let warm = match load::run(
            server.addr,
            make(conns * 25),
            conns,
            warm_window,
            Some(server.pid),
        ) {
            Ok(w) => w,
            Err(e) => return Run::failed(label, kind, e),
        };
        if warm.ok == 0 {
            return Run::failed(
                label,
                kind,
                format!(
                    "warm-up had no success: {}",
                    warm.first_failure.unwrap_or_default()
                ),
            );
        }
        let rate = warm.rps().max(50.0);
        let wanted = (rate * window.as_secs_f64() * 1.6) as usize + conns * 8;
        let n = wanted.clamp(conns * 2, self.cli.max_requests.max(conns * 2));
        let t = Instant::now();
        let pool = make(n);
        let presign = t.elapsed();
        let result = match load::run(server.addr, pool, conns, window, Some(server.pid)) {
            Ok(r) => r,
            Err(e) => return Run::failed(label, kind, e),
        };
        let run = Run::done(label, kind, result, n, presign);
        eprintln!("  {}", run.progress_line());
        run
    }
}

impl Drop for Bench<'_> {
    fn drop(&mut self) {
        if self.cli.keep {
            eprintln!("kept {}", self.tmp.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.tmp);
        }
    }
}

pub fn run_all(cli: &Cli) -> Result<(), String> {
    let bench = Bench::new(cli)?;
    let mut report = Report::new(cli, &bench.server_bin);
    if cli.section("cold") {
        eprintln!("== cold start");
        cold_starts(&bench, &mut report)?;
    }
    if cli.section("main") {
        eprintln!("== acsemu scenarios");
        main_scenarios(&bench, &mut report)?;
    }
    if cli.section("bare") {
        eprintln!("== bare baseline");
        bare_scenarios(&bench, &mut report)?;
    }
    if cli.section("growth") {
        eprintln!("== growth with state size");
        growth(&bench, &mut report)?;
    }
    if let Some(other) = &cli.compare {
        report.notes.push(format!(
            "--compare {other}: not implemented (no moto comparison in this version)"
        ));
    }
    report.finish();
    print!("{}", report.table());
    if let Some(dir) = cli.json.parent() {
        if !dir.as_os_str().is_empty() {
            std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
    }
    let json = serde_json::to_string_pretty(&report.json()).map_err(|e| e.to_string())?;
    std::fs::write(&cli.json, json + "\n").map_err(|e| format!("{}: {e}", cli.json.display()))?;
    println!("JSON: {}", cli.json.display());
    Ok(())
}

fn cold_starts(bench: &Bench<'_>, report: &mut Report) -> Result<(), String> {
    let runs = bench.cli.cold_runs();
    let mut fresh = ColdStart::new("new database");
    for _ in 0..runs {
        let data = bench.file("cold-new", "db");
        match bench.cold_start(&data) {
            Ok((took, server)) => {
                fresh.push(took, server.rss());
                server.stop();
            }
            Err(e) => {
                fresh.note = Some(e);
                break;
            }
        }
    }
    eprintln!("  {}", fresh.progress_line());
    report.cold.push(fresh);

    let data = bench.file("cold-large", "db");
    seed::create_schema(&data)?;
    let seeded = seed::seed(&data, crate::report::DEFAULT_ACCOUNT, 10_000, 10_000, 1_000)?;
    let mut large = ColdStart::new("10k roles, 10k policies, 1k instances");
    if let Some(why) = &seeded.instances_skipped {
        large.note = Some(format!("instances skipped: {why}"));
    }
    large.seeded = Some(seeded);
    for _ in 0..runs {
        match bench.cold_start(&data) {
            Ok((took, server)) => {
                large.push(took, server.rss());
                server.stop();
            }
            Err(e) => {
                large.note = Some(e);
                break;
            }
        }
    }
    eprintln!("  {}", large.progress_line());
    report.cold.push(large);
    Ok(())
}

struct Setup {
    user: Key,
    role_arn: String,
    metadata: Result<(String, String), String>,
    oss: Result<Key, String>,
}

fn setup(bench: &Bench<'_>, server: &Server) -> Result<Setup, String> {
    let root = Bench::root(server);
    let trust = seed::account_trust(&server.account_id);
    bench.api(
        server,
        &root,
        RAM,
        "CreateRole",
        &[
            ("RoleName", READ_ROLE),
            ("AssumeRolePolicyDocument", &trust),
        ],
    )?;
    bench.api(
        server,
        &root,
        RAM,
        "CreateUser",
        &[("UserName", BENCH_USER)],
    )?;
    let key = bench.api(
        server,
        &root,
        RAM,
        "CreateAccessKey",
        &[("UserName", BENCH_USER)],
    )?;
    let user = Key::new(
        key["AccessKey"]["AccessKeyId"].as_str().unwrap_or_default(),
        key["AccessKey"]["AccessKeySecret"]
            .as_str()
            .unwrap_or_default(),
    );
    bench.api(
        server,
        &root,
        RAM,
        "AttachPolicyToUser",
        &[
            ("UserName", BENCH_USER),
            ("PolicyType", "System"),
            ("PolicyName", "AliyunSTSAssumeRoleAccess"),
        ],
    )?;
    let role_arn = format!("acs:ram::{}:role/{READ_ROLE}", server.account_id);
    let metadata = setup_metadata(bench, server, &root);
    let oss = setup_oss(bench, server, &root, &user, &role_arn);
    Ok(Setup {
        user,
        role_arn,
        metadata,
        oss,
    })
}

/// An instance running with a role, and one successful credentials read.
fn setup_metadata(
    bench: &Bench<'_>,
    server: &Server,
    root: &Key,
) -> Result<(String, String), String> {
    bench.api(
        server,
        root,
        RAM,
        "CreateRole",
        &[
            ("RoleName", ECS_ROLE),
            ("AssumeRolePolicyDocument", seed::ECS_TRUST),
        ],
    )?;
    let created = bench
        .api(
            server,
            root,
            ECS,
            "CreateInstance",
            &[
                ("RegionId", REGION),
                ("ImageId", "aliyun_3_x64_20G_alibase_20240819.vhd"),
                ("InstanceType", "ecs.g7.large"),
                ("VSwitchId", "vsw-bp1benchbenchbench0001"),
                ("SecurityGroupId", "sg-bp1benchbenchbench0001"),
                ("InstanceName", "acsemu-bench"),
                ("RamRoleName", ECS_ROLE),
            ],
        )
        .map_err(|e| format!("ECS not available: {e}"))?;
    let id = created["InstanceId"]
        .as_str()
        .ok_or("CreateInstance answered no InstanceId")?
        .to_string();
    bench.api(
        server,
        root,
        ECS,
        "StartInstance",
        &[("RegionId", REGION), ("InstanceId", &id)],
    )?;
    let probe = sign::metadata_get(&server.host, "", &id, ECS_ROLE);
    let resp = load::call(server.addr, &probe)?;
    if resp.status != 200 {
        return Err(format!(
            "metadata service not available: HTTP {} {}",
            resp.status, resp.snippet
        ));
    }
    Ok((id, ECS_ROLE.to_string()))
}

/// A bucket and a 4 KiB object (written as root), and STS credentials of a role that may read
/// it; one successful GetObject with them.
fn setup_oss(
    bench: &Bench<'_>,
    server: &Server,
    root: &Key,
    user: &Key,
    role_arn: &str,
) -> Result<Key, String> {
    bench.api(
        server,
        root,
        RAM,
        "AttachPolicyToRole",
        &[
            ("RoleName", READ_ROLE),
            ("PolicyType", "System"),
            ("PolicyName", "AliyunOSSReadOnlyAccess"),
        ],
    )?;
    let assumed = bench.api(
        server,
        user,
        STS,
        "AssumeRole",
        &[("RoleArn", role_arn), ("RoleSessionName", "bench-oss")],
    )?;
    let c = &assumed["Credentials"];
    let sts = Key {
        id: c["AccessKeyId"].as_str().unwrap_or_default().to_string(),
        secret: c["AccessKeySecret"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        token: c["SecurityToken"].as_str().map(str::to_string),
    };
    let put = |object: &str, body: &[u8]| -> Result<(), String> {
        let resp = load::call(
            server.addr,
            &sign::oss_put(&server.host, root, BUCKET, object, body),
        )?;
        if resp.status == 200 {
            Ok(())
        } else {
            Err(format!(
                "OSS not available: PUT /{BUCKET}/{object}: HTTP {} {}",
                resp.status, resp.snippet
            ))
        }
    };
    put("", b"")?;
    put(OBJECT, &vec![b'a'; OBJECT_SIZE])?;
    let probe = build(&Spec::GetObject, &sts, &server.host, "", &bench.nonces, 1);
    let resp = load::call(server.addr, probe.first().ok_or("no request built")?)?;
    if resp.status != 200 || resp.body_len != OBJECT_SIZE {
        return Err(format!(
            "OSS GetObject with STS credentials: HTTP {} ({} bytes) {}",
            resp.status, resp.body_len, resp.snippet
        ));
    }
    Ok(sts)
}

fn main_scenarios(bench: &Bench<'_>, report: &mut Report) -> Result<(), String> {
    let data = bench.file("main", "db");
    let (took, server) = bench.cold_start(&data)?;
    report.main_memory.0 = server.rss();
    report.main_first_request = Some(took);
    let s = setup(bench, &server)?;
    let root = Bench::root(&server);
    let trust = seed::account_trust(&server.account_id);
    let mut specs: Vec<(Spec, Key)> = vec![
        (Spec::CallerIdentity, root.clone()),
        (Spec::GetRole(READ_ROLE.into()), root.clone()),
        (Spec::CreateRole { trust }, root.clone()),
        (
            Spec::AssumeRole {
                arn: s.role_arn.clone(),
            },
            s.user.clone(),
        ),
    ];
    let mut skipped = Vec::new();
    match &s.metadata {
        Ok((instance, role)) => specs.push((
            Spec::Metadata {
                instance: instance.clone(),
                role: role.clone(),
            },
            root.clone(),
        )),
        Err(e) => skipped.push(Run::skipped("metadata credentials", Kind::Read, e.clone())),
    }
    match &s.oss {
        Ok(sts) => specs.push((Spec::GetObject, sts.clone())),
        Err(e) => skipped.push(Run::skipped("OSS GetObject 4 KiB", Kind::Read, e.clone())),
    }
    for (spec, key) in &specs {
        let run = bench.measure(&server, spec.label(), spec.kind(), spec, key, "");
        report.main.push((spec.clone(), key.clone(), run));
    }
    for run in skipped {
        eprintln!("  {}", run.progress_line());
        report.skipped.push(run);
    }
    report.main_memory.1 = server.rss();
    report.main_account = server.account_id.clone();
    report.server_log_lines = std::fs::read_to_string(&server.log)
        .map(|t| t.lines().count())
        .unwrap_or(0);
    server.stop();
    Ok(())
}

fn bare_scenarios(bench: &Bench<'_>, report: &mut Report) -> Result<(), String> {
    let data = bench.file("bare", "db");
    seed::create_schema(&data)?;
    let key = Key::new(
        acsemu::config::DEFAULT_ROOT_ACCESS_KEY_ID,
        acsemu::config::DEFAULT_ROOT_ACCESS_KEY_SECRET,
    );
    {
        let conn = rusqlite::Connection::open(&data).map_err(|e| e.to_string())?;
        conn.execute(
            "INSERT INTO roles (role_id, role_name, description, assume_role_policy_document, max_session_duration, create_date, update_date)
             VALUES ('3999999999999999999', ?1, '', ?2, 3600, ?3, ?3)",
            rusqlite::params![READ_ROLE, seed::ECS_TRUST, seed::SEED_DATE],
        )
        .map_err(|e| e.to_string())?;
    }
    let server = bench.spawn_bare(&data, &key)?;
    report.bare_memory.0 = server.rss();
    // The machine's limit for each acsemu exchange: the same requests, a fixed body of the
    // same size.
    let main: Vec<(Spec, Key, usize)> = report
        .main
        .iter()
        .filter_map(|(spec, key, run)| {
            run.result
                .as_ref()
                .map(|r| (spec.clone(), key.clone(), r.mean_body()))
        })
        .collect();
    for (spec, _, size) in &main {
        let prefix = format!("/fixed/{size}");
        let label = format!("fixed {size} B ({})", spec.label());
        let run = bench.measure(&server, &label, Kind::Baseline, spec, &key, &prefix);
        report.fixed.push((spec.label().to_string(), run));
    }
    let size_of = |label: &str| -> usize {
        main.iter()
            .find(|(s, _, _)| s.label() == label)
            .map_or(300, |(_, _, n)| *n)
    };
    let checks = [
        (
            "sig",
            "signature check",
            Spec::CallerIdentity,
            size_of("GetCallerIdentity"),
        ),
        (
            "read",
            "signed read",
            Spec::GetRole(READ_ROLE.into()),
            size_of("GetRole"),
        ),
        (
            "insert",
            "signed insert",
            Spec::CreateRole {
                trust: seed::ECS_TRUST.into(),
            },
            size_of("CreateRole"),
        ),
    ];
    for (route, label, spec, size) in checks {
        let prefix = format!("/{route}/{size}");
        let run = bench.measure(
            &server,
            &format!("bare {label}"),
            Kind::Baseline,
            &spec,
            &key,
            &prefix,
        );
        report.bare.push((route.to_string(), run));
    }
    report.bare_memory.1 = server.rss();
    server.stop();
    Ok(())
}

fn growth(bench: &Bench<'_>, report: &mut Report) -> Result<(), String> {
    for &roles in &bench.cli.sizes {
        let roles = roles.clamp(1, 1_000_000);
        let data = bench.file(&format!("growth-{roles}"), "db");
        seed::create_schema(&data)?;
        seed::seed(&data, crate::report::DEFAULT_ACCOUNT, roles, 0, 0)?;
        let (took, server) = bench.cold_start(&data)?;
        let rss_start = server.rss();
        let root = Bench::root(&server);
        let read = Spec::GetRole(seed::role_name(roles / 2));
        let write = Spec::CreateRole {
            trust: seed::account_trust(&server.account_id),
        };
        eprintln!("  {roles} roles:");
        let get_role = bench.measure(&server, "GetRole", Kind::Read, &read, &root, "");
        let create_role = bench.measure(&server, "CreateRole", Kind::Write, &write, &root, "");
        let rss_after = server.rss();
        server.stop();
        report.growth.push(Growth {
            roles,
            cold_start: took,
            rss_start,
            rss_after,
            get_role,
            create_role,
        });
    }
    Ok(())
}
