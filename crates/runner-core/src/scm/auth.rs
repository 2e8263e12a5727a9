//! How a user authenticates with an SCM host: the OAuth authorization URL and the
//! personal-access-token page, example and scopes of each provider (CheckAuthenticationForHost,
//! and the `authenticationRequiredUrl` of the authentication-required errors).

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use super::provider::ScmKind;
use crate::model::ScmIntegration;

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

/// The authentication methods of `integration`, a provider of `kind`.
pub fn methods(kind: ScmKind, integration: &ScmIntegration, hints: &SchemaHints) -> AuthMethods {
    let host = integration.host.to_ascii_lowercase();
    let web = match &integration.virtual_directory {
        Some(dir) => format!("https://{host}{dir}"),
        None => format!("https://{host}"),
    };
    let callback = hints.callback_url.clone().unwrap_or_default();
    let oauth = integration.oauth.as_ref().map(|o| {
        let scope = oauth_scopes(kind);
        let (auth_url, docs_url) = match kind {
            ScmKind::GitHub => (
                format!(
                    "{web}/login/oauth/authorize?{}",
                    query(&[("client_id", &o.client_id), ("redirect_uri", &callback), ("scope", scope)])
                ),
                "https://docs.github.com/en/apps/oauth-apps/building-oauth-apps/authorizing-oauth-apps",
            ),
            ScmKind::GitLab => (
                format!(
                    "{web}/oauth/authorize?{}",
                    query(&[
                        ("client_id", &o.client_id),
                        ("redirect_uri", &callback),
                        ("response_type", "code"),
                        ("scope", scope),
                    ])
                ),
                "https://docs.gitlab.com/integration/oauth_provider/",
            ),
            ScmKind::Bitbucket => (
                format!(
                    "{web}/site/oauth2/authorize?{}",
                    query(&[("client_id", &o.client_id), ("response_type", "code"), ("redirect_uri", &callback)])
                ),
                "https://support.atlassian.com/bitbucket-cloud/docs/use-oauth-on-bitbucket-cloud/",
            ),
            ScmKind::AzureDevOps => {
                let issuer = if o.issuer_url.is_empty() {
                    "https://login.microsoftonline.com/common/v2.0"
                } else {
                    o.issuer_url.trim_end_matches('/')
                };
                let authority = issuer.strip_suffix("/v2.0").unwrap_or(issuer);
                (
                    format!(
                        "{authority}/oauth2/v2.0/authorize?{}",
                        query(&[
                            ("client_id", &o.client_id),
                            ("response_type", "code"),
                            ("redirect_uri", &callback),
                            ("scope", scope),
                        ])
                    ),
                    "https://learn.microsoft.com/en-us/azure/devops/integrate/get-started/authentication/entra-oauth",
                )
            }
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
        let m = methods(ScmKind::GitHub, &integration("github", "GitHub.com", true, false), &hints);
        let o = m.oauth.as_ref().unwrap();
        assert!(m.pat.is_none());
        assert_eq!(
            o.auth_url,
            "https://github.com/login/oauth/authorize?client_id=client%20id&redirect_uri=https%3A%2F%2Frunner.example%2Fauth%2Fgithub%2Fcallback%3Frunner%3Dr&scope=repo%20read%3Auser%20user%3Aemail%20workflow"
        );
        assert_eq!(m.entry_url(), o.auth_url);

        let m = methods(ScmKind::GitLab, &integration("gitlab", "gitlab.example.com:8443", false, true), &hints);
        assert!(m.oauth.is_none());
        let p = m.pat.unwrap();
        assert!(p.create_url.starts_with("https://gitlab.example.com:8443/-/user_settings/personal_access_tokens?"));
        assert_eq!(p.required_scopes, ["api", "read_repository", "read_user"]);

        let m =
            methods(ScmKind::AzureDevOps, &integration("azuredevops_entra", "dev.azure.com/acme", false, true), &hints);
        assert_eq!(m.pat.unwrap().create_url, "https://dev.azure.com/acme/_usersSettings/tokens");
        assert_eq!(
            methods(ScmKind::Bitbucket, &integration("bitbucket", "bitbucket.org", false, false), &hints),
            AuthMethods::default()
        );
    }
}
