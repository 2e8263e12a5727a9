//! Our runner-side service, RunnerInteractionService (`proto/runnerside/v1/interaction.proto`):
//! the calls a runner process makes about itself.

use gitpod_api::gitpod::v1 as gp;
use gitpod_api::runnerside::v1 as pb;
use runner_core::CoreError;
use runner_core::host_tokens::OAuthGrant;
use runner_core::model as m;
use runner_core::runner_side as rs;
use runner_core::schema as sc;

use super::{field_values, spec, timestamp};

pub fn refreshed_token(t: rs::IssuedAccessToken) -> pb::RefreshRunnerAccessTokenResponse {
    pb::RefreshRunnerAccessTokenResponse { access_token: t.token, expires_at: Some(timestamp(t.expires_at)) }
}

pub fn signup(r: pb::SignupRequest) -> rs::SignupInput {
    rs::SignupInput {
        runner_id: r.runner_id,
        public_key: r.public_key,
        version: r.version,
        region: r.region,
        system_details: r.system_details,
        capabilities: r.capabilities,
    }
}

pub fn signup_instructions(i: rs::Instructions) -> pb::SignupResponse {
    pb::SignupResponse { spec: Some(spec(i.spec)), encrypted_metrics_password: i.encrypted_metrics_password }
}

pub fn update_runner_status(r: pb::UpdateRunnerStatusRequest) -> rs::StatusInput {
    rs::StatusInput {
        runner_id: r.runner_id,
        phase: r.phase,
        message: r.message,
        gateway_info: r.gateway_info.map(gateway_info),
        log_url: r.log_url,
        additional_info: field_values(r.additional_info),
        llm_url: r.llm_url,
        support_bundle_url: r.support_bundle_url,
    }
}

pub fn status_instructions(i: rs::Instructions) -> pb::UpdateRunnerStatusResponse {
    pb::UpdateRunnerStatusResponse {
        spec: Some(spec(i.spec)),
        encrypted_metrics_password: i.encrypted_metrics_password,
    }
}

/// A reported gateway; a latency beyond the microsecond range saturates (validation refuses
/// negative ones).
fn gateway_info(g: gp::GatewayInfo) -> m::GatewayInfo {
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
pub fn schema_from(s: gp::RunnerConfigurationSchema) -> sc::RunnerConfigurationSchema {
    use gp::runner_configuration_schema as rcs;
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

pub fn get_host_authentication_token_value(r: pb::GetHostAuthenticationTokenValueRequest) -> rs::TokenValueInput {
    rs::TokenValueInput { runner_id: r.runner_id, id: r.id, host: r.host, subject_id: r.subject_id }
}

pub fn sealed_host_token(s: rs::SealedHostToken) -> pb::GetHostAuthenticationTokenValueResponse {
    pb::GetHostAuthenticationTokenValueResponse {
        token: Some(super::host_token(s.token)),
        encrypted_token: s.encrypted_token,
        encrypted_refresh_token: s.encrypted_refresh_token,
    }
}

pub fn oauth_callback(c: rs::OAuthCallback) -> pb::CheckOauthStateResponse {
    pb::CheckOauthStateResponse {
        subject: Some(super::subject(&c.state.subject)),
        host: c.state.host,
        integration_id: c.integration.id.to_string(),
        scm_id: c.integration.scm_id,
        token_url: c.token_endpoint.url,
        redirect_uri: c.redirect_uri,
        client_secret_basic: c.token_endpoint.client_secret_basic,
        expires_at: Some(timestamp(c.state.expires_at)),
    }
}

pub fn store_oauth_host_token(r: pb::StoreOauthHostTokenRequest) -> Result<rs::StoreOAuthInput, CoreError> {
    Ok(rs::StoreOAuthInput {
        runner_id: r.runner_id,
        state: r.state,
        grant: OAuthGrant {
            token: r.token,
            refresh_token: r.refresh_token,
            expires_at: super::from_timestamp("expiresAt", r.expires_at)?,
            scopes: r.scopes,
        },
    })
}
