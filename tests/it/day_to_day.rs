//! Issue 10, the day-to-day features: state files (`serve --init`, `export`), `acsemu env`
//! and the exports after the ready line, `/_acsemu/credentials/<instance>`, the test fixture,
//! the dashboard, and a clear message for every start-up failure.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use acsemu::config::Config;
use acsemu::state_file::{self, Applied, Format, StateFile};
use acsemu::testing::TestServer;
use serde_json::Value;

use crate::support::{raw, server, server_with, Client, ECS, STS};

const SEED: &str = include_str!("../../examples/seed.yaml");
const DASHBOARD_STATE: &str = include_str!("../dashboard/state.yaml");
const SEED_INSTANCE: &str = "i-bp1acsemuseed00000001";
const SEED_USER_KEY: (&str, &str) = ("LTAI5tAcsemuSeedUser0001", "acsemuSeedUserSecret0000000001");

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_acsemu"));
    // Keep the developer's ACSEMU_* settings out of these runs.
    for (k, _) in std::env::vars() {
        if k.starts_with("ACSEMU_") {
            c.env_remove(k);
        }
    }
    c.env("NO_COLOR", "1");
    c
}

fn seeded() -> TestServer {
    let s = server();
    let file = StateFile::parse(SEED, Format::Yaml).unwrap();
    state_file::apply_to(&s.state, &file).unwrap();
    s
}

/// A running `acsemu serve`: its stdout lines so far and the child, killed on drop.
struct Proc {
    child: Child,
    lines: Vec<String>,
}

