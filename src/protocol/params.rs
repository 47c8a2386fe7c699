//! Parameter checking, driven by the product descriptions in openapi/ so that every action's
//! MissingParameter / InvalidParameter answers are uniform (issue 2, item 6).

use std::collections::BTreeMap;

use regex::Regex;
use serde::Deserialize;

use super::error::{ApiError, ApiResult};

/// One product's description, as stored in `openapi/<product>.json`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProductDoc {
    pub product: String,
    pub version: String,
    pub host: String,
    #[serde(default)]
    pub description: String,
    pub actions: BTreeMap<String, ActionDoc>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ActionDoc {
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub parameters: BTreeMap<String, ParamDoc>,
    /// Dotted paths of the response fields, e.g. `Role.RoleId`, `Roles.Role[].RoleName`.
    #[serde(default)]
    pub response: Vec<String>,
}

#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ParamType {
    String,
    Integer,
    Boolean,
    /// A JSON text, such as ECS's `InstanceIds` array.
    Json,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ParamDoc {
    #[serde(rename = "type")]
    pub kind: ParamType,
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub description: String,
    pub min_length: Option<usize>,
    pub max_length: Option<usize>,
    pub pattern: Option<String>,
    pub minimum: Option<i64>,
    pub maximum: Option<i64>,
    #[serde(rename = "enum")]
    pub allowed: Option<Vec<String>>,
    /// Codes that replace the generic ones where the real service uses its own.
    pub missing_code: Option<String>,
    pub missing_message: Option<String>,
    pub invalid_code: Option<String>,
    pub invalid_message: Option<String>,
    pub length_code: Option<String>,
    pub pattern_code: Option<String>,
    pub range_code: Option<String>,
    pub range_message: Option<String>,
    #[serde(skip)]
    pub regex: Option<Regex>,
}

impl ProductDoc {
    /// Parses a description and compiles its patterns; a broken description is a build fault,
    /// reported at start-up and by the catalog test.
    pub fn load(text: &str) -> Result<Self, String> {
        let mut doc: Self = serde_json::from_str(text).map_err(|e| e.to_string())?;
        for (action, a) in &mut doc.actions {
            for (name, p) in &mut a.parameters {
                if let Some(pat) = &p.pattern {
                    p.regex =
                        Some(Regex::new(pat).map_err(|e| format!("{action}.{name} pattern: {e}"))?);
                }
            }
        }
        Ok(doc)
    }
}

/// The request's parameters after checking: what handlers read.
#[derive(Debug, Default, Clone)]
pub struct Params {
    values: BTreeMap<String, String>,
}

impl Params {
    #[must_use]
    pub fn from_pairs(pairs: impl IntoIterator<Item = (String, String)>) -> Self {
        Self {
            values: pairs.into_iter().collect(),
        }
    }

    /// A present, non-empty value.
    #[must_use]
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// A parameter the description marks required; checking has already refused its absence,
    /// so a miss here is a fault of the description.
    pub fn required(&self, name: &str) -> ApiResult<&str> {
        self.get(name)
            .ok_or_else(|| ApiError::missing_parameter(name))
    }

    /// An integer the description types as such.
    #[must_use]
    pub fn int(&self, name: &str) -> Option<i64> {
        self.get(name).and_then(|v| v.trim().parse().ok())
    }

    #[must_use]
    pub fn bool(&self, name: &str) -> Option<bool> {
        self.get(name).and_then(parse_bool)
    }

