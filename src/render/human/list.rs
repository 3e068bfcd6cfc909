//! `list`: the session table.

use super::{
    age_into, agent_name, flatten_into, limited_until, status_colour, status_symbol, thousands_into,
};
use crate::model::{Session, SessionStatus};
use crate::render::controls::push_visible;
use crate::render::style::{BOLD, CYAN, YELLOW};
use crate::render::Style;
use crate::session::manager::QueuePlace;
use crate::session::stall::Stall;
use crate::turn::lazy_text::cut_point;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed};

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

/// What the table shows of a row, made as the session is read: its cells,
/// the worktree's mark, and its task flattened only as far as the task
/// column can be wide. The widths come from every row, so a row is printed
/// only after all are read; `list` of 100,000 sessions holds this much of
/// each (about a hundred bytes), not the session, and prints from it
/// without reading the session again.
#[derive(Clone, Debug)]
pub(crate) struct RowCells {
    /// The cells, the mark and the task, each ended by [`SEP`].
    text: Box<str>,
    /// Each cell's width in chars, [`WIDE`] for one as wide or wider.
    widths: [u8; COLS.len()],
    stalled: bool,
    queued: bool,
    cost: bool,
}

/// Ends each part of [`RowCells::text`]: a control character, which every
/// part shows visibly (`^_`) rather than holds.
const SEP: char = '\x1f';

/// A cell this wide or wider has its chars counted when the table needs
/// them; the others' widths are counted once, on the scan's threads.
const WIDE: u8 = u8::MAX;

impl RowCells {
    /// The cells, then the mark, then the task.
    fn parts(&self) -> impl Iterator<Item = &str> {
        // Split on the byte: a `char` pattern's searcher costs more to set
        // up than these few bytes take to scan, twice per row.
        let mut rest = &*self.text;
        std::iter::from_fn(move || {
            let end = rest.bytes().position(|b| b == SEP as u8)?;
            let part = &rest[..end];
            rest = &rest[end + 1..];
            Some(part)
        })
    }

    /// The width of the cell `i`, which is `cell`.
    fn width(&self, i: usize, cell: &str) -> usize {
        match self.widths[i] {
            WIDE => cell.chars().count(),
            w => usize::from(w),
        }
    }
}

/// Makes the rows of one table, `width` wide, of the sessions of `status`
/// if given (the others may be measured, and are left out later). How
/// wide the columns are only grows as rows are made: the task column is
/// at most what `width` leaves beside the widest cells so far, so a row
/// keeps that much of its task and no more. Only finished sessions of the
/// table's status count towards it, which the table surely shows as
/// measured; the others (settled again, left out, or failing to load)
/// count for nothing.
pub(crate) struct Measure {
    width: usize,
    status: Option<SessionStatus>,
    /// The widest cell of each column so far, at least its header.
    widths: [AtomicUsize; COLS.len()],
    cost: AtomicBool,
}

impl Measure {
    pub(crate) fn new(width: usize, status: Option<SessionStatus>) -> Measure {
        Measure {
            width,
            status,
            widths: COLS.map(|(h, _)| AtomicUsize::new(h.len())),
            cost: AtomicBool::new(false),
        }
    }

    /// The cells of a session's row, with its stall and queue place.
    pub(crate) fn row(
        &self,
        s: &Session,
        stall: Option<&Stall>,
        place: Option<&QueuePlace>,
    ) -> RowCells {
        let mut text = String::with_capacity(128);
        cells_into(&mut text, s, stall.is_some(), place);
        let mut widths = [0; COLS.len()];
        for (w, cell) in widths.iter_mut().zip(text.split_terminator(SEP)) {
            *w = u8::try_from(cell.chars().count()).unwrap_or(WIDE);
        }
        // Read by any thread in any order: a width read before another
        // thread's larger one lands only makes the bound looser.
        let counts = !s.status.is_active() && self.status.is_none_or(|st| st == s.status);
        if counts {
            for ((w, n), cell) in self.widths.iter().zip(widths).zip(text.split(SEP)) {
                let n = match n {
                    WIDE => cell.chars().count(),
                    n => usize::from(n),
                };
                if n > w.load(Relaxed) {
                    w.fetch_max(n, Relaxed);
                }
            }
            if s.cost_usd.is_some() {
                self.cost.store(true, Relaxed);
            }
        }
        // A worktree session: its own branch, shown before its task.
        if let Some(w) = &s.worktree {
            text.push_str("⎇ ");
            push_visible(&mut text, &w.branch);
            text.push(' ');
        }
        text.push(SEP);
        // One char more than `one_line_into` looks at for the widest task:
        // for every width up to the bound, `one_line_into` of the task is
        // this cut by chars as `cut_point` cuts (no run of spaces to
        // squeeze, and a space at the end only past the bound's char).
        flatten_into(&mut text, &s.task, self.task_bound() + 1);
        text.push(SEP);
        RowCells {
            text: text.into_boxed_str(),
            widths,
            stalled: stall.is_some(),
            queued: place.is_some(),
            cost: s.cost_usd.is_some(),
        }
    }

