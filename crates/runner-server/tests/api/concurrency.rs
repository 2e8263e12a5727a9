//! Concurrency: 64 clients at once on one row, on SQLite and (tests named `…postgres…`) on
//! PostgreSQL. Updates of one runner, one runner policy and one SCM integration all end `ok`
//! or, when a writer lost the optimistic race more often than the retries allow, `unavailable`
//! "service temporarily unavailable; retry" (docs/decisions.md, "Concurrent writes"), having
//! written nothing; the final state is one writer's complete value and the stored revision
//! moved on once per acknowledged update. One exchange token redeemed 64 times at once works
//! once; 64 policies for 64 groups are all created, 64 for one group exactly once. No answer
//! mentions a locked database or a deadlock, and every scenario ends within a bound.

use std::time::Duration;

use gitpod_api::gitpod::v1::*;
use runner_core::crypto;
use runner_store::testing::PgSchema;

use crate::runner_side::exchange;
use crate::runners::{aws_runner, create, get};
use runner_testkit::{ALL, Client, Failure, TestServer, rcs, rs};

const CLIENTS: usize = 64;
/// Every scenario ends within this, or it is taken for a deadlock.
const BOUND: Duration = Duration::from_secs(60);
/// What a writer that lost the race too often is told.
const RETRY_MESSAGE: &str = "service temporarily unavailable; retry";

/// `n` clients as the organization's admin, cycling through the four protocols.
async fn clients(server: &TestServer, n: usize) -> Vec<Client> {
    let mut out = Vec::with_capacity(n);
    for protocol in ALL.iter().cycle().take(n) {
        out.push(server.client(*protocol).await);
    }
    out
}

/// Runs every call at once; panics if they do not all finish within [`BOUND`].
async fn all_at_once<T>(what: &str, calls: impl IntoIterator<Item = impl Future<Output = T>>) -> Vec<T> {
    let started = std::time::Instant::now();
    let results = tokio::time::timeout(BOUND, futures::future::join_all(calls))
        .await
        .unwrap_or_else(|_| panic!("{what}: not finished after {BOUND:?} (deadlock?)"));
    eprintln!("{what}: {} calls in {} ms", results.len(), started.elapsed().as_millis());
    results
}

/// A failure's code, after checking that its message gives no storage detail away.
fn code(f: &Failure) -> &str {
    let message = f.message.to_lowercase();
    for bad in ["database is locked", "deadlock", "busy", "serializ"] {
        assert!(!message.contains(bad), "{f:?}");
    }
    &f.code
}

/// The outcomes of concurrent updates: `ok`, or `unavailable` with the retry message. Returns
/// which writers were acknowledged.
fn acknowledged(what: &str, results: &[Result<(), Failure>]) -> Vec<usize> {
    let mut ok = Vec::new();
    for (i, r) in results.iter().enumerate() {
        match r {
            Ok(()) => ok.push(i),
            Err(f) => {
                assert_eq!((code(f), f.message.as_str()), ("unavailable", RETRY_MESSAGE), "{what}, writer {i}: {f:?}");
                if let Some(status) = f.http_status {
                    assert_eq!(status, 503, "{f:?}");
                }
            }
        }
    }
    eprintln!("{what}: {} of {} acknowledged", ok.len(), results.len());
    assert!(!ok.is_empty(), "{what}: no writer got through");
    ok
}

async fn postgres(test: &str) -> Option<(TestServer, PgSchema)> {
    let schema = PgSchema::create(test).await?;
    let server = TestServer::builder().store(schema.store().await).start().await;
    Some((server, schema))
}

/// Writer `i`'s complete update: a name and settings that all say `i`.
fn runner_update(runner_id: &str, i: usize) -> UpdateRunnerRequest {
    UpdateRunnerRequest {
        runner_id: runner_id.to_owned(),
        name: Some(format!("writer {i:02}")),
        spec: Some(update_runner_request::Spec {
            configuration: Some(update_runner_request::RunnerConfiguration {
                release_channel: Some(
                    (if i.is_multiple_of(2) { RunnerReleaseChannel::Stable } else { RunnerReleaseChannel::Latest })
                        as i32,
                ),
                auto_update: Some(i.is_multiple_of(3)),
                metrics: Some(update_runner_request::MetricsConfiguration {
                    enabled: Some(!i.is_multiple_of(5)),
                    url: Some(format!("https://metrics.example.com/{i}")),
                    username: Some(format!("user-{i}")),
                    ..Default::default()
                }),
                log_level: Some([LogLevel::Debug, LogLevel::Info, LogLevel::Warn, LogLevel::Error][i % 4] as i32),
                devcontainer_image_cache_enabled: Some(i.is_multiple_of(7)),
                update_window: Some(UpdateWindow { start_hour: Some((i % 24) as u32), end_hour: None }),
                continuous_profiling: Some(!i.is_multiple_of(2)),
                ..Default::default()
            }),
            desired_phase: None,
        }),
    }
}

