//! A verb run on a remote (`--host NAME`, or ids `NAME:ID`): its arguments
//! rebuilt as an argv, run there by `zwarm remote-exec`, and what it
//! printed passed on: the same table, or the same document with `host`
//! added, and the same exit status.

use super::{Ctx, Outcome};
use crate::cli::{
    CleanArgs, Command, InjectArgs, KillArgs, RmArgs, StartArgs, TrajectoryArgs, WaitArgs,
};
use crate::error::Error;
use crate::remote::config::Config;
use crate::remote::ordered::Ordered;
use crate::remote::transport::{self, Request};
use crate::remote::{split_id, Host};
use crate::render::json::{with_host, HostJson};
use crate::render::{self};
use anyhow::Result;
use std::io::Write;
use std::time::Duration;

/// The host a command is for, if any, and its ids without their `NAME:`:
/// `--host`, or the prefix of its ids, which must all agree.
pub(crate) fn host_of(flag: Option<&str>, ids: &[&str]) -> Result<Option<String>, Error> {
    let mut host = flag.map(str::to_string);
    let mut local = false;
    for id in ids {
        match split_id(id) {
            Some((name, _)) => match &host {
                Some(h) if h != name => {
                    return Err(Error::Usage(format!(
                        "'{id}' is on host {name}, not {h}: one command runs on one host"
                    )))
                }
                _ => host = Some(name.to_string()),
            },
            None => local = true,
        }
    }
    if local && flag.is_none() && host.is_some() {
        return Err(Error::Usage(
            "ids of this store and of a remote in one command: give each host its own".into(),
        ));
    }
    Ok(host)
}

fn strip(id: &str) -> String {
    split_id(id).map_or(id, |(_, id)| id).to_string()
}

/// The ids a command names, as given.
pub(crate) fn ids_of(command: &Command) -> Vec<&str> {
    match command {
        Command::Show(a) => vec![a.id.as_str()],
        Command::Inject(a) => vec![a.id.as_str()],
        Command::Trajectory(a) => vec![a.id.as_str()],
        Command::Kill(a) => a.ids.iter().map(String::as_str).collect(),
        Command::Wait(a) => a.ids.iter().map(String::as_str).collect(),
        Command::Diff(a) => vec![a.id.as_str()],
        Command::Apply(a) => vec![a.id.as_str()],
        Command::Output(a) => vec![a.id.as_str()],
        Command::Watch(a) => vec![a.id.as_str()],
        Command::Retry(a) => vec![a.id.as_str()],
        Command::Rm(a) => a.ids.iter().map(String::as_str).collect(),
        _ => Vec::new(),
    }
}

fn secs(d: Duration) -> String {
    format!("{}ms", d.as_millis())
}

/// The verb's argv for the remote, its ids without `NAME:`; an error for a
/// verb that does not run on remotes yet.
pub(crate) fn argv_of(command: &Command, host: &Host) -> Result<Vec<String>, Error> {
    let mut v: Vec<String> = Vec::new();
    let mut push = |words: &[&str]| v.extend(words.iter().map(|w| w.to_string()));
    match command {
        Command::List(a) => {
            push(&["list"]);
            if let Some(st) = &a.status {
                push(&["--status", st]);
            }
        }
        Command::Show(a) => push(&["show", "--", &strip(&a.id)]),
        Command::Trajectory(a) => trajectory(&mut v, a),
        Command::Wait(a) => wait(&mut v, a),
        Command::Kill(a) => kill(&mut v, a),
        Command::Start(a) => start(&mut v, a, host)?,
        Command::Inject(a) => inject(&mut v, a),
        Command::Watch(a) => {
            push(&["watch"]);
            if a.full {
                push(&["--full"]);
            }
            push(&["--", &strip(&a.id)]);
        }
        Command::Diff(a) => {
            push(&["diff"]);
            if let Some(t) = a.turn {
                push(&["--turn", &t.to_string()]);
            }
            if a.stat {
                push(&["--stat"]);
            }
            push(&["--", &strip(&a.id)]);
        }
        Command::Output(a) => {
            push(&["output"]);
            if let Some(t) = a.turn {
                push(&["--turn", &t.to_string()]);
            }
            if a.stderr {
                push(&["--stderr"]);
            }
            push(&["--", &strip(&a.id)]);
        }
        Command::Retry(a) => {
            push(&["retry"]);
            if a.at_reset {
                push(&["--at-reset"]);
            }
            push(&["--", &strip(&a.id)]);
        }
        Command::Rm(a) => rm(&mut v, a),
        Command::Clean(a) => clean(&mut v, a),
        Command::Doctor(a) => {
            push(&["doctor"]);
            if a.fix {
                push(&["--fix"]);
            }
        }
        Command::Version => push(&["version"]),
        other => {
            let verb = format!("{other:?}");
            let verb = verb.split(['(', ' ']).next().unwrap_or("").to_lowercase();
            return Err(Error::Usage(format!(
                "`{verb}` runs here only: give no --host"
            )));
        }
    }
    Ok(v)
}

