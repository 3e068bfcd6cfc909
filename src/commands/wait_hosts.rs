//! `wait` on sessions of several hosts (`wait b1:3f2a b2:9c1d 77e0`, a
//! plain id being this store's): each host's `wait` runs at once, in a
//! thread of its own here, blocked on its own store (this one's in a
//! `zwarm wait` of its own); nothing polls. The document is one wait
//! document with the sessions in the order given, each with its `host`;
//! the text is each host's, in the order the hosts were first named.
//! Without `--any` the exit status is the worst of theirs (1 for a host
//! that could not be asked); with it, the first host to see a session end
//! decides, and the others are read as they stand then.

use super::hosted::{live, with_globals};
use super::{Ctx, Outcome};
use crate::cli::WaitArgs;
use crate::remote::config::Config;
use crate::remote::ordered::Ordered;
use crate::remote::transport::{self, Reply, Request};
use crate::remote::{split_id, Host};
use crate::render::json::SCHEMA_VERSION;
use crate::render::{self};
use anyhow::Result;
use serde::Serialize;
use std::collections::VecDeque;
use std::io::Write;
use std::os::unix::process::CommandExt;
use std::sync::mpsc::Receiver;
use std::time::Duration;

/// The name this store goes by among hosts, as in `list --all-hosts`.
const HERE: &str = "local";

/// The hosts a `wait` names when it names more than one (this store is
/// [`HERE`]), in the order first named; None for any other wait.
pub(crate) fn hosts(flag: Option<&str>, a: &WaitArgs) -> Option<Vec<String>> {
    if flag.is_some() {
        return None;
    }
    let mut names: Vec<String> = Vec::new();
    for id in &a.ids {
        let name = split_id(id).map_or(HERE, |(name, _)| name);
        if !names.iter().any(|n| n == name) {
            names.push(name.to_string());
        }
    }
    (names.len() > 1).then_some(names)
}

/// The host of an id, and the id as that host knows it.
fn place_of(id: &str) -> (&str, &str) {
    split_id(id).unwrap_or((HERE, id))
}

/// Where one part of the wait runs.
#[derive(Clone)]
enum Place {
    Here(std::path::PathBuf),
    There(Host),
}

impl Place {
    /// The remote's name; None for this store.
    fn remote_name(&self) -> Option<&str> {
        match self {
            Place::Here(_) => None,
            Place::There(h) => Some(&h.name),
        }
    }

    fn name(&self) -> &str {
        match self {
            Place::Here(_) => HERE,
            Place::There(h) => &h.name,
        }
    }
}

#[derive(Serialize)]
struct WaitAll {
    schema_version: u32,
    timed_out: bool,
    sessions: Vec<Ordered>,
}

/// What one host's wait came to: its reply, or why it could not be asked.
type Answer = Result<Reply, String>;

/// The argv of `place`'s wait for `ids`, up to `timeout`.
fn argv_of(
    ctx: &Ctx,
    place: &Place,
    ids: &[String],
    any: bool,
    timeout: Option<Duration>,
    stall: Duration,
) -> Vec<String> {
    let mut argv = vec!["wait".to_string()];
    if any {
        argv.push("--any".into());
    }
    if let Some(t) = timeout {
        argv.push(format!("--timeout={}ms", t.as_millis().max(1)));
    }
    argv.push("--".into());
    argv.extend(ids.iter().cloned());
    match place {
        Place::There(host) => with_globals(argv, ctx, host, stall),
        Place::Here(dir) => {
            let color = if ctx.style().color { "always" } else { "never" };
            let mut globals = vec![
                format!("--color={color}"),
                format!("--stall-after={}ms", stall.as_millis()),
                format!("--dir={}", dir.display()),
            ];
            if ctx.json() {
                globals.insert(0, "--json".into());
            }
            argv.splice(1..1, globals);
            argv
        }
    }
}

/// Runs `argv` at `place`: over ssh, or this binary here.
fn ask(place: &Place, argv: Vec<String>, columns: u16) -> Answer {
    match place {
        Place::There(host) => transport::run(
            host,
            &Request {
                argv,
                columns: Some(columns),
            },
        )
        .map_err(|e| e.to_string()),
        Place::Here(_) => {
            let exe = std::env::current_exe()
                .map_err(|e| format!("cannot find this zwarm's own program: {e}"))?;
            let mut cmd = std::process::Command::new(exe);
            cmd.args(&argv)
                .env("COLUMNS", columns.to_string())
                .stdin(std::process::Stdio::null());
            // SAFETY: prctl is async-signal-safe; a wait this one no longer
            // needs (another host decided `--any`) dies with it.
            unsafe {
                cmd.pre_exec(|| {
                    libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                    Ok(())
                });
            }
            let out = cmd
                .output()
                .map_err(|e| format!("cannot wait on this store: {e}"))?;
            Ok(Reply {
                code: out.status.code().unwrap_or(super::exit::FAILURE),
                stdout: out.stdout,
                stderr: out.stderr,
            })
        }
    }
}

