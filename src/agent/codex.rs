//! Codex CLI (`codex exec --json`): argv for first and resumed turns, and its
//! event stream (thread.*, turn.*, item.*, error).

use super::{Agent, AgentKind, Decoder, StreamParser, TurnSpec};
use crate::json_scan::StringKey;
use crate::lazy_text::{self, LazyText};
use crate::session::model::{TurnRecord, Usage};
use crate::trajectory::{
    FileChange, ItemStatus, Outcome, Output, OutputDetail, PlanItem, Step, StepKind, TurnSummary,
};
use serde::de::{Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::ffi::OsString;
use std::fmt;
use std::sync::LazyLock;

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
        // Writes inside the working directory and nowhere else: what zwarm
        // 2.3.5 asked for with the since-removed `--full-auto`.
        let sandbox = spec
            .sandbox
            .filter(|s| !s.is_empty())
            .unwrap_or("workspace-write");
        a.extend(["-s".into(), sandbox.into()]);
        a.extend(["-C".into(), spec.working_dir.as_os_str().to_owned()]);
        if let Some(thread) = spec.resume {
            a.extend(["resume".into(), thread.into()]);
        }
        a.extend(["--".into(), spec.prompt.into()]);
        a
    }

    fn parser(&self, detail: OutputDetail) -> Box<dyn StreamParser> {
        Box::new(CodexParser {
            detail,
            ..Default::default()
        })
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

pub struct CodexParser {
    detail: OutputDetail,
    summary: TurnSummary,
    /// Items started and not yet completed, in the order they started.
    open: Vec<(ItemId, Step)>,
}

#[derive(Deserialize)]
struct Event<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    thread_id: Option<String>,
    usage: Option<CodexUsage>,
    error: Option<ErrorBody>,
    message: Option<String>,
    #[serde(borrow)]
    item: Option<Item<'a>>,
}

/// A decoded line (see [`super::StreamParser::decoder`]).
// Not boxed on purpose: a box per line, made on a decoding thread and freed
// on the applying one, cost a tenth of the time of reading a long turn.
#[allow(clippy::large_enum_variant)]
pub enum Decoded {
    Event(Line),
    /// Valid JSON of another shape (a duplicate top-level key, a non-object).
    Json(Value),
    Unreadable,
}

/// An event, owned, its item already made a step.
pub struct Line {
    /// Static for the kinds codex writes: a long turn has a hundred
    /// thousand lines.
    kind: Cow<'static, str>,
    thread_id: Option<String>,
    usage: Option<CodexUsage>,
    error: Option<ErrorBody>,
    message: Option<String>,
    item: Option<ItemLine>,
}

struct ItemLine {
    id: ItemId,
    step: StepKind,
}

/// An item's id (`item_12`), which pairs its started and completed events.
/// Short ids are kept inline: a heap string per line, made on a decoding
/// thread and freed on another, was a measurable share of a long read.
#[derive(Clone, Default, PartialEq, Eq)]
enum ItemId {
    #[default]
    None,
    Inline {
        len: u8,
        bytes: [u8; 30],
    },
    Heap(Box<str>),
}

impl ItemId {
    fn new(id: &str) -> Self {
        let mut bytes = [0; 30];
        match bytes.get_mut(..id.len()) {
            Some(head) => {
                head.copy_from_slice(id.as_bytes());
                ItemId::Inline {
                    len: id.len() as u8,
                    bytes,
                }
            }
            None => ItemId::Heap(id.into()),
        }
    }

    fn is_none(&self) -> bool {
        matches!(self, ItemId::None) || *self == ItemId::new("")
    }
}

impl Default for CodexParser {
    fn default() -> Self {
        CodexParser {
            detail: OutputDetail::Whole,
            summary: TurnSummary::default(),
            open: Vec::new(),
        }
    }
}

