//! The storage code both backends share, written once. [`sql_store!`] expands, inside a backend
//! module, to the implementations of the per-entity storage traits (`runner_core::store`) for
//! that backend's sqlx database type. A macro rather than generic code: sqlx's per-database
//! traits would otherwise need a bound on every type bound or decoded, in every function. The
//! SQL is written with `?` placeholders; each backend's `sql()` turns them into its own (`$1, $2,
//! …` for PostgreSQL). Expects, in the invoking module: the store type (with a `pool` field),
//! `sql(&str) -> Cow<str>`, and `map(sqlx::Error) -> StoreError`; of the store type, an inherent
//! `take_write_turn` (`ServerRepo::write_turn`, which differs by backend, not by SQL text).
//!
//! Nothing here knows a backend's fast paths. `RunnerRepo`'s SQL is in inherent `shared_*`
//! methods of the store; `sql_store!(Store, Db)` implements `RunnerRepo` with them, while
//! `sql_store!(Store, Db, RunnerRepo by the backend)` leaves that impl to the backend, which puts
//! its own paths in front (SQLite's inline readers and group commit, `crate::sqlite`). The
//! query text both paths share is built once, through [`SqlText`].

use runner_core::authz::Visibility;
use runner_core::model::{ApiEnum, RunnerFilter, RunnerKind};
use uuid::Uuid;

/// The columns of a runner, in this order: SQLite's inline readers read them by position
/// (`RunnerFields::from_rusqlite`).
macro_rules! runner_columns {
    () => {
        "id, org_id, name, kind, provider, runner_manager_id, creator_id, creator_principal, spec, status, created_at, updated_at, revision, spec_proto, status_proto"
    };
}

/// One runner by id (`?`).
pub(crate) const SELECT_RUNNER: &str = concat!("SELECT ", runner_columns!(), " FROM runners WHERE id = ?");
/// Runners, aliased `r`, followed by [`push_list_runners`]' conditions.
pub(crate) const SELECT_RUNNERS_WHERE: &str = concat!("SELECT ", runner_columns!(), " FROM runners r WHERE ");
/// UpdateRunner: name, phase, spec, status, updated_at and the new revision of the runner `id`,
/// if its revision is still the one read (the previous).
pub(crate) const UPDATE_RUNNER: &str = "UPDATE runners SET name = ?, phase = ?, spec = '', status = '', spec_proto = ?, status_proto = ?, updated_at = ?, revision = ? WHERE id = ? AND revision = ?";
/// One audit log entry.
pub(crate) const INSERT_AUDIT: &str = "INSERT INTO audit_log_entries (id, org_id, actor_id, actor_principal, subject_id, subject_type, action, kind, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)";

/// SQL text with bound values, written once for the sqlx query builder and for SQLite's inline
/// readers (`crate::sqlite_read::Select`).
pub(crate) trait SqlText {
    fn text(&mut self, text: &str) -> &mut Self;
    fn bind_text(&mut self, value: String) -> &mut Self;
    fn bind_int(&mut self, value: i64) -> &mut Self;
}

/// The conditions, order and limit of `list_runners`, after [`SELECT_RUNNERS_WHERE`].
pub(crate) fn push_list_runners<Q: SqlText>(
    q: &mut Q,
    visibility: &Visibility,
    filter: &RunnerFilter,
    after: Option<Uuid>,
    limit: u32,
) {
    push_visibility(q, visibility);
    if let Some(after) = after {
        q.text(" AND id > ").bind_text(after.to_string());
    }
    push_in(q, "creator_id", filter.creator_ids.iter().map(|c| c.to_string()));
    if filter.kinds.is_empty() {
        // Unless asked for by kind, the local-configuration runner is not listed.
        q.text(" AND kind <> ").bind_text(RunnerKind::LocalConfiguration.as_str().to_owned());
    }
    push_in(q, "kind", filter.kinds.iter().map(|k| k.as_str().to_owned()));
    push_in(q, "provider", filter.providers.iter().map(|p| p.as_str().to_owned()));
    q.text(" ORDER BY id LIMIT ").bind_int(i64::from(limit));
}

/// The runners (aliased `r`) a caller may see: its organization's, and unless it sees them
/// all, those it created or on which one of its groups has a policy.
pub(crate) fn push_visibility<Q: SqlText>(q: &mut Q, visibility: &Visibility) {
    match visibility {
        Visibility::All { org_id } => {
            q.text("r.org_id = ").bind_text(org_id.to_string());
        }
        Visibility::Runner { org_id, runner_id } => {
            q.text("r.org_id = ").bind_text(org_id.to_string());
            q.text(" AND r.id = ").bind_text(runner_id.to_string());
        }
        Visibility::Restricted { org_id, subject_id, groups } => {
            q.text("r.org_id = ").bind_text(org_id.to_string());
            q.text(" AND (r.creator_id = ").bind_text(subject_id.to_string());
            if !groups.is_empty() {
                q.text(
                    " OR r.id IN (SELECT runner_id FROM role_assignments WHERE runner_id IS NOT NULL AND group_id IN (",
                );
                for (i, g) in groups.iter().enumerate() {
                    q.text(if i == 0 { "" } else { ", " }).bind_text(g.to_string());
                }
                q.text("))");
            }
            q.text(")");
        }
    }
}

/// ` AND column IN (?, ?, …)` for a non-empty list of values.
pub(crate) fn push_in<Q: SqlText>(q: &mut Q, column: &str, values: impl ExactSizeIterator<Item = String>) {
    if values.len() == 0 {
        return;
    }
    q.text(&format!(" AND {column} IN ("));
    for (i, v) in values.enumerate() {
        q.text(if i == 0 { "" } else { ", " }).bind_text(v);
    }
    q.text(")");
}

/// How a backend begins a transaction that writes. SQLite: `BEGIN IMMEDIATE`, which takes the
/// write lock at once and so waits its turn (the busy timeout): a deferred transaction that
/// reads first cannot take the write lock once another writer has committed since its read,
/// and fails at once with `SQLITE_BUSY` whatever the timeout (concurrent UpdateServiceAccount
/// and UpdateRunner calls did, as `unavailable`). PostgreSQL: an ordinary `BEGIN`.
pub(crate) trait BeginWrite {
    const BEGIN_WRITE: &'static str;
}

impl BeginWrite for sqlx::Sqlite {
    const BEGIN_WRITE: &'static str = "BEGIN IMMEDIATE";
}

impl BeginWrite for sqlx::Postgres {
    const BEGIN_WRITE: &'static str = "BEGIN";
}