    /// The widest the task column can be: [`head`]'s width of it with the
    /// widths so far, each no wider than the table's.
    fn task_bound(&self) -> usize {
        let ncols = if self.cost.load(Relaxed) {
            COLS.len()
        } else {
            COLS.len() - 1
        };
        let fixed: usize = self.widths[..ncols]
            .iter()
            .map(|w| w.load(Relaxed) + 2)
            .sum();
        self.width.saturating_sub(fixed).max(16)
    }
}

/// A row's cells, each ended by [`SEP`].
fn cells_into(cells: &mut String, s: &Session, stalled: bool, place: Option<&QueuePlace>) {
    let end = |cells: &mut String| cells.push(SEP);
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
    match s.cost_usd {
        Some(c) => {
            let _ = write!(cells, "${c:.2}");
        }
        None => cells.push('-'),
    }
    end(cells);
}

/// The session table's layout, from every row's size.
pub(crate) struct Table {
    widths: [usize; COLS.len()],
    ncols: usize,
    task_width: usize,
}

/// The table's first line, counting the rows (each with its status), into
/// `out`; then its header, and the layout its rows are printed in, unless
/// there is no row.
pub(crate) fn head<'a>(
    style: &Style,
    rows: impl Iterator<Item = (SessionStatus, &'a RowCells)> + Clone,
    width: usize,
    out: &mut String,
) -> Option<Table> {
    let (mut n, mut statuses) = (0, [0usize; 6]);
    let (mut n_stalled, mut n_queued, mut with_cost) = (0, 0, false);
    let mut widths = COLS.map(|(h, _)| h.len());
    for (status, row) in rows {
        n += 1;
        statuses[status_slot(status)] += 1;
        n_stalled += usize::from(row.stalled);
        n_queued += usize::from(row.queued);
        with_cost |= row.cost;
        for (i, w) in widths.iter_mut().enumerate() {
            let n = match row.widths[i] {
                WIDE => row.parts().nth(i).map_or(0, |cell| cell.chars().count()),
                n => usize::from(n),
            };
            *w = (*w).max(n);
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
    /// A row, appended to `out`.
    pub(crate) fn row(
        &self,
        style: &Style,
        status: SessionStatus,
        row: &RowCells,
        out: &mut String,
    ) {
        let mut parts = row.parts();
        for (i, (w, (_, right))) in self.widths.iter().zip(&COLS).enumerate() {
            let cell = parts.next().unwrap_or_default();
            if i >= self.ncols {
                continue;
            }
            let colour = match i {
                0 => Some(CYAN),
                1 if row.stalled => Some(YELLOW),
                1 => Some(status_colour(status)),
                _ => None,
            };
            if let Some(code) = colour {
                style.start(out, code);
            }
            pad_known(out, cell, row.width(i, cell), *w, *right);
            if colour.is_some() {
                style.end(out);
            }
            out.push_str("  ");
        }
        let mark = parts.next().unwrap_or_default();
        out.push_str(mark);
        let task_width = if mark.is_empty() {
            self.task_width
        } else {
            self.task_width.saturating_sub(mark.chars().count()).max(8)
        };
        // Kept flattened: what `one_line_into` would cut of it is a cut by
        // chars (see `Measure::row`).
        let task = parts.next().unwrap_or_default();
        match cut_point(task, task_width) {
            Some(keep) => {
                out.push_str(&task[..keep]);
                out.push('…');
            }
            None => out.push_str(task),
        }
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
    let measure = Measure::new(width, None);
    let cells: Vec<RowCells> = sessions
        .iter()
        .enumerate()
        .map(|(i, s)| measure.row(s, at(i).0, at(i).1))
        .collect();
    let rows = sessions.iter().map(|s| s.status).zip(&cells);
    if let Some(table) = head(style, rows.clone(), width, out) {
        for (status, row) in rows {
            table.row(style, status, row, out);
        }
    }
}

fn pad_into(line: &mut String, s: &str, w: usize, right: bool) {
    pad_known(line, s, s.chars().count(), w, right);
}

/// [`pad_into`] of `s`, `chars` wide.
fn pad_known(line: &mut String, s: &str, chars: usize, w: usize, right: bool) {
    let gap = w.saturating_sub(chars);
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
    use super::super::one_line_into;
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

    /// A task kept as far as the bound reads, at every width up to it, as
    /// the whole task does.
    #[test]
    fn a_task_kept_to_its_bound_is_cut_as_the_whole_one() {
        let tasks = [
            String::new(),
            "short".into(),
            "exactly  sixteen!".into(),
            "word ".repeat(30),
            "a  b\n\nc\td \u{2028} e".repeat(8),
            "\u{1b}[31mred\u{7}\u{202e}x y\u{200b}z ".repeat(6),
            "é漢字 ".repeat(20),
            format!("{} tail", "x".repeat(39)),
        ];
        for task in &tasks {
            for bound in 0..48 {
                let mut kept = String::new();
                flatten_into(&mut kept, task, bound + 1);
                for width in 0..=bound {
                    let (mut whole, mut cut) = (String::new(), String::new());
                    one_line_into(&mut whole, task, width);
                    match cut_point(&kept, width) {
                        Some(keep) => cut = format!("{}…", &kept[..keep]),
                        None => cut.push_str(&kept),
                    }
                    assert_eq!(cut, whole, "{task:?} bound {bound} width {width}");
                }
            }
        }
    }

    /// Rows measured for `list --status completed` among sessions of other
    /// statuses with wider cells: the table of the completed ones is the
    /// one made of them alone.
    #[test]
    fn rows_left_out_do_not_narrow_the_task() {
        let session = |id: &str, status: &str, model: &str| -> Session {
            serde_json::from_value(serde_json::json!({
                "id": id, "task": "a task of many words ".repeat(8), "status": status,
                "working_dir": "/w", "created_at": "2025-01-01T00:00:00",
                "updated_at": "2025-01-01T00:00:00", "model": model,
                "cost_usd": if status == "failed" { Some(1.5) } else { None },
            }))
            .unwrap()
        };
        let all = [
            session("aaaaaaaa-1", "failed", &"m".repeat(50)),
            session("bbbbbbbb-2", "completed", "o3"),
            session("cccccccc-3", "running", &"r".repeat(40)),
            session("dddddddd-4", "completed", "o4"),
        ];
        let style = Style { color: false };
        let measure = Measure::new(100, Some(SessionStatus::Completed));
        let rows: Vec<(SessionStatus, RowCells)> = all
            .iter()
            .map(|s| (s.status, measure.row(s, None, None)))
            .filter(|(st, _)| *st == SessionStatus::Completed)
            .collect();
        let mut out = String::new();
        let cells = rows.iter().map(|(st, r)| (*st, r));
        let table = head(&style, cells.clone(), 100, &mut out).unwrap();
        for (st, row) in cells {
            table.row(&style, st, row, &mut out);
        }
        let alone: Vec<Session> = all
            .iter()
            .filter(|s| s.status == SessionStatus::Completed)
            .cloned()
            .collect();
        let mut expected = String::new();
        list(&style, &alone, &[], &[], 100, &mut expected);
        assert_eq!(out, expected);
        assert_eq!(out.lines().nth(2).unwrap().chars().count(), 100, "{out}");
    }

    /// A cell wider than a row counts in its byte is counted in full.
    #[test]
    fn a_cell_of_hundreds_of_chars_is_as_wide_as_it_is() {
        let session = |id: &str, model: &str| -> Session {
            serde_json::from_value(serde_json::json!({
                "id": id, "task": "t", "status": "completed", "working_dir": "/w",
                "created_at": "2025-01-01T00:00:00", "updated_at": "2025-01-01T00:00:00",
                "model": model,
            }))
            .unwrap()
        };
        let wide = "é".repeat(300);
        let sessions = [session("aaaaaaaa-1", &wide), session("bbbbbbbb-2", "o3")];
        let mut out = String::new();
        list(&Style { color: false }, &sessions, &[], &[], 100, &mut out);
        let lines: Vec<&str> = out.lines().collect();
        assert!(lines[2].contains(&format!("{wide}  ")), "{out}");
        let padded = format!("o3{}  ", " ".repeat(298));
        assert!(lines[3].contains(&padded), "{out}");
        assert_eq!(lines[2].chars().count(), lines[3].chars().count(), "{out}");
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
