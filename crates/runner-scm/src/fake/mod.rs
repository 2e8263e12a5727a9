//! In-process fake SCM providers for tests (feature `fake`).
//!
//! [`FakeScm::start`] serves, on `127.0.0.1` and an ephemeral port, the part of each provider's
//! REST API that the adapters use, with JSON shaped like the providers' documented examples
//! (extra fields included), their pagination headers and bodies, and their error bodies:
//!
//! | provider | prefix ([`FakeScm::api_url`]) | serves |
//! |---|---|---|
//! | GitHub | `/github` | `/user`, `/user/repos`, `/user/orgs`, `/repos/{o}/{r}`, `…/branches/{b}`, `…/git/ref/tags/{t}`, `…/git/tags/{sha}`, `…/commits/{sha}`, `…/pulls/{n}`, `…/issues/{n}`, `/search/repositories` |
//! | GitLab | `/gitlab/api/v4` | `/projects` (`membership`, `search`), `/projects/{id}` (numeric or encoded path), `…/repository/branches/{b}`, `…/repository/tags/{t}`, `…/repository/commits/{sha}`, `…/merge_requests/{iid}`, `…/issues/{iid}`, `/search?scope=projects`, `/groups` (`search`) |
//! | Bitbucket Cloud | `/bitbucket/2.0` | `/repositories` (`role=member`, `q` in a subset of BBQL), `/repositories/{ws}/{r}`, `…/refs/branches/{b}`, `…/refs/tags/{t}`, `…/commit/{sha}`, `…/pullrequests/{n}`, `…/issues/{n}`, `/user/permissions/workspaces` |
//! | Azure DevOps | `/azure` | `/_apis/profile/profiles/me`, `/_apis/accounts`, `/_apis/projectCollections` (Server), `/{org}/_apis/git/repositories`, `/{org}/{project}/_apis/git/repositories/{r}`, `…/refs?filter=`, `…/commits/{sha}`, `…/pullrequests/{n}` (all need `api-version`) |
//!
//! For Azure DevOps, configure the same URL (`…/azure`) for the host: it serves both the Git API
//! and the profile/accounts APIs.
//!
//! # OAuth
//!
//! GitHub, GitLab and Bitbucket also serve their OAuth web flow under [`FakeScm::web_url`]
//! (`/github`, `/gitlab`, `/bitbucket`: configure it with `--scm-web-url`), for the one OAuth
//! application each has, [`OAUTH_CLIENT_ID`] with [`OAUTH_CLIENT_SECRET`]:
//!
//! | provider | authorization page (GET) | token endpoint (POST, form) |
//! |---|---|---|
//! | GitHub | `/login/oauth/authorize` | `/login/oauth/access_token`: client id and secret as fields; errors as 200 with `error` |
//! | GitLab | `/oauth/authorize` (`response_type=code`) | `/oauth/token` (`grant_type=authorization_code`): also a refresh token, `expires_in` 7200 |
//! | Bitbucket | `/site/oauth2/authorize` (`response_type=code`) | `/site/oauth2/access_token`: client id and secret as HTTP Basic authentication |
//!
//! The authorization page consents at once, as the user its `login` parameter names (ALICE by
//! default), and redirects to `redirect_uri` (required) with a one-time `code` and the `state`
//! it was given. The token endpoint trades the code for that user's token above (the one its
//! API accepts), if the client's credentials and the `redirect_uri` match.
//!
//! # Users and tokens
//!
//! | user | GitHub | GitLab | Bitbucket | Azure DevOps (PAT / OAuth) | sees |
//! |---|---|---|---|---|---|
//! | [`ALICE`] | [`GITHUB_ALICE`] | [`GITLAB_ALICE`] | [`BITBUCKET_ALICE`] | [`AZURE_ALICE`] / [`AZURE_ALICE_OAUTH`] | everything, incl. the private repository |
//! | [`BOB`] | [`GITHUB_BOB`] | [`GITLAB_BOB`] | [`BITBUCKET_BOB`] | [`AZURE_BOB`] | public repositories only; the private one is 404 |
//! | [`CAROL`] | [`GITHUB_CAROL`] | [`GITLAB_CAROL`] | [`BITBUCKET_CAROL`] | [`AZURE_CAROL`] | public repositories; the private one is **403** (GitHub: SAML enforcement) |
//!
//! Any other token (expired, revoked) is answered 401 with the provider's error body (GitHub
//! `{"message":"Bad credentials",…}`, GitLab `{"message":"401 Unauthorized"}`, Bitbucket
//! `{"type":"error","error":{…}}`, Azure DevOps `TF400813`). Azure DevOps answers an unknown
//! OAuth bearer token as it really does: 203 with an HTML sign-in page.
//!
//! # Repositories
//!
//! | what | GitHub | GitLab | Bitbucket | Azure DevOps (`RepoPath.owner` / `name`) |
//! |---|---|---|---|---|
//! | public, with PRs and an issue | `gitpod-io/gitpod` | `gitpod-io/platform/backend/api` | `gitpod/gitpod` | `gitpod/platform` / `api` |
//! | ALICE's fork of it (PR #1's source) | `alice/gitpod` | `alice/api` | `alice/gitpod` | `gitpod/sandbox` / `api` |
//! | private, ALICE only, CAROL 403 | `acme/secret` | `acme/secret` | `acme/secret` | `gitpod/internal` / `secret` |
//! | ALICE's seven search targets ([`SEARCH_REPOS`]) | `alice/{name}` | `alice/{name}` | `alice/{name}` | `gitpod/tools` / `{name}` |
//! | BOB's own | `bob/dotfiles` | `bob/dotfiles` | `bob/dotfiles` | `bob-labs/dotfiles` / `dotfiles` |
//!
//! The constants per provider: [`GITHUB_OWNER`]/[`GITHUB_REPO`], [`GITLAB_GROUP`]/[`GITLAB_PROJECT`],
//! [`BITBUCKET_WORKSPACE`]/[`BITBUCKET_REPO`], [`AZURE_ORG`]/[`AZURE_PROJECT`]/[`AZURE_REPO`]; the
//! forks' owners [`GITHUB_FORK_OWNER`] (also GitLab, Bitbucket) and [`AZURE_FORK_PROJECT`]; the
//! private repositories [`PRIVATE_OWNER`]/[`PRIVATE_REPO`] and [`AZURE_PRIVATE_PROJECT`]/[`PRIVATE_REPO`].
//! Web URLs in answers use the public hosts (`github.com`, `gitlab.com`, `bitbucket.org`,
//! `dev.azure.com`); pagination links point back to the fake.
//!
//! Every repository has the same refs and commits:
//!
//! | ref | commit |
//! |---|---|
//! | default branch `main` | [`MAIN_SHA`] |
//! | branch `feature/login` | [`FEATURE_LOGIN_SHA`] |
//! | branch `feature/login/oauth` (nested: longest-prefix resolution matters) | [`FEATURE_OAUTH_SHA`] |
//! | branch `release-1.0` | [`INITIAL_SHA`] |
//! | lightweight tag `v1.0.0` | [`INITIAL_SHA`] |
//! | annotated tag `releases/2024.1` (tag object [`TAG_OBJECT_SHA`]) | [`RELEASE_2024_SHA`] |
//! | the fork's branch `fix/readme` (fork only) | [`FORK_SHA`] |
//!
//! Commits resolve from any unique prefix of at least 4 hex digits. Unknown commits answer like
//! the provider (GitHub 422 `No commit found for SHA`, the others 404).
//!
//! The public repository (only) has these pull/merge requests and issue 7 (Azure DevOps: no
//! issues; Bitbucket: only this repository has an issue tracker, the others answer 404
//! `Repository has no issue tracker.`):
//!
//! | # | title | author | state | draft | from | head |
//! |---|---|---|---|---|---|---|
//! | 1 | Fix typo in README | alice | open | no | the fork's `fix/readme` | [`FORK_SHA`] |
//! | 2 | Add login page | bob | merged | no | `feature/login` | [`FEATURE_LOGIN_SHA`] |
//! | 3 | WIP: OAuth login | alice | open | yes | `feature/login/oauth` | [`FEATURE_OAUTH_SHA`] |
//! | 4 | Backport login fix to 1.0 | bob | closed (declined, abandoned) | no | `release-1.0` | [`INITIAL_SHA`] |
//! | issue 7 | [`ISSUE_TITLE`] | bob | open | | | |
//!
//! Bitbucket gives a pull request's head as a 12-character hash, as it really does.
//!
//! # Search
//!
//! Listings come in fixture order (most recently updated first); Azure DevOps adapters sort by
//! name themselves. Searching [`SEARCH_KEYWORD`] (`api`) as ALICE finds, in order:
//! [`GITHUB_API_MATCHES`] (7, `in:name user:alice`), [`GITLAB_API_MATCHES`] (9, membership),
//! [`BITBUCKET_API_MATCHES`] (7, `name~"api"`), [`AZURE_API_MATCHES`] (9, organization
//! `gitpod`, sorted by name). ALICE's `/user/repos` on GitHub holds [`GITHUB_ALICE_REPOS`] (10).
//!
//! - GitHub search understands free text and the qualifiers `in:`, `user:`, `org:`, `repo:`,
//!   `is:public|private`, `fork:`, `language:`, `archived:`; any other qualifier (such as
//!   `badqualifier:x`) is 422 `Validation Failed`, as is an empty `q`.
//! - GitLab `/search` needs `scope` (`projects` only here) and `search` (400 `search is missing`)
//!   and, like GitLab for costly counts, leaves out `X-Total` and `X-Total-Pages`.
//! - Bitbucket's `q` understands `field op value` clauses joined by `AND`/`OR`, with `=`, `!=`,
//!   `~`, `!~` on `name`, `full_name`, `slug`, `description`, `language`, `is_private`,
//!   `workspace.slug`, `project.key`; anything else is 400 `Invalid query`.
//!
//! # Organizations
//!
//! ALICE's: [`GITHUB_ORGS`] (5), [`GITLAB_GROUPS`] (6; `search=plat` matches
//! [`GITLAB_GROUPS_PLAT`]), [`BITBUCKET_WORKSPACES`] (6), [`AZURE_ORGS`] (5; also the Server's
//! project collections). BOB belongs to `bob-labs` (Bitbucket: `bob`).
//!
//! # Failures
//!
//! [`FakeScm::fail_next`] makes the next requests whose path (and query) contains a fragment
//! answer a status first, with the provider's error body (a 429 carries `Retry-After: 1`, and on
//! GitHub `x-ratelimit-remaining: 0`; on GitHub an injected 403 is the primary rate limit's
//! `API rate limit exceeded` — CAROL gives a plain 403); [`FakeScm::delay_next`] delays them; any path with a segment `slow` (e.g.
//! `/github/repos/gitpod-io/slow`) sleeps [`SLOW_DELAY`] first and then answers 404.
//! [`FakeScm::hits`] counts the requests that arrived, failed ones included.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use percent_encoding::percent_decode_str;
use runner_core::scm::provider::ScmKind;
use serde_json::{Value, json};

