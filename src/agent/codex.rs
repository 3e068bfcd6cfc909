//! Codex CLI (`codex exec --json`): argv for first and resumed turns, and its
//! event stream (thread.*, turn.*, item.*, error).

use super::{Agent, AgentKind, StreamParser, TurnSpec};
use crate::session::model::{TurnRecord, Usage};
use crate::trajectory::{FileChange, ItemStatus, Outcome, PlanItem, Step, StepKind, TurnSummary};
use serde::de::{Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::{Map, Value};
use std::ffi::OsString;
use std::fmt;

pub struct Codex;

impl Agent for Codex {
    fn kind(&self) -> AgentKind {
        AgentKind::Codex
    }

    fn program(&self) -> &'static str {
        "codex"
    }

    fn bin_env(&self) -> &'static str {
        "ZWARM_CODEX_BIN"
    }

    fn args(&self, spec: &TurnSpec) -> Vec<OsString> {
        let mut a: Vec<OsString> = vec![
            "exec".into(),
            "--json".into(),
            "--skip-git-repo-check".into(),
        ];
        if let Some(m) = spec.model.filter(|m| !m.is_empty()) {
            a.extend(["-m".into(), m.into()]);
        }
        // -s and -C belong to `exec`, so they go before `resume`.
        if let Some(s) = spec.sandbox.filter(|s| !s.is_empty()) {
            a.extend(["-s".into(), s.into()]);
        }
        a.extend(["-C".into(), spec.working_dir.as_os_str().to_owned()]);
        if let Some(thread) = spec.resume {
            a.extend(["resume".into(), thread.into()]);
        }
        a.extend(["--".into(), spec.prompt.into()]);
        a
    }

    fn parser(&self) -> Box<dyn StreamParser> {
        Box::new(CodexParser::default())
    }

    /// `turn.completed.usage` is the thread's running total, so a turn's own
    /// usage is the difference from the previous report on the same thread.
    fn turn_usage(&self, reported: &Usage, thread: Option<&str>, earlier: &[TurnRecord]) -> Usage {
        let previous = earlier.iter().rev().find_map(|t| {
            let same = thread.is_some() && t.agent_session_id.as_deref() == thread;
            same.then_some(t.reported_usage.as_ref()).flatten()
        });
        match previous {
            Some(p) => reported.since(p),
            None => reported.clone(),
        }
    }

    fn session_cost(&self, _reported: Option<f64>, _earlier: &[TurnRecord]) -> Option<f64> {
        None
    }
}

#[derive(Default)]
pub struct CodexParser {
    summary: TurnSummary,
    /// Items started and not yet completed, in the order they started.
    open: Vec<(String, Step)>,
}

#[derive(Deserialize)]
struct Event {
    #[serde(rename = "type")]
    kind: String,
    thread_id: Option<String>,
    usage: Option<CodexUsage>,
    error: Option<ErrorBody>,
    message: Option<String>,
    item: Option<Item>,
}

#[derive(Deserialize)]
struct ErrorBody {
    message: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct CodexUsage {
    input_tokens: u64,
    cached_input_tokens: u64,
    cache_write_input_tokens: u64,
    output_tokens: u64,
    reasoning_output_tokens: u64,
}

impl From<CodexUsage> for Usage {
    fn from(u: CodexUsage) -> Self {
        Usage {
            input_tokens: u.input_tokens,
            output_tokens: u.output_tokens,
            // cached ⊂ input and reasoning ⊂ output, so they are not added.
            total_tokens: u.input_tokens + u.output_tokens,
            cached_input_tokens: u.cached_input_tokens,
            reasoning_output_tokens: u.reasoning_output_tokens,
            cache_write_input_tokens: u.cache_write_input_tokens,
            ..Default::default()
        }
    }
}

/// An item object. `web_search` items carry the key `id` twice (the item id,
/// then the search id), which a derived struct rejects and `Value` resolves by
/// keeping the last; this keeps the first as the id and the second as `raw_id`.
struct Item {
    id: Option<String>,
    fields: Map<String, Value>,
}

impl<'de> Deserialize<'de> for Item {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Item;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an item object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Item, A::Error> {
                let mut id = None;
                let mut fields = Map::new();
                while let Some(key) = map.next_key::<String>()? {
                    let value: Value = map.next_value()?;
                    if key == "id" && id.is_none() {
                        id = Some(match value {
                            Value::String(s) => s,
                            other => other.to_string(),
                        });
                    } else if key == "id" {
                        fields.insert("raw_id".into(), value);
                    } else {
                        fields.insert(key, value);
                    }
                }
                Ok(Item { id, fields })
            }
        }
        d.deserialize_map(V)
    }
}

