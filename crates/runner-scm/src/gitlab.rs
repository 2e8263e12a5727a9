//! GitLab (gitlab.com and self-managed): the REST API v4 (`https://HOST/api/v4`). Projects are
//! addressed by their URL-encoded full path (`group%2Fsub%2Fproject`).

use async_trait::async_trait;
use reqwest::header::HeaderMap;
use runner_core::scm::provider::{
    IssueInfo, OrgPage, OrgSummary, PullRequestInfo, PullRequestRepo, PullRequestState, RepoInfo, RepoPath,
    RepoSummary, ScmApi, ScmError, ScmResult, SearchMode, SearchPage, SearchQuery,
};
use serde::Deserialize;
use url::Url;

use crate::github::page_cursor;
use crate::http::{Api, endpoint, header_number};

pub(crate) struct GitLab {
    api: Api,
    base: Url,
}

impl GitLab {
    pub fn new(api: Api, base: Url, _host: &str) -> Self {
        Self { api, base }
    }

    fn url(&self, segments: &[&str], query: &[(&str, &str)]) -> Url {
        endpoint(&self.base, segments, query)
    }

    /// `/projects/{group%2Fproject}/…`
    fn project_url(&self, repo: &RepoPath, rest: &[&str]) -> Url {
        let id = format!("{}/{}", repo.owner, repo.name);
        let mut segments = vec!["projects", id.as_str()];
        segments.extend_from_slice(rest);
        self.url(&segments, &[])
    }

    async fn listing(&self, url: Url, what: &str, query: &SearchQuery) -> ScmResult<SearchPage> {
        let answer = self.api.get::<Vec<Listed>>(url, what).await?;
        let (next, total_count, total_pages) = pagination(&answer.headers);
        let has_next = match next {
            Some(next) => next.is_some(),
            None => match total_pages {
                Some(t) => u64::from(query.page) < t,
                None => answer.body.len() as u64 >= u64::from(query.per_page),
            },
        };
        Ok(SearchPage {
            repositories: answer
                .body
                .into_iter()
                .map(|p| RepoSummary { name: p.path_with_namespace, url: p.web_url })
                .collect(),
            total_count,
            total_pages,
            has_next,
        })
    }
}

/// GitLab's offset pagination headers: (`X-Next-Page` if sent — empty on the last page —,
/// `X-Total`, `X-Total-Pages`). GitLab leaves the totals out for large or costly results.
fn pagination(headers: &HeaderMap) -> (Option<Option<String>>, Option<u64>, Option<u64>) {
    let next =
        headers.get("x-next-page").map(|v| v.to_str().ok().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned));
    (next, header_number(headers, "x-total"), header_number(headers, "x-total-pages"))
}

#[derive(Deserialize)]
struct Namespace {
    full_path: String,
}

#[derive(Deserialize)]
struct Project {
    path: String,
    #[serde(default)]
    default_branch: Option<String>,
    /// `public`, `internal` or `private`; absent for tokens without access to the details.
    #[serde(default)]
    visibility: Option<String>,
    http_url_to_repo: String,
    web_url: String,
    namespace: Namespace,
}

#[derive(Deserialize)]
struct Listed {
    path_with_namespace: String,
    web_url: String,
}

#[derive(Deserialize)]
struct WithCommit {
    commit: Option<CommitId>,
}

#[derive(Deserialize)]
struct CommitId {
    id: String,
}

#[derive(Deserialize)]
struct User {
    username: String,
}

#[derive(Deserialize)]
struct MergeRequest {
    iid: u64,
    title: String,
    author: Option<User>,
    state: String,
    #[serde(default)]
    draft: Option<bool>,
    #[serde(default)]
    work_in_progress: Option<bool>,
    web_url: String,
    source_branch: String,
    target_branch: String,
    #[serde(default)]
    sha: Option<String>,
    #[serde(default)]
    diff_refs: Option<DiffRefs>,
    source_project_id: u64,
    #[serde(default)]
    project_id: Option<u64>,
    #[serde(default)]
    target_project_id: Option<u64>,
}

#[derive(Deserialize)]
struct DiffRefs {
    #[serde(default)]
    head_sha: Option<String>,
}

#[derive(Deserialize)]
struct Issue {
    iid: u64,
    title: String,
}

#[derive(Deserialize)]
struct Group {
    full_path: String,
    web_url: String,
}

#[async_trait]
impl ScmApi for GitLab {
    async fn repository(&self, repo: &RepoPath) -> ScmResult<RepoInfo> {
        let what = format!("project {}/{}", repo.owner, repo.name);
        let p: Project = self.api.get(self.project_url(repo, &[]), &what).await?.body;
        Ok(RepoInfo {
            owner: p.namespace.full_path,
            name: p.path,
            clone_url: p.http_url_to_repo,
            web_url: p.web_url,
            default_branch: p.default_branch.unwrap_or_default(),
            private: p.visibility.as_deref() != Some("public"),
        })
    }

    async fn branch(&self, repo: &RepoPath, name: &str) -> ScmResult<Option<String>> {
        let what = format!("branch {name:?} of {}/{}", repo.owner, repo.name);
        let url = self.project_url(repo, &["repository", "branches", name]);
        let found = self.api.get_opt::<WithCommit>(url, &what).await?;
        Ok(found.and_then(|a| a.body.commit).map(|c| c.id))
    }

