//! The index's own behaviour, then the index as `list` uses it.

use super::*;

pub(super) fn key(n: u64) -> FileKey {
    FileKey {
        dev: 1,
        ino: n,
        size: 100 + n as i64,
        mtime: (1_700_000_000, 5),
        ctime: (1_700_000_000, n as i64),
    }
}

pub(super) fn fresh(id: &str, n: u64) -> Fresh {
    Fresh {
        id: id.into(),
        key: key(n),
        brief: format!("{{\"id\":\"{id}\"}}").into_bytes(),
        message: n.is_multiple_of(2).then(|| format!("message {n}")),
    }
}

/// The identity of each index file that exists.
fn files(root: &Path) -> Vec<(String, u64, i64, i64)> {
    let mut out: Vec<_> = std::fs::read_dir(root.join(DIR_NAME))
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let st = nix::sys::stat::stat(&e.path()).unwrap();
            let name = e.file_name().into_string().unwrap();
            (name, st.st_ino, st.st_mtime, st.st_mtime_nsec)
        })
        .collect();
    out.sort();
    out
}

/// An index written with an entry for each id (keys numbered from 1), read
/// back; every entry is checked to be found as written.
fn written(ids: &[&str]) -> (tempfile::TempDir, Index) {
    let dir = tempfile::tempdir().unwrap();
    let all: Vec<Fresh> = ids.iter().zip(1..).map(|(id, n)| fresh(id, n)).collect();
    update(dir.path(), &Index::default(), &[], &all).unwrap();
    let index = Index::load(dir.path());
    assert_eq!(index.len(), ids.len());
    for f in &all {
        let mut first = Vec::new();
        let (r, found) = index.find(&f.id, &mut first).unwrap();
        let mut buf = Vec::new();
        for e in [found, index.read(r, &mut buf).unwrap()] {
            assert_eq!((e.id, e.key), (f.id.as_bytes(), f.key), "{}", f.id);
            assert_eq!(e.brief, f.brief.as_slice());
            assert_eq!(e.message, f.message.as_ref().map(|m| m.as_bytes()));
        }
    }
    (dir, index)
}

#[test]
fn entries_come_back_findable_from_their_files() {
    let (dir, index) = written(&["ab12", "a0", "b5", "0f"]);
    let names: Vec<String> = files(dir.path()).into_iter().map(|f| f.0).collect();
    assert_eq!(names, ["0", "a", "b"]);
    for absent in ["ab", "ab123", "c"] {
        assert!(index.find(absent, &mut Vec::new()).is_none(), "{absent}");
    }
}

#[test]
fn ids_sharing_their_first_eight_bytes_are_told_apart() {
    let ids = [
        "aaaaaaaa",
        "aaaaaaaa0",
        "aaaaaaaa00",
        "aaaaaaaa1",
        "aaaaaaa",
        "aaaaaaab",
        "a",
    ];
    let (_dir, index) = written(&ids);
    for absent in ["aaaaaaaa2", "aaaaaaaa000", "aa", "aaaaaaac", "b"] {
        assert!(index.find(absent, &mut Vec::new()).is_none(), "{absent}");
    }
}

#[test]
fn only_the_owner_can_reach_the_index() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |path: &Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    let (dir, _) = written(&["a1", "b1"]);
    let index = dir.path().join(DIR_NAME);
    assert_eq!(mode(&index), 0o700);
    for file in std::fs::read_dir(&index).unwrap() {
        assert_eq!(mode(&file.unwrap().path()), 0o600);
    }
    // A folder an older zwarm left open is narrowed when next written.
    std::fs::set_permissions(&index, std::fs::Permissions::from_mode(0o755)).unwrap();
    update(dir.path(), &Index::default(), &[], &[fresh("c1", 3)]).unwrap();
    assert_eq!(mode(&index), 0o700);
}

#[test]
fn only_regular_files_of_a_sane_size_are_read() {
    let (dir, _) = written(&["a1", "b1", "c1"]);
    let index = dir.path().join(DIR_NAME);
    // A fifo, which would block a reader forever.
    std::fs::remove_file(index.join("a")).unwrap();
    nix::unistd::mkfifo(&index.join("a"), nix::sys::stat::Mode::S_IRWXU).unwrap();
    // A link, here to a good file: zwarm never makes one, and its target
    // could be anything (/dev/zero).
    let elsewhere = dir.path().join("b-elsewhere");
    std::fs::rename(index.join("b"), &elsewhere).unwrap();
    std::os::unix::fs::symlink(&elsewhere, index.join("b")).unwrap();
    // Far larger than any index, and no need to read it to know.
    let huge = std::fs::OpenOptions::new()
        .append(true)
        .open(index.join("c"))
        .unwrap();
    huge.set_len(MAX_FILE + 1).unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let index = Index::load(dir.path());
        let _ = tx.send((index.len(), dir));
    });
    let (len, _dir) = rx
        .recv_timeout(Duration::from_secs(10))
        .expect("loading the index hung");
    assert_eq!(len, 0);
}

