//! The index as `list` uses it: never a different answer, only a faster one.

use super::*;
use crate::model::{Message, Session, SessionStatus, TurnRecord, Usage};
use crate::render::json::SessionJson;
use crate::store::Store;
use crate::timefmt::Timestamp;
use std::fs;

const LEGACY: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/data/legacy-2.3.5/.zwarm/sessions"
);

fn session(id: &str, status: SessionStatus) -> Session {
    let mut s: Session = serde_json::from_value(serde_json::json!({
        "id": id, "task": format!("task of {id}"), "status": status.as_str(),
        "working_dir": "/w", "created_at": "2026-11-23T19:30:21.123456",
        "updated_at": "2026-11-23T19:31:00", "model": "m", "turn": 2,
    }))
    .unwrap();
    s.messages = vec![
        Message::new("user", "do it", 1),
        Message::new("assistant", format!("done {id}"), 1),
        Message::new("user", "more", 2),
    ];
    s.token_usage = Usage {
        input_tokens: 10,
        output_tokens: 4,
        total_tokens: 14,
        ..Usage::default()
    };
    s.turns = vec![TurnRecord::open(2, Some(Timestamp::now()))];
    s
}

/// A store with zwarm 2.3.5's sessions, finished ones of ours and a
/// running one, every file changed at least `margin` ago.
fn store(margin: Duration) -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::new(dir.path().join(".zwarm"));
    let sessions = store.sessions_dir();
    for entry in fs::read_dir(LEGACY).unwrap() {
        let entry = entry.unwrap();
        let to = sessions.join(entry.file_name());
        fs::create_dir_all(&to).unwrap();
        fs::copy(entry.path().join("meta.json"), to.join("meta.json")).unwrap();
    }
    for (i, status) in [
        SessionStatus::Completed,
        SessionStatus::Failed,
        SessionStatus::Killed,
        SessionStatus::Running,
    ]
    .into_iter()
    .enumerate()
    {
        store.create(&session(&format!("abc{i}"), status)).unwrap();
    }
    std::thread::sleep(margin + Duration::from_millis(5));
    (dir, store)
}

/// Each session as `list --json` shows it, by id.
fn shown(sessions: &[Session]) -> Vec<String> {
    let mut out: Vec<String> = sessions
        .iter()
        .map(|s| serde_json::to_string(&SessionJson::from(s)).unwrap())
        .collect();
    out.sort();
    out
}

fn list(store: &Store, last_message: bool, margin: Duration) -> (Vec<String>, IndexUse) {
    let settled = SystemTime::now() - margin;
    let (ok, bad, used) = store.load_all_brief_settled(last_message, settled).unwrap();
    assert!(bad.is_empty(), "{bad:?}");
    let held = shown(&ok);
    // `list` itself holds rows, and parses an entry again when it prints
    // its row: the same sessions either way.
    let scan = store
        .scan_brief_settled(last_message, settled, false, &|s: &Session| s.status)
        .unwrap();
    let mut again = Vec::new();
    for row in &scan.rows {
        let s = scan.session(row).unwrap();
        assert_eq!((row.id.as_str(), row.status), (s.id.as_str(), s.status));
        assert_eq!((row.created_at, row.summary), (s.created_at, s.status));
        again.push(s.into_owned());
    }
    assert_eq!(shown(&again), held);
    (held, used)
}

/// What the sessions' files say, read without the index.
fn truth(store: &Store, last_message: bool) -> Vec<String> {
    let (all, bad) = store.load_all().unwrap();
    assert!(bad.is_empty());
    let mut all: Vec<Session> = all;
    if !last_message {
        all.iter_mut().for_each(|s| s.messages.clear());
    }
    shown(&all)
}

/// The identity of each index file.
fn index_files(store: &Store) -> Vec<(u64, i64, i64)> {
    let mut out: Vec<_> = fs::read_dir(store.root().join(DIR_NAME))
        .unwrap()
        .map(|e| {
            let st = nix::sys::stat::stat(&e.unwrap().path()).unwrap();
            (st.st_ino, st.st_mtime, st.st_mtime_nsec)
        })
        .collect();
    out.sort();
    out
}

