//! One frame of the dashboard: the header with counts and cost, the session
//! table, the preview pane and the status line; the keys over it on `?`.
//! Only the rows on screen are built, so a frame costs the same with ten
//! sessions or ten thousand.

use super::app::{App, HostLine, HostState, Mode};
use super::preview::Preview;
use super::rows::{Counts, Rank, Row, StatusFilter};
use crate::model::SessionStatus;
use crate::render::human::{status_symbol, thousands};
use crate::timefmt::{compact_duration, Timestamp};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Cell, Clear, Paragraph, Row as TableRow, Table, Wrap};
use ratatui::Frame;

/// The keys, as `?` shows them (and the README lists them).
pub(crate) const KEYS: &[(&str, &str)] = &[
    ("↑ ↓  j k", "select a session"),
    ("PgUp PgDn g G", "move by a page, to the first, the last"),
    (
        "Enter  v",
        "preview: steps → final message → raw output → diff",
    ),
    ("d", "preview the diff"),
    ("i", "inject a message (Enter sends, Esc cancels)"),
    ("K", "kill the session (y confirms)"),
    ("/", "filter by text (Enter keeps, Esc clears)"),
    ("s", "cycle the status filter"),
    ("?", "these keys"),
    ("q  Esc", "quit"),
];

const HINTS: &str =
    "↑↓ select  v view  i inject  K kill  d diff  / filter  s status  ? keys  q quit";

/// Colours, or none (`NO_COLOR`, `--color never`): then only bold and
/// reverse video mark things.
#[derive(Clone, Copy)]
struct Paint {
    color: bool,
}

impl Paint {
    fn fg(self, c: Color) -> Style {
        if self.color {
            Style::new().fg(c)
        } else {
            Style::new()
        }
    }

    fn status(self, r: &Row) -> Style {
        let c = match r.status {
            _ if r.stalled => Color::Yellow,
            SessionStatus::Running | SessionStatus::Pending => Color::Blue,
            SessionStatus::Completed => Color::Green,
            SessionStatus::Failed => Color::Red,
            SessionStatus::Killed => Color::Yellow,
            SessionStatus::Unknown => Color::DarkGray,
        };
        self.fg(c)
    }
}

/// The most lines under the header that say which remotes are stale.
const HOST_LINES: usize = 3;

/// Draws the whole screen.
pub(crate) fn draw(frame: &mut Frame, app: &App, preview: &Preview, now: Timestamp, color: bool) {
    let paint = Paint { color };
    let area = frame.area();
    let mut head_lines = vec![header(app, area.width)];
    head_lines.extend(host_lines(&app.hosts, now, paint));
    let head_height = head_lines.len() as u16;
    let body = area.height.saturating_sub(1 + head_height);
    // The table takes two fifths, at least a few rows; the preview the rest.
    let table_height = (body * 2 / 5).max(4).min(body);
    let [head, table, pane, foot] = Layout::vertical([
        Constraint::Length(head_height),
        Constraint::Length(table_height),
        Constraint::Min(0),
        Constraint::Length(1),
    ])
    .areas(area);
    frame.render_widget(Paragraph::new(head_lines), head);
    draw_table(frame, app, table, now, paint);
    draw_preview(frame, app, preview, pane);
    frame.render_widget(Paragraph::new(footer(app, paint)), foot);
    if app.mode == Mode::Help {
        draw_help(frame, area);
    }
}

/// `12 sessions: 2 need attention · 3 running (1 stalled) · ... · $1.23`,
/// shorter when the line is narrow; then the filters in force.
fn header(app: &App, width: u16) -> Line<'static> {
    let c: &Counts = &app.counts;
    let stalled = if c.stalled > 0 {
        format!(" ({} stalled)", c.stalled)
    } else {
        String::new()
    };
    let long = format!(
        "{} session{}: {} need attention · {} running{stalled} · {} pending · {} completed · {} failed · {} killed · ${:.2}",
        c.total,
        if c.total == 1 { "" } else { "s" },
        c.attention,
        c.running,
        c.pending,
        c.completed,
        c.failed,
        c.killed,
        c.cost,
    );
    let short = format!(
        "{} sessions · {} attention · {} running{stalled} · {} pending · ✓{} ✗{} ■{} · ${:.2}",
        c.total, c.attention, c.running, c.pending, c.completed, c.failed, c.killed, c.cost,
    );
    let mut filters = String::new();
    if app.status_filter != StatusFilter::All {
        filters.push_str(&format!("  [status: {}]", app.status_filter.as_str()));
    }
    if !app.filter.is_empty() {
        filters.push_str(&format!(
            "  [/{}]",
            crate::render::controls::visible(&app.filter)
        ));
    }
    let fits = |s: &str| s.chars().count() + filters.chars().count() <= usize::from(width);
    let text = if fits(&long) { long } else { short };
    Line::from(vec![
        Span::styled(text, Style::new().add_modifier(Modifier::BOLD)),
        Span::raw(filters),
    ])
}

