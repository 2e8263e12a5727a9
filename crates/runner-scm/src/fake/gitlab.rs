//! The fake GitLab REST API v4 (`/gitlab/api/v4`).

use super::world::*;
use super::*;

const WEB: &str = "https://gitlab.com";

fn world() -> Vec<Repo> {
    repos(
        (GITLAB_GROUP, GITLAB_PROJECT),
        (ALICE, GITLAB_PROJECT),
        (PRIVATE_OWNER, PRIVATE_REPO),
        ALICE,
        (BOB, "dotfiles"),
        40_000_001,
    )
}

const GROUPS_OF_BOB: [&str; 1] = ["bob-labs"];

pub(super) fn handle(req: &Req) -> Resp {
    let token = req.bearer().or_else(|| req.headers.get("private-token").and_then(|v| v.to_str().ok()));
    let Some(me) = user_of(token, [GITLAB_ALICE, GITLAB_BOB, GITLAB_CAROL]) else {
        return Resp::json(401, json!({"message": "401 Unauthorized"}));
    };
    let repos = world();
    let resp = match req.segs().as_slice() {
        ["user"] => Resp::ok(user_json(me)),
        ["projects"] => projects(req, me, &repos),
        ["projects", id, rest @ ..] => project_route(me, &repos, id, rest),
        ["search"] => search(req, me, &repos),
        ["groups"] => groups(req, me),
        _ => Resp::json(404, json!({"error": "404 Not Found"})),
    };
    resp.header("ratelimit-limit", "2000").header("ratelimit-remaining", "1999").header("ratelimit-observed", "1")
}

fn user_json(u: &User) -> Value {
    json!({
        "id": u.id,
        "username": u.login,
        "name": u.name,
        "state": "active",
        "locked": false,
        "avatar_url": format!("https://secure.gravatar.com/avatar/{}?s=80&d=identicon", u.id),
        "web_url": format!("{WEB}/{}", u.login),
    })
}

fn is_user(path: &str) -> bool {
    USERS.iter().any(|u| u.login == path)
}

fn group_id(path: &str) -> u64 {
    9_000_000 + path.bytes().fold(0u64, |h, b| (h * 31 + u64::from(b)) % 1_000_000)
}

/// The display path of a namespace: `Gitpod Io / Platform`, or the user's name.
fn namespace_name(path: &str) -> String {
    if is_user(path) {
        return user(path).name.to_owned();
    }
    path.split('/').map(display_name).collect::<Vec<_>>().join(" / ")
}

fn namespace_json(path: &str) -> Value {
    let user_ns = is_user(path);
    let id = if user_ns { user(path).id + 100 } else { group_id(path) };
    let parent = path.rsplit_once('/').map(|(p, _)| group_id(p));
    json!({
        "id": id,
        "name": if user_ns { user(path).name.to_owned() } else { display_name(path) },
        "path": path.rsplit('/').next().unwrap_or(path),
        "kind": if user_ns { "user" } else { "group" },
        "full_path": path,
        "parent_id": parent,
        "avatar_url": null,
        "web_url": if user_ns { format!("{WEB}/{path}") } else { format!("{WEB}/groups/{path}") },
    })
}

