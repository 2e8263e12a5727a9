//! The embedded SQLite backend.
//!
//! Settings, chosen for durability first: WAL journal, `synchronous = FULL` (a commit is on
//! disk before the call returns), foreign keys on, and a 5 s busy timeout so that concurrent
//! writers wait for each other instead of failing; a writer still busy after that gets
//! `StoreError::Unavailable`.

use std::borrow::Cow;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use runner_core::authz::Visibility;
use runner_core::model::{Runner, RunnerFilter, RunnerPhase};
use runner_core::store::{NewRunnerToken, RunnerRepo, StoreError, WriteOutcome, WriteTurn};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use uuid::Uuid;

use crate::error::map_sqlite as map;
use crate::group_commit::GroupCommit;
use crate::metrics::QueryTimer;
use crate::rows::{RunnerColumns, RunnerFields};
use crate::sql_store::{SELECT_RUNNER, SELECT_RUNNERS_WHERE, UPDATE_RUNNER, push_list_runners};
use crate::sqlite_read::{Readers, Select};
use crate::sqlite_write::{Writer, insert_audit};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");

/// How long a writer waits for the write lock another connection holds (sqlx's connections, and
/// the writer thread's, crate::sqlite_write) before it gives up with `Unavailable`.
pub(crate) const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// A [`Store`](runner_core::store::Store) on one SQLite database file.
#[derive(Clone, Debug)]
pub struct SqliteStore {
    pool: SqlitePool,
    /// Inline point reads (a file database only: an in-memory one is private to its connection).
    readers: Option<std::sync::Arc<Readers>>,
    /// UpdateRunner's transactions, each run whole on a thread of its own (a file database
    /// only, as `readers`; crate::sqlite_write).
    writer: Option<std::sync::Arc<Writer>>,
    /// CreateRunner's writes, committed in groups (crate::group_commit).
    runner_inserts: std::sync::Arc<GroupCommit<(Runner, NewRunnerToken, Option<runner_core::audit::AuditEntry>)>>,
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `url` and migrates it. For an in-memory
    /// database every connection would see its own database, so the pool then holds one.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        let (store, _) = Self::open_with(url, true).await?.expect("opened with create");
        Ok(store)
    }

    /// Opens the database at `url` and migrates it. With `create`, a missing database file (and
    /// its directory) is created; without, a file that does not exist, or holds no database of
    /// this crate (no migrations table), is `None` and left as it was. Also says whether the
    /// database was new: whether its migrations ran from the first.
    pub async fn open_with(url: &str, create: bool) -> Result<Option<(Self, bool)>, StoreError> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|e| StoreError::Other(format!("bad SQLite URL: {e}")))?
            .create_if_missing(create)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT);
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        if !create && (in_memory || !options.get_filename().is_file()) {
            return Ok(None);
        }
        if !in_memory && let Some(dir) = options.get_filename().parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| StoreError::Other(format!("cannot create database directory {}: {e}", dir.display())))?;
        }
        let file = options.get_filename().to_owned();
        let pool = SqlitePoolOptions::new()
            .max_connections(if in_memory { 1 } else { 8 })
            .acquire_timeout(Duration::from_secs(10))
            // No ping of an idle connection before lending it: an embedded database does not
            // hang up, and an acquire cancelled during that ping drops the connection, which
            // for an in-memory database is the database.
            .test_before_acquire(false)
            .after_release(|conn, _| Box::pin(roll_back_abandoned(conn)))
            .connect_with(options)
            .await
            .map_err(map)?;
        let probe = "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations')";
        let Some(created) = crate::migrate_unless_foreign(&pool, &MIGRATOR, probe, create, map).await? else {
            return Ok(None);
        };
        let readers = (!in_memory).then(|| std::sync::Arc::new(Readers::new(&file)));
        let writer = if in_memory { None } else { Some(std::sync::Arc::new(Writer::open(&file)?)) };
        let batch_pool = pool.clone();
        let runner_inserts = std::sync::Arc::new(GroupCommit::spawn(move |batch| {
            queries::insert_runner_batch(batch_pool.clone(), batch)
        }));
        Ok(Some((Self { pool, readers, writer, runner_inserts }, created)))
    }

    /// One process writes a SQLite database, and its writers of a row take turns in the use
    /// cases (`runner_core::turns`): there is no other process to wait for.
    async fn take_write_turn(&self, _key: Uuid, _wait: Duration) -> Result<Option<WriteTurn>, StoreError> {
        Ok(Some(WriteTurn::single_process()))
    }
}

