//! Configuration: flags, environment variables and an optional TOML file.
//!
//! Precedence, highest first: a flag on the command line, its environment variable, the
//! configuration file (`--config`), the built-in default. The file's keys are the flags'
//! names in snake case (`database_url = "postgres://…"`, `shutdown_seconds = 30`,
//! `cors_origins = ["https://a.example"]`); an unknown key is an error.

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

#[derive(Debug, Clone, Args, serde::Serialize)]
pub struct Config {
    /// TOML file with settings (keys: the flags' names in snake case). Flags and environment
    /// variables win over it.
    #[arg(long, global = true, env = "RUNNER_SERVER_CONFIG")]
    #[serde(skip)]
    pub config: Option<PathBuf>,

    /// Print the effective configuration (secrets redacted) and exit.
    #[arg(long)]
    #[serde(skip)]
    pub print_config: bool,

    /// Address to listen on: HOST:PORT, the host an IP address or a name (`localhost:8080`
    /// binds the first address the name resolves to that can be bound).
    #[arg(long, env = "RUNNER_SERVER_LISTEN", default_value = "127.0.0.1:8080", value_parser = listen_address)]
    pub listen: String,

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

    /// Directory of the built web console (`web/dist`, from `cd web && npm run build`), served at
    /// `/` for GET and HEAD of every path that is not the API's. Without it no console is served.
    #[arg(long, env = "RUNNER_SERVER_CONSOLE_DIR", value_name = "PATH")]
    pub console_dir: Option<PathBuf>,

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

