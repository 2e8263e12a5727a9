//! SCM integrations of runners.

use async_trait::async_trait;
use uuid::Uuid;

use super::{StoreError, WriteOutcome};
use crate::authz::Visibility;
use crate::model::{HostTokenSource, ScmIntegration};

#[async_trait]
pub trait ScmIntegrationRepo: Send + Sync {
    /// `AlreadyExists` when the runner has an integration for that host.
    async fn insert_scm_integration(&self, integration: &ScmIntegration) -> Result<(), StoreError>;
    async fn get_scm_integration(&self, id: Uuid) -> Result<Option<ScmIntegration>, StoreError>;
    /// Integrations on runners visible under `visibility` (restricted to `runner_ids` unless
    /// empty), by id, after `after`.
    async fn list_scm_integrations(
        &self,
        visibility: &Visibility,
        runner_ids: &[Uuid],
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<ScmIntegration>, StoreError>;
    /// Writes `integration` (revision bumped) only if the stored revision is one less, and in
    /// the same transaction deletes the runner's host tokens for its host whose source is in
    /// `revoke_sources`.
    async fn update_scm_integration(
        &self,
        integration: &ScmIntegration,
        revoke_sources: &[HostTokenSource],
    ) -> Result<WriteOutcome, StoreError>;
    /// Deletes the integration and the runner's host tokens for its host. `false` when gone.
    async fn delete_scm_integration(&self, integration: &ScmIntegration) -> Result<bool, StoreError>;
}
