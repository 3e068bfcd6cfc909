//! `wait` on sessions of several remotes (`wait b1:3f2a b2:9c1d`): each
//! host's `wait` runs there at once, in a thread of its own here, blocked
//! on its own store; nothing polls. The document is one wait document with
//! the sessions in the order given, each with its `host`; the text is each
//! host's, in the order the hosts were first named; the exit status is the
//! worst of theirs (1 for a host that could not be asked).

use super::hosted::{live, with_globals};
use super::{Ctx, Outcome};
use crate::cli::WaitArgs;
use crate::error::Error;
use crate::remote::config::Config;
use crate::remote::ordered::Ordered;
use crate::remote::transport::{self, Request};
use crate::remote::{split_id, Host};
use crate::render::json::SCHEMA_VERSION;
use crate::render::{self};
use anyhow::Result;
use serde::Serialize;
use std::collections::VecDeque;
use std::io::Write;
use std::time::Duration;

/// The hosts a `wait` names when it names more than one, every id with
/// its `NAME:`, in the order first named; None for any other wait.
pub(crate) fn hosts(flag: Option<&str>, a: &WaitArgs) -> Option<Vec<String>> {
    if flag.is_some() {
        return None;
    }
    let mut names: Vec<String> = Vec::new();
    for id in &a.ids {
        let (name, _) = split_id(id)?;
        if !names.iter().any(|n| n == name) {
            names.push(name.to_string());
        }
    }
    (names.len() > 1).then_some(names)
}

#[derive(Serialize)]
struct WaitAll {
    schema_version: u32,
    timed_out: bool,
    sessions: Vec<Ordered>,
}

pub(crate) fn run(
    ctx: &mut Ctx,
    a: &WaitArgs,
    names: &[String],
    stall: Duration,
) -> Result<Outcome> {
    if a.any {
        return Err(Error::Usage(
            "wait --any on several hosts is not supported yet: wait on one host's sessions".into(),
        )
        .into());
    }
    let config = Config::load()?;
    let hosts: Vec<Host> = names
        .iter()
        .map(|n| config.host(n))
        .collect::<Result<_, _>>()?;
    let (tx, rx) = std::sync::mpsc::channel();
    for (i, host) in hosts.iter().enumerate() {
        let mut argv = vec!["wait".to_string()];
        if let Some(t) = a.timeout {
            argv.push(format!("--timeout={}ms", t.as_millis()));
        }
        argv.push("--".into());
        argv.extend(
            a.ids
                .iter()
                .filter_map(|id| split_id(id).filter(|(n, _)| *n == host.name))
                .map(|(_, id)| id.to_string()),
        );
        let request = Request {
            argv: with_globals(argv, ctx, host, stall),
            columns: Some(super::list::terminal_width().min(u16::MAX as usize) as u16),
        };
        let (tx, host) = (tx.clone(), host.clone());
        std::thread::spawn(move || {
            let _ = tx.send((i, transport::run(&host, &request)));
        });
    }
    drop(tx);
    let mut replies: Vec<Option<_>> = hosts.iter().map(|_| None).collect();
    for (i, reply) in rx {
        replies[i] = Some(reply);
    }
    let mut outcome = Outcome::OK;
    let mut timed_out = false;
    let mut theirs: Vec<VecDeque<Ordered>> = hosts.iter().map(|_| VecDeque::new()).collect();
    for ((host, reply), sessions) in hosts.iter().zip(replies).zip(theirs.iter_mut()) {
        let reply = match reply {
            Some(Ok(r)) => r,
            Some(Err(e)) => {
                render::error(&ctx.style(), &e.to_string(), None);
                outcome = outcome.worst(Outcome::FAILURE);
                continue;
            }
            None => continue,
        };
        render::remote_stderr(&reply.stderr);
        outcome = outcome.worst(Outcome(reply.code));
        if !ctx.json() {
            ctx.p.out().write_all(&reply.stdout)?;
            continue;
        }
        if reply.stdout.is_empty() {
            continue;
        }
        let mut doc: Ordered = serde_json::from_slice(&reply.stdout).map_err(|e| {
            crate::remote::HostError::BadReply {
                host: host.name.clone(),
                detail: format!("not a wait document: {e}"),
            }
        })?;
        timed_out |= matches!(doc.get("timed_out"), Some(Ordered::Bool(true)));
        let tag = Ordered::of(&live(&host.name))?;
        if let Some(Ordered::Array(ss)) = doc.remove("sessions") {
            for mut s in ss {
                s.set("host", tag.clone());
                sessions.push_back(s);
            }
        }
    }
    if ctx.json() {
        // In the order given: each host answered for its ids in that order.
        let mut all = Vec::new();
        for id in &a.ids {
            let at = split_id(id).and_then(|(n, _)| names.iter().position(|x| x == n));
            if let Some(s) = at.and_then(|i| theirs[i].pop_front()) {
                all.push(s);
            }
        }
        ctx.p.json_doc(&WaitAll {
            schema_version: SCHEMA_VERSION,
            timed_out,
            sessions: all,
        })?;
    }
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::Cli;
    use clap::Parser;

    fn hosts_of(words: &[&str]) -> Option<Vec<String>> {
        let cli =
            Cli::try_parse_from(std::iter::once("zwarm").chain(words.iter().copied())).unwrap();
        match &cli.command {
            crate::cli::Command::Wait(a) => hosts(cli.host.as_deref(), a),
            _ => None,
        }
    }

    #[test]
    fn only_a_wait_on_several_hosts_is_one() {
        assert_eq!(
            hosts_of(&["wait", "b1:3f", "b2:9c", "b1:aa"]),
            Some(vec!["b1".to_string(), "b2".to_string()])
        );
        assert_eq!(hosts_of(&["wait", "b1:3f", "b1:9c"]), None);
        assert_eq!(hosts_of(&["wait", "b1:3f", "9c"]), None);
        assert_eq!(hosts_of(&["--host", "b1", "wait", "b1:3f", "b2:9c"]), None);
    }
}
