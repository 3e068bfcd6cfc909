//! Stopping a running turn with its whole process tree, and removing a
//! session.
//!
//! `kill` stops first and records afterwards: a store that cannot be
//! written (a full disk, a read-only remount) must not keep the agent that
//! filled it running. It signals only processes proven to be the session's
//! (the agent by the mark its supervisor put in its environment, the
//! supervisor by the run lock it holds), and says "killed" only once the
//! agent's process group is gone.

use super::{legacy_agent, Manager, LOCK_PATIENCE};
use crate::error::{Error, Result};
use crate::model::{Session, SessionStatus, SettledBy, TurnRecord};
use crate::process::ProcessRecord;
use crate::process::{self, Mark};
use crate::session::settle::{settle, Settled, TurnEnd};
use crate::session::status::Vanished;
use crate::timefmt::Timestamp;
use nix::sys::signal::Signal;
use std::time::{Duration, Instant};

/// How long a supervisor, once its agent is gone, gets to record the kill
/// before `kill` records it itself.
const RECORD_PATIENCE: Duration = Duration::from_secs(5);

/// What `kill` did to one session.
#[derive(Debug)]
pub(crate) struct Killed {
    /// The session as it now stands (settled in memory where the ending
    /// could not be written).
    pub session: Session,
    /// Why the ending could not be recorded; the agent was stopped all the
    /// same. Its supervisor, if it lives, keeps trying to record it.
    pub unrecorded: Option<Error>,
}

impl Manager {
    /// Stops the running turn of a session and its whole process tree, and
    /// returns once the agent's process group is gone and the ending is
    /// recorded (or could not be).
    pub(crate) fn kill(&self, prefix: &str) -> Result<Killed> {
        let id = self.store.resolve(prefix)?;
        let session = self.refresh(self.store.load(&id)?)?;
        if !session.status.is_active() {
            return Err(Error::NotRunning {
                id: session.id.to_string(),
                status: session.status.to_string(),
                action: "kill",
            });
        }
        match session.current_turn().cloned() {
            Some(rec) => self.stop_turn(&session, &rec),
            None => self.stop_legacy(&session),
        }
    }

    /// The marked processes of a session whose supervisor and agent are
    /// gone (tool commands that left the agent's group): stopped, under the
    /// write lock, so that no new turn's processes can be among them.
    fn sweep(&self, id: &str) {
        let root = self.canonical_root();
        let marked = |pid: i32| process::has_mark(pid, process::SESSION_ENV, id, &root);
        let left: Vec<ProcessRecord> = self
            .marked_processes(id)
            .into_iter()
            .filter_map(process::record)
            .collect();
        if left.is_empty() {
            return;
        }
        for p in &left {
            process::signal_pinned(p, Signal::SIGTERM, marked);
        }
        let grace = Duration::from_secs(2);
        if !wait_until(grace, || !left.iter().any(process::is_alive)) {
            for p in &left {
                process::signal_pinned(p, Signal::SIGKILL, marked);
            }
        }
    }

