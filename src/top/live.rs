//! The event loop: it sleeps until a key, a change in the store, a write
//! to the selected session's turn file, a resize or a signal wakes it, and
//! once a second while something runs, for the clocks. Nothing is polled:
//! keys, inotify and signals each block in a thread of their own and wake
//! the loop through one channel, so an idle dashboard takes no CPU. The
//! remotes (`--all-hosts`, `--host`) wake it the same way, from their own
//! threads (see [`super::hosts`]): it never waits on ssh.

use super::app::{Action, App, Key, View};
use super::hosts::{self, Fetched, PreviewKey, RemotePreview, Remotes};
use super::preview::Preview;
use super::rows::{order, Row};
use super::terminal::Screen;
use super::view;
use crate::session::manager::{Manager, TurnOptions};
use crate::timefmt::Timestamp;
use anyhow::{Context, Result};
use crossterm::event::{self, Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify, WatchDescriptor};
use std::collections::HashMap;
use std::path::Path;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How often, while sessions run, the store is read again for stalls
/// (retries in a turn file the dashboard does not follow).
const STALL_RECHECK: Duration = Duration::from_secs(5);

/// What woke the loop.
enum Wake {
    Key(Key),
    /// The terminal changed size: a redraw is all it takes.
    Resize,
    /// Something changed in the watched folders.
    Files(Vec<WatchDescriptor>),
    /// SIGTERM, SIGHUP or SIGINT: its number.
    Signal(i32),
    /// The keyboard can no longer be read.
    InputGone,
    /// A kill made aside ended: what the status line says of it.
    Said {
        error: bool,
        text: String,
    },
    /// A remote listed its sessions, or is stale.
    Listed(Box<crate::hosts::Listed>),
    /// A remote session's preview came.
    Fetched(Fetched),
}

