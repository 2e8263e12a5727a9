//! Checks against a schema: an environment class's configuration, and a schema a runner reports.

use std::collections::HashSet;

use super::pattern::Pattern;
use super::types::*;
use crate::error::FieldViolation;
use crate::model::FieldValue;
use crate::validate;

/// Longest configuration value (in characters) that validation accepts.
pub const MAX_VALUE_CHARS: usize = 4096;

/// Checks an environment class's configuration against `schema.environment_classes`.
///
/// Returns `(key, error)` pairs: first the problems of the entries in input order (empty key,
/// key set twice, unknown key, invalid value), then required fields that are missing, in schema
/// order. An empty result means the configuration is valid. See `docs/configuration-schema.md`.
pub fn validate_environment_class(
    schema: &RunnerConfigurationSchema,
    configuration: &[FieldValue],
) -> Vec<(String, String)> {
    let mut errors = Vec::new();
    let mut seen: HashSet<&str> = HashSet::new();
    for entry in configuration {
        let key = entry.key.as_str();
        if key.is_empty() {
            errors.push((String::new(), "key must not be empty".to_owned()));
            continue;
        }
        if !seen.insert(key) {
            errors.push((key.to_owned(), "is set more than once".to_owned()));
            continue;
        }
        let Some(field) = schema.environment_class_field(key) else {
            errors.push((key.to_owned(), unknown_key(schema)));
            continue;
        };
        if let Err(e) = check_value(field, &entry.value) {
            errors.push((key.to_owned(), e));
        }
    }
    for field in &schema.environment_classes {
        if field.required
            && !matches!(field.kind, FieldKind::Display { .. })
            && !seen.contains(field.id.as_str())
            && field.kind.default_value().is_none()
        {
            errors.push((field.id.clone(), "is required".to_owned()));
        }
    }
    errors
}

fn unknown_key(schema: &RunnerConfigurationSchema) -> String {
    const SHOWN: usize = 20;
    let ids: Vec<&str> = schema.environment_classes.iter().map(|f| f.id.as_str()).collect();
    if ids.is_empty() {
        return "unknown key: the runner's schema defines no environment class fields".to_owned();
    }
    let mut known = ids.iter().take(SHOWN).copied().collect::<Vec<_>>().join(", ");
    if ids.len() > SHOWN {
        known.push_str(", …");
    }
    format!("unknown key; the runner accepts: {known}")
}

/// Checks one value against its field.
fn check_value(field: &SchemaField, value: &str) -> Result<(), String> {
    if matches!(field.kind, FieldKind::Display { .. }) {
        return Ok(()); // information only: anything goes
    }
    let chars = value.chars().count();
    if chars > MAX_VALUE_CHARS {
        return Err(format!("must be at most {MAX_VALUE_CHARS} characters long, got {chars}"));
    }
    if value.is_empty() {
        // An empty value leaves the field unset.
        return if field.required && field.kind.default_value().is_none() {
            Err("is required".to_owned())
        } else {
            Ok(())
        };
    }
    match &field.kind {
        FieldKind::Display { .. } => Ok(()),
        FieldKind::String { pattern, .. } => {
            if pattern.is_empty() {
                return Ok(());
            }
            match Pattern::new(pattern) {
                Ok(p) if !p.is_match(value) => Err(format!("must match the pattern {pattern}")),
                // An unsupported pattern (see `Pattern`) is not checked here (the runner checks it).
                _ => Ok(()),
            }
        }
        FieldKind::Bool { .. } => match value {
            "true" | "false" => Ok(()),
            _ => Err(format!("must be \"true\" or \"false\", got {value:?}")),
        },
        FieldKind::Int { .. } => {
            let n: i32 = value.parse().map_err(|_| format!("must be a whole number, got {value:?}"))?;
            match field.kind.int_range() {
                Some((min, max)) if n < min || n > max => Err(format!("must be between {min} and {max}, got {n}")),
                _ => Ok(()),
            }
        }
        FieldKind::Enum { possible_values, .. } => {
            if possible_values.iter().any(|v| v.title == value) {
                Ok(())
            } else if possible_values.is_empty() {
                Err("has no allowed values in the runner's schema".to_owned())
            } else {
                let titles: Vec<&str> = possible_values.iter().map(|v| v.title.as_str()).collect();
                Err(format!("must be one of {}, got {value:?}", titles.join(", ")))
            }
        }
    }
}

/// Most fields in one list of a reported schema, and most SCM providers.
pub const MAX_SCHEMA_FIELDS: usize = 200;
pub const MAX_SCHEMA_SCMS: usize = 50;

