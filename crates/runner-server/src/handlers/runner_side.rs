//! IdentityService and RunnerInteractionService handlers: the calls a runner process makes
//! about itself. ExchangeToken is the one RPC that needs no bearer token.

use axum::extract::State;
use connectrpc_axum::prelude::ConnectRequest;
use gitpod_api::gitpod::v1::*;
use http::Uri;
use runner_core::runner_side::{IssuedAccessToken, SignupInput, StatusInput, TokenValueInput};

use super::{Reply, reply};
use crate::auth::Authenticated;
use crate::convert;
use crate::paging;
use crate::state::AppState;

pub async fn exchange_token(
    State(s): State<AppState>,
    ConnectRequest(r): ConnectRequest<ExchangeTokenRequest>,
) -> Reply<ExchangeTokenResponse> {
    reply(async move {
        let issued = s.runner_side.exchange(&r.exchange_token).await;
        let result = if issued.is_ok() { "ok" } else { "refused" };
        metrics::counter!("runner_token_exchanges_total", "result" => result).increment(1);
        let IssuedAccessToken { token, runner_id, expires_at } = issued?;
        Ok(ExchangeTokenResponse {
            access_token: token,
            expires_at: Some(convert::timestamp(expires_at)),
            runner_id: runner_id.to_string(),
        })
    })
    .await
}

pub async fn refresh_runner_access_token(
    State(s): State<AppState>,
    Authenticated(caller): Authenticated,
    ConnectRequest(_): ConnectRequest<RefreshRunnerAccessTokenRequest>,
) -> Reply<RefreshRunnerAccessTokenResponse> {
    reply(async move {
        let issued = s.runner_side.refresh(&caller).await?;
        Ok(RefreshRunnerAccessTokenResponse {
            access_token: issued.token,
            expires_at: Some(convert::timestamp(issued.expires_at)),
        })
    })
    .await
}

pub async fn signup(
    State(s): State<AppState>,
    Authenticated(caller): Authenticated,
    ConnectRequest(r): ConnectRequest<SignupRequest>,
) -> Reply<SignupResponse> {
    reply(async move {
        let input = SignupInput {
            runner_id: r.runner_id,
            public_key: r.public_key,
            version: r.version,
            region: r.region,
            system_details: r.system_details,
            capabilities: r.capabilities,
        };
        let answer = s.runner_side.signup(&caller, input).await?;
        Ok(SignupResponse {
            spec: Some(convert::spec(answer.spec)),
            encrypted_metrics_password: answer.encrypted_metrics_password,
        })
    })
    .await
}

pub async fn update_runner_status(
    State(s): State<AppState>,
    Authenticated(caller): Authenticated,
    ConnectRequest(r): ConnectRequest<UpdateRunnerStatusRequest>,
) -> Reply<UpdateRunnerStatusResponse> {
    reply(async move {
        let input = StatusInput {
            runner_id: r.runner_id,
            phase: r.phase,
            message: r.message,
            gateway_info: r.gateway_info.map(convert::gateway_info),
            log_url: r.log_url,
            additional_info: convert::field_values(r.additional_info),
            llm_url: r.llm_url,
            support_bundle_url: r.support_bundle_url,
        };
        let answer = s.runner_side.update_status(&caller, input).await?;
        Ok(UpdateRunnerStatusResponse {
            spec: Some(convert::spec(answer.spec)),
            encrypted_metrics_password: answer.encrypted_metrics_password,
        })
    })
    .await
}

pub async fn update_runner_configuration_schema(
    State(s): State<AppState>,
    Authenticated(caller): Authenticated,
    ConnectRequest(r): ConnectRequest<UpdateRunnerConfigurationSchemaRequest>,
) -> Reply<UpdateRunnerConfigurationSchemaResponse> {
    reply(async move {
        let schema = r.config_schema.map(convert::schema_from);
        s.runner_side.update_schema(&caller, &r.runner_id, schema).await?;
        Ok(UpdateRunnerConfigurationSchemaResponse {})
    })
    .await
}

pub async fn list_runner_environment_classes(
    State(s): State<AppState>,
    Authenticated(caller): Authenticated,
    uri: Uri,
    ConnectRequest(mut r): ConnectRequest<ListRunnerEnvironmentClassesRequest>,
) -> Reply<ListRunnerEnvironmentClassesResponse> {
    reply(async move {
        let page = paging::page(&uri, r.pagination.take())?;
        let page = s.runner_side.environment_classes(&caller, &r.runner_id, page.size, page.token).await?;
        Ok(ListRunnerEnvironmentClassesResponse {
            pagination: convert::pagination(page.next_token),
            environment_classes: page.items.into_iter().map(convert::environment_class).collect(),
        })
    })
    .await
}

pub async fn list_runner_scm_integrations(
    State(s): State<AppState>,
    Authenticated(caller): Authenticated,
    uri: Uri,
    ConnectRequest(mut r): ConnectRequest<ListRunnerScmIntegrationsRequest>,
) -> Reply<ListRunnerScmIntegrationsResponse> {
    reply(async move {
        let page = paging::page(&uri, r.pagination.take())?;
        let page = s.runner_side.scm_integrations(&caller, &r.runner_id, page.size, &page.token).await?;
        Ok(ListRunnerScmIntegrationsResponse {
            pagination: convert::pagination(page.next_token),
            integrations: page.items.into_iter().map(convert::scm_integration).collect(),
        })
    })
    .await
}

pub async fn get_host_authentication_token_value(
    State(s): State<AppState>,
    Authenticated(caller): Authenticated,
    ConnectRequest(r): ConnectRequest<GetHostAuthenticationTokenValueRequest>,
) -> Reply<GetHostAuthenticationTokenValueResponse> {
    reply(async move {
        let input = TokenValueInput { runner_id: r.runner_id, id: r.id, host: r.host, subject_id: r.subject_id };
        let sealed = s.runner_side.host_token_value(&caller, input).await?;
        Ok(GetHostAuthenticationTokenValueResponse {
            token: Some(convert::host_token(sealed.token)),
            encrypted_token: sealed.encrypted_token,
            encrypted_refresh_token: sealed.encrypted_refresh_token,
        })
    })
    .await
}

pub async fn mark_runner_deleted(
    State(s): State<AppState>,
    Authenticated(caller): Authenticated,
    ConnectRequest(r): ConnectRequest<MarkRunnerDeletedRequest>,
) -> Reply<MarkRunnerDeletedResponse> {
    reply(async move {
        s.runner_side.mark_deleted(&caller, &r.runner_id).await?;
        Ok(MarkRunnerDeletedResponse {})
    })
    .await
}
