//! Invitations and joining (OrganizationService), the caller's account and the ways to sign in
//! (AccountService's GetAccount, ListJoinableOrganizations, ListLoginProviders).
//!
//! - An organization has one current invite (`OrganizationInvite`), as the hosted product has:
//!   CreateOrganizationInvite replaces it (the old link stops working at once), and
//!   GetOrganizationInvite returns it, making one when there is none. Only the organization's
//!   admins create or read it, and only their own organization's (any other id is `not_found`).
//! - The invite id is the secret of the link (`{public_url}/#/join/<id>`, random, 122 bits):
//!   whoever holds it may see what it leads to without signing in
//!   (GetOrganizationInviteSummary: the organization's id, name and number of users) and how to
//!   sign in to accept it (ListLoginProviders with `filter.inviteId`). An unknown or replaced id
//!   is `not_found`.
//! - ListLoginProviders needs no sign-in either: with `filter.inviteId`, the invite
//!   organization's active SSO configurations, each with the start of its login carrying the
//!   invite; with `filter.email`, the active configuration of the address's domain; with
//!   neither, nothing (the providers of every organization are not shown to anyone who asks),
//!   and `allowCustom` says that an email address leads to its configuration. When both are
//!   given the invite decides: an invite is what lets in a person whose domain is not the
//!   configuration's.
//! - Invites are no resource type of the API's events: their writes publish no event, and their
//!   audit log entries name the organization.
//! - An account is a person: only a user has one (service accounts and runners get
//!   `permission_denied`). A user made alone (`admin create-user`) is its own account, with no
//!   email; one signed in through SSO has the account its login made.
//! - The organizations an account may join (ListJoinableOrganizations, GetAccount's joinables)
//!   are those whose active SSO configuration has the domain of the account's email, when the
//!   account is not a member yet and that configuration's provider has vouched for the address
//!   (one of the account's identities is at its issuer): signing in through it would admit the
//!   account anyway. An address another organization's provider asserted (for a sign-in by
//!   that organization's invite) does not make a domain's organization joinable. A domain
//!   belongs to one configuration on the server, so there is at most one.
//! - JoinOrganization makes a new user of the caller's account in the organization (role
//!   member, the caller's name), by a current invite or by the id of a joinable organization;
//!   an account already there is `already_exists`, an organization that is not joinable
//!   `permission_denied`, an unknown invite `not_found`. The new user is published as a User
//!   created in that organization.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::accounts::Accounts;
use crate::error::{CoreError, FieldViolation, Resource, Result};
use crate::events::{Audience, EventResource, Operation};
use crate::identity::{Account, Caller, Member, OrgRole, Organization, OrganizationInvite, SsoConfiguration};
use crate::model::Principal;
use crate::page::{Page, PageTokens};
use crate::store::{Store, StoreError};
use crate::time::Timestamp;
use crate::users::Users;
use crate::validate::{self, Violations};

const PROVIDERS_LIST_KIND: &str = "login-providers";
const JOINABLE_LIST_KIND: &str = "joinable-organizations";
/// The `provider` of a login through an organization's SSO configuration (the API's name for a
/// provider that is not one of the hosted product's built-in ones).
pub const CUSTOM_PROVIDER: &str = "custom";
/// The path of the server's HTTP endpoint that starts a login through an SSO configuration
/// (`?configuration=<id>[&invite=<id>]`); it answers with a redirect to the provider.
pub const SSO_START_PATH: &str = "/auth/sso/start";
/// Most SSO configurations of one organization read for ListLoginProviders.
const MAX_CONFIGURATIONS: u32 = 1000;

/// What an invite leads to (GetOrganizationInviteSummary).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InviteSummary {
    pub organization: Organization,
    /// The organization's users (service accounts are not counted).
    pub member_count: u32,
}

/// One way to sign in (ListLoginProviders).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginProvider {
    /// [`CUSTOM_PROVIDER`]: a login through an SSO configuration.
    pub provider: String,
    /// Where the browser goes to sign in: the server's start of the configuration's login.
    pub login_url: String,
    /// The configuration it signs in through.
    pub configuration_id: Uuid,
}

/// ListLoginProviders' filter, as sent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoginProvidersFilter {
    pub invite_id: Option<String>,
    pub email: Option<String>,
}

/// The checked filter of ListLoginProviders; page tokens carry it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
enum ProvidersOf {
    /// The active configurations of the invite's organization, the invite in their login.
    Invite {
        invite_id: Uuid,
    },
    /// The active configuration of a domain.
    Domain {
        domain: String,
    },
    Nothing,
}

