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

use crate::model::Session;
use crate::store::Store;
use crate::timefmt::Timestamp;
use crate::turn::{OutputDetail, StepKind};
use serde::{Deserialize, Serialize};
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::time::Duration;

/// Only the end of the file can hold the current streak; a streak longer
/// than this is still one (the offset is then the window's first line).
const TAIL_BYTES: u64 = 1 << 20;

/// The default for `--stall-after`.
pub(crate) const DEFAULT_STALL_AFTER: Duration = Duration::from_secs(300);

#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Stall {
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
pub(crate) fn detect(store: &Store, session: &Session, after: Duration) -> Option<Stall> {
    let stall = current(store, session)?;
    (stall.since.age_seconds() >= after.as_secs_f64()).then_some(stall)
}

/// The retry streak the session's running turn ends with, however young.
pub(crate) fn current(store: &Store, session: &Session) -> Option<Stall> {
    if !session.status.is_active() {
        return None;
    }
    let turn = session.current_turn()?;
    if !turn.is_open() {
        return None;
    }
    let agent = session.agent().ok()?;
    let file = store
        .open_turn_file(&session.id, session.turn, crate::store::TurnFile::Output)
        .ok()??;
    let meta = file.metadata().ok()?;
    // The file is read backwards from its end, and only as far as the retry
    // streak it ends with: usually one line, whatever the file's size or
    // how much was written since the last look. Each line is judged alone
    // (retry, progress, or not an event at all), which is all the agents'
    // retry rules look at.
    let mut retries = 0;
    let mut last_retry = None;
    let mut streak_at = None;
    let mut before_streak = false;
    let mut worked_before_streak = false;
    lines_backward(&file, meta.len(), TAIL_BYTES, &mut |at, line| {
        let mut parser = agent.parser(OutputDetail::Whole);
        let mut work = false;
        parser.feed(0, trim(line), &mut |s| work |= is_work(&s.kind));
        if !before_streak {
            let summary = parser.summary();
            if summary.retries_since_progress > 0 {
                retries += 1;
                streak_at = Some(at);
                if last_retry.is_none() {
                    last_retry = summary.last_retry.clone();
                }
                return true;
            }
            if summary.events == 0 {
                return true; // not an event: neither progress nor a retry
            }
            before_streak = true;
            if retries == 0 {
                return false;
            }
        }
        // Before the streak: look for work. Steps still open count, so a
        // tool call whose result never came is work too.
        parser.finish(&mut |s| work |= is_work(&s.kind));
        worked_before_streak = work;
        !work
    })
    .ok()?;
    let streak_at = streak_at?;
    // A window that does not reach the file's start has work before it as far
    // as anyone can tell: the turn ran for a megabyte.
    let since = if worked_before_streak || meta.len() > TAIL_BYTES {
        first_seen(store, session, streak_at, &meta)?
    } else {
        turn.started_at?
    };
    Some(Stall {
        since,
        retries,
        last_retry,
    })
}

