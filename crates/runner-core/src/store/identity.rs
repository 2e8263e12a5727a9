//! Organizations, their members (users and service accounts) and groups.

use async_trait::async_trait;
use uuid::Uuid;

use super::StoreError;
use crate::identity::{Group, Member, OrgRole, Organization};
use crate::model::Runner;

/// A change to a member that can take away an organization's last active admin
/// ([`IdentityRepo::change_member`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberChange {
    Role(OrgRole),
    Suspended(bool),
    /// The member goes, with its tokens, group memberships and the host tokens it owns.
    Delete,
}

/// What [`IdentityRepo::change_member`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemberChanged {
    /// Done; the member as it was before.
    Done(Member),
    NotFound,
    /// Refused: the member is the last user of its organization who is an admin and not
    /// suspended, and the change would leave the organization without one. Nothing changed.
    LastAdmin(Member),
}

#[async_trait]
pub trait IdentityRepo: Send + Sync {
    /// Creates an organization together with its `org-members` system group, its
    /// local-configuration runner and, if given, its first member, atomically.
    async fn create_organization(
        &self,
        org: &Organization,
        members_group: &Group,
        local_configuration: &Runner,
        first_member: Option<&Member>,
    ) -> Result<(), StoreError>;
    async fn get_organization(&self, id: Uuid) -> Result<Option<Organization>, StoreError>;
    async fn list_organizations(&self) -> Result<Vec<Organization>, StoreError>;
    /// Writes the name and `updated_at`; `false` when there is no such organization,
    /// `AlreadyExists` when another has the name.
    async fn update_organization(&self, org: &Organization) -> Result<bool, StoreError>;
    /// Deletes an organization and everything of it (runners and what they hold, members,
    /// tokens, groups, role assignments) in one transaction; `false` when there is none.
    async fn delete_organization(&self, id: Uuid) -> Result<bool, StoreError>;
    async fn create_member(&self, member: &Member) -> Result<(), StoreError>;
    async fn get_member(&self, id: Uuid) -> Result<Option<Member>, StoreError>;
    async fn list_members(&self, org_id: Uuid) -> Result<Vec<Member>, StoreError>;
    /// Changes a member's role, suspension or existence, checking in the same transaction
    /// (serialized per organization) that its organization keeps a user who is an admin and
    /// not suspended whenever the member is one now.
    async fn change_member(&self, member_id: Uuid, change: MemberChange) -> Result<MemberChanged, StoreError>;
    async fn create_group(&self, group: &Group) -> Result<(), StoreError>;
    async fn get_group(&self, id: Uuid) -> Result<Option<Group>, StoreError>;
    async fn list_groups(&self, org_id: Uuid) -> Result<Vec<Group>, StoreError>;
    /// Adds a member to a (non-system) group, returning the new membership's id;
    /// `AlreadyExists` when it is in already.
    async fn add_group_member(&self, group_id: Uuid, member_id: Uuid) -> Result<Uuid, StoreError>;
    /// How many members each group of the organization has by membership (the groups with
    /// none are left out; the `org-members` group holds every member without memberships).
    async fn count_group_members(&self, org_id: Uuid) -> Result<Vec<(Uuid, u64)>, StoreError>;
    /// Every group membership of the organization's groups: `(group id, member id)`, ordered.
    async fn list_group_memberships(&self, org_id: Uuid) -> Result<Vec<(Uuid, Uuid)>, StoreError>;
}
