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
use crate::model::Session;
use nix::fcntl::{Flock, FlockArg};
use std::fs::File;
use std::io::{ErrorKind, Read};
use std::os::fd::{AsRawFd, FromRawFd, RawFd};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub(crate) mod brief;

#[cfg(test)]
mod fuzz;
pub(crate) mod list_index;
mod listing;

use crate::dir::Dir;

const META: &str = "meta.json";
/// Held by a session's supervisor for its whole life: free means no supervisor.
const RUN_LOCK: &str = "run.lock";
/// Held for the length of one read-modify-write of `meta.json`.
const WRITE_LOCK: &str = "meta.lock";
const SESSIONS: &str = "sessions";
/// A `meta.json` larger than this is not read: zwarm 2.3.5 sessions with long
/// transcripts reach a few MiB, and a file of gigabytes (sparse, or grown by
/// a runaway writer) would cost every `list` its size in memory.
pub const MAX_META: u64 = 64 << 20;

#[derive(Clone, Debug)]
pub struct Store {
    root: PathBuf,
}

/// A session that could not be loaded while listing: reported, never fatal.
#[derive(Debug)]
pub struct LoadProblem {
    pub id: String,
    pub error: Error,
}

/// Which of a turn's files.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TurnFile {
    /// `turn_N.jsonl`, the agent's stdout.
    Output,
    /// `turn_N.stderr`.
    Stderr,
}

impl TurnFile {
    pub fn name(self, turn: u32) -> String {
        match self {
            TurnFile::Output => format!("turn_{turn}.jsonl"),
            TurnFile::Stderr => format!("turn_{turn}.stderr"),
        }
    }
}

