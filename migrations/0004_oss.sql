-- OSS buckets and objects (reference/oss.md). Object bytes live in the row (a BLOB), so one
-- transaction writes metadata and content together: a crash never leaves half an object
-- visible. Keys compare as bytes (BINARY collation), the order OSS lists them in.
-- Store::reset empties both tables.

CREATE TABLE oss_buckets (
    name          TEXT PRIMARY KEY,
    account_id    TEXT NOT NULL,
    -- e.g. oss-cn-hangzhou
    location      TEXT NOT NULL,
    storage_class TEXT NOT NULL,
    acl           TEXT NOT NULL DEFAULT 'private',
    -- Unix milliseconds on the virtual clock.
    created_ms    INTEGER NOT NULL
);

CREATE TABLE oss_objects (
    bucket           TEXT NOT NULL REFERENCES oss_buckets(name) ON DELETE CASCADE,
    key              TEXT NOT NULL,
    size             INTEGER NOT NULL,
    -- MD5, upper-case hex, without quotes.
    etag             TEXT NOT NULL,
    -- CRC-64/XZ as decimal text (SQLite integers are signed).
    crc64            TEXT NOT NULL,
    content_type     TEXT NOT NULL,
    -- JSON object: x-oss-meta-* header name (lower case) -> value.
    user_meta        TEXT NOT NULL DEFAULT '{}',
    last_modified_ms INTEGER NOT NULL,
    -- Last, so listings read the row without touching the content's overflow pages.
    data             BLOB NOT NULL,
    PRIMARY KEY (bucket, key)
);
