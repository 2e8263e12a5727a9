//! The input rules the protos declare (`buf.validate` field, oneof and message options, as the
//! real API's descriptors carry them), checked on every request before its use case runs, for
//! every protocol alike (see [`crate::handlers::check`]). The rules are read once from
//! [`gitpod_api::FILE_DESCRIPTOR_SET`] by `proto-validate`; a proto that gains rules is checked
//! with no code here. Stricter and semantic checks (cross-field rules, ids that must exist, the
//! configuration schema) stay in `runner-core`'s use cases.

use std::sync::OnceLock;

use proto_validate::Validator;
use runner_core::{CoreError, FieldViolation};

/// The rules of every message the server serves. Read on first use; [`crate::mount::app`] reads
/// them at start-up, so a rule `proto-validate` cannot check stops the server before it serves.
pub fn rules() -> &'static Validator {
    static RULES: OnceLock<Validator> = OnceLock::new();
    RULES.get_or_init(|| {
        Validator::new(gitpod_api::FILE_DESCRIPTOR_SET)
            .unwrap_or_else(|e| panic!("a buf.validate rule of the protos: {e}"))
    })
}

/// `invalid_argument` naming every field that breaks a rule (JSON path, protovalidate's wording,
/// the rule as the BadRequest reason), or `Ok`.
pub fn check<M: prost::Message + prost::Name>(request: &M) -> Result<(), CoreError> {
    rules().validate(request).map_err(|violations| {
        CoreError::InvalidArgument(
            violations.into_iter().map(|v| FieldViolation::new(&v.field, &v.message).with_reason(v.reason())).collect(),
        )
    })
}

#[cfg(test)]
mod tests {
    use gitpod_api::gitpod::v1::{GetRunnerRequest, ListRunnersRequest, PaginationRequest};

    use super::*;

    #[test]
    fn every_rule_of_the_protos_is_understood() {
        assert!(rules().rule_count() >= 88, "{}", rules().rule_count());
    }

    #[test]
    fn violations_become_invalid_argument_with_json_paths() {
        let Err(CoreError::InvalidArgument(v)) = check(&GetRunnerRequest { runner_id: "nope".into() }) else {
            panic!("a malformed id passes")
        };
        assert_eq!(v, [FieldViolation::new("runnerId", "value must be a valid UUID").with_reason("STRING_UUID")]);
        let page = ListRunnersRequest {
            pagination: Some(PaginationRequest { page_size: -1, token: String::new() }),
            filter: None,
        };
        let Err(CoreError::InvalidArgument(v)) = check(&page) else { panic!("a negative page size passes") };
        assert_eq!(v[0].field, "pagination.pageSize");
        assert!(check(&ListRunnersRequest::default()).is_ok());
    }
}
