//! Worktrees, branches and snapshot refs against the sessions of the
//! store. All of it is reported and none of it removed, `--fix` or not:
//! each may hold the only copy of somebody's work.

use super::{Finding, Kind};
use crate::git::Git;
use crate::model::Session;
use crate::session::manager::Manager;
use crate::session::snapshots::{BRANCH_TRAILER, STORE_TRAILER};
use std::collections::{BTreeSet, HashSet};
use std::path::{Path, PathBuf};

pub(super) fn worktrees(manager: &Manager, sessions: &[Session], out: &mut Vec<Finding>) {
    let root = manager.canonical_root();
    let ids: HashSet<&str> = sessions.iter().map(|s| s.id.as_str()).collect();
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
    // Snapshot refs and branches of this store's sessions that are gone, in
    // every repository its sessions work in. Whose they are is read from
    // the snapshots' messages: another store may share a repository.
    let repos: BTreeSet<PathBuf> = sessions
        .iter()
        .filter(|s| s.snapshots || s.worktree.is_some())
        .map(|s| match &s.worktree {
            Some(w) => PathBuf::from(&w.repo),
            None => PathBuf::from(&s.working_dir),
        })
        .chain(root.parent().map(Path::to_path_buf))
        .filter_map(|dir| Git::at(dir).common_dir().ok())
        .collect();
    let store_line = format!("{STORE_TRAILER}{}", root.display());
    for common in repos {
        let git = Git::at(&common);
        for (id, refname) in snapshot_sessions(&git) {
            if ids.contains(id.as_str()) {
                continue;
            }
            let Ok(message) = git.run(["log", "-1", "--format=%B", &refname, "--"]) else {
                continue;
            };
            let message = String::from_utf8_lossy(&message);
            if !message.lines().any(|l| l == store_line) {
                continue;
            }
            out.push(Finding::new(
                Kind::OrphanSnapshots,
                Some(&id),
                format!(
                    "refs/zwarm/{id}/ in {} keeps the snapshots of a session this store no longer has; they are kept (`git for-each-ref --format='delete %(refname)' refs/zwarm/{id}/ | git update-ref --stdin` drops them)",
                    common.display()
                ),
            ));
            let branch = message.lines().find_map(|l| l.strip_prefix(BRANCH_TRAILER));
            if let Some(branch) = branch {
                let full = format!("refs/heads/{branch}");
                if git.run(["rev-parse", "--verify", "--quiet", &full]).is_ok() {
                    out.push(Finding::new(
                        Kind::OrphanBranch,
                        Some(&id),
                        format!(
                            "branch {branch} in {} belongs to a session this store no longer has; it is kept (`git branch -d {branch}` deletes it once merged)",
                            common.display()
                        ),
                    ));
                }
            }
        }
    }
}

/// The sessions that have snapshot refs in a repository, each with one
/// of its refs.
fn snapshot_sessions(git: &Git) -> Vec<(String, String)> {
    let Ok(out) = git.run(["for-each-ref", "--format=%(refname)", "refs/zwarm/"]) else {
        return Vec::new();
    };
    let mut seen = BTreeSet::new();
    String::from_utf8_lossy(&out)
        .lines()
        .filter_map(|r| {
            let id = r.strip_prefix("refs/zwarm/")?.split('/').next()?.to_owned();
            seen.insert(id.clone()).then(|| (id, r.to_owned()))
        })
        .collect()
}
