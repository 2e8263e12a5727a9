//! The [`OidcDiscovery`] adapter: reads an issuer's discovery document over HTTP(S) with the
//! workspace's reqwest client (rustls), bounded in time and size.

use std::time::Duration;

use async_trait::async_trait;
use runner_core::sso::{OidcDiscovery, ProviderMetadata};
use serde::Deserialize;

/// How long reading one discovery document may take.
const TIMEOUT: Duration = Duration::from_secs(10);
/// The largest discovery document read.
const MAX_BYTES: usize = 256 * 1024;
/// Where the document is, under the issuer (OpenID Connect Discovery 1.0, section 4).
pub const DISCOVERY_SUFFIX: &str = "/.well-known/openid-configuration";

/// Reads discovery documents over HTTP(S).
pub struct HttpDiscovery {
    client: reqwest::Client,
}

impl HttpDiscovery {
    pub fn new() -> Self {
        let client = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .redirect(reqwest::redirect::Policy::limited(3))
            .user_agent(concat!("gitpod-runner-api/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("an HTTP client with these settings builds");
        Self { client }
    }
}

impl Default for HttpDiscovery {
    fn default() -> Self {
        Self::new()
    }
}

/// The fields of the discovery document the code flow needs; every one is required.
#[derive(Deserialize)]
struct Document {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
    jwks_uri: String,
}

#[async_trait]
impl OidcDiscovery for HttpDiscovery {
    async fn discover(&self, issuer_url: &str) -> Result<ProviderMetadata, String> {
        let url = format!("{}{DISCOVERY_SUFFIX}", issuer_url.trim_end_matches('/'));
        let mut response = self.client.get(&url).send().await.map_err(|e| {
            let why = if e.is_timeout() {
                "it did not answer in time".to_owned()
            } else {
                "it could not be reached".to_owned()
            };
            format!("{why} ({url})")
        })?;
        if !response.status().is_success() {
            return Err(format!("{url} answered HTTP {}", response.status().as_u16()));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|_| format!("reading {url} failed"))? {
            if body.len() + chunk.len() > MAX_BYTES {
                return Err(format!("{url} is larger than {MAX_BYTES} bytes"));
            }
            body.extend_from_slice(&chunk);
        }
        let doc: Document = serde_json::from_slice(&body)
            .map_err(|e| format!("{url} is not an OpenID provider configuration ({e})"))?;
        for (name, value) in [
            ("authorization_endpoint", &doc.authorization_endpoint),
            ("token_endpoint", &doc.token_endpoint),
            ("jwks_uri", &doc.jwks_uri),
        ] {
            if !(value.starts_with("https://") || value.starts_with("http://")) {
                return Err(format!("{url} has no usable {name}"));
            }
        }
        Ok(ProviderMetadata {
            issuer: doc.issuer,
            authorization_endpoint: doc.authorization_endpoint,
            token_endpoint: doc.token_endpoint,
            jwks_uri: doc.jwks_uri,
        })
    }
}