    /// How long, in milliseconds, an authenticated personal access token is trusted without
    /// reading the database again. A revocation or role change through this process applies at
    /// once; one made by another process (an `admin` subcommand, another replica) applies within
    /// this time. 0 reads the database on every call.
    #[arg(long, env = "RUNNER_SERVER_TOKEN_CACHE_MS", default_value_t = 1000,
          value_parser = clap::value_parser!(u64).range(0..=60_000))]
    pub token_cache_ms: u64,

    /// How long, in milliseconds, an update waits for its turn on a resource that other calls
    /// are writing, when the client set no deadline (grpc-timeout, Connect-Timeout-Ms); a
    /// client's deadline is its bound instead. Past it the call is answered `unavailable`
    /// (retry) having written nothing.
    #[arg(long, env = "RUNNER_SERVER_WRITE_WAIT_MS", default_value_t = 10_000,
          value_parser = clap::value_parser!(u64).range(1..=600_000))]
    pub write_wait_ms: u64,

    /// How many events a WatchEvents stream may have waiting before the server ends it with
    /// `resource_exhausted` (the client re-watches and re-lists). Writers never wait for
    /// watchers.
    #[arg(long, env = "RUNNER_SERVER_WATCH_BUFFER_EVENTS", default_value_t = 256,
          value_parser = clap::value_parser!(u64).range(1..=65_536))]
    pub watch_buffer_events: u64,

    /// The shortest time, in milliseconds, between two writes of events to one WatchEvents
    /// stream: the first event after a quiet spell leaves at once, later ones wait out the
    /// rest of the pause and leave together. Longer pauses cost the server less per event under
    /// a steady stream, and add up to the pause to an event's delivery; 0 sends each event as it
    /// comes.
    #[arg(long, env = "RUNNER_SERVER_WATCH_BURST_PAUSE_MS", default_value_t = 20,
          value_parser = clap::value_parser!(u64).range(0..=1_000))]
    pub watch_burst_pause_ms: u64,

    /// The maximum age, in seconds, of a WatchEvents stream: the server then ends it cleanly
    /// and the client watches again. Watch streams are exempt from the idle and body timeouts.
    #[arg(long, env = "RUNNER_SERVER_WATCH_MAX_AGE_SECONDS", default_value_t = 3600,
          value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub watch_max_age_seconds: u64,

    /// How many days audit log entries are kept (ListAuditLogs); older ones are deleted in the
    /// background, at start and every hour after.
    #[arg(long, env = "RUNNER_SERVER_AUDIT_RETENTION_DAYS", default_value_t = 90,
          value_parser = clap::value_parser!(u32).range(1..=36_500))]
    pub audit_retention_days: u32,

    /// The email address of the admin user the first start creates (on an empty database):
    /// GetAccount answers with it, and the admin signs in through the SSO configuration that
    /// owns its domain once there is one. Without it the admin has no email address.
    #[arg(long, env = "RUNNER_SERVER_ADMIN_EMAIL")]
    pub admin_email: Option<String>,

    /// How many hours a console session of a user signed in through SSO lasts (the
    /// `runner_session` cookie); signing out, suspension and deletion of the user end it sooner.
    #[arg(long, env = "RUNNER_SERVER_SESSION_HOURS", default_value_t = 12,
          value_parser = clap::value_parser!(i64).range(1..=720))]
    pub session_hours: i64,

    /// API base URL of an SCM integration host, as HOST=URL (repeat the flag, or
    /// comma-separate), where the API is not where the host implies. Defaults: github.com uses
    /// https://api.github.com and other GitHub hosts https://HOST/api/v3; GitLab
    /// https://HOST/api/v4; bitbucket.org https://api.bitbucket.org/2.0; Azure DevOps
    /// https://HOST plus the integration's virtual directory.
    #[arg(long = "scm-api-url", env = "RUNNER_SERVER_SCM_API_URLS", value_delimiter = ',',
          value_parser = host_url)]
    pub scm_api_urls: Vec<String>,

    /// Web address of an SCM integration host's provider, as HOST=URL (repeat the flag, or
    /// comma-separate), where it is not https://HOST: the base of its OAuth authorization and
    /// token endpoints and of its personal access token pages (a proxy, or a test's fake).
    #[arg(long = "scm-web-url", env = "RUNNER_SERVER_SCM_WEB_URLS", value_delimiter = ',',
          value_parser = host_url)]
    pub scm_web_urls: Vec<String>,

    /// Seconds an SCM provider gets to answer one request (failed reads are retried twice).
    #[arg(long, env = "RUNNER_SERVER_SCM_TIMEOUT_SECONDS", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(1..=300))]
    pub scm_timeout_seconds: u64,

    /// TLS certificate chain (PEM, leaf first). With --tls-key the port serves HTTPS: HTTP/2
    /// and HTTP/1.1 through ALPN, for gRPC, gRPC-web and Connect alike. Give both or neither.
    #[arg(long, env = "RUNNER_SERVER_TLS_CERT", value_name = "PATH")]
    pub tls_cert: Option<PathBuf>,

    /// TLS private key (PEM: PKCS#8, PKCS#1 or SEC1) of --tls-cert.
    #[arg(long, env = "RUNNER_SERVER_TLS_KEY", value_name = "PATH")]
    pub tls_key: Option<PathBuf>,

    /// Connections served at once. Beyond it new connections are not accepted: they wait in the
    /// listen backlog until a connection closes.
    #[arg(long, env = "RUNNER_SERVER_MAX_CONNECTIONS", default_value_t = 10_000,
          value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub max_connections: u64,

    /// Concurrent HTTP/2 streams (calls) per connection.
    #[arg(long, env = "RUNNER_SERVER_MAX_CONCURRENT_STREAMS", default_value_t = 256,
          value_parser = clap::value_parser!(u32).range(1..=65_536))]
    pub max_concurrent_streams: u32,

    /// Largest request head in bytes: request line and headers (HTTP/1, larger gets 431) or
    /// header list (HTTP/2).
    #[arg(long, env = "RUNNER_SERVER_MAX_HEADER_BYTES", default_value_t = 64 * 1024,
          value_parser = clap::value_parser!(u64).range(8192..=16 * 1024 * 1024))]
    pub max_header_bytes: u64,

    /// Seconds a client gets to send a request's headers, from their first byte (HTTP/1), and a
    /// new connection to send its first byte or finish its TLS handshake. A keep-alive
    /// connection between calls is idle (`--idle-timeout-seconds`), not reading headers.
    #[arg(long, env = "RUNNER_SERVER_HEADER_READ_TIMEOUT_SECONDS", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub header_read_timeout_seconds: u64,

    /// Seconds a request gets to send its whole body, counted from its headers; a slower one
    /// gets an error and its connection is closed. Streaming gRPC services (reflection, health
    /// watch) are exempt.
    #[arg(long, env = "RUNNER_SERVER_BODY_READ_TIMEOUT_SECONDS", default_value_t = 60,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub body_read_timeout_seconds: u64,

    /// Seconds a connection may stay open without a call in flight (HTTP/2 gets a GOAWAY), an
    /// HTTP/1 keep-alive connection between calls included.
    #[arg(long, env = "RUNNER_SERVER_IDLE_TIMEOUT_SECONDS", default_value_t = 120,
          value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub idle_timeout_seconds: u64,

    /// Seconds between HTTP/2 keep-alive pings to a client; 0 sends none.
    #[arg(long, env = "RUNNER_SERVER_HTTP2_KEEPALIVE_INTERVAL_SECONDS", default_value_t = 60,
          value_parser = clap::value_parser!(u64).range(0..=86_400))]
    pub http2_keepalive_interval_seconds: u64,

    /// Seconds a client gets to answer an HTTP/2 keep-alive ping before its connection is closed.
    #[arg(long, env = "RUNNER_SERVER_HTTP2_KEEPALIVE_TIMEOUT_SECONDS", default_value_t = 20,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub http2_keepalive_timeout_seconds: u64,
}

