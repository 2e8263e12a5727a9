//! Events across replicas through PostgreSQL itself: each committed write a replica publishes
//! is sent with `NOTIFY` on one channel, and every replica `LISTEN`s on it and hands what the
//! others sent to its own watchers (`runner_core::events`).
//!
//! - Sending never makes a writer wait: events go through a bounded queue to one task that
//!   sends them in order with `pg_notify` on a connection of its own, what gathered while the
//!   previous round trip was under way in one statement, several events per notification
//!   (under 7,000 bytes each). PostgreSQL delivers the notifications of one session in the
//!   order they were sent. A queue that is full (the
//!   database is away for long) drops the event and says so in the log; the other replicas'
//!   listeners lost their connection then too, which ends their streams (below).
//! - A listener that loses its connection may have missed notifications: its replica's streams
//!   end at once with `unavailable` (re-watch and re-list), and new watches are refused until
//!   it listens again; it reconnects with a growing pause (at most 5 s).
//! - A notification carries the sending replica's id: a replica skips its own (its watchers got
//!   them in-process already).
//! - Both tasks end when the bus closes (shutdown).

use std::sync::Arc;
use std::time::Duration;

use runner_core::events::{Event, EventBus, EventRelay};
use serde::{Deserialize, Serialize};
use sqlx::postgres::{PgConnectOptions, PgListener, PgPool, PgPoolOptions};
use tokio::sync::mpsc;
use uuid::Uuid;

use crate::StoreError;

/// The channel every replica notifies and listens on, for a deployment in `schema` (replicas
/// of one deployment share the schema; deployments sharing a database keep apart).
pub fn channel(schema: &str) -> String {
    let mut name = format!("gitpod_events_{schema}");
    // PostgreSQL's identifiers are at most 63 bytes.
    while name.len() > 63 {
        name.pop();
    }
    name
}

/// Events waiting to be sent before new ones are dropped.
const QUEUE: usize = 65_536;

/// A notification's payload stays under this many bytes (PostgreSQL's limit is 8,000).
const PAYLOAD: usize = 7_000;

/// One notification: who sent it, and events in the order they were published.
#[derive(Serialize, Deserialize)]
struct Notice {
    replica: Uuid,
    /// Counts the replica's notifications: no two are the same (PostgreSQL delivers identical
    /// notifications of one transaction once).
    seq: u64,
    events: Vec<Event>,
}

/// The sending end, set on the bus as its relay.
struct PgRelay {
    queue: mpsc::Sender<Event>,
}

impl EventRelay for PgRelay {
    fn send(&self, event: &Event) {
        if self.queue.try_send(event.clone()).is_err() {
            tracing::error!("events: the queue to the other replicas is full; an event was not sent to them");
        }
    }
}

/// The events waiting (at least `first`), as notification payloads of at most [`PAYLOAD`]
/// bytes, in order.
fn payloads(replica: Uuid, seq: &mut u64, first: Event, rx: &mut mpsc::Receiver<Event>) -> Vec<String> {
    let mut out = Vec::new();
    *seq += 1;
    let mut notice = Notice { replica, seq: *seq, events: vec![first] };
    let mut size = serde_json::to_string(&notice).expect("an event serializes").len();
    while let Ok(event) = rx.try_recv() {
        let more = serde_json::to_string(&event).expect("an event serializes").len() + 1;
        if size + more > PAYLOAD {
            out.push(serde_json::to_string(&notice).expect("an event serializes"));
            notice.events.clear();
            *seq += 1;
            notice.seq = *seq;
            size = serde_json::to_string(&notice).expect("an event serializes").len();
        }
        notice.events.push(event);
        size += more;
    }
    out.push(serde_json::to_string(&notice).expect("an event serializes"));
    out
}