/// A line for each remote that is not fresh (at most [`HOST_LINES`]):
/// `b1: stale, last seen 12:03:07 (2m ago) — host b1 is unreachable: ...`.
fn host_lines(hosts: &[HostLine], now: Timestamp, paint: Paint) -> Vec<Line<'static>> {
    let unwell: Vec<&HostLine> = hosts
        .iter()
        .filter(|h| h.state != HostState::Fresh)
        .collect();
    let mut lines = Vec::new();
    for (i, h) in unwell.iter().enumerate() {
        let name = crate::render::controls::visible(&h.name);
        if i + 1 == HOST_LINES && unwell.len() > HOST_LINES {
            let rest: Vec<&str> = unwell[i..].iter().map(|h| h.name.as_str()).collect();
            lines.push(Line::styled(
                format!(
                    "{} more hosts stale or not heard of yet: {}",
                    rest.len(),
                    crate::render::controls::visible(&rest.join(", "))
                ),
                paint.fg(Color::Yellow),
            ));
            break;
        }
        let text = match &h.state {
            HostState::Fresh => continue,
            HostState::Asking => format!("{name}: asking…"),
            HostState::Stale { last_seen, why } => {
                let seen = match last_seen {
                    Some(t) => {
                        let clock = if t.0.date() == now.0.date() {
                            t.0.format("%H:%M:%S").to_string()
                        } else {
                            t.0.format("%Y-%m-%d %H:%M:%S").to_string()
                        };
                        let ago = compact_duration(t.seconds_until(&now).max(0.0));
                        format!("last seen {clock} ({ago} ago)")
                    }
                    None => "never seen".to_string(),
                };
                format!("{name}: stale, {seen} — {why}")
            }
        };
        lines.push(Line::styled(text, paint.fg(Color::Yellow)));
    }
    lines
}

