//! Every remote's sessions, as `list --all-hosts` and `top` show them: one
//! host's `list --json` asked over the transport, its answer kept in the
//! cache (or, when it gave none, what the cache kept of it, marked stale),
//! and its sessions read in the shape of `meta.json`, so that one table
//! draws every host's rows alike.

use crate::model::Session;
use crate::remote::ordered::Ordered;
use crate::remote::transport::{self, Request};
use crate::remote::{cache, Host, HostError};
use crate::render::json::HostJson;
use std::time::Duration;

/// What one host gave: its sessions (as its `list --json` has them), and
/// whether they are fresh.
pub(crate) struct Listed {
    pub host: HostJson,
    pub sessions: Vec<Ordered>,
    /// Why the host is stale.
    pub error: Option<String>,
}

/// A host that answered just now.
pub(crate) fn live(name: &str) -> HostJson {
    HostJson {
        name: name.to_string(),
        stale: false,
        last_seen: Some(now()),
    }
}

/// Now, as `last_seen` says it: RFC 3339 in UTC.
pub(crate) fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// The options every remote verb is given after its name: the output this
/// side wants, and the remote's store.
pub(crate) fn globals(json: bool, color: bool, stall: Duration, host: &Host) -> Vec<String> {
    let mut globals = Vec::new();
    if json {
        globals.push("--json".to_string());
    }
    let color = if color { "always" } else { "never" };
    globals.push(format!("--color={color}"));
    globals.push(format!("--stall-after={}ms", stall.as_millis()));
    if let Some(d) = &host.remote.remote_dir {
        globals.push(format!("--dir={d}"));
    }
    globals
}

/// The argv of one host's `list --json`.
pub(crate) fn list_argv(host: &Host, stall: Duration) -> Vec<String> {
    let mut argv = vec!["list".to_string()];
    argv.splice(1..1, globals(true, false, stall, host));
    argv
}

/// One host's `list --json`, its sessions.
pub(crate) fn ask(host: &Host, argv: Vec<String>) -> Result<Vec<Ordered>, HostError> {
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
pub(crate) fn settle(
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
pub(crate) fn as_session(s: &Ordered) -> Option<Session> {
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

    fn host() -> Host {
        let mut h = Host::b1("b1");
        h.remote.remote_dir = Some("/srv/z".into());
        h
    }

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

    #[test]
    fn a_list_there_asks_for_json_without_colour_in_the_remotes_store() {
        assert_eq!(
            list_argv(&host(), Duration::from_secs(300)),
            [
                "list",
                "--json",
                "--color=never",
                "--stall-after=300000ms",
                "--dir=/srv/z"
            ]
        );
    }

    #[test]
    fn a_host_that_does_not_answer_is_stale_with_what_the_cache_kept() {
        let tmp = tempfile::tempdir().unwrap();
        let h = host();
        let gone = || HostError::TimedOut {
            host: "b1".into(),
            after: Duration::from_secs(5),
        };
        // Never seen: stale, with nothing to show and no last_seen.
        let never = settle(&h, Err(gone()), Some(tmp.path()), None);
        assert!(never.host.stale && never.host.last_seen.is_none());
        assert!(never.sessions.is_empty());
        let s: Ordered = serde_json::from_str(r#"{"id":"3f2a","status":"running"}"#).unwrap();
        let fresh = settle(&h, Ok(vec![s.clone()]), Some(tmp.path()), None);
        assert!(!fresh.host.stale && fresh.error.is_none());
        let stale = settle(&h, Err(gone()), Some(tmp.path()), None);
        assert!(stale.host.stale);
        assert_eq!(stale.host.last_seen, fresh.host.last_seen);
        assert_eq!(stale.sessions, [s], "the status as last seen, not guessed");
        assert_eq!(
            stale.error.as_deref(),
            Some("host b1 did not answer within 5 s")
        );
        let none = settle(&h, Err(gone()), Some(tmp.path()), Some("completed"));
        assert!(none.sessions.is_empty());
    }
}
