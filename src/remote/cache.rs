//! The last sessions each remote listed, and when: what `list --all-hosts`
//! and `top` show of a host that does not answer. Kept per user, under
//! `$XDG_CACHE_HOME/zwarm/remotes/<name>.json` (else `~/.cache`), written
//! atomically without following links; losing it only loses that memory.

use super::ordered::Ordered;
use crate::dir::{read_bounded, Dir};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// A host's list a thousand sessions long is a few megabytes.
const MAX_BYTES: u64 = 256 << 20;

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Seen {
    /// When the host last answered (RFC 3339, UTC).
    pub last_seen: String,
    /// Its sessions then, as its `list --json` gave them.
    pub sessions: Vec<Ordered>,
}

/// The cache folder of remotes' lists, from the environment.
pub(crate) fn dir() -> Option<PathBuf> {
    let absolute = |k: &str| {
        std::env::var_os(k)
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
    };
    absolute("XDG_CACHE_HOME")
        .or_else(|| absolute("HOME").map(|h| h.join(".cache")))
        .map(|c| c.join("zwarm"))
}

fn file(name: &str) -> String {
    format!("{name}.json")
}

/// What `name` last listed; None if nothing was kept (or it is unreadable:
/// a cache is never worth an error).
pub(crate) fn load(base: &std::path::Path, name: &str) -> Option<Seen> {
    let d = Dir::open(base).ok()?.sub("remotes").ok()?;
    let bytes = read_bounded(d.read_file(&file(name)).ok()?, MAX_BYTES)
        .ok()?
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Keeps what `name` listed just now.
pub(crate) fn save(base: &std::path::Path, name: &str, seen: &Seen) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(base)?;
    let bytes = serde_json::to_vec(seen)?;
    Dir::open(base)?
        .make_sub("remotes", 0o700)?
        .write_atomic(&file(name), &bytes, 0o600)
}

/// What the cache folder holds, for `doctor`: each file's name, and the
/// remote it is the list of (None for anything else: a temporary file of
/// a write that never completed, a stranger).
pub(crate) fn files(base: &std::path::Path) -> Vec<(String, Option<String>)> {
    let Ok(entries) = Dir::open(base)
        .and_then(|b| b.sub("remotes"))
        .and_then(|d| d.entries())
    else {
        return Vec::new();
    };
    let mut out: Vec<(String, Option<String>)> = entries
        .flatten()
        .filter_map(|e| e.file_name().into_string().ok())
        .map(|n| {
            let remote = n
                .strip_suffix(".json")
                .filter(|r| super::check_name(r).is_ok())
                .map(str::to_string);
            (n, remote)
        })
        .collect();
    out.sort();
    out
}

/// Removes the file `name` of the cache folder (`doctor --fix`).
pub(crate) fn remove(base: &std::path::Path, name: &str) -> std::io::Result<()> {
    Dir::open(base)?.sub("remotes")?.remove_file(name)
}

/// Forgets `name` (`remote rm`).
pub(crate) fn forget(base: &std::path::Path, name: &str) {
    if let Ok(d) = Dir::open(base).and_then(|b| b.sub("remotes")) {
        let _ = d.remove_file(&file(name));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hosts_list_is_kept_and_forgotten() {
        let tmp = tempfile::tempdir().unwrap();
        assert!(load(tmp.path(), "b1").is_none());
        let seen = Seen {
            last_seen: "2026-12-03T19:00:00Z".into(),
            sessions: vec![serde_json::from_str(r#"{"id":"3f2a","a":1}"#).unwrap()],
        };
        save(tmp.path(), "b1", &seen).unwrap();
        let back = load(tmp.path(), "b1").unwrap();
        assert_eq!(back.last_seen, seen.last_seen);
        assert_eq!(back.sessions, seen.sessions);
        forget(tmp.path(), "b1");
        assert!(load(tmp.path(), "b1").is_none());
    }
}