fn draw_table(frame: &mut Frame, app: &App, area: Rect, now: Timestamp, paint: Paint) {
    let wide = area.width >= 100;
    let visible_rows = usize::from(area.height.saturating_sub(1));
    let cursor = app.cursor();
    let offset = (cursor + 1).saturating_sub(visible_rows);
    let window: Vec<&Row> = app.shown().skip(offset).take(visible_rows).collect();
    if app.shown().len() == 0 {
        let text = if app.counts.total == 0 && !app.hosts.is_empty() {
            "no sessions yet: `zwarm start` starts one, `zwarm start --host NAME` one on a remote"
        } else if app.counts.total == 0 {
            "no sessions yet: `zwarm start` starts one"
        } else {
            "no session matches the filters"
        };
        frame.render_widget(Paragraph::new(text), area);
        return;
    }
    let label_width = window
        .iter()
        .map(|r| r.label.chars().count())
        .max()
        .unwrap_or(6)
        .clamp(6, 26);
    // Wider for remote rows, `NAME:SHORT`.
    let id_width = window
        .iter()
        .map(|r| r.short.chars().count())
        .max()
        .unwrap_or(8)
        .clamp(8, 30);
    let mut widths = vec![
        Constraint::Length(2),
        Constraint::Length(id_width as u16),
        Constraint::Length(label_width as u16),
        Constraint::Length(6),
    ];
    let mut head = vec!["", "ID", "STATUS", "AGENT"];
    if wide {
        let model_width = window
            .iter()
            .map(|r| r.model.chars().count())
            .max()
            .unwrap_or(5)
            .clamp(5, 20);
        widths.push(Constraint::Length(model_width as u16));
        head.push("MODEL");
    }
    widths.extend([
        Constraint::Length(5),
        Constraint::Length(7),
        Constraint::Length(9),
        Constraint::Length(7),
        Constraint::Fill(1),
    ]);
    head.extend(["TURNS", "RUNTIME", "   TOKENS", "   COST", "TASK"]);
    let rows = window.iter().enumerate().map(|(i, r)| {
        let at_cursor = offset + i == cursor;
        let mut cells: Vec<Cell> = vec![
            Cell::from(Line::from(vec![
                // Seen without colour or reverse video too (a text capture).
                Span::raw(if at_cursor { "›" } else { " " }),
                Span::styled(
                    if r.stalled {
                        "◌"
                    } else {
                        status_symbol(r.status)
                    },
                    paint.status(r),
                ),
            ])),
            Cell::from(Span::styled(r.short.clone(), paint.fg(Color::Cyan))),
            Cell::from(Span::styled(r.label.clone(), paint.status(r))),
            Cell::from(r.agent.clone()),
        ];
        if wide {
            cells.push(Cell::from(r.model.clone()));
        }
        cells.extend([
            Cell::from(format!("{:>5}", r.turns)),
            Cell::from(format!("{:>7}", compact_duration(r.runtime_secs(now)))),
            Cell::from(format!(
                "{:>9}",
                match r.tokens {
                    0 => "-".to_string(),
                    n => thousands(n),
                }
            )),
            Cell::from(format!(
                "{:>7}",
                r.cost.map_or("-".to_string(), |c| format!("${c:.2}"))
            )),
            // Seen without colour too: the row is as its host last listed it.
            Cell::from(if r.stale {
                format!("[stale] {}", r.task)
            } else {
                r.task.clone()
            }),
        ]);
        let mut row = TableRow::new(cells);
        if at_cursor {
            row = row.style(Style::new().add_modifier(Modifier::REVERSED));
        } else if r.stale {
            row = row.style(Style::new().add_modifier(Modifier::DIM));
        } else if r.rank == Rank::Attention {
            row = row.style(Style::new().add_modifier(Modifier::BOLD));
        }
        row
    });
    let table = Table::new(rows, widths)
        .header(TableRow::new(head).style(Style::new().add_modifier(Modifier::BOLD)))
        .column_spacing(1);
    frame.render_widget(table, area);
}

fn draw_preview(frame: &mut Frame, app: &App, preview: &Preview, area: Rect) {
    let title = if app.selected().is_some() {
        format!(" {} ", preview.title)
    } else {
        String::new()
    };
    let block = Block::bordered().title(title);
    let inner = block.inner(area);
    let height = usize::from(inner.height);
    let lines = &preview.lines;
    let shown = if preview.tail {
        &lines[lines.len().saturating_sub(height)..]
    } else {
        &lines[..lines.len().min(height * 4)]
    };
    let text: Vec<Line> = shown.iter().map(|l| Line::raw(l.as_str())).collect();
    let mut p = Paragraph::new(text).block(block);
    if !preview.tail {
        p = p.wrap(Wrap { trim: false });
    }
    frame.render_widget(p, area);
}

/// The line at the bottom: what is being typed, else the latest action's
/// outcome, else the keys.
fn footer(app: &App, paint: Paint) -> Line<'static> {
    use crate::render::controls::visible;
    match &app.mode {
        Mode::Filter => Line::raw(format!(
            "/{}▏  (Enter keeps, Esc clears)",
            visible(&app.filter)
        )),
        Mode::Prompt { short, text, .. } => Line::raw(format!(
            "inject into {short}: {}▏  (Enter sends, Esc cancels)",
            visible(text)
        )),
        Mode::ConfirmKill { short, .. } => Line::styled(
            format!("kill {short} and its processes? y kills, any other key cancels"),
            paint.fg(Color::Red).add_modifier(Modifier::BOLD),
        ),
        Mode::Table | Mode::Help => match &app.notice {
            Some(n) if n.error => Line::styled(n.text.clone(), paint.fg(Color::Red)),
            Some(n) => Line::raw(n.text.clone()),
            None => Line::styled(HINTS, Style::new().add_modifier(Modifier::DIM)),
        },
    }
}

