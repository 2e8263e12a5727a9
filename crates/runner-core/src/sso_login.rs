//! Signing in through an organization's SSO configuration (OpenID Connect, authorization code
//! flow with PKCE), and the console sessions that follow.
//!
//! - **Start** ([`SsoLogins::start`], [`SsoLogins::login_url_for_email`]): a fresh `state`
//!   (256 random bits), `nonce` and PKCE verifier per attempt. The state is stored only as its
//!   hash, with the nonce, the verifier (encrypted at rest, bound to the state's hash), the
//!   invite followed and where to return, for [`STATE_TTL_SECS`]; the provider's authorization
//!   URL is built by the [`OidcFlow`] port.
//! - **Callback** ([`SsoLogins::finish`]): the state is taken once (a replay finds nothing);
//!   the configuration must still be active; the port exchanges the code (with the verifier)
//!   and validates the ID token (signature through the provider's JWKS, issuer, audience,
//!   expiry, nonce). The person is then found by their identity (issuer and subject), else,
//!   only when the configuration owns the email's domain, by their email (the identity is then
//!   linked to that account), and admitted to the configuration's organization: a member
//!   already, or the email's domain is one of the configuration's, or the sign-in carries a
//!   current invite of that organization. An invite does not admit an address that already has
//!   an account or whose domain another configuration owns: any provider can name any address,
//!   and only the domain's own provider vouches for it. The account and the user (role member)
//!   are made just in time.
//! - **Sessions**: a random token (`gps_…`), stored hashed, valid for the configured hours;
//!   ended by [`SsoLogins::logout`], and at once when the member is suspended or deleted (the
//!   store deletes them), since every call reads the session from the store.

use std::sync::Arc;

use async_trait::async_trait;
use uuid::Uuid;

use crate::crypto::AtRestKey;
use crate::error::{CoreError, Resource, Result};
use crate::identity::{
    Account, AccountIdentity, Caller, ConsoleSession, Member, OrgRole, SsoConfiguration, SsoLoginState,
};
use crate::model::{Principal, ResourceRole};
use crate::secrets;
use crate::store::{Store, StoreError};
use crate::time::Timestamp;
use crate::validate;

/// How long a started sign-in may take to come back, in seconds.
pub const STATE_TTL_SECS: i64 = 600;
/// How long a console session lasts by default, in hours (`--session-hours`).
pub const DEFAULT_SESSION_HOURS: i64 = 12;
/// How session tokens start (the rest is 256 random bits).
pub const SESSION_TOKEN_PREFIX: &str = "gps";
/// The path of the callback under the public URL (the redirect URI registered at providers).
pub const CALLBACK_PATH: &str = "/auth/sso/callback";
/// Scopes every sign-in asks for, before the configuration's additional ones.
pub const BASE_SCOPES: [&str; 3] = ["openid", "email", "profile"];

/// What the provider is asked for (its authorization URL).
#[derive(Clone)]
pub struct AuthorizationRequest {
    pub issuer_url: String,
    pub client_id: String,
    pub redirect_uri: String,
    pub scopes: Vec<String>,
    pub state: String,
    pub nonce: String,
    pub pkce_verifier: String,
}

/// The code the provider sent back, to exchange for tokens.
#[derive(Clone)]
pub struct CodeExchange {
    pub issuer_url: String,
    pub client_id: String,
    pub client_secret: String,
    pub redirect_uri: String,
    pub code: String,
    pub pkce_verifier: String,
    pub nonce: String,
}

/// Who the provider says signed in, from an ID token that passed every check.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VerifiedIdentity {
    pub issuer: String,
    pub subject: String,
    pub email: Option<String>,
    pub email_verified: Option<bool>,
    pub name: Option<String>,
    pub picture: Option<String>,
}

/// The OpenID Connect protocol (the adapter does the HTTP, the JOSE and the checks).
#[async_trait]
pub trait OidcFlow: Send + Sync {
    /// The provider's authorization URL for `request` (response type `code`, S256 PKCE).
    async fn authorization_url(&self, request: &AuthorizationRequest) -> std::result::Result<String, String>;
    /// Exchanges the code and validates the ID token (signature through the provider's JWKS,
    /// issuer, audience, expiry, nonce); why not, as a sentence without secrets.
    async fn exchange(&self, exchange: &CodeExchange) -> std::result::Result<VerifiedIdentity, String>;
}

