//! SCM provider adapters: the REST APIs of GitHub, GitLab, Bitbucket Cloud and Azure DevOps
//! behind runner-core's [`ScmApi`] port.
//!
//! [`HttpScm`] is the [`ScmConnector`]: it holds one pooled HTTP client and opens an [`ScmApi`]
//! for an integration's endpoint and a user's credential. Every request carries the credential
//! in an `Authorization` header marked sensitive; the token never appears in a log line or in
//! an [`ScmError`].
//!
//! - `http`: requests, retries, and `classify`, the one function that maps provider answers to
//!   [`ScmError`];
//! - one module per provider: `github`, `gitlab`, `bitbucket`, `azure`;
//! - `fake` (feature `fake`): in-process fake providers for tests, documented there.

// The fake providers' JSON literals are large.
#![cfg_attr(feature = "fake", recursion_limit = "512")]

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use runner_core::scm::provider::{Credential, ScmApi, ScmConnector, ScmEndpoint, ScmError, ScmKind, ScmResult};
use url::Url;

mod azure;
mod bitbucket;
mod github;
mod gitlab;
mod http;

#[cfg(feature = "fake")]
pub mod fake;

/// How [`HttpScm`] reaches providers.
#[derive(Debug, Clone)]
pub struct HttpScmConfig {
    /// Integration host (lower-case, as configured, e.g. `github.com`, `ghe.example.com`,
    /// `dev.azure.com/acme`) -> API base URL overriding the default. Used for tests and unusual
    /// installs. For Azure DevOps the override also serves the profile and accounts APIs.
    pub api_urls: HashMap<String, String>,
    /// Per request (each attempt); 10 s by default.
    pub timeout: Duration,
    /// Further attempts of a failed read; 2 by default (so 3 attempts).
    pub retries: u32,
}

impl Default for HttpScmConfig {
    fn default() -> Self {
        Self { api_urls: HashMap::new(), timeout: Duration::from_secs(10), retries: 2 }
    }
}

/// The connector to real providers over HTTP(S). Cheap to share: one client, one pool.
#[derive(Debug, Clone)]
pub struct HttpScm {
    client: reqwest::Client,
    api_urls: Arc<HashMap<String, Url>>,
    timeout: Duration,
    retries: u32,
}

/// Connect timeout of every request.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

impl HttpScm {
    pub fn new(config: HttpScmConfig) -> anyhow::Result<Self> {
        let mut api_urls = HashMap::new();
        for (host, url) in &config.api_urls {
            let parsed = Url::parse(url.trim_end_matches('/'))
                .with_context(|| format!("SCM API URL for host {host:?} is not a URL: {url:?}"))?;
            anyhow::ensure!(
                matches!(parsed.scheme(), "http" | "https") && !parsed.cannot_be_a_base(),
                "SCM API URL for host {host:?} must be an http(s) URL: {url:?}"
            );
            api_urls.insert(host.trim().trim_end_matches('/').to_ascii_lowercase(), parsed);
        }
        let client = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(config.timeout)
            .user_agent(http::USER_AGENT)
            .build()
            .context("building the SCM HTTP client")?;
        Ok(Self { client, api_urls: Arc::new(api_urls), timeout: config.timeout, retries: config.retries })
    }

    /// The configured override for an integration host: the host as configured, else (for
    /// hosts with a path, such as `dev.azure.com/acme`) the host name alone.
    fn override_for(&self, host: &str) -> Option<Url> {
        let host = host.trim_end_matches('/').to_ascii_lowercase();
        self.api_urls.get(&host).or_else(|| self.api_urls.get(host_name(&host))).cloned()
    }
}

/// The host part of an integration host: `dev.azure.com/acme` -> `dev.azure.com`.
fn host_name(host: &str) -> &str {
    host.split('/').next().unwrap_or(host)
}

/// `https://{host}{path}` as a base URL.
fn https_base(host: &str, path: &str) -> ScmResult<Url> {
    let url = format!("https://{host}{path}");
    Url::parse(url.trim_end_matches('/'))
        .ok()
        .filter(|u| !u.cannot_be_a_base())
        .ok_or_else(|| ScmError::Protocol(format!("cannot build an API URL from the SCM host {host:?}")))
}

/// The API base URLs of an endpoint: the provider's API, and for Azure DevOps the profile API
/// and the web UI.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Bases {
    api: Url,
    profiles: Option<Url>,
    web: Option<Url>,
}

impl HttpScm {
    fn bases(&self, endpoint: &ScmEndpoint) -> ScmResult<Bases> {
        let host = endpoint.host.trim_end_matches('/').to_ascii_lowercase();
        let overridden = self.override_for(&host);
        let api = |default: ScmResult<Url>| overridden.clone().map_or(default, Ok);
        Ok(match endpoint.kind {
            ScmKind::GitHub => Bases {
                api: api(if host == "github.com" {
                    https_base("api.github.com", "")
                } else {
                    https_base(&host, "/api/v3")
                })?,
                profiles: None,
                web: None,
            },
            ScmKind::GitLab => Bases { api: api(https_base(&host, "/api/v4"))?, profiles: None, web: None },
            ScmKind::Bitbucket => Bases {
                api: api(if host == "bitbucket.org" {
                    https_base("api.bitbucket.org", "/2.0")
                } else {
                    https_base(&host, "/2.0")
                })?,
                profiles: None,
                web: None,
            },
            ScmKind::AzureDevOps => {
                let web = https_base(
                    host_name(&host),
                    &virtual_directory(endpoint).map(|v| format!("/{v}")).unwrap_or_default(),
                )?;
                match overridden {
                    // One override serves the Git API and the profile/accounts APIs.
                    Some(u) => Bases { api: u.clone(), profiles: Some(u), web: Some(web) },
                    None => Bases {
                        api: web.clone(),
                        profiles: Some(https_base("app.vssps.visualstudio.com", "")?),
                        web: Some(web),
                    },
                }
            }
        })
    }
}

