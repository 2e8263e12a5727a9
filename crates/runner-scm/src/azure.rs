//! Azure DevOps Services and Azure DevOps Server: the Git REST API, version 7.1
//! (`https://dev.azure.com/{org}/{project}/_apis/git/…`), and for the user's organizations the
//! profile and accounts APIs (`https://app.vssps.visualstudio.com`) or, on a Server, its
//! project collections.
//!
//! Repositories are named `organization/project` + `repository` ([`RepoPath::owner`] carries
//! `organization/project`). Azure Repos has no issues and no repository search syntax: search
//! lists the organization's repositories and filters them by name.

use async_trait::async_trait;
use runner_core::scm::provider::{
    IssueInfo, OrgPage, OrgSummary, PullRequestInfo, PullRequestRepo, PullRequestState, RepoInfo, RepoPath,
    RepoSummary, ScmApi, ScmError, ScmResult, SearchPage, SearchQuery,
};
use serde::Deserialize;
use url::Url;

use crate::http::{Api, endpoint, pages, without_userinfo};

const API_VERSION: (&str, &str) = ("api-version", "7.1");

/// Where the APIs live.
pub(crate) struct Bases {
    /// The Git API: `https://dev.azure.com`, or the Server's URL with its virtual directory.
    pub api: Url,
    /// The profile and accounts APIs.
    pub profiles: Url,
    /// The web UI, for URLs the API does not give.
    pub web: Url,
}

pub(crate) struct Azure {
    api: Api,
    bases: Bases,
    /// The organization named by the integration host (`dev.azure.com/acme`).
    organization: Option<String>,
    /// Azure DevOps Server: organizations are project collections.
    server: bool,
}

impl Azure {
    pub fn new(api: Api, bases: Bases, organization: Option<String>, server: bool) -> Self {
        Self { api, bases, organization: organization.filter(|o| !o.is_empty()), server }
    }

    /// `{base}/{org}/{project}/_apis/git/repositories/{repo}/…?api-version=7.1&…`
    fn repo_url(&self, repo: &RepoPath, rest: &[&str], query: &[(&str, &str)]) -> ScmResult<Url> {
        let (org, project) = split_owner(repo)?;
        let mut segments = vec![org, project, "_apis", "git", "repositories", repo.name.as_str()];
        segments.extend_from_slice(rest);
        let mut params = query.to_vec();
        params.push(API_VERSION);
        Ok(endpoint(&self.bases.api, &segments, &params))
    }

    /// `{web}/{org}/{project}/_git/{repo}`
    fn web_url(&self, org: &str, project: &str, repo: &str) -> Url {
        endpoint(&self.bases.web, &[org, project, "_git", repo], &[])
    }

    /// A ref's commit: the exact `refs/{kind}/{name}` among those the prefix filter finds.
    async fn find_ref(&self, repo: &RepoPath, kind: &str, name: &str) -> ScmResult<Option<String>> {
        let what =
            format!("{} {name:?} of {}/{}", if kind == "heads" { "branch" } else { "tag" }, repo.owner, repo.name);
        let filter = format!("{kind}/{name}");
        let url = self.repo_url(repo, &["refs"], &[("filter", &filter), ("peelTags", "true")])?;
        let Some(found) = self.api.get_opt::<List<GitRef>>(url, &what).await? else {
            return Ok(None);
        };
        let full = format!("refs/{filter}");
        Ok(found
            .body
            .value
            .into_iter()
            .find(|r| r.name == full)
            .map(|r| r.peeled_object_id.filter(|p| !p.is_empty()).unwrap_or(r.object_id)))
    }

    /// The organizations (project collections) whose repositories a search covers.
    async fn search_organizations(&self) -> ScmResult<Vec<String>> {
        if let Some(org) = &self.organization {
            return Ok(vec![org.clone()]);
        }
        let orgs = self.all_organizations().await?;
        Ok(if self.server { orgs.into_iter().take(1).collect() } else { orgs })
    }

    /// The user's organizations (accounts), or the Server's project collections.
    async fn all_organizations(&self) -> ScmResult<Vec<String>> {
        if self.server {
            let url = endpoint(&self.bases.api, &["_apis", "projectCollections"], &[API_VERSION]);
            let list: List<Named> = self.api.get(url, "project collections").await?.body;
            return Ok(list.value.into_iter().map(|c| c.name).collect());
        }
        let url = endpoint(&self.bases.profiles, &["_apis", "profile", "profiles", "me"], &[API_VERSION]);
        let me: Profile = self.api.get(url, "your profile").await?.body;
        let url = endpoint(&self.bases.profiles, &["_apis", "accounts"], &[("memberId", &me.id), API_VERSION]);
        let accounts: List<Account> = self.api.get(url, "your organizations").await?.body;
        Ok(accounts.value.into_iter().map(|a| a.account_name).collect())
    }
}

