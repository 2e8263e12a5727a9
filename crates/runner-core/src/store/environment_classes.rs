//! Environment classes of runners.

use async_trait::async_trait;
use uuid::Uuid;

use super::{StoreError, WriteOutcome};
use crate::authz::Visibility;
use crate::model::{EnvironmentClass, EnvironmentClassFilter};

#[async_trait]
pub trait EnvironmentClassRepo: Send + Sync {
    async fn insert_environment_class(&self, class: &EnvironmentClass) -> Result<(), StoreError>;
    async fn get_environment_class(&self, id: Uuid) -> Result<Option<EnvironmentClass>, StoreError>;
    /// Classes on runners visible under `visibility` passing `filter`, by id, after `after`.
    async fn list_environment_classes(
        &self,
        visibility: &Visibility,
        filter: &EnvironmentClassFilter,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<EnvironmentClass>, StoreError>;
    /// Writes `class` (revision already bumped) only if the stored revision is one less.
    async fn update_environment_class(&self, class: &EnvironmentClass) -> Result<WriteOutcome, StoreError>;
}
