//! Reading a large turn file on several cores. Decoding a line (parsing its
//! JSON) is most of the work of reading a turn and needs no state, while
//! applying the decoded lines must happen in order: so this thread reads the
//! file in batches of whole lines, worker threads decode the batches, and
//! this thread applies their results in file order. At most two batches per
//! worker are in flight, which bounds the memory whatever the file's size.

use crate::agent::{Decoded, StreamParser};
use crate::trajectory::{trim_line, Step};
use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, Read};
use std::sync::mpsc;

/// Bytes read per batch (a longer line makes its batch longer).
const BATCH: usize = 1 << 20;

/// Whole lines of the file, read together.
type Batch = Vec<u8>;

/// A batch's lines decoded, one entry per line, `None` for a blank one, and
/// the batch's buffer, to be read into again.
type DecodedBatch = (Vec<Option<Decoded>>, Batch);

/// Reads `file` from where it stands to its end, like
/// [`crate::trajectory::read_turn`], decoding on `workers` threads.
pub fn read(
    mut file: File,
    parser: &mut dyn StreamParser,
    complete: bool,
    workers: usize,
    emit: &mut dyn FnMut(Step),
) -> io::Result<()> {
    let decode = parser.decoder();
    std::thread::scope(|scope| {
        let mut to_worker = Vec::with_capacity(workers);
        let mut from_worker = Vec::with_capacity(workers);
        for _ in 0..workers {
            let (send_batch, batches) = mpsc::channel::<Batch>();
            let (send_done, done) = mpsc::channel::<DecodedBatch>();
            scope.spawn(move || {
                for batch in batches {
                    let lines = split_lines(&batch)
                        .map(|line| (!line.is_empty()).then(|| decode(line)))
                        .collect();
                    if send_done.send((lines, batch)).is_err() {
                        break;
                    }
                }
            });
            to_worker.push(send_batch);
            from_worker.push(done);
        }
        let mut batches = Batches::new(&mut file, complete);
        // Which worker has each batch in flight, oldest first.
        let mut in_flight: VecDeque<usize> = VecDeque::new();
        let mut next = 0;
        let mut lineno = 0;
        loop {
            while in_flight.len() < 2 * workers {
                let Some(batch) = batches.next_batch()? else {
                    break;
                };
                // A worker only stops when its channel closes.
                let _ = to_worker[next].send(batch);
                in_flight.push_back(next);
                next = (next + 1) % workers;
            }
            let Some(worker) = in_flight.pop_front() else {
                break;
            };
            let Ok((lines, buf)) = from_worker[worker].recv() else {
                // The worker panicked; the scope passes the panic on.
                break;
            };
            batches.reuse(buf);
            for line in lines {
                lineno += 1;
                if let Some(line) = line {
                    parser.apply(lineno, line, emit);
                }
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

/// The lines of a batch without their line ends and surrounding blanks.
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

/// Cuts a file into batches of whole lines.
struct Batches<'a> {
    file: &'a mut File,
    complete: bool,
    /// The start of a line the last read cut off.
    carry: Vec<u8>,
    eof: bool,
    /// Buffers the workers are done with: a fresh one would cost page faults.
    spare: Vec<Batch>,
}

impl<'a> Batches<'a> {
    fn new(file: &'a mut File, complete: bool) -> Self {
        Batches {
            file,
            complete,
            carry: Vec::new(),
            eof: false,
            spare: Vec::new(),
        }
    }

    fn reuse(&mut self, buf: Batch) {
        self.spare.push(buf);
    }

    fn next_batch(&mut self) -> io::Result<Option<Batch>> {
        if self.eof {
            return Ok(None);
        }
        let mut buf = self.spare.pop().unwrap_or_default();
        buf.clear();
        buf.extend_from_slice(&self.carry);
        buf.reserve(BATCH);
        loop {
            let n = (&mut *self.file).take(BATCH as u64).read_to_end(&mut buf)?;
            if n < BATCH {
                self.eof = true;
                // A torn last line is the writer's, unless it has finished.
                if !self.complete {
                    let keep = memchr::memrchr(b'\n', &buf).map_or(0, |i| i + 1);
                    buf.truncate(keep);
                }
                break;
            }
            if let Some(last) = memchr::memrchr(b'\n', &buf) {
                self.carry.clear();
                self.carry.extend_from_slice(&buf[last + 1..]);
                buf.truncate(last + 1);
                break;
            }
        }
        Ok((!buf.is_empty()).then_some(buf))
    }
}
