//! One module per product: its ACTIONS table, handlers and permissions side by side.

pub mod ecs;
pub mod oss;
pub mod ram;
pub mod sts;