    /// Every value whose name starts with `prefix`, e.g. `Tag.` for `Tag.1.Key`.
    pub fn with_prefix<'a>(&'a self, prefix: &'a str) -> impl Iterator<Item = (&'a str, &'a str)> {
        self.values
            .range(prefix.to_string()..)
            .take_while(move |(k, _)| k.starts_with(prefix))
            .map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

fn parse_bool(v: &str) -> Option<bool> {
    if v.eq_ignore_ascii_case("true") {
        Some(true)
    } else if v.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

/// Checks every documented parameter of `action`; an empty value counts as absent.
pub fn check(doc: &ActionDoc, params: &Params) -> ApiResult<()> {
    for (name, p) in &doc.parameters {
        let Some(value) = params.get(name) else {
            if p.required {
                return Err(missing(name, p));
            }
            continue;
        };
        check_value(name, p, value)?;
    }
    Ok(())
}

fn missing(name: &str, p: &ParamDoc) -> ApiError {
    let mut e = match &p.missing_code {
        Some(code) => ApiError::missing_with_code(code.clone(), name),
        None => ApiError::missing_parameter(name),
    };
    if let Some(m) = &p.missing_message {
        e.message.clone_from(m);
    }
    e
}

fn invalid(name: &str, p: &ParamDoc, code: Option<&String>, message: String) -> ApiError {
    let code = code
        .or(p.invalid_code.as_ref())
        .cloned()
        .unwrap_or_else(|| "InvalidParameter".to_string());
    let message = p.invalid_message.clone().unwrap_or(message);
    let _ = name;
    ApiError::new(400, code, message)
}

fn check_value(name: &str, p: &ParamDoc, value: &str) -> ApiResult<()> {
    let chars = value.chars().count();
    match p.kind {
        ParamType::Integer => {
            let Ok(n) = value.trim().parse::<i64>() else {
                return Err(invalid(
                    name,
                    p,
                    None,
                    format!("The parameter \"{name}\" must be an integer."),
                ));
            };
            if p.minimum.is_some_and(|m| n < m) || p.maximum.is_some_and(|m| n > m) {
                let mut e = invalid(
                    name,
                    p,
                    p.range_code.as_ref(),
                    format!(
                        "The parameter \"{name}\" must be between {} and {}.",
                        p.minimum.unwrap_or(i64::MIN),
                        p.maximum.unwrap_or(i64::MAX)
                    ),
                );
                if let Some(m) = &p.range_message {
                    e.message.clone_from(m);
                }
                return Err(e);
            }
        }
        ParamType::Boolean => {
            if parse_bool(value).is_none() {
                return Err(invalid(
                    name,
                    p,
                    None,
                    format!("The parameter \"{name}\" must be true or false."),
                ));
            }
        }
        ParamType::Json => {
            if serde_json::from_str::<serde_json::Value>(value).is_err() {
                return Err(invalid(
                    name,
                    p,
                    None,
                    format!("The parameter \"{name}\" is not a valid JSON text."),
                ));
            }
        }
        ParamType::String => {}
    }
    if p.min_length.is_some_and(|m| chars < m) || p.max_length.is_some_and(|m| chars > m) {
        return Err(invalid(
            name,
            p,
            p.length_code.as_ref(),
            format!(
                "The length of the parameter \"{name}\" must be between {} and {} characters.",
                p.min_length.unwrap_or(0),
                p.max_length.unwrap_or(usize::MAX)
            ),
        ));
    }
    if let Some(re) = &p.regex {
        if !re.is_match(value) {
            return Err(invalid(
                name,
                p,
                p.pattern_code.as_ref(),
                format!("The parameter \"{name}\" contains invalid characters."),
            ));
        }
    }
    if let Some(allowed) = &p.allowed {
        if !allowed.iter().any(|a| a == value) {
            return Err(invalid(
                name,
                p,
                None,
                format!(
                    "The parameter \"{name}\" must be one of: {}.",
                    allowed.join(", ")
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn doc() -> ActionDoc {
        let p = ProductDoc::load(
            r#"{"product":"Ram","version":"2015-05-01","host":"ram.aliyuncs.com","actions":{"A":{
            "parameters":{
              "RoleName":{"type":"string","required":true,"minLength":1,"maxLength":5,"pattern":"^[a-z]+$",
                          "lengthCode":"InvalidParameter.RoleName.Length","patternCode":"InvalidParameter.RoleName.InvalidChars"},
              "N":{"type":"integer","minimum":1,"maximum":3},
              "B":{"type":"boolean"},
              "J":{"type":"json"},
              "E":{"type":"string","enum":["x","y"]}}}}}"#,
        )
        .unwrap();
        p.actions.into_values().next().unwrap()
    }

    fn params(pairs: &[(&str, &str)]) -> Params {
        Params::from_pairs(pairs.iter().map(|(k, v)| ((*k).into(), (*v).into())))
    }

    #[test]
    fn codes() {
        let d = doc();
        let code =
            |pairs: &[(&str, &str)]| check(&d, &params(pairs)).err().map(|e| e.code.to_string());
        assert_eq!(code(&[("RoleName", "abc")]), None);
        assert_eq!(code(&[]).as_deref(), Some("MissingParameter"));
        assert_eq!(
            code(&[("RoleName", "")]).as_deref(),
            Some("MissingParameter")
        );
        assert_eq!(
            code(&[("RoleName", "abcdef")]).as_deref(),
            Some("InvalidParameter.RoleName.Length")
        );
        assert_eq!(
            code(&[("RoleName", "a-b")]).as_deref(),
            Some("InvalidParameter.RoleName.InvalidChars")
        );
        assert_eq!(
            code(&[("RoleName", "a"), ("N", "4")]).as_deref(),
            Some("InvalidParameter")
        );
        assert_eq!(
            code(&[("RoleName", "a"), ("N", "x")]).as_deref(),
            Some("InvalidParameter")
        );
        assert_eq!(
            code(&[("RoleName", "a"), ("B", "yes")]).as_deref(),
            Some("InvalidParameter")
        );
        assert_eq!(
            code(&[("RoleName", "a"), ("J", "[1,")]).as_deref(),
            Some("InvalidParameter")
        );
        assert_eq!(
            code(&[("RoleName", "a"), ("E", "z")]).as_deref(),
            Some("InvalidParameter")
        );
        assert_eq!(
            code(&[("RoleName", "a"), ("E", "y"), ("B", "TRUE"), ("N", "2")]),
            None
        );
    }

    #[test]
    fn prefix_iteration() {
        let p = params(&[
            ("Tag.1.Key", "a"),
            ("Tag.1.Value", "b"),
            ("Tags", "x"),
            ("A", "1"),
        ]);
        let got: Vec<_> = p.with_prefix("Tag.").collect();
        assert_eq!(got, [("Tag.1.Key", "a"), ("Tag.1.Value", "b")]);
    }
}