fn project_json(repos: &[Repo], i: usize, viewer: &str, full: bool) -> Value {
    let r = &repos[i];
    let path = r.full_name();
    let api = format!("{WEB}/api/v4/projects/{}", r.id);
    let mut v = json!({
        "id": r.id,
        "description": r.description,
        "name": r.name,
        "name_with_namespace": format!("{} / {}", namespace_name(&r.owner), r.name),
        "path": r.name,
        "path_with_namespace": path,
        "created_at": "2020-08-01T09:00:00.000Z",
        "default_branch": "main",
        "tag_list": ["developer-tools"],
        "topics": ["developer-tools"],
        "ssh_url_to_repo": format!("git@gitlab.com:{path}.git"),
        "http_url_to_repo": format!("{WEB}/{path}.git"),
        "web_url": format!("{WEB}/{path}"),
        "readme_url": format!("{WEB}/{path}/-/blob/main/README.md"),
        "forks_count": if r.main { 1 } else { 0 },
        "avatar_url": null,
        "star_count": 42,
        "last_activity_at": r.updated_at.replace('Z', ".000Z"),
        "namespace": namespace_json(&r.owner),
    });
    if full {
        let member = r.members.contains(&viewer);
        let extra = json!({
            "container_registry_image_prefix": format!("registry.gitlab.com/{path}"),
            "_links": {
                "self": api,
                "issues": format!("{api}/issues"),
                "merge_requests": format!("{api}/merge_requests"),
                "repo_branches": format!("{api}/repository/branches"),
                "labels": format!("{api}/labels"),
                "events": format!("{api}/events"),
                "members": format!("{api}/members"),
                "cluster_agents": format!("{api}/cluster_agents")
            },
            "packages_enabled": true,
            "empty_repo": false,
            "archived": false,
            "visibility": if r.private { "private" } else { "public" },
            "resolve_outdated_diff_discussions": false,
            "container_registry_enabled": true,
            "issues_enabled": true,
            "merge_requests_enabled": true,
            "wiki_enabled": true,
            "jobs_enabled": true,
            "snippets_enabled": true,
            "service_desk_enabled": false,
            "can_create_merge_request_in": member,
            "issues_access_level": "enabled",
            "repository_access_level": "enabled",
            "merge_requests_access_level": "enabled",
            "creator_id": user(r.members.first().copied().unwrap_or(ALICE)).id,
            "open_issues_count": if r.main { 1 } else { 0 },
            "ci_config_path": null,
            "public_jobs": true,
            "shared_with_groups": [],
            "only_allow_merge_if_pipeline_succeeds": false,
            "request_access_enabled": true,
            "merge_method": "merge",
            "squash_option": "default_off",
            "permissions": {
                "project_access": if member { json!({"access_level": 30, "notification_level": 3}) } else { Value::Null },
                "group_access": null
            }
        });
        if let (Some(t), Value::Object(e)) = (v.as_object_mut(), extra) {
            t.extend(e);
        }
        if let Some(parent) = r.fork_of
            && let Some(t) = v.as_object_mut()
        {
            t.insert("forked_from_project".into(), project_json(repos, parent, viewer, false));
        }
    }
    v
}

/// Offset pagination headers; `totals` false leaves out `X-Total` and `X-Total-Pages`.
fn paged(req: &Req, items: Vec<Value>, total: usize, page: usize, per_page: usize, pages: usize, totals: bool) -> Resp {
    let next = if page < pages { (page + 1).to_string() } else { String::new() };
    let prev = if page > 1 { (page - 1).to_string() } else { String::new() };
    let mut resp = Resp::ok(Value::Array(items))
        .header("x-page", page.to_string())
        .header("x-per-page", per_page.to_string())
        .header("x-next-page", next)
        .header("x-prev-page", prev)
        .header_opt("link", req.link_header(page, pages));
    if totals {
        resp = resp.header("x-total", total.to_string()).header("x-total-pages", pages.max(1).to_string());
    }
    resp
}

fn name_matches(r: &Repo, search: Option<&str>) -> bool {
    let Some(s) = search.map(str::to_lowercase) else { return true };
    r.name.to_lowercase().contains(&s) || r.description.to_lowercase().contains(&s)
}

fn projects(req: &Req, me: &User, repos: &[Repo]) -> Resp {
    let membership = req.q("membership") == Some("true");
    let simple = req.q("simple") == Some("true");
    let found: Vec<usize> = (0..repos.len())
        .filter(|i| {
            let r = &repos[*i];
            let visible =
                if membership { r.members.contains(&me.login) } else { r.access(me.login) == Access::Visible };
            visible && name_matches(r, req.q("search"))
        })
        .collect();
    let (page, per_page) = (req.number("page", 1, usize::MAX), req.number("per_page", 20, 100));
    let (items, pages) = paginate(&found, page, per_page);
    let items = items.iter().map(|i| project_json(repos, *i, me.login, !simple)).collect();
    paged(req, items, found.len(), page, per_page, pages, true)
}

