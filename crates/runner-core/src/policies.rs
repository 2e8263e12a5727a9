//! Runner policy use cases: which groups have which role on a runner.

use std::sync::Arc;

use uuid::Uuid;

use crate::authz::RunnerAccess;
use crate::error::{CoreError, Resource, Result};
use crate::events::{Event, Operation};
use crate::identity::{Caller, RoleAssignment, RoleAssignmentFilter};
use crate::model::{RunnerPolicy, RunnerRole};
use crate::page::PageTokens;
use crate::runners::{Page, Runners};
use crate::store::{Store, StoreError};
use crate::validate::{self, Violations};

const LIST_KIND: &str = "runner-policies";

#[derive(Clone)]
pub struct Policies {
    store: Arc<dyn Store>,
    runners: Runners,
    page_tokens: PageTokens,
}

/// A policy as sent: runner, group and role, unchecked.
#[derive(Debug, Clone, Default)]
pub struct PolicyInput {
    pub runner_id: String,
    pub group_id: String,
    pub role: i32,
}

impl Policies {
    pub fn new(store: Arc<dyn Store>, runners: Runners, page_tokens: PageTokens) -> Self {
        Self { store, runners, page_tokens }
    }

    fn check(input: &PolicyInput, with_role: bool) -> Result<(Uuid, Uuid, Option<RunnerRole>)> {
        let mut v = Violations::default();
        let runner_id = v.check(validate::uuid("runnerId", &input.runner_id));
        let group_id = v.check(validate::uuid("groupId", &input.group_id));
        let role = if with_role { v.check(validate::enum_value::<RunnerRole>("role", input.role)) } else { None };
        v.finish()?;
        Ok((runner_id.expect("checked"), group_id.expect("checked"), role))
    }

    fn missing(runner_id: Uuid, group_id: Uuid) -> CoreError {
        CoreError::not_found(Resource::RunnerPolicy, format!("for runner {runner_id} and group {group_id}"))
    }

    /// The role assignment a runner policy is stored as, if it exists.
    async fn assignment(&self, caller: &Caller, runner_id: Uuid, group_id: Uuid) -> Result<Option<RoleAssignment>> {
        let filter =
            RoleAssignmentFilter { group_id: Some(group_id), resource_ids: vec![runner_id], ..Default::default() };
        Ok(self.store.list_role_assignments(caller.org_id, &filter, None, 1).await?.into_iter().next())
    }

    /// Publishes a committed write of a policy, as the role assignment it is stored as.
    async fn published(&self, caller: &Caller, policy: &RunnerPolicy, operation: Operation) -> Result<()> {
        if let Some(a) = self.assignment(caller, policy.runner_id, policy.group_id).await? {
            self.publish(&a, operation);
        }
        Ok(())
    }

    fn publish(&self, a: &RoleAssignment, operation: Operation) {
        self.runners.event_bus().publish(Event::role_assignment(a, operation));
    }

    /// Grants a group a role on a runner; one policy per (runner, group).
    pub async fn create(&self, caller: &Caller, input: PolicyInput) -> Result<RunnerPolicy> {
        let (runner_id, group_id, role) = Self::check(&input, true)?;
        self.runners.load_for(caller, runner_id, RunnerAccess::Admin).await?;
        let group = self.store.get_group(group_id).await?;
        if group.is_none_or(|g| g.org_id != caller.org_id) {
            return Err(CoreError::not_found(Resource::Group, group_id));
        }
        let policy = RunnerPolicy { runner_id, group_id, role: role.expect("checked") };
        self.store.insert_runner_policy(&policy).await.map_err(|e| match e {
            StoreError::AlreadyExists => CoreError::AlreadyExists {
                resource: Resource::RunnerPolicy,
                message: format!("group {group_id} already has a policy on runner {runner_id}"),
            },
            e => e.into(),
        })?;
        self.published(caller, &policy, Operation::Create).await?;
        Ok(policy)
    }

    pub async fn update(&self, caller: &Caller, input: PolicyInput) -> Result<RunnerPolicy> {
        let (runner_id, group_id, role) = Self::check(&input, true)?;
        self.runners.load_for(caller, runner_id, RunnerAccess::Admin).await?;
        let policy = RunnerPolicy { runner_id, group_id, role: role.expect("checked") };
        if self.store.update_runner_policy(&policy).await? {
            self.published(caller, &policy, Operation::Update).await?;
            Ok(policy)
        } else {
            Err(Self::missing(runner_id, group_id))
        }
    }

    pub async fn delete(&self, caller: &Caller, input: PolicyInput) -> Result<()> {
        let (runner_id, group_id, _) = Self::check(&input, false)?;
        self.runners.load_for(caller, runner_id, RunnerAccess::Admin).await?;
        // The assignment the policy is, for the event: read before, the row goes.
        let assignment = self.assignment(caller, runner_id, group_id).await?;
        if self.store.delete_runner_policy(runner_id, group_id).await? {
            if let Some(a) = assignment {
                self.publish(&a, Operation::Delete);
            }
            Ok(())
        } else {
            Err(Self::missing(runner_id, group_id))
        }
    }

    /// A runner's policies, by group id; anyone who can see the runner may list them.
    pub async fn list(
        &self,
        caller: &Caller,
        runner_id: &str,
        page_size: i32,
        token: &str,
    ) -> Result<Page<RunnerPolicy>> {
        let mut v = Violations::default();
        let id = v.check(validate::uuid("runnerId", runner_id));
        let size = v.check(validate::page_size("pagination.pageSize", page_size));
        let cursor = v.check(self.page_tokens.cursor("pagination.token", LIST_KIND, token, id.unwrap_or_default()));
        v.finish()?;
        let (id, size, cursor) = (id.expect("checked"), size.expect("checked"), cursor.expect("checked"));
        // The token belongs to one runner's listing.
        if cursor.filter != id {
            return Err(CoreError::invalid("pagination.token", "invalid page token"));
        }
        self.runners.load_for(caller, id, RunnerAccess::User).await?;
        let after = cursor.after_id()?;
        let items = self.store.list_runner_policies(id, after, size + 1).await?;
        Ok(self.page_tokens.page(LIST_KIND, &id, items, size, |item| item.group_id))
    }
}
