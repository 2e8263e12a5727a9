//! Runners.

use async_trait::async_trait;
use uuid::Uuid;

use super::{NewRunnerToken, StoreError, WriteOutcome};
use crate::authz::Visibility;
use crate::model::{Runner, RunnerFilter, RunnerPhase};

#[async_trait]
pub trait RunnerRepo: Send + Sync {
    /// Inserts a runner and its first exchange token atomically.
    async fn insert_runner(&self, runner: &Runner, token: &NewRunnerToken) -> Result<(), StoreError>;

    async fn get_runner(&self, id: Uuid) -> Result<Option<Runner>, StoreError>;

    /// Runners visible under `visibility` and passing `filter`, ordered by id (time-ordered
    /// UUIDv7), after `after`, at most `limit` of them.
    async fn list_runners(
        &self,
        visibility: &Visibility,
        filter: &RunnerFilter,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<Runner>, StoreError>;

    /// Writes `runner` (its `revision` already bumped) only if the stored revision is
    /// `runner.revision - 1`.
    async fn update_runner(&self, runner: &Runner) -> Result<WriteOutcome, StoreError>;

    /// Removes a runner and everything that belongs to it. `false` when it was already gone.
    async fn delete_runner(&self, id: Uuid) -> Result<bool, StoreError>;

    /// How many runners are in each phase, over every organization (for metrics).
    async fn count_runners_by_phase(&self) -> Result<Vec<(RunnerPhase, u64)>, StoreError>;
}