/// `HOST:PORT` that resolves to at least one address.
fn listen_address(s: &str) -> Result<String, String> {
    use std::net::ToSocketAddrs;
    let usage = "expected HOST:PORT, such as 127.0.0.1:8080, [::]:8080 or localhost:8080";
    match s.to_socket_addrs().map(|mut addrs| addrs.next()) {
        Ok(Some(_)) => Ok(s.to_owned()),
        Ok(None) => Err(format!("{s} resolves to no address; {usage}")),
        Err(e) => Err(format!("cannot resolve {s} ({e}); {usage}")),
    }
}

/// Days of a token's life: 1 to 100 years' worth.
fn token_days(s: &str) -> Result<u32, String> {
    let days: u32 = s.parse().map_err(|_| format!("{s} is not a whole number of days"))?;
    match days {
        0 => Err("must be at least 1 (a token that expires in 0 days is dead on arrival); leave \
                  --expires-in-days out for a token that does not expire"
            .to_owned()),
        1..=36_500 => Ok(days),
        _ => Err("must be at most 36500 (100 years); leave --expires-in-days out for a token that does not expire"
            .to_owned()),
    }
}

/// `HOST=URL`, the URL absolute http(s).
fn host_url(s: &str) -> Result<String, String> {
    let (host, url) =
        s.split_once('=').ok_or("expected HOST=URL, for example ghe.example.com=https://ghe.example.com")?;
    if host.is_empty() || host.contains("://") {
        return Err(format!("{host:?} is not a host name"));
    }
    if !(url.starts_with("https://") || url.starts_with("http://")) {
        return Err(format!("{url:?} is not an http(s) URL"));
    }
    Ok(s.to_owned())
}

/// `HOST=URL` settings as host (lower-case) to base URL (no trailing `/`).
fn host_url_map(settings: &[String]) -> std::collections::HashMap<String, String> {
    settings
        .iter()
        .filter_map(|s| s.split_once('='))
        .map(|(h, u)| (h.to_ascii_lowercase(), u.trim_end_matches('/').to_owned()))
        .collect()
}

impl Config {
    /// The `--scm-api-url` overrides as host (lower-case) to base URL.
    pub fn scm_api_url_map(&self) -> std::collections::HashMap<String, String> {
        host_url_map(&self.scm_api_urls)
    }