async fn same_runner(server: &TestServer) {
    let admin = server.client(runner_testkit::Protocol::ConnectJson).await;
    let id = create(&admin, aws_runner("contended")).await.unwrap().runner.unwrap().runner_id;
    let uuid: uuid::Uuid = id.parse().unwrap();
    let before = server.store.get_runner(uuid).await.unwrap().unwrap().revision;
    let clients = clients(server, CLIENTS).await;
    let calls = clients.iter().enumerate().map(|(i, c)| crate::runners::update(c, runner_update(&id, i)));
    let results = all_at_once("UpdateRunner", calls).await;
    let ok = acknowledged("UpdateRunner", &results);

    let after = server.store.get_runner(uuid).await.unwrap().unwrap().revision;
    assert_eq!(after - before, ok.len() as i64, "one revision per acknowledged update");
    // The last write of one serial order: one acknowledged writer's value, whole.
    let runner = get(&admin, &id).await.unwrap();
    let last: usize = runner.name.strip_prefix("writer ").and_then(|n| n.parse().ok()).expect(&runner.name);
    assert!(ok.contains(&last), "writer {last} was not acknowledged but its name stuck");
    let c = runner.spec.unwrap().configuration.unwrap();
    let want = runner_update(&id, last).spec.unwrap().configuration.unwrap();
    let m = c.metrics.unwrap();
    let want_m = want.metrics.unwrap();
    assert_eq!(
        (
            Some(c.release_channel),
            Some(c.auto_update),
            Some(c.log_level),
            Some(c.devcontainer_image_cache_enabled),
            Some(c.continuous_profiling),
            c.update_window.unwrap().start_hour,
        ),
        (
            want.release_channel,
            want.auto_update,
            want.log_level,
            want.devcontainer_image_cache_enabled,
            want.continuous_profiling,
            want.update_window.unwrap().start_hour,
        ),
        "settings of writer {last}"
    );
    assert_eq!((Some(m.enabled), Some(m.url), Some(m.username)), (want_m.enabled, want_m.url, want_m.username));
    // The region, which nobody updated, is intact.
    assert_eq!(c.region, "eu-central-1");
}

fn role_of(i: usize) -> RunnerRole {
    if i.is_multiple_of(2) { RunnerRole::Admin } else { RunnerRole::User }
}

async fn same_policy(server: &TestServer) {
    let admin = server.client(runner_testkit::Protocol::ConnectJson).await;
    let id = create(&admin, aws_runner("policy target")).await.unwrap().runner.unwrap().runner_id;
    let group = server.identity.create_group(server.org.id, "contended group").await.unwrap().id.to_string();
    let req =
        CreateRunnerPolicyRequest { runner_id: id.clone(), group_id: group.clone(), role: RunnerRole::User as i32 };
    let _: CreateRunnerPolicyResponse = admin.call(&rs("CreateRunnerPolicy"), req).await.unwrap();
    let clients = clients(server, CLIENTS).await;
    let calls = clients.iter().enumerate().map(|(i, c)| {
        let req = UpdateRunnerPolicyRequest { runner_id: id.clone(), group_id: group.clone(), role: role_of(i) as i32 };
        async move {
            let r: UpdateRunnerPolicyResponse = c.call(&rs("UpdateRunnerPolicy"), req).await?;
            assert_eq!(r.policy.unwrap().role, role_of(i) as i32, "the answer is writer {i}'s policy");
            Ok(())
        }
    });
    let results = all_at_once("UpdateRunnerPolicy", calls).await;
    let ok = acknowledged("UpdateRunnerPolicy", &results);
    // A policy is one row (runner, group, role) written by one statement: every update
    // succeeds and the last one wins.
    assert_eq!(ok.len(), CLIENTS, "policy updates never conflict");
    let listed: ListRunnerPoliciesResponse = admin
        .call(&rs("ListRunnerPolicies"), ListRunnerPoliciesRequest { runner_id: id.clone(), pagination: None })
        .await
        .unwrap();
    assert_eq!(listed.policies.len(), 1, "{listed:?}");
    let role = listed.policies[0].role;
    assert!(ok.iter().any(|i| role_of(*i) as i32 == role), "final role {role} is an acknowledged writer's");
}

