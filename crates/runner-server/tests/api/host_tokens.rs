//! Host authentication tokens: the SDK's set_scm_pat flow, encryption at rest, integration
//! rules, cascades from SCM integration updates, and who sees what.

use gitpod_api::gitpod::v1::*;
use runner_core::crypto;
use runner_core::identity::OrgRole;
use serde_json::{Value, json};

use crate::runners::create;
use runner_testkit::{Client, Failure, Protocol, TestServer, rcs};

async fn post(server: &TestServer, token: &str, method: &str, body: Value) -> (u16, Value) {
    server.post_json_as(token, &format!("/api{}", rcs(method)), body).await
}

pub(crate) struct Setup {
    pub(crate) server: TestServer,
    pub(crate) runner: String,
    gitlab_integration: String,
    github_integration: String,
}

pub(crate) async fn setup() -> Setup {
    let server = TestServer::start().await;
    let c = server.client(Protocol::ConnectJson).await;
    let req =
        CreateRunnerRequest { name: "token runner".into(), provider: RunnerProvider::Gcp as i32, ..Default::default() };
    let runner = create(&c, req).await.unwrap().runner.unwrap().runner_id;
    let (_, public_key) = crypto::generate_runner_keypair();
    server.set_public_key(&runner, &public_key).await;
    let github = CreateScmIntegrationRequest {
        runner_id: runner.clone(),
        scm_id: "github".into(),
        host: "github.com".into(),
        pat: true,
        ..Default::default()
    };
    let r: CreateScmIntegrationResponse = c.call(&rcs("CreateSCMIntegration"), github).await.unwrap();
    let gitlab = CreateScmIntegrationRequest {
        runner_id: runner.clone(),
        scm_id: "gitlab".into(),
        host: "gitlab.com".into(),
        oauth_client_id: Some("cid".into()),
        oauth_plaintext_client_secret: Some("csecret".into()),
        pat: false,
        ..Default::default()
    };
    let g: CreateScmIntegrationResponse = c.call(&rcs("CreateSCMIntegration"), gitlab).await.unwrap();
    Setup { server, runner, github_integration: r.id, gitlab_integration: g.id }
}

pub(crate) async fn create_token(
    c: &Client,
    req: CreateHostAuthenticationTokenRequest,
) -> Result<HostAuthenticationToken, Failure> {
    let r: CreateHostAuthenticationTokenResponse = c.call(&rcs("CreateHostAuthenticationToken"), req).await?;
    Ok(r.token.unwrap())
}

async fn get_token(c: &Client, id: &str) -> Result<HostAuthenticationToken, Failure> {
    let r: GetHostAuthenticationTokenResponse =
        c.call(&rcs("GetHostAuthenticationToken"), GetHostAuthenticationTokenRequest { id: id.into() }).await?;
    Ok(r.token.unwrap())
}

pub(crate) fn pat(runner: &str, subject: uuid::Uuid, token: &str) -> CreateHostAuthenticationTokenRequest {
    CreateHostAuthenticationTokenRequest {
        runner_id: runner.into(),
        host: "github.com".into(),
        token: token.into(),
        source: HostAuthenticationTokenSource::Pat as i32,
        subject: Some(Subject { id: subject.to_string(), principal: Principal::User as i32 }),
        scopes: vec!["repo".into(), "read:user".into()],
        ..Default::default()
    }
}

#[tokio::test]
async fn set_scm_pat_flow_as_the_stainless_sdk_sends_it() {
    let s = setup().await;
    let admin = s.server.admin_id.to_string();
    let token = &s.server.admin_token;
    for (i, secret) in ["ghp_first_secret_value", "ghp_second_secret_value"].iter().enumerate() {
        // 1. list the user's tokens on the runner (userId filter, query-string paging)
        let (status, page) = post(
            &s.server,
            token,
            "ListHostAuthenticationTokens",
            json!({"filter": {"userId": admin, "runnerId": s.runner}}),
        )
        .await;
        assert_eq!(status, 200, "{page}");
        let tokens = page["tokens"].as_array().cloned().unwrap_or_default();
        assert_eq!(tokens.len(), i, "{page}");
        // 2. delete those for the host
        for t in tokens.iter().filter(|t| t["host"] == "github.com") {
            let (status, body) = post(&s.server, token, "DeleteHostAuthenticationToken", json!({"id": t["id"]})).await;
            assert_eq!((status, body), (200, json!({})));
        }
        // 3. create the PAT with the deprecated userId and an offset timestamp
        let (status, created) = post(
            &s.server,
            token,
            "CreateHostAuthenticationToken",
            json!({"runnerId": s.runner, "userId": admin, "host": "github.com", "token": secret,
                   "source": "HOST_AUTHENTICATION_TOKEN_SOURCE_PAT", "expiresAt": "2030-01-01T00:00:00+00:00"}),
        )
        .await;
        assert_eq!(status, 200, "{created}");
        let t = &created["token"];
        assert_eq!(t["source"], "HOST_AUTHENTICATION_TOKEN_SOURCE_PAT");
        assert_eq!(t["subject"]["principal"], "PRINCIPAL_USER");
        assert_eq!(t["userId"], admin);
        assert_eq!(t["expiresAt"], "2030-01-01T00:00:00Z");
        assert_eq!(t["integrationId"], s.github_integration);
        assert!(!created.to_string().contains(secret), "never returned: {created}");
    }
    // The database holds ciphertext only.
    let db = std::fs::read(s.server.dir.path().join("test.db")).unwrap();
    let wal = std::fs::read(s.server.dir.path().join("test.db-wal")).unwrap_or_default();
    for secret in ["ghp_first_secret_value", "ghp_second_secret_value"] {
        let needle = secret.as_bytes();
        assert!(
            !db.windows(needle.len()).any(|w| w == needle) && !wal.windows(needle.len()).any(|w| w == needle),
            "{secret} stored in plaintext"
        );
    }
}

