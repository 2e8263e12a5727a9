//! `SsoRepo` for both backends, written once, as [`sql_store!`] is for the other traits: the
//! macro expands inside a backend module, with that module's `sql` and `map`.
//!
//! A configuration is one row of `sso_configurations` (its keys as columns, the rest as a JSON
//! document of `SsoDetails`), and one row of `sso_email_domains` per domain, whose primary key
//! makes a domain belong to one configuration on the whole server. Both are written in one
//! transaction; a domain taken by another configuration fails it with `AlreadyExists`.

use runner_core::identity::{SsoConfiguration, SsoDetails};
use runner_core::store::StoreError;
use runner_core::time::Timestamp;

use crate::error::corrupt;
use crate::rows::uuid;

/// The columns of a configuration, in this order.
pub(crate) const SSO_COLUMNS: &str =
    "id, org_id, client_id, client_secret_ciphertext, issuer_url, active, details, created_at, updated_at, revision";

#[derive(sqlx::FromRow)]
pub(crate) struct SsoConfigurationRow {
    pub id: String,
    pub org_id: String,
    pub client_id: String,
    pub client_secret_ciphertext: Vec<u8>,
    pub issuer_url: String,
    pub active: i64,
    pub details: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub revision: i64,
}

impl SsoConfigurationRow {
    /// The domain value, with its domains (read separately).
    pub(crate) fn into_domain(self, email_domains: Vec<String>) -> Result<SsoConfiguration, StoreError> {
        let details: SsoDetails =
            serde_json::from_str(&self.details).map_err(|e| corrupt("SSO configuration details", e))?;
        Ok(SsoConfiguration {
            id: uuid("SSO configuration id", &self.id)?,
            org_id: uuid("SSO configuration organization", &self.org_id)?,
            client_id: self.client_id,
            client_secret_ciphertext: self.client_secret_ciphertext,
            issuer_url: self.issuer_url,
            active: self.active != 0,
            email_domains,
            details,
            created_at: Timestamp(self.created_at),
            updated_at: Timestamp(self.updated_at),
            revision: self.revision,
        })
    }
}

pub(crate) fn details_json(config: &SsoConfiguration) -> Result<String, StoreError> {
    serde_json::to_string(&config.details).map_err(|e| StoreError::Other(e.to_string()))
}