/// A finished sign-in.
pub struct SignedIn {
    /// The session token (the cookie's value); never logged.
    pub session_token: String,
    pub session: ConsoleSession,
    pub member: Member,
    /// Where the console goes now.
    pub return_to: String,
}

impl std::fmt::Debug for SignedIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignedIn").field("member", &self.member.id).field("return_to", &self.return_to).finish()
    }
}

/// The sign-in use cases.
#[derive(Clone)]
pub struct SsoLogins {
    store: Arc<dyn Store>,
    flow: Arc<dyn OidcFlow>,
    key: AtRestKey,
    /// The server's public URL, without a trailing slash.
    public_url: String,
    session_secs: i64,
}

/// The caller a session stands for, before its groups are known (the actor of the sign-in's
/// audit log entries).
fn actor(member: &Member) -> Caller {
    Caller {
        org_id: member.org_id,
        subject: member.subject(),
        org_admin: member.role == OrgRole::Admin,
        runners_admin: false,
        groups: Vec::new(),
    }
}

/// The origin (`scheme://host[:port]`) of an absolute http(s) URL.
pub fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    if !matches!(scheme, "http" | "https") {
        return None;
    }
    let authority = rest.split(['/', '?', '#']).next()?;
    if authority.is_empty() || authority.contains('@') {
        return None;
    }
    Some(format!("{}://{}", scheme.to_ascii_lowercase(), authority.to_ascii_lowercase()))
}

fn refused(why: impl Into<String>) -> CoreError {
    CoreError::Unauthenticated(why.into())
}

impl SsoLogins {
    pub fn new(store: Arc<dyn Store>, flow: Arc<dyn OidcFlow>, key: AtRestKey, public_url: &str) -> Self {
        Self {
            store,
            flow,
            key,
            public_url: public_url.trim_end_matches('/').to_owned(),
            session_secs: DEFAULT_SESSION_HOURS * 3600,
        }
    }

    /// Sessions lasting `hours`.
    pub fn with_session_hours(self, hours: i64) -> Self {
        Self { session_secs: hours * 3600, ..self }
    }

    pub fn with_flow(self, flow: Arc<dyn OidcFlow>) -> Self {
        Self { flow, ..self }
    }

    /// The redirect URI providers send people back to.
    pub fn redirect_uri(&self) -> String {
        format!("{}{CALLBACK_PATH}", self.public_url)
    }

    pub fn public_url(&self) -> &str {
        &self.public_url
    }

    /// `return_to` checked: a URL on the public URL's origin (default: the public URL's root).
    fn return_to(&self, field: &str, return_to: Option<&str>) -> Result<String> {
        let default = format!("{}/", self.public_url);
        let Some(r) = return_to.filter(|r| !r.is_empty()) else { return Ok(default) };
        validate::length(field, r, 1, 2048).map_err(|v| CoreError::InvalidArgument(vec![v]))?;
        if origin_of(r).is_none() || origin_of(r) != origin_of(&self.public_url) {
            return Err(CoreError::invalid(field, format!("must be a URL on this server ({})", self.public_url)));
        }
        Ok(r.to_owned())
    }

    /// Deletes the console sessions and the sign-ins in progress that have expired; how many.
    pub async fn prune_expired(&self) -> Result<u64> {
        Ok(self.store.prune_sessions(Timestamp::now()).await?)
    }

    /// GetSSOLoginURL: the authorization URL of the active SSO configuration that `email`'s
    /// domain belongs to.
    pub async fn login_url_for_email(&self, email: &str, return_to: Option<&str>) -> Result<String> {
        let domain = Account::email_domain(email)
            .ok_or_else(|| CoreError::invalid("email", "must be an email address such as ada@example.com"))?;
        let return_to = self.return_to("returnTo", return_to)?;
        let config = self.store.find_sso_configuration_by_domain(&domain).await?.ok_or_else(|| {
            CoreError::FailedPrecondition(format!(
                "no organization signs in with SSO for the email domain {domain}; sign in with a personal access token, \
                 or ask your administrator to add the domain to an SSO configuration"
            ))
        })?;
        self.begin(&config, None, return_to).await
    }

