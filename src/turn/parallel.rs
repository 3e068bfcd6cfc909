//! Reading a large turn file on several cores. Decoding a line (parsing its
//! JSON) is most of the work of reading a turn and needs no state, while
//! applying decoded lines must happen in file order. So the file is cut into
//! chunks of [`CHUNK`] bytes, each owning the lines that start in it; worker
//! threads read and decode chunks, this thread applies them in order and
//! decodes a chunk itself whenever the next one is not ready. Each chunk is
//! read by the thread that decodes it, so its bytes are in that core's cache.
//! A worker has at most two chunks at a time and at most [`AHEAD`] decoded
//! chunks per worker wait here, which bounds the memory whatever the file's
//! size. A chunk's list of decoded lines goes back, emptied, to the thread
//! that filled it: a fresh list per chunk would be a large allocation.

use super::lazy_text::SharedLine;
use super::parse::{trim_line, StreamParser};
use super::step::{OutputDetail, Step};
use std::collections::VecDeque;
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::sync::{mpsc, Arc};

/// Bytes per chunk (a line that starts in a chunk and runs past its end is
/// read whole all the same). A decoded chunk can be several times its size
/// (1 MiB chunks of 26-byte codex lines held 105 MiB in flight when a
/// decoded line took 224 bytes; claude's lines decode to JSON trees): at
/// 256 KiB a usual claude turn on two threads peaked at 20.5 MiB, at 128 KiB
/// 18, no slower.
const CHUNK: u64 = 128 << 10;

/// From this length on, a line's decoded text may keep a share of the
/// chunk's buffer: it is then read afresh for the next chunk, which is worth
/// it only for a line that would cost much to copy.
const LONG_LINE: usize = 1 << 20;

/// Bytes first read past a chunk's end to find where its last line ends.
const OVERRUN: u64 = 8 << 10;

/// Chunks per worker this thread may decode ahead of the one it waits for.
/// While a worker reads a line of megabytes, or a slow chunk, this thread
/// goes on; with 2 it soon stood idle (a usual turn 138 -> 117 ms, the turn
/// with a 32 MiB line 175 -> 162 ms with 8; 16 gained nothing more). Each
/// waiting chunk is a few hundred KiB decoded: the peak memory did not move.
const AHEAD: usize = 8;

/// Overruns after which the rest of a line is measured first and read in
/// one piece: a line this long is rare, and grown piece by piece its buffer
/// would double past its size.
const LOOK_AHEAD_AFTER: u32 = 4;

/// A chunk's lines decoded, one entry per line, `None` for a blank one.
type Lines<P> = Vec<Option<<P as StreamParser>::Line>>;

/// Reads `file` from its start to its end, like
/// [`super::read_turn`], with `workers` threads decoding beside this one.
pub(super) fn read<P: StreamParser>(
    file: File,
    parser: &mut P,
    complete: bool,
    workers: usize,
    emit: &mut dyn FnMut(Step),
) -> io::Result<()> {
    read_in_chunks(file, parser, complete, workers, CHUNK, emit)
}

