//! What `list` shows of a session, read from `meta.json` without building the
//! rest. A long-lived session's `meta.json` is mostly messages and per-turn
//! records, and `list` reads thousands of them: their strings are borrowed
//! from the file where they can be, and the parts `list` never shows are
//! skipped over rather than built.

use super::model::{Ending, Message, Session, SessionStatus, TurnRecord, Usage};
use crate::timefmt::Timestamp;
use serde::de::{Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::fmt;

/// The keys `list` and `list --json` show. Required keys and defaults are
/// those of [`Session`], so a file one of them rejects the other rejects too.
/// A key added here goes into [`KEPT`] as well.
#[derive(Deserialize)]
struct Brief<'a, M> {
    #[serde(borrow)]
    id: Cow<'a, str>,
    #[serde(borrow)]
    task: Cow<'a, str>,
    status: SessionStatus,
    #[serde(borrow)]
    working_dir: Cow<'a, str>,
    created_at: Timestamp,
    updated_at: Timestamp,
    #[serde(default)]
    pid: Option<i32>,
    #[serde(default)]
    exit_code: Option<i32>,
    #[serde(default, borrow)]
    model: Cow<'a, str>,
    #[serde(default = "first_turn")]
    turn: u32,
    /// Only the last agent message, which `list --json` shows; the table
    /// does not, and skips them all.
    #[serde(default)]
    messages: M,
    #[serde(default)]
    token_usage: BriefUsage,
    #[serde(default, borrow)]
    error: Option<Cow<'a, str>>,
    #[serde(default = "user_source", borrow)]
    source: Cow<'a, str>,
    #[serde(default = "codex_adapter", borrow)]
    adapter: Cow<'a, str>,
    #[serde(default)]
    sandbox: Option<String>,
    #[serde(default)]
    cost_usd: Option<f64>,
    #[serde(default)]
    agent_session_id: Option<String>,
    #[serde(default)]
    turns: Vec<BriefTurn>,
}

/// The keys of [`Brief`] but `messages`: what the list index keeps of a
/// file (see [`excerpt`]). A test checks that they are `Brief`'s.
const KEPT: &[&str] = &[
    "id",
    "task",
    "status",
    "working_dir",
    "created_at",
    "updated_at",
    "pid",
    "exit_code",
    "model",
    "turn",
    "token_usage",
    "error",
    "source",
    "adapter",
    "sandbox",
    "cost_usd",
    "agent_session_id",
    "turns",
];

fn first_turn() -> u32 {
    1
}
fn user_source() -> Cow<'static, str> {
    Cow::Borrowed("user")
}
fn codex_adapter() -> Cow<'static, str> {
    Cow::Borrowed("codex")
}

/// The counts of [`Usage`]; keys zwarm does not know are not kept.
#[derive(Deserialize, Default)]
#[serde(default)]
struct BriefUsage {
    input_tokens: u64,
    output_tokens: u64,
    total_tokens: u64,
    cached_input_tokens: u64,
    reasoning_output_tokens: u64,
    cache_write_input_tokens: u64,
    cache_read_input_tokens: u64,
    cache_creation_input_tokens: u64,
}

/// When a turn started and how it ended; its process records, usage and
/// messages are skipped.
#[derive(Deserialize)]
struct BriefTurn {
    turn: u32,
    started_at: Option<Timestamp>,
    #[serde(default)]
    ended_at: Option<Timestamp>,
    #[serde(default)]
    ending: Option<Ending>,
}

/// Whether a message is the agent's, and then its content. The content of
/// the others (tasks, instructions) is skipped, not read.
struct BriefMessage<'a> {
    assistant: bool,
    content: Option<Cow<'a, str>>,
}

impl<'de> Deserialize<'de> for BriefMessage<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(field_identifier, rename_all = "lowercase")]
        enum Key {
            Role,
            Content,
            #[serde(other)]
            Other,
        }
        #[derive(Deserialize)]
        struct Text<'a>(#[serde(borrow)] Cow<'a, str>);
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = BriefMessage<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a message")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut assistant = None;
                let mut content = None;
                while let Some(key) = map.next_key::<Key>()? {
                    match key {
                        Key::Role => {
                            let role: Option<Text> = map.next_value()?;
                            assistant = Some(role.is_some_and(|r| r.0 == "assistant"));
                        }
                        Key::Content if assistant == Some(false) => {
                            map.next_value::<IgnoredAny>()?;
                        }
                        Key::Content => content = Some(map.next_value::<Text>()?.0),
                        Key::Other => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(BriefMessage {
                    assistant: assistant == Some(true),
                    content,
                })
            }
        }
        d.deserialize_map(V)
    }
}

