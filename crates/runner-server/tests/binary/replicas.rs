//! Two replicas of the server, two processes of the real binary on one PostgreSQL, as behind a
//! load balancer: read-your-writes across them, concurrent updates through both (64 writers ×
//! 10 updates of one runner and of one SCM integration, every one acknowledged), a page token
//! of one working on the other, one exchange token redeemed once across both, uniqueness
//! whichever replica writes, and a replica killed with SIGKILL in a write burst losing nothing
//! it acknowledged, and a revocation made through one replica refusing the token on the other
//! within the token cache's time, and WatchEvents across replicas (a write on one reaching the
//! watchers of the other, a lost listening connection ending the streams, and 2,000 writes through
//! both reaching 12 watchers on both exactly). (Prints one SKIPPED line where no PostgreSQL is reachable; CI
//! requires it.)

use std::sync::{Arc, Mutex};

use gitpod_api::gitpod::v1::*;
use runner_store::testing::PgSchema;
use runner_testkit::contention::{
    UPDATES, WRITERS, assert_in_order, assert_whole_runner_update, assert_whole_scm_update, entra_integration,
    runner_update, scm_update, updates_in_turn, writer_and_update,
};
use runner_testkit::{Client, Failure, Protocol, ServerProcess, outcome, rcs, rs};
use serde_json::{Value, json};

use crate::bin;

/// Two replicas on a fresh schema, started one after the other with one key file; the first
/// one bootstrapped the organization and printed the admin token.
struct Deployment {
    a: ServerProcess,
    b: ServerProcess,
    token: String,
    schema: PgSchema,
    _dir: tempfile::TempDir,
}

async fn deployment(test: &str) -> Option<Deployment> {
    deployment_with(test, &[]).await
}

/// [`deployment`], both replicas started with `args` too.
async fn deployment_with(test: &str, args: &[&str]) -> Option<Deployment> {
    let schema = PgSchema::create(test).await?;
    let database_url = format!("{}?options=-c%20search_path%3D{}", runner_store::testing::postgres_url(), schema.name);
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("server.key");
    let start = |name: &str| {
        let mut command = ServerProcess::command(bin(), &database_url, &key);
        command.args(args);
        ServerProcess::start(command, dir.path(), name).unwrap_or_else(|e| panic!("{e}"))
    };
    let (a, b) = (start("a"), start("b"));
    let token = a.token().to_owned();
    assert!(b.admin_token.is_none(), "the second replica finds the organization");
    // Each says which database it opened, and whether it set it up (migrations from zero).
    let shown = runner_server::config::redact_password(&database_url);
    let (a_log, b_log) = (a.stderr(), b.stderr());
    assert!(a_log.contains(&format!("database {shown}: set up a new database")), "{a_log}");
    assert!(b_log.contains(&format!("database {shown}: opened the existing database")), "{b_log}");
    Some(Deployment { a, b, token, schema, _dir: dir })
}

#[derive(Clone)]
struct Api {
    http: reqwest::Client,
    token: String,
}

