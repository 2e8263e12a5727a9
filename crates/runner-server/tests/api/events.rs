//! WatchEvents: runner writes streamed to watchers over gRPC, gRPC-web, Connect streaming (JSON
//! and binary) and the Stainless SDKs' JSON-lines form; filters; who sees what; errors before
//! the stream; shutdown.

use std::time::Duration;

use futures::StreamExt;
use gitpod_api::gitpod::v1::*;
use runner_core::identity::OrgRole;
use runner_testkit::{ALL, Client, ClientOptions, Failure, MessageStream, Protocol, TestServer, es, rcs, rs};

use crate::runners::{aws_runner, create, delete, update};

/// How long a test waits for an event it expects.
const WAIT: Duration = Duration::from_secs(10);

fn organization() -> WatchEventsRequest {
    WatchEventsRequest { scope: Some(watch_events_request::Scope::Organization(true)), resource_type_filters: vec![] }
}

async fn watch(c: &Client, req: WatchEventsRequest) -> MessageStream<WatchEventsResponse> {
    c.server_stream(&es("WatchEvents"), req).await.unwrap_or_else(|f| panic!("{:?} WatchEvents: {f}", c.protocol))
}

/// The next event, which must come within [`WAIT`].
async fn next(stream: &mut MessageStream<WatchEventsResponse>) -> WatchEventsResponse {
    match tokio::time::timeout(WAIT, stream.next()).await {
        Ok(Some(Ok(event))) => event,
        Ok(Some(Err(f))) => panic!("the stream failed: {f}"),
        Ok(None) => panic!("the stream ended"),
        Err(_) => panic!("no event within {WAIT:?}"),
    }
}

fn event(operation: ResourceOperation, id: &str) -> WatchEventsResponse {
    WatchEventsResponse {
        operation: operation as i32,
        resource_type: ResourceType::Runner as i32,
        resource_id: id.to_owned(),
    }
}

/// A new AWS runner's id.
async fn new_runner(c: &Client, name: &str) -> String {
    create(c, aws_runner(name)).await.unwrap().runner.unwrap().runner_id
}

/// A server, its admin's Connect JSON client, and two AWS runners.
async fn two_runners(a: &str, b: &str) -> (TestServer, Client, String, String) {
    let server = TestServer::start().await;
    let admin = server.client(Protocol::ConnectJson).await;
    let (a, b) = (new_runner(&admin, a).await, new_runner(&admin, b).await);
    (server, admin, a, b)
}

async fn rename(c: &Client, id: &str, name: &str) {
    let req = UpdateRunnerRequest { runner_id: id.to_owned(), name: Some(name.to_owned()), ..Default::default() };
    update(c, req).await.unwrap();
}

/// The call's failure: refused before the stream (gRPC status in headers, Connect error
/// answer) or as the stream's first item (Connect streaming puts every error in its
/// end-of-stream message).
async fn failure(c: &Client, req: WatchEventsRequest) -> Failure {
    match c.server_stream::<_, WatchEventsResponse>(&es("WatchEvents"), req).await {
        Err(f) => f,
        Ok(mut stream) => match tokio::time::timeout(WAIT, stream.next()).await {
            Ok(Some(Err(f))) => f,
            other => panic!("{:?}: expected a failure, got {other:?}", c.protocol),
        },
    }
}

/// The ways a client streams WatchEvents: the four encodings (Connect and gRPC-web over
/// HTTP/1.1, gRPC over HTTP/2), and gRPC-web's text form, gRPC-web and Connect streaming over
/// HTTP/2 (h2c), gRPC-web text over HTTP/2.
fn streaming_variants() -> Vec<(String, Protocol, ClientOptions)> {
    let mut variants: Vec<(String, Protocol, ClientOptions)> =
        ALL.iter().map(|&p| (format!("{p:?}"), p, ClientOptions::default())).collect();
    let h2 = ClientOptions { http2: true, ..Default::default() };
    let text = ClientOptions { grpc_web_text: true, ..Default::default() };
    variants.extend([
        ("GrpcWeb text".to_owned(), Protocol::GrpcWeb, text.clone()),
        ("GrpcWeb over HTTP/2".to_owned(), Protocol::GrpcWeb, h2.clone()),
        ("GrpcWeb text over HTTP/2".to_owned(), Protocol::GrpcWeb, ClientOptions { http2: true, ..text }),
        ("ConnectJson over HTTP/2".to_owned(), Protocol::ConnectJson, h2.clone()),
        ("ConnectProto over HTTP/2".to_owned(), Protocol::ConnectProto, h2),
    ]);
    variants
}

