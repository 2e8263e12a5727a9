//! WatchEvents: a caller's watcher of its organization's events ([`crate::events`]), with the
//! request's filters and the same authorization as the Get of each resource (the event's
//! `Audience`), decided when an event is delivered.

use std::collections::HashSet;
use std::time::Duration;

use tokio::time::Instant;

use uuid::Uuid;

use crate::authz::{RunnerAccess, Visibility};
use crate::error::{CoreError, FieldViolation, Result};
use crate::events::{Audience, Event, EventBus, EventResource, Interest, Operation, Subscription, WATCHER_BUFFER};
use crate::identity::Caller;
use crate::model::Principal;
use crate::runners::Runners;
use crate::validate::{self, Violations};

/// One `resource_type_filters` entry as sent.
#[derive(Debug, Clone, Default)]
pub struct FilterInput {
    pub resource_type: i32,
    pub resource_ids: Vec<String>,
    pub creator_ids: Vec<String>,
}

/// WatchEvents as sent.
#[derive(Debug, Clone, Default)]
pub struct WatchInput {
    /// `environment_id` scope, if that is the scope chosen.
    pub environment_id: Option<String>,
    pub filters: Vec<FilterInput>,
}

#[derive(Debug, Clone)]
struct Filter {
    resource_type: i32,
    resource_ids: Vec<Uuid>,
    creator_ids: Vec<Uuid>,
}

impl Filter {
    fn matches(&self, event: &Event) -> bool {
        self.resource_type == event.resource.number()
            && (self.resource_ids.is_empty() || self.resource_ids.contains(&event.resource_id))
            && (self.creator_ids.is_empty() || event.creator_id.is_some_and(|c| self.creator_ids.contains(&c)))
    }
}

/// The default shortest time between two bursts of one watcher's events
/// (`--watch-burst-pause-ms`): an event that arrives less than this after the previous burst
/// began waits out the rest, and goes with every event that arrived meanwhile. The first event
/// after a quiet spell leaves at once; under a steady stream each watcher wakes, and its stream
/// is written to, at most once per pause, however many events it is sent (a delivery costs the
/// server mostly its wake-up and its write, not its bytes: docs/performance.md, "WatchEvents").
pub const BURST_PAUSE: Duration = Duration::from_millis(20);

/// The WatchEvents use case.
#[derive(Clone)]
pub struct Events {
    bus: EventBus,
    runners: Runners,
    buffer: usize,
    pause: Duration,
}

impl Events {
    pub fn new(runners: Runners) -> Self {
        Self { bus: runners.event_bus().clone(), runners, buffer: WATCHER_BUFFER, pause: BURST_PAUSE }
    }

    /// Each watcher's buffer, in events (tests make it small).
    pub fn with_buffer(mut self, events: usize) -> Self {
        self.buffer = events;
        self
    }

    /// The shortest time between two bursts of a watcher's events (zero: each event as it
    /// comes), instead of [`BURST_PAUSE`].
    pub fn with_burst_pause(mut self, pause: Duration) -> Self {
        self.pause = pause;
        self
    }

    pub fn bus(&self) -> &EventBus {
        &self.bus
    }

    /// A watcher of the caller's organization. Fails before anything streams when the request
    /// cannot be served.
    pub fn watch(&self, caller: &Caller, input: WatchInput) -> Result<Watcher> {
        if input.environment_id.is_some() {
            return Err(CoreError::FailedPrecondition(
                "this server has no environments: watch the organization (organization: true, or no scope)".to_owned(),
            ));
        }
        let mut v = Violations::default();
        let mut filters = Vec::new();
        for (i, f) in input.filters.iter().enumerate() {
            let at = format!("resourceTypeFilters[{i}]");
            let ids = |field: &str, values: &[String]| {
                values
                    .iter()
                    .enumerate()
                    .map(|(j, s)| validate::uuid(&format!("{at}.{field}[{j}]"), s))
                    .collect::<std::result::Result<Vec<Uuid>, FieldViolation>>()
            };
            let resource_ids = v.check(ids("resourceIds", &f.resource_ids));
            let creator_ids = v.check(ids("creatorIds", &f.creator_ids));
            if let (Some(resource_ids), Some(creator_ids)) = (resource_ids, creator_ids) {
                filters.push(Filter { resource_type: f.resource_type, resource_ids, creator_ids });
            }
        }
        v.finish()?;
        let subscription = if filters.is_empty() {
            self.bus.subscribe(caller.org_id, self.buffer)
        } else {
            // Watching named resources only: the bus asks about their events only.
            let resource_ids = if filters.iter().all(|f| !f.resource_ids.is_empty()) {
                filters.iter().flat_map(|f| f.resource_ids.clone()).collect()
            } else {
                Vec::new()
            };
            let wants = move |event: &Event| filters.iter().any(|f| f.matches(event));
            self.bus.subscribe_matching(
                caller.org_id,
                Interest { wants: std::sync::Arc::new(wants), resource_ids },
                self.buffer,
            )
        };
        Ok(Watcher {
            subscription,
            caller: caller.clone(),
            runners: self.runners.clone(),
            // Only a caller who may not see every runner needs them: to any other the Get of a
            // runner (deleted or not) is decided without reading it.
            shown: matches!(Visibility::of(caller), Visibility::Restricted { .. }).then(HashSet::new),
            bursts: Bursts::new(self.pause),
        })
    }
}

