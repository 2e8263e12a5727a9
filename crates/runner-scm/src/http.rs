//! Requests to a provider: headers, retries, and the one place provider answers become
//! [`ScmError`]s ([`classify`]).

use std::collections::HashMap;
use std::fmt;
use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};
use base64::Engine as _;
use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderMap, HeaderValue, RETRY_AFTER};
use reqwest::{Client, StatusCode};
use runner_core::model::HostTokenSource;
use runner_core::scm::provider::{Credential, ScmError, ScmKind, ScmResult};
use serde::de::DeserializeOwned;
use url::Url;

pub(crate) const USER_AGENT: &str = "gitpod-runner-api";

/// Longest wait a `Retry-After` may ask for before a retry.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(2);
/// The first backoff before jitter; doubled for every further retry.
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
/// How much of a provider's message an error repeats.
const MAX_MESSAGE_CHARS: usize = 300;

/// A provider's answer that was read as JSON.
pub(crate) struct Answer<T> {
    pub headers: HeaderMap,
    pub body: T,
}

/// One provider API as seen with one credential: the pooled client plus the headers every
/// request carries.
#[derive(Clone)]
pub(crate) struct Api {
    client: Client,
    headers: HeaderMap,
    /// Kept only to scrub it out of error messages, should a provider ever echo it.
    token: String,
    retries: u32,
    timeout: Duration,
}

impl fmt::Debug for Api {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Api").field("token", &"<redacted>").field("retries", &self.retries).finish_non_exhaustive()
    }
}