impl Proc {
    /// Starts the binary and reads stdout until `want` lines arrived (10 s at most).
    fn start(args: &[&str], want: usize) -> Self {
        let mut child = bin()
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut lines = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(10);
        while lines.len() < want {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(l) => lines.push(l),
                Err(_) => {
                    let _ = child.kill();
                    let mut err = String::new();
                    child.stderr.take().unwrap().read_to_string(&mut err).ok();
                    panic!("acsemu gave {lines:?} then stopped; stderr:\n{err}");
                }
            }
        }
        Self { child, lines }
    }

    fn endpoint(&self) -> String {
        self.lines[0]
            .split(' ')
            .find_map(|f| f.strip_prefix("endpoint="))
            .unwrap()
            .to_string()
    }

    /// SIGKILL is enough here: these tests look at what the database already committed.
    fn stop(mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let mut err = String::new();
        if let Some(mut e) = self.child.stderr.take() {
            e.read_to_string(&mut err).ok();
        }
        err
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs the binary to its end (20 s at most): (exit code, stdout, stderr).
fn run(args: &[&str]) -> (i32, String, String) {
    let mut child = bin()
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "acsemu {args:?} still runs after 20 s"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn seed_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/seed.yaml")
}

// ---- the test fixture ----

#[test]
fn test_server_fixture_serves_and_stops() {
    let s = TestServer::start().unwrap();
    assert!(s.endpoint.starts_with("http://127.0.0.1:"));
    assert_eq!(s.access_key_id, acsemu::config::DEFAULT_ROOT_ACCESS_KEY_ID);
    let me = Client::root(&s).sts("GetCallerIdentity", &[]).ok();
    assert_eq!(me["AccountId"], s.account_id.as_str());
    let addr = s.addr;
    s.stop();
    assert!(
        std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_err(),
        "the port still answers after stop()"
    );
}

// ---- state files ----

#[test]
fn seed_file_sets_up_the_scenario_in_one_go() {
    let s = seeded();
    let user = Client::new(&s.endpoint, SEED_USER_KEY.0, SEED_USER_KEY.1, None);
    // AliyunECSFullAccess: the instance is there, with its role.
    let v = user
        .ecs("DescribeInstances", &[("RegionId", "cn-hangzhou")])
        .ok();
    let i = &v["Instances"]["Instance"][0];
    assert_eq!(i["InstanceId"], SEED_INSTANCE);
    let role = user
        .ecs(
            "DescribeInstanceRamRole",
            &[
                ("RegionId", "cn-hangzhou"),
                ("InstanceIds", &format!("[\"{SEED_INSTANCE}\"]")),
            ],
        )
        .ok();
    assert!(role.to_string().contains("EcsRamRoleTest"), "{role}");
    // Nothing beyond it.
    user.ram("ListUsers", &[]).err(403, "NoPermission");
    // The role's policy is attached.
    let pols = Client::root(&s)
        .ram("ListPoliciesForRole", &[("RoleName", "EcsRamRoleTest")])
        .ok();
    assert_eq!(
        pols["Policies"]["Policy"][0]["PolicyName"],
        "EcsRamRolePolicyTest"
    );
    // Applying it again changes nothing.
    let file = StateFile::parse(SEED, Format::Yaml).unwrap();
    assert_eq!(
        state_file::apply_to(&s.state, &file).unwrap(),
        Applied::default()
    );
}

#[test]
fn init_on_every_restart_is_harmless_and_export_recreates_the_state() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("state.db");
    let db_s = db.to_str().unwrap();
    let seed = seed_path();
    let seed_s = seed.to_str().unwrap();
    let args = [
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--data",
        db_s,
        "--init",
        seed_s,
    ];
    let p = Proc::start(&args, 1);
    let user = Client::new(&p.endpoint(), SEED_USER_KEY.0, SEED_USER_KEY.1, None);
    user.ecs("DescribeInstances", &[("RegionId", "cn-hangzhou")])
        .ok();
    let err = p.stop();
    assert!(err.contains("applied the state file"), "{err}");
    // Same file, same database: starts, and the key still works.
    let p = Proc::start(&args, 1);
    let user = Client::new(&p.endpoint(), SEED_USER_KEY.0, SEED_USER_KEY.1, None);
    user.ecs("DescribeInstances", &[("RegionId", "cn-hangzhou")])
        .ok();
    let err = p.stop();
    assert!(err.contains("created=0 updated=0"), "{err}");

    let (code, yaml, stderr) = run(&["export", "--data", db_s]);
    assert_eq!(code, 0, "{stderr}");
    let exported = StateFile::parse(&yaml, Format::Yaml).unwrap();
    assert_eq!(exported.users[0].access_keys[0].secret, SEED_USER_KEY.1);
    assert_eq!(exported.instances[0].id, SEED_INSTANCE);
    assert_eq!(
        exported.instances[0].role.as_deref(),
        Some("EcsRamRoleTest")
    );
    // JSON to an owner-only file, which recreates the same state elsewhere.
    let out = dir.path().join("state.json");
    let (code, _, stderr) = run(&[
        "export",
        "--data",
        db_s,
        "--format",
        "json",
        "--output",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{stderr}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&out).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "the export holds secrets: {mode:o}");
    }
    let fresh = server();
    let again = StateFile::read(&out).unwrap();
    state_file::apply_to(&fresh.state, &again).unwrap();
    assert_eq!(
        state_file::export(&fresh.state.store, &fresh.account_id).unwrap(),
        exported
    );
    // Exporting a database that is not there is an error, not an empty file.
    let (code, _, stderr) = run(&[
        "export",
        "--data",
        dir.path().join("nope.db").to_str().unwrap(),
    ]);
    assert_ne!(code, 0);
    assert!(stderr.contains("there is no database"), "{stderr}");
}

#[test]
fn a_bad_state_file_stops_the_start_and_says_where() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.yaml");
    std::fs::write(
        &bad,
        "roles:\n  - name: R\n    trust_policy: {Version: \"1\", Statement: [{Effect: Allow, Action: \"sts:AssumeRole\"}]}\n",
    )
    .unwrap();
    let (code, out, err) = run(&[
        "serve",
        "--in-memory",
        "--listen",
        "127.0.0.1:0",
        "--init",
        bad.to_str().unwrap(),
    ]);
    assert_ne!(code, 0);
    assert!(out.is_empty(), "no ready line: {out}");
    assert!(
        err.contains("cannot apply the state file") && err.contains("roles[0] (R).trust_policy"),
        "{err}"
    );
    let typo = dir.path().join("typo.json");
    std::fs::write(&typo, r#"{"rolez": []}"#).unwrap();
    let (code, _, err) = run(&["serve", "--in-memory", "--init", typo.to_str().unwrap()]);
    assert_ne!(code, 0);
    assert!(
        err.contains("is not valid") && err.contains("rolez"),
        "{err}"
    );
}

