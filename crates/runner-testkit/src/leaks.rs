//! The secrets guard of the whole suite: every secret a test sends (request fields named like
//! secrets, and every bearer token) is remembered, and no response of any call, and no line the
//! server logs, may ever contain one. [`Client::call`](crate::Client::call) checks each answer;
//! the server's log (all of it, at trace level for our crates, captured in memory once
//! [`TestServer`](crate::TestServer) starts one) is checked after every call too.

use std::collections::BTreeSet;
use std::io::Write;
use std::sync::{Mutex, Once};

use serde::Serialize;
use serde_json::Value;

static SECRETS: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());
/// Secrets remembered since the log was last scanned in full for them.
static UNSCANNED: Mutex<Vec<String>> = Mutex::new(Vec::new());
static LOG: Mutex<Vec<u8>> = Mutex::new(Vec::new());
/// How much of the log was scanned for every secret known at the time.
static LOG_SCANNED: Mutex<usize> = Mutex::new(0);
static LOGGING: Once = Once::new();

/// Values shorter than this are too likely to occur by chance (`"abc"`), and are not tracked.
const MIN_LEN: usize = 8;

/// Request fields (JSON names) whose values are secrets.
fn is_secret_field(path: &[&str], key: &str) -> bool {
    match key {
        "refreshToken" | "password" | "oauthPlaintextClientSecret" | "apiKey" | "honeycombApiKey" | "exchangeToken" => {
            true
        }
        // A page token is not a secret; every other `token` is (host tokens).
        "token" => path.last() != Some(&"pagination"),
        // LLM request header values are sealed like API keys.
        "value" => path.contains(&"requestHeaders"),
        _ => false,
    }
}

/// Sends the server's log to memory, once per test process.
pub fn capture_server_log() {
    LOGGING.call_once(|| {
        let filter =
            tracing_subscriber::EnvFilter::new("info,runner_server=trace,runner_core=trace,runner_store=trace");
        let subscriber =
            tracing_subscriber::fmt().with_env_filter(filter).with_ansi(false).with_writer(|| LogWriter).finish();
        tracing::subscriber::set_global_default(subscriber).expect("the first subscriber of the test process");
    });
}

struct LogWriter;

impl Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        LOG.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The lines of the server log captured so far that contain every one of `needles`.
pub fn log_lines_with(needles: &[&str]) -> Vec<String> {
    let log = LOG.lock().unwrap();
    String::from_utf8_lossy(&log).lines().filter(|l| needles.iter().all(|n| l.contains(n))).map(str::to_owned).collect()
}

pub fn remember(secret: &str) {
    if secret.len() >= MIN_LEN && SECRETS.lock().unwrap().insert(secret.to_owned()) {
        UNSCANNED.lock().unwrap().push(secret.to_owned());
    }
}

/// Remembers the secret fields of a request.
pub fn remember_request<T: Serialize>(request: &T) {
    // (A request with an unknown enum number has no JSON form; it carries no new secret.)
    if let Ok(json) = serde_json::to_value(request) {
        walk(&json, &mut Vec::new());
    }
}

fn walk<'a>(value: &'a Value, path: &mut Vec<&'a str>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                if let Value::String(s) = v
                    && is_secret_field(path, key)
                {
                    remember(s);
                }
                path.push(key);
                walk(v, path);
                path.pop();
            }
        }
        Value::Array(items) => items.iter().for_each(|v| walk(v, path)),
        _ => {}
    }
}

/// Fails if `bytes` (an answer, what the client saw of it) contains a remembered secret, or if
/// the server's log does.
pub fn check(what: &str, bytes: &[u8]) {
    if let Some(leak) = find_leak(what, bytes) {
        panic!("{leak}");
    }
}

/// The first leak, if any (found with the locks held, reported after they are released). The
/// log is scanned incrementally: new lines for every secret, and the whole log only for
/// secrets remembered since the last scan, so the suite stays linear in its log.
fn find_leak(what: &str, bytes: &[u8]) -> Option<String> {
    let secrets = SECRETS.lock().unwrap();
    if let Some(s) = secrets.iter().find(|s| contains(bytes, s.as_bytes())) {
        return Some(format!("{what} contains a secret a test sent ({} bytes long)", s.len()));
    }
    let log = LOG.lock().unwrap();
    let mut scanned = LOG_SCANNED.lock().unwrap();
    let fresh = std::mem::take(&mut *UNSCANNED.lock().unwrap());
    // Lines may be cut in the middle of a secret: re-read a little before the mark.
    let from = scanned.saturating_sub(4096);
    let leak = secrets
        .iter()
        .find(|s| contains(&log[from..], s.as_bytes()))
        .or_else(|| fresh.iter().find(|s| contains(&log, s.as_bytes())));
    *scanned = log.len();
    leak.map(|s| format!("the server's log contains a secret a test sent ({} bytes long)", s.len()))
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    memchr::memmem::find(haystack, needle).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_guard_finds_what_it_should() {
        remember_request(&serde_json::json!({
            "token": "ghp_guard_test_1",
            "pagination": {"token": "page-token-not-secret"},
            "requestHeaders": [{"name": "x-api", "value": "header-secret-1"}],
            "configuration": [{"key": "cpu", "value": "not-a-secret"}],
        }));
        let secrets = SECRETS.lock().unwrap().clone();
        assert!(secrets.contains("ghp_guard_test_1"));
        assert!(secrets.contains("header-secret-1"));
        assert!(!secrets.contains("page-token-not-secret"));
        assert!(!secrets.contains("not-a-secret"));
        assert!(find_leak("an answer", b"..ghp_guard_test_1..").is_some());
        assert!(find_leak("an answer", b"nothing to see").is_none());
    }

    #[test]
    fn the_server_log_is_captured() {
        capture_server_log();
        // What the server's crates log at any level ends up in the scanned log.
        tracing::trace!(target: "runner_server::handlers", "leak-guard probe line");
        assert!(contains(&LOG.lock().unwrap(), b"leak-guard probe line"));
    }
}
