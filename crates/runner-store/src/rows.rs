//! Row structs, private to the store, and their conversion to and from domain types.

use runner_core::model::{ApiEnum, Principal, Runner, RunnerKind, RunnerProvider, Subject};
use runner_core::store::StoreError;
use runner_core::time::Timestamp;
use uuid::Uuid;

use crate::error::corrupt;

#[derive(sqlx::FromRow)]
pub(crate) struct RunnerRow {
    pub id: String,
    pub name: String,
    pub kind: String,
    pub provider: Option<String>,
    pub runner_manager_id: Option<String>,
    pub creator_id: Option<String>,
    pub creator_principal: Option<String>,
    pub spec: String,
    pub status: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub revision: i64,
}

fn uuid(what: &str, s: &str) -> Result<Uuid, StoreError> {
    Uuid::try_parse(s).map_err(|e| corrupt(what, e))
}

fn enum_value<E: ApiEnum>(what: &str, s: &str) -> Result<E, StoreError> {
    E::parse(s).ok_or_else(|| corrupt(what, s))
}

impl RunnerRow {
    pub(crate) fn into_domain(self) -> Result<Runner, StoreError> {
        let creator = match (self.creator_id, self.creator_principal) {
            (Some(id), Some(p)) => Some(Subject {
                id: uuid("runner creator", &id)?,
                principal: enum_value::<Principal>("runner creator", &p)?,
            }),
            _ => None,
        };
        Ok(Runner {
            id: uuid("runner id", &self.id)?,
            name: self.name,
            kind: enum_value::<RunnerKind>("runner kind", &self.kind)?,
            provider: self
                .provider
                .as_deref()
                .map(|p| enum_value::<RunnerProvider>("runner provider", p))
                .transpose()?,
            runner_manager_id: self
                .runner_manager_id
                .as_deref()
                .map(|m| uuid("runner manager id", m))
                .transpose()?,
            creator,
            created_at: Timestamp(self.created_at),
            updated_at: Timestamp(self.updated_at),
            spec: serde_json::from_str(&self.spec).map_err(|e| corrupt("runner spec", e))?,
            status: serde_json::from_str(&self.status).map_err(|e| corrupt("runner status", e))?,
            revision: self.revision,
        })
    }
}

/// The column values of a runner, ready to bind.
pub(crate) struct RunnerColumns {
    pub id: String,
    pub name: String,
    pub kind: &'static str,
    pub provider: Option<&'static str>,
    pub runner_manager_id: Option<String>,
    pub creator_id: Option<String>,
    pub creator_principal: Option<&'static str>,
    pub phase: &'static str,
    pub spec: String,
    pub status: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub revision: i64,
}

impl RunnerColumns {
    pub(crate) fn from_domain(r: &Runner) -> Result<Self, StoreError> {
        let json =
            |v: Result<String, serde_json::Error>| v.map_err(|e| StoreError::Other(e.to_string()));
        Ok(Self {
            id: r.id.to_string(),
            name: r.name.clone(),
            kind: r.kind.as_str(),
            provider: r.provider.map(|p| p.as_str()),
            runner_manager_id: r.runner_manager_id.map(|m| m.to_string()),
            creator_id: r.creator.as_ref().map(|c| c.id.to_string()),
            creator_principal: r.creator.as_ref().map(|c| c.principal.as_str()),
            phase: r.status.phase.as_str(),
            spec: json(serde_json::to_string(&r.spec))?,
            status: json(serde_json::to_string(&r.status))?,
            created_at: r.created_at.0,
            updated_at: r.updated_at.0,
            revision: r.revision,
        })
    }
}
