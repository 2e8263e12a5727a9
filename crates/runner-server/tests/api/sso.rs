//! OrganizationService's SSO configurations: admins register their organization's OpenID
//! provider (checked against its discovery document), read, list, change and delete it; the
//! client secret is stored encrypted and never comes back; an email domain belongs to one
//! configuration; an issuer that is unreachable or not an OpenID provider is refused with
//! `failed_precondition`.

use std::sync::Arc;

use axum::Router;
use axum::routing::get;
use gitpod_api::gitpod::v1::*;
use runner_core::identity::OrgRole;
use runner_testkit::{ALL, Client, Failure, Protocol, TestServer, os};

const SECRET: &str = "s3cr3t-client-value-never-shown";

/// An issuer on 127.0.0.1 serving a discovery document at the standard path (`issuer` is the
/// URL it names, `None`: its own). Returns its URL.
pub async fn issuer_naming(issuer: Option<String>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let named = Arc::new(issuer.unwrap_or_else(|| url.clone()));
    let base = url.clone();
    let app = Router::new().route("/jwks", get(|| async { axum::Json(serde_json::json!({ "keys": [] })) })).route(
        "/.well-known/openid-configuration",
        get(move || {
            let (named, base) = (named.clone(), base.clone());
            async move {
                axum::Json(serde_json::json!({
                    "issuer": *named,
                    "authorization_endpoint": format!("{base}/auth"),
                    "token_endpoint": format!("{base}/token"),
                    "jwks_uri": format!("{base}/jwks"),
                    "response_types_supported": ["code"],
                    "subject_types_supported": ["public"],
                    "id_token_signing_alg_values_supported": ["RS256"],
                }))
            }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

/// An OpenID provider for the tests: a discovery document naming itself.
pub async fn issuer() -> String {
    issuer_naming(None).await
}

/// A domain no other test uses.
pub fn fresh_domain() -> String {
    format!("d{}.example.com", &uuid::Uuid::new_v4().simple().to_string()[..12])
}

pub fn create_request(org: impl ToString, issuer: &str, domain: &str) -> CreateSsoConfigurationRequest {
    CreateSsoConfigurationRequest {
        organization_id: org.to_string(),
        client_id: "runner-api".into(),
        client_secret: SECRET.into(),
        issuer_url: issuer.into(),
        email_domain: Some(domain.into()),
        display_name: "Example IdP".into(),
        additional_scopes: vec!["groups".into()],
        ..Default::default()
    }
}

pub async fn create_sso(c: &Client, req: CreateSsoConfigurationRequest) -> Result<SsoConfiguration, Failure> {
    let r: CreateSsoConfigurationResponse = c.call(&os("CreateSSOConfiguration"), req).await?;
    Ok(r.sso_configuration.unwrap())
}

pub async fn get_sso(c: &Client, id: &str) -> Result<SsoConfiguration, Failure> {
    let req = GetSsoConfigurationRequest { sso_configuration_id: id.into() };
    let r: GetSsoConfigurationResponse = c.call(&os("GetSSOConfiguration"), req).await?;
    Ok(r.sso_configuration.unwrap())
}

pub async fn list_sso(
    c: &Client,
    org: impl ToString,
    size: i32,
    token: &str,
) -> Result<ListSsoConfigurationsResponse, Failure> {
    let req = ListSsoConfigurationsRequest {
        organization_id: org.to_string(),
        pagination: Some(PaginationRequest { page_size: size, token: token.into() }),
    };
    c.call(&os("ListSSOConfigurations"), req).await
}

pub async fn update_sso(c: &Client, req: UpdateSsoConfigurationRequest) -> Result<(), Failure> {
    c.call::<_, UpdateSsoConfigurationResponse>(&os("UpdateSSOConfiguration"), req).await.map(|_| ())
}

pub async fn delete_sso(c: &Client, id: &str) -> Result<(), Failure> {
    let req = DeleteSsoConfigurationRequest { sso_configuration_id: id.into() };
    c.call::<_, DeleteSsoConfigurationResponse>(&os("DeleteSSOConfiguration"), req).await.map(|_| ())
}

fn code<T: std::fmt::Debug>(r: Result<T, Failure>) -> String {
    r.unwrap_err().code
}

#[tokio::test]
async fn admins_manage_sso_configurations_and_the_client_secret_never_comes_back() {
    let issuer = issuer().await;
    for protocol in ALL {
        let server = TestServer::start().await;
        let c = server.client(protocol).await;
        let domain = fresh_domain();
        let mut req = create_request(server.org.id, &issuer, &domain.to_uppercase());
        req.email_domains = vec![domain.clone(), "second.example.org".into()];
        let created = create_sso(&c, req).await.unwrap();
        assert_eq!(created.organization_id, server.org.id.to_string(), "{protocol:?}");
        assert_eq!(created.issuer_url, issuer);
        assert_eq!(created.client_id, "runner-api");
        assert_eq!(created.state, SsoConfigurationState::Active as i32);
        assert_eq!(created.provider_type, sso_configuration::ProviderType::Custom as i32);
        // Domains in lower case, each once; the first is the deprecated single field.
        assert_eq!(created.email_domains, [domain.clone(), "second.example.org".to_owned()]);
        assert_eq!(created.email_domain, domain);
        assert_eq!(
            (created.display_name.as_str(), created.additional_scopes.as_slice()),
            ("Example IdP", &["groups".to_owned()][..])
        );
        assert_eq!(get_sso(&c, &created.id).await.unwrap(), created);

        // Stored encrypted: the row holds no plaintext, and no answer carries it.
        let id: uuid::Uuid = created.id.parse().unwrap();
        let stored = server.store.get_sso_configuration(id).await.unwrap().unwrap();
        assert!(!stored.client_secret_ciphertext.windows(SECRET.len()).any(|w| w == SECRET.as_bytes()));
        assert!(stored.client_secret_ciphertext.len() > SECRET.len());
        let json = server.client(Protocol::ConnectJson).await;
        for answer in [
            json.call_json(&os("GetSSOConfiguration"), serde_json::json!({"ssoConfigurationId": created.id}))
                .await
                .unwrap(),
            json.call_json(&os("ListSSOConfigurations"), serde_json::json!({"organizationId": server.org.id}))
                .await
                .unwrap(),
        ] {
            assert!(!answer.to_string().contains(SECRET), "{answer}");
            assert!(!answer.to_string().contains("clientSecret"), "{answer}");
        }

        // Update: rotate the secret, deactivate, new domains and scopes; what is not sent stays.
        update_sso(
            &c,
            UpdateSsoConfigurationRequest {
                sso_configuration_id: created.id.clone(),
                client_secret: Some("rotated-secret".into()),
                state: Some(SsoConfigurationState::Inactive as i32),
                email_domains: vec!["third.example.net".into()],
                additional_scopes: Some(AdditionalScopesUpdate { scopes: Vec::new() }),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        let updated = get_sso(&c, &created.id).await.unwrap();
        assert_eq!(updated.state, SsoConfigurationState::Inactive as i32);
        assert_eq!(updated.email_domains, ["third.example.net"]);
        assert!(updated.additional_scopes.is_empty());
        assert_eq!((updated.client_id.as_str(), updated.display_name.as_str()), ("runner-api", "Example IdP"));
        let rotated = server.store.get_sso_configuration(id).await.unwrap().unwrap();
        assert_ne!(rotated.client_secret_ciphertext, stored.client_secret_ciphertext);
        assert!(!rotated.client_secret_ciphertext.windows(14).any(|w| w == b"rotated-secret"));
        // The old domains are free again.
        create_sso(&c, create_request(server.org.id, &issuer, &domain)).await.unwrap();

        // Lists page through the organization's configurations.
        let first = list_sso(&c, server.org.id, 1, "").await.unwrap();
        assert_eq!(first.sso_configurations.len(), 1);
        let token = first.pagination.unwrap().next_token;
        assert!(!token.is_empty());
        let second = list_sso(&c, server.org.id, 1, &token).await.unwrap();
        assert_eq!(second.sso_configurations.len(), 1);
        assert_ne!(second.sso_configurations[0].id, first.sso_configurations[0].id);
        assert_eq!(second.pagination.unwrap().next_token, "");

        delete_sso(&c, &created.id).await.unwrap();
        assert_eq!(code(get_sso(&c, &created.id).await), "not_found");
        assert_eq!(code(delete_sso(&c, &created.id).await), "not_found");
        assert_eq!(list_sso(&c, server.org.id, 0, "").await.unwrap().sso_configurations.len(), 1);
    }
}

#[tokio::test]
async fn an_issuer_that_is_not_an_openid_provider_is_a_failed_precondition() {
    let server = TestServer::start().await;
    let c = server.client(Protocol::ConnectJson).await;
    let org = server.org.id;
    let domain = fresh_domain();

    // Nothing listens there.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let unreachable = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let f = create_sso(&c, create_request(org, &unreachable, &domain)).await.unwrap_err();
    assert_eq!(f.code, "failed_precondition", "{f:?}");
    assert!(
        f.message.contains("not a usable OpenID provider") && f.message.contains("could not be reached"),
        "{}",
        f.message
    );

    // A web server without a discovery document.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let bare = format!("http://{}/realms/none", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, Router::new()).await.unwrap() });
    let f = create_sso(&c, create_request(org, &bare, &domain)).await.unwrap_err();
    assert_eq!(f.code, "failed_precondition", "{f:?}");
    assert!(f.message.contains("answered HTTP"), "{}", f.message);

    // A discovery document naming another issuer.
    let liar = issuer_naming(Some("https://someone-else.example.com".into())).await;
    let f = create_sso(&c, create_request(org, &liar, &domain)).await.unwrap_err();
    assert_eq!(f.code, "failed_precondition", "{f:?}");
    assert!(f.message.contains("names another issuer"), "{}", f.message);

    // Plain http is for providers on this machine only; a claims expression is not evaluated here.
    let f = create_sso(&c, create_request(org, "http://idp.example.com", &domain)).await.unwrap_err();
    assert_eq!((f.code.as_str(), f.bad_fields.as_slice()), ("invalid_argument", &["issuerUrl".to_owned()][..]));
    let good = issuer().await;
    let mut req = create_request(org, &good, &domain);
    req.claims_expression = Some("claims.email_verified".into());
    let f = create_sso(&c, req).await.unwrap_err();
    assert_eq!((f.code.as_str(), f.bad_fields.as_slice()), ("invalid_argument", &["claimsExpression".to_owned()][..]));
    let mut req = create_request(org, &good, &domain);
    req.email_domain = None;
    let f = create_sso(&c, req).await.unwrap_err();
    assert_eq!((f.code.as_str(), f.bad_fields.as_slice()), ("invalid_argument", &["emailDomains".to_owned()][..]));
    assert!(list_sso(&c, org, 0, "").await.unwrap().sso_configurations.is_empty(), "nothing was stored");

    // An update that moves to a bad issuer, or reactivates one that went away, is refused too.
    let config = create_sso(&c, create_request(org, &good, &domain)).await.unwrap();
    let f = update_sso(
        &c,
        UpdateSsoConfigurationRequest {
            sso_configuration_id: config.id.clone(),
            issuer_url: Some(unreachable.clone()),
            ..Default::default()
        },
    )
    .await
    .unwrap_err();
    assert_eq!(f.code, "failed_precondition", "{f:?}");
    assert_eq!(get_sso(&c, &config.id).await.unwrap().issuer_url, good);
}

#[tokio::test]
async fn an_email_domain_belongs_to_one_configuration_on_the_server() {
    let server = TestServer::start().await;
    let issuer = issuer().await;
    let c = server.client(Protocol::Grpc).await;
    let domain = fresh_domain();
    create_sso(&c, create_request(server.org.id, &issuer, &domain)).await.unwrap();
    let f = create_sso(&c, create_request(server.org.id, &issuer, &domain)).await.unwrap_err();
    assert_eq!(f.code, "already_exists", "{f:?}");

    // Another organization's admin cannot claim it either, nor read or change this one.
    let other = server.identity.create_organization("other").await.unwrap();
    let boss = server
        .identity
        .create_member(other.id, runner_core::model::Principal::User, "boss", OrgRole::Admin)
        .await
        .unwrap();
    let boss_token = server.identity.issue_token(boss.id, "t", None).await.unwrap().token;
    let b = server.client_as(Protocol::Grpc, Some(&boss_token)).await;
    let f = create_sso(&b, create_request(other.id, &issuer, &domain)).await.unwrap_err();
    assert_eq!(f.code, "already_exists", "{f:?}");
    let mine = list_sso(&c, server.org.id, 0, "").await.unwrap().sso_configurations.remove(0);
    assert_eq!(code(get_sso(&b, &mine.id).await), "not_found");
    assert_eq!(code(delete_sso(&b, &mine.id).await), "not_found");
    assert_eq!(code(list_sso(&b, server.org.id, 0, "").await), "not_found");
    assert_eq!(code(create_sso(&b, create_request(server.org.id, &issuer, &fresh_domain())).await), "not_found");

    // A member of the organization may not manage them.
    let (_, member) = server.member("plain", OrgRole::Member).await;
    let m = server.client_as(Protocol::Grpc, Some(&member)).await;
    assert_eq!(code(get_sso(&m, &mine.id).await), "permission_denied");
    assert_eq!(code(list_sso(&m, server.org.id, 0, "").await), "permission_denied");
    assert_eq!(
        code(create_sso(&m, create_request(server.org.id, &issuer, &fresh_domain())).await),
        "permission_denied"
    );
    let req = UpdateSsoConfigurationRequest { sso_configuration_id: mine.id.clone(), ..Default::default() };
    assert_eq!(code(update_sso(&m, req).await), "permission_denied");
    assert_eq!(code(delete_sso(&m, &mine.id).await), "permission_denied");
}

/// Against a real, certified OpenID provider (panva's oidc-provider, `tests/oidc/`): its
/// discovery document is accepted as it is, and the issuer is stored as the provider names it.
#[tokio::test]
async fn a_real_openid_provider_is_accepted() {
    let Some(provider) = runner_testkit::oidc::OidcProvider::start(
        "a_real_openid_provider_is_accepted",
        &[&format!("{}/auth/sso/callback", runner_testkit::PUBLIC_URL)],
    ) else {
        return;
    };
    let server = TestServer::start().await;
    let c = server.client(Protocol::ConnectJson).await;
    let domain = fresh_domain();
    let mut req = create_request(server.org.id, &format!("{}/", provider.issuer), &domain);
    req.client_id = runner_testkit::oidc::CLIENT_ID.into();
    req.client_secret = runner_testkit::oidc::CLIENT_SECRET.into();
    let created = create_sso(&c, req).await.unwrap();
    assert_eq!(created.issuer_url, provider.issuer, "as the discovery document names it");
    assert_eq!(created.state, SsoConfigurationState::Active as i32);
    drop(provider);
    // The provider is gone: making the (deactivated) configuration active again needs it.
    let id = created.id.clone();
    let deactivate = UpdateSsoConfigurationRequest {
        sso_configuration_id: id.clone(),
        state: Some(SsoConfigurationState::Inactive as i32),
        ..Default::default()
    };
    update_sso(&c, deactivate).await.unwrap();
    let activate = UpdateSsoConfigurationRequest {
        sso_configuration_id: id.clone(),
        state: Some(SsoConfigurationState::Active as i32),
        ..Default::default()
    };
    let f = update_sso(&c, activate).await.unwrap_err();
    assert_eq!(f.code, "failed_precondition", "{f:?}");
    assert_eq!(get_sso(&c, &id).await.unwrap().state, SsoConfigurationState::Inactive as i32);
}