    async fn tag(&self, repo: &RepoPath, name: &str) -> ScmResult<Option<String>> {
        let what = format!("tag {name:?} of {}/{}", repo.owner, repo.name);
        let url = self.project_url(repo, &["repository", "tags", name]);
        let found = self.api.get_opt::<WithCommit>(url, &what).await?;
        Ok(found.and_then(|a| a.body.commit).map(|c| c.id))
    }

    async fn commit(&self, repo: &RepoPath, sha: &str) -> ScmResult<Option<String>> {
        let what = format!("commit {sha} of {}/{}", repo.owner, repo.name);
        let found =
            self.api.get_opt::<CommitId>(self.project_url(repo, &["repository", "commits", sha]), &what).await?;
        Ok(found.map(|a| a.body.id))
    }

    async fn pull_request(&self, repo: &RepoPath, number: u64) -> ScmResult<Option<PullRequestInfo>> {
        let what = format!("merge request {number} of {}/{}", repo.owner, repo.name);
        let n = number.to_string();
        let Some(found) =
            self.api.get_opt::<MergeRequest>(self.project_url(repo, &["merge_requests", &n]), &what).await?
        else {
            return Ok(None);
        };
        let mr = found.body;
        let target = mr.target_project_id.or(mr.project_id);
        let source = if target.is_some_and(|t| t != mr.source_project_id) {
            // From a fork: its path and clone URL are the source project's.
            let id = mr.source_project_id.to_string();
            let what = format!("source project of merge request {number} of {}/{}", repo.owner, repo.name);
            let p: Project = self.api.get(self.url(&["projects", &id], &[]), &what).await?.body;
            PullRequestRepo { owner: p.namespace.full_path, name: p.path, clone_url: p.http_url_to_repo }
        } else {
            // The project itself: its clone URL is its web URL plus `.git`.
            let clone_url = match mr.web_url.split_once("/-/") {
                Some((project, _)) => format!("{project}.git"),
                None => self.repository(repo).await?.clone_url,
            };
            PullRequestRepo { owner: repo.owner.clone(), name: repo.name.clone(), clone_url }
        };
        let state = match mr.state.as_str() {
            "merged" => PullRequestState::Merged,
            "closed" => PullRequestState::Closed,
            // `opened`, and `locked` while a merge is under way.
            _ => PullRequestState::Open,
        };
        let head_sha = mr.sha.or_else(|| mr.diff_refs.and_then(|d| d.head_sha)).unwrap_or_default();
        Ok(Some(PullRequestInfo {
            id: mr.iid.to_string(),
            title: mr.title,
            author: mr.author.map(|a| a.username).unwrap_or_default(),
            state,
            draft: mr.draft.or(mr.work_in_progress).unwrap_or(false),
            url: mr.web_url,
            from_branch: mr.source_branch,
            to_branch: mr.target_branch,
            head_sha,
            source,
        }))
    }

    async fn issue(&self, repo: &RepoPath, number: u64) -> ScmResult<Option<IssueInfo>> {
        let what = format!("issue {number} of {}/{}", repo.owner, repo.name);
        let n = number.to_string();
        let found = self.api.get_opt::<Issue>(self.project_url(repo, &["issues", &n]), &what).await?;
        Ok(found.map(|a| IssueInfo { id: a.body.iid.to_string(), title: a.body.title }))
    }

    async fn search_repositories(&self, query: &SearchQuery) -> ScmResult<SearchPage> {
        let (page, per_page) = (query.page.max(1).to_string(), query.per_page.clamp(1, 100).to_string());
        let text = query.text.trim();
        if query.mode == SearchMode::Keyword || text.is_empty() {
            let mut params = vec![
                ("membership", "true"),
                ("simple", "true"),
                ("order_by", "last_activity_at"),
                ("page", page.as_str()),
                ("per_page", per_page.as_str()),
            ];
            if !text.is_empty() {
                params.push(("search", text));
            }
            return self.listing(self.url(&["projects"], &params), "your projects", query).await;
        }
        // NATIVE: GitLab search parameters, `scope=projects&search=kubernetes`.
        let mut pairs: Vec<(String, String)> = Vec::new();
        for (key, value) in url::form_urlencoded::parse(text.trim_start_matches('?').as_bytes()) {
            match key.as_ref() {
                "scope" if value != "projects" => {
                    return Err(ScmError::InvalidRequest(format!(
                        "only scope=projects is supported, not scope={value}"
                    )));
                }
                "scope" | "page" | "per_page" => {}
                _ => pairs.push((key.into_owned(), value.into_owned())),
            }
        }
        let mut params: Vec<(&str, &str)> = vec![("scope", "projects")];
        params.extend(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        params.extend([("page", page.as_str()), ("per_page", per_page.as_str())]);
        self.listing(self.url(&["search"], &params), "project search", query).await
    }

    async fn organizations(&self, query: &str, cursor: Option<&str>, per_page: u32) -> ScmResult<OrgPage> {
        let page = page_cursor(cursor)?.to_string();
        let per_page = per_page.clamp(1, 100).to_string();
        let mut params = vec![("min_access_level", "10")];
        let query = query.trim();
        if !query.is_empty() {
            params.push(("search", query));
        }
        params.extend([("page", page.as_str()), ("per_page", per_page.as_str())]);
        let answer = self.api.get::<Vec<Group>>(self.url(&["groups"], &params), "your groups").await?;
        let (next, _, _) = pagination(&answer.headers);
        let organizations = answer.body.into_iter().map(|g| OrgSummary { name: g.full_path, url: g.web_url }).collect();
        Ok(OrgPage { organizations, next: next.flatten() })
    }
}
