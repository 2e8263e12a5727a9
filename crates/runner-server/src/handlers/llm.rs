//! RunnerConfigurationService handlers for LLM integrations.

use axum::extract::State;
use connectrpc_axum::prelude::ConnectRequest;
use gitpod_api::gitpod::v1::*;
use http::Uri;
use runner_core::llm_integrations::{CreateLlmInput, HeaderInput, UpdateLlmInput};

use super::{Reply, reply};
use crate::auth::Authenticated;
use crate::convert;
use crate::paging;
use crate::state::AppState;

pub async fn create_llm_integration(
    State(s): State<AppState>,
    Authenticated(caller): Authenticated,
    ConnectRequest(r): ConnectRequest<CreateLlmIntegrationRequest>,
) -> Reply<CreateLlmIntegrationResponse> {
    reply(async move {
        let provider = convert::llm_models("models", &r.models)?.unwrap_or_default();
        let input = CreateLlmInput {
            runner_id: r.runner_id,
            models: r.models,
            provider,
            endpoint: r.endpoint,
            api_key: r.api_key,
            max_tokens: r.max_tokens,
        };
        Ok(CreateLlmIntegrationResponse { id: s.llm.create(&caller, input).await?.to_string() })
    })
    .await
}

pub async fn get_llm_integration(
    State(s): State<AppState>,
    Authenticated(caller): Authenticated,
    ConnectRequest(r): ConnectRequest<GetLlmIntegrationRequest>,
) -> Reply<GetLlmIntegrationResponse> {
    reply(async move {
        Ok(GetLlmIntegrationResponse { integration: Some(convert::llm_integration(s.llm.get(&caller, &r.id).await?)) })
    })
    .await
}

#[allow(deprecated)] // llm_managed_by_ona stays false
pub async fn list_llm_integrations(
    State(s): State<AppState>,
    Authenticated(caller): Authenticated,
    uri: Uri,
    ConnectRequest(mut r): ConnectRequest<ListLlmIntegrationsRequest>,
) -> Reply<ListLlmIntegrationsResponse> {
    reply(async move {
        let page = paging::page(&uri, r.pagination.take())?;
        let runner_ids = r.filter.map(|f| f.runner_ids).unwrap_or_default();
        let page = s.llm.list(&caller, &runner_ids, page.size, &page.token).await?;
        Ok(ListLlmIntegrationsResponse {
            pagination: convert::pagination(page.next_token),
            integrations: page.items.into_iter().map(convert::llm_integration).collect(),
            // This server operates no LLM service of its own.
            llm_managed_by_ona: false,
            ona_intelligence_providers: Vec::new(),
        })
    })
    .await
}

pub async fn update_llm_integration(
    State(s): State<AppState>,
    Authenticated(caller): Authenticated,
    ConnectRequest(r): ConnectRequest<UpdateLlmIntegrationRequest>,
) -> Reply<UpdateLlmIntegrationResponse> {
    reply(async move {
        let provider = convert::llm_models("models", &r.models)?;
        let phase = r.phase.map(|p| convert::defined::<LlmIntegrationPhase>("phase", p)).transpose()?;
        let mut request_headers = Vec::with_capacity(r.request_headers.len());
        for (i, h) in r.request_headers.into_iter().enumerate() {
            // UNSPECIFIED means LITERAL.
            let header_type = if h.header_type == 0 {
                LlmIntegrationRequestHeaderType::Literal as i32
            } else {
                convert::defined::<LlmIntegrationRequestHeaderType>(
                    &format!("requestHeaders[{i}].headerType"),
                    h.header_type,
                )?
            };
            request_headers.push(HeaderInput { key: h.key, value: h.value, header_type });
        }
        let input = UpdateLlmInput {
            id: r.id,
            endpoint: r.endpoint,
            models: r.models,
            provider,
            api_key: r.api_key,
            max_tokens: r.max_tokens,
            phase,
            request_headers,
        };
        s.llm.update(&caller, input).await?;
        Ok(UpdateLlmIntegrationResponse {})
    })
    .await
}

pub async fn delete_llm_integration(
    State(s): State<AppState>,
    Authenticated(caller): Authenticated,
    ConnectRequest(r): ConnectRequest<DeleteLlmIntegrationRequest>,
) -> Reply<DeleteLlmIntegrationResponse> {
    reply(async move {
        s.llm.delete(&caller, &r.id).await?;
        Ok(DeleteLlmIntegrationResponse {})
    })
    .await
}
