//! PutBucket, DeleteBucket, ListBuckets (GET / on the service), GetBucketInfo, GetBucketLocation,
//! GetBucketAcl. Buckets belong to the emulated account; names are global, as in OSS.

use super::address::host_location;
use super::error::{OssError, OssResult};
use super::xml::{self, Writer};
use super::{bucket_arn, existing_bucket, iso_ms, OssCtx, Reply};
use crate::catalog::Permission;
use crate::store::oss::{self, BucketRow};

/// The region a bucket lands in when the Host does not name one.
pub const DEFAULT_LOCATION: &str = "oss-cn-hangzhou";
const STORAGE_CLASSES: &[&str] = &[
    "Standard",
    "IA",
    "Archive",
    "ColdArchive",
    "DeepColdArchive",
];
const ACLS: &[&str] = &["private", "public-read", "public-read-write"];

fn permission(ctx: &OssCtx<'_>, action: &str) -> Permission {
    Permission::new(action, bucket_arn(ctx.account_id(), ctx.bucket))
}

fn owner(w: &mut Writer, account: &str) {
    w.open("Owner")
        .leaf("ID", account)
        .leaf("DisplayName", account)
        .close("Owner");
}

fn region(location: &str) -> &str {
    location.strip_prefix("oss-").unwrap_or(location)
}

pub fn put_bucket(ctx: &OssCtx<'_>) -> OssResult<Reply> {
    ctx.authorize(&[permission(ctx, "oss:PutBucket")], &[])?;
    let mut storage_class = "Standard".to_string();
    if !ctx.req.body.is_empty() {
        let classes = xml::texts(
            &ctx.req.body,
            &["CreateBucketConfiguration", "StorageClass"],
        )?;
        if let Some(c) = classes.first() {
            storage_class = STORAGE_CLASSES
                .iter()
                .find(|s| s.eq_ignore_ascii_case(c.trim()))
                .ok_or_else(|| OssError::invalid_argument("Unsupported storage class."))?
                .to_string();
        }
    }
    let acl = ctx.req.header("x-oss-acl").unwrap_or("private");
    if !ACLS.contains(&acl) {
        return Err(
            OssError::invalid_argument("no such bucket access control exists")
                .with("ArgumentName", "x-oss-acl")
                .with("ArgumentValue", acl),
        );
    }
    let row = BucketRow {
        name: ctx.bucket.to_string(),
        account_id: ctx.account_id().to_string(),
        location: host_location(&ctx.req.host).unwrap_or_else(|| DEFAULT_LOCATION.to_string()),
        storage_class,
        acl: acl.to_string(),
        created_ms: ctx.now_ms,
    };
    if !oss::insert_bucket(ctx.tx, &row)? {
        return Err(OssError::bucket_exists(ctx.bucket));
    }
    Ok(Reply::new(200, super::Body::Empty).header("location", format!("/{}", ctx.bucket)))
}

pub fn delete_bucket(ctx: &OssCtx<'_>) -> OssResult<Reply> {
    existing_bucket(ctx)?;
    ctx.authorize(&[permission(ctx, "oss:DeleteBucket")], &[])?;
    if oss::bucket_has_objects(ctx.tx, ctx.bucket)? {
        return Err(OssError::bucket_not_empty(ctx.bucket));
    }
    oss::delete_bucket(ctx.tx, ctx.bucket)?;
    Ok(Reply::new(204, super::Body::Empty))
}

pub fn get_bucket_info(ctx: &OssCtx<'_>) -> OssResult<Reply> {
    let b = existing_bucket(ctx)?;
    ctx.authorize(&[permission(ctx, "oss:GetBucketInfo")], &[])?;
    let mut w = Writer::new("BucketInfo");
    w.open("Bucket")
        .leaf("AccessMonitor", "Disabled")
        .leaf("CreationDate", &iso_ms(b.created_ms))
        .leaf("ExtranetEndpoint", &format!("{}.aliyuncs.com", b.location))
        .leaf(
            "IntranetEndpoint",
            &format!("{}-internal.aliyuncs.com", b.location),
        )
        .leaf("Location", &b.location)
        .leaf("StorageClass", &b.storage_class)
        .leaf("TransferAcceleration", "Disabled")
        .leaf("CrossRegionReplication", "Disabled")
        .leaf("DataRedundancyType", "LRS")
        .leaf("Name", &b.name);
    owner(&mut w, ctx.account_id());
    w.open("AccessControlList")
        .leaf("Grant", &b.acl)
        .close("AccessControlList")
        .leaf("Comment", "")
        .close("Bucket");
    Ok(Reply::xml(w.finish("BucketInfo")))
}

pub fn get_bucket_location(ctx: &OssCtx<'_>) -> OssResult<Reply> {
    let b = existing_bucket(ctx)?;
    ctx.authorize(&[permission(ctx, "oss:GetBucketLocation")], &[])?;
    let mut w = Writer::new("LocationConstraint");
    w.leaf_text(&b.location);
    Ok(Reply::xml(w.finish("LocationConstraint")))
}

pub fn get_bucket_acl(ctx: &OssCtx<'_>) -> OssResult<Reply> {
    let b = existing_bucket(ctx)?;
    ctx.authorize(&[permission(ctx, "oss:GetBucketAcl")], &[])?;
    let mut w = Writer::new("AccessControlPolicy");
    owner(&mut w, ctx.account_id());
    w.open("AccessControlList")
        .leaf("Grant", &b.acl)
        .close("AccessControlList");
    Ok(Reply::xml(w.finish("AccessControlPolicy")))
}

/// `GET /` (prefix, marker, max-keys): the account's buckets in name order.
pub fn list_buckets(ctx: &OssCtx<'_>) -> OssResult<Reply> {
    ctx.authorize(
        &[Permission::new(
            "oss:ListBuckets",
            format!("acs:oss:*:{}:*", ctx.account_id()),
        )],
        &[],
    )?;
    let prefix = ctx.req.param("prefix").unwrap_or_default();
    let marker = ctx.req.param("marker").unwrap_or_default();
    let paged = ctx.req.has_param("max-keys") || !prefix.is_empty() || !marker.is_empty();
    let max_keys = super::list::max_keys(ctx.req.param("max-keys"), 100)?;
    let mut rows = oss::list_buckets(ctx.tx, ctx.account_id(), prefix, marker, max_keys + 1)?;
    let truncated = rows.len() > max_keys;
    rows.truncate(max_keys);
    let mut w = Writer::new("ListAllMyBucketsResult");
    if paged {
        w.leaf("Prefix", prefix)
            .leaf("Marker", marker)
            .leaf("MaxKeys", &max_keys.to_string())
            .leaf("IsTruncated", if truncated { "true" } else { "false" });
        if truncated {
            if let Some(last) = rows.last() {
                w.leaf("NextMarker", &last.name);
            }
        }
    }
    owner(&mut w, ctx.account_id());
    w.open("Buckets");
    for b in &rows {
        w.open("Bucket")
            .leaf("CreationDate", &iso_ms(b.created_ms))
            .leaf("ExtranetEndpoint", &format!("{}.aliyuncs.com", b.location))
            .leaf(
                "IntranetEndpoint",
                &format!("{}-internal.aliyuncs.com", b.location),
            )
            .leaf("Location", &b.location)
            .leaf("Name", &b.name)
            .leaf("Region", region(&b.location))
            .leaf("StorageClass", &b.storage_class)
            .close("Bucket");
    }
    w.close("Buckets");
    Ok(Reply::xml(w.finish("ListAllMyBucketsResult")))
}
