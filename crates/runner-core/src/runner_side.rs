//! The runner side: what a runner process calls about itself (IdentityService and
//! RunnerInteractionService, our own design; see `docs/runner-lifecycle.md`).
//!
//! A runner process starts with its runner id and a one-time exchange token. It trades the
//! token for an access token whose principal is the runner ([`RunnerSide::exchange`]), signs up
//! with its public key ([`RunnerSide::signup`], phase INACTIVE), reports ACTIVE or DEGRADED as
//! a heartbeat ([`RunnerSide::update_status`]), reads its configuration with secrets sealed to
//! its key, and, once a user deletes it, acknowledges the deletion
//! ([`RunnerSide::mark_deleted`]) so its record goes away.
//!
//! Every call but the exchange needs the runner's own principal, acting for itself: users and
//! service accounts get `permission_denied`, another runner's id `not_found`.

use std::collections::BTreeSet;
use std::sync::Arc;

use uuid::Uuid;

use crate::authz::{RunnerAccess, Visibility};
use crate::environment_classes::{EnvironmentClasses, ListClassesInput};
use crate::error::{CoreError, FieldViolation, Resource, Result};
use crate::events::Operation;
use crate::host_tokens::{HostTokens, OAuthGrant, TokenLookup};
use crate::identity::Caller;
use crate::model::*;
use crate::runners::{Page, Runners};
use crate::schema::{self, RunnerConfigurationSchema};
use crate::scm::auth::{self, TokenEndpoint};
use crate::scm::oauth::{OAuthFlow, OAuthState};
use crate::scm::provider::ScmKind;
use crate::scm_integrations::ScmIntegrations;
use crate::secrets::{self, runner_token, seal};
use crate::store::{RunnerTokenKind, Store};
use crate::time::{Deadline, Timestamp};
use crate::validate::{self, Violations};

/// Runner access tokens are valid for one hour unless configured otherwise; runners refresh
/// them before they expire.
pub const DEFAULT_ACCESS_TOKEN_TTL_SECS: i64 = 3600;
/// Public keys are X25519 keys.
pub const PUBLIC_KEY_LEN: usize = 32;
const MAX_ADDITIONAL_INFO: usize = 50;

/// A runner access token, shown once.
#[derive(Debug)]
pub struct IssuedAccessToken {
    pub token: String,
    pub runner_id: Uuid,
    pub expires_at: Timestamp,
}

/// Signup as sent.
#[derive(Debug, Clone, Default)]
pub struct SignupInput {
    pub runner_id: String,
    pub public_key: Vec<u8>,
    pub version: String,
    pub region: String,
    pub system_details: String,
    pub capabilities: Vec<i32>,
}

/// UpdateRunnerStatus as sent.
#[derive(Debug, Clone, Default)]
pub struct StatusInput {
    pub runner_id: String,
    pub phase: i32,
    pub message: String,
    pub gateway_info: Option<GatewayInfo>,
    pub log_url: String,
    pub additional_info: Vec<FieldValue>,
    pub llm_url: String,
    pub support_bundle_url: String,
}

/// GetHostAuthenticationTokenValue as sent: `id`, or `host` with `subject_id`.
#[derive(Debug, Clone, Default)]
pub struct TokenValueInput {
    pub runner_id: String,
    pub id: String,
    pub host: String,
    pub subject_id: String,
}

/// What a runner is asked to be, answered to its sign-up and status reports.
#[derive(Debug)]
pub struct Instructions {
    pub spec: RunnerSpec,
    /// The metrics password sealed to the runner's key (the spec never carries it); empty when
    /// there is none.
    pub encrypted_metrics_password: Vec<u8>,
}

/// A host token's metadata with its value and refresh token sealed to the runner's key.
#[derive(Debug)]
pub struct SealedHostToken {
    pub token: HostToken,
    pub encrypted_token: Vec<u8>,
    pub encrypted_refresh_token: Vec<u8>,
}

/// A checked OAuth state: whose authorization it is, and how the runner exchanges its code.
#[derive(Debug)]
pub struct OAuthCallback {
    pub state: OAuthState,
    pub integration: ScmIntegration,
    pub token_endpoint: TokenEndpoint,
    /// The runner's callback URL for the SCM, as the authorization sent it; empty if none.
    pub redirect_uri: String,
}

