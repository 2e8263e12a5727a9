//! LLM integrations: an LLM service (endpoint, models, API key) a runner's agents may use. The
//! API key and header values are sealed to the runner's public key, like OAuth client secrets.

use std::sync::Arc;

use uuid::Uuid;

use crate::authz::{RunnerAccess, Visibility};
use crate::error::{CoreError, Resource, Result};
use crate::events::{EventResource, Operation};
use crate::identity::Caller;
use crate::model::*;
use crate::page::PageTokens;
use crate::runners::{Page, Runners};
use crate::secrets::seal;
use crate::store::{Store, WriteOutcome};
use crate::time::{Deadline, Timestamp};
use crate::turns::Turns;
use crate::validate::{self, Violations};

const LIST_KIND: &str = "llm-integrations";
/// The JSON name of an integration's id in requests.
const ID_FIELD: &str = "id";
/// Phase of a new integration (`LLM_INTEGRATION_PHASE_AVAILABLE`).
pub const PHASE_AVAILABLE: i32 = 1;

/// A request header as sent: the value in plaintext.
#[derive(Debug, Clone, Default)]
pub struct HeaderInput {
    pub key: String,
    pub value: Vec<u8>,
    pub header_type: i32,
}

/// CreateLLMIntegration as sent; enum numbers already checked at the edge, `provider` derived
/// there from the models.
#[derive(Debug, Clone, Default)]
pub struct CreateLlmInput {
    pub runner_id: String,
    pub models: Vec<i32>,
    pub provider: i32,
    pub endpoint: String,
    pub api_key: String,
    pub max_tokens: u64,
}

#[derive(Debug, Clone, Default)]
pub struct UpdateLlmInput {
    pub id: String,
    pub endpoint: Option<String>,
    /// Empty means "no change".
    pub models: Vec<i32>,
    pub provider: Option<i32>,
    pub api_key: Option<String>,
    pub max_tokens: Option<u64>,
    pub phase: Option<i32>,
    /// Replaces the headers (an empty list removes them).
    pub request_headers: Vec<HeaderInput>,
}

#[derive(Clone)]
pub struct LlmIntegrations {
    store: Arc<dyn Store>,
    runners: Runners,
    page_tokens: PageTokens,
    turns: Turns,
}

fn sealed_headers(runner: &Runner, headers: &[HeaderInput]) -> Result<Vec<LlmRequestHeader>> {
    let mut v = Violations::default();
    for (i, h) in headers.iter().enumerate() {
        v.check(validate::length(&format!("requestHeaders[{i}].key"), &h.key, 1, 256));
    }
    v.finish()?;
    headers
        .iter()
        .map(|h| {
            Ok(LlmRequestHeader {
                key: h.key.clone(),
                sealed_value: seal(runner, &String::from_utf8_lossy(&h.value))?,
                header_type: h.header_type,
            })
        })
        .collect()
}

impl LlmIntegrations {
    pub fn new(store: Arc<dyn Store>, runners: Runners, page_tokens: PageTokens) -> Self {
        let turns = Turns::new(store.clone(), Resource::LlmIntegration);
        Self { store, runners, page_tokens, turns }
    }

    pub async fn create(&self, caller: &Caller, input: CreateLlmInput) -> Result<Uuid> {
        let mut v = Violations::default();
        let runner_id = v.check(validate::uuid("runnerId", &input.runner_id));
        if input.models.is_empty() {
            v.push(crate::FieldViolation::new("models", "needs at least one model"));
        }
        v.check(validate::check_url("endpoint", &input.endpoint));
        v.check(validate::length("apiKey", &input.api_key, 1, 16 * 1024));
        v.finish()?;
        let runner = self.runners.load_for(caller, runner_id.expect("checked"), RunnerAccess::Admin).await?;
        let now = Timestamp::now();
        let integration = LlmIntegration {
            id: Uuid::now_v7(),
            runner_id: runner.id,
            body: LlmIntegrationBody {
                models: input.models,
                endpoint: input.endpoint,
                encrypted_api_key: seal(&runner, &input.api_key)?,
                max_tokens: input.max_tokens,
                phase: PHASE_AVAILABLE,
                phase_reason: String::new(),
                request_headers: Vec::new(),
                provider: input.provider,
            },
            created_at: now,
            updated_at: now,
            revision: 1,
        };
        self.store.insert_llm_integration(&integration).await?;
        self.runners.published_part(&runner, EventResource::LlmIntegration, integration.id, Operation::Create);
        Ok(integration.id)
    }

