//! The session store: `.zwarm/sessions/<id>/`. The only code that touches
//! `meta.json`. Writes are atomic (temp file, fsync, rename), every
//! read-modify-write holds the session's write lock, and nothing below the
//! store's root is reached through a symbolic link (see [`dir`]).
//!
//! Two locks per session, always taken in this order when both are:
//! - `meta.lock`, the write lock: held for one read-modify-write of
//!   `meta.json`, and by a launcher from the moment a turn is written until
//!   its supervisor has recorded the agent running (the supervisor inherits
//!   it, so a launcher that dies does not let go early). A reader that wants
//!   to settle a turn first takes it without waiting: held means a turn is
//!   being launched or written, and nothing is settled on a changing state.
//! - `run.lock`, held by a supervisor for its whole life: free means no
//!   supervisor.

use crate::error::{Error, Result};
use crate::model::{InvalidId, Session, SessionId};
use nix::fcntl::{Flock, FlockArg};
use std::fs::File;
use std::io::ErrorKind;
use std::os::fd::{AsRawFd, FromRawFd, RawFd};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub(crate) mod brief;

#[cfg(test)]
mod fuzz;
pub(crate) mod list_index;
mod listing;
pub(crate) use listing::{Row, Scan, Source};
mod lock;
use lock::{busy, lock_in, LockHold};
pub(crate) use lock::{flock_dir, WriteGuard};
mod meta;
use meta::{load_in, serialize};

use crate::dir::Dir;

const META: &str = "meta.json";
/// Held by a session's supervisor for its whole life: free means no supervisor.
const RUN_LOCK: &str = "run.lock";
/// Held for the length of one read-modify-write of `meta.json`.
const WRITE_LOCK: &str = "meta.lock";
const SESSIONS: &str = "sessions";
/// The git repositories this store's sessions keep snapshots in.
const REPOS: &str = "repos";
/// A `meta.json` larger than this is not read: zwarm 2.3.5 sessions with long
/// transcripts reach a few MiB, and a file of gigabytes (sparse, or grown by
/// a runaway writer) would cost every `list` its size in memory.
pub(crate) const MAX_META: u64 = 64 << 20;

#[derive(Clone, Debug)]
pub(crate) struct Store {
    root: PathBuf,
}

/// A session that could not be loaded while listing: reported, never fatal.
#[derive(Debug)]
pub(crate) struct LoadProblem {
    pub id: String,
    pub error: Error,
}

/// Which of a turn's files.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TurnFile {
    /// `turn_N.jsonl`, the agent's stdout.
    Output,
    /// `turn_N.stderr`.
    Stderr,
}

impl TurnFile {
    pub(crate) fn name(self, turn: u32) -> String {
        match self {
            TurnFile::Output => format!("turn_{turn}.jsonl"),
            TurnFile::Stderr => format!("turn_{turn}.stderr"),
        }
    }
}

impl Store {
    /// `root` is the state directory (`.zwarm`); nothing is created until a
    /// session is.
    pub(crate) fn new(root: impl Into<PathBuf>) -> Self {
        Store { root: root.into() }
    }

    /// Notes that sessions of this store keep snapshots in the repository
    /// whose git directory is `common`, so that what git keeps of them is
    /// found after the sessions are gone (`repos`, one path a line,
    /// appended to: a line written twice is read once).
    pub(crate) fn remember_repo(&self, common: &Path) -> Result<()> {
        if self.repos().iter().any(|r| r == common) {
            return Ok(());
        }
        let root = self.root_dir(true)?;
        let mut line = common.as_os_str().as_encoded_bytes().to_vec();
        line.push(b'\n');
        root.append_file(REPOS, 0o666)
            .and_then(|mut f| std::io::Write::write_all(&mut f, &line))
            .map_err(|e| Error::io("write", self.root.join(REPOS), e))
    }

    /// The repositories [`Store::remember_repo`] noted.
    pub(crate) fn repos(&self) -> Vec<PathBuf> {
        let Ok(root) = Dir::open(&self.root) else {
            return Vec::new();
        };
        let Ok(file) = root.read_file(REPOS) else {
            return Vec::new();
        };
        let Ok(Ok(bytes)) = crate::dir::read_bounded(file, 1 << 20) else {
            return Vec::new();
        };
        let mut repos: Vec<PathBuf> = String::from_utf8_lossy(&bytes)
            .lines()
            .filter(|l| Path::new(l).is_absolute())
            .map(PathBuf::from)
            .collect();
        repos.sort();
        repos.dedup();
        repos
    }

    /// The root with links resolved: how records outside the store (rights,
    /// snapshot messages, marks) name it.
    pub(crate) fn canonical_root(&self) -> PathBuf {
        std::fs::canonicalize(&self.root).unwrap_or_else(|_| self.root.clone())
    }

    pub(crate) fn root(&self) -> &Path {
        &self.root
    }

