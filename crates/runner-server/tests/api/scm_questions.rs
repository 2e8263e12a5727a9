//! The SCM-facing RunnerService calls over Connect JSON, against the fake providers of
//! `runner_scm::fake` (GitHub, GitHub Enterprise, GitLab, Bitbucket Cloud, Azure DevOps and
//! Azure DevOps Server), with the caller's host authentication tokens.

use std::collections::HashMap;

use base64::Engine;
use gitpod_api::gitpod::v1::*;
use prost::Message;
use runner_core::crypto;
use runner_core::model::RunnerCapability as Capability;
use runner_core::scm::provider::ScmKind;
use runner_scm::fake::{self, FakeScm};
use serde_json::{Value, json};

use crate::runners::create;
use runner_testkit::{Client, Failure, Protocol, TestServer, rcs, rs};

/// A server whose integrations point at the fake providers, a runner with one integration per
/// provider, and clients for the admin (alice's tokens) and a member with access (bob's).
struct World {
    fake: FakeScm,
    server: TestServer,
    admin: Client,
    runner: String,
    /// A second runner with a github.com integration, on which nobody holds a token.
    other_runner: String,
    bob: Client,
    bob_id: uuid::Uuid,
    bob_token: String,
}

const GHE: &str = "ghe.example.com";
/// ALICE sees it; BOB gets 404 and CAROL 403 from the provider.
const PRIVATE: &str = "https://github.com/acme/secret";
const TFS: &str = "tfs.example.com";

async fn world() -> World {
    let fake = FakeScm::start().await;
    let urls: HashMap<String, String> = [
        ("github.com", ScmKind::GitHub),
        (GHE, ScmKind::GitHub),
        ("gitlab.com", ScmKind::GitLab),
        ("bitbucket.org", ScmKind::Bitbucket),
        ("dev.azure.com", ScmKind::AzureDevOps),
        (TFS, ScmKind::AzureDevOps),
    ]
    .into_iter()
    .map(|(host, kind)| (host.to_owned(), fake.api_url(kind)))
    .collect();
    let server = TestServer::builder().scm(urls).start().await;
    let admin = server.client(Protocol::ConnectJson).await;
    let new_runner = |name: &str| CreateRunnerRequest {
        name: name.into(),
        provider: RunnerProvider::Gcp as i32,
        ..Default::default()
    };
    let runner = create(&admin, new_runner("scm runner")).await.unwrap().runner.unwrap().runner_id;
    let other_runner = create(&admin, new_runner("other runner")).await.unwrap().runner.unwrap().runner_id;
    let (_, public_key) = crypto::generate_runner_keypair();
    server.set_public_key(&runner, &public_key).await;
    let integration = |runner: &str, scm_id: &str, host: &str| CreateScmIntegrationRequest {
        runner_id: runner.into(),
        scm_id: scm_id.into(),
        host: host.into(),
        pat: true,
        ..Default::default()
    };
    let oauth = |req: CreateScmIntegrationRequest| CreateScmIntegrationRequest {
        oauth_client_id: Some("fake-client-id".into()),
        oauth_plaintext_client_secret: Some("fake-oauth-client-secret".into()),
        ..req
    };
    let integrations = [
        oauth(integration(&runner, "github", "github.com")),
        integration(&runner, "github", GHE),
        integration(&runner, "gitlab", "gitlab.com"),
        integration(&runner, "bitbucket", "bitbucket.org"),
        CreateScmIntegrationRequest {
            pat: false,
            issuer_url: Some("https://login.microsoftonline.com/contoso-tenant/v2.0".into()),
            ..oauth(integration(&runner, "azuredevops_entra", "dev.azure.com"))
        },
        CreateScmIntegrationRequest {
            virtual_directory: Some("/tfs".into()),
            ..integration(&runner, "azuredevops_server", TFS)
        },
        integration(&other_runner, "github", "github.com"),
    ];
    for req in integrations {
        let _: CreateScmIntegrationResponse = admin.call(&rcs("CreateSCMIntegration"), req).await.unwrap();
    }
    // Alice's tokens belong to the admin; bob is a member who may use the runner.
    let admin_id = server.admin_id;
    for (host, token, source) in [
        ("github.com", fake::GITHUB_ALICE, HostAuthenticationTokenSource::Oauth),
        (GHE, fake::GITHUB_ALICE, HostAuthenticationTokenSource::Pat),
        ("gitlab.com", fake::GITLAB_ALICE, HostAuthenticationTokenSource::Pat),
        ("bitbucket.org", fake::BITBUCKET_ALICE, HostAuthenticationTokenSource::Pat),
        ("dev.azure.com", fake::AZURE_ALICE_OAUTH, HostAuthenticationTokenSource::Oauth),
        (TFS, fake::AZURE_ALICE, HostAuthenticationTokenSource::Pat),
    ] {
        create_host_token(&admin, &runner, admin_id, host, token, source, None).await.unwrap();
    }
    let (bob_id, bob_token) = server.member("bob", runner_core::identity::OrgRole::Member).await;
    let group = server.identity.create_group(server.org.id, "scm users").await.unwrap();
    server.identity.add_group_member(group.id, bob_id).await.unwrap();
    let policy = CreateRunnerPolicyRequest {
        runner_id: runner.clone(),
        group_id: group.id.to_string(),
        role: RunnerRole::User as i32,
    };
    let _: CreateRunnerPolicyResponse = admin.call(&rs("CreateRunnerPolicy"), policy).await.unwrap();
    let bob = server.client_as(Protocol::ConnectJson, Some(&bob_token)).await;
    create_host_token(&bob, &runner, bob_id, "github.com", fake::GITHUB_BOB, HostAuthenticationTokenSource::Pat, None)
        .await
        .unwrap();
    World { fake, server, admin, runner, other_runner, bob, bob_id, bob_token }
}

