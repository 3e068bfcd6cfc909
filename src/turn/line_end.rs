//! Where a line of a turn file ends, found before anything is read into
//! a buffer for it: both readers make room for a line longer than their
//! buffers at once, at its size (grown by doubling, a 32 MiB line held up
//! to twice that and a copy beside it while it moved).

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;

/// Where the line going on at `at` ends in `file`: just past its newline,
/// or the file's end. Read in pieces of its own, so a long line is measured
/// before any buffer is grown for it.
pub(super) fn line_end(file: &File, mut at: u64) -> io::Result<u64> {
    let mut piece = [0u8; 64 << 10];
    loop {
        let n = match file.read_at(&mut piece, at) {
            Ok(0) => return Ok(at),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if let Some(i) = memchr::memchr(b'\n', &piece[..n]) {
            return Ok(at + i as u64 + 1);
        }
        at += n as u64;
    }
}