impl Api {
    pub fn new(
        client: Client,
        kind: ScmKind,
        credential: &Credential,
        retries: u32,
        timeout: Duration,
    ) -> ScmResult<Self> {
        let token = credential.token.trim();
        if token.is_empty() {
            return Err(ScmError::Unauthenticated("no token".into()));
        }
        let authorization = match (kind, credential.source) {
            (ScmKind::AzureDevOps, HostTokenSource::Pat) => {
                format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!(":{token}")))
            }
            _ => format!("Bearer {token}"),
        };
        let mut auth = HeaderValue::from_str(&authorization)
            .map_err(|_| ScmError::Unauthenticated("the token contains characters not allowed in a header".into()))?;
        auth.set_sensitive(true);
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, auth);
        if kind == ScmKind::GitHub {
            headers.insert(ACCEPT, HeaderValue::from_static("application/vnd.github+json"));
            headers.insert("x-github-api-version", HeaderValue::from_static("2022-11-28"));
        } else {
            headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
        }
        Ok(Self { client, headers, token: token.to_owned(), retries, timeout })
    }

    /// `GET url` read as `T`; `what` names the thing asked for in error messages.
    pub async fn get<T: DeserializeOwned>(&self, url: Url, what: &str) -> ScmResult<Answer<T>> {
        let answer = self.get_value(url, what).await?;
        let body = serde_json::from_value(answer.body)
            .map_err(|e| self.scrub(ScmError::Protocol(format!("{what}: unexpected answer: {e}"))))?;
        Ok(Answer { headers: answer.headers, body })
    }

    /// Like [`Api::get`], with `None` for a provider 404.
    pub async fn get_opt<T: DeserializeOwned>(&self, url: Url, what: &str) -> ScmResult<Option<Answer<T>>> {
        match self.get(url, what).await {
            Ok(a) => Ok(Some(a)),
            Err(ScmError::NotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// `GET url` with retries: connection errors, timeouts, 429, 500 and 502-504 are tried
    /// again, after the provider's `Retry-After` (at most 2 s) or else the next of
    /// [`retry_waits`] (100–200 ms, 200–400 ms, …).
    async fn get_value(&self, url: Url, what: &str) -> ScmResult<Answer<serde_json::Value>> {
        let mut waits = retry_waits(self.retries);
        let mut attempt = 0u32;
        loop {
            let outcome = match self.client.get(url.clone()).headers(self.headers.clone()).send().await {
                Ok(response) => {
                    let status = response.status();
                    let headers = response.headers().clone();
                    response.bytes().await.map(|body| (status, headers, body))
                }
                Err(e) => Err(e),
            };
            let delay = match outcome {
                Ok((status, headers, body)) => {
                    if status.is_success()
                        && let Ok(value) = serde_json::from_slice::<serde_json::Value>(&body)
                    {
                        return Ok(Answer { headers, body: value });
                    }
                    let wait = if retryable(status) { waits.next() } else { None };
                    let Some(wait) = wait else {
                        return Err(self.scrub(classify(status, &headers, &body, what)));
                    };
                    tracing::debug!(path = url.path(), %status, attempt, "SCM request failed; retrying");
                    retry_after(&headers).unwrap_or(wait)
                }
                Err(e) => {
                    let wait = if e.is_builder() { None } else { waits.next() };
                    let Some(wait) = wait else {
                        return Err(self.scrub(no_answer(&e, what, self.timeout)));
                    };
                    tracing::debug!(
                        path = url.path(),
                        timeout = e.is_timeout(),
                        attempt,
                        "SCM request failed; retrying"
                    );
                    wait
                }
            };
            tokio::time::sleep(delay).await;
            attempt += 1;
        }
    }

    /// The error with the token cut out of its message, whatever a provider said.
    fn scrub(&self, e: ScmError) -> ScmError {
        let clean = |m: String| if m.contains(&self.token) { m.replace(&self.token, "<redacted>") } else { m };
        match e {
            ScmError::Unauthenticated(m) => ScmError::Unauthenticated(clean(m)),
            ScmError::PermissionDenied(m) => ScmError::PermissionDenied(clean(m)),
            ScmError::NotFound(m) => ScmError::NotFound(clean(m)),
            ScmError::InvalidRequest(m) => ScmError::InvalidRequest(clean(m)),
            ScmError::RateLimited(m) => ScmError::RateLimited(clean(m)),
            ScmError::Unavailable(m) => ScmError::Unavailable(clean(m)),
            ScmError::Protocol(m) => ScmError::Protocol(clean(m)),
        }
    }
}

fn retryable(status: StatusCode) -> bool {
    matches!(status.as_u16(), 429 | 500 | 502 | 503 | 504)
}

/// The waits before the `retries` retries of one read: exponential from [`FIRST_BACKOFF`], each
/// drawn between its delay and twice it (backon's jitter), the delay capped at half of
/// [`MAX_RETRY_AFTER`] so that no wait is longer than a `Retry-After` may ask for.
fn retry_waits(retries: u32) -> impl Iterator<Item = Duration> {
    ExponentialBuilder::new()
        .with_min_delay(FIRST_BACKOFF)
        .with_factor(2.0)
        .with_max_delay(MAX_RETRY_AFTER / 2)
        .with_max_times(retries as usize)
        .with_jitter()
        .build()
}

/// A `Retry-After` given in seconds, capped at [`MAX_RETRY_AFTER`].
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let secs: u64 = headers.get(RETRY_AFTER)?.to_str().ok()?.trim().parse().ok()?;
    Some(Duration::from_secs(secs).min(MAX_RETRY_AFTER))
}

/// The error for a request that got no answer.
fn no_answer(e: &reqwest::Error, what: &str, timeout: Duration) -> ScmError {
    if e.is_timeout() {
        ScmError::Unavailable(format!("{what}: no answer within {}s", timeout.as_secs_f64()))
    } else if e.is_connect() {
        ScmError::Unavailable(format!("{what}: cannot connect"))
    } else if e.is_builder() {
        ScmError::Protocol(format!("{what}: cannot build the request"))
    } else {
        ScmError::Unavailable(format!("{what}: the connection failed"))
    }
}

/// What a provider's answer means, for every answer that is not a readable success: the one
/// function that maps provider answers to [`ScmError`].
///
/// `what` names what was asked for (`repository acme/api`). 203 without JSON is Azure DevOps's
/// sign-in page for a refused token.
pub(crate) fn classify(status: StatusCode, headers: &HeaderMap, body: &[u8], what: &str) -> ScmError {
    let message = provider_message(body);
    let said = |fallback: &str| message.clone().unwrap_or_else(|| fallback.to_owned());
    let reason = status.canonical_reason().unwrap_or("error");
    match status.as_u16() {
        203 => {
            ScmError::Unauthenticated("the provider answered with a sign-in page: the token was not accepted".into())
        }
        200..=299 => ScmError::Protocol(format!("{what}: the answer (HTTP {}) is not readable JSON", status.as_u16())),
        401 => ScmError::Unauthenticated(said("the token was not accepted")),
        403 if rate_limited(headers, message.as_deref()) => ScmError::RateLimited(said("rate limit exceeded")),
        403 => ScmError::PermissionDenied(format!("{what}: {}", said("access denied"))),
        // 410: GitHub's "Issues are disabled"; 409: GitHub's "Git Repository is empty".
        404 | 409 | 410 => match message {
            Some(m) => ScmError::NotFound(format!("{what} not found ({m})")),
            None => ScmError::NotFound(format!("{what} not found")),
        },
        429 => ScmError::RateLimited(said("too many requests")),
        400..=499 => ScmError::InvalidRequest(said(reason)),
        500..=599 => ScmError::Unavailable(format!("{what}: HTTP {} {}", status.as_u16(), said(reason))),
        _ => ScmError::Protocol(format!("{what}: unexpected HTTP {} answer", status.as_u16())),
    }
}

/// Whether a 403 is a rate limit: GitHub's exhausted `x-ratelimit-remaining`, GitLab's
/// `ratelimit-remaining`, a `Retry-After`, or a message that says so.
fn rate_limited(headers: &HeaderMap, message: Option<&str>) -> bool {
    let zero = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).is_some_and(|v| v.trim() == "0");
    zero("x-ratelimit-remaining")
        || zero("ratelimit-remaining")
        || headers.contains_key(RETRY_AFTER)
        || message.is_some_and(|m| m.to_ascii_lowercase().contains("rate limit"))
}

