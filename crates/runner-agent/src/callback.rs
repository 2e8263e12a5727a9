//! The OAuth callback: where a provider sends a user's browser back after the user authorized
//! the runner's OAuth application, at `PUBLIC_URL/auth/{scm_id}/callback?code=…&state=…`.
//!
//! The agent asks the server whether it signed the `state` (CheckOauthState: for this runner,
//! not expired; it says whose authorization it is and where the provider's token endpoint is),
//! exchanges the code there with the integration's client secret, which only this runner can
//! open, and stores what the provider gave as that user's host authentication token
//! (StoreOauthHostToken, where the server checks the state again). A state is completed once.
//! The code, the client secret and the tokens are never logged; the token's fingerprint is.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use crypto_box::SecretKey;
use gitpod_api::gitpod::v1::PaginationRequest;
use gitpod_api::runnerside::v1::runner_interaction_service_client::RunnerInteractionServiceClient;
use gitpod_api::runnerside::v1::*;
use oauth2::basic::BasicClient;
use oauth2::{AuthType, AuthorizationCode, ClientId, ClientSecret, RedirectUrl, TokenResponse, TokenUrl};
use serde::Deserialize;
use tonic::transport::Channel;
use tonic::{Code, Status};

use crate::agent::{Authed, Bearer, fingerprint, unix_now};

/// The path of the callback of one SCM, under the public URL.
pub fn callback_path(scm_id: &str) -> String {
    format!("/auth/{scm_id}/callback")
}

/// What the callback needs from the agent: its runner, its key and its current access token.
pub struct Callbacks {
    pub(crate) runner_id: String,
    pub(crate) channel: Channel,
    pub(crate) key: SecretKey,
    /// `Bearer gpr_…` of the agent's current access token, kept up to date by the agent.
    pub(crate) bearer: Arc<RwLock<Option<Bearer>>>,
    http: reqwest::Client,
    /// States used, until when they are remembered (seconds since the epoch), so that a
    /// replayed callback is refused rather than exchanged again.
    completed: Mutex<HashMap<String, i64>>,
}

impl Callbacks {
    pub(crate) fn new(
        runner_id: String,
        channel: Channel,
        key: SecretKey,
        bearer: Arc<RwLock<Option<Bearer>>>,
    ) -> anyhow::Result<Self> {
        // Never follow a provider's redirects with the code and secret (oauth2's advice).
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(20))
            .build()?;
        Ok(Self { runner_id, channel, key, bearer, http, completed: Mutex::default() })
    }
}

/// Serves the callbacks on `listener` until the process ends.
pub fn serve(listener: tokio::net::TcpListener, callbacks: Arc<Callbacks>) -> SocketAddr {
    let addr = listener.local_addr().expect("a bound listener has an address");
    let app = Router::new().route("/auth/{scm_id}/callback", get(callback)).with_state(callbacks);
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "the OAuth callback server stopped");
        }
    });
    addr
}

#[derive(Deserialize)]
struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// Why a callback could not be completed, and the page that says so.
struct Failed(StatusCode, String);

impl IntoResponse for Failed {
    fn into_response(self) -> Response {
        (self.0, page("Authentication failed", &self.1)).into_response()
    }
}

impl Failed {
    fn from_status(what: &str, s: &Status) -> Self {
        let code = match s.code() {
            Code::InvalidArgument | Code::FailedPrecondition | Code::NotFound | Code::PermissionDenied => {
                StatusCode::BAD_REQUEST
            }
            _ => StatusCode::SERVICE_UNAVAILABLE,
        };
        Failed(code, format!("{what}: {}", s.message()))
    }
}

async fn callback(
    State(c): State<Arc<Callbacks>>,
    Path(scm_id): Path<String>,
    Query(q): Query<CallbackQuery>,
) -> Result<Html<String>, Failed> {
    if let Some(error) = q.error {
        let why = q.error_description.unwrap_or_default();
        return Err(Failed(StatusCode::BAD_REQUEST, format!("the provider did not authorize: {error} {why}")));
    }
    let (Some(code), Some(state)) = (q.code.filter(|c| !c.is_empty()), q.state.filter(|s| !s.is_empty())) else {
        return Err(Failed(StatusCode::BAD_REQUEST, "the callback needs a code and a state".to_owned()));
    };
    let now = unix_now();
    {
        // Claimed at once, so that of two deliveries of one callback only one goes on; a state
        // outlives no hour (the server's last 15 minutes).
        let mut completed = c.completed.lock().unwrap_or_else(|e| e.into_inner());
        completed.retain(|_, expires| *expires > now);
        if completed.insert(state.clone(), now + 3600).is_some() {
            return Err(Failed(StatusCode::BAD_REQUEST, "this authorization was used already".to_owned()));
        }
    }
    let mut interaction = c.interaction()?;
    let checked = interaction
        .check_oauth_state(CheckOauthStateRequest { runner_id: c.runner_id.clone(), state: state.clone() })
        .await
        .map_err(|s| Failed::from_status("the state was refused", &s))?
        .into_inner();
    if checked.scm_id != scm_id {
        return Err(Failed(
            StatusCode::BAD_REQUEST,
            format!("this callback is for {scm_id}, but the state is for {} ({})", checked.scm_id, checked.host),
        ));
    }
    let (client_id, client_secret) = c.client_credentials(&checked.integration_id).await?;
    let exchanged = c.exchange(&checked, client_id, client_secret, code).await?;
    let expires_at = exchanged.expires_in().map(|d| gitpod_api::wkt::Timestamp {
        seconds: now.saturating_add(i64::try_from(d.as_secs()).unwrap_or(i64::MAX)),
        nanos: 0,
    });
    // GitHub lists its scopes with commas; RFC 6749 with spaces.
    let scopes = exchanged
        .scopes()
        .map(|s| s.iter().flat_map(|scope| scope.split(',')).filter(|s| !s.is_empty()).map(str::to_owned).collect())
        .unwrap_or_default();
    let token_fingerprint = fingerprint(exchanged.access_token().secret().as_bytes());
    let stored = interaction
        .store_oauth_host_token(StoreOauthHostTokenRequest {
            runner_id: c.runner_id.clone(),
            state,
            token: exchanged.access_token().secret().clone(),
            refresh_token: exchanged.refresh_token().map(|r| r.secret().clone()).unwrap_or_default(),
            expires_at,
            scopes,
        })
        .await
        .map_err(|s| Failed::from_status("the token could not be stored", &s))?
        .into_inner();
    let subject = checked.subject.map(|s| s.id).unwrap_or_default();
    tracing::info!(
        host = %checked.host,
        subject,
        token = %stored.token.map(|t| t.id).unwrap_or_default(),
        fingerprint = %token_fingerprint,
        "stored an OAuth host authentication token"
    );
    Ok(page(
        "Authenticated",
        &format!("Signed in to {}. The runner keeps the token for you; you can close this page.", checked.host),
    ))
}

