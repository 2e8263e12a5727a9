//! The OAuth flow of host authentication tokens, as far as the server takes part in it.
//!
//! A user asks how to authenticate with a host (CheckAuthenticationForHost, or the
//! authentication-required answer of ParseContextURL) and gets the provider's authorization URL
//! with a `state` this server signed: who asked, for which runner and host, until when. The
//! provider sends the user's browser back to the runner's callback URL with a code and that
//! state. Only the runner can exchange the code, because only it can open the integration's
//! client secret (sealed to its key); it asks the server to check the state first
//! (`runnerside.v1` CheckOAuthState) and then stores what the provider gave as that user's host
//! token (StoreOAuthHostToken), where the server checks the state again. The state therefore
//! decides whose token it becomes: not the runner, and not the browser.
//!
//! [`OAuthFlow`] signs and checks states (HMAC-SHA256 under a key derived from the server key,
//! as page tokens are, so every replica accepts the states of the others) and knows where each
//! host's provider has its web pages ([`OAuthFlow::web_base`]).

use std::collections::HashMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{CoreError, FieldViolation, Result};
use crate::model::{ScmIntegration, Subject};
use crate::page::PageTokens;
use crate::time::Timestamp;

/// How long a user has to complete an authorization.
pub const STATE_TTL_SECS: i64 = 15 * 60;
/// What the signature covers besides the payload, so that no page token passes as a state.
const STATE_KIND: &str = "oauth-state";

/// What a state stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthState {
    /// Who asked to authenticate; the token becomes theirs.
    pub subject: Subject,
    pub runner_id: Uuid,
    /// The integration's host, as stored.
    pub host: String,
    pub expires_at: Timestamp,
}

#[derive(Serialize, Deserialize)]
struct Payload {
    s: Subject,
    r: Uuid,
    h: String,
    /// Expiry, microseconds since the epoch.
    e: i64,
    /// Random, so that every authorization has its own state.
    n: Uuid,
}

/// Signs and checks OAuth states, and knows the providers' web addresses.
#[derive(Clone, Debug)]
pub struct OAuthFlow {
    signer: PageTokens,
    /// Web base URL per host (lower case, no trailing `/`), overriding `https://HOST`.
    web_urls: Arc<HashMap<String, String>>,
}

impl OAuthFlow {
    /// States signed with `signer`'s key; providers at `https://HOST`.
    pub fn new(signer: PageTokens) -> Self {
        Self { signer, web_urls: Arc::default() }
    }

    /// The same flow with some hosts' providers elsewhere (host → base URL such as
    /// `https://github.example.com` or a test's fake provider).
    pub fn with_web_urls(mut self, urls: HashMap<String, String>) -> Self {
        let urls = urls
            .into_iter()
            .map(|(host, url)| (host.trim().to_ascii_lowercase(), url.trim().trim_end_matches('/').to_owned()))
            .collect();
        self.web_urls = Arc::new(urls);
        self
    }

    /// The base URL of the provider's web pages (OAuth authorization and token endpoints,
    /// personal access token pages) for an integration: `https://HOST` and its virtual
    /// directory, unless configured otherwise for the host.
    pub fn web_base(&self, integration: &ScmIntegration) -> String {
        let host = integration.host.to_ascii_lowercase();
        let dir = integration.virtual_directory.as_deref().unwrap_or_default();
        match self.web_urls.get(&host) {
            Some(base) => format!("{base}{dir}"),
            None => format!("https://{host}{dir}"),
        }
    }

    /// A new state: `subject` authenticates with `host` for `runner_id`, until
    /// [`STATE_TTL_SECS`] from `now`.
    pub fn state(&self, subject: &Subject, runner_id: Uuid, host: &str, now: Timestamp) -> String {
        let payload = Payload {
            s: subject.clone(),
            r: runner_id,
            h: host.to_owned(),
            e: now.plus_seconds(STATE_TTL_SECS).0,
            n: Uuid::new_v4(),
        };
        self.signer.encode(STATE_KIND, &payload, "")
    }

