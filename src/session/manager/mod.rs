//! The domain API: start, inject, kill, remove and read sessions. Commands
//! call this; it uses the store, the supervisor and the agent adapters.
//! Reading and liveness are here; starting a turn is in `launch`, stopping
//! one and removing a session in `stop`.

use super::settle::{self, never_started, orphan_end, Settled};
use super::status::Vanished;
use crate::error::{Error, Result};
use crate::model::Session;
use crate::process;
use crate::process::ProcessRecord;
use crate::store::{LoadProblem, Store, WriteGuard};
use nix::fcntl::{Flock, FlockArg};
use std::time::Duration;

mod launch;
mod listing;
mod queued;
mod remove;
mod retry;
mod rights;
mod stop;
mod worktree;

pub(crate) use launch::{QueueOptions, StartRequest, TurnOptions, WorktreeRequest};
pub(crate) use listing::{Listed, Listing, Shown};
pub(crate) use queued::QueuePlace;

/// How long a command waits for a session's write lock held by someone
/// else (a turn being launched holds it until its agent runs).
pub(crate) const LOCK_PATIENCE: Duration = Duration::from_secs(30);

/// What a session's status rests on, as far as can be told without its
/// write lock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Liveness {
    /// The session is not active: its status is final.
    Ended,
    /// Its supervisor (or, without one, its agent) is alive.
    Alive,
    /// Active on disk, but its processes are gone.
    Orphaned(Vanished),
    /// A turn was recorded but no supervisor ever reported in: it is being
    /// launched, or its launch died. Only the write lock tells which.
    Unlaunched,
}

impl Liveness {
    /// Whether a reader may have to settle the session.
    pub(crate) fn unsettled(self) -> bool {
        matches!(self, Liveness::Orphaned(_) | Liveness::Unlaunched)
    }
}

#[derive(Clone)]
pub(crate) struct Manager {
    store: Store,
    stall_after: Duration,
}

impl Manager {
    pub(crate) fn new(store: Store) -> Self {
        Manager {
            store,
            stall_after: super::stall::DEFAULT_STALL_AFTER,
        }
    }

    /// How long a running turn may only retry before it counts as stalled.
    pub(crate) fn with_stall_after(mut self, after: Duration) -> Self {
        self.stall_after = after;
        self
    }

    pub(crate) fn store(&self) -> &Store {
        &self.store
    }

    /// The stall of a running session, if it has only retried for too long.
    pub(crate) fn stall(&self, session: &Session) -> Option<super::stall::Stall> {
        super::stall::detect(&self.store, session, self.stall_after)
    }

    pub(crate) fn stall_after(&self) -> Duration {
        self.stall_after
    }

    /// Resolves an id prefix and returns the session with its status settled.
    pub(crate) fn get(&self, prefix: &str) -> Result<Session> {
        let id = self.store.resolve(prefix)?;
        self.refresh(self.store.load(&id)?)
    }

    /// Every session, newest first, with statuses settled; sessions that could
    /// not be read are returned apart.
    pub(crate) fn list(&self) -> Result<(Vec<Session>, Vec<LoadProblem>)> {
        let (sessions, mut problems) = self.store.load_all()?;
        let mut out = Vec::with_capacity(sessions.len());
        for s in sessions {
            let id = s.id.to_string();
            match self.refresh(s) {
                Ok(s) => out.push(s),
                Err(error) => problems.push(LoadProblem { id, error }),
            }
        }
        out.sort_by_key(|s| std::cmp::Reverse(s.created_at));
        Ok((out, problems))
    }

