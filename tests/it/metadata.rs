//! The instance metadata service (reference/metadata.md): paths, role credentials that are
//! real STS sessions rotating on the virtual clock, hardened mode, how the asking instance is
//! chosen, absolute-form (proxy) requests and the metadata-only listener.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use acsemu::config::Config;
use acsemu::testing::TestServer;
use serde_json::Value;

use crate::ecs_instances::{create, ecs_role, REGION};
use crate::support::{advance_clock, server, server_with, Client, Resp};

const ROLE: &str = "EcsRamRoleTest";

fn http() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(20))
        .no_proxy()
        .build()
        .unwrap()
}

fn into_resp(r: reqwest::blocking::Response) -> Resp {
    let status = r.status().as_u16();
    let content_type = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    Resp {
        status,
        text: r.text().unwrap(),
        content_type,
    }
}

/// A metadata GET; `instance` goes in X-Acsemu-Instance-Id, `token` in the hardened header.
fn meta(base: &str, path: &str, instance: Option<&str>, token: Option<&str>) -> Resp {
    let mut req = http().get(format!("{base}/latest/meta-data/{path}"));
    if let Some(i) = instance {
        req = req.header("X-Acsemu-Instance-Id", i);
    }
    if let Some(t) = token {
        req = req.header("X-aliyun-ecs-metadata-token", t);
    }
    into_resp(req.send().unwrap())
}

fn put_token(base: &str, ttl: Option<&str>) -> Resp {
    let mut req = http().put(format!("{base}/latest/api/token"));
    if let Some(t) = ttl {
        req = req.header("X-aliyun-ecs-metadata-token-ttl-seconds", t);
    }
    into_resp(req.send().unwrap())
}

#[track_caller]
fn text(r: &Resp) -> String {
    assert_eq!(r.status, 200, "expected 200, got {}: {}", r.status, r.text);
    assert!(
        r.content_type.starts_with("text/plain"),
        "{}",
        r.content_type
    );
    r.text.clone()
}

/// A Running VPC instance with the ECS role attached.
fn running_with_role(root: &Client) -> String {
    ecs_role(root, ROLE);
    let id = create(root, &[("RamRoleName", ROLE)]);
    root.ecs(
        "StartInstance",
        &[("RegionId", REGION), ("InstanceId", &id)],
    )
    .ok();
    id
}

fn creds(s: &TestServer, id: &str) -> Value {
    let r = meta(
        &s.endpoint,
        &format!("ram/security-credentials/{ROLE}"),
        Some(id),
        None,
    );
    serde_json::from_str(&text(&r)).unwrap()
}

fn signer(s: &TestServer, c: &Value) -> Client {
    Client::new(
        &s.endpoint,
        c["AccessKeyId"].as_str().unwrap(),
        c["AccessKeySecret"].as_str().unwrap(),
        c["SecurityToken"].as_str(),
    )
}

