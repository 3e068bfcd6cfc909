//! Untrusted text made safe to print on a terminal.
//!
//! Tasks, agent messages, command lines and output, error strings and file
//! names can hold control characters. Printed as they are, an ESC sequence
//! in them can move the cursor, rewrite lines already shown, set the window
//! title, hide text or (OSC 52) write the clipboard; a lone `\r` can make a
//! line overwrite itself. Human output therefore shows every control
//! character but newline and tab as visible text, as `less` does:
//!
//! - C0 (U+0000 to U+001F) and DEL (U+007F) in caret notation: ESC is `^[`,
//!   `\r` is `^M`, NUL is `^@`, DEL is `^?`;
//! - C1 (U+0080 to U+009F) as `<U+009B>`.
//!
//! zwarm's own colour codes are added around such text, never passed
//! through here. `--json` needs none of this (JSON escapes control
//! characters), and `output` copies the agent's file as it is.

use std::borrow::Cow;

/// Whether `c` is one of the characters shown visibly (newline and tab are
/// not: they only lay text out).
pub fn is_control(c: char) -> bool {
    matches!(c, '\0'..='\x08' | '\x0b'..='\x1f' | '\x7f'..='\u{9f}')
}

/// The visible form of `c`, which [`is_control`] holds, a char at a time:
/// the width cuts of one-line previews count them.
pub fn shown_as(c: char) -> impl Iterator<Item = char> {
    let code = u32::from(c);
    let (chars, len) = if code < 0x80 {
        // ^@ to ^_ for C0, and ^? for DEL: the character 0x40 away.
        let caret = char::from((code as u8) ^ 0x40);
        (['^', caret, ' ', ' ', ' ', ' ', ' ', ' '], 2)
    } else {
        let hex = |n: u32| char::from(b"0123456789ABCDEF"[(n & 0xf) as usize]);
        (['<', 'U', '+', '0', '0', hex(code >> 4), hex(code), '>'], 8)
    };
    chars.into_iter().take(len)
}

/// Bytes that may start a control character: all below 0x20 (newline and
/// tab are sorted out after), DEL, and 0xC2, the first byte of every C1.
fn suspect(b: u8) -> bool {
    (b < 0x20) | (b == 0x7f) | (b == 0xc2)
}

/// Whether `bytes` holds a [`suspect`] byte, tested without an early exit:
/// that compiles to a few vector instructions per 16 bytes.
fn any_suspect(bytes: &[u8]) -> bool {
    bytes.iter().fold(false, |any, &b| any | suspect(b))
}

/// Bytes of the control character starting at `i`, or 0. In UTF-8 a byte
/// below 0x80 is always a whole character and 0xC2 always starts one, so
/// bytes tell without decoding.
fn control_at(bytes: &[u8], i: usize) -> usize {
    match bytes[i] {
        b'\n' | b'\t' => 0,
        0x00..=0x1f | 0x7f => 1,
        0xc2 if matches!(bytes.get(i + 1), Some(0x80..=0x9f)) => 2,
        _ => 0,
    }
}

const BLOCK: usize = 16;

/// Where the first [`suspect`] byte of `bytes` is. `trajectory --full`
/// passes every line of every output through here, most of them short and
/// with none: a byte-at-a-time scan made it a third slower, so whole blocks
/// are tested, and the tail as the block that ends `bytes`, which overlaps
/// bytes already known to hold none.
fn find_suspect(bytes: &[u8]) -> Option<usize> {
    let mut i = 0;
    while let Some(block) = bytes[i..].first_chunk::<BLOCK>() {
        if any_suspect(block) {
            return block.iter().position(|&b| suspect(b)).map(|at| i + at);
        }
        i += BLOCK;
    }
    if let Some(last) = bytes.last_chunk::<BLOCK>() {
        if !any_suspect(last) {
            return None;
        }
    }
    bytes[i..].iter().position(|&b| suspect(b)).map(|at| i + at)
}

/// Where the first control character at or after `i` starts, and its length
/// in bytes.
fn next_control(bytes: &[u8], mut i: usize) -> Option<(usize, usize)> {
    loop {
        let at = i + find_suspect(&bytes[i..])?;
        match control_at(bytes, at) {
            0 => i = at + 1,
            len => return Some((at, len)),
        }
    }
}

