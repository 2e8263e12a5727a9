//! The runner configuration schema (`gitpod.v1.RunnerConfigurationSchema`): which runner settings,
//! environment-class fields and SCM providers a runner supports.
//!
//! - [`types`]: the domain types, which mirror the API message one to one and are stored as JSON;
//! - [`defaults`]: [`default_schema`], the built-in schema a runner has until it reports its own;
//! - [`check`]: [`validate_environment_class`] checks an environment class's configuration
//!   against a schema, [`check_reported`] a schema a runner reports;
//! - [`pattern`]: [`Pattern`], how `string.pattern` is evaluated.
//!
//! The rules and the default schemas are documented in `docs/configuration-schema.md`.

pub mod check;
pub mod defaults;
pub mod pattern;
pub mod types;

pub use check::{MAX_SCHEMA_FIELDS, MAX_SCHEMA_SCMS, MAX_VALUE_CHARS, check_reported, validate_environment_class};
pub use defaults::{DEFAULT_SCHEMA_VERSION, default_schema, oauth_callback_url};
pub use pattern::{Pattern, PatternError};
pub use types::*;

#[cfg(test)]
mod testing {
    use uuid::Uuid;

    use super::*;
    use crate::model::{FieldValue, RunnerProvider};

    pub(super) fn fv(key: &str, value: &str) -> FieldValue {
        FieldValue { key: key.to_owned(), value: value.to_owned() }
    }

    pub(super) fn schema_with(fields: Vec<SchemaField>) -> RunnerConfigurationSchema {
        RunnerConfigurationSchema { version: "test".to_owned(), environment_classes: fields, ..Default::default() }
    }

    pub(super) fn all_providers() -> Vec<Option<RunnerProvider>> {
        let mut v: Vec<Option<RunnerProvider>> =
            <RunnerProvider as crate::model::ApiEnum>::VALUES.iter().copied().map(Some).collect();
        v.push(None);
        v
    }

    pub(super) fn rid() -> Uuid {
        Uuid::parse_str("d2c94c27-3b76-4a42-b88c-95a85e392c68").unwrap()
    }
}
