//! `list`: the session table.

use super::{
    age_into, agent_name, limited_until, one_line_into, status_colour, status_symbol,
    thousands_into,
};
use crate::model::{Session, SessionStatus};
use crate::render::controls::{push_visible, visible};
use crate::render::style::{BOLD, CYAN, YELLOW};
use crate::render::Style;
use crate::session::manager::QueuePlace;
use crate::session::stall::Stall;
use std::fmt::Write as _;

/// some agent reported one. `stalls` goes with `sessions`, index by index.
/// The session table, appended to `out` a line at a time. `list` prints
/// thousands of rows: their cells are written into one buffer, measured,
/// then padded into `out`, with no string of their own.
pub(crate) fn list(
    style: &Style,
    sessions: &[Session],
    stalls: &[Option<Stall>],
    places: &[Option<QueuePlace>],
    width: usize,
    out: &mut String,
) {
    let count = |st: SessionStatus| sessions.iter().filter(|s| s.status == st).count();
    let stalled = |i: usize| stalls.get(i).is_some_and(Option::is_some);
    let n_stalled = (0..sessions.len()).filter(|&i| stalled(i)).count();
    let place = |i: usize| places.get(i).and_then(Option::as_ref);
    let n_queued = (0..sessions.len()).filter(|&i| place(i).is_some()).count();
    let _ = writeln!(
        out,
        "{} session{}: {} running{}{}, {} completed, {} failed, {} killed",
        sessions.len(),
        if sessions.len() == 1 { "" } else { "s" },
        count(SessionStatus::Running) + count(SessionStatus::Pending) - n_queued,
        if n_stalled > 0 {
            format!(" ({n_stalled} stalled)")
        } else {
            String::new()
        },
        if n_queued > 0 {
            format!(", {n_queued} queued")
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
        } else if let Some(q) = place(i) {
            cells.push_str(status_symbol(s.status));
            cells.push(' ');
            cells.push_str(s.status.as_str());
            super::queue::short_into(&mut cells, q);
        } else {
            cells.push_str(status_symbol(s.status));
            cells.push(' ');
            // Failed, and when it may go on: what to know of it at a glance.
            match limited_until(s) {
                Some(limited) => cells.push_str(&limited),
                None => cells.push_str(s.status.as_str()),
            }
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
        // A worktree session: its own branch, shown before its task.
        let task_width = match &s.worktree {
            Some(w) => {
                let mark = format!("⎇ {} ", visible(&w.branch));
                out.push_str(&mark);
                task_width.saturating_sub(mark.chars().count()).max(8)
            }
            None => task_width,
        };
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

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn a_session_at_its_accounts_limit_says_until_when() {
        let today = crate::timefmt::Timestamp::now().0.date();
        let session = |resets_at: &str| -> Session {
            serde_json::from_value(serde_json::json!({
                "id": "aaaaaaaa-1", "task": "t", "status": "failed", "working_dir": "/w",
                "created_at": "2025-01-01T00:00:00", "updated_at": "2025-01-01T00:00:00",
                "turns": [{"turn": 1, "ending": "rate_limited", "resets_at": resets_at}],
            }))
            .unwrap()
        };
        let sessions = [
            session(&format!("{today}T17:00:00")),
            session("2030-01-02T09:05:00"),
        ];
        let mut out = String::new();
        list(
            &Style { color: false },
            &sessions,
            &[None, None],
            &[None, None],
            120,
            &mut out,
        );
        assert!(out.contains("2 failed"), "{out}");
        let lines: Vec<&str> = out.lines().collect();
        assert!(lines[2].contains("✗ limited until 17:00  "), "{out}");
        assert!(
            lines[3].contains("✗ limited until 2030-01-02 09:05  "),
            "{out}"
        );
    }
}
