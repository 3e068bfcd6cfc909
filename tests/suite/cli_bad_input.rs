//! Bad input to the real binary, with a fake agent replaying real
//! transcripts: unknown, ambiguous and path-like ids, empty tasks, bad
//! `--cd` and `--source`, a turn already running, a missing or failing
//! agent, corrupt `meta.json`, torn output lines and piped stdin. Each is
//! refused with its exit code and one line saying why, and changes nothing.

use crate::support::fake::{transcript, transcript_lines};
use crate::support::output::{error_of, expect, stderr, stdout, Text, ANY, EMPTY};
use crate::support::procs::{alive, assert_no_processes};
use crate::support::world::{short, World};
use serde_json::{json, Value};
use std::io::Write;
use std::process::Stdio;
use std::time::Duration;

#[test]
fn an_unknown_id_exits_3_with_one_line_naming_it() {
    let w = World::new();
    w.finished("codex_first_turn.jsonl", 0);
    for args in [
        &["show", "deadbeef"][..],
        &["inject", "deadbeef", "more"],
        &["kill", "deadbeef"],
        &["rm", "deadbeef"],
        &["trajectory", "deadbeef"],
        &["output", "deadbeef"],
        &["watch", "deadbeef"],
        &["wait", "deadbeef"],
    ] {
        let out = w.run(args);
        out.expect(3, EMPTY, ANY);
        assert_eq!(error_of(&out), "no session matches 'deadbeef'", "{args:?}");
    }
    // A store that does not exist yet has no sessions either.
    let empty = World::new();
    let out = empty.run(&["show", "0123"]);
    out.expect(3, EMPTY, ANY);
    assert_eq!(error_of(&out), "no session matches '0123'");
}

#[test]
fn an_ambiguous_prefix_exits_2_listing_the_candidates() {
    let w = World::new();
    let id = w.finished("codex_first_turn.jsonl", 0);
    let a = "abc00000-0000-4000-8000-000000000001";
    let b = "abc00000-0000-4000-8000-000000000002";
    w.clone_session_as(&id, a);
    w.clone_session_as(&id, b);
    for args in [
        &["show", "abc"][..],
        &["rm", "ABC00000"],
        &["output", "abc"],
    ] {
        let out = w.run(args);
        expect(&out, 2);
        let err = error_of(&out);
        assert!(err.contains("matches 2 sessions"), "{err}");
        assert!(err.contains(a) && err.contains(b), "{err}");
        assert!(stderr(&out).contains("hint: give more characters"));
    }
    assert!(w.session_dir(a).exists() && w.session_dir(b).exists());
    // The last character tells them apart.
    assert_eq!(w.json(&["show", b])["id"], b);
    assert_eq!(w.json(&["show", &a.to_uppercase()])["id"], a);
}

#[test]
fn an_id_with_a_path_in_it_exits_2_and_reads_nothing_outside_the_store() {
    let w = World::new();
    let id = w.finished("codex_first_turn.jsonl", 0);
    // A session-shaped folder beside `sessions/`: `../decoy` would reach it.
    let decoy = w.state.path().join("decoy");
    std::fs::create_dir_all(decoy.join("turns")).unwrap();
    std::fs::copy(
        w.session_dir(&id).join("meta.json"),
        decoy.join("meta.json"),
    )
    .unwrap();
    let before = std::fs::read(decoy.join("meta.json")).unwrap();
    let inside = format!("{id}/..");
    let bad = ["../decoy", "..", inside.as_str(), "a/b", "./x", "~"];
    for b in bad {
        for args in [
            &["show", b][..],
            &["rm", "--force", b],
            &["kill", b],
            &["trajectory", b],
            &["output", b],
            &["inject", b, "more"],
            &["wait", b],
        ] {
            let out = w.run(args);
            expect(&out, 2);
            assert_eq!(
                error_of(&out),
                format!("invalid session id '{b}': an id is hex digits and dashes"),
                "{args:?}"
            );
            assert_eq!(stdout(&out), "");
        }
    }
    assert_eq!(std::fs::read(decoy.join("meta.json")).unwrap(), before);
    assert!(w.session_dir(&id).join("meta.json").exists());
    assert_eq!(w.agent.calls(), 1);
}

#[test]
fn a_long_id_is_cut_in_its_one_line_error() {
    let w = World::new();
    let long = "a".repeat(10 * 1024);
    let out = w.run(&["show", &long]);
    expect(&out, 2);
    assert_eq!(
        error_of(&out),
        format!(
            "invalid session id '{}…' (10240 characters): an id is hex digits and dashes",
            &long[..40]
        )
    );
    assert!(stderr(&out).len() < 200, "{}", stderr(&out));
}

