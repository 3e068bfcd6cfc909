//! An account's usage or rate limit as an agent's stream reports it, and
//! when it lifts. The adapters know where their agent says so; this knows
//! how a reset time is written and how to pin one that the stream gave only
//! relative to the moment it was written.

use crate::timefmt::Timestamp;
use chrono::{NaiveTime, TimeDelta};
use serde_json::Value;

/// The turn ended because the account hit a usage or rate limit.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct UsageLimit {
    /// What the agent said, in its words.
    pub message: String,
    /// When the limit lifts, where the stream gave it as an instant.
    pub resets_at: Option<Timestamp>,
    /// When it lifts, where the stream gave it only relative to when it
    /// wrote it: see [`UsageLimit::reset_within`].
    pub resets: Option<RelativeReset>,
}

/// A reset time that needs the moment the agent wrote it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RelativeReset {
    /// A local time of day with no date: codex writes its reset so when it
    /// falls on the day it writes it ("try again at 5:00 PM"), to the
    /// minute.
    ClockTime(NaiveTime),
    /// This many seconds after it was written.
    After(u64),
}

impl UsageLimit {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        UsageLimit {
            message: message.into(),
            resets_at: None,
            resets: None,
        }
    }

    /// When the limit lifts, for a message written while the turn ran:
    /// after `started` (unknown for a turn rebuilt from zwarm 2.3.5) and by
    /// `ended`. None where that leaves more than one answer, or none.
    pub(crate) fn reset_within(
        &self,
        started: Option<Timestamp>,
        ended: Timestamp,
    ) -> Option<Timestamp> {
        if self.resets_at.is_some() {
            return self.resets_at;
        }
        match self.resets? {
            // Written by `ended`: counting from there errs late, never early.
            RelativeReset::After(secs) => ended.plus_seconds(secs),
            RelativeReset::ClockTime(clock) => on_the_day_written(clock, started, ended),
        }
    }
}

/// The instant of `clock` on the day the message was written: a day on
/// which the turn ran and the clock time had not yet passed (by more than
/// the minute the agent rounds it to) when the turn reached that day.
fn on_the_day_written(
    clock: NaiveTime,
    started: Option<Timestamp>,
    ended: Timestamp,
) -> Option<Timestamp> {
    let first = started.unwrap_or(ended).min(ended);
    let days = ended
        .0
        .date()
        .signed_duration_since(first.0.date())
        .num_days();
    // A turn that spans days leaves a day per midnight to choose from;
    // past a week, nothing sensible is being chosen.
    if days > 7 {
        return None;
    }
    let mut found = None;
    for day in first.0.date().iter_days().take(days as usize + 1) {
        let written_from = first.0.max(day.and_time(NaiveTime::MIN));
        let reset = day.and_time(clock);
        if written_from <= reset + TimeDelta::seconds(59) {
            if found.is_some() {
                return None;
            }
            found = Some(Timestamp(reset));
        }
    }
    found
}

/// An instant as APIs write one: Unix seconds (or milliseconds), as a
/// number or a string of digits, or an RFC 3339 date and time.
pub(crate) fn instant(v: &Value) -> Option<Timestamp> {
    let unix = |n: i64| {
        // Milliseconds from the 1970s on are past any date in seconds
        // that is meant (the year 33658).
        if n >= 1_000_000_000_000 {
            Timestamp::from_unix(n / 1000)
        } else {
            Timestamp::from_unix(n)
        }
    };
    match v {
        Value::Number(n) => n
            .as_i64()
            .or_else(|| n.as_f64().filter(|f| f.is_finite()).map(|f| f as i64))
            .filter(|&n| n > 0)
            .and_then(unix),
        Value::String(s) => match s.trim().parse::<i64>() {
            Ok(n) if n > 0 => unix(n),
            Ok(_) => None,
            Err(_) => chrono::DateTime::parse_from_rfc3339(s.trim())
                .ok()
                .and_then(|t| Timestamp::from_unix(t.timestamp())),
        },
        _ => None,
    }
}

/// The delay in text such as "in 20s", "in 5 minutes" or "in 1 hour": its
/// seconds. The first "in" followed by a number and a unit of time it knows.
pub(crate) fn delay_after_in(text: &str) -> Option<u64> {
    let lower = text.to_ascii_lowercase();
    lower.match_indices("in ").find_map(|(at, _)| {
        let word_start = lower[..at]
            .chars()
            .next_back()
            .is_none_or(|c| !c.is_ascii_alphanumeric());
        word_start.then(|| seconds_of(&lower[at + 3..])).flatten()
    })
}

