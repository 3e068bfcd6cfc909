//! `watch`: the current turn's steps as they are written, until it ends.

use crate::error::exit;
use crate::model::{Session, SessionStatus};
use crate::render::{human, json, steps, Printer};
use crate::session::manager::Manager;
use crate::turn::{OutputDetail, TurnReader};
use anyhow::Result;
use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify};
use std::io::Write;
use std::os::fd::AsFd;
use std::path::Path;
use std::time::Duration;

/// How often the end of the turn is re-checked when nothing is written.
const RECHECK: Duration = Duration::from_millis(250);

pub fn watch(manager: &Manager, id: &str, full: bool, p: &mut Printer) -> Result<i32> {
    let s = manager.get(id)?;
    let turn = s.turn;
    let agent = s.agent()?;
    let path = manager.store().turn_path(&s.id, turn);
    let detail = if p.json {
        OutputDetail::Whole
    } else {
        steps::output_detail(full)
    };
    let mut parser = agent.parser(detail);
    let mut reader = TurnReader::new(&path);
    let style = p.style;
    if !p.json {
        p.line(&steps::turn_header(&style, turn))?;
    }
    let changes = Changes::new(&path);
    let mut session = s;
    let mut text = String::new();
    loop {
        let active = session.status.is_active();
        let mut failed: Option<std::io::Error> = None;
        parser.read_more(&mut reader, !active, &mut |step| {
            if failed.is_some() {
                return;
            }
            let r = if p.json {
                serde_json::to_writer(&mut *p.out(), &json::watch_step_json(turn, &step))
                    .map_err(std::io::Error::from)
                    .and_then(|()| writeln!(p.out()))
            } else {
                text.clear();
                steps::step(&style, &step, full, &mut text);
                p.text(&text)
            };
            failed = r.err();
        })?;
        if let Some(e) = failed {
            return Err(e.into());
        }
        p.flush()?;
        if !active {
            break;
        }
        changes.wait(RECHECK);
        session = manager.get(&session.id)?;
    }
    end(p, &session)
}

fn end(p: &mut Printer, s: &Session) -> Result<i32> {
    let rec = s.current_turn();
    let ending = rec
        .and_then(|t| t.ending)
        .map(|e| e.as_str())
        .unwrap_or(s.status.as_str());
    if p.json {
        let doc = json::WatchEndJson {
            schema_version: json::SCHEMA_VERSION,
            kind: "end",
            turn: s.turn,
            session: s.id.to_string(),
            status: s.status.as_str(),
            ending,
            error: s.error.clone(),
            exit_code: s.exit_code,
        };
        writeln!(p.out(), "{}", serde_json::to_string(&doc)?)?;
    } else {
        let style = p.style;
        let mut line = format!("── turn {} {ending} ──", s.turn);
        if let Some(e) = &s.error {
            line.push_str(&format!(" {}", human::one_line(e, 300)));
        }
        p.line(&if s.status == SessionStatus::Completed {
            style.green(&line)
        } else {
            style.red(&line)
        })?;
    }
    Ok(outcome_code(s))
}

/// 0 for a completed session, 4 for one that ended otherwise.
pub fn outcome_code(s: &Session) -> i32 {
    match s.status {
        SessionStatus::Completed => exit::OK,
        _ => exit::NOT_COMPLETED,
    }
}

/// Wakes on writes to the turn file or a new meta.json (inotify), or after
/// a timeout.
struct Changes {
    inotify: Option<Inotify>,
}

impl Changes {
    fn new(path: &Path) -> Self {
        let inotify = Inotify::init(InitFlags::IN_CLOEXEC | InitFlags::IN_NONBLOCK)
            .ok()
            .and_then(|i| {
                // The folder, so a file that does not exist yet is seen too.
                let dir = path.parent()?;
                i.add_watch(
                    dir,
                    AddWatchFlags::IN_MODIFY
                        | AddWatchFlags::IN_CREATE
                        | AddWatchFlags::IN_CLOSE_WRITE,
                )
                .ok()?;
                // meta.json is replaced by a rename when the turn's ending is
                // recorded: wake for that too, not at the next recheck.
                i.add_watch(dir.parent()?, AddWatchFlags::IN_MOVED_TO)
                    .ok()?;
                Some(i)
            });
        Changes { inotify }
    }

    fn wait(&self, timeout: Duration) {
        let Some(i) = &self.inotify else {
            std::thread::sleep(timeout.min(Duration::from_millis(100)));
            return;
        };
        let mut pfd = [nix::poll::PollFd::new(
            i.as_fd(),
            nix::poll::PollFlags::POLLIN,
        )];
        let ms = u16::try_from(timeout.as_millis()).unwrap_or(u16::MAX);
        if let Ok(n) = nix::poll::poll(&mut pfd, nix::poll::PollTimeout::from(ms)) {
            if n > 0 {
                let _ = i.read_events();
            }
        }
    }
}
