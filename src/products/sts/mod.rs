//! STS, Version 2015-04-01 (reference/sts.md).

pub mod assume_role;
pub mod caller_identity;

use crate::catalog::{ActionSpec, Product};
use crate::protocol::params::ProductDoc;
use crate::protocol::ApiError;

pub const VERSION: &str = "2015-04-01";

pub static ACTIONS: &[ActionSpec] = &[
    assume_role::ASSUME_ROLE,
    caller_identity::GET_CALLER_IDENTITY,
];

#[must_use]
pub fn product(doc: ProductDoc) -> Product {
    Product {
        name: "Sts",
        version: VERSION,
        host: "sts.aliyuncs.com",
        actions: ACTIONS,
        deny: ApiError::no_permission,
        doc,
    }
}