    /// A turn run by zwarm: its supervisor and its agent's group.
    fn stop_turn(&self, session: &Session, rec: &TurnRecord) -> Result<Killed> {
        let id = session.id.as_str();
        let root = self.canonical_root();
        let marked = |pid: i32| process::has_mark(pid, process::SESSION_ENV, id, &root);
        let supervises = |pid: i32| {
            process::has_mark(pid, process::SUPERVISOR_ENV, id, &root)
                || self.holds_run_lock(id, pid)
        };
        let agent = match rec.agent {
            Some(a) => match process::mark_of(&a, process::SESSION_ENV, id, &root) {
                Mark::Ours => Some(a),
                Mark::Gone => None,
                Mark::Foreign => {
                    return Err(Error::NotOurs {
                        id: id.to_string(),
                        pid: a.pid,
                        why: format!(
                            "it does not carry {}={id} of this store in its environment",
                            process::SESSION_ENV
                        ),
                    })
                }
            },
            None => None,
        };
        let supervisor = match rec.supervisor {
            // Supervisors of earlier versions carry no mark, but hold the
            // run lock.
            Some(s) => match process::mark_of(&s, process::SUPERVISOR_ENV, id, &root) {
                Mark::Ours => Some(s),
                Mark::Gone => None,
                Mark::Foreign if self.holds_run_lock(id, s.pid) => Some(s),
                Mark::Foreign => {
                    return Err(Error::NotOurs {
                        id: id.to_string(),
                        pid: s.pid,
                        why: "it is not this session's supervisor (it carries no mark of it and holds none of its locks)".into(),
                    })
                }
            },
            None => None,
        };
        if supervisor.is_none() && agent.is_none() {
            return self.stop_unrecorded(id, rec.turn);
        }
        // The supervisor first, so that it knows the agent's end was asked
        // for; then continued, in case it was stopped (SIGSTOP): a stopped
        // supervisor would otherwise hold the turn open with its agent gone.
        if let Some(s) = supervisor {
            process::signal_pinned(&s, Signal::SIGTERM, supervises);
            process::signal_pinned(&s, Signal::SIGCONT, supervises);
        }
        // The agent's group directly: a supervisor may be unable to act on
        // the request (stopped again, starved), and the agent must go.
        let mut seen_ending_at = None;
        if let Some(a) = agent {
            process::signal_group_pinned(&a, Signal::SIGTERM, marked);
            self.await_group_gone(id, &a, false)?;
            seen_ending_at = Some(Timestamp::now());
        } else if let Some(s) = supervisor.filter(|_| rec.agent.is_none()) {
            // Its agent not recorded yet: the supervisor, told to stop,
            // stops it the moment it exists. (A supervisor whose recorded
            // agent is gone is recording the ending, perhaps into a store
            // that cannot take it yet: it is left to, below.)
            let grace = Duration::from_secs(u64::from(crate::session::handover::GRACE_SECS) + 5);
            self.await_run_lock_free(id, grace);
            if process::is_alive(&s) {
                process::signal_pinned(&s, Signal::SIGKILL, supervises);
            }
        }
        self.record_kill(id, rec.turn, supervisor, seen_ending_at)
    }

    /// A turn with no recorded process alive: being launched (its launcher
    /// holds the write lock until the agent is recorded), or one whose
    /// supervisor died before recording its agent. Decided under the write
    /// lock, where neither can change.
    fn stop_unrecorded(&self, id: &str, turn: u32) -> Result<Killed> {
        if self.supervisor_running(id) {
            // The run lock is held, but not by a process recorded as this
            // turn's: nothing here may be signalled. It is waited for (the
            // write lock not held meanwhile, which its holder may need).
            let patience =
                Duration::from_secs(u64::from(crate::session::handover::GRACE_SECS) + 10);
            if !self.await_run_lock_free(id, patience) {
                return Err(Error::RunLocked {
                    id: id.to_string(),
                    holder: self.run_lock_holder(id),
                });
            }
        }
        let guard = self.store.write_lock_within(id, LOCK_PATIENCE)?;
        let session = guard.load()?;
        let rec = session.current_turn().cloned();
        if session.turn != turn
            || !session.status.is_active()
            || !rec.as_ref().is_some_and(TurnRecord::is_open)
        {
            // Ended, or moved on, while the lock was waited for.
            return Err(Error::NotRunning {
                id: id.to_string(),
                status: session.status.to_string(),
                action: "kill",
            });
        }
        let started = rec.as_ref().is_some_and(|r| {
            r.supervisor.as_ref().is_some_and(process::is_alive)
                || r.agent.as_ref().is_some_and(process::is_alive)
        });
        if let Some(rec) = rec.filter(|_| started) {
            // Launched while the lock was waited for: stop what runs now.
            drop(guard);
            return self.stop_turn(&session, &rec);
        }
        if self.supervisor_running(id) {
            return Err(Error::RunLocked {
                id: id.to_string(),
                holder: self.run_lock_holder(id),
            });
        }
        self.sweep(id);
        let Settled { session, unsaved } = settle(&self.store, &guard, turn, kill_end(None))?;
        Ok(Killed {
            session,
            unrecorded: unsaved,
        })
    }

