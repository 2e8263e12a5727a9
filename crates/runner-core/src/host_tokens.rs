//! Host authentication tokens: a user's or service account's SCM credential for a runner and
//! host. The token and refresh token are encrypted at rest (XChaCha20-Poly1305 under a key
//! derived from the server key, bound to the token's id) and never returned.
//!
//! Who may do what: the token's own subject, with user access to the runner; and runner
//! admins for anyone's tokens on their runner. Lists show a caller its own tokens, and every
//! token of the organization's runners to organization and runners admins. The runner's own
//! principal may list, read and refresh (update) the tokens on itself, but not create or delete
//! them; it gets their values, sealed to its public key, through [`HostTokens::value_for`].

use std::sync::Arc;

use uuid::Uuid;

use crate::authz::{RunnerAccess, Visibility};
use crate::crypto::AtRestKey;
use crate::error::{CoreError, FieldViolation, Resource, Result};
use crate::events::{Audience, Event, EventResource, Operation};
use crate::identity::Caller;
use crate::model::*;
use crate::page::PageTokens;
use crate::runners::{Page, Runners};
use crate::store::{Store, StoreError, WriteOutcome};
use crate::time::{Deadline, Timestamp};
use crate::turns::Turns;
use crate::validate::{self, Violations};

const LIST_KIND: &str = "host-tokens";
/// The JSON name of a token's id in requests.
const ID_FIELD: &str = "id";
/// Most scopes one token may list.
pub const MAX_SCOPES: usize = 100;

#[derive(Debug, Clone, Default)]
pub struct CreateHostTokenInput {
    pub runner_id: String,
    /// Deprecated form of `subject` (a user).
    pub user_id: String,
    pub subject: Option<(String, i32)>,
    pub host: String,
    pub token: String,
    pub source: i32,
    pub expires_at: Option<Timestamp>,
    pub refresh_token: String,
    pub integration_id: String,
    pub scopes: Vec<String>,
}

#[derive(Debug, Clone, Default)]
pub struct UpdateHostTokenInput {
    pub id: String,
    pub token: Option<String>,
    pub expires_at: Option<Timestamp>,
    pub refresh_token: Option<String>,
    /// Empty means "no change".
    pub scopes: Vec<String>,
}

#[derive(Clone)]
pub struct HostTokens {
    store: Arc<dyn Store>,
    runners: Runners,
    page_tokens: PageTokens,
    key: AtRestKey,
    turns: Turns,
}

fn aad(id: Uuid, what: &str) -> Vec<u8> {
    let mut aad = id.as_bytes().to_vec();
    aad.extend_from_slice(what.as_bytes());
    aad
}

fn check_scopes(scopes: &[String]) -> std::result::Result<(), FieldViolation> {
    if scopes.len() > MAX_SCOPES {
        return Err(FieldViolation::new(
            "scopes",
            format!("must have at most {MAX_SCOPES} entries, got {}", scopes.len()),
        ));
    }
    for (i, s) in scopes.iter().enumerate() {
        validate::length(&format!("scopes[{i}]"), s, 1, 256)?;
    }
    Ok(())
}

fn secret(field: &str, value: &str) -> std::result::Result<(), FieldViolation> {
    validate::length(field, value, 1, 16 * 1024)
}

impl HostTokens {
    pub fn new(store: Arc<dyn Store>, runners: Runners, page_tokens: PageTokens, key: AtRestKey) -> Self {
        let turns = Turns::new(store.clone(), Resource::HostAuthenticationToken);
        Self { store, runners, page_tokens, key, turns }
    }

    /// The subject a create names: `subject`, or the deprecated `userId`; both must agree.
    fn subject_of(input: &CreateHostTokenInput) -> std::result::Result<(Uuid, Option<Principal>), FieldViolation> {
        let from_user = validate::optional_uuid("userId", &input.user_id)?;
        let from_subject = match &input.subject {
            Some((id, principal)) => {
                let id = validate::uuid("subject.id", id)?;
                let principal = validate::optional_enum::<Principal>("subject.principal", *principal)?;
                Some((id, principal))
            }
            None => None,
        };
        match (from_subject, from_user) {
            (Some((id, _)), Some(user)) if id != user => {
                Err(FieldViolation::new("userId", "differs from subject.id; set only subject"))
            }
            (Some((id, p)), _) => Ok((id, p)),
            (None, Some(user)) => Ok((user, Some(Principal::User))),
            (None, None) => Err(FieldViolation::new("subject", "is required")),
        }
    }