#[test]
fn a_link_planted_at_the_temporary_name_is_not_followed() {
    let dir = tempfile::tempdir().unwrap();
    let index = dir.path().join(DIR_NAME);
    std::fs::create_dir(&index).unwrap();
    let precious = dir.path().join("precious");
    std::fs::write(&precious, "keep me").unwrap();
    let planted = index.join(format!(".a.{}.tmp", std::process::id()));
    std::os::unix::fs::symlink(&precious, &planted).unwrap();
    update(dir.path(), &Index::default(), &[], &[fresh("a1", 1)]).unwrap();
    assert_eq!(std::fs::read_to_string(&precious).unwrap(), "keep me");
    assert!(std::fs::symlink_metadata(index.join("a"))
        .unwrap()
        .is_file());
    assert!(Index::load(dir.path())
        .find("a1", &mut Vec::new())
        .is_some());
    assert!(!planted.exists());
}

#[test]
fn only_the_files_whose_entries_change_are_rewritten() {
    let (dir, old) = written(&["a1", "a2", "b1", "c1"]);
    let before = files(dir.path());
    let refs = |ids: &[&str]| -> Vec<EntryRef> {
        ids.iter()
            .map(|id| old.find(id, &mut Vec::new()).unwrap().0)
            .collect()
    };
    // Nothing new and nothing gone: nothing written.
    update(dir.path(), &old, &refs(&["a1", "a2", "b1", "c1"]), &[]).unwrap();
    assert_eq!(files(dir.path()), before);
    // a2 replaced, c1 gone, b untouched.
    let mut newer = fresh("a2", 9);
    newer.brief = b"new".to_vec();
    update(dir.path(), &old, &refs(&["a1", "a2", "b1"]), &[newer]).unwrap();
    let after = files(dir.path());
    assert_eq!(after[1], before[1], "b was rewritten");
    assert_ne!(after[0], before[0]);
    assert_ne!(after[2], before[2]);
    let index = Index::load(dir.path());
    assert_eq!(index.len(), 3);
    let buf = &mut Vec::new();
    assert!(index.find("c1", buf).is_none());
    let (_, a2) = index.find("a2", buf).unwrap();
    assert_eq!((a2.brief, a2.key), (&b"new"[..], key(9)));
    assert_eq!(index.find("a1", buf).unwrap().1.key, key(1));
}

#[test]
fn a_file_changed_after_the_cut_off_is_not_settled() {
    // key(1): modified at 1_700_000_000 s + 5 ns, changed at + 1 ns.
    let k = key(1);
    let modified = UNIX_EPOCH + Duration::new(1_700_000_000, 5);
    assert!(k.changed_by(modified));
    assert!(!k.changed_by(modified - Duration::from_nanos(1)));
    let changed_later = FileKey {
        ctime: (1_700_000_001, 0),
        ..k
    };
    assert!(!changed_later.changed_by(modified));
    let before_epoch = FileKey {
        ctime: (-5, 0),
        ..k
    };
    assert!(!before_epoch.changed_by(SystemTime::now()));
}

/// The index as `list` uses it: never a different answer, only a faster one.
mod through_the_store;

#[test]
fn entries_are_read_from_the_file_they_were_checked_in() {
    let ids = ["a1", "a2", "b1"];
    let (dir, index) = written(&ids);
    // A rewrite replaces the files by a rename: what was loaded still reads
    // from the files it was checked in.
    update(dir.path(), &Index::default(), &[], &[fresh("a1", 7)]).unwrap();
    let buf = &mut Vec::new();
    assert_eq!(index.find("a1", buf).unwrap().1.key, key(1));
    assert_eq!(index.find("a2", buf).unwrap().1.key, key(2));
    // Rewritten in place, which zwarm never does: nothing that no longer
    // reads as it did is served.
    let (b1, _) = index.find("b1", buf).unwrap();
    let path = dir.path().join(DIR_NAME).join("b");
    let len = std::fs::metadata(&path).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(len.min(20))
        .unwrap();
    assert!(index.read(b1, buf).is_none());
    assert!(index.find("b1", buf).is_none());
}
