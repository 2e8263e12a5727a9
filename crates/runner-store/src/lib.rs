//! Persistence for the runner API.
//!
//! [`SqliteStore`] implements [`runner_core::store::Store`] on an embedded SQLite database (the
//! default), [`PostgresStore`] on PostgreSQL for several replicas; both come from one body of
//! SQL ([`sql_store`]). Database errors become [`StoreError`]s in one place ([`error`]). The conformance
//! suite in [`testing`] states every storage behaviour once; each backend runs it.

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
