//! A JSON line's top-level object read without a parser: a few of its
//! string values found, every byte of the line checked on the way, and
//! nothing allocated.
//!
//! Most lines of a long turn carry a `type` and little else a trajectory
//! reads (a partial message, a turn started), and serde_json spends a
//! thousand instructions on each however short it is. This reader takes
//! such a line in a tenth of that. It is never the judge of a line: it
//! answers only for lines it can prove valid by a stricter grammar than
//! serde_json's (no `\u` escapes, numbers that cannot be out of range,
//! shallow nesting), and says `None` for everything else, which the caller
//! then hands to serde_json as before. So a line it answers for is one
//! serde_json would have read, to the same values, and every other line is
//! read, or refused, exactly as it was.

/// What the last occurrence of a key holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Found<'a> {
    Absent,
    /// A string without escapes: its body, borrowed from the line.
    Str(&'a str),
    /// A string with escapes (`\n` and the like): not decoded here.
    Escaped,
    /// Any other value (`null` included).
    Other,
}

/// A key asked for: how many times the object has it, and its last value
/// (which is what a map, and serde_json's `Value`, keeps).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Field<'a> {
    pub(crate) count: u32,
    pub(crate) last: Found<'a>,
}

/// The keys asked for, in the order asked.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Skim<'a, const N: usize> {
    pub(crate) fields: [Field<'a>; N],
}

/// Deeper than serde_json's limit of 128 is refused by it; well under it,
/// so a line this reader answers for is never one serde_json refuses.
const MAX_DEPTH: usize = 64;

/// `line`'s top-level object, with `keys` found in it; `None` unless the
/// line is an object, alone, that this reader proves valid JSON (see the
/// module's comment). A key with an escape anywhere in the object is
/// refused too, as it might spell one of `keys`.
pub(crate) fn skim<'a, const N: usize>(line: &'a str, keys: &[&str; N]) -> Option<Skim<'a, N>> {
    skim_refusing(line, keys, &[])
}

/// [`skim`], giving up (`None`) as soon as a key of `refuse` is met: a
/// caller that would not use the answer for a line with such a key is
/// spared the scan of the rest of it, which for a command item's output
/// of megabytes is most of the line.
pub(crate) fn skim_refusing<'a, const N: usize>(
    line: &'a str,
    keys: &[&str; N],
    refuse: &[&str],
) -> Option<Skim<'a, N>> {
    let mut s = Scanner {
        b: line.as_bytes(),
        i: 0,
    };
    let mut fields = [Field {
        count: 0,
        last: Found::Absent,
    }; N];
    s.ws();
    s.eat(b'{')?;
    s.ws();
    if s.peek() == Some(b'}') {
        s.i += 1;
    } else {
        loop {
            let key = s.key()?;
            if refuse.iter().any(|r| same(r.as_bytes(), key)) {
                return None;
            }
            s.ws();
            s.eat(b':')?;
            s.ws();
            let found = s.value(1)?;
            if let Some(at) = keys.iter().position(|k| same(k.as_bytes(), key)) {
                fields[at].count += 1;
                fields[at].last = match found {
                    Value::Str {
                        body,
                        escaped: false,
                    } => Found::Str(&line[body.0..body.1]),
                    Value::Str { escaped: true, .. } => Found::Escaped,
                    Value::Other => Found::Other,
                };
            }
            s.ws();
            match s.next()? {
                b',' => s.ws(),
                b'}' => break,
                _ => return None,
            }
        }
    }
    s.ws();
    (s.i == s.b.len()).then_some(Skim { fields })
}

/// Byte equality compared inline: keys are a few bytes, and `==` on slices
/// calls `memcmp`, a tenth of the time of skimming a turn of tiny lines.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x == y)
}

