//! The `--json` documents: their own types, versioned, never a dump of the
//! internal structs, so internals can change without breaking consumers.

use crate::model::AgentKind;
use crate::model::{ExitStatus, Session, TurnRecord, Usage};
use crate::session::stall::Stall;
use crate::timefmt::Timestamp;
use crate::turn::{Output, Step, StepKind};
use serde::Serialize;
use serde_json::{json, Value};

pub const SCHEMA_VERSION: u32 = 1;

#[derive(Serialize)]
pub struct UsageJson {
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub total_tokens: u64,
    pub cached_input_tokens: u64,
    pub reasoning_output_tokens: u64,
    pub cache_read_input_tokens: u64,
    pub cache_creation_input_tokens: u64,
}

impl From<&Usage> for UsageJson {
    fn from(u: &Usage) -> Self {
        UsageJson {
            input_tokens: u.input_tokens,
            output_tokens: u.output_tokens,
            total_tokens: u.total_tokens,
            cached_input_tokens: u.cached_input_tokens,
            reasoning_output_tokens: u.reasoning_output_tokens,
            cache_read_input_tokens: u.cache_read_input_tokens,
            cache_creation_input_tokens: u.cache_creation_input_tokens,
        }
    }
}

/// One session, as `list` shows it. It borrows from the session: `list
/// --json` writes thousands of them.
#[derive(Serialize)]
pub struct SessionJson<'a> {
    pub id: &'a str,
    pub short_id: &'a str,
    pub status: &'static str,
    /// How the latest turn ended: completed, failed, interrupted, killed,
    /// agent_missing; null while it runs or for sessions without turn records.
    pub ending: Option<&'static str>,
    pub adapter: &'a str,
    pub model: &'a str,
    pub task: &'a str,
    pub working_dir: &'a str,
    pub source: &'a str,
    pub turns: u32,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub ended_at: Option<Timestamp>,
    pub pid: Option<i32>,
    pub exit_code: Option<i32>,
    pub error: Option<&'a str>,
    pub agent_session_id: Option<&'a str>,
    pub usage: UsageJson,
    pub cost_usd: Option<f64>,
    pub last_message: Option<&'a str>,
    /// Set while the running turn has only retried for longer than
    /// `--stall-after`; null otherwise (and in documents that do not look).
    pub stalled: Option<StallJson>,
}

#[derive(Serialize)]
pub struct StallJson {
    /// When the retrying began, at the latest.
    pub since: String,
    pub retries: u64,
    pub last_retry: Option<String>,
}

impl SessionJson<'_> {
    pub fn with_stall(mut self, stall: Option<&Stall>) -> Self {
        self.stalled = stall.map(|st| StallJson {
            since: st.since.to_string(),
            retries: st.retries,
            last_retry: st.last_retry.clone(),
        });
        self
    }
}

impl<'a> From<&'a Session> for SessionJson<'a> {
    fn from(s: &'a Session) -> Self {
        SessionJson {
            id: &s.id,
            short_id: s.short_id(),
            status: s.status.as_str(),
            ending: s.current_turn().and_then(|t| t.ending).map(|e| e.as_str()),
            adapter: AgentKind::from_meta(&s.adapter).map_or(&s.adapter, |k| k.display_name()),
            model: &s.model,
            task: &s.task,
            working_dir: &s.working_dir,
            source: &s.source,
            turns: s.turn,
            created_at: s.created_at,
            updated_at: s.updated_at,
            ended_at: s.ended_at(),
            pid: s.pid,
            exit_code: s.exit_code,
            error: s.error.as_deref(),
            agent_session_id: s.agent_session_id.as_deref(),
            usage: (&s.token_usage).into(),
            cost_usd: s.cost_usd,
            last_message: s
                .messages
                .iter()
                .rev()
                .find(|m| m.role == "assistant")
                .map(|m| m.content.as_str()),
            stalled: None,
        }
    }
}

#[derive(Serialize)]
pub struct TurnJson {
    pub turn: u32,
    pub started_at: Option<String>,
    pub ended_at: Option<String>,
    pub ending: Option<&'static str>,
    pub exit_code: Option<i32>,
    pub signal: Option<i32>,
    pub error: Option<String>,
    pub agent_session_id: Option<String>,
    pub reported_model: Option<String>,
    pub usage: Option<UsageJson>,
    pub final_message: Option<String>,
    pub skipped_lines: u64,
}

