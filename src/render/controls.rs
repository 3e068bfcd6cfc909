//! Untrusted text made safe to print on a terminal.
//!
//! Tasks, agent messages, command lines and output, error strings and file
//! names can hold control characters. Printed as they are, an ESC sequence
//! in them can move the cursor, rewrite lines already shown, set the window
//! title, hide text or (OSC 52) write the clipboard; a lone `\r` can make a
//! line overwrite itself. Bidi controls can make a line read in another
//! order than its characters are in, and invisible characters can hide a
//! difference between two names or split a word unseen (the "Trojan Source"
//! tricks). Human output therefore shows all of these, but newline and tab,
//! as visible text, as `less` does:
//!
//! - C0 (U+0000 to U+001F) and DEL (U+007F) in caret notation: ESC is `^[`,
//!   `\r` is `^M`, NUL is `^@`, DEL is `^?`;
//! - C1 (U+0080 to U+009F), and the bidi and invisible characters that
//!   [`is_shown`] lists, as `<U+009B>`, `<U+202E>`.
//!
//! zwarm's own colour codes are added around such text, never passed
//! through here. `--json` needs none of this (JSON escapes control
//! characters, and programs read the others as they are), and `output`
//! copies the agent's file as it is.

use std::borrow::Cow;

/// Whether `c` is one of the characters shown visibly (newline and tab are
/// not: they only lay text out). Beyond C0, DEL and C1 these are the
/// characters a terminal draws as nothing, or that reorder what it draws.
/// [`starts_shown`] has the same set in UTF-8 bytes.
pub(crate) fn is_shown(c: char) -> bool {
    matches!(
        c,
        '\0'..='\x08' | '\x0b'..='\x1f' | '\x7f'..='\u{9f}'
        // ARABIC LETTER MARK: a bidi mark, invisible.
        | '\u{61c}'
        // HANGUL CHOSEONG and JUNGSEONG FILLER: drawn blank, letters in
        // every other respect.
        | '\u{115f}' | '\u{1160}'
        // MONGOLIAN VOWEL SEPARATOR: a zero-width format character since
        // Unicode 6.3.
        | '\u{180e}'
        // ZERO WIDTH SPACE: zero width, between any letters. (The joiner
        // and non-joiner, U+200C and U+200D, are left alone: they shape
        // Persian and Indic words and glue emoji sequences, and neither
        // reorders a line.)
        | '\u{200b}'
        // LEFT-TO-RIGHT and RIGHT-TO-LEFT MARK: bidi marks, invisible.
        | '\u{200e}' | '\u{200f}'
        // LINE and PARAGRAPH SEPARATOR: a terminal does not break the line
        // at them, and draws a blank or nothing.
        | '\u{2028}' | '\u{2029}'
        // Bidi embeddings, overrides and their end (LRE, RLE, PDF, LRO,
        // RLO): they reorder the rest of the line.
        | '\u{202a}'..='\u{202e}'
        // WORD JOINER and the invisible maths operators (U+2061 to U+2064):
        // zero width.
        | '\u{2060}'..='\u{2064}'
        // U+2065: unassigned, but reserved as ignorable, drawn as nothing.
        | '\u{2065}'
        // Bidi isolates (LRI, RLI, FSI, PDI): they reorder the text between.
        | '\u{2066}'..='\u{2069}'
        // Deprecated shaping and digit controls: invisible format characters.
        | '\u{206a}'..='\u{206f}'
        // HANGUL FILLER: drawn blank, a letter in every other respect.
        | '\u{3164}'
        // ZERO WIDTH NO-BREAK SPACE (the byte order mark): zero width.
        | '\u{feff}'
        // HALFWIDTH HANGUL FILLER: drawn blank, a letter in every other
        // respect.
        | '\u{ffa0}'
    )
}

/// The visible form of `c`, which [`is_shown`] holds, a char at a time:
/// the width cuts of one-line previews count them.
pub(crate) fn shown_as(c: char) -> impl Iterator<Item = char> {
    let code = u32::from(c);
    let (chars, len) = if code < 0x80 {
        // ^@ to ^_ for C0, and ^? for DEL: the character 0x40 away.
        let caret = char::from((code as u8) ^ 0x40);
        (['^', caret, ' ', ' ', ' ', ' ', ' ', ' '], 2)
    } else {
        // Every one is below U+10000: four digits.
        let hex = |shift: u32| char::from(b"0123456789ABCDEF"[((code >> shift) & 0xf) as usize]);
        (['<', 'U', '+', hex(12), hex(8), hex(4), hex(0), '>'], 8)
    };
    chars.into_iter().take(len)
}