/// Calls `visit` with each complete line of the file's last `window` bytes
/// (its newline included) and the offset where it starts, the last line
/// first, until `visit` returns false. A line the window cuts, or a last line
/// still being written, is not visited.
fn lines_backward(
    file: &File,
    len: u64,
    window: u64,
    visit: &mut dyn FnMut(u64, &[u8]) -> bool,
) -> std::io::Result<()> {
    const CHUNK: u64 = 64 * 1024;
    let floor = len.saturating_sub(window);
    // `buf` holds the file from `pos` on, up to the end of the next line to
    // visit once `ends_at_line` (before that, up to the end of the file).
    let mut pos = len;
    let mut buf: Vec<u8> = Vec::new();
    let mut ends_at_line = false;
    loop {
        if !ends_at_line {
            if let Some(i) = buf.iter().rposition(|&b| b == b'\n') {
                buf.truncate(i + 1);
                ends_at_line = true;
                continue;
            }
        } else if buf.is_empty() {
            // Everything read was visited: the next line starts further back.
        } else if let Some(i) = buf[..buf.len() - 1].iter().rposition(|&b| b == b'\n') {
            let start = i + 1;
            if !visit(pos + start as u64, &buf[start..]) {
                return Ok(());
            }
            buf.truncate(start);
            continue;
        } else if pos == 0 {
            visit(0, &buf);
            return Ok(());
        }
        if pos <= floor {
            return Ok(());
        }
        let n = CHUNK.min(pos - floor);
        pos -= n;
        let mut chunk = vec![0; n as usize];
        file.read_exact_at(&mut chunk, pos)?;
        buf.splice(0..0, chunk);
    }
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
    let turns = store.turns(&session.id, false).ok()?;
    let name = format!("turn_{}.stall", session.turn);
    if let Some(m) = turns
        .read_file(&name)
        .ok()
        .and_then(|f| {
            let mut bytes = Vec::new();
            std::io::Read::read_to_end(&mut std::io::Read::take(f, 4096), &mut bytes).ok()?;
            serde_json::from_slice::<Marker>(&bytes).ok()
        })
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
    let _ = turns.write_atomic(&name, &marker, 0o666);
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
    use crate::model::{SessionStatus, TurnRecord, Usage};

    fn running(store: &Store, adapter: &str, lines: &[&str], started_secs_ago: i64) -> Session {
        let started = Timestamp(
            chrono::Local::now().naive_local() - chrono::Duration::seconds(started_secs_ago),
        );
        let s = Session {
            id: "0b5e7a1c-0000-4000-8000-000000000001".parse().unwrap(),
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
            turns: vec![TurnRecord::open(1, Some(started))],
            worktree: None,
            snapshots: false,
            timeout_secs: None,
            budget: Default::default(),
            on_end: None,
            agent_args: Vec::new(),
            group: None,
            max_running: None,
            other: Default::default(),
        };
        match store.write_lock(&s.id) {
            Ok(guard) => guard.save_as_is(&s).unwrap(),
            Err(_) => drop(store.create(&s).unwrap()),
        }
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
    fn streaks_are_read_back_across_chunks() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        // About 170 KiB of retries after some work, and a line being written.
        let mut lines = vec![r#"{"type":"turn.started"}"#, CMD, "not json"];
        lines.extend(std::iter::repeat_n(RETRY, 2000));
        let s = running(&store, "codex", &lines, 600);
        let path = store.turn_path(&s.id, 1);
        let mut text = std::fs::read(&path).unwrap();
        text.extend_from_slice(br#"{"type":"item.comp"#);
        std::fs::write(&path, text).unwrap();
        let stall = current(&store, &s).expect("a streak");
        assert_eq!(stall.retries, 2000);
        assert!(stall.last_retry.unwrap().starts_with("Reconnecting... 1/5"));
        // It worked before it retried: dated when first seen.
        assert!(stall.since.age_seconds() < 60.0);
    }

    #[test]
    fn lines_are_visited_last_first_with_their_offsets() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let long = "x".repeat(100_000);
        let text = format!("a\n{long}\nbc\n\ndef\npartial");
        std::fs::write(&path, &text).unwrap();
        let file = File::open(&path).unwrap();
        let len = text.len() as u64;
        let mut seen = Vec::new();
        lines_backward(&file, len, u64::MAX, &mut |at, line| {
            seen.push((at, String::from_utf8(line.to_vec()).unwrap()));
            true
        })
        .unwrap();
        let starts = |s: &str| text.find(s).unwrap() as u64;
        assert_eq!(
            seen,
            [
                (starts("def"), "def\n".to_string()),
                (starts("\n\n") + 1, "\n".to_string()),
                (starts("bc"), "bc\n".to_string()),
                (2, format!("{long}\n")),
                (0, "a\n".to_string()),
            ]
        );
        // A window that cuts the long line stops before it.
        let mut n = 0;
        lines_backward(&file, len, 20, &mut |_, _| {
            n += 1;
            true
        })
        .unwrap();
        assert_eq!(n, 3);
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
