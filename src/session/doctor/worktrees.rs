//! Worktrees, branches and snapshot refs against the sessions of the
//! store. All of it is reported and none of it removed, `--fix` or not:
//! each may hold the only copy of somebody's work.

use super::{Finding, Kind};
use crate::model::Session;
use crate::session::leftovers::gone_snapshots;
use crate::session::manager::Manager;
use std::collections::HashSet;
use std::path::{Path, PathBuf};

pub(super) fn worktrees(manager: &Manager, sessions: &[Session], out: &mut Vec<Finding>) {
    let root = manager.canonical_root();
    let kept: HashSet<PathBuf> = sessions
        .iter()
        .filter_map(|s| s.worktree.as_ref())
        .map(|w| PathBuf::from(&w.path))
        .collect();
    for s in sessions {
        if let Some(w) = &s.worktree {
            if !Path::new(&w.path).is_dir() {
                out.push(Finding::new(
                    Kind::MissingWorktree,
                    Some(&s.id),
                    format!(
                        "its worktree {} is gone; its branch {} and snapshots may still hold its work",
                        w.path, w.branch
                    ),
                ));
            }
        }
    }
    // Folders under worktrees/ that no session names.
    if let Ok(entries) = std::fs::read_dir(root.join("worktrees")) {
        for entry in entries.flatten() {
            let path = entry.path();
            if !kept.contains(&path) {
                out.push(Finding::new(
                    Kind::OrphanWorktree,
                    None,
                    format!(
                        "{} is a worktree no session of this store names; it is left as it is (`git worktree list` in its repository shows it)",
                        path.display()
                    ),
                ));
            }
        }
    }
    for gone in gone_snapshots(manager.store(), sessions) {
        let id = &gone.id;
        out.push(Finding::new(
            Kind::OrphanSnapshots,
            Some(id),
            format!(
                "refs/zwarm/{id}/ in {} keeps the snapshots of a session this store no longer has; they are kept (`zwarm clean --snapshots` drops them once old enough)",
                gone.repo.display()
            ),
        ));
        if let Some(branch) = &gone.branch {
            out.push(Finding::new(
                Kind::OrphanBranch,
                Some(id),
                format!(
                    "branch {branch} in {} belongs to a session this store no longer has; it is kept (`git branch -d {branch}` deletes it once merged)",
                    gone.repo.display()
                ),
            ));
        }
    }
}
