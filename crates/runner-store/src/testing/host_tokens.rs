//! `HostTokenRepo`: a subject's SCM credential for one runner and host, stored as ciphertext
//! the store passes through untouched.

use std::sync::Arc;

use runner_core::model::*;
use runner_core::store::{Store, StoreError, WriteOutcome};
use uuid::Uuid;

use super::*;

pub(super) fn cases() -> Vec<Case> {
    vec![
        case!(host_tokens_round_trip_their_ciphertext: insert_host_token, get_host_token),
        case!(host_token_lists_filter_and_page: list_host_tokens),
        case!(host_token_lists_respect_visibility: list_host_tokens),
        case!(host_token_updates_are_conditional: update_host_token),
        case!(host_tokens_are_deleted_once: delete_host_token),
    ]
}

/// The plaintext of a stored value.
fn decrypted(token: &HostToken, what: &str, ciphertext: &[u8]) -> String {
    String::from_utf8(at_rest_key().decrypt(ciphertext, &aad(token.id, what)).unwrap()).unwrap()
}

async fn host_tokens_round_trip_their_ciphertext(store: Arc<dyn Store>) {
    let (org, _) = new_org(&store).await;
    let r = add_runner(&store, &org, RunnerProvider::Gcp).await;
    let neighbour = add_runner(&store, &org, RunnerProvider::Gcp).await;
    let alice = Uuid::now_v7();
    let token = sample_host_token(&r, "github.com", alice, HostTokenSource::Oauth);
    store.insert_host_token(&token).await.unwrap();
    let got = store.get_host_token(token.id).await.unwrap().unwrap();
    // Every field, and the encrypted values byte for byte: they still decrypt.
    assert_eq!(got, token);
    assert_eq!(decrypted(&got, "token", &got.token_ciphertext), "gho_token");
    assert_eq!(decrypted(&got, "refresh", got.refresh_token_ciphertext.as_deref().unwrap()), "ghr_refresh");
    assert_eq!(store.get_host_token(Uuid::now_v7()).await.unwrap(), None);
    // Without the optional parts, of a service account, by PAT: as written.
    let bare = HostToken {
        id: Uuid::now_v7(),
        host: "gitlab.com".to_owned(),
        subject: Subject { id: alice, principal: Principal::ServiceAccount },
        source: HostTokenSource::Pat,
        refresh_token_ciphertext: None,
        expires_at: None,
        integration_id: None,
        scopes: vec![],
        ..token.clone()
    };
    store.insert_host_token(&bare).await.unwrap();
    assert_eq!(store.get_host_token(bare.id).await.unwrap(), Some(bare));

    // One per runner, subject and host.
    let twin = sample_host_token(&r, "github.com", alice, HostTokenSource::Pat);
    assert!(matches!(store.insert_host_token(&twin).await, Err(StoreError::AlreadyExists)));
    assert_eq!(store.get_host_token(twin.id).await.unwrap(), None);
    for other in [
        sample_host_token(&r, "github.com", Uuid::now_v7(), HostTokenSource::Oauth),
        sample_host_token(&neighbour, "github.com", alice, HostTokenSource::Oauth),
    ] {
        store.insert_host_token(&other).await.unwrap();
    }
    // A token needs its runner.
    let orphan = sample_host_token(&Runner { id: Uuid::now_v7(), ..r }, "github.com", alice, HostTokenSource::Oauth);
    assert!(store.insert_host_token(&orphan).await.is_err());
}

async fn host_token_lists_filter_and_page(store: Arc<dyn Store>) {
    let (org, _) = new_org(&store).await;
    let runners =
        [add_runner(&store, &org, RunnerProvider::Gcp).await, add_runner(&store, &org, RunnerProvider::Gcp).await];
    let subjects = [Uuid::now_v7(), Uuid::now_v7()];
    let mut all = Vec::new();
    for host in ["github.com", "gitlab.com"] {
        for r in &runners {
            for s in subjects {
                let t = sample_host_token(r, host, s, HostTokenSource::Oauth);
                store.insert_host_token(&t).await.unwrap();
                all.push(t);
            }
        }
    }
    let pick = |runner: Option<Uuid>, subject: Option<Uuid>| -> Vec<Uuid> {
        all.iter()
            .filter(|t| runner.is_none_or(|r| t.runner_id == r) && subject.is_none_or(|s| t.subject.id == s))
            .map(|t| t.id)
            .collect()
    };
    let list = |runner: Option<Uuid>, subject: Option<Uuid>, after, limit| {
        let (store, visibility) = (store.clone(), everything(&org));
        async move { ids(store.list_host_tokens(&visibility, runner, subject, after, limit).await.unwrap(), |t| t.id) }
    };
    assert_eq!(store.list_host_tokens(&everything(&org), None, None, None, 100).await.unwrap(), all, "ordered by id");
    for limit in [1, 3, 8] {
        assert_eq!(walk(limit, |after, limit| list(None, None, after, limit)).await, pick(None, None));
    }
    for runner in [None, Some(runners[0].id), Some(runners[1].id)] {
        for subject in [None, Some(subjects[0]), Some(subjects[1])] {
            assert_eq!(list(runner, subject, None, 100).await, pick(runner, subject), "{runner:?} {subject:?}");
            assert_eq!(walk(1, |after, limit| list(runner, subject, after, limit)).await, pick(runner, subject));
        }
    }
    assert_eq!(list(Some(Uuid::now_v7()), None, None, 100).await, Vec::<Uuid>::new());
    assert_eq!(list(None, Some(Uuid::now_v7()), None, 100).await, Vec::<Uuid>::new());
}

