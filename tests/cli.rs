//! The real zwarm binary driven by a fake agent that replays real transcripts:
//! bad input, every status path, the agents' argv, and the exit code of every
//! command. Fake turns are instant, and turns are waited for with zwarm's
//! own `wait`, never with sleeps.

mod support;

use serde_json::{json, Value};
use std::io::Write;
use std::process::Stdio;
use std::time::{Duration, Instant};
use support::fake::{error_of, expect, stderr, stdout, transcript, World};

const STARTED: Duration = Duration::from_secs(10);
const CODEX_THREAD: &str = "01a209eb-9fe5-7091-945e-ca2ae2c25c85";
const CLAUDE_SESSION: &str = "172a5050-90bc-4c0c-bb9a-1cf25846f716";

fn short(id: &str) -> &str {
    &id[..8]
}

/// Lines `range` (0-based) of a transcript, each with its newline.
fn lines(name: &str, range: std::ops::Range<usize>) -> String {
    transcript(name)
        .lines()
        .skip(range.start)
        .take(range.len())
        .map(|l| format!("{l}\n"))
        .collect()
}

/// Starts a codex session whose agent prints the start of an interrupted
/// turn and then runs until it is killed; returns once all of that is
/// written and the agent hangs.
fn start_hanging(w: &World, args: &[&str]) -> String {
    let k = w.agent.calls() + 1;
    w.agent.turn(k, transcript("codex_sigterm.jsonl")).hang(k);
    let id = w.start(args);
    w.agent.wait_hanging(k, STARTED);
    id
}

/// Starts a session replaying `name` with exit code `exit`, and waits for it.
fn finished(w: &World, name: &str, exit: i32) -> String {
    let k = w.agent.calls() + 1;
    w.agent.turn(k, transcript(name)).exit(k, exit);
    let id = w.start(&["the task"]);
    w.wait(&id);
    id
}

fn meta_bytes(w: &World, id: &str) -> Vec<u8> {
    std::fs::read(w.session_dir(id).join("meta.json")).expect("read meta.json")
}

/// A copy of session `from` stored under the id `to`.
fn clone_session(w: &World, from: &str, to: &str) {
    let mut meta = w.meta(from);
    meta["id"] = json!(to);
    let dir = w.session_dir(to);
    std::fs::create_dir_all(dir.join("turns")).unwrap();
    std::fs::write(
        dir.join("meta.json"),
        serde_json::to_vec_pretty(&meta).unwrap(),
    )
    .unwrap();
}

fn proc_state(pid: i32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat[stat.rfind(')')? + 1..].trim_start().chars().next()
}

fn alive(pid: i32) -> bool {
    proc_state(pid).is_some_and(|s| s != 'Z' && s != 'X')
}

/// Live processes of a session: its supervisor (the id is in its argv) and
/// whatever runs with the session's id in its environment.
fn processes_of(id: &str) -> Vec<i32> {
    let tag = format!("ZWARM_SESSION_ID={id}");
    let me = std::process::id() as i32;
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|&pid| pid != me && alive(pid))
        .filter(|pid| {
            let has = |file: &str, needle: &str| {
                std::fs::read(format!("/proc/{pid}/{file}"))
                    .is_ok_and(|b| b.split(|&c| c == 0).any(|part| part == needle.as_bytes()))
            };
            has("cmdline", id) || has("environ", &tag)
        })
        .collect()
}

/// A process that is being torn down may linger for a moment.
#[track_caller]
fn assert_no_processes(id: &str) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let left = processes_of(id);
        if left.is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "session {id} left processes behind: {left:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[track_caller]
fn assert_dead(pid: i32) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while alive(pid) {
        assert!(Instant::now() < deadline, "process {pid} is still alive");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn signal(pid: i32, sig: &str) {
    let ok = std::process::Command::new("kill")
        .args([&format!("-{sig}"), &pid.to_string()])
        .status()
        .expect("run kill")
        .success();
    assert!(ok, "kill -{sig} {pid}");
}

fn steps(w: &World, id: &str) -> Vec<Value> {
    w.json(&["trajectory", id])["steps"]
        .as_array()
        .expect("steps")
        .clone()
}

fn session_ids(w: &World) -> Vec<String> {
    match std::fs::read_dir(w.state.path().join("sessions")) {
        Ok(d) => d
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect(),
        Err(_) => Vec::new(),
    }
}

// ---------------------------------------------------------------- bad input

#[test]
fn an_unknown_id_exits_3_with_one_line_naming_it() {
    let w = World::new();
    finished(&w, "codex_first_turn.jsonl", 0);
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
        expect(&out, 3);
        assert_eq!(error_of(&out), "no session matches 'deadbeef'", "{args:?}");
        assert_eq!(stdout(&out), "", "{args:?}");
    }
    // A store that does not exist yet has no sessions either.
    let empty = World::new();
    let out = empty.run(&["show", "0123"]);
    expect(&out, 3);
    assert_eq!(error_of(&out), "no session matches '0123'");
}

#[test]
fn an_ambiguous_prefix_exits_2_listing_the_candidates() {
    let w = World::new();
    let id = finished(&w, "codex_first_turn.jsonl", 0);
    let a = "abc00000-0000-4000-8000-000000000001";
    let b = "abc00000-0000-4000-8000-000000000002";
    clone_session(&w, &id, a);
    clone_session(&w, &id, b);
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
    let id = finished(&w, "codex_first_turn.jsonl", 0);
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
    assert!(session_ids(&w).is_empty(), "{:?}", session_ids(&w));

    // Nor does an empty message start a turn.
    let id = finished(&w, "codex_first_turn.jsonl", 0);
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
    let _stop = w.stop_all_on_drop();
    let id = start_hanging(&w, &["the task"]);
    let before = meta_bytes(&w, &id);
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
    assert_eq!(meta_bytes(&w, &id), before);
    assert!(alive(w.agent.pid(1)));
}

