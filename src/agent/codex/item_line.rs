//! An item's event (`{"type":"item.…","item":{…}}`), most lines of a turn,
//! read by hand straight into its step.
//!
//! serde_json read each such line into an [`super::item::Item`] of borrowed
//! values, then the step was made of it: with the allocations of both, that
//! was two thirds of the time of a turn of many small events. This reader
//! walks the line once with [`json_skim::Scanner`], which proves every byte
//! valid by a grammar stricter than serde_json's, keeps where the strings it
//! needs lie, and makes the step of the kinds of item codex writes most. It
//! answers only for a line it reads to exactly the step the serde_json path
//! makes (see the tests); for anything else (another key order, a kind of
//! item it does not know, a value of an unusual type, a `\u` escape) it says
//! `None` and the line is read as before.

use super::item::mcp_result_text;
use super::line::{known_kind, ItemId, ItemLine, Line};
use crate::turn::json_skim::{self, Scanner};
use crate::turn::lazy_text::{self, LazyText};
use crate::turn::{FileChange, ItemStatus, Output, OutputDetail, PlanItem, StepKind};
use serde_json::value::RawValue;
use serde_json::Value;
use std::borrow::Cow;

/// A string value as it lies in the line.
#[derive(Clone, Copy)]
struct Text<'a> {
    /// With its quotes.
    literal: &'a str,
    escaped: bool,
}

impl<'a> Text<'a> {
    fn at(line: &'a str, (start, end): (usize, usize), escaped: bool) -> Self {
        Text {
            literal: &line[start - 1..end + 1],
            escaped,
        }
    }

    /// Between the quotes.
    fn body(self) -> &'a str {
        &self.literal[1..self.literal.len() - 1]
    }

    fn decoded(self) -> Cow<'a, str> {
        match self.escaped {
            true => Cow::Owned(lazy_text::unescape(self.body())),
            false => Cow::Borrowed(self.body()),
        }
    }

    /// The body itself, where it has no escape: the kind and the status of
    /// an item are matched against names, which have none.
    fn plain(self) -> Option<&'a str> {
        (!self.escaped).then(|| self.body())
    }
}

/// The string `text` holds, or the empty string where the item has none.
fn owned(text: Option<Text>) -> String {
    text.map(|t| t.decoded().into_owned()).unwrap_or_default()
}

/// What the item holds of the keys its step is made from. A key given
/// twice counts with its last value, as in serde_json's map, except `id`,
/// whose first value is the item's (see [`super::item::Item`]).
#[derive(Default)]
struct Fields<'a> {
    id: Option<Text<'a>>,
    kind: Option<Text<'a>>,
    status: Option<Text<'a>>,
    command: Option<Text<'a>>,
    text: Option<Text<'a>>,
    output: Option<Out<'a>>,
    exit_code: Option<i64>,
    server: Option<Text<'a>>,
    tool: Option<Text<'a>>,
    query: Option<Text<'a>>,
    message: Option<Text<'a>>,
    /// JSON texts of an MCP call's values, parsed only for such a call.
    arguments: Option<&'a str>,
    result: Option<&'a str>,
    error: Option<&'a str>,
    changes: Option<Vec<FileChange>>,
    items: Option<Vec<PlanItem>>,
}

