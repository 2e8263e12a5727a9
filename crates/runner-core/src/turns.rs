//! Writers of one row take turns.
//!
//! An update of a revisioned row (a runner, an SCM integration, an environment class, a host
//! token, an LLM integration) reads the row, changes it, and writes it on the condition that
//! its revision is still the one read. Writers that arrive together would race, and all but
//! one would have to start over; [`Turns`] makes them wait for each other instead:
//!
//! - **In this process** a writer first takes the row's turn ([`Turns::take`]). Writers of the
//!   same row queue on one async mutex, first come first served, held around the whole
//!   read-modify-write, so they never race each other; writers of different rows never wait
//!   for each other. A row's mutex lives only while someone holds or awaits it
//!   ([`KeyedLocks`]): memory follows the writes in flight, not the rows ever written.
//! - **Across processes** (replicas on one PostgreSQL) a write can still lose to another
//!   process. After its first lost race ([`Turn::lost_race`]) the writer takes the row's turn
//!   from the store ([`ServerRepo::write_turn`]), which waits for the other process's holder,
//!   and tries again at once. If it loses again (to a writer elsewhere still on its first,
//!   turn-less attempt), or the store is written by one process only (SQLite, where only
//!   another program writing the same file could get in between), it pauses, jittered and
//!   growing, and tries again.
//! - **Until the call's [`Deadline`]**: the caller's, or the server's bound when it set none.
//!   Then the call gives up, having written nothing: `deadline_exceeded` for the caller's
//!   deadline, `unavailable` (retry) for the server's bound.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBackoff, ExponentialBuilder};
use tokio::sync::OwnedMutexGuard;
use uuid::Uuid;

use crate::error::{CoreError, Resource, Result};
use crate::store::{ServerRepo, WriteTurn};
use crate::time::Deadline;

/// The pause after a lost race that the store's turn did not settle: from this, doubling up
/// to [`PAUSE_CAP`], each drawn between its delay and twice it (backon's jitter), so that
/// writers of several processes spread out.
const FIRST_PAUSE: Duration = Duration::from_millis(2);
const PAUSE_CAP: Duration = Duration::from_millis(50);

/// The write turns of the rows of one kind (`resource`), shared by every clone.
#[derive(Clone)]
pub(crate) struct Turns {
    store: Arc<dyn ServerRepo>,
    locks: Arc<KeyedLocks>,
    resource: Resource,
}

impl Turns {
    pub(crate) fn new(store: Arc<dyn ServerRepo>, resource: Resource) -> Self {
        Self { store, locks: Arc::default(), resource }
    }

    /// Waits for the turn of row `key` in this process, until `deadline`.
    pub(crate) async fn take(&self, key: Uuid, deadline: Deadline) -> Result<Turn> {
        let here = tokio::time::timeout_at(deadline.at().into(), self.locks.lock(key))
            .await
            .map_err(|_| too_late(self.resource, key, deadline))?;
        let pauses = ExponentialBuilder::new()
            .with_min_delay(FIRST_PAUSE)
            .with_factor(2.0)
            .with_max_delay(PAUSE_CAP)
            .without_max_times()
            .with_jitter()
            .build();
        Ok(Turn {
            across: None,
            _here: here,
            store: self.store.clone(),
            resource: self.resource,
            key,
            deadline,
            pauses,
        })
    }
}

/// A writer's turn on one row: held in this process from [`Turns::take`], and across processes
/// from its first lost race. Dropping it ends both.
pub(crate) struct Turn {
    // Fields drop in order: the store's turn first, then this process's.
    across: Option<WriteTurn>,
    _here: LocalTurn,
    store: Arc<dyn ServerRepo>,
    resource: Resource,
    key: Uuid,
    deadline: Deadline,
    pauses: ExponentialBackoff,
}

impl Turn {
    /// After the conditional write found a newer revision (another process wrote the row):
    /// returns when another attempt is worth making, or fails when the deadline comes first.
    pub(crate) async fn lost_race(&mut self) -> Result<()> {
        if self.across.is_none() {
            let wait = self.deadline.remaining();
            let taken = match tokio::time::timeout(wait, self.store.write_turn(self.key, wait)).await {
                Ok(taken) => taken?,
                Err(_) => None,
            };
            let turn = taken.ok_or_else(|| too_late(self.resource, self.key, self.deadline))?;
            let excludes = turn.excludes_other_processes();
            self.across = Some(turn);
            if excludes {
                // Whoever held the row's turn elsewhere is done: try again at once.
                return Ok(());
            }
        }
        let pause = self.pauses.next().unwrap_or(PAUSE_CAP);
        if pause >= self.deadline.remaining() {
            return Err(too_late(self.resource, self.key, self.deadline));
        }
        tokio::time::sleep(pause).await;
        Ok(())
    }
}

