//! The PostgreSQL backend, for deployments that outgrow one machine: several stateless
//! replicas share one PostgreSQL (or a PostgreSQL-wire-compatible distributed SQL engine).
//!
//! Correctness across replicas rests on the database alone:
//! - updates are conditional on the row's revision (`… WHERE id = $1 AND revision = $2`), which
//!   READ COMMITTED re-checks against the latest committed row, so two replicas updating the
//!   same runner, policy or integration never lose a write (the loser re-reads and retries);
//! - an exchange token is redeemed by one conditional `UPDATE … WHERE used_at IS NULL`, which
//!   succeeds for exactly one of any number of concurrent redemptions;
//! - uniqueness (one SCM integration per runner and host, one policy per runner and group, …)
//!   is a unique constraint; a violation (SQLSTATE 23505) is `AlreadyExists`;
//! - multi-statement transactions that fail with a serialization failure or deadlock (40001,
//!   40P01; engines running SERIALIZABLE, such as CockroachDB, report these) are retried;
//! - a writer that lost the revision race to another replica waits for that replica's writer
//!   instead of racing again: the row's write turn (`ServerRepo::write_turn`) is a
//!   transaction-level advisory lock on a key derived from the row's id, held in its own
//!   transaction until the writer is done (`runner_core::turns`);
//! - migrations run at start-up under sqlx's advisory lock, so replicas starting together
//!   migrate once.

use std::borrow::Cow;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use runner_core::store::{StoreError, WriteTurn};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use tokio::sync::Semaphore;
use uuid::Uuid;

use crate::error::map_postgres as map;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

/// Connections of the pool.
const POOL_SIZE: u32 = 16;
/// Of those, how many may hold write turns at once: a turn holds a connection while its writer
/// needs another to read and write, so at most half go to turns and writers always find one.
const TURN_CONNECTIONS: usize = POOL_SIZE as usize / 2;

/// A [`Store`](runner_core::store::Store) on a PostgreSQL database.
#[derive(Clone, Debug)]
pub struct PostgresStore {
    pool: PgPool,
    turn_connections: Arc<Semaphore>,
}

impl PostgresStore {
    /// Connects to `url` (`postgres://user@host:port/database`) and migrates the database.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        let options =
            PgConnectOptions::from_str(url).map_err(|e| StoreError::Other(format!("bad PostgreSQL URL: {e}")))?;
        Self::open_with(options).await
    }

    /// Like [`open`](Self::open), with options built by the caller (a schema for tests).
    pub async fn open_with(options: PgConnectOptions) -> Result<Self, StoreError> {
        let (store, _) = Self::open_checked(options, true).await?.expect("opened with create");
        Ok(store)
    }

    /// Connects and migrates. Without `create`, a database (or schema, by `search_path`) that
    /// this crate never migrated is `None` and left as it was. Also says whether the migrations
    /// ran from the first, that is, whether the database was new. (Two replicas starting on a
    /// new database together may both say so; one of them migrated it, under sqlx's lock.)
    pub async fn open_checked(options: PgConnectOptions, create: bool) -> Result<Option<(Self, bool)>, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(POOL_SIZE)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await
            .map_err(map)?;
        let probe = "SELECT to_regclass('_sqlx_migrations') IS NOT NULL";
        let created = crate::migrate_unless_foreign(&pool, &MIGRATOR, probe, create, map).await?;
        Ok(created
            .map(|created| (Self { pool, turn_connections: Arc::new(Semaphore::new(TURN_CONNECTIONS)) }, created)))
    }

    /// The row's write turn across replicas: `pg_advisory_xact_lock` on the row's key, in a
    /// transaction of its own that ends (rolls back, releasing the lock) when the turn is
    /// dropped. The wait is bounded by `lock_timeout`, and by `wait` for the connection too.
    async fn take_write_turn(&self, key: Uuid, wait: Duration) -> Result<Option<WriteTurn>, StoreError> {
        let _timer = crate::metrics::QueryTimer::new("write_turn");
        let until = tokio::time::Instant::now() + wait;
        let Ok(permit) = tokio::time::timeout_at(until, self.turn_connections.clone().acquire_owned()).await else {
            return Ok(None);
        };
        let permit = permit.map_err(|e| StoreError::Other(e.to_string()))?;
        let Ok(tx) = tokio::time::timeout_at(until, self.pool.begin()).await else { return Ok(None) };
        let mut tx = tx.map_err(map)?;
        // 0 would mean no timeout at all.
        let left = until.saturating_duration_since(tokio::time::Instant::now()).as_millis().max(1);
        sqlx::query(&format!("SET LOCAL lock_timeout = {left}")).execute(&mut *tx).await.map_err(map)?;
        let (high, low) = key.as_u64_pair();
        let locked = sqlx::query("SELECT pg_advisory_xact_lock($1)").bind((high ^ low) as i64).execute(&mut *tx).await;
        match locked {
            Ok(_) => Ok(Some(WriteTurn::held((tx, permit)))),
            // lock_not_available: lock_timeout passed.
            Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("55P03") => Ok(None),
            Err(e) => Err(map(e)),
        }
    }
}

