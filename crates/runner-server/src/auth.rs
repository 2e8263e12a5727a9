//! Authentication: every API call carries `Authorization: Bearer <token>`. The extractors work
//! the same for Connect, gRPC and gRPC-web (connectrpc-axum hands them the request's headers on
//! every path). Health and reflection are not behind them.

use axum::extract::FromRequestParts;
use connectrpc_axum::prelude::ConnectError;
use http::request::Parts;
use runner_core::CoreError;
use runner_core::identity::Caller;

use crate::error::to_connect;
use crate::state::AppState;

/// The authenticated caller of a request.
pub struct Authenticated(pub Caller);

/// The authenticated caller and the bearer token it presented, for the one call that acts on
/// the token itself (RefreshRunnerAccessToken).
pub struct AuthenticatedBy(pub Caller, pub String);

impl FromRequestParts<AppState> for Authenticated {
    type Rejection = ConnectError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let AuthenticatedBy(caller, _) = AuthenticatedBy::from_request_parts(parts, state).await?;
        Ok(Authenticated(caller))
    }
}

impl FromRequestParts<AppState> for AuthenticatedBy {
    type Rejection = ConnectError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let header = parts.headers.get(http::header::AUTHORIZATION).and_then(|v| v.to_str().ok());
        let token = header
            .and_then(|h| h.strip_prefix("Bearer ").or_else(|| h.strip_prefix("bearer ")))
            .map(str::trim)
            .ok_or_else(|| {
                crate::telemetry::record_code("unauthenticated");
                crate::telemetry::record_denial("-", "missing bearer token");
                to_connect(CoreError::Unauthenticated("missing bearer token".to_owned()))
            })?;
        match state.identity.authenticate(token).await {
            Ok(caller) => {
                crate::telemetry::record_principal(&caller);
                runner_core::audit::set_actor(&caller);
                Ok(AuthenticatedBy(caller, token.to_owned()))
            }
            Err(e) => {
                crate::telemetry::record_code("unauthenticated");
                crate::telemetry::record_denial("-", &e.to_string());
                Err(to_connect(e))
            }
        }
    }
}
