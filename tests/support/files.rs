//! Files and folders: what is under a folder (to prove a command changed
//! nothing), which locks are held on it, writing files the way zwarm does,
//! and links planted where a followed one would do harm.

use super::agents::target_tempdir;
use std::collections::hash_map::DefaultHasher;
use std::collections::{BTreeMap, HashMap};
use std::hash::{Hash, Hasher};
use std::io::ErrorKind;
use std::os::unix::fs::symlink;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use tempfile::TempDir;

/// Every file, folder and link under `root`, links not followed. Entries
/// that vanish while it looks are left out; any other error fails.
pub fn walk(root: &Path) -> Vec<(PathBuf, std::fs::Metadata)> {
    let mut out = Vec::new();
    let mut todo = vec![root.to_path_buf()];
    while let Some(dir) = todo.pop() {
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == ErrorKind::NotFound => continue,
            Err(e) => panic!("read {}: {e}", dir.display()),
        };
        for e in entries {
            let e = e.unwrap_or_else(|e| panic!("read {}: {e}", dir.display()));
            let m = match std::fs::symlink_metadata(e.path()) {
                Ok(m) => m,
                Err(e) if e.kind() == ErrorKind::NotFound => continue,
                Err(err) => panic!("stat {}: {err}", e.path().display()),
            };
            if m.is_dir() {
                todo.push(e.path());
            }
            out.push((e.path(), m));
        }
    }
    out
}

/// What is under a folder: each path with what it holds.
pub type Snapshot = BTreeMap<PathBuf, String>;

/// Each path under `root` with a file's length and a hash of its bytes, a
/// link's target or a folder's mode.
pub fn snapshot(root: &Path) -> Snapshot {
    walk(root)
        .into_iter()
        .map(|(path, m)| {
            let what = if m.is_symlink() {
                let target = std::fs::read_link(&path).unwrap_or_default();
                format!("link:{}", target.display())
            } else if m.is_dir() {
                format!("dir:{:o}", m.permissions().mode())
            } else {
                let bytes = std::fs::read(&path).unwrap_or_default();
                let mut h = DefaultHasher::new();
                bytes.hash(&mut h);
                format!("file:{}:{:016x}", bytes.len(), h.finish())
            };
            (path, what)
        })
        .collect()
}

/// Nothing appeared, vanished or changed between the two snapshots.
#[track_caller]
pub fn assert_unchanged(before: &Snapshot, after: &Snapshot, what: &str) {
    let changed: Vec<&PathBuf> = before
        .iter()
        .filter(|(p, h)| after.get(*p) != Some(h))
        .map(|(p, _)| p)
        .chain(after.keys().filter(|p| !before.contains_key(*p)))
        .collect();
    assert!(changed.is_empty(), "{what} changed {changed:?}");
}

/// Every lock (flock or POSIX) that any process holds on a file under
/// `root`, as "pid path", from `/proc/locks`.
pub fn locks_under(root: &Path) -> Vec<String> {
    let mut files = HashMap::new();
    for (path, m) in walk(root) {
        files.insert((libc::major(m.dev()), libc::minor(m.dev()), m.ino()), path);
    }
    let text = std::fs::read_to_string("/proc/locks").unwrap_or_default();
    text.lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.get(1) == Some(&"->") {
                return None;
            }
            let mut dev = f.get(5)?.split(':');
            let key = (
                u32::from_str_radix(dev.next()?, 16).ok()?,
                u32::from_str_radix(dev.next()?, 16).ok()?,
                dev.next()?.parse().ok()?,
            );
            let path = files.get(&key)?;
            Some(format!("{} {}", f.get(4)?, path.display()))
        })
        .collect()
}

/// Temporary files of `meta.json` writes left in a session folder.
pub fn temp_files(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with(".meta.json.") && n.ends_with(".tmp"))
                .collect()
        })
        .unwrap_or_default()
}

/// Replaces a file through a rename, as zwarm (or an agent) would, so no
/// reader sees half of it.
pub fn put_file(path: &Path, bytes: &[u8]) {
    let tmp = path.with_extension("test-edit");
    std::fs::write(&tmp, bytes).unwrap_or_else(|e| panic!("write {}: {e}", tmp.display()));
    std::fs::rename(&tmp, path).unwrap_or_else(|e| panic!("rename to {}: {e}", path.display()));
}

/// Copies the tree at `from` to `to`.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// Makes a file executable by its owner and everyone.
pub fn set_executable(path: &Path) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
        .unwrap_or_else(|e| panic!("chmod {}: {e}", path.display()));
}

/// A folder outside the store, with a file and a folder in it, that a
/// followed link would write into.
pub struct Outside {
    dir: TempDir,
}

impl Default for Outside {
    fn default() -> Self {
        Outside::new()
    }
}

impl Outside {
    pub fn new() -> Outside {
        let dir = target_tempdir("outside-");
        std::fs::write(dir.path().join("precious"), b"keep me\n").unwrap();
        std::fs::create_dir(dir.path().join("folder")).unwrap();
        std::fs::write(dir.path().join("folder/inner"), b"keep me too\n").unwrap();
        Outside { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn file(&self) -> PathBuf {
        self.path().join("precious")
    }

    pub fn folder(&self) -> PathBuf {
        self.path().join("folder")
    }

    /// What is there now.
    pub fn snapshot(&self) -> Snapshot {
        snapshot(self.path())
    }

    /// As it was at `before`, to every byte, link and folder, and nothing
    /// new.
    #[track_caller]
    pub fn assert_untouched(&self, before: &Snapshot, what: &str) {
        let after = self.snapshot();
        assert_eq!(
            before.keys().collect::<Vec<_>>(),
            after.keys().collect::<Vec<_>>(),
            "{what}: files appeared or vanished outside the store"
        );
        for (path, bytes) in before {
            assert!(
                after.get(path) == Some(bytes),
                "{what}: {} outside the store changed",
                path.display()
            );
        }
    }
}

pub fn is_link(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.is_symlink())
}

/// Replaces whatever stands at `at` by a link to `to`.
pub fn plant(at: &Path, to: &Path) {
    match std::fs::symlink_metadata(at) {
        Ok(m) if m.is_dir() => std::fs::remove_dir_all(at).unwrap(),
        Ok(_) => std::fs::remove_file(at).unwrap(),
        Err(_) => {}
    }
    symlink(to, at).unwrap();
}