const MARGIN: Duration = Duration::from_millis(60);

/// A store whose one session, `ab`, has `meta` as its `meta.json`.
fn store_holding_ab(meta: &[u8]) -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::new(dir.path().join(".zwarm"));
    let folder = store.session_dir("ab");
    fs::create_dir_all(&folder).unwrap();
    fs::write(folder.join("meta.json"), meta).unwrap();
    (dir, store)
}

#[test]
fn serves_finished_sessions_with_what_their_files_say() {
    let (_dir, store) = store(MARGIN);
    let (all, _) = store.load_all().unwrap();
    let finished = all.iter().filter(|s| !s.status.is_active()).count();
    assert!(finished >= 3 && finished < all.len());
    for last_message in [false, true] {
        let (first, used) = list(&store, last_message, MARGIN);
        assert_eq!(first, truth(&store, last_message));
        if !last_message {
            assert_eq!((used.hits, used.fresh), (0, finished));
        }
        let written = index_files(&store);
        let (second, used) = list(&store, last_message, MARGIN);
        assert_eq!(second, first);
        assert_eq!(
            used,
            IndexUse {
                hits: finished,
                fresh: 0
            }
        );
        assert_eq!(index_files(&store), written, "rewritten with nothing new");
    }
}

#[test]
fn files_changed_since_the_cut_off_are_read_not_indexed() {
    let (_dir, store) = store(Duration::ZERO);
    let (first, used) = list(&store, false, Duration::from_secs(3600));
    assert_eq!(used, IndexUse::default());
    assert_eq!(first, truth(&store, false));
    assert!(!store.root().join(DIR_NAME).exists());
}

#[test]
fn an_in_place_rewrite_of_the_same_size_and_time_is_seen() {
    let (_dir, store) = store(MARGIN);
    list(&store, false, MARGIN);
    // The way zwarm 2.3.5 writes (truncate, write), one letter changed,
    // the modification time put back: only the change time tells.
    let path = store.meta_path("abc0");
    let before = nix::sys::stat::stat(&path).unwrap();
    let text = fs::read_to_string(&path).unwrap();
    fs::write(&path, text.replace("task of abc0", "task of abcX")).unwrap();
    let (atime, mtime) = (
        nix::sys::time::TimeSpec::new(before.st_atime, before.st_atime_nsec),
        nix::sys::time::TimeSpec::new(before.st_mtime, before.st_mtime_nsec),
    );
    nix::sys::stat::utimensat(
        None,
        &path,
        &atime,
        &mtime,
        nix::sys::stat::UtimensatFlags::FollowSymlink,
    )
    .unwrap();
    let after = nix::sys::stat::stat(&path).unwrap();
    assert_eq!(
        (after.st_size, after.st_mtime_nsec),
        (before.st_size, before.st_mtime_nsec)
    );
    for last_message in [false, true] {
        let (shown, used) = list(&store, last_message, Duration::ZERO);
        assert_eq!(shown, truth(&store, last_message));
        assert!(shown.iter().any(|s| s.contains("task of abcX")));
        assert!(used.hits > 0);
    }
}

#[test]
fn a_session_changed_or_removed_is_not_served_from_the_index() {
    let (_dir, store) = store(MARGIN);
    list(&store, true, MARGIN);
    // Resumed: running again, through zwarm's own atomic write.
    store
        .update("abc1", |s| {
            s.status = SessionStatus::Running;
            Ok(())
        })
        .unwrap();
    store.remove("abc2").unwrap();
    let (shown, _) = list(&store, true, Duration::ZERO);
    assert_eq!(shown, truth(&store, true));
    let index = Index::load(store.root());
    assert!(index.find("abc0", &mut Vec::new()).is_some());
    assert!(
        index.find("abc1", &mut Vec::new()).is_none(),
        "a running session was kept"
    );
    assert!(
        index.find("abc2", &mut Vec::new()).is_none(),
        "a removed session was kept"
    );
}

