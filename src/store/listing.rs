//! `list`'s reading of the store: every session's brief, from the list
//! index where an entry still matches its `meta.json`, else from the file
//! (one open relative to the sessions folder, one read, a close), on a few
//! threads for large stores; then the index brought up to date.

use super::{LoadProblem, Store, MAX_META};
use crate::dir::Dir;
use crate::error::{Error, Result};
use crate::model::{Session, SessionId, SessionStatus};
use crate::store::list_index::{self, EntryRef, FileKey, Fresh, Index, IndexUse, Parts};
use crate::timefmt::Timestamp;
use std::borrow::Cow;
use std::fs::File;
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

/// Where a listed session's brief is: an entry of the index, parsed again
/// whenever it is asked for, or a session read from its file and held.
pub(crate) enum Source {
    Indexed(EntryRef),
    Read(Box<Session>),
}

/// A listed session: what it is sorted and counted by, where its brief is,
/// and what the caller made of it while it was read.
pub(crate) struct Row<S> {
    pub id: String,
    pub created_at: Timestamp,
    pub status: SessionStatus,
    pub source: Source,
    pub summary: S,
}

/// Every session of a listing, in no order, with the index its entries
/// are read from, which lives as long as the listing.
pub(crate) struct Scan<S> {
    pub index: Index,
    pub rows: Vec<Row<S>>,
    /// Sessions that failed to load, sorted, with the errors [`Store::load`] gives.
    pub problems: Vec<LoadProblem>,
    pub used: IndexUse,
    last_message: bool,
    root: PathBuf,
}

impl<S> Scan<S> {
    /// The brief of a row: held, or parsed again from its entry (with the
    /// last agent message if the listing read them).
    pub(crate) fn session<'a>(&'a self, row: &'a Row<S>) -> Result<Cow<'a, Session>> {
        match &row.source {
            Source::Read(s) => Ok(Cow::Borrowed(s)),
            Source::Indexed(entry) => self
                .index
                .read(*entry, &mut Vec::new())
                .and_then(|parts| indexed(&parts, &row.id, self.last_message))
                // The same bytes gave this session when it was listed: only
                // a change to the index file in place, which zwarm never
                // makes, comes here.
                .ok_or_else(|| Error::CorruptMeta {
                    path: self.root.join(list_index::DIR_NAME),
                    reason: format!("the entry of {} changed while it was listed", row.id),
                })
                .map(Cow::Owned),
        }
    }
}

/// The session an index entry holds, if it parses and is the one of `id`.
fn indexed(entry: &Parts, id: &str, last_message: bool) -> Option<Session> {
    let mut session = crate::store::brief::parse(entry.brief, false).ok()?;
    if session.id != id {
        return None;
    }
    if let (true, Some(text)) = (last_message, entry.message) {
        let text = std::str::from_utf8(text).ok()?;
        let message = crate::store::brief::agent_message(text.to_owned());
        session.messages.push(message);
    }
    Some(session)
}

impl Store {
    /// What `list` shows of every session (see [`crate::store::brief`]),
    /// in no order; the ones that fail to load are returned apart, sorted,
    /// with the errors [`Store::load`] gives. With `last_message`, each
    /// keeps its last agent message (`list --json` shows it). Every
    /// session is held: [`Store::scan_brief`] holds only what sorts them.
    pub(crate) fn load_all_brief(
        &self,
        last_message: bool,
    ) -> Result<(Vec<Session>, Vec<LoadProblem>)> {
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
        let scan = self.scan_brief_settled(last_message, settled, true, &|_: &Session| ())?;
        let mut ok = Vec::with_capacity(scan.rows.len());
        for row in scan.rows {
            if let Source::Read(s) = row.source {
                ok.push(*s);
            }
        }
        Ok((ok, scan.problems, scan.used))
    }

    /// `list`'s reading of the store, each session summed up by
    /// `summarize` as it is read and then held only as a [`Row`]: a
    /// session served by the index is parsed again from its entry only if
    /// it is asked for ([`Scan::session`]), so that listing 100,000 holds
    /// no more of each than its summary.
    pub(crate) fn scan_brief<S: Send>(
        &self,
        last_message: bool,
        summarize: &(dyn Fn(&Session) -> S + Sync),
    ) -> Result<Scan<S>> {
        let settled = SystemTime::now()
            .checked_sub(list_index::SETTLED)
            .unwrap_or(UNIX_EPOCH);
        self.scan_brief_settled(last_message, settled, false, summarize)
    }

