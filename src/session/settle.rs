//! Recording how a turn ended: gather the evidence from disk, let
//! [`super::status::decide`] judge, write the result once. Used by the
//! supervisor when its agent exits, and by any reader that has proven,
//! under the session's write lock, that nothing runs for a turn nobody
//! recorded.

use super::status::{decide, Evidence, Limit, Vanished};
use crate::error::{Error, Result};
use crate::model::{
    Breach, Closing, Ending, ExitStatus, Message, Session, SessionStatus, SettledBy, TurnRecord,
    TurnSnapshot,
};
use crate::store::{Store, TurnFile, WriteGuard};
use crate::timefmt::Timestamp;
use crate::turn::{OutputDetail, TurnSummary};
use std::fs;
use std::io::{Read, Seek, SeekFrom};

/// What the settler saw of the turn's end, apart from the stream.
#[derive(Clone, Debug, Default)]
pub(crate) struct TurnEnd {
    pub exit: Option<ExitStatus>,
    pub vanished: Option<Vanished>,
    pub spawn_error: Option<String>,
    pub settled_by: SettledBy,
    /// Add a record for the turn if it has none (a zwarm 2.3.5 session).
    pub add_record: bool,
    /// When the turn's agent was seen to end, if someone saw it (a `kill`
    /// that stopped it with no supervisor left to record it).
    pub seen_ending_at: Option<Timestamp>,
    /// zwarm stopped the turn, whether or not that could be written down
    /// before the turn ended.
    pub stop_requested: bool,
    /// The turn ran past its timeout (seconds) and its supervisor stopped it.
    pub timed_out: Option<u64>,
    /// The agent was never started, for this reason (a dependency failed,
    /// the queue could not be waited in): the ending, and why.
    pub not_started: Option<(Ending, String)>,
    /// The session reached its token budget during the turn and its
    /// supervisor stopped it, at these figures.
    pub over_budget: Option<Breach>,
    /// The turn's snapshots, the one at its end taken once the agent exited.
    pub snapshot: Option<TurnSnapshot>,
}

/// A turn's ending, worked out and, where the store allows, recorded.
#[derive(Debug)]
pub(crate) struct Settled {
    /// The session as it now stands.
    pub session: Session,
    /// Why the ending could not be written (a read-only store, a full disk);
    /// the session above is then settled in memory only.
    pub unsaved: Option<Error>,
}

/// Records the end of `turn` under the session's write lock, unless someone
/// already did.
pub(crate) fn settle(
    store: &Store,
    guard: &WriteGuard,
    turn: u32,
    end: TurnEnd,
) -> Result<Settled> {
    let mut session = guard.load()?;
    if !apply(store, &mut session, turn, &end)? {
        return Ok(Settled {
            session,
            unsaved: None,
        });
    }
    note_limit(store, &session, turn);
    save(guard, session)
}

/// What a turn's ending says of its agent's account limit, kept for the
/// queue: met (pending sessions of the agent wait for the reset), or
/// lifted (a turn completed).
fn note_limit(store: &Store, s: &Session, turn: u32) {
    use crate::queue::limits::{Limit, Limits};
    let Some(rec) = s.turns.iter().rev().find(|t| t.turn == turn) else {
        return;
    };
    match rec.ending() {
        Some(Ending::RateLimited) => {
            let limit = Limit {
                resets_at: rec.resets_at(),
                session: s.id.to_string(),
                recorded_at: Timestamp::now(),
            };
            if let Ok(limits) = Limits::open(store.root(), true) {
                let _ = limits.record(&s.adapter, &limit);
            }
        }
        Some(Ending::Completed) => {
            if let Ok(limits) = Limits::open(store.root(), false) {
                limits.clear(&s.adapter, false);
            }
        }
        _ => {}
    }
}

/// Writes a settled session; a store that cannot take the write leaves the
/// session settled in memory, for the caller to show.
pub(crate) fn save(guard: &WriteGuard, mut session: Session) -> Result<Settled> {
    match guard.save(&mut session) {
        Ok(()) => Ok(Settled {
            session,
            unsaved: None,
        }),
        Err(e) if e.is_unwritable() => Ok(Settled {
            session,
            unsaved: Some(e),
        }),
        Err(e) => Err(e),
    }
}

