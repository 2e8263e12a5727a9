//! The context-URL grammar of each SCM provider: a pure parser, no I/O.
//!
//! A context URL is what a user pastes to start an environment: a repository, a branch or a
//! folder, a file, a commit, a pull request or an issue on GitHub (and GitHub Enterprise),
//! GitLab (gitlab.com and self-managed), Bitbucket Cloud or Azure DevOps (Services and Server).
//! [`parse`] works in three steps:
//!
//! 1. the URL must be well formed (scheme, host, port, path segments), whatever its host;
//! 2. its host must be the host of one of the runner's SCM integrations, else
//!    [`ParseError::UnknownHost`];
//! 3. the path must follow that integration's provider grammar.
//!
//! A ref that may contain slashes is left ambiguous ([`Target::RefAndPath`]): the caller
//! resolves the longest existing branch or tag against the provider's API. The grammar and the
//! decisions taken here are documented in `docs/context-urls.md`.

use percent_encoding::{AsciiSet, CONTROLS, percent_decode_str, utf8_percent_encode};

use super::provider::{RepoPath, ScmKind};

/// Longer URLs are refused outright (characters, not bytes).
const MAX_URL_LEN: usize = 2048;

/// What an Azure DevOps clone URL escapes in its segments: project and repository names may
/// contain spaces and other characters a URL path cannot carry as they are.
const SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'/')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}');

/// First path segments that are GitHub's own pages, never an owner.
const GITHUB_RESERVED: &[&str] = &[
    "apps",
    "codespaces",
    "collections",
    "enterprise",
    "explore",
    "features",
    "issues",
    "login",
    "logout",
    "marketplace",
    "new",
    "notifications",
    "organizations",
    "orgs",
    "pulls",
    "search",
    "settings",
    "sponsors",
    "topics",
    "trending",
    "users",
];

/// First path segments that are GitLab's own pages, never a group.
const GITLAB_RESERVED: &[&str] =
    &["admin", "dashboard", "explore", "groups", "help", "profile", "projects", "search", "users"];

/// An SCM integration's host as the parser matches it.
#[derive(Debug, Clone, Copy)]
pub struct IntegrationHost<'a> {
    /// As configured: `github.com`, `GHE.example.com:8443`, `dev.azure.com/acme` (Azure Entra: host plus organization path).
    pub host: &'a str,
    pub kind: ScmKind,
    /// Azure DevOps Server only, e.g. `/tfs`.
    pub virtual_directory: Option<&'a str>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseError {
    /// Not a context URL at all, or not one this provider's grammar accepts -> invalid_argument. The message says what is wrong, for a user.
    Invalid(String),
    /// Well-formed, but no integration has this host -> failed_precondition. Carries the URL's host (lower-case, with port if any).
    UnknownHost(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContextUrl {
    pub kind: ScmKind,
    /// Index into the `integrations` slice of the integration that matched.
    pub integration: usize,
    /// Lower-cased host with a non-default port if any: `github.com`, `gitlab.example.com:8443`.
    pub host: String,
    /// `https://github.com`, `http://gitlab.local:8080` (scheme as written; SSH forms give https), plus the Azure Server virtual directory when there is one (`https://tfs.example.com/tfs`). No trailing slash.
    pub base_url: String,
    pub repo: RepoPath,
    pub target: Target,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Repository,
    /// A ref whose extent is unknown, followed by an optional path: the percent-decoded segments after `tree/`, `blob/`, `src/`, `-/tree/`, `-/blob/`, `-/commits/` etc. The caller resolves the longest prefix that is an existing branch or tag against the SCM API. `file` is true for blob/file views.
    RefAndPath {
        segments: Vec<String>,
        file: bool,
    },
    /// An unambiguous branch (Azure `?version=GB…`, Bitbucket `/branch/{name}`), with the optional path (Azure `&path=`).
    Branch {
        name: String,
        path: Option<String>,
    },
    /// An unambiguous tag (GitHub `/releases/tag/{tag}`, Azure `?version=GT…`).
    Tag {
        name: String,
        path: Option<String>,
    },
    /// `/commit/{sha}`, `/-/commit/{sha}`, `/commits/{sha}` (Bitbucket), Azure `/commit/{sha}` or `?version=GC{sha}`. Lower-cased hex, 7..=64 chars; anything else is Invalid.
    Commit {
        sha: String,
    },
    PullRequest {
        number: u64,
    },
    Issue {
        number: u64,
    },
}

impl ContextUrl {
    /// The HTTPS (or as-written scheme) clone URL: `{base_url}/{owner}/{name}.git` for GitHub, GitLab and Bitbucket; `{base_url}/{org}/{project}/_git/{repo}` for Azure DevOps (owner is `org/project`).
    pub fn clone_url(&self) -> String {
        match self.kind {
            ScmKind::AzureDevOps => {
                let (org, project) = self.repo.owner.split_once('/').unwrap_or((&self.repo.owner, &self.repo.name));
                format!(
                    "{}/{}/{}/_git/{}",
                    self.base_url,
                    utf8_percent_encode(org, SEGMENT),
                    utf8_percent_encode(project, SEGMENT),
                    utf8_percent_encode(&self.repo.name, SEGMENT)
                )
            }
            ScmKind::GitHub | ScmKind::GitLab | ScmKind::Bitbucket => {
                format!("{}/{}/{}.git", self.base_url, self.repo.owner, self.repo.name)
            }
        }
    }
}

/// Parses `url` against the runner's integrations.
pub fn parse(url: &str, integrations: &[IntegrationHost<'_>]) -> Result<ContextUrl, ParseError> {
    let lexed = lex(url)?;
    let matched = match_integration(&lexed, integrations)?;
    let kind = integrations[matched.index].kind;
    let segments = &lexed.segments[matched.skip..];
    let (repo, rest) = match kind {
        ScmKind::GitHub => github_repo(segments)?,
        ScmKind::GitLab => gitlab_repo(segments, !lexed.ssh)?,
        ScmKind::Bitbucket => bitbucket_repo(segments)?,
        ScmKind::AzureDevOps => azure_repo(segments)?,
    };
    let target = if lexed.ssh {
        if !rest.is_empty() {
            return Err(invalid(
                "an SSH URL names a repository only; use the https:// URL of a branch, commit or pull request",
            ));
        }
        Target::Repository
    } else {
        match kind {
            ScmKind::GitHub => github_target(rest)?,
            ScmKind::GitLab => gitlab_target(rest)?,
            ScmKind::Bitbucket => bitbucket_target(rest, lexed.query)?,
            ScmKind::AzureDevOps => azure_target(rest, lexed.query)?,
        }
    };
    Ok(ContextUrl { kind, integration: matched.index, host: matched.host, base_url: matched.base_url, repo, target })
}

fn invalid(message: impl Into<String>) -> ParseError {
    ParseError::Invalid(message.into())
}

// --- Step 1: well-formedness ----------------------------------------------------------------

/// A well-formed URL, before any provider grammar.
struct Lexed<'u> {
    /// `ssh://…` or `user@host:path`: a repository reference only.
    ssh: bool,
    /// `http` or `https` (SSH forms: `https`).
    scheme: &'static str,
    /// Lower-cased; `ssh.dev.azure.com` already mapped to `dev.azure.com`.
    hostname: String,
    /// A non-default port (http(s)), or the SSH port, which host matching ignores.
    port: Option<u16>,
    /// Percent-decoded, without empty trailing segments.
    segments: Vec<String>,
    /// The raw query string, without `?`.
    query: &'u str,
}

fn lex(url: &str) -> Result<Lexed<'_>, ParseError> {
    if url.is_empty() {
        return Err(invalid("the context URL is empty"));
    }
    if url.chars().count() > MAX_URL_LEN {
        return Err(invalid(format!("the context URL is longer than {MAX_URL_LEN} characters")));
    }
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(invalid("the context URL must not contain spaces or control characters (write a space as %20)"));
    }
    let mut lexed = if let Some((scheme, rest)) = url.split_once("://")
        && is_scheme(scheme)
    {
        let (scheme, ssh) = match scheme.to_ascii_lowercase().as_str() {
            "https" => ("https", false),
            "http" => ("http", false),
            "ssh" => ("https", true),
            other => {
                return Err(invalid(format!(
                    "unsupported URL scheme {other:?}: a context URL starts with https://, http:// or ssh://"
                )));
            }
        };
        let (rest, query) = split_query(rest);
        let (authority, path) = rest.find('/').map_or((rest, ""), |i| rest.split_at(i));
        let host_port = match authority.rsplit_once('@') {
            Some((user, host_port)) => {
                if user.is_empty() {
                    return Err(invalid("the URL has an empty user name before @"));
                }
                if user.contains(':') {
                    return Err(invalid("the URL must not contain a password (user:password@)"));
                }
                host_port
            }
            None => authority,
        };
        let (hostname, port) = split_host_port(host_port)?;
        let port = match (scheme, port) {
            ("https", Some(443)) | ("http", Some(80)) if !ssh => None,
            (_, port) => port,
        };
        Lexed { ssh, scheme, hostname, port, segments: split_path(path)?, query }
    } else if let Some((user, rest)) = url.split_once('@')
        && is_ssh_user(user)
        && let Some((host, path)) = rest.split_once(':')
        && !host.contains('/')
    {
        // scp-like SSH: git@github.com:owner/repo.git
        let (hostname, _) = split_host_port(host)?;
        let (path, _) = split_query(path);
        Lexed { ssh: true, scheme: "https", hostname, port: None, segments: split_path(path)?, query: "" }
    } else {
        return Err(invalid(
            "not a context URL: expected https://{host}/{owner}/{repository}[/…] or git@{host}:{owner}/{repository}.git",
        ));
    };
    if lexed.ssh && lexed.hostname == "ssh.dev.azure.com" {
        // git@ssh.dev.azure.com:v3/{org}/{project}/{repo}: the repository on dev.azure.com.
        let [v3, org, project, repo] = lexed.segments.as_slice() else {
            return Err(invalid(
                "an Azure DevOps SSH URL has the form git@ssh.dev.azure.com:v3/{organization}/{project}/{repository}",
            ));
        };
        if !v3.eq_ignore_ascii_case("v3") {
            return Err(invalid(
                "an Azure DevOps SSH URL has the form git@ssh.dev.azure.com:v3/{organization}/{project}/{repository}",
            ));
        }
        lexed.segments = vec![org.clone(), project.clone(), "_git".to_owned(), repo.clone()];
        lexed.hostname = "dev.azure.com".to_owned();
        lexed.port = None;
    }
    Ok(lexed)
}