impl From<&TurnRecord> for TurnJson {
    fn from(t: &TurnRecord) -> Self {
        TurnJson {
            turn: t.turn,
            started_at: t.started_at.map(|x| x.to_string()),
            ended_at: t.ended_at.map(|x| x.to_string()),
            ending: t.ending.map(|e| e.as_str()),
            exit_code: match t.exit {
                Some(ExitStatus::Code(c)) => Some(c),
                _ => None,
            },
            signal: match t.exit {
                Some(ExitStatus::Signal(s)) => Some(s),
                _ => None,
            },
            error: t.error.clone(),
            agent_session_id: t.agent_session_id.clone(),
            reported_model: t.reported_model.clone(),
            usage: t.usage.as_ref().map(Into::into),
            final_message: t.final_message.clone(),
            skipped_lines: t.skipped_lines,
        }
    }
}

#[derive(Serialize)]
pub struct MessageJson {
    pub role: String,
    pub content: String,
    pub timestamp: String,
    pub turn: Option<u64>,
}

/// `show`: a session with its turns and messages.
#[derive(Serialize)]
pub struct ShowJson<'a> {
    pub schema_version: u32,
    #[serde(flatten)]
    pub session: SessionJson<'a>,
    pub turn_records: Vec<TurnJson>,
    pub messages: Vec<MessageJson>,
}

impl<'a> From<&'a Session> for ShowJson<'a> {
    fn from(s: &'a Session) -> Self {
        ShowJson {
            schema_version: SCHEMA_VERSION,
            session: s.into(),
            turn_records: s.turns.iter().map(Into::into).collect(),
            messages: s
                .messages
                .iter()
                .map(|m| MessageJson {
                    role: m.role.clone(),
                    content: m.content.clone(),
                    timestamp: m.timestamp.clone(),
                    turn: m.metadata.get("turn").and_then(Value::as_u64),
                })
                .collect(),
        }
    }
}

/// `start` and `inject`: the session as it stands when the turn was launched.
#[derive(Serialize)]
pub struct SessionDoc<'a> {
    pub schema_version: u32,
    #[serde(flatten)]
    pub session: SessionJson<'a>,
}

impl<'a> From<&'a Session> for SessionDoc<'a> {
    fn from(s: &'a Session) -> Self {
        SessionDoc {
            schema_version: SCHEMA_VERSION,
            session: s.into(),
        }
    }
}

#[derive(Serialize)]
pub struct ProblemJson {
    pub id: String,
    pub error: String,
}

#[derive(Serialize)]
pub struct ListJson<'a> {
    pub schema_version: u32,
    pub sessions: Vec<SessionJson<'a>>,
    /// Sessions that could not be read.
    pub problems: Vec<ProblemJson>,
}

/// `kill` and `rm`: one entry per id asked for.
#[derive(Serialize)]
pub struct ActionJson {
    pub schema_version: u32,
    pub results: Vec<ActionResultJson>,
}

#[derive(Serialize)]
pub struct ActionResultJson {
    pub id: String,
    pub ok: bool,
    pub status: Option<&'static str>,
    pub error: Option<String>,
    /// `kill`: the agent's processes are gone (also when `ok` is false
    /// because the ending could not be recorded); null otherwise.
    pub agent_stopped: Option<bool>,
    /// `kill`: the ending is written in `meta.json`; null otherwise.
    pub ending_recorded: Option<bool>,
}

/// `wait`: every session asked for, as it stood when the wait returned.
#[derive(Serialize)]
pub struct WaitJson<'a> {
    pub schema_version: u32,
    pub timed_out: bool,
    pub sessions: Vec<SessionJson<'a>>,
}

/// `clean`.
#[derive(Serialize)]
pub struct CleanJson<'a> {
    pub schema_version: u32,
    pub dry_run: bool,
    /// Removed, or with `dry_run`, what would be.
    pub sessions: Vec<SessionJson<'a>>,
    /// Due for removal, but the removal failed.
    pub failed: Vec<ProblemJson>,
}

/// The last line of `watch --json`, once the turn has ended.
#[derive(Serialize)]
pub struct WatchEndJson {
    pub schema_version: u32,
    /// Always `end`, so a consumer tells it from the steps by `type`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub turn: u32,
    pub session: String,
    pub status: &'static str,
    pub ending: &'static str,
    pub error: Option<String>,
    pub exit_code: Option<i32>,
}

/// `trajectory`: `{"schema_version":1,"session":ID,"steps":[STEP,...]}`,
/// written in pieces (this opening, the steps comma-separated, the close) so
/// a long trajectory is never held in memory whole.
pub fn trajectory_open(session: &str) -> String {
    format!(
        "{{\"schema_version\":{SCHEMA_VERSION},\"session\":{},\"steps\":[",
        json!(session)
    )
}

