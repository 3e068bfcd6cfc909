//! What the adapters' tests share: a parser run over a recorded transcript
//! or over bytes, the steps they expect, written briefly, and the argv and
//! conversation ids of the adapters' own tests.

use super::{Agent, TurnSpec};
use crate::turn::StreamParser;
use crate::turn::{read_turn, ItemStatus, Step, StepKind, TurnSummary};
use std::path::{Path, PathBuf};

/// The folder of the recorded transcripts, with a trailing slash.
pub(crate) const TRANSCRIPTS: &str =
    concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/transcripts/");

pub(crate) fn transcript(name: &str) -> PathBuf {
    Path::new(TRANSCRIPTS).join(name)
}

/// Every step `parser` makes of the file at `path`, and its summary.
pub(crate) fn run_path(mut parser: impl StreamParser, path: &Path) -> (Vec<Step>, TurnSummary) {
    assert!(path.is_file(), "missing transcript {}", path.display());
    let mut steps = Vec::new();
    read_turn(path, &mut parser, true, &mut |s| steps.push(s)).unwrap();
    (steps, parser.summary().clone())
}

/// [`run_path`] over `bytes` written to a file.
pub(crate) fn run_bytes(parser: impl StreamParser, bytes: &[u8]) -> (Vec<Step>, TurnSummary) {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), bytes).unwrap();
    run_path(parser, file.path())
}

pub(crate) fn st(line: u64, kind: StepKind) -> Step {
    Step { line, kind }
}

pub(crate) fn cmd(
    line: u64,
    command: &str,
    output: &str,
    exit_code: Option<i64>,
    status: ItemStatus,
) -> Step {
    st(
        line,
        StepKind::Command {
            command: command.into(),
            output: output.into(),
            exit_code,
            status,
        },
    )
}

pub(crate) fn msg(line: u64, text: &str) -> Step {
    st(line, StepKind::Message { text: text.into() })
}

pub(crate) fn warn(line: u64, message: &str) -> Step {
    st(
        line,
        StepKind::Warning {
            message: message.into(),
        },
    )
}

pub(crate) fn err(line: u64, message: &str) -> Step {
    st(
        line,
        StepKind::Error {
            message: message.into(),
        },
    )
}

/// The argv `agent` builds for `spec`, as strings.
pub(crate) fn argv(agent: &dyn Agent, spec: &TurnSpec) -> Vec<String> {
    agent
        .args(spec)
        .into_iter()
        .map(|a| a.into_string().unwrap())
        .collect()
}

/// Every distinct string value of `key`, at the top level of any line of
/// the transcripts whose names start with `prefix`.
pub(crate) fn ids_in_transcripts(prefix: &str, key: &str) -> Vec<String> {
    let mut ids: Vec<String> = Vec::new();
    for entry in std::fs::read_dir(TRANSCRIPTS).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !(name.starts_with(prefix) && name.ends_with(".jsonl")) {
            continue;
        }
        for line in std::fs::read_to_string(&path).unwrap().lines() {
            let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
                continue;
            };
            if let Some(id) = v.get(key).and_then(|id| id.as_str()) {
                if !ids.iter().any(|known| known == id) {
                    ids.push(id.to_string());
                }
            }
        }
    }
    assert!(!ids.is_empty(), "no {key} in {prefix}* transcripts");
    ids
}

/// Stored ids that no adapter may accept: options, paths, names, and UUIDs
/// with something around them or in another notation.
pub(crate) const NOT_CONVERSATION_IDS: &[&str] = &[
    "",
    "-c=x",
    "-c=model=\"evil\"",
    "--yolo",
    "--dangerously-skip-permissions",
    "-",
    "--",
    "/etc/passwd",
    "../01a209eb-9fe5-7091-945e-ca2ae2c25c85",
    "sessions/01a209eb-9fe5-7091-945e-ca2ae2c25c85",
    "my-thread",
    "01a209eb-9fe5-7091-945e-ca2ae2c25c85 --yolo",
    "01a209eb-9fe5-7091-945e-ca2ae2c25c85\n",
    " 01a209eb-9fe5-7091-945e-ca2ae2c25c85",
    "01a209eb-9fe5-7091-945e-ca2ae2c25c85x",
    "01a209eb-9fe5-7091-945e-ca2ae2c25c8",
    "01a209eb9fe57091945eca2ae2c25c85",
    "{01a209eb-9fe5-7091-945e-ca2ae2c25c85}",
    "urn:uuid:01a209eb-9fe5-7091-945e-ca2ae2c25c85",
    "01a209eb-9fe5-7091-945e-ca2ae2c25c8g",
    "01a209eb_9fe5_7091_945e_ca2ae2c25c85",
    "-1a209eb-9fe5-7091-945e-ca2ae2c25c85",
    "01a209eb-9fe5-7091-945e-ca2ae2c25c\u{e9}",
];
