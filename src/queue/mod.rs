//! The queue of a group of sessions (`start --max-running N --group G`),
//! kept without a daemon: only files and the locks the kernel holds on
//! them for live processes, so that whatever dies lets go of its place.
//!
//! `.zwarm/queue/<group>/` holds:
//! - `running/<id>-<turn>`: one file per running turn of the group, locked
//!   by its supervisor for as long as the turn runs. The group's running
//!   count is the number of these that are locked.
//! - `line/<ticket>-<id>`: one file per supervisor waiting for a slot,
//!   locked by it while it waits; tickets are handed out in the order turns
//!   were queued, so the line is read in that order.
//! - `gate`: held for the instant of counting and claiming a slot, so two
//!   claims never both see the same free one; and `next`, the next ticket.
//!
//! A waiter sleeps in the kernel: on the lock of the waiter just ahead of it
//! (taken when that one leaves the line, or dies), and, once nobody is
//! ahead, on inotify for a slot to free. Only the heads of lines watch, so
//! 200 waiters use 200 blocked lock calls, not 200 inotify instances.
//!
//! Entries are made under a dot-name, locked, and renamed into place: an
//! entry that can be seen unlocked belongs to a process that is gone, and
//! whoever sees it so removes it.

mod entries;
pub(crate) mod limits;
pub(crate) mod wait;

use crate::dir::Dir;
use entries::Entry;
pub(crate) use entries::Held;
use std::io::{self, Read, Seek, Write};
use std::path::Path;

const QUEUE: &str = "queue";
const LINE: &str = "line";
const RUNNING: &str = "running";
const GATE: &str = "gate";
const NEXT: &str = "next";

/// The group a session belongs to when none is named.
pub(crate) const DEFAULT_GROUP: &str = "default";

/// Whether `name` can name a group: it becomes a folder name.
pub(crate) fn valid_group(name: &str) -> bool {
    let mut chars = name.chars();
    name.len() <= 64
        && chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

/// One group's queue folder, opened.
#[derive(Debug)]
pub(crate) struct Group {
    dir: Dir,
    line: Dir,
    running: Dir,
}

impl Group {
    /// The group's folder in the store at `root`, made if missing.
    pub(crate) fn open(root: &Path, name: &str) -> io::Result<Group> {
        if !valid_group(name) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("'{}' is not a group name", name.escape_debug()),
            ));
        }
        let root = Dir::open(root)?;
        let dir = root.make_sub(QUEUE, 0o777)?.make_sub(name, 0o777)?;
        Ok(Group {
            line: dir.make_sub(LINE, 0o777)?,
            running: dir.make_sub(RUNNING, 0o777)?,
            dir,
        })
    }

    /// The group's folder, if it exists: for readers, which make nothing.
    pub(crate) fn existing(root: &Path, name: &str) -> Option<Group> {
        if !valid_group(name) {
            return None;
        }
        let dir = Dir::open(root).ok()?.sub(QUEUE).ok()?.sub(name).ok()?;
        Some(Group {
            line: dir.sub(LINE).ok()?,
            running: dir.sub(RUNNING).ok()?,
            dir,
        })
    }

    /// The names of the groups of the store at `root`.
    pub(crate) fn names(root: &Path) -> Vec<String> {
        let Ok(queue) = Dir::open(root).and_then(|r| r.sub(QUEUE)) else {
            return Vec::new();
        };
        let mut names: Vec<String> = queue
            .entries()
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|n| valid_group(n))
            .collect();
        names.sort();
        names
    }

    /// Holds the gate until the guard is dropped.
    pub(crate) fn gate(&self) -> io::Result<Gate> {
        let file = self.dir.lock_file(GATE)?;
        let file = nix::fcntl::Flock::lock(file, nix::fcntl::FlockArg::LockExclusive)
            .map_err(|(_, e)| io::Error::from(e))?;
        Ok(Gate { _lock: file })
    }

    /// The next ticket: handed out under the gate, so no two are alike.
    pub(crate) fn take_ticket(&self) -> io::Result<u64> {
        let _gate = self.gate()?;
        let mut file = self.dir.lock_file(NEXT)?;
        let mut text = String::new();
        file.read_to_string(&mut text)?;
        // A counter lost or garbled only costs the order of turns queued
        // before it; names stay unique by their session id.
        let ticket = text.trim().parse::<u64>().unwrap_or(1).max(1);
        file.set_len(0)?;
        file.rewind()?;
        write!(file, "{}", ticket + 1)?;
        Ok(ticket)
    }

    /// How many turns of the group run now.
    pub(crate) fn running_count(&self) -> usize {
        entries::live(&self.running)
            .into_iter()
            .filter(|e| e.live)
            .count()
    }

    /// Marks a turn running in the group, for as long as the slot is held.
    /// Counting and claiming are one step under `gate`, which the caller
    /// holds when a limit applies.
    pub(crate) fn claim(&self, id: &str, turn: u32) -> io::Result<Held> {
        Held::make(&self.running, &format!("{id}-{turn}"))
    }

    /// Joins the line with `ticket`.
    pub(crate) fn join(&self, ticket: u64, id: &str) -> io::Result<Held> {
        Held::make(&self.line, &line_name(ticket, id))
    }

    /// The live waiter just ahead of `ticket` in the line, if any.
    pub(crate) fn ahead_of(&self, ticket: u64, id: &str) -> Option<String> {
        let me = line_name(ticket, id);
        entries::live(&self.line)
            .into_iter()
            .filter(|e| e.live && e.name < me)
            .map(|e: Entry| e.name)
            .max()
    }

    /// Whether anyone waits in the line.
    pub(crate) fn line_is_empty(&self) -> bool {
        !entries::live(&self.line).iter().any(|e| e.live)
    }

    /// The 1-based place of `ticket` in the line: live waiters ahead of it,
    /// plus one. None if it is not in the line.
    pub(crate) fn place(&self, ticket: u64, id: &str) -> Option<usize> {
        let me = line_name(ticket, id);
        let live = entries::live(&self.line);
        live.iter()
            .any(|e| e.name == me && e.live)
            .then(|| live.iter().filter(|e| e.live && e.name < me).count() + 1)
    }

    /// Opens a waiter's line entry to wait on its lock.
    pub(crate) fn line_entry(&self, name: &str) -> io::Result<std::fs::File> {
        self.line.read_file(name)
    }

    pub(crate) fn line_dir(&self) -> &Dir {
        &self.line
    }

    /// The folders a head of the line watches: a slot freed, a waiter gone.
    pub(crate) fn watched(&self) -> [&Dir; 2] {
        [&self.running, &self.line]
    }

    /// Entries whose holders are gone (a supervisor killed outright):
    /// counted, and removed with `remove`. They are never counted as
    /// running or waiting either way.
    pub(crate) fn sweep(&self, remove: bool) -> usize {
        let mut n = 0;
        for dir in [&self.running, &self.line] {
            for e in entries::live(dir).into_iter().filter(|e| !e.live) {
                n += 1;
                if remove {
                    // Names are never reused, so the entry removed is the
                    // dead one, not a new one at its name.
                    let _ = dir.remove_file(&e.name);
                }
            }
        }
        n
    }
}

/// Held while counting and claiming.
pub(crate) struct Gate {
    _lock: nix::fcntl::Flock<std::fs::File>,
}

/// Tickets sort as text: zero-padded to the width of any u64.
fn line_name(ticket: u64, id: &str) -> String {
    format!("{ticket:020}-{id}")
}

#[cfg(test)]
mod tests;
