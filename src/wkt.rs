//! `google.protobuf.Timestamp` with the exact proto3 JSON form.
//!
//! pbjson-types writes timestamps as `…+00:00`; the proto3 JSON mapping asks for UTC with a `Z`
//! and 0, 3, 6 or 9 fractional digits. This type is wire-identical to the well-known type
//! (fields 1 and 2) and is what the generated messages use for it. Every other well-known type
//! comes from `pbjson_types`.
//!
//! Reading is lenient: any RFC 3339 offset, and a timestamp without an offset (what Python's
//! `datetime.isoformat()` writes for a naive datetime), which is read as UTC.

use chrono::{DateTime, NaiveDateTime, SecondsFormat, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer, de};

/// A point in time: seconds and nanoseconds since the Unix epoch, UTC.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, ::prost::Message)]
pub struct Timestamp {
    /// Seconds since 1970-01-01T00:00:00Z; 0001-01-01 to 9999-12-31 in proto3 JSON.
    #[prost(int64, tag = "1")]
    pub seconds: i64,
    /// Nanoseconds within the second, 0 to 999,999,999.
    #[prost(int32, tag = "2")]
    pub nanos: i32,
}

impl prost::Name for Timestamp {
    const NAME: &'static str = "Timestamp";
    const PACKAGE: &'static str = "google.protobuf";
}

/// 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z, the range proto3 JSON allows.
const MIN_SECONDS: i64 = -62_135_596_800;
const MAX_SECONDS: i64 = 253_402_300_799;

impl Timestamp {
    fn to_datetime(self) -> Option<DateTime<Utc>> {
        if !(MIN_SECONDS..=MAX_SECONDS).contains(&self.seconds) || !(0..1_000_000_000).contains(&self.nanos) {
            return None;
        }
        DateTime::from_timestamp(self.seconds, self.nanos as u32)
    }

    /// Parses RFC 3339 (any offset) or an offset-less date-time read as UTC.
    pub fn parse(s: &str) -> Option<Self> {
        let dt = match DateTime::parse_from_rfc3339(s) {
            Ok(dt) => dt.with_timezone(&Utc),
            Err(_) => NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f").ok()?.and_utc(),
        };
        let t = Self { seconds: dt.timestamp(), nanos: dt.timestamp_subsec_nanos() as i32 };
        t.to_datetime().map(|_| t)
    }
}

impl std::fmt::Display for Timestamp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let dt = self.to_datetime().ok_or(std::fmt::Error)?;
        let digits = match self.nanos {
            0 => SecondsFormat::Secs,
            n if n % 1_000_000 == 0 => SecondsFormat::Millis,
            n if n % 1_000 == 0 => SecondsFormat::Micros,
            _ => SecondsFormat::Nanos,
        };
        f.write_str(&dt.to_rfc3339_opts(digits, true))
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if self.to_datetime().is_none() {
            return Err(serde::ser::Error::custom("timestamp out of range"));
        }
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Self::parse(&s).ok_or_else(|| de::Error::custom(format!("invalid RFC 3339 timestamp {s:?}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(seconds: i64, nanos: i32) -> Timestamp {
        Timestamp { seconds, nanos }
    }

    #[test]
    fn writes_utc_with_z_and_0_3_6_or_9_digits() {
        assert_eq!(t(0, 0).to_string(), "1970-01-01T00:00:00Z");
        assert_eq!(t(1_700_000_000, 500_000_000).to_string(), "2023-11-14T22:13:20.500Z");
        assert_eq!(t(1_700_000_000, 123_456_000).to_string(), "2023-11-14T22:13:20.123456Z");
        assert_eq!(t(1_700_000_000, 1).to_string(), "2023-11-14T22:13:20.000000001Z");
        assert!(serde_json::to_string(&t(MAX_SECONDS + 1, 0)).is_err());
        assert!(serde_json::to_string(&t(0, -1)).is_err());
    }

    #[test]
    fn reads_offsets_fractions_and_naive_times() {
        let expect = t(1_893_456_000, 0); // 2030-01-01T00:00:00Z
        for s in
            ["2030-01-01T00:00:00Z", "2030-01-01T00:00:00+00:00", "2030-01-01T01:00:00+01:00", "2030-01-01T00:00:00"]
        {
            assert_eq!(Timestamp::parse(s), Some(expect), "{s}");
        }
        assert_eq!(Timestamp::parse("2030-01-01T12:30:05.123456"), Some(t(1_893_501_005, 123_456_000)));
        for bad in ["", "2030-01-01", "yesterday", "2030-13-01T00:00:00Z", "10000-01-01T00:00:00Z"] {
            assert_eq!(Timestamp::parse(bad), None, "{bad}");
        }
        let json: Timestamp = serde_json::from_str("\"2030-01-01T00:00:00Z\"").unwrap();
        assert_eq!(json, expect);
        assert!(serde_json::from_str::<Timestamp>("12").is_err());
    }
}
