//! The SCM-facing RunnerService RPCs: convert, ask [`runner_core::scm::questions`], convert back.

use axum::extract::State;
use connectrpc_axum::prelude::ConnectRequest;
use gitpod_api::gitpod::v1::*;
use runner_core::scm::provider::PullRequestState;
use runner_core::scm::questions::{ListOrgsInput, ParsedContext, SearchInput};

use super::{Reply, reply};
use crate::auth::Authenticated;
use crate::state::AppState;

pub async fn parse_context_url(
    State(s): State<AppState>,
    Authenticated(caller): Authenticated,
    ConnectRequest(r): ConnectRequest<ParseContextUrlRequest>,
) -> Reply<ParseContextUrlResponse> {
    reply(async move {
        let parsed = s.scm_questions.parse_context_url(&caller, &r.runner_id, &r.context_url).await?;
        Ok(context_response(parsed))
    })
    .await
}

#[allow(deprecated)] // the deprecated `pr` field is still filled
fn context_response(p: ParsedContext) -> ParseContextUrlResponse {
    let g = p.git;
    let pr = p.pull_request.as_ref().map(|pr| parse_context_url_response::PullRequest {
        id: pr.info.id.clone(),
        title: pr.info.title.clone(),
        from_branch: pr.info.from_branch.clone(),
        to_branch: pr.info.to_branch.clone(),
    });
    let pull_request = p.pull_request.map(|pr| PullRequest {
        id: pr.info.id,
        title: pr.info.title,
        from_branch: pr.info.from_branch,
        to_branch: pr.info.to_branch,
        url: pr.info.url,
        author: pr.info.author,
        repository: Some(pull_request::Repository {
            clone_url: pr.repository.clone_url,
            host: pr.host,
            owner: pr.repository.owner,
            name: pr.repository.name,
        }),
        draft: pr.info.draft,
        state: match pr.info.state {
            PullRequestState::Open => pull_request::State::Open,
            PullRequestState::Closed => pull_request::State::Closed,
            PullRequestState::Merged => pull_request::State::Merged,
        } as i32,
        head_sha: pr.info.head_sha,
    });
    ParseContextUrlResponse {
        original_context_url: p.original_context_url,
        git: Some(parse_context_url_response::GitContext {
            clone_url: g.clone_url,
            branch: g.branch,
            commit: g.commit,
            host: g.host,
            owner: g.owner,
            repo: g.repo,
            upstream_remote_url: g.upstream_remote_url,
            tag: g.tag,
        }),
        pr,
        issue: p.issue.map(|i| parse_context_url_response::Issue { id: i.id, title: i.title }),
        pull_request,
        project_ids: Vec::new(),
        scm_id: p.scm_id,
        recommended_environment_classes: p.recommended_environment_classes.iter().map(ToString::to_string).collect(),
    }
}

#[allow(deprecated)] // the deprecated limit and lastPage are still served
pub async fn search_repositories(
    State(s): State<AppState>,
    Authenticated(caller): Authenticated,
    uri: http::Uri,
    ConnectRequest(mut r): ConnectRequest<SearchRepositoriesRequest>,
) -> Reply<SearchRepositoriesResponse> {
    reply(async move {
        let page = crate::paging::page(&uri, r.pagination.take())?;
        let input = SearchInput {
            runner_id: r.runner_id,
            search_string: r.search_string,
            limit: r.limit,
            page_size: page.size,
            token: page.token,
            scm_host: r.scm_host,
            search_mode: r.search_mode,
        };
        let found = s.scm_questions.search_repositories(&caller, input).await?;
        Ok(SearchRepositoriesResponse {
            repositories: found
                .repositories
                .into_iter()
                .map(|r| search_repositories_response::Repository { name: r.name, url: r.url })
                .collect(),
            pagination: Some(PaginationResponse { next_token: found.next_token }),
            last_page: found.last_page,
        })
    })
    .await
}

#[allow(deprecated)] // isAdmin is deprecated; always false
pub async fn list_scm_organizations(
    State(s): State<AppState>,
    Authenticated(caller): Authenticated,
    uri: http::Uri,
    ConnectRequest(mut r): ConnectRequest<ListScmOrganizationsRequest>,
) -> Reply<ListScmOrganizationsResponse> {
    reply(async move {
        let page = crate::paging::page(&uri, r.pagination.take())?;
        let input = ListOrgsInput {
            runner_id: r.runner_id,
            scm_host: r.scm_host,
            query: r.query,
            page_size: page.size,
            token: page.token,
        };
        let (orgs, next_token) = s.scm_questions.list_organizations(&caller, input).await?;
        Ok(ListScmOrganizationsResponse {
            organizations: orgs
                .into_iter()
                .map(|o| list_scm_organizations_response::ScmOrganization { name: o.name, url: o.url, is_admin: false })
                .collect(),
            pagination: Some(PaginationResponse { next_token }),
        })
    })
    .await
}

#[allow(deprecated)] // authenticationUrl and patSupported are still filled
pub async fn check_authentication_for_host(
    State(s): State<AppState>,
    Authenticated(caller): Authenticated,
    ConnectRequest(r): ConnectRequest<CheckAuthenticationForHostRequest>,
) -> Reply<CheckAuthenticationForHostResponse> {
    use check_authentication_for_host_response::{AuthenticationMethodOAuth2, AuthenticationMethodPersonalAccessToken};
    reply(async move {
        let status = s.scm_questions.check_authentication(&caller, &r.runner_id, &r.host).await?;
        let m = status.methods;
        Ok(CheckAuthenticationForHostResponse {
            authenticated: status.authenticated,
            authentication_url: m.oauth.as_ref().map(|o| o.auth_url.clone()).unwrap_or_default(),
            pat_supported: m.pat.is_some(),
            scm_id: status.scm_id,
            scm_name: status.scm_name,
            supports_oauth2: m.oauth.map(|o| AuthenticationMethodOAuth2 { auth_url: o.auth_url, docs_url: o.docs_url }),
            supports_pat: m.pat.map(|p| AuthenticationMethodPersonalAccessToken {
                create_url: p.create_url,
                docs_url: p.docs_url,
                example: p.example,
                required_scopes: p.required_scopes,
            }),
        })
    })
    .await
}

pub async fn check_repository_access(
    State(s): State<AppState>,
    Authenticated(caller): Authenticated,
    ConnectRequest(r): ConnectRequest<CheckRepositoryAccessRequest>,
) -> Reply<CheckRepositoryAccessResponse> {
    reply(async move {
        let access = s.scm_questions.check_repository_access(&caller, &r.runner_id, &r.repository_url).await?;
        Ok(CheckRepositoryAccessResponse { has_access: access.has_access, error_message: access.error_message })
    })
    .await
}
