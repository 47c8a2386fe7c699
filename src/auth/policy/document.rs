//! Policy documents: the model and [`parse`], which validates a policy text
//! (`reference/policy.md`, "Document" and "Trust policy").
//!
//! `parse` checks the grammar only; size limits (6144 / 2048 / 1024 characters) are the
//! callers' business, as is the error code a fault maps to (`MalformedPolicyDocument` for RAM,
//! `InvalidParameter.PolicyGrammar` for an STS session policy).

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

use super::condition::{check_value, ConditionClause, Operator};

/// Deepest JSON nesting accepted (a real policy needs 6 levels).
pub const MAX_DEPTH: usize = 20;

/// Which kind of document is being parsed; it decides whether `Resource` and `Principal` are
/// required, optional or forbidden.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DocumentKind {
    /// A RAM permission policy (system or custom): `Resource`/`NotResource` required, no
    /// `Principal`.
    Permission,
    /// A role's trust policy (`AssumeRolePolicyDocument`): `Principal` required, `Resource`
    /// optional.
    Trust,
    /// An STS / ECS session policy: as a permission policy.
    Session,
}

/// A parsed and validated policy document (`Version` is always `"1"`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyDocument {
    pub statements: Vec<Statement>,
}

/// One statement, in document order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    pub sid: Option<String>,
    pub effect: Effect,
    /// `Action` (`Names::Only`) or `NotAction` (`Names::Not`).
    pub action: Names,
    /// `Resource` (`Names::Only`) or `NotResource` (`Names::Not`); `None` only in trust
    /// policies, where it is optional.
    pub resource: Option<Names>,
    /// Only in trust policies, where it is required.
    pub principal: Option<Principal>,
    /// Every clause must hold (see [`super::condition`]).
    pub condition: Vec<ConditionClause>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Effect {
    Allow,
    Deny,
}

impl Effect {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Allow => "Allow",
            Self::Deny => "Deny",
        }
    }
}

/// A list of patterns, either positive (`Action`, `Resource`) or negated (`NotAction`,
/// `NotResource`: the statement applies to what matches none of them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Names {
    Only(Vec<String>),
    Not(Vec<String>),
}

impl Names {
    /// The patterns, whichever the polarity.
    #[must_use]
    pub fn patterns(&self) -> &[String] {
        match self {
            Self::Only(p) | Self::Not(p) => p,
        }
    }
}

/// A trust policy's `Principal`. Each list may contain `"*"`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Principal {
    /// `RAM`: `acs:ram::<acct>:root`, `acs:ram::<acct>:user/<name>`,
    /// `acs:ram::<acct>:role/<name>`, a bare account id, or `*`.
    pub ram: Vec<String>,
    /// `Service`: e.g. `ecs.aliyuncs.com`.
    pub service: Vec<String>,
    /// `Federated`: `acs:ram::<acct>:saml-provider/<name>` / `oidc-provider/<name>`.
    pub federated: Vec<String>,
}

/// Why a document was refused, in words that name the fault, e.g.
/// `Statement[1].Effect must be Allow or Deny`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct PolicyError {
    pub message: String,
}

impl PolicyError {
    fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }
}