    /// The `--scm-web-url` overrides as host (lower-case) to base URL.
    pub fn scm_web_url_map(&self) -> std::collections::HashMap<String, String> {
        host_url_map(&self.scm_web_urls)
    }
}

#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// Manage organizations, users, service accounts, groups, roles and tokens.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Print the OpenAPI 3.1 description of the Connect JSON API (what GET /openapi.json
    /// serves), or write it to a file.
    Openapi {
        /// Write it here instead of to stdout (docs/openapi.json in the source).
        #[arg(long)]
        out: Option<std::path::PathBuf>,
        /// YAML instead of JSON.
        #[arg(long)]
        yaml: bool,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
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
        /// The person's email address: GetAccount answers with it, and a sign-in through the
        /// SSO configuration that owns its domain is this user.
        #[arg(long)]
        email: Option<String>,
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
        /// Group id or name.
        #[arg(long)]
        group: String,
        /// User or service account id or name.
        #[arg(long)]
        member: String,
        /// Organization (id or name) to look names up in, where one is in several.
        #[arg(long)]
        org: Option<String>,
    },
    /// Set the organization role (admin or member) of a user or service account.
    SetRole {
        /// User or service account id or name.
        #[arg(long)]
        member: String,
        /// Organization (id or name) to look the name up in, where it is in several.
        #[arg(long)]
        org: Option<String>,
        #[arg(value_enum)]
        role: RoleArg,
    },
    /// Suspend a user or service account: its tokens stop working (lift it with --lift). The
    /// organization's last admin who is not suspended cannot be suspended.
    Suspend {
        /// User or service account id or name.
        #[arg(long)]
        member: String,
        /// Organization (id or name) to look the name up in, where it is in several.
        #[arg(long)]
        org: Option<String>,
        /// Lift the suspension instead.
        #[arg(long)]
        lift: bool,
    },
    /// Give a group the runners-admin organization role (or take it away with --revoke).
    SetRunnersAdmin {
        /// Group id or name.
        #[arg(long)]
        group: String,
        /// Organization (id or name) to look the name up in, where it is in several.
        #[arg(long)]
        org: Option<String>,
        #[arg(long)]
        revoke: bool,
    },
    /// Issue a personal access token for a user or service account; printed once.
    IssueToken {
        /// User or service account id or name.
        #[arg(long)]
        member: String,
        /// Organization (id or name) to look the name up in, where it is in several.
        #[arg(long)]
        org: Option<String>,
        #[arg(long, default_value = "")]
        description: String,
        /// Days until the token expires, at least 1; without it the token does not expire.
        #[arg(long, value_parser = token_days)]
        expires_in_days: Option<u32>,
    },
    /// Revoke (delete) a personal access token by its id, as DeletePersonalAccessToken does.
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

impl Cli {
    /// Parses the command line, reading the configuration file it names (or
    /// `RUNNER_SERVER_CONFIG`) for every setting that neither a flag nor an environment
    /// variable gave. `--help` and `--version` exit here, like any clap program.
    pub fn load() -> anyhow::Result<Self> {
        Self::load_from(std::env::args_os().collect())
    }