/// Runs the dashboard until `q`, a signal or an error; the signal that
/// ended it, if one did, so that the process can exit as a shell expects
/// of a program a signal stopped (128 + its number). `local`: this store's
/// sessions are shown; `remotes`: those hosts' too.
pub(crate) fn run(
    manager: &Manager,
    color: bool,
    local: bool,
    remotes: &Remotes,
) -> Result<Option<i32>> {
    let (tx, rx) = mpsc::channel();
    watch_signals(tx.clone())?;
    let mut watcher = if local {
        Some(Watcher::new(manager, tx.clone())?)
    } else {
        None
    };
    let mut screen = Screen::enter().context("cannot set the terminal up")?;
    read_keys(tx.clone());
    let mut app = App::default();
    app.set_hosts(remotes.hosts.iter().map(|h| h.name.as_str()));
    let listed = tx.clone();
    hosts::poll(remotes, move |l| {
        listed.send(Wake::Listed(Box::new(l))).is_ok()
    });
    let mut preview = Preview::default();
    let mut remote_preview = RemotePreview::default();
    let mut rows_stale = local;
    // Sessions whose own folder changed: only they are read again.
    let mut changed: Vec<String> = Vec::new();
    let mut read_at = Instant::now();
    loop {
        if !rows_stale && !changed.is_empty() {
            changed.sort_unstable();
            changed.dedup();
            // One that cannot be read (removed, or broken) sends the whole
            // store to be read again, which says what it could not read.
            match changed.iter().map(|id| load_row(manager, id)).collect() {
                Ok(rows) => app.replace_rows(rows),
                Err(_) => rows_stale = true,
            }
        }
        changed.clear();
        if let (true, Some(watcher)) = (rows_stale, watcher.as_mut()) {
            read_at = Instant::now();
            if watcher.sessions_dir.is_none() {
                watcher.watch_sessions_dir(manager);
            }
            let rows = load_rows(manager, &mut app);
            app.set_rows_of(None, rows);
            watcher.sessions(manager, app.ids());
        }
        rows_stale = false;
        let remote_key = app.selected().filter(|r| r.host.is_some()).map(|r| {
            let key: PreviewKey = (r.id.clone(), app.view, r.turns, r.status.is_active());
            (key, r.short.clone())
        });
        let local_selected = app
            .selected()
            .filter(|r| r.host.is_none())
            .map(|r| r.id.clone());
        match &remote_key {
            Some((key, short)) => {
                let fetched = tx.clone();
                let again = key.3 && key.1 == View::Steps;
                let waiting = remote_preview.want(key, remotes, again, move |f| {
                    let _ = fetched.send(Wake::Fetched(f));
                });
                if waiting {
                    preview.set(
                        remote_title(short, key.1, key.2),
                        vec![format!("fetching the {} from {short}…", key.1.as_str())],
                        false,
                    );
                }
            }
            None => {
                remote_preview.forget();
                preview.refresh(manager, local_selected.as_deref(), app.view);
            }
        }
        if let Some(watcher) = watcher.as_mut() {
            watcher.follow(manager, local_selected.as_deref());
        }
        let now = Timestamp::now();
        screen
            .term
            .draw(|f| view::draw(f, &app, &preview, now, color))
            .context("cannot draw on the terminal")?;
        let first = match next_wake(&rx, app.has_clock()) {
            Some(w) => w,
            // The clock: runtimes move on with the time drawn; a stall is
            // found by reading, now and then.
            None => {
                rows_stale = read_at.elapsed() >= STALL_RECHECK;
                continue;
            }
        };
        for wake in std::iter::once(first).chain(rx.try_iter()) {
            match wake {
                Wake::Key(key) => match app.on_key(key) {
                    Action::Nothing => {}
                    Action::Quit => return Ok(None),
                    Action::Kill { id } => {
                        // A kill may take seconds (the agent's grace): it
                        // runs aside, and the screen stays live meanwhile.
                        app.say(false, format!("killing {}…", shown_id(&id)));
                        kill_aside(manager.clone(), remotes, id, tx.clone());
                    }
                    Action::Inject { id, message } => match there(remotes, &id) {
                        Some((host, rid)) => {
                            app.say(false, format!("injecting into {}…", shown_id(&id)));
                            let (tx, stall) = (tx.clone(), remotes.stall);
                            std::thread::spawn(move || {
                                let (error, text) = hosts::inject(&host, stall, &rid, &message);
                                let _ = tx.send(Wake::Said { error, text });
                            });
                        }
                        None => {
                            // Returns at once: the turn's supervisor runs it.
                            let (error, text) = inject(manager, &id, &message);
                            app.say(error, text);
                            rows_stale = true;
                        }
                    },
                },
                Wake::Resize => {}
                Wake::Files(wds) => {
                    let Some(watcher) = watcher.as_ref() else {
                        continue;
                    };
                    for wd in wds {
                        match watcher.what(wd) {
                            // The steps grow; the table has not changed.
                            Watched::Turn => {}
                            Watched::Session(id) => changed.push(id.to_string()),
                            Watched::Store => rows_stale = true,
                        }
                    }
                }
                Wake::Signal(signo) => return Ok(Some(signo)),
                Wake::InputGone => return Ok(None),
                Wake::Said { error, text } => {
                    app.say(error, text);
                    rows_stale = true;
                }
                Wake::Listed(listed) => app.host_listed(&listed, Timestamp::now()),
                Wake::Fetched(f) => {
                    let wanted = remote_key.as_ref().map(|k| &k.0);
                    if remote_preview.fetched(&f.key, wanted) {
                        let short = remote_key.as_ref().map_or("", |k| k.1.as_str());
                        let tail = matches!(f.key.1, View::Steps | View::Raw);
                        preview.set(remote_title(short, f.key.1, f.key.2), f.lines, tail);
                    }
                }
            }
        }
    }
}

/// The pane's title for a remote session's `view`.
fn remote_title(short: &str, view: View, turns: u32) -> String {
    format!("{short} · {} · turn {turns}", view.as_str())
}

/// The host of a remote row's id, and the id there; None for this store's.
fn there(remotes: &Remotes, id: &str) -> Option<(crate::remote::Host, String)> {
    let (name, rid) = crate::remote::split_id(id)?;
    Some((remotes.host(name)?.clone(), rid.to_string()))
}

/// An id as the table shows it: shortened, with its host.
fn shown_id(id: &str) -> String {
    match crate::remote::split_id(id) {
        Some((name, rid)) => format!("{name}:{}", crate::model::short(rid)),
        None => crate::model::short(id).to_string(),
    }
}

