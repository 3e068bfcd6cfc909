//! Each turn's working tree kept as commits: taken by the supervisor just
//! before its agent starts and just after it exits (a killed or failed turn
//! too), and read back by `diff` and `apply`. A snapshot that cannot be
//! taken never stops a turn: why is recorded in its place.

use crate::git::{self, Git};
use crate::model::{snapshot_ref, Changes, Session, TurnSnapshot};
use std::path::Path;

/// The snapshot at the start of `turn`, parented on the latest earlier
/// one. What a person changes between two turns lies between the one's end
/// and the other's start, so it is in neither turn's change.
pub(crate) fn at_start(session: &Session, turn: u32, store: &Path) -> Option<TurnSnapshot> {
    if !session.snapshots {
        return None;
    }
    let parent = latest_commit(session, turn);
    let git = Git::at(&session.working_dir);
    let refname = snapshot_ref(&session.id, turn, true);
    let message = message(session, &format!("turn {turn}, at its start"), store);
    Some(
        match git::snapshot(
            &git,
            parent.as_deref(),
            &refname,
            &message,
            git::SNAPSHOT_SIZE_CAP,
        ) {
            Ok(s) => TurnSnapshot {
                start: Some(s.commit),
                left_out: s.left_out,
                ..TurnSnapshot::default()
            },
            Err(e) => TurnSnapshot {
                error: Some(format!("no snapshot at the turn's start: {e}")),
                ..TurnSnapshot::default()
            },
        },
    )
}

/// The snapshot at the end of `turn`, with what the turn changed and, in a
/// worktree, whether it is dirty and how far its branch is ahead.
pub(crate) fn at_end(session: &Session, turn: u32, store: &Path) -> Option<TurnSnapshot> {
    if !session.snapshots {
        return None;
    }
    let mut snap = session
        .turns
        .iter()
        .rev()
        .find(|t| t.turn == turn)
        .and_then(|t| t.snapshot.clone())
        .unwrap_or_default();
    let git = Git::at(&session.working_dir);
    let parent = snap.start.clone().or_else(|| latest_commit(session, turn));
    let refname = snapshot_ref(&session.id, turn, false);
    let text = message(session, &format!("turn {turn}, at its end"), store);
    match git::snapshot(
        &git,
        parent.as_deref(),
        &refname,
        &text,
        git::SNAPSHOT_SIZE_CAP,
    ) {
        Ok(s) => {
            for path in s.left_out {
                if !snap.left_out.contains(&path) {
                    snap.left_out.push(path);
                }
            }
            if let Some(start) = &snap.start {
                match git::changes(&git, start, &s.commit) {
                    Ok(c) => snap.changes = Some(c),
                    Err(e) => note(&mut snap, format!("cannot count the changes: {e}")),
                }
            }
            snap.end = Some(s.commit);
        }
        Err(e) => note(&mut snap, format!("no snapshot at the turn's end: {e}")),
    }
    if let (Some(w), Some(end)) = (&session.worktree, &snap.end) {
        if w.commit_turns {
            let text = message(session, &format!("turn {turn}, its result"), store);
            match git::commit_snapshot(&git, end, &text) {
                Ok(commit) => snap.commit = commit,
                Err(e) => note(&mut snap, format!("cannot commit the turn's result: {e}")),
            }
        }
    }
    if let Some(w) = &session.worktree {
        match git::tree_state(&git, &w.base) {
            Ok(state) => {
                snap.dirty = Some(state.dirty);
                snap.ahead = Some(state.ahead);
            }
            Err(e) => note(&mut snap, format!("cannot read the worktree's state: {e}")),
        }
    }
    Some(snap)
}

/// A snapshot's commit message: what it is, and trailers naming the store
/// (canonical) the session belongs to and its branch, so that `doctor` can
/// tell the snapshots and branches of this store's gone sessions from those
/// of another store in the same repository.
pub(crate) fn message(session: &Session, what: &str, store: &Path) -> String {
    let mut m = format!(
        "zwarm: session {} {what}\n\n{STORE_TRAILER}{}\n",
        session.id,
        store.display()
    );
    if let Some(w) = &session.worktree {
        m.push_str(&format!("{BRANCH_TRAILER}{}\n", w.branch));
    }
    m
}

