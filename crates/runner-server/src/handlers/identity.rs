//! IdentityService handlers: who the caller is, ID tokens, and the token exchange (the one RPC
//! that needs no bearer token: the exchange token is the credential); and the ID tokens'
//! issuer metadata and keys, at `/.well-known/openid-configuration` and
//! `/.well-known/jwks.json`, where OpenID Connect verifiers look for them.

use axum::Json;
use axum::extract::State;
use axum::response::IntoResponse;
use connectrpc_axum::prelude::ConnectRequest;
use gitpod_api::gitpod::v1::*;

use super::{Reply, check, reply};
use crate::auth::Authenticated;
use crate::convert;
use crate::state::AppState;

pub async fn exchange_token(
    State(s): State<AppState>,
    ConnectRequest(r): ConnectRequest<ExchangeTokenRequest>,
) -> Reply<ExchangeTokenResponse> {
    reply(check(&r), async move {
        let issued = s.runner_side.exchange(&r.exchange_token).await;
        let result = if issued.is_ok() { "ok" } else { "refused" };
        metrics::counter!("runner_token_exchanges_total", "result" => result).increment(1);
        Ok(convert::exchanged_token(issued?))
    })
    .await
}

pub async fn get_authenticated_identity(
    Authenticated(caller): Authenticated,
    ConnectRequest(r): ConnectRequest<GetAuthenticatedIdentityRequest>,
) -> Reply<GetAuthenticatedIdentityResponse> {
    reply(check(&r), async move {
        Ok(convert::authenticated_identity(runner_core::accounts::authenticated_identity(&caller)))
    })
    .await
}

pub async fn get_id_token(
    State(s): State<AppState>,
    Authenticated(caller): Authenticated,
    ConnectRequest(r): ConnectRequest<GetIdTokenRequest>,
) -> Reply<GetIdTokenResponse> {
    reply(check(&r), async move {
        let version = convert::id_token_version(r.version)?;
        let token =
            s.id_tokens.issue(&caller, &r.audience, version, &s.public_url, runner_core::time::Timestamp::now())?;
        Ok(GetIdTokenResponse { token })
    })
    .await
}

/// Where the keys that verify ID tokens are published.
pub const JWKS_PATH: &str = "/.well-known/jwks.json";
/// The issuer's OpenID provider metadata.
pub const DISCOVERY_PATH: &str = "/.well-known/openid-configuration";

/// `GET /.well-known/openid-configuration`: the issuer (the server's public URL) and its keys'
/// address.
pub async fn openid_configuration(State(s): State<AppState>) -> impl IntoResponse {
    let issuer = &*s.public_url;
    let document = runner_core::id_tokens::IdTokens::discovery(issuer, &format!("{issuer}{JWKS_PATH}"));
    ([(http::header::CACHE_CONTROL, "public, max-age=3600")], Json(document))
}

/// `GET /.well-known/jwks.json`: the public key that verifies ID tokens.
pub async fn jwks(State(s): State<AppState>) -> impl IntoResponse {
    ([(http::header::CACHE_CONTROL, "public, max-age=3600")], Json(s.id_tokens.jwks()))
}
