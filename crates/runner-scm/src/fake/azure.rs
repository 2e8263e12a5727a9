//! The fake Azure DevOps REST API (`/azure`): the Git API 7.1 of organizations and projects,
//! the profile and accounts APIs, and a Server's project collections.

use base64::Engine as _;

use super::world::*;
use super::*;

const WEB: &str = "https://dev.azure.com";

fn world() -> Vec<Repo> {
    let org = |project: &str| format!("{AZURE_ORG}/{project}");
    let (main, fork, private, search) =
        (org(AZURE_PROJECT), org(AZURE_FORK_PROJECT), org(AZURE_PRIVATE_PROJECT), org(AZURE_SEARCH_PROJECT));
    repos(
        (&main, AZURE_REPO),
        (&fork, AZURE_REPO),
        (&private, PRIVATE_REPO),
        &search,
        ("bob-labs/dotfiles", "dotfiles"),
        11,
    )
}

const ORGS_OF_BOB: [&str; 1] = ["bob-labs"];

fn error(status: u16, message: &str, type_key: &str) -> Resp {
    Resp::json(
        status,
        json!({
            "$id": "1",
            "innerException": null,
            "message": message,
            "typeName": format!("Microsoft.TeamFoundation.Git.Server.{type_key}, Microsoft.TeamFoundation.Git.Server"),
            "typeKey": type_key,
            "errorCode": 0,
            "eventId": 3000
        }),
    )
}

/// What Azure DevOps answers a token it does not know: 401 for a PAT, an HTML sign-in page with
/// 203 Non-Authoritative Information for a bearer token.
fn caller(req: &Req) -> Result<&'static User, Resp> {
    let header = req.headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or_default();
    if let Some(basic) = header.strip_prefix("Basic ") {
        let decoded = base64::engine::general_purpose::STANDARD.decode(basic.trim()).unwrap_or_default();
        let decoded = String::from_utf8_lossy(&decoded).into_owned();
        let pat = decoded.split_once(':').map(|(_, p)| p).unwrap_or_default();
        return user_of(Some(pat), [AZURE_ALICE, AZURE_BOB, AZURE_CAROL]).ok_or_else(|| {
            error(
                401,
                "TF400813: The user 'Anonymous' is not authorized to access this resource.",
                "UnauthorizedRequestException",
            )
            .header("www-authenticate", "Basic realm=\"https://tfsprodweu5.visualstudio.com/\"")
        });
    }
    if let Some(token) = header.strip_prefix("Bearer ") {
        if token.trim() == AZURE_ALICE_OAUTH {
            return Ok(&USERS[0]);
        }
        return Err(Resp::html(
            203,
            "<!DOCTYPE html><html><head><title>Azure DevOps Services | Sign In</title></head>\
             <body><form action=\"https://login.microsoftonline.com/\">Sign in to continue</form></body></html>"
                .to_owned(),
        ));
    }
    Err(error(
        401,
        "TF400813: The user 'Anonymous' is not authorized to access this resource.",
        "UnauthorizedRequestException",
    ))
}

pub(super) fn handle(req: &Req) -> Resp {
    let me = match caller(req) {
        Ok(me) => me,
        Err(resp) => return resp,
    };
    if req.q("api-version").is_none() {
        return error(
            400,
            "No api-version was supplied for the \"GET\" request. The version must be supplied either as part of the Accept header (e.g. \"application/json; api-version=1.0\") or as a query parameter (e.g. '?api-version=1.0').",
            "VssVersionNotSpecifiedException",
        );
    }
    let repos = world();
    let resp = match req.segs().as_slice() {
        ["_apis", "profile", "profiles", "me"] => Resp::ok(json!({
            "displayName": me.name,
            "publicAlias": me.uuid,
            "emailAddress": me.email,
            "coreRevision": 482_001,
            "timeStamp": "2024-03-01T10:00:00.0000000+00:00",
            "id": me.uuid,
            "revision": 482_001,
        })),
        ["_apis", "accounts"] => accounts(req, me),
        ["_apis", "projectCollections"] => {
            let value: Vec<Value> = my_orgs(me)
                .iter()
                .map(|o| json!({"id": guid(o.id), "name": o.slug, "url": format!("{WEB}/_apis/projectCollections/{}", guid(o.id))}))
                .collect();
            Resp::ok(json!({"count": value.len(), "value": value}))
        }
        [org, "_apis", "git", "repositories"] => org_repositories(me, &repos, org),
        [org, project, "_apis", "git", "repositories", name, rest @ ..] => {
            repo_route(req, me, &repos, org, project, name, rest)
        }
        _ => error(404, "The resource cannot be found.", "ResourceNotFoundException"),
    };
    resp.header("x-tfs-processid", "6c5c7f8e-31f2-4a41-9f0e-0b0e4c8a4c11")
        .header("x-vss-e2eid", "0d4c3b2a-1f0e-4d9c-8b7a-6f5e4d3c2b1a")
}