    pub(crate) fn sessions_dir(&self) -> PathBuf {
        self.root.join(SESSIONS)
    }

    pub(crate) fn session_dir(&self, id: &str) -> PathBuf {
        self.sessions_dir().join(id)
    }

    pub(crate) fn meta_path(&self, id: &str) -> PathBuf {
        self.session_dir(id).join(META)
    }

    pub(crate) fn turn_path(&self, id: &str, turn: u32) -> PathBuf {
        self.session_dir(id)
            .join("turns")
            .join(TurnFile::Output.name(turn))
    }

    pub(crate) fn stderr_path(&self, id: &str, turn: u32) -> PathBuf {
        self.session_dir(id)
            .join("turns")
            .join(TurnFile::Stderr.name(turn))
    }

    pub(crate) fn run_lock_path(&self, id: &str) -> PathBuf {
        self.session_dir(id).join(RUN_LOCK)
    }

    /// The store's root folder, made if it is missing (but not its parents:
    /// a mistyped `--dir` must not conjure up a whole path).
    fn root_dir(&self, create: bool) -> Result<Dir> {
        match Dir::open(&self.root) {
            Err(e) if e.kind() == ErrorKind::NotFound && create => {
                match std::fs::create_dir(&self.root) {
                    Ok(()) => {}
                    Err(e) if e.kind() == ErrorKind::AlreadyExists => {}
                    Err(e) if e.kind() == ErrorKind::NotFound => {
                        let parent = self.root.parent().unwrap_or(Path::new("."));
                        return Err(Error::Usage(format!(
                            "cannot create the store {}: its parent folder {} does not exist \
                             (check --dir or ZWARM_DIR)",
                            self.root.display(),
                            parent.display()
                        )));
                    }
                    Err(e) => return Err(Error::io("create", &self.root, e)),
                }
                Dir::open(&self.root).map_err(|e| Error::io("open", &self.root, e))
            }
            opened => opened.map_err(|e| Error::io("open", &self.root, e)),
        }
    }

    /// The `sessions` folder; with `create`, made (and the root) if missing.
    pub(crate) fn sessions(&self, create: bool) -> Result<Dir> {
        let root = self.root_dir(create)?;
        let opened = if create {
            root.make_sub(SESSIONS, 0o777)
        } else {
            root.sub(SESSIONS)
        };
        opened.map_err(|e| Error::io("open", self.sessions_dir(), e))
    }

    /// A session's folder, opened without following a link.
    pub(crate) fn session(&self, id: &str) -> Result<Dir> {
        check_id(id)?;
        let sessions = match self.sessions(false) {
            Err(Error::Io(e)) if e.is_not_found() => return Err(Error::NotFound(id.to_string())),
            other => other?,
        };
        sessions.sub(id).map_err(|e| match e.kind() {
            ErrorKind::NotFound => Error::NotFound(id.to_string()),
            _ if e.to_string().contains("symbolic link") => Error::CorruptMeta {
                path: self.meta_path(id),
                reason: format!(
                    "its folder is a symbolic link (to {}), which zwarm does not follow",
                    std::fs::read_link(self.session_dir(id))
                        .unwrap_or_default()
                        .display()
                ),
            },
            _ => Error::io("open", self.session_dir(id), e),
        })
    }

    /// A session's `turns` folder; with `create`, made if missing.
    pub(crate) fn turns(&self, id: &str, create: bool) -> Result<Dir> {
        let dir = self.session(id)?;
        let turns = if create {
            dir.make_sub("turns", 0o777)
        } else {
            dir.sub("turns")
        };
        turns.map_err(|e| Error::io("open", dir.join("turns"), e))
    }

