//! The storage conformance suite: every behaviour the use cases rely on, stated once and run
//! against each backend with a factory that returns a fresh, empty store.

use std::future::Future;
use std::sync::Arc;

use runner_core::model::*;
use runner_core::store::{NewRunnerToken, RunnerTokenKind, Store, StoreError, WriteOutcome};
use runner_core::time::Timestamp;
use uuid::Uuid;

/// Runs every case, each on a store from `factory`. Panics on the first failure.
pub async fn run_suite<F, Fut>(factory: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = Arc<dyn Store>>,
{
    runner_round_trip(factory().await).await;
    duplicate_runner_is_refused(factory().await).await;
    list_orders_filters_and_pages(factory().await).await;
    update_is_conditional_on_revision(factory().await).await;
    delete_removes_runner_and_tokens(factory().await).await;
}

/// A runner with every field set.
pub fn sample_runner(provider: RunnerProvider, creator: Option<Uuid>) -> Runner {
    let now = Timestamp::now();
    Runner {
        id: Uuid::now_v7(),
        name: "sample runner".to_owned(),
        kind: provider.kind(),
        provider: Some(provider),
        runner_manager_id: None,
        creator: creator.map(|id| Subject {
            id,
            principal: Principal::User,
        }),
        created_at: now,
        updated_at: now,
        spec: RunnerSpec {
            desired_phase: Some(RunnerPhase::Active),
            configuration: RunnerConfiguration {
                region: "eu-central-1".to_owned(),
                release_channel: Some(ReleaseChannel::Latest),
                auto_update: true,
                metrics: Some(MetricsConfiguration {
                    enabled: true,
                    url: "https://m".to_owned(),
                    ..Default::default()
                }),
                log_level: Some(LogLevel::Warn),
                devcontainer_image_cache_enabled: true,
                update_window: Some(UpdateWindow {
                    start_hour: 22,
                    end_hour: 4,
                }),
                encrypted_honeycomb_api_key: vec![1, 2, 3],
                continuous_profiling: true,
            },
            variant: Some(RunnerVariant::Enterprise),
        },
        status: RunnerStatus {
            capabilities: vec![RunnerCapability::WarmPool],
            additional_info: vec![FieldValue {
                key: "k".to_owned(),
                value: "v".to_owned(),
            }],
            public_key: vec![9; 32],
            ..Default::default()
        },
        revision: 1,
    }
}

fn token_for(runner: &Runner) -> NewRunnerToken {
    NewRunnerToken {
        hash: runner_core::secrets::hash(&Uuid::new_v4().to_string()),
        runner_id: runner.id,
        kind: RunnerTokenKind::Exchange,
        created_at: runner.created_at,
        expires_at: runner.created_at.plus_seconds(60),
    }
}

async fn runner_round_trip(store: Arc<dyn Store>) {
    let r = sample_runner(RunnerProvider::AwsEc2, Some(Uuid::new_v4()));
    store.insert_runner(&r, &token_for(&r)).await.unwrap();
    assert_eq!(store.get_runner(r.id).await.unwrap(), Some(r.clone()));
    assert_eq!(store.get_runner(Uuid::now_v7()).await.unwrap(), None);
    store.insert_runner_token(&token_for(&r)).await.unwrap();
    store.ping().await.unwrap();
}

async fn duplicate_runner_is_refused(store: Arc<dyn Store>) {
    let r = sample_runner(RunnerProvider::Gcp, None);
    store.insert_runner(&r, &token_for(&r)).await.unwrap();
    let err = store.insert_runner(&r, &token_for(&r)).await.unwrap_err();
    assert!(matches!(err, StoreError::AlreadyExists), "{err:?}");
    // The failed insert left nothing behind: still exactly one runner.
    assert_eq!(
        store
            .list_runners(&RunnerFilter::default(), None, 10)
            .await
            .unwrap()
            .len(),
        1
    );
}

async fn list_orders_filters_and_pages(store: Arc<dyn Store>) {
    let alice = Uuid::new_v4();
    let mut ids = Vec::new();
    for i in 0..7 {
        let provider = if i % 2 == 0 {
            RunnerProvider::AwsEc2
        } else {
            RunnerProvider::Gcp
        };
        let r = sample_runner(provider, Some(if i < 3 { alice } else { Uuid::new_v4() }));
        store.insert_runner(&r, &token_for(&r)).await.unwrap();
        ids.push(r.id);
    }
    let all = store
        .list_runners(&RunnerFilter::default(), None, 100)
        .await
        .unwrap();
    assert_eq!(
        all.iter().map(|r| r.id).collect::<Vec<_>>(),
        ids,
        "ordered by id"
    );

    let page1 = store
        .list_runners(&RunnerFilter::default(), None, 3)
        .await
        .unwrap();
    let page2 = store
        .list_runners(&RunnerFilter::default(), Some(page1[2].id), 3)
        .await
        .unwrap();
    assert_eq!(
        page1.iter().chain(&page2).map(|r| r.id).collect::<Vec<_>>(),
        ids[..6]
    );

    let gcp = RunnerFilter {
        providers: vec![RunnerProvider::Gcp],
        ..Default::default()
    };
    assert_eq!(store.list_runners(&gcp, None, 100).await.unwrap().len(), 3);
    let alice_aws = RunnerFilter {
        creator_ids: vec![alice],
        providers: vec![RunnerProvider::AwsEc2],
        ..Default::default()
    };
    let got = store.list_runners(&alice_aws, None, 100).await.unwrap();
    assert_eq!(
        got.iter().map(|r| r.id).collect::<Vec<_>>(),
        vec![ids[0], ids[2]]
    );
    let kinds = RunnerFilter {
        kinds: vec![RunnerKind::LocalConfiguration],
        ..Default::default()
    };
    assert!(
        store
            .list_runners(&kinds, None, 100)
            .await
            .unwrap()
            .is_empty()
    );
    for r in &all {
        assert!(
            alice_aws.matches(r) == got.iter().any(|g| g.id == r.id),
            "SQL filter agrees with RunnerFilter::matches"
        );
    }
}

async fn update_is_conditional_on_revision(store: Arc<dyn Store>) {
    let r = sample_runner(RunnerProvider::Gcp, None);
    store.insert_runner(&r, &token_for(&r)).await.unwrap();
    let mut a = r.clone();
    a.name = "renamed".to_owned();
    a.status.phase = RunnerPhase::Deleting;
    a.revision += 1;
    assert_eq!(
        store.update_runner(&a).await.unwrap(),
        WriteOutcome::Written
    );
    // A writer that read the old revision loses.
    let mut b = r.clone();
    b.name = "lost".to_owned();
    b.revision += 1;
    assert_eq!(
        store.update_runner(&b).await.unwrap(),
        WriteOutcome::Conflict
    );
    assert_eq!(store.get_runner(r.id).await.unwrap(), Some(a.clone()));
    // A vanished runner is a conflict too.
    let mut ghost = sample_runner(RunnerProvider::Gcp, None);
    ghost.revision = 2;
    assert_eq!(
        store.update_runner(&ghost).await.unwrap(),
        WriteOutcome::Conflict
    );
}

async fn delete_removes_runner_and_tokens(store: Arc<dyn Store>) {
    let r = sample_runner(RunnerProvider::AwsEc2, None);
    store.insert_runner(&r, &token_for(&r)).await.unwrap();
    assert!(store.delete_runner(r.id).await.unwrap());
    assert!(!store.delete_runner(r.id).await.unwrap());
    assert_eq!(store.get_runner(r.id).await.unwrap(), None);
    // Tokens went with it: a token for the deleted runner cannot be stored any more.
    assert!(store.insert_runner_token(&token_for(&r)).await.is_err());
}