async fn create_host_token(
    c: &Client,
    runner: &str,
    subject: uuid::Uuid,
    host: &str,
    token: &str,
    source: HostAuthenticationTokenSource,
    expires_at: Option<gitpod_api::wkt::Timestamp>,
) -> Result<String, Failure> {
    let req = CreateHostAuthenticationTokenRequest {
        runner_id: runner.into(),
        host: host.into(),
        token: token.into(),
        source: source as i32,
        subject: Some(Subject { id: subject.to_string(), principal: Principal::User as i32 }),
        expires_at,
        ..Default::default()
    };
    let r: CreateHostAuthenticationTokenResponse = c.call(&rcs("CreateHostAuthenticationToken"), req).await?;
    Ok(r.token.unwrap().id)
}

async fn parse(c: &Client, runner: &str, url: &str) -> Result<ParseContextUrlResponse, Failure> {
    c.call(&rs("ParseContextURL"), ParseContextUrlRequest { runner_id: runner.into(), context_url: url.into() }).await
}

/// A raw Connect JSON call, for the error details the typed client does not keep.
async fn raw(server: &TestServer, token: &str, method: &str, body: Value) -> (u16, Value) {
    server.post_json_as(token, &rs(method), body).await
}

/// The `ParseContextURLPreconditionFailureDetails` of a Connect error body.
fn precondition_details(body: &Value) -> ParseContextUrlPreconditionFailureDetails {
    let detail = body["details"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|d| d["type"] == "gitpod.v1.ParseContextURLPreconditionFailureDetails")
        .unwrap_or_else(|| panic!("no precondition details in {body}"));
    let raw = base64::engine::general_purpose::STANDARD_NO_PAD
        .decode(detail["value"].as_str().unwrap().trim_end_matches('='))
        .unwrap();
    ParseContextUrlPreconditionFailureDetails::decode(raw.as_slice()).unwrap()
}

/// What a parse yields, in one comparable line: clone URL, branch, tag, commit, owner/repo,
/// upstream.
fn git_line(r: &ParseContextUrlResponse) -> String {
    let g = r.git.as_ref().unwrap();
    format!(
        "{} {} branch={} tag={} commit={} {}/{} upstream={}",
        g.host, g.clone_url, g.branch, g.tag, g.commit, g.owner, g.repo, g.upstream_remote_url
    )
}

