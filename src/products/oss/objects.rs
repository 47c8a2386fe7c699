//! PutObject, CopyObject, GetObject (Range → 206), HeadObject / GetObjectMeta, DeleteObject and
//! DeleteMultipleObjects (reference/oss.md "Objects").

use base64::Engine;
use md5::{Digest, Md5};

use super::error::{OssError, OssResult};
use super::xml::{self, Writer};
use super::{existing_bucket, http_date, iso_ms, object_arn, Body, OssCtx, Reply};
use crate::catalog::Permission;
use crate::store::oss::{self, ObjectMeta};

const DEFAULT_CONTENT_TYPE: &str = "application/octet-stream";
/// DeleteMultipleObjects takes at most this many keys (as OSS).
const MAX_DELETE_KEYS: usize = 1000;

fn permission(ctx: &OssCtx<'_>, action: &str, key: &str) -> Permission {
    Permission::new(action, object_arn(ctx.account_id(), ctx.bucket, key))
}

/// `x-oss-meta-*` headers of the request, names in lower case.
fn user_meta(ctx: &OssCtx<'_>) -> Vec<(String, String)> {
    let mut m: Vec<(String, String)> = ctx
        .req
        .headers
        .iter()
        .filter(|(k, _)| k.starts_with("x-oss-meta-"))
        .cloned()
        .collect();
    m.sort();
    m
}

fn content_type(ctx: &OssCtx<'_>) -> String {
    ctx.req
        .header("content-type")
        .filter(|v| !v.is_empty())
        .unwrap_or(DEFAULT_CONTENT_TYPE)
        .to_string()
}

/// Refuses a body whose Content-MD5 (when sent) does not match.
fn check_content_md5(ctx: &OssCtx<'_>, md5: &[u8]) -> OssResult<()> {
    if let Some(claimed) = ctx.req.header("content-md5") {
        let given = base64::engine::general_purpose::STANDARD
            .decode(claimed.trim())
            .unwrap_or_default();
        if given != md5 {
            return Err(OssError::new(
                400,
                "InvalidDigest",
                "The Content-MD5 you specified was invalid.",
            ));
        }
    }
    Ok(())
}

/// `x-oss-forbid-overwrite: true` and the key exists → FileAlreadyExists.
fn check_overwrite(ctx: &OssCtx<'_>) -> OssResult<()> {
    if ctx
        .req
        .header("x-oss-forbid-overwrite")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"))
        && oss::get_meta(ctx.tx, ctx.bucket, ctx.key)?.is_some()
    {
        return Err(OssError::new(
            409,
            "FileAlreadyExists",
            "The object you specified already exists and can not be overwritten.",
        )
        .with("Key", ctx.key));
    }
    Ok(())
}

pub fn put_object(ctx: &OssCtx<'_>) -> OssResult<Reply> {
    existing_bucket(ctx)?;
    ctx.authorize(&[permission(ctx, "oss:PutObject", ctx.key)], &[])?;
    let data = &ctx.req.body;
    let md5 = Md5::digest(data);
    check_content_md5(ctx, &md5)?;
    check_overwrite(ctx)?;
    let meta = ObjectMeta {
        key: ctx.key.to_string(),
        size: data.len() as u64,
        etag: hex::encode_upper(md5),
        crc64: super::crc64::checksum(data),
        content_type: content_type(ctx),
        user_meta: user_meta(ctx),
        last_modified_ms: ctx.now_ms,
    };
    oss::put(ctx.tx, ctx.bucket, &meta, data)?;
    Ok(Reply::new(200, Body::Empty)
        .header("etag", format!("\"{}\"", meta.etag))
        .header("x-oss-hash-crc64ecma", meta.crc64.to_string())
        .header(
            "content-md5",
            base64::engine::general_purpose::STANDARD.encode(md5),
        ))
}

/// `x-oss-copy-source: /<bucket>/<url-encoded key>[?versionId=..]` → (bucket, key).
fn copy_source(v: &str) -> OssResult<(String, String)> {
    let bad = || {
        OssError::invalid_argument(
            "Copy Source must mention the source bucket and key: /sourcebucket/sourcekey.",
        )
    };
    let v = v.split('?').next().unwrap_or_default();
    let v = v.strip_prefix('/').unwrap_or(v);
    let (b, k) = v.split_once('/').ok_or_else(bad)?;
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(s)
            .decode_utf8()
            .map(std::borrow::Cow::into_owned)
            .map_err(|_| bad())
    };
    let (b, k) = (decode(b)?, decode(k)?);
    if b.is_empty() || k.is_empty() {
        return Err(bad());
    }
    Ok((b, k))
}

