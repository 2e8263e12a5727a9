//! Accounts: authenticating the bearer token of every call ([`Accounts::authenticate`], a
//! personal access token or a runner's access token, to a [`Caller`]), and managing what
//! tokens stand for: organizations, members (users and service accounts), groups, roles and
//! personal access tokens (the server's `admin` subcommands, and its first start).

mod group_admin;

use std::sync::Arc;
use std::time::Duration;

use uuid::Uuid;

use crate::error::{CoreError, Resource, Result};
use crate::events::{Audience, Event, EventBus, EventResource, Operation};
use crate::identity::*;
use crate::model::{ApiEnum, Principal, ResourceKind, ResourceRole, Subject};
use crate::secrets;
use crate::store::{MemberChange, MemberChanged, RunnerTokenKind, Store, StoreError};
use crate::time::Timestamp;
use crate::token_cache::TokenCache;
use crate::validate;

/// A token's `last_used_at` is written when it authenticates from the database and the one
/// stored is older than this: at most one write a minute per token, none while it is cached.
pub const LAST_USED_RESOLUTION_SECS: i64 = 60;

/// How the refusal of a superseded runner access token starts; runner processes look for it.
pub const SUPERSEDED: &str = "runner access token superseded";

/// The one local-configuration runner every organization has: it holds the settings shared by
/// local runners (their SCM integrations, and with its desired phase whether they may run).
pub fn local_configuration_runner(org_id: Uuid, now: Timestamp) -> crate::model::Runner {
    use crate::model::*;
    crate::model::Runner {
        id: Uuid::now_v7(),
        org_id,
        name: "Local runners".to_owned(),
        kind: RunnerKind::LocalConfiguration,
        provider: None,
        runner_manager_id: None,
        creator: None,
        created_at: now,
        updated_at: now,
        spec: RunnerSpec { desired_phase: Some(RunnerPhase::Active), ..Default::default() },
        status: RunnerStatus { phase: RunnerPhase::Active, ..Default::default() },
        revision: 1,
    }
}

/// The account use cases over a store.
#[derive(Clone)]
pub struct Accounts {
    store: Arc<dyn Store>,
    /// Shared by clones: a change through any clone empties it for all.
    tokens: Arc<TokenCache>,
    /// Where committed writes are published (crate::events); one bus per server.
    events: EventBus,
}

/// Who the caller of GetAuthenticatedIdentity is, and where it acts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthenticatedIdentity {
    pub subject: Subject,
    pub organization_id: Uuid,
    /// The name of the organization's `OrganizationTier` ([`ORGANIZATION_TIER`]).
    pub organization_tier: &'static str,
}

/// GetAuthenticatedIdentity: the caller's subject and the organization its token acts in.
pub fn authenticated_identity(caller: &Caller) -> AuthenticatedIdentity {
    AuthenticatedIdentity {
        subject: caller.subject.clone(),
        organization_id: caller.org_id,
        organization_tier: ORGANIZATION_TIER,
    }
}

/// A personal access token just issued: the plaintext, shown once, and its record.
#[derive(Debug)]
pub struct IssuedToken {
    pub token: String,
    pub info: AccessTokenInfo,
}

/// A user's or service account's name as `admin create-user` and the first start give it.
fn member_name(name: &str) -> Result<String> {
    Ok(validate::name("name", name, 1, 127)?)
}

fn duplicate(what: &str, name: &str) -> impl FnOnce(StoreError) -> CoreError {
    let resource = match what {
        "organization" => Resource::Organization,
        "user" => Resource::User,
        _ => Resource::Group,
    };
    duplicate_of(resource, what, name)
}

/// Reads a duplicate key as `already_exists` of `resource`, saying which name is taken.
pub(crate) fn duplicate_of(resource: Resource, what: &str, name: &str) -> impl FnOnce(StoreError) -> CoreError {
    let message = format!("{what} {name:?} already exists");
    move |e| match e {
        StoreError::AlreadyExists => CoreError::AlreadyExists { resource, message },
        e => e.into(),
    }
}

