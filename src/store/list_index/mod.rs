//! The list index (`.zwarm/list-index/`): what `list` read from each
//! finished session's `meta.json`, keyed by the identity of the file it was
//! read from, so that listing thousands of finished sessions asks the file
//! system one question per session (`fstatat`) instead of opening, reading
//! and parsing every file.
//!
//! It must never show stale data. An entry is used only while its
//! `meta.json` has the device, inode, size, modification time and change
//! time it had when it was read. Any write changes a file's change time,
//! which no program can set back, and zwarm's own writes (a rename) also
//! give it a new inode. What remains is a rewrite within the same clock tick
//! as the change the entry saw; it is ruled out by indexing only files last
//! modified and changed at least [`SETTLED`] before they were read, as git
//! does for its own index. Only finished sessions are indexed: a running one's
//! status needs its lock asked each time.
//!
//! The entries are split by the first digit of the id into sixteen files,
//! so that a session finishing among ten thousand rewrites a sixteenth of
//! them. Each file is replaced by a rename and ends with a checksum;
//! anything unexpected in one makes it ignored, never trusted. It is a
//! cache: without it `list` shows the same, only slower, so it is written
//! without `fsync` (a file torn by a crash fails its checksum).

use crate::dir::Dir;
use nix::sys::stat::FileStat;
pub(crate) use shard::Parts;
use shard::Shard;
use std::io::Write;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

mod shard;
/// The little-endian word at the start of `bytes` (which holds at least 8).
fn le_u64(bytes: &[u8]) -> u64 {
    let mut word = [0u8; 8];
    word.copy_from_slice(&bytes[..8]);
    u64::from_le_bytes(word)
}

#[cfg(test)]
mod tests;

/// The index's folder in the state directory.
pub(crate) const DIR_NAME: &str = "list-index";
const SHARDS: usize = 16;
/// The largest index file read or written: far beyond any real one (a file
/// holds a sixteenth of the sessions, at a kilobyte or so each), so that a
/// file put there by anyone else cannot make `list` read gigabytes.
const MAX_FILE: u64 = 256 << 20;
/// How long before it was read a file must have last changed to be indexed:
/// far more than any file system's timestamp tick.
pub(crate) const SETTLED: Duration = Duration::from_secs(2);

/// The file of an id's entry: its first hex digit (ids are hex and dashes).
fn shard_of(id: &[u8]) -> usize {
    id.first()
        .and_then(|&b| char::from(b).to_digit(16))
        .map_or(0, |d| d as usize)
}

fn shard_name(shard: usize) -> String {
    format!("{shard:x}")
}

/// One version of a file, as `stat` tells it apart from every other.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct FileKey {
    dev: u64,
    ino: u64,
    size: i64,
    mtime: (i64, i64),
    ctime: (i64, i64),
}

impl FileKey {
    pub(crate) fn of(st: &FileStat) -> FileKey {
        FileKey {
            dev: st.st_dev,
            ino: st.st_ino,
            size: st.st_size,
            mtime: (st.st_mtime, st.st_mtime_nsec),
            ctime: (st.st_ctime, st.st_ctime_nsec),
        }
    }

    /// True when the file last changed no later than `before`: listing at
    /// `now`, `before` is `now - SETTLED`, so that any later change is bound
    /// to carry other times. Both times count: where the change time is the
    /// creation time (FAT), the modification time is what a write moves.
    pub(crate) fn changed_by(&self, before: SystemTime) -> bool {
        let at = |(secs, nanos): (i64, i64)| {
            let (Ok(secs), Ok(nanos)) = (u64::try_from(secs), u32::try_from(nanos)) else {
                return None;
            };
            Some(UNIX_EPOCH + Duration::new(secs, nanos))
        };
        match (at(self.mtime), at(self.ctime)) {
            (Some(m), Some(c)) => m.max(c) <= before,
            _ => false,
        }
    }

    const LEN: usize = 7 * 8;

    fn encode(&self, out: &mut Vec<u8>) {
        for word in [
            self.dev,
            self.ino,
            self.size as u64,
            self.mtime.0 as u64,
            self.mtime.1 as u64,
            self.ctime.0 as u64,
            self.ctime.1 as u64,
        ] {
            out.extend_from_slice(&word.to_le_bytes());
        }
    }

    fn decode(bytes: &[u8]) -> FileKey {
        let word = |i: usize| le_u64(&bytes[i * 8..]);
        FileKey {
            dev: word(0),
            ino: word(1),
            size: word(2) as i64,
            mtime: (word(3) as i64, word(4) as i64),
            ctime: (word(5) as i64, word(6) as i64),
        }
    }
}

/// A session to index: its id, the key of the `meta.json` it was read from
/// and what was read: the file's own text of what `list` shows, its
/// messages left out ([`crate::store::brief::excerpt`]), and the last
/// agent message apart, which only `list --json` shows and the table need
/// not even skip over.
pub(crate) struct Fresh {
    pub id: String,
    pub key: FileKey,
    pub brief: Vec<u8>,
    pub message: Option<String>,
}

/// How the index served one listing.
#[derive(Default, Debug, PartialEq, Eq)]
pub(crate) struct IndexUse {
    /// Sessions served from their entries.
    pub hits: usize,
    /// Sessions read from their files and indexed.
    pub fresh: usize,
}

/// An entry of a loaded index: its file and its place in it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct EntryRef {
    shard: usize,
    at: usize,
}

/// A loaded index: one shard per file, missing ones empty. Only where each
/// entry lies is held; an entry is read from its file when asked for.
pub(crate) struct Index {
    shards: Vec<Shard>,
}