fn split_owner(repo: &RepoPath) -> ScmResult<(&str, &str)> {
    repo.owner.split_once('/').filter(|(o, p)| !o.is_empty() && !p.is_empty() && !p.contains('/')).ok_or_else(|| {
        ScmError::InvalidRequest(format!(
            "Azure DevOps repositories are named organization/project/repository, not {}/{}",
            repo.owner, repo.name
        ))
    })
}

fn strip_heads(name: &str) -> String {
    name.strip_prefix("refs/heads/").unwrap_or(name).to_owned()
}

#[derive(Deserialize)]
struct List<T> {
    value: Vec<T>,
}

#[derive(Deserialize)]
struct Named {
    name: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Project {
    name: String,
    #[serde(default)]
    visibility: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Repository {
    name: String,
    project: Project,
    #[serde(default)]
    default_branch: Option<String>,
    #[serde(default)]
    remote_url: Option<String>,
    #[serde(default)]
    web_url: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GitRef {
    name: String,
    object_id: String,
    #[serde(default)]
    peeled_object_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Commit {
    commit_id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Identity {
    #[serde(default)]
    unique_name: Option<String>,
    #[serde(default)]
    display_name: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PullRequest {
    pull_request_id: u64,
    title: String,
    #[serde(default)]
    created_by: Option<Identity>,
    status: String,
    #[serde(default)]
    is_draft: Option<bool>,
    source_ref_name: String,
    target_ref_name: String,
    #[serde(default)]
    last_merge_source_commit: Option<Commit>,
    repository: Repository,
    #[serde(default)]
    fork_source: Option<ForkSource>,
}

#[derive(Deserialize)]
struct ForkSource {
    repository: Repository,
}

#[derive(Deserialize)]
struct Profile {
    id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Account {
    account_name: String,
}

#[async_trait]
impl ScmApi for Azure {
    async fn repository(&self, repo: &RepoPath) -> ScmResult<RepoInfo> {
        let what = format!("repository {}/{}", repo.owner, repo.name);
        let (org, _) = split_owner(repo)?;
        let r: Repository = self.api.get(self.repo_url(repo, &[], &[])?, &what).await?.body;
        let web_url = r.web_url.unwrap_or_else(|| self.web_url(org, &r.project.name, &r.name).to_string());
        Ok(RepoInfo {
            owner: format!("{org}/{}", r.project.name),
            clone_url: r.remote_url.as_deref().map(without_userinfo).unwrap_or_else(|| web_url.clone()),
            web_url,
            name: r.name,
            default_branch: r.default_branch.as_deref().map(strip_heads).unwrap_or_default(),
            private: r.project.visibility.as_deref() != Some("public"),
        })
    }

    async fn branch(&self, repo: &RepoPath, name: &str) -> ScmResult<Option<String>> {
        self.find_ref(repo, "heads", name).await
    }

    async fn tag(&self, repo: &RepoPath, name: &str) -> ScmResult<Option<String>> {
        self.find_ref(repo, "tags", name).await
    }

    async fn commit(&self, repo: &RepoPath, sha: &str) -> ScmResult<Option<String>> {
        let what = format!("commit {sha} of {}/{}", repo.owner, repo.name);
        // An unresolvable commit id is 404, a malformed one 400.
        match self.api.get::<Commit>(self.repo_url(repo, &["commits", sha], &[])?, &what).await {
            Ok(a) => Ok(Some(a.body.commit_id)),
            Err(ScmError::NotFound(_) | ScmError::InvalidRequest(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn pull_request(&self, repo: &RepoPath, number: u64) -> ScmResult<Option<PullRequestInfo>> {
        let what = format!("pull request {number} of {}/{}", repo.owner, repo.name);
        let (org, _) = split_owner(repo)?;
        let n = number.to_string();
        let Some(found) =
            self.api.get_opt::<PullRequest>(self.repo_url(repo, &["pullrequests", &n], &[])?, &what).await?
        else {
            return Ok(None);
        };
        let pr = found.body;
        let state = match pr.status.as_str() {
            "completed" => PullRequestState::Merged,
            "abandoned" => PullRequestState::Closed,
            _ => PullRequestState::Open,
        };
        let url = endpoint(&self.bases.web, &[org, &pr.repository.project.name, "_git", &pr.repository.name], &[]);
        let url = endpoint(&url, &["pullrequest", &n], &[]).to_string();
        // Forks live in the same organization.
        let source = pr.fork_source.map(|f| f.repository).unwrap_or(pr.repository);
        let clone_url = match &source.remote_url {
            Some(u) => without_userinfo(u),
            None => self.web_url(org, &source.project.name, &source.name).to_string(),
        };
        let author = pr.created_by.map(|c| c.unique_name.or(c.display_name).unwrap_or_default()).unwrap_or_default();
        Ok(Some(PullRequestInfo {
            id: pr.pull_request_id.to_string(),
            title: pr.title,
            author,
            state,
            draft: pr.is_draft.unwrap_or(false),
            url,
            from_branch: strip_heads(&pr.source_ref_name),
            to_branch: strip_heads(&pr.target_ref_name),
            head_sha: pr.last_merge_source_commit.map(|c| c.commit_id).unwrap_or_default(),
            source: PullRequestRepo { owner: format!("{org}/{}", source.project.name), name: source.name, clone_url },
        }))
    }

    /// Azure Repos has no issues.
    async fn issue(&self, _repo: &RepoPath, _number: u64) -> ScmResult<Option<IssueInfo>> {
        Ok(None)
    }

    /// Both modes: the repositories of the integration's organization (or of each of the
    /// user's organizations) whose name contains the text, by name.
    async fn search_repositories(&self, query: &SearchQuery) -> ScmResult<SearchPage> {
        let orgs = self.search_organizations().await?;
        let needle = query.text.trim().to_lowercase();
        let mut found: Vec<(String, String, RepoSummary)> = Vec::new();
        let mut first_error = None;
        let mut answered = false;
        for org in &orgs {
            let url = endpoint(&self.bases.api, &[org.as_str(), "_apis", "git", "repositories"], &[API_VERSION]);
            let repos = match self.api.get::<List<Repository>>(url, &format!("repositories of {org}")).await {
                Ok(a) => a.body.value,
                // A token scoped to other organizations: skip this one.
                Err(e @ (ScmError::Unauthenticated(_) | ScmError::PermissionDenied(_) | ScmError::NotFound(_)))
                    if orgs.len() > 1 =>
                {
                    first_error.get_or_insert(e);
                    continue;
                }
                Err(e) => return Err(e),
            };
            answered = true;
            for r in repos {
                if !r.name.to_lowercase().contains(&needle) {
                    continue;
                }
                let url = r.web_url.unwrap_or_else(|| self.web_url(org, &r.project.name, &r.name).to_string());
                let summary = RepoSummary { name: format!("{}/{}", r.project.name, r.name), url };
                found.push((r.name.to_lowercase(), r.project.name.to_lowercase(), summary));
            }
        }
        if let (false, Some(e)) = (answered, first_error) {
            return Err(e);
        }
        found.sort_by(|a, b| (&a.0, &a.1, &a.2.url).cmp(&(&b.0, &b.1, &b.2.url)));
        let per_page = query.per_page.clamp(1, 100);
        let total = found.len() as u64;
        let skip = (u64::from(query.page.max(1)) - 1) * u64::from(per_page);
        let repositories: Vec<RepoSummary> =
            found.into_iter().skip(skip as usize).take(per_page as usize).map(|(_, _, s)| s).collect();
        Ok(SearchPage {
            has_next: skip + (repositories.len() as u64) < total,
            repositories,
            total_count: Some(total),
            total_pages: Some(pages(total, per_page)),
        })
    }

    async fn organizations(&self, _query: &str, cursor: Option<&str>, per_page: u32) -> ScmResult<OrgPage> {
        let offset = match cursor.map(str::trim).filter(|c| !c.is_empty()) {
            None => 0,
            Some(c) => {
                c.parse::<usize>().map_err(|_| ScmError::InvalidRequest(format!("invalid page cursor {c:?}")))?
            }
        };
        let all = self.all_organizations().await?;
        let per_page = per_page.clamp(1, 100) as usize;
        let end = offset.saturating_add(per_page).min(all.len());
        let organizations = all
            .get(offset..end)
            .unwrap_or_default()
            .iter()
            .map(|name| OrgSummary {
                name: name.clone(),
                url: endpoint(&self.bases.web, &[name.as_str()], &[]).to_string(),
            })
            .collect();
        Ok(OrgPage { organizations, next: (end < all.len()).then(|| end.to_string()) })
    }
}
