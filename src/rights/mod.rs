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

mod record;

pub(crate) use crate::error::rights::RightsError;
pub(crate) use record::{check_session, validate_session, Record};

use crate::dir::{is_not_regular, read_bounded, Dir};
use crate::model::SessionId;
use nix::sys::stat::FileStat;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::ffi::OsStr;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A record is a few hundred bytes; a huge one was not written by zwarm,
/// and reading it whole would let whoever wrote it exhaust memory.
pub(crate) const MAX_RECORD_BYTES: u64 = 1 << 20;

pub(crate) type Result<T, E = RightsError> = std::result::Result<T, E>;

/// The XDG state home from the values of `XDG_STATE_HOME` and `HOME`. The
/// spec says a relative (or empty) `XDG_STATE_HOME` is to be ignored.
pub(crate) fn state_home(xdg_state_home: Option<&OsStr>, home: Option<&OsStr>) -> Option<PathBuf> {
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
pub(crate) struct RightsDir {
    base: PathBuf,
}

impl RightsDir {
    /// `base` is the state home; nothing is created until a record is saved.
    pub(crate) fn at(base: impl Into<PathBuf>) -> Self {
        RightsDir { base: base.into() }
    }

    /// Under the state home that `XDG_STATE_HOME` or `HOME` name.
    pub(crate) fn from_env() -> Result<Self> {
        let xdg = std::env::var_os("XDG_STATE_HOME");
        let home = std::env::var_os("HOME");
        state_home(xdg.as_deref(), home.as_deref())
            .map(RightsDir::at)
            .ok_or(RightsError::NoStateHome)
    }

    pub(crate) fn dir(&self) -> PathBuf {
        self.base.join("zwarm").join("sessions")
    }

    pub(crate) fn path(&self, id: &str) -> PathBuf {
        self.dir().join(file_name(id))
    }

    /// Writes the record atomically: a reader sees the old one or the new.
    pub(crate) fn save(&self, record: &Record) -> Result<()> {
        check_id(&record.id)?;
        let dir = self.make("sessions")?;
        write_json(&dir, &file_name(&record.id), record)
    }

    /// The record of session `id`; None where there is none (a session
    /// started before records were kept, or by zwarm 2.3.5).
    pub(crate) fn load(&self, id: &str) -> Result<Option<Record>> {
        check_id(id)?;
        let Some(dir) = self.open("sessions")? else {
            return Ok(None);
        };
        let name = file_name(id);
        let Some(record) = read_json::<Record>(&dir, &name)? else {
            return Ok(None);
        };
        // A record copied to another session's name must not vouch for it.
        if record.id != id {
            return Err(RightsError::Corrupt {
                path: dir.join(&name),
                reason: format!("it names session {}", record.id.escape_debug()),
            });
        }
        Ok(Some(record))
    }

    /// Removes the record of `id`; false if there was none.
    pub(crate) fn remove(&self, id: &str) -> Result<bool> {
        check_id(id)?;
        let Some(dir) = self.open("sessions")? else {
            return Ok(false);
        };
        let name = file_name(id);
        match dir.remove_file(&name) {
            Ok(()) => sync(&dir).map(|()| true),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(false),
            Err(e) => Err(RightsError::io("remove", dir.join(&name), e)),
        }
    }

    /// The ids that have a record, sorted. Links are listed too, so that
    /// whoever asks can learn from [`RightsDir::load`] why they are refused.
    pub(crate) fn ids(&self) -> Result<Vec<String>> {
        // Opened first for its checks: a link or a folder others may write
        // is refused here as it would be by `load`.
        let Some(dir) = self.open("sessions")? else {
            return Ok(Vec::new());
        };
        let unreadable = |e| RightsError::io("read", dir.path(), e);
        let entries = match dir.entries() {
            Ok(e) => e,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(unreadable(e)),
        };
        let mut ids = Vec::new();
        for entry in entries {
            let entry = entry.map_err(unreadable)?;
            let Ok(name) = entry.file_name().into_string() else {
                continue;
            };
            let Some(id) = name
                .strip_suffix(".json")
                .filter(|id| SessionId::is_valid(id))
            else {
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
    pub(crate) fn store_since(&self, store: &Path) -> Result<Option<SystemTime>> {
        let Some(dir) = self.open("stores")? else {
            return Ok(None);
        };
        let Some(mark) = read_json::<StoreMark>(&dir, &store_file_name(store))? else {
            return Ok(None);
        };
        // Another store whose path hashes alike is not this one.
        Ok((mark.store == store)
            .then(|| UNIX_EPOCH + Duration::from_secs_f64(mark.since_unix.max(0.0))))
    }

    /// Notes, once, that records are kept for `store` from now on.
    pub(crate) fn mark_store(&self, store: &Path) -> Result<()> {
        if self.store_since(store)?.is_some() {
            return Ok(());
        }
        let dir = self.make("stores")?;
        let since_unix = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        let mark = StoreMark {
            store: store.to_path_buf(),
            since_unix,
        };
        write_json(&dir, &store_file_name(store), &mark)
    }

    /// The folder `name` under `<state home>/zwarm/`; None if it is missing.
    fn open(&self, name: &str) -> Result<Option<Dir>> {
        self.open_in(name, false)
    }

    /// The folder `name` under `<state home>/zwarm/`, made (0700, as are
    /// the folders above it) if it is missing.
    fn make(&self, name: &str) -> Result<Dir> {
        // Missing only if removed between its making and its opening.
        self.open_in(name, true)?.ok_or_else(|| {
            RightsError::io(
                "open",
                &self.base,
                std::io::Error::from(ErrorKind::NotFound),
            )
        })
    }

    /// The folder `name` under `<state home>/zwarm/`, made (0700) if
    /// `create`; None if it is missing and not to be made.
    fn open_in(&self, name: &str, create: bool) -> Result<Option<Dir>> {
        if create {
            // The state home is the user's to place, links and all; only
            // what zwarm makes inside it is held to the rules below.
            use std::os::unix::fs::DirBuilderExt;
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(&self.base)
                .map_err(|e| RightsError::io("create", &self.base, e))?;
        }
        let base = match Dir::open(&self.base) {
            Ok(base) => base,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(RightsError::io("open", &self.base, e)),
        };
        let Some(zwarm) = trusted_sub(&base, "zwarm", create)? else {
            return Ok(None);
        };
        trusted_sub(&zwarm, name, create)
    }
}

/// The folder `name` in `parent`, made (0700) first if `create`; None if it
/// is missing and not to be made. Only its owner may write in it: anyone
/// else could plant a record.
fn trusted_sub(parent: &Dir, name: &str, create: bool) -> Result<Option<Dir>> {
    if create {
        match parent.make_dir(name, 0o700) {
            // The new name must reach the disk before what goes in it.
            Ok(true) => sync(parent)?,
            Ok(false) => {}
            Err(e) => return Err(refusal(parent, "create", name, e)),
        }
    }
    let dir = match parent.sub(name) {
        Ok(dir) => dir,
        Err(e) if e.kind() == ErrorKind::NotFound && !create => return Ok(None),
        Err(e) => return Err(refusal(parent, "open", name, e)),
    };
    let stat = dir
        .stat_self()
        .map_err(|e| RightsError::io("inspect", dir.path(), e))?;
    if let Some(why) = untrusted_folder(&stat) {
        return Err(RightsError::Untrusted {
            path: dir.path().to_path_buf(),
            why,
        });
    }
    Ok(Some(dir))
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

/// The file `name` in `dir`, parsed; None if there is none.
fn read_json<T: DeserializeOwned>(dir: &Dir, name: &str) -> Result<Option<T>> {
    let path = dir.join(name);
    let file = match dir.read_file(name) {
        Ok(file) => file,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(e) if is_not_regular(&e) => {
            return Err(RightsError::Untrusted {
                path,
                why: e.to_string(),
            })
        }
        Err(e) => return Err(refusal(dir, "open", name, e)),
    };
    let bytes = match read_bounded(file, MAX_RECORD_BYTES) {
        Ok(Ok(bytes)) => bytes,
        Ok(Err(_)) => {
            return Err(RightsError::Corrupt {
                path,
                reason: format!("it is larger than {MAX_RECORD_BYTES} bytes"),
            })
        }
        Err(e) => return Err(RightsError::io("read", path, e)),
    };
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|e| RightsError::Corrupt {
            path,
            reason: e.to_string(),
        })
}

/// Writes `value` as the file `name` (0600) in `dir`, atomically: a reader
/// sees the old content or the new, never a mix.
fn write_json(dir: &Dir, name: &str, value: &impl Serialize) -> Result<()> {
    let path = dir.join(name);
    let mut text = serde_json::to_vec_pretty(value)
        .map_err(|e| RightsError::io("write", &path, std::io::Error::other(e)))?;
    text.push(b'\n');
    // A rename would replace a link rather than follow it, but a link
    // there was planted, and saying so beats quietly removing it.
    if dir.is_link(name) {
        return Err(RightsError::Link { path });
    }
    dir.write_atomic(name, &text, 0o600)
        .map_err(|e| RightsError::io("write", path, e))
}

/// The error for `op` on `name` in `dir` failing: a link there is said to
/// be one, whatever errno the refusal to follow it came with.
fn refusal(dir: &Dir, op: &'static str, name: &str, e: std::io::Error) -> RightsError {
    if dir.is_link(name) {
        RightsError::Link {
            path: dir.join(name),
        }
    } else {
        RightsError::io(op, dir.join(name), e)
    }
}

fn sync(dir: &Dir) -> Result<()> {
    dir.sync()
        .map_err(|e| RightsError::io("sync", dir.path(), e))
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
    SessionId::parse(id)?;
    Ok(())
}

#[cfg(test)]
mod tests;
