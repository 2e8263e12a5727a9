//! What every handler can reach.

use std::sync::Arc;

use runner_core::crypto::AtRestKey;

use crate::health::Health;
use runner_core::accounts::Accounts;
use runner_core::environment_classes::EnvironmentClasses;
use runner_core::groups::Groups;
use runner_core::host_tokens::HostTokens;
use runner_core::invites::Invites;
use runner_core::llm_integrations::LlmIntegrations;
use runner_core::organizations::Organizations;
use runner_core::page::PageTokens;
use runner_core::policies::Policies;
use runner_core::runner_side::{self, RunnerSide};
use runner_core::runners::{self, Runners};
use runner_core::scm::oauth::OAuthFlow;
use runner_core::scm::provider::ScmConnector;
use runner_core::scm::questions::ScmQuestions;
use runner_core::scm_integrations::ScmIntegrations;
use runner_core::secrets;
use runner_core::service_accounts::ServiceAccounts;
use runner_core::sso::SsoConfigurations;
use runner_core::store::Store;
use runner_core::users::Users;
use runner_core::watch::Events;

/// Shared, cheap to clone (one reference count: every call's extractors clone it, and a call's
/// futures hold it, so its size and the cost of its clone are paid per call); no mutable state
/// lives here, so any replica can answer any call. Its fields are those of [`Shared`].
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// What [`AppState`] shares.
#[derive(Clone)]
pub struct Shared {
    pub store: Arc<dyn Store>,
    pub identity: Accounts,
    pub groups: Groups,
    pub service_accounts: ServiceAccounts,
    /// UserService: the same [`Accounts`] as `identity` (one token cache).
    pub users: Users,
    /// OrganizationService: the same [`Accounts`] as `identity`.
    pub organizations: Organizations,
    /// OrganizationService's SSO configurations, checked against their issuers' discovery
    /// documents ([`crate::oidc::HttpDiscovery`]).
    pub sso: SsoConfigurations,
    /// OrganizationService's invitations and AccountService's ways to sign in.
    pub invites: Invites,
    /// Signing in through SSO configurations ([`crate::oidc::HttpOidcFlow`]) and the console
    /// sessions that follow.
    pub sso_logins: runner_core::sso_login::SsoLogins,
    /// The browser origins a session cookie is accepted from (besides requests without an
    /// Origin): the public URL's, and the `--cors-origin`s ([`crate::auth`]).
    pub session_origins: Arc<[String]>,
    pub runners: Runners,
    pub policies: Policies,
    pub classes: EnvironmentClasses,
    pub scm: ScmIntegrations,
    pub host_tokens: HostTokens,
    pub scm_questions: ScmQuestions,
    pub llm: LlmIntegrations,
    pub runner_side: RunnerSide,
    /// WatchEvents: the bus runner writes are published on, and its watchers.
    pub events: Events,
    /// ListAuditLogs and GetAuditLog.
    pub audit_logs: runner_core::audit_logs::AuditLogs,
    /// After how long the server ends a watch stream cleanly (`--watch-max-age-seconds`).
    pub max_stream_age: std::time::Duration,
    /// Signs ID tokens (GetIDToken) with a key derived from the server key.
    pub id_tokens: Arc<runner_core::id_tokens::IdTokens>,
    /// Whether this replica can serve; see [`crate::health`].
    pub health: Arc<Health>,
    /// Where clients reach the server (`--public-url`, else `http://LISTEN`), without a
    /// trailing slash.
    pub public_url: Arc<str>,
    /// How long a write waits for its turn on a row others are writing when the caller set no
    /// deadline ([`crate::call::CallDeadline`]).
    pub write_wait: std::time::Duration,
}

/// How long an authenticated personal access token is trusted without reading the database
/// again, unless revoked through this process ([`runner_core::token_cache`]).
pub const DEFAULT_TOKEN_CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(1);

/// How long a write waits for its turn when the caller set no deadline (`--write-wait-ms`).
/// The maximum age of a watch stream (`--watch-max-age-seconds`).
pub const DEFAULT_MAX_STREAM_AGE: std::time::Duration = std::time::Duration::from_secs(3600);

