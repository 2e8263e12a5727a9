//! End to end: a real server, the real agent binary, an admin calling over Connect JSON.
//!
//! 1. An admin creates a runner; the agent starts with its exchange token and the runner is
//!    ACTIVE with its public key, version and capabilities visible.
//! 2. Replaying the exchange token fails.
//! 3. The agent opens the OAuth client secret, the host token and the metrics password sealed
//!    to it (it logs their fingerprints, never the values).
//! 4. The server restarts; the agent reconnects.
//! 5. A normal delete passes through DELETING to not_found, and the agent exits 0.
//! 6. A force delete of a second runner is immediate.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use runner_core::accounts::Accounts;
use runner_server::{AppState, MountOptions, Server, app};
use serde_json::{Value, json};
use tokio::net::TcpListener;

const KEY: [u8; 32] = [7; 32];
const WAIT: Duration = Duration::from_secs(15);

async fn start_server(db: &Path, port: u16) -> Server {
    let store = runner_store::open(&format!("sqlite://{}", db.display())).await.unwrap();
    let state = AppState::new(store, &KEY, "http://127.0.0.1");
    // The port of the previous run may take a moment to be free again.
    let deadline = Instant::now() + WAIT;
    let listener = loop {
        match TcpListener::bind(("127.0.0.1", port)).await {
            Ok(l) => break l,
            Err(e) if Instant::now() < deadline => {
                eprintln!("bind {port}: {e}; retrying");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("cannot bind {port}: {e}"),
        }
    };
    Server::start(listener, app(state, &MountOptions::default())).unwrap()
}

/// Connect JSON calls as the organization admin.
struct Api {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Api {
    async fn call(&self, path: &str, body: Value) -> (u16, Value) {
        let response =
            self.http.post(format!("{}{path}", self.base)).bearer_auth(&self.token).json(&body).send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn ok(&self, path: &str, body: Value) -> Value {
        let (status, value) = self.call(path, body).await;
        assert_eq!(status, 200, "{path}: {value}");
        value
    }

    /// GetRunner: `None` once the runner is gone.
    async fn runner(&self, id: &str) -> Option<Value> {
        let (status, value) = self.call("/gitpod.v1.RunnerService/GetRunner", json!({"runnerId": id})).await;
        match status {
            200 => Some(value["runner"].clone()),
            404 => {
                assert_eq!(value["code"], "not_found");
                None
            }
            other => panic!("GetRunner: {other} {value}"),
        }
    }
}

/// The agent process and the file its log goes to.
struct AgentProcess {
    child: Child,
    log: PathBuf,
    state: PathBuf,
}

impl AgentProcess {
    fn start(dir: &Path, name: &str, base: &str, runner_id: &str, exchange_token: &str) -> Self {
        let log = dir.join(format!("{name}.log"));
        let state = dir.join(format!("{name}-state"));
        let file = std::fs::File::create(&log).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_runner-agent"))
            .args(["--api-url", base, "--runner-id", runner_id, "--heartbeat-seconds", "0.3"])
            .args(["--max-backoff-seconds", "0.5", "--state-dir"])
            .arg(&state)
            .env("RUNNER_EXCHANGE_TOKEN", exchange_token)
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .stdout(Stdio::from(file.try_clone().unwrap()))
            .stderr(Stdio::from(file))
            .spawn()
            .unwrap();
        Self { child, log, state }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    async fn wait_for_log(&self, needle: &str) {
        eventually(&format!("agent log line {needle:?}"), || async { self.log().contains(needle).then_some(()) }).await;
    }

    async fn exit_code(&mut self) -> Option<i32> {
        let deadline = Instant::now() + WAIT;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the agent did not exit; log:\n{}", self.log())
    }

    fn signal(&self, signal: &str) {
        let ok = Command::new("kill").args([signal, &self.child.id().to_string()]).status().unwrap().success();
        assert!(ok, "kill {signal}");
    }
}

impl Drop for AgentProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls `f` until it gives a value, for at most [`WAIT`].
async fn eventually<T, F, Fut>(what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + WAIT;
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn wait_for_phase(api: &Api, id: &str, phase: &str) -> Value {
    eventually(&format!("runner {id} in {phase}"), || async {
        api.runner(id).await.filter(|r| r["status"]["phase"] == phase)
    })
    .await
}

/// What the agent logs for a secret it opened: never the secret.
fn fingerprint(secret: &str) -> String {
    runner_agent::agent::fingerprint(secret.as_bytes())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_runner_from_creation_to_deletion() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("runners.db");
    let store = runner_store::open(&format!("sqlite://{}", db.display())).await.unwrap();
    let (_, admin, admin_token) = Accounts::new(store).bootstrap().await.unwrap().unwrap();
    let server = start_server(&db, 0).await;
    let base = server.base_url();
    let port: u16 = base.rsplit(':').next().unwrap().parse().unwrap();
    let api = Api { http: reqwest::Client::new(), base: base.clone(), token: admin_token.token };

    // 1. Created over Connect JSON; the agent brings it to ACTIVE.
    let created = api
        .ok(
            "/gitpod.v1.RunnerService/CreateRunner",
            json!({"name": "e2e runner", "provider": "RUNNER_PROVIDER_GCP", "spec": {"configuration": {"region": "europe-west1"}}}),
        )
        .await;
    let runner_id = created["runner"]["runnerId"].as_str().unwrap().to_owned();
    let exchange_token = created["exchangeToken"].as_str().unwrap().to_owned();
    assert_eq!(created["runner"]["status"]["phase"], "RUNNER_PHASE_CREATED");
    let mut agent = AgentProcess::start(dir.path(), "agent", &base, &runner_id, &exchange_token);
    let active = wait_for_phase(&api, &runner_id, "RUNNER_PHASE_ACTIVE").await;
    let status = &active["status"];
    let public_key = base64_decode(status["publicKey"].as_str().unwrap());
    assert_eq!(public_key.len(), 32);
    assert!(status["version"].as_str().unwrap().starts_with("reference-agent/"), "{status}");
    assert_eq!(status["capabilities"], json!(["RUNNER_CAPABILITY_FETCH_LOCAL_SCM_INTEGRATIONS"]));
    let key_file = agent.state.join("runner.key");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&key_file).unwrap().permissions().mode() & 0o777, 0o600);
    }
    let schema = api
        .ok("/gitpod.v1.RunnerConfigurationService/GetRunnerConfigurationSchema", json!({"runnerId": runner_id}))
        .await;
    assert_eq!(schema["schema"]["version"], "reference-agent-1");

    // 2. The exchange token was used up.
    let anonymous = reqwest::Client::new();
    let replay = anonymous
        .post(format!("{base}/gitpod.v1.IdentityService/ExchangeToken"))
        .json(&json!({"exchangeToken": exchange_token}))
        .send()
        .await
        .unwrap();
    assert_eq!(replay.status().as_u16(), 401);
    assert_eq!(replay.json::<Value>().await.unwrap()["code"], "unauthenticated");

    // 3. Secrets sealed to the runner: the agent opens exactly what was sent.
    let client_secret = "oauth-client-secret-e2e-4242";
    api.ok(
        "/gitpod.v1.RunnerConfigurationService/CreateSCMIntegration",
        json!({"runnerId": runner_id, "scmId": "github", "host": "github.com", "oauthClientId": "client-e2e",
               "oauthPlaintextClientSecret": client_secret, "pat": true}),
    )
    .await;
    agent.wait_for_log(&fingerprint(client_secret)).await;
    let host_token = "gho_e2e_host_token_value";
    api.ok(
        "/gitpod.v1.RunnerConfigurationService/CreateHostAuthenticationToken",
        json!({"runnerId": runner_id, "host": "github.com", "token": host_token, "refreshToken": "ghr_e2e_refresh",
               "source": "HOST_AUTHENTICATION_TOKEN_SOURCE_OAUTH",
               "subject": {"id": admin.id.to_string(), "principal": "PRINCIPAL_USER"}}),
    )
    .await;
    agent.wait_for_log(&fingerprint(host_token)).await;
    api.ok(
        "/gitpod.v1.RunnerService/UpdateRunner",
        json!({"runnerId": runner_id, "spec": {"configuration": {"metrics": {"password": "metrics-e2e-pw"}}}}),
    )
    .await;
    agent.wait_for_log(&fingerprint("metrics-e2e-pw")).await;

    // 4. The server goes away and comes back on the same port and database.
    server.shutdown().await.unwrap();
    agent.wait_for_log("server unreachable; retrying").await;
    let server = start_server(&db, port).await;
    let seen = api.runner(&runner_id).await.unwrap()["status"]["updatedAt"].clone();
    eventually("a heartbeat to the restarted server", || async {
        api.runner(&runner_id)
            .await
            .filter(|r| r["status"]["updatedAt"] != seen && r["status"]["phase"] == "RUNNER_PHASE_ACTIVE")
    })
    .await;
    eventually("the agent to log its reconnection", || async {
        (agent.log().matches("reported ACTIVE").count() >= 2).then_some(())
    })
    .await;

    // 5. A normal delete waits for the agent: DELETING (while the agent is paused), then gone.
    agent.signal("-STOP");
    api.ok("/gitpod.v1.RunnerService/DeleteRunner", json!({"runnerId": runner_id})).await;
    assert_eq!(api.runner(&runner_id).await.unwrap()["status"]["phase"], "RUNNER_PHASE_DELETING");
    agent.signal("-CONT");
    eventually("the runner to be gone", || async { api.runner(&runner_id).await.is_none().then_some(()) }).await;
    assert_eq!(agent.exit_code().await, Some(0), "{}", agent.log());
    assert!(agent.log().contains("deletion acknowledged"));
    assert!(!key_file.exists(), "the agent forgets its key once deleted");

    // 6. A force delete does not wait.
    let second = api
        .ok("/gitpod.v1.RunnerService/CreateRunner", json!({"name": "second", "provider": "RUNNER_PROVIDER_GCP"}))
        .await;
    let second_id = second["runner"]["runnerId"].as_str().unwrap().to_owned();
    let mut second_agent =
        AgentProcess::start(dir.path(), "second", &base, &second_id, second["exchangeToken"].as_str().unwrap());
    wait_for_phase(&api, &second_id, "RUNNER_PHASE_ACTIVE").await;
    api.ok("/gitpod.v1.RunnerService/DeleteRunner", json!({"runnerId": second_id, "force": true})).await;
    assert!(api.runner(&second_id).await.is_none());
    assert_eq!(second_agent.exit_code().await, Some(1));
    assert!(second_agent.log().contains("the access token was refused"), "{}", second_agent.log());

    // No secret was ever logged.
    for log in [agent.log(), second_agent.log()] {
        for secret in [client_secret, host_token, "ghr_e2e_refresh", "metrics-e2e-pw", exchange_token.as_str(), "gpr_"]
        {
            assert!(!log.contains(secret), "the agent logged a secret: {secret}");
        }
    }
    server.shutdown().await.unwrap();
}

fn base64_decode(s: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.decode(s).unwrap()
}
