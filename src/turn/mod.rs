//! A turn of an agent, agent-neutral: the steps it took, what its stream
//! says of how it went (an account's limit among it), and the readers of
//! its file (streamed, resumed as it grows, and on several cores for a long
//! one). The agent adapters implement [`StreamParser`]; nothing here knows
//! an agent.

pub(crate) mod json_skim;
pub(crate) mod lazy_text;
mod limit;
mod line_end;
mod parallel;
mod parse;
mod reader;
mod step;
mod summary;

pub(crate) use limit::{delay_after_in, instant, RelativeReset, UsageLimit};
#[cfg(test)]
pub(crate) use parallel::read_in_chunks;
pub(crate) use parse::{utf8_text, StreamParser};
pub(crate) use reader::{read_turn, summarize_turn, TurnReader};
pub(crate) use step::{FileChange, ItemStatus, Output, OutputDetail, PlanItem, Step, StepKind};
pub(crate) use summary::{Outcome, TurnSummary};