/// The error of a writer whose deadline came before its turn; it wrote nothing.
fn too_late(resource: Resource, key: Uuid, deadline: Deadline) -> CoreError {
    let what = format!("{} {key}", resource.as_str());
    if deadline.is_callers() {
        CoreError::DeadlineExceeded(format!(
            "the deadline passed while this call waited for its turn to write {what}, which other calls are \
             changing; nothing was written"
        ))
    } else {
        CoreError::Unavailable(format!(
            "{what} is being changed by other calls, and this call got no turn to write it within the server's \
             bound; nothing was written"
        ))
    }
}

/// One async mutex per key, kept in a map only while it has users: the first user of a key
/// creates its slot and the last one removes it, whether it held the lock or only waited and
/// gave up (a wait cancelled at a deadline, or by a client that went away, counts out too).
#[derive(Default)]
pub(crate) struct KeyedLocks {
    slots: Mutex<HashMap<Uuid, Slot>>,
}

struct Slot {
    mutex: Arc<tokio::sync::Mutex<()>>,
    users: usize,
}

/// A user of a key's slot, counted from its arrival to its drop.
struct User {
    locks: Arc<KeyedLocks>,
    key: Uuid,
}

impl Drop for User {
    fn drop(&mut self) {
        let mut slots = self.locks.slots.lock().unwrap_or_else(PoisonError::into_inner);
        if let Entry::Occupied(mut slot) = slots.entry(self.key) {
            slot.get_mut().users -= 1;
            if slot.get().users == 0 {
                slot.remove();
            }
        }
    }
}

/// A key held in this process.
pub(crate) struct LocalTurn {
    // Fields drop in order: the lock is released before its user counts out, so a slot is
    // never removed (and replaced by a new mutex) while its lock is held.
    _guard: OwnedMutexGuard<()>,
    _user: User,
}

impl KeyedLocks {
    /// Waits for `key`'s lock, first come first served.
    pub(crate) async fn lock(self: &Arc<Self>, key: Uuid) -> LocalTurn {
        let (user, mutex) = {
            let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
            let slot = slots.entry(key).or_insert_with(|| Slot { mutex: Arc::default(), users: 0 });
            slot.users += 1;
            (User { locks: self.clone(), key }, slot.mutex.clone())
        };
        // Cancelled here, `user` is dropped and counts out.
        let guard = mutex.lock_owned().await;
        LocalTurn { _guard: guard, _user: user }
    }

    /// Keys with a holder or a waiter.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.slots.lock().unwrap_or_else(PoisonError::into_inner).len()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Instant;

    use async_trait::async_trait;

    use super::*;
    use crate::store::StoreError;

    /// A store that only hands out write turns: held ones (as across replicas) or not.
    struct FakeTurns {
        held: bool,
        /// Answer `None`, as when the wait passed.
        refuse: bool,
        asked: AtomicUsize,
    }

    impl FakeTurns {
        fn new(held: bool, refuse: bool) -> Arc<Self> {
            Arc::new(Self { held, refuse, asked: AtomicUsize::new(0) })
        }
    }

    #[async_trait]
    impl ServerRepo for FakeTurns {
        async fn key_fingerprint(&self, fingerprint: &str) -> Result<String, StoreError> {
            Ok(fingerprint.to_owned())
        }

        async fn write_turn(&self, _key: Uuid, _wait: Duration) -> Result<Option<WriteTurn>, StoreError> {
            self.asked.fetch_add(1, Ordering::SeqCst);
            Ok(match (self.refuse, self.held) {
                (true, _) => None,
                (false, true) => Some(WriteTurn::held(())),
                (false, false) => Some(WriteTurn::single_process()),
            })
        }

        fn pool_usage(&self) -> (u32, u32) {
            (1, 1)
        }

        async fn ping(&self) -> Result<(), StoreError> {
            Ok(())
        }
    }

    fn turns(store: Arc<FakeTurns>) -> Turns {
        Turns::new(store, Resource::Runner)
    }