/// Parses and validates a policy document of the given kind.
///
/// # Errors
/// A [`PolicyError`] naming the first fault found: not JSON, nested deeper than
/// [`MAX_DEPTH`], a duplicate object key, a wrong `Version`, a missing, empty or malformed
/// `Statement`, an unknown key, an `Effect` other than `Allow`/`Deny`, a bad `Action`, a
/// missing or forbidden `Resource`/`Principal`, an unknown condition operator or a condition
/// value its operator cannot read.
pub fn parse(text: &str, kind: DocumentKind) -> Result<PolicyDocument, PolicyError> {
    // INVARIANT: the depth is checked on the raw text before serde builds anything, so a
    // hostile document cannot make the parser recurse deeply.
    if nesting_exceeds(text, MAX_DEPTH) {
        return Err(PolicyError::new(format!(
            "Policy document is nested deeper than {MAX_DEPTH} levels"
        )));
    }
    let StrictValue(value) = serde_json::from_str(text)
        .map_err(|e| PolicyError::new(format!("Policy document is not valid JSON: {e}")))?;
    let Value::Object(top) = value else {
        return Err(PolicyError::new("Policy document must be a JSON object"));
    };
    if let Some(key) = top
        .keys()
        .find(|k| !matches!(k.as_str(), "Version" | "Statement"))
    {
        return Err(PolicyError::new(format!(
            "Unknown top-level key \"{key}\" (allowed: Version, Statement)"
        )));
    }
    match top.get("Version") {
        None => return Err(PolicyError::new("Version is required")),
        Some(Value::String(v)) if v == "1" => {}
        Some(_) => return Err(PolicyError::new("Version must be the string \"1\"")),
    }
    let statements = match top.get("Statement") {
        None => return Err(PolicyError::new("Statement is required")),
        Some(Value::Array(items)) => {
            if items.is_empty() {
                return Err(PolicyError::new("Statement must not be empty"));
            }
            items
                .iter()
                .enumerate()
                .map(|(i, item)| parse_statement(item, &format!("Statement[{i}]"), kind))
                .collect::<Result<Vec<_>, _>>()?
        }
        Some(item @ Value::Object(_)) => vec![parse_statement(item, "Statement", kind)?],
        Some(_) => {
            return Err(PolicyError::new(
                "Statement must be an object or an array of objects",
            ))
        }
    };
    Ok(PolicyDocument { statements })
}

const STATEMENT_KEYS: [&str; 8] = [
    "Sid",
    "Effect",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Principal",
    "Condition",
];

fn parse_statement(
    value: &Value,
    path: &str,
    kind: DocumentKind,
) -> Result<Statement, PolicyError> {
    let Value::Object(stmt) = value else {
        return Err(PolicyError::new(format!("{path} must be an object")));
    };
    if let Some(key) = stmt.keys().find(|k| !STATEMENT_KEYS.contains(&k.as_str())) {
        return Err(PolicyError::new(format!(
            "{path} has unknown key \"{key}\" (allowed: {})",
            STATEMENT_KEYS.join(", ")
        )));
    }
    let sid = match stmt.get("Sid") {
        None => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err(PolicyError::new(format!("{path}.Sid must be a string"))),
    };
    let effect = match stmt.get("Effect") {
        None => return Err(PolicyError::new(format!("{path}.Effect is required"))),
        Some(Value::String(s)) if s == "Allow" => Effect::Allow,
        Some(Value::String(s)) if s == "Deny" => Effect::Deny,
        Some(_) => {
            return Err(PolicyError::new(format!(
                "{path}.Effect must be Allow or Deny"
            )))
        }
    };

    let Some(action) = pick_one(stmt, path, "Action", "NotAction")? else {
        return Err(PolicyError::new(format!(
            "{path} must have exactly one of Action or NotAction"
        )));
    };
    for (i, a) in action.patterns().iter().enumerate() {
        if !valid_action(a) {
            let field = match action {
                Names::Only(_) => "Action",
                Names::Not(_) => "NotAction",
            };
            return Err(PolicyError::new(format!(
                "{path}.{field}[{i}] \"{a}\" must be \"*\" or of the form service:ActionName"
            )));
        }
    }

    let resource = pick_one(stmt, path, "Resource", "NotResource")?;
    if let Some(names) = &resource {
        for (i, r) in names.patterns().iter().enumerate() {
            if !valid_resource(r) {
                let field = match names {
                    Names::Only(_) => "Resource",
                    Names::Not(_) => "NotResource",
                };
                return Err(PolicyError::new(format!(
                    "{path}.{field}[{i}] \"{r}\" must be \"*\" or of the form \
                     acs:service:region:account:relative-id"
                )));
            }
        }
    }

    let principal = match (kind, stmt.get("Principal")) {
        (DocumentKind::Trust, None) => {
            return Err(PolicyError::new(format!(
                "{path}.Principal is required in a trust policy"
            )))
        }
        (DocumentKind::Trust, Some(p)) => Some(parse_principal(p, &format!("{path}.Principal"))?),
        (_, Some(_)) => {
            return Err(PolicyError::new(format!(
                "{path}.Principal is not allowed in a permission policy"
            )))
        }
        (_, None) => None,
    };
    if kind != DocumentKind::Trust && resource.is_none() {
        return Err(PolicyError::new(format!(
            "{path} must have exactly one of Resource or NotResource"
        )));
    }

    let condition = match stmt.get("Condition") {
        None => Vec::new(),
        Some(c) => parse_condition(c, &format!("{path}.Condition"))?,
    };

    Ok(Statement {
        sid,
        effect,
        action,
        resource,
        principal,
        condition,
    })
}