    /// `GET /auth/sso/start`: the authorization URL of configuration `configuration_id`.
    pub async fn start(&self, configuration_id: &str, invite: Option<&str>, return_to: Option<&str>) -> Result<String> {
        let id = validate::uuid("configuration", configuration_id).map_err(|v| CoreError::InvalidArgument(vec![v]))?;
        let invite = invite
            .filter(|i| !i.is_empty())
            .map(|i| validate::uuid("invite", i).map_err(|v| CoreError::InvalidArgument(vec![v])))
            .transpose()?;
        let return_to = self.return_to("return_to", return_to)?;
        let config = self
            .store
            .get_sso_configuration(id)
            .await?
            .ok_or_else(|| CoreError::not_found(Resource::SsoConfiguration, id))?;
        self.begin(&config, invite, return_to).await
    }

    async fn begin(&self, config: &SsoConfiguration, invite_id: Option<Uuid>, return_to: String) -> Result<String> {
        if !config.active {
            return Err(CoreError::FailedPrecondition(format!(
                "the SSO configuration {} of this organization is inactive: sign-ins through it are turned off",
                name_of(config)
            )));
        }
        let state = secrets::mint("st");
        let nonce = secrets::mint("n").plaintext;
        let verifier = secrets::mint("pkce").plaintext;
        let scopes = BASE_SCOPES
            .iter()
            .map(|s| s.to_string())
            .chain(config.details.additional_scopes.iter().filter(|s| !BASE_SCOPES.contains(&s.as_str())).cloned())
            .collect();
        let request = AuthorizationRequest {
            issuer_url: config.issuer_url.clone(),
            client_id: config.client_id.clone(),
            redirect_uri: self.redirect_uri(),
            scopes,
            state: state.plaintext.clone(),
            nonce: nonce.clone(),
            pkce_verifier: verifier.clone(),
        };
        let url = self.flow.authorization_url(&request).await.map_err(|why| {
            CoreError::FailedPrecondition(format!(
                "the identity provider {} cannot be used now: {why}",
                config.issuer_url
            ))
        })?;
        let now = Timestamp::now();
        let login = SsoLoginState {
            configuration_id: config.id,
            nonce,
            pkce_verifier_ciphertext: self.key.encrypt(verifier.as_bytes(), &state.hash),
            invite_id,
            return_to,
            created_at: now,
            expires_at: now.plus_seconds(STATE_TTL_SECS),
        };
        self.store.insert_login_state(&login, &state.hash).await?;
        Ok(url)
    }

    /// The callback: signs the person in, making their account and user when needed. Every
    /// refusal is a sentence for the sign-in screen, naming no secret.
    pub async fn finish(&self, code: &str, state: &str) -> Result<SignedIn> {
        if code.is_empty() || state.is_empty() || code.len() > 4096 || state.len() > 512 {
            return Err(refused("the identity provider sent back no sign-in; sign in again"));
        }
        let hash = secrets::hash(state);
        let now = Timestamp::now();
        let login = self
            .store
            .take_login_state(&hash, now)
            .await?
            .ok_or_else(|| refused("this sign-in expired or was already used; sign in again"))?;
        let config = self
            .store
            .get_sso_configuration(login.configuration_id)
            .await?
            .ok_or_else(|| refused("the SSO configuration of this sign-in was deleted"))?;
        if !config.active {
            return Err(refused(format!(
                "the SSO configuration {} of this organization is inactive: sign-ins through it are turned off",
                name_of(&config)
            )));
        }
        let verifier = self
            .key
            .decrypt(&login.pkce_verifier_ciphertext, &hash)
            .map_err(|_| CoreError::Internal("a stored sign-in could not be decrypted".to_owned()))?;
        let secret = self
            .key
            .decrypt(&config.client_secret_ciphertext, &crate::sso::secret_aad(config.id))
            .map_err(|_| CoreError::Internal("an SSO client secret could not be decrypted".to_owned()))?;
        let exchange = CodeExchange {
            issuer_url: config.issuer_url.clone(),
            client_id: config.client_id.clone(),
            client_secret: String::from_utf8(secret)
                .map_err(|_| CoreError::Internal("an SSO client secret is not text".to_owned()))?,
            redirect_uri: self.redirect_uri(),
            code: code.to_owned(),
            pkce_verifier: String::from_utf8_lossy(&verifier).into_owned(),
            nonce: login.nonce.clone(),
        };
        let identity = self
            .flow
            .exchange(&exchange)
            .await
            .map_err(|why| refused(format!("the identity provider's answer was refused: {why}")))?;
        let email = identity
            .email
            .as_deref()
            .map(Account::normalize_email)
            .filter(|e| e.contains('@'))
            .ok_or_else(|| refused("the identity provider did not say your email address (scope email)"))?;
        // None for an address no configuration could own (`admin@localhost`): only an invite
        // lets it in.
        let domain = Account::email_domain(&email);
        if identity.email_verified == Some(false) {
            return Err(refused(format!("the identity provider has not verified your email address {email}")));
        }
        let member = self.admit(&config, &identity, &email, domain.as_deref(), login.invite_id, now).await?;
        crate::audit::set_actor(&actor(&member));
        let token = secrets::mint(SESSION_TOKEN_PREFIX);
        let session = ConsoleSession {
            id: Uuid::now_v7(),
            member_id: member.id,
            org_id: member.org_id,
            created_at: now,
            expires_at: now.plus_seconds(self.session_secs),
        };
        self.store.insert_session(&session, &token.hash).await?;
        Ok(SignedIn { session_token: token.plaintext, session, member, return_to: login.return_to })
    }

