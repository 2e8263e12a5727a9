//! The event bus of WatchEvents: every committed write of a resource is published on an
//! in-process bus, and each watcher ([`crate::watch`]) receives those it may see, in commit
//! order per resource.
//!
//! - Published by the use cases after the store returned `Ok` (the write committed), inside the
//!   resource's write turn ([`crate::turns`]) for updates, so events of one runner leave in the
//!   order their writes committed.
//! - Each watcher has its own bounded buffer ([`WATCHER_BUFFER`]). Publishing never waits: a
//!   watcher whose buffer is full is dropped from the bus and its stream ends with
//!   `resource_exhausted` ("re-watch and re-list"); writers and other watchers go on.
//! - What a watcher receives is decided on its side, never the writer's: the organization (on
//!   the bus), then the request's filters and the same authorization as the Get of the resource
//!   (`crate::watch`, by the event's [`Audience`]).
//! - [`EventBus::close`] (server shutdown) ends every stream cleanly.
//! - Several replicas (PostgreSQL): an [`EventRelay`] carries each write to the other replicas,
//!   which hand it to their own watchers; when the relay may have missed some, every stream
//!   ends with `unavailable` ([`EventBus::interrupt`]) rather than go on without them. SQLite
//!   (one process) has no relay.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::task::Poll;

use atomic_waker::AtomicWaker;

use serde::{Deserialize, Serialize};
use tokio::sync::Notify;
use uuid::Uuid;

use crate::error::{CoreError, Result};
use crate::identity::RoleAssignment;
use crate::model::ResourceKind;

/// How many events a watcher may have waiting before it is cut off.
pub const WATCHER_BUFFER: usize = 256;

/// The message of the `resource_exhausted` that ends a watcher that fell behind.
pub const FELL_BEHIND: &str =
    "the watcher fell behind and missed events: re-watch (WatchEvents) and re-list the resources it follows";

/// What happened to the resource (`ResourceOperation`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Operation {
    Create,
    Update,
    Delete,
    UpdateStatus,
}

/// The resource types that produce events (`ResourceType`): every resource this server keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum EventResource {
    Runner,
    EnvironmentClass,
    ScmIntegration,
    LlmIntegration,
    HostAuthenticationToken,
    Organization,
    User,
    Group,
    /// A member's place in a group (`RESOURCE_TYPE_GROUP_MEMBERSHIP_CHANGED`; the resource id
    /// is the membership's, as ListMemberships and DeleteMembership know it).
    GroupMembership,
    /// A role assignment, direct shares and runner policies included (they are assignments).
    RoleAssignment,
    ServiceAccount,
    PersonalAccessToken,
    ServiceAccountToken,
}

impl EventResource {
    /// The `ResourceType` number of the API.
    pub fn number(self) -> i32 {
        match self {
            EventResource::Runner => 2,
            EventResource::EnvironmentClass => 9,
            EventResource::ScmIntegration => 10,
            EventResource::LlmIntegration => 20,
            EventResource::HostAuthenticationToken => 11,
            EventResource::Organization => 7,
            EventResource::User => 8,
            EventResource::Group => 12,
            EventResource::GroupMembership => 41,
            EventResource::RoleAssignment => 47,
            EventResource::ServiceAccount => 15,
            EventResource::PersonalAccessToken => 13,
            EventResource::ServiceAccountToken => 46,
        }
    }
}

/// Who may see an event: the rule of the Get of its resource, over what the writer knew when
/// the write committed (so that a deletion is judged as the resource was). `crate::watch`
/// applies it to each watcher's caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Audience {
    /// Who may read this runner (GetRunner, and GetEnvironmentClass, GetSCMIntegration,
    /// GetLLMIntegration of its parts): the runner's own principal included.
    Runner(Uuid),
    /// A host token (GetHostAuthenticationToken): its subject when it may use the runner,
    /// runner admins, and the runner itself.
    HostToken { runner_id: Uuid, subject_id: Uuid },
    /// Every user and service account of the organization, never a runner (GetOrganization,
    /// GetUser, GetGroup, ListMemberships, GetServiceAccount, assignments on the organization).
    Members,
    /// Users and service accounts who may read this runner (assignments on a runner, as
    /// ListRoleAssignments shows them).
    MembersOfRunner(Uuid),
    /// Its owner and organization admins (GetPersonalAccessToken, GetServiceAccountToken).
    Owner(Uuid),
}