/// StoreOAuthHostToken as sent.
#[derive(Debug, Clone, Default)]
pub struct StoreOAuthInput {
    pub runner_id: String,
    pub state: String,
    pub grant: OAuthGrant,
}

#[derive(Clone)]
pub struct RunnerSide {
    store: Arc<dyn Store>,
    runners: Runners,
    classes: EnvironmentClasses,
    scm: ScmIntegrations,
    host_tokens: HostTokens,
    oauth: OAuthFlow,
    access_token_ttl_secs: i64,
}

impl RunnerSide {
    pub fn new(
        store: Arc<dyn Store>,
        runners: Runners,
        classes: EnvironmentClasses,
        scm: ScmIntegrations,
        host_tokens: HostTokens,
        oauth: OAuthFlow,
    ) -> Self {
        Self { store, runners, classes, scm, host_tokens, oauth, access_token_ttl_secs: DEFAULT_ACCESS_TOKEN_TTL_SECS }
    }

    /// The same use cases with another OAuth flow (other providers' web addresses).
    pub fn with_oauth(mut self, oauth: OAuthFlow) -> Self {
        self.oauth = oauth;
        self
    }

    /// How long runner access tokens live.
    pub fn with_access_token_ttl(mut self, seconds: i64) -> Self {
        self.access_token_ttl_secs = seconds;
        self
    }

    /// ExchangeToken: a one-time exchange token for a runner access token. Unknown, expired
    /// and already used tokens are all `unauthenticated`, told apart nowhere.
    pub async fn exchange(&self, exchange_token: &str) -> Result<IssuedAccessToken> {
        if exchange_token.is_empty() {
            return Err(CoreError::invalid("exchangeToken", "is required"));
        }
        let refused = || CoreError::Unauthenticated("exchange token is invalid, expired or already used".to_owned());
        if exchange_token.len() > 512 {
            return Err(refused());
        }
        let hash = secrets::hash(exchange_token);
        // Redeemed and traded in one transaction: never a spent exchange token without the
        // access token it bought (a crash or a failed insert in between would strand the runner).
        let (token, record) = runner_token(Uuid::nil(), RunnerTokenKind::Access, self.access_token_ttl_secs);
        let runner_id =
            self.store.redeem_exchange_token_for_access(&hash, Timestamp::now(), &record).await?.ok_or_else(refused)?;
        Ok(IssuedAccessToken { token, runner_id, expires_at: record.expires_at })
    }

    /// RefreshRunnerAccessToken: a new access token for the calling runner, which presented
    /// `current`. It belongs to the same sign-up as `current`: another process that redeems an
    /// exchange token of the runner supersedes both, even one refreshed at that very moment.
    pub async fn refresh(&self, caller: &Caller, current: &str) -> Result<IssuedAccessToken> {
        caller.runner_id().ok_or_else(not_a_runner)?;
        let (token, record) = runner_token(Uuid::nil(), RunnerTokenKind::Access, self.access_token_ttl_secs);
        let runner_id = self
            .store
            .refresh_runner_access_token(&secrets::hash(current), Timestamp::now(), &record)
            .await?
            .ok_or_else(|| {
                CoreError::Unauthenticated(
                    "the runner access token expired or was superseded; it cannot be refreshed".to_owned(),
                )
            })?;
        Ok(IssuedAccessToken { token, runner_id, expires_at: record.expires_at })
    }

