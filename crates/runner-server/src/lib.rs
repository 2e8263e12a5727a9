//! The runner API server: handlers, conversions, the error mapping and the one-port mount.
//!
//! `main.rs` only parses [`config`] and calls [`run::run`]; tests start the same server
//! in-process through [`run::Prepared`] on a listener bound to port 0.

pub mod admin;
pub mod audit;
pub mod auth;
pub mod call;
pub mod config;
pub mod console;
pub mod convert;
#[cfg(test)]
mod enum_pins;
pub mod error;
pub mod handlers;
pub mod health;
pub mod keyfile;
pub mod layers;
pub mod mount;
pub mod oidc;
pub mod openapi;
pub mod paging;
pub mod run;
pub mod serve;
pub mod state;
pub mod telemetry;
pub mod validation;

pub use mount::{MountOptions, app};
pub use serve::{Server, serve};
pub use state::AppState;
