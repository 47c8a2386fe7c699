//! GetCallerIdentity: who signed this request. Anyone may call it (sts.md), so it declares no
//! permission.

use serde_json::{json, Map, Value};

use crate::auth::identity::Caller;
use crate::catalog::{ActionSpec, Ctx};
use crate::protocol::ApiResult;

pub const GET_CALLER_IDENTITY: ActionSpec = ActionSpec {
    name: "GetCallerIdentity",
    write: false,
    permissions: |_| Vec::new(),
    handler: get_caller_identity,
};

/// Real outputs omit the fields that do not apply: no RoleId for a user, no UserId for a role.
fn get_caller_identity(ctx: &Ctx<'_>) -> ApiResult<Map<String, Value>> {
    let account = ctx.account_id().to_string();
    let arn = ctx.caller.arn(&account);
    let mut m = Map::new();
    m.insert("AccountId".into(), json!(account));
    match ctx.caller {
        Caller::Root { .. } => {
            m.insert("UserId".into(), json!(account));
            m.insert("Arn".into(), json!(arn));
            m.insert("IdentityType".into(), json!("Account"));
            m.insert("PrincipalId".into(), json!(account));
        }
        Caller::User { user_id, .. } => {
            m.insert("UserId".into(), json!(user_id));
            m.insert("Arn".into(), json!(arn));
            m.insert("IdentityType".into(), json!("RAMUser"));
            m.insert("PrincipalId".into(), json!(user_id));
        }
        Caller::Session(s) => {
            m.insert("Arn".into(), json!(arn));
            m.insert("IdentityType".into(), json!("AssumedRoleUser"));
            m.insert(
                "PrincipalId".into(),
                json!(format!("{}:{}", s.role_id, s.session_name)),
            );
            m.insert("RoleId".into(), json!(s.role_id));
        }
    }
    Ok(m)
}