mod azure;
mod bitbucket;
mod github;
mod gitlab;
mod oauth;
mod world;

pub use oauth::{OAUTH_CLIENT_ID, OAUTH_CLIENT_SECRET};

// --- users and tokens ------------------------------------------------------------------------

/// Sees everything.
pub const ALICE: &str = "alice";
/// Valid, but does not see the private repository (404).
pub const BOB: &str = "bob";
/// Valid, but forbidden (403) on the private repository.
pub const CAROL: &str = "carol";

pub const GITHUB_ALICE: &str = "ghp_W56eCuNGMGmSrCGIZEG8pSH4487q7J58m1Ci";
pub const GITHUB_BOB: &str = "ghp_AhzCueQpBenQtYh5Xj8TPQxjq4i9DoV8gz4F";
pub const GITHUB_CAROL: &str = "ghp_kQ1okTBGzvAmwufUxbvJDCTbyvHNsG9eh6Yo";
pub const GITLAB_ALICE: &str = "glpat-nkHIfxIq2HZt_PlJhx2j";
pub const GITLAB_BOB: &str = "glpat-IclHkCiHp6bR1IqfEouH";
pub const GITLAB_CAROL: &str = "glpat-gxzNNAL5wIScGebcy8F5";
pub const BITBUCKET_ALICE: &str =
    "ATCTT3xFfGN0n3_YNBDRzrZSgqbjG3uhkWKFLf6xuI5aHUQPFeNBTxaQWk8JzFalHlsZfYcMMDkt=CAF4941D";
