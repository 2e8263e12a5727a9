//! `ScmIntegrationRepo`: SCM integrations, one per runner and host, and the host tokens their
//! updates and deletes take with them.

use std::sync::Arc;

use runner_core::model::*;
use runner_core::store::{Store, StoreError, WriteOutcome};
use uuid::Uuid;

use super::*;

pub(super) fn cases() -> Vec<Case> {
    vec![
        case!(scm_integrations_round_trip: insert_scm_integration, get_scm_integration),
        case!(scm_integration_lists_filter_and_page: list_scm_integrations),
        case!(scm_integration_lists_respect_visibility: list_scm_integrations),
        case!(scm_integration_updates_are_conditional_and_revoke_host_tokens: update_scm_integration),
        case!(deleting_an_scm_integration_deletes_its_host_tokens: delete_scm_integration),
    ]
}

async fn scm_integrations_round_trip(store: Arc<dyn Store>) {
    let (org, _) = new_org(&store).await;
    let r = add_runner(&store, &org, RunnerProvider::Gcp).await;
    let neighbour = add_runner(&store, &org, RunnerProvider::Gcp).await;
    // With OAuth: the sealed client secret comes back byte for byte.
    let oauth = sample_scm_integration(&r, "github.com");
    store.insert_scm_integration(&oauth).await.unwrap();
    assert_eq!(store.get_scm_integration(oauth.id).await.unwrap(), Some(oauth.clone()));
    assert_eq!(store.get_scm_integration(Uuid::now_v7()).await.unwrap(), None);
    // PAT only, no virtual directory, OAuth with an empty issuer.
    let pat = ScmIntegration { oauth: None, virtual_directory: None, ..sample_scm_integration(&r, "gitlab.com") };
    store.insert_scm_integration(&pat).await.unwrap();
    assert_eq!(store.get_scm_integration(pat.id).await.unwrap(), Some(pat));
    let mut no_issuer = sample_scm_integration(&r, "bitbucket.org");
    no_issuer.oauth.as_mut().unwrap().issuer_url = String::new();
    no_issuer.pat = false;
    store.insert_scm_integration(&no_issuer).await.unwrap();
    assert_eq!(store.get_scm_integration(no_issuer.id).await.unwrap(), Some(no_issuer));

    // One per runner and host; the same host on another runner is fine.
    let twin = sample_scm_integration(&r, "github.com");
    assert!(matches!(store.insert_scm_integration(&twin).await, Err(StoreError::AlreadyExists)));
    assert_eq!(store.get_scm_integration(twin.id).await.unwrap(), None);
    let theirs = sample_scm_integration(&neighbour, "github.com");
    store.insert_scm_integration(&theirs).await.unwrap();
    assert_eq!(store.get_scm_integration(theirs.id).await.unwrap(), Some(theirs));
    // An integration needs its runner.
    let orphan = sample_scm_integration(&Runner { id: Uuid::now_v7(), ..r }, "github.com");
    assert!(store.insert_scm_integration(&orphan).await.is_err());
}

async fn scm_integration_lists_filter_and_page(store: Arc<dyn Store>) {
    let (org, _) = new_org(&store).await;
    let runners =
        [add_runner(&store, &org, RunnerProvider::Gcp).await, add_runner(&store, &org, RunnerProvider::AwsEc2).await];
    let mut all = Vec::new();
    for host in ["github.com", "gitlab.com", "bitbucket.org"] {
        for r in &runners {
            let i = sample_scm_integration(r, host);
            store.insert_scm_integration(&i).await.unwrap();
            all.push(i);
        }
    }
    assert_eq!(store.list_scm_integrations(&everything(&org), &[], None, 100).await.unwrap(), all, "ordered by id");
    let items: Vec<(Uuid, Uuid)> = all.iter().map(|i| (i.id, i.runner_id)).collect();
    check_runner_ids_filter(&items, [runners[0].id, runners[1].id], |runner_ids, after, limit| {
        let (store, visibility) = (store.clone(), everything(&org));
        async move { ids(store.list_scm_integrations(&visibility, &runner_ids, after, limit).await.unwrap(), |i| i.id) }
    })
    .await;
}

async fn scm_integration_lists_respect_visibility(store: Arc<dyn Store>) {
    let views = Views::new(&store).await;
    for r in views.runners() {
        store.insert_scm_integration(&sample_scm_integration(r, "github.com")).await.unwrap();
    }
    views
        .check(|visibility| {
            let store = store.clone();
            async move { ids(store.list_scm_integrations(&visibility, &[], None, 10).await.unwrap(), |i| i.runner_id) }
        })
        .await;
}

/// Host tokens of `runner` for `host`: one per source, each of another subject.
async fn host_tokens_of(store: &Arc<dyn Store>, runner: &Runner, host: &str) -> Vec<HostToken> {
    let mut tokens = Vec::new();
    for source in [HostTokenSource::Oauth, HostTokenSource::Pat] {
        let t = sample_host_token(runner, host, Uuid::now_v7(), source);
        store.insert_host_token(&t).await.unwrap();
        tokens.push(t);
    }
    tokens
}

