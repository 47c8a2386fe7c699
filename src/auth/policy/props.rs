//! Property tests of the policy engine: monotonicity of Deny and Allow, sessions never widen,
//! and `parse` never panics.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use serde_json::{json, Value};

use super::*;

const ACTIONS: &[&str] = &[
    "*",
    "ram:*",
    "ram:Get*",
    "ram:GetRole",
    "RAM:createrole",
    "ecs:*",
    "*:Describe*",
    "oss:?etObject",
    "sts:AssumeRole",
];
const RESOURCES: &[&str] = &[
    "*",
    "acs:ram:*:*:role/*",
    "acs:ram::123:role/dev*",
    "acs:ram:*:123:user/alice",
    "acs:oss:*:*:b/*",
    "acs:oss:*:*:b",
    "acs:ecs:cn-hangzhou:*:instance/*",
];
const CONDITIONS: &[&str] = &[
    r#"{"IpAddress":{"acs:SourceIp":"10.0.0.0/8"}}"#,
    r#"{"NotIpAddress":{"acs:SourceIp":["10.0.0.0/8","192.168.0.0/16"]}}"#,
    r#"{"StringEqualsIfExists":{"ecs:tag/env":"prod"}}"#,
    r#"{"StringEquals":{"ecs:tag/env":["prod","dev"]}}"#,
    r#"{"StringNotLike":{"oss:Prefix":"tmp/*"}}"#,
    r#"{"Bool":{"acs:SecureTransport":"true"}}"#,
    r#"{"DateLessThan":{"acs:CurrentTime":"2025-01-01T00:00:00Z"}}"#,
    r#"{"NumericGreaterThanEquals":{"ecs:tag/n":5}}"#,
];
const REQUEST_ACTIONS: &[&str] = &[
    "ram:GetRole",
    "ram:CreateRole",
    "ecs:DescribeInstances",
    "oss:GetObject",
    "oss:PutObject",
    "sts:AssumeRole",
];
const REQUEST_RESOURCES: &[&str] = &[
    "acs:ram:*:123:role/DevRole",
    "acs:ram::123:role/devops",
    "acs:ram:*:123:user/alice",
    "acs:oss:*:123:b/k",
    "acs:oss:*:123:b",
    "acs:ecs:cn-hangzhou:123:instance/i-1",
    "*",
];
const KEYS: &[(&str, &[&str])] = &[
    ("acs:SourceIp", &["10.1.2.3"]),
    ("acs:SourceIp", &["8.8.8.8", "192.168.1.1"]),
    ("ecs:tag/env", &["prod"]),
    ("ecs:tag/env", &["test"]),
    ("oss:Prefix", &["tmp/x"]),
    ("oss:Prefix", &["home/"]),
    ("acs:SecureTransport", &["true"]),
    ("acs:SecureTransport", &["false"]),
    ("acs:CurrentTime", &["2024-06-01T00:00:00Z"]),
    ("acs:CurrentTime", &["2026-06-01T00:00:00Z"]),
    ("ecs:tag/n", &["7"]),
    ("ecs:tag/n", &["x"]),
];

fn pick(list: &'static [&'static str]) -> impl Strategy<Value = &'static str> {
    proptest::sample::select(list)
}

fn names(list: &'static [&'static str]) -> impl Strategy<Value = Value> {
    prop_oneof![
        pick(list).prop_map(|s| json!(s)),
        proptest::collection::vec(pick(list), 1..4).prop_map(|v| json!(v)),
    ]
}

/// A statement's JSON with the given effect.
fn statement(effect: &'static str) -> impl Strategy<Value = Value> {
    (
        any::<bool>(),
        names(ACTIONS),
        any::<bool>(),
        names(RESOURCES),
        proptest::option::of(pick(CONDITIONS)),
    )
        .prop_map(move |(not_action, action, not_resource, resource, cond)| {
            let mut s = serde_json::Map::new();
            s.insert("Effect".into(), json!(effect));
            s.insert(
                if not_action { "NotAction" } else { "Action" }.into(),
                action,
            );
            s.insert(
                if not_resource {
                    "NotResource"
                } else {
                    "Resource"
                }
                .into(),
                resource,
            );
            if let Some(c) = cond {
                s.insert("Condition".into(), serde_json::from_str(c).unwrap());
            }
            Value::Object(s)
        })
}

fn any_statement() -> impl Strategy<Value = Value> {
    prop_oneof![statement("Allow"), statement("Deny")]
}

fn document(statements: Vec<Value>) -> PolicyDocument {
    #![allow(clippy::needless_pass_by_value)] // used as a prop_map function
    let text = json!({"Version": "1", "Statement": statements}).to_string();
    parse(&text, DocumentKind::Permission).unwrap()
}

