//! Runner configuration schema (placeholder types while the full module is written).

use serde::{Deserialize, Serialize};

use crate::model::{FieldValue, RunnerProvider};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunnerConfigurationSchema {
    pub version: String,
    pub runner_config: Vec<SchemaField>,
    pub environment_classes: Vec<SchemaField>,
    pub scm: Vec<ScmConfigSchema>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchemaField {
    pub id: String,
    pub name: String,
    pub description: String,
    pub required: bool,
    pub secret: bool,
    pub kind: FieldKind,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum FieldKind {
    String { default: String, pattern: String },
    Bool { default: bool },
    Int { default: i32, min: i32, max: i32 },
    Enum { default_value: Option<EnumValue>, possible_values: Vec<EnumValue> },
    Display { default: String },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnumValue {
    pub title: String,
    pub subtitle: String,
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScmConfigSchema {
    pub scm_id: String,
    pub name: String,
    pub default_hosts: Vec<String>,
    pub oauth: Option<ScmOAuth>,
    pub pat: Option<ScmPat>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScmOAuth {
    pub callback_url: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScmPat {
    pub description: String,
    pub docs_link: String,
}

pub fn default_schema(
    _provider: Option<RunnerProvider>,
    _runner_id: uuid::Uuid,
    _public_base_url: &str,
) -> RunnerConfigurationSchema {
    RunnerConfigurationSchema::default()
}

pub fn validate_environment_class(
    schema: &RunnerConfigurationSchema,
    configuration: &[FieldValue],
) -> Vec<(String, String)> {
    configuration
        .iter()
        .filter(|f| !schema.environment_classes.iter().any(|s| s.id == f.key))
        .map(|f| (f.key.clone(), "unknown key".to_owned()))
        .collect()
}
