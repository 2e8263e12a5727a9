//! Persistence for the runner API.
//!
//! [`SqliteStore`] implements the per-entity storage traits of [`runner_core::store`] (and so
//! [`Store`]) on an embedded SQLite database (the default), [`PostgresStore`] on PostgreSQL for
//! several replicas; both come from one body of SQL ([`sql_store`]). SQLite's fast paths (group
//! commit for creates, inline rusqlite readers for GetRunner and ListRunners) live in
//! [`sqlite`] alone, in front of the shared SQL. Database errors become [`StoreError`]s in one
//! place ([`error`]).
//!
//! The conformance suite in [`testing`] states every storage behaviour once, one file per
//! entity, and runs on SQLite (a file database, with the fast paths, and an in-memory one,
//! without) and on PostgreSQL. It covers every method of every trait: round trips of every
//! field (the sealed and at-rest-encrypted bytes of SCM integrations, host tokens and LLM
//! integrations unchanged), unknown ids, uniqueness (`AlreadyExists`, and nothing left
//! behind), conditional updates (a stale or missing revision is `WriteOutcome::Conflict` and
//! changes nothing), the visibility rules and filters of every list, paging with
//! `after`/`limit`, what `delete_runner` takes with it, the host tokens that SCM integration
//! updates and deletes revoke, exchange-token redemption (once, atomically), organizations
//! created whole, counts by phase, the key fingerprint, `ping` and `pool_usage`. Each case names
//! the methods it checks; the suite fails when a case does not call one it names, or when a
//! method of `Store` has no case (`testing::coverage`).

mod error;
mod group_commit;
mod metrics;
mod rows;
#[macro_use]
mod sql_store;
pub mod postgres;
pub mod sqlite;
mod sqlite_read;
#[cfg(any(test, feature = "testing"))]
pub mod testing;

pub use postgres::PostgresStore;
pub use runner_core::store::{Store, StoreError};
pub use sqlite::SqliteStore;

use std::sync::Arc;

/// Opens the store named by a database URL and runs its migrations: `sqlite://PATH` or
/// `sqlite::memory:` (embedded, the default), `postgres://…` or `postgresql://…` (shared by
/// several replicas).
pub async fn open(url: &str) -> Result<Arc<dyn Store>, StoreError> {
    if url.starts_with("sqlite:") {
        Ok(Arc::new(SqliteStore::open(url).await?))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(PostgresStore::open(url).await?))
    } else {
        Err(StoreError::Other(format!(
            "unsupported database URL scheme {:?}: expected sqlite://PATH or postgres://USER@HOST/DATABASE",
            url.split(':').next().unwrap_or_default()
        )))
    }
}
