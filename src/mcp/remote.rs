//! The tools on a remote (`host`): each is the remote verb run through the
//! same transport as the CLI's `--host`, its `--json` document handed back
//! with `host` added. The server's caps are checked here, before anything
//! is sent: the sandbox cap and the session cap hold on every host; the
//! roots are paths of this machine and say nothing of another's.

use super::caps;
use super::schema::{ON_REMOTES as TOOLS, TRAJECTORY_BUDGET, WAIT_DEFAULT_S, WAIT_MAX_S};
use super::tools::{args, Reply, ToolError, Tools, WorktreeArg};
use crate::remote::config::Config;
use crate::remote::transport::{self, Request};
use crate::remote::Host;
use serde::Deserialize;
use serde_json::{json, Value};
use std::time::Duration;

#[derive(Deserialize)]
struct StartArgs {
    task: String,
    agent: Option<String>,
    model: Option<String>,
    working_dir: Option<String>,
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
struct ListArgs {
    status: Option<String>,
    limit: Option<usize>,
}

#[derive(Deserialize)]
struct IdArgs {
    id: String,
}

#[derive(Deserialize)]
struct TrajectoryArgs {
    id: String,
    #[serde(default)]
    since_step: usize,
    max_chars: Option<usize>,
}

#[derive(Deserialize)]
struct DiffArgs {
    id: String,
    turn: Option<u32>,
    #[serde(default)]
    stat: bool,
    max_chars: Option<usize>,
}

#[derive(Deserialize)]
struct WaitArgs {
    ids: Vec<String>,
    #[serde(default)]
    any: bool,
    timeout_s: Option<u64>,
}

#[derive(Deserialize)]
struct InjectArgs {
    id: String,
    message: String,
}

/// What a verb there ended with: its exit status, its document (if it
/// printed one) and its last line on stderr.
struct Ran {
    code: i32,
    doc: Option<Value>,
    said: String,
}

impl Ran {
    /// The document of a verb that went well; else what went wrong, with
    /// the document when there is one.
    fn doc(self, host: &str) -> Result<Value, ToolError> {
        match (self.code, self.doc) {
            (0, Some(doc)) => Ok(doc),
            (_, Some(doc)) => Err(ToolError::Failed {
                message: self.said,
                doc,
            }),
            (_, None) => Err(ToolError::Refused(if self.said.is_empty() {
                format!("host {host}: the verb ended with status {}", self.code)
            } else {
                self.said
            })),
        }
    }
}

fn host(name: &str) -> Result<Host, ToolError> {
    let config = Config::load().map_err(|e| ToolError::Refused(format!("{e:#}")))?;
    config
        .host(name)
        .map_err(|e| ToolError::Refused(e.to_string()))
}

fn ms(d: Duration) -> String {
    format!("{}ms", d.as_millis())
}

/// A session id from a document: the remote's full id.
fn id_of(doc: &Value) -> Option<&str> {
    doc.get("id")
        .or_else(|| doc.get("session").and_then(|s| s.get("id")))
        .and_then(Value::as_str)
}

impl Tools {
    /// Runs `verb` there as `zwarm --json ...` and reads what it printed.
    fn on(&self, host: &Host, mut argv: Vec<String>) -> Result<Ran, ToolError> {
        let mut globals = vec![
            "--json".to_string(),
            "--color=never".to_string(),
            format!("--stall-after={}", ms(self.stall_after())),
        ];
        if let Some(d) = &host.remote.remote_dir {
            globals.push(format!("--dir={d}"));
        }
        argv.splice(1..1, globals);
        let reply = transport::run(
            host,
            &Request {
                argv,
                columns: None,
            },
        )
        .map_err(|e| ToolError::Refused(e.to_string()))?;
        let doc = serde_json::from_slice::<Value>(&reply.stdout)
            .ok()
            .filter(Value::is_object)
            .map(|mut d| {
                d["host"] = json!({
                    "name": host.name,
                    "stale": false,
                    "last_seen": chrono::Utc::now()
                        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                });
                d
            });
        if doc.is_none() && !reply.stdout.is_empty() && reply.code == 0 {
            return Err(ToolError::Refused(format!(
                "host {} answered what zwarm cannot read: not a JSON document",
                host.name
            )));
        }
        let text = String::from_utf8_lossy(&reply.stderr);
        let last = text
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("");
        let said = last.strip_prefix("zwarm: error: ").unwrap_or(last).trim();
        Ok(Ran {
            code: reply.code,
            doc,
            said: if said.is_empty() {
                String::new()
            } else {
                format!("host {}: {said}", host.name)
            },
        })
    }

