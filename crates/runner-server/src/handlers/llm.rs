//! RunnerConfigurationService handlers for LLM integrations.

use axum::extract::State;
use connectrpc_axum::prelude::ConnectRequest;
use gitpod_api::gitpod::v1::*;

use super::{Reply, check, reply};
use crate::auth::Authenticated;
use crate::call::CallDeadline;
use crate::convert;
use crate::paging::Paging;
use crate::state::AppState;

pub async fn create_llm_integration(
    State(s): State<AppState>,
    Authenticated(caller): Authenticated,
    ConnectRequest(r): ConnectRequest<CreateLlmIntegrationRequest>,
) -> Reply<CreateLlmIntegrationResponse> {
    reply(check(&r), async move {
        let id = s.llm.create(&caller, convert::create_llm_integration(r)?).await?;
        Ok(CreateLlmIntegrationResponse { id: id.to_string() })
    })
    .await
}

pub async fn get_llm_integration(
    State(s): State<AppState>,
    Authenticated(caller): Authenticated,
    ConnectRequest(r): ConnectRequest<GetLlmIntegrationRequest>,
) -> Reply<GetLlmIntegrationResponse> {
    reply(check(&r), async move {
        Ok(GetLlmIntegrationResponse { integration: Some(convert::llm_integration(s.llm.get(&caller, &r.id).await?)) })
    })
    .await
}

pub async fn list_llm_integrations(
    State(s): State<AppState>,
    Authenticated(caller): Authenticated,
    Paging(q): Paging,
    ConnectRequest(mut r): ConnectRequest<ListLlmIntegrationsRequest>,
) -> Reply<ListLlmIntegrationsResponse> {
    reply(check(&r), async move {
        let page = q.page(r.pagination.take())?;
        let runner_ids = r.filter.map(|f| f.runner_ids).unwrap_or_default();
        let page = s.llm.list(&caller, &runner_ids, page.size, &page.token).await?;
        Ok(convert::llm_integrations(page))
    })
    .await
}

pub async fn update_llm_integration(
    State(s): State<AppState>,
    Authenticated(caller): Authenticated,
    CallDeadline(deadline): CallDeadline,
    ConnectRequest(r): ConnectRequest<UpdateLlmIntegrationRequest>,
) -> Reply<UpdateLlmIntegrationResponse> {
    reply(check(&r), async move {
        s.llm.update(&caller, deadline, convert::update_llm_integration(r)?).await?;
        Ok(UpdateLlmIntegrationResponse {})
    })
    .await
}

pub async fn delete_llm_integration(
    State(s): State<AppState>,
    Authenticated(caller): Authenticated,
    ConnectRequest(r): ConnectRequest<DeleteLlmIntegrationRequest>,
) -> Reply<DeleteLlmIntegrationResponse> {
    reply(check(&r), async move {
        s.llm.delete(&caller, &r.id).await?;
        Ok(DeleteLlmIntegrationResponse {})
    })
    .await
}
