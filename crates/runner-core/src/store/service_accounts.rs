//! Service accounts: members with principal `ServiceAccount`, and their details. A service
//! account is deleted as every member is (`IdentityRepo::change_member`), its details with it.

use async_trait::async_trait;
use uuid::Uuid;

use super::StoreError;
use crate::identity::ServiceAccount;

#[async_trait]
pub trait ServiceAccountRepo: Send + Sync {
    /// Creates the member and its details together; `AlreadyExists` when the organization has a
    /// service account of that name.
    async fn create_service_account(&self, account: &ServiceAccount) -> Result<(), StoreError>;
    /// The member with this id if it is a service account, with its details (the defaults
    /// when it has none stored).
    async fn get_service_account(&self, id: Uuid) -> Result<Option<ServiceAccount>, StoreError>;
    /// The organization's service accounts, by id.
    async fn list_service_accounts(&self, org_id: Uuid) -> Result<Vec<ServiceAccount>, StoreError>;
    /// Changes what is given of the name and the description; `false` when there is no such
    /// service account, `AlreadyExists` when the organization has another of that name.
    async fn update_service_account(
        &self,
        id: Uuid,
        name: Option<&str>,
        description: Option<&str>,
    ) -> Result<bool, StoreError>;
}
