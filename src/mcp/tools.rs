//! The tools' bodies: each the same manager call as its verb, its result
//! the verb's `--json` document. They block (locks, process waits), so the
//! server runs them off its event loop.

use super::caps;
use super::schema::TRAJECTORY_BUDGET;
use crate::agent::AgentKind;
use crate::model::{Budget, Session, SessionStatus};
use crate::render::human::launch::{could_not_start, Launch};
use crate::render::json;
use crate::session::manager::{Manager, QueueOptions, StartRequest, TurnOptions, WorktreeRequest};
use crate::store::Store;
use crate::turn::OutputDetail;
use serde::Deserialize;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

/// Why a tool did nothing (or did not finish): said to the client as a
/// tool result with `isError`, in the words the CLI would print.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ToolError {
    #[error(transparent)]
    Zwarm(#[from] crate::error::Error),
    /// The server's caps or the arguments refuse it.
    #[error("{0}")]
    Refused(String),
    /// It was done, but did not go well (an agent that could not start):
    /// the document says how it stands.
    #[error("{message}")]
    Failed { message: String, doc: Value },
}

/// What a tool hands back: the document, and a line for people.
pub(crate) struct Reply {
    pub doc: Value,
    pub summary: String,
}

/// What `zwarm mcp` was started with.
pub(crate) struct Limits {
    pub max_sessions: u32,
    pub max_sandbox: String,
    /// Resolved; the first is where a `start` without `working_dir` runs.
    pub roots: Vec<PathBuf>,
}

pub(crate) struct Tools {
    store: Store,
    stall_after: Duration,
    limits: Limits,
    /// Sessions this server started, for `--max-sessions`. Held across a
    /// whole `start`, so two at once cannot both take the last place.
    started: Mutex<Vec<String>>,
}

fn doc<T: serde::Serialize>(value: &T) -> Result<Value, ToolError> {
    serde_json::to_value(value)
        .map_err(|e| ToolError::Refused(format!("cannot encode the result: {e}")))
}

/// The tool's arguments, or a refusal naming what is wrong with them.
pub(crate) fn args<'de, T: Deserialize<'de>>(v: &'de Value) -> Result<T, ToolError> {
    T::deserialize(v).map_err(|e| ToolError::Refused(format!("invalid arguments: {e}")))
}

#[derive(Deserialize)]
#[serde(untagged)]
pub(crate) enum WorktreeArg {
    On(bool),
    Named(String),
}

#[derive(Deserialize)]
pub(crate) struct StartArgs {
    task: String,
    #[serde(default)]
    agent: Option<String>,
    model: Option<String>,
    working_dir: Option<PathBuf>,
    sandbox: Option<String>,
    timeout_s: Option<u64>,
    max_running: Option<u32>,
    group: Option<String>,
    #[serde(default)]
    after: Vec<String>,
    max_tokens: Option<u64>,
    max_cost_usd: Option<f64>,
    worktree: Option<WorktreeArg>,
}

#[derive(Deserialize)]
pub(crate) struct ListArgs {
    status: Option<String>,
    limit: Option<usize>,
}

#[derive(Deserialize)]
pub(crate) struct IdArgs {
    id: String,
}

#[derive(Deserialize)]
pub(crate) struct TrajectoryArgs {
    id: String,
    #[serde(default)]
    since_step: usize,
    max_chars: Option<usize>,
}

#[derive(Deserialize)]
pub(crate) struct DiffArgs {
    id: String,
    turn: Option<u32>,
    #[serde(default)]
    stat: bool,
    max_chars: Option<usize>,
}

#[derive(Deserialize)]
pub(crate) struct InjectArgs {
    id: String,
    message: String,
}

impl Tools {
    pub(crate) fn new(store: Store, stall_after: Duration, limits: Limits) -> Tools {
        Tools {
            store,
            stall_after,
            limits,
            started: Mutex::new(Vec::new()),
        }
    }

    pub(crate) fn stall_after(&self) -> Duration {
        self.stall_after
    }

    pub(crate) fn max_sandbox(&self) -> &str {
        &self.limits.max_sandbox
    }

    pub(crate) fn max_sessions(&self) -> u32 {
        self.limits.max_sessions
    }