/// The human message in a provider's error body: GitHub's `message` (and `errors[].message`),
/// GitLab's `message` or `error`/`error_description`, Bitbucket's `error.message`/`detail`,
/// Azure DevOps's `message`; short plain text as it is. HTML pages are not repeated.
fn provider_message(body: &[u8]) -> Option<String> {
    let text = match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(json) => json_message(&json)?,
        Err(_) => {
            let text = std::str::from_utf8(body).ok()?.trim();
            if text.is_empty() || text.contains('<') {
                return None;
            }
            text.to_owned()
        }
    };
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    Some(match text.char_indices().nth(MAX_MESSAGE_CHARS) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text,
    })
}

fn json_message(json: &serde_json::Value) -> Option<String> {
    use serde_json::Value;
    let string = |v: &Value| match v {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Value::Null => None,
        Value::String(_) => None,
        other => Some(other.to_string()),
    };
    let mut parts: Vec<String> = Vec::new();
    if let Some(m) = json.get("message").and_then(string) {
        parts.push(m);
    }
    if let Some(error) = json.get("error") {
        match error {
            // Bitbucket: {"type": "error", "error": {"message": …, "detail": …}}
            Value::Object(e) => {
                parts.extend(e.get("message").and_then(string));
                parts.extend(e.get("detail").and_then(string));
            }
            other => parts.extend(string(other)),
        }
    }
    parts.extend(json.get("error_description").and_then(string));
    // GitHub validation errors: {"errors": [{"message": …}]}
    if let Some(errors) = json.get("errors").and_then(Value::as_array) {
        parts.extend(errors.iter().filter_map(|e| e.get("message").and_then(string).or_else(|| string(e))));
    }
    (!parts.is_empty()).then(|| parts.join(": "))
}

/// The `Link` header's targets by relation (`next`, `last`, …).
pub(crate) fn links(headers: &HeaderMap) -> HashMap<String, Url> {
    let mut out = HashMap::new();
    for value in headers.get_all(reqwest::header::LINK) {
        let Ok(value) = value.to_str() else { continue };
        for part in value.split(',') {
            let mut pieces = part.split(';');
            let Some(target) = pieces.next().map(str::trim) else { continue };
            let Some(target) = target.strip_prefix('<').and_then(|t| t.strip_suffix('>')) else { continue };
            let Ok(url) = Url::parse(target) else { continue };
            for param in pieces {
                if let Some(rels) = param.trim().strip_prefix("rel=") {
                    for rel in rels.trim_matches('"').split_whitespace() {
                        out.insert(rel.to_owned(), url.clone());
                    }
                }
            }
        }
    }
    out
}

