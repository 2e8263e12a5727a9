//! Organizations, their members (users and service accounts) and groups.

use async_trait::async_trait;
use uuid::Uuid;

use super::StoreError;
use crate::identity::{Group, Member, OrgRole, Organization};
use crate::model::Runner;

#[async_trait]
pub trait IdentityRepo: Send + Sync {
    /// Creates an organization together with its `org-members` system group and its
    /// local-configuration runner, atomically.
    async fn create_organization(
        &self,
        org: &Organization,
        members_group: &Group,
        local_configuration: &Runner,
    ) -> Result<(), StoreError>;
    async fn list_organizations(&self) -> Result<Vec<Organization>, StoreError>;
    async fn create_member(&self, member: &Member) -> Result<(), StoreError>;
    async fn get_member(&self, id: Uuid) -> Result<Option<Member>, StoreError>;
    async fn list_members(&self, org_id: Uuid) -> Result<Vec<Member>, StoreError>;
    /// `false` when there is no such member.
    async fn set_member_role(&self, member_id: Uuid, role: OrgRole) -> Result<bool, StoreError>;
    /// `false` when there is no such member.
    async fn set_member_suspended(&self, member_id: Uuid, suspended: bool) -> Result<bool, StoreError>;
    async fn create_group(&self, group: &Group) -> Result<(), StoreError>;
    async fn get_group(&self, id: Uuid) -> Result<Option<Group>, StoreError>;
    async fn list_groups(&self, org_id: Uuid) -> Result<Vec<Group>, StoreError>;
    /// Adds a member to a (non-system) group, returning the new membership's id;
    /// `AlreadyExists` when it is in already.
    async fn add_group_member(&self, group_id: Uuid, member_id: Uuid) -> Result<Uuid, StoreError>;
    /// How many members each group of the organization has by membership (the groups with
    /// none are left out; the `org-members` group holds every member without memberships).
    async fn count_group_members(&self, org_id: Uuid) -> Result<Vec<(Uuid, u64)>, StoreError>;
}
