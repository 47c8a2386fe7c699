//! One integration-test binary: a real server on port 0 per test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

mod authorization;
mod day_to_day;
mod ecs_instances;
mod foundation;
mod metadata;
mod oss;
mod oss_v4;
mod ram_groups;
mod ram_policies;
mod ram_shapes;
mod ram_users;
mod reliability;
mod sts;
