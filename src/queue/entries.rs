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
            Ok(file) => match Flock::lock(file, FlockArg::LockSharedNonblock) {
                Err(_) => true,
                // Its maker removes an entry before letting go of its lock:
                // one whose lock was free is dead only if it is still there.
                Ok(locked) if still_there(dir, &name, &locked) => false,
                Ok(_) => continue,
            },
            // Gone since the listing: its maker left.
            Err(_) => continue,
        };
        out.push(Entry { name, live });
    }
    out
}

/// Whether `name` in `dir` is still the file `open` is.
fn still_there(dir: &Dir, name: &str, open: &std::fs::File) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (dir.stat(name), open.metadata()) {
        (Ok(st), Ok(md)) => st.st_ino == md.ino() && st.st_dev == md.dev(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An entry whose maker removed it while it was being checked is gone,
    /// not dead: `doctor` must not count it.
    #[test]
    fn an_entry_removed_while_checked_is_not_still_there() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = Dir::open(tmp.path()).unwrap();
        let held = Held::make(&dir, "00000000000000000001-a").unwrap();
        let open = dir.read_file("00000000000000000001-a").unwrap();
        assert!(still_there(&dir, "00000000000000000001-a", &open));
        assert!(live(&dir).iter().all(|e| e.live));
        drop(held);
        assert!(!still_there(&dir, "00000000000000000001-a", &open));
        // A new file at the name is not the one checked either.
        std::fs::write(tmp.path().join("00000000000000000001-a"), b"").unwrap();
        assert!(!still_there(&dir, "00000000000000000001-a", &open));
        // Left behind with nobody holding it: dead.
        assert!(live(&dir).iter().all(|e| !e.live));
    }
}
