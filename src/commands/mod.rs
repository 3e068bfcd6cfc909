//! One module per verb, each `run(ctx, args) -> Result<Outcome>`: its
//! arguments in, manager calls, typed results handed to `render`, and the
//! exit status out. What a verb decides (which sessions, which exit status)
//! is a pure function beside it, tested there. `run` wires a parsed command
//! line to them.

mod acted;
mod apply;
mod apply_remote;
mod clean;
mod completions;
mod diff;
mod doctor;
mod hosted;
mod inject;
mod kill;
mod launch;
mod legacy;
mod list;
mod list_hosts;
mod mcp;
mod output;
mod remote;
mod retry;
mod rm;
mod show;
mod start;
mod top;
mod trajectory;
mod version;
mod wait;
mod wait_hosts;
mod watch;

use crate::cli::{Cli, Command};
use crate::error::{exit, Error};
use crate::model::{Session, SessionStatus};
use crate::render::{Printer, Style};
use crate::session::manager::Manager;
use crate::store::Store;
use anyhow::Result;
use std::path::{Path, PathBuf};

/// What every verb runs with: the sessions, and where its output goes.
pub(crate) struct Ctx {
    pub manager: Manager,
    pub p: Printer,
}

impl Ctx {
    pub(crate) fn style(&self) -> Style {
        self.p.style
    }

    pub(crate) fn json(&self) -> bool {
        self.p.json
    }
}

/// How a verb ended: the process's exit status, one of [`exit`]'s codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Outcome(i32);

impl Outcome {
    pub(crate) const OK: Outcome = Outcome(exit::OK);
    pub(crate) const FAILURE: Outcome = Outcome(exit::FAILURE);
    pub(crate) const NOT_COMPLETED: Outcome = Outcome(exit::NOT_COMPLETED);
    pub(crate) const TIMEOUT: Outcome = Outcome(exit::TIMEOUT);

    /// How a program a signal stopped exits: 128 + the signal's number.
    pub(crate) fn of_signal(signo: i32) -> Outcome {
        Outcome(128 + signo)
    }

    /// The status an error exits with.
    pub(crate) fn of_error(e: &Error) -> Outcome {
        Outcome(e.exit_code())
    }

    /// A turn that has ended: completed, or not (failed, killed, ...).
    pub(crate) fn of_ended(status: SessionStatus) -> Outcome {
        match status {
            SessionStatus::Completed => Outcome::OK,
            _ => Outcome::NOT_COMPLETED,
        }
    }

    /// Of several, the one the process exits with: the highest code.
    pub(crate) fn worst(self, other: Outcome) -> Outcome {
        self.max(other)
    }

    pub(crate) fn code(self) -> i32 {
        self.0
    }
}

/// The state directory: `--dir`/`ZWARM_DIR`, else the nearest `.zwarm` in the
/// current directory or its ancestors, else `./.zwarm`.
pub(crate) fn state_dir(explicit: Option<&Path>) -> PathBuf {
    if let Some(d) = explicit {
        return d.to_path_buf();
    }
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    cwd.ancestors()
        .map(|a| a.join(".zwarm"))
        .find(|p| p.is_dir())
        .unwrap_or_else(|| cwd.join(".zwarm"))
}

/// Runs one command; returns the process exit code.
pub(crate) fn run(cli: Cli) -> Result<i32> {
    let style = Style::decide(cli.color);
    if let Command::Supervise(a) = &cli.command {
        return Ok(crate::session::supervisor::run(
            &a.state_dir,
            &a.id,
            a.turn,
        )?);
    }
    if let Command::Completions(a) = &cli.command {
        return Ok(completions::run(a).code());
    }
    if let Command::RemoteExec = &cli.command {
        crate::remote::exec::run()?;
        return Ok(exit::FAILURE);
    }
    let (command, dir) = match cli.command {
        Command::Session(l) => {
            let (command, dir) = legacy::map(l.command, cli.dir);
            (command, dir.unwrap_or_else(|| state_dir(None)))
        }
        other => (other, cli.dir.unwrap_or_else(|| state_dir(None))),
    };
    let mut ctx = Ctx {
        manager: Manager::new(Store::new(dir)).with_stall_after(cli.stall_after),
        p: Printer::new(cli.json, style),
    };
    if let Command::Wait(a) = &command {
        if let Some(names) = wait_hosts::hosts(cli.host.as_deref(), a) {
            let outcome = wait_hosts::run(&mut ctx, a, &names, cli.stall_after)?;
            ctx.p.flush()?;
            return Ok(outcome.code());
        }
    }
    let host = hosted::host_of(cli.host.as_deref(), &hosted::ids_of(&command))?;
    let outcome = match (&command, host) {
        (Command::List(a), None) if a.all_hosts => list_hosts::run(&mut ctx, a, cli.stall_after)?,
        (Command::List(a), Some(_)) if a.all_hosts => {
            return Err(Error::Usage("--all-hosts lists every host: give no --host".into()).into())
        }
        (Command::Top(a), host) => top::run(&mut ctx, a, host.as_deref(), cli.stall_after)?,
        (Command::Remote(_) | Command::Mcp(_), Some(_)) => {
            return Err(
                Error::Usage("`remote` and `mcp` run here only: give no --host".into()).into(),
            )
        }
        (Command::Apply(a), Some(name)) => apply_remote::run(&mut ctx, a, &name, cli.stall_after)?,
        (_, Some(name)) => hosted::run(&mut ctx, &name, &command, cli.stall_after)?,
        (_, None) => dispatch(&mut ctx, &command)?,
    };
    ctx.p.flush()?;
    Ok(outcome.code())
}

