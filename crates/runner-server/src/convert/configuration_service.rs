//! RunnerConfigurationService: environment classes, the configuration schema and
//! ValidateRunnerConfiguration, SCM integrations, host authentication tokens and LLM
//! integrations.

use gitpod_api::gitpod::v1 as pb;
use pb::validate_runner_configuration_request::Config;
use pb::validate_runner_configuration_request::validate_scm_integration::OauthClientSecret;
use runner_core::CoreError;
use runner_core::environment_classes as ec;
use runner_core::host_tokens as ht;
use runner_core::llm_integrations as llm;
use runner_core::model::{self as m, ApiEnum};
use runner_core::page::Page;
use runner_core::schema as sc;
use runner_core::scm_integrations as si;

use super::{defined, field_value, field_values, from_timestamp, pagination, subject, timestamp};
use crate::paging;

// --- Environment classes, the configuration schema, validation ---------------------------------

pub fn create_environment_class(r: pb::CreateEnvironmentClassRequest) -> ec::CreateClassInput {
    ec::CreateClassInput {
        runner_id: r.runner_id,
        display_name: r.display_name,
        description: r.description,
        configuration: field_values(r.configuration),
    }
}

pub fn update_environment_class(r: pb::UpdateEnvironmentClassRequest) -> ec::UpdateClassInput {
    ec::UpdateClassInput {
        id: r.environment_class_id,
        display_name: r.display_name,
        description: r.description,
        enabled: r.enabled,
    }
}

pub fn list_environment_classes(r: pb::ListEnvironmentClassesRequest, page: paging::Page) -> ec::ListClassesInput {
    let f = r.filter.unwrap_or_default();
    ec::ListClassesInput {
        page_size: page.size,
        token: page.token,
        runner_ids: f.runner_ids,
        enabled: f.enabled,
        can_create_environments: f.can_create_environments,
        runner_kinds: f.runner_kinds,
        runner_providers: f.runner_providers,
    }
}

pub fn environment_class(c: m::EnvironmentClass) -> pb::EnvironmentClass {
    pb::EnvironmentClass {
        id: c.id.to_string(),
        display_name: c.display_name,
        description: c.description,
        configuration: c.configuration.into_iter().map(field_value).collect(),
        runner_id: c.runner_id.to_string(),
        enabled: c.enabled,
    }
}

/// What a ValidateRunnerConfiguration request asks to check.
pub enum ToValidate {
    EnvironmentClass(ec::CreateClassInput),
    ScmIntegration(si::ValidateScmInput),
}

/// The configuration to check; the runner is the request's `runnerId`.
pub fn validate_runner_configuration(r: pb::ValidateRunnerConfigurationRequest) -> Result<ToValidate, CoreError> {
    match r.config {
        None => Err(CoreError::invalid("config", "set environmentClass or scmIntegration")),
        Some(Config::EnvironmentClass(c)) => Ok(ToValidate::EnvironmentClass(ec::CreateClassInput {
            runner_id: r.runner_id,
            display_name: c.display_name,
            description: c.description,
            configuration: field_values(c.configuration),
        })),
        Some(Config::ScmIntegration(i)) => {
            let (plaintext, encrypted) = match i.oauth_client_secret {
                Some(OauthClientSecret::OauthPlaintextClientSecret(p)) => (Some(p), None),
                Some(OauthClientSecret::OauthEncryptedClientSecret(e)) => (None, Some(e)),
                None => (None, None),
            };
            Ok(ToValidate::ScmIntegration(si::ValidateScmInput {
                id: i.id,
                scm_id: i.scm_id,
                host: i.host,
                oauth_client_id: i.oauth_client_id,
                oauth_plaintext_client_secret: plaintext,
                oauth_encrypted_client_secret: encrypted,
                pat: i.pat,
                issuer_url: i.issuer_url,
                virtual_directory: i.virtual_directory,
            }))
        }
    }
}

pub fn class_validation(v: ec::ClassValidation) -> pb::EnvironmentClassValidationResult {
    pb::EnvironmentClassValidationResult {
        valid: v.valid(),
        display_name_error: v.display_name_error,
        description_error: v.description_error,
        configuration_errors: v
            .configuration_errors
            .into_iter()
            .map(|(key, error)| pb::FieldValidationError { key, error })
            .collect(),
    }
}