#[tokio::test]
async fn parse_context_url_resolves_through_every_provider() {
    let w = world().await;
    let c = &w.admin;
    let main = fake::MAIN_SHA;
    let login = fake::FEATURE_LOGIN_SHA;
    let oauth = fake::FEATURE_OAUTH_SHA;
    let tag = fake::INITIAL_SHA;
    let gh = "github.com https://github.com/gitpod-io/gitpod.git";
    let ghe = "ghe.example.com https://ghe.example.com/gitpod-io/gitpod.git";
    let gl = "gitlab.com https://gitlab.com/gitpod-io/platform/backend/api.git";
    let bb = "bitbucket.org https://bitbucket.org/gitpod/gitpod.git";
    let az = "dev.azure.com https://dev.azure.com/gitpod/platform/_git/api";
    let tfs = "tfs.example.com https://tfs.example.com/tfs/gitpod/platform/_git/api";
    let cases: Vec<(String, String)> = vec![
        // GitHub: repository, default branch and its head.
        (
            "https://github.com/gitpod-io/gitpod".into(),
            format!("{gh} branch=main tag= commit={main} gitpod-io/gitpod upstream="),
        ),
        (
            "https://GitHub.com/gitpod-io/gitpod.git/".into(),
            format!("{gh} branch=main tag= commit={main} gitpod-io/gitpod upstream="),
        ),
        (
            "ssh://git@github.com/gitpod-io/gitpod.git".into(),
            format!("{gh} branch=main tag= commit={main} gitpod-io/gitpod upstream="),
        ),
        // The longest existing branch wins; the rest is a path.
        (
            "https://github.com/gitpod-io/gitpod/tree/feature/login/oauth/src/main.go".into(),
            format!("{gh} branch=feature/login/oauth tag= commit={oauth} gitpod-io/gitpod upstream="),
        ),
        (
            "https://github.com/gitpod-io/gitpod/blob/feature/login/README.md".into(),
            format!("{gh} branch=feature/login tag= commit={login} gitpod-io/gitpod upstream="),
        ),
        (
            "https://github.com/gitpod-io/gitpod/tree/v1.0.0".into(),
            format!("{gh} branch= tag=v1.0.0 commit={tag} gitpod-io/gitpod upstream="),
        ),
        (
            "https://github.com/gitpod-io/gitpod/releases/tag/v1.0.0".into(),
            format!("{gh} branch= tag=v1.0.0 commit={tag} gitpod-io/gitpod upstream="),
        ),
        (
            format!("https://github.com/gitpod-io/gitpod/commit/{}", &main[..10]),
            format!("{gh} branch= tag= commit={main} gitpod-io/gitpod upstream="),
        ),
        // A SHA where a ref would be.
        (
            format!("https://github.com/gitpod-io/gitpod/tree/{main}/docs"),
            format!("{gh} branch= tag= commit={main} gitpod-io/gitpod upstream="),
        ),
        (
            "https://ghe.example.com/gitpod-io/gitpod/tree/release-1.0".into(),
            format!("{ghe} branch=release-1.0 tag= commit={} gitpod-io/gitpod upstream=", fake::INITIAL_SHA),
        ),
        // GitLab: nested groups, `/-/` paths.
        (
            "https://gitlab.com/gitpod-io/platform/backend/api".into(),
            format!("{gl} branch=main tag= commit={main} gitpod-io/platform/backend/api upstream="),
        ),
        (
            "https://gitlab.com/gitpod-io/platform/backend/api/-/tree/feature/login/oauth?ref_type=heads".into(),
            format!("{gl} branch=feature/login/oauth tag= commit={oauth} gitpod-io/platform/backend/api upstream="),
        ),
        (
            "https://gitlab.com/gitpod-io/platform/backend/api/-/blob/feature/login/docs/x.md".into(),
            format!("{gl} branch=feature/login tag= commit={login} gitpod-io/platform/backend/api upstream="),
        ),
        // Bitbucket.
        (
            "https://bitbucket.org/gitpod/gitpod/src/main/".into(),
            format!("{bb} branch=main tag= commit={main} gitpod/gitpod upstream="),
        ),
        (
            "https://bitbucket.org/gitpod/gitpod/branch/feature/login".into(),
            format!("{bb} branch=feature/login tag= commit={login} gitpod/gitpod upstream="),
        ),
        // Azure DevOps and Azure DevOps Server.
        (
            "https://dev.azure.com/gitpod/platform/_git/api".into(),
            format!("{az} branch=main tag= commit={main} gitpod/platform/api upstream="),
        ),
        (
            "https://dev.azure.com/gitpod/platform/_git/api?version=GBfeature/login&path=/README.md".into(),
            format!("{az} branch=feature/login tag= commit={login} gitpod/platform/api upstream="),
        ),
        (
            "https://tfs.example.com/tfs/gitpod/platform/_git/api?version=GTv1.0.0".into(),
            format!("{tfs} branch= tag=v1.0.0 commit={tag} gitpod/platform/api upstream="),
        ),
    ];
    let mut differences = Vec::new();
    for (url, want) in &cases {
        match parse(c, &w.runner, url).await {
            Ok(r) => {
                assert_eq!(r.original_context_url, *url);
                let got = git_line(&r);
                if got != *want {
                    differences.push(format!("{url}\n  want {want}\n  got  {got}"));
                }
            }
            Err(f) => differences.push(format!("{url}: {f:?}")),
        }
    }
    assert!(differences.is_empty(), "{}", differences.join("\n"));
    // The scp-like SSH shorthand is no URI (RFC 3986): the real rule (`string.uri`) refuses it.
    let f = parse(c, &w.runner, "git@github.com:gitpod-io/gitpod.git").await.unwrap_err();
    assert_eq!((f.code.as_str(), f.bad_fields.as_slice()), ("invalid_argument", &["contextUrl".to_owned()][..]));
}