/// Rolls back the transaction of a connection that comes back to the pool inside one, so that it
/// is never lent out so (its next BEGIN would fail). sqlx 0.8's `begin_with` on SQLite can be
/// dropped after its BEGIN ran and before it made its `Transaction` (while it checks that the
/// BEGIN took): then nothing rolls that transaction back, and a caller's deadline or a client
/// that goes away drops writes at any point. A transaction dropped as usual has queued its
/// rollback already, which runs first; this one finds nothing left to do. A failed rollback
/// closes the connection.
async fn roll_back_abandoned(conn: &mut sqlx::SqliteConnection) -> Result<bool, sqlx::Error> {
    use sqlx::{Connection, TransactionManager};
    if conn.is_in_transaction() {
        tracing::debug!("rolling back the transaction of a write abandoned as it began");
        sqlx::sqlite::SqliteTransactionManager::rollback(conn).await?;
    }
    Ok(true)
}

/// SQLite takes the shared SQL as written: `?` placeholders.
fn sql(text: &str) -> Cow<'_, str> {
    Cow::Borrowed(text)
}

sql_store!(SqliteStore, Sqlite, RunnerRepo by the backend);
sso_store!(SqliteStore, Sqlite);
invite_store!(SqliteStore, Sqlite);
account_store!(SqliteStore, Sqlite);
session_store!(SqliteStore, Sqlite);

/// Runners: SQLite's fast paths first, the shared SQL (`shared_*`) for the rest. Creates are
/// group-committed (crate::group_commit); updates run whole on the writer's thread
/// (crate::sqlite_write), and GetRunner's point read and ListRunners' page on the inline readers
/// (crate::sqlite_read), of a file database, with the same query text.
#[async_trait]
impl RunnerRepo for SqliteStore {
    async fn insert_runner(&self, runner: &Runner, token: &NewRunnerToken) -> Result<(), StoreError> {
        let _timer = QueryTimer::new("insert_runner");
        // The entry is taken here, in the caller's task, and committed with the runner.
        let entry = runner_core::audit::entry(runner_core::model::AuditSubject::Runner, runner.id, Some(runner.org_id));
        self.runner_inserts.submit((runner.clone(), token.clone(), entry)).await
    }

    async fn get_runner(&self, id: Uuid) -> Result<Option<Runner>, StoreError> {
        let Some(readers) = &self.readers else { return self.shared_get_runner(id).await };
        let _timer = QueryTimer::new("get_runner");
        let id = id.to_string();
        readers.optional(SELECT_RUNNER, [&id], |row| RunnerFields::from_rusqlite(row)?.into_domain())
    }

