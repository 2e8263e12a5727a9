//! Pins the domain enums (`api_enum!` in `runner_core::model`) to the generated proto enums.
//!
//! The conversions in `convert.rs` pass enum numbers through unchanged, and the store keeps the
//! domain's names, so a domain value whose number or name drifted from the proto would be
//! answered as another value without any error. For every `api_enum!` type this checks, value
//! by value, the number and name against the generated enum (`as_str_name`, `from_str_name`),
//! and that the proto enum (read from the descriptor set) has no value the domain lacks besides
//! its `…_UNSPECIFIED = 0`. The deliberate exceptions are the two subsets ([`pin_subset`]):
//! `ResourceRole` and `ResourceKind` name only the roles and resource types this server honours
//! in role assignments; the others are refused as `invalid_argument`.

use std::collections::BTreeSet;
use std::fmt::Debug;

use gitpod_api::gitpod::v1 as pb;
use prost_reflect::DescriptorPool;
use runner_core::model::{self as m, ApiEnum};

/// What the test needs of a generated enum.
trait Generated: Sized + Copy + PartialEq + Debug {
    fn from_number(n: i32) -> Option<Self>;
    fn name(self) -> &'static str;
    fn from_name(name: &str) -> Option<Self>;
}

macro_rules! generated {
    ($($t:ty),+ $(,)?) => {
        $(impl Generated for $t {
            fn from_number(n: i32) -> Option<Self> {
                Self::try_from(n).ok()
            }
            fn name(self) -> &'static str {
                self.as_str_name()
            }
            fn from_name(name: &str) -> Option<Self> {
                Self::from_str_name(name)
            }
        })+
    };
}

generated!(
    pb::RunnerKind,
    pb::RunnerProvider,
    pb::RunnerPhase,
    pb::RunnerReleaseChannel,
    pb::LogLevel,
    pb::RunnerVariant,
    pb::Principal,
    pb::RunnerCapability,
    pb::RunnerRole,
    pb::HostAuthenticationTokenSource,
    pb::ResourceRole,
    pb::ResourceType,
    pb::AuditLogEntryKind,
);

/// Checks one domain enum `D` against the generated enum `G`, whose full proto name is
/// `proto` and whose value names start with `prefix`. Returns the domain type's name.
fn pin<D: ApiEnum + Debug, G: Generated>(pool: &DescriptorPool, proto: &str, prefix: &str) -> &'static str {
    for &d in D::VALUES {
        let expected = format!("{prefix}_{}", d.as_str().to_ascii_uppercase());
        let g = G::from_number(d.number())
            .unwrap_or_else(|| panic!("{d:?} = {}: {proto} has no value with that number", d.number()));
        assert_eq!(g.name(), expected, "{d:?} = {} is named differently in {proto}", d.number());
        assert_eq!(G::from_name(&expected), Some(g), "{expected} does not name {g:?}");
    }
    let descriptor = pool.get_enum_by_name(proto).unwrap_or_else(|| panic!("{proto} is not in the descriptor set"));
    for value in descriptor.values() {
        if value.number() == 0 {
            assert_eq!(value.name(), format!("{prefix}_UNSPECIFIED"), "{proto}'s zero value");
            continue;
        }
        let d = D::from_number(value.number()).unwrap_or_else(|| {
            panic!("{proto} has {} = {}, which the domain enum lacks", value.name(), value.number())
        });
        assert_eq!(G::from_number(value.number()).map(G::name), Some(value.name()), "{d:?}");
    }
    std::any::type_name::<D>().rsplit("::").next().expect("a type name")
}

/// Checks a domain enum `D` that has some of the values of the generated enum `G`: each of its
/// values has the number and name of one of `G`'s, or the name `renamed` gives it (a domain
/// value the API has no name for, written as another). Returns the domain type's name.
fn pin_subset<D: ApiEnum + Debug + PartialEq, G: Generated>(
    proto: &str,
    prefix: &str,
    renamed: &[(D, &str)],
) -> &'static str {
    for &d in D::VALUES {
        let expected = renamed
            .iter()
            .find(|(r, _)| *r == d)
            .map_or_else(|| format!("{prefix}_{}", d.as_str().to_ascii_uppercase()), |(_, name)| (*name).to_owned());
        let g = G::from_number(d.number())
            .unwrap_or_else(|| panic!("{d:?} = {}: {proto} has no value with that number", d.number()));
        assert_eq!(g.name(), expected, "{d:?} = {} is named differently in {proto}", d.number());
        assert_eq!(G::from_name(&expected), Some(g), "{expected} does not name {g:?}");
    }
    std::any::type_name::<D>().rsplit("::").next().expect("a type name")
}

