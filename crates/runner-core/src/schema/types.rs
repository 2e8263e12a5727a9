//! The schema's domain types: one to one with the API message, stored as JSON.

use serde::{Deserialize, Serialize};

/// What a runner can be configured with.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RunnerConfigurationSchema {
    pub version: String,
    /// Fields of the runner's own configuration.
    pub runner_config: Vec<SchemaField>,
    /// Fields of an environment class's `configuration`; a field's `id` is the configuration key.
    pub environment_classes: Vec<SchemaField>,
    /// Source-control providers the runner can integrate with.
    pub scm: Vec<ScmConfigSchema>,
}

impl RunnerConfigurationSchema {
    /// The environment-class field with this id (= configuration key).
    pub fn environment_class_field(&self, id: &str) -> Option<&SchemaField> {
        self.environment_classes.iter().find(|f| f.id == id)
    }

    /// The SCM provider with this `scm_id`.
    pub fn scm(&self, scm_id: &str) -> Option<&ScmConfigSchema> {
        self.scm.iter().find(|s| s.scm_id == scm_id)
    }
}

/// One field of a schema (`RunnerConfigurationSchema.Field`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchemaField {
    /// Identifier; for environment classes the configuration key.
    pub id: String,
    /// Label for humans.
    pub name: String,
    pub description: String,
    /// Must be set, unless the field has a default (see [`FieldKind::default_value`]).
    pub required: bool,
    /// The value is sensitive (a UI masks it).
    pub secret: bool,
    /// The typed part (`oneof type`).
    pub kind: FieldKind,
}

/// The `oneof type` of a field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum FieldKind {
    /// Free text; a non-empty `pattern` is a regular expression values must match.
    String { default: String, pattern: String },
    /// `"true"` or `"false"`.
    Bool { default: bool },
    /// A decimal `i32`; `[min, max]` applies unless both are 0 (or `min > max`).
    Int { default: i32, min: i32, max: i32 },
    /// One of `possible_values`, identified by its `title`. (The deprecated string forms of the
    /// API, `default` and `values`, are derived from these when converting to the wire.)
    Enum { default_value: Option<EnumValue>, possible_values: Vec<EnumValue> },
    /// Information shown to humans; not a setting.
    Display { default: String },
}

impl FieldKind {
    /// The default as a configuration value, when the field has one. A proto3 zero value (empty
    /// string, `false`, `0`, no enum value) cannot be told apart from "no default", so it does
    /// not count as a default.
    pub fn default_value(&self) -> Option<String> {
        match self {
            FieldKind::String { default, .. } | FieldKind::Display { default } => {
                (!default.is_empty()).then(|| default.clone())
            }
            FieldKind::Bool { default } => default.then(|| "true".to_owned()),
            FieldKind::Int { default, .. } => (*default != 0).then(|| default.to_string()),
            FieldKind::Enum { default_value, .. } => {
                default_value.as_ref().filter(|v| !v.title.is_empty()).map(|v| v.title.clone())
            }
        }
    }

    /// `[min, max]` of an int field, when one applies.
    pub fn int_range(&self) -> Option<(i32, i32)> {
        match *self {
            FieldKind::Int { min, max, .. } if !(min == 0 && max == 0) && min <= max => Some((min, max)),
            _ => None,
        }
    }
}

/// A value of an enum field (`EnumField.Value`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnumValue {
    /// The value itself: what a configuration sets.
    pub title: String,
    /// Short summary shown under the title.
    pub subtitle: String,
    /// Longer explanation.
    pub detail: String,
}

/// A source-control provider a runner supports (`SCMConfigSchema`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScmConfigSchema {
    /// `github`, `gitlab`, `bitbucket`, `azuredevops_entra`, `azuredevops_server`, …
    pub scm_id: String,
    pub name: String,
    pub default_hosts: Vec<String>,
    /// Absent: the provider cannot be used with OAuth on this runner.
    pub oauth: Option<ScmOAuth>,
    /// Absent: the provider cannot be used with personal access tokens on this runner.
    pub pat: Option<ScmPat>,
}

/// OAuth support of an SCM provider.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScmOAuth {
    /// Where the SCM's OAuth app must redirect to; admins copy it into the app's settings.
    pub callback_url: String,
}

/// Personal-access-token support of an SCM provider.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScmPat {
    /// What token to create (its scopes).
    pub description: String,
    /// The provider's own page on creating such a token.
    pub docs_link: String,
}
