//! `start`: a new session, its first turn launched.

use super::{launch, Ctx, Outcome};
use crate::agent::AgentKind;
use crate::cli::{AdapterArg, StartArgs};
use crate::error::Error;
use crate::git::Git;
use crate::model::Budget;
use crate::render::human::launch::Launch;
use crate::render::{self, human};
use crate::session::manager::{QueueOptions, StartRequest, WorktreeRequest};
use anyhow::{Context, Result};
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

pub(crate) fn run(ctx: &mut Ctx, a: &StartArgs) -> Result<Outcome> {
    let agent = match a.adapter {
        AdapterArg::Codex => AgentKind::Codex,
        AdapterArg::Claude => AgentKind::Claude,
        AdapterArg::Gemini => AgentKind::Gemini,
        AdapterArg::Qwen => AgentKind::Qwen,
    };
    let working_dir = match &a.cd {
        Some(d) => cd_dir(d)?,
        None => std::env::current_dir().context("cannot read the current directory")?,
    };
    let s = ctx.manager.start(StartRequest {
        task: a.task.join(" "),
        agent,
        model: a.model.clone(),
        sandbox: a.sandbox.clone(),
        working_dir,
        source: a.source.clone(),
        worktree: a.worktree.as_ref().map(|name| WorktreeRequest {
            name: (!name.is_empty()).then(|| name.clone()),
            base: a.base.clone().unwrap_or_else(|| "HEAD".into()),
            setup: a.setup.clone(),
            commit_turns: a.commit_turns,
        }),
        snapshots: !a.no_snapshot,
        timeout: a.timeout,
        on_end: a.on_end.clone(),
        queue: QueueOptions {
            max_running: a.max_running,
            group: a.group.clone(),
        },
        after: a.after.clone(),
        agent_args: a.agent_args.clone(),
        budget: Budget {
            max_tokens: a.max_tokens,
            max_cost_usd: a.max_cost,
        },
    })?;
    // A session that takes snapshots is in a repository: git is asked only
    // of one that does not.
    if s.worktree.is_none() && (s.snapshots || Git::at(&s.working_dir).toplevel().is_ok()) {
        // Two agents in one checkout overwrite each other's edits, and
        // their snapshots mix.
        if let Ok((sessions, _)) = ctx.manager.list_brief(false) {
            if let Some(other) = sessions
                .iter()
                .find(|o| o.id != s.id && o.status.is_active() && o.working_dir == s.working_dir)
            {
                render::warning(&ctx.style(), &human::git::shared(other.short_id()));
            }
        }
    }
    if let Some(w) = &s.worktree {
        // What is uncommitted here is not in the worktree: it starts from
        // the base commit.
        let here = Git::at(&w.repo);
        if here
            .run(["status", "--porcelain", "--untracked-files=no"])
            .is_ok_and(|out| !out.is_empty())
        {
            render::warning(&ctx.style(), &human::git::left_behind(&w.branch));
        }
    }
    launch::report(ctx, &s, Launch::Start)
}

/// The directory `--cd` names. One that is missing or not a directory is
/// the user's mistake, told in terms of the option they gave, not of the
/// system call that found it out.
fn cd_dir(dir: &Path) -> Result<PathBuf, Error> {
    let problem = match std::fs::metadata(dir) {
        Ok(m) if m.is_dir() => return Ok(dir.to_path_buf()),
        Ok(_) => "not a directory",
        Err(e) if e.kind() == ErrorKind::NotFound => "no such directory",
        // A path that goes on below a file: /etc/passwd/x.
        Err(e) if e.kind() == ErrorKind::NotADirectory => "not a directory",
        Err(e) => return Err(Error::io("open", dir, e)),
    };
    Err(Error::Usage(format!("--cd {}: {problem}", dir.display())))
}
