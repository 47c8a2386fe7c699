//! `Condition` blocks: operators, value checks and evaluation (`reference/policy.md`,
//! "Condition").
//!
//! A statement's `Condition` is `{"<Operator>": {"<key>": value-or-array}}`. It is kept as a
//! flat list of [`ConditionClause`]s, one per (operator, key) pair, all of which must hold
//! (operators AND-ed, keys within an operator AND-ed); the values of one clause are OR-ed.
//!
//! Keys are compared case-insensitively and treated generically: the evaluator knows no key.
//! The keys the emulator supplies (see `reference/policy.md`) are:
//! - `acs:SourceIp` — the caller's IP address (`IpAddress` / `NotIpAddress`);
//! - `acs:SourceVpc`, `acs:SourceVpcIp` — the VPC id and VPC IP of a request from inside a VPC;
//! - `acs:CurrentTime` — the request time, RFC 3339 (`Date*` operators);
//! - `acs:SecureTransport` — `"true"` when the request came over HTTPS (`Bool`);
//! - `acs:MFAPresent` — `"true"` when the caller signed in with MFA (`Bool`);
//! - `acs:AccessId` — the `AccessKeyId` that signed the request;
//! - `acs:PrincipalARN` — the caller's ARN;
//! - `sts:ExternalId` — the `ExternalId` of an `AssumeRole` call (trust policies);
//! - `ram:TargetService` — the service a role is passed to (`ram:PassRole`);
//! - `oss:Prefix`, `oss:Delimiter` — the listing parameters of OSS `ListObjects`;
//! - `ecs:tag/<key>` — the value of the ECS resource tag `<key>`.
//!
//! Request keys may carry several values: a positive operator holds when ANY request value
//! matches ANY condition value; a negated one (`StringNotEquals`, `StringNotLike`,
//! `StringNotEqualsIgnoreCase`, `NumericNotEquals`, `DateNotEquals`, `NotIpAddress`) holds
//! when NO request value matches any condition value. A missing key (or one set with no
//! values) makes a positive operator false and a negated one true; every operator also has an
//! `...IfExists` form that is true when the key is missing and otherwise behaves as its base.
//! A value that cannot be read as its operator's type (a number, a date, a boolean or an IP
//! address) makes its comparison false, whatever the operator: for a negated operator an
//! unreadable request value makes the clause false.

use std::net::IpAddr;

use chrono::{DateTime, NaiveDate, Utc};
use ipnet::IpNet;

use super::eval::ConditionKeys;
use super::wildcard_match;

/// The condition operators of `reference/policy.md`, without the `IfExists` suffix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OperatorKind {
    StringEquals,
    StringNotEquals,
    StringEqualsIgnoreCase,
    StringNotEqualsIgnoreCase,
    StringLike,
    StringNotLike,
    NumericEquals,
    NumericNotEquals,
    NumericLessThan,
    NumericLessThanEquals,
    NumericGreaterThan,
    NumericGreaterThanEquals,
    DateEquals,
    DateNotEquals,
    DateLessThan,
    DateLessThanEquals,
    DateGreaterThan,
    DateGreaterThanEquals,
    Bool,
    IpAddress,
    NotIpAddress,
}

/// What a condition value of an operator must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueType {
    String,
    Numeric,
    Date,
    Bool,
    Ip,
}

impl OperatorKind {
    /// Every operator, in the order of `reference/policy.md`.
    pub const ALL: [OperatorKind; 21] = [
        Self::StringEquals,
        Self::StringNotEquals,
        Self::StringEqualsIgnoreCase,
        Self::StringNotEqualsIgnoreCase,
        Self::StringLike,
        Self::StringNotLike,
        Self::NumericEquals,
        Self::NumericNotEquals,
        Self::NumericLessThan,
        Self::NumericLessThanEquals,
        Self::NumericGreaterThan,
        Self::NumericGreaterThanEquals,
        Self::DateEquals,
        Self::DateNotEquals,
        Self::DateLessThan,
        Self::DateLessThanEquals,
        Self::DateGreaterThan,
        Self::DateGreaterThanEquals,
        Self::Bool,
        Self::IpAddress,
        Self::NotIpAddress,
    ];

