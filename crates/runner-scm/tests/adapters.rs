//! The four adapters against the fake providers: the same checks for each provider, then what
//! is particular to one.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use runner_core::model::HostTokenSource;
use runner_core::scm::provider::{
    Credential, OrgPage, PullRequestState, RepoPath, ScmApi, ScmConnector, ScmEndpoint, ScmError, ScmKind, SearchMode,
    SearchPage, SearchQuery,
};
use runner_scm::fake::*;
use runner_scm::{HttpScm, HttpScmConfig};

// --- setup -------------------------------------------------------------------------------------

struct Env {
    fake: FakeScm,
    scm: HttpScm,
}

async fn env() -> Env {
    env_with(Duration::from_secs(10), 2).await
}

async fn env_with(timeout: Duration, retries: u32) -> Env {
    let fake = FakeScm::start().await;
    let api_urls: HashMap<String, String> = [
        ("github.com", fake.api_url(ScmKind::GitHub)),
        ("gitlab.com", fake.api_url(ScmKind::GitLab)),
        ("bitbucket.org", fake.api_url(ScmKind::Bitbucket)),
        ("dev.azure.com", fake.api_url(ScmKind::AzureDevOps)),
        ("tfs.example.com", fake.api_url(ScmKind::AzureDevOps)),
    ]
    .into_iter()
    .map(|(h, u)| (h.to_owned(), u))
    .collect();
    let scm = HttpScm::new(HttpScmConfig { api_urls, timeout, retries }).expect("connector");
    Env { fake, scm }
}

impl Env {
    fn connect(&self, case: &Case, token: &str) -> Box<dyn ScmApi> {
        self.connect_to(case.kind, case.host, None, token, HostTokenSource::Pat)
    }

    fn connect_to(
        &self,
        kind: ScmKind,
        host: &str,
        virtual_directory: Option<&str>,
        token: &str,
        source: HostTokenSource,
    ) -> Box<dyn ScmApi> {
        let endpoint =
            ScmEndpoint { kind, host: host.to_owned(), virtual_directory: virtual_directory.map(str::to_owned) };
        self.scm.connect(&endpoint, Credential { token: token.to_owned(), source }).expect("connect")
    }
}

/// What one provider's fixtures look like through the adapter.
struct Case {
    kind: ScmKind,
    host: &'static str,
    tokens: [&'static str; 3],
    public: (&'static str, &'static str),
    private: (&'static str, &'static str),
    public_clone_url: &'static str,
    public_web_url: &'static str,
    fork: (&'static str, &'static str, &'static str),
    pr_url_1: &'static str,
    alice: &'static str,
    bob: &'static str,
    has_issues: bool,
    keyword_matches: &'static [&'static str],
    native_query: &'static str,
    /// `None` where the provider leaves the totals out (GitLab's `/search`).
    native_totals: bool,
    orgs: &'static [&'static str],
    first_org_url: &'static str,
    /// A path fragment of `GET repository` of the public repository.
    repo_path: &'static str,
}

fn github() -> Case {
    Case {
        kind: ScmKind::GitHub,
        host: "github.com",
        tokens: [GITHUB_ALICE, GITHUB_BOB, GITHUB_CAROL],
        public: (GITHUB_OWNER, GITHUB_REPO),
        private: (PRIVATE_OWNER, PRIVATE_REPO),
        public_clone_url: "https://github.com/gitpod-io/gitpod.git",
        public_web_url: "https://github.com/gitpod-io/gitpod",
        fork: ("alice", "gitpod", "https://github.com/alice/gitpod.git"),
        pr_url_1: "https://github.com/gitpod-io/gitpod/pull/1",
        alice: "alice",
        bob: "bob",
        has_issues: true,
        keyword_matches: &GITHUB_API_MATCHES,
        native_query: "api in:name user:alice",
        native_totals: true,
        orgs: &GITHUB_ORGS,
        first_org_url: "https://github.com/gitpod-io",
        repo_path: "/repos/gitpod-io/gitpod",
    }
}