impl Api {
    /// A Connect JSON call: the HTTP status and body, or `None` when the replica is gone.
    async fn call(&self, base: &str, method: &str, body: Value) -> Option<(u16, Value)> {
        let response = self
            .http
            .post(format!("{base}/api/gitpod.v1.{method}"))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await
            .ok()?;
        let status = response.status().as_u16();
        Some((status, response.json().await.unwrap_or(Value::Null)))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_replica_processes_share_one_database() {
    let Some(Deployment { mut a, b, token, schema, _dir }) =
        deployment("postgres_replica_processes_share_one_database").await
    else {
        return;
    };
    let api = Api { http: reqwest::Client::new(), token: token.clone() };

    // Read-your-writes: created on A, read on B at once.
    let (status, created) = api
        .call(&a.url, "RunnerService/CreateRunner", json!({"name": "shared", "provider": "RUNNER_PROVIDER_GCP"}))
        .await
        .unwrap();
    assert_eq!(status, 200, "{created}");
    let id = created["runner"]["runnerId"].as_str().unwrap().to_owned();
    let (status, read) = api.call(&b.url, "RunnerService/GetRunner", json!({"runnerId": id})).await.unwrap();
    assert_eq!((status, &read["runner"]["name"]), (200, &json!("shared")));

    // Concurrent updates through both replicas all succeed; the last write is one of them.
    let updates = (0..10).map(|n| {
        let (api, base, id) = (api.clone(), if n % 2 == 0 { a.url.clone() } else { b.url.clone() }, id.clone());
        async move {
            let body = json!({"runnerId": id, "name": format!("name {n}")});
            api.call(&base, "RunnerService/UpdateRunner", body).await.unwrap().0
        }
    });
    assert!(futures::future::join_all(updates).await.iter().all(|s| *s == 200));
    let (_, read) = api.call(&a.url, "RunnerService/GetRunner", json!({"runnerId": id})).await.unwrap();
    assert!(read["runner"]["name"].as_str().unwrap().starts_with("name "), "{read}");

    // One exchange token, redeemed on both replicas at once: exactly one succeeds.
    let exchange = created["exchangeToken"].as_str().unwrap().to_owned();
    let redeem = |base: String| {
        let (http, exchange) = (api.http.clone(), exchange.clone());
        async move {
            http.post(format!("{base}/gitpod.v1.IdentityService/ExchangeToken"))
                .json(&json!({"exchangeToken": exchange}))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    let mut codes = futures::future::join_all([redeem(a.url.clone()), redeem(b.url.clone())]).await;
    codes.sort();
    assert_eq!(codes, [200, 401]);

    // A write burst on A, killed with SIGKILL half-way: B has every runner A acknowledged,
    // each whole (its exchange token, written in the same transaction, works).
    let acknowledged: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let burst = {
        let (api, base, acknowledged) = (api.clone(), a.url.clone(), acknowledged.clone());
        tokio::spawn(async move {
            for n in 0.. {
                let body = json!({"name": format!("burst {n}"), "provider": "RUNNER_PROVIDER_GCP"});
                match api.call(&base, "RunnerService/CreateRunner", body).await {
                    Some((200, v)) => acknowledged.lock().unwrap().push((
                        v["runner"]["runnerId"].as_str().unwrap().to_owned(),
                        v["exchangeToken"].as_str().unwrap().to_owned(),
                    )),
                    _ => return n,
                }
            }
            unreachable!()
        })
    };
    while acknowledged.lock().unwrap().len() < 30 {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    a.kill(); // SIGKILL
    let sent = burst.await.unwrap();
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(sent >= acknowledged.len() && acknowledged.len() >= 30);
    for (runner_id, exchange) in &acknowledged {
        let (status, _) = api.call(&b.url, "RunnerService/GetRunner", json!({"runnerId": runner_id})).await.unwrap();
        assert_eq!(status, 200, "acknowledged runner {runner_id} is on B");
        let status = api
            .http
            .post(format!("{}/gitpod.v1.IdentityService/ExchangeToken", b.url))
            .json(&json!({"exchangeToken": exchange}))
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status.as_u16(), 200, "the exchange token of {runner_id} was written with it");
    }
    // And B lists everything whole, the write in flight at the kill included if it committed.
    let (status, listed) =
        api.call(&b.url, "RunnerService/ListRunners", json!({"pagination": {"pageSize": 100}})).await.unwrap();
    assert_eq!(status, 200, "{listed}");
    let names: Vec<&str> = listed["runners"].as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert!(names.len() > acknowledged.len() && names.len() <= acknowledged.len() + 2, "{names:?}");
    drop(b);
    schema.drop_schema().await;
}

async fn create(c: &Client, name: &str) -> CreateRunnerResponse {
    let req = CreateRunnerRequest { name: name.into(), provider: RunnerProvider::Gcp as i32, ..Default::default() };
    c.call(&rs("CreateRunner"), req).await.unwrap()
}

async fn list(c: &Client, page_size: i32, token: &str) -> ListRunnersResponse {
    let pagination = Some(PaginationRequest { page_size, token: token.to_owned() });
    c.call(&rs("ListRunners"), ListRunnersRequest { pagination, filter: None }).await.unwrap()
}

/// Trades an exchange token on `base`, calling without credentials.
async fn exchange(protocol: Protocol, base: &str, token: &str) -> Result<ExchangeTokenResponse, Failure> {
    let anonymous = Client::new(protocol, base, None).await;
    let req = ExchangeTokenRequest { exchange_token: token.to_owned() };
    anonymous.call("/gitpod.v1.IdentityService/ExchangeToken", req).await
}

#[tokio::test]
async fn postgres_two_replicas_serve_one_deployment() {
    let Some(Deployment { a, b, token, schema, _dir }) = deployment("postgres_two_replicas_serve_one_deployment").await
    else {
        return;
    };
    for protocol in [Protocol::ConnectJson, Protocol::Grpc] {
        let on_a = Client::new(protocol, &a.url, Some(&token)).await;
        let on_b = Client::new(protocol, &b.url, Some(&token)).await;

        // Paging across replicas: page tokens are signed with the deployment's shared key.
        let mut created = Vec::new();
        for i in 0..5 {
            let c = if i % 2 == 0 { &on_a } else { &on_b };
            created.push(create(c, &format!("replicated {i}")).await.runner.unwrap().runner_id);
        }
        let (mut seen, mut token, mut turn) = (Vec::new(), String::new(), 0);
        loop {
            let c = if turn % 2 == 0 { &on_a } else { &on_b };
            let page = list(c, 2, &token).await;
            seen.extend(page.runners.into_iter().map(|r| r.runner_id));
            token = page.pagination.unwrap_or_default().next_token;
            turn += 1;
            if token.is_empty() {
                break;
            }
        }
        let mine: Vec<&String> = seen.iter().filter(|id| created.contains(id)).collect();
        assert_eq!(mine, created.iter().collect::<Vec<_>>(), "{protocol:?}: every runner once, in order");
        assert!(turn >= 3);

        // An exchange token works once, on whichever replica it reaches first.
        let minted = create(&on_b, "exchanged").await;
        let attempts = [&a.url, &b.url].map(|base| {
            let token = minted.exchange_token.clone();
            let base = base.clone();
            async move { exchange(protocol, &base, &token).await }
        });
        let results = futures::future::join_all(attempts).await;
        assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1, "{protocol:?}");
        assert!(exchange(protocol, &a.url, &minted.exchange_token).await.is_err());

        // One SCM integration per runner and host, across replicas.
        let runner_id = minted.runner.unwrap().runner_id;
        let scm = || CreateScmIntegrationRequest {
            runner_id: runner_id.clone(),
            scm_id: "github".into(),
            host: "github.com".into(),
            pat: true,
            ..Default::default()
        };
        let path = &rcs("CreateSCMIntegration");
        let (x, y) = tokio::join!(
            on_a.call::<_, CreateScmIntegrationResponse>(path, scm()),
            on_b.call::<_, CreateScmIntegrationResponse>(path, scm())
        );
        let codes: Vec<String> = [outcome(x), outcome(y)].into();
        let mut sorted = codes.clone();
        sorted.sort();
        assert_eq!(sorted, ["already_exists", "ok"], "{protocol:?}");
    }
    drop((a, b));
    schema.drop_schema().await;
}

/// 64 writers split over both replicas (and the four protocols), each updating one runner ten
/// times in a row, then one SCM integration: every update is acknowledged (a writer that loses
/// to the other replica waits for its turn instead of failing), the revision moves on once per
/// update, each writer reads back its update or a later one, and the final state is one
/// writer's last update, whole.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_writers_on_two_replicas_take_turns() {
    let Some(Deployment { a, b, token, schema, _dir }) =
        deployment("postgres_writers_on_two_replicas_take_turns").await
    else {
        return;
    };
    let store = schema.store().await;
    let mut clients = Vec::new();
    for w in 0..WRITERS {
        let base = if w % 2 == 0 { &a.url } else { &b.url };
        clients.push(Client::new(runner_testkit::ALL[(w / 2) % 4], base, Some(&token)).await);
    }
    let admin = Client::new(Protocol::ConnectJson, &a.url, Some(&token)).await;

    // One runner.
    let id = create(&admin, "contended").await.runner.unwrap().runner_id;
    let uuid: uuid::Uuid = id.parse().unwrap();
    let get = async |c: &Client| -> Runner {
        let got: GetRunnerResponse =
            c.call(&rs("GetRunner"), GetRunnerRequest { runner_id: id.clone() }).await.unwrap();
        got.runner.unwrap()
    };
    let before = store.get_runner(uuid).await.unwrap().unwrap().revision;
    let seen = updates_in_turn(
        "UpdateRunner on two replicas",
        &clients,
        async |c, w, n| {
            c.call::<_, UpdateRunnerResponse>(&rs("UpdateRunner"), runner_update(&id, w, n)).await.map(|_| ())
        },
        async |c| writer_and_update(&get(c).await.name, "writer "),
    )
    .await;
    assert_in_order("UpdateRunner on two replicas", &seen);
    let moved = store.get_runner(uuid).await.unwrap().unwrap().revision - before;
    assert_eq!(moved, (WRITERS * UPDATES) as i64, "one revision per update, none lost");
    let (_, n) = assert_whole_runner_update(&get(&admin).await);
    assert_eq!(n, UPDATES - 1, "the final state is a writer's last update");

    // One SCM integration (OAuth, so every update seals a secret to the runner's key).
    let (secret_key, public_key) = runner_core::crypto::generate_runner_keypair();
    let mut runner = store.get_runner(uuid).await.unwrap().unwrap();
    runner.status.public_key = public_key.to_vec();
    runner.revision += 1;
    assert_eq!(store.update_runner(&runner).await.unwrap(), runner_core::store::WriteOutcome::Written);
    let created: CreateScmIntegrationResponse =
        admin.call(&rcs("CreateSCMIntegration"), entra_integration(&id)).await.unwrap();
    let (scm_id, scm_uuid) = (created.id.clone(), created.id.parse::<uuid::Uuid>().unwrap());
    let get = async |c: &Client| -> ScmIntegration {
        let got: GetScmIntegrationResponse =
            c.call(&rcs("GetSCMIntegration"), GetScmIntegrationRequest { id: scm_id.clone() }).await.unwrap();
        got.integration.unwrap()
    };
    let before = store.get_scm_integration(scm_uuid).await.unwrap().unwrap().revision;
    let seen = updates_in_turn(
        "UpdateSCMIntegration on two replicas",
        &clients,
        async |c, w, n| {
            let path = &rcs("UpdateSCMIntegration");
            c.call::<_, UpdateScmIntegrationResponse>(path, scm_update(&scm_id, w, n)).await.map(|_| ())
        },
        async |c| writer_and_update(&get(c).await.oauth.unwrap().client_id, "client-"),
    )
    .await;
    assert_in_order("UpdateSCMIntegration on two replicas", &seen);
    let moved = store.get_scm_integration(scm_uuid).await.unwrap().unwrap().revision - before;
    assert_eq!(moved, (WRITERS * UPDATES) as i64, "one revision per update, none lost");
    let (_, n) = assert_whole_scm_update(&get(&admin).await, &secret_key);
    assert_eq!(n, UPDATES - 1, "the final state is a writer's last update");
    // The replicas did race each other, and the losers took the row's turn across them.
    let mut turns = 0.0;
    for base in [&a.url, &b.url] {
        let text = reqwest::get(format!("{base}/metrics")).await.unwrap().text().await.unwrap();
        let line = text.lines().find(|l| l.starts_with("db_query_duration_seconds_count{op=\"write_turn\"}"));
        turns += line.and_then(|l| l.rsplit(' ').next()?.parse::<f64>().ok()).unwrap_or(0.0);
    }
    eprintln!("write turns taken across replicas: {turns}");
    assert!(turns > 0.0, "no writer lost a race to the other replica: the test did not test that");
    drop((a, b, clients));
    schema.drop_schema().await;
}

/// The token cache time both replicas of the revocation test run with (`--token-cache-ms`).
const TOKEN_CACHE: std::time::Duration = std::time::Duration::from_millis(500);

/// What a refusal may take beyond the token cache time: the call in flight and the polling
/// interval, on a loaded machine.
const REFUSAL_MARGIN: std::time::Duration = std::time::Duration::from_millis(300);

/// Revocation through another replica: a user's token, trusted by replica B's token cache, is
/// refused by B (`unauthenticated`) within `--token-cache-ms` (+ a margin) of its user being
/// suspended (UserService.SetSuspended), and of a personal access token being deleted
/// (UserService.DeletePersonalAccessToken), through replica A, however often B is asked
/// meanwhile (a cache entry ages from its database read; use does not renew it); A refuses it
/// from the very next call. The time counts from when the call to A was sent, before the write.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_revocation_through_one_replica_reaches_the_other_within_the_token_cache_time() {
    let test = "postgres_a_revocation_through_one_replica_reaches_the_other_within_the_token_cache_time";
    let cache_ms = TOKEN_CACHE.as_millis().to_string();
    let Some(Deployment { a, b, token, schema, _dir }) = deployment_with(test, &["--token-cache-ms", &cache_ms]).await
    else {
        return;
    };
    let admin = Api { http: reqwest::Client::new(), token };
    let accounts = runner_core::accounts::Accounts::new(schema.store().await);
    let org = accounts.organizations().await.unwrap().remove(0).id;
    let user = |name: &'static str| {
        let accounts = &accounts;
        async move {
            let member = accounts
                .create_member(org, runner_core::model::Principal::User, name, runner_core::identity::OrgRole::Member)
                .await
                .unwrap();
            let issued = accounts.issue_token(member.id, "replicas", None).await.unwrap();
            (member.id, issued.info.id, issued.token)
        }
    };
    let (suspended, _, suspended_token) = user("suspended").await;
    let (_, deleted_token_id, deleted_token) = user("holder").await;

