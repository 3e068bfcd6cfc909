//! What the adapters' parser tests share: a parser run over a recorded
//! transcript or over bytes, and the steps they expect, written briefly.

use super::StreamParser;
use crate::trajectory::{read_turn, ItemStatus, Step, StepKind, TurnSummary};
use std::path::{Path, PathBuf};

/// The folder of the recorded transcripts, with a trailing slash.
pub const TRANSCRIPTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/transcripts/");

pub fn transcript(name: &str) -> PathBuf {
    Path::new(TRANSCRIPTS).join(name)
}

/// Every step `parser` makes of the file at `path`, and its summary.
pub fn run_path(mut parser: impl StreamParser, path: &Path) -> (Vec<Step>, TurnSummary) {
    assert!(path.is_file(), "missing transcript {}", path.display());
    let mut steps = Vec::new();
    read_turn(path, &mut parser, true, &mut |s| steps.push(s)).unwrap();
    (steps, parser.summary().clone())
}

/// [`run_path`] over `bytes` written to a file.
pub fn run_bytes(parser: impl StreamParser, bytes: &[u8]) -> (Vec<Step>, TurnSummary) {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), bytes).unwrap();
    run_path(parser, file.path())
}

pub fn st(line: u64, kind: StepKind) -> Step {
    Step { line, kind }
}

pub fn cmd(
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

pub fn msg(line: u64, text: &str) -> Step {
    st(line, StepKind::Message { text: text.into() })
}

pub fn warn(line: u64, message: &str) -> Step {
    st(
        line,
        StepKind::Warning {
            message: message.into(),
        },
    )
}

pub fn err(line: u64, message: &str) -> Step {
    st(
        line,
        StepKind::Error {
            message: message.into(),
        },
    )
}
