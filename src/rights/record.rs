//! What a session was started with, and the checks of a `meta.json`
//! against it: [`check`] where there is a record, [`validate`] where there
//! is none.

use crate::error::rights::{Invalid, Key, Mismatch};
use crate::model::AgentKind;
use crate::model::Session;
use crate::timefmt::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};

/// The values of `sandbox` that the agents understand. Absent means the
/// agent's own default.
pub(crate) const SANDBOXES: [&str; 3] = ["read-only", "workspace-write", "danger-full-access"];

/// The values of `adapter`: 2.3.5's names, and the short one for claude.
pub(crate) const ADAPTERS: [&str; 5] = ["codex", "claude_code", "claude", "gemini", "qwen"];

/// What a session was started with, as far as its agent's rights go.
/// Later keys must have serde defaults, so that the records of earlier
/// versions still read.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct Record {
    pub id: String,
    /// The canonical path of the store (`.zwarm`) the session belongs to: an
    /// id copied into another store does not bring its rights along.
    pub store: PathBuf,
    pub adapter: String,
    /// None is the agent's default; always written, as `null` then.
    #[serde(default)]
    pub sandbox: Option<String>,
    pub working_dir: String,
    /// The `--agent-arg`s of `start`, which every later turn is given
    /// unless its `inject` says otherwise.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub agent_args: Vec<String>,
    pub written_at: Timestamp,
    /// Keys written by later versions, kept on a read-modify-write.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

impl Record {
    /// An empty `sandbox` is recorded as none: the agents read it so.
    pub(crate) fn new(
        id: &str,
        store: &Path,
        adapter: &str,
        sandbox: Option<&str>,
        working_dir: &str,
    ) -> Self {
        Record {
            id: id.into(),
            store: store.into(),
            adapter: adapter.into(),
            sandbox: no_empty(sandbox).map(Into::into),
            working_dir: working_dir.into(),
            agent_args: Vec::new(),
            written_at: Timestamp::now(),
            other: Map::new(),
        }
    }

    /// The record of `session`, which lives in the store at `store`
    /// (canonical).
    pub(crate) fn of(session: &Session, store: &Path) -> Self {
        Record {
            agent_args: session.agent_args.clone(),
            ..Record::new(
                &session.id,
                store,
                &session.adapter,
                session.sandbox.as_deref(),
                &session.working_dir,
            )
        }
    }
}

/// The empty sandbox is the agent's default, as absent is.
fn no_empty(sandbox: Option<&str>) -> Option<&str> {
    sandbox.filter(|s| !s.is_empty())
}

/// The first key in which `meta.json`, read from the store at `store`
/// (canonical), differs from the record: the store, then `adapter`,
/// `sandbox`, `working_dir`. The adapter's two names for claude are one
/// agent; an absent, null and empty `sandbox` are the same.
pub(crate) fn check(
    record: &Record,
    store: &Path,
    adapter: &str,
    sandbox: Option<&str>,
    working_dir: &str,
) -> Result<(), Mismatch> {
    let differs = |key, stored: Option<&str>, recorded: Option<&str>| {
        Err(Mismatch {
            key,
            stored: stored.map(Into::into),
            recorded: recorded.map(Into::into),
        })
    };
    if record.store != store {
        return differs(
            Key::Store,
            Some(&store.to_string_lossy()),
            Some(&record.store.to_string_lossy()),
        );
    }
    if !same_adapter(adapter, &record.adapter) {
        return differs(Key::Adapter, Some(adapter), Some(&record.adapter));
    }
    let recorded_sandbox = no_empty(record.sandbox.as_deref());
    if no_empty(sandbox) != recorded_sandbox {
        return differs(Key::Sandbox, sandbox, recorded_sandbox);
    }
    if working_dir != record.working_dir {
        return differs(
            Key::WorkingDir,
            Some(working_dir),
            Some(&record.working_dir),
        );
    }
    Ok(())
}

/// [`check`] for a session as loaded from the store at `store` (canonical),
/// and then its `agent_args`: options an agent could add to its own next
/// turn's command line.
pub(crate) fn check_session(
    record: &Record,
    store: &Path,
    session: &Session,
) -> Result<(), Mismatch> {
    check(
        record,
        store,
        &session.adapter,
        session.sandbox.as_deref(),
        &session.working_dir,
    )?;
    if session.agent_args != record.agent_args {
        return Err(Mismatch {
            key: Key::AgentArgs,
            stored: Some(shown_args(&session.agent_args)),
            recorded: Some(shown_args(&record.agent_args)),
        });
    }
    Ok(())
}

fn shown_args(args: &[String]) -> String {
    serde_json::to_string(args).unwrap_or_default()
}

fn same_adapter(a: &str, b: &str) -> bool {
    a == b || AgentKind::from_meta(a).is_some_and(|k| AgentKind::from_meta(b) == Some(k))
}

/// For a session with no record: the first of `adapter`, `sandbox`,
/// `working_dir` that no session could have been started with.
pub(crate) fn validate(
    adapter: &str,
    sandbox: Option<&str>,
    working_dir: &str,
) -> Result<(), Invalid> {
    let invalid = |key, value: &str, why| {
        Err(Invalid {
            key,
            value: value.into(),
            why,
        })
    };
    if !ADAPTERS.contains(&adapter) {
        return invalid(
            Key::Adapter,
            adapter,
            "the agent is one of codex, claude_code, claude, gemini, qwen",
        );
    }
    if let Some(s) = no_empty(sandbox).filter(|s| !SANDBOXES.contains(s)) {
        return invalid(
            Key::Sandbox,
            s,
            "a sandbox is read-only, workspace-write or danger-full-access",
        );
    }
    if let Some(why) = bad_working_dir(working_dir) {
        return invalid(Key::WorkingDir, working_dir, why);
    }
    Ok(())
}

/// [`validate`] for a session; a session from before records were kept
/// was never given `--agent-arg`s.
pub(crate) fn validate_session(session: &Session) -> Result<(), Invalid> {
    validate(
        &session.adapter,
        session.sandbox.as_deref(),
        &session.working_dir,
    )?;
    if !session.agent_args.is_empty() {
        return Err(Invalid {
            key: Key::AgentArgs,
            value: shown_args(&session.agent_args),
            why: "a session without a record of its rights has none",
        });
    }
    Ok(())
}

fn bad_working_dir(dir: &str) -> Option<&'static str> {
    let path = Path::new(dir);
    if dir.contains('\0') {
        Some("a path cannot hold a NUL byte")
    } else if !path.is_absolute() {
        Some("it must be an absolute path")
    } else if path
        .components()
        .any(|c| c == std::path::Component::ParentDir)
    {
        Some("it must not climb out with `..`")
    } else {
        None
    }
}
