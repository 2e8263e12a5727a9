//! RunnerService handlers for runners, their tokens and their policies.

use axum::extract::State;
use connectrpc_axum::prelude::ConnectRequest;
use gitpod_api::gitpod::v1::*;
use http::Uri;
use runner_core::policies::PolicyInput;

use super::{Reply, reply};
use crate::auth::Authenticated;
use crate::convert;
use crate::paging;
use crate::state::AppState;

pub async fn create_runner(
    State(s): State<AppState>,
    Authenticated(caller): Authenticated,
    ConnectRequest(r): ConnectRequest<CreateRunnerRequest>,
) -> Reply<CreateRunnerResponse> {
    reply(async move {
        let created = s.runners.create(&caller, convert::create_runner(r)).await?;
        Ok(CreateRunnerResponse {
            runner: Some(convert::runner(created.runner)),
            exchange_token: created.exchange_token,
            ..Default::default()
        })
    })
    .await
}

pub async fn get_runner(
    State(s): State<AppState>,
    Authenticated(caller): Authenticated,
    ConnectRequest(r): ConnectRequest<GetRunnerRequest>,
) -> Reply<GetRunnerResponse> {
    reply(async move {
        let runner = s.runners.get(&caller, &r.runner_id).await?;
        Ok(GetRunnerResponse { runner: Some(convert::runner(runner)) })
    })
    .await
}

pub async fn list_runners(
    State(s): State<AppState>,
    Authenticated(caller): Authenticated,
    uri: Uri,
    ConnectRequest(mut r): ConnectRequest<ListRunnersRequest>,
) -> Reply<ListRunnersResponse> {
    reply(async move {
        let page = paging::page(&uri, r.pagination.take())?;
        let page = s.runners.list(&caller, convert::list_runners(r, page)).await?;
        Ok(ListRunnersResponse {
            pagination: convert::pagination(page.next_token),
            runners: page.items.into_iter().map(convert::runner).collect(),
        })
    })
    .await
}

pub async fn update_runner(
    State(s): State<AppState>,
    Authenticated(caller): Authenticated,
    ConnectRequest(r): ConnectRequest<UpdateRunnerRequest>,
) -> Reply<UpdateRunnerResponse> {
    reply(async move {
        s.runners.update(&caller, convert::update_runner(r)).await?;
        Ok(UpdateRunnerResponse {})
    })
    .await
}

pub async fn delete_runner(
    State(s): State<AppState>,
    Authenticated(caller): Authenticated,
    ConnectRequest(r): ConnectRequest<DeleteRunnerRequest>,
) -> Reply<DeleteRunnerResponse> {
    reply(async move {
        s.runners.delete(&caller, &r.runner_id, r.force).await?;
        Ok(DeleteRunnerResponse {})
    })
    .await
}

#[allow(deprecated)] // the deprecated access_token stays empty
pub async fn create_runner_token(
    State(s): State<AppState>,
    Authenticated(caller): Authenticated,
    ConnectRequest(r): ConnectRequest<CreateRunnerTokenRequest>,
) -> Reply<CreateRunnerTokenResponse> {
    reply(async move {
        let exchange_token = s.runners.create_token(&caller, &r.runner_id).await?;
        Ok(CreateRunnerTokenResponse { exchange_token, access_token: String::new() })
    })
    .await
}

pub async fn create_runner_logs_token(
    State(s): State<AppState>,
    Authenticated(caller): Authenticated,
    ConnectRequest(r): ConnectRequest<CreateRunnerLogsTokenRequest>,
) -> Reply<CreateRunnerLogsTokenResponse> {
    reply(async move {
        let access_token = s.runners.create_logs_token(&caller, &r.runner_id).await?;
        Ok(CreateRunnerLogsTokenResponse { access_token })
    })
    .await
}

pub async fn list_runner_policies(
    State(s): State<AppState>,
    Authenticated(caller): Authenticated,
    uri: Uri,
    ConnectRequest(mut r): ConnectRequest<ListRunnerPoliciesRequest>,
) -> Reply<ListRunnerPoliciesResponse> {
    reply(async move {
        let page = paging::page(&uri, r.pagination.take())?;
        let page = s.policies.list(&caller, &r.runner_id, page.size, &page.token).await?;
        Ok(ListRunnerPoliciesResponse {
            pagination: convert::pagination(page.next_token),
            policies: page.items.into_iter().map(convert::policy).collect(),
        })
    })
    .await
}

pub async fn create_runner_policy(
    State(s): State<AppState>,
    Authenticated(caller): Authenticated,
    ConnectRequest(r): ConnectRequest<CreateRunnerPolicyRequest>,
) -> Reply<CreateRunnerPolicyResponse> {
    reply(async move {
        let input = PolicyInput { runner_id: r.runner_id, group_id: r.group_id, role: r.role };
        Ok(CreateRunnerPolicyResponse { policy: Some(convert::policy(s.policies.create(&caller, input).await?)) })
    })
    .await
}

pub async fn update_runner_policy(
    State(s): State<AppState>,
    Authenticated(caller): Authenticated,
    ConnectRequest(r): ConnectRequest<UpdateRunnerPolicyRequest>,
) -> Reply<UpdateRunnerPolicyResponse> {
    reply(async move {
        let input = PolicyInput { runner_id: r.runner_id, group_id: r.group_id, role: r.role };
        Ok(UpdateRunnerPolicyResponse { policy: Some(convert::policy(s.policies.update(&caller, input).await?)) })
    })
    .await
}

pub async fn delete_runner_policy(
    State(s): State<AppState>,
    Authenticated(caller): Authenticated,
    ConnectRequest(r): ConnectRequest<DeleteRunnerPolicyRequest>,
) -> Reply<DeleteRunnerPolicyResponse> {
    reply(async move {
        let input = PolicyInput { runner_id: r.runner_id, group_id: r.group_id, role: 0 };
        s.policies.delete(&caller, input).await?;
        Ok(DeleteRunnerPolicyResponse {})
    })
    .await
}
