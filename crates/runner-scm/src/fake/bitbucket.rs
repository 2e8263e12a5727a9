//! The fake Bitbucket Cloud REST API 2.0 (`/bitbucket/2.0`).

use super::world::*;
use super::*;

const API: &str = "https://api.bitbucket.org/2.0";
const WEB: &str = "https://bitbucket.org";

fn world() -> Vec<Repo> {
    repos(
        (BITBUCKET_WORKSPACE, BITBUCKET_REPO),
        (ALICE, BITBUCKET_REPO),
        (PRIVATE_OWNER, PRIVATE_REPO),
        ALICE,
        (BOB, "dotfiles"),
        301,
    )
}

const WORKSPACES_OF_BOB: [&str; 1] = ["bob"];

fn error(status: u16, message: &str) -> Resp {
    Resp::json(status, json!({"type": "error", "error": {"message": message}}))
}

pub(super) fn handle(req: &Req) -> Resp {
    let Some(me) = user_of(req.bearer(), [BITBUCKET_ALICE, BITBUCKET_BOB, BITBUCKET_CAROL]) else {
        return error(401, "Token is invalid, expired, or not supported for this endpoint.");
    };
    let repos = world();
    match req.segs().as_slice() {
        ["user"] => Resp::ok(user_json(me)),
        ["user", "permissions", "workspaces"] => workspaces(req, me),
        ["repositories"] => list(req, me, &repos),
        ["repositories", ws, slug, rest @ ..] => repo_route(me, &repos, ws, slug, rest),
        _ => error(404, "Resource not found"),
    }
}

fn uuid(n: u64) -> String {
    format!("{{{}}}", guid(n))
}

fn user_json(u: &User) -> Value {
    json!({
        "display_name": u.name,
        "links": {
            "self": {"href": format!("{API}/users/%7B{}%7D", u.uuid)},
            "avatar": {"href": format!("https://secure.gravatar.com/avatar/{}?d=identicon", u.id)},
            "html": {"href": format!("{WEB}/%7B{}%7D/", u.uuid)}
        },
        "type": "user",
        "uuid": format!("{{{}}}", u.uuid),
        "account_id": format!("557058:{}", u.uuid),
        "nickname": u.login,
    })
}

fn workspace_json(slug: &str) -> Value {
    let id = 7_000 + slug.bytes().fold(0u64, |h, b| (h * 31 + u64::from(b)) % 100_000);
    json!({
        "type": "workspace",
        "uuid": uuid(id),
        "name": if USERS.iter().any(|u| u.login == slug) { user(slug).name.to_owned() } else { display_name(slug) },
        "slug": slug,
        "links": {
            "avatar": {"href": format!("{WEB}/workspaces/{slug}/avatar/?ts=1710000000")},
            "html": {"href": format!("{WEB}/{slug}/")},
            "self": {"href": format!("{API}/workspaces/{slug}")}
        }
    })
}

fn project_key(r: &Repo) -> &'static str {
    if r.main {
        "PLAT"
    } else if r.private {
        "SEC"
    } else {
        "PROJ"
    }
}

fn repo_ref_json(r: &Repo) -> Value {
    let full = r.full_name();
    json!({
        "type": "repository",
        "full_name": full,
        "links": {
            "self": {"href": format!("{API}/repositories/{full}")},
            "html": {"href": format!("{WEB}/{full}")},
            "avatar": {"href": format!("https://bytebucket.org/ravatar/{}?ts=go", uuid(r.id))}
        },
        "name": r.name,
        "uuid": uuid(r.id),
    })
}

