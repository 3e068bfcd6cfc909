//! Qwen's usage as a turn streams: the sum of its responses' usage, each on
//! the last assistant line of its response, as the parser counts it.

use super::stream::usage;
use crate::agent::UsageMeter;
use crate::model::Usage;
use serde::Deserialize;
use serde_json::Value;
use std::borrow::Cow;

#[derive(Default)]
pub(crate) struct QwenMeter {
    used: Usage,
}

/// Only what the meter reads of a line; serde skips the rest unbuilt.
#[derive(Deserialize)]
struct Line<'a> {
    #[serde(rename = "type", borrow, default)]
    kind: Option<Cow<'a, str>>,
    #[serde(default)]
    message: Option<Message>,
}

#[derive(Deserialize)]
struct Message {
    #[serde(default)]
    usage: Option<Value>,
}

impl UsageMeter for QwenMeter {
    fn feed(&mut self, line: &[u8]) {
        let Ok(line) = serde_json::from_slice::<Line>(line) else {
            return;
        };
        if line.kind.as_deref() != Some("assistant") {
            return;
        }
        if let Some(u) = line.message.and_then(|m| m.usage).filter(Value::is_object) {
            self.used.add(&usage(&u));
        }
    }

    fn used(&self) -> &Usage {
        &self.used
    }
}

#[cfg(test)]
mod tests {
    use crate::agent::test_support::transcript;
    use crate::agent::Agent;

    /// The meter ends where the parser does, on every transcript.
    #[test]
    fn the_meter_counts_what_the_parser_counts() {
        for name in [
            "qwen_first_turn.jsonl",
            "qwen_resume_2.jsonl",
            "qwen_sigterm.jsonl",
            "qwen_api_error_400.jsonl",
        ] {
            let mut meter = super::super::Qwen.usage_meter().unwrap();
            let text = std::fs::read_to_string(transcript(name)).unwrap();
            for line in text.lines() {
                meter.feed(line.as_bytes());
            }
            let (_, summary) = crate::agent::test_support::run_path(
                super::super::QwenParser::default(),
                &transcript(name),
            );
            assert_eq!(Some(meter.used().clone()), summary.usage, "{name}");
        }
    }
}
