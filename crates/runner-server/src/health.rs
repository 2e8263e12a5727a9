//! Health, in one place for every way it is asked: `grpc.health.v1` (over gRPC, gRPC-web and
//! Connect) and the HTTP endpoints load balancers use, `/healthz` (the process serves) and
//! `/readyz` (it can do real work: the database answers, and it is not shutting down).
//!
//! A monitor task pings the database every interval and sets the gRPC statuses of the server
//! (`""`) and of every service to SERVING or NOT_SERVING; `/readyz` reads the same flag.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use axum::extract::State;
use axum::response::IntoResponse;
use http::StatusCode;
use runner_core::store::Store;
use tokio::sync::Notify;
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;

/// How long one database ping may take before it counts as a failure.
const PING_TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Debug, Default)]
pub struct Health {
    database_ok: AtomicBool,
    draining: AtomicBool,
    changed: Arc<Notify>,
}

impl Health {
    /// Whether the server can do real work: its database answers, and it is not draining.
    pub fn ready(&self) -> bool {
        self.database_ok.load(Ordering::Acquire) && !self.draining.load(Ordering::Acquire)
    }

    /// Shutdown has begun: report NOT_SERVING at once, so balancers send new calls elsewhere
    /// while the calls in flight finish.
    pub fn begin_draining(&self) {
        self.draining.store(true, Ordering::Release);
        self.changed.notify_one();
    }
}

/// Starts the monitor. It ends when the last holder of `health` drops it.
pub fn spawn_monitor(store: Arc<dyn Store>, health: &Arc<Health>, reporter: HealthReporter, interval: Duration) {
    let weak: Weak<Health> = Arc::downgrade(health);
    // Held apart from `health`, so that waiting does not keep the server's state alive.
    let changed = health.changed.clone();
    tokio::spawn(async move {
        // Registered at once, as not serving until the first ping says otherwise.
        for name in service_names() {
            reporter.set_service_status(name, ServingStatus::NotServing).await;
        }
        let (mut reported, mut first) = (ServingStatus::NotServing, true);
        loop {
            let Some(health) = weak.upgrade() else { return };
            let started = std::time::Instant::now();
            let ok = matches!(tokio::time::timeout(PING_TIMEOUT, store.ping()).await, Ok(Ok(())));
            metrics::histogram!("db_ping_duration_seconds").record(started.elapsed().as_secs_f64());
            if health.database_ok.swap(ok, Ordering::AcqRel) != ok && !first {
                if ok {
                    tracing::info!("the database answers again: serving");
                } else {
                    tracing::warn!("the database does not answer: not serving until it does");
                }
            }
            first = false;
            let status = if health.ready() { ServingStatus::Serving } else { ServingStatus::NotServing };
            if reported != status {
                for name in service_names() {
                    reporter.set_service_status(name, status).await;
                }
                reported = status;
            }
            drop(health);
            tokio::select! {
                () = tokio::time::sleep(interval) => {}
                () = changed.notified() => {}
            }
        }
    });
}

/// The server (`""`) and every service it serves.
fn service_names() -> impl Iterator<Item = &'static str> {
    std::iter::once("").chain(crate::mount::SERVED_SERVICES)
}

/// `GET /healthz`: the process is up and serving HTTP.
pub async fn healthz() -> impl IntoResponse {
    (StatusCode::OK, "ok\n")
}

/// `GET /readyz`: 200 when ready for calls, 503 while the database does not answer or the
/// server drains.
pub async fn readyz(State(health): State<Arc<Health>>) -> impl IntoResponse {
    if health.ready() { (StatusCode::OK, "ready\n") } else { (StatusCode::SERVICE_UNAVAILABLE, "not ready\n") }
}
