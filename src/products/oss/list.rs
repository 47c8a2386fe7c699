//! ListObjects (V1: prefix, delimiter, marker, max-keys, encoding-type) and ListObjectsV2
//! (list-type=2: continuation-token, start-after, fetch-owner, KeyCount), reference/oss.md.

use base64::Engine;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use super::error::{OssError, OssResult};
use super::xml::Writer;
use super::{bucket_arn, existing_bucket, iso_ms, OssCtx, Reply};
use crate::catalog::Permission;
use crate::store::oss::{self, ObjectMeta};

/// What `encoding-type=url` escapes: everything but unreserved characters and `/` (oss2
/// URL-decodes Key, Prefix and NextMarker; any valid escaping reads back the same).
const URL_SET: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~')
    .remove(b'/');

/// `max-keys`: absent or empty → `default`; else 1..=1000.
pub fn max_keys(v: Option<&str>, default: usize) -> OssResult<usize> {
    match v {
        None | Some("") => Ok(default),
        Some(s) => match s.parse::<usize>() {
            Ok(n) if (1..=1000).contains(&n) => Ok(n),
            _ => Err(OssError::invalid_argument(
                "Argument max-keys must be an integer between 1 and 1000.",
            )
            .with("ArgumentName", "max-keys")
            .with("ArgumentValue", s)),
        },
    }
}

/// One page of a listing.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Page {
    pub contents: Vec<ObjectMeta>,
    pub prefixes: Vec<String>,
    pub truncated: bool,
    /// The last key or common prefix returned, when truncated.
    pub next: Option<String>,
}

/// Keys under `prefix` after `after`, rolled up at `delimiter` into common prefixes; each key
/// or common prefix counts toward `max`. A common prefix that `after` falls inside was returned
/// on an earlier page and is skipped.
pub fn page(
    tx: &rusqlite::Transaction<'_>,
    bucket: &str,
    prefix: &str,
    delimiter: &str,
    after: &str,
    max: usize,
) -> OssResult<Page> {
    let mut p = Page::default();
    let mut last: Option<String> = None;
    let mut count = 0usize;
    oss::walk(tx, bucket, prefix, after, |m| {
        let rolled = (!delimiter.is_empty())
            .then(|| {
                m.key[prefix.len()..]
                    .find(delimiter)
                    .map(|i| m.key[..prefix.len() + i + delimiter.len()].to_string())
            })
            .flatten();
        if let Some(cp) = rolled {
            if last.as_deref() == Some(cp.as_str()) || after.starts_with(&cp) {
                return true;
            }
            if count == max {
                p.truncated = true;
                return false;
            }
            p.prefixes.push(cp.clone());
            last = Some(cp);
        } else {
            if count == max {
                p.truncated = true;
                return false;
            }
            last = Some(m.key.clone());
            p.contents.push(m);
        }
        count += 1;
        true
    })?;
    if p.truncated {
        p.next = last;
    }
    Ok(p)
}

fn token_encode(marker: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(marker.as_bytes())
}

fn token_decode(token: &str) -> OssResult<String> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token.as_bytes())
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| {
            OssError::invalid_argument("The continuation token provided is incorrect.")
                .with("ArgumentName", "continuation-token")
                .with("ArgumentValue", token)
        })
}

pub fn list_objects(ctx: &OssCtx<'_>, v2: bool) -> OssResult<Reply> {
    existing_bucket(ctx)?;
    let r = ctx.req;
    let prefix = r.param("prefix").unwrap_or_default();
    let delimiter = r.param("delimiter").unwrap_or_default();
    ctx.authorize(
        &[Permission::new(
            "oss:ListObjects",
            bucket_arn(ctx.account_id(), ctx.bucket),
        )],
        &[
            ("oss:Prefix", r.param("prefix")),
            ("oss:Delimiter", r.param("delimiter")),
        ],
    )?;
    let url = match r.param("encoding-type") {
        None | Some("") => false,
        Some("url") => true,
        Some(other) => {
            return Err(
                OssError::invalid_argument("Invalid Encoding Method specified")
                    .with("ArgumentName", "encoding-type")
                    .with("ArgumentValue", other),
            )
        }
    };
    let enc = |s: &str| -> String {
        if url {
            utf8_percent_encode(s, URL_SET).to_string()
        } else {
            s.to_string()
        }
    };
    let max = max_keys(r.param("max-keys"), 100)?;
    let token = r.param("continuation-token").filter(|t| !t.is_empty());
    let start_after = r.param("start-after").unwrap_or_default();
    let marker = r.param("marker").unwrap_or_default();
    let after = if v2 {
        match token {
            Some(t) => token_decode(t)?,
            None => start_after.to_string(),
        }
    } else {
        marker.to_string()
    };
    let fetch_owner = !v2 || r.param("fetch-owner") == Some("true");
    let page = page(ctx.tx, ctx.bucket, prefix, delimiter, &after, max)?;

    let mut w = Writer::new("ListBucketResult");
    w.leaf("Name", ctx.bucket).leaf("Prefix", &enc(prefix));
    if v2 {
        if let Some(t) = token {
            w.leaf("ContinuationToken", t);
        }
        if !start_after.is_empty() {
            w.leaf("StartAfter", &enc(start_after));
        }
    } else {
        w.leaf("Marker", &enc(marker));
    }
    w.leaf("MaxKeys", &max.to_string())
        .leaf("Delimiter", &enc(delimiter));
    if url {
        w.leaf("EncodingType", "url");
    }
    w.leaf("IsTruncated", if page.truncated { "true" } else { "false" });
    if let Some(next) = &page.next {
        if v2 {
            w.leaf("NextContinuationToken", &token_encode(next));
        } else {
            w.leaf("NextMarker", &enc(next));
        }
    }
    for m in &page.contents {
        w.open("Contents")
            .leaf("Key", &enc(&m.key))
            .leaf("LastModified", &iso_ms(m.last_modified_ms))
            .leaf("ETag", &format!("\"{}\"", m.etag))
            .leaf("Type", "Normal")
            .leaf("Size", &m.size.to_string())
            .leaf("StorageClass", "Standard");
        if fetch_owner {
            w.open("Owner")
                .leaf("ID", ctx.account_id())
                .leaf("DisplayName", ctx.account_id())
                .close("Owner");
        }
        w.close("Contents");
    }
    for p in &page.prefixes {
        w.open("CommonPrefixes")
            .leaf("Prefix", &enc(p))
            .close("CommonPrefixes");
    }
    if v2 {
        w.leaf(
            "KeyCount",
            &(page.contents.len() + page.prefixes.len()).to_string(),
        );
    }
    Ok(Reply::xml(w.finish("ListBucketResult")))
}
