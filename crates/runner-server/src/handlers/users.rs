//! UserService handlers: the caller's user, the organization's users, and personal access
//! tokens.

use axum::extract::State;
use connectrpc_axum::prelude::ConnectRequest;
use gitpod_api::gitpod::v1::*;

use super::{Reply, check, reply};
use crate::auth::Authenticated;
use crate::convert;
use crate::paging::Paging;
use crate::state::AppState;

pub async fn get_authenticated_user(
    State(s): State<AppState>,
    Authenticated(caller): Authenticated,
    ConnectRequest(r): ConnectRequest<GetAuthenticatedUserRequest>,
) -> Reply<GetAuthenticatedUserResponse> {
    reply(check(&r), async move {
        let user = s.users.authenticated_user(&caller).await?;
        Ok(GetAuthenticatedUserResponse { user: Some(convert::user(user)) })
    })
    .await
}

pub async fn get_user(
    State(s): State<AppState>,
    Authenticated(caller): Authenticated,
    ConnectRequest(r): ConnectRequest<GetUserRequest>,
) -> Reply<GetUserResponse> {
    reply(check(&r), async move {
        let user = s.users.get(&caller, &r.user_id).await?;
        Ok(GetUserResponse { user: Some(convert::user(user)) })
    })
    .await
}

pub async fn set_suspended(
    State(s): State<AppState>,
    Authenticated(caller): Authenticated,
    ConnectRequest(r): ConnectRequest<SetSuspendedRequest>,
) -> Reply<SetSuspendedResponse> {
    reply(check(&r), async move {
        s.users.set_suspended(&caller, &r.user_id, r.suspended).await?;
        Ok(SetSuspendedResponse {})
    })
    .await
}

pub async fn delete_user(
    State(s): State<AppState>,
    Authenticated(caller): Authenticated,
    ConnectRequest(r): ConnectRequest<DeleteUserRequest>,
) -> Reply<DeleteUserResponse> {
    reply(check(&r), async move {
        s.users.delete(&caller, &r.user_id).await?;
        Ok(DeleteUserResponse {})
    })
    .await
}

pub async fn create_personal_access_token(
    State(s): State<AppState>,
    Authenticated(caller): Authenticated,
    ConnectRequest(r): ConnectRequest<CreatePersonalAccessTokenRequest>,
) -> Reply<CreatePersonalAccessTokenResponse> {
    reply(check(&r), async move {
        let issued = s.users.create_token(&caller, convert::create_personal_access_token(r)).await?;
        Ok(CreatePersonalAccessTokenResponse { token: issued.token })
    })
    .await
}

pub async fn get_personal_access_token(
    State(s): State<AppState>,
    Authenticated(caller): Authenticated,
    ConnectRequest(r): ConnectRequest<GetPersonalAccessTokenRequest>,
) -> Reply<GetPersonalAccessTokenResponse> {
    reply(check(&r), async move {
        let token = s.users.get_token(&caller, &r.personal_access_token_id).await?;
        Ok(GetPersonalAccessTokenResponse { pat: Some(convert::personal_access_token(token)) })
    })
    .await
}

pub async fn list_personal_access_tokens(
    State(s): State<AppState>,
    Authenticated(caller): Authenticated,
    Paging(q): Paging,
    ConnectRequest(mut r): ConnectRequest<ListPersonalAccessTokensRequest>,
) -> Reply<ListPersonalAccessTokensResponse> {
    reply(check(&r), async move {
        let page = q.page(r.pagination.take())?;
        let user_ids = r.filter.map(|f| f.user_ids).unwrap_or_default();
        let page = s.users.list_tokens(&caller, &user_ids, page.size, &page.token).await?;
        Ok(convert::personal_access_tokens(page))
    })
    .await
}

pub async fn delete_personal_access_token(
    State(s): State<AppState>,
    Authenticated(caller): Authenticated,
    ConnectRequest(r): ConnectRequest<DeletePersonalAccessTokenRequest>,
) -> Reply<DeletePersonalAccessTokenResponse> {
    reply(check(&r), async move {
        s.users.delete_token(&caller, &r.personal_access_token_id).await?;
        Ok(DeletePersonalAccessTokenResponse {})
    })
    .await
}
