//! Users as the API shows them (UserService): the caller's own profile, the other users of its
//! organization, their suspension and removal, and personal access tokens.
//!
//! A user is a member ([`Member`] with [`Principal::User`]) of exactly one organization; a
//! person in two organizations is two users of one account. A personal access token acts as
//! its user, in that user's organization only. Who may do what is in `docs/authorization.md`
//! ("UserService"); the changes of who may do what go through [`Accounts`], which checks the
//! last-admin invariant in the store's transaction and empties the token cache.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::accounts::{Accounts, IssuedToken};
use crate::error::{CoreError, Resource, Result};
use crate::identity::{AccessTokenInfo, Caller, Member};
use crate::model::{ApiEnum, Principal};
use crate::page::{Page, PageTokens};
use crate::store::Store;
use crate::time::Timestamp;
use crate::validate::{self, Violations};

pub use crate::validate::{MAX_TOKEN_DESCRIPTION, MAX_TOKEN_VALIDITY_SECS};

const TOKENS_LIST_KIND: &str = "personal access tokens";

/// CreatePersonalAccessToken's input, as the request gives it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CreateTokenInput {
    pub user_id: String,
    pub description: String,
    /// `valid_for` in whole seconds; `None` when absent.
    pub valid_for_seconds: Option<i64>,
    pub read_only: bool,
}

/// The user use cases over a store.
#[derive(Clone)]
pub struct Users {
    store: Arc<dyn Store>,
    accounts: Accounts,
    page_tokens: PageTokens,
}

impl Users {
    pub fn new(store: Arc<dyn Store>, accounts: Accounts, page_tokens: PageTokens) -> Self {
        Self { store, accounts, page_tokens }
    }

    /// The same use cases through other [`Accounts`] (another token cache).
    pub fn with_accounts(self, accounts: Accounts) -> Self {
        Self { accounts, ..self }
    }

    /// Users and service accounts of the organization read its users; runners may not.
    pub(crate) fn may_read(caller: &Caller) -> Result<()> {
        match caller.subject.principal {
            Principal::User | Principal::ServiceAccount => Ok(()),
            p => Err(CoreError::denied(
                "users",
                format!("only users and service accounts of the organization read its users, not a {}", p.as_str()),
            )),
        }
    }

    /// Only organization admins change other users.
    pub(crate) fn admin(caller: &Caller, what: &str, user: &Member) -> Result<()> {
        if caller.org_admin {
            Ok(())
        } else {
            Err(CoreError::denied(format!("user {}", user.id), format!("only organization admins {what}")))
        }
    }

    /// The caller's own user; a service account or a runner has none (`permission_denied`).
    pub(crate) async fn caller_user(&self, caller: &Caller) -> Result<Member> {
        if caller.subject.principal != Principal::User {
            return Err(CoreError::denied(
                "users",
                format!("the caller is a {}, not a user", caller.subject.principal.as_str()),
            ));
        }
        self.store
            .get_member(caller.subject.id)
            .await?
            .ok_or_else(|| CoreError::not_found(Resource::User, caller.subject.id))
    }

    /// A user of the caller's organization by id: another organization's user, a service
    /// account or nothing at all is `not_found` alike.
    pub(crate) async fn user_in_org(&self, caller: &Caller, field: &str, id: &str) -> Result<Member> {
        let id = validate::uuid(field, id)?;
        self.store
            .get_member(id)
            .await?
            .filter(|m| m.org_id == caller.org_id && m.principal == Principal::User)
            .ok_or_else(|| CoreError::not_found(Resource::User, id))
    }

    /// GetAuthenticatedUser: the caller, if it is a user.
    pub async fn authenticated_user(&self, caller: &Caller) -> Result<Member> {
        self.caller_user(caller).await
    }

    /// GetUser: a user of the caller's organization.
    pub async fn get(&self, caller: &Caller, user_id: &str) -> Result<Member> {
        Self::may_read(caller)?;
        self.user_in_org(caller, "userId", user_id).await
    }

    /// SetSuspended: an org admin suspends a user of the organization or lifts the suspension.
    pub async fn set_suspended(&self, caller: &Caller, user_id: &str, suspended: bool) -> Result<()> {
        Self::may_read(caller)?;
        let user = self.user_in_org(caller, "userId", user_id).await?;
        Self::admin(caller, "suspend users", &user)?;
        self.accounts.set_suspended(user.id, suspended).await
    }

    /// DeleteUser: an org admin removes a user of the organization.
    pub async fn delete(&self, caller: &Caller, user_id: &str) -> Result<()> {
        Self::may_read(caller)?;
        let user = self.user_in_org(caller, "userId", user_id).await?;
        Self::admin(caller, "delete users", &user)?;
        self.accounts.delete_member(user.id).await
    }

    /// LeaveOrganization: a user removes itself from its organization.
    pub async fn leave(&self, caller: &Caller, user_id: &str) -> Result<()> {
        self.caller_user(caller).await?;
        let user = self.user_in_org(caller, "userId", user_id).await?;
        if user.id != caller.subject.id {
            return Err(CoreError::denied(
                format!("user {}", user.id),
                "a user leaves an organization only by itself; admins remove other users with DeleteUser",
            ));
        }
        self.accounts.delete_member(user.id).await
    }

