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
    // The OpenAPI document says which need no token (`security: []`); the others need one.
    let paths = &runner_server::openapi::document()["paths"];
    for public in [os("GetOrganizationInviteSummary"), account("ListLoginProviders")] {
        assert_eq!(paths[&public]["post"]["security"], serde_json::json!([]), "{public}");
        assert_eq!(paths[&public]["get"]["security"], serde_json::json!([]), "{public}");
    }
    assert!(paths[&os("CreateOrganizationInvite")]["post"].get("security").is_none());
}

pub async fn get_account(c: &Client) -> Result<Account, Failure> {
    let r: GetAccountResponse = c.call(&account("GetAccount"), GetAccountRequest {}).await?;
    Ok(r.account.unwrap())
}

pub async fn joinable(c: &Client, size: i32, token: &str) -> Result<ListJoinableOrganizationsResponse, Failure> {
    let req = ListJoinableOrganizationsRequest {
        pagination: Some(PaginationRequest { page_size: size, token: token.into() }),
    };
    c.call(&account("ListJoinableOrganizations"), req).await
}

pub async fn join(
    c: &Client,
    join_id: Option<join_organization_request::JoinId>,
) -> Result<OrganizationMember, Failure> {
    let r: JoinOrganizationResponse = c.call(&os("JoinOrganization"), JoinOrganizationRequest { join_id }).await?;
    Ok(r.member.unwrap())
}

pub fn by_org(org: impl ToString) -> Option<join_organization_request::JoinId> {
    Some(join_organization_request::JoinId::OrganizationId(org.to_string()))
}

pub fn by_invite_id(invite: &str) -> Option<join_organization_request::JoinId> {
    Some(join_organization_request::JoinId::InviteId(invite.to_owned()))
}

/// A person with an account whose first user is in `org`, signed in (as an SSO login links
/// one) with an identity at `issuer`: the provider that vouched for the address; the account
/// and a token of that user.
pub async fn person(
    server: &TestServer,
    org: uuid::Uuid,
    name: &str,
    email: &str,
    issuer: &str,
) -> (runner_core::identity::Account, String) {
    let now = runner_core::time::Timestamp::now();
    let account = runner_core::identity::Account {
        id: uuid::Uuid::now_v7(),
        email: email.to_lowercase(),
        name: name.to_owned(),
        avatar_url: format!("https://avatars.example.com/{name}.png"),
        created_at: now,
        updated_at: now,
        email_vouched: true,
    };
    let first = runner_core::identity::Member {
        account_id: account.id,
        ..runner_core::identity::Member::new(org, Principal::User, name, OrgRole::Member, now)
    };
    let identity = runner_core::identity::AccountIdentity {
        issuer: issuer.to_owned(),
        subject: format!("sub-{name}"),
        account_id: account.id,
        created_at: now,
    };
    server.store.create_account(&account, &first, Some(&identity)).await.unwrap();
    let token = server.identity.issue_token(first.id, "t", None).await.unwrap().token;
    (account, token)
}

/// An organization with an admin; its id and a client of the admin.
async fn organization(server: &TestServer, protocol: Protocol, name: &str) -> (uuid::Uuid, Client) {
    let org = server.identity.create_organization(name).await.unwrap();
    let admin = server.identity.create_member(org.id, Principal::User, "boss", OrgRole::Admin).await.unwrap();
    let token = server.identity.issue_token(admin.id, "t", None).await.unwrap().token;
    (org.id, server.client_as(protocol, Some(&token)).await)
}

