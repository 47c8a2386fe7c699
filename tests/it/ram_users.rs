//! RAM users and their access keys.

use serde_json::Value;

use crate::support::{server, user_with, Client};

fn user_names(v: &Value) -> Vec<String> {
    v["Users"]["User"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["UserName"].as_str().unwrap().to_string())
        .collect()
}

fn key_ids(v: &Value) -> Vec<String> {
    v["AccessKeys"]["AccessKey"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["AccessKeyId"].as_str().unwrap().to_string())
        .collect()
}

/// A client signing with a CreateAccessKey answer.
fn signer(endpoint: &str, created: &Value) -> Client {
    Client::new(
        endpoint,
        created["AccessKey"]["AccessKeyId"].as_str().unwrap(),
        created["AccessKey"]["AccessKeySecret"].as_str().unwrap(),
        None,
    )
}

#[test]
fn user_lifecycle() {
    let s = server();
    let c = Client::root(&s);
    let created = c
        .ram(
            "CreateUser",
            &[
                ("UserName", "alice.dev_1"),
                ("DisplayName", "Alice"),
                ("MobilePhone", "86-18600008888"),
                ("Email", "alice@example.com"),
                ("Comments", "first user"),
            ],
        )
        .ok();
    let u = &created["User"];
    let keys: Vec<&str> = u.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "UserId",
            "UserName",
            "DisplayName",
            "MobilePhone",
            "Email",
            "Comments",
            "CreateDate"
        ]
    );
    let id = u["UserId"].as_str().unwrap();
    assert!(
        id.len() >= 16 && id.chars().all(|c| c.is_ascii_digit()),
        "{id}"
    );
    assert_eq!(u["UserName"], "alice.dev_1");
    assert_eq!(u["MobilePhone"], "86-18600008888");
    assert_eq!(u["Email"], "alice@example.com");
    assert_eq!(u["Comments"], "first user");

    c.ram("CreateUser", &[("UserName", "ALICE.DEV_1")])
        .err(409, "EntityAlreadyExists.User");

    let got = c.ram("GetUser", &[("UserName", "alice.dev_1")]).ok();
    assert_eq!(got["User"]["UserId"], id);
    assert_eq!(got["User"]["DisplayName"], "Alice");
    assert_eq!(got["User"]["UpdateDate"], u["CreateDate"]);
    c.ram("GetUser", &[("UserName", "nobody")])
        .err(404, "EntityNotExist.User");

    let updated = c
        .ram(
            "UpdateUser",
            &[
                ("UserName", "alice.dev_1"),
                ("NewUserName", "alice"),
                ("NewDisplayName", "Alice A."),
                ("NewComments", "renamed"),
            ],
        )
        .ok();
    assert_eq!(updated["User"]["UserId"], id);
    assert_eq!(updated["User"]["UserName"], "alice");
    assert_eq!(updated["User"]["DisplayName"], "Alice A.");
    assert_eq!(updated["User"]["Comments"], "renamed");
    assert_eq!(updated["User"]["Email"], "alice@example.com");
    c.ram("GetUser", &[("UserName", "alice.dev_1")])
        .err(404, "EntityNotExist.User");
    assert_eq!(
        c.ram("GetUser", &[("UserName", "alice")]).ok()["User"]["Comments"],
        "renamed"
    );

    c.ram("CreateUser", &[("UserName", "bob")]).ok();
    c.ram(
        "UpdateUser",
        &[("UserName", "bob"), ("NewUserName", "Alice")],
    )
    .err(409, "EntityAlreadyExists.User");
    c.ram("UpdateUser", &[("UserName", "carol"), ("NewComments", "x")])
        .err(404, "EntityNotExist.User");

    c.ram("DeleteUser", &[("UserName", "bob")]).ok();
    c.ram("DeleteUser", &[("UserName", "bob")])
        .err(404, "EntityNotExist.User");
    assert_eq!(user_names(&c.ram("ListUsers", &[]).ok()), ["alice"]);
}