    pub fn load_from(args: Vec<std::ffi::OsString>) -> anyhow::Result<Self> {
        use anyhow::Context;
        use clap::parser::ValueSource;
        use clap::{CommandFactory, FromArgMatches};

        let command = Self::command();
        let matches = command.clone().try_get_matches_from(&args).unwrap_or_else(|e| e.exit());
        let Some(path) = matches.get_one::<PathBuf>("config") else {
            return Ok(Self::from_arg_matches(&matches)?);
        };
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read configuration file {}", path.display()))?;
        let table: toml::Table =
            text.parse().with_context(|| format!("configuration file {} is not valid TOML", path.display()))?;
        // File values go in as flags right after the program name (before any subcommand), for
        // the settings nothing else gave.
        let mut extra = Vec::new();
        for (key, value) in &table {
            let arg = command
                .get_arguments()
                .find(|a| {
                    a.get_id() == key.as_str()
                        && a.get_long().is_some()
                        && !["config", "print_config"].contains(&key.as_str())
                })
                .with_context(|| format!("configuration file {}: unknown setting {key:?}", path.display()))?;
            if !matches!(matches.value_source(key), None | Some(ValueSource::DefaultValue)) {
                continue;
            }
            let text = match value {
                toml::Value::String(s) => s.clone(),
                toml::Value::Integer(i) => i.to_string(),
                toml::Value::Float(f) => f.to_string(),
                toml::Value::Boolean(b) => b.to_string(),
                toml::Value::Array(items) => items
                    .iter()
                    .map(|i| i.as_str().map(str::to_owned).unwrap_or_else(|| i.to_string()))
                    .collect::<Vec<_>>()
                    .join(","),
                other => anyhow::bail!("configuration file {}: {key} cannot be {}", path.display(), other.type_str()),
            };
            extra.push(format!("--{}={text}", arg.get_long().expect("checked")).into());
        }
        let mut all = args;
        let tail = all.split_off(1.min(all.len()));
        all.extend(extra);
        all.extend(tail);
        let matches =
            command.try_get_matches_from(all).with_context(|| format!("configuration file {}", path.display()))?;
        Ok(Self::from_arg_matches(&matches)?)
    }
}

impl Config {
    /// The effective configuration as TOML, secrets redacted: a database URL's password, and
    /// the key when it comes from RUNNER_SERVER_KEY.
    pub fn printable(&self) -> String {
        let mut shown = self.clone();
        shown.database_url = redact_password(&self.database_url);
        let mut text = toml::to_string(&shown).unwrap_or_else(|e| format!("# cannot print: {e}\n"));
        if std::env::var(crate::keyfile::KEY_ENV).is_ok() {
            text.push_str(&format!("# {} is set (redacted); it wins over key_file\n", crate::keyfile::KEY_ENV));
        }
        text
    }
}

/// `scheme://user:***@host/…` for a URL with a password; anything else as it is.
pub fn redact_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_owned() };
    let (authority, path) = rest.split_once('/').map_or((rest, None), |(a, p)| (a, Some(p)));
    let Some((userinfo, host)) = authority.rsplit_once('@') else { return url.to_owned() };
    let Some((user, _)) = userinfo.split_once(':') else { return url.to_owned() };
    let path = path.map(|p| format!("/{p}")).unwrap_or_default();
    format!("{scheme}://{user}:***@{host}{path}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scm_api_urls_are_host_equals_url() {
        let cli = Cli::try_parse_from([
            "runner-server",
            "--scm-api-url",
            "GHE.example.com=https://ghe.example.com/api/v3/",
            "--scm-api-url=gitlab.local:8443=http://127.0.0.1:9/api/v4",
        ])
        .unwrap();
        let map = cli.config.scm_api_url_map();
        assert_eq!(map["ghe.example.com"], "https://ghe.example.com/api/v3");
        assert_eq!(map["gitlab.local:8443"], "http://127.0.0.1:9/api/v4");
        for bad in ["github.com", "https://github.com=https://x", "github.com=ftp://x", "=https://x"] {
            assert!(Cli::try_parse_from(["runner-server", "--scm-api-url", bad]).is_err(), "{bad}");
            assert!(Cli::try_parse_from(["runner-server", "--scm-web-url", bad]).is_err(), "{bad}");
        }
        let cli =
            Cli::try_parse_from(["runner-server", "--scm-web-url", "GitHub.com=http://127.0.0.1:9/github/"]).unwrap();
        assert_eq!(cli.config.scm_web_url_map()["github.com"], "http://127.0.0.1:9/github");
    }

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact_password("postgres://u:secret@db:5432/x?sslmode=require"),
            "postgres://u:***@db:5432/x?sslmode=require"
        );
        assert_eq!(redact_password("postgres://u@db/x"), "postgres://u@db/x");
        assert_eq!(redact_password("sqlite://data/runners.db"), "sqlite://data/runners.db");
    }
}