    /// Signup: the runner publishes its key and what it is; its phase becomes INACTIVE.
    pub async fn signup(&self, caller: &Caller, deadline: Deadline, input: SignupInput) -> Result<Instructions> {
        let id = own_runner_id(caller, &input.runner_id)?;
        let mut v = Violations::default();
        if input.public_key.len() != PUBLIC_KEY_LEN {
            v.push(FieldViolation::new(
                "publicKey",
                format!("must be a {PUBLIC_KEY_LEN}-byte X25519 public key, got {} bytes", input.public_key.len()),
            ));
        } else if !crate::crypto::is_usable_public_key(&input.public_key) {
            v.push(FieldViolation::new("publicKey", "is a low-order point, not a usable X25519 public key"));
        }
        v.check(validate::length("version", &input.version, 1, 64));
        v.check(validate::length("region", &input.region, 0, 64));
        v.check(validate::text("systemDetails", &input.system_details, 4096));
        let capabilities = v.check(validate::filter_list("capabilities", &dedup(&input.capabilities), |f, n| {
            validate::enum_value::<RunnerCapability>(f, *n)
        }));
        v.finish()?;
        let capabilities = capabilities.expect("checked");
        let runner = self
            .runners
            .modify(caller, id, RunnerAccess::User, deadline, Operation::UpdateStatus, |runner| {
                refuse_while_deleting(runner)?;
                let status = &mut runner.status;
                status.public_key = input.public_key.clone();
                status.version = input.version.clone();
                status.region = input.region.clone();
                status.system_details = input.system_details.clone();
                status.capabilities = capabilities.clone();
                status.phase = RunnerPhase::Inactive;
                status.message = "signed up; waiting for the first status report".to_owned();
                status.updated_at = Some(Timestamp::now());
                Ok(true)
            })
            .await?;
        self.instructions(runner)
    }

    /// UpdateRunnerStatus: the runner's phase and details, and its heartbeat. While the runner
    /// is being deleted the phase stays DELETING; the answer's spec says so.
    pub async fn update_status(&self, caller: &Caller, deadline: Deadline, input: StatusInput) -> Result<Instructions> {
        let id = own_runner_id(caller, &input.runner_id)?;
        let mut v = Violations::default();
        let phase = match v.check(validate::enum_value::<RunnerPhase>("phase", input.phase)) {
            Some(p @ (RunnerPhase::Active | RunnerPhase::Degraded)) => Some(p),
            Some(_) => {
                v.push(FieldViolation::new("phase", "must be RUNNER_PHASE_ACTIVE or RUNNER_PHASE_DEGRADED"));
                None
            }
            None => None,
        };
        v.check(validate::text("message", &input.message, 1024));
        for (field, url) in
            [("logUrl", &input.log_url), ("llmUrl", &input.llm_url), ("supportBundleUrl", &input.support_bundle_url)]
        {
            v.check(validate::optional_http_url(field, url));
        }
        if let Some(g) = &input.gateway_info {
            v.check(validate::length("gatewayInfo.gateway.name", &g.name, 0, 128));
            v.check(validate::optional_http_url("gatewayInfo.gateway.url", &g.url));
            v.check(validate::length("gatewayInfo.gateway.region", &g.region, 0, 64));
            if g.latency_micros.is_some_and(|l| l < 0) {
                v.push(FieldViolation::new("gatewayInfo.latency", "must not be negative"));
            }
        }
        if input.additional_info.len() > MAX_ADDITIONAL_INFO {
            v.push(FieldViolation::new(
                "additionalInfo",
                format!("must have at most {MAX_ADDITIONAL_INFO} entries, got {}", input.additional_info.len()),
            ));
        } else {
            for (i, kv) in input.additional_info.iter().enumerate() {
                v.check(validate::length(&format!("additionalInfo[{i}].key"), &kv.key, 1, 128));
                v.check(validate::text(&format!("additionalInfo[{i}].value"), &kv.value, 4096));
            }
        }
        v.finish()?;
        let phase = phase.expect("checked");
        let runner = self
            .runners
            .modify(caller, id, RunnerAccess::User, deadline, Operation::UpdateStatus, |runner| {
                if runner.status.phase == RunnerPhase::Created {
                    return Err(CoreError::FailedPrecondition(
                        "the runner has not signed up yet; call Signup first".to_owned(),
                    ));
                }
                let status = &mut runner.status;
                if status.phase != RunnerPhase::Deleting {
                    status.phase = phase;
                }
                status.message = input.message.clone();
                status.gateway_info = input.gateway_info.clone();
                status.log_url = input.log_url.clone();
                status.additional_info = input.additional_info.clone();
                status.llm_url = input.llm_url.clone();
                status.support_bundle_url = input.support_bundle_url.clone();
                status.updated_at = Some(Timestamp::now());
                Ok(true)
            })
            .await?;
        self.instructions(runner)
    }

