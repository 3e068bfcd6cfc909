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

/// Every column but the task: (header, right-aligned). COST is shown only
/// when some session has a cost.
const COLS: [(&str, bool); 8] = [
    ("ID", false),
    ("STATUS", false),
    ("AGENT", false),
    ("MODEL", false),
    ("TURNS", true),
    ("AGE", true),
    ("TOKENS", true),
    ("COST", true),
];

/// What the table needs of a row before the first row is printed: the
/// widths of its cells and what the first line counts. `list` of 100,000
/// sessions holds this much of each, not the session.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RowSize {
    widths: [u32; COLS.len()],
    stalled: bool,
    queued: bool,
    cost: bool,
}

/// The size of a session's row, with its stall and queue place.
pub(crate) fn measure(s: &Session, stall: Option<&Stall>, place: Option<&QueuePlace>) -> RowSize {
    let mut cells = String::with_capacity(96);
    let mut ends = [0; COLS.len()];
    cells_into(&mut cells, &mut ends, s, stall.is_some(), place, true);
    let mut widths = [0; COLS.len()];
    let mut start = 0;
    for (w, end) in widths.iter_mut().zip(ends) {
        *w = cells[start..end].chars().count() as u32;
        start = end;
    }
    RowSize {
        widths,
        stalled: stall.is_some(),
        queued: place.is_some(),
        cost: s.cost_usd.is_some(),
    }
}

/// A row's cells, one after another; `ends` has where each ends (the cost
/// only `with_cost`).
fn cells_into(
    cells: &mut String,
    ends: &mut [usize; COLS.len()],
    s: &Session,
    stalled: bool,
    place: Option<&QueuePlace>,
    with_cost: bool,
) {
    let mut col = 0;
    let mut end = |cells: &String| {
        ends[col] = cells.len();
        col += 1;
    };
    push_visible(cells, s.short_id());
    end(cells);
    if stalled {
        cells.push_str("◌ stalled");
    } else if let Some(q) = place {
        cells.push_str(status_symbol(s.status));
        cells.push(' ');
        cells.push_str(s.status.as_str());
        super::queue::short_into(cells, q);
    } else {
        cells.push_str(status_symbol(s.status));
        cells.push(' ');
        // Failed, and when it may go on: what to know of it at a glance.
        match limited_until(s) {
            Some(limited) => cells.push_str(&limited),
            None => cells.push_str(s.status.as_str()),
        }
    }
    end(cells);
    push_visible(cells, agent_name(s));
    end(cells);
    push_visible(cells, if s.model.is_empty() { "-" } else { &s.model });
    end(cells);
    let _ = write!(cells, "{}", s.turn);
    end(cells);
    age_into(cells, s);
    end(cells);
    match s.token_usage.total_tokens {
        0 => cells.push('-'),
        n => thousands_into(cells, n),
    }
    end(cells);
    if with_cost {
        match s.cost_usd {
            Some(c) => {
                let _ = write!(cells, "${c:.2}");
            }
            None => cells.push('-'),
        }
    }
    end(cells);
}

/// The session table's layout, from every row's size.
pub(crate) struct Table {
    widths: [usize; COLS.len()],
    ncols: usize,
    task_width: usize,
    cells: String,
}

/// The table's first line, counting the rows (each with its status), into
/// `out`; then its header, and the layout its rows are printed in, unless
/// there is no row.
pub(crate) fn head<'a>(
    style: &Style,
    rows: impl Iterator<Item = (SessionStatus, &'a RowSize)> + Clone,
    width: usize,
    out: &mut String,
) -> Option<Table> {
    let (mut n, mut statuses) = (0, [0usize; 6]);
    let (mut n_stalled, mut n_queued, mut with_cost) = (0, 0, false);
    let mut widths = COLS.map(|(h, _)| h.len());
    for (status, size) in rows {
        n += 1;
        statuses[status_slot(status)] += 1;
        n_stalled += usize::from(size.stalled);
        n_queued += usize::from(size.queued);
        with_cost |= size.cost;
        for (w, cell) in widths.iter_mut().zip(size.widths) {
            *w = (*w).max(cell as usize);
        }
    }
    let count = |st: SessionStatus| statuses[status_slot(st)];
    let _ = writeln!(
        out,
        "{} session{}: {} running{}{}, {} completed, {} failed, {} killed",
        n,
        if n == 1 { "" } else { "s" },
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
    if n == 0 {
        return None;
    }
    let ncols = if with_cost {
        COLS.len()
    } else {
        COLS.len() - 1
    };
    let fixed: usize = widths[..ncols].iter().sum::<usize>() + 2 * ncols;
    let task_width = width.saturating_sub(fixed).max(16);
    let mut header = String::new();
    for ((h, right), w) in COLS.iter().zip(&widths).take(ncols) {
        pad_into(&mut header, h, *w, *right);
        header.push_str("  ");
    }
    header.push_str("TASK");
    style.paint_into(out, BOLD, &header);
    out.push('\n');
    Some(Table {
        widths,
        ncols,
        task_width,
        cells: String::with_capacity(128),
    })
}

fn status_slot(st: SessionStatus) -> usize {
    match st {
        SessionStatus::Pending => 0,
        SessionStatus::Running => 1,
        SessionStatus::Completed => 2,
        SessionStatus::Failed => 3,
        SessionStatus::Killed => 4,
        SessionStatus::Unknown => 5,
    }
}

impl Table {
    /// A session's row, appended to `out`.
    pub(crate) fn row(
        &mut self,
        style: &Style,
        s: &Session,
        stall: Option<&Stall>,
        place: Option<&QueuePlace>,
        out: &mut String,
    ) {
        let mut ends = [0; COLS.len()];
        self.cells.clear();
        let with_cost = self.ncols == COLS.len();
        cells_into(
            &mut self.cells,
            &mut ends,
            s,
            stall.is_some(),
            place,
            with_cost,
        );
        let mut start = 0;
        for (i, ((end, w), (_, right))) in ends.iter().zip(&self.widths).zip(&COLS).enumerate() {
            if i == self.ncols {
                break;
            }
            let cell = &self.cells[start..*end];
            start = *end;
            let colour = match i {
                0 => Some(CYAN),
                1 if stall.is_some() => Some(YELLOW),
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
                self.task_width.saturating_sub(mark.chars().count()).max(8)
            }
            None => self.task_width,
        };
        one_line_into(out, &s.task, task_width);
        out.push('\n');
    }
}

/// The session table of `sessions`, appended to `out`. `stalls` and
/// `places` go with `sessions`, index by index: for tables held whole (a
/// remote's sessions beside this store's); `zwarm list` streams its rows.
pub(crate) fn list(
    style: &Style,
    sessions: &[Session],
    stalls: &[Option<Stall>],
    places: &[Option<QueuePlace>],
    width: usize,
    out: &mut String,
) {
    let at = |i: usize| {
        let stall = stalls.get(i).and_then(Option::as_ref);
        let place = places.get(i).and_then(Option::as_ref);
        (stall, place)
    };
    let sizes: Vec<RowSize> = sessions
        .iter()
        .enumerate()
        .map(|(i, s)| measure(s, at(i).0, at(i).1))
        .collect();
    let rows = sessions.iter().map(|s| s.status).zip(&sizes);
    if let Some(mut table) = head(style, rows, width, out) {
        for (i, s) in sessions.iter().enumerate() {
            table.row(style, s, at(i).0, at(i).1, out);
        }
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
