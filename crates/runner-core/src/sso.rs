//! SSO configurations (OrganizationService): an organization's OpenID Connect providers, through
//! which its people sign in. Only organization admins create, read, list, change or delete
//! them, and only their own organization's (any other id is `not_found`).
//!
//! - The issuer must be an OpenID provider: its discovery document
//!   (`/.well-known/openid-configuration`) is read through the [`OidcDiscovery`] port when a
//!   configuration is created, when its issuer changes and when it is made active again; an
//!   issuer that cannot be reached or is not an OpenID provider is `failed_precondition`.
//! - The client secret is encrypted at rest under the server key, bound to the configuration's
//!   id, and never returned.
//! - Email domains (lower case) belong to one configuration on the whole server: sign-in picks
//!   the configuration by the domain of the address typed in.
//! - A claims expression (CEL) is refused: this server does not evaluate one, and a rule that
//!   is stored but not applied would admit people its author meant to keep out.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use uuid::Uuid;

use crate::crypto::AtRestKey;
use crate::error::{CoreError, FieldViolation, Resource, Result};
use crate::identity::{Caller, SsoConfiguration, SsoDetails};
use crate::page::{Page, PageTokens};
use crate::store::{Store, StoreError, WriteOutcome};
use crate::time::{Deadline, Timestamp};
use crate::turns::Turns;
use crate::validate::{self, Violations};

const LIST_KIND: &str = "sso-configurations";
/// The JSON name of a configuration's id in requests.
const ID_FIELD: &str = "ssoConfigurationId";
/// The API's `SSOConfigurationState` numbers.
pub const STATE_INACTIVE: i32 = 1;
pub const STATE_ACTIVE: i32 = 2;
/// Most email domains one configuration may have.
pub const MAX_DOMAINS: usize = 100;
/// Longest client secret accepted.
const MAX_SECRET_LEN: usize = 16 * 1024;
/// Longest issuer URL accepted.
const MAX_ISSUER_LEN: usize = 2048;

/// What an OpenID provider's discovery document says (OpenID Connect Discovery 1.0, section 3),
/// as far as the authorization code flow needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderMetadata {
    /// The issuer, exactly as the provider names it (its ID tokens' `iss`).
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub jwks_uri: String,
}

/// Reads an issuer's discovery document (the adapter does the HTTP).
#[async_trait]
pub trait OidcDiscovery: Send + Sync {
    /// The metadata at `{issuer_url}/.well-known/openid-configuration`, or why the issuer is
    /// not a usable OpenID provider (unreachable, not a discovery document, a field missing), as
    /// a sentence for the admin.
    async fn discover(&self, issuer_url: &str) -> std::result::Result<ProviderMetadata, String>;
}

/// CreateSSOConfiguration as sent (its `Debug` leaves the client secret out).
#[derive(Clone, Default)]
pub struct CreateSsoInput {
    pub organization_id: String,
    pub client_id: String,
    pub client_secret: String,
    pub issuer_url: String,
    pub email_domain: Option<String>,
    pub email_domains: Vec<String>,
    pub display_name: String,
    pub additional_scopes: Vec<String>,
    pub claims_expression: Option<String>,
}

impl std::fmt::Debug for CreateSsoInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreateSsoInput")
            .field("organization_id", &self.organization_id)
            .field("issuer_url", &self.issuer_url)
            .finish_non_exhaustive()
    }
}

/// UpdateSSOConfiguration as sent: what is `None` (or empty, for the lists and the map) stays.
/// Its `Debug` leaves the client secret out.
#[derive(Clone, Default)]
pub struct UpdateSsoInput {
    pub id: String,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub issuer_url: Option<String>,
    /// An `SSOConfigurationState` number.
    pub state: Option<i32>,
    pub claims: BTreeMap<String, String>,
    pub email_domain: Option<String>,
    pub email_domains: Vec<String>,
    pub display_name: Option<String>,
    /// Replaces the scopes when given (an empty list clears them).
    pub additional_scopes: Option<Vec<String>>,
    pub claims_expression: Option<String>,
}

impl std::fmt::Debug for UpdateSsoInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UpdateSsoInput")
            .field("id", &self.id)
            .field("issuer_url", &self.issuer_url)
            .finish_non_exhaustive()
    }
}

/// The SSO configuration use cases.
#[derive(Clone)]
pub struct SsoConfigurations {
    store: Arc<dyn Store>,
    discovery: Arc<dyn OidcDiscovery>,
    page_tokens: PageTokens,
    key: AtRestKey,
    turns: Turns,
}