    async fn load_for(&self, caller: &Caller, id: &str, needed: RunnerAccess) -> Result<(LlmIntegration, Runner)> {
        let id = validate::uuid(ID_FIELD, id)?;
        let missing = || CoreError::not_found(Resource::LlmIntegration, id);
        let integration = self.store.get_llm_integration(id).await?.ok_or_else(missing)?;
        let runner = self.runners.parent_of(caller, integration.runner_id, needed, missing()).await?;
        Ok((integration, runner))
    }

    pub async fn get(&self, caller: &Caller, id: &str) -> Result<LlmIntegration> {
        Ok(self.load_for(caller, id, RunnerAccess::User).await?.0)
    }

    pub async fn list(
        &self,
        caller: &Caller,
        runner_ids: &[String],
        page_size: i32,
        token: &str,
    ) -> Result<Page<LlmIntegration>> {
        let (size, runner_ids, after) = self.page_tokens.runner_scoped(LIST_KIND, page_size, runner_ids, token)?;
        let items = self.store.list_llm_integrations(&Visibility::of(caller), &runner_ids, after, size + 1).await?;
        Ok(self.page_tokens.page(LIST_KIND, &runner_ids, items, size, |item| item.id))
    }

    pub async fn update(&self, caller: &Caller, deadline: Deadline, input: UpdateLlmInput) -> Result<()> {
        let mut v = Violations::default();
        if let Some(e) = &input.endpoint {
            v.check(validate::check_url("endpoint", e));
        }
        if let Some(k) = &input.api_key {
            v.check(validate::length("apiKey", k, 1, 16 * 1024));
        }
        v.finish()?;
        let mut turn = self.turns.take(validate::uuid(ID_FIELD, &input.id)?, deadline).await?;
        loop {
            let (mut integration, runner) = self.load_for(caller, &input.id, RunnerAccess::Admin).await?;
            let body = &mut integration.body;
            if let Some(e) = &input.endpoint {
                body.endpoint = e.clone();
            }
            if !input.models.is_empty() {
                body.models = input.models.clone();
            }
            if let Some(p) = input.provider {
                body.provider = p;
            }
            if let Some(k) = &input.api_key {
                body.encrypted_api_key = seal(&runner, k)?;
            }
            if let Some(m) = input.max_tokens {
                body.max_tokens = m;
            }
            if let Some(p) = input.phase {
                body.phase = p;
            }
            body.request_headers = sealed_headers(&runner, &input.request_headers)?;
            integration.updated_at = Timestamp::now().max(integration.updated_at);
            integration.revision += 1;
            if self.store.update_llm_integration(&integration).await? == WriteOutcome::Written {
                self.runners.published_part(&runner, EventResource::LlmIntegration, integration.id, Operation::Update);
                return Ok(());
            }
            turn.lost_race().await?;
        }
    }

    /// Deletes an integration. Nothing in this server depends on one, so `force` changes nothing.
    pub async fn delete(&self, caller: &Caller, id: &str) -> Result<()> {
        let (integration, runner) = self.load_for(caller, id, RunnerAccess::Admin).await?;
        if self.store.delete_llm_integration(integration.id).await? {
            self.runners.published_part(&runner, EventResource::LlmIntegration, integration.id, Operation::Delete);
            Ok(())
        } else {
            Err(CoreError::not_found(Resource::LlmIntegration, integration.id))
        }
    }
}
