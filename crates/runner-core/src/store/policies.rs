//! Runner policies: which group has which role on a runner. They are the role assignments of
//! `runner_admin` and `runner_user` on runners (`RoleAssignmentRepo`), seen as RunnerService
//! shows them: one per (runner, group).

use async_trait::async_trait;
use uuid::Uuid;

use super::StoreError;
use crate::model::{RunnerPolicy, RunnerRole};

#[async_trait]
pub trait PolicyRepo: Send + Sync {
    /// Roles of the runner's policies whose group is one of `groups`.
    async fn policy_roles(&self, runner_id: Uuid, groups: &[Uuid]) -> Result<Vec<RunnerRole>, StoreError>;
    /// A runner's policies ordered by group id, after `after`, at most `limit`.
    async fn list_runner_policies(
        &self,
        runner_id: Uuid,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<RunnerPolicy>, StoreError>;
    /// `AlreadyExists` when the runner has a policy for that group.
    async fn insert_runner_policy(&self, policy: &RunnerPolicy) -> Result<(), StoreError>;
    /// `false` when there is no such policy.
    async fn update_runner_policy(&self, policy: &RunnerPolicy) -> Result<bool, StoreError>;
    /// `false` when there is no such policy.
    async fn delete_runner_policy(&self, runner_id: Uuid, group_id: Uuid) -> Result<bool, StoreError>;
}
