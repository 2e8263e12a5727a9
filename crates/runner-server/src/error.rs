//! The one mapping from [`CoreError`] to the wire error. Every protocol gets it from here:
//! Connect renders the [`ConnectError`] as a JSON error body with the HTTP status the Connect
//! spec assigns to the code; gRPC and gRPC-web turn it into `grpc-status`, `grpc-message` and
//! `grpc-status-details-bin`.
//!
//! Policy (after IOx's `generated_types/src/google.rs`): the code and the message are the
//! contract; `google.rpc.BadRequest` details name the bad fields for clients that read them;
//! internal errors are logged with their cause and reach the client as "internal error" only.

use connectrpc_axum::prelude::{Code, ConnectError};
use gitpod_api::gitpod::v1::ParseContextUrlPreconditionFailureDetails;
use prost::Message;
use runner_core::CoreError;
use tonic_types::pb::{BadRequest, bad_request::FieldViolation};

const BAD_REQUEST_TYPE: &str = "google.rpc.BadRequest";
const PRECONDITION_DETAILS_TYPE: &str = "gitpod.v1.ParseContextURLPreconditionFailureDetails";
/// The Stainless SDKs retry 409 and 5xx twice unless told not to; a duplicate will not change
/// on retry.
const NO_RETRY: (&str, &str) = ("x-should-retry", "false");

/// Converts a use-case error to the wire error. Exhaustive on purpose: a new variant must be
/// mapped here before anything compiles.
pub fn to_connect(e: CoreError) -> ConnectError {
    match e {
        CoreError::InvalidArgument(violations) => {
            let message = CoreError::InvalidArgument(violations.clone()).to_string();
            let detail = BadRequest {
                field_violations: violations
                    .into_iter()
                    .map(|v| FieldViolation {
                        field: v.field,
                        description: v.description,
                        reason: v.reason,
                        ..Default::default()
                    })
                    .collect(),
            };
            ConnectError::new(Code::InvalidArgument, message).add_detail(BAD_REQUEST_TYPE, detail.encode_to_vec())
        }
        e @ CoreError::NotFound { .. } => ConnectError::new(Code::NotFound, e.to_string()),
        e @ CoreError::AlreadyExists { .. } => {
            ConnectError::new(Code::AlreadyExists, e.to_string()).with_meta(NO_RETRY.0, NO_RETRY.1)
        }
        CoreError::Missing(m) => ConnectError::new(Code::NotFound, m),
        CoreError::FailedPrecondition(m) => ConnectError::new(Code::FailedPrecondition, m),
        CoreError::AuthenticationRequired(a) => {
            let detail = ParseContextUrlPreconditionFailureDetails {
                authentication_required_url: a.authentication_required_url,
                scm_id: a.scm_id,
                runner_ids: a.runner_ids.iter().map(ToString::to_string).collect(),
            };
            ConnectError::new(Code::FailedPrecondition, a.message)
                .add_detail(PRECONDITION_DETAILS_TYPE, detail.encode_to_vec())
        }
        CoreError::ResourceExhausted(m) => ConnectError::new(Code::ResourceExhausted, m),
        CoreError::PermissionDenied { reason, .. } => ConnectError::new(Code::PermissionDenied, reason),
        CoreError::Unauthenticated(m) => ConnectError::new(Code::Unauthenticated, m),
        CoreError::Unavailable(m) => {
            tracing::warn!(error = %m, "unavailable");
            ConnectError::new(Code::Unavailable, "service temporarily unavailable; retry")
        }
        CoreError::DeadlineExceeded(m) => ConnectError::new(Code::DeadlineExceeded, m),
        CoreError::Internal(m) => {
            tracing::error!(error = %m, "internal error");
            ConnectError::new(Code::Internal, "internal error")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use runner_core::FieldViolation as CoreViolation;

    #[test]
    fn invalid_argument_carries_bad_request_detail() {
        let e = to_connect(CoreError::InvalidArgument(vec![CoreViolation::new("runnerId", "must be a UUID")]));
        assert_eq!(e.code(), Code::InvalidArgument);
        assert_eq!(e.message(), Some("invalid runnerId: must be a UUID"));
        let detail = &e.details()[0];
        assert_eq!(detail.type_url(), BAD_REQUEST_TYPE);
        let br = BadRequest::decode(detail.value()).unwrap();
        assert_eq!(br.field_violations[0].field, "runnerId");
    }

    #[test]
    fn internal_errors_say_nothing() {
        let e = to_connect(CoreError::Internal("secret path /x".into()));
        assert_eq!(e.message(), Some("internal error"));
    }

    #[test]
    /// connectrpc-axum renders Connect errors; this pins its code-to-HTTP table to the current
    /// Connect spec (connect-go `connectCodeToHTTP`), as literal numbers.
    fn http_statuses_follow_the_connect_spec() {
        let table = [
            (Code::Canceled, 499),
            (Code::Unknown, 500),
            (Code::InvalidArgument, 400),
            (Code::DeadlineExceeded, 504),
            (Code::NotFound, 404),
            (Code::AlreadyExists, 409),
            (Code::PermissionDenied, 403),
            (Code::ResourceExhausted, 429),
            (Code::FailedPrecondition, 400),
            (Code::Aborted, 409),
            (Code::OutOfRange, 400),
            (Code::Unimplemented, 501),
            (Code::Internal, 500),
            (Code::Unavailable, 503),
            (Code::DataLoss, 500),
            (Code::Unauthenticated, 401),
        ];
        for (code, status) in table {
            let response = axum::response::IntoResponse::into_response(ConnectError::new(code, "x"));
            assert_eq!(response.status().as_u16(), status, "{code:?}");
        }
    }
}