pub fn copy_object(ctx: &OssCtx<'_>) -> OssResult<Reply> {
    existing_bucket(ctx)?;
    let (src_bucket, src_key) =
        copy_source(ctx.req.header("x-oss-copy-source").unwrap_or_default())?;
    super::address::check_bucket_name(&src_bucket)?;
    super::address::check_key(&src_key)?;
    ctx.authorize(
        &[
            Permission::new(
                "oss:GetObject",
                object_arn(ctx.account_id(), &src_bucket, &src_key),
            ),
            permission(ctx, "oss:PutObject", ctx.key),
        ],
        &[],
    )?;
    oss::get_bucket(ctx.tx, &src_bucket)?
        .filter(|b| b.account_id == ctx.account_id())
        .ok_or_else(|| OssError::no_such_bucket(&src_bucket))?;
    let src = oss::get_meta(ctx.tx, &src_bucket, &src_key)?
        .ok_or_else(|| OssError::no_such_key(&src_key))?;
    check_overwrite(ctx)?;
    let directive = ctx.req.header("x-oss-metadata-directive").unwrap_or("COPY");
    let (content_type, user_meta) = match directive {
        "COPY" => (src.content_type.clone(), src.user_meta.clone()),
        "REPLACE" => (content_type(ctx), user_meta(ctx)),
        other => {
            return Err(OssError::invalid_argument("Invalid metadata directive.")
                .with("ArgumentName", "x-oss-metadata-directive")
                .with("ArgumentValue", other))
        }
    };
    let meta = ObjectMeta {
        key: ctx.key.to_string(),
        content_type,
        user_meta,
        last_modified_ms: ctx.now_ms,
        ..src
    };
    if !oss::copy(ctx.tx, &src_bucket, &src_key, ctx.bucket, &meta)? {
        return Err(OssError::no_such_key(&src_key));
    }
    let mut w = Writer::new("CopyObjectResult");
    w.leaf("ETag", &format!("\"{}\"", meta.etag))
        .leaf("LastModified", &iso_ms(meta.last_modified_ms));
    Ok(Reply::xml(w.finish("CopyObjectResult"))
        .header("etag", format!("\"{}\"", meta.etag))
        .header("x-oss-hash-crc64ecma", meta.crc64.to_string()))
}

/// A single `bytes=` range resolved against `size`: Ok(Some((start, end))) inclusive, Ok(None)
/// to serve the whole object (no header, a malformed or multi-part range: OSS ignores those),
/// Err(()) when the range cannot be satisfied.
pub fn resolve_range(header: Option<&str>, size: u64) -> Result<Option<(u64, u64)>, ()> {
    let Some(spec) = header.and_then(|h| h.trim().strip_prefix("bytes=")) else {
        return Ok(None);
    };
    if spec.contains(',') {
        return Ok(None);
    }
    let Some((a, b)) = spec.trim().split_once('-') else {
        return Ok(None);
    };
    let (a, b) = (a.trim(), b.trim());
    let parse = |s: &str| s.parse::<u64>().ok();
    match (a.is_empty(), b.is_empty()) {
        (true, true) => Ok(None),
        (true, false) => {
            let Some(n) = parse(b) else { return Ok(None) };
            if n == 0 || size == 0 {
                return Err(());
            }
            Ok(Some((size - n.min(size), size - 1)))
        }
        (false, _) => {
            let Some(start) = parse(a) else {
                return Ok(None);
            };
            let end = if b.is_empty() {
                u64::MAX
            } else {
                match parse(b) {
                    Some(e) if e >= start => e,
                    _ => return Ok(None),
                }
            };
            if start >= size {
                return Err(());
            }
            Ok(Some((start, end.min(size - 1))))
        }
    }
}

fn object_headers(reply: Reply, ctx: &OssCtx<'_>, m: &ObjectMeta) -> Reply {
    let param = |n: &str| ctx.req.param(n).filter(|v| !v.is_empty());
    let mut r = reply
        .header(
            "content-type",
            param("response-content-type").unwrap_or(&m.content_type),
        )
        .header("etag", format!("\"{}\"", m.etag))
        .header("last-modified", http_date(m.last_modified_ms))
        .header("accept-ranges", "bytes")
        .header("x-oss-object-type", "Normal")
        .header("x-oss-storage-class", "Standard")
        .header("x-oss-hash-crc64ecma", m.crc64.to_string());
    for (k, v) in &m.user_meta {
        r = r.header(k.clone(), v.clone());
    }
    for (q, h) in [
        ("response-content-language", "content-language"),
        ("response-expires", "expires"),
        ("response-cache-control", "cache-control"),
        ("response-content-disposition", "content-disposition"),
        ("response-content-encoding", "content-encoding"),
    ] {
        if let Some(v) = param(q) {
            r = r.header(h, v);
        }
    }
    r
}

