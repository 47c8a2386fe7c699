//! Parsed policy documents, keyed by their exact text. A document's meaning is a function of
//! its text, so this cache can never be stale: a grant or revoke changes which texts a caller
//! holds, and the next request reads them afresh from SQLite. It saves re-parsing the same
//! JSON on every request (issue 9's AssumeRole profile).

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use parking_lot::Mutex;

use super::policy::{self, DocumentKind, PolicyDocument, PolicyError};

/// Past this many distinct documents the cache starts again empty.
const CAPACITY: usize = 4096;

type Cache = Mutex<HashMap<(DocumentKind, String), Arc<PolicyDocument>>>;

fn cache() -> &'static Cache {
    static CACHE: OnceLock<Cache> = OnceLock::new();
    CACHE.get_or_init(Cache::default)
}

/// `policy::parse`, remembered by text; errors are not remembered.
pub fn parse(text: &str, kind: DocumentKind) -> Result<Arc<PolicyDocument>, PolicyError> {
    if let Some(doc) = cache().lock().get(&(kind, text.to_string())) {
        return Ok(doc.clone());
    }
    let doc = Arc::new(policy::parse(text, kind)?);
    let mut g = cache().lock();
    if g.len() >= CAPACITY {
        g.clear();
    }
    g.insert((kind, text.to_string()), doc.clone());
    Ok(doc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_text_same_document_and_errors_stay_errors() {
        let text = r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"ram:GetRole","Resource":"*"}]}"#;
        let a = parse(text, DocumentKind::Permission).unwrap();
        let b = parse(text, DocumentKind::Permission).unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        // The kind is part of the key: a permission policy is no trust policy.
        assert!(parse(text, DocumentKind::Trust).is_err());
        assert!(parse("{", DocumentKind::Permission).is_err());
    }
}
