//! SCM integrations: which SCM providers a runner offers, for which hosts, with OAuth and/or
//! personal access tokens. OAuth client secrets are sealed to the runner's public key before
//! they are stored and are only ever returned as that ciphertext.

use std::sync::Arc;

use uuid::Uuid;

use crate::authz::{RunnerAccess, Visibility};
use crate::environment_classes::EnvironmentClasses;
use crate::error::{CoreError, FieldViolation, Resource, Result};
use crate::events::{EventResource, Operation};
use crate::identity::Caller;
use crate::model::*;
use crate::page::PageTokens;
use crate::runners::{Page, Runners};
use crate::schema::ScmConfigSchema;
use crate::secrets::{NO_PUBLIC_KEY, seal};
use crate::store::{Store, StoreError, WriteOutcome};
use crate::time::{Deadline, Timestamp};
use crate::turns::Turns;
use crate::validate::{self, Violations};

const LIST_KIND: &str = "scm-integrations";
/// The JSON name of an integration's id in requests.
const ID_FIELD: &str = "id";
const ENTRA: &str = "azuredevops_entra";
const ADO_SERVER: &str = "azuredevops_server";

#[derive(Debug, Clone, Default)]
pub struct CreateScmInput {
    pub runner_id: String,
    pub scm_id: String,
    pub host: String,
    pub oauth_client_id: Option<String>,
    pub oauth_plaintext_client_secret: Option<String>,
    pub pat: bool,
    pub issuer_url: Option<String>,
    pub virtual_directory: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct UpdateScmInput {
    pub id: String,
    pub oauth_client_id: Option<String>,
    pub oauth_plaintext_client_secret: Option<String>,
    pub pat: Option<bool>,
    pub issuer_url: Option<String>,
    pub virtual_directory: Option<String>,
}

#[derive(Clone)]
pub struct ScmIntegrations {
    store: Arc<dyn Store>,
    runners: Runners,
    classes: EnvironmentClasses,
    page_tokens: PageTokens,
    turns: Turns,
}

/// The provider rules that hold for the integration as it will be stored.
fn check_provider_rules(scm: &ScmConfigSchema, i: &ScmIntegration) -> Vec<FieldViolation> {
    let mut v = Vec::new();
    if i.oauth.is_none() && !i.pat {
        v.push(FieldViolation::new("pat", "enable OAuth (oauthClientId) or personal access tokens"));
    }
    if i.oauth.is_some() && scm.oauth.is_none() {
        v.push(FieldViolation::new("oauthClientId", format!("{} does not support OAuth", scm.name)));
    }
    if i.pat && scm.pat.is_none() {
        v.push(FieldViolation::new("pat", format!("{} does not support personal access tokens", scm.name)));
    }
    let issuer = i.oauth.as_ref().map(|o| o.issuer_url.as_str()).unwrap_or_default();
    if scm.scm_id == ENTRA && i.oauth.is_some() && issuer.is_empty() {
        v.push(FieldViolation::new("issuerUrl", "is required for Azure DevOps with Microsoft Entra ID"));
    }
    if scm.scm_id != ENTRA && !issuer.is_empty() {
        v.push(FieldViolation::new("issuerUrl", "is only accepted for azuredevops_entra"));
    }
    let vdir = i.virtual_directory.as_deref().unwrap_or_default();
    if scm.scm_id == ADO_SERVER {
        if !i.pat {
            v.push(FieldViolation::new("pat", "Azure DevOps Server needs personal access tokens"));
        }
        if vdir.is_empty() {
            v.push(FieldViolation::new("virtualDirectory", "is required for Azure DevOps Server, for example /tfs"));
        }
    } else if !vdir.is_empty() {
        v.push(FieldViolation::new("virtualDirectory", "is only accepted for azuredevops_server"));
    }
    v
}

impl ScmIntegrations {
    pub fn new(store: Arc<dyn Store>, runners: Runners, classes: EnvironmentClasses, page_tokens: PageTokens) -> Self {
        let turns = Turns::new(store.clone(), Resource::ScmIntegration);
        Self { store, runners, classes, page_tokens, turns }
    }

