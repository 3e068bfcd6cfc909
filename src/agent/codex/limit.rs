//! Codex's words for an account's limit. Codex 0.169 turns the API's 429s
//! into fixed messages and keeps nothing else of them (no reset time as a
//! number), so the message is all there is to read:
//! - `usage_limit_reached`: "You’ve hit your usage limit. ... try again at
//!   5:00 PM." (a dated "Dec 4th, 2026 5:00 PM" when the reset is on
//!   another day, "Try again later." when the API gave no `resets_at`), in
//!   local time, to the minute;
//! - `insufficient_quota`: "Quota exceeded. Check your plan and billing
//!   details.";
//! - any other 429 once the retries are spent: "exceeded retry limit, last
//!   status: 429 Too Many Requests".

use crate::timefmt::Timestamp;
use crate::turn::{delay_after_in, RelativeReset, UsageLimit};
use chrono::{NaiveDateTime, NaiveTime};

/// The limit a fatal codex message reports, if it reports one.
pub(super) fn usage_limit(message: &str) -> Option<UsageLimit> {
    // ASCII lower-casing keeps byte offsets, so `lower`'s index `message`.
    let lower = message.to_ascii_lowercase();
    // Codex writes a typographic apostrophe; a plain one is as good.
    let hit = ["you’ve hit your usage limit", "you've hit your usage limit"]
        .iter()
        .any(|p| lower.starts_with(p));
    let limited =
        hit || lower.starts_with("quota exceeded") || lower.contains("429 too many requests");
    if !limited {
        return None;
    }
    let mut limit = UsageLimit::new(message);
    if let Some(at) = lower.find("try again at ") {
        let when = message
            .get(at + "try again at ".len()..)
            .unwrap_or_default();
        match clock_or_date(when) {
            Some(Reset::Date(t)) => limit.resets_at = Some(t),
            Some(Reset::Clock(c)) => limit.resets = Some(RelativeReset::ClockTime(c)),
            None => {}
        }
    } else if let Some(secs) = lower
        .find("try again")
        .and_then(|at| delay_after_in(&lower[at..]))
    {
        limit.resets = Some(RelativeReset::After(secs));
    }
    Some(limit)
}

enum Reset {
    Date(Timestamp),
    Clock(NaiveTime),
}