#[tokio::test]
#[allow(deprecated)]
async fn pull_requests_issues_and_recommended_classes() {
    let w = world().await;
    let c = &w.admin;
    // Two classes, one disabled: only the enabled one is recommended.
    let schema: GetRunnerConfigurationSchemaResponse = c
        .call(&rcs("GetRunnerConfigurationSchema"), GetRunnerConfigurationSchemaRequest { runner_id: w.runner.clone() })
        .await
        .unwrap();
    let config = crate::classes::valid_configuration(&schema.schema.unwrap());
    let small = crate::classes::create_class(c, &w.runner, "small", config.clone()).await.unwrap();
    let large = crate::classes::create_class(c, &w.runner, "large", config.clone()).await.unwrap();
    let third = crate::classes::create_class(c, &w.runner, "third", config).await.unwrap();
    let disable = UpdateEnvironmentClassRequest {
        environment_class_id: large.clone(),
        enabled: Some(false),
        ..Default::default()
    };
    let _: UpdateEnvironmentClassResponse = c.call(&rcs("UpdateEnvironmentClass"), disable).await.unwrap();

    // A PR from a fork: the fork is cloned, the target is upstream.
    let r = parse(c, &w.runner, "https://github.com/gitpod-io/gitpod/pull/1/files").await.unwrap();
    assert_eq!(r.scm_id, "github");
    assert_eq!(r.recommended_environment_classes, vec![small.clone(), third.clone()]);
    let g = r.git.as_ref().unwrap();
    let pr = r.pull_request.as_ref().unwrap();
    assert_eq!(pr.id, "1");
    assert_eq!(pr.state, pull_request::State::Open as i32);
    assert!(!pr.draft);
    assert_eq!(pr.author, fake::GITHUB_FORK_OWNER);
    assert_eq!(pr.url, "https://github.com/gitpod-io/gitpod/pull/1");
    assert_eq!((pr.to_branch.as_str(), g.branch.as_str()), ("main", pr.from_branch.as_str()));
    assert_eq!(g.commit, pr.head_sha);
    assert_eq!(g.upstream_remote_url, "https://github.com/gitpod-io/gitpod.git");
    assert_eq!(g.clone_url, format!("https://github.com/{}/gitpod.git", fake::GITHUB_FORK_OWNER));
    let repo = pr.repository.as_ref().unwrap();
    assert_eq!((repo.host.as_str(), repo.owner.as_str(), repo.name.as_str()), ("github.com", "gitpod-io", "gitpod"));
    let old = r.pr.as_ref().expect("the deprecated pr is filled too");
    assert_eq!((old.id.as_str(), old.title.as_str()), ("1", pr.title.as_str()));

    // Merged and draft PRs, on every provider that has them.
    for (url, state, draft) in [
        ("https://github.com/gitpod-io/gitpod/pull/2", pull_request::State::Merged, false),
        ("https://github.com/gitpod-io/gitpod/pull/3", pull_request::State::Open, true),
        ("https://gitlab.com/gitpod-io/platform/backend/api/-/merge_requests/2", pull_request::State::Merged, false),
        ("https://gitlab.com/gitpod-io/platform/backend/api/-/merge_requests/3/diffs", pull_request::State::Open, true),
        ("https://bitbucket.org/gitpod/gitpod/pull-requests/2", pull_request::State::Merged, false),
        ("https://dev.azure.com/gitpod/platform/_git/api/pullrequest/2", pull_request::State::Merged, false),
        ("https://dev.azure.com/gitpod/platform/_git/api/pullrequest/3", pull_request::State::Open, true),
    ] {
        let r = parse(c, &w.runner, url).await.unwrap_or_else(|f| panic!("{url}: {f:?}"));
        let pr = r.pull_request.unwrap();
        assert_eq!((pr.state, pr.draft), (state as i32, draft), "{url}");
        assert!(!pr.title.is_empty() && !pr.head_sha.is_empty(), "{url}");
        // Not from a fork: the repository itself, no upstream.
        assert_eq!(r.git.unwrap().upstream_remote_url, "", "{url}");
    }

    // Issues: the default branch, and the issue's title.
    for url in [
        "https://github.com/gitpod-io/gitpod/issues/7",
        "https://gitlab.com/gitpod-io/platform/backend/api/-/issues/7",
        "https://bitbucket.org/gitpod/gitpod/issues/7/some-title",
    ] {
        let r = parse(c, &w.runner, url).await.unwrap_or_else(|f| panic!("{url}: {f:?}"));
        let issue = r.issue.unwrap();
        assert_eq!((issue.id.as_str(), issue.title.as_str()), ("7", fake::ISSUE_TITLE), "{url}");
        let g = r.git.unwrap();
        assert_eq!((g.branch.as_str(), g.commit.as_str()), ("main", fake::MAIN_SHA), "{url}");
    }
}

