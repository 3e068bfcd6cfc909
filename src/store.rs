//! The session store: `.zwarm/sessions/<id>/`. The only code that touches
//! `meta.json`. Writes are atomic (temp file, fsync, rename) and every
//! read-modify-write holds the session's write lock.

use crate::error::{Error, Result};
use crate::list_index::{self, EntryRef, FileKey, Fresh, Index, IndexUse};
use crate::session::model::Session;
use nix::fcntl::{Flock, FlockArg};
use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

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

    /// What `list` shows of every session (see [`crate::session::brief`]),
    /// in no order; the ones that fail to load are returned apart, sorted,
    /// with the errors [`Store::load`] gives. This is `list`'s hot path: a
    /// finished session in the list index (`.zwarm/list-index/`) costs one
    /// `fstatat`; any other that reads cleanly, an open relative to the
    /// sessions folder (no walk of the whole path), one read into a reused
    /// buffer, a close. With `last_message`, each keeps its last agent
    /// message (`list --json` shows it).
    pub fn load_all_brief(&self, last_message: bool) -> Result<(Vec<Session>, Vec<LoadProblem>)> {
        let settled = SystemTime::now()
            .checked_sub(list_index::SETTLED)
            .unwrap_or(UNIX_EPOCH);
        let (ok, bad, _) = self.load_all_brief_settled(last_message, settled)?;
        Ok((ok, bad))
    }

    /// [`Store::load_all_brief`], indexing only files last changed no later
    /// than `settled`; also says how the index served.
    pub(crate) fn load_all_brief_settled(
        &self,
        last_message: bool,
        settled: SystemTime,
    ) -> Result<(Vec<Session>, Vec<LoadProblem>, IndexUse)> {
        let dir = self.sessions_dir();
        let entries = match fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == ErrorKind::NotFound => {
                return Ok((Vec::new(), Vec::new(), IndexUse::default()))
            }
            Err(e) => return Err(Error::io("read", dir, e)),
        };
        // (id, whether the folder entry says it is a folder and no link)
        let mut found = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| Error::io("read", &dir, e))?;
            let Ok(id) = entry.file_name().into_string() else {
                continue;
            };
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if is_valid_id(&id) && (kind.is_dir() || kind.is_symlink()) {
                found.push((id, kind.is_dir()));
            }
        }
        // Thousands of small reads cost system calls more than parsing, and
        // those run in parallel as well as anything.
        let threads = if found.len() < 256 {
            1
        } else {
            std::thread::available_parallelism().map_or(1, |n| n.get().min(4))
        };
        let per_thread = found.len().div_ceil(threads).max(1);
        let dir_file = File::open(&dir).map_err(|e| Error::io("read", &dir, e))?;
        let dir_file = &dir_file;
        let index = if found.is_empty() {
            Index::default()
        } else {
            Index::load(&self.root)
        };
        let index = &index;
        // Entries are made only where they can be saved: a state directory
        // this user may not write lists as fast as it did before the index.
        let settled = list_index::writable(&self.root).then_some(settled);
        let load = |part: &[(String, bool)]| {
            let mut reader = BriefReader {
                last_message,
                settled,
                ..BriefReader::default()
            };
            let mut out = Listed {
                ok: Vec::with_capacity(part.len()),
                ..Listed::default()
            };
            for (id, is_dir) in part {
                // The folder entry already says it is no link, which `load`
                // would ask the file system again; anything unusual is left
                // to `load`, which words the refusal.
                if *is_dir {
                    if let Some((entry, s)) = reader.indexed(dir_file, index, id) {
                        out.kept.push(entry);
                        out.ok.push(s);
                        continue;
                    }
                    if let Some(s) = reader.read(dir_file, id, &mut out.fresh) {
                        out.ok.push(s);
                        continue;
                    }
                }
                match self.load(id) {
                    Ok(s) => out.ok.push(s),
                    Err(error) => out.bad.push(LoadProblem {
                        id: id.clone(),
                        error,
                    }),
                }
            }
            out
        };
        let mut parts = found.chunks(per_thread);
        let first = parts.next().unwrap_or_default();
        let mut all = std::thread::scope(|scope| {
            let others: Vec<_> = parts.map(|p| scope.spawn(move || load(p))).collect();
            let mut all = load(first);
            for handle in others {
                let part = handle
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
                all.ok.extend(part.ok);
                all.bad.extend(part.bad);
                all.kept.extend(part.kept);
                all.fresh.extend(part.fresh);
            }
            all
        });
        // A cache: where it cannot be written, `list` shows the same, only
        // without the speed-up next time.
        let _ = list_index::update(&self.root, index, &all.kept, &all.fresh);
        all.ok.shrink_to_fit();
        all.bad.sort_by(|a, b| a.id.cmp(&b.id));
        let used = IndexUse {
            hits: all.kept.len(),
            fresh: all.fresh.len(),
        };
        Ok((all.ok, all.bad, used))
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

