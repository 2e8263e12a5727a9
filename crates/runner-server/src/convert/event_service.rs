//! EventService: WatchEvents requests and the events it streams.

use gitpod_api::gitpod::v1 as pb;
use pb::watch_events_request::Scope;
use runner_core::events::{Event, Operation};
use runner_core::watch::{FilterInput, WatchInput};

pub fn watch_events(r: pb::WatchEventsRequest) -> WatchInput {
    WatchInput {
        environment_id: match r.scope {
            Some(Scope::EnvironmentId(id)) => Some(id),
            Some(Scope::Organization(_)) | None => None,
        },
        filters: r
            .resource_type_filters
            .into_iter()
            .map(|f| FilterInput {
                resource_type: f.resource_type,
                resource_ids: f.resource_ids,
                creator_ids: f.creator_ids,
            })
            .collect(),
    }
}

pub fn event(e: Event) -> pb::WatchEventsResponse {
    let operation = match e.operation {
        Operation::Create => pb::ResourceOperation::Create,
        Operation::Update => pb::ResourceOperation::Update,
        Operation::Delete => pb::ResourceOperation::Delete,
        Operation::UpdateStatus => pb::ResourceOperation::UpdateStatus,
    };
    pb::WatchEventsResponse {
        operation: operation as i32,
        resource_type: e.resource.number(),
        // Once per event and watcher: without the formatting machinery.
        resource_id: super::id(e.resource_id),
    }
}

/// ListAuditLogs as the use case takes it (the page comes from the handler's paging).
pub fn list_audit_logs(
    r: pb::ListAuditLogsRequest,
    page_size: i32,
    token: String,
) -> Result<runner_core::audit_logs::ListAuditInput, runner_core::CoreError> {
    let filter = r.filter.unwrap_or_default();
    Ok(runner_core::audit_logs::ListAuditInput {
        page_size,
        token,
        actor_ids: filter.actor_ids,
        actor_principals: filter.actor_principals,
        subject_ids: filter.subject_ids,
        subject_types: filter.subject_types,
        from: super::from_timestamp("filter.from", filter.from)?,
        to: super::from_timestamp("filter.to", filter.to)?,
        sort: r.sort.map(|s| (s.field, s.order)),
    })
}

pub fn audit_log_entry(e: runner_core::audit::AuditEntry) -> pb::list_audit_logs_response::AuditLogEntry {
    use runner_core::model::ApiEnum;
    pb::list_audit_logs_response::AuditLogEntry {
        id: e.id.to_string(),
        actor_id: e.actor.map(|(id, _)| id.to_string()).unwrap_or_default(),
        actor_principal: e.actor.map_or(0, |(_, p)| p.number()),
        subject_id: e.subject.map(|(id, _)| id.to_string()).unwrap_or_default(),
        subject_type: e.subject.map_or(0, |(_, t)| t.number()),
        action: e.action,
        created_at: Some(super::timestamp(e.created_at)),
        kind: e.kind.number(),
    }
}

pub fn audit_logs(page: runner_core::page::Page<runner_core::audit::AuditEntry>) -> pb::ListAuditLogsResponse {
    pb::ListAuditLogsResponse {
        entries: page.items.into_iter().map(audit_log_entry).collect(),
        pagination: super::pagination(page.next_token),
    }
}

pub fn audit_log(e: runner_core::audit::AuditEntry) -> pb::GetAuditLogResponse {
    pb::GetAuditLogResponse { entry: Some(audit_log_entry(e)), details: None }
}