#[test]
fn every_path_of_the_instance() {
    let s = server();
    let root = Client::root(&s);
    let id = running_with_role(&root);
    let ids = format!(r#"["{id}"]"#);
    let d = root
        .ecs(
            "DescribeInstances",
            &[("RegionId", REGION), ("InstanceIds", &ids)],
        )
        .ok();
    let i = &d["Instances"]["Instance"][0];
    let get = |p: &str| text(&meta(&s.endpoint, p, Some(&id), None));
    let listing = get("");
    for entry in [
        "instance-id",
        "region-id",
        "zone-id",
        "hostname",
        "private-ipv4",
        "mac",
        "image-id",
        "instance/",
        "vpc-id",
        "vswitch-id",
        "owner-account-id",
        "serial-number",
        "ram/",
    ] {
        assert!(listing.lines().any(|l| l == entry), "{entry} in {listing}");
    }
    assert_eq!(
        text(&into_resp(
            http()
                .get(format!("{}/latest/meta-data", s.endpoint))
                .header("X-Acsemu-Instance-Id", &id)
                .send()
                .unwrap()
        )),
        listing
    );
    assert_eq!(get("instance-id"), id);
    assert_eq!(get("region-id"), REGION);
    assert_eq!(get("zone-id"), i["ZoneId"].as_str().unwrap());
    assert_eq!(get("hostname"), i["HostName"].as_str().unwrap());
    assert_eq!(
        get("private-ipv4"),
        i["VpcAttributes"]["PrivateIpAddress"]["IpAddress"][0]
            .as_str()
            .unwrap()
    );
    let mac = get("mac");
    assert!(mac.starts_with("00:16:3e:") && mac.len() == 17, "{mac}");
    assert_eq!(get("image-id"), i["ImageId"].as_str().unwrap());
    assert_eq!(get("instance/"), "instance-type");
    assert_eq!(
        get("instance/instance-type"),
        i["InstanceType"].as_str().unwrap()
    );
    assert_eq!(get("vpc-id"), i["VpcAttributes"]["VpcId"].as_str().unwrap());
    assert_eq!(
        get("vswitch-id"),
        i["VpcAttributes"]["VSwitchId"].as_str().unwrap()
    );
    assert_eq!(get("owner-account-id"), s.account_id);
    assert_eq!(get("serial-number"), i["SerialNumber"].as_str().unwrap());
    assert_eq!(get("network-type"), "vpc");
    assert_eq!(get("ram/"), "security-credentials/");
    assert_eq!(
        get("ram/security-credentials/"),
        ROLE,
        "the role name, no slash"
    );
    assert_eq!(get("ram/security-credentials"), ROLE);
    let missing = meta(&s.endpoint, "no-such-entry", Some(&id), None);
    assert_eq!(missing.status, 404);
    assert!(missing.content_type.starts_with("text/plain"));
}

#[test]
fn credentials_are_a_real_session_of_the_role() {
    let s = server();
    let root = Client::root(&s);
    let id = running_with_role(&root);
    let raw = text(&meta(
        &s.endpoint,
        &format!("ram/security-credentials/{ROLE}"),
        Some(&id),
        None,
    ));
    let c: Value = serde_json::from_str(&raw).unwrap();
    let keys: Vec<&str> = c.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "AccessKeyId",
            "AccessKeySecret",
            "Expiration",
            "SecurityToken",
            "LastUpdated",
            "Code"
        ]
    );
    assert_eq!(c["Code"], "Success");
    assert!(c["AccessKeyId"].as_str().unwrap().starts_with("STS."));
    assert!(c["SecurityToken"].as_str().unwrap().starts_with("CAIS"));
    let exp = c["Expiration"].as_str().unwrap();
    let updated = c["LastUpdated"].as_str().unwrap();
    let parse = |t: &str| chrono::NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%SZ").unwrap();
    assert_eq!((parse(exp) - parse(updated)).num_seconds(), 3600);
    let left = (parse(exp).and_utc() - chrono::Utc::now()).num_seconds();
    assert!((3590..=3600).contains(&left), "{left}");

    // Asking again hands out the same session.
    assert_eq!(creds(&s, &id)["AccessKeyId"], c["AccessKeyId"]);

    let me = signer(&s, &c).sts("GetCallerIdentity", &[]).ok();
    assert_eq!(
        me["Arn"],
        format!("acs:ram::{}:assumed-role/{ROLE}/{id}", s.account_id)
    );
    assert_eq!(me["IdentityType"], "AssumedRoleUser");
    let v3 = signer(&s, &c).v3().sts("GetCallerIdentity", &[]).ok();
    assert_eq!(v3["Arn"], me["Arn"]);

    // The session acts with the role's policies, and a change counts at once (seed 000).
    let session = signer(&s, &c);
    session
        .ram("GetRole", &[("RoleName", ROLE)])
        .err(403, "NoPermission");
    root.ram(
        "AttachPolicyToRole",
        &[
            ("RoleName", ROLE),
            ("PolicyType", "System"),
            ("PolicyName", "AliyunRAMReadOnlyAccess"),
        ],
    )
    .ok();
    session.ram("GetRole", &[("RoleName", ROLE)]).ok();
}

#[test]
fn attach_policy_narrows_the_instance_credentials() {
    let s = server();
    let root = Client::root(&s);
    ecs_role(&root, ROLE);
    root.ram(
        "AttachPolicyToRole",
        &[
            ("RoleName", ROLE),
            ("PolicyType", "System"),
            ("PolicyName", "AliyunRAMReadOnlyAccess"),
        ],
    )
    .ok();
    let id = create(&root, &[]);
    root.ecs(
        "StartInstance",
        &[("RegionId", REGION), ("InstanceId", &id)],
    )
    .ok();
    root.ecs(
        "AttachInstanceRamRole",
        &[
            ("RegionId", REGION),
            ("RamRoleName", ROLE),
            ("InstanceIds", &format!(r#"["{id}"]"#)),
            (
                "Policy",
                r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"ram:ListRoles","Resource":"*"}]}"#,
            ),
        ],
    )
    .ok();
    let session = signer(&s, &creds(&s, &id));
    session.ram("ListRoles", &[]).ok();
    session
        .ram("GetRole", &[("RoleName", ROLE)])
        .err(403, "NoPermission");
}

