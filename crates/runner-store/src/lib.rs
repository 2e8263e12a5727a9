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
mod runner_encoding;
#[macro_use]
mod sql_store;
pub mod pg_events;
#[macro_use]
mod sso_store;
#[macro_use]
mod invite_store;
#[macro_use]
mod account_store;
#[macro_use]
mod session_store;
pub mod postgres;
pub mod sqlite;
mod sqlite_read;
mod sqlite_write;
#[cfg(any(test, feature = "testing"))]
pub mod testing;

pub use postgres::PostgresStore;
pub use runner_core::store::{Store, StoreError};
pub use sqlite::SqliteStore;

use std::sync::Arc;

/// Opens the store named by a database URL and runs its migrations: `sqlite://PATH` or
/// `sqlite::memory:` (embedded, the default), `postgres://…` or `postgresql://…` (shared by
/// several replicas). A SQLite database that does not exist is created.
pub async fn open(url: &str) -> Result<Arc<dyn Store>, StoreError> {
    Ok(open_or_create(url).await?.store)
}

/// A store, opened and migrated, and what opening it found.
pub struct Opened {
    pub store: Arc<dyn Store>,
    /// The database was new: a SQLite file created now (or an in-memory database), or a
    /// PostgreSQL database whose migrations ran from the first.
    pub created: bool,
    /// The SQLite database file, as an absolute path; `None` for PostgreSQL and in memory.
    pub file: Option<std::path::PathBuf>,
}

/// Like [`open`], saying whether the database was new and where its file is.
pub async fn open_or_create(url: &str) -> Result<Opened, StoreError> {
    Ok(open_as(url, true).await?.expect("opened with create"))
}

/// Like [`open_or_create`] for a database that must already exist: `None`, and nothing created
/// or changed, when the URL names a SQLite file that does not exist or a database this crate
/// never migrated (and for `sqlite::memory:`, which is always new).
pub async fn open_existing(url: &str) -> Result<Option<Opened>, StoreError> {
    open_as(url, false).await
}

/// Migrates the database behind `pool`, and says whether it was new: whether `probe` (a query
/// answering whether sqlx's migrations table exists) said no. Without `create`, a database that
/// was never migrated is left as it was: `None`, and the pool closed.
async fn migrate_unless_foreign<DB>(
    pool: &sqlx::Pool<DB>,
    migrator: &sqlx::migrate::Migrator,
    probe: &str,
    create: bool,
    map: fn(sqlx::Error) -> StoreError,
) -> Result<Option<bool>, StoreError>
where
    DB: sqlx::Database,
    DB::Connection: sqlx::migrate::Migrate,
    bool: sqlx::Type<DB> + for<'r> sqlx::Decode<'r, DB>,
    usize: sqlx::ColumnIndex<DB::Row>,
    for<'c> &'c sqlx::Pool<DB>: sqlx::Executor<'c, Database = DB>,
    for<'q> <DB as sqlx::Database>::Arguments<'q>: sqlx::IntoArguments<'q, DB>,
{
    let migrated: bool = sqlx::query_scalar(probe).fetch_one(pool).await.map_err(map)?;
    if !create && !migrated {
        pool.close().await;
        return Ok(None);
    }
    migrator.run(pool).await.map_err(|e| StoreError::Other(format!("migration failed: {e}")))?;
    Ok(Some(!migrated))
}

async fn open_as(url: &str, create: bool) -> Result<Option<Opened>, StoreError> {
    if url.starts_with("sqlite:") {
        let file = sqlite_file(url);
        Ok(SqliteStore::open_with(url, create).await?.map(|(store, created)| Opened {
            store: Arc::new(store),
            created,
            file,
        }))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        use std::str::FromStr;
        let options = sqlx::postgres::PgConnectOptions::from_str(url)
            .map_err(|e| StoreError::Other(format!("bad PostgreSQL URL: {e}")))?;
        Ok(PostgresStore::open_checked(options, create).await?.map(|(store, created)| Opened {
            store: Arc::new(store),
            created,
            file: None,
        }))
    } else {
        Err(StoreError::Other(format!(
            "unsupported database URL scheme {:?}: expected sqlite://PATH or postgres://USER@HOST/DATABASE",
            url.split(':').next().unwrap_or_default()
        )))
    }
}

/// The absolute path of a SQLite URL's file (relative paths are the working directory's), or
/// `None` in memory.
pub fn sqlite_file(url: &str) -> Option<std::path::PathBuf> {
    use std::str::FromStr;
    if url.contains(":memory:") || url.contains("mode=memory") {
        return None;
    }
    let options = sqlx::sqlite::SqliteConnectOptions::from_str(url).ok()?;
    std::path::absolute(options.get_filename()).ok()
}