/// Works out how `turn` ended and writes it into `s` (nothing on disk).
/// Returns false when the turn was already closed, or has no record and
/// none is to be added.
pub(crate) fn apply(store: &Store, s: &mut Session, turn: u32, end: &TurnEnd) -> Result<bool> {
    if end.add_record && s.current_turn().is_none() && s.status.is_active() {
        // Somewhere for the ending to live.
        s.turns.push(TurnRecord::open(turn, Some(s.updated_at)));
    }
    if !s
        .turns
        .iter()
        .rev()
        .find(|t| t.turn == turn)
        .is_some_and(TurnRecord::is_open)
    {
        return Ok(false);
    }
    let kind = s.agent()?;
    let agent = kind.adapter();
    let id = s.id.clone();
    let summary = if end.spawn_error.is_some() || end.not_started.is_some() {
        TurnSummary::default()
    } else {
        let path = store.turn_path(&id, turn);
        kind.parser(OutputDetail::Whole)
            .summarize(&path)
            .map_err(|e| Error::io("read", &path, e))?
    };
    let stderr_tail = store
        .open_turn_file(&id, turn, TurnFile::Stderr)
        .ok()
        .flatten()
        .and_then(stderr_tail);
    let ended_at = match (end.seen_ending_at, end.vanished) {
        (Some(at), _) => at,
        // Nobody saw it end; the last write to its output is the best guess.
        (None, Some(_)) => store
            .open_turn_file(&id, turn, TurnFile::Output)
            .ok()
            .flatten()
            .and_then(|f| modified(&f))
            .unwrap_or_else(Timestamp::now),
        (None, None) => Timestamp::now(),
    };

    let earlier: Vec<TurnRecord> = s.turns.iter().filter(|t| t.turn < turn).cloned().collect();
    let Some(rec) = s.turns.iter_mut().rev().find(|t| t.turn == turn) else {
        return Ok(false);
    };
    let over_budget = super::budget::exceeded(
        end.over_budget,
        &summary,
        rec.budget,
        agent.session_cost(summary.cost_usd, &earlier),
    );
    let usage_limit = summary.usage_limit.as_ref().map(|l| Limit {
        message: &l.message,
        // A reset given as "5:00 PM" is pinned by when the turn ran.
        resets_at: l.reset_within(rec.started_at, ended_at),
    });
    let evidence = Evidence {
        outcome: summary.outcome.as_ref(),
        exit: end.exit,
        vanished: end.vanished,
        stop_requested: end.stop_requested || rec.stop_requested_at.is_some(),
        events: summary.events,
        last_error: summary.last_error.as_deref(),
        stderr_tail: stderr_tail.as_deref(),
        spawn_error: end.spawn_error.as_deref(),
        timed_out: end.timed_out,
        not_started: end.not_started.as_ref().map(|(e, why)| (*e, why.as_str())),
        over_budget: over_budget.as_deref(),
        usage_limit,
    };
    let decision = decide(&evidence);
    let mut error = decision.error;
    if let (Some(asked), Some(got)) = (
        rec.resume_id.as_deref(),
        summary.agent_session_id.as_deref(),
    ) {
        if asked != got {
            let note = format!(
                "asked to resume conversation {asked} but the agent reported {got}: earlier turns were not in its context"
            );
            error = Some(match error {
                Some(e) => format!("{e}; {note}"),
                None => note,
            });
        }
    }

    if end.stop_requested {
        rec.stop_requested_at.get_or_insert(ended_at);
    }
    rec.skipped_lines = summary.skipped_lines;
    if let Some(snapshot) = &end.snapshot {
        rec.snapshot = Some(snapshot.clone());
    }
    rec.agent_session_id = summary
        .agent_session_id
        .clone()
        .or(rec.agent_session_id.take());
    rec.final_message = summary.messages.last().cloned();
    if let Some(reported) = &summary.usage {
        let own = agent.turn_usage(reported, rec.agent_session_id.as_deref(), &earlier);
        s.token_usage.add(&own);
        rec.reported_usage = Some(reported.clone());
        rec.usage = Some(own);
    }
    rec.reported_cost_usd = summary.cost_usd;
    rec.reported_model = summary.model.clone();
    let cost = agent.session_cost(summary.cost_usd, &earlier);
    let resumed_id = rec.agent_session_id.clone();

    s.close_turn(
        turn,
        Closing {
            ending: decision.ending,
            by: end.settled_by.clone(),
            at: Some(ended_at),
            exit: end.exit,
            error,
            resets_at: decision.resets_at,
        },
    );
    if let (Some(w), Some(snap)) = (s.worktree.as_mut(), &end.snapshot) {
        w.dirty = snap.dirty.or(w.dirty);
        w.ahead = snap.ahead.or(w.ahead);
    }
    if cost.is_some() {
        s.cost_usd = cost;
    }
    if resumed_id.is_some() {
        s.agent_session_id = resumed_id;
    }
    for text in &summary.messages {
        s.messages
            .push(Message::new("assistant", text.clone(), turn));
    }
    Ok(true)
}

/// The ending of a session whose latest turn is open but has no process
/// behind it.
pub(crate) fn orphan_end(session: &Session, vanished: Vanished) -> TurnEnd {
    // A session from zwarm 2.3.5 has no turn records.
    let has_record = session.current_turn().is_some();
    // 2.3.5 ran no supervisor: what vanished is the agent it recorded.
    let vanished = match vanished {
        Vanished::Supervisor if !has_record => Vanished::Agent,
        v => v,
    };
    TurnEnd {
        vanished: Some(vanished),
        settled_by: SettledBy::Reader,
        add_record: !has_record,
        ..Default::default()
    }
}