fn my_orgs(me: &User) -> Vec<Org> {
    orgs_of(me.login, &AZURE_ORGS, &ORGS_OF_BOB)
}

fn accounts(req: &Req, me: &User) -> Resp {
    let Some(member) = req.q("memberId").or(req.q("ownerId")) else {
        return error(400, "VS800001: Either ownerId or memberId must be specified.", "InvalidArgumentValueException");
    };
    if member != me.uuid {
        return Resp::ok(json!({"count": 0, "value": []}));
    }
    let value: Vec<Value> = my_orgs(me)
        .iter()
        .map(|o| {
            json!({
                "accountId": guid(o.id),
                "accountUri": format!("https://vssps.dev.azure.com/{}/", o.slug),
                "accountName": o.slug,
                "properties": {},
            })
        })
        .collect();
    Resp::ok(json!({"count": value.len(), "value": value}))
}

fn known_org(org: &str) -> bool {
    AZURE_ORGS.iter().chain(&ORGS_OF_BOB).any(|o| o.eq_ignore_ascii_case(org))
}

fn project_id(path: &str) -> String {
    guid(80_000 + path.bytes().fold(0u64, |h, b| (h * 31 + u64::from(b)) % 100_000))
}

fn split(r: &Repo) -> (&str, &str) {
    r.owner.split_once('/').unwrap_or((&r.owner, ""))
}

fn project_json(r: &Repo) -> Value {
    let (org, project) = split(r);
    let id = project_id(&r.owner);
    json!({
        "id": id,
        "name": project,
        "description": format!("The {} project", display_name(project)),
        "url": format!("{WEB}/{org}/_apis/projects/{id}"),
        "state": "wellFormed",
        "revision": 411,
        "visibility": if r.private { "private" } else { "public" },
        "lastUpdateTime": "2024-01-10T09:00:00.000Z",
    })
}

fn repo_ref_json(r: &Repo) -> Value {
    let (org, _) = split(r);
    let id = guid(r.id);
    json!({
        "id": id,
        "name": r.name,
        "url": format!("{WEB}/{org}/{}/_apis/git/repositories/{id}", project_id(&r.owner)),
        "project": project_json(r),
    })
}

fn repo_json(repos: &[Repo], r: &Repo) -> Value {
    let (org, project) = split(r);
    let mut v = repo_ref_json(r);
    let extra = json!({
        "defaultBranch": "refs/heads/main",
        "size": 10_485_760,
        "remoteUrl": format!("https://{org}@dev.azure.com/{org}/{project}/_git/{}", r.name),
        "sshUrl": format!("git@ssh.dev.azure.com:v3/{org}/{project}/{}", r.name),
        "webUrl": format!("{WEB}/{org}/{project}/_git/{}", r.name),
        "_links": {
            "self": {"href": format!("{WEB}/{org}/{}/_apis/git/repositories/{}", project_id(&r.owner), guid(r.id))},
            "project": {"href": format!("{WEB}/{org}/_apis/projects/{}", project_id(&r.owner))},
            "web": {"href": format!("{WEB}/{org}/{project}/_git/{}", r.name)}
        },
        "isDisabled": false,
        "isInMaintenance": false,
        "isFork": r.fork_of.is_some(),
    });
    if let (Some(t), Value::Object(e)) = (v.as_object_mut(), extra) {
        t.extend(e);
        if let Some(parent) = r.fork_of {
            t.insert("parentRepository".into(), repo_ref_json(&repos[parent]));
        }
    }
    v
}