    fn instructions(&self, runner: Runner) -> Result<Instructions> {
        let encrypted_metrics_password = self.runners.sealed_metrics_password(&runner)?;
        Ok(Instructions { spec: runner.spec, encrypted_metrics_password })
    }

    /// UpdateRunnerConfigurationSchema: the schema GetRunnerConfigurationSchema answers with
    /// from now on.
    pub async fn update_schema(
        &self,
        caller: &Caller,
        runner_id: &str,
        schema: Option<RunnerConfigurationSchema>,
    ) -> Result<()> {
        let id = own_runner_id(caller, runner_id)?;
        let schema = schema.ok_or_else(|| CoreError::invalid("configSchema", "is required"))?;
        let violations = schema::check_reported("configSchema", &schema);
        if !violations.is_empty() {
            return Err(CoreError::InvalidArgument(violations));
        }
        let runner = self.runners.load_for(caller, id, RunnerAccess::User).await?;
        refuse_while_deleting(&runner)?;
        if self.store.set_runner_schema(id, &schema).await? {
            Ok(())
        } else {
            Err(CoreError::not_found(Resource::Runner, id))
        }
    }

    /// ListRunnerEnvironmentClasses: the runner's classes, enabled or not.
    pub async fn environment_classes(
        &self,
        caller: &Caller,
        runner_id: &str,
        page_size: i32,
        token: String,
    ) -> Result<Page<EnvironmentClass>> {
        own_runner_id(caller, runner_id)?;
        let input = ListClassesInput { page_size, token, runner_ids: vec![runner_id.to_owned()], ..Default::default() };
        self.classes.list(caller, input).await
    }

    /// ListRunnerSCMIntegrations: the runner's integrations, client secrets sealed to its key.
    pub async fn scm_integrations(
        &self,
        caller: &Caller,
        runner_id: &str,
        page_size: i32,
        token: &str,
    ) -> Result<Page<ScmIntegration>> {
        own_runner_id(caller, runner_id)?;
        self.scm.list(caller, &[runner_id.to_owned()], page_size, token).await
    }

    /// GetHostAuthenticationTokenValue: a token of the runner, its value (and refresh token)
    /// re-encrypted from the server's at-rest key to the runner's public key.
    pub async fn host_token_value(&self, caller: &Caller, input: TokenValueInput) -> Result<SealedHostToken> {
        let id = own_runner_id(caller, &input.runner_id)?;
        let lookup = match (input.id.is_empty(), input.host.is_empty(), input.subject_id.is_empty()) {
            (false, true, true) => TokenLookup::Id(validate::uuid("id", &input.id)?),
            (true, false, false) => {
                let mut v = Violations::default();
                v.check(validate::check_host("host", &input.host));
                let subject_id = v.check(validate::uuid("subjectId", &input.subject_id));
                v.finish()?;
                TokenLookup::HostAndSubject { host: input.host, subject_id: subject_id.expect("checked") }
            }
            _ => return Err(CoreError::invalid("id", "set either id, or host together with subjectId")),
        };
        let runner = self.runners.load_for(caller, id, RunnerAccess::User).await?;
        let (token, value, refresh) = self.host_tokens.value_for(&runner, lookup).await?;
        // Recorded before the value leaves: a value read is never missing from the audit log.
        let read = crate::audit::credential_access(caller, AuditSubject::HostToken, token.id);
        self.store.insert_audit_entry(&read).await?;
        let encrypted_token = seal(&runner, &value)?;
        let encrypted_refresh_token = match refresh {
            Some(r) => seal(&runner, &r)?,
            None => Vec::new(),
        };
        Ok(SealedHostToken { token, encrypted_token, encrypted_refresh_token })
    }