#[test]
fn kill_of_a_finished_session_says_so_exits_1_and_changes_nothing() {
    let w = World::new();
    let id = finished(&w, "codex_first_turn.jsonl", 0);
    let before = meta_bytes(&w, &id);
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
    assert_eq!(meta_bytes(&w, &id), before);
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

    let ids = session_ids(&w);
    assert_eq!(ids.len(), 1);
    let meta = w.meta(&ids[0]);
    assert_eq!(meta["status"], "failed");
    assert_eq!(meta["error"], why.as_str());
    assert_eq!(meta["turns"][0]["ending"], "agent_missing");
    assert!(meta["pid"].is_null());
    assert_no_processes(&ids[0]);

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
    assert_no_processes(doc["id"].as_str().unwrap());
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
    let good = finished(&w, "codex_first_turn.jsonl", 0);
    let bad = finished(&w, "codex_first_turn.jsonl", 0);
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

    let list = w.json(&["list"]);
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
    let id = finished(&w, "codex_first_turn.jsonl", 0);
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
    let clean = finished(&w, "codex_first_turn.jsonl", 0);
    let whole = lines("codex_first_turn.jsonl", 0..6);
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
    let got = strip(steps(&w, &id));
    let want = strip(steps(&w, &clean));
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

// ------------------------------------------------------------- status paths

#[test]
fn a_completed_turn_is_completed_with_messages_and_usage() {
    let w = World::new();
    w.agent.turn(1, transcript("codex_first_turn.jsonl"));
    let out = w.run(&["start", "first"]);
    expect(&out, 0);
    let id = stdout(&out).trim().to_string();
    assert!(uuid_like(&id), "{id}");
    assert_eq!(w.wait(&id), 0);
    let meta = w.meta(&id);
    assert_eq!(meta["status"], "completed");
    assert_eq!(meta["exit_code"], 0);
    assert!(meta["error"].is_null());
    assert_eq!(meta["agent_session_id"], CODEX_THREAD);
    assert_eq!(meta["turns"][0]["ending"], "completed");
    let roles: Vec<(&str, &str)> = meta["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["role"].as_str().unwrap(), m["content"].as_str().unwrap()))
        .collect();
    assert_eq!(
        roles,
        [("user", "first"), ("assistant", "All done: mock says hi.")]
    );
    assert_eq!(
        meta["token_usage"],
        json!({"input_tokens": 200, "cached_input_tokens": 40, "output_tokens": 14, "total_tokens": 214})
    );
    let table = w.ok(&["ls"]);
    assert!(
        table.contains("✓ completed") && table.contains("214"),
        "{table}"
    );
}

fn uuid_like(s: &str) -> bool {
    s.len() == 36 && s.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-')
}

#[test]
fn turn_failed_is_failed_with_its_error() {
    let w = World::new();
    let id = finished(&w, "codex_failed.jsonl", 1);
    let meta = w.meta(&id);
    assert_eq!(meta["status"], "failed");
    assert_eq!(meta["exit_code"], 1);
    assert_eq!(meta["turns"][0]["ending"], "failed");
    let err = meta["error"].as_str().unwrap();
    assert!(err.contains("mock: invalid request"), "{err}");
    assert_eq!(w.run(&["wait", &id]).status.code(), Some(4));
}

#[test]
fn exit_0_without_a_terminal_event_is_not_completed() {
    let w = World::new();
    let id = finished(&w, "codex_sigterm.jsonl", 0);
    let meta = w.meta(&id);
    assert_eq!(meta["status"], "failed");
    assert_eq!(meta["exit_code"], 0);
    assert_eq!(meta["turns"][0]["ending"], "interrupted");
    assert_eq!(
        meta["error"],
        "interrupted: the agent exited with code 0 before finishing its turn"
    );
    assert_eq!(w.wait(&id), 4);
}

#[test]
fn kill_of_a_hanging_turn_is_killed_and_leaves_no_process() {
    let w = World::new();
    let _stop = w.stop_all_on_drop();
    let id = start_hanging(&w, &["the task"]);
    let agent = w.agent.pid(1);
    assert_eq!(w.json(&["show", &id])["status"], "running");
    let out = w.run(&["kill", short(&id)]);
    expect(&out, 0);
    assert_eq!(stdout(&out), format!("killed {}\n", short(&id)));
    let meta = w.meta(&id);
    assert_eq!(meta["status"], "killed");
    assert_eq!(meta["exit_code"], -15);
    assert_eq!(meta["turns"][0]["ending"], "killed");
    assert_eq!(meta["turns"][0]["exit"], json!({"signal": 15}));
    assert_dead(agent);
    assert_no_processes(&id);
    assert_eq!(w.wait(&id), 4);
}

#[test]
fn sigterm_to_the_supervisor_is_recorded_as_killed() {
    let w = World::new();
    let _stop = w.stop_all_on_drop();
    let id = start_hanging(&w, &["the task"]);
    let supervisor = w.meta(&id)["pid"].as_i64().unwrap() as i32;
    signal(supervisor, "TERM");
    assert_eq!(w.wait(&id), 4);
    let meta = w.meta(&id);
    assert_eq!(meta["status"], "killed", "{meta:#}");
    assert_eq!(meta["turns"][0]["ending"], "killed");
    assert_dead(w.agent.pid(1));
    assert_no_processes(&id);
}

#[test]
fn an_agent_killed_from_outside_is_failed_as_interrupted() {
    let w = World::new();
    let _stop = w.stop_all_on_drop();
    let id = start_hanging(&w, &["the task"]);
    signal(w.agent.pid(1), "KILL");
    assert_eq!(w.wait(&id), 4);
    let meta = w.meta(&id);
    assert_eq!(meta["status"], "failed");
    assert_eq!(meta["exit_code"], -9);
    assert_eq!(meta["turns"][0]["ending"], "interrupted");
    assert_eq!(
        meta["error"],
        "interrupted: the agent was killed by SIGKILL before finishing its turn"
    );
    assert_no_processes(&id);
}

#[test]
fn a_vanished_supervisor_is_settled_by_the_next_reader() {
    let w = World::new();
    let _stop = w.stop_all_on_drop();
    let id = start_hanging(&w, &["the task"]);
    let supervisor = w.meta(&id)["pid"].as_i64().unwrap() as i32;
    signal(supervisor, "KILL");
    assert_dead(supervisor);
    // The agent outlives it and still works: the session still runs.
    assert_eq!(w.json(&["show", &id])["status"], "running");
    signal(w.agent.pid(1), "KILL");
    assert_dead(w.agent.pid(1));
    let shown = w.json(&["show", &id]);
    assert_eq!(shown["status"], "failed");
    assert_eq!(shown["ending"], "interrupted");
    let err = shown["error"].as_str().unwrap();
    assert!(
        err.starts_with("interrupted: zwarm's supervisor stopped unexpectedly"),
        "{err}"
    );
    assert_eq!(w.meta(&id)["turns"][0]["settled_by"], "reader");
}

#[test]
fn reconnecting_alone_is_not_a_failure() {
    let w = World::new();
    let _stop = w.stop_all_on_drop();
    // Retrying, and still at it.
    w.agent
        .turn(1, lines("codex_failed_after_retries.jsonl", 0..5))
        .hang(1);
    let retrying = w.start(&["the task"]);
    w.agent.wait_hanging(1, STARTED);
    let shown = w.json(&["show", &retrying]);
    assert_eq!(shown["status"], "running");
    assert!(shown["error"].is_null());
    expect(&w.run(&["kill", &retrying]), 0);

    // Retries, then the turn goes through.
    let recovered =
        lines("codex_failed_after_retries.jsonl", 0..5) + &lines("codex_first_turn.jsonl", 3..7);
    w.agent.turn(2, recovered);
    let id = w.start(&["the task"]);
    assert_eq!(w.wait(&id), 0);
    let meta = w.meta(&id);
    assert_eq!(meta["status"], "completed");
    assert!(meta["error"].is_null());
    let warnings = steps(&w, &id)
        .into_iter()
        .filter(|s| s["type"] == "warning")
        .filter(|s| s["message"].as_str().unwrap().starts_with("Reconnecting"))
        .count();
    assert_eq!(warnings, 2);

    // Retries that run out end in turn.failed, whose message is the error.
    let id = finished(&w, "codex_failed_after_retries.jsonl", 1);
    let meta = w.meta(&id);
    assert_eq!(meta["status"], "failed");
    assert_eq!(
        meta["error"],
        "We’re currently experiencing high demand, which may cause temporary errors."
    );
}

// --------------------------------------------------------------------- argv

#[test]
fn codex_argv_passes_options_and_resumes_the_thread() {
    let w = World::new();
    let sub = w.work.path().join("sub dir");
    std::fs::create_dir(&sub).unwrap();
    let sub = sub.canonicalize().unwrap();
    let sub_s = sub.to_str().unwrap();
    w.agent
        .turn(1, transcript("codex_first_turn.jsonl"))
        .turn(2, transcript("codex_resume.jsonl"));
    let id = w.start(&[
        "-m",
        "gpt-5.5",
        "-s",
        "read-only",
        "-C",
        sub_s,
        "fix",
        "the bug",
    ]);
    assert_eq!(w.wait(&id), 0);
    let cd = format!("--cd={sub_s}");
    assert_eq!(
        w.agent.argv(1),
        [
            "exec",
            "--json",
            "--skip-git-repo-check",
            "--model=gpt-5.5",
            "--sandbox=read-only",
            &cd,
            "--",
            "fix the bug"
        ]
    );
    assert_eq!(w.agent.cwd(1), sub);

    expect(&w.run(&["inject", short(&id), "--", "-now", "more"]), 0);
    assert_eq!(w.wait(&id), 0);
    assert_eq!(
        w.agent.argv(2),
        [
            "exec",
            "--json",
            "--skip-git-repo-check",
            "--model=gpt-5.5",
            "--sandbox=read-only",
            &cd,
            "resume",
            "--",
            CODEX_THREAD,
            "-now more"
        ]
    );
    assert_eq!(w.agent.cwd(2), sub);
    assert_eq!(w.meta(&id)["turns"][1]["resume_id"], CODEX_THREAD);
}

#[test]
fn codex_argv_defaults_and_a_task_that_looks_like_a_flag() {
    let w = World::new();
    w.agent.turn(1, transcript("codex_first_turn.jsonl"));
    let id = w.start(&["--", "-v flag: add it"]);
    assert_eq!(w.wait(&id), 0);
    let work = w.work.path().canonicalize().unwrap();
    assert_eq!(
        w.agent.argv(1),
        [
            "exec",
            "--json",
            "--skip-git-repo-check",
            "--sandbox=workspace-write",
            &format!("--cd={}", work.display()),
            "--",
            "-v flag: add it"
        ]
    );
    assert_eq!(w.meta(&id)["task"], "-v flag: add it");
}

#[test]
fn claude_pins_its_session_id_then_resumes_it() {
    let w = World::new();
    w.agent
        .turn(1, transcript("claude_first_turn.jsonl"))
        .turn(2, transcript("claude_resume.jsonl"));
    let id = w.start(&["-a", "claude", "-m", "sonnet", "say hello"]);
    assert_eq!(w.wait(&id), 0);
    let head = [
        "-p",
        "--output-format=stream-json",
        "--verbose",
        "--model=sonnet",
        "--permission-mode=bypassPermissions",
    ];
    let pinned = format!("--session-id={id}");
    let mut want: Vec<&str> = head.to_vec();
    want.extend([pinned.as_str(), "--", "say hello"]);
    assert_eq!(w.agent.argv(1), want);
    assert_eq!(w.agent.cwd(1), w.work.path().canonicalize().unwrap());
    let meta = w.meta(&id);
    assert_eq!(meta["adapter"], "claude_code");
    assert_eq!(meta["status"], "completed");
    // The transcript was recorded unpinned: what the stream reports wins.
    assert_eq!(meta["agent_session_id"], CLAUDE_SESSION);

    expect(&w.run(&["inject", &id, "again"]), 0);
    assert_eq!(w.wait(&id), 0);
    let mut want: Vec<&str> = head.to_vec();
    let resume = format!("--resume={CLAUDE_SESSION}");
    want.extend([resume.as_str(), "--", "again"]);
    assert_eq!(w.agent.argv(2), want);
    let meta = w.meta(&id);
    assert_eq!(meta["status"], "completed");
    assert_eq!(meta["turn"], 2);
    assert!(meta["error"].is_null(), "{meta:#}");
    // claude reports each invocation's usage (summed) and the session's
    // running cost (the latest one stands).
    assert_eq!(meta["token_usage"]["input_tokens"], 150);
    assert_eq!(meta["token_usage"]["output_tokens"], 27);
    assert_eq!(meta["cost_usd"], 0.00114);
    assert_eq!(meta["messages"].as_array().unwrap().len(), 4);
}

/// Without `-m`, claude runs its default model and says which; that stays
/// a report, so the next turn is not pinned to a model nobody chose.
#[test]
fn a_model_claude_reports_is_recorded_but_never_asked_for() {
    let w = World::new();
    w.agent
        .turn(1, transcript("claude_first_turn.jsonl"))
        .turn(2, transcript("claude_resume.jsonl"));
    let id = w.start(&["-a", "claude", "say hello"]);
    assert_eq!(w.wait(&id), 0);
    expect(&w.run(&["inject", &id, "again"]), 0);
    assert_eq!(w.wait(&id), 0);
    for k in [1, 2] {
        assert!(
            !w.agent.argv(k).iter().any(|a| a.starts_with("--model")),
            "{k}"
        );
    }
    let meta = w.meta(&id);
    assert_eq!(meta["model"], "");
    assert_eq!(meta["turns"][0]["reported_model"], "claude-opus-5-5");
    let shown = w.json(&["show", &id]);
    assert_eq!(shown["model"], "");
    assert_eq!(
        shown["turn_records"][1]["reported_model"],
        "claude-opus-5-5"
    );
    let out = w.run(&["show", &id]);
    assert!(
        stdout(&out).contains("claude (claude-opus-5-5, its default)"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn inject_into_a_completed_codex_session_keeps_the_thread_total() {
    let w = World::new();
    w.agent
        .turn(1, transcript("codex_first_turn.jsonl"))
        .turn(2, transcript("codex_resume.jsonl"));
    let id = w.start(&["first"]);
    assert_eq!(w.wait(&id), 0);
    let out = w.run(&["inject", short(&id), "second"]);
    expect(&out, 0);
    assert_eq!(stdout(&out), format!("{id} turn 2\n"));
    assert_eq!(w.wait(&id), 0);

    let meta = w.meta(&id);
    assert_eq!(meta["status"], "completed");
    assert_eq!(meta["turn"], 2);
    assert_eq!(meta["turns"].as_array().unwrap().len(), 2);
    assert_eq!(meta["turns"][1]["ending"], "completed");
    // codex reports the thread's running total: the session's usage is the
    // latest report, and the turn's own share is the difference.
    assert_eq!(
        meta["token_usage"],
        json!({"input_tokens": 300, "cached_input_tokens": 60, "output_tokens": 21, "total_tokens": 321})
    );
    assert_eq!(
        meta["turns"][1]["usage"],
        json!({"input_tokens": 100, "cached_input_tokens": 20, "output_tokens": 7, "total_tokens": 107})
    );
    let msgs: Vec<(&str, &str, u64)> = meta["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["role"].as_str().unwrap(),
                m["content"].as_str().unwrap(),
                m["metadata"]["turn"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        msgs,
        [
            ("user", "first", 1),
            ("assistant", "All done: mock says hi.", 1),
            ("user", "second", 2),
            ("assistant", "All done: mock says hi.", 2),
        ]
    );
    assert_eq!(
        w.ok(&["output", &id, "--turn", "1"]),
        transcript("codex_first_turn.jsonl")
    );
    assert_eq!(w.ok(&["output", &id]), transcript("codex_resume.jsonl"));
}

// --------------------------------------------------------------- rm and kill

#[test]
fn rm_refuses_a_running_session_and_removes_a_finished_one() {
    let w = World::new();
    let _stop = w.stop_all_on_drop();
    let done = finished(&w, "codex_first_turn.jsonl", 0);
    let running = start_hanging(&w, &["the task"]);

    let out = w.run(&["rm", short(&running)]);
    expect(&out, 5);
    assert_eq!(
        error_of(&out),
        format!("session {running} has turn 1 running")
    );
    assert!(w.session_dir(&running).exists());
    assert!(alive(w.agent.pid(2)));

    let out = w.run(&["rm", short(&done)]);
    expect(&out, 0);
    assert_eq!(stdout(&out), format!("removed {}\n", short(&done)));
    assert!(!w.session_dir(&done).exists());
    expect(&w.run(&["show", &done]), 3);

    let out = w.run(&["rm", "--force", short(&running)]);
    expect(&out, 0);
    assert!(!w.session_dir(&running).exists());
    assert_dead(w.agent.pid(2));
    assert_no_processes(&running);
}

#[test]
fn kill_all_stops_every_running_session_and_nothing_else() {
    let w = World::new();
    let _stop = w.stop_all_on_drop();
    let done = finished(&w, "codex_first_turn.jsonl", 0);
    let before = meta_bytes(&w, &done);
    let a = start_hanging(&w, &["a"]);
    let b = start_hanging(&w, &["b"]);
    let out = w.run(&["kill", "--all"]);
    expect(&out, 0);
    let mut said: Vec<String> = stdout(&out).lines().map(str::to_string).collect();
    said.sort();
    let mut want = vec![
        format!("killed {}", short(&a)),
        format!("killed {}", short(&b)),
    ];
    want.sort();
    assert_eq!(said, want);
    for id in [&a, &b] {
        assert_eq!(w.meta(id)["status"], "killed");
        assert_no_processes(id);
    }
    assert_dead(w.agent.pid(2));
    assert_dead(w.agent.pid(3));
    assert_eq!(meta_bytes(&w, &done), before);

    let out = w.run(&["kill", "--all"]);
    expect(&out, 0);
    assert_eq!(stdout(&out), "");
    assert!(
        stderr(&out).contains("no running sessions"),
        "{}",
        stderr(&out)
    );
    expect(&w.run(&["kill", "--all", &a]), 2);
}

#[test]
fn kill_delete_stops_and_removes() {
    let w = World::new();
    let _stop = w.stop_all_on_drop();
    let id = start_hanging(&w, &["the task"]);
    let out = w.run(&["kill", "--delete", short(&id)]);
    expect(&out, 0);
    assert_eq!(stdout(&out), format!("killed and removed {}\n", short(&id)));
    assert!(!w.session_dir(&id).exists());
    assert_dead(w.agent.pid(1));
    assert_no_processes(&id);
    assert!(session_ids(&w).is_empty(), "{:?}", session_ids(&w));
}

// --------------------------------------------------------------- exit codes

#[test]
fn help_prints_the_exit_code_table() {
    let w = World::new();
    let out = w.run(&["--help"]);
    expect(&out, 0);
    let help = stdout(&out);
    for row in [
        "0    success",
        "1    failure",
        "2    usage error",
        "3    no session matches the id",
        "4    a session ended without completing",
        "5    the session has a turn running",
        "124  `wait --timeout` ran out",
    ] {
        assert!(help.contains(row), "{row:?} missing from:\n{help}");
    }
    expect(&w.run(&["--no-such-flag"]), 2);
}

#[test]
fn exit_codes_start() {
    let w = World::new();
    w.agent.turn(1, transcript("codex_first_turn.jsonl"));
    let out = w.run(&["start", "the task"]);
    expect(&out, 0);
    assert!(uuid_like(stdout(&out).trim()));
    expect(&w.run(&["start", "-a", "gemini", "the task"]), 2);
    expect(&w.run(&["start", "-s", "yolo", "the task"]), 2);
    let out = w.run(&["start", "-C", "no/such/dir", "the task"]);
    expect(&out, 2);
    assert_eq!(error_of(&out), "--cd no/such/dir: no such directory");
    let out = w
        .cmd(&["start", "the task"])
        .env("ZWARM_CODEX_BIN", "/nonexistent/codex")
        .output()
        .unwrap();
    expect(&out, 1);
}

#[test]
fn exit_codes_list() {
    let w = World::new();
    let out = w.run(&["list"]);
    expect(&out, 0);
    let id = finished(&w, "codex_first_turn.jsonl", 0);
    assert!(w.ok(&["ls", "--status", "completed"]).contains(short(&id)));
    assert!(!w.ok(&["ls", "--status", "failed"]).contains(short(&id)));
    expect(&w.run(&["list", "--status", "done"]), 2);
}

#[test]
fn exit_codes_show() {
    let w = World::new();
    let id = finished(&w, "codex_failed.jsonl", 1);
    let out = w.run(&["show", short(&id)]);
    // Showing a failed session succeeds: the failure is the data.
    expect(&out, 0);
    assert!(stdout(&out).contains("mock: invalid request"));
    expect(&w.run(&["show", "f00d"]), 3);
    expect(&w.run(&["show"]), 2);
}

#[test]
fn exit_codes_inject() {
    let w = World::new();
    let _stop = w.stop_all_on_drop();
    w.agent.turn(2, transcript("codex_resume.jsonl"));
    let id = finished(&w, "codex_first_turn.jsonl", 0);
    expect(&w.run(&["continue", &id, "more"]), 0);
    assert_eq!(w.wait(&id), 0);
    w.agent.hang(3);
    expect(&w.run(&["inject", &id, "more"]), 0);
    expect(&w.run(&["inject", &id, "more"]), 5);
    expect(&w.run(&["inject", "f00d", "more"]), 3);
    expect(&w.run(&["inject", &id]), 2);
}

#[test]
fn exit_codes_kill() {
    let w = World::new();
    let _stop = w.stop_all_on_drop();
    let id = start_hanging(&w, &["the task"]);
    expect(&w.run(&["kill", &id]), 0);
    expect(&w.run(&["kill", &id]), 1);
    expect(&w.run(&["kill", "f00d"]), 3);
    expect(&w.run(&["kill"]), 2);
    // One bad id does not stop the others; the worst code wins.
    let other = start_hanging(&w, &["the task"]);
    let out = w.run(&["kill", &other, "f00d"]);
    expect(&out, 3);
    assert_eq!(stdout(&out), format!("killed {}\n", short(&other)));
    assert_eq!(w.meta(&other)["status"], "killed");
}

#[test]
fn exit_codes_rm() {
    let w = World::new();
    let _stop = w.stop_all_on_drop();
    let done = finished(&w, "codex_first_turn.jsonl", 0);
    let running = start_hanging(&w, &["the task"]);
    expect(&w.run(&["rm", &running]), 5);
    expect(&w.run(&["rm", &done]), 0);
    expect(&w.run(&["rm", &done]), 3);
    expect(&w.run(&["rm"]), 2);
}

#[test]
fn exit_codes_trajectory() {
    let w = World::new();
    let id = finished(&w, "codex_first_turn.jsonl", 0);
    let out = w.run(&["traj", short(&id)]);
    expect(&out, 0);
    let text = stdout(&out);
    assert!(
        text.contains("── turn 1 ──") && text.contains("All done: mock says hi."),
        "{text}"
    );
    let out = w.run(&["trajectory", &id, "--turn", "2"]);
    expect(&out, 2);
    assert_eq!(
        error_of(&out),
        format!("session {} has turns 1 to 1, not 2", short(&id))
    );
    expect(&w.run(&["trajectory", "f00d"]), 3);
}

#[test]
fn exit_codes_output() {
    let w = World::new();
    let id = finished(&w, "codex_first_turn.jsonl", 0);
    assert_eq!(
        w.ok(&["output", short(&id)]),
        transcript("codex_first_turn.jsonl")
    );
    expect(&w.run(&["output", &id, "--turn", "0"]), 2);
    expect(&w.run(&["output", &id, "--turn", "3"]), 2);
    expect(&w.run(&["output", "f00d"]), 3);
}

#[test]
fn a_missing_turn_file_is_an_error_unless_no_agent_ran_or_the_turn_is_starting() {
    let w = World::new();
    let _stop = w.stop_all_on_drop();
    w.agent
        .turn(1, transcript("codex_first_turn.jsonl"))
        .turn(2, transcript("codex_resume.jsonl"));
    let id = w.start(&["first"]);
    assert_eq!(w.wait(&id), 0);
    expect(&w.run(&["inject", &id, "second"]), 0);
    assert_eq!(w.wait(&id), 0);
    let file = w.session_dir(&id).join("turns/turn_1.jsonl");
    std::fs::remove_file(&file).unwrap();
    let want = format!(
        "turn 1 of session {id} has no output file: {} is missing",
        file.display()
    );
    for args in [
        &["output", "--turn", "1", &id][..],
        &["trajectory", &id],
        &["trajectory", "--turn", "1", &id],
        &["--json", "trajectory", &id],
    ] {
        let out = w.run(args);
        expect(&out, 1);
        assert_eq!(error_of(&out), want, "{args:?}");
        assert_eq!(stdout(&out), "", "{args:?}");
    }
    // The turn that has its file still reads.
    assert_eq!(w.ok(&["output", &id]), transcript("codex_resume.jsonl"));
    assert!(w
        .ok(&["trajectory", "--turn", "2", &id])
        .contains("All done: mock says hi."));

    // An agent that never started wrote nothing, rightly.
    let out = w
        .cmd(&["start", "never runs"])
        .env("ZWARM_CODEX_BIN", w.work.path().join("no-such-codex"))
        .output()
        .unwrap();
    expect(&out, 1);
    let never = session_ids(&w).into_iter().find(|s| *s != id).unwrap();
    assert_eq!(w.ok(&["output", &never]), "");
    assert_eq!(w.json(&["trajectory", &never])["steps"], json!([]));

    // Nor has a turn whose supervisor has not created its file yet; here
    // the file is taken away from under a running turn to stand for that.
    let running = start_hanging(&w, &["the task"]);
    std::fs::remove_file(w.session_dir(&running).join("turns/turn_1.jsonl")).unwrap();
    assert_eq!(w.ok(&["output", &running]), "");
    assert_eq!(w.json(&["trajectory", &running])["steps"], json!([]));
}

#[test]
fn exit_codes_watch() {
    let w = World::new();
    // Followed live: lines arrive while watch runs.
    w.agent
        .turn(1, transcript("codex_first_turn.jsonl"))
        .delay(0.02);
    let id = w.start(&["the task"]);
    let out = w.run(&["watch", &id]);
    expect(&out, 0);
    let text = stdout(&out);
    assert!(text.contains("All done: mock says hi."), "{text}");
    assert!(text.contains("── turn 1 completed ──"), "{text}");

    let failed = finished(&w, "codex_failed.jsonl", 1);
    let out = w.run(&["--json", "watch", &failed]);
    expect(&out, 4);
    let last: Value = serde_json::from_str(stdout(&out).lines().last().unwrap()).unwrap();
    assert_eq!(last["type"], "end");
    assert_eq!(last["status"], "failed");
    expect(&w.run(&["watch", "f00d"]), 3);
}

#[test]
fn exit_codes_wait() {
    let w = World::new();
    let _stop = w.stop_all_on_drop();
    let done = finished(&w, "codex_first_turn.jsonl", 0);
    let failed = finished(&w, "codex_failed.jsonl", 1);
    let out = w.run(&["wait", &done]);
    expect(&out, 0);
    assert_eq!(stdout(&out), format!("{} completed\n", short(&done)));
    expect(&w.run(&["wait", &done, &failed]), 4);
    let running = start_hanging(&w, &["the task"]);
    let out = w.run(&["wait", "--timeout", "100ms", &running]);
    expect(&out, 124);
    assert!(stderr(&out).contains("timed out"));
    expect(&w.run(&["wait", "--any", &running, &done]), 0);
    expect(&w.run(&["wait", "--timeout", "soon", &done]), 2);
    expect(&w.run(&["wait", "f00d"]), 3);
    // A zero timeout is a poll: what has ended is not a timeout.
    let out = w.run(&["wait", "--timeout", "0", &done]);
    expect(&out, 0);
    assert_eq!(stderr(&out), "");
    expect(&w.run(&["wait", "--timeout", "0", &done, &failed]), 4);
    expect(&w.run(&["wait", "--timeout", "0", &done, &running]), 124);
    expect(
        &w.run(&["wait", "--any", "--timeout", "0", &done, &running]),
        0,
    );
    let out = w.run(&["wait", "--timeout", "99999999999999999d", &done]);
    expect(&out, 2);
    assert!(
        stderr(&out).contains("too long a duration"),
        "{}",
        stderr(&out)
    );
    assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
}

#[test]
fn exit_codes_clean() {
    let w = World::new();
    let id = finished(&w, "codex_first_turn.jsonl", 0);
    let out = w.run(&["clean"]);
    expect(&out, 0);
    assert!(stderr(&out).contains("nothing to clean"));
    let out = w.run(&["clean", "--older-than", "0s"]);
    expect(&out, 0);
    assert!(stdout(&out).starts_with(&format!("would remove {}", short(&id))));
    assert!(w.session_dir(&id).exists());
    let out = w.run(&["clean", "--older-than", "0s", "--yes"]);
    expect(&out, 0);
    assert!(stdout(&out).starts_with(&format!("removed {}", short(&id))));
    assert!(!w.session_dir(&id).exists());
    expect(&w.run(&["clean", "--older-than", "a while"]), 2);
}

#[test]
fn clean_reports_each_session_it_could_not_remove() {
    let w = World::new();
    let stuck = finished(&w, "codex_first_turn.jsonl", 0);
    let gone = finished(&w, "codex_first_turn.jsonl", 0);
    // Root may write anywhere: what blocks the removal is the session's
    // folder being a mount point (bound onto itself), which no rename moves.
    let held = w.session_dir(&stuck);
    let target = std::ffi::CString::new(held.to_str().unwrap()).unwrap();
    // SAFETY: a bind mount of a folder of this test onto itself.
    let bound = unsafe {
        libc::mount(
            target.as_ptr(),
            target.as_ptr(),
            std::ptr::null(),
            libc::MS_BIND,
            std::ptr::null(),
        )
    };
    assert_eq!(
        bound,
        0,
        "this test needs to bind-mount a folder (root): {}",
        std::io::Error::last_os_error()
    );
    struct Unmount(std::ffi::CString);
    impl Drop for Unmount {
        fn drop(&mut self) {
            // SAFETY: unmounting the bind mount made above.
            unsafe { libc::umount2(self.0.as_ptr(), libc::MNT_DETACH) };
        }
    }
    let _unmount = Unmount(target);

    let out = w.run(&["--json", "clean", "--older-than", "0s", "--yes"]);
    expect(&out, 1);
    assert_eq!(stderr(&out), "");
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["sessions"].as_array().unwrap().len(), 1);
    assert_eq!(doc["sessions"][0]["id"], gone.as_str());
    let failed = doc["failed"].as_array().unwrap();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["id"], stuck.as_str());
    let why = failed[0]["error"].as_str().unwrap();
    let dir = w.session_dir(&stuck);
    assert!(
        why.starts_with(&format!("remove {}: ", dir.display())),
        "{why}"
    );
    assert!(!w.session_dir(&gone).exists() && dir.exists());

    let out = w.run(&["clean", "--older-than", "0s", "--yes"]);
    expect(&out, 1);
    assert_eq!(stdout(&out), "");
    assert_eq!(
        error_of(&out),
        format!("session {} could not be removed: {why}", short(&stuck))
    );
    assert!(dir.exists());
}

#[test]
fn exit_codes_completions() {
    let w = World::new();
    for shell in ["bash", "zsh", "fish"] {
        let out = w.run(&["completions", shell]);
        expect(&out, 0);
        assert!(stdout(&out).contains("zwarm"));
    }
    expect(&w.run(&["completions", "cmd.exe"]), 2);
}

/// `doctor --fix` in one store never touches the processes of another
/// store's sessions, running or not.
#[test]
fn doctor_fix_leaves_other_stores_alone() {
    let ours = World::new();
    let theirs = World::new();
    let _stop = theirs.stop_all_on_drop();
    theirs
        .agent
        .turn(1, "{\"type\":\"thread.started\",\"thread_id\":\"t\"}\n")
        .hang(1);
    let id = theirs.start(&["keeps running"]);
    theirs.agent.wait_hanging(1, Duration::from_secs(10));
    let out = ours.run(&["doctor", "--fix"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let pid = theirs.agent.pid(1);
    assert!(
        std::path::Path::new(&format!("/proc/{pid}")).exists(),
        "doctor in another store stopped this agent"
    );
    assert_eq!(theirs.json(&["show", &id])["status"], "running");
}

/// A task that would retitle the terminal window and clear its screen.
const HOSTILE_TASK: &str = "\x1b]0;pwned\x07\x1b[2J";

/// A codex turn whose command, output, file name, message and error hold
/// escape sequences and other control characters.
fn hostile_turn() -> String {
    [
        json!({"type": "thread.started", "thread_id": CODEX_THREAD}),
        json!({"type": "turn.started"}),
        json!({"type": "item.completed", "item": {
            "id": "item_1", "type": "command_execution",
            "command": "printf '\x1b[31m'",
            "aggregated_output": "\x1b[1A\x1b[2Kclobbered\n50%\r100%\n\x1b]52;c;cHduZWQ=\x07\n",
            "exit_code": 0, "status": "completed"}}),
        json!({"type": "item.completed", "item": {
            "id": "item_2", "type": "file_change",
            "changes": [{"path": "/w/\x1b[2Jx.txt", "kind": "add"}],
            "status": "completed"}}),
        json!({"type": "item.completed", "item": {
            "id": "item_3", "type": "agent_message",
            "text": "done\x1b[8m hidden\u{9b}2J"}}),
        json!({"type": "turn.failed", "error": {"message": "bad\x1b[2Jend"}}),
    ]
    .iter()
    .map(|v| format!("{v}\n"))
    .collect()
}

/// `out` without zwarm's own colour codes (SGR sequences) holds no control
/// character but newline and tab. An agent's own SGR sequences would pass
/// here: the callers look for them, shown, as well.
#[track_caller]
fn assert_no_raw_controls(what: &str, out: &str) {
    let mut rest = out;
    let mut plain = String::new();
    while let Some(at) = rest.find("\x1b[") {
        plain.push_str(&rest[..at]);
        let after = &rest[at + 2..];
        let params = after
            .find(|c: char| !c.is_ascii_digit() && c != ';')
            .unwrap_or(after.len());
        if after[params..].starts_with('m') {
            rest = &after[params + 1..];
        } else {
            plain.push_str("\x1b[");
            rest = after;
        }
    }
    plain.push_str(rest);
    let raw: Vec<char> = plain
        .chars()
        .filter(|&c| c.is_control() && c != '\n' && c != '\t')
        .collect();
    assert!(raw.is_empty(), "{what} printed {raw:?} raw: {out:?}");
}

#[test]
fn control_characters_from_the_task_and_the_agent_are_shown_not_obeyed() {
    let w = World::new();
    w.agent.turn(1, hostile_turn()).exit(1, 0);
    let id = w.start(&[HOSTILE_TASK]);
    assert_eq!(w.wait(&id), 4);
    let task = "^[]0;pwned^G^[[2J";
    let error = "bad^[[2Jend";
    let message = "done^[[8m hidden<U+009B>2J";

    for color in ["never", "always"] {
        let run = |args: &[&str]| {
            let mut all = vec!["--color", color];
            all.extend_from_slice(args);
            let out = w.run(&all);
            assert_no_raw_controls(&format!("{all:?} (stderr)"), &stderr(&out));
            stdout(&out)
        };
        let list = run(&["list"]);
        let show = run(&["show", &id]);
        let trajectory = run(&["trajectory", &id]);
        let watch = run(&["watch", &id]);
        let wait = run(&["wait", &id]);
        for (what, out) in [
            ("list", &list),
            ("show", &show),
            ("trajectory", &trajectory),
            ("watch", &watch),
            ("wait", &wait),
        ] {
            assert_no_raw_controls(&format!("{what} --color {color}"), out);
            // zwarm's own colours are there exactly when asked for.
            assert_eq!(
                out.contains("\x1b[0m"),
                color == "always",
                "{what}: {out:?}"
            );
        }
        assert!(list.contains(task), "{list:?}");
        for shown in [task, error, message] {
            assert!(show.contains(shown), "{shown:?} not in {show:?}");
        }
        for shown in [
            "printf '^[[31m'",
            "    ^[[1A^[[2Kclobbered",
            "    50%^M100%",
            "    ^[]52;c;cHduZWQ=^G",
            "/w/^[[2Jx.txt",
            message,
            error,
        ] {
            assert!(
                trajectory.contains(shown),
                "{shown:?} not in {trajectory:?}"
            );
            assert!(watch.contains(shown), "{shown:?} not in {watch:?}");
        }
        assert!(wait.contains(error), "{wait:?}");
    }

    // Programs get the text as it was, and `output` the agent's bytes.
    let doc = w.json(&["show", &id]);
    assert_eq!(doc["task"], HOSTILE_TASK);
    assert_eq!(doc["error"], "bad\x1b[2Jend");
    assert_eq!(doc["last_message"], "done\x1b[8m hidden\u{9b}2J");
    let raw = w.json(&["trajectory", &id]).to_string();
    assert!(raw.contains(r"\u001b]52;c;cHduZWQ=\u0007"), "{raw}");
    assert_eq!(w.ok(&["output", &id]), hostile_turn());
}

/// A task and an agent message that read in another order than they are
/// written (RIGHT-TO-LEFT OVERRIDE) and hide a character (ZERO WIDTH SPACE).
#[test]
fn bidi_and_invisible_characters_from_the_task_and_the_agent_are_shown() {
    let w = World::new();
    let task = "rename \u{202e}fdp.exe\u{200b} back";
    let message = "renamed \u{202e}gpj.exe\u{200b} as asked";
    let turn: String = [
        json!({"type": "thread.started", "thread_id": CODEX_THREAD}),
        json!({"type": "turn.started"}),
        json!({"type": "item.completed", "item": {
            "id": "item_1", "type": "agent_message", "text": message}}),
        json!({"type": "turn.completed", "usage": {"input_tokens": 3, "output_tokens": 2}}),
    ]
    .iter()
    .map(|v| format!("{v}\n"))
    .collect();
    w.agent.turn(1, turn);
    let id = w.start(&[task]);
    assert_eq!(w.wait(&id), 0);
    let shown_task = "rename <U+202E>fdp.exe<U+200B> back";
    let shown_message = "renamed <U+202E>gpj.exe<U+200B> as asked";

    for color in ["never", "always"] {
        let run = |args: &[&str]| {
            let mut all = vec!["--color", color];
            all.extend_from_slice(args);
            let out = w.cmd(&all).env("COLUMNS", "200").output().unwrap();
            expect(&out, 0);
            stdout(&out)
        };
        let list = run(&["list"]);
        let show = run(&["show", &id]);
        let trajectory = run(&["trajectory", &id]);
        for (what, out) in [
            ("list", &list),
            ("show", &show),
            ("trajectory", &trajectory),
        ] {
            assert!(
                !out.contains(['\u{202e}', '\u{200b}']),
                "{what} --color {color} printed them raw: {out:?}"
            );
        }
        assert!(list.contains(shown_task), "{list:?}");
        for shown in [shown_task, shown_message] {
            assert!(show.contains(shown), "{shown:?} not in {show:?}");
        }
        assert!(trajectory.contains(shown_message), "{trajectory:?}");
    }

    // Programs get the text as it was.
    let doc = w.json(&["show", &id]);
    assert_eq!(doc["task"], task);
    assert_eq!(doc["last_message"], message);
    assert_eq!(w.json(&["list"])["sessions"][0]["task"], task);
    let texts: Vec<Value> = steps(&w, &id).iter().map(|s| s["text"].clone()).collect();
    assert!(texts.contains(&json!(message)), "{texts:?}");
}
