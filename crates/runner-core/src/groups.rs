//! GroupService: groups, their memberships, the role assignments of groups on resources, and
//! resources shared directly with one user or service account.
//!
//! Who may do what (docs/authorization.md, "Groups"):
//! - every user and service account of an organization reads its groups, their memberships and
//!   its role assignments (the "transparency model" of the API reference), except assignments
//!   on runners it cannot see; runner principals may not call GroupService at all;
//! - organization admins and groups admins (members of a group with the `org_groups_admin`
//!   role on the organization) create, change and delete groups and their memberships;
//! - a role assignment, and a share, needs the admin role on its resource: on a runner, the
//!   runner's admins (as for runner policies); on the organization, organization admins.
//!
//! The changes themselves are the organization-scoped use cases of [`Accounts`] (which the
//! `admin` subcommands run too), and empty its token cache.

use std::collections::HashMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::accounts::Accounts;
use crate::authz::RunnerAccess;
use crate::error::{CoreError, FieldViolation, Resource, Result};
use crate::events::Operation;
use crate::identity::{Caller, Group, Member, Membership, RoleAssignment, RoleAssignmentFilter};
use crate::model::{ApiEnum, Principal, ResourceKind, ResourceRole, RunnerPolicy};
use crate::page::{Page, PageTokens};
use crate::runners::Runners;
use crate::store::{Store, StoreError};
use crate::time::Timestamp;
use crate::validate::{self, Violations};

const LIST_KIND: &str = "groups";
const MEMBERSHIPS_KIND: &str = "memberships";
const ASSIGNMENTS_KIND: &str = "role-assignments";

/// The name of the direct-share group of a user or service account: one per principal, found
/// by this name.
pub fn direct_share_group_name(member_id: Uuid) -> String {
    format!("direct-share-{member_id}")
}

/// A group and how many members it has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupInfo {
    pub group: Group,
    /// The `org-members` group counts every member of the organization; the others their
    /// memberships.
    pub member_count: u64,
}

/// Which group GetGroup reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupRef {
    Id(String),
    /// By name, within the caller's organization.
    Name(String),
}

/// The filters of ListGroups, as the request gives them (checked by [`Groups::list`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListGroupsInput {
    pub search: String,
    pub group_ids: Vec<String>,
    pub system_managed: Option<bool>,
    /// `None` leaves direct-share groups out, as the API says regular listings do.
    pub direct_share: Option<bool>,
    /// A resource (its type's API number and its id) whose groups with a role assignment on
    /// it are left out.
    pub exclude_assigned_to: Option<(i32, String)>,
}

/// The checked filters; page tokens carry them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct GroupFilter {
    search: String,
    group_ids: Vec<Uuid>,
    system_managed: Option<bool>,
    direct_share: Option<bool>,
    exclude_assigned_to: Option<(ResourceKind, Uuid)>,
}

impl GroupFilter {
    fn matches(&self, g: &Group, excluded: &[Uuid]) -> bool {
        let search = self.search.to_lowercase();
        (search.is_empty()
            || g.name.to_lowercase().contains(&search)
            || g.description.to_lowercase().contains(&search)
            || g.id.to_string().contains(&search))
            && (self.group_ids.is_empty() || self.group_ids.contains(&g.id))
            && self.system_managed.is_none_or(|s| s == g.system)
            && self.direct_share.unwrap_or(false) == g.direct_share
            && !excluded.contains(&g.id)
    }
}

/// A member of a group: the membership and who holds it. The members of the `org-members`
/// group hold no membership record: their membership id is the member's own id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupMember {
    pub membership: Membership,
    pub member: Member,
}

/// A group's new name and description (UpdateGroup), as sent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupInput {
    pub name: String,
    pub description: String,
}

/// A role assignment as CreateRoleAssignment sends it, unchecked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AssignmentInput {
    pub group_id: String,
    pub resource_type: i32,
    pub resource_id: String,
    pub role: i32,
}

/// The filters of ListRoleAssignments, as sent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListAssignmentsInput {
    pub resource_types: Vec<i32>,
    pub roles: Vec<i32>,
    pub group_id: String,
    pub user_id: String,
    pub resource_id: String,
    pub resource_ids: Vec<String>,
}

