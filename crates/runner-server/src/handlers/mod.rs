//! One handler per RPC, written once and reached by Connect, gRPC and gRPC-web alike. A
//! handler converts the request, calls the use case and converts the answer; errors go through
//! [`crate::error::to_connect`].

pub mod configuration;
pub mod host_tokens;
pub mod runners;
pub mod scm;
pub mod scm_questions;

use std::future::{Future, Ready, ready};

use axum::extract::State;
use connectrpc_axum::prelude::{ConnectError, ConnectRequest, ConnectResponse};
use runner_core::CoreError;

use crate::error::to_connect;
use crate::state::AppState;

/// What every handler returns.
pub type Reply<T> = Result<ConnectResponse<T>, ConnectError>;

/// Runs a handler body and maps its error in the one place errors are mapped.
pub async fn reply<T>(body: impl Future<Output = Result<T, CoreError>>) -> Reply<T> {
    body.await.map(ConnectResponse::new).map_err(to_connect)
}

/// A handler for an RPC that a later milestone implements: `unimplemented`, naming the RPC.
/// (It takes the state only because connectrpc-axum's tonic bridge wants an extractor when the
/// router has state.)
pub fn not_yet<Req, Resp>(
    rpc: &'static str,
) -> impl Fn(State<AppState>, ConnectRequest<Req>) -> Ready<Reply<Resp>> + Clone + Send + Sync + 'static
where
    Req: Send + 'static,
    Resp: Send + 'static,
{
    move |_state, _request| ready(Err(to_connect(CoreError::Unimplemented(rpc))))
}
