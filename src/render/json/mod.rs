//! The `--json` documents: their own types, versioned, never a dump of the
//! internal structs, so internals can change without breaking consumers.

use crate::model::AgentKind;
use crate::model::{Budget, ExitStatus, Session, TurnRecord, Usage};
use crate::session::manager::QueuePlace;
use crate::session::stall::Stall;
use crate::store::LoadProblem;
use crate::timefmt::Timestamp;
use serde::Serialize;
use serde_json::{json, Value};

mod git;
mod list_stream;
mod remote;
mod step;
mod type_last;
pub(crate) use git::{ApplyJson, ChangesJson, DiffJson, SnapshotJson, WorktreeJson};
pub(crate) use list_stream::ListJsonStream;
pub(crate) use remote::{with_host, HostJson, RemoteJson, RemotesJson, VersionJson};
pub(crate) use step::{step_json, watch_step_json};

pub(crate) const SCHEMA_VERSION: u32 = 1;

/// A budget (`--max-tokens`, `--max-cost`), each limit null when not set;
/// the whole object null when neither is.
#[derive(Serialize)]
pub(crate) struct BudgetJson {
    pub max_tokens: Option<u64>,
    pub max_cost_usd: Option<f64>,
}

impl BudgetJson {
    fn of(b: &Budget) -> Option<Self> {
        (!b.is_empty()).then_some(BudgetJson {
            max_tokens: b.max_tokens,
            max_cost_usd: b.max_cost_usd,
        })
    }
}

#[derive(Serialize)]
pub(crate) struct UsageJson {
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
pub(crate) struct SessionJson<'a> {
    pub id: &'a str,
    pub short_id: &'a str,
    pub status: &'static str,
    /// How the latest turn ended: completed, failed, interrupted, killed,
    /// agent_missing, ...; null while it runs or for sessions without turn
    /// records.
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
    /// When the account's limit that ended the latest turn lifts, if known.
    pub resets_at: Option<Timestamp>,
    pub agent_session_id: Option<&'a str>,
    pub usage: UsageJson,
    pub cost_usd: Option<f64>,
    pub last_message: Option<&'a str>,
    /// Set while the running turn has only retried for longer than
    /// `--stall-after`; null otherwise (and in documents that do not look).
    pub stalled: Option<StallJson>,
    /// The git worktree zwarm made for the session; null for others.
    pub worktree: Option<WorktreeJson<'a>>,
    /// Where a pending session waits (`--max-running`, `--after`); null
    /// otherwise (and in documents that do not look).
    pub queue: Option<QueueJson>,
    /// What the session may spend in all its turns (`start --max-tokens`,
    /// `--max-cost`); null without a budget.
    pub budget: Option<BudgetJson>,
}

#[derive(Serialize)]
pub(crate) struct QueueJson {
    pub group: String,
    pub max_running: Option<u32>,
    /// The group's turns running now.
    pub running: usize,
    /// 1-based place among the group's waiting turns; null while it waits
    /// for the sessions in `after` first.
    pub position: Option<usize>,
    /// Ids of the sessions it comes after that have not ended yet.
    pub after: Vec<String>,
    /// Its agent's account limit holds it back.
    pub limited: bool,
    /// It starts no earlier: its agent's limit's reset, or `retry --at-reset`.
    pub waits_until: Option<Timestamp>,
}

#[derive(Serialize)]
pub(crate) struct StallJson {
    /// When the retrying began, at the latest.
    pub since: String,
    pub retries: u64,
    pub last_retry: Option<String>,
}

impl SessionJson<'_> {
    pub(crate) fn with_queue(mut self, place: Option<&QueuePlace>) -> Self {
        self.queue = place.map(|q| QueueJson {
            group: q.group.clone(),
            max_running: q.max_running,
            running: q.running,
            position: q.position,
            after: q.after.clone(),
            limited: q.limited,
            waits_until: q.waits_until,
        });
        self
    }

    pub(crate) fn with_stall(mut self, stall: Option<&Stall>) -> Self {
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
            ending: s
                .current_turn()
                .and_then(TurnRecord::ending)
                .map(|e| e.as_str()),
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
            resets_at: s.current_turn().and_then(TurnRecord::resets_at),
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
            worktree: s.worktree.as_ref().map(Into::into),
            queue: None,
            budget: BudgetJson::of(&s.budget),
        }
    }
}