fn identity_json(u: &User) -> Value {
    json!({
        "displayName": u.name,
        "url": format!("https://spsprodweu5.vssps.visualstudio.com/A{}/_apis/Identities/{}", guid(1), u.uuid),
        "_links": {"avatar": {"href": format!("{WEB}/{AZURE_ORG}/_apis/GraphProfile/MemberAvatars/aad.{}", u.uuid)}},
        "id": u.uuid,
        "uniqueName": u.email,
        "imageUrl": format!("{WEB}/{AZURE_ORG}/_api/_common/identityImage?id={}", u.uuid),
        "descriptor": format!("aad.{}", u.uuid),
    })
}

fn org_repositories(me: &User, repos: &[Repo], org: &str) -> Resp {
    if !known_org(org) {
        return error(
            404,
            &format!(
                "VS800075: The project collection or organization '{org}' does not exist or you do not have permission to access it."
            ),
            "ProjectCollectionDoesNotExistException",
        );
    }
    let value: Vec<Value> = repos
        .iter()
        .filter(|r| split(r).0.eq_ignore_ascii_case(org) && r.access(me.login) == Access::Visible)
        .map(|r| repo_json(repos, r))
        .collect();
    Resp::ok(json!({"value": value, "count": value.len()}))
}

fn commit_json(r: &Repo, c: &Commit) -> Value {
    let (org, project) = split(r);
    let author = user(c.author);
    let who = json!({"name": author.name, "email": author.email, "date": c.date});
    let api = format!("{WEB}/{org}/{}/_apis/git/repositories/{}", project_id(&r.owner), guid(r.id));
    json!({
        "treeId": c.sha.chars().rev().collect::<String>(),
        "commitId": c.sha,
        "author": who,
        "committer": who,
        "comment": c.message,
        "parents": c.parent.map(|p| vec![p]).unwrap_or_default(),
        "url": format!("{api}/commits/{}", c.sha),
        "remoteUrl": format!("{WEB}/{org}/{project}/_git/{}/commit/{}", r.name, c.sha),
        "_links": {
            "self": {"href": format!("{api}/commits/{}", c.sha)},
            "repository": {"href": api},
            "web": {"href": format!("{WEB}/{org}/{project}/_git/{}/commit/{}", r.name, c.sha)},
            "tree": {"href": format!("{api}/trees/{}", c.sha.chars().rev().collect::<String>())}
        },
        "push": {"pushedBy": identity_json(author), "pushId": 42, "date": c.date},
    })
}

