//! Command line and environment configuration.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// The runner management API server (gitpod.v1 RunnerService and
/// RunnerConfigurationService) over gRPC, gRPC-web and Connect on one port.
///
/// Without a subcommand it serves. `admin` subcommands manage organizations, members, groups
/// and tokens directly in the same database.
#[derive(Debug, Clone, Parser)]
#[command(name = "runner-server", version, about)]
pub struct Cli {
    #[command(flatten)]
    pub config: Config,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Clone, Args)]
pub struct Config {
    /// Address to listen on.
    #[arg(long, env = "RUNNER_SERVER_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// Database URL: `sqlite://PATH` (created if missing), `sqlite::memory:`, or
    /// `postgres://USER@HOST:PORT/DATABASE` for several replicas sharing one database.
    #[arg(long, global = true, env = "DATABASE_URL", default_value = "sqlite://data/runners.db")]
    pub database_url: String,

    /// File holding the server's 32-byte secret key as 64 hex digits (created with mode 0600 if
    /// missing). It signs page tokens and encrypts secrets at rest; every replica of one
    /// deployment must use the same key (a replica with another key refuses to start). The
    /// environment variable RUNNER_SERVER_KEY, when set, holds the key itself and wins.
    #[arg(long, global = true, env = "RUNNER_SERVER_KEY_FILE", default_value = "data/server.key")]
    pub key_file: PathBuf,

    /// URL clients reach this server at (behind a proxy, its public URL); used in the OAuth
    /// callback URLs of runner configuration schemas. Default: http://LISTEN.
    #[arg(long, env = "RUNNER_SERVER_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// Largest request message in bytes; larger ones get `resource_exhausted`.
    #[arg(long, env = "RUNNER_SERVER_MAX_MESSAGE_BYTES", default_value_t = 4 * 1024 * 1024)]
    pub max_message_bytes: usize,

    /// Browser origins allowed by CORS (repeat the flag, or comma-separate); none means any.
    #[arg(long = "cors-origin", env = "RUNNER_SERVER_CORS_ORIGINS", value_delimiter = ',')]
    pub cors_origins: Vec<String>,

    /// Log format on stderr: `pretty` (for people) or `json` (one object per line, for log
    /// pipelines). RUST_LOG sets the levels (default `info`).
    #[arg(long, global = true, env = "RUNNER_SERVER_LOG_FORMAT", value_enum, default_value = "pretty")]
    pub log_format: LogFormat,

    /// Seconds that in-flight calls get to finish after SIGTERM or Ctrl-C.
    #[arg(long, env = "RUNNER_SERVER_SHUTDOWN_SECONDS", default_value_t = 20)]
    pub shutdown_seconds: u64,

    /// Seconds without a status report after which an ACTIVE or DEGRADED runner is shown as
    /// INACTIVE, with a message saying since when.
    #[arg(long, env = "RUNNER_SERVER_HEARTBEAT_TIMEOUT_SECONDS", default_value_t = 90,
          value_parser = clap::value_parser!(i64).range(1..=86_400))]
    pub heartbeat_timeout_seconds: i64,

    /// Lifetime in seconds of the access tokens runners get for their exchange tokens; runners
    /// refresh them before they expire.
    #[arg(long, env = "RUNNER_SERVER_RUNNER_TOKEN_TTL_SECONDS", default_value_t = 3600,
          value_parser = clap::value_parser!(i64).range(60..=30 * 86_400))]
    pub runner_token_ttl_seconds: i64,
}

#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// Manage organizations, users, service accounts, groups, roles and tokens.
    #[command(subcommand)]
    Admin(AdminCommand),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Pretty,
    Json,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum RoleArg {
    Admin,
    Member,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ListArg {
    Orgs,
    Members,
    Groups,
    Tokens,
}

#[derive(Debug, Clone, Subcommand)]
pub enum AdminCommand {
    /// Create an organization (with its org-members group).
    CreateOrg { name: String },
    /// Create a user in an organization.
    CreateUser {
        /// Organization id or name.
        #[arg(long)]
        org: String,
        name: String,
        #[arg(long, value_enum, default_value = "member")]
        role: RoleArg,
    },
    /// Create a service account in an organization.
    CreateServiceAccount {
        /// Organization id or name.
        #[arg(long)]
        org: String,
        name: String,
        #[arg(long, value_enum, default_value = "member")]
        role: RoleArg,
    },
    /// Create a group in an organization.
    CreateGroup {
        /// Organization id or name.
        #[arg(long)]
        org: String,
        name: String,
    },
    /// Add a user or service account to a group.
    AddMember {
        #[arg(long)]
        group: uuid::Uuid,
        #[arg(long)]
        member: uuid::Uuid,
    },
    /// Set the organization role (admin or member) of a user or service account.
    SetRole {
        #[arg(long)]
        member: uuid::Uuid,
        #[arg(value_enum)]
        role: RoleArg,
    },
    /// Give a group the runners-admin organization role (or take it away with --revoke).
    SetRunnersAdmin {
        #[arg(long)]
        group: uuid::Uuid,
        #[arg(long)]
        revoke: bool,
    },
    /// Issue a personal access token for a user or service account; printed once.
    IssueToken {
        #[arg(long)]
        member: uuid::Uuid,
        #[arg(long, default_value = "")]
        description: String,
        /// Days until the token expires; none means it does not expire.
        #[arg(long)]
        expires_in_days: Option<u32>,
    },
    /// Revoke a personal access token by its id.
    RevokeToken {
        #[arg(long)]
        token_id: uuid::Uuid,
    },
    /// List organizations, or the members, groups or tokens of one.
    List {
        #[arg(value_enum)]
        what: ListArg,
        /// Organization id or name (not for `orgs`).
        #[arg(long)]
        org: Option<String>,
    },
}
