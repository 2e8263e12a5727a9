//! SCM integrations: provider rules, sealed OAuth secrets, updates by presence, authorization.

use gitpod_api::gitpod::v1::*;
use runner_core::crypto;
use runner_core::identity::OrgRole;

use crate::runners::create;
use runner_testkit::{Client, Failure, Protocol, TestServer, rcs};

fn integration(runner_id: &str, scm_id: &str, host: &str) -> CreateScmIntegrationRequest {
    CreateScmIntegrationRequest {
        runner_id: runner_id.into(),
        scm_id: scm_id.into(),
        host: host.into(),
        pat: true,
        ..Default::default()
    }
}

async fn create_scm(c: &Client, req: CreateScmIntegrationRequest) -> Result<String, Failure> {
    let r: CreateScmIntegrationResponse = c.call(&rcs("CreateSCMIntegration"), req).await?;
    Ok(r.id)
}

async fn get_scm(c: &Client, id: &str) -> Result<ScmIntegration, Failure> {
    let r: GetScmIntegrationResponse =
        c.call(&rcs("GetSCMIntegration"), GetScmIntegrationRequest { id: id.into() }).await?;
    Ok(r.integration.unwrap())
}

async fn update_scm(c: &Client, req: UpdateScmIntegrationRequest) -> Result<(), Failure> {
    let _: UpdateScmIntegrationResponse = c.call(&rcs("UpdateSCMIntegration"), req).await?;
    Ok(())
}

fn bad(r: Result<impl std::fmt::Debug, Failure>, field: &str) {
    let f = r.unwrap_err();
    assert_eq!((f.code.as_str(), f.bad_fields.clone()), ("invalid_argument", vec![field.to_owned()]), "{f:?}");
}