    /// This is `list`'s hot path: a finished session in the list index
    /// (`.zwarm/list-index/`) costs one `fstatat`; any other that reads
    /// cleanly, an open relative to the sessions folder (no walk of the
    /// whole path), one read into a reused buffer, a close. With `hold`,
    /// the sessions served by the index are held as well.
    pub(super) fn scan_brief_settled<S: Send>(
        &self,
        last_message: bool,
        settled: SystemTime,
        hold: bool,
        summarize: &(dyn Fn(&Session) -> S + Sync),
    ) -> Result<Scan<S>> {
        let empty = || Scan {
            index: Index::default(),
            rows: Vec::new(),
            problems: Vec::new(),
            used: IndexUse::default(),
            last_message,
            root: self.root.clone(),
        };
        let dir = self.sessions_dir();
        // Opened without following a link, as every other command opens it:
        // a linked `sessions` is refused, not listed from wherever it points.
        // Every file below is then opened relative to this folder.
        let sessions = match self.sessions(false) {
            Ok(d) => d,
            Err(Error::Io(e)) if e.is_not_found() => return Ok(empty()),
            Err(e) => return Err(e),
        };
        let entries = sessions.entries().map_err(|e| Error::io("read", &dir, e))?;
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
            if SessionId::is_valid(&id) && (kind.is_dir() || kind.is_symlink()) {
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
        let sessions = &sessions;
        let index = if found.is_empty() {
            Index::default()
        } else {
            Index::load(&self.root)
        };
        let index_ref = &index;
        // Entries are made only where they can be saved: a state directory
        // this user may not write lists as fast as it did before the index.
        let settled = list_index::writable(&self.root).then_some(settled);
        let indexed_row = |id: String, entry: EntryRef, s: &Session| Row {
            created_at: s.created_at,
            status: s.status,
            summary: summarize(s),
            source: Source::Indexed(entry),
            id,
        };
        let held_row = |id: String, s: Session| Row {
            created_at: s.created_at,
            status: s.status,
            summary: summarize(&s),
            source: Source::Read(Box::new(s)),
            id,
        };
        let total = found.len();
        // `rows` rows are reserved at once: the thread that gathers every
        // row gets room for all, so that no row is copied to a larger
        // buffer while the other threads' rows are held too.
        let load = |part: Vec<(String, bool)>, rows: usize| {
            let index = index_ref;
            let mut reader = BriefReader {
                last_message,
                settled,
                ..BriefReader::default()
            };
            let mut out = Listed {
                ok: Vec::with_capacity(rows),
                ..Listed::default()
            };
            for (id, is_dir) in part {
                // The folder entry already says it is no link, which `load`
                // would ask the file system again; anything unusual is left
                // to `load`, which words the refusal.
                if is_dir {
                    if let Some((entry, s)) = reader.indexed(sessions, index, &id) {
                        out.kept.push(entry);
                        if hold {
                            out.ok.push(held_row(id, s));
                        } else {
                            out.ok.push(indexed_row(id, entry, &s));
                        }
                        continue;
                    }
                    if let Some(s) = reader.read(sessions, &id, &mut out.fresh) {
                        out.ok.push(held_row(id, s));
                        continue;
                    }
                }
                match self.load(&id) {
                    Ok(s) => out.ok.push(held_row(id, s)),
                    Err(error) => out.bad.push(LoadProblem { id, error }),
                }
            }
            out
        };
        let mut parts = Vec::with_capacity(threads);
        while !found.is_empty() {
            let rest = found.split_off(found.len().saturating_sub(per_thread));
            parts.push(rest);
        }
        // Emptied, but still the size of every folder entry.
        drop(found);
        let first = parts.pop().unwrap_or_default();
        let mut all = std::thread::scope(|scope| {
            let others: Vec<_> = parts
                .into_iter()
                .map(|p| {
                    scope.spawn(move || {
                        let rows = p.len();
                        load(p, rows)
                    })
                })
                .collect();
            let mut all = load(first, total);
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
        let _ = list_index::update(&self.root, &index, &all.kept, &all.fresh);
        all.bad.sort_by(|a, b| a.id.cmp(&b.id));
        let used = IndexUse {
            hits: all.kept.len(),
            fresh: all.fresh.len(),
        };
        Ok(Scan {
            index,
            rows: all.ok,
            problems: all.bad,
            used,
            last_message,
            root: self.root.clone(),
        })
    }
}

/// What one thread of `list` found.
struct Listed<S> {
    ok: Vec<Row<S>>,
    bad: Vec<LoadProblem>,
    /// The index entries that served.
    kept: Vec<EntryRef>,
    /// Sessions read from `meta.json` that can be indexed.
    fresh: Vec<Fresh>,
}

impl<S> Default for Listed<S> {
    fn default() -> Self {
        Listed {
            ok: Vec::new(),
            bad: Vec::new(),
            kept: Vec::new(),
            fresh: Vec::new(),
        }
    }
}

/// Reads the briefs of `list`, reusing its buffers from session to session.
#[derive(Default)]
struct BriefReader {
    last_message: bool,
    /// Files changed after this are not indexed; None: nothing is.
    settled: Option<SystemTime>,
    path: String,
    buf: Vec<u8>,
    /// An index entry as read from its file.
    entry: Vec<u8>,
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
    fn indexed(&mut self, sessions: &Dir, index: &Index, id: &str) -> Option<(EntryRef, Session)> {
        use nix::fcntl::AtFlags;
        let (entry, parts) = index.find(id, &mut self.entry)?;
        // A link is not followed, as the read that made the entry did not
        // follow one: its own key never matches an entry.
        let path = {
            self.path.clear();
            self.path.push_str(id);
            self.path.push_str("/meta.json");
            &self.path
        };
        let st = nix::sys::stat::fstatat(
            Some(sessions.raw_fd()),
            path.as_str(),
            AtFlags::AT_SYMLINK_NOFOLLOW,
        )
        .ok()?;
        if FileKey::of(&st) != parts.key {
            return None;
        }
        Some((entry, indexed(&parts, id, self.last_message)?))
    }

    /// The brief of a session whose `meta.json` reads and parses cleanly and
    /// names its folder; None for anything else. A finished session whose
    /// file has settled goes into `fresh` as well, for the index.
    fn read(&mut self, sessions: &Dir, id: &str, fresh: &mut Vec<Fresh>) -> Option<Session> {
        use nix::fcntl::{openat, OFlag};
        use nix::sys::stat::{Mode, SFlag};
        use std::io::Read;
        use std::os::fd::FromRawFd;
        // No link followed and no wait on a FIFO: what is not a regular file
        // is left to `load`, which refuses it in words.
        let flags = OFlag::O_RDONLY | OFlag::O_CLOEXEC | OFlag::O_NOFOLLOW | OFlag::O_NONBLOCK;
        let fd = openat(
            Some(sessions.raw_fd()),
            self.meta_path(id),
            flags,
            Mode::empty(),
        )
        .ok()?;
        // SAFETY: `fd` was just opened here and nothing else owns it.
        let file = unsafe { File::from_raw_fd(fd) };
        // Asked before the read: a change after it leaves the key behind, so
        // the entry never serves; a key taken after the read could vouch for
        // content older than the file.
        let st = nix::sys::stat::fstat(fd).ok()?;
        let regular = SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT == SFlag::S_IFREG;
        // Too large to read is `load`'s to say, without reading it either.
        if !regular || st.st_size as u64 > MAX_META {
            return None;
        }
        let key = FileKey::of(&st);
        // Bounded all the same: the file may grow while it is read.
        let mut file = file.take(MAX_META + 1);
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
        let parse = |bytes: &[u8]| match crate::store::brief::parse(bytes, with_message) {
            Ok(s) => Some((s, indexable)),
            Err(_) if with_message && !self.last_message => {
                crate::store::brief::parse(bytes, false)
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
                if rest.len() as u64 > MAX_META {
                    return None;
                }
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
            if let Some(brief) = crate::store::brief::excerpt(text, session.turn) {
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
