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

    /// Id of the runner this agent runs as (the `runnerId` CreateRunner answered).
    #[arg(long, env = "RUNNER_ID", value_parser = runner_id)]
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

    /// Region this host runs in, as the runner reports it. Without it the agent reports the
    /// region the runner was configured with (its spec), since it cannot tell where it runs.
    #[arg(long, env = "RUNNER_REGION")]
    pub region: Option<String>,

    /// Address the OAuth callback server listens on (HOST:PORT). Default, when --public-url
    /// is given: 127.0.0.1:8081. Without this flag and --public-url the agent serves no
    /// callbacks and offers no OAuth for its SCMs.
    #[arg(long, env = "RUNNER_LISTEN", value_name = "HOST:PORT")]
    pub listen: Option<String>,

    /// URL at which users' browsers reach the OAuth callback server (behind a proxy, its public
    /// URL): the callback of each SCM is PUBLIC_URL/auth/SCM_ID/callback, reported in the
    /// runner's configuration schema, to be registered with the SCM's OAuth application.
    /// Default, when --listen is given: http://LISTEN.
    #[arg(long, env = "RUNNER_PUBLIC_URL", value_parser = public_url)]
    pub public_url: Option<String>,

    /// Longest wait between retries after errors, in seconds.
    #[arg(long, env = "RUNNER_MAX_BACKOFF_SECONDS", default_value_t = 10.0)]
    pub max_backoff_seconds: f64,
}

/// A runner id is a UUID; the canonical, lower-case hyphenated form is kept.
fn runner_id(s: &str) -> Result<String, String> {
    uuid::Uuid::try_parse(s.trim())
        .map(|id| id.hyphenated().to_string())
        .map_err(|_| format!("{s:?} is not a runner id (a UUID such as 0190f3a4-8b7c-7d2e-9f10-1a2b3c4d5e6f)"))
}

/// An absolute http(s) URL without query or fragment; a trailing `/` is dropped.
fn public_url(s: &str) -> Result<String, String> {
    let ok = (s.starts_with("https://") || s.starts_with("http://")) && !s.contains(['?', '#', ' ']);
    if !ok || s.split("://").nth(1).is_none_or(|rest| rest.trim_end_matches('/').is_empty()) {
        return Err(format!("{s:?} is not an http(s) URL such as https://runner.example.com"));
    }
    Ok(s.trim_end_matches('/').to_owned())
}

impl Config {
    pub fn heartbeat(&self) -> Duration {
        Duration::from_secs_f64(self.heartbeat_seconds.clamp(0.1, 3600.0))
    }

    pub fn max_backoff(&self) -> Duration {
        Duration::from_secs_f64(self.max_backoff_seconds.clamp(0.1, 3600.0))
    }

    /// Where the OAuth callback server listens, if it runs.
    pub fn callback_listen(&self) -> Option<&str> {
        match (&self.listen, &self.public_url) {
            (Some(listen), _) => Some(listen),
            (None, Some(_)) => Some("127.0.0.1:8081"),
            (None, None) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(extra: &[&str]) -> Result<Config, clap::Error> {
        let id = "0190f3a4-8b7c-7d2e-9f10-1a2b3c4d5e6f";
        Config::try_parse_from(["runner-agent", "--api-url", "http://x", "--runner-id", id].iter().chain(extra))
    }

    #[test]
    fn runner_ids_are_uuids_kept_canonical() {
        let upper = Config::try_parse_from([
            "runner-agent",
            "--api-url",
            "u",
            "--runner-id",
            "0190F3A4-8B7C-7D2E-9F10-1A2B3C4D5E6F",
        ]);
        assert_eq!(upper.unwrap().runner_id, "0190f3a4-8b7c-7d2e-9f10-1a2b3c4d5e6f");
        let typo = Config::try_parse_from([
            "runner-agent",
            "--api-url",
            "u",
            "--runner-id",
            "0190f3a4-8b7c-7d2e-9f10-1a2b3c4d5e6fx",
        ]);
        assert!(typo.unwrap_err().to_string().contains("is not a runner id"));
    }

    #[test]
    fn callbacks_are_served_when_asked_for() {
        let none = parse(&[]).unwrap();
        assert_eq!((none.callback_listen(), none.region.as_deref()), (None, None));
        let public = parse(&["--public-url", "https://runner.example.com/"]).unwrap();
        assert_eq!(public.callback_listen(), Some("127.0.0.1:8081"));
        assert_eq!(public.public_url.as_deref(), Some("https://runner.example.com"));
        let listen = parse(&["--listen", "0.0.0.0:9000"]).unwrap();
        assert_eq!((listen.callback_listen(), listen.public_url.as_deref()), (Some("0.0.0.0:9000"), None));
        for bad in ["runner.example.com", "https://", "https://x/?a=b", "ftp://x"] {
            assert!(parse(&["--public-url", bad]).is_err(), "{bad}");
        }
    }
}