/// Whether `b` is anything but printable ASCII: the block scan's first
/// test, the only one that text of printable ASCII needs.
fn unusual(b: u8) -> bool {
    b.wrapping_sub(0x20) >= 0x5f
}

/// Whether `b` may start a character that [`is_shown`] holds: the block
/// scan's second test, the last that most other text needs (accented Latin,
/// Cyrillic, Greek, CJK ideographs, Hangul, emoji).
fn may_start_shown(b: u8) -> bool {
    (b < 0x20) & (b != b'\n') & (b != b'\t')
        | (b == 0x7f)
        | (b == 0xc2)
        | (b == 0xd8)
        | (b.wrapping_sub(0xe1) <= 2)
        | (b == 0xef)
}

/// Whether the character that starts with the bytes `a`, `b`, `c` (0 past
/// the end of the text) is one that [`is_shown`] holds: the same set read
/// from UTF-8, where a byte below 0x80 is a whole character and the lead
/// bytes tested start characters of two or three; a test holds the two
/// equal for every char. The block scan's last test, exact because lead
/// bytes alone would stop the scan at every curly quote, dash and
/// box-drawing character (0xE2), kana (0xE3) and a quarter of the Arabic
/// letters (0xD8).
fn starts_shown(a: u8, b: u8, c: u8) -> bool {
    let within = |x: u8, lo: u8, hi: u8| x.wrapping_sub(lo) <= hi - lo;
    (a < 0x20) & (a != b'\n') & (a != b'\t')
        | (a == 0x7f)
        // C1: U+0080 to U+009F (`b` is at least 0x80).
        | (a == 0xc2) & (b < 0xa0)
        // U+061C.
        | (a == 0xd8) & (b == 0x9c)
        // U+115F, U+1160; U+180E.
        | (a == 0xe1) & ((b == 0x85) & within(c, 0x9f, 0xa0) | (b == 0xa0) & (c == 0x8e))
        // U+200B, U+200E, U+200F, U+2028 to U+202E; U+2060 to U+206F.
        | (a == 0xe2)
            & ((b == 0x80) & ((c == 0x8b) | within(c, 0x8e, 0x8f) | within(c, 0xa8, 0xae))
                | (b == 0x81) & within(c, 0xa0, 0xaf))
        // U+3164.
        | (a == 0xe3) & (b == 0x85) & (c == 0xa4)
        // U+FEFF; U+FFA0.
        | (a == 0xef) & ((b == 0xbb) & (c == 0xbf) | (b == 0xbe) & (c == 0xa0))
}

const BLOCK: usize = 16;

/// Whether `block` holds a byte that is not printable ASCII. Each test of
/// a block runs over all of it without an early exit, folded into a `u8`:
/// this one compiles to a few vector instructions. (Folded into a `bool`,
/// the tests below have the compiler build their vectors a byte at a time.)
fn any_unusual(block: &[u8]) -> bool {
    block.iter().fold(0u8, |any, &b| any | u8::from(unusual(b))) != 0
}

/// Whether a character that [`starts_shown`] starts in the first [`BLOCK`]
/// bytes of `window`, where [`any_unusual`] found something; the two bytes
/// after are those its characters may need. The first test is a few vector
/// instructions, the second, where the first found something, several
/// dozen.
fn any_shown(window: &[u8; BLOCK + 2]) -> bool {
    let block = &window[..BLOCK];
    block
        .iter()
        .fold(0u8, |any, &b| any | u8::from(may_start_shown(b)))
        != 0
        && block
            .iter()
            .zip(&window[1..])
            .zip(&window[2..])
            .fold(0u8, |any, ((&a, &b), &c)| {
                any | u8::from(starts_shown(a, b, c))
            })
            != 0
}

/// Where the first shown character of `bytes` at or after `from` starts, a
/// byte at a time, printable ASCII passed over at the first test.
fn first_shown(bytes: &[u8], from: usize) -> Option<usize> {
    let at = |i: usize| bytes.get(i).copied().unwrap_or(0);
    (from..bytes.len()).find(|&i| unusual(bytes[i]) && starts_shown(bytes[i], at(i + 1), at(i + 2)))
}