fn gitlab() -> Case {
    Case {
        kind: ScmKind::GitLab,
        host: "gitlab.com",
        tokens: [GITLAB_ALICE, GITLAB_BOB, GITLAB_CAROL],
        public: (GITLAB_GROUP, GITLAB_PROJECT),
        private: (PRIVATE_OWNER, PRIVATE_REPO),
        public_clone_url: "https://gitlab.com/gitpod-io/platform/backend/api.git",
        public_web_url: "https://gitlab.com/gitpod-io/platform/backend/api",
        fork: ("alice", "api", "https://gitlab.com/alice/api.git"),
        pr_url_1: "https://gitlab.com/gitpod-io/platform/backend/api/-/merge_requests/1",
        alice: "alice",
        bob: "bob",
        has_issues: true,
        keyword_matches: &GITLAB_API_MATCHES,
        native_query: "scope=projects&search=api",
        native_totals: false,
        orgs: &GITLAB_GROUPS,
        first_org_url: "https://gitlab.com/groups/gitpod-io",
        repo_path: "/projects/gitpod-io/platform/backend/api",
    }
}

fn bitbucket() -> Case {
    Case {
        kind: ScmKind::Bitbucket,
        host: "bitbucket.org",
        tokens: [BITBUCKET_ALICE, BITBUCKET_BOB, BITBUCKET_CAROL],
        public: (BITBUCKET_WORKSPACE, BITBUCKET_REPO),
        private: (PRIVATE_OWNER, PRIVATE_REPO),
        public_clone_url: "https://bitbucket.org/gitpod/gitpod.git",
        public_web_url: "https://bitbucket.org/gitpod/gitpod",
        fork: ("alice", "gitpod", "https://bitbucket.org/alice/gitpod.git"),
        pr_url_1: "https://bitbucket.org/gitpod/gitpod/pull-requests/1",
        alice: "alice",
        bob: "bob",
        has_issues: true,
        keyword_matches: &BITBUCKET_API_MATCHES,
        native_query: r#"name~"api" AND workspace.slug="alice""#,
        native_totals: true,
        orgs: &BITBUCKET_WORKSPACES,
        first_org_url: "https://bitbucket.org/alice",
        repo_path: "/repositories/gitpod/gitpod",
    }
}

fn azure() -> Case {
    Case {
        kind: ScmKind::AzureDevOps,
        host: "dev.azure.com/gitpod",
        tokens: [AZURE_ALICE, AZURE_BOB, AZURE_CAROL],
        public: ("gitpod/platform", AZURE_REPO),
        private: ("gitpod/internal", PRIVATE_REPO),
        public_clone_url: "https://dev.azure.com/gitpod/platform/_git/api",
        public_web_url: "https://dev.azure.com/gitpod/platform/_git/api",
        fork: ("gitpod/sandbox", "api", "https://dev.azure.com/gitpod/sandbox/_git/api"),
        pr_url_1: "https://dev.azure.com/gitpod/platform/_git/api/pullrequest/1",
        alice: "alice@example.com",
        bob: "bob@example.com",
        has_issues: false,
        keyword_matches: &AZURE_API_MATCHES,
        native_query: "api",
        native_totals: true,
        orgs: &AZURE_ORGS,
        first_org_url: "https://dev.azure.com/gitpod",
        repo_path: "/gitpod/platform/_apis/git/repositories/api",
    }
}

fn repo((owner, name): (&str, &str)) -> RepoPath {
    RepoPath { owner: owner.to_owned(), name: name.to_owned() }
}

fn query(text: &str, mode: SearchMode, page: u32, per_page: u32) -> SearchQuery {
    SearchQuery { text: text.to_owned(), mode, page, per_page }
}

/// Every page of a search, checking that each page but the last is full and says a page follows.
async fn all_pages(api: &dyn ScmApi, text: &str, mode: SearchMode, per_page: u32) -> (Vec<String>, Vec<SearchPage>) {
    let mut names = Vec::new();
    let mut pages = Vec::new();
    for page in 1..=20 {
        let found = api.search_repositories(&query(text, mode, page, per_page)).await.expect("search");
        names.extend(found.repositories.iter().map(|r| r.name.clone()));
        let more = found.has_next;
        if more {
            assert_eq!(found.repositories.len(), per_page as usize, "page {page} is full while more follow");
        }
        pages.push(found);
        if !more {
            break;
        }
    }
    (names, pages)
}

