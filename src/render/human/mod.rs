//! Text for people, one module a job: the session table (`list`), one
//! session in full (`show`), what `start` and `inject` say of the turn they
//! launched (`launch`), what `kill`, `rm` and `clean` did (`actions`), the
//! ends `wait` and `watch` report (`ending`), `doctor`'s findings
//! (`doctor`); here, the pieces they share. Trajectory steps are
//! [`super::steps`].

pub(crate) mod actions;
mod budget;
pub(crate) mod doctor;
pub(crate) mod ending;
pub(crate) mod git;
pub(crate) mod launch;
mod list;
mod queue;
mod remote;
mod show;

pub(crate) use list::{head as list_head, list, Measure as ListMeasure, RowCells};
pub(crate) use remote::{host_heading, remotes};
pub(crate) use show::show;

use super::controls::{is_shown, shown_as};
use super::style::{BLUE, DIM, GREEN, RED, YELLOW};
use super::Style;
use crate::model::AgentKind;
use crate::model::{Ending, Session, SessionStatus, TurnRecord};
use crate::timefmt::{compact_duration_into, Timestamp};
use crate::turn::lazy_text::cut_point;

pub(crate) fn status_word(style: &Style, s: &Session) -> String {
    paint_status(style, s.status, s.status.as_str())
}

/// "limited until 17:00" (with the date when not today) for a session whose
/// latest turn ended at its account's limit, when the reset is known.
pub(crate) fn limited_until(s: &Session) -> Option<String> {
    let at = s
        .current_turn()
        .filter(|t| t.ending() == Some(Ending::RateLimited))
        .and_then(TurnRecord::resets_at)?;
    Some(format!("limited until {}", at.clock_on(&Timestamp::now())))
}

pub(crate) fn agent_name(s: &Session) -> &str {
    AgentKind::from_meta(&s.adapter)
        .map(AgentKind::display_name)
        .unwrap_or(&s.adapter)
}

/// "12,345"
pub(crate) fn thousands(n: u64) -> String {
    let mut out = String::new();
    thousands_into(&mut out, n);
    out
}

fn thousands_into(out: &mut String, n: u64) {
    let mut digits = [0u8; 20];
    let mut len = 0;
    let mut rest = n;
    loop {
        digits[len] = b'0' + (rest % 10) as u8;
        len += 1;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    for i in (0..len).rev() {
        out.push(char::from(digits[i]));
        if i > 0 && i % 3 == 0 {
            out.push(',');
        }
    }
}

/// Runtime of a running session, else how long ago it ended or was created.
pub(crate) fn age(s: &Session) -> String {
    let mut out = String::new();
    age_into(&mut out, s);
    out
}

fn age_into(out: &mut String, s: &Session) {
    if s.status.is_active() {
        let since = s
            .current_turn()
            .and_then(|t| t.started_at)
            .unwrap_or(s.created_at);
        compact_duration_into(out, since.age_seconds());
        out.push_str(match s.status {
            crate::model::SessionStatus::Pending => " waiting",
            _ => " running",
        });
    } else {
        let at = s.ended_at().unwrap_or(s.updated_at);
        compact_duration_into(out, at.age_seconds());
        out.push_str(" ago");
    }
}

pub(crate) fn one_line(s: &str, max: usize) -> String {
    let mut out = String::new();
    one_line_into(&mut out, s, max);
    out
}

/// Appends `s` with its whitespace runs (the line and paragraph separators
/// among them) made single spaces and the other characters that
/// [`is_shown`] holds made visible, cut to `max` chars, as shown, with `…`
/// as [`truncate`] cuts.
pub(crate) fn one_line_into(out: &mut String, s: &str, max: usize) {
    let (n, cut) = flatten_into(out, s, max);
    if n > max {
        out.truncate(cut);
        out.push('…');
    }
}

/// Appends `s` flattened as [`one_line_into`] shows it, uncut: at least
/// `max + 1` chars where `s` has them, and stopped soon after (all a cut
/// at `max` looks at). Flattening the result again changes nothing, so
/// `one_line_into` of a prefix kept with `max + 1` here gives, for every
/// width up to `max`, what it gives of `s`. Returns the chars pushed and
/// where a cut at `max` keeps to.
pub(crate) fn flatten_into(out: &mut String, s: &str, max: usize) -> (usize, usize) {
    // Flattened only to one char past `max`, all that the cut looks at:
    // `list` does this for every task, `trajectory` for every command.
    let mut n = 0usize;
    let mut cut = out.len();
    let mut push = |out: &mut String, c: char, n: &mut usize| {
        if *n + 1 == max.saturating_sub(1) {
            cut = out.len() + c.len_utf8();
        }
        out.push(c);
        *n += 1;
    };
    'words: for word in s.split_whitespace() {
        if n > 0 {
            if n > max {
                break;
            }
            push(out, ' ', &mut n);
        }
        for c in word.chars() {
            if n > max {
                break 'words;
            }
            if is_shown(c) {
                for shown in shown_as(c) {
                    push(out, shown, &mut n);
                }
            } else {
                push(out, c, &mut n);
            }
        }
    }
    (n, cut)
}