fn repo_json(repos: &[Repo], i: usize, viewer: &str) -> Value {
    let r = &repos[i];
    let full = r.full_name();
    let api = format!("{API}/repositories/{full}");
    let owner_is_user = USERS.iter().any(|u| u.login == r.owner);
    let owner = if owner_is_user {
        user_json(user(&r.owner))
    } else {
        json!({
            "display_name": display_name(&r.owner),
            "links": {"self": {"href": format!("{API}/workspaces/{}", r.owner)}, "html": {"href": format!("{WEB}/{}/", r.owner)}},
            "type": "team",
            "uuid": workspace_json(&r.owner)["uuid"].clone(),
            "username": r.owner,
        })
    };
    json!({
        "type": "repository",
        "full_name": full,
        "links": {
            "self": {"href": api},
            "html": {"href": format!("{WEB}/{full}")},
            "avatar": {"href": format!("https://bytebucket.org/ravatar/{}?ts=go", uuid(r.id))},
            "pullrequests": {"href": format!("{api}/pullrequests")},
            "commits": {"href": format!("{api}/commits")},
            "forks": {"href": format!("{api}/forks")},
            "watchers": {"href": format!("{api}/watchers")},
            "branches": {"href": format!("{api}/refs/branches")},
            "tags": {"href": format!("{api}/refs/tags")},
            "downloads": {"href": format!("{api}/downloads")},
            "source": {"href": format!("{api}/src")},
            "clone": [
                {"name": "https", "href": format!("https://{viewer}@bitbucket.org/{full}.git")},
                {"name": "ssh", "href": format!("git@bitbucket.org:{full}.git")}
            ],
            "hooks": {"href": format!("{api}/hooks")}
        },
        "name": r.name,
        "slug": r.name,
        "description": r.description,
        "scm": "git",
        "website": null,
        "owner": owner,
        "workspace": workspace_json(&r.owner),
        "is_private": r.private,
        "project": {
            "type": "project",
            "key": project_key(r),
            "uuid": uuid(r.id + 90_000),
            "name": display_name(&project_key(r).to_lowercase()),
            "links": {"self": {"href": format!("{API}/workspaces/{}/projects/{}", r.owner, project_key(r))}}
        },
        "fork_policy": if r.private { "no_public_forks" } else { "allow_forks" },
        "created_on": "2020-08-01T09:00:00.000000+00:00",
        "updated_on": r.updated_at.replace('Z', ".000000+00:00"),
        "size": 10_485_760,
        "language": r.language.to_lowercase(),
        "uuid": uuid(r.id),
        "mainbranch": {"name": "main", "type": "branch"},
        "override_settings": {"default_merge_strategy": true, "branching_model": true},
        "parent": r.fork_of.map(|p| repo_ref_json(&repos[p])),
        "enforced_signed_commits": null,
        "has_issues": r.main,
        "has_wiki": false,
    })
}

fn commit_json(r: &Repo, c: &Commit, full: bool) -> Value {
    let author = user(c.author);
    let name = r.full_name();
    let mut v = json!({
        "type": "commit",
        "hash": c.sha,
        "date": c.date.replace('Z', "+00:00"),
        "author": {"type": "author", "raw": format!("{} <{}>", author.name, author.email), "user": user_json(author)},
        "message": format!("{}\n", c.message),
        "links": {
            "self": {"href": format!("{API}/repositories/{name}/commit/{}", c.sha)},
            "html": {"href": format!("{WEB}/{name}/commits/{}", c.sha)}
        },
        "parents": c.parent.map(|p| vec![json!({
            "hash": p,
            "type": "commit",
            "links": {"self": {"href": format!("{API}/repositories/{name}/commit/{p}")}, "html": {"href": format!("{WEB}/{name}/commits/{p}")}}
        })]).unwrap_or_default(),
        "repository": repo_ref_json(r),
    });
    if full && let Some(t) = v.as_object_mut() {
        t.insert("summary".into(), json!({"type": "rendered", "raw": c.message, "markup": "markdown", "html": format!("<p>{}</p>", c.message)}));
        t.insert("participants".into(), json!([]));
    }
    v
}