impl Event<'_> {
    fn into_line(self, detail: OutputDetail) -> Line {
        let done = self.kind == "item.completed";
        let item = self.item.map(|item| ItemLine {
            id: item.id.as_deref().map_or(ItemId::None, ItemId::new),
            step: item_step(
                item,
                detail,
                if done {
                    ItemStatus::Completed
                } else {
                    ItemStatus::InProgress
                },
            ),
        });
        Line {
            kind: match KINDS.iter().find(|k| **k == self.kind) {
                Some(k) => Cow::Borrowed(*k),
                None => Cow::Owned(self.kind.into_owned()),
            },
            thread_id: self.thread_id,
            usage: self.usage,
            error: self.error,
            message: self.message,
            item,
        }
    }
}

const KINDS: [&str; 8] = [
    "item.completed",
    "item.started",
    "item.updated",
    "error",
    "thread.started",
    "turn.started",
    "turn.completed",
    "turn.failed",
];

fn decode(line: &[u8], detail: OutputDetail) -> super::Decoded {
    // Checked once here, with SIMD, rather than string by string by the
    // JSON parser: that check was a tenth of the time of a long trajectory.
    let Ok(line) = simdutf8::basic::from_utf8(line) else {
        return super::Decoded::Codex(Decoded::Unreadable);
    };
    if let OutputDetail::Preview { lines, width } = detail {
        if let Some(ev) = decode_previewed_command(line, lines, width) {
            return super::Decoded::Codex(Decoded::Event(ev));
        }
    }
    super::Decoded::Codex(match serde_json::from_str::<Event>(line) {
        Ok(ev) => Decoded::Event(ev.into_line(detail)),
        Err(_) => match serde_json::from_str::<Value>(line) {
            Ok(raw) => Decoded::Json(raw),
            Err(_) => Decoded::Unreadable,
        },
    })
}

/// A command item whose output only a preview is wanted of, decoded without
/// the JSON parser reading the output (see [`crate::json_scan`]): the line
/// is parsed with the output cut out, and the preview taken from the line.
fn decode_previewed_command(line: &str, lines: usize, width: usize) -> Option<Line> {
    static OUTPUT: LazyLock<StringKey> =
        LazyLock::new(|| StringKey::new("item", "aggregated_output"));
    let body = OUTPUT.find(line)?;
    let mut rest = String::with_capacity(line.len() - body.len());
    rest.push_str(&line[..body.start]);
    rest.push_str(&line[body.end..]);
    let ev = serde_json::from_str::<Event>(&rest).ok()?;
    let mut decoded = ev.into_line(OutputDetail::Whole);
    match decoded.item.as_mut().map(|i| &mut i.step) {
        Some(StepKind::Command { output, .. }) if output.whole()?.is_empty() => {
            *output = Output::Preview(lazy_text::preview_escaped_body(&line[body], lines, width));
            Some(decoded)
        }
        // Another kind of item: its output belongs in its raw form.
        _ => None,
    }
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

/// An item object, borrowed from its line: values are kept as the JSON text
/// they are until a step asks for them, so a long turn's tens of thousands of
/// items cost no tree of values each. `web_search` items carry the key `id`
/// twice (the item id, then the search id), which a derived struct rejects;
/// the first is the id and the second is kept as `raw_id`.
struct Item<'a> {
    id: Option<Cow<'a, str>>,
    /// Strings of the [`COMMON`] keys.
    common: [Option<Cow<'a, str>>; COMMON.len()],
    /// A command's output, the largest text by far (see [`LazyText`]).
    output: Option<&'a RawValue>,
    /// Every other key, in order; a repeated key's last value counts.
    fields: Vec<(Cow<'a, str>, Field<'a>)>,
}

/// A value kept as the JSON text it is, or one already parsed.
enum Field<'a> {
    Raw(&'a RawValue),
    Parsed(Value),
}

impl Field<'_> {
    fn value(&self) -> Option<Value> {
        match self {
            Field::Raw(raw) => serde_json::from_str(raw.get()).ok(),
            Field::Parsed(v) => Some(v.clone()),
        }
    }
}