    /// CreatePersonalAccessToken: a token for the caller's own user, or for a user of the
    /// caller's own account in another organization (so that the founder of an organization
    /// can act in it). The value is in the answer only.
    pub async fn create_token(&self, caller: &Caller, input: CreateTokenInput) -> Result<IssuedToken> {
        let me = self.caller_user(caller).await?;
        let mut v = Violations::default();
        let target = v.check(validate::uuid("userId", &input.user_id));
        v.check(validate::text("description", &input.description, MAX_TOKEN_DESCRIPTION));
        let valid_for = v.check(validate::token_validity("validFor", input.valid_for_seconds));
        if input.read_only {
            v.push(crate::FieldViolation::new("readOnly", "read-only tokens are not supported by this server"));
        }
        v.finish()?;
        let target = target.expect("checked");
        let user = self
            .store
            .get_member(target)
            .await?
            .filter(|m| m.principal == Principal::User && (m.org_id == caller.org_id || m.account_id == me.account_id))
            .ok_or_else(|| CoreError::not_found(Resource::User, target))?;
        if user.account_id != me.account_id {
            return Err(CoreError::denied(
                format!("user {}", user.id),
                "a personal access token is created by its own user only",
            ));
        }
        let expires_at = Timestamp::now().plus_seconds(valid_for.expect("checked"));
        self.accounts.mint_token(&user, &input.description, Some(expires_at), Some(caller.subject.clone())).await
    }

    /// A personal access token the caller may see: its own, or as an org admin any user's of
    /// the organization. Others (another user's for a member, a service account's, another
    /// organization's) are `not_found`.
    async fn visible_token(&self, caller: &Caller, id: &str) -> Result<AccessTokenInfo> {
        Self::may_read(caller)?;
        let id = validate::uuid("personalAccessTokenId", id)?;
        let not_found = || CoreError::not_found(Resource::PersonalAccessToken, id);
        let token = self
            .store
            .get_access_token(id)
            .await?
            .filter(|t| t.org_id == caller.org_id && t.revoked_at.is_none())
            .ok_or_else(not_found)?;
        let own = token.member_id == caller.subject.id && caller.subject.principal == Principal::User;
        if !own {
            let owner = self.store.get_member(token.member_id).await?;
            if !caller.org_admin || owner.is_none_or(|o| o.principal != Principal::User) {
                return Err(not_found());
            }
        }
        Ok(token)
    }

    /// GetPersonalAccessToken.
    pub async fn get_token(&self, caller: &Caller, id: &str) -> Result<AccessTokenInfo> {
        self.visible_token(caller, id).await
    }

    /// DeletePersonalAccessToken: it stops authenticating with the next call.
    pub async fn delete_token(&self, caller: &Caller, id: &str) -> Result<()> {
        let token = self.visible_token(caller, id).await?;
        self.accounts.delete_token(token.id).await
    }

    /// ListPersonalAccessTokens: the caller's own tokens; an org admin may name other users of
    /// the organization in `user_ids`. Ordered by id, paged.
    pub async fn list_tokens(
        &self,
        caller: &Caller,
        user_ids: &[String],
        page_size: i32,
        token: &str,
    ) -> Result<Page<AccessTokenInfo>> {
        Self::may_read(caller)?;
        let mut v = Violations::default();
        let size = v.check(validate::page_size("pagination.pageSize", page_size));
        let ids = v.check(validate::filter_list("filter.userIds", user_ids, |f, s| validate::uuid(f, s)));
        let cursor = v.check(self.page_tokens.cursor(
            "pagination.token",
            TOKENS_LIST_KIND,
            token,
            TokenFilter { user_ids: ids.unwrap_or_default() },
        ));
        v.finish()?;
        let (size, cursor) = (size.expect("checked"), cursor.expect("checked"));
        let after = cursor.after_id()?;
        let filter = cursor.filter;
        let me = (caller.subject.principal == Principal::User).then_some(caller.subject.id);
        let mut members = Vec::new();
        if filter.user_ids.is_empty() {
            members.extend(me);
        }
        for &id in &filter.user_ids {
            if Some(id) == me {
                members.push(id);
            } else if !caller.org_admin {
                return Err(CoreError::denied(
                    format!("personal access tokens of user {id}"),
                    "only organization admins list other users' tokens",
                ));
            } else if self
                .store
                .get_member(id)
                .await?
                .is_some_and(|m| m.org_id == caller.org_id && m.principal == Principal::User)
            {
                members.push(id);
            }
        }
        let items = self.store.list_member_access_tokens(&members, after, size + 1).await?;
        Ok(self.page_tokens.page(TOKENS_LIST_KIND, &filter, items, size, |t: &AccessTokenInfo| t.id))
    }
}

/// The filter of ListPersonalAccessTokens; page tokens carry it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct TokenFilter {
    user_ids: Vec<Uuid>,
}