pub fn schema(s: sc::RunnerConfigurationSchema) -> pb::RunnerConfigurationSchema {
    use pb::runner_configuration_schema as rcs;
    let field = |f: sc::SchemaField| rcs::Field {
        id: f.id,
        name: f.name,
        description: f.description,
        required: f.required,
        secret: f.secret,
        r#type: Some(match f.kind {
            sc::FieldKind::String { default, pattern } => {
                rcs::field::Type::String(rcs::StringField { default, pattern })
            }
            sc::FieldKind::Bool { default } => rcs::field::Type::Bool(rcs::BoolField { default }),
            sc::FieldKind::Int { default, min, max } => rcs::field::Type::Int(rcs::IntField { default, min, max }),
            sc::FieldKind::Enum { default_value, possible_values } => {
                let value = |v: sc::EnumValue| rcs::enum_field::Value {
                    title: v.title,
                    subtitle: v.subtitle,
                    detail: v.detail,
                };
                #[allow(deprecated)] // the deprecated forms are filled too, for older clients
                rcs::field::Type::Enum(rcs::EnumField {
                    default: default_value.as_ref().map(|v| v.title.clone()).unwrap_or_default(),
                    values: possible_values.iter().map(|v| v.title.clone()).collect(),
                    default_value: default_value.map(value),
                    possible_values: possible_values.into_iter().map(value).collect(),
                })
            }
            sc::FieldKind::Display { default } => rcs::field::Type::Display(rcs::DisplayField { default }),
        }),
    };
    pb::RunnerConfigurationSchema {
        version: s.version,
        runner_config: s.runner_config.into_iter().map(field).collect(),
        environment_classes: s.environment_classes.into_iter().map(field).collect(),
        scm: s
            .scm
            .into_iter()
            .map(|x| rcs::ScmConfigSchema {
                scm_id: x.scm_id,
                name: x.name,
                default_hosts: x.default_hosts,
                oauth: x.oauth.map(|o| rcs::OAuth { callback_url: o.callback_url }),
                pat: x.pat.map(|p| rcs::PersonalAccessToken { description: p.description, docs_link: p.docs_link }),
            })
            .collect(),
    }
}

// --- SCM integrations --------------------------------------------------------------------------

pub fn create_scm_integration(r: pb::CreateScmIntegrationRequest) -> si::CreateScmInput {
    si::CreateScmInput {
        runner_id: r.runner_id,
        scm_id: r.scm_id,
        host: r.host,
        oauth_client_id: r.oauth_client_id,
        oauth_plaintext_client_secret: r.oauth_plaintext_client_secret,
        pat: r.pat,
        issuer_url: r.issuer_url,
        virtual_directory: r.virtual_directory,
    }
}

pub fn update_scm_integration(r: pb::UpdateScmIntegrationRequest) -> si::UpdateScmInput {
    si::UpdateScmInput {
        id: r.id,
        oauth_client_id: r.oauth_client_id,
        oauth_plaintext_client_secret: r.oauth_plaintext_client_secret,
        pat: r.pat,
        issuer_url: r.issuer_url,
        virtual_directory: r.virtual_directory,
    }
}

pub fn scm_integration(i: m::ScmIntegration) -> pb::ScmIntegration {
    pb::ScmIntegration {
        id: i.id.to_string(),
        scm_id: i.scm_id,
        host: i.host,
        // Absent, not empty, when OAuth is not configured: clients derive the mode from it.
        oauth: i.oauth.map(|o| pb::ScmIntegrationOAuthConfig {
            client_id: o.client_id,
            encrypted_client_secret: o.encrypted_client_secret,
            issuer_url: o.issuer_url,
        }),
        pat: i.pat,
        runner_id: i.runner_id.to_string(),
        virtual_directory: i.virtual_directory,
    }
}

pub fn scm_validation(v: si::ScmValidation) -> pb::ScmIntegrationValidationResult {
    pb::ScmIntegrationValidationResult {
        valid: v.valid(),
        scm_id_error: v.scm_id_error,
        host_error: v.host_error,
        oauth_error: v.oauth_error,
        pat_error: v.pat_error,
    }
}

// --- Host authentication tokens ----------------------------------------------------------------

#[allow(deprecated)] // userId is still read, as older clients send it
pub fn create_host_authentication_token(
    r: pb::CreateHostAuthenticationTokenRequest,
) -> Result<ht::CreateHostTokenInput, CoreError> {
    Ok(ht::CreateHostTokenInput {
        runner_id: r.runner_id,
        user_id: r.user_id,
        subject: r.subject.map(|s| (s.id, s.principal)),
        host: r.host,
        token: r.token,
        source: r.source,
        expires_at: from_timestamp("expiresAt", r.expires_at)?,
        refresh_token: r.refresh_token,
        integration_id: r.integration_id,
        scopes: r.scopes,
    })
}

