//! Text for people: the session table, one session in full, trajectory steps.

use super::Style;
use crate::agent::AgentKind;
use crate::session::model::{Session, SessionStatus};
use crate::session::stall::Stall;
use crate::timefmt::compact_duration;

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
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Runtime of a running session, else how long ago it ended or was created.
pub fn age(s: &Session) -> String {
    if s.status.is_active() {
        let since = s
            .current_turn()
            .and_then(|t| t.started_at)
            .unwrap_or(s.created_at);
        return format!("{} running", compact_duration(since.age_seconds()));
    }
    let at = s.ended_at().unwrap_or(s.updated_at);
    format!("{} ago", compact_duration(at.age_seconds()))
}

pub fn one_line(s: &str, max: usize) -> String {
    let mut out = String::new();
    one_line_into(&mut out, s, max);
    out
}

/// Appends `s` with its whitespace runs made single spaces, cut to `max`
/// chars with `…` as [`truncate`] cuts.
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
            push(out, c, &mut n);
        }
    }
    if n > max {
        out.truncate(cut);
        out.push('…');
    }
}

pub fn truncate(s: &str, max: usize) -> String {
    // No more bytes than `max` is no more chars either: no need to count.
    if s.len() <= max {
        return s.to_string();
    }
    // Past `max` ASCII bytes there is a char beyond the limit: no need to
    // count either.
    let keep = if s.as_bytes()[..=max].is_ascii() {
        max.saturating_sub(1)
    } else if s.char_indices().nth(max).is_none() {
        return s.to_string();
    } else {
        s.char_indices()
            .nth(max.saturating_sub(1))
            .map_or(0, |(i, _)| i)
    };
    let mut out = String::with_capacity(keep + 3);
    out.push_str(&s[..keep]);
    out.push('…');
    out
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
pub fn list(
    style: &Style,
    sessions: &[Session],
    stalls: &[Option<Stall>],
    width: usize,
) -> Vec<String> {
    let count = |st: SessionStatus| sessions.iter().filter(|s| s.status == st).count();
    let stalled = |i: usize| stalls.get(i).is_some_and(Option::is_some);
    let n_stalled = (0..sessions.len()).filter(|&i| stalled(i)).count();
    let mut lines = vec![format!(
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
    )];
    if sessions.is_empty() {
        return lines;
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
    let rows: Vec<Vec<String>> = sessions
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let mut r = vec![
                s.short_id().to_string(),
                if stalled(i) {
                    "◌ stalled".to_string()
                } else {
                    format!("{} {}", status_symbol(s.status), s.status.as_str())
                },
                agent_name(s).to_string(),
                if s.model.is_empty() {
                    "-".into()
                } else {
                    s.model.clone()
                },
                s.turn.to_string(),
                age(s),
                if s.token_usage.total_tokens == 0 {
                    "-".into()
                } else {
                    thousands(s.token_usage.total_tokens)
                },
            ];
            if with_cost {
                r.push(
                    s.cost_usd
                        .map(|c| format!("${c:.2}"))
                        .unwrap_or_else(|| "-".into()),
                );
            }
            r
        })
        .collect();
    let mut widths: Vec<usize> = cols.iter().map(|(h, _)| h.len()).collect();
    for r in &rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let fixed: usize = widths.iter().sum::<usize>() + 2 * widths.len();
    let task_width = width.saturating_sub(fixed).max(16);
    let fit = |s: &str, w: usize, right: bool| {
        let mut out = String::with_capacity(w);
        pad_into(&mut out, s, w, right);
        out
    };
    let mut header = String::new();
    for ((h, right), w) in cols.iter().zip(&widths) {
        header.push_str(&fit(h, *w, *right));
        header.push_str("  ");
    }
    header.push_str("TASK");
    lines.push(style.bold(&header));
    for (n, (s, r)) in sessions.iter().zip(&rows).enumerate() {
        let mut line = String::with_capacity(width + 32);
        for (i, ((c, w), (_, right))) in r.iter().zip(&widths).zip(&cols).enumerate() {
            // Plain cells go straight into the line: a table of thousands
            // of rows is mostly that.
            if i >= 2 || !style.color {
                pad_into(&mut line, c, *w, *right);
            } else {
                let cell = fit(c, *w, *right);
                line.push_str(&match i {
                    0 => style.cyan(&cell),
                    1 if stalled(n) => style.yellow(&cell),
                    _ => paint_status(style, s.status, &cell),
                });
            }
            line.push_str("  ");
        }
        line.push_str(&one_line(&s.task, task_width));
        lines.push(line);
    }
    lines
}

/// `s` padded with spaces to `w` chars, on the left if `right`.
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
    match status {
        SessionStatus::Running | SessionStatus::Pending => style.blue(text),
        SessionStatus::Completed => style.green(text),
        SessionStatus::Failed => style.red(text),
        SessionStatus::Killed => style.yellow(text),
        SessionStatus::Unknown => style.dim(text),
    }
}

pub fn show(style: &Style, s: &Session, stall: Option<&Stall>) -> Vec<String> {
    let mut out = Vec::new();
    let kv = |k: &str, v: String| format!("{} {v}", style.bold(&format!("{k:<10}")));
    out.push(kv("session", style.cyan(&s.id)));
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
            agent_name(s),
            if s.model.is_empty() {
                String::new()
            } else {
                format!(" ({})", s.model)
            }
        ),
    ));
    out.push(kv("task", one_line(&s.task, 200)));
    out.push(kv("dir", s.working_dir.clone()));
    out.push(kv("created", s.created_at.to_string()));
    out.push(kv("age", age(s)));
    if let Some(id) = &s.agent_session_id {
        out.push(kv("thread", id.clone()));
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
        out.push(kv("error", style.red(e)));
    }
    if !s.turns.is_empty() {
        out.push(String::new());
        out.push(style.bold("turns"));
        for t in &s.turns {
            let ending = t.ending.map(|e| e.as_str()).unwrap_or("running");
            let exit = match t.exit {
                Some(crate::session::model::ExitStatus::Code(c)) => format!(", exit {c}"),
                Some(crate::session::model::ExitStatus::Signal(sig)) => {
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
            out.push(format!("  {:>3}  {ending}{exit}{dur}{tokens}", t.turn));
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
                other => style.dim(other),
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
}
