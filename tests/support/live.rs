//! A zwarm command followed live: run in the background, its stdout
//! delivered line by line as it arrives, each line with when it came.

use super::poll::eventually;
use super::world::World;
use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

pub const LONG: Duration = Duration::from_secs(20);

/// A zwarm command running in the background, its stdout delivered line by
/// line with the instant each line arrived.
pub struct Live {
    child: Child,
    lines: mpsc::Receiver<(Instant, String)>,
    pub started: Instant,
}

impl Live {
    pub fn spawn(w: &World, args: &[&str]) -> Live {
        let mut child = w
            .cmd(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn zwarm");
        let started = Instant::now();
        let out = child.stdout.take().expect("piped stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                if tx.send((Instant::now(), line)).is_err() {
                    break;
                }
            }
        });
        Live {
            child,
            lines,
            started,
        }
    }

    /// The next line, waiting for it.
    pub fn next(&self) -> (Instant, String) {
        self.lines
            .recv_timeout(LONG)
            .expect("a line within the time limit")
    }

    pub fn still_running(&mut self) -> bool {
        self.child.try_wait().expect("try_wait").is_none()
    }

    /// Waits for exit: the code, when it exited, and the lines not yet taken.
    pub fn finish(mut self) -> (i32, Instant, Vec<(Instant, String)>) {
        let status = eventually(LONG, "zwarm to exit", || {
            self.child.try_wait().expect("try_wait")
        });
        let ended = Instant::now();
        let rest = self.lines.iter().collect();
        (status.code().expect("exited by a signal"), ended, rest)
    }
}
