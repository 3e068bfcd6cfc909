//! Claude Code (`claude -p --output-format stream-json --verbose`): argv for
//! first and resumed turns, and its message stream (system, assistant, user,
//! result, stream_event).

use super::{Agent, AgentKind, Decoder, StreamParser, TurnSpec};
use crate::session::model::{TurnRecord, Usage};
use crate::trajectory::{
    FileChange, ItemStatus, Outcome, Output, OutputDetail, PlanItem, Step, StepKind, TurnSummary,
};
use serde_json::Value;
use std::ffi::OsString;

pub struct Claude;

impl Agent for Claude {
    fn kind(&self) -> AgentKind {
        AgentKind::Claude
    }
    fn program(&self) -> &'static str {
        "claude"
    }
    fn bin_env(&self) -> &'static str {
        "ZWARM_CLAUDE_BIN"
    }
    fn args(&self, spec: &TurnSpec) -> Vec<OsString> {
        // stream-json in print mode is refused without --verbose.
        let mut a: Vec<OsString> = ["-p", "--output-format", "stream-json", "--verbose"]
            .map(OsString::from)
            .to_vec();
        if let Some(m) = spec.model.filter(|m| !m.is_empty()) {
            a.extend(["--model".into(), m.into()]);
        }
        // Nobody can answer a permission prompt in a detached run. zwarm's
        // sandbox words map onto claude's permission modes; without one, tools
        // are allowed, as zwarm 2.3.5 ran it.
        let mode = match spec.sandbox {
            Some("read-only") => "plan",
            Some("workspace-write") => "acceptEdits",
            _ => "bypassPermissions",
        };
        a.extend(["--permission-mode".into(), mode.into()]);
        // Pinning the id on a first turn means zwarm knows it before any output.
        match spec.resume {
            Some(id) => a.extend(["--resume".into(), id.into()]),
            None => a.extend(["--session-id".into(), spec.session_id.into()]),
        }
        // Variadic flags (--mcp-config, --allowedTools, ...) would swallow a bare prompt.
        a.extend(["--".into(), spec.prompt.into()]);
        a
    }
    fn parser(&self, detail: OutputDetail) -> Box<dyn StreamParser> {
        Box::new(ClaudeParser {
            detail,
            ..Default::default()
        })
    }
    /// `result.usage` covers one invocation, which is one turn.
    fn turn_usage(&self, reported: &Usage, _s: Option<&str>, _earlier: &[TurnRecord]) -> Usage {
        reported.clone()
    }
    /// `total_cost_usd` is cumulative for the claude session, so the latest
    /// report is the session's cost. It never shrinks, but a turn that failed
    /// to start (resume not found) reports 0, which must not wipe the total.
    fn session_cost(&self, reported: Option<f64>, earlier: &[TurnRecord]) -> Option<f64> {
        let before = earlier.iter().rev().find_map(|t| t.reported_cost_usd);
        match (reported, before) {
            (Some(r), Some(b)) => Some(r.max(b)),
            (r, b) => r.or(b),
        }
    }
}

pub struct ClaudeParser {
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
}

/// A `tool_use` block (`id`, `name`, `input`) and where it came from.
struct OpenTool {
    line: u64,
    block: Value,
    parent: Option<String>,
}

