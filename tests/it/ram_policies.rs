//! RAM policies: system policies, custom policies and their versions, attachments to roles,
//! users and groups, and their effect on authorization.

use serde_json::Value;

use crate::support::{raw, server, user_with, Client, ECS_TRUST};

const ALLOW_LIST_USERS: &str =
    r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"ram:ListUsers","Resource":"*"}]}"#;
const ALLOW_GET_USER: &str =
    r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"ram:GetUser","Resource":"*"}]}"#;
const ALLOW_ECS: &str =
    r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"ecs:*","Resource":"*"}]}"#;

const SYSTEM_POLICIES: [&str; 11] = [
    "AdministratorAccess",
    "AliyunECSFullAccess",
    "AliyunECSReadOnlyAccess",
    "AliyunOSSFullAccess",
    "AliyunOSSReadOnlyAccess",
    "AliyunRAMFullAccess",
    "AliyunRAMReadOnlyAccess",
    "AliyunSTSAssumeRoleAccess",
    "AliyunVPCFullAccess",
    "AliyunVPCReadOnlyAccess",
    "ReadOnlyAccess",
];

fn create_policy(c: &Client, name: &str, doc: &str) -> Value {
    c.ram(
        "CreatePolicy",
        &[("PolicyName", name), ("PolicyDocument", doc)],
    )
    .ok()
}

fn names(v: &Value, outer: &str, inner: &str, field: &str) -> Vec<String> {
    v[outer][inner]
        .as_array()
        .unwrap_or_else(|| panic!("no {outer}.{inner}[] in {v}"))
        .iter()
        .map(|p| p[field].as_str().unwrap().to_string())
        .collect()
}

fn version_ids(c: &Client, policy: &str) -> Vec<String> {
    let v = c.ram("ListPolicyVersions", &[("PolicyName", policy)]).ok();
    names(&v, "PolicyVersions", "PolicyVersion", "VersionId")
}

fn attach(
    c: &Client,
    action: &str,
    who: (&str, &str),
    policy: (&str, &str),
) -> crate::support::Resp {
    c.ram(
        action,
        &[who, ("PolicyType", policy.0), ("PolicyName", policy.1)],
    )
}

#[test]
fn system_policies_are_seeded_and_survive_reset() {
    let s = server();
    let c = Client::root(&s);
    let all = c.ram("ListPolicies", &[("PolicyType", "System")]).ok();
    assert_eq!(
        names(&all, "Policies", "Policy", "PolicyName"),
        SYSTEM_POLICIES
    );
    assert_eq!(all["IsTruncated"], false);
    for p in all["Policies"]["Policy"].as_array().unwrap() {
        assert_eq!(p["PolicyType"], "System");
        assert_eq!(p["DefaultVersion"], "v1");
        assert_eq!(p["AttachmentCount"], 0);
        assert_eq!(p["CreateDate"], "2015-04-28T16:00:00Z");
    }

    // The verified documents (reference/ram.md).
    let ecs = c
        .ram(
            "GetPolicy",
            &[
                ("PolicyName", "AliyunECSFullAccess"),
                ("PolicyType", "System"),
            ],
        )
        .ok();
    assert_eq!(ecs["Policy"]["PolicyType"], "System");
    assert_eq!(ecs["DefaultPolicyVersion"]["VersionId"], "v1");
    assert_eq!(ecs["DefaultPolicyVersion"]["IsDefaultVersion"], true);
    assert_eq!(
        ecs["DefaultPolicyVersion"]["PolicyDocument"],
        r#"{"Version":"1","Statement":[{"Action":"ecs:*","Resource":"*","Effect":"Allow"},{"Action":["vpc:DescribeVpcs","vpc:DescribeVSwitches"],"Resource":"*","Effect":"Allow"}]}"#
    );
    let ro = c
        .ram("GetPolicy", &[("PolicyName", "AliyunECSReadOnlyAccess")])
        .ok();
    assert_eq!(
        ro["DefaultPolicyVersion"]["PolicyDocument"],
        r#"{"Version":"1","Statement":[{"Action":"ecs:Describe*","Resource":"*","Effect":"Allow"},{"Action":"ecs:List*","Resource":"*","Effect":"Allow"},{"Action":["vpc:DescribeVpcs","vpc:DescribeVSwitches"],"Resource":"*","Effect":"Allow"}]}"#
    );
    // Every seeded document is one the policy engine accepts.
    for name in SYSTEM_POLICIES {
        let p = c.ram("GetPolicy", &[("PolicyName", name)]).ok();
        let doc = p["DefaultPolicyVersion"]["PolicyDocument"]
            .as_str()
            .unwrap();
        acsemu::auth::policy::parse(doc, acsemu::auth::policy::DocumentKind::Permission)
            .unwrap_or_else(|e| panic!("{name}: {}", e.message));
    }
    c.ram(
        "GetPolicy",
        &[
            ("PolicyName", "AliyunECSFullAccess"),
            ("PolicyType", "Custom"),
        ],
    )
    .err(404, "EntityNotExist.Policy");

    raw("POST", &format!("{}/_acsemu/reset", s.endpoint), None).ok();
    let after = c.ram("ListPolicies", &[("PolicyType", "System")]).ok();
    assert_eq!(
        names(&after, "Policies", "Policy", "PolicyName"),
        SYSTEM_POLICIES
    );
}

