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

/// The enum values in a proto3 JSON request (of type `input`) that their enum does not define,
/// by JSON path: what the generated JSON decoder refuses before any rule can run. Numbers and
/// names both; `null` and values of other types are left to the decoder's own error.
pub fn undefined_enum_values(input: &str, body: &[u8]) -> Vec<FieldViolation> {
    let (Some(message), Ok(json)) = (pool().get_message_by_name(input), serde_json::from_slice(body)) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    undefined_in(&message, &json, "", &mut out);
    out
}

fn pool() -> &'static prost_reflect::DescriptorPool {
    static POOL: OnceLock<prost_reflect::DescriptorPool> = OnceLock::new();
    POOL.get_or_init(|| {
        prost_reflect::DescriptorPool::decode(gitpod_api::FILE_DESCRIPTOR_SET).expect("the served descriptors decode")
    })
}

fn undefined_in(
    message: &prost_reflect::MessageDescriptor,
    json: &serde_json::Value,
    at: &str,
    out: &mut Vec<FieldViolation>,
) {
    use prost_reflect::Kind;
    use serde_json::Value;
    let Value::Object(object) = json else { return };
    for (key, value) in object {
        let Some(field) = message.get_field_by_json_name(key).or_else(|| message.get_field_by_name(key)) else {
            continue;
        };
        let path = if at.is_empty() { field.json_name().to_owned() } else { format!("{at}.{}", field.json_name()) };
        // The values to look at, with their paths: list items, map values, or the value itself.
        let values: Vec<(String, &Value)> = match value {
            Value::Array(items) if field.is_list() => {
                items.iter().enumerate().map(|(i, v)| (format!("{path}[{i}]"), v)).collect()
            }
            Value::Object(entries) if field.is_map() => {
                entries.iter().map(|(k, v)| (format!("{path}[{k:?}]"), v)).collect()
            }
            v => vec![(path, v)],
        };
        let kind = match field.kind() {
            Kind::Message(entry) if field.is_map() => entry.map_entry_value_field().kind(),
            kind => kind,
        };
        for (path, value) in values {
            match &kind {
                Kind::Enum(e) => {
                    let defined = match value {
                        Value::Number(n) => {
                            n.as_i64().and_then(|n| i32::try_from(n).ok()).is_none_or(|n| e.get_value(n).is_some())
                        }
                        Value::String(name) => e.get_value_by_name(name).is_some(),
                        _ => true,
                    };
                    if !defined {
                        out.push(
                            FieldViolation::new(path, "value must be one of the defined enum values")
                                .with_reason("ENUM_DEFINED_ONLY"),
                        );
                    }
                }
                Kind::Message(m) => undefined_in(m, value, &path, out),
                _ => {}
            }
        }
    }
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

    #[test]
    fn undefined_enum_values_in_json_are_found_by_path() {
        let body =
            br#"{"filter":{"kinds":["RUNNER_KIND_REMOTE",99],"providers":["NOPE"]},"pagination":{"pageSize":1}}"#;
        let found = undefined_enum_values("gitpod.v1.ListRunnersRequest", body);
        let paths: Vec<&str> = found.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(paths, ["filter.kinds[1]", "filter.providers[0]"]);
        assert!(undefined_enum_values("gitpod.v1.ListRunnersRequest", br#"{"filter":{"kinds":[1]}}"#).is_empty());
    }
}
