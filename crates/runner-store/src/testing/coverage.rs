//! Which `Store` methods the suite runs. A [`Recorder`] stands in front of the store under test
//! and notes every method called through it. Its impls are written with [`forward!`], which
//! also lists each trait's methods: the compiler insists that the impls are complete (a
//! method added to a trait does not compile here until it is forwarded), so that list is
//! every method of `Store`. A unit test compares it with the trait declarations in
//! runner-core's source as well.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use runner_core::audit::{AuditEntry, AuditFilter};
use runner_core::authz::Visibility;
use runner_core::identity::{
    AccessTokenInfo, Account, AccountIdentity, ConsoleSession, Group, Member, Membership, Organization,
    OrganizationInvite, RoleAssignment, RoleAssignmentFilter, ServiceAccount, SsoConfiguration, SsoLoginState,
};
use runner_core::model::*;
use runner_core::schema::RunnerConfigurationSchema;
use runner_core::store::*;
use runner_core::time::Timestamp;
use uuid::Uuid;

/// A store that passes every call on to `inner` and notes the method's name.
pub(super) struct Recorder {
    inner: Arc<dyn Store>,
    called: Mutex<BTreeSet<&'static str>>,
}

impl Recorder {
    pub(super) fn new(inner: Arc<dyn Store>) -> Self {
        Self { inner, called: Mutex::new(BTreeSet::new()) }
    }

    fn saw(&self, method: &'static str) {
        self.called.lock().unwrap().insert(method);
    }

    /// The methods called so far.
    pub(super) fn called(&self) -> BTreeSet<&'static str> {
        self.called.lock().unwrap().clone()
    }
}

/// `forward!(NAMES, Trait { async fn method(&self, arg: Type, …) -> Output; … })`: implements
/// `Trait` for [`Recorder`] by noting and forwarding each call, and defines `NAMES`, the
/// methods' names.
macro_rules! forward {
    ($names:ident, $repo:ident { $(async fn $method:ident(&self $(, $arg:ident: $ty:ty)*) -> $out:ty;)+ }) => {
        const $names: &[&str] = &[$(stringify!($method)),+];

        #[async_trait]
        impl $repo for Recorder {
            $(
                async fn $method(&self $(, $arg: $ty)*) -> $out {
                    self.saw(stringify!($method));
                    self.inner.$method($($arg),*).await
                }
            )+
        }
    };
}

forward!(RUNNER, RunnerRepo {
    async fn insert_runner(&self, runner: &Runner, token: &NewRunnerToken) -> Result<(), StoreError>;
    async fn get_runner(&self, id: Uuid) -> Result<Option<Runner>, StoreError>;
    async fn list_runners(&self, visibility: &Visibility, filter: &RunnerFilter, after: Option<Uuid>, limit: u32) -> Result<Vec<Runner>, StoreError>;
    async fn update_runner(&self, runner: &Runner) -> Result<WriteOutcome, StoreError>;
    async fn delete_runner(&self, id: Uuid) -> Result<bool, StoreError>;
    async fn count_runners_by_phase(&self) -> Result<Vec<(RunnerPhase, u64)>, StoreError>;
});

forward!(RUNNER_TOKEN, RunnerTokenRepo {
    async fn insert_runner_token(&self, token: &NewRunnerToken) -> Result<(), StoreError>;
    async fn resolve_runner_token(&self, hash: &[u8]) -> Result<Option<RunnerTokenInfo>, StoreError>;
    async fn redeem_exchange_token_for_access(&self, hash: &[u8], now: Timestamp, access: &NewRunnerToken) -> Result<Option<Uuid>, StoreError>;
    async fn refresh_runner_access_token(&self, current: &[u8], now: Timestamp, access: &NewRunnerToken) -> Result<Option<Uuid>, StoreError>;
});

