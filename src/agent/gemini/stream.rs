//! Gemini's stream-json lines in order: the conversation it runs in, the
//! model's text (streamed in pieces), tool uses paired with their results,
//! warnings and errors, and the result that ends the invocation.

use super::tool::{tool_step, OpenTool};
use crate::model::Usage;
use crate::turn::StreamParser;
use crate::turn::{Outcome, OutputDetail, Step, StepKind, TurnSummary, UsageLimit};
use serde_json::Value;

pub(crate) struct GeminiParser {
    detail: OutputDetail,
    summary: TurnSummary,
    /// Tool uses waiting for their result, in the order they started.
    open: Vec<OpenTool>,
    /// The model's answer so far: it streams as `delta` messages, one per
    /// chunk of the API's response, and is one message once something else
    /// follows. The line of its first piece, and its text.
    text: Option<(u64, String)>,
}

impl GeminiParser {
    pub(crate) fn new(detail: OutputDetail) -> Self {
        GeminiParser {
            detail,
            summary: TurnSummary::default(),
            open: Vec::new(),
            text: None,
        }
    }

    fn handle(&mut self, lineno: u64, v: Value, emit: &mut dyn FnMut(Step)) {
        let kind = v["type"].as_str().unwrap_or("unknown");
        let piece = kind == "message" && v["role"] == "assistant" && v["delta"] == true;
        if !piece {
            self.flush_text(emit);
        }
        match kind {
            "init" => {
                self.summary.agent_session_id = v["session_id"].as_str().map(str::to_string);
                self.summary.model = v["model"].as_str().map(str::to_string);
            }
            "message" => self.message(lineno, v, emit),
            "tool_use" => self.open.push(OpenTool {
                line: lineno,
                id: v["tool_id"].as_str().unwrap_or_default().to_string(),
                name: v["tool_name"].as_str().unwrap_or_default().to_string(),
                parameters: v["parameters"].clone(),
            }),
            "tool_result" => self.tool_result(lineno, v, emit),
            "error" => {
                let message = v["message"].as_str().unwrap_or("error").to_string();
                // Warnings (a blocked hook, a loop noticed) and errors the
                // turn goes on after; the result says how it ended.
                let kind = if v["severity"] == "warning" {
                    StepKind::Warning { message }
                } else {
                    self.summary.last_error = Some(message.clone());
                    StepKind::Error { message }
                };
                emit(Step { line: lineno, kind });
            }
            "result" => self.result(lineno, &v, emit),
            _ => emit(Step {
                line: lineno,
                kind: StepKind::Other {
                    kind: kind.to_string(),
                    raw: v,
                },
            }),
        }
    }

    fn message(&mut self, lineno: u64, v: Value, emit: &mut dyn FnMut(Step)) {
        let content = v["content"].as_str().unwrap_or_default();
        match v["role"].as_str() {
            // The prompt echoed back: zwarm has it already, as the turn's
            // user message.
            Some("user") => {}
            Some("assistant") => {
                let (_, text) = self.text.get_or_insert((lineno, String::new()));
                text.push_str(content);
                if v["delta"] != true {
                    self.flush_text(emit);
                }
            }
            _ => emit(Step {
                line: lineno,
                kind: StepKind::Other {
                    kind: "message".into(),
                    raw: v,
                },
            }),
        }
    }

    fn flush_text(&mut self, emit: &mut dyn FnMut(Step)) {
        let Some((line, text)) = self.text.take() else {
            return;
        };
        if text.trim().is_empty() {
            return;
        }
        self.summary.messages.push(text.clone());
        emit(Step {
            line,
            kind: StepKind::Message { text },
        });
    }

    fn tool_result(&mut self, lineno: u64, v: Value, emit: &mut dyn FnMut(Step)) {
        let id = v["tool_id"].as_str().unwrap_or_default();
        match self.open.iter().position(|t| t.id == id) {
            Some(i) => {
                let tool = self.open.remove(i);
                emit(Step {
                    line: tool.line,
                    kind: tool_step(tool, Some(&v), self.detail),
                });
            }
            None => emit(Step {
                line: lineno,
                kind: StepKind::Other {
                    kind: "tool_result".into(),
                    raw: v,
                },
            }),
        }
    }