pub const DEFAULT_WRITE_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// Timing of the runner side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunnerTimings {
    /// Seconds without a status report after which an ACTIVE or DEGRADED runner shows as INACTIVE.
    pub heartbeat_timeout_secs: i64,
    /// Lifetime of runner access tokens, in seconds.
    pub access_token_ttl_secs: i64,
}

impl Default for RunnerTimings {
    fn default() -> Self {
        Self {
            heartbeat_timeout_secs: runners::DEFAULT_HEARTBEAT_TIMEOUT_SECS,
            access_token_ttl_secs: runner_side::DEFAULT_ACCESS_TOKEN_TTL_SECS,
        }
    }
}

impl AppState {
    /// State over `store`, with keys derived from the server's master key. `public_base_url`
    /// is where clients reach the server (for OAuth callback URLs).
    pub fn new(store: Arc<dyn Store>, master_key: &[u8; 32], public_base_url: &str) -> Self {
        Self::with_timings(store, master_key, public_base_url, RunnerTimings::default())
    }

    pub fn with_timings(
        store: Arc<dyn Store>,
        master_key: &[u8; 32],
        public_base_url: &str,
        timings: RunnerTimings,
    ) -> Self {
        let page_tokens = PageTokens::new(secrets::derive_key(master_key, "gitpod-runner-api page tokens v1"));
        let at_rest = AtRestKey::new(secrets::derive_key(master_key, "gitpod-runner-api secrets at rest v1"));
        let runners = Runners::new(store.clone(), page_tokens.clone(), at_rest.clone())
            .with_heartbeat_timeout(timings.heartbeat_timeout_secs);
        // One event bus: runner and identity writes reach the same watchers.
        let identity = Accounts::with_token_cache(store.clone(), DEFAULT_TOKEN_CACHE_TTL)
            .with_event_bus(runners.event_bus().clone());
        let groups = Groups::new(store.clone(), identity.clone(), runners.clone(), page_tokens.clone());
        let service_accounts = ServiceAccounts::new(store.clone(), identity.clone(), page_tokens.clone());
        let users = Users::new(store.clone(), identity.clone(), page_tokens.clone());
        let organizations = Organizations::new(store.clone(), identity.clone(), page_tokens.clone());
        let policies = Policies::new(store.clone(), runners.clone(), page_tokens.clone());
        let classes =
            EnvironmentClasses::new(store.clone(), runners.clone(), page_tokens.clone(), public_base_url.to_owned());
        let scm = ScmIntegrations::new(store.clone(), runners.clone(), classes.clone(), page_tokens.clone());
        let sso = SsoConfigurations::new(
            store.clone(),
            Arc::new(crate::oidc::HttpDiscovery::new()),
            page_tokens.clone(),
            at_rest.clone(),
        );
        let sso_logins = runner_core::sso_login::SsoLogins::new(
            store.clone(),
            Arc::new(crate::oidc::HttpOidcFlow::new()),
            at_rest.clone(),
            public_base_url,
        );
        let host_tokens = HostTokens::new(store.clone(), runners.clone(), page_tokens.clone(), at_rest);
        let invites = Invites::new(store.clone(), identity.clone(), page_tokens.clone(), public_base_url);
        let llm = LlmIntegrations::new(store.clone(), runners.clone(), page_tokens.clone());
        let oauth =
            OAuthFlow::new(PageTokens::new(secrets::derive_key(master_key, "gitpod-runner-api oauth state v1")));
        let scm_questions = ScmQuestions::new(
            store.clone(),
            runners.clone(),
            host_tokens.clone(),
            classes.clone(),
            page_tokens.clone(),
            Arc::new(default_scm_connector()),
            oauth.clone(),
        );
        let events = Events::new(runners.clone());
        let audit_logs = runner_core::audit_logs::AuditLogs::new(store.clone(), page_tokens);
        let runner_side =
            RunnerSide::new(store.clone(), runners.clone(), classes.clone(), scm.clone(), host_tokens.clone(), oauth)
                .with_access_token_ttl(timings.access_token_ttl_secs);
        Self(Arc::new(Shared {
            identity,
            groups,
            service_accounts,
            users,
            organizations,
            sso,
            invites,
            sso_logins,
            session_origins: runner_core::sso_login::origin_of(public_base_url).into_iter().collect(),
            store,
            runners,
            policies,
            classes,
            scm,
            host_tokens,
            scm_questions,
            llm,
            runner_side,
            events,
            audit_logs,
            max_stream_age: DEFAULT_MAX_STREAM_AGE,
            id_tokens: Arc::new(runner_core::id_tokens::IdTokens::from_server_key(master_key)),
            health: Arc::default(),
            public_url: public_base_url.trim_end_matches('/').into(),
            write_wait: DEFAULT_WRITE_WAIT,
        }))
    }