    /// Whether the session `id` of host `name` has not ended; one that
    /// cannot be asked is taken as running, so the cap errs on the safe side.
    pub(crate) fn active_there(&self, name: &str, id: &str) -> bool {
        let Ok(h) = host(name) else { return false };
        match self.on(&h, vec!["show".into(), "--".into(), id.into()]) {
            Ok(Ran {
                code: 0,
                doc: Some(d),
                ..
            }) => matches!(d["status"].as_str(), Some("pending" | "running")),
            Ok(_) => false,
            Err(_) => true,
        }
    }

    /// The tool `tool` on host `name`.
    pub(crate) fn remote(
        &self,
        name: &str,
        tool: &str,
        a: &Value,
        source: String,
    ) -> Result<Reply, ToolError> {
        if !TOOLS.contains(&tool) {
            return Err(ToolError::Refused(format!(
                "{tool} does not run on a remote yet ({} do)",
                TOOLS.join(", ")
            )));
        }
        let h = host(name)?;
        match tool {
            "start" => self.start_there(&h, args(a)?, source),
            "list" => {
                let a: ListArgs = args(a)?;
                let mut argv = vec!["list".to_string()];
                if let Some(st) = a.status {
                    argv.push(format!("--status={st}"));
                }
                let mut d = self.on(&h, argv)?.doc(name)?;
                let total = d["sessions"].as_array().map_or(0, Vec::len);
                if let Some(s) = d["sessions"].as_array_mut() {
                    s.truncate(a.limit.unwrap_or(50));
                }
                let shown = d["sessions"].as_array().map_or(0, Vec::len);
                d["total"] = json!(total);
                Ok(Reply {
                    doc: d,
                    summary: format!("{shown} of {total} sessions of host {name} shown"),
                })
            }
            "show" => {
                let a: IdArgs = args(a)?;
                let d = self
                    .on(&h, vec!["show".into(), "--".into(), a.id])?
                    .doc(name)?;
                let summary = format!(
                    "session {}:{} {} after {} turn(s)",
                    name,
                    d["short_id"].as_str().unwrap_or(""),
                    d["status"].as_str().unwrap_or("unknown"),
                    d["turns"]
                );
                Ok(Reply { doc: d, summary })
            }
            "diff" => self.diff_there(&h, args(a)?),
            "trajectory" => self.trajectory_there(&h, args(a)?),
            "wait" => self.wait_there(&h, args(a)?),
            "inject" => self.inject_there(&h, args(a)?),
            _ => {
                let a: IdArgs = args(a)?;
                let d = self.on(&h, vec!["kill".into(), "--".into(), a.id.clone()])?;
                let d = d.doc(name)?;
                Ok(Reply {
                    doc: d,
                    summary: format!("killed session {name}:{}", a.id),
                })
            }
        }
    }

