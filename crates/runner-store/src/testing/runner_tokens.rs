//! `RunnerTokenRepo`: tokens minted for runners, found by hash; exchange tokens redeemed once.

use std::sync::Arc;

use runner_core::model::*;
use runner_core::store::{NewRunnerToken, RunnerTokenInfo, RunnerTokenKind, Store, StoreError};
use runner_core::time::Timestamp;

use super::*;

pub(super) fn cases() -> Vec<Case> {
    vec![
        case!(runner_tokens_resolve_and_redeem_once: insert_runner_token, resolve_runner_token, redeem_exchange_token_for_access),
        case!(runner_tokens_are_unique_and_need_their_runner: insert_runner_token, resolve_runner_token),
        case!(a_failed_redemption_spends_nothing: redeem_exchange_token_for_access),
    ]
}

/// An access token to buy with an exchange token of `runner`.
fn access_for(runner: &Runner) -> NewRunnerToken {
    NewRunnerToken { kind: RunnerTokenKind::Access, ..token_for(runner) }
}

async fn runner_tokens_resolve_and_redeem_once(store: Arc<dyn Store>) {
    let (org, _) = new_org(&store).await;
    let r = sample_runner(&org, RunnerProvider::Gcp, None);
    let exchange = token_for(&r);
    store.insert_runner(&r, &exchange).await.unwrap();
    let info = store.resolve_runner_token(&exchange.hash).await.unwrap().unwrap();
    assert_eq!(
        info,
        RunnerTokenInfo {
            runner_id: r.id,
            org_id: org.id,
            kind: RunnerTokenKind::Exchange,
            expires_at: exchange.expires_at,
            used_at: None
        }
    );
    assert_eq!(store.resolve_runner_token(&[7; 32]).await.unwrap(), None);

    // Concurrent redemptions of one token: exactly one wins, and only its access token is stored.
    let now = Timestamp::now();
    let attempts = (0..8).map(|_| {
        let (store, hash, access) = (store.clone(), exchange.hash.clone(), access_for(&r));
        tokio::spawn(async move {
            let won = store.redeem_exchange_token_for_access(&hash, now, &access).await.unwrap();
            (won, access.hash)
        })
    });
    let mut winners = Vec::new();
    for a in attempts.collect::<Vec<_>>() {
        let (won, access_hash) = a.await.unwrap();
        let stored = store.resolve_runner_token(&access_hash).await.unwrap();
        assert_eq!(stored.is_some(), won.is_some());
        if let Some(stored) = stored {
            assert_eq!((stored.runner_id, stored.kind, stored.used_at), (r.id, RunnerTokenKind::Access, None));
        }
        winners.extend(won);
    }
    assert_eq!(winners, vec![r.id]);
    assert_eq!(store.resolve_runner_token(&exchange.hash).await.unwrap().unwrap().used_at, Some(now));
    assert_eq!(store.redeem_exchange_token_for_access(&exchange.hash, now, &access_for(&r)).await.unwrap(), None);

    // Expired tokens and other kinds do not redeem.
    let expired = NewRunnerToken { expires_at: now, ..token_for(&r) };
    store.insert_runner_token(&expired).await.unwrap();
    assert_eq!(store.redeem_exchange_token_for_access(&expired.hash, now, &access_for(&r)).await.unwrap(), None);
    let access = access_for(&r);
    store.insert_runner_token(&access).await.unwrap();
    assert_eq!(store.redeem_exchange_token_for_access(&access.hash, now, &access_for(&r)).await.unwrap(), None);
    assert_eq!(store.resolve_runner_token(&access.hash).await.unwrap().unwrap().kind, RunnerTokenKind::Access);
    // An unknown hash redeems nothing.
    assert_eq!(store.redeem_exchange_token_for_access(&[8; 32], now, &access_for(&r)).await.unwrap(), None);

    // The access token is stored for the redeemed token's runner, whatever runner it names.
    let other = sample_runner(&org, RunnerProvider::Gcp, None);
    let other_exchange = token_for(&other);
    store.insert_runner(&other, &other_exchange).await.unwrap();
    let misnamed = access_for(&r);
    assert_eq!(
        store.redeem_exchange_token_for_access(&other_exchange.hash, now, &misnamed).await.unwrap(),
        Some(other.id)
    );
    assert_eq!(store.resolve_runner_token(&misnamed.hash).await.unwrap().unwrap().runner_id, other.id);

    // They all go with the runner.
    assert!(store.delete_runner(r.id).await.unwrap());
    assert_eq!(store.resolve_runner_token(&access.hash).await.unwrap(), None);
}

async fn runner_tokens_are_unique_and_need_their_runner(store: Arc<dyn Store>) {
    let (org, _) = new_org(&store).await;
    let r = sample_runner(&org, RunnerProvider::Gcp, None);
    store.insert_runner(&r, &token_for(&r)).await.unwrap();
    let logs = NewRunnerToken { kind: RunnerTokenKind::Logs, ..token_for(&r) };
    store.insert_runner_token(&logs).await.unwrap();
    let info = store.resolve_runner_token(&logs.hash).await.unwrap().unwrap();
    assert_eq!((info.runner_id, info.org_id, info.kind, info.expires_at), (r.id, org.id, logs.kind, logs.expires_at));
    // A hash is stored once.
    let again = NewRunnerToken { kind: RunnerTokenKind::Access, ..logs.clone() };
    assert!(matches!(store.insert_runner_token(&again).await, Err(StoreError::AlreadyExists)));
    assert_eq!(store.resolve_runner_token(&logs.hash).await.unwrap().unwrap().kind, RunnerTokenKind::Logs);
    // A token needs its runner.
    let orphan = NewRunnerToken { runner_id: Uuid::now_v7(), ..token_for(&r) };
    assert!(store.insert_runner_token(&orphan).await.is_err());
    assert_eq!(store.resolve_runner_token(&orphan.hash).await.unwrap(), None);
}

/// Both or neither: when the access token cannot be stored, the exchange token stays unspent.
async fn a_failed_redemption_spends_nothing(store: Arc<dyn Store>) {
    let (org, _) = new_org(&store).await;
    let r = sample_runner(&org, RunnerProvider::Gcp, None);
    let exchange = token_for(&r);
    store.insert_runner(&r, &exchange).await.unwrap();
    let taken = access_for(&r);
    store.insert_runner_token(&taken).await.unwrap();
    let now = Timestamp::now();
    // An access token whose hash is taken cannot be stored.
    let result = store.redeem_exchange_token_for_access(&exchange.hash, now, &taken).await;
    assert!(matches!(result, Err(StoreError::AlreadyExists)), "{result:?}");
    assert_eq!(store.resolve_runner_token(&exchange.hash).await.unwrap().unwrap().used_at, None);
    // So the exchange token still buys one.
    let access = access_for(&r);
    assert_eq!(store.redeem_exchange_token_for_access(&exchange.hash, now, &access).await.unwrap(), Some(r.id));
    assert!(store.resolve_runner_token(&access.hash).await.unwrap().is_some());
}
