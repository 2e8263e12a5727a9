//! RunnerConfigurationService handlers: environment classes, the configuration schema and
//! validation.

use axum::extract::State;
use connectrpc_axum::prelude::ConnectRequest;
use gitpod_api::gitpod::v1::validate_runner_configuration_request::Config;
use gitpod_api::gitpod::v1::validate_runner_configuration_request::validate_scm_integration::OauthClientSecret;
use gitpod_api::gitpod::v1::validate_runner_configuration_response::Result as Validation;
use gitpod_api::gitpod::v1::*;
use http::Uri;
use runner_core::CoreError;
use runner_core::environment_classes::{CreateClassInput, UpdateClassInput};
use runner_core::scm_integrations::ValidateScmInput;

use super::{Reply, reply};
use crate::auth::Authenticated;
use crate::convert;
use crate::paging;
use crate::state::AppState;

pub async fn get_runner_configuration_schema(
    State(s): State<AppState>,
    Authenticated(caller): Authenticated,
    ConnectRequest(r): ConnectRequest<GetRunnerConfigurationSchemaRequest>,
) -> Reply<GetRunnerConfigurationSchemaResponse> {
    reply(async move {
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
    reply(async move {
        let input = CreateClassInput {
            runner_id: r.runner_id,
            display_name: r.display_name,
            description: r.description,
            configuration: convert::field_values(r.configuration),
        };
        Ok(CreateEnvironmentClassResponse { id: s.classes.create(&caller, input).await?.to_string() })
    })
    .await
}

pub async fn get_environment_class(
    State(s): State<AppState>,
    Authenticated(caller): Authenticated,
    ConnectRequest(r): ConnectRequest<GetEnvironmentClassRequest>,
) -> Reply<GetEnvironmentClassResponse> {
    reply(async move {
        let class = s.classes.get(&caller, &r.environment_class_id).await?;
        Ok(GetEnvironmentClassResponse { environment_class: Some(convert::environment_class(class)) })
    })
    .await
}

pub async fn list_environment_classes(
    State(s): State<AppState>,
    Authenticated(caller): Authenticated,
    uri: Uri,
    ConnectRequest(mut r): ConnectRequest<ListEnvironmentClassesRequest>,
) -> Reply<ListEnvironmentClassesResponse> {
    reply(async move {
        let page = paging::page(&uri, r.pagination.take())?;
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
    ConnectRequest(r): ConnectRequest<UpdateEnvironmentClassRequest>,
) -> Reply<UpdateEnvironmentClassResponse> {
    reply(async move {
        let input = UpdateClassInput {
            id: r.environment_class_id,
            display_name: r.display_name,
            description: r.description,
            enabled: r.enabled,
        };
        s.classes.update(&caller, input).await?;
        Ok(UpdateEnvironmentClassResponse {})
    })
    .await
}

pub async fn validate_runner_configuration(
    State(s): State<AppState>,
    Authenticated(caller): Authenticated,
    ConnectRequest(r): ConnectRequest<ValidateRunnerConfigurationRequest>,
) -> Reply<ValidateRunnerConfigurationResponse> {
    reply(async move {
        let result = match r.config {
            None => return Err(CoreError::invalid("config", "set environmentClass or scmIntegration")),
            Some(Config::EnvironmentClass(c)) => {
                let class = CreateClassInput {
                    runner_id: r.runner_id.clone(),
                    display_name: c.display_name,
                    description: c.description,
                    configuration: convert::field_values(c.configuration),
                };
                Validation::EnvironmentClass(convert::class_validation(
                    s.classes.validate(&caller, &r.runner_id, &class).await?,
                ))
            }
            Some(Config::ScmIntegration(i)) => {
                let (plaintext, encrypted) = match i.oauth_client_secret {
                    Some(OauthClientSecret::OauthPlaintextClientSecret(p)) => (Some(p), None),
                    Some(OauthClientSecret::OauthEncryptedClientSecret(e)) => (None, Some(e)),
                    None => (None, None),
                };
                let input = ValidateScmInput {
                    id: i.id,
                    scm_id: i.scm_id,
                    host: i.host,
                    oauth_client_id: i.oauth_client_id,
                    oauth_plaintext_client_secret: plaintext,
                    oauth_encrypted_client_secret: encrypted,
                    pat: i.pat,
                    issuer_url: i.issuer_url,
                    virtual_directory: i.virtual_directory,
                };
                Validation::ScmIntegration(convert::scm_validation(s.scm.validate(&caller, &r.runner_id, input).await?))
            }
        };
        Ok(ValidateRunnerConfigurationResponse { result: Some(result) })
    })
    .await
}
