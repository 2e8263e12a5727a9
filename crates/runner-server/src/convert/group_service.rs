//! GroupService: groups, memberships, role assignments and shares.

use gitpod_api::gitpod::v1 as pb;
use runner_core::groups::{
    AssignmentInput, GroupInfo, GroupInput, GroupMember, GroupRef, ListAssignmentsInput, ListGroupsInput, ShareInput,
};
use runner_core::identity::RoleAssignment;
use runner_core::model::ApiEnum;
use runner_core::page::Page;

use super::{pagination, subject, timestamp};

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

pub fn group_input(name: String, description: String) -> GroupInput {
    GroupInput { name, description }
}

/// A request's subject, as the use case takes it: (principal number, id).
pub fn subject_input(s: Option<pb::Subject>) -> Option<(i32, String)> {
    s.map(|s| (s.principal, s.id))
}

pub fn membership(m: GroupMember) -> pb::GroupMembership {
    pb::GroupMembership {
        id: m.membership.id.to_string(),
        subject: Some(subject(&m.member.subject())),
        group_id: m.membership.group_id.to_string(),
        name: m.member.name,
        avatar_url: String::new(),
    }
}

pub fn memberships(page: Page<GroupMember>) -> pb::ListMembershipsResponse {
    pb::ListMembershipsResponse {
        pagination: pagination(page.next_token),
        members: page.items.into_iter().map(membership).collect(),
    }
}

pub fn assignment_input(r: pb::CreateRoleAssignmentRequest) -> AssignmentInput {
    AssignmentInput {
        group_id: r.group_id,
        resource_type: r.resource_type,
        resource_id: r.resource_id,
        role: r.resource_role,
    }
}

pub fn list_assignments(filter: Option<pb::list_role_assignments_request::Filter>) -> ListAssignmentsInput {
    let f = filter.unwrap_or_default();
    ListAssignmentsInput {
        resource_types: f.resource_types,
        roles: f.resource_roles,
        group_id: f.group_id,
        user_id: f.user_id,
        resource_id: f.resource_id,
        resource_ids: f.resource_ids,
    }
}

pub fn role_assignment(a: RoleAssignment) -> pb::RoleAssignment {
    pb::RoleAssignment {
        id: a.id.to_string(),
        group_id: a.group_id.to_string(),
        organization_id: a.org_id.to_string(),
        resource_id: a.resource_id.to_string(),
        resource_type: a.resource_kind.number(),
        resource_role: a.role.number(),
        // Every assignment here was made directly, none derived from an organization role.
        derived_from_org_role: None,
    }
}

pub fn role_assignments(page: Page<RoleAssignment>) -> pb::ListRoleAssignmentsResponse {
    pb::ListRoleAssignmentsResponse {
        pagination: pagination(page.next_token),
        assignments: page.items.into_iter().map(role_assignment).collect(),
    }
}

pub fn share(r: pb::ShareResourceWithPrincipalRequest) -> ShareInput {
    ShareInput {
        resource_type: r.resource_type,
        resource_id: r.resource_id,
        principal: r.principal,
        principal_id: r.principal_id,
        role: r.role,
    }
}

pub fn unshare(r: pb::UnshareResourceWithPrincipalRequest) -> ShareInput {
    ShareInput {
        resource_type: r.resource_type,
        resource_id: r.resource_id,
        principal: r.principal,
        principal_id: r.principal_id,
        role: 0,
    }
}
