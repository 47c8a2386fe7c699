//! Crash safety and concurrency (issue 8): a real server process killed with SIGKILL at random
//! moments never loses an acknowledged write nor keeps half of a refused one; 64 concurrent
//! clients never see `database is locked`, and a name created twice at once succeeds once.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use acsemu::config::Config;
use rand::Rng;

use crate::support::{server_with, Client, ECS_TRUST};

struct Proc {
    child: Child,
    endpoint: String,
}

fn spawn(db: &std::path::Path) -> Proc {
    launch(db, &["--quiet"], Stdio::null(), &[])
}

/// Starts the binary on `db` and waits for its ready line.
fn launch(db: &std::path::Path, extra: &[&str], stderr: Stdio, env: &[(&str, &str)]) -> Proc {
    let mut child = Command::new(env!("CARGO_BIN_EXE_acsemu"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(db)
        .args(extra)
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .expect("spawn acsemu");
    let stdout = child.stdout.take().unwrap();
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let endpoint = line
        .split_whitespace()
        .find_map(|w| w.strip_prefix("endpoint="))
        .unwrap_or_else(|| panic!("no ready line: {line:?}"))
        .to_string();
    Proc { child, endpoint }
}

fn root(endpoint: &str) -> Client {
    Client::new(
        endpoint,
        acsemu::config::DEFAULT_ROOT_ACCESS_KEY_ID,
        acsemu::config::DEFAULT_ROOT_ACCESS_KEY_SECRET,
        None,
    )
}

#[derive(Default)]
struct Ledger {
    roles: Vec<String>,
    policies: Vec<String>,
    attachments: Vec<(String, String)>,
    refused_policies: Vec<String>,
    writes: usize,
}

/// One client's writes until the server dies: each acknowledged write is recorded.
fn writer(endpoint: String, id: usize, round: usize, ledger: Arc<Mutex<Ledger>>) {
    let c = root(&endpoint);
    for n in 0.. {
        let role = format!("r{round}-{id}-{n}");
        let r = c.ram(
            "CreateRole",
            &[("RoleName", &role), ("AssumeRolePolicyDocument", ECS_TRUST)],
        );
        if r.status == 0 || r.status >= 500 {
            break;
        }
        if r.status == 200 {
            ledger.lock().unwrap().roles.push(role.clone());
        }
        let policy = format!("p{round}-{id}-{n}");
        let doc = r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"oss:Get*","Resource":"*"}]}"#;
        if c.ram(
            "CreatePolicy",
            &[("PolicyName", &policy), ("PolicyDocument", doc)],
        )
        .status
            == 200
        {
            ledger.lock().unwrap().policies.push(policy.clone());
            let a = c.ram(
                "AttachPolicyToRole",
                &[
                    ("RoleName", &role),
                    ("PolicyType", "Custom"),
                    ("PolicyName", &policy),
                ],
            );
            if a.status == 200 {
                ledger
                    .lock()
                    .unwrap()
                    .attachments
                    .push((role.clone(), policy.clone()));
            }
        }
        let bad = format!("bad{round}-{id}-{n}");
        if c.ram(
            "CreatePolicy",
            &[
                ("PolicyName", &bad),
                ("PolicyDocument", r#"{"Version":"2"}"#),
            ],
        )
        .status
            == 400
        {
            ledger.lock().unwrap().refused_policies.push(bad);
        }
        ledger.lock().unwrap().writes += 1;
    }
}

