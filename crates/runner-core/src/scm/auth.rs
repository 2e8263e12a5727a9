//! How a user authenticates with an SCM host: the OAuth authorization URL and the
//! personal-access-token page, example and scopes of each provider (CheckAuthenticationForHost,
//! and the `authenticationRequiredUrl` of the authentication-required errors).

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use super::provider::ScmKind;
use crate::model::{ScmIntegration, ScmOAuthConfig};

/// The OAuth method of an integration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthMethod {
    pub auth_url: String,
    pub docs_url: String,
}

/// The personal-access-token method of an integration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatMethod {
    pub create_url: String,
    pub docs_url: String,
    pub example: String,
    pub required_scopes: Vec<String>,
}

/// The ways to authenticate that an integration offers; each is present only when the
/// integration enables it (OAuth configured, `pat` true).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AuthMethods {
    pub oauth: Option<OAuthMethod>,
    pub pat: Option<PatMethod>,
}

impl AuthMethods {
    /// Where to send a user who must authenticate: OAuth when offered, else the PAT page.
    pub fn entry_url(&self) -> String {
        match (&self.oauth, &self.pat) {
            (Some(o), _) => o.auth_url.clone(),
            (None, Some(p)) => p.create_url.clone(),
            (None, None) => String::new(),
        }
    }
}

/// What the runner's schema says about the provider, where it says it.
#[derive(Debug, Clone, Default)]
pub struct SchemaHints {
    /// The OAuth redirect (callback) URL on the runner.
    pub callback_url: Option<String>,
    /// The provider's page on personal access tokens.
    pub pat_docs_url: Option<String>,
}

/// Where a runner exchanges an authorization code, and how it authenticates as the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenEndpoint {
    pub url: String,
    /// HTTP Basic authentication with the client id and secret, rather than form fields.
    pub client_secret_basic: bool,
}

/// Everything but RFC 3986's unreserved characters is escaped in a query value.
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

fn query(pairs: &[(&str, &str)]) -> String {
    pairs.iter().map(|(k, v)| format!("{k}={}", utf8_percent_encode(v, QUERY_VALUE))).collect::<Vec<_>>().join("&")
}

/// OAuth scopes each provider's app is asked for.
fn oauth_scopes(kind: ScmKind) -> &'static str {
    match kind {
        ScmKind::GitHub => "repo read:user user:email workflow",
        ScmKind::GitLab => "api read_repository read_user",
        ScmKind::Bitbucket => "repository account pullrequest",
        // Azure DevOps as an Entra resource, plus a refresh token.
        ScmKind::AzureDevOps => "499b84ac-1321-427f-aa17-267ca6975798/.default offline_access",
    }
}

fn pat_scopes(kind: ScmKind) -> &'static [&'static str] {
    match kind {
        ScmKind::GitHub => &["repo", "read:user", "user:email", "workflow"],
        ScmKind::GitLab => &["api", "read_repository", "read_user"],
        ScmKind::Bitbucket => &["read:user:bitbucket", "read:repository:bitbucket", "write:repository:bitbucket"],
        ScmKind::AzureDevOps => &["vso.code_write"],
    }
}

/// The Microsoft Entra authority of an Azure DevOps integration: its issuer without `/v2.0`.
fn entra_authority(o: &ScmOAuthConfig) -> &str {
    let issuer = if o.issuer_url.is_empty() {
        "https://login.microsoftonline.com/common/v2.0"
    } else {
        o.issuer_url.trim_end_matches('/')
    };
    issuer.strip_suffix("/v2.0").unwrap_or(issuer)
}

/// Where the runner exchanges the authorization codes of `integration`, a provider of `kind`
/// whose web pages are at `web` (see [`super::oauth::OAuthFlow::web_base`]); `None` without OAuth.
pub fn token_endpoint(kind: ScmKind, integration: &ScmIntegration, web: &str) -> Option<TokenEndpoint> {
    let o = integration.oauth.as_ref()?;
    let (url, client_secret_basic) = match kind {
        ScmKind::GitHub => (format!("{web}/login/oauth/access_token"), false),
        ScmKind::GitLab => (format!("{web}/oauth/token"), false),
        ScmKind::Bitbucket => (format!("{web}/site/oauth2/access_token"), true),
        ScmKind::AzureDevOps => (format!("{}/oauth2/v2.0/token", entra_authority(o)), false),
    };
    Some(TokenEndpoint { url, client_secret_basic })
}