async fn all_orgs(api: &dyn ScmApi, q: &str, per_page: u32) -> (Vec<String>, Vec<OrgPage>) {
    let mut names = Vec::new();
    let mut pages = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..20 {
        let page = api.organizations(q, cursor.as_deref(), per_page).await.expect("organizations");
        names.extend(page.organizations.iter().map(|o| o.name.clone()));
        cursor = page.next.clone();
        pages.push(page);
        if cursor.is_none() {
            break;
        }
    }
    (names, pages)
}

// --- the checks every provider passes ----------------------------------------------------------

async fn check_repository(case: Case) {
    let env = env().await;
    let alice = env.connect(&case, case.tokens[0]);
    let info = alice.repository(&repo(case.public)).await.expect("public repository");
    assert_eq!((info.owner.as_str(), info.name.as_str()), case.public);
    assert_eq!(info.default_branch, "main");
    assert!(!info.private);
    assert_eq!(info.clone_url, case.public_clone_url);
    assert_eq!(info.web_url, case.public_web_url);

    let secret = alice.repository(&repo(case.private)).await.expect("private repository as alice");
    assert!(secret.private);
    assert_eq!((secret.owner.as_str(), secret.name.as_str()), case.private);

    let bob = env.connect(&case, case.tokens[1]);
    assert!(bob.repository(&repo(case.public)).await.is_ok());
    let e = bob.repository(&repo(case.private)).await.unwrap_err();
    assert!(matches!(e, ScmError::NotFound(_)), "{e:?}");

    let carol = env.connect(&case, case.tokens[2]);
    let e = carol.repository(&repo(case.private)).await.unwrap_err();
    assert!(matches!(e, ScmError::PermissionDenied(_)), "{e:?}");

    let revoked = env.connect(&case, "revoked-or-expired-token-0123456789");
    let e = revoked.repository(&repo(case.public)).await.unwrap_err();
    assert!(matches!(e, ScmError::Unauthenticated(_)), "{e:?}");

    let e = alice.repository(&repo((case.public.0, "does-not-exist"))).await.unwrap_err();
    assert!(matches!(e, ScmError::NotFound(_)), "{e:?}");
}

async fn check_refs(case: Case) {
    let env = env().await;
    let api = env.connect(&case, case.tokens[0]);
    let r = repo(case.public);
    assert_eq!(api.branch(&r, "main").await.unwrap().as_deref(), Some(MAIN_SHA));
    assert_eq!(api.branch(&r, "feature/login").await.unwrap().as_deref(), Some(FEATURE_LOGIN_SHA));
    assert_eq!(api.branch(&r, "feature/login/oauth").await.unwrap().as_deref(), Some(FEATURE_OAUTH_SHA));
    assert_eq!(api.branch(&r, "release-1.0").await.unwrap().as_deref(), Some(INITIAL_SHA));
    // Prefixes and extensions of branches are no branches.
    assert_eq!(api.branch(&r, "feature").await.unwrap(), None);
    assert_eq!(api.branch(&r, "feature/login/oauth/src").await.unwrap(), None);
    assert_eq!(api.branch(&r, "no-such-branch").await.unwrap(), None);
    // Tags, lightweight and annotated (peeled to the commit).
    assert_eq!(api.tag(&r, "v1.0.0").await.unwrap().as_deref(), Some(INITIAL_SHA));
    assert_eq!(api.tag(&r, "releases/2024.1").await.unwrap().as_deref(), Some(RELEASE_2024_SHA));
    assert_eq!(api.tag(&r, "releases").await.unwrap(), None);
    assert_eq!(api.tag(&r, "v9.9.9").await.unwrap(), None);
    assert_eq!(api.branch(&r, "v1.0.0").await.unwrap(), None);
    // Commits, full and abbreviated.
    assert_eq!(api.commit(&r, MAIN_SHA).await.unwrap().as_deref(), Some(MAIN_SHA));
    assert_eq!(api.commit(&r, &FEATURE_OAUTH_SHA[..7]).await.unwrap().as_deref(), Some(FEATURE_OAUTH_SHA));
    assert_eq!(api.commit(&r, "deadbeefdeadbeef").await.unwrap(), None);
}

