//! Command line and environment configuration.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Parser;

/// The runner management API server (gitpod.v1 RunnerService and
/// RunnerConfigurationService) over gRPC, gRPC-web and Connect on one port.
#[derive(Debug, Clone, Parser)]
#[command(name = "runner-server", version, about)]
pub struct Config {
    /// Address to listen on.
    #[arg(long, env = "RUNNER_SERVER_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// Database URL. `sqlite://PATH` (created if missing) or `sqlite::memory:`.
    #[arg(long, env = "DATABASE_URL", default_value = "sqlite://data/runners.db")]
    pub database_url: String,

    /// File holding the server's 32-byte secret key (created with mode 0600 if missing). It
    /// signs page tokens; every replica of one deployment must use the same key.
    #[arg(
        long,
        env = "RUNNER_SERVER_KEY_FILE",
        default_value = "data/server.key"
    )]
    pub key_file: PathBuf,

    /// Largest request message in bytes; larger ones get `resource_exhausted`.
    #[arg(long, env = "RUNNER_SERVER_MAX_MESSAGE_BYTES", default_value_t = 4 * 1024 * 1024)]
    pub max_message_bytes: usize,

    /// Browser origins allowed by CORS (repeat the flag, or comma-separate); none means any.
    #[arg(
        long = "cors-origin",
        env = "RUNNER_SERVER_CORS_ORIGINS",
        value_delimiter = ','
    )]
    pub cors_origins: Vec<String>,

    /// Seconds that in-flight calls get to finish after SIGTERM or Ctrl-C.
    #[arg(long, env = "RUNNER_SERVER_SHUTDOWN_SECONDS", default_value_t = 20)]
    pub shutdown_seconds: u64,
}