forward!(IDENTITY, IdentityRepo {
    async fn create_organization(&self, org: &Organization, members_group: &Group, local_configuration: &Runner, first_member: Option<&Member>) -> Result<(), StoreError>;
    async fn get_organization(&self, id: Uuid) -> Result<Option<Organization>, StoreError>;
    async fn list_organizations(&self) -> Result<Vec<Organization>, StoreError>;
    async fn update_organization(&self, org: &Organization) -> Result<bool, StoreError>;
    async fn delete_organization(&self, id: Uuid) -> Result<bool, StoreError>;
    async fn create_member(&self, member: &Member) -> Result<(), StoreError>;
    async fn get_member(&self, id: Uuid) -> Result<Option<Member>, StoreError>;
    async fn list_members(&self, org_id: Uuid) -> Result<Vec<Member>, StoreError>;
    async fn change_member(&self, member_id: Uuid, change: MemberChange) -> Result<MemberChanged, StoreError>;
    async fn create_group(&self, group: &Group) -> Result<(), StoreError>;
    async fn get_group(&self, id: Uuid) -> Result<Option<Group>, StoreError>;
    async fn list_groups(&self, org_id: Uuid) -> Result<Vec<Group>, StoreError>;
    async fn add_group_member(&self, group_id: Uuid, member_id: Uuid) -> Result<Uuid, StoreError>;
    async fn count_group_members(&self, org_id: Uuid) -> Result<Vec<(Uuid, u64)>, StoreError>;
    async fn list_group_memberships(&self, org_id: Uuid) -> Result<Vec<(Uuid, Uuid)>, StoreError>;
});

forward!(GROUP, GroupRepo {
    async fn update_group(&self, group: &Group) -> Result<bool, StoreError>;
    async fn delete_group(&self, id: Uuid) -> Result<bool, StoreError>;
    async fn get_membership(&self, id: Uuid) -> Result<Option<Membership>, StoreError>;
    async fn list_memberships(&self, group_id: Uuid) -> Result<Vec<Membership>, StoreError>;
    async fn delete_membership(&self, id: Uuid) -> Result<bool, StoreError>;
});

forward!(ACCESS_TOKEN, AccessTokenRepo {
    async fn insert_access_token(&self, token: &AccessTokenInfo, hash: &[u8]) -> Result<(), StoreError>;
    async fn get_access_token(&self, id: Uuid) -> Result<Option<AccessTokenInfo>, StoreError>;
    async fn list_access_tokens(&self, org_id: Uuid) -> Result<Vec<AccessTokenInfo>, StoreError>;
    async fn list_member_access_tokens(&self, member_ids: &[Uuid], after: Option<Uuid>, limit: u32) -> Result<Vec<AccessTokenInfo>, StoreError>;
    async fn delete_access_token(&self, id: Uuid) -> Result<bool, StoreError>;
    async fn touch_access_token(&self, id: Uuid, at: Timestamp) -> Result<(), StoreError>;
    async fn resolve_access_token(&self, hash: &[u8]) -> Result<Option<(AccessTokenInfo, Member, Vec<Group>)>, StoreError>;
});

forward!(SERVICE_ACCOUNT, ServiceAccountRepo {
    async fn create_service_account(&self, account: &ServiceAccount) -> Result<(), StoreError>;
    async fn get_service_account(&self, id: Uuid) -> Result<Option<ServiceAccount>, StoreError>;
    async fn list_service_accounts(&self, org_id: Uuid) -> Result<Vec<ServiceAccount>, StoreError>;
    async fn update_service_account(&self, id: Uuid, name: Option<&str>, description: Option<&str>) -> Result<bool, StoreError>;
});

forward!(POLICY, PolicyRepo {
    async fn policy_roles(&self, runner_id: Uuid, groups: &[Uuid]) -> Result<Vec<RunnerRole>, StoreError>;
    async fn list_runner_policies(&self, runner_id: Uuid, after: Option<Uuid>, limit: u32) -> Result<Vec<RunnerPolicy>, StoreError>;
    async fn insert_runner_policy(&self, policy: &RunnerPolicy) -> Result<(), StoreError>;
    async fn update_runner_policy(&self, policy: &RunnerPolicy) -> Result<bool, StoreError>;
    async fn delete_runner_policy(&self, runner_id: Uuid, group_id: Uuid) -> Result<bool, StoreError>;
});

forward!(ROLE_ASSIGNMENT, RoleAssignmentRepo {
    async fn insert_role_assignment(&self, assignment: &RoleAssignment) -> Result<(), StoreError>;
    async fn get_role_assignment(&self, id: Uuid) -> Result<Option<RoleAssignment>, StoreError>;
    async fn list_role_assignments(&self, org_id: Uuid, filter: &RoleAssignmentFilter, after: Option<Uuid>, limit: u32) -> Result<Vec<RoleAssignment>, StoreError>;
    async fn delete_role_assignment(&self, id: Uuid) -> Result<bool, StoreError>;
    async fn organization_roles(&self, org_id: Uuid, groups: &[Uuid]) -> Result<Vec<ResourceRole>, StoreError>;
});