/// The next wake; None when the clock's next second came first.
fn next_wake(rx: &Receiver<Wake>, clock: bool) -> Option<Wake> {
    if !clock {
        return rx.recv().ok().or(Some(Wake::InputGone));
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let to_next_second = Duration::from_secs(1) - Duration::from_nanos(now.subsec_nanos().into());
    match rx.recv_timeout(to_next_second) {
        Ok(w) => Some(w),
        Err(RecvTimeoutError::Timeout) => None,
        Err(RecvTimeoutError::Disconnected) => Some(Wake::InputGone),
    }
}

/// Every session, through the list index, in the dashboard's order. A
/// session that cannot be read is left out and said in the status line.
fn load_rows(manager: &Manager, app: &mut App) -> Vec<Row> {
    let (sessions, problems) = match manager.list_brief(false) {
        Ok(found) => found,
        Err(e) => {
            app.say(true, format!("cannot read the sessions: {e}"));
            return Vec::new();
        }
    };
    if let Some(p) = problems.first() {
        app.say(
            true,
            crate::render::controls::visible(&crate::render::human::skipped(&p.id, &p.error))
                .into_owned(),
        );
    }
    let now = Timestamp::now();
    let mut rows: Vec<Row> = sessions
        .iter()
        .map(|s| {
            let stalled = s.status.is_active() && manager.stall(s).is_some();
            Row::new(s, stalled, now)
        })
        .collect();
    order(&mut rows);
    rows
}

/// One session's row read again (its `meta.json` was replaced).
fn load_row(manager: &Manager, id: &str) -> crate::error::Result<Row> {
    let s = manager.refresh(manager.store().load(id)?)?;
    let stalled = s.status.is_active() && manager.stall(&s).is_some();
    Ok(Row::new(&s, stalled, Timestamp::now()))
}

/// `zwarm inject ID MESSAGE` with no option (the session's own), as the
/// verb does it: what the status line says after.
fn inject(manager: &Manager, id: &str, message: &str) -> (bool, String) {
    match manager.inject(id, message, &TurnOptions::default()) {
        Ok(s) => (
            false,
            format!("injected turn {} into {}", s.turn, crate::model::short(id)),
        ),
        Err(e) => (true, one_line(&e)),
    }
}

fn one_line(e: &dyn std::fmt::Display) -> String {
    crate::render::controls::visible(&e.to_string().replace('\n', " ")).into_owned()
}

/// `zwarm kill ID`, as the verb does it: what the status line says after.
fn kill(manager: &Manager, id: &str) -> (bool, String) {
    let short = crate::model::short(id);
    match manager.kill(id) {
        Ok(k) => match k.unrecorded {
            None => (false, format!("killed {short}")),
            Some(e) => (
                true,
                format!(
                    "killed {short}, but its ending is not recorded yet: {}",
                    one_line(&e)
                ),
            ),
        },
        Err(e) => (true, one_line(&e)),
    }
}

/// [`kill`] (or the remote's, for a remote row's id) in a thread of its
/// own, which wakes the loop when done.
fn kill_aside(manager: Manager, remotes: &Remotes, id: String, tx: Sender<Wake>) {
    let remote = there(remotes, &id);
    let stall = remotes.stall;
    std::thread::spawn(move || {
        let (error, text) = match remote {
            Some((host, rid)) => hosts::kill(&host, stall, &rid),
            None => kill(&manager, &id),
        };
        let _ = tx.send(Wake::Said { error, text });
    });
}

/// SIGTERM, SIGHUP and SIGINT end the loop, so the terminal is given back
/// before the process goes.
fn watch_signals(tx: Sender<Wake>) -> Result<()> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGTERM, SIGHUP, SIGINT])
        .context("cannot watch for signals")?;
    std::thread::spawn(move || {
        if let Some(signo) = signals.forever().next() {
            let _ = tx.send(Wake::Signal(signo));
        }
    });
    Ok(())
}

/// The keyboard, read in a thread of its own that blocks in the read.
fn read_keys(tx: Sender<Wake>) {
    std::thread::spawn(move || loop {
        let wake = match event::read() {
            Ok(Event::Key(k)) if k.kind != KeyEventKind::Release => match key(k) {
                Some(k) => Wake::Key(k),
                None => continue,
            },
            Ok(Event::Resize(..)) => Wake::Resize,
            Ok(_) => continue,
            Err(_) => Wake::InputGone,
        };
        let gone = matches!(wake, Wake::InputGone);
        if tx.send(wake).is_err() || gone {
            return;
        }
    });
}

/// The dashboard's key for a terminal's key event.
fn key(k: KeyEvent) -> Option<Key> {
    if k.modifiers.contains(KeyModifiers::CONTROL) {
        return matches!(k.code, KeyCode::Char('c' | 'C')).then_some(Key::Interrupt);
    }
    Some(match k.code {
        KeyCode::Up => Key::Up,
        KeyCode::Down => Key::Down,
        KeyCode::PageUp => Key::PageUp,
        KeyCode::PageDown => Key::PageDown,
        KeyCode::Home => Key::Home,
        KeyCode::End => Key::End,
        KeyCode::Enter => Key::Enter,
        KeyCode::Esc => Key::Esc,
        KeyCode::Backspace => Key::Backspace,
        KeyCode::Char(c) => Key::Char(c),
        _ => return None,
    })
}