/// A command's output as read for its reader.
#[derive(Clone, Copy)]
enum Out<'a> {
    /// The body of the literal, which the scanner checked.
    Body(&'a str),
    /// The literal, which serde_json checked (it keeps only a value it
    /// has checked itself).
    Whole(&'a RawValue),
}

/// The line's event, if it is an item's this reader answers for.
pub(super) fn read(line: &str, detail: OutputDetail) -> Option<Line> {
    let mut s = Scanner::new(line);
    s.ws();
    s.eat(b'{')?;
    s.ws();
    key(&mut s, b"type")?;
    let kind = text(&mut s, line, 1)?.plain()?;
    let kind = known_kind(kind).filter(|k| k.starts_with("item."))?;
    s.ws();
    s.eat(b',')?;
    s.ws();
    key(&mut s, b"item")?;
    let f = fields(&mut s, line, detail)?;
    s.ws();
    s.eat(b'}')?;
    s.ws();
    if !s.at_end() {
        return None;
    }
    let status = match f.status {
        Some(status) => ItemStatus::parse(status.plain()?),
        None if kind == "item.completed" => ItemStatus::Completed,
        None => ItemStatus::InProgress,
    };
    let step = match f.kind?.plain()? {
        "agent_message" => StepKind::Message {
            text: owned(f.text),
        },
        "reasoning" => StepKind::Reasoning {
            text: owned(f.text),
        },
        "command_execution" => StepKind::Command {
            command: owned(f.command),
            output: output(f.output, detail),
            exit_code: f.exit_code,
            status,
        },
        "file_change" => StepKind::FileChange {
            changes: f.changes.unwrap_or_default(),
            status,
        },
        "todo_list" => StepKind::Plan {
            items: f.items.unwrap_or_default(),
        },
        "mcp_tool_call" => {
            let value = |raw: Option<&str>| raw.map(serde_json::from_str::<Value>).transpose();
            StepKind::ToolCall {
                server: f.server.map(|t| t.decoded().into_owned()),
                tool: owned(f.tool),
                arguments: value(f.arguments).ok()?.unwrap_or(Value::Null),
                result: value(f.result).ok()?.as_ref().and_then(mcp_result_text),
                error: value(f.error)
                    .ok()?
                    .and_then(|e| e["message"].as_str().map(str::to_string)),
                status,
                parent: None,
            }
        }
        // A search without its query at the top is read by the parser.
        "web_search" => StepKind::WebSearch {
            query: f.query?.decoded().into_owned(),
            status,
        },
        "error" => StepKind::Warning {
            message: owned(f.message),
        },
        _ => return None,
    };
    Some(Line {
        kind: Cow::Borrowed(kind),
        rest: None,
        item: Some(Box::new(ItemLine {
            id: f.id.map_or(ItemId::None, |id| ItemId::new(&id.decoded())),
            step,
        })),
    })
}

/// A command's output as its reader asked for it.
fn output(out: Option<Out>, detail: OutputDetail) -> Output {
    match (out, detail) {
        (None, detail) => Output::new(LazyText::default(), detail),
        (Some(Out::Body(body)), OutputDetail::Preview { lines, width }) => {
            Output::Preview(lazy_text::preview_escaped_body(body, lines, width))
        }
        (Some(Out::Whole(raw)), OutputDetail::Whole) => {
            Output::Whole(LazyText::Json(raw.to_owned()))
        }
        // Read as `detail` asked (see `fields`).
        (Some(Out::Body(_)), OutputDetail::Whole) | (Some(Out::Whole(_)), _) => {
            Output::new(LazyText::default(), detail)
        }
    }
}

/// A command's output (the value of `aggregated_output`), as a string
/// serde_json would skip: checked here for a preview, by serde_json where it
/// is kept whole, which this reader would only repeat.
fn command_output<'a>(s: &mut Scanner<'a>, line: &'a str, detail: OutputDetail) -> Option<Out<'a>> {
    let whole = matches!(detail, OutputDetail::Whole);
    let (start, end) = s.skipped_string(!whole)?;
    Some(match whole {
        true => Out::Whole(serde_json::from_str(&line[start - 1..end + 1]).ok()?),
        false => Out::Body(&line[start..end]),
    })
}

/// The key `want` and its colon.
fn key(s: &mut Scanner, want: &[u8]) -> Option<()> {
    (s.key()? == want).then_some(())?;
    colon(s)
}

fn colon(s: &mut Scanner) -> Option<()> {
    s.ws();
    s.eat(b':')?;
    s.ws();
    Some(())
}

/// A value that must be a string.
fn text<'a>(s: &mut Scanner<'a>, line: &'a str, depth: usize) -> Option<Text<'a>> {
    match s.value(depth)? {
        json_skim::Value::Str { body, escaped } => Some(Text::at(line, body, escaped)),
        json_skim::Value::Other => None,
    }
}

/// A value's JSON text, for one that is not a string.
fn other<'a>(
    s: &mut Scanner<'a>,
    line: &'a str,
    depth: usize,
) -> Option<Result<&'a str, Text<'a>>> {
    let start = s.pos();
    Some(match s.value(depth)? {
        json_skim::Value::Str { body, escaped } => Err(Text::at(line, body, escaped)),
        json_skim::Value::Other => Ok(&line[start..s.pos()]),
    })
}

/// A value's JSON text, whatever it is.
fn raw<'a>(s: &mut Scanner<'a>, line: &'a str, depth: usize) -> Option<&'a str> {
    let start = s.pos();
    s.value(depth)?;
    Some(&line[start..s.pos()])
}

