//! Timestamps as zwarm 2.3.5 writes them: local time, no offset, Python's
//! `datetime.now().isoformat()`. Offsets are accepted on read.

use chrono::{DateTime, Local, NaiveDateTime};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub NaiveDateTime);

impl Timestamp {
    pub fn now() -> Self {
        Timestamp(Local::now().naive_local())
    }

    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        if let Ok(t) = NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f") {
            return Some(Timestamp(t));
        }
        if let Ok(t) = DateTime::parse_from_rfc3339(s) {
            return Some(Timestamp(t.with_timezone(&Local).naive_local()));
        }
        // Python also writes a space separator when asked to; be lenient.
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f")
            .ok()
            .map(Timestamp)
    }

    /// Seconds from `self` to `later` (negative if `later` is earlier).
    pub fn seconds_until(&self, later: &Timestamp) -> f64 {
        (later.0 - self.0).num_milliseconds() as f64 / 1000.0
    }

    pub fn age_seconds(&self) -> f64 {
        self.seconds_until(&Timestamp::now())
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.format("%Y-%m-%dT%H:%M:%S%.6f"))
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Timestamp::parse(&s)
            .ok_or_else(|| serde::de::Error::custom(format!("not a timestamp: {s:?}")))
    }
}

/// "42s", "5m", "3h12m", "4d": compact durations for tables.
pub fn compact_duration(secs: f64) -> String {
    let s = secs.max(0.0) as u64;
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m{:02}s", s / 60, s % 60),
        3600..=86399 => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
        _ => format!("{}d{:02}h", s / 86400, (s % 86400) / 3600),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_python_isoformat() {
        let t = Timestamp::parse("2026-11-23T19:30:21.123456").unwrap();
        assert_eq!(t.to_string(), "2026-11-23T19:30:21.123456");
        let whole = Timestamp::parse("2026-11-23T19:30:21").unwrap();
        assert_eq!(whole.to_string(), "2026-11-23T19:30:21.000000");
    }

    #[test]
    fn accepts_offsets() {
        assert!(Timestamp::parse("2026-11-23T19:30:21.5+02:00").is_some());
        assert!(Timestamp::parse("2026-11-23T19:30:21Z").is_some());
        assert!(Timestamp::parse("yesterday").is_none());
    }

    #[test]
    fn compact_durations() {
        assert_eq!(compact_duration(5.2), "5s");
        assert_eq!(compact_duration(125.0), "2m05s");
        assert_eq!(compact_duration(3.0 * 3600.0 + 60.0), "3h01m");
        assert_eq!(compact_duration(2.0 * 86400.0), "2d00h");
    }
}