#[tokio::test]
async fn scm_integrations_over_connect_and_grpc() {
    for protocol in [Protocol::ConnectJson, Protocol::Grpc] {
        let server = TestServer::start().await;
        let c = server.client(protocol).await;
        let req = CreateRunnerRequest {
            name: "scm runner".into(),
            provider: RunnerProvider::Gcp as i32,
            ..Default::default()
        };
        let runner = create(&c, req).await.unwrap().runner.unwrap().runner_id;

        // PAT only: no OAuth block at all.
        let github = create_scm(&c, integration(&runner, "github", "github.com")).await.unwrap();
        let got = get_scm(&c, &github).await.unwrap();
        assert_eq!(
            (got.scm_id.as_str(), got.host.as_str(), got.pat, got.oauth.is_none()),
            ("github", "github.com", true, true)
        );
        assert_eq!(got.runner_id, runner);

        // OAuth needs the runner's public key.
        let oauth = |host: &str| CreateScmIntegrationRequest {
            oauth_client_id: Some("client-id".into()),
            oauth_plaintext_client_secret: Some("very-secret-client-secret".into()),
            pat: false,
            ..integration(&runner, "gitlab", host)
        };
        let f = create_scm(&c, oauth("gitlab.com")).await.unwrap_err();
        assert_eq!((f.code.as_str(), f.message.as_str()), ("failed_precondition", "runner does not have a public key"));
        let (secret_key, public_key) = crypto::generate_runner_keypair();
        server.set_public_key(&runner, &public_key).await;
        let gitlab = create_scm(&c, oauth("gitlab.com")).await.unwrap();
        let got = get_scm(&c, &gitlab).await.unwrap();
        let o = got.oauth.expect("OAuth configured");
        assert_eq!(o.client_id, "client-id");
        assert_eq!(o.encrypted_client_secret.len(), "very-secret-client-secret".len() + crypto::SEAL_OVERHEAD);
        assert_eq!(crypto::open_sealed(&secret_key, &o.encrypted_client_secret).unwrap(), b"very-secret-client-secret");

        // One integration per host; the failed create left nothing.
        assert_eq!(create_scm(&c, oauth("gitlab.com")).await.unwrap_err().code, "already_exists");

        // Provider rules.
        bad(create_scm(&c, integration(&runner, "sourceforge", "sf.net")).await, "scmId");
        bad(
            create_scm(
                &c,
                CreateScmIntegrationRequest { pat: false, ..integration(&runner, "github", "ghe.example.com") },
            )
            .await,
            "pat",
        );
        bad(
            create_scm(
                &c,
                CreateScmIntegrationRequest {
                    oauth_client_id: Some("x".into()),
                    ..integration(&runner, "github", "ghe.example.com")
                },
            )
            .await,
            "oauthPlaintextClientSecret",
        );
        bad(create_scm(&c, integration(&runner, "azuredevops_server", "ado.example.com")).await, "virtualDirectory");
        bad(
            create_scm(
                &c,
                CreateScmIntegrationRequest { issuer_url: Some("https://issuer".into()), ..oauth("gl.example.com") },
            )
            .await,
            "issuerUrl",
        );
        let entra = CreateScmIntegrationRequest { scm_id: "azuredevops_entra".into(), ..oauth("dev.azure.com/acme") };
        bad(create_scm(&c, entra.clone()).await, "issuerUrl");
        let with_issuer = CreateScmIntegrationRequest {
            issuer_url: Some("https://login.microsoftonline.com/tenant/v2.0".into()),
            ..entra
        };
        let ado = create_scm(&c, with_issuer).await.unwrap();
        assert_eq!(
            get_scm(&c, &ado).await.unwrap().oauth.unwrap().issuer_url,
            "https://login.microsoftonline.com/tenant/v2.0"
        );
        let server_ado = CreateScmIntegrationRequest {
            virtual_directory: Some("/tfs".into()),
            ..integration(&runner, "azuredevops_server", "tfs.example.com")
        };
        let tfs = create_scm(&c, server_ado).await.unwrap();
        assert_eq!(get_scm(&c, &tfs).await.unwrap().virtual_directory.as_deref(), Some("/tfs"));
        bad(create_scm(&c, integration(&runner, "github", "https://github.com")).await, "host");

        // Updates by presence.
        let upd = |id: &str| UpdateScmIntegrationRequest { id: id.into(), ..Default::default() };
        bad(
            update_scm(&c, UpdateScmIntegrationRequest { oauth_client_id: Some("new-id".into()), ..upd(&gitlab) })
                .await,
            "oauthPlaintextClientSecret",
        );
        update_scm(
            &c,
            UpdateScmIntegrationRequest {
                oauth_client_id: Some("new-id".into()),
                oauth_plaintext_client_secret: Some("rotated".into()),
                pat: Some(true),
                ..upd(&gitlab)
            },
        )
        .await
        .unwrap();
        let got = get_scm(&c, &gitlab).await.unwrap();
        assert!(got.pat);
        let o = got.oauth.unwrap();
        assert_eq!(
            (o.client_id.as_str(), crypto::open_sealed(&secret_key, &o.encrypted_client_secret).unwrap()),
            ("new-id", b"rotated".to_vec())
        );
        // An empty client id removes OAuth.
        update_scm(&c, UpdateScmIntegrationRequest { oauth_client_id: Some(String::new()), ..upd(&gitlab) })
            .await
            .unwrap();
        assert!(get_scm(&c, &gitlab).await.unwrap().oauth.is_none());
        // Nothing left enabled is refused.
        bad(update_scm(&c, UpdateScmIntegrationRequest { pat: Some(false), ..upd(&github) }).await, "pat");
        assert!(get_scm(&c, &github).await.unwrap().pat, "the refused update changed nothing");

        // List across pages, by runner.
        let mut seen = Vec::new();
        let mut token = String::new();
        loop {
            let req = ListScmIntegrationsRequest {
                pagination: Some(PaginationRequest { page_size: 2, token }),
                filter: Some(list_scm_integrations_request::Filter { runner_ids: vec![runner.clone()] }),
            };
            let page: ListScmIntegrationsResponse = c.call(&rcs("ListSCMIntegrations"), req).await.unwrap();
            seen.extend(page.integrations.into_iter().map(|i| i.id));
            token = page.pagination.unwrap_or_default().next_token;
            if token.is_empty() {
                break;
            }
        }
        assert_eq!(seen, vec![github.clone(), gitlab.clone(), ado.clone(), tfs.clone()]);

        // Delete, then it is gone.
        let _: DeleteScmIntegrationResponse =
            c.call(&rcs("DeleteSCMIntegration"), DeleteScmIntegrationRequest { id: tfs.clone() }).await.unwrap();
        assert_eq!(get_scm(&c, &tfs).await.unwrap_err().code, "not_found");
        let f = c
            .call::<_, DeleteScmIntegrationResponse>(
                &rcs("DeleteSCMIntegration"),
                DeleteScmIntegrationRequest { id: tfs },
            )
            .await
            .unwrap_err();
        assert_eq!(f.code, "not_found");
        bad(get_scm(&c, "nope").await, "id");
    }
}

