//! What `meta.json` keeps of a session's git repository: the worktree zwarm
//! made for it, and what each turn changed. Written at each turn's start
//! and end, so that `list` and `show` never need to run git.

use serde::{Deserialize, Serialize};

/// A worktree zwarm made for a session (`worktree` in `meta.json`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct WorktreeRecord {
    /// Where the worktree is: `<store>/worktrees/<short id>`.
    pub path: String,
    /// The session's own branch, `zwarm/<short id>` or `zwarm/<name>`.
    pub branch: String,
    /// The commit the branch started from.
    pub base: String,
    /// The branch `--base` named, if it named one: what the session's
    /// branch would be merged into.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_branch: Option<String>,
    /// The main checkout of the repository it belongs to.
    pub repo: String,
    /// Whether it held uncommitted changes when the latest turn ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dirty: Option<bool>,
    /// How many commits its branch was ahead of the base then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ahead: Option<u32>,
    /// zwarm commits each turn's result on the branch (`--commit-turns`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub commit_turns: bool,
}

/// How much a turn changed: `git diff --numstat` of its two snapshots.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Changes {
    pub files: u64,
    pub insertions: u64,
    pub deletions: u64,
}

/// A turn's snapshots (`snapshot` in a turn record): the working tree as
/// commits at the turn's start and end, under
/// `refs/zwarm/<session id>/turn-<N>-start` and `refs/zwarm/<session id>/turn-<N>`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct TurnSnapshot {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changes: Option<Changes>,
    /// Untracked files over the size cap, left out of the snapshots.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub left_out: Vec<String>,
    /// For a worktree: uncommitted changes at the turn's end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dirty: Option<bool>,
    /// For a worktree: commits on its branch beyond the base.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ahead: Option<u32>,
    /// The commit zwarm made of the turn's result on the session's branch
    /// (`--commit-turns`), if the turn changed anything.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// Why a snapshot could not be taken, if one could not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The ref of turn `turn`'s snapshot at its start (`start`) or end.
pub(crate) fn snapshot_ref(session: &str, turn: u32, start: bool) -> String {
    if start {
        format!("refs/zwarm/{session}/turn-{turn}-start")
    } else {
        format!("refs/zwarm/{session}/turn-{turn}")
    }
}
