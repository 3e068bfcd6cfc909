//! The consumer's side of the `--json` contract (docs/json.md): the types a
//! program reading zwarm's documents would declare. They are written from the
//! documentation, not from zwarm's own code. Every struct refuses unknown
//! fields and every field is required, nullable ones included (but `host`,
//! which only a remote's documents carry), so a field
//! added, renamed or dropped in the binary without updating these fails the
//! tests that decode real output with them.

#![allow(dead_code)]

use serde::{Deserialize, Deserializer};
use serde_json::Value;

pub const SCHEMA_VERSION: u32 = 1;

/// A field that must be present but may be null. Plain `Option` fields would
/// accept a missing key as `None`; a field with its own deserializer is
/// required.
fn nullable<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::deserialize(d)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Pending,
    Running,
    Completed,
    Failed,
    Killed,
    Unknown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Ending {
    Completed,
    Failed,
    Interrupted,
    Killed,
    AgentMissing,
    SetupFailed,
    TimedOut,
    BudgetExceeded,
    DependencyFailed,
    RateLimited,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Usage {
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub total_tokens: u64,
    pub cached_input_tokens: u64,
    pub reasoning_output_tokens: u64,
    pub cache_read_input_tokens: u64,
    pub cache_creation_input_tokens: u64,
}

/// The session fields are flattened into `start`, `inject` and `show`
/// documents; `deny_unknown_fields` does not combine with `flatten`, so the
/// fields are spelt out in each struct by this macro instead.
macro_rules! with_session_fields {
    ($(#[$m:meta])* pub struct $name:ident { $($(#[$fm:meta])* pub $f:ident : $t:ty,)* }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct $name {
            $($(#[$fm])* pub $f: $t,)*
            pub id: String,
            pub short_id: String,
            pub status: Status,
            #[serde(deserialize_with = "nullable")]
            pub ending: Option<Ending>,
            pub adapter: String,
            pub model: String,
            pub task: String,
            pub working_dir: String,
            pub source: String,
            pub turns: u32,
            pub created_at: String,
            pub updated_at: String,
            #[serde(deserialize_with = "nullable")]
            pub ended_at: Option<String>,
            #[serde(deserialize_with = "nullable")]
            pub pid: Option<i32>,
            #[serde(deserialize_with = "nullable")]
            pub exit_code: Option<i32>,
            #[serde(deserialize_with = "nullable")]
            pub error: Option<String>,
            #[serde(deserialize_with = "nullable")]
            pub resets_at: Option<String>,
            #[serde(deserialize_with = "nullable")]
            pub agent_session_id: Option<String>,
            pub usage: Usage,
            #[serde(deserialize_with = "nullable")]
            pub cost_usd: Option<f64>,
            #[serde(deserialize_with = "nullable")]
            pub last_message: Option<String>,
            #[serde(deserialize_with = "nullable")]
            pub stalled: Option<Stall>,
            #[serde(deserialize_with = "nullable")]
            pub worktree: Option<Worktree>,
            #[serde(deserialize_with = "nullable")]
            pub queue: Option<Queue>,
            #[serde(deserialize_with = "nullable")]
            pub budget: Option<Budget>,
            /// Only in documents from a remote (`--host`, `NAME:ID`,
            /// `list --all-hosts`).
            #[serde(default)]
            pub host: Option<Host>,
        }
    };
}

/// Which host a remote's document or session came from.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Host {
    pub name: String,
    pub stale: bool,
    #[serde(deserialize_with = "nullable")]
    pub last_seen: Option<String>,
}

/// `version --json`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VersionDoc {
    pub schema_version: u32,
    pub version: String,
    #[serde(default)]
    pub host: Option<Host>,
}

/// `remote ls --json` (and `remote add`, `remote rm`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemotesDoc {
    pub schema_version: u32,
    pub remotes: Vec<Remote>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Remote {
    pub name: String,
    pub target: String,
    #[serde(deserialize_with = "nullable")]
    pub remote_dir: Option<String>,
    #[serde(deserialize_with = "nullable")]
    pub workdir: Option<String>,
    pub zwarm: String,
    pub options: Vec<String>,
}

/// `list --all-hosts --json`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AllHostsDoc {
    pub schema_version: u32,
    pub sessions: Vec<Session>,
    pub problems: Vec<Problem>,
    pub hosts: Vec<HostState>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostState {
    pub name: String,
    pub stale: bool,
    #[serde(deserialize_with = "nullable")]
    pub last_seen: Option<String>,
    #[serde(deserialize_with = "nullable")]
    pub error: Option<String>,
}

/// Where a pending session waits (`--max-running`, `--after`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Queue {
    pub group: String,
    #[serde(deserialize_with = "nullable")]
    pub max_running: Option<u32>,
    pub running: u64,
    #[serde(deserialize_with = "nullable")]
    pub position: Option<u64>,
    pub after: Vec<String>,
    pub limited: bool,
    #[serde(deserialize_with = "nullable")]
    pub waits_until: Option<String>,
}