    pub async fn create(&self, caller: &Caller, input: CreateHostTokenInput) -> Result<HostToken> {
        let mut v = Violations::default();
        let runner_id = v.check(validate::uuid("runnerId", &input.runner_id));
        let subject = v.check(Self::subject_of(&input));
        v.check(validate::check_host("host", &input.host));
        v.check(secret("token", &input.token));
        if !input.refresh_token.is_empty() {
            v.check(secret("refreshToken", &input.refresh_token));
        }
        let source = v.check(validate::enum_value::<HostTokenSource>("source", input.source));
        let integration_id = v.check(validate::optional_uuid("integrationId", &input.integration_id));
        v.check(check_scopes(&input.scopes));
        v.finish()?;
        let (runner_id, (subject_id, principal)) = (runner_id.expect("checked"), subject.expect("checked"));
        let (source, integration_id) = (source.expect("checked"), integration_id.expect("checked"));

        // The subject must be a member of the caller's organization, of the principal named.
        let member = self.store.get_member(subject_id).await?.filter(|m| m.org_id == caller.org_id);
        let Some(member) = member.filter(|m| principal.is_none_or(|p| p == m.principal)) else {
            return Err(CoreError::invalid("subject", "is not a user or service account of this organization"));
        };
        let needed = if member.id == caller.subject.id { RunnerAccess::User } else { RunnerAccess::Admin };
        let runner = self.runners.load_for(caller, runner_id, needed).await?;

        // The runner's integration for the host decides which sources it accepts.
        let integrations = self
            .store
            .list_scm_integrations(&Visibility::All { org_id: runner.org_id }, &[runner.id], None, 1000)
            .await?;
        let Some(integration) = integrations.into_iter().find(|i| i.host == input.host) else {
            return Err(CoreError::FailedPrecondition(format!(
                "the SCM integration for host {} is not configured",
                input.host
            )));
        };
        if integration_id.is_some_and(|id| id != integration.id) {
            return Err(CoreError::invalid("integrationId", "is not this runner's integration for the host"));
        }
        match source {
            HostTokenSource::Pat if !integration.pat => {
                return Err(CoreError::FailedPrecondition(format!(
                    "{} does not accept personal access tokens",
                    input.host
                )));
            }
            HostTokenSource::Oauth if integration.oauth.is_none() => {
                return Err(CoreError::FailedPrecondition(format!("{} has no OAuth configured", input.host)));
            }
            _ => {}
        }

        let now = Timestamp::now();
        let id = Uuid::now_v7();
        let token = HostToken {
            id,
            runner_id,
            host: input.host,
            subject: member.subject(),
            source,
            token_ciphertext: self.key.encrypt(input.token.as_bytes(), &aad(id, "token")),
            refresh_token_ciphertext: Some(input.refresh_token)
                .filter(|r| !r.is_empty())
                .map(|r| self.key.encrypt(r.as_bytes(), &aad(id, "refresh"))),
            expires_at: input.expires_at,
            integration_id: Some(integration.id),
            scopes: input.scopes,
            created_at: now,
            updated_at: now,
            revision: 1,
        };
        self.store.insert_host_token(&token).await.map_err(|e| match e {
            StoreError::AlreadyExists => CoreError::AlreadyExists {
                resource: Resource::HostAuthenticationToken,
                message: format!("{} already has a token for {} on this runner", member.name, token.host),
            },
            e => e.into(),
        })?;
        self.published(runner.org_id, &token, Operation::Create);
        Ok(token)
    }

