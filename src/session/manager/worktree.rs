//! A session's worktree at the session's end: removed only when nothing in
//! it would be lost.

use super::Manager;
use super::WorktreeRequest;
use crate::error::{Error, Result};
use crate::git::{self, Git, Leftovers, Worktree};
use crate::model::{Closing, Ending, Session, SessionId, SettledBy, WorktreeRecord};
use crate::store::WriteGuard;
use std::path::PathBuf;

impl Manager {
    /// Makes the session's git worktree and branch; bad input (no
    /// repository, a base that names no commit, a branch that exists) is a
    /// usage error, and then nothing is left behind.
    pub(super) fn make_worktree(
        &self,
        id: &SessionId,
        working_dir: &std::path::Path,
        req: &WorktreeRequest,
    ) -> Result<crate::git::Worktree> {
        let root = self.canonical_root();
        crate::git::create(&crate::git::WorktreeSpec {
            working_dir,
            store_root: &root,
            session_id: id.as_str(),
            short_id: id.short(),
            name: req.name.as_deref(),
            base: &req.base,
        })
        .map_err(Error::from)
    }

    /// Readies a new worktree before its first turn (see
    /// [`crate::git::setup`]), its output in `turns/turn_1.setup.log`. On
    /// failure the turn is closed `setup_failed` and the session, as it
    /// then stands, returned: no agent runs in a worktree that is not ready.
    pub(super) fn set_up_worktree(
        &self,
        guard: &WriteGuard,
        id: &SessionId,
        made: &Worktree,
        command: Option<&str>,
    ) -> Result<Option<Session>> {
        let log = self
            .store
            .session_dir(id)
            .join("turns")
            .join("turn_1.setup.log");
        let Err(failed) = git::setup(made, &made.repo, command, &log) else {
            return Ok(None);
        };
        let mut s = guard.load()?;
        let why = Some(failed.to_string());
        s.close_turn(
            1,
            Closing::now(Ending::SetupFailed, SettledBy::Launcher, why),
        );
        guard.save(&mut s)?;
        Ok(Some(s))
    }

    /// Removes the worktree of `session` (which is not running), keeping its
    /// branch and snapshot refs. First its working tree is snapshotted once
    /// more, under `refs/zwarm/<id>/final`; unless `force`, it is removed
    /// only if that snapshot holds nothing the latest turn's did not and no
    /// untracked file was too large to keep, and otherwise refused, naming
    /// the files.
    pub(super) fn retire_worktree(
        &self,
        session: &Session,
        w: &WorktreeRecord,
        force: bool,
    ) -> Result<()> {
        let wt = worktree_of(w);
        if !wt.path.is_dir() {
            // Gone already: only git's record of it is left to drop.
            return git::remove(&wt, Leftovers::Discard).map_err(Error::from);
        }
        let here = Git::at(&wt.path);
        let last = latest_snapshot(session).unwrap_or_else(|| w.base.clone());
        let refname = format!("refs/zwarm/{}/final", session.id);
        let message = crate::session::snapshots::message(
            session,
            "its worktree when removed",
            &self.canonical_root(),
        );
        let fin = git::snapshot(
            &here,
            Some(&last),
            &refname,
            &message,
            git::SNAPSHOT_SIZE_CAP,
        )
        .map_err(|e| Error::WorktreeHoldsWork {
            id: session.id.to_string(),
            files: vec![format!("(no snapshot could be taken: {e})")],
        })?;
        if !force {
            let mut files = changed_between(&here, &last, &fin.commit);
            files.extend(fin.left_out);
            if !files.is_empty() {
                return Err(Error::WorktreeHoldsWork {
                    id: session.id.to_string(),
                    files,
                });
            }
        }
        git::remove(&wt, Leftovers::Discard).map_err(Error::from)
    }
}

impl Manager {
    /// For `rm --delete-branch`: the session's branch and what it must be
    /// merged into (its base branch, else its base commit); refused unless
    /// it is merged, before anything is removed.
    pub(super) fn branch_to_delete(&self, session: &Session) -> Result<(Worktree, String)> {
        let Some(w) = &session.worktree else {
            return Err(Error::Usage(format!(
                "session {} has no branch of its own (it was not started with --worktree)",
                session.short_id()
            )));
        };
        let into = w.base_branch.clone().unwrap_or_else(|| w.base.clone());
        let tip = format!("refs/heads/{}", w.branch);
        let merged = Git::at(&w.repo)
            .output(["merge-base", "--is-ancestor", &tip, &into], None)
            .is_ok_and(|out| out.status.success());
        if !merged {
            return Err(Error::Usage(format!(
                "branch {} is not merged into {into}; nothing was removed (without --delete-branch the branch is kept)",
                w.branch
            )));
        }
        Ok((worktree_of(w), into))
    }
}

/// The worktree as git's side knows it.
fn worktree_of(w: &WorktreeRecord) -> Worktree {
    Worktree {
        path: PathBuf::from(&w.path),
        branch: w.branch.clone(),
        base: w.base.clone(),
        base_branch: w.base_branch.clone(),
        repo: PathBuf::from(&w.repo),
        uncommitted_left_behind: false,
    }
}

/// The newest snapshot any turn of `session` took.
fn latest_snapshot(session: &Session) -> Option<String> {
    session
        .turns
        .iter()
        .filter_map(|t| t.snapshot.as_ref())
        .filter_map(|s| s.end.clone().or_else(|| s.start.clone()))
        .next_back()
}

/// The files that differ between two commits; one that cannot be compared
/// counts as a difference, so that nothing is removed on a guess.
fn changed_between(git: &Git, from: &str, to: &str) -> Vec<String> {
    match git.run(["diff", "--no-renames", "--name-only", "-z", from, to, "--"]) {
        Ok(out) => out
            .split(|&b| b == 0)
            .filter(|f| !f.is_empty())
            .map(|f| String::from_utf8_lossy(f).into_owned())
            .collect(),
        Err(e) => vec![format!("(cannot compare with the latest snapshot: {e})")],
    }
}
