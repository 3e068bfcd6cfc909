//! Budgets (`--max-tokens`, `--max-cost`): which agents can keep one, when a
//! turn may not start because the session has spent its budget, and why a
//! turn that ran out of it ended. The supervisor's side, stopping a turn
//! that spends it while it runs, is in `follow`.

mod follow;

pub(crate) use follow::{follow, Follower};

use crate::agent::Agent;
use crate::error::{Error, Result};
use crate::model::{Breach, Budget, Session};
use crate::turn::{Outcome, TurnSummary};

/// A cost budget needs an agent that reports what it costs: codex reports
/// no cost, and a budget nothing can be counted against would never stop.
pub(crate) fn check_agent(agent: &dyn Agent, name: &str, budget: &Budget) -> Result<()> {
    if budget.max_cost_usd.is_some() && !agent.reports_cost() {
        return Err(Error::Usage(format!(
            "--max-cost needs an agent that reports its cost, and {name} reports none; \
             use --max-tokens"
        )));
    }
    Ok(())
}

/// Refuses a turn once the session has spent `budget` (its earlier turns'
/// recorded usage and cost): the turn would be stopped as soon as it began.
pub(crate) fn refuse_if_spent(session: &Session, budget: &Budget) -> Result<()> {
    match budget.breach(session.token_usage.total_tokens, session.cost_usd) {
        Some(breach) => Err(Error::OverBudget {
            id: session.id.to_string(),
            breach,
        }),
        None => Ok(()),
    }
}

/// What is left of the cost budget of the session's latest turn, for an
/// agent that stops itself at a given cost.
pub(crate) fn cost_left(session: &Session) -> Option<f64> {
    session
        .current_turn()
        .and_then(|t| t.budget.cost_left(session.cost_usd))
}

/// Why a turn ended over its budget, if it did: zwarm stopped it (with the
/// figures it stopped at), or the agent stopped itself at the cost it was
/// given (then the session's cost it reported, against the limit).
pub(crate) fn exceeded(
    stopped: Option<Breach>,
    summary: &TurnSummary,
    budget: Budget,
    session_cost: Option<f64>,
) -> Option<String> {
    if let Some(breach) = stopped {
        return Some(breach.to_string());
    }
    if !summary.budget_exhausted {
        return None;
    }
    Some(match (budget.max_cost_usd, session_cost) {
        (Some(limit), Some(used)) => Breach::Cost { used, limit }.to_string(),
        // A budget zwarm did not give (or a cost not reported): the agent's words.
        _ => match &summary.outcome {
            Some(Outcome::Failed(why)) => why.clone(),
            _ => "budget exhausted".to_string(),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::AgentKind;

    #[test]
    fn only_an_agent_that_reports_its_cost_keeps_a_cost_budget() {
        let cost = Budget {
            max_cost_usd: Some(1.0),
            ..Default::default()
        };
        let tokens = Budget {
            max_tokens: Some(10),
            ..Default::default()
        };
        let codex = AgentKind::Codex.adapter();
        let e = check_agent(codex, "codex", &cost).unwrap_err();
        assert_eq!(e.exit_code(), crate::error::exit::USAGE);
        assert!(e.to_string().contains("--max-cost"), "{e}");
        check_agent(codex, "codex", &tokens).unwrap();
        check_agent(AgentKind::Claude.adapter(), "claude", &cost).unwrap();
    }

    #[test]
    fn the_ending_names_who_stopped_the_turn_and_the_figures() {
        let budget = Budget {
            max_cost_usd: Some(0.5),
            ..Default::default()
        };
        let quiet = TurnSummary::default();
        assert_eq!(exceeded(None, &quiet, budget, Some(9.0)), None);
        let ours = Breach::Tokens {
            used: 1200,
            limit: 1000,
        };
        assert_eq!(
            exceeded(Some(ours), &quiet, budget, None).as_deref(),
            Some("token budget exceeded: 1,200 of 1,000 tokens")
        );
        let agents = TurnSummary {
            budget_exhausted: true,
            outcome: Some(Outcome::Failed(
                "budget exhausted: Reached maximum budget ($0.1)".into(),
            )),
            ..Default::default()
        };
        assert_eq!(
            exceeded(None, &agents, budget, Some(0.61)).as_deref(),
            Some("cost budget exceeded: $0.6100 of $0.5000")
        );
        assert_eq!(
            exceeded(None, &agents, Budget::default(), Some(0.61)).as_deref(),
            Some("budget exhausted: Reached maximum budget ($0.1)")
        );
    }
}
