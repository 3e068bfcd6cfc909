//! Qwen's stream-json lines in order: messages, tool uses paired with their
//! results, the session's usage, how the turn ended. The lines are claude's
//! shapes, so its readers of message content are reused; what qwen says
//! differently (tool names, usage, API errors, `goal_state`) is read here.
//! Usage is counted per response, from the assistant lines.

use super::tool::{tool_step, OpenTool};
use crate::agent::claude::take;
use crate::agent::claude::tool::{content_blocks, result_text};
use crate::model::Usage;
use crate::turn::{Outcome, OutputDetail, Step, StepKind, StreamParser, TurnSummary};
use serde_json::Value;

/// What an API failure's assistant text looks like: `[API Error: 400 ...]`.
const API_ERROR_PREFIX: &str = "[API Error";

pub(crate) struct QwenParser {
    detail: OutputDetail,
    summary: TurnSummary,
    /// Tool uses waiting for their result, in the order they started.
    open: Vec<OpenTool>,
    /// What this invocation's responses used: each response's usage is on
    /// its last assistant line (the lines before it, when a response is
    /// split by block type, carry zeros).
    used: Usage,
    /// Whether any line carried usage.
    metered: bool,
}

impl QwenParser {
    pub(crate) fn new(detail: OutputDetail) -> Self {
        QwenParser {
            detail,
            summary: TurnSummary::default(),
            open: Vec::new(),
            used: Usage::default(),
            metered: false,
        }
    }

    fn handle(&mut self, lineno: u64, mut v: Value, emit: &mut dyn FnMut(Step)) {
        let kind = v["type"].as_str().unwrap_or("unknown").to_string();
        if self.summary.agent_session_id.is_none() {
            self.summary.agent_session_id = v["session_id"].as_str().map(str::to_string);
        }
        match kind.as_str() {
            "system" if v["subtype"] == "init" => {
                if let Some(id) = v["session_id"].as_str() {
                    self.summary.agent_session_id = Some(id.to_string());
                }
                if let Some(m) = v["model"].as_str() {
                    self.summary.model = Some(m.to_string());
                }
            }
            "assistant" => self.assistant(lineno, &mut v, emit),
            "user" => self.user(lineno, &mut v, emit),
            "result" => self.result(lineno, &v, emit),
            "stream_event" => self.stream_event(lineno, &mut v, emit),
            _ => emit(Step {
                line: lineno,
                kind: StepKind::Other { kind, raw: v },
            }),
        }
    }

    /// Partial messages (`--include-partial-messages`) are followed by the
    /// whole message anyway; an idle `goal_state` with no goal says nothing.
    /// Anything else is kept.
    fn stream_event(&mut self, lineno: u64, v: &mut Value, emit: &mut dyn FnMut(Step)) {
        let event = take(v, "/event");
        let kind = event["type"].as_str().unwrap_or_default();
        let partial = kind.starts_with("message_") || kind.starts_with("content_block_");
        let idle_goal = kind == "goal_state" && event["goal_state"]["goal"].is_null();
        if !partial && !idle_goal {
            emit(Step {
                line: lineno,
                kind: StepKind::Other {
                    kind: format!("stream_event:{kind}"),
                    raw: event,
                },
            });
        }
    }

    fn assistant(&mut self, lineno: u64, v: &mut Value, emit: &mut dyn FnMut(Step)) {
        let parent = v["parent_tool_use_id"].as_str().map(str::to_string);
        if self.summary.model.is_none() {
            self.summary.model = v["message"]["model"].as_str().map(str::to_string);
        }
        if v["message"]["usage"].is_object() {
            self.used.add(&usage(&v["message"]["usage"]));
            self.metered = true;
            self.summary.usage = Some(self.used.clone());
        }
        for block in content_blocks(take(v, "/message/content")) {
            let step = |kind| Step { line: lineno, kind };
            let text = |b: &Value, key| b[key].as_str().unwrap_or_default().to_string();
            match block["type"].as_str().unwrap_or_default() {
                "text" => {
                    let text = text(&block, "text");
                    if text.trim().is_empty() {
                        continue;
                    }
                    // An API failure is told as the model's text; the result
                    // that follows carries the same words as its error.
                    if parent.is_none() && text.starts_with(API_ERROR_PREFIX) {
                        self.summary.last_error = Some(text.clone());
                        emit(step(StepKind::Error { message: text }));
                        continue;
                    }
                    if parent.is_none() {
                        self.summary.messages.push(text.clone());
                    }
                    emit(step(StepKind::Message { text }));
                }
                "thinking" if text(&block, "thinking").trim().is_empty() => {}
                "thinking" => emit(step(StepKind::Reasoning {
                    text: text(&block, "thinking"),
                })),
                "tool_use" => self.open.push(OpenTool {
                    line: lineno,
                    block,
                    parent: parent.clone(),
                }),
                other => emit(step(StepKind::Other {
                    kind: format!("assistant:{other}"),
                    raw: block,
                })),
            }
        }
    }

