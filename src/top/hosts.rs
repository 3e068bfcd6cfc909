//! The remotes on the dashboard. Each host has a thread of its own that
//! asks for its list every [`REFRESH`], never twice at once, and tells the
//! event loop what it got within `--host-timeout`: a host that answers late
//! is first said stale (what the cache kept of it), then fresh when its
//! answer comes. What the keys and the preview ask of a remote session (its
//! steps, `inject`, `kill`) runs there, in threads of their own too: the
//! event loop never waits on ssh.

use super::app::View;
use crate::hosts::{self, Listed};
use crate::remote::ordered::Ordered;
use crate::remote::transport::{self, Reply, Request};
use crate::remote::{Host, HostError};
use crate::render::controls::visible;
use std::path::PathBuf;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How often a host is asked for its list (at most: a slow host is asked
/// again only once its last answer came).
pub(crate) const REFRESH: Duration = Duration::from_secs(2);
/// The most lines of a remote preview kept, as a local one keeps.
const KEEP_LINES: usize = 2000;

/// The remotes the dashboard shows, and how they are asked.
#[derive(Clone, Debug, Default)]
pub(crate) struct Remotes {
    pub hosts: Vec<Host>,
    /// How long a host may take to list its sessions before it is stale.
    pub timeout: Duration,
    /// `--stall-after`, passed on to each host.
    pub stall: Duration,
}

impl Remotes {
    pub(crate) fn host(&self, name: &str) -> Option<&Host> {
        self.hosts.iter().find(|h| h.name == name)
    }
}

/// Starts one thread per host; each hands `send` what its host listed
/// (fresh or stale) until `send` returns false.
pub(crate) fn poll<F>(remotes: &Remotes, send: F)
where
    F: Fn(Listed) -> bool + Clone + Send + 'static,
{
    let cache = crate::remote::cache::dir();
    for host in &remotes.hosts {
        let (host, send, cache) = (host.clone(), send.clone(), cache.clone());
        let (timeout, stall) = (remotes.timeout, remotes.stall);
        std::thread::spawn(move || poller(&host, timeout, stall, cache, send));
    }
}

fn poller(
    host: &Host,
    timeout: Duration,
    stall: Duration,
    cache: Option<PathBuf>,
    send: impl Fn(Listed) -> bool,
) {
    let argv = hosts::list_argv(host, stall);
    loop {
        let began = Instant::now();
        let (tx, rx) = mpsc::channel();
        let (h, a) = (host.clone(), argv.clone());
        // The ssh runs in a thread of its own, so that the bound is kept
        // even when ssh itself hangs.
        std::thread::spawn(move || {
            let _ = tx.send(hosts::ask(&h, a));
        });
        let answer = match rx.recv_timeout(timeout) {
            Ok(answer) => answer,
            Err(_) => {
                let late = Err(HostError::TimedOut {
                    host: host.name.clone(),
                    after: timeout,
                });
                if !send(hosts::settle(host, late, cache.as_deref(), None)) {
                    return;
                }
                // Not asked again before this answer comes: one request
                // in flight per host, however slow it is.
                match rx.recv() {
                    Ok(answer) => answer,
                    Err(_) => continue,
                }
            }
        };
        if !send(hosts::settle(host, answer, cache.as_deref(), None)) {
            return;
        }
        std::thread::sleep(REFRESH.saturating_sub(began.elapsed()));
    }
}

/// The argv that shows `view` of the session `id` there, at its turn
/// `turn`: its steps as `trajectory` prints them (of that turn, as the
/// local pane shows), `show`, `output` or `diff`.
fn preview_argv(host: &Host, stall: Duration, view: View, id: &str, turn: u32) -> Vec<String> {
    let verb = match view {
        View::Steps => "trajectory",
        View::Final => "show",
        View::Raw => "output",
        View::Diff => "diff",
    };
    // The final message is read out of `show`'s document, as the local
    // pane reads it out of the session.
    let mut v = argv(host, stall, view == View::Final, verb, id, &[]);
    if view == View::Steps && turn > 0 {
        let at = v.len() - 2;
        v.splice(at..at, ["--turn".to_string(), turn.to_string()]);
    }
    v
}

/// The argv of `verb` on `host` for its session `id`, then `rest`.
pub(crate) fn argv(
    host: &Host,
    stall: Duration,
    json: bool,
    verb: &str,
    id: &str,
    rest: &[&str],
) -> Vec<String> {
    let mut v = vec![verb.to_string()];
    v.extend(hosts::globals(json, false, stall, host));
    v.push("--".into());
    v.push(id.to_string());
    v.extend(rest.iter().map(|s| s.to_string()));
    v
}

fn run(host: &Host, argv: Vec<String>) -> Result<Reply, HostError> {
    transport::run(
        host,
        &Request {
            argv,
            columns: None,
        },
    )
}

/// What the remote said went wrong: its last line of stderr, without the
/// program's name.
fn complaint(reply: &Reply) -> String {
    let text = String::from_utf8_lossy(&reply.stderr);
    let last = text
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("no reason given");
    let last = last.strip_prefix("zwarm: error: ").unwrap_or(last).trim();
    visible(&format!("status {}: {last}", reply.code)).into_owned()
}

/// `zwarm inject NAME:ID MESSAGE`, there: what the status line says after.
pub(crate) fn inject(host: &Host, stall: Duration, id: &str, message: &str) -> (bool, String) {
    let shown = format!("{}:{}", host.name, crate::model::short(id));
    match run(host, argv(host, stall, true, "inject", id, &[message])) {
        Ok(r) if r.code == 0 => {
            let turn = serde_json::from_slice::<Ordered>(&r.stdout)
                .ok()
                .and_then(|d| match d.get("turns") {
                    Some(Ordered::Number(n)) => n.as_u64(),
                    _ => None,
                });
            match turn {
                Some(t) => (false, format!("injected turn {t} into {shown}")),
                None => (false, format!("injected into {shown}")),
            }
        }
        Ok(r) => (
            true,
            format!("inject into {shown} failed: {}", complaint(&r)),
        ),
        Err(e) => (true, visible(&e.to_string()).into_owned()),
    }
}

/// `zwarm kill NAME:ID`, there: what the status line says after.
pub(crate) fn kill(host: &Host, stall: Duration, id: &str) -> (bool, String) {
    let shown = format!("{}:{}", host.name, crate::model::short(id));
    match run(host, argv(host, stall, false, "kill", id, &[])) {
        Ok(r) if r.code == 0 => (false, format!("killed {shown}")),
        Ok(r) => (true, format!("kill of {shown} failed: {}", complaint(&r))),
        Err(e) => (true, visible(&e.to_string()).into_owned()),
    }
}

/// What a remote preview is of: the row's id (`NAME:ID`), the view, and
/// the session's turns and status then (a change asks again).
pub(crate) type PreviewKey = (String, View, u32, bool);

/// The preview of the selected remote session: fetched in a thread, one
/// fetch at a time, again every [`REFRESH`] while an active session's
/// steps are shown (its raw output, which may be large, only when its
/// turn or status changes).
#[derive(Default)]
pub(crate) struct RemotePreview {
    /// What the lines shown are of.
    shown: Option<PreviewKey>,
    /// The fetch under way.
    fetching: Option<PreviewKey>,
    fetched_at: Option<Instant>,
}

/// A fetched preview, for the event loop.
pub(crate) struct Fetched {
    pub key: PreviewKey,
    pub lines: Vec<String>,
}

impl RemotePreview {
    /// Starts a fetch of `key` if its lines are not shown yet, or (when
    /// `again`) are older than [`REFRESH`], and none is under way; whether
    /// the lines shown are of another key (the pane should say that they
    /// are being fetched).
    pub(crate) fn want<F>(
        &mut self,
        key: &PreviewKey,
        remotes: &Remotes,
        again: bool,
        send: F,
    ) -> bool
    where
        F: FnOnce(Fetched) + Send + 'static,
    {
        let current = self.shown.as_ref() == Some(key);
        let old = self.fetched_at.is_none_or(|t| t.elapsed() >= REFRESH);
        if self.fetching.is_none() && (!current || (again && old)) {
            if let Some((name, id)) = crate::remote::split_id(&key.0) {
                if let Some(host) = remotes.host(name) {
                    let argv = preview_argv(host, remotes.stall, key.1, id, key.2);
                    let (host, key2) = (host.clone(), key.clone());
                    self.fetching = Some(key.clone());
                    std::thread::spawn(move || {
                        let reply = run(&host, argv);
                        let lines = match key2.1 {
                            View::Final => final_lines(reply),
                            _ => preview_lines(reply),
                        };
                        send(Fetched { key: key2, lines });
                    });
                }
            }
        }
        !current
    }

    /// A fetch ended: whether its lines are the ones to show now.
    pub(crate) fn fetched(&mut self, key: &PreviewKey, wanted: Option<&PreviewKey>) -> bool {
        self.fetching = None;
        self.fetched_at = Some(Instant::now());
        let keep = wanted == Some(key);
        if keep {
            self.shown = Some(key.clone());
        }
        keep
    }

    /// The pane shows a local session (or nothing): the next remote one is
    /// fetched afresh.
    pub(crate) fn forget(&mut self) {
        self.shown = None;
    }
}

/// The final message of a remote session, from its `show --json`, as the
/// pane shows a local one's.
fn final_lines(reply: Result<Reply, HostError>) -> Vec<String> {
    let doc = match reply {
        Ok(r) if r.code == 0 => serde_json::from_slice::<serde_json::Value>(&r.stdout),
        other => return preview_lines(other),
    };
    let Ok(doc) = doc else {
        return vec!["(the host answered what zwarm cannot read)".into()];
    };
    let text = |k: &str| doc.get(k).and_then(serde_json::Value::as_str);
    match text("last_message") {
        Some(t) => t.lines().map(|l| visible(l).into_owned()).collect(),
        None if matches!(text("status"), Some("pending" | "running")) => {
            vec!["(the turn is still running)".into()]
        }
        None => {
            let mut lines = vec!["(no final message)".to_string()];
            lines.extend(text("error").map(|e| visible(e).into_owned()));
            lines
        }
    }
}

/// A remote verb's output as the pane's lines, made safe for a terminal.
fn preview_lines(reply: Result<Reply, HostError>) -> Vec<String> {
    let text = match reply {
        Ok(r) if r.code == 0 => String::from_utf8_lossy(&r.stdout).into_owned(),
        Ok(r) => complaint(&r),
        Err(e) => e.to_string(),
    };
    let mut lines: Vec<String> = text.lines().map(|l| visible(l).into_owned()).collect();
    let over = lines.len().saturating_sub(KEEP_LINES);
    lines.drain(..over);
    if lines.is_empty() {
        lines.push("(nothing)".into());
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host() -> Host {
        Host::b1("b1")
    }

    #[test]
    fn a_remote_verb_names_its_session_after_the_options() {
        let ms = Duration::from_millis;
        assert_eq!(
            argv(&host(), ms(1500), true, "inject", "3f2a", &["-x; rm"]),
            [
                "inject",
                "--json",
                "--color=never",
                "--stall-after=1500ms",
                "--",
                "3f2a",
                "-x; rm"
            ]
        );
        assert_eq!(
            preview_argv(&host(), ms(1), View::Steps, "3f2a", 2),
            [
                "trajectory",
                "--color=never",
                "--stall-after=1ms",
                "--turn",
                "2",
                "--",
                "3f2a"
            ]
        );
        assert_eq!(
            preview_argv(&host(), ms(1), View::Diff, "3f2a", 2)[0],
            "diff"
        );
    }

    #[test]
    fn what_a_remote_said_is_shown_made_visible() {
        let reply = |code, out: &str, err: &str| Reply {
            code,
            stdout: out.as_bytes().to_vec(),
            stderr: err.as_bytes().to_vec(),
        };
        assert_eq!(
            preview_lines(Ok(reply(0, "a\n\x1b[2Jb\n", ""))),
            ["a", "^[[2Jb"]
        );
        assert_eq!(
            preview_lines(Ok(reply(3, "", "zwarm: error: no session matches 'ff'\n"))),
            ["status 3: no session matches 'ff'"]
        );
        assert_eq!(preview_lines(Ok(reply(0, "", ""))), ["(nothing)"]);
    }

    #[test]
    fn a_remote_final_message_is_read_out_of_its_show_document() {
        let shown = |doc: &str| {
            final_lines(Ok(Reply {
                code: 0,
                stdout: doc.as_bytes().to_vec(),
                stderr: Vec::new(),
            }))
        };
        assert_eq!(
            shown(r#"{"status":"completed","last_message":"done\n\u001b[2Jok","error":null}"#),
            ["done", "^[[2Jok"]
        );
        assert_eq!(
            shown(r#"{"status":"running","last_message":null}"#),
            ["(the turn is still running)"]
        );
        assert_eq!(
            shown(r#"{"status":"failed","last_message":null,"error":"exit 1"}"#),
            ["(no final message)", "exit 1"]
        );
        assert_eq!(
            preview_argv(&host(), Duration::from_millis(1), View::Final, "3f2a", 2)[1],
            "--json"
        );
    }

    #[test]
    fn a_remote_preview_is_fetched_once_for_an_ended_session() {
        // No host of that name: nothing is fetched, and the pane says it
        // has not got the lines.
        let mut p = RemotePreview::default();
        let key: PreviewKey = ("b1:3f2a".into(), View::Steps, 1, false);
        assert!(p.want(&key, &Remotes::default(), false, |_| {}));
        assert!(p.fetching.is_none());
        // A fetch that ends for the key wanted is shown; not asked again
        // for an ended session.
        p.fetching = Some(key.clone());
        assert!(p.fetched(&key, Some(&key)));
        assert!(!p.want(&key, &Remotes::default(), false, |_| {}));
        // One for a key no longer wanted is not shown.
        let other: PreviewKey = ("b1:9c1d".into(), View::Steps, 1, false);
        assert!(!p.fetched(&other, Some(&key)));
        p.forget();
        assert!(p.want(&key, &Remotes::default(), false, |_| {}));
    }
}
