//! One turn's record: when it ran, what ran it, how it ended.

use super::usage::is_zero;
use super::{SessionStatus, Usage};
use crate::process::ProcessRecord;
use crate::timefmt::Timestamp;
use serde::{Deserialize, Serialize};

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
