//! Signing in through SSO against a real OpenID provider (tests/oidc, panva's oidc-provider):
//! the browser's round trip (`/auth/sso/start`, the provider's own login and consent pages,
//! `/auth/sso/callback`) driven over HTTP; the account and user made just in time and reused;
//! the `runner_session` cookie calling the API over Connect, gRPC-web and gRPC; sign-out;
//! and the refusals: a tampered ID token, another audience, an expired token, a wrong nonce, a
//! replayed state, an inactive configuration, a suspended user's session, a person of another
//! email domain without an invite (and let in with one), and a cookie sent from another site.

use std::sync::Arc;

use gitpod_api::gitpod::v1::*;
use runner_core::identity::OrganizationInvite;
use runner_core::model::{Principal, Subject};
use runner_core::store::Store;
use runner_core::time::Timestamp;
use runner_store::testing::PgSchema;
use runner_testkit::oidc::{CLIENT_ID, CLIENT_SECRET, IdTokenMode, OidcProvider, sign_in_at_provider};
use runner_testkit::{Client, PUBLIC_URL, Protocol, TestServer, rs, us};

use crate::sso::{create_request, create_sso, update_sso};

const ACCOUNT_SERVICE: &str = "/gitpod.v1.AccountService/";

/// A server whose organization signs in through the test provider (domain `acme.test`).
struct Sso {
    server: TestServer,
    provider: OidcProvider,
    config_id: String,
    http: reqwest::Client,
    _schema: Option<PgSchema>,
}

async fn setup(test: &str, postgres: bool) -> Option<Sso> {
    let provider = OidcProvider::start(test, &[&format!("{PUBLIC_URL}/auth/sso/callback")])?;
    let (server, schema) = if postgres {
        let schema = PgSchema::create(test).await?;
        (TestServer::builder().store(schema.store().await).start().await, Some(schema))
    } else {
        (TestServer::start().await, None)
    };
    let admin = server.client(Protocol::ConnectJson).await;
    let mut req = create_request(server.org.id, &provider.issuer, "acme.test");
    req.client_id = CLIENT_ID.into();
    req.client_secret = CLIENT_SECRET.into();
    req.additional_scopes = vec![];
    let config = create_sso(&admin, req).await.unwrap();
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    Some(Sso { server, provider, config_id: config.id, http, _schema: schema })
}

/// What the callback answered.
struct Landing {
    location: String,
    /// The `runner_session` cookie set, if any.
    session: Option<String>,
    set_cookie: String,
}

impl Sso {
    /// `GET /auth/sso/start` (under `/api` too): the provider's authorization URL it redirects to.
    async fn start(&self, query: &str) -> String {
        let r = self.http.get(format!("{}/api/auth/sso/start?{query}", self.server.url())).send().await.unwrap();
        assert_eq!(r.status().as_u16(), 303, "{query}");
        r.headers()["location"].to_str().unwrap().to_owned()
    }

    /// The browser at the provider, back at the callback of this server.
    async fn callback(&self, back: &str) -> Landing {
        let path = back.strip_prefix(PUBLIC_URL).unwrap_or_else(|| panic!("the provider sent the browser to {back}"));
        assert!(path.starts_with("/auth/sso/callback?"), "{back}");
        let r = self.http.get(format!("{}{path}", self.server.url())).send().await.unwrap();
        assert_eq!(r.status().as_u16(), 303);
        let set_cookie = r.headers().get("set-cookie").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
        let session = set_cookie
            .strip_prefix("runner_session=")
            .map(|rest| rest.split(';').next().unwrap().to_owned())
            .filter(|v| !v.is_empty());
        Landing { location: r.headers()["location"].to_str().unwrap().to_owned(), session, set_cookie }
    }

    /// A whole sign-in of `email`, from `/auth/sso/start` with `query` added.
    async fn sign_in(&self, email: &str, query: &str) -> Landing {
        let url = self.start(&format!("configuration={}{query}", self.config_id)).await;
        self.callback(&sign_in_at_provider(&url, email).await).await
    }

    async fn session_client(&self, protocol: Protocol, session: &str) -> Client {
        Client::with_session(protocol, &self.server.url(), session).await
    }
}