/// Relays `bus`'s events to and from the other replicas on the PostgreSQL database `options`
/// names: listens first, then sets the relay, so that nothing sent after this returns is
/// missed.
pub async fn relay(options: PgConnectOptions, bus: EventBus) -> Result<(), StoreError> {
    let map = |e: sqlx::Error| StoreError::Other(format!("events: {e}"));
    let pool = PgPoolOptions::new().max_connections(2).connect_with(options).await.map_err(map)?;
    let schema: String = sqlx::query_scalar("SELECT current_schema()").fetch_one(&pool).await.map_err(map)?;
    let channel = Arc::<str>::from(self::channel(&schema));
    let listener = listen(&pool, &channel).await.map_err(map)?;
    let replica = Uuid::now_v7();
    let (queue, rx) = mpsc::channel(QUEUE);
    tokio::spawn(send(pool.clone(), channel.clone(), replica, rx, bus.clone()));
    tokio::spawn(receive(pool, channel, listener, replica, bus.clone()));
    bus.set_relay(Arc::new(PgRelay { queue }));
    Ok(())
}

/// [`relay`] when `database_url` names a PostgreSQL database (several replicas may share it);
/// nothing for SQLite, whose one process delivers in-process.
pub async fn relay_for(database_url: &str, bus: EventBus) -> Result<(), StoreError> {
    use std::str::FromStr;
    if !(database_url.starts_with("postgres://") || database_url.starts_with("postgresql://")) {
        return Ok(());
    }
    let options =
        PgConnectOptions::from_str(database_url).map_err(|e| StoreError::Other(format!("bad PostgreSQL URL: {e}")))?;
    relay(options, bus).await
}

async fn listen(pool: &PgPool, channel: &str) -> Result<PgListener, sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen(channel).await?;
    Ok(listener)
}

/// Sends the queued events in order, what has gathered in one round trip, each until it went
/// or the bus closed.
async fn send(pool: PgPool, channel: Arc<str>, replica: Uuid, mut rx: mpsc::Receiver<Event>, bus: EventBus) {
    let mut seq = 0;
    loop {
        let first = tokio::select! {
            event = rx.recv() => match event { Some(e) => e, None => return },
            () = bus.closed() => return,
        };
        let payloads = payloads(replica, &mut seq, first, &mut rx);
        let mut pause = Duration::from_millis(50);
        loop {
            // In the array's order: one statement, one transaction, notifications in order.
            let sent =
                sqlx::query("SELECT pg_notify($1, p) FROM unnest($2::text[]) WITH ORDINALITY AS t(p, n) ORDER BY n")
                    .bind(&*channel)
                    .bind(&payloads)
                    .execute(&pool)
                    .await;
            match sent {
                Ok(_) => break,
                Err(e) => {
                    tracing::warn!(error = %e, "events: sending to the other replicas failed; retrying");
                    tokio::select! {
                        () = tokio::time::sleep(pause) => {}
                        () = bus.closed() => return,
                    }
                    pause = (pause * 2).min(Duration::from_secs(5));
                }
            }
        }
    }
}

/// Hands the other replicas' events to this one's watchers; on a lost connection, ends the
/// streams and listens again.
async fn receive(pool: PgPool, channel: Arc<str>, mut listener: PgListener, replica: Uuid, bus: EventBus) {
    loop {
        let received = tokio::select! {
            r = listener.try_recv() => r,
            () = bus.closed() => return,
        };
        match received {
            Ok(Some(notification)) => match serde_json::from_str::<Notice>(notification.payload()) {
                Ok(notice) if notice.replica == replica => {}
                Ok(notice) => notice.events.into_iter().for_each(|e| bus.publish_local(e)),
                Err(e) => tracing::warn!(error = %e, "events: a notification that is not an event"),
            },
            // The connection was lost (`Ok(None)`), or failed: what was sent meanwhile is gone.
            Ok(None) | Err(_) => {
                tracing::warn!(
                    "events: the connection listening to the other replicas was lost; ending the watch streams"
                );
                bus.interrupt();
                let mut pause = Duration::from_millis(100);
                listener = loop {
                    match listen(&pool, &channel).await {
                        Ok(l) => break l,
                        Err(e) => {
                            tracing::warn!(error = %e, "events: listening again failed; retrying");
                            tokio::select! {
                                () = tokio::time::sleep(pause) => {}
                                () = bus.closed() => return,
                            }
                            pause = (pause * 2).min(Duration::from_secs(5));
                        }
                    }
                };
                bus.resume();
                tracing::info!("events: listening to the other replicas again");
            }
        }
    }
}