#[tokio::test]
async fn an_account_joins_by_invite_or_through_its_email_domain() {
    let issuer = crate::sso::issuer().await;
    for protocol in ALL {
        let server = TestServer::start().await;
        let home = server.org.id;
        // Acme signs its people in through an SSO configuration of their domain.
        let (acme, acme_admin) = organization(&server, protocol, "acme").await;
        let domain = crate::sso::fresh_domain();
        crate::sso::create_sso(&acme_admin, crate::sso::create_request(acme, &issuer, &domain)).await.unwrap();
        let (alice, token) = person(&server, home, "alice", &format!("Alice@{domain}"), &issuer).await;
        let c = server.client_as(protocol, Some(&token)).await;

        let me = get_account(&c).await.unwrap();
        assert_eq!(
            (me.id.as_str(), me.email.as_str(), me.name.as_str()),
            (&*alice.id.to_string(), &*alice.email, "alice")
        );
        assert_eq!(me.avatar_url, alice.avatar_url);
        assert_eq!(me.organization_id, Some(home.to_string()), "the token's organization");
        assert!(!me.public_email_provider);
        assert_eq!(me.memberships.len(), 1, "{protocol:?} {me:?}");
        let m = &me.memberships[0];
        assert_eq!((m.organization_id.as_str(), m.organization_name.as_str()), (&*home.to_string(), &*server.org.name));
        assert_eq!((m.user_role, m.organization_member_count), (OrganizationRole::Member as i32, 2));
        assert_eq!(m.organization_tier, OrganizationTier::Enterprise as i32);
        let acme_joinable = JoinableOrganization {
            organization_id: acme.to_string(),
            organization_name: "acme".into(),
            organization_member_count: 1,
        };
        #[allow(deprecated)]
        let joinables = me.joinables.clone();
        assert_eq!(joinables, std::slice::from_ref(&acme_joinable));
        let listed = joinable(&c, 0, "").await.unwrap();
        assert_eq!(listed.joinable_organizations, [acme_joinable]);
        assert_eq!(listed.pagination.unwrap().next_token, "");

        // Joining Acme through the domain: a new user of the account, role member.
        let joined = join(&c, by_org(acme)).await.unwrap();
        assert_eq!((joined.full_name.as_str(), joined.role), ("alice", OrganizationRole::Member as i32));
        let user: uuid::Uuid = joined.user_id.parse().unwrap();
        let stored = server.store.get_member(user).await.unwrap().unwrap();
        assert_eq!((stored.org_id, stored.account_id, stored.principal), (acme, alice.id, Principal::User));
        let me = get_account(&c).await.unwrap();
        let orgs: Vec<&str> = me.memberships.iter().map(|m| m.organization_id.as_str()).collect();
        assert_eq!(orgs, [home.to_string(), acme.to_string()]);
        assert_eq!(me.memberships[1].user_id, joined.user_id);
        assert!(joinable(&c, 0, "").await.unwrap().joinable_organizations.is_empty());
        // Once is enough, by either way.
        assert_eq!(code(join(&c, by_org(acme)).await), "already_exists");
        let acme_invite = create_invite(&acme_admin, acme).await.unwrap();
        assert_eq!(code(join(&c, by_invite_id(&acme_invite)).await), "already_exists");

        // Another organization only by its invite.
        let (other, other_admin) = organization(&server, protocol, "other").await;
        assert_eq!(code(join(&c, by_org(other)).await), "permission_denied");
        assert_eq!(code(join(&c, by_org(uuid::Uuid::now_v7())).await), "permission_denied");
        assert_eq!(code(join(&c, by_invite_id(&uuid::Uuid::new_v4().to_string())).await), "not_found");
        let invite = create_invite(&other_admin, other).await.unwrap();
        let there = join(&c, by_invite_id(&invite)).await.unwrap();
        assert_eq!(server.store.get_member(there.user_id.parse().unwrap()).await.unwrap().unwrap().org_id, other);
        let anonymous = server.client_as(protocol, None).await;
        assert_eq!(summary(&anonymous, &invite).await.unwrap().organization_member_count, 2);
        assert_eq!(code(join(&c, None).await), "invalid_argument");
        assert_eq!(code(join(&anonymous, by_invite_id(&invite)).await), "unauthenticated");

        // The join is in the audit log, as a user created by alice's user.
        let filter = runner_core::audit::AuditFilter { subject_ids: vec![user], ..Default::default() };
        let entries = server.store.list_audit_entries(home, &filter, None, 10).await.unwrap();
        assert_eq!(entries.len(), 1, "{entries:?}");
        let by = server.store.list_account_members(alice.id).await.unwrap()[0].id;
        assert_eq!(entries[0].action, os("JoinOrganization")[1..]);
        assert_eq!(entries[0].actor, Some((by, Principal::User)));

        // A user made alone is its own account, without an email; only users have accounts.
        let admin = get_account(&server.client(protocol).await).await.unwrap();
        assert_eq!((admin.id, admin.email.as_str()), (server.admin_id.to_string(), ""));
        assert_eq!(admin.memberships.len(), 1);
        #[allow(deprecated)]
        let none = admin.joinables.is_empty();
        assert!(none);
        let bot = server.identity.create_member(home, Principal::ServiceAccount, "bot", OrgRole::Admin).await.unwrap();
        let bot_token = server.identity.issue_token(bot.id, "t", None).await.unwrap().token;
        let bot = server.client_as(protocol, Some(&bot_token)).await;
        assert_eq!(code(get_account(&bot).await), "permission_denied");
        assert_eq!(code(join(&bot, by_invite_id(&invite)).await), "permission_denied");
        assert_eq!(code(joinable(&anonymous, 0, "").await), "unauthenticated");
    }
}