/// The trailers of a snapshot's message.
pub(crate) const STORE_TRAILER: &str = "zwarm-store: ";
pub(crate) const BRANCH_TRAILER: &str = "zwarm-branch: ";

fn note(snap: &mut TurnSnapshot, why: String) {
    snap.error = Some(match snap.error.take() {
        Some(before) => format!("{before}; {why}"),
        None => why,
    });
}

/// The newest snapshot of a turn before `turn`: the parent of the next.
fn latest_commit(session: &Session, turn: u32) -> Option<String> {
    session
        .turns
        .iter()
        .filter(|t| t.turn < turn)
        .filter_map(|t| t.snapshot.as_ref())
        .filter_map(|s| s.end.clone().or_else(|| s.start.clone()))
        .next_back()
}

/// The two commits a change lies between, and the repository that has them.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Span {
    pub from: String,
    pub to: String,
    /// Where git finds the commits: the main checkout of a worktree
    /// session (the worktree may be gone), else the working directory.
    pub repo: String,
    pub changes: Option<Changes>,
}

/// Why a session has no change to show.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum NoSpan {
    #[error("session {0} has no snapshots: it was started outside a git repository, with --no-snapshot, or by a zwarm that kept none")]
    NoSnapshots(String),
    #[error("session {id} has turns 1 to {last}, not {turn}")]
    NoTurn { id: String, turn: u32, last: u32 },
    #[error("turn {turn} of session {id} has no snapshot at its {which}{}", why.as_deref().map(|w| format!(" ({w})")).unwrap_or_default())]
    Missing {
        id: String,
        turn: u32,
        which: &'static str,
        why: Option<String>,
    },
}

/// A session's (or one turn's) change, as git tells it between its
/// snapshots: for `diff` and its MCP tool alike.
#[derive(Debug)]
pub(crate) struct Change {
    pub from: String,
    pub to: String,
    /// The files and line counts, when asked for.
    pub changes: Option<Changes>,
    /// `git diff --binary`, or `--stat` with `stat`: git's bytes.
    pub text: Vec<u8>,
}

