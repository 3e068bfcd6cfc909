//! The supervisor's budget follower: a thread that reads a running turn's
//! output as the agent appends to it, counts the usage the agent reports
//! there (claude reports each response's), and stops the agent once the
//! session's tokens (its earlier turns' recorded usage, and this turn's so
//! far) reach the turn's `--max-tokens`.
//!
//! It runs only for a turn with a token budget whose agent reports usage as
//! it goes; a codex turn reports it only at its end, so its budget is
//! checked before the next turn instead. It wakes on a modest interval and
//! reads only what was appended since, so a turn costs a few system calls a
//! second, and nothing runs while the supervisor has no agent.

use crate::agent::UsageMeter;
use crate::model::Breach;
use crate::store::{Store, TurnFile};
use nix::sys::signal::{pthread_sigmask, SigSet, SigmaskHow, Signal};
use std::fs::File;
use std::io::{ErrorKind, Read, Write};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::Duration;

/// How often the output is looked at: a response takes seconds, so a stop
/// comes at most this late after the response that spent the budget.
const INTERVAL: Duration = Duration::from_millis(250);

/// The longest line kept whole: a longer one (a tool's huge output, which
/// carries no usage) is skipped rather than held in the supervisor.
const MAX_LINE: usize = 16 << 20;

/// A running follower; [`Follower::finish`] ends it.
pub(crate) struct Follower {
    done: mpsc::Sender<()>,
    thread: JoinHandle<Option<Breach>>,
}

impl Follower {
    /// Stops following (the agent has exited) and tells whether the
    /// follower stopped the agent, with the figures it stopped it at. Once
    /// this returns the follower signals nothing more, so the agent's
    /// group id may be let go.
    pub(crate) fn finish(self) -> Option<Breach> {
        drop(self.done);
        self.thread.join().ok().flatten()
    }
}

/// Starts following turn `turn` of session `id` if its budget has a token
/// limit and its agent reports usage as it goes. `stop_agent` stops the
/// agent's group as a timeout does, and says false if a stop (a kill, a
/// timeout) was already under way, which then stands.
pub(crate) fn follow(
    store: &Store,
    id: &str,
    turn: u32,
    stop_agent: fn() -> bool,
) -> Option<Follower> {
    let session = store.load(id).ok()?;
    let limit = session.current_turn()?.budget.max_tokens?;
    let meter = session.agent().ok()?.adapter().usage_meter()?;
    let file = match store.open_turn_file(id, turn, TurnFile::Output) {
        Ok(Some(f)) => f,
        other => {
            log(&format!(
                "cannot follow turn {turn}'s output for its token budget ({}); it is checked before the next turn",
                other.err().map_or("no output file".to_string(), |e| e.to_string())
            ));
            return None;
        }
    };
    let counter = Counter {
        earlier: session.token_usage.total_tokens,
        limit,
        meter,
        lines: Lines::new(file),
    };
    let (done, wake) = mpsc::channel();
    let thread = spawn_without_signals(move || counter.run(&wake, stop_agent))?;
    Some(Follower { done, thread })
}

/// The tokens of the session against its limit, counted from the turn's
/// output.
struct Counter {
    /// The session's tokens before this turn.
    earlier: u64,
    limit: u64,
    meter: Box<dyn UsageMeter>,
    lines: Lines,
}

impl Counter {
    fn run(mut self, wake: &mpsc::Receiver<()>, stop_agent: fn() -> bool) -> Option<Breach> {
        loop {
            match wake.recv_timeout(INTERVAL) {
                Err(RecvTimeoutError::Timeout) => {}
                // The agent has exited.
                _ => return None,
            }
            let meter = &mut self.meter;
            self.lines.read_new(&mut |line| meter.feed(line));
            let used = self.earlier + self.meter.used().total_tokens;
            if used >= self.limit {
                let breach = Breach::Tokens {
                    used,
                    limit: self.limit,
                };
                return stop_agent().then_some(breach);
            }
        }
    }
}

