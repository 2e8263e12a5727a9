//! Authentication: every API call carries `Authorization: Bearer <token>`, or, without that
//! header, the console session cookie ([`SESSION_COOKIE`]) of a user signed in through SSO. The
//! extractors work the same for Connect, gRPC and gRPC-web (connectrpc-axum hands them the
//! request's headers on every path). Health and reflection are not behind them.
//!
//! Cross-site request forgery: a browser sends the cookie by itself, so a call authenticated by
//! it is refused when it comes from another site ([`check_session_origin`]): its `Origin`, when
//! present, must be the public URL's origin or a `--cors-origin`, and without an `Origin` its
//! `Sec-Fetch-Site`, when present, must be `same-origin` or `none`. The cookie is also
//! `SameSite=Lax` (not sent on cross-site subrequests), and Connect's and gRPC-web's content
//! types make a cross-origin call a preflighted one, which CORS answers only for the allowed
//! origins. Bearer tokens are not sent by browsers on their own and need none of this.

use axum::extract::FromRequestParts;
use connectrpc_axum::prelude::ConnectError;
use http::HeaderMap;
use http::request::Parts;
use runner_core::CoreError;
use runner_core::identity::Caller;

use crate::error::to_connect;
use crate::state::AppState;

/// The console session cookie (HttpOnly, SameSite=Lax, Path=/, Secure on https).
pub const SESSION_COOKIE: &str = "runner_session";

/// The authenticated caller of a request.
pub struct Authenticated(pub Caller);

/// The authenticated caller and the bearer token it presented, for the one call that acts on
/// the token itself (RefreshRunnerAccessToken).
pub struct AuthenticatedBy(pub Caller, pub String);

impl FromRequestParts<AppState> for Authenticated {
    type Rejection = ConnectError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let AuthenticatedBy(caller, _) = AuthenticatedBy::from_request_parts(parts, state).await?;
        Ok(Authenticated(caller))
    }
}

/// The value of the session cookie, if the request has one.
pub fn session_cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.trim())
        .filter(|v| !v.is_empty())
}

/// Refuses a request authenticated by the session cookie that comes from another site (see the
/// module's documentation).
pub fn check_session_origin(headers: &HeaderMap, state: &AppState) -> Result<(), CoreError> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim);
    if let Some(origin) = header("origin") {
        let origin = origin.trim_end_matches('/').to_ascii_lowercase();
        if state.session_origins.contains(&origin) {
            return Ok(());
        }
        return Err(CoreError::Unauthenticated(format!(
            "a session cookie is accepted only from this server's pages, not from {origin}; use a bearer token"
        )));
    }
    match header("sec-fetch-site") {
        None | Some("same-origin") | Some("none") => Ok(()),
        Some(_) => Err(CoreError::Unauthenticated(
            "a session cookie is accepted only from this server's pages; use a bearer token".to_owned(),
        )),
    }
}

impl FromRequestParts<AppState> for AuthenticatedBy {
    type Rejection = ConnectError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let header = parts.headers.get(http::header::AUTHORIZATION).and_then(|v| v.to_str().ok());
        let bearer =
            header.and_then(|h| h.strip_prefix("Bearer ").or_else(|| h.strip_prefix("bearer "))).map(str::trim);
        let refused = |e: CoreError| {
            crate::telemetry::record_code("unauthenticated");
            crate::telemetry::record_denial("-", &e.to_string());
            to_connect(e)
        };
        let (token, result) = match (header, bearer) {
            (_, Some(token)) => (token, state.identity.authenticate(token).await),
            // No Authorization header: the console's session cookie, from this server's pages.
            (None, None) => match session_cookie(&parts.headers) {
                Some(token) => match check_session_origin(&parts.headers, state) {
                    Ok(()) => (token, state.sso_logins.authenticate(token).await),
                    Err(e) => return Err(refused(e)),
                },
                None => return Err(refused(CoreError::Unauthenticated("missing bearer token".to_owned()))),
            },
            (Some(_), None) => return Err(refused(CoreError::Unauthenticated("missing bearer token".to_owned()))),
        };
        match result {
            Ok(caller) => {
                crate::telemetry::record_principal(&caller);
                runner_core::audit::set_actor(&caller);
                Ok(AuthenticatedBy(caller, token.to_owned()))
            }
            Err(e) => Err(refused(e)),
        }
    }
}
