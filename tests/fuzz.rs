//! Property tests, bounded so they run inside `cargo test`: the line parsers
//! of both agents, the turn reader, the meta loader and the id resolver take
//! arbitrary input without panicking and without losing a line.

use proptest::prelude::*;
use std::io::Write;
use zwarm::agent::AgentKind;
use zwarm::lazy_text::LazyText;
use zwarm::store::{parse_meta, Store};
use zwarm::trajectory::{Output, OutputDetail, Step, StepKind, TurnReader};

const CASES: u32 = 500;

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: CASES,
        // Failures are reproduced from the printed seed; no files in the tree.
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Lines that look like what agents write, broken in the ways real streams
/// break: recorded lines, their prefixes (torn), with bytes flipped, random
/// JSON, and raw bytes including invalid UTF-8.
fn line() -> impl Strategy<Value = Vec<u8>> {
    let recorded: Vec<Vec<u8>> = ["codex_rich.jsonl", "claude_rich.jsonl", "codex_mcp.jsonl"]
        .iter()
        .flat_map(|n| {
            let path = format!("{}/tests/data/transcripts/{n}", env!("CARGO_MANIFEST_DIR"));
            std::fs::read_to_string(path)
                .unwrap()
                .lines()
                .map(|l| l.as_bytes().to_vec())
                .collect::<Vec<_>>()
        })
        .collect();
    let pick = proptest::sample::select(recorded);
    prop_oneof![
        pick.clone(),
        (pick.clone(), any::<prop::sample::Index>()).prop_map(|(l, i)| {
            let cut = i.index(l.len() + 1);
            l[..cut].to_vec()
        }),
        (pick, any::<prop::sample::Index>(), any::<u8>()).prop_map(|(mut l, i, b)| {
            if !l.is_empty() {
                let at = i.index(l.len());
                l[at] = b;
            }
            l
        }),
        json_value().prop_map(|v| v.to_string().into_bytes()),
        prop::collection::vec(any::<u8>(), 0..200),
    ]
    .prop_map(|l: Vec<u8>| l.into_iter().filter(|b| *b != b'\n').collect())
}

fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        "[a-z_.]{0,12}".prop_map(serde_json::Value::from),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        let keys = prop_oneof![
            Just("type".to_string()),
            Just("item".to_string()),
            Just("message".to_string()),
            Just("usage".to_string()),
            Just("content".to_string()),
            Just("subtype".to_string()),
            "[a-z_]{1,8}",
        ];
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
            prop::collection::btree_map(keys, inner, 0..5)
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

fn steps_of(kind: AgentKind, lines: &[Vec<u8>]) -> (Vec<Step>, u64, u64) {
    let mut parser = kind.adapter().parser(OutputDetail::Whole);
    let mut steps = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        parser.feed(i as u64 + 1, l, &mut |s| steps.push(s));
    }
    parser.finish(&mut |s| steps.push(s));
    let s = parser.summary();
    (steps, s.events, s.skipped_lines)
}

proptest! {
    #![proptest_config(config())]

    /// Every line is either an event or counted as skipped, for both agents.
    #[test]
    fn parsers_account_for_every_line(lines in prop::collection::vec(line(), 0..40)) {
        for kind in [AgentKind::Codex, AgentKind::Claude] {
            let (_, events, skipped) = steps_of(kind, &lines);
            prop_assert_eq!(events + skipped, lines.len() as u64);
        }
    }

    /// Reading a file while it grows, in whatever pieces the writer
    /// produced, gives exactly the steps of reading it once at the end.
    #[test]
    fn incremental_reading_equals_one_read(
        lines in prop::collection::vec(line(), 0..30),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..8),
        torn_end in any::<bool>(),
    ) {
        let mut bytes = Vec::new();
        for l in &lines {
            bytes.extend_from_slice(l);
            bytes.push(b'\n');
        }
        if torn_end && bytes.ends_with(b"\n") {
            bytes.pop();
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("turn_1.jsonl");
        let mut points: Vec<usize> = cuts.iter().map(|c| c.index(bytes.len() + 1)).collect();
        points.push(bytes.len());
        points.sort_unstable();

        let mut file = std::fs::File::create(&path).unwrap();
        let mut reader = TurnReader::new(&path);
        let mut parser = AgentKind::Codex.adapter().parser(OutputDetail::Whole);
        let mut live = Vec::new();
        let mut written = 0;
        for p in points {
            file.write_all(&bytes[written..p]).unwrap();
            written = p;
            reader.read(parser.as_mut(), false, &mut |s| live.push(s)).unwrap();
        }
        reader.read(parser.as_mut(), true, &mut |s| live.push(s)).unwrap();

        let mut once_parser = AgentKind::Codex.adapter().parser(OutputDetail::Whole);
        let mut once = Vec::new();
        TurnReader::new(&path).read(once_parser.as_mut(), true, &mut |s| once.push(s)).unwrap();
        prop_assert_eq!(live, once);
        prop_assert_eq!(parser.summary(), once_parser.summary());
    }

    /// The meta loader returns a session or an error for any bytes.
    #[test]
    fn meta_loader_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        let _ = parse_meta(&bytes);
    }

    /// Valid metas with arbitrary extra keys and values load, and the extra
    /// keys survive a round trip.
    #[test]
    fn meta_with_unknown_keys_round_trips(extra in prop::collection::btree_map("x_[a-z]{1,6}", json_value(), 0..4)) {
        let mut meta = serde_json::json!({
            "id": "0b5e7a1c-0000-4000-8000-000000000001",
            "task": "t",
            "status": "completed",
            "working_dir": "/w",
            "created_at": "2026-01-01T00:00:00.000000",
            "updated_at": "2026-01-01T00:00:00.000000",
        });
        for (k, v) in &extra {
            meta[k] = v.clone();
        }
        let s = parse_meta(meta.to_string().as_bytes()).unwrap();
        let back = serde_json::to_value(&s).unwrap();
        for (k, v) in &extra {
            prop_assert_eq!(&back[k], v);
        }
    }

    /// The resolver finds exactly the ids a prefix names, and never reaches
    /// outside the store whatever the prefix holds.
    #[test]
    fn resolver_is_exact(
        ids in prop::collection::btree_set("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-8[0-9a-f]{3}-[0-9a-f]{12}", 0..6),
        prefix in prop_oneof!["[0-9a-f]{0,6}", ".{0,12}"],
    ) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        for id in &ids {
            std::fs::create_dir_all(store.session_dir(id)).unwrap();
        }
        let lc = prefix.to_ascii_lowercase();
        let matching: Vec<&String> = ids.iter().filter(|i| i.starts_with(&lc)).collect();
        match store.resolve(&prefix) {
            Ok(id) => {
                prop_assert!(ids.contains(&id));
                prop_assert!(id == lc || matching.len() == 1);
            }
            Err(_) => prop_assert!(
                matching.len() != 1 || prefix.is_empty()
                    || !prefix.chars().all(|c| c.is_ascii_hexdigit() || c == '-')
            ),
        }
    }
}