/// How many bytes `b` starts with that a string holds as they are: none is
/// a quote, a backslash or a control character.
fn plain_run(b: &[u8]) -> usize {
    // Most strings are short (keys, names), where a vector search costs
    // more than it saves; a command's output is long, where eight bytes at
    // a time was twice the time of serde_json's scan of it.
    let head = b.len().min(SHORT);
    let run = short_run(&b[..head]);
    if run < head {
        return run;
    }
    let rest = &b[head..];
    let end = memchr::memchr2(b'"', b'\\', rest).unwrap_or(rest.len());
    head + first_control(&rest[..end]).unwrap_or(end)
}

/// Bytes [`plain_run`] reads eight at a time before it searches.
const SHORT: usize = 64;

/// [`plain_run`] of a short `b`, eight bytes at a time: a byte at a time
/// was most of the time of skimming a line.
fn short_run(b: &[u8]) -> usize {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGH: u64 = u64::from_ne_bytes([0x80; 8]);
    // The high bit of each byte of `w` that is below `n` (a classic
    // bit trick: a borrow may also mark a byte above a marked one, never
    // one below, so the lowest mark is exact).
    let below = |w: u64, n: u8| w.wrapping_sub(ONES * u64::from(n)) & !w & HIGH;
    let mut run = 0;
    for chunk in b.chunks_exact(8) {
        let mut bytes = [0; 8];
        bytes.copy_from_slice(chunk);
        let w = u64::from_le_bytes(bytes);
        let marks = below(w ^ (ONES * u64::from(b'"')), 1)
            | below(w ^ (ONES * u64::from(b'\\')), 1)
            | below(w, 0x20);
        if marks != 0 {
            return run + (marks.trailing_zeros() / 8) as usize;
        }
        run += 8;
    }
    run + b[run..]
        .iter()
        .position(|&c| c == b'"' || c == b'\\' || c < 0x20)
        .unwrap_or(b.len() - run)
}

/// Where the first control character of `b` is. Blocks of 64 bytes are
/// checked whole, which the compiler does with vector compares.
fn first_control(b: &[u8]) -> Option<usize> {
    let mut blocks = b.chunks_exact(64);
    let mut at = 0;
    for block in blocks.by_ref() {
        if block.iter().fold(0u8, |m, &c| m | u8::from(c < 0x20)) != 0 {
            break;
        }
        at += 64;
    }
    b[at..].iter().position(|&c| c < 0x20).map(|i| at + i)
}

/// A value the [`Scanner`] read.
pub(crate) enum Value {
    /// Where the body lies between the quotes.
    Str {
        body: (usize, usize),
        escaped: bool,
    },
    Other,
}

/// The reader itself, for callers that walk an object of a shape they know
/// (see the module's comment for the grammar it proves).
pub(crate) struct Scanner<'a> {
    b: &'a [u8],
    i: usize,
}

impl<'a> Scanner<'a> {
    pub(crate) fn new(line: &'a str) -> Self {
        Scanner {
            b: line.as_bytes(),
            i: 0,
        }
    }

    /// Where the reader is in the line.
    pub(crate) fn pos(&self) -> usize {
        self.i
    }

    pub(crate) fn at_end(&self) -> bool {
        self.i >= self.b.len()
    }

    pub(crate) fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    pub(crate) fn next(&mut self) -> Option<u8> {
        let c = self.peek()?;
        self.i += 1;
        Some(c)
    }

    pub(crate) fn eat(&mut self, want: u8) -> Option<()> {
        (self.next()? == want).then_some(())
    }

