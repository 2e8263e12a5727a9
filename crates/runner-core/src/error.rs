//! [`CoreError`]: what a use case can fail with. The transport maps it to a status code in one
//! place (`runner-server/src/error.rs`); nothing here knows about HTTP or gRPC.

use std::fmt;

/// One bad input field: the dotted path of the field (as in the JSON form of the request,
/// for example `spec.configuration.updateWindow.startHour`) and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldViolation {
    pub field: String,
    pub description: String,
    /// The rule it breaks, as an UPPER_SNAKE_CASE constant (`STRING_UUID`), when a declared
    /// rule of the API (`buf.validate`) found it; empty for the core's own checks.
    pub reason: String,
}

impl FieldViolation {
    pub fn new(field: impl Into<String>, description: impl Into<String>) -> Self {
        Self { field: field.into(), description: description.into(), reason: String::new() }
    }

    /// The same violation, naming the declared rule it breaks.
    pub fn with_reason(mut self, reason: impl Into<String>) -> Self {
        self.reason = reason.into();
        self
    }

    /// Puts the violation under a parent field: `startHour` scoped by `updateWindow` becomes
    /// `updateWindow.startHour`.
    pub fn scope(mut self, parent: &str) -> Self {
        self.field = if self.field.is_empty() { parent.to_owned() } else { format!("{parent}.{}", self.field) };
        self
    }
}

impl fmt::Display for FieldViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.description)
    }
}

/// The kinds of resource the API names in `not_found` and `already_exists` errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    Runner,
    RunnerPolicy,
    EnvironmentClass,
    ScmIntegration,
    HostAuthenticationToken,
    Group,
    LlmIntegration,
    Organization,
    User,
    ServiceAccount,
    Membership,
    RoleAssignment,
    /// A resource shared directly with a user or service account.
    Share,
    ServiceAccountToken,
    PersonalAccessToken,
    SsoConfiguration,
    /// An organization's invite.
    Invite,
    AuditLogEntry,
}

impl Resource {
    pub fn as_str(self) -> &'static str {
        match self {
            Resource::Runner => "runner",
            Resource::RunnerPolicy => "runner policy",
            Resource::EnvironmentClass => "environment class",
            Resource::ScmIntegration => "SCM integration",
            Resource::HostAuthenticationToken => "host authentication token",
            Resource::Group => "group",
            Resource::LlmIntegration => "LLM integration",
            Resource::Organization => "organization",
            Resource::User => "user",
            Resource::ServiceAccount => "service account",
            Resource::Membership => "membership",
            Resource::RoleAssignment => "role assignment",
            Resource::Share => "share",
            Resource::ServiceAccountToken => "service account token",
            Resource::PersonalAccessToken => "personal access token",
            Resource::SsoConfiguration => "SSO configuration",
            Resource::Invite => "organization invite",
            Resource::AuditLogEntry => "audit log entry",
        }
    }
}

/// Errors of the use cases. Every variant maps to exactly one status code.
#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    /// The request is malformed; at least one violation.
    #[error("{}", summarize(.0))]
    InvalidArgument(Vec<FieldViolation>),
    /// The resource does not exist, or the caller may not know that it does.
    #[error("{} {id} not found", .resource.as_str())]
    NotFound { resource: Resource, id: String },
    /// Something outside our store that the call needs does not exist: a repository or a
    /// branch at the SCM provider. The message says what.
    #[error("{0}")]
    Missing(String),
    /// A resource with the same natural key exists.
    #[error("{message}")]
    AlreadyExists { resource: Resource, message: String },
    /// The system is not in a state where the call can succeed (message is part of the API).
    #[error("{0}")]
    FailedPrecondition(String),
    /// The caller must authenticate with an SCM host first (a `failed_precondition` that
    /// carries `ParseContextURLPreconditionFailureDetails`).
    #[error("{}", .0.message)]
    AuthenticationRequired(Box<AuthenticationRequired>),
    /// A quota ran out, such as the SCM provider's rate limit.
    #[error("{0}")]
    ResourceExhausted(String),
    /// The caller can see the resource but lacks the role the call needs. `resource` names
    /// what was refused (`runner <id>`), for the audit log.
    #[error("{reason}")]
    PermissionDenied { resource: String, reason: String },
    /// No valid credentials.
    #[error("{0}")]
    Unauthenticated(String),
    /// The store is temporarily unreachable, or a write waited for its turn until the
    /// server's own bound (the caller set no deadline): the caller may retry.
    #[error("{0}")]
    Unavailable(String),
    /// The caller's deadline passed before the call could be done; nothing was written.
    #[error("{0}")]
    DeadlineExceeded(String),
    /// A bug or an unexpected failure underneath; the source is logged, never sent.
    #[error("internal error: {0}")]
    Internal(String),
}

/// What a client needs to send the user to authenticate with an SCM host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthenticationRequired {
    pub message: String,
    /// Where the user authenticates: the OAuth authorization URL, or else the page that creates
    /// a personal access token.
    pub authentication_required_url: String,
    pub scm_id: String,
    /// Runners the user could authenticate against for this host.
    pub runner_ids: Vec<uuid::Uuid>,
}

fn summarize(violations: &[FieldViolation]) -> String {
    match violations {
        [] => "invalid argument".to_owned(),
        [one] => format!("invalid {one}"),
        [first, rest @ ..] => format!("invalid {first} (and {} more)", rest.len()),
    }
}

impl CoreError {
    /// One invalid field.
    pub fn invalid(field: impl Into<String>, description: impl Into<String>) -> Self {
        Self::InvalidArgument(vec![FieldViolation::new(field, description)])
    }

    pub fn denied(resource: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::PermissionDenied { resource: resource.into(), reason: reason.into() }
    }

    pub fn not_found(resource: Resource, id: impl fmt::Display) -> Self {
        Self::NotFound { resource, id: id.to_string() }
    }
}

impl From<FieldViolation> for CoreError {
    fn from(v: FieldViolation) -> Self {
        Self::InvalidArgument(vec![v])
    }
}

impl From<Vec<FieldViolation>> for CoreError {
    fn from(v: Vec<FieldViolation>) -> Self {
        Self::InvalidArgument(v)
    }
}

pub type Result<T, E = CoreError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_field() {
        let e = CoreError::invalid("runnerId", "must be a UUID");
        assert_eq!(e.to_string(), "invalid runnerId: must be a UUID");
        let e = CoreError::InvalidArgument(vec![
            FieldViolation::new("startHour", "must be 0-23").scope("updateWindow"),
            FieldViolation::new("name", "too short"),
        ]);
        assert_eq!(e.to_string(), "invalid updateWindow.startHour: must be 0-23 (and 1 more)");
        assert_eq!(CoreError::not_found(Resource::Runner, "x").to_string(), "runner x not found");
    }
}