#[derive(Serialize)]
pub(crate) struct TurnJson {
    pub turn: u32,
    pub started_at: Option<String>,
    pub ended_at: Option<String>,
    pub ending: Option<&'static str>,
    pub exit_code: Option<i32>,
    pub signal: Option<i32>,
    pub error: Option<String>,
    pub resets_at: Option<String>,
    pub agent_session_id: Option<String>,
    pub reported_model: Option<String>,
    pub usage: Option<UsageJson>,
    pub final_message: Option<String>,
    pub skipped_lines: u64,
    /// What the turn changed in the working tree, from its snapshots.
    pub changes: Option<ChangesJson>,
    pub snapshot: Option<SnapshotJson>,
    /// The session's budget as it stood for this turn (an inject's own
    /// limits, else the start's); null without one.
    pub budget: Option<BudgetJson>,
    /// The options the turn gave the agent as they are (`--agent-arg`).
    pub agent_args: Vec<String>,
}

impl From<&TurnRecord> for TurnJson {
    fn from(t: &TurnRecord) -> Self {
        TurnJson {
            turn: t.turn,
            started_at: t.started_at.map(|x| x.to_string()),
            ended_at: t.ended_at().map(|x| x.to_string()),
            ending: t.ending().map(|e| e.as_str()),
            exit_code: match t.exit() {
                Some(ExitStatus::Code(c)) => Some(c),
                _ => None,
            },
            signal: match t.exit() {
                Some(ExitStatus::Signal(s)) => Some(s),
                _ => None,
            },
            error: t.error().map(str::to_owned),
            resets_at: t.resets_at().map(|x| x.to_string()),
            agent_session_id: t.agent_session_id.clone(),
            reported_model: t.reported_model.clone(),
            usage: t.usage.as_ref().map(Into::into),
            final_message: t.final_message.clone(),
            skipped_lines: t.skipped_lines,
            changes: t.snapshot.as_ref().and_then(|s| s.changes).map(Into::into),
            snapshot: t.snapshot.as_ref().map(Into::into),
            budget: BudgetJson::of(&t.budget),
            agent_args: t.agent_args.clone(),
        }
    }
}

#[derive(Serialize)]
pub(crate) struct MessageJson {
    pub role: String,
    pub content: String,
    pub timestamp: String,
    pub turn: Option<u64>,
}

/// `show`: a session with its turns and messages.
#[derive(Serialize)]
pub(crate) struct ShowJson<'a> {
    pub schema_version: u32,
    #[serde(flatten)]
    pub session: SessionJson<'a>,
    pub turn_records: Vec<TurnJson>,
    pub messages: Vec<MessageJson>,
}

impl<'a> ShowJson<'a> {
    /// The session, whether its running turn is stalled, and where it
    /// waits if it is queued.
    pub(crate) fn new(s: &'a Session, stall: Option<&Stall>, place: Option<&QueuePlace>) -> Self {
        let mut doc = ShowJson::from(s);
        doc.session = doc.session.with_stall(stall).with_queue(place);
        doc
    }
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
pub(crate) struct SessionDoc<'a> {
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
pub(crate) struct ProblemJson {
    pub id: String,
    pub error: String,
}

#[derive(Serialize)]
pub(crate) struct ListJson<'a> {
    pub schema_version: u32,
    pub sessions: Vec<SessionJson<'a>>,
    /// Sessions that could not be read.
    pub problems: Vec<ProblemJson>,
}

impl<'a> ListJson<'a> {
    /// `stalls` and `places` go with `sessions`, index by index.
    pub(crate) fn new(
        sessions: &'a [Session],
        stalls: &[Option<Stall>],
        places: &[Option<QueuePlace>],
        problems: &[LoadProblem],
    ) -> Self {
        ListJson {
            schema_version: SCHEMA_VERSION,
            sessions: sessions
                .iter()
                .zip(stalls)
                .zip(places)
                .map(|((s, st), q)| {
                    SessionJson::from(s)
                        .with_stall(st.as_ref())
                        .with_queue(q.as_ref())
                })
                .collect(),
            problems: problems_json(problems),
        }
    }
}

fn problems_json(problems: &[LoadProblem]) -> Vec<ProblemJson> {
    problems
        .iter()
        .map(|pr| ProblemJson {
            id: pr.id.clone(),
            error: pr.error.to_string(),
        })
        .collect()
}

/// `kill` and `rm`: one entry per id asked for.
#[derive(Serialize)]
pub(crate) struct ActionJson {
    pub schema_version: u32,
    pub results: Vec<ActionResultJson>,
}

#[derive(Serialize)]
pub(crate) struct ActionResultJson {
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

impl ActionResultJson {
    /// Done: with `killed`, the agent is stopped and its ending recorded.
    pub(crate) fn done(s: &Session, killed: bool) -> Self {
        ActionResultJson {
            id: s.id.to_string(),
            ok: true,
            status: Some(s.status.as_str()),
            error: None,
            agent_stopped: killed.then_some(true),
            ending_recorded: killed.then_some(true),
        }
    }

