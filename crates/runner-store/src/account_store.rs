//! `AccountRepo` for both backends, written once, as [`sso_store!`] is: the macro expands inside
//! a backend module, with that module's `sql` and `map`.
//!
//! An account is one row of `accounts` (its email unique, lower case); each identity at an
//! OpenID provider that signs in as it is one row of `account_identities`, keyed by issuer and
//! subject. Its members are the rows of `members` with its id as `account_id` (unique per
//! organization).

use runner_core::identity::Account;
use runner_core::store::StoreError;
use runner_core::time::Timestamp;

use crate::rows::uuid;

/// The columns of an account, in this order.
pub(crate) const ACCOUNT_COLUMNS: &str = "id, email, name, avatar_url, created_at, updated_at, email_vouched";

/// The columns of a member, in this order (as the shared SQL reads them).
pub(crate) const ACCOUNT_MEMBER_COLUMNS: &str = "id, org_id, account_id, principal, name, role, suspended, created_at";

#[derive(sqlx::FromRow)]
pub(crate) struct AccountRow {
    pub id: String,
    pub email: String,
    pub name: String,
    pub avatar_url: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub email_vouched: bool,
}

impl AccountRow {
    pub(crate) fn into_domain(self) -> Result<Account, StoreError> {
        Ok(Account {
            id: uuid("account id", &self.id)?,
            email: self.email,
            name: self.name,
            avatar_url: self.avatar_url,
            created_at: Timestamp(self.created_at),
            updated_at: Timestamp(self.updated_at),
            email_vouched: self.email_vouched,
        })
    }
}

