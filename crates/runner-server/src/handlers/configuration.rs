//! RunnerConfigurationService handlers: environment classes, the configuration schema and
//! validation.

use axum::extract::State;
use connectrpc_axum::prelude::ConnectRequest;
use gitpod_api::gitpod::v1::validate_runner_configuration_response::Result as Validation;
use gitpod_api::gitpod::v1::*;

use super::{Reply, check, reply};
use crate::auth::Authenticated;
use crate::call::CallDeadline;
use crate::convert::{self, ToValidate};
use crate::paging::Paging;
use crate::state::AppState;

pub async fn get_runner_configuration_schema(
    State(s): State<AppState>,
    Authenticated(caller): Authenticated,
    ConnectRequest(r): ConnectRequest<GetRunnerConfigurationSchemaRequest>,
) -> Reply<GetRunnerConfigurationSchemaResponse> {
    reply(check(&r), async move {
        let schema = s.classes.schema(&caller, &r.runner_id).await?;
        Ok(GetRunnerConfigurationSchemaResponse { schema: Some(convert::schema(schema)) })
    })
    .await
}

pub async fn create_environment_class(
    State(s): State<AppState>,
    Authenticated(caller): Authenticated,
    ConnectRequest(r): ConnectRequest<CreateEnvironmentClassRequest>,
) -> Reply<CreateEnvironmentClassResponse> {
    reply(check(&r), async move {
        let id = s.classes.create(&caller, convert::create_environment_class(r)).await?;
        Ok(CreateEnvironmentClassResponse { id: id.to_string() })
    })
    .await
}

pub async fn get_environment_class(
    State(s): State<AppState>,
    Authenticated(caller): Authenticated,
    ConnectRequest(r): ConnectRequest<GetEnvironmentClassRequest>,
) -> Reply<GetEnvironmentClassResponse> {
    reply(check(&r), async move {
        let class = s.classes.get(&caller, &r.environment_class_id).await?;
        Ok(GetEnvironmentClassResponse { environment_class: Some(convert::environment_class(class)) })
    })
    .await
}

pub async fn list_environment_classes(
    State(s): State<AppState>,
    Authenticated(caller): Authenticated,
    Paging(q): Paging,
    ConnectRequest(mut r): ConnectRequest<ListEnvironmentClassesRequest>,
) -> Reply<ListEnvironmentClassesResponse> {
    reply(check(&r), async move {
        let page = q.page(r.pagination.take())?;
        let page = s.classes.list(&caller, convert::list_environment_classes(r, page)).await?;
        Ok(ListEnvironmentClassesResponse {
            pagination: convert::pagination(page.next_token),
            environment_classes: page.items.into_iter().map(convert::environment_class).collect(),
        })
    })
    .await
}

pub async fn update_environment_class(
    State(s): State<AppState>,
    Authenticated(caller): Authenticated,
    CallDeadline(deadline): CallDeadline,
    ConnectRequest(r): ConnectRequest<UpdateEnvironmentClassRequest>,
) -> Reply<UpdateEnvironmentClassResponse> {
    reply(check(&r), async move {
        s.classes.update(&caller, deadline, convert::update_environment_class(r)).await?;
        Ok(UpdateEnvironmentClassResponse {})
    })
    .await
}

pub async fn validate_runner_configuration(
    State(s): State<AppState>,
    Authenticated(caller): Authenticated,
    ConnectRequest(r): ConnectRequest<ValidateRunnerConfigurationRequest>,
) -> Reply<ValidateRunnerConfigurationResponse> {
    reply(check(&r), async move {
        let runner_id = r.runner_id.clone();
        let result = match convert::validate_runner_configuration(r)? {
            ToValidate::EnvironmentClass(class) => {
                let v = s.classes.validate(&caller, &runner_id, &class).await?;
                Validation::EnvironmentClass(convert::class_validation(v))
            }
            ToValidate::ScmIntegration(integration) => {
                let v = s.scm.validate(&caller, &runner_id, integration).await?;
                Validation::ScmIntegration(convert::scm_validation(v))
            }
        };
        Ok(ValidateRunnerConfigurationResponse { result: Some(result) })
    })
    .await
}
