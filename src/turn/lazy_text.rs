//! Text kept as the agent's JSON wrote it, decoded only as far as it is read.
//!
//! A command's output can run to megabytes, and `trajectory` shows its first
//! lines and counts the rest: unescaping and copying all of it was most of the
//! time a long trajectory took. A [`LazyText`] holds the string literal as it
//! stood in the line; a preview decodes the lines it shows and counts the
//! newline escapes of the rest, and JSON output writes the literal back as is.
//! A literal of a line of megabytes is not copied out of it at all: the line
//! read whole is shared with the text ([`SharedLine`]), so that such a line
//! costs its own size once.

use serde::{Serialize, Serializer};
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::fmt;
use std::ops::Range;
use std::sync::Arc;

/// A line read whole into a buffer of its own, which the texts decoded from
/// it may keep rather than copy.
pub(crate) type SharedLine = Arc<Vec<u8>>;

/// From this size on, a literal in a [`SharedLine`] is kept there.
const SHARE_FROM: usize = 64 << 10;

#[derive(Clone)]
pub(crate) enum LazyText {
    Plain(String),
    /// A JSON string literal, quotes included, as the parser found it valid.
    Json(Box<RawValue>),
    /// The same, where it lies in its line.
    InLine {
        line: SharedLine,
        at: Range<usize>,
    },
}

/// The first lines of a text as a terminal shows them, and how many follow.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Preview {
    /// The shown lines, joined by newlines: one allocation, not one a line,
    /// as a long turn has tens of thousands of previews.
    text: String,
    shown: usize,
    /// Lines not shown.
    pub more: usize,
}

impl Preview {
    /// Lines of the text without its trailing whitespace, each without one
    /// trailing `\r`, cut to the preview's width with `…`.
    pub(crate) fn lines(&self) -> impl Iterator<Item = &str> {
        let text = self.text.as_str();
        let mut ends = memchr::memchr_iter(b'\n', text.as_bytes());
        let mut start = 0;
        (0..self.shown).map(move |_| {
            let end = ends.next().unwrap_or(text.len());
            let line = &text[start..end];
            start = end + 1;
            line
        })
    }

    /// Bytes of the shown lines, with the newlines between them.
    pub(crate) fn text_len(&self) -> usize {
        self.text.len()
    }

    /// How many lines are shown.
    pub(crate) fn lines_shown(&self) -> usize {
        self.shown
    }

    /// An empty preview with room for what a text of `len` bytes shows:
    /// all of it, for a `--full` text of megabytes, which grown by doubling
    /// would hold up to twice its size.
    fn sized_for(len: usize, max_lines: usize, max_chars: usize) -> Self {
        let room = max_lines
            .saturating_mul(max_chars.saturating_add(3))
            .min(len);
        Preview {
            text: String::with_capacity(room),
            ..Preview::default()
        }
    }

    fn push_line(&mut self) -> &mut String {
        if self.shown > 0 {
            self.text.push('\n');
        }
        self.shown += 1;
        &mut self.text
    }
}

impl LazyText {
    /// The text of a JSON value, if it is a string.
    pub(crate) fn from_json(raw: &RawValue) -> Option<Self> {
        raw.get()
            .starts_with('"')
            .then(|| LazyText::Json(raw.to_owned()))
    }

    /// [`LazyText::from_json`] of a value decoded from `line`: a long
    /// literal is kept where it lies in the line rather than copied.
    pub(crate) fn from_json_in(raw: &RawValue, line: Option<&SharedLine>) -> Option<Self> {
        let literal = raw.get();
        if !literal.starts_with('"') {
            return None;
        }
        let within = line.filter(|_| literal.len() >= SHARE_FROM).and_then(|l| {
            let start = (literal.as_ptr() as usize).checked_sub(l.as_ptr() as usize)?;
            let at = start..start + literal.len();
            (at.end <= l.len()).then_some((l, at))
        });
        match within {
            Some((line, at)) => Some(LazyText::InLine {
                line: Arc::clone(line),
                at,
            }),
            None => LazyText::from_json(raw),
        }
    }

    /// The JSON string literal, quotes included, unless the text is plain.
    fn literal(&self) -> Option<&str> {
        match self {
            LazyText::Plain(_) => None,
            LazyText::Json(literal) => Some(literal.get()),
            // Cut from a `str` when it was made: valid UTF-8 on char bounds.
            LazyText::InLine { line, at } => {
                Some(simdutf8::basic::from_utf8(&line[at.clone()]).unwrap_or("\"\""))
            }
        }
    }