/// Every protocol and variant receives a runner's create, update, status-changing delete
/// request and deletion, in order, and only after each write was answered; the stream ends
/// cleanly at shutdown.
#[tokio::test]
async fn every_protocol_receives_runner_writes_in_order() {
    let server = TestServer::start().await;
    let admin = server.client(Protocol::ConnectJson).await;
    let mut streams = Vec::new();
    for (name, protocol, options) in streaming_variants() {
        let watcher = Client::connect(protocol, &server.url(), Some(&server.admin_token), options).await.unwrap();
        streams.push((name, watch(&watcher, organization()).await));
    }
    let id = new_runner(&admin, "watched").await;
    rename(&admin, &id, "watched again").await;
    delete(&admin, &id, true).await.unwrap();
    for (name, stream) in &mut streams {
        assert_eq!(next(stream).await, event(ResourceOperation::Create, &id), "{name}");
        assert_eq!(next(stream).await, event(ResourceOperation::Update, &id), "{name}");
        assert_eq!(next(stream).await, event(ResourceOperation::Delete, &id), "{name}");
    }
    // No scope at all is the organization scope too, and the `/api` prefix works.
    let watcher = Client::new(Protocol::Grpc, &format!("{}/api", server.url()), Some(&server.admin_token)).await;
    let mut stream = watch(&watcher, WatchEventsRequest::default()).await;
    let id = new_runner(&admin, "no scope").await;
    assert_eq!(next(&mut stream).await, event(ResourceOperation::Create, &id));
    // Every stream saw that too, and then ends cleanly (no error) when the server stops.
    let stop = tokio::spawn(server.stop());
    for (name, stream) in &mut streams {
        assert_eq!(next(stream).await, event(ResourceOperation::Create, &id), "{name}");
        let end = tokio::time::timeout(WAIT, stream.next()).await.expect("the stream ends at shutdown");
        assert!(end.is_none(), "{name}: {end:?}");
    }
    stop.await.unwrap();
}

/// A watcher that stops reading while writes go on: once its buffer (`--watch-buffer-events`,
/// here 64) is full its stream ends with `resource_exhausted`, while every write is answered as
/// usual and a watcher that reads receives every event. The stalled client grants the server
/// an HTTP/2 window of 512 bytes (about ten events), so that the server's buffer, not the
/// transport's, is what fills: with the default windows the transport would hold thousands of
/// events. Over HTTP/2 for gRPC, gRPC-web and Connect (HTTP/1.1 has no window to shrink: there
/// the socket buffers absorb an unknown amount).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watcher_that_stops_reading_is_cut_off_and_slows_nobody() {
    const BUFFER: u64 = 64;
    const WRITES: usize = 400;
    let server = TestServer::builder().watch_buffer(BUFFER).start().await;
    let admin = server.client(Protocol::ConnectProto).await;
    let id = new_runner(&admin, "busy").await;
    let tiny = ClientOptions { http2: true, http2_window: Some(512), ..Default::default() };
    for protocol in [Protocol::Grpc, Protocol::GrpcWeb, Protocol::ConnectProto] {
        let stalled_client =
            Client::connect(protocol, &server.url(), Some(&server.admin_token), tiny.clone()).await.unwrap();
        let mut stalled = watch(&stalled_client, organization()).await;
        let mut reader = watch(&server.client(Protocol::Grpc).await, organization()).await;
        let reading = tokio::spawn(async move {
            let mut got = Vec::new();
            while got.len() < WRITES {
                got.push(next(&mut reader).await);
            }
            got
        });
        // Every write is answered though the stalled watcher reads nothing: writers never wait
        // for watchers.
        for i in 0..WRITES {
            let name = format!("busy {protocol:?} {i}");
            tokio::time::timeout(WAIT, rename(&admin, &id, &name))
                .await
                .unwrap_or_else(|_| panic!("{protocol:?}: write {i} waited"));
        }
        let got = tokio::time::timeout(WAIT, reading).await.expect("the reader has every event").unwrap();
        assert_eq!(got, vec![event(ResourceOperation::Update, &id); WRITES], "{protocol:?}");
        // The stalled watcher, reading at last: what its window and buffer held, then the end.
        let mut held = 0;
        let failure = loop {
            match tokio::time::timeout(WAIT, stalled.next()).await.expect("the stalled stream ends") {
                Some(Ok(e)) => {
                    assert_eq!(e, event(ResourceOperation::Update, &id), "{protocol:?}");
                    held += 1;
                }
                Some(Err(f)) => break f,
                None => panic!("{protocol:?}: the stalled stream ended cleanly after {held} events"),
            }
        };
        assert_eq!(failure.code, "resource_exhausted", "{protocol:?}: {failure}");
        assert!(failure.message.contains("re-watch"), "{protocol:?}: {failure}");
        assert!(held >= BUFFER as usize && held < WRITES / 2, "{protocol:?}: {held} events before the end");
    }
}