// ---- env ----

fn exports(lines: &[String]) -> Vec<(String, String)> {
    lines
        .iter()
        .filter_map(|l| l.strip_prefix("export "))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.trim_matches('\'').to_string()))
        .collect()
}

#[test]
fn env_prints_what_the_sdks_and_cli_read() {
    let (code, out, err) = run(&[
        "env",
        "--listen",
        "0.0.0.0:9123",
        "--instance",
        SEED_INSTANCE,
    ]);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<String> = out.lines().map(str::to_string).collect();
    let vars = exports(&lines);
    let get = |k: &str| {
        vars.iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
            .unwrap_or_else(|| panic!("no {k} in {out}"))
    };
    assert_eq!(
        get("ALIBABA_CLOUD_ACCESS_KEY_ID"),
        "LTAI5tAcsemuRoot00000001"
    );
    assert_eq!(
        get("ALIBABA_CLOUD_ACCESS_KEY_SECRET"),
        "acsemuRootSecret00000000000000"
    );
    assert_eq!(get("ACSEMU_ENDPOINT"), "http://127.0.0.1:9123");
    assert_eq!(get("ALIBABA_CLOUD_ENDPOINT"), "127.0.0.1:9123");
    assert_eq!(
        get("ALIBABA_CLOUD_CREDENTIALS_URI"),
        format!("http://127.0.0.1:9123/_acsemu/credentials/{SEED_INSTANCE}")
    );
    // A role name, never an endpoint.
    assert!(!out.contains("ALIBABA_CLOUD_ECS_METADATA"), "{out}");
    assert!(out.contains("unset ALIBABA_CLOUD_SECURITY_TOKEN"));
    // A real shell accepts it.
    let sh = Command::new("sh")
        .arg("-c")
        .arg(format!("{out}\necho \"$ACSEMU_ENDPOINT\""))
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&sh.stdout).trim(),
        "http://127.0.0.1:9123"
    );
}

#[test]
fn serve_prints_the_ready_line_first_then_the_exports() {
    let p = Proc::start(&["serve", "--in-memory", "--listen", "127.0.0.1:0"], 8);
    assert!(p.lines[0].starts_with("acsemu ready endpoint=http://127.0.0.1:"));
    assert_eq!(
        p.lines[1],
        "export ALIBABA_CLOUD_ACCESS_KEY_ID='LTAI5tAcsemuRoot00000001'"
    );
    let vars = exports(&p.lines);
    assert!(
        vars.iter()
            .any(|(k, v)| k == "ACSEMU_ENDPOINT" && *v == p.endpoint()),
        "{:?}",
        p.lines
    );
}

// ---- credentials endpoint ----