#[tokio::test]
async fn host_token_rules_and_cascades() {
    for protocol in [Protocol::ConnectJson, Protocol::Grpc] {
        let s = setup().await;
        let c = s.server.client(protocol).await;
        let me = s.server.admin_id;
        let t = create_token(&c, pat(&s.runner, me, "ghp_abc")).await.unwrap();
        assert_eq!(
            (t.host.as_str(), t.scopes.len(), t.integration_id.as_str()),
            ("github.com", 2, s.github_integration.as_str())
        );
        assert_eq!(get_token(&c, &t.id).await.unwrap(), t);
        // One per (runner, subject, host).
        let f = create_token(&c, pat(&s.runner, me, "ghp_again")).await.unwrap_err();
        assert_eq!((f.code.as_str(), f.http_status.unwrap_or(409)), ("already_exists", 409));
        // The host must have an integration that takes the source.
        let f = create_token(
            &c,
            CreateHostAuthenticationTokenRequest { host: "bitbucket.org".into(), ..pat(&s.runner, me, "x") },
        )
        .await
        .unwrap_err();
        assert_eq!(f.code, "failed_precondition");
        assert!(f.message.contains("not configured"), "{f:?}");
        let f = create_token(
            &c,
            CreateHostAuthenticationTokenRequest { host: "gitlab.com".into(), ..pat(&s.runner, me, "x") },
        )
        .await
        .unwrap_err();
        assert_eq!(f.code, "failed_precondition");
        let oauth = CreateHostAuthenticationTokenRequest {
            host: "gitlab.com".into(),
            source: HostAuthenticationTokenSource::Oauth as i32,
            refresh_token: "glrt_refresh".into(),
            ..pat(&s.runner, me, "glpat_oauth_access")
        };
        let gl = create_token(&c, oauth).await.unwrap();
        // Validation.
        let bad = |f: Failure, field: &str| {
            assert_eq!((f.code, f.bad_fields), ("invalid_argument".to_owned(), vec![field.to_owned()]))
        };
        bad(
            create_token(
                &c,
                CreateHostAuthenticationTokenRequest { scopes: vec!["s".into(); 101], ..pat(&s.runner, me, "x") },
            )
            .await
            .unwrap_err(),
            "scopes",
        );
        bad(
            create_token(&c, CreateHostAuthenticationTokenRequest { token: String::new(), ..pat(&s.runner, me, "x") })
                .await
                .unwrap_err(),
            "token",
        );
        bad(
            create_token(&c, CreateHostAuthenticationTokenRequest { source: 0, ..pat(&s.runner, me, "x") })
                .await
                .unwrap_err(),
            "source",
        );
        #[allow(deprecated)]
        let both = CreateHostAuthenticationTokenRequest {
            user_id: uuid::Uuid::now_v7().to_string(),
            ..pat(&s.runner, me, "x")
        };
        bad(create_token(&c, both).await.unwrap_err(), "userId");
        bad(
            create_token(&c, CreateHostAuthenticationTokenRequest { subject: None, ..pat(&s.runner, me, "x") })
                .await
                .unwrap_err(),
            "subject",
        );

        // Update: rotate the token, change scopes; empty scopes keep them.
        let upd = UpdateHostAuthenticationTokenRequest {
            id: t.id.clone(),
            token: Some("ghp_rotated".into()),
            scopes: vec!["repo".into()],
            ..Default::default()
        };
        let _: UpdateHostAuthenticationTokenResponse =
            c.call(&rcs("UpdateHostAuthenticationToken"), upd).await.unwrap();
        assert_eq!(get_token(&c, &t.id).await.unwrap().scopes, vec!["repo"]);
        let upd = UpdateHostAuthenticationTokenRequest { id: t.id.clone(), ..Default::default() };
        let _: UpdateHostAuthenticationTokenResponse =
            c.call(&rcs("UpdateHostAuthenticationToken"), upd).await.unwrap();
        assert_eq!(get_token(&c, &t.id).await.unwrap().scopes, vec!["repo"]);

        // Disabling PAT on the integration deletes the PAT tokens for its host; clearing OAuth
        // deletes the OAuth ones.
        let req =
            UpdateScmIntegrationRequest { id: s.github_integration.clone(), pat: Some(false), ..Default::default() };
        // (github would have no method left, so give it OAuth first)
        let enable = UpdateScmIntegrationRequest {
            id: s.github_integration.clone(),
            oauth_client_id: Some("gh-cid".into()),
            oauth_plaintext_client_secret: Some("gh-secret".into()),
            ..Default::default()
        };
        let _: UpdateScmIntegrationResponse = c.call(&rcs("UpdateSCMIntegration"), enable).await.unwrap();
        assert_eq!(get_token(&c, &t.id).await.unwrap().id, t.id, "enabling OAuth keeps PAT tokens");
        let _: UpdateScmIntegrationResponse = c.call(&rcs("UpdateSCMIntegration"), req).await.unwrap();
        assert_eq!(get_token(&c, &t.id).await.unwrap_err().code, "not_found");
        let enable_pat =
            UpdateScmIntegrationRequest { id: s.gitlab_integration.clone(), pat: Some(true), ..Default::default() };
        let _: UpdateScmIntegrationResponse = c.call(&rcs("UpdateSCMIntegration"), enable_pat).await.unwrap();
        let clear = UpdateScmIntegrationRequest {
            id: s.gitlab_integration.clone(),
            oauth_client_id: Some(String::new()),
            ..Default::default()
        };
        let _: UpdateScmIntegrationResponse = c.call(&rcs("UpdateSCMIntegration"), clear).await.unwrap();
        assert_eq!(get_token(&c, &gl.id).await.unwrap_err().code, "not_found");
    }
}