pub(crate) fn read_in_chunks<P: StreamParser>(
    file: File,
    parser: &mut P,
    complete: bool,
    workers: usize,
    chunk: u64,
    emit: &mut dyn FnMut(Step),
) -> io::Result<()> {
    // Later growth is the next reader's: the file is read to this length.
    let chunks = Chunks {
        file: &file,
        len: file.metadata()?.len(),
        complete,
        decode: P::decode,
        decode_in: P::decode_in,
        detail: parser.detail(),
        size: chunk,
    };
    let count = chunks.len.div_ceil(chunk);
    // What the workers decode is freed here: an allocator made for that.
    crate::alloc::use_for_threads();
    std::thread::scope(|scope| {
        let mut to_worker = Vec::with_capacity(workers);
        let mut from_worker = Vec::with_capacity(workers);
        let mut give_back = Vec::with_capacity(workers);
        for _ in 0..workers {
            let (send_chunk, chunk_numbers) = mpsc::channel::<u64>();
            let (send_done, done) = mpsc::channel::<io::Result<Lines<P>>>();
            let (send_empty, emptied) = mpsc::channel::<Lines<P>>();
            scope.spawn(move || {
                let mut buf = ChunkBuf::default();
                for k in chunk_numbers {
                    let lines = emptied.try_recv().unwrap_or_default();
                    if send_done.send(chunks.decode(k, &mut buf, lines)).is_err() {
                        break;
                    }
                }
            });
            to_worker.push(send_chunk);
            from_worker.push(done);
            give_back.push(send_empty);
        }
        let mut buf = ChunkBuf::default();
        // Emptied lists of the chunks this thread decoded.
        let mut own_empty: Vec<Lines<P>> = Vec::new();
        // Chunks handed out and not yet applied, in file order.
        let mut pending: VecDeque<Slot<P>> = VecDeque::new();
        let mut queued = vec![0usize; workers];
        let (mut next_chunk, mut next_worker, mut lineno) = (0u64, 0usize, 0u64);
        loop {
            // Keep every worker busy, with one chunk queued behind the one
            // it decodes.
            while next_chunk < count && queued[next_worker] < 2 {
                // A worker only stops when its channel closes.
                let _ = to_worker[next_worker].send(next_chunk);
                queued[next_worker] += 1;
                pending.push_back(Slot::Sent(next_worker));
                next_chunk += 1;
                next_worker = (next_worker + 1) % workers;
            }
            let (mut lines, from) = match pending.pop_front() {
                None => break,
                Some(Slot::Decoded(lines)) => (lines, None),
                Some(Slot::Sent(w)) => match from_worker[w].try_recv() {
                    Ok(lines) => {
                        queued[w] -= 1;
                        (lines?, Some(w))
                    }
                    // Not ready: rather than wait, decode the next chunk
                    // here, unless enough wait to be applied already
                    // (see `AHEAD`).
                    Err(mpsc::TryRecvError::Empty)
                        if next_chunk < count && pending.len() < AHEAD * workers =>
                    {
                        pending.push_front(Slot::Sent(w));
                        let empty = own_empty.pop().unwrap_or_default();
                        let lines = chunks.decode(next_chunk, &mut buf, empty)?;
                        pending.push_back(Slot::Decoded(lines));
                        next_chunk += 1;
                        continue;
                    }
                    Err(_) => match from_worker[w].recv() {
                        Ok(lines) => {
                            queued[w] -= 1;
                            (lines?, Some(w))
                        }
                        // The worker panicked; the scope passes the panic on.
                        Err(_) => break,
                    },
                },
            };
            for line in lines.drain(..) {
                lineno += 1;
                if let Some(line) = line {
                    parser.apply(lineno, line, emit);
                }
            }
            match from {
                // A worker that has stopped needs no list.
                Some(w) => {
                    let _ = give_back[w].send(lines);
                }
                None => own_empty.push(lines),
            }
        }
        // Closing the channels ends the workers before the scope joins them.
        drop(to_worker);
        if complete {
            parser.finish(emit);
        }
        Ok(())
    })
}

/// A chunk handed out and not yet applied.
enum Slot<P: StreamParser> {
    /// With this worker, which returns its chunks in the order it got them.
    Sent(usize),
    /// Decoded here.
    Decoded(Lines<P>),
}

/// How to read and decode a chunk; shared by every thread.
struct Chunks<'a, L> {
    file: &'a File,
    len: u64,
    complete: bool,
    decode: fn(&[u8], OutputDetail) -> L,
    decode_in: fn(&[u8], &SharedLine, OutputDetail) -> L,
    detail: OutputDetail,
    size: u64,
}

impl<L> Clone for Chunks<'_, L> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<L> Copy for Chunks<'_, L> {}

impl<L> Chunks<'_, L> {
    /// Reads chunk `k` into `buf` and decodes the lines that start in it
    /// into `lines` (empty; its capacity is reused).
    fn decode(
        &self,
        k: u64,
        buf: &mut ChunkBuf,
        mut lines: Vec<Option<L>>,
    ) -> io::Result<Vec<Option<L>>> {
        let range = self.read(k, buf)?;
        let shared = &buf.bytes;
        lines.extend(split_lines(&shared[range]).map(|line| {
            // A long line's decoded text may keep a share of the buffer
            // rather than a copy of itself (see `SharedLine`).
            (!line.is_empty()).then(|| match line.len() >= LONG_LINE {
                true => (self.decode_in)(line, shared, self.detail),
                false => (self.decode)(line, self.detail),
            })
        }));
        Ok(lines)
    }

    /// Reads into `buf` the lines that start in chunk `k` (from its byte
    /// before, which says whether its first byte starts a line) and returns
    /// where they are in `buf`.
    fn read(&self, k: u64, buf: &mut ChunkBuf) -> io::Result<std::ops::Range<usize>> {
        let from = (k * self.size).saturating_sub(1);
        let chunk_end = ((k + 1) * self.size).min(self.len);
        buf.clear();
        buf.append(self.file, from, chunk_end)?;
        let start = if k == 0 {
            0
        } else {
            match memchr::memchr(b'\n', buf.filled()) {
                Some(i) => i + 1,
                None => return Ok(0..0),
            }
        };
        if from + start as u64 >= chunk_end {
            return Ok(0..0); // a line from an earlier chunk covers this one
        }
        // The last line starting here ends at the first newline from the
        // chunk's last byte on, which may lie in later chunks.
        let mut search = (chunk_end - 1 - from) as usize;
        let mut overruns = 0;
        loop {
            if let Some(i) = memchr::memchr(b'\n', &buf.filled()[search..]) {
                return Ok(start..search + i + 1);
            }
            let read_to = from + buf.filled as u64;
            if read_to >= self.len {
                // A torn last line is the writer's, unless it has finished.
                let end = if self.complete {
                    buf.filled
                } else {
                    memchr::memrchr(b'\n', &buf.filled()[start..]).map_or(start, |i| start + i + 1)
                };
                return Ok(start..end);
            }
            // Most lines end soon after; a longer one is read in larger
            // pieces, and a long one to its end at once.
            let more = if overruns < LOOK_AHEAD_AFTER {
                (OVERRUN << overruns).min(self.len - read_to)
            } else {
                super::line_end::line_end(self.file, read_to)?.min(self.len) - read_to
            };
            overruns += 1;
            search = buf.filled;
            buf.append(self.file, read_to, read_to + more)?;
        }
    }
}