#[test]
fn sigkill_at_random_moments_loses_nothing_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("crash.db");
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let started = Instant::now();
    let mut kills = 0;
    let mut rng = rand::thread_rng();
    while kills < 20 && started.elapsed() < Duration::from_secs(90) {
        let mut p = spawn(&db);
        let threads: Vec<_> = (0..3)
            .map(|id| {
                let (e, l) = (p.endpoint.clone(), ledger.clone());
                std::thread::spawn(move || writer(e, id, kills, l))
            })
            .collect();
        std::thread::sleep(Duration::from_millis(rng.gen_range(30..250)));
        p.child.kill().unwrap(); // SIGKILL
        p.child.wait().unwrap();
        kills += 1;
        for t in threads {
            t.join().unwrap();
        }
    }
    assert!(kills >= 20, "only {kills} kills in the time bound");
    let mut p = spawn(&db);
    let c = root(&p.endpoint);
    let l = ledger.lock().unwrap();
    assert!(
        l.writes > 20,
        "too few writes to mean anything: {}",
        l.writes
    );
    for r in &l.roles {
        c.ram("GetRole", &[("RoleName", r)]).ok();
    }
    for pol in &l.policies {
        c.ram(
            "GetPolicy",
            &[("PolicyName", pol), ("PolicyType", "Custom")],
        )
        .ok();
    }
    for (r, pol) in &l.attachments {
        let listed = c.ram("ListPoliciesForRole", &[("RoleName", r)]).ok();
        let names: Vec<&str> = listed["Policies"]["Policy"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["PolicyName"].as_str().unwrap())
            .collect();
        assert!(
            names.contains(&pol.as_str()),
            "attachment {r} <- {pol} lost"
        );
    }
    for bad in &l.refused_policies {
        c.ram(
            "GetPolicy",
            &[("PolicyName", bad), ("PolicyType", "Custom")],
        )
        .err(404, "EntityNotExist.Policy");
    }
    p.child.kill().unwrap();
    p.child.wait().unwrap();
    // Invariants, read straight from the file.
    let conn = rusqlite::Connection::open(&db).unwrap();
    let dangling: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM policy_attachments a WHERE (a.principal_type = 'Role' AND NOT EXISTS (SELECT 1 FROM roles r WHERE r.role_id = a.principal_id))
               OR NOT EXISTS (SELECT 1 FROM policies p WHERE p.policy_type = a.policy_type AND p.policy_name = a.policy_name)",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(dangling, 0, "dangling attachments");
    let without_default: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM policies p WHERE NOT EXISTS (SELECT 1 FROM policy_versions v WHERE v.policy_type = p.policy_type AND v.policy_name = p.policy_name AND v.version_id = p.default_version)",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(without_default, 0, "policies without their default version");
    let integrity: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(integrity, "ok");
    eprintln!(
        "crash test: {kills} kills, {} writes, {} roles checked",
        l.writes,
        l.roles.len()
    );
}

