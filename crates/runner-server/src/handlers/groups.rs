//! GroupService handlers: the organization's groups, read by its members. The other
//! GroupService methods are not served (`unimplemented`).

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
