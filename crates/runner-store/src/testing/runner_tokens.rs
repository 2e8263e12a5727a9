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
        case!(a_new_sign_up_supersedes_the_earlier_ones: redeem_exchange_token_for_access, resolve_runner_token, refresh_runner_access_token),
        case!(refreshes_stay_in_their_sign_up: refresh_runner_access_token, resolve_runner_token, redeem_exchange_token_for_access),
        case!(of_concurrent_redemptions_for_one_runner_one_wins: redeem_exchange_token_for_access, insert_runner_token),
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
            used_at: None,
            superseded_at: None,
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

/// What a token's hash resolves to: (used, superseded), or `None` when unknown.
async fn marks(store: &Arc<dyn Store>, hash: &[u8]) -> Option<(Option<Timestamp>, Option<Timestamp>)> {
    store.resolve_runner_token(hash).await.unwrap().map(|t| (t.used_at, t.superseded_at))
}

/// Redeeming another exchange token of a runner supersedes the sign-up of the first: its access
/// token and the refreshes of it. Unused exchange tokens are spent; other runners are untouched.
async fn a_new_sign_up_supersedes_the_earlier_ones(store: Arc<dyn Store>) {
    let (org, _) = new_org(&store).await;
    let r = sample_runner(&org, RunnerProvider::Gcp, None);
    let first = token_for(&r);
    store.insert_runner(&r, &first).await.unwrap();
    let bystander = add_runner(&store, &org, RunnerProvider::Gcp).await;
    let (bystander_exchange, bystander_access) = (token_for(&bystander), access_for(&bystander));
    store.insert_runner_token(&bystander_exchange).await.unwrap();
    let t0 = Timestamp::now();
    assert_eq!(
        store.redeem_exchange_token_for_access(&bystander_exchange.hash, t0, &bystander_access).await.unwrap(),
        Some(bystander.id)
    );

    let a = access_for(&r);
    assert_eq!(store.redeem_exchange_token_for_access(&first.hash, t0, &a).await.unwrap(), Some(r.id));
    let a_refreshed = access_for(&r);
    assert_eq!(store.refresh_runner_access_token(&a.hash, t0, &a_refreshed).await.unwrap(), Some(r.id));
    assert_eq!(marks(&store, &a.hash).await, Some((None, None)));
    assert_eq!(marks(&store, &a_refreshed.hash).await, Some((None, None)));

    // Two more exchange tokens are issued (CreateRunnerToken); a second process redeems one:
    // the first sign-up is over.
    let (second, unused) = (token_for(&r), token_for(&r));
    store.insert_runner_token(&second).await.unwrap();
    store.insert_runner_token(&unused).await.unwrap();
    let t1 = t0.plus_seconds(1);
    let b = access_for(&r);
    assert_eq!(store.redeem_exchange_token_for_access(&second.hash, t1, &b).await.unwrap(), Some(r.id));
    assert_eq!(marks(&store, &a.hash).await, Some((None, Some(t1))));
    assert_eq!(marks(&store, &a_refreshed.hash).await, Some((None, Some(t1))));
    assert_eq!(marks(&store, &first.hash).await, Some((Some(t0), Some(t1))));
    assert_eq!(marks(&store, &b.hash).await, Some((None, None)));
    assert_eq!(marks(&store, &second.hash).await, Some((Some(t1), None)));
    // The superseded ones refresh no more.
    assert_eq!(store.refresh_runner_access_token(&a_refreshed.hash, t1, &access_for(&r)).await.unwrap(), None);
    // The unused exchange token was spent with them.
    assert_eq!(marks(&store, &unused.hash).await, Some((Some(t1), Some(t1))));
    assert_eq!(store.redeem_exchange_token_for_access(&unused.hash, t1, &access_for(&r)).await.unwrap(), None);
    assert_eq!(marks(&store, &b.hash).await, Some((None, None)), "a failed redemption supersedes nothing");
    // Another runner's sign-up is its own.
    assert_eq!(marks(&store, &bystander_access.hash).await, Some((None, None)));
    assert_eq!(marks(&store, &bystander_exchange.hash).await, Some((Some(t0), None)));

    // An access token stored without a sign-up (from before sign-ups were recorded) is
    // superseded by the next redemption too.
    let legacy = access_for(&r);
    store.insert_runner_token(&legacy).await.unwrap();
    let third = token_for(&r);
    store.insert_runner_token(&third).await.unwrap();
    let t2 = t1.plus_seconds(1);
    assert_eq!(store.redeem_exchange_token_for_access(&third.hash, t2, &access_for(&r)).await.unwrap(), Some(r.id));
    assert_eq!(marks(&store, &legacy.hash).await, Some((None, Some(t2))));
    assert_eq!(marks(&store, &b.hash).await, Some((None, Some(t2))));
}

