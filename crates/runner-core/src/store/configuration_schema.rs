//! The configuration schema a runner reported.

use async_trait::async_trait;
use uuid::Uuid;

use super::StoreError;
use crate::schema::RunnerConfigurationSchema;

#[async_trait]
pub trait ConfigurationSchemaRepo: Send + Sync {
    /// The schema the runner reported, if it did.
    async fn get_runner_schema(&self, runner_id: Uuid) -> Result<Option<RunnerConfigurationSchema>, StoreError>;
    /// Stores the schema a runner reported. `false` when the runner is gone.
    async fn set_runner_schema(&self, runner_id: Uuid, schema: &RunnerConfigurationSchema) -> Result<bool, StoreError>;
}
