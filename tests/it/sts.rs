//! STS: AssumeRole, GetCallerIdentity, expiry on the virtual clock, role chaining.

use acsemu::config::Config;
use serde_json::Value;

use crate::support::{
    account_trust, advance_clock, server, server_with, session_client, user_with, Client, ECS_TRUST,
};

const ASSUME: (&str, &str) = ("System", "AliyunSTSAssumeRoleAccess");

fn role(root: &Client, name: &str, trust: &str, max: Option<&str>) -> Value {
    let mut p = vec![("RoleName", name), ("AssumeRolePolicyDocument", trust)];
    if let Some(m) = max {
        p.push(("MaxSessionDuration", m));
    }
    root.ram("CreateRole", &p).ok()
}

fn arn(account: &str, name: &str) -> String {
    format!("acs:ram::{account}:role/{name}")
}

#[test]
fn seed_flow_user_assumes_role_and_signs_with_it() {
    let s = server();
    let root = Client::root(&s);
    let r = role(&root, "AppRole", &account_trust(&s.account_id), None);
    let role_id = r["Role"]["RoleId"].as_str().unwrap().to_string();
    let alice = user_with(&root, "alice", &[ASSUME]);
    let me = alice.sts("GetCallerIdentity", &[]).ok();
    assert_eq!(me["IdentityType"], "RAMUser");
    assert_eq!(me["Arn"], format!("acs:ram::{}:user/alice", s.account_id));
    assert!(me.get("RoleId").is_none());

    for signer in [alice.clone(), alice.clone().v3()] {
        let a = signer
            .sts(
                "AssumeRole",
                &[
                    ("RoleArn", &arn(&s.account_id, "AppRole")),
                    ("RoleSessionName", "alice@example.com"),
                ],
            )
            .ok();
        let creds = &a["Credentials"];
        assert!(creds["AccessKeyId"].as_str().unwrap().starts_with("STS."));
        assert!(creds["SecurityToken"].as_str().unwrap().starts_with("CAIS"));
        let exp = acsemu::clock::parse_iso(creds["Expiration"].as_str().unwrap()).unwrap();
        let left = (exp - chrono::Utc::now()).num_seconds();
        assert!((3590..=3600).contains(&left), "{left}");
        assert_eq!(
            a["AssumedRoleUser"]["Arn"],
            format!(
                "acs:ram::{}:assumed-role/AppRole/alice@example.com",
                s.account_id
            )
        );
        assert_eq!(
            a["AssumedRoleUser"]["AssumedRoleId"],
            format!("{role_id}:alice@example.com")
        );
        for session in [
            session_client(&s.endpoint, &a),
            session_client(&s.endpoint, &a).v3(),
        ] {
            let me = session.sts("GetCallerIdentity", &[]).ok();
            assert_eq!(me["IdentityType"], "AssumedRoleUser");
            assert_eq!(
                me["Arn"],
                format!(
                    "acs:ram::{}:assumed-role/AppRole/alice@example.com",
                    s.account_id
                )
            );
            assert_eq!(me["RoleId"], role_id.as_str());
            assert_eq!(me["PrincipalId"], format!("{role_id}:alice@example.com"));
            assert!(me.get("UserId").is_none());
        }
    }
}

#[test]
fn duration_bounds_follow_the_role() {
    let s = server();
    let root = Client::root(&s);
    role(&root, "Short", &account_trust(&s.account_id), None);
    role(&root, "Long", &account_trust(&s.account_id), Some("7200"));
    let u = user_with(&root, "u", &[ASSUME]);
    let try_with = |name: &str, d: &str| {
        u.sts(
            "AssumeRole",
            &[
                ("RoleArn", &arn(&s.account_id, name)),
                ("RoleSessionName", "s1"),
                ("DurationSeconds", d),
            ],
        )
    };
    try_with("Short", "899").err(400, "InvalidParameter.DurationSeconds");
    try_with("Short", "3601").err(400, "InvalidParameter.DurationSeconds");
    try_with("Short", "900").ok();
    try_with("Long", "7200").ok();
    try_with("Long", "7201").err(400, "InvalidParameter.DurationSeconds");
}

