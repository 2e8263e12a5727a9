//! Authorization: what a caller may do with a runner (semantics.md §1.5).
//!
//! - runner admin: organization admin; member of a group with the runners-admin role; the
//!   runner's creator; member of a group with an ADMIN policy on the runner;
//! - runner user: any runner admin; member of a group with a USER policy on the runner
//!   (the `org-members` group included);
//! - the runner's own principal (the runner process, authenticated with the access token it got
//!   for its exchange token): a user of itself, read-only on the management API, and nothing
//!   on any other runner; it acts for itself through the runner-side API;
//! - otherwise the caller cannot see the runner at all.
//!
//! Resources of another organization, and runners the caller cannot see, answer `not_found`,
//! never `permission_denied`: their existence is not revealed. A caller who can see a runner
//! but lacks the role a call needs gets `permission_denied`.

use uuid::Uuid;

use crate::error::{CoreError, Resource};
use crate::identity::Caller;
use crate::model::{Runner, RunnerRole};

/// What a caller may do with one runner, weakest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum RunnerAccess {
    None,
    User,
    Admin,
}

/// The caller's access to `runner`, given the roles of the runner's policies whose group the
/// caller is in.
pub fn runner_access(caller: &Caller, runner: &Runner, policy_roles: &[RunnerRole]) -> RunnerAccess {
    if runner.org_id != caller.org_id {
        return RunnerAccess::None;
    }
    if let Some(own) = caller.runner_id() {
        return if own == runner.id { RunnerAccess::User } else { RunnerAccess::None };
    }
    let creator = runner.creator.as_ref().is_some_and(|c| c.id == caller.subject.id);
    if caller.admin_of_all_runners() || creator || policy_roles.contains(&RunnerRole::Admin) {
        RunnerAccess::Admin
    } else if policy_roles.contains(&RunnerRole::User) {
        RunnerAccess::User
    } else {
        RunnerAccess::None
    }
}

/// Fails unless `access` is at least `needed`: `not_found` when the caller cannot see the
/// runner, `permission_denied` when it can but the role is too weak.
pub fn require(access: RunnerAccess, needed: RunnerAccess, runner_id: Uuid) -> Result<(), CoreError> {
    if access >= needed {
        Ok(())
    } else if access == RunnerAccess::None {
        Err(CoreError::not_found(Resource::Runner, runner_id))
    } else {
        Err(CoreError::denied(format!("runner {runner_id}"), "this call needs the admin role on the runner"))
    }
}

/// Creating runners: organization admins and runners admins.
pub fn require_runner_creator(caller: &Caller) -> Result<(), CoreError> {
    if caller.admin_of_all_runners() {
        Ok(())
    } else {
        Err(CoreError::denied(
            format!("organization {}", caller.org_id),
            "creating runners needs the organization admin or runners admin role",
        ))
    }
}

/// Which runners a caller may see in a list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Visibility {
    /// Every runner of the organization.
    All { org_id: Uuid },
    /// Runners of the organization the caller created, or on which one of its groups has a
    /// policy.
    Restricted { org_id: Uuid, subject_id: Uuid, groups: Vec<Uuid> },
    /// One runner: the caller is that runner's own principal.
    Runner { org_id: Uuid, runner_id: Uuid },
}

impl Visibility {
    pub fn of(caller: &Caller) -> Self {
        if let Some(runner_id) = caller.runner_id() {
            Visibility::Runner { org_id: caller.org_id, runner_id }
        } else if caller.admin_of_all_runners() {
            Visibility::All { org_id: caller.org_id }
        } else {
            Visibility::Restricted {
                org_id: caller.org_id,
                subject_id: caller.subject.id,
                groups: caller.groups.clone(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Principal, RunnerProvider, Subject};

    fn runner(org: Uuid, creator: Option<Uuid>) -> Runner {
        let mut r = crate::testing_support::runner(RunnerProvider::Gcp);
        r.org_id = org;
        r.creator = creator.map(|id| Subject { id, principal: Principal::User });
        r
    }

    #[test]
    fn the_rules() {
        let org = Uuid::now_v7();
        let plain = Caller::test_user(org);
        let r = runner(org, None);
        assert_eq!(runner_access(&plain, &r, &[]), RunnerAccess::None);
        assert_eq!(runner_access(&plain, &r, &[RunnerRole::User]), RunnerAccess::User);
        assert_eq!(runner_access(&plain, &r, &[RunnerRole::User, RunnerRole::Admin]), RunnerAccess::Admin);
        let mine = runner(org, Some(plain.subject.id));
        assert_eq!(runner_access(&plain, &mine, &[]), RunnerAccess::Admin);
        let admin = Caller { org_admin: true, ..Caller::test_user(org) };
        assert_eq!(runner_access(&admin, &r, &[]), RunnerAccess::Admin);
        let runners_admin = Caller { runners_admin: true, ..Caller::test_user(org) };
        assert_eq!(runner_access(&runners_admin, &r, &[]), RunnerAccess::Admin);
        // Another organization's admin sees nothing.
        let stranger = Caller { org_admin: true, ..Caller::test_user(Uuid::now_v7()) };
        assert_eq!(runner_access(&stranger, &r, &[RunnerRole::Admin]), RunnerAccess::None);
        // A runner is a user of itself, and of nothing else, whatever the policies say.
        let itself = Caller::runner(org, r.id);
        assert_eq!(runner_access(&itself, &r, &[RunnerRole::Admin]), RunnerAccess::User);
        assert_eq!(runner_access(&itself, &mine, &[RunnerRole::Admin]), RunnerAccess::None);
        assert_eq!(Visibility::of(&itself), Visibility::Runner { org_id: org, runner_id: r.id });
    }

    #[test]
    fn codes() {
        let id = Uuid::now_v7();
        assert!(matches!(require(RunnerAccess::None, RunnerAccess::User, id), Err(CoreError::NotFound { .. })));
        assert!(matches!(
            require(RunnerAccess::User, RunnerAccess::Admin, id),
            Err(CoreError::PermissionDenied { .. })
        ));
        assert!(require(RunnerAccess::Admin, RunnerAccess::User, id).is_ok());
    }
}
