//! Claude's stream-json lines in order: messages, tool uses paired with their
//! results, usage counted once per response, how the turn ended.

use super::decode::{decode, Decoded, CARRY_NOTHING};
use super::limit;
use super::take;
use super::tool::{content_blocks, result_text_of, tool_step, OpenTool, ToolResult};
use crate::model::Usage;
use crate::timefmt::Timestamp;
use crate::turn::StreamParser;
use crate::turn::{Outcome, OutputDetail, Step, StepKind, TurnSummary, UsageLimit};
use serde_json::Value;

pub(crate) struct ClaudeParser {
    detail: OutputDetail,
    summary: TurnSummary,
    /// Tool uses waiting for their result, in the order they started.
    open: Vec<OpenTool>,
    /// What the responses streamed so far used. Only a turn cut short (no
    /// `result`, e.g. killed) needs it: its tokens are spent all the same, and
    /// no later `result.usage` covers them again. Input and cache counts are
    /// exact; claude prints a response's usage as of its start, so the output
    /// count is a lower bound.
    streamed: Usage,
    /// Message ids counted since the last user line: one response's blocks
    /// arrive as several lines repeating the same usage.
    counted: Vec<String>,
    /// The API's limiter refused the latest request, to lift then if known;
    /// the `result` says whether that is how the turn ended.
    refused: Option<Option<Timestamp>>,
}

impl ClaudeParser {
    fn handle(&mut self, lineno: u64, mut v: Value, emit: &mut dyn FnMut(Step)) {
        let kind = v["type"].as_str().unwrap_or("unknown").to_string();
        let subtype = v["subtype"].as_str().unwrap_or_default().to_string();
        if !(kind == "system" && subtype == "api_retry") {
            self.summary.retries_since_progress = 0;
        }
        // Every line repeats the id; a run that never started has only `result`.
        if self.summary.agent_session_id.is_none() {
            self.summary.agent_session_id = v["session_id"].as_str().map(str::to_string);
        }
        match kind.as_str() {
            "system" => self.system(lineno, &subtype, &v, emit),
            "assistant" => self.assistant(lineno, &mut v, emit),
            "user" => self.user(lineno, &mut v, emit),
            "result" => self.result(lineno, &v, emit),
            "rate_limit_event" => self.refused = limit::event_reset(&v),
            // Only their type and session id are read (see `skim`).
            k if CARRY_NOTHING.contains(&k) => {}
            _ => emit(Step {
                line: lineno,
                kind: StepKind::Other { kind, raw: v },
            }),
        }
    }

    fn system(&mut self, lineno: u64, subtype: &str, v: &Value, emit: &mut dyn FnMut(Step)) {
        match subtype {
            "init" => {
                if let Some(id) = v["session_id"].as_str() {
                    self.summary.agent_session_id = Some(id.to_string());
                }
                self.summary.model = v["model"]
                    .as_str()
                    .map(str::to_string)
                    .or(self.summary.model.take());
            }
            "api_retry" => {
                let error = v["error"].as_str().unwrap_or("unknown");
                let mut message =
                    format!("API retry {}/{}: {error}", v["attempt"], v["max_retries"]);
                // error_status is null for network errors.
                if let Some(s) = v["error_status"].as_i64() {
                    message.push_str(&format!(" (status {s})"));
                }
                self.summary.retries_since_progress += 1;
                self.summary.last_retry = Some(message.clone());
                emit(Step {
                    line: lineno,
                    kind: StepKind::Warning { message },
                });
            }
            // About 50 subtypes exist (thinking_tokens, task_*, status, ...); none is terminal.
            _ => {}
        }
    }

