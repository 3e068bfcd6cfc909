//! What the dashboard holds between frames, and what each key does to it:
//! pure transitions, so every key is tested without a terminal. Whatever a
//! key asks of the sessions comes back as an [`Action`] for the event loop
//! to carry out with the session manager.

use super::rows::{order, Counts, Row, StatusFilter};
use crate::hosts::Listed;
use crate::timefmt::Timestamp;

/// A key, as the dashboard tells keys apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Key {
    Up,
    Down,
    PageUp,
    PageDown,
    Home,
    End,
    Enter,
    Esc,
    Backspace,
    /// Ctrl-C: quits whatever is open.
    Interrupt,
    Char(char),
}

/// What the preview pane shows of the selected session.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub(crate) enum View {
    /// Its latest turn's steps, as `watch` shows them.
    #[default]
    Steps,
    /// The latest turn's final message.
    Final,
    /// The tail of the latest turn's raw output.
    Raw,
    /// What the session changed, as `diff` shows it.
    Diff,
}

impl View {
    pub(crate) fn next(self) -> View {
        match self {
            View::Steps => View::Final,
            View::Final => View::Raw,
            View::Raw => View::Diff,
            View::Diff => View::Steps,
        }
    }

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            View::Steps => "steps",
            View::Final => "final message",
            View::Raw => "raw output",
            View::Diff => "diff",
        }
    }
}

/// What the keyboard is typing into.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) enum Mode {
    #[default]
    Table,
    /// `/`: the text filter is being edited.
    Filter,
    /// `i`: a message for the session `id`.
    Prompt {
        id: String,
        short: String,
        text: String,
    },
    /// `K`: waiting for `y` to kill the session `id`.
    ConfirmKill { id: String, short: String },
    /// `?`: the keys.
    Help,
}

/// What the event loop is asked to do after a key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Action {
    Nothing,
    Quit,
    Inject { id: String, message: String },
    Kill { id: String },
}

/// The status line: the outcome of the latest action.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Notice {
    pub error: bool,
    pub text: String,
}

/// How a remote fares, as the line under the header says it.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum HostState {
    /// Not heard of yet, nor given up on.
    Asking,
    Fresh,
    /// It did not answer: its rows are what it listed `last_seen` (None:
    /// never, and there are none).
    Stale {
        last_seen: Option<Timestamp>,
        why: String,
    },
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) struct HostLine {
    pub name: String,
    pub state: HostState,
}

#[derive(Debug, Default)]
pub(crate) struct App {
    /// Every session, in order.
    rows: Vec<Row>,
    /// Indices into `rows` of those the filters keep.
    shown: Vec<usize>,
    /// The selection, kept by id so that it follows its session as the
    /// order changes.
    selected: Option<String>,
    cursor: usize,
    pub view: View,
    pub mode: Mode,
    pub filter: String,
    pub status_filter: StatusFilter,
    pub notice: Option<Notice>,
    pub counts: Counts,
    /// The remotes shown, in the order of `remotes.toml`.
    pub hosts: Vec<HostLine>,
}

/// How far PageUp and PageDown move.
const PAGE: usize = 10;

impl App {
    /// New rows (already in order): the filters are applied again and the
    /// selection stays on its session while it is shown.
    pub(crate) fn set_rows(&mut self, rows: Vec<Row>) {
        self.counts = Counts::of(&rows);
        self.rows = rows;
        self.apply_filters();
    }

    /// New rows of one host (None: this store), in place of all its rows
    /// before; the others stay.
    pub(crate) fn set_rows_of(&mut self, host: Option<&str>, rows: Vec<Row>) {
        let mut all = std::mem::take(&mut self.rows);
        all.retain(|r| r.host.as_deref() != host);
        all.extend(rows);
        order(&mut all);
        self.set_rows(all);
    }