    async fn scm_schema(&self, runner: &Runner, scm_id: &str) -> Result<ScmConfigSchema> {
        let schema = self.classes.schema_of(runner).await?;
        schema
            .scm
            .into_iter()
            .find(|s| s.scm_id == scm_id)
            .ok_or_else(|| CoreError::invalid("scmId", format!("{scm_id:?} is not an SCM this runner supports")))
    }

    pub async fn create(&self, caller: &Caller, input: CreateScmInput) -> Result<Uuid> {
        let mut v = Violations::default();
        let runner_id = v.check(validate::uuid("runnerId", &input.runner_id));
        v.check(validate::length("scmId", &input.scm_id, 1, 64));
        v.check(validate::check_host("host", &input.host));
        v.check(validate::optional_text("oauthClientId", &input.oauth_client_id, 1024));
        v.check(validate::optional_text("oauthPlaintextClientSecret", &input.oauth_plaintext_client_secret, 4096));
        v.check(validate::optional_text("issuerUrl", &input.issuer_url, 2048));
        v.check(validate::optional_text("virtualDirectory", &input.virtual_directory, 256));
        let client_id = input.oauth_client_id.clone().filter(|c| !c.is_empty());
        let secret = input.oauth_plaintext_client_secret.clone().filter(|c| !c.is_empty());
        match (&client_id, &secret) {
            (Some(_), None) => {
                v.push(FieldViolation::new("oauthPlaintextClientSecret", "is required with oauthClientId"))
            }
            (None, Some(_)) => {
                v.push(FieldViolation::new("oauthClientId", "is required with oauthPlaintextClientSecret"))
            }
            _ => {}
        }
        v.finish()?;
        let runner = self.runners.load_for(caller, runner_id.expect("checked"), RunnerAccess::Admin).await?;
        if runner.status.phase == RunnerPhase::Deleting {
            return Err(CoreError::FailedPrecondition("runner is being deleted".to_owned()));
        }
        let scm = self.scm_schema(&runner, &input.scm_id).await?;
        let issuer_without_oauth = client_id.is_none() && input.issuer_url.as_deref().is_some_and(|u| !u.is_empty());
        if issuer_without_oauth {
            return Err(CoreError::invalid("issuerUrl", "needs OAuth (oauthClientId)"));
        }
        let now = Timestamp::now();
        let mut integration = ScmIntegration {
            id: Uuid::now_v7(),
            runner_id: runner.id,
            scm_id: input.scm_id,
            host: input.host,
            oauth: client_id.map(|client_id| ScmOAuthConfig {
                client_id,
                encrypted_client_secret: Vec::new(),
                issuer_url: input.issuer_url.unwrap_or_default(),
            }),
            pat: input.pat,
            virtual_directory: input.virtual_directory.filter(|d| !d.is_empty()),
            created_at: now,
            updated_at: now,
            revision: 1,
        };
        let violations = check_provider_rules(&scm, &integration);
        if !violations.is_empty() {
            return Err(CoreError::InvalidArgument(violations));
        }
        if let (Some(oauth), Some(secret)) = (integration.oauth.as_mut(), secret) {
            oauth.encrypted_client_secret = seal(&runner, &secret)?;
        }
        self.store.insert_scm_integration(&integration).await.map_err(|e| match e {
            StoreError::AlreadyExists => CoreError::AlreadyExists {
                resource: Resource::ScmIntegration,
                message: format!(
                    "runner {} already has an SCM integration for {}",
                    integration.runner_id, integration.host
                ),
            },
            e => e.into(),
        })?;
        self.runners.published_part(&runner, EventResource::ScmIntegration, integration.id, Operation::Create);
        Ok(integration.id)
    }

    /// The integration, if the caller has at least `needed` access to its runner.
    async fn load_for(&self, caller: &Caller, id: &str, needed: RunnerAccess) -> Result<(ScmIntegration, Runner)> {
        let id = validate::uuid(ID_FIELD, id)?;
        let missing = || CoreError::not_found(Resource::ScmIntegration, id);
        let integration = self.store.get_scm_integration(id).await?.ok_or_else(missing)?;
        let runner = self.runners.parent_of(caller, integration.runner_id, needed, missing()).await?;
        Ok((integration, runner))
    }

    pub async fn get(&self, caller: &Caller, id: &str) -> Result<ScmIntegration> {
        Ok(self.load_for(caller, id, RunnerAccess::User).await?.0)
    }

