//! The runner configuration schema (`gitpod.v1.RunnerConfigurationSchema`): which runner settings,
//! environment-class fields and SCM providers a runner supports.
//!
//! - the domain types mirror the API message one to one and are stored as JSON;
//! - [`default_schema`] is the built-in schema a runner has until it reports its own;
//! - [`validate_environment_class`] checks an environment class's configuration against a schema;
//! - [`Pattern`] is the small, linear-time matcher used for `string.pattern` (no regex crate).
//!
//! The rules and the default schemas are documented in `docs/configuration-schema.md`.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::FieldViolation;
use crate::model::{FieldValue, RunnerProvider};
use crate::validate;

/// `version` of every built-in default schema.
pub const DEFAULT_SCHEMA_VERSION: &str = "default-1";

/// Longest configuration value (in characters) that validation accepts.
pub const MAX_VALUE_CHARS: usize = 4096;

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

// ---------------------------------------------------------------------------------------------
// Default schemas
// ---------------------------------------------------------------------------------------------

/// The built-in schema of a runner that has not reported its own: environment-class and runner
/// fields by provider (AWS EC2, GCP, or a generic set for every other or unknown provider) and
/// the same five SCM providers for all. OAuth callback URLs have the shape
/// `{public_base_url}/auth/{scm_id}/callback?runner={runner_id}` (a trailing `/` of the base URL
/// is dropped).
pub fn default_schema(
    provider: Option<RunnerProvider>,
    runner_id: Uuid,
    public_base_url: &str,
) -> RunnerConfigurationSchema {
    let (runner_config, environment_classes) = match provider {
        Some(RunnerProvider::AwsEc2) => (aws_runner_config(), aws_environment_classes()),
        Some(RunnerProvider::Gcp) => (gcp_runner_config(), gcp_environment_classes()),
        _ => (generic_runner_config(), generic_environment_classes()),
    };
    RunnerConfigurationSchema {
        version: DEFAULT_SCHEMA_VERSION.to_owned(),
        runner_config,
        environment_classes,
        scm: default_scm(runner_id, public_base_url),
    }
}

/// The OAuth callback URL of an SCM provider on a runner, as the default schemas give it.
pub fn oauth_callback_url(public_base_url: &str, scm_id: &str, runner_id: Uuid) -> String {
    format!("{}/auth/{scm_id}/callback?runner={runner_id}", public_base_url.trim_end_matches('/'))
}

fn field(id: &str, name: &str, description: &str, required: bool, kind: FieldKind) -> SchemaField {
    SchemaField {
        id: id.to_owned(),
        name: name.to_owned(),
        description: description.to_owned(),
        required,
        secret: false,
        kind,
    }
}

fn string(default: &str, pattern: &str) -> FieldKind {
    FieldKind::String { default: default.to_owned(), pattern: pattern.to_owned() }
}

fn display(text: &str) -> FieldKind {
    FieldKind::Display { default: text.to_owned() }
}

fn value(title: &str, subtitle: &str, detail: &str) -> EnumValue {
    EnumValue { title: title.to_owned(), subtitle: subtitle.to_owned(), detail: detail.to_owned() }
}

/// An enum whose default is the value titled `default`.
fn choice(default: &str, values: Vec<EnumValue>) -> FieldKind {
    let default_value = values.iter().find(|v| v.title == default).cloned();
    debug_assert!(default_value.is_some(), "default {default} is not a possible value");
    FieldKind::Enum { default_value, possible_values: values }
}

fn disk_size(description: &str) -> SchemaField {
    field("diskSizeGb", "Disk size (GB)", description, false, FieldKind::Int { default: 100, min: 20, max: 2000 })
}

fn aws_environment_classes() -> Vec<SchemaField> {
    const M6I: &str = "General purpose: Intel Xeon Scalable (Ice Lake), balanced CPU and memory.";
    const M7I: &str = "General purpose: 4th-generation Intel Xeon Scalable (Sapphire Rapids).";
    const C6I: &str = "Compute optimized: Intel Xeon Scalable (Ice Lake), 2 GiB per vCPU for CPU-bound builds.";
    const R6I: &str = "Memory optimized: Intel Xeon Scalable (Ice Lake), 8 GiB per vCPU.";
    const G5: &str = "GPU: 1 NVIDIA A10G Tensor Core GPU with 24 GiB, AMD EPYC; needs a GPU-enabled AMI.";
    let types = vec![
        value("m6i.large", "2 vCPU, 8 GiB", M6I),
        value("m6i.xlarge", "4 vCPU, 16 GiB", M6I),
        value("m6i.2xlarge", "8 vCPU, 32 GiB", M6I),
        value("m6i.4xlarge", "16 vCPU, 64 GiB", M6I),
        value("m6i.8xlarge", "32 vCPU, 128 GiB", M6I),
        value("m7i.xlarge", "4 vCPU, 16 GiB", M7I),
        value("m7i.2xlarge", "8 vCPU, 32 GiB", M7I),
        value("m7i.4xlarge", "16 vCPU, 64 GiB", M7I),
        value("c6i.xlarge", "4 vCPU, 8 GiB", C6I),
        value("c6i.2xlarge", "8 vCPU, 16 GiB", C6I),
        value("c6i.4xlarge", "16 vCPU, 32 GiB", C6I),
        value("r6i.xlarge", "4 vCPU, 32 GiB", R6I),
        value("r6i.2xlarge", "8 vCPU, 64 GiB", R6I),
        value("g5.xlarge", "4 vCPU, 16 GiB, 1 GPU", G5),
        value("g5.2xlarge", "8 vCPU, 32 GiB, 1 GPU", G5),
    ];
    vec![
        field(
            "instanceType",
            "Instance type",
            "EC2 instance type of the environment's VM.",
            true,
            choice("m6i.xlarge", types),
        ),
        disk_size("Size of the environment's root EBS volume (gp3), in GiB."),
        field(
            "spot",
            "Spot instance",
            "Run on EC2 Spot capacity: much cheaper, but AWS may reclaim the instance with two minutes' notice.",
            false,
            FieldKind::Bool { default: false },
        ),
        field(
            "imageId",
            "AMI",
            "ID of a custom Amazon Machine Image (ami-…) in the runner's region; empty uses the runner's image.",
            false,
            string("", "^ami-[0-9a-f]{8,17}$"),
        ),
        field(
            "billing",
            "Billing",
            "",
            false,
            display("Instances and volumes are created in, and billed to, the AWS account the runner is deployed in."),
        ),
    ]
}

