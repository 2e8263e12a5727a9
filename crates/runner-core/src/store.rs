//! Storage ports. The backends (`runner-store`) implement one trait per entity, as InfluxDB
//! IOx's catalog does; [`Store`] is all of them together, and the use cases hold an
//! `Arc<dyn Store>` and see only these traits and domain types.
//!
//! | trait | file | what |
//! |---|---|---|
//! | [`RunnerRepo`] | `store/runners.rs` | runners, their list filters, counts by phase |
//! | [`RunnerTokenRepo`] | `store/runner_tokens.rs` | exchange, logs and access tokens of runners |
//! | [`IdentityRepo`] | `store/identity.rs` | organizations, members (with the last-admin check), groups |
//! | [`InviteRepo`] | `store/invites.rs` | the current invite of each organization |
//! | [`GroupRepo`] | `store/groups.rs` | changing and deleting groups, their memberships |
//! | [`AccessTokenRepo`] | `store/access_tokens.rs` | access tokens of users and service accounts |
//! | [`ServiceAccountRepo`] | `store/service_accounts.rs` | service accounts and their details |
//! | [`PolicyRepo`] | `store/policies.rs` | runner policies (role assignments on runners, seen through RunnerService) |
//! | [`RoleAssignmentRepo`] | `store/role_assignments.rs` | role assignments of groups on runners and organizations |
//! | [`ConfigurationSchemaRepo`] | `store/configuration_schema.rs` | the schema a runner reported |
//! | [`EnvironmentClassRepo`] | `store/environment_classes.rs` | environment classes |
//! | [`ScmIntegrationRepo`] | `store/scm_integrations.rs` | SCM integrations |
//! | [`HostTokenRepo`] | `store/host_tokens.rs` | host authentication tokens |
//! | [`LlmIntegrationRepo`] | `store/llm_integrations.rs` | LLM integrations |
//! | [`SsoRepo`] | `store/sso.rs` | SSO configurations of organizations and their email domains |
//! | [`AccountRepo`] | `store/accounts.rs` | accounts (people), their identities at OpenID providers, their members |
//! | [`SessionRepo`] | `store/sessions.rs` | SSO sign-ins in progress (one use) and console sessions |
//! | [`AuditRepo`] | `store/audit.rs` | audit log entries that record no write, their reads, retention |
//! | [`ServerRepo`] | `store/server.rs` | the key fingerprint, write turns across processes, pool usage, ping |
//!
//! Every write method of the other traits also inserts the write's audit log entry
//! (`crate::audit::entry`) in its own transaction, when it changed a row.
//!
//! A backend implements the nineteen traits; [`Store`] comes with them (a blanket impl). Every
//! method has cases in `runner-store`'s conformance suite, which runs on each backend.

mod access_tokens;
mod accounts;
mod audit;
mod configuration_schema;
mod environment_classes;
mod groups;
mod host_tokens;
mod identity;
mod invites;
mod llm_integrations;
mod policies;
mod role_assignments;
mod runner_tokens;
mod runners;
mod scm_integrations;
mod server;
mod service_accounts;
mod sessions;
mod sso;

pub use access_tokens::AccessTokenRepo;
pub use accounts::AccountRepo;
pub use audit::AuditRepo;
pub use configuration_schema::ConfigurationSchemaRepo;
pub use environment_classes::EnvironmentClassRepo;
pub use groups::GroupRepo;
pub use host_tokens::HostTokenRepo;
pub use identity::{IdentityRepo, MemberChange, MemberChanged};
pub use invites::InviteRepo;
pub use llm_integrations::LlmIntegrationRepo;
pub use policies::PolicyRepo;
pub use role_assignments::RoleAssignmentRepo;
pub use runner_tokens::{NewRunnerToken, RunnerTokenInfo, RunnerTokenKind, RunnerTokenRepo};
pub use runners::RunnerRepo;
pub use scm_integrations::ScmIntegrationRepo;
pub use server::ServerRepo;
pub use service_accounts::ServiceAccountRepo;
pub use sessions::SessionRepo;
pub use sso::SsoRepo;

use crate::error::CoreError;

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

impl From<StoreError> for CoreError {
    /// The default reading of a store failure. Use cases that expect a duplicate key map
    /// [`StoreError::AlreadyExists`] themselves.
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(m) => CoreError::Unavailable(m),
            StoreError::Conflict => {
                CoreError::Unavailable("the database is busy with concurrent changes; retry".into())
            }
            StoreError::AlreadyExists => CoreError::Internal("unexpected duplicate key".to_owned()),
            StoreError::Other(m) => CoreError::Internal(m),
        }
    }
}

/// Outcome of a conditional write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteOutcome {
    Written,
    /// The row changed since it was read (its revision moved on), or is gone.
    Conflict,
}

/// The turn to write one row, across every process that shares the store
/// ([`ServerRepo::write_turn`]); it ends when dropped.
pub struct WriteTurn(Option<Box<dyn Send>>);

impl WriteTurn {
    /// A turn that other processes wait for until `holder` is dropped (for example a
    /// transaction holding a lock).
    pub fn held(holder: impl Send + 'static) -> Self {
        Self(Some(Box::new(holder)))
    }

    /// The turn of a backend that one process writes (SQLite): there is nobody else to wait
    /// for, and that process's writers take turns in the use cases.
    pub fn single_process() -> Self {
        Self(None)
    }

    /// Whether writers of other processes wait for this turn.
    pub fn excludes_other_processes(&self) -> bool {
        self.0.is_some()
    }
}

impl std::fmt::Debug for WriteTurn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.excludes_other_processes() { "WriteTurn(held)" } else { "WriteTurn(single process)" })
    }
}

/// Declares [`Store`] as all of the per-entity traits, and implements it for every type that
/// implements them: the list is written once.
macro_rules! store_of {
    ($($repo:ident),+ $(,)?) => {
        /// Everything the use cases persist: every per-entity trait. Implemented for any type
        /// that implements them all, so a backend never names it; `Arc<dyn Store>` calls any of
        /// their methods, and upcasts to `Arc<dyn RunnerRepo>` and the others.
        pub trait Store: $($repo +)+ 'static {}

        impl<T: $($repo +)+ 'static> Store for T {}
    };
}

store_of!(
    RunnerRepo,
    RunnerTokenRepo,
    IdentityRepo,
    InviteRepo,
    GroupRepo,
    AccessTokenRepo,
    ServiceAccountRepo,
    PolicyRepo,
    RoleAssignmentRepo,
    ConfigurationSchemaRepo,
    EnvironmentClassRepo,
    ScmIntegrationRepo,
    HostTokenRepo,
    LlmIntegrationRepo,
    SsoRepo,
    AccountRepo,
    SessionRepo,
    AuditRepo,
    ServerRepo,
);