/// Text with what makes previews hard: line ends of both kinds, trailing
/// blanks, quotes and backslashes (escaped in JSON), control and wide chars.
fn tricky_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("\n".to_string()),
        Just("\r\n".to_string()),
        Just(" ".to_string()),
        Just("\t".to_string()),
        Just("\"".to_string()),
        Just("\\".to_string()),
        Just("\\n".to_string()),
        Just("\u{1b}[31m".to_string()),
        Just("é😀\u{a0}\u{2028}".to_string()),
        "[a-z]{1,30}",
        "[a-z]{190,210}",
    ];
    prop::collection::vec(piece, 0..40).prop_map(|p| p.concat())
}

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

/// A codex command line with `output`, the way codex writes it or with the
/// output key somewhere the fast path must not take it from.
fn command_line(output: &str, shape: u8) -> String {
    let out = serde_json::to_string(output).unwrap();
    match shape {
        0 => format!(
            r#"{{"type":"item.completed","item":{{"id":"item_1","type":"command_execution","command":"ls","aggregated_output":{out},"exit_code":0,"status":"completed"}}}}"#
        ),
        1 => format!(
            r#"{{"type":"item.completed","item":{{"id":"item_1","type":"command_execution","command":"ls","r":{{"aggregated_output":"decoy"}},"aggregated_output":{out}}}}}"#
        ),
        2 => format!(
            r#"{{"type":"item.completed","item":{{"id":"item_1","type":"mcp_tool_call","aggregated_output":{out},"tool":"t"}}}}"#
        ),
        _ => format!(
            r#"{{"type":"item.completed","item":{{"id":"item_1","type":"command_execution","aggregated_output":"first","aggregated_output":{out}}}}}"#
        ),
    }
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

    /// Parsing for a preview (the output never decoded whole, and taken from
    /// the line without the JSON parser where it can be) gives the steps of
    /// parsing everything and previewing afterwards.
    #[test]
    fn preview_parsing_equals_whole_parsing(
        outputs in prop::collection::vec((tricky_text(), 0u8..4), 1..6),
        others in prop::collection::vec(line(), 0..10),
    ) {
        let (lines, width) = (8, 200);
        let mut all: Vec<Vec<u8>> = outputs.iter().map(|(o, s)| command_line(o, *s).into_bytes()).collect();
        all.extend(others);
        let read = |detail| {
            let mut parser = AgentKind::Codex.adapter().parser(detail);
            let mut steps = Vec::new();
            for (i, l) in all.iter().enumerate() {
                parser.feed(i as u64 + 1, l, &mut |s| steps.push(s));
            }
            parser.finish(&mut |s| steps.push(s));
            (steps, parser.summary().clone())
        };
        let (whole, whole_summary) = read(OutputDetail::Whole);
        let (previewed, previewed_summary) = read(OutputDetail::Preview { lines, width });
        prop_assert_eq!(whole_summary, previewed_summary);
        prop_assert_eq!(whole.len(), previewed.len());
        for (w, p) in whole.into_iter().zip(previewed) {
            let w = match w.kind {
                StepKind::Command { command, output, exit_code, status } => StepKind::Command {
                    command,
                    output: Output::Preview(output.preview(lines, width).into_owned()),
                    exit_code,
                    status,
                },
                other => other,
            };
            prop_assert_eq!(w, p.kind);
        }
    }
}