fn aws_runner_config() -> Vec<SchemaField> {
    vec![
        field(
            "region",
            "Region",
            "",
            false,
            display(
                "The AWS region is chosen when the runner is created (spec.configuration.region) and cannot be changed.",
            ),
        ),
        field("vpcId", "VPC", "ID of the VPC that environments run in.", true, string("", "^vpc-[0-9a-f]{8,17}$")),
        field(
            "subnetIds",
            "Subnets",
            "Comma-separated IDs of the VPC subnets for environments, ideally in several availability zones.",
            true,
            string("", "^subnet-[0-9a-f]{8,17}(,subnet-[0-9a-f]{8,17})*$"),
        ),
        field(
            "domainName",
            "Domain name",
            "Domain the runner serves environments under, for example gitpod.example.com (lower case).",
            true,
            string("", r"^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$"),
        ),
    ]
}

fn gcp_environment_classes() -> Vec<SchemaField> {
    const E2: &str = "General purpose, cost optimized (E2).";
    const N2: &str = "General purpose: Intel Xeon (Cascade Lake or Ice Lake), consistent performance (N2).";
    const N2D: &str = "General purpose: AMD EPYC (N2D).";
    const N2_HIGHMEM: &str = "Memory optimized variant of N2: 8 GB per vCPU.";
    const G2: &str = "GPU: 1 NVIDIA L4 GPU with 24 GB (G2); needs a GPU-enabled image.";
    let types = vec![
        value("e2-standard-2", "2 vCPU, 8 GB", E2),
        value("e2-standard-4", "4 vCPU, 16 GB", E2),
        value("e2-standard-8", "8 vCPU, 32 GB", E2),
        value("e2-standard-16", "16 vCPU, 64 GB", E2),
        value("n2-standard-4", "4 vCPU, 16 GB", N2),
        value("n2-standard-8", "8 vCPU, 32 GB", N2),
        value("n2-standard-16", "16 vCPU, 64 GB", N2),
        value("n2-highmem-8", "8 vCPU, 64 GB", N2_HIGHMEM),
        value("n2d-standard-8", "8 vCPU, 32 GB", N2D),
        value("g2-standard-4", "4 vCPU, 16 GB, 1 GPU", G2),
        value("g2-standard-8", "8 vCPU, 32 GB, 1 GPU", G2),
    ];
    let disk_types = vec![
        value("pd-balanced", "Balanced persistent disk", "SSD-backed; the best price per IOPS for most workloads."),
        value("pd-ssd", "SSD persistent disk", "Fastest persistent disk; for I/O-heavy builds and databases."),
        value(
            "pd-standard",
            "Standard persistent disk",
            "HDD-backed; cheapest and slowest. Not offered by every machine series.",
        ),
    ];
    vec![
        field(
            "machineType",
            "Machine type",
            "Compute Engine machine type of the environment's VM.",
            true,
            choice("e2-standard-4", types),
        ),
        disk_size("Size of the environment's boot persistent disk, in GB."),
        field(
            "diskType",
            "Disk type",
            "Persistent disk type of the boot disk.",
            false,
            choice("pd-balanced", disk_types),
        ),
        field(
            "preemptible",
            "Spot VM",
            "Run as a Spot (preemptible) VM: much cheaper, but Compute Engine may stop it at any time.",
            false,
            FieldKind::Bool { default: false },
        ),
        field(
            "billing",
            "Billing",
            "",
            false,
            display("VMs and disks are created in, and billed to, the Google Cloud project the runner is deployed in."),
        ),
    ]
}

fn gcp_runner_config() -> Vec<SchemaField> {
    vec![
        field(
            "region",
            "Region",
            "",
            false,
            display("The Google Cloud region is chosen when the runner is created (spec.configuration.region)."),
        ),
        field(
            "projectId",
            "Project ID",
            "ID of the Google Cloud project environments run in: 6 to 30 lower-case letters, digits or hyphens.",
            true,
            string("", "^[a-z][a-z0-9-]{4,28}[a-z0-9]$"),
        ),
        field(
            "network",
            "VPC network",
            "Name of the VPC network for environments.",
            false,
            string("default", "^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$"),
        ),
        field(
            "subnetwork",
            "Subnetwork",
            "Name of the subnetwork in the runner's region; empty uses the network's default for the region.",
            false,
            string("", "^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$"),
        ),
    ]
}

