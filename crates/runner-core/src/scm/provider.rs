//! The port to a source-control provider's REST API.
//!
//! The use cases in [`super::questions`] ask an [`ScmApi`] about repositories, refs, pull
//! requests, issues, repository search and organizations; the `runner-scm` crate implements it
//! once per provider (GitHub, GitLab, Bitbucket Cloud, Azure DevOps) over HTTP. Nothing here
//! knows about HTTP: provider failures arrive as [`ScmError`], and [`ScmError::into_core`] is the
//! one place they become API errors.

use std::fmt;

use async_trait::async_trait;

use crate::error::CoreError;
use crate::model::HostTokenSource;

/// The provider families we speak to. Both Azure DevOps scm ids share one API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ScmKind {
    GitHub,
    GitLab,
    Bitbucket,
    AzureDevOps,
}

impl ScmKind {
    /// The provider family of an SCM integration's `scmId`.
    pub fn of_scm_id(scm_id: &str) -> Option<Self> {
        match scm_id {
            "github" => Some(Self::GitHub),
            "gitlab" => Some(Self::GitLab),
            "bitbucket" => Some(Self::Bitbucket),
            "azuredevops_entra" | "azuredevops_server" => Some(Self::AzureDevOps),
            _ => None,
        }
    }

    /// Display name, as `CheckAuthenticationForHostResponse.scmName` shows it.
    pub fn display_name(self) -> &'static str {
        match self {
            Self::GitHub => "GitHub",
            Self::GitLab => "GitLab",
            Self::Bitbucket => "Bitbucket",
            Self::AzureDevOps => "Azure DevOps",
        }
    }
}

/// Where a provider lives: taken from an SCM integration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScmEndpoint {
    pub kind: ScmKind,
    /// The integration's host, lower-cased: `github.com`, `ghe.example.com:8443`, or for Azure
    /// DevOps with Entra ID possibly with an organization path, `dev.azure.com/acme`.
    pub host: String,
    /// Azure DevOps Server only: the virtual directory, such as `/tfs`.
    pub virtual_directory: Option<String>,
}

/// The caller's credential for the host. `Debug` never shows the token.
#[derive(Clone, PartialEq, Eq)]
pub struct Credential {
    pub token: String,
    pub source: HostTokenSource,
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credential").field("token", &"<redacted>").field("source", &self.source).finish()
    }
}

/// A repository as the provider's URLs name it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RepoPath {
    /// GitHub owner, GitLab full group path (`group/subgroup`), Bitbucket workspace, or Azure
    /// DevOps `organization/project` (`collection/project` on Azure DevOps Server).
    pub owner: String,
    /// The repository (GitLab: project) name, without `.git`.
    pub name: String,
}

/// What the provider says about a repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoInfo {
    pub owner: String,
    pub name: String,
    pub clone_url: String,
    pub web_url: String,
    pub default_branch: String,
    pub private: bool,
}

/// A pull (merge) request's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PullRequestState {
    Open,
    Closed,
    Merged,
}