    fn start_there(&self, h: &Host, a: StartArgs, source: String) -> Result<Reply, ToolError> {
        let agent = a.agent.as_deref().unwrap_or("codex");
        let agent_default = match agent {
            "codex" => "workspace-write",
            "claude" | "gemini" | "qwen" => "danger-full-access",
            other => {
                return Err(ToolError::Refused(format!(
                    "unknown agent {other:?}: codex, claude, gemini or qwen"
                )))
            }
        };
        let sandbox = caps::sandbox(a.sandbox.as_deref(), agent_default, self.max_sandbox())
            .map_err(ToolError::Refused)?;
        let Some(dir) = a.working_dir.or_else(|| h.remote.workdir.clone()) else {
            return Err(ToolError::Refused(format!(
                "start on host {} needs working_dir (a directory there), or the remote's --workdir",
                h.name
            )));
        };
        let mut v = vec![
            "start".to_string(),
            format!("--cd={dir}"),
            format!("--adapter={agent}"),
            format!("--sandbox={sandbox}"),
            format!("--source={source}"),
        ];
        let mut opt = |name: &str, value: Option<String>| {
            if let Some(x) = value {
                v.push(format!("{name}={x}"));
            }
        };
        opt("--model", a.model);
        opt("--timeout", a.timeout_s.map(|s| format!("{s}s")));
        opt("--max-running", a.max_running.map(|n| n.to_string()));
        opt("--group", a.group);
        opt("--max-tokens", a.max_tokens.map(|n| n.to_string()));
        opt("--max-cost", a.max_cost_usd.map(|n| n.to_string()));
        opt("--after", (!a.after.is_empty()).then(|| a.after.join(",")));
        match a.worktree {
            None | Some(WorktreeArg::On(false)) => {}
            Some(WorktreeArg::Named(n)) if !n.is_empty() => v.push(format!("--worktree={n}")),
            Some(_) => v.push("--worktree".into()),
        }
        v.push("--".into());
        v.push(a.task);
        // Held across the whole start, as for a local one: two at once
        // cannot both take the last place.
        let mut started = self.started_lock()?;
        started.retain(|s| match s.split_once(':') {
            Some((n, id)) => self.active_there(n, id),
            None => self.active_here(s),
        });
        caps::room_for_one(started.len(), self.max_sessions()).map_err(ToolError::Refused)?;
        let ran = self.on(h, v)?;
        if let Some(id) = ran.doc.as_ref().and_then(id_of) {
            started.push(format!("{}:{id}", h.name));
        }
        drop(started);
        let d = ran.doc(&h.name)?;
        let summary = format!(
            "started session {}:{} ({})",
            h.name,
            d["short_id"].as_str().unwrap_or(""),
            d["status"].as_str().unwrap_or("unknown")
        );
        Ok(Reply { doc: d, summary })
    }

    fn inject_there(&self, h: &Host, a: InjectArgs) -> Result<Reply, ToolError> {
        // The remote's documents do not say a session's sandbox: one this
        // server started there was started within its caps; any other is
        // continued only by a server that caps nothing.
        let shown = self
            .on(h, vec!["show".into(), "--".into(), a.id.clone()])?
            .doc(&h.name)?;
        let full = id_of(&shown).unwrap_or_default().to_string();
        let ours = self
            .started_lock()?
            .iter()
            .any(|s| *s == format!("{}:{full}", h.name));
        let uncapped =
            caps::sandbox_rank(self.max_sandbox()) == caps::sandbox_rank(caps::SANDBOXES[2]);
        if !ours && !uncapped {
            return Err(ToolError::Refused(format!(
                "session {}:{}: not started by this server, and its sandbox cannot be checked against --max-sandbox {}",
                h.name,
                a.id,
                self.max_sandbox()
            )));
        }
        let d = self
            .on(h, vec!["inject".into(), "--".into(), full, a.message])?
            .doc(&h.name)?;
        let summary = format!(
            "turn {} of session {}:{} {}",
            d["turns"],
            h.name,
            d["short_id"].as_str().unwrap_or(""),
            d["status"].as_str().unwrap_or("unknown")
        );
        Ok(Reply { doc: d, summary })
    }

    fn diff_there(&self, h: &Host, a: DiffArgs) -> Result<Reply, ToolError> {
        let mut v = vec!["diff".to_string()];
        if let Some(t) = a.turn {
            v.push(format!("--turn={t}"));
        }
        if a.stat {
            v.push("--stat".into());
        }
        v.push("--".into());
        v.push(a.id.clone());
        let mut d = self.on(h, v)?.doc(&h.name)?;
        let key = if a.stat { "stat" } else { "patch" };
        let budget = a.max_chars.unwrap_or(TRAJECTORY_BUDGET);
        let mut omitted = 0;
        if let Some(text) = d[key].as_str() {
            if let Some((at, _)) = text.char_indices().nth(budget) {
                omitted = text[at..].chars().count();
                let kept = text[..at].to_string();
                d[key] = json!(kept);
            }
        }
        d["omitted_chars"] = json!(omitted);
        let files = d["changes"]["files"].as_u64().unwrap_or(0);
        Ok(Reply {
            doc: d,
            summary: format!(
                "session {}:{} changed {files} file(s){}",
                h.name,
                a.id,
                if omitted > 0 {
                    format!("; {omitted} characters of it left out (raise max_chars)")
                } else {
                    String::new()
                }
            ),
        })
    }

