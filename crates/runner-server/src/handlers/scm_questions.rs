//! The SCM-facing RunnerService RPCs. Input and authorization are checked now; the answers
//! need the SCM provider adapters, which come with the SCM milestone, and until then the call
//! ends `unimplemented`, naming the RPC.

use axum::extract::State;
use connectrpc_axum::prelude::ConnectRequest;
use gitpod_api::gitpod::v1::*;
use runner_core::CoreError;
use runner_core::scm_questions::ScmQuestion;

use super::{Reply, reply};
use crate::auth::Authenticated;
use crate::state::AppState;

/// Admits the question, then reports that answering it is not available yet.
async fn admitted<T>(
    s: &AppState,
    caller: &runner_core::identity::Caller,
    q: ScmQuestion,
    rpc: &'static str,
) -> Result<T, CoreError> {
    s.scm_questions.admit(caller, &q).await?;
    Err(CoreError::Unimplemented(rpc))
}

pub async fn parse_context_url(
    State(s): State<AppState>,
    Authenticated(caller): Authenticated,
    ConnectRequest(r): ConnectRequest<ParseContextUrlRequest>,
) -> Reply<ParseContextUrlResponse> {
    let q = ScmQuestion::ParseContextUrl { runner_id: r.runner_id, context_url: r.context_url };
    reply(admitted(&s, &caller, q, "gitpod.v1.RunnerService/ParseContextURL")).await
}

#[allow(deprecated)] // the deprecated limit is still checked
pub async fn search_repositories(
    State(s): State<AppState>,
    Authenticated(caller): Authenticated,
    ConnectRequest(r): ConnectRequest<SearchRepositoriesRequest>,
) -> Reply<SearchRepositoriesResponse> {
    let q = ScmQuestion::SearchRepositories {
        runner_id: r.runner_id,
        search_string: r.search_string,
        limit: r.limit,
        page_size: r.pagination.map(|p| p.page_size).unwrap_or_default(),
        scm_host: r.scm_host,
        search_mode: r.search_mode,
    };
    reply(admitted(&s, &caller, q, "gitpod.v1.RunnerService/SearchRepositories")).await
}

pub async fn list_scm_organizations(
    State(s): State<AppState>,
    Authenticated(caller): Authenticated,
    uri: http::Uri,
    ConnectRequest(mut r): ConnectRequest<ListScmOrganizationsRequest>,
) -> Reply<ListScmOrganizationsResponse> {
    reply(async move {
        let page = crate::paging::page(&uri, r.pagination.take())?;
        let q = ScmQuestion::ListScmOrganizations {
            runner_id: r.runner_id,
            scm_host: r.scm_host,
            query: r.query,
            page_size: page.size,
        };
        admitted(&s, &caller, q, "gitpod.v1.RunnerService/ListSCMOrganizations").await
    })
    .await
}

pub async fn check_authentication_for_host(
    State(s): State<AppState>,
    Authenticated(caller): Authenticated,
    ConnectRequest(r): ConnectRequest<CheckAuthenticationForHostRequest>,
) -> Reply<CheckAuthenticationForHostResponse> {
    let q = ScmQuestion::CheckAuthenticationForHost { runner_id: r.runner_id, host: r.host };
    reply(admitted(&s, &caller, q, "gitpod.v1.RunnerService/CheckAuthenticationForHost")).await
}

pub async fn check_repository_access(
    State(s): State<AppState>,
    Authenticated(caller): Authenticated,
    ConnectRequest(r): ConnectRequest<CheckRepositoryAccessRequest>,
) -> Reply<CheckRepositoryAccessResponse> {
    let q = ScmQuestion::CheckRepositoryAccess { runner_id: r.runner_id, repository_url: r.repository_url };
    reply(admitted(&s, &caller, q, "gitpod.v1.RunnerService/CheckRepositoryAccess")).await
}