fn is_scheme(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
}

fn is_ssh_user(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

/// Drops the fragment, then splits off the query.
fn split_query(s: &str) -> (&str, &str) {
    let s = s.split_once('#').map_or(s, |(before, _)| before);
    s.split_once('?').unwrap_or((s, ""))
}

/// `host[:port]` or `[ipv6][:port]` → lower-cased host and port.
fn split_host_port(s: &str) -> Result<(String, Option<u16>), ParseError> {
    if s.is_empty() {
        return Err(invalid("the URL has no host"));
    }
    let (host, port) = if let Some(rest) = s.strip_prefix('[') {
        let (ip, after) = rest.split_once(']').ok_or_else(|| invalid(format!("the URL host {s:?} is not valid")))?;
        if ip.is_empty() || !ip.chars().all(|c| c.is_ascii_hexdigit() || matches!(c, ':' | '.')) {
            return Err(invalid(format!("the URL host {s:?} is not valid")));
        }
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':').ok_or_else(|| invalid(format!("the URL host {s:?} is not valid")))?),
        };
        (format!("[{ip}]"), port)
    } else {
        let (host, port) = s.rsplit_once(':').map_or((s, None), |(h, p)| (h, Some(p)));
        let labels_ok = !host.is_empty()
            && host.split('.').all(|label| {
                !label.is_empty()
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            });
        if !labels_ok {
            return Err(invalid(format!("the URL host {host:?} is not a valid host name")));
        }
        (host.to_owned(), port)
    };
    let port = match port {
        None => None,
        Some(p) => match p.parse::<u16>() {
            Ok(n) if n > 0 && !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()) => Some(n),
            _ => return Err(invalid(format!("the URL port {p:?} is not a number from 1 to 65535"))),
        },
    };
    Ok((host.to_ascii_lowercase(), port))
}

/// The path's segments, percent-decoded; a leading slash and trailing slashes are dropped.
fn split_path(path: &str) -> Result<Vec<String>, ParseError> {
    let path = path.strip_prefix('/').unwrap_or(path).trim_end_matches('/');
    if path.is_empty() {
        return Ok(Vec::new());
    }
    path.split('/')
        .map(|raw| {
            if raw.is_empty() {
                return Err(invalid("the URL path has an empty segment (//)"));
            }
            let segment = decode(raw)?;
            if segment == "." || segment == ".." {
                return Err(invalid("the URL path must not contain . or .. segments"));
            }
            Ok(segment)
        })
        .collect()
}

/// Percent-decodes one path segment or query value: escapes must be well formed, the result
/// UTF-8 without control characters. `+` stays `+`.
fn decode(raw: &str) -> Result<String, ParseError> {
    let escapes_ok =
        raw.split('%').skip(1).all(|chunk| chunk.len() >= 2 && chunk.as_bytes()[..2].iter().all(u8::is_ascii_hexdigit));
    if !escapes_ok {
        return Err(invalid(format!("{raw:?} has a malformed percent escape (expected %XX)")));
    }
    let decoded = percent_decode_str(raw)
        .decode_utf8()
        .map_err(|_| invalid(format!("{raw:?} is not UTF-8 text once percent-decoded")))?;
    if decoded.chars().any(char::is_control) {
        return Err(invalid(format!("{raw:?} contains a control character once percent-decoded")));
    }
    Ok(decoded.into_owned())
}

/// The first value of a query parameter (name compared without case), percent-decoded.
fn query_param(query: &str, name: &str) -> Result<Option<String>, ParseError> {
    for pair in query.split('&') {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        if key.eq_ignore_ascii_case(name) {
            return decode(value).map(Some);
        }
    }
    Ok(None)
}

// --- Step 2: the integration --------------------------------------------------------------

struct Matched {
    index: usize,
    host: String,
    base_url: String,
    /// Leading segments that were the virtual directory.
    skip: usize,
}

