//! RunnerInteractionService handlers (our own `runnerside.v1` package): the calls a runner
//! process makes about itself, with the access token it got from IdentityService.ExchangeToken.

use axum::extract::State;
use connectrpc_axum::prelude::ConnectRequest;
use gitpod_api::runnerside::v1::*;

use super::{Reply, check, reply};
use crate::auth::{Authenticated, AuthenticatedBy};
use crate::call::CallDeadline;
use crate::convert;
use crate::paging::Paging;
use crate::state::AppState;

pub async fn refresh_runner_access_token(
    State(s): State<AppState>,
    AuthenticatedBy(caller, token): AuthenticatedBy,
    ConnectRequest(r): ConnectRequest<RefreshRunnerAccessTokenRequest>,
) -> Reply<RefreshRunnerAccessTokenResponse> {
    reply(check(&r), async move {
        let issued = s.runner_side.refresh(&caller, &token).await?;
        Ok(convert::refreshed_token(issued))
    })
    .await
}

pub async fn signup(
    State(s): State<AppState>,
    Authenticated(caller): Authenticated,
    CallDeadline(deadline): CallDeadline,
    ConnectRequest(r): ConnectRequest<SignupRequest>,
) -> Reply<SignupResponse> {
    reply(check(&r), async move {
        let answer = s.runner_side.signup(&caller, deadline, convert::signup(r)).await?;
        Ok(convert::signup_instructions(answer))
    })
    .await
}

pub async fn update_runner_status(
    State(s): State<AppState>,
    Authenticated(caller): Authenticated,
    CallDeadline(deadline): CallDeadline,
    ConnectRequest(r): ConnectRequest<UpdateRunnerStatusRequest>,
) -> Reply<UpdateRunnerStatusResponse> {
    reply(check(&r), async move {
        let answer = s.runner_side.update_status(&caller, deadline, convert::update_runner_status(r)).await?;
        Ok(convert::status_instructions(answer))
    })
    .await
}

pub async fn update_runner_configuration_schema(
    State(s): State<AppState>,
    Authenticated(caller): Authenticated,
    ConnectRequest(r): ConnectRequest<UpdateRunnerConfigurationSchemaRequest>,
) -> Reply<UpdateRunnerConfigurationSchemaResponse> {
    reply(check(&r), async move {
        let schema = r.config_schema.map(convert::schema_from);
        s.runner_side.update_schema(&caller, &r.runner_id, schema).await?;
        Ok(UpdateRunnerConfigurationSchemaResponse {})
    })
    .await
}

pub async fn list_runner_environment_classes(
    State(s): State<AppState>,
    Authenticated(caller): Authenticated,
    Paging(q): Paging,
    ConnectRequest(mut r): ConnectRequest<ListRunnerEnvironmentClassesRequest>,
) -> Reply<ListRunnerEnvironmentClassesResponse> {
    reply(check(&r), async move {
        let page = q.page(r.pagination.take())?;
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
    Paging(q): Paging,
    ConnectRequest(mut r): ConnectRequest<ListRunnerScmIntegrationsRequest>,
) -> Reply<ListRunnerScmIntegrationsResponse> {
    reply(check(&r), async move {
        let page = q.page(r.pagination.take())?;
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
    reply(check(&r), async move {
        let sealed = s.runner_side.host_token_value(&caller, convert::get_host_authentication_token_value(r)).await?;
        Ok(convert::sealed_host_token(sealed))
    })
    .await
}

pub async fn mark_runner_deleted(
    State(s): State<AppState>,
    Authenticated(caller): Authenticated,
    ConnectRequest(r): ConnectRequest<MarkRunnerDeletedRequest>,
) -> Reply<MarkRunnerDeletedResponse> {
    reply(check(&r), async move {
        s.runner_side.mark_deleted(&caller, &r.runner_id).await?;
        Ok(MarkRunnerDeletedResponse {})
    })
    .await
}

pub async fn check_oauth_state(
    State(s): State<AppState>,
    Authenticated(caller): Authenticated,
    ConnectRequest(r): ConnectRequest<CheckOauthStateRequest>,
) -> Reply<CheckOauthStateResponse> {
    reply(check(&r), async move {
        let checked = s.runner_side.check_oauth_state(&caller, &r.runner_id, &r.state).await?;
        Ok(convert::oauth_callback(checked))
    })
    .await
}

pub async fn store_oauth_host_token(
    State(s): State<AppState>,
    Authenticated(caller): Authenticated,
    CallDeadline(deadline): CallDeadline,
    ConnectRequest(r): ConnectRequest<StoreOauthHostTokenRequest>,
) -> Reply<StoreOauthHostTokenResponse> {
    reply(check(&r), async move {
        let token = s.runner_side.store_oauth_token(&caller, deadline, convert::store_oauth_host_token(r)?).await?;
        Ok(StoreOauthHostTokenResponse { token: Some(convert::host_token(token)) })
    })
    .await
}
