//! Service accounts as the API manages them (ServiceAccountService): non-human members of an
//! organization, for automation, and their tokens (personal access tokens of the service
//! account: the same hashed-token records, [`crate::accounts`]).
//!
//! Who may do what (docs/authorization.md, "Service accounts"):
//! - organization admins create, update and delete service accounts and get short-lived
//!   access tokens for them (CreateServiceAccountAccessToken);
//! - every user and service account of the organization lists and gets its service accounts
//!   (as groups, so that they can be picked by name);
//! - a service account creates, lists, gets and deletes its own tokens; organization admins
//!   list, get and delete the tokens of every service account of the organization;
//! - a runner's own principal may do none of it; another organization's service accounts and
//!   tokens are `not_found`.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::accounts::{Accounts, IssuedToken, NewServiceAccount};
use crate::error::{CoreError, FieldViolation, Resource, Result};
use crate::events::{Audience, EventResource, Operation};
use crate::identity::{AccessTokenInfo, Caller, OrgRole, ServiceAccount};
use crate::model::{ApiEnum, Principal};
use crate::page::{Page, PageTokens};
use crate::store::Store;
use crate::time::Timestamp;
use crate::validate::{self, Violations};

const LIST_KIND: &str = "service accounts";
const TOKENS_KIND: &str = "service account tokens";

/// Lifetime of the tokens CreateServiceAccountAccessToken gives: short-lived, as the API says.
pub const ACCESS_TOKEN_TTL_SECS: i64 = 3600;

/// The filters of ListServiceAccounts, as the request gives them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListServiceAccountsInput {
    pub include_suspended: bool,
    pub service_account_ids: Vec<String>,
    pub search: String,
}

/// The checked filters; page tokens carry them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct AccountFilter {
    include_suspended: bool,
    ids: Vec<Uuid>,
    search: String,
}

impl AccountFilter {
    fn matches(&self, a: &ServiceAccount) -> bool {
        let search = self.search.to_lowercase();
        (self.include_suspended || !a.member.suspended)
            && (self.ids.is_empty() || self.ids.contains(&a.member.id))
            && (search.is_empty()
                || a.member.name.to_lowercase().contains(&search)
                || a.details.description.to_lowercase().contains(&search))
    }
}

/// CreateServiceAccount input, as the request gives it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CreateServiceAccountInput {
    pub name: String,
    pub description: String,
    pub valid_until: Option<Timestamp>,
}

/// A token of a service account (never its value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceAccountToken {
    pub info: AccessTokenInfo,
}

/// The service account use cases over a store.
#[derive(Clone)]
pub struct ServiceAccounts {
    store: Arc<dyn Store>,
    accounts: Accounts,
    page_tokens: PageTokens,
}

/// Users and service accounts of the organization; never a runner's principal.
fn member_of_organization(caller: &Caller) -> Result<()> {
    match caller.subject.principal {
        Principal::User | Principal::ServiceAccount => Ok(()),
        _ => Err(CoreError::denied(
            "service accounts",
            "only users and service accounts of the organization use its service accounts",
        )),
    }
}

fn admin(caller: &Caller, account: &ServiceAccount) -> Result<()> {
    if caller.org_admin {
        Ok(())
    } else {
        Err(CoreError::denied(
            format!("service account {}", account.member.id),
            "only organization admins manage service accounts",
        ))
    }
}

impl ServiceAccounts {
    /// `accounts` shares its token cache, which every change here empties.
    pub fn new(store: Arc<dyn Store>, accounts: Accounts, page_tokens: PageTokens) -> Self {
        Self { store, accounts, page_tokens }
    }

    /// The same use cases over another `Accounts` (and so its token cache).
    pub fn with_accounts(mut self, accounts: Accounts) -> Self {
        self.accounts = accounts;
        self
    }

    /// A service account of the caller's organization; any other id is `not_found`.
    async fn find(&self, caller: &Caller, field: &str, id: &str) -> Result<ServiceAccount> {
        let id = validate::uuid(field, id)?;
        self.store
            .get_service_account(id)
            .await?
            .filter(|a| a.member.org_id == caller.org_id)
            .ok_or_else(|| CoreError::not_found(Resource::ServiceAccount, id))
    }

    /// CreateServiceAccount: an organization admin creates one in its organization, valid
    /// until a time in the future, with the organization role `member`.
    pub async fn create(&self, caller: &Caller, input: CreateServiceAccountInput) -> Result<ServiceAccount> {
        member_of_organization(caller)?;
        if !caller.org_admin {
            return Err(CoreError::denied("service accounts", "only organization admins create service accounts"));
        }
        let mut v = Violations::default();
        v.check(validate::name("name", &input.name, 1, 64));
        v.check(validate::text("description", &input.description, 500));
        match input.valid_until {
            None => v.push(FieldViolation::new("validUntil", "is required")),
            Some(t) if t <= Timestamp::now() => v.push(FieldViolation::new("validUntil", "must be in the future")),
            Some(_) => {}
        }
        v.finish()?;
        self.accounts
            .create_service_account(NewServiceAccount {
                org_id: caller.org_id,
                name: input.name,
                description: input.description,
                creator: Some(caller.subject.clone()),
                valid_until: input.valid_until,
                role: OrgRole::Member,
            })
            .await
    }