fn trajectory(v: &mut Vec<String>, a: &TrajectoryArgs) {
    v.push("trajectory".into());
    if a.full {
        v.push("--full".into());
    }
    if let Some(t) = a.turn {
        v.extend(["--turn".into(), t.to_string()]);
    }
    v.extend(["--".into(), strip(&a.id)]);
}

fn wait(v: &mut Vec<String>, a: &WaitArgs) {
    v.push("wait".into());
    if a.any {
        v.push("--any".into());
    }
    if let Some(t) = a.timeout {
        v.extend(["--timeout".into(), secs(t)]);
    }
    v.push("--".into());
    v.extend(a.ids.iter().map(|i| strip(i)));
}

fn kill(v: &mut Vec<String>, a: &KillArgs) {
    v.push("kill".into());
    if a.all {
        v.push("--all".into());
    }
    if a.delete {
        v.push("--delete".into());
    }
    if !a.ids.is_empty() {
        v.push("--".into());
        v.extend(a.ids.iter().map(|i| strip(i)));
    }
}

fn rm(v: &mut Vec<String>, a: &RmArgs) {
    v.push("rm".into());
    if a.force {
        v.push("--force".into());
    }
    if a.delete_branch {
        v.push("--delete-branch".into());
    }
    v.push("--".into());
    v.extend(a.ids.iter().map(|i| strip(i)));
}

fn clean(v: &mut Vec<String>, a: &CleanArgs) {
    v.push("clean".into());
    v.push(format!("--older-than={}", secs(a.older_than)));
    if a.yes {
        v.push("--yes".into());
    }
    if a.snapshots {
        v.push("--snapshots".into());
    }
}

fn opt(v: &mut Vec<String>, name: &str, value: Option<String>) {
    if let Some(x) = value {
        v.push(format!("{name}={x}"));
    }
}

fn start(v: &mut Vec<String>, a: &StartArgs, host: &Host) -> Result<(), Error> {
    v.push("start".into());
    let cd = match &a.cd {
        Some(p) => Some(
            p.to_str()
                .ok_or_else(|| Error::Usage("-C is not UTF-8".into()))?
                .to_string(),
        ),
        None => host.remote.workdir.clone(),
    };
    let Some(cd) = cd else {
        return Err(Error::Usage(format!(
            "start on host {} needs -C DIR (a directory there), or the remote's --workdir",
            host.name
        )));
    };
    v.push(format!("--cd={cd}"));
    v.push(format!("--adapter={}", adapter(a.adapter)));
    opt(v, "--model", a.model.clone());
    opt(v, "--sandbox", a.sandbox.clone());
    v.push(format!("--source={}", a.source));
    opt(v, "--worktree", a.worktree.clone());
    opt(v, "--base", a.base.clone());
    opt(v, "--setup", a.setup.clone());
    if a.commit_turns {
        v.push("--commit-turns".into());
    }
    opt(v, "--timeout", a.timeout.map(secs));
    opt(v, "--on-end", a.on_end.clone());
    opt(v, "--max-running", a.max_running.map(|n| n.to_string()));
    opt(v, "--group", a.group.clone());
    if !a.after.is_empty() {
        v.push(format!("--after={}", a.after.join(",")));
    }
    opt(v, "--max-tokens", a.max_tokens.map(|n| n.to_string()));
    opt(v, "--max-cost", a.max_cost.map(|n| n.to_string()));
    if a.no_snapshot {
        v.push("--no-snapshot".into());
    }
    for arg in &a.agent_args {
        v.push(format!("--agent-arg={arg}"));
    }
    v.push("--".into());
    v.extend(a.task.iter().cloned());
    Ok(())
}

