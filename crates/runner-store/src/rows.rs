//! Row structs, private to the store, and their conversion to and from domain types.

use runner_core::audit::AuditEntry;
use runner_core::identity::{
    AccessTokenInfo, Group, Member, Membership, OrgRole, Organization, RoleAssignment, ServiceAccount,
    ServiceAccountDetails,
};
use runner_core::model::{
    ApiEnum, AuditKind, AuditSubject, EnvironmentClass, HostToken, HostTokenSource, LlmIntegration, Principal,
    ResourceKind, ResourceRole, Runner, RunnerKind, RunnerPolicy, RunnerProvider, ScmIntegration, ScmOAuthConfig,
    Subject,
};
use runner_core::store::{RunnerTokenInfo, RunnerTokenKind, StoreError};
use runner_core::time::Timestamp;
use uuid::Uuid;

use crate::error::corrupt;
use crate::runner_encoding;

#[derive(sqlx::FromRow)]
pub(crate) struct RunnerRow {
    pub id: String,
    pub org_id: String,
    pub name: String,
    pub kind: String,
    pub provider: Option<String>,
    pub runner_manager_id: Option<String>,
    pub creator_id: Option<String>,
    pub creator_principal: Option<String>,
    /// The JSON text of a row written before `spec_proto` (migration `20261212000019`); ''
    /// since.
    pub spec: String,
    pub status: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub revision: i64,
    /// Protobuf bytes (crate::runner_encoding); NULL in a row from before them.
    pub spec_proto: Option<Vec<u8>>,
    pub status_proto: Option<Vec<u8>>,
}

pub(crate) fn uuid(what: &str, s: &str) -> Result<Uuid, StoreError> {
    Uuid::try_parse(s).map_err(|e| corrupt(what, e))
}

/// A subject stored as two nullable columns (id, principal): both or neither.
pub(crate) fn subject(what: &str, id: Option<&str>, principal: Option<&str>) -> Result<Option<Subject>, StoreError> {
    Ok(match (id, principal) {
        (Some(id), Some(p)) => Some(Subject { id: uuid(what, id)?, principal: enum_value::<Principal>(what, p)? }),
        _ => None,
    })
}

pub(crate) fn enum_value<E: ApiEnum>(what: &str, s: &str) -> Result<E, StoreError> {
    E::parse(s).ok_or_else(|| corrupt(what, s))
}

/// A membership from its row: (id, group_id, member_id).
pub(crate) fn membership((id, group_id, member_id): (String, String, String)) -> Result<Membership, StoreError> {
    Ok(Membership {
        id: uuid("membership id", &id)?,
        group_id: uuid("membership group", &group_id)?,
        member_id: uuid("membership member", &member_id)?,
    })
}

impl RunnerRow {
    pub(crate) fn into_domain(self) -> Result<Runner, StoreError> {
        let RunnerRow {
            id,
            org_id,
            name,
            kind,
            provider,
            runner_manager_id,
            creator_id,
            creator_principal,
            spec,
            status,
            created_at,
            updated_at,
            revision,
            spec_proto,
            status_proto,
        } = self;
        RunnerFields {
            id: &id,
            org_id: &org_id,
            name,
            kind: &kind,
            provider: provider.as_deref(),
            runner_manager_id: runner_manager_id.as_deref(),
            creator_id: creator_id.as_deref(),
            creator_principal: creator_principal.as_deref(),
            spec: &spec,
            status: &status,
            created_at,
            updated_at,
            revision,
            spec_proto: spec_proto.as_deref(),
            status_proto: status_proto.as_deref(),
        }
        .into_domain()
    }
}

/// A runner's stored columns, borrowed from the row that holds them (a [`RunnerRow`], or a
/// row of an inline reader, `crate::sqlite_read`, read without copying its columns), but the
/// name, which the runner keeps.
pub(crate) struct RunnerFields<'a> {
    pub id: &'a str,
    pub org_id: &'a str,
    pub name: String,
    pub kind: &'a str,
    pub provider: Option<&'a str>,
    pub runner_manager_id: Option<&'a str>,
    pub creator_id: Option<&'a str>,
    pub creator_principal: Option<&'a str>,
    pub spec: &'a str,
    pub status: &'a str,
    pub created_at: i64,
    pub updated_at: i64,
    pub revision: i64,
    pub spec_proto: Option<&'a [u8]>,
    pub status_proto: Option<&'a [u8]>,
}