/// "5:00 PM" or "Dec 4th, 2026 5:00 PM", with what follows (a full stop)
/// left out.
fn clock_or_date(text: &str) -> Option<Reset> {
    let lower = text.to_ascii_lowercase();
    let end = [" am", " pm"]
        .iter()
        .filter_map(|m| lower.find(m).map(|i| i + m.len()))
        .min()?;
    let text = text.get(..end)?.trim();
    if let Ok(t) = NaiveTime::parse_from_str(text, "%I:%M %p") {
        return Some(Reset::Clock(t));
    }
    // "Dec 4th, 2026 5:00 PM": the day's ordinal suffix is not chrono's.
    let (day, rest) = text.split_once(',')?;
    let day = day.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let t = NaiveDateTime::parse_from_str(&format!("{day},{rest}"), "%b %d, %Y %I:%M %p").ok()?;
    Some(Reset::Date(Timestamp(t)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agent::codex::CodexParser;
    use crate::agent::test_support::{run_path, transcript};
    use crate::turn::{Outcome, TurnSummary};

    fn at(s: &str) -> Timestamp {
        Timestamp::parse(s).unwrap()
    }

    fn run(name: &str) -> TurnSummary {
        run_path(CodexParser::default(), &transcript(name)).1
    }

    const PLUS: &str = "You’ve hit your usage limit. Upgrade to Pro (https://chatgpt.com/explore/pro), visit https://chatgpt.com/settings/usage to purchase more credits or try again at";

    #[test]
    fn captured_limits_are_read_from_the_stream() {
        let s = run("codex_usage_limit.jsonl");
        let message = format!("{PLUS} 5:00 PM.");
        assert_eq!(s.outcome, Some(Outcome::Failed(message.clone())));
        let five_pm = NaiveTime::from_hms_opt(17, 0, 0).unwrap();
        assert_eq!(
            s.usage_limit,
            Some(UsageLimit {
                message,
                resets_at: None,
                resets: Some(RelativeReset::ClockTime(five_pm)),
            })
        );

        let s = run("codex_usage_limit_next_day.jsonl");
        let limit = s.usage_limit.unwrap();
        assert_eq!(limit.message, format!("{PLUS} Dec 4th, 2026 5:00 PM."));
        assert_eq!(limit.resets_at, Some(at("2026-12-04T17:00:00")));

        for (name, message) in [
            (
                "codex_usage_limit_no_reset.jsonl",
                "You’ve hit your usage limit. Try again later.",
            ),
            (
                "codex_quota_exceeded.jsonl",
                "Quota exceeded. Check your plan and billing details.",
            ),
            (
                "codex_rate_limited.jsonl",
                "exceeded retry limit, last status: 429 Too Many Requests",
            ),
        ] {
            let s = run(name);
            assert_eq!(s.usage_limit, Some(UsageLimit::new(message)), "{name}");
            assert_eq!(s.outcome, Some(Outcome::Failed(message.into())), "{name}");
        }
    }

    #[test]
    fn other_captured_failures_are_not_limits() {
        for name in [
            "codex_failed.jsonl",
            "codex_failed_after_retries.jsonl",
            "codex_failed_context_window.jsonl",
            "codex_first_turn.jsonl",
            "codex_connection_refused_then_sigterm.jsonl",
        ] {
            assert_eq!(run(name).usage_limit, None, "{name}");
        }
    }

    #[test]
    fn the_error_before_turn_failed_is_enough() {
        // Codex killed between its `error` and its `turn.failed`.
        let lines: String = std::fs::read_to_string(transcript("codex_usage_limit_next_day.jsonl"))
            .unwrap()
            .lines()
            .take(4)
            .map(|l| format!("{l}\n"))
            .collect();
        let (_, s) =
            crate::agent::test_support::run_bytes(CodexParser::default(), lines.as_bytes());
        assert_eq!(s.outcome, None);
        assert_eq!(
            s.usage_limit.and_then(|l| l.resets_at),
            Some(at("2026-12-04T17:00:00"))
        );
    }

    #[test]
    fn the_usage_limit_and_its_reset_as_codex_words_them() {
        let l = usage_limit("You’ve hit your usage limit. Upgrade to Pro (https://chatgpt.com/explore/pro), visit https://chatgpt.com/settings/usage to purchase more credits or try again at 5:00 PM.").unwrap();
        let five_pm = NaiveTime::from_hms_opt(17, 0, 0).unwrap();
        assert_eq!(l.resets, Some(RelativeReset::ClockTime(five_pm)));
        assert_eq!(l.resets_at, None);
        let l = usage_limit("You’ve hit your usage limit. Try again at 12:05 AM.").unwrap();
        let after_midnight = NaiveTime::from_hms_opt(0, 5, 0).unwrap();
        assert_eq!(l.resets, Some(RelativeReset::ClockTime(after_midnight)));
        for (text, when) in [
            ("try again at Dec 4th, 2026 5:00 PM.", "2026-12-04T17:00:00"),
            ("try again at Jan 1st, 2027 9:30 AM.", "2027-01-01T09:30:00"),
            (
                "Try again at Mar 22nd, 2027 12:00 PM.",
                "2027-03-22T12:00:00",
            ),
            ("try again at Apr 3rd, 2027 8:15 am.", "2027-04-03T08:15:00"),
            (
                "try again at Sep 11th, 2027 1:00 PM.",
                "2027-09-11T13:00:00",
            ),
            (
                "try again at Oct 23rd, 2027 11:59 PM",
                "2027-10-23T23:59:00",
            ),
        ] {
            let l = usage_limit(&format!("You've hit your usage limit. {text}")).unwrap();
            assert_eq!(l.resets_at, Some(at(when)), "{text}");
            assert_eq!(l.resets, None);
        }
    }

    #[test]
    fn limits_without_a_reset() {
        for text in [
            "You’ve hit your usage limit. Try again later.",
            "Quota exceeded. Check your plan and billing details.",
            "exceeded retry limit, last status: 429 Too Many Requests",
            "You’ve hit your usage limit. Try again at half past five.",
        ] {
            let l = usage_limit(text).unwrap();
            assert_eq!((l.resets_at, l.resets), (None, None), "{text}");
            assert_eq!(l.message, text);
        }
        let l = usage_limit("You’ve hit your usage limit. Try again in 20 minutes.").unwrap();
        assert_eq!(l.resets, Some(RelativeReset::After(1200)));
    }

    #[test]
    fn other_failures_are_not_limits() {
        for text in [
            "We're currently experiencing high demand, which may cause temporary errors.",
            "unexpected status 401 Unauthorized: bad key",
            "Codex ran out of room in the model's context window.",
            "exceeded retry limit, last status: 500 Internal Server Error",
            "Reconnecting... 1/5",
        ] {
            assert_eq!(usage_limit(text), None, "{text}");
        }
    }
}
