//! The embedded SQLite backend.
//!
//! Settings, chosen for durability first: WAL journal, `synchronous = FULL` (a commit is on
//! disk before the call returns), foreign keys on, and a 5 s busy timeout so that concurrent
//! writers wait for each other instead of failing; a writer still busy after that gets
//! `StoreError::Unavailable`.

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use runner_core::model::{ApiEnum, Runner, RunnerFilter};
use runner_core::store::{NewRunnerToken, Store, StoreError, WriteOutcome};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{QueryBuilder, Sqlite};
use uuid::Uuid;

use crate::error::map;
use crate::rows::{RunnerColumns, RunnerRow};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");

const RUNNER_COLUMNS: &str = "id, name, kind, provider, runner_manager_id, creator_id, creator_principal, spec, status, created_at, updated_at, revision";

/// A [`Store`] on one SQLite database file.
#[derive(Clone, Debug)]
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `url` and migrates it. For an in-memory
    /// database every connection would see its own database, so the pool then holds one.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|e| StoreError::Other(format!("bad SQLite URL: {e}")))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5));
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        if !in_memory
            && let Some(dir) = options
                .get_filename()
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
        {
            std::fs::create_dir_all(dir).map_err(|e| {
                StoreError::Other(format!(
                    "cannot create database directory {}: {e}",
                    dir.display()
                ))
            })?;
        }
        let pool = SqlitePoolOptions::new()
            .max_connections(if in_memory { 1 } else { 8 })
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await
            .map_err(map)?;
        MIGRATOR
            .run(&pool)
            .await
            .map_err(|e| StoreError::Other(format!("migration failed: {e}")))?;
        Ok(Self { pool })
    }
}

fn push_runner_values<'a>(q: &mut QueryBuilder<'a, Sqlite>, c: &'a RunnerColumns) {
    q.push_bind(&c.id)
        .push(", ")
        .push_bind(&c.name)
        .push(", ")
        .push_bind(c.kind)
        .push(", ")
        .push_bind(c.provider)
        .push(", ")
        .push_bind(&c.runner_manager_id)
        .push(", ")
        .push_bind(&c.creator_id)
        .push(", ")
        .push_bind(c.creator_principal)
        .push(", ")
        .push_bind(c.phase)
        .push(", ")
        .push_bind(&c.spec)
        .push(", ")
        .push_bind(&c.status)
        .push(", ")
        .push_bind(c.created_at)
        .push(", ")
        .push_bind(c.updated_at)
        .push(", ")
        .push_bind(c.revision);
}

async fn insert_token<'e, E: sqlx::Executor<'e, Database = Sqlite>>(
    exec: E,
    t: &NewRunnerToken,
) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO runner_tokens (hash, runner_id, kind, created_at, expires_at) VALUES (?, ?, ?, ?, ?)")
        .bind(&t.hash) // 1
        .bind(t.runner_id.to_string()) // 2
        .bind(t.kind.as_str()) // 3
        .bind(t.created_at.0) // 4
        .bind(t.expires_at.0) // 5
        .execute(exec)
        .await
        .map_err(map)?;
    Ok(())
}

#[async_trait]
impl Store for SqliteStore {
    async fn insert_runner(
        &self,
        runner: &Runner,
        token: &NewRunnerToken,
    ) -> Result<(), StoreError> {
        let c = RunnerColumns::from_domain(runner)?;
        let mut tx = self.pool.begin().await.map_err(map)?;
        let mut q = QueryBuilder::new(
            "INSERT INTO runners (id, name, kind, provider, runner_manager_id, creator_id, creator_principal, phase, spec, status, created_at, updated_at, revision) VALUES (",
        );
        push_runner_values(&mut q, &c);
        q.push(")");
        q.build().execute(&mut *tx).await.map_err(map)?;
        insert_token(&mut *tx, token).await?;
        tx.commit().await.map_err(map)
    }

