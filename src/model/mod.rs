//! The serde types of `meta.json`, and the invariants they keep. Every key
//! zwarm 2.3.5 writes keeps its name, order and meaning; the keys after
//! `adapter` are ours (2.3.5 ignores them).

mod agent;
mod budget;
mod git;
mod id;
mod queue;
mod turn;
mod usage;

pub(crate) use agent::AgentKind;
pub(crate) use budget::{Breach, Budget};
pub(crate) use git::{snapshot_ref, Changes, TurnSnapshot, WorktreeRecord};
pub(crate) use id::{short, InvalidId, SessionId};
pub(crate) use queue::QueueRecord;
pub(crate) use turn::{Closing, Ending, ExitStatus, SettledBy, TurnRecord};
pub(crate) use usage::Usage;

use crate::timefmt::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::fmt;

/// The five values 2.3.5 knows. Its reader crashes on any other, so we never
/// write anything else; finer detail lives in [`TurnRecord::ending`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum SessionStatus {
    Pending,
    Running,
    Completed,
    Failed,
    Killed,
    /// A value written by some other tool. Read, shown, never written back.
    #[serde(other)]
    Unknown,
}

impl SessionStatus {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            SessionStatus::Pending => "pending",
            SessionStatus::Running => "running",
            SessionStatus::Completed => "completed",
            SessionStatus::Failed => "failed",
            SessionStatus::Killed => "killed",
            SessionStatus::Unknown => "unknown",
        }
    }

    /// Pending and running sessions may have a process behind them.
    pub(crate) fn is_active(self) -> bool {
        matches!(self, SessionStatus::Pending | SessionStatus::Running)
    }

    pub(crate) fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "pending" => SessionStatus::Pending,
            "running" => SessionStatus::Running,
            "completed" => SessionStatus::Completed,
            "failed" => SessionStatus::Failed,
            "killed" => SessionStatus::Killed,
            _ => return None,
        })
    }
}

impl fmt::Display for SessionStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One entry of `messages`, as 2.3.5 writes it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct Message {
    #[serde(default = "unknown_role")]
    pub role: String,
    #[serde(default)]
    pub content: String,
    #[serde(default)]
    pub timestamp: String,
    #[serde(default)]
    pub metadata: Map<String, Value>,
}

fn unknown_role() -> String {
    "unknown".into()
}

impl Message {
    pub(crate) fn new(role: &str, content: impl Into<String>, turn: u32) -> Self {
        let mut metadata = Map::new();
        metadata.insert("turn".into(), Value::from(turn));
        Message {
            role: role.into(),
            content: content.into(),
            timestamp: Timestamp::now().to_string(),
            metadata,
        }
    }
}

/// A session whose `adapter` this version does not know (a newer zwarm's).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("session {id} runs the agent '{}', which this version of zwarm does not know", .value.escape_debug())]
pub(crate) struct UnknownAgent {
    pub id: String,
    pub value: String,
}

/// `meta.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct Session {
    pub id: SessionId,
    pub task: String,
    pub status: SessionStatus,
    pub working_dir: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    #[serde(default)]
    pub pid: Option<i32>,
    #[serde(default)]
    pub exit_code: Option<i32>,
    #[serde(default)]
    pub model: String,
    #[serde(default = "first_turn")]
    pub turn: u32,
    #[serde(default)]
    pub messages: Vec<Message>,
    #[serde(default)]
    pub token_usage: Usage,
    #[serde(default)]
    pub error: Option<String>,
    #[serde(default = "user_source")]
    pub source: String,
    #[serde(default = "codex_adapter")]
    pub adapter: String,

    // ---- zwarm's own keys ----
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sandbox: Option<String>,
    /// Session cost in USD, where the agent reports one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_usd: Option<f64>,
    /// The agent's conversation id (codex thread, claude session) to resume.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_session_id: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub turns: Vec<TurnRecord>,
    /// The git worktree zwarm made for the session (`start --worktree`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worktree: Option<WorktreeRecord>,
    /// The `--on-end` of `start` (or `ZWARM_ON_END`): every turn's hook
    /// unless an `inject` gives its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_end: Option<String>,
    /// The `--timeout` of `start`, in seconds: every turn's unless an
    /// `inject` gives its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_secs: Option<u64>,
    /// The `--agent-arg`s of `start`: every turn's unless an `inject` gives
    /// its own. Recorded with the session's rights too.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub agent_args: Vec<String>,
    /// The `--group` of `start`: every turn's unless an `inject` names another.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// The `--max-running` of `start`: every turn's unless an `inject`
    /// gives its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_running: Option<u32>,
    /// The `--max-tokens`/`--max-cost` of `start`, for all turns together:
    /// every turn's limits unless an `inject` gives its own.
    #[serde(flatten)]
    pub budget: Budget,
    /// Whether each turn's working tree is kept as snapshot commits.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub snapshots: bool,
    /// Keys written by other versions, kept as they were.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