    /// The whole text, decoded.
    pub(crate) fn to_str(&self) -> Cow<'_, str> {
        match (self, self.literal()) {
            (LazyText::Plain(s), _) => Cow::Borrowed(s),
            (_, literal) => {
                let body = body(literal.unwrap_or_default());
                if !body.contains('\\') {
                    return Cow::Borrowed(body);
                }
                let mut out = String::with_capacity(body.len());
                decode(body, &mut out, usize::MAX);
                Cow::Owned(out)
            }
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        match self {
            LazyText::Plain(s) => s.is_empty(),
            LazyText::Json(literal) => body(literal.get()).is_empty(),
            // Its quotes alone; no need to check megabytes of UTF-8 for it.
            LazyText::InLine { at, .. } => at.len() <= 2,
        }
    }

    /// At most `max_lines` lines of at most `max_chars` chars each.
    pub(crate) fn preview(&self, max_lines: usize, max_chars: usize) -> Preview {
        match (self, self.literal()) {
            (LazyText::Plain(s), _) => preview_str(s, max_lines, max_chars),
            (_, literal) => {
                preview_escaped(body(literal.unwrap_or_default()), max_lines, max_chars)
            }
        }
    }
}

/// [`LazyText::preview`] of a JSON value as a line holds it, without a copy
/// of it; None if it is not a string.
pub(crate) fn preview_json(raw: &RawValue, max_lines: usize, max_chars: usize) -> Option<Preview> {
    if !raw.get().starts_with('"') {
        return None;
    }
    Some(preview_escaped(body(raw.get()), max_lines, max_chars))
}

/// [`LazyText::preview`] of the body (between the quotes) of a JSON string
/// literal.
pub(crate) fn preview_escaped_body(body: &str, max_lines: usize, max_chars: usize) -> Preview {
    preview_escaped(body, max_lines, max_chars)
}

/// [`LazyText::preview`] of a decoded text.
pub(crate) fn preview_str(text: &str, max_lines: usize, max_chars: usize) -> Preview {
    let mut preview = Preview::sized_for(text.len(), max_lines, max_chars);
    let mut rest = text.trim_end();
    while !rest.is_empty() && preview.shown < max_lines {
        let (line, after) = rest.split_once('\n').unwrap_or((rest, ""));
        let out = preview.push_line();
        let at = out.len();
        out.push_str(line);
        finish_line(out, at, true, max_chars);
        rest = after;
    }
    // Counted, not split: the rest can run to megabytes.
    let more = if rest.is_empty() {
        0
    } else {
        count_bytes(rest.as_bytes(), b'\n') + 1
    };
    preview.more = more;
    preview
}

/// Makes the line appended to `out` at `at` a line as shown: if it is the
/// `whole` line, one trailing `\r` dropped; cut to `max_chars` with `…` if
/// longer, as it always is when not whole.
fn finish_line(out: &mut String, at: usize, whole: bool, max_chars: usize) {
    if whole && out.ends_with('\r') && out.len() > at {
        out.pop();
    }
    // A line not whole is longer than `max_chars`: it is always cut.
    if let Some(keep) = cut_point(&out[at..], max_chars) {
        out.truncate(at + keep);
        out.push('…');
    }
}

/// Where `s` is cut to show it in `max_chars` chars, the last one `…`: the
/// byte length of its first `max_chars - 1` chars; None if it fits whole.
pub(crate) fn cut_point(s: &str, max_chars: usize) -> Option<usize> {
    // No more bytes than `max_chars` is no more chars either, and past
    // `max_chars` ASCII bytes there is a char beyond the limit.
    if s.len() <= max_chars {
        return None;
    }
    if max_chars == 0 {
        return Some(0);
    }
    if s.as_bytes()[..=max_chars].is_ascii() {
        return Some(max_chars - 1);
    }
    let mut chars = s.char_indices();
    let (at, _) = chars.nth(max_chars - 1)?;
    chars.next().map(|_| at)
}

/// A preview of escaped text.
fn preview_escaped(body: &str, max_lines: usize, max_chars: usize) -> Preview {
    let b = body.as_bytes();
    let end = trimmed_end(b);
    let mut preview = Preview::sized_for(end, max_lines, max_chars);
    let mut pos = 0;
    while pos < end && preview.shown < max_lines {
        let (line_end, next) = next_newline(b, pos, end).unwrap_or((end, end));
        let out = preview.push_line();
        let at = out.len();
        // Two chars past the width tell a long line from one whose `\r` goes.
        let whole = decode(&body[pos..line_end], out, max_chars.saturating_add(2));
        finish_line(out, at, whole, max_chars);
        pos = next;
    }
    preview.more = if pos < end {
        count_newlines(b, pos, end) + 1
    } else {
        0
    };
    preview
}

