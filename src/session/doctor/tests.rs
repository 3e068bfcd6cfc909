use super::stray::{stray_files, stray_index_files, temp_file_writer};
use super::Kind;
use std::time::Duration;

#[test]
fn a_creation_that_never_finished_is_moved_aside_once_it_is_not_under_way() {
    let root = tempfile::tempdir().unwrap();
    let sessions = root.path().join("sessions");
    let id = "0b5e7a1c-0000-4000-8000-000000000001";
    let left = sessions.join(format!(".creating-{id}"));
    std::fs::create_dir_all(left.join("turns")).unwrap();
    std::fs::write(left.join("meta.json"), b"{}").unwrap();
    let mut found = Vec::new();
    stray_files(root.path(), &sessions, true, &mut found);
    assert!(found.is_empty(), "a start under way: {found:?}");
    std::fs::File::open(&left)
        .unwrap()
        .set_modified(std::time::SystemTime::now() - Duration::from_secs(60))
        .unwrap();
    stray_files(root.path(), &sessions, false, &mut found);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(
        (found[0].kind, found[0].session.as_deref()),
        (Kind::InterruptedCreation, Some(id))
    );
    assert!(left.exists(), "reported, not moved");
    let mut fixed = Vec::new();
    stray_files(root.path(), &sessions, true, &mut fixed);
    assert!(fixed[0].fixed, "{fixed:?}");
    assert!(!left.exists());
    let moved: Vec<_> = std::fs::read_dir(root.path().join("quarantine"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(moved.len(), 1);
    assert!(moved[0].join("meta.json").is_file(), "nothing lost");
}

#[test]
fn finds_and_removes_what_a_write_of_the_index_left() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join(crate::store::list_index::DIR_NAME);
    std::fs::create_dir(&dir).unwrap();
    let dead_pid = {
        let mut c = std::process::Command::new("true").spawn().unwrap();
        c.wait().unwrap();
        c.id()
    };
    let left = dir.join(format!(".a.{dead_pid}.tmp"));
    let writing = dir.join(format!(".b.{}.tmp", std::process::id()));
    for file in [&left, &writing, &dir.join("a")] {
        std::fs::write(file, b"x").unwrap();
    }
    let mut found = Vec::new();
    stray_index_files(root.path(), false, &mut found);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].kind, Kind::TempFile);
    assert!(found[0].detail.contains(&format!(".a.{dead_pid}.tmp")));
    assert!(left.exists());
    let mut fixed = Vec::new();
    stray_index_files(root.path(), true, &mut fixed);
    assert!(fixed[0].fixed);
    assert!(!left.exists());
    assert!(writing.exists() && dir.join("a").exists());
}

#[test]
fn recognises_temp_files() {
    assert_eq!(temp_file_writer(".meta.json.4242.tmp"), Some(4242));
    assert_eq!(temp_file_writer("meta.json"), None);
    assert_eq!(temp_file_writer(".meta.json.x.tmp"), None);
}
