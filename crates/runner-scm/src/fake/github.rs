//! The fake GitHub REST API (`/github`).

use super::world::*;
use super::*;

const API: &str = "https://api.github.com";
const WEB: &str = "https://github.com";
const DOCS: &str = "https://docs.github.com/rest";

fn world() -> Vec<Repo> {
    repos(
        (GITHUB_OWNER, GITHUB_REPO),
        (GITHUB_FORK_OWNER, GITHUB_REPO),
        (PRIVATE_OWNER, PRIVATE_REPO),
        ALICE,
        (BOB, "dotfiles"),
        278_500_001,
    )
}

const ORGANIZATIONS_OF_BOB: [&str; 1] = ["bob-labs"];

pub(super) fn handle(req: &Req) -> Resp {
    let Some(me) = user_of(req.bearer(), [GITHUB_ALICE, GITHUB_BOB, GITHUB_CAROL]) else {
        return Resp::json(401, json!({"message": "Bad credentials", "documentation_url": DOCS, "status": "401"}));
    };
    let repos = world();
    let resp = match req.segs().as_slice() {
        ["user"] => Resp::ok(user_json(me)),
        ["user", "repos"] => user_repos(req, me, &repos),
        ["user", "orgs"] => user_orgs(req, me),
        ["search", "repositories"] => search(req, me, &repos),
        ["repos", owner, name, rest @ ..] => repo_route(me, &repos, owner, name, rest),
        _ => not_found("Not Found", DOCS),
    };
    resp.header("x-github-api-version-selected", "2022-11-28")
        .header("x-ratelimit-limit", "5000")
        .header("x-ratelimit-remaining", "4999")
        .header("x-ratelimit-reset", "1924992000")
        .header("x-ratelimit-used", "1")
        .header("x-ratelimit-resource", "core")
        .header("x-github-request-id", "C0DE:1F2E:3A4B5C:6D7E8F:65F0A1B2")
}

fn not_found(message: &str, docs: &str) -> Resp {
    Resp::json(404, json!({"message": message, "documentation_url": docs, "status": "404"}))
}

fn is_org(login: &str) -> bool {
    GITHUB_ORGS.contains(&login) || ORGANIZATIONS_OF_BOB.contains(&login)
}

fn account_id(login: &str) -> u64 {
    match USERS.iter().find(|u| u.login == login) {
        Some(u) => u.id,
        None => 60_000 + login.bytes().fold(0u64, |h, b| (h * 31 + u64::from(b)) % 10_000),
    }
}

fn account_json(login: &str) -> Value {
    let id = account_id(login);
    let org = is_org(login);
    json!({
        "login": login,
        "id": id,
        "node_id": node_id(if org { "Organization" } else { "User" }, id),
        "avatar_url": format!("https://avatars.githubusercontent.com/u/{id}?v=4"),
        "gravatar_id": "",
        "url": format!("{API}/users/{login}"),
        "html_url": format!("{WEB}/{login}"),
        "followers_url": format!("{API}/users/{login}/followers"),
        "following_url": format!("{API}/users/{login}/following{{/other_user}}"),
        "gists_url": format!("{API}/users/{login}/gists{{/gist_id}}"),
        "starred_url": format!("{API}/users/{login}/starred{{/owner}}{{/repo}}"),
        "subscriptions_url": format!("{API}/users/{login}/subscriptions"),
        "organizations_url": format!("{API}/users/{login}/orgs"),
        "repos_url": format!("{API}/users/{login}/repos"),
        "events_url": format!("{API}/users/{login}/events{{/privacy}}"),
        "received_events_url": format!("{API}/users/{login}/received_events"),
        "type": if org { "Organization" } else { "User" },
        "user_view_type": "public",
        "site_admin": false,
    })
}

fn user_json(me: &User) -> Value {
    let mut v = account_json(me.login);
    let extra = json!({
        "name": me.name,
        "company": "@gitpod-io",
        "blog": "",
        "location": "Wonderland",
        "email": me.email,
        "hireable": null,
        "bio": null,
        "twitter_username": null,
        "notification_email": me.email,
        "public_repos": 9,
        "public_gists": 0,
        "followers": 12,
        "following": 3,
        "created_at": "2015-04-01T10:00:00Z",
        "updated_at": "2024-03-01T10:00:00Z",
    });
    merge(&mut v, extra);
    v
}

