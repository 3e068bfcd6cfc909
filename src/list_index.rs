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
//! as the change the entry saw; it is ruled out by indexing only files whose
//! last change was at least [`SETTLED`] before they were read, as git does
//! for its own index. Only finished sessions are indexed: a running one's
//! status needs its lock asked each time.
//!
//! The entries are split by the first digit of the id into sixteen files,
//! so that a session finishing among ten thousand rewrites a sixteenth of
//! them. Each file is replaced by a rename and ends with a checksum;
//! anything unexpected in one makes it ignored, never trusted. It is a
//! cache: without it `list` shows the same, only slower, so it is written
//! without `fsync` (a file torn by a crash fails its checksum).

use nix::sys::stat::FileStat;
use std::io::Write;
use std::ops::Range;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The index's folder in the state directory.
pub const DIR_NAME: &str = "list-index";
const SHARDS: usize = 16;
const MAGIC: &[u8; 17] = b"zwarm list index\n";
/// Bumped whenever what an entry holds changes meaning; the version of zwarm
/// that wrote the file must match as well.
const FORMAT: u32 = 1;
/// How long before it was read a file must have last changed to be indexed:
/// far more than any file system's timestamp tick.
pub const SETTLED: Duration = Duration::from_secs(2);

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
pub struct FileKey {
    dev: u64,
    ino: u64,
    size: i64,
    mtime: (i64, i64),
    ctime: (i64, i64),
}

impl FileKey {
    pub fn of(st: &FileStat) -> FileKey {
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
    /// to carry another change time.
    pub fn changed_by(&self, before: SystemTime) -> bool {
        let (Ok(secs), Ok(nanos)) = (u64::try_from(self.ctime.0), u32::try_from(self.ctime.1))
        else {
            return false;
        };
        UNIX_EPOCH + Duration::new(secs, nanos) <= before
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
        let word = |i: usize| u64::from_le_bytes(bytes[i * 8..i * 8 + 8].try_into().unwrap());
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
/// and what was read: a `meta.json` holding only what `list` shows, its
/// messages left out, and the last agent message apart, which only
/// `list --json` shows and the table need not even skip over.
pub struct Fresh {
    pub id: String,
    pub key: FileKey,
    pub brief: Vec<u8>,
    pub message: Option<String>,
}

/// How the index served one listing.
#[derive(Default, Debug, PartialEq, Eq)]
pub struct IndexUse {
    /// Sessions served from their entries.
    pub hits: usize,
    /// Sessions read from their files and indexed.
    pub fresh: usize,
}

/// An entry of a loaded index: its file and its place in it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EntryRef {
    shard: usize,
    at: usize,
}

/// A loaded index: one [`Shard`] per file, missing ones empty.
pub struct Index {
    shards: Vec<Shard>,
}

impl Default for Index {
    fn default() -> Self {
        Index {
            shards: (0..SHARDS).map(|_| Shard::default()).collect(),
        }
    }
}

/// One file's entries, sorted by id and pointing into its bytes.
#[derive(Default)]
struct Shard {
    bytes: Vec<u8>,
    entries: Vec<Entry>,
}

struct Entry {
    /// The id's first eight bytes as a number, which orders entries as the
    /// id does and is compared far faster.
    prefix: u64,
    id: Range<usize>,
    key: FileKey,
    brief: Range<usize>,
    message: Option<Range<usize>>,
}

/// An entry's parts, wherever they are held.
struct Parts<'a> {
    id: &'a [u8],
    key: FileKey,
    brief: &'a [u8],
    message: Option<&'a [u8]>,
}

impl Shard {
    fn parts(&self, e: &Entry) -> Parts<'_> {
        Parts {
            id: &self.bytes[e.id.clone()],
            key: e.key,
            brief: &self.bytes[e.brief.clone()],
            message: e.message.clone().map(|m| &self.bytes[m]),
        }
    }
}

impl<'a> From<&'a Fresh> for Parts<'a> {
    fn from(f: &'a Fresh) -> Self {
        Parts {
            id: f.id.as_bytes(),
            key: f.key,
            brief: &f.brief,
            message: f.message.as_ref().map(|m| m.as_bytes()),
        }
    }
}