#[test]
fn parameter_and_identity_errors() {
    let s = server();
    let root = Client::root(&s);
    role(&root, "R", &account_trust(&s.account_id), None);
    let u = user_with(&root, "u", &[ASSUME]);
    let good = arn(&s.account_id, "R");
    u.sts(
        "AssumeRole",
        &[("RoleArn", "not-an-arn"), ("RoleSessionName", "s1")],
    )
    .err(400, "InvalidParameter.RoleArn");
    u.sts(
        "AssumeRole",
        &[("RoleArn", &good), ("RoleSessionName", "x")],
    )
    .err(400, "InvalidParameter.RoleSessionName");
    u.sts(
        "AssumeRole",
        &[("RoleArn", &good), ("RoleSessionName", "bad name!")],
    )
    .err(400, "InvalidParameter.RoleSessionName");
    u.sts(
        "AssumeRole",
        &[
            ("RoleArn", &arn(&s.account_id, "Nope")),
            ("RoleSessionName", "s1"),
        ],
    )
    .err(404, "EntityNotExist.Role");
    u.sts(
        "AssumeRole",
        &[
            ("RoleArn", &good),
            ("RoleSessionName", "s1"),
            ("Policy", "{bad"),
        ],
    )
    .err(400, "InvalidParameter.PolicyGrammar");
    let long_policy = format!(
        r#"{{"Version":"1","Statement":[{{"Effect":"Allow","Action":"ram:GetRole","Resource":"{}"}}]}}"#,
        "x".repeat(2100)
    );
    u.sts(
        "AssumeRole",
        &[
            ("RoleArn", &good),
            ("RoleSessionName", "s1"),
            ("Policy", &long_policy),
        ],
    )
    .err(400, "InvalidParameter.PolicySize");
    // The account's root key cannot assume roles.
    root.sts(
        "AssumeRole",
        &[("RoleArn", &good), ("RoleSessionName", "s1")],
    )
    .err(403, "NoPermission");

    let a = u
        .sts(
            "AssumeRole",
            &[("RoleArn", &good), ("RoleSessionName", "s1")],
        )
        .ok();
    let c = &a["Credentials"];
    let no_token = Client::new(
        &s.endpoint,
        c["AccessKeyId"].as_str().unwrap(),
        c["AccessKeySecret"].as_str().unwrap(),
        None,
    );
    no_token
        .sts("GetCallerIdentity", &[])
        .err(400, "MissingSecurityToken");
    let other = u
        .sts(
            "AssumeRole",
            &[("RoleArn", &good), ("RoleSessionName", "s2")],
        )
        .ok();
    let mixed = Client::new(
        &s.endpoint,
        c["AccessKeyId"].as_str().unwrap(),
        c["AccessKeySecret"].as_str().unwrap(),
        other["Credentials"]["SecurityToken"].as_str(),
    );
    mixed
        .sts("GetCallerIdentity", &[])
        .err(400, "InvalidSecurityToken.MismatchWithAccessKey");
    let forged = Client::new(
        &s.endpoint,
        c["AccessKeyId"].as_str().unwrap(),
        c["AccessKeySecret"].as_str().unwrap(),
        Some("CAISforged"),
    );
    forged
        .sts("GetCallerIdentity", &[])
        .err(400, "InvalidSecurityToken.Malformed");
}