async fn check_pull_requests(case: Case) {
    let env = env().await;
    let api = env.connect(&case, case.tokens[0]);
    let r = repo(case.public);

    let pr = api.pull_request(&r, 1).await.unwrap().expect("PR 1");
    assert_eq!(pr.id, "1");
    assert_eq!(pr.title, "Fix typo in README");
    assert_eq!(pr.author, case.alice);
    assert_eq!(pr.state, PullRequestState::Open);
    assert!(!pr.draft);
    assert_eq!(pr.url, case.pr_url_1);
    assert_eq!(pr.from_branch, FORK_BRANCH);
    assert_eq!(pr.to_branch, "main");
    assert_eq!(pr.head_sha, FORK_SHA);
    assert_eq!(pr.source.owner, case.fork.0);
    assert_eq!(pr.source.name, case.fork.1);
    assert_eq!(pr.source.clone_url, case.fork.2);
    assert_ne!(pr.source.owner, case.public.0, "PR 1 comes from a fork");

    let merged = api.pull_request(&r, 2).await.unwrap().expect("PR 2");
    assert_eq!(merged.state, PullRequestState::Merged);
    assert_eq!(merged.author, case.bob);
    assert_eq!(merged.from_branch, "feature/login");
    assert_eq!(merged.head_sha, FEATURE_LOGIN_SHA);
    assert_eq!((merged.source.owner.as_str(), merged.source.name.as_str()), case.public);
    assert_eq!(merged.source.clone_url, case.public_clone_url);

    let draft = api.pull_request(&r, 3).await.unwrap().expect("PR 3");
    assert_eq!(draft.state, PullRequestState::Open);
    assert!(draft.draft);
    assert_eq!(draft.from_branch, "feature/login/oauth");
    assert_eq!(draft.head_sha, FEATURE_OAUTH_SHA);

    let closed = api.pull_request(&r, 4).await.unwrap().expect("PR 4");
    assert_eq!(closed.state, PullRequestState::Closed);

    assert_eq!(api.pull_request(&r, 99).await.unwrap(), None);
}

async fn check_issues(case: Case) {
    let env = env().await;
    let api = env.connect(&case, case.tokens[0]);
    let r = repo(case.public);
    let issue = api.issue(&r, ISSUE_NUMBER).await.unwrap();
    if case.has_issues {
        let issue = issue.expect("issue 7");
        assert_eq!(issue.id, "7");
        assert_eq!(issue.title, ISSUE_TITLE);
    } else {
        assert_eq!(issue, None);
    }
    assert_eq!(api.issue(&r, 99).await.unwrap(), None);
}

async fn check_search(case: Case) {
    let env = env().await;
    let api = env.connect(&case, case.tokens[0]);
    let expected: Vec<String> = case.keyword_matches.iter().map(|s| s.to_string()).collect();
    let pages_expected = expected.len().div_ceil(3) as u64;

    let (names, pages) = all_pages(api.as_ref(), SEARCH_KEYWORD, SearchMode::Keyword, 3).await;
    assert_eq!(names, expected);
    assert_eq!(pages.len() as u64, pages_expected);
    assert!(pages[0].has_next);
    assert!(!pages.last().unwrap().has_next);
    assert_eq!(pages[0].total_count, Some(expected.len() as u64));
    assert_eq!(pages[0].total_pages, Some(pages_expected));

    let (names, pages) = all_pages(api.as_ref(), case.native_query, SearchMode::Native, 3).await;
    assert_eq!(names, expected);
    assert_eq!(pages.len() as u64, pages_expected);
    if case.native_totals {
        assert_eq!(pages[1].total_count, Some(expected.len() as u64));
        assert_eq!(pages[1].total_pages, Some(pages_expected));
    } else {
        assert_eq!((pages[1].total_count, pages[1].total_pages), (None, None));
    }

    // Nothing found is an empty page, not an error.
    let none = api.search_repositories(&query("zzz-nothing-matches", SearchMode::Keyword, 1, 3)).await.unwrap();
    assert!(none.repositories.is_empty());
    assert!(!none.has_next);

    // An empty text lists the user's repositories (ten for ALICE everywhere).
    let (names, _) = all_pages(api.as_ref(), "", SearchMode::Keyword, 4).await;
    assert_eq!(names.len(), 10, "{names:?}");

    // BOB does not find ALICE's private repository.
    let bob = env.connect(&case, case.tokens[1]);
    let found = bob.search_repositories(&query(PRIVATE_REPO, SearchMode::Keyword, 1, 10)).await.unwrap();
    assert!(found.repositories.iter().all(|r| !r.name.ends_with(PRIVATE_REPO)), "{:?}", found.repositories);
}