    /// What is left of the agent's process group that is proven the
    /// session's. A group id is just a number once its leader is gone and
    /// the group empty: the kernel hands it to the next process that makes
    /// a group of its own (a supervisor of another session, say), so a
    /// member counts only while it carries the session's mark. An agent of
    /// zwarm 2.3.5 carries none: its group counts while its leader is the
    /// recorded process.
    fn remaining(&self, id: &str, agent: &ProcessRecord, legacy: bool) -> Vec<ProcessRecord> {
        if legacy {
            return process::is_alive(agent)
                .then_some(*agent)
                .into_iter()
                .collect();
        }
        let root = self.canonical_root();
        process::group_members(agent.pid)
            .into_iter()
            .filter_map(process::record)
            .filter(|p| process::mark_of(p, process::SESSION_ENV, id, &root) == Mark::Ours)
            .collect()
    }

    /// Waits for the agent's process group to be gone, killing what is left
    /// of it after the grace period; an error if that survives too.
    fn await_group_gone(&self, id: &str, agent: &ProcessRecord, legacy: bool) -> Result<()> {
        let grace = Duration::from_secs(u64::from(crate::session::handover::GRACE_SECS));
        if wait_until(grace, || self.remaining(id, agent, legacy).is_empty()) {
            return Ok(());
        }
        let root = self.canonical_root();
        for p in self.remaining(id, agent, legacy) {
            if legacy {
                process::signal_group_pinned(&p, Signal::SIGKILL, |_| true);
            } else {
                process::signal_pinned(&p, Signal::SIGKILL, |pid| {
                    process::has_mark(pid, process::SESSION_ENV, id, &root)
                });
            }
        }
        // A process blocked in the kernel (a write to a disk under heavy
        // load) dies only once the call returns.
        if wait_until(Duration::from_secs(10), || {
            self.remaining(id, agent, legacy).is_empty()
        }) {
            return Ok(());
        }
        Err(Error::Survived {
            id: id.to_string(),
            pgid: agent.pid,
            pids: self
                .remaining(id, agent, legacy)
                .into_iter()
                .map(|p| process::describe(p.pid))
                .collect(),
        })
    }

    /// Records the kill once the agent is gone: the supervisor normally
    /// does; if it is gone (or cannot finish), this process does.
    fn record_kill(
        &self,
        id: &str,
        turn: u32,
        supervisor: Option<ProcessRecord>,
        seen_ending_at: Option<Timestamp>,
    ) -> Result<Killed> {
        if supervisor.is_some() && !self.await_run_lock_free(id, Duration::from_secs(1)) {
            // Slow, or unable to write: the request is written down here, so
            // the turn reads as killed whoever records it.
            let guard = self.store.write_lock_within(id, LOCK_PATIENCE)?;
            let noted = guard.update(|s| {
                if let Some(r) = s.turns.iter_mut().rev().find(|t| t.turn == turn) {
                    r.stop_requested_at.get_or_insert_with(Timestamp::now);
                }
                Ok(())
            });
            drop(guard);
            match noted {
                Err(e) if e.is_unwritable() => {
                    return self.killed_unrecorded(id, turn, seen_ending_at, e)
                }
                noted => noted?,
            }
            if !self.await_run_lock_free(id, RECORD_PATIENCE) {
                // It has had its chance; its agent is gone.
                if let Some(s) = supervisor {
                    let root = self.canonical_root();
                    process::signal_pinned(&s, Signal::SIGKILL, |p| {
                        process::has_mark(p, process::SUPERVISOR_ENV, id, &root)
                            || self.holds_run_lock(id, p)
                    });
                }
                self.await_run_lock_free(id, Duration::from_secs(2));
            }
        }
        let guard = match self.store.write_lock_within(id, LOCK_PATIENCE) {
            Ok(guard) => guard,
            Err(e) if e.is_unwritable() => {
                return self.killed_unrecorded(id, turn, seen_ending_at, e)
            }
            Err(e) => return Err(e),
        };
        let session = guard.load()?;
        if session.turn != turn {
            // Recorded, and a new turn started since: that one is not ours.
            return Ok(Killed {
                session,
                unrecorded: None,
            });
        }
        // The run lock is free: a supervisor still to be seen is exiting (it
        // lets go of the lock only as it exits, after recording).
        if self.supervisor_running(id) {
            return Err(Error::RunLocked {
                id: id.to_string(),
                holder: self.run_lock_holder(id),
            });
        }
        self.sweep(id);
        if !session.current_turn().is_some_and(TurnRecord::is_open) {
            return Ok(Killed {
                session,
                unrecorded: None,
            });
        }
        let Settled { session, unsaved } =
            settle(&self.store, &guard, turn, kill_end(seen_ending_at))?;
        Ok(Killed {
            session,
            unrecorded: unsaved,
        })
    }

