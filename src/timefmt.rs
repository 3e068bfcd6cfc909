//! Timestamps as zwarm 2.3.5 writes them: local time, no offset, Python's
//! `datetime.now().isoformat()`. Offsets are accepted on read.

use chrono::{DateTime, Datelike, Local, NaiveDate, NaiveDateTime, Timelike};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct Timestamp(pub NaiveDateTime);

impl Timestamp {
    pub(crate) fn now() -> Self {
        Timestamp(Local::now().naive_local())
    }

    pub(crate) fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        if let Some(t) = parse_isoformat(s) {
            return Some(Timestamp(t));
        }
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
    pub(crate) fn seconds_until(&self, later: &Timestamp) -> f64 {
        (later.0 - self.0).num_milliseconds() as f64 / 1000.0
    }

    pub(crate) fn age_seconds(&self) -> f64 {
        self.seconds_until(&Timestamp::now())
    }

    /// The local time of a Unix time in seconds; None out of chrono's range.
    pub(crate) fn from_unix(secs: i64) -> Option<Self> {
        let t = DateTime::from_timestamp(secs, 0)?;
        Some(Timestamp(t.with_timezone(&Local).naive_local()))
    }

    /// `secs` seconds later; None out of chrono's range.
    pub(crate) fn plus_seconds(&self, secs: u64) -> Option<Self> {
        let secs = i64::try_from(secs).ok()?;
        self.0
            .checked_add_signed(chrono::TimeDelta::try_seconds(secs)?)
            .map(Timestamp)
    }

    /// `2026-12-03 17:00`: to the minute, for messages kept on disk.
    pub(crate) fn minute(&self) -> String {
        self.0.format("%Y-%m-%d %H:%M").to_string()
    }

    /// `17:00` on the day of `today`, else `2026-12-04 17:00`: to the
    /// minute, as a person reads a time of day.
    pub(crate) fn clock_on(&self, today: &Timestamp) -> String {
        if self.0.date() == today.0.date() {
            self.0.format("%H:%M").to_string()
        } else {
            self.minute()
        }
    }
}

impl Timestamp {
    /// `YYYY-MM-DDTHH:MM:SS.ffffff` written digit by digit, as chrono's
    /// `%Y-%m-%dT%H:%M:%S%.6f` would (`list --json` writes thousands);
    /// None for what chrono writes otherwise (years past four digits, leap
    /// seconds).
    fn isoformat(&self) -> Option<[u8; 26]> {
        let t = self.0;
        let (year, nanos) = (t.year(), t.nanosecond());
        if !(0..=9999).contains(&year) || nanos >= 1_000_000_000 {
            return None;
        }
        let mut out = *b"0000-00-00T00:00:00.000000";
        for (at, width, n) in [
            (0, 4, year as u32),
            (5, 2, t.month()),
            (8, 2, t.day()),
            (11, 2, t.hour()),
            (14, 2, t.minute()),
            (17, 2, t.second()),
            (20, 6, nanos / 1000),
        ] {
            let mut n = n;
            for digit in out[at..at + width].iter_mut().rev() {
                *digit = b'0' + (n % 10) as u8;
                n /= 10;
            }
        }
        Some(out)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.isoformat() {
            // ASCII digits and separators only.
            Some(text) => f.write_str(std::str::from_utf8(&text).unwrap_or_default()),
            None => write!(f, "{}", self.0.format("%Y-%m-%dT%H:%M:%S%.6f")),
        }
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.isoformat() {
            Some(text) => s.serialize_str(std::str::from_utf8(&text).unwrap_or_default()),
            None => s.collect_str(self),
        }
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // A visitor of &str: the text is parsed where it lies, not copied.
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Timestamp;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a timestamp")
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Timestamp, E> {
                Timestamp::parse(s).ok_or_else(|| E::custom(format!("not a timestamp: {s:?}")))
            }
        }
        d.deserialize_str(V)
    }
}

/// `YYYY-MM-DDTHH:MM:SS[.fraction]`, the form every writer of `meta.json`
/// uses, read without chrono's format interpreter: `list` reads several per
/// session. Anything else (offsets, leap seconds) is left to chrono.
fn parse_isoformat(s: &str) -> Option<NaiveDateTime> {
    let b = s.as_bytes();
    if b.len() < 19
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let num = |digits: &[u8]| {
        digits.iter().try_fold(0u32, |n, &c| {
            c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
        })
    };
    let date = NaiveDate::from_ymd_opt(num(&b[0..4])? as i32, num(&b[5..7])?, num(&b[8..10])?)?;
    let (hour, min, sec) = (num(&b[11..13])?, num(&b[14..16])?, num(&b[17..19])?);
    let nanos = match &b[19..] {
        [] => 0,
        [b'.', frac @ ..] if (1..=9).contains(&frac.len()) => {
            num(frac)? * 10u32.pow(9 - frac.len() as u32)
        }
        _ => return None,
    };
    if sec > 59 {
        return None;
    }
    date.and_hms_nano_opt(hour, min, sec, nanos)
}

/// "42s", "5m", "3h12m", "4d": compact durations for tables.
/// A duration as a person gives it: `30m`, `2h`, `90s`, `1h30m`.
pub(crate) fn round_duration(secs: u64) -> String {
    let (h, m, s) = (secs / 3600, secs % 3600 / 60, secs % 60);
    let mut out = String::new();
    for (n, unit) in [(h, "h"), (m, "m"), (s, "s")] {
        if n > 0 {
            out.push_str(&format!("{n}{unit}"));
        }
    }
    if out.is_empty() {
        out.push_str("0s");
    }
    out
}