fn repo_route(me: &User, repos: &[Repo], ws: &str, slug: &str, rest: &[&str]) -> Resp {
    let hidden = || {
        error(
            404,
            "You may not have access to this repository or it no longer exists in this workspace. If you think this repository exists and you have access, make sure you are authenticated.",
        )
    };
    let Some(i) = repos.iter().position(|r| r.is(ws, slug)) else { return hidden() };
    let repo = &repos[i];
    match repo.access(me.login) {
        Access::Hidden => return hidden(),
        Access::Forbidden => return error(403, "Access denied. You must have read access to this repository."),
        Access::Visible => {}
    }
    let full = repo.full_name();
    match rest {
        [] => Resp::ok(repo_json(repos, i, me.login)),
        ["refs", "branches", b @ ..] if !b.is_empty() => {
            let name = b.join("/");
            match repo.branch(&name).and_then(commit) {
                Some(c) => Resp::ok(json!({
                    "name": name,
                    "target": commit_json(repo, c, false),
                    "links": {
                        "self": {"href": format!("{API}/repositories/{full}/refs/branches/{name}")},
                        "commits": {"href": format!("{API}/repositories/{full}/commits/{name}")},
                        "html": {"href": format!("{WEB}/{full}/branch/{name}")}
                    },
                    "type": "branch",
                    "merge_strategies": ["merge_commit", "squash", "fast_forward", "squash_fast_forward", "rebase_fast_forward", "rebase_merge"],
                    "default_merge_strategy": "merge_commit",
                })),
                None => error(404, &format!("Branch \"{name}\" does not exist.")),
            }
        }
        ["refs", "tags", t @ ..] if !t.is_empty() => {
            let name = t.join("/");
            match tag(&name) {
                Some((_, sha, object)) => Resp::ok(json!({
                    "name": name,
                    "target": commit(sha).map(|c| commit_json(repo, c, false)),
                    "links": {
                        "self": {"href": format!("{API}/repositories/{full}/refs/tags/{name}")},
                        "commits": {"href": format!("{API}/repositories/{full}/commits/{name}")},
                        "html": {"href": format!("{WEB}/{full}/commits/tag/{name}")}
                    },
                    "type": "tag",
                    "message": object.map(|_| "Release 2024.1\n"),
                    "date": object.map(|_| "2024-01-15T17:00:00+00:00"),
                    "tagger": object.map(|_| json!({"type": "author", "raw": "Bob Builder <bob@example.com>", "user": user_json(user(BOB))})),
                })),
                None => error(404, &format!("Tag \"{name}\" does not exist.")),
            }
        }
        ["commit", sha] => match commit(sha) {
            Some(c) => Resp::ok(commit_json(repo, c, true)),
            None => error(404, &format!("Commit not found: {sha}")),
        },
        ["pullrequests", n] => match pr(n).filter(|_| repo.main) {
            Some(p) => Resp::ok(pull_json(repos, i, p)),
            None => error(404, "Pull request not found."),
        },
        ["issues", _] if !repo.main => error(404, "Repository has no issue tracker."),
        ["issues", n] if n.parse::<u64>().ok() == Some(ISSUE.0) => {
            let reporter = user(ISSUE.2);
            Resp::ok(json!({
                "type": "issue",
                "id": ISSUE.0,
                "repository": repo_ref_json(repo),
                "links": {
                    "self": {"href": format!("{API}/repositories/{full}/issues/{}", ISSUE.0)},
                    "html": {"href": format!("{WEB}/{full}/issues/{}", ISSUE.0)},
                    "comments": {"href": format!("{API}/repositories/{full}/issues/{}/comments", ISSUE.0)},
                    "attachments": {"href": format!("{API}/repositories/{full}/issues/{}/attachments", ISSUE.0)},
                    "watch": {"href": format!("{API}/repositories/{full}/issues/{}/watch", ISSUE.0)},
                    "vote": {"href": format!("{API}/repositories/{full}/issues/{}/vote", ISSUE.0)}
                },
                "title": ISSUE.1,
                "content": {"type": "rendered", "raw": "Steps to reproduce: …", "markup": "markdown", "html": "<p>Steps to reproduce: …</p>"},
                "reporter": user_json(reporter),
                "assignee": null,
                "created_on": "2024-03-03T08:00:00.000000+00:00",
                "edited_on": null,
                "updated_on": "2024-03-05T08:00:00.000000+00:00",
                "state": "new",
                "kind": "bug",
                "priority": "major",
                "milestone": null,
                "component": null,
                "version": null,
                "votes": 0,
            }))
        }
        ["issues", _] => error(404, "Issue not found."),
        _ => error(404, "Resource not found"),
    }
}