pub const BITBUCKET_BOB: &str = "ATCTT3xFfGN0rcDkdfrUnW5gcF-Ha6ili8GjHEAD6_Wj9KfzjsQGMrb9h-ImB-LK777pzNk8cL6j=E8C66224";
pub const BITBUCKET_CAROL: &str =
    "ATCTT3xFfGN0HUqJoUD_-Ydua-5ZMs1SWOpQaPRYpzbLGViYXjU2JgJngKtFI3OyV2dZAkg05rK-=145FDA99";
/// Azure DevOps personal access tokens (52 characters), sent as `Basic base64(":" + pat)`.
pub const AZURE_ALICE: &str = "qqzpt6zhkken7o4v43impflvfupxqmb2y2nyrvd7rxinfrpyz43t";
pub const AZURE_BOB: &str = "bic367aez54pgojjg5fcaioctiq3hgetmyqoaat5rup6ppb2tdbm";
pub const AZURE_CAROL: &str = "72fqo3xo7cv2xzmasen7mtmo5oqsg7lo72djzdnbj2ddlz4uhfkv";
/// An Entra ID access token of ALICE's (a JWT), sent as `Bearer`.
pub const AZURE_ALICE_OAUTH: &str = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiIsIng1dCI6ImZha2UifQ.eyJhdWQiOiI0OTliODRhYy0xMzIxLTQyN2YtYWExNy0yNjdjYTY5NzU3OTgiLCJ1bmlxdWVfbmFtZSI6ImFsaWNlQGV4YW1wbGUuY29tIn0.ZmFrZS1zaWduYXR1cmU";

