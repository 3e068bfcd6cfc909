//! Claude's usage as a turn streams: each response's `assistant` lines
//! carry its usage (repeated on every line of the response), and `result`
//! the invocation's, exact.

use super::stream::usage;
use crate::agent::UsageMeter;
use crate::model::Usage;
use serde::Deserialize;
use serde_json::Value;
use std::borrow::Cow;

/// Counts what the stream's responses used, as the parser does for a turn
/// cut short: once per response, a response told apart by its message id
/// since the last `user` line. Claude prints a response's usage as of its
/// start, so until the `result` the output count is a lower bound.
#[derive(Default)]
pub(crate) struct ClaudeMeter {
    used: Usage,
    counted: Vec<String>,
}

/// Only what the meter reads of a line; serde skips the rest unbuilt.
#[derive(Deserialize)]
struct Line<'a> {
    #[serde(rename = "type", borrow, default)]
    kind: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    message: Option<Message<'a>>,
    #[serde(default)]
    usage: Option<Value>,
}

#[derive(Deserialize)]
struct Message<'a> {
    #[serde(default, borrow)]
    id: Option<Cow<'a, str>>,
    #[serde(default)]
    usage: Option<Value>,
}

impl UsageMeter for ClaudeMeter {
    fn feed(&mut self, line: &[u8]) {
        let Ok(line) = serde_json::from_slice::<Line>(line) else {
            return;
        };
        match line.kind.as_deref() {
            // Mocks reuse a message id for every response; a new response
            // follows a user line.
            Some("user") => self.counted.clear(),
            Some("assistant") => {
                let Some(m) = line.message else { return };
                let Some(u) = m.usage.filter(Value::is_object) else {
                    return;
                };
                let id = m.id.map(Cow::into_owned);
                if !id.as_ref().is_some_and(|id| self.counted.contains(id)) {
                    self.used.add(&usage(&u));
                    self.counted.extend(id);
                }
            }
            // The invocation's own usage, exact; a budget stop reports
            // zeros for the response it paid for, which were counted above.
            Some("result") => {
                if let Some(u) = line.usage.filter(Value::is_object).map(|u| usage(&u)) {
                    if !u.is_empty() {
                        self.used = u;
                    }
                }
            }
            _ => {}
        }
    }

    fn used(&self) -> &Usage {
        &self.used
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agent::test_support::transcript;
    use crate::agent::AgentKind;
    use crate::turn::OutputDetail;

    fn metered(name: &str) -> Usage {
        let mut m = ClaudeMeter::default();
        for line in std::fs::read(transcript(name))
            .unwrap()
            .split(|&b| b == b'\n')
        {
            m.feed(line);
        }
        m.used().clone()
    }

    /// Fed a whole turn, the meter counts what the parser records for it.
    #[test]
    fn the_meter_ends_where_the_parser_does() {
        for name in [
            "claude_first_turn.jsonl",
            "claude_rich.jsonl",
            "claude_error_max_budget.jsonl",
            "claude_sigterm.jsonl",
            "claude_partial_messages.jsonl",
        ] {
            let summary = AgentKind::Claude
                .parser(OutputDetail::Whole)
                .summarize(&transcript(name))
                .unwrap();
            let recorded = summary.usage.unwrap_or_default();
            assert_eq!(metered(name).total_tokens, recorded.total_tokens, "{name}");
        }
    }

    #[test]
    fn a_response_split_over_lines_counts_once_and_odd_lines_not_at_all() {
        let mut m = ClaudeMeter::default();
        let line = |id: &str| {
            format!(
                r#"{{"type":"assistant","message":{{"id":"{id}","usage":{{"input_tokens":50,"output_tokens":9,"cache_read_input_tokens":7,"cache_creation_input_tokens":5}}}}}}"#
            )
        };
        for l in [line("a"), line("a"), line("b")] {
            m.feed(l.as_bytes());
        }
        assert_eq!(m.used().total_tokens, 142);
        m.feed(br#"{"type":"user","message":{"content":[]}}"#);
        m.feed(line("b").as_bytes());
        for odd in [&b"not json"[..], b"[1]", br#"{"type":"assistant"}"#, b""] {
            m.feed(odd);
        }
        assert_eq!(m.used().total_tokens, 213);
    }
}
