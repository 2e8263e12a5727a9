//! `RoleAssignmentRepo`: which group has which role on a runner or an organization, and the
//! runner policies that are the assignments on runners.

use std::sync::Arc;

use runner_core::identity::*;
use runner_core::model::*;
use runner_core::store::{Store, StoreError};
use runner_core::time::Timestamp;
use uuid::Uuid;

use super::*;

pub(super) fn cases() -> Vec<Case> {
    vec![
        case!(role_assignments_round_trip: insert_role_assignment, get_role_assignment, list_role_assignments, delete_role_assignment),
        case!(organization_roles_are_those_of_the_callers_groups: organization_roles),
        case!(runner_policies_are_role_assignments_on_runners: insert_runner_policy, list_role_assignments, delete_role_assignment, policy_roles),
    ]
}

fn assignment(group: &Group, kind: ResourceKind, resource: Uuid, role: ResourceRole) -> RoleAssignment {
    RoleAssignment {
        id: Uuid::now_v7(),
        org_id: group.org_id,
        group_id: group.id,
        resource_kind: kind,
        resource_id: resource,
        role,
        created_at: Timestamp::now(),
    }
}

async fn role_assignments_round_trip(store: Arc<dyn Store>) {
    let (org, members) = new_org(&store).await;
    let (other, other_members) = new_org(&store).await;
    let r = add_runner(&store, &org, RunnerProvider::Gcp).await;
    let team = sample_group(&org, "team");
    store.create_group(&team).await.unwrap();
    let on_org = assignment(&team, ResourceKind::Organization, org.id, ResourceRole::OrgRunnersAdmin);
    let groups_admin = assignment(&team, ResourceKind::Organization, org.id, ResourceRole::OrgGroupsAdmin);
    let on_runner = assignment(&members, ResourceKind::Runner, r.id, ResourceRole::RunnerUser);
    let theirs = assignment(&other_members, ResourceKind::Organization, other.id, ResourceRole::OrgAuditLogReader);
    for a in [&on_org, &groups_admin, &on_runner, &theirs] {
        store.insert_role_assignment(a).await.unwrap();
    }
    assert_eq!(store.get_role_assignment(on_org.id).await.unwrap(), Some(on_org.clone()));
    assert_eq!(store.get_role_assignment(Uuid::now_v7()).await.unwrap(), None);
    // One of each role per group and resource; one role per group on a runner.
    let again = RoleAssignment { id: Uuid::now_v7(), ..on_org.clone() };
    assert!(matches!(store.insert_role_assignment(&again).await, Err(StoreError::AlreadyExists)));
    let admin_too = RoleAssignment { id: Uuid::now_v7(), role: ResourceRole::RunnerAdmin, ..on_runner.clone() };
    assert!(matches!(store.insert_role_assignment(&admin_too).await, Err(StoreError::AlreadyExists)));

    // Listed by organization in id order, filtered, paged.
    let all = vec![on_org.clone(), groups_admin.clone(), on_runner.clone()];
    let list = |filter: RoleAssignmentFilter| {
        let store = store.clone();
        async move { store.list_role_assignments(org.id, &filter, None, 10).await.unwrap() }
    };
    assert_eq!(list(RoleAssignmentFilter::default()).await, all);
    assert_eq!(
        store.list_role_assignments(other.id, &RoleAssignmentFilter::default(), None, 10).await.unwrap(),
        vec![theirs]
    );
    assert_eq!(list(RoleAssignmentFilter { group_id: Some(team.id), ..Default::default() }).await, all[..2]);
    assert_eq!(list(RoleAssignmentFilter { resource_ids: vec![r.id], ..Default::default() }).await, all[2..]);
    assert_eq!(
        list(RoleAssignmentFilter { resource_kinds: vec![ResourceKind::Organization], ..Default::default() }).await,
        all[..2]
    );
    assert_eq!(
        list(RoleAssignmentFilter { roles: vec![ResourceRole::OrgGroupsAdmin], ..Default::default() }).await,
        all[1..2]
    );
    assert_eq!(
        list(RoleAssignmentFilter {
            group_id: Some(team.id),
            roles: vec![ResourceRole::RunnerUser],
            ..Default::default()
        })
        .await,
        vec![]
    );
    // A member's: those of its groups, org-members (which holds everyone) included.
    let alice = Member::new(org.id, Principal::User, "alice", OrgRole::Member, Timestamp::now());
    store.create_member(&alice).await.unwrap();
    assert_eq!(list(RoleAssignmentFilter { member_id: Some(alice.id), ..Default::default() }).await, all[2..]);
    store.add_group_member(team.id, alice.id).await.unwrap();
    assert_eq!(list(RoleAssignmentFilter { member_id: Some(alice.id), ..Default::default() }).await, all);
    let walked = walk(2, |after, limit| {
        let store = store.clone();
        async move {
            ids(
                store.list_role_assignments(org.id, &RoleAssignmentFilter::default(), after, limit).await.unwrap(),
                |a| a.id,
            )
        }
    })
    .await;
    assert_eq!(walked, ids(all.clone(), |a| a.id));

    assert!(store.delete_role_assignment(groups_admin.id).await.unwrap());
    assert!(!store.delete_role_assignment(groups_admin.id).await.unwrap());
    assert_eq!(store.get_role_assignment(groups_admin.id).await.unwrap(), None);
    // Assignments on a runner go with it.
    store.delete_runner(r.id).await.unwrap();
    assert_eq!(store.get_role_assignment(on_runner.id).await.unwrap(), None);
    assert_eq!(list(RoleAssignmentFilter::default()).await, vec![on_org]);
}

