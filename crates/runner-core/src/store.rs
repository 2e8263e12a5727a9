//! Storage ports. The backends (`runner-store`) implement [`Store`]; the use cases only see
//! this trait and domain types.

use async_trait::async_trait;
use uuid::Uuid;

use crate::authz::Visibility;
use crate::identity::{AccessTokenInfo, Group, Member, OrgRole, Organization};
use crate::model::{
    EnvironmentClass, EnvironmentClassFilter, HostToken, HostTokenSource, LlmIntegration, Runner, RunnerFilter,
    RunnerPhase, RunnerPolicy, RunnerRole, ScmIntegration,
};
use crate::schema::RunnerConfigurationSchema;
use crate::time::Timestamp;

/// What a backend can fail with. Produced only by the store adapters.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique key is taken.
    #[error("already exists")]
    AlreadyExists,
    /// A transaction lost to a concurrent one (serialization failure, deadlock); the store
    /// retries these itself, so callers see it only when retries ran out.
    #[error("concurrent transaction conflict")]
    Conflict,
    /// The database is unreachable or overloaded (busy, pool exhausted, connection lost).
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    /// Anything else: a bug, a corrupt row, a failed migration.
    #[error("storage error: {0}")]
    Other(String),
}

/// Purpose of a server-minted runner token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunnerTokenKind {
    /// One-time token the runner process trades for its own credentials.
    Exchange,
    /// Read access to one runner's logs and support bundle.
    Logs,
    /// Bearer token of the runner principal, traded for an exchange token.
    Access,
}

impl RunnerTokenKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RunnerTokenKind::Exchange => "exchange",
            RunnerTokenKind::Logs => "logs",
            RunnerTokenKind::Access => "access",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [RunnerTokenKind::Exchange, RunnerTokenKind::Logs, RunnerTokenKind::Access]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
}

/// A stored runner token, found by its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunnerTokenInfo {
    pub runner_id: Uuid,
    /// The organization of the runner.
    pub org_id: Uuid,
    pub kind: RunnerTokenKind,
    pub expires_at: Timestamp,
    /// When an exchange token was redeemed.
    pub used_at: Option<Timestamp>,
}

/// A token to store: only its hash.
#[derive(Debug, Clone)]
pub struct NewRunnerToken {
    pub hash: Vec<u8>,
    pub runner_id: Uuid,
    pub kind: RunnerTokenKind,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

/// Outcome of a conditional write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteOutcome {
    Written,
    /// The row changed since it was read (its revision moved on), or is gone.
    Conflict,
}