fn search(req: &Req, me: &User, repos: &[Repo]) -> Resp {
    match req.q("scope") {
        None => return Resp::json(400, json!({"error": "scope is missing, scope does not have a valid value"})),
        Some("projects") => {}
        Some(
            "issues" | "merge_requests" | "milestones" | "snippet_titles" | "users" | "wiki_blobs" | "commits"
            | "blobs" | "notes",
        ) => {}
        Some(_) => return Resp::json(400, json!({"error": "scope does not have a valid value"})),
    }
    let Some(term) = req.q("search").filter(|s| !s.is_empty()) else {
        return Resp::json(400, json!({"error": "search is missing"}));
    };
    if req.q("scope") != Some("projects") {
        return Resp::ok(json!([]));
    }
    let found: Vec<usize> = (0..repos.len())
        .filter(|i| repos[*i].access(me.login) == Access::Visible && name_matches(&repos[*i], Some(term)))
        .collect();
    let (page, per_page) = (req.number("page", 1, usize::MAX), req.number("per_page", 20, 100));
    let (items, pages) = paginate(&found, page, per_page);
    let items = items.iter().map(|i| project_json(repos, *i, me.login, false)).collect();
    paged(req, items, found.len(), page, per_page, pages, false)
}

fn groups(req: &Req, me: &User) -> Resp {
    let search = req.q("search").map(str::to_lowercase).filter(|s| !s.is_empty());
    let all: Vec<Value> = orgs_of(me.login, &GITLAB_GROUPS, &GROUPS_OF_BOB)
        .into_iter()
        .filter(|g| {
            search.as_deref().is_none_or(|s| g.slug.to_lowercase().contains(s) || g.name.to_lowercase().contains(s))
        })
        .map(|g| {
            let path = g.slug;
            json!({
                "id": group_id(path),
                "web_url": format!("{WEB}/groups/{path}"),
                "name": g.name,
                "path": path.rsplit('/').next().unwrap_or(path),
                "description": format!("The {} group", g.name),
                "visibility": "public",
                "share_with_group_lock": false,
                "require_two_factor_authentication": false,
                "two_factor_grace_period": 48,
                "project_creation_level": "developer",
                "auto_devops_enabled": null,
                "subgroup_creation_level": "maintainer",
                "emails_disabled": false,
                "emails_enabled": true,
                "mentions_disabled": null,
                "lfs_enabled": true,
                "default_branch": null,
                "default_branch_protection": 2,
                "avatar_url": null,
                "request_access_enabled": true,
                "full_name": namespace_name(path),
                "full_path": path,
                "created_at": "2021-05-10T12:00:00.000Z",
                "parent_id": path.rsplit_once('/').map(|(p, _)| group_id(p)),
                "organization_id": 1,
                "shared_runners_setting": "enabled",
                "ldap_cn": null,
                "ldap_access": null,
                "wiki_access_level": "enabled",
            })
        })
        .collect();
    let (page, per_page) = (req.number("page", 1, usize::MAX), req.number("per_page", 20, 100));
    let total = all.len();
    let (items, pages) = paginate(&all, page, per_page);
    paged(req, items, total, page, per_page, pages, true)
}

fn not_found(what: &str) -> Resp {
    Resp::json(404, json!({"message": format!("404 {what}")}))
}

fn commit_json(repo: &str, c: &Commit, project_id: u64, full: bool) -> Value {
    let author = user(c.author);
    let title = c.message.lines().next().unwrap_or_default();
    let mut v = json!({
        "id": c.sha,
        "short_id": &c.sha[..8],
        "created_at": c.date.replace('Z', ".000+00:00"),
        "parent_ids": c.parent.map(|p| vec![p]).unwrap_or_default(),
        "title": title,
        "message": c.message,
        "author_name": author.name,
        "author_email": author.email,
        "authored_date": c.date.replace('Z', ".000+00:00"),
        "committer_name": author.name,
        "committer_email": author.email,
        "committed_date": c.date.replace('Z', ".000+00:00"),
        "trailers": {},
        "extended_trailers": {},
        "web_url": format!("{WEB}/{repo}/-/commit/{}", c.sha),
    });
    if full && let Some(t) = v.as_object_mut() {
        t.insert("stats".into(), json!({"additions": 10, "deletions": 2, "total": 12}));
        t.insert("status".into(), Value::Null);
        t.insert("project_id".into(), json!(project_id));
        t.insert("last_pipeline".into(), Value::Null);
    }
    v
}