fn policies() -> impl Strategy<Value = Vec<PolicyDocument>> {
    proptest::collection::vec(
        proptest::collection::vec(any_statement(), 1..4).prop_map(document),
        0..4,
    )
}

fn request_keys() -> impl Strategy<Value = ConditionKeys> {
    proptest::sample::subsequence(KEYS, 0..=KEYS.len()).prop_map(|chosen| {
        let mut keys = ConditionKeys::new();
        for (k, values) in chosen {
            let mut all = keys.get(k).map(<[String]>::to_vec).unwrap_or_default();
            all.extend(values.iter().map(|v| (*v).to_owned()));
            keys.set(k, all);
        }
        keys
    })
}

#[derive(Debug)]
struct Request {
    action: &'static str,
    resource: &'static str,
    keys: ConditionKeys,
}

fn request() -> impl Strategy<Value = Request> {
    (
        pick(REQUEST_ACTIONS),
        pick(REQUEST_RESOURCES),
        request_keys(),
    )
        .prop_map(|(action, resource, keys)| Request {
            action,
            resource,
            keys,
        })
}

fn named(docs: &[PolicyDocument]) -> Vec<NamedPolicy<'_>> {
    docs.iter()
        .map(|document| NamedPolicy {
            name: "P",
            policy_type: "Custom",
            document,
        })
        .collect()
}

fn eval(docs: &[PolicyDocument], r: &Request) -> Decision {
    let ctx = RequestContext {
        action: r.action,
        resource: r.resource,
        keys: &r.keys,
    };
    evaluate(&named(docs), &ctx)
}

/// Adds `statement` to the policy at `at` (or as a new policy when `at` is past the end).
fn with_statement(
    docs: &[PolicyDocument],
    statement: &Value,
    at: usize,
    pos: usize,
) -> Vec<PolicyDocument> {
    let added = document(vec![statement.clone()]).statements.remove(0);
    let mut docs = docs.to_vec();
    if let Some(doc) = docs.get_mut(at) {
        let pos = pos % (doc.statements.len() + 1);
        doc.statements.insert(pos, added);
    } else {
        docs.push(PolicyDocument {
            statements: vec![added],
        });
    }
    docs
}