/// `resource_type_filters`: by type, by resource id, by creator id; an event passes when it
/// matches one entry.
#[tokio::test]
async fn filters() {
    let (server, admin, first, second) = two_runners("first", "second").await;
    let filter = |resource_type: ResourceType, ids: Vec<String>, creators: Vec<String>| WatchEventsRequest {
        scope: Some(watch_events_request::Scope::Organization(true)),
        resource_type_filters: vec![watch_events_request::ResourceTypeFilter {
            resource_type: resource_type as i32,
            resource_ids: ids,
            creator_ids: creators,
        }],
    };
    for protocol in ALL {
        let c = server.client(protocol).await;
        let mut by_id = watch(&c, filter(ResourceType::Runner, vec![second.clone()], vec![])).await;
        let mut by_creator = watch(&c, filter(ResourceType::Runner, vec![], vec![server.admin_id.to_string()])).await;
        let other = uuid::Uuid::now_v7().to_string();
        let mut by_other_creator = watch(&c, filter(ResourceType::Runner, vec![], vec![other])).await;
        let mut other_type = watch(&c, filter(ResourceType::Environment, vec![], vec![])).await;
        rename(&admin, &first, "first renamed").await;
        rename(&admin, &second, "second renamed").await;
        // The id filter skips the first runner's update.
        assert_eq!(next(&mut by_id).await, event(ResourceOperation::Update, &second), "{protocol:?}");
        assert_eq!(next(&mut by_creator).await, event(ResourceOperation::Update, &first), "{protocol:?}");
        assert_eq!(next(&mut by_creator).await, event(ResourceOperation::Update, &second), "{protocol:?}");
        // Nothing matches the others: within a moment, still nothing.
        for stream in [&mut by_other_creator, &mut other_type] {
            let got = tokio::time::timeout(Duration::from_millis(300), stream.next()).await;
            assert!(got.is_err(), "{protocol:?}: {got:?}");
        }
    }
}

/// The token of a new member whose group has the user role on `runner_id` (and on no other).
async fn reader_of(server: &TestServer, admin: &Client, runner_id: &str) -> String {
    member_of(server, admin, "reader", &[runner_id.to_owned()]).await
}

/// A new member, in a new group that has the user role on `runners` (and on no other): its
/// token.
pub(crate) async fn member_of(server: &TestServer, admin: &Client, name: &str, runners: &[String]) -> String {
    let (member_id, token) = server.member(name, OrgRole::Member).await;
    let group = server.identity.create_group(server.org.id, &format!("{name}s")).await.unwrap();
    server.identity.add_group_member(group.id, member_id).await.unwrap();
    for runner_id in runners {
        let req = CreateRunnerPolicyRequest {
            runner_id: runner_id.clone(),
            group_id: group.id.to_string(),
            role: RunnerRole::User as i32,
        };
        let _: CreateRunnerPolicyResponse = admin.call(&rs("CreateRunnerPolicy"), req).await.unwrap();
    }
    token
}

/// A member sees the runners it may read (a policy of one of its groups) and not the others;
/// another organization sees nothing of this one.
#[tokio::test]
async fn watchers_see_only_what_they_may_read() {
    let (server, admin, hidden, shared) = two_runners("hidden", "shared").await;
    let member_token = reader_of(&server, &admin, &shared).await;

    let id = &server.identity;
    let other = id.create_organization("other").await.unwrap();
    let other_admin =
        id.create_member(other.id, runner_core::model::Principal::User, "boss", OrgRole::Admin).await.unwrap();
    let other_token = id.issue_token(other_admin.id, "t", None).await.unwrap().token;

    for protocol in ALL {
        let member = server.client_as(protocol, Some(&member_token)).await;
        let stranger = server.client_as(protocol, Some(&other_token)).await;
        let mut member_stream = watch(&member, organization()).await;
        let mut stranger_stream = watch(&stranger, organization()).await;
        rename(&admin, &hidden, &format!("hidden {protocol:?}")).await;
        rename(&admin, &shared, &format!("shared {protocol:?}")).await;
        assert_eq!(next(&mut member_stream).await, event(ResourceOperation::Update, &shared), "{protocol:?}");
        // The other organization's first event is its own runner's, not one of ours.
        let own = new_runner(&stranger, "theirs").await;
        assert_eq!(next(&mut stranger_stream).await, event(ResourceOperation::Create, &own), "{protocol:?}");
        // Nor does the member see the other organization's runner.
        rename(&admin, &shared, &format!("shared again {protocol:?}")).await;
        assert_eq!(next(&mut member_stream).await, event(ResourceOperation::Update, &shared), "{protocol:?}");
    }
}

