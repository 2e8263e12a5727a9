//! The meaning of the runner API, free of transport and SQL.
//!
//! - [`model`]: domain types (runners, their spec and status) and the enums of the API;
//! - [`error`]: [`CoreError`], the one error type handlers return, and field violations;
//! - [`validate`]: input rules shared by every RPC (ids, lengths, page sizes);
//! - [`page`]: self-contained, tamper-evident page tokens;
//! - [`store`]: the storage ports that the backends implement;
//! - [`runners`]: the runner use cases, one function per RPC.

pub mod error;
pub mod model;
pub mod page;
pub mod runners;
pub mod secrets;
pub mod store;
pub mod time;
pub mod validate;

pub use error::{CoreError, FieldViolation};
