//! `list --all-hosts`: this store's sessions and every remote's, each
//! remote asked in a thread of its own and given `--host-timeout` at most.
//! A remote that does not answer in time (or at all) is shown stale: the
//! sessions it listed last, kept in the cache, and when that was. Its
//! sessions keep their statuses; staleness is said of the host, never
//! guessed into a status.

use super::{list, Ctx, Outcome};
use crate::cli::ListArgs;
use crate::hosts::{as_session, ask, list_argv, live, settle, Listed};
use crate::model::{Session, SessionStatus};
use crate::remote::config::Config;
use crate::remote::ordered::Ordered;
use crate::remote::{cache, Host, HostError};
use crate::render::json::{ListJson, SCHEMA_VERSION};
use crate::render::{self, human};
use anyhow::Result;
use serde::Serialize;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How each host fared, beside the sessions in the document.
#[derive(Serialize)]
struct HostState {
    name: String,
    stale: bool,
    last_seen: Option<String>,
    error: Option<String>,
}

#[derive(Serialize)]
struct AllHostsJson {
    schema_version: u32,
    sessions: Vec<Ordered>,
    problems: Ordered,
    hosts: Vec<HostState>,
}

pub(crate) fn run(ctx: &mut Ctx, a: &ListArgs, stall: Duration) -> Result<Outcome> {
    let config = Config::load()?;
    let hosts: Vec<Host> = config.hosts().collect();
    // The remotes are asked first: they answer while this store is read.
    let (tx, rx) = mpsc::channel();
    for (i, host) in hosts.iter().enumerate() {
        let argv = list_argv(host, stall);
        let (tx, host) = (tx.clone(), host.clone());
        // Not joined: one that outlives the bound is left behind, and its
        // ssh dies with this process.
        std::thread::spawn(move || {
            let _ = tx.send((i, ask(&host, argv)));
        });
    }
    drop(tx);
    let deadline = Instant::now() + a.host_timeout;

    let (mut sessions, problems) = ctx.manager.list_brief(ctx.json())?;
    if let Some(want) = a.status.as_deref().and_then(SessionStatus::parse) {
        sessions.retain(|s| s.status == want);
    }
    for pr in &problems {
        render::warning(&ctx.style(), &human::skipped(&pr.id, &pr.error));
    }
    let stalls: Vec<_> = sessions.iter().map(|s| ctx.manager.stall(s)).collect();
    let places: Vec<_> = sessions
        .iter()
        .map(|s| ctx.manager.queue_place(s))
        .collect();

    let mut answers: Vec<Option<Result<Vec<Ordered>, HostError>>> =
        hosts.iter().map(|_| None).collect();
    let mut left = hosts.len();
    while left > 0 {
        let wait = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(wait) {
            Ok((i, answer)) => {
                answers[i] = Some(answer);
                left -= 1;
            }
            Err(_) => break,
        }
    }
    let cache_dir = cache::dir();
    let listed: Vec<Listed> = hosts
        .iter()
        .zip(answers)
        .map(|(host, answer)| {
            let answer = answer.unwrap_or_else(|| {
                Err(HostError::TimedOut {
                    host: host.name.clone(),
                    after: a.host_timeout,
                })
            });
            settle(host, answer, cache_dir.as_deref(), a.status.as_deref())
        })
        .collect();
    for l in &listed {
        if let Some(e) = &l.error {
            render::warning(&ctx.style(), e);
        }
    }
    if ctx.json() {
        let mut local = Ordered::of(&ListJson::new(&sessions, &stalls, &places, &problems))?;
        let here = Ordered::of(&live("local"))?;
        let mut all: Vec<Ordered> = Vec::new();
        if let Some(Ordered::Array(ss)) = local.remove("sessions") {
            for mut s in ss {
                s.set("host", here.clone());
                all.push(s);
            }
        }
        let problems = local
            .remove("problems")
            .unwrap_or(Ordered::Array(Vec::new()));
        let mut states = Vec::new();
        for l in listed {
            let host = Ordered::of(&l.host)?;
            for mut s in l.sessions {
                s.set("host", host.clone());
                all.push(s);
            }
            states.push(HostState {
                name: l.host.name,
                stale: l.host.stale,
                last_seen: l.host.last_seen,
                error: l.error,
            });
        }
        ctx.p.json_doc(&AllHostsJson {
            schema_version: SCHEMA_VERSION,
            sessions: all,
            problems,
            hosts: states,
        })?;
    } else {
        let width = list::terminal_width();
        let mut out = human::host_heading(&ctx.style(), "local", None);
        human::list(&ctx.style(), &sessions, &stalls, &places, width, &mut out);
        for l in &listed {
            let stale = l.host.stale.then(|| {
                (
                    l.error.as_deref().unwrap_or("no answer"),
                    l.host.last_seen.as_deref().unwrap_or("never"),
                )
            });
            out.push_str(&human::host_heading(&ctx.style(), &l.host.name, stale));
            let theirs: Vec<Session> = l.sessions.iter().filter_map(as_session).collect();
            let none = vec![None; theirs.len()];
            let nowhere = vec![None; theirs.len()];
            human::list(&ctx.style(), &theirs, &none, &nowhere, width, &mut out);
        }
        ctx.p.text(&out)?;
    }
    Ok(Outcome::OK)
}
