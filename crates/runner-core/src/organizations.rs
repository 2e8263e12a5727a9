//! Organizations as the API shows them (OrganizationService): creating one (its founder becomes
//! its first admin, as a new user of the founder's account), reading, renaming and deleting the
//! caller's own, listing its members, setting their roles, and leaving it. Only the caller's
//! own organization is visible: any other id is `not_found`.

use std::collections::HashSet;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::accounts::Accounts;
use crate::error::{CoreError, FieldViolation, Resource, Result};
use crate::events::{Audience, EventResource, Operation};
use crate::identity::{Caller, Member, OrgRole, Organization};
use crate::model::Principal;
use crate::page::PageTokens;
use crate::store::{Store, StoreError};
use crate::time::Timestamp;
use crate::users::Users;
use crate::validate::{self, Violations};

const MEMBERS_LIST_KIND: &str = "organization members";
/// The API's `UserStatus` numbers.
pub const USER_STATUS_ACTIVE: i32 = 1;
pub const USER_STATUS_SUSPENDED: i32 = 2;
const USER_STATUS_LEFT: i32 = 3;
/// ListMembers' `SortField` and `SortOrder` numbers.
const SORT_BY_NAME: i32 = 1;
const SORT_BY_DATE_JOINED: i32 = 2;
const SORT_DESCENDING: i32 = 2;

/// ListMembers' input, as the request gives it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListMembersInput {
    pub organization_id: String,
    pub search: String,
    pub statuses: Vec<i32>,
    pub roles: Vec<i32>,
    pub user_ids: Vec<String>,
    pub exclude_group_ids: Vec<String>,
    pub exclude_members_in_any_team: bool,
    pub email: String,
    pub login_provider: i32,
    /// `(field, order)` numbers, when a sort is given.
    pub sort: Option<(i32, i32)>,
    pub count: bool,
}

/// One page of ListMembers.
#[derive(Debug, Clone)]
pub struct MembersPage {
    pub members: Vec<Member>,
    pub next_token: String,
    /// How many members match, when asked.
    pub total: Option<u64>,
}

/// The checked filter and sort of ListMembers; page tokens carry them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct MembersFilter {
    search: String,
    statuses: Vec<i32>,
    roles: Vec<i32>,
    user_ids: Vec<Uuid>,
    exclude_group_ids: Vec<Uuid>,
    exclude_members_in_any_team: bool,
    email: String,
    login_provider: i32,
    /// 0: the caller first, then by name; else a `SortField`.
    sort_field: i32,
    descending: bool,
}

impl MembersFilter {
    fn matches(&self, m: &Member, excluded: &HashSet<Uuid>) -> bool {
        let status = if m.suspended { USER_STATUS_SUSPENDED } else { USER_STATUS_ACTIVE };
        (self.search.is_empty() || m.name.to_lowercase().contains(&self.search.to_lowercase()))
            && (self.statuses.is_empty() || self.statuses.contains(&status))
            && (self.roles.is_empty() || self.roles.contains(&m.role.number()))
            && (self.user_ids.is_empty() || self.user_ids.contains(&m.id))
            // Users here have no email address and sign in with tokens, not a login provider.
            && self.email.is_empty()
            && self.login_provider == 0
            && !excluded.contains(&m.id)
    }
}

/// The organization use cases over a store.
#[derive(Clone)]
pub struct Organizations {
    store: Arc<dyn Store>,
    accounts: Accounts,
    users: Users,
    page_tokens: PageTokens,
}

impl Organizations {
    pub fn new(store: Arc<dyn Store>, accounts: Accounts, page_tokens: PageTokens) -> Self {
        let users = Users::new(store.clone(), accounts.clone(), page_tokens.clone());
        Self { store, accounts, users, page_tokens }
    }

    /// The same use cases through other [`Accounts`] (another token cache).
    pub fn with_accounts(self, accounts: Accounts) -> Self {
        Self { users: self.users.with_accounts(accounts.clone()), accounts, ..self }
    }

    /// The caller's own organization's id, given as `field`; any other is `not_found`.
    fn own(caller: &Caller, field: &str, id: &str) -> Result<Uuid> {
        let id = validate::uuid(field, id)?;
        if id == caller.org_id { Ok(id) } else { Err(CoreError::not_found(Resource::Organization, id)) }
    }

    fn admin(caller: &Caller, what: &str) -> Result<()> {
        if caller.org_admin {
            Ok(())
        } else {
            Err(CoreError::denied(
                format!("organization {}", caller.org_id),
                format!("only organization admins {what}"),
            ))
        }
    }

    async fn organization(&self, id: Uuid) -> Result<Organization> {
        self.store.get_organization(id).await?.ok_or_else(|| CoreError::not_found(Resource::Organization, id))
    }