pub const TRAJECTORY_CLOSE: &str = "]}";

/// A step as one line of `watch --json`: each NDJSON line is a document of
/// its own, so it carries the version the step array of `trajectory` gets
/// from its enclosing document.
pub fn watch_step_json(turn: u32, step: &Step) -> StepJson<'_> {
    match step_json(turn, step) {
        StepJson::Command(mut c) => {
            c.schema_version = Some(SCHEMA_VERSION);
            StepJson::Command(c)
        }
        StepJson::Other(mut v) => {
            if let Some(obj) = v.as_object_mut() {
                obj.insert("schema_version".into(), json!(SCHEMA_VERSION));
            }
            StepJson::Other(v)
        }
    }
}

/// One step of a trajectory as JSON.
#[derive(Serialize)]
#[serde(untagged)]
pub enum StepJson<'a> {
    Command(CommandStepJson<'a>),
    Other(Value),
}

/// A command step, typed rather than built as a [`Value`]: its output is
/// written as the turn's line held it, a JSON string needing no decoding to
/// be written again, and it is most of a long trajectory. Keys are in the
/// order the other steps' (sorted) keys are written in.
#[derive(Serialize)]
pub struct CommandStepJson<'a> {
    command: &'a str,
    exit_code: Option<i64>,
    line: u64,
    output: &'a Output,
    #[serde(skip_serializing_if = "Option::is_none")]
    schema_version: Option<u32>,
    status: &'static str,
    turn: u32,
    #[serde(rename = "type")]
    kind: &'static str,
}

/// One step of a trajectory, flat: `type` says which fields are present.
pub fn step_json(turn: u32, step: &Step) -> StepJson<'_> {
    let mut v = match &step.kind {
        StepKind::Message { text } => json!({ "text": text }),
        StepKind::Reasoning { text } => json!({ "text": text }),
        StepKind::Command {
            command,
            output,
            exit_code,
            status,
        } => {
            return StepJson::Command(CommandStepJson {
                command,
                exit_code: *exit_code,
                line: step.line,
                output,
                schema_version: None,
                status: status.as_str(),
                turn,
                kind: step.kind.name(),
            })
        }
        StepKind::FileChange { changes, status } => json!({
            "changes": changes.iter().map(|c| json!({"path": c.path, "kind": c.kind})).collect::<Vec<_>>(),
            "status": status.as_str(),
        }),
        StepKind::ToolCall {
            server,
            tool,
            arguments,
            result,
            error,
            status,
            parent,
        } => json!({
            "server": server, "tool": tool, "arguments": arguments, "result": result,
            "error": error, "status": status.as_str(), "parent": parent,
        }),
        StepKind::WebSearch { query, status } => {
            json!({ "query": query, "status": status.as_str() })
        }
        StepKind::Plan { items } => json!({
            "items": items.iter().map(|i| json!({"text": i.text, "status": i.status})).collect::<Vec<_>>(),
        }),
        StepKind::Warning { message } | StepKind::Error { message } => {
            json!({ "message": message })
        }
        StepKind::Other { kind, raw } => json!({ "event": kind, "raw": raw }),
    };
    let obj = v.as_object_mut().expect("object");
    obj.insert("type".into(), json!(step.kind.name()));
    obj.insert("turn".into(), json!(turn));
    obj.insert("line".into(), json!(step.line));
    StepJson::Other(v)
}

/// `doctor --json`.
#[derive(Serialize)]
pub struct DoctorJson {
    pub schema_version: u32,
    /// Whether repairs were attempted (`--fix`).
    pub fix: bool,
    /// True when no problem is left unfixed.
    pub healthy: bool,
    pub problems: Vec<ProblemFindingJson>,
}

#[derive(Serialize)]
pub struct ProblemFindingJson {
    /// `stale_running`, `stalled`, `stray_process`, `unreadable_meta`,
    /// `missing_turn_file`, `temp_file`, `interrupted_removal`,
    /// `interrupted_creation`, `foreign_lock_holder`.
    pub kind: &'static str,
    pub session: Option<String>,
    pub detail: String,
    pub fixed: bool,
    /// What `--fix` did, or why it could not.
    pub action: Option<String>,
}

impl From<&crate::session::doctor::Finding> for ProblemFindingJson {
    fn from(f: &crate::session::doctor::Finding) -> Self {
        ProblemFindingJson {
            kind: f.kind.as_str(),
            session: f.session.clone(),
            detail: f.detail.clone(),
            fixed: f.fixed,
            action: f.action.clone(),
        }
    }
}