/// "20s", "5 minutes", ... at the start of `text`: its seconds.
fn seconds_of(text: &str) -> Option<u64> {
    let digits = text.len() - text.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    let n: u64 = text[..digits].parse().ok()?;
    let unit = text[digits..]
        .trim_start()
        .split(|c: char| !c.is_ascii_alphabetic())
        .next()?;
    let scale = match unit {
        "s" | "sec" | "secs" | "second" | "seconds" => 1,
        "m" | "min" | "mins" | "minute" | "minutes" => 60,
        "h" | "hr" | "hrs" | "hour" | "hours" => 3600,
        _ => return None,
    };
    n.checked_mul(scale)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn at(s: &str) -> Timestamp {
        Timestamp::parse(s).unwrap()
    }

    fn clock(h: u32, m: u32) -> UsageLimit {
        UsageLimit {
            resets: Some(RelativeReset::ClockTime(
                NaiveTime::from_hms_opt(h, m, 0).unwrap(),
            )),
            ..UsageLimit::new("limit")
        }
    }

    #[test]
    fn a_time_of_day_falls_on_the_day_the_turn_wrote_it() {
        let five_pm = clock(17, 0);
        let started = Some(at("2026-12-03T16:20:00"));
        assert_eq!(
            five_pm.reset_within(started, at("2026-12-03T16:20:01")),
            Some(at("2026-12-03T17:00:00"))
        );
        // Read long after, from the end the turn left on disk.
        assert_eq!(
            five_pm.reset_within(None, at("2026-12-03T16:20:01")),
            Some(at("2026-12-03T17:00:00"))
        );
        // Codex shows the minute: a reset at 17:00:40 written at 17:00:20.
        assert_eq!(
            five_pm.reset_within(started, at("2026-12-03T17:00:20")),
            Some(at("2026-12-03T17:00:00"))
        );
    }

    #[test]
    fn a_time_of_day_that_fits_no_day_or_two_is_not_guessed() {
        let five_pm = clock(17, 0);
        // Started after it: written on no day the turn ran.
        assert_eq!(
            five_pm.reset_within(Some(at("2026-12-03T18:00:00")), at("2026-12-03T18:00:01")),
            None
        );
        // A turn from before 17:00 to past the next midnight could have
        // written it on either day.
        assert_eq!(
            five_pm.reset_within(Some(at("2026-12-03T16:00:00")), at("2026-12-04T00:10:00")),
            None
        );
        // From after 17:00 to past midnight: only the second day fits.
        assert_eq!(
            five_pm.reset_within(Some(at("2026-12-03T23:50:00")), at("2026-12-04T00:10:00")),
            Some(at("2026-12-04T17:00:00"))
        );
        assert_eq!(
            five_pm.reset_within(Some(at("2026-11-01T00:00:00")), at("2026-12-04T00:10:00")),
            None
        );
    }

    #[test]
    fn an_instant_wins_and_a_delay_counts_from_the_end() {
        let mut l = UsageLimit::new("limit");
        assert_eq!(l.reset_within(None, at("2026-12-03T16:00:00")), None);
        l.resets = Some(RelativeReset::After(90));
        assert_eq!(
            l.reset_within(None, at("2026-12-03T16:00:00")),
            Some(at("2026-12-03T16:01:30"))
        );
        l.resets_at = Some(at("2026-12-05T00:00:00"));
        assert_eq!(l.resets_at, l.reset_within(None, at("2026-12-03T16:00:00")));
    }

    #[test]
    fn instants_as_apis_write_them() {
        let five = Timestamp::from_unix(1_796_317_200);
        assert!(five.is_some());
        for v in [
            json!(1_796_317_200),
            json!(1_796_317_200.0),
            json!("1796317200"),
            json!(1_796_317_200_000u64),
            json!("2026-12-03T17:00:00Z"),
            json!("2026-12-03T18:00:00+01:00"),
        ] {
            assert_eq!(instant(&v), five, "{v}");
        }
        for v in [
            json!(null),
            json!(0),
            json!(-5),
            json!("soon"),
            json!(""),
            json!(true),
            json!(f64::MAX),
        ] {
            assert_eq!(instant(&v), None, "{v}");
        }
    }

    #[test]
    fn delays_in_words() {
        assert_eq!(delay_after_in("Please try again in 20s."), Some(20));
        assert_eq!(
            delay_after_in("requests per min (RPM): Limit 3. Please try again in 20s."),
            Some(20)
        );
        assert_eq!(delay_after_in("try again in 5 minutes"), Some(300));
        assert_eq!(delay_after_in("Try again in 2 hours."), Some(7200));
        assert_eq!(delay_after_in("try again in a while"), None);
        assert_eq!(delay_after_in("in 3 days"), None);
        assert_eq!(delay_after_in("Try again later."), None);
        assert_eq!(delay_after_in("in 99999999999999999999s"), None);
    }
}