macro_rules! account_store {
    ($store:ident, $db:ident) => {
        mod account_queries {
            use async_trait::async_trait;
            use runner_core::identity::{Account, AccountIdentity, Member};
            use runner_core::model::{AuditSubject, Principal};
            use runner_core::store::{AccountRepo, StoreError};
            use sqlx::$db;
            use uuid::Uuid;

            use super::queries::{insert_member, record};
            use super::{map, sql, $store};
            use crate::account_store::{ACCOUNT_COLUMNS, ACCOUNT_MEMBER_COLUMNS, AccountRow};
            use crate::rows::MemberRow;

            async fn insert_identity<'e, E: sqlx::Executor<'e, Database = $db>>(
                exec: E,
                i: &AccountIdentity,
            ) -> Result<(), StoreError> {
                sqlx::query(&sql(
                    "INSERT INTO account_identities (issuer, subject, account_id, created_at) VALUES (?, ?, ?, ?)",
                ))
                .bind(&i.issuer) // 1
                .bind(&i.subject) // 2
                .bind(i.account_id.to_string()) // 3
                .bind(i.created_at.0) // 4
                .execute(exec)
                .await
                .map_err(map)?;
                Ok(())
            }

            async fn one_account(
                pool: &sqlx::Pool<$db>,
                condition: &str,
                binds: &[&str],
            ) -> Result<Option<Account>, StoreError> {
                let statement = sql_owned(&format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE {condition}"));
                let mut query = sqlx::query_as::<_, AccountRow>(&statement);
                for b in binds {
                    query = query.bind(*b);
                }
                let row = query.fetch_optional(pool).await.map_err(map)?;
                row.map(AccountRow::into_domain).transpose()
            }

            fn sql_owned(text: &str) -> String {
                sql(text).into_owned()
            }

            #[async_trait]
            impl AccountRepo for $store {
                async fn create_account(
                    &self,
                    a: &Account,
                    first_member: &Member,
                    identity: Option<&AccountIdentity>,
                ) -> Result<(), StoreError> {
                    let _timer = crate::metrics::QueryTimer::new("create_account");
                    let org = Some(first_member.org_id);
                    let account_entry = runner_core::audit::entry(AuditSubject::Account, a.id, org);
                    let member_subject = if first_member.principal == Principal::ServiceAccount {
                        AuditSubject::ServiceAccount
                    } else {
                        AuditSubject::User
                    };
                    let member_entry = runner_core::audit::entry(member_subject, first_member.id, org);
                    let mut tx =
                        self.pool.begin_with(<$db as crate::sql_store::BeginWrite>::BEGIN_WRITE).await.map_err(map)?;
                    sqlx::query(&sql(&format!("INSERT INTO accounts ({ACCOUNT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)")))
                        .bind(a.id.to_string()) // 1
                        .bind(&a.email) // 2
                        .bind(&a.name) // 3
                        .bind(&a.avatar_url) // 4
                        .bind(a.created_at.0) // 5
                        .bind(a.updated_at.0) // 6
                        .bind(a.email_vouched) // 7
                        .execute(&mut *tx)
                        .await
                        .map_err(map)?;
                    insert_member(&mut *tx, first_member).await?;
                    if let Some(i) = identity {
                        insert_identity(&mut *tx, i).await?;
                    }
                    record(&mut tx, account_entry.as_ref()).await?;
                    record(&mut tx, member_entry.as_ref()).await?;
                    tx.commit().await.map_err(map)
                }

                async fn get_account(&self, id: Uuid) -> Result<Option<Account>, StoreError> {
                    let _timer = crate::metrics::QueryTimer::new("get_account");
                    one_account(&self.pool, "id = ?", &[&id.to_string()]).await
                }

                async fn find_account_by_email(&self, email: &str) -> Result<Option<Account>, StoreError> {
                    let _timer = crate::metrics::QueryTimer::new("find_account_by_email");
                    one_account(&self.pool, "email = ?", &[email]).await
                }

                async fn find_account_by_identity(
                    &self,
                    issuer: &str,
                    subject: &str,
                ) -> Result<Option<Account>, StoreError> {
                    let _timer = crate::metrics::QueryTimer::new("find_account_by_identity");
                    one_account(
                        &self.pool,
                        "id = (SELECT account_id FROM account_identities WHERE issuer = ? AND subject = ?)",
                        &[issuer, subject],
                    )
                    .await
                }

                async fn link_account_identity(&self, i: &AccountIdentity) -> Result<bool, StoreError> {
                    let _timer = crate::metrics::QueryTimer::new("link_account_identity");
                    let entry = runner_core::audit::entry(AuditSubject::Account, i.account_id, None);
                    let mut tx =
                        self.pool.begin_with(<$db as crate::sql_store::BeginWrite>::BEGIN_WRITE).await.map_err(map)?;
                    let exists: Option<String> = sqlx::query_scalar(&sql("SELECT id FROM accounts WHERE id = ?"))
                        .bind(i.account_id.to_string()) // 1
                        .fetch_optional(&mut *tx)
                        .await
                        .map_err(map)?;
                    if exists.is_none() {
                        return Ok(false);
                    }
                    insert_identity(&mut *tx, i).await?;
                    record(&mut tx, entry.as_ref()).await?;
                    tx.commit().await.map_err(map)?;
                    Ok(true)
                }

                async fn update_account_profile(&self, a: &Account) -> Result<bool, StoreError> {
                    let _timer = crate::metrics::QueryTimer::new("update_account_profile");
                    let entry = runner_core::audit::entry(AuditSubject::Account, a.id, None);
                    // The vouch mark is only ever set.
                    let statement = sql(
                        "UPDATE accounts SET name = ?, avatar_url = ?, updated_at = ?, email_vouched = (email_vouched OR ?) \
                         WHERE id = ?",
                    );
                    let query = sqlx::query(&statement)
                        .bind(&a.name) // 1
                        .bind(&a.avatar_url) // 2
                        .bind(a.updated_at.0) // 3
                        .bind(a.email_vouched) // 4
                        .bind(a.id.to_string()); // 5
                    Ok(super::queries::audited(&self.pool, entry, query).await? == 1)
                }

                async fn account_issuers(&self, account_id: Uuid) -> Result<Vec<String>, StoreError> {
                    let _timer = crate::metrics::QueryTimer::new("account_issuers");
                    sqlx::query_scalar(&sql(
                        "SELECT DISTINCT issuer FROM account_identities WHERE account_id = ? ORDER BY issuer",
                    ))
                    .bind(account_id.to_string()) // 1
                    .fetch_all(&self.pool)
                    .await
                    .map_err(map)
                }

                async fn list_account_members(&self, account_id: Uuid) -> Result<Vec<Member>, StoreError> {
                    let _timer = crate::metrics::QueryTimer::new("list_account_members");
                    let rows: Vec<MemberRow> = sqlx::query_as(&sql(&format!(
                        "SELECT {ACCOUNT_MEMBER_COLUMNS} FROM members WHERE account_id = ? ORDER BY created_at, id"
                    )))
                    .bind(account_id.to_string()) // 1
                    .fetch_all(&self.pool)
                    .await
                    .map_err(map)?;
                    rows.into_iter().map(MemberRow::into_domain).collect()
                }
            }
        }
    };
}
