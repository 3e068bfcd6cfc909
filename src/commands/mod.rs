//! One module per verb: arguments in, a manager call, data out for `render`.
//! `run` wires a parsed command line to them.

mod clean;
mod doctor;
mod kill;
mod list;
mod output;
mod start;
mod trajectory;
mod wait;
mod watch;

use crate::cli::{Cli, Command, LegacyCommand};
use crate::error::exit;
use crate::render::{self, human, json, Printer, Style};
use crate::session::manager::Manager;
use crate::store::Store;
use anyhow::Result;
use std::path::{Path, PathBuf};

/// The state directory: `--dir`/`ZWARM_DIR`, else the nearest `.zwarm` in the
/// current directory or its ancestors, else `./.zwarm`.
pub fn state_dir(explicit: Option<&Path>) -> PathBuf {
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
pub fn run(cli: Cli) -> Result<i32> {
    let style = Style::decide(cli.color);
    if let Command::Supervise(a) = &cli.command {
        return Ok(crate::session::supervisor::run(
            &a.state_dir,
            &a.id,
            a.turn,
        )?);
    }
    if let Command::Completions(a) = &cli.command {
        render::completions(a.shell);
        return Ok(exit::OK);
    }
    let (command, dir) = match cli.command {
        Command::Session(l) => legacy(l.command, cli.dir),
        other => (other, cli.dir.unwrap_or_else(|| state_dir(None))),
    };
    let manager = Manager::new(Store::new(dir)).with_stall_after(cli.stall_after);
    let mut p = Printer::new(cli.json, style);
    let code = dispatch(command, &manager, &mut p, style)?;
    p.flush()?;
    Ok(code)
}

fn dispatch(command: Command, manager: &Manager, p: &mut Printer, style: Style) -> Result<i32> {
    Ok(match command {
        Command::Start(a) => {
            let s = start::start(manager, a)?;
            if p.json {
                p.json_doc(&json::SessionDoc::from(&s))?;
            } else if s.status.is_active() {
                p.line(&s.id)?;
            }
            if s.status.is_active() {
                exit::OK
            } else {
                p.flush()?;
                render::error(
                    &style,
                    &format!(
                        "session {} could not start: {}",
                        s.short_id(),
                        s.error.as_deref().unwrap_or("unknown reason")
                    ),
                    None,
                );
                exit::FAILURE
            }
        }
        Command::List(a) => {
            let (sessions, problems) = list::list(manager, a.status.as_deref(), p.json)?;
            for pr in &problems {
                render::warning(&style, &format!("skipped session {}: {}", pr.id, pr.error));
            }
            let stalls: Vec<_> = sessions.iter().map(|s| manager.stall(s)).collect();
            if p.json {
                p.json_doc(&json::ListJson {
                    schema_version: json::SCHEMA_VERSION,
                    sessions: sessions
                        .iter()
                        .zip(&stalls)
                        .map(|(s, st)| json::SessionJson::from(s).with_stall(st.as_ref()))
                        .collect(),
                    problems: problems
                        .iter()
                        .map(|pr| json::ProblemJson {
                            id: pr.id.clone(),
                            error: pr.error.to_string(),
                        })
                        .collect(),
                })?;
            } else {
                // About a terminal line a session: grown once, not doubled
                // a dozen times for thousands of rows.
                let mut table = String::with_capacity((sessions.len() + 2) * 128);
                human::list(&style, &sessions, &stalls, terminal_width(), &mut table);
                p.text(&table)?;
            }
            // The process ends with this command: freeing thousands of
            // sessions one string at a time would only delay its exit.
            std::mem::forget(sessions);
            exit::OK
        }
        Command::Show(a) => {
            let s = manager.get(&a.id)?;
            let stall = manager.stall(&s);
            if p.json {
                let mut doc = json::ShowJson::from(&s);
                doc.session = doc.session.with_stall(stall.as_ref());
                p.json_doc(&doc)?;
            } else {
                for l in human::show(&style, &s, stall.as_ref()) {
                    p.line(&l)?;
                }
            }
            exit::OK
        }
        Command::Inject(a) => {
            let s = manager.inject(&a.id, &a.message.join(" "))?;
            if p.json {
                p.json_doc(&json::SessionDoc::from(&s))?;
            } else if s.status.is_active() {
                p.line(&format!("{} turn {}", s.id, s.turn))?;
            }
            if s.status.is_active() {
                exit::OK
            } else {
                p.flush()?;
                render::error(
                    &style,
                    &format!(
                        "turn {} of session {} could not start: {}",
                        s.turn,
                        s.short_id(),
                        s.error.as_deref().unwrap_or("unknown reason")
                    ),
                    None,
                );
                exit::FAILURE
            }
        }
        Command::Kill(a) => kill::kill(manager, &a, p)?,
        Command::Rm(a) => kill::remove(manager, &a.ids, a.force, p)?,
        Command::Trajectory(a) => trajectory::show(manager, &a, p)?,
        Command::Output(a) => output::output(manager, &a, p)?,
        Command::Watch(a) => watch::watch(manager, &a.id, a.full, p)?,
        Command::Wait(a) => wait::wait(manager, &a.ids, a.any, a.timeout, p)?,
        Command::Clean(a) => clean::clean(manager, a.older_than, a.yes, p)?,
        Command::Doctor(a) => doctor::doctor(manager, a.fix, p)?,
        Command::Completions(_) | Command::Session(_) | Command::Supervise(_) => {
            unreachable!("handled in run")
        }
    })
}

/// Maps zwarm 2.3.5's `session` commands onto today's. Their `-d DIR` named
/// the project whose `.zwarm` holds the sessions.
fn legacy(cmd: LegacyCommand, global_dir: Option<PathBuf>) -> (Command, PathBuf) {
    use crate::cli::*;
    let dir = |project: Option<PathBuf>| match (global_dir.clone(), project) {
        (Some(d), _) => d,
        (None, Some(p)) => p.join(".zwarm"),
        (None, None) => state_dir(None),
    };
    match cmd {
        LegacyCommand::Start {
            task,
            project,
            model,
            adapter,
        } => {
            let cd = project.clone();
            (
                Command::Start(StartArgs {
                    task: vec![task],
                    adapter,
                    model,
                    cd,
                    sandbox: None,
                    source: "user".into(),
                }),
                dir(project),
            )
        }
        LegacyCommand::Ls { project, .. } => {
            (Command::List(ListArgs { status: None }), dir(project))
        }
        LegacyCommand::Show { id, project } => (Command::Show(IdArg { id }), dir(project)),
        LegacyCommand::Logs {
            id,
            project,
            turn,
            follow,
        } => {
            let c = if follow {
                Command::Watch(WatchArgs { id, full: false })
            } else {
                Command::Output(OutputArgs {
                    id,
                    turn,
                    stderr: false,
                })
            };
            (c, dir(project))
        }
        LegacyCommand::Inject {
            id,
            message,
            project,
        } => (
            Command::Inject(InjectArgs {
                id,
                message: vec![message],
            }),
            dir(project),
        ),
        LegacyCommand::Kill { id, project } => (
            Command::Kill(KillArgs {
                ids: vec![id],
                all: false,
                delete: false,
            }),
            dir(project),
        ),
        LegacyCommand::Clean {
            project,
            keep_days,
            yes,
        } => (
            Command::Clean(CleanArgs {
                older_than: std::time::Duration::from_secs(keep_days * 86400),
                yes,
            }),
            dir(project),
        ),
    }
}

fn terminal_width() -> usize {
    if let Some(w) = std::env::var("COLUMNS").ok().and_then(|c| c.parse().ok()) {
        return w;
    }
    let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
    // SAFETY: TIOCGWINSZ fills the struct we pass; failure leaves it zeroed.
    let ok = unsafe { libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut ws) } == 0;
    if ok && ws.ws_col > 0 {
        ws.ws_col as usize
    } else {
        120
    }
}