    fn in_ms(ms: u64) -> Deadline {
        Deadline::callers(Instant::now() + Duration::from_millis(ms))
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn writers_of_one_row_take_turns_and_leave_nothing_behind() {
        let turns = turns(FakeTurns::new(false, false));
        let key = Uuid::now_v7();
        // A read-modify-write that loses updates unless its writers take turns.
        let value = Arc::new(Mutex::new(0usize));
        let writers: Vec<_> = (0..64)
            .map(|_| {
                let (turns, value) = (turns.clone(), value.clone());
                tokio::spawn(async move {
                    let _turn = turns.take(key, in_ms(10_000)).await.unwrap();
                    let read = *value.lock().unwrap();
                    tokio::time::sleep(Duration::from_micros(200)).await;
                    *value.lock().unwrap() = read + 1;
                })
            })
            .collect();
        for writer in writers {
            writer.await.unwrap();
        }
        assert_eq!(*value.lock().unwrap(), 64, "no update lost");
        assert_eq!(turns.locks.len(), 0, "no slot left once every writer is done");
    }

    #[tokio::test]
    async fn other_rows_do_not_wait() {
        let turns = turns(FakeTurns::new(false, false));
        let _held = turns.take(Uuid::now_v7(), in_ms(1000)).await.unwrap();
        let started = Instant::now();
        let _other = turns.take(Uuid::now_v7(), in_ms(1000)).await.unwrap();
        assert!(started.elapsed() < Duration::from_millis(100));
        assert_eq!(turns.locks.len(), 2);
    }

    #[tokio::test]
    async fn a_writer_waits_until_its_deadline_then_gives_up_with_its_error() {
        let turns = turns(FakeTurns::new(false, false));
        let key = Uuid::now_v7();
        let held = turns.take(key, in_ms(1000)).await.unwrap();
        let started = Instant::now();
        let e = turns.take(key, in_ms(50)).await.err().expect("the row is held");
        assert!(started.elapsed() >= Duration::from_millis(45), "{:?}", started.elapsed());
        assert!(matches!(&e, CoreError::DeadlineExceeded(m) if m.contains("nothing was written")), "{e:?}");
        let e = turns.take(key, Deadline::servers(Duration::from_millis(20))).await.err().expect("still held");
        assert!(matches!(&e, CoreError::Unavailable(m) if m.contains("server's bound")), "{e:?}");
        // The writers that gave up left only the holder's slot, and that goes with it.
        assert_eq!(turns.locks.len(), 1);
        drop(held);
        assert_eq!(turns.locks.len(), 0);
        let _next = turns.take(key, in_ms(50)).await.expect("free again");
    }

    #[tokio::test]
    async fn cancelled_waits_leave_no_slot() {
        let locks = Arc::new(KeyedLocks::default());
        for _ in 0..10_000 {
            let key = Uuid::now_v7();
            let held = locks.lock(key).await;
            // Two waiters that give up while the key is held.
            for _ in 0..2 {
                assert!(tokio::time::timeout(Duration::ZERO, locks.lock(key)).await.is_err());
            }
            drop(held);
        }
        assert_eq!(locks.len(), 0, "a slot per key ever used would be a leak");
    }

    #[tokio::test]
    async fn after_a_lost_race_the_stores_turn_is_taken_once() {
        let store = FakeTurns::new(true, false);
        let turns = turns(store.clone());
        let mut turn = turns.take(Uuid::now_v7(), in_ms(1000)).await.unwrap();
        let started = Instant::now();
        turn.lost_race().await.unwrap();
        assert!(started.elapsed() < Duration::from_millis(20), "a held turn means: try again at once");
        assert_eq!(store.asked.load(Ordering::SeqCst), 1);
        // Lost again while holding it: a pause, and the store is not asked again.
        turn.lost_race().await.unwrap();
        turn.lost_race().await.unwrap();
        assert_eq!(store.asked.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn without_a_stores_turn_lost_races_pause_until_the_deadline() {
        let turns = turns(FakeTurns::new(false, false));
        let mut turn = turns.take(Uuid::now_v7(), in_ms(300)).await.unwrap();
        let started = Instant::now();
        let mut attempts = 0;
        let e = loop {
            attempts += 1;
            if let Err(e) = turn.lost_race().await {
                break e;
            }
        };
        let took = started.elapsed();
        assert!(matches!(e, CoreError::DeadlineExceeded(_)), "{e:?}");
        // By the deadline, not after another pause (50–100 ms by then), give or take a timer's
        // late wake-up on a loaded machine (0.6 ms seen in CI).
        assert!(took <= Duration::from_millis(300 + 25), "gave up by the deadline, not after it: {took:?}");
        // Pauses of 2–4, 4–8, … up to 50–100 ms: a handful of attempts, not a busy loop.
        assert!((4..=20).contains(&attempts), "{attempts} attempts in {took:?}");
    }

    #[tokio::test]
    async fn a_store_turn_not_given_in_time_ends_the_call() {
        let turns = turns(FakeTurns::new(true, true));
        let mut turn = turns.take(Uuid::now_v7(), Deadline::servers(Duration::from_millis(100))).await.unwrap();
        let e = turn.lost_race().await.unwrap_err();
        assert!(matches!(e, CoreError::Unavailable(_)), "{e:?}");
    }
}
