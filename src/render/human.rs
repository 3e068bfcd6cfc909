//! Text for people: the session table, one session in full, trajectory steps.

use super::controls::{is_shown, push_visible, shown_as, visible};
use super::style::{BLUE, BOLD, CYAN, DIM, GREEN, RED, YELLOW};
use super::Style;
use crate::model::AgentKind;
use crate::model::{Session, SessionStatus};
use crate::session::stall::Stall;
use crate::timefmt::{compact_duration, compact_duration_into};
use crate::turn::lazy_text::cut_point;
use std::fmt::Write as _;

pub fn status_word(style: &Style, s: &Session) -> String {
    paint_status(style, s.status, s.status.as_str())
}

pub fn agent_name(s: &Session) -> &str {
    AgentKind::from_meta(&s.adapter)
        .map(AgentKind::display_name)
        .unwrap_or(&s.adapter)
}

/// "12,345"
pub fn thousands(n: u64) -> String {
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
pub fn age(s: &Session) -> String {
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
        out.push_str(" running");
    } else {
        let at = s.ended_at().unwrap_or(s.updated_at);
        compact_duration_into(out, at.age_seconds());
        out.push_str(" ago");
    }
}

pub fn one_line(s: &str, max: usize) -> String {
    let mut out = String::new();
    one_line_into(&mut out, s, max);
    out
}

/// Appends `s` with its whitespace runs (the line and paragraph separators
/// among them) made single spaces and the other characters that
/// [`is_shown`] holds made visible, cut to `max` chars, as shown, with `…`
/// as [`truncate`] cuts.
pub fn one_line_into(out: &mut String, s: &str, max: usize) {
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
    if n > max {
        out.truncate(cut);
        out.push('…');
    }
}