/// What is read of `messages`: [`LastMessage`] or [`NoMessage`].
trait MessagesField<'de>: Deserialize<'de> + Default {
    fn into_last(self) -> Option<Message>;
}

/// The last agent message.
#[derive(Default)]
struct LastMessage(Option<Message>);

impl<'de> MessagesField<'de> for LastMessage {
    fn into_last(self) -> Option<Message> {
        self.0
    }
}

impl<'de> Deserialize<'de> for LastMessage {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        last_assistant_message(d).map(LastMessage)
    }
}

/// None of the messages; they are checked to be a list of objects, as they
/// are when read for the last one, and skipped.
#[derive(Default)]
struct NoMessage;

impl<'de> MessagesField<'de> for NoMessage {
    fn into_last(self) -> Option<Message> {
        None
    }
}

impl<'de> Deserialize<'de> for NoMessage {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Objects;
        impl<'de> Visitor<'de> for Objects {
            type Value = NoMessage;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a list of messages")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<NoMessage, A::Error> {
                while seq.next_element::<Object>()?.is_some() {}
                Ok(NoMessage)
            }
        }
        struct Object;
        impl<'de> Deserialize<'de> for Object {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl<'de> Visitor<'de> for V {
                    type Value = Object;
                    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                        f.write_str("a message")
                    }
                    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Object, A::Error> {
                        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                        Ok(Object)
                    }
                }
                d.deserialize_map(V)
            }
        }
        d.deserialize_seq(Objects)
    }
}

fn last_assistant_message<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Message>, D::Error> {
    struct Last;
    impl<'de> Visitor<'de> for Last {
        type Value = Option<Message>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a list of messages")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut last: Option<Cow<'de, str>> = None;
            while let Some(m) = seq.next_element::<BriefMessage<'de>>()? {
                if m.assistant {
                    last = Some(m.content.unwrap_or_default());
                }
            }
            Ok(last.map(|content| agent_message(content.into_owned())))
        }
    }
    d.deserialize_seq(Last)
}

/// The last agent message as a brief holds it: its content only.
pub fn agent_message(content: String) -> Message {
    Message {
        role: "assistant".into(),
        content,
        timestamp: String::new(),
        metadata: Default::default(),
    }
}

/// A [`Session`] holding what `list` shows: `messages` has only the last
/// agent message (with `last_message`, else none), `turns` only the latest
/// turn's start, end and ending, and keys zwarm does not know are left out.
/// For display only: never save it.
pub fn parse(bytes: &[u8], last_message: bool) -> Result<Session, String> {
    // UTF-8 checked once, with SIMD, rather than string by string.
    let text = simdutf8::basic::from_utf8(bytes).map_err(|e| e.to_string())?;
    if last_message {
        return parse_with::<LastMessage>(text);
    }
    parse_with::<NoMessage>(text)
}

fn parse_with<'a, M: MessagesField<'a>>(text: &'a str) -> Result<Session, String> {
    let b: Brief<M> = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let u = b.token_usage;
    let turns = b
        .turns
        .into_iter()
        .rev()
        .find(|t| t.turn == b.turn)
        .map(|t| TurnRecord {
            turn: t.turn,
            started_at: t.started_at,
            ended_at: t.ended_at,
            ending: t.ending,
            ..Default::default()
        })
        .into_iter()
        .collect();
    Ok(Session {
        id: b.id.into_owned(),
        task: b.task.into_owned(),
        status: b.status,
        working_dir: b.working_dir.into_owned(),
        created_at: b.created_at,
        updated_at: b.updated_at,
        pid: b.pid,
        exit_code: b.exit_code,
        model: b.model.into_owned(),
        turn: b.turn,
        messages: b.messages.into_last().into_iter().collect(),
        token_usage: Usage {
            input_tokens: u.input_tokens,
            output_tokens: u.output_tokens,
            total_tokens: u.total_tokens,
            cached_input_tokens: u.cached_input_tokens,
            reasoning_output_tokens: u.reasoning_output_tokens,
            cache_write_input_tokens: u.cache_write_input_tokens,
            cache_read_input_tokens: u.cache_read_input_tokens,
            cache_creation_input_tokens: u.cache_creation_input_tokens,
            other: Default::default(),
        },
        error: b.error.map(Cow::into_owned),
        source: b.source.into_owned(),
        adapter: b.adapter.into_owned(),
        sandbox: b.sandbox,
        cost_usd: b.cost_usd,
        agent_session_id: b.agent_session_id,
        turns,
        other: Default::default(),
    })
}

