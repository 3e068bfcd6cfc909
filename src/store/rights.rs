//! The rights a session was started with, kept where its agent cannot write.
//!
//! `meta.json` lies in the agent's workspace, and the next turn's command
//! line is built from it: an agent that rewrites its `sandbox` (or
//! `adapter`, or `working_dir`) would widen its own rights, and no check of
//! the values can tell, since the wider ones are valid too. So these keys are
//! also recorded when the session starts, in a per-user state folder outside
//! every workspace, `$XDG_STATE_HOME/zwarm/sessions/<id>.json`, and a later
//! turn is to run only if `meta.json` agrees with that record.
//!
//! Whoever can plant a link in the state folder could send a write through
//! it, or make a record of its choosing be read: nothing here follows a link
//! at a name it opens, creates or replaces. Folders are opened without
//! following links and everything below them is reached relative to the
//! open folder, so a link swapped in after a check is never followed either.

use super::is_valid_id;
use crate::model::AgentKind;
use crate::model::Session;
use crate::timefmt::Timestamp;
use nix::errno::Errno;
use nix::fcntl::{openat, renameat, AtFlags, OFlag};
use nix::sys::stat::{fstat, fstatat, mkdirat, FileStat, Mode, SFlag};
use nix::unistd::{unlinkat, UnlinkatFlags};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::ffi::OsStr;
use std::fmt;
use std::fs::{self, File};
use std::io::{ErrorKind, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, RawFd};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A record is a few hundred bytes; a huge one was not written by zwarm,
/// and reading it whole would let whoever wrote it exhaust memory.
pub const MAX_RECORD_BYTES: u64 = 1 << 20;

/// The values of `sandbox` that the agents understand. Absent means the
/// agent's own default.
pub const SANDBOXES: [&str; 3] = ["read-only", "workspace-write", "danger-full-access"];

/// The values of `adapter`: 2.3.5's names, and the short one for claude.
pub const ADAPTERS: [&str; 3] = ["codex", "claude_code", "claude"];

/// What a session was started with, as far as its agent's rights go.
/// Later keys must have serde defaults, so that the records of earlier
/// versions still read.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Record {
    pub id: String,
    /// The canonical path of the store (`.zwarm`) the session belongs to: an
    /// id copied into another store does not bring its rights along.
    pub store: PathBuf,
    pub adapter: String,
    /// None is the agent's default; always written, as `null` then.
    #[serde(default)]
    pub sandbox: Option<String>,
    pub working_dir: String,
    pub written_at: Timestamp,
    /// Keys written by later versions, kept on a read-modify-write.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

impl Record {
    /// An empty `sandbox` is recorded as none: the agents read it so.
    pub fn new(
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
            written_at: Timestamp::now(),
            other: Map::new(),
        }
    }

    /// The record of `session`, which lives in the store at `store`
    /// (canonical).
    pub fn of(session: &Session, store: &Path) -> Self {
        Record::new(
            &session.id,
            store,
            &session.adapter,
            session.sandbox.as_deref(),
            &session.working_dir,
        )
    }
}

/// The keys a record vouches for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Key {
    Store,
    Adapter,
    Sandbox,
    WorkingDir,
}