    fn assistant(&mut self, lineno: u64, v: &mut Value, emit: &mut dyn FnMut(Step)) {
        let parent = v["parent_tool_use_id"].as_str().map(str::to_string);
        let model = v["message"]["model"]
            .as_str()
            .filter(|m| *m != "<synthetic>");
        if self.summary.model.is_none() {
            self.summary.model = model.map(str::to_string);
        }
        if v["message"]["usage"].is_object() {
            let id = v["message"]["id"].as_str().map(str::to_string);
            if !id.as_ref().is_some_and(|id| self.counted.contains(id)) {
                self.streamed.add(&usage(&v["message"]["usage"]));
                self.counted.extend(id);
            }
        }
        let blocks = content_blocks(take(v, "/message/content"));
        // An API failure comes as a synthetic message whose text is the error.
        if !v["error"].is_null() {
            let text = blocks
                .iter()
                .filter_map(|b| b["text"].as_str())
                .collect::<Vec<_>>()
                .join("\n");
            let message = if text.is_empty() {
                format!("API error: {}", v["error"].as_str().unwrap_or("unknown"))
            } else {
                text
            };
            if let Some(reset) = limit::error_message_reset(v) {
                self.refused = Some(Some(reset));
            }
            self.summary.last_error = Some(message.clone());
            emit(Step {
                line: lineno,
                kind: StepKind::Error { message },
            });
            return;
        }
        for block in blocks {
            let step = |kind| Step { line: lineno, kind };
            let text = |b: &Value, key| b[key].as_str().unwrap_or_default().to_string();
            match block["type"].as_str().unwrap_or_default() {
                "text" => {
                    let text = text(&block, "text");
                    if text.trim().is_empty() {
                        continue;
                    }
                    // A subagent's words are the Task tool's business, not the session's.
                    if parent.is_none() {
                        self.summary.messages.push(text.clone());
                    }
                    emit(step(StepKind::Message { text }));
                }
                // Empty when the thinking display is omitted: nothing to show.
                "thinking" if text(&block, "thinking").trim().is_empty() => {}
                "thinking" => emit(step(StepKind::Reasoning {
                    text: text(&block, "thinking"),
                })),
                "redacted_thinking" => emit(step(StepKind::Reasoning {
                    text: "(redacted)".into(),
                })),
                "tool_use" | "server_tool_use" => self.open.push(OpenTool {
                    line: lineno,
                    block,
                    parent: parent.clone(),
                }),
                // Server-side tools (web_search_tool_result, ...) answer in the same message.
                t if t.ends_with("_tool_result") => {
                    self.close(
                        lineno,
                        block,
                        |block| {
                            let is_error = block["content"].get("error_code").is_some();
                            ToolResult {
                                text: result_text_of(take(block, "/content")),
                                is_error,
                                declined: false,
                                extra: Value::Null,
                            }
                        },
                        emit,
                    );
                }
                other => emit(step(StepKind::Other {
                    kind: format!("assistant:{other}"),
                    raw: block,
                })),
            }
        }
    }

    fn user(&mut self, lineno: u64, v: &mut Value, emit: &mut dyn FnMut(Step)) {
        // Mocks reuse a message id for every response; a new response follows a user line.
        self.counted.clear();
        let blocks = content_blocks(take(v, "/message/content"));
        let results = blocks.iter().filter(|b| b["type"] == "tool_result").count();
        // `tool_use_result` belongs to the line, so it is only unambiguous for one result.
        let mut extra = if results == 1 {
            take(v, "/tool_use_result")
        } else {
            Value::Null
        };
        for block in blocks {
            match block["type"].as_str().unwrap_or_default() {
                "tool_result" => {
                    let id = block["tool_use_id"].as_str().unwrap_or_default();
                    let rejected_meta = v["tool_result_meta"].as_array().is_some_and(|m| {
                        m.iter()
                            .any(|e| e["id"] == id && e["non_execution_kind"] == "user-rejected")
                    });
                    let declined = rejected_meta
                        || extra
                            .as_str()
                            .is_some_and(|s| s.starts_with("User rejected"));
                    let extra = &mut extra;
                    self.close(
                        lineno,
                        block,
                        |block| ToolResult {
                            text: result_text_of(take(block, "/content")),
                            is_error: block["is_error"].as_bool().unwrap_or(false),
                            declined,
                            extra: extra.take(),
                        },
                        emit,
                    );
                }
                // The prompt is not echoed; the only main-agent text seen is the
                // interrupt notice. Other text (a subagent's prompt) is not a step.
                "text" => {
                    let text = block["text"].as_str().unwrap_or_default();
                    if text.starts_with("[Request interrupted") {
                        emit(Step {
                            line: lineno,
                            kind: StepKind::Warning {
                                message: text.to_string(),
                            },
                        });
                    }
                }
                _ => {}
            }
        }
    }