macro_rules! sso_store {
    ($store:ident, $db:ident) => {
        mod sso_queries {
            use async_trait::async_trait;
            use runner_core::identity::SsoConfiguration;
            use runner_core::store::{SsoRepo, StoreError, WriteOutcome};
            use sqlx::$db;
            use uuid::Uuid;

            use runner_core::model::AuditSubject;

            use super::queries::{audited, record};
            use super::{$store, map, sql};
            use crate::sso_store::{SSO_COLUMNS, SsoConfigurationRow, details_json};

            /// Writes the configuration's domains (after its old ones were removed, on update).
            async fn insert_domains(
                tx: &mut sqlx::Transaction<'_, $db>,
                config: &SsoConfiguration,
            ) -> Result<(), StoreError> {
                for (position, domain) in config.email_domains.iter().enumerate() {
                    sqlx::query(&sql(
                        "INSERT INTO sso_email_domains (domain, configuration_id, position) VALUES (?, ?, ?)",
                    ))
                    .bind(domain) // 1
                    .bind(config.id.to_string()) // 2
                    .bind(position as i64) // 3
                    .execute(&mut **tx)
                    .await
                    .map_err(map)?;
                }
                Ok(())
            }

            /// The rows with their domains, in the rows' order.
            async fn with_domains(
                pool: &sqlx::Pool<$db>,
                rows: Vec<SsoConfigurationRow>,
            ) -> Result<Vec<SsoConfiguration>, StoreError> {
                let mut out = Vec::with_capacity(rows.len());
                for row in rows {
                    let domains: Vec<String> = sqlx::query_scalar(&sql(
                        "SELECT domain FROM sso_email_domains WHERE configuration_id = ? ORDER BY position",
                    ))
                    .bind(&row.id)
                    .fetch_all(pool)
                    .await
                    .map_err(map)?;
                    out.push(row.into_domain(domains)?);
                }
                Ok(out)
            }

            #[async_trait]
            impl SsoRepo for $store {
                async fn insert_sso_configuration(&self, c: &SsoConfiguration) -> Result<(), StoreError> {
                    let _timer = crate::metrics::QueryTimer::new("insert_sso_configuration");
                    let details = details_json(c)?;
                    let entry = runner_core::audit::entry(AuditSubject::SsoConfiguration, c.id, Some(c.org_id));
                    let mut tx = self.pool.begin_with(<$db as crate::sql_store::BeginWrite>::BEGIN_WRITE).await.map_err(map)?;
                    sqlx::query(&sql(&format!(
                        "INSERT INTO sso_configurations ({SSO_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                    )))
                    .bind(c.id.to_string()) // 1
                    .bind(c.org_id.to_string()) // 2
                    .bind(&c.client_id) // 3
                    .bind(&c.client_secret_ciphertext) // 4
                    .bind(&c.issuer_url) // 5
                    .bind(i64::from(c.active)) // 6
                    .bind(details) // 7
                    .bind(c.created_at.0) // 8
                    .bind(c.updated_at.0) // 9
                    .bind(c.revision) // 10
                    .execute(&mut *tx)
                    .await
                    .map_err(map)?;
                    insert_domains(&mut tx, c).await?;
                    record(&mut tx, entry.as_ref()).await?;
                    tx.commit().await.map_err(map)
                }

                async fn get_sso_configuration(&self, id: Uuid) -> Result<Option<SsoConfiguration>, StoreError> {
                    let _timer = crate::metrics::QueryTimer::new("get_sso_configuration");
                    let row: Option<SsoConfigurationRow> =
                        sqlx::query_as(&sql(&format!("SELECT {SSO_COLUMNS} FROM sso_configurations WHERE id = ?")))
                            .bind(id.to_string()) // 1
                            .fetch_optional(&self.pool)
                            .await
                            .map_err(map)?;
                    Ok(with_domains(&self.pool, row.into_iter().collect()).await?.pop())
                }

                async fn list_sso_configurations(
                    &self,
                    org_id: Uuid,
                    after: Option<Uuid>,
                    limit: u32,
                ) -> Result<Vec<SsoConfiguration>, StoreError> {
                    let _timer = crate::metrics::QueryTimer::new("list_sso_configurations");
                    let after = after.map(|a| a.to_string()).unwrap_or_default();
                    let rows: Vec<SsoConfigurationRow> = sqlx::query_as(&sql(&format!(
                        "SELECT {SSO_COLUMNS} FROM sso_configurations WHERE org_id = ? AND id > ? ORDER BY id LIMIT ?"
                    )))
                    .bind(org_id.to_string()) // 1
                    .bind(after) // 2
                    .bind(i64::from(limit)) // 3
                    .fetch_all(&self.pool)
                    .await
                    .map_err(map)?;
                    with_domains(&self.pool, rows).await
                }

                async fn find_sso_configuration_by_domain(
                    &self,
                    domain: &str,
                ) -> Result<Option<SsoConfiguration>, StoreError> {
                    let _timer = crate::metrics::QueryTimer::new("find_sso_configuration_by_domain");
                    let row: Option<SsoConfigurationRow> = sqlx::query_as(&sql(&format!(
                        "SELECT {SSO_COLUMNS} FROM sso_configurations WHERE id = (SELECT configuration_id FROM sso_email_domains WHERE domain = ?)"
                    )))
                    .bind(domain) // 1
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(map)?;
                    Ok(with_domains(&self.pool, row.into_iter().collect()).await?.pop())
                }

                async fn update_sso_configuration(&self, c: &SsoConfiguration) -> Result<WriteOutcome, StoreError> {
                    let _timer = crate::metrics::QueryTimer::new("update_sso_configuration");
                    let details = details_json(c)?;
                    let entry = runner_core::audit::entry(AuditSubject::SsoConfiguration, c.id, Some(c.org_id));
                    let mut tx = self.pool.begin_with(<$db as crate::sql_store::BeginWrite>::BEGIN_WRITE).await.map_err(map)?;
                    let r = sqlx::query(&sql(
                        "UPDATE sso_configurations SET client_id = ?, client_secret_ciphertext = ?, issuer_url = ?, active = ?, details = ?, updated_at = ?, revision = ? WHERE id = ? AND revision = ?",
                    ))
                    .bind(&c.client_id) // 1
                    .bind(&c.client_secret_ciphertext) // 2
                    .bind(&c.issuer_url) // 3
                    .bind(i64::from(c.active)) // 4
                    .bind(details) // 5
                    .bind(c.updated_at.0) // 6
                    .bind(c.revision) // 7
                    .bind(c.id.to_string()) // 8
                    .bind(c.revision - 1) // 9
                    .execute(&mut *tx)
                    .await
                    .map_err(map)?;
                    if r.rows_affected() != 1 {
                        return Ok(WriteOutcome::Conflict);
                    }
                    sqlx::query(&sql("DELETE FROM sso_email_domains WHERE configuration_id = ?"))
                        .bind(c.id.to_string()) // 1
                        .execute(&mut *tx)
                        .await
                        .map_err(map)?;
                    insert_domains(&mut tx, c).await?;
                    record(&mut tx, entry.as_ref()).await?;
                    tx.commit().await.map_err(map)?;
                    Ok(WriteOutcome::Written)
                }

                async fn delete_sso_configuration(&self, id: Uuid) -> Result<bool, StoreError> {
                    let _timer = crate::metrics::QueryTimer::new("delete_sso_configuration");
                    let entry = runner_core::audit::entry(AuditSubject::SsoConfiguration, id, None);
                    let statement = sql("DELETE FROM sso_configurations WHERE id = ?");
                    Ok(audited(&self.pool, entry, sqlx::query(&statement).bind(id.to_string())).await? == 1)
                }
            }
        }
    };
}