    pub async fn list(
        &self,
        caller: &Caller,
        runner_ids: &[String],
        page_size: i32,
        token: &str,
    ) -> Result<Page<ScmIntegration>> {
        let (size, runner_ids, after) = self.page_tokens.runner_scoped(LIST_KIND, page_size, runner_ids, token)?;
        let items = self.store.list_scm_integrations(&Visibility::of(caller), &runner_ids, after, size + 1).await?;
        Ok(self.page_tokens.page(LIST_KIND, &runner_ids, items, size, |item| item.id))
    }

    pub async fn update(&self, caller: &Caller, deadline: Deadline, input: UpdateScmInput) -> Result<()> {
        let mut v = Violations::default();
        v.check(validate::optional_text("oauthClientId", &input.oauth_client_id, 1024));
        v.check(validate::optional_text("oauthPlaintextClientSecret", &input.oauth_plaintext_client_secret, 4096));
        v.check(validate::optional_text("issuerUrl", &input.issuer_url, 2048));
        v.check(validate::optional_text("virtualDirectory", &input.virtual_directory, 256));
        v.finish()?;
        let mut turn = self.turns.take(validate::uuid(ID_FIELD, &input.id)?, deadline).await?;
        loop {
            let (mut integration, runner) = self.load_for(caller, &input.id, RunnerAccess::Admin).await?;
            let scm = self.scm_schema(&runner, &integration.scm_id).await?;
            let mut revoke = Vec::new();
            let secret = input.oauth_plaintext_client_secret.clone().filter(|s| !s.is_empty());
            match input.oauth_client_id.as_deref() {
                // An empty client id removes OAuth, and with it the OAuth tokens for the host.
                Some("") => {
                    if integration.oauth.take().is_some() {
                        revoke.push(HostTokenSource::Oauth);
                    }
                }
                Some(client_id) => {
                    let changed = integration.oauth.as_ref().is_none_or(|o| o.client_id != client_id);
                    if changed && secret.is_none() {
                        return Err(CoreError::invalid(
                            "oauthPlaintextClientSecret",
                            "is required when OAuth is enabled or its client id changes",
                        ));
                    }
                    let issuer_url = integration.oauth.as_ref().map(|o| o.issuer_url.clone()).unwrap_or_default();
                    let old = integration.oauth.take();
                    integration.oauth = Some(ScmOAuthConfig {
                        client_id: client_id.to_owned(),
                        encrypted_client_secret: old.map(|o| o.encrypted_client_secret).unwrap_or_default(),
                        issuer_url,
                    });
                }
                None => {
                    if secret.is_some() && integration.oauth.is_none() {
                        return Err(CoreError::invalid("oauthClientId", "is required to set an OAuth client secret"));
                    }
                }
            }
            if let (Some(oauth), Some(secret)) = (integration.oauth.as_mut(), &secret) {
                oauth.encrypted_client_secret = seal(&runner, secret)?;
            }
            if let Some(pat) = input.pat {
                if integration.pat && !pat {
                    revoke.push(HostTokenSource::Pat);
                }
                integration.pat = pat;
            }
            if let Some(issuer) = &input.issuer_url {
                match integration.oauth.as_mut() {
                    Some(o) => o.issuer_url = issuer.clone(),
                    None if issuer.is_empty() => {}
                    None => return Err(CoreError::invalid("issuerUrl", "needs OAuth (oauthClientId)")),
                }
            }
            if let Some(dir) = &input.virtual_directory {
                integration.virtual_directory = Some(dir.clone()).filter(|d| !d.is_empty());
            }
            let violations = check_provider_rules(&scm, &integration);
            if !violations.is_empty() {
                return Err(CoreError::InvalidArgument(violations));
            }
            integration.updated_at = Timestamp::now().max(integration.updated_at);
            integration.revision += 1;
            if self.store.update_scm_integration(&integration, &revoke).await? == WriteOutcome::Written {
                self.runners.published_part(&runner, EventResource::ScmIntegration, integration.id, Operation::Update);
                return Ok(());
            }
            turn.lost_race().await?;
        }
    }

