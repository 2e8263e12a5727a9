//! Invitations: an organization's one current invite (CreateOrganizationInvite replaces it,
//! GetOrganizationInvite makes one when there is none; admins only), what it leads to for
//! whoever holds its id (GetOrganizationInviteSummary, no sign-in), and the ways to sign in
//! (AccountService's ListLoginProviders, no sign-in): the invite organization's active SSO
//! configurations, or the configuration of an email's domain.

use gitpod_api::gitpod::v1::*;
use runner_core::identity::OrgRole;
use runner_core::model::Principal;
use runner_testkit::{ALL, Client, Failure, PUBLIC_URL, Protocol, TestServer, os};

/// The path of a `gitpod.v1.AccountService` method.
pub fn account(method: &str) -> String {
    format!("/gitpod.v1.AccountService/{method}")
}

pub async fn create_invite(c: &Client, org: impl ToString) -> Result<String, Failure> {
    let req = CreateOrganizationInviteRequest { organization_id: org.to_string() };
    let r: CreateOrganizationInviteResponse = c.call(&os("CreateOrganizationInvite"), req).await?;
    Ok(r.invite.unwrap().invite_id)
}

pub async fn get_invite(c: &Client, org: impl ToString) -> Result<String, Failure> {
    let req = GetOrganizationInviteRequest { organization_id: org.to_string() };
    let r: GetOrganizationInviteResponse = c.call(&os("GetOrganizationInvite"), req).await?;
    Ok(r.invite.unwrap().invite_id)
}

pub async fn summary(c: &Client, invite: &str) -> Result<GetOrganizationInviteSummaryResponse, Failure> {
    let req = GetOrganizationInviteSummaryRequest { invite_id: invite.into() };
    c.call(&os("GetOrganizationInviteSummary"), req).await
}

pub async fn login_providers(
    c: &Client,
    filter: Option<list_login_providers_request::Filter>,
    size: i32,
    token: &str,
) -> Result<ListLoginProvidersResponse, Failure> {
    let req = ListLoginProvidersRequest {
        pagination: Some(PaginationRequest { page_size: size, token: token.into() }),
        filter,
    };
    c.call(&account("ListLoginProviders"), req).await
}

pub fn by_invite(invite: &str) -> Option<list_login_providers_request::Filter> {
    Some(list_login_providers_request::Filter { invite_id: Some(invite.into()), email: None })
}

pub fn by_email(email: &str) -> Option<list_login_providers_request::Filter> {
    Some(list_login_providers_request::Filter { invite_id: None, email: Some(email.into()) })
}

/// Where a login through `configuration` starts (the contract with the SSO login).
pub fn start_url(configuration: &str, invite: Option<&str>) -> String {
    let base = format!("{PUBLIC_URL}/auth/sso/start?configuration={configuration}");
    match invite {
        Some(invite) => format!("{base}&invite={invite}"),
        None => base,
    }
}

fn code<T: std::fmt::Debug>(r: Result<T, Failure>) -> String {
    r.unwrap_err().code
}

#[tokio::test]
async fn an_organization_has_one_current_invite_that_admins_replace() {
    for protocol in ALL {
        let server = TestServer::start().await;
        let admin = server.client(protocol).await;
        let org = server.org.id;
        // One is made on the first read, and read back after.
        let first = get_invite(&admin, org).await.unwrap();
        assert_eq!(get_invite(&admin, org).await.unwrap(), first, "{protocol:?}");
        assert_eq!(first.parse::<uuid::Uuid>().unwrap().get_version_num(), 4, "random, not time-ordered");
        // A new one replaces it: the old id leads nowhere.
        let second = create_invite(&admin, org).await.unwrap();
        assert_ne!(second, first);
        assert_eq!(get_invite(&admin, org).await.unwrap(), second);
        let anonymous = server.client_as(protocol, None).await;
        assert_eq!(code(summary(&anonymous, &first).await), "not_found");
        assert_eq!(code(login_providers(&anonymous, by_invite(&first), 0, "").await), "not_found");

        // The summary needs only the id: the organization and its number of users (service
        // accounts are not counted).
        let s = summary(&anonymous, &second).await.unwrap();
        assert_eq!((s.organization_id, s.organization_name.as_str()), (org.to_string(), server.org.name.as_str()));
        assert_eq!(s.organization_member_count, 1, "the admin");
        let (_, member_token) = server.member("plain", OrgRole::Member).await;
        server.identity.create_member(org, Principal::ServiceAccount, "bot", OrgRole::Member).await.unwrap();
        assert_eq!(summary(&anonymous, &second).await.unwrap().organization_member_count, 2);
        assert_eq!(code(summary(&anonymous, &uuid::Uuid::new_v4().to_string()).await), "not_found");
        assert_eq!(code(summary(&anonymous, "not-an-id").await), "invalid_argument");

        // Only admins, and only of their own organization.
        let member = server.client_as(protocol, Some(&member_token)).await;
        assert_eq!(code(get_invite(&member, org).await), "permission_denied");
        assert_eq!(code(create_invite(&member, org).await), "permission_denied");
        assert_eq!(code(create_invite(&anonymous, org).await), "unauthenticated");
        let other = server.identity.create_organization("elsewhere").await.unwrap();
        assert_eq!(code(get_invite(&admin, other.id).await), "not_found");
        assert_eq!(code(create_invite(&admin, other.id).await), "not_found");
        assert_eq!(get_invite(&admin, org).await.unwrap(), second, "nothing replaced it");

        // The writes are in the audit log, naming the organization and the admin.
        let filter = runner_core::audit::AuditFilter { subject_ids: vec![org], ..Default::default() };
        let entries = server.store.list_audit_entries(org, &filter, None, 100).await.unwrap();
        let actions: Vec<&str> = entries.iter().map(|e| e.action.as_str()).collect();
        for action in ["GetOrganizationInvite", "CreateOrganizationInvite"] {
            let of = entries.iter().filter(|e| e.action == os(action)[1..]).count();
            assert_eq!(of, 1, "one entry of {action}: {actions:?}");
        }
        assert!(
            entries
                .iter()
                .filter(|e| e.action.ends_with("Invite"))
                .all(|e| e.actor == Some((server.admin_id, Principal::User))),
            "{entries:?}"
        );
    }
}