fn project_route(me: &User, repos: &[Repo], id: &str, rest: &[&str]) -> Resp {
    let found = match id.parse::<u64>() {
        Ok(n) => repos.iter().position(|r| r.id == n),
        Err(_) => repos.iter().position(|r| r.full_name().eq_ignore_ascii_case(id)),
    };
    let Some(i) = found else { return not_found("Project Not Found") };
    let repo = &repos[i];
    match repo.access(me.login) {
        Access::Hidden => return not_found("Project Not Found"),
        Access::Forbidden => return Resp::json(403, json!({"message": "403 Forbidden"})),
        Access::Visible => {}
    }
    let path = repo.full_name();
    match rest {
        [] => Resp::ok(project_json(repos, i, me.login, true)),
        ["repository", "branches", name] => match repo.branch(name).and_then(commit) {
            Some(c) => Resp::ok(json!({
                "name": name,
                "commit": commit_json(&path, c, repo.id, false),
                "merged": false,
                "protected": *name == "main",
                "developers_can_push": false,
                "developers_can_merge": false,
                "can_push": repo.members.contains(&me.login),
                "default": *name == "main",
                "web_url": format!("{WEB}/{path}/-/tree/{name}"),
            })),
            None => not_found("Branch Not Found"),
        },
        ["repository", "tags", name] => match tag(name) {
            Some((_, sha, object)) => Resp::ok(json!({
                "name": name,
                "message": if object.is_some() { "Release 2024.1" } else { "" },
                "target": object.unwrap_or(sha),
                "commit": commit(sha).map(|c| commit_json(&path, c, repo.id, false)),
                "release": null,
                "protected": false,
                "created_at": object.map(|_| "2024-01-15T17:00:00.000Z"),
            })),
            None => not_found("Tag Not Found"),
        },
        ["repository", "commits", sha] => match commit(sha) {
            Some(c) => Resp::ok(commit_json(&path, c, repo.id, true)),
            None => not_found("Commit Not Found"),
        },
        ["merge_requests", n] => match pr(n).filter(|_| repo.main) {
            Some(p) => Resp::ok(merge_request_json(repos, i, p)),
            None => not_found("Not found"),
        },
        ["issues", n] if repo.main && n.parse::<u64>().ok() == Some(ISSUE.0) => {
            let author = user(ISSUE.2);
            Resp::ok(json!({
                "id": 150_000_000u64 + ISSUE.0,
                "iid": ISSUE.0,
                "project_id": repo.id,
                "title": ISSUE.1,
                "description": "Steps to reproduce: …",
                "state": "opened",
                "created_at": "2024-03-03T08:00:00.000Z",
                "updated_at": "2024-03-05T08:00:00.000Z",
                "closed_at": null,
                "closed_by": null,
                "labels": ["bug"],
                "milestone": null,
                "assignees": [],
                "author": user_json(author),
                "type": "ISSUE",
                "assignee": null,
                "user_notes_count": 2,
                "merge_requests_count": 0,
                "upvotes": 0,
                "downvotes": 0,
                "due_date": null,
                "confidential": false,
                "discussion_locked": null,
                "issue_type": "issue",
                "web_url": format!("{WEB}/{path}/-/issues/{}", ISSUE.0),
                "time_stats": {"time_estimate": 0, "total_time_spent": 0, "human_time_estimate": null, "human_total_time_spent": null},
                "task_completion_status": {"count": 0, "completed_count": 0},
                "has_tasks": false,
                "_links": {
                    "self": format!("{WEB}/api/v4/projects/{}/issues/{}", repo.id, ISSUE.0),
                    "notes": format!("{WEB}/api/v4/projects/{}/issues/{}/notes", repo.id, ISSUE.0),
                    "award_emoji": format!("{WEB}/api/v4/projects/{}/issues/{}/award_emoji", repo.id, ISSUE.0),
                    "project": format!("{WEB}/api/v4/projects/{}", repo.id),
                    "closed_as_duplicate_of": null
                },
                "references": {"short": format!("#{}", ISSUE.0), "relative": format!("#{}", ISSUE.0), "full": format!("{path}#{}", ISSUE.0)},
                "severity": "UNKNOWN",
                "moved_to_id": null,
                "service_desk_reply_to": null,
            }))
        }
        ["issues", _] => not_found("Not found"),
        _ => Resp::json(404, json!({"error": "404 Not Found"})),
    }
}