    /// One of a turn's files, for reading; None if it does not exist.
    pub(crate) fn open_turn_file(
        &self,
        id: &str,
        turn: u32,
        which: TurnFile,
    ) -> Result<Option<File>> {
        let path = self.session_dir(id).join("turns").join(which.name(turn));
        let turns = match self.turns(id, false) {
            Err(Error::Io(e)) if e.is_not_found() => return Ok(None),
            other => other?,
        };
        match turns.read_file(&which.name(turn)) {
            Ok(f) => Ok(Some(f)),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io("read", path, e)),
        }
    }

    /// Creates the session's folder with its first `meta.json`, and returns
    /// it write-locked: the caller launches its first turn under the lock,
    /// so no reader can take the new session for one whose launch failed.
    /// The folder is built under a name that is not an id and renamed into
    /// place, so a concurrent `list` never sees a session without its meta;
    /// while that name exists, the creator holds the sessions folder's lock
    /// shared, so `doctor` can tell a creation under way from one that died.
    pub(crate) fn create(&self, session: &Session) -> Result<WriteGuard> {
        check_id(&session.id)?;
        let sessions = self.sessions(true)?;
        flock_dir(&sessions, libc::LOCK_SH)
            .map_err(|e| Error::io("lock", self.sessions_dir(), e))?;
        let staging_name = format!("{CREATING}{}", session.id);
        let staging_path = sessions.join(&staging_name);
        let staging = sessions
            .make_new_sub(&staging_name, 0o777)
            .map_err(|e| Error::io("create", &staging_path, e))?;
        let placed = (|| -> Result<Flock<File>> {
            staging
                .make_new_sub("turns", 0o777)
                .map_err(|e| Error::io("create", staging.join("turns"), e))?;
            let lock = lock_in(&staging, FlockArg::LockExclusive)?
                .ok_or_else(|| Error::io("lock", staging.join(WRITE_LOCK), busy()))?;
            staging
                .write_atomic(META, &serialize(session), 0o666)
                .map_err(|e| Error::io("write", staging.join(META), e))?;
            sessions
                .rename(&staging_name, &sessions, &session.id)
                .map_err(|e| Error::io("create", self.session_dir(&session.id), e))?;
            Ok(lock)
        })();
        match placed {
            Ok(lock) => Ok(WriteGuard {
                lock: LockHold::Owned(lock),
                dir: self.session(&session.id)?,
                id: session.id.to_string(),
                path: self.session_dir(&session.id),
            }),
            Err(e) => {
                drop(staging);
                let _ = std::fs::remove_dir_all(&staging_path);
                Err(e)
            }
        }
    }

    pub(crate) fn load(&self, id: &str) -> Result<Session> {
        let dir = self.session(id)?;
        load_in(&dir, id, &self.meta_path(id))
    }

    /// Every session id in the store (folder names that look like ids), sorted.
    pub(crate) fn ids(&self) -> Result<Vec<String>> {
        let dir = self.sessions_dir();
        let entries = match self.sessions(false) {
            Ok(sessions) => sessions.entries().map_err(|e| Error::io("read", &dir, e))?,
            Err(Error::Io(e)) if e.is_not_found() => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let mut ids = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| Error::io("read", &dir, e))?;
            let Ok(name) = entry.file_name().into_string() else {
                continue;
            };
            // Symlinks are listed so that `load` can say why it refuses them.
            let kind = entry.file_type();
            if SessionId::is_valid(&name) && kind.is_ok_and(|t| t.is_dir() || t.is_symlink()) {
                ids.push(name);
            }
        }
        ids.sort();
        Ok(ids)
    }

    /// Loads every session; the ones that fail to load are returned apart.
    pub(crate) fn load_all(&self) -> Result<(Vec<Session>, Vec<LoadProblem>)> {
        let mut ok = Vec::new();
        let mut bad = Vec::new();
        for id in self.ids()? {
            match self.load(&id) {
                Ok(s) => ok.push(s),
                Err(error) => bad.push(LoadProblem { id, error }),
            }
        }
        Ok((ok, bad))
    }

    /// Turns a full id or a unique prefix into the full id.
    pub(crate) fn resolve(&self, prefix: &str) -> Result<String> {
        check_id(prefix)?;
        let prefix_lc = prefix.to_ascii_lowercase();
        let ids = self.ids()?;
        if ids.contains(&prefix_lc) {
            return Ok(prefix_lc);
        }
        let mut found: Vec<String> = ids
            .into_iter()
            .filter(|i| i.starts_with(&prefix_lc))
            .collect();
        match found.len() {
            0 => Err(Error::NotFound(prefix.to_string())),
            1 => Ok(found.remove(0)),
            _ => Err(Error::Ambiguous {
                prefix: prefix.to_string(),
                candidates: found,
            }),
        }
    }

    /// Removes a session folder. It is renamed out of the way first, so no
    /// reader ever sees half of it.
    pub(crate) fn remove(&self, id: &str) -> Result<()> {
        check_id(id)?;
        let sessions = self.sessions(false)?;
        let trash = format!("{REMOVING}{id}");
        let trash_path = sessions.join(&trash);
        // Whatever stands at the trash name (what an interrupted removal
        // left, or something planted) goes first: a rename would fail on
        // it, or land inside it.
        match sessions.remove_tree(&trash) {
            Err(e) if e.kind() != ErrorKind::NotFound => {
                return Err(Error::io("remove", trash_path, e))
            }
            _ => {}
        }
        sessions
            .rename(id, &sessions, &trash)
            .map_err(|e| Error::io("remove", self.session_dir(id), e))?;
        sessions
            .remove_tree(&trash)
            .map_err(|e| Error::io("remove", trash_path, e))
    }
}

/// The prefix of a session folder being created.
pub(crate) const CREATING: &str = ".creating-";
/// The prefix of a session folder being removed.
pub(crate) const REMOVING: &str = ".removing-";

/// Rejects anything that is not hex-and-dashes before it can touch a path.
pub(crate) fn check_id(s: &str) -> Result<()> {
    if SessionId::is_valid(s) {
        Ok(())
    } else {
        Err(Error::InvalidId(InvalidId(s.to_string())))
    }
}

#[cfg(test)]
mod tests;