/// What the client secret's ciphertext is bound to.
pub(crate) fn secret_aad(id: Uuid) -> Vec<u8> {
    let mut aad = id.as_bytes().to_vec();
    aad.extend_from_slice(b"sso-client-secret");
    aad
}

fn admin(caller: &Caller) -> Result<()> {
    if caller.org_admin {
        Ok(())
    } else {
        Err(CoreError::denied(
            format!("organization {}", caller.org_id),
            "only organization admins manage SSO configurations",
        ))
    }
}

/// An issuer URL: `https`, or `http` on a loopback host (a provider on the same machine, for
/// development and tests); no query or fragment (the discovery path is appended to it).
fn check_issuer(field: &str, url: &str) -> std::result::Result<(), FieldViolation> {
    validate::length(field, url, 1, MAX_ISSUER_LEN)?;
    validate::check_url(field, url)?;
    if url.contains(['?', '#']) {
        return Err(FieldViolation::new(field, "must not have a query or a fragment"));
    }
    if let Some(rest) = url.strip_prefix("http://") {
        let authority = rest.split('/').next().unwrap_or_default();
        let host = if authority.starts_with('[') {
            authority.split(']').next().map(|h| format!("{h}]")).unwrap_or_default()
        } else {
            authority.split(':').next().unwrap_or_default().to_owned()
        };
        let loopback = host == "localhost"
            || host == "[::1]"
            || host.parse::<std::net::Ipv4Addr>().is_ok_and(|ip| ip.is_loopback());
        if !loopback {
            return Err(FieldViolation::new(field, "must be an https URL (http only on localhost)"));
        }
    }
    Ok(())
}

fn check_secret(field: &str, secret: &str) -> std::result::Result<(), FieldViolation> {
    validate::length(field, secret, 1, MAX_SECRET_LEN)
}

/// The domains of a request: `emailDomain` and `emailDomains` together, lower case, each once.
fn domains(single: Option<&str>, list: &[String]) -> std::result::Result<Vec<String>, FieldViolation> {
    let mut out: Vec<String> = Vec::new();
    for d in single.into_iter().chain(list.iter().map(String::as_str)) {
        let d = d.trim().to_ascii_lowercase();
        if !out.contains(&d) {
            out.push(d);
        }
    }
    if out.len() > MAX_DOMAINS {
        return Err(FieldViolation::new("emailDomains", format!("must have at most {MAX_DOMAINS} domains")));
    }
    for (i, d) in out.iter().enumerate() {
        if !crate::validate::is_domain_name(d) {
            return Err(FieldViolation::new(format!("emailDomains[{i}]"), "must be a domain name such as example.com"));
        }
    }
    Ok(out)
}

fn check_scopes(field: &str, scopes: &[String]) -> std::result::Result<(), FieldViolation> {
    if scopes.len() > 100 {
        return Err(FieldViolation::new(field, "must have at most 100 scopes"));
    }
    for (i, s) in scopes.iter().enumerate() {
        validate::length(&format!("{field}[{i}]"), s, 1, 128)?;
        if s.contains(char::is_whitespace) {
            return Err(FieldViolation::new(format!("{field}[{i}]"), "must be one scope, without spaces"));
        }
    }
    Ok(())
}

fn no_claims_expression(expression: Option<&str>) -> std::result::Result<(), FieldViolation> {
    match expression {
        Some(e) if !e.is_empty() => Err(FieldViolation::new(
            "claimsExpression",
            "claims expressions (CEL) are not supported by this server; leave it empty",
        )),
        _ => Ok(()),
    }
}

fn state_of(number: i32) -> std::result::Result<bool, FieldViolation> {
    match number {
        STATE_ACTIVE => Ok(true),
        STATE_INACTIVE => Ok(false),
        _ => Err(FieldViolation::new(
            "state",
            "must be SSO_CONFIGURATION_STATE_ACTIVE or SSO_CONFIGURATION_STATE_INACTIVE",
        )),
    }
}

impl SsoConfigurations {
    pub fn new(
        store: Arc<dyn Store>,
        discovery: Arc<dyn OidcDiscovery>,
        page_tokens: PageTokens,
        key: AtRestKey,
    ) -> Self {
        let turns = Turns::new(store.clone(), Resource::SsoConfiguration);
        Self { store, discovery, page_tokens, key, turns }
    }

    /// The same use cases reading discovery documents through `discovery`.
    pub fn with_discovery(self, discovery: Arc<dyn OidcDiscovery>) -> Self {
        Self { discovery, ..self }
    }