fn repo_route(req: &Req, me: &User, repos: &[Repo], org: &str, project: &str, name: &str, rest: &[&str]) -> Resp {
    let owner = format!("{org}/{project}");
    let not_found = || {
        error(
            404,
            &format!(
                "TF401019: The Git repository with name or identifier {name} does not exist or you do not have permissions for the operation you are attempting."
            ),
            "GitRepositoryNotFoundException",
        )
    };
    let Some(repo) = repos.iter().find(|r| r.is(&owner, name)) else { return not_found() };
    match repo.access(me.login) {
        Access::Hidden => {
            return error(
                404,
                &format!(
                    "TF200016: The following project does not exist: {project}. Verify that the name of the project is correct and that the project exists on the specified Azure DevOps Server."
                ),
                "ProjectDoesNotExistWithNameException",
            );
        }
        Access::Forbidden => {
            return error(
                403,
                "TF401027: You need the Git 'GenericRead' permission to perform this action. Details: identity 'Carol Danvers', scope 'repository'.",
                "GitNeedsPermissionException",
            );
        }
        Access::Visible => {}
    }
    let api = format!("{WEB}/{org}/{}/_apis/git/repositories/{}", project_id(&repo.owner), guid(repo.id));
    match rest {
        [] => Resp::ok(repo_json(repos, repo)),
        ["refs"] => {
            let filter = req.q("filter").unwrap_or_default();
            let peel = req.q("peelTags") == Some("true");
            let mut refs: Vec<Value> = Vec::new();
            for (branch, sha) in repo.branches() {
                refs.push(json!({"name": format!("refs/heads/{branch}"), "objectId": sha}));
            }
            for (t, sha, object) in TAG_LIST {
                let mut v = json!({"name": format!("refs/tags/{t}"), "objectId": object.unwrap_or(sha)});
                if peel && object.is_some() {
                    v["peeledObjectId"] = json!(sha);
                }
                refs.push(v);
            }
            let value: Vec<Value> = refs
                .into_iter()
                .filter(|r| r["name"].as_str().unwrap_or_default().trim_start_matches("refs/").starts_with(filter))
                .map(|mut r| {
                    let name = r["name"].as_str().unwrap_or_default().to_owned();
                    r["creator"] = identity_json(user(BOB));
                    r["url"] =
                        json!(format!("{api}/refs?filter={}", name.trim_start_matches("refs/").replace('/', "%2F")));
                    r
                })
                .collect();
            Resp::ok(json!({"value": value, "count": value.len()}))
        }
        ["commits", sha] => match commit(sha) {
            Some(c) => Resp::ok(commit_json(repo, c)),
            None => error(
                404,
                &format!(
                    "TF401175:The version descriptor <Commit: {sha}> could not be resolved to a version in the repository {name}"
                ),
                "GitUnresolvableToCommitException",
            ),
        },
        ["pullrequests", n] => match pr(n).filter(|_| repo.main) {
            Some(p) => Resp::ok(pull_json(repos, repo, p)),
            None => {
                error(404, "TF401180: The requested pull request was not found.", "GitPullRequestNotFoundException")
            }
        },
        _ => error(404, "The resource cannot be found.", "ResourceNotFoundException"),
    }
}

fn pull_json(repos: &[Repo], repo: &Repo, p: &Pr) -> Value {
    let (org, _) = split(repo);
    let api = format!("{WEB}/{org}/{}/_apis/git/repositories/{}", project_id(&repo.owner), guid(repo.id));
    let status = match p.state {
        PrState::Open => "active",
        PrState::Merged => "completed",
        PrState::Closed => "abandoned",
    };
    let commit_ref = |sha: &str| json!({"commitId": sha, "url": format!("{api}/commits/{sha}")});
    let mut v = json!({
        "repository": repo_ref_json(repo),
        "pullRequestId": p.number,
        "codeReviewId": p.number,
        "status": status,
        "createdBy": identity_json(user(p.author)),
        "creationDate": p.created,
        "title": p.title,
        "description": "Please review.",
        "sourceRefName": format!("refs/heads/{}", p.from_branch),
        "targetRefName": "refs/heads/main",
        "mergeStatus": "succeeded",
        "isDraft": p.draft,
        "mergeId": guid(900 + p.number),
        "lastMergeSourceCommit": commit_ref(p.head),
        "lastMergeTargetCommit": commit_ref(MAIN_SHA),
        "reviewers": [],
        "url": format!("{api}/pullRequests/{}", p.number),
        "supportsIterations": true,
        "artifactId": format!("vstfs:///Git/PullRequestId/{}%2f{}%2f{}", project_id(&repo.owner), guid(repo.id), p.number),
    });
    if p.state != PrState::Open {
        v["closedDate"] = json!(p.updated);
        v["closedBy"] = identity_json(user(ALICE));
    }
    if p.state == PrState::Merged {
        v["lastMergeCommit"] = commit_ref(MAIN_SHA);
        v["completionOptions"] = json!({"mergeStrategy": "squash", "deleteSourceBranch": true});
    }
    if p.from_fork
        && let Some(fork) = repos.iter().find(|r| r.fork_of.is_some())
    {
        v["forkSource"] = json!({
            "name": format!("refs/heads/{}", p.from_branch),
            "repository": repo_json(repos, fork),
            "url": format!("{api}/forkSyncRequests"),
        });
    }
    v
}