#[test]
fn trust_and_permission_are_both_required() {
    let s = server();
    let root = Client::root(&s);
    role(&root, "EcsOnly", ECS_TRUST, None);
    role(&root, "Open", &account_trust(&s.account_id), None);
    let bob_trust = format!(
        r#"{{"Statement":[{{"Action":"sts:AssumeRole","Effect":"Allow","Principal":{{"RAM":["acs:ram::{}:user/bob"]}}}}],"Version":"1"}}"#,
        s.account_id
    );
    role(&root, "BobOnly", &bob_trust, None);
    let with = user_with(&root, "carol", &[ASSUME]);
    let without = user_with(&root, "dave", &[]);
    let bob = user_with(&root, "bob", &[ASSUME]);
    let call = |c: &Client, r: &str| {
        c.sts(
            "AssumeRole",
            &[
                ("RoleArn", &arn(&s.account_id, r)),
                ("RoleSessionName", "s1"),
            ],
        )
    };
    call(&with, "EcsOnly").err(403, "NoPermission");
    call(&with, "BobOnly").err(403, "NoPermission");
    call(&bob, "BobOnly").ok();
    call(&without, "Open").err(403, "NoPermission");
    call(&with, "Open").ok();
}

#[test]
fn external_id_condition() {
    let s = server();
    let root = Client::root(&s);
    let trust = format!(
        r#"{{"Statement":[{{"Action":"sts:AssumeRole","Effect":"Allow","Principal":{{"RAM":["acs:ram::{}:root"]}},"Condition":{{"StringEquals":{{"sts:ExternalId":"abc-123"}}}}}}],"Version":"1"}}"#,
        s.account_id
    );
    role(&root, "Ext", &trust, None);
    let u = user_with(&root, "u", &[ASSUME]);
    let a = arn(&s.account_id, "Ext");
    u.sts("AssumeRole", &[("RoleArn", &a), ("RoleSessionName", "s1")])
        .err(403, "NoPermission");
    u.sts(
        "AssumeRole",
        &[
            ("RoleArn", &a),
            ("RoleSessionName", "s1"),
            ("ExternalId", "wrong-1"),
        ],
    )
    .err(403, "NoPermission");
    u.sts(
        "AssumeRole",
        &[
            ("RoleArn", &a),
            ("RoleSessionName", "s1"),
            ("ExternalId", "abc-123"),
        ],
    )
    .ok();
}

#[test]
fn expiry_is_exact_on_the_virtual_clock() {
    let s = server();
    let root = Client::root(&s);
    role(&root, "R", &account_trust(&s.account_id), None);
    let u = user_with(&root, "u", &[ASSUME]);
    let a = u
        .sts(
            "AssumeRole",
            &[
                ("RoleArn", &arn(&s.account_id, "R")),
                ("RoleSessionName", "s1"),
                ("DurationSeconds", "900"),
            ],
        )
        .ok();
    let session = session_client(&s.endpoint, &a);
    session.sts("GetCallerIdentity", &[]).ok();
    advance_clock(&s.endpoint, 880);
    session.sts("GetCallerIdentity", &[]).ok();
    advance_clock(&s.endpoint, 30);
    session
        .sts("GetCallerIdentity", &[])
        .err(400, "InvalidSecurityToken.Expired");
    session
        .clone()
        .v3()
        .sts("GetCallerIdentity", &[])
        .err(400, "InvalidSecurityToken.Expired");
}

