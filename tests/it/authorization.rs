//! Enforcement on every action: grants and revokes count from the next call, explicit deny
//! wins, groups grant their members, and the derived PassRole check of a catalog entry.

use acsemu::auth::identity::Caller;
use acsemu::catalog::{ActionSpec, Ctx, Permission, Product, RequestFacts};
use acsemu::config::Config;
use acsemu::protocol::params::{Params, ProductDoc};
use acsemu::protocol::ApiError;

use crate::support::{server, server_with, user_with, Client, ECS_TRUST};

fn custom_policy(root: &Client, name: &str, document: &str) {
    root.ram(
        "CreatePolicy",
        &[("PolicyName", name), ("PolicyDocument", document)],
    )
    .ok();
}

const ALLOW_CREATE_ROLE: &str =
    r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"ram:CreateRole","Resource":"*"}]}"#;

#[test]
fn grant_and_revoke_take_effect_on_the_next_call() {
    let s = server();
    let root = Client::root(&s);
    let u = user_with(&root, "ops", &[]);
    let create = |name: &str| {
        u.ram(
            "CreateRole",
            &[("RoleName", name), ("AssumeRolePolicyDocument", ECS_TRUST)],
        )
    };
    let denied = create("R1").err(403, "NoPermission");
    let detail = &denied["AccessDeniedDetail"];
    assert_eq!(detail["AuthAction"], "ram:CreateRole");
    assert_eq!(detail["NoPermissionType"], "ImplicitDeny");
    assert_eq!(detail["AuthPrincipalType"], "SubUser");
    assert_eq!(detail["AuthPrincipalOwnerId"], s.account_id.as_str());
    assert!(denied["Message"]
        .as_str()
        .unwrap()
        .contains("ram:CreateRole"));

    custom_policy(&root, "CanCreateRole", ALLOW_CREATE_ROLE);
    root.ram(
        "AttachPolicyToUser",
        &[
            ("UserName", "ops"),
            ("PolicyType", "Custom"),
            ("PolicyName", "CanCreateRole"),
        ],
    )
    .ok();
    create("R1").ok();
    root.ram(
        "DetachPolicyFromUser",
        &[
            ("UserName", "ops"),
            ("PolicyType", "Custom"),
            ("PolicyName", "CanCreateRole"),
        ],
    )
    .ok();
    create("R2").err(403, "NoPermission");
}

#[test]
fn explicit_deny_wins_and_says_which_statement() {
    let s = server();
    let root = Client::root(&s);
    custom_policy(
        &root,
        "NoRoles",
        r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"ram:List*","Resource":"*"},{"Effect":"Deny","Action":"ram:CreateRole","Resource":"*"}]}"#,
    );
    let u = user_with(
        &root,
        "admin2",
        &[("System", "AdministratorAccess"), ("Custom", "NoRoles")],
    );
    u.ram("ListRoles", &[]).ok();
    let denied = u
        .ram(
            "CreateRole",
            &[("RoleName", "X"), ("AssumeRolePolicyDocument", ECS_TRUST)],
        )
        .err(403, "NoPermission");
    assert_eq!(
        denied["AccessDeniedDetail"]["NoPermissionType"],
        "ExplicitDeny"
    );
    let msg = denied["Message"].as_str().unwrap();
    assert!(
        msg.contains("statement 2") && msg.contains("NoRoles"),
        "{msg}"
    );
}

#[test]
fn groups_grant_their_members() {
    let s = server();
    let root = Client::root(&s);
    let u = user_with(&root, "member", &[]);
    u.ram("ListRoles", &[]).err(403, "NoPermission");
    root.ram("CreateGroup", &[("GroupName", "readers")]).ok();
    root.ram(
        "AttachPolicyToGroup",
        &[
            ("GroupName", "readers"),
            ("PolicyType", "System"),
            ("PolicyName", "AliyunRAMReadOnlyAccess"),
        ],
    )
    .ok();
    root.ram(
        "AddUserToGroup",
        &[("GroupName", "readers"), ("UserName", "member")],
    )
    .ok();
    u.ram("ListRoles", &[]).ok();
    root.ram(
        "RemoveUserFromGroup",
        &[("GroupName", "readers"), ("UserName", "member")],
    )
    .ok();
    u.ram("ListRoles", &[]).err(403, "NoPermission");
}