async fn check_organizations(case: Case) {
    let env = env().await;
    let api = env.connect(&case, case.tokens[0]);
    let (names, pages) = all_orgs(api.as_ref(), "", 2).await;
    assert_eq!(names, case.orgs.iter().map(|s| s.to_string()).collect::<Vec<_>>());
    assert_eq!(pages.len(), case.orgs.len().div_ceil(2));
    assert_eq!(pages[0].organizations[0].url, case.first_org_url);
    assert!(pages[0].next.is_some());
    // A cursor can be used again.
    let again = api.organizations("", pages[0].next.as_deref(), 2).await.unwrap();
    assert_eq!(again, pages[1]);
}

async fn check_retries(case: Case) {
    let env = env().await;
    let api = env.connect(&case, case.tokens[0]);
    let r = repo(case.public);

    env.fake.fail_next(case.repo_path, 2, 503);
    let info = api.repository(&r).await.expect("third attempt succeeds");
    assert_eq!(info.default_branch, "main");
    assert_eq!(env.fake.hits(case.repo_path), 3);

    env.fake.fail_next(case.repo_path, 3, 503);
    let e = api.repository(&r).await.unwrap_err();
    assert!(matches!(e, ScmError::Unavailable(_)), "{e:?}");
    assert_eq!(env.fake.hits(case.repo_path), 6);

    // 429 carries Retry-After: 1, honoured on each of the two retries.
    let started = Instant::now();
    env.fake.fail_next(case.repo_path, 3, 429);
    let e = api.repository(&r).await.unwrap_err();
    assert!(matches!(e, ScmError::RateLimited(_)), "{e:?}");
    assert_eq!(env.fake.hits(case.repo_path), 9);
    assert!(started.elapsed() >= Duration::from_millis(1900), "{:?}", started.elapsed());

    // 404 is not retried.
    env.fake.fail_next(case.repo_path, 1, 404);
    assert!(matches!(api.repository(&r).await, Err(ScmError::NotFound(_))));
    assert_eq!(env.fake.hits(case.repo_path), 10);
}

async fn check_timeout(case: Case) {
    let env = env_with(Duration::from_millis(300), 1).await;
    let api = env.connect(&case, case.tokens[0]);
    let started = Instant::now();
    let e = api.repository(&repo((case.public.0, "slow"))).await.unwrap_err();
    assert!(matches!(e, ScmError::Unavailable(_)), "{e:?}");
    assert!(started.elapsed() < SLOW_DELAY, "{:?}", started.elapsed());
    assert_eq!(env.fake.hits("/slow"), 2, "one retry after the timeout");

    // A first slow answer, then a quick one.
    env.fake.delay_next(case.repo_path, 1, Duration::from_secs(2));
    assert!(api.repository(&repo(case.public)).await.is_ok());
}

/// Failures never show the token, in the message or the Debug output.
async fn check_no_token_in_errors(case: Case) {
    let env = env_with(Duration::from_millis(300), 0).await;
    let mut errors = Vec::new();
    for token in [case.tokens[1], case.tokens[2], "ghp_revokedrevokedrevokedrevoked0000"] {
        let api = env.connect(&case, token);
        errors.extend(api.repository(&repo(case.private)).await.err().map(|e| (token, e)));
        errors.extend(api.repository(&repo((case.public.0, "slow"))).await.err().map(|e| (token, e)));
        env.fake.fail_next(case.repo_path, 1, 500);
        errors.extend(api.repository(&repo(case.public)).await.err().map(|e| (token, e)));
    }
    assert!(errors.len() >= 7, "{errors:?}");
    for (token, e) in errors {
        assert!(!e.to_string().contains(token), "{e}");
        assert!(!format!("{e:?}").contains(token), "{e:?}");
    }
}

