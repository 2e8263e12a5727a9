//! The SCM-facing RunnerService calls: ParseContextURL, SearchRepositories,
//! ListSCMOrganizations, CheckAuthenticationForHost and CheckRepositoryAccess.
//!
//! Each one checks its input and the caller's access to the runner, finds the runner's SCM
//! integration for the host and the caller's own usable host authentication token, and then
//! asks the provider through the [`ScmConnector`] port with that token. How provider failures
//! become API errors is decided in [`ScmError::into_core`] and, for the authentication-required
//! answers that need context, in [`Asker::fail`]. See docs/scm.md.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::auth::{self, AuthMethods, SchemaHints};
use super::context_url::{self, ContextUrl, IntegrationHost, ParseError, Target};
use super::oauth::OAuthFlow;
use super::provider::*;
use crate::authz::{RunnerAccess, Visibility};
use crate::environment_classes::EnvironmentClasses;
use crate::error::{AuthenticationRequired, CoreError, FieldViolation, Result};
use crate::host_tokens::HostTokens;
use crate::identity::Caller;
use crate::model::*;
use crate::page::PageTokens;
use crate::runners::Runners;
use crate::store::Store;
use crate::time::Timestamp;
use crate::validate::{self, Violations};

/// Most ref segments tried when resolving a branch or tag with slashes.
const MAX_REF_SEGMENTS: usize = 16;
/// Integrations considered per call (a runner has a handful; an organization a few dozen).
const MAX_INTEGRATIONS: u32 = 1000;
const ORGS_LIST_KIND: &str = "scm-orgs";