async fn organization_roles_are_those_of_the_callers_groups(store: Arc<dyn Store>) {
    let (org, members) = new_org(&store).await;
    let (other, other_members) = new_org(&store).await;
    let r = add_runner(&store, &org, RunnerProvider::Gcp).await;
    let (a, b) = (sample_group(&org, "a"), sample_group(&org, "b"));
    store.create_group(&a).await.unwrap();
    store.create_group(&b).await.unwrap();
    for x in [
        assignment(&a, ResourceKind::Organization, org.id, ResourceRole::OrgRunnersAdmin),
        assignment(&b, ResourceKind::Organization, org.id, ResourceRole::OrgRunnersAdmin),
        assignment(&b, ResourceKind::Organization, org.id, ResourceRole::OrgAuditLogReader),
        // Not organization roles: on a runner, and on another organization.
        assignment(&members, ResourceKind::Runner, r.id, ResourceRole::RunnerAdmin),
        assignment(&other_members, ResourceKind::Organization, other.id, ResourceRole::OrgGroupsAdmin),
    ] {
        store.insert_role_assignment(&x).await.unwrap();
    }
    assert_eq!(store.organization_roles(org.id, &[a.id]).await.unwrap(), vec![ResourceRole::OrgRunnersAdmin]);
    let mut both = store.organization_roles(org.id, &[a.id, b.id, members.id]).await.unwrap();
    both.sort_by_key(|r| r.number());
    assert_eq!(both, vec![ResourceRole::OrgRunnersAdmin, ResourceRole::OrgAuditLogReader]);
    assert_eq!(store.organization_roles(org.id, &[members.id]).await.unwrap(), vec![]);
    assert_eq!(store.organization_roles(org.id, &[]).await.unwrap(), vec![]);
    assert_eq!(
        store.organization_roles(other.id, &[a.id, other_members.id]).await.unwrap(),
        vec![ResourceRole::OrgGroupsAdmin]
    );
}

async fn runner_policies_are_role_assignments_on_runners(store: Arc<dyn Store>) {
    let (org, _) = new_org(&store).await;
    let r = add_runner(&store, &org, RunnerProvider::Gcp).await;
    let team = sample_group(&org, "team");
    store.create_group(&team).await.unwrap();
    // A policy is an assignment of runner_admin or runner_user on the runner, in the runner's
    // organization …
    let policy = RunnerPolicy { runner_id: r.id, group_id: team.id, role: RunnerRole::Admin };
    store.insert_runner_policy(&policy).await.unwrap();
    let listed = store.list_role_assignments(org.id, &RoleAssignmentFilter::default(), None, 10).await.unwrap();
    assert_eq!(listed.len(), 1);
    let a = &listed[0];
    assert_eq!(
        (a.org_id, a.group_id, a.resource_kind, a.resource_id, a.role),
        (org.id, team.id, ResourceKind::Runner, r.id, ResourceRole::RunnerAdmin)
    );
    // … and an assignment on a runner is a policy: deleting one through either view deletes it.
    assert!(store.delete_role_assignment(a.id).await.unwrap());
    assert_eq!(store.list_runner_policies(r.id, None, 10).await.unwrap(), vec![]);
    let user = assignment(&team, ResourceKind::Runner, r.id, ResourceRole::RunnerUser);
    store.insert_role_assignment(&user).await.unwrap();
    assert_eq!(store.policy_roles(r.id, &[team.id]).await.unwrap(), vec![RunnerRole::User]);
    assert_eq!(
        store.list_runner_policies(r.id, None, 10).await.unwrap(),
        vec![RunnerPolicy { runner_id: r.id, group_id: team.id, role: RunnerRole::User }]
    );
    assert!(store.delete_runner_policy(r.id, team.id).await.unwrap());
    assert_eq!(store.get_role_assignment(user.id).await.unwrap(), None);
}