/// Why a change could not be told.
#[derive(Debug, thiserror::Error)]
pub(crate) enum NoChange {
    #[error(transparent)]
    Span(#[from] NoSpan),
    #[error(transparent)]
    Git(#[from] git::GitError),
}

/// The change of `turn` (or the whole session), with its counts if `counts`.
pub(crate) fn change(
    session: &Session,
    turn: Option<u32>,
    stat: bool,
    counts: bool,
) -> Result<Change, NoChange> {
    let Span {
        from,
        to,
        repo,
        changes,
    } = span(session, turn)?;
    let g = Git::at(&repo);
    let text = git::diff(&g, &from, &to, stat)?;
    let changes = match (counts, changes) {
        (false, _) => None,
        (true, Some(c)) => Some(c),
        (true, None) => Some(git::changes(&g, &from, &to)?),
    };
    Ok(Change {
        from,
        to,
        changes,
        text,
    })
}

/// The change of turn `turn` (its start → its end), or of the whole
/// session (its base → its latest snapshot).
pub(crate) fn span(session: &Session, turn: Option<u32>) -> Result<Span, NoSpan> {
    let id = session.short_id().to_owned();
    let repo = session
        .worktree
        .as_ref()
        .map_or_else(|| session.working_dir.clone(), |w| w.repo.clone());
    let has_any = session.turns.iter().any(|t| t.snapshot.is_some());
    if !has_any {
        return Err(NoSpan::NoSnapshots(id));
    }
    let snap_of = |n: u32| {
        session
            .turns
            .iter()
            .rev()
            .find(|t| t.turn == n)
            .and_then(|t| t.snapshot.as_ref())
    };
    let missing = |turn: u32, which: &'static str| NoSpan::Missing {
        id: id.clone(),
        turn,
        which,
        why: snap_of(turn).and_then(|s| s.error.clone()),
    };
    match turn {
        Some(n) => {
            if n == 0 || n > session.turn {
                return Err(NoSpan::NoTurn {
                    id,
                    turn: n,
                    last: session.turn,
                });
            }
            let snap = snap_of(n);
            let from = snap
                .and_then(|s| s.start.clone())
                .ok_or_else(|| missing(n, "start"))?;
            let to = snap
                .and_then(|s| s.end.clone())
                .ok_or_else(|| missing(n, "end"))?;
            Ok(Span {
                from,
                to,
                repo,
                changes: snap.and_then(|s| s.changes),
            })
        }
        None => {
            let first = session
                .turns
                .iter()
                .find(|t| t.snapshot.is_some())
                .map_or(1, |t| t.turn);
            let from = match &session.worktree {
                Some(w) => w.base.clone(),
                None => snap_of(first)
                    .and_then(|s| s.start.clone())
                    .ok_or_else(|| missing(first, "start"))?,
            };
            let to = session
                .turns
                .iter()
                .rev()
                .filter_map(|t| t.snapshot.as_ref().and_then(|s| s.end.clone()))
                .next()
                .ok_or_else(|| missing(session.turn, "end"))?;
            Ok(Span {
                from,
                to,
                repo,
                changes: None,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(worktree: bool, turns: serde_json::Value) -> Session {
        let mut v = serde_json::json!({
            "id": "3f2a9c1e-5b7d-4c8e-9a1f-2b3c4d5e6f70",
            "task": "t", "status": "completed", "working_dir": "/w/wt",
            "created_at": "2025-01-01T00:00:00", "updated_at": "2025-01-01T00:00:00",
            "turn": 2, "snapshots": true, "turns": turns,
        });
        if worktree {
            v["worktree"] = serde_json::json!({"path": "/w/wt", "branch": "zwarm/3f2a9c1e", "base": "b0", "repo": "/w/main"});
        }
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn a_turns_change_is_its_own_start_to_end_and_the_sessions_runs_from_its_base() {
        let turns = serde_json::json!([
            {"turn": 1, "snapshot": {"start": "s1", "end": "e1", "changes": {"files": 1, "insertions": 2, "deletions": 0}}},
            {"turn": 2, "snapshot": {"start": "s2", "end": "e2"}},
        ]);
        let plain = session(false, turns.clone());
        let one = span(&plain, Some(1)).unwrap();
        assert_eq!(
            (one.from.as_str(), one.to.as_str(), one.repo.as_str()),
            ("s1", "e1", "/w/wt")
        );
        assert_eq!(one.changes.map(|c| c.insertions), Some(2));
        let two = span(&plain, Some(2)).unwrap();
        assert_eq!(
            (two.from.as_str(), two.to.as_str()),
            ("s2", "e2"),
            "not e1 → e2"
        );
        let all = span(&plain, None).unwrap();
        assert_eq!((all.from.as_str(), all.to.as_str()), ("s1", "e2"));
        let wt = span(&session(true, turns), None).unwrap();
        assert_eq!(
            (wt.from.as_str(), wt.to.as_str(), wt.repo.as_str()),
            ("b0", "e2", "/w/main")
        );
    }

    #[test]
    fn what_is_missing_is_said() {
        let turns = serde_json::json!([
            {"turn": 1, "snapshot": {"start": "s1", "end": "e1"}},
            {"turn": 2, "snapshot": {"start": "s2", "error": "no snapshot at the turn's end: git failed"}},
        ]);
        let s = session(false, turns);
        let err = span(&s, Some(2)).unwrap_err().to_string();
        assert!(err.contains("turn 2 of session 3f2a9c1e has no snapshot at its end (no snapshot at the turn's end: git failed)"), "{err}");
        assert!(matches!(span(&s, Some(3)), Err(NoSpan::NoTurn { .. })));
        assert!(matches!(span(&s, Some(0)), Err(NoSpan::NoTurn { .. })));
        // The whole session ends at its latest end snapshot.
        assert_eq!(span(&s, None).unwrap().to, "e1");
        let none = session(false, serde_json::json!([{"turn": 1}]));
        assert!(matches!(span(&none, None), Err(NoSpan::NoSnapshots(_))));
    }
}