/// The complete lines appended to a file since the last read. The file is
/// opened apart from the agent's stdout, so reading moves no offset of the
/// agent's.
struct Lines {
    file: File,
    /// The start of a line not yet ended.
    partial: Vec<u8>,
    /// Within a line longer than [`MAX_LINE`], until its end.
    skipping: bool,
}

impl Lines {
    fn new(file: File) -> Self {
        Lines {
            file,
            partial: Vec::new(),
            skipping: false,
        }
    }

    fn read_new(&mut self, feed: &mut dyn FnMut(&[u8])) {
        let mut buf = vec![0u8; 64 << 10];
        loop {
            let n = match self.file.read(&mut buf) {
                Ok(0) => return,
                Ok(n) => n,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                // Tried again on the next wake.
                Err(_) => return,
            };
            self.take(&buf[..n], feed);
        }
    }

    fn take(&mut self, mut bytes: &[u8], feed: &mut dyn FnMut(&[u8])) {
        while let Some(nl) = memchr::memchr(b'\n', bytes) {
            let (line, rest) = (&bytes[..nl], &bytes[nl + 1..]);
            if self.skipping {
                self.skipping = false;
            } else if self.partial.is_empty() {
                feed(line);
            } else {
                self.partial.extend_from_slice(line);
                feed(&self.partial);
                self.partial.clear();
            }
            bytes = rest;
        }
        if self.skipping {
            return;
        }
        if self.partial.len() + bytes.len() > MAX_LINE {
            self.partial = Vec::new();
            self.skipping = true;
        } else {
            self.partial.extend_from_slice(bytes);
        }
    }
}

/// Spawns `f` on a thread that never takes the supervisor's signals: their
/// handlers must interrupt the main thread's wait for the agent.
fn spawn_without_signals<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Option<JoinHandle<T>> {
    let mut blocked = SigSet::empty();
    for sig in [
        Signal::SIGTERM,
        Signal::SIGINT,
        Signal::SIGALRM,
        Signal::SIGHUP,
    ] {
        blocked.add(sig);
    }
    // A thread starts with its creator's mask: blocked for the spawn, then
    // put back.
    let mut old = SigSet::empty();
    pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&blocked), Some(&mut old)).ok()?;
    let spawned = std::thread::Builder::new().name("budget".into()).spawn(f);
    let _ = pthread_sigmask(SigmaskHow::SIG_SETMASK, Some(&old), None);
    match spawned {
        Ok(t) => Some(t),
        Err(e) => {
            log(&format!("cannot follow the turn for its token budget: {e}"));
            None
        }
    }
}

/// The supervisor's stderr is its log file, supervisor.log.
fn log(line: &str) {
    let _ = writeln!(std::io::stderr(), "zwarm supervisor: {line}");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines_of(chunks: &[&[u8]]) -> Vec<Vec<u8>> {
        let mut lines = Lines::new(tempfile::tempfile().unwrap());
        let mut out = Vec::new();
        for c in chunks {
            lines.take(c, &mut |l| out.push(l.to_vec()));
        }
        out
    }

    #[test]
    fn lines_are_fed_whole_however_the_writes_cut_them() {
        assert_eq!(
            lines_of(&[b"a\nb", b"c", b"\n\nd"]),
            [b"a".to_vec(), b"bc".to_vec(), b"".to_vec()]
        );
        let long = vec![b'x'; MAX_LINE + 1];
        assert_eq!(
            lines_of(&[b"a", &long, b"yy\nb\n"]),
            [b"b".to_vec()],
            "a line too long to keep is skipped to its end"
        );
    }

    #[test]
    fn only_what_was_appended_since_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("turn_1.jsonl");
        let mut writer = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .unwrap();
        let mut lines = Lines::new(File::open(&path).unwrap());
        let mut seen = Vec::new();
        writer.write_all(b"one\ntw").unwrap();
        lines.read_new(&mut |l| seen.push(l.to_vec()));
        writer.write_all(b"o\n").unwrap();
        lines.read_new(&mut |l| seen.push(l.to_vec()));
        lines.read_new(&mut |l| seen.push(l.to_vec()));
        assert_eq!(seen, [b"one".to_vec(), b"two".to_vec()]);
    }
}
