//! The session store: `.zwarm/sessions/<id>/`. The only code that touches
//! `meta.json`. Writes are atomic (temp file, fsync, rename) and every
//! read-modify-write holds the session's write lock.

use crate::error::{Error, Result};
use crate::session::model::Session;
use nix::fcntl::{Flock, FlockArg};
use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};

mod listing;
pub mod rights;

const META: &str = "meta.json";
/// Held by a session's supervisor for its whole life: free means no supervisor.
const RUN_LOCK: &str = "run.lock";
/// Held for the length of one read-modify-write of `meta.json`.
const WRITE_LOCK: &str = "meta.lock";

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
        self.root.join("sessions")
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
            .join(format!("turn_{turn}.jsonl"))
    }

    pub fn stderr_path(&self, id: &str, turn: u32) -> PathBuf {
        self.session_dir(id)
            .join("turns")
            .join(format!("turn_{turn}.stderr"))
    }

    pub fn run_lock_path(&self, id: &str) -> PathBuf {
        self.session_dir(id).join(RUN_LOCK)
    }

    /// Creates the session's folder and writes its first `meta.json`. The
    /// folder is built under a name that is not an id and renamed into
    /// place, so a concurrent `list` never sees a session without its meta.
    pub fn create(&self, session: &Session) -> Result<()> {
        check_id(&session.id)?;
        let dir = self.session_dir(&session.id);
        if dir.is_dir() {
            // Already visible: only its meta.json is (re)written.
            let turns = dir.join("turns");
            fs::create_dir_all(&turns).map_err(|e| Error::io("create", &turns, e))?;
            return self.save(session);
        }
        let staging = self
            .sessions_dir()
            .join(format!(".creating-{}", session.id));
        let turns = staging.join("turns");
        fs::create_dir_all(&turns).map_err(|e| Error::io("create", &turns, e))?;
        let mut text = serde_json::to_vec_pretty(session).expect("a session always serializes");
        text.push(b'\n');
        let placed = write_atomic(&staging, META, &text)
            .and_then(|()| fs::rename(&staging, &dir).map_err(|e| Error::io("create", &dir, e)));
        if placed.is_err() {
            let _ = fs::remove_dir_all(&staging);
        }
        placed
    }

    pub fn load(&self, id: &str) -> Result<Session> {
        check_id(id)?;
        let path = self.meta_path(id);
        // Writes follow the folder: through a link they would land outside
        // the store, or in another session.
        if let Ok(target) = fs::read_link(self.session_dir(id)) {
            return Err(Error::CorruptMeta {
                path,
                reason: format!(
                    "its folder is a symbolic link (to {}), which zwarm does not follow",
                    target.display()
                ),
            });
        }
        let bytes = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == ErrorKind::NotFound => {
                return Err(if self.session_dir(id).is_dir() {
                    Error::CorruptMeta {
                        path,
                        reason: "meta.json is missing".into(),
                    }
                } else {
                    Error::NotFound(id.to_string())
                })
            }
            Err(e) => return Err(Error::io("read", path, e)),
        };
        let session = parse_meta(&bytes).map_err(|reason| Error::CorruptMeta {
            path: path.clone(),
            reason,
        })?;
        // `save` writes to the folder the id names: a copied folder whose
        // meta.json still names the original would overwrite the original.
        if session.id != id {
            return Err(Error::CorruptMeta {
                path,
                reason: format!(
                    "it names session {}, not {id}, the folder it is in",
                    session.id.escape_debug()
                ),
            });
        }
        Ok(session)
    }

    /// Writes `meta.json` atomically. Callers that read first must hold the
    /// write lock (see [`Store::update`]).
    pub fn save(&self, session: &Session) -> Result<()> {
        check_id(&session.id)?;
        let dir = self.session_dir(&session.id);
        let mut text = serde_json::to_vec_pretty(session).expect("a session always serializes");
        text.push(b'\n');
        write_atomic(&dir, META, &text)
    }

    /// Load, change and save one session under its write lock.
    pub fn update<T>(&self, id: &str, f: impl FnOnce(&mut Session) -> Result<T>) -> Result<T> {
        let _guard = self.write_lock(id)?;
        let mut session = self.load(id)?;
        let out = f(&mut session)?;
        session.updated_at = crate::timefmt::Timestamp::now();
        self.save(&session)?;
        Ok(out)
    }

    /// As [`Store::update`], for a reader that records what it worked out
    /// (how a turn ended): where this process may not write the session (a
    /// read-only mount, another user's store), `f` is applied to the session
    /// as read and nothing is saved, so the reader still shows the truth.
    /// Returns the session as changed.
    pub fn update_or_view(
        &self,
        id: &str,
        f: impl FnOnce(&mut Session) -> Result<()>,
    ) -> Result<Session> {
        let guard = match self.write_lock(id) {
            Ok(guard) => Some(guard),
            Err(e) if e.is_read_only() => None,
            Err(e) => return Err(e),
        };
        let mut session = self.load(id)?;
        f(&mut session)?;
        if guard.is_some() {
            let read_at = session.updated_at;
            session.updated_at = crate::timefmt::Timestamp::now();
            match self.save(&session) {
                Err(e) if e.is_read_only() => session.updated_at = read_at,
                saved => saved?,
            }
        }
        Ok(session)
    }

    /// The short lock that serializes writers of one session's `meta.json`.
    pub fn write_lock(&self, id: &str) -> Result<Flock<File>> {
        check_id(id)?;
        let path = self.session_dir(id).join(WRITE_LOCK);
        let file = open_lock_file(&path)?;
        Flock::lock(file, FlockArg::LockExclusive)
            .map_err(|(_, errno)| Error::io("lock", path, errno.into()))
    }

    /// Every session id in the store (folder names that look like ids), sorted.
    pub fn ids(&self) -> Result<Vec<String>> {
        let dir = self.sessions_dir();
        let entries = match fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Error::io("read", dir, e)),
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
        let found: Vec<String> = ids
            .into_iter()
            .filter(|i| i.starts_with(&prefix_lc))
            .collect();
        match found.len() {
            0 => Err(Error::NotFound(prefix.to_string())),
            1 => Ok(found.into_iter().next().unwrap()),
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
        let dir = self.session_dir(id);
        let trash = self.sessions_dir().join(format!(".removing-{id}"));
        fs::rename(&dir, &trash).map_err(|e| Error::io("remove", &dir, e))?;
        fs::remove_dir_all(&trash).map_err(|e| Error::io("remove", &trash, e))
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

pub fn open_lock_file(path: &Path) -> Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(|e| Error::io("open", path, e))
}

/// Writes `dir/name` so that a reader sees the old content or the new, never a
/// mix, and the new content is on disk before it replaces the old.
pub fn write_atomic(dir: &Path, name: &str, bytes: &[u8]) -> Result<()> {
    let target = dir.join(name);
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| -> std::io::Result<()> {
        let mut f = create_temp(&tmp, 0o666)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        fs::rename(&tmp, &target)?;
        // The rename itself must reach the disk too.
        File::open(dir)?.sync_all()
    })();
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
        return Err(Error::io("write", target, e));
    }
    Ok(())
}

/// Creates the temporary file `path` with `mode` (less the umask), never
/// opening what is there already: a link planted at the name is neither
/// followed nor its target truncated. Anything there (left by a writer that
/// died, whose pid this process now has) is removed, once.
pub(crate) fn create_temp(path: &Path, mode: u32) -> std::io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    let create = || {
        OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(path)
    };
    match create() {
        Err(e) if e.kind() == ErrorKind::AlreadyExists => {
            fs::remove_file(path)?;
            create()
        }
        created => created,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::model::{SessionStatus, Usage};
    use crate::timefmt::Timestamp;

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