/// What the list index keeps of a `meta.json` that [`parse`] read as a
/// session at turn `turn`: the [`KEPT`] keys in the file's own text, minus
/// the whitespace between tokens, with `turns` cut to the one record `parse`
/// keeps. `parse` reads from it exactly what it reads from the file, where a
/// re-serialised [`Session`] would differ: a timestamp with an offset is
/// local time once read, so it must stay text to be read in the time zone
/// of each listing; digits past the microsecond, and floats that serde_json
/// does not read back exactly, would be lost. None if the text is not a
/// JSON object, or holds a kept key twice.
pub fn excerpt(bytes: &[u8], turn: u32) -> Option<Vec<u8>> {
    let text = simdutf8::basic::from_utf8(bytes).ok()?;
    let mut out = Vec::with_capacity(text.len().min(4096));
    kept_members(text, KEPT, &mut out, |key, value, out| match key {
        "turns" => {
            // The record `parse` picks, read as it reads it.
            let turns: Vec<&RawValue> = serde_json::from_str(value.get()).ok()?;
            let record = turns
                .into_iter()
                .rev()
                .find(|t| serde_json::from_str::<BriefTurn>(t.get()).is_ok_and(|t| t.turn == turn));
            out.push(b'[');
            if let Some(record) = record {
                kept_members(record.get(), TURN_KEPT, out, minified)?;
            }
            out.push(b']');
            Some(())
        }
        "token_usage" => kept_members(value.get(), USAGE_KEPT, out, minified),
        _ => minified(key, value, out),
    })?;
    Some(out)
}

/// The keys of [`BriefTurn`] and of [`BriefUsage`]: all `parse` reads of a
/// turn record and of the usage, so all an excerpt keeps of them. A test
/// checks that they are the structs' own.
const TURN_KEPT: &[&str] = &["turn", "started_at", "ended_at", "ending"];
const USAGE_KEPT: &[&str] = &[
    "input_tokens",
    "output_tokens",
    "total_tokens",
    "cached_input_tokens",
    "reasoning_output_tokens",
    "cache_write_input_tokens",
    "cache_read_input_tokens",
    "cache_creation_input_tokens",
];

/// Writes `{"key":value,...}` with the members of the JSON object `text`
/// named in `keys`, in the file's order, each value written by `value`.
/// None if `text` is not an object, holds one of `keys` twice (`parse`
/// refuses that too) or `value` refuses one.
fn kept_members(
    text: &str,
    keys: &[&str],
    out: &mut Vec<u8>,
    mut value: impl FnMut(&str, &RawValue, &mut Vec<u8>) -> Option<()>,
) -> Option<()> {
    struct Members<'a>(Vec<(Cow<'a, str>, &'a RawValue)>);
    impl<'de> Deserialize<'de> for Members<'de> {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V;
            impl<'de> Visitor<'de> for V {
                type Value = Members<'de>;
                fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                    f.write_str("an object")
                }
                fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                    let mut out = Vec::new();
                    while let Some(entry) = map.next_entry()? {
                        out.push(entry);
                    }
                    Ok(Members(out))
                }
            }
            d.deserialize_map(V)
        }
    }
    let members = serde_json::from_str::<Members>(text).ok()?.0;
    let mut seen = vec![false; keys.len()];
    out.push(b'{');
    let first = out.len();
    for (key, raw) in members {
        let Some(k) = keys.iter().position(|&kept| kept == key) else {
            continue;
        };
        if std::mem::replace(&mut seen[k], true) {
            return None;
        }
        if out.len() > first {
            out.push(b',');
        }
        // Kept keys are plain words: written as they are named, whatever
        // escapes the file spelled them with.
        out.push(b'"');
        out.extend_from_slice(keys[k].as_bytes());
        out.extend_from_slice(b"\":");
        value(keys[k], raw, out)?;
    }
    out.push(b'}');
    Some(())
}

