//! Proto ↔ domain conversions, the only place that knows both. Requests become the raw inputs
//! of the runner-core use cases (which validate them); domain values become proto messages.

use gitpod_api::gitpod::v1 as pb;
use gitpod_api::wkt::Timestamp as PbTimestamp;
use pbjson_types::Duration;
use runner_core::environment_classes as ec;
use runner_core::model::{self as m, ApiEnum};
use runner_core::runners as uc;
use runner_core::schema as sc;
use runner_core::time::Timestamp;

pub fn timestamp(t: Timestamp) -> PbTimestamp {
    let (seconds, nanos) = t.to_seconds_nanos();
    PbTimestamp { seconds, nanos }
}

fn enum_number<E: ApiEnum>(e: Option<E>) -> i32 {
    e.map_or(0, ApiEnum::number)
}

pub fn subject(s: &m::Subject) -> pb::Subject {
    pb::Subject { id: s.id.to_string(), principal: s.principal.number() }
}

pub fn runner(r: m::Runner) -> pb::Runner {
    pb::Runner {
        runner_id: r.id.to_string(),
        created_at: Some(timestamp(r.created_at)),
        updated_at: Some(timestamp(r.updated_at)),
        name: r.name,
        spec: Some(spec(r.spec)),
        status: Some(status(r.status)),
        creator: r.creator.as_ref().map(subject),
        kind: r.kind.number(),
        provider: enum_number(r.provider),
        runner_manager_id: r.runner_manager_id.map(|id| id.to_string()).unwrap_or_default(),
    }
}

pub fn spec(s: m::RunnerSpec) -> pb::RunnerSpec {
    let c = s.configuration;
    pb::RunnerSpec {
        desired_phase: enum_number(s.desired_phase),
        configuration: Some(pb::RunnerConfiguration {
            region: c.region,
            release_channel: enum_number(c.release_channel),
            auto_update: c.auto_update,
            metrics: c.metrics.map(|m| pb::MetricsConfiguration {
                enabled: m.enabled,
                url: m.url,
                username: m.username,
                // A password is never returned; it is write-only through the API.
                password: String::new(),
                managed_metrics_enabled: m.managed_metrics_enabled,
                include_verbose_metrics: m.include_verbose_metrics,
            }),
            log_level: enum_number(c.log_level),
            devcontainer_image_cache_enabled: c.devcontainer_image_cache_enabled,
            update_window: c
                .update_window
                .map(|w| pb::UpdateWindow { start_hour: Some(w.start_hour), end_hour: Some(w.end_hour) }),
            encrypted_honeycomb_api_key: c.encrypted_honeycomb_api_key,
            continuous_profiling: c.continuous_profiling,
        }),
        variant: enum_number(s.variant),
    }
}

fn field_value(f: m::FieldValue) -> pb::FieldValue {
    pb::FieldValue { key: f.key, value: f.value }
}

fn status(s: m::RunnerStatus) -> pb::RunnerStatus {
    pb::RunnerStatus {
        updated_at: s.updated_at.map(timestamp),
        version: s.version,
        system_details: s.system_details,
        phase: s.phase.number(),
        log_url: s.log_url,
        message: s.message,
        region: s.region,
        additional_info: s.additional_info.into_iter().map(field_value).collect(),
        capabilities: s.capabilities.into_iter().map(ApiEnum::number).collect(),
        gateway_info: s.gateway_info.map(|g| pb::GatewayInfo {
            gateway: Some(pb::Gateway { name: g.name, url: g.url, region: g.region }),
            latency: g.latency_micros.map(|us| Duration {
                seconds: us.div_euclid(1_000_000),
                nanos: (us.rem_euclid(1_000_000) * 1000) as i32,
            }),
        }),
        llm_url: s.llm_url,
        public_key: s.public_key,
        support_bundle_url: s.support_bundle_url,
    }
}

fn window(w: pb::UpdateWindow) -> uc::UpdateWindowInput {
    uc::UpdateWindowInput { start_hour: w.start_hour, end_hour: w.end_hour }
}