    /// JSON's whitespace, the only whitespace serde_json allows.
    pub(crate) fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.i += 1;
        }
    }

    /// A key's bytes; `None` if it has an escape.
    pub(crate) fn key(&mut self) -> Option<&'a [u8]> {
        self.eat(b'"')?;
        let (start, end, escaped) = self.string_body()?;
        let b = self.b;
        (!escaped).then(|| &b[start..end])
    }

    /// The rest of a string whose opening quote was read: where its body
    /// lies and whether it has an escape. Refuses raw control characters
    /// (as serde_json does) and `\u` escapes (which may be lone surrogates,
    /// which serde_json refuses: not judged here).
    fn string_body(&mut self) -> Option<(usize, usize, bool)> {
        let start = self.i;
        let mut escaped = false;
        loop {
            self.i += plain_run(self.b.get(self.i..)?);
            match self.next()? {
                b'"' => return Some((start, self.i - 1, escaped)),
                b'\\' => match self.next()? {
                    b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => escaped = true,
                    _ => return None,
                },
                0..=0x1f => return None,
                _ => {}
            }
        }
    }

    /// A string that may hold any escape JSON has, `\u` ones too, read as
    /// serde_json skips one (what a `\u` escape names is not judged): where
    /// its body lies. With `check` false its end is found and nothing more,
    /// for a caller that has serde_json check it after: a string it finds
    /// valid ends where this reader says, as a valid string's end is
    /// determined by its start. A command's output is read so: it may be
    /// megabytes, and it often holds `\u001b` (terminal colours).
    pub(crate) fn skipped_string(&mut self, check: bool) -> Option<(usize, usize)> {
        self.eat(b'"')?;
        let start = self.i;
        loop {
            self.i += plain_run(self.b.get(self.i..)?);
            match self.next()? {
                b'"' => return Some((start, self.i - 1)),
                b'\\' => {}
                _ if check => return None,
                _ => continue,
            }
            match self.next()? {
                b'u' => {
                    let hex = self.b.get(self.i..self.i + 4)?;
                    if check && !hex.iter().all(u8::is_ascii_hexdigit) {
                        return None;
                    }
                    self.i += 4;
                }
                b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => {}
                _ if check => return None,
                _ => {}
            }
        }
    }

    /// A value at nesting `depth` (the top-level object's values are at 1).
    pub(crate) fn value(&mut self, depth: usize) -> Option<Value> {
        match self.peek()? {
            b'"' => {
                self.i += 1;
                let (start, end, escaped) = self.string_body()?;
                Some(Value::Str {
                    body: (start, end),
                    escaped,
                })
            }
            open @ (b'{' | b'[') => {
                if depth >= MAX_DEPTH {
                    return None;
                }
                self.i += 1;
                self.ws();
                let close = if open == b'{' { b'}' } else { b']' };
                if self.peek() == Some(close) {
                    self.i += 1;
                    return Some(Value::Other);
                }
                loop {
                    if open == b'{' {
                        self.key()?;
                        self.ws();
                        self.eat(b':')?;
                        self.ws();
                    }
                    self.value(depth + 1)?;
                    self.ws();
                    match self.next()? {
                        b',' => self.ws(),
                        c if c == close => return Some(Value::Other),
                        _ => return None,
                    }
                }
            }
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            b'-' | b'0'..=b'9' => self.number(),
            _ => None,
        }
    }

    fn literal(&mut self, word: &[u8]) -> Option<Value> {
        let end = self.i + word.len();
        (self.b.get(self.i..end)? == word).then(|| {
            self.i = end;
            Value::Other
        })
    }

    fn digits(&mut self) -> usize {
        let start = self.i;
        while let Some(b'0'..=b'9') = self.peek() {
            self.i += 1;
        }
        self.i - start
    }

    /// JSON's number grammar, limited to numbers no parser finds out of
    /// range: at most 18 digits before the point (an `i64` or `u64`, or a
    /// float far from overflow) and an exponent of at most two digits.
    fn number(&mut self) -> Option<Value> {
        if self.peek() == Some(b'-') {
            self.i += 1;
        }
        match self.peek()? {
            b'0' => self.i += 1,
            b'1'..=b'9' => {
                if self.digits() > 18 {
                    return None;
                }
            }
            _ => return None,
        }
        if self.peek() == Some(b'.') {
            self.i += 1;
            if self.digits() == 0 {
                return None;
            }
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.i += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.i += 1;
            }
            if !(1..=2).contains(&self.digits()) {
                return None;
            }
        }
        Some(Value::Other)
    }
}

#[cfg(test)]
mod tests;