/// The shared SQL with PostgreSQL's numbered placeholders: the n-th `?` becomes `$n`. (The
/// shared SQL has no `?` inside string literals.)
fn sql(text: &str) -> Cow<'_, str> {
    if !text.contains('?') {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    let mut n = 0;
    for c in text.chars() {
        if c == '?' {
            n += 1;
            out.push('$');
            out.push_str(&n.to_string());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

sql_store!(PostgresStore, Postgres);
sso_store!(PostgresStore, Postgres);
invite_store!(PostgresStore, Postgres);
account_store!(PostgresStore, Postgres);
session_store!(PostgresStore, Postgres);

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use runner_core::model::{RunnerProvider, ScmIntegration};
    use runner_core::store::{NewRunnerToken, RunnerTokenKind, ServerRepo, Store, StoreError, WriteOutcome};
    use runner_core::time::Timestamp;
    use uuid::Uuid;

    use crate::testing::{PgSchema, new_org, run_suite, sample_runner};

    #[tokio::test]
    async fn postgres_conformance_suite() {
        // Probe once: skipped (one line on stderr) or required, as PgSchema decides.
        let Some(probe) = PgSchema::create("postgres_conformance_suite").await else { return };
        probe.drop_schema().await;
        let schemas = Arc::new(Mutex::new(Vec::new()));
        run_suite(|| {
            let schemas = schemas.clone();
            async move {
                let schema = PgSchema::create("postgres_conformance_suite").await.expect("reachable a moment ago");
                let store = schema.store().await;
                schemas.lock().unwrap().push(schema);
                store
            }
        })
        .await;
        let schemas = std::mem::take(&mut *schemas.lock().unwrap());
        for schema in schemas {
            schema.drop_schema().await;
        }
    }

    /// Several replicas (stores with their own pools) on one database: they start together,
    /// and concurrent writes through different replicas lose nothing and break no rule.
    #[tokio::test]
    async fn postgres_replicas_agree() {
        let Some(schema) = PgSchema::create("postgres_replicas_agree").await else { return };
        // Four replicas start (and migrate) at once.
        let replicas: Vec<Arc<dyn Store>> = futures::future::join_all((0..4).map(|_| schema.store())).await;
        let (org, _) = new_org(&replicas[0]).await;
        let runner = sample_runner(&org, RunnerProvider::Gcp, None);
        let exchange = NewRunnerToken {
            hash: runner_core::secrets::hash("gpx_replicated"),
            runner_id: runner.id,
            kind: RunnerTokenKind::Exchange,
            created_at: Timestamp::now(),
            expires_at: Timestamp::now().plus_seconds(60),
        };
        replicas[1].insert_runner(&runner, &exchange).await.unwrap();

        // No lost updates: 24 read-modify-write increments through alternating replicas.
        let tasks = (0..24).map(|n| {
            let store = replicas[n % replicas.len()].clone();
            let id = runner.id;
            tokio::spawn(async move {
                loop {
                    let mut r = store.get_runner(id).await.unwrap().unwrap();
                    let count: u32 = r.name.rsplit(' ').next().unwrap().parse().unwrap_or(0);
                    r.name = format!("counter {}", count + 1);
                    r.revision += 1;
                    if store.update_runner(&r).await.unwrap() == WriteOutcome::Written {
                        return;
                    }
                }
            })
        });
        for t in tasks.collect::<Vec<_>>() {
            t.await.unwrap();
        }
        assert_eq!(replicas[2].get_runner(runner.id).await.unwrap().unwrap().name, "counter 24");

        // One exchange token redeemed on every replica at once: exactly one wins.
        let now = Timestamp::now();
        let redemptions = replicas.iter().flat_map(|s| [s.clone(), s.clone()]).map(|store| {
            let hash = exchange.hash.clone();
            let access = NewRunnerToken {
                hash: runner_core::secrets::hash(&Uuid::new_v4().to_string()),
                kind: RunnerTokenKind::Access,
                ..exchange.clone()
            };
            tokio::spawn(async move { store.redeem_exchange_token_for_access(&hash, now, &access).await.unwrap() })
        });
        let mut winners = Vec::new();
        for r in redemptions.collect::<Vec<_>>() {
            winners.extend(r.await.unwrap());
        }
        assert_eq!(winners, vec![runner.id]);

        // One SCM integration per runner and host, whichever replica writes.
        let inserts = replicas.iter().map(|store| {
            let store = store.clone();
            let i = ScmIntegration {
                id: Uuid::now_v7(),
                runner_id: runner.id,
                scm_id: "github".into(),
                host: "github.com".into(),
                oauth: None,
                pat: true,
                virtual_directory: None,
                created_at: now,
                updated_at: now,
                revision: 1,
            };
            tokio::spawn(async move { store.insert_scm_integration(&i).await })
        });
        let mut outcomes = Vec::new();
        for i in inserts.collect::<Vec<_>>() {
            outcomes.push(i.await.unwrap());
        }
        assert_eq!(outcomes.iter().filter(|o| o.is_ok()).count(), 1, "{outcomes:?}");
        assert!(outcomes.iter().all(|o| matches!(o, Ok(()) | Err(StoreError::AlreadyExists))), "{outcomes:?}");
        schema.drop_schema().await;
    }

    #[tokio::test]
    async fn postgres_opening_says_whether_it_migrated_from_zero_and_can_refuse_to() {
        let Some(schema) = PgSchema::create("postgres_opening_says_whether_it_migrated_from_zero").await else {
            return;
        };
        assert!(super::PostgresStore::open_checked(schema.options(), false).await.unwrap().is_none());
        let (store, created) = super::PostgresStore::open_checked(schema.options(), true).await.unwrap().unwrap();
        assert!(created, "migrations ran from zero");
        store.ping().await.unwrap();
        let (_, created) = super::PostgresStore::open_checked(schema.options(), true).await.unwrap().unwrap();
        assert!(!created);
        let (_, created) = super::PostgresStore::open_checked(schema.options(), false).await.unwrap().unwrap();
        assert!(!created);
        schema.drop_schema().await;
    }

    /// A database of the version before role assignments reads the same after them (and after
    /// the later migrations: membership ids, the runners' protobuf columns).
    #[tokio::test]
    async fn postgres_old_rows_read_the_same_after_the_role_assignment_migration() {
        use crate::testing::upgrade;
        let Some(schema) = PgSchema::create("postgres_old_rows_read_the_same").await else { return };
        let dir = tempfile::tempdir().unwrap();
        let migrations = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/postgres");
        upgrade::copy_migrations_before(&migrations, upgrade::ROLE_ASSIGNMENTS, dir.path());
        {
            let pool = sqlx::PgPool::connect_with(schema.options()).await.unwrap();
            sqlx::migrate::Migrator::new(dir.path()).await.unwrap().run(&pool).await.unwrap();
            sqlx::raw_sql(upgrade::OLD_ROWS).execute(&pool).await.unwrap();
            pool.close().await;
        }
        upgrade::old_rows_read_the_same(schema.store().await).await;
        schema.drop_schema().await;
    }

    #[test]
    fn placeholders_are_numbered() {
        assert_eq!(super::sql("SELECT 1"), "SELECT 1");
        assert_eq!(
            super::sql("UPDATE t SET a = ? WHERE id = ? AND r = ?"),
            "UPDATE t SET a = $1 WHERE id = $2 AND r = $3"
        );
    }
}
