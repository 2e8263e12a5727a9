//! `ServerRepo`: what every replica shares, and the store's own health.

use std::sync::Arc;

use runner_core::store::{ServerRepo, Store};

use super::*;

pub(super) fn cases() -> Vec<Case> {
    vec![
        case!(the_first_key_fingerprint_stays: key_fingerprint),
        case!(the_store_answers_and_counts_its_connections: ping, pool_usage),
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