/// A session's or a turn's budget (`--max-tokens`, `--max-cost`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Budget {
    #[serde(deserialize_with = "nullable")]
    pub max_tokens: Option<u64>,
    #[serde(deserialize_with = "nullable")]
    pub max_cost_usd: Option<f64>,
}

/// The git worktree of a `start --worktree` session.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Worktree {
    pub path: String,
    pub branch: String,
    pub base: String,
    #[serde(deserialize_with = "nullable")]
    pub dirty: Option<bool>,
    #[serde(deserialize_with = "nullable")]
    pub ahead: Option<u32>,
}

/// What a turn (or a session) changed in its working tree.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Changes {
    pub files: u64,
    pub insertions: u64,
    pub deletions: u64,
}

/// A turn's snapshot commits.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Snapshot {
    #[serde(deserialize_with = "nullable")]
    pub start: Option<String>,
    #[serde(deserialize_with = "nullable")]
    pub end: Option<String>,
    pub left_out: Vec<String>,
    #[serde(deserialize_with = "nullable")]
    pub commit: Option<String>,
    #[serde(deserialize_with = "nullable")]
    pub error: Option<String>,
}

/// `diff --json`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiffDoc {
    pub schema_version: u32,
    pub id: String,
    #[serde(deserialize_with = "nullable")]
    pub turn: Option<u32>,
    pub from: String,
    pub to: String,
    pub changes: Changes,
    #[serde(default)]
    pub patch: Option<String>,
    #[serde(default)]
    pub stat: Option<String>,
}

/// `apply --json`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApplyDoc {
    pub schema_version: u32,
    pub id: String,
    #[serde(deserialize_with = "nullable")]
    pub turn: Option<u32>,
    pub applied: bool,
    pub files: Vec<String>,
    /// `apply HOST:ID`.
    #[serde(default)]
    pub host: Option<Host>,
}

/// A running turn that has only retried for longer than `--stall-after`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Stall {
    pub since: String,
    pub retries: u64,
    #[serde(deserialize_with = "nullable")]
    pub last_retry: Option<String>,
}

with_session_fields! {
    /// A session inside `list`, `wait` and `clean`.
    pub struct Session {}
}

with_session_fields! {
    /// `start --json`, `inject --json`.
    pub struct SessionDoc {
        pub schema_version: u32,
    }
}