fn merge(target: &mut Value, extra: Value) {
    if let (Some(t), Value::Object(e)) = (target.as_object_mut(), extra) {
        t.extend(e);
    }
}

/// A repository as GitHub shows it; `full` adds what only `GET /repos/{o}/{r}` has.
fn repo_json(repos: &[Repo], i: usize, viewer: &str, full: bool) -> Value {
    let r = &repos[i];
    let name = r.full_name();
    let api = format!("{API}/repos/{name}");
    let member = r.members.contains(&viewer);
    let mut v = json!({
        "id": r.id,
        "node_id": node_id("Repository", r.id),
        "name": r.name,
        "full_name": name,
        "private": r.private,
        "owner": account_json(&r.owner),
        "html_url": format!("{WEB}/{name}"),
        "description": r.description,
        "fork": r.fork_of.is_some(),
        "url": api,
        "forks_url": format!("{api}/forks"),
        "keys_url": format!("{api}/keys{{/key_id}}"),
        "collaborators_url": format!("{api}/collaborators{{/collaborator}}"),
        "teams_url": format!("{api}/teams"),
        "hooks_url": format!("{api}/hooks"),
        "issue_events_url": format!("{api}/issues/events{{/number}}"),
        "events_url": format!("{api}/events"),
        "assignees_url": format!("{api}/assignees{{/user}}"),
        "branches_url": format!("{api}/branches{{/branch}}"),
        "tags_url": format!("{api}/tags"),
        "blobs_url": format!("{api}/git/blobs{{/sha}}"),
        "git_tags_url": format!("{api}/git/tags{{/sha}}"),
        "git_refs_url": format!("{api}/git/refs{{/sha}}"),
        "trees_url": format!("{api}/git/trees{{/sha}}"),
        "statuses_url": format!("{api}/statuses/{{sha}}"),
        "languages_url": format!("{api}/languages"),
        "stargazers_url": format!("{api}/stargazers"),
        "contributors_url": format!("{api}/contributors"),
        "subscribers_url": format!("{api}/subscribers"),
        "subscription_url": format!("{api}/subscription"),
        "commits_url": format!("{api}/commits{{/sha}}"),
        "git_commits_url": format!("{api}/git/commits{{/sha}}"),
        "comments_url": format!("{api}/comments{{/number}}"),
        "issue_comment_url": format!("{api}/issues/comments{{/number}}"),
        "contents_url": format!("{api}/contents/{{+path}}"),
        "compare_url": format!("{api}/compare/{{base}}...{{head}}"),
        "merges_url": format!("{api}/merges"),
        "archive_url": format!("{api}/{{archive_format}}{{/ref}}"),
        "downloads_url": format!("{api}/downloads"),
        "issues_url": format!("{api}/issues{{/number}}"),
        "pulls_url": format!("{api}/pulls{{/number}}"),
        "milestones_url": format!("{api}/milestones{{/number}}"),
        "notifications_url": format!("{api}/notifications{{?since,all,participating}}"),
        "labels_url": format!("{api}/labels{{/name}}"),
        "releases_url": format!("{api}/releases{{/id}}"),
        "deployments_url": format!("{api}/deployments"),
        "created_at": "2020-08-01T09:00:00Z",
        "updated_at": r.updated_at,
        "pushed_at": r.updated_at,
        "git_url": format!("git://github.com/{name}.git"),
        "ssh_url": format!("git@github.com:{name}.git"),
        "clone_url": format!("{WEB}/{name}.git"),
        "svn_url": format!("{WEB}/{name}"),
        "homepage": null,
        "size": 10240,
        "stargazers_count": 42,
        "watchers_count": 42,
        "language": r.language,
        "has_issues": true,
        "has_projects": true,
        "has_downloads": true,
        "has_wiki": false,
        "has_pages": false,
        "has_discussions": false,
        "forks_count": if r.main { 1 } else { 0 },
        "mirror_url": null,
        "archived": false,
        "disabled": false,
        "open_issues_count": if r.main { 4 } else { 0 },
        "license": {
            "key": "agpl-3.0",
            "name": "GNU Affero General Public License v3.0",
            "spdx_id": "AGPL-3.0",
            "url": "https://api.github.com/licenses/agpl-3.0",
            "node_id": "MDc6TGljZW5zZTE="
        },
        "allow_forking": true,
        "is_template": false,
        "web_commit_signoff_required": false,
        "topics": ["developer-tools", "cloud-development-environment"],
        "visibility": if r.private { "private" } else { "public" },
        "forks": if r.main { 1 } else { 0 },
        "open_issues": if r.main { 4 } else { 0 },
        "watchers": 42,
        "default_branch": "main",
        "permissions": {"admin": member, "maintain": member, "push": member, "triage": member, "pull": true},
    });
    if full {
        merge(
            &mut v,
            json!({
                "temp_clone_token": "",
                "allow_squash_merge": true,
                "allow_merge_commit": true,
                "allow_rebase_merge": true,
                "allow_auto_merge": false,
                "delete_branch_on_merge": true,
                "allow_update_branch": false,
                "use_squash_pr_title_as_default": false,
                "squash_merge_commit_message": "COMMIT_MESSAGES",
                "squash_merge_commit_title": "COMMIT_OR_PR_TITLE",
                "merge_commit_message": "PR_TITLE",
                "merge_commit_title": "MERGE_MESSAGE",
                "network_count": 1,
                "subscribers_count": 7,
            }),
        );
        if is_org(&r.owner) {
            merge(&mut v, json!({"organization": account_json(&r.owner)}));
        }
        if let Some(parent) = r.fork_of {
            let p = repo_json(repos, parent, viewer, false);
            merge(&mut v, json!({"parent": p.clone(), "source": p}));
        }
    }
    v
}

