//! Property tests of the agents' parsers: any input, torn or corrupt, is
//! read without a panic and without a line lost, whether read at once, as
//! it grows, whole or for a preview.

use crate::agent::AgentKind;
use crate::testing::{config, line, tricky_text};
use crate::turn::{Output, OutputDetail, Step, StepKind, TurnReader};
use proptest::prelude::*;
use std::io::Write;

fn steps_of(kind: AgentKind, lines: &[Vec<u8>]) -> (Vec<Step>, u64, u64) {
    let mut parser = kind.parser(OutputDetail::Whole);
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
        for kind in [
            AgentKind::Codex,
            AgentKind::Claude,
            AgentKind::Gemini,
            AgentKind::Qwen,
        ] {
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
        let mut parser = AgentKind::Codex.parser(OutputDetail::Whole);
        let mut live = Vec::new();
        let mut written = 0;
        for p in points {
            file.write_all(&bytes[written..p]).unwrap();
            written = p;
            parser.read_more(&mut reader, false, &mut |s| live.push(s)).unwrap();
        }
        parser.read_more(&mut reader, true, &mut |s| live.push(s)).unwrap();

        let mut once_parser = AgentKind::Codex.parser(OutputDetail::Whole);
        let mut once = Vec::new();
        once_parser.read_more(&mut TurnReader::new(&path), true, &mut |s| once.push(s)).unwrap();
        prop_assert_eq!(live, once);
        prop_assert_eq!(parser.summary(), once_parser.summary());
    }
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

proptest! {
    #![proptest_config(config())]

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
            let mut parser = AgentKind::Codex.parser(detail);
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