    /// [`Manager::list`] for display: finished sessions hold only what
    /// `list` shows (see [`super::brief`]), which is most of what makes
    /// listing thousands fast. Active ones are read whole and settled.
    pub(crate) fn list_brief(
        &self,
        last_message: bool,
    ) -> Result<(Vec<Session>, Vec<LoadProblem>)> {
        let (sessions, mut problems) = self.store.load_all_brief(last_message)?;
        let mut out = Vec::with_capacity(sessions.len());
        for s in sessions {
            if !s.status.is_active() {
                out.push(s);
                continue;
            }
            match self.store.load(&s.id).and_then(|s| self.refresh(s)) {
                Ok(s) => out.push(s),
                Err(error) => problems.push(LoadProblem {
                    id: s.id.into(),
                    error,
                }),
            }
        }
        // Newest first, ties by id as `list` has always shown them. The
        // order is found on indices: sorting thousands of sessions in place
        // moves hundreds of bytes per swap.
        let mut order: Vec<usize> = (0..out.len()).collect();
        order.sort_unstable_by(|&a, &b| {
            let (a, b) = (&out[a], &out[b]);
            b.created_at.cmp(&a.created_at).then(a.id.cmp(&b.id))
        });
        let mut slots: Vec<Option<Session>> = out.into_iter().map(Some).collect();
        let out = order.into_iter().filter_map(|i| slots[i].take()).collect();
        Ok((out, problems))
    }

    /// True while a supervisor holds the session's run lock.
    pub(crate) fn supervisor_running(&self, id: &str) -> bool {
        self.store.run_lock_held(id)
    }

    /// Settles a session that claims to be active but has nothing behind it.
    /// The process is the truth: a held run lock, or the recorded agent
    /// process still alive, means it runs; and a turn is settled only once
    /// that has been proven under the session's write lock.
    pub(crate) fn refresh(&self, session: Session) -> Result<Session> {
        if !self.assess(&session).unsettled() {
            return Ok(session);
        }
        let guard = match self.store.try_write_lock(&session.id) {
            Ok(Some(guard)) => guard,
            // A launcher (or a writer) holds it: the state is changing, and
            // nothing is decided on it. The session shows as it stands.
            Ok(None) => return Ok(session),
            // No lock file, and none can be made: in a store nobody can
            // write, no turn can be under way either.
            Err(e) if e.is_unwritable() => return self.settle_in_memory(session),
            Err(e) => return Err(e),
        };
        let session = guard.load()?;
        Ok(self.settle_proven(&guard, session)?.session)
    }

    /// Settles `session`, read under `guard`, if it is active with nothing
    /// behind it. Holding the write lock, no launch can be under way, so a
    /// free run lock means no supervisor will ever take it for this turn.
    pub(crate) fn settle_proven(
        &self,
        guard: &WriteGuard,
        mut session: Session,
    ) -> Result<Settled> {
        let unchanged = |session| {
            Ok(Settled {
                session,
                unsaved: None,
            })
        };
        match self.assess(&session) {
            Liveness::Ended | Liveness::Alive => unchanged(session),
            // Only the agent's own parser can read its stream: a session of
            // an agent this version does not know is left as it stands.
            Liveness::Orphaned(_) if session.agent().is_err() => unchanged(session),
            Liveness::Orphaned(vanished) => {
                let end = orphan_end(&session, vanished);
                settle::settle(&self.store, guard, session.turn, end)
            }
            Liveness::Unlaunched => {
                // A supervisor that died between starting its agent and
                // recording it leaves an agent nobody recorded: while any
                // process carries the session's mark, something runs, and
                // `doctor` is the one to deal with it.
                if self.marked_processes(&session.id).is_empty() {
                    never_started(
                        &mut session,
                        "zwarm's supervisor never started for this turn",
                    );
                    settle::save(guard, session)
                } else {
                    unchanged(session)
                }
            }
        }
    }

    /// The settling a reader does where it may not write: in memory only.
    fn settle_in_memory(&self, mut session: Session) -> Result<Session> {
        match self.assess(&session) {
            Liveness::Orphaned(_) if session.agent().is_err() => {}
            Liveness::Orphaned(vanished) => {
                let (end, turn) = (orphan_end(&session, vanished), session.turn);
                settle::apply(&self.store, &mut session, turn, &end)?;
            }
            Liveness::Unlaunched => never_started(
                &mut session,
                "zwarm's supervisor never started for this turn",
            ),
            Liveness::Ended | Liveness::Alive => {}
        }
        Ok(session)
    }

    /// Live processes carrying session `id`'s mark (its agent and what the
    /// agent started).
    pub(crate) fn marked_processes(&self, id: &str) -> Vec<i32> {
        process::tagged_processes(&self.canonical_root())
            .into_iter()
            .filter(|(_, of)| of == id)
            .map(|(pid, _)| pid)
            .collect()
    }