    let revocations = [
        ("SetSuspended", suspended_token, json!({"userId": suspended.to_string(), "suspended": true})),
        ("DeletePersonalAccessToken", deleted_token, json!({"personalAccessTokenId": deleted_token_id.to_string()})),
    ];
    for (rpc, token, request) in revocations {
        let api = Api { http: reqwest::Client::new(), token };
        let status = async |base: &str| api.call(base, "RunnerService/ListRunners", json!({})).await.unwrap().0;
        // Both replicas let it in, and B now has it in its token cache.
        assert_eq!((status(&a.url).await, status(&b.url).await), (200, 200), "{rpc}");
        let asked = std::time::Instant::now();
        let (code, body) = admin.call(&a.url, &format!("UserService/{rpc}"), request).await.unwrap();
        assert_eq!(code, 200, "{rpc}: {body}");
        let acknowledged = asked.elapsed();
        // A, whose cache the change emptied, refuses it from the next call.
        assert_eq!(status(&a.url).await, 401, "{rpc}: A");
        // B is asked without pause until it refuses; every answer before is a 200.
        let refused_after = loop {
            match status(&b.url).await {
                200 => {
                    let waited = asked.elapsed();
                    assert!(waited < TOKEN_CACHE * 4, "{rpc}: B still lets it in after {waited:?}");
                }
                401 => break asked.elapsed(),
                other => panic!("{rpc}: B answered {other}"),
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        };
        eprintln!(
            "{rpc} through A: answered in {acknowledged:?}; B refused the token {refused_after:?} after it was sent"
        );
        assert!(
            refused_after <= TOKEN_CACHE + REFUSAL_MARGIN,
            "{rpc}: B refused the token only {refused_after:?} after the call to A (the bound: {TOKEN_CACHE:?} + {REFUSAL_MARGIN:?})"
        );
        // And both go on refusing it.
        for _ in 0..3 {
            assert_eq!((status(&a.url).await, status(&b.url).await), (401, 401), "{rpc}");
        }
    }
    drop((a, b));
    schema.drop_schema().await;
}

/// WatchEvents across replicas: a write on A reaches a watcher on B through PostgreSQL (and B's
/// on A), once each; a replica whose listening connection is lost ends its streams with
/// `unavailable` (it may have missed events), and a watch opened again receives events again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_write_on_one_replica_reaches_the_watchers_of_the_other() {
    use futures::StreamExt;
    use runner_testkit::{MessageStream, es};
    let Some(Deployment { a, b, token, schema, _dir }) =
        deployment("postgres_a_write_on_one_replica_reaches_the_watchers_of_the_other").await
    else {
        return;
    };
    const WAIT: std::time::Duration = std::time::Duration::from_secs(10);
    let quiet = std::time::Duration::from_millis(500);
    let org = WatchEventsRequest { scope: Some(watch_events_request::Scope::Organization(true)), ..Default::default() };
    let watch = |base: String| {
        let (token, org) = (token.clone(), org.clone());
        async move {
            let c = Client::new(Protocol::Grpc, &base, Some(&token)).await;
            c.server_stream::<_, WatchEventsResponse>(&es("WatchEvents"), org).await
        }
    };
    async fn next(s: &mut MessageStream<WatchEventsResponse>) -> Option<Result<WatchEventsResponse, Failure>> {
        tokio::time::timeout(std::time::Duration::from_secs(10), s.next()).await.expect("an event in time")
    }
    let (ca, cb) = (
        Client::new(Protocol::ConnectJson, &a.url, Some(&token)).await,
        Client::new(Protocol::ConnectJson, &b.url, Some(&token)).await,
    );
    let mut on_a = watch(a.url.clone()).await.unwrap();
    let mut on_b = watch(b.url.clone()).await.unwrap();

