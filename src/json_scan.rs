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
pub struct StringKey {
    parent: &'static str,
    /// `"<key>":"`, prepared for searching.
    finder: memmem::Finder<'static>,
}

impl StringKey {
    pub fn new(parent: &'static str, key: &str) -> Self {
        StringKey {
            parent,
            finder: memmem::Finder::new(format!("\"{key}\":\"").as_bytes()).into_owned(),
        }
    }

    /// Where the body (between the quotes) of the key's value lies in `line`;
    /// None if the line does not have it as such, or if the value holds a raw
    /// control char (which JSON forbids: the parser is left to reject it).
    pub fn find(&self, line: &str) -> Option<Range<usize>> {
        let b = line.as_bytes();
        let at = self.finder.find(b)?;
        if !directly_under(&b[..at], self.parent.as_bytes())? {
            return None;
        }
        let start = at + self.finder.needle().len();
        let end = string_end(b, start)?;
        if has_control_char(&b[start..end]) {
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

/// Where the values of the top-level keys `keys` of the JSON object `doc`
/// lie, where they are arrays. One pass over the object's keys, jumping over
/// each value: a string from quote to quote, an array or object from quote
/// to quote and bracket to bracket, never reading a string's inside byte by
/// byte. All None if `doc` is not an object this can walk.
pub fn top_level_arrays<const N: usize>(doc: &[u8], keys: [&str; N]) -> [Option<Range<usize>>; N] {
    let mut found = std::array::from_fn(|_| None);
    let walked = walk_top_level(doc, |key, value| {
        if doc[value.start] == b'[' {
            if let Some(i) = keys.iter().position(|k| k.as_bytes() == key) {
                found[i] = Some(value);
            }
        }
    });
    if walked.is_none() {
        return std::array::from_fn(|_| None);
    }
    found
}

/// Calls `f` with each key (its raw text) and value range of the object `doc`.
fn walk_top_level(doc: &[u8], mut f: impl FnMut(&[u8], Range<usize>)) -> Option<()> {
    let mut i = skip_blank(doc, 0);
    if doc.get(i) != Some(&b'{') {
        return None;
    }
    i = skip_blank(doc, i + 1);
    if doc.get(i) == Some(&b'}') {
        return Some(());
    }
    loop {
        if doc.get(i) != Some(&b'"') {
            return None;
        }
        let key_end = string_end(doc, i + 1)?;
        let key = &doc[i + 1..key_end];
        i = skip_blank(doc, key_end + 1);
        if doc.get(i) != Some(&b':') {
            return None;
        }
        let start = skip_blank(doc, i + 1);
        let end = value_end(doc, start)?;
        f(key, start..end);
        i = skip_blank(doc, end);
        match doc.get(i)? {
            b',' => i = skip_blank(doc, i + 1),
            b'}' => return Some(()),
            _ => return None,
        }
    }
}

fn skip_blank(doc: &[u8], mut i: usize) -> usize {
    while doc.get(i).is_some_and(u8::is_ascii_whitespace) {
        i += 1;
    }
    i
}

/// Where the value starting at `start` ends.
fn value_end(doc: &[u8], start: usize) -> Option<usize> {
    let (open, close) = match doc.get(start)? {
        b'"' => return string_end(doc, start + 1).map(|e| e + 1),
        b'[' => (b'[', b']'),
        b'{' => (b'{', b'}'),
        _ => {
            // A number, true, false or null: up to the next separator.
            let rest = &doc[start..];
            let len = rest
                .iter()
                .position(|c| matches!(c, b',' | b'}' | b']') || c.is_ascii_whitespace())
                .unwrap_or(rest.len());
            return (len > 0).then_some(start + len);
        }
    };
    let mut depth = 0usize;
    let mut i = start;
    loop {
        let next = i + memchr::memchr3(b'"', open, close, &doc[i..])?;
        match doc[next] {
            b'"' => i = string_end(doc, next + 1)? + 1,
            c if c == open => {
                depth += 1;
                i = next + 1;
            }
            _ => {
                depth -= 1;
                i = next + 1;
                if depth == 0 {
                    return Some(i);
                }
            }
        }
    }
}

/// Where the last element of the array at `array` in `doc` lies (as found by
/// [`top_level_arrays`]); None if it is empty.
pub fn last_element(doc: &[u8], array: Range<usize>) -> Option<Range<usize>> {
    let inner_end = array.end - 1;
    let mut i = skip_blank(doc, array.start + 1);
    let mut last = None;
    while i < inner_end {
        let end = value_end(doc, i)?;
        last = Some(i..end);
        i = skip_blank(doc, end);
        if doc.get(i) == Some(&b',') {
            i = skip_blank(doc, i + 1);
        }
    }
    last
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

    fn top_level_array(doc: &[u8], key: &str) -> Option<Range<usize>> {
        let [found] = top_level_arrays(doc, [key]);
        found
    }

    #[test]
    fn walks_the_top_level_in_one_pass() {
        let [m, t] = top_level_arrays(br#"{"t": [{"m": [1]}], "n": null, "m": [2]}"#, ["m", "t"]);
        assert_eq!(
            (m.map(|r| r.len()), t.map(|r| r.len())),
            (Some(3), Some(12))
        );
        let [x] = top_level_arrays(br#"{"a": 1 2, "x": []}"#, ["x"]);
        assert_eq!(x, None);
    }

    #[test]
    fn finds_top_level_arrays_only() {
        let doc =
            br#"{"a": {"m": [1]}, "s": "\"m\": [", "m": [ "]", ["x\\"], {"k": "["} ] , "z": 1}"#;
        let r = top_level_array(doc, "m").unwrap();
        assert_eq!(&doc[r], br#"[ "]", ["x\\"], {"k": "["} ]"#);
        assert_eq!(top_level_array(br#"{"m": 3}"#, "m"), None);
        assert_eq!(top_level_array(br#"{"a": {"m": []}}"#, "m"), None);
        assert_eq!(top_level_array(br#"{"m": [1, 2"#, "m"), None);
        assert_eq!(
            top_level_array(b"{\n  \"m\": [\n  ]\n}", "m").map(|r| r.len()),
            Some(5)
        );
    }

    #[test]
    fn finds_the_last_element() {
        let last = |doc: &[u8]| {
            let array = top_level_array(doc, "t")?;
            last_element(doc, array).map(|r| String::from_utf8(doc[r].to_vec()).unwrap())
        };
        assert_eq!(
            last(br#"{"t": [ {"a": [1, 2], "s": ",]"}, {"b": 2} ]}"#).as_deref(),
            Some(r#"{"b": 2}"#)
        );
        assert_eq!(last(br#"{"t": [1]}"#).as_deref(), Some("1"));
        assert_eq!(last(b"{\"t\": [ \n ]}"), None);
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