/// Checks a schema a runner reports (UpdateRunnerConfigurationSchema) before it replaces the
/// one users see: bounded sizes, unique ids, patterns this server can evaluate, defaults that
/// pass their own field, and well-formed hosts and URLs. `field` is the JSON path of the schema
/// in the request.
pub fn check_reported(field: &str, schema: &RunnerConfigurationSchema) -> Vec<FieldViolation> {
    let mut v = Vec::new();
    let mut push = |r: Result<(), FieldViolation>| {
        if let Err(e) = r {
            v.push(e);
        }
    };
    push(validate::length(&format!("{field}.version"), &schema.version, 0, 64));
    for (list, fields) in [("runnerConfig", &schema.runner_config), ("environmentClasses", &schema.environment_classes)]
    {
        let at = format!("{field}.{list}");
        if fields.len() > MAX_SCHEMA_FIELDS {
            push(Err(FieldViolation::new(&at, format!("must have at most {MAX_SCHEMA_FIELDS} fields"))));
            continue;
        }
        let mut ids = HashSet::new();
        for (i, f) in fields.iter().enumerate() {
            let at = format!("{at}[{i}]");
            push(validate::length(&format!("{at}.id"), &f.id, 1, 128));
            if !ids.insert(f.id.as_str()) {
                push(Err(FieldViolation::new(format!("{at}.id"), format!("{:?} is used twice", f.id))));
            }
            push(validate::length(&format!("{at}.name"), &f.name, 0, 256));
            push(validate::text(&format!("{at}.description"), &f.description, 4096));
            push(check_field_kind(&at, f));
        }
    }
    if schema.scm.len() > MAX_SCHEMA_SCMS {
        push(Err(FieldViolation::new(format!("{field}.scm"), format!("must have at most {MAX_SCHEMA_SCMS} entries"))));
        return v;
    }
    let mut scm_ids = HashSet::new();
    for (i, scm) in schema.scm.iter().enumerate() {
        let at = format!("{field}.scm[{i}]");
        push(validate::length(&format!("{at}.scmId"), &scm.scm_id, 1, 64));
        if !scm_ids.insert(scm.scm_id.as_str()) {
            push(Err(FieldViolation::new(format!("{at}.scmId"), format!("{:?} is used twice", scm.scm_id))));
        }
        push(validate::length(&format!("{at}.name"), &scm.name, 0, 128));
        if scm.default_hosts.len() > 20 {
            push(Err(FieldViolation::new(format!("{at}.defaultHosts"), "must have at most 20 entries")));
        }
        for (j, host) in scm.default_hosts.iter().enumerate().take(20) {
            push(validate::check_host(&format!("{at}.defaultHosts[{j}]"), host));
        }
        if let Some(oauth) = &scm.oauth {
            push(validate::optional_http_url(&format!("{at}.oauth.callbackUrl"), &oauth.callback_url));
        }
        if let Some(pat) = &scm.pat {
            push(validate::text(&format!("{at}.pat.description"), &pat.description, 4096));
            push(validate::optional_http_url(&format!("{at}.pat.docsLink"), &pat.docs_link));
        }
    }
    v
}