macro_rules! provider_tests {
    ($($module:ident => $case:ident),* $(,)?) => {$(
        mod $module {
            use super::*;

            #[tokio::test]
            async fn repository() {
                check_repository($case()).await
            }

            #[tokio::test]
            async fn branches_tags_and_commits() {
                check_refs($case()).await
            }

            #[tokio::test]
            async fn pull_requests() {
                check_pull_requests($case()).await
            }

            #[tokio::test]
            async fn issues() {
                check_issues($case()).await
            }

            #[tokio::test]
            async fn search_keyword_and_native_across_pages() {
                check_search($case()).await
            }

            #[tokio::test]
            async fn organizations_across_pages() {
                check_organizations($case()).await
            }

            #[tokio::test]
            async fn retries_then_unavailable_or_rate_limited() {
                check_retries($case()).await
            }

            #[tokio::test]
            async fn timeout_is_unavailable() {
                check_timeout($case()).await
            }

            #[tokio::test]
            async fn token_never_in_errors() {
                check_no_token_in_errors($case()).await
            }
        }
    )*};
}

provider_tests!(github_common => github, gitlab_common => gitlab, bitbucket_common => bitbucket, azure_common => azure);

// --- GitHub ------------------------------------------------------------------------------------

#[tokio::test]
async fn github_bad_search_syntax_is_invalid_request() {
    let env = env().await;
    let api = env.connect(&github(), GITHUB_ALICE);
    let e = api.search_repositories(&query("api badqualifier:x", SearchMode::Native, 1, 10)).await.unwrap_err();
    assert!(matches!(&e, ScmError::InvalidRequest(m) if m.contains("Validation Failed")), "{e:?}");
    assert_eq!(env.fake.hits("/search/repositories"), 1, "422 is not retried");
}

#[tokio::test]
async fn github_user_repos_pagination_from_link_header() {
    let env = env().await;
    let api = env.connect(&github(), GITHUB_ALICE);
    let (names, pages) = all_pages(api.as_ref(), "", SearchMode::Keyword, 3).await;
    assert_eq!(names, GITHUB_ALICE_REPOS.iter().map(|s| s.to_string()).collect::<Vec<_>>());
    assert_eq!(pages.len(), 4);
    // Before the last page only the number of pages is known (rel="last"); on it, everything.
    assert_eq!((pages[0].total_count, pages[0].total_pages), (None, Some(4)));
    assert_eq!((pages[3].total_count, pages[3].total_pages), (Some(10), Some(4)));
    // NATIVE with an empty text is the same listing.
    let native = api.search_repositories(&query("", SearchMode::Native, 1, 3)).await.unwrap();
    assert_eq!(native, pages[0]);
}

#[tokio::test]
async fn github_issue_that_is_a_pull_request_counts() {
    let env = env().await;
    let api = env.connect(&github(), GITHUB_ALICE);
    let issue = api.issue(&repo((GITHUB_OWNER, GITHUB_REPO)), 2).await.unwrap().expect("PR 2 as an issue");
    assert_eq!(issue.title, "Add login page");
}

#[tokio::test]
async fn github_rate_limit_403_is_rate_limited_without_retry() {
    let env = env().await;
    let api = env.connect(&github(), GITHUB_ALICE);
    env.fake.fail_next("/repos/gitpod-io/gitpod", 1, 403);
    let e = api.repository(&repo((GITHUB_OWNER, GITHUB_REPO))).await.unwrap_err();
    assert!(matches!(e, ScmError::RateLimited(_)), "{e:?}");
    assert_eq!(env.fake.hits("/repos/gitpod-io/gitpod"), 1);
}

#[tokio::test]
async fn github_organizations_ignore_the_query() {
    let env = env().await;
    let api = env.connect(&github(), GITHUB_ALICE);
    let (names, _) = all_orgs(api.as_ref(), "plat", 2).await;
    assert_eq!(names.len(), GITHUB_ORGS.len());
    let e = api.organizations("", Some("not-a-page"), 2).await.unwrap_err();
    assert!(matches!(e, ScmError::InvalidRequest(_)), "{e:?}");
}

// --- GitLab ------------------------------------------------------------------------------------

#[tokio::test]
async fn gitlab_groups_filtered_by_query() {
    let env = env().await;
    let api = env.connect(&gitlab(), GITLAB_ALICE);
    let (names, pages) = all_orgs(api.as_ref(), "plat", 2).await;
    assert_eq!(names, GITLAB_GROUPS_PLAT.iter().map(|s| s.to_string()).collect::<Vec<_>>());
    assert_eq!(pages.len(), 2);
    assert_eq!(pages[0].organizations[0].url, "https://gitlab.com/groups/gitpod-io/platform");
}

