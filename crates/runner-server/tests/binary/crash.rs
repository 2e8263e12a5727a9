//! Crash consistency of the real binary on SQLite: concurrent clients run a write-heavy mix
//! (CreateRunner, UpdateRunner, DeleteRunner, CreateRunnerToken + ExchangeToken, runner policy
//! create/update/delete) while the server is killed with SIGKILL at random points and restarted
//! on the same files. After every kill the database file is checked offline (integrity, foreign
//! keys, no half-written runner or redemption) and after every restart the API is checked
//! against what the clients were told:
//! - every acknowledged create exists unless an acknowledged delete removed it, and the
//!   exchange token minted with it redeems exactly once, unless another exchange token of the
//!   runner was redeemed first (a redemption spends the runner's other unused ones);
//! - every acknowledged update's value is the latest acknowledged one, or a later write that
//!   was in flight at the kill;
//! - an acknowledged redemption cannot be redeemed again;
//! - writes in flight at the kill took effect entirely or not at all;
//! - nothing appears that no client asked for.
//!
//! `CRASH_SEED=<n>` replays one run's random choices (the seed is printed).

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use runner_testkit::{ServerProcess, admin};
use serde_json::{Value, json};
use sqlx::Connection;

use crate::bin;

const WORKERS: usize = 6;
const KILLS: usize = 24;
const GROUPS: usize = 4;
const ROLES: [&str; 2] = ["RUNNER_ROLE_ADMIN", "RUNNER_ROLE_USER"];

/// A small deterministic generator (xorshift64*), so that a seed replays a run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// The server on `db`, started (again) in `dir`.
fn start(dir: &Path, db: &str, key: &Path) -> ServerProcess {
    ServerProcess::start(ServerProcess::command(bin(), db, key), dir, "server").unwrap_or_else(|e| panic!("{e}"))
}

/// What a call ended with, as its client saw it.
enum Reply {
    /// HTTP 200 and its body: the write is acknowledged.
    Ok(Value),
    /// An error answer: the Connect code and message.
    Refused(String, String),
    /// No (complete) answer: the server died with the call in flight.
    Dead,
}

