//! The RAM policy engine: documents, conditions and evaluation. Pure: no I/O, no HTTP, no SQL.
//!
//! Implements `reference/policy.md`:
//! - [`document`] parses and validates a policy text (permission, trust or STS session policy)
//!   into a [`PolicyDocument`], answering a [`PolicyError`] that says exactly what is wrong;
//! - [`condition`] holds the `Condition` operators and their evaluation;
//! - [`eval`] decides a request against a set of policies ([`evaluate`]), an STS session
//!   ([`evaluate_session`]) or a role's trust policy ([`trusts`]), and reports the statement that
//!   decided, so that a denial can say why.

pub mod condition;
pub mod document;
pub mod eval;

#[cfg(test)]
mod cases;
#[cfg(test)]
mod props;

pub use condition::{ConditionClause, Operator, OperatorKind};
pub use document::{
    parse, DocumentKind, Effect, Names, PolicyDocument, PolicyError, Principal, Statement,
};
pub use eval::{
    evaluate, evaluate_session, trusts, ConditionKeys, Decision, NamedPolicy, RequestContext,
    StatementRef, TrustedCaller,
};

/// Matches `text` against a `pattern` where `*` matches any sequence of characters (also
/// none) and `?` exactly one character; every other character matches itself (compared
/// case-insensitively when `ignore_case`). There is no escape: RAM has none.
///
/// Iterative, with single-star backtracking: O(len(pattern) * len(text)) in the worst case and
/// no recursion, so a hostile pattern cannot blow the stack.
#[must_use]
pub fn wildcard_match(pattern: &str, text: &str, ignore_case: bool) -> bool {
    if pattern == "*" {
        return true;
    }
    let (p, t): (Vec<char>, Vec<char>) = if ignore_case {
        (
            pattern.to_lowercase().chars().collect(),
            text.to_lowercase().chars().collect(),
        )
    } else {
        (pattern.chars().collect(), text.chars().collect())
    };
    let (mut pi, mut ti) = (0usize, 0usize);
    // Position of the last `*` seen in the pattern and the text position it was tried at.
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match p.get(pi) {
            Some('*') => {
                star = Some((pi, ti));
                pi += 1;
            }
            Some(&c) if c == '?' || c == t[ti] => {
                pi += 1;
                ti += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    // Let the last star swallow one more character and retry after it.
                    pi = sp + 1;
                    ti = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}