/// One committed change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    pub org_id: Uuid,
    pub operation: Operation,
    pub resource: EventResource,
    pub resource_id: Uuid,
    /// Who created the resource, for `creator_ids` filters (runners, tokens, service accounts:
    /// the other resources keep no creator).
    pub creator_id: Option<Uuid>,
    /// Who may see it.
    pub audience: Audience,
}

impl Event {
    /// A committed write of a role assignment (a runner policy is one): seen as
    /// ListRoleAssignments shows it.
    pub fn role_assignment(a: &RoleAssignment, operation: Operation) -> Self {
        let audience = match a.resource_kind {
            ResourceKind::Runner => Audience::MembersOfRunner(a.resource_id),
            ResourceKind::Organization => Audience::Members,
        };
        Event {
            org_id: a.org_id,
            operation,
            resource: EventResource::RoleAssignment,
            resource_id: a.id,
            creator_id: None,
            audience,
        }
    }
}

/// Carries committed writes to the other replicas (PostgreSQL's `LISTEN`/`NOTIFY`, in
/// `runner-store`); each replica hands what it receives to its own watchers with
/// [`EventBus::publish_local`]. Sending must not wait.
pub trait EventRelay: Send + Sync {
    fn send(&self, event: &Event);
}

/// Why a watcher's stream ended, once the events still waiting in its inbox are read.
#[derive(Debug, Clone, Copy)]
enum End {
    /// The bus closed (shutdown), or the watcher left it: a clean end.
    Closed,
    /// Its inbox was full: `resource_exhausted`.
    Behind,
    /// Events from other replicas may have been missed: `unavailable`.
    Interrupted,
}

/// The message of the `unavailable` that ends the streams when events from other replicas may
/// have been missed.
pub const INTERRUPTED_MESSAGE: &str = "the delivery of events from other replicas was interrupted and events may have been \
     missed: re-watch (WatchEvents) and re-list the resources it follows";

/// Which of its organization's events a watcher wants (its request's filters), decided when an
/// event is published: the others never reach its buffer, nor wake it.
pub type Wants = Arc<dyn Fn(&Event) -> bool + Send + Sync>;

/// What a watcher of some of its organization's events wants: `wants` decides, and when every
/// event it can want is of one of `resource_ids` (each filter of its request names resources),
/// the bus asks it only about events of those resources, found by their id. Watchers of one
/// resource each then cost a write nothing, however many there are.
pub struct Interest {
    pub wants: Wants,
    /// Empty: any resource.
    pub resource_ids: Vec<Uuid>,
}

struct Slot {
    /// The organization watched; `None`: every organization (the server's own followers, such
    /// as `crate::heartbeats`).
    org_id: Option<Uuid>,
    /// `None`: every event of the organization.
    wants: Option<Wants>,
    /// The resources it is indexed by in `BusState::by_resource`; empty: it is asked about
    /// every event (`BusState::unkeyed`).
    resource_ids: Vec<Uuid>,
    inbox: Arc<Inbox>,
    /// How many events its inbox holds before the watcher is cut off.
    capacity: usize,
}

impl Slot {
    /// Hands `event` to this watcher if it is its own; `false` when the watcher is to leave the
    /// bus (its inbox is full).
    fn offer(&self, event: &Event) -> bool {
        if self.org_id.is_some_and(|org| org != event.org_id) || self.wants.as_ref().is_some_and(|w| !w(event)) {
            return true;
        }
        let mut state = self.inbox.lock();
        if state.events.len() >= self.capacity {
            state.end.get_or_insert(End::Behind);
            return false;
        }
        let was_empty = state.events.is_empty();
        state.events.push_back(event.clone());
        drop(state);
        // A watcher with events waiting was woken by the first of them and has yet to take
        // them: one wake-up per batch, not per event.
        if was_empty {
            self.inbox.waker.wake();
        }
        true
    }
}