#[test]
fn a_damaged_index_is_ignored_and_replaced() {
    let (_dir, store) = store(MARGIN);
    list(&store, false, MARGIN);
    for file in fs::read_dir(store.root().join(DIR_NAME)).unwrap() {
        let path = file.unwrap().path();
        let mut bytes = fs::read(&path).unwrap();
        bytes.truncate(bytes.len() / 2);
        fs::write(&path, &bytes).unwrap();
    }
    let (shown, used) = list(&store, false, MARGIN);
    assert_eq!(shown, truth(&store, false));
    assert_eq!(used.hits, 0);
    assert_eq!(Index::load(store.root()).len(), used.fresh);
    // An entry that does not parse is read from the file instead.
    let abc0 = Fresh {
        id: "abc0".into(),
        key: FileKey::of(&nix::sys::stat::stat(&store.meta_path("abc0")).unwrap()),
        brief: b"{not json".to_vec(),
        message: None,
    };
    let index = Index::load(store.root());
    let everything_else: Vec<EntryRef> = ["abc1", "abc2"]
        .iter()
        .map(|id| index.find(id, &mut Vec::new()).unwrap().0)
        .collect();
    update(store.root(), &index, &everything_else, &[abc0]).unwrap();
    let (shown, used) = list(&store, true, MARGIN);
    assert_eq!(shown, truth(&store, true));
    assert!(used.fresh >= 1);
    let index = Index::load(store.root());
    let buf = &mut Vec::new();
    let (_, abc0) = index.find("abc0", buf).unwrap();
    assert!(crate::store::brief::parse(abc0.brief, true).is_ok());
}

#[test]
fn serves_the_very_times_and_numbers_the_file_holds() {
    // Digits past the microsecond, an offset, a float serde_json reads
    // back as another number once written as the shortest text for it.
    let text = br#"{"id": "ab", "task": "t", "status": "completed", "working_dir": "/w",
        "created_at": "2026-01-01T00:00:00.000000100+00:00",
        "updated_at": "2026-01-01T00:00:00.000000900",
        "cost_usd": 0.919663223151467574, "messages": []}"#;
    let (_dir, store) = store_holding_ab(text);
    let file = crate::store::brief::parse(text, false).unwrap();
    std::thread::sleep(MARGIN + Duration::from_millis(5));
    let list = || {
        let settled = SystemTime::now() - MARGIN;
        let (ok, bad, used) = store.load_all_brief_settled(false, settled).unwrap();
        assert!(bad.is_empty(), "{bad:?}");
        (ok, used)
    };
    let (first, used) = list();
    assert_eq!((used.fresh, first.as_slice()), (1, &[file.clone()][..]));
    let (served, used) = list();
    assert_eq!(used.hits, 1);
    assert_eq!(served, [file]);
    let index = Index::load(store.root());
    let buf = &mut Vec::new();
    let brief = index.find("ab", buf).unwrap().1.brief;
    let brief = std::str::from_utf8(brief).unwrap();
    for verbatim in [
        r#""created_at":"2026-01-01T00:00:00.000000100+00:00""#,
        r#""updated_at":"2026-01-01T00:00:00.000000900""#,
        r#""cost_usd":0.919663223151467574"#,
    ] {
        assert!(brief.contains(verbatim), "{verbatim} in {brief}");
    }
}

