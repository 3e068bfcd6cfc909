//! The table's rows: each session as `top` shows it, in the order a person
//! should look at them (what needs attention first), and the filters.

use crate::model::{Session, SessionStatus, TurnRecord};
use crate::remote::ordered::Ordered;
use crate::render::controls::visible;
use crate::render::human::{agent_name, limited_until, one_line};
use crate::timefmt::Timestamp;

/// A problem older than this no longer asks for attention.
const RECENT_SECS: f64 = 24.0 * 3600.0;
/// The task is kept to this many characters: no terminal shows more.
const TASK_CHARS: usize = 400;

/// Where a row sorts: the groups in the order they are shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Rank {
    /// Failed (a limit, a timeout, a budget included) or stalled, lately.
    Attention,
    Running,
    Pending,
    Rest,
}

/// One session, as its row shows it; every text in it already made safe
/// for a terminal.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Row {
    /// The session's id; `NAME:ID` for a remote's.
    pub id: String,
    /// The id shortened; `NAME:SHORT` for a remote's.
    pub short: String,
    /// The remote it runs on; None for this store's.
    pub host: Option<String>,
    /// Its host did not answer: the row is as it was last seen.
    pub stale: bool,
    pub status: SessionStatus,
    pub stalled: bool,
    /// The status, or what ended the latest turn when that says more.
    pub label: String,
    pub agent: String,
    pub model: String,
    pub turns: u32,
    /// When the latest turn started (else the session was created).
    pub started: Timestamp,
    /// When the latest turn ended, if it has.
    pub ended: Option<Timestamp>,
    pub created: Timestamp,
    pub tokens: u64,
    pub cost: Option<f64>,
    pub task: String,
    pub rank: Rank,
}

impl Row {
    pub(crate) fn new(s: &Session, stalled: bool, now: Timestamp) -> Row {
        let ended = (!s.status.is_active()).then(|| s.ended_at().unwrap_or(s.updated_at));
        let label = if stalled {
            "stalled".to_string()
        } else if let Some(limited) = limited_until(s) {
            limited
        } else {
            match s.current_turn().and_then(TurnRecord::ending) {
                Some(e) if s.status == SessionStatus::Failed => e.as_str().to_string(),
                _ => s.status.as_str().to_string(),
            }
        };
        let recent = ended.is_some_and(|t| t.seconds_until(&now) <= RECENT_SECS);
        let rank = match s.status {
            _ if stalled => Rank::Attention,
            SessionStatus::Failed if recent => Rank::Attention,
            SessionStatus::Running => Rank::Running,
            SessionStatus::Pending => Rank::Pending,
            _ => Rank::Rest,
        };
        Row {
            id: s.id.to_string(),
            short: visible(s.short_id()).into_owned(),
            host: None,
            stale: false,
            status: s.status,
            stalled,
            label,
            agent: visible(agent_name(s)).into_owned(),
            model: if s.model.is_empty() {
                "-".to_string()
            } else {
                visible(&s.model).into_owned()
            },
            turns: s.turn,
            started: s
                .current_turn()
                .and_then(|t| t.started_at)
                .unwrap_or(s.created_at),
            ended,
            created: s.created_at,
            tokens: s.token_usage.total_tokens,
            cost: s.cost_usd,
            task: one_line(&s.task, TASK_CHARS),
            rank,
        }
    }

    /// A remote's session as its `list --json` has it (None if it cannot
    /// be read as one), on `host`; `stale` if that host did not answer and
    /// this is what it listed last: the status stays as it was then.
    pub(crate) fn remote(host: &str, s: &Ordered, stale: bool, now: Timestamp) -> Option<Row> {
        let session = crate::hosts::as_session(s)?;
        let stalled =
            session.status.is_active() && !matches!(s.get("stalled"), None | Some(Ordered::Null));
        let mut row = Row::new(&session, stalled, now);
        // Its turns are not in the list: what ended the latest says more
        // than `failed`, as for this store's rows.
        if !stalled && session.status == SessionStatus::Failed {
            if let Some(ending) = s.get("ending").and_then(Ordered::as_str) {
                row.label = visible(ending).into_owned();
            }
        }
        row.id = format!("{host}:{}", session.id);
        row.short = visible(&format!("{host}:{}", session.short_id())).into_owned();
        row.host = Some(host.to_string());
        row.stale = stale;
        Some(row)
    }

    /// How long the latest turn ran, or has run by `now`.
    pub(crate) fn runtime_secs(&self, now: Timestamp) -> f64 {
        self.started
            .seconds_until(&self.ended.unwrap_or(now))
            .max(0.0)
    }

    /// Whether the text filter matches: id, status, agent, model or task,
    /// ignoring case.
    pub(crate) fn matches(&self, text: &str) -> bool {
        if text.is_empty() {
            return true;
        }
        let want = text.to_lowercase();
        [&self.id, &self.label, &self.agent, &self.model, &self.task]
            .iter()
            .any(|f| f.to_lowercase().contains(&want))
    }
}