fn generic_environment_classes() -> Vec<SchemaField> {
    vec![
        field("cpu", "CPU", "Number of virtual CPUs.", true, FieldKind::Int { default: 4, min: 1, max: 64 }),
        field(
            "memory",
            "Memory (MiB)",
            "Memory in MiB, for example 16384 for 16 GiB.",
            true,
            FieldKind::Int { default: 8192, min: 1024, max: 262_144 },
        ),
        field(
            "notice",
            "Schema",
            "",
            false,
            display("Generic fields: this runner has not reported its own configuration schema yet."),
        ),
    ]
}

fn generic_runner_config() -> Vec<SchemaField> {
    vec![field(
        "notice",
        "Schema",
        "",
        false,
        display("This runner has not reported its own configuration schema yet; it has no configurable settings here."),
    )]
}

fn default_scm(runner_id: Uuid, public_base_url: &str) -> Vec<ScmConfigSchema> {
    let oauth = |scm_id: &str| Some(ScmOAuth { callback_url: oauth_callback_url(public_base_url, scm_id, runner_id) });
    let pat = |description: &str, docs_link: &str| {
        Some(ScmPat { description: description.to_owned(), docs_link: docs_link.to_owned() })
    };
    let scm =
        |scm_id: &str, name: &str, hosts: &[&str], oauth: Option<ScmOAuth>, pat: Option<ScmPat>| ScmConfigSchema {
            scm_id: scm_id.to_owned(),
            name: name.to_owned(),
            default_hosts: hosts.iter().map(|h| (*h).to_owned()).collect(),
            oauth,
            pat,
        };
    vec![
        scm(
            "github",
            "GitHub",
            &["github.com"],
            oauth("github"),
            pat(
                "A classic personal access token with the scopes repo, read:user, user:email and workflow.",
                "https://docs.github.com/en/authentication/keeping-your-account-and-data-secure/managing-your-personal-access-tokens",
            ),
        ),
        scm(
            "gitlab",
            "GitLab",
            &["gitlab.com"],
            oauth("gitlab"),
            pat(
                "A personal access token with the scopes api, read_repository and read_user.",
                "https://docs.gitlab.com/user/profile/personal_access_tokens/",
            ),
        ),
        scm(
            "bitbucket",
            "Bitbucket",
            &["bitbucket.org"],
            oauth("bitbucket"),
            pat(
                "An Atlassian API token for Bitbucket with the scopes read:user:bitbucket, \
                 read:repository:bitbucket and write:repository:bitbucket (Bitbucket app passwords are being retired).",
                "https://support.atlassian.com/bitbucket-cloud/docs/using-api-tokens/",
            ),
        ),
        scm(
            "azuredevops_entra",
            "Azure DevOps (Microsoft Entra ID)",
            &["dev.azure.com"],
            oauth("azuredevops_entra"),
            None,
        ),
        scm(
            "azuredevops_server",
            "Azure DevOps Server",
            &[],
            None,
            pat(
                "A personal access token with the scope Code (Read & write).",
                "https://learn.microsoft.com/en-us/azure/devops/organizations/accounts/use-personal-access-tokens-to-authenticate",
            ),
        ),
    ]
}

// ---------------------------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------------------------

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
                // A pattern outside the supported subset is not checked here (the runner checks it).
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

// ---------------------------------------------------------------------------------------------
// Schemas reported by runners
// ---------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------
// Patterns
// ---------------------------------------------------------------------------------------------

/// A regular expression of the subset that schema patterns use, matched in time linear in the
/// value's length (a Thompson NFA simulated without backtracking).
///
/// Supported: literals; `.` (any character but newline); classes `[a-z0-9_]`, `[^…]`; the escapes
/// `\d \D \w \W \s \S \n \r \t \f \v` and any escaped ASCII punctuation; groups `(…)` and `(?:…)`;
/// alternation `|`; the quantifiers `* + ? {n} {n,} {n,m}` (counts up to 1000; a lazy `?` suffix
/// is accepted and changes nothing); the anchors `^` and `$` (start and end of the value). As in
/// RE2/Go, a pattern matches if it matches anywhere in the value, so anchor both ends for a full
/// match. Everything else (flags, named groups, look-around, back-references, `\b`, Unicode
/// classes, POSIX classes) is refused by [`Pattern::new`].
#[derive(Debug, Clone)]
pub struct Pattern {
    program: Vec<Inst>,
    start: usize,
}

/// Why a pattern was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unsupported pattern: {0}")]
pub struct PatternError(pub String);

const MAX_PATTERN_CHARS: usize = 1000;
const MAX_REPEAT: u64 = 1000;
const MAX_GROUP_DEPTH: usize = 32;
const MAX_PROGRAM: usize = 10_000;

impl Pattern {
    /// Parses and compiles a pattern.
    pub fn new(pattern: &str) -> Result<Pattern, PatternError> {
        let chars: Vec<char> = pattern.chars().collect();
        if chars.len() > MAX_PATTERN_CHARS {
            return Err(PatternError(format!("longer than {MAX_PATTERN_CHARS} characters")));
        }
        let mut parser = Parser { chars, pos: 0, depth: 0 };
        let node = parser.alternation()?;
        if parser.pos < parser.chars.len() {
            return Err(PatternError("unmatched )".to_owned()));
        }
        let mut program = vec![Inst::Match];
        let start = compile(&mut program, &node, 0)?;
        Ok(Pattern { program, start })
    }

