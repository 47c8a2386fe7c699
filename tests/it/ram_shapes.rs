//! Every RAM answer carries exactly the fields its description in openapi/ram.json lists
//! (`Marker` only when a page is truncated), so the description and the code cannot drift.

use std::collections::BTreeSet;

use acsemu::protocol::params::ProductDoc;
use serde_json::Value;

use crate::support::{server, Client, ECS_TRUST};

const DOC: &str =
    r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"ecs:Describe*","Resource":"*"}]}"#;

/// `{"A":{"B":[{"C":1}]}}` -> `A.B[].C`.
fn paths(prefix: &str, v: &Value, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(m) => {
            for (k, child) in m {
                let p = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                paths(&p, child, out);
            }
        }
        Value::Array(items) => {
            for item in items {
                paths(&format!("{prefix}[]"), item, out);
            }
        }
        _ => {
            out.insert(prefix.to_string());
        }
    }
}

#[test]
fn responses_match_their_descriptions() {
    let text = acsemu::catalog::DOCS
        .iter()
        .find(|(c, _)| *c == "ram")
        .unwrap()
        .1;
    let doc = ProductDoc::load(text).unwrap();
    let s = server();
    let c = Client::root(&s);
    let mut checked = BTreeSet::new();
    let mut call = |action: &str, params: &[(&str, &str)]| {
        let v = c.ram(action, params).ok();
        let mut got = BTreeSet::new();
        paths("", &v, &mut got);
        let described: BTreeSet<String> = doc.actions[action].response.iter().cloned().collect();
        let undocumented: Vec<_> = got.difference(&described).collect();
        assert!(
            undocumented.is_empty(),
            "{action} answers undocumented {undocumented:?}: {v}"
        );
        let missing: Vec<_> = described
            .difference(&got)
            .filter(|p| *p != "Marker")
            .collect();
        assert!(missing.is_empty(), "{action} lacks {missing:?}: {v}");
        checked.insert(action.to_string());
    };

    call(
        "CreateUser",
        &[
            ("UserName", "u1"),
            ("DisplayName", "U"),
            ("MobilePhone", "86-18600008888"),
            ("Email", "u@example.com"),
            ("Comments", "c"),
        ],
    );
    call("CreateUser", &[("UserName", "u2")]);
    call("GetUser", &[("UserName", "u1")]);
    call("UpdateUser", &[("UserName", "u2"), ("NewComments", "x")]);
    call("ListUsers", &[("MaxItems", "1")]);
    call("CreateAccessKey", &[("UserName", "u1")]);
    call("ListAccessKeys", &[("UserName", "u1")]);
    call("CreateGroup", &[("GroupName", "g1"), ("Comments", "c")]);
    call("CreateGroup", &[("GroupName", "g2")]);
    call("GetGroup", &[("GroupName", "g1")]);
    call("UpdateGroup", &[("GroupName", "g2"), ("NewComments", "x")]);
    call("ListGroups", &[("MaxItems", "1")]);
    call("AddUserToGroup", &[("GroupName", "g1"), ("UserName", "u1")]);
    call("AddUserToGroup", &[("GroupName", "g1"), ("UserName", "u2")]);
    call("ListGroupsForUser", &[("UserName", "u1")]);
    call(
        "ListUsersForGroup",
        &[("GroupName", "g1"), ("MaxItems", "1")],
    );
    call(
        "CreatePolicy",
        &[
            ("PolicyName", "P1"),
            ("PolicyDocument", DOC),
            ("Description", "d"),
        ],
    );
    call(
        "CreatePolicyVersion",
        &[("PolicyName", "P1"), ("PolicyDocument", DOC)],
    );
    call("GetPolicy", &[("PolicyName", "P1")]);
    call("ListPolicies", &[("MaxItems", "1")]);
    call(
        "GetPolicyVersion",
        &[("PolicyName", "P1"), ("VersionId", "v2")],
    );
    call("ListPolicyVersions", &[("PolicyName", "P1")]);
    c.ram(
        "CreateRole",
        &[("RoleName", "r1"), ("AssumeRolePolicyDocument", ECS_TRUST)],
    )
    .ok();
    let p1 = [("PolicyType", "Custom"), ("PolicyName", "P1")];
    call("AttachPolicyToRole", &[p1[0], p1[1], ("RoleName", "r1")]);
    call("AttachPolicyToUser", &[p1[0], p1[1], ("UserName", "u1")]);
    call("AttachPolicyToGroup", &[p1[0], p1[1], ("GroupName", "g1")]);
    call("ListPoliciesForRole", &[("RoleName", "r1")]);
    call("ListPoliciesForUser", &[("UserName", "u1")]);
    call("ListPoliciesForGroup", &[("GroupName", "g1")]);
    call("ListEntitiesForPolicy", &[("PolicyName", "P1")]);
    call("DetachPolicyFromRole", &[p1[0], p1[1], ("RoleName", "r1")]);
    call("DetachPolicyFromUser", &[p1[0], p1[1], ("UserName", "u1")]);
    call(
        "DetachPolicyFromGroup",
        &[p1[0], p1[1], ("GroupName", "g1")],
    );
    call(
        "SetDefaultPolicyVersion",
        &[("PolicyName", "P1"), ("VersionId", "v2")],
    );
    call(
        "DeletePolicyVersion",
        &[("PolicyName", "P1"), ("VersionId", "v1")],
    );
    call("DeletePolicy", &[("PolicyName", "P1")]);
    let key = c.ram("ListAccessKeys", &[("UserName", "u1")]).ok();
    let key_id = key["AccessKeys"]["AccessKey"][0]["AccessKeyId"]
        .as_str()
        .unwrap()
        .to_string();
    call(
        "UpdateAccessKey",
        &[
            ("UserName", "u1"),
            ("UserAccessKeyId", &key_id),
            ("Status", "Inactive"),
        ],
    );
    call(
        "DeleteAccessKey",
        &[("UserName", "u1"), ("UserAccessKeyId", &key_id)],
    );
    call(
        "RemoveUserFromGroup",
        &[("GroupName", "g1"), ("UserName", "u1")],
    );
    call(
        "RemoveUserFromGroup",
        &[("GroupName", "g1"), ("UserName", "u2")],
    );
    call("DeleteGroup", &[("GroupName", "g1")]);
    call("DeleteUser", &[("UserName", "u1")]);

    // All 37 actions of RAM issue 3 (the roles' own are the foundation's to check).
    assert_eq!(checked.len(), 37, "{checked:?}");
}
