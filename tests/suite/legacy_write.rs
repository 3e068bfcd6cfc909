//! What this zwarm writes into a zwarm 2.3.5 tree stays in 2.3.5's format:
//! a settled session keeps every key, a continued one resumes its codex
//! thread; a tree that cannot be written is shown settled and left alone.

use crate::support::fake::{transcript, CODEX_THREAD};
use crate::support::legacy::*;
use serde_json::Value;
use std::process::{Command, Output, Stdio};

#[test]
fn dead_running_session_is_settled_and_keeps_every_key() {
    let c = copy_of_fixture();
    // A key no version of zwarm knows, added to the copy only.
    let mut before = meta_of(&c, RUNNING);
    before.insert(
        "x_written_by_another_tool".into(),
        serde_json::json!({"nested": [1, "two", null], "flag": true}),
    );
    write_meta(&c, RUNNING, &before);

    let shown = c.json(&["show", RUNNING]);
    assert_eq!(shown["status"], "failed", "{shown}");
    assert_eq!(shown["ending"], "interrupted");
    let error = shown["error"].as_str().unwrap();
    assert!(error.starts_with("interrupted: "), "{error}");
    assert!(
        !error.contains("supervisor"),
        "2.3.5 had no supervisor: {error}"
    );

    let after = meta_of(&c, RUNNING);
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
    let bytes = std::fs::read(meta_path(&c, RUNNING)).unwrap();
    c.ok(&["list"]);
    c.ok(&["show", RUNNING]);
    assert_eq!(std::fs::read(meta_path(&c, RUNNING)).unwrap(), bytes);

    // The committed tree was not touched.
    let committed =
        std::fs::read_to_string(fixture().join("sessions").join(RUNNING).join("meta.json"))
            .unwrap();
    assert!(committed.contains("\"status\": \"running\""));
}

#[test]
fn inject_resumes_the_legacy_codex_thread() {
    let c = copy_of_fixture();
    // The fixture's project folder is another machine's; point the copy at
    // one that exists here.
    let mut meta = meta_of(&c, COMPLETED);
    meta.insert(
        "working_dir".into(),
        Value::from(c.work.path().to_str().unwrap()),
    );
    meta.insert("x_written_by_another_tool".into(), Value::from("kept"));
    write_meta(&c, COMPLETED, &meta);
    let before = meta_of(&c, COMPLETED);

    c.agent.turn(1, transcript("codex_resume_2.jsonl"));
    let out = c
        .cmd(&["--json", "inject", &COMPLETED[..8], "and a third time"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["id"], COMPLETED, "{doc}");
    assert_eq!(doc["turns"], 3, "{doc}");
    assert_eq!(doc["status"], "running", "{doc}");
    let waited = c.run(&["wait", COMPLETED]);
    assert_eq!(waited.status.code(), Some(0), "{}", describe(&waited));

    let argv = c.agent.argv(1);
    let resume = argv
        .iter()
        .position(|a| a == "resume")
        .unwrap_or_else(|| panic!("no resume in {argv:?}"));
    assert_eq!(
        argv[resume + 1..],
        ["--", CODEX_THREAD, "and a third time"],
        "{argv:?}"
    );
    assert_eq!(argv[..2], ["exec", "--json"], "{argv:?}");
    assert!(!argv.iter().any(|a| a == "--full-auto"), "{argv:?}");

    assert_eq!(
        std::fs::read(c.turn_file(COMPLETED, 3)).unwrap(),
        transcript("codex_resume_2.jsonl").into_bytes()
    );
    // 2.3.5's turn files are left as they were.
    assert_eq!(
        std::fs::read(c.turn_file(COMPLETED, 2)).unwrap(),
        transcript("codex_resume.jsonl").into_bytes()
    );

    let after = meta_of(&c, COMPLETED);
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
    assert_eq!(after["agent_session_id"], CODEX_THREAD);

    let listed = by_id(&c.json(&["list"]));
    assert_eq!(listed[COMPLETED]["status"], "completed");
    assert_eq!(listed[COMPLETED]["turns"], 3);
    let traj = c.ok(&["trajectory", COMPLETED, "--turn", "3"]);
    assert!(traj.contains("All done: mock says hi."), "{traj}");
}

#[test]
fn inject_where_the_legacy_folder_is_missing_says_so() {
    let c = copy_of_fixture();
    let before = std::fs::read(meta_path(&c, COMPLETED)).unwrap();
    c.agent.turn(1, transcript("codex_resume_2.jsonl"));
    let out = c.cmd(&["inject", COMPLETED, "again"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with("zwarm: error: ") && stderr.contains("/home/dev/project"),
        "{stderr}"
    );
    assert_eq!(c.agent.calls(), 0, "the agent ran");
    assert_eq!(
        std::fs::read(meta_path(&c, COMPLETED)).unwrap(),
        before,
        "a refused inject leaves the session alone"
    );
}

/// A store this process may not write (another user's, a read-only mount):
/// a session that needs settling is shown settled, and nothing is written.
#[test]
fn a_store_that_cannot_be_written_is_shown_settled_and_left_as_it_is() {
    use std::os::unix::fs::PermissionsExt;
    let t = copy_of_fixture();
    let before = std::fs::read(meta_path(&t, RUNNING)).unwrap();
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
                .current_dir(t.work.path())
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
    let mut dirs = vec![t.state.path().to_path_buf(), t.work.path().to_path_buf()];
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
    assert_eq!(std::fs::read(meta_path(&t, RUNNING)).unwrap(), before);

    // Give the tree back to its owner, so it can be removed.
    let mut dirs = vec![t.state.path().to_path_buf(), t.work.path().to_path_buf()];
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