/// A share (ShareResourceWithPrincipal, UnshareResourceWithPrincipal), as sent; `role` is
/// unused for an unshare.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ShareInput {
    pub resource_type: i32,
    pub resource_id: String,
    pub principal: i32,
    pub principal_id: String,
    pub role: i32,
}

/// The group use cases over a store.
#[derive(Clone)]
pub struct Groups {
    store: Arc<dyn Store>,
    /// The organization-scoped changes, and the token cache they empty.
    accounts: Accounts,
    runners: Runners,
    page_tokens: PageTokens,
}

impl Groups {
    pub fn new(store: Arc<dyn Store>, accounts: Accounts, runners: Runners, page_tokens: PageTokens) -> Self {
        Self { store, accounts, runners, page_tokens }
    }

    /// The same use cases over other accounts (another token cache).
    pub fn with_accounts(mut self, accounts: Accounts) -> Self {
        self.accounts = accounts;
        self
    }

    /// Users and service accounts read their organization's groups; runners may not.
    fn may_read(caller: &Caller) -> Result<()> {
        match caller.subject.principal {
            Principal::User | Principal::ServiceAccount => Ok(()),
            _ => {
                Err(CoreError::denied("groups", "only users and service accounts of the organization read its groups"))
            }
        }
    }

    /// ListGroups: the caller's organization's groups, ordered by id, filtered and paged.
    pub async fn list(
        &self,
        caller: &Caller,
        input: ListGroupsInput,
        page_size: i32,
        token: &str,
    ) -> Result<Page<GroupInfo>> {
        Self::may_read(caller)?;
        let mut v = Violations::default();
        let size = v.check(validate::page_size("pagination.pageSize", page_size));
        let group_ids =
            v.check(validate::filter_list("filter.groupIds", &input.group_ids, |f, s| validate::uuid(f, s)));
        let exclude = match &input.exclude_assigned_to {
            None => Some(None),
            Some((kind, id)) => {
                let kind = v.check(validate::enum_value::<ResourceKind>(
                    "filter.excludeAssignedToResource.resourceType",
                    *kind,
                ));
                let id = v.check(validate::uuid("filter.excludeAssignedToResource.resourceId", id));
                kind.zip(id).map(Some)
            }
        };
        let request_filter = GroupFilter {
            search: input.search,
            group_ids: group_ids.unwrap_or_default(),
            system_managed: input.system_managed,
            direct_share: input.direct_share,
            exclude_assigned_to: exclude.flatten(),
        };
        let cursor = v.check(self.page_tokens.cursor("pagination.token", LIST_KIND, token, request_filter));
        v.finish()?;
        let (size, cursor) = (size.expect("checked"), cursor.expect("checked"));
        let after = cursor.after_id()?;
        let filter = cursor.filter;

        let excluded: Vec<Uuid> = match filter.exclude_assigned_to {
            None => Vec::new(),
            Some((kind, id)) => {
                let f =
                    RoleAssignmentFilter { resource_ids: vec![id], resource_kinds: vec![kind], ..Default::default() };
                // An organization has a bounded number of groups, so of assignments on one resource.
                let held = self.store.list_role_assignments(caller.org_id, &f, None, u32::MAX).await?;
                held.into_iter().map(|a| a.group_id).collect()
            }
        };
        // An organization has a bounded number of groups: they are read whole and paged here.
        let mut groups: Vec<Group> = self
            .store
            .list_groups(caller.org_id)
            .await?
            .into_iter()
            .filter(|g| after.is_none_or(|a| g.id > a) && filter.matches(g, &excluded))
            .collect();
        groups.sort_by_key(|g| g.id);
        groups.truncate(size as usize + 1);
        let counts = self.member_counts(caller.org_id, &groups).await?;
        let items =
            groups.into_iter().zip(counts).map(|(group, member_count)| GroupInfo { group, member_count }).collect();
        Ok(self.page_tokens.page(LIST_KIND, &filter, items, size, |g: &GroupInfo| g.group.id))
    }