fn match_integration(lexed: &Lexed<'_>, integrations: &[IntegrationHost<'_>]) -> Result<Matched, ParseError> {
    let url_host = match lexed.port {
        Some(port) if !lexed.ssh => format!("{}:{port}", lexed.hostname),
        _ => lexed.hostname.clone(),
    };
    // (index, specificity, integration host, virtual directory)
    let mut best: Option<(usize, (usize, bool), String, String)> = None;
    let mut host_known = false;
    let mut missing_directory = None;
    for (index, integration) in integrations.iter().enumerate() {
        let (integration_host, org_path) = split_integration_host(integration.host);
        let exact = integration_host == url_host;
        // SSH ports say nothing about the HTTPS port: an SSH URL matches by host name only.
        if !(exact || lexed.ssh && strip_port(&integration_host) == lexed.hostname) {
            continue;
        }
        host_known = true;
        let directory = virtual_directory(integration.virtual_directory);
        let directory_segments: Vec<&str> = directory.split('/').filter(|s| !s.is_empty()).collect();
        if !starts_with_ignore_case(&lexed.segments, &directory_segments) {
            missing_directory = Some(directory);
            continue;
        }
        if !starts_with_ignore_case(&lexed.segments[directory_segments.len()..], &org_path) {
            continue;
        }
        let score = (directory_segments.len() + org_path.len(), exact);
        if best.as_ref().is_none_or(|(_, best_score, _, _)| score > *best_score) {
            best = Some((index, score, integration_host, directory));
        }
    }
    let Some((index, _, integration_host, directory)) = best else {
        return Err(match missing_directory {
            Some(directory) if host_known => invalid(format!(
                "URLs on {url_host} must start with the Azure DevOps Server virtual directory {directory}"
            )),
            _ => ParseError::UnknownHost(url_host),
        });
    };
    let skip = directory.split('/').filter(|s| !s.is_empty()).count();
    let host = if lexed.ssh { integration_host } else { url_host };
    let base_url = format!("{}://{host}{directory}", lexed.scheme);
    Ok(Matched { index, host, base_url, skip })
}

/// `GHE.example.com:443` → (`ghe.example.com`, []); `dev.azure.com/Acme` → (`dev.azure.com`, [`acme`]).
fn split_integration_host(host: &str) -> (String, Vec<String>) {
    let host = host.trim();
    let lower = host.to_ascii_lowercase();
    let host = ["https://", "http://"].iter().find(|p| lower.starts_with(*p)).map_or(host, |p| &host[p.len()..]);
    let (authority, path) = host.split_once('/').unwrap_or((host, ""));
    let authority = authority.to_ascii_lowercase();
    let authority = [":443", ":80"].iter().find_map(|p| authority.strip_suffix(p)).unwrap_or(&authority).to_owned();
    let path = path.split('/').filter(|s| !s.is_empty()).map(str::to_ascii_lowercase).collect();
    (authority, path)
}

fn strip_port(host: &str) -> &str {
    if host.starts_with('[') {
        host.find(']').map_or(host, |i| &host[..=i])
    } else {
        host.split(':').next().unwrap_or(host)
    }
}

/// `tfs/`, `/tfs` → `/tfs`; none or `/` → empty.
fn virtual_directory(directory: Option<&str>) -> String {
    let trimmed = directory.unwrap_or("").trim().trim_matches('/');
    if trimmed.is_empty() { String::new() } else { format!("/{trimmed}") }
}

fn starts_with_ignore_case<S: AsRef<str>>(segments: &[String], prefix: &[S]) -> bool {
    segments.len() >= prefix.len() && segments.iter().zip(prefix).all(|(s, p)| s.eq_ignore_ascii_case(p.as_ref()))
}

// --- Step 3: the provider grammars ---------------------------------------------------------

type RepoAndRest<'s> = (RepoPath, &'s [String]);

/// GitHub, GitLab and Bitbucket names: ASCII letters, digits, `-`, `_`, `.`.
fn slug(what: &str, s: &str) -> Result<(), ParseError> {
    if !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')) {
        Ok(())
    } else {
        Err(invalid(format!("{s:?} is not a valid {what} name: use letters, digits, '-', '_' and '.'")))
    }
}

/// Azure DevOps names may hold spaces and most punctuation, but no slash.
fn azure_name(what: &str, s: &str) -> Result<(), ParseError> {
    if !s.is_empty() && !s.contains(['/', '\\']) {
        Ok(())
    } else {
        Err(invalid(format!("{s:?} is not a valid Azure DevOps {what} name")))
    }
}

/// The repository name without a trailing `.git` (any case).
fn repo_name(raw: &str, check: fn(&str, &str) -> Result<(), ParseError>) -> Result<String, ParseError> {
    let name = raw
        .len()
        .checked_sub(4)
        .and_then(|i| raw.get(i..).filter(|suffix| suffix.eq_ignore_ascii_case(".git")).map(|_| &raw[..i]))
        .unwrap_or(raw);
    if name.is_empty() {
        return Err(invalid("the repository name is empty"));
    }
    check("repository", name)?;
    Ok(name.to_owned())
}

fn is_sha(s: &str) -> bool {
    (7..=64).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_hexdigit())
}

fn sha(s: &str) -> Result<String, ParseError> {
    if is_sha(s) {
        Ok(s.to_ascii_lowercase())
    } else {
        Err(invalid(format!("{s:?} is not a commit SHA (7 to 64 hexadecimal digits)")))
    }
}

fn number(s: &str, what: &str) -> Result<u64, ParseError> {
    if s.bytes().all(|b| b.is_ascii_digit())
        && let Ok(n) = s.parse::<u64>()
        && n > 0
    {
        return Ok(n);
    }
    Err(invalid(format!("{s:?} is not a {what} number (a whole number from 1)")))
}

/// The segment after a keyword that needs one.
fn first<'s>(keyword: &str, tail: &'s [String]) -> Result<&'s str, ParseError> {
    tail.first()
        .map(String::as_str)
        .ok_or_else(|| invalid(format!("the URL ends after /{keyword}: something must follow")))
}

fn ref_and_path(keyword: &str, tail: &[String], file: bool) -> Result<Target, ParseError> {
    first(keyword, tail)?;
    Ok(Target::RefAndPath { segments: tail.to_vec(), file })
}

fn commit(keyword: &str, tail: &[String]) -> Result<Target, ParseError> {
    Ok(Target::Commit { sha: sha(first(keyword, tail)?)? })
}

/// `/issues` alone is a list page (the repository); `/issues/{n}[/…]` one issue.
fn listing_or_number(tail: &[String], what: &str) -> Result<Option<u64>, ParseError> {
    tail.first().map(|s| number(s, what)).transpose()
}

fn pull_request_or_repository(tail: &[String]) -> Result<Target, ParseError> {
    Ok(listing_or_number(tail, "pull request")?.map_or(Target::Repository, |number| Target::PullRequest { number }))
}

fn issue_or_repository(tail: &[String]) -> Result<Target, ParseError> {
    Ok(listing_or_number(tail, "issue")?.map_or(Target::Repository, |number| Target::Issue { number }))
}