#[test]
fn credentials_endpoint_answers_rotating_role_credentials() {
    let s = seeded();
    let url = format!("{}/_acsemu/credentials/{SEED_INSTANCE}", s.endpoint);
    let first = raw("GET", &url, None).ok();
    for k in [
        "AccessKeyId",
        "AccessKeySecret",
        "SecurityToken",
        "Expiration",
    ] {
        assert!(first[k].is_string(), "{first}");
    }
    assert_eq!(first["Code"], "Success");
    let exp = first["Expiration"].as_str().unwrap();
    assert!(
        acsemu::clock::parse_iso(exp).is_some() && exp.ends_with('Z'),
        "{exp}"
    );
    // The same session until 30 minutes before it expires, as the metadata service.
    assert_eq!(
        raw("GET", &url, None).ok()["AccessKeyId"],
        first["AccessKeyId"]
    );
    raw(
        "POST",
        &format!("{}/_acsemu/clock", s.endpoint),
        Some(r#"{"advance_seconds": 1801}"#),
    )
    .ok();
    let second = raw("GET", &url, None).ok();
    assert_ne!(second["AccessKeyId"], first["AccessKeyId"]);
    // The credentials sign calls as the role.
    let c = Client::new(
        &s.endpoint,
        second["AccessKeyId"].as_str().unwrap(),
        second["AccessKeySecret"].as_str().unwrap(),
        second["SecurityToken"].as_str(),
    );
    let me = c.call(STS, "GetCallerIdentity", &[]).ok();
    assert_eq!(
        me["Arn"],
        format!(
            "acs:ram::{}:assumed-role/EcsRamRoleTest/{SEED_INSTANCE}",
            s.account_id
        )
    );
    // An instance that is not there, or has no role.
    let none = raw(
        "GET",
        &format!("{}/_acsemu/credentials/i-nope", s.endpoint),
        None,
    );
    none.err(404, "NotFound");
    // The metadata service hands out the same session.
    let md = raw(
        "GET",
        &format!(
            "{}/latest/meta-data/ram/security-credentials/EcsRamRoleTest",
            s.endpoint
        ),
        None,
    )
    .ok();
    assert_eq!(md["AccessKeyId"], second["AccessKeyId"]);
}

#[test]
fn credentials_endpoint_takes_the_control_token_in_the_query() {
    let mut config = Config::ephemeral();
    config.control_token = Some("s3cret".into());
    let s = server_with(config);
    state_file::apply_to(&s.state, &StateFile::parse(SEED, Format::Yaml).unwrap()).unwrap();
    let url = format!("{}/_acsemu/credentials/{SEED_INSTANCE}", s.endpoint);
    raw("GET", &url, None).err(403, "Forbidden");
    raw("GET", &format!("{url}?token=wrong"), None).err(403, "Forbidden");
    assert_eq!(
        raw("GET", &format!("{url}?token=s3cret"), None).ok()["Code"],
        "Success"
    );
    // Only there: the other control endpoints want the header.
    raw(
        "GET",
        &format!("{}/_acsemu/health?token=s3cret", s.endpoint),
        None,
    )
    .err(403, "Forbidden");
}

// ---- dashboard ----

#[test]
fn dashboard_shows_the_state_and_escapes_it() {
    let s = server();
    let file = StateFile::parse(DASHBOARD_STATE, Format::Yaml).unwrap();
    state_file::apply_to(&s.state, &file).unwrap();
    let user = Client::new(&s.endpoint, SEED_USER_KEY.0, SEED_USER_KEY.1, None);
    user.ram("ListUsers", &[]).err(403, "NoPermission");
    user.ecs("DescribeInstances", &[("RegionId", "cn-hangzhou")])
        .ok();
    raw(
        "GET",
        &format!("{}/_acsemu/credentials/{SEED_INSTANCE}", s.endpoint),
        None,
    )
    .ok();

    let page = raw("GET", &format!("{}/_acsemu/", s.endpoint), None);
    assert_eq!(page.status, 200);
    assert!(
        page.content_type.starts_with("text/html"),
        "{}",
        page.content_type
    );
    let html = &page.text;
    for want in [
        "ecs-operator",
        "LTAI5tAcsemuSeedUser0001 (Active)",
        "operators",
        "AliyunECSReadOnlyAccess",
        "EcsRamRoleTest",
        "ecs.aliyuncs.com",
        "EcsRamRolePolicyTest",
        SEED_INSTANCE,
        "Stopped",
        "seed-bucket",
        "hello.txt",
        "Live STS sessions <small>1</small>",
        "ListUsers",
        "403 NoPermission",
        "no statement of the caller",
        "DescribeInstances",
    ] {
        assert!(html.contains(want), "the dashboard lacks {want:?}:\n{html}");
    }
    // An hour-long session, just issued, on the virtual clock.
    assert!(
        html.contains("<b>1h 00m</b>") || html.contains("<b>59m"),
        "{html}"
    );
    // The display name is text, not markup; no secret is shown.
    assert!(html.contains("&lt;b&gt;not bold&lt;/b&gt;"));
    assert!(!html.contains("<b>not bold</b>"));
    assert!(!html.contains(SEED_USER_KEY.1));
    assert!(!html.contains("<script"));

    let policies = raw("GET", &format!("{}/_acsemu/policies", s.endpoint), None).text;
    for want in [
        "oss:Get*",
        "PassEcsRamRoleTest",
        "AdministratorAccess",
        "Role EcsRamRoleTest",
    ] {
        assert!(policies.contains(want), "the policies view lacks {want:?}");
    }
    let requests = raw("GET", &format!("{}/_acsemu/requests", s.endpoint), None).text;
    assert!(requests.contains("user/ecs-operator") || requests.contains("ecs-operator"));
    raw("POST", &format!("{}/_acsemu/", s.endpoint), None).err(400, "UnsupportedHTTPMethod");
}

#[test]
fn dashboard_is_behind_the_control_guard() {
    let mut config = Config::ephemeral();
    config.control_token = Some("t0ken".into());
    let s = server_with(config);
    raw("GET", &format!("{}/_acsemu/", s.endpoint), None).err(403, "Forbidden");
    let ok = reqwest::blocking::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .get(format!("{}/_acsemu/", s.endpoint))
        .header("X-Acsemu-Control-Token", "t0ken")
        .send()
        .unwrap();
    assert_eq!(ok.status(), 200);
}

// ---- start-up failures and log options ----

#[test]
fn port_in_use_is_said_plainly() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let (code, out, err) = run(&["serve", "--in-memory", "--listen", &addr]);
    assert_ne!(code, 0);
    assert!(out.is_empty(), "{out}");
    assert!(
        err.contains(&format!("cannot listen on {addr}")) && err.contains("already in use"),
        "{err}"
    );
}