fn commit_json(repo: &str, c: &Commit) -> Value {
    let author = user(c.author);
    let api = format!("{API}/repos/{repo}");
    let tree: String = c.sha.chars().rev().collect();
    json!({
        "sha": c.sha,
        "node_id": node_id("Commit", u64::from_str_radix(&c.sha[..8], 16).unwrap_or(0)),
        "commit": {
            "author": {"name": author.name, "email": author.email, "date": c.date},
            "committer": {"name": "GitHub", "email": "noreply@github.com", "date": c.date},
            "message": c.message,
            "tree": {"sha": tree, "url": format!("{api}/git/trees/{tree}")},
            "url": format!("{api}/git/commits/{}", c.sha),
            "comment_count": 0,
            "verification": {"verified": false, "reason": "unsigned", "signature": null, "payload": null, "verified_at": null}
        },
        "url": format!("{api}/commits/{}", c.sha),
        "html_url": format!("{WEB}/{repo}/commit/{}", c.sha),
        "comments_url": format!("{api}/commits/{}/comments", c.sha),
        "author": account_json(author.login),
        "committer": account_json("web-flow"),
        "parents": c.parent.map(|p| vec![json!({
            "sha": p,
            "url": format!("{api}/commits/{p}"),
            "html_url": format!("{WEB}/{repo}/commit/{p}")
        })]).unwrap_or_default(),
    })
}

