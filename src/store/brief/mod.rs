//! What `list` shows of a session, read from `meta.json` without building the
//! rest. A long-lived session's `meta.json` is mostly messages and per-turn
//! records, and `list` reads thousands of them: their strings are borrowed
//! from the file where they can be, and the parts `list` never shows are
//! skipped over rather than built.

use crate::model::{
    Budget, Ending, Message, Session, SessionId, SessionStatus, TurnRecord, Usage, WorktreeRecord,
};
use crate::timefmt::Timestamp;
use serde::de::{Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use std::borrow::Cow;
use std::fmt;

mod excerpt;
pub(crate) use excerpt::excerpt;

/// The keys `list` and `list --json` show. Required keys and defaults are
/// those of [`Session`], so a file one of them rejects the other rejects too.
/// A key added here goes into `excerpt::KEPT` as well.
#[derive(Deserialize)]
struct Brief<'a, M> {
    id: SessionId,
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
    #[serde(default)]
    worktree: Option<WorktreeRecord>,
    #[serde(default)]
    max_tokens: Option<u64>,
    #[serde(default)]
    max_cost_usd: Option<f64>,
}

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

/// When a turn started and how it ended (and when an account's limit that
/// ended it lifts); its process records, usage and messages are skipped.
#[derive(Deserialize)]
struct BriefTurn {
    turn: u32,
    started_at: Option<Timestamp>,
    #[serde(default)]
    ended_at: Option<Timestamp>,
    #[serde(default)]
    ending: Option<Ending>,
    #[serde(default)]
    resets_at: Option<Timestamp>,
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
pub(crate) fn agent_message(content: String) -> Message {
    Message {
        role: "assistant".into(),
        content,
        timestamp: String::new(),
        metadata: Default::default(),
    }
}

/// A [`Session`] holding what `list` shows: `messages` has only the last
/// agent message (with `last_message`, else none), `turns` only the latest
/// turn's start, end, ending and reset, and keys zwarm does not know are left out.
/// For display only: never save it.
pub(crate) fn parse(bytes: &[u8], last_message: bool) -> Result<Session, String> {
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
        .map(|t| TurnRecord::listed(t.turn, t.started_at, t.ended_at, t.ending, t.resets_at))
        .into_iter()
        .collect();
    Ok(Session {
        id: b.id,
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
        worktree: b.worktree,
        snapshots: false,
        timeout_secs: None,
        on_end: None,
        agent_args: Vec::new(),
        group: None,
        max_running: None,
        budget: Budget {
            max_tokens: b.max_tokens,
            max_cost_usd: b.max_cost_usd,
        },
        other: Default::default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::json::SessionJson;

    pub(super) const DIR: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/legacy-2.3.5/.zwarm/sessions"
    );

    pub(super) fn zwarm_session() -> Session {
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
              "ending":"rate_limited","resets_at":"2026-11-23T22:00:00","exit":{"code":1},
              "error":"boom"}]}"#,
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
            let full = crate::store::meta::parse_meta(&bytes).unwrap();
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
            assert!(crate::store::meta::parse_meta(bad.as_bytes()).is_err());
            assert!(parse(bad.as_bytes(), true).is_err(), "{bad}");
            assert!(parse(bad.as_bytes(), false).is_err(), "{bad}");
        }
    }
}