#[test]
fn list_users_pages_with_marker() {
    let s = server();
    let c = Client::root(&s);
    for n in ["u3", "u1", "u4", "u0", "u2"] {
        c.ram("CreateUser", &[("UserName", n)]).ok();
    }
    let first = c.ram("ListUsers", &[("MaxItems", "2")]).ok();
    assert_eq!(first["IsTruncated"], true);
    assert_eq!(user_names(&first), ["u0", "u1"]);
    assert!(first["Users"]["User"][0]["UpdateDate"].as_str().is_some());
    let marker = first["Marker"].as_str().unwrap().to_string();
    let rest = c
        .ram("ListUsers", &[("MaxItems", "10"), ("Marker", &marker)])
        .ok();
    assert_eq!(user_names(&rest), ["u2", "u3", "u4"]);
    assert_eq!(rest["IsTruncated"], false);
    assert!(rest.get("Marker").is_none());
    c.ram("ListUsers", &[("MaxItems", "0")])
        .err(400, "InvalidParameter");
    c.ram("ListUsers", &[("Marker", "%%%")])
        .err(400, "InvalidParameter.Marker");
}

#[test]
fn user_parameters_are_checked() {
    let s = server();
    let c = Client::root(&s);
    let create = |extra: &[(&str, &str)]| {
        let mut p = vec![("UserName", "valid")];
        p.extend_from_slice(extra);
        c.ram("CreateUser", &p)
    };
    c.ram("CreateUser", &[]).err(400, "MissingParameter");
    c.ram("CreateUser", &[("UserName", "has space")])
        .err(400, "InvalidParameter.UserName.InvalidChars");
    c.ram("CreateUser", &[("UserName", "a@b")])
        .err(400, "InvalidParameter.UserName.InvalidChars");
    c.ram("CreateUser", &[("UserName", &"u".repeat(65))])
        .err(400, "InvalidParameter.UserName.Length");
    create(&[("DisplayName", &"d".repeat(129))]).err(400, "InvalidParameter.DisplayName.Length");
    create(&[("MobilePhone", "18600008888")]).err(400, "InvalidParameter.MobilePhone.Format");
    create(&[("Email", "not-an-email")]).err(400, "InvalidParameter.Email.Format");
    create(&[("Comments", &"c".repeat(129))]).err(400, "InvalidParameter.Comments.Length");
    c.ram("CreateUser", &[("UserName", &"u".repeat(64))]).ok();
    create(&[]).ok();
    let update = |extra: &[(&str, &str)]| {
        let mut p = vec![("UserName", "valid")];
        p.extend_from_slice(extra);
        c.ram("UpdateUser", &p)
    };
    update(&[("NewUserName", "bad/name")]).err(400, "InvalidParameter.NewUserName.InvalidChars");
    update(&[("NewUserName", &"n".repeat(65))]).err(400, "InvalidParameter.NewUserName.Length");
    update(&[("NewDisplayName", &"d".repeat(129))])
        .err(400, "InvalidParameter.NewDisplayName.Length");
    update(&[("NewMobilePhone", "phone")]).err(400, "InvalidParameter.NewMobilePhone.Format");
    update(&[("NewEmail", "x@")]).err(400, "InvalidParameter.NewEmail.Format");
    update(&[("NewComments", &"c".repeat(129))]).err(400, "InvalidParameter.NewComments.Length");
    c.ram("UpdateUser", &[]).err(400, "MissingParameter");
}

#[test]
fn delete_user_is_refused_while_it_has_keys_policies_or_groups() {
    let s = server();
    let c = Client::root(&s);
    c.ram("CreateUser", &[("UserName", "dave")]).ok();
    let who = ("UserName", "dave");
    let key = c.ram("CreateAccessKey", &[who]).ok();
    let key_id = key["AccessKey"]["AccessKeyId"]
        .as_str()
        .unwrap()
        .to_string();
    c.ram(
        "AttachPolicyToUser",
        &[
            who,
            ("PolicyType", "System"),
            ("PolicyName", "ReadOnlyAccess"),
        ],
    )
    .ok();
    c.ram("CreateGroup", &[("GroupName", "devs")]).ok();
    c.ram("AddUserToGroup", &[who, ("GroupName", "devs")]).ok();

    c.ram("DeleteUser", &[who])
        .err(409, "DeleteConflict.User.AccessKey");
    c.ram("DeleteAccessKey", &[who, ("UserAccessKeyId", &key_id)])
        .ok();
    c.ram("DeleteUser", &[who])
        .err(409, "DeleteConflict.User.Policy");
    c.ram(
        "DetachPolicyFromUser",
        &[
            who,
            ("PolicyType", "System"),
            ("PolicyName", "ReadOnlyAccess"),
        ],
    )
    .ok();
    c.ram("DeleteUser", &[who])
        .err(409, "DeleteConflict.User.Group");
    c.ram("RemoveUserFromGroup", &[who, ("GroupName", "devs")])
        .ok();
    c.ram("DeleteUser", &[who]).ok();
    c.ram("GetUser", &[who]).err(404, "EntityNotExist.User");
}

