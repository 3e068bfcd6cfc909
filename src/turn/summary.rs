//! What a turn's stream says about how it went, beyond its steps.

use super::UsageLimit;
use crate::model::Usage;

/// How the stream says the turn ended: the terminal line, if there was one.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Outcome {
    Completed,
    Failed(String),
    /// The agent stopped the turn itself (claude after SIGINT: `aborted_*`).
    Interrupted(String),
}

/// What one turn file says, beyond its steps.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct TurnSummary {
    /// The conversation id the agent reported (codex thread, claude session).
    pub agent_session_id: Option<String>,
    pub model: Option<String>,
    pub outcome: Option<Outcome>,
    /// Usage as reported; what it covers is the adapter's business.
    pub usage: Option<Usage>,
    pub cost_usd: Option<f64>,
    /// Agent messages, in order.
    pub messages: Vec<String>,
    /// JSON events read.
    pub events: u64,
    /// Lines that were not JSON (stray log lines, a torn last line).
    pub skipped_lines: u64,
    /// The last fatal error the stream reported, terminal or not.
    pub last_error: Option<String>,
    /// Events read since the last one that was not a retry notice: a turn
    /// whose recent events are all retries is not progressing.
    pub retries_since_progress: u64,
    pub last_retry: Option<String>,
    /// The agent stopped itself at the cost budget zwarm gave it (claude's
    /// `--max-budget-usd`).
    pub budget_exhausted: bool,
    /// The account's usage or rate limit, when that is why the turn failed.
    pub usage_limit: Option<UsageLimit>,
}