/// The authentication methods of `integration`, a provider of `kind` whose web pages are at
/// `web`. The OAuth authorization URL carries `state` (signed by [`super::oauth::OAuthFlow`])
/// and the runner's callback URL as `redirect_uri` (left out when the schema names none: the
/// provider then uses the one registered with the OAuth application).
pub fn methods(
    kind: ScmKind,
    integration: &ScmIntegration,
    web: &str,
    hints: &SchemaHints,
    state: &str,
) -> AuthMethods {
    let callback = hints.callback_url.as_deref().unwrap_or_default();
    let oauth = integration.oauth.as_ref().map(|o| {
        let scope = oauth_scopes(kind);
        let client_id = o.client_id.as_str();
        let redirect = Some(("redirect_uri", callback)).filter(|_| !callback.is_empty());
        let params = |pairs: &[(&str, &str)]| {
            let mut all: Vec<(&str, &str)> = pairs.to_vec();
            all.extend(redirect);
            all.push(("state", state));
            query(&all)
        };
        let (auth_url, docs_url) = match kind {
            ScmKind::GitHub => (
                format!("{web}/login/oauth/authorize?{}", params(&[("client_id", client_id), ("scope", scope)])),
                "https://docs.github.com/en/apps/oauth-apps/building-oauth-apps/authorizing-oauth-apps",
            ),
            ScmKind::GitLab => (
                format!(
                    "{web}/oauth/authorize?{}",
                    params(&[("client_id", client_id), ("response_type", "code"), ("scope", scope)])
                ),
                "https://docs.gitlab.com/integration/oauth_provider/",
            ),
            ScmKind::Bitbucket => (
                format!(
                    "{web}/site/oauth2/authorize?{}",
                    params(&[("client_id", client_id), ("response_type", "code")])
                ),
                "https://support.atlassian.com/bitbucket-cloud/docs/use-oauth-on-bitbucket-cloud/",
            ),
            ScmKind::AzureDevOps => (
                format!(
                    "{}/oauth2/v2.0/authorize?{}",
                    entra_authority(o),
                    params(&[("client_id", client_id), ("response_type", "code"), ("scope", scope)])
                ),
                "https://learn.microsoft.com/en-us/azure/devops/integrate/get-started/authentication/entra-oauth",
            ),
        };
        OAuthMethod { auth_url, docs_url: docs_url.to_owned() }
    });
    let pat = integration.pat.then(|| {
        let scopes = pat_scopes(kind);
        let (create_url, docs_url, example) = match kind {
            ScmKind::GitHub => (
                format!(
                    "{web}/settings/tokens/new?{}",
                    query(&[("description", "Gitpod runner"), ("scopes", &scopes.join(","))])
                ),
                "https://docs.github.com/en/authentication/keeping-your-account-and-data-secure/managing-your-personal-access-tokens",
                "ghp_16C7e42F292c6912E7710c838347Ae178B4a",
            ),
            ScmKind::GitLab => (
                format!(
                    "{web}/-/user_settings/personal_access_tokens?{}",
                    query(&[("name", "Gitpod runner"), ("scopes", &scopes.join(","))])
                ),
                "https://docs.gitlab.com/user/profile/personal_access_tokens/",
                "glpat-xxxxxxxxxxxxxxxxxxxx",
            ),
            ScmKind::Bitbucket => (
                "https://id.atlassian.com/manage-profile/security/api-tokens".to_owned(),
                "https://support.atlassian.com/bitbucket-cloud/docs/using-api-tokens/",
                "ATATT3xFfGF0T4JVjdmXAC1F1ZcGvQW3jsPnT0xE",
            ),
            ScmKind::AzureDevOps => (
                format!("{web}/_usersSettings/tokens"),
                "https://learn.microsoft.com/en-us/azure/devops/organizations/accounts/use-personal-access-tokens-to-authenticate",
                "4a2a6bqfcuy5ytqo5w7cbbsbhdmmdigbdhlhcgxxkzjvifpjoqaa",
            ),
        };
        PatMethod {
            create_url,
            docs_url: hints.pat_docs_url.clone().unwrap_or_else(|| docs_url.to_owned()),
            example: example.to_owned(),
            required_scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
        }
    });
    AuthMethods { oauth, pat }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ScmOAuthConfig;
    use crate::time::Timestamp;

    fn integration(scm_id: &str, host: &str, oauth: bool, pat: bool) -> ScmIntegration {
        ScmIntegration {
            id: uuid::Uuid::now_v7(),
            runner_id: uuid::Uuid::now_v7(),
            scm_id: scm_id.to_owned(),
            host: host.to_owned(),
            oauth: oauth.then(|| ScmOAuthConfig {
                client_id: "client id".to_owned(),
                encrypted_client_secret: vec![1],
                issuer_url: String::new(),
            }),
            pat,
            virtual_directory: None,
            created_at: Timestamp::now(),
            updated_at: Timestamp::now(),
            revision: 1,
        }
    }

    #[test]
    fn methods_follow_the_integration() {
        let hints = SchemaHints {
            callback_url: Some("https://runner.example/auth/github/callback?runner=r".into()),
            ..Default::default()
        };
        let github = integration("github", "GitHub.com", true, false);
        let m = methods(ScmKind::GitHub, &github, "https://github.com", &hints, "s.t");
        let o = m.oauth.as_ref().unwrap();
        assert!(m.pat.is_none());
        assert_eq!(
            o.auth_url,
            "https://github.com/login/oauth/authorize?client_id=client%20id&scope=repo%20read%3Auser%20user%3Aemail%20workflow&redirect_uri=https%3A%2F%2Frunner.example%2Fauth%2Fgithub%2Fcallback%3Frunner%3Dr&state=s.t"
        );
        assert_eq!(m.entry_url(), o.auth_url);
        // Without a callback URL the provider uses the one registered with the application.
        let m = methods(ScmKind::GitHub, &github, "http://127.0.0.1:9/github", &SchemaHints::default(), "s");
        assert_eq!(
            m.oauth.unwrap().auth_url,
            "http://127.0.0.1:9/github/login/oauth/authorize?client_id=client%20id&scope=repo%20read%3Auser%20user%3Aemail%20workflow&state=s"
        );

        let web = "https://gitlab.example.com:8443";
        let m =
            methods(ScmKind::GitLab, &integration("gitlab", "gitlab.example.com:8443", false, true), web, &hints, "s");
        assert!(m.oauth.is_none());
        let p = m.pat.unwrap();
        assert!(p.create_url.starts_with("https://gitlab.example.com:8443/-/user_settings/personal_access_tokens?"));
        assert_eq!(p.required_scopes, ["api", "read_repository", "read_user"]);

        let azure = integration("azuredevops_entra", "dev.azure.com/acme", false, true);
        let m = methods(ScmKind::AzureDevOps, &azure, "https://dev.azure.com/acme", &hints, "s");
        assert_eq!(m.pat.unwrap().create_url, "https://dev.azure.com/acme/_usersSettings/tokens");
        let bitbucket = integration("bitbucket", "bitbucket.org", false, false);
        assert_eq!(
            methods(ScmKind::Bitbucket, &bitbucket, "https://bitbucket.org", &hints, "s"),
            AuthMethods::default()
        );
    }

    #[test]
    fn token_endpoints_per_provider() {
        let endpoint = |kind, scm_id: &str, web: &str| {
            token_endpoint(kind, &integration(scm_id, "h", true, false), web).map(|e| (e.url, e.client_secret_basic))
        };
        assert_eq!(
            endpoint(ScmKind::GitHub, "github", "https://ghe.example.com"),
            Some(("https://ghe.example.com/login/oauth/access_token".into(), false))
        );
        assert_eq!(
            endpoint(ScmKind::GitLab, "gitlab", "https://gitlab.com"),
            Some(("https://gitlab.com/oauth/token".into(), false))
        );
        assert_eq!(
            endpoint(ScmKind::Bitbucket, "bitbucket", "https://bitbucket.org"),
            Some(("https://bitbucket.org/site/oauth2/access_token".into(), true))
        );
        assert_eq!(
            endpoint(ScmKind::AzureDevOps, "azuredevops_entra", "https://dev.azure.com/acme"),
            Some(("https://login.microsoftonline.com/common/oauth2/v2.0/token".into(), false))
        );
        assert_eq!(token_endpoint(ScmKind::GitHub, &integration("github", "h", false, true), "https://h"), None);
    }
}