fn pull_json(repos: &[Repo], i: usize, p: &Pr) -> Value {
    let repo = &repos[i];
    let full = repo.full_name();
    let api = format!("{API}/repositories/{full}/pullrequests/{}", p.number);
    let source = if p.from_fork { repos.iter().find(|r| r.fork_of == Some(i)).unwrap_or(repo) } else { repo };
    let state = match p.state {
        PrState::Open => "OPEN",
        PrState::Merged => "MERGED",
        PrState::Closed => "DECLINED",
    };
    let short = |sha: &str| {
        json!({"type": "commit", "hash": &sha[..12], "links": {
            "self": {"href": format!("{API}/repositories/{full}/commit/{}", &sha[..12])},
            "html": {"href": format!("{WEB}/{full}/commits/{}", &sha[..12])}
        }})
    };
    json!({
        "comment_count": 1,
        "task_count": 0,
        "type": "pullrequest",
        "id": p.number,
        "title": p.title,
        "description": "Please review.",
        "rendered": {
            "title": {"type": "rendered", "raw": p.title, "markup": "markdown", "html": format!("<p>{}</p>", p.title)},
            "description": {"type": "rendered", "raw": "Please review.", "markup": "markdown", "html": "<p>Please review.</p>"}
        },
        "state": state,
        "draft": p.draft,
        "merge_commit": if p.state == PrState::Merged { short(MAIN_SHA) } else { Value::Null },
        "close_source_branch": true,
        "closed_by": if p.state == PrState::Open { Value::Null } else { user_json(user(ALICE)) },
        "author": user_json(user(p.author)),
        "reason": if p.state == PrState::Closed { "Superseded by a direct fix" } else { "" },
        "created_on": p.created.replace('Z', ".000000+00:00"),
        "updated_on": p.updated.replace('Z', ".000000+00:00"),
        "destination": {"branch": {"name": "main"}, "commit": short(MAIN_SHA), "repository": repo_ref_json(repo)},
        "source": {"branch": {"name": p.from_branch}, "commit": short(p.head), "repository": repo_ref_json(source)},
        "links": {
            "self": {"href": api},
            "html": {"href": format!("{WEB}/{full}/pull-requests/{}", p.number)},
            "commits": {"href": format!("{api}/commits")},
            "approve": {"href": format!("{api}/approve")},
            "request-changes": {"href": format!("{api}/request-changes")},
            "diff": {"href": format!("{API}/repositories/{full}/diff/{}:{}%0D{}?from_pullrequest_id={}", source.full_name(), &p.head[..12], &MAIN_SHA[..12], p.number)},
            "diffstat": {"href": format!("{API}/repositories/{full}/diffstat/{}:{}%0D{}?from_pullrequest_id={}", source.full_name(), &p.head[..12], &MAIN_SHA[..12], p.number)},
            "comments": {"href": format!("{api}/comments")},
            "activity": {"href": format!("{api}/activity")},
            "merge": {"href": format!("{api}/merge")},
            "decline": {"href": format!("{api}/decline")},
            "statuses": {"href": format!("{api}/statuses")}
        },
        "summary": {"type": "rendered", "raw": "Please review.", "markup": "markdown", "html": "<p>Please review.</p>"},
    })
}

/// A page of a paginated answer: `{pagelen, size, page, values, next, previous}`.
fn page_of(req: &Req, all: Vec<Value>, default_pagelen: usize) -> Resp {
    let (page, pagelen) = (req.number("page", 1, usize::MAX), req.number("pagelen", default_pagelen, 100));
    let size = all.len();
    let (values, pages) = paginate(&all, page, pagelen);
    let mut body = json!({"pagelen": pagelen, "size": size, "values": values, "page": page});
    if page < pages {
        body["next"] = json!(req.with_page("page", page + 1));
    }
    if page > 1 {
        body["previous"] = json!(req.with_page("page", page - 1));
    }
    Resp::ok(body)
}

fn workspaces(req: &Req, me: &User) -> Resp {
    let all: Vec<Value> = orgs_of(me.login, &BITBUCKET_WORKSPACES, &WORKSPACES_OF_BOB)
        .iter()
        .map(|w| {
            json!({
                "type": "workspace_membership",
                "permission": if w.slug == me.login { "owner" } else { "member" },
                "last_accessed": "2024-03-20T10:00:00.000000+00:00",
                "added_on": "2022-01-10T10:00:00.000000+00:00",
                "user": user_json(me),
                "workspace": workspace_json(w.slug),
                "links": {"self": {"href": format!("{API}/workspaces/{}/members/%7B{}%7D", w.slug, me.uuid)}}
            })
        })
        .collect();
    page_of(req, all, 10)
}

