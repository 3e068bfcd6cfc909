//! The one place a turn's ending is decided, from the evidence: the stream's
//! terminal line first, the exit code or signal only where there is none.

use crate::model::{Ending, ExitStatus};
use crate::process::signal_name;
use crate::timefmt::Timestamp;
use crate::turn::Outcome;

/// Why there is no exit record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Vanished {
    /// The supervisor died without recording (SIGKILL, crash).
    Supervisor,
    /// The machine restarted during the turn.
    Reboot,
    /// A zwarm 2.3.5 session: no supervisor ever existed, and the agent
    /// process it recorded is gone.
    Agent,
}

/// Everything known about a turn that has stopped running.
#[derive(Clone, Debug, Default)]
pub(crate) struct Evidence<'a> {
    /// The stream's terminal line.
    pub outcome: Option<&'a Outcome>,
    /// How the agent process ended; None when nobody saw it end.
    pub exit: Option<ExitStatus>,
    pub vanished: Option<Vanished>,
    /// zwarm was asked to stop this turn.
    pub stop_requested: bool,
    /// JSON events the agent wrote.
    pub events: u64,
    /// The last fatal error the stream reported.
    pub last_error: Option<&'a str>,
    /// The last meaningful lines of the agent's stderr.
    pub stderr_tail: Option<&'a str>,
    /// The agent could not be started at all.
    pub spawn_error: Option<&'a str>,
    /// The turn ran past its timeout (this many seconds) and was stopped.
    pub timed_out: Option<u64>,
    /// The agent was never started: the ending that says why, and why.
    pub not_started: Option<(Ending, &'a str)>,
    /// The session ran out of its budget during the turn, which was stopped
    /// (by zwarm or by the agent itself): why, with the figures.
    pub over_budget: Option<&'a str>,
    /// The account's usage or rate limit, where the stream says that is why
    /// the turn failed.
    pub usage_limit: Option<Limit<'a>>,
}

/// An account's limit as the stream reported it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Limit<'a> {
    /// The agent's words.
    pub message: &'a str,
    /// When it lifts, if known.
    pub resets_at: Option<Timestamp>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Decision {
    pub ending: Ending,
    pub error: Option<String>,
    /// When the limit that ended the turn lifts (`RateLimited` only).
    pub resets_at: Option<Timestamp>,
}

fn decision(ending: Ending, error: Option<String>) -> Decision {
    Decision {
        ending,
        error,
        resets_at: None,
    }
}

/// A turn the account's limit ended: the error names the limit, in the
/// agent's words, and when it lifts.
fn rate_limited(limit: Limit) -> Decision {
    let error = match limit.resets_at {
        Some(at) => format!("rate limited until {}: {}", at.minute(), limit.message),
        None => format!("rate limited: {}", limit.message),
    };
    Decision {
        resets_at: limit.resets_at,
        ..decision(Ending::RateLimited, Some(error))
    }
}

pub(crate) fn decide(e: &Evidence) -> Decision {
    if let Some(err) = e.spawn_error {
        return decision(Ending::AgentMissing, Some(err.to_string()));
    }
    if let Some((ending, why)) = e.not_started {
        return decision(ending, Some(why.to_string()));
    }
    // A turn that finished before the stop took effect finished.
    if let Some(secs) = e
        .timed_out
        .filter(|_| !matches!(e.outcome, Some(Outcome::Completed)))
    {
        return decision(
            Ending::TimedOut,
            Some(format!(
                "timed out after {}",
                crate::timefmt::round_duration(secs)
            )),
        );
    }
    if let Some(why) = e
        .over_budget
        .filter(|_| !matches!(e.outcome, Some(Outcome::Completed)))
    {
        return decision(Ending::BudgetExceeded, Some(why.to_string()));
    }
    // The stream's reason for a failure; not for a turn that finished
    // anyway, or that zwarm stopped before it said more.
    let limit = e.usage_limit.filter(|_| match e.outcome {
        Some(Outcome::Failed(_)) => true,
        None => !e.stop_requested,
        _ => false,
    });
    if let Some(limit) = limit {
        return rate_limited(limit);
    }
    match e.outcome {
        Some(Outcome::Completed) => match e.exit {
            // Exit 0, a signal after the turn finished (e.g. a kill that came
            // too late), or no record at all: the stream says it finished.
            None | Some(ExitStatus::Code(0)) | Some(ExitStatus::Signal(_)) => {
                decision(Ending::Completed, None)
            }
            Some(ExitStatus::Code(n)) => decision(
                Ending::Failed,
                Some(format!(
                    "the agent finished its turn but exited with code {n}"
                )),
            ),
        },
        Some(Outcome::Failed(msg)) => decision(Ending::Failed, Some(msg.clone())),
        Some(Outcome::Interrupted(why)) if e.stop_requested => {
            decision(Ending::Killed, Some(format!("killed by zwarm ({why})")))
        }
        Some(Outcome::Interrupted(why)) => {
            decision(Ending::Interrupted, Some(format!("interrupted: {why}")))
        }
        None => no_terminal_line(e),
    }
}

