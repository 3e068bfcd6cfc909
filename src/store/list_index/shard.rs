//! One file of the list index: its format, read and written whole.
//!
//! ```text
//! "zwarm list index\n"  format (u32)  zwarm version (u32 length, bytes)
//! shard (u32)  count (u32)
//! count × { id (u32 length, bytes)  key (7 × u64)
//!           brief (u32 length, bytes)  message (u32 length or u32::MAX, bytes) }
//! checksum (u64) of everything before it
//! ```
//! Numbers are little-endian; entries are sorted by id.

use super::{shard_of, FileKey, Fresh};
use std::fs::File;
use std::io::Read;
use std::ops::Range;

const MAGIC: &[u8; 17] = b"zwarm list index\n";
/// Bumped whenever what an entry holds changes meaning; the version of zwarm
/// that wrote the file must match as well.
const FORMAT: u32 = 3;

/// One file's entries, sorted by id, and the file they are read from when
/// asked for: listing 100,000 sessions holds 16 bytes of each entry, not
/// the hundred megabytes of the files.
#[derive(Default)]
pub(super) struct Shard {
    /// The file the entries were checked in, kept open: zwarm replaces an
    /// index file by a rename and never writes one in place, so what is
    /// read from it later is what was checked.
    file: Option<File>,
    pub(super) entries: Vec<Entry>,
}

/// Where an entry lies in its file, and its id's first bytes to search by.
pub(super) struct Entry {
    /// The id's first eight bytes as a number, which orders entries as the
    /// id does and is compared far faster.
    pub(super) prefix: u64,
    at: u32,
    len: u32,
}

/// An entry's parts, wherever they are held.
pub(crate) struct Parts<'a> {
    pub(crate) id: &'a [u8],
    pub(crate) key: FileKey,
    /// What was read of the session: `meta.json` bytes for
    /// [`crate::store::brief::parse`].
    pub(crate) brief: &'a [u8],
    /// The last agent message, if the session has one.
    pub(crate) message: Option<&'a [u8]>,
}

impl Shard {
    /// The file's entries, checked whole (a file that is not one zwarm
    /// wrote, whole, is none); only where each lies is kept.
    pub(super) fn load(mut file: File, shard: usize, len: u64) -> Option<Shard> {
        let mut bytes = Vec::with_capacity(len as usize);
        // Bounded all the same: the file may grow while it is read.
        (&mut file)
            .take(super::MAX_FILE + 1)
            .read_to_end(&mut bytes)
            .ok()?;
        if bytes.len() as u64 > super::MAX_FILE {
            return None;
        }
        let entries = Shard::entries(&bytes, shard)?;
        Some(Shard {
            file: Some(file),
            entries,
        })
    }

    /// The parts of an entry, read from the file into `buf`; None if the
    /// file no longer reads as it did.
    pub(super) fn read<'b>(&self, e: &Entry, buf: &'b mut Vec<u8>) -> Option<Parts<'b>> {
        use std::os::unix::fs::FileExt;
        let file = self.file.as_ref()?;
        buf.resize(e.len as usize, 0);
        file.read_exact_at(buf, u64::from(e.at)).ok()?;
        parse(buf)
    }

    /// The whole file again, checked as when it was loaded: its entries'
    /// bytes, for a rewrite that keeps some of them.
    fn reread(&self, shard: usize) -> Option<Vec<u8>> {
        use std::os::unix::fs::FileExt;
        let file = self.file.as_ref()?;
        let len = file.metadata().ok()?.len();
        if len > super::MAX_FILE {
            return None;
        }
        let mut bytes = vec![0; len as usize];
        file.read_exact_at(&mut bytes, 0).ok()?;
        let entries = Shard::entries(&bytes, shard)?;
        let same = entries.len() == self.entries.len()
            && entries
                .iter()
                .zip(&self.entries)
                .all(|(a, b)| (a.at, a.len) == (b.at, b.len));
        same.then_some(bytes)
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

/// An entry read whole into `bytes`, as [`Shard::read`] leaves it.
pub(super) fn parse(bytes: &[u8]) -> Option<Parts<'_>> {
    let mut r = Reader { bytes, at: 0 };
    let parts = r.entry()?;
    (r.at == bytes.len()).then_some(parts)
}

/// Big-endian, zero-padded: numbers in the order of the ids.
pub(super) fn prefix(id: &[u8]) -> u64 {
    let mut word = [0u8; 8];
    let n = id.len().min(8);
    word[..n].copy_from_slice(&id[..n]);
    u64::from_be_bytes(word)
}

/// The length written for an absent message.
const NO_MESSAGE: u32 = u32::MAX;

impl Shard {
    /// Where each entry of a whole file lies, if the file is one zwarm
    /// wrote, whole.
    pub(super) fn entries(bytes: &[u8], shard: usize) -> Option<Vec<Entry>> {
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
        let mut last: &[u8] = &[];
        for n in 0..count {
            let at = u32::try_from(r.at).ok()?;
            let id = r.entry()?.id;
            let len = u32::try_from(r.at).ok()? - at;
            let valid = std::str::from_utf8(id).is_ok_and(crate::model::SessionId::is_valid);
            // Strictly increasing ids: sorted for the search, no duplicates.
            let in_order = n == 0 || last < id;
            if !valid || !in_order || shard_of(id) != shard {
                return None;
            }
            last = id;
            entries.push(Entry {
                prefix: prefix(id),
                at,
                len,
            });
        }
        if r.at != body.len() {
            return None;
        }
        Some(entries)
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
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }

