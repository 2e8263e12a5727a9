//! The audit log: who did what to which resource, and when, stored in the database with the
//! write it records (`AuditRepo`, and every write method of the store).
//!
//! How an entry reaches the write's transaction, without a second call that could be forgotten:
//!
//! - The server runs every API call in an [`AuditScope`] ([`scope`]): the call's action (the
//!   RPC, `gitpod.v1.RunnerService/CreateRunner`) and, once the bearer token is authenticated,
//!   its actor ([`set_actor`]).
//! - Every write method of the store builds its entry from the scope ([`entry`]) with the
//!   subject it wrote (which the store knows: the row's id and type), and inserts it in the
//!   write's own transaction, only when the write changed a row. A write that fails or changes
//!   nothing leaves no entry; a committed one always has one.
//! - Writes outside any call (the `admin` subcommands, the first start, background work) are
//!   recorded too, with no actor and the action [`SYSTEM_ACTION`] (or the one their own scope
//!   names).
//! - A call whose writes are not audited says so once, in its scope ([`AuditScope::unaudited`]):
//!   the runner's status reports (UpdateRunnerStatus), which are frequent and no change of
//!   anything a person did (docs/decisions.md).
//!
//! Reads of secret values ([`AuditKind::CredentialAccess`]) and authorization failures
//! ([`denial`]) write no row of their own, so their entries are inserted alone.

use std::sync::{Arc, Mutex};

use uuid::Uuid;

use crate::identity::Caller;
use crate::model::{ApiEnum, AuditKind, AuditSubject, Principal};
use crate::time::Timestamp;

/// The action of a write made outside any API call (admin subcommands, the first start).
pub const SYSTEM_ACTION: &str = "system";

/// Who acted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuditActor {
    pub org_id: Uuid,
    pub id: Uuid,
    pub principal: Principal,
}

impl From<&Caller> for AuditActor {
    fn from(caller: &Caller) -> Self {
        AuditActor { org_id: caller.org_id, id: caller.subject.id, principal: caller.subject.principal }
    }
}

/// One stored entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub id: Uuid,
    /// The organization whose auditors may read it: the actor's, else the subject's.
    pub org_id: Uuid,
    /// Who acted; `None` for the server itself (admin subcommands, background work).
    pub actor: Option<(Uuid, Principal)>,
    /// What was acted on, when the entry names one resource.
    pub subject: Option<(Uuid, AuditSubject)>,
    /// What was done: the RPC (`gitpod.v1.RunnerService/CreateRunner`), or [`SYSTEM_ACTION`].
    pub action: String,
    pub created_at: Timestamp,
    pub kind: AuditKind,
}

/// The audit context of one API call.
#[derive(Debug)]
pub struct AuditScope {
    action: String,
    audited: bool,
    actor: Mutex<Option<AuditActor>>,
    /// The entry of an authorization failure of the call, inserted when it ends.
    denied: Mutex<Option<AuditEntry>>,
}

impl AuditScope {
    /// A call whose writes are recorded as `action`.
    pub fn new(action: impl Into<String>) -> Arc<Self> {
        Arc::new(AuditScope { action: action.into(), audited: true, actor: Mutex::new(None), denied: Mutex::new(None) })
    }

    /// A call whose writes are not recorded (see the module's documentation).
    pub fn unaudited(action: impl Into<String>) -> Arc<Self> {
        Arc::new(AuditScope {
            action: action.into(),
            audited: false,
            actor: Mutex::new(None),
            denied: Mutex::new(None),
        })
    }

    pub fn action(&self) -> &str {
        &self.action
    }

    pub fn actor(&self) -> Option<AuditActor> {
        *self.actor.lock().expect("not poisoned")
    }

    /// The entry of the call's authorization failure ([`note_denial`]), once.
    pub fn take_denial(&self) -> Option<AuditEntry> {
        self.denied.lock().expect("not poisoned").take()
    }
}

tokio::task_local! {
    static SCOPE: Arc<AuditScope>;
}

/// Runs `fut` (one call) in `scope`.
pub async fn scope<F: std::future::Future>(scope: Arc<AuditScope>, fut: F) -> F::Output {
    SCOPE.scope(scope, fut).await
}

/// The current call's scope, if any.
pub fn current() -> Option<Arc<AuditScope>> {
    SCOPE.try_with(Arc::clone).ok()
}

/// Notes the authenticated caller of the current call as the actor of its entries.
pub fn set_actor(caller: &Caller) {
    let _ = SCOPE.try_with(|s| *s.actor.lock().expect("not poisoned") = Some(AuditActor::from(caller)));
}