pub fn create_runner(r: pb::CreateRunnerRequest) -> uc::CreateRunnerInput {
    uc::CreateRunnerInput {
        name: r.name,
        kind: r.kind,
        provider: r.provider,
        runner_manager_id: r.runner_manager_id,
        spec: r.spec.map(|s| uc::SpecInput {
            desired_phase: s.desired_phase,
            variant: s.variant,
            configuration: s.configuration.map(|c| uc::ConfigurationInput {
                region: c.region,
                release_channel: c.release_channel,
                auto_update: c.auto_update,
                metrics: c.metrics.map(|m| uc::MetricsInput {
                    enabled: m.enabled,
                    url: m.url,
                    username: m.username,
                    password: m.password,
                    managed_metrics_enabled: m.managed_metrics_enabled,
                    include_verbose_metrics: m.include_verbose_metrics,
                }),
                log_level: c.log_level,
                devcontainer_image_cache_enabled: c.devcontainer_image_cache_enabled,
                update_window: c.update_window.map(window),
                encrypted_honeycomb_api_key: c.encrypted_honeycomb_api_key,
                continuous_profiling: c.continuous_profiling,
            }),
        }),
    }
}

pub fn update_runner(r: pb::UpdateRunnerRequest) -> uc::UpdateRunnerInput {
    uc::UpdateRunnerInput {
        runner_id: r.runner_id,
        name: r.name,
        spec: r.spec.map(|s| uc::SpecPatch {
            desired_phase: s.desired_phase,
            configuration: s.configuration.map(|c| uc::ConfigurationPatch {
                release_channel: c.release_channel,
                auto_update: c.auto_update,
                metrics: c.metrics.map(|m| uc::MetricsPatch {
                    enabled: m.enabled,
                    url: m.url,
                    username: m.username,
                    password: m.password,
                    managed_metrics_enabled: m.managed_metrics_enabled,
                    include_verbose_metrics: m.include_verbose_metrics,
                }),
                log_level: c.log_level,
                devcontainer_image_cache_enabled: c.devcontainer_image_cache_enabled,
                update_window: c.update_window.map(window),
                honeycomb_api_key: c.honeycomb_api_key,
                continuous_profiling: c.continuous_profiling,
            }),
        }),
    }
}

pub fn list_runners(r: pb::ListRunnersRequest, page: crate::paging::Page) -> uc::ListRunnersInput {
    let f = r.filter.unwrap_or_default();
    uc::ListRunnersInput {
        page_size: page.size,
        token: page.token,
        creator_ids: f.creator_ids,
        kinds: f.kinds,
        providers: f.providers,
    }
}

pub fn pagination(next_token: String) -> Option<pb::PaginationResponse> {
    Some(pb::PaginationResponse { next_token })
}

