//! A line of codex's event stream as decoded (see `decode` and
//! `item_line`): owned, its item already made a step.

use crate::model::Usage;
use crate::turn::StepKind;
use serde::Deserialize;
use std::borrow::Cow;

/// An event, owned, its item already made a step.
pub(crate) struct Line {
    /// Static for the kinds codex writes: a long turn has a hundred
    /// thousand lines.
    pub(super) kind: Cow<'static, str>,
    /// Boxed: few lines have any of it, and every line is moved several
    /// times between decoding and applying (moves of 336-byte lines were
    /// a tenth of the time of a long read).
    pub(super) rest: Option<Box<Rest>>,
    /// Boxed too: a line with an item is hundreds of bytes of text anyway,
    /// and a turn of millions of tiny lines moved each line's 192 bytes of
    /// room for a step twice (memmove was a third of that turn's time). The
    /// box is made on a decoding thread and freed on the applying one,
    /// which costs mimalloc no lock (glibc's arenas took one).
    pub(super) item: Option<Box<ItemLine>>,
}

/// What an event that is not an item's says.
#[derive(Default)]
pub(super) struct Rest {
    pub(super) thread_id: Option<String>,
    pub(super) usage: Option<CodexUsage>,
    pub(super) error: Option<ErrorBody>,
    pub(super) message: Option<String>,
}

pub(super) struct ItemLine {
    pub(super) id: ItemId,
    pub(super) step: StepKind,
}

/// An item's id (`item_12`), which pairs its started and completed events.
/// Short ids are kept inline: a heap string per line, made on a decoding
/// thread and freed on another, was a measurable share of a long read.
#[derive(Clone, Default, PartialEq, Eq)]
pub(super) enum ItemId {
    #[default]
    None,
    Inline {
        len: u8,
        bytes: [u8; 30],
    },
    Heap(Box<str>),
}

impl ItemId {
    pub(super) fn new(id: &str) -> Self {
        let mut bytes = [0; 30];
        match bytes.get_mut(..id.len()) {
            Some(head) => {
                head.copy_from_slice(id.as_bytes());
                ItemId::Inline {
                    len: id.len() as u8,
                    bytes,
                }
            }
            None => ItemId::Heap(id.into()),
        }
    }

    pub(super) fn is_none(&self) -> bool {
        matches!(self, ItemId::None) || *self == ItemId::new("")
    }
}

/// The kinds codex writes, as a static string: a `match` rather than a
/// search of a list, whose string compares were a tenth of the time of
/// decoding a tiny line.
pub(super) fn known_kind(kind: &str) -> Option<&'static str> {
    Some(match kind {
        "item.completed" => "item.completed",
        "item.started" => "item.started",
        "item.updated" => "item.updated",
        "error" => "error",
        "thread.started" => "thread.started",
        "turn.started" => "turn.started",
        "turn.completed" => "turn.completed",
        "turn.failed" => "turn.failed",
        _ => return None,
    })
}

#[derive(Deserialize)]
pub(super) struct ErrorBody {
    pub(super) message: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct CodexUsage {
    input_tokens: u64,
    cached_input_tokens: u64,
    cache_write_input_tokens: u64,
    output_tokens: u64,
    reasoning_output_tokens: u64,
}

impl From<CodexUsage> for Usage {
    fn from(u: CodexUsage) -> Self {
        Usage {
            input_tokens: u.input_tokens,
            output_tokens: u.output_tokens,
            // cached ⊂ input and reasoning ⊂ output, so they are not added.
            total_tokens: u.input_tokens + u.output_tokens,
            cached_input_tokens: u.cached_input_tokens,
            reasoning_output_tokens: u.reasoning_output_tokens,
            cache_write_input_tokens: u.cache_write_input_tokens,
            ..Default::default()
        }
    }
}
