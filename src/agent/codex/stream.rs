//! Codex's event stream: each line decoded on its own (its item made a
//! step), then applied in order to pair started and completed items and to
//! keep the turn's summary.

use super::item::{item_step, Item};
use super::json_scan::StringKey;
use crate::model::Usage;
use crate::turn::json_skim::{self, Found};
use crate::turn::lazy_text::{self, SharedLine};
use crate::turn::StreamParser;
use crate::turn::{ItemStatus, Outcome, Output, OutputDetail, Step, StepKind, TurnSummary};
use serde::Deserialize;
use serde_json::Value;
use std::borrow::Cow;
use std::sync::LazyLock;

pub(crate) struct CodexParser {
    detail: OutputDetail,
    summary: TurnSummary,
    /// Items started and not yet completed, in the order they started.
    open: Vec<(ItemId, Step)>,
}

/// A line as serde_json reads it. The item and the usage are boxed: the
/// parser moves what it returns several times, and copies of a 304-byte
/// event were 40 % of the time of reading a turn of tiny lines; the boxes
/// are freed on the thread that made them, once the line is decoded.
#[derive(Deserialize)]
struct Event<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    thread_id: Option<String>,
    usage: Option<Box<CodexUsage>>,
    error: Option<ErrorBody>,
    message: Option<String>,
    #[serde(borrow)]
    item: Option<Box<Item<'a>>>,
}

/// A decoded line (see [`crate::agent::StreamParser::decoder`]).
// Not boxed on purpose: a box per line, made on a decoding thread and freed
// on the applying one, cost a tenth of the time of reading a long turn.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Decoded {
    Event(Line),
    /// Valid JSON of another shape (a duplicate top-level key, a non-object).
    Json(Value),
    Unreadable,
}

/// An event, owned, its item already made a step.
pub(crate) struct Line {
    /// Static for the kinds codex writes: a long turn has a hundred
    /// thousand lines.
    kind: Cow<'static, str>,
    /// Boxed: few lines have any of it, and every line is moved several
    /// times between decoding and applying (moves of 336-byte lines were
    /// a tenth of the time of a long read).
    rest: Option<Box<Rest>>,
    item: Option<ItemLine>,
}

/// What an event that is not an item's says.
#[derive(Default)]
struct Rest {
    thread_id: Option<String>,
    usage: Option<CodexUsage>,
    error: Option<ErrorBody>,
    message: Option<String>,
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

impl CodexParser {
    pub(crate) fn new(detail: OutputDetail) -> Self {
        CodexParser {
            detail,
            summary: TurnSummary::default(),
            open: Vec::new(),
        }
    }
}

impl Default for CodexParser {
    fn default() -> Self {
        CodexParser::new(OutputDetail::Whole)
    }
}

impl Event<'_> {
    fn into_line(self, detail: OutputDetail, whole: Option<&SharedLine>) -> Line {
        let done = self.kind == "item.completed";
        let item = self.item.map(|item| *item).map(|item| ItemLine {
            id: item.id.as_deref().map_or(ItemId::None, ItemId::new),
            step: item_step(
                item,
                detail,
                if done {
                    ItemStatus::Completed
                } else {
                    ItemStatus::InProgress
                },
                whole,
            ),
        });
        Line {
            kind: match known_kind(&self.kind) {
                Some(k) => Cow::Borrowed(k),
                None => Cow::Owned(self.kind.into_owned()),
            },
            rest: (self.thread_id.is_some()
                || self.usage.is_some()
                || self.error.is_some()
                || self.message.is_some())
            .then(|| {
                Box::new(Rest {
                    thread_id: self.thread_id,
                    usage: self.usage.map(|u| *u),
                    error: self.error,
                    message: self.message,
                })
            }),
            item,
        }
    }
}

/// The kinds codex writes, as a static string: a `match` rather than a
/// search of a list, whose string compares were a tenth of the time of
/// decoding a tiny line.
fn known_kind(kind: &str) -> Option<&'static str> {
    Some(match kind {
        "item.completed" => "item.completed",
        "item.started" => "item.started",
        "item.updated" => "item.updated",
        "error" => "error",
        "thread.started" => "thread.started",
        "turn.started" => "turn.started",
        "turn.completed" => "turn.completed",
        "turn.failed" => "turn.failed",
        _ => return None,
    })
}

/// `line` decoded; `whole` is the buffer it was read whole into, if it was.
fn decode(line: &[u8], detail: OutputDetail, whole: Option<&SharedLine>) -> Decoded {
    // Checked once here rather than string by string by the JSON parser:
    // that check was a tenth of the time of a long trajectory.
    let Some(line) = crate::turn::utf8_text(line) else {
        return Decoded::Unreadable;
    };
    // An item's event, most lines of a usual turn, has an item: not worth
    // the skim (codex writes `type` first).
    if !line.starts_with(r#"{"type":"item."#) {
        if let Some(ev) = plain_event(line) {
            return Decoded::Event(ev.into_line(detail, whole));
        }
    }
    if let OutputDetail::Preview { lines, width } = detail {
        if let Some(ev) = decode_previewed_command(line, lines, width) {
            return Decoded::Event(ev);
        }
    }
    match serde_json::from_str::<Event>(line) {
        Ok(ev) => Decoded::Event(ev.into_line(detail, whole)),
        Err(_) => match serde_json::from_str::<Value>(line) {
            Ok(raw) => Decoded::Json(raw),
            Err(_) => Decoded::Unreadable,
        },
    }
}

