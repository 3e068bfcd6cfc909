//! Usage while a turn runs: what a budget is checked against before the
//! turn's end, read from the stream as the agent writes it.

use crate::model::Usage;

/// Counts the usage a turn adds to its session from its stream, one line
/// at a time. Cheaper than a parser: it keeps nothing but the counts.
pub(crate) trait UsageMeter: Send {
    /// One line of the turn's stream, without its newline.
    fn feed(&mut self, line: &[u8]);

    /// The usage the turn has added to the session so far.
    fn used(&self) -> &Usage;
}
