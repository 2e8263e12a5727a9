//! The agent's life: credentials, sign-up, heartbeats, secrets, deletion. Every call goes
//! through the generated tonic clients of `gitpod-api`.
//!
//! Between heartbeats the agent watches its runner's configuration (WatchEvents: SCM
//! integrations, host authentication tokens, environment classes, LLM integrations) and reads it
//! again as soon as an event arrives, instead of at the next heartbeat.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use backon::{BackoffBuilder, ExponentialBuilder};
use crypto_box::SecretKey;
use gitpod_api::gitpod::v1::event_service_client::EventServiceClient;
use gitpod_api::gitpod::v1::identity_service_client::IdentityServiceClient;
use gitpod_api::gitpod::v1::runner_configuration_service_client::RunnerConfigurationServiceClient;
use gitpod_api::gitpod::v1::runner_service_client::RunnerServiceClient;
use gitpod_api::gitpod::v1::*;
use gitpod_api::runnerside::v1::runner_interaction_service_client::RunnerInteractionServiceClient;
use gitpod_api::runnerside::v1::*;
use sha2::{Digest, Sha256};
use tokio::sync::Notify;
use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, Endpoint};
use tonic::{Code, Status};

use crate::callback::{self, Callbacks};
use crate::config::Config;
use crate::state::{StateDir, StoredToken};

/// The configuration schema the agent reports: a Linux host running containers or micro-VMs.
pub const SCHEMA_JSON: &str = include_str!("../schema.json");
/// How the server's refusal of a superseded access token starts (`runner_core::accounts`).
const SUPERSEDED: &str = "runner access token superseded";
/// Exchange tokens name their runner: `gpx_<runner id, 32 hex digits>_<secret>`.
const EXCHANGE_TOKEN_PREFIX: &str = "gpx_";
/// Reported with Signup.
pub const VERSION: &str = concat!("reference-agent/", env!("CARGO_PKG_VERSION"));
const PAGE_SIZE: i32 = 100;
/// The shortest life a server gives a runner access token (`--runner-token-ttl-seconds` is at
/// least 60): the life assumed for a token whose expiry the agent has not been told.
const MIN_ACCESS_TOKEN_SECONDS: i64 = 60;

/// How the agent ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Exit {
    /// The runner was deleted and the agent acknowledged it.
    Deleted,
    /// Something retrying cannot fix; the message says what to do.
    Fatal(String),
}

/// Why a step did not complete.
#[derive(Debug)]
enum Trouble {
    /// The server is unreachable or overloaded, or restarting: try again later.
    Retry(String),
    Fatal(String),
}

impl Trouble {
    /// The reading of an error answer: transport and availability problems are retried,
    /// everything else needs a person.
    fn from_status(what: &str, status: &Status) -> Self {
        let detail = format!("{what}: {} ({:?})", status.message(), status.code());
        match status.code() {
            Code::Unavailable | Code::DeadlineExceeded | Code::Unknown | Code::ResourceExhausted | Code::Aborted => {
                Trouble::Retry(detail)
            }
            Code::Internal | Code::Cancelled => Trouble::Retry(detail),
            // Another process redeemed a newer exchange token for this runner: it is the runner
            // now, and two processes must not both report as one.
            Code::Unauthenticated if status.message().contains(SUPERSEDED) => Trouble::Fatal(format!(
                "another runner process took over this runner: it signed up with a newer exchange token, so this \
                 one stops. If that was not meant to happen, start this agent again with a new exchange token \
                 (CreateRunnerToken); the other one stops then. The server said: {}",
                status.message()
            )),
            Code::Unauthenticated => Trouble::Fatal(format!(
                "{detail}: the access token was refused. The runner may have been deleted, or the token expired \
                 while the server was unreachable; create a new exchange token (CreateRunnerToken) and restart \
                 the agent with it"
            )),
            _ => Trouble::Fatal(detail),
        }
    }
}

/// Adds the runner's bearer token to every call.
#[derive(Clone)]
pub struct Bearer(MetadataValue<Ascii>);

