//! One handler per RPC, written once and reached by Connect, gRPC and gRPC-web alike.
//!
//! A handler does four things and nothing else: it extracts (state, the caller, the
//! [`Paging`](crate::paging::Paging) of a List call, the request), calls the use case,
//! converts, and replies through [`reply`], where errors go through
//! [`crate::error::to_connect`] and are counted. [`reply`] takes the request's [`check`]
//! against the rules its proto declares (`buf.validate`, [`crate::validation`]) and runs the
//! body only when it passed: no handler can skip it. The conversions, proto request to use-case
//! input and domain value to proto message, live in [`crate::convert`], one file per service;
//! a handler builds no input and no message field by field.

/// The RPCs that need no bearer token (their handlers take no `Authenticated`): the summary of
/// an invite, the ways to sign in and the SSO login URL. The OpenAPI document marks them so.
pub const PUBLIC_RPCS: [&str; 3] = [
    "/gitpod.v1.OrganizationService/GetOrganizationInviteSummary",
    "/gitpod.v1.AccountService/ListLoginProviders",
    "/gitpod.v1.AccountService/GetSSOLoginURL",
];

pub mod configuration;
pub mod events;
pub mod groups;
pub mod host_tokens;
pub mod identity;
pub mod invites;
pub mod llm;
pub mod organizations;
pub mod runner_side;
pub mod runners;
pub mod scm;
pub mod scm_questions;
pub mod service_accounts;
pub mod sso;
pub mod sso_login;
pub mod users;

use std::future::Future;

use connectrpc_axum::prelude::{ConnectError, ConnectResponse};
use runner_core::CoreError;

use crate::error::to_connect;

/// What every handler returns.
pub type Reply<T> = Result<ConnectResponse<T>, ConnectError>;

/// A request checked against the rules its proto declares; only [`check`] makes one.
pub struct Checked(Result<(), CoreError>);

/// Checks a request against the `buf.validate` rules of its message type.
pub fn check<M: prost::Message + prost::Name>(request: &M) -> Checked {
    Checked(crate::validation::check(request))
}

/// Runs a handler body, if its request passed its [`check`], and maps its error in the one
/// place errors are mapped.
pub async fn reply<T>(checked: Checked, body: impl Future<Output = Result<T, CoreError>>) -> Reply<T> {
    let result = match checked.0 {
        Ok(()) => body.await,
        Err(invalid) => Err(invalid),
    };
    match result {
        Ok(answer) => {
            crate::telemetry::record_code("ok");
            Ok(ConnectResponse::new(answer))
        }
        Err(e) => {
            if let CoreError::PermissionDenied { resource, reason } = &e {
                crate::telemetry::record_denial(resource, reason);
                runner_core::audit::note_denial(resource);
            }
            let e = to_connect(e);
            crate::telemetry::record_code(e.code().as_str());
            Err(e)
        }
    }
}
