//! How requests arrive and answers leave. Knows nothing of products.

pub mod encode;
pub mod error;
pub mod params;
pub mod request;
pub mod sign_v1;
pub mod sign_v3;

pub use error::{ApiError, ApiResult};
