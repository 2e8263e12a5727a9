//! The `gitpod.v1` runner management API, compiled from `proto/` at build time.
//!
//! [`gitpod::v1`] holds, for every message of the two services, the prost type and its pbjson
//! (proto3 JSON) serde impls, plus the tonic clients (`runner_service_client`, …), the tonic
//! server traits (`runner_service_server`, …) and the Connect builders
//! (`runner_service_connect`, …). [`FILE_DESCRIPTOR_SET`] is the encoded descriptor set of every
//! proto file, for gRPC reflection.
//!
//! The messages are always compiled; the tonic clients only with the feature `client` (the
//! default), the tonic server traits and the Connect builders only with `server`.
//!
//! Nothing generated is checked in; `build.rs` only compiles the protos.

// Generated code: the lint policy of the workspace does not apply to it.
#![allow(clippy::all, missing_docs, rustdoc::all)]

include!(concat!(env!("OUT_DIR"), "/protos.rs"));

pub mod wkt;

/// Encoded `google.protobuf.FileDescriptorSet` of `proto/gitpod/v1/*.proto` and their imports,
/// with source info (doc comments).
pub const FILE_DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/gitpod_descriptor.bin"));

/// Full names of the two public services, as they appear on the wire.
pub const SERVICE_NAMES: [&str; 2] = ["gitpod.v1.RunnerService", "gitpod.v1.RunnerConfigurationService"];

/// Full names of the runner-side services (our own design, not a reconstruction): what a runner
/// process calls about itself.
pub const RUNNER_SIDE_SERVICE_NAMES: [&str; 2] = ["gitpod.v1.IdentityService", "gitpod.v1.RunnerInteractionService"];

pub use pbjson_types;
pub use prost;
#[cfg(any(feature = "client", feature = "server"))]
pub use tonic;
#[cfg(feature = "client")]
pub use tonic_types;
