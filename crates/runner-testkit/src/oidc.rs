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

/// How the provider answers later token requests ([`OidcProvider::misbehave`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdTokenMode {
    Honest,
    /// A claim changed after signing: the signature no longer matches.
    Tampered,
    /// Signed by the provider, for another client.
    WrongAudience,
    /// Signed by the provider, expired an hour ago.
    Expired,
    /// Signed by the provider, with a nonce other than the one sent.
    WrongNonce,
}

impl IdTokenMode {
    fn as_str(self) -> &'static str {
        match self {
            IdTokenMode::Honest => "honest",
            IdTokenMode::Tampered => "tampered",
            IdTokenMode::WrongAudience => "wrong_audience",
            IdTokenMode::Expired => "expired",
            IdTokenMode::WrongNonce => "wrong_nonce",
        }
    }
}

impl OidcProvider {
    /// Makes the provider's later token responses carry an ID token as `mode` says.
    pub async fn misbehave(&self, mode: IdTokenMode) {
        let url = format!("{}/__test/id_token/{}", self.issuer, mode.as_str());
        let status = reqwest::Client::new().post(url).send().await.unwrap().status();
        assert_eq!(status.as_u16(), 204, "the test provider took the mode");
    }
}

/// Signs `email` in on the provider's own pages, as a browser would, from its
/// `authorization_url`: the login form (any password), then the consent form, following the
/// provider's redirects with its cookies. Returns where the provider finally sends the browser
/// (the redirect URI with `code` and `state`, or with `error`).
pub async fn sign_in_at_provider(authorization_url: &str, email: &str) -> String {
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let origin = {
        let rest = authorization_url.split_once("://").map(|(_, r)| r).unwrap_or_default();
        let host = rest.split('/').next().unwrap_or_default();
        format!("{}://{host}", authorization_url.split("://").next().unwrap_or("http"))
    };
    let absolute = |location: &str| {
        if location.starts_with("http://") || location.starts_with("https://") {
            location.to_owned()
        } else {
            format!("{origin}{location}")
        }
    };
    let mut cookies: std::collections::BTreeMap<String, String> = std::collections::BTreeMap::new();
    let mut request = http.get(authorization_url);
    for _ in 0..20 {
        let jar = cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ");
        let response = request.header("cookie", jar).send().await.unwrap();
        for set in response.headers().get_all("set-cookie") {
            let set = set.to_str().unwrap_or_default();
            let pair = set.split(';').next().unwrap_or_default();
            if let Some((name, value)) = pair.split_once('=') {
                let expired = set.to_ascii_lowercase().contains("expires=thu, 01 jan 1970");
                if value.is_empty() || expired {
                    cookies.remove(name.trim());
                } else {
                    cookies.insert(name.trim().to_owned(), value.to_owned());
                }
            }
        }
        if let Some(location) = response.headers().get("location") {
            let location = absolute(location.to_str().unwrap());
            if !location.starts_with(&origin) {
                return location;
            }
            request = http.get(location);
            continue;
        }
        let status = response.status();
        let page = response.text().await.unwrap();
        let action = between(&page, "action=\"", "\"")
            .unwrap_or_else(|| panic!("no form on the provider's page ({status}): {page}"));
        let prompt = between(&page, "name=\"prompt\" value=\"", "\"").unwrap_or_default();
        let form: Vec<(&str, &str)> = match prompt.as_str() {
            "login" => vec![("prompt", "login"), ("login", email), ("password", "any password")],
            _ => vec![("prompt", prompt.as_str())],
        };
        let body = form
            .iter()
            .map(|(k, v)| format!("{k}={}", v.replace('@', "%40").replace(' ', "+")))
            .collect::<Vec<_>>()
            .join("&");
        request = http
            .post(absolute(&action.replace("&amp;", "&")))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
    }
    panic!("the provider did not send the browser back within 20 steps");
}

fn between(text: &str, start: &str, end: &str) -> Option<String> {
    let from = text.find(start)? + start.len();
    let to = from + text[from..].find(end)?;
    Some(text[from..to].to_owned())
}
