//! ECS 2014-05-26 (reference/ecs.md): the instance lifecycle, DescribeInstances and its filters,
//! ClientToken and DryRun, instance RAM roles, and who may do what (Forbidden.RAM, PassRole).

use serde_json::Value;

use crate::support::{server, user_with, Client, Overrides, Resp, ECS, ECS_TRUST};

pub const REGION: &str = "cn-hangzhou";
pub const IMAGE: &str = "aliyun_3_x64_20G_alibase_20240528.vhd";
pub const TYPE: &str = "ecs.g7.large";
pub const VSWITCH: &str = "vsw-bp1s5fnvk4gn2tws03624";

const FUNCTION_TRUST: &str = r#"{"Statement":[{"Action":"sts:AssumeRole","Effect":"Allow","Principal":{"Service":["fc.aliyuncs.com"]}}],"Version":"1"}"#;

fn base<'a>() -> Vec<(&'a str, &'a str)> {
    vec![
        ("RegionId", REGION),
        ("ImageId", IMAGE),
        ("InstanceType", TYPE),
        ("VSwitchId", VSWITCH),
    ]
}

fn with<'a>(extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut p = base();
    for (k, v) in extra {
        p.retain(|(bk, _)| bk != k);
        if !v.is_empty() {
            p.push((k, v));
        }
    }
    p
}

pub fn create(c: &Client, extra: &[(&str, &str)]) -> String {
    let v = c.ecs("CreateInstance", &with(extra)).ok();
    v["InstanceId"].as_str().unwrap().to_string()
}

pub fn ecs_role(root: &Client, name: &str) {
    root.ram(
        "CreateRole",
        &[("RoleName", name), ("AssumeRolePolicyDocument", ECS_TRUST)],
    )
    .ok();
}

fn on<'a>(id: &'a str, extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut p = vec![("RegionId", REGION), ("InstanceId", id)];
    p.extend_from_slice(extra);
    p
}

fn describe(c: &Client, extra: &[(&str, &str)]) -> Value {
    let mut p = vec![("RegionId", REGION)];
    p.extend_from_slice(extra);
    c.ecs("DescribeInstances", &p).ok()
}