impl Default for Index {
    fn default() -> Self {
        Index {
            shards: (0..SHARDS).map(|_| Shard::default()).collect(),
        }
    }
}

impl Index {
    /// The index in the state directory `root`; a file that is absent,
    /// unreadable or malformed counts as empty.
    pub(crate) fn load(root: &Path) -> Index {
        // A linked index folder is not the index: its files could say
        // anything about sessions they are not the files of.
        let Ok(dir) = Dir::open_no_link(&root.join(DIR_NAME)) else {
            return Index::default();
        };
        let shards = (0..SHARDS)
            .map(|shard| load_file(&dir, shard).unwrap_or_default())
            .collect();
        Index { shards }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.shards.iter().map(|s| s.entries.len()).sum()
    }

    /// The entry of `id`, read into `buf`.
    pub(crate) fn find<'b>(&self, id: &str, buf: &'b mut Vec<u8>) -> Option<(EntryRef, Parts<'b>)> {
        let id = id.as_bytes();
        let shard = shard_of(id);
        let s = &self.shards[shard];
        let want = shard::prefix(id);
        let first = s.entries.partition_point(|e| e.prefix < want);
        // Ids sharing their first eight bytes are rare: each is read.
        let at = s.entries[first..]
            .iter()
            .take_while(|e| e.prefix == want)
            .position(|e| s.read(e, buf).is_some_and(|p| p.id == id))?;
        let r = EntryRef {
            shard,
            at: first + at,
        };
        // `buf` holds the entry found.
        Some((r, shard::parse(buf)?))
    }

    /// An entry [`Index::find`] found, read again into `buf`; None if its
    /// file no longer reads as it did.
    pub(crate) fn read<'b>(&self, r: EntryRef, buf: &'b mut Vec<u8>) -> Option<Parts<'b>> {
        let s = &self.shards[r.shard];
        s.read(s.entries.get(r.at)?, buf)
    }
}

/// The entries of an index file, if it is one that could be: a regular
/// file no larger than [`MAX_FILE`]. No link is followed (its target could
/// be anything), and opening a fifo does not wait for a writer.
fn load_file(dir: &Dir, shard: usize) -> Option<Shard> {
    let file = dir.read_file(&shard_name(shard)).ok()?;
    let meta = file.metadata().ok()?;
    if meta.len() > MAX_FILE {
        return None;
    }
    Shard::load(file, shard, meta.len())
}

/// Whether this process may write the index in the state directory `root`.
pub(crate) fn writable(root: &Path) -> bool {
    use nix::unistd::{access, AccessFlags};
    let dir = root.join(DIR_NAME);
    match access(&dir, AccessFlags::W_OK) {
        Ok(()) => true,
        Err(nix::errno::Errno::ENOENT) => access(root, AccessFlags::W_OK).is_ok(),
        Err(_) => false,
    }
}

/// Rewrites the files of the index whose entries change: those with a
/// `fresh` entry, and those of `old` holding an entry not in `kept` (the
/// entries that served; the others are gone or stale). An id in both keeps
/// the fresh entry. Files with no change are left alone.
pub(crate) fn update(
    root: &Path,
    old: &Index,
    kept: &[EntryRef],
    fresh: &[Fresh],
) -> std::io::Result<()> {
    let mut kept_by: Vec<Vec<usize>> = vec![Vec::new(); SHARDS];
    for r in kept {
        kept_by[r.shard].push(r.at);
    }
    let mut fresh_by: Vec<Vec<&Fresh>> = vec![Vec::new(); SHARDS];
    for f in fresh {
        fresh_by[shard_of(f.id.as_bytes())].push(f);
    }
    let mut dir = None;
    for shard in 0..SHARDS {
        let old_shard = &old.shards[shard];
        if fresh_by[shard].is_empty() && kept_by[shard].len() == old_shard.entries.len() {
            continue;
        }
        let dir = match &dir {
            Some(d) => d,
            None => dir.insert(private_dir(root)?),
        };
        let bytes = old_shard.encode(shard, &kept_by[shard], &fresh_by[shard]);
        if bytes.len() as u64 > MAX_FILE {
            // Not written, as it would not be read: its sessions are read
            // from their files instead.
            let _ = dir.remove_file(&shard_name(shard));
            continue;
        }
        replace(dir, &shard_name(shard), &bytes)?;
    }
    Ok(())
}

/// Makes the index's folder, or narrows one an older zwarm made, so that
/// only its owner can reach the entries: they hold tasks and last messages,
/// and serving one needs no permission to read the session's `meta.json`.
/// A link at its name is refused, never followed.
fn private_dir(root: &Path) -> std::io::Result<Dir> {
    let dir = Dir::open(root)?.make_sub(DIR_NAME, 0o700)?;
    let st = nix::sys::stat::fstat(dir.raw_fd())?;
    if st.st_mode & 0o077 != 0 {
        // Only its owner may change it; for anyone else the files
        // themselves are private.
        let _ = nix::sys::stat::fchmod(
            dir.raw_fd(),
            nix::sys::stat::Mode::from_bits_truncate(0o700),
        );
    }
    Ok(dir)
}

/// Writes `name` in `dir` through a temporary file and a rename: a reader
/// sees the old file or the new one.
fn replace(dir: &Dir, name: &str, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = format!(".{name}.{}.tmp", std::process::id());
    // Private like the folder, which an older zwarm may have left open.
    let written = dir
        .create_temp(&tmp, 0o600)
        .and_then(|mut f| f.write_all(bytes))
        .and_then(|()| dir.rename(&tmp, dir, name));
    if written.is_err() {
        let _ = dir.remove_file(&tmp);
    }
    written
}
