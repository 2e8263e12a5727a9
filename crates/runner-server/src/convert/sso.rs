//! OrganizationService's SSO configurations. The client secret is never in a message.

use gitpod_api::gitpod::v1 as pb;
use runner_core::identity::SsoConfiguration;
use runner_core::page::Page;
use runner_core::sso::{CreateSsoInput, STATE_ACTIVE, STATE_INACTIVE, UpdateSsoInput};

use super::pagination;

pub fn sso_configuration(c: SsoConfiguration) -> pb::SsoConfiguration {
    pb::SsoConfiguration {
        id: c.id.to_string(),
        organization_id: c.org_id.to_string(),
        client_id: c.client_id,
        issuer_url: c.issuer_url,
        state: if c.active { STATE_ACTIVE } else { STATE_INACTIVE },
        claims: c.details.claims.into_iter().collect(),
        email_domain: c.email_domains.first().cloned().unwrap_or_default(),
        // Every configuration here is one an organization registered.
        provider_type: pb::sso_configuration::ProviderType::Custom as i32,
        email_domains: c.email_domains,
        display_name: c.details.display_name,
        additional_scopes: c.details.additional_scopes,
        claims_expression: String::new(),
    }
}

pub fn sso_configurations(page: Page<SsoConfiguration>) -> pb::ListSsoConfigurationsResponse {
    pb::ListSsoConfigurationsResponse {
        pagination: pagination(page.next_token),
        sso_configurations: page.items.into_iter().map(sso_configuration).collect(),
    }
}

pub fn create_sso_configuration(r: pb::CreateSsoConfigurationRequest) -> CreateSsoInput {
    CreateSsoInput {
        organization_id: r.organization_id,
        client_id: r.client_id,
        client_secret: r.client_secret,
        issuer_url: r.issuer_url,
        email_domain: r.email_domain,
        email_domains: r.email_domains,
        display_name: r.display_name,
        additional_scopes: r.additional_scopes,
        claims_expression: r.claims_expression,
    }
}

pub fn update_sso_configuration(r: pb::UpdateSsoConfigurationRequest) -> UpdateSsoInput {
    UpdateSsoInput {
        id: r.sso_configuration_id,
        client_id: r.client_id,
        client_secret: r.client_secret,
        issuer_url: r.issuer_url,
        state: r.state,
        claims: r.claims.into_iter().collect(),
        email_domain: r.email_domain,
        email_domains: r.email_domains,
        display_name: r.display_name,
        additional_scopes: r.additional_scopes.map(|s| s.scopes),
        claims_expression: r.claims_expression,
    }
}