fn dispatch(ctx: &mut Ctx, command: &Command) -> Result<Outcome> {
    match command {
        Command::Start(a) => start::run(ctx, a),
        Command::List(a) => list::run(ctx, a),
        Command::Show(a) => show::run(ctx, a),
        Command::Inject(a) => inject::run(ctx, a),
        Command::Retry(a) => retry::run(ctx, a),
        Command::Kill(a) => kill::run(ctx, a),
        Command::Rm(a) => rm::run(ctx, a),
        Command::Trajectory(a) => trajectory::run(ctx, a),
        Command::Diff(a) => diff::run(ctx, a),
        Command::Apply(a) => apply::run(ctx, a),
        Command::Output(a) => output::run(ctx, a),
        Command::Watch(a) => watch::run(ctx, a),
        Command::Wait(a) => wait::run(ctx, a),
        Command::Clean(a) => clean::run(ctx, a),
        Command::Doctor(a) => doctor::run(ctx, a),
        Command::Mcp(a) => mcp::run(ctx, a),
        Command::Version => version::run(ctx),
        Command::Remote(a) => remote::run(ctx, a),
        Command::Completions(_)
        | Command::Top(_)
        | Command::Session(_)
        | Command::Supervise(_)
        | Command::RemoteExec => {
            unreachable!("handled in run")
        }
    }
}

/// `turn` of `s`, if it has that turn (`trajectory --turn`, `output --turn`).
fn check_turn(s: &Session, turn: u32) -> Result<u32, Error> {
    if turn == 0 || turn > s.turn {
        return Err(Error::Usage(format!(
            "session {} has turns 1 to {}, not {turn}",
            s.short_id(),
            s.turn
        )));
    }
    Ok(turn)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A session as `meta.json` holds it: `status`, the turn's `ending`
    /// (none for a 2.3.5 session) and when it ended, `updated_at` otherwise.
    pub(super) fn session(status: &str, updated_at: &str) -> Session {
        serde_json::from_value(serde_json::json!({
            "id": "3f2a9c1e-5b7d-4c8e-9a1f-2b3c4d5e6f70",
            "task": "t", "status": status, "working_dir": "/w",
            "created_at": "2025-01-01T00:00:00", "updated_at": updated_at,
        }))
        .unwrap()
    }

    #[test]
    fn the_worst_outcome_is_the_highest_code() {
        let all = [
            Outcome::OK,
            Outcome::FAILURE,
            Outcome::of_error(&Error::NotFound("x".into())),
            Outcome::NOT_COMPLETED,
            Outcome::of_error(&Error::Busy {
                id: "x".into(),
                turn: 2,
            }),
            Outcome::TIMEOUT,
        ];
        let codes: Vec<i32> = all.iter().map(|o| o.code()).collect();
        assert_eq!(codes, [0, 1, 3, 4, 5, 124]);
        for (i, a) in all.iter().enumerate() {
            for b in &all[i..] {
                assert_eq!(a.worst(*b), *b);
                assert_eq!(b.worst(*a), *b);
            }
        }
    }

    #[test]
    fn only_a_completed_turn_ends_well() {
        assert_eq!(Outcome::of_ended(SessionStatus::Completed), Outcome::OK);
        for st in [
            SessionStatus::Failed,
            SessionStatus::Killed,
            SessionStatus::Unknown,
            SessionStatus::Running,
            SessionStatus::Pending,
        ] {
            assert_eq!(Outcome::of_ended(st), Outcome::NOT_COMPLETED, "{st:?}");
        }
    }

    #[test]
    fn a_turn_is_checked_against_the_sessions_turns() {
        let mut s = session("completed", "2025-01-01T00:00:00");
        s.turn = 3;
        assert_eq!(check_turn(&s, 1).unwrap(), 1);
        assert_eq!(check_turn(&s, 3).unwrap(), 3);
        for bad in [0, 4] {
            let e = check_turn(&s, bad).unwrap_err();
            assert_eq!(e.exit_code(), exit::USAGE);
            assert_eq!(
                e.to_string(),
                format!("session 3f2a9c1e has turns 1 to 3, not {bad}")
            );
        }
    }
}