/// The sentence a failed sign-in sends the console.
fn sso_error(landing: &Landing) -> String {
    let prefix = format!("{PUBLIC_URL}/?sso_error=");
    let rest = landing.location.strip_prefix(&prefix).unwrap_or_else(|| panic!("not a failure: {}", landing.location));
    assert!(rest.ends_with("#/signin"), "{}", landing.location);
    assert!(landing.session.is_none(), "no session on a failure");
    let encoded = rest.trim_end_matches("#/signin");
    percent_encoding::percent_decode_str(encoded).decode_utf8().unwrap().into_owned()
}

async fn list_runners(c: &Client) -> Result<ListRunnersResponse, runner_testkit::Failure> {
    c.call(&rs("ListRunners"), ListRunnersRequest::default()).await
}

async fn audited(store: &Arc<dyn Store>, org: uuid::Uuid, action: &str) -> Vec<runner_core::audit::AuditEntry> {
    let all = store.list_audit_entries(org, &Default::default(), None, 1000).await.unwrap();
    all.into_iter().filter(|e| e.action == action).collect()
}

async fn signs_in_just_in_time(test: &str, postgres: bool) {
    let Some(sso) = setup(test, postgres).await else { return };
    let (server, store) = (&sso.server, &sso.server.store);
    // The authorization URL: code flow, S256 PKCE, a state and a nonce, our redirect URI.
    let url = sso.start(&format!("configuration={}&return_to={PUBLIC_URL}/%23/runners", sso.config_id)).await;
    assert!(url.starts_with(&format!("{}/auth?", sso.provider.issuer)), "{url}");
    for part in
        ["response_type=code", "code_challenge_method=S256", "code_challenge=", "state=", "nonce=", "scope=openid"]
    {
        assert!(url.contains(part), "{part} in {url}");
    }
    assert!(url.contains("redirect_uri=http%3A%2F%2Frunner-api.test%2Fauth%2Fsso%2Fcallback"), "{url}");
    let landing = sso.callback(&sign_in_at_provider(&url, "alice@acme.test").await).await;
    assert_eq!(landing.location, format!("{PUBLIC_URL}/#/runners"), "back where the console asked");
    let session = landing.session.clone().expect("a session cookie");
    assert!(session.starts_with("gps_"));
    for attribute in ["Path=/", "HttpOnly", "SameSite=Lax", "Max-Age=43200"] {
        assert!(landing.set_cookie.contains(attribute), "{attribute} in {}", landing.set_cookie);
    }
    assert!(!landing.set_cookie.contains("Secure"), "the public URL is http");

    // The account and the user, made just in time: a member of the configuration's organization.
    let account = store.find_account_by_email("alice@acme.test").await.unwrap().expect("an account");
    assert_eq!(account.name, "Alice Acme");
    let members = store.list_account_members(account.id).await.unwrap();
    assert_eq!(members.len(), 1);
    let alice = members[0].clone();
    assert_eq!(
        (alice.org_id, alice.principal, alice.role),
        (server.org.id, Principal::User, runner_core::identity::OrgRole::Member)
    );
    let linked = store.find_account_by_identity(&sso.provider.issuer, "alice@acme.test").await.unwrap();
    assert_eq!(linked.map(|a| a.id), Some(account.id));

    // The cookie calls the API on every protocol, as alice.
    for protocol in [Protocol::ConnectJson, Protocol::GrpcWeb, Protocol::Grpc] {
        let c = sso.session_client(protocol, &session).await;
        list_runners(&c).await.unwrap_or_else(|f| panic!("{protocol:?}: {f:?}"));
        let me: GetAuthenticatedUserResponse =
            c.call(&us("GetAuthenticatedUser"), GetAuthenticatedUserRequest::default()).await.unwrap();
        assert_eq!(me.user.unwrap().id, alice.id.to_string(), "{protocol:?}");
    }

    // A second sign-in, through GetSSOLoginURL (unauthenticated), reuses the account and user.
    let anonymous = server.client_as(Protocol::ConnectJson, None).await;
    let req = GetSsoLoginUrlRequest { email: "Alice@ACME.test".into(), return_to: None };
    let r: GetSsoLoginUrlResponse = anonymous.call(&format!("{ACCOUNT_SERVICE}GetSSOLoginURL"), req).await.unwrap();
    let again = sso.callback(&sign_in_at_provider(&r.login_url, "alice@acme.test").await).await;
    assert_eq!(again.location, format!("{PUBLIC_URL}/"), "the default return");
    let second = again.session.expect("another session");
    assert_ne!(second, session);
    assert_eq!(store.find_account_by_email("alice@acme.test").await.unwrap().map(|a| a.id), Some(account.id));
    assert_eq!(store.list_account_members(account.id).await.unwrap(), vec![alice.clone()]);

    // Sign-in is in the audit log as alice's; a session of hers ends at sign-out, the other stays.
    let logins = audited(store, server.org.id, "auth/sso/login").await;
    assert!(logins.len() >= 3, "account, user and two sessions: {logins:?}");
    assert!(logins.iter().all(|e| e.actor == Some((alice.id, Principal::User))), "{logins:?}");
    let out = sso
        .http
        .post(format!("{}/auth/sso/logout", server.url()))
        .header("cookie", format!("runner_session={session}"))
        .send()
        .await
        .unwrap();
    assert_eq!(out.status().as_u16(), 204);
    let cleared = out.headers()["set-cookie"].to_str().unwrap();
    assert!(cleared.starts_with("runner_session=;") && cleared.contains("Max-Age=0"), "{cleared}");
    let c = sso.session_client(Protocol::ConnectJson, &session).await;
    assert_eq!(list_runners(&c).await.unwrap_err().code, "unauthenticated");
    list_runners(&sso.session_client(Protocol::ConnectJson, &second).await).await.unwrap();
    let logouts = audited(store, server.org.id, "auth/sso/logout").await;
    assert_eq!(logouts.len(), 1);
    assert_eq!(
        (logouts[0].actor, logouts[0].subject.map(|s| s.0)),
        (Some((alice.id, Principal::User)), Some(alice.id))
    );
    // Signing out without a session just clears the cookie.
    let out = sso.http.post(format!("{}/api/auth/sso/logout", server.url())).send().await.unwrap();
    assert_eq!(out.status().as_u16(), 204);
}