fn no_terminal_line(e: &Evidence) -> Decision {
    if e.stop_requested {
        return decision(Ending::Killed, Some("killed by zwarm".into()));
    }
    if let Some(v) = e.vanished {
        let why = match v {
            Vanished::Reboot => "the machine restarted during this turn",
            Vanished::Supervisor => {
                "zwarm's supervisor stopped unexpectedly and the agent is gone; the turn did not finish"
            }
            Vanished::Agent => {
                "the agent process that zwarm 2.3.5 started is gone; the turn did not finish"
            }
        };
        return decision(Ending::Interrupted, Some(format!("interrupted: {why}")));
    }
    let exit = match e.exit {
        Some(ExitStatus::Code(n)) => format!("exited with code {n}"),
        Some(ExitStatus::Signal(s)) => format!("was killed by {}", signal_name(s)),
        None => "stopped".to_string(),
    };
    if e.events == 0 {
        // It never got going: an unknown flag, a login problem, a bad config.
        let detail = e
            .stderr_tail
            .filter(|t| !t.trim().is_empty())
            .map(str::to_string)
            .unwrap_or_else(|| format!("the agent {exit} without any output"));
        return decision(Ending::Failed, Some(detail));
    }
    if let (Some(err), Some(ExitStatus::Code(n))) = (e.last_error, e.exit) {
        if n != 0 {
            return decision(Ending::Failed, Some(err.to_string()));
        }
    }
    decision(
        Ending::Interrupted,
        Some(format!(
            "interrupted: the agent {exit} before finishing its turn"
        )),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev<'a>() -> Evidence<'a> {
        Evidence {
            events: 5,
            ..Default::default()
        }
    }

    #[test]
    fn a_turn_past_its_timeout_timed_out_unless_it_had_finished() {
        let d = decide(&Evidence {
            timed_out: Some(1800),
            exit: Some(ExitStatus::Signal(15)),
            ..ev()
        });
        assert_eq!(d.ending, Ending::TimedOut);
        assert_eq!(d.error.as_deref(), Some("timed out after 30m"));
        assert_eq!(d.ending.status().as_str(), "failed");
        let done = Outcome::Completed;
        let d = decide(&Evidence {
            timed_out: Some(5),
            outcome: Some(&done),
            ..ev()
        });
        assert_eq!(d.ending, Ending::Completed);
    }

    #[test]
    fn a_turn_out_of_budget_ended_so_unless_it_had_finished() {
        let why = "token budget exceeded: 1,200 of 1,000 tokens";
        let d = decide(&Evidence {
            over_budget: Some(why),
            exit: Some(ExitStatus::Signal(15)),
            ..ev()
        });
        assert_eq!(d, decision(Ending::BudgetExceeded, Some(why.into())));
        assert_eq!(d.ending.status().as_str(), "failed");
        // Claude stops itself at its cost budget: a failed result, exit 1.
        let failed = Outcome::Failed("budget exhausted: Reached maximum budget ($0.1)".into());
        let d = decide(&Evidence {
            over_budget: Some("cost budget exceeded: $0.1200 of $0.1000"),
            outcome: Some(&failed),
            exit: Some(ExitStatus::Code(1)),
            ..ev()
        });
        assert_eq!(d.ending, Ending::BudgetExceeded);
        let done = Outcome::Completed;
        let d = decide(&Evidence {
            over_budget: Some(why),
            outcome: Some(&done),
            ..ev()
        });
        assert_eq!(d.ending, Ending::Completed);
    }

    #[test]
    fn completed_needs_the_terminal_line() {
        let done = Outcome::Completed;
        let d = decide(&Evidence {
            outcome: Some(&done),
            exit: Some(ExitStatus::Code(0)),
            ..ev()
        });
        assert_eq!(d, decision(Ending::Completed, None));
        // Exit 0 alone is not enough.
        let d = decide(&Evidence {
            exit: Some(ExitStatus::Code(0)),
            ..ev()
        });
        assert_eq!(d.ending, Ending::Interrupted);
        // A finished stream with no exit record (supervisor died) still counts.
        let d = decide(&Evidence {
            outcome: Some(&done),
            vanished: Some(Vanished::Supervisor),
            ..ev()
        });
        assert_eq!(d.ending, Ending::Completed);
        let d = decide(&Evidence {
            outcome: Some(&done),
            exit: Some(ExitStatus::Code(3)),
            ..ev()
        });
        assert_eq!(d.ending, Ending::Failed);
    }

    #[test]
    fn failed_turn_carries_its_message() {
        let f = Outcome::Failed("Quota exceeded.".into());
        let d = decide(&Evidence {
            outcome: Some(&f),
            exit: Some(ExitStatus::Code(1)),
            ..ev()
        });
        assert_eq!(d, decision(Ending::Failed, Some("Quota exceeded.".into())));
    }

    #[test]
    fn no_output_is_a_failure_with_stderr() {
        let d = decide(&Evidence {
            exit: Some(ExitStatus::Code(2)),
            events: 0,
            stderr_tail: Some("error: unexpected argument '--full-auto' found"),
            ..Default::default()
        });
        assert_eq!(d.ending, Ending::Failed);
        assert_eq!(
            d.error.unwrap(),
            "error: unexpected argument '--full-auto' found"
        );
        let d = decide(&Evidence {
            exit: Some(ExitStatus::Code(1)),
            events: 0,
            ..Default::default()
        });
        assert_eq!(
            d.error.unwrap(),
            "the agent exited with code 1 without any output"
        );
    }

    #[test]
    fn kills_and_interruptions() {
        let d = decide(&Evidence {
            exit: Some(ExitStatus::Signal(15)),
            stop_requested: true,
            ..ev()
        });
        assert_eq!(d.ending, Ending::Killed);
        let d = decide(&Evidence {
            exit: Some(ExitStatus::Signal(15)),
            ..ev()
        });
        assert_eq!(d.ending, Ending::Interrupted);
        assert!(d.error.unwrap().contains("SIGTERM"));
        let d = decide(&Evidence {
            vanished: Some(Vanished::Reboot),
            ..ev()
        });
        assert_eq!(
            d.error.unwrap(),
            "interrupted: the machine restarted during this turn"
        );
        // Claude exits 0 after SIGINT, with an aborted result.
        let a = Outcome::Interrupted("aborted_tools".into());
        let d = decide(&Evidence {
            outcome: Some(&a),
            exit: Some(ExitStatus::Code(0)),
            ..ev()
        });
        assert_eq!(d.ending, Ending::Interrupted);
        let d = decide(&Evidence {
            outcome: Some(&a),
            stop_requested: true,
            ..ev()
        });
        assert_eq!(d.ending, Ending::Killed);
    }

    #[test]
    fn an_error_event_then_a_crash_is_a_failure() {
        let d = decide(&Evidence {
            exit: Some(ExitStatus::Code(1)),
            last_error: Some("boom"),
            ..ev()
        });
        assert_eq!(d, decision(Ending::Failed, Some("boom".into())));
    }

    #[test]
    fn a_failure_at_the_accounts_limit_is_rate_limited() {
        let reset = Timestamp::parse("2026-12-03T17:00:00").unwrap();
        let limit = Limit {
            message: "You’ve hit your usage limit. Try again at 5:00 PM.",
            resets_at: Some(reset),
        };
        let failed = Outcome::Failed(limit.message.into());
        let d = decide(&Evidence {
            outcome: Some(&failed),
            exit: Some(ExitStatus::Code(1)),
            usage_limit: Some(limit),
            ..ev()
        });
        assert_eq!(d.ending, Ending::RateLimited);
        assert_eq!(d.ending.status().as_str(), "failed");
        assert_eq!(d.resets_at, Some(reset));
        assert_eq!(
            d.error.as_deref(),
            Some("rate limited until 2026-12-03 17:00: You’ve hit your usage limit. Try again at 5:00 PM.")
        );
        // The reset unknown.
        let quota = Limit {
            message: "Quota exceeded. Check your plan and billing details.",
            resets_at: None,
        };
        let d = decide(&Evidence {
            outcome: Some(&failed),
            usage_limit: Some(quota),
            ..ev()
        });
        assert_eq!(
            (d.ending, d.error.as_deref(), d.resets_at),
            (
                Ending::RateLimited,
                Some("rate limited: Quota exceeded. Check your plan and billing details."),
                None
            )
        );
        // Said, then the agent died before its terminal line.
        let d = decide(&Evidence {
            exit: Some(ExitStatus::Code(1)),
            last_error: Some(limit.message),
            usage_limit: Some(limit),
            ..ev()
        });
        assert_eq!(d.ending, Ending::RateLimited);
    }

    #[test]
    fn a_limit_does_not_undo_a_finished_or_stopped_turn() {
        let limit = Limit {
            message: "limit",
            resets_at: None,
        };
        let done = Outcome::Completed;
        let d = decide(&Evidence {
            outcome: Some(&done),
            exit: Some(ExitStatus::Code(0)),
            usage_limit: Some(limit),
            ..ev()
        });
        assert_eq!(d, decision(Ending::Completed, None));
        let d = decide(&Evidence {
            exit: Some(ExitStatus::Signal(15)),
            stop_requested: true,
            usage_limit: Some(limit),
            ..ev()
        });
        assert_eq!(d.ending, Ending::Killed);
        let aborted = Outcome::Interrupted("aborted_streaming".into());
        let d = decide(&Evidence {
            outcome: Some(&aborted),
            usage_limit: Some(limit),
            ..ev()
        });
        assert_eq!(d.ending, Ending::Interrupted);
        let d = decide(&Evidence {
            timed_out: Some(60),
            usage_limit: Some(limit),
            ..ev()
        });
        assert_eq!(d.ending, Ending::TimedOut);
    }

    #[test]
    fn agent_missing() {
        let d = decide(&Evidence {
            spawn_error: Some("`codex` was not found"),
            ..Default::default()
        });
        assert_eq!(d.ending, Ending::AgentMissing);
        assert_eq!(d.ending.status().as_str(), "failed");
    }
}
