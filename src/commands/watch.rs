//! `watch`: the current turn's steps as they are written, until it ends.

use super::{Ctx, Outcome};
use crate::cli::WatchArgs;
use crate::model::{Session, TurnRecord};
use crate::render::{human, json, steps};
use crate::turn::{OutputDetail, TurnReader};
use anyhow::Result;
use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify};
use std::os::fd::AsFd;
use std::path::Path;
use std::time::Duration;

/// How often the end of the turn is re-checked when nothing is written.
const RECHECK: Duration = Duration::from_millis(250);

pub(crate) fn run(ctx: &mut Ctx, a: &WatchArgs) -> Result<Outcome> {
    let Ctx { manager, p } = ctx;
    let s = manager.get(&a.id)?;
    let turn = s.turn;
    let agent = s.agent()?;
    let path = manager.store().turn_path(&s.id, turn);
    let detail = if p.json {
        OutputDetail::Whole
    } else {
        steps::output_detail(a.full)
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
                p.json_line(&json::watch_step_json(turn, &step))
            } else {
                text.clear();
                steps::step(&style, &step, a.full, &mut text);
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
    let ending = ending(&session);
    if p.json {
        p.json_line(&json::WatchEndJson::new(&session, ending))?;
    } else {
        p.line(&human::ending::watch_end(&style, &session, ending))?;
    }
    Ok(Outcome::of_ended(session.status))
}

/// How the session's latest turn ended; a 2.3.5 session, with no turn
/// records, by its status.
fn ending(s: &Session) -> &'static str {
    s.current_turn()
        .and_then(TurnRecord::ending)
        .map(|e| e.as_str())
        .unwrap_or(s.status.as_str())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ending_is_the_latest_turns_or_else_the_status() {
        let s = |turns: serde_json::Value| -> Session {
            serde_json::from_value(serde_json::json!({
                "id": "3f2a9c1e-5b7d-4c8e-9a1f-2b3c4d5e6f70",
                "task": "t", "status": "failed", "working_dir": "/w", "turn": 2,
                "created_at": "2025-01-01T00:00:00", "updated_at": "2025-01-01T00:00:00",
                "turns": turns,
            }))
            .unwrap()
        };
        let two = serde_json::json!([
            {"turn": 1, "ending": "completed"},
            {"turn": 2, "ending": "interrupted"},
        ]);
        assert_eq!(ending(&s(two)), "interrupted");
        // A 2.3.5 session has no turn records; one whose latest turn has no
        // record of its own is told by its status too.
        assert_eq!(ending(&s(serde_json::json!([]))), "failed");
        assert_eq!(
            ending(&s(serde_json::json!([{"turn": 1, "ending": "completed"}]))),
            "failed"
        );
    }
}