impl Drop for Slot {
    /// Off the bus: its stream ends after the events still waiting (cleanly unless a reason
    /// was given).
    fn drop(&mut self) {
        self.inbox.end(End::Closed);
    }
}

/// One watcher's inbox: the bus pushes its events in, and the watcher takes every event
/// waiting at once (one lock per batch; a bounded channel costs a permit and a wake-up per
/// event). The inbox's queue and the watcher's swap places and keep their capacity: a watcher
/// that was never sent an event holds none, any other at most twice its buffer's events.
#[derive(Default)]
struct Inbox {
    state: Mutex<InboxState>,
    waker: AtomicWaker,
}

#[derive(Default)]
struct InboxState {
    events: VecDeque<Event>,
    /// Set when the watcher left the bus.
    end: Option<End>,
}

impl Inbox {
    fn lock(&self) -> std::sync::MutexGuard<'_, InboxState> {
        self.state.lock().expect("not poisoned")
    }

    /// Ends the stream for `end`, unless it has a reason already.
    fn end(&self, end: End) {
        self.lock().end.get_or_insert(end);
        self.waker.wake();
    }
}

#[derive(Default)]
struct BusState {
    next: u64,
    /// Watchers asked about every event.
    unkeyed: HashMap<u64, Slot>,
    /// Watchers of some resources only, asked about those resources' events.
    keyed: HashMap<u64, Slot>,
    /// The keyed watchers of each resource.
    by_resource: HashMap<Uuid, Vec<u64>>,
    closed: bool,
    /// Events from other replicas cannot be vouched for (the relay's connection is down): new
    /// watchers are refused (`unavailable`) until it is back.
    interrupted: bool,
    relay: Option<Arc<dyn EventRelay>>,
}

/// The bus: cheap to clone, one per server.
#[derive(Clone, Default)]
pub struct EventBus {
    state: Arc<Mutex<BusState>>,
    closing: Arc<Notify>,
}

impl EventBus {
    /// Hands `event` to every watcher of its organization on this replica, and to the other
    /// replicas through the relay if there is one. Never waits: a watcher whose buffer is full
    /// is dropped (its stream ends with `resource_exhausted`).
    pub fn publish(&self, event: Event) {
        let relay = self.state.lock().expect("not poisoned").relay.clone();
        if let Some(relay) = relay {
            relay.send(&event);
        }
        self.publish_local(event);
    }

    /// Hands `event` to this process's watchers only: what another replica relayed, and what
    /// every replica derives on its own from the rows they share (a runner going stale,
    /// `crate::heartbeats`), which each replica's watchers must receive once, from their own
    /// replica.
    pub fn publish_local(&self, event: Event) {
        let mut state = self.state.lock().expect("not poisoned");
        state.unkeyed.retain(|_, slot| slot.offer(&event));
        let leaving: Vec<u64> = match state.by_resource.get(&event.resource_id) {
            Some(ids) => {
                ids.iter().copied().filter(|id| state.keyed.get(id).is_some_and(|slot| !slot.offer(&event))).collect()
            }
            None => Vec::new(),
        };
        for id in leaving {
            state.remove(id);
        }
    }

    /// Sends every committed write to the other replicas through `relay` from now on.
    pub fn set_relay(&self, relay: Arc<dyn EventRelay>) {
        self.state.lock().expect("not poisoned").relay = Some(relay);
    }

    /// The relay lost its connection: events of other replicas may have been missed. Every
    /// stream ends with `unavailable` (re-watch and re-list), and new ones are refused until
    /// [`Self::resume`].
    pub fn interrupt(&self) {
        let mut state = self.state.lock().expect("not poisoned");
        state.interrupted = true;
        for slot in state.unkeyed.values().chain(state.keyed.values()).filter(|slot| slot.org_id.is_some()) {
            slot.inbox.end(End::Interrupted);
        }
        state.unkeyed.retain(|_, slot| slot.org_id.is_none());
        state.keyed.clear();
        state.by_resource.clear();
    }

    /// The relay listens again: new watchers are served.
    pub fn resume(&self) {
        self.state.lock().expect("not poisoned").interrupted = false;
    }