    /// A zwarm 2.3.5 session: its agent's group, under 2.3.5's rules.
    fn stop_legacy(&self, session: &Session) -> Result<Killed> {
        let id = session.id.as_str();
        if let Some(agent) = legacy_agent(session) {
            // A pid from a file is trusted only as far as 2.3.5's own
            // guarantees go, and never to reach another user's processes.
            // SAFETY: geteuid only reads this process's credentials.
            let euid = unsafe { libc::geteuid() };
            if process::owner(agent.pid) != Some(euid) {
                return Err(Error::NotOurs {
                    id: id.to_string(),
                    pid: agent.pid,
                    why: "it belongs to another user".into(),
                });
            }
            process::signal_group_pinned(&agent, Signal::SIGTERM, |_| true);
            self.await_group_gone(id, &agent, true)?;
        }
        let guard = match self.store.write_lock_within(id, LOCK_PATIENCE) {
            Ok(guard) => Some(guard),
            Err(e) if e.is_unwritable() => None,
            Err(e) => return Err(e),
        };
        let mut s = match &guard {
            Some(g) => g.load()?,
            None => self.store.load(id)?,
        };
        s.status = SessionStatus::Killed;
        s.error = Some("killed by zwarm".into());
        let unrecorded = match &guard {
            Some(g) => match g.save(&mut s) {
                Ok(()) => None,
                Err(e) if e.is_unwritable() => Some(e),
                Err(e) => return Err(e),
            },
            None => Some(Error::io(
                "write",
                self.store.meta_path(id),
                std::io::Error::from(std::io::ErrorKind::PermissionDenied),
            )),
        };
        Ok(Killed {
            session: s,
            unrecorded,
        })
    }

    /// Whether `pid` holds the session's run lock (is its supervisor).
    fn holds_run_lock(&self, id: &str, pid: i32) -> bool {
        let Ok(dir) = self.store.session(id) else {
            return false;
        };
        dir.stat("run.lock")
            .is_ok_and(|st| process::lock_holders(st.st_dev, st.st_ino).contains(&pid))
    }

    /// The process holding the session's run lock, if one can be named.
    fn run_lock_holder(&self, id: &str) -> Option<i32> {
        let st = self.store.session(id).ok()?.stat("run.lock").ok()?;
        process::lock_holders(st.st_dev, st.st_ino)
            .into_iter()
            .next()
    }

    /// Waits up to `patience` for the run lock to be free; whether it is.
    fn await_run_lock_free(&self, id: &str, patience: Duration) -> bool {
        wait_until(patience, || !self.supervisor_running(id))
    }

    /// The agent is stopped but the store takes no write: the session as
    /// it now stands, settled in memory only, with why it is not recorded.
    fn killed_unrecorded(
        &self,
        id: &str,
        turn: u32,
        seen_ending_at: Option<Timestamp>,
        why: Error,
    ) -> Result<Killed> {
        let mut session = self.store.load(id)?;
        crate::session::settle::apply(&self.store, &mut session, turn, &kill_end(seen_ending_at))?;
        Ok(Killed {
            session,
            unrecorded: Some(why),
        })
    }
}

/// The ending `kill` records when it settles the turn itself.
fn kill_end(seen_ending_at: Option<Timestamp>) -> TurnEnd {
    TurnEnd {
        vanished: Some(Vanished::Supervisor),
        settled_by: SettledBy::Reader,
        // Its end was seen here; its exit status is not ours to read (it is
        // not our child), so none is recorded.
        seen_ending_at,
        stop_requested: true,
        ..Default::default()
    }
}

/// Polls `done` every 10 ms for up to `patience`; whether it came true.
fn wait_until(patience: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + patience;
    loop {
        if done() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}