#[tokio::test]
async fn a_first_sign_in_makes_the_account_and_user_and_the_session_calls_the_api() {
    signs_in_just_in_time("sso_login_jit_sqlite", false).await;
}

#[tokio::test]
async fn a_first_sign_in_makes_the_account_and_user_on_postgres() {
    signs_in_just_in_time("sso_login_jit_postgres", true).await;
}

#[tokio::test]
async fn id_tokens_that_fail_a_check_and_replayed_states_sign_no_one_in() {
    let Some(sso) = setup("sso_login_refusals", false).await else { return };
    for (mode, why) in [
        (IdTokenMode::Tampered, "signature"),
        (IdTokenMode::WrongAudience, "audience"),
        (IdTokenMode::Expired, "expire"),
        (IdTokenMode::WrongNonce, "nonce"),
    ] {
        sso.provider.misbehave(mode).await;
        let landing = sso.sign_in("alice@acme.test", "").await;
        let sentence = sso_error(&landing).to_lowercase();
        assert!(sentence.contains("id token is not valid") && sentence.contains(why), "{mode:?}: {sentence}");
        assert_eq!(sso.server.store.find_account_by_email("alice@acme.test").await.unwrap(), None, "{mode:?}");
    }
    // Honest again: one use of a state signs in; the same callback again is refused.
    sso.provider.misbehave(IdTokenMode::Honest).await;
    let url = sso.start(&format!("configuration={}", sso.config_id)).await;
    let back = sign_in_at_provider(&url, "alice@acme.test").await;
    assert!(sso.callback(&back).await.session.is_some());
    let replay = sso.callback(&back).await;
    assert!(sso_error(&replay).contains("expired or was already used"), "{}", replay.location);
    // A made-up state, and no code at all.
    let forged = back.replace("state=", "state=x");
    assert!(sso_error(&sso.callback(&forged).await).contains("expired or was already used"));
    let r = sso.http.get(format!("{}/auth/sso/callback?error=access_denied", sso.server.url())).send().await.unwrap();
    assert!(r.headers()["location"].to_str().unwrap().contains("access_denied"));
}