/// Writer `i`'s complete update of an Azure DevOps (Entra) integration: client id, sealed
/// secret and issuer (Entra has no PAT, so `pat` stays false).
fn scm_update(id: &str, i: usize) -> UpdateScmIntegrationRequest {
    UpdateScmIntegrationRequest {
        id: id.to_owned(),
        oauth_client_id: Some(format!("client-{i}")),
        oauth_plaintext_client_secret: Some(format!("secret-of-writer-{i}")),
        pat: Some(false),
        issuer_url: Some(format!("https://login.microsoftonline.com/tenant-{i}/v2.0")),
        virtual_directory: None,
    }
}

async fn same_scm_integration(server: &TestServer) {
    let admin = server.client(runner_testkit::Protocol::ConnectJson).await;
    let runner = create(&admin, aws_runner("scm target")).await.unwrap().runner.unwrap().runner_id;
    let (secret_key, public_key) = crypto::generate_runner_keypair();
    server.set_public_key(&runner, &public_key).await;
    let req = CreateScmIntegrationRequest {
        runner_id: runner.clone(),
        scm_id: "azuredevops_entra".into(),
        host: "dev.azure.com/acme".into(),
        oauth_client_id: Some("client-initial".into()),
        oauth_plaintext_client_secret: Some("secret-initial".into()),
        issuer_url: Some("https://login.microsoftonline.com/initial/v2.0".into()),
        pat: false,
        ..Default::default()
    };
    let created: CreateScmIntegrationResponse = admin.call(&rcs("CreateSCMIntegration"), req).await.unwrap();
    let id = created.id;
    let uuid: uuid::Uuid = id.parse().unwrap();
    let before = server.store.get_scm_integration(uuid).await.unwrap().unwrap().revision;
    let clients = clients(server, CLIENTS).await;
    let calls = clients.iter().enumerate().map(|(i, c)| {
        let req = scm_update(&id, i);
        async move {
            let _: UpdateScmIntegrationResponse = c.call(&rcs("UpdateSCMIntegration"), req).await?;
            Ok(())
        }
    });
    let results = all_at_once("UpdateSCMIntegration", calls).await;
    let ok = acknowledged("UpdateSCMIntegration", &results);

    let after = server.store.get_scm_integration(uuid).await.unwrap().unwrap().revision;
    assert_eq!(after - before, ok.len() as i64, "one revision per acknowledged update");
    let got: GetScmIntegrationResponse =
        admin.call(&rcs("GetSCMIntegration"), GetScmIntegrationRequest { id: id.clone() }).await.unwrap();
    let got = got.integration.unwrap();
    let oauth = got.oauth.unwrap();
    let last: usize = oauth.client_id.strip_prefix("client-").and_then(|n| n.parse().ok()).expect(&oauth.client_id);
    assert!(ok.contains(&last), "writer {last} was not acknowledged but its client id stuck");
    let want = scm_update(&id, last);
    assert_eq!((Some(oauth.issuer_url), Some(got.pat)), (want.issuer_url, want.pat), "fields of writer {last}");
    let secret = crypto::open_sealed(&secret_key, &oauth.encrypted_client_secret).unwrap();
    assert_eq!(Some(String::from_utf8(secret).unwrap()), want.oauth_plaintext_client_secret, "secret of writer {last}");
}

async fn one_exchange_token(server: &TestServer) {
    let admin = server.client(runner_testkit::Protocol::ConnectJson).await;
    let created = create(&admin, aws_runner("raced token")).await.unwrap();
    let calls = ALL.iter().cycle().take(CLIENTS).map(|p| exchange(server, *p, &created.exchange_token));
    let results = all_at_once("ExchangeToken", calls).await;
    let codes: Vec<&str> = results.iter().map(|r| r.as_ref().map_or_else(code, |_| "ok")).collect();
    assert_eq!(codes.iter().filter(|c| **c == "ok").count(), 1, "{codes:?}");
    assert_eq!(codes.iter().filter(|c| **c == "unauthenticated").count(), CLIENTS - 1, "{codes:?}");
    // The winner's access token works.
    let winner = results.into_iter().find_map(Result::ok).unwrap();
    let runner = server.client_as(runner_testkit::Protocol::ConnectJson, Some(&winner.access_token)).await;
    let runner_id = created.runner.unwrap().runner_id;
    assert_eq!(get(&runner, &runner_id).await.unwrap().runner_id, runner_id);
}

