//! The real `runner-server` binary as a child process (`runner_testkit::ServerProcess`): its
//! flags, configuration and admin subcommands, SIGTERM and SIGKILL, its transport limits, its
//! metrics and logs, replicas on one PostgreSQL, and the packaging checked against its flags.
//! See tests/README.md.

mod bin;
mod crash;
mod packaging;
mod replicas;
mod telemetry;
mod transport;

use std::path::Path;

/// The binary under test.
const BIN: &str = env!("CARGO_BIN_EXE_runner-server");

fn bin() -> &'static Path {
    Path::new(BIN)
}
