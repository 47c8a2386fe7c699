//! The protocol layer end to end: signatures, envelope, formats, persistence, control.

use acsemu::config::Config;
use serde_json::Value;

use crate::support::{raw, server, server_with, Client, Overrides, ECS_TRUST, RAM};

fn create_role(c: &Client, name: &str) -> Value {
    c.ram(
        "CreateRole",
        &[("RoleName", name), ("AssumeRolePolicyDocument", ECS_TRUST)],
    )
    .ok()
}

#[test]
fn role_lifecycle_with_both_signatures() {
    let s = server();
    for (i, c) in [Client::root(&s), Client::root(&s).v3()].iter().enumerate() {
        let name = format!("EcsRamRoleTest{i}");
        let v = create_role(c, &name);
        let role = &v["Role"];
        assert_eq!(role["RoleName"], name.as_str());
        assert_eq!(
            role["Arn"],
            format!("acs:ram::{}:role/{name}", s.account_id)
        );
        assert_eq!(role["MaxSessionDuration"], 3600);
        let id = role["RoleId"].as_str().unwrap();
        assert!(id.len() >= 18 && id.chars().all(|c| c.is_ascii_digit()));
        assert!(v["RequestId"].as_str().unwrap().len() == 36);
        let got = c.ram("GetRole", &[("RoleName", &name)]).ok();
        assert_eq!(got["Role"]["RoleId"], id);
        assert_eq!(got["Role"]["AssumeRolePolicyDocument"], ECS_TRUST);
        let created = got["Role"]["CreateDate"].as_str().unwrap();
        assert!(acsemu::clock::parse_iso(created).is_some(), "{created}");
        c.ram(
            "CreateRole",
            &[("RoleName", &name), ("AssumeRolePolicyDocument", ECS_TRUST)],
        )
        .err(409, "EntityAlreadyExists.Role");
        c.ram("DeleteRole", &[("RoleName", &name)]).ok();
        c.ram("GetRole", &[("RoleName", &name)])
            .err(404, "EntityNotExist.Role");
        c.ram("DeleteRole", &[("RoleName", &name)])
            .err(404, "EntityNotExist.Role");
    }
}

