//! GitHub and GitHub Enterprise Server: the REST API v3 (`https://api.github.com`,
//! `https://HOST/api/v3`), version `2022-11-28`.

use async_trait::async_trait;
use runner_core::scm::provider::{
    IssueInfo, OrgPage, OrgSummary, PullRequestInfo, PullRequestRepo, PullRequestState, RepoInfo, RepoPath,
    RepoSummary, ScmApi, ScmError, ScmResult, SearchMode, SearchPage, SearchQuery,
};
use serde::Deserialize;
use url::Url;

use crate::http::{Api, endpoint, links, pages, query_param};

/// GitHub's search answers at most this many results.
const SEARCH_LIMIT: u64 = 1000;

pub(crate) struct GitHub {
    api: Api,
    base: Url,
    /// The web host, for organization URLs.
    web_host: String,
}

impl GitHub {
    pub fn new(api: Api, base: Url, host: &str) -> Self {
        let web_host = if host == "api.github.com" { "github.com".to_owned() } else { host.to_owned() };
        Self { api, base, web_host }
    }

    fn url(&self, segments: &[&str], query: &[(&str, &str)]) -> Url {
        endpoint(&self.base, segments, query)
    }

    fn repo_url(&self, repo: &RepoPath, rest: &[&str]) -> Url {
        let mut segments = vec!["repos", repo.owner.as_str(), repo.name.as_str()];
        segments.extend_from_slice(rest);
        self.url(&segments, &[])
    }
}

#[derive(Deserialize)]
struct Account {
    login: String,
}

#[derive(Deserialize)]
struct Repository {
    name: String,
    owner: Account,
    #[serde(default)]
    private: bool,
    #[serde(default)]
    default_branch: Option<String>,
    clone_url: String,
    html_url: String,
}

#[derive(Deserialize)]
struct Listed {
    full_name: String,
    html_url: String,
}

#[derive(Deserialize)]
struct Branch {
    commit: Sha,
}

#[derive(Deserialize)]
struct Sha {
    sha: String,
}

#[derive(Deserialize)]
struct GitObject {
    sha: String,
    #[serde(rename = "type")]
    kind: String,
}

#[derive(Deserialize)]
struct Reference {
    object: GitObject,
}

#[derive(Deserialize)]
struct Pull {
    number: u64,
    title: String,
    user: Option<Account>,
    state: String,
    #[serde(default)]
    merged: Option<bool>,
    #[serde(default)]
    merged_at: Option<String>,
    #[serde(default)]
    draft: Option<bool>,
    html_url: String,
    head: PullHead,
    base: PullBase,
}

#[derive(Deserialize)]
struct PullHead {
    #[serde(rename = "ref")]
    branch: String,
    sha: String,
    /// Absent when the fork was deleted.
    repo: Option<PullRepo>,
}

#[derive(Deserialize)]
struct PullBase {
    #[serde(rename = "ref")]
    branch: String,
    repo: PullRepo,
}

#[derive(Deserialize)]
struct PullRepo {
    name: String,
    owner: Account,
    clone_url: String,
}

#[derive(Deserialize)]
struct Issue {
    number: u64,
    title: String,
}

#[derive(Deserialize)]
struct SearchResults {
    total_count: u64,
    items: Vec<Listed>,
}

fn summary(r: Listed) -> RepoSummary {
    RepoSummary { name: r.full_name, url: r.html_url }
}

/// A page cursor: the page number.
pub(crate) fn page_cursor(cursor: Option<&str>) -> ScmResult<u32> {
    match cursor.map(str::trim).filter(|c| !c.is_empty()) {
        None => Ok(1),
        Some(c) => c
            .parse::<u32>()
            .ok()
            .filter(|p| *p >= 1)
            .ok_or_else(|| ScmError::InvalidRequest(format!("invalid page cursor {c:?}"))),
    }
}

#[async_trait]
impl ScmApi for GitHub {
    async fn repository(&self, repo: &RepoPath) -> ScmResult<RepoInfo> {
        let what = format!("repository {}/{}", repo.owner, repo.name);
        let r: Repository = self.api.get(self.repo_url(repo, &[]), &what).await?.body;
        Ok(RepoInfo {
            owner: r.owner.login,
            name: r.name,
            clone_url: r.clone_url,
            web_url: r.html_url,
            default_branch: r.default_branch.unwrap_or_default(),
            private: r.private,
        })
    }

    async fn branch(&self, repo: &RepoPath, name: &str) -> ScmResult<Option<String>> {
        let what = format!("branch {name:?} of {}/{}", repo.owner, repo.name);
        let mut rest = vec!["branches"];
        rest.extend(name.split('/'));
        let found = self.api.get_opt::<Branch>(self.repo_url(repo, &rest), &what).await?;
        Ok(found.map(|a| a.body.commit.sha))
    }

    async fn tag(&self, repo: &RepoPath, name: &str) -> ScmResult<Option<String>> {
        let what = format!("tag {name:?} of {}/{}", repo.owner, repo.name);
        let mut rest = vec!["git", "ref", "tags"];
        rest.extend(name.split('/'));
        let Some(found) = self.api.get_opt::<Reference>(self.repo_url(repo, &rest), &what).await? else {
            return Ok(None);
        };
        // An annotated tag points to a tag object, which points to the commit.
        let mut object = found.body.object;
        for _ in 0..4 {
            if object.kind != "tag" {
                break;
            }
            let url = self.repo_url(repo, &["git", "tags", &object.sha]);
            object = self.api.get::<Reference>(url, &what).await?.body.object;
        }
        Ok(Some(object.sha))
    }

