//! One turn's record: when it ran, what ran it, how it ended.

use super::usage::is_zero;
use super::{Budget, SessionStatus, TurnSnapshot, Usage};
use crate::process::ProcessRecord;
use crate::timefmt::Timestamp;
use serde::{Deserialize, Serialize};

/// How one turn ended: the detail behind `status`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Ending {
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
    /// The worktree's setup failed, so no agent ran (`start --worktree`).
    SetupFailed,
    /// The turn ran past its `--timeout` and zwarm stopped it.
    TimedOut,
    /// A session it was to start after (`--after`) did not complete, so no
    /// agent ran.
    DependencyFailed,
    /// The session used up its `--max-tokens` or `--max-cost` budget during
    /// the turn, and zwarm (or the agent, told the budget) stopped it.
    BudgetExceeded,
    /// The account's usage or rate limit stopped the turn.
    RateLimited,
}

impl Ending {
    pub(crate) fn status(self) -> SessionStatus {
        match self {
            Ending::Completed => SessionStatus::Completed,
            Ending::Killed => SessionStatus::Killed,
            Ending::Failed
            | Ending::Interrupted
            | Ending::AgentMissing
            | Ending::SetupFailed
            | Ending::TimedOut
            | Ending::DependencyFailed
            | Ending::BudgetExceeded
            | Ending::RateLimited => SessionStatus::Failed,
        }
    }

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Ending::Completed => "completed",
            Ending::Failed => "failed",
            Ending::Interrupted => "interrupted",
            Ending::Killed => "killed",
            Ending::AgentMissing => "agent_missing",
            Ending::SetupFailed => "setup_failed",
            Ending::TimedOut => "timed_out",
            Ending::DependencyFailed => "dependency_failed",
            Ending::BudgetExceeded => "budget_exceeded",
            Ending::RateLimited => "rate_limited",
        }
    }
}

/// How the process of a turn ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum ExitStatus {
    Code(i32),
    Signal(i32),
}

impl ExitStatus {
    /// As Python's `Popen.returncode` says it (a signal negated): the
    /// session's `exit_code`, in 2.3.5's terms.
    pub(crate) fn returncode(self) -> i32 {
        match self {
            ExitStatus::Code(c) => c,
            ExitStatus::Signal(sig) => -sig,
        }
    }
}

/// One turn (one agent invocation). zwarm's own key: `turns` in `meta.json`.
/// How it ended is read through its getters and written only by
/// [`TurnRecord::close`].
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct TurnRecord {
    pub turn: u32,
    pub started_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ended_at: Option<Timestamp>,
    /// None while the turn runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ending: Option<Ending>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    exit: Option<ExitStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    /// When the account's limit lifts, for a turn that ended on it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    resets_at: Option<Timestamp>,
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
    /// The shell command run once the turn has ended (`--on-end`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_end: Option<String>,
    /// How long the agent may run, in seconds, counted from its start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_secs: Option<u64>,
    /// The options given to the agent as they are (`--agent-arg`): an
    /// inject's own, else the start's.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub agent_args: Vec<String>,
    /// How the turn waits for its start: its group, limit, dependencies and
    /// ticket. None: it starts at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue: Option<super::QueueRecord>,
    /// The session's budget as it stood for this turn (an inject's own
    /// limits, else the start's), counted over all turns.
    #[serde(flatten)]
    pub budget: Budget,
    /// The working tree as commits at the turn's start and end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot: Option<TurnSnapshot>,
    /// Set when someone asked zwarm to stop this turn.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_requested_at: Option<Timestamp>,
    /// Who wrote the ending.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    settled_by: Option<SettledBy>,
    /// Lines of the turn file that were not JSON events.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub skipped_lines: u64,
}

/// Who wrote a turn's ending.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum SettledBy {
    /// The turn's own supervisor, which saw its agent exit.
    Supervisor,
    /// A reader (any verb) that proved under the write lock that nothing
    /// ran the turn any more: whoever is not the turn's supervisor.
    #[default]
    Reader,
    /// The launch itself: the turn never got an agent.
    Launcher,
    /// A value this version does not know (a newer zwarm's), kept as read.
    Other(String),
}

impl SettledBy {
    pub fn as_str(&self) -> &str {
        match self {
            SettledBy::Supervisor => "supervisor",
            SettledBy::Reader => "reader",
            SettledBy::Launcher => "launcher",
            SettledBy::Other(s) => s,
        }
    }
}

impl From<String> for SettledBy {
    fn from(s: String) -> Self {
        match s.as_str() {
            "supervisor" => SettledBy::Supervisor,
            "reader" => SettledBy::Reader,
            "launcher" => SettledBy::Launcher,
            _ => SettledBy::Other(s),
        }
    }
}

impl From<SettledBy> for String {
    fn from(s: SettledBy) -> Self {
        match s {
            SettledBy::Other(s) => s,
            known => known.as_str().to_owned(),
        }
    }
}