#[tokio::test]
async fn only_an_active_configuration_makes_its_organization_joinable() {
    let issuer = crate::sso::issuer().await;
    let server = TestServer::start().await;
    let protocol = Protocol::ConnectJson;
    let (acme, acme_admin) = organization(&server, protocol, "acme").await;
    let domain = crate::sso::fresh_domain();
    let config = crate::sso::create_sso(&acme_admin, crate::sso::create_request(acme, &issuer, &domain)).await.unwrap();
    let (_, token) = person(&server, server.org.id, "bob", &format!("bob@{domain}"), &issuer).await;
    let c = server.client_as(protocol, Some(&token)).await;
    assert_eq!(joinable(&c, 1, "").await.unwrap().joinable_organizations.len(), 1);
    let req = UpdateSsoConfigurationRequest {
        sso_configuration_id: config.id,
        state: Some(SsoConfigurationState::Inactive as i32),
        ..Default::default()
    };
    crate::sso::update_sso(&acme_admin, req).await.unwrap();
    assert!(joinable(&c, 0, "").await.unwrap().joinable_organizations.is_empty());
    assert_eq!(code(join(&c, by_org(acme)).await), "permission_denied");
    assert_eq!(code(joinable(&c, 0, "forged").await), "invalid_argument");
    // A public email provider's address is said to be one.
    let (_, token) = person(&server, server.org.id, "carol", "carol@gmail.com", "https://accounts.google.com").await;
    assert!(get_account(&server.client_as(protocol, Some(&token)).await).await.unwrap().public_email_provider);
}

/// Joining is a user created in the organization for its watchers (WatchEvents); the invite
/// itself, no resource type of the API's events, publishes nothing.
#[tokio::test]
async fn joining_is_a_user_created_for_the_organizations_watchers() {
    use futures::StreamExt;
    for protocol in ALL {
        let server = TestServer::start().await;
        let (other, other_admin) = organization(&server, protocol, "other").await;
        let req = WatchEventsRequest {
            scope: Some(watch_events_request::Scope::Organization(true)),
            resource_type_filters: vec![],
        };
        let mut stream = other_admin.server_stream(&runner_testkit::es("WatchEvents"), req).await.unwrap();
        let invite = create_invite(&other_admin, other).await.unwrap();
        let (_, token) =
            person(&server, server.org.id, "alice", "alice@x.example.com", "https://idp.example.com").await;
        let c = server.client_as(protocol, Some(&token)).await;
        let joined = join(&c, by_invite_id(&invite)).await.unwrap();
        let wait = std::time::Duration::from_secs(10);
        let first: WatchEventsResponse = tokio::time::timeout(wait, stream.next()).await.unwrap().unwrap().unwrap();
        let expected = WatchEventsResponse {
            operation: ResourceOperation::Create as i32,
            resource_type: ResourceType::User as i32,
            resource_id: joined.user_id,
        };
        assert_eq!(first, expected, "{protocol:?}");
    }
}
