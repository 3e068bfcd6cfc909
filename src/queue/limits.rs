//! An agent's account limit, as the store last saw it: `.zwarm/limits/
//! <agent>.json`, written when a turn ends `rate_limited`, so that pending
//! sessions of that agent wait for the reset instead of starting into the
//! same wall. Cleared by a turn of that agent that completes, and, for a
//! limit whose reset is unknown, by a session of it started or retried by
//! hand.

use crate::dir::Dir;
use crate::timefmt::Timestamp;
use serde::{Deserialize, Serialize};
use std::io;
use std::path::Path;

const LIMITS: &str = "limits";

/// A limit in force.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Limit {
    /// When it lifts; None: nobody said.
    pub resets_at: Option<Timestamp>,
    /// The session whose turn met it.
    pub session: String,
    pub recorded_at: Timestamp,
}

impl Limit {
    /// Whether it still holds now.
    pub(crate) fn in_force(&self) -> bool {
        self.resets_at.is_none_or(|t| t > Timestamp::now())
    }
}

/// The store's `limits` folder.
pub(crate) struct Limits {
    dir: Dir,
}

impl Limits {
    /// The folder of the store at `root`; made with `create`.
    pub(crate) fn open(root: &Path, create: bool) -> io::Result<Limits> {
        let root = Dir::open(root)?;
        let dir = if create {
            root.make_sub(LIMITS, 0o777)?
        } else {
            root.sub(LIMITS)?
        };
        Ok(Limits { dir })
    }

    pub(crate) fn dir(&self) -> &Dir {
        &self.dir
    }

    /// The limit of `agent` (its name in `meta.json`), if one is in force.
    pub(crate) fn current(&self, agent: &str) -> Option<Limit> {
        let file = self.dir.read_file(&file_name(agent)).ok()?;
        let bytes = crate::dir::read_bounded(file, 64 * 1024).ok()?.ok()?;
        serde_json::from_slice::<Limit>(&bytes)
            .ok()
            .filter(Limit::in_force)
    }

    /// The records that cannot be read as a limit (garbled, not a regular
    /// file): they hold nothing back, and say nothing.
    pub(crate) fn unreadable(&self) -> Vec<String> {
        let Ok(entries) = self.dir.entries() else {
            return Vec::new();
        };
        entries
            .flatten()
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|n| !n.starts_with('.'))
            .filter(|n| {
                let read = self
                    .dir
                    .read_file(n)
                    .ok()
                    .and_then(|f| crate::dir::read_bounded(f, 64 * 1024).ok()?.ok());
                read.is_none_or(|b| serde_json::from_slice::<Limit>(&b).is_err())
            })
            .collect()
    }

    pub(crate) fn remove(&self, name: &str) -> io::Result<()> {
        self.dir.remove_file(name)
    }

    pub(crate) fn record(&self, agent: &str, limit: &Limit) -> io::Result<()> {
        let bytes = serde_json::to_vec_pretty(limit).map_err(io::Error::other)?;
        self.dir.write_atomic(&file_name(agent), &bytes, 0o666)
    }

    /// Lifts `agent`'s limit; with `only_unknown`, only one whose reset
    /// nobody knows (a known reset is waited for, whoever starts what).
    pub(crate) fn clear(&self, agent: &str, only_unknown: bool) {
        let Some(limit) = self.current(agent) else {
            return;
        };
        if only_unknown && limit.resets_at.is_some() {
            return;
        }
        let _ = self.dir.remove_file(&file_name(agent));
    }
}

fn file_name(agent: &str) -> String {
    // Agent names are zwarm's own (`codex`, `claude`); anything else is
    // never a path.
    let safe: String = agent
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
        .collect();
    format!("{safe}.json")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_limit_is_in_force_until_its_reset_and_cleared_as_asked() {
        let root = tempfile::tempdir().unwrap();
        let limits = Limits::open(root.path(), true).unwrap();
        assert_eq!(limits.current("codex"), None);
        let later = Timestamp::now().plus_seconds(3600).unwrap();
        let limit = Limit {
            resets_at: Some(later),
            session: "s1".into(),
            recorded_at: Timestamp::now(),
        };
        limits.record("codex", &limit).unwrap();
        let read = limits.current("codex").unwrap();
        assert_eq!(read.session, "s1");
        // Kept to the microsecond, as every timestamp zwarm writes.
        assert_eq!(read.resets_at.map(|t| t.minute()), Some(later.minute()));
        assert_eq!(limits.current("claude"), None);
        // A known reset is not lifted by a start by hand.
        limits.clear("codex", true);
        assert!(limits.current("codex").is_some());
        limits.clear("codex", false);
        assert_eq!(limits.current("codex"), None);
        // Past its reset, it holds no more.
        let past = Limit {
            resets_at: Some(Timestamp::from_unix(1).unwrap()),
            ..limit
        };
        limits.record("codex", &past).unwrap();
        assert_eq!(limits.current("codex"), None);
        let unknown = Limit {
            resets_at: None,
            ..past
        };
        limits.record("claude", &unknown).unwrap();
        assert!(limits.current("claude").is_some());
        limits.clear("claude", true);
        assert_eq!(limits.current("claude"), None);
    }

    #[test]
    fn a_garbled_record_is_found_and_holds_nothing_back() {
        let root = tempfile::tempdir().unwrap();
        let limits = Limits::open(root.path(), true).unwrap();
        let limit = Limit {
            resets_at: None,
            session: "s1".into(),
            recorded_at: Timestamp::now(),
        };
        limits.record("codex", &limit).unwrap();
        std::fs::write(root.path().join("limits/claude.json"), "{not json").unwrap();
        assert_eq!(limits.unreadable(), ["claude.json"]);
        assert_eq!(limits.current("claude"), None);
        limits.remove("claude.json").unwrap();
        assert!(limits.unreadable().is_empty());
        assert!(limits.current("codex").is_some());
    }
}