    /// A new watcher of `org_id`'s events, with a buffer of `capacity` events.
    pub fn subscribe(&self, org_id: Uuid, capacity: usize) -> Subscription {
        self.subscribe_to(Some(org_id), None, capacity)
    }

    /// A new watcher of those of `org_id`'s events it has an `interest` in, with a buffer of
    /// `capacity` events.
    pub fn subscribe_matching(&self, org_id: Uuid, interest: Interest, capacity: usize) -> Subscription {
        self.subscribe_to(Some(org_id), Some(interest), capacity)
    }

    /// A follower of every organization's events (the server's own, never a caller's; not
    /// ended by [`Self::interrupt`]).
    pub fn subscribe_all(&self, capacity: usize) -> Subscription {
        self.subscribe_to(None, None, capacity)
    }

    fn subscribe_to(&self, org_id: Option<Uuid>, interest: Option<Interest>, capacity: usize) -> Subscription {
        let inbox = Arc::new(Inbox::default());
        let mut state = self.state.lock().expect("not poisoned");
        let id = state.next;
        state.next += 1;
        if state.interrupted && org_id.is_some() {
            inbox.end(End::Interrupted);
        } else if state.closed {
            inbox.end(End::Closed);
        } else {
            let (wants, mut resource_ids) = interest.map_or((None, Vec::new()), |i| (Some(i.wants), i.resource_ids));
            resource_ids.sort_unstable();
            resource_ids.dedup();
            for resource_id in &resource_ids {
                state.by_resource.entry(*resource_id).or_default().push(id);
            }
            let slot = Slot { org_id, wants, resource_ids, inbox: inbox.clone(), capacity: capacity.max(1) };
            if slot.resource_ids.is_empty() {
                state.unkeyed.insert(id, slot);
            } else {
                state.keyed.insert(id, slot);
            }
        }
        Subscription { inbox, taken: VecDeque::new(), id, bus: self.clone() }
    }

    /// Ends every watcher's stream cleanly, and refuses new ones (they end at once): the server
    /// is shutting down.
    pub fn close(&self) {
        let mut state = self.state.lock().expect("not poisoned");
        state.closed = true;
        state.unkeyed.clear();
        state.keyed.clear();
        state.by_resource.clear();
        self.closing.notify_waiters();
    }

    /// Resolves once the bus is closed (for the server's own tasks to end with it).
    pub async fn closed(&self) {
        loop {
            let notified = self.closing.notified();
            if self.state.lock().expect("not poisoned").closed {
                return;
            }
            notified.await;
        }
    }

    /// How many watchers are on the bus.
    pub fn watchers(&self) -> usize {
        let state = self.state.lock().expect("not poisoned");
        state.unkeyed.len() + state.keyed.len()
    }
}

impl BusState {
    /// Takes watcher `id` off the bus.
    fn remove(&mut self, id: u64) {
        if self.unkeyed.remove(&id).is_some() {
            return;
        }
        let Some(slot) = self.keyed.remove(&id) else { return };
        for resource_id in &slot.resource_ids {
            if let Some(ids) = self.by_resource.get_mut(resource_id) {
                ids.retain(|other| *other != id);
                if ids.is_empty() {
                    self.by_resource.remove(resource_id);
                }
            }
        }
    }
}

/// One watcher's end of the bus; leaves the bus when dropped.
pub struct Subscription {
    inbox: Arc<Inbox>,
    /// The events taken from the inbox and not read yet.
    taken: VecDeque<Event>,
    id: u64,
    bus: EventBus,
}

impl Subscription {
    /// The next event; `None` when the bus closed; `resource_exhausted` when this watcher fell
    /// behind; `unavailable` when events of other replicas may have been missed.
    pub async fn next(&mut self) -> Result<Option<Event>> {
        std::future::poll_fn(|cx| {
            if let Some(event) = self.try_next() {
                return Poll::Ready(Ok(Some(event)));
            }
            self.inbox.waker.register(cx.waker());
            // Looked at again once registered: an event pushed meanwhile found no waker.
            let end = match self.take() {
                Ok(()) => return Poll::Ready(Ok(self.taken.pop_front())),
                Err(None) => return Poll::Pending,
                Err(Some(end)) => end,
            };
            Poll::Ready(match end {
                End::Closed => Ok(None),
                End::Behind => Err(CoreError::ResourceExhausted(FELL_BEHIND.to_owned())),
                End::Interrupted => Err(CoreError::Unavailable(INTERRUPTED_MESSAGE.to_owned())),
            })
        })
        .await
    }

