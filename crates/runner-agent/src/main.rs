//! `runner-agent`: see the crate documentation and `--help`.

use std::process::ExitCode;

use clap::Parser;
use runner_agent::{Agent, Config, Exit};

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let config = Config::parse();
    let mut agent = match Agent::new(config) {
        Ok(agent) => agent,
        Err(e) => {
            eprintln!("runner-agent: {e:#}");
            return ExitCode::from(2);
        }
    };
    if let Err(e) = agent.serve_callbacks().await {
        eprintln!("runner-agent: {e:#}");
        return ExitCode::from(2);
    }
    let run = agent.run();
    tokio::select! {
        exit = run => match exit {
            Exit::Deleted => ExitCode::SUCCESS,
            Exit::Fatal(why) => {
                tracing::error!("{why}");
                ExitCode::from(1)
            }
        },
        _ = stop_signal() => {
            tracing::info!("stopped; the runner stays signed up and resumes from the state directory");
            ExitCode::from(130)
        }
    }
}

/// Ctrl-C, or SIGTERM from a service manager.
async fn stop_signal() {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("SIGTERM handler can be installed");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}