    let made_on_a = create(&ca, "made on A").await.runner.unwrap().runner_id;
    let made_on_b = create(&cb, "made on B").await.runner.unwrap().runner_id;
    let created = |id: &str| WatchEventsResponse {
        operation: ResourceOperation::Create as i32,
        resource_type: ResourceType::Runner as i32,
        resource_id: id.to_owned(),
    };
    for (name, stream) in [("A", &mut on_a), ("B", &mut on_b)] {
        let mut got = vec![next(stream).await.unwrap().unwrap(), next(stream).await.unwrap().unwrap()];
        got.sort_by(|x, y| x.resource_id.cmp(&y.resource_id));
        let mut expected = vec![created(&made_on_a), created(&made_on_b)];
        expected.sort_by(|x, y| x.resource_id.cmp(&y.resource_id));
        assert_eq!(got, expected, "watcher on {name}");
        // Once each: a replica does not deliver its own writes twice.
        assert!(tokio::time::timeout(quiet, stream.next()).await.is_err(), "watcher on {name}");
    }

    // The listening connections go (both replicas': they are found by their channel).
    let mut admin = sqlx::ConnectOptions::connect(&schema.options()).await.unwrap();
    let channel = runner_store::pg_events::channel(&schema.name);
    let terminated: Vec<bool> = sqlx::query_scalar(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query = 'LISTEN \"' || $1 || '\"'",
    )
    .bind(&channel)
    .fetch_all(&mut admin)
    .await
    .unwrap();
    assert_eq!(terminated, vec![true, true]);
    for (name, stream) in [("A", &mut on_a), ("B", &mut on_b)] {
        match next(stream).await {
            Some(Err(f)) => assert_eq!(f.code, "unavailable", "watcher on {name}: {f}"),
            other => panic!("watcher on {name}: expected unavailable, got {other:?}"),
        }
    }
    // Watching again (refused while the replica listens again): events flow again.
    let started = std::time::Instant::now();
    loop {
        assert!(started.elapsed() < WAIT, "B never watched again");
        let Ok(mut again) = watch(b.url.clone()).await else {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            continue;
        };
        let id = create(&ca, "after the loss").await.runner.unwrap().runner_id;
        match next(&mut again).await {
            Some(Ok(event)) => {
                assert_eq!(event, created(&id));
                break;
            }
            Some(Err(f)) if f.code == "unavailable" => {
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            other => panic!("{other:?}"),
        }
    }
    drop((a, b));
    schema.drop_schema().await;
}

/// WatchEvents exactness across replicas (`runner_testkit::exactness`, smaller than the API
/// test's): 2,000 writes from 4 writers, two through each replica, while 12 watchers, half on each
/// replica, with different filters, read: each receives exactly the events it may see, none lost
/// or duplicated, in each writer's order, whichever replica the write went through.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_writes_on_two_replicas_reach_the_watchers_of_both_exactly() {
    use runner_testkit::ALL;
    use runner_testkit::exactness::{Side, Sight, Watcher, Writer, filter, new_runner, run};
    let Some(Deployment { a, b, token, schema, _dir }) =
        deployment("postgres_writes_on_two_replicas_reach_the_watchers_of_both_exactly").await
    else {
        return;
    };
    let replicas = [a.url.clone(), b.url.clone()];
    let first = Client::new(Protocol::ConnectJson, &a.url, Some(&token)).await;
    let me: GetAuthenticatedIdentityResponse = first
        .call("/gitpod.v1.IdentityService/GetAuthenticatedIdentity", GetAuthenticatedIdentityRequest {})
        .await
        .unwrap();
    let admin_id = me.subject.unwrap().id;
    let mut writers = Vec::new();
    for w in 0..4 {
        let client = Client::new(ALL[w % ALL.len()], &replicas[w % 2], Some(&token)).await;
        let mut runners = Vec::new();
        for r in 0..3 {
            runners.push(new_runner(&client, &format!("writer {w} runner {r}")).await);
        }
        let side = if w % 2 == 0 { Side::Group } else { Side::ServiceAccount };
        let organization_id = me.organization_id.clone();
        writers.push(Writer { client, principal_id: admin_id.clone(), organization_id, runners, side });
    }
    use ResourceType as T;
    let nobody = uuid::Uuid::now_v7().to_string();
    let filters = [
        vec![],
        vec![filter(T::Runner, &[], &[])],
        vec![filter(T::Group, &[], &[]), filter(T::ServiceAccount, &[], &[])],
        vec![filter(T::Runner, &writers[0].runners, &[]), filter(T::Runner, &writers[3].runners, &[])],
        vec![filter(T::Runner, &[], std::slice::from_ref(&admin_id))],
        vec![filter(T::Runner, &[], &[nobody])],
    ];
    let mut watchers = Vec::new();
    for (i, filters) in filters.iter().enumerate() {
        for (r, url) in replicas.iter().enumerate() {
            let protocol = ALL[(i + r) % ALL.len()];
            let client = Client::new(protocol, url, Some(&token)).await;
            let name = format!("watcher {i} on replica {} ({protocol:?})", ["A", "B"][r]);
            watchers.push(Watcher { name, client, filters: filters.clone(), sight: Sight::All });
        }
    }
    // A write reaches the other replica's watchers after it was answered (through PostgreSQL):
    // a watcher opened just after the writes above could still receive them there. A marker
    // written through each replica and seen on both is the barrier (a replica receives the
    // other's notifications in commit order).
    {
        use futures::StreamExt;
        let mut probes = Vec::new();
        for url in &replicas {
            let c = Client::new(Protocol::Grpc, url, Some(&token)).await;
            let req = WatchEventsRequest {
                scope: Some(watch_events_request::Scope::Organization(true)),
                resource_type_filters: vec![],
            };
            probes.push(
                c.server_stream::<_, WatchEventsResponse>(&runner_testkit::es("WatchEvents"), req).await.unwrap(),
            );
        }
        let mut markers = Vec::new();
        for url in &replicas {
            let c = Client::new(Protocol::ConnectJson, url, Some(&token)).await;
            markers.push(new_runner(&c, "marker").await);
        }
        for probe in &mut probes {
            let mut seen = std::collections::HashSet::new();
            while !markers.iter().all(|m| seen.contains(m)) {
                let event = tokio::time::timeout(std::time::Duration::from_secs(10), probe.next()).await;
                seen.insert(event.expect("the markers in time").unwrap().unwrap().resource_id);
            }
        }
    }
    let report = run(writers, watchers, 2_000).await;
    eprintln!("exactness on two PostgreSQL replicas: {report}");
    drop((a, b));
    schema.drop_schema().await;
}