impl Interceptor for Bearer {
    fn call(&mut self, mut request: tonic::Request<()>) -> Result<tonic::Request<()>, Status> {
        request.metadata_mut().insert("authorization", self.0.clone());
        Ok(request)
    }
}

pub(crate) type Authed = InterceptedService<Channel, Bearer>;

pub struct Agent {
    config: Config,
    channel: Channel,
    /// For the configuration watch: no request timeout (a watch is one long call), HTTP/2
    /// keep-alive pings instead.
    watch_channel: Channel,
    /// Told by the configuration watch that the configuration changed (or may have: a watch
    /// started, and events may have been missed before it).
    config_changed: Arc<Notify>,
    state: StateDir,
    key: SecretKey,
    token: Option<StoredToken>,
    /// The current token as a header, shared with the OAuth callback server.
    bearer: Arc<RwLock<Option<Bearer>>>,
    /// The public URL of the OAuth callback server, once it serves.
    callback_url: Option<String>,
    /// When the current token was obtained (seconds since the epoch), to refresh it halfway.
    token_obtained_at: i64,
    signed_up: bool,
    /// Whether the last step reached the server; a change is logged.
    connected: bool,
    /// Per SCM integration id: SHA-256 of the sealed client secret last opened.
    opened_secrets: HashMap<String, Vec<u8>>,
    /// The SCM integrations seen so far (by id), to log the new ones.
    known_integrations: HashSet<String>,
    /// Per host token id: its metadata when its value was last fetched.
    fetched_tokens: HashMap<String, String>,
    /// SHA-256 of the sealed metrics password last opened.
    opened_metrics_password: Option<Vec<u8>>,
}

