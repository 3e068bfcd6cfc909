//! Text for people: the session table, one session in full, trajectory steps.

use super::Style;
use crate::agent::AgentKind;
use crate::session::model::{Session, SessionStatus};
use crate::session::stall::Stall;
use crate::timefmt::compact_duration;
use crate::trajectory::{ItemStatus, Step, StepKind};

/// Short preview lengths when `--full` is not given.
const TEXT_PREVIEW: usize = 400;
const OUTPUT_LINES: usize = 8;

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
    // Flattened only to one char past `max`, all that `truncate` looks at:
    // `list` does this for every task, `trajectory` for every command.
    let mut flat = String::new();
    let mut n = 0usize;
    'words: for word in s.split_whitespace() {
        if n > 0 {
            if n > max {
                break;
            }
            flat.push(' ');
            n += 1;
        }
        for c in word.chars() {
            if n > max {
                break 'words;
            }
            flat.push(c);
            n += 1;
        }
    }
    truncate(&flat, max)
}

pub fn truncate(s: &str, max: usize) -> String {
    // No more bytes than `max` is no more chars either: no need to count.
    if s.len() <= max || s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
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

pub fn turn_header(style: &Style, turn: u32) -> String {
    style.bold(&format!("── turn {turn} ──"))
}

fn status_mark(style: &Style, st: ItemStatus) -> String {
    match st {
        ItemStatus::Completed => String::new(),
        ItemStatus::InProgress => style.yellow(" (did not finish)"),
        ItemStatus::Failed => style.red(" (failed)"),
        ItemStatus::Declined => style.yellow(" (declined)"),
    }
}

fn text_block(text: &str, full: bool) -> String {
    if full {
        text.to_string()
    } else {
        truncate(text.trim(), TEXT_PREVIEW)
    }
}

fn indent(text: &str, full: bool) -> Vec<String> {
    let limit = if full { usize::MAX } else { OUTPUT_LINES };
    let mut out = Vec::new();
    let mut rest = text.trim_end();
    while !rest.is_empty() && out.len() < limit {
        let (line, after) = rest.split_once('\n').unwrap_or((rest, ""));
        let line = line.strip_suffix('\r').unwrap_or(line);
        let mut shown = String::with_capacity(4 + line.len().min(800));
        shown.push_str("    ");
        if full || line.len() <= 200 {
            shown.push_str(line);
        } else {
            shown.push_str(&truncate(line, 200));
        }
        out.push(shown);
        rest = after;
    }
    if !rest.is_empty() {
        // Counted, not split: a command's output can run to megabytes.
        let more = count_newlines(rest.as_bytes()) + 1;
        out.push(format!("    … {more} more lines"));
    }
    out
}

/// Newlines in `b`, counted in blocks of 255 bytes into a byte-wide sum,
/// which the compiler turns into compares of many bytes at once.
fn count_newlines(b: &[u8]) -> usize {
    b.chunks(255)
        .map(|c| usize::from(c.iter().fold(0u8, |n, &x| n + u8::from(x == b'\n'))))
        .sum()
}

pub fn step(style: &Style, step: &Step, full: bool) -> Vec<String> {
    match &step.kind {
        StepKind::Message { text } => vec![format!(
            "{} {}",
            style.green("agent:"),
            text_block(text, full)
        )],
        StepKind::Reasoning { text } => {
            vec![style.dim(&format!("thinking: {}", text_block(text, full)))]
        }
        StepKind::Command {
            command,
            output,
            exit_code,
            status,
        } => {
            let code = match exit_code {
                Some(0) => style.dim("(exit 0)"),
                Some(c) => style.red(&format!("(exit {c})")),
                None => String::new(),
            };
            let mut v = vec![format!(
                "{} {} {code}{}",
                style.cyan("$"),
                one_line(command, if full { usize::MAX } else { 200 }),
                status_mark(style, *status)
            )];
            let lines = indent(output, full).into_iter();
            if style.color {
                v.extend(lines.map(|l| style.dim(&l)));
            } else {
                v.extend(lines);
            }
            v
        }
        StepKind::FileChange { changes, status } => {
            let list: Vec<String> = changes
                .iter()
                .map(|c| format!("{} {}", c.kind, c.path))
                .collect();
            vec![format!(
                "{} {}{}",
                style.yellow("edit:"),
                list.join(", "),
                status_mark(style, *status)
            )]
        }
        StepKind::ToolCall {
            server,
            tool,
            arguments,
            result,
            error,
            status,
            parent,
        } => {
            let name = match server {
                Some(s) => format!("{s}.{tool}"),
                None => tool.clone(),
            };
            let args = if arguments.is_null() {
                String::new()
            } else {
                one_line(&arguments.to_string(), if full { usize::MAX } else { 120 })
            };
            let prefix = if parent.is_some() { "  ↳ " } else { "" };
            let mut v = vec![format!(
                "{prefix}{} {name} {args}{}",
                style.blue("tool:"),
                status_mark(style, *status)
            )];
            if let Some(e) = error {
                v.push(format!("    {}", style.red(&one_line(e, 300))));
            } else if let Some(r) = result {
                v.extend(indent(r, full).into_iter().map(|l| style.dim(&l)));
            }
            v
        }
        StepKind::WebSearch { query, status } => vec![format!(
            "{} {query}{}",
            style.blue("search:"),
            status_mark(style, *status)
        )],
        StepKind::Plan { items } => {
            let mut v = vec![style.bold("plan:")];
            for i in items {
                let mark = match i.status.as_str() {
                    "completed" => "[x]",
                    "in_progress" => "[~]",
                    _ => "[ ]",
                };
                v.push(format!("  {mark} {}", i.text));
            }
            v
        }
        StepKind::Warning { message } => {
            vec![style.yellow(&format!("warning: {}", one_line(message, 300)))]
        }
        StepKind::Error { message } => vec![style.red(&format!(
            "error: {}",
            one_line(message, if full { usize::MAX } else { 300 })
        ))],
        StepKind::Other { kind, .. } => vec![style.dim(&format!("({kind})"))],
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
    fn indent_shows_the_first_lines_and_counts_the_rest() {
        let text = "a\r\n\nb\n".to_string() + &"x\n".repeat(20) + "y\r\n \n";
        let all: Vec<String> = text
            .trim_end()
            .lines()
            .map(|l| format!("    {l}"))
            .collect();
        assert_eq!(indent(&text, true), all);
        let mut short = all[..OUTPUT_LINES].to_vec();
        short.push(format!("    … {} more lines", all.len() - OUTPUT_LINES));
        assert_eq!(indent(&text, false), short);
        assert_eq!(indent("one", false), ["    one"]);
        assert!(indent(" \n ", false).is_empty());
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