#[test]
fn credentials_rotate_on_the_virtual_clock() {
    let s = server();
    let root = Client::root(&s);
    let id = running_with_role(&root);
    let first = creds(&s, &id);
    advance_clock(&s.endpoint, 1700);
    assert_eq!(
        creds(&s, &id)["AccessKeyId"],
        first["AccessKeyId"],
        "more than 30 minutes left: the same credential"
    );
    advance_clock(&s.endpoint, 160);
    let second = creds(&s, &id);
    assert_ne!(second["AccessKeyId"], first["AccessKeyId"], "rotated");
    assert_ne!(second["SecurityToken"], first["SecurityToken"]);
    let clock = crate::support::raw("GET", &format!("{}/_acsemu/clock", s.endpoint), None).ok();
    assert_eq!(second["LastUpdated"], clock["now"], "issued now");
    assert_eq!(creds(&s, &id)["AccessKeyId"], second["AccessKeyId"]);
    // Both sign during the overlap.
    signer(&s, &first).sts("GetCallerIdentity", &[]).ok();
    signer(&s, &second).sts("GetCallerIdentity", &[]).ok();
    // Past the first one's Expiration only the second signs.
    advance_clock(&s.endpoint, 1800);
    signer(&s, &first)
        .sts("GetCallerIdentity", &[])
        .err(400, "InvalidSecurityToken.Expired");
    signer(&s, &second).sts("GetCallerIdentity", &[]).ok();
    // And a later read rotates again once the second nears its end.
    advance_clock(&s.endpoint, 1600);
    let third = creds(&s, &id);
    assert_ne!(third["AccessKeyId"], second["AccessKeyId"]);
}

