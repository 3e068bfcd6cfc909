//! What is wrong with one session: an unreadable `meta.json`, a turn left
//! active with nothing behind it, a stall, a foreign run-lock holder,
//! missing turn files.

use super::quarantine::quarantine_session;
use super::{command_name, decision_lock, is_young, Finding, Kind};
use crate::error::Error;
use crate::model::Session;
use crate::process;
use crate::session::manager::{Liveness, Manager};
use crate::session::stall;
use crate::session::status::Vanished;
use std::time::Duration;

/// A session whose `meta.json` cannot be read: reported; with `fix`, moved
/// into quarantine unless it is too large to read (nothing else is wrong
/// with it that a move would mend) or a supervisor still works in it.
pub(super) fn unreadable(manager: &Manager, id: &str, error: &Error, fix: bool) -> Option<Finding> {
    let store = manager.store();
    let dir = store.session_dir(id);
    if matches!(error, Error::Io(_)) && is_young(&dir) {
        return None;
    }
    let mut f = Finding::new(Kind::UnreadableMeta, Some(id), error.to_string());
    // No turn can be launched from a file that cannot be read: a launch
    // already under way (holding the lock) is all there is to wait for,
    // and asking leaves the folder exactly as it was.
    let launching = store.write_lock_busy(id);
    let running = manager.supervisor_running(id);
    if running {
        f.detail.push_str(
            "; its supervisor still runs a turn (the file may be rewritten when it ends)",
        );
    }
    if !fix {
        return Some(f);
    }
    if matches!(error, Error::MetaTooLarge { .. }) {
        f.failed("left in place: move the file aside or truncate it yourself".into());
    } else if running || launching {
        f.failed(
            "left in place while a turn runs or is launched; run doctor again once it ends".into(),
        );
    } else {
        match quarantine_session(store.root(), id) {
            Ok(to) => f.done(format!("moved the session folder to {}", to.display())),
            Err(e) => f.failed(format!("could not move it aside: {e}")),
        }
    }
    Some(f)
}

pub(super) fn check_session(
    manager: &Manager,
    s: &Session,
    liveness: Liveness,
    fix: bool,
    stall_after: Duration,
    out: &mut Vec<Finding>,
) {
    let store = manager.store();
    if liveness.unsettled() {
        if let Some(f) = stale(manager, s, fix) {
            out.push(f);
        }
    }
    if liveness == Liveness::Alive {
        if let Some(st) = stall::detect(store, s, stall_after) {
            out.push(Finding::new(
                Kind::Stalled,
                Some(&s.id),
                format!(
                    "running, but only retrying for {} ({} retries{})",
                    crate::timefmt::compact_duration(st.since.age_seconds()),
                    st.retries,
                    st.last_retry
                        .as_deref()
                        .map(|r| format!(": {}", crate::agent::first_line(r)))
                        .unwrap_or_default()
                ),
            ));
        }
        if let Some(holder) = foreign_lock_holder(manager, s) {
            out.push(Finding::new(
                Kind::ForeignLockHolder,
                Some(&s.id),
                format!(
                    "its run lock is held by process {holder} ({}), not by its supervisor; \
                     the session reads as running until that process ends",
                    command_name(holder)
                ),
            ));
        }
    }
    let finished: Vec<u32> = s
        .turns
        .iter()
        .filter(|t| !t.is_open() && !s.turn_may_lack_output(t.turn))
        .map(|t| t.turn)
        .collect();
    if finished.is_empty() {
        return;
    }
    let turns = match store.turns(&s.id, false) {
        Ok(dir) => dir,
        Err(Error::Io(e)) if e.is_not_found() => {
            for turn in finished {
                out.push(missing_turn_file(&s.id, turn));
            }
            return;
        }
        Err(e) => {
            out.push(Finding::new(
                Kind::UnreadableTurns,
                Some(&s.id),
                format!("its turn files cannot be read: {e}"),
            ));
            return;
        }
    };
    for turn in finished {
        match turns.stat(&crate::store::TurnFile::Output.name(turn)) {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                out.push(missing_turn_file(&s.id, turn))
            }
            Err(e) => out.push(Finding::new(
                Kind::UnreadableTurns,
                Some(&s.id),
                format!("turn {turn}'s output file cannot be read: {e}"),
            )),
        }
    }
}

fn missing_turn_file(id: &str, turn: u32) -> Finding {
    Finding::new(
        Kind::MissingTurnFile,
        Some(id),
        format!("turn {turn} has no output file (turns/turn_{turn}.jsonl)"),
    )
}

/// An active session with nothing behind it, proven under its write lock
/// (a turn being launched holds it, and is not stale); with `fix`, settled
/// under that same lock.
fn stale(manager: &Manager, s: &Session, fix: bool) -> Option<Finding> {
    let guard = decision_lock(manager, &s.id, fix)?;
    let s = match &guard {
        Some(g) => g.load().ok()?,
        None => s.clone(),
    };
    let why = match manager.assess(&s) {
        Liveness::Orphaned(Vanished::Reboot) => "the machine restarted during its turn",
        // zwarm 2.3.5 ran the agent without a supervisor.
        Liveness::Orphaned(_) if s.turns.is_empty() => {
            "its agent is gone without recording an ending"
        }
        Liveness::Orphaned(_) => "its supervisor and agent are gone without recording an ending",
        Liveness::Unlaunched if !manager.marked_processes(&s.id).is_empty() => {
            "its supervisor died before recording its agent, whose processes still run"
        }
        Liveness::Unlaunched => "its supervisor never started",
        Liveness::Ended | Liveness::Alive => return None,
    };
    let mut f = Finding::new(
        Kind::StaleRunning,
        Some(&s.id),
        format!("{} on disk, but {why}", s.status),
    );
    if let Some(guard) = guard {
        match manager.settle_proven(&guard, s) {
            Ok(settled) if settled.session.status.is_active() => f.failed(
                "left as it is while processes of the session run; `--fix` stops them, then run doctor again"
                    .into(),
            ),
            Ok(settled) => match settled.unsaved {
                None => f.done(format!("settled as {}", settled.session.status)),
                Some(e) => f.failed(format!("could not record it: {e}")),
            },
            Err(e) => f.failed(format!("could not settle it: {e}")),
        }
    }
    Some(f)
}

/// The holder of the session's run lock, if that is not its supervisor.
/// `s` may be older than the lock's holder: a turn injected since it was
/// read has a supervisor of its own. So the holder counts as foreign only if
/// a read made after the holder was seen still shows the same open turn
/// with another supervisor (a later turn needs this one closed first).
fn foreign_lock_holder(manager: &Manager, s: &Session) -> Option<i32> {
    let running = |s: &Session| {
        let t = s.current_turn().filter(|t| t.is_open())?;
        Some((t.turn, t.supervisor?.pid))
    };
    let (turn, supervisor) = running(s)?;
    let st = manager.store().session(&s.id).ok()?.stat("run.lock").ok()?;
    let holder = process::lock_holders(st.st_dev, st.st_ino)
        .into_iter()
        .find(|&pid| pid != supervisor)?;
    let fresh = manager.store().load(&s.id).ok()?;
    (running(&fresh) == Some((turn, supervisor))).then_some(holder)
}
