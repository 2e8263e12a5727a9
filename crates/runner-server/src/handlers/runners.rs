//! RunnerService handlers for the runner resource itself.

use axum::extract::State;
use connectrpc_axum::prelude::ConnectRequest;
use gitpod_api::gitpod::v1::*;
use http::Uri;

use super::{Reply, reply};
use crate::convert;
use crate::paging;
use crate::state::AppState;

pub async fn create_runner(
    State(s): State<AppState>,
    ConnectRequest(r): ConnectRequest<CreateRunnerRequest>,
) -> Reply<CreateRunnerResponse> {
    reply(async move {
        let created = s.runners.create(convert::create_runner(r), None).await?;
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
    ConnectRequest(r): ConnectRequest<GetRunnerRequest>,
) -> Reply<GetRunnerResponse> {
    reply(async move {
        Ok(GetRunnerResponse {
            runner: Some(convert::runner(s.runners.get(&r.runner_id).await?)),
        })
    })
    .await
}

pub async fn list_runners(
    State(s): State<AppState>,
    uri: Uri,
    ConnectRequest(mut r): ConnectRequest<ListRunnersRequest>,
) -> Reply<ListRunnersResponse> {
    reply(async move {
        let page = paging::page(&uri, r.pagination.take())?;
        let page = s.runners.list(convert::list_runners(r, page)).await?;
        Ok(ListRunnersResponse {
            pagination: convert::pagination(page.next_token),
            runners: page.items.into_iter().map(convert::runner).collect(),
        })
    })
    .await
}

pub async fn update_runner(
    State(s): State<AppState>,
    ConnectRequest(r): ConnectRequest<UpdateRunnerRequest>,
) -> Reply<UpdateRunnerResponse> {
    reply(async move {
        s.runners.update(convert::update_runner(r)).await?;
        Ok(UpdateRunnerResponse {})
    })
    .await
}

pub async fn delete_runner(
    State(s): State<AppState>,
    ConnectRequest(r): ConnectRequest<DeleteRunnerRequest>,
) -> Reply<DeleteRunnerResponse> {
    reply(async move {
        s.runners.delete(&r.runner_id, r.force).await?;
        Ok(DeleteRunnerResponse {})
    })
    .await
}
