//! Storage ports. The backends (`runner-store`) implement [`Store`]; the use cases only see
//! this trait and domain types.

use async_trait::async_trait;
use uuid::Uuid;

use crate::model::{Runner, RunnerFilter};
use crate::time::Timestamp;

/// What a backend can fail with. Produced only by the store adapters.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique key is taken.
    #[error("already exists")]
    AlreadyExists,
    /// The database is unreachable or overloaded (busy, pool exhausted, connection lost).
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    /// Anything else: a bug, a corrupt row, a failed migration.
    #[error("storage error: {0}")]
    Other(String),
}

/// Purpose of a server-minted runner token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunnerTokenKind {
    /// One-time token the runner process trades for its own credentials.
    Exchange,
}

impl RunnerTokenKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RunnerTokenKind::Exchange => "exchange",
        }
    }
}

/// A token to store: only its hash.
#[derive(Debug, Clone)]
pub struct NewRunnerToken {
    pub hash: Vec<u8>,
    pub runner_id: Uuid,
    pub kind: RunnerTokenKind,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

/// Outcome of a conditional write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteOutcome {
    Written,
    /// The row changed since it was read (its revision moved on), or is gone.
    Conflict,
}

/// Everything the use cases persist.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Inserts a runner and its first exchange token atomically.
    async fn insert_runner(
        &self,
        runner: &Runner,
        token: &NewRunnerToken,
    ) -> Result<(), StoreError>;

    async fn get_runner(&self, id: Uuid) -> Result<Option<Runner>, StoreError>;

    /// Runners passing `filter`, ordered by id (time-ordered UUIDv7), after `after`, at most
    /// `limit` of them.
    async fn list_runners(
        &self,
        filter: &RunnerFilter,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<Runner>, StoreError>;

    /// Writes `runner` (its `revision` already bumped) only if the stored revision is
    /// `runner.revision - 1`.
    async fn update_runner(&self, runner: &Runner) -> Result<WriteOutcome, StoreError>;

    /// Removes a runner and everything that belongs to it. `false` when it was already gone.
    async fn delete_runner(&self, id: Uuid) -> Result<bool, StoreError>;

    /// Stores another token for an existing runner.
    async fn insert_runner_token(&self, token: &NewRunnerToken) -> Result<(), StoreError>;

    /// Whether the store answers; used by health checks.
    async fn ping(&self) -> Result<(), StoreError>;
}