fn first_turn() -> u32 {
    1
}
fn user_source() -> String {
    "user".into()
}
fn codex_adapter() -> String {
    "codex".into()
}

/// Whether `source` is one zwarm 2.3.5 and its orchestrator know: `user`,
/// or `orchestrator:<id>` for a session another program started. The id is
/// one word: it is shown in `list` and `show`, and matched by programs.
pub(crate) fn is_valid_source(source: &str) -> bool {
    match source.strip_prefix("orchestrator:") {
        Some(id) => !id.is_empty() && !id.chars().any(|c| c.is_whitespace() || c.is_control()),
        None => source == "user",
    }
}

impl Session {
    /// The agent this session runs. An `adapter` value this version does not
    /// know (a newer zwarm may have written it) is an error naming it, the
    /// same wherever the agent is needed; `list` and `show` show the value
    /// as it is.
    pub(crate) fn agent(&self) -> Result<AgentKind, UnknownAgent> {
        AgentKind::from_meta(&self.adapter).ok_or_else(|| UnknownAgent {
            id: self.id.to_string(),
            value: self.adapter.clone(),
        })
    }

    pub(crate) fn short_id(&self) -> &str {
        self.id.short()
    }

    /// The record of the latest turn, if this session was made by zwarm (2.3.5
    /// sessions have none).
    pub(crate) fn current_turn(&self) -> Option<&TurnRecord> {
        self.turns.iter().rev().find(|t| t.turn == self.turn)
    }

    pub(crate) fn current_turn_mut(&mut self) -> Option<&mut TurnRecord> {
        let n = self.turn;
        self.turns.iter_mut().rev().find(|t| t.turn == n)
    }

    /// Ends turn `turn` (see [`TurnRecord::close`]) and, as it is the
    /// latest, sets the session's status, error and exit code from it, as
    /// zwarm 2.3.5 keeps them. False when the turn has no record.
    pub(crate) fn close_turn(&mut self, turn: u32, closing: Closing) -> bool {
        let (status, error, exit) = (closing.ending.status(), closing.error.clone(), closing.exit);
        let Some(rec) = self.turns.iter_mut().rev().find(|t| t.turn == turn) else {
            return false;
        };
        rec.close(closing);
        if turn == self.turn {
            self.status = status;
            self.error = error;
            self.exit_code = exit.map(ExitStatus::returncode);
        }
        true
    }

    /// When the latest turn ended, if it has.
    pub(crate) fn ended_at(&self) -> Option<Timestamp> {
        self.current_turn().and_then(TurnRecord::ended_at)
    }

