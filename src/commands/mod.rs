//! One module per verb: arguments in, a manager call, data out for `render`.
//! `run` wires a parsed command line to them.

mod kill;
mod list;
mod output;
mod start;
mod trajectory;

use crate::cli::{Cli, Command};
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
        let (program, args) = a.argv.split_first().expect("clap requires the argv");
        return Ok(crate::supervisor::run(
            &a.state_dir,
            &a.id,
            a.turn,
            program,
            args,
        )?);
    }
    let manager = Manager::new(Store::new(state_dir(cli.dir.as_deref())));
    let mut p = Printer::new(cli.json, style);
    let code = match cli.command {
        Command::Start(a) => {
            let s = start::start(&manager, a)?;
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
            let (sessions, problems) = list::list(&manager, a.status.as_deref())?;
            for pr in &problems {
                render::warning(&style, &format!("skipped session {}: {}", pr.id, pr.error));
            }
            if p.json {
                p.json_doc(&json::ListJson {
                    schema_version: json::SCHEMA_VERSION,
                    sessions: sessions.iter().map(Into::into).collect(),
                    problems: problems
                        .iter()
                        .map(|pr| json::ProblemJson {
                            id: pr.id.clone(),
                            error: pr.error.to_string(),
                        })
                        .collect(),
                })?;
            } else {
                for l in human::list(&style, &sessions, terminal_width()) {
                    p.line(&l)?;
                }
            }
            exit::OK
        }
        Command::Show(a) => {
            let s = manager.get(&a.id)?;
            if p.json {
                p.json_doc(&json::ShowJson::from(&s))?;
            } else {
                for l in human::show(&style, &s) {
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
        Command::Kill(a) => kill::kill(&manager, &a, &mut p)?,
        Command::Rm(a) => kill::remove(&manager, &a.ids, a.force, &mut p)?,
        Command::Trajectory(a) => trajectory::show(&manager, &a, &mut p)?,
        Command::Output(a) => output::output(&manager, &a, &mut p)?,
        Command::Supervise(_) => unreachable!("handled above"),
    };
    p.flush()?;
    Ok(code)
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