#[test]
fn an_empty_task_exits_2_and_starts_nothing() {
    let w = World::new();
    for task in ["", "   ", "\n\t"] {
        let out = w.run(&["start", task]);
        expect(&out, 2);
        assert_eq!(error_of(&out), "the task is empty");
        assert_eq!(stdout(&out), "");
    }
    expect(&w.run(&["start"]), 2);
    expect(&w.run(&["start", "-a", "claude", "", ""]), 2);
    assert_eq!(w.agent.calls(), 0);
    assert!(w.session_ids().is_empty(), "{:?}", w.session_ids());

    // Nor does an empty message start a turn.
    let id = w.finished("codex_first_turn.jsonl", 0);
    let out = w.run(&["inject", &id, " "]);
    expect(&out, 2);
    assert_eq!(error_of(&out), "the message is empty");
    assert_eq!(w.agent.calls(), 1);
    assert_eq!(w.meta(&id)["turn"], 1);
}

#[test]
fn a_cd_that_is_not_a_directory_exits_2_naming_it_and_creates_nothing() {
    let w = World::new();
    let missing = w.work.path().join("no-such-dir");
    let file = w.work.path().join("a-file");
    std::fs::write(&file, "").unwrap();
    let below_file = file.join("sub");
    for (dir, problem) in [
        (&missing, "no such directory"),
        (&file, "not a directory"),
        (&below_file, "not a directory"),
    ] {
        let out = w.run(&["start", "-C", dir.to_str().unwrap(), "the task"]);
        expect(&out, 2);
        assert_eq!(error_of(&out), format!("--cd {}: {problem}", dir.display()));
        assert_eq!(stdout(&out), "");
    }
    assert_eq!(w.agent.calls(), 0);
    assert!(!w.state.path().join("sessions").exists());
}

#[test]
fn a_source_other_than_user_or_orchestrator_id_exits_2_and_creates_nothing() {
    let w = World::new();
    for source in ["bogus", "", "orchestrator:", "Orchestrator:x"] {
        let out = w.run(&["start", "--source", source, "the task"]);
        expect(&out, 2);
        assert_eq!(
            error_of(&out),
            format!("invalid source '{source}': a source is `user` or `orchestrator:<id>`")
        );
        assert_eq!(stdout(&out), "");
    }
    assert_eq!(w.agent.calls(), 0);
    assert!(!w.state.path().join("sessions").exists());

    w.agent.every_turn(&transcript("codex_first_turn.jsonl"));
    let id = w.start(&["--source", "orchestrator:default", "the task"]);
    assert_eq!(w.wait(&id), 0);
    assert_eq!(w.meta(&id)["source"], "orchestrator:default");
}

#[test]
fn inject_while_a_turn_runs_is_refused_with_5_and_starts_no_agent() {
    let w = World::new();
    let id = w.start_hanging(&["the task"]);
    let before = w.meta_bytes(&id);
    let out = w.run(&["inject", short(&id), "now add tests"]);
    expect(&out, 5);
    assert_eq!(error_of(&out), format!("session {id} has turn 1 running"));
    let hint = stderr(&out);
    assert!(
        hint.contains(&format!("zwarm wait {}", short(&id)))
            && hint.contains(&format!("zwarm kill {}", short(&id))),
        "{hint}"
    );
    assert_eq!(w.agent.calls(), 1);
    assert_eq!(w.meta_bytes(&id), before);
    assert!(alive(w.agent.pid(1)));
}

#[test]
fn kill_of_a_finished_session_says_so_exits_1_and_changes_nothing() {
    let w = World::new();
    let id = w.finished("codex_first_turn.jsonl", 0);
    let before = w.meta_bytes(&id);
    let out = w.run(&["kill", short(&id)]);
    expect(&out, 1);
    assert_eq!(
        error_of(&out),
        format!("session {id} is not running (it is completed); nothing to kill")
    );
    let (code, doc) = w.json_any(&["kill", &id]);
    assert_eq!(code, 1);
    let doc: Value = serde_json::from_str(&doc).unwrap();
    assert_eq!(doc["results"][0]["ok"], false);
    assert_eq!(w.meta_bytes(&id), before);
    assert_eq!(w.agent.calls(), 1);
}