#[tokio::test]
async fn parse_context_url_errors() {
    let w = world().await;
    let c = &w.admin;
    let code = |r: Result<ParseContextUrlResponse, Failure>| runner_testkit::outcome(r);
    // Malformed: invalid_argument, before anything else.
    for bad in [
        "not a url",
        "ftp://github.com/a/b",
        "https://github.com/gitpod-io",
        "https://github.com/gitpod-io/gitpod/pull/abc",
    ] {
        let f = parse(c, &w.runner, bad).await.unwrap_err();
        assert_eq!(
            (f.code.as_str(), f.bad_fields.clone()),
            ("invalid_argument", vec!["contextUrl".to_owned()]),
            "{bad}"
        );
    }
    // A host without an integration.
    let f = parse(c, &w.runner, "https://codeberg.org/a/b").await.unwrap_err();
    assert_eq!(f.code, "failed_precondition");
    assert!(f.message.contains("SCM integration for host codeberg.org is not configured"), "{f:?}");
    // Missing things: not_found, naming them.
    for (url, what) in [
        ("https://github.com/gitpod-io/nope", "repository gitpod-io/nope"),
        ("https://github.com/gitpod-io/gitpod/tree/no-such-branch/x", "branch or tag"),
        ("https://github.com/gitpod-io/gitpod/pull/999", "pull request 999"),
        ("https://github.com/gitpod-io/gitpod/issues/999", "issue 999"),
        (
            "https://gitlab.com/gitpod-io/platform/backend/api/-/commit/0123456789abcdef0123456789abcdef01234567",
            "commit",
        ),
        ("https://dev.azure.com/gitpod/platform/_git/api?version=GBnope", "branch \"nope\""),
    ] {
        let f = parse(c, &w.runner, url).await.unwrap_err();
        assert_eq!(f.code, "not_found", "{url}: {f:?}");
        assert!(f.message.contains(what), "{url}: {f:?}");
    }
    // A private repository: alice sees it, bob's token does not (the provider says 404).
    let private = PRIVATE;
    assert_eq!(code(parse(c, &w.runner, private).await), "ok");
    assert_eq!(code(parse(&w.bob, &w.runner, private).await), "not_found");

    // Not authenticated: failed_precondition with the details the clients use.
    let (status, body) = raw(
        &w.server,
        &w.server.admin_token,
        "ParseContextURL",
        json!({"runnerId": w.other_runner, "contextUrl": "https://github.com/gitpod-io/gitpod"}),
    )
    .await;
    assert_eq!((status, body["code"].as_str()), (400, Some("failed_precondition")), "{body}");
    let d = precondition_details(&body);
    assert_eq!(d.scm_id, "github");
    assert!(d.runner_ids.is_empty(), "a runner was named: {d:?}");
    assert!(d.authentication_required_url.starts_with("https://github.com/settings/tokens/new?"), "{d:?}");
    // Without a runner: the runner where the caller is authenticated answers...
    let r = parse(c, "", "https://github.com/gitpod-io/gitpod").await.unwrap();
    assert_eq!(r.scm_id, "github");
    // ... and a user without a token learns which runners could take one.
    let (carol_id, carol) = w.server.member("carol", runner_core::identity::OrgRole::Admin).await;
    let (_, body) =
        raw(&w.server, &carol, "ParseContextURL", json!({"contextUrl": "https://github.com/gitpod-io/gitpod"})).await;
    let d = precondition_details(&body);
    let mut ids = d.runner_ids.clone();
    ids.sort();
    let mut want = vec![w.runner.clone(), w.other_runner.clone()];
    want.sort();
    assert_eq!(ids, want);
    // OAuth is offered on github.com of the first runner: the authorization URL is the entry.
    assert!(d.authentication_required_url.contains("/login/oauth/authorize?client_id=fake-client-id"), "{d:?}");

    // A token the provider refuses (revoked there) asks to authenticate again.
    let t = create_host_token(
        &w.bob,
        &w.runner,
        w.bob_id,
        "gitlab.com",
        "glpat-revoked-at-the-provider",
        HostAuthenticationTokenSource::Pat,
        None,
    )
    .await
    .unwrap();
    let (_, body) = raw(
        &w.server,
        &w.bob_token,
        "ParseContextURL",
        json!({"runnerId": w.runner, "contextUrl": "https://gitlab.com/gitpod-io/platform/backend/api"}),
    )
    .await;
    assert_eq!(body["code"], "failed_precondition", "{body}");
    assert!(body["message"].as_str().unwrap().contains("refused your authentication token"), "{body}");
    assert_eq!(precondition_details(&body).scm_id, "gitlab");
    let _ = t;

    // An expired token is not used.
    let past = gitpod_api::wkt::Timestamp { seconds: 1_600_000_000, nanos: 0 };
    create_host_token(
        &w.bob,
        &w.runner,
        w.bob_id,
        "bitbucket.org",
        fake::BITBUCKET_ALICE,
        HostAuthenticationTokenSource::Pat,
        Some(past),
    )
    .await
    .unwrap();
    assert_eq!(code(parse(&w.bob, &w.runner, "https://bitbucket.org/gitpod/gitpod").await), "failed_precondition");

    // The provider forbids it (carol's account may not read the private repository): permission_denied.
    let carol_client = w.server.client_as(Protocol::ConnectJson, Some(&carol)).await;
    create_host_token(
        &carol_client,
        &w.runner,
        carol_id,
        "github.com",
        fake::GITHUB_CAROL,
        HostAuthenticationTokenSource::Pat,
        None,
    )
    .await
    .unwrap();
    assert_eq!(code(parse(&carol_client, &w.runner, PRIVATE).await), "permission_denied");
}

async fn search(c: &Client, req: Value) -> Result<SearchRepositoriesResponse, Failure> {
    let req: SearchRepositoriesRequest = serde_json::from_value(req).unwrap();
    c.call(&rs("SearchRepositories"), req).await
}