/// What ParseContextURL answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedContext {
    pub original_context_url: String,
    pub git: GitContext,
    pub pull_request: Option<PullRequestContext>,
    pub issue: Option<IssueInfo>,
    pub scm_id: String,
    /// The runner's enabled environment classes, oldest first.
    pub recommended_environment_classes: Vec<Uuid>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GitContext {
    pub clone_url: String,
    pub branch: String,
    pub commit: String,
    pub host: String,
    pub owner: String,
    pub repo: String,
    /// For a pull request from a fork: the repository it targets (the fork is `clone_url`).
    pub upstream_remote_url: String,
    pub tag: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullRequestContext {
    pub info: PullRequestInfo,
    /// The repository the pull request belongs to (its target).
    pub repository: PullRequestRepo,
    pub host: String,
}

#[derive(Debug, Clone, Default)]
pub struct SearchInput {
    pub runner_id: String,
    pub search_string: String,
    /// Deprecated; used when `page_size` is 0.
    pub limit: i32,
    pub page_size: i32,
    pub token: String,
    pub scm_host: String,
    pub search_mode: i32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchResult {
    pub repositories: Vec<RepoSummary>,
    /// `NEXT_PAGE/TOTAL_PAGES/TOTAL_COUNT`, `-1` for unknown totals; empty on the last page.
    pub next_token: String,
    /// Deprecated `lastPage`: total pages, `-1` when unknown.
    pub last_page: i32,
}

#[derive(Debug, Clone, Default)]
pub struct ListOrgsInput {
    pub runner_id: String,
    pub scm_host: String,
    pub query: String,
    pub page_size: i32,
    pub token: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthenticationStatus {
    pub authenticated: bool,
    pub scm_id: String,
    pub scm_name: String,
    pub methods: AuthMethods,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepositoryAccess {
    pub has_access: bool,
    pub error_message: String,
}

/// What a page token of ListSCMOrganizations continues.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct OrgsFilter {
    r: Uuid,
    h: String,
    q: String,
}

/// A runner, one of its SCM integrations, and the caller and its usable token for it if any.
struct Binding {
    runner: Runner,
    integration: ScmIntegration,
    kind: ScmKind,
    /// Who asks: an OAuth authorization it starts makes the token theirs.
    subject: Subject,
    token: Option<(HostToken, String)>,
}

/// An open provider API for one binding, and how to word its failures.
struct Asker {
    api: Box<dyn ScmApi>,
    host: String,
    auth: AuthenticationRequired,
}

impl Asker {
    /// The API error for a provider failure: a refused token asks the user to authenticate
    /// again, with the same details as a missing one.
    fn fail(&self, e: ScmError) -> CoreError {
        match e {
            ScmError::Unauthenticated(_) => {
                let mut auth = self.auth.clone();
                auth.message =
                    format!("{} refused your authentication token (expired or revoked); authenticate again", self.host);
                CoreError::AuthenticationRequired(Box::new(auth))
            }
            e => e.into_core(&self.host),
        }
    }

    /// The value of a lookup, or `not_found` naming `what` in `repo` when the provider has none.
    fn found<T>(&self, r: ScmResult<Option<T>>, repo: &RepoPath, what: impl FnOnce() -> String) -> Result<T> {
        r.map_err(|e| self.fail(e))?
            .ok_or_else(|| CoreError::Missing(format!("{} not found in {}/{}", what(), repo.owner, repo.name)))
    }
}

#[derive(Clone)]
pub struct ScmQuestions {
    store: Arc<dyn Store>,
    runners: Runners,
    host_tokens: HostTokens,
    classes: EnvironmentClasses,
    page_tokens: PageTokens,
    connector: Arc<dyn ScmConnector>,
    oauth: OAuthFlow,
}

/// Whether a request's host names an integration's host: equal without case, or equal to the
/// host part of an integration host with an organization path (`dev.azure.com/acme`).
fn host_matches(integration_host: &str, host: &str) -> bool {
    let ih = integration_host.to_ascii_lowercase();
    let host = host.to_ascii_lowercase();
    ih == host || ih.split('/').next() == Some(host.as_str())
}

fn integration_host(i: &ScmIntegration) -> Option<IntegrationHost<'_>> {
    Some(IntegrationHost {
        host: &i.host,
        kind: ScmKind::of_scm_id(&i.scm_id)?,
        virtual_directory: i.virtual_directory.as_deref(),
    })
}

impl ScmQuestions {
    pub fn new(
        store: Arc<dyn Store>,
        runners: Runners,
        host_tokens: HostTokens,
        classes: EnvironmentClasses,
        page_tokens: PageTokens,
        connector: Arc<dyn ScmConnector>,
        oauth: OAuthFlow,
    ) -> Self {
        Self { store, runners, host_tokens, classes, page_tokens, connector, oauth }
    }

    /// The same use cases with another OAuth flow (other providers' web addresses).
    pub fn with_oauth(mut self, oauth: OAuthFlow) -> Self {
        self.oauth = oauth;
        self
    }

    /// The OAuth flow whose states these use cases sign.
    pub fn oauth(&self) -> &OAuthFlow {
        &self.oauth
    }

    /// The same use cases asking providers through another connector.
    pub fn with_connector(mut self, connector: Arc<dyn ScmConnector>) -> Self {
        self.connector = connector;
        self
    }

    // --- ParseContextURL --------------------------------------------------------------------

    pub async fn parse_context_url(&self, caller: &Caller, runner_id: &str, url: &str) -> Result<ParsedContext> {
        let mut v = Violations::default();
        let runner_id = v.check(validate::optional_uuid("runnerId", runner_id));
        v.check(
            validate::length("contextUrl", url, 1, validate::MAX_URL_LEN).and_then(|()| well_formed("contextUrl", url)),
        );
        v.finish()?;
        let integrations = self.integrations_for(caller, runner_id.flatten()).await?;
        let hosts: Vec<IntegrationHost<'_>> = integrations.iter().filter_map(integration_host).collect();
        let usable: Vec<&ScmIntegration> =
            integrations.iter().filter(|i| ScmKind::of_scm_id(&i.scm_id).is_some()).collect();
        let parsed = match context_url::parse(url, &hosts) {
            Ok(p) => p,
            Err(ParseError::Invalid(m)) => return Err(CoreError::invalid("contextUrl", m)),
            Err(ParseError::UnknownHost(host)) => return Err(not_configured(&host)),
        };
        let matched = usable[parsed.integration];
        // Every runner with an integration for the same host is a candidate; the first one
        // where the caller is authenticated answers.
        let candidates: Vec<&ScmIntegration> =
            usable.iter().copied().filter(|i| i.host.eq_ignore_ascii_case(&matched.host)).collect();
        let binding = self.first_authenticated(caller, &candidates).await?;
        let asker = self.asker(&binding, runner_id.flatten().is_none(), &candidates).await?;
        let classes = self.recommended_classes(&binding.runner).await?;
        let mut context = self.resolve(&asker, &parsed).await?;
        context.original_context_url = url.to_owned();
        context.scm_id = binding.integration.scm_id.clone();
        context.recommended_environment_classes = classes;
        Ok(context)
    }

    /// Resolves the parsed URL's target through the provider.
    async fn resolve(&self, asker: &Asker, parsed: &ContextUrl) -> Result<ParsedContext> {
        let api = &asker.api;
        let repo = &parsed.repo;
        let info = api.repository(repo).await.map_err(|e| match e {
            ScmError::NotFound(_) => CoreError::Missing(format!(
                "repository {}/{} not found on {} (or your token cannot see it)",
                repo.owner, repo.name, parsed.host
            )),
            e => asker.fail(e),
        })?;
        let mut git = GitContext {
            clone_url: parsed.clone_url(),
            host: parsed.host.clone(),
            owner: repo.owner.clone(),
            repo: repo.name.clone(),
            ..Default::default()
        };
        let (mut pull_request, mut issue) = (None, None);
        let default_branch = |git: &mut GitContext| {
            git.branch = info.default_branch.clone();
            async move {
                if info.default_branch.is_empty() {
                    return Ok(None); // an empty repository
                }
                api.branch(repo, &info.default_branch).await
            }
        };
        match &parsed.target {
            Target::Repository => {
                git.commit = default_branch(&mut git).await.map_err(|e| asker.fail(e))?.unwrap_or_default();
            }
            Target::RefAndPath { segments, .. } => {
                let resolved = self.longest_ref(asker, repo, segments).await;
                let (name, is_tag, sha) =
                    asker.found(Ok(resolved?), repo, || format!("branch or tag {:?}", segments.join("/")))?;
                if is_tag {
                    git.tag = name;
                } else {
                    git.branch = name;
                }
                git.commit = sha;
            }
            Target::Branch { name, .. } => {
                git.commit = asker.found(api.branch(repo, name).await, repo, || format!("branch {name:?}"))?;
                git.branch = name.clone();
            }
            Target::Tag { name, .. } => {
                git.commit = asker.found(api.tag(repo, name).await, repo, || format!("tag {name:?}"))?;
                git.tag = name.clone();
            }
            Target::Commit { sha } => {
                git.commit = asker.found(api.commit(repo, sha).await, repo, || format!("commit {sha}"))?;
            }
            Target::PullRequest { number } => {
                let pr =
                    asker.found(api.pull_request(repo, *number).await, repo, || format!("pull request {number}"))?;
                let base = PullRequestRepo {
                    owner: info.owner.clone(),
                    name: info.name.clone(),
                    clone_url: git.clone_url.clone(),
                };
                let from_fork = !(pr.source.owner.eq_ignore_ascii_case(&base.owner)
                    && pr.source.name.eq_ignore_ascii_case(&base.name));
                if from_fork {
                    git.upstream_remote_url = std::mem::take(&mut git.clone_url);
                    git.clone_url = pr.source.clone_url.clone();
                }
                git.branch = pr.from_branch.clone();
                git.commit = pr.head_sha.clone();
                pull_request = Some(PullRequestContext { info: pr, repository: base, host: parsed.host.clone() });
            }
            Target::Issue { number } => {
                let found = asker.found(api.issue(repo, *number).await, repo, || format!("issue {number}"))?;
                git.commit = default_branch(&mut git).await.map_err(|e| asker.fail(e))?.unwrap_or_default();
                issue = Some(found);
            }
        }
        Ok(ParsedContext {
            original_context_url: String::new(),
            git,
            pull_request,
            issue,
            scm_id: String::new(),
            recommended_environment_classes: Vec::new(),
        })
    }

    /// The longest prefix of `segments` naming a branch (preferred) or a tag:
    /// `(name, is_tag, commit)`. A single segment that is no ref but a commit SHA resolves to
    /// that commit, as `/tree/{sha}` URLs do.
    async fn longest_ref(
        &self,
        asker: &Asker,
        repo: &RepoPath,
        segments: &[String],
    ) -> Result<Option<(String, bool, String)>> {
        let api = &asker.api;
        let n = segments.len().min(MAX_REF_SEGMENTS);
        for len in (1..=n).rev() {
            let name = segments[..len].join("/");
            if let Some(sha) = api.branch(repo, &name).await.map_err(|e| asker.fail(e))? {
                return Ok(Some((name, false, sha)));
            }
            if let Some(sha) = api.tag(repo, &name).await.map_err(|e| asker.fail(e))? {
                return Ok(Some((name, true, sha)));
            }
        }
        let first = segments.first().map(String::as_str).unwrap_or_default();
        if !((7..=64).contains(&first.len()) && first.bytes().all(|b| b.is_ascii_hexdigit())) {
            return Ok(None);
        }
        let sha = api.commit(repo, first).await.map_err(|e| asker.fail(e))?;
        Ok(sha.map(|sha| (String::new(), false, sha)))
    }

    async fn recommended_classes(&self, runner: &Runner) -> Result<Vec<Uuid>> {
        let filter = EnvironmentClassFilter { runner_ids: vec![runner.id], enabled: Some(true), ..Default::default() };
        let classes =
            self.store.list_environment_classes(&Visibility::All { org_id: runner.org_id }, &filter, None, 100).await?;
        Ok(classes.into_iter().map(|c| c.id).collect())
    }

    // --- SearchRepositories -----------------------------------------------------------------

    pub async fn search_repositories(&self, caller: &Caller, input: SearchInput) -> Result<SearchResult> {
        let mut v = Violations::default();
        v.check(validate::length("searchString", &input.search_string, 0, 1024));
        if !(0..=100).contains(&input.limit) {
            v.push(FieldViolation::new("limit", format!("must be between 1 and 100, got {}", input.limit)));
        }
        let page_size = v.check(validate::page_size("pagination.pageSize", input.page_size));
        let page = v.check(parse_search_token(&input.token));
        if !input.scm_host.is_empty() {
            v.check(validate::check_host("scmHost", &input.scm_host));
        }
        let mode = match input.search_mode {
            0 | 1 => Some(SearchMode::Keyword),
            2 => Some(SearchMode::Native),
            other => {
                v.push(FieldViolation::new("searchMode", format!("unknown value {other}")));
                None
            }
        };
        let runner_id = v.check(validate::uuid("runnerId", &input.runner_id));
        v.finish()?;
        let (page_size, page, mode, runner_id) =
            (page_size.expect("checked"), page.expect("checked"), mode.expect("checked"), runner_id.expect("checked"));
        let per_page = if input.page_size == 0 && input.limit > 0 { input.limit as u32 } else { page_size };

        let runner = self.runners.load_for(caller, runner_id, RunnerAccess::User).await?;
        let integrations = self.runner_integrations(&runner).await?;
        let mut bindings = Vec::new();
        if input.scm_host.is_empty() {
            for i in &integrations {
                let binding = self.bind(caller, &runner, i).await?;
                if binding.as_ref().is_some_and(|b| b.token.is_some()) {
                    bindings.extend(binding);
                }
            }
        } else {
            let i = integrations
                .iter()
                .find(|i| host_matches(&i.host, &input.scm_host))
                .ok_or_else(|| no_integration(&runner, &input.scm_host))?;
            let binding = self.bind(caller, &runner, i).await?.ok_or_else(|| unsupported_scm(i))?;
            bindings.push(binding);
        }
        if bindings.is_empty() {
            return Ok(SearchResult { repositories: Vec::new(), next_token: String::new(), last_page: 0 });
        }
        // Several hosts share the page: each gives its part of it, in integration order.
        let share = per_page.div_ceil(bindings.len() as u32);
        let query = SearchQuery { text: input.search_string.clone(), mode, page, per_page: share };
        let mut out = SearchPage::default();
        let (mut total_count, mut total_pages, mut has_next) = (Some(0u64), Some(0u64), false);
        for binding in &bindings {
            let asker = self.asker(binding, false, &[]).await?;
            let found = asker.api.search_repositories(&query).await.map_err(|e| asker.fail(e))?;
            total_count = total_count.zip(found.total_count).map(|(a, b)| a + b);
            total_pages = total_pages.zip(found.total_pages).map(|(a, b)| a.max(b));
            has_next |= found.has_next;
            out.repositories.extend(found.repositories);
        }
        // Never an empty page with a token: the Go SDK's pager stops on either.
        let next_token = if has_next && !out.repositories.is_empty() {
            format!("{}/{}/{}", page + 1, signed(total_pages), signed(total_count))
        } else {
            String::new()
        };
        let last_page = total_pages.map_or(-1, |p| i32::try_from(p).unwrap_or(i32::MAX));
        Ok(SearchResult { repositories: out.repositories, next_token, last_page })
    }

    // --- ListSCMOrganizations ---------------------------------------------------------------

    pub async fn list_organizations(&self, caller: &Caller, input: ListOrgsInput) -> Result<(Vec<OrgSummary>, String)> {
        let mut v = Violations::default();
        v.check(validate::check_host("scmHost", &input.scm_host));
        v.check(validate::length("query", &input.query, 0, 256));
        let per_page = v.check(validate::page_size("pagination.pageSize", input.page_size));
        let runner_id = v.check(validate::uuid("runnerId", &input.runner_id));
        v.finish()?;
        let (per_page, runner_id) = (per_page.expect("checked"), runner_id.expect("checked"));
        let request = OrgsFilter { r: runner_id, h: input.scm_host.to_ascii_lowercase(), q: input.query.clone() };
        let cursor = self.page_tokens.cursor("pagination.token", ORGS_LIST_KIND, &input.token, request.clone())?;
        if cursor.filter.r != request.r || cursor.filter.h != request.h {
            return Err(CoreError::invalid("pagination.token", "belongs to a listing of another runner or host"));
        }
        let filter = cursor.filter;

        let runner = self.runners.load_for(caller, runner_id, RunnerAccess::User).await?;
        require_capability(&runner, RunnerCapability::ListScmOrganizations, "listing SCM organizations")?;
        let integrations = self.runner_integrations(&runner).await?;
        let i = integrations
            .iter()
            .find(|i| host_matches(&i.host, &filter.h))
            .ok_or_else(|| no_integration(&runner, &filter.h))?;
        let binding = self.bind(caller, &runner, i).await?.ok_or_else(|| unsupported_scm(i))?;
        let asker = self.asker(&binding, false, &[]).await?;
        let page =
            asker.api.organizations(&filter.q, cursor.after.as_deref(), per_page).await.map_err(|e| asker.fail(e))?;
        let next_token = match page.next {
            Some(next) if !page.organizations.is_empty() => self.page_tokens.encode(ORGS_LIST_KIND, &filter, &next),
            _ => String::new(),
        };
        Ok((page.organizations, next_token))
    }

    // --- CheckAuthenticationForHost ---------------------------------------------------------

    pub async fn check_authentication(
        &self,
        caller: &Caller,
        runner_id: &str,
        host: &str,
    ) -> Result<AuthenticationStatus> {
        let mut v = Violations::default();
        v.check(validate::check_host("host", host));
        let runner_id = v.check(validate::optional_uuid("runnerId", runner_id));
        v.finish()?;
        let integrations = self.integrations_for(caller, runner_id.flatten()).await?;
        let candidates: Vec<&ScmIntegration> = integrations
            .iter()
            .filter(|i| host_matches(&i.host, host) && ScmKind::of_scm_id(&i.scm_id).is_some())
            .collect();
        if candidates.is_empty() {
            // No integration for the host: nothing to authenticate with (docs/scm.md).
            return Ok(AuthenticationStatus {
                authenticated: false,
                scm_id: String::new(),
                scm_name: String::new(),
                methods: AuthMethods::default(),
            });
        }
        let binding = self.first_authenticated(caller, &candidates).await?;
        let schema = self.classes.schema_of(&binding.runner).await?;
        let scm_name = schema
            .scm(&binding.integration.scm_id)
            .map(|s| s.name.clone())
            .unwrap_or_else(|| binding.kind.display_name().to_owned());
        Ok(AuthenticationStatus {
            authenticated: binding.token.is_some(),
            scm_id: binding.integration.scm_id.clone(),
            scm_name,
            methods: self.methods(&binding).await?,
        })
    }

    // --- CheckRepositoryAccess --------------------------------------------------------------

    pub async fn check_repository_access(
        &self,
        caller: &Caller,
        runner_id: &str,
        url: &str,
    ) -> Result<RepositoryAccess> {
        let mut v = Violations::default();
        v.check(
            validate::length("repositoryUrl", url, 1, validate::MAX_URL_LEN)
                .and_then(|()| well_formed("repositoryUrl", url)),
        );
        let runner_id = v.check(validate::uuid("runnerId", runner_id));
        v.finish()?;
        let runner = self.runners.load_for(caller, runner_id.expect("checked"), RunnerAccess::User).await?;
        let integrations = self.runner_integrations(&runner).await?;
        let hosts: Vec<IntegrationHost<'_>> = integrations.iter().filter_map(integration_host).collect();
        let usable: Vec<&ScmIntegration> =
            integrations.iter().filter(|i| ScmKind::of_scm_id(&i.scm_id).is_some()).collect();
        // The URL is checked before the capability, so a bad one is invalid_argument anywhere.
        let parsed = match context_url::parse(url, &hosts) {
            Ok(p) => Some(p),
            Err(ParseError::Invalid(m)) => return Err(CoreError::invalid("repositoryUrl", m)),
            Err(ParseError::UnknownHost(_)) => None,
        };
        require_capability(&runner, RunnerCapability::CheckRepositoryAccess, "checking repository access")?;
        let Some(parsed) = parsed else {
            let host = url.split("://").nth(1).and_then(|r| r.split(['/', '?', '#']).next()).unwrap_or(url);
            return Err(no_integration(&runner, host));
        };
        let binding = self.bind(caller, &runner, usable[parsed.integration]).await?.expect("parsed with a known kind");
        let asker = self.asker(&binding, false, &[]).await?;
        let repo = &parsed.repo;
        let denied = |why: String| Ok(RepositoryAccess { has_access: false, error_message: why });
        match asker.api.repository(repo).await {
            Ok(_) => Ok(RepositoryAccess { has_access: true, error_message: String::new() }),
            Err(ScmError::NotFound(_)) => denied(format!(
                "repository {}/{} was not found on {}, or your token cannot read it",
                repo.owner, repo.name, parsed.host
            )),
            Err(ScmError::PermissionDenied(m)) => {
                denied(format!("{} refused access to {}/{}: {m}", parsed.host, repo.owner, repo.name))
            }
            Err(e) => Err(asker.fail(e)),
        }
    }

    // --- Shared steps -----------------------------------------------------------------------

    /// The integrations of the named runner (user access required), or of every runner the
    /// caller can see when none is named.
    async fn integrations_for(&self, caller: &Caller, runner_id: Option<Uuid>) -> Result<Vec<ScmIntegration>> {
        match runner_id {
            Some(id) => {
                let runner = self.runners.load_for(caller, id, RunnerAccess::User).await?;
                self.runner_integrations(&runner).await
            }
            None => Ok(self.store.list_scm_integrations(&Visibility::of(caller), &[], None, MAX_INTEGRATIONS).await?),
        }
    }

    async fn runner_integrations(&self, runner: &Runner) -> Result<Vec<ScmIntegration>> {
        Ok(self
            .store
            .list_scm_integrations(&Visibility::All { org_id: runner.org_id }, &[runner.id], None, MAX_INTEGRATIONS)
            .await?)
    }

    /// The integration's runner and the caller's usable token for it; `None` for an scm id we
    /// have no adapter for.
    async fn bind(&self, caller: &Caller, runner: &Runner, i: &ScmIntegration) -> Result<Option<Binding>> {
        let Some(kind) = ScmKind::of_scm_id(&i.scm_id) else { return Ok(None) };
        let token = self.host_tokens.usable_for(runner, &i.host, caller.subject.id, Timestamp::now()).await?;
        let subject = caller.subject.clone();
        Ok(Some(Binding { runner: runner.clone(), integration: i.clone(), kind, subject, token }))
    }

    /// The first candidate (in order) where the caller holds a usable token, else the first
    /// candidate the caller may use. Candidates are integrations with a known scm id.
    async fn first_authenticated(&self, caller: &Caller, candidates: &[&ScmIntegration]) -> Result<Binding> {
        let mut first = None;
        for i in candidates {
            let runner = match self.runners.load_for(caller, i.runner_id, RunnerAccess::User).await {
                Ok(r) => r,
                Err(CoreError::NotFound { .. } | CoreError::PermissionDenied { .. }) => continue,
                Err(e) => return Err(e),
            };
            let binding = self.bind(caller, &runner, i).await?.expect("candidates have a known kind");
            if binding.token.is_some() {
                return Ok(binding);
            }
            first.get_or_insert(binding);
        }
        first.ok_or_else(|| {
            let host = candidates.first().map(|i| i.host.as_str()).unwrap_or_default();
            not_configured(host)
        })
    }

    async fn methods(&self, binding: &Binding) -> Result<AuthMethods> {
        let schema = self.classes.schema_of(&binding.runner).await?;
        let scm = schema.scm(&binding.integration.scm_id);
        let hints = SchemaHints {
            callback_url: scm.and_then(|s| s.oauth.as_ref()).map(|o| o.callback_url.clone()),
            pat_docs_url: scm.and_then(|s| s.pat.as_ref()).map(|p| p.docs_link.clone()),
        };
        // A new authorization for the caller, for the integration's host on this runner.
        let state = self.oauth.state(&binding.subject, binding.runner.id, &binding.integration.host, Timestamp::now());
        let web = self.oauth.web_base(&binding.integration);
        Ok(auth::methods(binding.kind, &binding.integration, &web, &hints, &state))
    }

    /// Opens the provider API with the caller's token, or answers that the caller must
    /// authenticate first. `runners` lists the candidates when the request named no runner.
    async fn asker(&self, binding: &Binding, list_runners: bool, runners: &[&ScmIntegration]) -> Result<Asker> {
        let host = binding.integration.host.to_ascii_lowercase();
        let auth = AuthenticationRequired {
            message: format!(
                "authentication with {host} is required: create a host authentication token for runner {} \
                 (CheckAuthenticationForHost tells how)",
                binding.runner.id
            ),
            authentication_required_url: self.methods(binding).await?.entry_url(),
            scm_id: binding.integration.scm_id.clone(),
            runner_ids: if list_runners { runners.iter().map(|i| i.runner_id).collect() } else { Vec::new() },
        };
        let Some((token, value)) = &binding.token else {
            return Err(CoreError::AuthenticationRequired(Box::new(auth)));
        };
        let endpoint = ScmEndpoint {
            kind: binding.kind,
            host: host.clone(),
            virtual_directory: binding.integration.virtual_directory.clone(),
        };
        let credential = Credential { token: value.clone(), source: token.source };
        let api = self.connector.connect(&endpoint, credential).map_err(|e| e.into_core(&host))?;
        Ok(Asker { api, host, auth })
    }
}

/// The page a SearchRepositories token asks for: `NEXT_PAGE/TOTAL_PAGES/TOTAL_COUNT` with
/// totals of `-1` when unknown; an empty token is page 1.
fn parse_search_token(token: &str) -> std::result::Result<u32, FieldViolation> {
    if token.is_empty() {
        return Ok(1);
    }
    let invalid =
        || FieldViolation::new("pagination.token", "invalid page token (expected NEXT/TOTAL_PAGES/TOTAL_COUNT)");
    let parts: Vec<&str> = token.split('/').collect();
    let [next, pages, count] = parts[..] else { return Err(invalid()) };
    let next: u32 = next.parse().map_err(|_| invalid())?;
    for total in [pages, count] {
        let t: i64 = total.parse().map_err(|_| invalid())?;
        if t < -1 {
            return Err(invalid());
        }
    }
    // Providers stop at 1000 results; a page beyond any real listing is refused.
    if !(1..=10_000).contains(&next) {
        return Err(invalid());
    }
    Ok(next)
}

/// Input checks come before access checks: a URL that no integration could make valid is
/// `invalid_argument` whoever asks, and whichever runner.
fn well_formed(field: &str, url: &str) -> std::result::Result<(), FieldViolation> {
    match context_url::parse(url, &[]) {
        Err(ParseError::Invalid(m)) => Err(FieldViolation::new(field, m)),
        _ => Ok(()),
    }
}

fn signed(total: Option<u64>) -> i64 {
    total.map_or(-1, |t| i64::try_from(t).unwrap_or(i64::MAX))
}

fn require_capability(runner: &Runner, capability: RunnerCapability, what: &str) -> Result<()> {
    if runner.status.capabilities.contains(&capability) {
        return Ok(());
    }
    Err(CoreError::FailedPrecondition(format!(
        "runner {} does not support {what}: capability RUNNER_CAPABILITY_{} is unsupported (not reported by the runner)",
        runner.id,
        capability.as_str().to_ascii_uppercase()
    )))
}

fn not_configured(host: &str) -> CoreError {
    CoreError::FailedPrecondition(format!(
        "requires authentication with Source Control - the SCM integration for host {host} is not configured"
    ))
}

fn no_integration(runner: &Runner, host: &str) -> CoreError {
    CoreError::FailedPrecondition(format!(
        "the SCM integration for host {host} is not configured on runner {}",
        runner.id
    ))
}

fn unsupported_scm(i: &ScmIntegration) -> CoreError {
    CoreError::FailedPrecondition(format!(
        "SCM integration {} uses scm {:?}, which this server cannot query (unsupported)",
        i.id, i.scm_id
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_tokens() {
        assert_eq!(parse_search_token(""), Ok(1));
        assert_eq!(parse_search_token("2/40/1000"), Ok(2));
        assert_eq!(parse_search_token("3/-1/-1"), Ok(3));
        for bad in ["0/1/1", "x/1/1", "2/40", "2/40/1000/1", "2/-2/1", "-1/1/1", "99999/1/1", "2/a/1", " 2/1/1"] {
            assert!(parse_search_token(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn hosts_match_without_case_and_by_organization_path() {
        assert!(host_matches("GitHub.com", "github.com"));
        assert!(host_matches("dev.azure.com/acme", "dev.azure.com"));
        assert!(host_matches("dev.azure.com/acme", "dev.azure.com/ACME"));
        assert!(!host_matches("github.com", "gitlab.com"));
        assert!(!host_matches("gitlab.example.com:8443", "gitlab.example.com"));
    }
}
