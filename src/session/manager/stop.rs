//! Stopping a running turn with its whole process tree, and removing a
//! session.

use super::Manager;
use crate::error::{Error, Result};
use crate::process;
use crate::session::model::{Session, SessionStatus};
use crate::session::settle::{settle, TurnEnd};
use crate::session::status::Vanished;
use crate::timefmt::Timestamp;
use nix::sys::signal::Signal;
use std::time::{Duration, Instant};

/// What `kill` did to one session.
#[derive(Debug)]
pub struct Killed {
    pub session: Session,
}

impl Manager {
    /// Stops the running turn of a session and its whole process tree, and
    /// returns once the ending is recorded.
    pub fn kill(&self, prefix: &str) -> Result<Killed> {
        let id = self.store.resolve(prefix)?;
        let session = self.refresh(self.store.load(&id)?)?;
        if !session.status.is_active() {
            return Err(Error::NotRunning {
                id: session.id.clone(),
                status: session.status.to_string(),
                action: "kill",
            });
        }
        let turn = session.turn;
        let rec = self.store.update(&id, |s| {
            let rec = s.current_turn_mut().map(|r| {
                r.stop_requested_at.get_or_insert_with(Timestamp::now);
                r.clone()
            });
            Ok(rec)
        })?;
        let Some(rec) = rec else {
            // 2.3.5 session: signal its recorded process group.
            if let Some(pid) = super::legacy_agent(&session) {
                process::signal_group_if_same(&pid, Signal::SIGTERM);
            }
            let s = self.store.update(&id, |s| {
                s.status = SessionStatus::Killed;
                s.error = Some("killed by zwarm".into());
                Ok(s.clone())
            })?;
            return Ok(Killed { session: s });
        };
        let deadline =
            Instant::now() + Duration::from_secs(u64::from(crate::supervisor::GRACE_SECS) + 10);
        let mut seen_ending_at = None;
        if let Some(sup) = rec.supervisor.filter(|_| self.supervisor_running(&id)) {
            // The supervisor stops the agent's group and records the kill.
            process::signal_if_same(&sup, Signal::SIGTERM);
            while self.supervisor_running(&id) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
        } else if let Some(agent) = rec.agent {
            // No supervisor: stop the agent's group ourselves.
            let was_alive = process::signal_group_if_same(&agent, Signal::SIGTERM);
            let grace =
                Instant::now() + Duration::from_secs(u64::from(crate::supervisor::GRACE_SECS));
            while process::is_alive(&agent) && Instant::now() < grace {
                std::thread::sleep(Duration::from_millis(10));
            }
            process::signal_group_if_same(&agent, Signal::SIGKILL);
            if let Some(sup) = rec.supervisor {
                process::signal_session(sup.pid, Signal::SIGKILL, -1);
            }
            // Its end was seen here, now; its exit status is not ours to
            // read (it is not our child), so none is recorded.
            if was_alive {
                seen_ending_at = Some(Timestamp::now());
            }
        }
        let session = self.store.load(&id)?;
        let session = match session.current_turn() {
            Some(r) if r.is_open() && !self.supervisor_running(&id) => settle(
                &self.store,
                &id,
                turn,
                TurnEnd {
                    vanished: Some(Vanished::Supervisor),
                    settled_by: "reader",
                    seen_ending_at,
                    ..Default::default()
                },
            )?,
            _ => session,
        };
        Ok(Killed { session })
    }

    /// Deletes a finished session; with `force`, stops a running one first.
    pub fn remove(&self, prefix: &str, force: bool) -> Result<Session> {
        let id = self.store.resolve(prefix)?;
        let mut session = self.refresh(self.store.load(&id)?)?;
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
        self.store.remove(&id)?;
        Ok(session)
    }
}
