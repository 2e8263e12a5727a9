//! Wall-clock time with microsecond precision, the resolution every backend stores; and the
//! [`Deadline`] of a call, on the monotonic clock.

use serde::{Deserialize, Serialize};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// A point in time: microseconds since the Unix epoch, UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Timestamp(pub i64);

impl Timestamp {
    /// The current time, truncated to microseconds.
    pub fn now() -> Self {
        let since = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
        Self(i64::try_from(since.as_micros()).unwrap_or(i64::MAX))
    }

    /// Seconds and nanoseconds, as `google.protobuf.Timestamp` wants them.
    pub fn to_seconds_nanos(self) -> (i64, i32) {
        let secs = self.0.div_euclid(1_000_000);
        let micros = self.0.rem_euclid(1_000_000);
        (secs, (micros * 1000) as i32)
    }

    /// Builds a timestamp from seconds and nanoseconds, dropping sub-microsecond precision.
    pub fn from_seconds_nanos(seconds: i64, nanos: i32) -> Option<Self> {
        seconds.checked_mul(1_000_000).and_then(|s| s.checked_add(i64::from(nanos) / 1000)).map(Self)
    }

    /// RFC 3339 in UTC, to the second (`2026-11-28T18:51:55Z`), for messages.
    pub fn rfc3339(self) -> String {
        let secs = self.0.div_euclid(1_000_000);
        time::OffsetDateTime::from_unix_timestamp(secs)
            .ok()
            .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
            .unwrap_or_else(|| format!("{secs} s after the epoch"))
    }

    /// This time plus a number of seconds, saturating.
    pub fn plus_seconds(self, seconds: i64) -> Self {
        Self(self.0.saturating_add(seconds.saturating_mul(1_000_000)))
    }
}

/// When a call must have its answer, handed by the transport to the use cases that may wait
/// (for their turn to write a row): the caller's own deadline (`grpc-timeout`,
/// `Connect-Timeout-Ms`), or, when the caller set none, the server's bound on waiting. A use
/// case waits until then and no longer; which of the two it was decides the error it gives up
/// with (`deadline_exceeded` for the caller's, `unavailable` and a retry for the server's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadline {
    at: Instant,
    callers: bool,
}

impl Deadline {
    /// The deadline the caller set.
    pub fn callers(at: Instant) -> Self {
        Self { at, callers: true }
    }

    /// The server's bound, `wait` from now, for a caller that set no deadline.
    pub fn servers(wait: Duration) -> Self {
        let now = Instant::now();
        Self { at: now.checked_add(wait).unwrap_or(now + Duration::from_secs(86_400)), callers: false }
    }

    pub fn at(self) -> Instant {
        self.at
    }

    /// Whether the caller set it (rather than the server).
    pub fn is_callers(self) -> bool {
        self.callers
    }

    /// The time left, zero once it passed.
    pub fn remaining(self) -> Duration {
        self.at.saturating_duration_since(Instant::now())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_nanos_round_trip() {
        let t = Timestamp(1_700_000_000_123_456);
        let (s, n) = t.to_seconds_nanos();
        assert_eq!((s, n), (1_700_000_000, 123_456_000));
        assert_eq!(Timestamp::from_seconds_nanos(s, n), Some(t));
        let neg = Timestamp(-1);
        assert_eq!(neg.to_seconds_nanos(), (-1, 999_999_000));
        assert_eq!(Timestamp::from_seconds_nanos(i64::MAX, 0), None);
        assert_eq!(Timestamp(1_700_000_000_123_456).rfc3339(), "2023-11-14T22:13:20Z");
    }
}