    /// Reads the issuer's discovery document: the issuer as the provider names it (a trailing
    /// slash typed in or left out is forgiven), or `failed_precondition`.
    async fn discover(&self, issuer_url: &str) -> Result<String> {
        let refused = |why: String| {
            CoreError::FailedPrecondition(format!("the issuer {issuer_url} is not a usable OpenID provider: {why}"))
        };
        let metadata = self.discovery.discover(issuer_url).await.map_err(refused)?;
        if metadata.issuer.trim_end_matches('/') != issuer_url.trim_end_matches('/') {
            return Err(refused(format!("its discovery document names another issuer, {}", metadata.issuer)));
        }
        Ok(metadata.issuer)
    }

    fn domain_taken(e: StoreError) -> CoreError {
        match e {
            StoreError::AlreadyExists => CoreError::AlreadyExists {
                resource: Resource::SsoConfiguration,
                message: "an email domain of this configuration belongs to another SSO configuration".to_owned(),
            },
            e => e.into(),
        }
    }

    pub async fn create(&self, caller: &Caller, input: CreateSsoInput) -> Result<SsoConfiguration> {
        let mut v = Violations::default();
        let org_id = v.check(validate::uuid("organizationId", &input.organization_id));
        v.check(validate::length("clientId", &input.client_id, 1, 1024));
        v.check(check_secret("clientSecret", &input.client_secret));
        v.check(check_issuer("issuerUrl", &input.issuer_url));
        let email_domains = v.check(domains(input.email_domain.as_deref(), &input.email_domains));
        v.check(validate::length("displayName", &input.display_name, 0, 128));
        v.check(check_scopes("additionalScopes", &input.additional_scopes));
        v.check(no_claims_expression(input.claims_expression.as_deref()));
        if email_domains.as_ref().is_some_and(Vec::is_empty) {
            v.push(FieldViolation::new("emailDomains", "needs at least one email domain"));
        }
        v.finish()?;
        let org_id = org_id.expect("checked");
        if org_id != caller.org_id {
            return Err(CoreError::not_found(Resource::Organization, org_id));
        }
        admin(caller)?;
        let issuer_url = self.discover(&input.issuer_url).await?;
        let now = Timestamp::now();
        let id = Uuid::now_v7();
        let config = SsoConfiguration {
            id,
            org_id,
            client_id: input.client_id,
            client_secret_ciphertext: self.key.encrypt(input.client_secret.as_bytes(), &secret_aad(id)),
            issuer_url,
            active: true,
            email_domains: email_domains.expect("checked"),
            details: SsoDetails {
                display_name: input.display_name,
                additional_scopes: input.additional_scopes,
                claims: BTreeMap::new(),
            },
            created_at: now,
            updated_at: now,
            revision: 1,
        };
        self.store.insert_sso_configuration(&config).await.map_err(Self::domain_taken)?;
        Ok(config)
    }

    /// The configuration, if it is of the caller's organization (else `not_found`) and the
    /// caller is its admin (else `permission_denied`).
    async fn load_for(&self, caller: &Caller, id: &str) -> Result<SsoConfiguration> {
        let id = validate::uuid(ID_FIELD, id)?;
        let config = self.store.get_sso_configuration(id).await?.filter(|c| c.org_id == caller.org_id);
        let config = config.ok_or_else(|| CoreError::not_found(Resource::SsoConfiguration, id))?;
        admin(caller)?;
        Ok(config)
    }

    pub async fn get(&self, caller: &Caller, id: &str) -> Result<SsoConfiguration> {
        self.load_for(caller, id).await
    }

    pub async fn list(
        &self,
        caller: &Caller,
        organization_id: &str,
        page_size: i32,
        token: &str,
    ) -> Result<Page<SsoConfiguration>> {
        let mut v = Violations::default();
        let org_id = v.check(validate::uuid("organizationId", organization_id));
        let size = v.check(validate::page_size("pagination.pageSize", page_size));
        v.finish()?;
        let (org_id, size) = (org_id.expect("checked"), size.expect("checked"));
        if org_id != caller.org_id {
            return Err(CoreError::not_found(Resource::Organization, org_id));
        }
        admin(caller)?;
        // The token is bound to the organization it lists.
        let cursor = self.page_tokens.cursor("pagination.token", LIST_KIND, token, org_id)?;
        if cursor.filter != org_id {
            return Err(CoreError::invalid("pagination.token", "invalid page token"));
        }
        let after = cursor.after_id()?;
        let items = self.store.list_sso_configurations(org_id, after, size + 1).await?;
        Ok(self.page_tokens.page(LIST_KIND, &org_id, items, size, |c| c.id))
    }

