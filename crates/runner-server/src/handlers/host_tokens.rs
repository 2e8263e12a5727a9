//! RunnerConfigurationService handlers for host authentication tokens.

use axum::extract::State;
use connectrpc_axum::prelude::ConnectRequest;
use gitpod_api::gitpod::v1::*;
use http::Uri;
use runner_core::host_tokens::{CreateHostTokenInput, UpdateHostTokenInput};

use super::{Reply, reply};
use crate::auth::Authenticated;
use crate::convert;
use crate::paging;
use crate::state::AppState;

#[allow(deprecated)] // userId is still read, as older clients send it
pub async fn create_host_authentication_token(
    State(s): State<AppState>,
    Authenticated(caller): Authenticated,
    ConnectRequest(r): ConnectRequest<CreateHostAuthenticationTokenRequest>,
) -> Reply<CreateHostAuthenticationTokenResponse> {
    reply(async move {
        let input = CreateHostTokenInput {
            runner_id: r.runner_id,
            user_id: r.user_id,
            subject: r.subject.map(|s| (s.id, s.principal)),
            host: r.host,
            token: r.token,
            source: r.source,
            expires_at: convert::from_timestamp("expiresAt", r.expires_at)?,
            refresh_token: r.refresh_token,
            integration_id: r.integration_id,
            scopes: r.scopes,
        };
        let token = s.host_tokens.create(&caller, input).await?;
        Ok(CreateHostAuthenticationTokenResponse { token: Some(convert::host_token(token)) })
    })
    .await
}

pub async fn get_host_authentication_token(
    State(s): State<AppState>,
    Authenticated(caller): Authenticated,
    ConnectRequest(r): ConnectRequest<GetHostAuthenticationTokenRequest>,
) -> Reply<GetHostAuthenticationTokenResponse> {
    reply(async move {
        let token = s.host_tokens.get(&caller, &r.id).await?;
        Ok(GetHostAuthenticationTokenResponse { token: Some(convert::host_token(token)) })
    })
    .await
}

#[allow(deprecated)] // the deprecated userId filter is honoured
pub async fn list_host_authentication_tokens(
    State(s): State<AppState>,
    Authenticated(caller): Authenticated,
    uri: Uri,
    ConnectRequest(mut r): ConnectRequest<ListHostAuthenticationTokensRequest>,
) -> Reply<ListHostAuthenticationTokensResponse> {
    reply(async move {
        let page = paging::page(&uri, r.pagination.take())?;
        let f = r.filter.unwrap_or_default();
        let page = s
            .host_tokens
            .list(
                &caller,
                f.runner_id.as_deref(),
                f.subject_id.as_deref(),
                f.user_id.as_deref(),
                page.size,
                &page.token,
            )
            .await?;
        Ok(ListHostAuthenticationTokensResponse {
            pagination: convert::pagination(page.next_token),
            tokens: page.items.into_iter().map(convert::host_token).collect(),
        })
    })
    .await
}

pub async fn update_host_authentication_token(
    State(s): State<AppState>,
    Authenticated(caller): Authenticated,
    ConnectRequest(r): ConnectRequest<UpdateHostAuthenticationTokenRequest>,
) -> Reply<UpdateHostAuthenticationTokenResponse> {
    reply(async move {
        let input = UpdateHostTokenInput {
            id: r.id,
            token: r.token,
            expires_at: convert::from_timestamp("expiresAt", r.expires_at)?,
            refresh_token: r.refresh_token,
            scopes: r.scopes,
        };
        s.host_tokens.update(&caller, input).await?;
        Ok(UpdateHostAuthenticationTokenResponse {})
    })
    .await
}

pub async fn delete_host_authentication_token(
    State(s): State<AppState>,
    Authenticated(caller): Authenticated,
    ConnectRequest(r): ConnectRequest<DeleteHostAuthenticationTokenRequest>,
) -> Reply<DeleteHostAuthenticationTokenResponse> {
    reply(async move {
        s.host_tokens.delete(&caller, &r.id).await?;
        Ok(DeleteHostAuthenticationTokenResponse {})
    })
    .await
}
