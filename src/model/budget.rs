//! A session's budget: how many tokens, how many dollars it may spend in
//! all its turns together, and what it is to have spent it.
//!
//! Tokens are counted as `total_tokens`, the figure `list` and `show`
//! report: every input token (cache reads and writes included) and every
//! output token. The cost is the session's `cost_usd`, as the agent reports
//! it (claude; codex reports none).

use serde::{Deserialize, Serialize};
use std::fmt;

/// The limits of `start --max-tokens/--max-cost` (the session's), or of one
/// turn (an inject's own, else the session's). In `meta.json` the keys
/// `max_tokens` and `max_cost_usd`, each present only when set.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct Budget {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_cost_usd: Option<f64>,
}

impl Budget {
    pub(crate) fn is_empty(&self) -> bool {
        self.max_tokens.is_none() && self.max_cost_usd.is_none()
    }

    /// Each limit of `self`, else `fallback`'s: an inject's own limits over
    /// the session's.
    pub(crate) fn or(self, fallback: Budget) -> Budget {
        Budget {
            max_tokens: self.max_tokens.or(fallback.max_tokens),
            max_cost_usd: self.max_cost_usd.or(fallback.max_cost_usd),
        }
    }

    /// The first limit the session has reached, given what it has used. A
    /// limit reached leaves nothing to spend, so reaching it is enough.
    pub(crate) fn breach(&self, tokens: u64, cost_usd: Option<f64>) -> Option<Breach> {
        if let Some(limit) = self.max_tokens.filter(|&l| tokens >= l) {
            return Some(Breach::Tokens {
                used: tokens,
                limit,
            });
        }
        let used = cost_usd.unwrap_or(0.0);
        self.max_cost_usd
            .filter(|&l| used >= l)
            .map(|limit| Breach::Cost { used, limit })
    }

    /// What is left of the cost budget once `spent` is; None without one.
    pub(crate) fn cost_left(&self, spent: Option<f64>) -> Option<f64> {
        self.max_cost_usd
            .map(|l| (l - spent.unwrap_or(0.0)).max(0.0))
    }
}

/// A budget the session has reached, with the figures that say so.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Breach {
    Tokens { used: u64, limit: u64 },
    Cost { used: f64, limit: f64 },
}

impl fmt::Display for Breach {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Breach::Tokens { used, limit } => write!(
                f,
                "token budget exceeded: {} of {} tokens",
                thousands(used),
                thousands(limit)
            ),
            Breach::Cost { used, limit } => {
                write!(f, "cost budget exceeded: ${used:.4} of ${limit:.4}")
            }
        }
    }
}

/// "1,234,567"
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_limit_reached_is_a_breach_with_its_figures() {
        let b = Budget {
            max_tokens: Some(1000),
            max_cost_usd: Some(0.5),
        };
        assert_eq!(b.breach(999, Some(0.49)), None);
        assert_eq!(
            b.breach(1234, None).map(|x| x.to_string()).as_deref(),
            Some("token budget exceeded: 1,234 of 1,000 tokens")
        );
        assert_eq!(
            b.breach(10, Some(0.5)).map(|x| x.to_string()).as_deref(),
            Some("cost budget exceeded: $0.5000 of $0.5000")
        );
        assert_eq!(Budget::default().breach(u64::MAX, Some(1e9)), None);
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999_999), "999,999");
        assert_eq!(thousands(1_000_000), "1,000,000");
    }

    #[test]
    fn an_injects_limits_override_the_sessions_one_by_one() {
        let session = Budget {
            max_tokens: Some(100),
            max_cost_usd: Some(1.0),
        };
        let inject = Budget {
            max_tokens: Some(500),
            max_cost_usd: None,
        };
        assert_eq!(
            inject.or(session),
            Budget {
                max_tokens: Some(500),
                max_cost_usd: Some(1.0)
            }
        );
        assert_eq!(session.cost_left(Some(0.25)), Some(0.75));
        assert_eq!(session.cost_left(Some(3.0)), Some(0.0));
        assert_eq!(inject.cost_left(Some(0.25)), None);
    }

    #[test]
    fn a_sessions_and_a_turns_limits_are_keys_of_their_own_in_meta_json() {
        let json = r#"{"id":"a","task":"t","status":"completed","working_dir":"/w",
            "created_at":"2026-01-01T00:00:00","updated_at":"2026-01-01T00:00:00",
            "max_tokens":1000,"max_cost_usd":0.25,"future_key":1,
            "turns":[{"turn":1,"max_tokens":2000}]}"#;
        let s: super::super::Session = serde_json::from_str(json).unwrap();
        assert_eq!(
            s.budget,
            Budget {
                max_tokens: Some(1000),
                max_cost_usd: Some(0.25)
            }
        );
        assert_eq!(s.turns[0].budget.max_tokens, Some(2000));
        assert!(!s.other.contains_key("max_tokens"), "{:?}", s.other);
        let text = serde_json::to_string(&s).unwrap();
        assert_eq!(text.matches("\"max_tokens\"").count(), 2, "{text}");
        assert_eq!(text.matches("\"max_cost_usd\":0.25").count(), 1, "{text}");
        assert_eq!(
            serde_json::from_str::<super::super::Session>(&text).unwrap(),
            s
        );
    }

    #[test]
    fn only_the_limits_set_are_written() {
        assert_eq!(serde_json::to_string(&Budget::default()).unwrap(), "{}");
        let b = Budget {
            max_tokens: Some(7),
            max_cost_usd: None,
        };
        assert_eq!(serde_json::to_string(&b).unwrap(), r#"{"max_tokens":7}"#);
    }
}