forward!(CONFIGURATION_SCHEMA, ConfigurationSchemaRepo {
    async fn get_runner_schema(&self, runner_id: Uuid) -> Result<Option<RunnerConfigurationSchema>, StoreError>;
    async fn set_runner_schema(&self, runner_id: Uuid, schema: &RunnerConfigurationSchema) -> Result<bool, StoreError>;
});

forward!(ENVIRONMENT_CLASS, EnvironmentClassRepo {
    async fn insert_environment_class(&self, class: &EnvironmentClass) -> Result<(), StoreError>;
    async fn get_environment_class(&self, id: Uuid) -> Result<Option<EnvironmentClass>, StoreError>;
    async fn list_environment_classes(&self, visibility: &Visibility, filter: &EnvironmentClassFilter, after: Option<Uuid>, limit: u32) -> Result<Vec<EnvironmentClass>, StoreError>;
    async fn update_environment_class(&self, class: &EnvironmentClass) -> Result<WriteOutcome, StoreError>;
});

forward!(SCM_INTEGRATION, ScmIntegrationRepo {
    async fn insert_scm_integration(&self, integration: &ScmIntegration) -> Result<(), StoreError>;
    async fn get_scm_integration(&self, id: Uuid) -> Result<Option<ScmIntegration>, StoreError>;
    async fn list_scm_integrations(&self, visibility: &Visibility, runner_ids: &[Uuid], after: Option<Uuid>, limit: u32) -> Result<Vec<ScmIntegration>, StoreError>;
    async fn update_scm_integration(&self, integration: &ScmIntegration, revoke_sources: &[HostTokenSource]) -> Result<WriteOutcome, StoreError>;
    async fn delete_scm_integration(&self, integration: &ScmIntegration) -> Result<bool, StoreError>;
});

forward!(HOST_TOKEN, HostTokenRepo {
    async fn insert_host_token(&self, token: &HostToken) -> Result<(), StoreError>;
    async fn get_host_token(&self, id: Uuid) -> Result<Option<HostToken>, StoreError>;
    async fn list_host_tokens(&self, visibility: &Visibility, runner: Option<Uuid>, subject: Option<Uuid>, after: Option<Uuid>, limit: u32) -> Result<Vec<HostToken>, StoreError>;
    async fn update_host_token(&self, token: &HostToken) -> Result<WriteOutcome, StoreError>;
    async fn delete_host_token(&self, id: Uuid) -> Result<bool, StoreError>;
});

forward!(LLM_INTEGRATION, LlmIntegrationRepo {
    async fn insert_llm_integration(&self, integration: &LlmIntegration) -> Result<(), StoreError>;
    async fn get_llm_integration(&self, id: Uuid) -> Result<Option<LlmIntegration>, StoreError>;
    async fn list_llm_integrations(&self, visibility: &Visibility, runner_ids: &[Uuid], after: Option<Uuid>, limit: u32) -> Result<Vec<LlmIntegration>, StoreError>;
    async fn update_llm_integration(&self, integration: &LlmIntegration) -> Result<WriteOutcome, StoreError>;
    async fn delete_llm_integration(&self, id: Uuid) -> Result<bool, StoreError>;
});

forward!(SSO, SsoRepo {
    async fn insert_sso_configuration(&self, config: &SsoConfiguration) -> Result<(), StoreError>;
    async fn get_sso_configuration(&self, id: Uuid) -> Result<Option<SsoConfiguration>, StoreError>;
    async fn list_sso_configurations(&self, org_id: Uuid, after: Option<Uuid>, limit: u32) -> Result<Vec<SsoConfiguration>, StoreError>;
    async fn find_sso_configuration_by_domain(&self, domain: &str) -> Result<Option<SsoConfiguration>, StoreError>;
    async fn update_sso_configuration(&self, config: &SsoConfiguration) -> Result<WriteOutcome, StoreError>;
    async fn delete_sso_configuration(&self, id: Uuid) -> Result<bool, StoreError>;
});

forward!(INVITE, InviteRepo {
    async fn create_invite(&self, invite: &OrganizationInvite) -> Result<(), StoreError>;
    async fn get_or_create_invite(&self, candidate: &OrganizationInvite) -> Result<OrganizationInvite, StoreError>;
    async fn get_invite(&self, id: Uuid) -> Result<Option<OrganizationInvite>, StoreError>;
});