/// A query parameter of a URL.
pub(crate) fn query_param(url: &Url, name: &str) -> Option<String> {
    url.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}

/// A header as a number.
pub(crate) fn header_number(headers: &HeaderMap, name: &str) -> Option<u64> {
    headers.get(name)?.to_str().ok()?.trim().parse().ok()
}

/// `base` with path segments appended (each percent-encoded, `/` included) and query pairs.
pub(crate) fn endpoint<S: AsRef<str>>(base: &Url, segments: &[S], query: &[(&str, &str)]) -> Url {
    let mut url = base.clone();
    if let Ok(mut path) = url.path_segments_mut() {
        path.pop_if_empty();
        path.extend(segments.iter().map(AsRef::as_ref));
    }
    if !query.is_empty() {
        url.query_pairs_mut().extend_pairs(query);
    }
    url
}

/// A clone or web URL without user information: Bitbucket and Azure DevOps put the user's
/// name in front of the host (`https://alice@bitbucket.org/…`).
pub(crate) fn without_userinfo(url: &str) -> String {
    match Url::parse(url) {
        Ok(mut u) if !u.username().is_empty() || u.password().is_some() => {
            let _ = u.set_username("");
            let _ = u.set_password(None);
            u.to_string()
        }
        _ => url.to_owned(),
    }
}

