//! End to end: the real server (the test kit's, set up by the binary's own code), the real agent
//! binary, and users calling over Connect JSON.
//!
//! - `a_runner_from_creation_to_deletion`: an admin creates a runner; the agent starts with its
//!   exchange token and the runner is ACTIVE with its public key, version, capabilities and the
//!   region it was configured with; the exchange token is spent; the agent opens the OAuth
//!   client secret, the host token and the metrics password sealed to it (logging fingerprints,
//!   never values); the server restarts and the agent reconnects; a normal delete passes through
//!   DELETING to not_found and the agent exits 0; a force delete of a second runner is
//!   immediate.
//! - `new_configuration_reaches_the_agent_within_a_second`: with heartbeats ten minutes apart,
//!   new SCM integrations and a new host token reach the agent through its configuration watch
//!   (WatchEvents) in under a second each, without a heartbeat.
//! - `a_wrong_runner_id_uses_nothing_up`: a malformed or wrong `--runner-id` is refused before
//!   the exchange token is redeemed, so the corrected command works.
//! - `a_new_sign_up_takes_the_runner_over`: a second agent with a new exchange token takes the
//!   runner over; the first is told and exits; older unused exchange tokens are spent.
//! - `oauth_from_authorization_to_a_parsed_context_url`: CheckAuthenticationForHost's OAuth URL,
//!   followed through the fake providers' authorization pages to the agent's callback, gives the
//!   user a host token with which ParseContextURL reads their private repository.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use runner_core::scm::provider::ScmKind;
use runner_scm::fake::{self, FakeScm};
use runner_testkit::TestServer;
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(15);

/// Connect JSON calls as one user.
struct Api<'a> {
    server: &'a TestServer,
    token: String,
}

impl Api<'_> {
    async fn call(&self, path: &str, body: Value) -> (u16, Value) {
        self.server.post_json_as(&self.token, path, body).await
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

    /// A new runner: its id and exchange token.
    async fn create_runner(&self, name: &str, region: &str) -> (String, String) {
        let created = self
            .ok(
                "/gitpod.v1.RunnerService/CreateRunner",
                json!({"name": name, "provider": "RUNNER_PROVIDER_GCP", "spec": {"configuration": {"region": region}}}),
            )
            .await;
        assert_eq!(created["runner"]["status"]["phase"], "RUNNER_PHASE_CREATED");
        (
            created["runner"]["runnerId"].as_str().unwrap().to_owned(),
            created["exchangeToken"].as_str().unwrap().to_owned(),
        )
    }

    /// Another exchange token for a runner (CreateRunnerToken).
    async fn new_exchange_token(&self, runner_id: &str) -> String {
        let minted = self.ok("/gitpod.v1.RunnerService/CreateRunnerToken", json!({"runnerId": runner_id})).await;
        minted["exchangeToken"].as_str().unwrap().to_owned()
    }
}

fn admin(server: &TestServer) -> Api<'_> {
    Api { server, token: server.admin_token.clone() }
}

/// The agent process and the file its log goes to.
struct AgentProcess {
    child: Child,
    log: PathBuf,
    state: PathBuf,
}

impl AgentProcess {
    /// `runner-agent --api-url … --runner-id … --state-dir DIR/NAME-state` with fast timings,
    /// the exchange token in the environment, and `extra` flags.
    fn start(dir: &Path, name: &str, base: &str, runner_id: &str, exchange_token: &str, extra: &[&str]) -> Self {
        Self::start_with_heartbeat(dir, name, base, runner_id, exchange_token, "0.3", extra)
    }

