//! Role assignments: which group has which role on which resource (runners, organizations).

use async_trait::async_trait;
use uuid::Uuid;

use super::StoreError;
use crate::identity::{RoleAssignment, RoleAssignmentFilter};
use crate::model::ResourceRole;

#[async_trait]
pub trait RoleAssignmentRepo: Send + Sync {
    /// `AlreadyExists` when the group has this role on the resource, or (on a runner) any role
    /// on it: a group has one role per runner, as a runner policy.
    async fn insert_role_assignment(&self, assignment: &RoleAssignment) -> Result<(), StoreError>;
    async fn get_role_assignment(&self, id: Uuid) -> Result<Option<RoleAssignment>, StoreError>;
    /// An organization's assignments matching `filter`, ordered by id, after `after`, at most
    /// `limit`.
    async fn list_role_assignments(
        &self,
        org_id: Uuid,
        filter: &RoleAssignmentFilter,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<RoleAssignment>, StoreError>;
    /// `false` when there is no such assignment.
    async fn delete_role_assignment(&self, id: Uuid) -> Result<bool, StoreError>;
    /// The roles on the organization `org_id` that any of `groups` has.
    async fn organization_roles(&self, org_id: Uuid, groups: &[Uuid]) -> Result<Vec<ResourceRole>, StoreError>;
}