    pub async fn delete(&self, caller: &Caller, id: &str) -> Result<()> {
        let (integration, runner) = self.load_for(caller, id, RunnerAccess::Admin).await?;
        if self.store.delete_scm_integration(&integration).await? {
            self.runners.published_part(&runner, EventResource::ScmIntegration, integration.id, Operation::Delete);
            Ok(())
        } else {
            Err(CoreError::not_found(Resource::ScmIntegration, integration.id))
        }
    }
}

/// An SCM integration to check (ValidateRunnerConfiguration): nothing is stored.
#[derive(Debug, Clone, Default)]
pub struct ValidateScmInput {
    /// An existing integration this one would replace, if any (not checked as a UUID).
    pub id: String,
    pub scm_id: String,
    pub host: String,
    pub oauth_client_id: Option<String>,
    pub oauth_plaintext_client_secret: Option<String>,
    pub oauth_encrypted_client_secret: Option<Vec<u8>>,
    pub pat: bool,
    pub issuer_url: Option<String>,
    pub virtual_directory: Option<String>,
}

/// Problems found, by the slot the API reports them in.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScmValidation {
    pub scm_id_error: Option<String>,
    pub host_error: Option<String>,
    pub oauth_error: Option<String>,
    pub pat_error: Option<String>,
}

impl ScmValidation {
    pub fn valid(&self) -> bool {
        self.scm_id_error.is_none()
            && self.host_error.is_none()
            && self.oauth_error.is_none()
            && self.pat_error.is_none()
    }

    /// Files a problem under its slot; the first one per slot wins.
    fn file(&mut self, field: &str, message: String) {
        let slot = match field {
            "scmId" => &mut self.scm_id_error,
            "host" | "virtualDirectory" => &mut self.host_error,
            "pat" => &mut self.pat_error,
            _ => &mut self.oauth_error,
        };
        slot.get_or_insert(message);
    }
}

impl ScmIntegrations {
    /// ValidateRunnerConfiguration for an SCM integration: the caller must administer the
    /// runner; problems are returned, not raised.
    pub async fn validate(&self, caller: &Caller, runner_id: &str, input: ValidateScmInput) -> Result<ScmValidation> {
        let id = validate::uuid("runnerId", runner_id)?;
        let runner = self.runners.load_for(caller, id, RunnerAccess::Admin).await?;
        let mut out = ScmValidation::default();
        if let Err(v) = validate::check_host("host", &input.host) {
            out.file("host", v.description);
        }
        let existing = self
            .store
            .list_scm_integrations(&Visibility::All { org_id: runner.org_id }, &[runner.id], None, 1000)
            .await?;
        if existing.iter().any(|i| i.host == input.host && i.id.to_string() != input.id) {
            out.file("host", format!("the runner already has an SCM integration for {}", input.host));
        }
        let client_id = input.oauth_client_id.filter(|c| !c.is_empty());
        let plaintext = input.oauth_plaintext_client_secret.filter(|s| !s.is_empty());
        let encrypted = input.oauth_encrypted_client_secret.filter(|s| !s.is_empty());
        match (&client_id, plaintext.is_some() || encrypted.is_some()) {
            (Some(_), false) => out.file("oauth", "an OAuth client secret is required with the client id".to_owned()),
            (None, true) => out.file("oauth", "an OAuth client id is required with the secret".to_owned()),
            _ => {}
        }
        if client_id.is_some() && plaintext.is_some() && runner.status.public_key.is_empty() {
            out.file("oauth", NO_PUBLIC_KEY.to_owned());
        }
        match self.classes.schema_of(&runner).await?.scm.into_iter().find(|s| s.scm_id == input.scm_id) {
            None => out.file("scmId", format!("{:?} is not an SCM this runner supports", input.scm_id)),
            Some(scm) => {
                let candidate = ScmIntegration {
                    id: Uuid::nil(),
                    runner_id: runner.id,
                    scm_id: input.scm_id.clone(),
                    host: input.host.clone(),
                    oauth: client_id.map(|client_id| ScmOAuthConfig {
                        client_id,
                        encrypted_client_secret: Vec::new(),
                        issuer_url: input.issuer_url.clone().unwrap_or_default(),
                    }),
                    pat: input.pat,
                    virtual_directory: input.virtual_directory.clone().filter(|d| !d.is_empty()),
                    created_at: Timestamp(0),
                    updated_at: Timestamp(0),
                    revision: 0,
                };
                for v in check_provider_rules(&scm, &candidate) {
                    out.file(&v.field, v.description);
                }
            }
        }
        Ok(out)
    }
}