/// Email domains of public email providers: an address there says nothing about an employer
/// (the API's `Account.publicEmailProvider`).
const PUBLIC_EMAIL_DOMAINS: &[&str] = &[
    "gmail.com",
    "googlemail.com",
    "outlook.com",
    "hotmail.com",
    "live.com",
    "yahoo.com",
    "icloud.com",
    "me.com",
    "aol.com",
    "gmx.com",
    "gmx.de",
    "web.de",
    "proton.me",
    "protonmail.com",
    "yandex.com",
    "mail.com",
];

/// One organization an account is a member of (GetAccount's memberships).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountMembership {
    pub member: Member,
    pub organization: Organization,
    pub member_count: u32,
}

/// An organization an account may join.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinableOrganization {
    pub organization: Organization,
    pub member_count: u32,
}

/// The caller's account as GetAccount shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountView {
    /// The account; for a user made alone (by `admin create-user`, with no account row), one
    /// made of its user: its id, name and time, and no email.
    pub account: Account,
    pub memberships: Vec<AccountMembership>,
    pub joinables: Vec<JoinableOrganization>,
    pub public_email_provider: bool,
    /// The organization of the caller's token.
    pub organization_id: Uuid,
}

/// JoinOrganization's target, as sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JoinInput {
    OrganizationId(String),
    InviteId(String),
    /// Neither was given.
    Missing,
}

/// The invitation use cases.
#[derive(Clone)]
pub struct Invites {
    store: Arc<dyn Store>,
    /// Publishes the users that joining makes.
    accounts: Accounts,
    /// The caller's own user (only a user is of an account, a person).
    users: Users,
    page_tokens: PageTokens,
    /// Where browsers reach the server, without a trailing slash.
    public_url: Arc<str>,
}

impl Invites {
    pub fn new(store: Arc<dyn Store>, accounts: Accounts, page_tokens: PageTokens, public_url: &str) -> Self {
        let users = Users::new(store.clone(), accounts.clone(), page_tokens.clone());
        Self { store, accounts, users, page_tokens, public_url: public_url.trim_end_matches('/').into() }
    }

    /// The caller's own organization, given as `organizationId`, which the caller administers.
    fn administered(caller: &Caller, organization_id: &str) -> Result<Uuid> {
        let org_id = validate::uuid("organizationId", organization_id)?;
        if org_id != caller.org_id {
            return Err(CoreError::not_found(Resource::Organization, org_id));
        }
        let person = matches!(caller.subject.principal, Principal::User | Principal::ServiceAccount);
        if !(person && caller.org_admin) {
            return Err(CoreError::denied(
                format!("organization {org_id}"),
                "only organization admins manage the organization's invite",
            ));
        }
        Ok(org_id)
    }

    /// CreateOrganizationInvite: a new current invite; the previous one stops working.
    pub async fn create(&self, caller: &Caller, organization_id: &str) -> Result<OrganizationInvite> {
        let org_id = Self::administered(caller, organization_id)?;
        let invite = OrganizationInvite::new(org_id, caller.subject.clone(), Timestamp::now());
        self.store.create_invite(&invite).await?;
        Ok(invite)
    }

    /// GetOrganizationInvite: the current invite, made now when there is none.
    pub async fn get(&self, caller: &Caller, organization_id: &str) -> Result<OrganizationInvite> {
        let org_id = Self::administered(caller, organization_id)?;
        let candidate = OrganizationInvite::new(org_id, caller.subject.clone(), Timestamp::now());
        Ok(self.store.get_or_create_invite(&candidate).await?)
    }

    /// The current invite with this id (`field`); an unknown or replaced one is `not_found`.
    pub async fn invite(&self, field: &str, invite_id: &str) -> Result<OrganizationInvite> {
        let id = validate::uuid(field, invite_id)?;
        self.store.get_invite(id).await?.ok_or_else(|| CoreError::not_found(Resource::Invite, id))
    }

    /// GetOrganizationInviteSummary: what the invite leads to, for whoever holds its id.
    pub async fn summary(&self, invite_id: &str) -> Result<InviteSummary> {
        let invite = self.invite("inviteId", invite_id).await?;
        let organization = self
            .store
            .get_organization(invite.org_id)
            .await?
            .ok_or_else(|| CoreError::not_found(Resource::Invite, invite.id))?;
        let member_count = self.member_count(organization.id).await?;
        Ok(InviteSummary { organization, member_count })
    }