fn draw_help(frame: &mut Frame, area: Rect) {
    let width = 70.min(area.width);
    let height = (KEYS.len() as u16 + 2).min(area.height);
    let at = Rect {
        x: area.x + (area.width - width) / 2,
        y: area.y + (area.height - height) / 2,
        width,
        height,
    };
    let lines: Vec<Line> = KEYS
        .iter()
        .map(|(k, what)| Line::raw(format!("{k:<14} {what}")))
        .collect();
    frame.render_widget(Clear, at);
    frame.render_widget(
        Paragraph::new(lines).block(Block::bordered().title(" keys (any key closes) ")),
        at,
    );
}

#[cfg(test)]
mod tests {
    use super::super::app::{App, Key};
    use super::super::rows::tests::{now, session};
    use super::super::rows::{order, Row};
    use super::*;
    use ratatui::backend::TestBackend;
    use ratatui::Terminal;

    fn app() -> App {
        let mut failed = session(
            "3f2a9c1e-0001",
            "failed",
            "timed_out",
            "08:00:00",
            "11:40:00",
        );
        failed.cost_usd = Some(1.25);
        failed.token_usage.total_tokens = 1_234_567;
        let mut running = session("9b1c7d2e-0002", "running", "", "11:15:00", "");
        running.task = "add a --verbose flag to the CLI and \x1b[31mtests\x1b[0m for it".into();
        running.token_usage.total_tokens = 48_210;
        let pending = session("5e6f0a1b-0003", "pending", "", "11:58:00", "");
        let mut done = session(
            "c4d5e6f7-0004",
            "completed",
            "completed",
            "09:00:00",
            "09:42:10",
        );
        done.adapter = "claude".into();
        done.model = "sonnet".into();
        done.cost_usd = Some(0.42);
        let killed = session("0a1b2c3d-0005", "killed", "killed", "07:00:00", "07:05:00");
        let stalled = session("7d8e9f00-0006", "running", "", "10:00:00", "");
        let mut rows: Vec<Row> = [failed, running, pending, done, killed]
            .iter()
            .map(|s| Row::new(s, false, now()))
            .collect();
        rows.push(Row::new(&stalled, true, now()));
        order(&mut rows);
        let mut app = App::default();
        app.set_rows(rows);
        app
    }

    fn preview() -> Preview {
        let lines = [
            "── turn 1 ──",
            "agent: I will add the flag.",
            "$ cargo test ✓ exit 0",
            "  running 12 tests",
            "file: src/cli.rs (update)",
            "agent: The flag is in, with \u{1b}[2Jtests.",
        ];
        Preview::with_lines(
            "3f2a9c1e · steps · turn 1",
            lines
                .iter()
                .map(|l| crate::render::controls::visible(l).into_owned())
                .collect(),
            true,
        )
    }

