//! The meaning of the runner API, free of transport and SQL.
//!
//! - [`model`]: domain types (runners, their spec and status) and the enums of the API;
//! - [`error`]: [`CoreError`], the one error type handlers return, and field violations;
//! - [`validate`]: input rules shared by every RPC (ids, lengths, page sizes);
//! - [`page`]: self-contained, tamper-evident page tokens;
//! - [`store`]: the storage ports that the backends implement;
//! - [`identity`], [`authz`]: callers and what they may do;
//! - [`runners`]: the runner use cases, one function per RPC.

pub mod accounts;
pub mod authz;
pub mod crypto;
pub mod environment_classes;
pub mod error;
pub mod host_tokens;
pub mod identity;
pub mod llm_integrations;
pub mod model;
pub mod page;
pub mod policies;
pub mod runner_side;
pub mod runners;
pub mod schema;
pub mod scm;
pub mod scm_integrations;
pub mod secrets;
pub mod store;
pub mod time;
pub mod token_cache;
pub mod validate;

pub use error::{CoreError, FieldViolation};

#[cfg(test)]
pub(crate) mod testing_support {
    use crate::model::*;
    use crate::time::Timestamp;

    pub fn runner(provider: RunnerProvider) -> Runner {
        let now = Timestamp::now();
        Runner {
            id: uuid::Uuid::now_v7(),
            org_id: uuid::Uuid::now_v7(),
            name: "test runner".to_owned(),
            kind: provider.kind(),
            provider: Some(provider),
            runner_manager_id: None,
            creator: None,
            created_at: now,
            updated_at: now,
            spec: RunnerSpec::default(),
            status: RunnerStatus::default(),
            revision: 1,
        }
    }
}
