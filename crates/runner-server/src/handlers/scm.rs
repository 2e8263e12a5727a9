//! RunnerConfigurationService handlers for SCM integrations.

use axum::extract::State;
use connectrpc_axum::prelude::ConnectRequest;
use gitpod_api::gitpod::v1::*;

use super::{Reply, check, reply};
use crate::auth::Authenticated;
use crate::call::CallDeadline;
use crate::convert;
use crate::paging::Paging;
use crate::state::AppState;

pub async fn create_scm_integration(
    State(s): State<AppState>,
    Authenticated(caller): Authenticated,
    ConnectRequest(r): ConnectRequest<CreateScmIntegrationRequest>,
) -> Reply<CreateScmIntegrationResponse> {
    reply(check(&r), async move {
        let id = s.scm.create(&caller, convert::create_scm_integration(r)).await?;
        Ok(CreateScmIntegrationResponse { id: id.to_string() })
    })
    .await
}

pub async fn get_scm_integration(
    State(s): State<AppState>,
    Authenticated(caller): Authenticated,
    ConnectRequest(r): ConnectRequest<GetScmIntegrationRequest>,
) -> Reply<GetScmIntegrationResponse> {
    reply(check(&r), async move {
        Ok(GetScmIntegrationResponse { integration: Some(convert::scm_integration(s.scm.get(&caller, &r.id).await?)) })
    })
    .await
}

pub async fn list_scm_integrations(
    State(s): State<AppState>,
    Authenticated(caller): Authenticated,
    Paging(q): Paging,
    ConnectRequest(mut r): ConnectRequest<ListScmIntegrationsRequest>,
) -> Reply<ListScmIntegrationsResponse> {
    reply(check(&r), async move {
        let page = q.page(r.pagination.take())?;
        let runner_ids = r.filter.map(|f| f.runner_ids).unwrap_or_default();
        let page = s.scm.list(&caller, &runner_ids, page.size, &page.token).await?;
        Ok(ListScmIntegrationsResponse {
            pagination: convert::pagination(page.next_token),
            integrations: page.items.into_iter().map(convert::scm_integration).collect(),
        })
    })
    .await
}

pub async fn update_scm_integration(
    State(s): State<AppState>,
    Authenticated(caller): Authenticated,
    CallDeadline(deadline): CallDeadline,
    ConnectRequest(r): ConnectRequest<UpdateScmIntegrationRequest>,
) -> Reply<UpdateScmIntegrationResponse> {
    reply(check(&r), async move {
        s.scm.update(&caller, deadline, convert::update_scm_integration(r)).await?;
        Ok(UpdateScmIntegrationResponse {})
    })
    .await
}

pub async fn delete_scm_integration(
    State(s): State<AppState>,
    Authenticated(caller): Authenticated,
    ConnectRequest(r): ConnectRequest<DeleteScmIntegrationRequest>,
) -> Reply<DeleteScmIntegrationResponse> {
    reply(check(&r), async move {
        s.scm.delete(&caller, &r.id).await?;
        Ok(DeleteScmIntegrationResponse {})
    })
    .await
}