impl Agent {
    pub fn new(config: Config) -> anyhow::Result<Self> {
        let endpoint = Endpoint::from_shared(config.api_url.clone())
            .map_err(|e| anyhow::anyhow!("--api-url {:?} is not a URL: {e}", config.api_url))?
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(20))
            .tcp_nodelay(true);
        let watch_endpoint = Endpoint::from_shared(config.api_url.clone())
            .map_err(|e| anyhow::anyhow!("--api-url {:?} is not a URL: {e}", config.api_url))?
            .connect_timeout(Duration::from_secs(5))
            .http2_keep_alive_interval(Duration::from_secs(30))
            .keep_alive_timeout(Duration::from_secs(10))
            .keep_alive_while_idle(true)
            .tcp_nodelay(true);
        let state = StateDir::open(&config.state_dir)?;
        let key = state.key()?;
        let token = state.token(&config.runner_id)?;
        let bearer = Arc::new(RwLock::new(token.as_ref().and_then(|t| bearer_of(&t.access_token))));
        Ok(Self {
            channel: endpoint.connect_lazy(),
            watch_channel: watch_endpoint.connect_lazy(),
            config_changed: Arc::new(Notify::new()),
            state,
            key,
            token,
            bearer,
            callback_url: None,
            token_obtained_at: 0,
            signed_up: false,
            connected: false,
            opened_secrets: HashMap::new(),
            known_integrations: HashSet::new(),
            fetched_tokens: HashMap::new(),
            opened_metrics_password: None,
            config,
        })
    }

    /// Starts the OAuth callback server when `--listen` or `--public-url` asks for it, and
    /// returns the URL it is reached at: the agent then offers OAuth for its SCMs, with
    /// callbacks under that URL.
    pub async fn serve_callbacks(&mut self) -> anyhow::Result<Option<String>> {
        let Some(listen) = self.config.callback_listen() else { return Ok(None) };
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen on {listen} for OAuth callbacks: {e}"))?;
        let callbacks =
            Callbacks::new(self.config.runner_id.clone(), self.channel.clone(), self.key.clone(), self.bearer.clone())?;
        let addr = callback::serve(listener, Arc::new(callbacks));
        let url = self.config.public_url.clone().unwrap_or_else(|| format!("http://{addr}"));
        tracing::info!(listen = %addr, url = %url, "serving OAuth callbacks");
        self.callback_url = Some(url.clone());
        Ok(Some(url))
    }

    /// The configuration schema to report: the built-in one, with each SCM's OAuth callback
    /// under the callback server's URL, or without OAuth when no callback server runs.
    fn schema(&self) -> Result<RunnerConfigurationSchema, Trouble> {
        let mut schema: RunnerConfigurationSchema =
            serde_json::from_str(SCHEMA_JSON).map_err(|e| Trouble::Fatal(format!("built-in schema: {e}")))?;
        for scm in &mut schema.scm {
            match (&self.callback_url, scm.oauth.as_mut()) {
                (Some(url), Some(oauth)) => {
                    oauth.callback_url = format!("{url}{}", callback::callback_path(&scm.scm_id))
                }
                _ => scm.oauth = None,
            }
        }
        Ok(schema)
    }

    /// The runner's public key, as it signs up with it.
    pub fn public_key(&self) -> [u8; 32] {
        self.key.public_key().to_bytes()
    }

    /// Runs until the runner is deleted or something needs a person.
    pub async fn run(mut self) -> Exit {
        let max = self.config.max_backoff();
        let mut waits = retry_waits(max);
        let watch = tokio::spawn(watch_configuration(
            self.watch_channel.clone(),
            self.bearer.clone(),
            self.config_changed.clone(),
            max,
        ));
        let _stop_watching = AbortOnDrop(watch);
        loop {
            let round = match self.step().await {
                Ok(false) => {
                    waits = retry_waits(max);
                    self.until_next_heartbeat().await.map(|()| false)
                }
                other => other,
            };
            match round {
                Ok(true) => return Exit::Deleted,
                Ok(false) => {}
                Err(Trouble::Retry(why)) => {
                    self.connected = false;
                    let wait = waits.next().unwrap_or(max);
                    tracing::warn!(error = %why, retry_in_ms = wait.as_millis() as u64, "server unreachable; retrying");
                    tokio::time::sleep(wait).await;
                }
                Err(Trouble::Fatal(why)) => return Exit::Fatal(why),
            }
        }
    }

    /// One round: credentials, sign-up (once), a status report, and the secrets. `true` once
    /// the runner is deleted.
    async fn step(&mut self) -> Result<bool, Trouble> {
        self.ensure_token().await?;
        if !self.signed_up {
            self.signup().await?;
        }
        let report = UpdateRunnerStatusRequest {
            runner_id: self.config.runner_id.clone(),
            phase: RunnerPhase::Active as i32,
            message: format!("{VERSION} running"),
            additional_info: vec![FieldValue { key: "agent".into(), value: VERSION.into() }],
            ..Default::default()
        };
        let answer = self
            .interaction()?
            .update_runner_status(report)
            .await
            .map_err(|s| Trouble::from_status("UpdateRunnerStatus", &s))?
            .into_inner();
        let spec = answer.spec.unwrap_or_default();
        if !self.connected {
            self.connected = true;
            tracing::info!(runner_id = %self.config.runner_id, "reported ACTIVE");
        } else {
            tracing::debug!("heartbeat");
        }
        if spec.desired_phase == RunnerPhase::Deleting as i32 {
            tracing::info!("the runner is being deleted; cleaning up");
            self.interaction()?
                .mark_runner_deleted(MarkRunnerDeletedRequest { runner_id: self.config.runner_id.clone() })
                .await
                .map_err(|s| Trouble::from_status("MarkRunnerDeleted", &s))?;
            if let Err(e) = self.state.clear() {
                tracing::warn!(error = %e, "cannot remove the state files");
            }
            tracing::info!("deletion acknowledged; the runner is gone");
            return Ok(true);
        }
        self.open_metrics_password(&answer.encrypted_metrics_password);
        self.read_configuration().await?;
        Ok(false)
    }

    /// Waits for the next heartbeat; meanwhile reads the configuration again each time the
    /// watch says it changed.
    async fn until_next_heartbeat(&mut self) -> Result<(), Trouble> {
        let next = tokio::time::Instant::now() + self.config.heartbeat();
        loop {
            tokio::select! {
                () = tokio::time::sleep_until(next) => return Ok(()),
                () = self.config_changed.notified() => {
                    tracing::debug!("the configuration changed; reading it");
                    self.read_configuration().await?;
                }
            }
        }
    }

    /// The runner's SCM integrations (their OAuth client secrets opened) and host tokens (their
    /// values fetched and opened).
    async fn read_configuration(&mut self) -> Result<(), Trouble> {
        self.open_scm_secrets().await?;
        self.fetch_host_tokens().await
    }

    /// A valid access token: the stored one, a refreshed one halfway through its life, or one
    /// traded for the exchange token.
    async fn ensure_token(&mut self) -> Result<(), Trouble> {
        let now = unix_now();
        if let Some(t) = &self.token {
            let loaded_from_disk = self.token_obtained_at == 0;
            let halfway = self.token_obtained_at + (t.expires_at - self.token_obtained_at) / 2;
            if t.expires_at <= now {
                tracing::warn!("the access token has expired");
                self.set_token(None);
            } else if loaded_from_disk || now >= halfway {
                // A token from disk is refreshed at once, which also proves it still works.
                match self.refresh().await {
                    Err(Trouble::Fatal(why)) if loaded_from_disk && self.config.exchange_token.is_some() => {
                        tracing::warn!(error = %why, "the stored access token was refused; using the exchange token");
                        self.set_token(None);
                    }
                    other => return other,
                }
            } else {
                return Ok(());
            }
        }
        let Some(exchange_token) = self.config.exchange_token.clone() else {
            return Err(Trouble::Fatal(
                "no valid access token in the state directory and no --exchange-token given; create an exchange \
                 token with CreateRunnerToken"
                    .to_owned(),
            ));
        };
        // Checked before redeeming, so that a wrong --runner-id does not use the token up.
        if let Some(owner) = exchange_token_runner(&exchange_token)
            && owner.hyphenated().to_string() != self.config.runner_id
        {
            return Err(Trouble::Fatal(format!(
                "the exchange token is for runner {owner}, not for --runner-id {}; nothing was used up: correct \
                 --runner-id, or pass that runner's exchange token",
                self.config.runner_id
            )));
        }
        let answer = IdentityServiceClient::new(self.channel.clone())
            .exchange_token(ExchangeTokenRequest { exchange_token })
            .await
            .map_err(|s| match s.code() {
                Code::Unauthenticated => Trouble::Fatal(
                    "the exchange token is invalid, expired or already used; create a new one with \
                     CreateRunnerToken"
                        .to_owned(),
                ),
                _ => Trouble::from_status("ExchangeToken", &s),
            })?
            .into_inner();
        // Used up now: never try it again.
        self.config.exchange_token = None;
        // The exchange answers the token alone: who it stands for comes from the identity call,
        // and until the first refresh tells its real expiry, its life is taken to be the shortest
        // a server issues, so that it is refreshed in time whatever the server's setting.
        self.keep_token(answer.access_token, now + MIN_ACCESS_TOKEN_SECONDS)?;
        let identity = IdentityServiceClient::with_interceptor(self.channel.clone(), self.bearer()?)
            .get_authenticated_identity(GetAuthenticatedIdentityRequest {})
            .await
            .map_err(|s| Trouble::from_status("GetAuthenticatedIdentity", &s))?
            .into_inner();
        let subject = identity.subject.unwrap_or_default();
        if subject.principal != Principal::Runner as i32 || subject.id != self.config.runner_id {
            self.set_token(None);
            if let Err(e) = self.state.clear() {
                tracing::warn!(error = %e, "cannot remove the state files");
            }
            return Err(Trouble::Fatal(format!(
                "the exchange token belongs to {} {}, not to --runner-id {}",
                Principal::try_from(subject.principal).map_or("an unknown principal", |p| p.as_str_name()),
                subject.id,
                self.config.runner_id
            )));
        }
        tracing::info!(runner_id = %subject.id, "exchanged the exchange token for an access token");
        Ok(())
    }

    async fn refresh(&mut self) -> Result<(), Trouble> {
        let answer = self
            .interaction()?
            .refresh_runner_access_token(RefreshRunnerAccessTokenRequest {})
            .await
            .map_err(|s| Trouble::from_status("RefreshRunnerAccessToken", &s))?
            .into_inner();
        tracing::info!("refreshed the access token");
        self.keep_token(
            answer.access_token,
            answer.expires_at.map_or(unix_now() + MIN_ACCESS_TOKEN_SECONDS, |t| t.seconds),
        )
    }

    fn keep_token(&mut self, access_token: String, expires_at: i64) -> Result<(), Trouble> {
        let token = StoredToken { runner_id: self.config.runner_id.clone(), access_token, expires_at };
        self.state.save_token(&token).map_err(|e| Trouble::Fatal(format!("cannot store the access token: {e:#}")))?;
        self.set_token(Some(token));
        self.token_obtained_at = unix_now();
        Ok(())
    }

    /// The current token, here and for the callback server.
    fn set_token(&mut self, token: Option<StoredToken>) {
        *self.bearer.write().unwrap_or_else(|e| e.into_inner()) =
            token.as_ref().and_then(|t| bearer_of(&t.access_token));
        self.token = token;
    }

    /// The region to report: the one `--region` names (where this host runs), else the one the
    /// runner was configured with, since this agent cannot tell where it runs.
    async fn region(&self) -> Result<String, Trouble> {
        if let Some(region) = &self.config.region {
            return Ok(region.clone());
        }
        let runner = RunnerServiceClient::with_interceptor(self.channel.clone(), self.bearer()?)
            .get_runner(GetRunnerRequest { runner_id: self.config.runner_id.clone() })
            .await
            .map_err(|s| Trouble::from_status("GetRunner", &s))?
            .into_inner()
            .runner
            .unwrap_or_default();
        let configured = runner.spec.and_then(|s| s.configuration).map(|c| c.region).unwrap_or_default();
        tracing::info!(
            region = %configured,
            "reporting the runner's configured region (--region says where this host runs)"
        );
        Ok(configured)
    }

    async fn signup(&mut self) -> Result<(), Trouble> {
        let request = SignupRequest {
            runner_id: self.config.runner_id.clone(),
            public_key: self.public_key().to_vec(),
            version: VERSION.to_owned(),
            region: self.region().await?,
            system_details: system_details(),
            capabilities: vec![RunnerCapability::FetchLocalScmIntegrations as i32],
        };
        match self.interaction()?.signup(request).await {
            Ok(_) => tracing::info!(version = VERSION, "signed up"),
            // Being deleted already: the status report below finds out and finishes it.
            Err(s) if s.code() == Code::FailedPrecondition => {
                tracing::info!(reason = s.message(), "sign-up refused; continuing to the status report");
                self.signed_up = true;
                return Ok(());
            }
            Err(s) => return Err(Trouble::from_status("Signup", &s)),
        }
        let schema = self.schema()?;
        self.interaction()?
            .update_runner_configuration_schema(UpdateRunnerConfigurationSchemaRequest {
                runner_id: self.config.runner_id.clone(),
                config_schema: Some(schema),
            })
            .await
            .map_err(|s| Trouble::from_status("UpdateRunnerConfigurationSchema", &s))?;
        tracing::info!("reported the configuration schema");
        self.signed_up = true;
        Ok(())
    }

    /// Opens the metrics password when it is new or changed.
    fn open_metrics_password(&mut self, sealed: &[u8]) {
        let digest = Sha256::digest(sealed).to_vec();
        if sealed.is_empty() || self.opened_metrics_password.as_ref() == Some(&digest) {
            return;
        }
        match self.key.unseal(sealed) {
            Ok(password) => tracing::info!(fingerprint = %fingerprint(&password), "opened the metrics password"),
            Err(_) => tracing::warn!("cannot open the metrics password: it was sealed to another key"),
        }
        self.opened_metrics_password = Some(digest);
    }

    /// Opens every SCM integration's OAuth client secret that is new or changed, proving the
    /// server sealed it to this runner's key.
    async fn open_scm_secrets(&mut self) -> Result<(), Trouble> {
        let mut integrations = Vec::new();
        let mut token = String::new();
        loop {
            let page = self
                .interaction()?
                .list_runner_scm_integrations(ListRunnerScmIntegrationsRequest {
                    runner_id: self.config.runner_id.clone(),
                    pagination: Some(PaginationRequest { page_size: PAGE_SIZE, token }),
                })
                .await
                .map_err(|s| Trouble::from_status("ListRunnerSCMIntegrations", &s))?
                .into_inner();
            integrations.extend(page.integrations);
            token = page.pagination.map(|p| p.next_token).unwrap_or_default();
            if token.is_empty() {
                break;
            }
        }
        self.opened_secrets.retain(|id, _| integrations.iter().any(|i| &i.id == id));
        self.known_integrations.retain(|id| integrations.iter().any(|i| &i.id == id));
        for integration in integrations {
            if self.known_integrations.insert(integration.id.clone()) {
                tracing::info!(
                    integration = %integration.id,
                    scm = %integration.scm_id,
                    host = %integration.host,
                    "SCM integration available"
                );
            }
            let Some(oauth) = integration.oauth.as_ref().filter(|o| !o.encrypted_client_secret.is_empty()) else {
                continue;
            };
            let digest = Sha256::digest(&oauth.encrypted_client_secret).to_vec();
            if self.opened_secrets.get(&integration.id) == Some(&digest) {
                continue;
            }
            match self.key.unseal(&oauth.encrypted_client_secret) {
                Ok(secret) => tracing::info!(
                    integration = %integration.id,
                    scm = %integration.scm_id,
                    host = %integration.host,
                    fingerprint = %fingerprint(&secret),
                    "opened the OAuth client secret"
                ),
                Err(_) => tracing::warn!(
                    integration = %integration.id,
                    host = %integration.host,
                    "cannot open the OAuth client secret: it was sealed to another key"
                ),
            }
            self.opened_secrets.insert(integration.id, digest);
        }
        Ok(())
    }

    /// Fetches the value of every host token that is new or whose metadata changed, and opens it.
    async fn fetch_host_tokens(&mut self) -> Result<(), Trouble> {
        let mut tokens = Vec::new();
        let mut page_token = String::new();
        loop {
            let page = RunnerConfigurationServiceClient::with_interceptor(self.channel.clone(), self.bearer()?)
                .list_host_authentication_tokens(ListHostAuthenticationTokensRequest {
                    pagination: Some(PaginationRequest { page_size: PAGE_SIZE, token: page_token }),
                    filter: Some(list_host_authentication_tokens_request::Filter {
                        runner_id: Some(self.config.runner_id.clone()),
                        ..Default::default()
                    }),
                })
                .await
                .map_err(|s| Trouble::from_status("ListHostAuthenticationTokens", &s))?
                .into_inner();
            tokens.extend(page.tokens);
            page_token = page.pagination.map(|p| p.next_token).unwrap_or_default();
            if page_token.is_empty() {
                break;
            }
        }
        self.fetched_tokens.retain(|id, _| tokens.iter().any(|t| &t.id == id));
        for token in tokens {
            let metadata = format!("{:?}|{:?}|{:?}", token.expires_at, token.scopes, token.source);
            if self.fetched_tokens.get(&token.id) == Some(&metadata) {
                continue;
            }
            let value = self
                .interaction()?
                .get_host_authentication_token_value(GetHostAuthenticationTokenValueRequest {
                    runner_id: self.config.runner_id.clone(),
                    id: token.id.clone(),
                    ..Default::default()
                })
                .await
                .map_err(|s| Trouble::from_status("GetHostAuthenticationTokenValue", &s))?
                .into_inner();
            let subject = token.subject.as_ref().map(|s| s.id.as_str()).unwrap_or_default();
            match self.key.unseal(&value.encrypted_token) {
                Ok(plain) => tracing::info!(
                    token = %token.id,
                    host = %token.host,
                    subject,
                    fingerprint = %fingerprint(&plain),
                    has_refresh_token = !value.encrypted_refresh_token.is_empty(),
                    "opened a host authentication token"
                ),
                Err(_) => tracing::warn!(token = %token.id, "cannot open a host token value: sealed to another key"),
            }
            self.fetched_tokens.insert(token.id, metadata);
        }
        Ok(())
    }

    fn bearer(&self) -> Result<Bearer, Trouble> {
        let token = self.token.as_ref().ok_or_else(|| Trouble::Fatal("no access token".to_owned()))?;
        bearer_of(&token.access_token)
            .ok_or_else(|| Trouble::Fatal("the access token is not a valid header value".to_owned()))
    }

    fn interaction(&self) -> Result<RunnerInteractionServiceClient<Authed>, Trouble> {
        Ok(RunnerInteractionServiceClient::with_interceptor(self.channel.clone(), self.bearer()?))
    }
}