pub fn get_object(ctx: &OssCtx<'_>, head: bool) -> OssResult<Reply> {
    existing_bucket(ctx)?;
    ctx.authorize(&[permission(ctx, "oss:GetObject", ctx.key)], &[])?;
    let m = oss::get_meta(ctx.tx, ctx.bucket, ctx.key)?
        .ok_or_else(|| OssError::no_such_key(ctx.key))?;
    let quoted = format!("\"{}\"", m.etag);
    let matches = |v: &str| {
        v.split(',').any(|e| {
            let e = e.trim();
            e == "*" || e == quoted || e == m.etag
        })
    };
    if let Some(v) = ctx.req.header("if-match") {
        if !matches(v) {
            return Err(OssError::new(
                412,
                "PreconditionFailed",
                "At least one of the pre-conditions you specified did not hold.",
            )
            .with("Condition", "If-Match"));
        }
    }
    if let Some(v) = ctx.req.header("if-none-match") {
        if matches(v) {
            return Err(OssError::new(304, "NotModified", "Not Modified"));
        }
    }
    let range = match resolve_range(ctx.req.header("range"), m.size) {
        Ok(r) => r,
        Err(()) => {
            if ctx.req.header("x-oss-range-behavior") == Some("standard") {
                return Err(OssError::new(
                    416,
                    "InvalidRange",
                    "The requested range cannot be satisfied",
                )
                .with(
                    "RangeRequested",
                    ctx.req.header("range").unwrap_or_default(),
                )
                .with("ActualObjectSize", m.size.to_string()));
            }
            None
        }
    };
    let (status, start, len) = match range {
        Some((s, e)) => (206, s, e - s + 1),
        None => (200, 0, m.size),
    };
    let body = if head {
        Body::Length(len)
    } else {
        let data = oss::read_range(ctx.tx, ctx.bucket, ctx.key, start, len)?
            .ok_or_else(|| OssError::no_such_key(ctx.key))?;
        Body::Data(data)
    };
    let mut reply = object_headers(Reply::new(status, body), ctx, &m);
    if status == 206 {
        reply = reply.header(
            "content-range",
            format!("bytes {start}-{}/{}", start + len - 1, m.size),
        );
    }
    Ok(reply)
}

pub fn delete_object(ctx: &OssCtx<'_>) -> OssResult<Reply> {
    existing_bucket(ctx)?;
    ctx.authorize(&[permission(ctx, "oss:DeleteObject", ctx.key)], &[])?;
    // OSS answers 204 whether or not the key existed.
    oss::delete(ctx.tx, ctx.bucket, ctx.key)?;
    Ok(Reply::new(204, Body::Empty))
}

/// `POST /<bucket>/?delete` with `<Delete><Quiet/><Object><Key/></Object>...</Delete>`; every key
/// needs oss:DeleteObject, and a refusal of one refuses the request.
pub fn delete_multiple(ctx: &OssCtx<'_>) -> OssResult<Reply> {
    existing_bucket(ctx)?;
    let body = &ctx.req.body;
    check_content_md5(ctx, &Md5::digest(body))?;
    let keys = xml::texts(body, &["Delete", "Object", "Key"])?;
    if keys.is_empty() || keys.len() > MAX_DELETE_KEYS {
        return Err(OssError::malformed_xml());
    }
    for k in &keys {
        super::address::check_key(k)?;
    }
    let quiet = xml::texts(body, &["Delete", "Quiet"])?
        .first()
        .is_some_and(|q| q.trim().eq_ignore_ascii_case("true"));
    let permissions: Vec<Permission> = keys
        .iter()
        .map(|k| permission(ctx, "oss:DeleteObject", k))
        .collect();
    ctx.authorize(&permissions, &[])?;
    let url = ctx.req.param("encoding-type") == Some("url");
    let mut w = Writer::new("DeleteResult");
    if url {
        w.leaf("EncodingType", "url");
    }
    for k in &keys {
        oss::delete(ctx.tx, ctx.bucket, k)?;
        if !quiet {
            let shown = if url {
                percent_encoding::utf8_percent_encode(k, percent_encoding::NON_ALPHANUMERIC)
                    .to_string()
            } else {
                k.clone()
            };
            w.open("Deleted").leaf("Key", &shown).close("Deleted");
        }
    }
    Ok(Reply::xml(w.finish("DeleteResult")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(resolve_range(None, 10), Ok(None));
        assert_eq!(resolve_range(Some("bytes=0-4"), 10), Ok(Some((0, 4))));
        assert_eq!(resolve_range(Some("bytes=5-"), 10), Ok(Some((5, 9))));
        assert_eq!(resolve_range(Some("bytes=-3"), 10), Ok(Some((7, 9))));
        assert_eq!(resolve_range(Some("bytes=-30"), 10), Ok(Some((0, 9))));
        assert_eq!(resolve_range(Some("bytes=2-100"), 10), Ok(Some((2, 9))));
        assert_eq!(resolve_range(Some("bytes=10-"), 10), Err(()));
        assert_eq!(resolve_range(Some("bytes=4-2"), 10), Ok(None));
        assert_eq!(resolve_range(Some("bytes=a-b"), 10), Ok(None));
        assert_eq!(resolve_range(Some("bytes=0-1,3-4"), 10), Ok(None));
        assert_eq!(resolve_range(Some("bytes=0-0"), 0), Err(()));
    }

    #[test]
    fn copy_sources() {
        assert_eq!(
            copy_source("/b/a%2Fc.txt").ok(),
            Some(("b".into(), "a/c.txt".into()))
        );
        assert_eq!(
            copy_source("/b/k?versionId=1").ok(),
            Some(("b".into(), "k".into()))
        );
        assert!(copy_source("/b").is_err());
        assert!(copy_source("/b/").is_err());
    }
}