    /// An event already waiting, without waiting for one; `None` also when the stream ended
    /// ([`Self::next`] then says how).
    pub fn try_next(&mut self) -> Option<Event> {
        if self.taken.is_empty() {
            self.take().ok()?;
        }
        self.taken.pop_front()
    }

    /// Takes every event waiting in the inbox; when there is none, why the stream ended, if
    /// it did.
    fn take(&mut self) -> std::result::Result<(), Option<End>> {
        let mut state = self.inbox.lock();
        if state.events.is_empty() {
            return Err(state.end);
        }
        std::mem::swap(&mut state.events, &mut self.taken);
        Ok(())
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        if let Ok(mut state) = self.bus.state.lock() {
            state.remove(self.id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn runner_event(org_id: Uuid, operation: Operation) -> Event {
        let id = Uuid::now_v7();
        Event {
            org_id,
            operation,
            resource: EventResource::Runner,
            resource_id: id,
            creator_id: None,
            audience: Audience::Runner(id),
        }
    }

    /// A watcher gets only the events it wants: the others neither fill its buffer (it is not
    /// cut off by traffic it does not watch) nor reach it.
    #[tokio::test]
    async fn a_watcher_is_handed_only_what_it_wants() {
        let bus = EventBus::default();
        let org = Uuid::now_v7();
        let wanted = runner_event(org, Operation::Update);
        let id = wanted.resource_id;
        let interest = Interest { wants: Arc::new(move |e: &Event| e.resource_id == id), resource_ids: Vec::new() };
        let mut mine = bus.subscribe_matching(org, interest, 1);
        for _ in 0..100 {
            bus.publish(runner_event(org, Operation::Update));
        }
        bus.publish(wanted.clone());
        assert_eq!(mine.next().await.unwrap(), Some(wanted));
        bus.close();
        assert_eq!(mine.next().await.unwrap(), None, "nothing else was handed to it");
    }

    /// Watchers of named resources are asked about those resources' events only, alongside
    /// watchers of everything; one that leaves (dropped, or cut off) leaves the index too.
    #[tokio::test]
    async fn watchers_of_named_resources_are_found_by_id() {
        let bus = EventBus::default();
        let org = Uuid::now_v7();
        let (one, two, three) = (
            runner_event(org, Operation::Update),
            runner_event(org, Operation::Update),
            runner_event(org, Operation::Update),
        );
        let keyed = |ids: Vec<Uuid>| Interest { wants: Arc::new(|_: &Event| true), resource_ids: ids };
        let mut both = bus.subscribe_matching(org, keyed(vec![one.resource_id, two.resource_id, one.resource_id]), 2);
        let first = bus.subscribe_matching(org, keyed(vec![one.resource_id]), 8);
        let mut all = bus.subscribe(org, 8);
        assert_eq!(bus.watchers(), 3);
        for event in [&one, &two, &three] {
            bus.publish(event.clone());
        }
        assert_eq!(both.try_next(), Some(one.clone()));
        assert_eq!(both.try_next(), Some(two.clone()));
        assert_eq!(both.try_next(), None);
        for event in [&one, &two, &three] {
            assert_eq!(all.try_next().as_ref(), Some(event));
        }
        drop(first);
        assert_eq!(bus.watchers(), 2);
        assert_eq!(bus.state.lock().unwrap().by_resource.get(&one.resource_id).map(Vec::len), Some(1));
        // Three events of its resources into a buffer of two: cut off, and out of the index.
        for _ in 0..3 {
            bus.publish(one.clone());
        }
        assert_eq!(bus.watchers(), 1);
        assert!(bus.state.lock().unwrap().by_resource.is_empty());
        assert_eq!(both.next().await.unwrap(), Some(one.clone()));
        assert_eq!(both.next().await.unwrap(), Some(one.clone()));
        assert!(matches!(both.next().await, Err(CoreError::ResourceExhausted(_))));
        bus.publish(two.clone());
        assert_eq!(all.try_next().as_ref(), Some(&one));
    }

    /// A watcher that does not read is cut off with `resource_exhausted` once its buffer is
    /// full; publishing never waits for it, and a watcher that reads gets every event.
    #[tokio::test]
    async fn a_slow_watcher_is_cut_off_without_slowing_writers() {
        let bus = EventBus::default();
        let org = Uuid::now_v7();
        let mut slow = bus.subscribe(org, 2);
        let mut fast = bus.subscribe(org, 2);
        let mut got = Vec::new();
        let started = std::time::Instant::now();
        let mut published = Vec::new();
        for _ in 0..10_000 {
            let event = runner_event(org, Operation::Update);
            published.push(event.clone());
            bus.publish(event);
            got.push(fast.next().await.unwrap().unwrap());
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(5), "{:?}", started.elapsed());
        assert_eq!(got, published);
        assert_eq!(slow.next().await.unwrap().as_ref(), Some(&published[0]));
        assert_eq!(slow.next().await.unwrap().as_ref(), Some(&published[1]));
        assert!(matches!(slow.next().await, Err(CoreError::ResourceExhausted(m)) if m == FELL_BEHIND));
        assert_eq!(bus.watchers(), 1);
    }

    /// A watcher waiting for its next event is woken by a publish from another task, and takes
    /// what waits in one batch. An interruption ends a caller's stream after the events it had
    /// waiting (`unavailable`), refuses new watchers until the relay is back, and leaves the
    /// server's own followers on the bus.
    #[tokio::test]
    async fn waiting_watchers_wake_and_interruptions_end_them() {
        let bus = EventBus::default();
        let org = Uuid::now_v7();
        let mut watcher = bus.subscribe(org, 8);
        let mut follower = bus.subscribe_all(8);
        let (first, second) = (runner_event(org, Operation::Create), runner_event(org, Operation::Update));
        let publisher = {
            let (bus, first, second) = (bus.clone(), first.clone(), second.clone());
            tokio::spawn(async move {
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                bus.publish(first);
                bus.publish(second);
            })
        };
        assert_eq!(watcher.next().await.unwrap().as_ref(), Some(&first));
        publisher.await.unwrap();
        let third = runner_event(org, Operation::Delete);
        bus.publish(third.clone());
        bus.interrupt();
        assert_eq!(watcher.try_next().as_ref(), Some(&second));
        assert_eq!(watcher.next().await.unwrap().as_ref(), Some(&third));
        assert!(matches!(watcher.next().await, Err(CoreError::Unavailable(m)) if m == INTERRUPTED_MESSAGE));
        assert!(matches!(bus.subscribe(org, 8).next().await, Err(CoreError::Unavailable(_))));
        assert_eq!(bus.watchers(), 1, "the follower stays");
        for event in [&first, &second, &third] {
            assert_eq!(follower.next().await.unwrap().as_ref(), Some(event));
        }
        bus.resume();
        let mut again = bus.subscribe(org, 8);
        bus.publish(first.clone());
        assert_eq!(again.next().await.unwrap(), Some(first));
    }

    /// Watchers get their organization's events only; closing the bus ends every stream
    /// cleanly; a dropped watcher leaves the bus.
    #[tokio::test]
    async fn organizations_close_and_drop() {
        let bus = EventBus::default();
        let (org, other) = (Uuid::now_v7(), Uuid::now_v7());
        let mut mine = bus.subscribe(org, 8);
        let dropped = bus.subscribe(org, 8);
        drop(dropped);
        assert_eq!(bus.watchers(), 1);
        bus.publish(runner_event(other, Operation::Create));
        let event = runner_event(org, Operation::Delete);
        bus.publish(event.clone());
        assert_eq!(mine.next().await.unwrap(), Some(event));
        bus.close();
        assert_eq!(mine.next().await.unwrap(), None);
        let mut late = bus.subscribe(org, 8);
        assert_eq!(late.next().await.unwrap(), None);
    }
}