async fn host_token_lists_respect_visibility(store: Arc<dyn Store>) {
    let views = Views::new(&store).await;
    for r in views.runners() {
        store.insert_host_token(&sample_host_token(r, "github.com", views.me, HostTokenSource::Oauth)).await.unwrap();
    }
    views
        .check(|visibility| {
            let store = store.clone();
            async move { ids(store.list_host_tokens(&visibility, None, None, None, 10).await.unwrap(), |t| t.runner_id) }
        })
        .await;
}

async fn host_token_updates_are_conditional(store: Arc<dyn Store>) {
    let (org, _) = new_org(&store).await;
    let r = add_runner(&store, &org, RunnerProvider::Gcp).await;
    let token = HostToken {
        refresh_token_ciphertext: None,
        expires_at: None,
        ..sample_host_token(&r, "github.com", Uuid::now_v7(), HostTokenSource::Oauth)
    };
    store.insert_host_token(&token).await.unwrap();
    // New values, a refresh token, an expiry and other scopes.
    let a = HostToken {
        token_ciphertext: encrypted(token.id, "token", "gho_new"),
        refresh_token_ciphertext: Some(encrypted(token.id, "refresh", "ghr_new")),
        expires_at: Some(token.created_at.plus_seconds(60)),
        scopes: vec!["read:user".to_owned()],
        updated_at: token.updated_at.plus_seconds(1),
        revision: token.revision + 1,
        ..token.clone()
    };
    assert_eq!(store.update_host_token(&a).await.unwrap(), WriteOutcome::Written);
    let got = store.get_host_token(token.id).await.unwrap().unwrap();
    assert_eq!(got, a);
    assert_eq!(decrypted(&got, "token", &got.token_ciphertext), "gho_new");
    // A writer that read the old revision loses.
    let stale = HostToken { token_ciphertext: encrypted(token.id, "token", "lost"), revision: 2, ..token.clone() };
    assert_eq!(store.update_host_token(&stale).await.unwrap(), WriteOutcome::Conflict);
    assert_eq!(store.get_host_token(token.id).await.unwrap(), Some(a.clone()));
    // And back to no refresh token, no expiry, no scopes; another source and no integration
    // (an OAuth token replacing a personal access token changes both).
    let b = HostToken {
        source: HostTokenSource::Pat,
        integration_id: None,
        refresh_token_ciphertext: None,
        expires_at: None,
        scopes: vec![],
        revision: 3,
        ..a
    };
    assert_eq!(store.update_host_token(&b).await.unwrap(), WriteOutcome::Written);
    assert_eq!(store.get_host_token(token.id).await.unwrap(), Some(b));
    // A token that is not there is a conflict.
    let ghost = HostToken { id: Uuid::now_v7(), revision: 2, ..token };
    assert_eq!(store.update_host_token(&ghost).await.unwrap(), WriteOutcome::Conflict);
    assert_eq!(store.get_host_token(ghost.id).await.unwrap(), None);
}

async fn host_tokens_are_deleted_once(store: Arc<dyn Store>) {
    let (org, _) = new_org(&store).await;
    let r = add_runner(&store, &org, RunnerProvider::Gcp).await;
    let gone = sample_host_token(&r, "github.com", Uuid::now_v7(), HostTokenSource::Oauth);
    let kept = sample_host_token(&r, "github.com", Uuid::now_v7(), HostTokenSource::Oauth);
    for t in [&gone, &kept] {
        store.insert_host_token(t).await.unwrap();
    }
    assert!(store.delete_host_token(gone.id).await.unwrap());
    assert!(!store.delete_host_token(gone.id).await.unwrap(), "deleted twice");
    assert!(!store.delete_host_token(Uuid::now_v7()).await.unwrap());
    assert_eq!(store.get_host_token(gone.id).await.unwrap(), None);
    assert_eq!(store.get_host_token(kept.id).await.unwrap(), Some(kept));
}
