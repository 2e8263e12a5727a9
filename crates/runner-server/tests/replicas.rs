//! Two server processes on one PostgreSQL database, as two replicas behind a load balancer:
//! read-your-writes across them, concurrent updates through both, one exchange token redeemed
//! on both at once, and a replica killed with SIGKILL in a write burst losing nothing it
//! acknowledged. (Prints one SKIPPED line where no PostgreSQL is reachable; CI requires it.)

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

use runner_store::testing::PgSchema;
use serde_json::{Value, json};

struct Replica {
    child: Child,
    url: String,
    /// Printed by the first replica on an empty database.
    admin_token: Option<String>,
}

impl Replica {
    fn start(database_url: &str, key_file: &Path) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_runner-server"))
            .args(["--listen", "127.0.0.1:0", "--database-url", database_url])
            .arg("--key-file")
            .arg(key_file)
            .env_remove("RUNNER_SERVER_KEY")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let (mut url, mut admin_token) = (String::new(), None);
        for line in BufReader::new(child.stdout.take().unwrap()).lines() {
            let line = line.unwrap();
            if let Some(t) = line.strip_prefix("admin token (shown once): ") {
                admin_token = Some(t.to_owned());
            }
            if let Some(u) = line.strip_prefix("listening on ") {
                url = u.to_owned();
                break;
            }
        }
        assert!(!url.is_empty(), "the replica did not start");
        Self { child, url, admin_token }
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
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
    let Some(schema) = PgSchema::create("postgres_replica_processes_share_one_database").await else { return };
    let database_url = format!("{}?options=-c%20search_path%3D{}", runner_store::testing::postgres_url(), schema.name);
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("server.key");
    let mut a = Replica::start(&database_url, &key);
    let b = Replica::start(&database_url, &key);
    let api = Api { http: reqwest::Client::new(), token: a.admin_token.clone().expect("first start") };
    assert!(b.admin_token.is_none(), "the second replica finds the organization");

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
    a.child.kill().unwrap(); // SIGKILL
    a.child.wait().unwrap();
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