pub(crate) fn compact_duration(secs: f64) -> String {
    let mut out = String::new();
    compact_duration_into(&mut out, secs);
    out
}

/// [`compact_duration`], appended to `out`.
pub(crate) fn compact_duration_into(out: &mut String, secs: f64) {
    use std::fmt::Write;
    let s = secs.max(0.0) as u64;
    let _ = match s {
        0..=59 => write!(out, "{s}s"),
        60..=3599 => write!(out, "{}m{:02}s", s / 60, s % 60),
        3600..=86399 => write!(out, "{}h{:02}m", s / 3600, (s % 3600) / 60),
        _ => write!(out, "{}d{:02}h", s / 86400, (s % 86400) / 3600),
    };
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
    fn the_fast_reader_agrees_with_chrono() {
        let chrono = |s| NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f").ok();
        for s in [
            "2026-11-23T19:30:21.123456",
            "2026-11-23T19:30:21",
            "2026-11-23T19:30:21.5",
            "2026-11-23T19:30:21.123456789",
            "2024-02-29T00:00:00.000001",
            "0999-01-01T23:59:59.1",
        ] {
            assert_eq!(parse_isoformat(s), chrono(s), "{s}");
            assert!(parse_isoformat(s).is_some(), "{s}");
        }
        // Not for the fast reader: chrono decides (and rejects most).
        for s in [
            "2025-02-29T00:00:00",
            "2026-13-01T00:00:00",
            "2026-11-23T24:00:00",
            "2026-11-23T19:30:60",
            "2026-11-23T19:30:21.",
            "2026-11-23T19:30:21.1234567891",
            "2026-11-23 19:30:21",
            "2026-11-23T19:30:21Z",
            "+2026-11-23T19:30:21",
            "2026-1-23T19:30:21.1",
        ] {
            assert_eq!(parse_isoformat(s), None, "{s}");
        }
    }

    #[test]
    fn written_as_chrono_writes_it() {
        let chrono = |t: &Timestamp| t.0.format("%Y-%m-%dT%H:%M:%S%.6f").to_string();
        let mut all: Vec<Timestamp> = [
            "2026-11-23T19:30:21.123456",
            "2026-11-23T19:30:21",
            "2026-11-23T19:30:21.999999999",
            "0000-01-01T00:00:00.000001",
            "9999-12-31T23:59:59.5",
            "0042-02-03T04:05:06.07",
        ]
        .iter()
        .map(|s| Timestamp::parse(s).unwrap())
        .collect();
        // A spread of instants, and the ones chrono writes its own way.
        let mut x: i64 = 0x2545_f491_4f6c_dd1d;
        for _ in 0..2000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let secs = x.rem_euclid(400 * 366 * 86400) - 100 * 366 * 86400;
            let nanos = (x >> 20).rem_euclid(1_000_000_000) as u32;
            all.push(Timestamp(
                DateTime::from_timestamp(secs, nanos).unwrap().naive_utc(),
            ));
        }
        let leap = NaiveDate::from_ymd_opt(2016, 12, 31)
            .unwrap()
            .and_hms_nano_opt(23, 59, 59, 1_500_000_000)
            .unwrap();
        let far = NaiveDate::from_ymd_opt(12345, 1, 2)
            .unwrap()
            .and_hms_opt(3, 4, 5)
            .unwrap();
        let before = NaiveDate::from_ymd_opt(-7, 1, 2)
            .unwrap()
            .and_hms_opt(3, 4, 5)
            .unwrap();
        all.extend([leap, far, before].map(Timestamp));
        for t in &all {
            assert_eq!(t.to_string(), chrono(t));
            assert_eq!(
                serde_json::to_string(t).unwrap(),
                format!("\"{}\"", chrono(t))
            );
        }
    }

    #[test]
    fn accepts_offsets() {
        assert!(Timestamp::parse("2026-11-23T19:30:21.5+02:00").is_some());
        assert!(Timestamp::parse("2026-11-23T19:30:21Z").is_some());
        assert!(Timestamp::parse("yesterday").is_none());
    }

    #[test]
    fn unix_times_and_minutes() {
        let t = Timestamp::from_unix(1_796_317_200).unwrap();
        let utc = DateTime::from_timestamp(1_796_317_200, 0).unwrap();
        assert_eq!(t.0, utc.with_timezone(&Local).naive_local());
        assert!(Timestamp::from_unix(i64::MAX).is_none());
        let t = Timestamp::parse("2026-12-03T17:00:59.5").unwrap();
        assert_eq!(t.minute(), "2026-12-03 17:00");
        let same_day = Timestamp::parse("2026-12-03T01:02:03").unwrap();
        let next_day = Timestamp::parse("2026-12-04T16:00:00").unwrap();
        assert_eq!(t.clock_on(&same_day), "17:00");
        assert_eq!(t.clock_on(&next_day), "2026-12-03 17:00");
        assert_eq!(
            t.plus_seconds(3600).unwrap(),
            Timestamp::parse("2026-12-03T18:00:59.5").unwrap()
        );
        assert!(t.plus_seconds(u64::MAX).is_none());
    }

    #[test]
    fn compact_durations() {
        assert_eq!(compact_duration(5.2), "5s");
        assert_eq!(compact_duration(125.0), "2m05s");
        assert_eq!(compact_duration(3.0 * 3600.0 + 60.0), "3h01m");
        assert_eq!(compact_duration(2.0 * 86400.0), "2d00h");
    }
}
