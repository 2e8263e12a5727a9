//! WatchEvents exactness under load: several writers make a fixed number of writes (mostly
//! runner updates; runners created, updated and deleted; groups or service accounts created
//! and updated), while many watchers with different filters and callers read their streams; then
//! each watcher must have received exactly the events it may see: none lost, none duplicated,
//! and each writer's events in the order that writer made them (each write is answered before
//! its writer makes the next, so this is their commit order, and it implies the order per
//! resource). Used by the API tests (SQLite, one server) and the binary tests (two PostgreSQL
//! replicas: writers and watchers spread over both).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use gitpod_api::gitpod::v1::watch_events_request::{ResourceTypeFilter, Scope};
use gitpod_api::gitpod::v1::*;

use crate::client::{Client, Failure};
use crate::{es, gs, rs, sas};

/// What a writer writes besides runners, every [`CYCLE`] writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Group,
    ServiceAccount,
}

/// One writer: its client, who it is (the creator of what it creates), the runners it updates
/// (made before the watchers started, so that who may see them is settled), and what else it
/// writes.
pub struct Writer {
    pub client: Client,
    pub principal_id: String,
    pub organization_id: String,
    pub runners: Vec<String>,
    pub side: Side,
}

/// What a watcher's caller may see: everything (an organization admin), or the organization's
/// members' resources (groups, service accounts) and these runners only (a member whose group
/// has a policy on them).
#[derive(Debug, Clone)]
pub enum Sight {
    All,
    Runners(HashSet<String>),
}

/// One watcher: its client (protocol and caller), its filters, and what its caller may see.
pub struct Watcher {
    pub name: String,
    pub client: Client,
    pub filters: Vec<ResourceTypeFilter>,
    pub sight: Sight,
}

/// Out of every `CYCLE` writes of a writer: a new runner, its update, its deletion, one write
/// of its [`Side`], and the rest updates of its runners.
pub const CYCLE: usize = 25;

/// One write as a watcher sees it, and whose it is.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Written {
    operation: ResourceOperation,
    resource_type: ResourceType,
    resource_id: String,
    creator_id: Option<String>,
    /// Made before the watchers started and seen by members whose runners include it; or new
    /// (only admins see new runners).
    long_lived: bool,
}

impl Written {
    fn event(&self) -> WatchEventsResponse {
        WatchEventsResponse {
            operation: self.operation as i32,
            resource_type: self.resource_type as i32,
            resource_id: self.resource_id.clone(),
        }
    }

    fn passes(&self, filters: &[ResourceTypeFilter]) -> bool {
        filters.is_empty()
            || filters.iter().any(|f| {
                f.resource_type == self.resource_type as i32
                    && (f.resource_ids.is_empty() || f.resource_ids.contains(&self.resource_id))
                    && (f.creator_ids.is_empty() || self.creator_id.as_ref().is_some_and(|c| f.creator_ids.contains(c)))
            })
    }

    fn seen_by(&self, sight: &Sight) -> bool {
        match sight {
            Sight::All => true,
            Sight::Runners(runners) => match self.resource_type {
                ResourceType::Runner => self.long_lived && runners.contains(&self.resource_id),
                _ => true,
            },
        }
    }
}

/// What one run measured.
#[derive(Debug)]
pub struct Report {
    pub writes: usize,
    /// From the first write to the last write's answer.
    pub writing: Duration,
    /// Events delivered, over every watcher.
    pub delivered: usize,
    /// From the last write's answer until every watcher had all it expected.
    pub drained: Duration,
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} writes in {:.1?} ({:.0}/s), {} events delivered, the last {:.1?} after the last write",
            self.writes,
            self.writing,
            self.writes as f64 / self.writing.as_secs_f64(),
            self.delivered,
            self.drained
        )
    }
}

pub fn organization(filters: Vec<ResourceTypeFilter>) -> WatchEventsRequest {
    WatchEventsRequest { scope: Some(Scope::Organization(true)), resource_type_filters: filters }
}

/// A filter entry.
pub fn filter(resource_type: ResourceType, ids: &[String], creators: &[String]) -> ResourceTypeFilter {
    ResourceTypeFilter {
        resource_type: resource_type as i32,
        resource_ids: ids.to_vec(),
        creator_ids: creators.to_vec(),
    }
}