    async fn get_runner(&self, id: Uuid) -> Result<Option<Runner>, StoreError> {
        let row: Option<RunnerRow> = sqlx::query_as(&format!(
            "SELECT {RUNNER_COLUMNS} FROM runners WHERE id = ?"
        ))
        .bind(id.to_string()) // 1
        .fetch_optional(&self.pool)
        .await
        .map_err(map)?;
        row.map(RunnerRow::into_domain).transpose()
    }

    async fn list_runners(
        &self,
        filter: &RunnerFilter,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<Runner>, StoreError> {
        let mut q = QueryBuilder::<Sqlite>::new(format!(
            "SELECT {RUNNER_COLUMNS} FROM runners WHERE 1 = 1"
        ));
        if let Some(after) = after {
            q.push(" AND id > ").push_bind(after.to_string());
        }
        push_in(
            &mut q,
            "creator_id",
            filter.creator_ids.iter().map(|c| c.to_string()),
        );
        push_in(
            &mut q,
            "kind",
            filter.kinds.iter().map(|k| k.as_str().to_owned()),
        );
        push_in(
            &mut q,
            "provider",
            filter.providers.iter().map(|p| p.as_str().to_owned()),
        );
        q.push(" ORDER BY id LIMIT ").push_bind(i64::from(limit));
        let rows: Vec<RunnerRow> = q
            .build_query_as()
            .fetch_all(&self.pool)
            .await
            .map_err(map)?;
        rows.into_iter().map(RunnerRow::into_domain).collect()
    }

    async fn update_runner(&self, runner: &Runner) -> Result<WriteOutcome, StoreError> {
        let c = RunnerColumns::from_domain(runner)?;
        let result = sqlx::query(
            "UPDATE runners SET name = ?, phase = ?, spec = ?, status = ?, updated_at = ?, revision = ? WHERE id = ? AND revision = ?",
        )
        .bind(&c.name) // 1
        .bind(c.phase) // 2
        .bind(&c.spec) // 3
        .bind(&c.status) // 4
        .bind(c.updated_at) // 5
        .bind(c.revision) // 6
        .bind(&c.id) // 7
        .bind(c.revision - 1) // 8
        .execute(&self.pool)
        .await
        .map_err(map)?;
        Ok(if result.rows_affected() == 1 {
            WriteOutcome::Written
        } else {
            WriteOutcome::Conflict
        })
    }

    async fn delete_runner(&self, id: Uuid) -> Result<bool, StoreError> {
        let result = sqlx::query("DELETE FROM runners WHERE id = ?")
            .bind(id.to_string()) // 1
            .execute(&self.pool)
            .await
            .map_err(map)?;
        Ok(result.rows_affected() == 1)
    }

    async fn insert_runner_token(&self, token: &NewRunnerToken) -> Result<(), StoreError> {
        insert_token(&self.pool, token).await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map_err(map)
            .map(|_| ())
    }
}

/// ` AND column IN (?, ?, …)` for a non-empty list of values.
fn push_in(
    q: &mut QueryBuilder<'_, Sqlite>,
    column: &str,
    values: impl ExactSizeIterator<Item = String>,
) {
    if values.len() == 0 {
        return;
    }
    q.push(format!(" AND {column} IN ("));
    let mut sep = q.separated(", ");
    for v in values {
        sep.push_bind(v);
    }
    q.push(")");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn conformance_suite() {
        let dir = tempfile::tempdir().unwrap();
        let next = std::sync::atomic::AtomicUsize::new(0);
        crate::testing::run_suite(|| {
            // A fresh database file for every case.
            let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let url = format!(
                "sqlite://{}",
                dir.path().join(format!("case{n}.db")).display()
            );
            async move {
                std::sync::Arc::new(SqliteStore::open(&url).await.unwrap())
                    as std::sync::Arc<dyn Store>
            }
        })
        .await;
    }

    #[tokio::test]
    async fn in_memory_works() {
        let store = SqliteStore::open("sqlite::memory:").await.unwrap();
        store.ping().await.unwrap();
    }
}