/// Azure DevOps Server's virtual directory without slashes, if any.
fn virtual_directory(endpoint: &ScmEndpoint) -> Option<&str> {
    endpoint.virtual_directory.as_deref().map(|v| v.trim_matches('/')).filter(|v| !v.is_empty())
}

impl ScmConnector for HttpScm {
    fn connect(&self, endpoint: &ScmEndpoint, credential: Credential) -> ScmResult<Box<dyn ScmApi>> {
        let host = endpoint.host.trim_end_matches('/').to_ascii_lowercase();
        let bases = self.bases(endpoint)?;
        let api = http::Api::new(self.client.clone(), endpoint.kind, &credential, self.retries, self.timeout)?;
        Ok(match endpoint.kind {
            ScmKind::GitHub => Box::new(github::GitHub::new(api, bases.api, &host)),
            ScmKind::GitLab => Box::new(gitlab::GitLab::new(api, bases.api, &host)),
            ScmKind::Bitbucket => Box::new(bitbucket::Bitbucket::new(api, bases.api, &host)),
            ScmKind::AzureDevOps => {
                let (profiles, web) = (
                    bases.profiles.unwrap_or_else(|| bases.api.clone()),
                    bases.web.unwrap_or_else(|| bases.api.clone()),
                );
                // `dev.azure.com/acme`: the organization the integration names.
                let organization = host.split_once('/').map(|(_, org)| org.trim_matches('/').to_owned());
                let server = virtual_directory(endpoint).is_some();
                Box::new(azure::Azure::new(api, azure::Bases { api: bases.api, profiles, web }, organization, server))
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint(kind: ScmKind, host: &str, vd: Option<&str>) -> ScmEndpoint {
        ScmEndpoint { kind, host: host.into(), virtual_directory: vd.map(Into::into) }
    }

    fn scm(overrides: &[(&str, &str)]) -> HttpScm {
        let api_urls = overrides.iter().map(|(h, u)| (h.to_string(), u.to_string())).collect();
        HttpScm::new(HttpScmConfig { api_urls, ..Default::default() }).unwrap()
    }

    #[test]
    fn default_api_bases() {
        let s = scm(&[]);
        let api = |kind, host: &str, vd| s.bases(&endpoint(kind, host, vd)).unwrap().api.to_string();
        assert_eq!(api(ScmKind::GitHub, "github.com", None), "https://api.github.com/");
        assert_eq!(api(ScmKind::GitHub, "ghe.example.com:8443", None), "https://ghe.example.com:8443/api/v3");
        assert_eq!(api(ScmKind::GitLab, "gitlab.com", None), "https://gitlab.com/api/v4");
        assert_eq!(api(ScmKind::GitLab, "GitLab.Example.com", None), "https://gitlab.example.com/api/v4");
        assert_eq!(api(ScmKind::Bitbucket, "bitbucket.org", None), "https://api.bitbucket.org/2.0");
        let azure = s.bases(&endpoint(ScmKind::AzureDevOps, "dev.azure.com/acme", None)).unwrap();
        assert_eq!(azure.api.as_str(), "https://dev.azure.com/");
        assert_eq!(azure.profiles.unwrap().as_str(), "https://app.vssps.visualstudio.com/");
        let server = s.bases(&endpoint(ScmKind::AzureDevOps, "tfs.example.com", Some("/tfs/"))).unwrap();
        assert_eq!(server.api.as_str(), "https://tfs.example.com/tfs");
        assert_eq!(server.web.unwrap().as_str(), "https://tfs.example.com/tfs");
    }

    #[test]
    fn overrides_by_host() {
        let s = scm(&[("GitHub.com", "http://127.0.0.1:9/github/"), ("dev.azure.com", "http://127.0.0.1:9/azure")]);
        let gh = s.bases(&endpoint(ScmKind::GitHub, "github.com", None)).unwrap();
        assert_eq!(gh.api.as_str(), "http://127.0.0.1:9/github");
        // `dev.azure.com/acme` falls back to the override of `dev.azure.com`, for both APIs.
        let azure = s.bases(&endpoint(ScmKind::AzureDevOps, "dev.azure.com/acme", None)).unwrap();
        assert_eq!(azure.api.as_str(), "http://127.0.0.1:9/azure");
        assert_eq!(azure.profiles.unwrap().as_str(), "http://127.0.0.1:9/azure");
        assert_eq!(azure.web.unwrap().as_str(), "https://dev.azure.com/");
        assert!(
            HttpScm::new(HttpScmConfig {
                api_urls: [("x".to_string(), "not a url".to_string())].into(),
                ..Default::default()
            })
            .is_err()
        );
    }
}
