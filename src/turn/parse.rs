//! The interface between a turn's reader and an agent's parser of its
//! stream.

use super::lazy_text::SharedLine;
use super::step::{OutputDetail, Step};
use super::summary::TurnSummary;

/// Turns one agent's JSONL stream into steps and a summary, in two stages:
/// decoding a line (most of the work, and free of state, so a long file's
/// lines can be decoded on other threads) and applying it, in file order.
pub(crate) trait StreamParser {
    /// A line as decoded: what a decoding thread hands over.
    type Line: Send;

    /// The decoding stage. Never fails: a line it cannot read is decoded as
    /// such, to be counted in `skipped_lines` or become an `other` step.
    fn decode(line: &[u8], detail: OutputDetail) -> Self::Line;

    /// [`StreamParser::decode`] of a long line, which lies in `whole`, a
    /// buffer read for it that the decoded line may keep a share of rather
    /// than copy what it needs out of it.
    fn decode_in(line: &[u8], whole: &SharedLine, detail: OutputDetail) -> Self::Line {
        let _ = whole;
        Self::decode(line, detail)
    }

    /// How much of commands' outputs this parser keeps.
    fn detail(&self) -> OutputDetail;

    /// Applies the decoded line numbered `lineno` (1-based), emitting the
    /// steps it completes.
    fn apply(&mut self, lineno: u64, line: Self::Line, emit: &mut dyn FnMut(Step));

    /// Whether a long file's lines are worth decoding on other threads: not
    /// when what a line decodes to is large, as it then costs more to hand
    /// over (and to free on another thread) than to decode here.
    fn parallel_decoding(&self) -> bool {
        true
    }

    /// One line, without its newline: decoded, then applied.
    fn feed(&mut self, lineno: u64, line: &[u8], emit: &mut dyn FnMut(Step)) {
        let decoded = Self::decode(line, self.detail());
        self.apply(lineno, decoded, emit);
    }

    /// [`StreamParser::feed`] of a long line that lies in `whole`.
    fn feed_in(
        &mut self,
        lineno: u64,
        line: &[u8],
        whole: &SharedLine,
        emit: &mut dyn FnMut(Step),
    ) {
        let decoded = Self::decode_in(line, whole, self.detail());
        self.apply(lineno, decoded, emit);
    }

    /// End of stream: steps still open are emitted as they stand.
    fn finish(&mut self, emit: &mut dyn FnMut(Step));

    fn summary(&self) -> &TurnSummary;
}

/// A line of a turn file without its line ending and the blanks around it.
pub(crate) fn trim_line(buf: &[u8]) -> &[u8] {
    let mut end = buf.len();
    while end > 0 && matches!(buf[end - 1], b'\n' | b'\r' | b' ' | b'\t') {
        end -= 1;
    }
    let mut start = 0;
    while start < end && matches!(buf[start], b' ' | b'\t') {
        start += 1;
    }
    &buf[start..end]
}

/// A line as text, if it is UTF-8, checked once for the whole line so that
/// the JSON parser need not check each string (`serde_json::from_str`
/// trusts them): with SIMD, except on a line shorter than its 64-byte
/// blocks, which it would check a byte at a time (a tenth of the time of
/// reading a turn of tiny lines) and which, if ASCII, is told faster.
pub(crate) fn utf8_text(line: &[u8]) -> Option<&str> {
    if line.len() < 64 && line.is_ascii() {
        // SAFETY: every byte is ASCII, and ASCII is UTF-8.
        return Some(unsafe { std::str::from_utf8_unchecked(line) });
    }
    simdutf8::basic::from_utf8(line).ok()
}

#[cfg(test)]
mod tests {
    use super::utf8_text;

    #[test]
    fn a_line_is_text_exactly_when_it_is_utf8() {
        let long = format!("{{\"t\":\"{}\"}}", "x".repeat(100));
        let lines: [&[u8]; 8] = [
            b"{\"type\":\"turn.started\"}",
            long.as_bytes(),
            b"{\"t\":\"\xff\", \"pad\":\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}",
            "{\"t\":\"é ✓ 😀\"}".as_bytes(),
            b"",
            b"{\"t\":\"\xff\"}",
            b"{\"t\":\"\xc3\"}",
            b"\xed\xa0\x80",
        ];
        for line in lines {
            assert_eq!(utf8_text(line), std::str::from_utf8(line).ok(), "{line:?}");
        }
    }
}