    async fn commit(&self, repo: &RepoPath, sha: &str) -> ScmResult<Option<String>> {
        let what = format!("commit {sha} of {}/{}", repo.owner, repo.name);
        // An unknown SHA is 422 "No commit found for SHA".
        match self.api.get::<Sha>(self.repo_url(repo, &["commits", sha]), &what).await {
            Ok(a) => Ok(Some(a.body.sha)),
            Err(ScmError::NotFound(_) | ScmError::InvalidRequest(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn pull_request(&self, repo: &RepoPath, number: u64) -> ScmResult<Option<PullRequestInfo>> {
        let what = format!("pull request {number} of {}/{}", repo.owner, repo.name);
        let n = number.to_string();
        let Some(found) = self.api.get_opt::<Pull>(self.repo_url(repo, &["pulls", &n]), &what).await? else {
            return Ok(None);
        };
        let p = found.body;
        let state = match p.state.as_str() {
            "open" => PullRequestState::Open,
            _ if p.merged == Some(true) || p.merged_at.is_some() => PullRequestState::Merged,
            _ => PullRequestState::Closed,
        };
        let source = p.head.repo.unwrap_or(p.base.repo);
        Ok(Some(PullRequestInfo {
            id: p.number.to_string(),
            title: p.title,
            author: p.user.map(|u| u.login).unwrap_or_default(),
            state,
            draft: p.draft.unwrap_or(false),
            url: p.html_url,
            from_branch: p.head.branch,
            to_branch: p.base.branch,
            head_sha: p.head.sha,
            source: PullRequestRepo { owner: source.owner.login, name: source.name, clone_url: source.clone_url },
        }))
    }

    async fn issue(&self, repo: &RepoPath, number: u64) -> ScmResult<Option<IssueInfo>> {
        let what = format!("issue {number} of {}/{}", repo.owner, repo.name);
        let n = number.to_string();
        // Pull requests are issues too (they carry a `pull_request` key); they count.
        let found = self.api.get_opt::<Issue>(self.repo_url(repo, &["issues", &n]), &what).await?;
        Ok(found.map(|a| IssueInfo { id: a.body.number.to_string(), title: a.body.title }))
    }

    async fn search_repositories(&self, query: &SearchQuery) -> ScmResult<SearchPage> {
        let (page, per_page) = (query.page.max(1).to_string(), query.per_page.clamp(1, 100).to_string());
        let text = query.text.trim();
        if text.is_empty() {
            // The user's repositories, most recently updated first.
            let url = self.url(&["user", "repos"], &[("sort", "updated"), ("per_page", &per_page), ("page", &page)]);
            let answer = self.api.get::<Vec<Listed>>(url, "your repositories").await?;
            let l = links(&answer.headers);
            let found = answer.body.len() as u64;
            let (has_next, total_pages, total_count) = match (l.get("next"), l.get("last")) {
                (Some(_), last) => (true, last.and_then(|u| query_param(u, "page")).and_then(|p| p.parse().ok()), None),
                // The last page: everything is known, unless we are past the end.
                (None, _) if found > 0 || query.page <= 1 => {
                    let before = u64::from(query.page.max(1) - 1) * u64::from(query.per_page.clamp(1, 100));
                    (false, Some(u64::from(query.page.max(1))), Some(before + found))
                }
                (None, _) => (false, None, None),
            };
            return Ok(SearchPage {
                repositories: answer.body.into_iter().map(summary).collect(),
                total_count,
                total_pages,
                has_next,
            });
        }
        let q = match query.mode {
            SearchMode::Native => text.to_owned(),
            SearchMode::Keyword => {
                let me: Account = self.api.get(self.url(&["user"], &[]), "your user").await?.body;
                format!("{text} in:name user:{}", me.login)
            }
        };
        let url = self.url(&["search", "repositories"], &[("q", &q), ("per_page", &per_page), ("page", &page)]);
        let answer = self.api.get::<SearchResults>(url, "repository search").await?;
        let total_pages = pages(answer.body.total_count.min(SEARCH_LIMIT), query.per_page.clamp(1, 100));
        let l = links(&answer.headers);
        let has_next = if answer.headers.contains_key(reqwest::header::LINK) {
            l.contains_key("next")
        } else {
            u64::from(query.page) < total_pages
        };
        Ok(SearchPage {
            repositories: answer.body.items.into_iter().map(summary).collect(),
            total_count: Some(answer.body.total_count),
            total_pages: Some(total_pages),
            has_next,
        })
    }

    async fn organizations(&self, _query: &str, cursor: Option<&str>, per_page: u32) -> ScmResult<OrgPage> {
        let page = page_cursor(cursor)?.to_string();
        let per_page = per_page.clamp(1, 100).to_string();
        let url = self.url(&["user", "orgs"], &[("per_page", &per_page), ("page", &page)]);
        let answer = self.api.get::<Vec<Account>>(url, "your organizations").await?;
        let next = links(&answer.headers).get("next").and_then(|u| query_param(u, "page"));
        let organizations = answer
            .body
            .into_iter()
            .map(|o| OrgSummary { url: format!("https://{}/{}", self.web_host, o.login), name: o.login })
            .collect();
        Ok(OrgPage { organizations, next })
    }
}