impl Callbacks {
    fn interaction(&self) -> Result<RunnerInteractionServiceClient<Authed>, Failed> {
        let bearer = self.bearer.read().unwrap_or_else(|e| e.into_inner()).clone();
        let bearer = bearer.ok_or_else(|| {
            Failed(
                StatusCode::SERVICE_UNAVAILABLE,
                "the runner has not signed in to its server yet; try again".to_owned(),
            )
        })?;
        Ok(RunnerInteractionServiceClient::with_interceptor(self.channel.clone(), bearer))
    }

    /// The OAuth client id of an integration of this runner, and its client secret opened with
    /// the runner's key.
    async fn client_credentials(&self, integration_id: &str) -> Result<(ClientId, ClientSecret), Failed> {
        let mut token = String::new();
        loop {
            let page = self
                .interaction()?
                .list_runner_scm_integrations(ListRunnerScmIntegrationsRequest {
                    runner_id: self.runner_id.clone(),
                    pagination: Some(PaginationRequest { page_size: 100, token }),
                })
                .await
                .map_err(|s| Failed::from_status("the runner's SCM integrations could not be read", &s))?
                .into_inner();
            if let Some(oauth) = page.integrations.into_iter().find(|i| i.id == integration_id).and_then(|i| i.oauth) {
                let secret = self.key.unseal(&oauth.encrypted_client_secret).map_err(|_| {
                    Failed(
                        StatusCode::BAD_REQUEST,
                        "the OAuth client secret was sealed to another key of this runner: enter it again".to_owned(),
                    )
                })?;
                let secret = String::from_utf8(secret)
                    .map_err(|_| Failed(StatusCode::BAD_REQUEST, "the OAuth client secret is not text".to_owned()))?;
                return Ok((ClientId::new(oauth.client_id), ClientSecret::new(secret)));
            }
            token = page.pagination.map(|p| p.next_token).unwrap_or_default();
            if token.is_empty() {
                return Err(Failed(
                    StatusCode::BAD_REQUEST,
                    "the integration has no OAuth configured any more".to_owned(),
                ));
            }
        }
    }

    /// The provider's answer for `code`, at the token endpoint the server named.
    async fn exchange(
        &self,
        checked: &CheckOauthStateResponse,
        client_id: ClientId,
        client_secret: ClientSecret,
        code: String,
    ) -> Result<oauth2::basic::BasicTokenResponse, Failed> {
        let bad_setup = |what: &str, e: &dyn std::fmt::Display| Failed(StatusCode::BAD_GATEWAY, format!("{what}: {e}"));
        let token_url = TokenUrl::new(checked.token_url.clone()).map_err(|e| bad_setup("the token URL", &e))?;
        let mut client = BasicClient::new(client_id)
            .set_client_secret(client_secret)
            .set_token_uri(token_url)
            .set_auth_type(if checked.client_secret_basic { AuthType::BasicAuth } else { AuthType::RequestBody });
        if !checked.redirect_uri.is_empty() {
            let redirect =
                RedirectUrl::new(checked.redirect_uri.clone()).map_err(|e| bad_setup("the redirect URI", &e))?;
            client = client.set_redirect_uri(redirect);
        }
        client.exchange_code(AuthorizationCode::new(code)).request_async(&self.http).await.map_err(|e| {
            let why = match &e {
                oauth2::RequestTokenError::ServerResponse(r) => {
                    format!("{} {}", r.error(), r.error_description().cloned().unwrap_or_default())
                }
                // GitHub answers a refused code with 200 and an error body, which is no token.
                oauth2::RequestTokenError::Parse(_, body) => String::from_utf8_lossy(body).chars().take(300).collect(),
                other => other.to_string(),
            };
            Failed(StatusCode::BAD_GATEWAY, format!("{} refused the authorization code: {why}", checked.host))
        })
    }
}

/// A small HTML page; `text` is escaped.
fn page(title: &str, text: &str) -> Html<String> {
    let escape = |s: &str| s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;");
    Html(format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{t}</title></head>\
         <body><h1>{t}</h1><p>{}</p></body></html>",
        escape(text),
        t = escape(title)
    ))
}