fn repo_route(me: &User, repos: &[Repo], owner: &str, name: &str, rest: &[&str]) -> Resp {
    let Some(i) = repos.iter().position(|r| r.is(owner, name)) else {
        return not_found("Not Found", "https://docs.github.com/rest/repos/repos#get-a-repository");
    };
    let repo = &repos[i];
    match repo.access(me.login) {
        Access::Hidden => return not_found("Not Found", "https://docs.github.com/rest/repos/repos#get-a-repository"),
        Access::Forbidden => {
            return Resp::json(
                403,
                json!({
                    "message": "Resource protected by organization SAML enforcement. You must grant your Personal Access token access to this organization.",
                    "documentation_url": "https://docs.github.com/articles/authenticating-to-a-github-organization-with-saml-single-sign-on/",
                    "status": "403"
                }),
            );
        }
        Access::Visible => {}
    }
    let full = repo.full_name();
    let api = format!("{API}/repos/{full}");
    match rest {
        [] => Resp::ok(repo_json(repos, i, me.login, true)),
        ["branches", b @ ..] if !b.is_empty() => {
            let branch = b.join("/");
            match repo.branch(&branch).and_then(commit) {
                Some(c) => Resp::ok(json!({
                    "name": branch,
                    "commit": commit_json(&full, c),
                    "_links": {
                        "self": format!("{api}/branches/{branch}"),
                        "html": format!("{WEB}/{full}/tree/{branch}")
                    },
                    "protected": branch == "main",
                    "protection": {"enabled": branch == "main", "required_status_checks": {"enforcement_level": "off", "contexts": [], "checks": []}},
                    "protection_url": format!("{api}/branches/{branch}/protection"),
                })),
                None => not_found("Branch not found", "https://docs.github.com/rest/branches/branches#get-a-branch"),
            }
        }
        ["git", "ref", "tags", t @ ..] if !t.is_empty() => {
            let name = t.join("/");
            match tag(&name) {
                Some((_, sha, object)) => {
                    let (sha, kind) = match object {
                        Some(o) => (o, "tag"),
                        None => (sha, "commit"),
                    };
                    Resp::ok(json!({
                        "ref": format!("refs/tags/{name}"),
                        "node_id": node_id("Ref", 7),
                        "url": format!("{api}/git/refs/tags/{name}"),
                        "object": {"sha": sha, "type": kind, "url": format!("{api}/git/{kind}s/{sha}")}
                    }))
                }
                None => not_found("Not Found", "https://docs.github.com/rest/git/refs#get-a-reference"),
            }
        }
        ["git", "tags", sha] if *sha == TAG_OBJECT_SHA => Resp::ok(json!({
            "node_id": node_id("Tag", 1),
            "sha": TAG_OBJECT_SHA,
            "url": format!("{api}/git/tags/{TAG_OBJECT_SHA}"),
            "tag": "releases/2024.1",
            "message": "Release 2024.1\n",
            "tagger": {"name": "Bob Builder", "email": "bob@example.com", "date": "2024-01-15T17:00:00Z"},
            "object": {"type": "commit", "sha": RELEASE_2024_SHA, "url": format!("{api}/git/commits/{RELEASE_2024_SHA}")},
            "verification": {"verified": false, "reason": "unsigned", "signature": null, "payload": null, "verified_at": null}
        })),
        ["commits", sha] => match commit(sha) {
            Some(c) => {
                let mut v = commit_json(&full, c);
                merge(&mut v, json!({"stats": {"total": 12, "additions": 10, "deletions": 2}, "files": []}));
                Resp::ok(v)
            }
            None => Resp::json(
                422,
                json!({
                    "message": format!("No commit found for SHA: {sha}"),
                    "documentation_url": "https://docs.github.com/rest/commits/commits#get-a-commit",
                    "status": "422"
                }),
            ),
        },
        ["pulls", n] => match pr(n).filter(|_| repo.main) {
            Some(p) => Resp::ok(pull_json(repos, i, p, me.login)),
            None => not_found("Not Found", "https://docs.github.com/rest/pulls/pulls#get-a-pull-request"),
        },
        ["issues", n] if repo.main => {
            if let Some(p) = pr(n) {
                let state = if p.state == PrState::Open { "open" } else { "closed" };
                let mut v = issue_json(&full, p.number, p.title, p.author, state);
                let merged_at = (p.state == PrState::Merged).then_some(p.updated);
                merge(
                    &mut v,
                    json!({"draft": p.draft, "pull_request": {
                        "url": format!("{api}/pulls/{}", p.number),
                        "html_url": format!("{WEB}/{full}/pull/{}", p.number),
                        "diff_url": format!("{WEB}/{full}/pull/{}.diff", p.number),
                        "patch_url": format!("{WEB}/{full}/pull/{}.patch", p.number),
                        "merged_at": merged_at
                    }}),
                );
                Resp::ok(v)
            } else if n.parse::<u64>().ok() == Some(ISSUE.0) {
                Resp::ok(issue_json(&full, ISSUE.0, ISSUE.1, ISSUE.2, "open"))
            } else {
                not_found("Not Found", "https://docs.github.com/rest/issues/issues#get-an-issue")
            }
        }
        _ => not_found("Not Found", DOCS),
    }
}