/// The decoded text of a string's `body` (between its quotes), which a
/// JSON reader has found valid.
pub(crate) fn unescape(body: &str) -> String {
    let mut out = String::with_capacity(body.len());
    decode(body, &mut out, usize::MAX);
    out
}

/// The text between a literal's quotes.
fn body(literal: &str) -> &str {
    literal
        .get(1..literal.len().saturating_sub(1))
        .unwrap_or("")
}

/// The length of the escape sequence starting at `b[i]` (a backslash).
fn escape_len(b: &[u8], i: usize) -> usize {
    if b.get(i + 1) == Some(&b'u') {
        6
    } else {
        2
    }
}

/// The code unit of the `\uXXXX` escape at `b[i]`, if it is one.
fn hex_escape(b: &[u8], i: usize) -> Option<u16> {
    if b.get(i + 1) != Some(&b'u') {
        return None;
    }
    let hex = std::str::from_utf8(b.get(i + 2..i + 6)?).ok()?;
    u16::from_str_radix(hex, 16).ok()
}

fn is_newline_escape(b: &[u8], i: usize) -> bool {
    match b.get(i + 1) {
        Some(b'n') => true,
        Some(b'u') => hex_escape(b, i) == Some(0x0a),
        _ => false,
    }
}

/// The next newline escape in `b[from..end]` (`from` on a token boundary):
/// where it starts and where the next line starts.
fn next_newline(b: &[u8], mut from: usize, end: usize) -> Option<(usize, usize)> {
    while let Some(off) = memchr::memchr(b'\\', &b[from..end]) {
        let i = from + off;
        let len = escape_len(b, i);
        if is_newline_escape(b, i) {
            return Some((i, (i + len).min(end)));
        }
        from = (i + len).min(end);
    }
    None
}

/// Newline escapes in `b[from..end]` (`from` on a token boundary). Counting
/// `\n` pairs is exact when no backslash follows another (every backslash
/// then starts an escape); `\u000a` is found apart. Otherwise escapes are
/// walked one by one.
fn count_newlines(b: &[u8], from: usize, end: usize) -> usize {
    let s = &b[from..end];
    let (mut pairs, mut doubled, mut unicode) = (0usize, 0usize, 0usize);
    let mut count = |a: &[u8], z: &[u8]| {
        let (mut p, mut d, mut u) = (0u8, 0u8, 0u8);
        for (&x, &y) in a.iter().zip(z) {
            let slash = u8::from(x == b'\\');
            p += slash & u8::from(y == b'n');
            d += slash & u8::from(y == b'\\');
            u += slash & u8::from(y == b'u');
        }
        pairs += usize::from(p);
        doubled += usize::from(d);
        unicode += usize::from(u);
    };
    // Blocks of a fixed length, which the compiler turns into compares of
    // many bytes at once, summed in bytes (64 pairs cannot overflow one).
    const BLOCK: usize = 64;
    let pairs_len = s.len().saturating_sub(1);
    let whole = pairs_len / BLOCK * BLOCK;
    for i in (0..whole).step_by(BLOCK) {
        if let (Some(a), Some(z)) = (
            s[i..].first_chunk::<BLOCK>(),
            s[i + 1..].first_chunk::<BLOCK>(),
        ) {
            count(a, z);
        }
    }
    count(&s[whole..pairs_len], &s[(whole + 1).min(s.len())..]);
    if doubled > 0 {
        return walk_newlines(b, from, end);
    }
    if unicode > 0 {
        pairs += memchr::memmem::find_iter(s, br"\u000a").count()
            + memchr::memmem::find_iter(s, br"\u000A").count();
    }
    pairs
}

fn walk_newlines(b: &[u8], mut from: usize, end: usize) -> usize {
    let mut n = 0;
    while let Some(off) = memchr::memchr(b'\\', &b[from..end]) {
        let i = from + off;
        n += usize::from(is_newline_escape(b, i));
        from = (i + escape_len(b, i)).min(end);
    }
    n
}

/// Whether the byte before `i` ends an odd run of backslashes, which makes
/// `b[i - 1]` the start of an escape rather than an escaped backslash.
fn escape_starts_at(b: &[u8], i: usize) -> bool {
    b.get(i) == Some(&b'\\') && b[..i].iter().rev().take_while(|&&c| c == b'\\').count() % 2 == 0
}