    /// How many users the organization has (service accounts are not counted).
    async fn member_count(&self, org_id: Uuid) -> Result<u32> {
        let members = self.store.list_members(org_id).await?;
        let users = members.iter().filter(|m| m.principal == Principal::User).count();
        Ok(u32::try_from(users).unwrap_or(u32::MAX))
    }

    /// The account of `me`; for a user made alone, one made of the user (no email).
    async fn account_of(&self, me: &Member) -> Result<Account> {
        Ok(self.store.get_account(me.account_id).await?.unwrap_or_else(|| Account {
            id: me.account_id,
            email: String::new(),
            name: me.name.clone(),
            avatar_url: String::new(),
            created_at: me.created_at,
            updated_at: me.created_at,
            email_vouched: false,
        }))
    }

    /// The organizations `account` (whose users are `members`) may join (see the module's
    /// documentation).
    async fn joinable(&self, account: &Account, members: &[Member]) -> Result<Vec<JoinableOrganization>> {
        let Some(domain) = Account::email_domain(&account.email) else {
            return Ok(Vec::new());
        };
        let Some(config) = self.store.find_sso_configuration_by_domain(&domain).await? else {
            return Ok(Vec::new());
        };
        if !config.active || members.iter().any(|m| m.org_id == config.org_id) {
            return Ok(Vec::new());
        }
        // The address counts only if the domain's own provider vouched for it: an account made
        // through another organization's provider (by its invite) may carry any address.
        let issuer = config.issuer_url.trim_end_matches('/');
        if !self.store.account_issuers(account.id).await?.iter().any(|i| i.trim_end_matches('/') == issuer) {
            return Ok(Vec::new());
        }
        let Some(organization) = self.store.get_organization(config.org_id).await? else {
            return Ok(Vec::new());
        };
        let member_count = self.member_count(organization.id).await?;
        Ok(vec![JoinableOrganization { organization, member_count }])
    }

    /// GetAccount: the caller's account, its users' organizations and what it may join.
    pub async fn account(&self, caller: &Caller) -> Result<AccountView> {
        let me = self.users.caller_user(caller).await?;
        let account = self.account_of(&me).await?;
        let members = self.store.list_account_members(account.id).await?;
        let mut memberships = Vec::new();
        for member in members.iter().filter(|m| m.principal == Principal::User) {
            if let Some(organization) = self.store.get_organization(member.org_id).await? {
                let member_count = self.member_count(member.org_id).await?;
                memberships.push(AccountMembership { member: member.clone(), organization, member_count });
            }
        }
        let joinables = self.joinable(&account, &members).await?;
        let public_email_provider =
            Account::email_domain(&account.email).is_some_and(|d| PUBLIC_EMAIL_DOMAINS.contains(&d.as_str()));
        Ok(AccountView { account, memberships, joinables, public_email_provider, organization_id: caller.org_id })
    }

    /// ListJoinableOrganizations: the organizations the caller's account may join, by id.
    pub async fn joinable_organizations(
        &self,
        caller: &Caller,
        page_size: i32,
        token: &str,
    ) -> Result<Page<JoinableOrganization>> {
        let size = validate::page_size("pagination.pageSize", page_size)?;
        let me = self.users.caller_user(caller).await?;
        let account = self.account_of(&me).await?;
        // The token is bound to the account it lists for.
        let cursor = self.page_tokens.cursor("pagination.token", JOINABLE_LIST_KIND, token, account.id)?;
        if cursor.filter != account.id {
            return Err(CoreError::invalid("pagination.token", "invalid page token"));
        }
        let after = cursor.after_id()?;
        let members = self.store.list_account_members(account.id).await?;
        let mut joinable: Vec<JoinableOrganization> = self
            .joinable(&account, &members)
            .await?
            .into_iter()
            .filter(|j| after.is_none_or(|a| j.organization.id > a))
            .collect();
        joinable.sort_by_key(|j| j.organization.id);
        joinable.truncate(size as usize + 1);
        Ok(self.page_tokens.page(JOINABLE_LIST_KIND, &account.id, joinable, size, |j| j.organization.id))
    }