#[tokio::test]
async fn scm_integrations_follow_runner_access_and_never_leak_the_secret() {
    let server = TestServer::start().await;
    let admin = server.client(Protocol::ConnectJson).await;
    let req =
        CreateRunnerRequest { name: "scm runner".into(), provider: RunnerProvider::Gcp as i32, ..Default::default() };
    let runner = create(&admin, req).await.unwrap().runner.unwrap().runner_id;
    let (_, public_key) = crypto::generate_runner_keypair();
    server.set_public_key(&runner, &public_key).await;
    let req = CreateScmIntegrationRequest {
        oauth_client_id: Some("cid".into()),
        oauth_plaintext_client_secret: Some("plaintext-oauth-secret-value".into()),
        ..integration(&runner, "github", "github.com")
    };
    let id = create_scm(&admin, req).await.unwrap();
    // The JSON the API returns holds only ciphertext.
    let body = reqwest::Client::new()
        .post(format!("{}{}", server.url(), rcs("GetSCMIntegration")))
        .bearer_auth(&server.admin_token)
        .json(&serde_json::json!({"id": id}))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(body.contains("encryptedClientSecret") && !body.contains("plaintext-oauth-secret-value"), "{body}");

    let (user_id, user_token) = server.member("user", OrgRole::Member).await;
    let (_, plain_token) = server.member("plain", OrgRole::Member).await;
    let group = server.identity.create_group(server.org.id, "users").await.unwrap();
    server.identity.add_group_member(group.id, user_id).await.unwrap();
    let policy = CreateRunnerPolicyRequest {
        runner_id: runner.clone(),
        group_id: group.id.to_string(),
        role: RunnerRole::User as i32,
    };
    let _: CreateRunnerPolicyResponse =
        admin.call("/gitpod.v1.RunnerService/CreateRunnerPolicy", policy).await.unwrap();
    let user = server.client_as(Protocol::ConnectJson, Some(&user_token)).await;
    let plain = server.client_as(Protocol::ConnectJson, Some(&plain_token)).await;
    assert_eq!(get_scm(&user, &id).await.unwrap().id, id);
    assert_eq!(
        create_scm(&user, integration(&runner, "gitlab", "gitlab.com")).await.unwrap_err().code,
        "permission_denied"
    );
    assert_eq!(get_scm(&plain, &id).await.unwrap_err().code, "not_found");
    assert_eq!(create_scm(&plain, integration(&runner, "gitlab", "gitlab.com")).await.unwrap_err().code, "not_found");
    let upd = UpdateScmIntegrationRequest { id: id.clone(), pat: Some(false), ..Default::default() };
    assert_eq!(update_scm(&plain, upd).await.unwrap_err().code, "not_found");
}

#[tokio::test]
async fn validate_scm_integration_reports_problems_as_data() {
    let server = TestServer::start().await;
    let c = server.client(Protocol::ConnectJson).await;
    let req =
        CreateRunnerRequest { name: "scm runner".into(), provider: RunnerProvider::Gcp as i32, ..Default::default() };
    let runner = create(&c, req).await.unwrap().runner.unwrap().runner_id;
    let existing = create_scm(&c, integration(&runner, "github", "github.com")).await.unwrap();
    // The documented example: a host already integrated, and no public key yet.
    let example = serde_json::json!({"id": "integration-id", "scmId": "github", "host": "github.com",
        "oauthClientId": "client_id", "oauthPlaintextClientSecret": "client_secret"});
    let v = validate_scm(&server, &runner, example.clone()).await;
    assert_eq!(v["valid"], serde_json::Value::Null, "valid=false is omitted: {v}");
    assert!(v["hostError"].as_str().unwrap().contains("already"), "{v}");
    assert_eq!(v["oauthError"], "runner does not have a public key");
    // Validating the existing integration itself is fine once the runner has a key.
    let (_, public_key) = crypto::generate_runner_keypair();
    server.set_public_key(&runner, &public_key).await;
    let mut same = example.clone();
    same["id"] = existing.clone().into();
    assert_eq!(validate_scm(&server, &runner, same).await, serde_json::json!({"valid": true}));
    // Each problem in its slot.
    let v = validate_scm(&server, &runner, serde_json::json!({"scmId": "nope", "host": "x.example.com", "pat": true}))
        .await;
    assert!(v["scmIdError"].is_string(), "{v}");
    let v = validate_scm(
        &server,
        &runner,
        serde_json::json!({"scmId": "gitlab", "host": "gitlab.com", "oauthClientId": "cid"}),
    )
    .await;
    assert!(v["oauthError"].as_str().unwrap().contains("secret"), "{v}");
    let v = validate_scm(&server, &runner, serde_json::json!({"scmId": "gitlab", "host": "gitlab.com"})).await;
    assert!(v["patError"].is_string(), "{v}");
    let v = validate_scm(
        &server,
        &runner,
        serde_json::json!({"scmId": "gitlab", "host": "gitlab.com", "oauthClientId": "cid",
        "oauthEncryptedClientSecret": "c2VhbGVk"}),
    )
    .await;
    assert_eq!(v, serde_json::json!({"valid": true}), "a stored (encrypted) secret validates");
}

async fn validate_scm(server: &TestServer, runner: &str, body: serde_json::Value) -> serde_json::Value {
    let response = reqwest::Client::new()
        .post(format!("{}{}", server.url(), rcs("ValidateRunnerConfiguration")))
        .bearer_auth(&server.admin_token)
        .json(&serde_json::json!({"runnerId": runner, "scmIntegration": body}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let v: serde_json::Value = response.json().await.unwrap();
    v["scmIntegration"].clone()
}