pub fn policy(p: m::RunnerPolicy) -> pb::RunnerPolicy {
    pb::RunnerPolicy { group_id: p.group_id.to_string(), role: p.role.number() }
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

pub fn field_values(values: Vec<pb::FieldValue>) -> Vec<m::FieldValue> {
    values.into_iter().map(|f| m::FieldValue { key: f.key, value: f.value }).collect()
}

pub fn list_environment_classes(
    r: pb::ListEnvironmentClassesRequest,
    page: crate::paging::Page,
) -> ec::ListClassesInput {
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

/// A timestamp from the wire; out-of-range values are the caller's error.
pub fn from_timestamp(field: &str, t: Option<PbTimestamp>) -> Result<Option<Timestamp>, runner_core::CoreError> {
    t.map(|t| {
        Timestamp::from_seconds_nanos(t.seconds, t.nanos)
            .ok_or_else(|| runner_core::CoreError::invalid(field, "is out of range"))
    })
    .transpose()
}

pub fn scm_validation(v: runner_core::scm_integrations::ScmValidation) -> pb::ScmIntegrationValidationResult {
    pb::ScmIntegrationValidationResult {
        valid: v.valid(),
        scm_id_error: v.scm_id_error,
        host_error: v.host_error,
        oauth_error: v.oauth_error,
        pat_error: v.pat_error,
    }
}

/// Checks `SupportedModel` numbers and derives the provider they share (OpenAI or Anthropic).
pub fn llm_models(field: &str, models: &[i32]) -> Result<Option<i32>, runner_core::CoreError> {
    let mut provider = None;
    for (i, n) in models.iter().enumerate() {
        let model = pb::SupportedModel::try_from(*n)
            .ok()
            .filter(|m| *m != pb::SupportedModel::Unspecified)
            .ok_or_else(|| runner_core::CoreError::invalid(format!("{field}[{i}]"), format!("unknown model {n}")))?;
        let p = if model.as_str_name().starts_with("SUPPORTED_MODEL_OPENAI") {
            pb::LlmProvider::Openai
        } else {
            pb::LlmProvider::Anthropic
        };
        if provider.is_some_and(|q| q != p) {
            return Err(runner_core::CoreError::invalid(field, "all models must come from one provider"));
        }
        provider = Some(p);
    }
    Ok(provider.map(|p| p as i32))
}

/// A defined, non-UNSPECIFIED enum number, checked against the generated enum.
pub fn defined<E: TryFrom<i32>>(field: &str, n: i32) -> Result<i32, runner_core::CoreError> {
    if n != 0 && E::try_from(n).is_ok() {
        Ok(n)
    } else {
        Err(runner_core::CoreError::invalid(field, format!("unknown value {n}")))
    }
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

// --- Runner side ------------------------------------------------------------------------------

/// A reported gateway; a latency beyond the microsecond range saturates (validation refuses
/// negative ones).
pub fn gateway_info(g: pb::GatewayInfo) -> m::GatewayInfo {
    let gateway = g.gateway.unwrap_or_default();
    m::GatewayInfo {
        name: gateway.name,
        url: gateway.url,
        region: gateway.region,
        latency_micros: g
            .latency
            .map(|d| d.seconds.saturating_mul(1_000_000).saturating_add(i64::from(d.nanos) / 1000)),
    }
}

/// A schema as a runner reports it. The deprecated string forms of an enum field are read
/// when the structured ones are absent.
pub fn schema_from(s: pb::RunnerConfigurationSchema) -> sc::RunnerConfigurationSchema {
    use pb::runner_configuration_schema as rcs;
    let field = |f: rcs::Field| sc::SchemaField {
        id: f.id,
        name: f.name,
        description: f.description,
        required: f.required,
        secret: f.secret,
        kind: match f.r#type {
            None => sc::FieldKind::String { default: String::new(), pattern: String::new() },
            Some(rcs::field::Type::String(x)) => sc::FieldKind::String { default: x.default, pattern: x.pattern },
            Some(rcs::field::Type::Bool(x)) => sc::FieldKind::Bool { default: x.default },
            Some(rcs::field::Type::Int(x)) => sc::FieldKind::Int { default: x.default, min: x.min, max: x.max },
            Some(rcs::field::Type::Display(x)) => sc::FieldKind::Display { default: x.default },
            #[allow(deprecated)] // older runners send only the string forms
            Some(rcs::field::Type::Enum(x)) => {
                let value = |v: rcs::enum_field::Value| sc::EnumValue {
                    title: v.title,
                    subtitle: v.subtitle,
                    detail: v.detail,
                };
                let titled = |title: String| sc::EnumValue { title, subtitle: String::new(), detail: String::new() };
                let possible_values = if x.possible_values.is_empty() {
                    x.values.into_iter().map(titled).collect()
                } else {
                    x.possible_values.into_iter().map(value).collect()
                };
                let default_value = match x.default_value {
                    Some(v) => Some(value(v)),
                    None if !x.default.is_empty() => Some(titled(x.default)),
                    None => None,
                };
                sc::FieldKind::Enum { default_value, possible_values }
            }
        },
    };
    sc::RunnerConfigurationSchema {
        version: s.version,
        runner_config: s.runner_config.into_iter().map(field).collect(),
        environment_classes: s.environment_classes.into_iter().map(field).collect(),
        scm: s
            .scm
            .into_iter()
            .map(|x| sc::ScmConfigSchema {
                scm_id: x.scm_id,
                name: x.name,
                default_hosts: x.default_hosts,
                oauth: x.oauth.map(|o| sc::ScmOAuth { callback_url: o.callback_url }),
                pat: x.pat.map(|p| sc::ScmPat { description: p.description, docs_link: p.docs_link }),
            })
            .collect(),
    }
}