#[tokio::test]
async fn an_inactive_configuration_stops_new_sign_ins() {
    let Some(sso) = setup("sso_login_inactive", false).await else { return };
    let admin = sso.server.client(Protocol::ConnectJson).await;
    // Started while active, back after it was turned off: refused at the callback.
    let url = sso.start(&format!("configuration={}", sso.config_id)).await;
    let back = sign_in_at_provider(&url, "alice@acme.test").await;
    let off = UpdateSsoConfigurationRequest {
        sso_configuration_id: sso.config_id.clone(),
        state: Some(SsoConfigurationState::Inactive as i32),
        ..Default::default()
    };
    update_sso(&admin, off).await.unwrap();
    assert!(sso_error(&sso.callback(&back).await).contains("inactive"));
    // And no new one starts.
    let r = sso
        .http
        .get(format!("{}/auth/sso/start?configuration={}", sso.server.url(), sso.config_id))
        .send()
        .await
        .unwrap();
    let location = r.headers()["location"].to_str().unwrap();
    assert!(location.starts_with(&format!("{PUBLIC_URL}/?sso_error=")) && location.contains("inactive"), "{location}");
    let anonymous = sso.server.client_as(Protocol::ConnectJson, None).await;
    let req = GetSsoLoginUrlRequest { email: "alice@acme.test".into(), return_to: None };
    let f = anonymous
        .call::<_, GetSsoLoginUrlResponse>(&format!("{ACCOUNT_SERVICE}GetSSOLoginURL"), req)
        .await
        .unwrap_err();
    assert_eq!(f.code, "failed_precondition", "{f:?}");
    assert!(f.message.contains("inactive"), "{f:?}");
    assert_eq!(sso.server.store.find_account_by_email("alice@acme.test").await.unwrap(), None);
}

#[tokio::test]
async fn get_sso_login_url_says_why_there_is_none() {
    let Some(sso) = setup("sso_login_url_refusals", false).await else { return };
    let anonymous = sso.server.client_as(Protocol::ConnectJson, None).await;
    let call = |email: &str, return_to: Option<&str>| {
        let req = GetSsoLoginUrlRequest { email: email.into(), return_to: return_to.map(str::to_owned) };
        let anonymous = &anonymous;
        async move { anonymous.call::<_, GetSsoLoginUrlResponse>(&format!("{ACCOUNT_SERVICE}GetSSOLoginURL"), req).await }
    };
    let f = call("ada@nowhere.test", None).await.unwrap_err();
    assert_eq!(f.code, "failed_precondition");
    assert!(f.message.contains("nowhere.test"), "{f:?}");
    assert_eq!(call("not an email", None).await.unwrap_err().code, "invalid_argument");
    // Only back to this server.
    assert_eq!(call("alice@acme.test", Some("https://evil.example/")).await.unwrap_err().code, "invalid_argument");
    let ok = call("alice@acme.test", Some(&format!("{PUBLIC_URL}/#/runners"))).await.unwrap();
    assert!(ok.login_url.starts_with(&sso.provider.issuer));
}

#[tokio::test]
async fn suspending_a_user_ends_their_sessions_at_once() {
    for postgres in [false, true] {
        let Some(sso) = setup(&format!("sso_login_suspension_{postgres}"), postgres).await else { return };
        let session = sso.sign_in("alice@acme.test", "").await.session.expect("signed in");
        let c = sso.session_client(Protocol::ConnectJson, &session).await;
        list_runners(&c).await.unwrap();
        let account = sso.server.store.find_account_by_email("alice@acme.test").await.unwrap().unwrap();
        let alice = sso.server.store.list_account_members(account.id).await.unwrap()[0].id;
        let admin = sso.server.client(Protocol::ConnectJson).await;
        let suspend = |suspended| SetSuspendedRequest { user_id: alice.to_string(), suspended };
        admin.call::<_, SetSuspendedResponse>(&us("SetSuspended"), suspend(true)).await.unwrap();
        assert_eq!(list_runners(&c).await.unwrap_err().code, "unauthenticated", "postgres {postgres}");
        // A suspended user cannot sign in again either; reinstated, the old session stays ended.
        assert!(sso_error(&sso.sign_in("alice@acme.test", "").await).contains("suspended"));
        admin.call::<_, SetSuspendedResponse>(&us("SetSuspended"), suspend(false)).await.unwrap();
        assert_eq!(list_runners(&c).await.unwrap_err().code, "unauthenticated");
    }
}