fn describe_one(c: &Client, id: &str) -> Value {
    let ids = format!(r#"["{id}"]"#);
    let v = describe(c, &[("InstanceIds", &ids)]);
    assert_eq!(v["TotalCount"], 1, "{v}");
    v["Instances"]["Instance"][0].clone()
}

fn ids_of(v: &Value) -> Vec<String> {
    v["Instances"]["Instance"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["InstanceId"].as_str().unwrap().to_string())
        .collect()
}

fn status(c: &Client, id: &str) -> String {
    describe_one(c, id)["Status"].as_str().unwrap().to_string()
}

fn minutes_format(s: &str) -> bool {
    let b = s.as_bytes();
    s.len() == 17
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b'Z'
        && s.chars()
            .enumerate()
            .all(|(i, c)| [4, 7, 10, 13, 16].contains(&i) || c.is_ascii_digit())
}

#[test]
fn create_start_stop_reboot_delete() {
    let s = server();
    let c = Client::root(&s);
    let v = c
        .ecs(
            "CreateInstance",
            &with(&[
                ("InstanceName", "web-01"),
                ("Description", "the web server"),
                ("SecurityGroupId", "sg-bp1fg655nh68xyz9i4ui"),
                ("Tag.1.Key", "env"),
                ("Tag.1.Value", "dev"),
                ("InternetMaxBandwidthOut", "5"),
                ("SystemDisk.Category", "cloud_essd"),
            ]),
        )
        .ok();
    let id = v["InstanceId"].as_str().unwrap().to_string();
    assert!(id.starts_with("i-bp") && id.len() == 22, "{id}");
    assert!(v["OrderId"].is_string() && v.get("TradePrice").is_some());
    assert_eq!(v["RequestId"].as_str().unwrap().len(), 36);

    let i = describe_one(&c, &id);
    assert_eq!(i["Status"], "Stopped", "CreateInstance leaves it Stopped");
    assert_eq!(i["InstanceName"], "web-01");
    assert_eq!(i["Description"], "the web server");
    assert_eq!(i["RegionId"], REGION);
    assert!(i["ZoneId"].as_str().unwrap().starts_with("cn-hangzhou-"));
    assert_eq!(i["InstanceType"], TYPE);
    assert_eq!(i["ImageId"], IMAGE);
    assert_eq!(
        (i["Cpu"].as_i64(), i["Memory"].as_i64()),
        (Some(2), Some(8192))
    );
    assert_eq!(
        i["HostName"],
        format!("iZ{}Z", id.trim_start_matches("i-")).as_str()
    );
    assert!(minutes_format(i["CreationTime"].as_str().unwrap()), "{i}");
    assert_eq!(i["StartTime"], "");
    assert_eq!(i["ExpiredTime"], "2099-12-31T15:59Z");
    assert_eq!(i["InstanceNetworkType"], "vpc");
    assert_eq!(i["InstanceChargeType"], "PostPaid");
    assert_eq!(i["InternetMaxBandwidthOut"], 5);
    assert_eq!(i["OSType"], "linux");
    assert_eq!(i["OSName"], "Alibaba Cloud Linux 3");
    let vpc = &i["VpcAttributes"];
    assert_eq!(vpc["VSwitchId"], VSWITCH);
    assert!(vpc["VpcId"].as_str().unwrap().starts_with("vpc-bp"));
    let ip = vpc["PrivateIpAddress"]["IpAddress"][0].as_str().unwrap();
    let octets: Vec<u8> = ip.split('.').map(|o| o.parse().unwrap()).collect();
    assert!(octets[0] == 172 && (16..=31).contains(&octets[1]), "{ip}");
    assert_eq!(
        i["SecurityGroupIds"]["SecurityGroupId"][0],
        "sg-bp1fg655nh68xyz9i4ui"
    );
    assert_eq!(i["Tags"]["Tag"][0]["TagKey"], "env");
    assert_eq!(i["Tags"]["Tag"][0]["TagValue"], "dev");
    assert_eq!(i["MetadataOptions"]["HttpTokens"], "optional");
    assert_eq!(i["DeletionProtection"], false);
    assert!(i["OperationLocks"]["LockReason"]
        .as_array()
        .unwrap()
        .is_empty());

    c.ecs("StopInstance", &on(&id, &[]))
        .err(403, "IncorrectInstanceStatus");
    c.ecs("RebootInstance", &on(&id, &[]))
        .err(403, "IncorrectInstanceStatus");
    let started = c.ecs("StartInstance", &on(&id, &[])).ok();
    assert_eq!(started.as_object().unwrap().len(), 1, "only RequestId");
    assert_eq!(status(&c, &id), "Running");
    assert!(minutes_format(
        describe_one(&c, &id)["StartTime"].as_str().unwrap()
    ));
    c.ecs("StartInstance", &on(&id, &[]))
        .err(403, "IncorrectInstanceStatus");
    c.ecs("RebootInstance", &on(&id, &[])).ok();
    assert_eq!(status(&c, &id), "Running");
    c.ecs("DeleteInstance", &on(&id, &[]))
        .err(403, "IncorrectInstanceStatus");
    c.ecs("StopInstance", &on(&id, &[("ForceStop", "true")]))
        .ok();
    assert_eq!(status(&c, &id), "Stopped");
    c.ecs("DeleteInstance", &on(&id, &[])).ok();
    assert_eq!(describe(&c, &[])["TotalCount"], 0);
    for action in [
        "StartInstance",
        "StopInstance",
        "RebootInstance",
        "DeleteInstance",
    ] {
        c.ecs(action, &on(&id, &[]))
            .err(404, "InvalidInstanceId.NotFound");
    }
}

#[test]
fn force_delete_running_and_deletion_protection() {
    let s = server();
    let c = Client::root(&s);
    let id = create(&c, &[]);
    c.ecs("StartInstance", &on(&id, &[])).ok();
    c.ecs("DeleteInstance", &on(&id, &[("Force", "false")]))
        .err(403, "IncorrectInstanceStatus");
    c.ecs("DeleteInstance", &on(&id, &[("Force", "true")])).ok();
    let protected = create(&c, &[("DeletionProtection", "true")]);
    assert_eq!(describe_one(&c, &protected)["DeletionProtection"], true);
    c.ecs("DeleteInstance", &on(&protected, &[]))
        .err(403, "InvalidOperation.DeletionProtection");
}

#[test]
fn instances_live_in_their_region() {
    let s = server();
    let c = Client::root(&s);
    let id = create(&c, &[]);
    let other = vec![("RegionId", "cn-shanghai"), ("InstanceId", id.as_str())];
    c.ecs("StartInstance", &other)
        .err(404, "InvalidInstanceId.NotFound");
    // Start/Stop/Reboot/DeleteInstance take no RegionId in the SDK: the id is enough.
    c.ecs("StartInstance", &[("InstanceId", id.as_str())]).ok();
    c.ecs("StopInstance", &[("InstanceId", id.as_str())]).ok();
    let sh = c
        .ecs("DescribeInstances", &[("RegionId", "cn-shanghai")])
        .ok();
    assert_eq!(sh["TotalCount"], 0);
    let in_sh = create(
        &c,
        &[("RegionId", "cn-shanghai"), ("VSwitchId", "vsw-uf6abc")],
    );
    assert!(in_sh.starts_with("i-uf"), "{in_sh}");
    assert!(describe_one(&c, &id)["ZoneId"]
        .as_str()
        .unwrap()
        .starts_with("cn-hangzhou-"));
}

#[test]
fn run_instances_starts_amount_instances() {
    let s = server();
    let c = Client::root(&s);
    let v = c
        .ecs(
            "RunInstances",
            &with(&[("Amount", "3"), ("InstanceName", "batch")]),
        )
        .ok();
    let ids: Vec<String> = v["InstanceIdSets"]["InstanceIdSet"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i.as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), 3);
    let all = describe(&c, &[("PageSize", "100")]);
    let mut ips = Vec::new();
    let mut vpcs = Vec::new();
    for i in all["Instances"]["Instance"].as_array().unwrap() {
        assert_eq!(i["Status"], "Running");
        assert!(minutes_format(i["StartTime"].as_str().unwrap()));
        ips.push(i["VpcAttributes"]["PrivateIpAddress"]["IpAddress"][0].clone());
        vpcs.push(i["VpcAttributes"]["VpcId"].clone());
    }
    ips.sort_by_key(ToString::to_string);
    ips.dedup();
    assert_eq!(ips.len(), 3, "private IPs are unique");
    vpcs.dedup();
    assert_eq!(vpcs.len(), 1, "one VSwitch, one VPC");
    let one = c.ecs("RunInstances", &base()).ok();
    assert_eq!(
        one["InstanceIdSets"]["InstanceIdSet"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    for bad in ["0", "101", "x"] {
        c.ecs("RunInstances", &with(&[("Amount", bad)]))
            .err(400, "InvalidParameter");
    }
    c.ecs(
        "RunInstances",
        &with(&[("Amount", "2"), ("MinAmount", "3")]),
    )
    .err(400, "InvalidParameter");
}

#[test]
fn client_token_makes_creation_idempotent() {
    let s = server();
    let c = Client::root(&s);
    let token = "5d9ea0d5-b2d4-4b5f-a5b2-token-1";
    let first = create(&c, &[("ClientToken", token), ("InstanceName", "web")]);
    let again = create(&c, &[("ClientToken", token), ("InstanceName", "web")]);
    assert_eq!(first, again);
    // The same token signed with V3 and its parameters in another order is the same request.
    let v3 = c
        .clone()
        .v3()
        .ecs(
            "CreateInstance",
            &[
                ("InstanceName", "web"),
                ("ClientToken", token),
                ("VSwitchId", VSWITCH),
                ("InstanceType", TYPE),
                ("ImageId", IMAGE),
                ("RegionId", REGION),
            ],
        )
        .ok();
    assert_eq!(v3["InstanceId"], first.as_str());
    assert_eq!(describe(&c, &[])["TotalCount"], 1);
    c.ecs(
        "CreateInstance",
        &with(&[("ClientToken", token), ("InstanceName", "other")]),
    )
    .err(400, "IdempotentParameterMismatch");
    c.ecs(
        "RunInstances",
        &with(&[("ClientToken", token), ("InstanceName", "web")]),
    )
    .err(400, "IdempotentParameterMismatch");

    let run_token = "run-token-2";
    let a = c
        .ecs(
            "RunInstances",
            &with(&[("Amount", "2"), ("ClientToken", run_token)]),
        )
        .ok();
    let b = c
        .ecs(
            "RunInstances",
            &with(&[("Amount", "2"), ("ClientToken", run_token)]),
        )
        .ok();
    assert_eq!(a["InstanceIdSets"], b["InstanceIdSets"]);
    assert_eq!(describe(&c, &[])["TotalCount"], 3);
    c.ecs(
        "RunInstances",
        &with(&[("Amount", "3"), ("ClientToken", run_token)]),
    )
    .err(400, "IdempotentParameterMismatch");

    let long = "x".repeat(65);
    for bad in [long.as_str(), "ünïcødé", "has space"] {
        c.ecs("CreateInstance", &with(&[("ClientToken", bad)]))
            .err(400, "InvalidClientToken.ValueNotSupported");
    }
}

#[test]
fn dry_run_checks_everything_and_changes_nothing() {
    let s = server();
    let c = Client::root(&s);
    let e = c
        .ecs("CreateInstance", &with(&[("DryRun", "true")]))
        .err(400, "DryRunOperation");
    assert_eq!(
        e["Message"],
        "Request validation has been passed with DryRun flag set."
    );
    c.ecs(
        "RunInstances",
        &with(&[("DryRun", "true"), ("Amount", "5")]),
    )
    .err(400, "DryRunOperation");
    assert_eq!(describe(&c, &[])["TotalCount"], 0);
    // A fault is still a fault under DryRun.
    c.ecs(
        "CreateInstance",
        &with(&[("DryRun", "true"), ("VSwitchId", "sw-1")]),
    )
    .err(404, "InvalidVSwitchId.NotFound");
    let id = create(&c, &[("DryRun", "false")]);
    c.ecs("StartInstance", &on(&id, &[("DryRun", "true")]))
        .err(400, "DryRunOperation");
    assert_eq!(status(&c, &id), "Stopped");
    c.ecs("StopInstance", &on(&id, &[("DryRun", "true")]))
        .err(403, "IncorrectInstanceStatus");
    c.ecs("DeleteInstance", &on(&id, &[("DryRun", "true")]))
        .err(400, "DryRunOperation");
    assert_eq!(status(&c, &id), "Stopped");
    c.ecs("StartInstance", &on(&id, &[])).ok();
    c.ecs("RebootInstance", &on(&id, &[("DryRun", "true")]))
        .err(400, "DryRunOperation");
    c.ecs("StopInstance", &on(&id, &[("DryRun", "true")]))
        .err(400, "DryRunOperation");
    assert_eq!(status(&c, &id), "Running");
}

#[test]
fn parameter_faults_answer_the_real_codes() {
    let s = server();
    let c = Client::root(&s);
    type Case<'a> = (Vec<(&'a str, &'a str)>, u16, &'a str);
    let cases: Vec<Case<'_>> = vec![
        (with(&[("RegionId", "")]), 400, "MissingParameter.RegionId"),
        (
            with(&[("RegionId", "mars-north-1")]),
            404,
            "InvalidRegionId.NotFound",
        ),
        (with(&[("ImageId", "")]), 400, "MissingParameter"),
        (with(&[("InstanceType", "")]), 400, "MissingParameter"),
        (
            with(&[("ImageId", "no such image!")]),
            404,
            "InvalidImageId.NotFound",
        ),
        (
            with(&[("InstanceType", "g7.large")]),
            400,
            "InvalidInstanceType.ValueNotSupported",
        ),
        (
            with(&[("VSwitchId", "sw-123")]),
            404,
            "InvalidVSwitchId.NotFound",
        ),
        (
            with(&[("VSwitchId", "vsw-")]),
            404,
            "InvalidVSwitchId.NotFound",
        ),
        (
            with(&[("SecurityGroupId", "group-1")]),
            404,
            "InvalidSecurityGroupId.NotFound",
        ),
        (
            with(&[("ZoneId", "cn-shanghai-b")]),
            404,
            "InvalidZoneId.NotFound",
        ),
        (
            with(&[("InstanceName", "1abc")]),
            400,
            "InvalidInstanceName.Malformed",
        ),
        (
            with(&[("InstanceName", "a")]),
            400,
            "InvalidInstanceName.Malformed",
        ),
        (
            with(&[("InstanceName", "http://x")]),
            400,
            "InvalidInstanceName.Malformed",
        ),
        (
            with(&[("HostName", "-bad-")]),
            400,
            "InvalidHostName.Malformed",
        ),
        (
            with(&[("HostName", "a..b")]),
            400,
            "InvalidHostName.Malformed",
        ),
        (
            with(&[("Description", "https://x.example")]),
            400,
            "InvalidDescription.Malformed",
        ),
        (
            with(&[("Password", "short")]),
            400,
            "InvalidPassword.Malformed",
        ),
        (
            with(&[("Password", "alllowercase1")]),
            400,
            "InvalidPassword.Malformed",
        ),
        (
            with(&[("Tag.1.Key", "aliyun-x"), ("Tag.1.Value", "v")]),
            400,
            "InvalidTagKey.Malformed",
        ),
        (with(&[("Tag.21.Key", "k")]), 400, "InvalidParameter"),
        (
            with(&[("InstanceChargeType", "Free")]),
            400,
            "InvalidParameter",
        ),
        (with(&[("HttpTokens", "always")]), 400, "InvalidParameter"),
    ];
    for (params, code_status, code) in cases {
        let r = c.ecs("CreateInstance", &params);
        assert_eq!(
            (r.status, r.code()),
            (code_status, code.to_string()),
            "{params:?}: {}",
            r.text
        );
    }
    let e = c
        .ecs("DescribeInstances", &[])
        .err(400, "MissingParameter.RegionId");
    assert_eq!(e["Message"], "The specified RegionId should not be null.");
    assert_eq!(e["HostId"], "ecs.aliyuncs.com");
    assert!(e["Recommend"].as_str().unwrap().contains("product=Ecs"));
    c.ecs("StartInstance", &[("RegionId", REGION)])
        .err(400, "MissingParameter");
    c.ecs(
        "StartInstance",
        &[("InstanceId", "i-x"), ("RegionId", "mars-north-1")],
    )
    .err(404, "InvalidRegionId.NotFound");
    // Accepted shapes: a custom image, a Windows host name, a zone without the dash.
    create(&c, &[("ImageId", "m-bp1g7004ksh0oeuc2jzs")]);
    create(
        &c,
        &[
            (
                "ImageId",
                "win2022_21H2_x64_dtc_en-us_40G_alibase_20240515.vhd",
            ),
            ("HostName", "WIN-APP01"),
            ("Password", "Str0ng!Pass"),
        ],
    );
    create(
        &c,
        &[
            ("RegionId", "ap-southeast-1"),
            ("ZoneId", "ap-southeast-1a"),
        ],
    );
    c.ecs(
        "CreateInstance",
        &with(&[
            (
                "ImageId",
                "win2022_21H2_x64_dtc_en-us_40G_alibase_20240515.vhd",
            ),
            ("HostName", "win.app"),
        ]),
    )
    .err(400, "InvalidHostName.Malformed");
}