forward!(ACCOUNT, AccountRepo {
    async fn create_account(&self, account: &Account, first_member: &Member, identity: Option<&AccountIdentity>) -> Result<(), StoreError>;
    async fn get_account(&self, id: Uuid) -> Result<Option<Account>, StoreError>;
    async fn find_account_by_email(&self, email: &str) -> Result<Option<Account>, StoreError>;
    async fn find_account_by_identity(&self, issuer: &str, subject: &str) -> Result<Option<Account>, StoreError>;
    async fn link_account_identity(&self, identity: &AccountIdentity) -> Result<bool, StoreError>;
    async fn update_account_profile(&self, account: &Account) -> Result<bool, StoreError>;
    async fn account_issuers(&self, account_id: Uuid) -> Result<Vec<String>, StoreError>;
    async fn list_account_members(&self, account_id: Uuid) -> Result<Vec<Member>, StoreError>;
});

forward!(SESSION, SessionRepo {
    async fn insert_login_state(&self, state: &SsoLoginState, hash: &[u8]) -> Result<(), StoreError>;
    async fn take_login_state(&self, hash: &[u8], now: Timestamp) -> Result<Option<SsoLoginState>, StoreError>;
    async fn insert_session(&self, session: &ConsoleSession, hash: &[u8]) -> Result<(), StoreError>;
    async fn resolve_session(&self, hash: &[u8], now: Timestamp) -> Result<Option<(ConsoleSession, Member, Vec<Group>)>, StoreError>;
    async fn delete_session(&self, hash: &[u8]) -> Result<bool, StoreError>;
    async fn prune_sessions(&self, now: Timestamp) -> Result<u64, StoreError>;
});

forward!(AUDIT, AuditRepo {
    async fn insert_audit_entry(&self, entry: &AuditEntry) -> Result<(), StoreError>;
    async fn get_audit_entry(&self, id: Uuid) -> Result<Option<AuditEntry>, StoreError>;
    async fn list_audit_entries(&self, org_id: Uuid, filter: &AuditFilter, after: Option<Uuid>, limit: u32) -> Result<Vec<AuditEntry>, StoreError>;
    async fn prune_audit_entries(&self, before: Timestamp) -> Result<u64, StoreError>;
});

/// `ServerRepo` by hand: `pool_usage` is not async.
const SERVER: &[&str] = &["key_fingerprint", "write_turn", "pool_usage", "ping"];

#[async_trait]
impl ServerRepo for Recorder {
    async fn key_fingerprint(&self, fingerprint: &str) -> Result<String, StoreError> {
        self.saw("key_fingerprint");
        self.inner.key_fingerprint(fingerprint).await
    }

    async fn write_turn(&self, key: Uuid, wait: std::time::Duration) -> Result<Option<WriteTurn>, StoreError> {
        self.saw("write_turn");
        self.inner.write_turn(key, wait).await
    }

    fn pool_usage(&self) -> (u32, u32) {
        self.saw("pool_usage");
        self.inner.pool_usage()
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.saw("ping");
        self.inner.ping().await
    }
}