#[test]
fn sixty_four_clients_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let s = server_with(Config {
        data: Some(dir.path().join("c.db")),
        ..Config::ephemeral()
    });
    let endpoint = s.endpoint.clone();
    let outcomes = Arc::new(Mutex::new(Vec::new()));
    let threads: Vec<_> = (0..64)
        .map(|i| {
            let (e, o) = (endpoint.clone(), outcomes.clone());
            std::thread::spawn(move || {
                let c = root(&e);
                // Everyone races for one name, then creates, attaches and deletes its own.
                let same = c.ram(
                    "CreateRole",
                    &[
                        ("RoleName", "Contended"),
                        ("AssumeRolePolicyDocument", ECS_TRUST),
                    ],
                );
                let own = format!("own{i}");
                let mut codes = vec![(same.status, same.code_or_ok())];
                for (action, params) in [
                    (
                        "CreateRole",
                        vec![
                            ("RoleName", own.as_str()),
                            ("AssumeRolePolicyDocument", ECS_TRUST),
                        ],
                    ),
                    (
                        "AttachPolicyToRole",
                        vec![
                            ("RoleName", own.as_str()),
                            ("PolicyType", "System"),
                            ("PolicyName", "AliyunOSSReadOnlyAccess"),
                        ],
                    ),
                    (
                        "DetachPolicyFromRole",
                        vec![
                            ("RoleName", own.as_str()),
                            ("PolicyType", "System"),
                            ("PolicyName", "AliyunOSSReadOnlyAccess"),
                        ],
                    ),
                    ("DeleteRole", vec![("RoleName", own.as_str())]),
                    (
                        "CreateRole",
                        vec![
                            ("RoleName", own.as_str()),
                            ("AssumeRolePolicyDocument", ECS_TRUST),
                        ],
                    ),
                ] {
                    let r = c.ram(action, &params);
                    codes.push((r.status, r.code_or_ok()));
                }
                o.lock().unwrap().push(codes);
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let outcomes = outcomes.lock().unwrap();
    let winners = outcomes.iter().filter(|c| c[0].0 == 200).count();
    let losers = outcomes
        .iter()
        .filter(|c| c[0] == (409, "EntityAlreadyExists.Role".to_string()))
        .count();
    assert_eq!((winners, losers), (1, 63), "{outcomes:?}");
    for codes in outcomes.iter() {
        for (status, code) in &codes[1..] {
            assert_eq!(*status, 200, "{code}: {codes:?}");
        }
    }
    let listed = root(&endpoint)
        .ram("ListRoles", &[("MaxItems", "1000")])
        .ok();
    assert_eq!(listed["Roles"]["Role"].as_array().unwrap().len(), 65);
}

/// Starts the binary with its debug log captured to a file.
fn spawn_logged(db: &std::path::Path, log: &std::path::Path) -> Proc {
    let log_file = std::fs::File::create(log).unwrap();
    launch(db, &[], Stdio::from(log_file), &[("ACSEMU_LOG", "debug")])
}

fn sigterm(p: &Proc) {
    let status = Command::new("kill")
        .args(["-TERM", &p.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn no_secret_reaches_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("server.log");
    let mut p = spawn_logged(&dir.path().join("s.db"), &log);
    let root = root(&p.endpoint);
    let trust = crate::support::account_trust(acsemu::config::DEFAULT_ACCOUNT_ID);
    root.ram(
        "CreateRole",
        &[
            ("RoleName", "LogRole"),
            ("AssumeRolePolicyDocument", &trust),
        ],
    )
    .ok();
    let user =
        crate::support::user_with(&root, "logger", &[("System", "AliyunSTSAssumeRoleAccess")]);
    let assumed =
        crate::support::assume_role(&user, acsemu::config::DEFAULT_ACCOUNT_ID, "LogRole", "s1");
    let session = crate::support::session_client(&p.endpoint, &assumed);
    session.sts("GetCallerIdentity", &[]).ok();
    session.clone().v3().sts("GetCallerIdentity", &[]).ok();
    // A failed signature, whose answer carries the string to sign, must not log it either.
    let wrong = crate::support::Overrides {
        secret: Some("wrong".into()),
        ..Default::default()
    };
    user.call_v1(crate::support::RAM, "ListRoles", &[], &wrong)
        .err(400, "SignatureDoesNotMatch");
    sigterm(&p);
    p.child.wait().unwrap();
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.contains("AssumeRole"),
        "the log should have the request lines: {text}"
    );
    let c = &assumed["Credentials"];
    for secret in [
        acsemu::config::DEFAULT_ROOT_ACCESS_KEY_SECRET,
        &user.access_key_secret,
        c["AccessKeySecret"].as_str().unwrap(),
        c["SecurityToken"].as_str().unwrap(),
        &c["SecurityToken"].as_str().unwrap()[..40],
    ] {
        assert!(!text.contains(secret), "a secret reached the log");
    }
    assert!(!text.contains("Signature="), "a signature reached the log");
}

#[test]
fn sigterm_shuts_down_gracefully() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("g.db");
    let mut p = spawn_logged(&db, &dir.path().join("g.log"));
    root(&p.endpoint)
        .ram(
            "CreateRole",
            &[
                ("RoleName", "Kept"),
                ("AssumeRolePolicyDocument", ECS_TRUST),
            ],
        )
        .ok();
    let started = Instant::now();
    sigterm(&p);
    let status = p.child.wait().unwrap();
    assert!(status.success(), "exit status {status:?}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "shutdown took {:?}",
        started.elapsed()
    );
    // The WAL was checkpointed into the main file and the nonces were saved beside it.
    let wal = std::fs::metadata(dir.path().join("g.db-wal"))
        .map(|m| m.len())
        .unwrap_or(0);
    assert_eq!(wal, 0, "WAL not checkpointed");
    assert!(acsemu::auth::nonce::sidecar(&db).exists());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(acsemu::auth::nonce::sidecar(&db))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "nonce file readable by others: {mode:o}");
    }
    let conn = rusqlite::Connection::open(&db).unwrap();
    let n: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM roles WHERE role_name = 'Kept'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(n, 1);
}