/// The entry of a write to `subject` (of organization `subject_org`, when the store knows it),
/// or `None` when the current call is not audited. Called by the store's write methods, which
/// insert it in the write's transaction.
pub fn entry(subject: AuditSubject, subject_id: Uuid, subject_org: Option<Uuid>) -> Option<AuditEntry> {
    let scope = current();
    if scope.as_ref().is_some_and(|s| !s.audited) {
        return None;
    }
    let actor = scope.as_ref().and_then(|s| s.actor());
    let action = scope.map(|s| s.action.clone()).unwrap_or_else(|| SYSTEM_ACTION.to_owned());
    let org_id = actor.map(|a| a.org_id).or(subject_org).unwrap_or(Uuid::nil());
    Some(AuditEntry {
        id: Uuid::now_v7(),
        org_id,
        actor: actor.map(|a| (a.id, a.principal)),
        subject: Some((subject_id, subject)),
        action,
        created_at: Timestamp::now(),
        kind: AuditKind::ResourceChange,
    })
}

/// The entry of `caller` reading the secret value of `subject` in the current call.
pub fn credential_access(caller: &Caller, subject: AuditSubject, subject_id: Uuid) -> AuditEntry {
    AuditEntry {
        id: Uuid::now_v7(),
        org_id: caller.org_id,
        actor: Some((caller.subject.id, caller.subject.principal)),
        subject: Some((subject_id, subject)),
        action: current().map(|s| s.action.clone()).unwrap_or_else(|| SYSTEM_ACTION.to_owned()),
        created_at: Timestamp::now(),
        kind: AuditKind::CredentialAccess,
    }
}

/// The entry of an authorization failure of the current call: `resource` is what
/// `CoreError::PermissionDenied` names (`runner <id>`). `None` when the call has no
/// authenticated actor (refused credentials belong to no organization; they stay in the log).
pub fn denial(resource: &str) -> Option<AuditEntry> {
    let scope = current()?;
    let actor = scope.actor()?;
    let subject = resource.rsplit_once(' ').and_then(|(kind, id)| {
        let id = Uuid::try_parse(id).ok()?;
        let kind = AuditSubject::VALUES.iter().copied().find(|s| s.as_str().replace('_', " ") == kind)?;
        Some((id, kind))
    });
    Some(AuditEntry {
        id: Uuid::now_v7(),
        org_id: actor.org_id,
        actor: Some((actor.id, actor.principal)),
        subject,
        action: format!("{}: permission_denied", scope.action),
        created_at: Timestamp::now(),
        kind: AuditKind::AuthorizationDenied,
    })
}

/// Notes an authorization failure of the current call ([`denial`]); the server inserts its
/// entry when the call ends ([`AuditScope::take_denial`]). Denials are recorded even in a call
/// whose writes are not.
pub fn note_denial(resource: &str) {
    if let Some(entry) = denial(resource) {
        let _ = SCOPE.try_with(|s| *s.denied.lock().expect("not poisoned") = Some(entry));
    }
}

/// ListAuditLogs' filter, checked: every condition given must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AuditFilter {
    pub actor_ids: Vec<Uuid>,
    pub actor_principals: Vec<Principal>,
    pub subject_ids: Vec<Uuid>,
    pub subject_types: Vec<AuditSubject>,
    /// At or after.
    pub from: Option<Timestamp>,
    /// Before.
    pub to: Option<Timestamp>,
    /// Oldest first (sort `createdAt` ascending); newest first by default.
    pub oldest_first: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn entries_take_the_calls_actor_and_action() {
        let (c, runner) = (Caller::test_user(Uuid::now_v7()), Uuid::now_v7());
        let outside = entry(AuditSubject::Runner, runner, None).unwrap();
        assert_eq!((outside.actor, outside.action.as_str(), outside.org_id), (None, SYSTEM_ACTION, Uuid::nil()));
        let within = scope(AuditScope::new("gitpod.v1.RunnerService/CreateRunner"), async {
            set_actor(&c);
            entry(AuditSubject::Runner, runner, None).unwrap()
        })
        .await;
        assert_eq!(within.actor, Some((c.subject.id, Principal::User)));
        assert_eq!((within.org_id, within.action.as_str()), (c.org_id, "gitpod.v1.RunnerService/CreateRunner"));
        assert_eq!((within.subject, within.kind), (Some((runner, AuditSubject::Runner)), AuditKind::ResourceChange));
        let unaudited = scope(AuditScope::unaudited("x"), async { entry(AuditSubject::Runner, runner, None) }).await;
        assert_eq!(unaudited, None);
    }

    #[tokio::test]
    async fn denials_name_their_resource_when_it_is_one() {
        let (c, runner) = (Caller::test_user(Uuid::now_v7()), Uuid::now_v7());
        assert_eq!(denial(&format!("runner {runner}")), None, "outside a call");
        let (named, unnamed, anonymous) = scope(AuditScope::new("gitpod.v1.RunnerService/DeleteRunner"), async {
            let anonymous = denial("runner-side API");
            set_actor(&c);
            (denial(&format!("runner {runner}")).unwrap(), denial("service accounts").unwrap(), anonymous)
        })
        .await;
        assert_eq!(anonymous, None);
        assert_eq!(named.subject, Some((runner, AuditSubject::Runner)));
        assert_eq!(named.action, "gitpod.v1.RunnerService/DeleteRunner: permission_denied");
        assert_eq!((unnamed.subject, unnamed.kind), (None, AuditKind::AuthorizationDenied));
    }
}
