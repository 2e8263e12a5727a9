//! The deployment itself: facts every replica shares, and the store's own health.

use async_trait::async_trait;

use super::StoreError;

#[async_trait]
pub trait ServerRepo: Send + Sync {
    /// Records the server key's fingerprint if the database has none yet, and returns the one
    /// on record (the first replica's).
    async fn key_fingerprint(&self, fingerprint: &str) -> Result<String, StoreError>;

    /// Connections of the pool: `(open, idle)`.
    fn pool_usage(&self) -> (u32, u32);

    /// Whether the store answers; used by health checks.
    async fn ping(&self) -> Result<(), StoreError>;
}