fn inject(v: &mut Vec<String>, a: &InjectArgs) {
    v.push("inject".into());
    opt(v, "--timeout", a.timeout.map(secs));
    opt(v, "--on-end", a.on_end.clone());
    opt(v, "--max-running", a.max_running.map(|n| n.to_string()));
    opt(v, "--group", a.group.clone());
    opt(v, "--max-tokens", a.max_tokens.map(|n| n.to_string()));
    opt(v, "--max-cost", a.max_cost.map(|n| n.to_string()));
    for arg in &a.agent_args {
        v.push(format!("--agent-arg={arg}"));
    }
    v.push("--".into());
    v.push(strip(&a.id));
    v.extend(a.message.iter().cloned());
}

fn adapter(a: crate::cli::AdapterArg) -> &'static str {
    use crate::cli::AdapterArg::*;
    match a {
        Codex => "codex",
        Claude => "claude",
        Gemini => "gemini",
        Qwen => "qwen",
    }
}

/// The options every remote verb is given after its name: the output this
/// side wants, and the remote's store.
pub(crate) fn with_globals(
    mut argv: Vec<String>,
    ctx: &Ctx,
    host: &Host,
    stall: Duration,
) -> Vec<String> {
    argv.splice(
        1..1,
        crate::hosts::globals(ctx.json(), ctx.style().color, stall, host),
    );
    argv
}

/// Runs `command` on the host `name` and passes on what it printed.
pub(crate) fn run(
    ctx: &mut Ctx,
    name: &str,
    command: &Command,
    stall: Duration,
) -> Result<Outcome> {
    let host = Config::load()?.host(name)?;
    let argv = with_globals(argv_of(command, &host)?, ctx, &host, stall);
    let columns = super::list::terminal_width().min(u16::MAX as usize) as u16;
    let request = Request {
        argv,
        columns: Some(columns),
    };
    if let Command::Watch(_) = command {
        return watch(ctx, &host, &request);
    }
    let reply = transport::run(&host, &request)?;
    render::remote_stderr(&reply.stderr, Some(&host.name));
    // `output` is the agent's own JSONL, with --json or without.
    let document = ctx.json() && !matches!(command, Command::Output(_));
    if document && !reply.stdout.is_empty() {
        let mut doc: Ordered = serde_json::from_slice(&reply.stdout).map_err(|e| {
            crate::remote::HostError::BadReply {
                host: host.name.clone(),
                detail: format!("not a JSON document: {e}"),
            }
        })?;
        with_host(&mut doc, &live(&host.name));
        ctx.p.json_doc(&doc)?;
    } else {
        ctx.p.out().write_all(&reply.stdout)?;
    }
    Ok(Outcome(reply.code))
}

/// `watch` there: its lines passed on as they come, each NDJSON line with
/// `host` added.
fn watch(ctx: &mut Ctx, host: &Host, request: &Request) -> Result<Outcome> {
    let json = ctx.json();
    let tag = live(&host.name);
    let mut pending: Vec<u8> = Vec::new();
    let mut failed: Option<anyhow::Error> = None;
    let reply = transport::run_streaming(host, request, |chunk| {
        let step = if json {
            pending.extend_from_slice(chunk);
            let mut result = Ok(());
            while let Some(end) = pending.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = pending.drain(..=end).collect();
                result = watch_line(ctx, &line, &tag, &host.name);
                if result.is_err() {
                    break;
                }
            }
            result
        } else {
            ctx.p.out().write_all(chunk).map_err(Into::into)
        };
        match step.and_then(|()| ctx.p.flush().map_err(Into::into)) {
            Ok(()) => true,
            Err(e) => {
                failed = Some(e);
                false
            }
        }
    });
    if let Some(e) = failed {
        return Err(e);
    }
    let reply = reply?;
    render::remote_stderr(&reply.stderr, Some(&host.name));
    Ok(Outcome(reply.code))
}