    /// Publishes a committed write of `token` (crate::events): seen by who may get it.
    fn published(&self, org_id: Uuid, token: &HostToken, operation: Operation) {
        self.runners.event_bus().publish(Event {
            org_id,
            operation,
            resource: EventResource::HostAuthenticationToken,
            resource_id: token.id,
            creator_id: None,
            audience: Audience::HostToken { runner_id: token.runner_id, subject_id: token.subject.id },
        });
    }

    /// The token, if the caller is its subject (with user access to the runner), a runner
    /// admin, or (with `runner_may`) the runner's own principal; `not_found` otherwise.
    async fn load_for(&self, caller: &Caller, id: &str, runner_may: bool) -> Result<HostToken> {
        let id = validate::uuid(ID_FIELD, id)?;
        let missing = || CoreError::not_found(Resource::HostAuthenticationToken, id);
        let token = self.store.get_host_token(id).await?.ok_or_else(missing)?;
        let the_runner = runner_may && caller.runner_id() == Some(token.runner_id);
        let needed =
            if token.subject.id == caller.subject.id || the_runner { RunnerAccess::User } else { RunnerAccess::Admin };
        match self.runners.load_for(caller, token.runner_id, needed).await {
            Ok(_) => Ok(token),
            Err(CoreError::NotFound { .. } | CoreError::PermissionDenied { .. }) => Err(missing()),
            Err(e) => Err(e),
        }
    }

    pub async fn get(&self, caller: &Caller, id: &str) -> Result<HostToken> {
        self.load_for(caller, id, true).await
    }

    pub async fn list(
        &self,
        caller: &Caller,
        runner_id: Option<&str>,
        subject_id: Option<&str>,
        user_id: Option<&str>,
        page_size: i32,
        token: &str,
    ) -> Result<Page<HostToken>> {
        let mut v = Violations::default();
        let size = v.check(validate::page_size("pagination.pageSize", page_size));
        let runner = v.check(validate::optional_uuid("filter.runnerId", runner_id.unwrap_or_default()));
        let subject = v.check(validate::optional_uuid("filter.subjectId", subject_id.unwrap_or_default()));
        let user = v.check(validate::optional_uuid("filter.userId", user_id.unwrap_or_default()));
        v.finish()?;
        let (size, runner) = (size.expect("checked"), runner.expect("checked"));
        let requested = match (subject.expect("checked"), user.expect("checked")) {
            (Some(s), Some(u)) if s != u => {
                return Err(CoreError::invalid("filter.userId", "differs from filter.subjectId"));
            }
            (s, u) => s.or(u),
        };
        // Others' tokens only for those who administer every runner, and for a runner (whose
        // visibility is itself); everyone else sees its own.
        let subject = if caller.admin_of_all_runners() || caller.runner_id().is_some() {
            requested
        } else if requested.is_some_and(|s| s != caller.subject.id) {
            return Ok(Page { items: Vec::new(), next_token: String::new() });
        } else {
            Some(caller.subject.id)
        };
        let filter = (runner, subject);
        let cursor = self.page_tokens.cursor("pagination.token", LIST_KIND, token, filter)?;
        let after = cursor.after_id()?;
        let (runner, subject) = cursor.filter;
        let items = self.store.list_host_tokens(&Visibility::of(caller), runner, subject, after, size + 1).await?;
        Ok(self.page_tokens.page(LIST_KIND, &(runner, subject), items, size, |item| item.id))
    }

    pub async fn update(&self, caller: &Caller, deadline: Deadline, input: UpdateHostTokenInput) -> Result<()> {
        let mut v = Violations::default();
        if let Some(t) = &input.token {
            v.check(secret("token", t));
        }
        if let Some(r) = &input.refresh_token
            && !r.is_empty()
        {
            v.check(secret("refreshToken", r));
        }
        v.check(check_scopes(&input.scopes));
        v.finish()?;
        let mut turn = self.turns.take(validate::uuid(ID_FIELD, &input.id)?, deadline).await?;
        loop {
            let mut token = self.load_for(caller, &input.id, true).await?;
            if let Some(t) = &input.token {
                token.token_ciphertext = self.key.encrypt(t.as_bytes(), &aad(token.id, "token"));
            }
            if let Some(r) = &input.refresh_token {
                token.refresh_token_ciphertext = Some(r)
                    .filter(|r| !r.is_empty())
                    .map(|r| self.key.encrypt(r.as_bytes(), &aad(token.id, "refresh")));
            }
            if input.expires_at.is_some() {
                token.expires_at = input.expires_at;
            }
            if !input.scopes.is_empty() {
                token.scopes = input.scopes.clone();
            }
            token.updated_at = Timestamp::now().max(token.updated_at);
            token.revision += 1;
            if self.store.update_host_token(&token).await? == WriteOutcome::Written {
                self.published(caller.org_id, &token, Operation::Update);
                return Ok(());
            }
            turn.lost_race().await?;
        }
    }

