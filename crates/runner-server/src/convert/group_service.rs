//! GroupService: the organization's groups (ListGroups, GetGroup).

use gitpod_api::gitpod::v1 as pb;
use runner_core::groups::{GroupInfo, GroupRef, ListGroupsInput};
use runner_core::page::Page;

use super::{pagination, timestamp};

/// The group to get: the `group` oneof, else the deprecated `group_id`.
pub fn get_group(r: pb::GetGroupRequest) -> GroupRef {
    use pb::get_group_request::Group;
    match r.group {
        Some(Group::Id(id)) => GroupRef::Id(id),
        Some(Group::Name(name)) => GroupRef::Name(name),
        // Deprecated, still sent by older clients: the id when the oneof is unset.
        #[allow(deprecated)]
        None => GroupRef::Id(r.group_id),
    }
}

pub fn list_groups(filter: Option<pb::list_groups_request::Filter>) -> ListGroupsInput {
    let f = filter.unwrap_or_default();
    ListGroupsInput {
        search: f.search,
        group_ids: f.group_ids,
        system_managed: f.system_managed,
        direct_share: f.direct_share,
        exclude_assigned_to: f.exclude_assigned_to_resource.map(|e| (e.resource_type, e.resource_id)),
    }
}

pub fn group(g: GroupInfo) -> pb::Group {
    let GroupInfo { group: g, member_count } = g;
    pb::Group {
        id: g.id.to_string(),
        organization_id: g.org_id.to_string(),
        name: g.name,
        system_managed: g.system,
        created_at: Some(timestamp(g.created_at)),
        updated_at: Some(timestamp(g.updated_at)),
        description: g.description,
        member_count: i32::try_from(member_count).unwrap_or(i32::MAX),
        direct_share: g.direct_share,
    }
}

pub fn groups(page: Page<GroupInfo>) -> pb::ListGroupsResponse {
    pb::ListGroupsResponse {
        pagination: pagination(page.next_token),
        groups: page.items.into_iter().map(group).collect(),
    }
}
