//! `show`: a session's budget, beside what it has used of it.

use super::thousands;
use crate::model::Session;

/// "1,234 of 2,000,000 tokens, $0.0412 of $5.0000 used"; None without a budget.
pub(super) fn used_of(s: &Session) -> Option<String> {
    // The latest turn's limits are the ones in force (an inject's own, else
    // the start's).
    let b = s.current_turn().map_or(s.budget, |t| t.budget);
    let mut parts = Vec::new();
    if let Some(limit) = b.max_tokens {
        parts.push(format!(
            "{} of {} tokens",
            thousands(s.token_usage.total_tokens),
            thousands(limit)
        ));
    }
    if let Some(limit) = b.max_cost_usd {
        parts.push(format!("${:.4} of ${limit:.4}", s.cost_usd.unwrap_or(0.0)));
    }
    (!parts.is_empty()).then(|| format!("{} used", parts.join(", ")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Budget;

    #[test]
    fn the_limits_in_force_beside_what_was_used() {
        let mut s: Session = serde_json::from_value(serde_json::json!({
            "id": "3f2a9c1e-5b7d-4c8e-9a1f-2b3c4d5e6f70", "task": "t",
            "status": "completed", "working_dir": "/w",
            "created_at": "2025-01-01T00:00:00", "updated_at": "2025-01-01T00:00:00",
            "token_usage": {"input_tokens": 1000, "output_tokens": 234, "total_tokens": 1234},
            "cost_usd": 0.0412, "max_tokens": 2000000,
        }))
        .unwrap();
        assert_eq!(
            used_of(&s).as_deref(),
            Some("1,234 of 2,000,000 tokens used")
        );
        s.turns.push(crate::model::TurnRecord::open(1, None));
        s.turns[0].budget = Budget {
            max_tokens: None,
            max_cost_usd: Some(5.0),
        };
        assert_eq!(used_of(&s).as_deref(), Some("$0.0412 of $5.0000 used"));
        s.turns[0].budget = Budget::default();
        assert_eq!(used_of(&s), None);
    }
}