#[tokio::test]
async fn another_email_domain_needs_an_invite() {
    let Some(sso) = setup("sso_login_invites", false).await else { return };
    let store = &sso.server.store;
    let refused = sso.sign_in("bob@other.test", "").await;
    assert!(sso_error(&refused).contains("not in an email domain of this organization"), "{}", refused.location);
    assert_eq!(store.find_account_by_email("bob@other.test").await.unwrap(), None);
    // An invite of another organization does not let him in.
    let (other, _) = runner_store::testing::new_org(store).await;
    let admin = Subject { id: sso.server.admin_id, principal: Principal::User };
    let foreign = OrganizationInvite::new(other.id, admin.clone(), Timestamp::now());
    store.create_invite(&foreign).await.unwrap();
    let refused = sso.sign_in("bob@other.test", &format!("&invite={}", foreign.id)).await;
    assert!(sso_error(&refused).contains("invite is no longer valid"), "{}", refused.location);
    // The organization's invite does.
    let invite = OrganizationInvite::new(sso.server.org.id, admin, Timestamp::now());
    store.create_invite(&invite).await.unwrap();
    let landing = sso.sign_in("bob@other.test", &format!("&invite={}", invite.id)).await;
    let session = landing.session.expect("let in by the invite");
    let bob = store.find_account_by_email("bob@other.test").await.unwrap().unwrap();
    let members = store.list_account_members(bob.id).await.unwrap();
    assert_eq!(members.len(), 1);
    assert_eq!(members[0].org_id, sso.server.org.id);
    list_runners(&sso.session_client(Protocol::GrpcWeb, &session).await).await.unwrap();
    // Once a member, he signs in without it.
    assert!(sso.sign_in("bob@other.test", "").await.session.is_some());
}

#[tokio::test]
async fn a_session_cookie_from_another_site_is_refused() {
    let Some(sso) = setup("sso_login_csrf", false).await else { return };
    let session = sso.sign_in("alice@acme.test", "").await.session.expect("signed in");
    let call = |origin: Option<&str>, fetch_site: Option<&str>| {
        let mut r = sso
            .http
            .post(format!("{}{}", sso.server.url(), rs("ListRunners")))
            .header("content-type", "application/json")
            .header("cookie", format!("runner_session={session}"))
            .body("{}");
        if let Some(o) = origin {
            r = r.header("origin", o);
        }
        if let Some(s) = fetch_site {
            r = r.header("sec-fetch-site", s);
        }
        async move { r.send().await.unwrap().status().as_u16() }
    };
    assert_eq!(call(None, None).await, 200);
    assert_eq!(call(Some(PUBLIC_URL), Some("same-origin")).await, 200);
    assert_eq!(call(Some("https://evil.example"), Some("cross-site")).await, 401);
    assert_eq!(call(None, Some("cross-site")).await, 401);
    // Sign-out from another site is refused too: the session stays.
    let out = sso
        .http
        .post(format!("{}/auth/sso/logout", sso.server.url()))
        .header("cookie", format!("runner_session={session}"))
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(out.status().as_u16(), 403);
    assert_eq!(call(None, None).await, 200);
    // A bearer token needs no origin check, and wins over a cookie.
    let admin = sso.server.client(Protocol::ConnectJson).await;
    list_runners(&admin).await.unwrap();
}