    /// The remotes to show, none heard of yet.
    pub(crate) fn set_hosts<'a>(&mut self, names: impl Iterator<Item = &'a str>) {
        self.hosts = names
            .map(|name| HostLine {
                name: name.to_string(),
                state: HostState::Asking,
            })
            .collect();
    }

    /// What a remote listed: its rows, fresh or as last seen, and its line.
    pub(crate) fn host_listed(&mut self, listed: &Listed, now: Timestamp) {
        let name = listed.host.name.as_str();
        let stale = listed.host.stale;
        let rows = listed
            .sessions
            .iter()
            .filter_map(|s| Row::remote(name, s, stale, now))
            .collect();
        self.set_rows_of(Some(name), rows);
        let state = match &listed.error {
            Some(why) if stale => HostState::Stale {
                last_seen: listed.host.last_seen.as_deref().and_then(Timestamp::parse),
                why: crate::render::controls::visible(&why.replace('\n', " ")).into_owned(),
            },
            _ => HostState::Fresh,
        };
        match self.hosts.iter_mut().find(|h| h.name == name) {
            Some(line) => line.state = state,
            None => self.hosts.push(HostLine {
                name: name.to_string(),
                state,
            }),
        }
    }

    /// Rows read again, each in place of its session's (or added): the
    /// order and the counts follow.
    pub(crate) fn replace_rows(&mut self, new: Vec<Row>) {
        if new.is_empty() {
            return;
        }
        for row in new {
            match self.rows.iter_mut().find(|r| r.id == row.id) {
                Some(slot) => *slot = row,
                None => self.rows.push(row),
            }
        }
        order(&mut self.rows);
        self.counts = Counts::of(&self.rows);
        self.apply_filters();
    }

    fn apply_filters(&mut self) {
        let (text, status) = (self.filter.as_str(), self.status_filter);
        self.shown = (0..self.rows.len())
            .filter(|&i| status.keeps(&self.rows[i]) && self.rows[i].matches(text))
            .collect();
        let at = self
            .selected
            .as_ref()
            .and_then(|id| self.shown.iter().position(|&i| &self.rows[i].id == id));
        match at {
            Some(at) => self.cursor = at,
            None => self.select(self.cursor.min(self.shown.len().saturating_sub(1))),
        }
    }

    fn select(&mut self, at: usize) {
        self.cursor = at;
        self.selected = self.shown.get(at).map(|&i| self.rows[i].id.clone());
    }

    /// The rows the filters keep, in order.
    pub(crate) fn shown(&self) -> impl ExactSizeIterator<Item = &Row> {
        self.shown.iter().map(|&i| &self.rows[i])
    }

    /// The ids of every session of this store, shown or not.
    pub(crate) fn ids(&self) -> impl Iterator<Item = &str> {
        self.rows
            .iter()
            .filter(|r| r.host.is_none())
            .map(|r| r.id.as_str())
    }

    pub(crate) fn cursor(&self) -> usize {
        self.cursor
    }

    pub(crate) fn selected(&self) -> Option<&Row> {
        self.shown.get(self.cursor).map(|&i| &self.rows[i])
    }

    /// Whether anything shown counts time (a runtime, a stall): the clock
    /// then redraws once a second.
    pub(crate) fn has_clock(&self) -> bool {
        self.rows.iter().any(|r| r.status.is_active())
    }

    fn move_by(&mut self, delta: isize) {
        if self.shown.is_empty() {
            return;
        }
        let last = self.shown.len() - 1;
        let at = self.cursor.saturating_add_signed(delta).min(last);
        self.select(at);
    }

    /// What `key` does.
    pub(crate) fn on_key(&mut self, key: Key) -> Action {
        if key == Key::Interrupt {
            return Action::Quit;
        }
        match std::mem::take(&mut self.mode) {
            Mode::Table => self.table_key(key),
            Mode::Help => Action::Nothing,
            Mode::Filter => {
                match key {
                    Key::Enter => {}
                    Key::Esc => self.filter.clear(),
                    Key::Backspace => {
                        self.filter.pop();
                        self.mode = Mode::Filter;
                    }
                    Key::Char(c) => {
                        self.filter.push(c);
                        self.mode = Mode::Filter;
                    }
                    _ => self.mode = Mode::Filter,
                }
                self.apply_filters();
                Action::Nothing
            }
            Mode::Prompt {
                id,
                short,
                mut text,
            } => match key {
                Key::Esc => {
                    self.say(false, "inject cancelled");
                    Action::Nothing
                }
                Key::Enter if text.trim().is_empty() => {
                    self.say(true, "nothing to inject: the message is empty");
                    Action::Nothing
                }
                Key::Enter => Action::Inject { id, message: text },
                Key::Backspace => {
                    text.pop();
                    self.mode = Mode::Prompt { id, short, text };
                    Action::Nothing
                }
                Key::Char(c) => {
                    text.push(c);
                    self.mode = Mode::Prompt { id, short, text };
                    Action::Nothing
                }
                _ => {
                    self.mode = Mode::Prompt { id, short, text };
                    Action::Nothing
                }
            },
            Mode::ConfirmKill { id, .. } => match key {
                Key::Char('y' | 'Y') => Action::Kill { id },
                _ => {
                    self.say(false, "kill cancelled");
                    Action::Nothing
                }
            },
        }
    }

    fn table_key(&mut self, key: Key) -> Action {
        match key {
            Key::Up | Key::Char('k') => self.move_by(-1),
            Key::Down | Key::Char('j') => self.move_by(1),
            Key::PageUp => self.move_by(-(PAGE as isize)),
            Key::PageDown => self.move_by(PAGE as isize),
            Key::Home | Key::Char('g') => self.move_by(isize::MIN),
            Key::End | Key::Char('G') => self.move_by(isize::MAX),
            Key::Enter | Key::Char('v') => self.view = self.view.next(),
            Key::Char('d') => self.view = View::Diff,
            Key::Char('/') => self.mode = Mode::Filter,
            Key::Char('s') => {
                self.status_filter = self.status_filter.next();
                self.apply_filters();
            }
            Key::Char('?') => self.mode = Mode::Help,
            Key::Char('q') | Key::Esc => return Action::Quit,
            Key::Char('i') | Key::Char('K') => {
                let Some(row) = self.selected() else {
                    self.say(true, "no session is selected");
                    return Action::Nothing;
                };
                let (id, short) = (row.id.clone(), row.short.clone());
                self.mode = if key == Key::Char('i') {
                    Mode::Prompt {
                        id,
                        short,
                        text: String::new(),
                    }
                } else {
                    Mode::ConfirmKill { id, short }
                };
            }
            _ => {}
        }
        Action::Nothing
    }

    /// Sets the status line.
    pub(crate) fn say(&mut self, error: bool, text: impl Into<String>) {
        self.notice = Some(Notice {
            error,
            text: text.into(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::super::rows::tests::{now, session};
    use super::*;

    fn app() -> App {
        let mut rows: Vec<Row> = [
            session("aa000001", "running", "", "11:00:00", ""),
            session("bb000002", "completed", "completed", "10:00:00", "10:30:00"),
            session("cc000003", "failed", "failed", "09:00:00", "11:30:00"),
        ]
        .iter()
        .map(|s| Row::new(s, false, now()))
        .collect();
        order(&mut rows);
        let mut app = App::default();
        app.set_rows(rows);
        app
    }

    fn selected(app: &App) -> &str {
        app.selected().map_or("", |r| r.id.as_str())
    }

    fn keys(app: &mut App, text: &str) -> Action {
        let mut last = Action::Nothing;
        for c in text.chars() {
            last = app.on_key(Key::Char(c));
        }
        last
    }

    #[test]
    fn arrows_and_j_k_move_the_selection_within_the_rows() {
        let mut app = app();
        assert_eq!(selected(&app), "cc000003");
        app.on_key(Key::Down);
        assert_eq!(selected(&app), "aa000001");
        keys(&mut app, "jjj");
        assert_eq!(selected(&app), "bb000002");
        app.on_key(Key::Char('k'));
        assert_eq!(selected(&app), "aa000001");
        app.on_key(Key::Up);
        app.on_key(Key::Up);
        assert_eq!(selected(&app), "cc000003");
        app.on_key(Key::End);
        assert_eq!(app.cursor(), 2);
        app.on_key(Key::Home);
        assert_eq!(app.cursor(), 0);
    }

    #[test]
    fn the_selection_follows_its_session_when_the_order_changes() {
        let mut app = app();
        app.on_key(Key::Down);
        assert_eq!(selected(&app), "aa000001");
        // It ended well: it moves down among the rest, the selection with it.
        let mut rows: Vec<Row> = [
            session("aa000001", "completed", "completed", "11:00:00", "11:59:00"),
            session("bb000002", "completed", "completed", "10:00:00", "10:30:00"),
            session("cc000003", "failed", "failed", "09:00:00", "11:30:00"),
        ]
        .iter()
        .map(|s| Row::new(s, false, now()))
        .collect();
        order(&mut rows);
        app.set_rows(rows.clone());
        assert_eq!(selected(&app), "aa000001");
        assert_eq!(app.cursor(), 1);
        // Gone: the row now at its place is selected.
        rows.retain(|r| r.id != "aa000001");
        app.set_rows(rows);
        assert_eq!(selected(&app), "bb000002");
        app.set_rows(vec![]);
        assert_eq!(app.selected(), None);
        assert_eq!(app.on_key(Key::Down), Action::Nothing);
    }

    #[test]
    fn a_row_read_again_takes_its_place_in_the_order() {
        let mut app = app();
        assert_eq!(selected(&app), "cc000003");
        // The failed session runs again: it moves among the running ones.
        app.replace_rows(vec![Row::new(
            &session("cc000003", "running", "", "11:50:00", ""),
            false,
            now(),
        )]);
        let ids: Vec<&str> = app.shown().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, ["aa000001", "cc000003", "bb000002"]);
        assert_eq!(selected(&app), "cc000003");
        assert_eq!((app.counts.running, app.counts.failed), (2, 0));
    }

    fn listed(name: &str, stale: bool, ids: &[&str]) -> Listed {
        Listed {
            host: crate::render::json::HostJson {
                name: name.into(),
                stale,
                last_seen: Some("2025-01-02T11:59:00Z".into()),
            },
            sessions: ids
                .iter()
                .map(|id| {
                    crate::remote::ordered::Ordered::of(&serde_json::json!({
                        "id": id, "status": "running", "adapter": "codex", "model": "o3",
                        "task": "t", "working_dir": "/w", "source": "user", "turns": 1,
                        "created_at": "2025-01-02T11:00:00", "updated_at": "2025-01-02T11:00:00",
                        "cost_usd": null, "error": null,
                        "usage": {"input_tokens": 1, "output_tokens": 2, "total_tokens": 3},
                    }))
                    .unwrap()
                })
                .collect(),
            error: stale.then(|| "host b1 did not answer\nwithin 5 s".to_string()),
        }
    }

    #[test]
    fn a_remotes_rows_come_and_go_with_its_answers_and_go_stale_as_they_were() {
        let mut app = app();
        app.set_hosts(["b1", "b2"].into_iter());
        assert!(app.hosts.iter().all(|h| h.state == HostState::Asking));
        app.host_listed(&listed("b1", false, &["dd000004", "ee000005"]), now());
        assert_eq!(app.counts.total, 5);
        assert_eq!(app.hosts[0].state, HostState::Fresh);
        assert_eq!(app.hosts[1].state, HostState::Asking);
        let ids: Vec<&str> = app.shown().map(|r| r.short.as_str()).collect();
        assert!(ids.contains(&"b1:dd000004"), "{ids:?}");
        // Only this store's sessions are watched on disk.
        assert_eq!(app.ids().count(), 3);
        // It stops answering: the same rows, marked stale, and why.
        app.host_listed(&listed("b1", true, &["dd000004", "ee000005"]), now());
        let stale: Vec<(&str, bool, &str)> = app
            .shown()
            .filter(|r| r.host.is_some())
            .map(|r| (r.short.as_str(), r.stale, r.label.as_str()))
            .collect();
        assert_eq!(
            stale,
            [
                ("b1:dd000004", true, "running"),
                ("b1:ee000005", true, "running")
            ]
        );
        assert_eq!(
            app.hosts[0].state,
            HostState::Stale {
                last_seen: Timestamp::parse("2025-01-02T11:59:00Z"),
                why: "host b1 did not answer within 5 s".into(),
            }
        );
        // This store's rows read again leave the remote's alone.
        app.set_rows_of(None, vec![]);
        assert_eq!(app.counts.total, 2);
        app.host_listed(&listed("b1", false, &[]), now());
        assert_eq!(app.counts.total, 0);
    }

    #[test]
    fn enter_and_v_cycle_the_preview_and_d_shows_the_diff() {
        let mut app = app();
        let mut seen = vec![app.view];
        for key in [Key::Enter, Key::Char('v'), Key::Enter, Key::Char('v')] {
            app.on_key(key);
            seen.push(app.view);
        }
        assert_eq!(
            seen,
            [View::Steps, View::Final, View::Raw, View::Diff, View::Steps]
        );
        app.on_key(Key::Char('d'));
        assert_eq!(app.view, View::Diff);
    }

    #[test]
    fn i_takes_a_message_and_asks_to_inject_it_into_the_selected_session() {
        let mut app = app();
        app.on_key(Key::Down);
        assert_eq!(app.on_key(Key::Char('i')), Action::Nothing);
        keys(&mut app, "now add tests");
        app.on_key(Key::Backspace);
        // q and j are text here, not keys of the table.
        keys(&mut app, "sq");
        assert!(matches!(&app.mode, Mode::Prompt { text, .. } if text == "now add testsq"));
        assert_eq!(
            app.on_key(Key::Enter),
            Action::Inject {
                id: "aa000001".into(),
                message: "now add testsq".into()
            }
        );
        assert_eq!(app.mode, Mode::Table);
        // Empty, or let go with Esc: nothing is asked.
        app.on_key(Key::Char('i'));
        keys(&mut app, "  ");
        assert_eq!(app.on_key(Key::Enter), Action::Nothing);
        assert!(app.notice.as_ref().is_some_and(|n| n.error));
        app.on_key(Key::Char('i'));
        keys(&mut app, "x");
        assert_eq!(app.on_key(Key::Esc), Action::Nothing);
        assert_eq!(app.mode, Mode::Table);
    }

    #[test]
    fn capital_k_kills_only_after_y() {
        let mut app = app();
        app.on_key(Key::Char('K'));
        assert!(matches!(&app.mode, Mode::ConfirmKill { id, .. } if id == "cc000003"));
        assert_eq!(app.on_key(Key::Char('n')), Action::Nothing);
        assert_eq!(app.mode, Mode::Table);
        app.on_key(Key::Char('K'));
        assert_eq!(
            app.on_key(Key::Char('y')),
            Action::Kill {
                id: "cc000003".into()
            }
        );
        // A lower-case k moves; it never kills.
        assert_eq!(app.on_key(Key::Char('k')), Action::Nothing);
        assert_eq!(app.mode, Mode::Table);
    }

    #[test]
    fn slash_filters_by_text_and_s_by_status() {
        let mut app = app();
        app.on_key(Key::Char('/'));
        keys(&mut app, "bb");
        assert_eq!(app.shown().len(), 1);
        assert_eq!(selected(&app), "bb000002");
        app.on_key(Key::Enter);
        assert_eq!(app.mode, Mode::Table);
        assert_eq!(app.filter, "bb");
        app.on_key(Key::Char('/'));
        app.on_key(Key::Esc);
        assert_eq!((app.filter.as_str(), app.shown().len()), ("", 3));
        // all → attention → running
        app.on_key(Key::Char('s'));
        assert_eq!(
            app.shown().map(|r| r.id.as_str()).collect::<Vec<_>>(),
            ["cc000003"]
        );
        app.on_key(Key::Char('s'));
        assert_eq!(selected(&app), "aa000001");
        assert_eq!(app.status_filter, StatusFilter::Running);
    }

    #[test]
    fn help_q_esc_and_ctrl_c() {
        let mut app = app();
        app.on_key(Key::Char('?'));
        assert_eq!(app.mode, Mode::Help);
        // Any key closes the keys, q too, without quitting.
        assert_eq!(app.on_key(Key::Char('q')), Action::Nothing);
        assert_eq!(app.mode, Mode::Table);
        assert_eq!(app.on_key(Key::Char('q')), Action::Quit);
        assert_eq!(app.on_key(Key::Esc), Action::Quit);
        app.on_key(Key::Char('i'));
        assert_eq!(app.on_key(Key::Interrupt), Action::Quit);
    }
}
