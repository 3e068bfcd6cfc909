//! Reading a turn file as a stream (never whole into memory), resuming
//! where the last read stopped while it grows.

use super::lazy_text::SharedLine;
use super::parse::{trim_line, StreamParser};
use super::step::Step;
use super::summary::TurnSummary;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Feeds a turn file through a parser, line by line, calling `emit` for each
/// step. A last line without its newline is parsed only if `complete` (the
/// writer has finished); otherwise it may still be growing.
pub(crate) fn read_turn<P: StreamParser>(
    path: &Path,
    parser: &mut P,
    complete: bool,
    emit: &mut dyn FnMut(Step),
) -> io::Result<()> {
    let file = open_if_present(path)?;
    // Only a large file is worth the threads, and asking how many there may
    // be reads cgroup files.
    let threads = match &file {
        Some(f) if parser.parallel_decoding() && f.metadata()?.len() >= PARALLEL_FROM => {
            read_threads()
        }
        _ => 1,
    };
    match file {
        Some(file) if threads > 1 => {
            super::parallel::read(file, parser, complete, threads - 1, emit)
        }
        file => TurnReader::new(path).read_file(file, parser, complete, emit),
    }
}

/// The file at `path`, or None if there is none (a turn not started yet).
/// Neither the file nor its folder is reached through a link, and nothing
/// but a regular file is read (see [`crate::dir`]).
fn open_if_present(path: &Path) -> io::Result<Option<File>> {
    let (Some(folder), Some(name)) = (path.parent(), path.file_name().and_then(|n| n.to_str()))
    else {
        return Err(io::Error::from(io::ErrorKind::InvalidInput));
    };
    let opened = crate::dir::Dir::open_no_link(folder).and_then(|d| d.read_file(name));
    match opened {
        Ok(f) => Ok(Some(f)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Threads to read a large turn with: `ZWARM_THREADS` if set (1 reads on
/// one thread, as on a busy machine), else one per core.
fn read_threads() -> usize {
    std::env::var("ZWARM_THREADS")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|&n| n > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from))
}

/// Below this size a turn file is read on one thread: starting threads would
/// cost more than they save.
const PARALLEL_FROM: u64 = 4 << 20;

/// Reads a turn file that may still be growing, resuming where the last read
/// stopped: each call parses only what is new.
pub(crate) struct TurnReader {
    path: PathBuf,
    offset: u64,
    lineno: u64,
}

impl TurnReader {
    pub(crate) fn new(path: &Path) -> Self {
        TurnReader {
            path: path.to_path_buf(),
            offset: 0,
            lineno: 0,
        }
    }

    /// Feeds the complete lines written since the last call. With `complete`,
    /// a torn last line is fed too and the parser is finished.
    pub(crate) fn read<P: StreamParser>(
        &mut self,
        parser: &mut P,
        complete: bool,
        emit: &mut dyn FnMut(Step),
    ) -> io::Result<()> {
        let file = open_if_present(&self.path)?;
        self.read_file(file, parser, complete, emit)
    }

    /// [`TurnReader::read`] of the turn file already opened (None: absent).
    fn read_file<P: StreamParser>(
        &mut self,
        file: Option<File>,
        parser: &mut P,
        complete: bool,
        emit: &mut dyn FnMut(Step),
    ) -> io::Result<()> {
        if let Some(mut file) = file {
            file.seek(SeekFrom::Start(self.offset))?;
            let mut reader = BufReader::with_capacity(READ_BUFFER, &file);
            // A line the buffer's end cuts in two is put together here (in a
            // buffer the decoded line may keep, see `SharedLine`); every
            // other line is parsed where it was read.
            let mut split = Split::default();
            loop {
                let chunk = reader.fill_buf()?;
                if chunk.is_empty() {
                    break;
                }
                let len = chunk.len();
                let mut start = 0;
                for end in memchr::memchr_iter(b'\n', chunk) {
                    if split.is_empty() {
                        self.feed_line(&chunk[start..=end], None, parser, emit);
                    } else {
                        split.extend(&chunk[start..=end]);
                        self.feed_line(split.bytes(), Some(&split.0), parser, emit);
                        split.clear();
                    }
                    start = end + 1;
                }
                let tail = &chunk[start..];
                if !split.fits(tail.len()) && split.len() + tail.len() > READ_BUFFER {
                    // A line longer than the buffer: grown by doubling it
                    // would hold up to twice its size, and a copy beside
                    // that while it moves. Its end is looked for ahead, once,
                    // and room made for all of it.
                    let at = self.offset + (split.len() + tail.len()) as u64;
                    let end = super::line_end::line_end(&file, at)?;
                    split.reserve((end - self.offset) as usize);
                }
                split.extend(tail);
                reader.consume(len);
            }
            // The writer may be mid-line: a torn last line waits for the next
            // read unless the file is complete.
            if !split.is_empty() && complete {
                self.feed_line(split.bytes(), Some(&split.0), parser, emit);
            }
        }
        if complete {
            parser.finish(emit);
        }
        Ok(())
    }
}

impl TurnReader {
    /// Feeds `line`; `whole`, if the line was put together in it.
    fn feed_line<P: StreamParser>(
        &mut self,
        line: &[u8],
        whole: Option<&SharedLine>,
        parser: &mut P,
        emit: &mut dyn FnMut(Step),
    ) {
        self.offset += line.len() as u64;
        self.lineno += 1;
        let line = trim_line(line);
        match whole {
            _ if line.is_empty() => {}
            Some(whole) => parser.feed_in(self.lineno, line, whole, emit),
            None => parser.feed(self.lineno, line, emit),
        }
    }
}

/// The line the read buffer's end cut in two, put together.
#[derive(Default)]
struct Split(SharedLine);

impl Split {
    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn bytes(&self) -> &[u8] {
        &self.0
    }

    fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether `more` bytes fit in what the buffer has room for already.
    fn fits(&self, more: usize) -> bool {
        self.0.capacity() - self.0.len() >= more
    }

    /// Room for a line of `total` bytes, made at once.
    fn reserve(&mut self, total: usize) {
        match Arc::get_mut(&mut self.0) {
            Some(v) => v.reserve_exact(total.saturating_sub(v.len())),
            None => {
                let mut v = Vec::with_capacity(total.max(self.0.len()));
                v.extend_from_slice(&self.0);
                self.0 = Arc::new(v);
            }
        }
    }

    fn extend(&mut self, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        match Arc::get_mut(&mut self.0) {
            Some(v) => v.extend_from_slice(bytes),
            None => self.0 = Arc::new(bytes.to_vec()),
        }
    }

    /// Empty again: the buffer is reused unless a decoded line kept it.
    fn clear(&mut self) {
        match Arc::get_mut(&mut self.0) {
            Some(v) => v.clear(),
            None => self.0 = SharedLine::default(),
        }
    }
}

/// Large enough that a line rarely straddles two reads, small enough for the
/// memory bound of a streamed read.
const READ_BUFFER: usize = 1 << 20;

/// Parses a whole finished turn file, keeping only its summary.
pub(crate) fn summarize_turn<P: StreamParser>(
    path: &Path,
    parser: &mut P,
) -> io::Result<TurnSummary> {
    read_turn(path, parser, true, &mut |_| {})?;
    Ok(parser.summary().clone())
}
