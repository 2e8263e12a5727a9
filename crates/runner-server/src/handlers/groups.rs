//! GroupService handlers: groups, memberships, role assignments and shares.

use axum::extract::State;
use connectrpc_axum::prelude::ConnectRequest;
use gitpod_api::gitpod::v1::*;

use super::{Reply, check, reply};
use crate::auth::Authenticated;
use crate::convert;
use crate::paging::Paging;
use crate::state::AppState;

pub async fn list_groups(
    State(s): State<AppState>,
    Authenticated(caller): Authenticated,
    Paging(q): Paging,
    ConnectRequest(mut r): ConnectRequest<ListGroupsRequest>,
) -> Reply<ListGroupsResponse> {
    reply(check(&r), async move {
        let page = q.page(r.pagination.take())?;
        let page = s.groups.list(&caller, convert::list_groups(r.filter), page.size, &page.token).await?;
        Ok(convert::groups(page))
    })
    .await
}

pub async fn get_group(
    State(s): State<AppState>,
    Authenticated(caller): Authenticated,
    ConnectRequest(r): ConnectRequest<GetGroupRequest>,
) -> Reply<GetGroupResponse> {
    reply(check(&r), async move {
        let group = s.groups.get(&caller, convert::get_group(r)).await?;
        Ok(GetGroupResponse { group: Some(convert::group(group)) })
    })
    .await
}

pub async fn create_group(
    State(s): State<AppState>,
    Authenticated(caller): Authenticated,
    ConnectRequest(r): ConnectRequest<CreateGroupRequest>,
) -> Reply<CreateGroupResponse> {
    reply(check(&r), async move {
        let group = s.groups.create(&caller, &r.organization_id, convert::group_input(r.name, r.description)).await?;
        Ok(CreateGroupResponse { group: Some(convert::group(group)) })
    })
    .await
}

pub async fn update_group(
    State(s): State<AppState>,
    Authenticated(caller): Authenticated,
    ConnectRequest(r): ConnectRequest<UpdateGroupRequest>,
) -> Reply<UpdateGroupResponse> {
    reply(check(&r), async move {
        let group = s.groups.update(&caller, &r.group_id, convert::group_input(r.name, r.description)).await?;
        Ok(UpdateGroupResponse { group: Some(convert::group(group)) })
    })
    .await
}

pub async fn delete_group(
    State(s): State<AppState>,
    Authenticated(caller): Authenticated,
    ConnectRequest(r): ConnectRequest<DeleteGroupRequest>,
) -> Reply<DeleteGroupResponse> {
    reply(check(&r), async move {
        s.groups.delete(&caller, &r.group_id).await?;
        Ok(DeleteGroupResponse {})
    })
    .await
}

pub async fn create_membership(
    State(s): State<AppState>,
    Authenticated(caller): Authenticated,
    ConnectRequest(r): ConnectRequest<CreateMembershipRequest>,
) -> Reply<CreateMembershipResponse> {
    reply(check(&r), async move {
        let m = s.groups.add_member(&caller, &r.group_id, convert::subject_input(r.subject)).await?;
        Ok(CreateMembershipResponse { member: Some(convert::membership(m)) })
    })
    .await
}

pub async fn delete_membership(
    State(s): State<AppState>,
    Authenticated(caller): Authenticated,
    ConnectRequest(r): ConnectRequest<DeleteMembershipRequest>,
) -> Reply<DeleteMembershipResponse> {
    reply(check(&r), async move {
        s.groups.remove_member(&caller, &r.membership_id).await?;
        Ok(DeleteMembershipResponse {})
    })
    .await
}

pub async fn get_membership(
    State(s): State<AppState>,
    Authenticated(caller): Authenticated,
    ConnectRequest(r): ConnectRequest<GetMembershipRequest>,
) -> Reply<GetMembershipResponse> {
    reply(check(&r), async move {
        let m = s.groups.membership(&caller, &r.group_id, convert::subject_input(r.subject)).await?;
        Ok(GetMembershipResponse { member: Some(convert::membership(m)) })
    })
    .await
}

pub async fn list_memberships(
    State(s): State<AppState>,
    Authenticated(caller): Authenticated,
    Paging(q): Paging,
    ConnectRequest(mut r): ConnectRequest<ListMembershipsRequest>,
) -> Reply<ListMembershipsResponse> {
    reply(check(&r), async move {
        let page = q.page(r.pagination.take())?;
        let search = r.filter.unwrap_or_default().search;
        let page = s.groups.memberships(&caller, &r.group_id, search, page.size, &page.token).await?;
        Ok(convert::memberships(page))
    })
    .await
}

pub async fn create_role_assignment(
    State(s): State<AppState>,
    Authenticated(caller): Authenticated,
    ConnectRequest(r): ConnectRequest<CreateRoleAssignmentRequest>,
) -> Reply<CreateRoleAssignmentResponse> {
    reply(check(&r), async move {
        let a = s.groups.assign(&caller, convert::assignment_input(r)).await?;
        Ok(CreateRoleAssignmentResponse { assignment: Some(convert::role_assignment(a)) })
    })
    .await
}

pub async fn delete_role_assignment(
    State(s): State<AppState>,
    Authenticated(caller): Authenticated,
    ConnectRequest(r): ConnectRequest<DeleteRoleAssignmentRequest>,
) -> Reply<DeleteRoleAssignmentResponse> {
    reply(check(&r), async move {
        s.groups.unassign(&caller, &r.assignment_id).await?;
        Ok(DeleteRoleAssignmentResponse {})
    })
    .await
}

pub async fn list_role_assignments(
    State(s): State<AppState>,
    Authenticated(caller): Authenticated,
    Paging(q): Paging,
    ConnectRequest(mut r): ConnectRequest<ListRoleAssignmentsRequest>,
) -> Reply<ListRoleAssignmentsResponse> {
    reply(check(&r), async move {
        let page = q.page(r.pagination.take())?;
        let page = s.groups.assignments(&caller, convert::list_assignments(r.filter), page.size, &page.token).await?;
        Ok(convert::role_assignments(page))
    })
    .await
}

pub async fn share_resource_with_principal(
    State(s): State<AppState>,
    Authenticated(caller): Authenticated,
    ConnectRequest(r): ConnectRequest<ShareResourceWithPrincipalRequest>,
) -> Reply<ShareResourceWithPrincipalResponse> {
    reply(check(&r), async move {
        s.groups.share(&caller, convert::share(r)).await?;
        Ok(ShareResourceWithPrincipalResponse {})
    })
    .await
}

pub async fn unshare_resource_with_principal(
    State(s): State<AppState>,
    Authenticated(caller): Authenticated,
    ConnectRequest(r): ConnectRequest<UnshareResourceWithPrincipalRequest>,
) -> Reply<UnshareResourceWithPrincipalResponse> {
    reply(check(&r), async move {
        s.groups.unshare(&caller, convert::unshare(r)).await?;
        Ok(UnshareResourceWithPrincipalResponse {})
    })
    .await
}
