//! The fake providers' OAuth web flow: the authorization page (which consents at once, as the
//! user the `login` parameter names, ALICE by default, and redirects with a code) and the token
//! endpoint (which trades a code, once, for that user's token), for GitHub, GitLab and
//! Bitbucket, each answering as the provider does (GitHub its errors with 200).

use std::collections::HashMap;

use base64::Engine;

use super::world::*;
use super::*;

/// The client id of the OAuth application registered with every fake provider.
pub const OAUTH_CLIENT_ID: &str = "fake-oauth-app";
/// Its client secret.
pub const OAUTH_CLIENT_SECRET: &str = "fake-oauth-app-secret-7c41d9";

/// A code the authorization page issued, until it is traded (once).
#[derive(Clone)]
pub(super) struct Grant {
    kind: ScmKind,
    user: &'static str,
    redirect_uri: String,
}

/// The OAuth routes of `kind`, after its prefix (`/github`, `/gitlab`, `/bitbucket`): the web
/// base a test configures with `--scm-web-url` (see [`FakeScm::web_url`]).
pub(super) fn route(kind: ScmKind, segs: &[&str]) -> Option<&'static str> {
    match (kind, segs) {
        (ScmKind::GitHub, ["login", "oauth", "authorize"])
        | (ScmKind::GitLab, ["oauth", "authorize"])
        | (ScmKind::Bitbucket, ["site", "oauth2", "authorize"]) => Some("authorize"),
        (ScmKind::GitHub, ["login", "oauth", "access_token"])
        | (ScmKind::GitLab, ["oauth", "token"])
        | (ScmKind::Bitbucket, ["site", "oauth2", "access_token"]) => Some("token"),
        _ => None,
    }
}

/// GET the authorization page: consent at once and redirect to `redirect_uri` with a code and
/// the `state` as given.
pub(super) fn authorize(kind: ScmKind, req: &Req, codes: &mut HashMap<String, Grant>) -> Resp {
    if req.q("client_id") != Some(OAUTH_CLIENT_ID) {
        return Resp::html(404, "<h1>404</h1><p>No OAuth application with this client id.</p>".into());
    }
    if kind != ScmKind::GitHub && req.q("response_type") != Some("code") {
        return Resp::html(400, "<p>response_type must be code.</p>".into());
    }
    let Some(redirect_uri) = req.q("redirect_uri").filter(|r| r.starts_with("http")) else {
        return Resp::html(400, "<p>The redirect_uri is missing (this fake has no registered one).</p>".into());
    };
    let login = req.q("login").unwrap_or(ALICE);
    let Some(user) = USERS.iter().find(|u| u.login == login) else {
        return Resp::html(400, format!("<p>No user {login}.</p>"));
    };
    let code = format!("code-{}-{}", user.login, uuid_like(codes.len()));
    codes.insert(code.clone(), Grant { kind, user: user.login, redirect_uri: redirect_uri.to_owned() });
    let mut target = url::Url::parse(redirect_uri).expect("checked to start with http");
    target.query_pairs_mut().append_pair("code", &code);
    if let Some(state) = req.q("state") {
        target.query_pairs_mut().append_pair("state", state);
    }
    Resp::html(302, String::new()).header("location", target.to_string())
}

/// POST the token endpoint: a code of this provider, once, for its user's token.
pub(super) fn token(kind: ScmKind, req: &Req, form: &[(String, String)], codes: &mut HashMap<String, Grant>) -> Resp {
    let field = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    // Bitbucket takes the client's credentials as HTTP Basic authentication, the others as fields.
    let (client_id, client_secret) = if kind == ScmKind::Bitbucket {
        let basic =
            req.headers.get("authorization").and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Basic "));
        let decoded = basic
            .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
            .and_then(|b| String::from_utf8(b).ok())
            .unwrap_or_default();
        let (id, secret) = decoded.split_once(':').unwrap_or_default();
        (id.to_owned(), secret.to_owned())
    } else {
        (field("client_id").unwrap_or_default().to_owned(), field("client_secret").unwrap_or_default().to_owned())
    };
    if client_id != OAUTH_CLIENT_ID || client_secret != OAUTH_CLIENT_SECRET {
        return refuse(kind, "invalid_client", "Client authentication failed: wrong client id or secret.");
    }
    if kind != ScmKind::GitHub && field("grant_type") != Some("authorization_code") {
        return refuse(kind, "unsupported_grant_type", "The authorization grant type is not supported.");
    }
    let grant = field("code").and_then(|c| codes.remove(c)).filter(|g| g.kind == kind);
    let Some(grant) = grant else {
        return refuse(kind, "invalid_grant", "The code passed is incorrect or expired.");
    };
    if field("redirect_uri").is_some_and(|r| r != grant.redirect_uri) {
        return refuse(kind, "invalid_grant", "The redirect_uri does not match the one the code was issued for.");
    }
    let user = grant.user;
    let pick = |tokens: [&'static str; 3]| tokens[USERS.iter().position(|u| u.login == user).unwrap_or(0)];
    match kind {
        ScmKind::GitHub => Resp::ok(json!({
            "access_token": pick([GITHUB_ALICE, GITHUB_BOB, GITHUB_CAROL]),
            "token_type": "bearer",
            "scope": "repo,read:user,user:email,workflow",
        })),
        ScmKind::GitLab => Resp::ok(json!({
            "access_token": pick([GITLAB_ALICE, GITLAB_BOB, GITLAB_CAROL]),
            "token_type": "Bearer",
            "expires_in": 7200,
            "refresh_token": format!("glrt-fake-refresh-{user}"),
            "scope": "api read_repository read_user",
            "created_at": 1_765_000_000,
        })),
        _ => Resp::ok(json!({
            "access_token": pick([BITBUCKET_ALICE, BITBUCKET_BOB, BITBUCKET_CAROL]),
            "token_type": "bearer",
            "expires_in": 7200,
            "refresh_token": format!("bb-fake-refresh-{user}"),
            "scopes": "repository account pullrequest",
            "state": "authorization_code",
        })),
    }
}

/// A refused token request, as the provider words it: GitHub with 200, the others with 400
/// (401 for the client's credentials).
fn refuse(kind: ScmKind, error: &str, description: &str) -> Resp {
    let body = json!({"error": error, "error_description": description});
    match kind {
        ScmKind::GitHub => Resp::ok(body),
        _ if error == "invalid_client" => Resp::json(401, body),
        _ => Resp::json(400, body),
    }
}

/// A code's unique part.
fn uuid_like(n: usize) -> String {
    format!("{:08x}{:08x}", std::process::id(), n)
}
