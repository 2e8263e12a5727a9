//! IdentityService handlers: who the caller is, ID tokens, and the token exchange (the one RPC
//! that needs no bearer token: the exchange token is the credential).

use axum::extract::State;
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
