//! The agent-neutral step model, what a turn's stream says about how it went,
//! and reading a turn file as a stream (never whole into memory).

use crate::agent::StreamParser;
use crate::lazy_text::{self, LazyText, Preview};
use crate::session::model::Usage;
use serde_json::value::RawValue;
use serde_json::Value;
use std::borrow::Cow;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// One thing the agent did.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    /// 1-based line of the turn file where the step began.
    pub line: u64,
    pub kind: StepKind,
}

/// Where an item stands in its lifecycle, as the agent reported it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ItemStatus {
    InProgress,
    Completed,
    Failed,
    Declined,
}

impl ItemStatus {
    pub fn parse(s: &str) -> Self {
        match s {
            "in_progress" => ItemStatus::InProgress,
            "failed" => ItemStatus::Failed,
            "declined" => ItemStatus::Declined,
            _ => ItemStatus::Completed,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ItemStatus::InProgress => "in_progress",
            ItemStatus::Completed => "completed",
            ItemStatus::Failed => "failed",
            ItemStatus::Declined => "declined",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct FileChange {
    pub path: String,
    /// `add`, `delete`, `update` (codex) or `create`, `update` (claude).
    pub kind: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct PlanItem {
    pub text: String,
    /// `pending`, `in_progress` or `completed`.
    pub status: String,
}

#[derive(Clone, Debug, PartialEq)]
pub enum StepKind {
    Message {
        text: String,
    },
    Reasoning {
        text: String,
    },
    Command {
        command: String,
        /// Often most of the turn file: kept escaped until shown, or only
        /// the preview the reader asked for.
        output: Output,
        exit_code: Option<i64>,
        status: ItemStatus,
    },
    FileChange {
        changes: Vec<FileChange>,
        status: ItemStatus,
    },
    ToolCall {
        /// MCP server, where there is one.
        server: Option<String>,
        tool: String,
        arguments: Value,
        result: Option<String>,
        error: Option<String>,
        status: ItemStatus,
        /// The tool call this one ran inside (claude subagents).
        parent: Option<String>,
    },
    WebSearch {
        query: String,
        status: ItemStatus,
    },
    Plan {
        items: Vec<PlanItem>,
    },
    /// Something went wrong but the turn goes on (retries, config warnings).
    Warning {
        message: String,
    },
    /// An error the agent reported as fatal for the turn.
    Error {
        message: String,
    },
    /// An event this version does not know, kept rather than dropped.
    Other {
        kind: String,
        raw: Value,
    },
}

impl StepKind {
    pub fn name(&self) -> &'static str {
        match self {
            StepKind::Message { .. } => "message",
            StepKind::Reasoning { .. } => "reasoning",
            StepKind::Command { .. } => "command",
            StepKind::FileChange { .. } => "file_change",
            StepKind::ToolCall { .. } => "tool_call",
            StepKind::WebSearch { .. } => "web_search",
            StepKind::Plan { .. } => "plan",
            StepKind::Warning { .. } => "warning",
            StepKind::Error { .. } => "error",
            StepKind::Other { .. } => "other",
        }
    }
}

/// How much of a command's output a reader of a turn needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputDetail {
    /// All of it.
    Whole,
    /// The first `lines` lines of at most `width` chars each, and a count of
    /// the rest: what `trajectory` shows without `--full`. Parsers take it
    /// from the line as it is read, never copying the whole output.
    Preview { lines: usize, width: usize },
}

/// A command's output: whole, or the preview its reader asked for.
#[derive(Clone, Debug, PartialEq)]
pub enum Output {
    Whole(LazyText),
    Preview(Preview),
}

impl Output {
    pub fn new(text: LazyText, detail: OutputDetail) -> Self {
        match detail {
            OutputDetail::Whole => Output::Whole(text),
            OutputDetail::Preview { lines, width } => Output::Preview(text.preview(lines, width)),
        }
    }

    /// From a JSON value as the line holds it, if it is a string.
    pub fn from_json(raw: &RawValue, detail: OutputDetail) -> Option<Self> {
        match detail {
            OutputDetail::Whole => LazyText::from_json(raw).map(Output::Whole),
            OutputDetail::Preview { lines, width } => {
                lazy_text::preview_json(raw, lines, width).map(Output::Preview)
            }
        }
    }

    /// The preview of `lines` lines of `width` chars; of an output read as a
    /// preview, the one it was read with.
    pub fn preview(&self, lines: usize, width: usize) -> Cow<'_, Preview> {
        match self {
            Output::Whole(text) => Cow::Owned(text.preview(lines, width)),
            Output::Preview(p) => Cow::Borrowed(p),
        }
    }

    /// The whole text, where it was read whole.
    pub fn whole(&self) -> Option<&LazyText> {
        match self {
            Output::Whole(text) => Some(text),
            Output::Preview(_) => None,
        }
    }
}

/// An output read whole is written as its text; JSON readers ask for it
/// whole, so a preview is written as the text it shows.
impl serde::Serialize for Output {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Output::Whole(text) => text.serialize(s),
            Output::Preview(p) => s.collect_str(&p.lines().collect::<Vec<_>>().join("\n")),
        }
    }
}

