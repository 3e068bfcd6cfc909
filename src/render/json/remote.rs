//! The documents of `version` and `remote ls`, and the `host` object a
//! remote's documents carry.

use super::SCHEMA_VERSION;
use crate::remote::ordered::Ordered;
use serde::Serialize;

/// `version`: what a remote is checked by before it is added.
#[derive(Serialize)]
pub(crate) struct VersionJson {
    pub schema_version: u32,
    pub version: &'static str,
}

impl VersionJson {
    pub(crate) fn current() -> Self {
        VersionJson {
            schema_version: SCHEMA_VERSION,
            version: env!("CARGO_PKG_VERSION"),
        }
    }
}

/// One remote in `remote ls`.
#[derive(Serialize)]
pub(crate) struct RemoteJson<'a> {
    pub name: &'a str,
    pub target: &'a str,
    pub remote_dir: Option<&'a str>,
    pub workdir: Option<&'a str>,
    pub zwarm: &'a str,
    pub options: &'a [String],
}

/// `remote ls`.
#[derive(Serialize)]
pub(crate) struct RemotesJson<'a> {
    pub schema_version: u32,
    pub remotes: Vec<RemoteJson<'a>>,
}

impl<'a> RemotesJson<'a> {
    pub(crate) fn new(remotes: Vec<RemoteJson<'a>>) -> Self {
        RemotesJson {
            schema_version: SCHEMA_VERSION,
            remotes,
        }
    }
}

/// Which host a document or a session came from: `stale` when the host did
/// not answer and what is shown is what it last listed, at `last_seen`.
#[derive(Clone, Serialize)]
pub(crate) struct HostJson {
    pub name: String,
    pub stale: bool,
    pub last_seen: Option<String>,
}

/// Adds `host` to a remote's document: to each of its `sessions` (`list`,
/// `wait`), and at its top level.
pub(crate) fn with_host(doc: &mut Ordered, host: &HostJson) {
    let Ok(value) = Ordered::of(host) else {
        return;
    };
    if let Some(Ordered::Array(sessions)) = doc.get_mut("sessions") {
        for s in sessions {
            s.set("host", value.clone());
        }
    }
    doc.set("host", value);
}