    /// [`Self::start`] with heartbeats `heartbeat_seconds` apart.
    fn start_with_heartbeat(
        dir: &Path,
        name: &str,
        base: &str,
        runner_id: &str,
        exchange_token: &str,
        heartbeat_seconds: &str,
        extra: &[&str],
    ) -> Self {
        let log = dir.join(format!("{name}.log"));
        let state = dir.join(format!("{name}-state"));
        let file = std::fs::File::create(&log).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_runner-agent"))
            .args(["--api-url", base, "--runner-id", runner_id, "--heartbeat-seconds", heartbeat_seconds])
            .args(["--max-backoff-seconds", "0.5", "--state-dir"])
            .arg(&state)
            .args(extra)
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

    /// The secret key file the agent keeps.
    fn key_file(&self) -> PathBuf {
        self.state.join("runner.key")
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

async fn wait_for_phase(api: &Api<'_>, id: &str, phase: &str) -> Value {
    eventually(&format!("runner {id} in {phase}"), || async {
        api.runner(id).await.filter(|r| r["status"]["phase"] == phase)
    })
    .await
}

/// What the agent logs for a secret it opened: never the secret.
fn fingerprint(secret: &str) -> String {
    runner_agent::agent::fingerprint(secret.as_bytes())
}

/// ExchangeToken without credentials: the HTTP status and the Connect code.
async fn redeem(server: &TestServer, exchange_token: &str) -> (u16, Value) {
    server.post_json_as("", "/gitpod.v1.IdentityService/ExchangeToken", json!({"exchangeToken": exchange_token})).await
}

fn assert_no_secrets(log: &str, secrets: &[&str]) {
    for secret in secrets {
        assert!(!log.contains(secret), "the agent logged a secret: {secret}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_runner_from_creation_to_deletion() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start().await;
    let base = server.url();
    let api = admin(&server);

    // 1. Created over Connect JSON; the agent brings it to ACTIVE, reporting the region the
    //    runner was configured with, since it is not told where it runs.
    let (runner_id, exchange_token) = api.create_runner("e2e runner", "europe-west1").await;
    let mut agent = AgentProcess::start(dir.path(), "agent", &base, &runner_id, &exchange_token, &[]);
    let active = wait_for_phase(&api, &runner_id, "RUNNER_PHASE_ACTIVE").await;
    let status = &active["status"];
    assert_eq!(base64_decode(status["publicKey"].as_str().unwrap()).len(), 32);
    assert!(status["version"].as_str().unwrap().starts_with("reference-agent/"), "{status}");
    assert_eq!(status["capabilities"], json!(["RUNNER_CAPABILITY_FETCH_LOCAL_SCM_INTEGRATIONS"]));
    assert_eq!(status["region"], "europe-west1", "{status}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(agent.key_file()).unwrap().permissions().mode() & 0o777, 0o600);
    }
    let schema = api
        .ok("/gitpod.v1.RunnerConfigurationService/GetRunnerConfigurationSchema", json!({"runnerId": runner_id}))
        .await;
    assert_eq!(schema["schema"]["version"], "reference-agent-1");
    // Without --public-url the agent serves no OAuth callbacks, so its SCMs offer no OAuth.
    let scms = schema["schema"]["scm"].as_array().unwrap();
    assert!(scms.iter().all(|s| s.get("oauth").is_none()), "{scms:?}");
    assert!(scms.iter().all(|s| s.get("pat").is_some()), "{scms:?}");

    // 2. The exchange token was used up.
    let (status, replay) = redeem(&server, &exchange_token).await;
    assert_eq!((status, replay["code"].as_str()), (401, Some("unauthenticated")));

    // 3. Secrets sealed to the runner: the agent opens exactly what was sent. Its schema offers
    //    no OAuth without a callback server, so an OAuth client is refused.
    let github = json!({"runnerId": runner_id, "scmId": "github", "host": "github.com", "pat": true});
    let mut with_oauth = github.clone();
    with_oauth["oauthClientId"] = json!("client-e2e");
    with_oauth["oauthPlaintextClientSecret"] = json!("oauth-client-secret-e2e-4242");
    let (status, refused) = api.call("/gitpod.v1.RunnerConfigurationService/CreateSCMIntegration", with_oauth).await;
    assert_eq!((status, refused["code"].as_str()), (400, Some("invalid_argument")), "{refused}");
    api.ok("/gitpod.v1.RunnerConfigurationService/CreateSCMIntegration", github).await;
    let host_token = "gho_e2e_host_token_value";
    api.ok(
        "/gitpod.v1.RunnerConfigurationService/CreateHostAuthenticationToken",
        json!({"runnerId": runner_id, "host": "github.com", "token": host_token, "refreshToken": "ghr_e2e_refresh",
               "source": "HOST_AUTHENTICATION_TOKEN_SOURCE_PAT",
               "subject": {"id": server.admin_id.to_string(), "principal": "PRINCIPAL_USER"}}),
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
    let stopped = server.stop().await;
    agent.wait_for_log("server unreachable; retrying").await;
    let server = stopped.start().await;
    let api = admin(&server);
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
    assert!(!agent.key_file().exists(), "the agent forgets its key once deleted");

    // 6. A force delete does not wait. This agent says where it runs: that region is reported.
    let (second_id, second_token) = api.create_runner("second", "europe-west1").await;
    let mut second_agent =
        AgentProcess::start(dir.path(), "second", &base, &second_id, &second_token, &["--region", "europe-west4"]);
    let active = wait_for_phase(&api, &second_id, "RUNNER_PHASE_ACTIVE").await;
    assert_eq!(active["status"]["region"], "europe-west4");
    assert_eq!(active["spec"]["configuration"]["region"], "europe-west1");
    api.ok("/gitpod.v1.RunnerService/DeleteRunner", json!({"runnerId": second_id, "force": true})).await;
    assert!(api.runner(&second_id).await.is_none());
    assert_eq!(second_agent.exit_code().await, Some(1));
    assert!(second_agent.log().contains("the access token was refused"), "{}", second_agent.log());

    // No secret was ever logged.
    for log in [agent.log(), second_agent.log()] {
        let secrets = [host_token, "ghr_e2e_refresh", "metrics-e2e-pw", &exchange_token, "gpr_"];
        assert_no_secrets(&log, &secrets);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_configuration_reaches_the_agent_within_a_second() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start().await;
    let api = admin(&server);
    let (runner_id, exchange_token) = api.create_runner("watching runner", "europe-west1").await;
    // Heartbeats ten minutes apart: only the configuration watch can bring the integration sooner.
    let agent =
        AgentProcess::start_with_heartbeat(dir.path(), "agent", &server.url(), &runner_id, &exchange_token, "600", &[]);
    let active = wait_for_phase(&api, &runner_id, "RUNNER_PHASE_ACTIVE").await;
    agent.wait_for_log("watching the runner's configuration for changes").await;
    // A runner's configuration is read at its first heartbeat: none yet.
    agent.wait_for_log("reported ACTIVE").await;
    assert!(!agent.log().contains("SCM integration available"), "{}", agent.log());

    for (scm, host) in [("github", "github.com"), ("gitlab", "gitlab.com")] {
        let started = Instant::now();
        let created = api
            .ok(
                "/gitpod.v1.RunnerConfigurationService/CreateSCMIntegration",
                json!({"runnerId": runner_id, "scmId": scm, "host": host, "pat": true}),
            )
            .await;
        let id = created["id"].as_str().unwrap().to_owned();
        eventually(&format!("the agent to see the {host} integration"), || async {
            agent.log().lines().any(|l| l.contains("SCM integration available") && l.contains(&id)).then_some(())
        })
        .await;
        let took = started.elapsed();
        assert!(took < Duration::from_secs(1), "the {host} integration reached the agent after {took:?}");
    }
    // A host token of a user for one of them: its value is fetched and opened as soon.
    let started = Instant::now();
    let host_token = "gho_watched_host_token_value";
    api.ok(
        "/gitpod.v1.RunnerConfigurationService/CreateHostAuthenticationToken",
        json!({"runnerId": runner_id, "host": "github.com", "token": host_token,
               "source": "HOST_AUTHENTICATION_TOKEN_SOURCE_PAT",
               "subject": {"id": server.admin_id.to_string(), "principal": "PRINCIPAL_USER"}}),
    )
    .await;
    agent.wait_for_log(&fingerprint(host_token)).await;
    let took = started.elapsed();
    assert!(took < Duration::from_secs(1), "the host token reached the agent after {took:?}");
    assert_no_secrets(&agent.log(), &[host_token]);
    // Both came through the watch: there was no second heartbeat (a status report moves the
    // status's updatedAt).
    let now = api.runner(&runner_id).await.unwrap();
    assert_eq!(now["status"]["updatedAt"], active["status"]["updatedAt"], "{now}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_runner_id_uses_nothing_up() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start().await;
    let (base, api) = (server.url(), admin(&server));
    let (runner_id, exchange_token) = api.create_runner("typo", "europe-west1").await;
    let (other_id, _) = api.create_runner("another", "europe-west1").await;

    // A runner id with a typo is not a runner id at all.
    let mut typo = AgentProcess::start(dir.path(), "typo", &base, &format!("{runner_id}x"), &exchange_token, &[]);
    assert_eq!(typo.exit_code().await, Some(2), "{}", typo.log());
    assert!(typo.log().contains("is not a runner id"), "{}", typo.log());
    // Another runner's id: refused before the exchange token is redeemed.
    let mut wrong = AgentProcess::start(dir.path(), "wrong", &base, &other_id, &exchange_token, &[]);
    assert_eq!(wrong.exit_code().await, Some(1), "{}", wrong.log());
    let expected =
        format!("the exchange token is for runner {runner_id}, not for --runner-id {other_id}; nothing was used up");
    assert!(wrong.log().contains(&expected), "{}", wrong.log());
    assert_eq!(api.runner(&other_id).await.unwrap()["status"]["phase"], "RUNNER_PHASE_CREATED");

    // The corrected command works with the same exchange token.
    let _right = AgentProcess::start(dir.path(), "right", &base, &runner_id, &exchange_token, &[]);
    wait_for_phase(&api, &runner_id, "RUNNER_PHASE_ACTIVE").await;
    for log in [typo.log(), wrong.log()] {
        assert_no_secrets(&log, &[&exchange_token]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_sign_up_takes_the_runner_over() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start().await;
    let (base, api) = (server.url(), admin(&server));
    let (runner_id, exchange_token) = api.create_runner("taken over", "europe-west1").await;
    let mut first = AgentProcess::start(dir.path(), "first", &base, &runner_id, &exchange_token, &[]);
    let active = wait_for_phase(&api, &runner_id, "RUNNER_PHASE_ACTIVE").await;
    let first_key = active["status"]["publicKey"].clone();

    // Two new exchange tokens; a second agent (on another machine: its own state) redeems one.
    let (second_token, unused_token) =
        (api.new_exchange_token(&runner_id).await, api.new_exchange_token(&runner_id).await);
    let second = AgentProcess::start(dir.path(), "second", &base, &runner_id, &second_token, &[]);
    second.wait_for_log("exchanged the exchange token").await;

    // The first is told, and stops.
    assert_eq!(first.exit_code().await, Some(1), "{}", first.log());
    assert!(first.log().contains("another runner process took over this runner"), "{}", first.log());
    // The runner is the second agent's: its key, and it keeps reporting.
    let taken = eventually("the second agent's key", || async {
        api.runner(&runner_id)
            .await
            .filter(|r| r["status"]["publicKey"] != first_key && r["status"]["phase"] == "RUNNER_PHASE_ACTIVE")
    })
    .await;
    let second_key = base64_decode(taken["status"]["publicKey"].as_str().unwrap());
    let second_secret: [u8; 32] = std::fs::read(second.key_file()).unwrap().try_into().unwrap();
    assert_eq!(crypto_public_key(&second_secret), second_key);
    let seen = taken["status"]["updatedAt"].clone();
    eventually("a heartbeat of the second agent", || async {
        api.runner(&runner_id).await.filter(|r| r["status"]["updatedAt"] != seen)
    })
    .await;
    // The token issued with it but never used is spent too.
    let (status, refused) = redeem(&server, &unused_token).await;
    assert_eq!((status, refused["code"].as_str()), (401, Some("unauthenticated")), "{refused}");
    assert_no_secrets(&first.log(), &[&exchange_token, &second_token, "gpr_"]);
}

fn crypto_public_key(secret: &[u8; 32]) -> Vec<u8> {
    crypto_box::SecretKey::from(*secret).public_key().to_bytes().to_vec()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oauth_from_authorization_to_a_parsed_context_url() {
    let dir = tempfile::tempdir().unwrap();
    let fake = FakeScm::start().await;
    let hosts = [("github.com", ScmKind::GitHub), ("gitlab.com", ScmKind::GitLab)];
    let server = TestServer::builder()
        .scm(hosts.iter().map(|(h, k)| (h.to_string(), fake.api_url(*k))).collect())
        .scm_web(hosts.iter().map(|(h, k)| (h.to_string(), fake.web_url(*k))).collect())
        .start()
        .await;
    let (base, api) = (server.url(), admin(&server));
    let (runner_id, exchange_token) = api.create_runner("oauth", "europe-west1").await;
    // The agent serves its callbacks on a port of its own, and reports their URLs.
    let agent =
        AgentProcess::start(dir.path(), "agent", &base, &runner_id, &exchange_token, &["--listen", "127.0.0.1:0"]);
    wait_for_phase(&api, &runner_id, "RUNNER_PHASE_ACTIVE").await;
    agent.wait_for_log("reported the configuration schema").await;
    let schema = api
        .ok("/gitpod.v1.RunnerConfigurationService/GetRunnerConfigurationSchema", json!({"runnerId": runner_id}))
        .await;
    let callback = |scm_id: &str| {
        let scm = schema["schema"]["scm"].as_array().unwrap().iter().find(|s| s["scmId"] == scm_id).unwrap().clone();
        scm["oauth"]["callbackUrl"].as_str().unwrap().to_owned()
    };
    let github_callback = callback("github");
    assert!(github_callback.starts_with("http://127.0.0.1:") && github_callback.ends_with("/auth/github/callback"));
    assert!(agent.log().contains(&format!("url={}", github_callback.trim_end_matches("/auth/github/callback"))));

    for (host, _) in hosts {
        let scm_id = host.trim_end_matches(".com");
        api.ok(
            "/gitpod.v1.RunnerConfigurationService/CreateSCMIntegration",
            json!({"runnerId": runner_id, "scmId": scm_id, "host": host, "pat": true,
                   "oauthClientId": fake::OAUTH_CLIENT_ID, "oauthPlaintextClientSecret": fake::OAUTH_CLIENT_SECRET}),
        )
        .await;
    }

    // The agent opened the client secret sealed to it.
    agent.wait_for_log(&fingerprint(fake::OAUTH_CLIENT_SECRET)).await;

    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let cases = [
        ("github.com", "https://github.com/acme/secret", fake::GITHUB_ALICE),
        ("gitlab.com", "https://gitlab.com/acme/secret", fake::GITLAB_ALICE),
    ];
    for (host, private_repo, provider_token) in cases {
        // Not authenticated yet: ParseContextURL says so and points to the OAuth URL.
        let (status, refused) = api
            .call(
                "/gitpod.v1.RunnerService/ParseContextURL",
                json!({"runnerId": runner_id, "contextUrl": private_repo}),
            )
            .await;
        assert_eq!((status, refused["code"].as_str()), (400, Some("failed_precondition")), "{refused}");
        let check = api
            .ok("/gitpod.v1.RunnerService/CheckAuthenticationForHost", json!({"runnerId": runner_id, "host": host}))
            .await;
        assert_eq!(check["authenticated"], json!(null), "{check}");
        let auth_url = check["supportsOauth2"]["authUrl"].as_str().unwrap().to_owned();
        assert_eq!(check["authenticationUrl"], auth_url);
        let scm_id = host.trim_end_matches(".com");
        assert!(
            auth_url.starts_with(&fake.web_url(if scm_id == "github" { ScmKind::GitHub } else { ScmKind::GitLab })),
            "{auth_url}"
        );
        assert!(auth_url.contains("state="), "{auth_url}");
        assert!(auth_url.contains(&format!("redirect_uri={}", encode(&callback(scm_id)))), "{auth_url}");

        // The user follows it: the provider sends the browser to the agent's callback.
        let authorized = http.get(&auth_url).send().await.unwrap();
        assert_eq!(authorized.status().as_u16(), 302);
        let to_callback = authorized.headers()["location"].to_str().unwrap().to_owned();
        assert!(to_callback.starts_with(&callback(scm_id)), "{to_callback}");
        let page = http.get(&to_callback).send().await.unwrap();
        assert_eq!(page.status().as_u16(), 200);
        assert!(page.text().await.unwrap().contains(&format!("Signed in to {host}")));

        // The token is the user's, from OAuth; the provider answers with it.
        let check = api
            .ok("/gitpod.v1.RunnerService/CheckAuthenticationForHost", json!({"runnerId": runner_id, "host": host}))
            .await;
        assert_eq!(check["authenticated"], true, "{check}");
        let parsed = api
            .ok("/gitpod.v1.RunnerService/ParseContextURL", json!({"runnerId": runner_id, "contextUrl": private_repo}))
            .await;
        assert_eq!(parsed["git"]["repo"], "secret", "{parsed}");
        agent.wait_for_log(&fingerprint(provider_token)).await;

        // The same callback again is refused, and so is an altered state.
        let replay = http.get(&to_callback).send().await.unwrap();
        assert_eq!(replay.status().as_u16(), 400);
        assert!(replay.text().await.unwrap().contains("used already"));
        let altered = to_callback.replace("state=", "state=x");
        let refused = http.get(&altered).send().await.unwrap();
        assert_eq!(refused.status().as_u16(), 400);
        assert!(refused.text().await.unwrap().contains("not an OAuth state this server signed"));
    }

    // One token per host, both of the admin, from OAuth; GitLab's with its refresh token and
    // expiry, GitHub's scopes split from its commas.
    let listed = api.ok("/gitpod.v1.RunnerConfigurationService/ListHostAuthenticationTokens", json!({})).await;
    let tokens = listed["tokens"].as_array().unwrap();
    assert_eq!(tokens.len(), 2, "{listed}");
    for t in tokens {
        assert_eq!(t["source"], "HOST_AUTHENTICATION_TOKEN_SOURCE_OAUTH");
        assert_eq!(t["subject"]["id"], server.admin_id.to_string());
    }
    let github = tokens.iter().find(|t| t["host"] == "github.com").unwrap();
    assert_eq!(github["scopes"], json!(["repo", "read:user", "user:email", "workflow"]));
    assert!(github.get("expiresAt").is_none());
    let gitlab = tokens.iter().find(|t| t["host"] == "gitlab.com").unwrap();
    assert!(gitlab["expiresAt"].is_string(), "{gitlab}");
    let value = server.store.get_host_token(gitlab["id"].as_str().unwrap().parse().unwrap()).await.unwrap().unwrap();
    assert!(value.refresh_token_ciphertext.is_some());

    assert_no_secrets(
        &agent.log(),
        &[fake::OAUTH_CLIENT_SECRET, fake::GITHUB_ALICE, fake::GITLAB_ALICE, "glrt-fake-refresh", "code-alice", "gpr_"],
    );
}

/// A query value as the server encodes it.
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn base64_decode(s: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.decode(s).unwrap()
}