impl Item {
    fn kind(&self) -> &str {
        self.str("type").unwrap_or("unknown")
    }

    fn str(&self, key: &str) -> Option<&str> {
        self.fields.get(key).and_then(Value::as_str)
    }

    fn string(&self, key: &str) -> String {
        self.str(key).unwrap_or_default().to_string()
    }

    fn status(&self, default: ItemStatus) -> ItemStatus {
        self.str("status").map(ItemStatus::parse).unwrap_or(default)
    }

    fn into_raw(self) -> Value {
        let mut m = self.fields;
        if let Some(id) = self.id {
            m.insert("id".into(), Value::String(id));
        }
        Value::Object(m)
    }
}

impl CodexParser {
    fn handle(&mut self, lineno: u64, ev: Event, emit: &mut dyn FnMut(Step)) {
        let is_retry = ev.kind == "error"
            && ev
                .message
                .as_deref()
                .is_some_and(|m| m.starts_with("Reconnecting..."));
        if is_retry {
            self.summary.retries_since_progress += 1;
            self.summary.last_retry = ev.message.clone();
        } else {
            self.summary.retries_since_progress = 0;
        }
        let step = |kind| Step { line: lineno, kind };
        match ev.kind.as_str() {
            "thread.started" => self.summary.agent_session_id = ev.thread_id,
            "turn.started" => {}
            "turn.completed" => {
                self.summary.outcome = Some(Outcome::Completed);
                if let Some(u) = ev.usage {
                    self.summary.usage = Some(u.into());
                }
            }
            "turn.failed" => {
                let message = ev
                    .error
                    .and_then(|e| e.message)
                    .unwrap_or_else(|| "the turn failed".into());
                // The same text usually arrived just before as an `error` event.
                if self.summary.last_error.as_deref() != Some(message.as_str()) {
                    emit(step(StepKind::Error {
                        message: message.clone(),
                    }));
                }
                self.summary.last_error = Some(message.clone());
                self.summary.outcome = Some(Outcome::Failed(message));
                if let Some(u) = ev.usage {
                    self.summary.usage = Some(u.into());
                }
            }
            "error" => {
                let message = ev.message.unwrap_or_default();
                if is_retry {
                    emit(step(StepKind::Warning { message }));
                } else {
                    self.summary.last_error = Some(message.clone());
                    emit(step(StepKind::Error { message }));
                }
            }
            "item.started" | "item.updated" | "item.completed" => {
                let Some(item) = ev.item else {
                    emit(step(StepKind::Other {
                        kind: ev.kind,
                        raw: Value::Null,
                    }));
                    return;
                };
                self.item(lineno, &ev.kind, item, emit);
            }
            _ => emit(step(StepKind::Other {
                kind: ev.kind,
                raw: Value::Null,
            })),
        }
    }

    fn item(&mut self, lineno: u64, event: &str, item: Item, emit: &mut dyn FnMut(Step)) {
        let key = item.id.clone().unwrap_or_default();
        let open_at = self
            .open
            .iter()
            .position(|(k, _)| *k == key && !key.is_empty());
        let line = open_at.map(|i| self.open[i].1.line).unwrap_or(lineno);
        let done = event == "item.completed";
        let default_status = if done {
            ItemStatus::Completed
        } else {
            ItemStatus::InProgress
        };
        if done && item.kind() == "agent_message" {
            self.summary.messages.push(item.string("text"));
        }
        let step = Step {
            line,
            kind: item_step(item, default_status),
        };
        match (done, open_at) {
            (true, Some(i)) => {
                self.open.remove(i);
                emit(step);
            }
            (true, None) => emit(step),
            (false, Some(i)) => self.open[i].1 = step,
            (false, None) => self.open.push((key, step)),
        }
    }
}