async fn policy_creates(server: &TestServer) {
    let admin = server.client(runner_testkit::Protocol::ConnectJson).await;
    let id = create(&admin, aws_runner("many policies")).await.unwrap().runner.unwrap().runner_id;
    let mut groups = Vec::new();
    for g in 0..=CLIENTS {
        groups.push(server.identity.create_group(server.org.id, &format!("group {g}")).await.unwrap().id.to_string());
    }
    let clients = clients(server, CLIENTS).await;
    async fn create_policy(c: &Client, runner: &str, group: &str, role: RunnerRole) -> Result<(), Failure> {
        let req =
            CreateRunnerPolicyRequest { runner_id: runner.to_owned(), group_id: group.to_owned(), role: role as i32 };
        c.call::<_, CreateRunnerPolicyResponse>(&rs("CreateRunnerPolicy"), req).await.map(|_| ())
    }

    // 64 distinct groups: all created.
    let calls = clients.iter().zip(&groups).enumerate().map(|(i, (c, g))| create_policy(c, &id, g, role_of(i)));
    let results = all_at_once("CreateRunnerPolicy, distinct groups", calls).await;
    let codes: Vec<&str> = results.iter().map(|r| r.as_ref().map_or_else(code, |_| "ok")).collect();
    assert!(codes.iter().all(|c| *c == "ok"), "{codes:?}");
    let listed: ListRunnerPoliciesResponse = admin
        .call(
            &rs("ListRunnerPolicies"),
            ListRunnerPoliciesRequest {
                runner_id: id.clone(),
                pagination: Some(PaginationRequest { page_size: 100, token: String::new() }),
            },
        )
        .await
        .unwrap();
    let mut listed: Vec<(String, i32)> = listed.policies.into_iter().map(|p| (p.group_id, p.role)).collect();
    listed.sort();
    let mut want: Vec<(String, i32)> =
        groups[..CLIENTS].iter().enumerate().map(|(i, g)| (g.clone(), role_of(i) as i32)).collect();
    want.sort();
    assert_eq!(listed, want, "every policy, with its own role");

    // 64 creates of one (runner, group): exactly one.
    let last = &groups[CLIENTS];
    let calls = clients.iter().enumerate().map(|(i, c)| create_policy(c, &id, last, role_of(i)));
    let results = all_at_once("CreateRunnerPolicy, one group", calls).await;
    let codes: Vec<&str> = results.iter().map(|r| r.as_ref().map_or_else(code, |_| "ok")).collect();
    assert_eq!(codes.iter().filter(|c| **c == "ok").count(), 1, "{codes:?}");
    assert_eq!(codes.iter().filter(|c| **c == "already_exists").count(), CLIENTS - 1, "{codes:?}");
    let winner = results.iter().position(Result::is_ok).unwrap();
    let roles = server.store.policy_roles(id.parse().unwrap(), &[last.parse().unwrap()]).await.unwrap();
    assert_eq!(roles.len(), 1);
    use runner_core::model::ApiEnum;
    assert_eq!(roles[0].number(), role_of(winner) as i32, "the stored policy is the acknowledged one");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_updates_of_one_runner() {
    same_runner(&TestServer::start().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_updates_of_one_policy() {
    same_policy(&TestServer::start().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_updates_of_one_scm_integration() {
    same_scm_integration(&TestServer::start().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_redemptions_of_one_exchange_token() {
    one_exchange_token(&TestServer::start().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_policy_creates() {
    policy_creates(&TestServer::start().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrency_postgres_updates_of_one_runner() {
    let Some((server, schema)) = postgres("concurrency_postgres_updates_of_one_runner").await else { return };
    same_runner(&server).await;
    schema.drop_schema().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrency_postgres_updates_of_one_policy() {
    let Some((server, schema)) = postgres("concurrency_postgres_updates_of_one_policy").await else { return };
    same_policy(&server).await;
    schema.drop_schema().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrency_postgres_updates_of_one_scm_integration() {
    let Some((server, schema)) = postgres("concurrency_postgres_updates_of_one_scm_integration").await else {
        return;
    };
    same_scm_integration(&server).await;
    schema.drop_schema().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrency_postgres_redemptions_of_one_exchange_token() {
    let Some((server, schema)) = postgres("concurrency_postgres_redemptions_of_one_exchange_token").await else {
        return;
    };
    one_exchange_token(&server).await;
    schema.drop_schema().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrency_postgres_policy_creates() {
    let Some((server, schema)) = postgres("concurrency_postgres_policy_creates").await else { return };
    policy_creates(&server).await;
    schema.drop_schema().await;
}
