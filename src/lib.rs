//! acsemu: a local emulator of Alibaba Cloud's RAM, STS and ECS OpenAPI, the ECS instance
//! metadata service and a subset of OSS. See DESIGN in the repository's shared folder and
//! README.md.

pub mod auth;
pub mod catalog;
pub mod clock;
pub mod config;
pub mod control;
pub mod dashboard;
pub mod dispatch;
pub mod ids;
pub mod metadata;
pub mod products;
pub mod protocol;
pub mod recent;
pub mod server;
pub mod state_file;
pub mod store;
pub mod testing;

pub use config::Config;
pub use server::{bind, AppState, Bound, StartError};