#[test]
fn system_policies_cannot_be_changed() {
    let s = server();
    let c = Client::root(&s);
    let name = ("PolicyName", "AdministratorAccess");
    c.ram(
        "CreatePolicyVersion",
        &[name, ("PolicyDocument", ALLOW_ECS)],
    )
    .err(404, "EntityNotExist.Policy");
    c.ram("DeletePolicy", &[name])
        .err(404, "EntityNotExist.Policy");
    c.ram("SetDefaultPolicyVersion", &[name, ("VersionId", "v1")])
        .err(404, "EntityNotExist.Policy");
    c.ram("DeletePolicyVersion", &[name, ("VersionId", "v1")])
        .err(404, "EntityNotExist.Policy");
    let still = c.ram("GetPolicy", &[name]).ok();
    assert_eq!(still["Policy"]["DefaultVersion"], "v1");
}

#[test]
fn custom_policy_lifecycle() {
    let s = server();
    for c in [Client::root(&s), Client::root(&s).v3()] {
        let created = c
            .ram(
                "CreatePolicy",
                &[
                    ("PolicyName", "ListUsersOnly"),
                    ("PolicyDocument", ALLOW_LIST_USERS),
                    ("Description", "lists users"),
                ],
            )
            .ok();
        let p = &created["Policy"];
        assert_eq!(p["PolicyName"], "ListUsersOnly");
        assert_eq!(p["PolicyType"], "Custom");
        assert_eq!(p["Description"], "lists users");
        assert_eq!(p["DefaultVersion"], "v1");
        let created_at = p["CreateDate"].as_str().unwrap();
        assert!(
            acsemu::clock::parse_iso(created_at).is_some(),
            "{created_at}"
        );

        c.ram(
            "CreatePolicy",
            &[
                ("PolicyName", "listusersonly"),
                ("PolicyDocument", ALLOW_LIST_USERS),
            ],
        )
        .err(409, "EntityAlreadyExists.Policy");

        let got = c.ram("GetPolicy", &[("PolicyName", "ListUsersOnly")]).ok();
        assert_eq!(got["Policy"]["AttachmentCount"], 0);
        assert_eq!(got["Policy"]["UpdateDate"], created_at);
        assert_eq!(
            got["DefaultPolicyVersion"],
            serde_json::json!({
                "VersionId": "v1",
                "IsDefaultVersion": true,
                "PolicyDocument": ALLOW_LIST_USERS,
                "CreateDate": created_at,
            })
        );
        let custom = c.ram("ListPolicies", &[("PolicyType", "Custom")]).ok();
        assert_eq!(
            names(&custom, "Policies", "Policy", "PolicyName"),
            ["ListUsersOnly"]
        );

        c.ram("DeletePolicy", &[("PolicyName", "ListUsersOnly")])
            .ok();
        c.ram("GetPolicy", &[("PolicyName", "ListUsersOnly")])
            .err(404, "EntityNotExist.Policy");
        c.ram("DeletePolicy", &[("PolicyName", "ListUsersOnly")])
            .err(404, "EntityNotExist.Policy");
    }
}

