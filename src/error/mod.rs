//! Typed errors for the cases callers branch on, each with its exit code.

pub(crate) mod rights;

use crate::model::short;
use std::path::PathBuf;

/// Process exit codes. The table is part of the CLI contract (README, `--help`).
pub(crate) mod exit {
    pub(crate) const OK: i32 = 0;
    /// A command failed, or a session it started failed.
    pub(crate) const FAILURE: i32 = 1;
    /// Bad arguments: unknown flag, malformed or ambiguous id, empty task.
    pub(crate) const USAGE: i32 = 2;
    /// No session matches the given id.
    pub(crate) const NOT_FOUND: i32 = 3;
    /// A session ended without completing (failed or killed).
    pub(crate) const NOT_COMPLETED: i32 = 4;
    /// The session has a turn running, so the request was refused.
    pub(crate) const BUSY: i32 = 5;
    /// `wait --timeout` ran out.
    pub(crate) const TIMEOUT: i32 = 124;
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum Error {
    #[error("no session matches '{0}'")]
    NotFound(String),

    #[error("'{prefix}' matches {} sessions: {}", candidates.len(), candidates.join(", "))]
    Ambiguous {
        prefix: String,
        candidates: Vec<String>,
    },

    #[error(transparent)]
    InvalidId(#[from] crate::model::InvalidId),

    #[error("session {id} has turn {turn} running")]
    Busy { id: String, turn: u32 },

    #[error("session {} has used up its budget: {breach}", short(id))]
    OverBudget {
        id: String,
        breach: crate::model::Breach,
    },

    #[error("no session started: this caller is at depth {depth} and ZWARM_MAX_DEPTH is {max}, so the sessions it starts may not start sessions of their own")]
    TooDeep { depth: u32, max: u32 },

    #[error("session {id} is not running (it is {status}); nothing to {action}")]
    NotRunning {
        id: String,
        status: String,
        action: &'static str,
    },

    #[error("cannot read session {}: {reason}", path.display())]
    CorruptMeta { path: PathBuf, reason: String },

    #[error("cannot read session {}: meta.json is {size} bytes, more than zwarm reads ({} MiB)", path.display(), limit >> 20)]
    MetaTooLarge {
        path: PathBuf,
        size: u64,
        /// The most that is read of a `meta.json`.
        limit: u64,
    },

    #[error("session {id} is locked by {}", match holder { Some(p) => format!("process {p}, which is launching a turn or writing it"), None => "another process".to_string() })]
    Locked { id: String, holder: Option<i32> },

    #[error("session {id}'s run lock is held by {}, which is not its recorded supervisor; nothing was signalled", match holder { Some(p) => format!("process {p}"), None => "another process".to_string() })]
    RunLocked { id: String, holder: Option<i32> },

    #[error("session {id}: {source}")]
    Rights {
        id: String,
        #[source]
        source: rights::RightsError,
    },

    #[error("session {id} has no record of the rights it was started with, though its folder was made after zwarm began keeping them for this store: it was not started by zwarm (copied or forged into the store); refusing to run an agent for it")]
    Unrecorded { id: String },

    #[error("session {id}: meta.json's `{key}` ({}) {why}; refusing to pass it to the agent", .value.escape_debug())]
    BadValue {
        id: String,
        key: &'static str,
        value: String,
        why: &'static str,
    },

    #[error("refusing to signal process {pid} recorded for session {id}: {why}")]
    NotOurs { id: String, pid: i32, why: String },

    #[error("session {id}: the agent's process group {pgid} is still alive after SIGKILL: {}", pids.join(", "))]
    Survived {
        id: String,
        pgid: i32,
        pids: Vec<String>,
    },

    #[error("turn {turn} of session {id} has no output file: {} is missing", path.display())]
    MissingTurnFile {
        id: String,
        turn: u32,
        path: PathBuf,
    },

    #[error(transparent)]
    UnknownAgent(#[from] crate::model::UnknownAgent),

    #[error("{0}")]
    Usage(String),

    #[error(transparent)]
    Io(#[from] IoError),

    #[error(transparent)]
    Worktree(#[from] crate::git::WorktreeError),

    #[error("session {}'s worktree holds work its snapshots do not: {}; nothing was removed", short(id), files.join(", "))]
    WorktreeHoldsWork { id: String, files: Vec<String> },
}

/// An operation on a path that failed: what was done, where, and why.
#[derive(Debug, thiserror::Error)]
#[error("{op} {}: {source}", path.display())]
pub(crate) struct IoError {
    pub(crate) op: &'static str,
    pub(crate) path: PathBuf,
    #[source]
    pub(crate) source: std::io::Error,
}

impl IoError {
    pub(crate) fn new(
        op: &'static str,
        path: impl Into<PathBuf>,
        source: impl Into<std::io::Error>,
    ) -> Self {
        IoError {
            op,
            path: path.into(),
            source: source.into(),
        }
    }

    pub(crate) fn is_not_found(&self) -> bool {
        self.source.kind() == std::io::ErrorKind::NotFound
    }
}

impl Error {
    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io(IoError::new(op, path, source))
    }

    /// True for a write refused because this process may not write there
    /// (permissions, a read-only mount) or there is no room (a full disk, a
    /// spent quota), as opposed to a write that failed otherwise.
    pub(crate) fn is_unwritable(&self) -> bool {
        match self {
            Error::Io(e) => crate::dir::is_unwritable(&e.source),
            _ => false,
        }
    }

    pub(crate) fn exit_code(&self) -> i32 {
        match self {
            Error::NotFound(_) => exit::NOT_FOUND,
            Error::Ambiguous { .. } | Error::InvalidId(_) | Error::Usage(_) => exit::USAGE,
            Error::Worktree(e) if e.is_usage() => exit::USAGE,
            Error::Busy { .. } => exit::BUSY,
            Error::NotRunning { .. }
            | Error::TooDeep { .. }
            | Error::OverBudget { .. }
            | Error::CorruptMeta { .. }
            | Error::MetaTooLarge { .. }
            | Error::Locked { .. }
            | Error::NotOurs { .. }
            | Error::RunLocked { .. }
            | Error::Rights { .. }
            | Error::UnknownAgent(_)
            | Error::Unrecorded { .. }
            | Error::BadValue { .. }
            | Error::Survived { .. }
            | Error::MissingTurnFile { .. }
            | Error::Io(_)
            | Error::Worktree(_)
            | Error::WorktreeHoldsWork { .. } => exit::FAILURE,
        }
    }

    /// A follow-up line that tells the user what to do, where one helps.
    pub(crate) fn hint(&self) -> Option<String> {
        match self {
            Error::NotFound(_) => Some("`zwarm list` shows the sessions in this store".into()),
            Error::Ambiguous { .. } => Some("give more characters of the id".into()),
            Error::TooDeep { .. } => Some(
                "do the work in this session instead; a person may raise the bound with ZWARM_MAX_DEPTH where the chain starts".into(),
            ),
            Error::Busy { id, .. } => Some(format!(
                "wait for it with `zwarm wait {}`, or stop it with `zwarm kill {}`",
                short(id),
                short(id)
            )),
            Error::OverBudget { id, breach } => Some(format!(
                "give the next turn a larger budget: `zwarm inject {} {} MESSAGE`",
                match breach {
                    crate::model::Breach::Tokens { .. } => "--max-tokens N",
                    crate::model::Breach::Cost { .. } => "--max-cost USD",
                },
                short(id)
            )),
            Error::Rights {
                source: rights::RightsError::Mismatch(_),
                ..
            } => Some(
                "the session was started with other settings: put them back in meta.json, or start a new session"
                    .into(),
            ),
            Error::WorktreeHoldsWork { id, .. } => Some(format!(
                "commit or copy that work first, or `zwarm rm --force {}` keeps it as refs/zwarm/{id}/final and removes the worktree",
                short(id)
            )),
            Error::MetaTooLarge { .. } => Some(
                "`zwarm doctor` reports it; move the file aside or truncate it yourself".into(),
            ),
            Error::Locked { id, .. } => Some(format!(
                "try again in a moment; `zwarm doctor` names what holds {}",
                short(id)
            )),
            Error::CorruptMeta { .. } => Some(
                "`zwarm doctor --fix` moves unreadable sessions aside, into the store's quarantine/"
                    .into(),
            ),
            _ => None,
        }
    }
}

pub(crate) type Result<T, E = Error> = std::result::Result<T, E>;