async fn call(http: &reqwest::Client, base: &str, token: Option<&str>, method: &str, body: Value) -> Reply {
    let mut request = http.post(format!("{base}/gitpod.v1.{method}")).json(&body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let Ok(response) = request.send().await else { return Reply::Dead };
    let status = response.status().as_u16();
    let Ok(text) = response.text().await else { return Reply::Dead };
    for bad in ["database is locked", "deadlock"] {
        assert!(!text.contains(bad), "{method}: {text}");
    }
    let value: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{method}: {e}: {text}"));
    if status == 200 {
        Reply::Ok(value)
    } else {
        Reply::Refused(value["code"].as_str().unwrap_or_default().to_owned(), text)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Exists {
    Yes,
    No,
    /// A delete was in flight at the kill.
    Maybe,
}

/// A value known to the clients: the last acknowledged one, and the ones written after it
/// whose calls were in flight at a kill.
#[derive(Debug, Clone)]
struct Known<T> {
    acked: T,
    in_flight: Vec<T>,
}

impl<T: Clone + PartialEq + std::fmt::Debug> Known<T> {
    fn new(acked: T) -> Self {
        Self { acked, in_flight: Vec::new() }
    }

    fn ack(&mut self, value: T) {
        self.acked = value;
        self.in_flight.clear();
    }

    /// After a restart: `actual` must be the acknowledged value or an in-flight one; it becomes
    /// the acknowledged value, since nothing is in flight any more.
    fn settle(&mut self, actual: T, what: &str) {
        assert!(
            actual == self.acked || self.in_flight.contains(&actual),
            "{what}: found {actual:?}, acknowledged {:?}, in flight {:?}",
            self.acked,
            self.in_flight
        );
        self.ack(actual);
    }
}

#[derive(Debug)]
struct RunnerRec {
    owner: usize,
    exists: Exists,
    name: Known<String>,
    /// Per group: the role, `None` for no policy.
    policies: HashMap<String, Known<Option<String>>>,
    /// Acknowledged exchange tokens not redeemed yet.
    unredeemed: Vec<String>,
}

#[derive(Default)]
struct Counts {
    acked: HashMap<&'static str, usize>,
    in_flight: HashMap<&'static str, usize>,
}

#[derive(Default)]
struct Model {
    runners: HashMap<String, RunnerRec>,
    /// CreateRunner calls in flight at a kill: (worker, name).
    pending_creates: Vec<(usize, String)>,
    /// Acknowledged redemptions not re-checked since.
    redeemed: Vec<String>,
    /// Every acknowledged redemption, for the final check.
    all_redeemed: Vec<String>,
    /// Redemptions in flight at a kill.
    maybe_redeemed: Vec<String>,
    counts: Counts,
}

impl Model {
    fn ack(&mut self, op: &'static str) {
        *self.counts.acked.entry(op).or_default() += 1;
    }

    fn lost(&mut self, op: &'static str) {
        *self.counts.in_flight.entry(op).or_default() += 1;
    }
}

/// The base URL clients call, with a generation that changes at every restart.
struct Shared {
    model: Mutex<Model>,
    base: tokio::sync::watch::Sender<(u64, String)>,
    parked: AtomicUsize,
    stop: AtomicBool,
    token: String,
    groups: Vec<String>,
}

/// One client: a loop of random writes on the runners it created.
async fn worker(w: usize, seed: u64, shared: Arc<Shared>) {
    let http = reqwest::Client::builder().timeout(Duration::from_secs(20)).build().unwrap();
    let mut rng = Rng(seed ^ (w as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15));
    let mut base_rx = shared.base.subscribe();
    let token = Some(shared.token.as_str());
    for n in 0.. {
        if shared.stop.load(Ordering::SeqCst) {
            return;
        }
        let (generation, base) = base_rx.borrow_and_update().clone();
        let owned: Vec<String> = {
            let m = shared.model.lock().unwrap();
            let mut ids: Vec<String> = m
                .runners
                .iter()
                .filter(|(_, r)| r.owner == w && r.exists == Exists::Yes)
                .map(|(id, _)| id.clone())
                .collect();
            ids.sort();
            ids
        };
        let dice = rng.below(100);
        let alive = if owned.len() < 2 || (dice < 15 && owned.len() < 8) {
            // CreateRunner.
            let name = format!("w{w} r{n}");
            let body = json!({"name": name, "provider": "RUNNER_PROVIDER_GCP"});
            match call(&http, &base, token, "RunnerService/CreateRunner", body).await {
                Reply::Ok(v) => {
                    let id = v["runner"]["runnerId"].as_str().unwrap().to_owned();
                    let exchange = v["exchangeToken"].as_str().unwrap().to_owned();
                    let mut m = shared.model.lock().unwrap();
                    m.ack("CreateRunner");
                    m.runners.insert(
                        id,
                        RunnerRec {
                            owner: w,
                            exists: Exists::Yes,
                            name: Known::new(name),
                            policies: HashMap::new(),
                            unredeemed: vec![exchange],
                        },
                    );
                    true
                }
                Reply::Refused(code, text) => panic!("CreateRunner: {code}: {text}"),
                Reply::Dead => {
                    let mut m = shared.model.lock().unwrap();
                    m.lost("CreateRunner");
                    m.pending_creates.push((w, name));
                    false
                }
            }
        } else {
            let id = owned[rng.below(owned.len() as u64) as usize].clone();
            match dice {
                0..40 => {
                    let name = format!("w{w} u{n}");
                    let body = json!({"runnerId": id, "name": name});
                    match call(&http, &base, token, "RunnerService/UpdateRunner", body).await {
                        Reply::Ok(_) => {
                            let mut m = shared.model.lock().unwrap();
                            m.ack("UpdateRunner");
                            m.runners.get_mut(&id).unwrap().name.ack(name);
                            true
                        }
                        Reply::Refused(code, text) => panic!("UpdateRunner: {code}: {text}"),
                        Reply::Dead => {
                            let mut m = shared.model.lock().unwrap();
                            m.lost("UpdateRunner");
                            m.runners.get_mut(&id).unwrap().name.in_flight.push(name);
                            false
                        }
                    }
                }
                40..50 => {
                    let body = json!({"runnerId": id, "force": true});
                    match call(&http, &base, token, "RunnerService/DeleteRunner", body).await {
                        Reply::Ok(_) => {
                            let mut m = shared.model.lock().unwrap();
                            m.ack("DeleteRunner");
                            m.runners.get_mut(&id).unwrap().exists = Exists::No;
                            true
                        }
                        Reply::Refused(code, text) => panic!("DeleteRunner: {code}: {text}"),
                        Reply::Dead => {
                            let mut m = shared.model.lock().unwrap();
                            m.lost("DeleteRunner");
                            m.runners.get_mut(&id).unwrap().exists = Exists::Maybe;
                            false
                        }
                    }
                }
                50..70 => {
                    // A new exchange token, redeemed by the runner at once.
                    let body = json!({"runnerId": id});
                    match call(&http, &base, token, "RunnerService/CreateRunnerToken", body).await {
                        Reply::Ok(v) => {
                            shared.model.lock().unwrap().ack("CreateRunnerToken");
                            let exchange = v["exchangeToken"].as_str().unwrap().to_owned();
                            let body = json!({"exchangeToken": exchange});
                            match call(&http, &base, None, "IdentityService/ExchangeToken", body).await {
                                Reply::Ok(v) => {
                                    assert!(v["accessToken"].as_str().unwrap().starts_with("gpr_"), "{v}");
                                    let mut m = shared.model.lock().unwrap();
                                    m.ack("ExchangeToken");
                                    m.redeemed.push(exchange.clone());
                                    m.all_redeemed.push(exchange);
                                    // It spent the runner's other unused exchange tokens.
                                    let spent = m
                                        .runners
                                        .get_mut(&id)
                                        .map(|r| std::mem::take(&mut r.unredeemed))
                                        .unwrap_or_default();
                                    m.redeemed.extend(spent.iter().cloned());
                                    m.all_redeemed.extend(spent);
                                    true
                                }
                                Reply::Refused(code, text) => panic!("ExchangeToken: {code}: {text}"),
                                Reply::Dead => {
                                    let mut m = shared.model.lock().unwrap();
                                    m.lost("ExchangeToken");
                                    m.maybe_redeemed.push(exchange);
                                    // Spent with it, if it happened.
                                    let maybe = m
                                        .runners
                                        .get_mut(&id)
                                        .map(|r| std::mem::take(&mut r.unredeemed))
                                        .unwrap_or_default();
                                    m.maybe_redeemed.extend(maybe);
                                    false
                                }
                            }
                        }
                        Reply::Refused(code, text) => panic!("CreateRunnerToken: {code}: {text}"),
                        Reply::Dead => {
                            shared.model.lock().unwrap().lost("CreateRunnerToken");
                            false
                        }
                    }
                }
                _ => {
                    let group = shared.groups[rng.below(GROUPS as u64) as usize].clone();
                    let current =
                        shared.model.lock().unwrap().runners[&id].policies.get(&group).map(|k| k.acked.clone());
                    let role = ROLES[rng.below(2) as usize].to_owned();
                    let (method, body, after) = match current.flatten() {
                        None => {
                            ("CreateRunnerPolicy", json!({"runnerId": id, "groupId": group, "role": role}), Some(role))
                        }
                        Some(_) if rng.below(3) == 0 => {
                            ("DeleteRunnerPolicy", json!({"runnerId": id, "groupId": group}), None)
                        }
                        Some(_) => {
                            ("UpdateRunnerPolicy", json!({"runnerId": id, "groupId": group, "role": role}), Some(role))
                        }
                    };
                    let reply = call(&http, &base, token, &format!("RunnerService/{method}"), body).await;
                    let mut m = shared.model.lock().unwrap();
                    let policy =
                        m.runners.get_mut(&id).unwrap().policies.entry(group).or_insert_with(|| Known::new(None));
                    match reply {
                        Reply::Ok(_) => {
                            policy.ack(after);
                            m.ack(method);
                            true
                        }
                        Reply::Refused(code, text) => panic!("{method}: {code}: {text}"),
                        Reply::Dead => {
                            policy.in_flight.push(after);
                            m.lost(method);
                            false
                        }
                    }
                }
            }
        };
        if !alive {
            // The server is gone: wait, parked, for the next one (the checks run meanwhile).
            shared.parked.fetch_add(1, Ordering::SeqCst);
            while base_rx.borrow().0 == generation && !shared.stop.load(Ordering::SeqCst) {
                let _ = tokio::time::timeout(Duration::from_millis(50), base_rx.changed()).await;
            }
            shared.parked.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

/// The database file, checked offline after a kill: structurally sound, no dangling rows,
/// no runner without the exchange token written in its transaction, no redeemed exchange token
/// without the access token it was traded for.
async fn check_file(db: &str) {
    let mut conn = sqlx::SqliteConnection::connect(db).await.unwrap();
    let integrity: Vec<(String,)> = sqlx::query_as("PRAGMA integrity_check").fetch_all(&mut conn).await.unwrap();
    assert_eq!(integrity, vec![("ok".to_owned(),)], "integrity_check");
    let dangling: Vec<(String, i64, String, i64)> =
        sqlx::query_as("PRAGMA foreign_key_check").fetch_all(&mut conn).await.unwrap();
    assert!(dangling.is_empty(), "foreign_key_check: {dangling:?}");
    let half: Vec<(String,)> = sqlx::query_as(
        "SELECT id FROM runners r WHERE kind <> 'local_configuration' AND NOT EXISTS \
         (SELECT 1 FROM runner_tokens t WHERE t.runner_id = r.id AND t.kind = 'exchange')",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    assert!(half.is_empty(), "runners without their exchange token: {half:?}");
    // Nothing here refreshes access tokens, so each one was traded for one exchange token (its
    // session), and each redeemed one bought one: one redeemed, not spent by another's
    // redemption, which sets `used_at` and `superseded_at` at once.
    let unpaired: Vec<(String, i64)> = sqlx::query_as(
        "SELECT e.runner_id, (SELECT COUNT(*) FROM runner_tokens a WHERE a.kind = 'access' AND a.session = e.hash) \
         FROM runner_tokens e WHERE e.kind = 'exchange' AND e.used_at IS NOT NULL \
         AND (e.superseded_at IS NULL OR e.superseded_at <> e.used_at)",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap()
    .into_iter()
    .filter(|(_, access)| *access != 1)
    .collect();
    assert!(unpaired.is_empty(), "redeemed exchange tokens without one access token (runner, access): {unpaired:?}");
    let orphans: Vec<(String,)> = sqlx::query_as(
        "SELECT a.runner_id FROM runner_tokens a WHERE a.kind = 'access' AND NOT EXISTS \
         (SELECT 1 FROM runner_tokens e WHERE e.kind = 'exchange' AND e.hash = a.session AND e.used_at IS NOT NULL)",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    assert!(orphans.is_empty(), "access tokens without the redeemed exchange token they were traded for: {orphans:?}");
    conn.close().await.unwrap();
}

/// The API, checked against the model after a restart (every client parked). Settles every
/// in-flight outcome, so that the model is exact again.
async fn check_api(http: &reqwest::Client, base: &str, shared: &Shared, last: bool) {
    let token = Some(shared.token.as_str());
    // Every client is parked: the model is the checker's until it is put back.
    let mut model = std::mem::take(&mut *shared.model.lock().unwrap());
    let m = &mut model;

    // Everything listed was asked for; in-flight creates happened whole or not at all.
    let mut listed: HashMap<String, String> = HashMap::new();
    let mut page = String::new();
    loop {
        let body = json!({"pagination": {"pageSize": 100, "token": page}});
        let Reply::Ok(v) = call(http, base, token, "RunnerService/ListRunners", body).await else { panic!("list") };
        for r in v["runners"].as_array().into_iter().flatten() {
            listed.insert(r["runnerId"].as_str().unwrap().to_owned(), r["name"].as_str().unwrap().to_owned());
        }
        page = v["pagination"]["nextToken"].as_str().unwrap_or_default().to_owned();
        if page.is_empty() {
            break;
        }
    }
    for (owner, name) in std::mem::take(&mut m.pending_creates) {
        let found: Vec<&String> = listed.iter().filter(|(_, n)| **n == name).map(|(id, _)| id).collect();
        assert!(found.len() <= 1, "in-flight create {name:?} happened {} times", found.len());
        if let Some(id) = found.first() {
            // Created whole: the runner with its exchange token (checked on the file), and
            // nothing else yet. Its token's plaintext never reached the client.
            m.runners.insert(
                (*id).clone(),
                RunnerRec {
                    owner,
                    exists: Exists::Yes,
                    name: Known::new(name),
                    policies: HashMap::new(),
                    unredeemed: Vec::new(),
                },
            );
        }
    }
    for id in listed.keys() {
        assert!(m.runners.contains_key(id), "runner {id} ({:?}) was never created by a client", listed[id]);
    }

    let mut ids: Vec<String> = m.runners.keys().cloned().collect();
    ids.sort();
    for id in ids {
        let rec = m.runners.get_mut(&id).unwrap();
        if rec.exists == Exists::No && !last {
            // Confirmed gone at an earlier check (ListRunners above would show it back); the
            // final check asks again.
            continue;
        }
        let found = match call(http, base, token, "RunnerService/GetRunner", json!({"runnerId": id})).await {
            Reply::Ok(v) => Some(v["runner"]["name"].as_str().unwrap().to_owned()),
            Reply::Refused(code, _) if code == "not_found" => None,
            Reply::Refused(code, text) => panic!("GetRunner: {code}: {text}"),
            Reply::Dead => panic!("the server died"),
        };
        assert_eq!(found.is_some(), listed.contains_key(&id), "GetRunner and ListRunners agree on {id}");
        match (rec.exists, &found) {
            (Exists::Yes, None) => panic!("acknowledged runner {id} ({:?}) is gone", rec.name),
            (Exists::No, Some(_)) => panic!("runner {id} is back after an acknowledged delete"),
            _ => {}
        }
        let Some(name) = found else {
            rec.exists = Exists::No;
            continue;
        };
        rec.exists = Exists::Yes;
        rec.name.settle(name, &format!("name of {id}"));

        let body = json!({"runnerId": id, "pagination": {"pageSize": 100}});
        let Reply::Ok(v) = call(http, base, token, "RunnerService/ListRunnerPolicies", body).await else {
            panic!("ListRunnerPolicies")
        };
        let mut actual: HashMap<String, String> = HashMap::new();
        for p in v["policies"].as_array().into_iter().flatten() {
            actual.insert(p["groupId"].as_str().unwrap().to_owned(), p["role"].as_str().unwrap().to_owned());
        }
        for group in actual.keys() {
            assert!(rec.policies.contains_key(group), "policy of group {group} on {id} was never created");
        }
        for (group, known) in rec.policies.iter_mut() {
            known.settle(actual.get(group).cloned(), &format!("policy of {group} on {id}"));
        }

        // Tokens minted with acknowledged creates redeem exactly once.
        for exchange in std::mem::take(&mut rec.unredeemed) {
            let body = json!({"exchangeToken": exchange});
            match call(http, base, None, "IdentityService/ExchangeToken", body).await {
                Reply::Ok(v) => assert!(v["accessToken"].as_str().is_some_and(|t| t.starts_with("gpr_")), "{v}"),
                Reply::Refused(code, text) => {
                    panic!("acknowledged exchange token of {id} does not redeem: {code} {text}")
                }
                Reply::Dead => panic!("the server died"),
            }
            m.redeemed.push(exchange.clone());
            m.all_redeemed.push(exchange);
        }
    }

    // A redemption in flight happened or not; either way it is spent now.
    for exchange in std::mem::take(&mut m.maybe_redeemed) {
        let body = json!({"exchangeToken": exchange});
        match call(http, base, None, "IdentityService/ExchangeToken", body).await {
            Reply::Ok(_) => {}
            Reply::Refused(code, _) if code == "unauthenticated" => {}
            Reply::Refused(code, text) => panic!("ExchangeToken: {code} {text}"),
            Reply::Dead => panic!("the server died"),
        }
        m.redeemed.push(exchange.clone());
        m.all_redeemed.push(exchange);
    }
    // Acknowledged redemptions stay spent.
    let spent = if last { m.all_redeemed.clone() } else { std::mem::take(&mut m.redeemed) };
    for exchange in spent {
        let body = json!({"exchangeToken": exchange});
        match call(http, base, None, "IdentityService/ExchangeToken", body).await {
            Reply::Refused(code, _) if code == "unauthenticated" => {}
            Reply::Ok(v) => panic!("a redeemed exchange token was redeemed again: {v}"),
            Reply::Refused(code, text) => panic!("ExchangeToken: {code} {text}"),
            Reply::Dead => panic!("the server died"),
        }
    }
    *shared.model.lock().unwrap() = model;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkill_loses_no_acknowledged_write_and_leaves_no_half_write() {
    let started = Instant::now();
    let seed = std::env::var("CRASH_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64 | 1
    });
    println!("CRASH_SEED={seed}");
    let mut rng = Rng(seed);

    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("db.sqlite").display());
    let key = dir.path().join("server.key");
    // An empty database (what the server's first start would create, without its organization),
    // so that the admin commands set up the one organization.
    drop(runner_store::open(&db).await.unwrap());
    admin(bin(), &db, &["create-org", "acme"]);
    let user = admin(bin(), &db, &["create-user", "--org", "acme", "root", "--role", "admin"]);
    let user_id = user.split_whitespace().nth(1).unwrap().to_owned();
    let issued = admin(bin(), &db, &["issue-token", "--member", &user_id, "--description", "crash test"]);
    let token = issued.split_whitespace().nth(1).unwrap().to_owned();
    let groups: Vec<String> = (0..GROUPS)
        .map(|g| {
            admin(bin(), &db, &["create-group", "--org", "acme", &format!("group {g}")])
                .split_whitespace()
                .nth(1)
                .unwrap()
                .to_owned()
        })
        .collect();

    let mut server = start(dir.path(), &db, &key);
    let (base, _) = tokio::sync::watch::channel((0, server.url.clone()));
    let shared = Arc::new(Shared {
        model: Mutex::default(),
        base,
        parked: AtomicUsize::new(0),
        stop: AtomicBool::new(false),
        token,
        groups,
    });
    let workers: Vec<_> = (0..WORKERS).map(|w| tokio::spawn(worker(w, seed, shared.clone()))).collect();
    let checker = reqwest::Client::builder().timeout(Duration::from_secs(20)).build().unwrap();

    for kill in 1..=KILLS {
        tokio::time::sleep(Duration::from_millis(100 + rng.below(900))).await;
        server.kill();
        // Every client notices and parks; a panicking one fails the test here.
        let deadline = Instant::now() + Duration::from_secs(30);
        while shared.parked.load(Ordering::SeqCst) < WORKERS {
            if let Some(done) = workers.iter().position(|w| w.is_finished()) {
                panic!("worker {done} stopped: see its panic above");
            }
            assert!(Instant::now() < deadline, "clients did not notice the kill");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        check_file(&db).await;
        server = start(dir.path(), &db, &key);
        check_api(&checker, &server.url, &shared, kill == KILLS).await;
        if kill < KILLS {
            shared.base.send_replace((kill as u64, server.url.clone()));
        }
    }
    shared.stop.store(true, Ordering::SeqCst);
    for w in workers {
        w.await.unwrap();
    }
    server.kill();
    check_file(&db).await;

    let m = shared.model.lock().unwrap();
    let sorted = |c: &HashMap<&'static str, usize>| {
        let mut v: Vec<_> = c.iter().map(|(k, n)| format!("{k} {n}")).collect();
        v.sort();
        v.join(", ")
    };
    let live = m.runners.values().filter(|r| r.exists == Exists::Yes).count();
    println!(
        "{KILLS} kills in {:.1} s; acknowledged: {}; in flight at a kill: {}; runners alive at the end: {live}",
        started.elapsed().as_secs_f64(),
        sorted(&m.counts.acked),
        sorted(&m.counts.in_flight),
    );
    assert!(m.counts.acked.values().sum::<usize>() > 200, "the workload ran");
}