/// The type names that `api_enum!` defines in `runner_core::model`, read from its source.
fn api_enums_in_model() -> BTreeSet<String> {
    let source = include_str!("../../runner-core/src/model.rs");
    let mut names = BTreeSet::new();
    let mut lines = source.lines();
    while let Some(line) = lines.next() {
        if line.trim_start().starts_with("api_enum!(") {
            let declaration = lines.by_ref().map(str::trim).find(|l| !l.starts_with("///")).expect("an enum name");
            let name = declaration.strip_suffix('{').expect("`Name {` after the doc comments").trim();
            names.insert(name.to_owned());
        }
    }
    names
}

#[test]
fn domain_enums_match_the_generated_enums() {
    let pool = DescriptorPool::decode(gitpod_api::FILE_DESCRIPTOR_SET).expect("descriptor set");
    let pinned: BTreeSet<String> = [
        pin::<m::RunnerKind, pb::RunnerKind>(&pool, "gitpod.v1.RunnerKind", "RUNNER_KIND"),
        pin::<m::RunnerProvider, pb::RunnerProvider>(&pool, "gitpod.v1.RunnerProvider", "RUNNER_PROVIDER"),
        pin::<m::RunnerPhase, pb::RunnerPhase>(&pool, "gitpod.v1.RunnerPhase", "RUNNER_PHASE"),
        pin::<m::ReleaseChannel, pb::RunnerReleaseChannel>(
            &pool,
            "gitpod.v1.RunnerReleaseChannel",
            "RUNNER_RELEASE_CHANNEL",
        ),
        pin::<m::LogLevel, pb::LogLevel>(&pool, "gitpod.v1.LogLevel", "LOG_LEVEL"),
        pin::<m::RunnerVariant, pb::RunnerVariant>(&pool, "gitpod.v1.RunnerVariant", "RUNNER_VARIANT"),
        pin::<m::Principal, pb::Principal>(&pool, "gitpod.v1.Principal", "PRINCIPAL"),
        pin::<m::RunnerCapability, pb::RunnerCapability>(&pool, "gitpod.v1.RunnerCapability", "RUNNER_CAPABILITY"),
        pin::<m::RunnerRole, pb::RunnerRole>(&pool, "gitpod.v1.RunnerRole", "RUNNER_ROLE"),
        pin::<m::HostTokenSource, pb::HostAuthenticationTokenSource>(
            &pool,
            "gitpod.v1.HostAuthenticationTokenSource",
            "HOST_AUTHENTICATION_TOKEN_SOURCE",
        ),
        pin_subset::<m::ResourceRole, pb::ResourceRole>("gitpod.v1.ResourceRole", "RESOURCE_ROLE", &[]),
        pin_subset::<m::ResourceKind, pb::ResourceType>("gitpod.v1.ResourceType", "RESOURCE_TYPE", &[]),
        // Stored under shorter names than the API's for four of them.
        pin_subset::<m::AuditSubject, pb::ResourceType>(
            "gitpod.v1.ResourceType",
            "RESOURCE_TYPE",
            &[
                (m::AuditSubject::ScmIntegration, "RESOURCE_TYPE_RUNNER_SCM_INTEGRATION"),
                (m::AuditSubject::SsoConfiguration, "RESOURCE_TYPE_SSO_CONFIG"),
                (m::AuditSubject::LlmIntegration, "RESOURCE_TYPE_RUNNER_LLM_INTEGRATION"),
                (m::AuditSubject::GroupMembership, "RESOURCE_TYPE_GROUP_MEMBERSHIP_CHANGED"),
            ],
        ),
        // An authorization failure has no kind in the API: it is sent as UNSPECIFIED
        // (docs/decisions.md, "Audit log").
        pin_subset::<m::AuditKind, pb::AuditLogEntryKind>(
            "gitpod.v1.AuditLogEntryKind",
            "AUDIT_LOG_ENTRY_KIND",
            &[(m::AuditKind::AuthorizationDenied, "AUDIT_LOG_ENTRY_KIND_UNSPECIFIED")],
        ),
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();
    assert_eq!(pinned, api_enums_in_model(), "every api_enum! type is pinned here, and only those");
}