/// Aborts the task when dropped: the configuration watch ends with [`Agent::run`].
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The event types of the runner's configuration, which the agent reads again on any of them.
const CONFIGURATION_EVENTS: [ResourceType; 4] = [
    ResourceType::RunnerScmIntegration,
    ResourceType::HostAuthenticationToken,
    ResourceType::EnvironmentClass,
    ResourceType::RunnerLlmIntegration,
];

/// Watches the runner's configuration (WatchEvents, as the runner: the server shows a runner
/// the events of its own runner only) and tells `changed` on every event, and each time a watch
/// starts, since events may have been missed while none was open. A stream that ends cleanly
/// (the server's maximum stream age, or its shutdown) is watched again at once; a failure after
/// [`retry_waits`]. A server that cannot serve the watch (`unimplemented`, `permission_denied`,
/// `invalid_argument`) is not asked again: the heartbeats still read the configuration.
async fn watch_configuration(
    channel: Channel,
    bearer: Arc<RwLock<Option<Bearer>>>,
    changed: Arc<Notify>,
    max: Duration,
) {
    let request = WatchEventsRequest {
        scope: Some(watch_events_request::Scope::Organization(true)),
        resource_type_filters: CONFIGURATION_EVENTS
            .iter()
            .map(|t| watch_events_request::ResourceTypeFilter { resource_type: *t as i32, ..Default::default() })
            .collect(),
    };
    let mut waits = retry_waits(max);
    let mut watching = false;
    loop {
        // Until the agent holds an access token (it exchanges its exchange token first).
        let Some(token) = bearer.read().unwrap_or_else(|e| e.into_inner()).clone() else {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        let mut client = EventServiceClient::with_interceptor(channel.clone(), token);
        let started = tokio::time::Instant::now();
        let ended = match client.watch_events(request.clone()).await {
            Ok(stream) => {
                // The server has subscribed this watcher: what changed before is read now.
                if !watching {
                    tracing::info!("watching the runner's configuration for changes");
                    watching = true;
                }
                waits = retry_waits(max);
                changed.notify_one();
                let mut stream = stream.into_inner();
                loop {
                    match stream.message().await {
                        Ok(Some(event)) => {
                            tracing::debug!(resource = %event.resource_id, "configuration event");
                            changed.notify_one();
                        }
                        Ok(None) => break None,
                        Err(status) => break Some(status),
                    }
                }
            }
            Err(status) => Some(status),
        };
        let Some(status) = ended else {
            // A clean end: watch again at once, unless streams end as soon as they start.
            if started.elapsed() < Duration::from_secs(1) {
                tokio::time::sleep(waits.next().unwrap_or(max)).await;
            }
            continue;
        };
        if matches!(status.code(), Code::Unimplemented | Code::PermissionDenied | Code::InvalidArgument) {
            tracing::warn!(
                error = %status.message(),
                code = ?status.code(),
                "the server cannot serve the configuration watch; reading the configuration at each heartbeat only"
            );
            return;
        }
        watching = false;
        let wait = waits.next().unwrap_or(max);
        tracing::debug!(error = %status.message(), code = ?status.code(), retry_in_ms = wait.as_millis() as u64, "the configuration watch ended; watching again");
        tokio::time::sleep(wait).await;
    }
}

/// The runner an exchange token names, if it names one (tokens of older servers do not).
pub fn exchange_token_runner(token: &str) -> Option<uuid::Uuid> {
    let rest = token.strip_prefix(EXCHANGE_TOKEN_PREFIX)?;
    let (id, secret) = rest.split_at_checked(32)?;
    secret.starts_with('_').then_some(())?;
    uuid::Uuid::try_parse(id).ok()
}

/// `Authorization: Bearer <token>`, if the token is a valid header value.
fn bearer_of(access_token: &str) -> Option<Bearer> {
    format!("Bearer {access_token}").parse().ok().map(Bearer)
}

/// A short, one-way name for a secret, to show that it was opened without showing it:
/// `sha256:` and the first 12 hex digits of its SHA-256.
pub fn fingerprint(secret: &[u8]) -> String {
    let digest = Sha256::digest(secret);
    let hex: String = digest.iter().take(6).map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

pub(crate) fn unix_now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

fn system_details() -> String {
    format!(
        "{}/{}, {} CPUs",
        std::env::consts::OS,
        std::env::consts::ARCH,
        std::thread::available_parallelism().map_or(1, |n| n.get())
    )
}

/// The waits between retries after errors, started afresh after every success: exponential
/// from 125 ms, each drawn between its delay and twice it (backon's jitter, so that many
/// runners do not retry in lockstep), the delay capped at half of `max` so that no wait
/// reaches `max` (`--max-backoff-seconds`).
fn retry_waits(max: Duration) -> impl Iterator<Item = Duration> {
    const FIRST: Duration = Duration::from_millis(125);
    let cap = max / 2;
    ExponentialBuilder::new()
        .with_min_delay(FIRST.min(cap))
        .with_factor(2.0)
        .with_max_delay(cap)
        .without_max_times()
        .with_jitter()
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_waits_grow_to_their_cap_and_start_again() {
        let ms = Duration::from_millis;
        let max = Duration::from_secs(2);
        let waits: Vec<Duration> = retry_waits(max).take(8).collect();
        assert!(waits[0] >= ms(125) && waits[0] < ms(250), "{waits:?}");
        assert!(waits[1] >= ms(250) && waits[1] < ms(500), "{waits:?}");
        // From the fourth on, at the cap: between max / 2 and max, never above.
        assert!(waits[3..].iter().all(|w| *w >= ms(1000) && *w < max), "{waits:?}");
        // After a success the waits start again from the first.
        assert!(retry_waits(max).next().is_some_and(|w| w < ms(250)));
        // A maximum below the first delay caps that too.
        assert!(retry_waits(ms(100)).take(5).all(|w| w < ms(100)));
    }

    #[test]
    fn the_schema_parses_and_fingerprints_hide_secrets() {
        let schema: RunnerConfigurationSchema = serde_json::from_str(SCHEMA_JSON).unwrap();
        assert_eq!(schema.environment_classes.len(), 5);
        assert_eq!(schema.scm.iter().map(|s| s.scm_id.as_str()).collect::<Vec<_>>(), ["github", "gitlab", "bitbucket"]);
        let f = fingerprint(b"s3cret");
        assert_eq!(f.len(), "sha256:".len() + 12);
        assert!(!f.contains("s3cret"));
    }

    #[test]
    fn exchange_tokens_name_their_runner() {
        let id = uuid::Uuid::now_v7();
        let token = format!("gpx_{}_{}", id.simple(), "A".repeat(43));
        assert_eq!(exchange_token_runner(&token), Some(id));
        for other in ["gpx_abc", "gpl_x", &format!("gpx_{}", id.simple()), &format!("gpx_{}x", id.simple())] {
            assert_eq!(exchange_token_runner(other), None, "{other}");
        }
    }

    #[test]
    fn errors_are_retried_or_not() {
        assert!(matches!(Trouble::from_status("x", &Status::unavailable("down")), Trouble::Retry(_)));
        assert!(matches!(Trouble::from_status("x", &Status::unauthenticated("no")), Trouble::Fatal(_)));
        assert!(matches!(Trouble::from_status("x", &Status::invalid_argument("bad")), Trouble::Fatal(_)));
    }
}