/// A runner's own principal watches its own runner only.
#[tokio::test]
async fn a_runner_sees_only_itself() {
    let (server, admin, other, own) = two_runners("other", "own").await;
    let token = crate::runner_side::runner_access_token(&server, Protocol::ConnectJson, &own).await;
    for protocol in ALL {
        let mut stream = watch(&server.client_as(protocol, Some(&token)).await, organization()).await;
        rename(&admin, &other, &format!("other {protocol:?}")).await;
        rename(&admin, &own, &format!("own {protocol:?}")).await;
        assert_eq!(next(&mut stream).await, event(ResourceOperation::Update, &own), "{protocol:?}");
    }
}

/// Refused before anything streams: the environment scope (this server has no environments),
/// a filter without a type, no token.
#[tokio::test]
async fn refusals() {
    let server = TestServer::start().await;
    for protocol in ALL {
        let c = server.client(protocol).await;
        let env = WatchEventsRequest {
            scope: Some(watch_events_request::Scope::EnvironmentId(uuid::Uuid::now_v7().to_string())),
            resource_type_filters: vec![],
        };
        let f = failure(&c, env).await;
        assert_eq!(f.code, "failed_precondition", "{protocol:?}: {f}");
        assert!(f.message.contains("no environments"), "{protocol:?}: {f}");
        let untyped = WatchEventsRequest {
            scope: None,
            resource_type_filters: vec![watch_events_request::ResourceTypeFilter::default()],
        };
        let f = failure(&c, untyped).await;
        assert_eq!(f.code, "invalid_argument", "{protocol:?}: {f}");
        let anonymous = server.client_as(protocol, None).await;
        let f = failure(&anonymous, organization()).await;
        assert_eq!(f.code, "unauthenticated", "{protocol:?}: {f}");
    }
}