    fn result(&mut self, lineno: u64, v: &Value, emit: &mut dyn FnMut(Step)) {
        self.flush_open(emit);
        let stats = &v["stats"];
        if stats.is_object() {
            self.summary.usage = Some(usage(stats));
            if let Some(m) = served_model(stats) {
                self.summary.model = Some(m);
            }
        }
        if v["status"] == "success" {
            self.summary.outcome = Some(Outcome::Completed);
            return;
        }
        let (message, rate_limited) = api_error(&v["error"]);
        if rate_limited {
            // Gemini gives no reset time: it has retried for minutes already.
            self.summary.usage_limit = Some(UsageLimit::new(message.clone()));
        }
        emit(Step {
            line: lineno,
            kind: StepKind::Error {
                message: message.clone(),
            },
        });
        self.summary.last_error = Some(message.clone());
        self.summary.outcome = Some(Outcome::Failed(message));
    }

    fn flush_open(&mut self, emit: &mut dyn FnMut(Step)) {
        for tool in self.open.drain(..) {
            emit(Step {
                line: tool.line,
                kind: tool_step(tool, None, self.detail),
            });
        }
    }
}

/// `result.stats`: what this invocation used, all models together.
/// `input_tokens` is the prompt, `cached` the part of it served from cache;
/// `total_tokens` is the API's own total, which also counts thinking.
pub(super) fn usage(stats: &Value) -> Usage {
    let n = |key: &str| stats[key].as_u64().unwrap_or(0);
    Usage {
        input_tokens: n("input_tokens"),
        output_tokens: n("output_tokens"),
        total_tokens: n("total_tokens"),
        cached_input_tokens: n("cached"),
        ..Default::default()
    }
}

/// The model the API says served the invocation (`stats.models` is keyed by
/// the responses' model version), when exactly one did; `init` names only
/// the model asked for.
fn served_model(stats: &Value) -> Option<String> {
    let served: Vec<&String> = stats["models"]
        .as_object()?
        .iter()
        .filter(|(_, m)| m["total_tokens"].as_u64().unwrap_or(0) > 0)
        .map(|(name, _)| name)
        .collect();
    match served[..] {
        [one] => Some(one.clone()),
        _ => None,
    }
}

/// What gemini appends to an API error, and only to one with HTTP status
/// 429, once its retries are spent (which one depends on the auth type).
const RATE_LIMIT_ADVICE: [&str; 2] = [
    "Please wait and try again later.",
    "Possible quota limitations in place",
];

/// A failed result's error in words, and whether it is the API's 429. An
/// API error comes as `[API Error: <the API's JSON body, or its message>]`,
/// of which the API's own message is what a person can act on, followed on
/// a line of its own by gemini's advice for a 429.
pub(super) fn api_error(error: &Value) -> (String, bool) {
    let text = error["message"].as_str().unwrap_or_default().trim();
    if text.is_empty() {
        return (
            error["type"].as_str().unwrap_or("failed").to_string(),
            false,
        );
    }
    let Some(rest) = text.strip_prefix("[API Error: ") else {
        return (text.to_string(), false);
    };
    let (inner, advice) = match rest.rfind("]\n") {
        Some(at) => (&rest[..at], rest[at + 2..].trim()),
        None => (rest.strip_suffix(']').unwrap_or(rest), ""),
    };
    let limited = RATE_LIMIT_ADVICE.iter().any(|a| advice.starts_with(a));
    let api = serde_json::from_str::<Value>(inner)
        .ok()
        .and_then(|body| body["error"]["message"].as_str().map(str::to_string))
        .filter(|m| !m.trim().is_empty());
    (api.unwrap_or_else(|| inner.to_string()), limited)
}

impl Default for GeminiParser {
    fn default() -> Self {
        GeminiParser::new(OutputDetail::Whole)
    }
}

impl StreamParser for GeminiParser {
    type Line = Option<Value>;

    fn decode(line: &[u8], _: OutputDetail) -> Option<Value> {
        serde_json::from_slice(line).ok()
    }

    fn detail(&self) -> OutputDetail {
        self.detail
    }

    /// Lines are small: the model's text comes in pieces, and no line holds
    /// more than one tool's output.
    fn parallel_decoding(&self) -> bool {
        false
    }

    fn apply(&mut self, lineno: u64, line: Option<Value>, emit: &mut dyn FnMut(Step)) {
        match line {
            Some(v) if v.is_object() => {
                self.summary.events += 1;
                self.handle(lineno, v, emit);
            }
            _ => self.summary.skipped_lines += 1,
        }
    }

    fn finish(&mut self, emit: &mut dyn FnMut(Step)) {
        self.flush_text(emit);
        self.flush_open(emit);
    }

    fn summary(&self) -> &TurnSummary {
        &self.summary
    }
}
