//! OrganizationService's invitations and JoinOrganization, and AccountService's GetAccount,
//! ListJoinableOrganizations and ListLoginProviders. The summary of
//! an invite and the ways to sign in need no sign-in: whoever holds an invite's id may see
//! what it leads to (`runner_core::invites`).

use axum::extract::State;
use connectrpc_axum::prelude::ConnectRequest;
use gitpod_api::gitpod::v1::*;

use super::{Reply, check, reply};
use crate::auth::Authenticated;
use crate::convert;
use crate::paging::Paging;
use crate::state::AppState;

pub async fn create_organization_invite(
    State(s): State<AppState>,
    Authenticated(caller): Authenticated,
    ConnectRequest(r): ConnectRequest<CreateOrganizationInviteRequest>,
) -> Reply<CreateOrganizationInviteResponse> {
    reply(check(&r), async move {
        let invite = s.invites.create(&caller, &r.organization_id).await?;
        Ok(CreateOrganizationInviteResponse { invite: Some(convert::organization_invite(invite)) })
    })
    .await
}

pub async fn get_organization_invite(
    State(s): State<AppState>,
    Authenticated(caller): Authenticated,
    ConnectRequest(r): ConnectRequest<GetOrganizationInviteRequest>,
) -> Reply<GetOrganizationInviteResponse> {
    reply(check(&r), async move {
        let invite = s.invites.get(&caller, &r.organization_id).await?;
        Ok(GetOrganizationInviteResponse { invite: Some(convert::organization_invite(invite)) })
    })
    .await
}

pub async fn get_organization_invite_summary(
    State(s): State<AppState>,
    ConnectRequest(r): ConnectRequest<GetOrganizationInviteSummaryRequest>,
) -> Reply<GetOrganizationInviteSummaryResponse> {
    reply(check(&r), async move { Ok(convert::invite_summary(s.invites.summary(&r.invite_id).await?)) }).await
}

pub async fn list_login_providers(
    State(s): State<AppState>,
    Paging(q): Paging,
    ConnectRequest(mut r): ConnectRequest<ListLoginProvidersRequest>,
) -> Reply<ListLoginProvidersResponse> {
    reply(check(&r), async move {
        let page = q.page(r.pagination.take())?;
        let filter = convert::list_login_providers(&mut r);
        Ok(convert::login_providers(s.invites.login_providers(filter, page.size, &page.token).await?))
    })
    .await
}

pub async fn join_organization(
    State(s): State<AppState>,
    Authenticated(caller): Authenticated,
    ConnectRequest(r): ConnectRequest<JoinOrganizationRequest>,
) -> Reply<JoinOrganizationResponse> {
    reply(check(&r), async move {
        let member = s.invites.join(&caller, convert::join_organization(r)).await?;
        Ok(JoinOrganizationResponse { member: Some(convert::organization_member(member)) })
    })
    .await
}

pub async fn get_account(
    State(s): State<AppState>,
    Authenticated(caller): Authenticated,
    ConnectRequest(r): ConnectRequest<GetAccountRequest>,
) -> Reply<GetAccountResponse> {
    reply(check(&r), async move {
        Ok(GetAccountResponse { account: Some(convert::account(s.invites.account(&caller).await?)) })
    })
    .await
}

pub async fn list_joinable_organizations(
    State(s): State<AppState>,
    Authenticated(caller): Authenticated,
    Paging(q): Paging,
    ConnectRequest(mut r): ConnectRequest<ListJoinableOrganizationsRequest>,
) -> Reply<ListJoinableOrganizationsResponse> {
    reply(check(&r), async move {
        let page = q.page(r.pagination.take())?;
        Ok(convert::joinable_organizations(s.invites.joinable_organizations(&caller, page.size, &page.token).await?))
    })
    .await
}
