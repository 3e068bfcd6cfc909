//! Claude's words for an account's limit. A 429 that ends the turn makes an
//! error `result` with `api_error_status: 429`; when the API's unified
//! limiter refused the request (subscriptions and gateways: claude reads
//! its `anthropic-ratelimit-unified-*` headers only then), a
//! `rate_limit_event` with `status: "rejected"` and `resetsAt` (Unix
//! seconds) comes first, the synthetic error message repeats the reset in
//! `api_error_params.rate_limit_info`, and the result says
//! `api_error: "usage_limit_reached"` when the limit is the account's own.

use crate::timefmt::Timestamp;
use crate::turn::instant;
use serde_json::Value;

/// What a `rate_limit_event` says of the reset: Some(reset, if given) when
/// the limiter refused, None when it let the request through.
pub(super) fn event_reset(v: &Value) -> Option<Option<Timestamp>> {
    rejected_reset(&v["rate_limit_info"])
}

/// The reset an API-error message carries, if it carries one.
pub(super) fn error_message_reset(v: &Value) -> Option<Timestamp> {
    rejected_reset(&v["api_error_params"]["rate_limit_info"]).flatten()
}

fn rejected_reset(info: &Value) -> Option<Option<Timestamp>> {
    (info["status"] == "rejected").then(|| instant(&info["resetsAt"]))
}

/// Whether an error `result` ended the turn on a limit.
pub(super) fn is_limit_result(v: &Value) -> bool {
    v["api_error_status"] == 429 || v["api_error"] == "usage_limit_reached"
}

#[cfg(test)]
mod tests {
    use crate::agent::claude::ClaudeParser;
    use crate::agent::test_support::{run_path, transcript};
    use crate::timefmt::Timestamp;
    use crate::turn::{Outcome, TurnSummary, UsageLimit};

    fn run(name: &str) -> TurnSummary {
        run_path(ClaudeParser::default(), &transcript(name)).1
    }

    const FIVE_PM: i64 = 1_796_317_200;

    #[test]
    fn captured_limits_are_read_from_the_stream() {
        for (name, message, reset) in [
            (
                "claude_usage_limit.jsonl",
                "You've hit your 5-hour limit · resets 5pm (UTC)",
                Some(FIVE_PM),
            ),
            (
                "claude_usage_limit_weekly.jsonl",
                "You've hit your weekly limit · resets Dec 6, 5pm (UTC)",
                Some(FIVE_PM + 3 * 86400),
            ),
            (
                "claude_rate_limit_unclaimed.jsonl",
                "API Error: Server is temporarily limiting requests (not your usage limit) · This request would exceed your account's rate limit. Please try again later.",
                Some(FIVE_PM),
            ),
            (
                "claude_rate_limited.jsonl",
                "API Error: Request rejected (429) · This request would exceed your account's rate limit. Please try again later.",
                None,
            ),
        ] {
            let s = run(name);
            assert_eq!(s.outcome, Some(Outcome::Failed(message.into())), "{name}");
            assert_eq!(
                s.usage_limit,
                Some(UsageLimit {
                    resets_at: reset.and_then(Timestamp::from_unix),
                    ..UsageLimit::new(message)
                }),
                "{name}"
            );
        }
    }

    #[test]
    fn other_captured_failures_are_not_limits() {
        for name in [
            "claude_api_error_400.jsonl",
            "claude_api_error_401_retries.jsonl",
            "claude_api_error_500_retries.jsonl",
            "claude_connection_refused.jsonl",
            "claude_error_max_budget.jsonl",
            "claude_first_turn.jsonl",
            "claude_sigint.jsonl",
        ] {
            assert_eq!(run(name).usage_limit, None, "{name}");
        }
    }

    #[test]
    fn a_refusal_the_turn_got_past_is_no_limit() {
        let lines = [
            r#"{"type":"system","subtype":"init","session_id":"s"}"#,
            r#"{"type":"rate_limit_event","rate_limit_info":{"status":"rejected","resetsAt":1796317200}}"#,
            r#"{"type":"rate_limit_event","rate_limit_info":{"status":"allowed"}}"#,
            r#"{"type":"result","subtype":"success","is_error":true,"api_error_status":429,"result":"API Error: 429"}"#,
        ];
        let (_, s) = crate::agent::test_support::run_bytes(
            ClaudeParser::default(),
            format!("{}\n", lines.join("\n")).as_bytes(),
        );
        assert_eq!(s.usage_limit, Some(UsageLimit::new("API Error: 429")));
        // A refusal, then a turn that ends for another reason.
        let lines = [
            lines[0],
            lines[1],
            r#"{"type":"result","subtype":"success","is_error":true,"api_error_status":500,"result":"API Error: 500"}"#,
        ];
        let (_, s) = crate::agent::test_support::run_bytes(
            ClaudeParser::default(),
            format!("{}\n", lines.join("\n")).as_bytes(),
        );
        assert_eq!(s.usage_limit, None);
    }
}