    /// CheckOAuthState: what the state of an OAuth callback the runner received stands for,
    /// and how to exchange its code. `invalid_argument` on `state` for a state this server did
    /// not sign for this runner, or one that expired; `failed_precondition` when the host's
    /// integration is gone or has no OAuth any more.
    pub async fn check_oauth_state(&self, caller: &Caller, runner_id: &str, state: &str) -> Result<OAuthCallback> {
        let id = own_runner_id(caller, runner_id)?;
        if state.is_empty() {
            return Err(CoreError::invalid("state", "is required"));
        }
        let state = self.oauth.check(state, id, Timestamp::now())?;
        let runner = self.runners.load_for(caller, id, RunnerAccess::User).await?;
        refuse_while_deleting(&runner)?;
        let integrations = self
            .store
            .list_scm_integrations(&Visibility::All { org_id: runner.org_id }, &[runner.id], None, 1000)
            .await?;
        let gone = || {
            CoreError::FailedPrecondition(format!(
                "the SCM integration for host {} has no OAuth configured any more",
                state.host
            ))
        };
        let integration = integrations.into_iter().find(|i| i.host == state.host).ok_or_else(gone)?;
        let kind = ScmKind::of_scm_id(&integration.scm_id).ok_or_else(gone)?;
        let token_endpoint =
            auth::token_endpoint(kind, &integration, &self.oauth.web_base(&integration)).ok_or_else(gone)?;
        let schema = self.classes.schema_of(&runner).await?;
        let redirect_uri = schema
            .scm(&integration.scm_id)
            .and_then(|s| s.oauth.as_ref())
            .map(|o| o.callback_url.clone())
            .unwrap_or_default();
        // The answer carries the integration's OAuth client secret (sealed to the runner).
        let read = crate::audit::credential_access(caller, AuditSubject::ScmIntegration, integration.id);
        self.store.insert_audit_entry(&read).await?;
        Ok(OAuthCallback { state, integration, token_endpoint, redirect_uri })
    }

    /// StoreOAuthHostToken: what the provider gave for the code of a callback, stored as the
    /// host token of the user its state names (checked again), replacing theirs for the host.
    pub async fn store_oauth_token(
        &self,
        caller: &Caller,
        deadline: Deadline,
        input: StoreOAuthInput,
    ) -> Result<HostToken> {
        let checked = self.check_oauth_state(caller, &input.runner_id, &input.state).await?;
        let runner = self.runners.load_for(caller, checked.state.runner_id, RunnerAccess::User).await?;
        let subject = &checked.state.subject;
        self.host_tokens.store_oauth(&runner, &checked.integration, subject, input.grant, deadline).await
    }

    /// MarkRunnerDeleted: a runner being deleted has finished; its record and everything that
    /// belongs to it are removed, its access tokens included.
    pub async fn mark_deleted(&self, caller: &Caller, runner_id: &str) -> Result<()> {
        let id = own_runner_id(caller, runner_id)?;
        let runner = self.runners.load_for(caller, id, RunnerAccess::User).await?;
        if runner.status.phase != RunnerPhase::Deleting {
            return Err(CoreError::FailedPrecondition(
                "the runner is not being deleted; only a runner in RUNNER_PHASE_DELETING can be marked deleted"
                    .to_owned(),
            ));
        }
        self.store.delete_runner(id).await?;
        self.runners.published(&runner, Operation::Delete);
        Ok(())
    }
}

fn not_a_runner() -> CoreError {
    CoreError::denied("runner-side API", "only a runner's own principal may call the runner-side API")
}

/// The runner id of a runner-side request, which must name the calling runner itself.
fn own_runner_id(caller: &Caller, runner_id: &str) -> Result<Uuid> {
    let own = caller.runner_id().ok_or_else(not_a_runner)?;
    let id = validate::uuid("runnerId", runner_id)?;
    if id != own {
        return Err(CoreError::not_found(Resource::Runner, id));
    }
    Ok(id)
}

fn refuse_while_deleting(runner: &Runner) -> Result<()> {
    if runner.status.phase == RunnerPhase::Deleting {
        return Err(CoreError::FailedPrecondition("the runner is being deleted".to_owned()));
    }
    Ok(())
}

/// Values in first-seen order, each once.
fn dedup(values: &[i32]) -> Vec<i32> {
    let mut seen = BTreeSet::new();
    values.iter().copied().filter(|v| seen.insert(*v)).collect()
}
