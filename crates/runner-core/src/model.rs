//! Domain types of the runner API.
//!
//! The enums carry the same numbers as the API's enums, so that stored values and wire values
//! agree; an unknown number never becomes a domain value (see [`ApiEnum::from_number`]).

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::time::Timestamp;

/// An enum of the API: a closed set of named values with stable numbers.
pub trait ApiEnum: Sized + Copy + 'static {
    /// Every value, in number order.
    const VALUES: &'static [Self];
    fn number(self) -> i32;
    /// The stable storage name (lower snake case).
    fn as_str(self) -> &'static str;
    fn from_number(n: i32) -> Option<Self> {
        Self::VALUES.iter().copied().find(|v| v.number() == n)
    }
    fn parse(s: &str) -> Option<Self> {
        Self::VALUES.iter().copied().find(|v| v.as_str() == s)
    }
}

macro_rules! api_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $num:literal => $s:literal,)+ }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($(#[$vdoc])* $variant,)+ }

        impl ApiEnum for $name {
            const VALUES: &'static [Self] = &[$(Self::$variant,)+];
            fn number(self) -> i32 { match self { $(Self::$variant => $num,)+ } }
            fn as_str(self) -> &'static str { match self { $(Self::$variant => $s,)+ } }
        }
    };
}

api_enum!(
    /// How a runner is operated.
    RunnerKind {
        /// Deprecated: local runners are no longer supported.
        Local = 1 => "local",
        Remote = 2 => "remote",
        /// The one system runner per organization that holds shared local-runner settings.
        LocalConfiguration = 3 => "local_configuration",
    }
);

api_enum!(
    /// Where a runner runs; each provider implies a kind.
    RunnerProvider {
        AwsEc2 = 1 => "aws_ec2",
        /// Deprecated.
        LinuxHost = 2 => "linux_host",
        /// Deprecated.
        DesktopMac = 3 => "desktop_mac",
        /// Internal: operated by a runner manager.
        Managed = 4 => "managed",
        Gcp = 5 => "gcp",
        /// Internal testing.
        DevAgent = 6 => "dev_agent",
    }
);

impl RunnerProvider {
    /// The kind every runner of this provider has.
    pub fn kind(self) -> RunnerKind {
        match self {
            RunnerProvider::AwsEc2 | RunnerProvider::Gcp | RunnerProvider::Managed | RunnerProvider::DevAgent => {
                RunnerKind::Remote
            }
            RunnerProvider::LinuxHost | RunnerProvider::DesktopMac => RunnerKind::Local,
        }
    }

    /// Deprecated providers that can no longer be created.
    pub fn is_deprecated(self) -> bool {
        matches!(self, RunnerProvider::LinuxHost | RunnerProvider::DesktopMac)
    }

    /// Providers reserved for the operator of the service.
    pub fn is_internal(self) -> bool {
        matches!(self, RunnerProvider::Managed | RunnerProvider::DevAgent)
    }
}

api_enum!(
    /// Lifecycle phase of a runner.
    RunnerPhase {
        /// Created, not signed up yet.
        Created = 1 => "created",
        /// Signed up, has not reported yet.
        Inactive = 2 => "inactive",
        Active = 3 => "active",
        Deleting = 4 => "deleting",
        Deleted = 5 => "deleted",
        Degraded = 6 => "degraded",
    }
);

api_enum!(
    ReleaseChannel {
        Stable = 1 => "stable",
        Latest = 2 => "latest",
    }
);

api_enum!(
    LogLevel {
        Debug = 1 => "debug",
        Info = 2 => "info",
        Warn = 3 => "warn",
        Error = 4 => "error",
    }
);

api_enum!(
    RunnerVariant {
        Standard = 1 => "standard",
        Enterprise = 2 => "enterprise",
    }
);

api_enum!(
    /// The kind of identity behind a subject.
    Principal {
        Account = 1 => "account",
        User = 2 => "user",
        Runner = 3 => "runner",
        Environment = 4 => "environment",
        ServiceAccount = 5 => "service_account",
        RunnerManager = 6 => "runner_manager",
    }
);

api_enum!(
    /// What an audit log entry records (the API's `AuditLogEntryKind`).
    AuditKind {
        /// An authorization failure: the API has no kind for it, so it reads as
        /// `AUDIT_LOG_ENTRY_KIND_UNSPECIFIED`, with an action ending in `: permission_denied`.
        AuthorizationDenied = 0 => "authorization_denied",
        /// A resource was created, changed or deleted.
        ResourceChange = 3 => "resource_change",
        /// A secret value was read.
        CredentialAccess = 4 => "credential_access",
    }
);

