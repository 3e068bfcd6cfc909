//! Finding one large string value in a JSON line without parsing the line.
//!
//! A codex command's output is most of its line, and the JSON parser reads
//! every byte of it to find where it ends. A string's closing quote is the
//! first quote after it that no backslash escapes, which a byte search finds
//! many times faster; the rest of the line (a few hundred bytes) is then
//! parsed as usual. Only the value of `"<key>":` directly inside the object
//! of a top-level key is taken, so a key of that name elsewhere in the line
//! is never mistaken for it.

use memchr::memmem;
use std::ops::Range;

/// A string-valued key to look for, directly under a top-level key.
pub(super) struct StringKey {
    parent: &'static str,
    /// `"<key>":"`, prepared for searching.
    finder: memmem::Finder<'static>,
}

impl StringKey {
    pub(super) fn new(parent: &'static str, key: &str) -> Self {
        StringKey {
            parent,
            finder: memmem::Finder::new(format!("\"{key}\":\"").as_bytes()).into_owned(),
        }
    }

    /// Where the body (between the quotes) of the key's value lies in `line`;
    /// None if the line does not have it as such, or if the value holds a raw
    /// control char or an escape JSON does not have (the parser is left to
    /// reject the line, as it would without this shortcut).
    pub(super) fn find(&self, line: &str) -> Option<Range<usize>> {
        let b = line.as_bytes();
        let at = self.finder.find(b)?;
        if !directly_under(&b[..at], self.parent.as_bytes())? {
            return None;
        }
        let start = at + self.finder.needle().len();
        let end = string_end(b, start)?;
        if has_control_char(&b[start..end]) || !escapes_valid(&b[start..end]) {
            return None;
        }
        // A second value for the key: leave it to the parser.
        if self.finder.find(&b[end..]).is_some() {
            return None;
        }
        Some(start..end)
    }
}

fn has_control_char(b: &[u8]) -> bool {
    // Fixed-size blocks, which the compiler turns into compares of many
    // bytes at once.
    let mut blocks = b.chunks_exact(64);
    let found = blocks
        .by_ref()
        .any(|block| block.iter().fold(0u8, |m, &c| m | u8::from(c < 0x20)) != 0);
    found || blocks.remainder().iter().any(|&c| c < 0x20)
}

/// Whether every backslash in a string's body starts an escape JSON has:
/// one of `"\\/bfnrt`, or `u` and four hex digits. What those digits name is
/// not checked, as the parser does not check it when it only skips a string.
fn escapes_valid(b: &[u8]) -> bool {
    let mut from = 0;
    while let Some(found) = memchr::memchr(b'\\', &b[from..]) {
        let at = from + found;
        from = match b.get(at + 1) {
            Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => at + 2,
            Some(b'u')
                if b.get(at + 2..at + 6)
                    .is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit)) =>
            {
                at + 6
            }
            _ => return false,
        };
    }
    true
}

/// The index of the quote closing the string whose body starts at `from`.
fn string_end(b: &[u8], mut from: usize) -> Option<usize> {
    loop {
        let quote = from + memchr::memchr(b'"', b.get(from..)?)?;
        let backslashes = b[..quote].iter().rev().take_while(|&&c| c == b'\\').count();
        if backslashes % 2 == 0 {
            return Some(quote);
        }
        from = quote + 1;
    }
}

/// Whether the end of `head` (the start of a line up to a key) lies directly
/// inside the object that is the value of the top-level key `parent`. None if
/// `head` is not the start of a JSON object.
fn directly_under(head: &[u8], parent: &[u8]) -> Option<bool> {
    let mut depth = 0usize;
    let mut under_parent = false;
    let mut last_string = 0..0;
    let mut i = 0;
    while i < head.len() {
        match head[i] {
            b'"' => {
                let end = string_end(head, i + 1)?;
                last_string = i + 1..end;
                i = end;
            }
            open @ (b'{' | b'[') => {
                depth += 1;
                if depth == 2 {
                    under_parent = open == b'{' && head[last_string.clone()] == *parent;
                }
            }
            b'}' | b']' => {
                depth = depth.checked_sub(1)?;
                if depth < 2 {
                    under_parent = false;
                }
            }
            _ => {}
        }
        i += 1;
    }
    Some(depth == 2 && under_parent)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(line: &str) -> Option<&str> {
        StringKey::new("item", "out").find(line).map(|r| &line[r])
    }

    #[test]
    fn finds_the_value_directly_under_the_parent() {
        assert_eq!(
            value(r#"{"type":"x","item":{"id":"1","out":"a\"b\\"}}"#),
            Some(r#"a\"b\\"#)
        );
        assert_eq!(value(r#"{"item":{"out":""}}"#), Some(""));
        assert_eq!(
            value(r#"{"item":{"x":"{[\"","out":"\\\\\"q"}}"#),
            Some(r#"\\\\\"q"#)
        );
    }

    #[test]
    fn leaves_a_value_with_an_escape_json_does_not_have_to_the_parser() {
        for bad in [r"a\ b", r"a\x41", r"\u12", r"\u12g4", "end\\"] {
            let line = format!(r#"{{"item":{{"out":"{bad}"}}}}"#);
            assert_eq!(value(&line), None, "{bad}");
            assert!(
                serde_json::from_str::<serde_json::Value>(&line).is_err(),
                "{bad}"
            );
        }
        for good in [r#"\"\\\/\b\f\n\r\t"#, r"\u00e9\uD800", r"\\\\"] {
            let line = format!(r#"{{"item":{{"out":"{good}"}}}}"#);
            assert_eq!(value(&line), Some(good), "{good}");
        }
    }

    #[test]
    fn ignores_other_places_and_bad_values() {
        // Nested deeper, under another key, in an array, escaped in a string.
        assert_eq!(value(r#"{"item":{"r":{"out":"x"}}}"#), None);
        assert_eq!(value(r#"{"other":{"out":"x"}}"#), None);
        assert_eq!(value(r#"{"item":[{"out":"x"}]}"#), None);
        assert_eq!(value(r#"{"item":{"s":"\"out\":\"x"}}"#), None);
        assert_eq!(value(r#"{"item":{"r":{"a":1},"out":"x"}}"#), Some("x"));
        // A raw control char, a second value, an unterminated one, not a string.
        assert_eq!(value("{\"item\":{\"out\":\"a\nb\"}}"), None);
        assert_eq!(value(r#"{"item":{"out":"a","out":"b"}}"#), None);
        assert_eq!(value(r#"{"item":{"out":"abc"#), None);
        assert_eq!(value(r#"{"item":{"out":null}}"#), None);
        assert_eq!(value(r#"]{"item":{"out":"x"}}"#), None);
    }
}