/// The repository a pull request comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullRequestRepo {
    pub owner: String,
    pub name: String,
    pub clone_url: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullRequestInfo {
    /// The number as the provider shows it: `123` for PR #123, `!123` is not used.
    pub id: String,
    pub title: String,
    /// Login (user name) of the author.
    pub author: String,
    pub state: PullRequestState,
    pub draft: bool,
    /// The pull request's web page.
    pub url: String,
    pub from_branch: String,
    pub to_branch: String,
    /// The head (source) commit.
    pub head_sha: String,
    /// Where `from_branch` lives: the repository itself, or a fork.
    pub source: PullRequestRepo,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssueInfo {
    pub id: String,
    pub title: String,
}

/// How `SearchRepositories` reads its search string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchMode {
    /// Plain keywords; the adapter adds the provider's qualifiers (see docs/scm.md).
    Keyword,
    /// The provider's own search syntax, passed through.
    Native,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchQuery {
    pub text: String,
    pub mode: SearchMode,
    /// 1-based.
    pub page: u32,
    /// 1..=100.
    pub per_page: u32,
}

/// One repository found by a search.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoSummary {
    /// `owner/name` (GitLab: the full path; Azure DevOps: `project/name`).
    pub name: String,
    /// The repository's web URL.
    pub url: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SearchPage {
    pub repositories: Vec<RepoSummary>,
    /// Matches in all, when the provider says.
    pub total_count: Option<u64>,
    /// Pages in all at this page size, when the provider says.
    pub total_pages: Option<u64>,
    /// Whether a page follows this one.
    pub has_next: bool,
}

/// An organization, group or workspace the user belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgSummary {
    /// The slug, as used in URLs.
    pub name: String,
    pub url: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OrgPage {
    pub organizations: Vec<OrgSummary>,
    /// The provider's cursor for the next page (a page number or a URL); `None` on the last.
    pub next: Option<String>,
}

/// Why a provider call failed. Adapters map HTTP answers to these in one place each.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScmError {
    /// The provider refused the credential (HTTP 401): missing, expired or revoked.
    #[error("{0}")]
    Unauthenticated(String),
    /// The credential is valid but may not do this (HTTP 403 other than rate limiting).
    #[error("{0}")]
    PermissionDenied(String),
    /// The repository does not exist, or is invisible to the credential (HTTP 404).
    #[error("{0}")]
    NotFound(String),
    /// The provider rejected the request itself (HTTP 400/422, such as bad search syntax).
    #[error("{0}")]
    InvalidRequest(String),
    /// Rate limited, after retrying.
    #[error("{0}")]
    RateLimited(String),
    /// Unreachable, timed out or failing (5xx), after retrying.
    #[error("{0}")]
    Unavailable(String),
    /// The provider answered something we could not read.
    #[error("{0}")]
    Protocol(String),
}

pub type ScmResult<T> = Result<T, ScmError>;

impl ScmError {
    /// The API error for a provider failure. `Unauthenticated` is not mapped here: the use
    /// cases answer it with the authentication-required precondition, which needs context.
    pub fn into_core(self, host: &str) -> CoreError {
        match self {
            ScmError::Unauthenticated(m) => {
                CoreError::FailedPrecondition(format!("{host} refused the authentication token: {m}"))
            }
            ScmError::PermissionDenied(m) => CoreError::denied(format!("SCM host {host}"), format!("{host}: {m}")),
            ScmError::NotFound(m) => CoreError::Missing(m),
            ScmError::InvalidRequest(m) => CoreError::invalid("searchString", format!("{host} rejected it: {m}")),
            ScmError::RateLimited(m) => CoreError::ResourceExhausted(format!("{host} rate limit: {m}")),
            ScmError::Unavailable(m) => CoreError::Unavailable(format!("{host} is not answering: {m}")),
            ScmError::Protocol(m) => CoreError::Internal(format!("unexpected answer from {host}: {m}")),
        }
    }
}

/// One provider's REST API, as seen with one credential.
///
/// Lookups of things that may be absent (`branch`, `tag`, `commit`, `pull_request`, `issue`)
/// answer `Ok(None)` for a provider 404 once the repository itself is known to exist.
#[async_trait]
pub trait ScmApi: Send + Sync {
    async fn repository(&self, repo: &RepoPath) -> ScmResult<RepoInfo>;
    /// The commit a branch points to.
    async fn branch(&self, repo: &RepoPath, name: &str) -> ScmResult<Option<String>>;
    /// The commit a tag points to.
    async fn tag(&self, repo: &RepoPath, name: &str) -> ScmResult<Option<String>>;
    /// The full SHA of a commit given by a full or abbreviated SHA.
    async fn commit(&self, repo: &RepoPath, sha: &str) -> ScmResult<Option<String>>;
    async fn pull_request(&self, repo: &RepoPath, number: u64) -> ScmResult<Option<PullRequestInfo>>;
    async fn issue(&self, repo: &RepoPath, number: u64) -> ScmResult<Option<IssueInfo>>;
    async fn search_repositories(&self, query: &SearchQuery) -> ScmResult<SearchPage>;
    /// Organizations of the user; `query` filters where the provider supports it (GitLab),
    /// `cursor` is [`OrgPage::next`] of the previous page.
    async fn organizations(&self, query: &str, cursor: Option<&str>, per_page: u32) -> ScmResult<OrgPage>;
}

/// Opens an [`ScmApi`] for an endpoint and a credential.
pub trait ScmConnector: Send + Sync {
    fn connect(&self, endpoint: &ScmEndpoint, credential: Credential) -> ScmResult<Box<dyn ScmApi>>;
}
