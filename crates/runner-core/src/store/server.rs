//! The deployment itself: facts every replica shares, and the store's own health.

use std::time::Duration;

use async_trait::async_trait;
use uuid::Uuid;

use super::{StoreError, WriteTurn};

#[async_trait]
pub trait ServerRepo: Send + Sync {
    /// Records the server key's fingerprint if the database has none yet, and returns the one
    /// on record (the first replica's).
    async fn key_fingerprint(&self, fingerprint: &str) -> Result<String, StoreError>;

    /// Waits up to `wait` for the turn to write the row `key` across every process that shares
    /// this store, and takes it: until the returned turn is dropped, another process's call for
    /// the same key waits (keys of different rows do not). `None` when `wait` passed first. A
    /// backend that one process writes answers at once with [`WriteTurn::single_process`].
    async fn write_turn(&self, key: Uuid, wait: Duration) -> Result<Option<WriteTurn>, StoreError>;

    /// Connections of the pool: `(open, idle)`.
    fn pool_usage(&self) -> (u32, u32);

    /// Whether the store answers; used by health checks.
    async fn ping(&self) -> Result<(), StoreError>;
}
