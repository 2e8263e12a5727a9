//! LLM integrations of runners.

use async_trait::async_trait;
use uuid::Uuid;

use super::{StoreError, WriteOutcome};
use crate::authz::Visibility;
use crate::model::LlmIntegration;

#[async_trait]
pub trait LlmIntegrationRepo: Send + Sync {
    async fn insert_llm_integration(&self, integration: &LlmIntegration) -> Result<(), StoreError>;
    async fn get_llm_integration(&self, id: Uuid) -> Result<Option<LlmIntegration>, StoreError>;
    /// Integrations on runners visible under `visibility` (restricted to `runner_ids` unless
    /// empty), by id, after `after`.
    async fn list_llm_integrations(
        &self,
        visibility: &Visibility,
        runner_ids: &[Uuid],
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<LlmIntegration>, StoreError>;
    /// Writes `integration` (revision bumped) only if the stored revision is one less.
    async fn update_llm_integration(&self, integration: &LlmIntegration) -> Result<WriteOutcome, StoreError>;
    /// `false` when it was gone already.
    async fn delete_llm_integration(&self, id: Uuid) -> Result<bool, StoreError>;
}
