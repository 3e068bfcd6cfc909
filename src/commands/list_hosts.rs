//! `list --all-hosts`: this store's sessions and every remote's, each
//! remote asked in a thread of its own and given `--host-timeout` at most.
//! A remote that does not answer in time (or at all) is shown stale: the
//! sessions it listed last, kept in the cache, and when that was. Its
//! sessions keep their statuses; staleness is said of the host, never
//! guessed into a status.

use super::hosted::{live, now, with_globals};
use super::{list, Ctx, Outcome};
use crate::cli::ListArgs;
use crate::model::{Session, SessionStatus};
use crate::remote::config::Config;
use crate::remote::ordered::Ordered;
use crate::remote::transport::{self, Request};
use crate::remote::{cache, Host, HostError};
use crate::render::json::{HostJson, ListJson, SCHEMA_VERSION};
use crate::render::{self, human};
use anyhow::Result;
use serde::Serialize;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// What one host gave: its sessions (as its `list --json` has them), and
/// whether they are fresh.
struct Listed {
    host: HostJson,
    sessions: Vec<Ordered>,
    /// Why the host is stale.
    error: Option<String>,
}

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
        let argv = with_globals(vec!["list".into()], ctx, host, stall);
        let mut argv = argv;
        if !argv.iter().any(|w| w == "--json") {
            argv.insert(1, "--json".into());
        }
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

/// One host's `list --json`, its sessions.
fn ask(host: &Host, argv: Vec<String>) -> Result<Vec<Ordered>, HostError> {
    let reply = transport::run(
        host,
        &Request {
            argv,
            columns: None,
        },
    )?;
    let bad = |detail: String| HostError::BadReply {
        host: host.name.clone(),
        detail,
    };
    if reply.code != 0 {
        let text = String::from_utf8_lossy(&reply.stderr);
        return Err(bad(format!(
            "its list ended with status {}: {}",
            reply.code,
            text.trim()
        )));
    }
    let mut doc: Ordered = serde_json::from_slice(&reply.stdout)
        .map_err(|e| bad(format!("not a list document: {e}")))?;
    match doc.remove("sessions") {
        Some(Ordered::Array(ss)) => Ok(ss),
        _ => Err(bad("a list document without sessions".into())),
    }
}

/// A host's answer kept in the cache, or, when it gave none, what the cache
/// kept of it; the sessions of `status` only.
fn settle(
    host: &Host,
    answer: Result<Vec<Ordered>, HostError>,
    cache_dir: Option<&std::path::Path>,
    status: Option<&str>,
) -> Listed {
    let mut listed = match answer {
        Ok(sessions) => {
            let fresh = live(&host.name);
            if let Some(dir) = cache_dir {
                let seen = cache::Seen {
                    last_seen: fresh.last_seen.clone().unwrap_or_else(now),
                    sessions,
                };
                let _ = cache::save(dir, &host.name, &seen);
                Listed {
                    host: fresh,
                    sessions: seen.sessions,
                    error: None,
                }
            } else {
                Listed {
                    host: fresh,
                    sessions,
                    error: None,
                }
            }
        }
        Err(e) => {
            let seen = cache_dir.and_then(|d| cache::load(d, &host.name));
            Listed {
                host: HostJson {
                    name: host.name.clone(),
                    stale: true,
                    last_seen: seen.as_ref().map(|s| s.last_seen.clone()),
                },
                sessions: seen.map(|s| s.sessions).unwrap_or_default(),
                error: Some(e.to_string()),
            }
        }
    };
    if let Some(want) = status {
        listed
            .sessions
            .retain(|s| s.get("status").and_then(Ordered::as_str) == Some(want));
    }
    listed
}

/// A remote's session, as much of it as the table shows, in the shape of
/// `meta.json`, so the one table draws every host's rows alike.
fn as_session(s: &Ordered) -> Option<Session> {
    let field = |k: &str| s.get(k).cloned().unwrap_or(Ordered::Null);
    let updated = match s.get("ended_at") {
        Some(v @ Ordered::String(_)) => v.clone(),
        _ => field("updated_at"),
    };
    let meta = serde_json::json!({
        "id": field("id"),
        "task": field("task"),
        "status": field("status"),
        "working_dir": field("working_dir"),
        "created_at": field("created_at"),
        "updated_at": updated,
        "model": field("model"),
        "turn": field("turns"),
        "adapter": field("adapter"),
        "token_usage": field("usage"),
        "cost_usd": field("cost_usd"),
        "error": field("error"),
        "source": field("source"),
    });
    serde_json::from_value(meta).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_remotes_session_reads_as_a_table_row() {
        let s = Ordered::of(&serde_json::json!({
            "id": "3f2a9c1e-5b7d-4c8e-9a1f-2b3c4d5e6f70", "short_id": "3f2a9c1e",
            "status": "completed", "adapter": "claude_code", "model": "sonnet",
            "task": "fix it", "working_dir": "/w", "source": "user", "turns": 2,
            "created_at": "2026-01-01T00:00:00", "updated_at": "2026-01-01T00:00:05",
            "ended_at": "2026-01-01T00:00:04", "cost_usd": 0.5, "error": null,
            "usage": {"input_tokens": 1, "output_tokens": 2, "total_tokens": 3},
        }))
        .unwrap();
        let session = as_session(&s).unwrap();
        assert_eq!(session.turn, 2);
        assert_eq!(session.token_usage.total_tokens, 3);
        assert_eq!(session.short_id(), "3f2a9c1e");
        assert!(as_session(&Ordered::of(&serde_json::json!({"id": "x"})).unwrap()).is_none());
    }
}