/// Where the escaped text ends once its trailing whitespace is dropped, found
/// from the end: the last token is an escape or a literal char.
fn trimmed_end(b: &[u8]) -> usize {
    let mut end = b.len();
    while end > 0 {
        let (start, c) = if end >= 2 && escape_starts_at(b, end - 2) && b[end - 1] != b'u' {
            (end - 2, simple_escape(b[end - 1]))
        } else if end >= 6 && escape_starts_at(b, end - 6) && b[end - 5] == b'u' {
            let unit = hex_escape(b, end - 6);
            (end - 6, unit.and_then(|u| char::from_u32(u32::from(u))))
        } else {
            let start = (0..end).rev().find(|&k| b[k] & 0xC0 != 0x80).unwrap_or(0);
            let c = std::str::from_utf8(&b[start..end])
                .ok()
                .and_then(|s| s.chars().next());
            (start, c)
        };
        if !c.is_some_and(char::is_whitespace) {
            break;
        }
        end = start;
    }
    end
}

fn simple_escape(c: u8) -> Option<char> {
    Some(match c {
        b'n' => '\n',
        b'r' => '\r',
        b't' => '\t',
        b'b' => '\u{8}',
        b'f' => '\u{c}',
        b'"' => '"',
        b'\\' => '\\',
        b'/' => '/',
        _ => return None,
    })
}

/// Appends the decoded text of `s` (a run of whole tokens) to `out`, at most
/// `max_chars` chars of it; true if all of it fit. A lone surrogate becomes
/// U+FFFD.
fn decode(s: &str, out: &mut String, max_chars: usize) -> bool {
    let b = s.as_bytes();
    let mut left = max_chars;
    let mut pos = 0;
    while pos < b.len() {
        let lit_end = memchr::memchr(b'\\', &b[pos..]).map_or(b.len(), |o| pos + o);
        let lit = &s[pos..lit_end];
        if lit.len() <= left {
            out.push_str(lit);
            left -= if max_chars == usize::MAX {
                0
            } else {
                lit.chars().count()
            };
        } else {
            let mut chars = lit.chars();
            for c in chars.by_ref().take(left) {
                out.push(c);
                left -= 1;
            }
            if chars.next().is_some() {
                return false;
            }
        }
        pos = lit_end;
        if pos >= b.len() {
            break;
        }
        if left == 0 {
            return false;
        }
        let (c, len) = match hex_escape(b, pos) {
            Some(hi @ 0xD800..=0xDBFF) => match hex_escape(b, pos + 6) {
                Some(lo @ 0xDC00..=0xDFFF) => {
                    let code =
                        0x10000 + ((u32::from(hi) - 0xD800) << 10) + (u32::from(lo) - 0xDC00);
                    (char::from_u32(code), 12)
                }
                _ => (None, 6),
            },
            Some(unit) => (char::from_u32(u32::from(unit)), 6),
            None => (b.get(pos + 1).copied().and_then(simple_escape), 2),
        };
        out.push(c.unwrap_or(char::REPLACEMENT_CHARACTER));
        if max_chars != usize::MAX {
            left -= 1;
        }
        pos = (pos + len).min(b.len());
    }
    true
}

/// Occurrences of `needle`, counted in blocks of 255 bytes into a byte-wide
/// sum, which the compiler turns into compares of many bytes at once.
fn count_bytes(b: &[u8], needle: u8) -> usize {
    b.chunks(255)
        .map(|c| usize::from(c.iter().fold(0u8, |n, &x| n + u8::from(x == needle))))
        .sum()
}

impl Serialize for LazyText {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            LazyText::Plain(text) => s.serialize_str(text),
            // Written back verbatim by serde_json's writer, decoded by to_value.
            LazyText::Json(literal) => literal.serialize(s),
            // serde_json writes a RawValue only from one it made: the
            // literal is checked again, in place.
            LazyText::InLine { .. } => {
                let literal = self.literal().unwrap_or_default();
                let raw: &RawValue =
                    serde_json::from_str(literal).map_err(serde::ser::Error::custom)?;
                raw.serialize(s)
            }
        }
    }
}

impl PartialEq for LazyText {
    fn eq(&self, other: &Self) -> bool {
        self.to_str() == other.to_str()
    }
}

impl fmt::Debug for LazyText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.to_str(), f)
    }
}

impl fmt::Display for LazyText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_str())
    }
}

impl Default for LazyText {
    fn default() -> Self {
        LazyText::Plain(String::new())
    }
}

impl From<String> for LazyText {
    fn from(s: String) -> Self {
        LazyText::Plain(s)
    }
}

impl From<&str> for LazyText {
    fn from(s: &str) -> Self {
        LazyText::Plain(s.to_string())
    }
}

#[cfg(test)]
mod tests;
