//! The `gitpod.v1` runner management API of Ona (formerly Gitpod) for Rust, compiled from
//! `proto/` at build time (pure Rust, no `protoc`).
//!
//! [`gitpod::v1`] holds every message and enum of the API as a prost type with pbjson serde
//! impls (proto3 JSON), and, depending on the features, the services' clients and servers:
//!
//! | feature | adds | depends on |
//! |---|---|---|
//! | (always) | messages and enums, [`wkt::Timestamp`], [`FILE_DESCRIPTOR_SET`] | prost, pbjson, serde |
//! | `client` (default) | tonic gRPC clients: `gitpod::v1::runner_service_client::RunnerServiceClient`, …; the re-exports [`tonic`] and [`tonic_types`] | tonic's client channel (hyper's client side), tonic-types |
//! | `server` | tonic server traits (`runner_service_server`, …) and Connect builders for connectrpc-axum (`runner_service_connect`, …) | axum, connectrpc-axum, hyper's server side |
//!
//! The services are `gitpod.v1.RunnerService`, `gitpod.v1.RunnerConfigurationService`, the
//! `gitpod.v1.IdentityService` a runner process starts with, and the identity and access
//! services around them (`UserService`, `OrganizationService`, `GroupService`, `EventService`,
//! `ServiceAccountService`, `AccountService`) ([`SERVICE_NAMES`]), plus our own
//! runner-side service in `runnerside.v1` ([`RUNNER_SIDE_SERVICE_NAMES`]), what a runner process
//! calls about itself. A Rust client speaks gRPC to a server; the same server also
//! answers Connect and gRPC-web, for other languages and browsers.
//!
//! # Quick start
//!
//! ```toml
//! [dependencies]
//! gitpod-api = "0.1"
//! tokio = { version = "1", features = ["macros", "rt-multi-thread"] }
//! ```
//!
//! Connect with a personal access token, create a runner, page through ListRunners, read the
//! runner back, and read the `google.rpc.BadRequest` detail of an invalid call
//! (`examples/runner_client.rs`):
//!
#![cfg_attr(feature = "client", doc = "```no_run")]
#![cfg_attr(not(feature = "client"), doc = "```ignore")]
#![doc = include_str!("../examples/runner_client.rs")]
//! ```
//!
//! # Versions
//!
//! The crate's version follows the protos: any change to a message, field, enum value or RPC is
//! a new version, and one that can break code written against the previous version is a new
//! minor version while the crate is at 0.x. `CHANGELOG.md` lists the changes of each version.
#![warn(missing_docs)]

/// The generated code, compiled by `build.rs` into `OUT_DIR`; its module tree is re-exported
/// below. Every message, field, enum value, service and RPC carries its proto comment, so
/// `missing_docs` holds for the messages and the clients too. connectrpc-axum-build's Connect
/// builders (feature `server`) come with undocumented items and with a link to `build()` that
/// rustdoc cannot resolve, so those two lints are off when they are generated.
#[allow(clippy::all)]
#[cfg_attr(feature = "server", allow(missing_docs, rustdoc::broken_intra_doc_links))]
mod generated {
    include!(concat!(env!("OUT_DIR"), "/protos.rs"));
}

pub use generated::*;

pub mod wkt;

/// Encoded `google.protobuf.FileDescriptorSet` of every file under `proto/` and their imports,
/// with source info (doc comments).
pub const FILE_DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/gitpod_descriptor.bin"));

/// Full names of the public services (the real `gitpod.v1` API), as they appear on the wire.
pub const SERVICE_NAMES: [&str; 9] = [
    "gitpod.v1.RunnerService",
    "gitpod.v1.RunnerConfigurationService",
    "gitpod.v1.IdentityService",
    "gitpod.v1.UserService",
    "gitpod.v1.OrganizationService",
    "gitpod.v1.GroupService",
    "gitpod.v1.ServiceAccountService",
    "gitpod.v1.EventService",
    "gitpod.v1.AccountService",
];

/// Full names of the runner-side services (our own design in our own package `runnerside.v1`,
/// not a reconstruction): what a runner process calls about itself.
pub const RUNNER_SIDE_SERVICE_NAMES: [&str; 1] = ["runnerside.v1.RunnerInteractionService"];

pub use pbjson_types;
pub use prost;
#[cfg(any(feature = "client", feature = "server"))]
pub use tonic;
#[cfg(feature = "client")]
pub use tonic_types;
