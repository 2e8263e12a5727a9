//! The audit scope of every API call (`runner_core::audit`): the call's action (its RPC) for
//! the entries the store's writes insert in their transactions, and, when the call ends, the
//! entry of its authorization failure, if it had one.

use std::future::Future;
use std::sync::Arc;

use axum::extract::Request;
use axum::response::Response;
use runner_core::audit::AuditScope;
use runner_core::store::Store;

use crate::call::CallKind;

/// RPCs whose writes are not audited: the runner's status reports (heartbeats), frequent and
/// no change anyone made (docs/decisions.md "Audit log"). Their authorization failures are.
pub const UNAUDITED: &[&str] = &["/runnerside.v1.RunnerInteractionService/UpdateRunnerStatus"];

/// Runs a call (of kind `kind`), which `inner` answers, in its audit scope when it is an RPC of
/// the API. One step of [`crate::layers::call`].
pub async fn scope<F: Future<Output = Response>>(
    kind: &CallKind,
    store: &Arc<dyn Store>,
    req: Request,
    inner: impl FnOnce(Request) -> F,
) -> Response {
    let Some(rpc) = kind.rpc.filter(|r| r.is_api()) else {
        return inner(req).await;
    };
    let action = rpc.path.trim_start_matches('/');
    let scope =
        if UNAUDITED.contains(&rpc.path.as_str()) { AuditScope::unaudited(action) } else { AuditScope::new(action) };
    let response = runner_core::audit::scope(scope.clone(), inner(req)).await;
    if let Some(entry) = scope.take_denial() {
        // Its own insert: the call wrote nothing. A failure here is logged, never the caller's.
        if let Err(e) = store.insert_audit_entry(&entry).await {
            tracing::warn!(target: "runner_server::audit", error = %e, "could not store the audit log entry of a denial");
        }
    }
    response
}