#[test]
fn a_message_only_an_entry_reads_does_not_hide_a_settled_session() {
    // The table skips messages it does not show; an entry keeps the
    // last agent message, which must be text.
    let text = br#"{"id": "ab", "task": "t", "status": "completed", "working_dir": "/w",
        "created_at": "2026-01-01T00:00:00", "updated_at": "2026-01-01T00:00:00",
        "messages": [{"role": "assistant", "content": 5}]}"#;
    let (_dir, store) = store_holding_ab(text);
    let listed = |last_message: bool, margin: Duration| {
        let settled = SystemTime::now() - margin;
        let (ok, bad, used) = store.load_all_brief_settled(last_message, settled).unwrap();
        let ids = |ids: Vec<String>| ids.join(",");
        (
            ids(ok.into_iter().map(|s| s.id.into()).collect()),
            ids(bad.into_iter().map(|p| p.id).collect()),
            used,
        )
    };
    // Fresh, then settled: the table shows it either way, never indexed.
    let fresh = listed(false, Duration::from_secs(3600));
    assert_eq!(fresh, ("ab".into(), String::new(), IndexUse::default()));
    std::thread::sleep(MARGIN + Duration::from_millis(5));
    for _ in 0..2 {
        assert_eq!(listed(false, MARGIN), fresh);
    }
    assert!(Index::load(store.root())
        .find("ab", &mut Vec::new())
        .is_none());
    // `list --json` shows the last message, and skips it whatever its age.
    let skipped = (String::new(), "ab".into(), IndexUse::default());
    assert_eq!(listed(true, Duration::from_secs(3600)), skipped);
    assert_eq!(listed(true, MARGIN), skipped);
}

fn arbitrary_meta() -> impl proptest::strategy::Strategy<Value = serde_json::Value> {
    use proptest::prelude::*;
    let status = prop::sample::select(vec!["pending", "running", "completed", "failed", "killed"]);
    (
        status,
        "\\PC{0,80}",
        prop::option::of("\\PC{0,200}"),
        prop::option::of("[a-z\"\\\\ \n]{0,40}"),
        any::<u32>(),
        prop::option::of(0.0f64..100.0),
        prop::bool::ANY,
    )
        .prop_map(|(status, task, message, error, tokens, cost, ours)| {
            let mut messages = vec![serde_json::json!({"role": "user", "content": task})];
            if let Some(m) = message {
                messages.push(serde_json::json!({"role": "assistant", "content": m}));
            }
            let mut meta = serde_json::json!({
                "task": task, "status": status, "working_dir": "/w",
                "created_at": "2026-11-23T19:30:21.123456", "updated_at": "2026-11-23T19:31:00",
                "pid": null, "exit_code": null, "model": "m", "turn": 1, "messages": messages,
                "token_usage": {"input_tokens": tokens, "output_tokens": 1, "total_tokens": tokens as u64 + 1},
                "error": error, "source": "user", "adapter": "claude_code",
            });
            if ours {
                meta["cost_usd"] = cost.into();
                meta["turns"] = match status {
                    "pending" | "running" => {
                        serde_json::json!([{"turn": 1, "started_at": "2026-11-23T19:30:22"}])
                    }
                    ended => serde_json::json!([{"turn": 1, "started_at": "2026-11-23T19:30:22",
                        "ended_at": "2026-11-23T19:31:00", "ending": ended}]),
                };
            }
            meta
        })
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig {
        cases: 24,
        failure_persistence: None,
        ..Default::default()
    })]

    /// Whatever the sessions hold, the index serves every finished one
    /// and shows exactly what their files say.
    #[test]
    fn what_the_index_serves_is_what_the_files_say(
        metas in proptest::collection::vec(arbitrary_meta(), 1..8),
        first_digits in proptest::collection::vec(0u32..16, 8),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path().join(".zwarm"));
        let mut finished = 0;
        for (i, mut meta) in metas.into_iter().enumerate() {
            let id = format!("{:x}{i:07}-0000-4000-8000-000000000000", first_digits[i]);
            meta["id"] = id.clone().into();
            finished += usize::from(!matches!(meta["status"].as_str(), Some("pending" | "running")));
            let folder = store.session_dir(&id);
            fs::create_dir_all(&folder).unwrap();
            fs::write(folder.join("meta.json"), serde_json::to_vec_pretty(&meta).unwrap()).unwrap();
        }
        std::thread::sleep(MARGIN + Duration::from_millis(5));
        list(&store, false, MARGIN);
        for last_message in [false, true] {
            let (shown, used) = list(&store, last_message, MARGIN);
            proptest::prop_assert_eq!(used, IndexUse { hits: finished, fresh: 0 });
            proptest::prop_assert_eq!(shown, truth(&store, last_message));
        }
    }
}