    /// GetGroup: one group of the caller's organization, by id or by name; another
    /// organization's group is `not_found`, as one that does not exist.
    pub async fn get(&self, caller: &Caller, which: GroupRef) -> Result<GroupInfo> {
        Self::may_read(caller)?;
        let group = match &which {
            GroupRef::Id(id) => {
                let id = validate::uuid("id", id)?;
                self.store.get_group(id).await?.filter(|g| g.org_id == caller.org_id)
            }
            GroupRef::Name(name) => {
                validate::length("name", name, 3, 80)?;
                self.store.list_groups(caller.org_id).await?.into_iter().find(|g| &g.name == name)
            }
        };
        let group = group.ok_or_else(|| {
            CoreError::not_found(
                Resource::Group,
                match which {
                    GroupRef::Id(id) => id,
                    GroupRef::Name(name) => format!("named {name:?}"),
                },
            )
        })?;
        let member_count = self.member_counts(caller.org_id, std::slice::from_ref(&group)).await?[0];
        Ok(GroupInfo { group, member_count })
    }

    /// The member count of each of `groups` (all of organization `org_id`), in their order.
    async fn member_counts(&self, org_id: Uuid, groups: &[Group]) -> Result<Vec<u64>> {
        if groups.is_empty() {
            return Ok(Vec::new());
        }
        let counted: HashMap<Uuid, u64> = self.store.count_group_members(org_id).await?.into_iter().collect();
        let everyone =
            if groups.iter().any(|g| g.system) { self.store.list_members(org_id).await?.len() as u64 } else { 0 };
        Ok(groups.iter().map(|g| if g.system { everyone } else { counted.get(&g.id).copied().unwrap_or(0) }).collect())
    }

    /// Organization admins and groups admins manage groups and memberships; other users and
    /// service accounts of the organization get `permission_denied`.
    async fn may_manage(&self, caller: &Caller, what: &str) -> Result<()> {
        if caller.org_admin {
            return Ok(());
        }
        let roles = self.store.organization_roles(caller.org_id, &caller.groups).await?;
        if roles.contains(&ResourceRole::OrgGroupsAdmin) {
            Ok(())
        } else {
            Err(CoreError::denied(
                format!("organization {}", caller.org_id),
                format!("{what} needs the organization admin or groups admin role"),
            ))
        }
    }

    /// A group of the caller's organization; another organization's is `not_found`.
    async fn group_of_org(&self, caller: &Caller, id: Uuid) -> Result<Group> {
        self.store
            .get_group(id)
            .await?
            .filter(|g| g.org_id == caller.org_id)
            .ok_or_else(|| CoreError::not_found(Resource::Group, id))
    }

    /// The user or service account `subject` names in the caller's organization;
    /// `not_found` for anything else. `field` is the subject's JSON path.
    async fn subject_of_org(&self, caller: &Caller, field: &str, principal: i32, id: &str) -> Result<Member> {
        let mut v = Violations::default();
        let principal = v.check(validate::enum_value::<Principal>(&format!("{field}.principal"), principal));
        let id = v.check(validate::uuid(&format!("{field}.id"), id));
        if principal.is_some_and(|p| !matches!(p, Principal::User | Principal::ServiceAccount)) {
            v.push(FieldViolation::new(
                format!("{field}.principal"),
                "must be PRINCIPAL_USER or PRINCIPAL_SERVICE_ACCOUNT",
            ));
        }
        v.finish()?;
        let (principal, id) = (principal.expect("checked"), id.expect("checked"));
        let resource = if principal == Principal::User { Resource::User } else { Resource::ServiceAccount };
        self.store
            .get_member(id)
            .await?
            .filter(|m| m.org_id == caller.org_id && m.principal == principal)
            .ok_or_else(|| CoreError::not_found(resource, id))
    }

    /// The group (of the caller's organization) and the subject (a user or service account of
    /// it) a membership request names.
    async fn group_and_subject(
        &self,
        caller: &Caller,
        group_id: &str,
        subject: Option<(i32, String)>,
    ) -> Result<(Group, Member)> {
        Self::may_read(caller)?;
        let id = validate::uuid("groupId", group_id)?;
        let Some((principal, subject_id)) = subject else {
            return Err(CoreError::invalid("subject", "is required"));
        };
        let group = self.group_of_org(caller, id).await?;
        let member = self.subject_of_org(caller, "subject", principal, &subject_id).await?;
        Ok((group, member))
    }