    /// Pairs a result block with the tool use it answers. `result` reads
    /// the block only when one is open: the block is then done with, so its
    /// content may be taken rather than copied; without one the block is
    /// shown whole.
    fn close(
        &mut self,
        lineno: u64,
        mut block: Value,
        result: impl FnOnce(&mut Value) -> ToolResult,
        emit: &mut dyn FnMut(Step),
    ) {
        let id = block["tool_use_id"].as_str().unwrap_or_default();
        match self.open.iter().position(|t| t.block["id"] == id) {
            Some(i) => {
                let tool = self.open.remove(i);
                let result = result(&mut block);
                emit(Step {
                    line: tool.line,
                    kind: tool_step(tool, Some(result), self.detail),
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

    fn result(&mut self, lineno: u64, v: &Value, emit: &mut dyn FnMut(Step)) {
        // Nothing more comes for tools still open: show them where the turn ended.
        self.flush_open(emit);
        if v["usage"].is_object() {
            let reported = usage(&v["usage"]);
            // A budget stop leaves the response it stopped after out of
            // `usage` (all of it, when it was the first), which the
            // invocation's per-model figures count.
            let budget_stop = v["subtype"] == "error_max_budget_usd";
            self.summary.usage = Some(match invocation_usage(v).filter(|_| budget_stop) {
                Some(all) => all,
                None if reported.is_empty() && !self.streamed.is_empty() => self.streamed.clone(),
                None => reported,
            });
        }
        if let Some(c) = v["total_cost_usd"].as_f64() {
            self.summary.cost_usd = Some(c);
        }
        let subtype = v["subtype"].as_str().unwrap_or_default();
        let is_error = v["is_error"].as_bool().unwrap_or(subtype != "success");
        let reason = v["terminal_reason"].as_str().unwrap_or_default();
        let text = v["result"].as_str().filter(|t| !t.trim().is_empty());
        if subtype == "success" && !is_error {
            self.summary.outcome = Some(Outcome::Completed);
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
        } else if reason.starts_with("aborted") {
            // SIGINT: errors[0] is an internal diagnostic, not a message for people.
            self.summary.outcome = Some(Outcome::Interrupted(reason.to_string()));
        } else {
            // API errors put the text in `result` (subtype still "success").
            let base = v["errors"][0]
                .as_str()
                .or(text)
                .unwrap_or(if subtype.is_empty() {
                    "failed"
                } else {
                    subtype
                });
            let message = match reason {
                "max_turns" => format!("max turns reached: {base}"),
                "budget_exhausted" => format!("budget exhausted: {base}"),
                _ => base.to_string(),
            };
            self.summary.budget_exhausted =
                reason == "budget_exhausted" || subtype == "error_max_budget_usd";
            // The synthetic API-error message already said it.
            if self.summary.last_error.as_deref() != Some(base) {
                emit(Step {
                    line: lineno,
                    kind: StepKind::Error {
                        message: message.clone(),
                    },
                });
            }
            if limit::is_limit_result(v) {
                self.summary.usage_limit = Some(UsageLimit {
                    resets_at: self.refused.flatten(),
                    ..UsageLimit::new(message.clone())
                });
            }
            self.summary.last_error = Some(message.clone());
            self.summary.outcome = Some(Outcome::Failed(message));
        }
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

pub(super) fn usage(u: &Value) -> Usage {
    let n = |v: &Value| v.as_u64().unwrap_or(0);
    let (input, output) = (n(&u["input_tokens"]), n(&u["output_tokens"]));
    let (read, write) = (
        n(&u["cache_read_input_tokens"]),
        n(&u["cache_creation_input_tokens"]),
    );
    Usage {
        input_tokens: input,
        output_tokens: output,
        // input_tokens excludes cache reads and writes, so all four add up.
        total_tokens: input + read + write + output,
        cache_read_input_tokens: read,
        cache_creation_input_tokens: write,
        // Thinking is part of output_tokens, like codex's reasoning tokens.
        reasoning_output_tokens: n(&u["output_tokens_details"]["thinking_tokens"]),
        ..Default::default()
    }
}

/// The sum of a result's `model_usage_since_last_result`: what this
/// invocation used, model by model, every response counted.
fn invocation_usage(v: &Value) -> Option<Usage> {
    let models = v["model_usage_since_last_result"].as_object()?;
    let mut sum = Usage::default();
    for m in models.values() {
        let n = |key: &str| m[key].as_u64().unwrap_or(0);
        let (input, output) = (n("inputTokens"), n("outputTokens"));
        let (read, write) = (n("cacheReadInputTokens"), n("cacheCreationInputTokens"));
        sum.add(&Usage {
            input_tokens: input,
            output_tokens: output,
            total_tokens: input + read + write + output,
            cache_read_input_tokens: read,
            cache_creation_input_tokens: write,
            reasoning_output_tokens: n("thinkingTokens"),
            ..Default::default()
        });
    }
    (!sum.is_empty()).then_some(sum)
}

impl ClaudeParser {
    pub(crate) fn new(detail: OutputDetail) -> Self {
        ClaudeParser {
            detail,
            summary: TurnSummary::default(),
            open: Vec::new(),
            streamed: Usage::default(),
            counted: Vec::new(),
            refused: None,
        }
    }
}

impl Default for ClaudeParser {
    fn default() -> Self {
        ClaudeParser::new(OutputDetail::Whole)
    }
}

impl StreamParser for ClaudeParser {
    type Line = Decoded;

    fn decode(line: &[u8], detail: OutputDetail) -> Decoded {
        decode(line, detail)
    }

    fn detail(&self) -> OutputDetail {
        self.detail
    }

    /// The lines that matter decode to their whole JSON tree, built on a
    /// worker and freed here. With glibc's allocator that made two threads
    /// slower than one (the usual 100 MiB turn 412 against 291 ms); with
    /// mimalloc, which frees across threads without a lock, two gain on
    /// every shape (usual turn 232 -> 205 ms, partial messages 218 -> 182,
    /// tiny lines 161 -> 89, interleaved runs).
    fn parallel_decoding(&self) -> bool {
        true
    }

    fn apply(&mut self, lineno: u64, line: Decoded, emit: &mut dyn FnMut(Step)) {
        match line {
            Decoded::Whole(v) => {
                self.summary.events += 1;
                self.handle(lineno, v, emit);
            }
            // What `handle` does with such a line.
            Decoded::Skimmed { session_id } => {
                self.summary.events += 1;
                self.summary.retries_since_progress = 0;
                if self.summary.agent_session_id.is_none() {
                    self.summary.agent_session_id = session_id;
                }
            }
            Decoded::Invalid => self.summary.skipped_lines += 1,
        }
    }

    fn finish(&mut self, emit: &mut dyn FnMut(Step)) {
        self.flush_open(emit);
        if self.summary.usage.is_none() && !self.streamed.is_empty() {
            self.summary.usage = Some(self.streamed.clone());
        }
    }

    fn summary(&self) -> &TurnSummary {
        &self.summary
    }
}