fn github_repo(segments: &[String]) -> Result<RepoAndRest<'_>, ParseError> {
    let [owner, name, rest @ ..] = segments else {
        return Err(invalid("a GitHub URL names an owner and a repository: https://{host}/{owner}/{repository}"));
    };
    if GITHUB_RESERVED.iter().any(|r| owner.eq_ignore_ascii_case(r)) {
        return Err(invalid(format!("/{owner}/… is a GitHub page, not a repository")));
    }
    slug("owner", owner)?;
    Ok((RepoPath { owner: owner.clone(), name: repo_name(name, slug)? }, rest))
}

fn github_target(rest: &[String]) -> Result<Target, ParseError> {
    let [keyword, tail @ ..] = rest else { return Ok(Target::Repository) };
    match keyword.as_str() {
        "tree" => ref_and_path(keyword, tail, false),
        "blob" | "blame" | "raw" => ref_and_path(keyword, tail, true),
        "commits" if tail.is_empty() => Ok(Target::Repository),
        "commits" => ref_and_path(keyword, tail, false),
        "commit" => commit(keyword, tail),
        "pull" => Ok(Target::PullRequest { number: number(first(keyword, tail)?, "pull request")? }),
        "issues" => issue_or_repository(tail),
        "releases" => match tail {
            [t, tag @ ..] if t == "tag" => {
                first("releases/tag", tag)?;
                Ok(Target::Tag { name: tag.join("/"), path: None })
            }
            _ => Ok(Target::Repository),
        },
        _ => Ok(Target::Repository),
    }
}

fn gitlab_repo(segments: &[String], legacy: bool) -> Result<RepoAndRest<'_>, ParseError> {
    let (project, rest) = match segments.iter().position(|s| s == "-") {
        Some(i) => (&segments[..i], &segments[i + 1..]),
        None if legacy => gitlab_legacy_split(segments),
        None => (segments, &segments[segments.len()..]),
    };
    let form = || invalid("a GitLab URL names a group and a project: https://{host}/{group}[/{subgroup}…]/{project}");
    let [groups @ .., name] = project else { return Err(form()) };
    let Some(top) = groups.first() else { return Err(form()) };
    if GITLAB_RESERVED.iter().any(|r| top.eq_ignore_ascii_case(r)) {
        return Err(invalid(format!("/{top}/… is a GitLab page, not a project")));
    }
    for group in groups {
        slug("group", group)?;
    }
    Ok((RepoPath { owner: groups.join("/"), name: repo_name(name, slug)? }, rest))
}

/// Old GitLab URLs had no `/-/`: `group/project/tree/main`. A keyword counts only from the
/// third segment on (a project path has at least two) and only when what follows fits it
/// (something for `tree`/`blob`/`commits`, a SHA for `commit`, digits for `merge_requests` and
/// `issues`); otherwise the whole path is the project path.
fn gitlab_legacy_split(segments: &[String]) -> (&[String], &[String]) {
    for i in 2..segments.len().saturating_sub(1) {
        let next = &segments[i + 1];
        let hit = match segments[i].as_str() {
            "tree" | "blob" | "commits" => true,
            "commit" => is_sha(next),
            "merge_requests" | "issues" => next.bytes().all(|b| b.is_ascii_digit()),
            _ => false,
        };
        if hit {
            return segments.split_at(i);
        }
    }
    (segments, &segments[segments.len()..])
}

fn gitlab_target(rest: &[String]) -> Result<Target, ParseError> {
    let [keyword, tail @ ..] = rest else { return Ok(Target::Repository) };
    match keyword.as_str() {
        "tree" => ref_and_path(keyword, tail, false),
        "blob" | "blame" | "raw" => ref_and_path(keyword, tail, true),
        "commits" if tail.is_empty() => Ok(Target::Repository),
        "commits" => ref_and_path(keyword, tail, false),
        "commit" => commit(keyword, tail),
        "merge_requests" => pull_request_or_repository(tail),
        "issues" => issue_or_repository(tail),
        "tags" if tail.is_empty() => Ok(Target::Repository),
        "tags" => Ok(Target::Tag { name: tail.join("/"), path: None }),
        _ => Ok(Target::Repository),
    }
}

fn bitbucket_repo(segments: &[String]) -> Result<RepoAndRest<'_>, ParseError> {
    let [workspace, name, rest @ ..] = segments else {
        return Err(invalid(
            "a Bitbucket URL names a workspace and a repository: https://bitbucket.org/{workspace}/{repository}",
        ));
    };
    slug("workspace", workspace)?;
    Ok((RepoPath { owner: workspace.clone(), name: repo_name(name, slug)? }, rest))
}

fn bitbucket_target(rest: &[String], query: &str) -> Result<Target, ParseError> {
    let [keyword, tail @ ..] = rest else { return Ok(Target::Repository) };
    match keyword.as_str() {
        "src" => {
            // `/src/{sha}/{path}?at={branch}`: Bitbucket's link to a branch pins the commit in
            // the path and names the branch in `at`.
            if let Some(at) = query_param(query, "at")?.filter(|at| !at.is_empty()) {
                let path = tail.get(1..).filter(|p| !p.is_empty()).map(|p| p.join("/"));
                return Ok(match at.strip_prefix("refs/tags/") {
                    Some(tag) => Target::Tag { name: tag.to_owned(), path },
                    None => Target::Branch { name: at.strip_prefix("refs/heads/").unwrap_or(&at).to_owned(), path },
                });
            }
            if tail.is_empty() { Ok(Target::Repository) } else { ref_and_path(keyword, tail, false) }
        }
        "branch" => {
            first(keyword, tail)?;
            Ok(Target::Branch { name: tail.join("/"), path: None })
        }
        "commits" => match tail {
            [] => Ok(Target::Repository),
            [b, name @ ..] if b == "branch" => {
                first("commits/branch", name)?;
                Ok(Target::Branch { name: name.join("/"), path: None })
            }
            _ => commit(keyword, tail),
        },
        "pull-requests" => pull_request_or_repository(tail),
        "issues" => issue_or_repository(tail),
        _ => Ok(Target::Repository),
    }
}

fn azure_repo(segments: &[String]) -> Result<RepoAndRest<'_>, ParseError> {
    let form = || {
        invalid("an Azure DevOps repository URL has the form https://{host}/{organization}/{project}/_git/{repository}")
    };
    let git = segments.iter().position(|s| s.eq_ignore_ascii_case("_git")).ok_or_else(form)?;
    let (org, project, repo, rest) = match (git, segments) {
        (1, [org, _, repo, rest @ ..]) => (org, None, repo, rest),
        (2, [org, project, _, repo, rest @ ..]) => (org, Some(project), repo, rest),
        _ => return Err(form()),
    };
    azure_name("organization", org)?;
    let name = repo_name(repo, azure_name)?;
    let project = match project {
        Some(project) => {
            azure_name("project", project)?;
            project.clone()
        }
        // `/{org}/_git/{repo}`: the repository of the project with the same name.
        None => name.clone(),
    };
    Ok((RepoPath { owner: format!("{org}/{project}"), name }, rest))
}

fn azure_target(rest: &[String], query: &str) -> Result<Target, ParseError> {
    match rest {
        [] => azure_version(query),
        [keyword, tail @ ..] if keyword.eq_ignore_ascii_case("commit") => commit(keyword, tail),
        [keyword, tail @ ..] if keyword.eq_ignore_ascii_case("pullrequest") => {
            Ok(Target::PullRequest { number: number(first(keyword, tail)?, "pull request")? })
        }
        _ => Ok(Target::Repository),
    }
}