/// Big-endian, zero-padded: numbers in the order of the ids.
fn prefix(id: &[u8]) -> u64 {
    let mut word = [0u8; 8];
    let n = id.len().min(8);
    word[..n].copy_from_slice(&id[..n]);
    u64::from_be_bytes(word)
}

/// The length written for an absent message.
const NO_MESSAGE: u32 = u32::MAX;

impl Index {
    /// The index in the state directory `root`; a file that is absent,
    /// unreadable or malformed counts as empty.
    pub fn load(root: &Path) -> Index {
        let dir = root.join(DIR_NAME);
        let shards = (0..SHARDS)
            .map(|shard| {
                std::fs::read(dir.join(shard_name(shard)))
                    .ok()
                    .and_then(|bytes| Shard::decode(bytes, shard))
                    .unwrap_or_default()
            })
            .collect();
        Index { shards }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.shards.iter().map(|s| s.entries.len()).sum()
    }

    /// The entry of `id`.
    pub fn find(&self, id: &str) -> Option<EntryRef> {
        let id = id.as_bytes();
        let shard = shard_of(id);
        let s = &self.shards[shard];
        let want = prefix(id);
        let first = s.entries.partition_point(|e| e.prefix < want);
        let at = s.entries[first..]
            .iter()
            .take_while(|e| e.prefix == want)
            .position(|e| &s.bytes[e.id.clone()] == id)?;
        Some(EntryRef {
            shard,
            at: first + at,
        })
    }

    fn entry(&self, r: EntryRef) -> &Entry {
        &self.shards[r.shard].entries[r.at]
    }

    pub fn key(&self, r: EntryRef) -> FileKey {
        self.entry(r).key
    }

    /// What was read of the session: `meta.json` bytes for
    /// [`crate::session::brief::parse`].
    pub fn brief(&self, r: EntryRef) -> &[u8] {
        &self.shards[r.shard].bytes[self.entry(r).brief.clone()]
    }

    /// The last agent message, if the session has one.
    pub fn message(&self, r: EntryRef) -> Option<&[u8]> {
        let range = self.entry(r).message.clone()?;
        Some(&self.shards[r.shard].bytes[range])
    }
}

impl Shard {
    fn decode(bytes: Vec<u8>, shard: usize) -> Option<Shard> {
        let body_len = bytes.len().checked_sub(8)?;
        let (body, sum) = bytes.split_at(body_len);
        if checksum(body).to_le_bytes() != sum {
            return None;
        }
        let mut r = Reader { bytes: body, at: 0 };
        if r.take(MAGIC.len())? != MAGIC || r.u32()? != FORMAT {
            return None;
        }
        let version_len = r.u32()? as usize;
        if r.take(version_len)? != env!("CARGO_PKG_VERSION").as_bytes()
            || r.u32()? as usize != shard
        {
            return None;
        }
        let count = r.u32()? as usize;
        // Each entry takes more than 64 bytes: a count the file cannot hold
        // is no reason to reserve memory for it.
        let mut entries: Vec<Entry> = Vec::with_capacity(count.min(body.len() / 64));
        for _ in 0..count {
            let id_len = r.u32()? as usize;
            let id = r.range(id_len)?;
            let key = FileKey::decode(r.take(FileKey::LEN)?);
            let brief_len = r.u32()? as usize;
            let brief = r.range(brief_len)?;
            let message = match r.u32()? {
                NO_MESSAGE => None,
                len => Some(r.range(len as usize)?),
            };
            let id_bytes = &body[id.clone()];
            let valid = std::str::from_utf8(id_bytes).is_ok_and(crate::store::is_valid_id);
            // Strictly increasing ids: sorted for the search, no duplicates.
            let in_order = entries
                .last()
                .is_none_or(|last| &body[last.id.clone()] < id_bytes);
            if !valid || !in_order || shard_of(id_bytes) != shard {
                return None;
            }
            entries.push(Entry {
                prefix: prefix(id_bytes),
                id,
                key,
                brief,
                message,
            });
        }
        if r.at != body.len() {
            return None;
        }
        Some(Shard { bytes, entries })
    }
}

