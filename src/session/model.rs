//! The serde types of `meta.json`. Every key zwarm 2.3.5 writes keeps its name,
//! order and meaning; the keys after `adapter` are ours (2.3.5 ignores them).

use crate::timefmt::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::fmt;

/// The five values 2.3.5 knows. Its reader crashes on any other, so we never
/// write anything else; finer detail lives in [`TurnRecord::ending`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SessionStatus {
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
    pub fn as_str(self) -> &'static str {
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
    pub fn is_active(self) -> bool {
        matches!(self, SessionStatus::Pending | SessionStatus::Running)
    }

    pub fn parse(s: &str) -> Option<Self> {
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

/// How one turn ended: the detail behind `status`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Ending {
    /// The agent finished its turn.
    Completed,
    /// The agent reported a failed turn, or exited without doing anything.
    Failed,
    /// The turn stopped before finishing and zwarm did not stop it.
    Interrupted,
    /// zwarm stopped it (`kill`).
    Killed,
    /// The agent program could not be started.
    AgentMissing,
}

impl Ending {
    pub fn status(self) -> SessionStatus {
        match self {
            Ending::Completed => SessionStatus::Completed,
            Ending::Killed => SessionStatus::Killed,
            Ending::Failed | Ending::Interrupted | Ending::AgentMissing => SessionStatus::Failed,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Ending::Completed => "completed",
            Ending::Failed => "failed",
            Ending::Interrupted => "interrupted",
            Ending::Killed => "killed",
            Ending::AgentMissing => "agent_missing",
        }
    }
}

/// One entry of `messages`, as 2.3.5 writes it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Message {
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
    pub fn new(role: &str, content: impl Into<String>, turn: u32) -> Self {
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

/// Token counts. The first three keys are 2.3.5's; the rest appear only when
/// the agent reports them. Keys we do not know are kept as they were.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Usage {
    #[serde(default)]
    pub input_tokens: u64,
    #[serde(default)]
    pub output_tokens: u64,
    #[serde(default)]
    pub total_tokens: u64,
    /// Codex: the part of `input_tokens` served from cache.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub cached_input_tokens: u64,
    /// Codex: the part of `output_tokens` spent reasoning.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub reasoning_output_tokens: u64,
    /// Codex 0.169+: input written to cache.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub cache_write_input_tokens: u64,
    /// Claude: cache reads, not part of `input_tokens`.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub cache_read_input_tokens: u64,
    /// Claude: cache writes, not part of `input_tokens`.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub cache_creation_input_tokens: u64,
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl Usage {
    pub fn is_empty(&self) -> bool {
        self.total_tokens == 0 && self.input_tokens == 0 && self.output_tokens == 0
    }

    /// Field-wise sum of the counts we know (unknown keys are not summed).
    pub fn add(&mut self, o: &Usage) {
        self.input_tokens += o.input_tokens;
        self.output_tokens += o.output_tokens;
        self.total_tokens += o.total_tokens;
        self.cached_input_tokens += o.cached_input_tokens;
        self.reasoning_output_tokens += o.reasoning_output_tokens;
        self.cache_write_input_tokens += o.cache_write_input_tokens;
        self.cache_read_input_tokens += o.cache_read_input_tokens;
        self.cache_creation_input_tokens += o.cache_creation_input_tokens;
    }

    /// Field-wise `self - o`, never below zero: the part of a running total
    /// that is new since `o`.
    pub fn since(&self, o: &Usage) -> Usage {
        Usage {
            input_tokens: self.input_tokens.saturating_sub(o.input_tokens),
            output_tokens: self.output_tokens.saturating_sub(o.output_tokens),
            total_tokens: self.total_tokens.saturating_sub(o.total_tokens),
            cached_input_tokens: self
                .cached_input_tokens
                .saturating_sub(o.cached_input_tokens),
            reasoning_output_tokens: self
                .reasoning_output_tokens
                .saturating_sub(o.reasoning_output_tokens),
            cache_write_input_tokens: self
                .cache_write_input_tokens
                .saturating_sub(o.cache_write_input_tokens),
            cache_read_input_tokens: self
                .cache_read_input_tokens
                .saturating_sub(o.cache_read_input_tokens),
            cache_creation_input_tokens: self
                .cache_creation_input_tokens
                .saturating_sub(o.cache_creation_input_tokens),
            other: Map::new(),
        }
    }
}

/// A process as we recognise it later: pid alone is ambiguous once reused, so
/// the kernel's start time (clock ticks since boot) goes with it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessRecord {
    pub pid: i32,
    pub start_time: u64,
}

