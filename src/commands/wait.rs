//! `wait`: block until sessions' current turns end. Each session gets a
//! thread asleep on its supervisor's lock, so the end is seen at once and no
//! CPU is spent meanwhile.

use super::{Ctx, Outcome};
use crate::cli::WaitArgs;
use crate::error::Error;
use crate::model::{Session, SessionStatus};
use crate::render::{self, human, json};
use crate::session::manager::Manager;
use anyhow::Result;
use std::sync::mpsc;
use std::time::Instant;

pub(crate) fn run(ctx: &mut Ctx, a: &WaitArgs) -> Result<Outcome> {
    let manager = &ctx.manager;
    // Resolve every id first: a typo fails at once rather than after a wait.
    let ids: Vec<String> = a
        .ids
        .iter()
        .map(|i| manager.store().resolve(i))
        .collect::<Result<_, Error>>()?;
    let (tx, rx) = mpsc::channel();
    for (n, id) in ids.iter().enumerate() {
        let tx = tx.clone();
        let store = manager.store().clone();
        let id = id.clone();
        std::thread::spawn(move || {
            let _ = tx.send((n, Manager::new(store).block_until_ended(&id)));
        });
    }
    drop(tx);
    let deadline = a.timeout.map(|t| Instant::now() + t);
    let mut ended: Vec<Option<Session>> = vec![None; ids.len()];
    let mut remaining = ids.len();
    let mut ran_out = false;
    while remaining > 0 {
        let got = match deadline {
            Some(d) => rx.recv_timeout(d.saturating_duration_since(Instant::now())),
            None => rx.recv().map_err(|_| mpsc::RecvTimeoutError::Disconnected),
        };
        match got {
            Ok((n, result)) => {
                ended[n] = Some(result?);
                remaining -= 1;
                if a.any {
                    break;
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                ran_out = true;
                break;
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    // Sessions still running are reported as they stand.
    let mut sessions = Vec::with_capacity(ids.len());
    let mut seen = Vec::with_capacity(ids.len());
    for (n, id) in ids.iter().enumerate() {
        let (s, reported) = match ended[n].take() {
            Some(s) => (s, true),
            None => (manager.get(id)?, false),
        };
        seen.push(Seen {
            reported,
            status: s.status,
        });
        sessions.push(s);
    }
    let verdict = verdict(&seen, a.any, ran_out);
    if ctx.json() {
        ctx.p
            .json_doc(&json::WaitJson::new(&sessions, verdict.timed_out))?;
    } else {
        let style = ctx.style();
        for s in &sessions {
            ctx.p.line(&human::ending::waited(&style, s))?;
        }
        if verdict.timed_out {
            render::notice(&style, human::ending::TIMED_OUT);
        }
    }
    Ok(verdict.outcome)
}

/// A session as the wait left it.
#[derive(Clone, Copy, Debug)]
struct Seen {
    /// Its thread saw its turn end.
    reported: bool,
    /// Its status then, or as read once the wait returned.
    status: SessionStatus,
}

#[derive(Debug, PartialEq, Eq)]
struct Verdict {
    /// Whether the wait is reported as having timed out.
    timed_out: bool,
    outcome: Outcome,
}

/// How a wait for `seen` ended: `any` waits for one session, else for all;
/// `ran_out`, the timeout was reached first. A thread may not have reported
/// yet what is already on disk (with `--timeout 0` none has): after a
/// timeout, a session found ended counts as waited for, and the wait timed
/// out only if what it waited for is still running. Otherwise the sessions
/// waited for decide: 0 if every one completed, 4 if one did not.
fn verdict(seen: &[Seen], any: bool, ran_out: bool) -> Verdict {
    let done = |s: &Seen| s.reported || (ran_out && !s.status.is_active());
    let n_done = seen.iter().filter(|s| done(s)).count();
    let timed_out = ran_out
        && if any {
            n_done == 0
        } else {
            n_done < seen.len()
        };
    let outcome = if timed_out {
        Outcome::TIMEOUT
    } else {
        seen.iter()
            .filter(|s| done(s))
            .map(|s| Outcome::of_ended(s.status))
            .fold(Outcome::OK, Outcome::worst)
    };
    Verdict { timed_out, outcome }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::exit;
    use SessionStatus::*;

    fn reported(status: SessionStatus) -> Seen {
        Seen {
            reported: true,
            status,
        }
    }

    /// Not reported by its thread: read as it stands.
    fn read(status: SessionStatus) -> Seen {
        Seen {
            reported: false,
            status,
        }
    }

    fn code(seen: &[Seen], any: bool, ran_out: bool) -> (bool, i32) {
        let v = verdict(seen, any, ran_out);
        (v.timed_out, v.outcome.code())
    }

    #[test]
    fn all_completed_is_success() {
        let seen = [reported(Completed), reported(Completed)];
        assert_eq!(code(&seen, false, false), (false, exit::OK));
    }

    #[test]
    fn one_failed_or_killed_is_not_completed() {
        for bad in [Failed, Killed, Unknown] {
            let seen = [reported(Completed), reported(bad)];
            assert_eq!(code(&seen, false, false), (false, exit::NOT_COMPLETED));
        }
    }

    #[test]
    fn any_is_decided_by_the_sessions_that_ended_alone() {
        let seen = [read(Running), reported(Completed), read(Failed)];
        assert_eq!(code(&seen, true, false), (false, exit::OK));
        let seen = [read(Running), reported(Killed)];
        assert_eq!(code(&seen, true, false), (false, exit::NOT_COMPLETED));
    }

    #[test]
    fn a_timeout_with_a_session_still_running_times_out() {
        let seen = [reported(Completed), read(Running)];
        assert_eq!(code(&seen, false, true), (true, exit::TIMEOUT));
        // Even when what did end failed.
        let seen = [reported(Failed), read(Pending)];
        assert_eq!(code(&seen, false, true), (true, exit::TIMEOUT));
        let seen = [read(Running), read(Running)];
        assert_eq!(code(&seen, true, true), (true, exit::TIMEOUT));
    }

    #[test]
    fn after_a_timeout_what_had_ended_on_disk_counts() {
        // `--timeout 0` on sessions that have ended: no thread reported.
        let seen = [read(Completed), read(Completed)];
        assert_eq!(code(&seen, false, true), (false, exit::OK));
        let seen = [read(Completed), read(Failed)];
        assert_eq!(code(&seen, false, true), (false, exit::NOT_COMPLETED));
        // With --any, one ended is enough, and only those ended decide.
        let seen = [read(Running), read(Completed)];
        assert_eq!(code(&seen, true, true), (false, exit::OK));
        let seen = [read(Killed), read(Running)];
        assert_eq!(code(&seen, true, true), (false, exit::NOT_COMPLETED));
    }

    #[test]
    fn before_a_timeout_only_what_was_reported_decides() {
        // Without a timeout, a session read but not reported (its thread
        // failed to) has not been waited for.
        let seen = [reported(Completed), read(Failed)];
        assert_eq!(code(&seen, false, false), (false, exit::OK));
    }
}
