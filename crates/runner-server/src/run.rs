//! What the binary does once its flags are parsed: check the key, open and migrate the store,
//! bootstrap the first start, build the application, and serve until shutdown.
//!
//! `main.rs` keeps only the command line, logging and exit codes; tests start the same server
//! in-process through [`Prepared`] (on a listener bound to port 0, with a store of their own
//! if they like), so the binary and the in-process test servers are set up by one body of code.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use http::HeaderValue;
use runner_core::accounts::{Accounts, IssuedToken};
use runner_core::heartbeats::Heartbeats;
use runner_core::identity::{Member, Organization};
use runner_core::store::Store;
use tokio::net::TcpListener;
use tokio_rustls::rustls::ServerConfig;

use crate::config::{AdminCommand, Config};
use crate::serve::{ServeOptions, Server, serve_with, tls_config};
use crate::state::RunnerTimings;
use crate::{AppState, MountOptions, admin, app, keyfile};

/// What the first start on an empty database created: the organization, its admin, and the
/// admin's token (shown once).
pub type FirstStart = (Organization, Member, IssuedToken);

/// A server set up from its configuration and ready to serve: key checked, store open and
/// migrated, first start bootstrapped, listener bound.
pub struct Prepared {
    /// What every handler reaches (the store, the identity use cases, the health).
    pub state: AppState,
    /// The mount's settings, from the configuration; may be changed before serving.
    pub mount: MountOptions,
    /// Set on the first start, when the database was empty.
    pub first_start: Option<FirstStart>,
    /// `http://ADDR`, or `https://ADDR` with TLS.
    pub url: String,
    listener: TcpListener,
    tls: Option<Arc<ServerConfig>>,
    transport: ServeOptions,
    /// `--audit-retention-days`.
    audit_retention_days: u32,
}

impl Prepared {
    /// Sets up the server `config` describes, on `listener` if given (else it binds
    /// `config.listen`).
    pub async fn new(config: &Config, listener: Option<TcpListener>) -> anyhow::Result<Self> {
        Self::build(config, None, listener).await
    }

    /// The same, on `store` instead of the database `config.database_url` names.
    pub async fn with_store(
        config: &Config,
        store: Arc<dyn Store>,
        listener: Option<TcpListener>,
    ) -> anyhow::Result<Self> {
        Self::build(config, Some(store), listener).await
    }

    async fn build(
        config: &Config,
        store: Option<Arc<dyn Store>>,
        listener: Option<TcpListener>,
    ) -> anyhow::Result<Self> {
        if let Some(dir) = &config.console_dir {
            crate::console::check_dir(dir)?;
        }
        let key = keyfile::load(&config.key_file)?;
        let store = match store {
            Some(store) => store,
            None => open_store(config).await?,
        };
        // Every replica must hold the key the database was first used with, or it could neither
        // read what the others encrypted nor continue their page tokens.
        let fingerprint = keyfile::fingerprint(&key);
        if store.key_fingerprint(&fingerprint).await? != fingerprint {
            anyhow::bail!(
                "the server key ({}) is not the key this database was first used with; every replica must use the \
                 same key: copy the first replica's key file, or set {} to its contents",
                if std::env::var(keyfile::KEY_ENV).is_ok() {
                    keyfile::KEY_ENV.to_owned()
                } else {
                    config.key_file.display().to_string()
                },
                keyfile::KEY_ENV
            );
        }
        // First start on an empty database: an organization, its admin, and the admin's token,
        // shown once.
        let first_start = Accounts::new(store.clone()).bootstrap(config.admin_email.as_deref()).await?;
        let cors_origins = config
            .cors_origins
            .iter()
            .map(|o| HeaderValue::from_str(o).with_context(|| format!("bad CORS origin {o:?}")))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let mount = MountOptions {
            max_message_bytes: config.max_message_bytes,
            cors_origins,
            console_dir: config.console_dir.clone(),
            ..Default::default()
        };
        let tls = match (&config.tls_cert, &config.tls_key) {
            (Some(cert), Some(key)) => Some(tls_config(cert, key)?),
            _ => None,
        };
        let scheme = if tls.is_some() { "https" } else { "http" };
        let listener = match listener {
            Some(listener) => listener,
            None => TcpListener::bind(config.listen.as_str())
                .await
                .with_context(|| format!("cannot listen on {}", config.listen))?,
        };
        let url = format!("{scheme}://{}", listener.local_addr()?);
        let public_url = config.public_url.clone().unwrap_or_else(|| url.clone());
        let timings = RunnerTimings {
            heartbeat_timeout_secs: config.heartbeat_timeout_seconds,
            access_token_ttl_secs: config.runner_token_ttl_seconds,
        };
        let scm = runner_scm::HttpScm::new(runner_scm::HttpScmConfig {
            api_urls: config.scm_api_url_map(),
            timeout: Duration::from_secs(config.scm_timeout_seconds),
            ..Default::default()
        })
        .context("cannot set up the HTTP client for SCM providers")?;
        let state = AppState::with_timings(store, &key, public_url.trim_end_matches('/'), timings)
            .with_scm_connector(Arc::new(scm))
            .with_scm_web_urls(config.scm_web_url_map())
            .with_token_cache(Duration::from_millis(config.token_cache_ms))
            .with_write_wait(Duration::from_millis(config.write_wait_ms))
            .with_sessions(config.session_hours, &config.cors_origins)
            .with_watch_limits(
                usize::try_from(config.watch_buffer_events).unwrap_or(usize::MAX),
                Duration::from_secs(config.watch_max_age_seconds),
                Duration::from_millis(config.watch_burst_pause_ms),
            );
        // On PostgreSQL, writes reach the watchers of every replica through the database.
        runner_store::pg_events::relay_for(&config.database_url, state.events.bus().clone())
            .await
            .context("cannot listen for the other replicas' events")?;
        let transport = ServeOptions {
            max_connections: usize::try_from(config.max_connections).unwrap_or(usize::MAX),
            max_concurrent_streams: config.max_concurrent_streams,
            max_header_bytes: usize::try_from(config.max_header_bytes).unwrap_or(usize::MAX),
            header_read_timeout: Duration::from_secs(config.header_read_timeout_seconds),
            body_read_timeout: Duration::from_secs(config.body_read_timeout_seconds),
            idle_timeout: Duration::from_secs(config.idle_timeout_seconds),
            http2_keepalive_interval: (config.http2_keepalive_interval_seconds > 0)
                .then(|| Duration::from_secs(config.http2_keepalive_interval_seconds)),
            http2_keepalive_timeout: Duration::from_secs(config.http2_keepalive_timeout_seconds),
            drain: Duration::from_secs(config.shutdown_seconds),
        };
        let audit_retention_days = config.audit_retention_days;
        Ok(Self { state, mount, first_start, url, listener, tls, transport, audit_retention_days })
    }