fn issue_json(repo: &str, number: u64, title: &str, author: &str, state: &str) -> Value {
    let api = format!("{API}/repos/{repo}");
    json!({
        "url": format!("{api}/issues/{number}"),
        "repository_url": api,
        "labels_url": format!("{api}/issues/{number}/labels{{/name}}"),
        "comments_url": format!("{api}/issues/{number}/comments"),
        "events_url": format!("{api}/issues/{number}/events"),
        "html_url": format!("{WEB}/{repo}/issues/{number}"),
        "id": 2_100_000_000u64 + number,
        "node_id": node_id("Issue", number),
        "number": number,
        "title": title,
        "user": account_json(author),
        "labels": [{"id": 1, "node_id": node_id("Label", 1), "url": format!("{api}/labels/bug"), "name": "bug", "color": "d73a4a", "default": true, "description": "Something isn't working"}],
        "state": state,
        "locked": false,
        "assignee": null,
        "assignees": [],
        "milestone": null,
        "comments": 2,
        "created_at": "2024-03-03T08:00:00Z",
        "updated_at": "2024-03-05T08:00:00Z",
        "closed_at": null,
        "author_association": "MEMBER",
        "active_lock_reason": null,
        "body": "Steps to reproduce: …",
        "closed_by": null,
        "reactions": {"url": format!("{api}/issues/{number}/reactions"), "total_count": 0, "+1": 0, "-1": 0},
        "timeline_url": format!("{api}/issues/{number}/timeline"),
        "performed_via_github_app": null,
        "state_reason": null,
    })
}

fn pull_json(repos: &[Repo], i: usize, p: &Pr, viewer: &str) -> Value {
    let repo = &repos[i];
    let full = repo.full_name();
    let api = format!("{API}/repos/{full}");
    let n = p.number;
    let head_index = if p.from_fork { repos.iter().position(|r| r.fork_of == Some(i)).unwrap_or(i) } else { i };
    let head_repo = &repos[head_index];
    let (state, merged, merged_at, closed_at) = match p.state {
        PrState::Open => ("open", false, None, None),
        PrState::Merged => ("closed", true, Some(p.updated), Some(p.updated)),
        PrState::Closed => ("closed", false, None, Some(p.updated)),
    };
    json!({
        "url": format!("{api}/pulls/{n}"),
        "id": 1_700_000_000u64 + n,
        "node_id": node_id("PullRequest", n),
        "html_url": format!("{WEB}/{full}/pull/{n}"),
        "diff_url": format!("{WEB}/{full}/pull/{n}.diff"),
        "patch_url": format!("{WEB}/{full}/pull/{n}.patch"),
        "issue_url": format!("{api}/issues/{n}"),
        "commits_url": format!("{api}/pulls/{n}/commits"),
        "review_comments_url": format!("{api}/pulls/{n}/comments"),
        "review_comment_url": format!("{api}/pulls/comments{{/number}}"),
        "comments_url": format!("{api}/issues/{n}/comments"),
        "statuses_url": format!("{api}/statuses/{}", p.head),
        "number": n,
        "state": state,
        "locked": false,
        "title": p.title,
        "user": account_json(p.author),
        "body": "Please review.",
        "labels": [],
        "milestone": null,
        "active_lock_reason": null,
        "created_at": p.created,
        "updated_at": p.updated,
        "closed_at": closed_at,
        "merged_at": merged_at,
        "merge_commit_sha": if merged { MAIN_SHA } else { "e5bd3914e2e596debea16f433f57875b5b90bcd6" },
        "assignee": null,
        "assignees": [],
        "requested_reviewers": [],
        "requested_teams": [],
        "head": {
            "label": format!("{}:{}", head_repo.owner, p.from_branch),
            "ref": p.from_branch,
            "sha": p.head,
            "user": account_json(&head_repo.owner),
            "repo": repo_json(repos, head_index, viewer, false)
        },
        "base": {
            "label": format!("{}:main", repo.owner),
            "ref": "main",
            "sha": MAIN_SHA,
            "user": account_json(&repo.owner),
            "repo": repo_json(repos, i, viewer, false)
        },
        "_links": {
            "self": {"href": format!("{api}/pulls/{n}")},
            "html": {"href": format!("{WEB}/{full}/pull/{n}")},
            "issue": {"href": format!("{api}/issues/{n}")},
            "comments": {"href": format!("{api}/issues/{n}/comments")},
            "review_comments": {"href": format!("{api}/pulls/{n}/comments")},
            "review_comment": {"href": format!("{api}/pulls/comments{{/number}}")},
            "commits": {"href": format!("{api}/pulls/{n}/commits")},
            "statuses": {"href": format!("{api}/statuses/{}", p.head)}
        },
        "author_association": if p.from_fork { "CONTRIBUTOR" } else { "MEMBER" },
        "auto_merge": null,
        "draft": p.draft,
        "merged": merged,
        "mergeable": if p.state == PrState::Open { json!(true) } else { Value::Null },
        "rebaseable": if p.state == PrState::Open { json!(true) } else { Value::Null },
        "mergeable_state": if p.state == PrState::Open { if p.draft { "draft" } else { "clean" } } else { "unknown" },
        "merged_by": if merged { account_json(ALICE) } else { Value::Null },
        "comments": 1,
        "review_comments": 0,
        "maintainer_can_modify": p.from_fork,
        "commits": 1,
        "additions": 10,
        "deletions": 2,
        "changed_files": 1,
    })
}