    /// CreateOrganization: any user founds an organization and becomes its first admin, as a new
    /// user of its account there (`join_organization` must be set: an organization nobody is a
    /// member of could never be used through the API). Returns the organization and that user.
    pub async fn create(
        &self,
        caller: &Caller,
        name: &str,
        join_organization: bool,
        invite_accounts_with_matching_domain: bool,
    ) -> Result<(Organization, Member)> {
        let me = self.users.caller_user(caller).await?;
        let mut v = Violations::default();
        let name = v.check(validate::name("name", name, 3, 127));
        if !join_organization {
            v.push(FieldViolation::new(
                "joinOrganization",
                "must be true: an organization without members could never be used through the API",
            ));
        }
        if invite_accounts_with_matching_domain {
            v.push(FieldViolation::new(
                "inviteAccountsWithMatchingDomain",
                "is not supported: this server has no invitations",
            ));
        }
        v.finish()?;
        let (org, admin) = self.accounts.found_organization(&name.expect("checked"), Some(&me)).await?;
        Ok((org, admin.expect("a founder joins")))
    }

    /// GetOrganization: the caller's own organization.
    pub async fn get(&self, caller: &Caller, id: &str) -> Result<Organization> {
        Users::may_read(caller)?;
        self.organization(Self::own(caller, "organizationId", id)?).await
    }

    /// UpdateOrganization: an org admin renames it. Invite domains belong to invitations, which
    /// this server does not have: an empty list is accepted, any domain refused.
    pub async fn update(
        &self,
        caller: &Caller,
        id: &str,
        name: Option<String>,
        invite_domains: Option<Vec<String>>,
    ) -> Result<Organization> {
        Users::may_read(caller)?;
        let id = Self::own(caller, "organizationId", id)?;
        Self::admin(caller, "update the organization")?;
        let mut v = Violations::default();
        let name = name.and_then(|n| v.check(validate::name("name", &n, 3, 127)));
        if invite_domains.is_some_and(|d| !d.is_empty()) {
            v.push(FieldViolation::new("inviteDomains.domains", "is not supported: this server has no invitations"));
        }
        v.finish()?;
        let mut org = self.organization(id).await?;
        if let Some(name) = name.filter(|n| *n != org.name) {
            org.name = name;
            org.updated_at = Timestamp::now();
            let updated = self.store.update_organization(&org).await.map_err(|e| match e {
                StoreError::AlreadyExists => CoreError::AlreadyExists {
                    resource: Resource::Organization,
                    message: format!("organization {:?} already exists", org.name),
                },
                e => e.into(),
            })?;
            if !updated {
                return Err(CoreError::not_found(Resource::Organization, id));
            }
            self.accounts.published(id, Operation::Update, EventResource::Organization, id, None, Audience::Members);
        }
        Ok(org)
    }

    /// DeleteOrganization: an org admin deletes it with everything of it, in one transaction.
    pub async fn delete(&self, caller: &Caller, id: &str) -> Result<()> {
        Users::may_read(caller)?;
        let id = Self::own(caller, "organizationId", id)?;
        Self::admin(caller, "delete the organization")?;
        self.accounts.delete_organization(id).await
    }

    /// SetRole: an org admin makes a user of the organization an admin or a member.
    pub async fn set_role(&self, caller: &Caller, org_id: &str, user_id: &str, role: i32) -> Result<()> {
        Users::may_read(caller)?;
        Self::own(caller, "organizationId", org_id)?;
        let role = OrgRole::from_number(role).ok_or_else(|| {
            CoreError::invalid(
                "role",
                if role == 0 { "must not be unspecified".to_owned() } else { format!("unknown value {role}") },
            )
        })?;
        let user = self.users.user_in_org(caller, "userId", user_id).await?;
        Users::admin(caller, "change roles", &user)?;
        self.accounts.set_member_role(user.id, role).await
    }

    /// LeaveOrganization: the caller's user leaves (and is removed).
    pub async fn leave(&self, caller: &Caller, user_id: &str) -> Result<()> {
        self.users.leave(caller, user_id).await
    }

