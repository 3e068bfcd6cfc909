//! A line of codex's event stream decoded on its own: read without the
//! JSON parser where it carries no item, a command's output previewed
//! without decoding it, otherwise parsed by serde_json; its item made a
//! step.

use super::item::{item_step, Item};
use super::item_line;
use super::json_scan::StringKey;
use super::line::{known_kind, CodexUsage, ErrorBody, ItemId, ItemLine, Line, Rest};
use crate::turn::json_skim::{self, Found};
use crate::turn::lazy_text::{self, SharedLine};
use crate::turn::{ItemStatus, Output, OutputDetail, StepKind};
use serde::Deserialize;
use serde_json::Value;
use std::borrow::Cow;
use std::sync::LazyLock;
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

/// A decoded line (see [`crate::agent::StreamParser::decoder`]): 40
/// bytes, its item boxed (see [`Line::item`]).
pub(crate) enum Decoded {
    Event(Line),
    /// Valid JSON of another shape (a duplicate top-level key, a non-object).
    Json(Value),
    Unreadable,
}

impl Event<'_> {
    fn into_line(self, detail: OutputDetail, whole: Option<&SharedLine>) -> Line {
        let done = self.kind == "item.completed";
        let item = self.item.map(|item| *item).map(|item| {
            Box::new(ItemLine {
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
            })
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

/// `line` decoded; `whole` is the buffer it was read whole into, if it was.
pub(super) fn decode(line: &[u8], detail: OutputDetail, whole: Option<&SharedLine>) -> Decoded {
    // Checked once here rather than string by string by the JSON parser:
    // that check was a tenth of the time of a long trajectory.
    let Some(line) = crate::turn::utf8_text(line) else {
        return Decoded::Unreadable;
    };
    // An item's event, most lines of a usual turn, has an item: not worth
    // the skim (codex writes `type` first), read by hand where it can be.
    if line.starts_with(r#"{"type":"item."#) {
        // A line read whole keeps its long literals in place, which only
        // the parser's path does.
        if let Some(ev) = whole
            .is_none()
            .then(|| item_line::read(line, detail))
            .flatten()
        {
            return Decoded::Event(ev);
        }
    } else {
        if let Some(ev) = bare_event(line) {
            return Decoded::Event(ev);
        }
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

/// The line as the parser's path reads it, for tests of the faster ones.
#[cfg(test)]
pub(super) fn parsed(line: &str, detail: OutputDetail) -> Option<Line> {
    let ev = serde_json::from_str::<Event>(line).ok()?;
    Some(ev.into_line(detail, None))
}

/// `{"type":"KIND"}` with a kind codex writes and nothing else but JSON's
/// blanks (most lines of a turn of tiny lines), told by its bytes. Known
/// kinds hold no escape, so the first quote after the kind's own ends it.
fn bare_event(line: &str) -> Option<Line> {
    let rest = line.strip_prefix(r#"{"type":""#)?;
    let end = memchr::memchr(b'"', rest.as_bytes())?;
    let kind = known_kind(&rest[..end])?;
    let tail = rest[end + 1..].trim_start_matches([' ', '\t', '\n', '\r']);
    (tail == "}").then_some(Line {
        kind: Cow::Borrowed(kind),
        rest: None,
        item: None,
    })
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A bare event is told by its bytes only where serde_json reads the
    /// line as that event and nothing else; every other line is left to
    /// the slower readers.
    #[test]
    fn a_bare_event_is_what_serde_json_reads() {
        let bare = [
            r#"{"type":"turn.started"}"#,
            r#"{"type":"turn.started"  }"#,
            "{\"type\":\"thread.started\"\t\r\n }",
            r#"{"type":"error"}"#,
        ];
        for line in bare {
            let line_read = bare_event(line).expect(line);
            let ev: Event = serde_json::from_str(line).expect(line);
            assert_eq!(ev.kind, line_read.kind, "{line}");
            assert!(ev.thread_id.is_none() && ev.usage.is_none() && ev.item.is_none());
            assert!(ev.error.is_none() && ev.message.is_none());
        }
        let not_bare = [
            r#"{"type":"turn.started","x":1}"#,
            r#"{"type":"turn.started"} x"#,
            r#"{"type":"turn.started",}"#,
            r#"{"type":"turn.started""#,
            r#"{"type":"turn\".started"}"#,
            r#"{"type":"turn\u002estarted"}"#,
            r#"{"type":"turn.progress"}"#,
            r#"{"type":"turn.started"}}"#,
            r#"{"type" :"turn.started"}"#,
        ];
        for line in not_bare {
            assert!(bare_event(line).is_none(), "{line}");
        }
    }
}