// --- repositories ----------------------------------------------------------------------------

pub const GITHUB_OWNER: &str = "gitpod-io";
pub const GITHUB_REPO: &str = "gitpod";
/// ALICE owns the forks on GitHub, GitLab and Bitbucket.
pub const GITHUB_FORK_OWNER: &str = "alice";
/// The public project's namespace (nested groups).
pub const GITLAB_GROUP: &str = "gitpod-io/platform/backend";
pub const GITLAB_PROJECT: &str = "api";
pub const BITBUCKET_WORKSPACE: &str = "gitpod";
pub const BITBUCKET_REPO: &str = "gitpod";
pub const AZURE_ORG: &str = "gitpod";
pub const AZURE_PROJECT: &str = "platform";
pub const AZURE_REPO: &str = "api";
/// The project holding ALICE's fork (`gitpod/sandbox`, repository `api`).
pub const AZURE_FORK_PROJECT: &str = "sandbox";
/// The project holding the seven search targets.
pub const AZURE_SEARCH_PROJECT: &str = "tools";
/// The private repository's owner on GitHub, GitLab and Bitbucket.
pub const PRIVATE_OWNER: &str = "acme";
pub const PRIVATE_REPO: &str = "secret";
/// The private project on Azure DevOps (`gitpod/internal`, repository `secret`).
pub const AZURE_PRIVATE_PROJECT: &str = "internal";

pub const INITIAL_SHA: &str = "a4c123b1612dd272d1371c17149d439536b3216f";
pub const RELEASE_2024_SHA: &str = "daeeb975729fae923d5a4fd12aabfe228f219e9c";
/// The head of `main`.
pub const MAIN_SHA: &str = "b0eb53f16947ccf25ec84d8dbc74254770f58904";
pub const FEATURE_LOGIN_SHA: &str = "dba41ecccc3fc1626e53a13043b026c48bbf33fe";
pub const FEATURE_OAUTH_SHA: &str = "ff9243a8f506b40928b5b7a767c76fb008f86beb";
/// The head of the fork's `fix/readme` (PR #1).
pub const FORK_SHA: &str = "b2737f6a6f0fb23c6f5da2cec255404e4fb44003";
/// The tag object of the annotated tag `releases/2024.1`.
pub const TAG_OBJECT_SHA: &str = "4d6608697a8d41bed440e50454f31af3176813e0";