pub fn update_host_authentication_token(
    r: pb::UpdateHostAuthenticationTokenRequest,
) -> Result<ht::UpdateHostTokenInput, CoreError> {
    Ok(ht::UpdateHostTokenInput {
        id: r.id,
        token: r.token,
        expires_at: from_timestamp("expiresAt", r.expires_at)?,
        refresh_token: r.refresh_token,
        scopes: r.scopes,
    })
}

#[allow(deprecated)] // userId is filled too, for older clients
pub fn host_token(t: m::HostToken) -> pb::HostAuthenticationToken {
    pb::HostAuthenticationToken {
        id: t.id.to_string(),
        runner_id: t.runner_id.to_string(),
        user_id: if t.subject.principal == m::Principal::User { t.subject.id.to_string() } else { String::new() },
        host: t.host,
        source: t.source.number(),
        expires_at: t.expires_at.map(timestamp),
        integration_id: t.integration_id.map(|i| i.to_string()).unwrap_or_default(),
        scopes: t.scopes,
        subject: Some(subject(&t.subject)),
    }
}

// --- LLM integrations --------------------------------------------------------------------------

pub fn create_llm_integration(r: pb::CreateLlmIntegrationRequest) -> Result<llm::CreateLlmInput, CoreError> {
    let provider = llm_models("models", &r.models)?.unwrap_or_default();
    Ok(llm::CreateLlmInput {
        runner_id: r.runner_id,
        models: r.models,
        provider,
        endpoint: r.endpoint,
        api_key: r.api_key,
        max_tokens: r.max_tokens,
    })
}

pub fn update_llm_integration(r: pb::UpdateLlmIntegrationRequest) -> Result<llm::UpdateLlmInput, CoreError> {
    let provider = llm_models("models", &r.models)?;
    let phase = r.phase.map(|p| defined::<pb::LlmIntegrationPhase>("phase", p)).transpose()?;
    let mut request_headers = Vec::with_capacity(r.request_headers.len());
    for (i, h) in r.request_headers.into_iter().enumerate() {
        // UNSPECIFIED means LITERAL.
        let header_type = if h.header_type == 0 {
            pb::LlmIntegrationRequestHeaderType::Literal as i32
        } else {
            defined::<pb::LlmIntegrationRequestHeaderType>(&format!("requestHeaders[{i}].headerType"), h.header_type)?
        };
        request_headers.push(llm::HeaderInput { key: h.key, value: h.value, header_type });
    }
    Ok(llm::UpdateLlmInput {
        id: r.id,
        endpoint: r.endpoint,
        models: r.models,
        provider,
        api_key: r.api_key,
        max_tokens: r.max_tokens,
        phase,
        request_headers,
    })
}

/// Checks `SupportedModel` numbers and derives the provider they share (OpenAI or Anthropic).
fn llm_models(field: &str, models: &[i32]) -> Result<Option<i32>, CoreError> {
    let mut provider = None;
    for (i, n) in models.iter().enumerate() {
        let model = pb::SupportedModel::try_from(*n)
            .ok()
            .filter(|m| *m != pb::SupportedModel::Unspecified)
            .ok_or_else(|| CoreError::invalid(format!("{field}[{i}]"), format!("unknown model {n}")))?;
        let p = if model.as_str_name().starts_with("SUPPORTED_MODEL_OPENAI") {
            pb::LlmProvider::Openai
        } else {
            pb::LlmProvider::Anthropic
        };
        if provider.is_some_and(|q| q != p) {
            return Err(CoreError::invalid(field, "all models must come from one provider"));
        }
        provider = Some(p);
    }
    Ok(provider.map(|p| p as i32))
}

pub fn llm_integration(i: m::LlmIntegration) -> pb::LlmIntegration {
    let b = i.body;
    pb::LlmIntegration {
        id: i.id.to_string(),
        runner_id: i.runner_id.to_string(),
        models: b.models,
        endpoint: b.endpoint,
        encrypted_api_key: b.encrypted_api_key,
        max_tokens: b.max_tokens,
        phase: b.phase,
        phase_reason: b.phase_reason,
        request_headers: b
            .request_headers
            .into_iter()
            .map(|h| pb::LlmIntegrationRequestHeader { key: h.key, value: h.sealed_value, header_type: h.header_type })
            .collect(),
        provider: b.provider,
    }
}

#[allow(deprecated)] // llm_managed_by_ona stays false
pub fn llm_integrations(page: Page<m::LlmIntegration>) -> pb::ListLlmIntegrationsResponse {
    pb::ListLlmIntegrationsResponse {
        pagination: pagination(page.next_token),
        integrations: page.items.into_iter().map(llm_integration).collect(),
        // This server operates no LLM service of its own.
        llm_managed_by_ona: false,
        ona_intelligence_providers: Vec::new(),
    }
}