api_enum!(
    /// The type of the resource an audit log entry is about (the numbers of the API's
    /// `ResourceType`).
    AuditSubject {
        Runner = 2 => "runner",
        Organization = 7 => "organization",
        User = 8 => "user",
        EnvironmentClass = 9 => "environment_class",
        ScmIntegration = 10 => "scm_integration",
        HostToken = 11 => "host_authentication_token",
        Group = 12 => "group",
        PersonalAccessToken = 13 => "personal_access_token",
        ServiceAccount = 15 => "service_account",
        SsoConfiguration = 17 => "sso_configuration",
        LlmIntegration = 20 => "llm_integration",
        Account = 31 => "account",
        GroupMembership = 41 => "group_membership",
        RoleAssignment = 47 => "role_assignment",
    }
);

api_enum!(
    /// Features a runner reports that it supports.
    RunnerCapability {
        FetchLocalScmIntegrations = 1 => "fetch_local_scm_integrations",
        SecretContainerRegistry = 2 => "secret_container_registry",
        AgentExecution = 3 => "agent_execution",
        AllowEnvTokenPopulation = 4 => "allow_env_token_population",
        DefaultDevContainerImage = 5 => "default_dev_container_image",
        EnvironmentSnapshot = 6 => "environment_snapshot",
        PrebuildsBeforeSnapshotTrigger = 7 => "prebuilds_before_snapshot_trigger",
        ListScmOrganizations = 8 => "list_scm_organizations",
        CheckRepositoryAccess = 9 => "check_repository_access",
        RunnerSideAgent = 10 => "runner_side_agent",
        WarmPool = 11 => "warm_pool",
        AsgWarmPool = 12 => "asg_warm_pool",
        PortAuthentication = 13 => "port_authentication",
        HorizontalScaling = 14 => "horizontal_scaling",
        AgentExecutionCnf = 15 => "agent_execution_cnf",
        RedisStream = 16 => "redis_stream",
        DynamicLlmRequestHeaders = 18 => "dynamic_llm_request_headers",
    }
);

api_enum!(
    /// A role that a runner policy grants a group.
    RunnerRole {
        /// Configure the runner, manage its integrations and share it.
        Admin = 1 => "admin",
        /// Create environments on the runner.
        User = 2 => "user",
    }
);

api_enum!(
    /// A kind of resource a role can be assigned on (the numbers of the API's `ResourceType`).
    ResourceKind {
        Runner = 2 => "runner",
        Organization = 7 => "organization",
    }
);

api_enum!(
    /// A role a group can be assigned on a resource (a role assignment), among the API's
    /// `ResourceRole` values (their numbers): the ones this server honours. The organization
    /// roles of users (admin, member) are on their membership (`OrgRole`), not assignments.
    ResourceRole {
        /// Admin of every runner of the organization.
        OrgRunnersAdmin = 50 => "org_runners_admin",
        /// Manages the organization's groups, their members and their roles on resources.
        OrgGroupsAdmin = 53 => "org_groups_admin",
        /// Reads the organization's audit log.
        OrgAuditLogReader = 64 => "org_audit_log_reader",
        /// Admin of one runner (a runner policy with role ADMIN).
        RunnerAdmin = 14 => "runner_admin",
        /// User of one runner (a runner policy with role USER).
        RunnerUser = 17 => "runner_user",
    }
);

impl ResourceRole {
    /// The kind of resource the role is assigned on.
    pub fn resource_kind(self) -> ResourceKind {
        match self {
            Self::OrgRunnersAdmin | Self::OrgGroupsAdmin | Self::OrgAuditLogReader => ResourceKind::Organization,
            Self::RunnerAdmin | Self::RunnerUser => ResourceKind::Runner,
        }
    }

    /// The runner policy role this role is, for roles on runners.
    pub fn runner_role(self) -> Option<RunnerRole> {
        match self {
            Self::RunnerAdmin => Some(RunnerRole::Admin),
            Self::RunnerUser => Some(RunnerRole::User),
            _ => None,
        }
    }
}

impl From<RunnerRole> for ResourceRole {
    fn from(role: RunnerRole) -> Self {
        match role {
            RunnerRole::Admin => Self::RunnerAdmin,
            RunnerRole::User => Self::RunnerUser,
        }
    }
}