macro_rules! sql_store {
    // Every trait from the shared SQL.
    ($store:ident, $db:ident) => {
        sql_store!(@body $store, $db, {
            use runner_core::store::RunnerRepo;

            #[async_trait]
            impl RunnerRepo for $store {
                async fn insert_runner(&self, runner: &Runner, token: &NewRunnerToken) -> Result<(), StoreError> {
                    self.shared_insert_runner(runner, token).await
                }

                async fn get_runner(&self, id: Uuid) -> Result<Option<Runner>, StoreError> {
                    self.shared_get_runner(id).await
                }

                async fn list_runners(
                    &self,
                    visibility: &Visibility,
                    filter: &RunnerFilter,
                    after: Option<Uuid>,
                    limit: u32,
                ) -> Result<Vec<Runner>, StoreError> {
                    self.shared_list_runners(visibility, filter, after, limit).await
                }

                async fn update_runner(&self, runner: &Runner) -> Result<WriteOutcome, StoreError> {
                    self.shared_update_runner(runner).await
                }

                async fn delete_runner(&self, id: Uuid) -> Result<bool, StoreError> {
                    self.shared_delete_runner(id).await
                }

                async fn count_runners_by_phase(&self) -> Result<Vec<(RunnerPhase, u64)>, StoreError> {
                    self.shared_count_runners_by_phase().await
                }
            }
        });
    };
    // Every trait but `RunnerRepo`, which the backend implements around the `shared_*` methods.
    ($store:ident, $db:ident, RunnerRepo by the backend) => {
        sql_store!(@body $store, $db, {});
    };
    (@body $store:ident, $db:ident, { $($runner_repo:tt)* }) => {
        mod queries {
            use async_trait::async_trait;
            use runner_core::authz::Visibility;
            use runner_core::identity::{
                AccessTokenInfo, Group, Member, Membership, OrgRole, Organization, RoleAssignment, RoleAssignmentFilter,
                ServiceAccount,
            };
            use runner_core::model::{
                ApiEnum, AuditSubject, EnvironmentClass, EnvironmentClassFilter, HostToken, HostTokenSource, LlmIntegration, Principal,
                ResourceKind, ResourceRole, Runner, RunnerFilter, RunnerPhase, RunnerPolicy, RunnerRole, ScmIntegration,
            };
            use runner_core::audit::{AuditEntry, AuditFilter};
            use runner_core::schema::RunnerConfigurationSchema;
            use runner_core::store::{
                AccessTokenRepo, AuditRepo, ConfigurationSchemaRepo, EnvironmentClassRepo, GroupRepo, HostTokenRepo, IdentityRepo,
                LlmIntegrationRepo, NewRunnerToken, PolicyRepo, RoleAssignmentRepo, RunnerTokenInfo, RunnerTokenKind,
                RunnerTokenRepo, ScmIntegrationRepo, ServerRepo, ServiceAccountRepo, StoreError, WriteOutcome, WriteTurn,
                MemberChange, MemberChanged,
            };
            use runner_core::time::Timestamp;
            use sqlx::{$db, QueryBuilder};
            use uuid::Uuid;

            use super::{$store, map, sql};
            use crate::error::corrupt;
            use crate::rows::{
                AccessTokenRow, AuditRow, EnvironmentClassRow, GroupRow, HostTokenRow, LlmIntegrationRow, MemberRow, OrganizationRow,
                PolicyRow, RoleAssignmentRow, RunnerColumns, RunnerRow, RunnerTokenRow, ScmIntegrationRow, ServiceAccountRow,
                enum_value,
            };
            use crate::sql_store::{INSERT_AUDIT, SELECT_RUNNER, SELECT_RUNNERS_WHERE, SqlText, UPDATE_RUNNER, push_in, push_list_runners, push_visibility};

            const MEMBER_COLUMNS: &str = "id, org_id, account_id, principal, name, role, suspended, created_at";
            const GROUP_COLUMNS: &str = "id, org_id, name, description, system, direct_share, created_at, updated_at";
            const MEMBERSHIP_COLUMNS: &str = "id, group_id, member_id";
            const ASSIGNMENT_COLUMNS: &str = "id, org_id, group_id, resource_type, resource_id, role, created_at";
            const TOKEN_COLUMNS: &str =
                "id, org_id, member_id, description, creator_id, creator_principal, created_at, expires_at, revoked_at, last_used_at";
            /// A member that is a service account, with its details when it has them.
            const SELECT_SERVICE_ACCOUNTS: &str = "SELECT m.id, m.org_id, m.account_id, m.principal, m.name, m.role, m.suspended, m.created_at, s.description, s.creator_id, s.creator_principal, s.valid_until FROM members m LEFT JOIN service_accounts s ON s.member_id = m.id WHERE m.principal = ?";
            const AUDIT_COLUMNS: &str = "id, org_id, actor_id, actor_principal, subject_id, subject_type, action, kind, created_at";
            const CLASS_COLUMNS: &str =
                "id, runner_id, display_name, description, configuration, enabled, created_at, updated_at, revision";
            const SCM_COLUMNS: &str = "id, runner_id, scm_id, host, oauth_client_id, oauth_encrypted_client_secret, oauth_issuer_url, pat, virtual_directory, created_at, updated_at, revision";
            const HOST_TOKEN_COLUMNS: &str = "id, runner_id, host, subject_id, subject_principal, source, token_ciphertext, refresh_token_ciphertext, expires_at, integration_id, scopes, created_at, updated_at, revision";

            fn push_runner_values<'a>(q: &mut QueryBuilder<'a, $db>, c: &'a RunnerColumns) {
                q.push_bind(&c.id)
                    .push(", ")
                    .push_bind(&c.org_id)
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
                    .push(", '', '', ")
                    .push_bind(&c.spec_proto)
                    .push(", ")
                    .push_bind(&c.status_proto)
                    .push(", ")
                    .push_bind(c.created_at)
                    .push(", ")
                    .push_bind(c.updated_at)
                    .push(", ")
                    .push_bind(c.revision);
            }

            /// Stores a token; an access token with the `session` (the hash of the exchange
            /// token) of the sign-up it belongs to.
            async fn insert_token<'e, E: sqlx::Executor<'e, Database = $db>>(
                exec: E,
                t: &NewRunnerToken,
                session: Option<&[u8]>,
            ) -> Result<(), StoreError> {
                sqlx::query(&sql("INSERT INTO runner_tokens (hash, runner_id, kind, created_at, expires_at, session) VALUES (?, ?, ?, ?, ?, ?)"))
                    .bind(&t.hash) // 1
                    .bind(t.runner_id.to_string()) // 2
                    .bind(t.kind.as_str()) // 3
                    .bind(t.created_at.0) // 4
                    .bind(t.expires_at.0) // 5
                    .bind(session) // 6
                    .execute(exec)
                    .await
                    .map_err(map)?;
                Ok(())
            }

            /// The audit log entry of a write (`runner_core::audit`), inserted in the write's
            /// transaction; `None` (a call that is not audited) inserts nothing.
            pub(super) async fn record(tx: &mut sqlx::Transaction<'_, $db>, entry: Option<&AuditEntry>) -> Result<(), StoreError> {
                match entry {
                    Some(e) => insert_audit(&mut **tx, e).await,
                    None => Ok(()),
                }
            }

            async fn insert_audit<'e, E: sqlx::Executor<'e, Database = $db>>(exec: E, e: &AuditEntry) -> Result<(), StoreError> {
                sqlx::query(&sql(INSERT_AUDIT))
                    .bind(e.id.to_string()) // 1
                    .bind(e.org_id.to_string()) // 2
                    .bind(e.actor.map(|(id, _)| id.to_string())) // 3
                    .bind(e.actor.map(|(_, p)| p.as_str())) // 4
                    .bind(e.subject.map(|(id, _)| id.to_string())) // 5
                    .bind(e.subject.map(|(_, t)| t.as_str())) // 6
                    .bind(&e.action) // 7
                    .bind(e.kind.as_str()) // 8
                    .bind(e.created_at.0) // 9
                    .execute(exec)
                    .await
                    .map_err(map)?;
                Ok(())
            }

            /// Runs one write statement and, when it changed a row, inserts its audit log entry in
            /// the same transaction; how many rows it changed. Without an entry (a call that is
            /// not audited) the statement runs alone.
            pub(super) async fn audited<'q>(
                pool: &sqlx::Pool<$db>,
                entry: Option<AuditEntry>,
                query: sqlx::query::Query<'q, $db, <$db as sqlx::Database>::Arguments<'q>>,
            ) -> Result<u64, StoreError> {
                let Some(entry) = entry else {
                    return Ok(query.execute(pool).await.map_err(map)?.rows_affected());
                };
                let mut tx = pool.begin_with(<$db as crate::sql_store::BeginWrite>::BEGIN_WRITE).await.map_err(map)?;
                let n = query.execute(&mut *tx).await.map_err(map)?.rows_affected();
                if n > 0 {
                    insert_audit(&mut *tx, &entry).await?;
                }
                tx.commit().await.map_err(map)?;
                Ok(n)
            }

            /// The audit subject type of a member: a user or a service account.
            fn member_subject(principal: Principal) -> AuditSubject {
                if principal == Principal::ServiceAccount { AuditSubject::ServiceAccount } else { AuditSubject::User }
            }

            /// Most attempts of a transaction that loses to concurrent ones.
            const TX_ATTEMPTS: usize = 5;

            /// Runs a transaction again while it fails with a serialization failure or a
            /// deadlock (`StoreError::Conflict`): the database rolled it back, so it is safe.
            async fn retried<T, F, Fut>(mut attempt: F) -> Result<T, StoreError>
            where
                F: FnMut() -> Fut,
                Fut: std::future::Future<Output = Result<T, StoreError>>,
            {
                for n in 1..TX_ATTEMPTS {
                    match attempt().await {
                        Err(StoreError::Conflict) => {
                            tokio::time::sleep(std::time::Duration::from_millis(5 * n as u64)).await;
                        }
                        other => return other,
                    }
                }
                attempt().await
            }

            /// One new runner with its exchange token, in its own transaction.
            async fn insert_runner_alone(
                pool: &sqlx::Pool<$db>,
                runner: &Runner,
                token: &NewRunnerToken,
                entry: Option<&AuditEntry>,
            ) -> Result<(), StoreError> {
                retried(move || async move {
                    let mut tx = pool.begin_with(<$db as crate::sql_store::BeginWrite>::BEGIN_WRITE).await.map_err(map)?;
                    insert_runner_row(&mut tx, runner).await?;
                    insert_token(&mut *tx, token, None).await?;
                    record(&mut tx, entry).await?;
                    tx.commit().await.map_err(map)
                })
                .await
            }

            /// New runners with their exchange tokens, all in one transaction (group commit,
            /// see crate::group_commit); if that fails, each in its own, so that one bad write
            /// fails alone.
            #[allow(dead_code)] // only SQLite group-commits (the PostgreSQL backend commits each alone)
            pub(super) async fn insert_runner_batch(
                pool: sqlx::Pool<$db>,
                batch: Vec<(Runner, NewRunnerToken, Option<AuditEntry>)>,
            ) -> Vec<Result<(), StoreError>> {
                let together = async {
                    let mut tx = pool.begin_with(<$db as crate::sql_store::BeginWrite>::BEGIN_WRITE).await.map_err(map)?;
                    for (runner, token, entry) in &batch {
                        insert_runner_row(&mut tx, runner).await?;
                        insert_token(&mut *tx, token, None).await?;
                        record(&mut tx, entry.as_ref()).await?;
                    }
                    tx.commit().await.map_err(map)
                };
                if batch.len() > 1 && together.await.is_ok() {
                    return batch.iter().map(|_| Ok(())).collect();
                }
                let mut results = Vec::with_capacity(batch.len());
                for (runner, token, entry) in &batch {
                    results.push(insert_runner_alone(&pool, runner, token, entry.as_ref()).await);
                }
                results
            }

            /// `RunnerRepo` in the shared SQL.
            impl $store {
                #[allow(dead_code)] // SQLite group-commits its creates (insert_runner_batch)
                pub(super) async fn shared_insert_runner(&self, runner: &Runner, token: &NewRunnerToken) -> Result<(), StoreError> {
                    let _timer = crate::metrics::QueryTimer::new("insert_runner");
                    let entry = runner_core::audit::entry(AuditSubject::Runner, runner.id, Some(runner.org_id));
                    insert_runner_alone(&self.pool, runner, token, entry.as_ref()).await
                }

                pub(super) async fn shared_get_runner(&self, id: Uuid) -> Result<Option<Runner>, StoreError> {
                    let _timer = crate::metrics::QueryTimer::new("get_runner");
                    let row: Option<RunnerRow> =
                        sqlx::query_as(&sql(SELECT_RUNNER)).bind(id.to_string()).fetch_optional(&self.pool).await.map_err(map)?;
                    row.map(RunnerRow::into_domain).transpose()
                }

                pub(super) async fn shared_list_runners(
                    &self,
                    visibility: &Visibility,
                    filter: &RunnerFilter,
                    after: Option<Uuid>,
                    limit: u32,
                ) -> Result<Vec<Runner>, StoreError> {
                    let _timer = crate::metrics::QueryTimer::new("list_runners");
                    let mut q = QueryBuilder::<$db>::new(SELECT_RUNNERS_WHERE);
                    push_list_runners(&mut q, visibility, filter, after, limit);
                    let rows: Vec<RunnerRow> = q.build_query_as().fetch_all(&self.pool).await.map_err(map)?;
                    rows.into_iter().map(RunnerRow::into_domain).collect()
                }

                pub(super) async fn shared_update_runner(&self, runner: &Runner) -> Result<WriteOutcome, StoreError> {
                    let _timer = crate::metrics::QueryTimer::new("update_runner");
                    let c = RunnerColumns::from_domain(runner)?;
                    let entry = runner_core::audit::entry(AuditSubject::Runner, runner.id, Some(runner.org_id));
                    let result = audited(&self.pool, entry, sqlx::query(&sql(UPDATE_RUNNER))
                    .bind(&c.name) // 1
                    .bind(c.phase) // 2
                    .bind(&c.spec_proto) // 3
                    .bind(&c.status_proto) // 4
                    .bind(c.updated_at) // 5
                    .bind(c.revision) // 6
                    .bind(&c.id) // 7
                    .bind(c.revision - 1) // 8
                    )
                    .await?;
                    Ok(if result == 1 { WriteOutcome::Written } else { WriteOutcome::Conflict })
                }

                pub(super) async fn shared_delete_runner(&self, id: Uuid) -> Result<bool, StoreError> {
                    let _timer = crate::metrics::QueryTimer::new("delete_runner");
                    let entry = runner_core::audit::entry(AuditSubject::Runner, id, None);
                    let result = audited(&self.pool, entry, sqlx::query(&sql("DELETE FROM runners WHERE id = ?"))
                        .bind(id.to_string()) // 1
                    )
                        .await?;
                    Ok(result == 1)
                }

                pub(super) async fn shared_count_runners_by_phase(&self) -> Result<Vec<(RunnerPhase, u64)>, StoreError> {
                    let _timer = crate::metrics::QueryTimer::new("count_runners_by_phase");
                    let rows: Vec<(String, i64)> = sqlx::query_as(&sql("SELECT phase, COUNT(*) FROM runners GROUP BY phase ORDER BY phase"))
                        .fetch_all(&self.pool)
                        .await
                        .map_err(map)?;
                    rows.into_iter()
                        .map(|(phase, n)| Ok((enum_value::<RunnerPhase>("runner phase", &phase)?, u64::try_from(n).unwrap_or(0))))
                        .collect()
                }
            }

            $($runner_repo)*

            #[async_trait]
            impl RunnerTokenRepo for $store {
                async fn insert_runner_token(&self, token: &NewRunnerToken) -> Result<(), StoreError> {
                    let _timer = crate::metrics::QueryTimer::new("insert_runner_token");
                    let entry = runner_core::audit::entry(AuditSubject::Runner, token.runner_id, None);
                    let mut tx = self.pool.begin_with(<$db as crate::sql_store::BeginWrite>::BEGIN_WRITE).await.map_err(map)?;
                    insert_token(&mut *tx, token, None).await?;
                    record(&mut tx, entry.as_ref()).await?;
                    tx.commit().await.map_err(map)
                }

                async fn resolve_runner_token(&self, hash: &[u8]) -> Result<Option<RunnerTokenInfo>, StoreError> {
                    let _timer = crate::metrics::QueryTimer::new("resolve_runner_token");
                    // An access token is superseded with its sign-up (the row of its session);
                    // one from before sessions existed, or any other token, by its own mark.
                    let row: Option<RunnerTokenRow> = sqlx::query_as(&sql("SELECT t.runner_id, r.org_id, t.kind, t.expires_at, t.used_at, \
                         COALESCE(s.superseded_at, t.superseded_at) AS superseded_at \
                         FROM runner_tokens t JOIN runners r ON r.id = t.runner_id \
                         LEFT JOIN runner_tokens s ON s.hash = t.session WHERE t.hash = ?",))
                    .bind(hash) // 1
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(map)?;
                    row.map(RunnerTokenRow::into_domain).transpose()
                }

                async fn redeem_exchange_token_for_access(
                    &self,
                    hash: &[u8],
                    now: Timestamp,
                    access: &NewRunnerToken,
                ) -> Result<Option<Uuid>, StoreError> {
                    let _timer = crate::metrics::QueryTimer::new("redeem_exchange_token_for_access");
                    retried(move || async move {
                        // The conditional UPDATE comes first, so a SQLite transaction takes the
                        // write lock at once, and of concurrent redemptions only one finds
                        // `used_at` still NULL.
                        let mut tx = self.pool.begin_with(<$db as crate::sql_store::BeginWrite>::BEGIN_WRITE).await.map_err(map)?;
                        let runner: Option<String> = sqlx::query_scalar(&sql("UPDATE runner_tokens SET used_at = ? \
                             WHERE hash = ? AND kind = ? AND used_at IS NULL AND expires_at > ? RETURNING runner_id",))
                        .bind(now.0) // 1
                        .bind(hash) // 2
                        .bind(RunnerTokenKind::Exchange.as_str()) // 3
                        .bind(now.0) // 4
                        .fetch_optional(&mut *tx)
                        .await
                        .map_err(map)?;
                        let Some(runner) = runner else { return Ok(None) };
                        let runner_id = crate::rows::uuid("token runner", &runner)?;
                        // Every other sign-up of the runner (exchange tokens redeemed earlier, and
                        // access tokens from before sessions) is superseded, and its unused
                        // exchange tokens are spent.
                        sqlx::query(&sql("UPDATE runner_tokens SET superseded_at = ?, \
                             used_at = CASE WHEN kind = ? THEN COALESCE(used_at, ?) ELSE used_at END \
                             WHERE runner_id = ? AND hash <> ? AND superseded_at IS NULL \
                             AND (kind = ? OR (kind = ? AND session IS NULL))",))
                        .bind(now.0) // 1
                        .bind(RunnerTokenKind::Exchange.as_str()) // 2
                        .bind(now.0) // 3
                        .bind(&runner) // 4
                        .bind(hash) // 5
                        .bind(RunnerTokenKind::Exchange.as_str()) // 6
                        .bind(RunnerTokenKind::Access.as_str()) // 7
                        .execute(&mut *tx)
                        .await
                        .map_err(map)?;
                        insert_token(&mut *tx, &NewRunnerToken { runner_id, ..access.clone() }, Some(hash)).await?;
                        // The exchange token is the only credential: the runner acts for itself.
                        let org: Option<String> = sqlx::query_scalar(&sql("SELECT org_id FROM runners WHERE id = ?"))
                            .bind(&runner) // 1
                            .fetch_optional(&mut *tx)
                            .await
                            .map_err(map)?;
                        let org = org.map(|o| crate::rows::uuid("runner organization", &o)).transpose()?;
                        if let Some(mut entry) = runner_core::audit::entry(AuditSubject::Runner, runner_id, org) {
                            entry.actor = entry.actor.or(Some((runner_id, Principal::Runner)));
                            record(&mut tx, Some(&entry)).await?;
                        }
                        tx.commit().await.map_err(map)?;
                        Ok(Some(runner_id))
                    })
                    .await
                }

                async fn refresh_runner_access_token(
                    &self,
                    current: &[u8],
                    now: Timestamp,
                    access: &NewRunnerToken,
                ) -> Result<Option<Uuid>, StoreError> {
                    let _timer = crate::metrics::QueryTimer::new("refresh_runner_access_token");
                    // One statement: the new token joins the current one's sign-up, so a
                    // redemption that commits after it supersedes it too.
                    let mut tx = self.pool.begin_with(<$db as crate::sql_store::BeginWrite>::BEGIN_WRITE).await.map_err(map)?;
                    let runner: Option<String> = sqlx::query_scalar(&sql("INSERT INTO runner_tokens (hash, runner_id, kind, created_at, expires_at, session) \
                         SELECT ?, t.runner_id, t.kind, ?, ?, t.session FROM runner_tokens t \
                         LEFT JOIN runner_tokens s ON s.hash = t.session \
                         WHERE t.hash = ? AND t.kind = ? AND t.expires_at > ? \
                         AND t.superseded_at IS NULL AND s.superseded_at IS NULL RETURNING runner_id",))
                    .bind(&access.hash) // 1
                    .bind(access.created_at.0) // 2
                    .bind(access.expires_at.0) // 3
                    .bind(current) // 4
                    .bind(RunnerTokenKind::Access.as_str()) // 5
                    .bind(now.0) // 6
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(map)?;
                    let runner = runner.map(|r| crate::rows::uuid("token runner", &r)).transpose()?;
                    if let Some(runner_id) = runner {
                        let entry = runner_core::audit::entry(AuditSubject::Runner, runner_id, None);
                        record(&mut tx, entry.as_ref()).await?;
                    }
                    tx.commit().await.map_err(map)?;
                    Ok(runner)
                }
            }

            #[async_trait]
            impl IdentityRepo for $store {
                async fn create_organization(
                    &self,
                    org: &Organization,
                    members_group: &Group,
                    local_configuration: &Runner,
                    first_member: Option<&Member>,
                ) -> Result<(), StoreError> {
                    let _timer = crate::metrics::QueryTimer::new("create_organization");
                    let entry = runner_core::audit::entry(AuditSubject::Organization, org.id, Some(org.id));
                    let entry = &entry;
                    retried(move || async move {
                        let mut tx = self.pool.begin_with(<$db as crate::sql_store::BeginWrite>::BEGIN_WRITE).await.map_err(map)?;
                        sqlx::query(&sql("INSERT INTO organizations (id, name, created_at, updated_at) VALUES (?, ?, ?, ?)"))
                            .bind(org.id.to_string()) // 1
                            .bind(&org.name) // 2
                            .bind(org.created_at.0) // 3
                            .bind(org.updated_at.0) // 4
                            .execute(&mut *tx)
                            .await
                            .map_err(map)?;
                        insert_group(&mut *tx, members_group).await?;
                        insert_runner_row(&mut tx, local_configuration).await?;
                        if let Some(m) = first_member {
                            insert_member(&mut *tx, m).await?;
                        }
                        record(&mut tx, entry.as_ref()).await?;
                        tx.commit().await.map_err(map)
                    })
                    .await
                }

                async fn get_organization(&self, id: Uuid) -> Result<Option<Organization>, StoreError> {
                    let _timer = crate::metrics::QueryTimer::new("get_organization");
                    let row: Option<OrganizationRow> =
                        sqlx::query_as(&sql("SELECT id, name, created_at, updated_at FROM organizations WHERE id = ?"))
                            .bind(id.to_string()) // 1
                            .fetch_optional(&self.pool)
                            .await
                            .map_err(map)?;
                    row.map(OrganizationRow::into_domain).transpose()
                }

                async fn list_organizations(&self) -> Result<Vec<Organization>, StoreError> {
                    let _timer = crate::metrics::QueryTimer::new("list_organizations");
                    let rows: Vec<OrganizationRow> = sqlx::query_as(&sql(
                        "SELECT id, name, created_at, updated_at FROM organizations ORDER BY created_at, id",
                    ))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(map)?;
                    rows.into_iter().map(OrganizationRow::into_domain).collect()
                }

                async fn update_organization(&self, org: &Organization) -> Result<bool, StoreError> {
                    let _timer = crate::metrics::QueryTimer::new("update_organization");
                    let entry = runner_core::audit::entry(AuditSubject::Organization, org.id, Some(org.id));
                    let r = audited(&self.pool, entry, sqlx::query(&sql("UPDATE organizations SET name = ?, updated_at = ? WHERE id = ?"))
                        .bind(&org.name) // 1
                        .bind(org.updated_at.0) // 2
                        .bind(org.id.to_string()) // 3
                    )
                        .await?;
                    Ok(r == 1)
                }

                async fn delete_organization(&self, id: Uuid) -> Result<bool, StoreError> {
                    let _timer = crate::metrics::QueryTimer::new("delete_organization");
                    let entry = runner_core::audit::entry(AuditSubject::Organization, id, Some(id));
                    let entry = &entry;
                    retried(move || async move {
                        let mut tx = self.pool.begin_with(<$db as crate::sql_store::BeginWrite>::BEGIN_WRITE).await.map_err(map)?;
                        // Runners do not go with their organization by themselves; what they hold
                        // goes with them. Everything else goes with the organization.
                        sqlx::query(&sql("DELETE FROM runners WHERE org_id = ?"))
                            .bind(id.to_string()) // 1
                            .execute(&mut *tx)
                            .await
                            .map_err(map)?;
                        let deleted = one_row_by_id(&mut *tx, "DELETE FROM organizations WHERE id = ?", id).await?;
                        if deleted {
                            record(&mut tx, entry.as_ref()).await?;
                        }
                        tx.commit().await.map_err(map)?;
                        Ok(deleted)
                    })
                    .await
                }

                async fn create_member(&self, m: &Member) -> Result<(), StoreError> {
                    let _timer = crate::metrics::QueryTimer::new("create_member");
                    let entry = runner_core::audit::entry(member_subject(m.principal), m.id, Some(m.org_id));
                    let mut tx = self.pool.begin_with(<$db as crate::sql_store::BeginWrite>::BEGIN_WRITE).await.map_err(map)?;
                    insert_member(&mut *tx, m).await?;
                    record(&mut tx, entry.as_ref()).await?;
                    tx.commit().await.map_err(map)
                }

                async fn get_member(&self, id: Uuid) -> Result<Option<Member>, StoreError> {
                    let _timer = crate::metrics::QueryTimer::new("get_member");
                    let row: Option<MemberRow> = sqlx::query_as(&sql(&format!("SELECT {MEMBER_COLUMNS} FROM members WHERE id = ?")))
                        .bind(id.to_string()) // 1
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(map)?;
                    row.map(MemberRow::into_domain).transpose()
                }

                async fn list_members(&self, org_id: Uuid) -> Result<Vec<Member>, StoreError> {
                    let _timer = crate::metrics::QueryTimer::new("list_members");
                    let rows: Vec<MemberRow> =
                        sqlx::query_as(&sql(&format!("SELECT {MEMBER_COLUMNS} FROM members WHERE org_id = ? ORDER BY created_at, id")))
                            .bind(org_id.to_string()) // 1
                            .fetch_all(&self.pool)
                            .await
                            .map_err(map)?;
                    rows.into_iter().map(MemberRow::into_domain).collect()
                }

                async fn change_member(&self, member_id: Uuid, change: MemberChange) -> Result<MemberChanged, StoreError> {
                    let _timer = crate::metrics::QueryTimer::new("change_member");
                    retried(move || async move {
                        let id = member_id.to_string();
                        let mut tx = self.pool.begin_with(<$db as crate::sql_store::BeginWrite>::BEGIN_WRITE).await.map_err(map)?;
                        // A write first: it serializes the changes of one organization's members
                        // (PostgreSQL: the organization row's lock, held to the commit; SQLite:
                        // the database's write lock, taken at once), so the check below and the
                        // write after it see every change committed before.
                        sqlx::query(&sql("UPDATE organizations SET name = name WHERE id = (SELECT org_id FROM members WHERE id = ?)"))
                            .bind(&id) // 1
                            .execute(&mut *tx)
                            .await
                            .map_err(map)?;
                        let row: Option<MemberRow> =
                            sqlx::query_as(&sql(&format!("SELECT {MEMBER_COLUMNS} FROM members WHERE id = ?")))
                                .bind(&id) // 1
                                .fetch_optional(&mut *tx)
                                .await
                                .map_err(map)?;
                        let Some(member) = row.map(MemberRow::into_domain).transpose()? else {
                            return Ok(MemberChanged::NotFound);
                        };
                        let takes_an_admin_away = member.principal == Principal::User
                            && member.is_active_admin()
                            && match change {
                                MemberChange::Role(role) => role != OrgRole::Admin,
                                MemberChange::Suspended(suspended) => suspended,
                                MemberChange::Delete => true,
                            };
                        if takes_an_admin_away {
                            let others: i64 = sqlx::query_scalar(&sql("SELECT COUNT(*) FROM members \
                                 WHERE org_id = ? AND id <> ? AND principal = ? AND role = ? AND suspended = 0"))
                            .bind(member.org_id.to_string()) // 1
                            .bind(&id) // 2
                            .bind(Principal::User.as_str()) // 3
                            .bind(OrgRole::Admin.as_str()) // 4
                            .fetch_one(&mut *tx)
                            .await
                            .map_err(map)?;
                            if others == 0 {
                                return Ok(MemberChanged::LastAdmin(member));
                            }
                        }
                        match change {
                            MemberChange::Role(role) => {
                                sqlx::query(&sql("UPDATE members SET role = ? WHERE id = ?"))
                                    .bind(role.as_str()) // 1
                                    .bind(&id) // 2
                                    .execute(&mut *tx)
                                    .await
                                    .map_err(map)?;
                            }
                            MemberChange::Suspended(suspended) => {
                                sqlx::query(&sql("UPDATE members SET suspended = ? WHERE id = ?"))
                                    .bind(i64::from(suspended)) // 1
                                    .bind(&id) // 2
                                    .execute(&mut *tx)
                                    .await
                                    .map_err(map)?;
                                // Suspension ends the member's console sessions at once (a
                                // later reinstatement does not bring them back).
                                if suspended {
                                    sqlx::query(&sql("DELETE FROM console_sessions WHERE member_id = ?"))
                                        .bind(&id) // 1
                                        .execute(&mut *tx)
                                        .await
                                        .map_err(map)?;
                                }
                            }
                            MemberChange::Delete => {
                                // Its host tokens are kept by subject, not by a reference; its
                                // direct-share groups go with their role assignments (ON DELETE
                                // CASCADE); its tokens, console sessions and group memberships go
                                // with the row.
                                for statement in [
                                    "DELETE FROM host_authentication_tokens WHERE subject_id = ?",
                                    "DELETE FROM groups WHERE direct_share = 1 AND id IN (SELECT group_id FROM group_members WHERE member_id = ?)",
                                    "DELETE FROM members WHERE id = ?",
                                ] {
                                    sqlx::query(&sql(statement))
                                        .bind(&id) // 1
                                        .execute(&mut *tx)
                                        .await
                                        .map_err(map)?;
                                }
                            }
                        }
                        let entry = runner_core::audit::entry(member_subject(member.principal), member.id, Some(member.org_id));
                        record(&mut tx, entry.as_ref()).await?;
                        tx.commit().await.map_err(map)?;
                        Ok(MemberChanged::Done(member))
                    })
                    .await
                }

                async fn create_group(&self, group: &Group) -> Result<(), StoreError> {
                    let _timer = crate::metrics::QueryTimer::new("create_group");
                    let entry = runner_core::audit::entry(AuditSubject::Group, group.id, Some(group.org_id));
                    let mut tx = self.pool.begin_with(<$db as crate::sql_store::BeginWrite>::BEGIN_WRITE).await.map_err(map)?;
                    insert_group(&mut *tx, group).await?;
                    record(&mut tx, entry.as_ref()).await?;
                    tx.commit().await.map_err(map)
                }

                async fn get_group(&self, id: Uuid) -> Result<Option<Group>, StoreError> {
                    let _timer = crate::metrics::QueryTimer::new("get_group");
                    let row: Option<GroupRow> = sqlx::query_as(&sql(&format!("SELECT {GROUP_COLUMNS} FROM groups WHERE id = ?")))
                        .bind(id.to_string()) // 1
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(map)?;
                    row.map(GroupRow::into_domain).transpose()
                }

                async fn list_groups(&self, org_id: Uuid) -> Result<Vec<Group>, StoreError> {
                    let _timer = crate::metrics::QueryTimer::new("list_groups");
                    let rows: Vec<GroupRow> =
                        sqlx::query_as(&sql(&format!("SELECT {GROUP_COLUMNS} FROM groups WHERE org_id = ? ORDER BY created_at, id")))
                            .bind(org_id.to_string()) // 1
                            .fetch_all(&self.pool)
                            .await
                            .map_err(map)?;
                    rows.into_iter().map(GroupRow::into_domain).collect()
                }

                async fn add_group_member(&self, group_id: Uuid, member_id: Uuid) -> Result<Uuid, StoreError> {
                    let _timer = crate::metrics::QueryTimer::new("add_group_member");
                    let id = Uuid::now_v7();
                    let entry = runner_core::audit::entry(AuditSubject::GroupMembership, id, None);
                    audited(&self.pool, entry, sqlx::query(&sql("INSERT INTO group_members (id, group_id, member_id) VALUES (?, ?, ?)"))
                        .bind(id.to_string()) // 1
                        .bind(group_id.to_string()) // 2
                        .bind(member_id.to_string()) // 3
                    )
                        .await?;
                    Ok(id)
                }

                async fn count_group_members(&self, org_id: Uuid) -> Result<Vec<(Uuid, u64)>, StoreError> {
                    let _timer = crate::metrics::QueryTimer::new("count_group_members");
                    let rows: Vec<(String, i64)> = sqlx::query_as(&sql(
                        "SELECT gm.group_id, COUNT(*) FROM group_members gm JOIN groups g ON g.id = gm.group_id WHERE g.org_id = ? GROUP BY gm.group_id ORDER BY gm.group_id",
                    ))
                    .bind(org_id.to_string()) // 1
                    .fetch_all(&self.pool)
                    .await
                    .map_err(map)?;
                    rows.into_iter()
                        .map(|(id, n)| Ok((crate::rows::uuid("group member group", &id)?, u64::try_from(n).unwrap_or(0))))
                        .collect()
                }

                async fn list_group_memberships(&self, org_id: Uuid) -> Result<Vec<(Uuid, Uuid)>, StoreError> {
                    let _timer = crate::metrics::QueryTimer::new("list_group_memberships");
                    let rows: Vec<(String, String)> = sqlx::query_as(&sql(
                        "SELECT gm.group_id, gm.member_id FROM group_members gm JOIN groups g ON g.id = gm.group_id WHERE g.org_id = ? ORDER BY gm.group_id, gm.member_id",
                    ))
                    .bind(org_id.to_string()) // 1
                    .fetch_all(&self.pool)
                    .await
                    .map_err(map)?;
                    rows.into_iter()
                        .map(|(g, m)| Ok((crate::rows::uuid("membership group", &g)?, crate::rows::uuid("membership member", &m)?)))
                        .collect()
                }
            }

            #[async_trait]
            impl GroupRepo for $store {
                async fn update_group(&self, g: &Group) -> Result<bool, StoreError> {
                    let _timer = crate::metrics::QueryTimer::new("update_group");
                    let entry = runner_core::audit::entry(AuditSubject::Group, g.id, Some(g.org_id));
                    let r = audited(&self.pool, entry, sqlx::query(&sql("UPDATE groups SET name = ?, description = ?, updated_at = ? WHERE id = ?"))
                        .bind(&g.name) // 1
                        .bind(&g.description) // 2
                        .bind(g.updated_at.0) // 3
                        .bind(g.id.to_string()) // 4
                    )
                        .await?;
                    Ok(r == 1)
                }

                async fn delete_group(&self, id: Uuid) -> Result<bool, StoreError> {
                    let _timer = crate::metrics::QueryTimer::new("delete_group");
                    let entry = runner_core::audit::entry(AuditSubject::Group, id, None);
                    let entry = &entry;
                    retried(move || async move {
                        let mut tx = self.pool.begin_with(<$db as crate::sql_store::BeginWrite>::BEGIN_WRITE).await.map_err(map)?;
                        // What the group holds goes with it, in the same transaction.
                        for table in ["role_assignments", "group_members"] {
                            sqlx::query(&sql(&format!("DELETE FROM {table} WHERE group_id = ?")))
                                .bind(id.to_string()) // 1
                                .execute(&mut *tx)
                                .await
                                .map_err(map)?;
                        }
                        let r = sqlx::query(&sql("DELETE FROM groups WHERE id = ?"))
                            .bind(id.to_string()) // 1
                            .execute(&mut *tx)
                            .await
                            .map_err(map)?;
                        if r.rows_affected() == 1 {
                            record(&mut tx, entry.as_ref()).await?;
                        }
                        tx.commit().await.map_err(map)?;
                        Ok(r.rows_affected() == 1)
                    })
                    .await
                }

                async fn get_membership(&self, id: Uuid) -> Result<Option<Membership>, StoreError> {
                    let _timer = crate::metrics::QueryTimer::new("get_membership");
                    let row: Option<(String, String, String)> =
                        sqlx::query_as(&sql(&format!("SELECT {MEMBERSHIP_COLUMNS} FROM group_members WHERE id = ?")))
                            .bind(id.to_string()) // 1
                            .fetch_optional(&self.pool)
                            .await
                            .map_err(map)?;
                    row.map(crate::rows::membership).transpose()
                }

                async fn list_memberships(&self, group_id: Uuid) -> Result<Vec<Membership>, StoreError> {
                    let _timer = crate::metrics::QueryTimer::new("list_memberships");
                    let rows: Vec<(String, String, String)> =
                        sqlx::query_as(&sql(&format!("SELECT {MEMBERSHIP_COLUMNS} FROM group_members WHERE group_id = ? ORDER BY id")))
                            .bind(group_id.to_string()) // 1
                            .fetch_all(&self.pool)
                            .await
                            .map_err(map)?;
                    rows.into_iter().map(crate::rows::membership).collect()
                }

                async fn delete_membership(&self, id: Uuid) -> Result<bool, StoreError> {
                    let _timer = crate::metrics::QueryTimer::new("delete_membership");
                    let entry = runner_core::audit::entry(AuditSubject::GroupMembership, id, None);
                    let r = audited(&self.pool, entry, sqlx::query(&sql("DELETE FROM group_members WHERE id = ?"))
                        .bind(id.to_string()) // 1
                    )
                        .await?;
                    Ok(r == 1)
                }
            }

            #[async_trait]
            impl AccessTokenRepo for $store {
                async fn insert_access_token(&self, t: &AccessTokenInfo, hash: &[u8]) -> Result<(), StoreError> {
                    let _timer = crate::metrics::QueryTimer::new("insert_access_token");
                    let entry = runner_core::audit::entry(AuditSubject::PersonalAccessToken, t.id, Some(t.org_id));
                    audited(&self.pool, entry, sqlx::query(&sql("INSERT INTO access_tokens (id, hash, org_id, member_id, description, creator_id, creator_principal, created_at, expires_at, revoked_at, last_used_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",))
                    .bind(t.id.to_string()) // 1
                    .bind(hash) // 2
                    .bind(t.org_id.to_string()) // 3
                    .bind(t.member_id.to_string()) // 4
                    .bind(&t.description) // 5
                    .bind(t.creator.as_ref().map(|c| c.id.to_string())) // 6
                    .bind(t.creator.as_ref().map(|c| c.principal.as_str())) // 7
                    .bind(t.created_at.0) // 8
                    .bind(t.expires_at.map(|e| e.0)) // 9
                    .bind(t.revoked_at.map(|e| e.0)) // 10
                    .bind(t.last_used_at.map(|e| e.0)) // 11
                    )
                    .await?;
                    Ok(())
                }

                async fn get_access_token(&self, id: Uuid) -> Result<Option<AccessTokenInfo>, StoreError> {
                    let _timer = crate::metrics::QueryTimer::new("get_access_token");
                    let row: Option<AccessTokenRow> =
                        sqlx::query_as(&sql(&format!("SELECT {TOKEN_COLUMNS} FROM access_tokens WHERE id = ?")))
                            .bind(id.to_string()) // 1
                            .fetch_optional(&self.pool)
                            .await
                            .map_err(map)?;
                    row.map(AccessTokenRow::into_domain).transpose()
                }

                async fn list_access_tokens(&self, org_id: Uuid) -> Result<Vec<AccessTokenInfo>, StoreError> {
                    let _timer = crate::metrics::QueryTimer::new("list_access_tokens");
                    let rows: Vec<AccessTokenRow> = sqlx::query_as(&sql(&format!(
                        "SELECT {TOKEN_COLUMNS} FROM access_tokens WHERE org_id = ? ORDER BY created_at, id"
                    )))
                    .bind(org_id.to_string()) // 1
                    .fetch_all(&self.pool)
                    .await
                    .map_err(map)?;
                    rows.into_iter().map(AccessTokenRow::into_domain).collect()
                }

                async fn list_member_access_tokens(
                    &self,
                    member_ids: &[Uuid],
                    after: Option<Uuid>,
                    limit: u32,
                ) -> Result<Vec<AccessTokenInfo>, StoreError> {
                    let _timer = crate::metrics::QueryTimer::new("list_member_access_tokens");
                    if member_ids.is_empty() {
                        return Ok(Vec::new());
                    }
                    let mut q = QueryBuilder::<$db>::new(format!(
                        "SELECT {TOKEN_COLUMNS} FROM access_tokens WHERE revoked_at IS NULL"
                    ));
                    push_in(&mut q, "member_id", member_ids.iter().map(|m| m.to_string()));
                    if let Some(after) = after {
                        q.push(" AND id > ").push_bind(after.to_string());
                    }
                    q.push(" ORDER BY id LIMIT ").push_bind(i64::from(limit));
                    let rows: Vec<AccessTokenRow> = q.build_query_as().fetch_all(&self.pool).await.map_err(map)?;
                    rows.into_iter().map(AccessTokenRow::into_domain).collect()
                }

                async fn delete_access_token(&self, id: Uuid) -> Result<bool, StoreError> {
                    let _timer = crate::metrics::QueryTimer::new("delete_access_token");
                    let entry = runner_core::audit::entry(AuditSubject::PersonalAccessToken, id, None);
                    Ok(audited(&self.pool, entry, sqlx::query(&sql("DELETE FROM access_tokens WHERE id = ?")).bind(id.to_string())).await? == 1)
                }

                async fn touch_access_token(&self, id: Uuid, at: Timestamp) -> Result<(), StoreError> {
                    let _timer = crate::metrics::QueryTimer::new("touch_access_token");
                    sqlx::query(&sql("UPDATE access_tokens SET last_used_at = ? WHERE id = ?"))
                        .bind(at.0) // 1
                        .bind(id.to_string()) // 2
                        .execute(&self.pool)
                        .await
                        .map_err(map)?;
                    Ok(())
                }

                async fn resolve_access_token(
                    &self,
                    hash: &[u8],
                ) -> Result<Option<(AccessTokenInfo, Member, Vec<Group>)>, StoreError> {
                    let _timer = crate::metrics::QueryTimer::new("resolve_access_token");
                    let token: Option<AccessTokenRow> =
                        sqlx::query_as(&sql(&format!("SELECT {TOKEN_COLUMNS} FROM access_tokens WHERE hash = ?")))
                            .bind(hash) // 1
                            .fetch_optional(&self.pool)
                            .await
                            .map_err(map)?;
                    let Some(token) = token.map(AccessTokenRow::into_domain).transpose()? else {
                        return Ok(None);
                    };
                    let Some(member) = self.get_member(token.member_id).await? else {
                        return Ok(None);
                    };
                    let groups = member_groups(&self.pool, &member).await?;
                    Ok(Some((token, member, groups)))
                }
            }

            /// Every group `member` is in, the organization's `org-members` group included, by id
            /// (what a token or a console session authenticates with).
            pub(super) async fn member_groups(pool: &sqlx::Pool<$db>, member: &Member) -> Result<Vec<Group>, StoreError> {
                let groups: Vec<GroupRow> = sqlx::query_as(&sql(&format!(
                    "SELECT {GROUP_COLUMNS} FROM groups WHERE org_id = ? AND (system = 1 OR id IN (SELECT group_id FROM group_members WHERE member_id = ?)) ORDER BY id"
                )))
                .bind(member.org_id.to_string()) // 1
                .bind(member.id.to_string()) // 2
                .fetch_all(pool)
                .await
                .map_err(map)?;
                groups.into_iter().map(GroupRow::into_domain).collect()
            }

            /// Whether a service account `id` exists, in a transaction.
            async fn is_service_account(tx: &mut sqlx::Transaction<'_, $db>, id: Uuid) -> Result<bool, StoreError> {
                let found: Option<(String,)> = sqlx::query_as(&sql("SELECT id FROM members WHERE id = ? AND principal = ?"))
                    .bind(id.to_string()) // 1
                    .bind(runner_core::model::Principal::ServiceAccount.as_str()) // 2
                    .fetch_optional(&mut **tx)
                    .await
                    .map_err(map)?;
                Ok(found.is_some())
            }

            #[async_trait]
            impl ServiceAccountRepo for $store {
                async fn create_service_account(&self, a: &ServiceAccount) -> Result<(), StoreError> {
                    let _timer = crate::metrics::QueryTimer::new("create_service_account");
                    let (m, d) = (&a.member, &a.details);
                    let entry = runner_core::audit::entry(AuditSubject::ServiceAccount, m.id, Some(m.org_id));
                    let entry = &entry;
                    retried(move || async move {
                        let mut tx = self.pool.begin_with(<$db as crate::sql_store::BeginWrite>::BEGIN_WRITE).await.map_err(map)?;
                        insert_member(&mut *tx, m).await?;
                        sqlx::query(&sql("INSERT INTO service_accounts (member_id, description, creator_id, creator_principal, valid_until) VALUES (?, ?, ?, ?, ?)"))
                            .bind(m.id.to_string()) // 1
                            .bind(&d.description) // 2
                            .bind(d.creator.as_ref().map(|c| c.id.to_string())) // 3
                            .bind(d.creator.as_ref().map(|c| c.principal.as_str())) // 4
                            .bind(d.valid_until.map(|t| t.0)) // 5
                            .execute(&mut *tx)
                            .await
                            .map_err(map)?;
                        record(&mut tx, entry.as_ref()).await?;
                        tx.commit().await.map_err(map)
                    })
                    .await
                }

                async fn get_service_account(&self, id: Uuid) -> Result<Option<ServiceAccount>, StoreError> {
                    let _timer = crate::metrics::QueryTimer::new("get_service_account");
                    let row: Option<ServiceAccountRow> = sqlx::query_as(&sql(&format!("{SELECT_SERVICE_ACCOUNTS} AND m.id = ?")))
                        .bind(runner_core::model::Principal::ServiceAccount.as_str()) // 1
                        .bind(id.to_string()) // 2
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(map)?;
                    row.map(ServiceAccountRow::into_domain).transpose()
                }

                async fn list_service_accounts(&self, org_id: Uuid) -> Result<Vec<ServiceAccount>, StoreError> {
                    let _timer = crate::metrics::QueryTimer::new("list_service_accounts");
                    let rows: Vec<ServiceAccountRow> =
                        sqlx::query_as(&sql(&format!("{SELECT_SERVICE_ACCOUNTS} AND m.org_id = ? ORDER BY m.id")))
                            .bind(runner_core::model::Principal::ServiceAccount.as_str()) // 1
                            .bind(org_id.to_string()) // 2
                            .fetch_all(&self.pool)
                            .await
                            .map_err(map)?;
                    rows.into_iter().map(ServiceAccountRow::into_domain).collect()
                }

                async fn update_service_account(
                    &self,
                    id: Uuid,
                    name: Option<&str>,
                    description: Option<&str>,
                ) -> Result<bool, StoreError> {
                    let _timer = crate::metrics::QueryTimer::new("update_service_account");
                    let entry = runner_core::audit::entry(AuditSubject::ServiceAccount, id, None);
                    let entry = &entry;
                    retried(move || async move {
                        let mut tx = self.pool.begin_with(<$db as crate::sql_store::BeginWrite>::BEGIN_WRITE).await.map_err(map)?;
                        if !is_service_account(&mut tx, id).await? {
                            return Ok(false);
                        }
                        if let Some(name) = name {
                            sqlx::query(&sql("UPDATE members SET name = ? WHERE id = ?"))
                                .bind(name) // 1
                                .bind(id.to_string()) // 2
                                .execute(&mut *tx)
                                .await
                                .map_err(map)?;
                        }
                        if let Some(description) = description {
                            sqlx::query(&sql("INSERT INTO service_accounts (member_id, description) VALUES (?, ?) ON CONFLICT (member_id) DO UPDATE SET description = excluded.description"))
                                .bind(id.to_string()) // 1
                                .bind(description) // 2
                                .execute(&mut *tx)
                                .await
                                .map_err(map)?;
                        }
                        record(&mut tx, entry.as_ref()).await?;
                        tx.commit().await.map_err(map)?;
                        Ok(true)
                    })
                    .await
                }
            }

            /// Runner policies are the role assignments on runners (`runner_id` set), one per (runner,
            /// group): their roles are `runner_admin` and `runner_user`.
            #[async_trait]
            impl PolicyRepo for $store {
                async fn policy_roles(&self, runner_id: Uuid, groups: &[Uuid]) -> Result<Vec<RunnerRole>, StoreError> {
                    let _timer = crate::metrics::QueryTimer::new("policy_roles");
                    if groups.is_empty() {
                        return Ok(Vec::new());
                    }
                    let mut q = QueryBuilder::<$db>::new("SELECT role FROM role_assignments WHERE runner_id = ");
                    q.push_bind(runner_id.to_string());
                    push_in(&mut q, "group_id", groups.iter().map(|g| g.to_string()));
                    let roles: Vec<(String,)> = q.build_query_as().fetch_all(&self.pool).await.map_err(map)?;
                    roles
                        .into_iter()
                        .map(|(r,)| enum_value::<ResourceRole>("policy role", &r)?.runner_role().ok_or_else(|| corrupt("policy role", &r)))
                        .collect()
                }

                async fn list_runner_policies(
                    &self,
                    runner_id: Uuid,
                    after: Option<Uuid>,
                    limit: u32,
                ) -> Result<Vec<RunnerPolicy>, StoreError> {
                    let _timer = crate::metrics::QueryTimer::new("list_runner_policies");
                    let rows: Vec<PolicyRow> = sqlx::query_as(&sql("SELECT runner_id, group_id, role FROM role_assignments WHERE runner_id = ? AND group_id > ? ORDER BY group_id LIMIT ?",))
                    .bind(runner_id.to_string()) // 1
                    .bind(after.map(|a| a.to_string()).unwrap_or_default()) // 2
                    .bind(i64::from(limit)) // 3
                    .fetch_all(&self.pool)
                    .await
                    .map_err(map)?;
                    rows.into_iter().map(PolicyRow::into_domain).collect()
                }

                async fn insert_runner_policy(&self, p: &RunnerPolicy) -> Result<(), StoreError> {
                    let _timer = crate::metrics::QueryTimer::new("insert_runner_policy");
                    // The assignment's organization is the runner's.
                    let entry = runner_core::audit::entry(AuditSubject::Runner, p.runner_id, None);
                    audited(&self.pool, entry, sqlx::query(&sql("INSERT INTO role_assignments (id, org_id, group_id, resource_type, resource_id, runner_id, role, created_at) SELECT ?, org_id, ?, ?, id, id, ?, ? FROM runners WHERE id = ?"))
                        .bind(Uuid::now_v7().to_string()) // 1
                        .bind(p.group_id.to_string()) // 2
                        .bind(ResourceKind::Runner.as_str()) // 3
                        .bind(ResourceRole::from(p.role).as_str()) // 4
                        .bind(Timestamp::now().0) // 5
                        .bind(p.runner_id.to_string()) // 6
                    )
                        .await?;
                    Ok(())
                }

                async fn update_runner_policy(&self, p: &RunnerPolicy) -> Result<bool, StoreError> {
                    let _timer = crate::metrics::QueryTimer::new("update_runner_policy");
                    let entry = runner_core::audit::entry(AuditSubject::Runner, p.runner_id, None);
                    let r = audited(&self.pool, entry, sqlx::query(&sql("UPDATE role_assignments SET role = ? WHERE runner_id = ? AND group_id = ?"))
                        .bind(ResourceRole::from(p.role).as_str()) // 1
                        .bind(p.runner_id.to_string()) // 2
                        .bind(p.group_id.to_string()) // 3
                    )
                        .await?;
                    Ok(r == 1)
                }

                async fn delete_runner_policy(&self, runner_id: Uuid, group_id: Uuid) -> Result<bool, StoreError> {
                    let _timer = crate::metrics::QueryTimer::new("delete_runner_policy");
                    let entry = runner_core::audit::entry(AuditSubject::Runner, runner_id, None);
                    let r = audited(&self.pool, entry, sqlx::query(&sql("DELETE FROM role_assignments WHERE runner_id = ? AND group_id = ?"))
                        .bind(runner_id.to_string()) // 1
                        .bind(group_id.to_string()) // 2
                    )
                        .await?;
                    Ok(r == 1)
                }
            }

            #[async_trait]
            impl RoleAssignmentRepo for $store {
                async fn insert_role_assignment(&self, a: &RoleAssignment) -> Result<(), StoreError> {
                    let _timer = crate::metrics::QueryTimer::new("insert_role_assignment");
                    let runner_id = (a.resource_kind == ResourceKind::Runner).then(|| a.resource_id.to_string());
                    let entry = runner_core::audit::entry(AuditSubject::RoleAssignment, a.id, Some(a.org_id));
                    audited(&self.pool, entry, sqlx::query(&sql("INSERT INTO role_assignments (id, org_id, group_id, resource_type, resource_id, runner_id, role, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"))
                        .bind(a.id.to_string()) // 1
                        .bind(a.org_id.to_string()) // 2
                        .bind(a.group_id.to_string()) // 3
                        .bind(a.resource_kind.as_str()) // 4
                        .bind(a.resource_id.to_string()) // 5
                        .bind(runner_id) // 6
                        .bind(a.role.as_str()) // 7
                        .bind(a.created_at.0) // 8
                    )
                        .await?;
                    Ok(())
                }

                async fn get_role_assignment(&self, id: Uuid) -> Result<Option<RoleAssignment>, StoreError> {
                    let _timer = crate::metrics::QueryTimer::new("get_role_assignment");
                    let row: Option<RoleAssignmentRow> =
                        sqlx::query_as(&sql(&format!("SELECT {ASSIGNMENT_COLUMNS} FROM role_assignments WHERE id = ?")))
                            .bind(id.to_string()) // 1
                            .fetch_optional(&self.pool)
                            .await
                            .map_err(map)?;
                    row.map(RoleAssignmentRow::into_domain).transpose()
                }

                async fn list_role_assignments(
                    &self,
                    org_id: Uuid,
                    filter: &RoleAssignmentFilter,
                    after: Option<Uuid>,
                    limit: u32,
                ) -> Result<Vec<RoleAssignment>, StoreError> {
                    let _timer = crate::metrics::QueryTimer::new("list_role_assignments");
                    let mut q = QueryBuilder::<$db>::new(format!("SELECT {ASSIGNMENT_COLUMNS} FROM role_assignments WHERE org_id = "));
                    q.push_bind(org_id.to_string());
                    if let Some(after) = after {
                        q.push(" AND id > ").push_bind(after.to_string());
                    }
                    if let Some(group) = filter.group_id {
                        q.push(" AND group_id = ").push_bind(group.to_string());
                    }
                    if let Some(member) = filter.member_id {
                        // The groups the member is in, the system groups (which hold everyone) included.
                        q.push(" AND group_id IN (SELECT id FROM groups WHERE org_id = ").push_bind(org_id.to_string());
                        q.push(" AND (system = 1 OR id IN (SELECT group_id FROM group_members WHERE member_id = ");
                        q.push_bind(member.to_string()).push(")))");
                    }
                    push_in(&mut q, "resource_id", filter.resource_ids.iter().map(|r| r.to_string()));
                    push_in(&mut q, "resource_type", filter.resource_kinds.iter().map(|k| k.as_str().to_owned()));
                    push_in(&mut q, "role", filter.roles.iter().map(|r| r.as_str().to_owned()));
                    q.push(" ORDER BY id LIMIT ").push_bind(i64::from(limit.min(i32::MAX as u32)));
                    let rows: Vec<RoleAssignmentRow> = q.build_query_as().fetch_all(&self.pool).await.map_err(map)?;
                    rows.into_iter().map(RoleAssignmentRow::into_domain).collect()
                }

                async fn delete_role_assignment(&self, id: Uuid) -> Result<bool, StoreError> {
                    let _timer = crate::metrics::QueryTimer::new("delete_role_assignment");
                    let entry = runner_core::audit::entry(AuditSubject::RoleAssignment, id, None);
                    Ok(audited(&self.pool, entry, sqlx::query(&sql("DELETE FROM role_assignments WHERE id = ?")).bind(id.to_string())).await? == 1)
                }

                async fn organization_roles(&self, org_id: Uuid, groups: &[Uuid]) -> Result<Vec<ResourceRole>, StoreError> {
                    let _timer = crate::metrics::QueryTimer::new("organization_roles");
                    if groups.is_empty() {
                        return Ok(Vec::new());
                    }
                    let mut q = QueryBuilder::<$db>::new("SELECT DISTINCT role FROM role_assignments WHERE resource_type = ");
                    q.push_bind(ResourceKind::Organization.as_str()).push(" AND resource_id = ").push_bind(org_id.to_string());
                    push_in(&mut q, "group_id", groups.iter().map(|g| g.to_string()));
                    q.push(" ORDER BY role");
                    let roles: Vec<(String,)> = q.build_query_as().fetch_all(&self.pool).await.map_err(map)?;
                    roles.into_iter().map(|(r,)| enum_value::<ResourceRole>("organization role", &r)).collect()
                }
            }

            #[async_trait]
            impl ConfigurationSchemaRepo for $store {
                async fn get_runner_schema(&self, runner_id: Uuid) -> Result<Option<RunnerConfigurationSchema>, StoreError> {
                    let _timer = crate::metrics::QueryTimer::new("get_runner_schema");
                    let row: Option<(Option<String>,)> = sqlx::query_as(&sql("SELECT configuration_schema FROM runners WHERE id = ?"))
                        .bind(runner_id.to_string()) // 1
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(map)?;
                    match row.and_then(|(json,)| json) {
                        None => Ok(None),
                        Some(json) => serde_json::from_str(&json).map(Some).map_err(|e| corrupt("runner configuration schema", e)),
                    }
                }

                async fn set_runner_schema(&self, runner_id: Uuid, schema: &RunnerConfigurationSchema) -> Result<bool, StoreError> {
                    let _timer = crate::metrics::QueryTimer::new("set_runner_schema");
                    let json = serde_json::to_string(schema).map_err(|e| StoreError::Other(e.to_string()))?;
                    let entry = runner_core::audit::entry(AuditSubject::Runner, runner_id, None);
                    let r = audited(&self.pool, entry, sqlx::query(&sql("UPDATE runners SET configuration_schema = ? WHERE id = ?"))
                        .bind(json) // 1
                        .bind(runner_id.to_string()) // 2
                    )
                        .await?;
                    Ok(r == 1)
                }
            }

            #[async_trait]
            impl EnvironmentClassRepo for $store {
                async fn insert_environment_class(&self, c: &EnvironmentClass) -> Result<(), StoreError> {
                    let _timer = crate::metrics::QueryTimer::new("insert_environment_class");
                    let configuration = serde_json::to_string(&c.configuration).map_err(|e| StoreError::Other(e.to_string()))?;
                    let entry = runner_core::audit::entry(AuditSubject::EnvironmentClass, c.id, None);
                    audited(&self.pool, entry, sqlx::query(&sql("INSERT INTO environment_classes (id, runner_id, display_name, description, configuration, enabled, created_at, updated_at, revision) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",))
                    .bind(c.id.to_string()) // 1
                    .bind(c.runner_id.to_string()) // 2
                    .bind(&c.display_name) // 3
                    .bind(&c.description) // 4
                    .bind(configuration) // 5
                    .bind(i64::from(c.enabled)) // 6
                    .bind(c.created_at.0) // 7
                    .bind(c.updated_at.0) // 8
                    .bind(c.revision) // 9
                    )
                    .await?;
                    Ok(())
                }

                async fn get_environment_class(&self, id: Uuid) -> Result<Option<EnvironmentClass>, StoreError> {
                    let _timer = crate::metrics::QueryTimer::new("get_environment_class");
                    let row: Option<EnvironmentClassRow> =
                        sqlx::query_as(&sql(&format!("SELECT {CLASS_COLUMNS} FROM environment_classes WHERE id = ?")))
                            .bind(id.to_string()) // 1
                            .fetch_optional(&self.pool)
                            .await
                            .map_err(map)?;
                    row.map(EnvironmentClassRow::into_domain).transpose()
                }

                async fn list_environment_classes(
                    &self,
                    visibility: &Visibility,
                    filter: &EnvironmentClassFilter,
                    after: Option<Uuid>,
                    limit: u32,
                ) -> Result<Vec<EnvironmentClass>, StoreError> {
                    let _timer = crate::metrics::QueryTimer::new("list_environment_classes");
                    let columns = CLASS_COLUMNS.split(", ").map(|c| format!("ec.{c}")).collect::<Vec<_>>().join(", ");
                    let mut q = QueryBuilder::<$db>::new(format!(
                        "SELECT {columns} FROM environment_classes ec JOIN runners r ON r.id = ec.runner_id WHERE "
                    ));
                    push_visibility(&mut q, visibility);
                    if let Some(after) = after {
                        q.push(" AND ec.id > ").push_bind(after.to_string());
                    }
                    push_in(&mut q, "ec.runner_id", filter.runner_ids.iter().map(|r| r.to_string()));
                    push_in(&mut q, "r.kind", filter.runner_kinds.iter().map(|k| k.as_str().to_owned()));
                    push_in(&mut q, "r.provider", filter.runner_providers.iter().map(|p| p.as_str().to_owned()));
                    if let Some(enabled) = filter.enabled {
                        q.push(" AND ec.enabled = ").push_bind(i64::from(enabled));
                    }
                    let deleting = RunnerPhase::Deleting.as_str();
                    match filter.can_create_environments {
                        None => {}
                        Some(true) => {
                            q.push(" AND ec.enabled = 1 AND r.phase <> ").push_bind(deleting);
                        }
                        Some(false) => {
                            q.push(" AND (ec.enabled = 0 OR r.phase = ").push_bind(deleting).push(")");
                        }
                    }
                    q.push(" ORDER BY ec.id LIMIT ").push_bind(i64::from(limit));
                    let rows: Vec<EnvironmentClassRow> = q.build_query_as().fetch_all(&self.pool).await.map_err(map)?;
                    rows.into_iter().map(EnvironmentClassRow::into_domain).collect()
                }

                async fn update_environment_class(&self, c: &EnvironmentClass) -> Result<WriteOutcome, StoreError> {
                    let _timer = crate::metrics::QueryTimer::new("update_environment_class");
                    let entry = runner_core::audit::entry(AuditSubject::EnvironmentClass, c.id, None);
                    let r = audited(&self.pool, entry, sqlx::query(&sql("UPDATE environment_classes SET display_name = ?, description = ?, enabled = ?, updated_at = ?, revision = ? WHERE id = ? AND revision = ?",))
                    .bind(&c.display_name) // 1
                    .bind(&c.description) // 2
                    .bind(i64::from(c.enabled)) // 3
                    .bind(c.updated_at.0) // 4
                    .bind(c.revision) // 5
                    .bind(c.id.to_string()) // 6
                    .bind(c.revision - 1) // 7
                    )
                    .await?;
                    Ok(if r == 1 { WriteOutcome::Written } else { WriteOutcome::Conflict })
                }
            }

            #[async_trait]
            impl ScmIntegrationRepo for $store {
                async fn insert_scm_integration(&self, i: &ScmIntegration) -> Result<(), StoreError> {
                    let _timer = crate::metrics::QueryTimer::new("insert_scm_integration");
                    let (client_id, secret, issuer) = oauth_columns(i);
                    let entry = runner_core::audit::entry(AuditSubject::ScmIntegration, i.id, None);
                    audited(&self.pool, entry, sqlx::query(&sql("INSERT INTO scm_integrations (id, runner_id, scm_id, host, oauth_client_id, oauth_encrypted_client_secret, oauth_issuer_url, pat, virtual_directory, created_at, updated_at, revision) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",))
                    .bind(i.id.to_string()) // 1
                    .bind(i.runner_id.to_string()) // 2
                    .bind(&i.scm_id) // 3
                    .bind(&i.host) // 4
                    .bind(client_id) // 5
                    .bind(secret) // 6
                    .bind(issuer) // 7
                    .bind(i64::from(i.pat)) // 8
                    .bind(&i.virtual_directory) // 9
                    .bind(i.created_at.0) // 10
                    .bind(i.updated_at.0) // 11
                    .bind(i.revision) // 12
                    )
                    .await?;
                    Ok(())
                }

                async fn get_scm_integration(&self, id: Uuid) -> Result<Option<ScmIntegration>, StoreError> {
                    let _timer = crate::metrics::QueryTimer::new("get_scm_integration");
                    let row: Option<ScmIntegrationRow> =
                        sqlx::query_as(&sql(&format!("SELECT {SCM_COLUMNS} FROM scm_integrations WHERE id = ?")))
                            .bind(id.to_string()) // 1
                            .fetch_optional(&self.pool)
                            .await
                            .map_err(map)?;
                    row.map(ScmIntegrationRow::into_domain).transpose()
                }

                async fn list_scm_integrations(
                    &self,
                    visibility: &Visibility,
                    runner_ids: &[Uuid],
                    after: Option<Uuid>,
                    limit: u32,
                ) -> Result<Vec<ScmIntegration>, StoreError> {
                    let _timer = crate::metrics::QueryTimer::new("list_scm_integrations");
                    let columns = SCM_COLUMNS.split(", ").map(|c| format!("i.{c}")).collect::<Vec<_>>().join(", ");
                    let mut q = QueryBuilder::<$db>::new(format!(
                        "SELECT {columns} FROM scm_integrations i JOIN runners r ON r.id = i.runner_id WHERE "
                    ));
                    push_visibility(&mut q, visibility);
                    if let Some(after) = after {
                        q.push(" AND i.id > ").push_bind(after.to_string());
                    }
                    push_in(&mut q, "i.runner_id", runner_ids.iter().map(|r| r.to_string()));
                    q.push(" ORDER BY i.id LIMIT ").push_bind(i64::from(limit));
                    let rows: Vec<ScmIntegrationRow> = q.build_query_as().fetch_all(&self.pool).await.map_err(map)?;
                    rows.into_iter().map(ScmIntegrationRow::into_domain).collect()
                }

                async fn update_scm_integration(
                    &self,
                    i: &ScmIntegration,
                    revoke_sources: &[HostTokenSource],
                ) -> Result<WriteOutcome, StoreError> {
                    let _timer = crate::metrics::QueryTimer::new("update_scm_integration");
                    let (client_id, secret, issuer) = oauth_columns(i);
                    let entry = runner_core::audit::entry(AuditSubject::ScmIntegration, i.id, None);
                    let entry = &entry;
                    retried(move || async move {
                        let mut tx = self.pool.begin_with(<$db as crate::sql_store::BeginWrite>::BEGIN_WRITE).await.map_err(map)?;
                        let r = sqlx::query(&sql("UPDATE scm_integrations SET oauth_client_id = ?, oauth_encrypted_client_secret = ?, oauth_issuer_url = ?, pat = ?, virtual_directory = ?, updated_at = ?, revision = ? WHERE id = ? AND revision = ?",))
                        .bind(client_id) // 1
                        .bind(secret) // 2
                        .bind(issuer) // 3
                        .bind(i64::from(i.pat)) // 4
                        .bind(&i.virtual_directory) // 5
                        .bind(i.updated_at.0) // 6
                        .bind(i.revision) // 7
                        .bind(i.id.to_string()) // 8
                        .bind(i.revision - 1) // 9
                        .execute(&mut *tx)
                        .await
                        .map_err(map)?;
                        if r.rows_affected() != 1 {
                            return Ok(WriteOutcome::Conflict);
                        }
                        for source in revoke_sources {
                            sqlx::query(&sql("DELETE FROM host_authentication_tokens WHERE runner_id = ? AND host = ? AND source = ?"))
                                .bind(i.runner_id.to_string()) // 1
                                .bind(&i.host) // 2
                                .bind(source.as_str()) // 3
                                .execute(&mut *tx)
                                .await
                                .map_err(map)?;
                        }
                        record(&mut tx, entry.as_ref()).await?;
                        tx.commit().await.map_err(map)?;
                        Ok(WriteOutcome::Written)
                    })
                    .await
                }

                async fn delete_scm_integration(&self, i: &ScmIntegration) -> Result<bool, StoreError> {
                    let _timer = crate::metrics::QueryTimer::new("delete_scm_integration");
                    let entry = runner_core::audit::entry(AuditSubject::ScmIntegration, i.id, None);
                    let entry = &entry;
                    retried(move || async move {
                        let mut tx = self.pool.begin_with(<$db as crate::sql_store::BeginWrite>::BEGIN_WRITE).await.map_err(map)?;
                        let r = sqlx::query(&sql("DELETE FROM scm_integrations WHERE id = ?"))
                            .bind(i.id.to_string()) // 1
                            .execute(&mut *tx)
                            .await
                            .map_err(map)?;
                        sqlx::query(&sql("DELETE FROM host_authentication_tokens WHERE runner_id = ? AND host = ?"))
                            .bind(i.runner_id.to_string()) // 1
                            .bind(&i.host) // 2
                            .execute(&mut *tx)
                            .await
                            .map_err(map)?;
                        if r.rows_affected() == 1 {
                            record(&mut tx, entry.as_ref()).await?;
                        }
                        tx.commit().await.map_err(map)?;
                        Ok(r.rows_affected() == 1)
                    })
                    .await
                }
            }

            #[async_trait]
            impl HostTokenRepo for $store {
                async fn insert_host_token(&self, t: &HostToken) -> Result<(), StoreError> {
                    let _timer = crate::metrics::QueryTimer::new("insert_host_token");
                    let scopes = serde_json::to_string(&t.scopes).map_err(|e| StoreError::Other(e.to_string()))?;
                    let entry = runner_core::audit::entry(AuditSubject::HostToken, t.id, None);
                    audited(&self.pool, entry, sqlx::query(&sql("INSERT INTO host_authentication_tokens (id, runner_id, host, subject_id, subject_principal, source, token_ciphertext, refresh_token_ciphertext, expires_at, integration_id, scopes, created_at, updated_at, revision) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",))
                    .bind(t.id.to_string()) // 1
                    .bind(t.runner_id.to_string()) // 2
                    .bind(&t.host) // 3
                    .bind(t.subject.id.to_string()) // 4
                    .bind(t.subject.principal.as_str()) // 5
                    .bind(t.source.as_str()) // 6
                    .bind(&t.token_ciphertext) // 7
                    .bind(&t.refresh_token_ciphertext) // 8
                    .bind(t.expires_at.map(|e| e.0)) // 9
                    .bind(t.integration_id.map(|i| i.to_string())) // 10
                    .bind(scopes) // 11
                    .bind(t.created_at.0) // 12
                    .bind(t.updated_at.0) // 13
                    .bind(t.revision) // 14
                    )
                    .await?;
                    Ok(())
                }

                async fn get_host_token(&self, id: Uuid) -> Result<Option<HostToken>, StoreError> {
                    let _timer = crate::metrics::QueryTimer::new("get_host_token");
                    let row: Option<HostTokenRow> =
                        sqlx::query_as(&sql(&format!("SELECT {HOST_TOKEN_COLUMNS} FROM host_authentication_tokens WHERE id = ?")))
                            .bind(id.to_string()) // 1
                            .fetch_optional(&self.pool)
                            .await
                            .map_err(map)?;
                    row.map(HostTokenRow::into_domain).transpose()
                }

                async fn list_host_tokens(
                    &self,
                    visibility: &Visibility,
                    runner: Option<Uuid>,
                    subject: Option<Uuid>,
                    after: Option<Uuid>,
                    limit: u32,
                ) -> Result<Vec<HostToken>, StoreError> {
                    let _timer = crate::metrics::QueryTimer::new("list_host_tokens");
                    let columns = HOST_TOKEN_COLUMNS.split(", ").map(|c| format!("t.{c}")).collect::<Vec<_>>().join(", ");
                    let mut q = QueryBuilder::<$db>::new(format!(
                        "SELECT {columns} FROM host_authentication_tokens t JOIN runners r ON r.id = t.runner_id WHERE "
                    ));
                    push_visibility(&mut q, visibility);
                    if let Some(runner) = runner {
                        q.push(" AND t.runner_id = ").push_bind(runner.to_string());
                    }
                    if let Some(subject) = subject {
                        q.push(" AND t.subject_id = ").push_bind(subject.to_string());
                    }
                    if let Some(after) = after {
                        q.push(" AND t.id > ").push_bind(after.to_string());
                    }
                    q.push(" ORDER BY t.id LIMIT ").push_bind(i64::from(limit));
                    let rows: Vec<HostTokenRow> = q.build_query_as().fetch_all(&self.pool).await.map_err(map)?;
                    rows.into_iter().map(HostTokenRow::into_domain).collect()
                }

                async fn update_host_token(&self, t: &HostToken) -> Result<WriteOutcome, StoreError> {
                    let _timer = crate::metrics::QueryTimer::new("update_host_token");
                    let scopes = serde_json::to_string(&t.scopes).map_err(|e| StoreError::Other(e.to_string()))?;
                    let entry = runner_core::audit::entry(AuditSubject::HostToken, t.id, None);
                    let r = audited(&self.pool, entry, sqlx::query(&sql("UPDATE host_authentication_tokens SET source = ?, token_ciphertext = ?, refresh_token_ciphertext = ?, expires_at = ?, integration_id = ?, scopes = ?, updated_at = ?, revision = ? WHERE id = ? AND revision = ?",))
                    .bind(t.source.as_str()) // 1
                    .bind(&t.token_ciphertext) // 2
                    .bind(&t.refresh_token_ciphertext) // 3
                    .bind(t.expires_at.map(|e| e.0)) // 4
                    .bind(t.integration_id.map(|i| i.to_string())) // 5
                    .bind(scopes) // 6
                    .bind(t.updated_at.0) // 7
                    .bind(t.revision) // 8
                    .bind(t.id.to_string()) // 9
                    .bind(t.revision - 1) // 10
                    )
                    .await?;
                    Ok(if r == 1 { WriteOutcome::Written } else { WriteOutcome::Conflict })
                }

                async fn delete_host_token(&self, id: Uuid) -> Result<bool, StoreError> {
                    let _timer = crate::metrics::QueryTimer::new("delete_host_token");
                    let entry = runner_core::audit::entry(AuditSubject::HostToken, id, None);
                    Ok(audited(&self.pool, entry, sqlx::query(&sql("DELETE FROM host_authentication_tokens WHERE id = ?")).bind(id.to_string())).await? == 1)
                }
            }

            #[async_trait]
            impl LlmIntegrationRepo for $store {
                async fn insert_llm_integration(&self, i: &LlmIntegration) -> Result<(), StoreError> {
                    let _timer = crate::metrics::QueryTimer::new("insert_llm_integration");
                    let body = serde_json::to_string(&i.body).map_err(|e| StoreError::Other(e.to_string()))?;
                    let entry = runner_core::audit::entry(AuditSubject::LlmIntegration, i.id, None);
                    audited(&self.pool, entry, sqlx::query(&sql("INSERT INTO llm_integrations (id, runner_id, body, created_at, updated_at, revision) VALUES (?, ?, ?, ?, ?, ?)"))
                        .bind(i.id.to_string()) // 1
                        .bind(i.runner_id.to_string()) // 2
                        .bind(body) // 3
                        .bind(i.created_at.0) // 4
                        .bind(i.updated_at.0) // 5
                        .bind(i.revision) // 6
                    )
                        .await?;
                    Ok(())
                }

                async fn get_llm_integration(&self, id: Uuid) -> Result<Option<LlmIntegration>, StoreError> {
                    let _timer = crate::metrics::QueryTimer::new("get_llm_integration");
                    let row: Option<LlmIntegrationRow> = sqlx::query_as(&sql("SELECT id, runner_id, body, created_at, updated_at, revision FROM llm_integrations WHERE id = ?",))
                    .bind(id.to_string()) // 1
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(map)?;
                    row.map(LlmIntegrationRow::into_domain).transpose()
                }

                async fn list_llm_integrations(
                    &self,
                    visibility: &Visibility,
                    runner_ids: &[Uuid],
                    after: Option<Uuid>,
                    limit: u32,
                ) -> Result<Vec<LlmIntegration>, StoreError> {
                    let _timer = crate::metrics::QueryTimer::new("list_llm_integrations");
                    let mut q = QueryBuilder::<$db>::new(
                        "SELECT l.id, l.runner_id, l.body, l.created_at, l.updated_at, l.revision FROM llm_integrations l JOIN runners r ON r.id = l.runner_id WHERE ",
                    );
                    push_visibility(&mut q, visibility);
                    if let Some(after) = after {
                        q.push(" AND l.id > ").push_bind(after.to_string());
                    }
                    push_in(&mut q, "l.runner_id", runner_ids.iter().map(|r| r.to_string()));
                    q.push(" ORDER BY l.id LIMIT ").push_bind(i64::from(limit));
                    let rows: Vec<LlmIntegrationRow> = q.build_query_as().fetch_all(&self.pool).await.map_err(map)?;
                    rows.into_iter().map(LlmIntegrationRow::into_domain).collect()
                }

                async fn update_llm_integration(&self, i: &LlmIntegration) -> Result<WriteOutcome, StoreError> {
                    let _timer = crate::metrics::QueryTimer::new("update_llm_integration");
                    let body = serde_json::to_string(&i.body).map_err(|e| StoreError::Other(e.to_string()))?;
                    let entry = runner_core::audit::entry(AuditSubject::LlmIntegration, i.id, None);
                    let r = audited(&self.pool, entry, sqlx::query(&sql("UPDATE llm_integrations SET body = ?, updated_at = ?, revision = ? WHERE id = ? AND revision = ?",))
                    .bind(body) // 1
                    .bind(i.updated_at.0) // 2
                    .bind(i.revision) // 3
                    .bind(i.id.to_string()) // 4
                    .bind(i.revision - 1) // 5
                    )
                    .await?;
                    Ok(if r == 1 { WriteOutcome::Written } else { WriteOutcome::Conflict })
                }

                async fn delete_llm_integration(&self, id: Uuid) -> Result<bool, StoreError> {
                    let _timer = crate::metrics::QueryTimer::new("delete_llm_integration");
                    let entry = runner_core::audit::entry(AuditSubject::LlmIntegration, id, None);
                    Ok(audited(&self.pool, entry, sqlx::query(&sql("DELETE FROM llm_integrations WHERE id = ?")).bind(id.to_string())).await? == 1)
                }
            }

            #[async_trait]
            impl AuditRepo for $store {
                async fn insert_audit_entry(&self, entry: &AuditEntry) -> Result<(), StoreError> {
                    let _timer = crate::metrics::QueryTimer::new("insert_audit_entry");
                    insert_audit(&self.pool, entry).await
                }

                async fn get_audit_entry(&self, id: Uuid) -> Result<Option<AuditEntry>, StoreError> {
                    let _timer = crate::metrics::QueryTimer::new("get_audit_entry");
                    let row: Option<AuditRow> = sqlx::query_as(&sql(&format!("SELECT {AUDIT_COLUMNS} FROM audit_log_entries WHERE id = ?")))
                        .bind(id.to_string()) // 1
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(map)?;
                    row.map(AuditRow::into_domain).transpose()
                }

                async fn list_audit_entries(
                    &self,
                    org_id: Uuid,
                    filter: &AuditFilter,
                    after: Option<Uuid>,
                    limit: u32,
                ) -> Result<Vec<AuditEntry>, StoreError> {
                    let _timer = crate::metrics::QueryTimer::new("list_audit_entries");
                    let mut q = QueryBuilder::<$db>::new(format!("SELECT {AUDIT_COLUMNS} FROM audit_log_entries WHERE org_id = "));
                    q.push_bind(org_id.to_string());
                    let (before_or_after, order) = if filter.oldest_first { (" > ", " ORDER BY id LIMIT ") } else { (" < ", " ORDER BY id DESC LIMIT ") };
                    if let Some(after) = after {
                        q.push(" AND id").push(before_or_after).push_bind(after.to_string());
                    }
                    push_in(&mut q, "actor_id", filter.actor_ids.iter().map(|a| a.to_string()));
                    push_in(&mut q, "actor_principal", filter.actor_principals.iter().map(|p| p.as_str().to_owned()));
                    push_in(&mut q, "subject_id", filter.subject_ids.iter().map(|a| a.to_string()));
                    push_in(&mut q, "subject_type", filter.subject_types.iter().map(|t| t.as_str().to_owned()));
                    if let Some(from) = filter.from {
                        q.push(" AND created_at >= ").push_bind(from.0);
                    }
                    if let Some(to) = filter.to {
                        q.push(" AND created_at < ").push_bind(to.0);
                    }
                    q.push(order).push_bind(i64::from(limit.min(i32::MAX as u32)));
                    let rows: Vec<AuditRow> = q.build_query_as().fetch_all(&self.pool).await.map_err(map)?;
                    rows.into_iter().map(AuditRow::into_domain).collect()
                }

                async fn prune_audit_entries(&self, before: Timestamp) -> Result<u64, StoreError> {
                    let _timer = crate::metrics::QueryTimer::new("prune_audit_entries");
                    let r = sqlx::query(&sql("DELETE FROM audit_log_entries WHERE created_at < ?"))
                        .bind(before.0) // 1
                        .execute(&self.pool)
                        .await
                        .map_err(map)?;
                    Ok(r.rows_affected())
                }
            }

            #[async_trait]
            impl ServerRepo for $store {
                async fn key_fingerprint(&self, fingerprint: &str) -> Result<String, StoreError> {
                    let _timer = crate::metrics::QueryTimer::new("key_fingerprint");
                    sqlx::query(&sql("INSERT INTO server_settings (name, value) VALUES ('key_fingerprint', ?) ON CONFLICT (name) DO NOTHING"))
                        .bind(fingerprint)
                        .execute(&self.pool)
                        .await
                        .map_err(map)?;
                    sqlx::query_scalar(&sql("SELECT value FROM server_settings WHERE name = 'key_fingerprint'"))
                        .fetch_one(&self.pool)
                        .await
                        .map_err(map)
                }

                async fn write_turn(&self, key: Uuid, wait: std::time::Duration) -> Result<Option<WriteTurn>, StoreError> {
                    self.take_write_turn(key, wait).await
                }

                fn pool_usage(&self) -> (u32, u32) {
                    (self.pool.size(), u32::try_from(self.pool.num_idle()).unwrap_or(u32::MAX))
                }

                async fn ping(&self) -> Result<(), StoreError> {
                    let _timer = crate::metrics::QueryTimer::new("ping");
                    sqlx::query(&sql("SELECT 1")).execute(&self.pool).await.map_err(map).map(|_| ())
                }
            }

            async fn insert_runner_row(tx: &mut sqlx::Transaction<'_, $db>, runner: &Runner) -> Result<(), StoreError> {
                let c = RunnerColumns::from_domain(runner)?;
                let mut q = QueryBuilder::new(
                    "INSERT INTO runners (id, org_id, name, kind, provider, runner_manager_id, creator_id, creator_principal, phase, spec, status, spec_proto, status_proto, created_at, updated_at, revision) VALUES (",
                );
                push_runner_values(&mut q, &c);
                q.push(")");
                q.build().execute(&mut **tx).await.map_err(map)?;
                Ok(())
            }

            async fn insert_group<'e, E: sqlx::Executor<'e, Database = $db>>(exec: E, g: &Group) -> Result<(), StoreError> {
                sqlx::query(&sql("INSERT INTO groups (id, org_id, name, description, system, direct_share, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"))
                    .bind(g.id.to_string()) // 1
                    .bind(g.org_id.to_string()) // 2
                    .bind(&g.name) // 3
                    .bind(&g.description) // 4
                    .bind(i64::from(g.system)) // 5
                    .bind(i64::from(g.direct_share)) // 6
                    .bind(g.created_at.0) // 7
                    .bind(g.updated_at.0) // 8
                    .execute(exec)
                    .await
                    .map_err(map)?;
                Ok(())
            }

            /// Runs `statement` with one bound id (`?`); whether it touched exactly one row.
            async fn one_row_by_id<'e, E: sqlx::Executor<'e, Database = $db>>(
                exec: E,
                statement: &str,
                id: Uuid,
            ) -> Result<bool, StoreError> {
                let r = sqlx::query(&sql(statement)).bind(id.to_string()).execute(exec).await.map_err(map)?;
                Ok(r.rows_affected() == 1)
            }

            pub(super) async fn insert_member<'e, E: sqlx::Executor<'e, Database = $db>>(exec: E, m: &Member) -> Result<(), StoreError> {
                sqlx::query(&sql("INSERT INTO members (id, org_id, account_id, principal, name, role, suspended, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"))
                    .bind(m.id.to_string()) // 1
                    .bind(m.org_id.to_string()) // 2
                    .bind(m.account_id.to_string()) // 3
                    .bind(m.principal.as_str()) // 4
                    .bind(&m.name) // 5
                    .bind(m.role.as_str()) // 6
                    .bind(i64::from(m.suspended)) // 7
                    .bind(m.created_at.0) // 8
                    .execute(exec)
                    .await
                    .map_err(map)?;
                Ok(())
            }

            impl SqlText for QueryBuilder<'_, $db> {
                fn text(&mut self, text: &str) -> &mut Self {
                    self.push(text)
                }
                fn bind_text(&mut self, value: String) -> &mut Self {
                    self.push_bind(value)
                }
                fn bind_int(&mut self, value: i64) -> &mut Self {
                    self.push_bind(value)
                }
            }

            /// The OAuth columns of an integration: client id, sealed secret, issuer URL (all NULL without OAuth).
            fn oauth_columns(i: &ScmIntegration) -> (Option<&str>, Option<&[u8]>, Option<&str>) {
                match &i.oauth {
                    Some(o) => (Some(&o.client_id), Some(&o.encrypted_client_secret), Some(&o.issuer_url)),
                    None => (None, None, None),
                }
            }
        }
    };
}
