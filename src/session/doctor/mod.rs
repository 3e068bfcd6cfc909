//! A check of the whole store: what does not add up, and, when asked, the
//! repairs that lose nothing (settle what can be settled, stop stray
//! processes, move unreadable sessions aside; never delete a session's data).

mod quarantine;
mod queue;
mod remotes;
mod rights;
mod sessions;
mod stray;
#[cfg(test)]
mod tests;
mod worktrees;

use super::manager::{Liveness, Manager};
use crate::store::WriteGuard;
use rights::rights_records;
use sessions::{check_session, unreadable};
use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;
use stray::{stray_files, stray_index_files, stray_processes};
use worktrees::worktrees;

/// A session folder without `meta.json` younger than this is being created.
const CREATING_GRACE_SECS: u64 = 10;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Active on disk with nothing behind it.
    StaleRunning,
    /// Running, but only retrying.
    Stalled,
    /// A process of a session that is not running (or no longer exists).
    StrayProcess,
    /// `meta.json` missing, unparsable or too large to read.
    UnreadableMeta,
    /// A finished turn whose output file is gone.
    MissingTurnFile,
    /// A session's turn files cannot be read (`turns/` unreadable, a link,
    /// not a folder).
    UnreadableTurns,
    /// A temporary file of a write that never completed.
    TempFile,
    /// A half-done `rm`.
    InterruptedRemoval,
    /// A session folder whose creation never finished (`.creating-<id>`).
    InterruptedCreation,
    /// The run lock held by a process that is not the session's supervisor.
    ForeignLockHolder,
    /// `meta.json` asks for other rights (sandbox, adapter, working
    /// directory) than the session was started with.
    RightsMismatch,
    /// A record of rights whose session is gone from this store.
    OrphanRights,
    /// A session whose worktree is gone.
    MissingWorktree,
    /// A folder under `worktrees/` that no session names.
    OrphanWorktree,
    /// Snapshot refs of a session this store no longer has.
    OrphanSnapshots,
    /// A `zwarm/` branch no session of this store names.
    OrphanBranch,
    /// An entry of a queue's folder whose supervisor is gone.
    DeadQueueEntry,
    /// A file under `limits/` that is no record of an account limit.
    UnreadableLimit,
    /// `remotes.toml` cannot be read.
    UnreadableRemotes,
    /// A file of the remotes' cache that no remote reads.
    StaleRemoteCache,
}

impl Kind {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Kind::StaleRunning => "stale_running",
            Kind::Stalled => "stalled",
            Kind::StrayProcess => "stray_process",
            Kind::UnreadableMeta => "unreadable_meta",
            Kind::MissingTurnFile => "missing_turn_file",
            Kind::UnreadableTurns => "unreadable_turns",
            Kind::TempFile => "temp_file",
            Kind::InterruptedRemoval => "interrupted_removal",
            Kind::InterruptedCreation => "interrupted_creation",
            Kind::ForeignLockHolder => "foreign_lock_holder",
            Kind::RightsMismatch => "rights_mismatch",
            Kind::OrphanRights => "orphan_rights",
            Kind::MissingWorktree => "missing_worktree",
            Kind::OrphanWorktree => "orphan_worktree",
            Kind::OrphanSnapshots => "orphan_snapshots",
            Kind::OrphanBranch => "orphan_branch",
            Kind::DeadQueueEntry => "dead_queue_entry",
            Kind::UnreadableLimit => "unreadable_limit",
            Kind::UnreadableRemotes => "unreadable_remotes",
            Kind::StaleRemoteCache => "stale_remote_cache",
        }
    }
}

#[derive(Clone, Debug)]
pub(crate) struct Finding {
    pub kind: Kind,
    pub session: Option<String>,
    pub detail: String,
    /// What `--fix` did about it; None when nothing was done.
    pub action: Option<String>,
    pub fixed: bool,
}

impl Finding {
    fn new(kind: Kind, session: Option<&str>, detail: String) -> Self {
        Finding {
            kind,
            session: session.map(str::to_string),
            detail,
            action: None,
            fixed: false,
        }
    }

    fn done(&mut self, action: String) {
        self.action = Some(action);
        self.fixed = true;
    }

    fn failed(&mut self, why: String) {
        self.action = Some(why);
    }
}

/// Checks the store; with `fix`, repairs what it safely can. Every repair
/// that could touch live work (settling a turn, stopping a process, moving a
/// folder) is decided again under the session's write lock, where no turn
/// can be launched meanwhile; a session whose lock is held is left for
/// another time.
pub(crate) fn examine(manager: &Manager, fix: bool, stall_after: Duration) -> Vec<Finding> {
    let store = manager.store();
    let mut out = Vec::new();
    let (sessions, problems) = match store.load_all() {
        Ok(x) => x,
        Err(e) => {
            out.push(Finding::new(
                Kind::UnreadableMeta,
                None,
                format!("cannot read the store: {e}"),
            ));
            return out;
        }
    };

    for problem in problems {
        if let Some(f) = unreadable(manager, &problem.id, &problem.error, fix) {
            out.push(f);
        }
    }

    let mut alive: HashMap<&str, bool> = HashMap::new();
    for s in &sessions {
        let liveness = manager.assess(s);
        alive.insert(&s.id, liveness == Liveness::Alive);
        check_session(manager, s, liveness, fix, stall_after, &mut out);
    }

    stray_processes(manager, &alive, fix, &mut out);
    rights_records(manager, &sessions, fix, &mut out);
    worktrees(manager, &sessions, &mut out);
    stray_files(store.root(), &store.sessions_dir(), fix, &mut out);
    stray_index_files(store.root(), fix, &mut out);
    queue::queue_entries(store.root(), fix, &mut out);
    queue::limit_records(store.root(), fix, &mut out);
    remotes::remote_files(fix, &mut out);
    out
}

/// The session's write lock for a decision of doctor's: with `fix`, taken
/// (None while somebody holds it); without, only asked about, as a report
/// writes nothing, not even a lock file (Some(None) when free).
fn decision_lock(manager: &Manager, id: &str, fix: bool) -> Option<Option<WriteGuard>> {
    if fix {
        manager.store().try_write_lock(id).ok()?.map(Some)
    } else {
        (!manager.store().write_lock_busy(id)).then_some(None)
    }
}

fn is_young(dir: &Path) -> bool {
    modified_age(dir).is_some_and(|age| age < Duration::from_secs(CREATING_GRACE_SECS))
}

fn is_old(path: &Path) -> bool {
    modified_age(path).is_some_and(|age| age > Duration::from_secs(3600))
}

fn modified_age(path: &Path) -> Option<Duration> {
    std::fs::symlink_metadata(path)
        .ok()?
        .modified()
        .ok()?
        .elapsed()
        .ok()
}

fn command_name(pid: i32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "?".into())
}