    /// JoinOrganization: a new user of the caller's account in the organization of a current
    /// invite, or in a joinable organization (see the module's documentation).
    pub async fn join(&self, caller: &Caller, input: JoinInput) -> Result<Member> {
        let by_invite = matches!(input, JoinInput::InviteId(_));
        let id = match input {
            JoinInput::InviteId(id) => validate::uuid("inviteId", &id)?,
            JoinInput::OrganizationId(id) => validate::uuid("organizationId", &id)?,
            JoinInput::Missing => {
                return Err(
                    FieldViolation::new("organizationId", "either organizationId or inviteId is required").into()
                );
            }
        };
        let me = self.users.caller_user(caller).await?;
        let org_id = if by_invite {
            self.store.get_invite(id).await?.ok_or_else(|| CoreError::not_found(Resource::Invite, id))?.org_id
        } else {
            id
        };
        let account = self.account_of(&me).await?;
        let members = self.store.list_account_members(account.id).await?;
        let already = || CoreError::AlreadyExists {
            resource: Resource::User,
            message: format!("the account is a member of organization {org_id} already"),
        };
        if members.iter().any(|m| m.org_id == org_id) {
            return Err(already());
        }
        if !by_invite && !self.joinable(&account, &members).await?.iter().any(|j| j.organization.id == org_id) {
            return Err(CoreError::denied(
                format!("organization {org_id}"),
                "the account may join it only by an invite (or through its SSO configuration's email domain)",
            ));
        }
        let member = Member {
            account_id: account.id,
            ..Member::new(org_id, Principal::User, &me.name, OrgRole::Member, Timestamp::now())
        };
        self.store.create_member(&member).await.map_err(|e| match e {
            StoreError::AlreadyExists => CoreError::AlreadyExists {
                resource: Resource::User,
                message: format!(
                    "organization {org_id} has a user named {:?} already, or the account joined it meanwhile",
                    me.name
                ),
            },
            e => e.into(),
        })?;
        self.accounts.published(org_id, Operation::Create, EventResource::User, member.id, None, Audience::Members);
        Ok(member)
    }

    /// Where a login through `configuration` starts, carrying `invite` if given.
    pub fn login_url(&self, configuration: Uuid, invite: Option<Uuid>) -> String {
        let mut url = format!("{}{SSO_START_PATH}?configuration={configuration}", self.public_url);
        if let Some(invite) = invite {
            url.push_str(&format!("&invite={invite}"));
        }
        url
    }

    /// ListLoginProviders (see the module's documentation), paged by configuration id.
    pub async fn login_providers(
        &self,
        filter: LoginProvidersFilter,
        page_size: i32,
        token: &str,
    ) -> Result<Page<LoginProvider>> {
        let mut v = Violations::default();
        let size = v.check(validate::page_size("pagination.pageSize", page_size));
        let invite_id = filter.invite_id.as_deref().and_then(|id| v.check(validate::uuid("filter.inviteId", id)));
        let domain = match filter.email.as_deref() {
            Some(email) if filter.invite_id.is_none() => {
                v.check(validate::length("filter.email", email, 1, 320));
                let domain = Account::email_domain(email);
                if domain.is_none() {
                    v.push(crate::FieldViolation::new("filter.email", "must be an email address"));
                }
                domain
            }
            _ => None,
        };
        let request_filter = match (invite_id, domain) {
            (Some(invite_id), _) => ProvidersOf::Invite { invite_id },
            (None, Some(domain)) => ProvidersOf::Domain { domain },
            (None, None) => ProvidersOf::Nothing,
        };
        let cursor = v.check(self.page_tokens.cursor("pagination.token", PROVIDERS_LIST_KIND, token, request_filter));
        v.finish()?;
        let (size, cursor) = (size.expect("checked"), cursor.expect("checked"));
        let after = cursor.after_id()?;
        let (configurations, invite): (Vec<SsoConfiguration>, Option<Uuid>) = match &cursor.filter {
            ProvidersOf::Invite { invite_id } => {
                let invite = self
                    .store
                    .get_invite(*invite_id)
                    .await?
                    .ok_or_else(|| CoreError::not_found(Resource::Invite, invite_id))?;
                let all = self.store.list_sso_configurations(invite.org_id, None, MAX_CONFIGURATIONS).await?;
                (all, Some(invite.id))
            }
            ProvidersOf::Domain { domain } => {
                (self.store.find_sso_configuration_by_domain(domain).await?.into_iter().collect(), None)
            }
            ProvidersOf::Nothing => (Vec::new(), None),
        };
        let mut providers: Vec<LoginProvider> = configurations
            .into_iter()
            .filter(|c| c.active && after.is_none_or(|a| c.id > a))
            .map(|c| LoginProvider {
                provider: CUSTOM_PROVIDER.to_owned(),
                login_url: self.login_url(c.id, invite),
                configuration_id: c.id,
            })
            .collect();
        providers.sort_by_key(|p| p.configuration_id);
        providers.truncate(size as usize + 1);
        Ok(self.page_tokens.page(PROVIDERS_LIST_KIND, &cursor.filter, providers, size, |p| p.configuration_id))
    }
}