    /// What a state stands for, if this server signed it for `runner_id` and it has not
    /// expired; `invalid_argument` on `state` otherwise, saying why.
    pub fn check(&self, state: &str, runner_id: Uuid, now: Timestamp) -> Result<OAuthState> {
        let invalid = |why: &str| CoreError::InvalidArgument(vec![FieldViolation::new("state", why)]);
        let (payload, _): (Payload, String) = self
            .signer
            .decode("state", STATE_KIND, state)
            .map_err(|_| invalid("is not an OAuth state this server signed (altered, truncated or foreign)"))?;
        if payload.r != runner_id {
            return Err(invalid("was signed for another runner"));
        }
        let expires_at = Timestamp(payload.e);
        if expires_at <= now {
            return Err(invalid(&format!(
                "expired at {}: authorizations must be completed within {} minutes; start again",
                expires_at.rfc3339(),
                STATE_TTL_SECS / 60
            )));
        }
        Ok(OAuthState { subject: payload.s, runner_id, host: payload.h, expires_at })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Principal;

    fn flow() -> OAuthFlow {
        OAuthFlow::new(PageTokens::new([3; 32]))
    }

    fn violation(e: CoreError) -> String {
        match e {
            CoreError::InvalidArgument(v) => format!("{}: {}", v[0].field, v[0].description),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn states_are_signed_bound_and_expire() {
        let (flow, runner) = (flow(), Uuid::now_v7());
        let subject = Subject { id: Uuid::now_v7(), principal: Principal::User };
        let now = Timestamp::now();
        let state = flow.state(&subject, runner, "github.com", now);
        assert_ne!(state, flow.state(&subject, runner, "github.com", now), "each state is new");
        let checked = flow.check(&state, runner, now).unwrap();
        assert_eq!(
            checked,
            OAuthState {
                subject: subject.clone(),
                runner_id: runner,
                host: "github.com".into(),
                expires_at: now.plus_seconds(STATE_TTL_SECS)
            }
        );
        assert_eq!(
            violation(flow.check(&state, Uuid::now_v7(), now).unwrap_err()),
            "state: was signed for another runner"
        );
        let late = violation(flow.check(&state, runner, now.plus_seconds(STATE_TTL_SECS)).unwrap_err());
        assert!(late.starts_with("state: expired at "), "{late}");
        // Altered, foreign or not a state at all.
        let mut altered = state.clone();
        altered.insert(3, 'x');
        let foreign = OAuthFlow::new(PageTokens::new([4; 32])).state(&subject, runner, "github.com", now);
        let page_token = PageTokens::new([3; 32]).encode("runners", &(), "");
        for bad in [altered.as_str(), foreign.as_str(), page_token.as_str(), "", "x.y"] {
            assert!(violation(flow.check(bad, runner, now).unwrap_err()).contains("not an OAuth state"), "{bad}");
        }
    }

    #[test]
    fn web_bases_follow_the_host_unless_configured() {
        let integration = |host: &str, dir: Option<&str>| ScmIntegration {
            id: Uuid::now_v7(),
            runner_id: Uuid::now_v7(),
            scm_id: "github".into(),
            host: host.into(),
            oauth: None,
            pat: true,
            virtual_directory: dir.map(str::to_owned),
            created_at: Timestamp::now(),
            updated_at: Timestamp::now(),
            revision: 1,
        };
        let flow =
            flow().with_web_urls([("GitHub.example.com".to_owned(), "http://127.0.0.1:9/github/".to_owned())].into());
        assert_eq!(flow.web_base(&integration("github.com", None)), "https://github.com");
        assert_eq!(flow.web_base(&integration("GitHub.com", None)), "https://github.com");
        assert_eq!(flow.web_base(&integration("github.example.com", None)), "http://127.0.0.1:9/github");
        assert_eq!(flow.web_base(&integration("tfs.example.com", Some("/tfs"))), "https://tfs.example.com/tfs");
    }
}