/// What the Stainless SDK sends for `client.events.watch()`: a JSON POST accepting JSON lines,
/// under `/api`. One proto3-JSON message per line, each as it happens; an error before the
/// first event is an ordinary Connect error answer.
#[tokio::test]
async fn json_lines() {
    let server = TestServer::start().await;
    let admin = server.client(Protocol::ConnectJson).await;
    let http = reqwest::Client::new();
    let post = |body: &str| {
        http.post(format!("{}/api/gitpod.v1.EventService/WatchEvents", server.url()))
            .header("authorization", format!("Bearer {}", server.admin_token))
            .header("content-type", "application/json")
            .header("accept", "application/jsonl")
            .body(body.to_owned())
            .send()
    };
    let mut response = post(r#"{"organization":true}"#).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/jsonl");
    let id = new_runner(&admin, "lines").await;
    let mut text = String::new();
    // The line arrives while the stream is open: it was flushed, not held to the end.
    while !text.ends_with('\n') {
        let chunk = tokio::time::timeout(WAIT, response.chunk()).await.expect("a line in time").unwrap().unwrap();
        text.push_str(std::str::from_utf8(&chunk).unwrap());
    }
    // Padded with spaces to a multiple of 64 bytes: the Stainless SDKs read in 64-byte chunks.
    assert_eq!(text.len() % 64, 0, "{text:?}");
    let line: serde_json::Value = serde_json::from_str(text.trim_end()).unwrap();
    assert_eq!(
        line,
        serde_json::json!({"operation": "RESOURCE_OPERATION_CREATE", "resourceType": "RESOURCE_TYPE_RUNNER", "resourceId": id})
    );
    rename(&admin, &id, "lines again").await;
    let mut text = String::new();
    while !text.ends_with('\n') {
        let chunk = tokio::time::timeout(WAIT, response.chunk()).await.expect("a line in time").unwrap().unwrap();
        text.push_str(std::str::from_utf8(&chunk).unwrap());
    }
    let line: serde_json::Value = serde_json::from_str(text.trim_end()).unwrap();
    assert_eq!(line["operation"], "RESOURCE_OPERATION_UPDATE");

    let refused = post(&format!(r#"{{"environmentId":"{}"}}"#, uuid::Uuid::now_v7())).await.unwrap();
    assert_eq!(refused.status(), 400);
    assert_eq!(refused.headers()["content-type"], "application/json");
    let body: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(body["code"], "failed_precondition", "{body}");
}

/// Shutdown ends open watch streams cleanly (no error), well before the drain deadline.
#[tokio::test]
async fn shutdown_ends_streams_cleanly() {
    let server = TestServer::start().await;
    let watcher = server.client(Protocol::Grpc).await;
    let mut stream = watch(&watcher, organization()).await;
    let stop = tokio::spawn(server.stop());
    let end = tokio::time::timeout(Duration::from_secs(5), stream.next()).await.expect("the stream ends at shutdown");
    assert!(end.is_none(), "{end:?}");
    stop.await.unwrap();
}

/// The parts of a runner (here environment classes) produce events too, seen by who may read
/// that runner: a member with a policy on one runner sees that runner's classes only.
#[tokio::test]
async fn a_runners_parts_follow_its_visibility() {
    use crate::classes::{create_class, gcp_runner, schema, valid_configuration};
    let server = TestServer::start().await;
    let admin = server.client(Protocol::ConnectJson).await;
    let hidden = gcp_runner(&admin).await;
    let shared = gcp_runner(&admin).await;
    let member_token = reader_of(&server, &admin, &shared).await;
    let configuration = valid_configuration(&schema(&admin, &shared).await);
    let class = |id: &str, operation: ResourceOperation| WatchEventsResponse {
        operation: operation as i32,
        resource_type: ResourceType::EnvironmentClass as i32,
        resource_id: id.to_owned(),
    };
    for protocol in ALL {
        let mut everything = watch(&server.client(protocol).await, organization()).await;
        let mut member = watch(&server.client_as(protocol, Some(&member_token)).await, organization()).await;
        let first =
            create_class(&admin, &hidden, &format!("hidden {protocol:?}"), configuration.clone()).await.unwrap();
        let second =
            create_class(&admin, &shared, &format!("shared {protocol:?}"), configuration.clone()).await.unwrap();
        let req = UpdateEnvironmentClassRequest {
            environment_class_id: second.clone(),
            enabled: Some(false),
            ..Default::default()
        };
        let _: UpdateEnvironmentClassResponse = admin.call(&rcs("UpdateEnvironmentClass"), req).await.unwrap();
        assert_eq!(next(&mut everything).await, class(&first, ResourceOperation::Create), "{protocol:?}");
        assert_eq!(next(&mut everything).await, class(&second, ResourceOperation::Create), "{protocol:?}");
        assert_eq!(next(&mut everything).await, class(&second, ResourceOperation::Update), "{protocol:?}");
        assert_eq!(next(&mut member).await, class(&second, ResourceOperation::Create), "{protocol:?}");
        assert_eq!(next(&mut member).await, class(&second, ResourceOperation::Update), "{protocol:?}");
    }
}

/// An event as a test expects it: the id when the test knows it, else any id.
type Expected = (ResourceOperation, ResourceType, Option<String>);

/// The events of `stream` up to and including `last`, which must come within [`WAIT`] each.
async fn until(
    stream: &mut MessageStream<WatchEventsResponse>,
    last: &WatchEventsResponse,
) -> Vec<WatchEventsResponse> {
    let mut got = Vec::new();
    loop {
        let event = next(stream).await;
        let done = &event == last;
        got.push(event);
        if done {
            return got;
        }
    }
}

/// `got` is exactly `expected`, in order (ids compared where the test knows them).
fn exactly(who: &str, got: &[WatchEventsResponse], expected: &[Expected]) {
    let shown = |e: &WatchEventsResponse| {
        let op = ResourceOperation::try_from(e.operation).map(|o| o.as_str_name()).unwrap_or("?");
        let ty = ResourceType::try_from(e.resource_type).map(|t| t.as_str_name()).unwrap_or("?");
        format!("{op} {ty} {}", e.resource_id)
    };
    let got_shown: Vec<String> = got.iter().map(shown).collect();
    assert_eq!(got.len(), expected.len(), "{who}: {got_shown:#?}");
    for (g, (op, ty, id)) in got.iter().zip(expected) {
        let same = g.operation == *op as i32
            && g.resource_type == *ty as i32
            && id.as_ref().is_none_or(|id| *id == g.resource_id);
        assert!(same, "{who}: expected {op:?} {ty:?} {id:?} in {got_shown:#?}");
    }
}

/// Groups, memberships, role assignments (runner policies included), service accounts, their
/// tokens, personal access tokens, users and the organization produce events, each seen by
/// exactly who may Get the resource: an organization admin sees all; a member and a service
/// account see the organization's groups, memberships, assignments on the organization,
/// users, service accounts and the organization, but neither others' tokens nor assignments
/// on a runner they cannot read; a runner sees none of it.
#[tokio::test]
async fn identity_resources_follow_their_get() {
    use crate::groups::{add, assign, create_group, delete_group, remove, unassign, update_group, user};
    use crate::organizations::{rename_org, set_role};
    use crate::service_accounts::{access_token, create_account, delete as delete_account};
    use crate::users::{create_pat, days, delete_user, suspend};
    use ResourceOperation::{Create, Delete, Update};
    use ResourceType as T;

    let (server, admin, hidden, _) = two_runners("hidden", "other").await;
    let org = server.org.id;
    let (member_id, member_token) = server.member("member", OrgRole::Member).await;
    let (other_id, _) = server.member("other", OrgRole::Member).await;
    let bot = server.identity.create_member(org, runner_core::model::Principal::ServiceAccount, "bot", OrgRole::Member);
    let bot = bot.await.unwrap();
    let bot_token = server.identity.issue_token(bot.id, "t", None).await.unwrap().token;
    let runner_token = crate::runner_side::runner_access_token(&server, Protocol::ConnectJson, &hidden).await;
    let member = server.client_as(Protocol::ConnectJson, Some(&member_token)).await;

    let mut streams = Vec::new();
    for (who, token) in
        [("admin", &server.admin_token), ("member", &member_token), ("bot", &bot_token), ("runner", &runner_token)]
    {
        streams.push((who, watch(&server.client_as(Protocol::Grpc, Some(token)).await, organization()).await));
    }

    let g = create_group(&admin, org, "watched", "").await.unwrap().id;
    update_group(&admin, &g, "watched again", "described").await.unwrap();
    let m = add(&admin, &g, user(member_id)).await.unwrap().id;
    remove(&admin, &m).await.unwrap();
    let on_org = assign(&admin, &g, ResourceType::Organization, org, ResourceRole::OrgGroupsAdmin).await.unwrap().id;
    unassign(&admin, &on_org).await.unwrap();
    // A runner policy is a role assignment on a runner the member and the bot cannot read.
    let policy =
        CreateRunnerPolicyRequest { runner_id: hidden.clone(), group_id: g.clone(), role: RunnerRole::User as i32 };
    let _: CreateRunnerPolicyResponse = admin.call(&rs("CreateRunnerPolicy"), policy).await.unwrap();
    delete_group(&admin, &g).await.unwrap();
    let sa = create_account(&admin, "robot", "").await.unwrap().id;
    crate::service_accounts::update(&admin, &sa, Some("robot two"), None).await.unwrap();
    access_token(&admin, &sa).await.unwrap();
    create_pat(&admin, server.admin_id, "admin's", days(1)).await.unwrap();
    create_pat(&member, member_id, "member's", days(1)).await.unwrap();
    suspend(&admin, other_id, true).await.unwrap();
    set_role(&admin, org, other_id, OrganizationRole::Admin).await.unwrap();
    delete_account(&admin, &sa).await.unwrap();
    delete_user(&admin, other_id).await.unwrap();
    rename_org(&admin, org, "renamed").await.unwrap();
    // The runner sees none of the above; this it sees.
    rename(&admin, &hidden, "hidden renamed").await;

    let (g, m, on_org, sa) = (Some(g), Some(m), Some(on_org), Some(sa));
    let (org, other) = (Some(org.to_string()), Some(other_id.to_string()));
    let common_start: Vec<Expected> = vec![
        (Create, T::Group, g.clone()),
        (Update, T::Group, g.clone()),
        (Create, T::GroupMembershipChanged, m.clone()),
        (Delete, T::GroupMembershipChanged, m.clone()),
        (Create, T::RoleAssignment, on_org.clone()),
        (Delete, T::RoleAssignment, on_org.clone()),
    ];
    let policy_event: Vec<Expected> = vec![(Create, T::RoleAssignment, None)];
    let middle: Vec<Expected> = vec![
        (Delete, T::Group, g.clone()),
        (Create, T::ServiceAccount, sa.clone()),
        (Update, T::ServiceAccount, sa.clone()),
    ];
    let end: Vec<Expected> = vec![
        (Update, T::User, other.clone()),
        (Update, T::User, other.clone()),
        (Delete, T::ServiceAccount, sa.clone()),
        (Delete, T::User, other.clone()),
        (Update, T::Organization, org.clone()),
        (Update, T::Runner, Some(hidden.clone())),
    ];
    let admin_sees: Vec<Expected> = [
        common_start.clone(),
        policy_event,
        middle.clone(),
        vec![
            (Create, T::ServiceAccountToken, None),
            (Create, T::PersonalAccessToken, None),
            (Create, T::PersonalAccessToken, None),
        ],
        end.clone(),
    ]
    .concat();
    // The member sees its own token; neither sees the runner's update.
    let member_sees: Vec<Expected> = [
        common_start.clone(),
        middle.clone(),
        vec![(Create, T::PersonalAccessToken, None)],
        end[..end.len() - 1].to_vec(),
    ]
    .concat();
    let bot_sees: Vec<Expected> = [common_start, middle, end[..end.len() - 1].to_vec()].concat();
    let runner_sees: Vec<Expected> = vec![(Update, T::Runner, Some(hidden.clone()))];

    for (who, stream) in &mut streams {
        let (last, expected) = match *who {
            "admin" => (event(ResourceOperation::Update, &hidden), &admin_sees),
            "member" => (renamed_org(&server), &member_sees),
            "bot" => (renamed_org(&server), &bot_sees),
            _ => (event(ResourceOperation::Update, &hidden), &runner_sees),
        };
        exactly(who, &until(stream, &last).await, expected);
    }
    // Nothing more for those who do not see the runner's update.
    for (who, stream) in &mut streams[1..3] {
        let got = tokio::time::timeout(Duration::from_millis(300), stream.next()).await;
        assert!(got.is_err(), "{who}: {got:?}");
    }
}

fn renamed_org(server: &TestServer) -> WatchEventsResponse {
    WatchEventsResponse {
        operation: ResourceOperation::Update as i32,
        resource_type: ResourceType::Organization as i32,
        resource_id: server.org.id.to_string(),
    }
}

/// Filters apply to every resource type: by type, by id, by creator (a service account's
/// creator is the admin who made it).
#[tokio::test]
async fn filters_on_identity_resources() {
    use crate::service_accounts::create_account;
    let server = TestServer::start().await;
    let admin = server.client(Protocol::ConnectJson).await;
    let filter = |resource_type: ResourceType, creators: Vec<String>| WatchEventsRequest {
        scope: Some(watch_events_request::Scope::Organization(true)),
        resource_type_filters: vec![watch_events_request::ResourceTypeFilter {
            resource_type: resource_type as i32,
            resource_ids: vec![],
            creator_ids: creators,
        }],
    };
    for protocol in ALL {
        let c = server.client(protocol).await;
        let mut accounts = watch(&c, filter(ResourceType::ServiceAccount, vec![server.admin_id.to_string()])).await;
        let mut groups = watch(&c, filter(ResourceType::Group, vec![])).await;
        crate::groups::create_group(&admin, server.org.id, &format!("g {protocol:?}"), "").await.unwrap();
        let sa = create_account(&admin, &format!("sa-{}", protocol as u8), "").await.unwrap().id;
        let got = next(&mut accounts).await;
        assert_eq!(
            (got.operation, got.resource_type, got.resource_id),
            (ResourceOperation::Create as i32, ResourceType::ServiceAccount as i32, sa),
            "{protocol:?}"
        );
        assert_eq!(next(&mut groups).await.resource_type, ResourceType::Group as i32, "{protocol:?}");
        let got = tokio::time::timeout(Duration::from_millis(300), groups.next()).await;
        assert!(got.is_err(), "{protocol:?}: {got:?}");
    }
}

/// Host authentication tokens: seen by their subject (who may use the runner), by runner
/// admins, and not by another user of the runner.
#[tokio::test]
async fn host_tokens_follow_their_get() {
    use crate::host_tokens::{create_token, pat, setup};
    let s = setup().await;
    let server = &s.server;
    let admin = server.client(Protocol::ConnectJson).await;
    let (user_id, user_token) = server.member("user", OrgRole::Member).await;
    let (plain_id, plain_token) = server.member("plain", OrgRole::Member).await;
    let group = server.identity.create_group(server.org.id, "users").await.unwrap();
    server.identity.add_group_member(group.id, user_id).await.unwrap();
    server.identity.add_group_member(group.id, plain_id).await.unwrap();
    let policy = CreateRunnerPolicyRequest {
        runner_id: s.runner.clone(),
        group_id: group.id.to_string(),
        role: RunnerRole::User as i32,
    };
    let _: CreateRunnerPolicyResponse = admin.call(&rs("CreateRunnerPolicy"), policy).await.unwrap();
    let user = server.client_as(Protocol::ConnectJson, Some(&user_token)).await;

    let mut streams = Vec::new();
    for (who, token) in [("admin", &server.admin_token), ("user", &user_token), ("plain", &plain_token)] {
        let filter = watch_events_request::ResourceTypeFilter {
            resource_type: ResourceType::HostAuthenticationToken as i32,
            ..Default::default()
        };
        let runners = watch_events_request::ResourceTypeFilter {
            resource_type: ResourceType::Runner as i32,
            ..Default::default()
        };
        let req = WatchEventsRequest { scope: None, resource_type_filters: vec![filter, runners] };
        streams.push((who, watch(&server.client_as(Protocol::Grpc, Some(token)).await, req).await));
    }
    let mine = create_token(&user, pat(&s.runner, user_id, "ghp_user_secret")).await.unwrap().id;
    let admins = create_token(&admin, pat(&s.runner, server.admin_id, "ghp_admin_secret")).await.unwrap().id;
    let for_plain = create_token(&admin, pat(&s.runner, plain_id, "ghp_for_plain")).await.unwrap().id;
    let update =
        UpdateHostAuthenticationTokenRequest { id: mine.clone(), token: Some("ghp_new".into()), ..Default::default() };
    let _: UpdateHostAuthenticationTokenResponse =
        user.call(&rcs("UpdateHostAuthenticationToken"), update).await.unwrap();
    let del = DeleteHostAuthenticationTokenRequest { id: admins.clone() };
    let _: DeleteHostAuthenticationTokenResponse =
        admin.call(&rcs("DeleteHostAuthenticationToken"), del).await.unwrap();
    rename(&admin, &s.runner, "renamed").await;

    use ResourceOperation::{Create, Delete, Update};
    let t = ResourceType::HostAuthenticationToken;
    let last = event(Update, &s.runner);
    let runner: Expected = (Update, ResourceType::Runner, Some(s.runner.clone()));
    let expected: [(&str, Vec<Expected>); 3] = [
        (
            "admin",
            vec![
                (Create, t, Some(mine.clone())),
                (Create, t, Some(admins.clone())),
                (Create, t, Some(for_plain.clone())),
                (Update, t, Some(mine.clone())),
                (Delete, t, Some(admins.clone())),
                runner.clone(),
            ],
        ),
        ("user", vec![(Create, t, Some(mine.clone())), (Update, t, Some(mine.clone())), runner.clone()]),
        ("plain", vec![(Create, t, Some(for_plain.clone())), runner]),
    ];
    for ((who, stream), (name, expected)) in streams.iter_mut().zip(expected) {
        assert_eq!(*who, name);
        exactly(who, &until(stream, &last).await, &expected);
    }
}

/// A runner whose heartbeat lapses produces one UPDATE_STATUS event when it becomes stale
/// (GetRunner then shows it INACTIVE), and another when it reports again; it goes stale again
/// after that report lapses.
#[tokio::test]
async fn a_lapsing_heartbeat_is_an_event() {
    use crate::runner_side::{active, ris, running_runner};
    use gitpod_api::runnerside::v1::UpdateRunnerStatusResponse;
    // Long enough that the reads below fit within it on a loaded machine.
    const TIMEOUT: Duration = Duration::from_secs(2);
    let timings = runner_server::state::RunnerTimings { heartbeat_timeout_secs: 2, ..Default::default() };
    let server = TestServer::builder().timings(timings).start().await;
    // Signed up, not yet reporting: the watch starts before the first report, so that no event
    // of the runner can pass before it watches.
    let r = running_runner(&server, Protocol::ConnectJson, true).await;
    let admin = server.client(Protocol::ConnectJson).await;
    let mut stream = watch(&server.client(Protocol::Grpc).await, organization()).await;
    let phase = || async { crate::runners::get(&admin, &r.id).await.unwrap().status.unwrap().phase };

    for round in 0..2 {
        // Taken before the report: the report commits after it, so the lapse is at least
        // TIMEOUT after it.
        let before = std::time::Instant::now();
        let _: UpdateRunnerStatusResponse = r.client.call(&ris("UpdateRunnerStatus"), active(&r.id)).await.unwrap();
        assert_eq!(next(&mut stream).await, event(ResourceOperation::UpdateStatus, &r.id), "round {round}");
        // The report's own event, not the lapse after it.
        assert!(before.elapsed() < TIMEOUT, "round {round}: the report's event came late, {:?}", before.elapsed());
        assert_eq!(phase().await, RunnerPhase::Active as i32, "round {round}");
        let stale = next(&mut stream).await;
        assert_eq!(stale, event(ResourceOperation::UpdateStatus, &r.id), "round {round}");
        assert!(before.elapsed() >= TIMEOUT, "round {round}: early, {:?}", before.elapsed());
        assert_eq!(phase().await, RunnerPhase::Inactive as i32, "round {round}");
        // One event per lapse.
        let more = tokio::time::timeout(Duration::from_millis(1500), stream.next()).await;
        assert!(more.is_err(), "round {round}: {more:?}");
    }
}
