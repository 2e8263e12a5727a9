//! Bulk seeding for load tests.

use runner_core::model::*;
use runner_core::store::{NewRunnerToken, RunnerTokenKind, StoreError};
use runner_core::time::Timestamp;
use uuid::Uuid;

/// Seeds `count` runners into the organization `org_id` of the database at `url` (migrating it
/// first), as `runner_core::runners::Runners::create` would write them: GCP runners named
/// `load runner N`, created by `creator`, in phase CREATED, each with an unused exchange token
/// whose plaintext is thrown away. Bulk inserts of 500 rows per statement, 5,000 runners per
/// transaction, with the Store's own row mapping; on PostgreSQL then `ANALYZE`. For load
/// tests: run it before a server opens the database. Returns the new runners' ids, in id
/// (creation) order.
pub async fn seed_runners(
    url: &str,
    org_id: Uuid,
    creator: Option<Subject>,
    count: usize,
) -> Result<Vec<Uuid>, StoreError> {
    use sqlx::QueryBuilder;
    const PER_STATEMENT: usize = 500;
    const PER_TRANSACTION: usize = 5_000;
    const RUNNER_INSERT: &str = "INSERT INTO runners (id, org_id, name, kind, provider, runner_manager_id, creator_id, \
        creator_principal, phase, spec, status, spec_proto, status_proto, created_at, updated_at, revision) ";
    const TOKEN_INSERT: &str = "INSERT INTO runner_tokens (hash, runner_id, kind, created_at, expires_at) ";

    // One transaction's rows: the runners' columns and their exchange tokens.
    let batch = |n: usize| -> Result<(Vec<crate::rows::RunnerColumns>, Vec<NewRunnerToken>), StoreError> {
        let now = Timestamp::now();
        let mut columns = Vec::with_capacity(n);
        let mut tokens = Vec::with_capacity(n);
        for i in 0..n {
            let runner = Runner {
                id: Uuid::now_v7(),
                org_id,
                name: format!("load runner {i}"),
                kind: RunnerProvider::Gcp.kind(),
                provider: Some(RunnerProvider::Gcp),
                runner_manager_id: None,
                creator: creator.clone(),
                created_at: now,
                updated_at: now,
                spec: RunnerSpec {
                    desired_phase: Some(RunnerPhase::Active),
                    configuration: RunnerConfiguration {
                        release_channel: Some(ReleaseChannel::Stable),
                        ..Default::default()
                    },
                    variant: None,
                },
                status: RunnerStatus::default(),
                revision: 1,
            };
            tokens.push(NewRunnerToken {
                hash: runner_core::secrets::mint("gpx").hash,
                runner_id: runner.id,
                kind: RunnerTokenKind::Exchange,
                created_at: now,
                expires_at: now.plus_seconds(runner_core::runners::EXCHANGE_TOKEN_TTL_SECS),
            });
            columns.push(crate::rows::RunnerColumns::from_domain(&runner)?);
        }
        Ok((columns, tokens))
    };

    // The same statements on either backend; QueryBuilder numbers PostgreSQL's placeholders.
    macro_rules! seed {
        ($pool:expr, $db:ty, $map:path, $after:expr) => {{
            let pool = $pool;
            let mut ids = Vec::with_capacity(count);
            let mut left = count;
            while left > 0 {
                let n = left.min(PER_TRANSACTION);
                let (columns, tokens) = batch(n)?;
                let mut tx = pool.begin().await.map_err($map)?;
                for chunk in columns.chunks(PER_STATEMENT) {
                    let mut q = QueryBuilder::<$db>::new(RUNNER_INSERT);
                    q.push_values(chunk, |mut b, c| {
                        b.push_bind(&c.id)
                            .push_bind(&c.org_id)
                            .push_bind(&c.name)
                            .push_bind(c.kind)
                            .push_bind(c.provider)
                            .push_bind(&c.runner_manager_id)
                            .push_bind(&c.creator_id)
                            .push_bind(c.creator_principal)
                            .push_bind(c.phase)
                            .push("''")
                            .push("''")
                            .push_bind(&c.spec_proto)
                            .push_bind(&c.status_proto)
                            .push_bind(c.created_at)
                            .push_bind(c.updated_at)
                            .push_bind(c.revision);
                    });
                    q.build().execute(&mut *tx).await.map_err($map)?;
                }
                for chunk in tokens.chunks(PER_STATEMENT) {
                    let mut q = QueryBuilder::<$db>::new(TOKEN_INSERT);
                    q.push_values(chunk, |mut b, t| {
                        b.push_bind(&t.hash)
                            .push_bind(t.runner_id.to_string())
                            .push_bind(t.kind.as_str())
                            .push_bind(t.created_at.0)
                            .push_bind(t.expires_at.0);
                    });
                    q.build().execute(&mut *tx).await.map_err($map)?;
                }
                tx.commit().await.map_err($map)?;
                ids.extend(tokens.iter().map(|t| t.runner_id));
                left -= n;
            }
            if let Some(after) = $after {
                sqlx::query(after).execute(&pool).await.map_err($map)?;
            }
            pool.close().await;
            ids.sort();
            Ok(ids)
        }};
    }

    if url.starts_with("sqlite:") {
        use std::str::FromStr;
        // Migrates (and creates) the database, then writes through a connection of its own.
        drop(crate::SqliteStore::open(url).await?);
        let options = sqlx::sqlite::SqliteConnectOptions::from_str(url)
            .map_err(|e| StoreError::Other(format!("bad SQLite URL: {e}")))?
            .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
            .foreign_keys(true)
            .busy_timeout(std::time::Duration::from_secs(5));
        let pool = sqlx::sqlite::SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options)
            .await
            .map_err(crate::error::map_sqlite)?;
        seed!(pool, sqlx::Sqlite, crate::error::map_sqlite, None::<&str>)
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        drop(crate::PostgresStore::open(url).await?);
        let pool = sqlx::postgres::PgPoolOptions::new()
            .max_connections(1)
            .connect(url)
            .await
            .map_err(crate::error::map_postgres)?;
        // The planner's statistics, as autovacuum would gather them a minute later: without
        // them it takes the freshly filled runners table for a few dozen rows, and pages of
        // runners (ListRunners, the heartbeat follower's start) sort the whole table for
        // every page instead of reading the (org_id, id) index in order.
        seed!(pool, sqlx::Postgres, crate::error::map_postgres, Some("ANALYZE"))
    } else {
        Err(StoreError::Other(format!("unsupported database URL for seeding: {url}")))
    }
}