#[tokio::test]
async fn gitlab_native_search_needs_scope_projects_and_search() {
    let env = env().await;
    let api = env.connect(&gitlab(), GITLAB_ALICE);
    let e = api.search_repositories(&query("scope=issues&search=api", SearchMode::Native, 1, 10)).await.unwrap_err();
    assert!(matches!(&e, ScmError::InvalidRequest(m) if m.contains("scope=projects")), "{e:?}");
    assert_eq!(env.fake.hits("/search"), 0, "refused before asking GitLab");
    // GitLab's own 400.
    let e =
        api.search_repositories(&query("scope=projects&order_by=name", SearchMode::Native, 1, 10)).await.unwrap_err();
    assert!(matches!(&e, ScmError::InvalidRequest(m) if m == "search is missing"), "{e:?}");
    // scope defaults to projects.
    let found = api.search_repositories(&query("search=graphql", SearchMode::Native, 1, 10)).await.unwrap();
    assert_eq!(found.repositories.len(), 1);
    assert_eq!(found.repositories[0].name, "alice/graphql-api");
    assert_eq!(found.repositories[0].url, "https://gitlab.com/alice/graphql-api");
}

#[tokio::test]
async fn gitlab_project_ids_are_encoded_paths() {
    let env = env().await;
    let api = env.connect(&gitlab(), GITLAB_ALICE);
    api.branch(&repo((GITLAB_GROUP, GITLAB_PROJECT)), "feature/login/oauth").await.unwrap();
    assert_eq!(
        env.fake.hits("/projects/gitpod-io%2Fplatform%2Fbackend%2Fapi/repository/branches/feature%2Flogin%2Foauth"),
        1
    );
}

// --- Bitbucket ---------------------------------------------------------------------------------