    pub async fn delete(&self, caller: &Caller, id: &str) -> Result<()> {
        let token = self.load_for(caller, id, false).await?;
        if self.store.delete_host_token(token.id).await? {
            self.published(caller.org_id, &token, Operation::Delete);
            Ok(())
        } else {
            Err(CoreError::not_found(Resource::HostAuthenticationToken, token.id))
        }
    }

    /// Stores what an OAuth authorization gave as `subject`'s token for `integration`'s host on
    /// `runner` (source OAUTH), replacing the subject's token for that host, whatever its source.
    /// The caller has established that the subject asked for it (a state the server signed). A
    /// replacement takes the token's write turn, until `deadline`.
    pub async fn store_oauth(
        &self,
        runner: &Runner,
        integration: &ScmIntegration,
        subject: &Subject,
        grant: OAuthGrant,
        deadline: Deadline,
    ) -> Result<HostToken> {
        let mut v = Violations::default();
        v.check(secret("token", &grant.token));
        if !grant.refresh_token.is_empty() {
            v.check(secret("refreshToken", &grant.refresh_token));
        }
        v.check(check_scopes(&grant.scopes));
        v.finish()?;
        // The subject must still be in the runner's organization (a state outlives nothing).
        let member = self.store.get_member(subject.id).await?.filter(|m| m.org_id == runner.org_id);
        let Some(member) = member.filter(|m| m.principal == subject.principal) else {
            return Err(CoreError::FailedPrecondition(format!(
                "{} {} is no longer a member of the runner's organization",
                subject.principal.as_str(),
                subject.id
            )));
        };
        let granted = |token: &mut HostToken| {
            token.source = HostTokenSource::Oauth;
            token.integration_id = Some(integration.id);
            token.token_ciphertext = self.key.encrypt(grant.token.as_bytes(), &aad(token.id, "token"));
            token.refresh_token_ciphertext = Some(&grant.refresh_token)
                .filter(|r| !r.is_empty())
                .map(|r| self.key.encrypt(r.as_bytes(), &aad(token.id, "refresh")));
            token.expires_at = grant.expires_at;
            token.scopes = grant.scopes.clone();
            token.updated_at = Timestamp::now().max(token.updated_at);
            token.revision += 1;
        };
        loop {
            let existing = self.subjects_token(runner, member.id, &integration.host).await?;
            let Some(existing) = existing else {
                let now = Timestamp::now();
                let mut token = HostToken {
                    id: Uuid::now_v7(),
                    runner_id: runner.id,
                    host: integration.host.clone(),
                    subject: member.subject(),
                    source: HostTokenSource::Oauth,
                    token_ciphertext: Vec::new(),
                    refresh_token_ciphertext: None,
                    expires_at: None,
                    integration_id: Some(integration.id),
                    scopes: Vec::new(),
                    created_at: now,
                    updated_at: now,
                    revision: 0,
                };
                granted(&mut token);
                match self.store.insert_host_token(&token).await {
                    Ok(()) => {
                        self.published(runner.org_id, &token, Operation::Create);
                        return Ok(token);
                    }
                    // Stored meanwhile by another authorization: replace that one.
                    Err(StoreError::AlreadyExists) => continue,
                    Err(e) => return Err(e.into()),
                }
            };
            let mut turn = self.turns.take(existing.id, deadline).await?;
            loop {
                // Deleted meanwhile: store a new one.
                let Some(mut token) = self.store.get_host_token(existing.id).await? else { break };
                granted(&mut token);
                if self.store.update_host_token(&token).await? == WriteOutcome::Written {
                    self.published(runner.org_id, &token, Operation::Update);
                    return Ok(token);
                }
                turn.lost_race().await?;
            }
        }
    }