    /// CreateGroup: a new group of the caller's organization.
    pub async fn create(&self, caller: &Caller, org_id: &str, input: GroupInput) -> Result<GroupInfo> {
        Self::may_read(caller)?;
        let org_id = validate::uuid("organizationId", org_id)?;
        if org_id != caller.org_id {
            return Err(CoreError::not_found(Resource::Organization, org_id));
        }
        self.may_manage(caller, "creating groups").await?;
        let group = self.accounts.create_group_described(org_id, &input.name, &input.description).await?;
        Ok(GroupInfo { group, member_count: 0 })
    }

    /// UpdateGroup: renames and describes a group.
    pub async fn update(&self, caller: &Caller, group_id: &str, input: GroupInput) -> Result<GroupInfo> {
        Self::may_read(caller)?;
        let id = validate::uuid("groupId", group_id)?;
        let group = self.group_of_org(caller, id).await?;
        self.may_manage(caller, "changing groups").await?;
        let group = self.accounts.update_group(group, &input.name, &input.description).await?;
        let member_count = self.member_counts(caller.org_id, std::slice::from_ref(&group)).await?[0];
        Ok(GroupInfo { group, member_count })
    }

    /// DeleteGroup: the group, its memberships and its role assignments, at once.
    pub async fn delete(&self, caller: &Caller, group_id: &str) -> Result<()> {
        Self::may_read(caller)?;
        let id = validate::uuid("groupId", group_id)?;
        let group = self.group_of_org(caller, id).await?;
        self.may_manage(caller, "deleting groups").await?;
        self.accounts.delete_group(&group).await
    }

    /// CreateMembership: puts a user or service account of the organization into a group.
    pub async fn add_member(
        &self,
        caller: &Caller,
        group_id: &str,
        subject: Option<(i32, String)>,
    ) -> Result<GroupMember> {
        let (group, member) = self.group_and_subject(caller, group_id, subject).await?;
        self.may_manage(caller, "changing group memberships").await?;
        let membership = self.accounts.add_member_to(&group, &member).await?;
        Ok(GroupMember { membership, member })
    }

    /// DeleteMembership: takes a member out of a group.
    pub async fn remove_member(&self, caller: &Caller, membership_id: &str) -> Result<()> {
        Self::may_read(caller)?;
        let id = validate::uuid("membershipId", membership_id)?;
        let missing = || CoreError::not_found(Resource::Membership, id);
        let membership = self.store.get_membership(id).await?.ok_or_else(missing)?;
        // Another organization's membership is not found, as its group.
        let group = self.group_of_org(caller, membership.group_id).await.map_err(|e| match e {
            CoreError::NotFound { .. } => missing(),
            e => e,
        })?;
        self.may_manage(caller, "changing group memberships").await?;
        self.accounts.remove_membership(&group, &membership).await
    }

    /// Every member of a group, ordered by membership id: the organization's members for the
    /// `org-members` group (membership id = member id), the memberships for the others.
    async fn members_of(&self, group: &Group) -> Result<Vec<GroupMember>> {
        let members = self.store.list_members(group.org_id).await?;
        let mut listed: Vec<GroupMember> = if group.system {
            members
                .into_iter()
                .map(|m| GroupMember {
                    membership: Membership { id: m.id, group_id: group.id, member_id: m.id },
                    member: m,
                })
                .collect()
        } else {
            let by_id: HashMap<Uuid, Member> = members.into_iter().map(|m| (m.id, m)).collect();
            self.store
                .list_memberships(group.id)
                .await?
                .into_iter()
                .filter_map(|ms| by_id.get(&ms.member_id).map(|m| GroupMember { membership: ms, member: m.clone() }))
                .collect()
        };
        listed.sort_by_key(|m| m.membership.id);
        Ok(listed)
    }

