use super::*;
use crate::testing::{config, json_value, line};
use proptest::prelude::*;
use serde_json::Value as Json;

const KEYS: [&str; 3] = ["type", "session_id", "item"];

/// The property: where this reader answers, serde_json reads the line, to
/// an object whose values of the keys asked for are the ones reported.
fn agrees(line: &str) -> Result<(), TestCaseError> {
    let Some(skim) = skim(line, &KEYS) else {
        return Ok(());
    };
    let serde = serde_json::from_str::<Json>(line);
    let Ok(Json::Object(map)) = serde else {
        return Err(TestCaseError::fail(format!("answered for {line:?}")));
    };
    for (field, key) in skim.fields.iter().zip(KEYS) {
        let want = map.get(key);
        prop_assert_eq!(field.count == 0, want.is_none(), "{:?}", line);
        match (field.last, want) {
            (Found::Absent, None) => {}
            (Found::Str(s), Some(Json::String(w))) => prop_assert_eq!(s, w, "{:?}", line),
            (Found::Escaped, Some(Json::String(_))) => {}
            (Found::Other, Some(w)) if !w.is_string() => {}
            (got, want) => prop_assert!(false, "{:?}: {:?} against {:?}", line, got, want),
        }
    }
    Ok(())
}

/// Text near JSON: pieces of it joined at random, so that most lines are
/// broken in a different place.
fn near_json() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("{"),
        Just("}"),
        Just("["),
        Just("]"),
        Just(":"),
        Just(","),
        Just(" "),
        Just("\t"),
        Just("\u{0b}"),
        Just("\n"),
        Just("\""),
        Just("\"type\":"),
        Just("\"session_id\":"),
        Just("\"item\":"),
        Just("\"a\\u0074\""),
        Just("\\"),
        Just("\\n"),
        Just("\\u"),
        Just("\\x"),
        Just("\u{1}"),
        Just("é"),
        Just("0"),
        Just("-"),
        Just("12"),
        Just("."),
        Just("e"),
        Just("E+"),
        Just("400"),
        Just("1234567890123456789"),
        Just("true"),
        Just("tru"),
        Just("null"),
        Just("false"),
        Just("\"x\""),
        Just("\"stream_event\""),
    ];
    prop::collection::vec(piece, 0..30).prop_map(|p| p.concat())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn never_answers_for_a_line_serde_json_reads_otherwise(text in near_json()) {
        agrees(&text)?;
        agrees(&format!("{{{text}}}"))?;
        agrees(&format!("{{\"type\":{text}}}"))?;
        agrees(&format!("{{\"type\":\"{text}\"}}"))?;
        agrees(&format!("{{\"n\":[{text}]}}"))?;
    }

    #[test]
    fn agrees_on_agent_lines_whole_torn_and_flipped(bytes in line()) {
        if let Ok(text) = std::str::from_utf8(&bytes) {
            agrees(text)?;
        }
    }

    /// Objects of short strings, small numbers and nesting: every one
    /// answered for, so the property above is not met by answering never.
    #[test]
    fn answers_for_plain_objects(value in json_value(), key in 0usize..3, pad in "[ \t]{0,2}") {
        let value = match value {
            Json::Object(mut map) => {
                map.insert(KEYS[key].into(), Json::from("x y"));
                Json::Object(map)
            }
            other => serde_json::json!({ KEYS[key]: other }),
        };
        let text = format!("{pad}{value}{pad}");
        let small_numbers = !text.split(|c: char| !c.is_ascii_digit()).any(|d| d.len() > 18);
        if small_numbers {
            prop_assert!(skim(&text, &KEYS).is_some(), "{}", text);
        }
        agrees(&text)?;
    }
}

#[test]
fn reads_the_last_of_a_repeated_key_and_counts_them() {
    let s = skim(r#"{"type":"a","x":[1,{"type":"no"}],"type":"b"}"#, &KEYS).unwrap();
    assert_eq!(
        s.fields[0],
        Field {
            count: 2,
            last: Found::Str("b")
        }
    );
    let s = skim(r#" {"type":"a\n", "session_id":null } "#, &KEYS).unwrap();
    assert_eq!(s.fields[0].last, Found::Escaped);
    assert_eq!(s.fields[1].last, Found::Other);
    assert_eq!(s.fields[2].last, Found::Absent);
}

#[test]
fn leaves_to_serde_json_what_it_does_not_judge() {
    for line in [
        // Could be lone surrogates.
        r#"{"type":"\ud800"}"#,
        r#"{"type":"\u0041"}"#,
        // Could spell a key asked for.
        r#"{"typ\u0065":"x"}"#,
        // Out of range for serde_json, or near it.
        r#"{"n":1e400}"#,
        r#"{"n":12345678901234567890}"#,
        // Deep.
        &format!("{{\"a\":{}{}}}", "[".repeat(100), "]".repeat(100)),
        // Not an object, not alone, not JSON.
        r#"["type"]"#,
        r#"{"type":"x"} {}"#,
        r#"{"type":"x",}"#,
        r#"{"type":"x""#,
        "{\"type\":\"a\u{1}\"}",
        r#"{"n":01}"#,
        r#"{"n":1.}"#,
        r#"{"n":-}"#,
        "{\"type\":\"x\"}\u{0b}",
    ] {
        assert_eq!(skim(line, &KEYS), None, "{line}");
    }
}

#[test]
fn gives_up_at_a_refused_key_and_answers_as_before_without_one() {
    let refuse = ["item"];
    let with = r#"{"type":"item.completed","item":{"id":"item_1"},"session_id":"s"}"#;
    assert!(skim(with, &KEYS).is_some());
    assert_eq!(skim_refusing(with, &KEYS, &refuse), None);
    // Found before the rest is checked: a broken end is not reached.
    assert_eq!(
        skim_refusing(r#"{"type":"a","item":"#, &KEYS, &refuse),
        None
    );
    // Only a key at the top counts; a key of that name deeper does not.
    let nested = r#"{"type":"a","x":{"item":1},"session_id":"s"}"#;
    assert_eq!(skim_refusing(nested, &KEYS, &refuse), skim(nested, &KEYS));
    assert!(skim_refusing(nested, &KEYS, &refuse).is_some());
}

proptest! {
    #![proptest_config(config())]

    /// Eight bytes at a time, the run of plain bytes ends where a byte at a
    /// time finds a quote, a backslash or a control character.
    #[test]
    fn a_plain_run_ends_at_the_first_byte_a_string_cannot_hold_as_it_is(
        bytes in proptest::collection::vec(
            prop_oneof![Just(b'"'), Just(b'\\'), 0u8..0x20, 0x20u8..=0xff, Just(b'a')],
            0..40,
        ),
        pad in 0usize..24,
    ) {
        let mut b = vec![b'x'; pad];
        b.extend_from_slice(&bytes);
        let want = b
            .iter()
            .position(|&c| c == b'"' || c == b'\\' || c < 0x20)
            .unwrap_or(b.len());
        prop_assert_eq!(plain_run(&b), want, "{:?}", b);
    }
}