#[tokio::test]
async fn bitbucket_bad_query_is_invalid_request() {
    let env = env().await;
    let api = env.connect(&bitbucket(), BITBUCKET_ALICE);
    let e = api.search_repositories(&query(r#"colour="blue""#, SearchMode::Native, 1, 10)).await.unwrap_err();
    assert!(matches!(&e, ScmError::InvalidRequest(m) if m.contains("not a valid field name")), "{e:?}");
}

#[tokio::test]
async fn bitbucket_keyword_search_is_quoted() {
    let env = env().await;
    let api = env.connect(&bitbucket(), BITBUCKET_ALICE);
    // A quote in the text stays inside the BBQL string.
    let found = api.search_repositories(&query("api\" OR name~\"", SearchMode::Keyword, 1, 10)).await.unwrap();
    assert!(found.repositories.is_empty(), "{:?}", found.repositories);
    let found = api.search_repositories(&query("GATEWAY", SearchMode::Keyword, 1, 10)).await.unwrap();
    assert_eq!(found.repositories.len(), 1);
    assert_eq!(found.repositories[0].url, "https://bitbucket.org/alice/api-gateway");
}

#[tokio::test]
async fn bitbucket_no_issue_tracker_is_none() {
    let env = env().await;
    let api = env.connect(&bitbucket(), BITBUCKET_ALICE);
    assert_eq!(api.issue(&repo(("alice", "gitpod")), ISSUE_NUMBER).await.unwrap(), None);
}

// --- Azure DevOps ------------------------------------------------------------------------------

#[tokio::test]
async fn azure_oauth_bearer_and_sign_in_page() {
    let env = env().await;
    let oauth =
        env.connect_to(ScmKind::AzureDevOps, "dev.azure.com/gitpod", None, AZURE_ALICE_OAUTH, HostTokenSource::Oauth);
    assert!(oauth.repository(&repo(("gitpod/internal", PRIVATE_REPO))).await.unwrap().private);
    // An unknown bearer token gets 203 and an HTML sign-in page.
    let stale = env.connect_to(ScmKind::AzureDevOps, "dev.azure.com/gitpod", None, "eyJstale", HostTokenSource::Oauth);
    let e = stale.repository(&repo(("gitpod/platform", AZURE_REPO))).await.unwrap_err();
    assert!(matches!(e, ScmError::Unauthenticated(_)), "{e:?}");
    // A PAT sent as a bearer token is not accepted either.
    let wrong = env.connect_to(ScmKind::AzureDevOps, "dev.azure.com/gitpod", None, AZURE_ALICE, HostTokenSource::Oauth);
    assert!(matches!(
        wrong.repository(&repo(("gitpod/platform", AZURE_REPO))).await,
        Err(ScmError::Unauthenticated(_))
    ));
}

#[tokio::test]
async fn azure_search_without_organization_covers_all_organizations() {
    let env = env().await;
    let api = env.connect_to(ScmKind::AzureDevOps, "dev.azure.com", None, AZURE_ALICE, HostTokenSource::Pat);
    let (names, _) = all_pages(api.as_ref(), "API", SearchMode::Keyword, 4).await;
    assert_eq!(names, AZURE_API_MATCHES.iter().map(|s| s.to_string()).collect::<Vec<_>>());
    assert!(env.fake.hits("/_apis/accounts?memberId=") >= 1);
    assert!(env.fake.hits("/docs-guild/_apis/git/repositories") >= 1);
}

#[tokio::test]
async fn azure_server_uses_project_collections() {
    let env = env().await;
    let api = env.connect_to(ScmKind::AzureDevOps, "tfs.example.com", Some("/tfs"), AZURE_ALICE, HostTokenSource::Pat);
    let (names, pages) = all_orgs(api.as_ref(), "", 2).await;
    assert_eq!(names, AZURE_ORGS.iter().map(|s| s.to_string()).collect::<Vec<_>>());
    assert_eq!(pages[0].organizations[0].url, "https://tfs.example.com/tfs/gitpod");
    assert_eq!(env.fake.hits("/_apis/profile"), 0);
    // Search covers the first collection.
    let found = api.search_repositories(&query("api", SearchMode::Keyword, 1, 100)).await.unwrap();
    assert_eq!(found.total_count, Some(AZURE_API_MATCHES.len() as u64));
    // Web URLs of pull requests are the Server's.
    let pr = api.pull_request(&repo(("gitpod/platform", AZURE_REPO)), 2).await.unwrap().unwrap();
    assert_eq!(pr.url, "https://tfs.example.com/tfs/gitpod/platform/_git/api/pullrequest/2");
}

#[tokio::test]
async fn azure_provider_400_is_invalid_request() {
    let env = env().await;
    let api = env.connect(&azure(), AZURE_ALICE);
    env.fake.fail_next("/gitpod/_apis/git/repositories", 1, 400);
    let e = api.search_repositories(&query("api", SearchMode::Native, 1, 10)).await.unwrap_err();
    assert!(matches!(e, ScmError::InvalidRequest(_)), "{e:?}");
    let e = api.repository(&repo(("no-project", "api"))).await.unwrap_err();
    assert!(matches!(e, ScmError::InvalidRequest(_)), "owner must be org/project: {e:?}");
}

#[tokio::test]
async fn azure_sends_api_version() {
    let env = env().await;
    let api = env.connect(&azure(), AZURE_ALICE);
    api.branch(&repo(("gitpod/platform", AZURE_REPO)), "main").await.unwrap();
    assert_eq!(env.fake.hits("refs?filter=heads%2Fmain&peelTags=true&api-version=7.1"), 1);
}

// --- the connector -----------------------------------------------------------------------------

#[tokio::test]
async fn connector_refuses_unusable_tokens_without_echoing_them() {
    let env = env().await;
    let endpoint = ScmEndpoint { kind: ScmKind::GitHub, host: "github.com".into(), virtual_directory: None };
    let secret = "ghp_line\nbreak";
    let Err(e) = env.scm.connect(&endpoint, Credential { token: secret.into(), source: HostTokenSource::Pat }) else {
        panic!("a token with a newline cannot be sent");
    };
    assert!(matches!(e, ScmError::Unauthenticated(_)));
    assert!(!format!("{e} {e:?}").contains("ghp_line"));
    let Err(e) = env.scm.connect(&endpoint, Credential { token: "  ".into(), source: HostTokenSource::Pat }) else {
        panic!("an empty token");
    };
    assert!(matches!(e, ScmError::Unauthenticated(_)));
    assert!(!format!("{:?}", env.scm).contains(GITHUB_ALICE));
}
