//! Managing groups, their memberships and their role assignments within one organization, with
//! no caller: what both the API (`crate::groups`, after its authorization) and the `admin`
//! subcommands run. Every change to who is in a group or what a group may do empties the token
//! cache, so that it applies to the next call through this process.

use uuid::Uuid;

use super::Accounts;
use crate::error::{CoreError, Resource, Result};
use crate::events::{Audience, EventResource, Operation};
use crate::identity::{Group, Member, Membership, RoleAssignment};
use crate::store::StoreError;
use crate::time::Timestamp;
use crate::validate::{self, Violations};

/// A group's name and description, checked (names are 3 to 80 characters, descriptions at
/// most 255, as the API declares).
fn checked_text(name: &str, description: &str) -> Result<(String, String)> {
    let mut v = Violations::default();
    let name = v.check(validate::name("name", name, 3, 80));
    v.check(validate::text("description", description, 255));
    v.finish()?;
    Ok((name.expect("checked"), description.to_owned()))
}

/// A group name is unique in its organization: an invariant, `failed_precondition` (issue 17).
fn name_taken(name: &str) -> impl FnOnce(StoreError) -> CoreError {
    let message = format!("the organization has a group named {name:?} already: group names are unique");
    move |e| match e {
        StoreError::AlreadyExists => CoreError::FailedPrecondition(message),
        e => e.into(),
    }
}

/// Why a group's members cannot be changed by hand, if they cannot.
fn managed_members(group: &Group) -> Option<String> {
    if group.system {
        Some(format!("{} is managed by the system: it holds every member of the organization", group.name))
    } else if group.direct_share {
        Some(format!("{} is a direct-share group: its member is managed by sharing and unsharing", group.name))
    } else {
        None
    }
}

impl Accounts {
    /// Empties the token cache: what an authenticated token stands for changed (a membership,
    /// a role). The next call of every token reads it again.
    pub fn forget_authenticated(&self) {
        self.tokens.clear();
    }

    /// Creates a group of `org_id`.
    pub async fn create_group_described(&self, org_id: Uuid, name: &str, description: &str) -> Result<Group> {
        let (name, description) = checked_text(name, description)?;
        let group = Group::new(org_id, &name, &description, Timestamp::now());
        self.store.create_group(&group).await.map_err(name_taken(&name))?;
        self.published_group(&group, Operation::Create);
        Ok(group)
    }

    /// Renames and describes a group. The system group keeps its name, and direct-share groups
    /// theirs (they are found by it).
    pub async fn update_group(&self, group: Group, name: &str, description: &str) -> Result<Group> {
        let (name, description) = checked_text(name, description)?;
        if (group.system || group.direct_share) && name != group.name {
            return Err(CoreError::FailedPrecondition(format!(
                "{} is managed by the system and cannot be renamed",
                group.name
            )));
        }
        let id = group.id;
        let updated = Group { name: name.clone(), description, updated_at: Timestamp::now(), ..group };
        if !self.store.update_group(&updated).await.map_err(name_taken(&name))? {
            return Err(CoreError::not_found(Resource::Group, id));
        }
        self.published_group(&updated, Operation::Update);
        Ok(updated)
    }

    /// Deletes a group with its memberships and role assignments (its runner policies too), in
    /// one transaction. The system group cannot be deleted.
    pub async fn delete_group(&self, group: &Group) -> Result<()> {
        if group.system {
            return Err(CoreError::FailedPrecondition(format!(
                "{} is managed by the system and cannot be deleted",
                group.name
            )));
        }
        let deleted = self.store.delete_group(group.id).await;
        self.tokens.clear();
        if !deleted? {
            return Err(CoreError::not_found(Resource::Group, group.id));
        }
        self.published_group(group, Operation::Delete);
        Ok(())
    }

    /// Puts `member` into `group` (both of one organization, checked by the caller). Not into
    /// the system group, which holds everyone, nor a direct-share group.
    pub async fn add_member_to(&self, group: &Group, member: &Member) -> Result<Membership> {
        if group.org_id != member.org_id {
            return Err(CoreError::FailedPrecondition(
                "the group and the member belong to different organizations".into(),
            ));
        }
        if let Some(why) = managed_members(group) {
            return Err(CoreError::FailedPrecondition(why));
        }
        let added = self.store.add_group_member(group.id, member.id).await;
        self.tokens.clear();
        let id = added.map_err(|e| match e {
            StoreError::AlreadyExists => CoreError::AlreadyExists {
                resource: Resource::Membership,
                message: format!("{} is a member of {} already", member.name, group.name),
            },
            e => e.into(),
        })?;
        self.published_membership(group, id, Operation::Create);
        Ok(Membership { id, group_id: group.id, member_id: member.id })
    }

    /// Takes a member out of a group (the membership's group, checked by the caller).
    pub async fn remove_membership(&self, group: &Group, membership: &Membership) -> Result<()> {
        if let Some(why) = managed_members(group) {
            return Err(CoreError::FailedPrecondition(why));
        }
        let deleted = self.store.delete_membership(membership.id).await;
        self.tokens.clear();
        if !deleted? {
            return Err(CoreError::not_found(Resource::Membership, membership.id));
        }
        self.published_membership(group, membership.id, Operation::Delete);
        Ok(())
    }

    /// Records a role assignment (checked by the caller); `already_exists` when the group has
    /// that role on the resource, or any role on a runner (one per runner, as a runner policy).
    pub async fn assign_role(&self, assignment: &RoleAssignment) -> Result<()> {
        let inserted = self.store.insert_role_assignment(assignment).await;
        self.tokens.clear();
        if inserted.is_ok() {
            self.published_assignment(assignment, Operation::Create);
        }
        inserted.map_err(|e| match e {
            StoreError::AlreadyExists => CoreError::AlreadyExists {
                resource: Resource::RoleAssignment,
                message: format!(
                    "group {} has the role {} on {} {} already (a group has one role on a runner)",
                    assignment.group_id,
                    crate::model::ApiEnum::as_str(assignment.role),
                    crate::model::ApiEnum::as_str(assignment.resource_kind),
                    assignment.resource_id
                ),
            },
            e => e.into(),
        })
    }

    /// Deletes a role assignment.
    pub async fn unassign_role(&self, assignment: &RoleAssignment) -> Result<()> {
        let deleted = self.store.delete_role_assignment(assignment.id).await;
        self.tokens.clear();
        if !deleted? {
            return Err(CoreError::not_found(Resource::RoleAssignment, assignment.id));
        }
        self.published_assignment(assignment, Operation::Delete);
        Ok(())
    }

    /// Publishes a committed write of a group: every member of the organization may get it.
    pub(crate) fn published_group(&self, group: &Group, operation: Operation) {
        self.published(group.org_id, operation, EventResource::Group, group.id, None, Audience::Members);
    }

    /// Publishes a committed change of a membership of `group`.
    pub(crate) fn published_membership(&self, group: &Group, membership_id: Uuid, operation: Operation) {
        let resource = EventResource::GroupMembership;
        self.published(group.org_id, operation, resource, membership_id, None, Audience::Members);
    }
}
