//! RAM user groups: the groups themselves, their members and their policies.

use serde_json::Value;

use crate::support::{server, user_with, Client};

fn list(v: &Value, outer: &str, inner: &str, field: &str) -> Vec<String> {
    v[outer][inner]
        .as_array()
        .unwrap_or_else(|| panic!("no {outer}.{inner}[] in {v}"))
        .iter()
        .map(|g| g[field].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn group_lifecycle() {
    let s = server();
    let c = Client::root(&s);
    let created = c
        .ram(
            "CreateGroup",
            &[("GroupName", "Dev-Team"), ("Comments", "developers")],
        )
        .ok();
    let g = &created["Group"];
    let keys: Vec<&str> = g.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, ["GroupId", "GroupName", "Comments", "CreateDate"]);
    let id = g["GroupId"].as_str().unwrap().to_string();
    assert!(!id.is_empty());
    assert_eq!(g["GroupName"], "Dev-Team");
    assert_eq!(g["Comments"], "developers");
    assert!(acsemu::clock::parse_iso(g["CreateDate"].as_str().unwrap()).is_some());

    c.ram("CreateGroup", &[("GroupName", "dev-team")])
        .err(409, "EntityAlreadyExists.Group");
    let got = c.ram("GetGroup", &[("GroupName", "Dev-Team")]).ok();
    assert_eq!(got["Group"]["GroupId"], id.as_str());
    assert_eq!(got["Group"]["UpdateDate"], g["CreateDate"]);
    c.ram("GetGroup", &[("GroupName", "Nope")])
        .err(404, "EntityNotExist.Group");

    let updated = c
        .ram(
            "UpdateGroup",
            &[
                ("GroupName", "Dev-Team"),
                ("NewGroupName", "Developers"),
                ("NewComments", "all developers"),
            ],
        )
        .ok();
    assert_eq!(updated["Group"]["GroupId"], id.as_str());
    assert_eq!(updated["Group"]["GroupName"], "Developers");
    assert_eq!(updated["Group"]["Comments"], "all developers");
    c.ram("GetGroup", &[("GroupName", "Dev-Team")])
        .err(404, "EntityNotExist.Group");
    c.ram("CreateGroup", &[("GroupName", "Ops")]).ok();
    c.ram(
        "UpdateGroup",
        &[("GroupName", "Ops"), ("NewGroupName", "developers")],
    )
    .err(409, "EntityAlreadyExists.Group");
    c.ram(
        "UpdateGroup",
        &[("GroupName", "Nope"), ("NewComments", "x")],
    )
    .err(404, "EntityNotExist.Group");

    c.ram("DeleteGroup", &[("GroupName", "Ops")]).ok();
    c.ram("DeleteGroup", &[("GroupName", "Ops")])
        .err(404, "EntityNotExist.Group");
    let all = c.ram("ListGroups", &[]).ok();
    assert_eq!(list(&all, "Groups", "Group", "GroupName"), ["Developers"]);
    assert_eq!(all["Groups"]["Group"][0]["GroupId"], id.as_str());
}

#[test]
fn list_groups_pages_with_marker() {
    let s = server();
    let c = Client::root(&s);
    for n in ["g2", "g0", "g4", "g1", "g3"] {
        c.ram("CreateGroup", &[("GroupName", n)]).ok();
    }
    let first = c.ram("ListGroups", &[("MaxItems", "3")]).ok();
    assert_eq!(first["IsTruncated"], true);
    assert_eq!(
        list(&first, "Groups", "Group", "GroupName"),
        ["g0", "g1", "g2"]
    );
    let marker = first["Marker"].as_str().unwrap().to_string();
    let rest = c.ram("ListGroups", &[("Marker", &marker)]).ok();
    assert_eq!(list(&rest, "Groups", "Group", "GroupName"), ["g3", "g4"]);
    assert_eq!(rest["IsTruncated"], false);
    assert!(rest.get("Marker").is_none());
}

#[test]
fn group_parameters_are_checked() {
    let s = server();
    let c = Client::root(&s);
    c.ram("CreateGroup", &[]).err(400, "MissingParameter");
    c.ram("CreateGroup", &[("GroupName", "has.dot")])
        .err(400, "InvalidParameter.GroupName.InvalidChars");
    c.ram("CreateGroup", &[("GroupName", "under_score")])
        .err(400, "InvalidParameter.GroupName.InvalidChars");
    c.ram("CreateGroup", &[("GroupName", &"g".repeat(65))])
        .err(400, "InvalidParameter.GroupName.Length");
    c.ram(
        "CreateGroup",
        &[("GroupName", "ok"), ("Comments", &"c".repeat(129))],
    )
    .err(400, "InvalidParameter.Comments.Length");
    c.ram("CreateGroup", &[("GroupName", &"g".repeat(64))]).ok();
    c.ram("CreateGroup", &[("GroupName", "ok")]).ok();
    c.ram(
        "UpdateGroup",
        &[("GroupName", "ok"), ("NewGroupName", "bad name")],
    )
    .err(400, "InvalidParameter.NewGroupName.InvalidChars");
    c.ram(
        "UpdateGroup",
        &[("GroupName", "ok"), ("NewGroupName", &"n".repeat(65))],
    )
    .err(400, "InvalidParameter.NewGroupName.Length");
    c.ram(
        "UpdateGroup",
        &[("GroupName", "ok"), ("NewComments", &"c".repeat(129))],
    )
    .err(400, "InvalidParameter.NewComments.Length");
    c.ram("AddUserToGroup", &[("GroupName", "ok")])
        .err(400, "MissingParameter");
}

#[test]
fn membership() {
    let s = server();
    let c = Client::root(&s);
    c.ram("CreateGroup", &[("GroupName", "devs"), ("Comments", "d")])
        .ok();
    c.ram("CreateGroup", &[("GroupName", "ops")]).ok();
    for u in ["amy", "ben", "cat"] {
        c.ram(
            "CreateUser",
            &[("UserName", u), ("DisplayName", &u.to_uppercase())],
        )
        .ok();
        c.ram("AddUserToGroup", &[("GroupName", "devs"), ("UserName", u)])
            .ok();
    }
    c.ram(
        "AddUserToGroup",
        &[("GroupName", "ops"), ("UserName", "amy")],
    )
    .ok();
    c.ram(
        "AddUserToGroup",
        &[("GroupName", "devs"), ("UserName", "amy")],
    )
    .err(409, "EntityAlreadyExists.User.Group");
    c.ram(
        "AddUserToGroup",
        &[("GroupName", "devs"), ("UserName", "zed")],
    )
    .err(404, "EntityNotExist.User");
    c.ram(
        "AddUserToGroup",
        &[("GroupName", "nope"), ("UserName", "amy")],
    )
    .err(404, "EntityNotExist.Group");

    let amy = c.ram("ListGroupsForUser", &[("UserName", "amy")]).ok();
    assert_eq!(list(&amy, "Groups", "Group", "GroupName"), ["devs", "ops"]);
    let first = &amy["Groups"]["Group"][0];
    assert_eq!(first["Comments"], "d");
    assert!(first["GroupId"].as_str().is_some());
    assert!(acsemu::clock::parse_iso(first["JoinDate"].as_str().unwrap()).is_some());
    c.ram("ListGroupsForUser", &[("UserName", "zed")])
        .err(404, "EntityNotExist.User");

    let page = c
        .ram(
            "ListUsersForGroup",
            &[("GroupName", "devs"), ("MaxItems", "2")],
        )
        .ok();
    assert_eq!(page["IsTruncated"], true);
    assert_eq!(list(&page, "Users", "User", "UserName"), ["amy", "ben"]);
    assert_eq!(page["Users"]["User"][0]["DisplayName"], "AMY");
    assert!(page["Users"]["User"][0]["JoinDate"].as_str().is_some());
    let marker = page["Marker"].as_str().unwrap().to_string();
    let rest = c
        .ram(
            "ListUsersForGroup",
            &[("GroupName", "devs"), ("Marker", &marker)],
        )
        .ok();
    assert_eq!(list(&rest, "Users", "User", "UserName"), ["cat"]);
    assert_eq!(rest["IsTruncated"], false);
    c.ram("ListUsersForGroup", &[("GroupName", "nope")])
        .err(404, "EntityNotExist.Group");

    c.ram("DeleteGroup", &[("GroupName", "devs")])
        .err(409, "DeleteConflict.Group.User");
    c.ram(
        "RemoveUserFromGroup",
        &[("GroupName", "ops"), ("UserName", "amy")],
    )
    .ok();
    c.ram(
        "RemoveUserFromGroup",
        &[("GroupName", "ops"), ("UserName", "amy")],
    )
    .err(404, "EntityNotExist.User.Group");
    c.ram(
        "RemoveUserFromGroup",
        &[("GroupName", "ops"), ("UserName", "zed")],
    )
    .err(404, "EntityNotExist.User");
    c.ram(
        "RemoveUserFromGroup",
        &[("GroupName", "nope"), ("UserName", "amy")],
    )
    .err(404, "EntityNotExist.Group");
    let ops = c.ram("ListUsersForGroup", &[("GroupName", "ops")]).ok();
    assert_eq!(ops["Users"]["User"], serde_json::json!([]));
    c.ram("DeleteGroup", &[("GroupName", "ops")]).ok();
    let amy = c.ram("ListGroupsForUser", &[("UserName", "amy")]).ok();
    assert_eq!(list(&amy, "Groups", "Group", "GroupName"), ["devs"]);
}

#[test]
fn group_policies() {
    let s = server();
    let c = Client::root(&s);
    c.ram("CreateGroup", &[("GroupName", "auditors")]).ok();
    let who = ("GroupName", "auditors");
    let policy = |t: &'static str, n: &'static str| [who, ("PolicyType", t), ("PolicyName", n)];
    c.ram(
        "AttachPolicyToGroup",
        &policy("System", "AliyunRAMReadOnlyAccess"),
    )
    .ok();
    c.ram(
        "AttachPolicyToGroup",
        &policy("System", "AliyunRAMReadOnlyAccess"),
    )
    .err(409, "EntityAlreadyExists.Group.Policy");
    c.ram("AttachPolicyToGroup", &policy("Custom", "Missing"))
        .err(404, "EntityNotExist.Policy");
    c.ram(
        "AttachPolicyToGroup",
        &[
            ("GroupName", "nope"),
            ("PolicyType", "System"),
            ("PolicyName", "AliyunRAMReadOnlyAccess"),
        ],
    )
    .err(404, "EntityNotExist.Group");
    let listed = c.ram("ListPoliciesForGroup", &[who]).ok();
    assert_eq!(
        list(&listed, "Policies", "Policy", "PolicyName"),
        ["AliyunRAMReadOnlyAccess"]
    );
    assert!(listed["Policies"]["Policy"][0]["AttachDate"]
        .as_str()
        .is_some());
    c.ram("ListPoliciesForGroup", &[("GroupName", "nope")])
        .err(404, "EntityNotExist.Group");
    let entities = c
        .ram(
            "ListEntitiesForPolicy",
            &[("PolicyName", "AliyunRAMReadOnlyAccess")],
        )
        .ok();
    assert_eq!(
        list(&entities, "Groups", "Group", "GroupName"),
        ["auditors"]
    );

    // Members get the group's policies; others and former members do not.
    let kim = user_with(&c, "kim", &[]);
    kim.ram("ListGroups", &[]).err(403, "NoPermission");
    c.ram("AddUserToGroup", &[who, ("UserName", "kim")]).ok();
    kim.ram("ListGroups", &[]).ok();
    kim.ram("GetGroup", &[who]).ok();
    kim.ram("CreateGroup", &[("GroupName", "mine")])
        .err(403, "NoPermission");

    c.ram("DeleteGroup", &[who])
        .err(409, "DeleteConflict.Group.User");
    c.ram("RemoveUserFromGroup", &[who, ("UserName", "kim")])
        .ok();
    kim.ram("ListGroups", &[]).err(403, "NoPermission");
    c.ram("DeleteGroup", &[who])
        .err(409, "DeleteConflict.Group.Policy");
    c.ram(
        "DetachPolicyFromGroup",
        &policy("System", "AliyunRAMReadOnlyAccess"),
    )
    .ok();
    c.ram(
        "DetachPolicyFromGroup",
        &policy("System", "AliyunRAMReadOnlyAccess"),
    )
    .err(404, "EntityNotExist.Group.Policy");
    c.ram("DeleteGroup", &[who]).ok();
}

#[test]
fn group_actions_check_the_group_resource() {
    let s = server();
    let root = Client::root(&s);
    let doc = format!(
        r#"{{"Version":"1","Statement":[{{"Effect":"Allow","Action":["ram:AddUserToGroup","ram:ListUsersForGroup"],"Resource":"acs:ram:*:{}:group/open"}}]}}"#,
        s.account_id
    );
    root.ram(
        "CreatePolicy",
        &[("PolicyName", "OpenGroup"), ("PolicyDocument", &doc)],
    )
    .ok();
    root.ram("CreateGroup", &[("GroupName", "open")]).ok();
    root.ram("CreateGroup", &[("GroupName", "closed")]).ok();
    let lee = user_with(&root, "lee", &[("Custom", "OpenGroup")]);
    lee.ram(
        "AddUserToGroup",
        &[("GroupName", "open"), ("UserName", "lee")],
    )
    .ok();
    lee.ram("ListUsersForGroup", &[("GroupName", "open")]).ok();
    lee.ram(
        "AddUserToGroup",
        &[("GroupName", "closed"), ("UserName", "lee")],
    )
    .err(403, "NoPermission");
}