#[test]
fn describe_instances_filters_and_pages() {
    let s = server();
    let c = Client::root(&s);
    let web1 = create(
        &c,
        &[
            ("InstanceName", "web-01"),
            ("Tag.1.Key", "env"),
            ("Tag.1.Value", "prod"),
        ],
    );
    let web2 = create(
        &c,
        &[
            ("InstanceName", "web-02"),
            ("Tag.1.Key", "env"),
            ("Tag.1.Value", "dev"),
        ],
    );
    let db = create(
        &c,
        &[
            ("InstanceName", "db-01"),
            ("VSwitchId", "vsw-bp1other"),
            ("InstanceType", "ecs.r7.xlarge"),
            ("ImageId", "ubuntu_22_04_x64_20G_alibase_20240130.vhd"),
            ("ZoneId", "cn-hangzhou-k"),
        ],
    );
    c.ecs("StartInstance", &on(&web1, &[])).ok();

    let names = |extra: &[(&str, &str)]| -> Vec<String> {
        let v = describe(&c, extra);
        let mut got: Vec<String> = v["Instances"]["Instance"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["InstanceName"].as_str().unwrap().to_string())
            .collect();
        got.sort();
        got
    };
    assert_eq!(names(&[]), ["db-01", "web-01", "web-02"]);
    assert_eq!(names(&[("InstanceName", "web*")]), ["web-01", "web-02"]);
    assert_eq!(names(&[("InstanceName", "*-01")]), ["db-01", "web-01"]);
    assert_eq!(names(&[("InstanceName", "web")]), Vec::<String>::new());
    assert_eq!(names(&[("InstanceName", "web-02")]), ["web-02"]);
    assert_eq!(names(&[("Status", "Running")]), ["web-01"]);
    assert_eq!(names(&[("Status", "Stopped")]), ["db-01", "web-02"]);
    assert_eq!(names(&[("VSwitchId", "vsw-bp1other")]), ["db-01"]);
    let db_vpc = describe_one(&c, &db)["VpcAttributes"]["VpcId"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(names(&[("VpcId", &db_vpc)]), ["db-01"]);
    assert_eq!(names(&[("ZoneId", "cn-hangzhou-k")]), ["db-01"]);
    assert_eq!(names(&[("InstanceType", "ecs.r7.xlarge")]), ["db-01"]);
    assert_eq!(
        names(&[("ImageId", "ubuntu_22_04_x64_20G_alibase_20240130.vhd")]),
        ["db-01"]
    );
    assert_eq!(names(&[("Tag.1.Key", "env")]), ["web-01", "web-02"]);
    assert_eq!(
        names(&[("Tag.1.Key", "env"), ("Tag.1.Value", "dev")]),
        ["web-02"]
    );
    let ids = format!(r#"["{web2}","{db}","i-bpnosuchinstance0000"]"#);
    assert_eq!(names(&[("InstanceIds", &ids)]), ["db-01", "web-02"]);
    assert_eq!(
        names(&[("InstanceIds", &ids), ("InstanceName", "web*")]),
        ["web-02"]
    );
    c.ecs(
        "DescribeInstances",
        &[("RegionId", REGION), ("InstanceIds", "i-abc")],
    )
    .err(400, "InvalidInstanceIds.Malformed");
    c.ecs(
        "DescribeInstances",
        &[("RegionId", REGION), ("InstanceIds", "[1,2]")],
    )
    .err(400, "InvalidInstanceIds.Malformed");
    c.ecs(
        "DescribeInstances",
        &[("RegionId", REGION), ("Status", "Sleeping")],
    )
    .err(404, "InvalidStatus.NotFound");

    // PageNumber / PageSize, oldest first.
    let p1 = describe(&c, &[("PageSize", "2")]);
    assert_eq!(
        (
            p1["TotalCount"].as_i64(),
            p1["PageNumber"].as_i64(),
            p1["PageSize"].as_i64()
        ),
        (Some(3), Some(1), Some(2))
    );
    assert_eq!(ids_of(&p1), [web1.clone(), web2.clone()]);
    let p2 = describe(&c, &[("PageSize", "2"), ("PageNumber", "2")]);
    assert_eq!(ids_of(&p2), std::slice::from_ref(&db));
    let p9 = describe(&c, &[("PageNumber", "9")]);
    assert!(ids_of(&p9).is_empty());
    assert_eq!(p9["TotalCount"], 3);
    c.ecs(
        "DescribeInstances",
        &[("RegionId", REGION), ("PageSize", "101")],
    )
    .err(400, "InvalidParameter");
    c.ecs(
        "DescribeInstances",
        &[("RegionId", REGION), ("PageNumber", "0")],
    )
    .err(400, "InvalidParameter");

    // NextToken / MaxResults.
    let t1 = describe(&c, &[("MaxResults", "2")]);
    assert_eq!(ids_of(&t1), [web1, web2]);
    let token = t1["NextToken"].as_str().unwrap().to_string();
    assert!(!token.is_empty());
    let t2 = describe(&c, &[("MaxResults", "2"), ("NextToken", &token)]);
    assert_eq!(ids_of(&t2), [db]);
    assert_eq!(t2["NextToken"], "");
    assert_eq!(describe(&c, &[("MaxResults", "500")])["TotalCount"], 3);
    c.ecs(
        "DescribeInstances",
        &[("RegionId", REGION), ("NextToken", "garbage")],
    )
    .err(400, "InvalidParameter");
}

#[test]
fn describe_instances_in_xml_nests_like_the_service() {
    let s = server();
    let c = Client::root(&s);
    let id = create(&c, &[]);
    let r: Resp = c.call_v1(
        ECS,
        "DescribeInstances",
        &[("RegionId", REGION)],
        &Overrides {
            format: Some("XML".into()),
            ..Overrides::default()
        },
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.text.contains("<DescribeInstancesResponse>"), "{}", r.text);
    assert!(
        r.text.contains(&format!(
            "<Instances><Instance><InstanceId>{id}</InstanceId>"
        )),
        "{}",
        r.text
    );
}

#[test]
fn describe_instance_status_lists_every_status() {
    let s = server();
    let c = Client::root(&s);
    let a = create(&c, &[]);
    let b = create(&c, &[]);
    c.ecs("StartInstance", &on(&a, &[])).ok();
    let v = c
        .ecs("DescribeInstanceStatus", &[("RegionId", REGION)])
        .ok();
    assert_eq!(v["TotalCount"], 2);
    assert_eq!(v["PageNumber"], 1);
    assert_eq!(v["PageSize"], 10);
    let st = &v["InstanceStatuses"]["InstanceStatus"];
    assert_eq!(st[0]["InstanceId"], a.as_str());
    assert_eq!(st[0]["Status"], "Running");
    assert_eq!(st[1]["InstanceId"], b.as_str());
    assert_eq!(st[1]["Status"], "Stopped");
    let only_b = c
        .ecs(
            "DescribeInstanceStatus",
            &[("RegionId", REGION), ("InstanceId.1", &b)],
        )
        .ok();
    assert_eq!(only_b["TotalCount"], 1);
    assert_eq!(
        only_b["InstanceStatuses"]["InstanceStatus"][0]["InstanceId"],
        b.as_str()
    );
    let paged = c
        .ecs(
            "DescribeInstanceStatus",
            &[("RegionId", REGION), ("PageSize", "1"), ("PageNumber", "2")],
        )
        .ok();
    assert_eq!(
        paged["InstanceStatuses"]["InstanceStatus"][0]["InstanceId"],
        b.as_str()
    );
    c.ecs(
        "DescribeInstanceStatus",
        &[("RegionId", REGION), ("PageSize", "51")],
    )
    .err(400, "InvalidParameter");
    c.ecs(
        "DescribeInstanceStatus",
        &[("RegionId", REGION), ("InstanceId.101", &a)],
    )
    .err(400, "InvalidParameter");
}

#[test]
fn create_with_a_role_checks_the_role() {
    let s = server();
    let root = Client::root(&s);
    ecs_role(&root, "EcsRamRoleTest");
    root.ram(
        "CreateRole",
        &[
            ("RoleName", "FcRole"),
            ("AssumeRolePolicyDocument", FUNCTION_TRUST),
        ],
    )
    .ok();
    // RAM names are case-insensitive; the instance records the role as RAM spells it.
    let id = create(&root, &[("RamRoleName", "ecsramroletest")]);
    let ids = format!(r#"["{id}"]"#);
    let v = root
        .ecs(
            "DescribeInstanceRamRole",
            &[("RegionId", REGION), ("InstanceIds", &ids)],
        )
        .ok();
    assert_eq!(v["TotalCount"], 1);
    assert_eq!(v["RegionId"], REGION);
    assert_eq!(
        v["InstanceRamRoleSets"]["InstanceRamRoleSet"][0]["RamRoleName"],
        "EcsRamRoleTest"
    );
    let e = root
        .ecs("CreateInstance", &with(&[("RamRoleName", "NoSuchRole")]))
        .err(404, "InvalidRamRole.NotFound");
    assert_eq!(e["Message"], "The specified RAMRoleName does not exist.");
    let e = root
        .ecs("RunInstances", &with(&[("RamRoleName", "NoSuchRole")]))
        .err(404, "InvalidRamRole.NotFound");
    assert_eq!(
        e["Message"],
        "The specified parameter \"RAMRoleName\" does not exist."
    );
    for action in ["CreateInstance", "RunInstances"] {
        root.ecs(action, &with(&[("RamRoleName", "FcRole")]))
            .err(401, "InvalidRamRole.NotEcsRole");
        root.ecs(
            action,
            &with(&[("RamRoleName", "EcsRamRoleTest"), ("VSwitchId", "")]),
        )
        .err(403, "InvalidNetworkType.MismatchRamRole");
    }
    let run = root
        .ecs(
            "RunInstances",
            &with(&[("RamRoleName", "EcsRamRoleTest"), ("Amount", "2")]),
        )
        .ok();
    let both = run["InstanceIdSets"]["InstanceIdSet"].to_string();
    let v = root
        .ecs(
            "DescribeInstanceRamRole",
            &[("RegionId", REGION), ("InstanceIds", &both)],
        )
        .ok();
    assert_eq!(v["TotalCount"], 2);
}

fn attach(c: &Client, role: &str, ids: &[&str]) -> Resp {
    let list = serde_json::to_string(ids).unwrap();
    c.ecs(
        "AttachInstanceRamRole",
        &[
            ("RegionId", REGION),
            ("RamRoleName", role),
            ("InstanceIds", &list),
        ],
    )
}

fn detach(c: &Client, role: Option<&str>, ids: &[&str]) -> Resp {
    let list = serde_json::to_string(ids).unwrap();
    let mut p = vec![("RegionId", REGION), ("InstanceIds", list.as_str())];
    if let Some(r) = role {
        p.push(("RamRoleName", r));
    }
    c.ecs("DetachInstanceRamRole", &p)
}

#[test]
fn attach_detach_and_describe_instance_ram_roles() {
    let s = server();
    let root = Client::root(&s);
    ecs_role(&root, "EcsRamRoleTest");
    ecs_role(&root, "OtherRole");
    root.ram(
        "CreateRole",
        &[
            ("RoleName", "FcRole"),
            ("AssumeRolePolicyDocument", FUNCTION_TRUST),
        ],
    )
    .ok();
    let a = create(&root, &[]);
    let b = create(&root, &[]);
    let classic = create(&root, &[("VSwitchId", "")]);
    assert_eq!(
        describe_one(&root, &classic)["InstanceNetworkType"],
        "classic"
    );

    let v = attach(&root, "EcsRamRoleTest", &[&a, &b]).ok();
    assert_eq!(v["RamRoleName"], "EcsRamRoleTest");
    assert_eq!(
        (v["TotalCount"].as_i64(), v["FailCount"].as_i64()),
        (Some(2), Some(0))
    );
    let r0 = &v["AttachInstanceRamRoleResults"]["AttachInstanceRamRoleResult"][0];
    assert_eq!(r0["InstanceId"], a.as_str());
    assert_eq!(r0["Success"], true);
    assert_eq!(r0["Code"], "200");
    assert_eq!(r0["Message"], "success");

    // One role per instance: a second attach fails per instance, inside the results.
    let again = attach(&root, "OtherRole", &[&a]).ok();
    assert_eq!(again["FailCount"], 1);
    let r = &again["AttachInstanceRamRoleResults"]["AttachInstanceRamRoleResult"][0];
    assert_eq!(r["Success"], false);
    assert_eq!(r["Code"], "InvalidInstanceId.AlreadyHasRole");

    let by_role = root
        .ecs(
            "DescribeInstanceRamRole",
            &[("RegionId", REGION), ("RamRoleName", "EcsRamRoleTest")],
        )
        .ok();
    assert_eq!(by_role["TotalCount"], 2);
    let paged = root
        .ecs(
            "DescribeInstanceRamRole",
            &[
                ("RegionId", REGION),
                ("RamRoleName", "EcsRamRoleTest"),
                ("PageSize", "1"),
                ("PageNumber", "2"),
            ],
        )
        .ok();
    assert_eq!(paged["TotalCount"], 2);
    assert_eq!(
        paged["InstanceRamRoleSets"]["InstanceRamRoleSet"][0]["InstanceId"],
        b.as_str()
    );
    let none_yet = root
        .ecs(
            "DescribeInstanceRamRole",
            &[("RegionId", REGION), ("RamRoleName", "OtherRole")],
        )
        .ok();
    assert_eq!(none_yet["TotalCount"], 0);

    // Whole-call refusals (ecs.md, AttachInstanceRamRole).
    attach(&root, "NoSuchRole", &[&a]).err(404, "InvalidRamRole.NotFound");
    attach(&root, "FcRole", &[&a]).err(404, "InvalidRamRole.NotEcsRole");
    attach(&root, "OtherRole", &["i-bpnosuchinstance0000"]).err(404, "InvalidInstanceId.NotFound");
    attach(&root, "OtherRole", &[&classic]).err(403, "InvalidNetworkType.MismatchRamRole");
    attach(&root, "OtherRole", &[]).err(400, "InvalidInstanceIds.Malformed");
    root.ecs(
        "AttachInstanceRamRole",
        &[
            ("RegionId", REGION),
            ("RamRoleName", "OtherRole"),
            ("InstanceIds", "i-x"),
        ],
    )
    .err(400, "InvalidInstanceIds.Malformed");
    root.ecs(
        "AttachInstanceRamRole",
        &[("RegionId", REGION), ("RamRoleName", "OtherRole")],
    )
    .err(400, "MissingParameter.InstanceIds");
    root.ecs(
        "AttachInstanceRamRole",
        &[("RegionId", REGION), ("InstanceIds", r#"["i-x"]"#)],
    )
    .err(400, "MissingParameter.RamRoleName");
    let long_policy = format!(
        r#"{{"Version":"1","Statement":[{{"Effect":"Allow","Action":"oss:GetObject","Resource":"acs:oss:*:*:{}"}}]}}"#,
        "b".repeat(1000)
    );
    root.ecs(
        "AttachInstanceRamRole",
        &[
            ("RegionId", REGION),
            ("RamRoleName", "OtherRole"),
            ("InstanceIds", &serde_json::to_string(&[&classic]).unwrap()),
            ("Policy", &long_policy),
        ],
    )
    .err(400, "InvalidParameter");

    // DescribeInstanceRamRole refusals.
    root.ecs("DescribeInstanceRamRole", &[("RegionId", REGION)])
        .err(403, "InvalidParameter.AllEmpty");
    root.ecs(
        "DescribeInstanceRamRole",
        &[("RegionId", REGION), ("RamRoleName", "NoSuchRole")],
    )
    .err(404, "InvalidRamRole.NotFound");
    root.ecs(
        "DescribeInstanceRamRole",
        &[
            ("RegionId", REGION),
            ("InstanceIds", r#"["i-bpnosuchinstance0000"]"#),
        ],
    )
    .err(404, "InvalidInstanceId.NotFound");
    root.ecs(
        "DescribeInstanceRamRole",
        &[("RegionId", REGION), ("InstanceIds", "nope")],
    )
    .err(400, "InvalidInstanceIds.Malformed");

    // Detach: the named role, or whichever is attached; a mismatch fails per instance.
    let wrong = detach(&root, Some("OtherRole"), &[&a]).ok();
    assert_eq!(wrong["FailCount"], 1);
    assert_eq!(
        wrong["DetachInstanceRamRoleResults"]["DetachInstanceRamRoleResult"][0]["Code"],
        "InvalidRamRole.NotAttached"
    );
    let d = detach(&root, Some("EcsRamRoleTest"), &[&a]).ok();
    assert_eq!(
        (d["TotalCount"].as_i64(), d["FailCount"].as_i64()),
        (Some(1), Some(0))
    );
    assert_eq!(d["RamRoleName"], "EcsRamRoleTest");
    let res = &d["DetachInstanceRamRoleResults"]["DetachInstanceRamRoleResult"][0];
    assert_eq!(res["Success"], true);
    assert_eq!(res["Code"], "200");
    assert_eq!(res["Message"], "Success");
    assert_eq!(
        res["InstanceRamRoleSets"]["InstanceRamRoleSet"][0]["RamRoleName"],
        "EcsRamRoleTest"
    );
    let d2 = detach(&root, None, &[&a, &b]).ok();
    assert_eq!(
        (d2["TotalCount"].as_i64(), d2["FailCount"].as_i64()),
        (Some(2), Some(1))
    );
    assert_eq!(d2["RamRoleName"], "EcsRamRoleTest");
    let ab = serde_json::to_string(&[&a, &b]).unwrap();
    let after = root
        .ecs(
            "DescribeInstanceRamRole",
            &[("RegionId", REGION), ("InstanceIds", &ab)],
        )
        .ok();
    assert_eq!(after["TotalCount"], 2);
    for item in after["InstanceRamRoleSets"]["InstanceRamRoleSet"]
        .as_array()
        .unwrap()
    {
        assert_eq!(item["RamRoleName"], "", "no role left: {after}");
    }
    detach(&root, None, &[&classic]).err(403, "InvalidNetworkType.MismatchRamRole");
    detach(&root, None, &["i-bpnosuchinstance0000"]).err(404, "InvalidInstanceId.NotFound");
    // Now free, `a` takes another role.
    attach(&root, "OtherRole", &[&a]).ok();
}

const ECS_FULL: (&str, &str) = ("System", "AliyunECSFullAccess");

fn custom_policy(root: &Client, name: &str, document: &str) {
    root.ram(
        "CreatePolicy",
        &[("PolicyName", name), ("PolicyDocument", document)],
    )
    .ok();
}

#[test]
fn ecs_denials_are_forbidden_ram_with_detail() {
    let s = server();
    let root = Client::root(&s);
    let id = create(&root, &[]);
    let nobody = user_with(&root, "nobody", &[]);
    let e = nobody
        .ecs("CreateInstance", &base())
        .err(403, "Forbidden.RAM");
    assert!(e["Message"]
        .as_str()
        .unwrap()
        .starts_with("User not authorized to operate on the specified resource"));
    let d = &e["AccessDeniedDetail"];
    assert_eq!(d["AuthAction"], "ecs:CreateInstance");
    assert_eq!(d["NoPermissionType"], "ImplicitDeny");
    nobody
        .ecs("DescribeInstances", &[("RegionId", REGION)])
        .err(403, "Forbidden.RAM");
    nobody
        .ecs("StartInstance", &on(&id, &[]))
        .err(403, "Forbidden.RAM");

    // A grant on one instance's ARN covers that instance only.
    let other = create(&root, &[]);
    custom_policy(
        &root,
        "StartOne",
        &format!(
            r#"{{"Version":"1","Statement":[{{"Effect":"Allow","Action":"ecs:StartInstance","Resource":"acs:ecs:{REGION}:{}:instance/{id}"}}]}}"#,
            s.account_id
        ),
    );
    root.ram(
        "AttachPolicyToUser",
        &[
            ("UserName", "nobody"),
            ("PolicyType", "Custom"),
            ("PolicyName", "StartOne"),
        ],
    )
    .ok();
    nobody.ecs("StartInstance", &on(&id, &[])).ok();
    let e = nobody
        .ecs("StartInstance", &on(&other, &[]))
        .err(403, "Forbidden.RAM");
    assert_eq!(e["AccessDeniedDetail"]["AuthAction"], "ecs:StartInstance");

    // Read-only ECS access describes but does not create.
    let reader = user_with(&root, "reader", &[("System", "AliyunECSReadOnlyAccess")]);
    assert_eq!(describe(&reader, &[])["TotalCount"], 2);
    reader
        .ecs("CreateInstance", &base())
        .err(403, "Forbidden.RAM");
}

#[test]
fn passing_a_role_needs_pass_role() {
    let s = server();
    let root = Client::root(&s);
    ecs_role(&root, "EcsRamRoleTest");
    ecs_role(&root, "OtherRole");
    let ops = user_with(&root, "ecs-operator", &[ECS_FULL]);
    // ECS access alone creates instances, but cannot hand them a role.
    let plain = create(&ops, &[]);
    for action in ["CreateInstance", "RunInstances"] {
        let e = ops
            .ecs(action, &with(&[("RamRoleName", "EcsRamRoleTest")]))
            .err(403, "InvalidUser.PassRoleForbidden");
        assert!(e["Message"]
            .as_str()
            .unwrap()
            .starts_with("The RAM user does not have the privilege to pass a RAM role."));
        let d = &e["AccessDeniedDetail"];
        assert_eq!(d["AuthAction"], "ram:PassRole");
        assert_eq!(d["AuthPrincipalType"], "SubUser");
        assert_eq!(d["NoPermissionType"], "ImplicitDeny");
    }
    attach(&ops, "EcsRamRoleTest", &[&plain]).err(403, "InvalidUser.PassRoleForbidden");
    // PassRole is checked before the role is looked up: no probing for role names.
    ops.ecs("CreateInstance", &with(&[("RamRoleName", "NoSuchRole")]))
        .err(403, "InvalidUser.PassRoleForbidden");

    // seed 000: the administrator grants PassRole on that one role; no restart needed.
    custom_policy(
        &root,
        "PassEcsRamRoleTest",
        r#"{"Statement":[{"Effect":"Allow","Action":"ram:PassRole","Resource":"acs:ram:*:*:role/EcsRamRoleTest"}],"Version":"1"}"#,
    );
    root.ram(
        "AttachPolicyToUser",
        &[
            ("UserName", "ecs-operator"),
            ("PolicyType", "Custom"),
            ("PolicyName", "PassEcsRamRoleTest"),
        ],
    )
    .ok();
    let with_role = create(&ops, &[("RamRoleName", "EcsRamRoleTest")]);
    attach(&ops, "EcsRamRoleTest", &[&plain]).ok();
    ops.ecs("CreateInstance", &with(&[("RamRoleName", "OtherRole")]))
        .err(403, "InvalidUser.PassRoleForbidden");
    // Taking the role away is guarded the same way.
    detach(&ops, None, &[&with_role]).ok();
    let other = create(&root, &[("RamRoleName", "OtherRole")]);
    detach(&ops, None, &[&other]).err(403, "InvalidUser.PassRoleForbidden");

    // An explicit deny wins over the grant.
    custom_policy(
        &root,
        "DenyPass",
        r#"{"Statement":[{"Effect":"Deny","Action":"ram:PassRole","Resource":"*"}],"Version":"1"}"#,
    );
    root.ram(
        "AttachPolicyToUser",
        &[
            ("UserName", "ecs-operator"),
            ("PolicyType", "Custom"),
            ("PolicyName", "DenyPass"),
        ],
    )
    .ok();
    let e = ops
        .ecs(
            "CreateInstance",
            &with(&[("RamRoleName", "EcsRamRoleTest")]),
        )
        .err(403, "InvalidUser.PassRoleForbidden");
    assert_eq!(e["AccessDeniedDetail"]["NoPermissionType"], "ExplicitDeny");
}

#[test]
fn ecs_answers_both_signatures() {
    let s = server();
    let c = Client::root(&s).v3();
    let id = create(&c, &[]);
    c.ecs("StartInstance", &on(&id, &[])).ok();
    assert_eq!(status(&c, &id), "Running");
}

#[test]
fn reset_forgets_instances() {
    let s = server();
    let c = Client::root(&s);
    create(&c, &[]);
    crate::support::raw("POST", &format!("{}/_acsemu/reset", s.endpoint), None);
    assert_eq!(describe(&c, &[])["TotalCount"], 0);
}
