//! The agent-neutral step model: what an agent did, one step at a time.

use super::lazy_text::{self, LazyText, Preview};
use serde_json::value::RawValue;
use serde_json::Value;
use std::borrow::Cow;

/// One thing the agent did.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Step {
    /// 1-based line of the turn file where the step began.
    pub line: u64,
    pub kind: StepKind,
}

/// Where an item stands in its lifecycle, as the agent reported it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ItemStatus {
    InProgress,
    Completed,
    Failed,
    Declined,
}

impl ItemStatus {
    pub(crate) fn parse(s: &str) -> Self {
        match s {
            "in_progress" => ItemStatus::InProgress,
            "failed" => ItemStatus::Failed,
            "declined" => ItemStatus::Declined,
            _ => ItemStatus::Completed,
        }
    }

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            ItemStatus::InProgress => "in_progress",
            ItemStatus::Completed => "completed",
            ItemStatus::Failed => "failed",
            ItemStatus::Declined => "declined",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) struct FileChange {
    pub path: String,
    /// `add`, `delete`, `update` (codex) or `create`, `update` (claude).
    pub kind: String,
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) struct PlanItem {
    pub text: String,
    /// `pending`, `in_progress` or `completed`.
    pub status: String,
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum StepKind {
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
    #[cfg(test)]
    pub(crate) fn name(&self) -> &'static str {
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
pub(crate) enum OutputDetail {
    /// All of it.
    Whole,
    /// The first `lines` lines of at most `width` chars each, and a count of
    /// the rest: what `trajectory` shows without `--full`. Parsers take it
    /// from the line as it is read, never copying the whole output.
    Preview { lines: usize, width: usize },
}

/// A command's output: whole, or the preview its reader asked for.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Output {
    Whole(LazyText),
    Preview(Preview),
}

impl Output {
    pub(crate) fn new(text: LazyText, detail: OutputDetail) -> Self {
        match detail {
            OutputDetail::Whole => Output::Whole(text),
            OutputDetail::Preview { lines, width } => Output::Preview(text.preview(lines, width)),
        }
    }

    /// From a JSON value as the line holds it, if it is a string.
    /// A long literal of a line read whole is kept in `line` (see
    /// [`LazyText::from_json_in`]).
    pub(crate) fn from_json_in(
        raw: &RawValue,
        detail: OutputDetail,
        line: Option<&lazy_text::SharedLine>,
    ) -> Option<Self> {
        match detail {
            OutputDetail::Whole => LazyText::from_json_in(raw, line).map(Output::Whole),
            OutputDetail::Preview { lines, width } => {
                lazy_text::preview_json(raw, lines, width).map(Output::Preview)
            }
        }
    }

    /// The preview of `lines` lines of `width` chars; of an output read as a
    /// preview, the one it was read with.
    pub(crate) fn preview(&self, lines: usize, width: usize) -> Cow<'_, Preview> {
        match self {
            Output::Whole(text) => Cow::Owned(text.preview(lines, width)),
            Output::Preview(p) => Cow::Borrowed(p),
        }
    }

    /// The whole text, where it was read whole.
    pub(crate) fn whole(&self) -> Option<&LazyText> {
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
