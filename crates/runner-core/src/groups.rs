//! Groups as the API shows them (GroupService ListGroups and GetGroup): every user and service
//! account of an organization may read its organization's groups, with their member counts
//! (the "transparency model" of the API reference). Runner principals may not. Groups are
//! created and filled by the `admin` subcommands ([`crate::accounts`]).

use std::collections::HashMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{CoreError, Resource, Result};
use crate::identity::{Caller, Group, RoleAssignmentFilter};
use crate::model::{Principal, ResourceKind};
use crate::page::{Page, PageTokens};
use crate::store::Store;
use crate::validate::{self, Violations};

const LIST_KIND: &str = "groups";

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

/// The group use cases over a store.
#[derive(Clone)]
pub struct Groups {
    store: Arc<dyn Store>,
    page_tokens: PageTokens,
}

impl Groups {
    pub fn new(store: Arc<dyn Store>, page_tokens: PageTokens) -> Self {
        Self { store, page_tokens }
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
}