    /// Serves in a background task until [`Server::shutdown`].
    pub fn spawn(self) -> std::io::Result<Server> {
        let bus = self.state.events.bus().clone();
        // Until the bus closes at shutdown.
        tokio::spawn(Heartbeats::new(self.state.runners.clone()).run());
        spawn_pruner(&self.state, self.audit_retention_days);
        Server::start_with_hook(self.listener, app(self.state, &self.mount), self.tls, self.transport, move || {
            bus.close()
        })
    }

    /// Serves until `shutdown` resolves, then turns the health to draining and lets the calls
    /// in flight finish. With `announce`, prints the first start's admin token and the
    /// `listening on URL` line scripts wait for, on stdout.
    async fn serve(self, announce: bool, shutdown: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
        let health = self.state.health.clone();
        let bus = self.state.events.bus().clone();
        // Until the bus closes at shutdown.
        tokio::spawn(Heartbeats::new(self.state.runners.clone()).run());
        spawn_pruner(&self.state, self.audit_retention_days);
        let app = app(self.state, &self.mount);
        tracing::info!(url = %self.url, tls = self.tls.is_some(), "serving gRPC, gRPC-web and Connect");
        if announce {
            if let Some((org, admin, token)) = &self.first_start {
                println!("First start: created organization {:?} with admin user {:?}.", org.name, admin.name);
                println!("admin token (shown once): {}", token.token);
                println!(
                    "try: curl -H 'Authorization: Bearer {}' -H 'Content-Type: application/json' -d '{{}}' {}/api/gitpod.v1.RunnerService/ListRunners",
                    token.token, self.url
                );
            }
            // A machine-readable line for scripts that start the server on port 0.
            println!("listening on {}", self.url);
        }
        let shutdown = async move {
            shutdown.await;
            health.begin_draining();
            // Watch streams end cleanly now, rather than holding the drain to its deadline.
            bus.close();
        };
        serve_with(self.listener, app, self.tls, self.transport, shutdown).await?;
        tracing::info!("stopped");
        Ok(())
    }
}

/// How often what has outlived its time is deleted.
const PRUNE_INTERVAL: Duration = Duration::from_secs(3600);

/// Deletes, now and every [`PRUNE_INTERVAL`], in the background for as long as the runtime
/// runs: audit log entries older than `retention_days`, and console sessions and SSO sign-ins
/// in progress that have expired (they no longer sign anyone in, but would stay stored). Every
/// replica does it; the deletes are idempotent.
fn spawn_pruner(state: &AppState, retention_days: u32) {
    let (audit_logs, sso_logins) = (state.audit_logs.clone(), state.sso_logins.clone());
    tokio::spawn(async move {
        let mut every = tokio::time::interval(PRUNE_INTERVAL);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            match sso_logins.prune_expired().await {
                Ok(0) => {}
                Ok(n) => tracing::info!(deleted = n, "pruned expired console sessions and sign-ins"),
                Err(e) => tracing::warn!(error = %e, "could not prune expired console sessions and sign-ins"),
            }
            match audit_logs.prune(retention_days).await {
                Ok(0) => {}
                Ok(n) => {
                    tracing::info!(target: "runner_server::audit", deleted = n, retention_days, "pruned audit log entries")
                }
                Err(e) => {
                    tracing::warn!(target: "runner_server::audit", error = %e, "could not prune audit log entries")
                }
            }
        }
    });
}