#[test]
fn credentials_404_without_a_usable_role() {
    let s = server();
    let root = Client::root(&s);
    let id = running_with_role(&root);
    let not_found = |path: &str, instance: &str| {
        let r = meta(&s.endpoint, path, Some(instance), None);
        assert_eq!(r.status, 404, "{path}: {}", r.text);
        assert!(r.content_type.starts_with("text/plain"));
        r.text
    };
    let creds_path = format!("ram/security-credentials/{ROLE}");
    not_found("ram/security-credentials/OtherRole", &id);
    not_found("ram/security-credentials/ecsramroletest", &id);
    // No role attached.
    let bare = create(&root, &[]);
    root.ecs(
        "StartInstance",
        &[("RegionId", REGION), ("InstanceId", &bare)],
    )
    .ok();
    assert!(not_found("ram/security-credentials/", &bare).contains("no RAM role"));
    not_found(&creds_path, &bare);
    // Detached.
    root.ecs(
        "DetachInstanceRamRole",
        &[
            ("RegionId", REGION),
            ("InstanceIds", &format!(r#"["{id}"]"#)),
        ],
    )
    .ok();
    not_found("ram/security-credentials/", &id);
    not_found(&creds_path, &id);
    // Stopped.
    let stopped = create(&root, &[("RamRoleName", ROLE)]);
    assert!(not_found(&creds_path, &stopped).contains("Stopped"));
    not_found("instance-id", &stopped);
    // Unknown instance.
    assert!(not_found("instance-id", "i-bpnosuchinstance0000").contains("i-bpnosuchinstance0000"));
    // A role deleted after it was attached.
    let again = running_with_role_named(&root, "ShortLived");
    root.ram("DeleteRole", &[("RoleName", "ShortLived")]).ok();
    not_found("ram/security-credentials/ShortLived", &again);
}

fn running_with_role_named(root: &Client, role: &str) -> String {
    ecs_role(root, role);
    let id = create(root, &[("RamRoleName", role)]);
    root.ecs(
        "StartInstance",
        &[("RegionId", REGION), ("InstanceId", &id)],
    )
    .ok();
    id
}

#[test]
fn hardened_tokens() {
    let s = server();
    let root = Client::root(&s);
    let id = running_with_role(&root);
    for bad in [None, Some("0"), Some("21601"), Some("ten")] {
        assert_eq!(put_token(&s.endpoint, bad).status, 400, "{bad:?}");
    }
    let r = http()
        .get(format!("{}/latest/api/token", s.endpoint))
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 405);
    let token = text(&put_token(&s.endpoint, Some("60")));
    assert!(token.len() >= 32);
    assert_eq!(
        text(&meta(&s.endpoint, "instance-id", Some(&id), Some(&token))),
        id
    );
    // Optional by default: no token is fine, a wrong one is not.
    assert_eq!(text(&meta(&s.endpoint, "instance-id", Some(&id), None)), id);
    assert_eq!(
        meta(&s.endpoint, "instance-id", Some(&id), Some("forged")).status,
        401
    );
    advance_clock(&s.endpoint, 61);
    assert_eq!(
        meta(&s.endpoint, "instance-id", Some(&id), Some(&token)).status,
        401
    );

    // HttpTokens=required on the instance makes the token mandatory for it.
    let strict = create(&root, &[("HttpTokens", "required")]);
    root.ecs(
        "StartInstance",
        &[("RegionId", REGION), ("InstanceId", &strict)],
    )
    .ok();
    assert_eq!(
        meta(&s.endpoint, "instance-id", Some(&strict), None).status,
        401
    );
    let t = text(&put_token(&s.endpoint, Some("21600")));
    assert_eq!(
        text(&meta(&s.endpoint, "instance-id", Some(&strict), Some(&t))),
        strict
    );
    // HttpEndpoint=disabled turns the service off for that instance.
    let off = create(&root, &[("HttpEndpoint", "disabled")]);
    root.ecs(
        "StartInstance",
        &[("RegionId", REGION), ("InstanceId", &off)],
    )
    .ok();
    assert_eq!(
        meta(&s.endpoint, "instance-id", Some(&off), None).status,
        404
    );
}

#[test]
fn hardened_mode_makes_tokens_mandatory() {
    let s = server_with(Config {
        metadata_hardened: true,
        ..Config::ephemeral()
    });
    let root = Client::root(&s);
    let id = running_with_role(&root);
    let r = meta(&s.endpoint, "instance-id", Some(&id), None);
    assert_eq!(r.status, 401, "{}", r.text);
    let token = text(&put_token(&s.endpoint, Some("300")));
    assert_eq!(
        text(&meta(&s.endpoint, "instance-id", Some(&id), Some(&token))),
        id
    );
    let c: Value = serde_json::from_str(&text(&meta(
        &s.endpoint,
        &format!("ram/security-credentials/{ROLE}"),
        Some(&id),
        Some(&token),
    )))
    .unwrap();
    assert_eq!(c["Code"], "Success");
}

/// Gives the instance the caller's own address, as if the request came from inside it.
fn set_private_ip(s: &TestServer, id: &str, ip: &str) {
    let conn = s.state.store.conn().unwrap();
    conn.execute(
        "UPDATE instances SET private_ip = ?2 WHERE instance_id = ?1",
        [id, ip],
    )
    .unwrap();
}

#[test]
fn which_instance_is_asking() {
    let s = server();
    let root = Client::root(&s);
    // No instance: a 404 that says how to choose.
    let r = meta(&s.endpoint, "instance-id", None, None);
    assert_eq!(r.status, 404);
    assert!(r.text.contains("X-Acsemu-Instance-Id"), "{}", r.text);
    assert!(r.text.contains("--metadata-instance"), "{}", r.text);
    // 4. The one running instance with a role.
    let a = running_with_role(&root);
    let plain = create(&root, &[]);
    root.ecs(
        "StartInstance",
        &[("RegionId", REGION), ("InstanceId", &plain)],
    )
    .ok();
    assert_eq!(text(&meta(&s.endpoint, "instance-id", None, None)), a);
    assert_eq!(
        text(&meta(&s.endpoint, "ram/security-credentials/", None, None)),
        ROLE
    );
    // Two of them: ambiguous.
    let b = running_with_role_named(&root, "SecondRole");
    let r = meta(&s.endpoint, "instance-id", None, None);
    assert_eq!(r.status, 404);
    assert!(r.text.contains("2 Running instances"), "{}", r.text);
    // 2. The source address beats that.
    set_private_ip(&s, &plain, "127.0.0.1");
    assert_eq!(text(&meta(&s.endpoint, "instance-id", None, None)), plain);
    // 1. The header beats everything.
    assert_eq!(text(&meta(&s.endpoint, "instance-id", Some(&b), None)), b);
}

#[test]
fn a_configured_instance_that_does_not_exist_says_so() {
    let s = server_with(Config {
        metadata_instance: Some("i-bpconfigured000000000".into()),
        ..Config::ephemeral()
    });
    let root = Client::root(&s);
    let a = running_with_role(&root);
    // 3. comes before 4.: even with one running instance, the configured one is named.
    let r = meta(&s.endpoint, "instance-id", None, None);
    assert_eq!(r.status, 404);
    assert!(r.text.contains("i-bpconfigured000000000"), "{}", r.text);
    // 1. still comes first.
    assert_eq!(text(&meta(&s.endpoint, "instance-id", Some(&a), None)), a);
}

#[test]
fn configured_instance_is_used() {
    // The id is only known after creation, so the server is built on a database file and
    // restarted with the flag.
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("state.db");
    let first = server_with(Config {
        data: Some(data.clone()),
        ..Config::ephemeral()
    });
    let root = Client::root(&first);
    let a = running_with_role(&root);
    let _b = running_with_role_named(&root, "Another");
    first.stop();
    let s = server_with(Config {
        data: Some(data),
        metadata_instance: Some(a.clone()),
        ..Config::ephemeral()
    });
    assert_eq!(text(&meta(&s.endpoint, "instance-id", None, None)), a);
    let c: Value = serde_json::from_str(&text(&meta(
        &s.endpoint,
        &format!("ram/security-credentials/{ROLE}"),
        None,
        None,
    )))
    .unwrap();
    assert_eq!(c["Code"], "Success");
}

/// One HTTP/1.1 exchange on a raw socket, to send absolute-form targets.
fn raw_exchange(addr: std::net::SocketAddr, request: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut out = String::new();
    stream.read_to_string(&mut out).unwrap();
    let status = out
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = out.split("\r\n\r\n").nth(1).unwrap_or_default().to_string();
    (status, body)
}

#[test]
fn absolute_form_targets_as_a_proxy_sends_them() {
    let s = server();
    let root = Client::root(&s);
    let id = running_with_role(&root);
    let (status, token) = raw_exchange(
        s.addr,
        "PUT http://100.100.100.200/latest/api/token HTTP/1.1\r\nHost: 100.100.100.200\r\nX-aliyun-ecs-metadata-token-ttl-seconds: 21600\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(status, 200);
    let (status, body) = raw_exchange(
        s.addr,
        &format!("GET http://100.100.100.200/latest/meta-data/ram/security-credentials/ HTTP/1.1\r\nHost: 100.100.100.200\r\nX-aliyun-ecs-metadata-token: {token}\r\nConnection: close\r\n\r\n"),
    );
    assert_eq!((status, body.as_str()), (200, ROLE));
    // reqwest through acsemu as its HTTP proxy.
    let proxied = reqwest::blocking::Client::builder()
        .proxy(reqwest::Proxy::http(&s.endpoint).unwrap())
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    let r = proxied
        .get(format!(
            "http://100.100.100.200/latest/meta-data/ram/security-credentials/{ROLE}"
        ))
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let c: Value = r.json().unwrap();
    assert_eq!(c["Code"], "Success");
    let me = signer(&s, &c).sts("GetCallerIdentity", &[]).ok();
    assert_eq!(
        me["Arn"],
        format!("acs:ram::{}:assumed-role/{ROLE}/{id}", s.account_id)
    );
    let r = proxied
        .get("http://100.100.100.200/latest/meta-data/instance-id")
        .header("X-Acsemu-Instance-Id", &id)
        .send()
        .unwrap();
    assert_eq!(r.text().unwrap(), id);
}

#[test]
fn metadata_only_listener() {
    let s = server_with(Config {
        metadata_listen: Some("127.0.0.1:0".parse().unwrap()),
        ..Config::ephemeral()
    });
    let root = Client::root(&s);
    let id = running_with_role(&root);
    let addr = s
        .state
        .metadata
        .listener()
        .expect("metadata listener bound");
    assert_ne!(addr, s.addr);
    let base = format!("http://{addr}");
    assert_eq!(text(&meta(&base, "instance-id", None, None)), id);
    let token = text(&put_token(&base, Some("100")));
    assert_eq!(text(&meta(&base, "instance-id", None, Some(&token))), id);
    // Nothing but metadata there.
    for path in [
        "/_acsemu/health",
        "/",
        "/?Action=GetCallerIdentity&Version=2015-04-01",
    ] {
        let r = into_resp(http().get(format!("{base}{path}")).send().unwrap());
        assert_eq!(r.status, 404, "{path}: {}", r.text);
    }
    // The API port serves metadata too.
    assert_eq!(text(&meta(&s.endpoint, "instance-id", None, None)), id);
}