    /// The store's root as the supervisor writes it into its agent's mark.
    pub(crate) fn canonical_root(&self) -> std::path::PathBuf {
        self.store.canonical_root()
    }

    /// What is behind a session's status, without changing anything.
    pub(crate) fn assess(&self, session: &Session) -> Liveness {
        if !session.status.is_active() {
            return Liveness::Ended;
        }
        if self.supervisor_running(&session.id) {
            return Liveness::Alive;
        }
        let Some(rec) = session.current_turn() else {
            // Written by zwarm 2.3.5: the agent itself is `pid`, and there is
            // no lock; an alive pid is the best evidence there is.
            return if legacy_agent(session).is_some() {
                Liveness::Alive
            } else {
                Liveness::Orphaned(Vanished::Supervisor)
            };
        };
        if !rec.is_open() {
            return Liveness::Ended;
        }
        let rebooted =
            matches!((&rec.boot_id, process::boot_id()), (Some(then), Some(now)) if *then != now);
        if rebooted {
            return Liveness::Orphaned(Vanished::Reboot);
        }
        if rec.agent.as_ref().is_some_and(process::is_alive) {
            // The supervisor died but the agent works on; it is running.
            return Liveness::Alive;
        }
        if rec.supervisor.is_none() {
            return Liveness::Unlaunched;
        }
        Liveness::Orphaned(Vanished::Supervisor)
    }

    /// Blocks until the session's current turn has ended and is recorded, then
    /// returns the session. Sleeps in the kernel: on the supervisor's lock, on
    /// the agent process itself if the supervisor is gone, or on the write
    /// lock while a turn is being launched.
    pub(crate) fn block_until_ended(&self, id: &str) -> Result<Session> {
        loop {
            let session = self.refresh(self.store.load(id)?)?;
            if !session.status.is_active() {
                return Ok(session);
            }
            if self.supervisor_running(id) {
                // A shared lock is granted the moment the supervisor exits,
                // which is after it recorded the ending.
                let file = self.store.run_lock_file(id)?;
                let path = self.store.run_lock_path(id);
                drop(
                    Flock::lock(file, FlockArg::LockShared)
                        .map_err(|(_, e)| Error::io("lock", &path, e.into()))?,
                );
                continue;
            }
            match session.current_turn().and_then(|t| t.agent) {
                Some(agent) if process::is_alive(&agent) => process::wait_for_exit(&agent),
                _ => match self.store.try_write_lock(id)? {
                    // Being launched: the launcher lets go once the agent
                    // runs (or could not be started).
                    None => drop(self.store.write_lock(id)?),
                    // Nothing is launching, yet the turn could not be
                    // settled (processes of the session still run): look
                    // again in a while rather than spin.
                    Some(_) => std::thread::sleep(Duration::from_millis(200)),
                },
            }
        }
    }
}

/// The agent process a zwarm 2.3.5 session recorded (a pid, no start
/// time), if the live process with that pid can be it. A pid alone may
/// name any process by now (the store was copied from another machine, the
/// machine rebooted, the file was edited), and `kill` signals its whole
/// group, so everything 2.3.5 guarantees of its agent must hold: it leads
/// its own session and process group (`start_new_session=True`), and it
/// started while the session was being written, not before the session was
/// created nor after it was last saved.
fn legacy_agent(session: &Session) -> Option<ProcessRecord> {
    let pid = session
        .pid
        .filter(|&p| p > 1 && p != std::process::id() as i32)?;
    let st = process::stat(pid).filter(|s| s.state != 'Z' && s.state != 'X')?;
    if st.session != pid || st.pgrp != pid {
        return None;
    }
    let started = process::started_secs_ago(pid)?;
    // A second of slack each way: the clocks have different resolutions.
    let in_window = started + 1.0 >= session.updated_at.age_seconds()
        && started <= session.created_at.age_seconds() + 1.0;
    in_window.then_some(ProcessRecord {
        pid,
        start_time: st.start_time,
    })
}
