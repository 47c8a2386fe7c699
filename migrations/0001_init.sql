-- Core schema: RAM entities, STS sessions and settings. Names are matched case-insensitively,
-- as RAM does (see README compatibility notes).

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE roles (
    role_id                     TEXT PRIMARY KEY,
    role_name                   TEXT NOT NULL UNIQUE COLLATE NOCASE,
    description                 TEXT NOT NULL DEFAULT '',
    assume_role_policy_document TEXT NOT NULL,
    max_session_duration        INTEGER NOT NULL,
    create_date                 TEXT NOT NULL,
    update_date                 TEXT NOT NULL
);

CREATE TABLE policies (
    policy_type     TEXT NOT NULL CHECK (policy_type IN ('System', 'Custom')),
    policy_name     TEXT NOT NULL COLLATE NOCASE,
    description     TEXT NOT NULL DEFAULT '',
    default_version TEXT NOT NULL,
    next_version    INTEGER NOT NULL,
    create_date     TEXT NOT NULL,
    update_date     TEXT NOT NULL,
    PRIMARY KEY (policy_type, policy_name)
);

CREATE TABLE policy_versions (
    policy_type TEXT NOT NULL,
    policy_name TEXT NOT NULL COLLATE NOCASE,
    version_id  TEXT NOT NULL,
    document    TEXT NOT NULL,
    create_date TEXT NOT NULL,
    PRIMARY KEY (policy_type, policy_name, version_id),
    FOREIGN KEY (policy_type, policy_name) REFERENCES policies (policy_type, policy_name) ON DELETE CASCADE
);

CREATE TABLE users (
    user_id      TEXT PRIMARY KEY,
    user_name    TEXT NOT NULL UNIQUE COLLATE NOCASE,
    display_name TEXT NOT NULL DEFAULT '',
    mobile_phone TEXT NOT NULL DEFAULT '',
    email        TEXT NOT NULL DEFAULT '',
    comments     TEXT NOT NULL DEFAULT '',
    create_date  TEXT NOT NULL,
    update_date  TEXT NOT NULL
);

CREATE TABLE groups (
    group_id    TEXT PRIMARY KEY,
    group_name  TEXT NOT NULL UNIQUE COLLATE NOCASE,
    comments    TEXT NOT NULL DEFAULT '',
    create_date TEXT NOT NULL,
    update_date TEXT NOT NULL
);

CREATE TABLE group_members (
    group_id  TEXT NOT NULL REFERENCES groups (group_id),
    user_id   TEXT NOT NULL REFERENCES users (user_id),
    join_date TEXT NOT NULL,
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX group_members_user ON group_members (user_id);

-- One table for the three kinds of attachment keeps AttachmentCount a single COUNT.
CREATE TABLE policy_attachments (
    principal_type TEXT NOT NULL CHECK (principal_type IN ('Role', 'User', 'Group')),
    principal_id   TEXT NOT NULL,
    policy_type    TEXT NOT NULL,
    policy_name    TEXT NOT NULL COLLATE NOCASE,
    attach_date    TEXT NOT NULL,
    PRIMARY KEY (principal_type, principal_id, policy_type, policy_name),
    FOREIGN KEY (policy_type, policy_name) REFERENCES policies (policy_type, policy_name)
);
CREATE INDEX policy_attachments_policy ON policy_attachments (policy_type, policy_name);

CREATE TABLE access_keys (
    access_key_id     TEXT PRIMARY KEY,
    user_id           TEXT NOT NULL REFERENCES users (user_id),
    access_key_secret TEXT NOT NULL,
    status            TEXT NOT NULL CHECK (status IN ('Active', 'Inactive')),
    create_date       TEXT NOT NULL
);
CREATE INDEX access_keys_user ON access_keys (user_id);

-- STS credentials outlive their role on purpose: a token stays verifiable (and refusable with
-- the right code) until it expires.
CREATE TABLE sts_sessions (
    access_key_id     TEXT PRIMARY KEY,
    access_key_secret TEXT NOT NULL,
    security_token    TEXT NOT NULL UNIQUE,
    role_id           TEXT NOT NULL,
    role_name         TEXT NOT NULL,
    session_name      TEXT NOT NULL,
    session_policy    TEXT,
    source            TEXT NOT NULL,
    source_arn        TEXT NOT NULL,
    expiration        INTEGER NOT NULL,
    create_date       INTEGER NOT NULL
);
CREATE INDEX sts_sessions_expiration ON sts_sessions (expiration);