#[tokio::test]
async fn login_providers_are_the_invite_organizations_active_sso_configurations() {
    let issuer = crate::sso::issuer().await;
    for protocol in ALL {
        let server = TestServer::start().await;
        let admin = server.client(protocol).await;
        let org = server.org.id;
        let mut active = Vec::new();
        for _ in 0..3 {
            let domain = crate::sso::fresh_domain();
            active
                .push(crate::sso::create_sso(&admin, crate::sso::create_request(org, &issuer, &domain)).await.unwrap());
        }
        let off_domain = crate::sso::fresh_domain();
        let off = crate::sso::create_sso(&admin, crate::sso::create_request(org, &issuer, &off_domain)).await.unwrap();
        let req = UpdateSsoConfigurationRequest {
            sso_configuration_id: off.id.clone(),
            state: Some(SsoConfigurationState::Inactive as i32),
            ..Default::default()
        };
        crate::sso::update_sso(&admin, req).await.unwrap();
        // Another organization's configuration is not the invite's.
        let other = server.identity.create_organization("elsewhere").await.unwrap();
        let boss = server.identity.create_member(other.id, Principal::User, "boss", OrgRole::Admin).await.unwrap();
        let boss_token = server.identity.issue_token(boss.id, "t", None).await.unwrap().token;
        let boss = server.client_as(protocol, Some(&boss_token)).await;
        let theirs_domain = crate::sso::fresh_domain();
        crate::sso::create_sso(&boss, crate::sso::create_request(other.id, &issuer, &theirs_domain)).await.unwrap();

        let invite = create_invite(&admin, org).await.unwrap();
        let anonymous = server.client_as(protocol, None).await;
        let all = login_providers(&anonymous, by_invite(&invite), 0, "").await.unwrap();
        let mut ids: Vec<&str> = active.iter().map(|c| c.id.as_str()).collect();
        ids.sort();
        let expected: Vec<LoginProvider> = ids
            .iter()
            .map(|id| LoginProvider { login_url: start_url(id, Some(&invite)), provider: "custom".into() })
            .collect();
        assert_eq!(all.login_providers, expected, "{protocol:?}");
        assert!(all.allow_custom);
        assert_eq!(all.pagination.unwrap().next_token, "");

        // Paged by two: the token carries the filter.
        let first = login_providers(&anonymous, by_invite(&invite), 2, "").await.unwrap();
        assert_eq!(first.login_providers, expected[..2]);
        let token = first.pagination.unwrap().next_token;
        assert!(!token.is_empty());
        let rest = login_providers(&anonymous, None, 2, &token).await.unwrap();
        assert_eq!(rest.login_providers, expected[2..]);
        assert_eq!(rest.pagination.unwrap().next_token, "");
        assert_eq!(code(login_providers(&anonymous, None, 2, "forged").await), "invalid_argument");

        // By email: the configuration of the address's domain, without an invite; an inactive
        // one, or a domain without one, has none.
        let domain = active[1].email_domains[0].to_uppercase();
        let mine = login_providers(&anonymous, by_email(&format!("Alice@{domain}")), 0, "").await.unwrap();
        let url = start_url(&active[1].id, None);
        assert_eq!(mine.login_providers, [LoginProvider { login_url: url, provider: "custom".into() }]);
        for email in [format!("bob@{off_domain}"), "carol@nowhere.example.net".to_owned()] {
            let none = login_providers(&anonymous, by_email(&email), 0, "").await.unwrap();
            assert!(none.login_providers.is_empty(), "{email}: {none:?}");
            assert!(none.allow_custom);
        }
        assert_eq!(code(login_providers(&anonymous, by_email("alice"), 0, "").await), "invalid_argument");
        // With both, the invite decides (it is what lets in a person of another domain).
        let both = Some(list_login_providers_request::Filter {
            invite_id: Some(invite.clone()),
            email: Some(format!("dave@{theirs_domain}")),
        });
        assert_eq!(login_providers(&anonymous, both, 0, "").await.unwrap().login_providers, expected);
        // Without a filter: nobody is shown every organization's providers.
        let bare = login_providers(&anonymous, None, 0, "").await.unwrap();
        assert!(bare.login_providers.is_empty() && bare.allow_custom);
        // A token is not needed, and one that does not authenticate does not matter.
        let stranger = server.client_as(Protocol::ConnectJson, Some("gpat_not-a-token")).await;
        assert_eq!(login_providers(&stranger, by_invite(&invite), 0, "").await.unwrap().login_providers, expected);
        assert_eq!(summary(&stranger, &invite).await.unwrap().organization_id, org.to_string());
    }
}