/// An event without an item, usage or error (`turn.started`,
/// `thread.started`: most lines of a turn of tiny lines) read without the
/// JSON parser, as serde_json would read it into an [`Event`]: `type` once
/// (a repeated field is refused by it), `thread_id` and `message` at most
/// once and strings, every other key ignored. None for anything else, or
/// for a line [`json_skim`] does not answer for: the parser reads those.
fn plain_event(line: &str) -> Option<Event<'_>> {
    // Codex writes `type` first and an item's right after it: an item line
    // is given up at its second key, not scanned to its end.
    let [kind, thread_id, message] = json_skim::skim_refusing(
        line,
        &["type", "thread_id", "message"],
        &["item", "usage", "error"],
    )?
    .fields;
    let string = |f: json_skim::Field<'_>| match (f.count, f.last) {
        (0, _) => Some(None),
        (1, Found::Str(s)) => Some(Some(s.to_string())),
        _ => None,
    };
    let kind = match (kind.count, kind.last) {
        (1, Found::Str(k)) => k,
        _ => return None,
    };
    Some(Event {
        kind: Cow::Borrowed(kind),
        thread_id: string(thread_id)?,
        usage: None,
        error: None,
        message: string(message)?,
        item: None,
    })
}

/// A command item whose output only a preview is wanted of, decoded without
/// the JSON parser reading the output (see [`super::json_scan`]): the line
/// is parsed with the output cut out, and the preview taken from the line.
fn decode_previewed_command(line: &str, lines: usize, width: usize) -> Option<Line> {
    static OUTPUT: LazyLock<StringKey> =
        LazyLock::new(|| StringKey::new("item", "aggregated_output"));
    let body = OUTPUT.find(line)?;
    let mut rest = String::with_capacity(line.len() - body.len());
    rest.push_str(&line[..body.start]);
    rest.push_str(&line[body.end..]);
    let ev = serde_json::from_str::<Event>(&rest).ok()?;
    let mut decoded = ev.into_line(OutputDetail::Whole, None);
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

impl CodexParser {
    fn handle(&mut self, lineno: u64, line: Line, emit: &mut dyn FnMut(Step)) {
        let Line { kind, rest, item } = line;
        let rest = rest.map(|r| *r).unwrap_or_default();
        let is_retry = kind == "error"
            && rest
                .message
                .as_deref()
                .is_some_and(|m| m.starts_with("Reconnecting..."));
        if is_retry {
            self.summary.retries_since_progress += 1;
            self.summary.last_retry = rest.message.clone();
        } else {
            self.summary.retries_since_progress = 0;
        }
        let step = |kind| Step { line: lineno, kind };
        match &*kind {
            "thread.started" => self.summary.agent_session_id = rest.thread_id,
            "turn.started" => {}
            "turn.completed" => {
                self.summary.outcome = Some(Outcome::Completed);
                if let Some(u) = rest.usage {
                    self.summary.usage = Some(u.into());
                }
            }
            "turn.failed" => {
                let message = rest
                    .error
                    .and_then(|e| e.message)
                    .unwrap_or_else(|| "the turn failed".into());
                // The same text usually arrived just before as an `error` event.
                if self.summary.last_error.as_deref() != Some(message.as_str()) {
                    emit(step(StepKind::Error {
                        message: message.clone(),
                    }));
                }
                self.note_limit(&message);
                self.summary.last_error = Some(message.clone());
                self.summary.outcome = Some(Outcome::Failed(message));
                if let Some(u) = rest.usage {
                    self.summary.usage = Some(u.into());
                }
            }
            "error" => {
                let message = rest.message.unwrap_or_default();
                if is_retry {
                    emit(step(StepKind::Warning { message }));
                } else {
                    // Said before `turn.failed`, and all there is if codex
                    // dies before writing that.
                    self.note_limit(&message);
                    self.summary.last_error = Some(message.clone());
                    emit(step(StepKind::Error { message }));
                }
            }
            "item.started" | "item.updated" | "item.completed" => {
                let Some(item) = item else {
                    emit(step(StepKind::Other {
                        kind: kind.into_owned(),
                        raw: Value::Null,
                    }));
                    return;
                };
                self.item(lineno, &kind, item, emit);
            }
            _ => emit(step(StepKind::Other {
                kind: kind.into_owned(),
                raw: Value::Null,
            })),
        }
    }

    /// A fatal message that names the account's limit.
    fn note_limit(&mut self, message: &str) {
        if let Some(limit) = super::limit::usage_limit(message) {
            self.summary.usage_limit = Some(limit);
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

impl StreamParser for CodexParser {
    type Line = Decoded;

    fn decode(line: &[u8], detail: OutputDetail) -> Decoded {
        decode(line, detail, None)
    }

    fn decode_in(line: &[u8], whole: &SharedLine, detail: OutputDetail) -> Decoded {
        decode(line, detail, Some(whole))
    }

    fn detail(&self) -> OutputDetail {
        self.detail
    }

    fn apply(&mut self, lineno: u64, line: Decoded, emit: &mut dyn FnMut(Step)) {
        // Most lines of a long turn of tiny lines: what `handle` does with
        // such a line, told from a borrow. Moving each line of a couple of
        // hundred bytes into `handle`, and making an empty `Rest` there, was
        // a tenth of the time of reading them.
        if let Decoded::Event(Line {
            kind,
            rest: None,
            item: None,
        }) = &line
        {
            if kind == "turn.started" {
                self.summary.events += 1;
                self.summary.retries_since_progress = 0;
                return;
            }
        }
        match line {
            Decoded::Event(ev) => {
                self.summary.events += 1;
                self.handle(lineno, ev, emit);
            }
            Decoded::Json(raw) => {
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