fn list(req: &Req, me: &User, repos: &[Repo]) -> Resp {
    let query = match req.q("q").map(parse_query).transpose() {
        Ok(q) => q,
        Err(detail) => {
            return Resp::json(
                400,
                json!({"type": "error", "error": {"message": "Invalid query", "detail": detail, "fields": {"q": [detail]}}}),
            );
        }
    };
    let member_only = req.q("role").is_some();
    let all: Vec<Value> = (0..repos.len())
        .filter(|i| {
            let r = &repos[*i];
            let visible =
                if member_only { r.members.contains(&me.login) } else { r.access(me.login) == Access::Visible };
            visible && query.as_ref().is_none_or(|q| q.matches(r))
        })
        .map(|i| repo_json(repos, i, me.login))
        .collect();
    page_of(req, all, 10)
}

/// A BBQL query: clauses joined by `AND` within groups joined by `OR`.
struct Query {
    any_of: Vec<Vec<Clause>>,
}

struct Clause {
    field: String,
    op: String,
    value: String,
}

fn parse_query(q: &str) -> Result<Query, String> {
    let tokens = tokenize(q)?;
    let mut any_of = vec![Vec::new()];
    let mut i = 0;
    while i < tokens.len() {
        match tokens[i].as_str() {
            "AND" | "and" => i += 1,
            "OR" | "or" => {
                any_of.push(Vec::new());
                i += 1;
            }
            field => {
                let (Some(op), Some(value)) = (tokens.get(i + 1), tokens.get(i + 2)) else {
                    return Err(format!("incomplete expression at '{field}'"));
                };
                if !matches!(op.as_str(), "=" | "!=" | "~" | "!~") {
                    return Err(format!("unexpected operator '{op}'"));
                }
                if !matches!(
                    field,
                    "name"
                        | "full_name"
                        | "slug"
                        | "description"
                        | "language"
                        | "is_private"
                        | "workspace.slug"
                        | "project.key"
                ) {
                    return Err(format!("'{field}' is not a valid field name"));
                }
                any_of.last_mut().expect("a group").push(Clause {
                    field: field.to_owned(),
                    op: op.clone(),
                    value: value.trim_start_matches('\u{0}').to_owned(),
                });
                i += 3;
            }
        }
    }
    if any_of.iter().any(Vec::is_empty) {
        return Err("empty expression".into());
    }
    Ok(Query { any_of })
}

/// Words, operators and `"strings"` (marked with a leading NUL so that `"AND"` stays a value).
fn tokenize(q: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut chars = q.chars().peekable();
    while let Some(&c) = chars.peek() {
        match c {
            ' ' | '\t' | '\n' => {
                chars.next();
            }
            '"' => {
                chars.next();
                let mut s = String::from('\u{0}');
                loop {
                    match chars.next() {
                        Some('\\') => s.extend(chars.next()),
                        Some('"') => break,
                        Some(c) => s.push(c),
                        None => return Err("unterminated string".into()),
                    }
                }
                out.push(s);
            }
            '=' | '~' => {
                chars.next();
                out.push(c.to_string());
            }
            '!' => {
                chars.next();
                match chars.next() {
                    Some(n @ ('=' | '~')) => out.push(format!("!{n}")),
                    _ => return Err("unexpected '!'".into()),
                }
            }
            '(' | ')' => return Err("parentheses are not supported here".into()),
            _ => {
                let mut s = String::new();
                while let Some(&c) = chars.peek() {
                    if c.is_whitespace() || matches!(c, '=' | '~' | '!' | '"') {
                        break;
                    }
                    s.push(c);
                    chars.next();
                }
                out.push(s);
            }
        }
    }
    Ok(out)
}

impl Query {
    fn matches(&self, r: &Repo) -> bool {
        self.any_of.iter().any(|all| all.iter().all(|c| c.matches(r)))
    }
}

impl Clause {
    fn matches(&self, r: &Repo) -> bool {
        let actual = match self.field.as_str() {
            "name" | "slug" => r.name.clone(),
            "full_name" => r.full_name(),
            "description" => r.description.clone(),
            "language" => r.language.to_lowercase(),
            "is_private" => r.private.to_string(),
            "workspace.slug" => r.owner.clone(),
            _ => project_key(r).to_owned(),
        };
        let (actual, value) = (actual.to_lowercase(), self.value.to_lowercase());
        match self.op.as_str() {
            "=" => actual == value,
            "!=" => actual != value,
            "~" => actual.contains(&value),
            _ => !actual.contains(&value),
        }
    }
}