/// A thread's buffer for chunks, reused from chunk to chunk unless a long
/// line's decoded text kept a share of it.
#[derive(Default)]
struct ChunkBuf {
    /// Only ever grown: zeroing it for every chunk cost as much as reading.
    bytes: SharedLine,
    filled: usize,
}

impl ChunkBuf {
    fn filled(&self) -> &[u8] {
        &self.bytes[..self.filled]
    }

    /// Empty, and this thread's alone.
    fn clear(&mut self) {
        if Arc::get_mut(&mut self.bytes).is_none() {
            self.bytes = SharedLine::default();
        }
        self.filled = 0;
    }

    /// Appends the file's bytes `from..to`.
    fn append(&mut self, file: &File, from: u64, to: u64) -> io::Result<()> {
        let end = self.filled + (to - from) as usize;
        let bytes = Arc::get_mut(&mut self.bytes).ok_or_else(|| {
            io::Error::other("a chunk's buffer is still shared while it is read into")
        })?;
        if bytes.len() < end {
            // Exactly: a long line's buffer is its own size, not the next
            // power of two.
            bytes.reserve_exact(end - bytes.len());
            bytes.resize(end, 0);
        }
        file.read_exact_at(&mut bytes[self.filled..end], from)?;
        self.filled = end;
        Ok(())
    }
}

