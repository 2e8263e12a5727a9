//! `RunnerRepo`: runners, their lists, conditional updates, deletes and counts.

use std::sync::Arc;

use runner_core::model::*;
use runner_core::store::{Store, StoreError, WriteOutcome};
use uuid::Uuid;

use super::*;

pub(super) fn cases() -> Vec<Case> {
    vec![
        case!(runner_round_trip: insert_runner, get_runner),
        case!(duplicate_runner_is_refused: insert_runner, list_runners),
        case!(concurrent_creates_all_land_and_a_duplicate_fails_alone: insert_runner, get_runner, list_runners),
        case!(list_orders_filters_and_pages: list_runners),
        case!(list_respects_visibility: list_runners),
        case!(update_is_conditional_on_revision: update_runner, get_runner),
        case!(writes_abandoned_at_any_point_leave_the_store_writable: update_runner, get_runner),
        case!(delete_removes_the_runner_and_all_it_holds: delete_runner),
        case!(runners_are_counted_by_phase: count_runners_by_phase),
    ]
}

async fn runner_round_trip(store: Arc<dyn Store>) {
    let (org, _) = new_org(&store).await;
    let r = sample_runner(&org, RunnerProvider::AwsEc2, Some(Uuid::new_v4()));
    store.insert_runner(&r, &token_for(&r)).await.unwrap();
    assert_eq!(store.get_runner(r.id).await.unwrap(), Some(r.clone()));
    assert_eq!(store.get_runner(Uuid::now_v7()).await.unwrap(), None);
    // Without the optional parts, they stay absent.
    let bare = Runner {
        id: Uuid::now_v7(),
        provider: None,
        creator: None,
        runner_manager_id: Some(Uuid::now_v7()),
        spec: RunnerSpec::default(),
        status: RunnerStatus::default(),
        ..r.clone()
    };
    store.insert_runner(&bare, &token_for(&bare)).await.unwrap();
    assert_eq!(store.get_runner(bare.id).await.unwrap(), Some(bare));
}

async fn duplicate_runner_is_refused(store: Arc<dyn Store>) {
    let (org, _) = new_org(&store).await;
    let r = sample_runner(&org, RunnerProvider::Gcp, None);
    store.insert_runner(&r, &token_for(&r)).await.unwrap();
    let err = store.insert_runner(&r, &token_for(&r)).await.unwrap_err();
    assert!(matches!(err, StoreError::AlreadyExists), "{err:?}");
    // The failed insert left nothing behind: still exactly one runner.
    assert_eq!(store.list_runners(&everything(&org), &RunnerFilter::default(), None, 10).await.unwrap().len(), 1);
}

/// Many creates at once (on SQLite they share transactions, crate::group_commit): each lands
/// with its token, and one that cannot be written fails alone.
async fn concurrent_creates_all_land_and_a_duplicate_fails_alone(store: Arc<dyn Store>) {
    let (org, _) = new_org(&store).await;
    let existing = sample_runner(&org, RunnerProvider::Gcp, None);
    store.insert_runner(&existing, &token_for(&existing)).await.unwrap();
    let mut runners: Vec<Runner> = (0..99).map(|_| sample_runner(&org, RunnerProvider::AwsEc2, None)).collect();
    runners.insert(50, existing.clone());
    let tasks: Vec<_> = runners
        .iter()
        .map(|r| {
            let (store, runner, token) = (store.clone(), r.clone(), token_for(r));
            tokio::spawn(async move { store.insert_runner(&runner, &token).await })
        })
        .collect();
    let mut results = Vec::new();
    for task in tasks {
        results.push(task.await.unwrap());
    }
    for (r, result) in runners.iter().zip(&results) {
        if r.id == existing.id {
            assert!(matches!(result, Err(StoreError::AlreadyExists)), "{result:?}");
        } else {
            result.as_ref().unwrap();
            assert_eq!(store.get_runner(r.id).await.unwrap().as_ref(), Some(r));
        }
    }
    assert_eq!(store.list_runners(&everything(&org), &RunnerFilter::default(), None, 200).await.unwrap().len(), 100);
}

