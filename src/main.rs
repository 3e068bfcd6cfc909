//! zwarm: run coding agents (Codex CLI, Claude Code, Gemini CLI) as background sessions.
//!
//! Data flows one way: `cli` parses, a `commands` verb calls the
//! [`session::manager`], which uses the [`store`], the
//! [`session::supervisor`] and an [`agent`] adapter; only `render` prints.
//! One binary, no library: every module is private to it, so the compiler
//! reports whatever is not used.
#![deny(clippy::print_stdout, clippy::print_stderr)]

mod agent;
mod alloc;
mod cli;
mod commands;
mod dir;
mod error;

mod git;
mod hosts;
mod mcp;
mod model;
mod process;
mod queue;
mod remote;
mod render;
mod rights;
mod session;
mod store;
#[cfg(test)]
mod testing;
mod timefmt;
mod top;
mod turn;

/// The system's allocator, and mimalloc's once a turn is decoded on several
/// threads (see [`alloc`]). mimalloc is built without transparent huge
/// pages (`no_thp`): a 2 MiB page made resident for a few objects doubled a
/// turn's peak memory.
#[global_allocator]
static ALLOCATOR: alloc::Allocator = alloc::Allocator;

use clap::Parser;
use error::{exit, Error};
use render::Style;
use std::process::ExitCode;

fn main() -> ExitCode {
    // A supervisor is started for every turn and may then wait in a queue
    // for hours: it is read straight from its argv, without building the
    // whole command line's parser, whose code and tables would otherwise
    // stay in every waiting supervisor's memory.
    if let Some(a) = cli::supervise_args() {
        let code = match session::supervisor::run(&a.state_dir, &a.id, a.turn) {
            Ok(code) => code,
            Err(e) => {
                // Its stderr is the session's supervisor.log.
                let _ = std::io::Write::write_fmt(
                    &mut std::io::stderr(),
                    format_args!("zwarm supervisor: {e}\n"),
                );
                exit::FAILURE
            }
        };
        return ExitCode::from(code.clamp(0, 255) as u8);
    }
    let cli = match cli::Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            // Help and version go to stdout with 0; usage errors exit 2.
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { exit::USAGE as u8 } else { 0 });
        }
    };
    let style = Style::decide(cli.color);
    let code = match commands::run(cli) {
        Ok(code) => code,
        Err(err) => {
            if is_broken_pipe(&err) {
                return ExitCode::SUCCESS;
            }
            let typed = err.downcast_ref::<Error>();
            let hint = typed.and_then(Error::hint);
            render::error(&style, &one_line(&err), hint.as_deref());
            typed.map(Error::exit_code).unwrap_or(exit::FAILURE)
        }
    };
    ExitCode::from(code.clamp(0, 255) as u8)
}

/// The error and its causes on one line.
fn one_line(err: &anyhow::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
    }
    parts.join(": ").replace('\n', " ")
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