    /// The agent stopped, its ending not recorded: `why`.
    pub(crate) fn unrecorded(s: &Session, why: String) -> Self {
        ActionResultJson {
            id: s.id.to_string(),
            ok: false,
            status: Some(s.status.as_str()),
            error: Some(why),
            agent_stopped: Some(true),
            ending_recorded: Some(false),
        }
    }

    /// Nothing done to `id` (the full id, or as given if it names no
    /// session), for `error`.
    pub(crate) fn failed(id: String, error: &crate::error::Error) -> Self {
        ActionResultJson {
            id,
            ok: false,
            status: None,
            error: Some(error.to_string()),
            agent_stopped: None,
            ending_recorded: None,
        }
    }
}

/// `wait`: every session asked for, as it stood when the wait returned.
#[derive(Serialize)]
pub(crate) struct WaitJson<'a> {
    pub schema_version: u32,
    pub timed_out: bool,
    pub sessions: Vec<SessionJson<'a>>,
}

impl<'a> WaitJson<'a> {
    pub(crate) fn new(sessions: impl IntoIterator<Item = &'a Session>, timed_out: bool) -> Self {
        WaitJson {
            schema_version: SCHEMA_VERSION,
            timed_out,
            sessions: sessions.into_iter().map(Into::into).collect(),
        }
    }
}

/// `clean`.
#[derive(Serialize)]
pub(crate) struct CleanJson<'a> {
    pub schema_version: u32,
    pub dry_run: bool,
    /// Removed, or with `dry_run`, what would be.
    pub sessions: Vec<SessionJson<'a>>,
    /// Due for removal, but the removal failed.
    pub failed: Vec<ProblemJson>,
    /// With `--snapshots`: the snapshot refs of removed sessions dropped
    /// (or with `dry_run`, to be); empty otherwise.
    pub snapshots: Vec<DroppedJson>,
}

#[derive(Serialize)]
pub(crate) struct DroppedJson {
    pub id: String,
    /// The repository's git directory.
    pub repo: String,
    pub refs: Vec<String>,
}

impl<'a> CleanJson<'a> {
    pub(crate) fn new(dry_run: bool, sessions: &'a [Session], failed: Vec<ProblemJson>) -> Self {
        CleanJson {
            schema_version: SCHEMA_VERSION,
            dry_run,
            sessions: sessions.iter().map(Into::into).collect(),
            failed,
            snapshots: Vec::new(),
        }
    }

    pub(crate) fn with_snapshots(mut self, dropped: Vec<DroppedJson>) -> Self {
        self.snapshots = dropped;
        self
    }
}

/// The last line of `watch --json`, once the turn has ended.
#[derive(Serialize)]
pub(crate) struct WatchEndJson {
    pub schema_version: u32,
    /// Always `end`, so a consumer tells it from the steps by `type`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub turn: u32,
    pub session: String,
    pub status: &'static str,
    pub ending: &'static str,
    pub error: Option<String>,
    /// When the account's limit that ended the turn lifts, if known.
    pub resets_at: Option<Timestamp>,
    pub exit_code: Option<i32>,
}

impl WatchEndJson {
    /// `ending`: how the turn ended.
    pub(crate) fn new(s: &Session, ending: &'static str) -> Self {
        WatchEndJson {
            schema_version: SCHEMA_VERSION,
            kind: "end",
            turn: s.turn,
            session: s.id.to_string(),
            status: s.status.as_str(),
            ending,
            error: s.error.clone(),
            resets_at: s.current_turn().and_then(TurnRecord::resets_at),
            exit_code: s.exit_code,
        }
    }
}

/// `trajectory`: `{"schema_version":1,"session":ID,"steps":[STEP,...]}`,
/// written in pieces (this opening, the steps comma-separated, the close) so
/// a long trajectory is never held in memory whole.
pub(crate) fn trajectory_open(session: &str) -> String {
    format!(
        "{{\"schema_version\":{SCHEMA_VERSION},\"session\":{},\"steps\":[",
        json!(session)
    )
}

pub(crate) const TRAJECTORY_CLOSE: &str = "]}";

/// `doctor --json`.
#[derive(Serialize)]
pub(crate) struct DoctorJson {
    pub schema_version: u32,
    /// Whether repairs were attempted (`--fix`).
    pub fix: bool,
    /// True when no problem is left unfixed.
    pub healthy: bool,
    pub problems: Vec<ProblemFindingJson>,
}

impl DoctorJson {
    pub(crate) fn new(fix: bool, findings: &[crate::session::doctor::Finding]) -> Self {
        DoctorJson {
            schema_version: SCHEMA_VERSION,
            fix,
            healthy: findings.iter().all(|f| f.fixed),
            problems: findings.iter().map(Into::into).collect(),
        }
    }
}

#[derive(Serialize)]
pub(crate) struct ProblemFindingJson {
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
