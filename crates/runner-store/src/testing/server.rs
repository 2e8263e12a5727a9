//! `ServerRepo`: what every replica shares, and the store's own health.

use std::sync::Arc;
use std::time::{Duration, Instant};

use runner_core::store::{ServerRepo, Store};

use super::*;

pub(super) fn cases() -> Vec<Case> {
    vec![
        case!(the_first_key_fingerprint_stays: key_fingerprint),
        case!(the_store_answers_and_counts_its_connections: ping, pool_usage),
        case!(a_write_turn_keeps_other_takers_of_its_row_waiting_until_dropped: write_turn),
    ]
}

async fn the_first_key_fingerprint_stays(store: Arc<dyn Store>) {
    assert_eq!(store.key_fingerprint("first").await.unwrap(), "first");
    assert_eq!(store.key_fingerprint("second").await.unwrap(), "first");
    assert_eq!(store.key_fingerprint("first").await.unwrap(), "first");
}

async fn the_store_answers_and_counts_its_connections(store: Arc<dyn Store>) {
    store.ping().await.unwrap();
    let (open, idle) = store.pool_usage();
    assert!(open >= 1 && idle <= open, "{open} {idle}");
    // A `dyn Store` upcasts to each of its traits.
    let server: Arc<dyn ServerRepo> = store;
    server.ping().await.unwrap();
}

async fn a_write_turn_keeps_other_takers_of_its_row_waiting_until_dropped(store: Arc<dyn Store>) {
    let row = Uuid::now_v7();
    let long = Duration::from_secs(10);
    let started = Instant::now();
    let first = store.write_turn(row, long).await.unwrap().expect("a free row's turn is given");
    assert!(started.elapsed() < Duration::from_secs(2), "at once: {:?}", started.elapsed());
    if !first.excludes_other_processes() {
        // A store that one process writes: nobody to wait for, so the next taker gets its
        // turn at once too (that process's writers take turns in the use cases).
        let second = store.write_turn(row, long).await.unwrap().expect("at once");
        assert!(!second.excludes_other_processes());
        return;
    }
    // Held: another taker of the row waits, and gives up when its wait passes.
    let started = Instant::now();
    assert!(store.write_turn(row, Duration::from_millis(300)).await.unwrap().is_none(), "the row's turn is held");
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(250) && waited < Duration::from_secs(5), "{waited:?}");
    // Other rows are free meanwhile.
    let other = store.write_turn(Uuid::now_v7(), long).await.unwrap().expect("another row's turn is free");
    assert!(other.excludes_other_processes());
    drop(other);
    // A taker that waits gets the turn once the holder drops it, and not before.
    let started = Instant::now();
    let release = async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        drop(first);
    };
    let (next, ()) = tokio::join!(store.write_turn(row, long), release);
    let waited = started.elapsed();
    assert!(next.unwrap().is_some_and(|t| t.excludes_other_processes()), "given after the holder's drop");
    assert!(waited >= Duration::from_millis(250) && waited < Duration::from_secs(5), "{waited:?}");
}