fn watch_line(ctx: &mut Ctx, line: &[u8], tag: &HostJson, host: &str) -> Result<()> {
    let mut doc: Ordered =
        serde_json::from_slice(line).map_err(|e| crate::remote::HostError::BadReply {
            host: host.to_string(),
            detail: format!("not a line of NDJSON: {e}"),
        })?;
    with_host(&mut doc, tag);
    ctx.p.json_line(&doc)?;
    Ok(())
}

pub(crate) use crate::hosts::live;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::Cli;
    use clap::Parser;

    fn host(workdir: Option<&str>) -> Host {
        let mut h = Host::b1("b1");
        h.remote.workdir = workdir.map(Into::into);
        h
    }

    fn argv(words: &[&str], h: &Host) -> Result<Vec<String>, Error> {
        let cli =
            Cli::try_parse_from(std::iter::once("zwarm").chain(words.iter().copied())).unwrap();
        argv_of(&cli.command, h)
    }

    #[test]
    fn ids_name_one_host() {
        assert_eq!(host_of(None, &["3f2a"]).unwrap(), None);
        assert_eq!(
            host_of(None, &["b1:3f2a", "b1:9c"]).unwrap().as_deref(),
            Some("b1")
        );
        assert_eq!(
            host_of(Some("b1"), &["3f2a"]).unwrap().as_deref(),
            Some("b1")
        );
        assert!(host_of(None, &["b1:3f2a", "b2:9c"]).is_err());
        assert!(host_of(Some("b2"), &["b1:3f2a"]).is_err());
        assert!(host_of(None, &["b1:3f2a", "9c"]).is_err());
    }

    #[test]
    fn the_remote_argv_keeps_every_option_and_the_task_verbatim() {
        let h = host(Some("/srv/w"));
        let task = "a 'b' $(c) ; `d`\né";
        assert_eq!(
            argv(
                &["start", "-a", "claude", "--timeout", "90s", "--", task],
                &h
            )
            .unwrap(),
            [
                "start",
                "--cd=/srv/w",
                "--adapter=claude",
                "--source=user",
                "--timeout=90000ms",
                "--",
                task
            ]
        );
        assert_eq!(
            argv(&["show", "b1:3f2a"], &h).unwrap(),
            ["show", "--", "3f2a"]
        );
        assert_eq!(
            argv(&["wait", "--any", "b1:3f", "b1:9c"], &h).unwrap(),
            ["wait", "--any", "--", "3f", "9c"]
        );
        assert_eq!(argv(&["kill", "--all"], &h).unwrap(), ["kill", "--all"]);
    }

    #[test]
    fn a_remote_start_needs_a_directory_there() {
        let e = argv(&["start", "x"], &host(None)).unwrap_err();
        assert!(e.to_string().contains("needs -C DIR"), "{e}");
        assert!(argv(&["start", "-C", "/w", "x"], &host(None)).is_ok());
        assert_eq!(
            argv(&["clean", "--older-than", "1h", "--yes"], &host(None)).unwrap(),
            ["clean", "--older-than=3600000ms", "--yes"]
        );
        assert_eq!(
            argv(&["rm", "-f", "b1:3f", "b1:9c"], &host(None)).unwrap(),
            ["rm", "--force", "--", "3f", "9c"]
        );
        assert_eq!(
            argv(&["retry", "--at-reset", "b1:3f"], &host(None)).unwrap(),
            ["retry", "--at-reset", "--", "3f"]
        );
        assert_eq!(
            argv(&["doctor", "--fix"], &host(None)).unwrap(),
            ["doctor", "--fix"]
        );
        assert_eq!(argv(&["version"], &host(None)).unwrap(), ["version"]);
        for here in [&["mcp"][..], &["remote", "ls"]] {
            let e = argv(here, &host(None)).unwrap_err();
            assert!(e.to_string().contains("runs here only"), "{e}");
        }
        assert_eq!(
            argv(&["diff", "--stat", "b1:3f"], &host(None)).unwrap(),
            ["diff", "--stat", "--", "3f"]
        );
    }
}