/// Reads the fields of a file in order, refusing to run past its end.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn range(&mut self, len: usize) -> Option<Range<usize>> {
        let end = self.at.checked_add(len)?;
        if end > self.bytes.len() {
            return None;
        }
        let range = self.at..end;
        self.at = end;
        Some(range)
    }

    fn take(&mut self, len: usize) -> Option<&'a [u8]> {
        let range = self.range(len)?;
        Some(&self.bytes[range])
    }

    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().unwrap()))
    }
}

/// A checksum that catches a torn or mixed file: four independent lanes of
/// multiply-rotate over 8-byte words, fast enough to check on every read.
fn checksum(bytes: &[u8]) -> u64 {
    const K: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut lanes = [1u64, 2, 3, 4];
    let mut blocks = bytes.chunks_exact(32);
    for block in &mut blocks {
        for (i, lane) in lanes.iter_mut().enumerate() {
            let word = u64::from_le_bytes(block[i * 8..i * 8 + 8].try_into().unwrap());
            *lane = (*lane ^ word).wrapping_mul(K).rotate_left(29);
        }
    }
    let mut h = bytes.len() as u64;
    for lane in lanes {
        h = (h ^ lane).wrapping_mul(K).rotate_left(31);
    }
    for &b in blocks.remainder() {
        h = (h ^ u64::from(b)).wrapping_mul(K).rotate_left(31);
    }
    h ^ (h >> 32)
}

