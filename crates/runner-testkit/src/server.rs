//! The real server in-process, set up by the binary's own code ([`Prepared`]) on a listener on
//! 127.0.0.1:0: a fresh SQLite database (or a given store) and a fixed key in a temporary
//! directory, and the organization and admin its first start creates.

use std::collections::HashMap;
use std::sync::Arc;

use runner_core::accounts::Accounts;
use runner_core::identity::{OrgRole, Organization};
use runner_core::model::Principal;
use runner_core::store::Store;
use runner_server::config::{Cli, Config};
use runner_server::health::Health;
use runner_server::run::Prepared;
use runner_server::state::RunnerTimings;
use runner_server::{MountOptions, Server};
use tokio::net::TcpListener;

use crate::client::{Client, Protocol};
use crate::leaks;

/// The key every test server uses (`[42; 32]`), so that its replicas share it.
const KEY_HEX: &str = "2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a";

/// Where the server says it is reached, in OAuth callback URLs.
pub const PUBLIC_URL: &str = "http://runner-api.test";

/// A running server, the temporary directory that holds its database and key, and an
/// organization with an admin to call it as.
pub struct TestServer {
    pub server: Server,
    pub dir: tempfile::TempDir,
    /// The server's own identity use cases, so that identity changes a test makes reach its
    /// token cache as an admin's changes through the API would.
    pub identity: Accounts,
    pub store: Arc<dyn Store>,
    pub org: Organization,
    pub admin_id: uuid::Uuid,
    pub admin_token: String,
    /// The server's health, to start draining as SIGTERM would.
    pub health: Arc<Health>,
    /// How it was set up, for [`TestServer::restart`].
    config: Config,
    /// The store it was given, if it was not set up with its own.
    given_store: Option<Arc<dyn Store>>,
    mount: Option<MountOptions>,
}

/// How to start a [`TestServer`]; every setting defaults to the binary's.
#[derive(Default)]
pub struct TestServerBuilder {
    mount: Option<MountOptions>,
    timings: Option<RunnerTimings>,
    scm: Option<HashMap<String, String>>,
    scm_web: Option<HashMap<String, String>>,
    store: Option<Arc<dyn Store>>,
    write_wait: Option<std::time::Duration>,
    watch_buffer: Option<u64>,
}

impl TestServerBuilder {
    /// The mount's settings (message limit, CORS, console, health interval).
    pub fn mount(mut self, options: MountOptions) -> Self {
        self.mount = Some(options);
        self
    }

    /// The runner side's heartbeat timeout and access token lifetime.
    pub fn timings(mut self, timings: RunnerTimings) -> Self {
        self.timings = Some(timings);
        self
    }

    /// SCM calls go to these API base URLs (integration host to URL), with a 2 s timeout.
    pub fn scm(mut self, api_urls: HashMap<String, String>) -> Self {
        self.scm = Some(api_urls);
        self
    }

    /// The providers' web pages (OAuth authorization and token endpoints) of these hosts are
    /// at these base URLs (integration host to URL), as `--scm-web-url` says.
    pub fn scm_web(mut self, web_urls: HashMap<String, String>) -> Self {
        self.scm_web = Some(web_urls);
        self
    }

    /// How long a write waits for its turn when the caller set no deadline (`--write-wait-ms`).
    pub fn write_wait(mut self, wait: std::time::Duration) -> Self {
        self.write_wait = Some(wait);
        self
    }

    /// Each WatchEvents stream's buffer, in events (`--watch-buffer-events`).
    pub fn watch_buffer(mut self, events: u64) -> Self {
        self.watch_buffer = Some(events);
        self
    }

    /// On `store`, an empty database it bootstraps, rather than a fresh SQLite file.
    pub fn store(mut self, store: Arc<dyn Store>) -> Self {
        self.store = Some(store);
        self
    }

    pub async fn start(self) -> TestServer {
        leaks::capture_server_log();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("server.key"), KEY_HEX).unwrap();
        let mut config = config(dir.path());
        if let Some(timings) = self.timings {
            config.heartbeat_timeout_seconds = timings.heartbeat_timeout_secs;
            config.runner_token_ttl_seconds = timings.access_token_ttl_secs;
        }
        if let Some(wait) = self.write_wait {
            config.write_wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX);
        }
        if let Some(events) = self.watch_buffer {
            config.watch_buffer_events = events;
        }
        if let Some(urls) = self.scm {
            config.scm_api_urls = urls.iter().map(|(host, url)| format!("{host}={url}")).collect();
            config.scm_timeout_seconds = 2;
        }
        if let Some(urls) = self.scm_web {
            config.scm_web_urls = urls.iter().map(|(host, url)| format!("{host}={url}")).collect();
        }
        let mut prepared = prepare(&config, self.store.clone(), None).await;
        if let Some(mount) = self.mount.clone() {
            prepared.mount = mount;
        }
        let (org, admin, token) = prepared.first_start.take().expect("an empty database");
        let state = prepared.state.clone();
        TestServer {
            server: prepared.spawn().unwrap(),
            dir,
            identity: state.identity.clone(),
            store: state.store.clone(),
            org,
            admin_id: admin.id,
            admin_token: token.token,
            health: state.health.clone(),
            config,
            given_store: self.store,
            mount: self.mount,
        }
    }
}