/// A new service account: what `Accounts::create_service_account` stores.
#[derive(Debug, Clone)]
pub struct NewServiceAccount {
    pub org_id: Uuid,
    pub name: String,
    pub description: String,
    /// Who creates it through the API; `None` for the `admin` subcommand.
    pub creator: Option<Subject>,
    pub valid_until: Option<Timestamp>,
    pub role: OrgRole,
}

impl NewServiceAccount {
    /// One as `admin create-service-account` makes it: no description, no creator, valid
    /// without end.
    pub fn without_details(org_id: Uuid, name: &str, role: OrgRole) -> Self {
        Self { org_id, name: name.to_owned(), description: String::new(), creator: None, valid_until: None, role }
    }
}

/// What a refused change would have done to the last active admin, for its message.
fn taken_away(change: MemberChange) -> &'static str {
    match change {
        MemberChange::Role(_) => "demoted",
        MemberChange::Suspended(_) => "suspended",
        MemberChange::Delete => "removed",
    }
}

impl Accounts {
    /// Without a token cache: every authentication reads the database.
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self::with_token_cache(store, Duration::ZERO)
    }

    /// Caches authenticated personal access tokens for `ttl` ([`TokenCache`]).
    pub fn with_token_cache(store: Arc<dyn Store>, ttl: Duration) -> Self {
        Self { store, tokens: Arc::new(TokenCache::new(ttl)), events: EventBus::default() }
    }

    /// The same use cases publishing their committed writes on `bus` (the server's one bus).
    pub fn with_event_bus(mut self, bus: EventBus) -> Self {
        self.events = bus;
        self
    }

    /// Publishes a committed write (call only after the store returned `Ok`).
    pub(crate) fn published(
        &self,
        org_id: Uuid,
        operation: Operation,
        resource: EventResource,
        resource_id: Uuid,
        creator: Option<&Subject>,
        audience: Audience,
    ) {
        self.events.publish(Event {
            org_id,
            operation,
            resource,
            resource_id,
            creator_id: creator.map(|c| c.id),
            audience,
        });
    }

    /// Publishes a committed write of a member: a user, or a service account.
    fn published_member(&self, member: &Member, operation: Operation, creator: Option<&Subject>) {
        let resource = match member.principal {
            Principal::ServiceAccount => EventResource::ServiceAccount,
            _ => EventResource::User,
        };
        self.published(member.org_id, operation, resource, member.id, creator, Audience::Members);
    }

    /// Publishes a committed write of an access token of `owner`: a personal access token, or
    /// a service account's.
    fn published_token(&self, owner: &Member, info: &AccessTokenInfo, operation: Operation) {
        let resource = match owner.principal {
            Principal::ServiceAccount => EventResource::ServiceAccountToken,
            _ => EventResource::PersonalAccessToken,
        };
        self.published(info.org_id, operation, resource, info.id, info.creator.as_ref(), Audience::Owner(owner.id));
    }

    /// Publishes a committed write of a role assignment.
    pub(crate) fn published_assignment(&self, a: &RoleAssignment, operation: Operation) {
        self.events.publish(Event::role_assignment(a, operation));
    }

    /// Creates an organization and its `org-members` system group.
    pub async fn create_organization(&self, name: &str) -> Result<Organization> {
        Ok(self.found_organization(name, None).await?.0)
    }

    /// Creates an organization with its `org-members` system group and its local-configuration
    /// runner, and, given a `founder`, its first admin: a new user of the founder's account, with
    /// its name. All or nothing.
    pub async fn found_organization(
        &self,
        name: &str,
        founder: Option<&Member>,
    ) -> Result<(Organization, Option<Member>)> {
        let name = validate::name("name", name, 1, 127)?;
        let now = Timestamp::now();
        let org = Organization { id: Uuid::now_v7(), name: name.clone(), created_at: now, updated_at: now };
        let members =
            Group { system: true, ..Group::new(org.id, ORG_MEMBERS_GROUP, "Every member of the organization", now) };
        let local = local_configuration_runner(org.id, now);
        let admin = founder.map(|f| Member {
            account_id: f.account_id,
            ..Member::new(org.id, Principal::User, &f.name, OrgRole::Admin, now)
        });
        self.store
            .create_organization(&org, &members, &local, admin.as_ref())
            .await
            .map_err(duplicate("organization", &name))?;
        self.published(org.id, Operation::Create, EventResource::Organization, org.id, None, Audience::Members);
        if let Some(admin) = &admin {
            self.published_member(admin, Operation::Create, None);
        }
        Ok((org, admin))
    }

    pub async fn organizations(&self) -> Result<Vec<Organization>> {
        Ok(self.store.list_organizations().await?)
    }

    /// Finds an organization by id or by name.
    pub async fn organization(&self, id_or_name: &str) -> Result<Organization> {
        self.organizations()
            .await?
            .into_iter()
            .find(|o| o.name == id_or_name || o.id.to_string() == id_or_name)
            .ok_or_else(|| CoreError::FailedPrecondition(format!("no organization {id_or_name:?}")))
    }

    /// Adds a user or service account to an organization.
    pub async fn create_member(&self, org_id: Uuid, principal: Principal, name: &str, role: OrgRole) -> Result<Member> {
        if !matches!(principal, Principal::User | Principal::ServiceAccount) {
            return Err(CoreError::invalid("principal", "must be a user or a service account"));
        }
        let name = member_name(name)?;
        let member = Member::new(org_id, principal, &name, role, Timestamp::now());
        self.store.create_member(&member).await.map_err(duplicate(principal.as_str(), &name))?;
        self.published_member(&member, Operation::Create, None);
        Ok(member)
    }

    /// Creates a user that is the account of a person with an email address (`admin create-user
    /// --email`, and the first start's admin with `--admin-email`): GetAccount answers with the
    /// address, and a later sign-in through the SSO configuration that owns its domain is this
    /// user. The address is one with a domain name ([`Account::email_domain`]) and no other
    /// account's; the user's name is unique in the organization.
    pub async fn create_user_with_email(&self, org_id: Uuid, name: &str, email: &str, role: OrgRole) -> Result<Member> {
        let name = member_name(name)?;
        let email = Account::normalize_email(email);
        validate::length("email", &email, 3, 320)?;
        if Account::email_domain(&email).is_none() {
            return Err(CoreError::invalid("email", "must be an email address such as ada@example.com"));
        }
        let now = Timestamp::now();
        let member = Member::new(org_id, Principal::User, &name, role, now);
        let account = Account {
            id: member.account_id,
            email: email.clone(),
            name: name.clone(),
            avatar_url: String::new(),
            created_at: now,
            updated_at: now,
            // The server's administrator vouches.
            email_vouched: true,
        };
        if self.store.find_account_by_email(&email).await?.is_some() {
            return Err(CoreError::AlreadyExists {
                resource: Resource::User,
                message: format!("an account with the email {email} already exists"),
            });
        }
        self.store.create_account(&account, &member, None).await.map_err(duplicate("user", &name))?;
        self.published_member(&member, Operation::Create, None);
        Ok(member)
    }

    /// Creates a service account with its details (CreateServiceAccount, and `admin
    /// create-service-account`): a member of the organization whose name is unique among its
    /// service accounts.
    pub async fn create_service_account(&self, new: NewServiceAccount) -> Result<ServiceAccount> {
        let name = validate::name("name", &new.name, 1, 64)?;
        validate::length("description", &new.description, 0, 500)?;
        let member = Member::new(new.org_id, Principal::ServiceAccount, &name, new.role, Timestamp::now());
        let details =
            ServiceAccountDetails { description: new.description, creator: new.creator, valid_until: new.valid_until };
        let account = ServiceAccount { member, details };
        self.store.create_service_account(&account).await.map_err(duplicate_of(
            Resource::ServiceAccount,
            "service account",
            &name,
        ))?;
        self.published_member(&account.member, Operation::Create, account.details.creator.as_ref());
        Ok(account)
    }

    pub async fn members(&self, org_id: Uuid) -> Result<Vec<Member>> {
        Ok(self.store.list_members(org_id).await?)
    }

    /// Creates a group of `org_id` without a description ([`Self::create_group_described`]).
    pub async fn create_group(&self, org_id: Uuid, name: &str) -> Result<Group> {
        self.create_group_described(org_id, name, "").await
    }

    pub async fn groups(&self, org_id: Uuid) -> Result<Vec<Group>> {
        Ok(self.store.list_groups(org_id).await?)
    }

    async fn group_of(&self, group_id: Uuid) -> Result<Group> {
        self.store.get_group(group_id).await?.ok_or_else(|| CoreError::not_found(Resource::Group, group_id))
    }

    async fn member_of(&self, member_id: Uuid) -> Result<Member> {
        self.store
            .get_member(member_id)
            .await?
            .ok_or_else(|| CoreError::FailedPrecondition(format!("no user or service account {member_id}")))
    }

    /// Puts a member into a group of the same organization ([`Self::add_member_to`]).
    pub async fn add_group_member(&self, group_id: Uuid, member_id: Uuid) -> Result<Membership> {
        let (group, member) = (self.group_of(group_id).await?, self.member_of(member_id).await?);
        self.add_member_to(&group, &member).await
    }

    /// Sets a member's organization role. The organization's last user who is an admin and not
    /// suspended cannot be demoted: `failed_precondition`.
    pub async fn set_member_role(&self, member_id: Uuid, role: OrgRole) -> Result<()> {
        self.change_member(member_id, MemberChange::Role(role)).await.map(|_| ())
    }

    /// Suspends a member (its tokens stop authenticating, at once in this process and within the
    /// token cache's time elsewhere), or lifts the suspension. The organization's last user who
    /// is an admin and not suspended cannot be suspended: `failed_precondition`.
    pub async fn set_suspended(&self, member_id: Uuid, suspended: bool) -> Result<()> {
        self.change_member(member_id, MemberChange::Suspended(suspended)).await.map(|_| ())
    }

    /// Removes a member with its tokens, group memberships and the host tokens it owns. The
    /// organization's last user who is an admin and not suspended cannot be removed.
    pub async fn delete_member(&self, member_id: Uuid) -> Result<()> {
        self.change_member(member_id, MemberChange::Delete).await.map(|_| ())
    }

    /// One change of who may do what, checked against the last-admin invariant in the store's
    /// transaction; the token cache is emptied whatever the outcome. The member as it was.
    async fn change_member(&self, member_id: Uuid, change: MemberChange) -> Result<Member> {
        let changed = self.store.change_member(member_id, change).await;
        self.tokens.clear();
        match changed? {
            MemberChanged::Done(member) => {
                let operation = if change == MemberChange::Delete { Operation::Delete } else { Operation::Update };
                self.published_member(&member, operation, None);
                Ok(member)
            }
            MemberChanged::NotFound => {
                Err(CoreError::FailedPrecondition(format!("no user or service account {member_id}")))
            }
            MemberChanged::LastAdmin(member) => Err(CoreError::FailedPrecondition(format!(
                "{} is the last organization admin who is not suspended and cannot be {}: make another user an admin first",
                member.name,
                taken_away(change)
            ))),
        }
    }

    /// Grants or withdraws the runners-admin organization role of a group: its role
    /// assignment of `org_runners_admin` on the organization. Granting a role the group has,
    /// or withdrawing one it has not, changes nothing.
    pub async fn set_group_runners_admin(&self, group_id: Uuid, runners_admin: bool) -> Result<()> {
        let group = self.group_of(group_id).await?;
        let held = self.org_role_assignments(group.org_id, ResourceRole::OrgRunnersAdmin).await?;
        let current = held.into_iter().find(|a| a.group_id == group_id);
        let changed = match (current, runners_admin) {
            (None, true) => {
                let assignment = RoleAssignment {
                    id: Uuid::now_v7(),
                    org_id: group.org_id,
                    group_id,
                    resource_kind: ResourceKind::Organization,
                    resource_id: group.org_id,
                    role: ResourceRole::OrgRunnersAdmin,
                    created_at: Timestamp::now(),
                };
                match self.store.insert_role_assignment(&assignment).await {
                    Ok(()) => {
                        self.published_assignment(&assignment, Operation::Create);
                        Ok(())
                    }
                    Err(StoreError::AlreadyExists) => Ok(()),
                    Err(e) => Err(e),
                }
            }
            (Some(a), false) => self.store.delete_role_assignment(a.id).await.map(|deleted| {
                if deleted {
                    self.published_assignment(&a, Operation::Delete);
                }
            }),
            _ => Ok(()),
        };
        self.tokens.clear();
        Ok(changed?)
    }

    /// The assignments of `role` on the organization `org_id`.
    async fn org_role_assignments(&self, org_id: Uuid, role: ResourceRole) -> Result<Vec<RoleAssignment>> {
        let filter =
            RoleAssignmentFilter { resource_ids: vec![org_id], roles: vec![role], ..RoleAssignmentFilter::default() };
        // An organization has a bounded number of groups; read them all.
        Ok(self.store.list_role_assignments(org_id, &filter, None, u32::MAX).await?)
    }

    /// The groups of an organization that have the runners-admin role.
    pub async fn runners_admin_groups(&self, org_id: Uuid) -> Result<Vec<Uuid>> {
        let held = self.org_role_assignments(org_id, ResourceRole::OrgRunnersAdmin).await?;
        Ok(held.into_iter().map(|a| a.group_id).collect())
    }

    /// Issues an access token for a member, optionally expiring (the `admin` subcommands and the
    /// first start: no creator).
    pub async fn issue_token(
        &self,
        member_id: Uuid,
        description: &str,
        ttl_seconds: Option<i64>,
    ) -> Result<IssuedToken> {
        let member = self.member_of(member_id).await?;
        let now = Timestamp::now();
        self.mint_token(&member, description, ttl_seconds.map(|s| now.plus_seconds(s)), None).await
    }

    /// Stores a new access token of `member` by its hash; the plaintext is in the answer only.
    pub async fn mint_token(
        &self,
        member: &Member,
        description: &str,
        expires_at: Option<Timestamp>,
        creator: Option<Subject>,
    ) -> Result<IssuedToken> {
        let minted = secrets::mint("gpat");
        let info = AccessTokenInfo {
            id: Uuid::now_v7(),
            org_id: member.org_id,
            member_id: member.id,
            description: description.to_owned(),
            creator,
            created_at: Timestamp::now(),
            expires_at,
            revoked_at: None,
            last_used_at: None,
        };
        self.store.insert_access_token(&info, &minted.hash).await?;
        self.published_token(member, &info, Operation::Create);
        Ok(IssuedToken { token: minted.plaintext, info })
    }

    /// Deletes an access token; it stops authenticating at once in this process.
    pub async fn delete_token(&self, token_id: Uuid) -> Result<()> {
        // What the event needs: whose token it was (read before, the row goes).
        let info = self.store.get_access_token(token_id).await?;
        let owner = match &info {
            Some(info) => self.store.get_member(info.member_id).await?,
            None => None,
        };
        let deleted = self.store.delete_access_token(token_id).await;
        self.tokens.clear();
        if !deleted? {
            return Err(CoreError::FailedPrecondition(format!("no token {token_id}")));
        }
        if let (Some(info), Some(owner)) = (info, owner) {
            self.published_token(&owner, &info, Operation::Delete);
        }
        Ok(())
    }

    /// Deletes an organization with everything of it; its tokens stop authenticating at once.
    pub async fn delete_organization(&self, org_id: Uuid) -> Result<()> {
        let deleted = self.store.delete_organization(org_id).await;
        self.tokens.clear();
        if !deleted? {
            return Err(CoreError::not_found(Resource::Organization, org_id));
        }
        self.published(org_id, Operation::Delete, EventResource::Organization, org_id, None, Audience::Members);
        Ok(())
    }

    pub async fn tokens(&self, org_id: Uuid) -> Result<Vec<AccessTokenInfo>> {
        Ok(self.store.list_access_tokens(org_id).await?)
    }

    /// The caller behind a bearer token; `unauthenticated` for anything but a known, unexpired,
    /// unrevoked token.
    pub async fn authenticate(&self, bearer: &str) -> Result<Caller> {
        let refused = || CoreError::Unauthenticated("invalid, expired or revoked token".to_owned());
        if bearer.is_empty() || bearer.len() > 512 {
            return Err(refused());
        }
        let now = Timestamp::now();
        if bearer.starts_with(secrets::ACCESS_TOKEN_PREFIX) {
            // A runner process, with the access token it got for its exchange token.
            return match self.store.resolve_runner_token(&secrets::hash(bearer)).await? {
                // Another runner process redeemed an exchange token of this runner: the process
                // holding this token is told so, to stop rather than run beside the new one.
                Some(t) if t.kind == RunnerTokenKind::Access && t.expires_at > now => match t.superseded_at {
                    Some(at) => Err(CoreError::Unauthenticated(format!(
                        "{SUPERSEDED}: another runner process signed up for runner {} with a newer exchange token at {}; \
                         stop this one (or, to take the runner back, start it with a new exchange token from CreateRunnerToken)",
                        t.runner_id,
                        at.rfc3339()
                    ))),
                    None => Ok(Caller::runner(t.org_id, t.runner_id)),
                },
                _ => Err(refused()),
            };
        }
        let hash = secrets::hash(bearer);
        if let Some(caller) = self.tokens.get(&hash, now) {
            return Ok(caller);
        }
        let generation = self.tokens.generation();
        let Some((token, member, groups)) = self.store.resolve_access_token(&hash).await? else {
            return Err(refused());
        };
        if token.revoked_at.is_some() || token.expires_at.is_some_and(|e| e <= now) {
            return Err(refused());
        }
        if member.suspended {
            return Err(CoreError::Unauthenticated(format!(
                "the {} this token belongs to is suspended",
                if member.principal == Principal::ServiceAccount { "service account" } else { "user" }
            )));
        }
        // A service account's tokens stop at its `valid_until`; the cache keeps it no longer.
        let mut cached_until = token.expires_at;
        if member.principal == Principal::ServiceAccount {
            let account = self.store.get_service_account(member.id).await?;
            if let Some(until) = account.and_then(|a| a.details.valid_until) {
                if until <= now {
                    return Err(CoreError::Unauthenticated(format!(
                        "the service account this token belongs to was valid until {}",
                        until.rfc3339()
                    )));
                }
                cached_until = Some(cached_until.map_or(until, |e| e.min(until)));
            }
        }
        if token.last_used_at.is_none_or(|at| at.plus_seconds(LAST_USED_RESOLUTION_SECS) <= now) {
            self.store.touch_access_token(token.id, now).await?;
        }
        let groups: Vec<Uuid> = groups.iter().map(|g| g.id).collect();
        let org_roles = self.store.organization_roles(member.org_id, &groups).await?;
        let caller = Caller {
            org_id: member.org_id,
            subject: Subject { id: member.id, principal: member.principal },
            org_admin: member.role == OrgRole::Admin,
            runners_admin: org_roles.contains(&ResourceRole::OrgRunnersAdmin),
            groups,
        };
        self.tokens.insert(generation, hash, caller.clone(), cached_until);
        Ok(caller)
    }

    /// On an empty database: a `default` organization with an admin user `admin`, and a token
    /// for that admin. `None` when any organization exists.
    pub async fn bootstrap(&self, admin_email: Option<&str>) -> Result<Option<(Organization, Member, IssuedToken)>> {
        if !self.organizations().await?.is_empty() {
            return Ok(None);
        }
        let org = self.create_organization("default").await?;
        let admin = match admin_email {
            Some(email) => self.create_user_with_email(org.id, "admin", email, OrgRole::Admin).await?,
            None => self.create_member(org.id, Principal::User, "admin", OrgRole::Admin).await?,
        };
        let token = self.issue_token(admin.id, "created at first start", None).await?;
        Ok(Some((org, admin, token)))
    }
}