#[test]
fn inactive_keys_cannot_sign() {
    let s = server();
    let root = Client::root(&s);
    let u = user_with(&root, "k", &[("System", "AliyunRAMReadOnlyAccess")]);
    u.ram("ListRoles", &[]).ok();
    root.ram(
        "UpdateAccessKey",
        &[
            ("UserName", "k"),
            ("UserAccessKeyId", &u.access_key_id),
            ("Status", "Inactive"),
        ],
    )
    .ok();
    u.ram("ListRoles", &[])
        .err(400, "InvalidAccessKeyId.Inactive");
    root.ram(
        "UpdateAccessKey",
        &[
            ("UserName", "k"),
            ("UserAccessKeyId", &u.access_key_id),
            ("Status", "Active"),
        ],
    )
    .ok();
    u.ram("ListRoles", &[]).ok();
}

#[test]
fn enforcement_can_be_switched_off() {
    let s = server_with(Config {
        enforce: false,
        ..Config::ephemeral()
    });
    let root = Client::root(&s);
    let u = user_with(&root, "free", &[]);
    u.ram(
        "CreateRole",
        &[
            ("RoleName", "Anything"),
            ("AssumeRolePolicyDocument", ECS_TRUST),
        ],
    )
    .ok();
}

// ---- the derived PassRole check, with a catalog entry built for the test ----

fn pass_role_permissions(ctx: &Ctx<'_>) -> Vec<Permission> {
    vec![Permission::new(
        "ecs:CreateInstance",
        format!("acs:ecs:cn-hangzhou:{}:instance/*", ctx.account_id()),
    )]
}

fn pass_role_handler(
    ctx: &Ctx<'_>,
) -> Result<serde_json::Map<String, serde_json::Value>, ApiError> {
    let role = ctx.params.required("RamRoleName")?;
    ctx.authorize(&Permission::new(
        "ram:PassRole",
        format!("acs:ram:*:{}:role/{role}", ctx.account_id()),
    ))?;
    Ok(serde_json::Map::new())
}

static TEST_ACTIONS: &[ActionSpec] = &[ActionSpec {
    name: "PassRoleProbe",
    write: false,
    permissions: pass_role_permissions,
    handler: pass_role_handler,
}];

fn probe(s: &acsemu::testing::TestServer, user_name: &str, role: &str) -> Result<(), ApiError> {
    let product = Product {
        name: "Ecs",
        version: "test",
        host: "ecs.aliyuncs.com",
        actions: TEST_ACTIONS,
        deny: ApiError::forbidden_ram,
        doc: ProductDoc::load(
            r#"{"product":"Ecs","version":"test","host":"ecs.aliyuncs.com","actions":{}}"#,
        )
        .unwrap(),
    };
    let params = Params::from_pairs([("RamRoleName".to_string(), role.to_string())]);
    let facts = RequestFacts::default();
    s.state.store.transaction(false, |tx| {
        let user = acsemu::store::principals::get_user(tx, user_name)?.unwrap();
        let caller = Caller::User {
            user_id: user.user_id,
            user_name: user.user_name,
            access_key_id: "test".into(),
        };
        let ctx = Ctx {
            tx,
            params: &params,
            caller: &caller,
            state: &s.state,
            facts: &facts,
            product: &product,
            now: s.state.clock.now(),
        };
        let spec = &product.actions[0];
        acsemu::auth::authorize::authorize(&ctx, &(spec.permissions)(&ctx))?;
        (spec.handler)(&ctx).map(|_| ())
    })
}

#[test]
fn derived_pass_role_check() {
    let s = server();
    let root = Client::root(&s);
    user_with(&root, "ecsop", &[("System", "AliyunECSFullAccess")]);
    let e = probe(&s, "ecsop", "EcsRamRoleTest").unwrap_err();
    assert_eq!((e.status, e.code.as_ref()), (403, "Forbidden.RAM"));
    assert_eq!(
        e.access_denied_detail.as_ref().unwrap()["AuthAction"],
        "ram:PassRole"
    );
    custom_policy(
        &root,
        "PassEcsRole",
        r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"ram:PassRole","Resource":"acs:ram:*:*:role/EcsRamRoleTest"}]}"#,
    );
    root.ram(
        "AttachPolicyToUser",
        &[
            ("UserName", "ecsop"),
            ("PolicyType", "Custom"),
            ("PolicyName", "PassEcsRole"),
        ],
    )
    .ok();
    probe(&s, "ecsop", "EcsRamRoleTest").unwrap();
    // Only that role.
    assert!(probe(&s, "ecsop", "OtherRole").is_err());
    // Without ecs:CreateInstance the action itself is refused before the handler runs.
    user_with(&root, "passonly", &[("Custom", "PassEcsRole")]);
    let e = probe(&s, "passonly", "EcsRamRoleTest").unwrap_err();
    assert_eq!(
        e.access_denied_detail.as_ref().unwrap()["AuthAction"],
        "ecs:CreateInstance"
    );
}