/// The item object's keys, read to its closing brace.
fn fields<'a>(s: &mut Scanner<'a>, line: &'a str, detail: OutputDetail) -> Option<Fields<'a>> {
    let mut f = Fields::default();
    s.eat(b'{')?;
    s.ws();
    if s.peek() == Some(b'}') {
        s.next();
        return Some(f);
    }
    loop {
        let key = s.key()?;
        colon(s)?;
        match key {
            b"id" if f.id.is_none() => f.id = Some(text(s, line, 2)?),
            b"type" => f.kind = Some(text(s, line, 2)?),
            b"status" => f.status = Some(text(s, line, 2)?),
            b"command" => f.command = Some(text(s, line, 2)?),
            b"text" => f.text = Some(text(s, line, 2)?),
            // Any other value is left to the parser.
            b"aggregated_output" => f.output = Some(command_output(s, line, detail)?),
            b"exit_code" => f.exit_code = exit_code(other(s, line, 2)?.ok()?)?,
            b"server" => f.server = Some(text(s, line, 2)?),
            b"tool" => f.tool = Some(text(s, line, 2)?),
            b"query" => f.query = Some(text(s, line, 2)?),
            b"message" => f.message = Some(text(s, line, 2)?),
            b"arguments" => f.arguments = Some(raw(s, line, 2)?),
            b"result" => f.result = Some(raw(s, line, 2)?),
            b"error" => f.error = Some(raw(s, line, 2)?),
            b"changes" => f.changes = Some(array(s, line, change)?),
            b"items" => f.items = Some(array(s, line, plan_item)?),
            // Another key (a second `id` among them) counts for none of
            // these kinds of item: only its value's validity matters.
            _ => {
                s.value(2)?;
            }
        }
        s.ws();
        match s.next()? {
            b',' => s.ws(),
            b'}' => return Some(f),
            _ => return None,
        }
    }
}

/// An exit code: `null`, or an integer in plain digits (as
/// [`super::item::Item`] reads it); `None` for any other number.
fn exit_code(raw: &str) -> Option<Option<i64>> {
    if raw == "null" {
        return Some(None);
    }
    let digits = raw.strip_prefix('-').unwrap_or(raw);
    // `-0` is a float to serde_json, which is no exit code.
    if raw == "-0" || digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    raw.parse().ok().map(Some)
}

/// An array (at depth 2) of objects, each read by `element`.
fn array<'a, T>(
    s: &mut Scanner<'a>,
    line: &'a str,
    element: fn(&mut Scanner<'a>, &'a str) -> Option<T>,
) -> Option<Vec<T>> {
    let mut out = Vec::new();
    s.eat(b'[')?;
    s.ws();
    if s.peek() == Some(b']') {
        s.next();
        return Some(out);
    }
    loop {
        out.push(element(s, line)?);
        s.ws();
        match s.next()? {
            b',' => s.ws(),
            b']' => return Some(out),
            _ => return None,
        }
    }
}

/// An object (at depth 3) whose string values of `keys` are wanted, the
/// last of each; the values of other keys are only checked. `on_other`
/// takes a wanted key's value that is not a string, by its index and JSON
/// text.
fn object<'a, const N: usize>(
    s: &mut Scanner<'a>,
    line: &'a str,
    keys: [&[u8]; N],
    mut on_other: impl FnMut(usize, &'a str),
) -> Option<[Option<Text<'a>>; N]> {
    let mut found = [None; N];
    s.eat(b'{')?;
    s.ws();
    if s.peek() == Some(b'}') {
        s.next();
        return Some(found);
    }
    loop {
        let key = s.key()?;
        colon(s)?;
        match keys.iter().position(|k| *k == key) {
            Some(at) => match other(s, line, 4)? {
                Err(text) => found[at] = Some(text),
                Ok(raw) => {
                    found[at] = None;
                    on_other(at, raw);
                }
            },
            None => {
                s.value(4)?;
            }
        }
        s.ws();
        match s.next()? {
            b',' => s.ws(),
            b'}' => return Some(found),
            _ => return None,
        }
    }
}

/// A file change: its path (empty if it has none) and kind (`update` if
/// it has none), each only where it is a string.
fn change<'a>(s: &mut Scanner<'a>, line: &'a str) -> Option<FileChange> {
    let [path, kind] = object(s, line, [b"path", b"kind"], |_, _| {})?;
    Some(FileChange {
        path: owned(path),
        kind: kind
            .map_or(Cow::Borrowed("update"), Text::decoded)
            .into_owned(),
    })
}

/// A to-do item: its text, and whether its `completed` is `true`.
fn plan_item<'a>(s: &mut Scanner<'a>, line: &'a str) -> Option<PlanItem> {
    let mut completed = false;
    let [text, done] = object(s, line, [b"text", b"completed"], |at, raw| {
        if at == 1 {
            completed = raw == "true";
        }
    })?;
    // A string `completed` is not `true`.
    if done.is_some() {
        completed = false;
    }
    Some(PlanItem {
        text: owned(text),
        status: if completed { "completed" } else { "pending" }.to_string(),
    })
}

#[cfg(test)]
mod tests;
