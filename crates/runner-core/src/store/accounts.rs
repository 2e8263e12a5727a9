//! Accounts (people) and the identities at OpenID providers that sign in as them; an account's
//! members are its users, one per organization.

use async_trait::async_trait;
use uuid::Uuid;

use super::StoreError;
use crate::identity::{Account, AccountIdentity, Member};

#[async_trait]
pub trait AccountRepo: Send + Sync {
    /// Creates an account with its first member (whose `account_id` is the account's id) and,
    /// if given, the identity it signs in with, in one transaction. `AlreadyExists` when the
    /// email, the identity or the member's id or name is taken, or the account already has a
    /// member in that organization; nothing is written then.
    async fn create_account(
        &self,
        account: &Account,
        first_member: &Member,
        identity: Option<&AccountIdentity>,
    ) -> Result<(), StoreError>;
    async fn get_account(&self, id: Uuid) -> Result<Option<Account>, StoreError>;
    /// The account with this email (lower case, as stored).
    async fn find_account_by_email(&self, email: &str) -> Result<Option<Account>, StoreError>;
    /// The account an identity at an OpenID provider is linked to.
    async fn find_account_by_identity(&self, issuer: &str, subject: &str) -> Result<Option<Account>, StoreError>;
    /// Links another identity to an existing account: `false` when there is no such account,
    /// `AlreadyExists` when the identity is linked already (to any account).
    async fn link_account_identity(&self, identity: &AccountIdentity) -> Result<bool, StoreError>;
    /// Writes the name, avatar URL and `updated_at` of the account (its profile, as the
    /// provider last reported it), and marks its email vouched for when `email_vouched` (a
    /// mark never removed); `false` when there is no such account.
    async fn update_account_profile(&self, account: &Account) -> Result<bool, StoreError>;
    /// The issuers of the identities linked to the account, each once, in order: the OpenID
    /// providers that have vouched for its email address.
    async fn account_issuers(&self, account_id: Uuid) -> Result<Vec<String>, StoreError>;
    /// The account's members (its memberships of organizations), oldest first.
    async fn list_account_members(&self, account_id: Uuid) -> Result<Vec<Member>, StoreError>;
}
