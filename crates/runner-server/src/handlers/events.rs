//! EventService handlers: WatchEvents, one server-streaming handler for every protocol, and the
//! audit log (ListAuditLogs, GetAuditLog).

use axum::extract::State;
use connectrpc_axum::message::StreamBody;
use connectrpc_axum::prelude::{ConnectError, ConnectRequest, ConnectResponse};
use futures::Stream;
use gitpod_api::gitpod::v1::*;

use super::{Reply, check, reply};
use crate::auth::Authenticated;
use crate::convert;
use crate::error::to_connect;
use crate::paging::Paging;
use crate::state::AppState;

/// The stream of one watcher's events: it ends cleanly when the server shuts down, with
/// `resource_exhausted` when the watcher fell behind, and at the maximum stream age.
type EventStream = StreamBody<std::pin::Pin<Box<dyn Stream<Item = Result<WatchEventsResponse, ConnectError>> + Send>>>;

pub async fn watch_events(
    State(s): State<AppState>,
    Authenticated(caller): Authenticated,
    ConnectRequest(r): ConnectRequest<WatchEventsRequest>,
) -> Result<ConnectResponse<EventStream>, ConnectError> {
    // Errors before the first event are ordinary error answers.
    let watcher = reply(check(&r), async { s.events.watch(&caller, convert::watch_events(r)) }).await?.into_inner();
    // Boxed, so that each event moves a pointer rather than the watcher.
    let state = Box::new((watcher, Box::pin(tokio::time::sleep(s.max_stream_age))));
    let events = futures::stream::unfold(Some(state), |state| async move {
        let mut state = state?;
        let (watcher, max_age) = &mut *state;
        let next = tokio::select! {
            biased;
            () = max_age.as_mut() => Ok(None),
            next = watcher.next() => next,
        };
        match next {
            Ok(Some(event)) => Some((Ok(convert::event(event)), Some(state))),
            Ok(None) => None,
            // The watcher is off the bus: the error is the stream's last message.
            Err(e) => Some((Err(to_connect(e)), None)),
        }
    });
    Ok(ConnectResponse::new(StreamBody::new(Box::pin(events) as std::pin::Pin<Box<dyn Stream<Item = _> + Send>>)))
}

pub async fn list_audit_logs(
    State(s): State<AppState>,
    Authenticated(caller): Authenticated,
    Paging(q): Paging,
    ConnectRequest(mut r): ConnectRequest<ListAuditLogsRequest>,
) -> Reply<ListAuditLogsResponse> {
    reply(check(&r), async move {
        let page = q.page(r.pagination.take())?;
        let page = s.audit_logs.list(&caller, convert::list_audit_logs(r, page.size, page.token)?).await?;
        Ok(convert::audit_logs(page))
    })
    .await
}

pub async fn get_audit_log(
    State(s): State<AppState>,
    Authenticated(caller): Authenticated,
    ConnectRequest(r): ConnectRequest<GetAuditLogRequest>,
) -> Reply<GetAuditLogResponse> {
    reply(check(&r), async move { Ok(convert::audit_log(s.audit_logs.get(&caller, &r.audit_log_entry_id).await?)) })
        .await
}