    /// The subject's token for a host on a runner, if it has one (at most one: a unique key).
    async fn subjects_token(&self, runner: &Runner, subject_id: Uuid, host: &str) -> Result<Option<HostToken>> {
        let tokens = self
            .store
            .list_host_tokens(&Visibility::All { org_id: runner.org_id }, Some(runner.id), Some(subject_id), None, 1000)
            .await?;
        Ok(tokens.into_iter().find(|t| t.host == host))
    }

    /// A token of `runner` and its decrypted value and refresh token, for sealing to the
    /// runner. The caller has established that it acts for `runner`.
    pub async fn value_for(&self, runner: &Runner, lookup: TokenLookup) -> Result<(HostToken, String, Option<String>)> {
        let named = match &lookup {
            TokenLookup::Id(id) => id.to_string(),
            TokenLookup::HostAndSubject { host, subject_id } => format!("of {subject_id} for {host}"),
        };
        let token = match lookup {
            TokenLookup::Id(id) => self.store.get_host_token(id).await?.filter(|t| t.runner_id == runner.id),
            TokenLookup::HostAndSubject { host, subject_id } => self
                .store
                .list_host_tokens(
                    &Visibility::All { org_id: runner.org_id },
                    Some(runner.id),
                    Some(subject_id),
                    None,
                    1000,
                )
                .await?
                .into_iter()
                .find(|t| t.host == host),
        };
        let Some(token) = token else {
            return Err(CoreError::not_found(Resource::HostAuthenticationToken, named));
        };
        let value = self.open(&token, "token", &token.token_ciphertext)?;
        let refresh = token.refresh_token_ciphertext.as_deref().map(|r| self.open(&token, "refresh", r)).transpose()?;
        Ok((token, value, refresh))
    }

    /// The subject's usable token for a runner and host (compared without case): one that has
    /// not expired, the most recently updated if there are several, with its decrypted value.
    /// For the SCM calls a user makes; the caller has established access to the runner.
    pub async fn usable_for(
        &self,
        runner: &Runner,
        host: &str,
        subject_id: Uuid,
        now: Timestamp,
    ) -> Result<Option<(HostToken, String)>> {
        let tokens = self
            .store
            .list_host_tokens(&Visibility::All { org_id: runner.org_id }, Some(runner.id), Some(subject_id), None, 1000)
            .await?;
        let best = tokens
            .into_iter()
            .filter(|t| t.host.eq_ignore_ascii_case(host) && t.expires_at.is_none_or(|e| e > now))
            .max_by_key(|t| t.updated_at);
        best.map(|t| {
            let value = self.open(&t, "token", &t.token_ciphertext)?;
            Ok((t, value))
        })
        .transpose()
    }

    /// Decrypts one stored secret of a token.
    fn open(&self, token: &HostToken, what: &str, stored: &[u8]) -> Result<String> {
        let plain = self
            .key
            .decrypt(stored, &aad(token.id, what))
            .map_err(|_| CoreError::Internal(format!("host authentication token {} does not decrypt", token.id)))?;
        String::from_utf8(plain).map_err(|_| CoreError::Internal("stored token is not UTF-8".to_owned()))
    }
}

/// What a provider gave for an OAuth authorization code.
#[derive(Clone, Default)]
pub struct OAuthGrant {
    pub token: String,
    /// Empty when the provider gave none.
    pub refresh_token: String,
    pub expires_at: Option<Timestamp>,
    pub scopes: Vec<String>,
}

impl std::fmt::Debug for OAuthGrant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuthGrant")
            .field("token", &"<redacted>")
            .field("refresh_token", &"<redacted>")
            .field("expires_at", &self.expires_at)
            .field("scopes", &self.scopes)
            .finish()
    }
}

/// How a runner names the token it wants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenLookup {
    Id(Uuid),
    HostAndSubject { host: String, subject_id: Uuid },
}