    /// ListServiceAccounts: the caller's organization's service accounts, ordered by id,
    /// filtered and paged; suspended ones only when asked.
    pub async fn list(
        &self,
        caller: &Caller,
        input: ListServiceAccountsInput,
        page_size: i32,
        token: &str,
    ) -> Result<Page<ServiceAccount>> {
        member_of_organization(caller)?;
        let mut v = Violations::default();
        let size = v.check(validate::page_size("pagination.pageSize", page_size));
        let ids = v.check(validate::filter_list("filter.serviceAccountIds", &input.service_account_ids, |f, s| {
            validate::uuid(f, s)
        }));
        v.check(validate::length("filter.search", &input.search, 0, 256));
        let request_filter = AccountFilter {
            include_suspended: input.include_suspended,
            ids: ids.unwrap_or_default(),
            search: input.search,
        };
        let cursor = v.check(self.page_tokens.cursor("pagination.token", LIST_KIND, token, request_filter));
        v.finish()?;
        let (size, cursor) = (size.expect("checked"), cursor.expect("checked"));
        let after = cursor.after_id()?;
        let filter = cursor.filter;
        // An organization has a bounded number of service accounts: read whole, paged here.
        let items: Vec<ServiceAccount> = self
            .store
            .list_service_accounts(caller.org_id)
            .await?
            .into_iter()
            .filter(|a| after.is_none_or(|x| a.member.id > x) && filter.matches(a))
            .take(size as usize + 1)
            .collect();
        Ok(self.page_tokens.page(LIST_KIND, &filter, items, size, |a: &ServiceAccount| a.member.id))
    }

    /// GetServiceAccount: one of the caller's organization.
    pub async fn get(&self, caller: &Caller, id: &str) -> Result<ServiceAccount> {
        member_of_organization(caller)?;
        self.find(caller, "serviceAccountId", id).await
    }

    /// UpdateServiceAccount: an organization admin changes the name or the description, each
    /// only when given.
    pub async fn update(
        &self,
        caller: &Caller,
        id: &str,
        name: Option<String>,
        description: Option<String>,
    ) -> Result<ServiceAccount> {
        member_of_organization(caller)?;
        let account = self.find(caller, "serviceAccountId", id).await?;
        admin(caller, &account)?;
        let mut v = Violations::default();
        if let Some(name) = &name {
            v.check(validate::name("name", name, 1, 64));
        }
        if let Some(description) = &description {
            v.check(validate::text("description", description, 500));
        }
        v.finish()?;
        let id = account.member.id;
        let shown = name.clone().unwrap_or_else(|| account.member.name.clone());
        let updated = self
            .store
            .update_service_account(id, name.as_deref(), description.as_deref())
            .await
            .map_err(crate::accounts::duplicate_of(Resource::ServiceAccount, "service account", &shown))?;
        let found = if updated { self.store.get_service_account(id).await? } else { None };
        let found = found.ok_or_else(|| CoreError::not_found(Resource::ServiceAccount, id))?;
        let creator = found.details.creator.as_ref();
        let (org_id, resource) = (found.member.org_id, EventResource::ServiceAccount);
        self.accounts.published(org_id, Operation::Update, resource, id, creator, Audience::Members);
        Ok(found)
    }

    /// DeleteServiceAccount: an organization admin deletes one with its tokens, memberships
    /// and direct shares; its tokens stop working at once in this process.
    pub async fn delete(&self, caller: &Caller, id: &str) -> Result<()> {
        member_of_organization(caller)?;
        let account = self.find(caller, "serviceAccountId", id).await?;
        admin(caller, &account)?;
        // As every member goes: with its tokens, memberships, direct shares and host tokens, in
        // one transaction, the token cache emptied.
        self.accounts.delete_member(account.member.id).await
    }

    /// CreateServiceAccountAccessToken: an organization admin gets a token of the service
    /// account that works for [`ACCESS_TOKEN_TTL_SECS`] (for example to call
    /// CreateServiceAccountToken as the service account).
    pub async fn create_access_token(&self, caller: &Caller, id: &str) -> Result<String> {
        member_of_organization(caller)?;
        let account = self.find(caller, "serviceAccountId", id).await?;
        admin(caller, &account)?;
        usable(&account)?;
        let description =
            format!("access token created by {} {}", caller.subject.principal.as_str(), caller.subject.id);
        let expires_at = Timestamp::now().plus_seconds(ACCESS_TOKEN_TTL_SECS);
        let creator = Some(caller.subject.clone());
        let issued = self.accounts.mint_token(&account.member, &description, Some(expires_at), creator).await?;
        Ok(issued.token)
    }

