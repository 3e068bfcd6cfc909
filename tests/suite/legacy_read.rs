//! A `.zwarm` tree written by zwarm 2.3.5's own code (`tests/data/legacy-2.3.5/`,
//! see its README) keeps loading, listing and showing here. Every test
//! works on a copy: reading the tree may settle its stale running session,
//! and the committed fixture must never change.

use crate::support::fake::transcript;
use crate::support::legacy::*;
use serde_json::{Map, Value};
use std::collections::BTreeSet;

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
    let c = copy_of_fixture();
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
    let c = copy_of_fixture();
    // Files changed in the last two seconds are not indexed.
    std::thread::sleep(std::time::Duration::from_millis(2100));
    let first = c.json(&["list"]);
    let index = c.state.path().join("list-index");
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

    let mut meta = meta_of(&c, KILLED);
    meta.insert("task".into(), "Count to sixty QUICKLY".into());
    write_meta(&c, KILLED, &meta);
    let after = c.json(&["list"]);
    assert_eq!(by_id(&after)[KILLED]["task"], "Count to sixty QUICKLY");
    let mut expected = by_id(&first);
    expected.get_mut(KILLED).unwrap()["task"] = "Count to sixty QUICKLY".into();
    assert_eq!(by_id(&after), expected);
}

#[test]
fn show_reads_each_legacy_session() {
    let c = copy_of_fixture();

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
    let c = copy_of_fixture();
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
    let c = copy_of_fixture();
    let latest = c.run(&["output", COMPLETED]);
    assert_eq!(latest.status.code(), Some(0), "{}", describe(&latest));
    assert_eq!(latest.stdout, transcript("codex_resume.jsonl").into_bytes());
    let first = c.run(&["output", COMPLETED, "--turn", "1"]);
    assert_eq!(
        first.stdout,
        transcript("codex_first_turn.jsonl").into_bytes()
    );
    let failed = c.run(&["output", FAILED]);
    assert_eq!(failed.stdout, transcript("codex_failed.jsonl").into_bytes());
    // 2.3.5 sent stderr into the JSONL; there is no separate file.
    let stderr = c.run(&["output", COMPLETED, "--stderr"]);
    assert_eq!(stderr.status.code(), Some(0), "{}", describe(&stderr));
    assert!(stderr.stdout.is_empty());
    let beyond = c.run(&["output", COMPLETED, "--turn", "3"]);
    assert_eq!(beyond.status.code(), Some(2), "{}", describe(&beyond));
}