/// Where the first shown character of `bytes` starts. `trajectory --full`
/// passes every line of every output through here, most of them short and
/// with none: a byte-at-a-time scan made it a third slower, so whole blocks
/// are tested, and the tail as the block that ends `bytes`, which overlaps
/// bytes already known to hold none, and then its last two bytes, which
/// that block only looks at.
fn find_shown(bytes: &[u8]) -> Option<usize> {
    let mut i = 0;
    while let Some(window) = bytes[i..].first_chunk::<{ BLOCK + 2 }>() {
        if any_unusual(&window[..BLOCK]) && any_shown(window) {
            return first_shown(bytes, i);
        }
        i += BLOCK;
    }
    if let Some(window) = bytes.last_chunk::<{ BLOCK + 2 }>() {
        if !(any_unusual(&window[..BLOCK]) && any_shown(window)) {
            return first_shown(bytes, bytes.len() - 2);
        }
    }
    first_shown(bytes, i)
}

/// Where the first shown character at or after `i` starts, and its length
/// in bytes.
fn next_shown(s: &str, i: usize) -> Option<(usize, usize)> {
    let at = i + find_shown(&s.as_bytes()[i..])?;
    let len = s[at..].chars().next().map_or(1, char::len_utf8);
    Some((at, len))
}

/// Appends `s` with the characters [`is_shown`] holds shown as the module
/// says. Text without any, nearly all of it, is copied in one piece.
pub(crate) fn push_visible(out: &mut String, s: &str) {
    let mut copied = 0;
    while let Some((at, len)) = next_shown(s, copied) {
        out.push_str(&s[copied..at]);
        if let Some(c) = s[at..].chars().next() {
            out.extend(shown_as(c));
        }
        copied = at + len;
    }
    out.push_str(&s[copied..]);
}