impl Default for Output {
    fn default() -> Self {
        Output::Whole(LazyText::default())
    }
}

impl From<&str> for Output {
    fn from(s: &str) -> Self {
        Output::Whole(s.into())
    }
}

impl From<String> for Output {
    fn from(s: String) -> Self {
        Output::Whole(s.into())
    }
}

/// How the stream says the turn ended: the terminal line, if there was one.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    Completed,
    Failed(String),
    /// The agent stopped the turn itself (claude after SIGINT: `aborted_*`).
    Interrupted(String),
}

/// What one turn file says, beyond its steps.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TurnSummary {
    /// The conversation id the agent reported (codex thread, claude session).
    pub agent_session_id: Option<String>,
    pub model: Option<String>,
    pub outcome: Option<Outcome>,
    /// Usage as reported; what it covers is the adapter's business.
    pub usage: Option<Usage>,
    pub cost_usd: Option<f64>,
    /// Agent messages, in order.
    pub messages: Vec<String>,
    /// JSON events read.
    pub events: u64,
    /// Lines that were not JSON (stray log lines, a torn last line).
    pub skipped_lines: u64,
    /// The last fatal error the stream reported, terminal or not.
    pub last_error: Option<String>,
    /// Events read since the last one that was not a retry notice: a turn
    /// whose recent events are all retries is not progressing.
    pub retries_since_progress: u64,
    pub last_retry: Option<String>,
}

/// Feeds a turn file through a parser, line by line, calling `emit` for each
/// step. A last line without its newline is parsed only if `complete` (the
/// writer has finished); otherwise it may still be growing.
pub fn read_turn(
    path: &Path,
    parser: &mut dyn StreamParser,
    complete: bool,
    emit: &mut dyn FnMut(Step),
) -> io::Result<()> {
    let file = open_if_present(path)?;
    // Only a large file is worth the threads, and asking how many there may
    // be reads cgroup files.
    let threads = match &file {
        Some(f) if parser.parallel_decoding() && f.metadata()?.len() >= PARALLEL_FROM => {
            read_threads()
        }
        _ => 1,
    };
    match file {
        Some(file) if threads > 1 => {
            crate::parallel_reader::read(file, parser, complete, threads - 1, emit)
        }
        file => TurnReader::new(path).read_file(file, parser, complete, emit),
    }
}

