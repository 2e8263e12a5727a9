//! ListAuditLogs and GetAuditLog: the caller's organization's audit log, for organization
//! admins and the groups that hold `ORG_AUDIT_LOG_READER` on the organization; anyone else
//! gets `permission_denied`.

use std::sync::Arc;

use uuid::Uuid;

use crate::audit::{AuditEntry, AuditFilter};
use crate::error::{CoreError, FieldViolation, Resource, Result};
use crate::identity::Caller;
use crate::model::{ApiEnum, AuditSubject, Principal, ResourceRole};
use crate::page::{Page, PageTokens};
use crate::store::Store;
use crate::time::Timestamp;
use crate::validate::{self, Violations};

const LIST_KIND: &str = "audit_logs";
/// `SortOrder` numbers.
const SORT_ASC: i32 = 1;
const SORT_DESC: i32 = 2;

/// ListAuditLogs as sent.
#[derive(Debug, Clone, Default)]
pub struct ListAuditInput {
    pub page_size: i32,
    pub token: String,
    pub actor_ids: Vec<String>,
    pub actor_principals: Vec<i32>,
    pub subject_ids: Vec<String>,
    pub subject_types: Vec<i32>,
    pub from: Option<Timestamp>,
    pub to: Option<Timestamp>,
    /// `sort.field` and `sort.order`, when a sort was sent.
    pub sort: Option<(String, i32)>,
}

#[derive(Clone)]
pub struct AuditLogs {
    store: Arc<dyn Store>,
    page_tokens: PageTokens,
}

impl AuditLogs {
    pub fn new(store: Arc<dyn Store>, page_tokens: PageTokens) -> Self {
        Self { store, page_tokens }
    }

    /// Organization admins, and members of a group holding `ORG_AUDIT_LOG_READER` on the
    /// organization.
    async fn may_read(&self, caller: &Caller) -> Result<()> {
        if caller.org_admin {
            return Ok(());
        }
        let roles = if caller.groups.is_empty() {
            Vec::new()
        } else {
            self.store.organization_roles(caller.org_id, &caller.groups).await?
        };
        if roles.contains(&ResourceRole::OrgAuditLogReader) {
            Ok(())
        } else {
            Err(CoreError::denied(
                format!("organization {}", caller.org_id),
                "reading the audit log needs the organization admin or audit log reader role",
            ))
        }
    }

    /// ListAuditLogs: newest first unless sorted by `createdAt` ascending; paged by entry id.
    pub async fn list(&self, caller: &Caller, input: ListAuditInput) -> Result<Page<AuditEntry>> {
        let mut v = Violations::default();
        let size = v.check(validate::page_size("pagination.pageSize", input.page_size));
        let uuids = |field: &str, values: &[String]| validate::filter_list(field, values, |f, s| validate::uuid(f, s));
        let actor_ids = v.check(uuids("filter.actorIds", &input.actor_ids));
        let subject_ids = v.check(uuids("filter.subjectIds", &input.subject_ids));
        let actor_principals =
            v.check(validate::filter_list("filter.actorPrincipals", &input.actor_principals, |f, n| {
                Principal::VALUES
                    .iter()
                    .copied()
                    .find(|p| p.number() == *n)
                    .ok_or_else(|| FieldViolation::new(f, format!("unknown value {n}")))
            }));
        // Resource types this server never records match nothing; unknown numbers are refused.
        let mut unknown_type = false;
        let subject_types = v.check(validate::filter_list("filter.subjectTypes", &input.subject_types, |f, n| {
            if *n <= 0 {
                return Err(FieldViolation::new(f, format!("unknown value {n}")));
            }
            match AuditSubject::VALUES.iter().copied().find(|t| t.number() == *n) {
                Some(t) => Ok(Some(t)),
                None => {
                    unknown_type = true;
                    Ok(None)
                }
            }
        }));
        let subject_types: Vec<AuditSubject> = subject_types.unwrap_or_default().into_iter().flatten().collect();
        // Asked only for types this server has no entries of: nothing matches.
        let nothing = unknown_type && subject_types.is_empty();
        if input.from.zip(input.to).is_some_and(|(from, to)| to < from) {
            v.push(FieldViolation::new("filter.to", "must not be before filter.from"));
        }
        let oldest_first = match &input.sort {
            None => false,
            Some((field, order)) => {
                if !["", "createdAt", "created_at"].contains(&field.as_str()) {
                    v.push(FieldViolation::new(
                        "sort.field",
                        format!("unknown field {field:?}: audit logs sort by createdAt"),
                    ));
                }
                if !(0..=SORT_DESC).contains(order) {
                    v.push(FieldViolation::new("sort.order", format!("unknown value {order}")));
                }
                *order == SORT_ASC
            }
        };
        let request_filter = AuditFilter {
            actor_ids: actor_ids.unwrap_or_default(),
            actor_principals: actor_principals.unwrap_or_default(),
            subject_ids: subject_ids.unwrap_or_default(),
            subject_types,
            from: input.from,
            to: input.to,
            oldest_first,
        };
        let cursor = v.check(self.page_tokens.cursor("pagination.token", LIST_KIND, &input.token, request_filter));
        v.finish()?;
        self.may_read(caller).await?;
        let (size, cursor) = (size.expect("checked"), cursor.expect("checked"));
        let after = cursor.after_id()?;
        if nothing {
            return Ok(Page { items: Vec::new(), next_token: String::new() });
        }
        let items = self.store.list_audit_entries(caller.org_id, &cursor.filter, after, size + 1).await?;
        Ok(self.page_tokens.page(LIST_KIND, &cursor.filter, items, size, |e| e.id))
    }

    /// Deletes the entries older than `retention_days`; how many.
    pub async fn prune(&self, retention_days: u32) -> Result<u64> {
        let before = Timestamp::now().plus_seconds(-i64::from(retention_days) * 86_400);
        Ok(self.store.prune_audit_entries(before).await?)
    }

    /// GetAuditLog: one entry of the caller's organization; another organization's is
    /// `not_found`.
    pub async fn get(&self, caller: &Caller, id: &str) -> Result<AuditEntry> {
        let entry_id: Uuid = validate::uuid("auditLogEntryId", id)?;
        self.may_read(caller).await?;
        match self.store.get_audit_entry(entry_id).await? {
            Some(e) if e.org_id == caller.org_id => Ok(e),
            _ => Err(CoreError::not_found(Resource::AuditLogEntry, id)),
        }
    }
}
