//! Host authentication tokens: a subject's SCM credential for one runner and host, kept as
//! ciphertext that the store never interprets.

use async_trait::async_trait;
use uuid::Uuid;

use super::{StoreError, WriteOutcome};
use crate::authz::Visibility;
use crate::model::HostToken;

#[async_trait]
pub trait HostTokenRepo: Send + Sync {
    /// `AlreadyExists` when the subject has a token for that runner and host.
    async fn insert_host_token(&self, token: &HostToken) -> Result<(), StoreError>;
    async fn get_host_token(&self, id: Uuid) -> Result<Option<HostToken>, StoreError>;
    /// Tokens on runners visible under `visibility`, of `subject` when given, of `runner` when
    /// given, by id, after `after`.
    async fn list_host_tokens(
        &self,
        visibility: &Visibility,
        runner: Option<Uuid>,
        subject: Option<Uuid>,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<HostToken>, StoreError>;
    /// Writes `token`'s source, values, expiry, integration and scopes (its revision bumped)
    /// only if the stored revision is one less.
    async fn update_host_token(&self, token: &HostToken) -> Result<WriteOutcome, StoreError>;
    /// `false` when it was gone already.
    async fn delete_host_token(&self, id: Uuid) -> Result<bool, StoreError>;
}