#[test]
fn a_file_that_is_not_a_database_fails_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("garbage.db");
    std::fs::write(&db, vec![0x5a_u8; 8192]).unwrap();
    let started = Instant::now();
    let (code, _, err) = run(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--data",
        db.to_str().unwrap(),
    ]);
    assert_ne!(code, 0);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
    assert!(
        err.contains("cannot open the database") && err.contains("not a database"),
        "{err}"
    );
    // A directory where the file should be.
    let (code, _, err) = run(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--data",
        dir.path().to_str().unwrap(),
    ]);
    assert_ne!(code, 0);
    assert!(err.contains("cannot open the database"), "{err}");
}

#[test]
fn a_database_from_a_newer_acsemu_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("new.db");
    drop(acsemu::store::Store::open(Some(&db)).unwrap());
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute_batch("PRAGMA user_version = 999;").unwrap();
    drop(conn);
    let (code, _, err) = run(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--data",
        db.to_str().unwrap(),
    ]);
    assert_ne!(code, 0);
    assert!(
        err.contains("written by a newer acsemu") && err.contains("999"),
        "{err}"
    );
}

#[test]
fn log_format_json_and_quiet() {
    let p = Proc::start(
        &[
            "serve",
            "--in-memory",
            "--listen",
            "127.0.0.1:0",
            "--log-format",
            "json",
        ],
        1,
    );
    raw("GET", &format!("{}/_acsemu/health", p.endpoint()), None).ok();
    let c = Client::new(
        &p.endpoint(),
        "LTAI5tAcsemuRoot00000001",
        "acsemuRootSecret00000000000000",
        None,
    );
    c.call(ECS, "DescribeInstances", &[("RegionId", "cn-hangzhou")])
        .ok();
    std::thread::sleep(Duration::from_millis(200));
    let err = p.stop();
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(!lines.is_empty());
    for l in &lines {
        let v: Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}"));
        assert!(v.get("level").is_some(), "{l}");
    }
    assert!(err.contains("DescribeInstances"), "{err}");

    let p = Proc::start(
        &["serve", "--in-memory", "--listen", "127.0.0.1:0", "--quiet"],
        1,
    );
    let c = Client::new(
        &p.endpoint(),
        "LTAI5tAcsemuRoot00000001",
        "acsemuRootSecret00000000000000",
        None,
    );
    c.call(ECS, "DescribeInstances", &[("RegionId", "cn-hangzhou")])
        .ok();
    std::thread::sleep(Duration::from_millis(200));
    let err = p.stop();
    assert!(!err.contains("INFO"), "{err}");
}
