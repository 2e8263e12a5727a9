//! The audit scope of every API call (`runner_core::audit`): the call's action (its RPC) for
//! the entries the store's writes insert in their transactions, and, when the call ends, the
//! entry of its authorization failure, if it had one.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use runner_core::audit::AuditScope;
use runner_core::store::Store;

use crate::call::CallKind;

/// RPCs whose writes are not audited: the runner's status reports (heartbeats), frequent and
/// no change anyone made (docs/decisions.md "Audit log"). Their authorization failures are.
pub const UNAUDITED: &[&str] = &["/runnerside.v1.RunnerInteractionService/UpdateRunnerStatus"];

/// The middleware: runs an RPC of the API in its audit scope.
pub async fn scope(State(store): State<Arc<dyn Store>>, req: Request, next: Next) -> Response {
    let Some(rpc) = CallKind::get(&req).rpc.filter(|r| r.is_api()) else {
        return next.run(req).await;
    };
    let action = rpc.path.trim_start_matches('/');
    let scope =
        if UNAUDITED.contains(&rpc.path.as_str()) { AuditScope::unaudited(action) } else { AuditScope::new(action) };
    let response = runner_core::audit::scope(scope.clone(), next.run(req)).await;
    if let Some(entry) = scope.take_denial() {
        // Its own insert: the call wrote nothing. A failure here is logged, never the caller's.
        if let Err(e) = store.insert_audit_entry(&entry).await {
            tracing::warn!(target: "runner_server::audit", error = %e, "could not store the audit log entry of a denial");
        }
    }
    response
}