/// The value of a key expected to hold a string, read in one pass: the
/// string (borrowed from the line unless it has escapes), or else the value.
enum StrOr<'a> {
    Str(Cow<'a, str>),
    Other(Value),
}

impl<'de> Deserialize<'de> for StrOr<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::value::{MapAccessDeserializer, SeqAccessDeserializer};
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = StrOr<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Self::Value, E> {
                Ok(StrOr::Str(Cow::Borrowed(s)))
            }
            fn visit_str<E>(self, s: &str) -> Result<Self::Value, E> {
                Ok(StrOr::Str(Cow::Owned(s.to_string())))
            }
            fn visit_string<E>(self, s: String) -> Result<Self::Value, E> {
                Ok(StrOr::Str(Cow::Owned(s)))
            }
            fn visit_bool<E>(self, b: bool) -> Result<Self::Value, E> {
                Ok(StrOr::Other(Value::Bool(b)))
            }
            fn visit_i64<E>(self, n: i64) -> Result<Self::Value, E> {
                Ok(StrOr::Other(n.into()))
            }
            fn visit_u64<E>(self, n: u64) -> Result<Self::Value, E> {
                Ok(StrOr::Other(n.into()))
            }
            fn visit_f64<E>(self, n: f64) -> Result<Self::Value, E> {
                Ok(StrOr::Other(n.into()))
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(StrOr::Other(Value::Null))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
                Value::deserialize(SeqAccessDeserializer::new(seq)).map(StrOr::Other)
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                Value::deserialize(MapAccessDeserializer::new(map)).map(StrOr::Other)
            }
        }
        d.deserialize_any(V)
    }
}

/// Keys of nearly every item.
const COMMON: [&str; 4] = ["type", "status", "command", "text"];

fn common_index(key: &str) -> Option<usize> {
    COMMON.iter().position(|k| *k == key)
}

/// A string, borrowed from the line unless it has escapes.
#[derive(Deserialize)]
struct Str<'a>(#[serde(borrow)] Cow<'a, str>);

/// The string a JSON value holds, if it is one.
fn raw_str(raw: &RawValue) -> Option<Cow<'_, str>> {
    if !raw.get().starts_with('"') {
        return None;
    }
    serde_json::from_str::<Str>(raw.get()).ok().map(|s| s.0)
}

impl<'de: 'a, 'a> Deserialize<'de> for Item<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = Item<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an item object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Item<'a>, A::Error> {
                let mut item = Item {
                    id: None,
                    common: Default::default(),
                    output: None,
                    fields: Vec::new(),
                };
                while let Some(Str(key)) = map.next_key()? {
                    let common = common_index(&key);
                    if key == "id" || common.is_some() {
                        let value: StrOr<'de> = map.next_value()?;
                        if key == "id" && item.id.is_none() {
                            item.id = Some(match value {
                                StrOr::Str(s) => s,
                                StrOr::Other(v) => Cow::Owned(v.to_string()),
                            });
                        } else if key == "id" {
                            let v = match value {
                                StrOr::Str(s) => Value::String(s.into_owned()),
                                StrOr::Other(v) => v,
                            };
                            item.fields
                                .push((Cow::Borrowed("raw_id"), Field::Parsed(v)));
                        } else if let Some(i) = common {
                            // The last value of a key wins, as in a map.
                            item.common[i] = match value {
                                StrOr::Str(s) => Some(s),
                                StrOr::Other(v) => {
                                    item.fields.push((key, Field::Parsed(v)));
                                    None
                                }
                            };
                        }
                        continue;
                    }
                    let raw: &'de RawValue = map.next_value()?;
                    if key == "aggregated_output" && raw.get().starts_with('"') {
                        item.output = Some(raw);
                    } else {
                        item.fields.push((key, Field::Raw(raw)));
                    }
                }
                Ok(item)
            }
        }
        d.deserialize_map(V(std::marker::PhantomData))
    }
}

