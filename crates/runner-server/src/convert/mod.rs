//! Proto ↔ domain conversions, the only place that knows both. Requests become the raw inputs
//! of the runner-core use cases (which validate them); domain values become proto messages.
//!
//! The rule: a handler extracts, calls the use case, converts and replies. Every conversion
//! it needs lives here, one file per service: a handler builds no use-case input and no
//! message from a domain value field by field, it calls one of these functions.
//!
//! - this file: what the services share (timestamps, enum numbers, subjects, field values,
//!   pagination, [`defined`]);
//! - [`runner_service`]: RunnerService (runners, their tokens and policies, the SCM questions);
//! - [`configuration_service`]: RunnerConfigurationService (environment classes, the
//!   configuration schema and validation, SCM integrations, host authentication tokens, LLM
//!   integrations);
//! - [`identity_service`]: IdentityService (who the caller is, ID tokens, the token exchange);
//! - [`event_service`]: EventService (WatchEvents);
//! - [`group_service`]: GroupService (the organization's groups);
//! - [`service_account_service`]: ServiceAccountService (service accounts and their tokens);
//! - [`user_service`]: UserService (users, personal access tokens);
//! - [`organization_service`]: OrganizationService (the organization, its members);
//! - [`sso`]: OrganizationService's SSO configurations;
//! - [`invites`]: OrganizationService's invitations, AccountService's ways to sign in;
//! - [`runner_side`]: our runner-side service (`proto/runnerside/v1/interaction.proto`).
//!
//! Names: a request becomes an input in a function named after its RPC
//! (`fn create_runner(r: pb::CreateRunnerRequest) -> CreateRunnerInput`, with a `Result` when
//! the conversion itself can refuse a value); a domain value becomes a message in a function
//! named after the domain type (`fn runner(r: m::Runner) -> pb::Runner`). Deprecated fields
//! are read and filled here only, each under `#[allow(deprecated)]` with the reason. The
//! service files' functions are re-exported, so handlers call `convert::runner(…)`.

pub mod configuration_service;
pub mod event_service;
pub mod group_service;
pub mod identity_service;
pub mod invites;
pub mod organization_service;
pub mod runner_service;
pub mod runner_side;
pub mod service_account_service;
pub mod sso;
pub mod user_service;

pub use configuration_service::*;
pub use event_service::*;
pub use group_service::*;
pub use identity_service::*;
pub use invites::*;
pub use organization_service::*;
pub use runner_service::*;
pub use runner_side::*;
pub use service_account_service::*;
pub use sso::*;
pub use user_service::*;

use gitpod_api::gitpod::v1 as pb;
use gitpod_api::wkt::Timestamp as PbTimestamp;
use runner_core::CoreError;
use runner_core::model::{self as m, ApiEnum};
use runner_core::time::Timestamp;

pub fn timestamp(t: Timestamp) -> PbTimestamp {
    let (seconds, nanos) = t.to_seconds_nanos();
    PbTimestamp { seconds, nanos }
}

fn enum_number<E: ApiEnum>(e: Option<E>) -> i32 {
    e.map_or(0, ApiEnum::number)
}

pub fn subject(s: &m::Subject) -> pb::Subject {
    pb::Subject { id: id(s.id), principal: s.principal.number() }
}

/// A UUID in its canonical text (hyphenated, lower case), in a string of exactly its 36 bytes:
/// `to_string` formats through `fmt::Write` into a string that grows three times on the way.
pub fn id(id: uuid::Uuid) -> String {
    id.hyphenated().encode_lower(&mut uuid::Uuid::encode_buffer()).to_owned()
}

fn field_value(f: m::FieldValue) -> pb::FieldValue {
    pb::FieldValue { key: f.key, value: f.value }
}

/// A token's `validFor` in whole seconds: a fraction of one rounds up, so that a positive
/// validity stays positive.
pub fn valid_for_secs(d: Option<pbjson_types::Duration>) -> Option<i64> {
    d.map(|d| d.seconds.saturating_add(i64::from(d.nanos > 0)))
}

pub fn pagination(next_token: String) -> Option<pb::PaginationResponse> {
    Some(pb::PaginationResponse { next_token })
}

pub fn field_values(values: Vec<pb::FieldValue>) -> Vec<m::FieldValue> {
    values.into_iter().map(|f| m::FieldValue { key: f.key, value: f.value }).collect()
}

/// A timestamp from the wire; out-of-range values are the caller's error.
pub fn from_timestamp(field: &str, t: Option<PbTimestamp>) -> Result<Option<Timestamp>, CoreError> {
    t.map(|t| {
        Timestamp::from_seconds_nanos(t.seconds, t.nanos).ok_or_else(|| CoreError::invalid(field, "is out of range"))
    })
    .transpose()
}

/// A defined, non-UNSPECIFIED enum number, checked against the generated enum.
pub fn defined<E: TryFrom<i32>>(field: &str, n: i32) -> Result<i32, CoreError> {
    if n != 0 && E::try_from(n).is_ok() { Ok(n) } else { Err(CoreError::invalid(field, format!("unknown value {n}"))) }
}