    async fn list_runners(
        &self,
        visibility: &Visibility,
        filter: &RunnerFilter,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<Runner>, StoreError> {
        let Some(readers) = &self.readers else {
            return self.shared_list_runners(visibility, filter, after, limit).await;
        };
        let _timer = QueryTimer::new("list_runners");
        let mut q = Select::new(SELECT_RUNNERS_WHERE.to_owned());
        push_list_runners(&mut q, visibility, filter, after, limit);
        // Each row becomes a runner as it is read, its columns borrowed from SQLite's row.
        readers.all(&q, limit as usize, |row| RunnerFields::from_rusqlite(row)?.into_domain())
    }

    async fn update_runner(&self, runner: &Runner) -> Result<WriteOutcome, StoreError> {
        let Some(writer) = &self.writer else { return self.shared_update_runner(runner).await };
        let _timer = QueryTimer::new("update_runner");
        let c = RunnerColumns::from_domain(runner)?;
        let entry = runner_core::audit::entry(runner_core::model::AuditSubject::Runner, runner.id, Some(runner.org_id));
        let changed = writer
            .run(move |connection| {
                let tx = connection.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
                let changed = tx.prepare_cached(UPDATE_RUNNER)?.execute(rusqlite::params![
                    c.name,
                    c.phase,
                    c.spec_proto,
                    c.status_proto,
                    c.updated_at,
                    c.revision,
                    c.id,
                    c.revision - 1,
                ])?;
                if let Some(entry) = entry.as_ref().filter(|_| changed > 0) {
                    insert_audit(&tx, entry)?;
                }
                tx.commit()?;
                Ok(changed)
            })
            .await?;
        Ok(if changed == 1 { WriteOutcome::Written } else { WriteOutcome::Conflict })
    }

    async fn delete_runner(&self, id: Uuid) -> Result<bool, StoreError> {
        self.shared_delete_runner(id).await
    }

    async fn count_runners_by_phase(&self) -> Result<Vec<(RunnerPhase, u64)>, StoreError> {
        self.shared_count_runners_by_phase().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use runner_core::store::{ServerRepo, Store};

    #[tokio::test]
    async fn conformance_suite() {
        let dir = tempfile::tempdir().unwrap();
        let next = std::sync::atomic::AtomicUsize::new(0);
        crate::testing::run_suite(|| {
            // A fresh database file for every case.
            let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let url = format!("sqlite://{}", dir.path().join(format!("case{n}.db")).display());
            async move { std::sync::Arc::new(SqliteStore::open(&url).await.unwrap()) as std::sync::Arc<dyn Store> }
        })
        .await;
    }

    /// Opening without `create` finds only a database this crate made; opening with it says
    /// whether the database was new.
    #[tokio::test]
    async fn opening_says_whether_it_created_and_can_refuse_to() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("sub/runners.db").display());
        assert!(SqliteStore::open_with(&url, false).await.unwrap().is_none());
        assert!(!dir.path().join("sub").exists(), "neither the file nor its directory is created");
        let foreign = dir.path().join("foreign.db");
        std::fs::write(&foreign, b"").unwrap();
        let foreign_url = format!("sqlite://{}", foreign.display());
        assert!(SqliteStore::open_with(&foreign_url, false).await.unwrap().is_none(), "no migrations table");
        assert!(SqliteStore::open_with("sqlite::memory:", false).await.unwrap().is_none(), "always new");

        let (store, created) = SqliteStore::open_with(&url, true).await.unwrap().unwrap();
        assert!(created);
        store.ping().await.unwrap();
        drop(store);
        let (_, created) = SqliteStore::open_with(&url, true).await.unwrap().unwrap();
        assert!(!created, "the second time it exists");
        let (_, created) = SqliteStore::open_with(&url, false).await.unwrap().unwrap();
        assert!(!created);
    }

    /// A database of the version before role assignments reads the same after them (and after
    /// the later migrations: membership ids, the runners' protobuf columns).
    #[tokio::test]
    async fn old_rows_read_the_same_after_the_role_assignment_migration() {
        use crate::testing::upgrade;
        let dir = tempfile::tempdir().unwrap();
        let old = dir.path().join("old-migrations");
        std::fs::create_dir(&old).unwrap();
        let migrations = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/sqlite");
        upgrade::copy_migrations_before(&migrations, upgrade::ROLE_ASSIGNMENTS, &old);
        let url = format!("sqlite://{}", dir.path().join("old.db").display());
        {
            let options = sqlx::sqlite::SqliteConnectOptions::from_str(&url).unwrap().create_if_missing(true);
            let pool = sqlx::SqlitePool::connect_with(options).await.unwrap();
            sqlx::migrate::Migrator::new(old.as_path()).await.unwrap().run(&pool).await.unwrap();
            sqlx::raw_sql(upgrade::OLD_ROWS).execute(&pool).await.unwrap();
            pool.close().await;
        }
        let store = SqliteStore::open(&url).await.unwrap();
        upgrade::old_rows_read_the_same(std::sync::Arc::new(store)).await;
    }

    /// An in-memory database has no inline readers: the same suite through the shared SQL.
    #[tokio::test]
    async fn conformance_suite_in_memory() {
        crate::testing::run_suite(|| async {
            let store = SqliteStore::open("sqlite::memory:").await.unwrap();
            assert!(store.readers.is_none());
            std::sync::Arc::new(store) as std::sync::Arc<dyn Store>
        })
        .await;
    }
}