    /// The operator's name as written in a policy.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::StringEquals => "StringEquals",
            Self::StringNotEquals => "StringNotEquals",
            Self::StringEqualsIgnoreCase => "StringEqualsIgnoreCase",
            Self::StringNotEqualsIgnoreCase => "StringNotEqualsIgnoreCase",
            Self::StringLike => "StringLike",
            Self::StringNotLike => "StringNotLike",
            Self::NumericEquals => "NumericEquals",
            Self::NumericNotEquals => "NumericNotEquals",
            Self::NumericLessThan => "NumericLessThan",
            Self::NumericLessThanEquals => "NumericLessThanEquals",
            Self::NumericGreaterThan => "NumericGreaterThan",
            Self::NumericGreaterThanEquals => "NumericGreaterThanEquals",
            Self::DateEquals => "DateEquals",
            Self::DateNotEquals => "DateNotEquals",
            Self::DateLessThan => "DateLessThan",
            Self::DateLessThanEquals => "DateLessThanEquals",
            Self::DateGreaterThan => "DateGreaterThan",
            Self::DateGreaterThanEquals => "DateGreaterThanEquals",
            Self::Bool => "Bool",
            Self::IpAddress => "IpAddress",
            Self::NotIpAddress => "NotIpAddress",
        }
    }

    /// The operator with exactly this name (case-sensitive, as RAM writes them), if any.
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == name)
    }

    /// Whether the operator is a negation (true for a missing key; see the module docs).
    #[must_use]
    pub fn is_negated(self) -> bool {
        matches!(
            self,
            Self::StringNotEquals
                | Self::StringNotEqualsIgnoreCase
                | Self::StringNotLike
                | Self::NumericNotEquals
                | Self::DateNotEquals
                | Self::NotIpAddress
        )
    }

    /// The positive operator a negated one negates; itself for a positive operator.
    #[must_use]
    pub fn positive(self) -> Self {
        match self {
            Self::StringNotEquals => Self::StringEquals,
            Self::StringNotEqualsIgnoreCase => Self::StringEqualsIgnoreCase,
            Self::StringNotLike => Self::StringLike,
            Self::NumericNotEquals => Self::NumericEquals,
            Self::DateNotEquals => Self::DateEquals,
            Self::NotIpAddress => Self::IpAddress,
            other => other,
        }
    }

    /// The type its values must have.
    #[must_use]
    pub fn value_type(self) -> ValueType {
        match self {
            Self::StringEquals
            | Self::StringNotEquals
            | Self::StringEqualsIgnoreCase
            | Self::StringNotEqualsIgnoreCase
            | Self::StringLike
            | Self::StringNotLike => ValueType::String,
            Self::NumericEquals
            | Self::NumericNotEquals
            | Self::NumericLessThan
            | Self::NumericLessThanEquals
            | Self::NumericGreaterThan
            | Self::NumericGreaterThanEquals => ValueType::Numeric,
            Self::DateEquals
            | Self::DateNotEquals
            | Self::DateLessThan
            | Self::DateLessThanEquals
            | Self::DateGreaterThan
            | Self::DateGreaterThanEquals => ValueType::Date,
            Self::Bool => ValueType::Bool,
            Self::IpAddress | Self::NotIpAddress => ValueType::Ip,
        }
    }
}

/// A condition operator as written in a policy: a base operator, maybe with `IfExists`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Operator {
    pub kind: OperatorKind,
    /// `...IfExists`: true when the key is missing, else as `kind`.
    pub if_exists: bool,
}

impl Operator {
    /// Reads an operator name such as `StringEquals` or `DateLessThanIfExists`.
    #[must_use]
    pub fn parse(name: &str) -> Option<Self> {
        if let Some(kind) = OperatorKind::from_name(name) {
            return Some(Self {
                kind,
                if_exists: false,
            });
        }
        let base = name.strip_suffix("IfExists")?;
        OperatorKind::from_name(base).map(|kind| Self {
            kind,
            if_exists: true,
        })
    }

    /// The name as written in a policy.
    #[must_use]
    pub fn name(&self) -> String {
        if self.if_exists {
            format!("{}IfExists", self.kind.name())
        } else {
            self.kind.name().to_owned()
        }
    }
}

/// One (operator, key) pair of a `Condition` block with its condition values (OR-ed).
/// Numbers and booleans in the document are kept in their JSON text form (`10`, `true`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConditionClause {
    pub operator: Operator,
    /// The key as written in the policy (compared case-insensitively).
    pub key: String,
    pub values: Vec<String>,
}

impl ConditionClause {
    /// Whether the clause holds for the request's condition keys (see the module docs).
    #[must_use]
    pub fn holds(&self, keys: &ConditionKeys) -> bool {
        let kind = self.operator.kind;
        let request_values = match keys.get(&self.key) {
            Some(values) if !values.is_empty() => values,
            _ => return self.operator.if_exists || kind.is_negated(),
        };
        let positive = kind.positive();
        if kind.is_negated() {
            // True only when every comparison could be made and none matched.
            request_values.iter().all(|request| {
                self.values
                    .iter()
                    .all(|cond| compare(positive, request, cond) == Some(false))
            })
        } else {
            request_values.iter().any(|request| {
                self.values
                    .iter()
                    .any(|cond| compare(positive, request, cond) == Some(true))
            })
        }
    }
}