/// Everything recorded about a turn's end, set together by
/// [`TurnRecord::close`]: an ending without its time, cause or author is
/// never written.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Closing {
    pub ending: Ending,
    pub by: SettledBy,
    /// None only for a turn rebuilt from a zwarm 2.3.5 session, whose end
    /// time nobody kept.
    pub at: Option<Timestamp>,
    pub exit: Option<ExitStatus>,
    pub error: Option<String>,
    /// When the account's limit lifts (a `RateLimited` turn's, if known).
    pub resets_at: Option<Timestamp>,
}

impl Closing {
    /// A turn that ended now, without a process exit to report.
    pub(crate) fn now(ending: Ending, by: SettledBy, error: Option<String>) -> Self {
        Closing {
            ending,
            by,
            at: Some(Timestamp::now()),
            exit: None,
            error,
            resets_at: None,
        }
    }
}

impl TurnRecord {
    pub(crate) fn is_open(&self) -> bool {
        self.ending.is_none()
    }

    /// How the turn ended; None while it runs.
    pub(crate) fn ending(&self) -> Option<Ending> {
        self.ending
    }

    pub(crate) fn ended_at(&self) -> Option<Timestamp> {
        self.ended_at
    }

    pub(crate) fn exit(&self) -> Option<ExitStatus> {
        self.exit
    }

    pub(crate) fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }

    /// When the account's limit that ended the turn lifts, if known.
    pub(crate) fn resets_at(&self) -> Option<Timestamp> {
        self.resets_at
    }

    /// A turn that starts (or started) at `started_at` and has not ended.
    pub(crate) fn open(turn: u32, started_at: Option<Timestamp>) -> Self {
        TurnRecord {
            turn,
            started_at,
            ..Default::default()
        }
    }

    /// The latest turn as `list` reads it: its number, times and ending.
    pub(crate) fn listed(
        turn: u32,
        started_at: Option<Timestamp>,
        ended_at: Option<Timestamp>,
        ending: Option<Ending>,
        resets_at: Option<Timestamp>,
    ) -> Self {
        TurnRecord {
            turn,
            started_at,
            ended_at,
            ending,
            resets_at,
            ..Default::default()
        }
    }

    /// Ends the turn. The one place an ending is written; see
    /// [`super::Session::close_turn`] for the session's summary of it.
    pub(crate) fn close(&mut self, closing: Closing) {
        let Closing {
            ending,
            by,
            at,
            exit,
            error,
            resets_at,
        } = closing;
        self.ending = Some(ending);
        self.ended_at = at;
        self.exit = exit;
        self.error = error;
        self.resets_at = resets_at;
        self.settled_by = Some(by);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settled_by_keeps_the_strings_of_meta_json_and_values_it_does_not_know() {
        for (value, known) in [
            (SettledBy::Supervisor, "\"supervisor\""),
            (SettledBy::Reader, "\"reader\""),
            (SettledBy::Launcher, "\"launcher\""),
            (SettledBy::Other("doctor".into()), "\"doctor\""),
        ] {
            assert_eq!(serde_json::to_string(&value).unwrap(), known);
            assert_eq!(serde_json::from_str::<SettledBy>(known).unwrap(), value);
        }
    }

    #[test]
    fn a_rate_limited_turn_keeps_its_reset_and_others_write_none() {
        let reset = Timestamp::parse("2026-12-03T17:00:00").unwrap();
        let mut t = TurnRecord::open(1, None);
        assert!(!serde_json::to_string(&t).unwrap().contains("resets_at"));
        t.close(Closing {
            resets_at: Some(reset),
            ..Closing::now(Ending::RateLimited, SettledBy::Supervisor, None)
        });
        let json = serde_json::to_value(&t).unwrap();
        assert_eq!(json["ending"], "rate_limited");
        assert_eq!(json["resets_at"], "2026-12-03T17:00:00.000000");
        let back: TurnRecord = serde_json::from_value(json).unwrap();
        assert_eq!(back.resets_at(), Some(reset));
        assert_eq!(Ending::RateLimited.status(), SessionStatus::Failed);
        assert_eq!(Ending::RateLimited.as_str(), "rate_limited");
    }

    #[test]
    fn closing_sets_every_fact_of_the_end_at_once() {
        let mut t = TurnRecord {
            turn: 2,
            ..Default::default()
        };
        assert!(t.is_open());
        t.close(Closing {
            ending: Ending::Killed,
            by: SettledBy::Supervisor,
            at: Some(Timestamp::now()),
            exit: Some(ExitStatus::Signal(15)),
            error: Some("stopped".into()),
            resets_at: None,
        });
        assert!(!t.is_open());
        assert_eq!(t.ending, Some(Ending::Killed));
        assert!(t.ended_at.is_some());
        assert_eq!(t.exit, Some(ExitStatus::Signal(15)));
        assert_eq!(t.error.as_deref(), Some("stopped"));
        assert_eq!(t.settled_by, Some(SettledBy::Supervisor));
        assert_eq!(ExitStatus::Signal(15).returncode(), -15);
    }
}