/// What one thread of `list` found.
#[derive(Default)]
struct Listed {
    ok: Vec<Session>,
    bad: Vec<LoadProblem>,
    /// The index entries that served.
    kept: Vec<EntryRef>,
    /// Sessions read from `meta.json` that can be indexed.
    fresh: Vec<Fresh>,
}

/// Reads the briefs of `list`, reusing its buffers from session to session.
#[derive(Default)]
struct BriefReader {
    last_message: bool,
    /// Files changed after this are not indexed; None: nothing is.
    settled: Option<SystemTime>,
    path: String,
    buf: Vec<u8>,
}

impl BriefReader {
    /// A `meta.json` this big is read in one call.
    const ONE_READ: usize = 64 * 1024;

    /// `id/meta.json`, relative to the sessions folder.
    fn meta_path(&mut self, id: &str) -> &str {
        self.path.clear();
        self.path.push_str(id);
        self.path.push_str("/meta.json");
        &self.path
    }

    /// The brief of a session from its index entry, if its `meta.json` is
    /// still the very file the entry was read from.
    fn indexed(&mut self, sessions: &File, index: &Index, id: &str) -> Option<(EntryRef, Session)> {
        use nix::fcntl::AtFlags;
        use std::os::fd::AsRawFd;
        let entry = index.find(id)?;
        // Links followed, as the read that made the entry followed them.
        let st = nix::sys::stat::fstatat(
            Some(sessions.as_raw_fd()),
            self.meta_path(id),
            AtFlags::empty(),
        )
        .ok()?;
        if FileKey::of(&st) != index.key(entry) {
            return None;
        }
        let mut session = crate::session::brief::parse(index.brief(entry), false).ok()?;
        if session.id != id {
            return None;
        }
        if let (true, Some(text)) = (self.last_message, index.message(entry)) {
            let text = std::str::from_utf8(text).ok()?;
            let message = crate::session::brief::agent_message(text.to_owned());
            session.messages.push(message);
        }
        Some((entry, session))
    }

    /// The brief of a session whose `meta.json` reads and parses cleanly and
    /// names its folder; None for anything else. A finished session whose
    /// file has settled goes into `fresh` as well, for the index.
    fn read(&mut self, sessions: &File, id: &str, fresh: &mut Vec<Fresh>) -> Option<Session> {
        use nix::fcntl::{openat, OFlag};
        use nix::sys::stat::Mode;
        use std::io::Read;
        use std::os::fd::{AsRawFd, FromRawFd};
        let flags = OFlag::O_RDONLY | OFlag::O_CLOEXEC;
        let fd = openat(
            Some(sessions.as_raw_fd()),
            self.meta_path(id),
            flags,
            Mode::empty(),
        )
        .ok()?;
        // SAFETY: `fd` was just opened here and nothing else owns it.
        let mut file = unsafe { File::from_raw_fd(fd) };
        // Asked before the read: a change after it leaves the key behind, so
        // the entry never serves; a key taken after the read could vouch for
        // content older than the file.
        let key = FileKey::of(&nix::sys::stat::fstat(fd).ok()?);
        let indexable = self.settled.is_some_and(|t| key.changed_by(t));
        // An entry holds the last message whatever this listing shows.
        let with_message = self.last_message || indexable;
        if self.buf.len() < Self::ONE_READ {
            self.buf.resize(Self::ONE_READ, 0);
        }
        // A read that does not fill the buffer normally holds the whole file,
        // which is replaced by a rename and never written in place. A JSON
        // document cut short never parses, so one that does is the whole
        // file; one that does not is read to its end and parsed again.
        let n = file.read(&mut self.buf).ok()?;
        // What the table shows must not depend on the file's age: messages
        // it skips but an entry would keep (an agent message that is not
        // text) leave the file unindexed, not unlisted.
        let parse = |bytes: &[u8]| match crate::session::brief::parse(bytes, with_message) {
            Ok(s) => Some((s, indexable)),
            Err(_) if with_message && !self.last_message => {
                crate::session::brief::parse(bytes, false)
                    .ok()
                    .map(|s| (s, false))
            }
            Err(_) => None,
        };
        let parsed = (n < self.buf.len())
            .then(|| parse(&self.buf[..n]))
            .flatten();
        let mut rest = Vec::new();
        let ((mut session, indexable), text) = match parsed {
            Some(s) => (s, &self.buf[..n]),
            None => {
                rest.extend_from_slice(&self.buf[..n]);
                file.read_to_end(&mut rest).ok()?;
                (parse(&rest)?, &rest[..])
            }
        };
        if session.id != id {
            return None;
        }
        // The brief holds only the last agent message, if any.
        let message = session.messages.pop();
        if indexable && !session.status.is_active() {
            // The file's own text, not the session re-serialised: see
            // `brief::excerpt` for what re-serialising would change.
            if let Some(brief) = crate::session::brief::excerpt(text, session.turn) {
                fresh.push(Fresh {
                    id: id.to_string(),
                    key,
                    brief,
                    message: message.as_ref().map(|m| m.content.clone()),
                });
            }
        }
        if self.last_message {
            session.messages.extend(message);
        }
        Some(session)
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
