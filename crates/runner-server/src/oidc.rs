//! The [`OidcDiscovery`] adapter: reads an issuer's discovery document over HTTP(S) with the
//! workspace's reqwest client (rustls), bounded in time and size.

use std::time::Duration;

use async_trait::async_trait;
use runner_core::sso::{OidcDiscovery, ProviderMetadata};
use runner_core::sso_login::{AuthorizationRequest, CodeExchange, OidcFlow, VerifiedIdentity};
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

/// The [`OidcFlow`] adapter: the authorization code flow with `openidconnect` (discovery, the
/// authorization URL with S256 PKCE, the code exchange, and the ID token's checks: signature
/// through the provider's JWKS, issuer, audience, expiry and nonce), over the workspace's
/// reqwest client, which follows no redirects (the library's advice against SSRF).
pub struct HttpOidcFlow {
    client: reqwest::Client,
}

impl HttpOidcFlow {
    pub fn new() -> Self {
        let client = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("gitpod-runner-api/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("an HTTP client with these settings builds");
        Self { client }
    }

    async fn metadata(&self, issuer_url: &str) -> Result<openidconnect::core::CoreProviderMetadata, String> {
        let issuer =
            openidconnect::IssuerUrl::new(issuer_url.to_owned()).map_err(|e| format!("bad issuer URL ({e})"))?;
        openidconnect::core::CoreProviderMetadata::discover_async(issuer, &self.client)
            .await
            .map_err(|e| format!("its discovery document could not be read ({})", chain(&e)))
    }
}

impl Default for HttpOidcFlow {
    fn default() -> Self {
        Self::new()
    }
}

/// An error with its sources, as one line.
fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

#[async_trait]
impl OidcFlow for HttpOidcFlow {
    async fn authorization_url(&self, r: &AuthorizationRequest) -> Result<String, String> {
        use openidconnect::core::{CoreAuthenticationFlow, CoreClient};
        use openidconnect::{ClientId, CsrfToken, Nonce, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope};
        let metadata = self.metadata(&r.issuer_url).await?;
        let redirect = RedirectUrl::new(r.redirect_uri.clone()).map_err(|e| format!("bad redirect URI ({e})"))?;
        let client = CoreClient::from_provider_metadata(metadata, ClientId::new(r.client_id.clone()), None)
            .set_redirect_uri(redirect);
        let challenge = PkceCodeChallenge::from_code_verifier_sha256(&PkceCodeVerifier::new(r.pkce_verifier.clone()));
        let (state, nonce) = (r.state.clone(), r.nonce.clone());
        let mut request = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                move || CsrfToken::new(state),
                move || Nonce::new(nonce),
            )
            .set_pkce_challenge(challenge);
        for scope in r.scopes.iter().filter(|s| s.as_str() != "openid") {
            request = request.add_scope(Scope::new(scope.clone()));
        }
        let (url, _, _) = request.url();
        Ok(url.to_string())
    }

    async fn exchange(&self, x: &CodeExchange) -> Result<VerifiedIdentity, String> {
        use openidconnect::core::CoreClient;
        use openidconnect::{
            AuthorizationCode, ClientId, ClientSecret, Nonce, OAuth2TokenResponse, PkceCodeVerifier, RedirectUrl,
            TokenResponse,
        };
        let metadata = self.metadata(&x.issuer_url).await?;
        let redirect = RedirectUrl::new(x.redirect_uri.clone()).map_err(|e| format!("bad redirect URI ({e})"))?;
        let client = CoreClient::from_provider_metadata(
            metadata,
            ClientId::new(x.client_id.clone()),
            Some(ClientSecret::new(x.client_secret.clone())),
        )
        .set_redirect_uri(redirect);
        let tokens = client
            .exchange_code(AuthorizationCode::new(x.code.clone()))
            .map_err(|e| format!("the provider has no token endpoint ({e})"))?
            .set_pkce_verifier(PkceCodeVerifier::new(x.pkce_verifier.clone()))
            .request_async(&self.client)
            .await
            .map_err(|e| format!("the code exchange failed ({})", token_error(&e)))?;
        let id_token = tokens.id_token().ok_or("the provider sent no ID token")?;
        let claims = id_token
            .claims(&client.id_token_verifier(), &Nonce::new(x.nonce.clone()))
            .map_err(|e| format!("the ID token is not valid ({})", chain(&e)))?;
        let mut identity = VerifiedIdentity {
            issuer: claims.issuer().as_str().to_owned(),
            subject: claims.subject().as_str().to_owned(),
            email: claims.email().map(|e| e.as_str().to_owned()),
            email_verified: claims.email_verified(),
            name: claims.name().and_then(|n| n.get(None)).map(|n| n.as_str().to_owned()),
            picture: claims.picture().and_then(|p| p.get(None)).map(|p| p.as_str().to_owned()),
        };
        // Providers may keep the scopes' claims out of an ID token issued with an access token
        // (OpenID Connect Core 5.4): then they are read from the UserInfo endpoint, whose `sub`
        // must be the ID token's.
        if identity.email.is_none() {
            let info: openidconnect::core::CoreUserInfoClaims = client
                .user_info(tokens.access_token().clone(), Some(claims.subject().clone()))
                .map_err(|e| format!("the ID token has no email and the provider has no UserInfo endpoint ({e})"))?
                .request_async(&self.client)
                .await
                .map_err(|e| format!("the UserInfo request failed ({})", chain(&e)))?;
            identity.email = info.email().map(|e| e.as_str().to_owned());
            identity.email_verified = info.email_verified();
            identity.name =
                identity.name.or_else(|| info.name().and_then(|n| n.get(None)).map(|n| n.as_str().to_owned()));
            identity.picture =
                identity.picture.or_else(|| info.picture().and_then(|p| p.get(None)).map(|p| p.as_str().to_owned()));
        }
        Ok(identity)
    }
}

/// A failed token request, without the response body (which may hold tokens).
fn token_error<RE: std::error::Error + 'static, T: openidconnect::ErrorResponse + 'static>(
    e: &openidconnect::RequestTokenError<RE, T>,
) -> String {
    match e {
        openidconnect::RequestTokenError::ServerResponse(r) => format!("the provider answered {r}"),
        openidconnect::RequestTokenError::Request(r) => format!("request failed: {}", chain(r)),
        openidconnect::RequestTokenError::Parse(_, _) => "the provider's answer could not be read".to_owned(),
        openidconnect::RequestTokenError::Other(m) => m.clone(),
    }
}
