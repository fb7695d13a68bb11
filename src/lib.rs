//! rampart: an embedded web application firewall engine.
#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod dsl;
pub mod transform;
mod request;

pub use crate::transform::Transform;
