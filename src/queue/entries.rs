//! Entries of a queue folder: files that say something (a turn runs, a
//! supervisor waits) for exactly as long as their maker holds their lock.

use crate::dir::Dir;
use nix::fcntl::{Flock, FlockArg};
use std::fs::File;
use std::io;

/// A queue entry this process made and holds; dropped, it is removed and
/// then let go, so no one sees it unlocked.
#[derive(Debug)]
pub(crate) struct Held {
    lock: Option<Flock<File>>,
    dir: Dir,
    name: String,
}

impl Held {
    /// Makes `name` in `dir`, locked before it can be seen there.
    pub(crate) fn make(dir: &Dir, name: &str) -> io::Result<Held> {
        let tmp = format!(".{name}.{}.tmp", std::process::id());
        let file = dir.create_temp(&tmp, 0o666)?;
        // Close-on-exec (as every file zwarm opens): an agent or hook must
        // not inherit the lock and keep the entry alive after its maker.
        let lock = Flock::lock(file, FlockArg::LockExclusiveNonblock).map_err(|(_, e)| {
            let _ = dir.remove_file(&tmp);
            io::Error::from(e)
        })?;
        if let Err(e) = dir.rename(&tmp, dir, name) {
            let _ = dir.remove_file(&tmp);
            return Err(e);
        }
        Ok(Held {
            lock: Some(lock),
            // The folder is reopened through its descriptor, so the entry is
            // removed from the folder it was made in.
            dir: dir.sub(".")?,
            name: name.to_string(),
        })
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        let _ = self.dir.remove_file(&self.name);
        drop(self.lock.take());
    }
}

/// An entry as a reader finds it.
#[derive(Debug)]
pub(crate) struct Entry {
    pub name: String,
    /// Its maker still holds it.
    pub live: bool,
}

/// The entries of `dir` (not the dot-names of entries being made), each
/// tested by trying a shared lock: refused only while its maker holds it.
/// Opened for reading only, which a watcher of the folder does not wake
/// for.
pub(crate) fn live(dir: &Dir) -> Vec<Entry> {
    let Ok(entries) = dir.entries() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for entry in entries.flatten() {
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        if name.starts_with('.') {
            continue;
        }
        let live = match dir.read_file(&name) {
            Ok(file) => Flock::lock(file, FlockArg::LockSharedNonblock).is_err(),
            // Gone since the listing: its maker left.
            Err(_) => continue,
        };
        out.push(Entry { name, live });
    }
    out
}