#[test]
fn session_policy_narrows_the_role() {
    let s = server();
    let root = Client::root(&s);
    role(&root, "Reader", &account_trust(&s.account_id), None);
    root.ram(
        "AttachPolicyToRole",
        &[
            ("RoleName", "Reader"),
            ("PolicyType", "System"),
            ("PolicyName", "AliyunRAMReadOnlyAccess"),
        ],
    )
    .ok();
    let u = user_with(&root, "u", &[ASSUME]);
    let a = arn(&s.account_id, "Reader");
    let wide = session_client(
        &s.endpoint,
        &u.sts(
            "AssumeRole",
            &[("RoleArn", &a), ("RoleSessionName", "wide")],
        )
        .ok(),
    );
    wide.ram("ListRoles", &[]).ok();
    wide.ram("GetRole", &[("RoleName", "Reader")]).ok();
    wide.ram(
        "CreateRole",
        &[("RoleName", "X"), ("AssumeRolePolicyDocument", ECS_TRUST)],
    )
    .err(403, "NoPermission");
    let only_get =
        r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"ram:GetRole","Resource":"*"}]}"#;
    let narrow = session_client(
        &s.endpoint,
        &u.sts(
            "AssumeRole",
            &[
                ("RoleArn", &a),
                ("RoleSessionName", "narrow"),
                ("Policy", only_get),
            ],
        )
        .ok(),
    );
    narrow.ram("GetRole", &[("RoleName", "Reader")]).ok();
    let denied = narrow.ram("ListRoles", &[]).err(403, "NoPermission");
    assert_eq!(denied["AccessDeniedDetail"]["AuthAction"], "ram:ListRoles");
    assert_eq!(
        denied["AccessDeniedDetail"]["AuthPrincipalType"],
        "AssumedRoleUser"
    );
    // A session policy never widens: CreateRole stays refused.
    let all = r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;
    let wide_policy = session_client(
        &s.endpoint,
        &u.sts(
            "AssumeRole",
            &[("RoleArn", &a), ("RoleSessionName", "all"), ("Policy", all)],
        )
        .ok(),
    );
    wide_policy
        .ram(
            "CreateRole",
            &[("RoleName", "X"), ("AssumeRolePolicyDocument", ECS_TRUST)],
        )
        .err(403, "NoPermission");
}

#[test]
fn role_chaining_is_capped_at_an_hour() {
    let s = server();
    let root = Client::root(&s);
    role(&root, "First", &account_trust(&s.account_id), Some("7200"));
    let second_trust = format!(
        r#"{{"Statement":[{{"Action":"sts:AssumeRole","Effect":"Allow","Principal":{{"RAM":["acs:ram::{}:role/First"]}}}}],"Version":"1"}}"#,
        s.account_id
    );
    role(&root, "Second", &second_trust, Some("7200"));
    root.ram(
        "AttachPolicyToRole",
        &[
            ("RoleName", "First"),
            ("PolicyType", "System"),
            ("PolicyName", "AliyunSTSAssumeRoleAccess"),
        ],
    )
    .ok();
    let u = user_with(&root, "u", &[ASSUME]);
    let first = session_client(
        &s.endpoint,
        &u.sts(
            "AssumeRole",
            &[
                ("RoleArn", &arn(&s.account_id, "First")),
                ("RoleSessionName", "one"),
            ],
        )
        .ok(),
    );
    let second_arn = arn(&s.account_id, "Second");
    first
        .sts(
            "AssumeRole",
            &[
                ("RoleArn", &second_arn),
                ("RoleSessionName", "two"),
                ("DurationSeconds", "7200"),
            ],
        )
        .err(400, "InvalidParameter.DurationSeconds");
    let chained = first
        .sts(
            "AssumeRole",
            &[("RoleArn", &second_arn), ("RoleSessionName", "two")],
        )
        .ok();
    let me = session_client(&s.endpoint, &chained)
        .sts("GetCallerIdentity", &[])
        .ok();
    assert_eq!(
        me["Arn"],
        format!("acs:ram::{}:assumed-role/Second/two", s.account_id)
    );
    // The user itself is not named by Second's trust policy.
    u.sts(
        "AssumeRole",
        &[("RoleArn", &second_arn), ("RoleSessionName", "x1")],
    )
    .err(403, "NoPermission");
}

#[test]
fn credentials_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let config = Config {
        data: Some(dir.path().join("state.db")),
        ..Config::ephemeral()
    };
    let s = server_with(config.clone());
    let root = Client::root(&s);
    role(&root, "R", &account_trust(&s.account_id), None);
    let u = user_with(&root, "u", &[ASSUME]);
    let a = u
        .sts(
            "AssumeRole",
            &[
                ("RoleArn", &arn(&s.account_id, "R")),
                ("RoleSessionName", "s1"),
            ],
        )
        .ok();
    drop(s);
    let s = server_with(config);
    session_client(&s.endpoint, &a)
        .sts("GetCallerIdentity", &[])
        .ok();
}