/// The file at `path`, or None if there is none (a turn not started yet).
/// Neither the file nor its folder is reached through a link, and nothing
/// but a regular file is read (see [`crate::store::dir`]).
fn open_if_present(path: &Path) -> io::Result<Option<File>> {
    let (Some(folder), Some(name)) = (path.parent(), path.file_name().and_then(|n| n.to_str()))
    else {
        return Err(io::Error::from(io::ErrorKind::InvalidInput));
    };
    let opened = crate::store::Dir::open_no_link(folder).and_then(|d| d.read_file(name));
    match opened {
        Ok(f) => Ok(Some(f)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Threads to read a large turn with: `ZWARM_THREADS` if set (1 reads on
/// one thread, as on a busy machine), else one per core.
fn read_threads() -> usize {
    std::env::var("ZWARM_THREADS")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|&n| n > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from))
}

/// Below this size a turn file is read on one thread: starting threads would
/// cost more than they save.
const PARALLEL_FROM: u64 = 4 << 20;

/// Reads a turn file that may still be growing, resuming where the last read
/// stopped: each call parses only what is new.
pub struct TurnReader {
    path: PathBuf,
    offset: u64,
    lineno: u64,
}

impl TurnReader {
    pub fn new(path: &Path) -> Self {
        TurnReader {
            path: path.to_path_buf(),
            offset: 0,
            lineno: 0,
        }
    }

    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Feeds the complete lines written since the last call. With `complete`,
    /// a torn last line is fed too and the parser is finished.
    pub fn read(
        &mut self,
        parser: &mut dyn StreamParser,
        complete: bool,
        emit: &mut dyn FnMut(Step),
    ) -> io::Result<()> {
        let file = open_if_present(&self.path)?;
        self.read_file(file, parser, complete, emit)
    }

    /// [`TurnReader::read`] of the turn file already opened (None: absent).
    fn read_file(
        &mut self,
        file: Option<File>,
        parser: &mut dyn StreamParser,
        complete: bool,
        emit: &mut dyn FnMut(Step),
    ) -> io::Result<()> {
        if let Some(mut file) = file {
            file.seek(SeekFrom::Start(self.offset))?;
            let mut reader = BufReader::with_capacity(READ_BUFFER, file);
            // A line the buffer's end cuts in two is put together here; every
            // other line is parsed where it was read.
            let mut split = Vec::new();
            loop {
                let chunk = reader.fill_buf()?;
                if chunk.is_empty() {
                    break;
                }
                let len = chunk.len();
                let mut start = 0;
                for end in memchr::memchr_iter(b'\n', chunk) {
                    let line = if split.is_empty() {
                        &chunk[start..=end]
                    } else {
                        split.extend_from_slice(&chunk[start..=end]);
                        &split[..]
                    };
                    self.feed_line(line, parser, emit);
                    split.clear();
                    start = end + 1;
                }
                split.extend_from_slice(&chunk[start..]);
                reader.consume(len);
            }
            // The writer may be mid-line: a torn last line waits for the next
            // read unless the file is complete.
            if !split.is_empty() && complete {
                self.feed_line(&split, parser, emit);
            }
        }
        if complete {
            parser.finish(emit);
        }
        Ok(())
    }
}

impl TurnReader {
    fn feed_line(
        &mut self,
        line: &[u8],
        parser: &mut dyn StreamParser,
        emit: &mut dyn FnMut(Step),
    ) {
        self.offset += line.len() as u64;
        self.lineno += 1;
        let line = trim_line(line);
        if !line.is_empty() {
            parser.feed(self.lineno, line, emit);
        }
    }
}

/// Large enough that a line rarely straddles two reads, small enough for the
/// memory bound of a streamed read.
const READ_BUFFER: usize = 1 << 20;

pub(crate) fn trim_line(buf: &[u8]) -> &[u8] {
    let mut end = buf.len();
    while end > 0 && matches!(buf[end - 1], b'\n' | b'\r' | b' ' | b'\t') {
        end -= 1;
    }
    let mut start = 0;
    while start < end && matches!(buf[start], b' ' | b'\t') {
        start += 1;
    }
    &buf[start..end]
}

/// Parses a whole finished turn file, keeping only its summary.
pub fn summarize_turn(path: &Path, parser: &mut dyn StreamParser) -> io::Result<TurnSummary> {
    read_turn(path, parser, true, &mut |_| {})?;
    Ok(parser.summary().clone())
}
