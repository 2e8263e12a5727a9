//! Personal access tokens of members, stored only as hashes.

use async_trait::async_trait;
use uuid::Uuid;

use super::StoreError;
use crate::identity::{AccessTokenInfo, Group, Member};
use crate::time::Timestamp;

#[async_trait]
pub trait AccessTokenRepo: Send + Sync {
    /// Stores a personal access token by its hash.
    async fn insert_access_token(&self, token: &AccessTokenInfo, hash: &[u8]) -> Result<(), StoreError>;
    /// `false` when there is no such token or it was revoked before.
    async fn revoke_access_token(&self, id: Uuid, at: Timestamp) -> Result<bool, StoreError>;
    async fn list_access_tokens(&self, org_id: Uuid) -> Result<Vec<AccessTokenInfo>, StoreError>;
    /// The token with this hash, its member, and every group the member is in (the
    /// organization's `org-members` group included).
    async fn resolve_access_token(
        &self,
        hash: &[u8],
    ) -> Result<Option<(AccessTokenInfo, Member, Vec<Group>)>, StoreError>;
}