/// The latest turn of a zwarm 2.3.5 session, as a record read back from its
/// stream. 2.3.5 kept neither the agent's conversation id nor what the agent
/// reported, and the next turn needs both: to resume the conversation, and to
/// count only its own share of codex's running total.
pub(crate) fn legacy_turn_record(store: &Store, session: &Session) -> Option<TurnRecord> {
    if !session.turns.is_empty() || session.agent_session_id.is_some() {
        return None;
    }
    let path = store.turn_path(&session.id, session.turn);
    let summary = session
        .agent()
        .ok()?
        .parser(OutputDetail::Whole)
        .summarize(&path)
        .ok()?;
    summary.agent_session_id.as_ref()?;
    let ending = match session.status {
        SessionStatus::Completed => Ending::Completed,
        SessionStatus::Killed => Ending::Killed,
        _ => Ending::Failed,
    };
    let mut record = TurnRecord::open(session.turn, None);
    record.agent_session_id = summary.agent_session_id;
    record.reported_usage = summary.usage;
    record.final_message = summary.messages.last().cloned();
    record.skipped_lines = summary.skipped_lines;
    record.close(Closing {
        ending,
        by: SettledBy::Reader,
        at: None,
        exit: None,
        error: None,
        resets_at: None,
    });
    Some(record)
}

/// Marks the current turn failed because its supervisor never came up (in
/// memory; the caller saves).
pub(crate) fn never_started(s: &mut Session, why: &str) {
    if s.status.is_active() {
        let closing = Closing::now(Ending::Failed, SettledBy::Reader, Some(why.to_string()));
        if !s.close_turn(s.turn, closing) {
            // A zwarm 2.3.5 session: no turn record to close.
            s.status = SessionStatus::Failed;
            s.error = Some(why.to_string());
        }
    }
}

/// The last few meaningful lines of stderr: the message a person needs when
/// the agent died before writing any event (backtraces and blank lines left
/// out).
pub(crate) fn stderr_tail(mut f: fs::File) -> Option<String> {
    let len = f.metadata().ok()?.len();
    let start = len.saturating_sub(16 * 1024);
    f.seek(SeekFrom::Start(start)).ok()?;
    let mut buf = Vec::new();
    f.read_to_end(&mut buf).ok()?;
    let text = String::from_utf8_lossy(&buf);
    let text = match text.find("Stack backtrace:") {
        Some(i) => &text[..i],
        None => &text[..],
    };
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .filter(|l| !l.starts_with("Reading additional input from stdin"))
        .collect();
    Some(tail_of(&lines)?.join(" | "))
}

/// Up to three lines, starting at the last that says it is an error (a usage
/// message ends with help text that says nothing about what went wrong).
fn tail_of<'a>(lines: &'a [&'a str]) -> Option<&'a [&'a str]> {
    let is_error = |l: &&str| {
        let l = l.trim_start().to_ascii_lowercase();
        l.starts_with("error") || l.contains(" error ") || l.contains("error:")
    };
    let start = match lines.iter().rposition(is_error) {
        Some(i) => i,
        None => lines.len().saturating_sub(3),
    };
    let mut end = lines.len().min(start + 3);
    // The usage synopsis that follows a usage error is the help text meant
    // above: nothing in it says what went wrong.
    let usage = |l: &&str| l.to_ascii_lowercase().starts_with("usage:");
    if let Some(u) = lines
        .get(start + 1..end)
        .and_then(|t| t.iter().position(usage))
    {
        end = start + 1 + u;
    }
    let tail = &lines[start..end];
    (!tail.is_empty()).then_some(tail)
}

fn modified(f: &fs::File) -> Option<Timestamp> {
    let t = f.metadata().ok()?.modified().ok()?;
    Some(Timestamp(
        chrono::DateTime::<chrono::Local>::from(t).naive_local(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stderr_tail_starts_at_the_error() {
        let clap = "error: unexpected argument '--full-auto' found\n\n  tip: to pass '--full-auto' as a value, use '-- --full-auto'\n\nUsage: codex exec [OPTIONS] [PROMPT]\n       codex exec [OPTIONS] <COMMAND> [ARGS]\n\nFor more information, try '--help'.\n";
        let f = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(f.path(), clap).unwrap();
        let tail = stderr_tail(f.reopen().unwrap()).unwrap();
        assert!(
            tail.starts_with("error: unexpected argument '--full-auto' found | tip:"),
            "{tail}"
        );
        assert!(!tail.contains("Usage:"), "{tail}");

        let backtrace = "Reading additional input from stdin...\nError: thread/resume: no rollout found for thread id x\nStack backtrace:\n  0: foo\n";
        std::fs::write(f.path(), backtrace).unwrap();
        assert_eq!(
            stderr_tail(f.reopen().unwrap()).unwrap(),
            "Error: thread/resume: no rollout found for thread id x"
        );

        std::fs::write(f.path(), "a\nb\nc\nd\n").unwrap();
        assert_eq!(stderr_tail(f.reopen().unwrap()).unwrap(), "b | c | d");
        std::fs::write(f.path(), "\n\n").unwrap();
        assert_eq!(stderr_tail(f.reopen().unwrap()), None);
    }
}
