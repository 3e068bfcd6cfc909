//! A `.zwarm` tree written by zwarm 2.3.5's own code (`tests/data/legacy-2.3.5/`,
//! see its README) must keep loading, showing, settling and continuing here,
//! and what this zwarm writes into it must stay in 2.3.5's format.
//!
//! Every test works on a copy: reading the tree may settle its stale running
//! session, and the committed fixture must never change.

use serde_json::{Map, Value};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use tempfile::TempDir;

const COMPLETED: &str = "a3bb91c8-a954-4430-8d07-8112e7ebfc21";
const FAILED: &str = "61db1f73-2833-4dbc-9c79-0c7d132bd18f";
const KILLED: &str = "ae8eee9c-3a1f-4d8f-8454-c9d7fd5efe5d";
const RUNNING: &str = "0ab09e7d-47da-462f-b994-1e68b897cf61";
/// The codex thread of the completed session's turns.
const THREAD: &str = "01a209eb-9fe5-7091-945e-ca2ae2c25c85";

/// The keys 2.3.5 writes.
const KEYS_235: [&str; 15] = [
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
const KEYS_OURS: [&str; 4] = ["turns", "agent_session_id", "sandbox", "cost_usd"];
const STATUSES_235: [&str; 5] = ["pending", "running", "completed", "failed", "killed"];

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/legacy-2.3.5/.zwarm")
}

fn transcript(name: &str) -> Vec<u8> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/transcripts")
        .join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("read {}: {e}", p.display()))
}

fn copy_dir(from: &Path, to: &Path) {
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

/// A private copy of the fixture tree, and zwarm pointed at it.
struct Tree {
    tmp: TempDir,
}

impl Tree {
    fn new() -> Tree {
        let tmp = tempfile::Builder::new()
            .prefix("zwarm-legacy-")
            .tempdir()
            .unwrap();
        copy_dir(&fixture(), &tmp.path().join(".zwarm"));
        std::fs::create_dir(tmp.path().join("work")).unwrap();
        Tree { tmp }
    }

    fn state(&self) -> PathBuf {
        self.tmp.path().join(".zwarm")
    }

    fn work(&self) -> PathBuf {
        self.tmp.path().join("work")
    }

    fn meta_path(&self, id: &str) -> PathBuf {
        self.state().join("sessions").join(id).join("meta.json")
    }

    fn meta(&self, id: &str) -> Map<String, Value> {
        let text = std::fs::read_to_string(self.meta_path(id)).unwrap();
        match serde_json::from_str(&text).unwrap() {
            Value::Object(m) => m,
            other => panic!("meta.json of {id} is not an object: {other}"),
        }
    }

    fn write_meta(&self, id: &str, meta: &Map<String, Value>) {
        let text = serde_json::to_string_pretty(meta).unwrap();
        std::fs::write(self.meta_path(id), text).unwrap();
    }

    fn turn_file(&self, id: &str, turn: u32) -> PathBuf {
        self.state()
            .join("sessions")
            .join(id)
            .join("turns")
            .join(format!("turn_{turn}.jsonl"))
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_zwarm"));
        for v in [
            "ZWARM_DIR",
            "ZWARM_CODEX_BIN",
            "ZWARM_CLAUDE_BIN",
            "CLICOLOR_FORCE",
        ] {
            cmd.env_remove(v);
        }
        cmd.env("NO_COLOR", "1")
            .env(
                "XDG_STATE_HOME",
                std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("state-home"),
            )
            .arg("--dir")
            .arg(self.state())
            .args(args)
            .current_dir(self.work())
            .stdin(Stdio::null());
        cmd
    }

    fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().unwrap()
    }

    /// Runs zwarm, insists on exit 0, returns stdout.
    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert_eq!(
            out.status.code(),
            Some(0),
            "zwarm {args:?}\n{}",
            describe(&out)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    fn json(&self, args: &[&str]) -> Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let text = self.ok(&all);
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("zwarm {all:?}: {e}\n{text}"))
    }
}