#[test]
fn a_missing_agent_fails_the_session_and_start_exits_1() {
    let w = World::new();
    let missing = w.work.path().join("no-such-codex");
    let out = w
        .cmd(&["start", "the task"])
        .env("ZWARM_CODEX_BIN", &missing)
        .output()
        .unwrap();
    expect(&out, 1);
    let err = error_of(&out);
    let why = format!(
        "ZWARM_CODEX_BIN is set to {}, which is not an executable file",
        missing.display()
    );
    assert!(err.starts_with("session ") && err.ends_with(&why), "{err}");

    let ids = w.session_ids();
    assert_eq!(ids.len(), 1);
    let meta = w.meta(&ids[0]);
    assert_eq!(meta["status"], "failed");
    assert_eq!(meta["error"], why.as_str());
    assert_eq!(meta["turns"][0]["ending"], "agent_missing");
    assert!(meta["pid"].is_null());
    assert_no_processes(&[&ids[0]]);

    // Not on PATH either: the error says how to point zwarm at it.
    let out = w
        .cmd(&["--json", "start", "the task"])
        .env_remove("ZWARM_CODEX_BIN")
        .env("PATH", w.work.path())
        .output()
        .unwrap();
    expect(&out, 1);
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["status"], "failed");
    assert_eq!(doc["ending"], "agent_missing");
    assert_eq!(
        doc["error"],
        "`codex` was not found on PATH (install it, or set ZWARM_CODEX_BIN to its path)"
    );

    // An executable the kernel cannot run: the supervisor reports it and goes.
    let junk = w.work.path().join("junk-codex");
    std::fs::write(&junk, [0x7f, b'E', b'L', b'F', 0, 1, 2, 3]).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&junk, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = w
        .cmd(&["--json", "start", "the task"])
        .env("ZWARM_CODEX_BIN", &junk)
        .output()
        .unwrap();
    expect(&out, 1);
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["status"], "failed");
    let err = doc["error"].as_str().unwrap();
    assert!(
        err.contains("cannot start") && err.contains("junk-codex"),
        "{err}"
    );
    assert_no_processes(&[doc["id"].as_str().unwrap()]);
    assert_eq!(w.agent.calls(), 0);

    // Nothing is wrong with the store: those agents never ran, so their
    // turns rightly have no output.
    let out = w.run(&["doctor"]);
    expect(&out, 0);
}

#[test]
fn an_agent_usage_error_is_the_session_error() {
    let w = World::new();
    w.agent
        .turn(1, "")
        .stderr(1, &transcript("codex_full_auto_rejected.stderr.txt"))
        .exit(1, 2);
    let id = w.start(&["the task"]);
    assert_eq!(w.wait(&id), 4);
    let meta = w.meta(&id);
    assert_eq!(meta["status"], "failed");
    assert_eq!(meta["exit_code"], 2);
    assert_eq!(meta["turns"][0]["ending"], "failed");
    assert_eq!(meta["turns"][0]["exit"], json!({"code": 2}));
    let err = meta["error"].as_str().unwrap();
    assert!(
        err.starts_with("error: unexpected argument '--full-auto' found"),
        "{err}"
    );
    // clap's usage synopsis below the error says nothing about what went wrong.
    assert!(
        !err.contains("Usage:") && !err.contains("For more information"),
        "{err}"
    );
    assert!(w
        .ok(&["show", &id])
        .contains("error: unexpected argument '--full-auto' found"));
    assert_eq!(
        w.ok(&["output", "--stderr", &id]),
        transcript("codex_full_auto_rejected.stderr.txt")
    );
}