/// `ceil(count / per_page)`.
pub(crate) fn pages(count: u64, per_page: u32) -> u64 {
    count.div_ceil(u64::from(per_page.max(1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    fn classify_of(status: u16, h: &[(&'static str, &'static str)], body: &str) -> ScmError {
        classify(StatusCode::from_u16(status).unwrap(), &headers(h), body.as_bytes(), "repository acme/api")
    }

    #[test]
    fn classify_maps_every_status_family() {
        assert!(matches!(
            classify_of(401, &[], r#"{"message":"Bad credentials","documentation_url":"https://docs.github.com/rest"}"#),
            ScmError::Unauthenticated(m) if m == "Bad credentials"
        ));
        assert!(matches!(
            classify_of(
                403,
                &[("x-ratelimit-remaining", "0")],
                r#"{"message":"API rate limit exceeded for user ID 1."}"#
            ),
            ScmError::RateLimited(_)
        ));
        assert!(matches!(
            classify_of(403, &[("x-ratelimit-remaining", "4999")], r#"{"message":"Resource protected by organization SAML enforcement."}"#),
            ScmError::PermissionDenied(m) if m.contains("SAML")
        ));
        assert!(matches!(classify_of(403, &[("retry-after", "60")], "{}"), ScmError::RateLimited(_)));
        assert!(
            matches!(classify_of(404, &[], r#"{"message":"404 Project Not Found"}"#), ScmError::NotFound(m) if m.contains("acme/api"))
        );
        assert!(matches!(
            classify_of(422, &[], r#"{"message":"Validation Failed","errors":[{"message":"bad qualifier"}]}"#),
            ScmError::InvalidRequest(m) if m == "Validation Failed: bad qualifier"
        ));
        assert!(matches!(
            classify_of(400, &[], r#"{"type":"error","error":{"message":"Invalid query","detail":"unknown field foo"}}"#),
            ScmError::InvalidRequest(m) if m == "Invalid query: unknown field foo"
        ));
        assert!(
            matches!(classify_of(400, &[], r#"{"error":"search is missing"}"#), ScmError::InvalidRequest(m) if m == "search is missing")
        );
        assert!(matches!(classify_of(429, &[], ""), ScmError::RateLimited(_)));
        assert!(matches!(classify_of(500, &[], "oops"), ScmError::Unavailable(_)));
        assert!(matches!(classify_of(503, &[], "<html>down</html>"), ScmError::Unavailable(m) if !m.contains("html")));
        assert!(matches!(classify_of(203, &[], "<html>Sign in</html>"), ScmError::Unauthenticated(_)));
        assert!(matches!(classify_of(200, &[], "not json"), ScmError::Protocol(_)));
        assert!(matches!(classify_of(302, &[], ""), ScmError::Protocol(_)));
    }

    #[test]
    fn link_header_relations() {
        let h = headers(&[(
            "link",
            r#"<https://api.github.com/user/orgs?page=2&per_page=2>; rel="next", <https://api.github.com/user/orgs?page=3&per_page=2>; rel="last""#,
        )]);
        let l = links(&h);
        assert_eq!(query_param(&l["next"], "page").as_deref(), Some("2"));
        assert_eq!(query_param(&l["last"], "page").as_deref(), Some("3"));
        assert!(!l.contains_key("prev"));
    }

    #[test]
    fn retry_after_is_capped() {
        assert_eq!(retry_after(&headers(&[("retry-after", "1")])), Some(Duration::from_secs(1)));
        assert_eq!(retry_after(&headers(&[("retry-after", "3600")])), Some(MAX_RETRY_AFTER));
        assert_eq!(retry_after(&headers(&[("retry-after", "Wed, 21 Oct 2015 07:28:00 GMT")])), None);
    }

    #[test]
    fn retry_waits_grow_with_jitter_and_stop() {
        let ms = Duration::from_millis;
        let waits: Vec<Duration> = retry_waits(3).collect();
        assert_eq!(waits.len(), 3, "one wait per retry");
        for (wait, delay) in waits.iter().zip([ms(100), ms(200), ms(400)]) {
            assert!(delay <= *wait && *wait < delay * 2, "{waits:?}");
        }
        assert_eq!(retry_waits(0).count(), 0);
        assert!(retry_waits(20).all(|w| w < MAX_RETRY_AFTER));
    }

    #[test]
    fn segments_are_encoded_one_by_one() {
        let base = Url::parse("https://gitlab.example.com/api/v4").unwrap();
        let url = endpoint(&base, &["projects", "group/sub/project", "repository", "branches", "feature/x"], &[]);
        assert_eq!(
            url.as_str(),
            "https://gitlab.example.com/api/v4/projects/group%2Fsub%2Fproject/repository/branches/feature%2Fx"
        );
        let base = Url::parse("https://api.github.com").unwrap();
        let url = endpoint(&base, &["search", "repositories"], &[("q", "api in:name user:alice")]);
        assert_eq!(url.as_str(), "https://api.github.com/search/repositories?q=api+in%3Aname+user%3Aalice");
    }

    #[test]
    fn token_is_scrubbed_from_errors_and_debug() {
        let token = "ghp_W56eCuNGMGmSrCGIZEG8pSH4487q7J58m1Ci";
        let credential = Credential { token: token.into(), source: HostTokenSource::Pat };
        let api = Api::new(Client::new(), ScmKind::GitHub, &credential, 2, Duration::from_secs(1)).unwrap();
        assert!(!format!("{api:?}").contains(token));
        assert!(api.headers[AUTHORIZATION].is_sensitive());
        // A provider that echoes the token in its error body.
        let body = format!(r#"{{"message":"token {token} is revoked"}}"#);
        for status in [400, 401, 403, 404, 429, 500] {
            let e = api.scrub(classify(StatusCode::from_u16(status).unwrap(), &HeaderMap::new(), body.as_bytes(), "x"));
            assert!(!e.to_string().contains(token), "{e}");
            assert!(!format!("{e:?}").contains(token), "{e:?}");
            assert!(e.to_string().contains("<redacted>") || status == 404, "{e}");
        }
        // Azure DevOps PATs travel as Basic credentials.
        let credential = Credential { token: "pat".into(), source: HostTokenSource::Pat };
        let azure = Api::new(Client::new(), ScmKind::AzureDevOps, &credential, 2, Duration::from_secs(1)).unwrap();
        assert_eq!(azure.headers[AUTHORIZATION], "Basic OnBhdA==");
        let credential = Credential { token: "jwt".into(), source: HostTokenSource::Oauth };
        let azure = Api::new(Client::new(), ScmKind::AzureDevOps, &credential, 2, Duration::from_secs(1)).unwrap();
        assert_eq!(azure.headers[AUTHORIZATION], "Bearer jwt");
    }

    #[test]
    fn userinfo_is_dropped() {
        assert_eq!(without_userinfo("https://alice@bitbucket.org/acme/api.git"), "https://bitbucket.org/acme/api.git");
        assert_eq!(without_userinfo("https://github.com/acme/api.git"), "https://github.com/acme/api.git");
    }
}
