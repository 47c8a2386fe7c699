//! Evaluation (`reference/policy.md`, "Evaluation"): which statement decides a request.
//!
//! A statement applies when its `Action` (or `NotAction`), its `Resource` (or `NotResource`)
//! and every `Condition` clause match. Any applicable `Deny` decides (explicit deny beats
//! allow); else any applicable `Allow`; else the request is implicitly denied. The deciding
//! statement is reported (the first in policy order, then statement order) so that a denial
//! can say why.
//!
//! Matching rules:
//! - actions: case-insensitive, `*` and `?` wildcards (`*` alone matches everything);
//! - resources: case-sensitive with `*` and `?`, except that the `acs` prefix and the service
//!   field are case-insensitive, an empty region or account field in the pattern matches any
//!   value (so `acs:ram::123:role/x` == `acs:ram:*:123:role/x`), and the `role/<name>` part of
//!   an `acs:ram` resource is case-insensitive (role names appear lower-cased in real ARNs).
//!   A pattern or resource that is not a five-field ARN (e.g. `*`) is matched as a whole.

use std::collections::BTreeMap;
use std::fmt;

use super::document::{Effect, Names, PolicyDocument, Principal, Statement};
use super::wildcard_match;

/// The policy name reported when a trust policy decides.
pub const TRUST_POLICY_NAME: &str = "AssumeRolePolicyDocument";

/// The request being authorized.
#[derive(Debug, Clone, Copy)]
pub struct RequestContext<'a> {
    /// e.g. `ram:CreateRole`.
    pub action: &'a str,
    /// e.g. `acs:ram:*:1234567890123456:role/EcsRamRoleTest`.
    pub resource: &'a str,
    /// Condition key values (see [`super::condition`] for the keys the emulator sets).
    pub keys: &'a ConditionKeys,
}

/// Condition key values of a request. Keys are case-insensitive; a key may carry several
/// values (any of which may match). A key set with no values counts as missing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConditionKeys {
    values: BTreeMap<String, Vec<String>>,
}

impl ConditionKeys {
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets (replaces) the values of `key`.
    pub fn set(&mut self, key: &str, values: Vec<String>) {
        self.values.insert(key.to_lowercase(), values);
    }

    /// The values of `key`, looked up case-insensitively.
    #[must_use]
    pub fn get(&self, key: &str) -> Option<&[String]> {
        self.values.get(&key.to_lowercase()).map(Vec::as_slice)
    }
}

/// A policy with the name and type a decision reports.
#[derive(Debug, Clone, Copy)]
pub struct NamedPolicy<'a> {
    pub name: &'a str,
    /// `System`, `Custom`, `Session` or `Trust`.
    pub policy_type: &'a str,
    pub document: &'a PolicyDocument,
}

/// The statement that decided: which policy, its 0-based index in the document and its `Sid`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StatementRef {
    pub policy_name: String,
    pub policy_type: String,
    pub index: usize,
    pub sid: Option<String>,
}

impl StatementRef {
    fn new(name: &str, policy_type: &str, index: usize, statement: &Statement) -> Self {
        Self {
            policy_name: name.to_owned(),
            policy_type: policy_type.to_owned(),
            index,
            sid: statement.sid.clone(),
        }
    }
}

impl fmt::Display for StatementRef {
    /// e.g. `Custom policy "OssRead" statement 0 (Sid "AllowGet")`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} policy \"{}\" statement {}",
            self.policy_type, self.policy_name, self.index
        )?;
        if let Some(sid) = &self.sid {
            write!(f, " (Sid \"{sid}\")")?;
        }
        Ok(())
    }
}

/// The outcome of an evaluation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Allowed by this statement (and denied by none).
    Allow(StatementRef),
    /// Denied by this `Deny` statement.
    ExplicitDeny(StatementRef),
    /// No statement allowed the request.
    ImplicitDeny,
}

impl Decision {
    #[must_use]
    pub fn is_allowed(&self) -> bool {
        matches!(self, Self::Allow(_))
    }

    #[must_use]
    pub fn is_explicit_deny(&self) -> bool {
        matches!(self, Self::ExplicitDeny(_))
    }

