//! Concurrency: 64 clients at once on one row, on SQLite and (tests named `…postgres…`) on
//! PostgreSQL. 64 writers each update one runner, or one SCM integration, ten times in a row,
//! all at once: every update succeeds (writers take turns, docs/decisions.md "Concurrent
//! writes"), the stored revision moves on once per update, every writer reads back each of its
//! updates or a later one, and the final state is one writer's last update, whole. A writer
//! whose deadline (its own, or the server's bound when it set none) passes before its turn gets
//! `deadline_exceeded` (or `unavailable` "retry") having written nothing. Updates of one runner
//! policy all succeed; one exchange token redeemed 64 times at once works once; 64 policies for
//! 64 groups are all created, 64 for one group exactly once. No answer mentions a locked
//! database or a deadlock, and every scenario ends within a bound.

use std::time::Duration;

use gitpod_api::gitpod::v1::*;
use runner_core::crypto;
use runner_store::testing::PgSchema;

use crate::runner_side::exchange;
use crate::runners::{aws_runner, create, get};
use runner_testkit::contention::{
    UPDATES, WRITERS, assert_in_order, assert_whole_runner_update, assert_whole_scm_update, entra_integration,
    runner_update, scm_update, updates_in_turn, writer_and_update,
};
use runner_testkit::{ALL, Client, ClientOptions, Failure, TestServer, rcs, rs};

const CLIENTS: usize = WRITERS;
/// Every scenario ends within this, or it is taken for a deadlock.
const BOUND: Duration = Duration::from_secs(120);
/// What a writer that got no turn within the server's bound is told.
const RETRY_MESSAGE: &str = "service temporarily unavailable; retry";

/// `n` clients as the organization's admin, cycling through the four protocols.
async fn clients(server: &TestServer, n: usize) -> Vec<Client> {
    clients_with(server, n, ClientOptions::default()).await
}

