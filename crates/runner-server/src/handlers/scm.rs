//! RunnerConfigurationService handlers for SCM integrations.

use axum::extract::State;
use connectrpc_axum::prelude::ConnectRequest;
use gitpod_api::gitpod::v1::*;
use http::Uri;
use runner_core::scm_integrations::{CreateScmInput, UpdateScmInput};

use super::{Reply, reply};
use crate::auth::Authenticated;
use crate::convert;
use crate::paging;
use crate::state::AppState;

pub async fn create_scm_integration(
    State(s): State<AppState>,
    Authenticated(caller): Authenticated,
    ConnectRequest(r): ConnectRequest<CreateScmIntegrationRequest>,
) -> Reply<CreateScmIntegrationResponse> {
    reply(async move {
        let input = CreateScmInput {
            runner_id: r.runner_id,
            scm_id: r.scm_id,
            host: r.host,
            oauth_client_id: r.oauth_client_id,
            oauth_plaintext_client_secret: r.oauth_plaintext_client_secret,
            pat: r.pat,
            issuer_url: r.issuer_url,
            virtual_directory: r.virtual_directory,
        };
        Ok(CreateScmIntegrationResponse { id: s.scm.create(&caller, input).await?.to_string() })
    })
    .await
}

pub async fn get_scm_integration(
    State(s): State<AppState>,
    Authenticated(caller): Authenticated,
    ConnectRequest(r): ConnectRequest<GetScmIntegrationRequest>,
) -> Reply<GetScmIntegrationResponse> {
    reply(async move {
        Ok(GetScmIntegrationResponse { integration: Some(convert::scm_integration(s.scm.get(&caller, &r.id).await?)) })
    })
    .await
}

pub async fn list_scm_integrations(
    State(s): State<AppState>,
    Authenticated(caller): Authenticated,
    uri: Uri,
    ConnectRequest(mut r): ConnectRequest<ListScmIntegrationsRequest>,
) -> Reply<ListScmIntegrationsResponse> {
    reply(async move {
        let page = paging::page(&uri, r.pagination.take())?;
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
    ConnectRequest(r): ConnectRequest<UpdateScmIntegrationRequest>,
) -> Reply<UpdateScmIntegrationResponse> {
    reply(async move {
        let input = UpdateScmInput {
            id: r.id,
            oauth_client_id: r.oauth_client_id,
            oauth_plaintext_client_secret: r.oauth_plaintext_client_secret,
            pat: r.pat,
            issuer_url: r.issuer_url,
            virtual_directory: r.virtual_directory,
        };
        s.scm.update(&caller, input).await?;
        Ok(UpdateScmIntegrationResponse {})
    })
    .await
}

pub async fn delete_scm_integration(
    State(s): State<AppState>,
    Authenticated(caller): Authenticated,
    ConnectRequest(r): ConnectRequest<DeleteScmIntegrationRequest>,
) -> Reply<DeleteScmIntegrationResponse> {
    reply(async move {
        s.scm.delete(&caller, &r.id).await?;
        Ok(DeleteScmIntegrationResponse {})
    })
    .await
}