/// The lines of a chunk without their line ends and surrounding blanks.
fn split_lines(buf: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut ends = memchr::memchr_iter(b'\n', buf);
    let mut start = 0;
    std::iter::from_fn(move || {
        let end = match ends.next() {
            Some(end) => end,
            // A torn last line, there only when the file is complete.
            None if start < buf.len() => buf.len(),
            None => return None,
        };
        let line = &buf[start..end];
        start = end + 1;
        Some(trim_line(line))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::turn::{StepKind, TurnReader, TurnSummary};
    use proptest::prelude::*;
    use std::io::Write;

    /// A parser that keeps every line it is given, as a step, and counts
    /// the ones that are not JSON: what the reader fed it, in what order.
    #[derive(Default)]
    struct Recorder {
        summary: TurnSummary,
    }

    impl StreamParser for Recorder {
        type Line = Option<String>;

        fn decode(line: &[u8], _: OutputDetail) -> Self::Line {
            let text = String::from_utf8_lossy(line).into_owned();
            serde_json::from_str::<serde_json::Value>(&text)
                .is_ok()
                .then_some(text)
        }

        fn detail(&self) -> OutputDetail {
            OutputDetail::Whole
        }

        fn apply(&mut self, lineno: u64, line: Self::Line, emit: &mut dyn FnMut(Step)) {
            match line {
                Some(text) => {
                    self.summary.events += 1;
                    emit(Step {
                        line: lineno,
                        kind: StepKind::Message { text },
                    });
                }
                None => self.summary.skipped_lines += 1,
            }
        }

        fn finish(&mut self, emit: &mut dyn FnMut(Step)) {
            emit(Step {
                line: 0,
                kind: StepKind::Message { text: "end".into() },
            });
        }

        fn summary(&self) -> &TurnSummary {
            &self.summary
        }
    }

    fn transcript_lines() -> Vec<String> {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/transcripts");
        ["codex_rich.jsonl", "codex_mcp.jsonl", "claude_rich.jsonl"]
            .iter()
            .flat_map(|n| {
                std::fs::read_to_string(format!("{dir}/{n}"))
                    .unwrap()
                    .lines()
                    .map(str::to_string)
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    fn json_line(fill: char, len: usize) -> String {
        format!("{{\"t\":\"{}\"}}", fill.to_string().repeat(len))
    }

    fn texts(steps: &[Step]) -> Vec<String> {
        steps
            .iter()
            .map(|s| match &s.kind {
                StepKind::Message { text } => text.clone(),
                other => panic!("unexpected step {other:?}"),
            })
            .collect()
    }

    /// Reading `path` in chunks of several sizes, on one to three workers,
    /// gives these texts.
    fn chunked_reads_give(path: &std::path::Path, complete: bool, want: &[String]) {
        for chunk in [1000, 256 << 10, 5 << 20] {
            for workers in 1..=3 {
                let mut steps = Vec::new();
                let file = File::open(path).unwrap();
                read_in_chunks(
                    file,
                    &mut Recorder::default(),
                    complete,
                    workers,
                    chunk,
                    &mut |s| steps.push(s),
                )
                .unwrap();
                assert_eq!(texts(&steps), want, "chunk {chunk}, {workers} workers");
            }
        }
    }

    /// Lines longer than every buffer (found by looking ahead for their
    /// end) come out whole and in order from both readers, whatever the
    /// chunk and the number of threads; a torn one waits for its end.
    #[test]
    fn long_lines_are_read_whole_by_both_readers() {
        let lines = [
            json_line('a', 3 << 20),
            json_line('b', 10),
            json_line('c', 200_000),
            json_line('d', (5 << 20) / 2),
            json_line('e', 3),
        ];
        let torn = json_line('f', 2 << 20);
        let mut bytes = lines.join("\n") + "\n";
        bytes.push_str(&torn[..torn.len() / 2]);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("turn_1.jsonl");
        std::fs::write(&path, &bytes).unwrap();

        // Growing: the torn line is not read yet.
        let mut reader = TurnReader::new(&path);
        let mut growing = Recorder::default();
        let mut got = Vec::new();
        reader
            .read(&mut growing, false, &mut |s| got.push(s))
            .unwrap();
        assert_eq!(texts(&got), lines);
        chunked_reads_give(&path, false, &lines);

        // Its end written: read whole, once, by the reader that waited.
        let rest = torn[torn.len() / 2..].to_string() + "\n";
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(rest.as_bytes())
            .unwrap();
        got.clear();
        reader
            .read(&mut growing, true, &mut |s| got.push(s))
            .unwrap();
        assert_eq!(texts(&got), [torn.clone(), "end".into()]);
        let mut all: Vec<String> = lines.to_vec();
        all.push(torn);
        all.push("end".into());
        chunked_reads_give(&path, true, &all);
    }

    proptest! {
        #![proptest_config(ProptestConfig {
            cases: 200,
            failure_persistence: None,
            ..ProptestConfig::default()
        })]

        /// Cut into chunks of any size (a chunk inside a line, a line over
        /// many chunks) and decoded on any number of threads, a file feeds
        /// its parser the very lines, numbered alike and in the same order,
        /// as reading it line by line does.
        #[test]
        fn chunked_reading_equals_reading_line_by_line(
            picks in prop::collection::vec((any::<prop::sample::Index>(), 0..4u8), 0..40),
            chunk in 1u64..300,
            workers in 1usize..4,
            torn_end in any::<bool>(),
            complete in any::<bool>(),
        ) {
            let all = transcript_lines();
            let mut bytes = Vec::new();
            for (pick, shape) in &picks {
                match shape {
                    0 => bytes.extend_from_slice(b"  \r"),          // blank
                    1 => bytes.extend_from_slice(b"not json"),       // stray
                    _ => bytes.extend_from_slice(pick.get(&all).as_bytes()),
                }
                bytes.push(b'\n');
            }
            if torn_end {
                bytes.extend_from_slice(b"{\"type\":\"turn.comp");
            }
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("turn_1.jsonl");
            std::fs::write(&path, &bytes).unwrap();

            let mut one = Recorder::default();
            let mut expected = Vec::new();
            TurnReader::new(&path).read(&mut one, complete, &mut |s| expected.push(s)).unwrap();

            let mut many = Recorder::default();
            let mut got = Vec::new();
            let file = File::open(&path).unwrap();
            read_in_chunks(file, &mut many, complete, workers, chunk, &mut |s| got.push(s)).unwrap();
            prop_assert_eq!(got, expected);
            prop_assert_eq!(many.summary(), one.summary());
        }
    }
}