async fn list_orders_filters_and_pages(store: Arc<dyn Store>) {
    let (org, _) = new_org(&store).await;
    let alice = Uuid::new_v4();
    let mut created = Vec::new();
    for i in 0..7 {
        let provider = if i % 2 == 0 { RunnerProvider::AwsEc2 } else { RunnerProvider::Gcp };
        let r = sample_runner(&org, provider, Some(if i < 3 { alice } else { Uuid::new_v4() }));
        store.insert_runner(&r, &token_for(&r)).await.unwrap();
        created.push(r.id);
    }
    let list = |filter: RunnerFilter, after, limit| {
        let (store, visibility) = (store.clone(), everything(&org));
        async move { ids(store.list_runners(&visibility, &filter, after, limit).await.unwrap(), |r| r.id) }
    };
    assert_eq!(list(RunnerFilter::default(), None, 100).await, created, "ordered by id");
    for limit in [1, 3, 7] {
        assert_eq!(walk(limit, |after, limit| list(RunnerFilter::default(), after, limit)).await, created);
    }
    assert_eq!(list(RunnerFilter::default(), Some(created[6]), 10).await, Vec::<Uuid>::new());
    assert_eq!(list(RunnerFilter::default(), None, 0).await, Vec::<Uuid>::new());

    let gcp = RunnerFilter { providers: vec![RunnerProvider::Gcp], ..Default::default() };
    assert_eq!(list(gcp.clone(), None, 100).await, vec![created[1], created[3], created[5]]);
    assert_eq!(walk(2, |after, limit| list(gcp.clone(), after, limit)).await, vec![created[1], created[3], created[5]]);
    let alice_aws =
        RunnerFilter { creator_ids: vec![alice], providers: vec![RunnerProvider::AwsEc2], ..Default::default() };
    let got = list(alice_aws.clone(), None, 100).await;
    assert_eq!(got, vec![created[0], created[2]]);
    // Asked for by kind, only the organization's own local-configuration runner.
    let kinds = RunnerFilter { kinds: vec![RunnerKind::LocalConfiguration], ..Default::default() };
    let locals = store.list_runners(&everything(&org), &kinds, None, 100).await.unwrap();
    assert_eq!(locals.iter().map(|r| r.kind).collect::<Vec<_>>(), vec![RunnerKind::LocalConfiguration]);
    assert!(locals.iter().all(|r| kinds.matches(r) && !RunnerFilter::default().matches(r)));
    let remote = RunnerFilter { kinds: vec![RunnerKind::Remote], ..Default::default() };
    assert_eq!(list(remote, None, 100).await, created);
    let all = store.list_runners(&everything(&org), &RunnerFilter::default(), None, 100).await.unwrap();
    for r in &all {
        assert!(alice_aws.matches(r) == got.contains(&r.id), "SQL filter agrees with RunnerFilter::matches");
    }
}

async fn list_respects_visibility(store: Arc<dyn Store>) {
    let views = Views::new(&store).await;
    views
        .check(|visibility| {
            let store = store.clone();
            async move { ids(store.list_runners(&visibility, &RunnerFilter::default(), None, 10).await.unwrap(), |r| r.id) }
        })
        .await;
}