impl RunnerFields<'_> {
    pub(crate) fn into_domain(self) -> Result<Runner, StoreError> {
        Ok(Runner {
            id: uuid("runner id", self.id)?,
            org_id: uuid("runner organization", self.org_id)?,
            name: self.name,
            kind: enum_value::<RunnerKind>("runner kind", self.kind)?,
            provider: self.provider.map(|p| enum_value::<RunnerProvider>("runner provider", p)).transpose()?,
            runner_manager_id: self.runner_manager_id.map(|m| uuid("runner manager id", m)).transpose()?,
            creator: subject("runner creator", self.creator_id, self.creator_principal)?,
            created_at: Timestamp(self.created_at),
            updated_at: Timestamp(self.updated_at),
            spec: runner_encoding::decode_spec(self.spec_proto, self.spec)?,
            status: runner_encoding::decode_status(self.status_proto, self.status)?,
            revision: self.revision,
        })
    }
}

/// The column values of a runner, ready to bind.
pub(crate) struct RunnerColumns {
    pub id: String,
    pub org_id: String,
    pub name: String,
    pub kind: &'static str,
    pub provider: Option<&'static str>,
    pub runner_manager_id: Option<String>,
    pub creator_id: Option<String>,
    pub creator_principal: Option<&'static str>,
    pub phase: &'static str,
    /// Protobuf bytes (crate::runner_encoding), for `spec_proto` and `status_proto`; the JSON
    /// columns `spec` and `status` are written ''.
    pub spec_proto: Vec<u8>,
    pub status_proto: Vec<u8>,
    pub created_at: i64,
    pub updated_at: i64,
    pub revision: i64,
}

