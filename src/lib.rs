//! zwarm: run coding agents (Codex CLI, Claude Code) as background sessions.
//!
//! Data flows one way: `cli` parses, a `commands` verb calls the
//! [`session::manager`], which uses the [`store`], the [`supervisor`] and an
//! [`agent`] adapter; only `render` prints.
#![deny(clippy::print_stdout, clippy::print_stderr)]

pub mod agent;
pub mod cli;
pub mod commands;
pub mod dir;
pub mod error;
pub mod model;
pub mod process;
pub mod render;
pub mod rights;
pub mod session;
pub mod store;
#[cfg(test)]
mod testing;
pub mod timefmt;
pub mod turn;
