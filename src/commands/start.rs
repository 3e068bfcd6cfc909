//! `start`: a new session, its first turn launched.

use crate::agent::AgentKind;
use crate::cli::{AdapterArg, StartArgs};
use crate::session::manager::{Manager, StartRequest};
use crate::session::model::Session;
use anyhow::{Context, Result};

pub fn start(manager: &Manager, a: StartArgs) -> Result<Session> {
    let agent = match a.adapter {
        AdapterArg::Codex => AgentKind::Codex,
        AdapterArg::Claude => AgentKind::Claude,
    };
    let working_dir = match a.cd {
        Some(d) => d,
        None => std::env::current_dir().context("cannot read the current directory")?,
    };
    Ok(manager.start(StartRequest {
        task: a.task.join(" "),
        agent,
        model: a.model,
        sandbox: a.sandbox,
        working_dir,
        source: a.source,
    })?)
}