/// One caller's stream of events.
pub struct Watcher {
    /// Only the events the request's filters want.
    subscription: Subscription,
    caller: Caller,
    runners: Runners,
    /// Runners this watcher was shown events of: their deletion is shown too, though the
    /// runner (and the policies that let the caller see it) is gone by then. `None` for a caller
    /// whose visibility is not [`Visibility::Restricted`].
    shown: Option<HashSet<Uuid>>,
    bursts: Bursts,
}

/// Paces one watcher's events into bursts at least a pause apart.
struct Bursts {
    pause: Duration,
    /// When the current burst began.
    began: Option<Instant>,
}

impl Bursts {
    fn new(pause: Duration) -> Self {
        Self { pause, began: None }
    }

    /// The next event of `subscription`: at once if it was waiting already (the current
    /// burst), otherwise when it comes but no sooner than the pause after the current burst
    /// began (the next burst, which takes every event that came meanwhile).
    async fn next(&mut self, subscription: &mut Subscription) -> Result<Option<Event>> {
        if let Some(event) = subscription.try_next() {
            self.began.get_or_insert_with(Instant::now);
            return Ok(Some(event));
        }
        let Some(event) = subscription.next().await? else { return Ok(None) };
        if let Some(began) = self.began.filter(|_| !self.pause.is_zero()) {
            tokio::time::sleep_until(began + self.pause).await;
        }
        self.began = Some(Instant::now());
        Ok(Some(event))
    }
}

impl Watcher {
    /// The next event the caller may see; `None` when the stream ends cleanly (shutdown).
    pub async fn next(&mut self) -> Result<Option<Event>> {
        loop {
            let Some(event) = self.bursts.next(&mut self.subscription).await? else { return Ok(None) };
            if self.may_see(&event).await? {
                if let (Audience::Runner(runner_id), Some(shown)) = (event.audience, &mut self.shown) {
                    // Runners this watcher may see: their deletion is shown too, though the
                    // runner (and the policies that let the caller see it) is gone by then.
                    if event.resource == EventResource::Runner && event.operation == Operation::Delete {
                        shown.remove(&runner_id);
                    } else {
                        shown.insert(runner_id);
                    }
                }
                return Ok(Some(event));
            }
        }
    }

    /// The same authorization as the Get of the resource, decided when the event is delivered,
    /// by the rule its [`Audience`] names.
    async fn may_see(&self, event: &Event) -> Result<bool> {
        let caller = &self.caller;
        let member = matches!(caller.subject.principal, Principal::User | Principal::ServiceAccount);
        match event.audience {
            Audience::Runner(runner_id) => {
                let creator =
                    event.resource == EventResource::Runner && event.creator_id.is_some_and(|c| c == caller.subject.id);
                if creator || self.shown.as_ref().is_some_and(|shown| shown.contains(&runner_id)) {
                    return Ok(true);
                }
                self.runner_access(runner_id, RunnerAccess::User).await
            }
            Audience::HostToken { runner_id, subject_id } => {
                if caller.runner_id().is_some() {
                    return Ok(caller.runner_id() == Some(runner_id));
                }
                let needed = if subject_id == caller.subject.id { RunnerAccess::User } else { RunnerAccess::Admin };
                self.runner_access(runner_id, needed).await
            }
            Audience::Members => Ok(member),
            Audience::MembersOfRunner(runner_id) => {
                Ok(member && self.runner_access(runner_id, RunnerAccess::User).await?)
            }
            Audience::Owner(owner_id) => Ok(member && (caller.subject.id == owner_id || caller.org_admin)),
        }
    }

