//! Stalls: a running turn whose agent only retries (codex "Reconnecting...",
//! claude `api_retry`) is alive but not working, and the people watching it
//! should know.
//!
//! Neither agent timestamps its lines, so the time a stall began is bounded
//! from the evidence, always on the late side (a stall is never shown longer
//! than it is): a turn that never did anything but retry stalled when it
//! started; otherwise the first reader that sees a retry streak records the
//! file's modification time then (a retry was written at that moment, so the
//! streak is at least that old) beside the turn file, keyed by the byte
//! offset where the streak begins.

use crate::session::model::Session;
use crate::store::{write_atomic, Store};
use crate::timefmt::Timestamp;
use crate::trajectory::{Step, StepKind};
use serde::{Deserialize, Serialize};
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::time::Duration;

/// Only the end of the file can hold the current streak; a streak longer
/// than this is still one (the offset is then the window's first line).
const TAIL_BYTES: u64 = 1 << 20;

/// The default for `--stall-after`.
pub const DEFAULT_STALL_AFTER: Duration = Duration::from_secs(300);

#[derive(Clone, Debug, PartialEq)]
pub struct Stall {
    pub since: Timestamp,
    /// Retry notices since the last sign of progress.
    pub retries: u64,
    pub last_retry: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct Marker {
    offset: u64,
    since: Timestamp,
}

/// The stall of a running session that has retried for longer than `after`.
pub fn detect(store: &Store, session: &Session, after: Duration) -> Option<Stall> {
    let stall = current(store, session)?;
    (stall.since.age_seconds() >= after.as_secs_f64()).then_some(stall)
}

/// The retry streak the session's running turn ends with, however young.
pub fn current(store: &Store, session: &Session) -> Option<Stall> {
    if !session.status.is_active() {
        return None;
    }
    let turn = session.current_turn()?;
    if !turn.is_open() {
        return None;
    }
    let agent = crate::agent::AgentKind::from_meta(&session.adapter)?.adapter();
    let path = store.turn_path(&session.id, session.turn);
    let mut file = File::open(&path).ok()?;
    let meta = file.metadata().ok()?;
    let start = meta.len().saturating_sub(TAIL_BYTES);
    file.seek(SeekFrom::Start(start)).ok()?;
    let mut reader = BufReader::new(file.take(TAIL_BYTES));
    let mut offset = start;
    let mut buf = Vec::new();
    if start > 0 {
        // Mid-line: the first full line starts after the next newline.
        offset += reader.read_until(b'\n', &mut buf).ok()? as u64;
    }
    let mut parser = agent.parser();
    let mut streak_start = None;
    let mut worked_before_streak = start > 0;
    let worked = std::cell::Cell::new(false);
    let mut note = |s: Step| {
        if is_work(&s.kind) {
            worked.set(true);
        }
    };
    loop {
        buf.clear();
        let n = reader.read_until(b'\n', &mut buf).ok()?;
        if n == 0 || buf.last() != Some(&b'\n') {
            break;
        }
        let line_at = offset;
        offset += n as u64;
        let before = parser.summary().retries_since_progress;
        parser.feed(0, trim(&buf), &mut note);
        let after = parser.summary().retries_since_progress;
        if after == 0 {
            streak_start = None;
        } else if before == 0 {
            streak_start = Some(line_at);
            worked_before_streak |= worked.get();
        }
    }
    let streak_at = streak_start?;
    let summary = parser.summary();
    let since = if worked_before_streak {
        first_seen(store, session, streak_at, &meta)?
    } else {
        turn.started_at?
    };
    Some(Stall {
        since,
        retries: summary.retries_since_progress,
        last_retry: summary.last_retry.clone(),
    })
}

/// Steps that show the agent working (not the stream's own bookkeeping).
fn is_work(kind: &StepKind) -> bool {
    !matches!(kind, StepKind::Warning { .. } | StepKind::Other { .. })
}

fn first_seen(
    store: &Store,
    session: &Session,
    offset: u64,
    meta: &std::fs::Metadata,
) -> Option<Timestamp> {
    let dir = store.session_dir(&session.id).join("turns");
    let name = format!("turn_{}.stall", session.turn);
    if let Some(m) = std::fs::read(dir.join(&name))
        .ok()
        .and_then(|b| serde_json::from_slice::<Marker>(&b).ok())
        .filter(|m| m.offset == offset)
    {
        return Some(m.since);
    }
    let modified: chrono::DateTime<chrono::Local> = meta.modified().ok()?.into();
    // Rounded as it will be stored, so every reader reports the same time.
    let since = Timestamp::parse(&Timestamp(modified.naive_local()).to_string())?;
    let marker = serde_json::to_vec(&Marker { offset, since }).ok()?;
    // A read-only store still shows the stall from the next read on; only
    // its start is then re-estimated each time.
    let _ = write_atomic(&dir, &name, &marker);
    Some(since)
}

fn trim(buf: &[u8]) -> &[u8] {
    let end = buf
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(0, |i| i + 1);
    &buf[..end]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::model::{SessionStatus, TurnRecord, Usage};

    fn running(store: &Store, adapter: &str, lines: &[&str], started_secs_ago: i64) -> Session {
        let started = Timestamp(
            chrono::Local::now().naive_local() - chrono::Duration::seconds(started_secs_ago),
        );
        let s = Session {
            id: "0b5e7a1c-0000-4000-8000-000000000001".into(),
            task: "t".into(),
            status: SessionStatus::Running,
            working_dir: "/w".into(),
            created_at: started,
            updated_at: started,
            pid: None,
            exit_code: None,
            model: String::new(),
            turn: 1,
            messages: vec![],
            token_usage: Usage::default(),
            error: None,
            source: "user".into(),
            adapter: adapter.into(),
            sandbox: None,
            cost_usd: None,
            agent_session_id: None,
            turns: vec![TurnRecord {
                turn: 1,
                started_at: Some(started),
                ..Default::default()
            }],
            other: Default::default(),
        };
        store.create(&s).unwrap();
        let path = store.turn_path(&s.id, 1);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let mut text = lines.join("\n");
        text.push('\n');
        std::fs::write(path, text).unwrap();
        s
    }

    const RETRY: &str = r#"{"type":"error","message":"Reconnecting... 1/5 (stream disconnected before completion)"}"#;
    const CMD: &str = r#"{"type":"item.completed","item":{"id":"item_1","type":"command_execution","command":"ls","aggregated_output":"","exit_code":0,"status":"completed"}}"#;

    #[test]
    fn a_turn_that_only_retries_stalled_when_it_started() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        let s = running(
            &store,
            "codex",
            &[
                r#"{"type":"thread.started","thread_id":"t"}"#,
                r#"{"type":"turn.started"}"#,
                RETRY,
                RETRY,
            ],
            600,
        );
        let stall = detect(&store, &s, Duration::from_secs(300)).expect("stalled");
        assert_eq!(stall.retries, 2);
        assert_eq!(stall.since, s.turns[0].started_at.unwrap());
        assert!(detect(&store, &s, Duration::from_secs(900)).is_none());
    }

    #[test]
    fn progress_ends_a_stall_and_a_new_streak_starts_late() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        let s = running(
            &store,
            "codex",
            &[r#"{"type":"turn.started"}"#, RETRY, CMD],
            600,
        );
        assert!(current(&store, &s).is_none());

        let s = running(
            &store,
            "codex",
            &[r#"{"type":"turn.started"}"#, CMD, RETRY],
            600,
        );
        let first = current(&store, &s).expect("a streak");
        // Worked, then retried: the streak is dated by when it was first
        // seen, not by the turn's start, and that date sticks.
        assert!(first.since.age_seconds() < 60.0);
        assert!(detect(&store, &s, Duration::from_secs(300)).is_none());
        let again = current(&store, &s).unwrap();
        assert_eq!(again.since, first.since);
    }

    #[test]
    fn finished_sessions_never_stall() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        let mut s = running(&store, "codex", &[RETRY], 600);
        s.status = SessionStatus::Failed;
        assert!(current(&store, &s).is_none());
    }
}
