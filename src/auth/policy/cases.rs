//! Table-driven tests of the policy engine: evaluation, sessions, trust and parse rejections.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;

const ACCT: &str = "1234567890123456";
const OTHER: &str = "6543210987654321";
const ROLE: &str = "acs:ram:*:1234567890123456:role/EcsRamRoleTest";
const USER: &str = "acs:ram:*:1234567890123456:user/alice";
const ANY_ACTION: &str = "ecs:DescribeInstances";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Want {
    Allow,
    Deny,
    Implicit,
    /// Allowed, by this policy (`P<n>` or `Session`) and statement index.
    AllowBy(&'static str, usize),
    /// Explicitly denied by this policy and statement index.
    DenyBy(&'static str, usize),
}

use Want::{Allow, AllowBy, Deny, DenyBy, Implicit};

fn check(want: Want, got: &Decision) -> bool {
    match (want, got) {
        (Allow, Decision::Allow(_))
        | (Deny, Decision::ExplicitDeny(_))
        | (Implicit, Decision::ImplicitDeny) => true,
        (AllowBy(p, i), Decision::Allow(s)) | (DenyBy(p, i), Decision::ExplicitDeny(s)) => {
            s.policy_name == p && s.index == i
        }
        _ => false,
    }
}

/// Keys as `key=v1,v2;key2=v3` (`key=` sets the key with no values).
fn keys(spec: &str) -> ConditionKeys {
    let mut k = ConditionKeys::new();
    for part in spec.split(';').filter(|p| !p.is_empty()) {
        let (key, values) = part.split_once('=').unwrap();
        let values = if values.is_empty() {
            vec![]
        } else {
            values.split(',').map(str::to_owned).collect()
        };
        k.set(key, values);
    }
    k
}

fn pol(statements: &[String]) -> String {
    format!(
        r#"{{"Version":"1","Statement":[{}]}}"#,
        statements.join(",")
    )
}

fn stmt(effect: &str, action: &str, resource: &str) -> String {
    format!(r#"{{"Effect":"{effect}","Action":"{action}","Resource":"{resource}"}}"#)
}

fn allow(action: &str, resource: &str) -> String {
    stmt("Allow", action, resource)
}

fn deny(action: &str, resource: &str) -> String {
    stmt("Deny", action, resource)
}

fn with_cond(effect: &str, action: &str, resource: &str, cond: &str) -> String {
    format!(
        r#"{{"Effect":"{effect}","Action":"{action}","Resource":"{resource}","Condition":{cond}}}"#
    )
}

/// One policy with these statements.
fn one(statements: &[String]) -> Vec<String> {
    vec![pol(statements)]
}

struct Case {
    name: String,
    policies: Vec<String>,
    session: Option<String>,
    action: &'static str,
    resource: &'static str,
    keys: &'static str,
    want: Want,
}

fn case(
    name: &str,
    policies: Vec<String>,
    action: &'static str,
    resource: &'static str,
    want: Want,
) -> Case {
    Case {
        name: name.to_owned(),
        policies,
        session: None,
        action,
        resource,
        keys: "",
        want,
    }
}

fn session_case(
    name: &str,
    policies: Vec<String>,
    session: &str,
    action: &'static str,
    resource: &'static str,
    want: Want,
) -> Case {
    Case {
        session: Some(session.to_owned()),
        ..case(name, policies, action, resource, want)
    }
}

/// An Allow-everything statement guarded by `cond`, asked with `keys`.
fn cond_case(name: &str, cond: &str, keys: &'static str, want: Want) -> Case {
    Case {
        keys,
        ..case(
            name,
            one(&[with_cond("Allow", "*", "*", cond)]),
            ANY_ACTION,
            "*",
            want,
        )
    }
}

// One case per line: the table reads better unwrapped.
#[rustfmt::skip]
#[allow(clippy::too_many_lines)]
fn eval_cases() -> Vec<Case> {
    let admin = || allow("*", "*");
    vec![
        // --- actions and wildcards ---
        case("exact action", one(&[allow("ram:CreateRole", ROLE)]), "ram:CreateRole", ROLE, AllowBy("P0", 0)),
        case("other action", one(&[allow("ram:CreateRole", ROLE)]), "ram:DeleteRole", ROLE, Implicit),
        case("star everything", one(&[admin()]), "sts:AssumeRole", ROLE, Allow),
        case("service star", one(&[allow("ram:*", "*")]), "ram:CreateRole", ROLE, Allow),
        case("service star other service", one(&[allow("ram:*", "*")]), ANY_ACTION, "*", Implicit),
        case("prefix star", one(&[allow("ram:Get*", "*")]), "ram:GetRole", ROLE, Allow),
        case("prefix star no match", one(&[allow("ram:Get*", "*")]), "ram:ListRoles", ROLE, Implicit),
        case("any service Describe*", one(&[allow("*:Describe*", "*")]), ANY_ACTION, "*", Allow),
        case("any service Describe* no", one(&[allow("*:Describe*", "*")]), "ecs:CreateInstance", "*", Implicit),
        case("question mark", one(&[allow("ram:?etRole", "*")]), "ram:GetRole", ROLE, Allow),
        case("question mark needs a char", one(&[allow("ram:?etRole", "*")]), "ram:etRole", ROLE, Implicit),
        case("question mark one char only", one(&[allow("ram:?Role", "*")]), "ram:GetRole", ROLE, Implicit),
        case("action case-insensitive", one(&[allow("RAM:createrole", "*")]), "ram:CreateRole", ROLE, Allow),
        case("action upper wildcard", one(&[allow("Ram:CREATE*", "*")]), "ram:CreateRole", ROLE, Allow),
        case("request action case", one(&[allow("ram:CreateRole", "*")]), "RAM:CREATEROLE", ROLE, Allow),
        case(
            "action array second",
            one(&[r#"{"Effect":"Allow","Action":["ram:GetRole","ram:ListRoles"],"Resource":"*"}"#.into()]),
            "ram:ListRoles",
            "*",
            Allow,
        ),
        case("oss Get*", one(&[allow("oss:Get*", "*")]), "oss:GetObject", "acs:oss:*:*:b/k", Allow),
        case("oss Get* not Put", one(&[allow("oss:Get*", "*")]), "oss:PutObject", "acs:oss:*:*:b/k", Implicit),
        case("service wildcard", one(&[allow("e*:*", "*")]), ANY_ACTION, "*", Allow),
        case("no implicit prefix", one(&[allow("ram:Get", "*")]), "ram:GetRole", ROLE, Implicit),
        case("suffix star", one(&[allow("ram:*Role", "*")]), "ram:CreateRole", ROLE, Allow),
        case("suffix star exact end", one(&[allow("ram:*Role", "*")]), "ram:ListRoles", ROLE, Implicit),
        case("middle star", one(&[allow("ram:*Policy*Role", "*")]), "ram:AttachPolicyToRole", ROLE, Allow),
        case("star in service only", one(&[allow("*:GetRole", "*")]), "ram:GetRole", ROLE, Allow),
        case("service mismatch", one(&[allow("sts:GetRole", "*")]), "ram:GetRole", ROLE, Implicit),
        // --- resources ---
        case("exact resource", one(&[allow("*", ROLE)]), "ram:GetRole", ROLE, Allow),
        case("role name case-insensitive lower", one(&[allow("*", "acs:ram:*:1234567890123456:role/ecsramroletest")]), "ram:GetRole", ROLE, Allow),
        case("role name case-insensitive upper", one(&[allow("*", "acs:ram:*:1234567890123456:role/ECSRAMROLETEST")]), "ram:GetRole", ROLE, Allow),
        case("role wildcard lower", one(&[allow("*", "acs:ram:*:*:role/ecs*")]), "ram:GetRole", ROLE, Allow),
        case("role other name", one(&[allow("*", "acs:ram:*:*:role/Other")]), "ram:GetRole", ROLE, Implicit),
        case("user name case-sensitive", one(&[allow("*", "acs:ram:*:1234567890123456:user/Alice")]), "ram:GetUser", USER, Implicit),
        case("user exact", one(&[allow("*", USER)]), "ram:GetUser", USER, Allow),
        case("policy name case-sensitive", one(&[allow("*", "acs:ram:*:*:policy/readonly")]), "ram:GetPolicy", "acs:ram:*:1234567890123456:policy/ReadOnly", Implicit),
        case("policy wildcard", one(&[allow("*", "acs:ram:*:*:policy/*")]), "ram:GetPolicy", "acs:ram:*:1234567890123456:policy/ReadOnly", Allow),
        case("service case-insensitive", one(&[allow("*", "acs:RAM:*:1234567890123456:role/EcsRamRoleTest")]), "ram:GetRole", ROLE, Allow),
        case("acs prefix case-insensitive", one(&[allow("*", "ACS:ram:*:*:role/EcsRamRoleTest")]), "ram:GetRole", ROLE, Allow),
        case("empty region in pattern", one(&[allow("*", "acs:ram::1234567890123456:role/EcsRamRoleTest")]), "ram:GetRole", ROLE, Allow),
        case("empty account in pattern", one(&[allow("*", "acs:ram:*::role/EcsRamRoleTest")]), "ram:GetRole", ROLE, Allow),
        case("star region vs empty request region", one(&[allow("*", ROLE)]), "sts:AssumeRole", "acs:ram::1234567890123456:role/EcsRamRoleTest", Allow),
        case("empty vs empty region", one(&[allow("*", "acs:ram::1234567890123456:role/EcsRamRoleTest")]), "sts:AssumeRole", "acs:ram::1234567890123456:role/EcsRamRoleTest", Allow),
        case("account mismatch", one(&[allow("*", "acs:ram:*:6543210987654321:role/EcsRamRoleTest")]), "ram:GetRole", ROLE, Implicit),
        case("account wildcard", one(&[allow("*", "acs:ram:*:*:role/EcsRamRoleTest")]), "ram:GetRole", ROLE, Allow),
        case("role/* matches role", one(&[allow("*", "acs:ram:*:*:role/*")]), "ram:GetRole", ROLE, Allow),
        case("role/* not user", one(&[allow("*", "acs:ram:*:*:role/*")]), "ram:GetUser", USER, Implicit),
        case("account star relative", one(&[allow("*", "acs:ram:*:1234567890123456:*")]), "ram:GetRole", ROLE, Allow),
        case("list resource", one(&[allow("ram:List*", "acs:ram:*:1234567890123456:*")]), "ram:ListRoles", "acs:ram:*:1234567890123456:*", Allow),
        case("oss object under bucket", one(&[allow("oss:*", "acs:oss:*:*:mybucket/*")]), "oss:GetObject", "acs:oss:*:1234567890123456:mybucket/a/b.txt", Allow),
        case("oss bucket pattern not object", one(&[allow("oss:*", "acs:oss:*:*:mybucket")]), "oss:GetObject", "acs:oss:*:1234567890123456:mybucket/a", Implicit),
        case("oss bucket exact", one(&[allow("oss:*", "acs:oss:*:*:mybucket")]), "oss:ListObjects", "acs:oss:*:1234567890123456:mybucket", Allow),
        case("oss key case-sensitive", one(&[allow("oss:*", "acs:oss:*:*:mybucket/Docs/*")]), "oss:GetObject", "acs:oss:*:1234567890123456:mybucket/docs/x", Implicit),
        case("oss question mark", one(&[allow("oss:*", "acs:oss:*:*:my?ucket")]), "oss:ListObjects", "acs:oss:*:1234567890123456:mybucket", Allow),
        case("oss key with colon", one(&[allow("oss:*", "acs:oss:*:*:b/a:b*")]), "oss:GetObject", "acs:oss:*:1234567890123456:b/a:bc", Allow),
        case("oss other bucket", one(&[allow("oss:*", "acs:oss:*:*:mybucket/*")]), "oss:GetObject", "acs:oss:*:1234567890123456:mybucket2/a", Implicit),
        case("ecs region", one(&[allow("ecs:*", "acs:ecs:cn-hangzhou:*:instance/*")]), "ecs:StopInstance", "acs:ecs:cn-hangzhou:1234567890123456:instance/i-1", Allow),
        case("ecs other region", one(&[allow("ecs:*", "acs:ecs:cn-hangzhou:*:instance/*")]), "ecs:StopInstance", "acs:ecs:cn-beijing:1234567890123456:instance/i-1", Implicit),
        case("ecs region case-sensitive", one(&[allow("ecs:*", "acs:ecs:CN-HANGZHOU:*:instance/*")]), "ecs:StopInstance", "acs:ecs:cn-hangzhou:1234567890123456:instance/i-1", Implicit),
        case("ecs relative case-sensitive", one(&[allow("ecs:*", "acs:ecs:*:*:Instance/*")]), "ecs:StopInstance", "acs:ecs:cn-hangzhou:1234567890123456:instance/i-1", Implicit),
        case("ecs region wildcard", one(&[allow("ecs:*", "acs:ecs:cn-*:*:instance/i-?")]), "ecs:StopInstance", "acs:ecs:cn-hangzhou:1234567890123456:instance/i-1", Allow),
        case("resource star", one(&[allow("ecs:*", "*")]), "ecs:StopInstance", "acs:ecs:cn-hangzhou:1234567890123456:instance/i-1", Allow),
        case("five stars", one(&[allow("ecs:*", "acs:*:*:*:*")]), "ecs:StopInstance", "acs:ecs:cn-hangzhou:1234567890123456:instance/i-1", Allow),
        case("service field mismatch", one(&[allow("*", "acs:ecs:*:*:*")]), "ram:GetRole", ROLE, Implicit),
        case("request resource star vs arn pattern", one(&[allow("*", "acs:ram:*:*:*")]), "ram:ListRoles", "*", Implicit),
        case("request resource star vs star", one(&[allow("*", "*")]), "ram:ListRoles", "*", Allow),
        case(
            "resource array second",
            one(&[r#"{"Effect":"Allow","Action":"*","Resource":["acs:ram:*:*:user/*","acs:ram:*:*:role/*"]}"#.into()]),
            "ram:GetRole",
            ROLE,
            Allow,
        ),
        // --- NotAction ---
        case(
            "NotAction allows others",
            one(&[r#"{"Effect":"Allow","NotAction":"ram:*","Resource":"*"}"#.into()]),
            ANY_ACTION,
            "*",
            Allow,
        ),
        case(
            "NotAction excludes listed",
            one(&[r#"{"Effect":"Allow","NotAction":"ram:*","Resource":"*"}"#.into()]),
            "ram:CreateRole",
            ROLE,
            Implicit,
        ),
        case(
            "NotAction case-insensitive",
            one(&[r#"{"Effect":"Allow","NotAction":"RAM:*","Resource":"*"}"#.into()]),
            "ram:GetRole",
            ROLE,
            Implicit,
        ),
        case(
            "NotAction array",
            one(&[r#"{"Effect":"Allow","NotAction":["ram:*","ims:*"],"Resource":"*"}"#.into()]),
            "ims:GetUser",
            "*",
            Implicit,
        ),
        case(
            "Deny NotAction spares listed",
            one(&[admin(), r#"{"Effect":"Deny","NotAction":"ecs:Describe*","Resource":"*"}"#.into()]),
            ANY_ACTION,
            "*",
            AllowBy("P0", 0),
        ),
        case(
            "Deny NotAction hits others",
            one(&[admin(), r#"{"Effect":"Deny","NotAction":"ecs:Describe*","Resource":"*"}"#.into()]),
            "ecs:DeleteInstance",
            "*",
            DenyBy("P0", 1),
        ),
        case(
            "PowerUser-like NotAction",
            one(&[
                r#"{"Effect":"Allow","NotAction":["ram:*","ims:*","resourcemanager:*"],"Resource":"*"}"#.into(),
                allow("ram:CreateServiceLinkedRole", "*"),
            ]),
            "ram:CreateServiceLinkedRole",
            "*",
            AllowBy("P0", 1),
        ),
        // --- NotResource ---
        case(
            "NotResource allows others",
            one(&[r#"{"Effect":"Allow","Action":"*","NotResource":"acs:ram:*:*:role/Admin*"}"#.into()]),
            "ram:GetRole",
            ROLE,
            Allow,
        ),
        case(
            "NotResource excludes listed",
            one(&[r#"{"Effect":"Allow","Action":"*","NotResource":"acs:ram:*:*:role/Admin*"}"#.into()]),
            "ram:GetRole",
            "acs:ram:*:1234567890123456:role/AdminRole",
            Implicit,
        ),
        case(
            "NotResource role case-insensitive",
            one(&[r#"{"Effect":"Allow","Action":"*","NotResource":"acs:ram:*:*:role/ecsramroletest"}"#.into()]),
            "ram:GetRole",
            ROLE,
            Implicit,
        ),
        case(
            "Deny NotResource private",
            one(&[allow("oss:*", "*"), r#"{"Effect":"Deny","Action":"oss:*","NotResource":"acs:oss:*:*:public/*"}"#.into()]),
            "oss:GetObject",
            "acs:oss:*:1234567890123456:private/x",
            DenyBy("P0", 1),
        ),
        case(
            "Deny NotResource public ok",
            one(&[allow("oss:*", "*"), r#"{"Effect":"Deny","Action":"oss:*","NotResource":"acs:oss:*:*:public/*"}"#.into()]),
            "oss:GetObject",
            "acs:oss:*:1234567890123456:public/x",
            Allow,
        ),
        case(
            "NotAction and NotResource",
            one(&[r#"{"Effect":"Allow","NotAction":"ram:Delete*","NotResource":"acs:ram:*:*:user/*"}"#.into()]),
            "ram:GetRole",
            ROLE,
            Allow,
        ),
        case(
            "NotAction and NotResource excluded",
            one(&[r#"{"Effect":"Allow","NotAction":"ram:Delete*","NotResource":"acs:ram:*:*:user/*"}"#.into()]),
            "ram:GetUser",
            USER,
            Implicit,
        ),
        // --- precedence ---
        case("no policies", vec![], ANY_ACTION, "*", Implicit),
        case("deny beats allow", one(&[admin(), deny("ram:DeleteRole", "*")]), "ram:DeleteRole", ROLE, DenyBy("P0", 1)),
        case("deny elsewhere", one(&[admin(), deny("ram:DeleteRole", "*")]), "ram:GetRole", ROLE, AllowBy("P0", 0)),
        case("deny in other policy", vec![pol(&[admin()]), pol(&[deny("ram:*", ROLE)])], "ram:GetRole", ROLE, DenyBy("P1", 0)),
        case("deny first then allow", one(&[deny("*", "*"), admin()]), ANY_ACTION, "*", DenyBy("P0", 0)),
        case("first deny reported", one(&[admin(), deny("ecs:*", "*"), deny("*", "*")]), ANY_ACTION, "*", DenyBy("P0", 1)),
        case("deny in first policy wins over later allow", vec![pol(&[deny("ecs:*", "*")]), pol(&[admin()])], ANY_ACTION, "*", DenyBy("P0", 0)),
        case("allow from second policy", vec![pol(&[allow("ram:*", "*")]), pol(&[allow("ecs:*", "*")])], ANY_ACTION, "*", AllowBy("P1", 0)),
        case("first allow reported", one(&[allow("ecs:*", "*"), admin()]), ANY_ACTION, "*", AllowBy("P0", 0)),
        case("deny only", one(&[deny("ecs:*", "*")]), ANY_ACTION, "*", Deny),
        case("deny only other action", one(&[deny("ecs:*", "*")]), "ram:GetRole", ROLE, Implicit),
        case("deny on resource only", one(&[admin(), deny("*", "acs:ram:*:*:role/Ecs*")]), "ram:GetRole", ROLE, Deny),
        case("deny on other resource", one(&[admin(), deny("*", "acs:ram:*:*:role/Admin*")]), "ram:GetRole", ROLE, Allow),
        Case {
            keys: "acs:SourceIp=192.168.0.1",
            ..case(
                "deny with false condition skipped",
                one(&[admin(), with_cond("Deny", "*", "*", r#"{"IpAddress":{"acs:SourceIp":"10.0.0.0/8"}}"#)]),
                ANY_ACTION,
                "*",
                AllowBy("P0", 0),
            )
        },
        Case {
            keys: "acs:SourceIp=10.9.9.9",
            ..case(
                "deny with true condition",
                one(&[admin(), with_cond("Deny", "*", "*", r#"{"IpAddress":{"acs:SourceIp":"10.0.0.0/8"}}"#)]),
                ANY_ACTION,
                "*",
                DenyBy("P0", 1),
            )
        },
        Case {
            keys: "acs:SourceIp=8.8.8.8",
            ..case(
                "deny unless corp network: outside",
                one(&[admin(), with_cond("Deny", "*", "*", r#"{"NotIpAddress":{"acs:SourceIp":["10.0.0.0/8","192.168.0.0/16"]}}"#)]),
                ANY_ACTION,
                "*",
                Deny,
            )
        },
        Case {
            keys: "acs:SourceIp=192.168.3.4",
            ..case(
                "deny unless corp network: inside",
                one(&[admin(), with_cond("Deny", "*", "*", r#"{"NotIpAddress":{"acs:SourceIp":["10.0.0.0/8","192.168.0.0/16"]}}"#)]),
                ANY_ACTION,
                "*",
                Allow,
            )
        },
        case(
            "deny unless corp network: no ip",
            one(&[admin(), with_cond("Deny", "*", "*", r#"{"NotIpAddress":{"acs:SourceIp":"10.0.0.0/8"}}"#)]),
            ANY_ACTION,
            "*",
            Deny,
        ),
        Case {
            keys: "acs:SecureTransport=false",
            ..case(
                "deny insecure transport",
                one(&[allow("oss:*", "*"), with_cond("Deny", "oss:*", "*", r#"{"Bool":{"acs:SecureTransport":"false"}}"#)]),
                "oss:GetObject",
                "acs:oss:*:1:b/k",
                DenyBy("P0", 1),
            )
        },
        Case {
            keys: "acs:SecureTransport=true",
            ..case(
                "secure transport allowed",
                one(&[allow("oss:*", "*"), with_cond("Deny", "oss:*", "*", r#"{"Bool":{"acs:SecureTransport":"false"}}"#)]),
                "oss:GetObject",
                "acs:oss:*:1:b/k",
                AllowBy("P0", 0),
            )
        },
        case(
            "single-object Statement",
            vec![r#"{"Version":"1","Statement":{"Effect":"Allow","Action":"ecs:*","Resource":"*"}}"#.into()],
            ANY_ACTION,
            "*",
            AllowBy("P0", 0),
        ),
        case(
            "system ReadOnlyAccess shape",
            one(&[r#"{"Effect":"Allow","Action":["*:Describe*","*:List*","*:Get*","*:BatchGet*","*:Query*","*:BatchQuery*"],"Resource":"*"}"#.into()]),
            "ram:ListRoles",
            "acs:ram:*:1234567890123456:*",
            Allow,
        ),
        case(
            "system ReadOnlyAccess no write",
            one(&[r#"{"Effect":"Allow","Action":["*:Describe*","*:List*","*:Get*"],"Resource":"*"}"#.into()]),
            "ram:CreateRole",
            ROLE,
            Implicit,
        ),
        // --- String operators ---
        cond_case("StringEquals match", r#"{"StringEquals":{"acs:SourceVpc":"vpc-1"}}"#, "acs:SourceVpc=vpc-1", Allow),
        cond_case("StringEquals mismatch", r#"{"StringEquals":{"acs:SourceVpc":"vpc-1"}}"#, "acs:SourceVpc=vpc-2", Implicit),
        cond_case("StringEquals value case-sensitive", r#"{"StringEquals":{"acs:SourceVpc":"VPC-1"}}"#, "acs:SourceVpc=vpc-1", Implicit),
        cond_case("StringEquals key case-insensitive", r#"{"StringEquals":{"ACS:sourcevpc":"vpc-1"}}"#, "acs:SourceVpc=vpc-1", Allow),
        cond_case("StringEquals key case-insensitive other way", r#"{"StringEquals":{"acs:SourceVpc":"vpc-1"}}"#, "ACS:SOURCEVPC=vpc-1", Allow),
        cond_case("StringEquals missing key", r#"{"StringEquals":{"acs:SourceVpc":"vpc-1"}}"#, "", Implicit),
        cond_case("StringEquals values OR-ed", r#"{"StringEquals":{"acs:SourceVpc":["vpc-1","vpc-2"]}}"#, "acs:SourceVpc=vpc-2", Allow),
        cond_case("StringEquals multi-valued request", r#"{"StringEquals":{"acs:SourceVpc":"vpc-1"}}"#, "acs:SourceVpc=vpc-9,vpc-1", Allow),
        cond_case("StringEquals multi-valued none", r#"{"StringEquals":{"acs:SourceVpc":"vpc-1"}}"#, "acs:SourceVpc=vpc-9,vpc-8", Implicit),
        cond_case("StringEquals key with no values", r#"{"StringEquals":{"acs:SourceVpc":"vpc-1"}}"#, "acs:SourceVpc=", Implicit),
        cond_case("StringEquals other key present only", r#"{"StringEquals":{"acs:SourceVpc":"vpc-1"}}"#, "acs:SourceVpcIp=vpc-1", Implicit),
        cond_case("StringEqualsIfExists missing", r#"{"StringEqualsIfExists":{"acs:SourceVpc":"vpc-1"}}"#, "", Allow),
        cond_case("StringEqualsIfExists mismatch", r#"{"StringEqualsIfExists":{"acs:SourceVpc":"vpc-1"}}"#, "acs:SourceVpc=vpc-2", Implicit),
        cond_case("StringEqualsIfExists match", r#"{"StringEqualsIfExists":{"acs:SourceVpc":"vpc-1"}}"#, "acs:SourceVpc=vpc-1", Allow),
        cond_case("StringNotEquals different", r#"{"StringNotEquals":{"acs:AccessId":"LTAIbad"}}"#, "acs:AccessId=LTAIgood", Allow),
        cond_case("StringNotEquals equal", r#"{"StringNotEquals":{"acs:AccessId":"LTAIbad"}}"#, "acs:AccessId=LTAIbad", Implicit),
        cond_case("StringNotEquals missing", r#"{"StringNotEquals":{"acs:AccessId":"LTAIbad"}}"#, "", Allow),
        cond_case("StringNotEquals key with no values", r#"{"StringNotEquals":{"acs:AccessId":"LTAIbad"}}"#, "acs:AccessId=", Allow),
        cond_case("StringNotEquals multi one equal", r#"{"StringNotEquals":{"acs:AccessId":"LTAIbad"}}"#, "acs:AccessId=LTAIok,LTAIbad", Implicit),
        cond_case("StringNotEquals any cond value", r#"{"StringNotEquals":{"acs:AccessId":["a","b"]}}"#, "acs:AccessId=b", Implicit),
        cond_case("StringNotEquals case differs", r#"{"StringNotEquals":{"acs:AccessId":"LTAIbad"}}"#, "acs:AccessId=ltaibad", Allow),
        cond_case("StringNotEqualsIfExists missing", r#"{"StringNotEqualsIfExists":{"acs:AccessId":"x"}}"#, "", Allow),
        cond_case("StringNotEqualsIfExists equal", r#"{"StringNotEqualsIfExists":{"acs:AccessId":"x"}}"#, "acs:AccessId=x", Implicit),
        cond_case("StringEqualsIgnoreCase match", r#"{"StringEqualsIgnoreCase":{"ecs:tag/env":"PROD"}}"#, "ecs:tag/env=prod", Allow),
        cond_case("StringEqualsIgnoreCase mismatch", r#"{"StringEqualsIgnoreCase":{"ecs:tag/env":"PROD"}}"#, "ecs:tag/env=dev", Implicit),
        cond_case("StringEqualsIgnoreCase missing", r#"{"StringEqualsIgnoreCase":{"ecs:tag/env":"PROD"}}"#, "", Implicit),
        cond_case("StringEqualsIgnoreCaseIfExists missing", r#"{"StringEqualsIgnoreCaseIfExists":{"ecs:tag/env":"PROD"}}"#, "", Allow),
        cond_case("StringEqualsIgnoreCaseIfExists mismatch", r#"{"StringEqualsIgnoreCaseIfExists":{"ecs:tag/env":"PROD"}}"#, "ecs:tag/env=dev", Implicit),
        cond_case("StringNotEqualsIgnoreCase same", r#"{"StringNotEqualsIgnoreCase":{"ecs:tag/env":"PROD"}}"#, "ecs:tag/env=prod", Implicit),
        cond_case("StringNotEqualsIgnoreCase different", r#"{"StringNotEqualsIgnoreCase":{"ecs:tag/env":"PROD"}}"#, "ecs:tag/env=dev", Allow),
        cond_case("StringNotEqualsIgnoreCase missing", r#"{"StringNotEqualsIgnoreCase":{"ecs:tag/env":"PROD"}}"#, "", Allow),
        cond_case("StringNotEqualsIgnoreCaseIfExists present same", r#"{"StringNotEqualsIgnoreCaseIfExists":{"ecs:tag/env":"PROD"}}"#, "ecs:tag/env=Prod", Implicit),
        cond_case("StringLike star", r#"{"StringLike":{"oss:Prefix":"home/*"}}"#, "oss:Prefix=home/alice/", Allow),
        cond_case("StringLike no match", r#"{"StringLike":{"oss:Prefix":"home/*"}}"#, "oss:Prefix=other/", Implicit),
        cond_case("StringLike question", r#"{"StringLike":{"oss:Delimiter":"?"}}"#, "oss:Delimiter=/", Allow),
        cond_case("StringLike question empty", r#"{"StringLike":{"oss:Delimiter":"?"}}"#, "oss:Delimiter=ab", Implicit),
        cond_case("StringLike case-sensitive", r#"{"StringLike":{"oss:Prefix":"Home/*"}}"#, "oss:Prefix=home/a", Implicit),
        cond_case("StringLike missing", r#"{"StringLike":{"oss:Prefix":"*"}}"#, "", Implicit),
        cond_case("StringLike star matches empty", r#"{"StringLike":{"oss:Prefix":"*"}}"#, "oss:Prefix=x", Allow),
        cond_case("StringLikeIfExists missing", r#"{"StringLikeIfExists":{"oss:Prefix":"home/*"}}"#, "", Allow),
        cond_case("StringLikeIfExists present no", r#"{"StringLikeIfExists":{"oss:Prefix":"home/*"}}"#, "oss:Prefix=tmp/", Implicit),
        cond_case("StringNotLike no match", r#"{"StringNotLike":{"oss:Prefix":"tmp/*"}}"#, "oss:Prefix=home/a", Allow),
        cond_case("StringNotLike match", r#"{"StringNotLike":{"oss:Prefix":"tmp/*"}}"#, "oss:Prefix=tmp/x", Implicit),
        cond_case("StringNotLike missing", r#"{"StringNotLike":{"oss:Prefix":"tmp/*"}}"#, "", Allow),
        cond_case("StringNotLikeIfExists present match", r#"{"StringNotLikeIfExists":{"oss:Prefix":"tmp/*"}}"#, "oss:Prefix=tmp/x", Implicit),
        cond_case("StringLike principal arn", r#"{"StringLike":{"acs:PrincipalARN":"acs:ram::*:user/*"}}"#, "acs:PrincipalARN=acs:ram::1234567890123456:user/alice", Allow),
        cond_case("StringLike principal arn role", r#"{"StringLike":{"acs:PrincipalARN":"acs:ram::*:user/*"}}"#, "acs:PrincipalARN=acs:ram::1234567890123456:assumed-role/r/s", Implicit),
        // --- Numeric operators ---
        cond_case("NumericEquals", r#"{"NumericEquals":{"ecs:tag/n":10}}"#, "ecs:tag/n=10", Allow),
        cond_case("NumericEquals float form", r#"{"NumericEquals":{"ecs:tag/n":"10"}}"#, "ecs:tag/n=10.0", Allow),
        cond_case("NumericEquals differs", r#"{"NumericEquals":{"ecs:tag/n":10}}"#, "ecs:tag/n=11", Implicit),
        cond_case("NumericEquals missing", r#"{"NumericEquals":{"ecs:tag/n":10}}"#, "", Implicit),
        cond_case("NumericEquals unparseable", r#"{"NumericEquals":{"ecs:tag/n":10}}"#, "ecs:tag/n=ten", Implicit),
        cond_case("NumericEquals multi one parses", r#"{"NumericEquals":{"ecs:tag/n":10}}"#, "ecs:tag/n=ten,10", Allow),
        cond_case("NumericEqualsIfExists missing", r#"{"NumericEqualsIfExists":{"ecs:tag/n":10}}"#, "", Allow),
        cond_case("NumericNotEquals differs", r#"{"NumericNotEquals":{"ecs:tag/n":10}}"#, "ecs:tag/n=11", Allow),
        cond_case("NumericNotEquals equal", r#"{"NumericNotEquals":{"ecs:tag/n":10}}"#, "ecs:tag/n=10", Implicit),
        cond_case("NumericNotEquals missing", r#"{"NumericNotEquals":{"ecs:tag/n":10}}"#, "", Allow),
        cond_case("NumericNotEquals unparseable", r#"{"NumericNotEquals":{"ecs:tag/n":10}}"#, "ecs:tag/n=abc", Implicit),
        cond_case("NumericNotEqualsIfExists equal", r#"{"NumericNotEqualsIfExists":{"ecs:tag/n":10}}"#, "ecs:tag/n=10", Implicit),
        cond_case("NumericLessThan yes", r#"{"NumericLessThan":{"ecs:tag/n":10}}"#, "ecs:tag/n=9", Allow),
        cond_case("NumericLessThan equal", r#"{"NumericLessThan":{"ecs:tag/n":10}}"#, "ecs:tag/n=10", Implicit),
        cond_case("NumericLessThan negative float", r#"{"NumericLessThan":{"ecs:tag/n":-1.5}}"#, "ecs:tag/n=-2", Allow),
        cond_case("NumericLessThanIfExists missing", r#"{"NumericLessThanIfExists":{"ecs:tag/n":10}}"#, "", Allow),
        cond_case("NumericLessThanIfExists present big", r#"{"NumericLessThanIfExists":{"ecs:tag/n":10}}"#, "ecs:tag/n=20", Implicit),
        cond_case("NumericLessThanEquals equal", r#"{"NumericLessThanEquals":{"ecs:tag/n":10}}"#, "ecs:tag/n=10", Allow),
        cond_case("NumericLessThanEquals more", r#"{"NumericLessThanEquals":{"ecs:tag/n":10}}"#, "ecs:tag/n=11", Implicit),
        cond_case("NumericLessThanEqualsIfExists missing", r#"{"NumericLessThanEqualsIfExists":{"ecs:tag/n":10}}"#, "", Allow),
        cond_case("NumericGreaterThan yes", r#"{"NumericGreaterThan":{"ecs:tag/n":10}}"#, "ecs:tag/n=11", Allow),
        cond_case("NumericGreaterThan equal", r#"{"NumericGreaterThan":{"ecs:tag/n":10}}"#, "ecs:tag/n=10", Implicit),
        cond_case("NumericGreaterThanIfExists missing", r#"{"NumericGreaterThanIfExists":{"ecs:tag/n":10}}"#, "", Allow),
        cond_case("NumericGreaterThanEquals equal", r#"{"NumericGreaterThanEquals":{"ecs:tag/n":10}}"#, "ecs:tag/n=10", Allow),
        cond_case("NumericGreaterThanEquals less", r#"{"NumericGreaterThanEquals":{"ecs:tag/n":10}}"#, "ecs:tag/n=9", Implicit),
        cond_case("NumericGreaterThanEqualsIfExists missing", r#"{"NumericGreaterThanEqualsIfExists":{"ecs:tag/n":10}}"#, "", Allow),
        cond_case("Numeric values OR-ed", r#"{"NumericEquals":{"ecs:tag/n":[1,2,3]}}"#, "ecs:tag/n=3", Allow),
        // --- Date operators ---
        cond_case("DateLessThan before", r#"{"DateLessThan":{"acs:CurrentTime":"2030-01-01T00:00:00Z"}}"#, "acs:CurrentTime=2024-06-01T12:00:00Z", Allow),
        cond_case("DateLessThan after", r#"{"DateLessThan":{"acs:CurrentTime":"2030-01-01T00:00:00Z"}}"#, "acs:CurrentTime=2031-01-01T00:00:00Z", Implicit),
        cond_case("DateLessThan missing", r#"{"DateLessThan":{"acs:CurrentTime":"2030-01-01T00:00:00Z"}}"#, "", Implicit),
        cond_case("DateLessThanIfExists missing", r#"{"DateLessThanIfExists":{"acs:CurrentTime":"2030-01-01T00:00:00Z"}}"#, "", Allow),
        cond_case("DateGreaterThan offset after", r#"{"DateGreaterThan":{"acs:CurrentTime":"2019-08-12T17:00:00+08:00"}}"#, "acs:CurrentTime=2019-08-12T09:30:00Z", Allow),
        cond_case("DateGreaterThan offset before", r#"{"DateGreaterThan":{"acs:CurrentTime":"2019-08-12T17:00:00+08:00"}}"#, "acs:CurrentTime=2019-08-12T08:30:00Z", Implicit),
        cond_case("DateGreaterThanIfExists present before", r#"{"DateGreaterThanIfExists":{"acs:CurrentTime":"2019-08-12T17:00:00+08:00"}}"#, "acs:CurrentTime=2019-08-12T08:30:00Z", Implicit),
        cond_case("DateEquals same instant", r#"{"DateEquals":{"acs:CurrentTime":"2019-08-12T17:00:00+08:00"}}"#, "acs:CurrentTime=2019-08-12T09:00:00Z", Allow),
        cond_case("DateEquals other instant", r#"{"DateEquals":{"acs:CurrentTime":"2019-08-12T17:00:00+08:00"}}"#, "acs:CurrentTime=2019-08-12T17:00:00Z", Implicit),
        cond_case("DateEqualsIfExists missing", r#"{"DateEqualsIfExists":{"acs:CurrentTime":"2019-08-12T17:00:00+08:00"}}"#, "", Allow),
        cond_case("DateNotEquals different", r#"{"DateNotEquals":{"acs:CurrentTime":"2019-08-12T09:00:00Z"}}"#, "acs:CurrentTime=2020-01-01T00:00:00Z", Allow),
        cond_case("DateNotEquals same", r#"{"DateNotEquals":{"acs:CurrentTime":"2019-08-12T09:00:00Z"}}"#, "acs:CurrentTime=2019-08-12T17:00:00+08:00", Implicit),
        cond_case("DateNotEquals missing", r#"{"DateNotEquals":{"acs:CurrentTime":"2019-08-12T09:00:00Z"}}"#, "", Allow),
        cond_case("DateNotEquals unparseable", r#"{"DateNotEquals":{"acs:CurrentTime":"2019-08-12T09:00:00Z"}}"#, "acs:CurrentTime=yesterday", Implicit),
        cond_case("DateNotEqualsIfExists same", r#"{"DateNotEqualsIfExists":{"acs:CurrentTime":"2019-08-12T09:00:00Z"}}"#, "acs:CurrentTime=2019-08-12T09:00:00Z", Implicit),
        cond_case("DateLessThanEquals equal", r#"{"DateLessThanEquals":{"acs:CurrentTime":"2024-01-01T00:00:00Z"}}"#, "acs:CurrentTime=2024-01-01T00:00:00Z", Allow),
        cond_case("DateLessThanEquals after", r#"{"DateLessThanEquals":{"acs:CurrentTime":"2024-01-01T00:00:00Z"}}"#, "acs:CurrentTime=2024-01-01T00:00:01Z", Implicit),
        cond_case("DateLessThanEqualsIfExists missing", r#"{"DateLessThanEqualsIfExists":{"acs:CurrentTime":"2024-01-01T00:00:00Z"}}"#, "", Allow),
        cond_case("DateGreaterThanEquals equal", r#"{"DateGreaterThanEquals":{"acs:CurrentTime":"2024-01-01T00:00:00Z"}}"#, "acs:CurrentTime=2024-01-01T00:00:00Z", Allow),
        cond_case("DateGreaterThanEquals before", r#"{"DateGreaterThanEquals":{"acs:CurrentTime":"2024-01-01T00:00:00Z"}}"#, "acs:CurrentTime=2023-12-31T23:59:59Z", Implicit),
        cond_case("DateGreaterThanEqualsIfExists missing", r#"{"DateGreaterThanEqualsIfExists":{"acs:CurrentTime":"2024-01-01T00:00:00Z"}}"#, "", Allow),
        cond_case("Date epoch condition value", r#"{"DateGreaterThan":{"acs:CurrentTime":1700000000}}"#, "acs:CurrentTime=2024-01-01T00:00:00Z", Allow),
        cond_case("Date epoch request value", r#"{"DateLessThan":{"acs:CurrentTime":"2020-01-01T00:00:00Z"}}"#, "acs:CurrentTime=1600000000", Implicit),
        cond_case("Date epoch request value before", r#"{"DateLessThan":{"acs:CurrentTime":"2021-01-01T00:00:00Z"}}"#, "acs:CurrentTime=1600000000", Allow),
        cond_case("Date fractional seconds", r#"{"DateGreaterThan":{"acs:CurrentTime":"2024-01-01T00:00:00Z"}}"#, "acs:CurrentTime=2024-01-01T00:00:00.5Z", Allow),
        cond_case("Date unparseable request", r#"{"DateLessThan":{"acs:CurrentTime":"2030-01-01T00:00:00Z"}}"#, "acs:CurrentTime=soon", Implicit),
        cond_case(
            "Date window",
            r#"{"DateGreaterThan":{"acs:CurrentTime":"2024-01-01T00:00:00Z"},"DateLessThan":{"acs:CurrentTime":"2024-02-01T00:00:00Z"}}"#,
            "acs:CurrentTime=2024-01-15T00:00:00Z",
            Allow,
        ),
        cond_case(
            "Date window outside",
            r#"{"DateGreaterThan":{"acs:CurrentTime":"2024-01-01T00:00:00Z"},"DateLessThan":{"acs:CurrentTime":"2024-02-01T00:00:00Z"}}"#,
            "acs:CurrentTime=2024-03-15T00:00:00Z",
            Implicit,
        ),
        // --- Bool ---
        cond_case("Bool true", r#"{"Bool":{"acs:MFAPresent":"true"}}"#, "acs:MFAPresent=true", Allow),
        cond_case("Bool case-insensitive", r#"{"Bool":{"acs:MFAPresent":"true"}}"#, "acs:MFAPresent=TRUE", Allow),
        cond_case("Bool JSON boolean", r#"{"Bool":{"acs:MFAPresent":true}}"#, "acs:MFAPresent=true", Allow),
        cond_case("Bool false vs true", r#"{"Bool":{"acs:MFAPresent":"true"}}"#, "acs:MFAPresent=false", Implicit),
        cond_case("Bool missing", r#"{"Bool":{"acs:MFAPresent":"true"}}"#, "", Implicit),
        cond_case("Bool unparseable", r#"{"Bool":{"acs:MFAPresent":"true"}}"#, "acs:MFAPresent=yes", Implicit),
        cond_case("BoolIfExists missing", r#"{"BoolIfExists":{"acs:MFAPresent":"true"}}"#, "", Allow),
        cond_case("BoolIfExists present false", r#"{"BoolIfExists":{"acs:MFAPresent":"true"}}"#, "acs:MFAPresent=false", Implicit),
        // --- IP ---
        cond_case("IpAddress in CIDR", r#"{"IpAddress":{"acs:SourceIp":"10.0.0.0/8"}}"#, "acs:SourceIp=10.1.2.3", Allow),
        cond_case("IpAddress outside", r#"{"IpAddress":{"acs:SourceIp":"10.0.0.0/8"}}"#, "acs:SourceIp=11.0.0.1", Implicit),
        cond_case("IpAddress missing", r#"{"IpAddress":{"acs:SourceIp":"10.0.0.0/8"}}"#, "", Implicit),
        cond_case("IpAddress single", r#"{"IpAddress":{"acs:SourceIp":"192.168.1.10"}}"#, "acs:SourceIp=192.168.1.10", Allow),
        cond_case("IpAddress single other", r#"{"IpAddress":{"acs:SourceIp":"192.168.1.10"}}"#, "acs:SourceIp=192.168.1.11", Implicit),
        cond_case("IpAddress host bits in CIDR", r#"{"IpAddress":{"acs:SourceIp":"192.168.1.10/24"}}"#, "acs:SourceIp=192.168.1.200", Allow),
        cond_case("IpAddress IPv6", r#"{"IpAddress":{"acs:SourceIp":"2001:db8::/32"}}"#, "acs:SourceIp=2001:db8::1", Allow),
        cond_case("IpAddress IPv6 outside", r#"{"IpAddress":{"acs:SourceIp":"2001:db8::/32"}}"#, "acs:SourceIp=2001:db9::1", Implicit),
        cond_case("IpAddress v4 vs v6 net", r#"{"IpAddress":{"acs:SourceIp":"2001:db8::/32"}}"#, "acs:SourceIp=10.0.0.1", Implicit),
        cond_case("IpAddress v4-mapped v6", r#"{"IpAddress":{"acs:SourceIp":"10.0.0.0/8"}}"#, "acs:SourceIp=::ffff:10.0.0.5", Allow),
        cond_case("IpAddress list", r#"{"IpAddress":{"acs:SourceIp":["192.168.0.0/16","10.0.0.0/8"]}}"#, "acs:SourceIp=10.2.0.1", Allow),
        cond_case("IpAddress multi-valued request", r#"{"IpAddress":{"acs:SourceIp":"10.0.0.0/8"}}"#, "acs:SourceIp=1.1.1.1,10.0.0.1", Allow),
        cond_case("IpAddress garbage request", r#"{"IpAddress":{"acs:SourceIp":"10.0.0.0/8"}}"#, "acs:SourceIp=localhost", Implicit),
        cond_case("IpAddressIfExists missing", r#"{"IpAddressIfExists":{"acs:SourceIp":"10.0.0.0/8"}}"#, "", Allow),
        cond_case("IpAddressIfExists outside", r#"{"IpAddressIfExists":{"acs:SourceIp":"10.0.0.0/8"}}"#, "acs:SourceIp=8.8.8.8", Implicit),
        cond_case("NotIpAddress outside", r#"{"NotIpAddress":{"acs:SourceIp":"10.0.0.0/8"}}"#, "acs:SourceIp=192.168.0.1", Allow),
        cond_case("NotIpAddress inside", r#"{"NotIpAddress":{"acs:SourceIp":"10.0.0.0/8"}}"#, "acs:SourceIp=10.0.0.1", Implicit),
        cond_case("NotIpAddress missing", r#"{"NotIpAddress":{"acs:SourceIp":"10.0.0.0/8"}}"#, "", Allow),
        cond_case("NotIpAddress garbage request", r#"{"NotIpAddress":{"acs:SourceIp":"10.0.0.0/8"}}"#, "acs:SourceIp=nope", Implicit),
        cond_case("NotIpAddress multi one inside", r#"{"NotIpAddress":{"acs:SourceIp":"10.0.0.0/8"}}"#, "acs:SourceIp=8.8.8.8,10.0.0.1", Implicit),
        cond_case("NotIpAddressIfExists inside", r#"{"NotIpAddressIfExists":{"acs:SourceIp":"10.0.0.0/8"}}"#, "acs:SourceIp=10.0.0.1", Implicit),
        cond_case("NotIpAddressIfExists missing", r#"{"NotIpAddressIfExists":{"acs:SourceIp":"10.0.0.0/8"}}"#, "", Allow),
        // --- combinations ---
        cond_case(
            "operators AND-ed both true",
            r#"{"IpAddress":{"acs:SourceIp":"10.0.0.0/8"},"Bool":{"acs:SecureTransport":"true"}}"#,
            "acs:SourceIp=10.0.0.1;acs:SecureTransport=true",
            Allow,
        ),
        cond_case(
            "operators AND-ed one false",
            r#"{"IpAddress":{"acs:SourceIp":"10.0.0.0/8"},"Bool":{"acs:SecureTransport":"true"}}"#,
            "acs:SourceIp=10.0.0.1;acs:SecureTransport=false",
            Implicit,
        ),
        cond_case(
            "keys AND-ed both true",
            r#"{"StringEquals":{"ecs:tag/env":"prod","ecs:tag/team":"core"}}"#,
            "ecs:tag/env=prod;ecs:tag/team=core",
            Allow,
        ),
        cond_case(
            "keys AND-ed one false",
            r#"{"StringEquals":{"ecs:tag/env":"prod","ecs:tag/team":"core"}}"#,
            "ecs:tag/env=prod;ecs:tag/team=web",
            Implicit,
        ),
        cond_case(
            "keys AND-ed one missing",
            r#"{"StringEquals":{"ecs:tag/env":"prod","ecs:tag/team":"core"}}"#,
            "ecs:tag/env=prod",
            Implicit,
        ),
        cond_case(
            "IfExists with present other",
            r#"{"StringEqualsIfExists":{"ecs:tag/env":"prod"},"StringEquals":{"acs:SourceVpc":"vpc-1"}}"#,
            "acs:SourceVpc=vpc-1",
            Allow,
        ),
        cond_case("empty Condition object", r"{}", "", Allow),
        Case {
            keys: "ram:TargetService=ecs.aliyuncs.com",
            ..case(
                "PassRole to ECS",
                one(&[with_cond("Allow", "ram:PassRole", "acs:ram:*:*:role/*", r#"{"StringEquals":{"ram:TargetService":"ecs.aliyuncs.com"}}"#)]),
                "ram:PassRole",
                ROLE,
                Allow,
            )
        },
        Case {
            keys: "ram:TargetService=fc.aliyuncs.com",
            ..case(
                "PassRole to other service",
                one(&[with_cond("Allow", "ram:PassRole", "acs:ram:*:*:role/*", r#"{"StringEquals":{"ram:TargetService":"ecs.aliyuncs.com"}}"#)]),
                "ram:PassRole",
                ROLE,
                Implicit,
            )
        },
        Case {
            keys: "oss:Prefix=home/alice/docs;oss:Delimiter=/",
            ..case(
                "OSS list with prefix",
                one(&[with_cond("Allow", "oss:ListObjects", "acs:oss:*:*:mybucket", r#"{"StringLike":{"oss:Prefix":"home/alice/*"},"StringEquals":{"oss:Delimiter":"/"}}"#)]),
                "oss:ListObjects",
                "acs:oss:*:1234567890123456:mybucket",
                Allow,
            )
        },
        // --- session policies ---
        session_case("session narrows: allowed", one(&[admin()]), &pol(&[allow("oss:Get*", "*")]), "oss:GetObject", "acs:oss:*:1:b/k", AllowBy("P0", 0)),
        session_case("session narrows: not in session", one(&[admin()]), &pol(&[allow("oss:Get*", "*")]), ANY_ACTION, "*", Implicit),
        session_case("session cannot widen", one(&[allow("oss:GetObject", "*")]), &pol(&[admin()]), "oss:PutObject", "acs:oss:*:1:b/k", Implicit),
        session_case("session wide role narrow ok", one(&[allow("oss:GetObject", "*")]), &pol(&[admin()]), "oss:GetObject", "acs:oss:*:1:b/k", AllowBy("P0", 0)),
        session_case("session deny wins", one(&[admin()]), &pol(&[admin(), deny("ram:*", "*")]), "ram:GetRole", ROLE, DenyBy("Session", 1)),
        session_case("role deny wins", one(&[admin(), deny("ram:*", "*")]), &pol(&[admin()]), "ram:GetRole", ROLE, DenyBy("P0", 1)),
        session_case("both deny: role reported", one(&[deny("ram:*", "*")]), &pol(&[deny("*", "*")]), "ram:GetRole", ROLE, DenyBy("P0", 0)),
        session_case("role implicit session allow", one(&[allow("ecs:*", "*")]), &pol(&[admin()]), "ram:GetRole", ROLE, Implicit),
        session_case("role allow session implicit", one(&[admin()]), &pol(&[allow("ecs:*", "*")]), "ram:GetRole", ROLE, Implicit),
        session_case("session explicit deny, role implicit", one(&[allow("ecs:*", "*")]), &pol(&[deny("ram:*", "*")]), "ram:GetRole", ROLE, DenyBy("Session", 0)),
        session_case("no role policies", vec![], &pol(&[admin()]), ANY_ACTION, "*", Implicit),
        session_case(
            "session NotAction",
            one(&[admin()]),
            r#"{"Version":"1","Statement":[{"Effect":"Allow","NotAction":"ram:*","Resource":"*"}]}"#,
            "ram:CreateRole",
            ROLE,
            Implicit,
        ),
        session_case(
            "session resource narrowing",
            one(&[allow("oss:*", "*")]),
            &pol(&[allow("oss:*", "acs:oss:*:*:mybucket/*")]),
            "oss:GetObject",
            "acs:oss:*:1234567890123456:other/k",
            Implicit,
        ),
        session_case(
            "session resource narrowing ok",
            one(&[allow("oss:*", "*")]),
            &pol(&[allow("oss:*", "acs:oss:*:*:mybucket/*")]),
            "oss:GetObject",
            "acs:oss:*:1234567890123456:mybucket/k",
            Allow,
        ),
        session_case(
            "role from two policies, session one",
            vec![pol(&[allow("ecs:*", "*")]), pol(&[allow("oss:*", "*")])],
            &pol(&[allow("oss:*", "*"), allow("ecs:Describe*", "*")]),
            ANY_ACTION,
            "*",
            AllowBy("P0", 0),
        ),
        Case {
            keys: "acs:SourceIp=10.0.0.1",
            ..session_case(
                "session condition holds",
                one(&[admin()]),
                &pol(&[with_cond("Allow", "*", "*", r#"{"IpAddress":{"acs:SourceIp":"10.0.0.0/8"}}"#)]),
                ANY_ACTION,
                "*",
                Allow,
            )
        },
        Case {
            keys: "acs:SourceIp=8.8.8.8",
            ..session_case(
                "session condition fails",
                one(&[admin()]),
                &pol(&[with_cond("Allow", "*", "*", r#"{"IpAddress":{"acs:SourceIp":"10.0.0.0/8"}}"#)]),
                ANY_ACTION,
                "*",
                Implicit,
            )
        },
    ]
}

#[test]
fn evaluation_table() {
    let cases = eval_cases();
    let mut failures = Vec::new();
    for c in &cases {
        let docs: Vec<PolicyDocument> = c
            .policies
            .iter()
            .map(|t| {
                parse(t, DocumentKind::Permission)
                    .unwrap_or_else(|e| panic!("{}: {e}: {t}", c.name))
            })
            .collect();
        let names: Vec<String> = (0..docs.len()).map(|i| format!("P{i}")).collect();
        let policies: Vec<NamedPolicy<'_>> = docs
            .iter()
            .zip(&names)
            .map(|(d, n)| NamedPolicy {
                name: n,
                policy_type: "Custom",
                document: d,
            })
            .collect();
        let session_doc = c.session.as_ref().map(|t| {
            parse(t, DocumentKind::Session).unwrap_or_else(|e| panic!("{}: {e}: {t}", c.name))
        });
        let session = session_doc.as_ref().map(|d| NamedPolicy {
            name: "Session",
            policy_type: "Session",
            document: d,
        });
        let k = keys(c.keys);
        let ctx = RequestContext {
            action: c.action,
            resource: c.resource,
            keys: &k,
        };
        let got = evaluate_session(&policies, session.as_ref(), &ctx);
        if session.is_none() {
            assert_eq!(got, evaluate(&policies, &ctx), "{}", c.name);
        }
        if !check(c.want, &got) {
            failures.push(format!("{}: want {:?}, got {got:?}", c.name, c.want));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(cases.len() >= 150, "only {} evaluation cases", cases.len());
}

// ---------------------------------------------------------------- trust

enum Caller {
    Ram(&'static str, &'static str),
    Service(&'static str),
}

const ROOT_ARN: &str = "acs:ram::1234567890123456:root";
const ALICE: &str = "acs:ram::1234567890123456:user/alice";
const BOB: &str = "acs:ram::1234567890123456:user/bob";
const DEV_ROLE: &str = "acs:ram::1234567890123456:role/DevRole";
const DEV_SESSION: &str = "acs:ram::1234567890123456:assumed-role/devrole/alice-session";
const OTHER_ALICE: &str = "acs:ram::6543210987654321:user/alice";

fn trust_doc(principal: &str) -> String {
    format!(
        r#"{{"Version":"1","Statement":[{{"Action":"sts:AssumeRole","Effect":"Allow","Principal":{principal}}}]}}"#
    )
}

#[rustfmt::skip]
#[allow(clippy::too_many_lines)]
fn trust_cases() -> Vec<(
    &'static str,
    String,
    Caller,
    &'static str,
    &'static str,
    Want,
)> {
    use Caller::{Ram, Service};
    let root = trust_doc(r#"{"RAM":["acs:ram::1234567890123456:root"]}"#);
    let bare = trust_doc(r#"{"RAM":"1234567890123456"}"#);
    let alice = trust_doc(r#"{"RAM":"acs:ram::1234567890123456:user/alice"}"#);
    let dev = trust_doc(r#"{"RAM":"acs:ram::1234567890123456:role/DevRole"}"#);
    let star = trust_doc(r#"{"RAM":"*"}"#);
    let ecs = trust_doc(r#"{"Service":["ecs.aliyuncs.com"]}"#);
    let ecs_fc = trust_doc(r#"{"Service":["ecs.aliyuncs.com","fc.aliyuncs.com"]}"#);
    let mixed = trust_doc(
        r#"{"RAM":["acs:ram::1234567890123456:user/alice"],"Service":"ecs.aliyuncs.com"}"#,
    );
    let external = r#"{"Version":"1","Statement":[{"Action":"sts:AssumeRole","Effect":"Allow","Principal":{"RAM":["acs:ram::1234567890123456:root"]},"Condition":{"StringEquals":{"sts:ExternalId":"abc"}}}]}"#.to_owned();
    let deny_bob = r#"{"Version":"1","Statement":[{"Action":"sts:AssumeRole","Effect":"Allow","Principal":{"RAM":"acs:ram::1234567890123456:root"}},{"Action":"sts:*","Effect":"Deny","Principal":{"RAM":"acs:ram::1234567890123456:user/bob"}}]}"#.to_owned();
    let federated = trust_doc(r#"{"Federated":"acs:ram::1234567890123456:saml-provider/idp"}"#);
    let sts_star = r#"{"Version":"1","Statement":[{"Action":"sts:*","Effect":"Allow","Principal":{"RAM":"acs:ram::1234567890123456:root"}}]}"#.to_owned();
    let with_resource = r#"{"Version":"1","Statement":[{"Action":"sts:AssumeRole","Effect":"Allow","Resource":"*","Principal":{"RAM":"acs:ram::1234567890123456:root"}}]}"#.to_owned();
    let ip = r#"{"Version":"1","Statement":[{"Action":"sts:AssumeRole","Effect":"Allow","Principal":{"RAM":"acs:ram::1234567890123456:root"},"Condition":{"IpAddress":{"acs:SourceIp":"10.0.0.0/8"}}}]}"#.to_owned();
    let other_acct_root = trust_doc(r#"{"RAM":"acs:ram::6543210987654321:root"}"#);
    let two_accts = trust_doc(
        r#"{"RAM":["acs:ram::6543210987654321:root","acs:ram::1234567890123456:user/alice"]}"#,
    );
    let session_only =
        trust_doc(r#"{"RAM":"acs:ram::1234567890123456:assumed-role/devrole/alice-session"}"#);
    let star_service = trust_doc(r#"{"Service":"*"}"#);
    vec![
        (
            "root trusts user",
            root.clone(),
            Ram(ALICE, ACCT),
            "sts:AssumeRole",
            "",
            AllowBy("AssumeRolePolicyDocument", 0),
        ),
        (
            "root trusts role",
            root.clone(),
            Ram(DEV_ROLE, ACCT),
            "sts:AssumeRole",
            "",
            Allow,
        ),
        (
            "root trusts assumed-role",
            root.clone(),
            Ram(DEV_SESSION, ACCT),
            "sts:AssumeRole",
            "",
            Allow,
        ),
        (
            "root trusts root",
            root.clone(),
            Ram(ROOT_ARN, ACCT),
            "sts:AssumeRole",
            "",
            Allow,
        ),
        (
            "root not other account",
            root.clone(),
            Ram(OTHER_ALICE, OTHER),
            "sts:AssumeRole",
            "",
            Implicit,
        ),
        (
            "root not service",
            root.clone(),
            Service("ecs.aliyuncs.com"),
            "sts:AssumeRole",
            "",
            Implicit,
        ),
        (
            "root other action",
            root.clone(),
            Ram(ALICE, ACCT),
            "sts:AssumeRoleWithSAML",
            "",
            Implicit,
        ),
        (
            "root action case",
            root.clone(),
            Ram(ALICE, ACCT),
            "STS:assumerole",
            "",
            Allow,
        ),
        (
            "bare account id",
            bare.clone(),
            Ram(ALICE, ACCT),
            "sts:AssumeRole",
            "",
            Allow,
        ),
        (
            "bare account id other",
            bare.clone(),
            Ram(OTHER_ALICE, OTHER),
            "sts:AssumeRole",
            "",
            Implicit,
        ),
        (
            "other account root trusts it",
            other_acct_root.clone(),
            Ram(OTHER_ALICE, OTHER),
            "sts:AssumeRole",
            "",
            Allow,
        ),
        (
            "other account root not ours",
            other_acct_root,
            Ram(ALICE, ACCT),
            "sts:AssumeRole",
            "",
            Implicit,
        ),
        (
            "user alice",
            alice.clone(),
            Ram(ALICE, ACCT),
            "sts:AssumeRole",
            "",
            Allow,
        ),
        (
            "user bob",
            alice.clone(),
            Ram(BOB, ACCT),
            "sts:AssumeRole",
            "",
            Implicit,
        ),
        (
            "user name case-sensitive",
            alice.clone(),
            Ram("acs:ram::1234567890123456:user/Alice", ACCT),
            "sts:AssumeRole",
            "",
            Implicit,
        ),
        (
            "user other account same name",
            alice.clone(),
            Ram(OTHER_ALICE, OTHER),
            "sts:AssumeRole",
            "",
            Implicit,
        ),
        (
            "user entry not root",
            alice.clone(),
            Ram(ROOT_ARN, ACCT),
            "sts:AssumeRole",
            "",
            Implicit,
        ),
        (
            "user entry not role of same name",
            alice.clone(),
            Ram("acs:ram::1234567890123456:role/alice", ACCT),
            "sts:AssumeRole",
            "",
            Implicit,
        ),
        (
            "two accounts list",
            two_accts.clone(),
            Ram(ALICE, ACCT),
            "sts:AssumeRole",
            "",
            Allow,
        ),
        (
            "two accounts list other",
            two_accts,
            Ram(BOB, ACCT),
            "sts:AssumeRole",
            "",
            Implicit,
        ),
        (
            "role entry: role",
            dev.clone(),
            Ram(DEV_ROLE, ACCT),
            "sts:AssumeRole",
            "",
            Allow,
        ),
        (
            "role entry: session lower-cased",
            dev.clone(),
            Ram(DEV_SESSION, ACCT),
            "sts:AssumeRole",
            "",
            Allow,
        ),
        (
            "role entry: sts-style session",
            dev.clone(),
            Ram("acs:sts::1234567890123456:assumed-role/DevRole/s", ACCT),
            "sts:AssumeRole",
            "",
            Allow,
        ),
        (
            "role entry: other role session",
            dev.clone(),
            Ram("acs:ram::1234567890123456:assumed-role/ops/s", ACCT),
            "sts:AssumeRole",
            "",
            Implicit,
        ),
        (
            "role entry: user of same name",
            dev.clone(),
            Ram("acs:ram::1234567890123456:user/DevRole", ACCT),
            "sts:AssumeRole",
            "",
            Implicit,
        ),
        (
            "role entry: other account",
            dev.clone(),
            Ram("acs:ram::6543210987654321:role/DevRole", OTHER),
            "sts:AssumeRole",
            "",
            Implicit,
        ),
        (
            "session entry: that session",
            session_only.clone(),
            Ram(DEV_SESSION, ACCT),
            "sts:AssumeRole",
            "",
            Allow,
        ),
        (
            "session entry: other session",
            session_only,
            Ram("acs:ram::1234567890123456:assumed-role/devrole/x", ACCT),
            "sts:AssumeRole",
            "",
            Implicit,
        ),
        (
            "star any account",
            star.clone(),
            Ram(OTHER_ALICE, OTHER),
            "sts:AssumeRole",
            "",
            Allow,
        ),
        (
            "star not service",
            star,
            Service("ecs.aliyuncs.com"),
            "sts:AssumeRole",
            "",
            Implicit,
        ),
        (
            "service ecs",
            ecs.clone(),
            Service("ecs.aliyuncs.com"),
            "sts:AssumeRole",
            "",
            Allow,
        ),
        (
            "service case-insensitive",
            ecs.clone(),
            Service("ECS.Aliyuncs.com"),
            "sts:AssumeRole",
            "",
            Allow,
        ),
        (
            "service other",
            ecs.clone(),
            Service("fc.aliyuncs.com"),
            "sts:AssumeRole",
            "",
            Implicit,
        ),
        (
            "service not a user",
            ecs.clone(),
            Ram(ALICE, ACCT),
            "sts:AssumeRole",
            "",
            Implicit,
        ),
        (
            "service not root",
            ecs,
            Ram(ROOT_ARN, ACCT),
            "sts:AssumeRole",
            "",
            Implicit,
        ),
        (
            "service list",
            ecs_fc,
            Service("fc.aliyuncs.com"),
            "sts:AssumeRole",
            "",
            Allow,
        ),
        (
            "service star",
            star_service,
            Service("fc.aliyuncs.com"),
            "sts:AssumeRole",
            "",
            Allow,
        ),
        (
            "mixed principal user",
            mixed.clone(),
            Ram(ALICE, ACCT),
            "sts:AssumeRole",
            "",
            Allow,
        ),
        (
            "mixed principal service",
            mixed.clone(),
            Service("ecs.aliyuncs.com"),
            "sts:AssumeRole",
            "",
            Allow,
        ),
        (
            "mixed principal other",
            mixed,
            Ram(BOB, ACCT),
            "sts:AssumeRole",
            "",
            Implicit,
        ),
        (
            "external id ok",
            external.clone(),
            Ram(ALICE, ACCT),
            "sts:AssumeRole",
            "sts:ExternalId=abc",
            Allow,
        ),
        (
            "external id key case",
            external.clone(),
            Ram(ALICE, ACCT),
            "sts:AssumeRole",
            "STS:EXTERNALID=abc",
            Allow,
        ),
        (
            "external id wrong",
            external.clone(),
            Ram(ALICE, ACCT),
            "sts:AssumeRole",
            "sts:ExternalId=xyz",
            Implicit,
        ),
        (
            "external id missing",
            external,
            Ram(ALICE, ACCT),
            "sts:AssumeRole",
            "",
            Implicit,
        ),
        (
            "deny bob",
            deny_bob.clone(),
            Ram(BOB, ACCT),
            "sts:AssumeRole",
            "",
            DenyBy("AssumeRolePolicyDocument", 1),
        ),
        (
            "deny bob alice ok",
            deny_bob,
            Ram(ALICE, ACCT),
            "sts:AssumeRole",
            "",
            AllowBy("AssumeRolePolicyDocument", 0),
        ),
        (
            "federated only",
            federated.clone(),
            Ram(ALICE, ACCT),
            "sts:AssumeRole",
            "",
            Implicit,
        ),
        (
            "federated only service",
            federated,
            Service("ecs.aliyuncs.com"),
            "sts:AssumeRole",
            "",
            Implicit,
        ),
        (
            "sts:* trust",
            sts_star,
            Ram(ALICE, ACCT),
            "sts:AssumeRole",
            "",
            Allow,
        ),
        (
            "resource ignored",
            with_resource,
            Ram(ALICE, ACCT),
            "sts:AssumeRole",
            "",
            Allow,
        ),
        (
            "trust ip ok",
            ip.clone(),
            Ram(ALICE, ACCT),
            "sts:AssumeRole",
            "acs:SourceIp=10.1.1.1",
            Allow,
        ),
        (
            "trust ip outside",
            ip,
            Ram(ALICE, ACCT),
            "sts:AssumeRole",
            "acs:SourceIp=1.1.1.1",
            Implicit,
        ),
    ]
}

#[test]
fn trust_table() {
    let cases = trust_cases();
    let mut failures = Vec::new();
    for (name, text, caller, action, key_spec, want) in &cases {
        let doc = parse(text, DocumentKind::Trust).unwrap_or_else(|e| panic!("{name}: {e}"));
        let caller = match caller {
            Caller::Ram(arn, acct) => TrustedCaller::Ram {
                principal_arn: arn,
                account_id: acct,
            },
            Caller::Service(s) => TrustedCaller::Service(s),
        };
        let got = trusts(&doc, &caller, action, &keys(key_spec));
        if let Some(s) = got.statement() {
            assert_eq!(s.policy_type, "Trust", "{name}");
        }
        if !check(*want, &got) {
            failures.push(format!("{name}: want {want:?}, got {got:?}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(cases.len() >= 40);
}

// ---------------------------------------------------------------- parse

#[rustfmt::skip]
fn reject_cases() -> Vec<(&'static str, String, DocumentKind, &'static str)> {
    use DocumentKind::{Permission as P, Session as S, Trust as T};
    let ok_stmt = r#""Effect":"Allow","Action":"*","Resource":"*""#;
    let with = |extra: &str| format!(r#"{{"Version":"1","Statement":[{{{ok_stmt},{extra}}}]}}"#);
    let only = |body: &str| format!(r#"{{"Version":"1","Statement":[{{{body}}}]}}"#);
    let cond = |c: &str| with(&format!(r#""Condition":{c}"#));
    let deep = |n: usize| {
        format!(
            r#"{{"Version":"1","Statement":[{{{ok_stmt},"Sid":{}1{}}}]}}"#,
            "[".repeat(n),
            "]".repeat(n)
        )
    };
    vec![
        ("empty text", String::new(), P, "not valid JSON"),
        ("not json", "not json".into(), P, "not valid JSON"),
        ("trailing garbage", format!("{} x", only(ok_stmt)), P, "not valid JSON"),
        ("array top", "[]".into(), P, "must be a JSON object"),
        ("string top", r#""policy""#.into(), P, "must be a JSON object"),
        ("no version", r#"{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#.into(), P, "Version is required"),
        ("version 2", r#"{"Version":"2","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#.into(), P, "Version must be the string \"1\""),
        ("version number", r#"{"Version":1,"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#.into(), P, "Version must be the string \"1\""),
        ("no statement", r#"{"Version":"1"}"#.into(), P, "Statement is required"),
        ("empty statement", r#"{"Version":"1","Statement":[]}"#.into(), P, "Statement must not be empty"),
        ("statement string", r#"{"Version":"1","Statement":"x"}"#.into(), P, "Statement must be an object or an array of objects"),
        ("statement null", r#"{"Version":"1","Statement":null}"#.into(), P, "Statement must be an object or an array of objects"),
        ("statement element", r#"{"Version":"1","Statement":[1]}"#.into(), P, "Statement[0] must be an object"),
        ("unknown top key", r#"{"Version":"1","Id":"x","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#.into(), P, "Unknown top-level key \"Id\""),
        ("unknown statement key", with(r#""Actions":"x""#), P, "Statement[0] has unknown key \"Actions\""),
        ("NotPrincipal", with(r#""NotPrincipal":{"RAM":"*"}"#), T, "has unknown key \"NotPrincipal\""),
        ("no effect", only(r#""Action":"*","Resource":"*""#), P, "Statement[0].Effect is required"),
        ("effect lower", only(r#""Effect":"allow","Action":"*","Resource":"*""#), P, "Statement[0].Effect must be Allow or Deny"),
        ("effect upper", only(r#""Effect":"ALLOW","Action":"*","Resource":"*""#), P, "Statement[0].Effect must be Allow or Deny"),
        ("effect second", format!(r#"{{"Version":"1","Statement":[{{{ok_stmt}}},{{"Effect":"Permit","Action":"*","Resource":"*"}}]}}"#), P, "Statement[1].Effect must be Allow or Deny"),
        ("effect bool", only(r#""Effect":true,"Action":"*","Resource":"*""#), P, "Statement[0].Effect must be Allow or Deny"),
        ("single statement path", r#"{"Version":"1","Statement":{"Effect":"Maybe","Action":"*","Resource":"*"}}"#.into(), P, "Statement.Effect must be Allow or Deny"),
        ("no action", only(r#""Effect":"Allow","Resource":"*""#), P, "Statement[0] must have exactly one of Action or NotAction"),
        ("action and notaction", with(r#""NotAction":"ram:*""#), P, "Statement[0] must not have both Action and NotAction"),
        ("action empty array", only(r#""Effect":"Allow","Action":[],"Resource":"*""#), P, "Statement[0].Action must be a string or a non-empty array of strings"),
        ("action number", only(r#""Effect":"Allow","Action":5,"Resource":"*""#), P, "Statement[0].Action must be a string or a non-empty array of strings"),
        ("action element number", only(r#""Effect":"Allow","Action":["ram:GetRole",1],"Resource":"*""#), P, "Statement[0].Action[1] must be a string"),
        ("action no service", only(r#""Effect":"Allow","Action":"CreateRole","Resource":"*""#), P, "Statement[0].Action[0] \"CreateRole\" must be \"*\" or of the form service:ActionName"),
        ("action empty name", only(r#""Effect":"Allow","Action":"ram:","Resource":"*""#), P, "\"ram:\" must be"),
        ("action empty service", only(r#""Effect":"Allow","Action":":GetRole","Resource":"*""#), P, "\":GetRole\" must be"),
        ("action space", only(r#""Effect":"Allow","Action":"ram:Get Role","Resource":"*""#), P, "\"ram:Get Role\" must be"),
        ("action empty", only(r#""Effect":"Allow","Action":"","Resource":"*""#), P, "Statement[0].Action[0] \"\" must be"),
        ("notaction bad", only(r#""Effect":"Allow","NotAction":["ram:*","x"],"Resource":"*""#), P, "Statement[0].NotAction[1] \"x\" must be"),
        ("no resource", only(r#""Effect":"Allow","Action":"*""#), P, "Statement[0] must have exactly one of Resource or NotResource"),
        ("no resource session", only(r#""Effect":"Allow","Action":"*""#), S, "Statement[0] must have exactly one of Resource or NotResource"),
        ("resource and notresource", with(r#""NotResource":"*""#), P, "Statement[0] must not have both Resource and NotResource"),
        ("resource empty", only(r#""Effect":"Allow","Action":"*","Resource":"""#), P, "Statement[0].Resource[0] \"\" must be"),
        ("resource aws arn", only(r#""Effect":"Allow","Action":"*","Resource":"arn:aws:s3:::b""#), P, "Statement[0].Resource[0] \"arn:aws:s3:::b\" must be"),
        ("resource short arn", only(r#""Effect":"Allow","Action":"*","Resource":["*","acs:ram"]"#), P, "Statement[0].Resource[1] \"acs:ram\" must be"),
        ("resource object", only(r#""Effect":"Allow","Action":"*","Resource":{}"#), P, "Statement[0].Resource must be a string or a non-empty array"),
        ("notresource empty array", only(r#""Effect":"Allow","Action":"*","NotResource":[]"#), P, "Statement[0].NotResource must be a string or a non-empty array"),
        ("principal in permission", with(r#""Principal":{"RAM":"*"}"#), P, "Statement[0].Principal is not allowed in a permission policy"),
        ("principal in session", with(r#""Principal":{"RAM":"*"}"#), S, "Statement[0].Principal is not allowed"),
        ("trust no principal", only(r#""Effect":"Allow","Action":"sts:AssumeRole""#), T, "Statement[0].Principal is required in a trust policy"),
        ("trust principal string", only(r#""Effect":"Allow","Action":"sts:AssumeRole","Principal":"*""#), T, "Statement[0].Principal must be an object"),
        ("trust principal empty", only(r#""Effect":"Allow","Action":"sts:AssumeRole","Principal":{}"#), T, "Statement[0].Principal must name at least one of RAM, Service or Federated"),
        ("trust principal AWS", only(r#""Effect":"Allow","Action":"sts:AssumeRole","Principal":{"AWS":"*"}"#), T, "Statement[0].Principal has unknown key \"AWS\""),
        ("trust principal lower ram", only(r#""Effect":"Allow","Action":"sts:AssumeRole","Principal":{"ram":"*"}"#), T, "Statement[0].Principal has unknown key \"ram\""),
        ("trust RAM empty array", only(r#""Effect":"Allow","Action":"sts:AssumeRole","Principal":{"RAM":[]}"#), T, "Statement[0].Principal.RAM must be a string or a non-empty array"),
        ("trust RAM bad entry", only(r#""Effect":"Allow","Action":"sts:AssumeRole","Principal":{"RAM":["alice"]}"#), T, "Statement[0].Principal.RAM[0] \"alice\" must be"),
        ("trust RAM other service arn", only(r#""Effect":"Allow","Action":"sts:AssumeRole","Principal":{"RAM":"acs:ecs::123:root"}"#), T, "Principal.RAM[0] \"acs:ecs::123:root\" must be"),
        ("trust Service empty", only(r#""Effect":"Allow","Action":"sts:AssumeRole","Principal":{"Service":""}"#), T, "Statement[0].Principal.Service[0] \"\" must be"),
        ("trust Service number", only(r#""Effect":"Allow","Action":"sts:AssumeRole","Principal":{"Service":[5]}"#), T, "Statement[0].Principal.Service[0] must be a string"),
        ("trust bad action", only(r#""Effect":"Allow","Action":"AssumeRole","Principal":{"RAM":"*"}"#), T, "Statement[0].Action[0] \"AssumeRole\" must be"),
        ("condition string", cond(r#""x""#), P, "Statement[0].Condition must be an object of condition operators"),
        ("unknown operator", cond(r#"{"StringEqual":{"a:b":"c"}}"#), P, "Statement[0].Condition has unknown operator \"StringEqual\""),
        ("operator case", cond(r#"{"stringequals":{"a:b":"c"}}"#), P, "unknown operator \"stringequals\""),
        ("ForAnyValue operator", cond(r#"{"ForAnyValue:StringEquals":{"a:b":"c"}}"#), P, "unknown operator \"ForAnyValue:StringEquals\""),
        ("IfExists alone", cond(r#"{"IfExists":{"a:b":"c"}}"#), P, "unknown operator \"IfExists\""),
        ("operator value string", cond(r#"{"StringEquals":"x"}"#), P, "Statement[0].Condition.StringEquals must be an object of condition keys"),
        ("condition empty key", cond(r#"{"StringEquals":{"":"x"}}"#), P, "Statement[0].Condition.StringEquals has an empty condition key"),
        ("condition value null", cond(r#"{"StringEquals":{"a:b":null}}"#), P, "Statement[0].Condition.StringEquals.a:b must be a string, number or boolean"),
        ("condition value empty array", cond(r#"{"StringEquals":{"a:b":[]}}"#), P, "Statement[0].Condition.StringEquals.a:b must be a string, number or boolean"),
        ("condition value object", cond(r#"{"StringEquals":{"a:b":{"c":1}}}"#), P, "a:b must be a string, number or boolean"),
        ("condition value nested array", cond(r#"{"StringEquals":{"a:b":[["c"]]}}"#), P, "a:b must be a string, number or boolean"),
        ("numeric value", cond(r#"{"NumericEquals":{"a:n":"ten"}}"#), P, "Statement[0].Condition.NumericEquals.a:n value \"ten\" must be a number"),
        ("numeric nan", cond(r#"{"NumericLessThan":{"a:n":"NaN"}}"#), P, "value \"NaN\" must be a number"),
        ("date value", cond(r#"{"DateLessThan":{"acs:CurrentTime":"tomorrow"}}"#), P, "Statement[0].Condition.DateLessThan.acs:CurrentTime value \"tomorrow\" must be a date"),
        ("date IfExists value", cond(r#"{"DateGreaterThanIfExists":{"acs:CurrentTime":"2024-13-01T00:00:00Z"}}"#), P, "value \"2024-13-01T00:00:00Z\" must be a date"),
        ("bool value", cond(r#"{"Bool":{"acs:MFAPresent":"yes"}}"#), P, "Statement[0].Condition.Bool.acs:MFAPresent value \"yes\" must be true or false"),
        ("bool number", cond(r#"{"Bool":{"acs:MFAPresent":1}}"#), P, "value \"1\" must be true or false"),
        ("ip value", cond(r#"{"IpAddress":{"acs:SourceIp":"10.0.0.0/33"}}"#), P, "Statement[0].Condition.IpAddress.acs:SourceIp value \"10.0.0.0/33\" must be an IP address or CIDR block"),
        ("not ip IfExists value", cond(r#"{"NotIpAddressIfExists":{"acs:SourceIp":["10.0.0.1","abc"]}}"#), P, "value \"abc\" must be an IP address"),
        ("condition in trust", r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"RAM":"*"},"Condition":{"Bool":{"a:b":"maybe"}}}]}"#.to_owned(), T, "value \"maybe\" must be true or false"),
        ("sid number", with(r#""Sid":5"#), P, "Statement[0].Sid must be a string"),
        ("duplicate effect", only(r#""Effect":"Deny","Effect":"Allow","Action":"*","Resource":"*""#), P, "duplicate key \"Effect\""),
        ("duplicate top key", r#"{"Version":"1","Version":"1","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#.into(), P, "duplicate key \"Version\""),
        ("depth 21", deep(18), P, "nested deeper than 20 levels"),
        ("depth 100000", "[".repeat(100_000), P, "nested deeper than 20 levels"),
        ("depth objects", "{\"a\":".repeat(50_000), P, "nested deeper than 20 levels"),
    ]
}

#[test]
fn parse_rejections() {
    let cases = reject_cases();
    let mut failures = Vec::new();
    for (name, text, kind, want) in &cases {
        match parse(text, *kind) {
            Ok(doc) => failures.push(format!("{name}: accepted: {doc:?}")),
            Err(e) if !e.message.contains(want) => {
                failures.push(format!("{name}: message {:?} lacks {want:?}", e.message));
            }
            Err(e) => assert_eq!(e.to_string(), e.message),
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(cases.len() >= 25);
}

#[test]
fn depth_twenty_is_not_a_depth_error() {
    // 3 levels of document + 17 of Sid = 20: refused for the Sid, not for depth.
    let text = format!(
        r#"{{"Version":"1","Statement":[{{"Effect":"Allow","Action":"*","Resource":"*","Sid":{}1{}}}]}}"#,
        "[".repeat(17),
        "]".repeat(17)
    );
    let err = parse(&text, DocumentKind::Permission).unwrap_err();
    assert!(
        err.message.contains("Sid must be a string"),
        "{}",
        err.message
    );
    // Brackets inside strings do not count.
    let text = format!(
        r#"{{"Version":"1","Statement":[{{"Sid":"{}\"{}","Effect":"Allow","Action":"*","Resource":"*"}}]}}"#,
        "[".repeat(50),
        "{".repeat(50)
    );
    parse(&text, DocumentKind::Permission).unwrap();
}

#[test]
fn parse_accepts_reference_documents() {
    let permission = [
        r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":["oss:GetObject","oss:ListObjects"],"Resource":["acs:oss:*:*:mybucket","acs:oss:*:*:mybucket/*"],"Condition":{"IpAddress":{"acs:SourceIp":"10.0.0.0/8"}}}]}"#,
        r#"{"Version":"1","Statement":[{"Action":"ecs:*","Resource":"*","Effect":"Allow"},{"Action":["vpc:DescribeVpcs","vpc:DescribeVSwitches"],"Resource":"*","Effect":"Allow"}]}"#,
        r#"{"Version":"1","Statement":[{"Action":["oss:Get*","oss:List*"],"Effect":"Allow","Resource":"*"}]}"#,
        r#"{"Statement":[{"Sid":"A1","Effect":"Deny","NotAction":["ram:*"],"NotResource":"acs:ram::1234567890123456:role/x"}],"Version":"1"}"#,
        "  {\n  \"Version\": \"1\",\n  \"Statement\": {\"Effect\": \"Allow\", \"Action\": \"*\", \"Resource\": \"*\", \"Condition\": {}}\n}\n",
    ];
    for text in permission {
        parse(text, DocumentKind::Permission).unwrap_or_else(|e| panic!("{e}: {text}"));
        parse(text, DocumentKind::Session).unwrap_or_else(|e| panic!("{e}: {text}"));
        // Permission documents lack the Principal a trust policy needs.
        assert!(parse(text, DocumentKind::Trust).is_err());
    }
    let trust = [
        r#"{"Version":"1","Statement":[{"Action":"sts:AssumeRole","Effect":"Allow","Principal":{"RAM":["acs:ram::1234567890123456:root"]},"Condition":{"StringEquals":{"sts:ExternalId":"abc"}}}]}"#,
        r#"{"Statement":[{"Action":"sts:AssumeRole","Effect":"Allow","Principal":{"Service":["ecs.aliyuncs.com"]}}],"Version":"1"}"#,
        r#"{"Version":"1","Statement":[{"Action":"sts:AssumeRoleWithSAML","Effect":"Allow","Principal":{"Federated":["acs:ram::1234567890123456:saml-provider/idp"]},"Condition":{"StringEquals":{"saml:recipient":"https://signin.aliyun.com/saml-role/sso"}}}]}"#,
        r#"{"Version":"1","Statement":{"Action":"sts:AssumeRole","Effect":"Allow","Principal":{"RAM":"*"},"Resource":"*"}}"#,
    ];
    for text in trust {
        parse(text, DocumentKind::Trust).unwrap_or_else(|e| panic!("{e}: {text}"));
        assert!(parse(text, DocumentKind::Permission).is_err());
    }
}

#[test]
fn parse_builds_the_model() {
    let doc = parse(
        r#"{"Version":"1","Statement":[{"Sid":"S","Effect":"Deny","NotAction":"ram:*","NotResource":["acs:ram:*:*:role/a","*"],"Condition":{"NumericLessThanIfExists":{"ecs:tag/n":[10,2.5]},"Bool":{"acs:MFAPresent":false}}}]}"#,
        DocumentKind::Permission,
    )
    .unwrap();
    assert_eq!(doc.statements.len(), 1);
    let s = &doc.statements[0];
    assert_eq!(s.sid.as_deref(), Some("S"));
    assert_eq!(s.effect, Effect::Deny);
    assert_eq!(s.action, Names::Not(vec!["ram:*".into()]));
    assert_eq!(
        s.resource,
        Some(Names::Not(vec!["acs:ram:*:*:role/a".into(), "*".into()]))
    );
    assert_eq!(s.principal, None);
    assert_eq!(
        s.condition,
        vec![
            ConditionClause {
                operator: Operator {
                    kind: OperatorKind::NumericLessThan,
                    if_exists: true
                },
                key: "ecs:tag/n".into(),
                values: vec!["10".into(), "2.5".into()],
            },
            ConditionClause {
                operator: Operator {
                    kind: OperatorKind::Bool,
                    if_exists: false
                },
                key: "acs:MFAPresent".into(),
                values: vec!["false".into()],
            },
        ]
    );
    let trust = parse(
        r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"RAM":"123","Service":["ecs.aliyuncs.com"],"Federated":"acs:ram::123:oidc-provider/p"}}]}"#,
        DocumentKind::Trust,
    )
    .unwrap();
    assert_eq!(
        trust.statements[0].principal,
        Some(Principal {
            ram: vec!["123".into()],
            service: vec!["ecs.aliyuncs.com".into()],
            federated: vec!["acs:ram::123:oidc-provider/p".into()],
        })
    );
    assert_eq!(trust.statements[0].resource, None);
}

#[test]
fn every_operator_and_its_if_exists_form_parses() {
    for kind in OperatorKind::ALL {
        let value = match kind.value_type() {
            condition::ValueType::String => "\"x\"",
            condition::ValueType::Numeric => "1",
            condition::ValueType::Date => "\"2024-01-01T00:00:00Z\"",
            condition::ValueType::Bool => "true",
            condition::ValueType::Ip => "\"10.0.0.0/8\"",
        };
        for suffix in ["", "IfExists"] {
            let name = format!("{}{suffix}", kind.name());
            let text = format!(
                r#"{{"Version":"1","Statement":[{{"Effect":"Allow","Action":"*","Resource":"*","Condition":{{"{name}":{{"a:b":{value}}}}}}}]}}"#
            );
            let doc =
                parse(&text, DocumentKind::Permission).unwrap_or_else(|e| panic!("{name}: {e}"));
            let op = doc.statements[0].condition[0].operator;
            assert_eq!(op.kind, kind);
            assert_eq!(op.if_exists, !suffix.is_empty());
            assert_eq!(op.name(), name);
        }
    }
}

#[test]
fn date_formats() {
    use condition::parse_date;
    let base = parse_date("2019-08-12T09:00:00Z").unwrap();
    for same in [
        "2019-08-12T17:00:00+08:00",
        "2019-08-12T17:00:00+0800",
        "2019-08-12T09:00:00.000Z",
        "2019-08-12t09:00:00z",
        "1565600400",
    ] {
        assert_eq!(parse_date(same), Some(base), "{same}");
    }
    assert_eq!(parse_date("2019-08-12"), parse_date("2019-08-12T00:00:00Z"));
    for bad in [
        "",
        "2019-08-12T09:00:00",
        "12/08/2019",
        "99999999999999999999",
        "-",
    ] {
        assert_eq!(parse_date(bad), None, "{bad}");
    }
}

#[test]
fn wildcards() {
    let table: &[(&str, &str, bool, bool)] = &[
        ("*", "", false, true),
        ("*", "anything", false, true),
        ("", "", false, true),
        ("", "a", false, false),
        ("a*", "a", false, true),
        ("a*b*c", "aXXbYYc", false, true),
        ("a*b*c", "aXXbYY", false, false),
        ("*a", "bbba", false, true),
        ("?", "", false, false),
        ("??", "ab", false, true),
        ("a?c", "abc", false, true),
        ("ABC", "abc", false, false),
        ("ABC", "abc", true, true),
        ("*.txt", "dir/file.txt", false, true),
        (
            "*x*x*x*",
            "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxy",
            false,
            true,
        ),
        (
            "*x*x*y",
            "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxz",
            false,
            false,
        ),
        ("é*", "Éclair", true, true),
    ];
    for &(p, t, ci, want) in table {
        assert_eq!(wildcard_match(p, t, ci), want, "{p:?} vs {t:?} ci={ci}");
    }
}

#[test]
fn statement_ref_display_and_decision_helpers() {
    let r = StatementRef {
        policy_name: "OssRead".into(),
        policy_type: "Custom".into(),
        index: 0,
        sid: Some("AllowGet".into()),
    };
    assert_eq!(
        r.to_string(),
        "Custom policy \"OssRead\" statement 0 (Sid \"AllowGet\")"
    );
    let no_sid = StatementRef {
        sid: None,
        ..r.clone()
    };
    assert_eq!(no_sid.to_string(), "Custom policy \"OssRead\" statement 0");
    assert!(Decision::Allow(r.clone()).is_allowed());
    assert!(!Decision::ExplicitDeny(r.clone()).is_allowed());
    assert!(Decision::ExplicitDeny(r.clone()).is_explicit_deny());
    assert!(!Decision::ImplicitDeny.is_allowed());
    assert_eq!(Decision::ImplicitDeny.statement(), None);
    assert_eq!(Decision::Allow(r.clone()).statement(), Some(&r));
}

#[test]
fn condition_keys_are_case_insensitive() {
    let mut k = ConditionKeys::new();
    k.set("acs:SourceIp", vec!["10.0.0.1".into()]);
    assert_eq!(k.get("ACS:SOURCEIP"), Some(&["10.0.0.1".to_owned()][..]));
    k.set("ACS:sourceip", vec!["10.0.0.2".into()]);
    assert_eq!(k.get("acs:SourceIp"), Some(&["10.0.0.2".to_owned()][..]));
    assert_eq!(k.get("acs:SourceVpc"), None);
}