/// A tool_result block with what its line says about it.
struct ToolResult {
    text: String,
    is_error: bool,
    declined: bool,
    /// The line's `tool_use_result` (tool-specific structure, or a string).
    extra: Value,
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
            // Partial messages: the complete assistant lines follow anyway.
            "stream_event" => {}
            // Known to exist in 2.1.330, carry nothing a trajectory needs.
            "rate_limit_event" | "tool_progress" | "auth_status" | "tool_use_summary"
            | "prompt_suggestion" | "keep_alive" | "control_request" | "control_response" => {}
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
                    let (text, is_error) = (
                        result_text(&block["content"]),
                        block["content"].get("error_code").is_some(),
                    );
                    self.close(
                        lineno,
                        block,
                        ToolResult {
                            text,
                            is_error,
                            declined: false,
                            extra: Value::Null,
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
                    let result = ToolResult {
                        text: result_text(&block["content"]),
                        is_error: block["is_error"].as_bool().unwrap_or(false),
                        declined: rejected_meta
                            || extra
                                .as_str()
                                .is_some_and(|s| s.starts_with("User rejected")),
                        extra: extra.take(),
                    };
                    self.close(lineno, block, result, emit);
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

    fn close(&mut self, lineno: u64, block: Value, result: ToolResult, emit: &mut dyn FnMut(Step)) {
        let id = block["tool_use_id"].as_str().unwrap_or_default();
        match self.open.iter().position(|t| t.block["id"] == id) {
            Some(i) => {
                let tool = self.open.remove(i);
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
            // A budget stop reports zero usage for the response it paid for.
            self.summary.usage = Some(if reported.is_empty() && !self.streamed.is_empty() {
                self.streamed.clone()
            } else {
                reported
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
            // The synthetic API-error message already said it.
            if self.summary.last_error.as_deref() != Some(base) {
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

/// Moves a value out without `IndexMut`, which panics on non-objects.
fn take(v: &mut Value, pointer: &str) -> Value {
    v.pointer_mut(pointer).map(Value::take).unwrap_or_default()
}

/// Message content is an array of blocks, or a bare string for plain text.
fn content_blocks(content: Value) -> Vec<Value> {
    match content {
        Value::Array(blocks) => blocks,
        Value::String(text) => vec![serde_json::json!({"type": "text", "text": text})],
        _ => Vec::new(),
    }
}

/// A tool_result's content: a string, or blocks of which only text is readable.
fn result_text(content: &Value) -> String {
    match content {
        Value::String(s) => s.clone(),
        Value::Array(blocks) => {
            let text = |b: &Value| b["text"].as_str().map(str::to_string);
            let texts: Vec<String> = blocks
                .iter()
                .map(|b| {
                    text(b)
                        .unwrap_or_else(|| format!("[{}]", b["type"].as_str().unwrap_or("block")))
                })
                .collect();
            texts.join("\n")
        }
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// A tool use with its result; without one (the turn ended first) it is in progress.
fn tool_step(mut tool: OpenTool, result: Option<ToolResult>, detail: OutputDetail) -> StepKind {
    let status = match &result {
        None => ItemStatus::InProgress,
        Some(r) if r.declined => ItemStatus::Declined,
        Some(r) if r.is_error => ItemStatus::Failed,
        Some(_) => ItemStatus::Completed,
    };
    let input = take(&mut tool.block, "/input");
    let str_of = |key: &str| input[key].as_str().unwrap_or_default().to_string();
    match tool.block["name"].as_str().unwrap_or_default() {
        "Bash" => {
            let (output, exit_code) = result.map(bash_output).unwrap_or_default();
            StepKind::Command {
                command: str_of("command"),
                output: Output::new(output.into(), detail),
                exit_code,
                status,
            }
        }
        "Write" | "Edit" | "MultiEdit" | "NotebookEdit" => {
            let path = input["file_path"]
                .as_str()
                .or(input["notebook_path"].as_str())
                .unwrap_or_default();
            let kind = result
                .as_ref()
                .and_then(|r| r.extra["type"].as_str())
                .unwrap_or("update");
            StepKind::FileChange {
                changes: vec![FileChange {
                    path: path.into(),
                    kind: kind.into(),
                }],
                status,
            }
        }
        "WebSearch" | "web_search" => StepKind::WebSearch {
            query: str_of("query"),
            status,
        },
        "TodoWrite" => {
            let todos = input["todos"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or_default();
            let text = |t: &Value, key, default| t[key].as_str().unwrap_or(default).to_string();
            let item = |t| PlanItem {
                text: text(t, "content", ""),
                status: text(t, "status", "pending"),
            };
            StepKind::Plan {
                items: todos.iter().map(item).collect(),
            }
        }
        name => {
            let (server, tool_name) =
                match name.strip_prefix("mcp__").and_then(|r| r.split_once("__")) {
                    Some((server, t)) => (Some(server.to_string()), t.to_string()),
                    None => (None, name.to_string()),
                };
            let (result, error) = match result {
                Some(r) if r.is_error || r.declined => (None, Some(r.text)),
                Some(r) => (Some(r.text), None),
                None => (None, None),
            };
            let parent = tool.parent;
            StepKind::ToolCall {
                server,
                tool: tool_name,
                arguments: input,
                result,
                error,
                status,
                parent,
            }
        }
    }
}

/// Claude reports no exit code: success means 0, a failure's text starts
/// "Exit code N" (137 when killed), and a rejected call never ran.
fn bash_output(r: ToolResult) -> (String, Option<i64>) {
    if r.declined {
        return (r.text, None);
    }
    let streams = ["stdout", "stderr"].map(|k| r.extra[k].as_str());
    let structured = (r.extra.is_object() && streams.iter().any(Option::is_some)).then(|| {
        let parts: Vec<&str> = streams
            .into_iter()
            .flatten()
            .filter(|s| !s.is_empty())
            .collect();
        parts.join("\n")
    });
    if !r.is_error {
        return (structured.unwrap_or(r.text), Some(0));
    }
    let (first, rest) = r.text.split_once('\n').unwrap_or((r.text.as_str(), ""));
    match first
        .strip_prefix("Exit code ")
        .and_then(|n| n.trim().parse().ok())
    {
        // The code has its own field; the rest is what the command printed.
        Some(code) => (structured.unwrap_or_else(|| rest.to_string()), Some(code)),
        None => (structured.unwrap_or(r.text), None),
    }
}

fn usage(u: &Value) -> Usage {
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

/// A decoded line (see [`super::StreamParser::decoder`]): its JSON, if it
/// is JSON.
pub type Decoded = Option<Value>;

impl Default for ClaudeParser {
    fn default() -> Self {
        ClaudeParser {
            detail: OutputDetail::Whole,
            summary: TurnSummary::default(),
            open: Vec::new(),
            streamed: Usage::default(),
            counted: Vec::new(),
        }
    }
}

fn decode(line: &[u8], _: OutputDetail) -> super::Decoded {
    super::Decoded::Claude(serde_json::from_slice(line).ok())
}

impl StreamParser for ClaudeParser {
    fn decoder(&self) -> Decoder {
        Decoder::new(decode, self.detail)
    }

    /// A claude line decodes to its whole JSON tree: on two threads a
    /// 100 MiB turn took 405 ms and 21.6 MiB, on one 264 ms and 6.9 MiB.
    fn parallel_decoding(&self) -> bool {
        false
    }

    fn apply(&mut self, lineno: u64, line: super::Decoded, emit: &mut dyn FnMut(Step)) {
        match line {
            super::Decoded::Claude(Some(v)) => {
                self.summary.events += 1;
                self.handle(lineno, v, emit);
            }
            _ => self.summary.skipped_lines += 1,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trajectory::read_turn;
    use serde_json::json;
    use std::path::Path;
    use ItemStatus::*;

    const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/transcripts/");
    const HELLO: &str = "echo hello-from-claude-mock";
    const DONE: &str = "All done: claude mock says hi.";

    fn run_path(path: &Path) -> (Vec<Step>, TurnSummary) {
        assert!(path.is_file(), "missing transcript {}", path.display());
        let (mut p, mut steps) = (ClaudeParser::default(), Vec::new());
        read_turn(path, &mut p, true, &mut |s| steps.push(s)).unwrap();
        (steps, p.summary().clone())
    }
    fn run(name: &str) -> (Vec<Step>, TurnSummary) {
        run_path(&Path::new(DIR).join(name))
    }
    fn run_bytes(bytes: &[u8]) -> (Vec<Step>, TurnSummary) {
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), bytes).unwrap();
        run_path(file.path())
    }

    fn st(line: u64, kind: StepKind) -> Step {
        Step { line, kind }
    }
    fn cmd(
        line: u64,
        command: &str,
        output: &str,
        exit_code: Option<i64>,
        status: ItemStatus,
    ) -> Step {
        st(
            line,
            StepKind::Command {
                command: command.into(),
                output: output.into(),
                exit_code,
                status,
            },
        )
    }
    fn msg(line: u64, text: &str) -> Step {
        st(line, StepKind::Message { text: text.into() })
    }
    fn err(line: u64, message: &str) -> Step {
        st(
            line,
            StepKind::Error {
                message: message.into(),
            },
        )
    }
    fn call(
        line: u64,
        tool: &str,
        arguments: Value,
        result: Result<&str, &str>,
        parent: Option<&str>,
    ) -> Step {
        let (server, tool) = match tool.split_once('/') {
            Some((s, t)) => (Some(s.to_string()), t.to_string()),
            None => (None, tool.to_string()),
        };
        let status = if result.is_ok() { Completed } else { Failed };
        let (result, error) = (
            result.ok().map(str::to_string),
            result.err().map(str::to_string),
        );
        let parent = parent.map(str::to_string);
        st(
            line,
            StepKind::ToolCall {
                server,
                tool,
                arguments,
                result,
                error,
                status,
                parent,
            },
        )
    }
    fn usage(input: u64, write: u64, read: u64, output: u64) -> Option<Usage> {
        let (input_tokens, output_tokens, total_tokens) =
            (input, output, input + write + read + output);
        let (cache_creation_input_tokens, cache_read_input_tokens) = (write, read);
        let u = Usage {
            input_tokens,
            output_tokens,
            total_tokens,
            cache_creation_input_tokens,
            cache_read_input_tokens,
            ..Default::default()
        };
        Some(u)
    }

    #[test]
    fn completed_runs() {
        let hello = || {
            vec![
                cmd(2, HELLO, "hello-from-claude-mock", Some(0), Completed),
                msg(4, DONE),
            ]
        };
        let (steps, s) = run("claude_first_turn.jsonl");
        assert_eq!(steps, hello());
        assert_eq!(
            s.agent_session_id.as_deref(),
            Some("172a5050-90bc-4c0c-bb9a-1cf25846f716")
        );
        assert_eq!(s.model.as_deref(), Some("claude-opus-5-5"));
        assert_eq!(
            (s.outcome, s.usage, s.cost_usd),
            (
                Some(Outcome::Completed),
                usage(100, 0, 0, 18),
                Some(0.00076)
            )
        );
        assert_eq!(
            (s.messages, s.events, s.skipped_lines, s.last_error),
            (vec![DONE.to_string()], 5, 0, None)
        );
        for (file, cost) in [
            ("claude_resume.jsonl", 0.00114),
            ("claude_resume_2.jsonl", 0.00152),
        ] {
            let (steps, s) = run(file);
            assert_eq!(steps, [msg(2, DONE)]);
            assert_eq!(
                s.agent_session_id.as_deref(),
                Some("172a5050-90bc-4c0c-bb9a-1cf25846f716")
            );
            assert_eq!(
                (s.usage, s.cost_usd, s.messages.len()),
                (usage(50, 0, 0, 9), Some(cost), 1)
            );
        }
        for (file, id, cost) in [
            (
                "claude_pinned_session_id.jsonl",
                "fdd55d43-4e52-47c4-ace7-fd342f317a19",
                0.0008128,
            ),
            (
                "claude_fork_session.jsonl",
                "e9a1ac00-4a71-4f48-adb6-8b674b696c43",
                0.0016256,
            ),
        ] {
            let (steps, s) = run(file);
            assert_eq!(
                (steps, s.agent_session_id.as_deref(), s.cost_usd),
                (hello(), Some(id), Some(cost))
            );
        }
        // stream_event and system/status lines add nothing but the event count.
        let (steps, s) = run("claude_partial_messages.jsonl");
        assert_eq!(
            steps,
            [
                cmd(6, HELLO, "hello-from-claude-mock", Some(0), Completed),
                msg(15, DONE)
            ]
        );
        assert_eq!((s.events, s.skipped_lines, s.messages.len()), (19, 0, 1));
        assert_eq!(
            (s.outcome, s.usage),
            (Some(Outcome::Completed), usage(100, 10, 14, 18))
        );
    }

    #[test]
    fn rich_and_mcp_runs() {
        let (steps, s) = run("claude_rich.jsonl");
        let missing = "ls: cannot access '/nonexistent_dir_xyz': No such file or directory";
        let change = FileChange {
            path: "/home/dev/project/hello.txt".into(),
            kind: "create".into(),
        };
        assert_eq!(
            steps,
            [
                st(
                    3,
                    StepKind::Reasoning {
                        text: "I should list a missing dir first.".into()
                    }
                ),
                msg(4, "Let me look around."),
                cmd(5, "ls /nonexistent_dir_xyz", missing, Some(2), Failed),
                st(
                    7,
                    StepKind::FileChange {
                        changes: vec![change],
                        status: Completed
                    }
                ),
                cmd(9, "echo ok-$((6*7))", "ok-42", Some(0), Completed),
                msg(11, "Done: wrote hello.txt."),
            ]
        );
        assert_eq!(
            s.messages,
            ["Let me look around.", "Done: wrote hello.txt."]
        );
        // The result's figures, not six copies of the per-message usage.
        assert_eq!(
            (s.usage, s.cost_usd, s.events),
            (usage(200, 20, 28, 36), Some(0.0016256), 12)
        );

        let (steps, s) = run("claude_mcp.jsonl");
        let StepKind::ToolCall {
            error: Some(boom), ..
        } = &steps[1].kind
        else {
            panic!("{:?}", steps[1])
        };
        assert!(
            boom.starts_with("boom failed\n\nThis tool's input schema"),
            "{boom}"
        );
        let missing =
            "File does not exist. Note: your current working directory is /home/dev/project.";
        assert_eq!(
            steps,
            [
                call(
                    2,
                    "echo/echo",
                    json!({"text": "hi mcp"}),
                    Ok(r#"{"echoed":"hi mcp"}"#),
                    None
                ),
                call(4, "echo/boom", json!({}), Err(boom), None),
                call(
                    6,
                    "Read",
                    json!({"file_path": "/home/dev/project/nope.txt"}),
                    Err(missing),
                    None
                ),
                msg(8, "mcp done"),
            ]
        );
        assert_eq!((s.outcome, s.last_error), (Some(Outcome::Completed), None));
    }

    #[test]
    fn failed_runs() {
        let retries = |n: u64, what: &str| -> Vec<Step> {
            let warn = |i: u64| StepKind::Warning {
                message: format!("API retry {i}/{n}: {what}"),
            };
            (1..=n).map(|i| st(i + 1, warn(i))).collect()
        };
        let e500 = "API Error: 500 mock: internal. This is a server-side issue, usually temporary — try again in a \
                    moment. If it persists, check your inference gateway (127.0.0.1:18789).";
        let refused =
            "API Error: Connection refused — a firewall or proxy may be blocking it (ECONNREFUSED)";
        let cases = [
            (
                "claude_error_max_turns.jsonl",
                vec![
                    cmd(2, HELLO, "hello-from-claude-mock", Some(0), Completed),
                    err(4, "max turns reached: Reached maximum number of turns (1)"),
                ],
            ),
            // The tool never ran: it stays in progress, shown where the turn ended.
            (
                "claude_error_max_budget.jsonl",
                vec![
                    cmd(2, HELLO, "", None, InProgress),
                    err(3, "budget exhausted: Reached maximum budget ($0.0001)"),
                ],
            ),
            // subtype "success", yet is_error: one Error step, not two.
            (
                "claude_api_error_400.jsonl",
                vec![err(2, "API Error: 400 mock: prompt is invalid")],
            ),
            (
                "claude_api_error_401_retries.jsonl",
                [
                    retries(10, "authentication_failed (status 401)"),
                    vec![err(12, "Invalid API key · Fix external API key")],
                ]
                .concat(),
            ),
            (
                "claude_api_error_500_retries.jsonl",
                [retries(2, "server_error (status 500)"), vec![err(4, e500)]].concat(),
            ),
            (
                "claude_connection_refused.jsonl",
                [retries(1, "unknown"), vec![err(3, refused)]].concat(),
            ),
            (
                "claude_resume_not_found.jsonl",
                vec![err(
                    1,
                    "No conversation found with session ID: 11111111-2222-3333-4444-555555555555",
                )],
            ),
        ];
        for (file, expected) in cases {
            let (steps, s) = run(file);
            assert_eq!(steps, expected, "{file}");
            let StepKind::Error { message } = &expected.last().unwrap().kind else {
                unreachable!()
            };
            assert_eq!(s.outcome, Some(Outcome::Failed(message.clone())), "{file}");
            assert_eq!(s.last_error.as_ref(), Some(message), "{file}");
            assert!(
                s.messages.is_empty() && s.retries_since_progress == 0,
                "{file}"
            );
            // Failed requests and a missed resume used nothing; the limits
            // stopped the turn after one answered request, which the budget
            // stop's result leaves out of its (zero) usage.
            let used = match file {
                "claude_error_max_turns.jsonl" | "claude_error_max_budget.jsonl" => {
                    usage(50, 5, 7, 9)
                }
                _ => usage(0, 0, 0, 0),
            };
            assert_eq!(s.usage, used, "{file}");
        }
        let (_, s) = run("claude_api_error_401_retries.jsonl");
        assert_eq!(
            s.last_retry.as_deref(),
            Some("API retry 10/10: authentication_failed (status 401)")
        );
        let (_, s) = run("claude_resume_not_found.jsonl");
        let id = Some("11111111-2222-3333-4444-555555555555");
        assert_eq!(
            (s.agent_session_id.as_deref(), s.model, s.cost_usd),
            (id, None, Some(0.0))
        );
    }

    #[test]
    fn signals() {
        let (steps, s) = run("claude_sigint.jsonl");
        let lp = "for i in $(seq 1 60); do echo tick $i; sleep 1; done";
        let StepKind::Command { output, .. } = &steps[0].kind else {
            panic!("{steps:?}")
        };
        let output = output.whole().unwrap().to_str();
        assert!(output.starts_with("The user doesn't want to proceed"));
        let notice = StepKind::Warning {
            message: "[Request interrupted by user for tool use]".into(),
        };
        assert_eq!(steps, [cmd(2, lp, &output, None, Declined), st(6, notice)]);
        assert_eq!(
            (s.outcome, s.last_error),
            (Some(Outcome::Interrupted("aborted_tools".into())), None)
        );
        assert_eq!(s.usage, usage(50, 5, 7, 9));

        let (steps, s) = run("claude_sigterm.jsonl");
        assert_eq!(
            steps,
            [cmd(
                2,
                lp,
                "tick 1\ntick 2\ntick 3\ntick 4",
                Some(137),
                Failed
            )]
        );
        // No result line, but the one response it streamed was paid for.
        assert_eq!(
            (s.outcome, s.usage, s.cost_usd, s.events),
            (None, usage(50, 5, 7, 9), None, 5)
        );
    }

    #[test]
    fn usage_of_a_turn_cut_short_is_what_its_responses_streamed() {
        for entry in std::fs::read_dir(DIR).unwrap().flatten() {
            let name = entry.file_name().into_string().unwrap();
            if !name.starts_with("claude_") {
                continue;
            }
            let text = std::fs::read_to_string(entry.path()).unwrap();
            let (_, whole) = run(&name);
            let cut: String = text
                .lines()
                .filter(|l| serde_json::from_str::<Value>(l).unwrap()["type"] != "result")
                .map(|l| format!("{l}\n"))
                .collect();
            let (_, s) = run_bytes(cut.as_bytes());
            // Split blocks repeat their response's usage and the mocks reuse
            // message ids across responses: the sum must still match claude's.
            let expected = whole.usage.filter(|u| !u.is_empty());
            assert_eq!(s.usage, expected, "{name}");
        }
    }

    #[test]
    fn subagents_plans_edits_and_open_tools() {
        let lines = [
            r#"{"type":"assistant","message":{"content":[{"type":"tool_use","id":"t1","name":"Task","input":{"prompt":"look"}}]}}"#,
            r#"{"type":"user","parent_tool_use_id":"t1","message":{"content":[{"type":"text","text":"look"}]}}"#,
            r#"{"type":"assistant","parent_tool_use_id":"t1","message":{"content":[{"type":"tool_use","id":"t2","name":"Grep","input":{"pattern":"x"}}]}}"#,
            r#"{"type":"user","parent_tool_use_id":"t1","message":{"content":[{"type":"tool_result","tool_use_id":"t2","content":[{"type":"text","text":"a.rs"},{"type":"image"}]}]}}"#,
            r#"{"type":"assistant","parent_tool_use_id":"t1","message":{"content":[{"type":"text","text":"found a.rs"},{"type":"redacted_thinking","data":"zz"},{"type":"thinking","thinking":""}]}}"#,
            r#"{"type":"user","message":{"content":[{"type":"tool_result","tool_use_id":"t1","content":"a.rs has it"}]}}"#,
            r#"{"type":"assistant","message":{"content":[{"type":"tool_use","id":"t3","name":"TodoWrite","input":{"todos":[{"content":"fix","status":"in_progress"}]}}]}}"#,
            r#"{"type":"assistant","message":{"content":[{"type":"tool_use","id":"t4","name":"MultiEdit","input":{"file_path":"a.rs"}}]}}"#,
            r#"{"type":"assistant","message":{"content":[{"type":"tool_use","id":"t5","name":"WebSearch","input":{"query":"q"}}]}}"#,
            r#"{"type":"user","message":{"content":[{"type":"tool_result","tool_use_id":"t9","content":"stray"}]}}"#,
            r#"{"type":"mystery","a":1}"#,
            r#"[1,2]"#,
        ];
        let (steps, s) = run_bytes(lines.join("\n").as_bytes());
        let todo = vec![PlanItem {
            text: "fix".into(),
            status: "in_progress".into(),
        }];
        let edit = vec![FileChange {
            path: "a.rs".into(),
            kind: "update".into(),
        }];
        let other = |line, kind: &str, raw| {
            st(
                line,
                StepKind::Other {
                    kind: kind.into(),
                    raw,
                },
            )
        };
        assert_eq!(
            steps,
            [
                call(
                    3,
                    "Grep",
                    json!({"pattern": "x"}),
                    Ok("a.rs\n[image]"),
                    Some("t1")
                ),
                msg(5, "found a.rs"),
                st(
                    5,
                    StepKind::Reasoning {
                        text: "(redacted)".into()
                    }
                ),
                call(
                    1,
                    "Task",
                    json!({"prompt": "look"}),
                    Ok("a.rs has it"),
                    None
                ),
                other(
                    10,
                    "tool_result",
                    json!({"type": "tool_result", "tool_use_id": "t9", "content": "stray"})
                ),
                other(11, "mystery", json!({"type": "mystery", "a": 1})),
                other(12, "unknown", json!([1, 2])),
                // Still open when the stream ended, in the order they started.
                st(7, StepKind::Plan { items: todo }),
                st(
                    8,
                    StepKind::FileChange {
                        changes: edit,
                        status: InProgress
                    }
                ),
                st(
                    9,
                    StepKind::WebSearch {
                        query: "q".into(),
                        status: InProgress
                    }
                ),
            ]
        );
        assert!(s.messages.is_empty() && s.outcome.is_none() && s.skipped_lines == 0);
    }

    #[test]
    fn torn_stray_and_mangled_lines() {
        let mut bytes = std::fs::read(format!("{DIR}claude_rich.jsonl")).unwrap();
        let (steps, summary) = run_bytes(&bytes);
        bytes.extend_from_slice(b"npm WARN something\n{\"type\":\"assistant\",\"message\":{\"con");
        let (steps2, mut summary2) = run_bytes(&bytes);
        assert_eq!((steps2, summary2.skipped_lines), (steps, 2));
        summary2.skipped_lines = 0;
        assert_eq!(summary2, summary);

        // Each value the parser reads, swapped for values of other types.
        let swaps = [
            Value::Null,
            7.into(),
            "x".into(),
            json!([{"type": "text"}]),
            json!({}),
        ];
        let objects = [
            "",
            "/message",
            "/message/content/0",
            "/message/content/0/input",
            "/tool_use_result",
            "/usage",
        ];
        for entry in std::fs::read_dir(DIR)
            .unwrap()
            .flatten()
            .filter(|e| e.path().extension() == Some("jsonl".as_ref()))
        {
            let mut p = ClaudeParser::default();
            for line in std::fs::read_to_string(entry.path()).unwrap().lines() {
                let v: Value = serde_json::from_str(line).unwrap();
                for at in objects {
                    let keys: Vec<String> = v
                        .pointer(at)
                        .and_then(Value::as_object)
                        .map(|m| m.keys().cloned().collect())
                        .unwrap_or_default();
                    for (key, swap) in keys.iter().flat_map(|k| swaps.iter().map(move |s| (k, s))) {
                        let mut m = v.clone();
                        m.pointer_mut(at).unwrap()[key.as_str()] = swap.clone();
                        p.feed(1, m.to_string().as_bytes(), &mut |_| {});
                    }
                }
            }
            p.finish(&mut |_| {});
        }
        // Arbitrary bytes, heavy on JSON punctuation and the words the parser looks for.
        let (alphabet, mut seed) = (
            b"{}[]\":,0tnu\\\n type assistant user result\xff",
            0x9e37_79b9_7f4a_7c15u64,
        );
        let bytes: Vec<u8> = (0..200_000)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                alphabet[(seed % alphabet.len() as u64) as usize]
            })
            .collect();
        run_bytes(&bytes);
    }

    #[test]
    fn argv_and_cost() {
        let dir = std::path::Path::new("/w");
        let spec = TurnSpec {
            prompt: "-x",
            model: Some("m"),
            sandbox: None,
            working_dir: dir,
            resume: None,
            session_id: "z1",
        };
        let args = |spec: &TurnSpec| {
            Claude
                .args(spec)
                .into_iter()
                .map(|a| a.into_string().unwrap())
                .collect::<Vec<_>>()
        };
        assert_eq!(args(&spec).join(" "), "-p --output-format stream-json --verbose --model m --permission-mode bypassPermissions --session-id z1 -- -x");
        let resumed = TurnSpec {
            resume: Some("c1"),
            model: None,
            sandbox: Some("read-only"),
            ..spec
        };
        assert_eq!(
            args(&resumed).join(" "),
            "-p --output-format stream-json --verbose --permission-mode plan --resume c1 -- -x"
        );
        assert_eq!(
            (
                Claude.session_cost(Some(0.5), &[]),
                Claude.session_cost(None, &[])
            ),
            (Some(0.5), None)
        );
    }
}