/// Appends `s` with its control characters shown as the module says. Text
/// without any, nearly all of it, is copied in one piece.
pub fn push_visible(out: &mut String, s: &str) {
    let bytes = s.as_bytes();
    let mut copied = 0;
    while let Some((at, len)) = next_control(bytes, copied) {
        out.push_str(&s[copied..at]);
        if let Some(c) = s[at..].chars().next() {
            out.extend(shown_as(c));
        }
        copied = at + len;
    }
    out.push_str(&s[copied..]);
}

/// `s` with its control characters shown; borrowed when it has none.
pub fn visible(s: &str) -> Cow<'_, str> {
    match next_control(s.as_bytes(), 0) {
        None => Cow::Borrowed(s),
        Some((first, _)) => {
            let mut out = String::with_capacity(s.len() + 8);
            out.push_str(&s[..first]);
            push_visible(&mut out, &s[first..]);
            Cow::Owned(out)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shown(s: &str) -> String {
        let mut out = String::new();
        push_visible(&mut out, s);
        assert_eq!(visible(s), out, "{s:?}");
        out
    }

    #[test]
    fn c0_controls_are_shown_in_caret_notation() {
        assert_eq!(shown("\x1b]0;pwned\x07\x1b[2J"), "^[]0;pwned^G^[[2J");
        assert_eq!(shown("\0\x01\x08\x0b\x0c\x0e\x1f"), "^@^A^H^K^L^N^_");
        assert_eq!(shown("50%\r100%"), "50%^M100%");
        assert_eq!(shown("a\r\n"), "a^M\n");
    }

    #[test]
    fn newline_and_tab_are_kept() {
        assert_eq!(shown("a\tb\nc\n"), "a\tb\nc\n");
    }

    #[test]
    fn del_and_c1_controls_are_shown() {
        assert_eq!(shown("x\x7fy"), "x^?y");
        assert_eq!(
            shown("\u{80}\u{85}\u{9b}31m\u{9d}"),
            "<U+0080><U+0085><U+009B>31m<U+009D>"
        );
    }

    #[test]
    fn every_control_and_nothing_else_is_replaced() {
        for code in 0..0x3000u32 {
            let Some(c) = char::from_u32(code) else {
                continue;
            };
            let s = c.to_string();
            let out = shown(&s);
            let control = code < 0x20 && c != '\n' && c != '\t' || (0x7f..=0x9f).contains(&code);
            assert_eq!(is_control(c), control, "{code:#x}");
            assert_eq!(out != s, control, "{code:#x}");
            assert!(out.chars().all(|o| o == c || !is_control(o)), "{code:#x}");
        }
    }

    #[test]
    fn multibyte_neighbours_are_untouched() {
        // 0xC2 leading printable chars, continuation bytes 0x80..0x9F in
        // other chars, and a control between them.
        let s = "£\u{a0}°é…\u{100}\u{2028}€🦀";
        assert_eq!(shown(s), s);
        assert_eq!(shown("é\x1bé\u{9b}…"), "é^[é<U+009B>…");
        assert_eq!(shown("\u{9b}"), "<U+009B>");
        assert_eq!(shown("\x1b"), "^[");
    }

    #[test]
    fn controls_are_found_anywhere_in_long_text() {
        // Every position in, across and after the blocks the scan tests.
        let clean = "abcdefghijklmnopqrstuvwxyz0123456789";
        for at in 0..=clean.len() {
            for (control, shown_form) in [("\x1b", "^["), ("\u{9b}", "<U+009B>"), ("\x7f", "^?")] {
                let text = format!("{}{control}{}", &clean[..at], &clean[at..]);
                let want = format!("{}{shown_form}{}", &clean[..at], &clean[at..]);
                assert_eq!(shown(&text), want, "{at}");
            }
            // Newlines, tabs and other 0xC2 chars before the control.
            let text = format!("{}\t\n¢\r{}", &clean[..at], &clean[at..]);
            assert_eq!(
                shown(&text),
                format!("{}\t\n¢^M{}", &clean[..at], &clean[at..])
            );
        }
        let long = "x".repeat(100);
        assert_eq!(shown(&long), long);
        assert_eq!(shown(&format!("{long}\t¢")), format!("{long}\t¢"));
    }

    #[test]
    fn text_without_controls_is_borrowed() {
        let s = "plain text\twith a tab\nand lines, ünïcödé";
        assert!(matches!(visible(s), Cow::Borrowed(t) if t == s));
        assert!(matches!(visible(""), Cow::Borrowed("")));
        assert!(matches!(visible("\x1b"), Cow::Owned(_)));
    }
}