#[test]
fn access_key_lifecycle() {
    let s = server();
    let c = Client::root(&s);
    c.ram("CreateUser", &[("UserName", "erin")]).ok();
    c.ram("CreateUser", &[("UserName", "frank")]).ok();
    let erin = ("UserName", "erin");

    let k1 = c.ram("CreateAccessKey", &[erin]).ok();
    let ak = &k1["AccessKey"];
    let keys: Vec<&str> = ak.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        ["AccessKeyId", "AccessKeySecret", "Status", "CreateDate"]
    );
    let id1 = ak["AccessKeyId"].as_str().unwrap().to_string();
    assert!(id1.starts_with("LTAI") && id1.len() == 24, "{id1}");
    let secret = ak["AccessKeySecret"].as_str().unwrap();
    assert!(secret.len() == 30 && secret.chars().all(|c| c.is_ascii_alphanumeric()));
    assert_eq!(ak["Status"], "Active");

    // The new key signs as the user.
    let as_erin = signer(&s.endpoint, &k1);
    let me = as_erin.sts("GetCallerIdentity", &[]).ok();
    assert_eq!(me["Arn"], format!("acs:ram::{}:user/erin", s.account_id));

    let k2 = c.ram("CreateAccessKey", &[erin]).ok();
    let id2 = k2["AccessKey"]["AccessKeyId"].as_str().unwrap().to_string();
    c.ram("CreateAccessKey", &[erin])
        .err(409, "LimitExceeded.User.AccessKey");
    c.ram("CreateAccessKey", &[("UserName", "nobody")])
        .err(404, "EntityNotExist.User");

    let listed = c.ram("ListAccessKeys", &[erin]).ok();
    let mut ids = key_ids(&listed);
    ids.sort();
    let mut want = vec![id1.clone(), id2.clone()];
    want.sort();
    assert_eq!(ids, want);
    for k in listed["AccessKeys"]["AccessKey"].as_array().unwrap() {
        assert!(k.get("AccessKeySecret").is_none(), "secret listed: {k}");
        assert_eq!(k["Status"], "Active");
        assert!(k["CreateDate"].as_str().is_some());
    }
    assert_eq!(
        c.ram("ListAccessKeys", &[("UserName", "frank")]).ok()["AccessKeys"]["AccessKey"],
        serde_json::json!([])
    );
    c.ram("ListAccessKeys", &[("UserName", "nobody")])
        .err(404, "EntityNotExist.User");

    // Inactive keys cannot sign; reactivated ones can again.
    c.ram(
        "UpdateAccessKey",
        &[erin, ("UserAccessKeyId", &id1), ("Status", "Inactive")],
    )
    .ok();
    as_erin
        .sts("GetCallerIdentity", &[])
        .err(400, "InvalidAccessKeyId.Inactive");
    let listed = c.ram("ListAccessKeys", &[erin]).ok();
    let status = listed["AccessKeys"]["AccessKey"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["AccessKeyId"] == id1.as_str())
        .unwrap()["Status"]
        .clone();
    assert_eq!(status, "Inactive");
    c.ram(
        "UpdateAccessKey",
        &[erin, ("UserAccessKeyId", &id1), ("Status", "Active")],
    )
    .ok();
    as_erin.sts("GetCallerIdentity", &[]).ok();
    c.ram(
        "UpdateAccessKey",
        &[erin, ("UserAccessKeyId", &id1), ("Status", "Disabled")],
    )
    .err(400, "InvalidParameter");
    c.ram("UpdateAccessKey", &[erin, ("UserAccessKeyId", &id1)])
        .err(400, "MissingParameter");
    c.ram("UpdateAccessKey", &[erin, ("Status", "Active")])
        .err(400, "MissingParameter");
    // A key is only found under its own user.
    c.ram(
        "UpdateAccessKey",
        &[
            ("UserName", "frank"),
            ("UserAccessKeyId", &id1),
            ("Status", "Inactive"),
        ],
    )
    .err(404, "EntityNotExist.User.AccessKey");
    c.ram(
        "DeleteAccessKey",
        &[("UserName", "frank"), ("UserAccessKeyId", &id1)],
    )
    .err(404, "EntityNotExist.User.AccessKey");

    // Deleted keys are gone for signing too, and make room for a new one.
    c.ram("DeleteAccessKey", &[erin, ("UserAccessKeyId", &id1)])
        .ok();
    as_erin
        .sts("GetCallerIdentity", &[])
        .err(404, "InvalidAccessKeyId.NotFound");
    c.ram("DeleteAccessKey", &[erin, ("UserAccessKeyId", &id1)])
        .err(404, "EntityNotExist.User.AccessKey");
    c.ram(
        "DeleteAccessKey",
        &[erin, ("UserAccessKeyId", "LTAI5tNoSuchKey000000000")],
    )
    .err(404, "EntityNotExist.User.AccessKey");
    c.ram("DeleteAccessKey", &[erin])
        .err(400, "MissingParameter");
    assert_eq!(key_ids(&c.ram("ListAccessKeys", &[erin]).ok()), [id2]);
    c.ram("CreateAccessKey", &[erin]).ok();
}