    /// Whether the pattern matches somewhere in `text`.
    pub fn is_match(&self, text: &str) -> bool {
        let n = text.chars().count();
        let mut current: Vec<usize> = Vec::new();
        let mut next: Vec<usize> = Vec::new();
        // The position at which an instruction was last added: each is added once per position.
        let mut mark = vec![usize::MAX; self.program.len()];
        let mut stack = Vec::new();
        // Every position, with the character there (none at the end).
        for (pos, c) in text.chars().map(Some).chain(std::iter::once(None)).enumerate() {
            self.add(&mut current, &mut mark, &mut stack, self.start, pos, n);
            if current.iter().any(|&pc| matches!(self.program[pc], Inst::Match)) {
                return true;
            }
            let Some(c) = c else { break };
            next.clear();
            for &pc in &current {
                if let Inst::Set(set, to) = &self.program[pc]
                    && set.contains(c)
                {
                    self.add(&mut next, &mut mark, &mut stack, *to, pos + 1, n);
                }
            }
            std::mem::swap(&mut current, &mut next);
        }
        false
    }

    /// Adds `pc` and everything reachable from it without consuming a character.
    fn add(&self, list: &mut Vec<usize>, mark: &mut [usize], stack: &mut Vec<usize>, pc: usize, pos: usize, n: usize) {
        stack.push(pc);
        while let Some(pc) = stack.pop() {
            if mark[pc] == pos {
                continue;
            }
            mark[pc] = pos;
            match &self.program[pc] {
                Inst::Split(a, b) => {
                    stack.push(*b);
                    stack.push(*a);
                }
                Inst::Start(to) => {
                    if pos == 0 {
                        stack.push(*to);
                    }
                }
                Inst::End(to) => {
                    if pos == n {
                        stack.push(*to);
                    }
                }
                Inst::Set(..) | Inst::Match => list.push(pc),
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct CharSet {
    ranges: Vec<(char, char)>,
    negated: bool,
}

impl CharSet {
    fn of(ranges: &[(char, char)], negated: bool) -> CharSet {
        CharSet { ranges: ranges.to_vec(), negated }
    }

    fn contains(&self, c: char) -> bool {
        self.ranges.iter().any(|&(lo, hi)| lo <= c && c <= hi) != self.negated
    }
}

const DIGIT: &[(char, char)] = &[('0', '9')];
const WORD: &[(char, char)] = &[('0', '9'), ('A', 'Z'), ('_', '_'), ('a', 'z')];
const SPACE: &[(char, char)] = &[('\t', '\n'), ('\x0c', '\r'), (' ', ' ')];

#[derive(Debug)]
enum Node {
    Set(CharSet),
    Start,
    End,
    Concat(Vec<Node>),
    Alt(Vec<Node>),
    Repeat { node: Box<Node>, min: u32, max: Option<u32> },
}

enum Escape {
    Char(char),
    Set(CharSet),
}

struct Parser {
    chars: Vec<char>,
    pos: usize,
    depth: usize,
}

impl Parser {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += 1;
        Some(c)
    }

    fn alternation(&mut self) -> Result<Node, PatternError> {
        let mut alternatives = vec![self.concatenation()?];
        while self.eat('|') {
            alternatives.push(self.concatenation()?);
        }
        Ok(if alternatives.len() == 1 { alternatives.remove(0) } else { Node::Alt(alternatives) })
    }

    fn concatenation(&mut self) -> Result<Node, PatternError> {
        let mut items = Vec::new();
        while let Some(c) = self.peek() {
            if c == '|' || c == ')' {
                break;
            }
            let atom = self.atom()?;
            items.push(self.quantified(atom)?);
        }
        Ok(Node::Concat(items))
    }

    /// `{n}`, `{n,}` or `{n,m}` at `self.pos`: (min, max, position after it).
    fn counted(&self) -> Option<(u64, Option<u64>, usize)> {
        if self.peek() != Some('{') {
            return None;
        }
        let digits = |i: &mut usize| -> Option<u64> {
            let start = *i;
            let mut v: u64 = 0;
            while let Some(d) = self.chars.get(*i).and_then(|c| c.to_digit(10)) {
                v = v.saturating_mul(10).saturating_add(u64::from(d));
                *i += 1;
            }
            (*i > start).then_some(v)
        };
        let mut i = self.pos + 1;
        let min = digits(&mut i)?;
        let max = if self.chars.get(i) == Some(&',') {
            i += 1;
            digits(&mut i)
        } else {
            Some(min)
        };
        (self.chars.get(i) == Some(&'}')).then_some((min, max, i + 1))
    }

    fn quantified(&mut self, atom: Node) -> Result<Node, PatternError> {
        let (min, max) = match self.peek() {
            Some('*') => (0, None),
            Some('+') => (1, None),
            Some('?') => (0, Some(1)),
            Some('{') => match self.counted() {
                Some((min, max, end)) => {
                    if min > MAX_REPEAT || max.is_some_and(|m| m > MAX_REPEAT) {
                        return Err(PatternError(format!("repeat count above {MAX_REPEAT}")));
                    }
                    if max.is_some_and(|m| m < min) {
                        return Err(PatternError("repeat range with max < min".to_owned()));
                    }
                    self.pos = end - 1;
                    (min as u32, max.map(|m| m as u32))
                }
                None => return Ok(atom), // a literal `{`, read by the next atom
            },
            _ => return Ok(atom),
        };
        self.pos += 1;
        self.eat('?'); // lazy: matches the same values
        if matches!(self.peek(), Some('*' | '+' | '?')) || self.counted().is_some() {
            return Err(PatternError("nested repetition operator".to_owned()));
        }
        Ok(Node::Repeat { node: Box::new(atom), min, max })
    }

    fn atom(&mut self) -> Result<Node, PatternError> {
        if self.counted().is_some() {
            return Err(PatternError("missing argument to repetition operator".to_owned()));
        }
        let c = self.bump().ok_or_else(|| PatternError("unexpected end".to_owned()))?;
        Ok(match c {
            '(' => {
                if self.eat('?') && !self.eat(':') {
                    return Err(PatternError("flags, named groups and look-around are not supported".to_owned()));
                }
                self.depth += 1;
                if self.depth > MAX_GROUP_DEPTH {
                    return Err(PatternError(format!("groups nested deeper than {MAX_GROUP_DEPTH}")));
                }
                let inner = self.alternation()?;
                if !self.eat(')') {
                    return Err(PatternError("missing )".to_owned()));
                }
                self.depth -= 1;
                inner
            }
            '[' => Node::Set(self.class()?),
            '.' => Node::Set(CharSet::of(&[('\n', '\n')], true)),
            '^' => Node::Start,
            '$' => Node::End,
            '\\' => match self.escape(false)? {
                Escape::Char(c) => Node::Set(CharSet::of(&[(c, c)], false)),
                Escape::Set(set) => Node::Set(set),
            },
            '*' | '+' | '?' => return Err(PatternError("missing argument to repetition operator".to_owned())),
            c => Node::Set(CharSet::of(&[(c, c)], false)),
        })
    }

    /// After a `\`.
    fn escape(&mut self, in_class: bool) -> Result<Escape, PatternError> {
        let c = self.bump().ok_or_else(|| PatternError("trailing \\".to_owned()))?;
        let set = |ranges: &[(char, char)], negated: bool| {
            if negated && in_class {
                Err(PatternError(format!("\\{c} inside a class")))
            } else {
                Ok(Escape::Set(CharSet::of(ranges, negated)))
            }
        };
        match c {
            'd' | 'D' => set(DIGIT, c == 'D'),
            'w' | 'W' => set(WORD, c == 'W'),
            's' | 'S' => set(SPACE, c == 'S'),
            'n' => Ok(Escape::Char('\n')),
            'r' => Ok(Escape::Char('\r')),
            't' => Ok(Escape::Char('\t')),
            'f' => Ok(Escape::Char('\x0c')),
            'v' => Ok(Escape::Char('\x0b')),
            c if c.is_ascii_punctuation() => Ok(Escape::Char(c)),
            c => Err(PatternError(format!("escape \\{c}"))),
        }
    }

    /// After a `[`.
    fn class(&mut self) -> Result<CharSet, PatternError> {
        let negated = self.eat('^');
        let mut ranges = Vec::new();
        let mut first = true;
        loop {
            let c = self.bump().ok_or_else(|| PatternError("missing ]".to_owned()))?;
            if c == ']' && !first {
                break;
            }
            first = false;
            let lo = match c {
                '\\' => match self.escape(true)? {
                    Escape::Char(c) => c,
                    Escape::Set(set) => {
                        ranges.extend(set.ranges);
                        continue;
                    }
                },
                '[' if self.peek() == Some(':') => {
                    return Err(PatternError("POSIX classes are not supported".to_owned()));
                }
                c => c,
            };
            if self.peek() == Some('-') && self.chars.get(self.pos + 1).is_some_and(|&n| n != ']') {
                self.pos += 1;
                let hi = match self.bump() {
                    Some('\\') => match self.escape(true)? {
                        Escape::Char(c) => c,
                        Escape::Set(_) => return Err(PatternError("class escape as a range bound".to_owned())),
                    },
                    Some(c) => c,
                    None => return Err(PatternError("missing ]".to_owned())),
                };
                if hi < lo {
                    return Err(PatternError(format!("invalid range {lo}-{hi}")));
                }
                ranges.push((lo, hi));
            } else {
                ranges.push((lo, lo));
            }
        }
        Ok(CharSet { ranges, negated })
    }
}

#[derive(Debug, Clone)]
enum Inst {
    /// Consume a character of the set, continue at the index.
    Set(CharSet, usize),
    /// Continue at both.
    Split(usize, usize),
    /// Continue only at the start of the value.
    Start(usize),
    /// Continue only at the end of the value.
    End(usize),
    Match,
}

fn push(program: &mut Vec<Inst>, inst: Inst) -> Result<usize, PatternError> {
    if program.len() >= MAX_PROGRAM {
        return Err(PatternError("too large once repetitions are expanded".to_owned()));
    }
    program.push(inst);
    Ok(program.len() - 1)
}

/// Compiles `node` so that it continues at `next`; returns its entry.
fn compile(program: &mut Vec<Inst>, node: &Node, next: usize) -> Result<usize, PatternError> {
    match node {
        Node::Set(set) => push(program, Inst::Set(set.clone(), next)),
        Node::Start => push(program, Inst::Start(next)),
        Node::End => push(program, Inst::End(next)),
        Node::Concat(items) => {
            let mut entry = next;
            for item in items.iter().rev() {
                entry = compile(program, item, entry)?;
            }
            Ok(entry)
        }
        Node::Alt(alternatives) => {
            let mut entries = Vec::with_capacity(alternatives.len());
            for a in alternatives {
                entries.push(compile(program, a, next)?);
            }
            let mut entry = entries.pop().unwrap_or(next);
            while let Some(e) = entries.pop() {
                entry = push(program, Inst::Split(e, entry))?;
            }
            Ok(entry)
        }
        Node::Repeat { node, min, max } => {
            let mut entry = next;
            match max {
                None => {
                    let lp = push(program, Inst::Split(usize::MAX, next))?;
                    let body = compile(program, node, lp)?;
                    program[lp] = Inst::Split(body, next);
                    entry = lp;
                }
                Some(max) => {
                    for _ in *min..*max {
                        let body = compile(program, node, entry)?;
                        entry = push(program, Inst::Split(body, next))?;
                    }
                }
            }
            for _ in 0..*min {
                entry = compile(program, node, entry)?;
            }
            Ok(entry)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fv(key: &str, value: &str) -> FieldValue {
        FieldValue { key: key.to_owned(), value: value.to_owned() }
    }

    fn schema_with(fields: Vec<SchemaField>) -> RunnerConfigurationSchema {
        RunnerConfigurationSchema { version: "test".to_owned(), environment_classes: fields, ..Default::default() }
    }

    fn all_providers() -> Vec<Option<RunnerProvider>> {
        let mut v: Vec<Option<RunnerProvider>> =
            <RunnerProvider as crate::model::ApiEnum>::VALUES.iter().copied().map(Some).collect();
        v.push(None);
        v
    }

    fn rid() -> Uuid {
        Uuid::parse_str("d2c94c27-3b76-4a42-b88c-95a85e392c68").unwrap()
    }

    // --- default schemas ---

    #[test]
    fn every_provider_has_a_sane_schema() {
        for provider in all_providers() {
            let s = default_schema(provider, rid(), "https://runners.example.com");
            assert_eq!(s.version, DEFAULT_SCHEMA_VERSION);
            assert!(!s.runner_config.is_empty(), "{provider:?}");
            assert!(s.environment_classes.iter().any(|f| !matches!(f.kind, FieldKind::Display { .. })), "{provider:?}");
            assert_eq!(s.scm.len(), 5);
            for fields in [&s.runner_config, &s.environment_classes] {
                let ids: HashSet<&str> = fields.iter().map(|f| f.id.as_str()).collect();
                assert_eq!(ids.len(), fields.len(), "duplicate ids for {provider:?}");
                for f in fields.iter() {
                    assert!(!f.id.is_empty() && !f.name.is_empty(), "{f:?}");
                    match &f.kind {
                        FieldKind::Int { default, min, max } => {
                            assert!(min < max && min <= default && default <= max, "{f:?}");
                            assert_eq!(f.kind.int_range(), Some((*min, *max)));
                        }
                        FieldKind::Enum { default_value, possible_values } => {
                            assert!(!possible_values.is_empty());
                            let titles: HashSet<&str> = possible_values.iter().map(|v| v.title.as_str()).collect();
                            assert_eq!(titles.len(), possible_values.len(), "{f:?}");
                            assert!(possible_values.iter().all(|v| !v.subtitle.is_empty() && !v.detail.is_empty()));
                            let d = default_value.as_ref().expect("enum default");
                            assert!(possible_values.contains(d));
                        }
                        FieldKind::String { pattern, .. } if !pattern.is_empty() => {
                            Pattern::new(pattern).unwrap_or_else(|e| panic!("{}: {e}", f.id));
                        }
                        FieldKind::Display { default } => assert!(!default.is_empty()),
                        _ => {}
                    }
                }
            }
        }
    }

    #[test]
    fn defaults_validate_against_their_own_schema() {
        for provider in all_providers() {
            let s = default_schema(provider, rid(), "http://localhost:8080");
            // Runner fields are checked with the same rules, by treating them as class fields.
            for fields in [s.environment_classes.clone(), s.runner_config.clone()] {
                let schema = schema_with(fields.clone());
                let each: Vec<FieldValue> =
                    fields.iter().filter_map(|f| f.kind.default_value().map(|d| fv(&f.id, &d))).collect();
                // (Required fields without a default are left out here, so not reported.)
                let errors: Vec<_> = validate_environment_class(&schema, &each)
                    .into_iter()
                    .filter(|(_, e)| e != "is required")
                    .collect();
                assert_eq!(errors, vec![], "{provider:?}");
                for f in &fields {
                    if let FieldKind::Enum { possible_values, .. } = &f.kind {
                        for v in possible_values {
                            assert_eq!(validate_environment_class(&schema, &[fv(&f.id, &v.title)]), vec![]);
                        }
                    }
                }
            }
            // An empty configuration is valid: every required class field has a default.
            assert_eq!(validate_environment_class(&s, &[]), vec![], "{provider:?}");
        }
    }

    #[test]
    fn aws_schema() {
        let s = default_schema(Some(RunnerProvider::AwsEc2), rid(), "https://x");
        let ids: Vec<&str> = s.environment_classes.iter().map(|f| f.id.as_str()).collect();
        assert_eq!(ids, ["instanceType", "diskSizeGb", "spot", "imageId", "billing"]);
        let ok = [
            fv("instanceType", "c6i.2xlarge"),
            fv("diskSizeGb", "250"),
            fv("spot", "true"),
            fv("imageId", "ami-0abcdef1234567890"),
        ];
        assert_eq!(validate_environment_class(&s, &ok), vec![]);
        let bad = [fv("instanceType", "m6i.huge"), fv("diskSizeGb", "10"), fv("imageId", "ami-XYZ")];
        let errors = validate_environment_class(&s, &bad);
        assert_eq!(errors.iter().map(|e| e.0.as_str()).collect::<Vec<_>>(), ["instanceType", "diskSizeGb", "imageId"]);
        assert_eq!(validate_environment_class(&s, &[fv("imageId", "ami-12345678")]), vec![]);
        let t = s.environment_class_field("instanceType").unwrap();
        let FieldKind::Enum { possible_values, default_value } = &t.kind else { panic!() };
        assert_eq!(default_value.as_ref().unwrap().title, "m6i.xlarge");
        let g5 = possible_values.iter().find(|v| v.title == "g5.xlarge").unwrap();
        assert!(g5.subtitle.starts_with("4 vCPU, 16 GiB"));
        // Runner settings accept real-looking ids.
        let rc = schema_with(s.runner_config.clone());
        let good = [
            fv("vpcId", "vpc-0a1b2c3d4e5f60718"),
            fv("subnetIds", "subnet-0123456789abcdef0,subnet-89abcdef"),
            fv("domainName", "gitpod.example.com"),
        ];
        assert_eq!(validate_environment_class(&rc, &good), vec![]);
        let bad = [fv("vpcId", "vpc-1"), fv("subnetIds", "subnet-01234567,"), fv("domainName", "Example")];
        assert_eq!(validate_environment_class(&rc, &bad).len(), 3);
        assert_eq!(validate_environment_class(&rc, &[]).len(), 3, "vpcId, subnetIds, domainName are required");
    }

    #[test]
    fn gcp_schema() {
        let s = default_schema(Some(RunnerProvider::Gcp), rid(), "https://x");
        let ids: Vec<&str> = s.environment_classes.iter().map(|f| f.id.as_str()).collect();
        assert_eq!(ids, ["machineType", "diskSizeGb", "diskType", "preemptible", "billing"]);
        // The Terraform provider's example configuration.
        let tf = [
            fv("machineType", "n2-standard-8"),
            fv("diskSizeGb", "100"),
            fv("diskType", "pd-ssd"),
            fv("preemptible", "false"),
        ];
        assert_eq!(validate_environment_class(&s, &tf), vec![]);
        assert_eq!(validate_environment_class(&s, &[fv("diskType", "pd-extreme")]).len(), 1);
        let rc = schema_with(s.runner_config.clone());
        assert_eq!(validate_environment_class(&rc, &[fv("projectId", "my-project-123")]), vec![]);
        for bad in ["1project", "short", "ends-with-", "UPPER-case-id"] {
            assert_eq!(validate_environment_class(&rc, &[fv("projectId", bad)]).len(), 1, "{bad}");
        }
    }

    #[test]
    fn generic_schema_accepts_the_api_example() {
        for provider in
            [None, Some(RunnerProvider::Managed), Some(RunnerProvider::LinuxHost), Some(RunnerProvider::DevAgent)]
        {
            let s = default_schema(provider, rid(), "https://x");
            assert_eq!(validate_environment_class(&s, &[fv("cpu", "8"), fv("memory", "16384")]), vec![]);
            assert_eq!(
                validate_environment_class(&s, &[fv("cpu", "0"), fv("memory", "512")]),
                vec![
                    ("cpu".to_owned(), "must be between 1 and 64, got 0".to_owned()),
                    ("memory".to_owned(), "must be between 1024 and 262144, got 512".to_owned()),
                ]
            );
        }
    }

    #[test]
    fn scm_providers() {
        let s = default_schema(Some(RunnerProvider::AwsEc2), rid(), "https://runners.example.com/");
        let ids: Vec<&str> = s.scm.iter().map(|x| x.scm_id.as_str()).collect();
        assert_eq!(ids, ["github", "gitlab", "bitbucket", "azuredevops_entra", "azuredevops_server"]);
        let github = s.scm("github").unwrap();
        assert_eq!(github.name, "GitHub");
        assert_eq!(github.default_hosts, ["github.com"]);
        assert_eq!(
            github.oauth.as_ref().unwrap().callback_url,
            "https://runners.example.com/auth/github/callback?runner=d2c94c27-3b76-4a42-b88c-95a85e392c68"
        );
        let pat = github.pat.as_ref().unwrap();
        for scope in ["repo", "read:user", "user:email", "workflow"] {
            assert!(pat.description.contains(scope), "{scope}");
        }
        let gitlab = s.scm("gitlab").unwrap();
        assert_eq!(gitlab.default_hosts, ["gitlab.com"]);
        for scope in ["api", "read_repository", "read_user"] {
            assert!(gitlab.pat.as_ref().unwrap().description.contains(scope), "{scope}");
        }
        let bitbucket = s.scm("bitbucket").unwrap();
        assert_eq!(bitbucket.default_hosts, ["bitbucket.org"]);
        assert!(bitbucket.oauth.is_some() && bitbucket.pat.is_some());
        let entra = s.scm("azuredevops_entra").unwrap();
        assert_eq!(entra.name, "Azure DevOps (Microsoft Entra ID)");
        assert_eq!(entra.default_hosts, ["dev.azure.com"]);
        assert!(entra.oauth.is_some() && entra.pat.is_none());
        let server = s.scm("azuredevops_server").unwrap();
        assert!(server.default_hosts.is_empty() && server.oauth.is_none());
        assert!(server.pat.as_ref().unwrap().description.contains("Code (Read & write)"));
        for x in &s.scm {
            if let Some(p) = &x.pat {
                assert!(p.docs_link.starts_with("https://"), "{}", x.scm_id);
            }
            if let Some(o) = &x.oauth {
                assert_eq!(o.callback_url, oauth_callback_url("https://runners.example.com", &x.scm_id, rid()));
            }
        }
        assert!(s.scm("gitea").is_none());
    }

    #[test]
    fn schemas_round_trip_through_json() {
        for provider in all_providers() {
            let s = default_schema(provider, rid(), "https://x");
            let json = serde_json::to_string(&s).unwrap();
            assert_eq!(serde_json::from_str::<RunnerConfigurationSchema>(&json).unwrap(), s);
        }
        let f = field("spot", "Spot", "", false, FieldKind::Bool { default: true });
        assert_eq!(serde_json::to_value(&f).unwrap()["kind"], serde_json::json!({"type": "bool", "default": true}));
        // Missing top-level parts read as empty.
        assert_eq!(
            serde_json::from_str::<RunnerConfigurationSchema>("{}").unwrap(),
            RunnerConfigurationSchema::default()
        );
    }

    // --- validation rules ---

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
        let s = schema_with(vec![field("x", "X", "", false, string("", r"^(?i)abc$"))]);
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

    // --- patterns ---

    fn m(pattern: &str, text: &str) -> bool {
        Pattern::new(pattern).unwrap_or_else(|e| panic!("{pattern}: {e}")).is_match(text)
    }

    #[test]
    fn pattern_basics() {
        assert!(m("^ami-[0-9a-f]{8,17}$", "ami-0123abcd"));
        assert!(m("^ami-[0-9a-f]{8,17}$", "ami-0123456789abcdef0"));
        assert!(!m("^ami-[0-9a-f]{8,17}$", "ami-0123abc"));
        assert!(!m("^ami-[0-9a-f]{8,17}$", "ami-0123456789abcdef01"));
        assert!(!m("^ami-[0-9a-f]{8,17}$", "xami-0123abcd"));
        assert!(!m("^ami-[0-9a-f]{8,17}$", "ami-0123ABCD"));
        // Unanchored patterns match anywhere (RE2/Go semantics).
        assert!(m("b+", "abbc"));
        assert!(!m("b+", "ac"));
        assert!(m("", "anything"));
        assert!(m("^$", ""));
        assert!(!m("^$", "x"));
        // Literals, dot, escapes.
        assert!(m(r"^a\.b$", "a.b"));
        assert!(!m(r"^a\.b$", "axb"));
        assert!(m("^a.b$", "axb"));
        assert!(!m("^a.b$", "a\nb"));
        assert!(m(r"^\d{3}-\w+\s\S$", "123-ab_c x"));
        assert!(!m(r"^\D$", "5"));
        assert!(m(r"^\\\$\^$", "\\$^"));
        // Classes.
        assert!(m("^[^0-9]+$", "abc"));
        assert!(!m("^[^0-9]+$", "ab1"));
        assert!(m("^[-a]+$", "a-a"));
        assert!(m("^[a-]+$", "-a"));
        assert!(m("^[]a]+$", "]a"));
        assert!(m(r"^[\d.]+$", "1.2"));
        assert!(m(r"^[\]\\]+$", "]\\"));
        assert!(m("^[äöü]$", "ö"));
        // Quantifiers.
        assert!(m("^ab?c$", "ac") && m("^ab?c$", "abc") && !m("^ab?c$", "abbc"));
        assert!(m("^ab*c$", "ac") && m("^ab*c$", "abbbc"));
        assert!(!m("^ab+c$", "ac") && m("^ab+c$", "abbc"));
        assert!(m("^a{3}$", "aaa") && !m("^a{3}$", "aa") && !m("^a{3}$", "aaaa"));
        assert!(m("^a{2,}$", "aaaaa") && !m("^a{2,}$", "a"));
        assert!(m("^a{0,2}$", "") && m("^a{0,2}$", "aa") && !m("^a{0,2}$", "aaa"));
        assert!(m("^a+?$", "aa"));
        // A `{` that is not a repetition is a literal.
        assert!(m("^a{x}$", "a{x}"));
        assert!(m("^{$", "{"));
        // Groups and alternation.
        assert!(m("^(ab|cd)+$", "abcdab") && !m("^(ab|cd)+$", "abc"));
        assert!(m("^(?:x|y|)z$", "z") && m("^(?:x|y|)z$", "yz"));
        assert!(m("^subnet-[0-9a-f]{8}(,subnet-[0-9a-f]{8})*$", "subnet-01234567,subnet-89abcdef"));
        assert!(!m("^subnet-[0-9a-f]{8}(,subnet-[0-9a-f]{8})*$", "subnet-01234567,"));
        assert!(m("^a$|^b$", "b"));
        assert!(m("(^a|b$)", "xb") && !m("(^a|b$)", "xa"));
        assert!(m("^()$", ""));
    }

    #[test]
    fn pattern_is_linear() {
        // Exponential for a backtracking matcher; immediate here.
        let p = Pattern::new("^(a*)*(a|aa)*b$").unwrap();
        let text = "a".repeat(MAX_VALUE_CHARS);
        let started = std::time::Instant::now();
        assert!(!p.is_match(&text));
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
        let p = Pattern::new("^(a?){30}a{30}$").unwrap();
        assert!(p.is_match(&"a".repeat(30)));
        assert!(!p.is_match(&"a".repeat(29)));
    }

    #[test]
    fn unsupported_patterns_are_refused() {
        for bad in [
            "(?i)abc",
            "(?P<x>a)",
            "(?=a)",
            r"\bword",
            r"(a)\1",
            r"\p{L}",
            "[[:alpha:]]",
            r"[\D]",
            "(ab",
            "ab)",
            "[ab",
            "*a",
            "a**",
            "a{2}{3}",
            "a{1001}",
            "a{3,2}",
            "{2}",
            r"abc\",
            "[z-a]",
        ] {
            assert!(Pattern::new(bad).is_err(), "{bad}");
        }
        assert!(Pattern::new(&"(".repeat(40)).is_err());
        assert!(Pattern::new(&"a".repeat(MAX_PATTERN_CHARS + 1)).is_err());
        // Expanded repetitions are bounded too.
        assert!(Pattern::new("((a{1000}){1000})").is_err());
        assert_eq!(Pattern::new("a{2}{3}").unwrap_err().to_string(), "unsupported pattern: nested repetition operator");
    }
}
