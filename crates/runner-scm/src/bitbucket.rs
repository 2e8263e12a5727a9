//! Bitbucket Cloud: the REST API 2.0 (`https://api.bitbucket.org/2.0`).

use async_trait::async_trait;
use runner_core::scm::provider::{
    IssueInfo, OrgPage, OrgSummary, PullRequestInfo, PullRequestRepo, PullRequestState, RepoInfo, RepoPath,
    RepoSummary, ScmApi, ScmResult, SearchMode, SearchPage, SearchQuery,
};
use serde::Deserialize;
use url::Url;

use crate::http::{Api, endpoint, pages, query_param, without_userinfo};

pub(crate) struct Bitbucket {
    api: Api,
    base: Url,
    /// The web host, for clone URLs the API does not give.
    web_host: String,
}

impl Bitbucket {
    pub fn new(api: Api, base: Url, host: &str) -> Self {
        let web_host = if host == "api.bitbucket.org" { "bitbucket.org".to_owned() } else { host.to_owned() };
        Self { api, base, web_host }
    }

    fn url(&self, segments: &[&str], query: &[(&str, &str)]) -> Url {
        endpoint(&self.base, segments, query)
    }

    fn repo_url(&self, workspace: &str, slug: &str, rest: &[&str]) -> Url {
        let mut segments = vec!["repositories", workspace, slug];
        segments.extend_from_slice(rest);
        self.url(&segments, &[])
    }

    /// The full hash of a commit given by a (possibly short) hash, in `full_name`'s repository.
    async fn full_hash(&self, full_name: &str, hash: String) -> String {
        if hash.len() >= 40 {
            return hash;
        }
        let Some((workspace, slug)) = full_name.split_once('/') else { return hash };
        let url = self.repo_url(workspace, slug, &["commit", &hash]);
        match self.api.get::<Commit>(url, &format!("commit {hash} of {full_name}")).await {
            Ok(a) => a.body.hash,
            Err(_) => hash,
        }
    }
}

#[derive(Deserialize)]
struct Href {
    href: String,
}

#[derive(Deserialize)]
struct NamedHref {
    name: String,
    href: String,
}

#[derive(Deserialize)]
struct RepoLinks {
    html: Href,
    #[serde(default)]
    clone: Vec<NamedHref>,
}

#[derive(Deserialize)]
struct Named {
    name: String,
}

#[derive(Deserialize)]
struct Repository {
    full_name: String,
    #[serde(default)]
    is_private: bool,
    #[serde(default)]
    mainbranch: Option<Named>,
    links: RepoLinks,
}

#[derive(Deserialize)]
struct Listed {
    full_name: String,
    links: HtmlLinks,
}

#[derive(Deserialize)]
struct HtmlLinks {
    html: Href,
}

#[derive(Deserialize)]
struct Ref {
    target: Commit,
}

#[derive(Deserialize)]
struct Commit {
    hash: String,
}

#[derive(Deserialize)]
struct Account {
    #[serde(default)]
    nickname: Option<String>,
    #[serde(default)]
    display_name: Option<String>,
}

#[derive(Deserialize)]
struct PullRequest {
    id: u64,
    title: String,
    #[serde(default)]
    author: Option<Account>,
    state: String,
    #[serde(default)]
    draft: Option<bool>,
    links: HtmlLinks,
    source: Endpoint,
    destination: Endpoint,
}

#[derive(Deserialize)]
struct Endpoint {
    branch: Named,
    #[serde(default)]
    commit: Option<Commit>,
    /// Absent when the fork was deleted.
    #[serde(default)]
    repository: Option<Listed>,
}

#[derive(Deserialize)]
struct Issue {
    id: u64,
    title: String,
}

#[derive(Deserialize)]
struct Paged<T> {
    values: Vec<T>,
    #[serde(default)]
    size: Option<u64>,
    #[serde(default)]
    next: Option<String>,
}

#[derive(Deserialize)]
struct Membership {
    workspace: Workspace,
}

#[derive(Deserialize)]
struct Workspace {
    slug: String,
    links: HtmlLinks,
}