    fn user(&mut self, lineno: u64, v: &mut Value, emit: &mut dyn FnMut(Step)) {
        for block in content_blocks(take(v, "/message/content")) {
            if block["type"] != "tool_result" {
                // The prompt is not echoed: any other content is kept.
                emit(Step {
                    line: lineno,
                    kind: StepKind::Other {
                        kind: format!("user:{}", block["type"].as_str().unwrap_or_default()),
                        raw: block,
                    },
                });
                continue;
            }
            let id = block["tool_use_id"].as_str().unwrap_or_default();
            match self.open.iter().position(|t| t.block["id"] == id) {
                Some(i) => {
                    let tool = self.open.remove(i);
                    let text = result_text(&block["content"]);
                    let is_error = block["is_error"].as_bool().unwrap_or(false);
                    emit(Step {
                        line: tool.line,
                        kind: tool_step(tool, Some((text, is_error)), self.detail),
                    });
                }
                None => emit(Step {
                    line: lineno,
                    kind: StepKind::Other {
                        kind: "tool_result".into(),
                        raw: block,
                    },
                }),
            }
        }
    }

    fn result(&mut self, lineno: u64, v: &Value, emit: &mut dyn FnMut(Step)) {
        self.flush_open(emit);
        // `result.usage` is the running total of the session's saved
        // history, which after a kill may or may not hold the killed turn's
        // responses: the turn's own usage is the sum of its responses.
        if v["usage"].is_object() || self.metered {
            self.summary.usage = Some(self.used.clone());
        }
        let failed = v["is_error"].as_bool().unwrap_or(v["subtype"] != "success");
        if !failed {
            self.summary.outcome = Some(Outcome::Completed);
            let text = v["result"].as_str().filter(|t| !t.trim().is_empty());
            if let Some(t) =
                text.filter(|t| self.summary.messages.last().map(String::as_str) != Some(*t))
            {
                self.summary.messages.push(t.to_string());
                emit(Step {
                    line: lineno,
                    kind: StepKind::Message {
                        text: t.to_string(),
                    },
                });
            }
            return;
        }
        let message = v["error"]["message"]
            .as_str()
            .or(v["subtype"].as_str())
            .unwrap_or("failed")
            .to_string();
        if self.summary.last_error.as_deref() != Some(message.as_str()) {
            emit(Step {
                line: lineno,
                kind: StepKind::Error {
                    message: message.clone(),
                },
            });
        }
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

/// Qwen's usage, from an OpenAI-compatible API: `input_tokens` counts the
/// cached part too (`cache_read_input_tokens`), as codex's does.
pub(crate) fn usage(u: &Value) -> Usage {
    let n = |v: &Value| v.as_u64().unwrap_or(0);
    let (input, output) = (n(&u["input_tokens"]), n(&u["output_tokens"]));
    Usage {
        input_tokens: input,
        output_tokens: output,
        total_tokens: u["total_tokens"].as_u64().unwrap_or(input + output),
        cached_input_tokens: n(&u["cache_read_input_tokens"]),
        ..Default::default()
    }
}

impl Default for QwenParser {
    fn default() -> Self {
        QwenParser::new(OutputDetail::Whole)
    }
}

impl StreamParser for QwenParser {
    type Line = Option<Value>;

    fn decode(line: &[u8], _: OutputDetail) -> Option<Value> {
        serde_json::from_slice(line).ok()
    }

    fn detail(&self) -> OutputDetail {
        self.detail
    }

    /// Like claude's, a line decodes to its whole JSON tree: one thread.
    fn parallel_decoding(&self) -> bool {
        false
    }

    fn apply(&mut self, lineno: u64, line: Option<Value>, emit: &mut dyn FnMut(Step)) {
        match line {
            Some(v) => {
                self.summary.events += 1;
                self.handle(lineno, v, emit);
            }
            None => self.summary.skipped_lines += 1,
        }
    }

    fn finish(&mut self, emit: &mut dyn FnMut(Step)) {
        self.flush_open(emit);
    }

    fn summary(&self) -> &TurnSummary {
        &self.summary
    }
}
