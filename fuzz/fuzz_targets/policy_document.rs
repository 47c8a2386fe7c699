//! The policy parser for every document kind, and evaluation of whatever parses.
#![no_main]
use acsemu::auth::policy::{self, ConditionKeys, DocumentKind, NamedPolicy, RequestContext};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    for kind in [DocumentKind::Permission, DocumentKind::Trust, DocumentKind::Session] {
        if let Ok(doc) = policy::parse(&text, kind) {
            let mut keys = ConditionKeys::new();
            keys.set("acs:SourceIp", vec!["10.0.0.1".to_string()]);
            keys.set("acs:CurrentTime", vec!["2024-01-01T00:00:00Z".to_string()]);
            let ctx = RequestContext {
                action: "ram:CreateRole",
                resource: "acs:ram:*:1234567890123456:role/x",
                keys: &keys,
            };
            let named = [NamedPolicy { name: "p", policy_type: "Custom", document: &doc }];
            let _ = policy::evaluate(&named, &ctx);
        }
    }
});
