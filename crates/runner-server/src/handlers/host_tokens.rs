//! RunnerConfigurationService handlers for host authentication tokens.

use axum::extract::State;
use connectrpc_axum::prelude::ConnectRequest;
use gitpod_api::gitpod::v1::*;

use super::{Reply, check, reply};
use crate::auth::Authenticated;
use crate::call::CallDeadline;
use crate::convert;
use crate::paging::Paging;
use crate::state::AppState;

pub async fn create_host_authentication_token(
    State(s): State<AppState>,
    Authenticated(caller): Authenticated,
    ConnectRequest(r): ConnectRequest<CreateHostAuthenticationTokenRequest>,
) -> Reply<CreateHostAuthenticationTokenResponse> {
    reply(check(&r), async move {
        let token = s.host_tokens.create(&caller, convert::create_host_authentication_token(r)?).await?;
        Ok(CreateHostAuthenticationTokenResponse { token: Some(convert::host_token(token)) })
    })
    .await
}

pub async fn get_host_authentication_token(
    State(s): State<AppState>,
    Authenticated(caller): Authenticated,
    ConnectRequest(r): ConnectRequest<GetHostAuthenticationTokenRequest>,
) -> Reply<GetHostAuthenticationTokenResponse> {
    reply(check(&r), async move {
        let token = s.host_tokens.get(&caller, &r.id).await?;
        Ok(GetHostAuthenticationTokenResponse { token: Some(convert::host_token(token)) })
    })
    .await
}

#[allow(deprecated)] // the deprecated userId filter is honoured
pub async fn list_host_authentication_tokens(
    State(s): State<AppState>,
    Authenticated(caller): Authenticated,
    Paging(q): Paging,
    ConnectRequest(mut r): ConnectRequest<ListHostAuthenticationTokensRequest>,
) -> Reply<ListHostAuthenticationTokensResponse> {
    reply(check(&r), async move {
        let page = q.page(r.pagination.take())?;
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
    CallDeadline(deadline): CallDeadline,
    ConnectRequest(r): ConnectRequest<UpdateHostAuthenticationTokenRequest>,
) -> Reply<UpdateHostAuthenticationTokenResponse> {
    reply(check(&r), async move {
        s.host_tokens.update(&caller, deadline, convert::update_host_authentication_token(r)?).await?;
        Ok(UpdateHostAuthenticationTokenResponse {})
    })
    .await
}

pub async fn delete_host_authentication_token(
    State(s): State<AppState>,
    Authenticated(caller): Authenticated,
    ConnectRequest(r): ConnectRequest<DeleteHostAuthenticationTokenRequest>,
) -> Reply<DeleteHostAuthenticationTokenResponse> {
    reply(check(&r), async move {
        s.host_tokens.delete(&caller, &r.id).await?;
        Ok(DeleteHostAuthenticationTokenResponse {})
    })
    .await
}
