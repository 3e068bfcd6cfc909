//! Removing sessions: their folders, their worktrees, their branches.

use super::Manager;
use crate::error::{Error, Result};
use crate::model::Session;
use crate::process;

impl Manager {
    /// Deletes a finished session; with `force`, stops a running one first.
    pub(crate) fn remove(&self, prefix: &str, force: bool, delete_branch: bool) -> Result<Session> {
        let id = self.store.resolve(prefix)?;
        let mut session = self.refresh(self.store.load(&id)?)?;
        // Decided before anything is removed: all of it, or nothing.
        let branch = if delete_branch {
            Some(self.branch_to_delete(&session)?)
        } else {
            None
        };
        if session.status.is_active() {
            if !force {
                return Err(Error::Busy {
                    id,
                    turn: session.turn,
                });
            }
            // Report the session as it was removed (killed), not as it ran.
            session = self.kill(&id)?.session;
        }
        self.delete(&id, force)?;
        if let Some((wt, into)) = branch {
            crate::git::delete_branch_if_merged(&wt, &into)?;
        }
        Ok(session)
    }

    /// Removes a session's folder and forgets its recorded rights; a
    /// worktree of its own goes first, and only if nothing in it would be
    /// lost (or `force`: it is snapshotted, then removed).
    pub(crate) fn delete(&self, id: &str, force: bool) -> Result<()> {
        // Decided under the write lock, which a launch holds from writing a
        // turn until its agent is recorded running: a turn injected since
        // the caller looked is seen here, and none can start until the
        // folder is gone.
        let guard = self.store.write_lock_within(id, super::LOCK_PATIENCE)?;
        // A session whose meta.json cannot be read names no worktree.
        if let Ok(session) = guard.load() {
            let agent = session.current_turn().and_then(|t| t.agent);
            if session.status.is_active() && agent.is_some_and(|a| process::is_alive(&a)) {
                return Err(Error::Busy {
                    id: id.to_string(),
                    turn: session.turn,
                });
            }
            if let Some(w) = &session.worktree {
                self.retire_worktree(&session, w, force)?;
            }
        }
        self.store.remove(id)?;
        drop(guard);
        self.forget_rights(id);
        Ok(())
    }
}