#[test]
fn policy_parameters_are_checked() {
    let s = server();
    let c = Client::root(&s);
    let create = |name: &str, doc: &str| {
        c.ram(
            "CreatePolicy",
            &[("PolicyName", name), ("PolicyDocument", doc)],
        )
    };
    create("has space", ALLOW_ECS).err(400, "InvalidParameter.PolicyName.InvalidChars");
    create("has.dot", ALLOW_ECS).err(400, "InvalidParameter.PolicyName.InvalidChars");
    create(&"p".repeat(129), ALLOW_ECS).err(400, "InvalidParameter.PolicyName.Length");
    create(&"p".repeat(128), ALLOW_ECS).ok();
    c.ram("CreatePolicy", &[("PolicyDocument", ALLOW_ECS)])
        .err(400, "MissingParameter");
    c.ram("CreatePolicy", &[("PolicyName", "NoDoc")])
        .err(400, "MissingParameter");
    create("BadJson", "{not json").err(400, "MalformedPolicyDocument");
    create("BadVersion", r#"{"Version":"2","Statement":[]}"#).err(400, "MalformedPolicyDocument");
    let huge = format!(
        r#"{{"Version":"1","Statement":[{{"Effect":"Allow","Action":"ecs:Describe*","Resource":"{}"}}]}}"#,
        "a".repeat(6200)
    );
    create("Huge", &huge).err(400, "MalformedPolicyDocument.Length");
    c.ram(
        "CreatePolicy",
        &[
            ("PolicyName", "LongDescription"),
            ("PolicyDocument", ALLOW_ECS),
            ("Description", &"d".repeat(1025)),
        ],
    )
    .err(400, "InvalidParameter.Description.Length");
    c.ram(
        "GetPolicy",
        &[
            ("PolicyName", "AdministratorAccess"),
            ("PolicyType", "Managed"),
        ],
    )
    .err(400, "InvalidParameter.PolicyType");
    c.ram("ListPolicies", &[("PolicyType", "system")])
        .err(400, "InvalidParameter.PolicyType");
    c.ram("GetPolicy", &[]).err(400, "MissingParameter");
    for bad in ["1", "V1", "v0", "vx"] {
        c.ram(
            "GetPolicyVersion",
            &[("PolicyName", "AdministratorAccess"), ("VersionId", bad)],
        )
        .err(400, "InvalidParameter.VersionId.Format");
    }
    c.ram(
        "CreatePolicyVersion",
        &[
            ("PolicyName", "Huge"),
            ("PolicyDocument", ALLOW_ECS),
            ("RotateStrategy", "Sometimes"),
        ],
    )
    .err(400, "InvalidParameter");
    c.ram(
        "CreatePolicyVersion",
        &[
            ("PolicyName", "Huge"),
            ("PolicyDocument", ALLOW_ECS),
            ("SetAsDefault", "yes"),
        ],
    )
    .err(400, "InvalidParameter");
}

#[test]
fn versions_default_and_deletion() {
    let s = server();
    let c = Client::root(&s);
    create_policy(&c, "Versioned", ALLOW_LIST_USERS);
    let name = ("PolicyName", "Versioned");

    let v2 = c
        .ram(
            "CreatePolicyVersion",
            &[name, ("PolicyDocument", ALLOW_GET_USER)],
        )
        .ok();
    assert_eq!(v2["PolicyVersion"]["VersionId"], "v2");
    assert_eq!(v2["PolicyVersion"]["IsDefaultVersion"], false);
    assert_eq!(v2["PolicyVersion"]["PolicyDocument"], ALLOW_GET_USER);
    let v3 = c
        .ram(
            "CreatePolicyVersion",
            &[
                name,
                ("PolicyDocument", ALLOW_ECS),
                ("SetAsDefault", "true"),
            ],
        )
        .ok();
    assert_eq!(v3["PolicyVersion"]["VersionId"], "v3");
    assert_eq!(v3["PolicyVersion"]["IsDefaultVersion"], true);

    let p = c.ram("GetPolicy", &[name]).ok();
    assert_eq!(p["Policy"]["DefaultVersion"], "v3");
    assert_eq!(p["DefaultPolicyVersion"]["VersionId"], "v3");
    assert_eq!(p["DefaultPolicyVersion"]["PolicyDocument"], ALLOW_ECS);

    let listed = c.ram("ListPolicyVersions", &[name]).ok();
    let flags: Vec<(String, bool)> = listed["PolicyVersions"]["PolicyVersion"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["VersionId"].as_str().unwrap().to_string(),
                v["IsDefaultVersion"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        flags,
        [
            ("v1".to_string(), false),
            ("v2".to_string(), false),
            ("v3".to_string(), true)
        ]
    );

    let got = c.ram("GetPolicyVersion", &[name, ("VersionId", "v2")]).ok();
    assert_eq!(got["PolicyVersion"]["PolicyDocument"], ALLOW_GET_USER);
    assert_eq!(got["PolicyVersion"]["IsDefaultVersion"], false);
    c.ram("GetPolicyVersion", &[name, ("VersionId", "v9")])
        .err(404, "EntityNotExist.Policy.Version");
    c.ram(
        "GetPolicyVersion",
        &[("PolicyName", "Nope"), ("VersionId", "v1")],
    )
    .err(404, "EntityNotExist.Policy");

    c.ram("SetDefaultPolicyVersion", &[name, ("VersionId", "v2")])
        .ok();
    c.ram("SetDefaultPolicyVersion", &[name, ("VersionId", "v7")])
        .err(404, "EntityNotExist.Policy.Version");
    let p = c.ram("GetPolicy", &[name]).ok();
    assert_eq!(p["Policy"]["DefaultVersion"], "v2");

    c.ram("DeletePolicyVersion", &[name, ("VersionId", "v2")])
        .err(409, "DeleteConflict.Policy.Version.Default");
    c.ram("DeletePolicyVersion", &[name, ("VersionId", "v3")])
        .ok();
    c.ram("DeletePolicyVersion", &[name, ("VersionId", "v3")])
        .err(404, "EntityNotExist.Policy.Version");
    assert_eq!(version_ids(&c, "Versioned"), ["v1", "v2"]);

    // Version numbers are never reused.
    let v4 = c
        .ram(
            "CreatePolicyVersion",
            &[name, ("PolicyDocument", ALLOW_ECS)],
        )
        .ok();
    assert_eq!(v4["PolicyVersion"]["VersionId"], "v4");

    c.ram("DeletePolicy", &[name])
        .err(409, "DeleteConflict.Policy.Version");
    c.ram("DeletePolicy", &[name, ("CascadingDelete", "false")])
        .err(409, "DeleteConflict.Policy.Version");
    c.ram("DeletePolicy", &[name, ("CascadingDelete", "true")])
        .ok();
    c.ram("ListPolicyVersions", &[name])
        .err(404, "EntityNotExist.Policy");
    // The name is free again, and its versions start over.
    create_policy(&c, "Versioned", ALLOW_ECS);
    assert_eq!(version_ids(&c, "Versioned"), ["v1"]);
}

#[test]
fn at_most_five_versions_unless_rotating() {
    let s = server();
    let c = Client::root(&s);
    create_policy(&c, "Rotating", ALLOW_ECS);
    let name = ("PolicyName", "Rotating");
    for _ in 2..=5 {
        c.ram(
            "CreatePolicyVersion",
            &[name, ("PolicyDocument", ALLOW_ECS)],
        )
        .ok();
    }
    assert_eq!(version_ids(&c, "Rotating"), ["v1", "v2", "v3", "v4", "v5"]);
    c.ram(
        "CreatePolicyVersion",
        &[name, ("PolicyDocument", ALLOW_ECS)],
    )
    .err(409, "LimitExceeded.Policy.Version");
    c.ram(
        "CreatePolicyVersion",
        &[
            name,
            ("PolicyDocument", ALLOW_ECS),
            ("RotateStrategy", "None"),
        ],
    )
    .err(409, "LimitExceeded.Policy.Version");
    // The default v1 is kept; the oldest non-default version goes.
    let v6 = c
        .ram(
            "CreatePolicyVersion",
            &[
                name,
                ("PolicyDocument", ALLOW_LIST_USERS),
                (
                    "RotateStrategy",
                    "DeleteOldestNonDefaultVersionWhenLimitExceeded",
                ),
                ("SetAsDefault", "true"),
            ],
        )
        .ok();
    assert_eq!(v6["PolicyVersion"]["VersionId"], "v6");
    assert_eq!(version_ids(&c, "Rotating"), ["v1", "v3", "v4", "v5", "v6"]);
    let p = c.ram("GetPolicy", &[name]).ok();
    assert_eq!(p["Policy"]["DefaultVersion"], "v6");
}

#[test]
fn list_policies_pages_through_both_types() {
    let s = server();
    let c = Client::root(&s);
    for n in ["Zeta", "alpha", "Mid"] {
        create_policy(&c, n, ALLOW_ECS);
    }
    let custom = c.ram("ListPolicies", &[("PolicyType", "Custom")]).ok();
    assert_eq!(
        names(&custom, "Policies", "Policy", "PolicyName"),
        ["alpha", "Mid", "Zeta"]
    );

    let mut seen = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        let mut p = vec![("MaxItems", "4")];
        if let Some(m) = &marker {
            p.push(("Marker", m.as_str()));
        }
        let page = c.ram("ListPolicies", &p).ok();
        let got = names(&page, "Policies", "Policy", "PolicyName");
        assert!(got.len() <= 4);
        seen.extend(got);
        if page["IsTruncated"] == false {
            assert!(page.get("Marker").is_none());
            break;
        }
        marker = Some(page["Marker"].as_str().unwrap().to_string());
    }
    let mut expected = vec!["alpha", "Mid", "Zeta"];
    expected.extend(SYSTEM_POLICIES);
    assert_eq!(seen, expected);

    c.ram("ListPolicies", &[("Marker", "!!")])
        .err(400, "InvalidParameter.Marker");
    c.ram("ListPolicies", &[("MaxItems", "1001")])
        .err(400, "InvalidParameter");
}

#[test]
fn role_attachments() {
    let s = server();
    let c = Client::root(&s);
    let role = c
        .ram(
            "CreateRole",
            &[
                ("RoleName", "EcsRole"),
                ("AssumeRolePolicyDocument", ECS_TRUST),
                ("Description", "for instances"),
            ],
        )
        .ok();
    let who = ("RoleName", "EcsRole");
    let ecs = ("System", "AliyunECSFullAccess");
    attach(&c, "AttachPolicyToRole", who, ecs).ok();
    attach(&c, "AttachPolicyToRole", who, ecs).err(409, "EntityAlreadyExists.Role.Policy");
    attach(&c, "AttachPolicyToRole", ("RoleName", "NoRole"), ecs).err(404, "EntityNotExist.Role");
    attach(&c, "AttachPolicyToRole", who, ("System", "NoSuchPolicy"))
        .err(404, "EntityNotExist.Policy");
    attach(
        &c,
        "AttachPolicyToRole",
        who,
        ("Custom", "AliyunECSFullAccess"),
    )
    .err(404, "EntityNotExist.Policy");
    attach(
        &c,
        "AttachPolicyToRole",
        who,
        ("Both", "AliyunECSFullAccess"),
    )
    .err(400, "InvalidParameter.PolicyType");
    c.ram(
        "AttachPolicyToRole",
        &[who, ("PolicyName", "AliyunECSFullAccess")],
    )
    .err(400, "MissingParameter");

    let listed = c.ram("ListPoliciesForRole", &[who]).ok();
    let items = listed["Policies"]["Policy"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["PolicyName"], "AliyunECSFullAccess");
    assert_eq!(items[0]["PolicyType"], "System");
    assert_eq!(items[0]["DefaultVersion"], "v1");
    assert!(items[0]["Description"].as_str().is_some());
    assert!(acsemu::clock::parse_iso(items[0]["AttachDate"].as_str().unwrap()).is_some());
    c.ram("ListPoliciesForRole", &[("RoleName", "NoRole")])
        .err(404, "EntityNotExist.Role");

    let p = c
        .ram("GetPolicy", &[("PolicyName", "AliyunECSFullAccess")])
        .ok();
    assert_eq!(p["Policy"]["AttachmentCount"], 1);
    let entities = c
        .ram(
            "ListEntitiesForPolicy",
            &[
                ("PolicyName", "AliyunECSFullAccess"),
                ("PolicyType", "System"),
            ],
        )
        .ok();
    let r = &entities["Roles"]["Role"][0];
    assert_eq!(r["RoleName"], "EcsRole");
    assert_eq!(r["RoleId"], role["Role"]["RoleId"]);
    assert_eq!(r["Arn"], format!("acs:ram::{}:role/EcsRole", s.account_id));
    assert_eq!(r["Description"], "for instances");
    assert_eq!(entities["Users"]["User"], serde_json::json!([]));
    assert_eq!(entities["Groups"]["Group"], serde_json::json!([]));

    c.ram("DeleteRole", &[who])
        .err(409, "DeleteConflict.Role.Policy");
    attach(&c, "DetachPolicyFromRole", who, ecs).ok();
    attach(&c, "DetachPolicyFromRole", who, ecs).err(404, "EntityNotExist.Role.Policy");
    attach(&c, "DetachPolicyFromRole", ("RoleName", "NoRole"), ecs).err(404, "EntityNotExist.Role");
    attach(&c, "DetachPolicyFromRole", who, ("System", "NoSuchPolicy"))
        .err(404, "EntityNotExist.Policy");
    let listed = c.ram("ListPoliciesForRole", &[who]).ok();
    assert_eq!(listed["Policies"]["Policy"], serde_json::json!([]));
    let p = c
        .ram("GetPolicy", &[("PolicyName", "AliyunECSFullAccess")])
        .ok();
    assert_eq!(p["Policy"]["AttachmentCount"], 0);
    c.ram("DeleteRole", &[who]).ok();
}

#[test]
fn delete_policy_is_refused_while_attached() {
    let s = server();
    let c = Client::root(&s);
    create_policy(&c, "Shared", ALLOW_ECS);
    let policy = ("Custom", "Shared");
    let name = ("PolicyName", "Shared");
    c.ram("CreateUser", &[("UserName", "u1")]).ok();
    c.ram("CreateGroup", &[("GroupName", "g1")]).ok();
    c.ram(
        "CreateRole",
        &[("RoleName", "r1"), ("AssumeRolePolicyDocument", ECS_TRUST)],
    )
    .ok();
    attach(&c, "AttachPolicyToUser", ("UserName", "u1"), policy).ok();
    attach(&c, "AttachPolicyToGroup", ("GroupName", "g1"), policy).ok();
    attach(&c, "AttachPolicyToRole", ("RoleName", "r1"), policy).ok();

    let listed = c.ram("ListPolicies", &[("PolicyType", "Custom")]).ok();
    assert_eq!(listed["Policies"]["Policy"][0]["AttachmentCount"], 3);
    let entities = c.ram("ListEntitiesForPolicy", &[name]).ok();
    assert_eq!(names(&entities, "Users", "User", "UserName"), ["u1"]);
    assert_eq!(names(&entities, "Groups", "Group", "GroupName"), ["g1"]);
    assert_eq!(names(&entities, "Roles", "Role", "RoleName"), ["r1"]);
    assert!(entities["Users"]["User"][0]["UserId"].as_str().is_some());

    c.ram("DeletePolicy", &[name, ("CascadingDelete", "true")])
        .err(409, "DeleteConflict.Policy.User");
    attach(&c, "DetachPolicyFromUser", ("UserName", "u1"), policy).ok();
    c.ram("DeletePolicy", &[name])
        .err(409, "DeleteConflict.Policy.Group");
    attach(&c, "DetachPolicyFromGroup", ("GroupName", "g1"), policy).ok();
    c.ram("DeletePolicy", &[name])
        .err(409, "DeleteConflict.Role.Policy");
    attach(&c, "DetachPolicyFromRole", ("RoleName", "r1"), policy).ok();
    c.ram("DeletePolicy", &[name]).ok();
    c.ram("ListEntitiesForPolicy", &[name])
        .err(404, "EntityNotExist.Policy");
}

#[test]
fn user_attachments() {
    let s = server();
    let c = Client::root(&s);
    c.ram(
        "CreateUser",
        &[("UserName", "alice"), ("DisplayName", "Alice")],
    )
    .ok();
    let who = ("UserName", "alice");
    let ro = ("System", "ReadOnlyAccess");
    attach(&c, "AttachPolicyToUser", who, ro).ok();
    attach(&c, "AttachPolicyToUser", who, ro).err(409, "EntityAlreadyExists.User.Policy");
    attach(&c, "AttachPolicyToUser", ("UserName", "bob"), ro).err(404, "EntityNotExist.User");
    attach(&c, "AttachPolicyToUser", who, ("Custom", "Nope")).err(404, "EntityNotExist.Policy");
    let listed = c.ram("ListPoliciesForUser", &[who]).ok();
    assert_eq!(
        names(&listed, "Policies", "Policy", "PolicyName"),
        ["ReadOnlyAccess"]
    );
    c.ram("ListPoliciesForUser", &[("UserName", "bob")])
        .err(404, "EntityNotExist.User");
    let entities = c
        .ram("ListEntitiesForPolicy", &[("PolicyName", "ReadOnlyAccess")])
        .ok();
    assert_eq!(entities["Users"]["User"][0]["DisplayName"], "Alice");
    attach(&c, "DetachPolicyFromUser", who, ro).ok();
    attach(&c, "DetachPolicyFromUser", who, ro).err(404, "EntityNotExist.User.Policy");
    attach(&c, "DetachPolicyFromUser", ("UserName", "bob"), ro).err(404, "EntityNotExist.User");
}

#[test]
fn attachments_and_default_versions_decide_what_a_user_may_do() {
    let s = server();
    let root = Client::root(&s);
    create_policy(&root, "CanListUsers", ALLOW_LIST_USERS);
    let alice = user_with(&root, "alice", &[("Custom", "CanListUsers")]);
    alice.ram("ListUsers", &[]).ok();
    alice
        .ram("GetUser", &[("UserName", "alice")])
        .err(403, "NoPermission");

    // A new default version replaces what the policy grants, from the next call on.
    root.ram(
        "CreatePolicyVersion",
        &[
            ("PolicyName", "CanListUsers"),
            ("PolicyDocument", ALLOW_GET_USER),
            ("SetAsDefault", "true"),
        ],
    )
    .ok();
    alice.ram("GetUser", &[("UserName", "alice")]).ok();
    alice.ram("ListUsers", &[]).err(403, "NoPermission");
    root.ram(
        "SetDefaultPolicyVersion",
        &[("PolicyName", "CanListUsers"), ("VersionId", "v1")],
    )
    .ok();
    alice.ram("ListUsers", &[]).ok();

    // A detached policy grants nothing.
    attach(
        &root,
        "DetachPolicyFromUser",
        ("UserName", "alice"),
        ("Custom", "CanListUsers"),
    )
    .ok();
    alice.ram("ListUsers", &[]).err(403, "NoPermission");

    // Policies of the user's groups count too.
    root.ram("CreateGroup", &[("GroupName", "readers")]).ok();
    attach(
        &root,
        "AttachPolicyToGroup",
        ("GroupName", "readers"),
        ("System", "AliyunRAMReadOnlyAccess"),
    )
    .ok();
    alice.ram("ListUsers", &[]).err(403, "NoPermission");
    root.ram(
        "AddUserToGroup",
        &[("GroupName", "readers"), ("UserName", "alice")],
    )
    .ok();
    alice.ram("ListUsers", &[]).ok();
    alice.ram("ListPolicies", &[]).ok();
    alice
        .ram(
            "CreatePolicy",
            &[("PolicyName", "Mine"), ("PolicyDocument", ALLOW_ECS)],
        )
        .err(403, "NoPermission");
}

#[test]
fn policy_actions_check_the_policy_resource() {
    let s = server();
    let root = Client::root(&s);
    let only_mine = format!(
        r#"{{"Version":"1","Statement":[{{"Effect":"Allow","Action":["ram:CreatePolicy","ram:GetPolicy","ram:AttachPolicyToRole"],"Resource":["acs:ram:*:{}:policy/Team-*","acs:ram:*:{}:role/TeamRole"]}}]}}"#,
        s.account_id, s.account_id
    );
    create_policy(&root, "TeamAdmin", &only_mine);
    root.ram(
        "CreateRole",
        &[
            ("RoleName", "TeamRole"),
            ("AssumeRolePolicyDocument", ECS_TRUST),
        ],
    )
    .ok();
    root.ram(
        "CreateRole",
        &[
            ("RoleName", "OtherRole"),
            ("AssumeRolePolicyDocument", ECS_TRUST),
        ],
    )
    .ok();
    let bob = user_with(&root, "bob", &[("Custom", "TeamAdmin")]);
    create_policy(&bob, "Team-Ecs", ALLOW_ECS);
    bob.ram("GetPolicy", &[("PolicyName", "Team-Ecs")]).ok();
    bob.ram(
        "CreatePolicy",
        &[("PolicyName", "Other"), ("PolicyDocument", ALLOW_ECS)],
    )
    .err(403, "NoPermission");
    bob.ram("GetPolicy", &[("PolicyName", "AdministratorAccess")])
        .err(403, "NoPermission");
    attach(
        &bob,
        "AttachPolicyToRole",
        ("RoleName", "TeamRole"),
        ("Custom", "Team-Ecs"),
    )
    .ok();
    let denied = attach(
        &bob,
        "AttachPolicyToRole",
        ("RoleName", "OtherRole"),
        ("Custom", "Team-Ecs"),
    )
    .err(403, "NoPermission");
    assert_eq!(
        denied["AccessDeniedDetail"]["AuthAction"],
        "ram:AttachPolicyToRole"
    );
}

#[test]
fn xml_answers_nest_lists_like_the_real_service() {
    let s = server();
    let c = Client::root(&s);
    c.ram("CreateUser", &[("UserName", "xml")]).ok();
    attach(
        &c,
        "AttachPolicyToUser",
        ("UserName", "xml"),
        ("System", "AliyunOSSFullAccess"),
    )
    .ok();
    let r = c.call_v1(
        crate::support::RAM,
        "ListPoliciesForUser",
        &[("UserName", "xml")],
        &crate::support::Overrides {
            format: Some("XML".into()),
            ..Default::default()
        },
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(
        r.text.contains("<ListPoliciesForUserResponse>"),
        "{}",
        r.text
    );
    assert!(
        r.text
            .contains("<Policies><Policy><PolicyName>AliyunOSSFullAccess</PolicyName>"),
        "{}",
        r.text
    );
}