/// A caller that goes away (a deadline, a client that disconnects) drops its write wherever it
/// is: acquiring a connection, beginning, writing, committing. Whatever the point, the write is
/// whole or absent, and the connection goes back to the pool outside any transaction: no later
/// write may fail because of it (SQLite once got "begin at non-zero transaction depth").
async fn writes_abandoned_at_any_point_leave_the_store_writable(store: Arc<dyn Store>) {
    const WRITERS: usize = 12;
    let (org, _) = new_org(&store).await;
    let mut runners = Vec::new();
    for _ in 0..WRITERS {
        let r = sample_runner(&org, RunnerProvider::Gcp, None);
        store.insert_runner(&r, &token_for(&r)).await.unwrap();
        runners.push(r);
    }
    // Each writer updates its own runner over and over, each attempt cut off after a growing
    // few microseconds, so that the cuts land at every point of the write.
    let mut abandon = tokio::task::JoinSet::new();
    for (w, r) in runners.iter().enumerate() {
        let store = store.clone();
        let id = r.id;
        abandon.spawn(async move {
            for attempt in 0..60u64 {
                let mut next = store.get_runner(id).await.unwrap().unwrap();
                next.name = format!("writer {w} attempt {attempt}");
                next.revision += 1;
                let cut = std::time::Duration::from_micros(attempt * 37 % 2_000 + (w as u64) * 11);
                if let Ok(outcome) = tokio::time::timeout(cut, store.update_runner(&next)).await {
                    // A write that ran to its end fails only by losing to this writer's abandoned
                    // one, whose commit may still have been on its way when the row was read.
                    outcome.unwrap_or_else(|e| panic!("writer {w}, attempt {attempt}: {e}"));
                }
            }
        });
    }
    abandon.join_all().await;
    // Every connection of the pool is used again, concurrently, and every write lands whole.
    let mut finish = tokio::task::JoinSet::new();
    for r in &runners {
        let store = store.clone();
        let id = r.id;
        finish.spawn(async move {
            for _ in 0..50 {
                let mut next = store.get_runner(id).await.unwrap().unwrap();
                next.name = "finished".to_owned();
                next.revision += 1;
                match store.update_runner(&next).await {
                    Ok(WriteOutcome::Written) => return assert_eq!(store.get_runner(id).await.unwrap(), Some(next)),
                    Ok(WriteOutcome::Conflict) => tokio::time::sleep(std::time::Duration::from_millis(10)).await,
                    Err(e) => panic!("a write after abandoned writes: {e}"),
                }
            }
            panic!("no write of runner {id} landed after the abandoned ones");
        });
    }
    finish.join_all().await;
}

async fn update_is_conditional_on_revision(store: Arc<dyn Store>) {
    let (org, _) = new_org(&store).await;
    let r = sample_runner(&org, RunnerProvider::Gcp, None);
    store.insert_runner(&r, &token_for(&r)).await.unwrap();
    let mut a = r.clone();
    a.name = "renamed".to_owned();
    a.status.phase = RunnerPhase::Deleting;
    a.spec.configuration.region = "us-east-1".to_owned();
    a.updated_at = a.updated_at.plus_seconds(1);
    a.revision += 1;
    assert_eq!(store.update_runner(&a).await.unwrap(), WriteOutcome::Written);
    assert_eq!(store.get_runner(r.id).await.unwrap(), Some(a.clone()));
    // A writer that read the old revision loses.
    let mut b = r.clone();
    b.name = "lost".to_owned();
    b.revision += 1;
    assert_eq!(store.update_runner(&b).await.unwrap(), WriteOutcome::Conflict);
    assert_eq!(store.get_runner(r.id).await.unwrap(), Some(a.clone()));
    // The next revision goes through.
    let mut c = a.clone();
    c.name = "again".to_owned();
    c.revision += 1;
    assert_eq!(store.update_runner(&c).await.unwrap(), WriteOutcome::Written);
    assert_eq!(store.get_runner(r.id).await.unwrap(), Some(c));
    // A vanished runner is a conflict too.
    let mut ghost = sample_runner(&org, RunnerProvider::Gcp, None);
    ghost.revision = 2;
    assert_eq!(store.update_runner(&ghost).await.unwrap(), WriteOutcome::Conflict);
    assert_eq!(store.get_runner(ghost.id).await.unwrap(), None);
}

