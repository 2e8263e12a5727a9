//! Invites of organizations: the link an admin shares, whose id lets a person join. An
//! organization has at most one current invite (`OrganizationInvite`); its invites go with it.

use async_trait::async_trait;
use uuid::Uuid;

use super::StoreError;
use crate::identity::OrganizationInvite;

#[async_trait]
pub trait InviteRepo: Send + Sync {
    /// Makes `invite` its organization's current invite: the organization's previous invite,
    /// if any, is replaced in the same statement and its id no longer found. Fails when the
    /// organization does not exist.
    async fn create_invite(&self, invite: &OrganizationInvite) -> Result<(), StoreError>;
    /// The current invite of `candidate`'s organization; when it has none, `candidate` is
    /// stored as its current invite and returned (of two callers at once, both get the one
    /// stored first). Fails when the organization does not exist.
    async fn get_or_create_invite(&self, candidate: &OrganizationInvite) -> Result<OrganizationInvite, StoreError>;
    /// The invite with this id, if it is its organization's current one.
    async fn get_invite(&self, id: Uuid) -> Result<Option<OrganizationInvite>, StoreError>;
}