/// Everything the use cases persist.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Inserts a runner and its first exchange token atomically.
    async fn insert_runner(&self, runner: &Runner, token: &NewRunnerToken) -> Result<(), StoreError>;

    async fn get_runner(&self, id: Uuid) -> Result<Option<Runner>, StoreError>;

    /// Runners visible under `visibility` and passing `filter`, ordered by id (time-ordered
    /// UUIDv7), after `after`, at most `limit` of them.
    async fn list_runners(
        &self,
        visibility: &Visibility,
        filter: &RunnerFilter,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<Runner>, StoreError>;

    /// Writes `runner` (its `revision` already bumped) only if the stored revision is
    /// `runner.revision - 1`.
    async fn update_runner(&self, runner: &Runner) -> Result<WriteOutcome, StoreError>;

    /// Removes a runner and everything that belongs to it. `false` when it was already gone.
    async fn delete_runner(&self, id: Uuid) -> Result<bool, StoreError>;

    /// Stores another token for an existing runner.
    async fn insert_runner_token(&self, token: &NewRunnerToken) -> Result<(), StoreError>;

    /// The runner token with this hash, and its runner's organization.
    async fn resolve_runner_token(&self, hash: &[u8]) -> Result<Option<RunnerTokenInfo>, StoreError>;

    /// Marks the exchange token with this hash used, if it is an unused exchange token that
    /// expires after `now`, returns its runner and, in the same transaction, stores the access
    /// token `access` (its `runner_id` is ignored: the token is stored for the redeemed token's
    /// runner). Atomic: of concurrent redemptions, on any number of replicas, exactly one gets
    /// the runner. Both or neither: a crash or an error in between never spends the exchange
    /// token without the access token it bought.
    async fn redeem_exchange_token_for_access(
        &self,
        hash: &[u8],
        now: Timestamp,
        access: &NewRunnerToken,
    ) -> Result<Option<Uuid>, StoreError>;

    // --- Identity -------------------------------------------------------------------------

    /// Creates an organization together with its `org-members` system group and its
    /// local-configuration runner, atomically.
    async fn create_organization(
        &self,
        org: &Organization,
        members_group: &Group,
        local_configuration: &Runner,
    ) -> Result<(), StoreError>;
    async fn list_organizations(&self) -> Result<Vec<Organization>, StoreError>;
    async fn create_member(&self, member: &Member) -> Result<(), StoreError>;
    async fn get_member(&self, id: Uuid) -> Result<Option<Member>, StoreError>;
    async fn list_members(&self, org_id: Uuid) -> Result<Vec<Member>, StoreError>;
    /// `false` when there is no such member.
    async fn set_member_role(&self, member_id: Uuid, role: OrgRole) -> Result<bool, StoreError>;
    async fn create_group(&self, group: &Group) -> Result<(), StoreError>;
    async fn get_group(&self, id: Uuid) -> Result<Option<Group>, StoreError>;
    async fn list_groups(&self, org_id: Uuid) -> Result<Vec<Group>, StoreError>;
    /// Adds a member to a (non-system) group; `AlreadyExists` when it is in already.
    async fn add_group_member(&self, group_id: Uuid, member_id: Uuid) -> Result<(), StoreError>;
    /// `false` when there is no such group.
    async fn set_group_runners_admin(&self, group_id: Uuid, runners_admin: bool) -> Result<bool, StoreError>;
    /// Stores a personal access token by its hash.
    async fn insert_access_token(&self, token: &AccessTokenInfo, hash: &[u8]) -> Result<(), StoreError>;
    /// `false` when there is no such token or it was revoked before.
    async fn revoke_access_token(&self, id: Uuid, at: Timestamp) -> Result<bool, StoreError>;
    async fn list_access_tokens(&self, org_id: Uuid) -> Result<Vec<AccessTokenInfo>, StoreError>;
    /// The token with this hash, its member, and every group the member is in (the
    /// organization's `org-members` group included).
    async fn resolve_access_token(
        &self,
        hash: &[u8],
    ) -> Result<Option<(AccessTokenInfo, Member, Vec<Group>)>, StoreError>;

    // --- Runner policies ------------------------------------------------------------------

    /// Roles of the runner's policies whose group is one of `groups`.
    async fn policy_roles(&self, runner_id: Uuid, groups: &[Uuid]) -> Result<Vec<RunnerRole>, StoreError>;
    /// A runner's policies ordered by group id, after `after`, at most `limit`.
    async fn list_runner_policies(
        &self,
        runner_id: Uuid,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<RunnerPolicy>, StoreError>;
    /// `AlreadyExists` when the runner has a policy for that group.
    async fn insert_runner_policy(&self, policy: &RunnerPolicy) -> Result<(), StoreError>;
    /// `false` when there is no such policy.
    async fn update_runner_policy(&self, policy: &RunnerPolicy) -> Result<bool, StoreError>;
    /// `false` when there is no such policy.
    async fn delete_runner_policy(&self, runner_id: Uuid, group_id: Uuid) -> Result<bool, StoreError>;

    // --- Configuration --------------------------------------------------------------------

    /// The schema the runner reported, if it did.
    async fn get_runner_schema(&self, runner_id: Uuid) -> Result<Option<RunnerConfigurationSchema>, StoreError>;
    /// Stores the schema a runner reported. `false` when the runner is gone.
    async fn set_runner_schema(&self, runner_id: Uuid, schema: &RunnerConfigurationSchema) -> Result<bool, StoreError>;

    async fn insert_environment_class(&self, class: &EnvironmentClass) -> Result<(), StoreError>;
    async fn get_environment_class(&self, id: Uuid) -> Result<Option<EnvironmentClass>, StoreError>;
    /// Classes on runners visible under `visibility` passing `filter`, by id, after `after`.
    async fn list_environment_classes(
        &self,
        visibility: &Visibility,
        filter: &EnvironmentClassFilter,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<EnvironmentClass>, StoreError>;
    /// Writes `class` (revision already bumped) only if the stored revision is one less.
    async fn update_environment_class(&self, class: &EnvironmentClass) -> Result<WriteOutcome, StoreError>;

    // --- SCM integrations -------------------------------------------------------------------

    /// `AlreadyExists` when the runner has an integration for that host.
    async fn insert_scm_integration(&self, integration: &ScmIntegration) -> Result<(), StoreError>;
    async fn get_scm_integration(&self, id: Uuid) -> Result<Option<ScmIntegration>, StoreError>;
    /// Integrations on runners visible under `visibility` (restricted to `runner_ids` unless
    /// empty), by id, after `after`.
    async fn list_scm_integrations(
        &self,
        visibility: &Visibility,
        runner_ids: &[Uuid],
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<ScmIntegration>, StoreError>;
    /// Writes `integration` (revision bumped) only if the stored revision is one less, and in
    /// the same transaction deletes the runner's host tokens for its host whose source is in
    /// `revoke_sources`.
    async fn update_scm_integration(
        &self,
        integration: &ScmIntegration,
        revoke_sources: &[HostTokenSource],
    ) -> Result<WriteOutcome, StoreError>;
    /// Deletes the integration and the runner's host tokens for its host. `false` when gone.
    async fn delete_scm_integration(&self, integration: &ScmIntegration) -> Result<bool, StoreError>;

    // --- Host authentication tokens ---------------------------------------------------------

    /// `AlreadyExists` when the subject has a token for that runner and host.
    async fn insert_host_token(&self, token: &HostToken) -> Result<(), StoreError>;
    async fn get_host_token(&self, id: Uuid) -> Result<Option<HostToken>, StoreError>;
    /// Tokens on runners visible under `visibility`, of `subject` when given, of `runner` when
    /// given, by id, after `after`.
    async fn list_host_tokens(
        &self,
        visibility: &Visibility,
        runner: Option<Uuid>,
        subject: Option<Uuid>,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<HostToken>, StoreError>;
    /// Writes `token` (revision bumped) only if the stored revision is one less.
    async fn update_host_token(&self, token: &HostToken) -> Result<WriteOutcome, StoreError>;
    /// `false` when it was gone already.
    async fn delete_host_token(&self, id: Uuid) -> Result<bool, StoreError>;

    // --- LLM integrations -------------------------------------------------------------------

    async fn insert_llm_integration(&self, integration: &LlmIntegration) -> Result<(), StoreError>;
    async fn get_llm_integration(&self, id: Uuid) -> Result<Option<LlmIntegration>, StoreError>;
    /// Integrations on runners visible under `visibility` (restricted to `runner_ids` unless
    /// empty), by id, after `after`.
    async fn list_llm_integrations(
        &self,
        visibility: &Visibility,
        runner_ids: &[Uuid],
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<LlmIntegration>, StoreError>;
    /// Writes `integration` (revision bumped) only if the stored revision is one less.
    async fn update_llm_integration(&self, integration: &LlmIntegration) -> Result<WriteOutcome, StoreError>;
    /// `false` when it was gone already.
    async fn delete_llm_integration(&self, id: Uuid) -> Result<bool, StoreError>;

    /// Records the server key's fingerprint if the database has none yet, and returns the one
    /// on record (the first replica's).
    async fn key_fingerprint(&self, fingerprint: &str) -> Result<String, StoreError>;

    /// How many runners are in each phase, over every organization (for metrics).
    async fn count_runners_by_phase(&self) -> Result<Vec<(RunnerPhase, u64)>, StoreError>;

    /// Connections of the pool: `(open, idle)`.
    fn pool_usage(&self) -> (u32, u32);

    /// Whether the store answers; used by health checks.
    async fn ping(&self) -> Result<(), StoreError>;
}