/// The binary's configuration from its flags alone (no environment, no file): its defaults,
/// on 127.0.0.1:0 with the database and key file in `dir`.
fn config(dir: &std::path::Path) -> Config {
    use clap::{CommandFactory, FromArgMatches};
    let command = Cli::command().mut_args(|arg| arg.env(None::<&'static str>));
    let args = [
        "runner-server".to_owned(),
        "--listen=127.0.0.1:0".to_owned(),
        format!("--database-url=sqlite://{}", dir.join("test.db").display()),
        format!("--key-file={}", dir.join("server.key").display()),
        format!("--public-url={PUBLIC_URL}"),
    ];
    Cli::from_arg_matches(&command.get_matches_from(args)).unwrap().config
}

async fn prepare(config: &Config, store: Option<Arc<dyn Store>>, listener: Option<TcpListener>) -> Prepared {
    let prepared = match store {
        Some(store) => Prepared::with_store(config, store, listener).await,
        None => Prepared::new(config, listener).await,
    };
    prepared.unwrap_or_else(|e| panic!("the test server did not start: {e:#}"))
}

impl TestServer {
    /// A server with the binary's defaults on a fresh SQLite database.
    pub async fn start() -> Self {
        Self::builder().start().await
    }

    pub fn builder() -> TestServerBuilder {
        TestServerBuilder::default()
    }

    /// Stops the server, letting calls in flight finish; [`StoppedServer::start`] starts it
    /// again as it was set up, on the same port and database, as a restarted process would be.
    pub async fn stop(self) -> StoppedServer {
        let addr = self.url().trim_start_matches("http://").parse().unwrap();
        let TestServer { server, dir, org, admin_id, admin_token, config, given_store, mount, .. } = self;
        server.shutdown().await.unwrap();
        StoppedServer { addr, dir, org, admin_id, admin_token, config, given_store, mount }
    }

    /// Stores a public key for a runner, as its sign-up would.
    pub async fn set_public_key(&self, runner_id: &str, public_key: &[u8]) {
        self.set_status(runner_id, |s| s.public_key = public_key.to_vec()).await;
    }

    /// Changes a runner's reported status in the database, as its reports would.
    pub async fn set_status(&self, runner_id: &str, change: impl FnOnce(&mut runner_core::model::RunnerStatus)) {
        let mut runner = self.store.get_runner(runner_id.parse().unwrap()).await.unwrap().unwrap();
        change(&mut runner.status);
        runner.revision += 1;
        assert_eq!(self.store.update_runner(&runner).await.unwrap(), runner_core::store::WriteOutcome::Written);
    }

    /// A new member of the test organization with a token: `(member id, token)`.
    pub async fn member(&self, name: &str, role: OrgRole) -> (uuid::Uuid, String) {
        let m = self.identity.create_member(self.org.id, Principal::User, name, role).await.unwrap();
        let t = self.identity.issue_token(m.id, "test", None).await.unwrap();
        (m.id, t.token)
    }

    pub fn url(&self) -> String {
        self.server.base_url()
    }

    /// A raw Connect JSON call to `path` with `token`: the HTTP status and the JSON body, as
    /// sent (error details included).
    pub async fn post_json_as(&self, token: &str, path: &str, body: serde_json::Value) -> (u16, serde_json::Value) {
        let response = reqwest::Client::new()
            .post(format!("{}{path}", self.url()))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.json().await.unwrap())
    }

    /// A client calling as the organization's admin.
    pub async fn client(&self, protocol: Protocol) -> Client {
        Client::new(protocol, &self.url(), Some(&self.admin_token)).await
    }

    /// A client calling with `token` (or none).
    pub async fn client_as(&self, protocol: Protocol, token: Option<&str>) -> Client {
        Client::new(protocol, &self.url(), token).await
    }
}

/// A [`TestServer`] that was stopped: its database and settings, to start it again.
pub struct StoppedServer {
    addr: std::net::SocketAddr,
    dir: tempfile::TempDir,
    org: Organization,
    admin_id: uuid::Uuid,
    admin_token: String,
    config: Config,
    given_store: Option<Arc<dyn Store>>,
    mount: Option<MountOptions>,
}

impl StoppedServer {
    /// The server again, on the same port and database, with the same organization and admin.
    pub async fn start(self) -> TestServer {
        // The port may take a moment to be free again.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
        let listener = loop {
            match TcpListener::bind(self.addr).await {
                Ok(listener) => break listener,
                Err(e) if std::time::Instant::now() < deadline => {
                    eprintln!("bind {} again: {e}; retrying", self.addr);
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
                Err(e) => panic!("cannot bind {} again: {e}", self.addr),
            }
        };
        let mut prepared = prepare(&self.config, self.given_store.clone(), Some(listener)).await;
        if let Some(mount) = self.mount.clone() {
            prepared.mount = mount;
        }
        let state = prepared.state.clone();
        TestServer {
            server: prepared.spawn().unwrap(),
            dir: self.dir,
            identity: state.identity.clone(),
            store: state.store.clone(),
            org: self.org,
            admin_id: self.admin_id,
            admin_token: self.admin_token,
            health: state.health.clone(),
            config: self.config,
            given_store: self.given_store,
            mount: self.mount,
        }
    }
}