/// Sorts `rows`: attention first (the latest problem first), then running
/// (the longest running first), pending (in the order they were queued),
/// then the rest, newest first. Ties by id, so the order never flickers.
pub(crate) fn order(rows: &mut [Row]) {
    rows.sort_by(|a, b| {
        a.rank
            .cmp(&b.rank)
            .then_with(|| match a.rank {
                Rank::Attention => b.ended.cmp(&a.ended),
                Rank::Running => a.started.cmp(&b.started),
                Rank::Pending => a.created.cmp(&b.created),
                Rank::Rest => b.created.cmp(&a.created),
            })
            .then_with(|| a.id.cmp(&b.id))
    });
}

/// The status filter `s` cycles through.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum StatusFilter {
    #[default]
    All,
    Attention,
    Running,
    Pending,
    Completed,
    Failed,
    Killed,
}

impl StatusFilter {
    pub(crate) fn next(self) -> StatusFilter {
        use StatusFilter::*;
        match self {
            All => Attention,
            Attention => Running,
            Running => Pending,
            Pending => Completed,
            Completed => Failed,
            Failed => Killed,
            Killed => All,
        }
    }

    pub(crate) fn as_str(self) -> &'static str {
        use StatusFilter::*;
        match self {
            All => "all",
            Attention => "attention",
            Running => "running",
            Pending => "pending",
            Completed => "completed",
            Failed => "failed",
            Killed => "killed",
        }
    }

    pub(crate) fn keeps(self, row: &Row) -> bool {
        use StatusFilter::*;
        match self {
            All => true,
            Attention => row.rank == Rank::Attention,
            Running => row.status == SessionStatus::Running,
            Pending => row.status == SessionStatus::Pending,
            Completed => row.status == SessionStatus::Completed,
            Failed => row.status == SessionStatus::Failed,
            Killed => row.status == SessionStatus::Killed,
        }
    }
}

/// The header's figures: sessions by status, and what they cost together.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Counts {
    pub total: usize,
    pub attention: usize,
    pub running: usize,
    pub stalled: usize,
    pub pending: usize,
    pub completed: usize,
    pub failed: usize,
    pub killed: usize,
    pub cost: f64,
    pub tokens: u64,
}

