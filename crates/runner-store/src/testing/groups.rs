//! `GroupRepo`: changing and deleting groups, and their memberships.

use std::sync::Arc;

use runner_core::identity::*;
use runner_core::model::*;
use runner_core::store::{Store, StoreError};
use runner_core::time::Timestamp;
use uuid::Uuid;

use super::*;

pub(super) fn cases() -> Vec<Case> {
    vec![
        case!(groups_are_renamed_and_described: update_group),
        case!(memberships_have_ids: add_group_member, get_membership, list_memberships, delete_membership),
        case!(a_deleted_group_takes_its_memberships_and_role_assignments: delete_group),
    ]
}

/// A user of `org`.
fn member(org: &Organization, name: &str) -> Member {
    super::identity::sample_member(org, Principal::User, name)
}

async fn groups_are_renamed_and_described(store: Arc<dyn Store>) {
    let (org, _) = new_org(&store).await;
    let (other, _) = new_org(&store).await;
    let (team, taken, theirs) =
        (sample_group(&org, "team"), sample_group(&org, "taken"), sample_group(&other, "platform"));
    for g in [&team, &taken, &theirs] {
        store.create_group(g).await.unwrap();
    }
    let later = Timestamp(team.updated_at.0 + 1_000);
    let renamed =
        Group { name: "platform".into(), description: "The platform team".into(), updated_at: later, ..team.clone() };
    assert!(store.update_group(&renamed).await.unwrap(), "another organization's name is free");
    assert_eq!(store.get_group(team.id).await.unwrap(), Some(renamed.clone()));
    // Only the name, the description and the time of the change are written.
    let sneaky = Group { system: true, direct_share: true, created_at: later, ..renamed.clone() };
    assert!(store.update_group(&sneaky).await.unwrap());
    assert_eq!(store.get_group(team.id).await.unwrap(), Some(renamed.clone()));
    // A name taken in the organization; no such group.
    let clash = Group { name: "taken".into(), ..renamed.clone() };
    assert!(matches!(store.update_group(&clash).await, Err(StoreError::AlreadyExists)));
    assert_eq!(store.get_group(team.id).await.unwrap(), Some(renamed));
    assert!(!store.update_group(&Group { id: Uuid::now_v7(), ..team }).await.unwrap());
    assert_eq!(store.get_group(theirs.id).await.unwrap(), Some(theirs));
}

async fn memberships_have_ids(store: Arc<dyn Store>) {
    let (org, _) = new_org(&store).await;
    let (team, idle) = (sample_group(&org, "team"), sample_group(&org, "idle"));
    let (alice, bob) = (member(&org, "alice"), member(&org, "bob"));
    for g in [&team, &idle] {
        store.create_group(g).await.unwrap();
    }
    for m in [&alice, &bob] {
        store.create_member(m).await.unwrap();
    }
    let a = store.add_group_member(team.id, alice.id).await.unwrap();
    let b = store.add_group_member(team.id, bob.id).await.unwrap();
    let c = store.add_group_member(idle.id, alice.id).await.unwrap();
    assert!(a < b, "ids grow");
    assert_ne!(a, c);
    let ma = Membership { id: a, group_id: team.id, member_id: alice.id };
    let mb = Membership { id: b, group_id: team.id, member_id: bob.id };
    let mc = Membership { id: c, group_id: idle.id, member_id: alice.id };
    assert_eq!(store.get_membership(a).await.unwrap(), Some(ma));
    assert_eq!(store.get_membership(Uuid::now_v7()).await.unwrap(), None);
    assert_eq!(store.list_memberships(team.id).await.unwrap(), vec![ma, mb]);
    assert_eq!(store.list_memberships(idle.id).await.unwrap(), vec![mc]);
    assert_eq!(store.list_memberships(Uuid::now_v7()).await.unwrap(), vec![]);

    assert!(store.delete_membership(a).await.unwrap());
    assert!(!store.delete_membership(a).await.unwrap(), "gone already");
    assert_eq!(store.get_membership(a).await.unwrap(), None);
    assert_eq!(store.list_memberships(team.id).await.unwrap(), vec![mb]);
    assert_eq!(store.list_memberships(idle.id).await.unwrap(), vec![mc], "the other group keeps its own");
    // Back in, with a new id.
    let again = store.add_group_member(team.id, alice.id).await.unwrap();
    assert_ne!(again, a);
    assert_eq!(
        store.count_group_members(org.id).await.unwrap().into_iter().find(|(g, _)| *g == team.id),
        Some((team.id, 2))
    );
}

async fn a_deleted_group_takes_its_memberships_and_role_assignments(store: Arc<dyn Store>) {
    let (org, members) = new_org(&store).await;
    let runner = add_runner(&store, &org, RunnerProvider::Gcp).await;
    let (doomed, kept) = (sample_group(&org, "doomed"), sample_group(&org, "kept"));
    for g in [&doomed, &kept] {
        store.create_group(g).await.unwrap();
    }
    let alice = member(&org, "alice");
    store.create_member(&alice).await.unwrap();
    store.add_group_member(doomed.id, alice.id).await.unwrap();
    let kept_membership = store.add_group_member(kept.id, alice.id).await.unwrap();
    for g in [&doomed, &kept] {
        store
            .insert_runner_policy(&RunnerPolicy { runner_id: runner.id, group_id: g.id, role: RunnerRole::Admin })
            .await
            .unwrap();
        let on_org = RoleAssignment {
            id: Uuid::now_v7(),
            org_id: org.id,
            group_id: g.id,
            resource_kind: ResourceKind::Organization,
            resource_id: org.id,
            role: ResourceRole::OrgGroupsAdmin,
            created_at: Timestamp::now(),
        };
        store.insert_role_assignment(&on_org).await.unwrap();
    }

    assert!(store.delete_group(doomed.id).await.unwrap());
    assert!(!store.delete_group(doomed.id).await.unwrap(), "gone already");
    assert_eq!(store.get_group(doomed.id).await.unwrap(), None);
    assert_eq!(store.list_memberships(doomed.id).await.unwrap(), vec![]);
    let left = store.list_role_assignments(org.id, &RoleAssignmentFilter::default(), None, 100).await.unwrap();
    assert_eq!(left.len(), 2);
    assert!(left.iter().all(|a| a.group_id == kept.id), "{left:?}");
    let policies = store.list_runner_policies(runner.id, None, 10).await.unwrap();
    assert_eq!(policies, vec![RunnerPolicy { runner_id: runner.id, group_id: kept.id, role: RunnerRole::Admin }]);
    // The rest stays: the other group, its membership, the member, the runner.
    assert_eq!(store.list_groups(org.id).await.unwrap(), vec![members, kept.clone()]);
    assert_eq!(store.list_memberships(kept.id).await.unwrap().len(), 1);
    assert!(store.get_membership(kept_membership).await.unwrap().is_some());
    assert!(store.get_member(alice.id).await.unwrap().is_some());
    assert!(store.get_runner(runner.id).await.unwrap().is_some());
    assert_eq!(
        store.organization_roles(org.id, &[kept.id, doomed.id]).await.unwrap(),
        vec![ResourceRole::OrgGroupsAdmin]
    );
}
