//! A short-lived cache of authenticated personal access tokens, so that a call does not read
//! the token, its member and the member's groups from the database every time.
//!
//! Revocation stays correct: every identity change made through [`Accounts`] (revoking a
//! token, changing a role or a group) empties the cache of the process that made it before the
//! change returns, and an entry read before such a change is never stored after it (a
//! generation counter). A change made by another process (an `admin` subcommand, another
//! replica) is seen within the time to live: an entry's age counts from the moment the database
//! read that produced it began, not from when it was stored, so a read in flight when the change
//! committed cannot stretch the bound by its own duration. An entry also never outlives its
//! token's own expiry.
//!
//! [`Accounts`]: crate::accounts::Accounts

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::identity::Caller;
use crate::time::Timestamp;

/// At most this many tokens are cached; a full cache starts over empty.
const MAX_ENTRIES: usize = 10_000;

struct Entry {
    caller: Caller,
    token_expires_at: Option<Timestamp>,
    /// When the database read it came from began.
    read_at: Instant,
}

#[derive(Default)]
struct Inner {
    entries: HashMap<Vec<u8>, Entry>,
    generation: u64,
}

/// Callers by token hash. A time to live of zero disables it.
pub struct TokenCache {
    ttl: Duration,
    inner: Mutex<Inner>,
}

/// The cache's generation and the time when a database read began; see [`TokenCache::insert`].
#[derive(Debug, Clone, Copy)]
pub struct Generation(u64, Instant);

impl TokenCache {
    pub fn new(ttl: Duration) -> Self {
        Self { ttl, inner: Mutex::new(Inner::default()) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave the map inconsistent; carry on.
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The cached caller for a token hash, if fresh and the token not expired at `now`.
    pub fn get(&self, hash: &[u8], now: Timestamp) -> Option<Caller> {
        if self.ttl.is_zero() {
            return None;
        }
        let inner = self.lock();
        let entry = inner.entries.get(hash)?;
        let fresh = entry.read_at.elapsed() < self.ttl && entry.token_expires_at.is_none_or(|e| e > now);
        fresh.then(|| entry.caller.clone())
    }

    /// Call before reading what [`insert`](Self::insert) will store.
    pub fn generation(&self) -> Generation {
        Generation(self.lock().generation, Instant::now())
    }

    /// Stores a caller read from the database since `read_at`, unless the cache was cleared
    /// meanwhile (the read may predate the change that cleared it); it is fresh for the time to
    /// live from `read_at`.
    pub fn insert(&self, read_at: Generation, hash: Vec<u8>, caller: Caller, token_expires_at: Option<Timestamp>) {
        if self.ttl.is_zero() {
            return;
        }
        let mut inner = self.lock();
        if inner.generation != read_at.0 {
            return;
        }
        if inner.entries.len() >= MAX_ENTRIES {
            inner.entries.clear();
        }
        inner.entries.insert(hash, Entry { caller, token_expires_at, read_at: read_at.1 });
    }

    /// Forgets every entry; call after any change to tokens, members or groups.
    pub fn clear(&self) {
        let mut inner = self.lock();
        inner.generation += 1;
        inner.entries.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Principal, Subject};
    use uuid::Uuid;

    fn caller() -> Caller {
        Caller {
            org_id: Uuid::nil(),
            subject: Subject { id: Uuid::now_v7(), principal: Principal::User },
            org_admin: true,
            runners_admin: false,
            groups: vec![Uuid::now_v7()],
        }
    }

    #[test]
    fn hit_then_clear() {
        let cache = TokenCache::new(Duration::from_secs(60));
        let c = caller();
        let g = cache.generation();
        cache.insert(g, b"h".to_vec(), c.clone(), None);
        assert_eq!(cache.get(b"h", Timestamp::now()), Some(c));
        assert_eq!(cache.get(b"other", Timestamp::now()), None);
        cache.clear();
        assert_eq!(cache.get(b"h", Timestamp::now()), None);
    }

    #[test]
    fn a_read_from_before_a_clear_is_not_stored() {
        let cache = TokenCache::new(Duration::from_secs(60));
        let before = cache.generation();
        cache.clear(); // a revocation lands while the read is in flight
        cache.insert(before, b"h".to_vec(), caller(), None);
        assert_eq!(cache.get(b"h", Timestamp::now()), None);
    }

    #[test]
    fn entries_expire_with_the_ttl_and_with_the_token() {
        let cache = TokenCache::new(Duration::from_millis(30));
        cache.insert(cache.generation(), b"h".to_vec(), caller(), None);
        std::thread::sleep(Duration::from_millis(40));
        assert_eq!(cache.get(b"h", Timestamp::now()), None);

        let cache = TokenCache::new(Duration::from_secs(60));
        let now = Timestamp::now();
        cache.insert(cache.generation(), b"h".to_vec(), caller(), Some(now.plus_seconds(1)));
        assert!(cache.get(b"h", now).is_some());
        assert_eq!(cache.get(b"h", now.plus_seconds(1)), None);
    }

    /// A read that took longer than the time to live (a slow database) stores nothing that is
    /// fresh: what it read may predate a change another process made while it ran.
    #[test]
    fn an_entry_ages_from_the_start_of_its_read() {
        let cache = TokenCache::new(Duration::from_millis(30));
        let read_began = cache.generation();
        std::thread::sleep(Duration::from_millis(40));
        cache.insert(read_began, b"h".to_vec(), caller(), None);
        assert_eq!(cache.get(b"h", Timestamp::now()), None);
    }

    #[test]
    fn zero_ttl_disables_it() {
        let cache = TokenCache::new(Duration::ZERO);
        cache.insert(cache.generation(), b"h".to_vec(), caller(), None);
        assert_eq!(cache.get(b"h", Timestamp::now()), None);
    }

    #[test]
    fn a_full_cache_starts_over() {
        let cache = TokenCache::new(Duration::from_secs(60));
        for i in 0..MAX_ENTRIES + 1 {
            cache.insert(cache.generation(), i.to_le_bytes().to_vec(), caller(), None);
        }
        assert_eq!(cache.lock().entries.len(), 1);
    }
}