    /// The remote's whole trajectory, paged here to the budget as a local
    /// one is: the remote verb has no pages of its own.
    fn trajectory_there(&self, h: &Host, a: TrajectoryArgs) -> Result<Reply, ToolError> {
        // The status first: the steps read after it are at least as far
        // along as it says.
        let shown = self
            .on(h, vec!["show".into(), "--".into(), a.id.clone()])?
            .doc(&h.name)?;
        let full = id_of(&shown).unwrap_or(&a.id).to_string();
        let status = shown["status"].as_str().unwrap_or("unknown").to_string();
        let mut d = self
            .on(h, vec!["trajectory".into(), "--".into(), full.clone()])?
            .doc(&h.name)?;
        let all = match d["steps"].take() {
            Value::Array(all) => all,
            _ => Vec::new(),
        };
        let total = all.len();
        let budget = a.max_chars.unwrap_or(TRAJECTORY_BUDGET);
        let (mut steps, mut used, mut omitted) = (Vec::new(), 0usize, 0usize);
        for v in all.into_iter().skip(a.since_step) {
            let size = v.to_string().len();
            // As here: once one step did not fit, none after it is taken.
            if omitted > 0 || (used + size > budget && !steps.is_empty()) {
                omitted += 1;
                continue;
            }
            used += size;
            steps.push(v);
        }
        let first = a.since_step.min(total);
        let next = first + steps.len();
        let summary = if omitted > 0 {
            format!(
                "steps {first} to {} of {total} of session {}:{full} ({status}); {omitted} more left out for the {budget}-character budget: call again with since_step {next}",
                next.saturating_sub(1),
                h.name
            )
        } else {
            format!(
                "{} step(s) of {total} of session {}:{full} ({status})",
                steps.len(),
                h.name
            )
        };
        Ok(Reply {
            doc: json!({
                "schema_version": d["schema_version"].take(),
                "session": full,
                "status": status,
                "steps": steps,
                "first_step": first,
                "next_step": next,
                "total_steps": total,
                "omitted_steps": omitted,
                "host": d["host"].take(),
            }),
            summary,
        })
    }

    fn wait_there(&self, h: &Host, a: WaitArgs) -> Result<Reply, ToolError> {
        if a.ids.is_empty() {
            return Err(ToolError::Refused("ids is empty".into()));
        }
        let timeout = Duration::from_secs(a.timeout_s.unwrap_or(WAIT_DEFAULT_S).min(WAIT_MAX_S));
        let mut v = vec!["wait".to_string(), format!("--timeout={}", ms(timeout))];
        if a.any {
            v.push("--any".into());
        }
        v.push("--".into());
        v.extend(a.ids);
        let ran = self.on(h, v)?;
        // A wait that timed out, or saw a session fail, still says how
        // every session stands: that is the answer.
        let Some(mut d) = ran.doc else {
            return Err(ToolError::Refused(ran.said));
        };
        let (mut ended, mut running) = (Vec::new(), Vec::new());
        for s in d["sessions"].as_array().into_iter().flatten() {
            let id = s["id"].as_str().unwrap_or("").to_string();
            match s["status"].as_str() {
                Some("pending" | "running") => running.push(id),
                _ => ended.push(id),
            }
        }
        let summary = if running.is_empty() {
            format!("all ended on host {}", h.name)
        } else {
            format!(
                "{} ended, {} still running on host {} (call wait again)",
                ended.len(),
                running.len(),
                h.name
            )
        };
        d["ended"] = json!(ended);
        d["running"] = json!(running);
        Ok(Reply { doc: d, summary })
    }
}