    /// The entry starting here.
    fn entry(&mut self) -> Option<Parts<'a>> {
        let id_len = self.u32()? as usize;
        let id = self.take(id_len)?;
        let key = FileKey::decode(self.take(FileKey::LEN)?);
        let brief_len = self.u32()? as usize;
        let brief = self.take(brief_len)?;
        let message = match self.u32()? {
            NO_MESSAGE => None,
            len => Some(self.take(len as usize)?),
        };
        Some(Parts {
            id,
            key,
            brief,
            message,
        })
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
            let word = super::le_u64(&block[i * 8..]);
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

impl Shard {
    /// The bytes of this file with the entries numbered in `kept` and the
    /// `fresh` ones; an id in both keeps the fresh entry.
    /// The kept entries are read from the file again; if it no longer reads
    /// as it did, none is kept (their sessions are read from their files).
    pub(super) fn encode(&self, shard: usize, kept: &[usize], fresh: &[&Fresh]) -> Vec<u8> {
        let old = if kept.is_empty() {
            None
        } else {
            self.reread(shard)
        };
        let kept_parts = old.as_deref().into_iter().flat_map(|bytes| {
            kept.iter().filter_map(move |&i| {
                let e = self.entries.get(i)?;
                let mut r = Reader {
                    bytes,
                    at: e.at as usize,
                };
                r.entry()
            })
        });
        let mut all: Vec<Parts> = kept_parts
            .chain(fresh.iter().map(|&f| Parts::from(f)))
            .collect();
        // Lengths are written in 32 bits; a session whose parts do not fit (4 GiB
        // of text) is left to be read from its file.
        all.retain(|e| {
            e.brief.len() < NO_MESSAGE as usize
                && e.message.is_none_or(|m| m.len() < NO_MESSAGE as usize)
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
            .map(|e| {
                12 + e.id.len() + FileKey::LEN + e.brief.len() + e.message.map_or(0, <[u8]>::len)
            })
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::list_index::tests::fresh;

    /// A file's bytes with its checksum, for content the writer never makes.
    fn sealed(mut body: Vec<u8>) -> Vec<u8> {
        let sum = checksum(&body);
        body.extend_from_slice(&sum.to_le_bytes());
        body
    }

    fn body(shard: usize, entries: &[&Fresh]) -> Vec<u8> {
        let mut bytes = Shard::default().encode(shard, &[], entries);
        bytes.truncate(bytes.len() - 8);
        bytes
    }

    #[test]
    fn anything_malformed_is_refused() {
        let (a1, a2) = (fresh("a1", 1), fresh("a2", 2));
        let good = Shard::default().encode(10, &[], &[&a1, &a2]);
        assert_eq!(Shard::entries(&good.clone(), 10).unwrap().len(), 2);
        assert!(
            Shard::entries(&good.clone(), 11).is_none(),
            "another file's"
        );
        // Every truncation, anything after the end, any byte changed.
        for n in 0..good.len() {
            assert!(Shard::entries(&good[..n], 10).is_none(), "cut at {n}");
            let mut flipped = good.clone();
            flipped[n] ^= 0x10;
            assert!(Shard::entries(&flipped, 10).is_none(), "byte {n} changed");
        }
        let mut longer = good.clone();
        longer.push(0);
        assert!(Shard::entries(&longer, 10).is_none());
        // With a valid checksum: another format or zwarm version, ids out
        // of order, twice, not ids, or of another file.
        let good_body = body(10, &[&a1, &a2]);
        assert!(Shard::entries(&sealed(good_body.clone()), 10).is_some());
        let mut other_format = good_body.clone();
        other_format[MAGIC.len()] ^= 1;
        assert!(Shard::entries(&sealed(other_format), 10).is_none());
        let mut other_version = good_body.clone();
        other_version[MAGIC.len() + 8] ^= 1;
        assert!(Shard::entries(&sealed(other_version), 10).is_none());
        let first_id = |to: &[u8]| {
            let at = good_body.windows(2).position(|w| w == b"a1").unwrap();
            let mut bytes = good_body.clone();
            bytes[at..at + 2].copy_from_slice(to);
            sealed(bytes)
        };
        assert!(Shard::entries(&first_id(b"a0"), 10).is_some());
        assert!(
            Shard::entries(&first_id(b"a3"), 10).is_none(),
            "out of order"
        );
        assert!(
            Shard::entries(&first_id(b"a2"), 10).is_none(),
            "one id twice"
        );
        assert!(Shard::entries(&first_id(b"a/"), 10).is_none(), "not an id");
        assert!(Shard::entries(&first_id(b"01"), 10).is_none(), "of file 0");
        // A count far beyond what the file holds.
        let mut huge = body(10, &[]);
        let n = huge.len();
        huge[n - 4..].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(Shard::entries(&sealed(huge), 10).is_none());
    }
}