fn arb_json() -> BoxedStrategy<Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| json!(f)),
        "\\PC{0,12}".prop_map(Value::String),
        pick(&[
            "1",
            "Allow",
            "Deny",
            "*",
            "ram:*",
            "acs:ram::1:root",
            "10.0.0.0/8",
            "true"
        ])
        .prop_map(|s| json!(s)),
    ];
    leaf.prop_recursive(6, 64, 6, |inner| {
        let keys = prop_oneof![
            pick(&[
                "Version",
                "Statement",
                "Sid",
                "Effect",
                "Action",
                "NotAction",
                "Resource",
                "NotResource",
                "Principal",
                "Condition",
                "RAM",
                "Service",
                "Federated",
                "StringEquals",
                "IpAddressIfExists",
                "DateLessThan",
                "Bool",
                "NumericEquals",
            ])
            .prop_map(str::to_owned),
            "\\PC{0,8}",
        ];
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::vec((keys, inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
    .boxed()
}

/// Policy-shaped JSON with arbitrary values, to reach the deeper validation paths.
fn policy_shaped() -> impl Strategy<Value = Value> {
    let stmt_key = pick(&[
        "Sid",
        "Effect",
        "Action",
        "NotAction",
        "Resource",
        "NotResource",
        "Principal",
        "Condition",
    ]);
    let stmt = proptest::collection::vec((stmt_key, arb_json()), 0..8)
        .prop_map(|kv| Value::Object(kv.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()))
        .boxed();
    (
        prop_oneof![Just(json!("1")), arb_json()],
        prop_oneof![
            proptest::collection::vec(stmt.clone(), 0..3).prop_map(Value::Array),
            stmt,
        ],
    )
        .prop_map(|(version, statement)| json!({"Version": version, "Statement": statement}))
}

const KINDS: [DocumentKind; 3] = [
    DocumentKind::Permission,
    DocumentKind::Trust,
    DocumentKind::Session,
];

proptest! {
    // No failure files: a failing case is printed, and the crate root is not ours to write.
    #![proptest_config(ProptestConfig {
        cases: 256,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn adding_a_deny_never_allows(
        docs in policies(),
        deny in statement("Deny"),
        at in 0usize..5,
        pos in 0usize..5,
        r in request(),
    ) {
        let before = eval(&docs, &r);
        let after = eval(&with_statement(&docs, &deny, at, pos), &r);
        if !before.is_allowed() {
            prop_assert!(!after.is_allowed(), "{before:?} -> {after:?}");
        }
        if before.is_explicit_deny() {
            prop_assert!(after.is_explicit_deny(), "{before:?} -> {after:?}");
        }
    }

    #[test]
    fn adding_an_allow_never_denies(
        docs in policies(),
        allow in statement("Allow"),
        at in 0usize..5,
        pos in 0usize..5,
        r in request(),
    ) {
        let before = eval(&docs, &r);
        let after = eval(&with_statement(&docs, &allow, at, pos), &r);
        if before.is_allowed() {
            prop_assert!(after.is_allowed(), "{before:?} -> {after:?}");
        }
        // Nor does it lift an explicit deny.
        if before.is_explicit_deny() {
            prop_assert!(after.is_explicit_deny(), "{before:?} -> {after:?}");
        }
    }

    #[test]
    fn a_session_never_widens(
        docs in policies(),
        session in proptest::collection::vec(any_statement(), 1..4).prop_map(document),
        r in request(),
    ) {
        let ctx = RequestContext { action: r.action, resource: r.resource, keys: &r.keys };
        let role = named(&docs);
        let session = NamedPolicy { name: "S", policy_type: "Session", document: &session };
        let both = evaluate_session(&role, Some(&session), &ctx);
        if both.is_allowed() {
            prop_assert!(evaluate(&role, &ctx).is_allowed());
            prop_assert!(evaluate(std::slice::from_ref(&session), &ctx).is_allowed());
        }
        prop_assert_eq!(evaluate_session(&role, None, &ctx), evaluate(&role, &ctx));
    }

    #[test]
    fn parse_never_panics_on_strings(text in "\\PC{0,200}") {
        for kind in KINDS {
            let _ = parse(&text, kind);
        }
    }

    #[test]
    fn parse_never_panics_on_bytes_like_json(text in "[\\[\\]{}\":,a-z0-9 \\\\]{0,300}") {
        for kind in KINDS {
            let _ = parse(&text, kind);
        }
    }

    #[test]
    fn parse_never_panics_on_json(value in arb_json()) {
        let text = value.to_string();
        for kind in KINDS {
            let _ = parse(&text, kind);
        }
    }

    #[test]
    fn parse_never_panics_on_policy_shaped_json(value in policy_shaped()) {
        let text = value.to_string();
        for kind in KINDS {
            if let Err(e) = parse(&text, kind) {
                prop_assert!(!e.message.is_empty());
            }
        }
    }

    #[test]
    fn generated_documents_round_trip_through_parse(docs in policies()) {
        // Every generated policy parsed (document() unwraps); their statements are non-empty.
        for d in &docs {
            prop_assert!(!d.statements.is_empty());
        }
    }

    #[test]
    fn wildcard_laws(text in "[a-zA-Z0-9/:._-]{0,20}", cut in 0usize..21) {
        prop_assert!(wildcard_match("*", &text, false));
        prop_assert!(wildcard_match(&text, &text, false));
        prop_assert!(wildcard_match(&text.to_uppercase(), &text, true));
        let cut = cut.min(text.len());
        let prefix = format!("{}*", &text[..cut]);
        prop_assert!(wildcard_match(&prefix, &text, false));
        let questions: String = text.chars().map(|_| '?').collect();
        prop_assert!(wildcard_match(&questions, &text, false));
        let one_more = format!("{questions}?");
        prop_assert!(!wildcard_match(&one_more, &text, false));
    }

    #[test]
    fn trust_deny_never_grants(
        allow_principal in pick(&["*", "acs:ram::123:root", "acs:ram::123:user/alice", "123"]),
        deny_principal in pick(&["*", "acs:ram::123:root", "acs:ram::123:user/alice", "acs:ram::123:role/dev"]),
        caller in pick(&["acs:ram::123:user/alice", "acs:ram::123:user/bob", "acs:ram::123:assumed-role/dev/s", "acs:ram::456:user/alice"]),
    ) {
        let account = caller.split(':').nth(3).unwrap();
        let allow_only = json!({"Version":"1","Statement":[
            {"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"RAM":allow_principal}}]});
        let with_deny = json!({"Version":"1","Statement":[
            {"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"RAM":allow_principal}},
            {"Effect":"Deny","Action":"sts:*","Principal":{"RAM":deny_principal}}]});
        let c = TrustedCaller::Ram { principal_arn: caller, account_id: account };
        let keys = ConditionKeys::new();
        let a = trusts(&parse(&allow_only.to_string(), DocumentKind::Trust).unwrap(), &c, "sts:AssumeRole", &keys);
        let b = trusts(&parse(&with_deny.to_string(), DocumentKind::Trust).unwrap(), &c, "sts:AssumeRole", &keys);
        if b.is_allowed() {
            prop_assert!(a.is_allowed());
        }
    }
}