/// The server the binary runs: set up from `config` (on `listener` if given, else binding
/// `config.listen`), announced on stdout, serving until `shutdown` resolves.
pub async fn run(
    config: &Config,
    listener: Option<TcpListener>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    Prepared::new(config, listener).await?.serve(true, shutdown).await
}

/// An `admin` subcommand against the configured database, which must exist: one the server
/// created. Says on stderr which database it opened.
pub async fn run_admin(config: &Config, command: AdminCommand) -> anyhow::Result<()> {
    let shown = crate::config::redact_password(&config.database_url);
    let file = runner_store::sqlite_file(&config.database_url);
    let opened = runner_store::open_existing(&config.database_url)
        .await
        .with_context(|| format!("cannot open database {shown}"))?;
    let Some(opened) = opened else {
        match file {
            Some(file) => anyhow::bail!(
                "database {shown} (file {}) does not exist. Admin commands work on the server's database: run them \
                 in the directory the server runs in, or give them the server's --database-url (DATABASE_URL). \
                 The server creates the database on its first start.",
                file.display()
            ),
            None => anyhow::bail!(
                "database {shown} has not been set up by runner-server (it has none of its tables). Admin commands \
                 work on the server's database: give them the server's --database-url (DATABASE_URL). The server \
                 sets the database up on its first start."
            ),
        }
    };
    match &opened.file {
        Some(file) => eprintln!("database {shown} ({})", file.display()),
        None => eprintln!("database {shown}"),
    }
    admin::run(&Accounts::new(opened.store), command).await
}

/// Opens (creating it if needed) and migrates the configured database, and logs which it is
/// and whether it was new.
async fn open_store(config: &Config) -> anyhow::Result<Arc<dyn Store>> {
    let shown = crate::config::redact_password(&config.database_url);
    let opened = runner_store::open_or_create(&config.database_url)
        .await
        .with_context(|| format!("cannot open database {shown}"))?;
    match (&opened.file, opened.created) {
        (Some(file), true) => tracing::info!("database {shown}: created a new database file {}", file.display()),
        (Some(file), false) => tracing::info!("database {shown}: opened the existing database file {}", file.display()),
        (None, true) => tracing::info!("database {shown}: set up a new database (migrations ran from the first)"),
        (None, false) => tracing::info!("database {shown}: opened the existing database"),
    }
    Ok(opened.store)
}

/// Resolves on the first SIGINT (Ctrl-C) or SIGTERM, saying which; a second one while the
/// server drains ends the process at once with 128 + the signal's number, saying so.
pub async fn shutdown_signal() {
    let mut signals = Signals::install();
    let first = signals.next().await;
    tracing::info!(
        signal = first.name,
        "{} received: shutting down; send SIGINT or SIGTERM again to stop at once",
        first.name
    );
    tokio::spawn(async move {
        let second = signals.next().await;
        tracing::error!(
            signal = second.name,
            "{} received while shutting down: stopping at once; calls still in flight are cut off",
            second.name
        );
        crate::telemetry::flush_logs();
        std::process::exit(128 + second.number);
    });
}

/// A termination signal.
#[derive(Debug, Clone, Copy)]
struct Received {
    name: &'static str,
    number: i32,
}

/// The termination signals the process listens to, installed once and received any number of
/// times.
struct Signals {
    #[cfg(unix)]
    interrupt: Option<tokio::signal::unix::Signal>,
    #[cfg(unix)]
    terminate: Option<tokio::signal::unix::Signal>,
}

impl Signals {
    fn install() -> Self {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let listen = |kind: SignalKind, name: &str| {
                signal(kind).map_err(|e| tracing::warn!(error = %e, "cannot listen for {name}")).ok()
            };
            Self {
                interrupt: listen(SignalKind::interrupt(), "SIGINT"),
                terminate: listen(SignalKind::terminate(), "SIGTERM"),
            }
        }
        #[cfg(not(unix))]
        Self {}
    }

    async fn next(&mut self) -> Received {
        #[cfg(unix)]
        {
            async fn recv(signal: &mut Option<tokio::signal::unix::Signal>) {
                match signal {
                    Some(s) => {
                        s.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            }
            tokio::select! {
                () = recv(&mut self.interrupt) => Received { name: "SIGINT", number: 2 },
                () = recv(&mut self.terminate) => Received { name: "SIGTERM", number: 15 },
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
            Received { name: "Ctrl-C", number: 2 }
        }
    }
}
