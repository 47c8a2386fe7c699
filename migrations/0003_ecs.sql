-- ECS instances (reference/ecs.md) and what the metadata service serves of them
-- (reference/metadata.md). Store::reset empties this table.

CREATE TABLE instances (
    instance_id        TEXT PRIMARY KEY,
    region_id          TEXT NOT NULL,
    zone_id            TEXT NOT NULL,
    instance_name      TEXT NOT NULL,
    host_name          TEXT NOT NULL,
    description        TEXT NOT NULL DEFAULT '',
    image_id           TEXT NOT NULL,
    instance_type      TEXT NOT NULL,
    -- NULL for a classic-network instance (no VSwitchId at creation).
    vswitch_id         TEXT,
    vpc_id             TEXT,
    -- JSON array of security group ids.
    security_group_ids TEXT NOT NULL DEFAULT '[]',
    -- INVARIANT: unique, so the metadata service can tell instances apart by source address.
    private_ip         TEXT NOT NULL UNIQUE,
    mac                TEXT NOT NULL,
    serial_number      TEXT NOT NULL,
    status             TEXT NOT NULL CHECK (status IN ('Pending', 'Running', 'Starting', 'Stopping', 'Stopped')),
    -- The attached role's name as RAM spells it; at most one role per instance.
    ram_role_name      TEXT,
    -- The optional extra session policy given to AttachInstanceRamRole.
    ram_role_policy    TEXT,
    -- JSON array of [key, value] pairs, in the order given.
    tags               TEXT NOT NULL DEFAULT '[]',
    -- Other accepted parameters (charge types, disk, bandwidth, metadata options), as JSON.
    attributes         TEXT NOT NULL DEFAULT '{}',
    -- Idempotency: the token, and a digest of the action and parameters it was first used with.
    client_token       TEXT,
    request_digest     TEXT,
    -- Position within one RunInstances call, so a replay answers the ids in the same order.
    launch_index       INTEGER NOT NULL DEFAULT 0,
    -- Unix seconds on the virtual clock.
    creation_time      INTEGER NOT NULL,
    start_time         INTEGER
);
CREATE INDEX instances_region ON instances (region_id);
CREATE INDEX instances_client_token ON instances (client_token);
CREATE INDEX instances_role ON instances (ram_role_name);