pub(crate) fn truncate(s: &str, max: usize) -> String {
    match cut_point(s, max) {
        None => s.to_string(),
        Some(keep) => {
            let mut out = String::with_capacity(keep + 3);
            out.push_str(&s[..keep]);
            out.push('…');
            out
        }
    }
}

pub(crate) fn status_symbol(status: SessionStatus) -> &'static str {
    match status {
        SessionStatus::Running | SessionStatus::Pending => "●",
        SessionStatus::Completed => "✓",
        SessionStatus::Failed => "✗",
        SessionStatus::Killed => "■",
        SessionStatus::Unknown => "?",
    }
}

/// The session table: a summary line, then one row per session, the task
/// preview fitted to `width`. Numbers align right; COST appears only when
/// A session that could not be read, and so is left out.
pub(crate) fn skipped(id: &str, error: &dyn std::fmt::Display) -> String {
    format!("skipped session {id}: {error}")
}

fn paint_status(style: &Style, status: SessionStatus, text: &str) -> String {
    let mut out = String::new();
    style.paint_into(&mut out, status_colour(status), text);
    out
}

fn status_colour(status: SessionStatus) -> &'static str {
    match status {
        SessionStatus::Running | SessionStatus::Pending => BLUE,
        SessionStatus::Completed => GREEN,
        SessionStatus::Failed => RED,
        SessionStatus::Killed => YELLOW,
        SessionStatus::Unknown => DIM,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_thousands() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1234567), "1,234,567");
    }

    #[test]
    fn truncates_on_char_boundaries() {
        assert_eq!(truncate("héllo wörld", 6), "héllo…");
        assert_eq!(one_line("a\n  b\tc", 10), "a b c");
    }

    #[test]
    fn one_line_flattens_then_truncates() {
        let text = "  ab  cd\n\nef é  ";
        let flat = "ab cd ef é";
        for max in 0..14 {
            assert_eq!(one_line(text, max), truncate(flat, max), "{max}");
        }
        assert_eq!(one_line(text, usize::MAX), flat);
    }

    #[test]
    fn one_line_shows_controls_and_cuts_what_it_shows() {
        // Whitespace controls (CR, FF, NEL) separate words; the others show.
        let text = "a\x1b[2J\r\nb\u{85}c\x0c\x1f\u{9b}d";
        let flat = "a^[[2J b c ^_<U+009B>d";
        for max in 0..flat.len() + 2 {
            assert_eq!(one_line(text, max), truncate(flat, max), "{max}");
        }
    }

    #[test]
    fn one_line_shows_bidi_and_invisible_characters_and_cuts_what_it_shows() {
        // The line and paragraph separators are whitespace; the others show.
        let text = "“a\u{202e}b”\u{2028}c\u{200b}\u{2029}—\u{2066}日本\u{2069}\u{feff}";
        let flat = "“a<U+202E>b” c<U+200B> —<U+2066>日本<U+2069><U+FEFF>";
        for max in 0..flat.chars().count() + 2 {
            assert_eq!(one_line(text, max), truncate(flat, max), "{max}");
        }
    }
}