/// `?version=GB{branch}|GT{tag}|GC{sha}[&path={path}]` on the repository page.
fn azure_version(query: &str) -> Result<Target, ParseError> {
    let Some(version) = query_param(query, "version")?.filter(|v| !v.is_empty()) else {
        return Ok(Target::Repository);
    };
    let path = match query_param(query, "path")? {
        Some(path) => clean_path(&path)?,
        None => None,
    };
    let bad = || invalid(format!("version={version:?} must be GB{{branch}}, GT{{tag}} or GC{{commit}}"));
    let (Some(prefix), Some(name)) = (version.get(..2), version.get(2..)) else { return Err(bad()) };
    if name.is_empty() {
        return Err(bad());
    }
    match prefix.to_ascii_uppercase().as_str() {
        "GB" => Ok(Target::Branch { name: name.to_owned(), path }),
        "GT" => Ok(Target::Tag { name: name.to_owned(), path }),
        "GC" => Ok(Target::Commit { sha: sha(name)? }),
        _ => Err(bad()),
    }
}

/// A path from a query: relative, without `.`/`..` segments; `/` alone is none.
fn clean_path(path: &str) -> Result<Option<String>, ParseError> {
    let trimmed = path.trim_matches('/');
    if trimmed.split('/').any(|s| s == "." || s == "..") {
        return Err(invalid("the path parameter must not contain . or .. segments"));
    }
    Ok((!trimmed.is_empty()).then(|| trimmed.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const GITHUB: ScmKind = ScmKind::GitHub;
    const GITLAB: ScmKind = ScmKind::GitLab;
    const BITBUCKET: ScmKind = ScmKind::Bitbucket;
    const AZURE: ScmKind = ScmKind::AzureDevOps;

    fn integration(host: &str, kind: ScmKind) -> IntegrationHost<'_> {
        IntegrationHost { host, kind, virtual_directory: None }
    }

    /// 0 github.com, 1 GHE (configured upper-case), 2 gitlab.com, 3 self-managed GitLab on
    /// 8443, 4 bitbucket.org, 5 Azure DevOps (Entra) for organization contoso, 6 Azure DevOps
    /// Server under /tfs.
    fn integrations() -> Vec<IntegrationHost<'static>> {
        vec![
            integration("github.com", GITHUB),
            integration("GHE.example.com", GITHUB),
            integration("gitlab.com", GITLAB),
            integration("gitlab.example.com:8443", GITLAB),
            integration("bitbucket.org", BITBUCKET),
            integration("dev.azure.com/contoso", AZURE),
            IntegrationHost { host: "tfs.example.com", kind: AZURE, virtual_directory: Some("/tfs") },
        ]
    }

    #[derive(Debug)]
    enum Want {
        Ok { kind: ScmKind, host: &'static str, owner: &'static str, name: &'static str, target: Target },
        Invalid,
        Unknown(&'static str),
    }

    fn ok(kind: ScmKind, host: &'static str, owner: &'static str, name: &'static str, target: Target) -> Want {
        Want::Ok { kind, host, owner, name, target }
    }
    fn gh(owner: &'static str, name: &'static str, target: Target) -> Want {
        ok(GITHUB, "github.com", owner, name, target)
    }
    fn gl(owner: &'static str, name: &'static str, target: Target) -> Want {
        ok(GITLAB, "gitlab.com", owner, name, target)
    }
    fn bb(owner: &'static str, name: &'static str, target: Target) -> Want {
        ok(BITBUCKET, "bitbucket.org", owner, name, target)
    }
    fn az(owner: &'static str, name: &'static str, target: Target) -> Want {
        ok(AZURE, "dev.azure.com", owner, name, target)
    }
    fn tfs(owner: &'static str, name: &'static str, target: Target) -> Want {
        ok(AZURE, "tfs.example.com", owner, name, target)
    }

    const REPO: Target = Target::Repository;
    fn refs(segments: &[&str]) -> Target {
        Target::RefAndPath { segments: segments.iter().map(|s| (*s).to_owned()).collect(), file: false }
    }
    fn file(segments: &[&str]) -> Target {
        Target::RefAndPath { segments: segments.iter().map(|s| (*s).to_owned()).collect(), file: true }
    }
    fn branch(name: &str, path: Option<&str>) -> Target {
        Target::Branch { name: name.to_owned(), path: path.map(str::to_owned) }
    }
    fn tag(name: &str, path: Option<&str>) -> Target {
        Target::Tag { name: name.to_owned(), path: path.map(str::to_owned) }
    }
    fn commit(sha: &str) -> Target {
        Target::Commit { sha: sha.to_owned() }
    }
    fn pr(number: u64) -> Target {
        Target::PullRequest { number }
    }
    fn issue(number: u64) -> Target {
        Target::Issue { number }
    }

    fn rows() -> Vec<(String, Want)> {
        use Want::{Invalid, Unknown};
        let rows: Vec<(&str, Want)> = vec![
            // --- GitHub ---
            ("https://github.com/octocat/Hello-World", gh("octocat", "Hello-World", REPO)),
            ("https://github.com/octocat/Hello-World.git", gh("octocat", "Hello-World", REPO)),
            ("https://github.com/octocat/Hello-World/", gh("octocat", "Hello-World", REPO)),
            ("https://github.com/octocat/Hello-World.git/", gh("octocat", "Hello-World", REPO)),
            ("https://GitHub.COM/OctoCat/Hello-World", gh("OctoCat", "Hello-World", REPO)),
            ("https://github.com:443/octocat/hello", gh("octocat", "hello", REPO)),
            ("http://github.com/octocat/hello", gh("octocat", "hello", REPO)),
            ("http://github.com:80/octocat/hello", gh("octocat", "hello", REPO)),
            ("http://github.com:443/octocat/hello", Unknown("github.com:443")),
            ("https://user@github.com/octocat/hello", gh("octocat", "hello", REPO)),
            ("https://user:secret@github.com/octocat/hello", Invalid),
            ("https://github.com/octocat/hello/tree/main", gh("octocat", "hello", refs(&["main"]))),
            (
                "https://github.com/octocat/hello/tree/feature/login/src/app",
                gh("octocat", "hello", refs(&["feature", "login", "src", "app"])),
            ),
            (
                "https://github.com/octocat/hello/tree/feature%2Flogin/src",
                gh("octocat", "hello", refs(&["feature/login", "src"])),
            ),
            (
                "https://github.com/octocat/hello/blob/main/README.md",
                gh("octocat", "hello", file(&["main", "README.md"])),
            ),
            (
                "https://github.com/octocat/hello/blob/main/docs/My%20File.md#L10-L20",
                gh("octocat", "hello", file(&["main", "docs", "My File.md"])),
            ),
            (
                "https://github.com/octocat/hello/blob/v1.0/src/%E2%9C%93.rs",
                gh("octocat", "hello", file(&["v1.0", "src", "✓.rs"])),
            ),
            ("https://github.com/octocat/hello/blame/main/lib.rs", gh("octocat", "hello", file(&["main", "lib.rs"]))),
            ("https://github.com/octocat/hello.git/tree/main", gh("octocat", "hello", refs(&["main"]))),
            ("https://github.com/octocat/hello/commit/ABCDEF1234567", gh("octocat", "hello", commit("abcdef1234567"))),
            (
                "https://github.com/octocat/hello/commit/6dcb09b5b57875f334f61aebed695e2e4193db5e",
                gh("octocat", "hello", commit("6dcb09b5b57875f334f61aebed695e2e4193db5e")),
            ),
            ("https://github.com/octocat/hello/commits/main", gh("octocat", "hello", refs(&["main"]))),
            ("https://github.com/octocat/hello/commits", gh("octocat", "hello", REPO)),
            ("https://github.com/octocat/hello/pull/42", gh("octocat", "hello", pr(42))),
            ("https://github.com/octocat/hello/pull/42/files", gh("octocat", "hello", pr(42))),
            ("https://github.com/octocat/hello/pull/42/commits/abc1234", gh("octocat", "hello", pr(42))),
            ("https://github.com/octocat/hello/pull/42/checks?check_run_id=1", gh("octocat", "hello", pr(42))),
            ("https://github.com/octocat/hello/issues/7", gh("octocat", "hello", issue(7))),
            ("https://github.com/octocat/hello/issues", gh("octocat", "hello", REPO)),
            ("https://github.com/octocat/hello/pulls", gh("octocat", "hello", REPO)),
            ("https://github.com/octocat/hello/releases/tag/v1.2.3", gh("octocat", "hello", tag("v1.2.3", None))),
            (
                "https://github.com/octocat/hello/releases/tag/release/2024-01",
                gh("octocat", "hello", tag("release/2024-01", None)),
            ),
            ("https://github.com/octocat/hello/releases", gh("octocat", "hello", REPO)),
            ("https://github.com/octocat/hello/actions/runs/1", gh("octocat", "hello", REPO)),
            ("https://github.com/octocat/hello/wiki", gh("octocat", "hello", REPO)),
            ("https://github.com/octocat/hello/settings", gh("octocat", "hello", REPO)),
            ("https://github.com/octocat/hello?tab=readme-ov-file", gh("octocat", "hello", REPO)),
            ("https://github.com/octocat/hello#readme", gh("octocat", "hello", REPO)),
            ("git@github.com:octocat/hello.git", gh("octocat", "hello", REPO)),
            ("ssh://git@github.com/octocat/hello.git", gh("octocat", "hello", REPO)),
            ("ssh://git@github.com:22/octocat/hello", gh("octocat", "hello", REPO)),
            ("git@github.com:octocat/hello/tree/main", Invalid),
            ("https://github.com/octocat", Invalid),
            ("https://github.com/", Invalid),
            ("https://github.com/octocat/hello/pull/abc", Invalid),
            ("https://github.com/octocat/hello/pull/0", Invalid),
            ("https://github.com/octocat/hello/pull", Invalid),
            ("https://github.com/octocat/hello/pull/99999999999999999999999", Invalid),
            ("https://github.com/octocat/hello/issues/-3", Invalid),
            ("https://github.com/octocat/hello/commit/xyz1234", Invalid),
            ("https://github.com/octocat/hello/commit/abc12", Invalid),
            ("https://github.com/octocat/hello/tree/main/../secret", Invalid),
            ("https://github.com/octocat/hello/tree/%2E%2E", Invalid),
            ("https://github.com/octocat/hello/tree/main%00", Invalid),
            ("https://github.com/octocat/hello/tree", Invalid),
            ("https://github.com/octo%20cat/hello", Invalid),
            ("https://github.com/orgs/acme", Invalid),
            ("https://github.com/octocat/.git", Invalid),
            // --- GitHub Enterprise ---
            (
                "https://ghe.example.com/team/service/tree/release/1.x",
                ok(GITHUB, "ghe.example.com", "team", "service", refs(&["release", "1.x"])),
            ),
            (
                "https://GHE.EXAMPLE.COM:443/Team/Service/pull/3",
                ok(GITHUB, "ghe.example.com", "Team", "Service", pr(3)),
            ),
            ("git@ghe.example.com:team/service.git", ok(GITHUB, "ghe.example.com", "team", "service", REPO)),
            ("https://ghe.example.com:8443/team/service", Unknown("ghe.example.com:8443")),
            // --- GitLab ---
            ("https://gitlab.com/gitlab-org/gitlab", gl("gitlab-org", "gitlab", REPO)),
            ("https://gitlab.com/gitlab-org/gitlab.git", gl("gitlab-org", "gitlab", REPO)),
            ("https://gitlab.com/acme/platform/backend/api", gl("acme/platform/backend", "api", REPO)),
            (
                "https://gitlab.com/acme/platform/backend/api/-/tree/main",
                gl("acme/platform/backend", "api", refs(&["main"])),
            ),
            (
                "https://gitlab.com/acme/platform/api/-/tree/feature/x/src",
                gl("acme/platform", "api", refs(&["feature", "x", "src"])),
            ),
            ("https://gitlab.com/acme/api/-/blob/main/README.md", gl("acme", "api", file(&["main", "README.md"]))),
            (
                "https://gitlab.com/acme/api/-/blob/main/dir%2Fname/file.txt",
                gl("acme", "api", file(&["main", "dir/name", "file.txt"])),
            ),
            ("https://gitlab.com/acme/api/-/commits/develop", gl("acme", "api", refs(&["develop"]))),
            ("https://gitlab.com/acme/api/-/commit/0123456789ABCDEF", gl("acme", "api", commit("0123456789abcdef"))),
            ("https://gitlab.com/acme/api/-/merge_requests/15", gl("acme", "api", pr(15))),
            ("https://gitlab.com/acme/api/-/merge_requests/15/diffs?commit_id=abc", gl("acme", "api", pr(15))),
            ("https://gitlab.com/acme/api/-/merge_requests", gl("acme", "api", REPO)),
            ("https://gitlab.com/acme/api/-/issues/3", gl("acme", "api", issue(3))),
            ("https://gitlab.com/Acme/Platform/API/-/issues/12#note_1", gl("Acme/Platform", "API", issue(12))),
            ("https://gitlab.com/acme/api/-/tags/v2.0.0", gl("acme", "api", tag("v2.0.0", None))),
            ("https://gitlab.com/acme/api/-/pipelines", gl("acme", "api", REPO)),
            ("https://gitlab.com/acme/api/-/", gl("acme", "api", REPO)),
            ("https://gitlab.com/acme/api.git/-/tree/main", gl("acme", "api", refs(&["main"]))),
            ("https://gitlab.com/acme/platform/api/tree/main", gl("acme/platform", "api", refs(&["main"]))),
            (
                "https://gitlab.com/acme/platform/api/blob/main/a.txt",
                gl("acme/platform", "api", file(&["main", "a.txt"])),
            ),
            ("https://gitlab.com/acme/platform/api/merge_requests/9", gl("acme/platform", "api", pr(9))),
            ("https://gitlab.com/acme/platform/api/issues/4", gl("acme/platform", "api", issue(4))),
            ("https://gitlab.com/acme/platform/api/commit/deadbeef", gl("acme/platform", "api", commit("deadbeef"))),
            ("https://gitlab.com/acme/tree/main", gl("acme/tree", "main", REPO)),
            ("https://gitlab.com/acme/platform/issues/tracker", gl("acme/platform/issues", "tracker", REPO)),
            ("https://gitlab.com/acme", Invalid),
            ("https://gitlab.com/acme/-/tree/main", Invalid),
            ("https://gitlab.com/groups/acme", Invalid),
            ("https://gitlab.com/acme/api/-/merge_requests/abc", Invalid),
            ("https://gitlab.com/acme/api/-/commit/zzzzzzz", Invalid),
            (
                "https://gitlab.example.com:8443/infra/tools/deploy/-/tree/main",
                ok(GITLAB, "gitlab.example.com:8443", "infra/tools", "deploy", refs(&["main"])),
            ),
            ("https://gitlab.example.com/infra/deploy", Unknown("gitlab.example.com")),
            ("https://gitlab.example.com:9443/infra/deploy", Unknown("gitlab.example.com:9443")),
            ("git@gitlab.com:acme/platform/api.git", gl("acme/platform", "api", REPO)),
            (
                "ssh://git@gitlab.example.com:2222/infra/tools/deploy.git",
                ok(GITLAB, "gitlab.example.com:8443", "infra/tools", "deploy", REPO),
            ),
            // --- Bitbucket Cloud ---
            ("https://bitbucket.org/atlassian/python-bitbucket", bb("atlassian", "python-bitbucket", REPO)),
            ("https://bitbucket.org/atlassian/repo/src/master/", bb("atlassian", "repo", refs(&["master"]))),
            (
                "https://bitbucket.org/atlassian/repo/src/feature/x/docs/README.md",
                bb("atlassian", "repo", refs(&["feature", "x", "docs", "README.md"])),
            ),
            (
                "https://bitbucket.org/atlassian/repo/src/0a1b2c3d4e5f/docs/?at=feature%2Fx",
                bb("atlassian", "repo", branch("feature/x", Some("docs"))),
            ),
            (
                "https://bitbucket.org/atlassian/repo/src/0a1b2c3d/?at=refs%2Ftags%2Fv1",
                bb("atlassian", "repo", tag("v1", None)),
            ),
            (
                "https://bitbucket.org/atlassian/repo/branch/feature/login",
                bb("atlassian", "repo", branch("feature/login", None)),
            ),
            (
                "https://bitbucket.org/atlassian/repo/commits/branch/feature%2Fy",
                bb("atlassian", "repo", branch("feature/y", None)),
            ),
            ("https://bitbucket.org/atlassian/repo/commits/A1B2C3D4", bb("atlassian", "repo", commit("a1b2c3d4"))),
            ("https://bitbucket.org/atlassian/repo/commits", bb("atlassian", "repo", REPO)),
            ("https://bitbucket.org/atlassian/repo/pull-requests/12", bb("atlassian", "repo", pr(12))),
            ("https://bitbucket.org/atlassian/repo/pull-requests/12/diff", bb("atlassian", "repo", pr(12))),
            ("https://bitbucket.org/atlassian/repo/issues/5/crash-on-start", bb("atlassian", "repo", issue(5))),
            ("https://bitbucket.org/atlassian/repo/wiki/Home", bb("atlassian", "repo", REPO)),
            ("git@bitbucket.org:atlassian/repo.git", bb("atlassian", "repo", REPO)),
            ("https://someone@bitbucket.org/atlassian/repo.git", bb("atlassian", "repo", REPO)),
            ("https://bitbucket.org/atlassian/repo/pull-requests/-1", Invalid),
            ("https://bitbucket.org/atlassian/repo/commits/main", Invalid),
            ("https://bitbucket.org/atlassian/repo/branch", Invalid),
            ("https://bitbucket.org/atlassian", Invalid),
            // --- Azure DevOps (Entra, organization contoso) ---
            ("https://dev.azure.com/contoso/Web/_git/Portal", az("contoso/Web", "Portal", REPO)),
            ("https://dev.azure.com/contoso/_git/Portal", az("contoso/Portal", "Portal", REPO)),
            ("https://contoso@dev.azure.com/contoso/Web/_git/Portal", az("contoso/Web", "Portal", REPO)),
            ("https://DEV.AZURE.COM/Contoso/My%20Project/_git/My%20Repo/", az("Contoso/My Project", "My Repo", REPO)),
            (
                "https://dev.azure.com/contoso/Web/_git/Portal?version=GBfeature%2Flogin",
                az("contoso/Web", "Portal", branch("feature/login", None)),
            ),
            (
                "https://dev.azure.com/contoso/Web/_git/Portal?path=%2Fsrc%2Fapp.ts&version=GBmain&_a=contents",
                az("contoso/Web", "Portal", branch("main", Some("src/app.ts"))),
            ),
            (
                "https://dev.azure.com/contoso/Web/_git/Portal?version=GBa+b",
                az("contoso/Web", "Portal", branch("a+b", None)),
            ),
            ("https://dev.azure.com/contoso/Web/_git/Portal?version=&path=%2F", az("contoso/Web", "Portal", REPO)),
            (
                "https://dev.azure.com/contoso/Web/_git/Portal?version=GTv1.0",
                az("contoso/Web", "Portal", tag("v1.0", None)),
            ),
            (
                "https://dev.azure.com/contoso/Web/_git/Portal?version=GC0123abcd",
                az("contoso/Web", "Portal", commit("0123abcd")),
            ),
            (
                "https://dev.azure.com/contoso/Web/_git/Portal/commit/0123ABCD",
                az("contoso/Web", "Portal", commit("0123abcd")),
            ),
            ("https://dev.azure.com/contoso/Web/_git/Portal/pullrequest/77", az("contoso/Web", "Portal", pr(77))),
            ("https://dev.azure.com/contoso/Web/_git/Portal/pullrequests?_a=mine", az("contoso/Web", "Portal", REPO)),
            ("https://dev.azure.com/contoso/Web/_git/Portal/branches", az("contoso/Web", "Portal", REPO)),
            ("git@ssh.dev.azure.com:v3/contoso/Web/Portal", az("contoso/Web", "Portal", REPO)),
            ("ssh://git@ssh.dev.azure.com/v3/contoso/Web/Portal", az("contoso/Web", "Portal", REPO)),
            ("git@ssh.dev.azure.com:contoso/Web/Portal", Invalid),
            ("https://dev.azure.com/contoso/Web/Portal", Invalid),
            ("https://dev.azure.com/contoso/Web/_git", Invalid),
            ("https://dev.azure.com/contoso/Web/_git/Portal?version=XXmain", Invalid),
            ("https://dev.azure.com/contoso/Web/_git/Portal/pullrequest/0", Invalid),
            ("https://dev.azure.com/contoso/Web/_git/Portal?version=GBmain&path=%2F..%2Fetc", Invalid),
            ("https://dev.azure.com/fabrikam/Web/_git/Portal", Unknown("dev.azure.com")),
            // --- Azure DevOps Server (virtual directory /tfs) ---
            (
                "https://tfs.example.com/tfs/DefaultCollection/Web/_git/Portal",
                tfs("DefaultCollection/Web", "Portal", REPO),
            ),
            (
                "https://TFS.example.com/TFS/DefaultCollection/Web/_git/Portal?version=GBrelease%2F2.0",
                tfs("DefaultCollection/Web", "Portal", branch("release/2.0", None)),
            ),
            (
                "ssh://tfs.example.com:22/tfs/DefaultCollection/Web/_git/Portal",
                tfs("DefaultCollection/Web", "Portal", REPO),
            ),
            ("https://tfs.example.com/DefaultCollection/Web/_git/Portal", Invalid),
            // --- not context URLs at all, unknown hosts ---
            ("", Invalid),
            ("   ", Invalid),
            (" https://github.com/octocat/hello", Invalid),
            ("https://github.com/octocat/hello world", Invalid),
            ("ftp://github.com/octocat/hello", Invalid),
            ("github.com/octocat/hello", Invalid),
            ("https:/github.com/octocat/hello", Invalid),
            ("https:///octocat/hello", Invalid),
            ("https://github.com:abc/octocat/hello", Invalid),
            ("https://github.com:0/octocat/hello", Invalid),
            ("https://github.com//hello", Invalid),
            ("https://github.com/octocat/hello/blob/main/%ZZ", Invalid),
            ("https://github.com/octocat/hello/blob/main/%FF", Invalid),
            ("https://gith_ub.com/octocat/hello", Invalid),
            ("https://example.com/octocat/hello", Unknown("example.com")),
            ("https://Example.COM:8080/weird", Unknown("example.com:8080")),
            ("git@example.com:octocat/hello.git", Unknown("example.com")),
        ];
        let mut rows: Vec<(String, Want)> = rows.into_iter().map(|(url, want)| (url.to_owned(), want)).collect();
        rows.push((format!("https://github.com/octocat/hello/tree/{}", "a".repeat(2048)), Want::Invalid));
        rows
    }

    #[test]
    fn table_has_at_least_ninety_urls() {
        assert!(rows().len() >= 90, "{} rows", rows().len());
    }

    #[test]
    fn table() {
        let integrations = integrations();
        let mut failures = Vec::new();
        for (url, want) in rows() {
            let got = parse(&url, &integrations);
            let pass = match (&want, &got) {
                (Want::Ok { kind, host, owner, name, target }, Ok(c)) => {
                    c.kind == *kind
                        && c.host == *host
                        && c.repo.owner == *owner
                        && c.repo.name == *name
                        && c.target == *target
                        && integrations[c.integration].kind == *kind
                }
                (Want::Invalid, Err(ParseError::Invalid(message))) => !message.is_empty(),
                (Want::Unknown(host), Err(ParseError::UnknownHost(h))) => h == host,
                _ => false,
            };
            if !pass {
                failures.push(format!("{url}\n  want {want:?}\n  got  {got:?}"));
            }
        }
        assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
    }

    #[test]
    fn base_url_and_integration() {
        let integrations = integrations();
        let cases = [
            ("https://github.com/o/r", 0, "https://github.com"),
            ("http://github.com:80/o/r", 0, "http://github.com"),
            ("git@GHE.example.com:o/r.git", 1, "https://ghe.example.com"),
            ("https://gitlab.example.com:8443/g/p", 3, "https://gitlab.example.com:8443"),
            ("ssh://git@gitlab.example.com:2222/g/p.git", 3, "https://gitlab.example.com:8443"),
            ("https://bitbucket.org/w/r", 4, "https://bitbucket.org"),
            ("git@ssh.dev.azure.com:v3/contoso/p/r", 5, "https://dev.azure.com"),
            ("https://tfs.example.com/TFS/c/p/_git/r", 6, "https://tfs.example.com/tfs"),
        ];
        for (url, index, base_url) in cases {
            let c = parse(url, &integrations).unwrap();
            assert_eq!((c.integration, c.base_url.as_str()), (index, base_url), "{url}");
            assert!(!c.base_url.ends_with('/'));
        }
    }

    #[test]
    fn most_specific_azure_integration_wins() {
        let integrations = [
            integration("dev.azure.com", AZURE),
            integration("dev.azure.com/Contoso", AZURE),
            integration("dev.azure.com/fabrikam", AZURE),
        ];
        assert_eq!(parse("https://dev.azure.com/contoso/p/_git/r", &integrations).unwrap().integration, 1);
        assert_eq!(parse("https://dev.azure.com/fabrikam/p/_git/r", &integrations).unwrap().integration, 2);
        assert_eq!(parse("https://dev.azure.com/other/p/_git/r", &integrations).unwrap().integration, 0);
    }

    #[test]
    fn integration_hosts_are_normalised() {
        let integrations =
            [integration("GitLab.Example.com:443", GITLAB), integration("https://ghe.example.com/", GITHUB)];
        assert_eq!(parse("https://gitlab.example.com/g/p", &integrations).unwrap().integration, 0);
        assert_eq!(parse("https://ghe.example.com/o/r", &integrations).unwrap().integration, 1);
    }

    #[test]
    fn ssh_prefers_the_integration_without_a_port() {
        let integrations = [integration("git.example.com:8443", GITLAB), integration("git.example.com", GITLAB)];
        let c = parse("git@git.example.com:g/p.git", &integrations).unwrap();
        assert_eq!((c.integration, c.base_url.as_str()), (1, "https://git.example.com"));
    }

    #[test]
    fn without_integrations_well_formed_urls_are_unknown_hosts() {
        assert_eq!(
            parse("https://GitHub.com/o/r/pull/abc", &[]),
            Err(ParseError::UnknownHost("github.com".to_owned()))
        );
        assert!(matches!(parse("ftp://github.com/o/r", &[]), Err(ParseError::Invalid(_))));
        assert!(matches!(parse("https://github.com/o/../r", &[]), Err(ParseError::Invalid(_))));
    }

    #[test]
    fn clone_urls() {
        let integrations = integrations();
        let cases = [
            ("https://github.com/octocat/hello/tree/main", "https://github.com/octocat/hello.git"),
            ("git@github.com:octocat/hello.git", "https://github.com/octocat/hello.git"),
            ("http://github.com/octocat/hello", "http://github.com/octocat/hello.git"),
            ("https://gitlab.com/acme/platform/api/-/issues/1", "https://gitlab.com/acme/platform/api.git"),
            ("ssh://git@gitlab.example.com:2222/infra/deploy.git", "https://gitlab.example.com:8443/infra/deploy.git"),
            ("https://bitbucket.org/atlassian/repo/pull-requests/3", "https://bitbucket.org/atlassian/repo.git"),
            ("https://contoso@dev.azure.com/contoso/Web/_git/Portal", "https://dev.azure.com/contoso/Web/_git/Portal"),
            (
                "https://dev.azure.com/contoso/My%20Project/_git/My%20Repo",
                "https://dev.azure.com/contoso/My%20Project/_git/My%20Repo",
            ),
            ("https://dev.azure.com/contoso/_git/Portal", "https://dev.azure.com/contoso/Portal/_git/Portal"),
            ("git@ssh.dev.azure.com:v3/contoso/Web/Portal", "https://dev.azure.com/contoso/Web/_git/Portal"),
            (
                "https://tfs.example.com/tfs/DefaultCollection/Web/_git/Portal",
                "https://tfs.example.com/tfs/DefaultCollection/Web/_git/Portal",
            ),
        ];
        for (url, clone_url) in cases {
            assert_eq!(parse(url, &integrations).unwrap().clone_url(), clone_url, "{url}");
        }
    }
}