fn user_repos(req: &Req, me: &User, repos: &[Repo]) -> Resp {
    let mut mine: Vec<usize> = (0..repos.len()).filter(|i| repos[*i].members.contains(&me.login)).collect();
    if req.q("sort") != Some("updated") && req.q("sort") != Some("pushed") {
        mine.sort_by_key(|i| repos[*i].full_name().to_lowercase());
    }
    let (page, per_page) = (req.number("page", 1, usize::MAX), req.number("per_page", 30, 100));
    let (items, pages) = paginate(&mine, page, per_page);
    let body: Vec<Value> = items.iter().map(|i| repo_json(repos, *i, me.login, false)).collect();
    Resp::ok(Value::Array(body)).header_opt("link", req.link_header(page, pages))
}

fn user_orgs(req: &Req, me: &User) -> Resp {
    let orgs = orgs_of(me.login, &GITHUB_ORGS, &ORGANIZATIONS_OF_BOB);
    let (page, per_page) = (req.number("page", 1, usize::MAX), req.number("per_page", 30, 100));
    let all: Vec<Value> = orgs
        .iter()
        .map(|o| {
            let login = o.slug;
            let id = account_id(login);
            json!({
                "login": login,
                "id": id,
                "node_id": node_id("Organization", id),
                "url": format!("{API}/orgs/{login}"),
                "repos_url": format!("{API}/orgs/{login}/repos"),
                "events_url": format!("{API}/orgs/{login}/events"),
                "hooks_url": format!("{API}/orgs/{login}/hooks"),
                "issues_url": format!("{API}/orgs/{login}/issues"),
                "members_url": format!("{API}/orgs/{login}/members{{/member}}"),
                "public_members_url": format!("{API}/orgs/{login}/public_members{{/member}}"),
                "avatar_url": format!("https://avatars.githubusercontent.com/u/{id}?v=4"),
                "description": format!("The {} organization", o.name),
            })
        })
        .collect();
    let (items, pages) = paginate(&all, page, per_page);
    Resp::ok(Value::Array(items)).header_opt("link", req.link_header(page, pages))
}

fn validation_failed(errors: Value) -> Resp {
    Resp::json(
        422,
        json!({
            "message": "Validation Failed",
            "errors": errors,
            "documentation_url": "https://docs.github.com/v3/search/",
            "status": "422"
        }),
    )
}