/// Starts every place's wait, each in a thread; answers come on the
/// channel as `(index, answer)`.
fn start_all(jobs: Vec<(Place, Vec<String>)>, columns: u16) -> Receiver<(usize, Answer)> {
    let (tx, rx) = std::sync::mpsc::channel();
    for (i, (place, argv)) in jobs.into_iter().enumerate() {
        let tx = tx.clone();
        std::thread::spawn(move || {
            let _ = tx.send((i, ask(&place, argv, columns)));
        });
    }
    rx
}

/// Whether an answer saw a session end: anything but a timeout, for a
/// host that could be asked.
fn decides(answer: &Answer) -> bool {
    matches!(answer, Ok(r) if r.code != Outcome::TIMEOUT.0)
}

pub(crate) fn run(
    ctx: &mut Ctx,
    a: &WaitArgs,
    names: &[String],
    stall: Duration,
) -> Result<Outcome> {
    let config = Config::load()?;
    let root = ctx.manager.store().root().to_path_buf();
    let places: Vec<Place> = names
        .iter()
        .map(|n| match n.as_str() {
            HERE => Ok(Place::Here(root.clone())),
            _ => config.host(n).map(Place::There),
        })
        .collect::<Result<_, _>>()?;
    let ids_of = |place: &Place| -> Vec<String> {
        a.ids
            .iter()
            .map(|id| place_of(id))
            .filter(|(n, _)| *n == place.name())
            .map(|(_, id)| id.to_string())
            .collect()
    };
    let columns = super::list::terminal_width().min(u16::MAX as usize) as u16;
    let jobs = places
        .iter()
        .map(|p| {
            let argv = argv_of(ctx, p, &ids_of(p), a.any, a.timeout, stall);
            (p.clone(), argv)
        })
        .collect();
    let rx = start_all(jobs, columns);
    let mut answers: Vec<Option<Answer>> = places.iter().map(|_| None).collect();
    let mut winner = None;
    for (i, answer) in &rx {
        let decided = a.any && decides(&answer);
        answers[i] = Some(answer);
        if decided {
            winner = Some(i);
            break;
        }
    }
    if winner.is_some() {
        // The others' waits are left behind (they die with this zwarm);
        // how their sessions stand now is read afresh, at once.
        let rest: Vec<usize> = (0..places.len())
            .filter(|&i| answers[i].is_none())
            .collect();
        let jobs = rest
            .iter()
            .map(|&i| {
                let p = &places[i];
                let now = Some(Duration::from_millis(1));
                (p.clone(), argv_of(ctx, p, &ids_of(p), true, now, stall))
            })
            .collect();
        for (j, answer) in start_all(jobs, columns) {
            answers[rest[j]] = Some(answer);
        }
    }
    merge(ctx, a, &places, answers, winner)
}

/// One document (or each host's text) of every host's answer, and the
/// exit status they come to.
fn merge(
    ctx: &mut Ctx,
    a: &WaitArgs,
    places: &[Place],
    answers: Vec<Option<Answer>>,
    winner: Option<usize>,
) -> Result<Outcome> {
    let mut outcome = Outcome::OK;
    let mut timed_out = false;
    let mut theirs: Vec<VecDeque<Ordered>> = places.iter().map(|_| VecDeque::new()).collect();
    for (i, ((place, answer), sessions)) in places
        .iter()
        .zip(answers)
        .zip(theirs.iter_mut())
        .enumerate()
    {
        let reply = match answer {
            Some(Ok(r)) => r,
            Some(Err(e)) => {
                render::error(&ctx.style(), &e, None);
                outcome = outcome.worst(Outcome::FAILURE);
                continue;
            }
            None => continue,
        };
        render::remote_stderr(&reply.stderr, place.remote_name());
        // With --any the host that decided says how the wait ended; the
        // others were only read.
        if winner.is_none_or(|w| w == i) {
            outcome = outcome.worst(Outcome(reply.code));
        }
        if !ctx.json() {
            ctx.p.out().write_all(&reply.stdout)?;
            continue;
        }
        if reply.stdout.is_empty() {
            continue;
        }
        let mut doc: Ordered = serde_json::from_slice(&reply.stdout).map_err(|e| {
            crate::remote::HostError::BadReply {
                host: place.name().to_string(),
                detail: format!("not a wait document: {e}"),
            }
        })?;
        if winner.is_none() {
            timed_out |= matches!(doc.get("timed_out"), Some(Ordered::Bool(true)));
        }
        let tag = Ordered::of(&live(place.name()))?;
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
            let (name, _) = place_of(id);
            let at = places.iter().position(|p| p.name() == name);
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
        assert_eq!(hosts_of(&["wait", "3f", "9c"]), None);
        assert_eq!(
            hosts_of(&["wait", "b1:3f", "9c"]),
            Some(vec!["b1".to_string(), "local".to_string()])
        );
        assert_eq!(hosts_of(&["--host", "b1", "wait", "b1:3f", "b2:9c"]), None);
    }
}
