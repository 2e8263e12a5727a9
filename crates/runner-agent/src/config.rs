//! Flags and environment variables.

use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;

/// Reference runner agent for the runner management API.
///
/// Start it with the runner id and the exchange token that CreateRunner (or CreateRunnerToken)
/// returned. It keeps its key pair and access token in the state directory, so a restart needs
/// no new exchange token while the access token is still valid.
#[derive(Debug, Clone, Parser)]
#[command(name = "runner-agent", version, about)]
pub struct Config {
    /// URL of the API server, e.g. http://127.0.0.1:8080.
    #[arg(long, env = "RUNNER_API_URL")]
    pub api_url: String,

    /// Id of the runner this agent runs as.
    #[arg(long, env = "RUNNER_ID")]
    pub runner_id: String,

    /// One-time exchange token; not needed while the state directory holds a valid access token.
    #[arg(long, env = "RUNNER_EXCHANGE_TOKEN", hide_env_values = true)]
    pub exchange_token: Option<String>,

    /// Directory for the key pair and the access token (created with mode 0700, files 0600).
    #[arg(long, env = "RUNNER_STATE_DIR", default_value = "runner-state")]
    pub state_dir: PathBuf,

    /// Seconds between status reports (heartbeats). Keep it well under the server's
    /// heartbeat timeout.
    #[arg(long, env = "RUNNER_HEARTBEAT_SECONDS", default_value_t = 10.0)]
    pub heartbeat_seconds: f64,

    /// Region the runner reports.
    #[arg(long, env = "RUNNER_REGION", default_value = "local")]
    pub region: String,

    /// Longest wait between retries after errors, in seconds.
    #[arg(long, env = "RUNNER_MAX_BACKOFF_SECONDS", default_value_t = 10.0)]
    pub max_backoff_seconds: f64,
}

impl Config {
    pub fn heartbeat(&self) -> Duration {
        Duration::from_secs_f64(self.heartbeat_seconds.clamp(0.1, 3600.0))
    }

    pub fn max_backoff(&self) -> Duration {
        Duration::from_secs_f64(self.max_backoff_seconds.clamp(0.1, 3600.0))
    }
}