pub const BRANCHES: [&str; 4] = ["main", "feature/login", "feature/login/oauth", "release-1.0"];
pub const TAGS: [&str; 2] = ["v1.0.0", "releases/2024.1"];
pub const FORK_BRANCH: &str = "fix/readme";
pub const ISSUE_NUMBER: u64 = 7;
pub const ISSUE_TITLE: &str = "Login fails with SSO enabled";

// --- search ----------------------------------------------------------------------------------

pub const SEARCH_KEYWORD: &str = "api";
/// ALICE's repositories that a search for `api` finds (owner `alice`; Azure: project `tools`).
pub const SEARCH_REPOS: [&str; 7] =
    ["api-client", "api-docs", "api-gateway", "api-mock", "graphql-api", "openapi-tools", "rest-api-demo"];
pub const GITHUB_API_MATCHES: [&str; 7] = [
    "alice/api-client",
    "alice/api-docs",
    "alice/api-gateway",
    "alice/api-mock",
    "alice/graphql-api",
    "alice/openapi-tools",
    "alice/rest-api-demo",
];
/// GitHub `/user/repos` for ALICE, most recently updated first.
pub const GITHUB_ALICE_REPOS: [&str; 10] = [
    "gitpod-io/gitpod",
    "alice/gitpod",
    "acme/secret",
    "alice/api-client",
    "alice/api-docs",
    "alice/api-gateway",
    "alice/api-mock",
    "alice/graphql-api",
    "alice/openapi-tools",
    "alice/rest-api-demo",
];
pub const GITLAB_API_MATCHES: [&str; 9] = [
    "gitpod-io/platform/backend/api",
    "alice/api",
    "alice/api-client",
    "alice/api-docs",
    "alice/api-gateway",
    "alice/api-mock",
    "alice/graphql-api",
    "alice/openapi-tools",
    "alice/rest-api-demo",
];
pub const BITBUCKET_API_MATCHES: [&str; 7] = GITHUB_API_MATCHES;
/// `project/name`, sorted by name (then project).
pub const AZURE_API_MATCHES: [&str; 9] = [
    "platform/api",
    "sandbox/api",
    "tools/api-client",
    "tools/api-docs",
    "tools/api-gateway",
    "tools/api-mock",
    "tools/graphql-api",
    "tools/openapi-tools",
    "tools/rest-api-demo",
];

// --- organizations ---------------------------------------------------------------------------

pub const GITHUB_ORGS: [&str; 5] = ["gitpod-io", "acme", "platform-team", "platform-infra", "docs-guild"];
pub const GITLAB_GROUPS: [&str; 6] =
    ["gitpod-io", "gitpod-io/platform", "gitpod-io/platform/backend", "acme", "platform-team", "docs-guild"];
/// The groups `search=plat` finds.
pub const GITLAB_GROUPS_PLAT: [&str; 3] = ["gitpod-io/platform", "gitpod-io/platform/backend", "platform-team"];
pub const BITBUCKET_WORKSPACES: [&str; 6] =
    ["alice", "gitpod", "acme", "platform-team", "platform-infra", "docs-guild"];
pub const AZURE_ORGS: [&str; 5] = ["gitpod", "acme", "platform-team", "platform-infra", "docs-guild"];

/// How long requests to a path with a `slow` segment sleep.
pub const SLOW_DELAY: Duration = Duration::from_secs(5);

// --- the server ------------------------------------------------------------------------------