/// Reads whichever of `only` / `not` is present; both present is an error.
fn pick_one(
    stmt: &Map<String, Value>,
    path: &str,
    only: &str,
    not: &str,
) -> Result<Option<Names>, PolicyError> {
    match (stmt.get(only), stmt.get(not)) {
        (Some(_), Some(_)) => Err(PolicyError::new(format!(
            "{path} must not have both {only} and {not}"
        ))),
        (Some(v), None) => Ok(Some(Names::Only(string_list(
            v,
            &format!("{path}.{only}"),
        )?))),
        (None, Some(v)) => Ok(Some(Names::Not(string_list(v, &format!("{path}.{not}"))?))),
        (None, None) => Ok(None),
    }
}

/// A string or a non-empty array of strings.
fn string_list(value: &Value, path: &str) -> Result<Vec<String>, PolicyError> {
    let bad = || {
        PolicyError::new(format!(
            "{path} must be a string or a non-empty array of strings"
        ))
    };
    match value {
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(items) if !items.is_empty() => items
            .iter()
            .enumerate()
            .map(|(i, item)| match item {
                Value::String(s) => Ok(s.clone()),
                _ => Err(PolicyError::new(format!("{path}[{i}] must be a string"))),
            })
            .collect(),
        _ => Err(bad()),
    }
}

/// `*`, or `service:ActionName` where both parts are non-empty (wildcards allowed).
fn valid_action(action: &str) -> bool {
    if action == "*" {
        return true;
    }
    let Some((service, name)) = action.split_once(':') else {
        return false;
    };
    !service.is_empty()
        && service
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '*' | '?'))
        && !name.is_empty()
        && !name.contains(':')
        && !name.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// `*`, or an ARN `acs:<service>:<region>:<account>:<relative-id>` (region and account may be
/// empty; the relative id may itself contain `:`).
fn valid_resource(resource: &str) -> bool {
    if resource == "*" {
        return true;
    }
    let parts: Vec<&str> = resource.splitn(5, ':').collect();
    parts.len() == 5
        && parts[0].eq_ignore_ascii_case("acs")
        && !parts[1].is_empty()
        && !parts[4].is_empty()
        && !resource.chars().any(char::is_control)
}

fn parse_principal(value: &Value, path: &str) -> Result<Principal, PolicyError> {
    let Value::Object(map) = value else {
        return Err(PolicyError::new(format!(
            "{path} must be an object with RAM, Service or Federated"
        )));
    };
    if map.is_empty() {
        return Err(PolicyError::new(format!(
            "{path} must name at least one of RAM, Service or Federated"
        )));
    }
    let mut principal = Principal::default();
    for (key, v) in map {
        let entry_path = format!("{path}.{key}");
        let list = match key.as_str() {
            "RAM" => &mut principal.ram,
            "Service" => &mut principal.service,
            "Federated" => &mut principal.federated,
            _ => {
                return Err(PolicyError::new(format!(
                    "{path} has unknown key \"{key}\" (allowed: RAM, Service, Federated)"
                )))
            }
        };
        let entries = string_list(v, &entry_path)?;
        for (i, e) in entries.iter().enumerate() {
            let ok = match key.as_str() {
                "RAM" => valid_ram_principal(e),
                _ => !e.is_empty() && !e.chars().any(|c| c.is_whitespace() || c.is_control()),
            };
            if !ok {
                let what = if key == "RAM" {
                    "must be \"*\", an account id or an ARN acs:ram::<account>:root|user/<name>|role/<name>"
                } else {
                    "must be a non-empty name without spaces"
                };
                return Err(PolicyError::new(format!(
                    "{entry_path}[{i}] \"{e}\" {what}"
                )));
            }
        }
        *list = entries;
    }
    Ok(principal)
}

fn valid_ram_principal(entry: &str) -> bool {
    if entry == "*" || (!entry.is_empty() && entry.bytes().all(|b| b.is_ascii_digit())) {
        return true;
    }
    let parts: Vec<&str> = entry.splitn(5, ':').collect();
    parts.len() == 5
        && parts[0].eq_ignore_ascii_case("acs")
        && parts[1].eq_ignore_ascii_case("ram")
        && !parts[3].is_empty()
        && !parts[4].is_empty()
        && !entry.chars().any(|c| c.is_whitespace() || c.is_control())
}