/// A group's role on a runner: a role assignment of [`ResourceRole::RunnerAdmin`] or
/// [`ResourceRole::RunnerUser`] on the runner, seen through RunnerService.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunnerPolicy {
    pub runner_id: Uuid,
    pub group_id: Uuid,
    pub role: RunnerRole,
}

/// Who did something: a user, service account, runner, ….
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subject {
    pub id: Uuid,
    pub principal: Principal,
}

/// Daily UTC window in which a runner may update itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpdateWindow {
    pub start_hour: u32,
    pub end_hour: u32,
}

/// Where a runner sends its metrics.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct MetricsConfiguration {
    pub enabled: bool,
    pub url: String,
    pub username: String,
    /// The metrics endpoint's password, encrypted at rest under the server key (bound to the
    /// runner's id); write-only through the API.
    pub encrypted_password: Vec<u8>,
    pub managed_metrics_enabled: bool,
    pub include_verbose_metrics: bool,
}

/// The configuration part of a runner's spec.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RunnerConfiguration {
    pub region: String,
    pub release_channel: Option<ReleaseChannel>,
    pub auto_update: bool,
    pub metrics: Option<MetricsConfiguration>,
    pub log_level: Option<LogLevel>,
    pub devcontainer_image_cache_enabled: bool,
    pub update_window: Option<UpdateWindow>,
    /// Ciphertext only (sealed to the runner's public key).
    pub encrypted_honeycomb_api_key: Vec<u8>,
    pub continuous_profiling: bool,
}

/// What the API's callers want the runner to be.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RunnerSpec {
    pub desired_phase: Option<RunnerPhase>,
    pub configuration: RunnerConfiguration,
    pub variant: Option<RunnerVariant>,
}

/// A key/value pair reported by a runner or set on an environment class.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldValue {
    pub key: String,
    pub value: String,
}

/// The gateway a runner is connected through.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct GatewayInfo {
    pub name: String,
    pub url: String,
    pub region: String,
    /// Round-trip time from runner to gateway, in microseconds.
    pub latency_micros: Option<i64>,
}

/// What the runner process reported about itself. Never written by API callers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RunnerStatus {
    pub updated_at: Option<Timestamp>,
    pub version: String,
    pub system_details: String,
    pub phase: RunnerPhase,
    pub log_url: String,
    pub message: String,
    pub region: String,
    pub additional_info: Vec<FieldValue>,
    pub capabilities: Vec<RunnerCapability>,
    pub gateway_info: Option<GatewayInfo>,
    pub llm_url: String,
    pub public_key: Vec<u8>,
    pub support_bundle_url: String,
}

impl Default for RunnerStatus {
    fn default() -> Self {
        Self {
            updated_at: None,
            version: String::new(),
            system_details: String::new(),
            phase: RunnerPhase::Created,
            log_url: String::new(),
            message: String::new(),
            region: String::new(),
            additional_info: Vec::new(),
            capabilities: Vec::new(),
            gateway_info: None,
            llm_url: String::new(),
            public_key: Vec::new(),
            support_bundle_url: String::new(),
        }
    }
}

/// A runner: the API's central resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Runner {
    pub id: Uuid,
    /// The organization the runner belongs to; not part of the API, every call is scoped to
    /// the caller's organization.
    pub org_id: Uuid,
    pub name: String,
    pub kind: RunnerKind,
    pub provider: Option<RunnerProvider>,
    pub runner_manager_id: Option<Uuid>,
    pub creator: Option<Subject>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub spec: RunnerSpec,
    pub status: RunnerStatus,
    /// Optimistic-concurrency counter, bumped by every write; not part of the API.
    pub revision: i64,
}

/// A class of environments a runner offers (size, machine type, …).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvironmentClass {
    pub id: Uuid,
    pub runner_id: Uuid,
    pub display_name: String,
    pub description: String,
    /// Provider-specific settings, checked against the runner's schema; immutable.
    pub configuration: Vec<FieldValue>,
    /// Whether new environments may use the class.
    pub enabled: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub revision: i64,
}

/// OAuth settings of an SCM integration; the client secret only as ciphertext sealed to the
/// runner's public key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScmOAuthConfig {
    pub client_id: String,
    pub encrypted_client_secret: Vec<u8>,
    pub issuer_url: String,
}

/// An SCM provider enabled on a runner, for one host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScmIntegration {
    pub id: Uuid,
    pub runner_id: Uuid,
    pub scm_id: String,
    pub host: String,
    pub oauth: Option<ScmOAuthConfig>,
    pub pat: bool,
    pub virtual_directory: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub revision: i64,
}