fn aws_runner(name: String) -> CreateRunnerRequest {
    CreateRunnerRequest {
        name,
        provider: RunnerProvider::AwsEc2 as i32,
        spec: Some(RunnerSpec {
            configuration: Some(RunnerConfiguration { region: "eu-central-1".to_owned(), ..Default::default() }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Creates a runner as `c`: its id.
pub async fn new_runner(c: &Client, name: &str) -> String {
    let created: CreateRunnerResponse = c.call(&rs("CreateRunner"), aws_runner(name.to_owned())).await.unwrap();
    created.runner.unwrap().runner_id
}

fn a_day_from_now() -> gitpod_api::wkt::Timestamp {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap();
    gitpod_api::wkt::Timestamp { seconds: i64::try_from(now.as_secs()).unwrap() + 86_400, nanos: 0 }
}

fn ok<T>(r: Result<T, Failure>, w: usize, i: usize, what: &str) -> T {
    r.unwrap_or_else(|f| {
        // The server's own words, when it said no more than "unavailable" or "internal".
        let logged = crate::leaks::log_lines_with(&[&f.code]);
        panic!("writer {w}, write {i} ({what}): {f}; the server logged: {logged:#?}")
    })
}

/// Makes `writes` writes in this writer's order: what each was, as a watcher sees it.
async fn write(w: usize, writer: &Writer, writes: usize) -> Vec<Written> {
    let c = &writer.client;
    let me = Some(writer.principal_id.clone());
    let mut done = Vec::with_capacity(writes);
    let mut fresh = String::new();
    let mut side: Option<String> = None;
    let runner = |operation, id: &str, long_lived| Written {
        operation,
        resource_type: ResourceType::Runner,
        resource_id: id.to_owned(),
        creator_id: me.clone(),
        long_lived,
    };
    for i in 0..writes {
        match i % CYCLE {
            0 => {
                fresh = new_runner(c, &format!("w{w} new {i}")).await;
                done.push(runner(ResourceOperation::Create, &fresh, false));
            }
            1 => {
                let req = UpdateRunnerRequest {
                    runner_id: fresh.clone(),
                    name: Some(format!("w{w} renamed {i}")),
                    ..Default::default()
                };
                let r: Result<UpdateRunnerResponse, _> = c.call(&rs("UpdateRunner"), req).await;
                ok(r, w, i, "UpdateRunner");
                done.push(runner(ResourceOperation::Update, &fresh, false));
            }
            2 => {
                let req = DeleteRunnerRequest { runner_id: fresh.clone(), force: true };
                let r: Result<DeleteRunnerResponse, _> = c.call(&rs("DeleteRunner"), req).await;
                ok(r, w, i, "DeleteRunner");
                done.push(runner(ResourceOperation::Delete, &fresh, false));
            }
            3 => {
                let (operation, resource_type, id, creator_id) = match (writer.side, &side) {
                    (Side::Group, None) => {
                        let req = CreateGroupRequest {
                            organization_id: writer.organization_id.clone(),
                            name: format!("w{w} group"),
                            description: String::new(),
                        };
                        let r: Result<CreateGroupResponse, _> = c.call(&gs("CreateGroup"), req).await;
                        let id = ok(r, w, i, "CreateGroup").group.unwrap().id;
                        (ResourceOperation::Create, ResourceType::Group, id, None)
                    }
                    (Side::Group, Some(id)) => {
                        let req = UpdateGroupRequest {
                            group_id: id.clone(),
                            name: format!("w{w} group {i}"),
                            description: String::new(),
                        };
                        let r: Result<UpdateGroupResponse, _> = c.call(&gs("UpdateGroup"), req).await;
                        ok(r, w, i, "UpdateGroup");
                        (ResourceOperation::Update, ResourceType::Group, id.clone(), None)
                    }
                    (Side::ServiceAccount, None) => {
                        let req = CreateServiceAccountRequest {
                            name: format!("w{w} robot"),
                            description: String::new(),
                            valid_until: Some(a_day_from_now()),
                        };
                        let r: Result<CreateServiceAccountResponse, _> =
                            c.call(&sas("CreateServiceAccount"), req).await;
                        let id = ok(r, w, i, "CreateServiceAccount").service_account.unwrap().id;
                        (ResourceOperation::Create, ResourceType::ServiceAccount, id, me.clone())
                    }
                    (Side::ServiceAccount, Some(id)) => {
                        let req = UpdateServiceAccountRequest {
                            service_account_id: id.clone(),
                            name: Some(format!("w{w} robot {i}")),
                            description: None,
                        };
                        let r: Result<UpdateServiceAccountResponse, _> =
                            c.call(&sas("UpdateServiceAccount"), req).await;
                        ok(r, w, i, "UpdateServiceAccount");
                        (ResourceOperation::Update, ResourceType::ServiceAccount, id.clone(), me.clone())
                    }
                };
                side = Some(id.clone());
                done.push(Written { operation, resource_type, resource_id: id, creator_id, long_lived: true });
            }
            _ => {
                let id = &writer.runners[i % writer.runners.len()];
                let req = UpdateRunnerRequest {
                    runner_id: id.clone(),
                    name: Some(format!("w{w} {i}")),
                    ..Default::default()
                };
                let r: Result<UpdateRunnerResponse, _> = c.call(&rs("UpdateRunner"), req).await;
                ok(r, w, i, "UpdateRunner");
                done.push(runner(ResourceOperation::Update, id, true));
            }
        }
    }
    done
}

/// What a watcher's stream gave: its events, and the failure it ended with, if any.
#[derive(Default)]
struct Received {
    events: Vec<WatchEventsResponse>,
    ended: Option<String>,
}

/// Opens every watcher, runs the writers (`writes` in all, shared evenly) at once, then checks
/// that each watcher received exactly what it may see, in each writer's order. Panics with
/// what differs; the report otherwise.
pub async fn run(writers: Vec<Writer>, watchers: Vec<Watcher>, writes: usize) -> Report {
    assert_eq!(writes % writers.len(), 0, "writes are shared evenly");
    let mut readers = Vec::new();
    let mut specs = Vec::new();
    for watcher in watchers {
        let stream = watcher
            .client
            .server_stream::<_, WatchEventsResponse>(&es("WatchEvents"), organization(watcher.filters.clone()))
            .await
            .unwrap_or_else(|f| panic!("{}: WatchEvents: {f}", watcher.name));
        let received = Arc::new(Mutex::new(Received::default()));
        let into = received.clone();
        readers.push(tokio::spawn(async move {
            let mut stream = stream;
            while let Some(item) = stream.next().await {
                let mut r = into.lock().unwrap();
                match item {
                    Ok(event) => r.events.push(event),
                    Err(f) => {
                        r.ended = Some(format!("ended with {f}"));
                        return;
                    }
                }
            }
            into.lock().unwrap().ended = Some("ended cleanly".to_owned());
        }));
        specs.push((watcher.name, watcher.filters, watcher.sight, received));
    }

    let per_writer = writes / writers.len();
    let started = Instant::now();
    let written: Vec<Vec<Written>> =
        futures::future::join_all(writers.iter().enumerate().map(|(w, writer)| write(w, writer, per_writer))).await;
    let writing = started.elapsed();
    eprintln!("exactness: {writes} writes in {writing:.1?}");
    assert_eq!(written.iter().map(Vec::len).sum::<usize>(), writes);

    // Which writer each resource is of.
    let mut owner: HashMap<&str, usize> = HashMap::new();
    for (w, list) in written.iter().enumerate() {
        for write in list {
            owner.insert(&write.resource_id, w);
        }
    }
    let expected: Vec<Vec<Vec<WatchEventsResponse>>> = specs
        .iter()
        .map(|(_, filters, sight, _)| {
            written
                .iter()
                .map(|list| list.iter().filter(|x| x.passes(filters) && x.seen_by(sight)).map(Written::event).collect())
                .collect()
        })
        .collect();

    // Every watcher has as many events as it expects (or more, or an end), within a bound.
    let deadline = Instant::now() + Duration::from_secs(60);
    for ((name, _, _, received), expected) in specs.iter().zip(&expected) {
        let count: usize = expected.iter().map(Vec::len).sum();
        loop {
            {
                let r = received.lock().unwrap();
                if r.events.len() >= count || r.ended.is_some() {
                    break;
                }
                assert!(Instant::now() < deadline, "{name}: {} of {count} events within 60 s", r.events.len());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    let drained = started.elapsed() - writing;
    // And nothing more comes.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut delivered = 0;
    for ((name, _, _, received), expected) in specs.iter().zip(&expected) {
        let r = received.lock().unwrap();
        assert!(r.ended.is_none(), "{name}: the stream {}", r.ended.as_deref().unwrap_or_default());
        let mut got: Vec<Vec<WatchEventsResponse>> = vec![Vec::new(); written.len()];
        for event in &r.events {
            let Some(&w) = owner.get(event.resource_id.as_str()) else {
                panic!("{name}: an event of no write of the test: {event:?}");
            };
            got[w].push(event.clone());
        }
        for (w, (got, expected)) in got.iter().zip(expected).enumerate() {
            if got != expected {
                let first = got.iter().zip(expected).position(|(g, e)| g != e).unwrap_or(got.len().min(expected.len()));
                panic!(
                    "{name}: writer {w}'s events differ: {} received, {} expected; first difference at {first}: \
                     received {:?}, expected {:?}",
                    got.len(),
                    expected.len(),
                    got.get(first),
                    expected.get(first)
                );
            }
        }
        delivered += r.events.len();
    }
    for reader in readers {
        reader.abort();
    }
    Report { writes, writing, delivered, drained }
}