fn parse_condition(value: &Value, path: &str) -> Result<Vec<ConditionClause>, PolicyError> {
    let Value::Object(ops) = value else {
        return Err(PolicyError::new(format!(
            "{path} must be an object of condition operators"
        )));
    };
    let mut clauses = Vec::new();
    for (op_name, block) in ops {
        let Some(operator) = Operator::parse(op_name) else {
            return Err(PolicyError::new(format!(
                "{path} has unknown operator \"{op_name}\""
            )));
        };
        let op_path = format!("{path}.{op_name}");
        let Value::Object(keys) = block else {
            return Err(PolicyError::new(format!(
                "{op_path} must be an object of condition keys"
            )));
        };
        for (key, v) in keys {
            if key.trim().is_empty() {
                return Err(PolicyError::new(format!(
                    "{op_path} has an empty condition key"
                )));
            }
            let key_path = format!("{op_path}.{key}");
            let values = condition_values(v, &key_path)?;
            for value in &values {
                if let Err(why) = check_value(operator.kind, value) {
                    return Err(PolicyError::new(format!(
                        "{key_path} value \"{value}\" {why} for {op_name}"
                    )));
                }
            }
            clauses.push(ConditionClause {
                operator,
                key: key.clone(),
                values,
            });
        }
    }
    Ok(clauses)
}

/// A string, number or boolean, or a non-empty array of them; numbers and booleans keep their
/// JSON text.
fn condition_values(value: &Value, path: &str) -> Result<Vec<String>, PolicyError> {
    let scalar = |v: &Value| match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    };
    let bad = || {
        PolicyError::new(format!(
            "{path} must be a string, number or boolean, or a non-empty array of them"
        ))
    };
    match value {
        Value::Array(items) if !items.is_empty() => {
            items.iter().map(|v| scalar(v).ok_or_else(bad)).collect()
        }
        Value::Array(_) => Err(bad()),
        other => scalar(other).map(|s| vec![s]).ok_or_else(bad),
    }
}

/// True when `text` opens more than `max` arrays/objects at once. A linear scan that knows
/// strings and escapes, so it never recurses; on text that is not JSON its answer does not
/// matter, since serde rejects that text anyway.
fn nesting_exceeds(text: &str, max: usize) -> bool {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for b in text.bytes() {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > max {
                    return true;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    false
}

/// A JSON value read with duplicate object keys refused (`serde_json` would silently keep the
/// last one, which would make `{"Effect":"Deny","Effect":"Allow"}` an Allow).
struct StrictValue(Value);

impl<'de> Deserialize<'de> for StrictValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(StrictVisitor)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = StrictValue;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<StrictValue, E> {
        Ok(StrictValue(Value::Bool(v)))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<StrictValue, E> {
        Ok(StrictValue(Value::Number(v.into())))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<StrictValue, E> {
        Ok(StrictValue(Value::Number(v.into())))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<StrictValue, E> {
        Number::from_f64(v)
            .map(|n| StrictValue(Value::Number(n)))
            .ok_or_else(|| E::custom("number out of range"))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<StrictValue, E> {
        Ok(StrictValue(Value::String(v.to_owned())))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<StrictValue, E> {
        Ok(StrictValue(Value::String(v)))
    }

    fn visit_unit<E: de::Error>(self) -> Result<StrictValue, E> {
        Ok(StrictValue(Value::Null))
    }

    fn visit_none<E: de::Error>(self) -> Result<StrictValue, E> {
        Ok(StrictValue(Value::Null))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<StrictValue, A::Error> {
        let mut items = Vec::new();
        while let Some(StrictValue(v)) = seq.next_element()? {
            items.push(v);
        }
        Ok(StrictValue(Value::Array(items)))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<StrictValue, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if out.contains_key(&key) {
                return Err(de::Error::custom(format!("duplicate key \"{key}\"")));
            }
            let StrictValue(v) = map.next_value()?;
            out.insert(key, v);
        }
        Ok(StrictValue(Value::Object(out)))
    }
}