#[tokio::test]
#[allow(deprecated)]
async fn search_repositories_pages_through_each_provider() {
    let w = world().await;
    let c = &w.admin;
    for (host, matches) in [
        ("github.com", &fake::GITHUB_API_MATCHES[..]),
        ("gitlab.com", &fake::GITLAB_API_MATCHES[..]),
        ("bitbucket.org", &fake::BITBUCKET_API_MATCHES[..]),
        ("dev.azure.com", &fake::AZURE_API_MATCHES[..]),
    ] {
        let mut token = String::new();
        let mut names = Vec::new();
        let mut pages = 0;
        loop {
            let r = search(
                c,
                json!({"runnerId": w.runner, "searchString": fake::SEARCH_KEYWORD, "scmHost": host,
                       "pagination": {"pageSize": 3, "token": token}}),
            )
            .await
            .unwrap_or_else(|f| panic!("{host}: {f:?}"));
            pages += 1;
            assert!(!r.repositories.is_empty(), "{host}: never an empty page");
            names.extend(r.repositories.iter().map(|r| r.name.clone()));
            assert!(r.repositories.iter().all(|r| r.url.starts_with("https://")), "{host}: {r:?}");
            token = r.pagination.unwrap().next_token;
            if token.is_empty() {
                break;
            }
            // NEXT/TOTAL_PAGES/TOTAL_COUNT, -1 when unknown.
            let parts: Vec<i64> = token.split('/').map(|p| p.parse().unwrap()).collect();
            assert_eq!(parts.len(), 3, "{host}: {token}");
            assert_eq!(parts[0], pages + 1, "{host}: {token}");
            assert!(pages < 10, "{host}: runaway paging");
        }
        assert_eq!(names, matches, "{host}");
        assert!(pages >= 3, "{host}: {pages} pages");
    }
    // Every authenticated host at once, one share of the page each.
    let r =
        search(c, json!({"runnerId": w.runner, "searchString": fake::SEARCH_KEYWORD, "pagination": {"pageSize": 12}}))
            .await
            .unwrap();
    assert!(r.repositories.len() >= 6 && r.repositories.len() <= 12, "{}", r.repositories.len());
    // The deprecated limit, when no page size is given.
    let r = search(
        c,
        json!({"runnerId": w.runner, "searchString": fake::SEARCH_KEYWORD, "scmHost": "gitlab.com", "limit": 2}),
    )
    .await
    .unwrap();
    assert_eq!(r.repositories.len(), 2);
    assert!(r.last_page >= 4 || r.last_page == -1, "{}", r.last_page);
    // NATIVE: the provider's own syntax, and its rejection.
    let r = search(
        c,
        json!({"runnerId": w.runner, "searchMode": "SEARCH_MODE_NATIVE", "scmHost": "github.com",
               "searchString": format!("{} user:{}", fake::SEARCH_KEYWORD, fake::ALICE)}),
    )
    .await
    .unwrap();
    assert!(!r.repositories.is_empty());
    let f = search(
        c,
        json!({"runnerId": w.runner, "searchMode": "SEARCH_MODE_NATIVE", "scmHost": "github.com", "searchString": "badqualifier:x"}),
    )
    .await
    .unwrap_err();
    assert_eq!((f.code.as_str(), f.bad_fields.clone()), ("invalid_argument", vec!["searchString".to_owned()]), "{f:?}");
    let r = search(
        c,
        json!({"runnerId": w.runner, "searchMode": "SEARCH_MODE_NATIVE", "scmHost": "gitlab.com",
               "searchString": format!("scope=projects&search={}", fake::SEARCH_KEYWORD)}),
    )
    .await
    .unwrap();
    assert!(!r.repositories.is_empty());
    // Bad tokens, an unknown host, and a host without a token.
    for bad in ["abc", "0/1/1", "2/40", "2/-5/1"] {
        let f = search(c, json!({"runnerId": w.runner, "scmHost": "github.com", "pagination": {"token": bad}}))
            .await
            .unwrap_err();
        assert_eq!(f.code, "invalid_argument", "{bad}");
    }
    let f = search(c, json!({"runnerId": w.runner, "scmHost": "codeberg.org"})).await.unwrap_err();
    assert_eq!(f.code, "failed_precondition");
    let f = search(&w.bob, json!({"runnerId": w.runner, "scmHost": "gitlab.com"})).await.unwrap_err();
    assert_eq!(f.code, "failed_precondition");
    // Bob holds only a github.com token: searching everything searches that.
    let r = search(&w.bob, json!({"runnerId": w.runner, "searchString": fake::SEARCH_KEYWORD})).await.unwrap();
    assert!(r.repositories.iter().all(|r| r.url.starts_with("https://github.com/")), "{r:?}");
}

async fn orgs(c: &Client, req: Value) -> Result<ListScmOrganizationsResponse, Failure> {
    let req: ListScmOrganizationsRequest = serde_json::from_value(req).unwrap();
    c.call(&rs("ListSCMOrganizations"), req).await
}

#[tokio::test]
async fn list_scm_organizations_needs_the_capability_and_pages() {
    let w = world().await;
    let c = &w.admin;
    let f = orgs(c, json!({"runnerId": w.runner, "scmHost": "github.com"})).await.unwrap_err();
    assert_eq!(f.code, "failed_precondition");
    assert!(
        f.message.contains("RUNNER_CAPABILITY_LIST_SCM_ORGANIZATIONS") && f.message.contains("unsupported"),
        "{f:?}"
    );
    w.server.set_status(&w.runner, |s| s.capabilities.push(Capability::ListScmOrganizations)).await;
    for (host, all) in [
        ("github.com", &fake::GITHUB_ORGS[..]),
        ("gitlab.com", &fake::GITLAB_GROUPS[..]),
        ("bitbucket.org", &fake::BITBUCKET_WORKSPACES[..]),
        ("dev.azure.com", &fake::AZURE_ORGS[..]),
    ] {
        let mut token = String::new();
        let mut names = Vec::new();
        for _ in 0..10 {
            let r =
                orgs(c, json!({"runnerId": w.runner, "scmHost": host, "pagination": {"pageSize": 2, "token": token}}))
                    .await
                    .unwrap_or_else(|f| panic!("{host}: {f:?}"));
            assert!(!r.organizations.is_empty() && r.organizations.len() <= 2, "{host}: {r:?}");
            names.extend(r.organizations.into_iter().map(|o| o.name));
            token = r.pagination.unwrap().next_token;
            if token.is_empty() {
                break;
            }
        }
        assert!(token.is_empty(), "{host}: paging did not end");
        assert_eq!(names, all, "{host}");
    }
    // GitLab filters by query; the others ignore it.
    let r = orgs(c, json!({"runnerId": w.runner, "scmHost": "gitlab.com", "query": "plat"})).await.unwrap();
    let names: Vec<String> = r.organizations.into_iter().map(|o| o.name).collect();
    assert_eq!(names, fake::GITLAB_GROUPS_PLAT);
    // Page tokens are the server's: forged or another host's are refused.
    let first =
        orgs(c, json!({"runnerId": w.runner, "scmHost": "github.com", "pagination": {"pageSize": 2}})).await.unwrap();
    let token = first.pagination.unwrap().next_token;
    let f = orgs(c, json!({"runnerId": w.runner, "scmHost": "gitlab.com", "pagination": {"token": token}}))
        .await
        .unwrap_err();
    assert_eq!(f.code, "invalid_argument");
    let f = orgs(c, json!({"runnerId": w.runner, "scmHost": "github.com", "pagination": {"token": "forged.token"}}))
        .await
        .unwrap_err();
    assert_eq!(f.code, "invalid_argument");
    // No token for the host.
    let f = orgs(&w.bob, json!({"runnerId": w.runner, "scmHost": "gitlab.com"})).await.unwrap_err();
    assert_eq!(f.code, "failed_precondition");
}