/// Whether this process may write the index in the state directory `root`.
pub fn writable(root: &Path) -> bool {
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
pub fn update(root: &Path, old: &Index, kept: &[EntryRef], fresh: &[Fresh]) -> std::io::Result<()> {
    let mut kept_by: Vec<Vec<usize>> = vec![Vec::new(); SHARDS];
    for r in kept {
        kept_by[r.shard].push(r.at);
    }
    let mut fresh_by: Vec<Vec<&Fresh>> = vec![Vec::new(); SHARDS];
    for f in fresh {
        fresh_by[shard_of(f.id.as_bytes())].push(f);
    }
    let dir = root.join(DIR_NAME);
    let mut made_dir = false;
    for shard in 0..SHARDS {
        let old_shard = &old.shards[shard];
        if fresh_by[shard].is_empty() && kept_by[shard].len() == old_shard.entries.len() {
            continue;
        }
        if !made_dir {
            std::fs::create_dir_all(&dir)?;
            made_dir = true;
        }
        let bytes = encode(shard, old_shard, &kept_by[shard], &fresh_by[shard]);
        replace(&dir, &shard_name(shard), &bytes)?;
    }
    Ok(())
}

/// Writes `dir/name` through a temporary file and a rename: a reader sees
/// the old file or the new one.
fn replace(dir: &Path, name: &str, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let written = std::fs::File::create(&tmp)
        .and_then(|mut f| f.write_all(bytes))
        .and_then(|()| std::fs::rename(&tmp, dir.join(name)));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

fn encode(shard: usize, old: &Shard, kept: &[usize], fresh: &[&Fresh]) -> Vec<u8> {
    let mut all: Vec<Parts> = kept
        .iter()
        .map(|&i| old.parts(&old.entries[i]))
        .chain(fresh.iter().map(|&f| Parts::from(f)))
        .collect();
    // Lengths are written in 32 bits; a session whose parts do not fit (4 GiB
    // of text) is left to be read from its file.
    all.retain(|e| {
        e.brief.len() < NO_MESSAGE as usize && e.message.is_none_or(|m| m.len() < NO_MESSAGE as usize)
    });
    // Stable: of two entries for one id, the fresh one comes last and wins.
    all.sort_by(|a, b| a.id.cmp(b.id));
    let mut unique: Vec<Parts> = Vec::with_capacity(all.len());
    for entry in all {
        match unique.last_mut() {
            Some(last) if last.id == entry.id => *last = entry,
            _ => unique.push(entry),
        }
    }
    let size: usize = unique
        .iter()
        .map(|e| 12 + e.id.len() + FileKey::LEN + e.brief.len() + e.message.map_or(0, <[u8]>::len))
        .sum();
    let mut out = Vec::with_capacity(64 + size);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&FORMAT.to_le_bytes());
    let version = env!("CARGO_PKG_VERSION").as_bytes();
    out.extend_from_slice(&(version.len() as u32).to_le_bytes());
    out.extend_from_slice(version);
    out.extend_from_slice(&(shard as u32).to_le_bytes());
    out.extend_from_slice(&(unique.len() as u32).to_le_bytes());
    for e in unique {
        out.extend_from_slice(&(e.id.len() as u32).to_le_bytes());
        out.extend_from_slice(e.id);
        e.key.encode(&mut out);
        out.extend_from_slice(&(e.brief.len() as u32).to_le_bytes());
        out.extend_from_slice(e.brief);
        match e.message {
            Some(m) => {
                out.extend_from_slice(&(m.len() as u32).to_le_bytes());
                out.extend_from_slice(m);
            }
            None => out.extend_from_slice(&NO_MESSAGE.to_le_bytes()),
        }
    }
    let sum = checksum(&out);
    out.extend_from_slice(&sum.to_le_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: u64) -> FileKey {
        FileKey {
            dev: 1,
            ino: n,
            size: 100 + n as i64,
            mtime: (1_700_000_000, 5),
            ctime: (1_700_000_000, n as i64),
        }
    }

    fn fresh(id: &str, n: u64) -> Fresh {
        Fresh {
            id: id.into(),
            key: key(n),
            brief: format!("{{\"id\":\"{id}\"}}").into_bytes(),
            message: (n % 2 == 0).then(|| format!("message {n}")),
        }
    }

    /// The identity of each index file that exists.
    fn files(root: &Path) -> Vec<(String, u64, i64, i64)> {
        let mut out: Vec<_> = std::fs::read_dir(root.join(DIR_NAME))
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                let st = nix::sys::stat::stat(&e.path()).unwrap();
                let name = e.file_name().into_string().unwrap();
                (name, st.st_ino, st.st_mtime, st.st_mtime_nsec)
            })
            .collect();
        out.sort();
        out
    }

    #[test]
    fn entries_come_back_findable_from_their_files() {
        let dir = tempfile::tempdir().unwrap();
        let all = [fresh("ab12", 2), fresh("a0", 1), fresh("b5", 3), fresh("0f", 4)];
        update(dir.path(), &Index::default(), &[], &all).unwrap();
        let names: Vec<String> = files(dir.path()).into_iter().map(|f| f.0).collect();
        assert_eq!(names, ["0", "a", "b"]);
        let index = Index::load(dir.path());
        assert_eq!(index.len(), 4);
        for f in &all {
            let r = index.find(&f.id).unwrap();
            assert_eq!(index.key(r), f.key);
            assert_eq!(index.brief(r), f.brief.as_slice());
        }
        assert!(index.find("ab").is_none());
        assert!(index.find("ab123").is_none());
        assert!(index.find("c").is_none());
    }

    #[test]
    fn ids_sharing_their_first_eight_bytes_are_told_apart() {
        let dir = tempfile::tempdir().unwrap();
        let ids = ["aaaaaaaa", "aaaaaaaa0", "aaaaaaaa00", "aaaaaaaa1", "aaaaaaa", "aaaaaaab", "a"];
        let all: Vec<Fresh> = ids.iter().zip(1..).map(|(id, n)| fresh(id, n)).collect();
        update(dir.path(), &Index::default(), &[], &all).unwrap();
        let index = Index::load(dir.path());
        for f in &all {
            let r = index.find(&f.id).unwrap();
            assert_eq!(index.key(r), f.key, "{}", f.id);
            assert_eq!(index.message(r), f.message.as_ref().map(|m| m.as_bytes()));
        }
        for absent in ["aaaaaaaa2", "aaaaaaaa000", "aa", "aaaaaaac", "b"] {
            assert!(index.find(absent).is_none(), "{absent}");
        }
    }

    #[test]
    fn only_the_files_whose_entries_change_are_rewritten() {
        let dir = tempfile::tempdir().unwrap();
        let all = [fresh("a1", 1), fresh("a2", 2), fresh("b1", 3), fresh("c1", 4)];
        update(dir.path(), &Index::default(), &[], &all).unwrap();
        let before = files(dir.path());
        let old = Index::load(dir.path());
        let refs = |ids: &[&str]| -> Vec<EntryRef> {
            ids.iter().map(|id| old.find(id).unwrap()).collect()
        };
        // Nothing new and nothing gone: nothing written.
        update(dir.path(), &old, &refs(&["a1", "a2", "b1", "c1"]), &[]).unwrap();
        assert_eq!(files(dir.path()), before);
        // a2 replaced, c1 gone, b untouched.
        let mut newer = fresh("a2", 9);
        newer.brief = b"new".to_vec();
        update(dir.path(), &old, &refs(&["a1", "a2", "b1"]), &[newer]).unwrap();
        let after = files(dir.path());
        assert_eq!(after[1], before[1], "b was rewritten");
        assert_ne!(after[0], before[0]);
        assert_ne!(after[2], before[2]);
        let index = Index::load(dir.path());
        assert_eq!(index.len(), 3);
        assert!(index.find("c1").is_none());
        let a2 = index.find("a2").unwrap();
        assert_eq!((index.brief(a2), index.key(a2)), (&b"new"[..], key(9)));
        assert_eq!(index.key(index.find("a1").unwrap()), key(1));
    }

    /// A file's bytes with its checksum, for content the writer never makes.
    fn sealed(mut body: Vec<u8>) -> Vec<u8> {
        let sum = checksum(&body);
        body.extend_from_slice(&sum.to_le_bytes());
        body
    }

    fn body(shard: usize, entries: &[&Fresh]) -> Vec<u8> {
        let mut bytes = encode(shard, &Shard::default(), &[], entries);
        bytes.truncate(bytes.len() - 8);
        bytes
    }

    #[test]
    fn anything_malformed_is_refused() {
        let (a1, a2) = (fresh("a1", 1), fresh("a2", 2));
        let good = encode(10, &Shard::default(), &[], &[&a1, &a2]);
        assert_eq!(Shard::decode(good.clone(), 10).unwrap().entries.len(), 2);
        assert!(Shard::decode(good.clone(), 11).is_none(), "another file's");
        // Every truncation, anything after the end, any byte changed.
        for n in 0..good.len() {
            assert!(Shard::decode(good[..n].to_vec(), 10).is_none(), "cut at {n}");
            let mut flipped = good.clone();
            flipped[n] ^= 0x10;
            assert!(Shard::decode(flipped, 10).is_none(), "byte {n} changed");
        }
        let mut longer = good.clone();
        longer.push(0);
        assert!(Shard::decode(longer, 10).is_none());
        // With a valid checksum: another format or zwarm version, ids out
        // of order, twice, not ids, or of another file.
        let good_body = body(10, &[&a1, &a2]);
        assert!(Shard::decode(sealed(good_body.clone()), 10).is_some());
        let mut other_format = good_body.clone();
        other_format[MAGIC.len()] ^= 1;
        assert!(Shard::decode(sealed(other_format), 10).is_none());
        let mut other_version = good_body.clone();
        other_version[MAGIC.len() + 8] ^= 1;
        assert!(Shard::decode(sealed(other_version), 10).is_none());
        let first_id = |to: &[u8]| {
            let at = good_body.windows(2).position(|w| w == b"a1").unwrap();
            let mut bytes = good_body.clone();
            bytes[at..at + 2].copy_from_slice(to);
            sealed(bytes)
        };
        assert!(Shard::decode(first_id(b"a0"), 10).is_some());
        assert!(Shard::decode(first_id(b"a3"), 10).is_none(), "out of order");
        assert!(Shard::decode(first_id(b"a2"), 10).is_none(), "one id twice");
        assert!(Shard::decode(first_id(b"a/"), 10).is_none(), "not an id");
        assert!(Shard::decode(first_id(b"01"), 10).is_none(), "of file 0");
        // A count far beyond what the file holds.
        let mut huge = body(10, &[]);
        let n = huge.len();
        huge[n - 4..].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(Shard::decode(sealed(huge), 10).is_none());
    }

    #[test]
    fn a_file_changed_after_the_cut_off_is_not_settled() {
        let k = key(1);
        let changed = UNIX_EPOCH + Duration::new(1_700_000_000, 1);
        assert!(k.changed_by(changed));
        assert!(!k.changed_by(changed - Duration::from_nanos(1)));
        let before_epoch = FileKey {
            ctime: (-5, 0),
            ..k
        };
        assert!(!before_epoch.changed_by(SystemTime::now()));
    }
}