    /// The sessions this server started: ids here, `HOST:ID` on remotes.
    pub(crate) fn started_lock(&self) -> Result<std::sync::MutexGuard<'_, Vec<String>>, ToolError> {
        self.started
            .lock()
            .map_err(|_| ToolError::Refused("the server's session count is unusable".into()))
    }

    /// Whether the local session `id` has not ended.
    pub(crate) fn active_here(&self, id: &str) -> bool {
        self.manager().get(id).is_ok_and(|s| s.status.is_active())
    }

    pub(crate) fn manager(&self) -> Manager {
        Manager::new(self.store.clone()).with_stall_after(self.stall_after)
    }

    /// The session as `start` and `inject` report it; an error when its
    /// turn could not start, with the document all the same.
    fn launched(&self, m: &Manager, s: &Session, launch: Launch) -> Result<Reply, ToolError> {
        let place = m.queue_place(s);
        let mut d = json::SessionDoc::from(s);
        d.session = d.session.with_queue(place.as_ref());
        let doc = doc(&d)?;
        if !s.status.is_active() {
            return Err(ToolError::Failed {
                message: could_not_start(s, launch),
                doc,
            });
        }
        let summary = match launch {
            Launch::Start => format!("started session {} ({})", s.id, s.status.as_str()),
            Launch::Inject => format!("turn {} of session {} {}", s.turn, s.id, s.status.as_str()),
        };
        Ok(Reply { doc, summary })
    }

    pub(crate) fn start(&self, a: StartArgs, source: String) -> Result<Reply, ToolError> {
        let agent = match a.agent.as_deref().unwrap_or("codex") {
            "codex" => AgentKind::Codex,
            "claude" => AgentKind::Claude,
            "gemini" => AgentKind::Gemini,
            "qwen" => AgentKind::Qwen,
            other => {
                return Err(ToolError::Refused(format!(
                    "unknown agent {other:?}: codex, claude, gemini or qwen"
                )))
            }
        };
        let agent_default = match agent {
            AgentKind::Codex => "workspace-write",
            AgentKind::Claude | AgentKind::Gemini | AgentKind::Qwen => "danger-full-access",
        };
        let sandbox = caps::sandbox(
            a.sandbox.as_deref(),
            agent_default,
            &self.limits.max_sandbox,
        )
        .map_err(ToolError::Refused)?;
        let dir = match &a.working_dir {
            Some(d) => d.clone(),
            None => self
                .limits
                .roots
                .first()
                .cloned()
                .ok_or_else(|| ToolError::Refused("this server has no root".into()))?,
        };
        let working_dir =
            caps::within_roots(&dir, &self.limits.roots).map_err(ToolError::Refused)?;
        let m = self.manager();
        let mut started = self.started_lock()?;
        // What has ended no longer counts; what cannot be read any more
        // (removed) neither. Sessions started on remotes count too.
        started.retain(|s| match s.split_once(':') {
            Some((host, id)) => self.active_there(host, id),
            None => self.active_here(s),
        });
        caps::room_for_one(started.len(), self.limits.max_sessions).map_err(ToolError::Refused)?;
        let s = m.start(StartRequest {
            task: a.task,
            agent,
            model: a.model,
            sandbox: Some(sandbox),
            working_dir,
            source,
            worktree: match a.worktree {
                None | Some(WorktreeArg::On(false)) => None,
                Some(w) => Some(WorktreeRequest {
                    name: match w {
                        WorktreeArg::Named(n) if !n.is_empty() => Some(n),
                        _ => None,
                    },
                    base: "HEAD".into(),
                    setup: None,
                    commit_turns: false,
                }),
            },
            snapshots: true,
            timeout: a.timeout_s.map(Duration::from_secs),
            on_end: None,
            queue: QueueOptions {
                max_running: a.max_running,
                group: a.group,
            },
            after: a.after,
            budget: Budget {
                max_tokens: a.max_tokens,
                max_cost_usd: a.max_cost_usd,
            },
            // An orchestrator's options could widen what its caps allow:
            // it passes none.
            agent_args: Vec::new(),
        })?;
        started.push(s.id.to_string());
        drop(started);
        self.launched(&m, &s, Launch::Start)
    }

    pub(crate) fn list(&self, a: ListArgs) -> Result<Reply, ToolError> {
        let m = self.manager();
        let (mut sessions, problems) = m.list_brief(true)?;
        if let Some(st) = a.status.as_deref() {
            let want = SessionStatus::parse(st)
                .ok_or_else(|| ToolError::Refused(format!("unknown status {st:?}")))?;
            sessions.retain(|s| s.status == want);
        }
        let total = sessions.len();
        sessions.truncate(a.limit.unwrap_or(50));
        let stalls: Vec<_> = sessions.iter().map(|s| m.stall(s)).collect();
        let places: Vec<_> = sessions.iter().map(|s| m.queue_place(s)).collect();
        let mut d = doc(&json::ListJson::new(&sessions, &stalls, &places, &problems))?;
        d["total"] = json!(total);
        let active = sessions.iter().filter(|s| s.status.is_active()).count();
        Ok(Reply {
            doc: d,
            summary: format!(
                "{} of {total} sessions shown, {active} of them running or pending",
                sessions.len()
            ),
        })
    }

    pub(crate) fn show(&self, a: IdArgs) -> Result<Reply, ToolError> {
        let m = self.manager();
        let s = m.get(&a.id)?;
        let stall = m.stall(&s);
        let place = m.queue_place(&s);
        let d = doc(&json::ShowJson::new(&s, stall.as_ref(), place.as_ref()))?;
        let summary = format!(
            "session {} {} after {} turn(s){}",
            s.id,
            s.status.as_str(),
            s.turn,
            s.error
                .as_deref()
                .map(|e| format!(": {e}"))
                .unwrap_or_default()
        );
        Ok(Reply { doc: d, summary })
    }

    pub(crate) fn diff(&self, a: DiffArgs) -> Result<Reply, ToolError> {
        use crate::session::snapshots::{change, NoChange};
        let s = self.manager().get(&a.id)?;
        let c = change(&s, a.turn, a.stat, true).map_err(|e| match e {
            NoChange::Span(e) => ToolError::Refused(e.to_string()),
            NoChange::Git(e) => ToolError::Refused(e.to_string()),
        })?;
        let changes = c.changes.unwrap_or_default();
        let files = changes.files;
        let mut text = String::from_utf8_lossy(&c.text).into_owned();
        // A patch can be as large as the work: the orchestrator's context
        // gets what fits, and is told how much did not.
        let budget = a.max_chars.unwrap_or(TRAJECTORY_BUDGET);
        let omitted = match text.char_indices().nth(budget) {
            Some((at, _)) => {
                let left = text[at..].chars().count();
                text.truncate(at);
                left
            }
            None => 0,
        };
        let mut d = doc(&json::DiffJson {
            schema_version: json::SCHEMA_VERSION,
            id: &s.id,
            turn: a.turn,
            from: &c.from,
            to: &c.to,
            changes: changes.into(),
            patch: (!a.stat).then(|| text.clone()),
            stat: a.stat.then_some(text),
        })?;
        d["omitted_chars"] = json!(omitted);
        let scope = match a.turn {
            Some(t) => format!("turn {t} of session {}", s.short_id()),
            None => format!("session {}", s.short_id()),
        };
        let cut = if omitted > 0 {
            format!("; {omitted} characters of it left out (raise max_chars)")
        } else {
            String::new()
        };
        Ok(Reply {
            doc: d,
            summary: format!("{scope} changed {files} file(s){cut}"),
        })
    }

    pub(crate) fn trajectory(&self, a: TrajectoryArgs) -> Result<Reply, ToolError> {
        let m = self.manager();
        let s = m.get(&a.id)?;
        let agent = s.agent().map_err(crate::error::Error::from)?;
        let budget = a.max_chars.unwrap_or(TRAJECTORY_BUDGET);
        let mut steps: Vec<Value> = Vec::new();
        let mut used = 0usize;
        let mut n = 0usize;
        let mut omitted = 0usize;
        for turn in 1..=s.turn {
            let running = s.status.is_active() && turn == s.turn;
            let path = m.store().turn_path(&s.id, turn);
            let mut parser = agent.parser(OutputDetail::Whole);
            parser
                .read_turn(&path, !running, &mut |step| {
                    n += 1;
                    if n <= a.since_step {
                        return;
                    }
                    // Once one step did not fit, none after it is taken
                    // either: the steps returned are always a run without
                    // gaps, and next_step says where it stopped.
                    if omitted > 0 {
                        omitted += 1;
                        return;
                    }
                    let v =
                        serde_json::to_value(json::step_json(turn, &step)).unwrap_or(Value::Null);
                    let size = v.to_string().len();
                    if used + size > budget && !steps.is_empty() {
                        omitted += 1;
                        return;
                    }
                    used += size;
                    steps.push(v);
                })
                .map_err(|e| crate::error::Error::io("read", &path, e))?;
        }
        let first = a.since_step.min(n);
        let next = first + steps.len();
        let summary = if omitted > 0 {
            format!(
                "steps {first} to {} of {n} of session {} ({}); {omitted} more left out for the {budget}-character budget: call again with since_step {next}",
                next.saturating_sub(1), s.id, s.status.as_str()
            )
        } else {
            format!(
                "{} step(s) of {n} of session {} ({})",
                steps.len(),
                s.id,
                s.status.as_str()
            )
        };
        Ok(Reply {
            doc: json!({
                "schema_version": json::SCHEMA_VERSION,
                "session": s.id.to_string(),
                "status": s.status.as_str(),
                "steps": steps,
                "first_step": first,
                "next_step": next,
                "total_steps": n,
                "omitted_steps": omitted,
            }),
            summary,
        })
    }

    pub(crate) fn inject(&self, a: InjectArgs) -> Result<Reply, ToolError> {
        let m = self.manager();
        // A session started elsewhere keeps the rights it was started with:
        // continuing one with more than this server allows, or outside its
        // roots, would let the orchestrator out of its own caps.
        let target = m.get(&a.id)?;
        let agent_default = match target.agent().map_err(crate::error::Error::from)? {
            AgentKind::Codex => "workspace-write",
            AgentKind::Claude | AgentKind::Gemini | AgentKind::Qwen => "danger-full-access",
        };
        let runs_with = target.sandbox.as_deref().unwrap_or(agent_default);
        caps::sandbox(Some(runs_with), agent_default, &self.limits.max_sandbox)
            .map_err(|why| ToolError::Refused(format!("session {}: {why}", target.short_id())))?;
        caps::within_roots(
            std::path::Path::new(&target.working_dir),
            &self.limits.roots,
        )
        .map_err(|why| ToolError::Refused(format!("session {}: {why}", target.short_id())))?;
        let s = m.inject(&target.id, &a.message, &TurnOptions::default())?;
        self.launched(&m, &s, Launch::Inject)
    }

    pub(crate) fn kill(&self, a: IdArgs) -> Result<Reply, ToolError> {
        let m = self.manager();
        let killed = m.kill(&a.id)?;
        let s = &killed.session;
        let (result, summary) = match &killed.unrecorded {
            None => (
                json::ActionResultJson::done(s, true),
                format!("killed session {}", s.id),
            ),
            Some(e) => (
                json::ActionResultJson::unrecorded(s, e.to_string()),
                format!(
                    "session {}'s agent stopped, its ending not recorded: {e}",
                    s.id
                ),
            ),
        };
        let d = doc(&json::ActionJson {
            schema_version: json::SCHEMA_VERSION,
            results: vec![result],
        })?;
        match killed.unrecorded {
            None => Ok(Reply { doc: d, summary }),
            Some(_) => Err(ToolError::Failed {
                message: summary,
                doc: d,
            }),
        }
    }

    /// `wait`'s ids, resolved before any waiting: a typo fails at once.
    pub(crate) fn resolve_all(&self, ids: &[String]) -> Result<Vec<String>, ToolError> {
        if ids.is_empty() {
            return Err(ToolError::Refused("ids is empty".into()));
        }
        Ok(ids
            .iter()
            .map(|i| self.store.resolve(i))
            .collect::<Result<_, _>>()?)
    }

    /// `wait`'s result: `ended[n]` is the session of `ids[n]` if the wait
    /// saw it end; the others are read as they stand now.
    pub(crate) fn waited(
        &self,
        ids: &[String],
        ended: Vec<Option<Session>>,
        any: bool,
    ) -> Result<Reply, ToolError> {
        let m = self.manager();
        let mut sessions = Vec::with_capacity(ids.len());
        for (id, e) in ids.iter().zip(ended) {
            sessions.push(match e {
                Some(s) => s,
                None => m.get(id)?,
            });
        }
        let (done, running): (Vec<&Session>, Vec<&Session>) =
            sessions.iter().partition(|s| !s.status.is_active());
        let timed_out = if any {
            done.is_empty()
        } else {
            !running.is_empty()
        };
        let mut d = doc(&json::WaitJson::new(&sessions, timed_out))?;
        d["ended"] = json!(done.iter().map(|s| s.id.to_string()).collect::<Vec<_>>());
        d["running"] = json!(running.iter().map(|s| s.id.to_string()).collect::<Vec<_>>());
        let ended: Vec<String> = done
            .iter()
            .map(|s| {
                format!(
                    "{} {}",
                    s.short_id(),
                    s.current_turn()
                        .and_then(|t| t.ending())
                        .map_or(s.status.as_str(), |e| e.as_str())
                )
            })
            .collect();
        let summary = if running.is_empty() {
            format!("all ended: {}", ended.join(", "))
        } else {
            format!(
                "ended: {}; still running: {} (call wait again)",
                if ended.is_empty() {
                    "none".into()
                } else {
                    ended.join(", ")
                },
                running
                    .iter()
                    .map(|s| s.short_id())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        Ok(Reply { doc: d, summary })
    }
}
