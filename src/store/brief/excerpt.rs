//! What the list index keeps of a `meta.json`: the file's own text of the
//! keys [`parse`](super::parse) reads, so that reading the entry gives
//! exactly what reading the file gives.

use super::BriefTurn;
use serde::de::{Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::fmt;

/// The keys of [`Brief`](super::Brief) but `messages`: what the list index keeps of a
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
    "worktree",
    "max_tokens",
    "max_cost_usd",
];

/// What the list index keeps of a `meta.json` that
/// [`parse`](super::parse) read as a session at turn `turn`: the keys
/// `parse` reads, in the file's own text minus the whitespace between
/// tokens, with `turns` cut to the one record `parse` keeps. `parse` reads
/// from it exactly what it reads from the file, where a re-serialised
/// [`Session`](crate::model::Session) would differ: a timestamp
/// with an offset is local time once read, so it must stay text to be read
/// in the time zone of each listing; digits past the microsecond, and
/// floats that serde_json does not read back exactly, would be lost. None
/// if the text is not a JSON object, or holds a kept key twice.
pub(crate) fn excerpt(bytes: &[u8], turn: u32) -> Option<Vec<u8>> {
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
const TURN_KEPT: &[&str] = &["turn", "started_at", "ended_at", "ending", "resets_at"];
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
    use super::super::tests::{zwarm_session, DIR};
    use super::super::{parse, Brief, BriefUsage, NoMessage};
    use super::*;

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