/// Deleting a runner removes its tokens, policies, schema, environment classes, SCM and LLM
/// integrations and host tokens; another runner's stay.
async fn delete_removes_the_runner_and_all_it_holds(store: Arc<dyn Store>) {
    let (org, _) = new_org(&store).await;
    let group = sample_group(&org, "team");
    store.create_group(&group).await.unwrap();
    let schema = runner_core::schema::default_schema(Some(RunnerProvider::Gcp), Uuid::nil(), "https://api.example");
    struct Held {
        runner: Runner,
        token: NewRunnerToken,
        class: EnvironmentClass,
        scm: ScmIntegration,
        host_token: HostToken,
        llm: LlmIntegration,
    }
    let mut held = Vec::new();
    for _ in 0..2 {
        let runner = sample_runner(&org, RunnerProvider::Gcp, None);
        let token = token_for(&runner);
        store.insert_runner(&runner, &token).await.unwrap();
        let policy = RunnerPolicy { runner_id: runner.id, group_id: group.id, role: RunnerRole::Admin };
        store.insert_runner_policy(&policy).await.unwrap();
        assert!(store.set_runner_schema(runner.id, &schema).await.unwrap());
        let class = sample_class(&runner);
        store.insert_environment_class(&class).await.unwrap();
        let scm = sample_scm_integration(&runner, "github.com");
        store.insert_scm_integration(&scm).await.unwrap();
        let host_token = sample_host_token(&runner, "github.com", Uuid::now_v7(), HostTokenSource::Oauth);
        store.insert_host_token(&host_token).await.unwrap();
        let llm = sample_llm_integration(&runner);
        store.insert_llm_integration(&llm).await.unwrap();
        held.push(Held { runner, token, class, scm, host_token, llm });
    }
    let (gone, kept) = (&held[0], &held[1]);
    assert!(store.delete_runner(gone.runner.id).await.unwrap());
    assert!(!store.delete_runner(gone.runner.id).await.unwrap(), "deleted twice");
    assert_eq!(store.get_runner(gone.runner.id).await.unwrap(), None);
    assert_eq!(store.resolve_runner_token(&gone.token.hash).await.unwrap(), None);
    assert_eq!(store.list_runner_policies(gone.runner.id, None, 10).await.unwrap(), vec![]);
    assert_eq!(store.get_runner_schema(gone.runner.id).await.unwrap(), None);
    assert_eq!(store.get_environment_class(gone.class.id).await.unwrap(), None);
    assert_eq!(store.get_scm_integration(gone.scm.id).await.unwrap(), None);
    assert_eq!(store.get_host_token(gone.host_token.id).await.unwrap(), None);
    assert_eq!(store.get_llm_integration(gone.llm.id).await.unwrap(), None);
    // A token for the deleted runner cannot be stored any more.
    assert!(store.insert_runner_token(&token_for(&gone.runner)).await.is_err());

    assert_eq!(store.get_runner(kept.runner.id).await.unwrap().as_ref(), Some(&kept.runner));
    assert!(store.resolve_runner_token(&kept.token.hash).await.unwrap().is_some());
    assert_eq!(store.list_runner_policies(kept.runner.id, None, 10).await.unwrap().len(), 1);
    assert_eq!(store.get_runner_schema(kept.runner.id).await.unwrap().as_ref(), Some(&schema));
    assert_eq!(store.get_environment_class(kept.class.id).await.unwrap().as_ref(), Some(&kept.class));
    assert_eq!(store.get_scm_integration(kept.scm.id).await.unwrap().as_ref(), Some(&kept.scm));
    assert_eq!(store.get_host_token(kept.host_token.id).await.unwrap().as_ref(), Some(&kept.host_token));
    assert_eq!(store.get_llm_integration(kept.llm.id).await.unwrap().as_ref(), Some(&kept.llm));
}

async fn runners_are_counted_by_phase(store: Arc<dyn Store>) {
    let (org, _) = new_org(&store).await;
    let (other, _) = new_org(&store).await;
    let mut created = Vec::new();
    for (org, phase) in [(&org, RunnerPhase::Created), (&org, RunnerPhase::Active), (&other, RunnerPhase::Active)] {
        let mut r = sample_runner(org, RunnerProvider::Gcp, None);
        r.status.phase = phase;
        store.insert_runner(&r, &token_for(&r)).await.unwrap();
        created.push(r);
    }
    let counts = || async {
        let mut counts = store.count_runners_by_phase().await.unwrap();
        counts.sort_by_key(|(p, _)| p.number());
        counts
    };
    // Over every organization; each organization's local-configuration runner is ACTIVE too.
    assert_eq!(counts().await, vec![(RunnerPhase::Created, 1), (RunnerPhase::Active, 4)]);
    // An update moves a runner to its new phase.
    let mut r = created[0].clone();
    r.status.phase = RunnerPhase::Deleting;
    r.revision += 1;
    assert_eq!(store.update_runner(&r).await.unwrap(), WriteOutcome::Written);
    assert_eq!(counts().await, vec![(RunnerPhase::Active, 4), (RunnerPhase::Deleting, 1)]);
}
