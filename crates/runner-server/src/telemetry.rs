//! One log line and one set of metrics per call, whatever the protocol.
//!
//! [`observe`] (a step of the one middleware, [`crate::layers::call`]) gives every request an id (the caller's `x-request-id` when it
//! sends a sane one, else a new UUID), echoes it in the response, and when the call ends logs
//! `request_id`, `principal`, `rpc`, `protocol`, `code`, `duration_ms` and the W3C trace id of
//! an incoming `traceparent`, and counts the call in Prometheus metrics (served at `/metrics`).
//! The principal and the code come from the handler itself ([`record_principal`],
//! [`record_code`]), through a task-local set for the call; calls that never reach a handler
//! (unknown routes, rejected frames) get their code from the response.

use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use std::future::Future;

use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, header};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use runner_core::identity::Caller;
use runner_core::model::{ApiEnum, RunnerPhase};
use runner_core::store::Store;

use crate::call::CallKind;
use crate::config::LogFormat;

pub const REQUEST_ID: &str = "x-request-id";
/// How often recorded histogram samples are folded into their buckets.
const UPKEEP_INTERVAL: std::time::Duration = std::time::Duration::from_secs(5);

/// What the handler of a call tells the middleware.
#[derive(Debug, Default)]
struct CallInfo {
    principal: Option<String>,
    code: Option<&'static str>,
    /// An authorization failure: what was refused, and why.
    denied: Option<(String, String)>,
}

tokio::task_local! {
    static CALL: Arc<Mutex<CallInfo>>;
}

/// The authenticated caller of the current call, for its log line.
pub fn record_principal(caller: &Caller) {
    let principal = format!("{}:{}", caller.subject.principal.as_str(), caller.subject.id);
    let _ = CALL.try_with(|c| c.lock().unwrap().principal = Some(principal));
}

/// The code the current call ends with (`ok` or a Connect code name).
pub fn record_code(code: &'static str) {
    let _ = CALL.try_with(|c| c.lock().unwrap().code = Some(code));
}

/// An authorization failure of the current call (refused credentials, or a role too weak for
/// `resource`), logged as an audit event when the call ends. Never given a secret.
pub fn record_denial(resource: &str, reason: &str) {
    let _ = CALL.try_with(|c| c.lock().unwrap().denied = Some((resource.to_owned(), reason.to_owned())));
}

/// Log lines waiting for the writer thread before new ones are dropped (and counted in
/// `log_lines_dropped_total`) rather than making calls wait for stderr.
const LOG_BUFFER_LINES: usize = 64 * 1024;

/// The log writer: its thread's guard (dropped to flush) and its count of dropped lines.
static LOGS: Mutex<Option<tracing_appender::non_blocking::WorkerGuard>> = Mutex::new(None);
static DROPPED_LOG_LINES: OnceLock<tracing_appender::non_blocking::ErrorCounter> = OnceLock::new();

/// Installs the process's logger: lines to stderr in `format`, filtered by `RUST_LOG` (default
/// `info`), written by a thread of their own through a bounded buffer, so that a call never
/// waits on a write system call for its log line. [`flush_logs`] before the process ends.
pub fn init_logs(format: LogFormat) {
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .lossy(true)
        .buffered_lines_limit(LOG_BUFFER_LINES)
        .thread_name("logs")
        .finish(std::io::stderr());
    let _ = DROPPED_LOG_LINES.set(writer.error_counter());
    *LOGS.lock().unwrap() = Some(guard);
    let logs = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .with_writer(writer)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    match format {
        LogFormat::Json => logs.json().flatten_event(true).init(),
        LogFormat::Pretty => logs.init(),
    }
}

/// Writes out every buffered log line (waiting at most a second); later lines are lost. For
/// the end of the process, including `std::process::exit`.
pub fn flush_logs() {
    drop(LOGS.lock().unwrap().take());
}