/// The index as `list` uses it: never a different answer, only a faster one.
#[cfg(test)]
mod through_the_store {
    use super::*;
    use crate::render::json::SessionJson;
    use crate::session::model::{Message, Session, SessionStatus, TurnRecord, Usage};
    use crate::store::Store;
    use crate::timefmt::Timestamp;
    use std::fs;

    const LEGACY: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/legacy-2.3.5/.zwarm/sessions"
    );

    fn session(id: &str, status: SessionStatus) -> Session {
        let mut s: Session = serde_json::from_value(serde_json::json!({
            "id": id, "task": format!("task of {id}"), "status": status.as_str(),
            "working_dir": "/w", "created_at": "2026-11-23T19:30:21.123456",
            "updated_at": "2026-11-23T19:31:00", "model": "m", "turn": 2,
        }))
        .unwrap();
        s.messages = vec![
            Message::new("user", "do it", 1),
            Message::new("assistant", format!("done {id}"), 1),
            Message::new("user", "more", 2),
        ];
        s.token_usage = Usage {
            input_tokens: 10,
            output_tokens: 4,
            total_tokens: 14,
            ..Usage::default()
        };
        s.turns = vec![TurnRecord {
            turn: 2,
            started_at: Some(Timestamp::now()),
            ..TurnRecord::default()
        }];
        s
    }

    /// A store with zwarm 2.3.5's sessions, finished ones of ours and a
    /// running one, every file changed at least `margin` ago.
    fn store(margin: Duration) -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path().join(".zwarm"));
        let sessions = store.sessions_dir();
        for entry in fs::read_dir(LEGACY).unwrap() {
            let entry = entry.unwrap();
            let to = sessions.join(entry.file_name());
            fs::create_dir_all(&to).unwrap();
            fs::copy(entry.path().join("meta.json"), to.join("meta.json")).unwrap();
        }
        for (i, status) in [
            SessionStatus::Completed,
            SessionStatus::Failed,
            SessionStatus::Killed,
            SessionStatus::Running,
        ]
        .into_iter()
        .enumerate()
        {
            store.create(&session(&format!("abc{i}"), status)).unwrap();
        }
        std::thread::sleep(margin + Duration::from_millis(5));
        (dir, store)
    }

    /// Each session as `list --json` shows it, by id.
    fn shown(sessions: &[Session]) -> Vec<String> {
        let mut out: Vec<String> = sessions
            .iter()
            .map(|s| serde_json::to_string(&SessionJson::from(s)).unwrap())
            .collect();
        out.sort();
        out
    }

    fn list(store: &Store, last_message: bool, margin: Duration) -> (Vec<String>, IndexUse) {
        let settled = SystemTime::now() - margin;
        let (ok, bad, used) = store
            .load_all_brief_settled(last_message, settled)
            .unwrap();
        assert!(bad.is_empty(), "{bad:?}");
        (shown(&ok), used)
    }

    /// What the sessions' files say, read without the index.
    fn truth(store: &Store, last_message: bool) -> Vec<String> {
        let (all, bad) = store.load_all().unwrap();
        assert!(bad.is_empty());
        let mut all: Vec<Session> = all;
        if !last_message {
            all.iter_mut().for_each(|s| s.messages.clear());
        }
        shown(&all)
    }

    /// The identity of each index file.
    fn index_files(store: &Store) -> Vec<(u64, i64, i64)> {
        let mut out: Vec<_> = fs::read_dir(store.root().join(DIR_NAME))
            .unwrap()
            .map(|e| {
                let st = nix::sys::stat::stat(&e.unwrap().path()).unwrap();
                (st.st_ino, st.st_mtime, st.st_mtime_nsec)
            })
            .collect();
        out.sort();
        out
    }

    const MARGIN: Duration = Duration::from_millis(60);

    #[test]
    fn serves_finished_sessions_with_what_their_files_say() {
        let (_dir, store) = store(MARGIN);
        let (all, _) = store.load_all().unwrap();
        let finished = all.iter().filter(|s| !s.status.is_active()).count();
        assert!(finished >= 3 && finished < all.len());
        for last_message in [false, true] {
            let (first, used) = list(&store, last_message, MARGIN);
            assert_eq!(first, truth(&store, last_message));
            if !last_message {
                assert_eq!((used.hits, used.fresh), (0, finished));
            }
            let written = index_files(&store);
            let (second, used) = list(&store, last_message, MARGIN);
            assert_eq!(second, first);
            assert_eq!(used, IndexUse { hits: finished, fresh: 0 });
            assert_eq!(index_files(&store), written, "rewritten with nothing new");
        }
    }

    #[test]
    fn files_changed_since_the_cut_off_are_read_not_indexed() {
        let (_dir, store) = store(Duration::ZERO);
        let (first, used) = list(&store, false, Duration::from_secs(3600));
        assert_eq!(used, IndexUse::default());
        assert_eq!(first, truth(&store, false));
        assert!(!store.root().join(DIR_NAME).exists());
    }

    #[test]
    fn an_in_place_rewrite_of_the_same_size_and_time_is_seen() {
        let (_dir, store) = store(MARGIN);
        list(&store, false, MARGIN);
        // The way zwarm 2.3.5 writes (truncate, write), one letter changed,
        // the modification time put back: only the change time tells.
        let path = store.meta_path("abc0");
        let before = nix::sys::stat::stat(&path).unwrap();
        let text = fs::read_to_string(&path).unwrap();
        fs::write(&path, text.replace("task of abc0", "task of abcX")).unwrap();
        let (atime, mtime) = (
            nix::sys::time::TimeSpec::new(before.st_atime, before.st_atime_nsec),
            nix::sys::time::TimeSpec::new(before.st_mtime, before.st_mtime_nsec),
        );
        nix::sys::stat::utimensat(
            None,
            &path,
            &atime,
            &mtime,
            nix::sys::stat::UtimensatFlags::FollowSymlink,
        )
        .unwrap();
        let after = nix::sys::stat::stat(&path).unwrap();
        assert_eq!((after.st_size, after.st_mtime_nsec), (before.st_size, before.st_mtime_nsec));
        for last_message in [false, true] {
            let (shown, used) = list(&store, last_message, Duration::ZERO);
            assert_eq!(shown, truth(&store, last_message));
            assert!(shown.iter().any(|s| s.contains("task of abcX")));
            assert!(used.hits > 0);
        }
    }

    #[test]
    fn a_session_changed_or_removed_is_not_served_from_the_index() {
        let (_dir, store) = store(MARGIN);
        list(&store, true, MARGIN);
        // Resumed: running again, through zwarm's own atomic write.
        store
            .update("abc1", |s| {
                s.status = SessionStatus::Running;
                Ok(())
            })
            .unwrap();
        store.remove("abc2").unwrap();
        let (shown, _) = list(&store, true, Duration::ZERO);
        assert_eq!(shown, truth(&store, true));
        let index = Index::load(store.root());
        assert!(index.find("abc0").is_some());
        assert!(index.find("abc1").is_none(), "a running session was kept");
        assert!(index.find("abc2").is_none(), "a removed session was kept");
    }

    #[test]
    fn a_damaged_index_is_ignored_and_replaced() {
        let (_dir, store) = store(MARGIN);
        list(&store, false, MARGIN);
        for file in fs::read_dir(store.root().join(DIR_NAME)).unwrap() {
            let path = file.unwrap().path();
            let mut bytes = fs::read(&path).unwrap();
            bytes.truncate(bytes.len() / 2);
            fs::write(&path, &bytes).unwrap();
        }
        let (shown, used) = list(&store, false, MARGIN);
        assert_eq!(shown, truth(&store, false));
        assert_eq!(used.hits, 0);
        assert_eq!(Index::load(store.root()).len(), used.fresh);
        // An entry that does not parse is read from the file instead.
        let abc0 = Fresh {
            id: "abc0".into(),
            key: FileKey::of(&nix::sys::stat::stat(&store.meta_path("abc0")).unwrap()),
            brief: b"{not json".to_vec(),
            message: None,
        };
        let index = Index::load(store.root());
        let everything_else: Vec<EntryRef> = ["abc1", "abc2"]
            .iter()
            .map(|id| index.find(id).unwrap())
            .collect();
        update(store.root(), &index, &everything_else, &[abc0]).unwrap();
        let (shown, used) = list(&store, true, MARGIN);
        assert_eq!(shown, truth(&store, true));
        assert!(used.fresh >= 1);
        let index = Index::load(store.root());
        let abc0 = index.find("abc0").unwrap();
        assert!(crate::session::brief::parse(index.brief(abc0), true).is_ok());
    }
}