#[tokio::test]
async fn members_see_and_manage_only_their_own_tokens() {
    let s = setup().await;
    let admin = s.server.client(Protocol::ConnectJson).await;
    let (user_id, user_token) = s.server.member("user", OrgRole::Member).await;
    let (plain_id, plain_token) = s.server.member("plain", OrgRole::Member).await;
    let group = s.server.identity.create_group(s.server.org.id, "users").await.unwrap();
    s.server.identity.add_group_member(group.id, user_id).await.unwrap();
    let policy = CreateRunnerPolicyRequest {
        runner_id: s.runner.clone(),
        group_id: group.id.to_string(),
        role: RunnerRole::User as i32,
    };
    let _: CreateRunnerPolicyResponse =
        admin.call("/gitpod.v1.RunnerService/CreateRunnerPolicy", policy).await.unwrap();
    let user = s.server.client_as(Protocol::ConnectJson, Some(&user_token)).await;
    let plain = s.server.client_as(Protocol::ConnectJson, Some(&plain_token)).await;

    let mine = create_token(&user, pat(&s.runner, user_id, "ghp_user_secret")).await.unwrap();
    let admins = create_token(&admin, pat(&s.runner, s.server.admin_id, "ghp_admin_secret")).await.unwrap();
    // A user may not store tokens for others; a stranger cannot see the runner at all.
    assert_eq!(create_token(&user, pat(&s.runner, plain_id, "x")).await.unwrap_err().code, "permission_denied");
    assert_eq!(create_token(&plain, pat(&s.runner, plain_id, "x")).await.unwrap_err().code, "not_found");
    // An admin may store one for a member (as Terraform does for service accounts).
    let for_plain = create_token(&admin, pat(&s.runner, plain_id, "ghp_for_plain")).await.unwrap();

    let list = |c: Client, filter: Option<list_host_authentication_tokens_request::Filter>| async move {
        let req = ListHostAuthenticationTokensRequest { pagination: None, filter };
        let page: ListHostAuthenticationTokensResponse =
            c.call(&rcs("ListHostAuthenticationTokens"), req).await.unwrap();
        page.tokens.into_iter().map(|t| t.id).collect::<Vec<_>>()
    };
    assert_eq!(
        list(s.server.client_as(Protocol::ConnectJson, Some(&user_token)).await, None).await,
        vec![mine.id.clone()]
    );
    let others = Some(list_host_authentication_tokens_request::Filter {
        subject_id: Some(s.server.admin_id.to_string()),
        ..Default::default()
    });
    assert!(list(s.server.client_as(Protocol::ConnectJson, Some(&user_token)).await, others.clone()).await.is_empty());
    assert_eq!(
        list(s.server.client(Protocol::ConnectJson).await, None).await,
        vec![mine.id.clone(), admins.id.clone(), for_plain.id.clone()]
    );
    assert_eq!(list(s.server.client(Protocol::ConnectJson).await, others).await, vec![admins.id.clone()]);

    assert_eq!(get_token(&user, &admins.id).await.unwrap_err().code, "not_found");
    assert_eq!(get_token(&user, &mine.id).await.unwrap().id, mine.id);
    let del = |id: &str| DeleteHostAuthenticationTokenRequest { id: id.into() };
    assert_eq!(
        user.call::<_, DeleteHostAuthenticationTokenResponse>(&rcs("DeleteHostAuthenticationToken"), del(&admins.id))
            .await
            .unwrap_err()
            .code,
        "not_found"
    );
    let _: DeleteHostAuthenticationTokenResponse =
        user.call(&rcs("DeleteHostAuthenticationToken"), del(&mine.id)).await.unwrap();
    assert_eq!(get_token(&user, &mine.id).await.unwrap_err().code, "not_found");
}
