//! ServiceAccountService handlers: service accounts and their tokens
//! ([`runner_core::service_accounts`]).

use axum::extract::State;
use connectrpc_axum::prelude::ConnectRequest;
use gitpod_api::gitpod::v1::*;

use super::{Reply, check, reply};
use crate::auth::Authenticated;
use crate::convert;
use crate::paging::Paging;
use crate::state::AppState;

pub async fn create_service_account(
    State(s): State<AppState>,
    Authenticated(caller): Authenticated,
    ConnectRequest(r): ConnectRequest<CreateServiceAccountRequest>,
) -> Reply<CreateServiceAccountResponse> {
    reply(check(&r), async move {
        let account = s.service_accounts.create(&caller, convert::create_service_account(r)?).await?;
        Ok(CreateServiceAccountResponse { service_account: Some(convert::service_account(account)) })
    })
    .await
}

pub async fn list_service_accounts(
    State(s): State<AppState>,
    Authenticated(caller): Authenticated,
    Paging(q): Paging,
    ConnectRequest(mut r): ConnectRequest<ListServiceAccountsRequest>,
) -> Reply<ListServiceAccountsResponse> {
    reply(check(&r), async move {
        let page = q.page(r.pagination.take())?;
        let input = convert::list_service_accounts(r.filter);
        let page = s.service_accounts.list(&caller, input, page.size, &page.token).await?;
        Ok(convert::service_accounts(page))
    })
    .await
}

pub async fn get_service_account(
    State(s): State<AppState>,
    Authenticated(caller): Authenticated,
    ConnectRequest(r): ConnectRequest<GetServiceAccountRequest>,
) -> Reply<GetServiceAccountResponse> {
    reply(check(&r), async move {
        let account = s.service_accounts.get(&caller, &r.service_account_id).await?;
        Ok(GetServiceAccountResponse { service_account: Some(convert::service_account(account)) })
    })
    .await
}

pub async fn update_service_account(
    State(s): State<AppState>,
    Authenticated(caller): Authenticated,
    ConnectRequest(r): ConnectRequest<UpdateServiceAccountRequest>,
) -> Reply<UpdateServiceAccountResponse> {
    reply(check(&r), async move {
        let account = s.service_accounts.update(&caller, &r.service_account_id, r.name, r.description).await?;
        Ok(UpdateServiceAccountResponse { service_account: Some(convert::service_account(account)) })
    })
    .await
}

pub async fn delete_service_account(
    State(s): State<AppState>,
    Authenticated(caller): Authenticated,
    ConnectRequest(r): ConnectRequest<DeleteServiceAccountRequest>,
) -> Reply<DeleteServiceAccountResponse> {
    reply(check(&r), async move {
        s.service_accounts.delete(&caller, &r.service_account_id).await?;
        Ok(DeleteServiceAccountResponse {})
    })
    .await
}

pub async fn create_service_account_access_token(
    State(s): State<AppState>,
    Authenticated(caller): Authenticated,
    ConnectRequest(r): ConnectRequest<CreateServiceAccountAccessTokenRequest>,
) -> Reply<CreateServiceAccountAccessTokenResponse> {
    reply(check(&r), async move {
        let token = s.service_accounts.create_access_token(&caller, &r.service_account_id).await?;
        Ok(CreateServiceAccountAccessTokenResponse { token })
    })
    .await
}

pub async fn create_service_account_token(
    State(s): State<AppState>,
    Authenticated(caller): Authenticated,
    ConnectRequest(r): ConnectRequest<CreateServiceAccountTokenRequest>,
) -> Reply<CreateServiceAccountTokenResponse> {
    reply(check(&r), async move {
        let valid_for = convert::valid_for_secs(r.valid_for);
        let (token, info) = s.service_accounts.create_token(&caller, &r.description, valid_for).await?;
        Ok(CreateServiceAccountTokenResponse {
            token,
            service_account_token: Some(convert::service_account_token(info)),
        })
    })
    .await
}

pub async fn list_service_account_tokens(
    State(s): State<AppState>,
    Authenticated(caller): Authenticated,
    Paging(q): Paging,
    ConnectRequest(mut r): ConnectRequest<ListServiceAccountTokensRequest>,
) -> Reply<ListServiceAccountTokensResponse> {
    reply(check(&r), async move {
        let page = q.page(r.pagination.take())?;
        let page = s.service_accounts.list_tokens(&caller, page.size, &page.token).await?;
        Ok(convert::service_account_tokens(page))
    })
    .await
}

pub async fn get_service_account_token(
    State(s): State<AppState>,
    Authenticated(caller): Authenticated,
    ConnectRequest(r): ConnectRequest<GetServiceAccountTokenRequest>,
) -> Reply<GetServiceAccountTokenResponse> {
    reply(check(&r), async move {
        let token = s.service_accounts.get_token(&caller, &r.service_account_token_id).await?;
        Ok(GetServiceAccountTokenResponse { token: Some(convert::service_account_token(token)) })
    })
    .await
}

pub async fn delete_service_account_token(
    State(s): State<AppState>,
    Authenticated(caller): Authenticated,
    ConnectRequest(r): ConnectRequest<DeleteServiceAccountTokenRequest>,
) -> Reply<DeleteServiceAccountTokenResponse> {
    reply(check(&r), async move {
        s.service_accounts.delete_token(&caller, &r.service_account_token_id).await?;
        Ok(DeleteServiceAccountTokenResponse {})
    })
    .await
}