    /// GetMembership: a subject's membership of a group; `not_found` when it is not a member.
    pub async fn membership(
        &self,
        caller: &Caller,
        group_id: &str,
        subject: Option<(i32, String)>,
    ) -> Result<GroupMember> {
        let (group, member) = self.group_and_subject(caller, group_id, subject).await?;
        self.members_of(&group).await?.into_iter().find(|m| m.member.id == member.id).ok_or_else(|| {
            CoreError::not_found(Resource::Membership, format!("of {} in group {}", member.id, group.id))
        })
    }

    /// ListMemberships: a group's members, ordered by membership id, searched by name or id,
    /// paged. A group has at most the organization's members: they are read whole.
    pub async fn memberships(
        &self,
        caller: &Caller,
        group_id: &str,
        search: String,
        page_size: i32,
        token: &str,
    ) -> Result<Page<GroupMember>> {
        Self::may_read(caller)?;
        let mut v = Violations::default();
        let id = v.check(validate::uuid("groupId", group_id));
        let size = v.check(validate::page_size("pagination.pageSize", page_size));
        let cursor = v.check(self.page_tokens.cursor(
            "pagination.token",
            MEMBERSHIPS_KIND,
            token,
            (id.unwrap_or_default(), search),
        ));
        v.finish()?;
        let (id, size, cursor) = (id.expect("checked"), size.expect("checked"), cursor.expect("checked"));
        // The token belongs to one group's listing.
        if cursor.filter.0 != id {
            return Err(CoreError::invalid("pagination.token", "invalid page token"));
        }
        let after = cursor.after_id()?;
        let group = self.group_of_org(caller, id).await?;
        let search = cursor.filter.1.to_lowercase();
        let mut items: Vec<GroupMember> = self
            .members_of(&group)
            .await?
            .into_iter()
            .filter(|m| after.is_none_or(|a| m.membership.id > a))
            .filter(|m| {
                search.is_empty()
                    || m.member.name.to_lowercase().contains(&search)
                    || m.member.id.to_string().contains(&search)
            })
            .collect();
        items.truncate(size as usize + 1);
        Ok(self.page_tokens.page(MEMBERSHIPS_KIND, &cursor.filter, items, size, |m: &GroupMember| m.membership.id))
    }

    /// Fails unless the caller has the admin role on the resource: on a runner, as for its
    /// policies (`not_found` when the caller cannot see it); on the organization, organization
    /// admins (another organization is `not_found`).
    async fn require_resource_admin(&self, caller: &Caller, kind: ResourceKind, id: Uuid) -> Result<()> {
        match kind {
            ResourceKind::Runner => self.runners.load_for(caller, id, RunnerAccess::Admin).await.map(|_| ()),
            ResourceKind::Organization if id != caller.org_id => Err(CoreError::not_found(Resource::Organization, id)),
            ResourceKind::Organization if caller.org_admin => Ok(()),
            ResourceKind::Organization => Err(CoreError::denied(
                format!("organization {id}"),
                "roles on the organization are given and taken by organization admins",
            )),
        }
    }

    /// A resource type and a role, checked: a type this server keeps roles on, a role it
    /// honours, and a role of that type.
    fn kind_and_role(
        v: &mut Violations,
        type_field: &str,
        kind: i32,
        role_field: &str,
        role: i32,
    ) -> Option<(ResourceKind, ResourceRole)> {
        let kind = v.check(validate::enum_value::<ResourceKind>(type_field, kind).map_err(|e| {
            FieldViolation::new(e.field, "must be RESOURCE_TYPE_RUNNER or RESOURCE_TYPE_ORGANIZATION: the resource types this server keeps roles on")
        }));
        let role = v.check(validate::enum_value::<ResourceRole>(role_field, role).map_err(|e| {
            FieldViolation::new(e.field, format!("must be a role this server honours: {}", honoured_roles()))
        }));
        if let (Some(kind), Some(role)) = (kind, role)
            && role.resource_kind() != kind
        {
            v.push(FieldViolation::new(
                role_field,
                format!(
                    "{} is a role on a {}, not on a {}",
                    role.as_str(),
                    role.resource_kind().as_str(),
                    kind.as_str()
                ),
            ));
            return None;
        }
        kind.zip(role)
    }