#[test]
fn key_actions_without_user_name_act_on_the_caller() {
    let s = server();
    let root = Client::root(&s);
    let own_keys = format!(
        r#"{{"Version":"1","Statement":[{{"Effect":"Allow","Action":["ram:CreateAccessKey","ram:ListAccessKeys","ram:UpdateAccessKey","ram:DeleteAccessKey"],"Resource":"acs:ram:*:{}:user/gina"}}]}}"#,
        s.account_id
    );
    root.ram(
        "CreatePolicy",
        &[("PolicyName", "OwnKeys"), ("PolicyDocument", &own_keys)],
    )
    .ok();
    root.ram("CreateUser", &[("UserName", "hank")]).ok();
    let gina = user_with(&root, "gina", &[("Custom", "OwnKeys")]);

    let listed = gina.ram("ListAccessKeys", &[]).ok();
    assert_eq!(key_ids(&listed), std::slice::from_ref(&gina.access_key_id));
    let second = gina.ram("CreateAccessKey", &[]).ok();
    let id2 = second["AccessKey"]["AccessKeyId"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        key_ids(&root.ram("ListAccessKeys", &[("UserName", "gina")]).ok()).len(),
        2
    );
    gina.ram("CreateAccessKey", &[])
        .err(409, "LimitExceeded.User.AccessKey");
    gina.ram(
        "UpdateAccessKey",
        &[("UserAccessKeyId", &id2), ("Status", "Inactive")],
    )
    .ok();
    gina.ram("DeleteAccessKey", &[("UserAccessKeyId", &id2)])
        .ok();

    // Another user's keys are another resource.
    gina.ram("ListAccessKeys", &[("UserName", "hank")])
        .err(403, "NoPermission");
    gina.ram("CreateAccessKey", &[("UserName", "hank")])
        .err(403, "NoPermission");

    // The root account has no RAM user to default to.
    root.ram("CreateAccessKey", &[])
        .err(400, "MissingParameter");
    root.ram("ListAccessKeys", &[]).err(400, "MissingParameter");
}

#[test]
fn user_actions_check_the_user_resource() {
    let s = server();
    let root = Client::root(&s);
    let doc = format!(
        r#"{{"Version":"1","Statement":[{{"Effect":"Allow","Action":["ram:GetUser","ram:UpdateUser"],"Resource":"acs:ram:*:{}:user/team-*"}}]}}"#,
        s.account_id
    );
    root.ram(
        "CreatePolicy",
        &[("PolicyName", "TeamUsers"), ("PolicyDocument", &doc)],
    )
    .ok();
    root.ram("CreateUser", &[("UserName", "team-a")]).ok();
    root.ram("CreateUser", &[("UserName", "other")]).ok();
    let ivy = user_with(&root, "ivy", &[("Custom", "TeamUsers")]);
    ivy.ram("GetUser", &[("UserName", "team-a")]).ok();
    ivy.ram(
        "UpdateUser",
        &[("UserName", "team-a"), ("NewComments", "ok")],
    )
    .ok();
    let denied = ivy
        .ram("GetUser", &[("UserName", "other")])
        .err(403, "NoPermission");
    assert_eq!(denied["AccessDeniedDetail"]["AuthAction"], "ram:GetUser");
    ivy.ram("ListUsers", &[]).err(403, "NoPermission");
    ivy.ram("CreateUser", &[("UserName", "team-b")])
        .err(403, "NoPermission");
}
