//! One encoder for answers and errors, JSON or XML (reference/errors.md). The XML nests as
//! the real service does: an array under key `Role` becomes repeated `<Role>` elements.

use quick_xml::escape::escape;
use serde_json::{Map, Value};

use super::error::ApiError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Xml,
}

impl Format {
    /// `Format` is read case-insensitively (tea sends `json`); V3 requests always get JSON.
    #[must_use]
    pub fn from_param(value: Option<&str>) -> Self {
        match value {
            Some(v) if v.eq_ignore_ascii_case("xml") => Self::Xml,
            _ => Self::Json,
        }
    }

    #[must_use]
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Json => "application/json;charset=utf-8",
            // The tea SDK parses an error body as XML only with exactly this type.
            Self::Xml => "text/xml;charset=utf-8",
        }
    }
}

/// A successful body: `RequestId` first, then the action's fields.
#[must_use]
pub fn success(
    action: &str,
    request_id: &str,
    fields: Map<String, Value>,
    format: Format,
) -> String {
    let mut body = Map::new();
    body.insert("RequestId".into(), Value::String(request_id.into()));
    for (k, v) in fields {
        if k != "RequestId" {
            body.insert(k, v);
        }
    }
    match format {
        Format::Json => Value::Object(body).to_string(),
        Format::Xml => xml_document(&format!("{action}Response"), &body),
    }
}

/// The error envelope, keys in the order real bodies carry them.
#[must_use]
pub fn error(
    err: &ApiError,
    request_id: &str,
    host_id: &str,
    product: &str,
    format: Format,
) -> String {
    let mut body = Map::new();
    body.insert("RequestId".into(), Value::String(request_id.into()));
    body.insert("Message".into(), Value::String(err.message.clone()));
    body.insert(
        "Recommend".into(),
        Value::String(format!(
            "https://api.aliyun.com/troubleshoot?q={}&product={product}&requestId={request_id}",
            err.code
        )),
    );
    body.insert("HostId".into(), Value::String(host_id.into()));
    body.insert("Code".into(), Value::String(err.code.to_string()));
    if let Some(detail) = &err.access_denied_detail {
        body.insert(
            "AccessDeniedDetail".into(),
            Value::Object((**detail).clone()),
        );
    }
    match format {
        Format::Json => Value::Object(body).to_string(),
        Format::Xml => xml_document("Error", &body),
    }
}

#[must_use]
pub fn xml_document(root: &str, fields: &Map<String, Value>) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>");
    write_element(&mut out, root, &Value::Object(fields.clone()));
    out
}

fn write_element(out: &mut String, name: &str, value: &Value) {
    match value {
        Value::Array(items) => {
            for item in items {
                write_element(out, name, item);
            }
        }
        Value::Null => {
            out.push('<');
            out.push_str(name);
            out.push_str("/>");
        }
        Value::Object(map) => {
            open(out, name);
            for (k, v) in map {
                write_element(out, k, v);
            }
            close(out, name);
        }
        Value::String(s) => {
            open(out, name);
            out.push_str(&escape(s.as_str()));
            close(out, name);
        }
        Value::Bool(b) => {
            open(out, name);
            out.push_str(if *b { "true" } else { "false" });
            close(out, name);
        }
        Value::Number(n) => {
            open(out, name);
            out.push_str(&n.to_string());
            close(out, name);
        }
    }
}

fn open(out: &mut String, name: &str) {
    out.push('<');
    out.push_str(name);
    out.push('>');
}

fn close(out: &mut String, name: &str) {
    out.push_str("</");
    out.push_str(name);
    out.push('>');
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn xml_nests_like_the_service() {
        let Value::Object(fields) =
            json!({"Roles":{"Role":[{"RoleName":"a<b"},{"RoleName":"c"}]},"IsTruncated":false})
        else {
            panic!()
        };
        let xml = success("ListRoles", "R", fields, Format::Xml);
        assert_eq!(
            xml,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><ListRolesResponse><RequestId>R</RequestId><Roles><Role><RoleName>a&lt;b</RoleName></Role><Role><RoleName>c</RoleName></Role></Roles><IsTruncated>false</IsTruncated></ListRolesResponse>"
        );
    }

    #[test]
    fn error_keys_in_real_order() {
        let e = ApiError::action_not_found();
        let body = error(&e, "R", "ram.aliyuncs.com", "Ram", Format::Json);
        let v: Value = serde_json::from_str(&body).unwrap();
        let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
        assert_eq!(
            keys,
            ["RequestId", "Message", "Recommend", "HostId", "Code"]
        );
        assert!(body.contains("q=InvalidAction.NotFound&product=Ram&requestId=R"));
    }
}
