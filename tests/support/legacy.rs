//! A `.zwarm` tree written by zwarm 2.3.5's own code
//! (`tests/data/legacy-2.3.5/`, see its README): its sessions, the format
//! 2.3.5 reads, and a world holding a copy of it.

use super::world::World;
use serde_json::{Map, Value};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Output;

// The four sessions of the fixture; the completed one ran two turns in
// the codex thread of the recorded transcripts (`fake::CODEX_THREAD`).
pub const COMPLETED: &str = "a3bb91c8-a954-4430-8d07-8112e7ebfc21";
pub const FAILED: &str = "61db1f73-2833-4dbc-9c79-0c7d132bd18f";
pub const KILLED: &str = "ae8eee9c-3a1f-4d8f-8454-c9d7fd5efe5d";
pub const RUNNING: &str = "0ab09e7d-47da-462f-b994-1e68b897cf61";

/// The keys 2.3.5 writes.
pub const KEYS_235: [&str; 15] = [
    "id",
    "task",
    "status",
    "working_dir",
    "created_at",
    "updated_at",
    "pid",
    "exit_code",
    "model",
    "turn",
    "messages",
    "token_usage",
    "error",
    "source",
    "adapter",
];

/// The keys this zwarm adds (README, "On-disk format").
pub const KEYS_OURS: [&str; 4] = ["turns", "agent_session_id", "sandbox", "cost_usd"];
pub const STATUSES_235: [&str; 5] = ["pending", "running", "completed", "failed", "killed"];

pub fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/legacy-2.3.5/.zwarm")
}

pub fn describe(out: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// `2026-11-25T06:13:33.777351`, or without the fraction when Python's
/// `isoformat()` had zero microseconds.
pub fn is_python_isoformat(s: &str) -> bool {
    let shape = |s: &str| {
        let b = s.as_bytes();
        b.len() == 19
            && b.iter().enumerate().all(|(i, c)| match i {
                4 | 7 => *c == b'-',
                10 => *c == b'T',
                13 | 16 => *c == b':',
                _ => c.is_ascii_digit(),
            })
    };
    match s.split_once('.') {
        None => shape(s),
        Some((head, frac)) => {
            shape(head) && frac.len() == 6 && frac.bytes().all(|c| c.is_ascii_digit())
        }
    }
}

/// What 2.3.5's `CodexSession.from_dict` needs, and nothing it cannot read.
pub fn assert_235_format(id: &str, meta: &Map<String, Value>) {
    for k in KEYS_235 {
        assert!(meta.contains_key(k), "{id}: 2.3.5's key {k} is missing");
    }
    let status = meta["status"].as_str().unwrap();
    assert!(STATUSES_235.contains(&status), "{id}: status {status}");
    for k in ["created_at", "updated_at"] {
        let t = meta[k].as_str().unwrap();
        assert!(is_python_isoformat(t), "{id}: {k} {t:?}");
    }
    assert!(meta["pid"].is_null() || meta["pid"].is_i64(), "{id}: pid");
    assert!(
        meta["exit_code"].is_null() || meta["exit_code"].is_i64(),
        "{id}"
    );
    assert!(meta["turn"].is_u64(), "{id}: turn");
    assert!(meta["token_usage"].is_object(), "{id}: token_usage");
    for m in meta["messages"].as_array().unwrap() {
        let keys: BTreeSet<&str> = m.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            BTreeSet::from(["role", "content", "timestamp", "metadata"]),
            "{id}: {m}"
        );
        let t = m["timestamp"].as_str().unwrap();
        // 2.3.5 leaves the timestamp of tool messages empty.
        assert!(t.is_empty() || is_python_isoformat(t), "{id}: {m}");
    }
}

pub fn by_id(list: &Value) -> std::collections::HashMap<String, Value> {
    list["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["id"].as_str().unwrap().to_string(), s.clone()))
        .collect()
}

/// A world with a private copy of the fixture tree as its store: reading
/// the tree may settle its stale running session, and the committed
/// fixture must never change.
pub fn copy_of_fixture() -> World {
    World::with_store_from(&fixture())
}

pub fn meta_path(w: &World, id: &str) -> PathBuf {
    w.session_dir(id).join("meta.json")
}

/// The session's `meta.json`, as a JSON object.
pub fn meta_of(w: &World, id: &str) -> Map<String, Value> {
    let text = std::fs::read_to_string(meta_path(w, id)).unwrap();
    match serde_json::from_str(&text).unwrap() {
        Value::Object(m) => m,
        other => panic!("meta.json of {id} is not an object: {other}"),
    }
}

/// Rewrites the session's `meta.json` in place, as 2.3.5 did: truncate
/// and write.
pub fn write_meta(w: &World, id: &str, meta: &Map<String, Value>) {
    let text = serde_json::to_string_pretty(meta).unwrap();
    std::fs::write(meta_path(w, id), text).unwrap();
}