/// A string in Bitbucket's query language.
fn bbql_string(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

fn split_full_name(full_name: &str) -> (String, String) {
    match full_name.split_once('/') {
        Some((w, r)) => (w.to_owned(), r.to_owned()),
        None => (String::new(), full_name.to_owned()),
    }
}

#[async_trait]
impl ScmApi for Bitbucket {
    async fn repository(&self, repo: &RepoPath) -> ScmResult<RepoInfo> {
        let what = format!("repository {}/{}", repo.owner, repo.name);
        let r: Repository = self.api.get(self.repo_url(&repo.owner, &repo.name, &[]), &what).await?.body;
        let (owner, name) = split_full_name(&r.full_name);
        let clone_url = match r.links.clone.iter().find(|c| c.name == "https") {
            Some(c) => without_userinfo(&c.href),
            None => format!("{}.git", r.links.html.href.trim_end_matches('/')),
        };
        Ok(RepoInfo {
            owner,
            name,
            clone_url,
            web_url: r.links.html.href,
            default_branch: r.mainbranch.map(|b| b.name).unwrap_or_default(),
            private: r.is_private,
        })
    }

    async fn branch(&self, repo: &RepoPath, name: &str) -> ScmResult<Option<String>> {
        let what = format!("branch {name:?} of {}/{}", repo.owner, repo.name);
        let mut rest = vec!["refs", "branches"];
        rest.extend(name.split('/'));
        let found = self.api.get_opt::<Ref>(self.repo_url(&repo.owner, &repo.name, &rest), &what).await?;
        Ok(found.map(|a| a.body.target.hash))
    }

    async fn tag(&self, repo: &RepoPath, name: &str) -> ScmResult<Option<String>> {
        let what = format!("tag {name:?} of {}/{}", repo.owner, repo.name);
        let mut rest = vec!["refs", "tags"];
        rest.extend(name.split('/'));
        let found = self.api.get_opt::<Ref>(self.repo_url(&repo.owner, &repo.name, &rest), &what).await?;
        Ok(found.map(|a| a.body.target.hash))
    }

    async fn commit(&self, repo: &RepoPath, sha: &str) -> ScmResult<Option<String>> {
        let what = format!("commit {sha} of {}/{}", repo.owner, repo.name);
        let found = self.api.get_opt::<Commit>(self.repo_url(&repo.owner, &repo.name, &["commit", sha]), &what).await?;
        Ok(found.map(|a| a.body.hash))
    }

    async fn pull_request(&self, repo: &RepoPath, number: u64) -> ScmResult<Option<PullRequestInfo>> {
        let what = format!("pull request {number} of {}/{}", repo.owner, repo.name);
        let n = number.to_string();
        let url = self.repo_url(&repo.owner, &repo.name, &["pullrequests", &n]);
        let Some(found) = self.api.get_opt::<PullRequest>(url, &what).await? else {
            return Ok(None);
        };
        let pr = found.body;
        let state = match pr.state.as_str() {
            "OPEN" => PullRequestState::Open,
            "MERGED" => PullRequestState::Merged,
            // DECLINED, SUPERSEDED
            _ => PullRequestState::Closed,
        };
        let source_repo = pr.source.repository.or(pr.destination.repository);
        let (full_name, web) = match source_repo {
            Some(r) => (r.full_name, r.links.html.href),
            None => {
                let full_name = format!("{}/{}", repo.owner, repo.name);
                let web = format!("https://{}/{full_name}", self.web_host);
                (full_name, web)
            }
        };
        // Bitbucket gives the head as a 12-character hash.
        let head = pr.source.commit.map(|c| c.hash).unwrap_or_default();
        let head_sha = if head.is_empty() { head } else { self.full_hash(&full_name, head).await };
        let (owner, name) = split_full_name(&full_name);
        let author = pr.author.map(|a| a.nickname.or(a.display_name).unwrap_or_default()).unwrap_or_default();
        Ok(Some(PullRequestInfo {
            id: pr.id.to_string(),
            title: pr.title,
            author,
            state,
            draft: pr.draft.unwrap_or(false),
            url: pr.links.html.href,
            from_branch: pr.source.branch.name,
            to_branch: pr.destination.branch.name,
            head_sha,
            source: PullRequestRepo {
                owner,
                name,
                clone_url: format!("{}.git", without_userinfo(web.trim_end_matches('/'))),
            },
        }))
    }

    async fn issue(&self, repo: &RepoPath, number: u64) -> ScmResult<Option<IssueInfo>> {
        // 404 also when the repository has no issue tracker.
        let what = format!("issue {number} of {}/{}", repo.owner, repo.name);
        let n = number.to_string();
        let found = self.api.get_opt::<Issue>(self.repo_url(&repo.owner, &repo.name, &["issues", &n]), &what).await?;
        Ok(found.map(|a| IssueInfo { id: a.body.id.to_string(), title: a.body.title }))
    }

    async fn search_repositories(&self, query: &SearchQuery) -> ScmResult<SearchPage> {
        let per_page = query.per_page.clamp(1, 100);
        let (page, pagelen) = (query.page.max(1).to_string(), per_page.to_string());
        let text = query.text.trim();
        let q = match query.mode {
            _ if text.is_empty() => None,
            SearchMode::Keyword => Some(format!("name~{}", bbql_string(text))),
            SearchMode::Native => Some(text.to_owned()),
        };
        let mut params = vec![("role", "member")];
        if let Some(q) = &q {
            params.push(("q", q));
        }
        params.extend([("sort", "-updated_on"), ("page", page.as_str()), ("pagelen", pagelen.as_str())]);
        let answer = self.api.get::<Paged<Listed>>(self.url(&["repositories"], &params), "your repositories").await?;
        let body = answer.body;
        Ok(SearchPage {
            total_pages: body.size.map(|s| pages(s, per_page)),
            total_count: body.size,
            has_next: body.next.is_some(),
            repositories: body
                .values
                .into_iter()
                .map(|r| RepoSummary { name: r.full_name, url: r.links.html.href })
                .collect(),
        })
    }

    async fn organizations(&self, _query: &str, cursor: Option<&str>, per_page: u32) -> ScmResult<OrgPage> {
        let page = cursor.map(str::trim).filter(|c| !c.is_empty()).unwrap_or("1");
        let pagelen = per_page.clamp(1, 100).to_string();
        let url = self.url(&["user", "permissions", "workspaces"], &[("page", page), ("pagelen", &pagelen)]);
        let answer = self.api.get::<Paged<Membership>>(url, "your workspaces").await?;
        let next = answer.body.next.as_deref().and_then(|n| Url::parse(n).ok()).and_then(|u| query_param(&u, "page"));
        let organizations = answer
            .body
            .values
            .into_iter()
            .map(|m| OrgSummary {
                name: m.workspace.slug,
                url: m.workspace.links.html.href.trim_end_matches('/').to_owned(),
            })
            .collect();
        Ok(OrgPage { organizations, next })
    }
}