impl<'a> Item<'a> {
    fn kind(&self) -> &str {
        self.str("type").unwrap_or("unknown")
    }

    fn field(&self, key: &str) -> Option<&Field<'a>> {
        self.fields
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }

    /// The value of a key that is not one of the [`COMMON`] strings.
    fn value(&self, key: &str) -> Option<Value> {
        self.field(key).and_then(Field::value)
    }

    fn str(&self, key: &str) -> Option<&str> {
        match common_index(key) {
            Some(i) => self.common[i].as_deref(),
            None => None,
        }
    }

    /// A string of any key.
    fn text(&self, key: &str) -> Option<Cow<'a, str>> {
        match common_index(key) {
            Some(i) => self.common[i].clone(),
            None => match self.field(key)? {
                Field::Raw(raw) => raw_str(raw),
                Field::Parsed(v) => v.as_str().map(|s| Cow::Owned(s.to_string())),
            },
        }
    }

    fn string(&self, key: &str) -> String {
        self.text(key).unwrap_or_default().into_owned()
    }

    fn status(&self, default: ItemStatus) -> ItemStatus {
        self.str("status").map(ItemStatus::parse).unwrap_or(default)
    }

    fn into_raw(self) -> Value {
        let mut m = Map::new();
        for (key, field) in self.fields {
            if let Some(v) = field.value() {
                m.insert(key.into_owned(), v);
            }
        }
        if let Some(output) = self.output.and_then(raw_str) {
            m.insert(
                "aggregated_output".into(),
                Value::String(output.into_owned()),
            );
        }
        for (key, value) in COMMON.iter().zip(self.common) {
            if let Some(v) = value {
                m.insert((*key).into(), Value::String(v.into_owned()));
            }
        }
        if let Some(id) = self.id {
            m.insert("id".into(), Value::String(id.into_owned()));
        }
        Value::Object(m)
    }
}