    /// CreateRoleAssignment: gives a group of the organization a role on a runner or on the
    /// organization. A runner role on a runner is that runner's policy for the group.
    pub async fn assign(&self, caller: &Caller, input: AssignmentInput) -> Result<RoleAssignment> {
        Self::may_read(caller)?;
        let mut v = Violations::default();
        let group_id = v.check(validate::uuid("groupId", &input.group_id));
        let resource_id = v.check(validate::uuid("resourceId", &input.resource_id));
        let kind_role = Self::kind_and_role(&mut v, "resourceType", input.resource_type, "resourceRole", input.role);
        v.finish()?;
        let (group_id, resource_id) = (group_id.expect("checked"), resource_id.expect("checked"));
        let (kind, role) = kind_role.expect("checked");
        self.require_resource_admin(caller, kind, resource_id).await?;
        self.group_of_org(caller, group_id).await?;
        let assignment = RoleAssignment {
            id: Uuid::now_v7(),
            org_id: caller.org_id,
            group_id,
            resource_kind: kind,
            resource_id,
            role,
            created_at: Timestamp::now(),
        };
        self.accounts.assign_role(&assignment).await?;
        Ok(assignment)
    }

    /// DeleteRoleAssignment: needs the admin role on the assignment's resource.
    pub async fn unassign(&self, caller: &Caller, assignment_id: &str) -> Result<()> {
        Self::may_read(caller)?;
        let id = validate::uuid("assignmentId", assignment_id)?;
        let missing = || CoreError::not_found(Resource::RoleAssignment, id);
        let a = self.store.get_role_assignment(id).await?.filter(|a| a.org_id == caller.org_id).ok_or_else(missing)?;
        // An assignment on a runner the caller cannot see is not found, as the runner.
        self.require_resource_admin(caller, a.resource_kind, a.resource_id).await.map_err(|e| match e {
            CoreError::NotFound { .. } => missing(),
            e => e,
        })?;
        self.accounts.unassign_role(&a).await
    }

