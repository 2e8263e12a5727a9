//! SSO configurations of organizations: OpenID Connect providers their people sign in through.
//! An email domain belongs to at most one configuration on the whole server (sign-in picks the
//! configuration by the domain of the address typed in).

use async_trait::async_trait;
use uuid::Uuid;

use super::{StoreError, WriteOutcome};
use crate::identity::SsoConfiguration;

#[async_trait]
pub trait SsoRepo: Send + Sync {
    /// Inserts the configuration with its email domains, in one transaction. `AlreadyExists`
    /// when one of its domains belongs to another configuration (nothing is written).
    async fn insert_sso_configuration(&self, config: &SsoConfiguration) -> Result<(), StoreError>;
    async fn get_sso_configuration(&self, id: Uuid) -> Result<Option<SsoConfiguration>, StoreError>;
    /// The organization's configurations by id, after `after`.
    async fn list_sso_configurations(
        &self,
        org_id: Uuid,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<SsoConfiguration>, StoreError>;
    /// The configuration an email domain (lower case) belongs to, active or not.
    async fn find_sso_configuration_by_domain(&self, domain: &str) -> Result<Option<SsoConfiguration>, StoreError>;
    /// Writes `config` (its revision bumped) and replaces its domains only if the stored
    /// revision is one less. `AlreadyExists` when a new domain belongs to another
    /// configuration (nothing is written).
    async fn update_sso_configuration(&self, config: &SsoConfiguration) -> Result<WriteOutcome, StoreError>;
    /// `false` when it was gone already. Its domains go with it.
    async fn delete_sso_configuration(&self, id: Uuid) -> Result<bool, StoreError>;
}
