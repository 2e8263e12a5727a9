//! What the tests of the runner API share (dev-dependency only; `runner-load` uses it too):
//!
//! - [`TestServer`]: the real server in-process, set up by the binary's own code
//!   ([`runner_server::run::Prepared`]) on a temporary SQLite database (or a given store) with a
//!   fixed key, and an organization with an admin to call it as;
//! - [`ServerProcess`]: the `runner-server` binary (or any server that prints
//!   `listening on URL`) as a child process, with [`admin`] for its admin subcommands;
//! - [`Client`]: calls any unary RPC by its path over Connect JSON, Connect binary, gRPC or
//!   gRPC-web, every failure given by its Connect code name (from connectrpc-axum's `Code`);
//! - [`leaks`]: the secrets guard every test client runs: no answer and no server log line
//!   may hold a secret a test sent;
//! - [`contention`]: 64 writers × 10 updates on one resource, and the checks that every one
//!   was acknowledged, arrived whole and became visible in order;
//! - [`exactness`]: many writers and many watchers of WatchEvents, and the check that each
//!   watcher received exactly what it may see, in commit order;
//! - [`oidc`]: a real OpenID provider (panva's `oidc-provider`) as a child process.

pub mod client;
pub mod contention;
mod dynamic;
pub mod exactness;
pub mod leaks;
pub mod oidc;
pub mod process;
pub mod server;
mod web_text;

pub use client::{ALL, CallError, Client, ClientOptions, Failure, MessageStream, Protocol, code_name, outcome};
pub use process::{ServerProcess, StartError, admin, list_request, list_status};
pub use server::{PUBLIC_URL, StoppedServer, TestServer, TestServerBuilder};

/// The path of a `gitpod.v1.RunnerService` method.
pub fn rs(method: &str) -> String {
    format!("/gitpod.v1.RunnerService/{method}")
}

/// The path of a `gitpod.v1.EventService` method.
pub fn es(method: &str) -> String {
    format!("/gitpod.v1.EventService/{method}")
}

/// The path of a `gitpod.v1.GroupService` method.
pub fn gs(method: &str) -> String {
    format!("/gitpod.v1.GroupService/{method}")
}

/// The path of a `gitpod.v1.ServiceAccountService` method.
pub fn sas(method: &str) -> String {
    format!("/gitpod.v1.ServiceAccountService/{method}")
}

/// The path of a `gitpod.v1.UserService` method.
pub fn us(method: &str) -> String {
    format!("/gitpod.v1.UserService/{method}")
}

/// The path of a `gitpod.v1.OrganizationService` method.
pub fn os(method: &str) -> String {
    format!("/gitpod.v1.OrganizationService/{method}")
}

/// The path of a `gitpod.v1.RunnerConfigurationService` method.
pub fn rcs(method: &str) -> String {
    format!("/gitpod.v1.RunnerConfigurationService/{method}")
}