/// A refresh joins the sign-up of the token it refreshes; only an unexpired, unsuperseded access
/// token refreshes.
async fn refreshes_stay_in_their_sign_up(store: Arc<dyn Store>) {
    let (org, _) = new_org(&store).await;
    let r = sample_runner(&org, RunnerProvider::Gcp, None);
    let exchange = token_for(&r);
    store.insert_runner(&r, &exchange).await.unwrap();
    let now = Timestamp::now();
    let a = access_for(&r);
    store.redeem_exchange_token_for_access(&exchange.hash, now, &a).await.unwrap();
    // A chain of refreshes, each stored for the runner whatever runner it names.
    let other = add_runner(&store, &org, RunnerProvider::Gcp).await;
    let mut current = a.hash.clone();
    for _ in 0..3 {
        let next = access_for(&other);
        assert_eq!(store.refresh_runner_access_token(&current, now, &next).await.unwrap(), Some(r.id));
        let info = store.resolve_runner_token(&next.hash).await.unwrap().unwrap();
        assert_eq!(
            (info.runner_id, info.kind, info.expires_at, info.superseded_at),
            (r.id, RunnerTokenKind::Access, next.expires_at, None)
        );
        current = next.hash;
    }
    // Not an exchange token, a logs token, an unknown or an expired token.
    let logs = NewRunnerToken { kind: RunnerTokenKind::Logs, ..token_for(&r) };
    store.insert_runner_token(&logs).await.unwrap();
    for hash in [exchange.hash.clone(), logs.hash.clone(), vec![9; 32]] {
        let refused = access_for(&r);
        assert_eq!(store.refresh_runner_access_token(&hash, now, &refused).await.unwrap(), None);
        assert_eq!(store.resolve_runner_token(&refused.hash).await.unwrap(), None, "nothing stored");
    }
    let expired = NewRunnerToken { expires_at: now, ..access_for(&r) };
    store.insert_runner_token(&expired).await.unwrap();
    assert_eq!(store.refresh_runner_access_token(&expired.hash, now, &access_for(&r)).await.unwrap(), None);
    // A refresh whose hash is taken fails and stores nothing.
    assert!(matches!(store.refresh_runner_access_token(&current, now, &logs).await, Err(StoreError::AlreadyExists)));

    // The whole chain goes with the next sign-up.
    let next_exchange = token_for(&r);
    store.insert_runner_token(&next_exchange).await.unwrap();
    let later = now.plus_seconds(1);
    store.redeem_exchange_token_for_access(&next_exchange.hash, later, &access_for(&r)).await.unwrap();
    assert_eq!(marks(&store, &current).await, Some((None, Some(later))));
    assert_eq!(marks(&store, &a.hash).await, Some((None, Some(later))));
}

/// Two processes redeeming two exchange tokens of one runner at once: one of them signs up.
async fn of_concurrent_redemptions_for_one_runner_one_wins(store: Arc<dyn Store>) {
    let (org, _) = new_org(&store).await;
    let r = sample_runner(&org, RunnerProvider::Gcp, None);
    let first = token_for(&r);
    store.insert_runner(&r, &first).await.unwrap();
    let mut exchanges = vec![first];
    for _ in 0..5 {
        let t = token_for(&r);
        store.insert_runner_token(&t).await.unwrap();
        exchanges.push(t);
    }
    let now = Timestamp::now();
    let attempts: Vec<_> = exchanges
        .iter()
        .map(|e| {
            let (store, hash, access) = (store.clone(), e.hash.clone(), access_for(&r));
            tokio::spawn(async move {
                (store.redeem_exchange_token_for_access(&hash, now, &access).await.unwrap(), access.hash)
            })
        })
        .collect();
    let (mut won, mut live) = (0, 0);
    for a in attempts {
        let (redeemed, access) = a.await.unwrap();
        let stored = marks(&store, &access).await;
        assert_eq!(stored.is_some(), redeemed.is_some());
        won += usize::from(redeemed.is_some());
        live += usize::from(stored == Some((None, None)));
    }
    assert_eq!((won, live), (1, 1), "one redemption, one sign-up");
}
