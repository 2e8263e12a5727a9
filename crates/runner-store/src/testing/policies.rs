//! `PolicyRepo`: which group has which role on a runner.

use std::sync::Arc;

use runner_core::model::*;
use runner_core::store::{Store, StoreError};
use uuid::Uuid;

use super::*;

pub(super) fn cases() -> Vec<Case> {
    vec![case!(
        runner_policies_round_trip: policy_roles,
        list_runner_policies,
        insert_runner_policy,
        update_runner_policy,
        delete_runner_policy
    )]
}

async fn runner_policies_round_trip(store: Arc<dyn Store>) {
    let (org, _) = new_org(&store).await;
    let r = add_runner(&store, &org, RunnerProvider::Gcp).await;
    let neighbour = add_runner(&store, &org, RunnerProvider::Gcp).await;
    let mut groups = Vec::new();
    for i in 0..4 {
        let g = sample_group(&org, &format!("g{i}"));
        store.create_group(&g).await.unwrap();
        groups.push(g.id);
    }
    let p = |g: Uuid, role| RunnerPolicy { runner_id: r.id, group_id: g, role };
    store.insert_runner_policy(&p(groups[0], RunnerRole::User)).await.unwrap();
    store.insert_runner_policy(&p(groups[1], RunnerRole::Admin)).await.unwrap();
    store.insert_runner_policy(&p(groups[2], RunnerRole::User)).await.unwrap();
    let theirs = RunnerPolicy { runner_id: neighbour.id, group_id: groups[3], role: RunnerRole::Admin };
    store.insert_runner_policy(&theirs).await.unwrap();
    // One policy per runner and group.
    assert!(matches!(
        store.insert_runner_policy(&p(groups[0], RunnerRole::Admin)).await,
        Err(StoreError::AlreadyExists)
    ));

    let mut roles = store.policy_roles(r.id, &[groups[0], groups[1], groups[3]]).await.unwrap();
    roles.sort_by_key(|r| r.number());
    assert_eq!(roles, vec![RunnerRole::Admin, RunnerRole::User]);
    assert_eq!(store.policy_roles(r.id, &[groups[0]]).await.unwrap(), vec![RunnerRole::User]);
    assert_eq!(store.policy_roles(r.id, &[groups[3]]).await.unwrap(), vec![]);
    assert_eq!(store.policy_roles(r.id, &[]).await.unwrap(), vec![]);

    // Ordered by group id, paged.
    let all = vec![p(groups[0], RunnerRole::User), p(groups[1], RunnerRole::Admin), p(groups[2], RunnerRole::User)];
    assert_eq!(store.list_runner_policies(r.id, None, 10).await.unwrap(), all);
    assert_eq!(store.list_runner_policies(r.id, None, 1).await.unwrap(), all[..1]);
    assert_eq!(store.list_runner_policies(r.id, Some(groups[0]), 10).await.unwrap(), all[1..]);
    let walked = walk(2, |after, limit| {
        let store = store.clone();
        async move { ids(store.list_runner_policies(r.id, after, limit).await.unwrap(), |p| p.group_id) }
    })
    .await;
    assert_eq!(walked, groups[..3]);
    assert_eq!(store.list_runner_policies(neighbour.id, None, 10).await.unwrap(), vec![theirs]);

    assert!(store.update_runner_policy(&p(groups[0], RunnerRole::Admin)).await.unwrap());
    assert_eq!(store.policy_roles(r.id, &[groups[0]]).await.unwrap(), vec![RunnerRole::Admin]);
    assert!(!store.update_runner_policy(&p(groups[3], RunnerRole::Admin)).await.unwrap());
    assert!(store.delete_runner_policy(r.id, groups[0]).await.unwrap());
    assert!(!store.delete_runner_policy(r.id, groups[0]).await.unwrap());
    assert!(!store.delete_runner_policy(r.id, groups[3]).await.unwrap());
    assert_eq!(store.list_runner_policies(r.id, None, 10).await.unwrap(), all[1..]);
    assert_eq!(store.list_runner_policies(neighbour.id, None, 10).await.unwrap(), vec![theirs]);
    // Policies go with their runner.
    store.delete_runner(r.id).await.unwrap();
    assert_eq!(store.list_runner_policies(r.id, None, 10).await.unwrap(), vec![]);
}
