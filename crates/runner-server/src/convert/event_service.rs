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
        resource_id: e.resource_id.to_string(),
    }
}