/// Every method of `Store`: the recorder forwards exactly these.
pub(super) fn store_methods() -> Vec<&'static str> {
    [
        RUNNER,
        RUNNER_TOKEN,
        IDENTITY,
        INVITE,
        GROUP,
        ACCESS_TOKEN,
        SERVICE_ACCOUNT,
        POLICY,
        ROLE_ASSIGNMENT,
        CONFIGURATION_SCHEMA,
        ENVIRONMENT_CLASS,
        SCM_INTEGRATION,
        HOST_TOKEN,
        LLM_INTEGRATION,
        SSO,
        ACCOUNT,
        SESSION,
        AUDIT,
        SERVER,
    ]
    .concat()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    /// runner-core's store module, file by file.
    const SOURCES: &[(&str, &str)] = &[
        ("store.rs", include_str!("../../../runner-core/src/store.rs")),
        ("access_tokens", include_str!("../../../runner-core/src/store/access_tokens.rs")),
        ("accounts", include_str!("../../../runner-core/src/store/accounts.rs")),
        ("audit", include_str!("../../../runner-core/src/store/audit.rs")),
        ("configuration_schema", include_str!("../../../runner-core/src/store/configuration_schema.rs")),
        ("environment_classes", include_str!("../../../runner-core/src/store/environment_classes.rs")),
        ("groups", include_str!("../../../runner-core/src/store/groups.rs")),
        ("host_tokens", include_str!("../../../runner-core/src/store/host_tokens.rs")),
        ("identity", include_str!("../../../runner-core/src/store/identity.rs")),
        ("invites", include_str!("../../../runner-core/src/store/invites.rs")),
        ("llm_integrations", include_str!("../../../runner-core/src/store/llm_integrations.rs")),
        ("policies", include_str!("../../../runner-core/src/store/policies.rs")),
        ("role_assignments", include_str!("../../../runner-core/src/store/role_assignments.rs")),
        ("runner_tokens", include_str!("../../../runner-core/src/store/runner_tokens.rs")),
        ("runners", include_str!("../../../runner-core/src/store/runners.rs")),
        ("scm_integrations", include_str!("../../../runner-core/src/store/scm_integrations.rs")),
        ("server", include_str!("../../../runner-core/src/store/server.rs")),
        ("service_accounts", include_str!("../../../runner-core/src/store/service_accounts.rs")),
        ("sessions", include_str!("../../../runner-core/src/store/sessions.rs")),
        ("sso", include_str!("../../../runner-core/src/store/sso.rs")),
    ];

    /// The traits declared in `source` (`pub trait Name…` at the start of a line), each with
    /// the names of its methods (every `fn name` up to the trait's closing `}`).
    fn traits(source: &str) -> Vec<(String, Vec<String>)> {
        let mut found = Vec::new();
        for block in source.split("\npub trait ").skip(1) {
            let name: String = block.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            let body = &block[..block.find("\n}\n").expect("a trait ends with a } line")];
            let methods = body
                .lines()
                .filter_map(|line| {
                    let line = line.trim_start();
                    let rest = line.strip_prefix("async fn ").or_else(|| line.strip_prefix("fn "))?;
                    Some(rest[..rest.find(['(', '<']).unwrap()].to_owned())
                })
                .collect();
            found.push((name, methods));
        }
        found
    }

    /// The lines of `source` between `start` and the next line equal to `end`, trimmed, without
    /// their trailing `,` or `;`.
    fn lines_between<'a>(source: &'a str, start: &str, end: &str) -> Vec<&'a str> {
        let from = source.find(start).unwrap_or_else(|| panic!("{start:?} not found")) + start.len();
        let to = from + source[from..].find(end).unwrap();
        source[from..to].lines().map(|l| l.trim().trim_end_matches([',', ';'])).filter(|l| !l.is_empty()).collect()
    }

    #[test]
    fn the_recorder_forwards_every_method_the_traits_declare() {
        let (_, store_rs) = SOURCES[0];
        // Every file of the module is read here, …
        let modules: BTreeSet<&str> =
            store_rs.lines().filter_map(|l| l.strip_prefix("mod ")).map(|m| m.trim_end_matches(';')).collect();
        let read: BTreeSet<&str> = SOURCES[1..].iter().map(|(name, _)| *name).collect();
        assert_eq!(modules, read, "runner-core/src/store.rs declares other files than this test reads");
        // … and they declare exactly the traits `Store` is made of.
        let declared: Vec<(String, Vec<String>)> = SOURCES.iter().flat_map(|(_, source)| traits(source)).collect();
        let parts: BTreeSet<&str> = lines_between(store_rs, "\nstore_of!(\n", "\n);").into_iter().collect();
        let names: BTreeSet<&str> = declared.iter().map(|(name, _)| name.as_str()).collect();
        assert_eq!(names, parts, "the traits declared are the traits of Store");

        let declared: BTreeSet<String> = declared.into_iter().flat_map(|(_, methods)| methods).collect();
        let forwarded: BTreeSet<String> = super::store_methods().into_iter().map(str::to_owned).collect();
        let unforwarded: Vec<_> = declared.difference(&forwarded).collect();
        assert!(unforwarded.is_empty(), "methods the recorder does not forward (a default method?): {unforwarded:?}");
        let undeclared: Vec<_> = forwarded.difference(&declared).collect();
        assert!(undeclared.is_empty(), "methods this test did not find in the traits' source: {undeclared:?}");
    }

    #[test]
    fn every_store_method_has_a_case() {
        let cases = crate::testing::cases();
        let methods: BTreeSet<&str> = super::store_methods().into_iter().collect();
        let named: BTreeSet<&str> = cases.iter().flat_map(|c| c.methods.iter().copied()).collect();
        let without: Vec<_> = methods.difference(&named).collect();
        assert!(without.is_empty(), "Store methods without a conformance case: {without:?}");
        let unknown: Vec<_> = named.difference(&methods).collect();
        assert!(unknown.is_empty(), "cases name methods Store does not have: {unknown:?}");
        let names: BTreeSet<&str> = cases.iter().map(|c| c.name).collect();
        assert_eq!(names.len(), cases.len(), "case names are unique");
    }
}