    /// The person's user in the configuration's organization: theirs already, or made now.
    async fn admit(
        &self,
        config: &SsoConfiguration,
        identity: &VerifiedIdentity,
        email: &str,
        domain: Option<&str>,
        invite_id: Option<Uuid>,
        now: Timestamp,
    ) -> Result<Member> {
        let link = AccountIdentity {
            issuer: identity.issuer.clone(),
            subject: identity.subject.clone(),
            account_id: Uuid::nil(),
            created_at: now,
        };
        // Only the configuration that owns the email's domain vouches for the address: an
        // account is found by its email, and this identity linked to it, only through that
        // configuration. Any other provider could name any address, and would otherwise sign in
        // as (and add its identity to) someone else's account.
        let by_domain = domain.is_some_and(|domain| config.email_domains.iter().any(|d| d == domain));
        let mut account = self.store.find_account_by_identity(&identity.issuer, &identity.subject).await?;
        if let Some(a) = account.as_mut().filter(|a| by_domain && !a.email_vouched && a.email == email) {
            // The domain's own provider names this identity's account by its address: vouched.
            a.email_vouched = true;
            self.store.update_account_profile(a).await?;
        }
        if account.is_none() {
            account = self.store.find_account_by_email(email).await?;
            match &account {
                Some(a) if by_domain && !a.email_vouched => {
                    // Made through another organization's provider (by its invite) before this
                    // configuration owned the domain: whoever signed in there only claimed the
                    // address, and linking would let them in as this person.
                    return Err(CoreError::denied(
                        format!("organization {}", config.org_id),
                        format!(
                            "an account with the address {email} was made through another organization's identity \
                             provider, which cannot vouch for it; sign in through that provider, then open an invite \
                             link of this organization to join"
                        ),
                    ));
                }
                Some(a) if by_domain => {
                    // The same person through another provider (or before a provider change).
                    match self.store.link_account_identity(&AccountIdentity { account_id: a.id, ..link.clone() }).await
                    {
                        Ok(_) | Err(StoreError::AlreadyExists) => {}
                        Err(e) => return Err(e.into()),
                    }
                }
                Some(_) => {
                    return Err(CoreError::denied(
                        format!("organization {}", config.org_id),
                        format!(
                            "{email} already has an account on this server; sign in through the identity provider \
                             you signed in with before, then open the invite link again to join"
                        ),
                    ));
                }
                None => {}
            }
        }
        if let Some(a) = &account {
            let members = self.store.list_account_members(a.id).await?;
            if let Some(m) = members.into_iter().find(|m| m.org_id == config.org_id && m.principal == Principal::User) {
                if m.suspended {
                    return Err(refused("your user in this organization is suspended; ask an administrator"));
                }
                return Ok(m);
            }
        }
        if !by_domain && account.is_none() {
            // An address whose domain another configuration owns is that provider's to vouch
            // for: a new account for it made through this one would take the address.
            let owner = match domain {
                Some(domain) => self.store.find_sso_configuration_by_domain(domain).await?,
                None => None,
            };
            if let Some(owner) = owner {
                return Err(CoreError::denied(
                    format!("organization {}", config.org_id),
                    format!(
                        "{email} signs in through {}; sign in there, then open the invite link again to join",
                        name_of(&owner)
                    ),
                ));
            }
        }
        let by_invite = match invite_id {
            Some(id) if !by_domain => {
                self.store.get_invite(id).await?.is_some_and(|invite| invite.org_id == config.org_id)
            }
            _ => false,
        };
        if !by_domain && !by_invite {
            let why = if invite_id.is_some() {
                format!(
                    "{email} is not in an email domain of this organization, and the invite is no longer valid; ask for a new invite"
                )
            } else {
                format!("{email} is not in an email domain of this organization; ask an administrator for an invite")
            };
            return Err(CoreError::denied(format!("organization {}", config.org_id), why));
        }
        let display = identity.name.clone().filter(|n| !n.trim().is_empty()).unwrap_or_else(|| email.to_owned());
        let names = [display.clone(), format!("{display} ({email})")];
        let account = match account {
            Some(a) => a,
            None => {
                let account = Account {
                    id: Uuid::now_v7(),
                    email: email.to_owned(),
                    name: display.clone(),
                    avatar_url: identity.picture.clone().unwrap_or_default(),
                    created_at: now,
                    updated_at: now,
                    email_vouched: by_domain,
                };
                for name in &names {
                    let member = self.new_member(config, &account, name, now);
                    crate::audit::set_actor(&actor(&member));
                    let link = AccountIdentity { account_id: account.id, ..link.clone() };
                    match self.store.create_account(&account, &member, Some(&link)).await {
                        Ok(()) => return Ok(member),
                        Err(StoreError::AlreadyExists) => continue,
                        Err(e) => return Err(e.into()),
                    }
                }
                return Err(CoreError::Unavailable("another sign-in of this person is in progress; try again".into()));
            }
        };
        for name in &names {
            let member = self.new_member(config, &account, name, now);
            crate::audit::set_actor(&actor(&member));
            match self.store.create_member(&member).await {
                Ok(()) => return Ok(member),
                Err(StoreError::AlreadyExists) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(CoreError::Unavailable("another sign-in of this person is in progress; try again".into()))
    }

    fn new_member(&self, config: &SsoConfiguration, account: &Account, name: &str, now: Timestamp) -> Member {
        Member { account_id: account.id, ..Member::new(config.org_id, Principal::User, name, OrgRole::Member, now) }
    }

    /// The caller a session token stands for: a user of one organization.
    pub async fn authenticate(&self, token: &str) -> Result<Caller> {
        let ended = || refused("your session ended or expired; sign in again");
        if !token.starts_with(SESSION_TOKEN_PREFIX) || token.len() > 512 {
            return Err(ended());
        }
        let now = Timestamp::now();
        let Some((_, member, groups)) = self.store.resolve_session(&secrets::hash(token), now).await? else {
            return Err(ended());
        };
        if member.suspended {
            return Err(ended());
        }
        let groups: Vec<Uuid> = groups.iter().map(|g| g.id).collect();
        let org_roles = self.store.organization_roles(member.org_id, &groups).await?;
        Ok(Caller {
            org_id: member.org_id,
            subject: member.subject(),
            org_admin: member.role == OrgRole::Admin,
            runners_admin: org_roles.contains(&ResourceRole::OrgRunnersAdmin),
            groups,
        })
    }

    /// Sign-out: ends the session of `token`; `false` when it had ended already.
    pub async fn logout(&self, token: &str) -> Result<bool> {
        if let Ok(caller) = self.authenticate(token).await {
            crate::audit::set_actor(&caller);
        }
        Ok(self.store.delete_session(&secrets::hash(token)).await?)
    }
}

/// How a configuration is named in messages: its display name, else its issuer.
fn name_of(config: &SsoConfiguration) -> String {
    if config.details.display_name.is_empty() {
        config.issuer_url.clone()
    } else {
        format!("\"{}\"", config.details.display_name)
    }
}