fn item_step(item: Item, default_status: ItemStatus) -> StepKind {
    let status = item.status(default_status);
    match item.kind() {
        "agent_message" => StepKind::Message {
            text: item.string("text"),
        },
        "reasoning" => StepKind::Reasoning {
            text: item.string("text"),
        },
        "command_execution" => StepKind::Command {
            command: item.string("command"),
            output: item.string("aggregated_output"),
            exit_code: item.fields.get("exit_code").and_then(Value::as_i64),
            status,
        },
        "file_change" => StepKind::FileChange {
            changes: item
                .fields
                .get("changes")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .map(|c| FileChange {
                            path: c["path"].as_str().unwrap_or_default().to_string(),
                            kind: c["kind"].as_str().unwrap_or("update").to_string(),
                        })
                        .collect()
                })
                .unwrap_or_default(),
            status,
        },
        "mcp_tool_call" => StepKind::ToolCall {
            server: item.str("server").map(str::to_string),
            tool: item.string("tool"),
            arguments: item.fields.get("arguments").cloned().unwrap_or(Value::Null),
            result: item.fields.get("result").and_then(mcp_result_text),
            error: item
                .fields
                .get("error")
                .and_then(|e| e["message"].as_str())
                .map(str::to_string),
            status,
            parent: None,
        },
        "collab_tool_call" => StepKind::ToolCall {
            server: None,
            tool: format!("collab:{}", item.str("tool").unwrap_or("unknown")),
            arguments: serde_json::json!({
                "prompt": item.fields.get("prompt"),
                "receiver_thread_ids": item.fields.get("receiver_thread_ids"),
            }),
            result: item.fields.get("agents_states").map(Value::to_string),
            error: None,
            status,
            parent: None,
        },
        "web_search" => StepKind::WebSearch {
            query: item
                .str("query")
                .or_else(|| item.fields.get("action").and_then(|a| a["query"].as_str()))
                .unwrap_or_default()
                .to_string(),
            status,
        },
        "todo_list" => StepKind::Plan {
            items: item
                .fields
                .get("items")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .map(|i| PlanItem {
                            text: i["text"].as_str().unwrap_or_default().to_string(),
                            status: if i["completed"].as_bool() == Some(true) {
                                "completed"
                            } else {
                                "pending"
                            }
                            .to_string(),
                        })
                        .collect()
                })
                .unwrap_or_default(),
        },
        "error" => StepKind::Warning {
            message: item.string("message"),
        },
        other => StepKind::Other {
            kind: format!("item:{other}"),
            raw: item.into_raw(),
        },
    }
}

/// The text of an MCP result: its text blocks, else its structured content.
fn mcp_result_text(result: &Value) -> Option<String> {
    if result.is_null() {
        return None;
    }
    let texts: Vec<&str> = result["content"]
        .as_array()
        .map(|blocks| blocks.iter().filter_map(|b| b["text"].as_str()).collect())
        .unwrap_or_default();
    if !texts.is_empty() {
        return Some(texts.join("\n"));
    }
    match &result["structured_content"] {
        Value::Null => Some(result.to_string()),
        v => Some(v.to_string()),
    }
}

impl StreamParser for CodexParser {
    fn feed(&mut self, lineno: u64, line: &[u8], emit: &mut dyn FnMut(Step)) {
        match serde_json::from_slice::<Event>(line) {
            Ok(ev) => {
                self.summary.events += 1;
                self.handle(lineno, ev, emit);
            }
            // Valid JSON of another shape (a duplicate top-level key, a non-object).
            Err(_) => match serde_json::from_slice::<Value>(line) {
                Ok(raw) => {
                    self.summary.events += 1;
                    let kind = raw
                        .get("type")
                        .and_then(Value::as_str)
                        .unwrap_or("unknown")
                        .to_string();
                    emit(Step {
                        line: lineno,
                        kind: StepKind::Other { kind, raw },
                    });
                }
                Err(_) => self.summary.skipped_lines += 1,
            },
        }
    }

    fn finish(&mut self, emit: &mut dyn FnMut(Step)) {
        for (_, step) in self.open.drain(..) {
            emit(step);
        }
    }

    fn summary(&self) -> &TurnSummary {
        &self.summary
    }
}
