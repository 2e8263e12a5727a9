//! The SCM-facing RunnerService RPCs: convert, ask [`runner_core::scm::questions`], convert back.

use axum::extract::State;
use connectrpc_axum::prelude::ConnectRequest;
use gitpod_api::gitpod::v1::*;

use super::{Reply, check, reply};
use crate::auth::Authenticated;
use crate::convert;
use crate::paging::Paging;
use crate::state::AppState;

pub async fn parse_context_url(
    State(s): State<AppState>,
    Authenticated(caller): Authenticated,
    ConnectRequest(r): ConnectRequest<ParseContextUrlRequest>,
) -> Reply<ParseContextUrlResponse> {
    reply(check(&r), async move {
        let parsed = s.scm_questions.parse_context_url(&caller, &r.runner_id, &r.context_url).await?;
        Ok(convert::parsed_context(parsed))
    })
    .await
}

pub async fn search_repositories(
    State(s): State<AppState>,
    Authenticated(caller): Authenticated,
    Paging(q): Paging,
    ConnectRequest(mut r): ConnectRequest<SearchRepositoriesRequest>,
) -> Reply<SearchRepositoriesResponse> {
    reply(check(&r), async move {
        let page = q.page(r.pagination.take())?;
        let found = s.scm_questions.search_repositories(&caller, convert::search_repositories(r, page)).await?;
        Ok(convert::search_result(found))
    })
    .await
}

pub async fn list_scm_organizations(
    State(s): State<AppState>,
    Authenticated(caller): Authenticated,
    Paging(q): Paging,
    ConnectRequest(mut r): ConnectRequest<ListScmOrganizationsRequest>,
) -> Reply<ListScmOrganizationsResponse> {
    reply(check(&r), async move {
        let page = q.page(r.pagination.take())?;
        let (orgs, next_token) =
            s.scm_questions.list_organizations(&caller, convert::list_scm_organizations(r, page)).await?;
        Ok(convert::organizations(orgs, next_token))
    })
    .await
}

pub async fn check_authentication_for_host(
    State(s): State<AppState>,
    Authenticated(caller): Authenticated,
    ConnectRequest(r): ConnectRequest<CheckAuthenticationForHostRequest>,
) -> Reply<CheckAuthenticationForHostResponse> {
    reply(check(&r), async move {
        let status = s.scm_questions.check_authentication(&caller, &r.runner_id, &r.host).await?;
        Ok(convert::authentication_status(status))
    })
    .await
}

pub async fn check_repository_access(
    State(s): State<AppState>,
    Authenticated(caller): Authenticated,
    ConnectRequest(r): ConnectRequest<CheckRepositoryAccessRequest>,
) -> Reply<CheckRepositoryAccessResponse> {
    reply(check(&r), async move {
        let access = s.scm_questions.check_repository_access(&caller, &r.runner_id, &r.repository_url).await?;
        Ok(convert::repository_access(access))
    })
    .await
}
