//! Invitations (OrganizationService) and the ways to sign in (AccountService's
//! ListLoginProviders).
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

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{CoreError, Resource, Result};
use crate::identity::{Caller, Organization, OrganizationInvite, SsoConfiguration};
use crate::model::Principal;
use crate::page::{Page, PageTokens};
use crate::store::Store;
use crate::time::Timestamp;
use crate::validate::{self, Violations};

const PROVIDERS_LIST_KIND: &str = "login-providers";
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

/// The domain of an email address: after its last `@`, trimmed, lower case; `None` when there
/// is no such part.
pub fn email_domain(email: &str) -> Option<String> {
    let (local, domain) = email.trim().rsplit_once('@')?;
    let domain = domain.trim().to_ascii_lowercase();
    (!local.is_empty() && !domain.is_empty()).then_some(domain)
}

/// The invitation use cases.
#[derive(Clone)]
pub struct Invites {
    store: Arc<dyn Store>,
    page_tokens: PageTokens,
    /// Where browsers reach the server, without a trailing slash.
    public_url: Arc<str>,
}

impl Invites {
    pub fn new(store: Arc<dyn Store>, page_tokens: PageTokens, public_url: &str) -> Self {
        Self { store, page_tokens, public_url: public_url.trim_end_matches('/').into() }
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
        let members = self.store.list_members(invite.org_id).await?;
        let users = members.iter().filter(|m| m.principal == Principal::User).count();
        Ok(InviteSummary { organization, member_count: u32::try_from(users).unwrap_or(u32::MAX) })
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
                let domain = email_domain(email);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_domain_of_an_address_is_after_its_last_at_in_lower_case() {
        assert_eq!(email_domain("Alice@ACME.test"), Some("acme.test".to_owned()));
        assert_eq!(email_domain(" \"a@b\"@Example.COM "), Some("example.com".to_owned()));
        assert_eq!(email_domain("alice"), None);
        assert_eq!(email_domain("@acme.test"), None);
        assert_eq!(email_domain("alice@"), None);
    }
}