impl Counts {
    pub(crate) fn of(rows: &[Row]) -> Counts {
        let mut c = Counts {
            total: rows.len(),
            ..Counts::default()
        };
        for r in rows {
            c.attention += usize::from(r.rank == Rank::Attention);
            c.stalled += usize::from(r.stalled);
            match r.status {
                SessionStatus::Running => c.running += 1,
                SessionStatus::Pending => c.pending += 1,
                SessionStatus::Completed => c.completed += 1,
                SessionStatus::Failed => c.failed += 1,
                SessionStatus::Killed => c.killed += 1,
                SessionStatus::Unknown => {}
            }
            c.cost += r.cost.unwrap_or(0.0);
            c.tokens += r.tokens;
        }
        c
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A session of `status` whose latest turn started at `started` and,
    /// unless active, ended `ending` at `ended` (times of 2025-01-02).
    pub(crate) fn session(
        id: &str,
        status: &str,
        ending: &str,
        started: &str,
        ended: &str,
    ) -> Session {
        let mut turn = serde_json::json!({
            "turn": 1, "started_at": format!("2025-01-02T{started}"),
        });
        if !ending.is_empty() {
            turn["ending"] = ending.into();
            turn["ended_at"] = format!("2025-01-02T{ended}").into();
        }
        serde_json::from_value(serde_json::json!({
            "id": id, "task": format!("task of {id}"), "status": status,
            "working_dir": "/w", "turn": 1, "model": "o3",
            "created_at": format!("2025-01-02T{started}"),
            "updated_at": format!("2025-01-02T{started}"),
            "turns": [turn],
        }))
        .unwrap()
    }

    pub(crate) fn now() -> Timestamp {
        Timestamp::parse("2025-01-02T12:00:00").unwrap()
    }

    fn ids(rows: &[Row]) -> Vec<&str> {
        rows.iter().map(|r| r.id.as_str()).collect()
    }

    #[test]
    fn attention_first_then_running_longest_then_pending_then_newest() {
        // A failure of three days ago is only history.
        let mut old_failure = session("e0", "failed", "failed", "01:00:00", "01:00:05");
        old_failure.created_at = Timestamp::parse("2024-12-30T00:00:00").unwrap();
        old_failure.turns = serde_json::from_value(serde_json::json!([{
            "turn": 1, "started_at": "2024-12-30T00:00:00",
            "ending": "failed", "ended_at": "2024-12-30T00:01:00",
        }]))
        .unwrap();
        let sessions = [
            session("c1", "completed", "completed", "09:00:00", "09:10:00"),
            session("a1", "running", "", "11:00:00", ""),
            session("f1", "failed", "timed_out", "08:00:00", "10:00:00"),
            session("b1", "pending", "", "11:30:00", ""),
            session("a2", "running", "", "10:00:00", ""),
            session("f2", "failed", "rate_limited", "08:00:00", "11:00:00"),
            session("c2", "completed", "completed", "10:30:00", "10:40:00"),
            session("d1", "killed", "killed", "07:00:00", "07:01:00"),
            old_failure,
        ];
        let mut rows: Vec<Row> = sessions.iter().map(|s| Row::new(s, false, now())).collect();
        rows.push(Row::new(
            &session("e1", "running", "", "11:50:00", ""),
            true,
            now(),
        ));
        order(&mut rows);
        assert_eq!(
            ids(&rows),
            ["f2", "f1", "e1", "a2", "a1", "b1", "c2", "c1", "d1", "e0"]
        );
        assert_eq!(rows[2].label, "stalled");
        assert_eq!(rows[1].label, "timed_out");
        assert_eq!(rows[3].runtime_secs(now()), 7200.0);
        assert_eq!(rows[6].runtime_secs(now()), 600.0);
    }

    #[test]
    fn filters_match_text_and_status() {
        let rows: Vec<Row> = [
            session("aa11", "running", "", "11:00:00", ""),
            session("bb22", "failed", "failed", "11:00:00", "11:30:00"),
        ]
        .iter()
        .map(|s| Row::new(s, false, now()))
        .collect();
        assert!(rows[0].matches("AA1"));
        assert!(rows[1].matches("task of bb"));
        assert!(!rows[0].matches("bb22"));
        assert!(StatusFilter::Attention.keeps(&rows[1]));
        assert!(!StatusFilter::Attention.keeps(&rows[0]));
        let mut f = StatusFilter::All;
        let mut seen = vec![];
        for _ in 0..7 {
            f = f.next();
            seen.push(f.as_str());
        }
        assert_eq!(seen.last(), Some(&"all"));
        let c = Counts::of(&rows);
        assert_eq!((c.total, c.running, c.failed, c.attention), (2, 1, 1, 1));
    }

    #[test]
    fn a_remotes_session_is_a_row_named_by_its_host_and_keeps_its_status_when_stale() {
        let listed = |status: &str, extra: serde_json::Value| {
            let mut v = serde_json::json!({
                "id": "3f2a9c1e-5b7d-4c8e-9a1f-2b3c4d5e6f70", "short_id": "3f2a9c1e",
                "status": status, "adapter": "codex", "model": "o3", "task": "fix it",
                "working_dir": "/w", "source": "user", "turns": 2,
                "created_at": "2025-01-02T11:00:00", "updated_at": "2025-01-02T11:30:00",
                "ended_at": null, "cost_usd": null, "error": null, "stalled": null,
                "usage": {"input_tokens": 1, "output_tokens": 2, "total_tokens": 3},
            });
            for (k, x) in extra.as_object().unwrap() {
                v[k] = x.clone();
            }
            Ordered::of(&v).unwrap()
        };
        let running = Row::remote(
            "b1",
            &listed("running", serde_json::json!({})),
            false,
            now(),
        )
        .unwrap();
        assert_eq!(running.id, "b1:3f2a9c1e-5b7d-4c8e-9a1f-2b3c4d5e6f70");
        assert_eq!(running.short, "b1:3f2a9c1e");
        assert_eq!(running.host.as_deref(), Some("b1"));
        assert!(!running.stale && !running.stalled);
        assert_eq!(
            (running.rank, running.turns, running.tokens),
            (Rank::Running, 2, 3)
        );
        assert!(running.matches("b1:"), "the host filters by text");
        // Stale: the status as last seen, never guessed.
        let stale =
            Row::remote("b1", &listed("running", serde_json::json!({})), true, now()).unwrap();
        assert!(stale.stale);
        assert_eq!(stale.label, "running");
        let failed = serde_json::json!({"ending": "timed_out", "ended_at": "2025-01-02T11:30:00"});
        let failed = Row::remote("b1", &listed("failed", failed), false, now()).unwrap();
        assert_eq!(
            (failed.label.as_str(), failed.rank),
            ("timed_out", Rank::Attention)
        );
        let stalled = serde_json::json!({"stalled": {"since": "x", "retries": 3}});
        let stalled = Row::remote("b1", &listed("running", stalled), false, now()).unwrap();
        assert!(stalled.stalled && stalled.rank == Rank::Attention);
        assert!(Row::remote(
            "b1",
            &Ordered::of(&serde_json::json!({"id": 1})).unwrap(),
            false,
            now()
        )
        .is_none());
    }

    #[test]
    fn agent_text_in_a_row_is_made_visible() {
        let mut s = session("aa11", "running", "", "11:00:00", "");
        s.task = "fix\x1b]52;c;AAAA\x07 it".into();
        s.model = "o\u{202e}3".into();
        let r = Row::new(&s, false, now());
        assert_eq!(r.task, "fix^[]52;c;AAAA^G it");
        assert_eq!(r.model, "o<U+202E>3");
    }
}