/// One inotify instance on the store: its sessions folder (sessions made
/// and removed), each session's folder (a new `meta.json` is renamed into
/// it) and the selected session's `turns/` (its turn file grows). A thread
/// blocks reading it and wakes the loop with the folders that changed.
struct Watcher {
    inotify: Arc<Inotify>,
    root: std::path::PathBuf,
    sessions_dir: Option<WatchDescriptor>,
    /// Each session's folder, by id, and the id of each watch.
    sessions: HashMap<String, WatchDescriptor>,
    ids: HashMap<WatchDescriptor, String>,
    turn: Option<(String, WatchDescriptor)>,
}

/// What a watch is on.
enum Watched<'a> {
    /// The selected session's `turns/`.
    Turn,
    /// One session's folder.
    Session(&'a str),
    /// The sessions folder, or the state directory.
    Store,
}

impl Watcher {
    fn new(manager: &Manager, tx: Sender<Wake>) -> Result<Watcher> {
        let inotify = Arc::new(
            Inotify::init(InitFlags::IN_CLOEXEC).context("cannot watch the store (inotify)")?,
        );
        let reader = Arc::clone(&inotify);
        std::thread::spawn(move || loop {
            match reader.read_events() {
                Ok(events) => {
                    let wds = events.iter().map(|e| e.wd).collect();
                    if tx.send(Wake::Files(wds)).is_err() {
                        return;
                    }
                }
                Err(nix::errno::Errno::EINTR) => {}
                Err(_) => return,
            }
        });
        let mut w = Watcher {
            inotify,
            root: manager.store().root().to_path_buf(),
            sessions_dir: None,
            sessions: HashMap::new(),
            ids: HashMap::new(),
            turn: None,
        };
        w.watch_sessions_dir(manager);
        Ok(w)
    }

    /// The sessions folder; until it exists, the state directory, where it
    /// will appear (and, until that exists, nothing: the clock rereads).
    fn watch_sessions_dir(&mut self, manager: &Manager) {
        let dir = manager.store().sessions_dir();
        let flags = AddWatchFlags::IN_CREATE
            | AddWatchFlags::IN_DELETE
            | AddWatchFlags::IN_MOVED_TO
            | AddWatchFlags::IN_MOVED_FROM
            | AddWatchFlags::IN_ONLYDIR
            | AddWatchFlags::IN_DONT_FOLLOW;
        self.sessions_dir = self.inotify.add_watch(&dir, flags).ok();
        if self.sessions_dir.is_none() {
            let _ = self.inotify.add_watch(&self.root, flags);
        }
    }

    /// Watches the folders of `ids` not yet watched, and forgets those of
    /// sessions no longer there.
    fn sessions<'a>(&mut self, manager: &Manager, ids: impl Iterator<Item = &'a str>) {
        let mut present = std::collections::HashSet::new();
        for id in ids {
            present.insert(id);
            if self.sessions.contains_key(id) {
                continue;
            }
            let flags = AddWatchFlags::IN_MOVED_TO
                | AddWatchFlags::IN_ONLYDIR
                | AddWatchFlags::IN_DONT_FOLLOW;
            if let Ok(wd) = self
                .inotify
                .add_watch(&manager.store().session_dir(id), flags)
            {
                self.sessions.insert(id.to_string(), wd);
                self.ids.insert(wd, id.to_string());
            }
        }
        if present.len() < self.sessions.len() {
            let ids = &mut self.ids;
            self.sessions.retain(|id, wd| {
                let keep = present.contains(id.as_str());
                if !keep {
                    ids.remove(wd);
                }
                keep
            });
        }
    }

    /// Watches the selected session's `turns/` instead of the last one's.
    fn follow(&mut self, manager: &Manager, id: Option<&str>) {
        if self.turn.as_ref().map(|t| t.0.as_str()) == id {
            return;
        }
        if let Some((_, wd)) = self.turn.take() {
            let _ = self.inotify.rm_watch(wd);
        }
        let Some(id) = id else {
            return;
        };
        let turns = manager.store().session_dir(id).join("turns");
        let flags = AddWatchFlags::IN_MODIFY
            | AddWatchFlags::IN_CREATE
            | AddWatchFlags::IN_ONLYDIR
            | AddWatchFlags::IN_DONT_FOLLOW;
        if let Ok(wd) = self.inotify.add_watch(Path::new(&turns), flags) {
            self.turn = Some((id.to_string(), wd));
        }
    }

    fn what(&self, wd: WatchDescriptor) -> Watched<'_> {
        if self.turn.as_ref().is_some_and(|t| t.1 == wd) {
            return Watched::Turn;
        }
        match self.ids.get(&wd) {
            Some(id) => Watched::Session(id),
            None => Watched::Store,
        }
    }
}