    /// The deciding statement, if one decided.
    #[must_use]
    pub fn statement(&self) -> Option<&StatementRef> {
        match self {
            Self::Allow(s) | Self::ExplicitDeny(s) => Some(s),
            Self::ImplicitDeny => None,
        }
    }
}

/// Evaluates identity policies (a user's and its groups', or a role's) for a request.
#[must_use]
pub fn evaluate(policies: &[NamedPolicy<'_>], ctx: &RequestContext<'_>) -> Decision {
    decide(
        policies.iter().flat_map(|p| {
            p.document
                .statements
                .iter()
                .enumerate()
                .map(move |(i, s)| (p.name, p.policy_type, i, s))
        }),
        |s| statement_applies(s, ctx),
    )
}

/// STS session: allowed only if allowed by the role's policies AND (when present) the
/// session policy; an explicit deny in either wins and is the one reported (the role's first).
/// When both allow, the role's allowing statement is reported.
#[must_use]
pub fn evaluate_session(
    role_policies: &[NamedPolicy<'_>],
    session: Option<&NamedPolicy<'_>>,
    ctx: &RequestContext<'_>,
) -> Decision {
    let role = evaluate(role_policies, ctx);
    let Some(session) = session else {
        return role;
    };
    if role.is_explicit_deny() {
        return role;
    }
    let session = evaluate(std::slice::from_ref(session), ctx);
    match (role, session) {
        (_, deny @ Decision::ExplicitDeny(_)) => deny,
        (allow @ Decision::Allow(_), Decision::Allow(_)) => allow,
        _ => Decision::ImplicitDeny,
    }
}

/// Who asks a trust policy to be trusted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrustedCaller<'a> {
    /// A RAM identity: `acs:ram::<acct>:root`, `acs:ram::<acct>:user/<name>`,
    /// `acs:ram::<acct>:role/<name>` or `acs:ram::<acct>:assumed-role/<role>/<session>`.
    Ram {
        principal_arn: &'a str,
        account_id: &'a str,
    },
    /// A cloud service, e.g. `ecs.aliyuncs.com`.
    Service(&'a str),
}

/// Trust check for `AssumeRole` / ECS: does the trust policy let `caller` perform `action`
/// (usually `sts:AssumeRole`)? A statement applies when its action matches, its `Principal`
/// names the caller and its conditions hold for `keys` (e.g. `sts:ExternalId`); `Resource`
/// is not consulted. Deny beats Allow as in [`evaluate`]; the decision names the statement of
/// the policy [`TRUST_POLICY_NAME`] of type `Trust`.
///
/// `Principal.RAM` entries: `*` (any RAM identity); a bare account id or
/// `acs:ram::<acct>:root` (any identity of that account); `acs:ram::<acct>:user/<name>` (that
/// user); `acs:ram::<acct>:role/<name>` (that role, or any assumed-role session of it; role
/// names case-insensitive). `Principal.Service` entries match the service name
/// case-insensitively (or `*`). `Federated` entries match no caller here.
#[must_use]
pub fn trusts(
    trust: &PolicyDocument,
    caller: &TrustedCaller<'_>,
    action: &str,
    keys: &ConditionKeys,
) -> Decision {
    let statements = trust
        .statements
        .iter()
        .enumerate()
        .map(|(i, s)| (TRUST_POLICY_NAME, "Trust", i, s));
    decide(statements, |s| {
        names_match(&s.action, |p| action_matches(p, action))
            && s.principal
                .as_ref()
                .is_some_and(|p| principal_matches(p, caller))
            && s.condition.iter().all(|c| c.holds(keys))
    })
}

/// First applicable Deny, else first applicable Allow, else implicit deny.
fn decide<'s, I, F>(statements: I, applies: F) -> Decision
where
    I: Iterator<Item = (&'s str, &'s str, usize, &'s Statement)>,
    F: Fn(&Statement) -> bool,
{
    let mut allow = None;
    for (name, policy_type, index, statement) in statements {
        if !applies(statement) {
            continue;
        }
        match statement.effect {
            Effect::Deny => {
                return Decision::ExplicitDeny(StatementRef::new(
                    name,
                    policy_type,
                    index,
                    statement,
                ))
            }
            Effect::Allow => {
                if allow.is_none() {
                    allow = Some(StatementRef::new(name, policy_type, index, statement));
                }
            }
        }
    }
    allow.map_or(Decision::ImplicitDeny, Decision::Allow)
}

fn statement_applies(s: &Statement, ctx: &RequestContext<'_>) -> bool {
    names_match(&s.action, |p| action_matches(p, ctx.action))
        && s.resource
            .as_ref()
            .is_none_or(|r| names_match(r, |p| resource_matches(p, ctx.resource)))
        && s.condition.iter().all(|c| c.holds(ctx.keys))
}

/// `Only`: any pattern matches; `Not`: none does.
fn names_match(names: &Names, matches: impl Fn(&str) -> bool) -> bool {
    match names {
        Names::Only(patterns) => patterns.iter().any(|p| matches(p)),
        Names::Not(patterns) => !patterns.iter().any(|p| matches(p)),
    }
}

/// Action matching: case-insensitive with `*` / `?`.
#[must_use]
pub fn action_matches(pattern: &str, action: &str) -> bool {
    wildcard_match(pattern, action, true)
}

/// Resource matching (see the module docs for the rules).
#[must_use]
pub fn resource_matches(pattern: &str, resource: &str) -> bool {
    let p: Vec<&str> = pattern.splitn(5, ':').collect();
    let r: Vec<&str> = resource.splitn(5, ':').collect();
    if p.len() != 5 || r.len() != 5 {
        return wildcard_match(pattern, resource, false);
    }
    let relative_ignores_case = r[1].eq_ignore_ascii_case("ram")
        && r[4]
            .get(..5)
            .is_some_and(|head| head.eq_ignore_ascii_case("role/"));
    wildcard_match(p[0], r[0], true)
        && wildcard_match(p[1], r[1], true)
        && (p[2].is_empty() || wildcard_match(p[2], r[2], false))
        && (p[3].is_empty() || wildcard_match(p[3], r[3], false))
        && wildcard_match(p[4], r[4], relative_ignores_case)
}

fn principal_matches(principal: &Principal, caller: &TrustedCaller<'_>) -> bool {
    match caller {
        TrustedCaller::Ram {
            principal_arn,
            account_id,
        } => principal
            .ram
            .iter()
            .any(|e| ram_entry_matches(e, principal_arn, account_id)),
        TrustedCaller::Service(service) => principal
            .service
            .iter()
            .any(|e| e == "*" || e.eq_ignore_ascii_case(service)),
    }
}

/// Strips `prefix` from `s`, ignoring ASCII case.
fn strip_prefix_ci<'s>(s: &'s str, prefix: &str) -> Option<&'s str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

fn ram_entry_matches(entry: &str, principal_arn: &str, account_id: &str) -> bool {
    if entry == "*" {
        return true;
    }
    if !entry.is_empty() && entry.bytes().all(|b| b.is_ascii_digit()) {
        return entry == account_id;
    }
    let e: Vec<&str> = entry.splitn(5, ':').collect();
    if e.len() != 5 || !e[1].eq_ignore_ascii_case("ram") || !wildcard_match(e[3], account_id, false)
    {
        return false;
    }
    let wanted = e[4];
    if wanted.eq_ignore_ascii_case("root") {
        return true;
    }
    // The caller's relative id: `root`, `user/<n>`, `role/<n>` or `assumed-role/<r>/<s>`.
    let c: Vec<&str> = principal_arn.splitn(5, ':').collect();
    if c.len() != 5 || c[3] != account_id {
        return false;
    }
    let caller_rel = c[4];
    if let Some(name) = strip_prefix_ci(wanted, "user/") {
        return strip_prefix_ci(caller_rel, "user/")
            .is_some_and(|n| wildcard_match(name, n, false));
    }
    if let Some(name) = strip_prefix_ci(wanted, "role/") {
        let caller_role = strip_prefix_ci(caller_rel, "role/").or_else(|| {
            strip_prefix_ci(caller_rel, "assumed-role/")
                .and_then(|rest| rest.split_once('/').map(|(role, _session)| role))
        });
        return caller_role.is_some_and(|n| wildcard_match(name, n, true));
    }
    // Anything else (e.g. one assumed-role session) must name the caller exactly.
    wanted == caller_rel
}