    /// Whether the caller has at least `needed` on the runner (as GetRunner decides it).
    async fn runner_access(&self, runner_id: Uuid, needed: RunnerAccess) -> Result<bool> {
        match Visibility::of(&self.caller) {
            Visibility::All { .. } => return Ok(true),
            Visibility::Runner { runner_id: own, .. } => return Ok(own == runner_id && needed == RunnerAccess::User),
            Visibility::Restricted { .. } => {}
        }
        match self.runners.load_for(&self.caller, runner_id, needed).await {
            Ok(_) => Ok(true),
            Err(CoreError::NotFound { .. } | CoreError::PermissionDenied { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::{Audience, Operation};

    fn update(org_id: Uuid) -> Event {
        let id = Uuid::now_v7();
        Event {
            org_id,
            operation: Operation::Update,
            resource: EventResource::Runner,
            resource_id: id,
            creator_id: None,
            audience: Audience::Runner(id),
        }
    }

    /// A delivery that needs no wait: ready at its first poll.
    fn at_once(bursts: &mut Bursts, subscription: &mut Subscription) -> Option<Event> {
        use futures::FutureExt as _;
        bursts.next(subscription).now_or_never().expect("ready at once").unwrap()
    }

    #[tokio::test]
    async fn events_leave_in_bursts_a_pause_apart() {
        let (bus, org) = (EventBus::default(), Uuid::now_v7());
        let mut subscription = bus.subscribe(org, 16);
        let mut bursts = Bursts::new(BURST_PAUSE);

        // After a quiet spell: at once.
        let start = Instant::now();
        let first = update(org);
        bus.publish(first.clone());
        assert_eq!(at_once(&mut bursts, &mut subscription), Some(first));

        // Sent during the pause: held to its end, then with everything that came meanwhile.
        let (second, third) = (update(org), update(org));
        let sender = {
            let (bus, second, third) = (bus.clone(), second.clone(), third.clone());
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(1)).await;
                bus.publish(second);
                tokio::time::sleep(Duration::from_millis(4)).await;
                bus.publish(third);
            })
        };
        assert_eq!(bursts.next(&mut subscription).await.unwrap(), Some(second));
        assert!(Instant::now() >= start + BURST_PAUSE, "the second burst left before the pause ended");
        sender.await.unwrap();
        assert_eq!(at_once(&mut bursts, &mut subscription), Some(third));

        // Once the pause has passed: at once again.
        tokio::time::sleep(BURST_PAUSE + Duration::from_millis(5)).await;
        let fourth = update(org);
        bus.publish(fourth.clone());
        assert_eq!(at_once(&mut bursts, &mut subscription), Some(fourth));

        // The stream's end is not held.
        bus.close();
        assert_eq!(at_once(&mut bursts, &mut subscription), None);
    }

    /// With no pause (`--watch-burst-pause-ms 0`) every event leaves as it comes.
    #[tokio::test]
    async fn without_a_pause_every_event_leaves_at_once() {
        let (bus, org) = (EventBus::default(), Uuid::now_v7());
        let mut subscription = bus.subscribe(org, 16);
        let mut bursts = Bursts::new(Duration::ZERO);
        for _ in 0..3 {
            let event = update(org);
            bus.publish(event.clone());
            assert_eq!(at_once(&mut bursts, &mut subscription), Some(event.clone()));
            // One that comes while the watcher waits is not held either.
            let later = update(org);
            let waiting = tokio::spawn({
                let bus = bus.clone();
                let later = later.clone();
                async move {
                    tokio::time::sleep(Duration::from_millis(2)).await;
                    bus.publish(later);
                }
            });
            let asked = Instant::now();
            assert_eq!(bursts.next(&mut subscription).await.unwrap(), Some(later));
            // Held, it would have waited out most of a pause.
            assert!(asked.elapsed() < BURST_PAUSE / 2, "held for {:?}", asked.elapsed());
            waiting.await.unwrap();
        }
    }
}
