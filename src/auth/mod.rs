//! Who is calling and what they may do.

pub mod authorize;
pub mod identity;
pub mod nonce;
pub mod parsed;
pub mod policy;
pub mod verify;
