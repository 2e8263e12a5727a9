//! `runner-server`: the command line, logging and exit codes; everything else is
//! [`runner_server::run`].

use std::process::ExitCode;

use runner_server::config::{Cli, Command};
use runner_server::run::{run, run_admin, shutdown_signal};

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
    if let Some(Command::Openapi { out, yaml }) = &cli.command {
        let text = if *yaml { runner_server::openapi::yaml() } else { runner_server::openapi::json() };
        return match out {
            None => {
                print!("{text}");
                ExitCode::SUCCESS
            }
            Some(path) => match std::fs::write(path, text) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("runner-server: cannot write {}: {e}", path.display());
                    ExitCode::FAILURE
                }
            },
        };
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
    runner_server::telemetry::init_logs(cli.config.log_format);
    let result = match cli.command {
        None => run(&cli.config, None, shutdown_signal()).await,
        Some(Command::Admin(command)) => run_admin(&cli.config, command).await,
        Some(Command::Openapi { .. }) => unreachable!("answered before logging starts"),
    };
    let code = match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            ExitCode::FAILURE
        }
    };
    runner_server::telemetry::flush_logs();
    code
}
