use super::*;

fn json(literal: &str) -> LazyText {
    let raw: Box<RawValue> = serde_json::from_str(literal).unwrap();
    LazyText::from_json(&raw).unwrap()
}

#[test]
fn preview_cuts_and_counts() {
    let text = json(r#""a\r\nbb\n\n\u000accc\n  \t\n""#);
    let lines = |p: Preview| p.lines().map(str::to_string).collect::<Vec<_>>();
    assert_eq!(lines(text.preview(2, 10)), ["a", "bb"]);
    assert_eq!(text.preview(2, 10).more, 3);
    assert_eq!(lines(text.preview(9, 2)), ["a", "bb", "", "", "c…"]);
    assert_eq!(text.preview(9, 2).more, 0);
    assert!(lines(json(r#""""#).preview(8, 200)).is_empty());
    assert!(lines(json(r#""\n""#).preview(8, 200)).is_empty());
    assert_eq!(
        lines(LazyText::from("\n\nx").preview(8, 200)),
        ["", "", "x"]
    );
}

#[test]
fn lone_surrogates_and_json_output() {
    assert_eq!(json(r#""a\ud800b""#).to_str(), "a\u{fffd}b");
    let text = json(r#""x\n\u00e9""#);
    assert_eq!(serde_json::to_string(&text).unwrap(), r#""x\n\u00e9""#);
    assert_eq!(serde_json::to_value(&text).unwrap(), "x\né");
    assert_eq!(
        serde_json::to_string(&LazyText::from("\"")).unwrap(),
        r#""\"""#
    );
    let number: Box<RawValue> = serde_json::from_str("12").unwrap();
    assert!(LazyText::from_json(&number).is_none());
}

// ---- against arbitrary text ----

use crate::testing::{config, tricky_text};
use proptest::prelude::*;

/// `text` as a JSON string literal with every char written as `\uXXXX`.
fn all_unicode_escapes(text: &str) -> String {
    let mut out = String::from('"');
    for c in text.chars() {
        let mut units = [0u16; 2];
        for u in c.encode_utf16(&mut units) {
            out.push_str(&format!("\\u{u:04X}"));
        }
    }
    out.push('"');
    out
}

/// Texts found by hand to be hard for previews, under both escapings (the
/// property below draws from the same pieces at random).
#[test]
fn hand_picked_escaped_previews_equal_decoded_ones() {
    let texts = [
        String::new(),
        " \n\t ".into(),
        "one".into(),
        "a\r\n\nb\n".to_string() + &"x\n".repeat(20) + "y\r\n \n",
        "tab\there \"quoted\" back\\slash\\n not a newline\n/ é 😀\n\n".into(),
        "é".repeat(300) + "\n" + &"x".repeat(201) + "\r\n" + &"y".repeat(200) + "\r\nz",
        "\\".repeat(7) + "n\\\n\u{a0}\n\u{2028}",
        "\u{1}\u{8}\u{c}\u{1f}\r".into(),
    ];
    for text in &texts {
        let plain = LazyText::from(text.as_str());
        for literal in [
            serde_json::to_string(text).unwrap(),
            all_unicode_escapes(text),
        ] {
            let raw: Box<serde_json::value::RawValue> = serde_json::from_str(&literal).unwrap();
            let lazy = LazyText::from_json(&raw).unwrap();
            assert_eq!(lazy.to_str(), text.as_str(), "{literal}");
            assert_eq!(lazy.is_empty(), text.is_empty());
            for (lines, chars) in [(8, 200), (1, 1), (3, 5), (0, 10), (usize::MAX, usize::MAX)] {
                assert_eq!(
                    lazy.preview(lines, chars),
                    plain.preview(lines, chars),
                    "{literal} {lines} {chars}"
                );
            }
        }
    }
}

proptest! {
    #![proptest_config(config())]

    /// The preview of text kept escaped, as a turn line holds it, is the
    /// preview of the decoded text, however the JSON escapes it.
    #[test]
    fn escaped_previews_equal_decoded_ones(
        text in tricky_text(),
        lines in 0usize..10,
        width in 0usize..210,
    ) {
        let plain = LazyText::from(text.as_str());
        for literal in [serde_json::to_string(&text).unwrap(), all_unicode_escapes(&text)] {
            let raw: Box<serde_json::value::RawValue> = serde_json::from_str(&literal).unwrap();
            let lazy = LazyText::from_json(&raw).unwrap();
            prop_assert_eq!(lazy.to_str(), text.as_str());
            prop_assert_eq!(lazy.preview(lines, width), plain.preview(lines, width));
        }
    }
}