fn minified(_key: &str, value: &RawValue, out: &mut Vec<u8>) -> Option<()> {
    minify_into(value.get(), out);
    Some(())
}

/// Copies valid JSON text without the whitespace between its tokens; what is
/// inside strings, escapes included, is copied as it is.
fn minify_into(json: &str, out: &mut Vec<u8>) {
    let mut in_string = false;
    let mut escaped = false;
    for &b in json.as_bytes() {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
        } else if matches!(b, b' ' | b'\t' | b'\n' | b'\r') {
            continue;
        } else if b == b'"' {
            in_string = true;
        }
        out.push(b);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::json::SessionJson;

    const DIR: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/legacy-2.3.5/.zwarm/sessions"
    );

    fn zwarm_session() -> Session {
        serde_json::from_str(
            r#"{"id":"0b5e7a1c-0000-4000-8000-000000000001","task":"fix \"it\"\nnow",
            "status":"failed","working_dir":"/w","created_at":"2026-11-23T19:30:21.123456",
            "updated_at":"2026-11-23T19:31:00","pid":7,"exit_code":1,"model":"m","turn":2,
            "messages":[{"role":"user","content":"a"},{"role":"assistant","content":"first"},
              {"role":"user","content":"b","timestamp":"x","metadata":{"turn":2}},
              {"role":"assistant","content":"last \u00e9\n"}],
            "token_usage":{"input_tokens":3,"output_tokens":4,"total_tokens":7,"weird":1},
            "error":"boom","source":"orchestrator:x","adapter":"claude_code","cost_usd":0.5,
            "agent_session_id":"t","future":[1,2],
            "turns":[{"turn":1,"started_at":"2026-11-23T19:30:21","ended_at":"2026-11-23T19:30:40",
              "ending":"completed","usage":{"input_tokens":1},"supervisor":{"pid":1,"start_time":2}},
              {"turn":2,"started_at":"2026-11-23T19:30:50","ended_at":"2026-11-23T19:31:00",
              "ending":"failed","exit":{"code":1},"error":"boom"}]}"#,
        )
        .unwrap()
    }

    /// What list shows, as its JSON document: the same from either reader.
    fn shown(s: &Session) -> String {
        serde_json::to_string(&SessionJson::from(s)).unwrap()
    }

    #[test]
    fn shows_what_the_full_reader_shows() {
        let full = zwarm_session();
        let text = serde_json::to_vec(&full).unwrap();
        let brief = parse(&text, true).unwrap();
        assert_eq!(shown(&brief), shown(&full));
        assert_eq!(brief.turns.len(), 1);
        assert_eq!(brief.messages[0].content, "last é\n");
        let pretty = serde_json::to_vec_pretty(&full).unwrap();
        let mut without = full.clone();
        without.messages.clear();
        for bytes in [&text, &pretty] {
            assert_eq!(shown(&parse(bytes, false).unwrap()), shown(&without));
        }
    }

    #[test]
    fn reads_zwarm_2_3_5_sessions() {
        for entry in std::fs::read_dir(DIR).unwrap() {
            let path = entry.unwrap().path().join("meta.json");
            let bytes = std::fs::read(&path).unwrap();
            let full = crate::store::parse_meta(&bytes).unwrap();
            assert_eq!(
                shown(&parse(&bytes, true).unwrap()),
                shown(&full),
                "{path:?}"
            );
            let mut without = full.clone();
            without.messages.clear();
            assert_eq!(
                shown(&parse(&bytes, false).unwrap()),
                shown(&without),
                "{path:?}"
            );
        }
    }

    #[test]
    fn rejects_what_the_full_reader_rejects() {
        for bad in [
            "",
            "{}",
            r#"{"id":"a","task":"t","status":"completed","created_at":"2026-01-01T00:00:00","updated_at":"2026-01-01T00:00:00"}"#,
            r#"{"id":"a","task":"t","status":"completed","working_dir":"/w","created_at":"soon","updated_at":"2026-01-01T00:00:00"}"#,
        ] {
            assert!(crate::store::parse_meta(bad.as_bytes()).is_err());
            assert!(parse(bad.as_bytes(), true).is_err(), "{bad}");
            assert!(parse(bad.as_bytes(), false).is_err(), "{bad}");
        }
    }

    /// What `parse` reads from the index's excerpt of `bytes`, which must be
    /// what it reads from `bytes`.
    #[track_caller]
    fn assert_excerpt_reads_the_same(bytes: &[u8]) -> Vec<u8> {
        let from_file = parse(bytes, false).unwrap();
        let kept = excerpt(bytes, from_file.turn).unwrap();
        let from_excerpt = parse(&kept, false).unwrap();
        assert_eq!(
            from_excerpt,
            from_file,
            "{}",
            String::from_utf8_lossy(&kept)
        );
        kept
    }

    #[test]
    fn kept_keys_are_the_briefs_but_messages() {
        use serde::de::value::Error;
        /// Asked for a struct, notes its fields and reads nothing.
        struct Fields<'f>(&'f mut &'static [&'static str]);
        impl<'de> Deserializer<'de> for Fields<'_> {
            type Error = Error;
            fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Error> {
                Err(serde::de::Error::custom("not a struct"))
            }
            fn deserialize_struct<V: Visitor<'de>>(
                self,
                _: &'static str,
                fields: &'static [&'static str],
                _: V,
            ) -> Result<V::Value, Error> {
                *self.0 = fields;
                Err(serde::de::Error::custom("read no further"))
            }
            serde::forward_to_deserialize_any! {
                bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
                bytes byte_buf option unit unit_struct newtype_struct seq tuple
                tuple_struct map enum identifier ignored_any
            }
        }
        let mut fields: &[&str] = &[];
        let _ = Brief::<NoMessage>::deserialize(Fields(&mut fields));
        let mut without_messages: Vec<&str> = fields.to_vec();
        without_messages.retain(|&f| f != "messages");
        assert_eq!(without_messages.len() + 1, fields.len());
        assert_eq!(without_messages, KEPT);
        let _ = BriefTurn::deserialize(Fields(&mut fields));
        assert_eq!(fields, TURN_KEPT);
        let _ = BriefUsage::deserialize(Fields(&mut fields));
        assert_eq!(fields, USAGE_KEPT);
    }

    #[test]
    fn the_excerpt_keeps_the_files_own_text() {
        let bytes = br#"{
            "id": "ab", "task": "say \"hi\" \\ now\n\ttabbed  spaced",
            "status": "completed", "working_dir": "/w",
            "created_at": "2026-01-01T00:00:00+00:00",
            "updated_at": "2026-01-01T00:00:00.123456789",
            "cost_usd": 0.919663223151467574,
            "token_usage": { "input_tokens" : 5 , "weird" : [ 1, 2 ] },
            "messages": [{"role": "assistant", "content": "left out"}],
            "turn": 2, "future": {"not": "kept"},
            "turns": [{"turn": 2, "started_at": "2026-01-01T00:00:01"},
                      {"turn": 1, "started_at": "2026-01-01T00:00:00"},
                      {"turn": 2, "started_at": "2026-01-01T00:00:02", "usage": { "x" : 1 }},
                      {"turn": 3, "started_at": "2026-01-01T00:00:03"}]
        }"#;
        let kept = assert_excerpt_reads_the_same(bytes);
        assert_eq!(
            std::str::from_utf8(&kept).unwrap(),
            concat!(
                r#"{"id":"ab","task":"say \"hi\" \\ now\n\ttabbed  spaced","#,
                r#""status":"completed","working_dir":"/w","#,
                r#""created_at":"2026-01-01T00:00:00+00:00","#,
                r#""updated_at":"2026-01-01T00:00:00.123456789","#,
                r#""cost_usd":0.919663223151467574,"token_usage":{"input_tokens":5},"turn":2,"#,
                r#""turns":[{"turn":2,"started_at":"2026-01-01T00:00:02"}]}"#
            )
        );
        // A re-serialised session reads this float back as another number.
        let cost: f64 = serde_json::from_slice(b"0.919663223151467574").unwrap();
        let again: f64 = serde_json::from_str(&serde_json::to_string(&cost).unwrap()).unwrap();
        assert_ne!(again, cost);
        assert_eq!(parse(&kept, false).unwrap().cost_usd, Some(cost));
    }

    #[test]
    fn the_excerpt_of_odd_files() {
        // Keys spelled with escapes, no record of the session's turn.
        let odd = br#"{"i\u0064":"ab","task":"t","status":"failed","working_dir":"/w",
            "created_at":"2026-01-01T00:00:00Z","updated_at":"2026-01-01 00:00:00",
            "turns":[{"turn":1,"started_at":null}],"turn":4}"#;
        let kept = assert_excerpt_reads_the_same(odd);
        assert!(kept.starts_with(br#"{"id":"ab","#));
        assert!(kept.ends_with(br#""turns":[],"turn":4}"#));
        // A kept key twice, or no object: no excerpt.
        assert!(excerpt(br#"{"id":"a","id":"b"}"#, 1).is_none());
        assert!(excerpt(b"[1]", 1).is_none());
        assert!(excerpt(b"{\"id\":", 1).is_none());
    }

    #[test]
    fn the_excerpt_of_zwarm_2_3_5_sessions_reads_the_same() {
        for entry in std::fs::read_dir(DIR).unwrap() {
            let bytes = std::fs::read(entry.unwrap().path().join("meta.json")).unwrap();
            assert_excerpt_reads_the_same(&bytes);
        }
        let ours = serde_json::to_vec_pretty(&zwarm_session()).unwrap();
        assert_excerpt_reads_the_same(&ours);
    }

    /// Timestamps as any writer might have written them.
    fn arbitrary_timestamp() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        let offsets = prop::sample::select(vec!["", "Z", "+00:00", "+09:00", "-05:30", "+14:00"]);
        (
            0i64..4_000_000_000,
            0u32..1_000_000_000,
            0usize..10,
            offsets,
        )
            .prop_map(|(secs, nanos, digits, offset)| {
                let t = chrono::DateTime::from_timestamp(secs, nanos).unwrap();
                let fraction = format!("{nanos:09}");
                let fraction = match digits {
                    0 => String::new(),
                    n => format!(".{}", &fraction[..n]),
                };
                format!("{}{fraction}{offset}", t.format("%Y-%m-%dT%H:%M:%S"))
            })
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig {
            cases: 256,
            failure_persistence: None,
            ..Default::default()
        })]

        #[test]
        fn the_excerpt_of_any_session_reads_the_same(
            times in proptest::collection::vec(arbitrary_timestamp(), 6),
            cost_digits in proptest::option::of("[1-9][0-9]{0,4}\\.[0-9]{1,20}(e-?[0-9]{1,2})?"),
            text in "\\PC{0,40}",
            turn in 1u32..4,
            turn_numbers in proptest::collection::vec(1u32..4, 0..5),
            pretty in proptest::bool::ANY,
        ) {
            let turns: Vec<serde_json::Value> = turn_numbers
                .iter()
                .zip(times.iter().cycle().skip(2))
                .map(|(n, t)| serde_json::json!({
                    "turn": n, "started_at": t, "ended_at": null, "ending": "completed",
                    "usage": {"input_tokens": n}, "note": text,
                }))
                .collect();
            let mut meta = serde_json::json!({
                "id": "ab", "task": text, "status": "completed", "working_dir": text,
                "created_at": times[0], "updated_at": times[1], "turn": turn,
                "messages": [{"role": "assistant", "content": text}],
                "token_usage": {"input_tokens": 3, "later": [text]},
                "error": text, "model": "m", "turns": turns, "cost_usd": "COST",
                "other": {"turn": 9},
            });
            if cost_digits.is_none() {
                meta.as_object_mut().unwrap().remove("cost_usd");
            }
            let text = if pretty {
                serde_json::to_string_pretty(&meta)
            } else {
                serde_json::to_string(&meta)
            }
            .unwrap();
            let text = text.replace("\"COST\"", cost_digits.as_deref().unwrap_or_default());
            let kept = assert_excerpt_reads_the_same(text.as_bytes());
            let kept = std::str::from_utf8(&kept).unwrap();
            for t in &times[..2] {
                let quoted = format!("\"{t}\"");
                proptest::prop_assert!(kept.contains(&quoted), "{} in {}", t, kept);
            }
            if let Some(cost) = &cost_digits {
                let keyed = format!("\"cost_usd\":{cost}");
                proptest::prop_assert!(kept.contains(&keyed), "{}", kept);
            }
        }
    }
}
