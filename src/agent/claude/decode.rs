//! A line of claude's stream, decoded: most lines parsed whole into a tree,
//! and those that carry nothing a trajectory needs (most of a stream with
//! partial messages) skimmed for their session id without one.

use crate::turn::json_skim::{self, Found};
use crate::turn::OutputDetail;
use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use std::borrow::Cow;
use std::fmt;

/// A decoded line (see [`crate::turn::StreamParser::decode`]).
pub(crate) enum Decoded {
    /// Not JSON: counted as skipped.
    Invalid,
    /// A line of a kind that carries nothing, or a `system` line of a subtype
    /// that is not read: only its session id matters. No tree, so nothing
    /// allocated for most lines of a stream with partial messages.
    Skimmed { session_id: Option<String> },
    /// Any other line, parsed whole.
    Whole(Value),
}

impl From<Option<Value>> for Decoded {
    fn from(v: Option<Value>) -> Self {
        v.map_or(Decoded::Invalid, Decoded::Whole)
    }
}

/// Kinds of line that carry nothing a trajectory needs: partial messages
/// (the complete assistant lines follow anyway) and, known to exist in
/// 2.1.330, progress and control lines.
pub(super) const CARRY_NOTHING: [&str; 8] = [
    "stream_event",
    "tool_progress",
    "auth_status",
    "tool_use_summary",
    "prompt_suggestion",
    "keep_alive",
    "control_request",
    "control_response",
];

pub(super) fn decode(line: &[u8], _: OutputDetail) -> Decoded {
    // Checked once rather than string by string by serde_json (see
    // `utf8_text`): a twentieth of the time of a usual turn. No JSON holds
    // bytes that are not UTF-8, so a line refused here is refused either way.
    let Some(line) = crate::turn::utf8_text(line) else {
        return Decoded::Invalid;
    };
    skim(line).unwrap_or_else(|| serde_json::from_str(line).ok().into())
}

/// `system` subtypes the parser reads more of than the session id.
const SYSTEM_READ: [&str; 2] = ["init", "api_retry"];

/// A line of a kind that carries nothing (most of a stream with partial
/// messages) or a `system` line of a subtype not read, decoded to its session
/// id without building the tree of the rest: those trees were most of the
/// time of reading such a stream. The rest is still checked, by
/// [`json_skim`] where it can prove the line valid and by serde_json where
/// it cannot, and refused exactly where building the tree would fail. Claude writes
/// `type` first, which the kind is recognised by before anything is parsed;
/// `None` for a line to parse whole.
fn skim(line: &str) -> Option<Decoded> {
    const HEAD: &str = "{\"type\":\"";
    let kind = line
        .strip_prefix(HEAD)
        .and_then(|rest| memchr::memchr(b'"', rest.as_bytes()).map(|end| &rest[..end]))?;
    if !(kind == "system" || CARRY_NOTHING.contains(&kind)) {
        return None;
    }
    let head = match fast_head(line) {
        Some(head) => Ok(head),
        None => serde_json::from_str::<Head>(line),
    };
    match head {
        // A later `type` or `subtype` may have said otherwise.
        Ok(head) if head.carries_nothing() => Some(Decoded::Skimmed {
            session_id: head.session_id.map(Cow::into_owned),
        }),
        Ok(_) => None,
        Err(_) => Some(Decoded::Invalid),
    }
}

/// The [`Head`] of a line [`json_skim`] answers for, its strings borrowed;
/// None for serde_json to read (a string with escapes among the three).
fn fast_head(line: &str) -> Option<Head<'_>> {
    let skim = json_skim::skim(line, &["type", "subtype", "session_id"])?;
    let mut strings = [None, None, None];
    for (string, field) in strings.iter_mut().zip(skim.fields) {
        *string = match field.last {
            Found::Str(s) => Some(Cow::Borrowed(s)),
            Found::Escaped => return None,
            Found::Absent | Found::Other => None,
        };
    }
    let [kind, subtype, session_id] = strings;
    Some(Head {
        kind,
        subtype,
        session_id,
    })
}

/// The type, subtype and session id of a line's object, where they are
/// strings (the last of a repeated key counts, as in a map); every other
/// value parsed and dropped.
struct Head<'a> {
    kind: Option<Cow<'a, str>>,
    subtype: Option<Cow<'a, str>>,
    session_id: Option<Cow<'a, str>>,
}

impl Head<'_> {
    /// Whether the parser reads nothing of the line but its session id (see
    /// `ClaudeParser::handle`).
    fn carries_nothing(&self) -> bool {
        match self.kind.as_deref() {
            Some("system") => !SYSTEM_READ.contains(&self.subtype.as_deref().unwrap_or_default()),
            Some(kind) => CARRY_NOTHING.contains(&kind),
            None => false,
        }
    }
}

impl<'de> Deserialize<'de> for Head<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Head<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Head<'de>, A::Error> {
                let mut head = Head {
                    kind: None,
                    subtype: None,
                    session_id: None,
                };
                while let Some(Key(key)) = map.next_key()? {
                    match &*key {
                        "type" => head.kind = map.next_value::<MaybeStr>()?.0,
                        "subtype" => head.subtype = map.next_value::<MaybeStr>()?.0,
                        "session_id" => head.session_id = map.next_value::<MaybeStr>()?.0,
                        _ => map.next_value::<Parsed>().map(drop)?,
                    }
                }
                Ok(head)
            }
        }
        d.deserialize_map(V)
    }
}

/// A key, borrowed unless it has escapes.
struct Key<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        MaybeStr::deserialize(d).map(|s| Key(s.0.unwrap_or_default()))
    }
}

/// A value parsed in full, its string kept if it is one.
struct MaybeStr<'a>(Option<Cow<'a, str>>);

impl<'de> Deserialize<'de> for MaybeStr<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(Checked)
    }
}

/// Any value parsed in full (numbers in range, strings with their escapes
/// decoded, nesting within the parser's limit), and nothing kept.
struct Parsed;

impl<'de> Deserialize<'de> for Parsed {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(Checked).map(|_| Parsed)
    }
}

/// The visitor of [`MaybeStr`] and [`Parsed`]: the checks of building a
/// `Value`, without the value.
struct Checked;

impl<'de> Visitor<'de> for Checked {
    type Value = MaybeStr<'de>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Self::Value, E> {
        Ok(MaybeStr(Some(Cow::Borrowed(s))))
    }
    fn visit_str<E>(self, s: &str) -> Result<Self::Value, E> {
        Ok(MaybeStr(Some(Cow::Owned(s.to_string()))))
    }
    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(MaybeStr(None))
    }
    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(MaybeStr(None))
    }
    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(MaybeStr(None))
    }
    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(MaybeStr(None))
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(MaybeStr(None))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<Parsed>()?.is_some() {}
        Ok(MaybeStr(None))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<Key, Parsed>()?.is_some() {}
        Ok(MaybeStr(None))
    }
}