    fn screen(app: &App, width: u16, height: u16) -> String {
        let mut term = Terminal::new(TestBackend::new(width, height)).unwrap();
        let preview = preview();
        term.draw(|f| draw(f, app, &preview, now(), false)).unwrap();
        let buf = term.backend().buffer().clone();
        let mut out = String::new();
        for y in 0..buf.area.height {
            let mut line = String::new();
            for x in 0..buf.area.width {
                line.push_str(buf[(x, y)].symbol());
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }

    /// Ids and times vary from run to run in real stores: redacted, so a
    /// snapshot checks the layout, not the clock.
    fn redacted(name: &str, screen: &str) {
        let mut settings = insta::Settings::clone_current();
        settings.add_filter(r"\b[0-9a-f]{8}\b", "[id]");
        settings.add_filter(r"(?P<pre>\s)\d+[dhms](\d+[hms])?\b", "${pre}[time]");
        settings.bind(|| insta::assert_snapshot!(name, screen));
    }

    #[test]
    fn the_dashboard_at_80_by_24() {
        let app = app();
        let s = screen(&app, 80, 24);
        // The attention rows come first, the latest failure selected.
        let lines: Vec<&str> = s.lines().collect();
        assert!(lines[2].starts_with("›✗ 3f2a9c1e timed_out"), "{s}");
        assert!(
            lines[3].contains("◌") && lines[3].contains("stalled"),
            "{s}"
        );
        // Agent text is shown with its controls made visible.
        assert!(s.contains("^[[2Jtests"), "{s}");
        assert!(!s.contains('\u{1b}'), "{s}");
        redacted("top_80x24", &s);
    }

    #[test]
    fn the_dashboard_at_120_by_40_shows_the_model() {
        let app = app();
        let s = screen(&app, 120, 40);
        assert!(s.contains("MODEL") && s.contains("sonnet"), "{s}");
        assert!(
            s.contains("6 sessions: 2 need attention · 2 running (1 stalled)"),
            "{s}"
        );
        redacted("top_120x40", &s);
    }

    #[test]
    fn help_prompt_and_kill_confirmation_take_the_screen_they_need() {
        let mut app = app();
        app.on_key(Key::Char('?'));
        let s = screen(&app, 80, 24);
        assert!(
            s.contains("keys (any key closes)") && s.contains("y confirms"),
            "{s}"
        );
        app.on_key(Key::Esc);
        app.on_key(Key::Char('i'));
        for c in "go on".chars() {
            app.on_key(Key::Char(c));
        }
        let s = screen(&app, 80, 24);
        assert!(
            s.lines()
                .last()
                .unwrap()
                .starts_with("inject into 3f2a9c1e: go on"),
            "{s}"
        );
        app.on_key(Key::Esc);
        app.on_key(Key::Char('K'));
        let s = screen(&app, 80, 24);
        assert!(
            s.lines()
                .last()
                .unwrap()
                .starts_with("kill 3f2a9c1e and its processes?"),
            "{s}"
        );
    }

    #[test]
    fn colours_only_when_asked() {
        let app = app();
        let coloured = |color: bool| {
            let mut term = Terminal::new(TestBackend::new(80, 24)).unwrap();
            let preview = preview();
            term.draw(|f| draw(f, &app, &preview, now(), color))
                .unwrap();
            let buf = term.backend().buffer().clone();
            buf.content()
                .iter()
                .filter(|c| c.fg != Color::Reset)
                .count()
        };
        assert_eq!(coloured(false), 0);
        assert!(coloured(true) > 0);
    }

    #[test]
    fn a_remotes_rows_read_name_colon_id_and_a_stale_host_says_when_it_was_seen() {
        use super::super::app::{HostLine, HostState};
        let mut app = app();
        let mut rows: Vec<Row> = app.shown().cloned().collect();
        let mut remote = Row::new(
            &session(
                "5b7d4c8e-0007",
                "completed",
                "completed",
                "09:00:00",
                "09:10:00",
            ),
            false,
            now(),
        );
        remote.id = "build1:5b7d4c8e-0007".into();
        remote.short = "build1:5b7d4c8e".into();
        remote.host = Some("build1".into());
        remote.stale = true;
        rows.push(remote);
        order(&mut rows);
        app.set_rows(rows);
        app.hosts = vec![
            HostLine {
                name: "build1".into(),
                state: HostState::Stale {
                    last_seen: Timestamp::parse("2025-01-02T11:58:30"),
                    why: "host build1 is unreachable: Connection refused".into(),
                },
            },
            HostLine {
                name: "gpu".into(),
                state: HostState::Fresh,
            },
            HostLine {
                name: "slow".into(),
                state: HostState::Asking,
            },
        ];
        let s = screen(&app, 120, 30);
        let lines: Vec<&str> = s.lines().collect();
        assert_eq!(
            lines[1],
            "build1: stale, last seen 11:58:30 (1m30s ago) — host build1 is unreachable: Connection refused",
            "{s}"
        );
        assert_eq!(lines[2], "slow: asking…", "{s}");
        assert!(lines[3].starts_with("   ID "), "{s}");
        let row = lines
            .iter()
            .find(|l| l.contains("build1:5b7d4c8e"))
            .expect("the remote row");
        assert!(
            row.contains("completed") && row.contains("[stale] task of 5b7d4c8e-0007"),
            "{s}"
        );
        // Many hosts unwell: three lines at most, the last naming the rest.
        for name in ["x1", "x2"] {
            app.hosts.push(HostLine {
                name: name.into(),
                state: HostState::Asking,
            });
        }
        let s = screen(&app, 120, 30);
        let lines: Vec<&str> = s.lines().collect();
        assert_eq!(
            lines[3], "2 more hosts stale or not heard of yet: x1, x2",
            "{s}"
        );
        assert!(lines[4].starts_with("   ID "), "{s}");
    }

    #[test]
    fn an_empty_store_says_how_to_start() {
        let s = screen(&App::default(), 80, 24);
        assert!(s.starts_with("0 sessions"), "{s}");
        assert!(s.contains("no sessions yet"), "{s}");
    }
}