/// `s` with the characters [`is_shown`] holds shown; borrowed when it has
/// none.
pub(crate) fn visible(s: &str) -> Cow<'_, str> {
    match next_shown(s, 0) {
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

    /// The characters shown, as the module's documentation lists them.
    const SHOWN: &[(u32, u32)] = &[
        (0x00, 0x08),
        (0x0b, 0x1f),
        (0x7f, 0x9f),
        (0x061c, 0x061c),
        (0x115f, 0x1160),
        (0x180e, 0x180e),
        (0x200b, 0x200b),
        (0x200e, 0x200f),
        (0x2028, 0x202e),
        (0x2060, 0x206f),
        (0x3164, 0x3164),
        (0xfeff, 0xfeff),
        (0xffa0, 0xffa0),
    ];

    fn listed(code: u32) -> bool {
        SHOWN.iter().any(|&(lo, hi)| (lo..=hi).contains(&code))
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
    fn bidi_and_invisible_characters_are_shown() {
        for code in [
            0x061c, 0x115f, 0x1160, 0x180e, 0x200b, 0x200e, 0x200f, 0x2028, 0x2029, 0x202a, 0x202b,
            0x202c, 0x202d, 0x202e, 0x2060, 0x2061, 0x2062, 0x2063, 0x2064, 0x2065, 0x2066, 0x2067,
            0x2068, 0x2069, 0x206a, 0x206f, 0x3164, 0xfeff, 0xffa0,
        ] {
            let c = char::from_u32(code).unwrap();
            assert_eq!(shown(&format!("a{c}b")), format!("a<U+{code:04X}>b"));
        }
        // A line that reads "access_level != user" but compares with
        // "user" followed by a comment, as an editor would draw it.
        assert_eq!(
            shown("access_level != \"user\u{202e} \u{2066}// Check if admin\u{2069} \u{2066}\""),
            "access_level != \"user<U+202E> <U+2066>// Check if admin<U+2069> <U+2066>\""
        );
        assert_eq!(shown("\u{feff}#!/bin/sh"), "<U+FEFF>#!/bin/sh");
        // Joiners shape words and emoji sequences: left as they are.
        assert_eq!(shown("👩\u{200d}💻"), "👩\u{200d}💻");
        assert_eq!(shown("می\u{200c}خواهم"), "می\u{200c}خواهم");
    }

    #[test]
    fn every_shown_character_and_nothing_else_is_replaced() {
        for code in 0..0x1_0000u32 {
            let Some(c) = char::from_u32(code) else {
                continue;
            };
            let s = c.to_string();
            let out = shown(&s);
            assert_eq!(is_shown(c), listed(code), "{code:#x}");
            assert_eq!(out != s, listed(code), "{code:#x}");
            assert!(out.chars().all(|o| o == c || !is_shown(o)), "{code:#x}");
        }
        // Every other char, each between its neighbours, through the block
        // scan and its tail.
        let others: String = (0..=0x10_ffffu32)
            .filter(|&code| !listed(code))
            .filter_map(char::from_u32)
            .collect();
        assert!(matches!(visible(&others), Cow::Borrowed(_)));
        assert!((0x1_0000..=0x10_ffff)
            .filter_map(char::from_u32)
            .all(|c| !is_shown(c)));
        // Each shown one among ASCII, where only it can stop the scan, in a
        // block and in the tail.
        let pad = "x".repeat(2 * BLOCK);
        for c in (0..0x1_0000u32)
            .filter(|&code| listed(code))
            .filter_map(char::from_u32)
        {
            let form: String = shown_as(c).collect();
            assert_eq!(
                shown(&format!("{pad}{c}{pad}")),
                format!("{pad}{form}{pad}")
            );
            assert_eq!(shown(&format!("{pad}{c}")), format!("{pad}{form}"));
        }
        // And the shown ones one after another.
        let all: String = (0..0x1_0000u32)
            .filter(|&code| listed(code))
            .filter_map(char::from_u32)
            .collect();
        let want: String = all.chars().flat_map(shown_as).collect();
        assert_eq!(shown(&all), want);
    }

    #[test]
    fn multibyte_neighbours_are_untouched() {
        // 0xC2 leading printable chars, continuation bytes 0x80..0x9F in
        // other chars, and a control between them.
        let s = "£\u{a0}°é…\u{100}€🦀";
        assert_eq!(shown(s), s);
        assert_eq!(shown("é\x1bé\u{9b}…"), "é^[é<U+009B>…");
        assert_eq!(shown("\u{9b}"), "<U+009B>");
        assert_eq!(shown("\x1b"), "^[");
        // Ordinary text with the lead bytes of the characters shown: curly
        // quotes, dashes, the ellipsis, box drawing, kana, Arabic, Hangul,
        // fullwidth and halfwidth forms, emoji with a variation selector.
        for s in [
            "“quoted” — ‘it’s’ – done… • ✓ ✗ →",
            "├── src/ │ └── main.rs ─ ┌┐└┘ █▓░",
            "日本語のテキスト、カタカナ。（全角）ｶﾀｶﾅ",
            "مرحبا بالعالم؛ هل هذا نص؟",
            "한국어 ㄱㄴㄷ ᄀᄁ ᅡ",
            "❤️ 👍🏽 ½ ⁰¹²³ ™ € ‰ ′″",
        ] {
            assert_eq!(shown(s), s);
        }
        // The code points on either side of each one shown.
        for &(lo, hi) in SHOWN {
            for code in [lo.wrapping_sub(1), hi + 1] {
                if let Some(c) = char::from_u32(code).filter(|&c| !is_shown(c)) {
                    let s = format!("a{c}b");
                    assert_eq!(shown(&s), s, "{code:#x}");
                }
            }
        }
    }

    #[test]
    fn controls_are_found_anywhere_in_long_text() {
        // Every position in, across and after the blocks the scan tests.
        let clean = "abcdefghijklmnopqrstuvwxyz0123456789";
        for at in 0..=clean.len() {
            for (control, shown_form) in [
                ("\x1b", "^["),
                ("\u{9b}", "<U+009B>"),
                ("\x7f", "^?"),
                ("\u{61c}", "<U+061C>"),
                ("\u{200b}", "<U+200B>"),
                ("\u{202e}", "<U+202E>"),
                ("\u{feff}", "<U+FEFF>"),
            ] {
                let text = format!("{}{control}{}", &clean[..at], &clean[at..]);
                let want = format!("{}{shown_form}{}", &clean[..at], &clean[at..]);
                assert_eq!(shown(&text), want, "{at}");
            }
            // Newlines, tabs and other chars with the same lead bytes before
            // the control.
            let text = format!("{}\t\n¢“—؛ㄱ\r{}", &clean[..at], &clean[at..]);
            assert_eq!(
                shown(&text),
                format!("{}\t\n¢“—؛ㄱ^M{}", &clean[..at], &clean[at..])
            );
        }
        let long = "x".repeat(100);
        assert_eq!(shown(&long), long);
        assert_eq!(shown(&format!("{long}\t¢")), format!("{long}\t¢"));
        let prose = "“It’s done” — all…".repeat(10);
        assert_eq!(shown(&prose), prose);
        assert_eq!(
            shown(&format!("{prose}\u{2069}")),
            format!("{prose}<U+2069>")
        );
    }

    #[test]
    fn text_without_controls_is_borrowed() {
        let s = "plain text\twith a tab\nand lines, ünïcödé “quoted” — 日本";
        assert!(matches!(visible(s), Cow::Borrowed(t) if t == s));
        assert!(matches!(visible(""), Cow::Borrowed("")));
        assert!(matches!(visible("\x1b"), Cow::Owned(_)));
        assert!(matches!(visible("\u{200b}"), Cow::Owned(_)));
    }
}