/// A search query: free-text terms and qualifiers.
#[derive(Default)]
struct Criteria {
    terms: Vec<String>,
    fields: Option<Vec<String>>,
    owners: Vec<String>,
    repos: Vec<String>,
    visibility: Option<bool>,
    forks: Option<String>,
    language: Option<String>,
    archived: Option<bool>,
}

fn parse_query(q: &str) -> Result<Criteria, Resp> {
    let mut c = Criteria::default();
    for token in q.split_whitespace() {
        match token.split_once(':') {
            Some((key, value)) if !key.is_empty() => match key.to_ascii_lowercase().as_str() {
                "in" => c.fields = Some(value.split(',').map(|f| f.to_ascii_lowercase()).collect()),
                "user" | "org" | "owner" => c.owners.push(value.to_ascii_lowercase()),
                "repo" => c.repos.push(value.to_ascii_lowercase()),
                "is" => match value {
                    "public" => c.visibility = Some(false),
                    "private" => c.visibility = Some(true),
                    _ => {}
                },
                "fork" => c.forks = Some(value.to_ascii_lowercase()),
                "language" => c.language = Some(value.to_ascii_lowercase()),
                "archived" => c.archived = Some(value == "true"),
                "stars" | "forks" | "size" | "pushed" | "created" | "topic" | "license" | "sort" => {}
                other => {
                    return Err(validation_failed(json!([{
                        "message": format!("\"{other}\" is not a recognized search qualifier: the listed users cannot be searched either because the resources do not exist or you do not have permission to view them."),
                        "resource": "Search",
                        "field": "q",
                        "code": "invalid"
                    }])));
                }
            },
            _ if matches!(token, "AND" | "OR" | "NOT") => {}
            _ => c.terms.push(token.trim_matches('"').to_lowercase()),
        }
    }
    Ok(c)
}

impl Criteria {
    fn matches(&self, r: &Repo) -> bool {
        let fields = self.fields.clone().unwrap_or_else(|| vec!["name".into(), "description".into()]);
        let haystacks: Vec<String> = fields
            .iter()
            .filter_map(|f| match f.as_str() {
                "name" => Some(r.name.to_lowercase()),
                "description" => Some(r.description.to_lowercase()),
                _ => None,
            })
            .collect();
        self.terms.iter().all(|t| haystacks.iter().any(|h| h.contains(t.as_str())))
            && (self.owners.is_empty() || self.owners.contains(&r.owner.to_ascii_lowercase()))
            && (self.repos.is_empty() || self.repos.contains(&r.full_name().to_ascii_lowercase()))
            && self.visibility.is_none_or(|p| p == r.private)
            && match self.forks.as_deref() {
                Some("true") => true,
                Some("only") => r.fork_of.is_some(),
                _ => r.fork_of.is_none(),
            }
            && self.language.as_deref().is_none_or(|l| l == r.language.to_ascii_lowercase())
            && self.archived != Some(true)
    }
}

fn search(req: &Req, me: &User, repos: &[Repo]) -> Resp {
    let q = req.q("q").unwrap_or_default().trim();
    if q.is_empty() {
        return validation_failed(json!([{"resource": "Search", "field": "q", "code": "missing"}]));
    }
    let criteria = match parse_query(q) {
        Ok(c) => c,
        Err(resp) => return resp,
    };
    let (page, per_page) = (req.number("page", 1, usize::MAX), req.number("per_page", 30, 100));
    if (page - 1).saturating_mul(per_page) >= 1000 {
        return validation_failed(
            json!([{"message": "Only the first 1000 search results are available", "resource": "Search", "code": "invalid"}]),
        );
    }
    let found: Vec<usize> = (0..repos.len())
        .filter(|i| repos[*i].access(me.login) == Access::Visible && criteria.matches(&repos[*i]))
        .collect();
    let (items, pages) = paginate(&found, page, per_page);
    let items: Vec<Value> = items
        .iter()
        .map(|i| {
            let mut v = repo_json(repos, *i, me.login, false);
            merge(&mut v, json!({"score": 1.0}));
            v
        })
        .collect();
    Resp::ok(json!({"total_count": found.len(), "incomplete_results": false, "items": items}))
        .header_opt("link", req.link_header(page, pages))
}
