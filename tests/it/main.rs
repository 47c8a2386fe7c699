//! One integration-test binary: a real server on port 0 per test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

mod authorization;
mod foundation;
mod reliability;
mod sts;