/// How the process of a turn ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExitStatus {
    Code(i32),
    Signal(i32),
}

/// One turn (one agent invocation). zwarm's own key: `turns` in `meta.json`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TurnRecord {
    pub turn: u32,
    pub started_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<Timestamp>,
    /// None while the turn runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ending: Option<Ending>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit: Option<ExitStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The conversation id we asked the agent to resume.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resume_id: Option<String>,
    /// The conversation id the agent reported for this turn.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_session_id: Option<String>,
    /// This turn's own usage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
    /// Usage exactly as the agent reported it (codex: the thread's running total).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reported_usage: Option<Usage>,
    /// Cost as the agent reported it (claude: cumulative for its session).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reported_cost_usd: Option<f64>,
    /// The model the agent said it used (claude does), which may be its
    /// default: the session's `model` stays what was asked for, so that a
    /// later turn is not pinned to a model nobody chose.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reported_model: Option<String>,
    /// The last agent message of this turn.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub final_message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supervisor: Option<ProcessRecord>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<ProcessRecord>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub boot_id: Option<String>,
    /// Set when someone asked zwarm to stop this turn.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_requested_at: Option<Timestamp>,
    /// Who wrote the ending: "supervisor", or "reader" when the supervisor was gone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settled_by: Option<String>,
    /// Lines of the turn file that were not JSON events.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub skipped_lines: u64,
}

impl TurnRecord {
    pub fn is_open(&self) -> bool {
        self.ending.is_none()
    }
}

/// `meta.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Session {
    pub id: String,
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
pub fn is_valid_source(source: &str) -> bool {
    match source.strip_prefix("orchestrator:") {
        Some(id) => !id.is_empty() && !id.chars().any(|c| c.is_whitespace() || c.is_control()),
        None => source == "user",
    }
}

impl Session {
    pub fn short_id(&self) -> &str {
        &self.id[..self.id.len().min(8)]
    }

    /// The record of the latest turn, if this session was made by zwarm (2.3.5
    /// sessions have none).
    pub fn current_turn(&self) -> Option<&TurnRecord> {
        self.turns.iter().rev().find(|t| t.turn == self.turn)
    }

    pub fn current_turn_mut(&mut self) -> Option<&mut TurnRecord> {
        let n = self.turn;
        self.turns.iter_mut().rev().find(|t| t.turn == n)
    }

    /// When the latest turn ended, if it has.
    pub fn ended_at(&self) -> Option<Timestamp> {
        self.current_turn().and_then(|t| t.ended_at)
    }

    /// Whether turn `turn` may rightly have no `turns/turn_N.jsonl`: its
    /// agent was never started, or it is the turn being launched, whose file
    /// the supervisor creates only just before it reports the agent running.
    pub fn turn_may_lack_output(&self, turn: u32) -> bool {
        let record = self.turns.iter().rev().find(|t| t.turn == turn);
        record.is_some_and(|t| t.ending == Some(Ending::AgentMissing))
            || (self.status.is_active() && turn == self.turn)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        s.turns[0].ending = Some(Ending::Failed);
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

    #[test]
    fn usage_since_saturates() {
        let a = Usage {
            input_tokens: 300,
            output_tokens: 21,
            total_tokens: 321,
            ..Default::default()
        };
        let b = Usage {
            input_tokens: 200,
            output_tokens: 30,
            total_tokens: 230,
            ..Default::default()
        };
        let d = a.since(&b);
        assert_eq!(
            (d.input_tokens, d.output_tokens, d.total_tokens),
            (100, 0, 91)
        );
    }
}