#[test]
fn a_corrupt_meta_is_skipped_by_list_and_refused_by_show() {
    let w = World::new();
    let good = w.finished("codex_first_turn.jsonl", 0);
    let bad = w.finished("codex_first_turn.jsonl", 0);
    std::fs::write(w.session_dir(&bad).join("meta.json"), b"{\"id\": \"").unwrap();

    let out = w.run(&["list"]);
    expect(&out, 0);
    let err = stderr(&out);
    assert!(
        err.starts_with(&format!("zwarm: warning: skipped session {bad}: ")),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    let table = stdout(&out);
    assert!(table.contains(short(&good)), "{table}");
    assert!(!table.contains(short(&bad)), "{table}");

    // The document lists the problem, and the warning says it as well.
    let warning = format!("zwarm: warning: skipped session {bad}: ");
    let list = w.json_warned(&["list"], Text::StartsWith(&warning));
    assert_eq!(list["sessions"].as_array().unwrap().len(), 1);
    assert_eq!(list["sessions"][0]["id"], good.as_str());
    assert_eq!(list["problems"][0]["id"], bad.as_str());

    let out = w.run(&["show", short(&bad)]);
    expect(&out, 1);
    let err = error_of(&out);
    assert!(err.starts_with("cannot read session "), "{err}");
    assert!(err.contains(&bad) && err.contains("meta.json"), "{err}");
    assert!(
        stderr(&out).contains("hint: `zwarm doctor --fix`"),
        "{}",
        stderr(&out)
    );
    assert_eq!(stdout(&out), "");
    // The good one is unaffected.
    assert_eq!(w.json(&["show", &good])["status"], "completed");
}

#[test]
fn a_time_with_an_offset_is_listed_in_the_local_zone_whether_indexed_or_not() {
    let w = World::new();
    let id = w.finished("codex_first_turn.jsonl", 0);
    let mut meta = w.meta(&id);
    meta["created_at"] = json!("2026-01-01T00:00:00+00:00");
    std::fs::write(
        w.session_dir(&id).join("meta.json"),
        serde_json::to_vec_pretty(&meta).unwrap(),
    )
    .unwrap();
    // Only a file that changed at least two seconds before a listing is
    // indexed, and its change time cannot be set back.
    std::thread::sleep(Duration::from_millis(2100));
    let created_at = |tz: &str| {
        let out = w.cmd(&["--json", "list"]).env("TZ", tz).output().unwrap();
        expect(&out, 0);
        let list: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(list["sessions"][0]["id"], id.as_str());
        list["sessions"][0]["created_at"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    // POSIX zone strings: no time zone database needed.
    assert_eq!(created_at("UTC0"), "2026-01-01T00:00:00.000000");
    let index = w.state.path().join("list-index");
    assert!(std::fs::read_dir(&index).unwrap().next().is_some());
    // Served from the index from now on, and read in each listing's zone.
    assert_eq!(created_at("JST-9"), "2026-01-01T09:00:00.000000");
    assert_eq!(created_at("JST-9"), "2026-01-01T09:00:00.000000");
    assert_eq!(created_at("UTC0"), "2026-01-01T00:00:00.000000");
}

#[test]
fn torn_and_non_json_lines_hide_no_step_and_survive_in_output() {
    let w = World::new();
    let clean = w.finished("codex_first_turn.jsonl", 0);
    let whole = transcript_lines("codex_first_turn.jsonl", 0..6);
    let mut messy = String::new();
    for (n, l) in whole.lines().enumerate() {
        if n == 3 {
            messy.push_str("WARN stray log line, not JSON\n{\"type\": oops}\n");
        }
        messy.push_str(l);
        messy.push('\n');
    }
    messy.push_str("{\"type\":\"turn.completed\",\"usage\":{\"input_tok");
    w.agent.turn(2, &messy);
    let id = w.start(&["the task"]);
    assert_eq!(w.wait(&id), 4, "no terminal event: not completed");

    let strip = |steps: Vec<Value>| -> Vec<Value> {
        steps
            .into_iter()
            .map(|mut s| {
                s.as_object_mut().unwrap().remove("line");
                s
            })
            .collect()
    };
    let got = strip(w.steps(&id));
    let want = strip(w.steps(&clean));
    assert_eq!(got, want);
    assert!(got.iter().any(|s| s["type"] == "command"
        && s["output"] == "hello-from-mock\n"
        && s["exit_code"] == 0));
    assert!(got.iter().any(|s| s["text"] == "All done: mock says hi."));

    let out = w.run(&["trajectory", "--full", &id]);
    expect(&out, 0);
    assert!(stdout(&out).contains("All done: mock says hi."));
    assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
    assert_eq!(w.ok(&["output", &id]), messy);
    let meta = w.meta(&id);
    assert_eq!(meta["status"], "failed");
    assert_eq!(meta["turns"][0]["ending"], "interrupted");
    assert_eq!(meta["messages"][1]["content"], "All done: mock says hi.");
}

#[test]
fn piped_stdin_never_reaches_the_agent() {
    let w = World::new();
    w.agent.turn(1, transcript("codex_first_turn.jsonl"));
    let mut child = w
        .cmd(&["start", "the task"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    // The pipe may be closed unread; that is the point.
    let _ = input.write_all(b"not for the agent\n");
    drop(input);
    let out = child.wait_with_output().unwrap();
    expect(&out, 0);
    let id = stdout(&out).trim().to_string();
    assert_eq!(w.wait(&id), 0);
    assert_eq!(w.agent.stdin(1), "/dev/null");
    assert_eq!(w.agent.argv(1).last().unwrap(), "the task");
}
