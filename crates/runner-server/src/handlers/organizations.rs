//! OrganizationService handlers: the caller's organization, its members and their roles.

use axum::extract::State;
use connectrpc_axum::prelude::ConnectRequest;
use gitpod_api::gitpod::v1::*;

use super::{Reply, check, reply};
use crate::auth::Authenticated;
use crate::convert;
use crate::paging::Paging;
use crate::state::AppState;

pub async fn create_organization(
    State(s): State<AppState>,
    Authenticated(caller): Authenticated,
    ConnectRequest(r): ConnectRequest<CreateOrganizationRequest>,
) -> Reply<CreateOrganizationResponse> {
    reply(check(&r), async move {
        let (org, member) = s
            .organizations
            .create(&caller, &r.name, r.join_organization, r.invite_accounts_with_matching_domain)
            .await?;
        Ok(CreateOrganizationResponse {
            organization: Some(convert::organization(org)),
            member: Some(convert::organization_member(member)),
        })
    })
    .await
}

pub async fn get_organization(
    State(s): State<AppState>,
    Authenticated(caller): Authenticated,
    ConnectRequest(r): ConnectRequest<GetOrganizationRequest>,
) -> Reply<GetOrganizationResponse> {
    reply(check(&r), async move {
        let org = s.organizations.get(&caller, &r.organization_id).await?;
        Ok(GetOrganizationResponse { organization: Some(convert::organization(org)) })
    })
    .await
}

pub async fn update_organization(
    State(s): State<AppState>,
    Authenticated(caller): Authenticated,
    ConnectRequest(r): ConnectRequest<UpdateOrganizationRequest>,
) -> Reply<UpdateOrganizationResponse> {
    reply(check(&r), async move {
        let domains = r.invite_domains.map(|d| d.domains);
        let org = s.organizations.update(&caller, &r.organization_id, r.name, domains).await?;
        Ok(UpdateOrganizationResponse { organization: Some(convert::organization(org)) })
    })
    .await
}

pub async fn delete_organization(
    State(s): State<AppState>,
    Authenticated(caller): Authenticated,
    ConnectRequest(r): ConnectRequest<DeleteOrganizationRequest>,
) -> Reply<DeleteOrganizationResponse> {
    reply(check(&r), async move {
        s.organizations.delete(&caller, &r.organization_id).await?;
        Ok(DeleteOrganizationResponse {})
    })
    .await
}

pub async fn list_members(
    State(s): State<AppState>,
    Authenticated(caller): Authenticated,
    Paging(q): Paging,
    ConnectRequest(mut r): ConnectRequest<ListMembersRequest>,
) -> Reply<ListMembersResponse> {
    reply(check(&r), async move {
        let page = q.page(r.pagination.take())?;
        let page = s.organizations.list_members(&caller, convert::list_members(r), page.size, &page.token).await?;
        Ok(convert::members(page))
    })
    .await
}

pub async fn set_role(
    State(s): State<AppState>,
    Authenticated(caller): Authenticated,
    ConnectRequest(r): ConnectRequest<SetRoleRequest>,
) -> Reply<SetRoleResponse> {
    reply(check(&r), async move {
        s.organizations.set_role(&caller, &r.organization_id, &r.user_id, r.role).await?;
        Ok(SetRoleResponse {})
    })
    .await
}

pub async fn leave_organization(
    State(s): State<AppState>,
    Authenticated(caller): Authenticated,
    ConnectRequest(r): ConnectRequest<LeaveOrganizationRequest>,
) -> Reply<LeaveOrganizationResponse> {
    reply(check(&r), async move {
        s.organizations.leave(&caller, &r.user_id).await?;
        Ok(LeaveOrganizationResponse {})
    })
    .await
}
