//! An index file read in place: mapped, not copied. Listing 100,000
//! sessions reads a hundred megabytes of entries, of which a row needs one
//! at a time; mapped, the pages are the page cache's, and can be let go of
//! (`release`) and read again from it whenever the listing has touched
//! enough of them, which keeps the peak memory of `list` far below the
//! index's size.
//!
//! zwarm only ever replaces an index file by a rename (never truncates or
//! rewrites it in place), and the folder is its owner's alone, so the
//! mapped file keeps the bytes its checksum was verified on.

use std::fs::File;
use std::ops::Deref;
use std::os::fd::AsRawFd;

/// The bytes of an index file: mapped from the file, or held (an empty
/// file, a test's bytes).
pub(super) enum Bytes {
    Held(Vec<u8>),
    Mapped(Mapping),
}

impl Default for Bytes {
    fn default() -> Self {
        Bytes::Held(Vec::new())
    }
}

impl From<Vec<u8>> for Bytes {
    fn from(v: Vec<u8>) -> Self {
        Bytes::Held(v)
    }
}

impl Deref for Bytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Bytes::Held(v) => v,
            Bytes::Mapped(m) => m.bytes(),
        }
    }
}

impl Bytes {
    /// Lets the pages read so far go; they are read again from the page
    /// cache when next touched. Nothing for held bytes.
    pub(super) fn release(&self) {
        if let Bytes::Mapped(m) = self {
            m.release();
        }
    }
}

/// A read-only private mapping of a whole file.
pub(super) struct Mapping {
    ptr: std::ptr::NonNull<u8>,
    len: usize,
}

// SAFETY: the mapping is read-only and owned by this value alone; reading
// it from several threads is reading shared immutable memory.
unsafe impl Send for Mapping {}
// SAFETY: as above: nothing ever writes through it.
unsafe impl Sync for Mapping {}

impl Mapping {
    /// The first `len` bytes of `file` (its size, as `fstat` gave it), or
    /// None for an empty file or a failed mapping.
    pub(super) fn of(file: &File, len: usize) -> Option<Mapping> {
        if len == 0 {
            return None;
        }
        // SAFETY: a fresh read-only private mapping of an open file; the
        // kernel picks the address, and the result is checked below.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ,
                libc::MAP_PRIVATE,
                file.as_raw_fd(),
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return None;
        }
        Some(Mapping {
            ptr: std::ptr::NonNull::new(ptr.cast())?,
            len,
        })
    }

    fn bytes(&self) -> &[u8] {
        // SAFETY: `ptr` maps `len` readable bytes for as long as `self`
        // lives; they are never written (see the module's comment).
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }

    fn release(&self) {
        // SAFETY: advice on this mapping's own range. For a private mapping
        // never written, dropping its pages only means reading them again
        // from the file's page cache: the bytes seen do not change.
        unsafe {
            libc::madvise(self.ptr.as_ptr().cast(), self.len, libc::MADV_DONTNEED);
        }
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly what `of` mapped; no borrow of it outlives
        // `self`.
        unsafe {
            libc::munmap(self.ptr.as_ptr().cast(), self.len);
        }
    }
}
