//! The errors of the records of rights (the `rights` module): a `meta.json`
//! that disagrees with its session's record, or asks for what no session
//! could have been started with, and a record that cannot be trusted.

use std::fmt;
use std::path::PathBuf;

/// The keys a record vouches for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Key {
    Store,
    Adapter,
    Sandbox,
    WorkingDir,
    AgentArgs,
}

impl Key {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Key::Store => "store",
            Key::Adapter => "adapter",
            Key::Sandbox => "sandbox",
            Key::WorkingDir => "working_dir",
            Key::AgentArgs => "agent_args",
        }
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// `meta.json` (or where it lies) disagrees with the record.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) struct Mismatch {
    pub key: Key,
    /// What `meta.json` says; for [`Key::Store`], the store it was read from.
    pub stored: Option<String>,
    /// What the session was started with.
    pub recorded: Option<String>,
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (stored, recorded) = (shown(&self.stored), shown(&self.recorded));
        match self.key {
            Key::Store => write!(
                f,
                "the session was started in the store at {recorded}, not in this one \
                 ({stored}); refusing to run it from here"
            ),
            key => write!(
                f,
                "meta.json's `{key}` is {stored} but the session was started with \
                 {recorded}; refusing to widen the agent's rights"
            ),
        }
    }
}

/// Quoted and escaped: the value may be anyone's text, newlines included.
fn shown(value: &Option<String>) -> String {
    match value {
        Some(v) => format!("{v:?}"),
        None => "none (the agent's default)".into(),
    }
}

/// A value of `meta.json` that no session could have been started with.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("meta.json's `{key}` is {value:?}: {why}")]
pub(crate) struct Invalid {
    pub key: Key,
    pub value: String,
    pub why: &'static str,
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum RightsError {
    #[error(transparent)]
    Mismatch(#[from] Mismatch),

    #[error(transparent)]
    Invalid(#[from] Invalid),

    #[error(transparent)]
    InvalidId(#[from] crate::model::InvalidId),

    #[error("{} is a symbolic link, which zwarm does not follow there", path.display())]
    Link { path: PathBuf },

    /// A folder or file that someone else could have written.
    #[error("zwarm does not trust {}: {why}", path.display())]
    Untrusted { path: PathBuf, why: String },

    #[error("cannot read the record {}: {reason}", path.display())]
    Corrupt { path: PathBuf, reason: String },

    #[error(
        "nowhere to keep session records: neither XDG_STATE_HOME nor HOME is an absolute path"
    )]
    NoStateHome,

    #[error(transparent)]
    Io(#[from] super::IoError),
}

impl RightsError {
    pub(crate) fn io(
        op: &'static str,
        path: impl Into<PathBuf>,
        source: impl Into<std::io::Error>,
    ) -> Self {
        RightsError::Io(super::IoError::new(op, path, source))
    }
}
