//! Persistence for the runner API.
//!
//! [`SqliteStore`] implements [`runner_core::store::Store`] on an embedded SQLite database (the
//! default). Database errors become [`StoreError`]s in one place ([`error`]). The conformance
//! suite in [`testing`] states every storage behaviour once; each backend runs it.

mod error;
mod rows;
pub mod sqlite;
#[cfg(any(test, feature = "testing"))]
pub mod testing;

pub use runner_core::store::{Store, StoreError};
pub use sqlite::SqliteStore;

use std::sync::Arc;

/// Opens the store named by a database URL (`sqlite://path`, `sqlite::memory:`) and runs its
/// migrations.
pub async fn open(url: &str) -> Result<Arc<dyn Store>, StoreError> {
    if url.starts_with("sqlite:") {
        Ok(Arc::new(SqliteStore::open(url).await?))
    } else {
        Err(StoreError::Other(format!(
            "unsupported database URL {:?}: expected sqlite://PATH",
            url.split(':').next().unwrap_or_default()
        )))
    }
}