impl CodexParser {
    fn handle(&mut self, lineno: u64, ev: Line, emit: &mut dyn FnMut(Step)) {
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
        match &*ev.kind {
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
                        kind: ev.kind.into_owned(),
                        raw: Value::Null,
                    }));
                    return;
                };
                self.item(lineno, &ev.kind, item, emit);
            }
            _ => emit(step(StepKind::Other {
                kind: ev.kind.into_owned(),
                raw: Value::Null,
            })),
        }
    }

    fn item(&mut self, lineno: u64, event: &str, item: ItemLine, emit: &mut dyn FnMut(Step)) {
        let key = item.id;
        let open_at = self
            .open
            .iter()
            .position(|(k, _)| *k == key && !key.is_none());
        let line = open_at.map(|i| self.open[i].1.line).unwrap_or(lineno);
        let done = event == "item.completed";
        if let (true, StepKind::Message { text }) = (done, &item.step) {
            self.summary.messages.push(text.clone());
        }
        let step = Step {
            line,
            kind: item.step,
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

fn item_step(item: Item, detail: OutputDetail, default_status: ItemStatus) -> StepKind {
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
            output: item
                .output
                .and_then(|raw| Output::from_json(raw, detail))
                .unwrap_or_else(|| Output::new(LazyText::default(), detail)),
            exit_code: item.value("exit_code").and_then(|v| v.as_i64()),
            status,
        },
        "file_change" => StepKind::FileChange {
            changes: item
                .value("changes")
                .as_ref()
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
            server: item.text("server").map(Cow::into_owned),
            tool: item.string("tool"),
            arguments: item.value("arguments").unwrap_or(Value::Null),
            result: item.value("result").as_ref().and_then(mcp_result_text),
            error: item
                .value("error")
                .and_then(|e| e["message"].as_str().map(str::to_string)),
            status,
            parent: None,
        },
        "collab_tool_call" => StepKind::ToolCall {
            server: None,
            tool: format!(
                "collab:{}",
                item.text("tool").as_deref().unwrap_or("unknown")
            ),
            arguments: serde_json::json!({
                "prompt": item.value("prompt"),
                "receiver_thread_ids": item.value("receiver_thread_ids"),
            }),
            result: item.value("agents_states").map(|v| v.to_string()),
            error: None,
            status,
            parent: None,
        },
        "web_search" => StepKind::WebSearch {
            query: item
                .text("query")
                .map(Cow::into_owned)
                .or_else(|| {
                    item.value("action")
                        .and_then(|a| a["query"].as_str().map(str::to_string))
                })
                .unwrap_or_default(),
            status,
        },
        "todo_list" => StepKind::Plan {
            items: item
                .value("items")
                .as_ref()
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
    fn decoder(&self) -> Decoder {
        Decoder::new(decode, self.detail)
    }

    fn apply(&mut self, lineno: u64, line: super::Decoded, emit: &mut dyn FnMut(Step)) {
        match line {
            super::Decoded::Codex(Decoded::Event(ev)) => {
                self.summary.events += 1;
                self.handle(lineno, ev, emit);
            }
            super::Decoded::Codex(Decoded::Json(raw)) => {
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
            _ => self.summary.skipped_lines += 1,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trajectory::read_turn;
    use std::path::{Path, PathBuf};

    fn transcript(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/transcripts")
            .join(name)
    }

    fn run_path(path: &Path) -> (Vec<Step>, TurnSummary) {
        let mut p = CodexParser::default();
        let mut steps = Vec::new();
        read_turn(path, &mut p, true, &mut |s| steps.push(s)).unwrap();
        (steps, p.summary)
    }

    fn run(name: &str) -> (Vec<Step>, TurnSummary) {
        run_path(&transcript(name))
    }

    fn run_bytes(bytes: &[u8]) -> (Vec<Step>, TurnSummary) {
        let f = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(f.path(), bytes).unwrap();
        run_path(f.path())
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

    const METADATA_WARNING: &str =
        "Model metadata for `mock-model` not found. Defaulting to fallback metadata; this can degrade performance and cause issues.";

    fn warn(line: u64, message: &str) -> Step {
        st(
            line,
            StepKind::Warning {
                message: message.into(),
            },
        )
    }

    fn msg(line: u64, text: &str) -> Step {
        st(line, StepKind::Message { text: text.into() })
    }

    fn usage(input: u64, cached: u64, output: u64, reasoning: u64) -> Option<Usage> {
        Some(Usage {
            input_tokens: input,
            output_tokens: output,
            total_tokens: input + output,
            cached_input_tokens: cached,
            reasoning_output_tokens: reasoning,
            ..Default::default()
        })
    }

    #[test]
    fn first_turn_and_resumes() {
        let (steps, s) = run("codex_first_turn.jsonl");
        assert_eq!(
            steps,
            vec![
                warn(2, METADATA_WARNING),
                cmd(
                    4,
                    "/bin/bash -lc 'echo hello-from-mock'",
                    "hello-from-mock\n",
                    Some(0),
                    ItemStatus::Completed
                ),
                msg(6, "All done: mock says hi."),
            ]
        );
        assert_eq!(s.outcome, Some(Outcome::Completed));
        assert_eq!(
            s.agent_session_id.as_deref(),
            Some("01a209eb-9fe5-7091-945e-ca2ae2c25c85")
        );
        assert_eq!(s.usage, usage(200, 40, 14, 0));
        assert_eq!(s.messages, ["All done: mock says hi."]);
        assert_eq!((s.events, s.skipped_lines), (7, 0));

        let (_, r1) = run("codex_resume.jsonl");
        let (_, r2) = run("codex_resume_2.jsonl");
        assert_eq!(r1.agent_session_id, s.agent_session_id);
        assert_eq!(r2.agent_session_id, s.agent_session_id);
        assert_eq!(r1.usage.as_ref().unwrap().input_tokens, 300);
        assert_eq!(r2.usage.as_ref().unwrap().input_tokens, 400);
    }

    #[test]
    fn usage_is_the_threads_running_total() {
        let rec = |n: u32, input: u64, thread: &str| TurnRecord {
            turn: n,
            agent_session_id: Some(thread.into()),
            reported_usage: usage(input, 0, 7 * u64::from(n), 0),
            ..Default::default()
        };
        let earlier = vec![rec(1, 200, "t1"), rec(2, 300, "t1")];
        let own = Codex.turn_usage(&usage(400, 0, 21, 0).unwrap(), Some("t1"), &earlier);
        assert_eq!((own.input_tokens, own.output_tokens), (100, 7));
        // A new thread starts its own total.
        let own = Codex.turn_usage(&usage(50, 0, 5, 0).unwrap(), Some("t2"), &earlier);
        assert_eq!(own.input_tokens, 50);
    }

    #[test]
    fn rich_turn_keeps_every_item() {
        let (steps, s) = run("codex_rich.jsonl");
        assert_eq!(
            steps,
            vec![
                warn(2, METADATA_WARNING),
                st(
                    4,
                    StepKind::Reasoning {
                        text: "**Planning** I will run a failing command first.".into()
                    }
                ),
                cmd(
                    5,
                    "/bin/bash -lc 'ls /nonexistent_dir_xyz'",
                    "ls: cannot access '/nonexistent_dir_xyz': No such file or directory\n",
                    Some(2),
                    ItemStatus::Failed
                ),
                cmd(7, "/bin/bash -lc true", "", Some(0), ItemStatus::Completed),
                st(
                    9,
                    StepKind::FileChange {
                        changes: vec![FileChange {
                            path: "/home/dev/project/added.txt".into(),
                            kind: "add".into()
                        }],
                        status: ItemStatus::Completed,
                    }
                ),
                cmd(
                    11,
                    "/bin/bash -lc 'echo no-apply-patch-tool'",
                    "no-apply-patch-tool\n",
                    Some(0),
                    ItemStatus::Completed
                ),
                // The item carries `id` twice; the first one is the item's.
                st(
                    13,
                    StepKind::WebSearch {
                        query: "rust serde tagged enums".into(),
                        status: ItemStatus::Completed
                    }
                ),
                msg(15, "Rich scenario finished."),
            ]
        );
        assert_eq!(s.usage, usage(500, 100, 35, 15));
        assert_eq!(s.skipped_lines, 0);
    }

    #[test]
    fn duplicate_id_keeps_the_first_and_the_raw_one() {
        let line =
            br#"{"type":"item.completed","item":{"id":"item_9","type":"weird","id":"ws_2"}}"#;
        let (steps, _) = run_bytes(line);
        match &steps[0].kind {
            StepKind::Other { kind, raw } => {
                assert_eq!(kind, "item:weird");
                assert_eq!(raw["id"], "item_9");
                assert_eq!(raw["raw_id"], "ws_2");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn mcp_calls_and_file_changes() {
        let (steps, _) = run("codex_mcp.jsonl");
        let calls: Vec<_> = steps
            .iter()
            .filter_map(|s| match &s.kind {
                StepKind::ToolCall {
                    server,
                    tool,
                    result,
                    error,
                    status,
                    ..
                } => Some((
                    server.clone(),
                    tool.clone(),
                    result.clone(),
                    error.clone(),
                    *status,
                )),
                _ => None,
            })
            .collect();
        assert_eq!(
            calls,
            vec![
                (
                    Some("echo".into()),
                    "echo".into(),
                    Some("echo: hi mcp".into()),
                    None,
                    ItemStatus::Completed
                ),
                (
                    Some("echo".into()),
                    "boom".into(),
                    Some("boom failed".into()),
                    None,
                    ItemStatus::Failed
                ),
            ]
        );
        let (steps, _) = run("codex_file_changes.jsonl");
        let kinds: Vec<String> = steps
            .iter()
            .filter_map(|s| match &s.kind {
                StepKind::FileChange { changes, .. } => Some(changes[0].kind.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(kinds, ["add", "update", "delete"]);
    }

    #[test]
    fn failures_retries_and_interruptions() {
        let (steps, s) = run("codex_failed_after_retries.jsonl");
        let high_demand =
            "We’re currently experiencing high demand, which may cause temporary errors.";
        assert_eq!(
            steps,
            vec![
                warn(2, METADATA_WARNING),
                warn(4, &format!("Reconnecting... 1/2 ({high_demand})")),
                warn(5, &format!("Reconnecting... 2/2 ({high_demand})")),
                st(
                    6,
                    StepKind::Error {
                        message: high_demand.into()
                    }
                ),
            ]
        );
        assert_eq!(s.outcome, Some(Outcome::Failed(high_demand.into())));
        assert_eq!(s.usage, None);

        for name in ["codex_failed.jsonl", "codex_failed_context_window.jsonl"] {
            let (_, s) = run(name);
            assert!(
                matches!(s.outcome, Some(Outcome::Failed(ref m)) if !m.is_empty()),
                "{name}"
            );
        }

        // SIGINT: no terminal line; the running command is kept, unfinished.
        let (steps, s) = run("codex_sigint.jsonl");
        assert_eq!(s.outcome, None);
        assert!(matches!(
            steps.last().unwrap().kind,
            StepKind::Command {
                status: ItemStatus::InProgress,
                exit_code: None,
                ..
            }
        ));

        // Endless reconnects: a turn that is not progressing.
        let (_, s) = run("codex_connection_refused_then_sigterm.jsonl");
        assert_eq!(s.outcome, None);
        assert!(
            s.retries_since_progress >= 10,
            "{}",
            s.retries_since_progress
        );
        assert!(s.last_retry.unwrap().contains("waiting for network"));
    }

    #[test]
    fn stray_lines_are_counted_never_fatal() {
        let mut bytes = std::fs::read(transcript("codex_first_turn.jsonl")).unwrap();
        let (clean, _) = run_bytes(&bytes);
        bytes.splice(
            0..0,
            b"Reading additional input from stdin...\n\xff\xfe not json\n"
                .iter()
                .copied(),
        );
        bytes.extend_from_slice(b"{\"type\":\"item.completed\",\"item\":{\"id\":\"item_9\""); // torn
        let (steps, s) = run_bytes(&bytes);
        assert_eq!(s.skipped_lines, 3);
        assert_eq!(steps.len(), clean.len());
        assert_eq!(s.outcome, Some(Outcome::Completed));
        // Unknown events and odd shapes become `other`, in place.
        let (steps, s) = run_bytes(
            b"{\"type\":\"turn.progress\",\"x\":1}\n[1,2]\n{\"no_type\":true}\n\"str\"\n",
        );
        assert_eq!(steps.len(), 4);
        assert!(steps.iter().all(|s| s.kind.name() == "other"));
        assert_eq!(s.skipped_lines, 0);
    }

    #[test]
    fn argv_for_first_and_resumed_turns() {
        let dir = Path::new("/w");
        let spec = TurnSpec {
            prompt: "-dash task",
            model: Some("gpt-5"),
            sandbox: Some("workspace-write"),
            working_dir: dir,
            resume: None,
            session_id: "z",
        };
        let join = |spec: &TurnSpec| {
            Codex
                .args(spec)
                .into_iter()
                .map(|a| a.into_string().unwrap())
                .collect::<Vec<_>>()
                .join(" ")
        };
        assert_eq!(
            join(&spec),
            "exec --json --skip-git-repo-check -m gpt-5 -s workspace-write -C /w -- -dash task"
        );
        let resumed = TurnSpec {
            resume: Some("t-1"),
            model: None,
            ..spec
        };
        assert_eq!(
            join(&resumed),
            "exec --json --skip-git-repo-check -s workspace-write -C /w resume t-1 -- -dash task"
        );
    }
}