    /// CreateServiceAccountToken: the calling service account creates a token of its own,
    /// valid for a required time of at most [`validate::MAX_TOKEN_VALIDITY_SECS`], as personal
    /// access tokens.
    pub async fn create_token(
        &self,
        caller: &Caller,
        description: &str,
        valid_for_secs: Option<i64>,
    ) -> Result<(String, ServiceAccountToken)> {
        let account = self.calling_account(caller).await?;
        let mut v = Violations::default();
        v.check(validate::text("description", description, validate::MAX_TOKEN_DESCRIPTION));
        let valid_for = v.check(validate::token_validity("validFor", valid_for_secs));
        v.finish()?;
        usable(&account)?;
        let expires_at = Timestamp::now().plus_seconds(valid_for.expect("checked"));
        let creator = Some(caller.subject.clone());
        let IssuedToken { token, info } =
            self.accounts.mint_token(&account.member, description, Some(expires_at), creator).await?;
        Ok((token, ServiceAccountToken { info }))
    }

    /// The service account calling; anyone else is refused (CreateServiceAccountToken has no
    /// service account to name).
    async fn calling_account(&self, caller: &Caller) -> Result<ServiceAccount> {
        if caller.subject.principal != Principal::ServiceAccount {
            return Err(CoreError::denied(
                "service account tokens",
                "only a service account creates its own tokens; organization admins use CreateServiceAccountAccessToken",
            ));
        }
        self.store
            .get_service_account(caller.subject.id)
            .await?
            .ok_or_else(|| CoreError::not_found(Resource::ServiceAccount, caller.subject.id))
    }

    /// Whose tokens the caller may see: a service account its own, an organization admin those
    /// of every service account of the organization; anyone else none.
    async fn token_owners(&self, caller: &Caller) -> Result<Vec<Uuid>> {
        member_of_organization(caller)?;
        Ok(if caller.org_admin {
            self.store.list_service_accounts(caller.org_id).await?.into_iter().map(|a| a.member.id).collect()
        } else if caller.subject.principal == Principal::ServiceAccount {
            vec![caller.subject.id]
        } else {
            Vec::new()
        })
    }

    /// ListServiceAccountTokens: the tokens the caller may see, ordered by id and paged; a
    /// user who is not an organization admin has none to list (`permission_denied`).
    pub async fn list_tokens(&self, caller: &Caller, page_size: i32, token: &str) -> Result<Page<ServiceAccountToken>> {
        member_of_organization(caller)?;
        if !caller.org_admin && caller.subject.principal != Principal::ServiceAccount {
            return Err(CoreError::denied(
                "service account tokens",
                "only service accounts and organization admins list service account tokens",
            ));
        }
        let mut v = Violations::default();
        let size = v.check(validate::page_size("pagination.pageSize", page_size));
        let cursor = v.check(self.page_tokens.cursor("pagination.token", TOKENS_KIND, token, ()));
        v.finish()?;
        let (size, cursor) = (size.expect("checked"), cursor.expect("checked"));
        let after = cursor.after_id()?;
        let owners = self.token_owners(caller).await?;
        let items: Vec<ServiceAccountToken> = self
            .store
            .list_member_access_tokens(&owners, after, size + 1)
            .await?
            .into_iter()
            .map(|info| ServiceAccountToken { info })
            .collect();
        Ok(self.page_tokens.page(TOKENS_KIND, &(), items, size, |t: &ServiceAccountToken| t.info.id))
    }

    /// GetServiceAccountToken: one token the caller may see; any other is `not_found`.
    pub async fn get_token(&self, caller: &Caller, id: &str) -> Result<ServiceAccountToken> {
        let id = validate::uuid("serviceAccountTokenId", id)?;
        let owners = self.token_owners(caller).await?;
        self.store
            .get_access_token(id)
            .await?
            .filter(|t| t.revoked_at.is_none() && owners.contains(&t.member_id))
            .map(|info| ServiceAccountToken { info })
            .ok_or_else(|| CoreError::not_found(Resource::ServiceAccountToken, id))
    }

    /// DeleteServiceAccountToken: a token the caller may see stops working at once.
    pub async fn delete_token(&self, caller: &Caller, id: &str) -> Result<()> {
        let token = self.get_token(caller, id).await?;
        self.accounts.delete_token(token.info.id).await
    }
}

/// A suspended service account, or one past its `valid_until`, gets no new tokens: they
/// would not authenticate.
fn usable(account: &ServiceAccount) -> Result<()> {
    if account.member.suspended {
        return Err(CoreError::FailedPrecondition(format!("service account {} is suspended", account.member.name)));
    }
    match account.details.valid_until {
        Some(until) if until <= Timestamp::now() => Err(CoreError::FailedPrecondition(format!(
            "service account {} was valid until {}",
            account.member.name,
            until.rfc3339()
        ))),
        _ => Ok(()),
    }
}