impl Key {
    pub fn name(self) -> &'static str {
        match self {
            Key::Store => "store",
            Key::Adapter => "adapter",
            Key::Sandbox => "sandbox",
            Key::WorkingDir => "working_dir",
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
pub struct Mismatch {
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
pub struct Invalid {
    pub key: Key,
    pub value: String,
    pub why: &'static str,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Mismatch(#[from] Mismatch),

    #[error(transparent)]
    Invalid(#[from] Invalid),

    #[error("invalid session id '{}': an id is hex digits and dashes", .0.escape_debug())]
    InvalidId(String),

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

    #[error("{op} {}: {source}", path.display())]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    fn io(op: &'static str, path: impl Into<PathBuf>, source: impl Into<std::io::Error>) -> Self {
        Error::Io {
            op,
            path: path.into(),
            source: source.into(),
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The XDG state home from the values of `XDG_STATE_HOME` and `HOME`. The
/// spec says a relative (or empty) `XDG_STATE_HOME` is to be ignored.
pub fn state_home(xdg_state_home: Option<&OsStr>, home: Option<&OsStr>) -> Option<PathBuf> {
    match absolute(xdg_state_home) {
        Some(p) => Some(p.to_path_buf()),
        None => absolute(home).map(|h| h.join(".local").join("state")),
    }
}

fn absolute(value: Option<&OsStr>) -> Option<&Path> {
    value.map(Path::new).filter(|p| p.is_absolute())
}

/// The per-user folder of records: `<state home>/zwarm/sessions/`.
#[derive(Clone, Debug)]
pub struct RightsDir {
    base: PathBuf,
}

impl RightsDir {
    /// `base` is the state home; nothing is created until a record is saved.
    pub fn at(base: impl Into<PathBuf>) -> Self {
        RightsDir { base: base.into() }
    }

    /// Under the state home that `XDG_STATE_HOME` or `HOME` name.
    pub fn from_env() -> Result<Self> {
        let xdg = std::env::var_os("XDG_STATE_HOME");
        let home = std::env::var_os("HOME");
        state_home(xdg.as_deref(), home.as_deref())
            .map(RightsDir::at)
            .ok_or(Error::NoStateHome)
    }

    pub fn base(&self) -> &Path {
        &self.base
    }

    pub fn dir(&self) -> PathBuf {
        self.base.join("zwarm").join("sessions")
    }

    pub fn path(&self, id: &str) -> PathBuf {
        self.dir().join(file_name(id))
    }

    /// Writes the record atomically: a reader sees the old one or the new.
    pub fn save(&self, record: &Record) -> Result<()> {
        check_id(&record.id)?;
        let name = file_name(&record.id);
        // Missing only if removed between its making and its opening.
        let dir = self.open(true)?.ok_or_else(|| {
            Error::io(
                "open",
                &self.base,
                std::io::Error::from(ErrorKind::NotFound),
            )
        })?;
        let mut text = serde_json::to_vec_pretty(record)
            .map_err(|e| Error::io("write", dir.join(&name), std::io::Error::other(e)))?;
        text.push(b'\n');
        // A rename would replace a link rather than follow it, but a link
        // there was planted, and saying so beats quietly removing it.
        if dir.is_link(&name) {
            return Err(Error::Link {
                path: dir.join(&name),
            });
        }
        dir.write_atomic(&name, &text)
    }

    /// The record of session `id`; None where there is none (a session
    /// started before records were kept, or by zwarm 2.3.5).
    pub fn load(&self, id: &str) -> Result<Option<Record>> {
        check_id(id)?;
        let Some(dir) = self.open(false)? else {
            return Ok(None);
        };
        let name = file_name(id);
        let path = dir.join(&name);
        let Some(bytes) = dir.read(&name)? else {
            return Ok(None);
        };
        let record: Record = serde_json::from_slice(&bytes).map_err(|e| Error::Corrupt {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        // A record copied to another session's name must not vouch for it.
        if record.id != id {
            return Err(Error::Corrupt {
                path,
                reason: format!("it names session {}", record.id.escape_debug()),
            });
        }
        Ok(Some(record))
    }

    /// Removes the record of `id`; false if there was none.
    pub fn remove(&self, id: &str) -> Result<bool> {
        check_id(id)?;
        let Some(dir) = self.open(false)? else {
            return Ok(false);
        };
        let name = file_name(id);
        match unlinkat(Some(dir.fd()), name.as_str(), UnlinkatFlags::NoRemoveDir) {
            Ok(()) => dir.sync().map(|()| true),
            Err(Errno::ENOENT) => Ok(false),
            Err(e) => Err(Error::io("remove", dir.join(&name), e)),
        }
    }

    /// The ids that have a record, sorted. Links are listed too, so that
    /// whoever asks can learn from [`RightsDir::load`] why they are refused.
    pub fn ids(&self) -> Result<Vec<String>> {
        // Opened first for its checks: a link or a folder others may write
        // is refused here as it would be by `load`.
        let Some(dir) = self.open(false)? else {
            return Ok(Vec::new());
        };
        let entries = match fs::read_dir(&dir.path) {
            Ok(e) => e,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Error::io("read", dir.path, e)),
        };
        let mut ids = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| Error::io("read", &dir.path, e))?;
            let Ok(name) = entry.file_name().into_string() else {
                continue;
            };
            let Some(id) = name.strip_suffix(".json").filter(|id| is_valid_id(id)) else {
                continue;
            };
            if entry
                .file_type()
                .is_ok_and(|t| t.is_file() || t.is_symlink())
            {
                ids.push(id.to_string());
            }
        }
        ids.sort();
        Ok(ids)
    }

    /// When records began to be kept for the store at `store` (canonical):
    /// the first time a session was started there with records. A session
    /// whose folder was made after that and has no record was not started
    /// by zwarm (it was copied or forged into the store).
    pub fn store_since(&self, store: &Path) -> Result<Option<SystemTime>> {
        let Some(dir) = self.open_in("stores", false)? else {
            return Ok(None);
        };
        let name = store_file_name(store);
        let Some(bytes) = dir.read(&name)? else {
            return Ok(None);
        };
        let mark: StoreMark = serde_json::from_slice(&bytes).map_err(|e| Error::Corrupt {
            path: dir.join(&name),
            reason: e.to_string(),
        })?;
        // Another store whose path hashes alike is not this one.
        Ok((mark.store == store)
            .then(|| UNIX_EPOCH + Duration::from_secs_f64(mark.since_unix.max(0.0))))
    }

    /// Notes, once, that records are kept for `store` from now on.
    pub fn mark_store(&self, store: &Path) -> Result<()> {
        if self.store_since(store)?.is_some() {
            return Ok(());
        }
        let dir = self.open_in("stores", true)?.ok_or_else(|| {
            Error::io(
                "open",
                &self.base,
                std::io::Error::from(ErrorKind::NotFound),
            )
        })?;
        let name = store_file_name(store);
        let since_unix = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        let mark = StoreMark {
            store: store.to_path_buf(),
            since_unix,
        };
        let mut text = serde_json::to_vec_pretty(&mark)
            .map_err(|e| Error::io("write", dir.join(&name), std::io::Error::other(e)))?;
        text.push(b'\n');
        if dir.is_link(&name) {
            return Err(Error::Link {
                path: dir.join(&name),
            });
        }
        dir.write_atomic(&name, &text)
    }

    /// The records' folder, made (0700) if `create`; None if it is missing
    /// and not to be made.
    fn open(&self, create: bool) -> Result<Option<Folder>> {
        self.open_in("sessions", create)
    }

    /// The folder `name` under `<state home>/zwarm/`, made (0700) if
    /// `create`; None if it is missing and not to be made.
    fn open_in(&self, name: &str, create: bool) -> Result<Option<Folder>> {
        if create {
            // The state home is the user's to place, links and all; only
            // what zwarm makes inside it is held to the rules below.
            use std::os::unix::fs::DirBuilderExt;
            fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(&self.base)
                .map_err(|e| Error::io("create", &self.base, e))?;
        }
        let Some(base) = Folder::open_base(&self.base)? else {
            return Ok(None);
        };
        let Some(zwarm) = base.child("zwarm", create)? else {
            return Ok(None);
        };
        zwarm.child(name, create)
    }
}

/// Since when a store's sessions have records.
#[derive(Serialize, Deserialize)]
struct StoreMark {
    store: PathBuf,
    since_unix: f64,
}

/// A store's mark file: named by a hash of its path (any path fits), the
/// path itself kept inside.
fn store_file_name(store: &Path) -> String {
    use std::os::unix::ffi::OsStrExt;
    // FNV-1a: stable across versions and platforms, unlike std's hasher.
    let hash = store
        .as_os_str()
        .as_bytes()
        .iter()
        .fold(0xcbf2_9ce4_8422_2325_u64, |h, &b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
    format!("{hash:016x}.json")
}

fn file_name(id: &str) -> String {
    format!("{id}.json")
}

fn check_id(id: &str) -> Result<()> {
    if is_valid_id(id) {
        Ok(())
    } else {
        Err(Error::InvalidId(id.to_string()))
    }
}

/// An open folder, and its path for messages.
struct Folder {
    file: File,
    path: PathBuf,
}

impl Folder {
    fn open_base(path: &Path) -> Result<Option<Folder>> {
        let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC;
        match openat(None, path, flags, Mode::empty()) {
            Ok(fd) => Ok(Some(Folder::own(fd, path.to_path_buf()))),
            Err(Errno::ENOENT) => Ok(None),
            Err(e) => Err(Error::io("open", path, e)),
        }
    }

    /// The folder `name` in this one, made first if `create`. Only its owner
    /// may write in it: anyone else could plant a record.
    fn child(&self, name: &str, create: bool) -> Result<Option<Folder>> {
        let path = self.join(name);
        if create {
            match mkdirat(Some(self.fd()), name, Mode::S_IRWXU) {
                // The new name must reach the disk before what goes in it.
                Ok(()) => self.sync()?,
                Err(Errno::EEXIST) => {}
                Err(e) => return Err(self.refusal("create", name, e)),
            }
        }
        let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
        let folder = match openat(Some(self.fd()), name, flags, Mode::empty()) {
            Ok(fd) => Folder::own(fd, path),
            Err(Errno::ENOENT) if !create => return Ok(None),
            Err(e) => return Err(self.refusal("open", name, e)),
        };
        let stat = fstat(folder.fd()).map_err(|e| Error::io("inspect", &folder.path, e))?;
        if let Some(why) = untrusted_folder(&stat) {
            return Err(Error::Untrusted {
                path: folder.path,
                why,
            });
        }
        Ok(Some(folder))
    }

    /// The contents of the regular file `name`; None if there is none.
    fn read(&self, name: &str) -> Result<Option<Vec<u8>>> {
        let path = self.join(name);
        // Non-blocking: opening a FIFO planted at the name must not hang.
        let flags = OFlag::O_RDONLY | OFlag::O_NOFOLLOW | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC;
        let file = match openat(Some(self.fd()), name, flags, Mode::empty()) {
            Ok(fd) => Folder::own(fd, path.clone()).file,
            Err(Errno::ENOENT) => return Ok(None),
            Err(e) => return Err(self.refusal("open", name, e)),
        };
        let stat = fstat(file.as_raw_fd()).map_err(|e| Error::io("inspect", &path, e))?;
        if !is_kind(&stat, SFlag::S_IFREG) {
            return Err(Error::Untrusted {
                path,
                why: "it is not a regular file".into(),
            });
        }
        let too_large = || Error::Corrupt {
            path: path.clone(),
            reason: format!("it is larger than {MAX_RECORD_BYTES} bytes"),
        };
        if stat.st_size as u64 > MAX_RECORD_BYTES {
            return Err(too_large());
        }
        // Bounded again while reading: the file may grow after the fstat.
        let mut bytes = Vec::new();
        file.take(MAX_RECORD_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| Error::io("read", &path, e))?;
        if bytes.len() as u64 > MAX_RECORD_BYTES {
            return Err(too_large());
        }
        Ok(Some(bytes))
    }

    /// Writes `name` so that a reader sees the old content or the new, never
    /// a mix, and the new content is on disk before it replaces the old.
    fn write_atomic(&self, name: &str, bytes: &[u8]) -> Result<()> {
        let tmp = format!(".{name}.{}.tmp", std::process::id());
        let result = (|| -> std::io::Result<()> {
            let mut f = self.create_temp(&tmp)?;
            f.write_all(bytes)?;
            f.sync_all()?;
            renameat(Some(self.fd()), tmp.as_str(), Some(self.fd()), name)?;
            Ok(())
        })();
        if let Err(e) = result {
            let _ = unlinkat(Some(self.fd()), tmp.as_str(), UnlinkatFlags::NoRemoveDir);
            return Err(Error::io("write", self.join(name), e));
        }
        // The rename itself must reach the disk too.
        self.sync()
    }

    /// Creates `name` (mode 0600), never opening what is there already: a
    /// link planted at the name is neither followed nor its target
    /// truncated. Anything there (left by a writer that died, whose pid this
    /// process now has) is removed, once.
    fn create_temp(&self, name: &str) -> std::io::Result<File> {
        let flags =
            OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
        let mode = Mode::S_IRUSR | Mode::S_IWUSR;
        let create = || openat(Some(self.fd()), name, flags, mode);
        let fd = match create() {
            Err(Errno::EEXIST) => {
                unlinkat(Some(self.fd()), name, UnlinkatFlags::NoRemoveDir)?;
                create()?
            }
            created => created?,
        };
        Ok(Folder::own(fd, self.join(name)).file)
    }

    fn sync(&self) -> Result<()> {
        self.file
            .sync_all()
            .map_err(|e| Error::io("sync", &self.path, e))
    }

    /// The error for `op` on `name` failing: a link there is said to be one,
    /// whatever errno the refusal to follow it came with.
    fn refusal(&self, op: &'static str, name: &str, errno: Errno) -> Error {
        if self.is_link(name) {
            Error::Link {
                path: self.join(name),
            }
        } else {
            Error::io(op, self.join(name), errno)
        }
    }

    fn is_link(&self, name: &str) -> bool {
        fstatat(Some(self.fd()), name, AtFlags::AT_SYMLINK_NOFOLLOW)
            .is_ok_and(|st| is_kind(&st, SFlag::S_IFLNK))
    }

    fn own(fd: RawFd, path: PathBuf) -> Folder {
        // SAFETY: `fd` was just opened by the caller and nothing else owns it.
        let file = unsafe { File::from_raw_fd(fd) };
        Folder { file, path }
    }

    fn fd(&self) -> RawFd {
        self.file.as_raw_fd()
    }

    fn join(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }
}

fn is_kind(stat: &FileStat, kind: SFlag) -> bool {
    SFlag::from_bits_truncate(stat.st_mode) & SFlag::S_IFMT == kind
}

/// Why a folder of records could hold records someone else wrote.
fn untrusted_folder(stat: &FileStat) -> Option<String> {
    // SAFETY: geteuid has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    if stat.st_uid != me {
        return Some(format!("it belongs to user {}, not to {me}", stat.st_uid));
    }
    let mode = stat.st_mode & 0o7777;
    (mode & 0o022 != 0).then(|| format!("others may write in it (mode {mode:o})"))
}

/// The empty sandbox is the agent's default, as absent is.
fn no_empty(sandbox: Option<&str>) -> Option<&str> {
    sandbox.filter(|s| !s.is_empty())
}

/// The first key in which `meta.json`, read from the store at `store`
/// (canonical), differs from the record: the store, then `adapter`,
/// `sandbox`, `working_dir`. The adapter's two names for claude are one
/// agent; an absent, null and empty `sandbox` are the same.
pub fn check(
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

/// [`check`] for a session as loaded from the store at `store` (canonical).
pub fn check_session(record: &Record, store: &Path, session: &Session) -> Result<(), Mismatch> {
    check(
        record,
        store,
        &session.adapter,
        session.sandbox.as_deref(),
        &session.working_dir,
    )
}

fn same_adapter(a: &str, b: &str) -> bool {
    a == b || AgentKind::from_meta(a).is_some_and(|k| AgentKind::from_meta(b) == Some(k))
}

/// For a session with no record: the first of `adapter`, `sandbox`,
/// `working_dir` that no session could have been started with.
pub fn validate(adapter: &str, sandbox: Option<&str>, working_dir: &str) -> Result<(), Invalid> {
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
            "the agent is one of codex, claude_code, claude",
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

/// [`validate`] for a session.
pub fn validate_session(session: &Session) -> Result<(), Invalid> {
    validate(
        &session.adapter,
        session.sandbox.as_deref(),
        &session.working_dir,
    )
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{symlink, PermissionsExt};

    const ID: &str = "0f1e2d3c-aaaa-bbbb-cccc-123456789abc";

    fn record(id: &str) -> Record {
        written(Record::new(
            id,
            Path::new("/p/.zwarm"),
            "codex",
            Some("read-only"),
            "/p",
        ))
    }

    /// At a time the file holds exactly (it keeps microseconds).
    fn written(r: Record) -> Record {
        Record {
            written_at: Timestamp::parse("2026-01-02T03:04:05.678901").unwrap(),
            ..r
        }
    }

    fn mode(path: &Path) -> u32 {
        fs::symlink_metadata(path).unwrap().permissions().mode() & 0o7777
    }

    /// A folder with a file that must survive every test untouched.
    fn precious(dir: &Path) -> PathBuf {
        let p = dir.join("precious");
        fs::create_dir_all(&p).unwrap();
        fs::write(p.join("keep"), "keep me").unwrap();
        p
    }

    fn untouched(p: &Path) {
        let names: Vec<_> = fs::read_dir(p)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["keep"]);
        assert_eq!(fs::read_to_string(p.join("keep")).unwrap(), "keep me");
    }

    #[test]
    fn a_record_reads_back_as_written() {
        let tmp = tempfile::tempdir().unwrap();
        let rights = RightsDir::at(tmp.path().join("state"));
        assert_eq!(rights.load(ID).unwrap(), None);
        let r = record(ID);
        rights.save(&r).unwrap();
        assert_eq!(rights.load(ID).unwrap(), Some(r.clone()));
        let text = fs::read_to_string(rights.path(ID)).unwrap();
        let json: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(json["sandbox"], "read-only");
        assert_eq!(json["store"], "/p/.zwarm");
        // Saved again, over the first.
        let wider = written(Record::new(ID, &r.store, "claude_code", None, "/q"));
        rights.save(&wider).unwrap();
        let back = rights.load(ID).unwrap().unwrap();
        assert_eq!(back, wider);
        let json: Value = serde_json::from_slice(&fs::read(rights.path(ID)).unwrap()).unwrap();
        assert_eq!(json["sandbox"], Value::Null);
    }

    #[test]
    fn the_folders_and_the_record_are_private_and_no_temporary_file_is_left() {
        let tmp = tempfile::tempdir().unwrap();
        let rights = RightsDir::at(tmp.path().join("a/b/state"));
        rights.save(&record(ID)).unwrap();
        assert_eq!(mode(&rights.base().join("zwarm")), 0o700);
        assert_eq!(mode(&rights.dir()), 0o700);
        assert_eq!(mode(&rights.path(ID)), 0o600);
        let names: Vec<_> = fs::read_dir(rights.dir())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names, [format!("{ID}.json")]);
    }

    #[test]
    fn keys_of_later_versions_survive_and_missing_optional_keys_read() {
        let tmp = tempfile::tempdir().unwrap();
        let rights = RightsDir::at(tmp.path());
        rights.save(&record(ID)).unwrap();
        let text = format!(
            r#"{{"id":"{ID}","store":"/p/.zwarm","adapter":"codex","working_dir":"/p",
            "written_at":"2026-01-01T00:00:00","agent_args":["-x"],"limits":{{"turns":3}}}}"#
        );
        fs::write(rights.path(ID), text).unwrap();
        let mut r = rights.load(ID).unwrap().unwrap();
        assert_eq!(r.sandbox, None);
        r.working_dir = "/q".into();
        rights.save(&r).unwrap();
        let json: Value = serde_json::from_slice(&fs::read(rights.path(ID)).unwrap()).unwrap();
        assert_eq!(json["agent_args"][0], "-x");
        assert_eq!(json["limits"]["turns"], 3);
        assert_eq!(json["working_dir"], "/q");
    }

    #[test]
    fn a_link_at_either_folder_is_refused_and_not_followed() {
        for planted in ["zwarm", "zwarm/sessions"] {
            let tmp = tempfile::tempdir().unwrap();
            let target = precious(tmp.path());
            let base = tmp.path().join("state");
            fs::create_dir_all(base.join("zwarm")).unwrap();
            if planted == "zwarm" {
                fs::remove_dir(base.join("zwarm")).unwrap();
            }
            let link = base.join(planted);
            symlink(&target, &link).unwrap();
            let rights = RightsDir::at(&base);
            for result in [
                rights.save(&record(ID)).map(|_| ()),
                rights.load(ID).map(|_| ()),
                rights.remove(ID).map(|_| ()),
                rights.ids().map(|_| ()),
            ] {
                match result {
                    Err(Error::Link { path }) => assert_eq!(path, link),
                    other => panic!("{planted}: {other:?}"),
                }
            }
            let message = rights.save(&record(ID)).unwrap_err().to_string();
            assert!(message.contains(&link.display().to_string()), "{message}");
            untouched(&target);
        }
    }

    #[test]
    fn a_link_at_the_record_is_refused_and_not_followed() {
        let tmp = tempfile::tempdir().unwrap();
        let rights = RightsDir::at(tmp.path().join("state"));
        rights.save(&record("ab")).unwrap();
        // A record that would pass, were the link followed.
        let elsewhere = tmp.path().join("forged.json");
        let forged = Record::new(ID, Path::new("/p/.zwarm"), "codex", None, "/p");
        fs::write(&elsewhere, serde_json::to_vec(&forged).unwrap()).unwrap();
        symlink(&elsewhere, rights.path(ID)).unwrap();
        let before = fs::read(&elsewhere).unwrap();
        assert!(matches!(rights.load(ID), Err(Error::Link { path }) if path == rights.path(ID)));
        assert!(
            matches!(rights.save(&record(ID)), Err(Error::Link { path }) if path == rights.path(ID))
        );
        assert_eq!(fs::read(&elsewhere).unwrap(), before);
        assert!(fs::symlink_metadata(rights.path(ID))
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(rights.ids().unwrap(), [ID, "ab"]);
    }

    #[test]
    fn a_link_planted_at_the_temporary_name_is_not_followed() {
        let tmp = tempfile::tempdir().unwrap();
        let target = precious(tmp.path());
        let rights = RightsDir::at(tmp.path().join("state"));
        rights.save(&record("ab")).unwrap();
        let planted = rights
            .dir()
            .join(format!(".{ID}.json.{}.tmp", std::process::id()));
        symlink(target.join("keep"), &planted).unwrap();
        let r = record(ID);
        rights.save(&r).unwrap();
        untouched(&target);
        assert!(fs::symlink_metadata(&planted).is_err());
        assert!(fs::symlink_metadata(rights.path(ID))
            .unwrap()
            .file_type()
            .is_file());
        assert_eq!(rights.load(ID).unwrap(), Some(r));
    }

    #[test]
    fn a_folder_others_may_write_in_is_not_trusted() {
        let tmp = tempfile::tempdir().unwrap();
        let rights = RightsDir::at(tmp.path());
        rights.save(&record(ID)).unwrap();
        fs::set_permissions(rights.dir(), fs::Permissions::from_mode(0o777)).unwrap();
        assert!(matches!(
            rights.load(ID),
            Err(Error::Untrusted { path, .. }) if path == rights.dir()
        ));
        assert!(matches!(
            rights.save(&record(ID)),
            Err(Error::Untrusted { .. })
        ));
    }

    #[test]
    fn what_is_not_a_record_of_the_session_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let rights = RightsDir::at(tmp.path());
        rights.save(&record(ID)).unwrap();
        let path = rights.path(ID);

        let big = format!(
            "{{\"id\":\"{ID}\",\"pad\":\"{}\"}}",
            "x".repeat(MAX_RECORD_BYTES as usize)
        );
        fs::write(&path, big).unwrap();
        match rights.load(ID) {
            Err(Error::Corrupt { reason, .. }) => assert!(reason.contains("larger"), "{reason}"),
            other => panic!("{other:?}"),
        }

        // Another session's record, copied to this one's name.
        fs::write(&path, serde_json::to_vec(&record("ab")).unwrap()).unwrap();
        assert!(matches!(rights.load(ID), Err(Error::Corrupt { .. })));

        fs::write(&path, "{\"id\": ").unwrap();
        assert!(matches!(rights.load(ID), Err(Error::Corrupt { .. })));

        fs::remove_file(&path).unwrap();
        nix::unistd::mkfifo(&path, Mode::S_IRUSR | Mode::S_IWUSR).unwrap();
        assert!(matches!(rights.load(ID), Err(Error::Untrusted { .. })));

        for bad in ["../x", "a/b", "", "ab.json"] {
            assert!(
                matches!(rights.load(bad), Err(Error::InvalidId(_))),
                "{bad:?}"
            );
            let mut r = record(ID);
            r.id = bad.into();
            assert!(matches!(rights.save(&r), Err(Error::InvalidId(_))));
        }
    }

    #[test]
    fn ids_lists_records_and_remove_removes_them() {
        let tmp = tempfile::tempdir().unwrap();
        let rights = RightsDir::at(tmp.path());
        assert!(rights.ids().unwrap().is_empty());
        assert!(!rights.remove(ID).unwrap());
        for id in ["cd", "ab", ID] {
            rights.save(&record(id)).unwrap();
        }
        fs::write(rights.dir().join("notes.txt"), "").unwrap();
        fs::write(rights.dir().join(".ab.json.1.tmp"), "").unwrap();
        fs::create_dir(rights.dir().join("ef.json")).unwrap();
        assert_eq!(rights.ids().unwrap(), [ID, "ab", "cd"]);
        assert!(rights.remove("cd").unwrap());
        assert!(!rights.remove("cd").unwrap());
        assert_eq!(rights.load("cd").unwrap(), None);
        assert_eq!(rights.ids().unwrap(), [ID, "ab"]);
    }

    #[test]
    fn nothing_is_created_until_a_record_is_saved() {
        let tmp = tempfile::tempdir().unwrap();
        let base = tmp.path().join("state");
        let rights = RightsDir::at(&base);
        assert_eq!(rights.load(ID).unwrap(), None);
        assert!(rights.ids().unwrap().is_empty());
        assert!(!rights.remove(ID).unwrap());
        assert!(!base.exists());
        fs::create_dir_all(base.join("zwarm")).unwrap();
        assert_eq!(rights.load(ID).unwrap(), None);
        assert!(!base.join("zwarm/sessions").exists());
    }

    #[test]
    fn the_state_home_follows_the_xdg_spec() {
        fn s(v: &str) -> Option<&OsStr> {
            Some(OsStr::new(v))
        }
        assert_eq!(
            state_home(s("/x/state"), s("/h")),
            Some(PathBuf::from("/x/state"))
        );
        let fallback = Some(PathBuf::from("/h/.local/state"));
        assert_eq!(state_home(None, s("/h")), fallback);
        assert_eq!(state_home(s(""), s("/h")), fallback);
        assert_eq!(state_home(s("relative/state"), s("/h")), fallback);
        assert_eq!(state_home(s("./state"), s("/h")), fallback);
        assert_eq!(state_home(None, None), None);
        assert_eq!(state_home(s(""), s("")), None);
        assert_eq!(state_home(None, s("h")), None);
        let rights = RightsDir::at("/x/state");
        assert_eq!(
            rights.path(ID),
            PathBuf::from(format!("/x/state/zwarm/sessions/{ID}.json"))
        );
    }

    #[test]
    fn a_mismatch_names_the_first_key_that_differs() {
        let r = record(ID);
        let store = Path::new("/p/.zwarm");
        assert_eq!(check(&r, store, "codex", Some("read-only"), "/p"), Ok(()));
        let key = |s: &Path, a, sb, w| check(&r, s, a, sb, w).unwrap_err();

        let m = key(store, "codex", Some("danger-full-access"), "/p");
        assert_eq!(m.key, Key::Sandbox);
        assert_eq!(m.stored.as_deref(), Some("danger-full-access"));
        assert_eq!(m.recorded.as_deref(), Some("read-only"));
        assert_eq!(
            m.to_string(),
            "meta.json's `sandbox` is \"danger-full-access\" but the session was started \
             with \"read-only\"; refusing to widen the agent's rights"
        );
        assert_eq!(key(store, "codex", None, "/p").key, Key::Sandbox);
        assert_eq!(
            key(store, "claude_code", Some("read-only"), "/p").key,
            Key::Adapter
        );
        assert_eq!(
            key(store, "codex", Some("read-only"), "/").key,
            Key::WorkingDir
        );
        assert_eq!(
            key(store, "codex", Some("read-only"), "/p/").key,
            Key::WorkingDir
        );
        let m = key(Path::new("/q/.zwarm"), "codex", Some("read-only"), "/p");
        assert_eq!(m.key, Key::Store);
        assert!(m.to_string().contains("\"/p/.zwarm\""), "{m}");
        // Several differ: the first is named.
        assert_eq!(key(store, "claude", None, "/").key, Key::Adapter);

        let claude = Record::new(ID, store, "claude_code", None, "/p");
        assert_eq!(check(&claude, store, "claude", None, "/p"), Ok(()));
        let m = check(&claude, store, "claude", Some("workspace-write"), "/p").unwrap_err();
        assert!(
            m.to_string().contains("with none (the agent's default)"),
            "{m}"
        );
    }

    #[test]
    fn absent_null_and_empty_sandboxes_are_one() {
        let store = Path::new("/s");
        let base = r#""id":"ab","store":"/s","adapter":"codex","working_dir":"/w","written_at":"2026-01-01T00:00:00""#;
        for sandbox in ["", r#","sandbox":null"#, r#","sandbox":"""#] {
            let r: Record = serde_json::from_str(&format!("{{{base}{sandbox}}}")).unwrap();
            for meta in [None, Some("")] {
                assert_eq!(
                    check(&r, store, "codex", meta, "/w"),
                    Ok(()),
                    "{sandbox} {meta:?}"
                );
            }
            let m = check(&r, store, "codex", Some("read-only"), "/w").unwrap_err();
            assert_eq!((m.key, m.recorded), (Key::Sandbox, None));
        }
        assert_eq!(
            Record::new("ab", store, "codex", Some(""), "/w").sandbox,
            None
        );
    }

    #[test]
    fn check_session_reads_the_session_keys() {
        let session: Session = serde_json::from_str(
            r#"{"id":"ab","task":"t","status":"completed","working_dir":"/w",
            "created_at":"2026-01-01T00:00:00","updated_at":"2026-01-01T00:00:00",
            "adapter":"codex","sandbox":"read-only"}"#,
        )
        .unwrap();
        let store = Path::new("/s/.zwarm");
        let r = Record::of(&session, store);
        assert_eq!(check_session(&r, store, &session), Ok(()));
        let mut tampered = session.clone();
        tampered.sandbox = Some("danger-full-access".into());
        assert_eq!(
            check_session(&r, store, &tampered).unwrap_err().key,
            Key::Sandbox
        );
        assert_eq!(validate_session(&tampered), Ok(()));
    }

    #[test]
    fn validate_says_what_is_wrong() {
        for adapter in ADAPTERS {
            for sandbox in [None, Some(""), Some("read-only"), Some("workspace-write")] {
                assert_eq!(validate(adapter, sandbox, "/w/x"), Ok(()));
            }
        }
        assert_eq!(validate("codex", Some("danger-full-access"), "/"), Ok(()));
        assert_eq!(validate("codex", None, "/a/./b//c/"), Ok(()));
        let wrong = |a, s, w| validate(a, s, w).unwrap_err();
        for bad in ["", "Codex", "claude-code", "sh"] {
            assert_eq!(wrong(bad, None, "/w").key, Key::Adapter, "{bad:?}");
        }
        for bad in ["full", "READ-ONLY", " read-only", "danger-full-access\n"] {
            assert_eq!(wrong("codex", Some(bad), "/w").key, Key::Sandbox, "{bad:?}");
        }
        for bad in ["", "w", "./w", "/w/../etc", "/..", "/w/\0x", "~/w"] {
            assert_eq!(wrong("codex", None, bad).key, Key::WorkingDir, "{bad:?}");
        }
        assert_eq!(validate("codex", None, "/w/..x/a..b"), Ok(()));
        let e = wrong("codex", Some("everything"), "/w");
        assert_eq!(e.value, "everything");
        assert_eq!(
            e.to_string(),
            "meta.json's `sandbox` is \"everything\": a sandbox is read-only, \
             workspace-write or danger-full-access"
        );
        assert!(wrong("codex", None, "/w/../x").to_string().contains("`..`"));
    }
}
