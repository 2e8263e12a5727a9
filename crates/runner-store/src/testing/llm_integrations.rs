//! `LlmIntegrationRepo`: LLM integrations of runners.

use std::sync::Arc;

use runner_core::model::*;
use runner_core::store::{Store, StoreError, WriteOutcome};
use uuid::Uuid;

use super::*;

pub(super) fn cases() -> Vec<Case> {
    vec![
        case!(llm_integrations_round_trip: insert_llm_integration, get_llm_integration),
        case!(llm_integration_lists_filter_and_page: list_llm_integrations),
        case!(llm_integration_lists_respect_visibility: list_llm_integrations),
        case!(llm_integration_updates_are_conditional: update_llm_integration),
        case!(llm_integrations_are_deleted_once: delete_llm_integration),
    ]
}

async fn llm_integrations_round_trip(store: Arc<dyn Store>) {
    let (org, _) = new_org(&store).await;
    let r = add_runner(&store, &org, RunnerProvider::Gcp).await;
    let integration = sample_llm_integration(&r);
    store.insert_llm_integration(&integration).await.unwrap();
    assert_eq!(store.get_llm_integration(integration.id).await.unwrap(), Some(integration.clone()));
    assert_eq!(store.get_llm_integration(Uuid::now_v7()).await.unwrap(), None);
    let bare = LlmIntegration { id: Uuid::now_v7(), body: LlmIntegrationBody::default(), ..integration.clone() };
    store.insert_llm_integration(&bare).await.unwrap();
    assert_eq!(store.get_llm_integration(bare.id).await.unwrap(), Some(bare));
    // Ids are unique; an integration needs its runner.
    assert!(matches!(store.insert_llm_integration(&integration).await, Err(StoreError::AlreadyExists)));
    let orphan = LlmIntegration { id: Uuid::now_v7(), runner_id: Uuid::now_v7(), ..integration };
    assert!(store.insert_llm_integration(&orphan).await.is_err());
    assert_eq!(store.get_llm_integration(orphan.id).await.unwrap(), None);
}

async fn llm_integration_lists_filter_and_page(store: Arc<dyn Store>) {
    let (org, _) = new_org(&store).await;
    let runners =
        [add_runner(&store, &org, RunnerProvider::Gcp).await, add_runner(&store, &org, RunnerProvider::AwsEc2).await];
    let mut all = Vec::new();
    for _ in 0..3 {
        for r in &runners {
            let i = sample_llm_integration(r);
            store.insert_llm_integration(&i).await.unwrap();
            all.push(i);
        }
    }
    assert_eq!(store.list_llm_integrations(&everything(&org), &[], None, 100).await.unwrap(), all, "ordered by id");
    let items: Vec<(Uuid, Uuid)> = all.iter().map(|i| (i.id, i.runner_id)).collect();
    check_runner_ids_filter(&items, [runners[0].id, runners[1].id], |runner_ids, after, limit| {
        let (store, visibility) = (store.clone(), everything(&org));
        async move { ids(store.list_llm_integrations(&visibility, &runner_ids, after, limit).await.unwrap(), |i| i.id) }
    })
    .await;
}

async fn llm_integration_lists_respect_visibility(store: Arc<dyn Store>) {
    let views = Views::new(&store).await;
    for r in views.runners() {
        store.insert_llm_integration(&sample_llm_integration(r)).await.unwrap();
    }
    views
        .check(|visibility| {
            let store = store.clone();
            async move { ids(store.list_llm_integrations(&visibility, &[], None, 10).await.unwrap(), |i| i.runner_id) }
        })
        .await;
}

async fn llm_integration_updates_are_conditional(store: Arc<dyn Store>) {
    let (org, _) = new_org(&store).await;
    let r = add_runner(&store, &org, RunnerProvider::Gcp).await;
    let integration = sample_llm_integration(&r);
    store.insert_llm_integration(&integration).await.unwrap();
    let a = LlmIntegration {
        body: LlmIntegrationBody {
            models: vec![2],
            endpoint: "https://other.example".to_owned(),
            request_headers: vec![],
            phase: 2,
            ..integration.body.clone()
        },
        updated_at: integration.updated_at.plus_seconds(1),
        revision: integration.revision + 1,
        ..integration.clone()
    };
    assert_eq!(store.update_llm_integration(&a).await.unwrap(), WriteOutcome::Written);
    assert_eq!(store.get_llm_integration(integration.id).await.unwrap(), Some(a.clone()));
    // A writer that read the old revision loses.
    let stale = LlmIntegration { body: LlmIntegrationBody::default(), revision: 2, ..integration.clone() };
    assert_eq!(store.update_llm_integration(&stale).await.unwrap(), WriteOutcome::Conflict);
    assert_eq!(store.get_llm_integration(integration.id).await.unwrap(), Some(a));
    // An integration that is not there is a conflict.
    let ghost = LlmIntegration { id: Uuid::now_v7(), revision: 2, ..integration };
    assert_eq!(store.update_llm_integration(&ghost).await.unwrap(), WriteOutcome::Conflict);
    assert_eq!(store.get_llm_integration(ghost.id).await.unwrap(), None);
}

async fn llm_integrations_are_deleted_once(store: Arc<dyn Store>) {
    let (org, _) = new_org(&store).await;
    let r = add_runner(&store, &org, RunnerProvider::Gcp).await;
    let gone = sample_llm_integration(&r);
    let kept = sample_llm_integration(&r);
    for i in [&gone, &kept] {
        store.insert_llm_integration(i).await.unwrap();
    }
    assert!(store.delete_llm_integration(gone.id).await.unwrap());
    assert!(!store.delete_llm_integration(gone.id).await.unwrap(), "deleted twice");
    assert!(!store.delete_llm_integration(Uuid::now_v7()).await.unwrap());
    assert_eq!(store.get_llm_integration(gone.id).await.unwrap(), None);
    assert_eq!(store.get_llm_integration(kept.id).await.unwrap(), Some(kept));
}
