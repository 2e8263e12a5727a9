//! Stale heartbeats as events: a runner whose status reports stop is shown INACTIVE when read
//! (computed at read time, `Runners::observed`); this follower turns the moment it becomes
//! stale into an `UPDATE_STATUS` event, so watchers learn of it without polling. Its next report
//! is an `UPDATE_STATUS` of its own (UpdateRunnerStatus publishes one).
//!
//! - It follows the bus (every organization): each `UPDATE_STATUS` of a runner (a report, on
//!   this replica or, through the bus, another) schedules a check at the end of the heartbeat
//!   timeout; at start it schedules every ACTIVE or DEGRADED runner by its last report.
//! - A check reads the runner: stale, and not yet announced for that report: one
//!   `UPDATE_STATUS` event; reported since: scheduled again by the newer report; in another
//!   phase: forgotten.
//! - Every replica runs one and publishes the events it derives to its own watchers only
//!   (`EventBus::publish_local`): each replica reaches the same conclusion from the same rows,
//!   so a watcher gets one event from its own replica, not one per replica.
//! - It ends when the bus closes (shutdown). If it falls behind the bus, it starts over from the
//!   store.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use tokio::time::Instant;
use uuid::Uuid;

use crate::authz::Visibility;
use crate::error::Result;
use crate::events::{Audience, Event, EventResource, Operation, Subscription};
use crate::model::{Runner, RunnerFilter, RunnerKind};
use crate::runners::Runners;
use crate::time::Timestamp;

/// Events the follower may have waiting before it starts over from the store.
const BUFFER: usize = 65_536;

/// How far past the timeout a check runs: the runner is stale once strictly past it.
const MARGIN: Duration = Duration::from_millis(20);

/// The follower of runners' heartbeats.
pub struct Heartbeats {
    runners: Runners,
    /// Checks to run, by when.
    due: BTreeSet<(Instant, Uuid)>,
    /// Each scheduled runner's check.
    scheduled: HashMap<Uuid, Instant>,
    /// Runners announced stale, with the report they went stale after.
    announced: HashMap<Uuid, Timestamp>,
}

impl Heartbeats {
    pub fn new(runners: Runners) -> Self {
        Self { runners, due: BTreeSet::new(), scheduled: HashMap::new(), announced: HashMap::new() }
    }

    /// Follows the bus until it closes.
    pub async fn run(mut self) {
        loop {
            let mut subscription = self.runners.event_bus().subscribe_all(BUFFER);
            if let Err(e) = self.seed().await {
                tracing::warn!(error = %e, "heartbeats: reading the runners failed; following new reports only");
            }
            match self.follow(&mut subscription).await {
                Ok(()) => return,
                Err(e) => tracing::warn!(error = %e, "heartbeats: starting over from the store"),
            }
        }
    }

    /// Schedules every ACTIVE or DEGRADED runner by its last report.
    async fn seed(&mut self) -> Result<()> {
        let store = self.runners.store().clone();
        let kinds = vec![RunnerKind::Remote, RunnerKind::Local, RunnerKind::LocalConfiguration];
        let filter = RunnerFilter { kinds, ..RunnerFilter::default() };
        for org in store.list_organizations().await? {
            let mut after = None;
            loop {
                let page = store.list_runners(&Visibility::All { org_id: org.id }, &filter, after, 500).await?;
                let Some(last) = page.last() else { break };
                after = Some(last.id);
                for runner in &page {
                    if let Some(reported) = self.runners.reported(runner) {
                        self.schedule_after(runner.id, reported);
                    }
                }
            }
        }
        Ok(())
    }

    /// Follows the bus and runs the checks as they fall due; `Ok` when the bus closed.
    async fn follow(&mut self, subscription: &mut Subscription) -> Result<()> {
        loop {
            let next_due = self.due.first().map(|(at, _)| *at);
            let sleep = async {
                match next_due {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                event = subscription.next() => match event? {
                    None => return Ok(()),
                    Some(e) if e.resource == EventResource::Runner => match e.operation {
                        Operation::UpdateStatus => self.schedule(e.resource_id, Instant::now() + self.timeout()),
                        Operation::Delete => self.forget(e.resource_id),
                        Operation::Create | Operation::Update => {}
                    },
                    Some(_) => {}
                },
                () = sleep => {
                    if let Some((_, id)) = self.due.pop_first() {
                        self.scheduled.remove(&id);
                        self.check(id).await?;
                    }
                }
            }
        }
    }

    fn timeout(&self) -> Duration {
        Duration::from_secs(self.runners.heartbeat_timeout_secs().max(0) as u64) + MARGIN
    }

    /// Schedules a check of `id` when a report at `reported` lapses.
    fn schedule_after(&mut self, id: Uuid, reported: Timestamp) {
        let lapses = reported.plus_seconds(self.runners.heartbeat_timeout_secs());
        let left = u64::try_from(lapses.0.saturating_sub(Timestamp::now().0)).unwrap_or(0);
        self.schedule(id, Instant::now() + Duration::from_micros(left) + MARGIN);
    }

    fn schedule(&mut self, id: Uuid, at: Instant) {
        if let Some(old) = self.scheduled.insert(id, at) {
            self.due.remove(&(old, id));
        }
        self.due.insert((at, id));
    }

    fn forget(&mut self, id: Uuid) {
        if let Some(old) = self.scheduled.remove(&id) {
            self.due.remove(&(old, id));
        }
        self.announced.remove(&id);
    }

    /// Reads the runner: announces it if it went stale, schedules it again if it reported since.
    async fn check(&mut self, id: Uuid) -> Result<()> {
        let runner = match self.runners.store().get_runner(id).await {
            Ok(Some(runner)) => runner,
            Ok(None) => {
                self.forget(id);
                return Ok(());
            }
            // The database is away for a moment: try again a little later, rather than stop.
            Err(e) => {
                tracing::warn!(error = %e, runner = %id, "heartbeats: reading a runner failed");
                self.schedule(id, Instant::now() + Duration::from_secs(1));
                return Ok(());
            }
        };
        match (self.runners.stale_since(&runner, Timestamp::now()), self.runners.reported(&runner)) {
            (Some(last), _) => {
                if self.announced.insert(id, last) != Some(last) {
                    self.announce(&runner);
                }
            }
            (None, Some(reported)) => self.schedule_after(id, reported),
            (None, None) => self.forget(id),
        }
        Ok(())
    }

    fn announce(&self, runner: &Runner) {
        self.runners.event_bus().publish_local(Event {
            org_id: runner.org_id,
            operation: Operation::UpdateStatus,
            resource: EventResource::Runner,
            resource_id: runner.id,
            creator_id: runner.creator.as_ref().map(|c| c.id),
            audience: Audience::Runner(runner.id),
        });
    }
}
