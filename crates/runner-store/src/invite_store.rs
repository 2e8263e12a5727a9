//! `InviteRepo` for both backends, written once, as [`sso_store!`] is: the macro expands inside
//! a backend module, with that module's `sql` and `map`.
//!
//! An invite is one row of `organization_invites`, whose `org_id` is unique: an organization
//! has one current invite. Creating one is a single upsert on `org_id` (the new id replaces the
//! old one in the same row, so two creates at once leave one of them, never two or none);
//! the audit entry names the organization (an invite is not a resource type of the API).

use runner_core::identity::OrganizationInvite;
use runner_core::model::Principal;
use runner_core::store::StoreError;
use runner_core::time::Timestamp;

use crate::rows::{enum_value, uuid};

/// The columns of an invite, in this order.
pub(crate) const INVITE_COLUMNS: &str = "id, org_id, creator_id, creator_principal, created_at";

#[derive(sqlx::FromRow)]
pub(crate) struct InviteRow {
    pub id: String,
    pub org_id: String,
    pub creator_id: String,
    pub creator_principal: String,
    pub created_at: i64,
}

impl InviteRow {
    pub(crate) fn into_domain(self) -> Result<OrganizationInvite, StoreError> {
        Ok(OrganizationInvite {
            id: uuid("invite id", &self.id)?,
            org_id: uuid("invite organization", &self.org_id)?,
            creator: runner_core::model::Subject {
                id: uuid("invite creator", &self.creator_id)?,
                principal: enum_value::<Principal>("invite creator principal", &self.creator_principal)?,
            },
            created_at: Timestamp(self.created_at),
        })
    }
}

macro_rules! invite_store {
    ($store:ident, $db:ident) => {
        mod invite_queries {
            use async_trait::async_trait;
            use runner_core::identity::OrganizationInvite;
            use runner_core::model::{ApiEnum, AuditSubject};
            use runner_core::store::{InviteRepo, StoreError};
            use uuid::Uuid;

            use super::queries::{audited, record};
            use super::{$store, map, sql};
            use crate::invite_store::{INVITE_COLUMNS, InviteRow};

            /// The insert of `invite`, ending with `conflict` (the clause for a taken `org_id`).
            fn insert_statement(conflict: &str) -> String {
                format!("INSERT INTO organization_invites ({INVITE_COLUMNS}) VALUES (?, ?, ?, ?, ?) ON CONFLICT (org_id) {conflict}")
            }

            #[async_trait]
            impl InviteRepo for $store {
                async fn create_invite(&self, i: &OrganizationInvite) -> Result<(), StoreError> {
                    let _timer = crate::metrics::QueryTimer::new("create_invite");
                    let entry = runner_core::audit::entry(AuditSubject::Organization, i.org_id, Some(i.org_id));
                    let statement = sql(&insert_statement(
                        "DO UPDATE SET id = excluded.id, creator_id = excluded.creator_id, creator_principal = excluded.creator_principal, created_at = excluded.created_at",
                    ))
                    .into_owned();
                    let query = sqlx::query(&statement)
                        .bind(i.id.to_string()) // 1
                        .bind(i.org_id.to_string()) // 2
                        .bind(i.creator.id.to_string()) // 3
                        .bind(i.creator.principal.as_str()) // 4
                        .bind(i.created_at.0); // 5
                    audited(&self.pool, entry, query).await?;
                    Ok(())
                }

                async fn get_or_create_invite(
                    &self,
                    c: &OrganizationInvite,
                ) -> Result<OrganizationInvite, StoreError> {
                    let _timer = crate::metrics::QueryTimer::new("get_or_create_invite");
                    let entry = runner_core::audit::entry(AuditSubject::Organization, c.org_id, Some(c.org_id));
                    let mut tx = self.pool.begin_with(<sqlx::$db as crate::sql_store::BeginWrite>::BEGIN_WRITE).await.map_err(map)?;
                    let inserted = sqlx::query(&sql(&insert_statement("DO NOTHING")))
                        .bind(c.id.to_string()) // 1
                        .bind(c.org_id.to_string()) // 2
                        .bind(c.creator.id.to_string()) // 3
                        .bind(c.creator.principal.as_str()) // 4
                        .bind(c.created_at.0) // 5
                        .execute(&mut *tx)
                        .await
                        .map_err(map)?
                        .rows_affected();
                    if inserted == 1 {
                        record(&mut tx, entry.as_ref()).await?;
                    }
                    // A statement of its own: on PostgreSQL (read committed) it sees the row a
                    // concurrent transaction committed while the insert above waited for it.
                    let row: InviteRow = sqlx::query_as(&sql(&format!(
                        "SELECT {INVITE_COLUMNS} FROM organization_invites WHERE org_id = ?"
                    )))
                    .bind(c.org_id.to_string()) // 1
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(map)?;
                    tx.commit().await.map_err(map)?;
                    row.into_domain()
                }

                async fn get_invite(&self, id: Uuid) -> Result<Option<OrganizationInvite>, StoreError> {
                    let _timer = crate::metrics::QueryTimer::new("get_invite");
                    let row: Option<InviteRow> = sqlx::query_as(&sql(&format!(
                        "SELECT {INVITE_COLUMNS} FROM organization_invites WHERE id = ?"
                    )))
                    .bind(id.to_string()) // 1
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(map)?;
                    row.map(InviteRow::into_domain).transpose()
                }
            }
        }
    };
}