/// The running fake providers. Dropping it stops the server.
pub struct FakeScm {
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

struct Shared {
    addr: SocketAddr,
    control: Mutex<Control>,
}

#[derive(Default)]
struct Control {
    /// Every request's path and query, raw and percent-decoded.
    seen: Vec<(String, String)>,
    /// (fragment, remaining, status)
    failures: Vec<(String, usize, u16)>,
    /// (fragment, remaining, delay)
    delays: Vec<(String, usize, Duration)>,
    /// OAuth codes issued and not yet traded.
    codes: std::collections::HashMap<String, oauth::Grant>,
}

impl Shared {
    fn control(&self) -> std::sync::MutexGuard<'_, Control> {
        self.control.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl FakeScm {
    /// Starts the server, seeded with the standard fixtures.
    pub async fn start() -> FakeScm {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind the fake SCM server");
        let addr = listener.local_addr().expect("local address");
        let shared = Arc::new(Shared { addr, control: Mutex::new(Control::default()) });
        let app = Router::new().fallback(handle).with_state(shared.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakeScm { shared, task }
    }

    pub fn addr(&self) -> std::net::SocketAddr {
        self.shared.addr
    }

    /// The API base URL of a provider, e.g. `http://127.0.0.1:P/github`.
    pub fn api_url(&self, kind: ScmKind) -> String {
        let under_web = match kind {
            ScmKind::GitHub | ScmKind::AzureDevOps => "",
            ScmKind::GitLab => "/api/v4",
            ScmKind::Bitbucket => "/2.0",
        };
        format!("{}{under_web}", self.web_url(kind))
    }

    /// The web base URL of a provider, e.g. `http://127.0.0.1:P/gitlab`: for GitHub, GitLab and
    /// Bitbucket where its OAuth authorization page and token endpoint are ([`OAUTH_CLIENT_ID`]).
    pub fn web_url(&self, kind: ScmKind) -> String {
        let prefix = match kind {
            ScmKind::GitHub => "github",
            ScmKind::GitLab => "gitlab",
            ScmKind::Bitbucket => "bitbucket",
            ScmKind::AzureDevOps => "azure",
        };
        format!("http://{}/{prefix}", self.shared.addr)
    }

    /// The next `n` requests whose path contains `path_fragment` answer `status` (e.g. 503)
    /// before reaching the handler. The path is matched raw and percent-decoded, query included.
    pub fn fail_next(&self, path_fragment: &str, n: usize, status: u16) {
        self.control().failures.push((path_fragment.to_owned(), n, status));
    }

    /// The next `n` requests whose path contains `path_fragment` wait `delay` first.
    pub fn delay_next(&self, path_fragment: &str, n: usize, delay: Duration) {
        self.control().delays.push((path_fragment.to_owned(), n, delay));
    }

    /// How many requests reached the server with a path containing the fragment (for retry
    /// tests); injected failures count.
    pub fn hits(&self, path_fragment: &str) -> usize {
        self.control()
            .seen
            .iter()
            .filter(|(raw, decoded)| raw.contains(path_fragment) || decoded.contains(path_fragment))
            .count()
    }

    fn control(&self) -> std::sync::MutexGuard<'_, Control> {
        self.shared.control()
    }
}

impl Drop for FakeScm {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl std::fmt::Debug for FakeScm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeScm").field("addr", &self.shared.addr).finish()
    }
}

/// Takes one use of the first injection whose fragment the path contains.
fn take<T: Copy>(list: &mut Vec<(String, usize, T)>, raw: &str, decoded: &str) -> Option<T> {
    let i = list.iter().position(|(f, n, _)| *n > 0 && (raw.contains(f.as_str()) || decoded.contains(f.as_str())))?;
    list[i].1 -= 1;
    let value = list[i].2;
    if list[i].1 == 0 {
        list.remove(i);
    }
    Some(value)
}

async fn handle(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let raw = request.uri().path_and_query().map(|p| p.as_str().to_owned()).unwrap_or_else(|| "/".into());
    let decoded = percent_decode_str(&raw).decode_utf8_lossy().into_owned();
    let (failure, delay) = {
        let mut c = shared.control();
        c.seen.push((raw.clone(), decoded.clone()));
        let failure = take(&mut c.failures, &raw, &decoded);
        let delay = take(&mut c.delays, &raw, &decoded);
        (failure, delay)
    };
    if let Some(delay) = delay {
        tokio::time::sleep(delay).await;
    }
    let decoded_path = decoded.split('?').next().unwrap_or_default();
    if decoded_path.split('/').any(|s| s == "slow") {
        tokio::time::sleep(SLOW_DELAY).await;
    }
    let req = Req::new(&shared, &request);
    let provider = req.segs.first().cloned().unwrap_or_default();
    if let Some(status) = failure {
        return injected(&provider, status).into_response();
    }
    let kind = match provider.as_str() {
        "github" => Some(ScmKind::GitHub),
        "gitlab" => Some(ScmKind::GitLab),
        "bitbucket" => Some(ScmKind::Bitbucket),
        _ => None,
    };
    let web = req.skip(1);
    if let Some((kind, route)) = kind.and_then(|k| Some((k, oauth::route(k, &web.segs())?))) {
        let post = request.method() == axum::http::Method::POST;
        let resp = match route {
            "authorize" if !post => oauth::authorize(kind, &web, &mut shared.control().codes),
            "token" if post => {
                let body = axum::body::to_bytes(request.into_body(), 64 * 1024).await.unwrap_or_default();
                let form: Vec<(String, String)> = url::form_urlencoded::parse(&body).into_owned().collect();
                oauth::token(kind, &web, &form, &mut shared.control().codes)
            }
            _ => Resp::json(405, json!({"message": "Method Not Allowed"})),
        };
        return resp.into_response();
    }
    if request.method() != axum::http::Method::GET {
        return Resp::json(405, json!({"message": "Method Not Allowed"})).into_response();
    }
    let resp = match provider.as_str() {
        "github" => github::handle(&req.skip(1)),
        "gitlab" if req.segs.get(1..3) == Some(&["api".to_owned(), "v4".to_owned()]) => gitlab::handle(&req.skip(3)),
        "bitbucket" if req.segs.get(1).is_some_and(|s| s == "2.0") => bitbucket::handle(&req.skip(2)),
        "azure" => azure::handle(&req.skip(1)),
        _ => Resp::json(404, json!({"message": "Not Found"})),
    };
    resp.into_response()
}

/// An injected failure, worded like the provider.
fn injected(provider: &str, status: u16) -> Resp {
    let reason = StatusCode::from_u16(status).ok().and_then(|s| s.canonical_reason()).unwrap_or("Error").to_owned();
    let mut resp = match provider {
        "github" if status == 429 || status == 403 => Resp::json(
            status,
            json!({
                "message": "API rate limit exceeded for user ID 1001. If you reach out to GitHub Support for help, please include the request ID.",
                "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api",
                "status": status.to_string(),
            }),
        ),
        "github" => Resp::json(status, json!({"message": reason, "status": status.to_string()})),
        "gitlab" => Resp::json(status, json!({"message": format!("{status} {reason}")})),
        "bitbucket" => Resp::json(status, json!({"type": "error", "error": {"message": reason}})),
        _ => Resp::json(
            status,
            json!({"$id": "1", "innerException": null, "message": reason, "typeKey": "VssServiceException", "errorCode": 0, "eventId": 3000}),
        ),
    };
    if status == 429 {
        resp = resp.header("retry-after", "1");
        if provider == "github" {
            resp = resp.header("x-ratelimit-remaining", "0").header("x-ratelimit-limit", "5000");
        }
    }
    resp
}

// --- request and response helpers -------------------------------------------------------------

/// A request as the provider modules see it.
pub(crate) struct Req {
    /// Percent-decoded path segments, after the provider's prefix once [`Req::skip`]ped.
    pub segs: Vec<String>,
    pub query: Vec<(String, String)>,
    pub headers: HeaderMap,
    /// `http://127.0.0.1:P`
    pub origin: String,
    /// The raw path, for pagination links.
    pub path: String,
}

impl Req {
    fn new(shared: &Shared, request: &Request) -> Self {
        let uri = request.uri();
        let segs = uri
            .path()
            .split('/')
            .filter(|s| !s.is_empty())
            .map(|s| percent_decode_str(s).decode_utf8_lossy().into_owned())
            .collect();
        let query = url::form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes()).into_owned().collect();
        Req {
            segs,
            query,
            headers: request.headers().clone(),
            origin: format!("http://{}", shared.addr),
            path: uri.path().to_owned(),
        }
    }

