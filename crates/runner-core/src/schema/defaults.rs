//! The built-in schemas: what a runner offers until it reports its own schema.

use uuid::Uuid;

use super::types::*;
use crate::model::RunnerProvider;

/// `version` of every built-in default schema.
pub const DEFAULT_SCHEMA_VERSION: &str = "default-1";

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

pub(super) fn field(id: &str, name: &str, description: &str, required: bool, kind: FieldKind) -> SchemaField {
    SchemaField {
        id: id.to_owned(),
        name: name.to_owned(),
        description: description.to_owned(),
        required,
        secret: false,
        kind,
    }
}

pub(super) fn string(default: &str, pattern: &str) -> FieldKind {
    FieldKind::String { default: default.to_owned(), pattern: pattern.to_owned() }
}

pub(super) fn display(text: &str) -> FieldKind {
    FieldKind::Display { default: text.to_owned() }
}

pub(super) fn value(title: &str, subtitle: &str, detail: &str) -> EnumValue {
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

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;
    use crate::model::FieldValue;
    use crate::schema::Pattern;
    use crate::schema::check::validate_environment_class;
    use crate::schema::testing::*;

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
}