api_enum!(
    /// How a host authentication token was obtained.
    HostTokenSource {
        Oauth = 1 => "oauth",
        Pat = 2 => "pat",
    }
);

/// A user's or service account's SCM credential for one runner and host. The token values are
/// kept only as ciphertext under the server's at-rest key and never returned by the API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostToken {
    pub id: Uuid,
    pub runner_id: Uuid,
    pub host: String,
    pub subject: Subject,
    pub source: HostTokenSource,
    pub token_ciphertext: Vec<u8>,
    pub refresh_token_ciphertext: Option<Vec<u8>>,
    pub expires_at: Option<Timestamp>,
    pub integration_id: Option<Uuid>,
    pub scopes: Vec<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub revision: i64,
}

/// A request header an LLM integration adds; the value sealed to the runner's public key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LlmRequestHeader {
    pub key: String,
    pub sealed_value: Vec<u8>,
    /// Number of the API's `LLMIntegrationRequestHeaderType` (checked at the edge).
    pub header_type: i32,
}

/// What an LLM integration holds. Model, phase and provider are numbers of the API's
/// `SupportedModel`, `LLMIntegrationPhase` and `LLMProvider` enums, checked at the edge: they
/// are lists of product names this server stores but does not interpret.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct LlmIntegrationBody {
    pub models: Vec<i32>,
    pub endpoint: String,
    pub encrypted_api_key: Vec<u8>,
    pub max_tokens: u64,
    pub phase: i32,
    pub phase_reason: String,
    pub request_headers: Vec<LlmRequestHeader>,
    pub provider: i32,
}

/// An LLM service a runner's agents may use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LlmIntegration {
    pub id: Uuid,
    pub runner_id: Uuid,
    pub body: LlmIntegrationBody,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub revision: i64,
}

/// Which environment classes a list call wants (lists ANDed, values ORed, `None` = any).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct EnvironmentClassFilter {
    #[serde(skip_serializing_if = "Vec::is_empty", rename = "r")]
    pub runner_ids: Vec<Uuid>,
    #[serde(skip_serializing_if = "Option::is_none", rename = "e")]
    pub enabled: Option<bool>,
    /// Classes the caller may (true) or may not (false) create environments with: enabled,
    /// on a runner it can use that is not being deleted.
    #[serde(skip_serializing_if = "Option::is_none", rename = "c")]
    pub can_create_environments: Option<bool>,
    #[serde(skip_serializing_if = "Vec::is_empty", rename = "k")]
    pub runner_kinds: Vec<RunnerKind>,
    #[serde(skip_serializing_if = "Vec::is_empty", rename = "p")]
    pub runner_providers: Vec<RunnerProvider>,
}

/// Which runners a list call wants. Empty lists mean "no restriction"; the lists are ANDed and
/// the values inside one list ORed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RunnerFilter {
    #[serde(skip_serializing_if = "Vec::is_empty", rename = "c")]
    pub creator_ids: Vec<Uuid>,
    #[serde(skip_serializing_if = "Vec::is_empty", rename = "k")]
    pub kinds: Vec<RunnerKind>,
    #[serde(skip_serializing_if = "Vec::is_empty", rename = "p")]
    pub providers: Vec<RunnerProvider>,
}

impl RunnerFilter {
    /// Whether a runner passes the filter (the stores implement the same rule in SQL). With no
    /// kinds given, every kind but the local-configuration runner passes: it is listed only
    /// when asked for by kind.
    pub fn matches(&self, runner: &Runner) -> bool {
        (self.creator_ids.is_empty() || runner.creator.as_ref().is_some_and(|c| self.creator_ids.contains(&c.id)))
            && (if self.kinds.is_empty() {
                runner.kind != RunnerKind::LocalConfiguration
            } else {
                self.kinds.contains(&runner.kind)
            })
            && (self.providers.is_empty() || runner.provider.is_some_and(|p| self.providers.contains(&p)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enum_numbers_and_names_round_trip() {
        for v in RunnerCapability::VALUES {
            assert_eq!(RunnerCapability::from_number(v.number()), Some(*v));
            assert_eq!(RunnerCapability::parse(v.as_str()), Some(*v));
        }
        assert_eq!(RunnerCapability::from_number(17), None);
        assert_eq!(RunnerPhase::from_number(0), None);
        assert_eq!(RunnerProvider::Gcp.kind(), RunnerKind::Remote);
        assert_eq!(RunnerProvider::LinuxHost.kind(), RunnerKind::Local);
    }
}