    /// The shared state, to change before the server starts (the `with_*` settings).
    fn shared(&mut self) -> &mut Shared {
        Arc::make_mut(&mut self.0)
    }

    /// The same state with another bound on a write's wait for its turn (see [`DEFAULT_WRITE_WAIT`]).
    pub fn with_write_wait(mut self, wait: std::time::Duration) -> Self {
        self.shared().write_wait = wait;
        self
    }

    /// Each watcher's buffer, in events, the maximum age of a watch stream, and the shortest
    /// time between two bursts of a watcher's events.
    pub fn with_watch_limits(
        mut self,
        buffer: usize,
        max_age: std::time::Duration,
        burst_pause: std::time::Duration,
    ) -> Self {
        let shared = self.shared();
        shared.events = shared.events.clone().with_buffer(buffer).with_burst_pause(burst_pause);
        shared.max_stream_age = max_age;
        self
    }

    /// The same state caching authenticated tokens for `ttl` (zero: never), instead of
    /// [`DEFAULT_TOKEN_CACHE_TTL`]; see [`runner_core::token_cache`].
    pub fn with_token_cache(mut self, ttl: std::time::Duration) -> Self {
        let s = self.shared();
        s.identity = Accounts::with_token_cache(s.store.clone(), ttl).with_event_bus(s.runners.event_bus().clone());
        // One cache: the group use cases empty the one tokens are authenticated with.
        s.groups = s.groups.clone().with_accounts(s.identity.clone());
        s.service_accounts = s.service_accounts.clone().with_accounts(s.identity.clone());
        s.users = s.users.clone().with_accounts(s.identity.clone());
        s.organizations = s.organizations.clone().with_accounts(s.identity.clone());
        self
    }

    /// The same state with console sessions lasting `hours` (`--session-hours`), accepted from
    /// the public URL's origin and `cors_origins`.
    pub fn with_sessions(mut self, hours: i64, cors_origins: &[String]) -> Self {
        let s = self.shared();
        s.sso_logins = s.sso_logins.clone().with_session_hours(hours);
        let mut origins: Vec<String> = runner_core::sso_login::origin_of(&s.public_url).into_iter().collect();
        origins.extend(cors_origins.iter().map(|o| o.trim_end_matches('/').to_ascii_lowercase()));
        s.session_origins = origins.into();
        self
    }

    /// The same state with the web addresses of some hosts' providers (`--scm-web-url`: host
    /// to base URL), for OAuth authorizations, code exchanges and token pages.
    pub fn with_scm_web_urls(mut self, urls: std::collections::HashMap<String, String>) -> Self {
        // One flow for both: the signing key is the same, only the addresses change.
        let s = self.shared();
        let oauth = s.scm_questions.oauth().clone().with_web_urls(urls);
        s.scm_questions = s.scm_questions.clone().with_oauth(oauth.clone());
        s.runner_side = s.runner_side.clone().with_oauth(oauth);
        self
    }

    /// The same state asking SCM providers through `connector` (for example one built with
    /// `--scm-api-url` overrides, or a fake in tests).
    pub fn with_scm_connector(mut self, connector: Arc<dyn ScmConnector>) -> Self {
        let s = self.shared();
        s.scm_questions = s.scm_questions.clone().with_connector(connector);
        self
    }
}

/// The providers' public APIs, derived from each integration's host.
fn default_scm_connector() -> runner_scm::HttpScm {
    runner_scm::HttpScm::new(runner_scm::HttpScmConfig::default()).expect("an HTTP client with default settings builds")
}
