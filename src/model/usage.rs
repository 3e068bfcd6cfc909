//! Token counts, as the agents report them and as zwarm sums them.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Token counts. The first three keys are 2.3.5's; the rest appear only when
/// the agent reports them. Keys we do not know are kept as they were.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct Usage {
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

pub(super) fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl Usage {
    pub(crate) fn is_empty(&self) -> bool {
        self.total_tokens == 0 && self.input_tokens == 0 && self.output_tokens == 0
    }

    /// Field-wise sum of the counts we know (unknown keys are not summed).
    pub(crate) fn add(&mut self, o: &Usage) {
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
    pub(crate) fn since(&self, o: &Usage) -> Usage {
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

#[cfg(test)]
mod tests {
    use super::*;

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
