//! Changing and removing groups, and their memberships (GroupService). Groups are created and
//! filled through `IdentityRepo`.

use async_trait::async_trait;
use uuid::Uuid;

use super::StoreError;
use crate::identity::{Group, Membership};

#[async_trait]
pub trait GroupRepo: Send + Sync {
    /// Writes a group's name, description and `updated_at`; `false` when there is no such
    /// group, `AlreadyExists` when another group of its organization has the name.
    async fn update_group(&self, group: &Group) -> Result<bool, StoreError>;
    /// Deletes a group with its memberships and its role assignments (so its runner policies),
    /// in one transaction; `false` when there is no such group.
    async fn delete_group(&self, id: Uuid) -> Result<bool, StoreError>;
    async fn get_membership(&self, id: Uuid) -> Result<Option<Membership>, StoreError>;
    /// A group's memberships, ordered by id.
    async fn list_memberships(&self, group_id: Uuid) -> Result<Vec<Membership>, StoreError>;
    /// `false` when there is no such membership.
    async fn delete_membership(&self, id: Uuid) -> Result<bool, StoreError>;
}