/// The typed part of a reported field: a pattern that compiles, and a default its own field accepts.
fn check_field_kind(at: &str, f: &SchemaField) -> Result<(), FieldViolation> {
    match &f.kind {
        FieldKind::String { pattern, .. } if !pattern.is_empty() => {
            Pattern::new(pattern).map_err(|e| FieldViolation::new(format!("{at}.string.pattern"), e.to_string()))?;
        }
        FieldKind::Enum { possible_values, .. } => {
            let mut titles = HashSet::new();
            for (k, value) in possible_values.iter().enumerate() {
                validate::length(&format!("{at}.enum.possibleValues[{k}].title"), &value.title, 1, 256)?;
                if !titles.insert(value.title.as_str()) {
                    return Err(FieldViolation::new(
                        format!("{at}.enum.possibleValues[{k}].title"),
                        format!("{:?} is listed twice", value.title),
                    ));
                }
            }
        }
        _ => {}
    }
    if let Some(default) = f.kind.default_value() {
        check_value(f, &default)
            .map_err(|e| FieldViolation::new(format!("{at}.default"), format!("{default:?} {e}")))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::defaults::{display, field, string, value};
    use crate::schema::testing::*;

    fn rules_schema() -> RunnerConfigurationSchema {
        schema_with(vec![
            field("name", "Name", "", true, string("", "^[a-z]+$")),
            field("label", "Label", "", true, string("standard", "")),
            field("size", "Size", "", false, FieldKind::Int { default: 10, min: 1, max: 100 }),
            field("count", "Count", "", false, FieldKind::Int { default: 0, min: 0, max: 0 }),
            field("fast", "Fast", "", false, FieldKind::Bool { default: false }),
            field("must", "Must", "", true, FieldKind::Bool { default: false }),
            field(
                "tier",
                "Tier",
                "",
                false,
                FieldKind::Enum {
                    default_value: None,
                    possible_values: vec![value("small", "1 vCPU", "x"), value("large", "8 vCPU", "y")],
                },
            ),
            field("info", "Info", "", true, display("read me")),
        ])
    }

    fn only(schema: &RunnerConfigurationSchema, entries: &[FieldValue]) -> Vec<(String, String)> {
        // Ignore the required fields the entries do not mention.
        validate_environment_class(schema, entries)
            .into_iter()
            .filter(|(k, e)| e != "is required" || entries.iter().any(|x| &x.key == k))
            .collect()
    }

    fn e(key: &str, error: &str) -> (String, String) {
        (key.to_owned(), error.to_owned())
    }

    #[test]
    fn unknown_empty_and_duplicate_keys() {
        let s = rules_schema();
        let got = only(&s, &[fv("nope", "1"), fv("", "x"), fv("size", "5"), fv("size", "500")]);
        assert_eq!(got.len(), 3);
        assert_eq!(got[0].0, "nope");
        assert!(got[0].1.starts_with("unknown key; the runner accepts: name, label, size"), "{}", got[0].1);
        assert_eq!(got[1], e("", "key must not be empty"));
        assert_eq!(got[2], e("size", "is set more than once"));
        let empty = schema_with(vec![]);
        assert_eq!(
            validate_environment_class(&empty, &[fv("cpu", "8")]),
            vec![e("cpu", "unknown key: the runner's schema defines no environment class fields")]
        );
    }

    #[test]
    fn required_fields() {
        let s = rules_schema();
        // name (no default) and must (default false = none) are missing; label has a default;
        // the display field is never required.
        assert_eq!(validate_environment_class(&s, &[]), vec![e("name", "is required"), e("must", "is required")]);
        assert_eq!(validate_environment_class(&s, &[fv("name", "abc"), fv("must", "false")]), vec![]);
        // Present but empty counts as missing for a required field without default …
        assert_eq!(only(&s, &[fv("name", "")]), vec![e("name", "is required")]);
        // … and as unset otherwise, whatever the type.
        assert_eq!(only(&s, &[fv("label", ""), fv("size", ""), fv("fast", ""), fv("tier", "")]), vec![]);
    }

    #[test]
    fn ints() {
        let s = rules_schema();
        assert_eq!(only(&s, &[fv("size", "1")]), vec![]);
        assert_eq!(only(&s, &[fv("size", "100")]), vec![]);
        assert_eq!(only(&s, &[fv("size", "0")]), vec![e("size", "must be between 1 and 100, got 0")]);
        assert_eq!(only(&s, &[fv("size", "101")]), vec![e("size", "must be between 1 and 100, got 101")]);
        for bad in ["ten", "1.5", " 5", "99999999999", "0x10"] {
            assert_eq!(only(&s, &[fv("size", bad)]), vec![e("size", &format!("must be a whole number, got {bad:?}"))]);
        }
        // min = max = 0: no range.
        assert_eq!(only(&s, &[fv("count", "-2147483648")]), vec![]);
        assert_eq!(FieldKind::Int { default: 0, min: 5, max: 1 }.int_range(), None);
        assert_eq!(FieldKind::Int { default: 3, min: 3, max: 3 }.int_range(), Some((3, 3)));
    }

    #[test]
    fn bools_enums_strings_and_display() {
        let s = rules_schema();
        assert_eq!(only(&s, &[fv("fast", "true"), fv("fast2", "x")]).len(), 1);
        assert_eq!(only(&s, &[fv("fast", "false")]), vec![]);
        for bad in ["True", "1", "yes"] {
            assert_eq!(
                only(&s, &[fv("fast", bad)]),
                vec![e("fast", &format!("must be \"true\" or \"false\", got {bad:?}"))]
            );
        }
        assert_eq!(only(&s, &[fv("tier", "large")]), vec![]);
        assert_eq!(only(&s, &[fv("tier", "8 vCPU")]), vec![e("tier", "must be one of small, large, got \"8 vCPU\"")]);
        assert_eq!(only(&s, &[fv("name", "abc")]), vec![]);
        assert_eq!(only(&s, &[fv("name", "ab1")]), vec![e("name", "must match the pattern ^[a-z]+$")]);
        assert_eq!(only(&s, &[fv("label", "anything at all")]), vec![]);
        assert_eq!(only(&s, &[fv("info", "whatever"), fv("info2", "")]).len(), 1);
        let no_values = schema_with(vec![field(
            "e",
            "E",
            "",
            false,
            FieldKind::Enum { default_value: None, possible_values: vec![] },
        )]);
        assert_eq!(
            validate_environment_class(&no_values, &[fv("e", "x")]),
            vec![e("e", "has no allowed values in the runner's schema")]
        );
    }

    #[test]
    fn unsupported_patterns_are_not_checked() {
        let s = schema_with(vec![field("x", "X", "", false, string("", r"^(?=a)abc$"))]);
        assert_eq!(validate_environment_class(&s, &[fv("x", "anything")]), vec![]);
    }

    #[test]
    fn long_values_are_refused() {
        let s = rules_schema();
        let long = "a".repeat(MAX_VALUE_CHARS + 1);
        assert_eq!(only(&s, &[fv("label", &long)]), vec![e("label", "must be at most 4096 characters long, got 4097")]);
        assert_eq!(only(&s, &[fv("label", &long[1..])]), vec![]);
        assert_eq!(only(&s, &[fv("info", &long)]), vec![]);
    }

    #[test]
    fn errors_follow_the_input_order_then_missing_fields() {
        let s = rules_schema();
        let got =
            validate_environment_class(&s, &[fv("tier", "huge"), fv("zzz", "1"), fv("size", "x"), fv("tier", "small")]);
        let keys: Vec<&str> = got.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["tier", "zzz", "size", "tier", "name", "must"]);
    }
}
