//! The documents of `diff` and `apply`, and the git fields of `show`.

use super::SCHEMA_VERSION;
use crate::model::{Changes, TurnSnapshot, WorktreeRecord};
use serde::Serialize;

#[derive(Serialize)]
pub(crate) struct ChangesJson {
    pub files: u64,
    pub insertions: u64,
    pub deletions: u64,
}

impl From<Changes> for ChangesJson {
    fn from(c: Changes) -> Self {
        ChangesJson {
            files: c.files,
            insertions: c.insertions,
            deletions: c.deletions,
        }
    }
}

#[derive(Serialize)]
pub(crate) struct WorktreeJson<'a> {
    pub path: &'a str,
    pub branch: &'a str,
    pub base: &'a str,
    /// As they stood at the end of the latest turn that ended.
    pub dirty: Option<bool>,
    pub ahead: Option<u32>,
}

impl<'a> From<&'a WorktreeRecord> for WorktreeJson<'a> {
    fn from(w: &'a WorktreeRecord) -> Self {
        WorktreeJson {
            path: &w.path,
            branch: &w.branch,
            base: &w.base,
            dirty: w.dirty,
            ahead: w.ahead,
        }
    }
}

/// A turn's snapshots in `show --json`.
#[derive(Serialize)]
pub(crate) struct SnapshotJson {
    pub start: Option<String>,
    pub end: Option<String>,
    pub left_out: Vec<String>,
    /// The commit of the turn's result on the branch (`--commit-turns`).
    pub commit: Option<String>,
    pub error: Option<String>,
}

impl From<&TurnSnapshot> for SnapshotJson {
    fn from(s: &TurnSnapshot) -> Self {
        SnapshotJson {
            start: s.start.clone(),
            end: s.end.clone(),
            left_out: s.left_out.clone(),
            commit: s.commit.clone(),
            error: s.error.clone(),
        }
    }
}

/// `zwarm --json diff`.
#[derive(Serialize)]
pub(crate) struct DiffJson<'a> {
    pub schema_version: u32,
    pub id: &'a str,
    /// The turn, or null for the whole session.
    pub turn: Option<u32>,
    pub from: &'a str,
    pub to: &'a str,
    pub changes: ChangesJson,
    /// `git diff --binary` of the two (absent with `--stat`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub patch: Option<String>,
    /// `git diff --stat` of the two (with `--stat` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stat: Option<String>,
}

/// `zwarm --json apply`.
#[derive(Serialize)]
pub(crate) struct ApplyJson<'a> {
    pub schema_version: u32,
    pub id: &'a str,
    pub turn: Option<u32>,
    /// False on a conflict: then nothing was changed.
    pub applied: bool,
    /// The files changed, or on a conflict the conflicting ones.
    pub files: &'a [String],
}

impl<'a> ApplyJson<'a> {
    pub(crate) fn new(id: &'a str, turn: Option<u32>, applied: bool, files: &'a [String]) -> Self {
        ApplyJson {
            schema_version: SCHEMA_VERSION,
            id,
            turn,
            applied,
            files,
        }
    }
}