/// Checks that a condition value can be read as its operator's type; the error says why not.
pub(crate) fn check_value(kind: OperatorKind, value: &str) -> Result<(), String> {
    let ok = match kind.value_type() {
        ValueType::String => true,
        ValueType::Numeric => parse_number(value).is_some(),
        ValueType::Date => parse_date(value).is_some(),
        ValueType::Bool => parse_bool(value).is_some(),
        ValueType::Ip => parse_ip_net(value).is_some(),
    };
    if ok {
        Ok(())
    } else {
        let what = match kind.value_type() {
            ValueType::String => "a string",
            ValueType::Numeric => "a number",
            ValueType::Date => {
                "a date (RFC 3339, e.g. 2019-08-12T17:00:00+08:00, or epoch seconds)"
            }
            ValueType::Bool => "true or false",
            ValueType::Ip => "an IP address or CIDR block",
        };
        Err(format!("must be {what}"))
    }
}

/// One comparison of a request value with a condition value under a POSITIVE operator.
/// `None` when either cannot be read as the operator's type.
fn compare(kind: OperatorKind, request: &str, cond: &str) -> Option<bool> {
    use std::cmp::Ordering;
    let ordering_ok = |o: Ordering| -> bool {
        match kind {
            OperatorKind::NumericEquals | OperatorKind::DateEquals => o == Ordering::Equal,
            OperatorKind::NumericLessThan | OperatorKind::DateLessThan => o == Ordering::Less,
            OperatorKind::NumericLessThanEquals | OperatorKind::DateLessThanEquals => {
                o != Ordering::Greater
            }
            OperatorKind::NumericGreaterThan | OperatorKind::DateGreaterThan => {
                o == Ordering::Greater
            }
            OperatorKind::NumericGreaterThanEquals | OperatorKind::DateGreaterThanEquals => {
                o != Ordering::Less
            }
            _ => false,
        }
    };
    match kind.value_type() {
        ValueType::String => Some(match kind {
            OperatorKind::StringEqualsIgnoreCase => request.to_lowercase() == cond.to_lowercase(),
            OperatorKind::StringLike => wildcard_match(cond, request, false),
            _ => request == cond,
        }),
        ValueType::Numeric => {
            let (r, c) = (parse_number(request)?, parse_number(cond)?);
            r.partial_cmp(&c).map(ordering_ok)
        }
        ValueType::Date => {
            let (r, c) = (parse_date(request)?, parse_date(cond)?);
            Some(ordering_ok(r.cmp(&c)))
        }
        ValueType::Bool => Some(parse_bool(request)? == parse_bool(cond)?),
        ValueType::Ip => {
            let addr: IpAddr = request.parse().ok()?;
            let net = parse_ip_net(cond)?;
            let mapped = match addr {
                IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4),
                IpAddr::V4(_) => None,
            };
            Some(net.contains(&addr) || mapped.is_some_and(|v4| net.contains(&v4)))
        }
    }
}

fn parse_number(s: &str) -> Option<f64> {
    let n: f64 = s.parse().ok()?;
    n.is_finite().then_some(n)
}

fn parse_bool(s: &str) -> Option<bool> {
    if s.eq_ignore_ascii_case("true") {
        Some(true)
    } else if s.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

/// Dates: RFC 3339 (`2019-08-12T17:00:00+08:00`, `2019-08-12T09:00:00Z`, fractions allowed),
/// ISO 8601 with a `+hhmm` offset, a bare date (midnight UTC), or integer epoch seconds.
pub(crate) fn parse_date(s: &str) -> Option<DateTime<Utc>> {
    if let Ok(d) = DateTime::parse_from_rfc3339(s) {
        return Some(d.with_timezone(&Utc));
    }
    if let Ok(d) = DateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f%z") {
        return Some(d.with_timezone(&Utc));
    }
    let digits = s.strip_prefix('-').unwrap_or(s);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        return s
            .parse::<i64>()
            .ok()
            .and_then(|secs| DateTime::from_timestamp(secs, 0));
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|d| d.and_utc())
}

/// An IP condition value: a CIDR block or a single address (a /32 or /128).
fn parse_ip_net(s: &str) -> Option<IpNet> {
    s.parse::<IpNet>()
        .ok()
        .or_else(|| s.parse::<IpAddr>().ok().map(IpNet::from))
}
