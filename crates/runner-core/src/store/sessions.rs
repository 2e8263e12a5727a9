//! SSO sign-ins in progress (their `state`, one use) and the console sessions they end in,
//! both stored by the hash of their secret.

use async_trait::async_trait;

use super::StoreError;
use crate::identity::{ConsoleSession, Group, Member, SsoLoginState};
use crate::time::Timestamp;

#[async_trait]
pub trait SessionRepo: Send + Sync {
    /// Stores a sign-in in progress by the hash of its state (and drops those expired before
    /// its `created_at`). `AlreadyExists` when the hash is taken.
    async fn insert_login_state(&self, state: &SsoLoginState, hash: &[u8]) -> Result<(), StoreError>;
    /// Removes the sign-in with this state hash and returns it if it had not expired at `now`:
    /// of two callers with one state, one gets it.
    async fn take_login_state(&self, hash: &[u8], now: Timestamp) -> Result<Option<SsoLoginState>, StoreError>;
    /// Stores a session by its token's hash. `AlreadyExists` when the hash or id is taken.
    async fn insert_session(&self, session: &ConsoleSession, hash: &[u8]) -> Result<(), StoreError>;
    /// The session with this token hash that has not expired at `now`, its member, and every
    /// group the member is in (the `org-members` group included).
    async fn resolve_session(
        &self,
        hash: &[u8],
        now: Timestamp,
    ) -> Result<Option<(ConsoleSession, Member, Vec<Group>)>, StoreError>;
    /// Ends the session with this token hash; `false` when there was none.
    async fn delete_session(&self, hash: &[u8]) -> Result<bool, StoreError>;
    /// Deletes the sessions and the sign-ins in progress that expired at or before `now` (they
    /// no longer resolve, but would stay stored); how many.
    async fn prune_sessions(&self, now: Timestamp) -> Result<u64, StoreError>;
}