    pub async fn update(&self, caller: &Caller, deadline: Deadline, input: UpdateSsoInput) -> Result<SsoConfiguration> {
        let mut v = Violations::default();
        let id = v.check(validate::uuid(ID_FIELD, &input.id));
        if let Some(c) = &input.client_id {
            v.check(validate::length("clientId", c, 1, 1024));
        }
        if let Some(s) = &input.client_secret {
            v.check(check_secret("clientSecret", s));
        }
        if let Some(i) = &input.issuer_url {
            v.check(check_issuer("issuerUrl", i));
        }
        let active = input.state.and_then(|s| v.check(state_of(s)));
        let new_domains = if input.email_domain.is_some() || !input.email_domains.is_empty() {
            v.check(domains(input.email_domain.as_deref(), &input.email_domains))
        } else {
            None
        };
        if let Some(d) = &input.display_name {
            v.check(validate::length("displayName", d, 0, 128));
        }
        if let Some(s) = &input.additional_scopes {
            v.check(check_scopes("additionalScopes.scopes", s));
        }
        v.check(no_claims_expression(input.claims_expression.as_deref()));
        v.finish()?;
        let id = id.expect("checked");
        let mut turn = self.turns.take(id, deadline).await?;
        loop {
            let mut config = self.load_for(caller, &input.id).await?;
            let issuer_changes = input
                .issuer_url
                .as_deref()
                .is_some_and(|i| i.trim_end_matches('/') != config.issuer_url.trim_end_matches('/'));
            let activated = active == Some(true) && !config.active;
            if issuer_changes || activated {
                let issuer = input.issuer_url.as_deref().unwrap_or(&config.issuer_url).to_owned();
                config.issuer_url = self.discover(&issuer).await?;
            }
            if let Some(c) = &input.client_id {
                config.client_id = c.clone();
            }
            if let Some(s) = &input.client_secret {
                config.client_secret_ciphertext = self.key.encrypt(s.as_bytes(), &secret_aad(config.id));
            }
            if let Some(a) = active {
                config.active = a;
            }
            if !input.claims.is_empty() {
                config.details.claims = input.claims.clone();
            }
            if let Some(d) = &new_domains {
                config.email_domains = d.clone();
            }
            if let Some(d) = &input.display_name {
                config.details.display_name = d.clone();
            }
            if let Some(s) = &input.additional_scopes {
                config.details.additional_scopes = s.clone();
            }
            config.updated_at = Timestamp::now().max(config.updated_at);
            config.revision += 1;
            match self.store.update_sso_configuration(&config).await.map_err(Self::domain_taken)? {
                WriteOutcome::Written => return Ok(config),
                WriteOutcome::Conflict => turn.lost_race().await?,
            }
        }
    }

    pub async fn delete(&self, caller: &Caller, id: &str) -> Result<()> {
        let config = self.load_for(caller, id).await?;
        if self.store.delete_sso_configuration(config.id).await? {
            Ok(())
        } else {
            Err(CoreError::not_found(Resource::SsoConfiguration, config.id))
        }
    }

    /// The client secret in plaintext, for the code exchange with the provider.
    pub fn client_secret(&self, config: &SsoConfiguration) -> Result<String> {
        let plain = self.key.decrypt(&config.client_secret_ciphertext, &secret_aad(config.id)).map_err(|e| {
            CoreError::Internal(format!("the SSO client secret of {} does not decrypt: {e}", config.id))
        })?;
        String::from_utf8(plain).map_err(|_| CoreError::Internal("an SSO client secret is not UTF-8".to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issuers_are_https_or_loopback_http() {
        for ok in [
            "https://accounts.google.com",
            "https://idp.example.com/realms/x/",
            "http://127.0.0.1:8080",
            "http://localhost:9000/oidc",
            "http://[::1]:4000",
        ] {
            assert!(check_issuer("issuerUrl", ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://idp.example.com",
            "ftp://x.example.com",
            "https://idp.example.com/?x=1",
            "https://idp.example.com/#f",
            "http://127.0.0.1.evil.com",
            "",
            "https://",
        ] {
            assert!(check_issuer("issuerUrl", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn domains_merge_lower_case_and_once() {
        let list = vec!["Example.COM".to_owned(), "b.example.org".to_owned(), "example.com".to_owned()];
        assert_eq!(domains(Some("EXAMPLE.com"), &list).unwrap(), ["example.com", "b.example.org"]);
        assert_eq!(domains(None, &[]).unwrap(), Vec::<String>::new());
        for bad in ["example", "-a.com", "a..com", "a b.com", "a_b.com"] {
            assert!(domains(Some(bad), &[]).is_err(), "{bad}");
        }
    }

    #[test]
    fn claims_expressions_are_refused() {
        assert!(no_claims_expression(None).is_ok());
        assert!(no_claims_expression(Some("")).is_ok());
        assert!(no_claims_expression(Some("claims.email_verified")).is_err());
    }
}