    fn skip(&self, n: usize) -> Req {
        Req {
            segs: self.segs.iter().skip(n).cloned().collect(),
            query: self.query.clone(),
            headers: self.headers.clone(),
            origin: self.origin.clone(),
            path: self.path.clone(),
        }
    }

    pub fn segs(&self) -> Vec<&str> {
        self.segs.iter().map(String::as_str).collect()
    }

    pub fn q(&self, name: &str) -> Option<&str> {
        self.query.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// A positive number parameter, or the default.
    pub fn number(&self, name: &str, default: usize, max: usize) -> usize {
        self.q(name).and_then(|v| v.parse::<usize>().ok()).filter(|n| *n >= 1).unwrap_or(default).min(max)
    }

    /// The `Authorization: Bearer` (or `token`) value.
    pub fn bearer(&self) -> Option<&str> {
        let value = self.headers.get("authorization")?.to_str().ok()?;
        value.strip_prefix("Bearer ").or_else(|| value.strip_prefix("token ")).map(str::trim)
    }

    /// This request's URL with the `page` parameter (named `param`) set to `page`.
    pub fn with_page(&self, param: &str, page: usize) -> String {
        let mut out = url::form_urlencoded::Serializer::new(String::new());
        let mut replaced = false;
        for (k, v) in &self.query {
            if k == param {
                if !replaced {
                    out.append_pair(k, &page.to_string());
                    replaced = true;
                }
            } else {
                out.append_pair(k, v);
            }
        }
        if !replaced {
            out.append_pair(param, &page.to_string());
        }
        format!("{}{}?{}", self.origin, self.path, out.finish())
    }

    /// A `Link` header for page `page` of `pages` (GitHub and GitLab style).
    pub fn link_header(&self, page: usize, pages: usize) -> Option<String> {
        let mut parts = Vec::new();
        if page > 1 {
            parts.push(format!("<{}>; rel=\"prev\"", self.with_page("page", page - 1)));
        }
        if page < pages {
            parts.push(format!("<{}>; rel=\"next\"", self.with_page("page", page + 1)));
        }
        if pages > 0 && page != pages {
            parts.push(format!("<{}>; rel=\"last\"", self.with_page("page", pages)));
        }
        if page > 1 {
            parts.push(format!("<{}>; rel=\"first\"", self.with_page("page", 1)));
        }
        (!parts.is_empty()).then(|| parts.join(", "))
    }
}

/// Page `page` (1-based) of `items`, and the number of pages.
pub(crate) fn paginate<T: Clone>(items: &[T], page: usize, per_page: usize) -> (Vec<T>, usize) {
    let pages = items.len().div_ceil(per_page.max(1));
    let start = (page.max(1) - 1).saturating_mul(per_page);
    (items.iter().skip(start).take(per_page).cloned().collect(), pages)
}

pub(crate) enum Body {
    Json(Value),
    Html(String),
}

/// An answer under construction.
pub(crate) struct Resp {
    status: u16,
    headers: Vec<(String, String)>,
    body: Body,
}

impl Resp {
    pub fn json(status: u16, body: Value) -> Self {
        Resp { status, headers: Vec::new(), body: Body::Json(body) }
    }

    pub fn ok(body: Value) -> Self {
        Self::json(200, body)
    }

    pub fn html(status: u16, body: String) -> Self {
        Resp { status, headers: Vec::new(), body: Body::Html(body) }
    }

    pub fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_owned(), value.into()));
        self
    }

    pub fn header_opt(self, name: &str, value: Option<String>) -> Self {
        match value {
            Some(v) => self.header(name, v),
            None => self,
        }
    }
}

impl IntoResponse for Resp {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = match self.body {
            Body::Json(v) => {
                let mut r = (status, serde_json::to_vec(&v).unwrap_or_default()).into_response();
                r.headers_mut().insert("content-type", HeaderValue::from_static("application/json; charset=utf-8"));
                r
            }
            Body::Html(s) => {
                let mut r = (status, s).into_response();
                r.headers_mut().insert("content-type", HeaderValue::from_static("text/html; charset=utf-8"));
                r
            }
        };
        for (name, value) in self.headers {
            if let (Ok(n), Ok(v)) = (HeaderName::try_from(name), HeaderValue::try_from(value)) {
                response.headers_mut().append(n, v);
            }
        }
        response
    }
}