/// The process-wide Prometheus recorder (installed once; tests start many servers).
pub fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let buckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];
            let builder = PrometheusBuilder::new().set_buckets(&buckets).expect("buckets are not empty");
            let recorder = builder.build_recorder();
            let handle = recorder.handle();
            // Another recorder may be installed already (an embedding application's); then
            // this one still renders what is recorded through it, which is nothing.
            let _ = metrics::set_global_recorder(recorder);
            describe();
            metrics::gauge!("rpc_requests_in_flight").set(0.0);
            // Histogram samples wait in the recorder until they are folded into the buckets,
            // which rendering `/metrics` or an upkeep does; without a scraper they would pile
            // up (about 75 bytes a call: a soak's RSS grew 2.8x in 10 minutes).
            let upkeep = handle.clone();
            std::thread::Builder::new()
                .name("metrics-upkeep".to_owned())
                .spawn(move || {
                    loop {
                        std::thread::sleep(UPKEEP_INTERVAL);
                        upkeep.run_upkeep();
                    }
                })
                .expect("a thread can be started");
            handle
        })
        .clone()
}

fn describe() {
    metrics::describe_counter!("rpc_requests_total", "Calls by RPC, protocol and code.");
    metrics::describe_histogram!("rpc_request_duration_seconds", "Call latency by RPC, protocol and code.");
    metrics::describe_gauge!("rpc_requests_in_flight", "Calls being served.");
    metrics::describe_counter!("runner_token_exchanges_total", "ExchangeToken calls by result (ok, refused).");
    metrics::describe_gauge!("runners", "Runners by phase, over every organization (as stored, at scrape time).");
    metrics::describe_gauge!("db_pool_connections", "Database pool connections: open, and idle among them.");
    metrics::describe_histogram!("db_ping_duration_seconds", "Round trips of the health monitor's database ping.");
    metrics::describe_histogram!("db_query_duration_seconds", "Storage calls by operation.");
    metrics::describe_counter!("log_lines_dropped_total", "Log lines dropped because the log buffer was full.");
}

/// `GET /metrics`, in the Prometheus text format. Runners per phase and the database pool are
/// read at scrape time (one `GROUP BY` on the runners), so every replica reports the same
/// runner counts and no background job is needed.
pub async fn metrics_endpoint(State((handle, store)): State<(PrometheusHandle, Arc<dyn Store>)>) -> impl IntoResponse {
    let (open, idle) = store.pool_usage();
    metrics::gauge!("db_pool_connections", "state" => "open").set(f64::from(open));
    metrics::gauge!("db_pool_connections", "state" => "idle").set(f64::from(idle));
    metrics::counter!("log_lines_dropped_total")
        .absolute(DROPPED_LOG_LINES.get().map_or(0, |dropped| dropped.dropped_lines()) as u64);
    if let Ok(Ok(counts)) =
        tokio::time::timeout(std::time::Duration::from_secs(2), store.count_runners_by_phase()).await
    {
        for phase in RunnerPhase::VALUES {
            let n = counts.iter().find(|(p, _)| p == phase).map_or(0, |(_, n)| *n);
            metrics::gauge!("runners", "phase" => phase.as_str()).set(n as f64);
        }
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], handle.render())
}

/// A caller's request id is kept if it is short, visible ASCII.
fn request_id(req: &Request) -> HeaderValue {
    req.headers()
        .get(REQUEST_ID)
        .filter(|v| !v.is_empty() && v.len() <= 128 && v.as_bytes().iter().all(|b| b.is_ascii_graphic()))
        .cloned()
        .unwrap_or_else(|| HeaderValue::from_str(&uuid::Uuid::now_v7().to_string()).expect("a UUID is a header value"))
}

/// The trace id of a W3C `traceparent` (`00-<32 hex>-<16 hex>-<2 hex>`).
fn trace_id(req: &Request) -> Option<String> {
    let value = req.headers().get("traceparent")?.to_str().ok()?;
    let mut parts = value.split('-');
    let (_, trace, _, _) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    (trace.len() == 32 && trace.bytes().all(|b| b.is_ascii_hexdigit())).then(|| trace.to_owned())
}