/// The ones of `tokens` still stored.
async fn still_there(store: &Arc<dyn Store>, tokens: &[HostToken]) -> Vec<HostTokenSource> {
    let mut sources = Vec::new();
    for t in tokens {
        if store.get_host_token(t.id).await.unwrap().is_some() {
            sources.push(t.source);
        }
    }
    sources
}

async fn scm_integration_updates_are_conditional_and_revoke_host_tokens(store: Arc<dyn Store>) {
    use HostTokenSource::{Oauth, Pat};
    let (org, _) = new_org(&store).await;
    let r = add_runner(&store, &org, RunnerProvider::Gcp).await;
    let neighbour = add_runner(&store, &org, RunnerProvider::Gcp).await;
    let integration = sample_scm_integration(&r, "github.com");
    store.insert_scm_integration(&integration).await.unwrap();
    let mine = host_tokens_of(&store, &r, "github.com").await;
    let other_host = host_tokens_of(&store, &r, "gitlab.com").await;
    let other_runner = host_tokens_of(&store, &neighbour, "github.com").await;

    // Without OAuth now, revoking the OAuth tokens of the runner for its host.
    let a = ScmIntegration {
        oauth: None,
        virtual_directory: None,
        updated_at: integration.updated_at.plus_seconds(1),
        revision: integration.revision + 1,
        ..integration.clone()
    };
    assert_eq!(store.update_scm_integration(&a, &[Oauth]).await.unwrap(), WriteOutcome::Written);
    assert_eq!(store.get_scm_integration(integration.id).await.unwrap(), Some(a.clone()));
    assert_eq!(still_there(&store, &mine).await, vec![Pat]);
    assert_eq!(still_there(&store, &other_host).await, vec![Oauth, Pat]);
    assert_eq!(still_there(&store, &other_runner).await, vec![Oauth, Pat]);

    // A writer that read the old revision loses, and revokes nothing.
    let stale = ScmIntegration { pat: false, revision: integration.revision + 1, ..integration.clone() };
    assert_eq!(store.update_scm_integration(&stale, &[Oauth, Pat]).await.unwrap(), WriteOutcome::Conflict);
    assert_eq!(store.get_scm_integration(integration.id).await.unwrap(), Some(a.clone()));
    assert_eq!(still_there(&store, &mine).await, vec![Pat]);

    // OAuth back (a new sealed secret), nothing revoked.
    let b =
        ScmIntegration { oauth: sample_scm_integration(&r, "github.com").oauth, revision: a.revision + 1, ..a.clone() };
    assert_eq!(store.update_scm_integration(&b, &[]).await.unwrap(), WriteOutcome::Written);
    assert_eq!(store.get_scm_integration(integration.id).await.unwrap(), Some(b.clone()));
    assert_eq!(still_there(&store, &mine).await, vec![Pat]);
    // Both sources revoked at once.
    let c = ScmIntegration { pat: false, revision: b.revision + 1, ..b };
    assert_eq!(store.update_scm_integration(&c, &[Oauth, Pat]).await.unwrap(), WriteOutcome::Written);
    assert_eq!(still_there(&store, &mine).await, vec![]);
    assert_eq!(still_there(&store, &other_host).await, vec![Oauth, Pat]);
    assert_eq!(still_there(&store, &other_runner).await, vec![Oauth, Pat]);

    // An integration that is not there is a conflict, and revokes nothing.
    let ghost = ScmIntegration { id: Uuid::now_v7(), host: "gitlab.com".to_owned(), revision: 2, ..integration };
    assert_eq!(store.update_scm_integration(&ghost, &[Oauth, Pat]).await.unwrap(), WriteOutcome::Conflict);
    assert_eq!(still_there(&store, &other_host).await, vec![Oauth, Pat]);
}

async fn deleting_an_scm_integration_deletes_its_host_tokens(store: Arc<dyn Store>) {
    use HostTokenSource::{Oauth, Pat};
    let (org, _) = new_org(&store).await;
    let r = add_runner(&store, &org, RunnerProvider::Gcp).await;
    let neighbour = add_runner(&store, &org, RunnerProvider::Gcp).await;
    let integration = sample_scm_integration(&r, "github.com");
    let kept = sample_scm_integration(&r, "gitlab.com");
    let theirs = sample_scm_integration(&neighbour, "github.com");
    for i in [&integration, &kept, &theirs] {
        store.insert_scm_integration(i).await.unwrap();
    }
    let mine = host_tokens_of(&store, &r, "github.com").await;
    let other_host = host_tokens_of(&store, &r, "gitlab.com").await;
    let other_runner = host_tokens_of(&store, &neighbour, "github.com").await;

    assert!(store.delete_scm_integration(&integration).await.unwrap());
    assert_eq!(store.get_scm_integration(integration.id).await.unwrap(), None);
    assert_eq!(still_there(&store, &mine).await, vec![]);
    assert_eq!(still_there(&store, &other_host).await, vec![Oauth, Pat]);
    assert_eq!(still_there(&store, &other_runner).await, vec![Oauth, Pat]);
    assert_eq!(store.get_scm_integration(kept.id).await.unwrap(), Some(kept));
    assert_eq!(store.get_scm_integration(theirs.id).await.unwrap(), Some(theirs));
    assert!(!store.delete_scm_integration(&integration).await.unwrap(), "deleted twice");
}
