//! RunnerService handlers for runners, their tokens and their policies.

use axum::extract::State;
use connectrpc_axum::prelude::ConnectRequest;
use gitpod_api::gitpod::v1::*;

use super::{Reply, check, reply};
use crate::auth::Authenticated;
use crate::call::CallDeadline;
use crate::convert;
use crate::paging::Paging;
use crate::state::AppState;

pub async fn create_runner(
    State(s): State<AppState>,
    Authenticated(caller): Authenticated,
    ConnectRequest(r): ConnectRequest<CreateRunnerRequest>,
) -> Reply<CreateRunnerResponse> {
    reply(check(&r), async move {
        let created = s.runners.create(&caller, convert::create_runner(r)).await?;
        Ok(convert::created_runner(created))
    })
    .await
}

pub async fn get_runner(
    State(s): State<AppState>,
    Authenticated(caller): Authenticated,
    ConnectRequest(r): ConnectRequest<GetRunnerRequest>,
) -> Reply<GetRunnerResponse> {
    reply(check(&r), async move {
        let runner = s.runners.get(&caller, &r.runner_id).await?;
        Ok(GetRunnerResponse { runner: Some(convert::runner(runner)) })
    })
    .await
}

pub async fn list_runners(
    State(s): State<AppState>,
    Authenticated(caller): Authenticated,
    Paging(q): Paging,
    ConnectRequest(mut r): ConnectRequest<ListRunnersRequest>,
) -> Reply<ListRunnersResponse> {
    reply(check(&r), async move {
        let page = q.page(r.pagination.take())?;
        let page = s.runners.list(&caller, convert::list_runners(r, page)).await?;
        // Into a vector of its final size: collecting in place would reuse the page's
        // allocation, sized for the domain's runners, and reallocate it.
        let mut runners = Vec::with_capacity(page.items.len());
        runners.extend(page.items.into_iter().map(convert::runner));
        Ok(ListRunnersResponse { pagination: convert::pagination(page.next_token), runners })
    })
    .await
}

pub async fn update_runner(
    State(s): State<AppState>,
    Authenticated(caller): Authenticated,
    CallDeadline(deadline): CallDeadline,
    ConnectRequest(r): ConnectRequest<UpdateRunnerRequest>,
) -> Reply<UpdateRunnerResponse> {
    reply(check(&r), async move {
        s.runners.update(&caller, deadline, convert::update_runner(r)).await?;
        Ok(UpdateRunnerResponse {})
    })
    .await
}

pub async fn delete_runner(
    State(s): State<AppState>,
    Authenticated(caller): Authenticated,
    CallDeadline(deadline): CallDeadline,
    ConnectRequest(r): ConnectRequest<DeleteRunnerRequest>,
) -> Reply<DeleteRunnerResponse> {
    reply(check(&r), async move {
        s.runners.delete(&caller, deadline, &r.runner_id, r.force).await?;
        Ok(DeleteRunnerResponse {})
    })
    .await
}

pub async fn create_runner_token(
    State(s): State<AppState>,
    Authenticated(caller): Authenticated,
    ConnectRequest(r): ConnectRequest<CreateRunnerTokenRequest>,
) -> Reply<CreateRunnerTokenResponse> {
    reply(check(&r), async move {
        let exchange_token = s.runners.create_token(&caller, &r.runner_id).await?;
        Ok(convert::runner_token(exchange_token))
    })
    .await
}

pub async fn create_runner_logs_token(
    State(s): State<AppState>,
    Authenticated(caller): Authenticated,
    ConnectRequest(r): ConnectRequest<CreateRunnerLogsTokenRequest>,
) -> Reply<CreateRunnerLogsTokenResponse> {
    reply(check(&r), async move {
        let access_token = s.runners.create_logs_token(&caller, &r.runner_id).await?;
        Ok(CreateRunnerLogsTokenResponse { access_token })
    })
    .await
}

pub async fn list_runner_policies(
    State(s): State<AppState>,
    Authenticated(caller): Authenticated,
    Paging(q): Paging,
    ConnectRequest(mut r): ConnectRequest<ListRunnerPoliciesRequest>,
) -> Reply<ListRunnerPoliciesResponse> {
    reply(check(&r), async move {
        let page = q.page(r.pagination.take())?;
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
    reply(check(&r), async move {
        let policy = s.policies.create(&caller, convert::create_runner_policy(r)).await?;
        Ok(CreateRunnerPolicyResponse { policy: Some(convert::policy(policy)) })
    })
    .await
}

pub async fn update_runner_policy(
    State(s): State<AppState>,
    Authenticated(caller): Authenticated,
    ConnectRequest(r): ConnectRequest<UpdateRunnerPolicyRequest>,
) -> Reply<UpdateRunnerPolicyResponse> {
    reply(check(&r), async move {
        let policy = s.policies.update(&caller, convert::update_runner_policy(r)).await?;
        Ok(UpdateRunnerPolicyResponse { policy: Some(convert::policy(policy)) })
    })
    .await
}

pub async fn delete_runner_policy(
    State(s): State<AppState>,
    Authenticated(caller): Authenticated,
    ConnectRequest(r): ConnectRequest<DeleteRunnerPolicyRequest>,
) -> Reply<DeleteRunnerPolicyResponse> {
    reply(check(&r), async move {
        s.policies.delete(&caller, convert::delete_runner_policy(r)).await?;
        Ok(DeleteRunnerPolicyResponse {})
    })
    .await
}