/// The code of a call that no handler reported: gRPC's status header, else the HTTP status.
fn code_of(response: &Response) -> &'static str {
    if let Some(status) = response.headers().get("grpc-status").and_then(|v| v.to_str().ok()) {
        let code = status.parse().map(tonic::Code::from_i32).unwrap_or(tonic::Code::Internal);
        return connectrpc_axum::message::error::code_from_tonic(code).as_str();
    }
    match response.status().as_u16() {
        200 => "ok",
        400 => "invalid_argument",
        401 => "unauthenticated",
        403 => "permission_denied",
        404 | 405 | 415 | 501 => "unimplemented",
        499 => "canceled",
        408 | 504 => "deadline_exceeded",
        409 => "already_exists",
        413 | 429 => "resource_exhausted",
        503 => "unavailable",
        _ => "internal",
    }
}

/// Observes one call (of kind `kind`), which `inner` answers; see the module documentation.
/// One step of [`crate::layers::call`].
pub async fn observe<F: Future<Output = Response>>(
    kind: &CallKind,
    mut req: Request,
    inner: impl FnOnce(Request) -> F,
) -> Response {
    let started = Instant::now();
    let (rpc, path, protocol) = (kind.rpc_path, kind.rpc_label(), kind.protocol.label());
    let id = request_id(&req);
    req.headers_mut().insert(REQUEST_ID, id.clone());
    let trace = trace_id(&req);
    let info = Arc::new(Mutex::new(CallInfo::default()));
    if rpc {
        metrics::gauge!("rpc_requests_in_flight").increment(1.0);
    }
    let mut response = CALL.scope(info.clone(), inner(req)).await;
    response.headers_mut().insert(REQUEST_ID, id.clone());
    if !rpc {
        return response;
    }
    metrics::gauge!("rpc_requests_in_flight").decrement(1.0);
    let elapsed = started.elapsed();
    let info = info.lock().unwrap();
    let code = info.code.unwrap_or_else(|| code_of(&response));
    let labels = [("rpc", path), ("protocol", protocol), ("code", code)];
    metrics::counter!("rpc_requests_total", &labels).increment(1);
    metrics::histogram!("rpc_request_duration_seconds", &labels).record(elapsed.as_secs_f64());
    tracing::info!(
        target: "runner_server::access",
        request_id = id.to_str().unwrap_or_default(),
        principal = info.principal.as_deref().unwrap_or("-"),
        rpc = %path,
        protocol,
        code,
        duration_ms = (elapsed.as_secs_f64() * 1e6).round() / 1e3,
        trace_id = trace.as_deref().unwrap_or("-"),
        "call"
    );
    if let Some((resource, reason)) = &info.denied {
        tracing::warn!(
            target: "runner_server::audit",
            event = "authorization_denied",
            request_id = id.to_str().unwrap_or_default(),
            principal = info.principal.as_deref().unwrap_or("-"),
            rpc = %path,
            resource = %resource,
            code,
            reason = %reason,
            "authorization denied"
        );
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_and_trace_ids() {
        let req =
            |name: &str, value: &str| Request::builder().header(name, value).body(axum::body::Body::empty()).unwrap();
        assert_eq!(request_id(&req(REQUEST_ID, "abc-123")), "abc-123");
        assert_ne!(request_id(&req(REQUEST_ID, "has space")), "has space");
        assert_eq!(request_id(&req(REQUEST_ID, &"x".repeat(200))).len(), 36);
        let t = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        assert_eq!(trace_id(&req("traceparent", t)).as_deref(), Some("4bf92f3577b34da6a3ce929d0e0e4736"));
        assert_eq!(trace_id(&req("traceparent", "junk")), None);
    }
}
