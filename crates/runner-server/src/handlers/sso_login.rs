//! Signing in through SSO: AccountService's GetSSOLoginURL (unauthenticated), and the plain
//! HTTP endpoints of the browser's round trip through the provider (served on the API's port,
//! also under `/api`):
//!
//! - `GET /auth/sso/start?configuration=ID[&invite=ID][&return_to=URL]`: 303 to the provider's
//!   authorization URL, with a fresh state, nonce and PKCE verifier (what ListLoginProviders'
//!   `login_url` points at);
//! - `GET /auth/sso/callback?code=…&state=…` (the redirect URI registered at providers): signs
//!   the person in, sets the `runner_session` cookie and answers 303 to `return_to`; on any
//!   failure, 303 to `{public_url}/?sso_error=<sentence>#/signin` for the console's sign-in
//!   screen;
//! - `POST /auth/sso/logout`: ends the cookie's session and clears the cookie; 204.
//!
//! Sign-in and sign-out are audit log entries (actions [`LOGIN_ACTION`], [`LOGOUT_ACTION`]).
//! Neither the code, the state nor any token is logged.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use connectrpc_axum::prelude::ConnectRequest;
use gitpod_api::gitpod::v1::*;
use http::{HeaderMap, HeaderValue, StatusCode, header};
use runner_core::CoreError;
use runner_core::audit::AuditScope;

use super::{Reply, check, reply};
use crate::auth::{SESSION_COOKIE, check_session_origin, session_cookie};
use crate::state::AppState;

pub const START_PATH: &str = "/auth/sso/start";
pub const CALLBACK_PATH: &str = runner_core::sso_login::CALLBACK_PATH;
pub const LOGOUT_PATH: &str = "/auth/sso/logout";
/// The audit log action of a sign-in.
pub const LOGIN_ACTION: &str = "auth/sso/login";
/// The audit log action of a sign-out.
pub const LOGOUT_ACTION: &str = "auth/sso/logout";

pub async fn get_sso_login_url(
    State(s): State<AppState>,
    ConnectRequest(r): ConnectRequest<GetSsoLoginUrlRequest>,
) -> Reply<GetSsoLoginUrlResponse> {
    reply(check(&r), async move {
        let login_url = s.sso_logins.login_url_for_email(&r.email, r.return_to.as_deref()).await?;
        Ok(GetSsoLoginUrlResponse { login_url })
    })
    .await
}

fn see_other(location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(v) => (StatusCode::SEE_OTHER, [(header::LOCATION, v)]).into_response(),
        Err(_) => (StatusCode::BAD_REQUEST, "bad redirect location").into_response(),
    }
}

/// The console's sign-in screen with `e` as a sentence.
fn failure(s: &AppState, e: &CoreError) -> Response {
    let sentence = match e {
        CoreError::Internal(detail) => {
            tracing::error!(target: "runner_server::sso", error = %detail, "SSO sign-in failed");
            "the sign-in failed on the server; try again".to_owned()
        }
        CoreError::Unavailable(m) => {
            tracing::warn!(target: "runner_server::sso", error = %m, "SSO sign-in failed");
            m.clone()
        }
        e => {
            tracing::info!(target: "runner_server::sso", reason = %e, "SSO sign-in refused");
            e.to_string()
        }
    };
    let encoded: String = url_encode(&sentence);
    see_other(&format!("{}/?sso_error={encoded}#/signin", s.sso_logins.public_url()))
}

/// Percent-encoding of a query value (RFC 3986 unreserved characters kept).
fn url_encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn secure(s: &AppState) -> &'static str {
    if s.sso_logins.public_url().starts_with("https://") { "; Secure" } else { "" }
}

/// `GET /auth/sso/start`.
pub async fn start(State(s): State<AppState>, Query(q): Query<HashMap<String, String>>) -> Response {
    let configuration = q.get("configuration").map(String::as_str).unwrap_or_default();
    let started = s
        .sso_logins
        .start(configuration, q.get("invite").map(String::as_str), q.get("return_to").map(String::as_str))
        .await;
    match started {
        Ok(url) => see_other(&url),
        Err(e) => failure(&s, &e),
    }
}

/// `GET /auth/sso/callback`.
pub async fn callback(State(s): State<AppState>, Query(q): Query<HashMap<String, String>>) -> Response {
    if let Some(error) = q.get("error") {
        let description = q.get("error_description").map(|d| format!(": {d}")).unwrap_or_default();
        let e = CoreError::Unauthenticated(format!("the identity provider ended the sign-in ({error}{description})"));
        return failure(&s, &e);
    }
    let (code, state) = (q.get("code").map(String::as_str), q.get("state").map(String::as_str));
    let signed_in = runner_core::audit::scope(
        AuditScope::new(LOGIN_ACTION),
        s.sso_logins.finish(code.unwrap_or_default(), state.unwrap_or_default()),
    )
    .await;
    match signed_in {
        Ok(signed) => {
            tracing::info!(target: "runner_server::sso", member = %signed.member.id, org = %signed.member.org_id, "signed in through SSO");
            let max_age = (signed.session.expires_at.0 - signed.session.created_at.0) / 1_000_000;
            let cookie = format!(
                "{SESSION_COOKIE}={}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{}",
                signed.session_token,
                secure(&s)
            );
            let mut response = see_other(&signed.return_to);
            if let Ok(v) = HeaderValue::from_str(&cookie) {
                response.headers_mut().append(header::SET_COOKIE, v);
            }
            response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(e) => failure(&s, &e),
    }
}

/// `POST /auth/sso/logout`.
pub async fn logout(State(s): State<AppState>, headers: HeaderMap) -> Response {
    let clear = format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{}", secure(&s));
    if let Some(token) = session_cookie(&headers) {
        if let Err(e) = check_session_origin(&headers, &s) {
            return (StatusCode::FORBIDDEN, e.to_string()).into_response();
        }
        let ended = runner_core::audit::scope(AuditScope::new(LOGOUT_ACTION), s.sso_logins.logout(token)).await;
        if let Err(e) = ended {
            tracing::warn!(target: "runner_server::sso", error = %e, "SSO sign-out failed");
            return (StatusCode::SERVICE_UNAVAILABLE, "the session could not be ended; try again").into_response();
        }
    }
    let mut response = StatusCode::NO_CONTENT.into_response();
    if let Ok(v) = HeaderValue::from_str(&clear) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    response
}
