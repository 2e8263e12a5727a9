//! `SessionRepo` for both backends, written once, as [`account_store!`] is: SSO sign-ins in
//! progress (`sso_login_states`, taken once with `DELETE … RETURNING`) and console sessions
//! (`console_sessions`), each by the SHA-256 of its secret.

use runner_core::identity::{ConsoleSession, SsoLoginState};
use runner_core::store::StoreError;
use runner_core::time::Timestamp;

use crate::rows::uuid;

pub(crate) const LOGIN_STATE_COLUMNS: &str =
    "configuration_id, nonce, pkce_verifier_ciphertext, invite_id, return_to, created_at, expires_at";
pub(crate) const SESSION_COLUMNS: &str = "id, member_id, org_id, created_at, expires_at";

#[derive(sqlx::FromRow)]
pub(crate) struct LoginStateRow {
    pub configuration_id: String,
    pub nonce: String,
    pub pkce_verifier_ciphertext: Vec<u8>,
    pub invite_id: Option<String>,
    pub return_to: String,
    pub created_at: i64,
    pub expires_at: i64,
}

impl LoginStateRow {
    pub(crate) fn into_domain(self) -> Result<SsoLoginState, StoreError> {
        Ok(SsoLoginState {
            configuration_id: uuid("sign-in configuration", &self.configuration_id)?,
            nonce: self.nonce,
            pkce_verifier_ciphertext: self.pkce_verifier_ciphertext,
            invite_id: self.invite_id.as_deref().map(|i| uuid("sign-in invite", i)).transpose()?,
            return_to: self.return_to,
            created_at: Timestamp(self.created_at),
            expires_at: Timestamp(self.expires_at),
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct SessionRow {
    pub id: String,
    pub member_id: String,
    pub org_id: String,
    pub created_at: i64,
    pub expires_at: i64,
}

impl SessionRow {
    pub(crate) fn into_domain(self) -> Result<ConsoleSession, StoreError> {
        Ok(ConsoleSession {
            id: uuid("session id", &self.id)?,
            member_id: uuid("session member", &self.member_id)?,
            org_id: uuid("session organization", &self.org_id)?,
            created_at: Timestamp(self.created_at),
            expires_at: Timestamp(self.expires_at),
        })
    }
}

macro_rules! session_store {
    ($store:ident, $db:ident) => {
        mod session_queries {
            use async_trait::async_trait;
            use runner_core::identity::{ConsoleSession, Group, Member, SsoLoginState};
            use runner_core::model::AuditSubject;
            use runner_core::store::{IdentityRepo, SessionRepo, StoreError};
            use runner_core::time::Timestamp;

            use super::queries::audited;
            use super::{map, sql, $store};
            use crate::session_store::{LOGIN_STATE_COLUMNS, LoginStateRow, SESSION_COLUMNS, SessionRow};

            #[async_trait]
            impl SessionRepo for $store {
                async fn insert_login_state(&self, s: &SsoLoginState, hash: &[u8]) -> Result<(), StoreError> {
                    let _timer = crate::metrics::QueryTimer::new("insert_login_state");
                    sqlx::query(&sql("DELETE FROM sso_login_states WHERE expires_at <= ?"))
                        .bind(s.created_at.0) // 1
                        .execute(&self.pool)
                        .await
                        .map_err(map)?;
                    sqlx::query(&sql(&format!(
                        "INSERT INTO sso_login_states (hash, {LOGIN_STATE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
                    )))
                    .bind(hash) // 1
                    .bind(s.configuration_id.to_string()) // 2
                    .bind(&s.nonce) // 3
                    .bind(&s.pkce_verifier_ciphertext) // 4
                    .bind(s.invite_id.map(|i| i.to_string())) // 5
                    .bind(&s.return_to) // 6
                    .bind(s.created_at.0) // 7
                    .bind(s.expires_at.0) // 8
                    .execute(&self.pool)
                    .await
                    .map_err(map)?;
                    Ok(())
                }

                async fn take_login_state(
                    &self,
                    hash: &[u8],
                    now: Timestamp,
                ) -> Result<Option<SsoLoginState>, StoreError> {
                    let _timer = crate::metrics::QueryTimer::new("take_login_state");
                    let row: Option<LoginStateRow> = sqlx::query_as(&sql(&format!(
                        "DELETE FROM sso_login_states WHERE hash = ? RETURNING {LOGIN_STATE_COLUMNS}"
                    )))
                    .bind(hash) // 1
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(map)?;
                    let state = row.map(LoginStateRow::into_domain).transpose()?;
                    Ok(state.filter(|s| s.expires_at > now))
                }

                async fn insert_session(&self, s: &ConsoleSession, hash: &[u8]) -> Result<(), StoreError> {
                    let _timer = crate::metrics::QueryTimer::new("insert_session");
                    let entry = runner_core::audit::entry(AuditSubject::User, s.member_id, Some(s.org_id));
                    let statement = sql(&format!(
                        "INSERT INTO console_sessions (hash, {SESSION_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)"
                    ))
                    .into_owned();
                    let query = sqlx::query(&statement)
                        .bind(hash) // 1
                        .bind(s.id.to_string()) // 2
                        .bind(s.member_id.to_string()) // 3
                        .bind(s.org_id.to_string()) // 4
                        .bind(s.created_at.0) // 5
                        .bind(s.expires_at.0); // 6
                    audited(&self.pool, entry, query).await?;
                    Ok(())
                }

                async fn resolve_session(
                    &self,
                    hash: &[u8],
                    now: Timestamp,
                ) -> Result<Option<(ConsoleSession, Member, Vec<Group>)>, StoreError> {
                    let _timer = crate::metrics::QueryTimer::new("resolve_session");
                    let row: Option<SessionRow> = sqlx::query_as(&sql(&format!(
                        "SELECT {SESSION_COLUMNS} FROM console_sessions WHERE hash = ? AND expires_at > ?"
                    )))
                    .bind(hash) // 1
                    .bind(now.0) // 2
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(map)?;
                    let Some(session) = row.map(SessionRow::into_domain).transpose()? else {
                        return Ok(None);
                    };
                    let Some(member) = self.get_member(session.member_id).await? else {
                        return Ok(None);
                    };
                    let groups = super::queries::member_groups(&self.pool, &member).await?;
                    Ok(Some((session, member, groups)))
                }

                async fn delete_session(&self, hash: &[u8]) -> Result<bool, StoreError> {
                    let _timer = crate::metrics::QueryTimer::new("delete_session");
                    let mut tx = self.pool.begin().await.map_err(map)?;
                    let row: Option<SessionRow> = sqlx::query_as(&sql(&format!(
                        "DELETE FROM console_sessions WHERE hash = ? RETURNING {SESSION_COLUMNS}"
                    )))
                    .bind(hash) // 1
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(map)?;
                    let Some(session) = row.map(SessionRow::into_domain).transpose()? else {
                        return Ok(false);
                    };
                    let entry = runner_core::audit::entry(AuditSubject::User, session.member_id, Some(session.org_id));
                    super::queries::record(&mut tx, entry.as_ref()).await?;
                    tx.commit().await.map_err(map)?;
                    Ok(true)
                }

                async fn prune_sessions(&self, now: Timestamp) -> Result<u64, StoreError> {
                    let _timer = crate::metrics::QueryTimer::new("prune_sessions");
                    let mut pruned = 0;
                    for table in ["console_sessions", "sso_login_states"] {
                        let statement = sql(&format!("DELETE FROM {table} WHERE expires_at <= ?")).into_owned();
                        let r = sqlx::query(&statement)
                            .bind(now.0) // 1
                            .execute(&self.pool)
                            .await
                            .map_err(map)?;
                        pruned += r.rows_affected();
                    }
                    Ok(pruned)
                }
            }
        }
    };
}