/// Any provider can name any address: only the configuration owning an address's domain
/// vouches for it. Through another provider, even with an invite, nobody signs in as an existing
/// account or takes an address whose domain another configuration owns, and an address it
/// asserted does not make that domain's organization joinable.
#[tokio::test]
async fn only_the_domains_own_provider_vouches_for_an_address() {
    let Some(sso) = setup("sso_login_vouch", false).await else { return };
    let Some(other) = OidcProvider::start("sso_login_vouch_other", &[&format!("{PUBLIC_URL}/auth/sso/callback")])
    else {
        return;
    };
    let store = &sso.server.store;
    // A second configuration of the organization, through the other provider (its own domain).
    let admin = sso.server.client(Protocol::ConnectJson).await;
    let mut req = create_request(sso.server.org.id, &other.issuer, "elsewhere.test");
    req.client_id = CLIENT_ID.into();
    req.client_secret = CLIENT_SECRET.into();
    req.additional_scopes = vec![];
    let second = create_sso(&admin, req).await.unwrap().id;
    let admin_subject = Subject { id: sso.server.admin_id, principal: Principal::User };
    let invite = OrganizationInvite::new(sso.server.org.id, admin_subject, Timestamp::now());
    store.create_invite(&invite).await.unwrap();
    let issuer = other.issuer.clone();
    let query = format!("configuration={second}&invite={}", invite.id);
    let through_other = |email: &'static str| {
        let (sso, issuer, query) = (&sso, issuer.clone(), query.clone());
        async move {
            let url = sso.start(&query).await;
            assert!(url.starts_with(&issuer), "{url}");
            sso.callback(&sign_in_at_provider(&url, email).await).await
        }
    };

    // An address of a domain the first configuration owns is not taken through the other one.
    let refused = through_other("alice@acme.test").await;
    assert!(sso_error(&refused).contains("signs in through"), "{}", refused.location);
    assert_eq!(store.find_account_by_email("alice@acme.test").await.unwrap(), None);
    // Once Alice has her account, the other provider does not sign in as her either.
    let alice = sso.sign_in("alice@acme.test", "").await.session.expect("alice signs in");
    let refused = through_other("alice@acme.test").await;
    assert!(sso_error(&refused).contains("already has an account"), "{}", refused.location);
    let account = store.find_account_by_email("alice@acme.test").await.unwrap().unwrap();
    assert_eq!(store.account_issuers(account.id).await.unwrap(), vec![sso.provider.issuer.clone()]);
    assert!(account.email_vouched, "her domain's own provider made her account");
    list_runners(&sso.session_client(Protocol::ConnectJson, &alice).await).await.unwrap();

    // Bob (a domain no configuration owns) comes in by the invite through the other provider.
    let bob = through_other("bob@other.test").await.session.expect("bob is let in by the invite");
    let bob_client = sso.session_client(Protocol::ConnectJson, &bob).await;
    let joinable = || async {
        let r: ListJoinableOrganizationsResponse = bob_client
            .call(&format!("{ACCOUNT_SERVICE}ListJoinableOrganizations"), ListJoinableOrganizationsRequest::default())
            .await
            .unwrap();
        r.joinable_organizations.into_iter().map(|j| j.organization_id).collect::<Vec<_>>()
    };
    // Another organization whose configuration owns bob's domain, through the first provider:
    // the address the other provider asserted does not make it joinable ...
    let (third, _) = runner_store::testing::new_org(store).await;
    let now = Timestamp::now();
    let mut owner = runner_core::identity::SsoConfiguration {
        id: uuid::Uuid::now_v7(),
        org_id: third.id,
        client_id: CLIENT_ID.into(),
        client_secret_ciphertext: Vec::new(),
        issuer_url: sso.provider.issuer.clone(),
        active: true,
        email_domains: vec!["other.test".into()],
        details: Default::default(),
        created_at: now,
        updated_at: now,
        revision: 1,
    };
    store.insert_sso_configuration(&owner).await.unwrap();
    assert_eq!(joinable().await, Vec::<String>::new());
    // ... while the provider that vouched for it does.
    owner.issuer_url = issuer.clone();
    owner.revision = 2;
    store.update_sso_configuration(&owner).await.unwrap();
    assert_eq!(joinable().await, vec![third.id.to_string()]);

    // Bob's account carries an address nobody vouched for. When bob's domain comes to belong to
    // a configuration (here the organization's, through the first provider), a sign-in through
    // it is not linked to that account by the address: whoever signed in through the other
    // provider only claimed it.
    let bobs = store.find_account_by_email("bob@other.test").await.unwrap().unwrap();
    assert!(!bobs.email_vouched);
    store.delete_sso_configuration(owner.id).await.unwrap();
    let mut req = create_request(sso.server.org.id, &sso.provider.issuer, "other.test");
    req.client_id = CLIENT_ID.into();
    req.client_secret = CLIENT_SECRET.into();
    req.additional_scopes = vec![];
    let domain_owner = create_sso(&admin, req).await.unwrap().id;
    let url = sso.start(&format!("configuration={domain_owner}")).await;
    let refused = sso.callback(&sign_in_at_provider(&url, "bob@other.test").await).await;
    assert!(sso_error(&refused).contains("cannot vouch"), "{}", refused.location);
    assert_eq!(store.account_issuers(bobs.id).await.unwrap(), vec![issuer.clone()], "nothing linked");
    assert_eq!(store.find_account_by_email("bob@other.test").await.unwrap(), Some(bobs), "unchanged");
}