with_session_fields! {
    /// `show --json`.
    pub struct ShowDoc {
        pub schema_version: u32,
        pub turn_records: Vec<TurnRecord>,
        pub messages: Vec<Message>,
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TurnRecord {
    pub turn: u32,
    #[serde(deserialize_with = "nullable")]
    pub started_at: Option<String>,
    #[serde(deserialize_with = "nullable")]
    pub ended_at: Option<String>,
    #[serde(deserialize_with = "nullable")]
    pub ending: Option<Ending>,
    #[serde(deserialize_with = "nullable")]
    pub exit_code: Option<i32>,
    #[serde(deserialize_with = "nullable")]
    pub signal: Option<i32>,
    #[serde(deserialize_with = "nullable")]
    pub error: Option<String>,
    #[serde(deserialize_with = "nullable")]
    pub resets_at: Option<String>,
    #[serde(deserialize_with = "nullable")]
    pub agent_session_id: Option<String>,
    #[serde(deserialize_with = "nullable")]
    pub reported_model: Option<String>,
    #[serde(deserialize_with = "nullable")]
    pub usage: Option<Usage>,
    #[serde(deserialize_with = "nullable")]
    pub final_message: Option<String>,
    pub skipped_lines: u64,
    #[serde(deserialize_with = "nullable")]
    pub changes: Option<Changes>,
    #[serde(deserialize_with = "nullable")]
    pub snapshot: Option<Snapshot>,
    #[serde(deserialize_with = "nullable")]
    pub budget: Option<Budget>,
    pub agent_args: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Message {
    pub role: String,
    pub content: String,
    pub timestamp: String,
    #[serde(deserialize_with = "nullable")]
    pub turn: Option<u64>,
}

/// `list --json`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListDoc {
    pub schema_version: u32,
    pub sessions: Vec<Session>,
    pub problems: Vec<Problem>,
    #[serde(default)]
    pub host: Option<Host>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Problem {
    pub id: String,
    pub error: String,
}

/// `kill --json`, `rm --json`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionDoc {
    pub schema_version: u32,
    pub results: Vec<ActionResult>,
    #[serde(default)]
    pub host: Option<Host>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionResult {
    pub id: String,
    pub ok: bool,
    #[serde(deserialize_with = "nullable")]
    pub status: Option<Status>,
    #[serde(deserialize_with = "nullable")]
    pub error: Option<String>,
    #[serde(deserialize_with = "nullable")]
    pub agent_stopped: Option<bool>,
    #[serde(deserialize_with = "nullable")]
    pub ending_recorded: Option<bool>,
}

/// `wait --json`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WaitDoc {
    pub schema_version: u32,
    pub timed_out: bool,
    pub sessions: Vec<Session>,
    #[serde(default)]
    pub host: Option<Host>,
}

/// `clean --json`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CleanDoc {
    pub schema_version: u32,
    pub dry_run: bool,
    pub sessions: Vec<Session>,
    pub failed: Vec<CleanFailure>,
    pub snapshots: Vec<DroppedSnapshots>,
    #[serde(default)]
    pub host: Option<Host>,
}

/// `clean --snapshots`: the snapshot refs of a removed session.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DroppedSnapshots {
    pub id: String,
    pub repo: String,
    pub refs: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CleanFailure {
    pub id: String,
    pub error: String,
}

/// `doctor --json`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DoctorDoc {
    pub schema_version: u32,
    pub fix: bool,
    pub healthy: bool,
    pub problems: Vec<DoctorProblem>,
    #[serde(default)]
    pub host: Option<Host>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DoctorProblem {
    pub kind: String,
    #[serde(deserialize_with = "nullable")]
    pub session: Option<String>,
    pub detail: String,
    pub fixed: bool,
    #[serde(deserialize_with = "nullable")]
    pub action: Option<String>,
}

/// `trajectory --json`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrajectoryDoc {
    pub schema_version: u32,
    pub session: String,
    pub steps: Vec<Step>,
    #[serde(default)]
    pub host: Option<Host>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemStatus {
    InProgress,
    Completed,
    Failed,
    Declined,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Change {
    pub path: String,
    pub kind: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanItem {
    pub text: String,
    pub status: String,
}

/// One step; `type` says which it is.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Step {
    Message {
        turn: u32,
        line: u64,
        text: String,
    },
    Reasoning {
        turn: u32,
        line: u64,
        text: String,
    },
    Command {
        turn: u32,
        line: u64,
        command: String,
        output: String,
        #[serde(deserialize_with = "nullable")]
        exit_code: Option<i64>,
        status: ItemStatus,
    },
    FileChange {
        turn: u32,
        line: u64,
        changes: Vec<Change>,
        status: ItemStatus,
    },
    ToolCall {
        turn: u32,
        line: u64,
        #[serde(deserialize_with = "nullable")]
        server: Option<String>,
        tool: String,
        arguments: Value,
        #[serde(deserialize_with = "nullable")]
        result: Option<String>,
        #[serde(deserialize_with = "nullable")]
        error: Option<String>,
        status: ItemStatus,
        #[serde(deserialize_with = "nullable")]
        parent: Option<String>,
    },
    WebSearch {
        turn: u32,
        line: u64,
        query: String,
        status: ItemStatus,
    },
    Plan {
        turn: u32,
        line: u64,
        items: Vec<PlanItem>,
    },
    Warning {
        turn: u32,
        line: u64,
        message: String,
    },
    Error {
        turn: u32,
        line: u64,
        message: String,
    },
    Other {
        turn: u32,
        line: u64,
        event: String,
        raw: Value,
    },
}

impl Step {
    pub fn name(&self) -> &'static str {
        match self {
            Step::Message { .. } => "message",
            Step::Reasoning { .. } => "reasoning",
            Step::Command { .. } => "command",
            Step::FileChange { .. } => "file_change",
            Step::ToolCall { .. } => "tool_call",
            Step::WebSearch { .. } => "web_search",
            Step::Plan { .. } => "plan",
            Step::Warning { .. } => "warning",
            Step::Error { .. } => "error",
            Step::Other { .. } => "other",
        }
    }

    pub fn turn(&self) -> u32 {
        match self {
            Step::Message { turn, .. }
            | Step::Reasoning { turn, .. }
            | Step::Command { turn, .. }
            | Step::FileChange { turn, .. }
            | Step::ToolCall { turn, .. }
            | Step::WebSearch { turn, .. }
            | Step::Plan { turn, .. }
            | Step::Warning { turn, .. }
            | Step::Error { turn, .. }
            | Step::Other { turn, .. } => *turn,
        }
    }
}

/// The last line of `watch --json`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WatchEnd {
    pub schema_version: u32,
    #[serde(rename = "type")]
    pub kind: String,
    pub turn: u32,
    pub session: String,
    pub status: Status,
    pub ending: Ending,
    #[serde(deserialize_with = "nullable")]
    pub error: Option<String>,
    #[serde(deserialize_with = "nullable")]
    pub resets_at: Option<String>,
    #[serde(deserialize_with = "nullable")]
    pub exit_code: Option<i32>,
}

/// One line of `watch --json`.
#[derive(Debug, Clone)]
pub enum WatchLine {
    Step(Step),
    End(WatchEnd),
}

/// Decodes one NDJSON line of `watch --json`: a step with `schema_version`,
/// or the `end` line.
pub fn watch_line(line: &str) -> WatchLine {
    let mut v: Value =
        serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON: {e}: {line}"));
    assert_eq!(
        v["schema_version"], SCHEMA_VERSION,
        "every watch line carries schema_version: {line}"
    );
    if v["type"] == "end" {
        let end: WatchEnd =
            serde_json::from_value(v).unwrap_or_else(|e| panic!("end line: {e}: {line}"));
        assert_eq!(end.kind, "end");
        return WatchLine::End(end);
    }
    v.as_object_mut()
        .expect("a watch line is an object")
        .remove("schema_version");
    WatchLine::Step(serde_json::from_value(v).unwrap_or_else(|e| panic!("step: {e}: {line}")))
}

/// Decodes a whole document of type `T`, naming what failed.
pub fn decode<T: serde::de::DeserializeOwned>(what: &str, text: &str) -> T {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{what}: {e}\n{text}"))
}
