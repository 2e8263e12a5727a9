//! Access tokens of members (users' personal access tokens, service accounts' tokens), stored
//! only as hashes.

use async_trait::async_trait;
use uuid::Uuid;

use super::StoreError;
use crate::identity::{AccessTokenInfo, Group, Member};
use crate::time::Timestamp;

#[async_trait]
pub trait AccessTokenRepo: Send + Sync {
    /// Stores an access token by its hash.
    async fn insert_access_token(&self, token: &AccessTokenInfo, hash: &[u8]) -> Result<(), StoreError>;
    async fn get_access_token(&self, id: Uuid) -> Result<Option<AccessTokenInfo>, StoreError>;
    /// Every token of an organization (revoked ones of earlier versions too), in creation order.
    async fn list_access_tokens(&self, org_id: Uuid) -> Result<Vec<AccessTokenInfo>, StoreError>;
    /// The tokens of these members that were not revoked, ordered by id, after `after`, at most
    /// `limit`.
    async fn list_member_access_tokens(
        &self,
        member_ids: &[Uuid],
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<AccessTokenInfo>, StoreError>;
    /// `false` when there is no such token.
    async fn delete_access_token(&self, id: Uuid) -> Result<bool, StoreError>;
    /// Records that the token authenticated at `at`.
    async fn touch_access_token(&self, id: Uuid, at: Timestamp) -> Result<(), StoreError>;
    /// The token with this hash, its member, and every group the member is in (the
    /// organization's `org-members` group included).
    async fn resolve_access_token(
        &self,
        hash: &[u8],
    ) -> Result<Option<(AccessTokenInfo, Member, Vec<Group>)>, StoreError>;
}