fn merge_request_json(repos: &[Repo], i: usize, p: &Pr) -> Value {
    let repo = &repos[i];
    let path = repo.full_name();
    let source = if p.from_fork { repos.iter().find(|r| r.fork_of == Some(i)).unwrap_or(repo) } else { repo };
    let (state, merged_at, closed_at) = match p.state {
        PrState::Open => ("opened", None, None),
        PrState::Merged => ("merged", Some(p.updated), None),
        PrState::Closed => ("closed", None, Some(p.updated)),
    };
    json!({
        "id": 280_000_000u64 + p.number,
        "iid": p.number,
        "project_id": repo.id,
        "title": p.title,
        "description": "Please review.",
        "state": state,
        "created_at": p.created,
        "updated_at": p.updated,
        "merged_by": if merged_at.is_some() { user_json(user(ALICE)) } else { Value::Null },
        "merge_user": if merged_at.is_some() { user_json(user(ALICE)) } else { Value::Null },
        "merged_at": merged_at,
        "closed_by": if closed_at.is_some() { user_json(user(BOB)) } else { Value::Null },
        "closed_at": closed_at,
        "target_branch": "main",
        "source_branch": p.from_branch,
        "user_notes_count": 1,
        "upvotes": 0,
        "downvotes": 0,
        "author": user_json(user(p.author)),
        "assignees": [],
        "assignee": null,
        "reviewers": [],
        "source_project_id": source.id,
        "target_project_id": repo.id,
        "labels": [],
        "draft": p.draft,
        "work_in_progress": p.draft,
        "milestone": null,
        "merge_when_pipeline_succeeds": false,
        "merge_status": "can_be_merged",
        "detailed_merge_status": if p.draft { "draft_status" } else { "mergeable" },
        "sha": p.head,
        "merge_commit_sha": if merged_at.is_some() { json!(MAIN_SHA) } else { Value::Null },
        "squash_commit_sha": null,
        "discussion_locked": null,
        "should_remove_source_branch": null,
        "force_remove_source_branch": true,
        "prepared_at": p.created,
        "reference": format!("!{}", p.number),
        "references": {"short": format!("!{}", p.number), "relative": format!("!{}", p.number), "full": format!("{path}!{}", p.number)},
        "web_url": format!("{WEB}/{path}/-/merge_requests/{}", p.number),
        "time_stats": {"time_estimate": 0, "total_time_spent": 0, "human_time_estimate": null, "human_total_time_spent": null},
        "squash": false,
        "squash_on_merge": false,
        "task_completion_status": {"count": 0, "completed_count": 0},
        "has_conflicts": false,
        "blocking_discussions_resolved": true,
        "subscribed": false,
        "changes_count": "1",
        "latest_build_started_at": null,
        "latest_build_finished_at": null,
        "first_deployed_to_production_at": null,
        "pipeline": null,
        "head_pipeline": null,
        "diff_refs": {"base_sha": MAIN_SHA, "head_sha": p.head, "start_sha": MAIN_SHA},
        "merge_error": null,
        "first_contribution": p.from_fork,
        "user": {"can_merge": true},
    })
}
