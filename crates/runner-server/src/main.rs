//! `runner-server`: wiring only. Configuration → tracing → key → store (migrated) → mount →
//! serve until SIGTERM or Ctrl-C.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use http::HeaderValue;
use runner_core::accounts::Accounts;
use runner_server::config::{Cli, Command, Config, LogFormat};
use runner_server::serve::{ServeOptions, serve_with, tls_config};
use runner_server::state::RunnerTimings;
use runner_server::{AppState, MountOptions, admin, app, keyfile};
use tokio::net::TcpListener;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = match Cli::load() {
        Ok(cli) => cli,
        Err(e) => {
            eprintln!("runner-server: {e:#}");
            return ExitCode::from(2);
        }
    };
    if cli.config.print_config {
        print!("{}", cli.config.printable());
        return ExitCode::SUCCESS;
    }
    if cli.command.is_none() {
        match (&cli.config.tls_cert, &cli.config.tls_key) {
            (Some(_), None) => {
                eprintln!("runner-server: --tls-cert needs --tls-key (RUNNER_SERVER_TLS_KEY) too");
                return ExitCode::from(2);
            }
            (None, Some(_)) => {
                eprintln!("runner-server: --tls-key needs --tls-cert (RUNNER_SERVER_TLS_CERT) too");
                return ExitCode::from(2);
            }
            _ => {}
        }
    }
    let logs = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    match cli.config.log_format {
        LogFormat::Json => logs.json().flatten_event(true).init(),
        LogFormat::Pretty => logs.init(),
    }
    let result = match cli.command {
        None => run(cli.config).await,
        Some(Command::Admin(command)) => run_admin(&cli.config, command).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn open_store(config: &Config) -> anyhow::Result<std::sync::Arc<dyn runner_core::store::Store>> {
    runner_store::open(&config.database_url).await.with_context(|| {
        format!("cannot open database {}", runner_server::config::redact_password(&config.database_url))
    })
}

async fn run_admin(config: &Config, command: runner_server::config::AdminCommand) -> anyhow::Result<()> {
    let store = open_store(config).await?;
    admin::run(&Accounts::new(store), command).await
}

async fn run(config: Config) -> anyhow::Result<()> {
    if let Some(dir) = &config.console_dir {
        runner_server::console::check_dir(dir)?;
    }
    let key = keyfile::load(&config.key_file)?;
    let store = open_store(&config).await?;
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
    let first_start = Accounts::new(store.clone()).bootstrap().await?;
    let cors_origins = config
        .cors_origins
        .iter()
        .map(|o| HeaderValue::from_str(o).with_context(|| format!("bad CORS origin {o:?}")))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let options = MountOptions {
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
    let listener =
        TcpListener::bind(config.listen).await.with_context(|| format!("cannot listen on {}", config.listen))?;
    let addr = listener.local_addr()?;
    let public_url = config.public_url.clone().unwrap_or_else(|| format!("{scheme}://{addr}"));
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
        .with_scm_connector(std::sync::Arc::new(scm))
        .with_token_cache(Duration::from_millis(config.token_cache_ms));
    let health = state.health.clone();
    let app = app(state, &options);
    tracing::info!(%addr, tls = tls.is_some(), "serving gRPC, gRPC-web and Connect");
    if let Some((org, admin, token)) = first_start {
        println!("First start: created organization {:?} with admin user {:?}.", org.name, admin.name);
        println!("admin token (shown once): {}", token.token);
        println!(
            "try: curl -H 'Authorization: Bearer {}' -H 'Content-Type: application/json' -d '{{}}' {scheme}://{addr}/api/gitpod.v1.RunnerService/ListRunners",
            token.token
        );
    }
    // A machine-readable line for scripts that start the server on port 0.
    println!("listening on {scheme}://{addr}");
    let shutdown = async move {
        shutdown_signal().await;
        health.begin_draining();
    };
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
    serve_with(listener, app, tls, transport, shutdown).await?;
    tracing::info!("stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down: finishing calls in flight");
}
