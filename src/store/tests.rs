use super::*;
use crate::model::{SessionStatus, Usage};
use crate::timefmt::Timestamp;
use std::fs;

fn session(id: &str) -> Session {
    Session {
        id: id.parse().unwrap(),
        task: "t".into(),
        status: SessionStatus::Completed,
        working_dir: "/w".into(),
        created_at: Timestamp::now(),
        updated_at: Timestamp::now(),
        pid: None,
        exit_code: Some(0),
        model: String::new(),
        turn: 1,
        messages: vec![],
        token_usage: Usage::default(),
        error: None,
        source: "user".into(),
        adapter: "codex".into(),
        sandbox: None,
        cost_usd: None,
        agent_session_id: None,
        turns: vec![],
        worktree: None,
        snapshots: false,
        timeout_secs: None,
        budget: Default::default(),
        on_end: None,
        agent_args: Vec::new(),
        group: None,
        max_running: None,
        other: Default::default(),
    }
}

#[test]
fn resolves_prefixes() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::new(dir.path());
    for id in ["abc123", "abd999", "ff00"] {
        store.create(&session(id)).unwrap();
    }
    assert_eq!(store.resolve("abc").unwrap(), "abc123");
    assert_eq!(store.resolve("FF").unwrap(), "ff00");
    match store.resolve("ab") {
        Err(Error::Ambiguous { candidates, .. }) => {
            assert_eq!(candidates, ["abc123", "abd999"])
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(store.resolve("0"), Err(Error::NotFound(_))));
    for bad in ["../x", "a/b", "..", "", "abc 1", "abc\0"] {
        assert!(
            matches!(store.resolve(bad), Err(Error::InvalidId(_))),
            "{bad:?}"
        );
    }
}

#[test]
fn update_is_atomic_and_leaves_no_temp_files() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::new(dir.path());
    store.create(&session("ab")).unwrap();
    store
        .update("ab", |s| {
            s.task = "changed".into();
            Ok(())
        })
        .unwrap();
    assert_eq!(store.load("ab").unwrap().task, "changed");
    let names: Vec<_> = fs::read_dir(store.session_dir("ab"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert!(!names.iter().any(|n| n.ends_with(".tmp")), "{names:?}");
}

#[test]
fn a_link_planted_at_the_temporary_name_is_not_followed() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::new(dir.path());
    store.create(&session("ab")).unwrap();
    let precious = dir.path().join("precious");
    fs::write(&precious, "keep me").unwrap();
    let planted = store
        .session_dir("ab")
        .join(format!(".{META}.{}.tmp", std::process::id()));
    std::os::unix::fs::symlink(&precious, &planted).unwrap();
    store
        .update("ab", |s| {
            s.task = "changed".into();
            Ok(())
        })
        .unwrap();
    assert_eq!(fs::read_to_string(&precious).unwrap(), "keep me");
    assert!(fs::symlink_metadata(store.meta_path("ab"))
        .unwrap()
        .is_file());
    assert_eq!(store.load("ab").unwrap().task, "changed");
    assert!(!planted.exists());
}

#[test]
fn corrupt_and_missing_meta_are_told_apart() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::new(dir.path());
    store.create(&session("ab")).unwrap();
    fs::write(store.meta_path("ab"), b"{\"id\": ").unwrap();
    assert!(matches!(store.load("ab"), Err(Error::CorruptMeta { .. })));
    assert!(matches!(store.load("cd"), Err(Error::NotFound(_))));
    let (ok, bad) = store.load_all().unwrap();
    assert!(ok.is_empty());
    assert_eq!(bad.len(), 1);
}