impl RunnerColumns {
    pub(crate) fn from_domain(r: &Runner) -> Result<Self, StoreError> {
        Ok(Self {
            id: r.id.to_string(),
            org_id: r.org_id.to_string(),
            name: r.name.clone(),
            kind: r.kind.as_str(),
            provider: r.provider.map(|p| p.as_str()),
            runner_manager_id: r.runner_manager_id.map(|m| m.to_string()),
            creator_id: r.creator.as_ref().map(|c| c.id.to_string()),
            creator_principal: r.creator.as_ref().map(|c| c.principal.as_str()),
            phase: r.status.phase.as_str(),
            spec_proto: runner_encoding::encode_spec(&r.spec),
            status_proto: runner_encoding::encode_status(&r.status),
            created_at: r.created_at.0,
            updated_at: r.updated_at.0,
            revision: r.revision,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct OrganizationRow {
    pub id: String,
    pub name: String,
    pub created_at: i64,
    pub updated_at: i64,
}

impl OrganizationRow {
    pub(crate) fn into_domain(self) -> Result<Organization, StoreError> {
        Ok(Organization {
            id: uuid("organization id", &self.id)?,
            name: self.name,
            created_at: Timestamp(self.created_at),
            updated_at: Timestamp(self.updated_at),
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct MemberRow {
    pub id: String,
    pub org_id: String,
    pub account_id: String,
    pub principal: String,
    pub name: String,
    pub role: String,
    pub suspended: i64,
    pub created_at: i64,
}

impl MemberRow {
    pub(crate) fn into_domain(self) -> Result<Member, StoreError> {
        Ok(Member {
            id: uuid("member id", &self.id)?,
            org_id: uuid("member organization", &self.org_id)?,
            account_id: uuid("member account", &self.account_id)?,
            principal: enum_value::<Principal>("member principal", &self.principal)?,
            name: self.name,
            role: OrgRole::parse(&self.role).ok_or_else(|| corrupt("member role", &self.role))?,
            suspended: self.suspended != 0,
            created_at: Timestamp(self.created_at),
        })
    }
}

/// A service account: its member row and, when stored, its details (`service_accounts`).
#[derive(sqlx::FromRow)]
pub(crate) struct ServiceAccountRow {
    #[sqlx(flatten)]
    pub member: MemberRow,
    pub description: Option<String>,
    pub creator_id: Option<String>,
    pub creator_principal: Option<String>,
    pub valid_until: Option<i64>,
}

impl ServiceAccountRow {
    pub(crate) fn into_domain(self) -> Result<ServiceAccount, StoreError> {
        Ok(ServiceAccount {
            member: self.member.into_domain()?,
            details: ServiceAccountDetails {
                description: self.description.unwrap_or_default(),
                creator: subject(
                    "service account creator",
                    self.creator_id.as_deref(),
                    self.creator_principal.as_deref(),
                )?,
                valid_until: self.valid_until.map(Timestamp),
            },
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct GroupRow {
    pub id: String,
    pub org_id: String,
    pub name: String,
    pub description: String,
    pub system: i64,
    pub direct_share: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

impl GroupRow {
    pub(crate) fn into_domain(self) -> Result<Group, StoreError> {
        Ok(Group {
            id: uuid("group id", &self.id)?,
            org_id: uuid("group organization", &self.org_id)?,
            name: self.name,
            description: self.description,
            system: self.system != 0,
            direct_share: self.direct_share != 0,
            created_at: Timestamp(self.created_at),
            updated_at: Timestamp(self.updated_at),
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct RoleAssignmentRow {
    pub id: String,
    pub org_id: String,
    pub group_id: String,
    pub resource_type: String,
    pub resource_id: String,
    pub role: String,
    pub created_at: i64,
}

impl RoleAssignmentRow {
    pub(crate) fn into_domain(self) -> Result<RoleAssignment, StoreError> {
        Ok(RoleAssignment {
            id: uuid("role assignment id", &self.id)?,
            org_id: uuid("role assignment organization", &self.org_id)?,
            group_id: uuid("role assignment group", &self.group_id)?,
            resource_kind: enum_value::<ResourceKind>("role assignment resource type", &self.resource_type)?,
            resource_id: uuid("role assignment resource", &self.resource_id)?,
            role: enum_value::<ResourceRole>("role assignment role", &self.role)?,
            created_at: Timestamp(self.created_at),
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct AuditRow {
    pub id: String,
    pub org_id: String,
    pub actor_id: Option<String>,
    pub actor_principal: Option<String>,
    pub subject_id: Option<String>,
    pub subject_type: Option<String>,
    pub action: String,
    pub kind: String,
    pub created_at: i64,
}

impl AuditRow {
    pub(crate) fn into_domain(self) -> Result<AuditEntry, StoreError> {
        let pair = |id: Option<String>, what: &str, value: Option<String>| -> Result<_, StoreError> {
            match (id, value) {
                (Some(id), Some(value)) => Ok(Some((uuid(what, &id)?, value))),
                _ => Ok(None),
            }
        };
        let actor = pair(self.actor_id, "audit actor", self.actor_principal)?
            .map(|(id, p)| Ok::<_, StoreError>((id, enum_value::<Principal>("audit actor principal", &p)?)))
            .transpose()?;
        let subject = pair(self.subject_id, "audit subject", self.subject_type)?
            .map(|(id, t)| Ok::<_, StoreError>((id, enum_value::<AuditSubject>("audit subject type", &t)?)))
            .transpose()?;
        Ok(AuditEntry {
            id: uuid("audit entry id", &self.id)?,
            org_id: uuid("audit entry organization", &self.org_id)?,
            actor,
            subject,
            action: self.action,
            created_at: Timestamp(self.created_at),
            kind: enum_value::<AuditKind>("audit entry kind", &self.kind)?,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct AccessTokenRow {
    pub id: String,
    pub org_id: String,
    pub member_id: String,
    pub description: String,
    pub creator_id: Option<String>,
    pub creator_principal: Option<String>,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub revoked_at: Option<i64>,
    pub last_used_at: Option<i64>,
}

impl AccessTokenRow {
    pub(crate) fn into_domain(self) -> Result<AccessTokenInfo, StoreError> {
        Ok(AccessTokenInfo {
            id: uuid("token id", &self.id)?,
            org_id: uuid("token organization", &self.org_id)?,
            member_id: uuid("token member", &self.member_id)?,
            description: self.description,
            creator: subject("token creator", self.creator_id.as_deref(), self.creator_principal.as_deref())?,
            created_at: Timestamp(self.created_at),
            expires_at: self.expires_at.map(Timestamp),
            revoked_at: self.revoked_at.map(Timestamp),
            last_used_at: self.last_used_at.map(Timestamp),
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct RunnerTokenRow {
    pub runner_id: String,
    pub org_id: String,
    pub kind: String,
    pub expires_at: i64,
    pub used_at: Option<i64>,
    pub superseded_at: Option<i64>,
}

impl RunnerTokenRow {
    pub(crate) fn into_domain(self) -> Result<RunnerTokenInfo, StoreError> {
        Ok(RunnerTokenInfo {
            runner_id: uuid("token runner", &self.runner_id)?,
            org_id: uuid("token runner organization", &self.org_id)?,
            kind: RunnerTokenKind::parse(&self.kind).ok_or_else(|| corrupt("runner token kind", &self.kind))?,
            expires_at: Timestamp(self.expires_at),
            used_at: self.used_at.map(Timestamp),
            superseded_at: self.superseded_at.map(Timestamp),
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct PolicyRow {
    pub runner_id: String,
    pub group_id: String,
    pub role: String,
}

impl PolicyRow {
    pub(crate) fn into_domain(self) -> Result<RunnerPolicy, StoreError> {
        Ok(RunnerPolicy {
            runner_id: uuid("policy runner", &self.runner_id)?,
            group_id: uuid("policy group", &self.group_id)?,
            role: enum_value::<ResourceRole>("policy role", &self.role)?
                .runner_role()
                .ok_or_else(|| corrupt("policy role", &self.role))?,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct EnvironmentClassRow {
    pub id: String,
    pub runner_id: String,
    pub display_name: String,
    pub description: String,
    pub configuration: String,
    pub enabled: i64,
    pub created_at: i64,
    pub updated_at: i64,
    pub revision: i64,
}

impl EnvironmentClassRow {
    pub(crate) fn into_domain(self) -> Result<EnvironmentClass, StoreError> {
        Ok(EnvironmentClass {
            id: uuid("environment class id", &self.id)?,
            runner_id: uuid("environment class runner", &self.runner_id)?,
            display_name: self.display_name,
            description: self.description,
            configuration: serde_json::from_str(&self.configuration)
                .map_err(|e| corrupt("environment class configuration", e))?,
            enabled: self.enabled != 0,
            created_at: Timestamp(self.created_at),
            updated_at: Timestamp(self.updated_at),
            revision: self.revision,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct ScmIntegrationRow {
    pub id: String,
    pub runner_id: String,
    pub scm_id: String,
    pub host: String,
    pub oauth_client_id: Option<String>,
    pub oauth_encrypted_client_secret: Option<Vec<u8>>,
    pub oauth_issuer_url: Option<String>,
    pub pat: i64,
    pub virtual_directory: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub revision: i64,
}

impl ScmIntegrationRow {
    pub(crate) fn into_domain(self) -> Result<ScmIntegration, StoreError> {
        Ok(ScmIntegration {
            id: uuid("SCM integration id", &self.id)?,
            runner_id: uuid("SCM integration runner", &self.runner_id)?,
            scm_id: self.scm_id,
            host: self.host,
            oauth: self.oauth_client_id.map(|client_id| ScmOAuthConfig {
                client_id,
                encrypted_client_secret: self.oauth_encrypted_client_secret.unwrap_or_default(),
                issuer_url: self.oauth_issuer_url.unwrap_or_default(),
            }),
            pat: self.pat != 0,
            virtual_directory: self.virtual_directory,
            created_at: Timestamp(self.created_at),
            updated_at: Timestamp(self.updated_at),
            revision: self.revision,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct HostTokenRow {
    pub id: String,
    pub runner_id: String,
    pub host: String,
    pub subject_id: String,
    pub subject_principal: String,
    pub source: String,
    pub token_ciphertext: Vec<u8>,
    pub refresh_token_ciphertext: Option<Vec<u8>>,
    pub expires_at: Option<i64>,
    pub integration_id: Option<String>,
    pub scopes: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub revision: i64,
}

impl HostTokenRow {
    pub(crate) fn into_domain(self) -> Result<HostToken, StoreError> {
        Ok(HostToken {
            id: uuid("host token id", &self.id)?,
            runner_id: uuid("host token runner", &self.runner_id)?,
            host: self.host,
            subject: Subject {
                id: uuid("host token subject", &self.subject_id)?,
                principal: enum_value::<Principal>("host token principal", &self.subject_principal)?,
            },
            source: enum_value::<HostTokenSource>("host token source", &self.source)?,
            token_ciphertext: self.token_ciphertext,
            refresh_token_ciphertext: self.refresh_token_ciphertext,
            expires_at: self.expires_at.map(Timestamp),
            integration_id: self.integration_id.as_deref().map(|i| uuid("host token integration", i)).transpose()?,
            scopes: serde_json::from_str(&self.scopes).map_err(|e| corrupt("host token scopes", e))?,
            created_at: Timestamp(self.created_at),
            updated_at: Timestamp(self.updated_at),
            revision: self.revision,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct LlmIntegrationRow {
    pub id: String,
    pub runner_id: String,
    pub body: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub revision: i64,
}

impl LlmIntegrationRow {
    pub(crate) fn into_domain(self) -> Result<LlmIntegration, StoreError> {
        Ok(LlmIntegration {
            id: uuid("LLM integration id", &self.id)?,
            runner_id: uuid("LLM integration runner", &self.runner_id)?,
            body: serde_json::from_str(&self.body).map_err(|e| corrupt("LLM integration", e))?,
            created_at: Timestamp(self.created_at),
            updated_at: Timestamp(self.updated_at),
            revision: self.revision,
        })
    }
}
