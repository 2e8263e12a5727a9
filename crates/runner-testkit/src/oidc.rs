//! A real OpenID provider for the tests: `tests/oidc/provider.mjs` (panva's certified
//! `oidc-provider`, installed by `tests/oidc/install.sh` into `.tools/node`) as a child process
//! on 127.0.0.1 and a free port, with one client and two users of different email domains
//! (`alice@acme.test`, `bob@other.test`), stopped when dropped.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// The client the provider knows.
pub const CLIENT_ID: &str = "runner-api";
/// Its secret.
pub const CLIENT_SECRET: &str = "runner-api-secret";
/// The test users' email addresses (each is also its subject).
pub const USERS: [&str; 2] = ["alice@acme.test", "bob@other.test"];

/// A running provider.
pub struct OidcProvider {
    child: Child,
    /// Its issuer URL (`http://127.0.0.1:PORT`), where its discovery document is.
    pub issuer: String,
}

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

impl OidcProvider {
    /// Starts the provider, whose client may redirect to `redirect_uris`. Without the
    /// `oidc-provider` package installed it prints one `OpenID provider SKIPPED` line and gives
    /// `None`, unless `RUNNER_TEST_REQUIRE_OIDC=1` (CI), which makes that a failure.
    pub fn start(test: &str, redirect_uris: &[&str]) -> Option<OidcProvider> {
        let root = workspace();
        if !root.join(".tools/node/node_modules/oidc-provider/package.json").is_file() {
            let why = "oidc-provider is not installed (bash tests/oidc/install.sh)";
            if std::env::var("RUNNER_TEST_REQUIRE_OIDC").is_ok_and(|v| v == "1") {
                panic!("{test}: the test OpenID provider is required (RUNNER_TEST_REQUIRE_OIDC=1) but {why}");
            }
            eprintln!("OpenID provider SKIPPED ({test}): {why}");
            return None;
        }
        let mut child = Command::new("node")
            .arg(root.join("tests/oidc/provider.mjs"))
            .env("OIDC_CLIENT_ID", CLIENT_ID)
            .env("OIDC_CLIENT_SECRET", CLIENT_SECRET)
            .env("OIDC_REDIRECT_URIS", redirect_uris.join(" "))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("node runs (Node 20 or later is needed for the test OpenID provider)");
        let stdout = child.stdout.take().expect("piped");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(issuer) = line.strip_prefix("issuer ") {
                    let _ = tx.send(issuer.to_owned());
                }
            }
        });
        match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(issuer) => Some(OidcProvider { child, issuer }),
            Err(_) => {
                let _ = child.kill();
                panic!("{test}: the test OpenID provider did not say where it listens within 30 s");
            }
        }
    }
}

impl Drop for OidcProvider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