#[test]
fn list_roles_pages_with_marker() {
    let s = server();
    let c = Client::root(&s);
    for i in 0..5 {
        create_role(&c, &format!("r{i}"));
    }
    let first = c.ram("ListRoles", &[("MaxItems", "2")]).ok();
    assert_eq!(first["IsTruncated"], true);
    let names = |v: &Value| -> Vec<String> {
        v["Roles"]["Role"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["RoleName"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(names(&first), ["r0", "r1"]);
    assert!(first["Roles"]["Role"][0]
        .get("AssumeRolePolicyDocument")
        .is_none());
    let marker = first["Marker"].as_str().unwrap().to_string();
    let second = c
        .ram("ListRoles", &[("MaxItems", "3"), ("Marker", &marker)])
        .ok();
    assert_eq!(names(&second), ["r2", "r3", "r4"]);
    assert_eq!(second["IsTruncated"], false);
    assert!(second.get("Marker").is_none());
    c.ram("ListRoles", &[("MaxItems", "0")])
        .err(400, "InvalidParameter");
    c.ram("ListRoles", &[("Marker", "!!")])
        .err(400, "InvalidParameter.Marker");
}

#[test]
fn parameter_errors() {
    let s = server();
    let c = Client::root(&s);
    c.ram("CreateRole", &[("AssumeRolePolicyDocument", ECS_TRUST)])
        .err(400, "MissingParameter");
    c.ram(
        "CreateRole",
        &[
            ("RoleName", "bad name"),
            ("AssumeRolePolicyDocument", ECS_TRUST),
        ],
    )
    .err(400, "InvalidParameter.RoleName.InvalidChars");
    c.ram(
        "CreateRole",
        &[
            ("RoleName", &"a".repeat(65)),
            ("AssumeRolePolicyDocument", ECS_TRUST),
        ],
    )
    .err(400, "InvalidParameter.RoleName.Length");
    c.ram(
        "CreateRole",
        &[("RoleName", "x"), ("AssumeRolePolicyDocument", "{not json")],
    )
    .err(400, "MalformedPolicyDocument");
    c.ram(
        "CreateRole",
        &[
            ("RoleName", "x"),
            ("AssumeRolePolicyDocument", ECS_TRUST),
            ("MaxSessionDuration", "100"),
        ],
    )
    .err(400, "InvalidParameter.MaxSessionDuration");
    // Nothing half-written by the refusals.
    let list = c.ram("ListRoles", &[]).ok();
    assert_eq!(list["Roles"]["Role"].as_array().unwrap().len(), 0);
}

#[test]
fn signature_faults_get_their_codes() {
    let s = server();
    let c = Client::root(&s);
    for sig in [Client::root(&s), Client::root(&s).v3()] {
        let wrong = Overrides {
            secret: Some("wrong".into()),
            ..Overrides::default()
        };
        let r = match sig.sig {
            crate::support::Sig::V1 => sig.call_v1(RAM, "ListRoles", &[], &wrong),
            crate::support::Sig::V3 => sig.call_v3(RAM, "ListRoles", &[], &wrong),
        };
        let v = r.err(400, "SignatureDoesNotMatch");
        assert!(
            v["Message"]
                .as_str()
                .unwrap()
                .contains("server string to sign is:"),
            "{v}"
        );
    }
    let v1 = c.call_v1(RAM, "ListRoles", &[], &Overrides::default()).ok();
    assert!(v1["Roles"].is_object());

    let nobody = Client::new(&s.endpoint, "LTAI5tNoSuchKey000000000", "x", None);
    nobody
        .ram("ListRoles", &[])
        .err(404, "InvalidAccessKeyId.NotFound");
    nobody
        .clone()
        .v3()
        .ram("ListRoles", &[])
        .err(404, "InvalidAccessKeyId.NotFound");

    let fixed = Overrides {
        nonce: Some("fixed-nonce-1".into()),
        ..Overrides::default()
    };
    c.call_v1(RAM, "ListRoles", &[], &fixed).ok();
    c.call_v1(RAM, "ListRoles", &[], &fixed)
        .err(400, "SignatureNonceUsed");
    let v3 = Client::root(&s).v3();
    let fixed3 = Overrides {
        nonce: Some("fixed-nonce-3".into()),
        ..Overrides::default()
    };
    v3.call_v3(RAM, "ListRoles", &[], &fixed3).ok();
    v3.call_v3(RAM, "ListRoles", &[], &fixed3)
        .err(400, "SignatureNonceUsed");

    let stale = (chrono::Utc::now() - chrono::Duration::minutes(20))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    let old = Overrides {
        timestamp: Some(stale),
        ..Overrides::default()
    };
    c.call_v1(RAM, "ListRoles", &[], &old)
        .err(400, "InvalidTimeStamp.Expired");
    v3.call_v3(RAM, "ListRoles", &[], &old)
        .err(400, "InvalidTimeStamp.Expired");
    let bad = Overrides {
        timestamp: Some("yesterday".into()),
        ..Overrides::default()
    };
    c.call_v1(RAM, "ListRoles", &[], &bad)
        .err(400, "InvalidTimeStamp.Format");
}

#[test]
fn a_forged_request_does_not_burn_the_nonce() {
    let s = server();
    let c = Client::root(&s);
    let forged = Overrides {
        nonce: Some("n-forged".into()),
        secret: Some("wrong".into()),
        ..Overrides::default()
    };
    c.call_v1(RAM, "ListRoles", &[], &forged)
        .err(400, "SignatureDoesNotMatch");
    let genuine = Overrides {
        nonce: Some("n-forged".into()),
        ..Overrides::default()
    };
    c.call_v1(RAM, "ListRoles", &[], &genuine).ok();
}

#[test]
fn routing_errors() {
    let s = server();
    let c = Client::root(&s);
    c.ram("NoSuchAction", &[])
        .err(404, "InvalidAction.NotFound");
    c.call("2099-01-01", "ListRoles", &[])
        .err(400, "InvalidVersion");
    let r = raw("GET", &format!("{}/?Version=2015-05-01", s.endpoint), None);
    r.err(400, "MissingParameter");
    let r = raw(
        "GET",
        &format!("{}/?Action=ListRoles&Version=2015-05-01", s.endpoint),
        None,
    );
    r.err(400, "MissingParameter");
    assert!(r.json()["Message"]
        .as_str()
        .unwrap()
        .contains("AccessKeyId"));
    let r = raw(
        "DELETE",
        &format!("{}/?Action=ListRoles&Version=2015-05-01", s.endpoint),
        None,
    );
    r.err(400, "UnsupportedHTTPMethod");
    let big = "x".repeat(2 * 1024 * 1024);
    let r = raw("POST", &format!("{}/", s.endpoint), Some(&big));
    assert_eq!(r.status, 413, "{}", r.text);
}

#[test]
fn xml_format() {
    let s = server();
    let c = Client::root(&s);
    create_role(&c, "XmlRole");
    let xml = Overrides {
        format: Some("XML".into()),
        ..Overrides::default()
    };
    let r = c.call_v1(RAM, "GetRole", &[("RoleName", "XmlRole")], &xml);
    assert_eq!(r.status, 200);
    assert!(r.content_type.starts_with("text/xml"), "{}", r.content_type);
    assert!(
        r.text
            .starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?><GetRoleResponse><RequestId>"),
        "{}",
        r.text
    );
    assert!(r.text.contains("<Role><RoleId>"), "{}", r.text);
    let r = c.call_v1(RAM, "GetRole", &[("RoleName", "Nope")], &xml);
    assert_eq!(r.status, 404);
    assert!(
        r.text.contains("<Error><RequestId>")
            && r.text.contains("<Code>EntityNotExist.Role</Code>"),
        "{}",
        r.text
    );
    let r = c.call_v1(RAM, "ListRoles", &[], &xml);
    assert!(r.text.contains("<Roles><Role><RoleId>"), "{}", r.text);
}

#[test]
fn state_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let config = Config {
        data: Some(dir.path().join("state.db")),
        ..Config::ephemeral()
    };
    let s = server_with(config.clone());
    let id = create_role(&Client::root(&s), "Durable")["Role"]["RoleId"]
        .as_str()
        .unwrap()
        .to_string();
    s.stop();
    let s = server_with(config);
    let got = Client::root(&s)
        .ram("GetRole", &[("RoleName", "Durable")])
        .ok();
    assert_eq!(got["Role"]["RoleId"], id.as_str());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("state.db"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "database readable by others: {mode:o}");
    }
}

#[test]
fn control_endpoints() {
    let s = server();
    let c = Client::root(&s);
    let h = raw("GET", &format!("{}/_acsemu/health", s.endpoint), None).ok();
    assert_eq!(h["status"], "ok");
    assert!(h["actions"].as_u64().unwrap() >= 5);
    create_role(&c, "Gone");
    raw("POST", &format!("{}/_acsemu/reset", s.endpoint), None).ok();
    c.ram("GetRole", &[("RoleName", "Gone")])
        .err(404, "EntityNotExist.Role");
    // The root key still works after a reset.
    c.ram("ListRoles", &[]).ok();

    let clock = raw("GET", &format!("{}/_acsemu/clock", s.endpoint), None).ok();
    assert_eq!(clock["offset_seconds"], 0);
    let moved = raw(
        "POST",
        &format!("{}/_acsemu/clock", s.endpoint),
        Some(r#"{"advance_seconds": 3600}"#),
    )
    .ok();
    assert_eq!(moved["offset_seconds"], 3600);
    raw(
        "POST",
        &format!("{}/_acsemu/clock", s.endpoint),
        Some(r#"{"now": "2001-01-01T00:00:00Z"}"#),
    )
    .err(400, "InvalidParameter");
    raw(
        "POST",
        &format!("{}/_acsemu/clock", s.endpoint),
        Some(r#"{"advance_seconds": -5}"#),
    )
    .err(400, "InvalidParameter");
    raw(
        "POST",
        &format!("{}/_acsemu/clock", s.endpoint),
        Some("nope"),
    )
    .err(400, "InvalidParameter");
    // Dates in answers follow the virtual clock.
    let role = create_role(&c, "Later");
    let created = acsemu::clock::parse_iso(role["Role"]["CreateDate"].as_str().unwrap()).unwrap();
    assert!((created - chrono::Utc::now()).num_seconds() > 3500);
}

#[test]
fn nonces_survive_a_graceful_restart() {
    let dir = tempfile::tempdir().unwrap();
    let config = Config {
        data: Some(dir.path().join("state.db")),
        ..Config::ephemeral()
    };
    let s = server_with(config.clone());
    let fixed = Overrides {
        nonce: Some("before-restart".into()),
        ..Overrides::default()
    };
    Client::root(&s).call_v1(RAM, "ListRoles", &[], &fixed).ok();
    s.stop();
    let s = server_with(config);
    Client::root(&s)
        .call_v1(RAM, "ListRoles", &[], &fixed)
        .err(400, "SignatureNonceUsed");
}

#[test]
fn control_token_is_required_when_set() {
    let config = Config {
        control_token: Some("sesame".into()),
        ..Config::ephemeral()
    };
    let s = server_with(config);
    raw("GET", &format!("{}/_acsemu/health", s.endpoint), None).err(403, "Forbidden");
    let r = reqwest::blocking::Client::new()
        .get(format!("{}/_acsemu/health", s.endpoint))
        .header("x-acsemu-control-token", "sesame")
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    // The API itself does not need the token.
    Client::root(&s).ram("ListRoles", &[]).ok();
}

#[test]
fn clock_offset_flag_and_persistence() {
    let dir = tempfile::tempdir().unwrap();
    let config = Config {
        data: Some(dir.path().join("clock.db")),
        clock_offset: Some(7200),
        ..Config::ephemeral()
    };
    let s = server_with(config.clone());
    let clock = raw("GET", &format!("{}/_acsemu/clock", s.endpoint), None).ok();
    assert_eq!(clock["offset_seconds"], 7200);
    raw(
        "POST",
        &format!("{}/_acsemu/clock", s.endpoint),
        Some(r#"{"advance_seconds": 60}"#),
    )
    .ok();
    s.stop();
    // Without the flag, the saved offset comes back.
    let s = server_with(Config {
        clock_offset: None,
        ..config
    });
    let clock = raw("GET", &format!("{}/_acsemu/clock", s.endpoint), None).ok();
    assert_eq!(clock["offset_seconds"], 7260);
}