async fn clients_with(server: &TestServer, n: usize, options: ClientOptions) -> Vec<Client> {
    let (url, mut out) = (server.url(), Vec::with_capacity(n));
    for protocol in ALL.iter().cycle().take(n) {
        out.push(Client::connect(*protocol, &url, Some(&server.admin_token), options.clone()).await.unwrap());
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

/// The writers that were acknowledged, after checking that every other one failed with
/// `expected`: `unavailable` with the retry message (HTTP 503), or `deadline_exceeded`.
fn acknowledged(what: &str, results: &[Result<(), Failure>], expected: &str) -> Vec<usize> {
    let mut ok = Vec::new();
    for (i, r) in results.iter().enumerate() {
        match r {
            Ok(()) => ok.push(i),
            Err(f) if expected == "unavailable" => {
                assert_eq!((code(f), f.message.as_str()), ("unavailable", RETRY_MESSAGE), "{what}, writer {i}: {f:?}");
                if let Some(status) = f.http_status {
                    assert_eq!(status, 503, "{f:?}");
                }
            }
            Err(f) => {
                assert_eq!(code(f), expected, "{what}, writer {i}: {f:?}");
                if let Some(status) = f.http_status {
                    assert_eq!(status, 504, "{f:?}");
                }
            }
        }
    }
    eprintln!("{what}: {} of {} acknowledged", ok.len(), results.len());
    ok
}

async fn postgres(test: &str) -> Option<(TestServer, PgSchema)> {
    let schema = PgSchema::create(test).await?;
    let server = TestServer::builder().store(schema.store().await).start().await;
    Some((server, schema))
}

/// A runner to contend for, and its stored revision.
async fn contended_runner(server: &TestServer) -> (Client, String, i64) {
    let admin = server.client(runner_testkit::Protocol::ConnectJson).await;
    let id = create(&admin, aws_runner("contended")).await.unwrap().runner.unwrap().runner_id;
    let revision = server.store.get_runner(id.parse().unwrap()).await.unwrap().unwrap().revision;
    (admin, id, revision)
}

async fn same_runner(server: &TestServer) {
    let (admin, id, before) = contended_runner(server).await;
    let clients = clients(server, WRITERS).await;
    let seen = updates_in_turn(
        "UpdateRunner",
        &clients,
        async |c, w, n| crate::runners::update(c, runner_update(&id, w, n)).await,
        async |c| writer_and_update(&get(c, &id).await.unwrap().name, "writer "),
    )
    .await;
    assert_in_order("UpdateRunner", &seen);
    let after = server.store.get_runner(id.parse().unwrap()).await.unwrap().unwrap().revision;
    assert_eq!(after - before, (WRITERS * UPDATES) as i64, "one revision per update, none lost");
    // The last write of one serial order, whole: a writer's last update (any other is
    // followed by that writer's next one).
    let (_, n) = assert_whole_runner_update(&get(&admin, &id).await.unwrap());
    assert_eq!(n, UPDATES - 1, "the final state is a writer's last update");
    // The region, which nobody updated, is intact.
    let runner = get(&admin, &id).await.unwrap();
    assert_eq!(runner.spec.unwrap().configuration.unwrap().region, "eu-central-1");
}

/// 64 writers at once, each with one update of one runner: those whose turn does not come
/// before their deadline fail with `expected`. A writer that gave up waiting wrote nothing, so
/// the revision moves on once per acknowledged update; but a caller's deadline also ends calls
/// whose write was under way (the transport answers `deadline_exceeded` at the deadline
/// whatever the handler is doing, as gRPC allows), and such a write may have been committed:
/// with `exact` false the failed writers may account for some revisions too.
async fn deadlines_bound_the_wait(server: &TestServer, options: ClientOptions, expected: &str, exact: bool) {
    let (admin, id, before) = contended_runner(server).await;
    let clients = clients_with(server, CLIENTS, options).await;
    let calls = clients.iter().enumerate().map(|(w, c)| crate::runners::update(c, runner_update(&id, w, 0)));
    let results = all_at_once("UpdateRunner with deadlines", calls).await;
    let ok = acknowledged("UpdateRunner with deadlines", &results, expected);
    assert!(ok.len() < CLIENTS, "with so short a bound some writer must have given up");
    let moved = server.store.get_runner(id.parse().unwrap()).await.unwrap().unwrap().revision - before;
    if exact {
        assert_eq!(moved, ok.len() as i64, "one revision per acknowledged update, none for the others");
    } else {
        assert!(moved >= ok.len() as i64 && moved < CLIENTS as i64, "{moved} revisions for {} acknowledged", ok.len());
    }
    // Whatever was written last is one writer's update, whole.
    if moved > 0 {
        assert_whole_runner_update(&get(&admin, &id).await.unwrap());
    }
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
    let ok = acknowledged("UpdateRunnerPolicy", &results, "no failure");
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

async fn same_scm_integration(server: &TestServer) {
    let admin = server.client(runner_testkit::Protocol::ConnectJson).await;
    let runner = create(&admin, aws_runner("scm target")).await.unwrap().runner.unwrap().runner_id;
    let (secret_key, public_key) = crypto::generate_runner_keypair();
    server.set_public_key(&runner, &public_key).await;
    let created: CreateScmIntegrationResponse =
        admin.call(&rcs("CreateSCMIntegration"), entra_integration(&runner)).await.unwrap();
    let id = created.id;
    let uuid: uuid::Uuid = id.parse().unwrap();
    let before = server.store.get_scm_integration(uuid).await.unwrap().unwrap().revision;
    let get = async |c: &Client| -> ScmIntegration {
        let got: GetScmIntegrationResponse =
            c.call(&rcs("GetSCMIntegration"), GetScmIntegrationRequest { id: id.clone() }).await.unwrap();
        got.integration.unwrap()
    };
    let clients = clients(server, WRITERS).await;
    let seen = updates_in_turn(
        "UpdateSCMIntegration",
        &clients,
        async |c, w, n| {
            let _: UpdateScmIntegrationResponse = c.call(&rcs("UpdateSCMIntegration"), scm_update(&id, w, n)).await?;
            Ok(())
        },
        async |c| writer_and_update(&get(c).await.oauth.unwrap().client_id, "client-"),
    )
    .await;
    assert_in_order("UpdateSCMIntegration", &seen);
    let after = server.store.get_scm_integration(uuid).await.unwrap().unwrap().revision;
    assert_eq!(after - before, (WRITERS * UPDATES) as i64, "one revision per update, none lost");
    let (_, n) = assert_whole_scm_update(&get(&admin).await, &secret_key);
    assert_eq!(n, UPDATES - 1, "the final state is a writer's last update");
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
async fn a_callers_deadline_bounds_its_wait_for_a_turn() {
    let options = ClientOptions { deadline: Some(Duration::from_millis(5)), ..Default::default() };
    deadlines_bound_the_wait(&TestServer::start().await, options, "deadline_exceeded", false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn without_a_deadline_the_servers_bound_ends_the_wait_with_a_retry() {
    let server = TestServer::builder().write_wait(Duration::from_millis(1)).start().await;
    deadlines_bound_the_wait(&server, ClientOptions::default(), "unavailable", true).await;
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