async fn check_auth(c: &Client, runner: &str, host: &str) -> CheckAuthenticationForHostResponse {
    let req = CheckAuthenticationForHostRequest { runner_id: runner.into(), host: host.into() };
    c.call(&rs("CheckAuthenticationForHost"), req).await.unwrap()
}

#[tokio::test]
#[allow(deprecated)]
async fn check_authentication_for_host_reports_tokens_and_methods() {
    let w = world().await;
    // OAuth and PAT on github.com; the admin holds a token.
    let r = check_auth(&w.admin, &w.runner, "github.com").await;
    assert!(r.authenticated);
    assert_eq!((r.scm_id.as_str(), r.scm_name.as_str()), ("github", "GitHub"));
    let o = r.supports_oauth2.as_ref().expect("OAuth configured");
    assert!(o.auth_url.starts_with("https://github.com/login/oauth/authorize?client_id=fake-client-id"), "{o:?}");
    assert!(o.auth_url.contains("redirect_uri=http%3A%2F%2Frunner-api.test%2Fauth%2Fgithub%2Fcallback"), "{o:?}");
    // A state the server signed for this caller, runner and host (runner_side.rs checks it).
    assert!(o.auth_url.contains("&state="), "{o:?}");
    assert_eq!(r.authentication_url, o.auth_url);
    let p = r.supports_pat.as_ref().expect("PAT enabled");
    assert_eq!(p.required_scopes, ["repo", "read:user", "user:email", "workflow"]);
    assert!(p.create_url.starts_with("https://github.com/settings/tokens/new?"), "{p:?}");
    assert!(p.example.starts_with("ghp_") && !p.docs_url.is_empty());
    assert!(r.pat_supported);
    // PAT only: no OAuth method at all, and no authentication URL.
    let r = check_auth(&w.admin, &w.runner, "gitlab.com").await;
    assert!(r.supports_oauth2.is_none() && r.authentication_url.is_empty());
    assert_eq!(r.supports_pat.unwrap().required_scopes, ["api", "read_repository", "read_user"]);
    // OAuth only (Entra): no PAT method.
    let r = check_auth(&w.admin, &w.runner, "dev.azure.com").await;
    assert!(r.supports_pat.is_none() && !r.pat_supported, "{r:?}");
    assert!(
        r.supports_oauth2
            .unwrap()
            .auth_url
            .starts_with("https://login.microsoftonline.com/contoso-tenant/oauth2/v2.0/authorize?")
    );
    // Bob: authenticated on github.com only; an expired token does not count.
    assert!(check_auth(&w.bob, &w.runner, "github.com").await.authenticated);
    assert!(!check_auth(&w.bob, &w.runner, "gitlab.com").await.authenticated);
    let past = gitpod_api::wkt::Timestamp { seconds: 1_600_000_000, nanos: 0 };
    create_host_token(
        &w.bob,
        &w.runner,
        w.bob_id,
        "gitlab.com",
        "glpat-expired-token-value",
        HostAuthenticationTokenSource::Pat,
        Some(past),
    )
    .await
    .unwrap();
    assert!(!check_auth(&w.bob, &w.runner, "gitlab.com").await.authenticated);
    // Hosts compare without case; a host without integration is simply not authenticated.
    assert!(check_auth(&w.admin, &w.runner, "GitHub.com").await.authenticated);
    let r = check_auth(&w.admin, &w.runner, "codeberg.org").await;
    assert!(!r.authenticated && r.supports_oauth2.is_none() && r.supports_pat.is_none() && r.scm_id.is_empty());
    // Without a runner: the real rules refuse it (runnerId is a UUID, not optional).
    let f = w
        .admin
        .call::<_, CheckAuthenticationForHostResponse>(
            &rs("CheckAuthenticationForHost"),
            CheckAuthenticationForHostRequest { runner_id: String::new(), host: "github.com".into() },
        )
        .await
        .unwrap_err();
    assert_eq!((f.code.as_str(), f.bad_fields.as_slice()), ("invalid_argument", &["runnerId".to_owned()][..]));
    // An empty host is refused.
    let f = w
        .admin
        .call::<_, CheckAuthenticationForHostResponse>(
            &rs("CheckAuthenticationForHost"),
            CheckAuthenticationForHostRequest { runner_id: w.runner.clone(), host: String::new() },
        )
        .await
        .unwrap_err();
    assert_eq!(f.code, "invalid_argument");
}