    /// Whether turn `turn` may rightly have no `turns/turn_N.jsonl`: its
    /// agent was never started, or it is the turn being launched, whose file
    /// the supervisor creates only just before it reports the agent running.
    pub(crate) fn turn_may_lack_output(&self, turn: u32) -> bool {
        let record = self.turns.iter().rev().find(|t| t.turn == turn);
        record.is_some_and(|t| {
            matches!(
                t.ending(),
                Some(Ending::AgentMissing | Ending::SetupFailed | Ending::DependencyFailed)
            ) || (t.queue.is_some() && t.agent.is_none())
        }) || (self.status.is_active() && turn == self.turn)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closing_the_latest_turn_sets_the_session_summary_and_an_earlier_one_leaves_it() {
        let mut s: Session = serde_json::from_str(
            r#"{"id":"a","task":"t","status":"running","working_dir":"/w","turn":2,
            "created_at":"2026-01-01T00:00:00","updated_at":"2026-01-01T00:00:00",
            "turns":[{"turn":1},{"turn":2}]}"#,
        )
        .unwrap();
        let failed = |why: &str| Closing {
            exit: Some(ExitStatus::Code(3)),
            ..Closing::now(Ending::Failed, SettledBy::Reader, Some(why.into()))
        };
        assert!(s.close_turn(1, failed("old")));
        assert_eq!(
            (s.status, s.error.as_deref()),
            (SessionStatus::Running, None)
        );
        assert!(s.close_turn(2, failed("new")));
        assert_eq!(s.status, SessionStatus::Failed);
        assert_eq!((s.error.as_deref(), s.exit_code), (Some("new"), Some(3)));
        assert!(
            !s.close_turn(3, failed("none")),
            "no record, nothing closed"
        );
    }

    #[test]
    fn unknown_status_is_read_not_rejected() {
        let s: SessionStatus = serde_json::from_str("\"paused\"").unwrap();
        assert_eq!(s, SessionStatus::Unknown);
    }

    #[test]
    fn unknown_keys_survive_a_round_trip() {
        let json = r#"{"id":"a","task":"t","status":"completed","working_dir":"/w",
            "created_at":"2026-01-01T00:00:00.000001","updated_at":"2026-01-01T00:00:00",
            "future_key":{"x":1},"token_usage":{"input_tokens":3,"weird":7}}"#;
        let s: Session = serde_json::from_str(json).unwrap();
        assert_eq!(s.other["future_key"]["x"], 1);
        assert_eq!(s.token_usage.other["weird"], 7);
        assert_eq!(s.model, "");
        assert_eq!(s.adapter, "codex");
        let back = serde_json::to_value(&s).unwrap();
        assert_eq!(back["future_key"]["x"], 1);
        assert_eq!(back["token_usage"]["weird"], 7);
        // 2.3.5's keys are always written, in its order.
        let text = serde_json::to_string(&s).unwrap();
        let order: Vec<usize> = [
            "\"id\"",
            "\"task\"",
            "\"status\"",
            "\"working_dir\"",
            "\"adapter\"",
        ]
        .iter()
        .map(|k| text.find(k).unwrap())
        .collect();
        assert!(order.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn only_an_agent_that_never_ran_or_the_turn_being_launched_may_lack_output() {
        let mut s: Session = serde_json::from_str(
            r#"{"id":"a","task":"t","status":"running","working_dir":"/w","turn":2,
            "created_at":"2026-01-01T00:00:00","updated_at":"2026-01-01T00:00:00",
            "turns":[{"turn":1,"ending":"agent_missing"},{"turn":2}]}"#,
        )
        .unwrap();
        assert!(s.turn_may_lack_output(1));
        assert!(s.turn_may_lack_output(2));
        s.turns[0].close(Closing::now(Ending::Failed, SettledBy::Reader, None));
        assert!(!s.turn_may_lack_output(1));
        s.status = SessionStatus::Failed;
        assert!(!s.turn_may_lack_output(2));
        // zwarm 2.3.5 kept no turn records.
        s.turns.clear();
        assert!(!s.turn_may_lack_output(2));
        s.status = SessionStatus::Pending;
        assert!(s.turn_may_lack_output(2));
    }

    #[test]
    fn sources() {
        for ok in ["user", "orchestrator:default", "orchestrator:3f2a-9c1e"] {
            assert!(is_valid_source(ok), "{ok}");
        }
        for bad in [
            "",
            "bogus",
            "User",
            "user ",
            "orchestrator",
            "orchestrator:",
            "orchestrator: x",
            "orchestrator:a\nb",
        ] {
            assert!(!is_valid_source(bad), "{bad:?}");
        }
    }
}