    /// ListMembers: the users of the caller's organization, filtered, sorted and paged. Without
    /// a sort the caller comes first, then the others by name.
    pub async fn list_members(
        &self,
        caller: &Caller,
        input: ListMembersInput,
        page_size: i32,
        token: &str,
    ) -> Result<MembersPage> {
        Users::may_read(caller)?;
        let mut v = Violations::default();
        let org = v.check(validate::uuid("organizationId", &input.organization_id));
        let size = v.check(validate::page_size("pagination.pageSize", page_size));
        let uuids = |field: &str, values: &[String]| validate::filter_list(field, values, |f, s| validate::uuid(f, s));
        let user_ids = v.check(uuids("filter.userIds", &input.user_ids));
        let exclude_group_ids = v.check(uuids("filter.excludeGroupIds", &input.exclude_group_ids));
        let statuses = v.check(validate::filter_list("filter.statuses", &input.statuses, |f, n| {
            if (USER_STATUS_ACTIVE..=USER_STATUS_LEFT).contains(n) {
                Ok(*n)
            } else {
                Err(FieldViolation::new(f, format!("unknown value {n}")))
            }
        }));
        let roles = v.check(validate::filter_list("filter.roles", &input.roles, |f, n| {
            OrgRole::from_number(*n)
                .map(OrgRole::number)
                .ok_or_else(|| FieldViolation::new(f, format!("unknown value {n}")))
        }));
        v.check(validate::length("filter.search", &input.search, 0, 256));
        let (sort_field, descending) = match input.sort {
            None => (0, false),
            Some((field, order)) => {
                if ![0, SORT_BY_NAME, SORT_BY_DATE_JOINED].contains(&field) {
                    v.push(FieldViolation::new("sort.field", format!("unknown value {field}")));
                }
                if !(0..=SORT_DESCENDING).contains(&order) {
                    v.push(FieldViolation::new("sort.order", format!("unknown value {order}")));
                }
                (if field == 0 { SORT_BY_NAME } else { field }, order == SORT_DESCENDING)
            }
        };
        let request_filter = MembersFilter {
            search: input.search,
            statuses: statuses.unwrap_or_default(),
            roles: roles.unwrap_or_default(),
            user_ids: user_ids.unwrap_or_default(),
            exclude_group_ids: exclude_group_ids.unwrap_or_default(),
            exclude_members_in_any_team: input.exclude_members_in_any_team,
            email: input.email,
            login_provider: input.login_provider,
            sort_field,
            descending,
        };
        let cursor = v.check(self.page_tokens.cursor("pagination.token", MEMBERS_LIST_KIND, token, request_filter));
        v.finish()?;
        if org != Some(caller.org_id) {
            return Err(CoreError::not_found(Resource::Organization, &input.organization_id));
        }
        let (size, cursor) = (size.expect("checked") as usize, cursor.expect("checked"));
        let offset: usize = match &cursor.after {
            None => 0,
            Some(a) => a.parse().map_err(|_| FieldViolation::new("pagination.token", "invalid page token"))?,
        };
        let filter = cursor.filter;

        let excluded = self.excluded(caller.org_id, &filter).await?;
        // An organization has a bounded number of users: they are read whole, sorted and paged here.
        let mut users: Vec<Member> = self
            .store
            .list_members(caller.org_id)
            .await?
            .into_iter()
            .filter(|m| m.principal == Principal::User && filter.matches(m, &excluded))
            .collect();
        let key = |m: &Member| (m.name.to_lowercase(), m.id);
        match filter.sort_field {
            0 => users.sort_by_key(|m| (m.id != caller.subject.id, key(m))),
            SORT_BY_DATE_JOINED => users.sort_by_key(|m| (m.created_at, m.id)),
            _ => users.sort_by_key(key),
        }
        if filter.descending {
            users.reverse();
        }
        let total = input.count.then_some(users.len() as u64);
        let next_token = if users.len() > offset + size {
            self.page_tokens.encode(MEMBERS_LIST_KIND, &filter, &(offset + size).to_string())
        } else {
            String::new()
        };
        let members = users.into_iter().skip(offset).take(size).collect();
        Ok(MembersPage { members, next_token, total })
    }

    /// The members the exclusion filters leave out: those in any of the excluded groups, and
    /// with `exclude_members_in_any_team` those in any group of their own (not the system group
    /// nor a direct share).
    async fn excluded(&self, org_id: Uuid, filter: &MembersFilter) -> Result<HashSet<Uuid>> {
        if filter.exclude_group_ids.is_empty() && !filter.exclude_members_in_any_team {
            return Ok(HashSet::new());
        }
        let teams: HashSet<Uuid> = if filter.exclude_members_in_any_team {
            self.store
                .list_groups(org_id)
                .await?
                .into_iter()
                .filter(|g| !g.system && !g.direct_share)
                .map(|g| g.id)
                .collect()
        } else {
            HashSet::new()
        };
        let memberships = self.store.list_group_memberships(org_id).await?;
        Ok(memberships
            .into_iter()
            .filter(|(group, _)| filter.exclude_group_ids.contains(group) || teams.contains(group))
            .map(|(_, member)| member)
            .collect())
    }
}