impl Store {
    /// `root` is the state directory (`.zwarm`); nothing is created until a
    /// session is.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Store { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn sessions_dir(&self) -> PathBuf {
        self.root.join(SESSIONS)
    }

    pub fn session_dir(&self, id: &str) -> PathBuf {
        self.sessions_dir().join(id)
    }

    pub fn meta_path(&self, id: &str) -> PathBuf {
        self.session_dir(id).join(META)
    }

    pub fn turn_path(&self, id: &str, turn: u32) -> PathBuf {
        self.session_dir(id)
            .join("turns")
            .join(TurnFile::Output.name(turn))
    }

    pub fn stderr_path(&self, id: &str, turn: u32) -> PathBuf {
        self.session_dir(id)
            .join("turns")
            .join(TurnFile::Stderr.name(turn))
    }

    pub fn run_lock_path(&self, id: &str) -> PathBuf {
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
    pub fn sessions(&self, create: bool) -> Result<Dir> {
        let root = self.root_dir(create)?;
        let opened = if create {
            root.make_sub(SESSIONS, 0o777)
        } else {
            root.sub(SESSIONS)
        };
        opened.map_err(|e| Error::io("open", self.sessions_dir(), e))
    }

    /// A session's folder, opened without following a link.
    pub fn session(&self, id: &str) -> Result<Dir> {
        check_id(id)?;
        let sessions = match self.sessions(false) {
            Err(Error::Io { source, .. }) if source.kind() == ErrorKind::NotFound => {
                return Err(Error::NotFound(id.to_string()))
            }
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
    pub fn turns(&self, id: &str, create: bool) -> Result<Dir> {
        let dir = self.session(id)?;
        let turns = if create {
            dir.make_sub("turns", 0o777)
        } else {
            dir.sub("turns")
        };
        turns.map_err(|e| Error::io("open", dir.join("turns"), e))
    }

    /// One of a turn's files, for reading; None if it does not exist.
    pub fn open_turn_file(&self, id: &str, turn: u32, which: TurnFile) -> Result<Option<File>> {
        let path = self.session_dir(id).join("turns").join(which.name(turn));
        let turns = match self.turns(id, false) {
            Err(Error::Io { source, .. }) if source.kind() == ErrorKind::NotFound => {
                return Ok(None)
            }
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
    pub fn create(&self, session: &Session) -> Result<WriteGuard> {
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
                id: session.id.clone(),
                path: self.session_dir(&session.id),
            }),
            Err(e) => {
                drop(staging);
                let _ = std::fs::remove_dir_all(&staging_path);
                Err(e)
            }
        }
    }

    pub fn load(&self, id: &str) -> Result<Session> {
        let dir = self.session(id)?;
        load_in(&dir, id, &self.meta_path(id))
    }

    /// Load, change and save one session under its write lock.
    pub fn update<T>(&self, id: &str, f: impl FnOnce(&mut Session) -> Result<T>) -> Result<T> {
        self.write_lock(id)?.update(f)
    }

    /// The session's write lock, waiting for it as long as it takes.
    pub fn write_lock(&self, id: &str) -> Result<WriteGuard> {
        let dir = self.session(id)?;
        let lock = lock_in(&dir, FlockArg::LockExclusive)?
            .ok_or_else(|| Error::io("lock", self.session_dir(id).join(WRITE_LOCK), busy()))?;
        Ok(WriteGuard {
            lock: LockHold::Owned(lock),
            dir,
            id: id.to_string(),
            path: self.session_dir(id),
        })
    }

    /// The session's write lock if nobody holds it now; None if somebody
    /// does (a turn being launched, or a write under way).
    pub fn try_write_lock(&self, id: &str) -> Result<Option<WriteGuard>> {
        let dir = self.session(id)?;
        Ok(
            lock_in(&dir, FlockArg::LockExclusiveNonblock)?.map(|lock| WriteGuard {
                lock: LockHold::Owned(lock),
                dir,
                id: id.to_string(),
                path: self.session_dir(id),
            }),
        )
    }

    /// Whether somebody holds the session's write lock now, asked without
    /// writing anything (no lock file is made): for reports, which must
    /// leave the store as they found it.
    pub fn write_lock_busy(&self, id: &str) -> bool {
        let Ok(dir) = self.session(id) else {
            return false;
        };
        let Ok(file) = dir.read_file(WRITE_LOCK) else {
            return false;
        };
        Flock::lock(file, FlockArg::LockExclusiveNonblock).is_err()
    }

    /// The session's write lock, waiting for it at most `patience`; the
    /// error names the process that holds it.
    pub fn write_lock_within(&self, id: &str, patience: Duration) -> Result<WriteGuard> {
        let deadline = Instant::now() + patience;
        loop {
            if let Some(guard) = self.try_write_lock(id)? {
                return Ok(guard);
            }
            if Instant::now() >= deadline {
                return Err(Error::Locked {
                    id: id.to_string(),
                    holder: self.write_lock_holder(id),
                });
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// The process holding the session's write lock, if one can be named.
    pub fn write_lock_holder(&self, id: &str) -> Option<i32> {
        let dir = self.session(id).ok()?;
        let st = dir.stat(WRITE_LOCK).ok()?;
        crate::process::lock_holders(st.st_dev, st.st_ino)
            .into_iter()
            .find(|&p| p != std::process::id() as i32)
    }

    /// The write lock a launcher handed to this supervisor as descriptor
    /// `fd`, checked to be that session's lock file.
    pub fn inherited_write_lock(&self, id: &str, fd: RawFd) -> Result<WriteGuard> {
        let dir = self.session(id)?;
        let path = self.session_dir(id).join(WRITE_LOCK);
        let ours = dir
            .stat(WRITE_LOCK)
            .map_err(|e| Error::io("open", &path, e))?;
        let given = nix::sys::stat::fstat(fd).map_err(|e| Error::io("open", &path, e.into()))?;
        if (given.st_dev, given.st_ino) != (ours.st_dev, ours.st_ino) {
            return Err(Error::io(
                "lock",
                path,
                std::io::Error::other("the descriptor handed over is not this lock file"),
            ));
        }
        Ok(WriteGuard {
            // SAFETY: the launcher passed this descriptor to this process
            // for it alone; it is closed with the guard.
            lock: LockHold::Inherited(unsafe { File::from_raw_fd(fd) }),
            dir,
            id: id.to_string(),
            path: self.session_dir(id),
        })
    }

    /// Whether a supervisor holds the session's run lock. Only the lock
    /// file is opened, for reading, never made: a reader must not need to
    /// write the store to learn that.
    pub fn run_lock_held(&self, id: &str) -> bool {
        let Ok(dir) = self.session(id) else {
            return false;
        };
        let Ok(file) = dir.read_file(RUN_LOCK) else {
            return false;
        };
        // Shared: only the supervisor's exclusive lock refuses it. An
        // exclusive probe would also fail while another reader probes, or
        // while `wait` holds it shared as a turn ends.
        Flock::lock(file, FlockArg::LockSharedNonblock).is_err()
    }

    /// The run lock file, opened for a supervisor to hold or a waiter to
    /// wait on.
    pub fn run_lock_file(&self, id: &str) -> Result<File> {
        self.session(id)?
            .lock_file(RUN_LOCK)
            .map_err(|e| Error::io("open", self.run_lock_path(id), e))
    }

    /// Every session id in the store (folder names that look like ids), sorted.
    pub fn ids(&self) -> Result<Vec<String>> {
        let dir = self.sessions_dir();
        let entries = match self.sessions(false) {
            Ok(sessions) => sessions.entries().map_err(|e| Error::io("read", &dir, e))?,
            Err(Error::Io { source, .. }) if source.kind() == ErrorKind::NotFound => {
                return Ok(Vec::new())
            }
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
            if is_valid_id(&name) && kind.is_ok_and(|t| t.is_dir() || t.is_symlink()) {
                ids.push(name);
            }
        }
        ids.sort();
        Ok(ids)
    }

    /// Loads every session; the ones that fail to load are returned apart.
    pub fn load_all(&self) -> Result<(Vec<Session>, Vec<LoadProblem>)> {
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
    pub fn resolve(&self, prefix: &str) -> Result<String> {
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
    pub fn remove(&self, id: &str) -> Result<()> {
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
pub const CREATING: &str = ".creating-";
/// The prefix of a session folder being removed.
pub const REMOVING: &str = ".removing-";

/// Takes `flock` on an open folder (released when the folder is closed).
pub fn flock_dir(dir: &Dir, op: libc::c_int) -> std::io::Result<()> {
    loop {
        // SAFETY: flock takes a descriptor we own for the call's length.
        if unsafe { libc::flock(dir.raw_fd(), op) } == 0 {
            return Ok(());
        }
        let e = std::io::Error::last_os_error();
        if e.kind() != ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

fn busy() -> std::io::Error {
    std::io::Error::from(ErrorKind::WouldBlock)
}

/// The write lock of the session folder `dir`: None if `arg` does not wait
/// and somebody holds it.
fn lock_in(dir: &Dir, arg: FlockArg) -> Result<Option<Flock<File>>> {
    let path = dir.join(WRITE_LOCK);
    let mut file = dir
        .lock_file(WRITE_LOCK)
        .map_err(|e| Error::io("open", &path, e))?;
    loop {
        match Flock::lock(file, arg) {
            Ok(lock) => return Ok(Some(lock)),
            Err((_, nix::errno::Errno::EWOULDBLOCK)) => return Ok(None),
            Err((f, nix::errno::Errno::EINTR)) => file = f,
            Err((_, e)) => return Err(Error::io("lock", path, e.into())),
        }
    }
}

/// The session in the folder `dir`, read with a bound on its size.
fn load_in(dir: &Dir, id: &str, path: &Path) -> Result<Session> {
    let mut file = match dir.read_file(META) {
        Ok(f) => f,
        Err(e) if e.kind() == ErrorKind::NotFound => {
            return Err(Error::CorruptMeta {
                path: path.to_path_buf(),
                reason: "meta.json is missing".into(),
            })
        }
        Err(e) if e.kind() == ErrorKind::InvalidInput => {
            return Err(Error::CorruptMeta {
                path: path.to_path_buf(),
                reason: format!("meta.json: {e}"),
            })
        }
        Err(e) => return Err(Error::io("read", path, e)),
    };
    let size = file
        .metadata()
        .map_err(|e| Error::io("read", path, e))?
        .len();
    if size > MAX_META {
        return Err(Error::MetaTooLarge {
            path: path.to_path_buf(),
            size,
            limit: MAX_META,
        });
    }
    let mut bytes = Vec::with_capacity(size as usize);
    // Bounded all the same: the file may grow while it is read.
    (&mut file)
        .take(MAX_META + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io("read", path, e))?;
    if bytes.len() as u64 > MAX_META {
        return Err(Error::MetaTooLarge {
            path: path.to_path_buf(),
            size: bytes.len() as u64,
            limit: MAX_META,
        });
    }
    let session = parse_meta(&bytes).map_err(|reason| Error::CorruptMeta {
        path: path.to_path_buf(),
        reason,
    })?;
    // A save writes to the folder the id names: a copied folder whose
    // meta.json still names the original would overwrite the original.
    if session.id != id {
        return Err(Error::CorruptMeta {
            path: path.to_path_buf(),
            reason: format!(
                "it names session {}, not {id}, the folder it is in",
                session.id.escape_debug()
            ),
        });
    }
    Ok(session)
}

fn serialize(session: &Session) -> Vec<u8> {
    let mut text = serde_json::to_vec_pretty(session).unwrap_or_default();
    text.push(b'\n');
    text
}

/// How a [`WriteGuard`] holds the lock.
#[derive(Debug)]
enum LockHold {
    /// Taken by this process; released when dropped.
    Owned(#[allow(dead_code)] Flock<File>),
    /// Handed over by a launcher, which may still hold it too: dropping it
    /// only closes this process's descriptor (an explicit unlock would
    /// release the lock under the launcher as well).
    Inherited(#[allow(dead_code)] File),
}

/// Proof of holding a session's write lock, and the only way to write its
/// `meta.json`.
#[derive(Debug)]
pub struct WriteGuard {
    lock: LockHold,
    dir: Dir,
    id: String,
    path: PathBuf,
}

impl WriteGuard {
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The session's folder.
    pub fn dir(&self) -> &Dir {
        &self.dir
    }

    pub fn load(&self) -> Result<Session> {
        load_in(&self.dir, &self.id, &self.path.join(META))
    }

    /// Writes `meta.json` atomically as `session` says, stamping
    /// `updated_at`.
    pub fn save(&self, session: &mut Session) -> Result<()> {
        let before = session.updated_at;
        session.updated_at = crate::timefmt::Timestamp::now();
        let saved = self.save_as_is(session);
        if saved.is_err() {
            session.updated_at = before;
        }
        saved
    }

    /// Writes `meta.json` exactly as `session` says.
    pub fn save_as_is(&self, session: &Session) -> Result<()> {
        check_id(&session.id)?;
        if session.id != self.id {
            return Err(Error::Usage(format!(
                "refusing to write session {} into the folder of {}",
                session.id, self.id
            )));
        }
        self.dir
            .write_atomic(META, &serialize(session), 0o666)
            .map_err(|e| Error::io("write", self.path.join(META), e))
    }

    /// Load, change and save, under this lock.
    pub fn update<T>(&self, f: impl FnOnce(&mut Session) -> Result<T>) -> Result<T> {
        let mut session = self.load()?;
        let out = f(&mut session)?;
        self.save(&mut session)?;
        Ok(out)
    }

    /// The descriptor holding the lock, to hand it to a supervisor.
    pub fn lock_fd(&self) -> RawFd {
        match &self.lock {
            LockHold::Owned(f) => f.as_raw_fd(),
            LockHold::Inherited(f) => f.as_raw_fd(),
        }
    }
}

/// Parses `meta.json` bytes; the error says what is wrong in words.
pub fn parse_meta(bytes: &[u8]) -> std::result::Result<Session, String> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err("meta.json is empty".into());
    }
    serde_json::from_slice(bytes).map_err(|e| e.to_string())
}

pub fn is_valid_id(s: &str) -> bool {
    !s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-')
}

/// Rejects anything that is not hex-and-dashes before it can touch a path.
pub fn check_id(s: &str) -> Result<()> {
    if is_valid_id(s) {
        Ok(())
    } else {
        Err(Error::InvalidId(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{SessionStatus, Usage};
    use crate::timefmt::Timestamp;
    use std::fs;

    fn session(id: &str) -> Session {
        Session {
            id: id.into(),
            task: "t".into(),
            status: SessionStatus::Completed,
            working_dir: "/w".into(),
            created_at: Timestamp::now(),
            updated_at: Timestamp::now(),
            pid: None,
            exit_code: Some(0),
            model: String::new(),
            turn: 1,
            messages: vec![],
            token_usage: Usage::default(),
            error: None,
            source: "user".into(),
            adapter: "codex".into(),
            sandbox: None,
            cost_usd: None,
            agent_session_id: None,
            turns: vec![],
            other: Default::default(),
        }
    }

    #[test]
    fn resolves_prefixes() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        for id in ["abc123", "abd999", "ff00"] {
            store.create(&session(id)).unwrap();
        }
        assert_eq!(store.resolve("abc").unwrap(), "abc123");
        assert_eq!(store.resolve("FF").unwrap(), "ff00");
        match store.resolve("ab") {
            Err(Error::Ambiguous { candidates, .. }) => {
                assert_eq!(candidates, ["abc123", "abd999"])
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(store.resolve("0"), Err(Error::NotFound(_))));
        for bad in ["../x", "a/b", "..", "", "abc 1", "abc\0"] {
            assert!(
                matches!(store.resolve(bad), Err(Error::InvalidId(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn update_is_atomic_and_leaves_no_temp_files() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        store.create(&session("ab")).unwrap();
        store
            .update("ab", |s| {
                s.task = "changed".into();
                Ok(())
            })
            .unwrap();
        assert_eq!(store.load("ab").unwrap().task, "changed");
        let names: Vec<_> = fs::read_dir(store.session_dir("ab"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert!(!names.iter().any(|n| n.ends_with(".tmp")), "{names:?}");
    }

    #[test]
    fn a_link_planted_at_the_temporary_name_is_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        store.create(&session("ab")).unwrap();
        let precious = dir.path().join("precious");
        fs::write(&precious, "keep me").unwrap();
        let planted = store
            .session_dir("ab")
            .join(format!(".{META}.{}.tmp", std::process::id()));
        std::os::unix::fs::symlink(&precious, &planted).unwrap();
        store
            .update("ab", |s| {
                s.task = "changed".into();
                Ok(())
            })
            .unwrap();
        assert_eq!(fs::read_to_string(&precious).unwrap(), "keep me");
        assert!(fs::symlink_metadata(store.meta_path("ab"))
            .unwrap()
            .is_file());
        assert_eq!(store.load("ab").unwrap().task, "changed");
        assert!(!planted.exists());
    }

    #[test]
    fn corrupt_and_missing_meta_are_told_apart() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        store.create(&session("ab")).unwrap();
        fs::write(store.meta_path("ab"), b"{\"id\": ").unwrap();
        assert!(matches!(store.load("ab"), Err(Error::CorruptMeta { .. })));
        assert!(matches!(store.load("cd"), Err(Error::NotFound(_))));
        let (ok, bad) = store.load_all().unwrap();
        assert!(ok.is_empty());
        assert_eq!(bad.len(), 1);
    }
}
