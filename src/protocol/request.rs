//! How an RPC request arrives: method, query, form body and headers, decoded once. Pure, so
//! the parser can be property-tested without a server.

use super::error::ApiError;

/// Bounds on what one request may carry (issue 8): past them the request is refused with a
/// 4xx before any work is done.
pub const MAX_PARAMS: usize = 512;
pub const MAX_PARAM_BYTES: usize = 64 * 1024;

#[derive(Debug, Clone, Default)]
pub struct RpcRequest {
    pub method: String,
    pub path: String,
    /// Decoded query parameters, in arrival order.
    pub query: Vec<(String, String)>,
    /// Decoded `application/x-www-form-urlencoded` body parameters.
    pub form: Vec<(String, String)>,
    /// Every header, with a lower-case name.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl RpcRequest {
    /// Decodes the query and, for form bodies, the body.
    pub fn parse(
        method: &str,
        path: &str,
        raw_query: &str,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    ) -> Result<Self, ApiError> {
        let query = decode_pairs(raw_query.as_bytes())?;
        let is_form = headers.iter().any(|(k, v)| {
            k == "content-type"
                && v.trim()
                    .to_ascii_lowercase()
                    .starts_with("application/x-www-form-urlencoded")
        });
        let form = if is_form {
            decode_pairs(&body)?
        } else {
            Vec::new()
        };
        if query.len() + form.len() > MAX_PARAMS {
            return Err(ApiError::new(
                400,
                "InvalidParameter",
                format!("The request carries more than {MAX_PARAMS} parameters."),
            ));
        }
        Ok(Self {
            method: method.to_string(),
            path: path.to_string(),
            query,
            form,
            headers,
            body,
        })
    }

    #[must_use]
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// A parameter from the form body or the query; the body wins, as it is the later part.
    #[must_use]
    pub fn param(&self, name: &str) -> Option<&str> {
        self.form
            .iter()
            .rev()
            .chain(self.query.iter().rev())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Query and body together: what V1 signs.
    #[must_use]
    pub fn all_params(&self) -> Vec<(String, String)> {
        self.query.iter().chain(self.form.iter()).cloned().collect()
    }
}

fn decode_pairs(raw: &[u8]) -> Result<Vec<(String, String)>, ApiError> {
    let pairs: Vec<(String, String)> = form_pairs(raw);
    if let Some((k, _)) = pairs
        .iter()
        .find(|(k, v)| k.len() + v.len() > MAX_PARAM_BYTES)
    {
        return Err(ApiError::new(
            400,
            "InvalidParameter",
            format!(
                "The parameter \"{}\" exceeds the length limit of {MAX_PARAM_BYTES} bytes.",
                truncate(k, 64)
            ),
        ));
    }
    Ok(pairs)
}

fn form_pairs(raw: &[u8]) -> Vec<(String, String)> {
    // serde_urlencoded's form decoder: `+` is a space, invalid UTF-8 is replaced, never fails.
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(raw).unwrap_or_default()
}

fn truncate(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    fn form_headers() -> Vec<(String, String)> {
        vec![(
            "content-type".to_string(),
            "application/x-www-form-urlencoded; charset=utf-8".to_string(),
        )]
    }

    #[test]
    fn merges_query_and_form_body_wins() {
        let r = RpcRequest::parse(
            "POST",
            "/",
            "Action=A&X=q&Empty=",
            form_headers(),
            b"X=b+c&Y=%2B".to_vec(),
        )
        .unwrap();
        assert_eq!(r.param("X"), Some("b c"));
        assert_eq!(r.param("Y"), Some("+"));
        assert_eq!(r.param("Empty"), Some(""));
        assert_eq!(r.all_params().len(), 5);
    }

    #[test]
    fn body_without_form_type_is_not_params() {
        let r = RpcRequest::parse("POST", "/", "", vec![], b"X=1".to_vec()).unwrap();
        assert_eq!(r.param("X"), None);
    }

    #[test]
    fn too_many_params_is_refused() {
        let q: Vec<String> = (0..=MAX_PARAMS).map(|i| format!("k{i}=v")).collect();
        let e = RpcRequest::parse("GET", "/", &q.join("&"), vec![], vec![]).unwrap_err();
        assert_eq!(e.status, 400);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        #[test]
        fn never_panics(q in ".{0,200}", b in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = RpcRequest::parse("POST", "/", &q, form_headers(), b);
        }
    }
}