async fn access(c: &Client, runner: &str, url: &str) -> Result<CheckRepositoryAccessResponse, Failure> {
    let req = CheckRepositoryAccessRequest { runner_id: runner.into(), repository_url: url.into() };
    c.call(&rs("CheckRepositoryAccess"), req).await
}

#[tokio::test]
async fn check_repository_access_answers_rather_than_fails() {
    let w = world().await;
    let url = "https://github.com/gitpod-io/gitpod.git";
    let f = access(&w.admin, &w.runner, url).await.unwrap_err();
    assert_eq!(f.code, "failed_precondition");
    assert!(f.message.contains("RUNNER_CAPABILITY_CHECK_REPOSITORY_ACCESS"), "{f:?}");
    w.server.set_status(&w.runner, |s| s.capabilities.push(Capability::CheckRepositoryAccess)).await;
    for url in [
        url,
        "https://github.com/gitpod-io/gitpod",
        "ssh://git@github.com/gitpod-io/gitpod.git",
        "https://gitlab.com/gitpod-io/platform/backend/api.git",
        "https://bitbucket.org/gitpod/gitpod.git",
        "https://dev.azure.com/gitpod/platform/_git/api",
        PRIVATE,
    ] {
        let r = access(&w.admin, &w.runner, url).await.unwrap_or_else(|f| panic!("{url}: {f:?}"));
        assert!(r.has_access && r.error_message.is_empty(), "{url}: {r:?}");
    }
    let f = access(&w.admin, &w.runner, "git@github.com:gitpod-io/gitpod.git").await.unwrap_err();
    assert_eq!((f.code.as_str(), f.bad_fields.as_slice()), ("invalid_argument", &["repositoryUrl".to_owned()][..]));
    // No access is an answer, not an error.
    let r = access(&w.bob, &w.runner, PRIVATE).await.unwrap();
    assert!(!r.has_access && r.error_message.contains("not found"), "{r:?}");
    let (carol_id, carol) = w.server.member("carol", runner_core::identity::OrgRole::Admin).await;
    let carol = w.server.client_as(Protocol::ConnectJson, Some(&carol)).await;
    create_host_token(
        &carol,
        &w.runner,
        carol_id,
        "github.com",
        fake::GITHUB_CAROL,
        HostAuthenticationTokenSource::Pat,
        None,
    )
    .await
    .unwrap();
    let r = access(&carol, &w.runner, PRIVATE).await.unwrap();
    assert!(!r.has_access && r.error_message.contains("refused access"), "{r:?}");
    // Errors: malformed URL, unknown host, no token.
    let f = access(&w.admin, &w.runner, "github.com/gitpod-io/gitpod").await.unwrap_err();
    assert_eq!((f.code.as_str(), f.bad_fields.clone()), ("invalid_argument", vec!["repositoryUrl".to_owned()]));
    assert_eq!(access(&w.admin, &w.runner, "https://codeberg.org/a/b").await.unwrap_err().code, "failed_precondition");
    assert_eq!(
        access(&w.bob, &w.runner, "https://gitlab.com/gitpod-io/platform/backend/api").await.unwrap_err().code,
        "failed_precondition"
    );
}

#[tokio::test]
async fn provider_failures_are_retried_then_reported() {
    let w = world().await;
    let url = "https://github.com/gitpod-io/gitpod";
    // Two 503s are retried away.
    w.fake.fail_next("/repos/gitpod-io/gitpod", 2, 503);
    parse(&w.admin, &w.runner, url).await.unwrap();
    // Persistent failure: unavailable, after three attempts.
    let before = w.fake.hits("/repos/gitpod-io/gitpod");
    w.fake.fail_next("/repos/gitpod-io/gitpod", 3, 503);
    assert_eq!(parse(&w.admin, &w.runner, url).await.unwrap_err().code, "unavailable");
    assert_eq!(w.fake.hits("/repos/gitpod-io/gitpod") - before, 3);
    // Rate limited: resource_exhausted.
    w.fake.fail_next("/repos/gitpod-io/gitpod", 3, 429);
    assert_eq!(parse(&w.admin, &w.runner, url).await.unwrap_err().code, "resource_exhausted");
    // Every protocol gets the same answers.
    for protocol in [Protocol::ConnectProto, Protocol::Grpc, Protocol::GrpcWeb] {
        let c = w.server.client(protocol).await;
        let r = parse(&c, &w.runner, "https://github.com/gitpod-io/gitpod/tree/feature/login").await.unwrap();
        assert_eq!(r.git.unwrap().branch, "feature/login", "{protocol:?}");
        let f = parse(&c, &w.runner, "https://github.com/gitpod-io/nope").await.unwrap_err();
        assert_eq!(f.code, "not_found", "{protocol:?}");
    }
}