    /// ListRoleAssignments: the organization's role assignments, ordered by id, filtered and
    /// paged. Every user and service account of the organization reads them, except those on
    /// runners it cannot see.
    pub async fn assignments(
        &self,
        caller: &Caller,
        input: ListAssignmentsInput,
        page_size: i32,
        token: &str,
    ) -> Result<Page<RoleAssignment>> {
        Self::may_read(caller)?;
        let mut v = Violations::default();
        let size = v.check(validate::page_size("pagination.pageSize", page_size));
        let kinds = v.check(validate::filter_list("filter.resourceTypes", &input.resource_types, |f, k| {
            validate::enum_value::<ResourceKind>(f, *k)
                .map_err(|e| FieldViolation::new(e.field, "must be RESOURCE_TYPE_RUNNER or RESOURCE_TYPE_ORGANIZATION"))
        }));
        let roles = v.check(validate::filter_list("filter.resourceRoles", &input.roles, |f, r| {
            validate::enum_value::<ResourceRole>(f, *r).map_err(|e| {
                FieldViolation::new(e.field, format!("must be a role this server honours: {}", honoured_roles()))
            })
        }));
        let group_id = v.check(validate::optional_uuid("filter.groupId", &input.group_id));
        let member_id = v.check(validate::optional_uuid("filter.userId", &input.user_id));
        let one = v.check(validate::optional_uuid("filter.resourceId", &input.resource_id));
        let many =
            v.check(validate::filter_list("filter.resourceIds", &input.resource_ids, |f, s| validate::uuid(f, s)));
        if !input.resource_id.is_empty() && !input.resource_ids.is_empty() {
            v.push(FieldViolation::new("filter.resourceId", "give resourceId or resourceIds, not both"));
        }
        let request_filter = RoleAssignmentFilter {
            group_id: group_id.flatten(),
            member_id: member_id.flatten(),
            resource_ids: one.flatten().map(|r| vec![r]).or(many).unwrap_or_default(),
            resource_kinds: kinds.unwrap_or_default(),
            roles: roles.unwrap_or_default(),
        };
        let cursor = v.check(self.page_tokens.cursor("pagination.token", ASSIGNMENTS_KIND, token, request_filter));
        v.finish()?;
        let (size, cursor) = (size.expect("checked"), cursor.expect("checked"));
        let mut after = cursor.after_id()?;
        let filter = cursor.filter;

        // Read in batches until the page is full: some assignments may be left out.
        let mut seen: HashMap<Uuid, bool> = HashMap::new();
        let mut items = Vec::new();
        'read: loop {
            let batch = self.store.list_role_assignments(caller.org_id, &filter, after, size + 1).await?;
            let last = batch.len() <= size as usize;
            for a in batch {
                after = Some(a.id);
                if self.visible(caller, &a, &mut seen).await? {
                    items.push(a);
                    if items.len() > size as usize {
                        break 'read;
                    }
                }
            }
            if last {
                break;
            }
        }
        Ok(self.page_tokens.page(ASSIGNMENTS_KIND, &filter, items, size, |a: &RoleAssignment| a.id))
    }

    /// Whether the caller may see an assignment: those on the organization always; those on a
    /// runner when it can see the runner (`seen` remembers runners already asked about).
    async fn visible(&self, caller: &Caller, a: &RoleAssignment, seen: &mut HashMap<Uuid, bool>) -> Result<bool> {
        if a.resource_kind != ResourceKind::Runner || caller.admin_of_all_runners() {
            return Ok(true);
        }
        if let Some(v) = seen.get(&a.resource_id) {
            return Ok(*v);
        }
        let v = match self.runners.load_for(caller, a.resource_id, RunnerAccess::User).await {
            Ok(_) => true,
            Err(CoreError::NotFound { .. }) => false,
            Err(e) => return Err(e),
        };
        seen.insert(a.resource_id, v);
        Ok(v)
    }

    /// The checked parts of a share: the resource, the role (for a share) and the principal.
    async fn share_parts(
        &self,
        caller: &Caller,
        input: &ShareInput,
        with_role: bool,
    ) -> Result<(ResourceKind, Uuid, Option<ResourceRole>, Member)> {
        Self::may_read(caller)?;
        let mut v = Violations::default();
        let resource_id = v.check(validate::uuid("resourceId", &input.resource_id));
        let (kind, role) = if with_role {
            match Self::kind_and_role(&mut v, "resourceType", input.resource_type, "role", input.role) {
                Some((k, r)) => (Some(k), Some(r)),
                None => (None, None),
            }
        } else {
            let kind =
                v.check(validate::enum_value::<ResourceKind>("resourceType", input.resource_type).map_err(|e| {
                    FieldViolation::new(e.field, "must be RESOURCE_TYPE_RUNNER or RESOURCE_TYPE_ORGANIZATION")
                }));
            (kind, None)
        };
        v.finish()?;
        let (kind, resource_id) = (kind.expect("checked"), resource_id.expect("checked"));
        self.require_resource_admin(caller, kind, resource_id).await?;
        let member =
            self.subject_of_org(caller, "principal", input.principal, &input.principal_id).await.map_err(|e| {
                // The request names the principal's fields `principal` and `principalId`.
                match e {
                    CoreError::InvalidArgument(violations) => CoreError::InvalidArgument(
                        violations
                            .into_iter()
                            .map(|mut f| {
                                f.field =
                                    if f.field.ends_with(".id") { "principalId".into() } else { "principal".into() };
                                f
                            })
                            .collect(),
                    ),
                    e => e,
                }
            })?;
        Ok((kind, resource_id, role, member))
    }

    /// The direct-share group of `member`, if it has one.
    async fn direct_share_group(&self, member: &Member) -> Result<Option<Group>> {
        let name = direct_share_group_name(member.id);
        Ok(self.store.list_groups(member.org_id).await?.into_iter().find(|g| g.direct_share && g.name == name))
    }

    /// ShareResourceWithPrincipal: gives one user or service account a role on a resource,
    /// through its direct-share group (made on its first share, holding only it). Sharing again
    /// with another role changes the role.
    pub async fn share(&self, caller: &Caller, input: ShareInput) -> Result<()> {
        let (kind, resource_id, role, member) = self.share_parts(caller, &input, true).await?;
        let role = role.expect("checked");
        let group = match self.direct_share_group(&member).await? {
            Some(g) => g,
            None => {
                let name = direct_share_group_name(member.id);
                let description = format!("Resources shared directly with {}", member.name);
                let g =
                    Group { direct_share: true, ..Group::new(member.org_id, &name, &description, Timestamp::now()) };
                match self.store.create_group(&g).await {
                    Ok(()) => {
                        self.accounts.published_group(&g, Operation::Create);
                        g
                    }
                    // Made meanwhile by a concurrent share.
                    Err(StoreError::AlreadyExists) => self.direct_share_group(&member).await?.ok_or_else(|| {
                        CoreError::FailedPrecondition(format!(
                            "a group named {name} exists and is not a direct-share group"
                        ))
                    })?,
                    Err(e) => return Err(e.into()),
                }
            }
        };
        match self.store.add_group_member(group.id, member.id).await {
            Ok(id) => self.accounts.published_membership(&group, id, Operation::Create),
            Err(StoreError::AlreadyExists) => {}
            Err(e) => return Err(e.into()),
        }
        let filter =
            RoleAssignmentFilter { group_id: Some(group.id), resource_ids: vec![resource_id], ..Default::default() };
        let held = self.store.list_role_assignments(caller.org_id, &filter, None, u32::MAX).await?;
        let result = if held.iter().any(|a| a.role == role) {
            Ok(())
        } else if let (Some(runner_role), false) = (role.runner_role(), held.is_empty()) {
            // One role per group on a runner: the share's role replaces the one it had.
            let policy = RunnerPolicy { runner_id: resource_id, group_id: group.id, role: runner_role };
            let updated = self.store.update_runner_policy(&policy).await.map_err(CoreError::from);
            if let Ok(true) = updated {
                self.accounts.published_assignment(&held[0], Operation::Update);
            }
            updated.map(|_| ())
        } else {
            let assignment = RoleAssignment {
                id: Uuid::now_v7(),
                org_id: caller.org_id,
                group_id: group.id,
                resource_kind: kind,
                resource_id,
                role,
                created_at: Timestamp::now(),
            };
            match self.accounts.assign_role(&assignment).await {
                // A concurrent share gave the group its role on the resource meanwhile.
                Err(CoreError::AlreadyExists { .. }) => Ok(()),
                other => other,
            }
        };
        self.accounts.forget_authenticated();
        result
    }

    /// UnshareResourceWithPrincipal: takes away the principal's direct roles on the resource,
    /// and its direct-share group when that holds nothing else. Access through other groups
    /// stays.
    pub async fn unshare(&self, caller: &Caller, input: ShareInput) -> Result<()> {
        let (kind, resource_id, _, member) = self.share_parts(caller, &input, false).await?;
        let missing = || {
            CoreError::not_found(
                Resource::Share,
                format!("of {} {resource_id} with {} {}", kind.as_str(), member.principal.as_str(), member.id),
            )
        };
        let group = self.direct_share_group(&member).await?.ok_or_else(missing)?;
        let filter =
            RoleAssignmentFilter { group_id: Some(group.id), resource_ids: vec![resource_id], ..Default::default() };
        let held = self.store.list_role_assignments(caller.org_id, &filter, None, u32::MAX).await?;
        if held.is_empty() {
            return Err(missing());
        }
        for a in held {
            self.accounts.unassign_role(&a).await?;
        }
        let rest = RoleAssignmentFilter { group_id: Some(group.id), ..Default::default() };
        if self.store.list_role_assignments(caller.org_id, &rest, None, 1).await?.is_empty() {
            self.accounts.delete_group(&group).await?;
        }
        Ok(())
    }
}

/// The roles this server honours, as the API names them.
fn honoured_roles() -> String {
    ResourceRole::VALUES
        .iter()
        .map(|r| format!("RESOURCE_ROLE_{}", r.as_str().to_uppercase()))
        .collect::<Vec<_>>()
        .join(", ")
}