fn describe(out: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// `2026-11-25T06:13:33.777351`, or without the fraction when Python's
/// `isoformat()` had zero microseconds.
fn is_python_isoformat(s: &str) -> bool {
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
fn assert_235_format(id: &str, meta: &Map<String, Value>) {
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

fn by_id(list: &Value) -> std::collections::HashMap<String, Value> {
    list["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["id"].as_str().unwrap().to_string(), s.clone()))
        .collect()
}

#[test]
fn fixture_is_what_2_3_5_wrote() {
    let sessions = fixture().join("sessions");
    let mut ids: Vec<String> = std::fs::read_dir(&sessions)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    ids.sort();
    assert_eq!(ids, [RUNNING, FAILED, COMPLETED, KILLED]);
    for id in &ids {
        let text = std::fs::read_to_string(sessions.join(id).join("meta.json")).unwrap();
        let meta: Map<String, Value> = serde_json::from_str(&text).unwrap();
        // Exactly 2.3.5's keys: a write by this zwarm would have added some.
        let keys: BTreeSet<&str> = meta.keys().map(String::as_str).collect();
        assert_eq!(keys, BTreeSet::from(KEYS_235), "{id}");
        assert_235_format(id, &meta);
        assert_eq!(meta["working_dir"], "/home/dev/project", "{id}");
    }
    let running = std::fs::read_to_string(sessions.join(RUNNING).join("meta.json")).unwrap();
    assert!(running.contains("\"status\": \"running\""), "{running}");
    assert!(running.contains("\"pid\": 4194304"), "{running}");
}

#[test]
fn list_shows_every_legacy_session() {
    let c = Tree::new();
    let doc = c.json(&["list"]);
    assert_eq!(doc["schema_version"], 1);
    assert_eq!(doc["problems"], Value::Array(vec![]), "{doc}");
    let order: Vec<&str> = doc["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    // Newest first, by 2.3.5's created_at.
    assert_eq!(order, [RUNNING, KILLED, FAILED, COMPLETED]);
    let s = by_id(&doc);
    let expect = [
        (COMPLETED, "completed", 2, "Say hello from the mock", "user"),
        (
            FAILED,
            "failed",
            1,
            "Fix the failing test",
            "orchestrator:default",
        ),
        (KILLED, "killed", 1, "Count to sixty slowly", "user"),
        // 2.3.5 left it running; its agent is gone, so it is settled here.
        (RUNNING, "failed", 1, "Count to sixty again", "user"),
    ];
    for (id, status, turns, task, source) in expect {
        let j = &s[id];
        assert_eq!(j["status"], status, "{j}");
        assert_eq!(j["adapter"], "codex", "{j}");
        assert_eq!(j["turns"], turns, "{j}");
        assert_eq!(j["task"], task, "{j}");
        assert_eq!(j["source"], source, "{j}");
        assert_eq!(j["model"], "gpt-5.1-codex-mini", "{j}");
        assert_eq!(j["working_dir"], "/home/dev/project", "{j}");
        // 2.3.5 never recorded an exit code.
        assert_eq!(j["exit_code"], Value::Null, "{j}");
    }
    assert_eq!(s[RUNNING]["ending"], "interrupted");
    assert_eq!(s[COMPLETED]["usage"]["total_tokens"], 321);
    assert_eq!(s[COMPLETED]["last_message"], "All done: mock says hi.");

    let table = c.ok(&["list"]);
    for (id, status) in [
        (COMPLETED, "completed"),
        (FAILED, "failed"),
        (KILLED, "killed"),
        (RUNNING, "failed"),
    ] {
        let row = table
            .lines()
            .find(|l| l.starts_with(&id[..8]))
            .unwrap_or_else(|| panic!("{id} missing:\n{table}"));
        assert!(row.contains(status), "{row}");
    }
    let failed = c.json(&["list", "--status", "failed"]);
    let ids: BTreeSet<&str> = failed["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, BTreeSet::from([FAILED, RUNNING]));
}

/// Once the files have settled, `list` indexes the finished sessions and
/// the next `list` is served from the index: the same answer, and a session
/// that 2.3.5 then rewrites in place (its way: truncate and write) is read
/// again, never shown from the index.
#[test]
fn the_list_index_never_hides_a_rewrite_by_2_3_5() {
    let c = Tree::new();
    // Files changed in the last two seconds are not indexed.
    std::thread::sleep(std::time::Duration::from_millis(2100));
    let first = c.json(&["list"]);
    let index = c.state().join("list-index");
    let files: Vec<String> = std::fs::read_dir(&index)
        .unwrap_or_else(|e| panic!("no index at {}: {e}", index.display()))
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert!(
        !files.is_empty() && files.iter().all(|f| f.len() == 1),
        "{files:?}"
    );
    assert_eq!(c.json(&["list"]), first);
    let rows = c.ok(&["list"]).lines().count();
    assert_eq!(rows, 2 + 4, "summary, header, four sessions");

    let mut meta = c.meta(KILLED);
    meta.insert("task".into(), "Count to sixty QUICKLY".into());
    c.write_meta(KILLED, &meta);
    let after = c.json(&["list"]);
    assert_eq!(by_id(&after)[KILLED]["task"], "Count to sixty QUICKLY");
    let mut expected = by_id(&first);
    expected.get_mut(KILLED).unwrap()["task"] = "Count to sixty QUICKLY".into();
    assert_eq!(by_id(&after), expected);
}

#[test]
fn show_reads_each_legacy_session() {
    let c = Tree::new();

    let s = c.json(&["show", COMPLETED]);
    assert_eq!(s["status"], "completed", "{s}");
    assert_eq!(s["turns"], 2);
    assert_eq!(s["error"], Value::Null);
    assert_eq!(s["usage"]["input_tokens"], 300);
    assert_eq!(s["usage"]["cached_input_tokens"], 60);
    assert_eq!(s["usage"]["output_tokens"], 21);
    assert_eq!(s["usage"]["total_tokens"], 321);
    // 2.3.5 kept no per-turn records.
    assert_eq!(s["turn_records"], Value::Array(vec![]));
    // ...and replaced the messages with the last turn's on completion.
    let msgs = s["messages"].as_array().unwrap();
    assert_eq!(msgs.len(), 1, "{s}");
    assert_eq!(msgs[0]["role"], "assistant");
    assert_eq!(msgs[0]["content"], "All done: mock says hi.");
    assert_eq!(msgs[0]["turn"], Value::Null);

    let s = c.json(&["show", &FAILED[..6]]);
    assert_eq!(s["status"], "failed", "{s}");
    assert!(
        s["error"]
            .as_str()
            .unwrap()
            .contains("mock: invalid request"),
        "{s}"
    );
    assert_eq!(s["source"], "orchestrator:default");
    assert_eq!(s["messages"], Value::Array(vec![]));

    let s = c.json(&["show", KILLED]);
    assert_eq!(s["status"], "killed", "{s}");
    assert_eq!(s["error"], "Manually killed");
    assert_eq!(s["messages"][0]["content"], "Count to sixty slowly");

    let s = c.json(&["show", RUNNING]);
    assert_eq!(s["status"], "failed", "{s}");
    assert_eq!(s["ending"], "interrupted");
    assert_eq!(s["pid"], 4194304);
    assert_eq!(
        s["agent_session_id"],
        "01a20a00-e17c-7001-87e0-bbf2f160263e"
    );
    let recs = s["turn_records"].as_array().unwrap();
    assert_eq!(recs.len(), 1, "{s}");
    assert_eq!(recs[0]["turn"], 1);
    assert_eq!(recs[0]["ending"], "interrupted");

    for id in [COMPLETED, FAILED, KILLED, RUNNING] {
        let text = c.ok(&["show", id]);
        assert!(text.contains(id), "{text}");
    }
}

#[test]
fn trajectory_of_the_two_turn_session() {
    let c = Tree::new();
    let text = c.ok(&["trajectory", COMPLETED]);
    let t2 = text.find("turn 2").unwrap_or_else(|| panic!("{text}"));
    let (turn1, turn2) = text.split_at(t2);
    assert!(turn1.contains("turn 1"), "{text}");
    assert!(
        turn1.contains("/bin/bash -lc 'echo hello-from-mock'"),
        "{text}"
    );
    assert!(turn1.contains("All done: mock says hi."), "{text}");
    assert!(turn2.contains("All done: mock says hi."), "{text}");
    assert!(
        !turn2.contains("echo hello"),
        "turn 2 ran no command:\n{text}"
    );

    let doc = c.json(&["trajectory", COMPLETED]);
    let steps = doc["steps"].as_array().unwrap();
    let kinds: Vec<(u64, &str)> = steps
        .iter()
        .map(|s| (s["turn"].as_u64().unwrap(), s["type"].as_str().unwrap()))
        .collect();
    assert_eq!(
        kinds,
        [
            (1, "warning"),
            (1, "command"),
            (1, "message"),
            (2, "warning"),
            (2, "message")
        ]
    );
    assert_eq!(steps[1]["command"], "/bin/bash -lc 'echo hello-from-mock'");
    assert_eq!(steps[1]["exit_code"], 0);
    assert_eq!(steps[2]["text"], "All done: mock says hi.");
    assert_eq!(steps[4]["text"], "All done: mock says hi.");

    let only2 = c.json(&["trajectory", COMPLETED, "--turn", "2"]);
    assert_eq!(only2["steps"].as_array().unwrap().len(), 2, "{only2}");
}

#[test]
fn output_prints_the_legacy_turn_files_verbatim() {
    let c = Tree::new();
    let latest = c.run(&["output", COMPLETED]);
    assert_eq!(latest.status.code(), Some(0), "{}", describe(&latest));
    assert_eq!(latest.stdout, transcript("codex_resume.jsonl"));
    let first = c.run(&["output", COMPLETED, "--turn", "1"]);
    assert_eq!(first.stdout, transcript("codex_first_turn.jsonl"));
    let failed = c.run(&["output", FAILED]);
    assert_eq!(failed.stdout, transcript("codex_failed.jsonl"));
    // 2.3.5 sent stderr into the JSONL; there is no separate file.
    let stderr = c.run(&["output", COMPLETED, "--stderr"]);
    assert_eq!(stderr.status.code(), Some(0), "{}", describe(&stderr));
    assert!(stderr.stdout.is_empty());
    let beyond = c.run(&["output", COMPLETED, "--turn", "3"]);
    assert_eq!(beyond.status.code(), Some(2), "{}", describe(&beyond));
}

#[test]
fn dead_running_session_is_settled_and_keeps_every_key() {
    let c = Tree::new();
    // A key no version of zwarm knows, added to the copy only.
    let mut before = c.meta(RUNNING);
    before.insert(
        "x_written_by_another_tool".into(),
        serde_json::json!({"nested": [1, "two", null], "flag": true}),
    );
    c.write_meta(RUNNING, &before);

    let shown = c.json(&["show", RUNNING]);
    assert_eq!(shown["status"], "failed", "{shown}");
    assert_eq!(shown["ending"], "interrupted");
    let error = shown["error"].as_str().unwrap();
    assert!(error.starts_with("interrupted: "), "{error}");
    assert!(
        !error.contains("supervisor"),
        "2.3.5 had no supervisor: {error}"
    );

    let after = c.meta(RUNNING);
    assert_235_format(RUNNING, &after);
    for (k, old) in &before {
        let new = after
            .get(k)
            .unwrap_or_else(|| panic!("key {k} was dropped"));
        match k.as_str() {
            "status" => {
                assert_eq!(old, "running");
                assert_eq!(new, "failed");
            }
            "error" => {
                assert_eq!(old, &Value::Null);
                assert_eq!(new.as_str(), Some(error));
            }
            "updated_at" => assert!(new.as_str() >= old.as_str(), "{old} -> {new}"),
            "token_usage" => {
                // Empty in 2.3.5 (no turn.completed); now explicit zeros.
                for (uk, uv) in new.as_object().unwrap() {
                    assert_eq!(uv, 0, "token_usage.{uk}");
                }
            }
            _ => assert_eq!(new, old, "key {k} changed"),
        }
    }
    for k in after.keys() {
        assert!(
            before.contains_key(k) || KEYS_OURS.contains(&k.as_str()),
            "unexpected new key {k}"
        );
    }
    let turns = after["turns"].as_array().unwrap();
    assert_eq!(turns.len(), 1);
    assert_eq!(turns[0]["ending"], "interrupted");
    assert_eq!(turns[0]["settled_by"], "reader");

    // Settled once: reading again changes nothing.
    let bytes = std::fs::read(c.meta_path(RUNNING)).unwrap();
    c.ok(&["list"]);
    c.ok(&["show", RUNNING]);
    assert_eq!(std::fs::read(c.meta_path(RUNNING)).unwrap(), bytes);

    // The committed tree was not touched.
    let committed =
        std::fs::read_to_string(fixture().join("sessions").join(RUNNING).join("meta.json"))
            .unwrap();
    assert!(committed.contains("\"status\": \"running\""));
}

/// A stand-in for codex that records its argv and replays a recorded turn.
fn fake_codex(dir: &Path, transcript_name: &str) -> PathBuf {
    let script = dir.join("codex");
    let argv = dir.join("argv");
    let replay = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/transcripts")
        .join(transcript_name);
    let body = format!(
        "#!/bin/sh\nfor a in \"$@\"; do printf '%s\\n' \"$a\"; done > '{}'\nexec cat '{}'\n",
        argv.display(),
        replay.display()
    );
    std::fs::write(&script, body).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    script
}

#[test]
fn inject_resumes_the_legacy_codex_thread() {
    let c = Tree::new();
    // The fixture's project folder is another machine's; point the copy at
    // one that exists here.
    let mut meta = c.meta(COMPLETED);
    meta.insert(
        "working_dir".into(),
        Value::from(c.work().to_str().unwrap()),
    );
    meta.insert("x_written_by_another_tool".into(), Value::from("kept"));
    c.write_meta(COMPLETED, &meta);
    let before = c.meta(COMPLETED);

    let bin = tempfile::Builder::new()
        .prefix("zwarm-legacy-codex-")
        .tempdir()
        .unwrap();
    let codex = fake_codex(bin.path(), "codex_resume_2.jsonl");
    let out = c
        .cmd(&["--json", "inject", &COMPLETED[..8], "and a third time"])
        .env("ZWARM_CODEX_BIN", &codex)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["id"], COMPLETED, "{doc}");
    assert_eq!(doc["turns"], 3, "{doc}");
    assert_eq!(doc["status"], "running", "{doc}");
    let waited = c.run(&["wait", COMPLETED]);
    assert_eq!(waited.status.code(), Some(0), "{}", describe(&waited));

    let argv: Vec<String> = std::fs::read_to_string(bin.path().join("argv"))
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    let resume = argv
        .iter()
        .position(|a| a == "resume")
        .unwrap_or_else(|| panic!("no resume in {argv:?}"));
    assert_eq!(
        argv[resume + 1..],
        ["--", THREAD, "and a third time"],
        "{argv:?}"
    );
    assert_eq!(argv[..2], ["exec", "--json"], "{argv:?}");
    assert!(!argv.iter().any(|a| a == "--full-auto"), "{argv:?}");

    assert_eq!(
        std::fs::read(c.turn_file(COMPLETED, 3)).unwrap(),
        transcript("codex_resume_2.jsonl")
    );
    // 2.3.5's turn files are left as they were.
    assert_eq!(
        std::fs::read(c.turn_file(COMPLETED, 2)).unwrap(),
        transcript("codex_resume.jsonl")
    );

    let after = c.meta(COMPLETED);
    assert_235_format(COMPLETED, &after);
    assert_eq!(after["x_written_by_another_tool"], "kept");
    for k in after.keys() {
        assert!(
            before.contains_key(k) || KEYS_OURS.contains(&k.as_str()),
            "unexpected key {k}"
        );
    }
    assert_eq!(after["status"], "completed");
    assert_eq!(after["turn"], 3);
    assert_eq!(after["exit_code"], 0);
    assert_eq!(after["error"], Value::Null);
    assert!(after["pid"].is_i64());
    for k in [
        "id",
        "task",
        "working_dir",
        "created_at",
        "model",
        "source",
        "adapter",
    ] {
        assert_eq!(after[k], before[k], "{k}");
    }
    let msgs = after["messages"].as_array().unwrap();
    let old = before["messages"].as_array().unwrap();
    assert_eq!(
        msgs[..old.len()],
        old[..],
        "earlier messages are kept as they were"
    );
    let new: Vec<(&str, &str)> = msgs[old.len()..]
        .iter()
        .map(|m| (m["role"].as_str().unwrap(), m["content"].as_str().unwrap()))
        .collect();
    assert_eq!(
        new,
        [
            ("user", "and a third time"),
            ("assistant", "All done: mock says hi.")
        ]
    );
    // codex reports the thread's running total: 428 after this turn, of which
    // 321 were already counted by 2.3.5.
    let usage = &after["token_usage"];
    assert_eq!(usage["input_tokens"], 400, "{usage}");
    assert_eq!(usage["output_tokens"], 28, "{usage}");
    assert_eq!(usage["total_tokens"], 428, "{usage}");
    assert_eq!(after["agent_session_id"], THREAD);

    let listed = by_id(&c.json(&["list"]));
    assert_eq!(listed[COMPLETED]["status"], "completed");
    assert_eq!(listed[COMPLETED]["turns"], 3);
    let traj = c.ok(&["trajectory", COMPLETED, "--turn", "3"]);
    assert!(traj.contains("All done: mock says hi."), "{traj}");
}

#[test]
fn inject_where_the_legacy_folder_is_missing_says_so() {
    let c = Tree::new();
    let before = std::fs::read(c.meta_path(COMPLETED)).unwrap();
    let bin = tempfile::Builder::new()
        .prefix("zwarm-legacy-codex-")
        .tempdir()
        .unwrap();
    let codex = fake_codex(bin.path(), "codex_resume_2.jsonl");
    let out = c
        .cmd(&["inject", COMPLETED, "again"])
        .env("ZWARM_CODEX_BIN", &codex)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with("zwarm: error: ") && stderr.contains("/home/dev/project"),
        "{stderr}"
    );
    assert!(!bin.path().join("argv").exists(), "the agent ran");
    assert_eq!(
        std::fs::read(c.meta_path(COMPLETED)).unwrap(),
        before,
        "a refused inject leaves the session alone"
    );
}

/// A store this process may not write (another user's, a read-only mount):
/// a session that needs settling is shown settled, and nothing is written.
#[test]
fn a_store_that_cannot_be_written_is_shown_settled_and_left_as_it_is() {
    use std::os::unix::fs::PermissionsExt;
    let t = Tree::new();
    let before = std::fs::read(t.meta_path(RUNNING)).unwrap();
    // SAFETY: geteuid has no preconditions and cannot fail.
    let root = unsafe { libc::geteuid() } == 0;
    // Root writes through any mode bits: run zwarm as nobody instead, on a
    // tree only readable to it.
    let as_reader = |args: &[&str]| -> Output {
        let mut cmd = t.cmd(args);
        if root {
            let inner = std::mem::replace(&mut cmd, Command::new("setpriv"));
            cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
                .arg(inner.get_program())
                .args(inner.get_args())
                .current_dir(t.work())
                .stdin(Stdio::null());
            for (k, v) in inner.get_envs() {
                match v {
                    Some(v) => cmd.env(k, v),
                    None => cmd.env_remove(k),
                };
            }
        }
        cmd.output()
            .expect("run zwarm (as root this needs setpriv)")
    };
    let mut dirs = vec![t.tmp.path().to_path_buf()];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let mode = if e.file_type().unwrap().is_dir() {
                dirs.push(e.path());
                0o555
            } else {
                0o444
            };
            std::fs::set_permissions(e.path(), std::fs::Permissions::from_mode(mode)).unwrap();
        }
        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o555)).unwrap();
    }

    let out = as_reader(&["--json", "show", RUNNING]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let s: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(s["status"], "failed", "{s}");
    assert_eq!(s["ending"], "interrupted", "{s}");
    let out = as_reader(&["--json", "list"]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let l: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(l["problems"], Value::Array(vec![]), "{l}");
    assert_eq!(l["sessions"].as_array().unwrap().len(), 4, "{l}");
    assert!(
        l["sessions"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["status"] != "running"),
        "{l}"
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).is_empty(),
        "{}",
        describe(&out)
    );
    let out = as_reader(&["wait", "--timeout", "5s", RUNNING]);
    assert_eq!(out.status.code(), Some(4), "{}", describe(&out));
    assert_eq!(std::fs::read(t.meta_path(RUNNING)).unwrap(), before);

    // Give the tree back to its owner, so it can be removed.
    let mut dirs = vec![t.tmp.path().to_path_buf()];
    while let Some(d) = dirs.pop() {
        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o755)).unwrap();
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            if e.file_type().unwrap().is_dir() {
                dirs.push(e.path());
            }
        }
    }
}