pub fn truncate(s: &str, max: usize) -> String {
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

pub fn status_symbol(status: SessionStatus) -> &'static str {
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
/// some agent reported one. `stalls` goes with `sessions`, index by index.
/// The session table, appended to `out` a line at a time. `list` prints
/// thousands of rows: their cells are written into one buffer, measured,
/// then padded into `out`, with no string of their own.
pub fn list(
    style: &Style,
    sessions: &[Session],
    stalls: &[Option<Stall>],
    width: usize,
    out: &mut String,
) {
    let count = |st: SessionStatus| sessions.iter().filter(|s| s.status == st).count();
    let stalled = |i: usize| stalls.get(i).is_some_and(Option::is_some);
    let n_stalled = (0..sessions.len()).filter(|&i| stalled(i)).count();
    let _ = writeln!(
        out,
        "{} session{}: {} running{}, {} completed, {} failed, {} killed",
        sessions.len(),
        if sessions.len() == 1 { "" } else { "s" },
        count(SessionStatus::Running) + count(SessionStatus::Pending),
        if n_stalled > 0 {
            format!(" ({n_stalled} stalled)")
        } else {
            String::new()
        },
        count(SessionStatus::Completed),
        count(SessionStatus::Failed),
        count(SessionStatus::Killed),
    );
    if sessions.is_empty() {
        return;
    }
    let with_cost = sessions.iter().any(|s| s.cost_usd.is_some());
    // (header, right-aligned)
    let mut cols = vec![
        ("ID", false),
        ("STATUS", false),
        ("AGENT", false),
        ("MODEL", false),
        ("TURNS", true),
        ("AGE", true),
        ("TOKENS", true),
    ];
    if with_cost {
        cols.push(("COST", true));
    }
    // Every row's cells, one after another; `ends` has where each ends.
    let mut cells = String::with_capacity(sessions.len() * 64);
    let mut ends: Vec<usize> = Vec::with_capacity(sessions.len() * cols.len());
    for (i, s) in sessions.iter().enumerate() {
        push_visible(&mut cells, s.short_id());
        ends.push(cells.len());
        if stalled(i) {
            cells.push_str("◌ stalled");
        } else {
            cells.push_str(status_symbol(s.status));
            cells.push(' ');
            cells.push_str(s.status.as_str());
        }
        ends.push(cells.len());
        push_visible(&mut cells, agent_name(s));
        ends.push(cells.len());
        push_visible(&mut cells, if s.model.is_empty() { "-" } else { &s.model });
        ends.push(cells.len());
        let _ = write!(cells, "{}", s.turn);
        ends.push(cells.len());
        age_into(&mut cells, s);
        ends.push(cells.len());
        match s.token_usage.total_tokens {
            0 => cells.push('-'),
            n => thousands_into(&mut cells, n),
        }
        ends.push(cells.len());
        if with_cost {
            match s.cost_usd {
                Some(c) => {
                    let _ = write!(cells, "${c:.2}");
                }
                None => cells.push('-'),
            }
            ends.push(cells.len());
        }
    }
    let (cells, ends, ncols) = (cells.as_str(), ends.as_slice(), cols.len());
    let row = |n: usize| {
        let first = n * ncols;
        (0..ncols).map(move |c| {
            let start = if first + c == 0 {
                0
            } else {
                ends[first + c - 1]
            };
            &cells[start..ends[first + c]]
        })
    };
    let mut widths: Vec<usize> = cols.iter().map(|(h, _)| h.len()).collect();
    for n in 0..sessions.len() {
        for (w, cell) in widths.iter_mut().zip(row(n)) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let fixed: usize = widths.iter().sum::<usize>() + 2 * widths.len();
    let task_width = width.saturating_sub(fixed).max(16);
    let mut header = String::new();
    for ((h, right), w) in cols.iter().zip(&widths) {
        pad_into(&mut header, h, *w, *right);
        header.push_str("  ");
    }
    header.push_str("TASK");
    style.paint_into(out, BOLD, &header);
    out.push('\n');
    for (n, s) in sessions.iter().enumerate() {
        for (i, ((cell, w), (_, right))) in row(n).zip(&widths).zip(&cols).enumerate() {
            let colour = match i {
                0 => Some(CYAN),
                1 if stalled(n) => Some(YELLOW),
                1 => Some(status_colour(s.status)),
                _ => None,
            };
            if let Some(code) = colour {
                style.start(out, code);
            }
            pad_into(out, cell, *w, *right);
            if colour.is_some() {
                style.end(out);
            }
            out.push_str("  ");
        }
        one_line_into(out, &s.task, task_width);
        out.push('\n');
    }
}

fn pad_into(line: &mut String, s: &str, w: usize, right: bool) {
    let gap = w.saturating_sub(s.chars().count());
    if !right {
        line.push_str(s);
    }
    line.extend(std::iter::repeat_n(' ', gap));
    if right {
        line.push_str(s);
    }
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

pub fn show(style: &Style, s: &Session, stall: Option<&Stall>) -> Vec<String> {
    let mut out = Vec::new();
    let kv = |k: &str, v: String| format!("{} {v}", style.bold(&format!("{k:<10}")));
    out.push(kv("session", style.cyan(&visible(&s.id))));
    out.push(kv("status", status_word(style, s)));
    if let Some(st) = stall {
        let mut text = format!(
            "only retrying for {} ({} retries)",
            compact_duration(st.since.age_seconds()),
            st.retries
        );
        if let Some(r) = &st.last_retry {
            text.push_str(&format!(": {}", one_line(r, 160)));
        }
        out.push(kv("stalled", style.yellow(&text)));
    }
    out.push(kv(
        "agent",
        format!(
            "{}{}",
            visible(agent_name(s)),
            match s
                .turns
                .iter()
                .rev()
                .find_map(|t| t.reported_model.as_deref())
            {
                _ if !s.model.is_empty() => format!(" ({})", visible(&s.model)),
                Some(default) => format!(" ({}, its default)", one_line(default, 80)),
                None => String::new(),
            }
        ),
    ));
    out.push(kv("task", one_line(&s.task, 200)));
    out.push(kv("dir", visible(&s.working_dir).into_owned()));
    out.push(kv("created", s.created_at.to_string()));
    out.push(kv("age", age(s)));
    if let Some(id) = &s.agent_session_id {
        out.push(kv("thread", visible(id).into_owned()));
    }
    let u = &s.token_usage;
    if !u.is_empty() {
        let mut t = format!(
            "{} in, {} out, {} total",
            thousands(u.input_tokens),
            thousands(u.output_tokens),
            thousands(u.total_tokens)
        );
        if u.cached_input_tokens > 0 {
            t.push_str(&format!(" ({} cached)", thousands(u.cached_input_tokens)));
        }
        if u.cache_read_input_tokens + u.cache_creation_input_tokens > 0 {
            t.push_str(&format!(
                " (cache: {} read, {} written)",
                thousands(u.cache_read_input_tokens),
                thousands(u.cache_creation_input_tokens)
            ));
        }
        out.push(kv("tokens", t));
    }
    if let Some(c) = s.cost_usd {
        out.push(kv("cost", format!("${c:.4}")));
    }
    if let Some(e) = &s.error {
        out.push(kv("error", style.red(&visible(e))));
    }
    if !s.turns.is_empty() {
        out.push(String::new());
        out.push(style.bold("turns"));
        for t in &s.turns {
            let ending = t.ending.map(|e| e.as_str()).unwrap_or("running");
            let exit = match t.exit {
                Some(crate::model::ExitStatus::Code(c)) => format!(", exit {c}"),
                Some(crate::model::ExitStatus::Signal(sig)) => {
                    format!(", {}", crate::process::signal_name(sig))
                }
                None => String::new(),
            };
            let dur = match (t.started_at, t.ended_at) {
                (Some(a), Some(b)) => format!(", {}", compact_duration(a.seconds_until(&b))),
                _ => String::new(),
            };
            let tokens = t
                .usage
                .as_ref()
                .map(|u| format!(", {} tokens", thousands(u.total_tokens)))
                .unwrap_or_default();
            let skipped = match t.skipped_lines {
                0 => String::new(),
                1 => ", 1 unreadable line skipped".to_string(),
                n => format!(", {n} unreadable lines skipped"),
            };
            out.push(format!(
                "  {:>3}  {ending}{exit}{dur}{tokens}{skipped}",
                t.turn
            ));
            if let Some(e) = &t.error {
                out.push(format!("       {}", style.red(&one_line(e, 300))));
            }
        }
    }
    if !s.messages.is_empty() {
        out.push(String::new());
        out.push(style.bold("messages"));
        for m in &s.messages {
            let who = match m.role.as_str() {
                "user" => style.magenta("user"),
                "assistant" => style.green("agent"),
                other => style.dim(&visible(other)),
            };
            out.push(format!("  {who}: {}", one_line(&m.content, 300)));
        }
    }
    out
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

    #[test]
    fn list_columns_count_the_characters_as_shown() {
        let session = |id: &str, model: &str, task: &str| -> Session {
            serde_json::from_value(serde_json::json!({
                "id": id, "task": task, "status": "completed", "working_dir": "/w",
                "created_at": "2025-01-01T00:00:00", "updated_at": "2025-01-01T00:00:00",
                "model": model,
            }))
            .unwrap()
        };
        let sessions = [
            session("aaaaaaaa-1", "o3", "plain task"),
            session("bbbbbbbb-2", "gpt\u{202e}5", &"\u{200b}x".repeat(40)),
        ];
        let mut out = String::new();
        list(
            &Style { color: false },
            &sessions,
            &[None, None],
            100,
            &mut out,
        );
        let lines: Vec<&str> = out.lines().collect();
        // Every row's task starts under TASK, and the long one is cut at
        // the width.
        let task_at = lines[1].chars().count() - "TASK".len();
        let task = |row: &str| row.chars().skip(task_at).collect::<String>();
        assert_eq!(task(lines[2]), "plain task", "{out}");
        assert!(lines[3].contains("gpt<U+202E>5  "), "{out}");
        let cut = task(lines[3]);
        assert!(
            cut.starts_with("<U+200B>x<U+200B>x") && cut.ends_with('…'),
            "{out}"
        );
        assert_eq!(lines[3].chars().count(), 100, "{out}");
    }
}
