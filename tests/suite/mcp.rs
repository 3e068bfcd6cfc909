//! `zwarm mcp`: the tools over stdio, driven by a client written here
//! (`support::mcp`): the handshake and the tool list, each tool's success
//! and error, `wait` that returns what still runs and reports progress,
//! cancellation and a client that leaves, and the server's caps.

use crate::support::fake::transcript;
use crate::support::mcp::{Mcp, ANSWER};
use crate::support::output::{has, EMPTY};
use crate::support::poll::eventually;
use crate::support::procs::alive;
use crate::support::world::{World, STARTED};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const TOOLS: [&str; 8] = [
    "start",
    "list",
    "show",
    "trajectory",
    "diff",
    "wait",
    "inject",
    "kill",
];

/// A session started through `mcp` whose agent hangs once it has written
/// the start of its turn (turn `k` of the fake agent).
fn hanging(w: &World, mcp: &mut Mcp, args: Value) -> String {
    let k = w.agent.calls() + 1;
    w.agent.turn(k, transcript("codex_sigterm.jsonl")).hang(k);
    let s = mcp.ok("start", args);
    w.agent.wait_hanging(k, STARTED);
    s["id"].as_str().expect("an id").to_string()
}

fn status(w: &World, id: &str) -> String {
    w.meta(id)["status"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[test]
fn initialize_and_the_tools_with_object_schemas() {
    let w = World::new();
    let mut mcp = Mcp::start(&w, &[]);
    let r = mcp.request("tools/list", json!({}));
    let tools = r["result"]["tools"].as_array().expect("tools").clone();
    let names: Vec<&str> = tools.iter().filter_map(|t| t["name"].as_str()).collect();
    assert_eq!(names, TOOLS);
    for t in &tools {
        for key in ["inputSchema", "outputSchema"] {
            assert_eq!(t[key]["type"], "object", "{} {key}", t["name"]);
            assert!(t[key]["properties"].is_object(), "{} {key}", t["name"]);
        }
        assert!(t["description"].as_str().is_some_and(|d| !d.is_empty()));
        let read_only =
            ["list", "show", "trajectory", "diff", "wait"].contains(&t["name"].as_str().unwrap());
        assert_eq!(t["annotations"]["readOnlyHint"], read_only, "{}", t["name"]);
    }
    let kill = tools.iter().find(|t| t["name"] == "kill").unwrap();
    assert_eq!(kill["annotations"]["destructiveHint"], true);
    assert_eq!(mcp.close(Duration::from_secs(10)).code(), Some(0));
}

#[test]
fn start_wait_show_list_trajectory_and_inject() {
    let w = World::new();
    w.agent.every_turn(&transcript("codex_first_turn.jsonl"));
    let mut mcp = Mcp::start(&w, &[]);
    let s = mcp.ok("start", json!({"task": "say hello", "model": "m1"}));
    let id = s["id"].as_str().unwrap().to_string();
    assert_eq!(s["schema_version"], 1);
    assert!(
        ["pending", "running", "completed"].contains(&s["status"].as_str().unwrap()),
        "{s}"
    );
    assert_eq!(s["source"], "orchestrator:zwarm-tests");
    assert_eq!(s["model"], "m1");

    let waited = mcp.ok("wait", json!({"ids": [&id[..8]]}));
    // The default sandbox is the cap's, passed on to the agent.
    assert!(w
        .agent
        .argv(1)
        .contains(&"--sandbox=workspace-write".to_string()));
    assert_eq!(waited["ended"], json!([id]));
    assert_eq!(waited["running"], json!([]));
    assert_eq!(waited["timed_out"], false);
    assert_eq!(waited["sessions"][0]["status"], "completed");

    let shown = mcp.ok("show", json!({"id": id}));
    assert_eq!(shown["status"], "completed");
    assert_eq!(shown["turn_records"].as_array().unwrap().len(), 1);
    assert!(shown["messages"].as_array().unwrap().len() >= 2);

    let listed = mcp.ok("list", json!({"status": "completed", "limit": 5}));
    assert_eq!(listed["sessions"][0]["id"], id.as_str());
    assert_eq!(listed["total"], 1);
    assert_eq!(
        mcp.ok("list", json!({"status": "running"}))["sessions"],
        json!([])
    );

    // The whole trajectory, then the same in pieces of a small budget.
    let whole = mcp.ok("trajectory", json!({"id": id}));
    let total = whole["total_steps"].as_u64().unwrap();
    assert!(total >= 2, "{whole}");
    assert_eq!(whole["omitted_steps"], 0);
    assert_eq!(whole["steps"].as_array().unwrap().len() as u64, total);
    let mut pieces = Vec::new();
    let mut next = 0;
    while next < total {
        let part = mcp.ok(
            "trajectory",
            json!({"id": id, "since_step": next, "max_chars": 10}),
        );
        let got = part["steps"].as_array().unwrap();
        // At least one step comes back, however small the budget.
        assert_eq!(got.len(), 1, "{part}");
        assert_eq!(part["first_step"], next);
        next = part["next_step"].as_u64().unwrap();
        assert_eq!(part["omitted_steps"].as_u64().unwrap(), total - next);
        pieces.extend(got.iter().cloned());
    }
    assert_eq!(Value::Array(pieces), whole["steps"]);

    let injected = mcp.ok("inject", json!({"id": id, "message": "and again"}));
    assert_eq!(injected["turns"], 2);
    let waited = mcp.ok("wait", json!({"ids": [id]}));
    assert_eq!(waited["sessions"][0]["status"], "completed");
    assert_eq!(w.agent.calls(), 2);

    // A prefix two sessions share names neither.
    let twin = format!("{}0000-0000-4000-8000-000000000000", &id[..8]);
    w.clone_session_as(&id, &twin);
    let text = mcp.refused("show", json!({"id": &id[..8]}));
    assert!(text.contains("matches 2 sessions"), "{text}");
    assert!(text.contains("give more characters"), "{text}");
}

#[test]
fn errors_are_tool_results_with_the_clis_message() {
    let w = World::new();
    let mut mcp = Mcp::start(&w, &[]);
    for tool in ["show", "trajectory", "kill"] {
        let text = mcp.refused(tool, json!({"id": "ffffffff"}));
        assert!(text.starts_with("no session matches 'ffffffff'"), "{text}");
    }
    assert!(mcp
        .refused("inject", json!({"id": "ffffffff", "message": "m"}))
        .contains("no session"));
    assert!(mcp
        .refused("wait", json!({"ids": ["ffffffff"]}))
        .contains("no session"));
    assert!(mcp.refused("show", json!({"id": "../etc"})).contains("id"));
    assert!(mcp
        .refused("show", json!({}))
        .starts_with("invalid arguments"));
    assert!(mcp
        .refused("start", json!({"task": "t", "agent": "gpt"}))
        .contains("unknown agent"));
    assert!(mcp
        .refused("list", json!({"status": "sleeping"}))
        .contains("unknown status"));
    // An unknown tool is the one protocol error.
    let r = mcp.request("tools/call", json!({"name": "nope", "arguments": {}}));
    assert!(r["error"].is_object(), "{r}");
    // An agent that cannot start: an error, with the session's document.
    let mut missing = Mcp::start_with(&w, &[], &[("ZWARM_CODEX_BIN", "/nonexistent/codex")]);
    let r = missing.call("start", json!({"task": "t"}));
    assert_eq!(r["isError"], true, "{r}");
    assert_eq!(r["structuredContent"]["status"], "failed", "{r}");
    assert!(
        r["content"][0]["text"]
            .as_str()
            .unwrap()
            .contains("could not start"),
        "{r}"
    );
}

#[test]
fn wait_returns_what_still_runs_with_progress_and_kill_stops_it() {
    let w = World::new();
    let mut mcp = Mcp::start_with(&w, &[], &[("ZWARM_TEST_PROGRESS_MS", "150")]);
    let id = hanging(&w, &mut mcp, json!({"task": "hang"}));
    // The supervisor is the same binary, yet runs no async runtime: one
    // thread, whoever started it.
    let threads = std::fs::read_to_string(format!("/proc/{}/status", w.supervisor_of(&id)))
        .expect("the supervisor's status");
    assert!(threads.lines().any(|l| l == "Threads:\t1"), "{threads}");
    let t0 = Instant::now();
    let r = mcp.request(
        "tools/call",
        json!({"name": "wait", "arguments": {"ids": [id], "timeout_s": 1}, "_meta": {"progressToken": "p1"}}),
    );
    assert!(
        t0.elapsed() >= Duration::from_millis(900),
        "{:?}",
        t0.elapsed()
    );
    let res = &r["result"];
    assert_eq!(res["isError"], false, "{r}");
    assert_eq!(res["structuredContent"]["running"], json!([id]));
    assert_eq!(res["structuredContent"]["ended"], json!([]));
    assert_eq!(res["structuredContent"]["timed_out"], true);
    let progress: Vec<&Value> = mcp
        .notes
        .iter()
        .filter(|n| n["method"] == "notifications/progress")
        .collect();
    assert!(progress.len() >= 3, "{:?}", mcp.notes);
    assert!(progress
        .iter()
        .all(|p| p["params"]["progressToken"] == "p1"));
    let values: Vec<f64> = progress
        .iter()
        .map(|p| p["params"]["progress"].as_f64().unwrap())
        .collect();
    assert!(values.windows(2).all(|v| v[0] < v[1]), "{values:?}");

    // A turn is running: inject is refused, as the CLI refuses it.
    let text = mcp.refused("inject", json!({"id": id, "message": "more"}));
    assert!(text.contains("has turn 1 running"), "{text}");

    let killed = mcp.ok("kill", json!({"id": id}));
    assert_eq!(killed["results"][0]["status"], "killed");
    assert_eq!(killed["results"][0]["ok"], true);
    assert_eq!(status(&w, &id), "killed");
    assert!(mcp
        .refused("kill", json!({"id": id}))
        .contains("not running"));
    let waited = mcp.ok("wait", json!({"ids": [id], "any": true, "timeout_s": 0}));
    assert_eq!(waited["ended"], json!([id]));
}

#[test]
fn a_cancelled_wait_stops_waiting_and_the_session_runs_on() {
    let w = World::new();
    let mut mcp = Mcp::start(&w, &[]);
    let id = hanging(&w, &mut mcp, json!({"task": "hang"}));
    let agent = w.agent.pid(1);
    let wait = mcp.send_request(
        "tools/call",
        json!({"name": "wait", "arguments": {"ids": [id], "timeout_s": 120}}),
    );
    // The server answers other calls while one waits.
    let t0 = Instant::now();
    let listed = mcp.ok("list", json!({}));
    assert!(t0.elapsed() < Duration::from_secs(5));
    assert_eq!(listed["sessions"][0]["status"], "running");
    mcp.notify(
        "notifications/cancelled",
        json!({"requestId": wait, "reason": "enough"}),
    );
    // The cancelled call gets no answer (or an error), and the next call
    // is answered at once.
    let shown = mcp.ok("show", json!({"id": id}));
    assert_eq!(shown["status"], "running");
    std::thread::sleep(Duration::from_millis(300));
    mcp.ok("list", json!({}));
    assert!(
        !mcp.notes.iter().any(|n| n["id"] == json!(wait)),
        "a cancelled request is not answered: {:?}",
        mcp.notes
    );
    assert!(alive(agent));
    assert_eq!(status(&w, &id), "running");
    w.run(&["kill", &id]);
}

#[test]
fn a_client_that_leaves_mid_call_ends_the_server_not_the_sessions() {
    let w = World::new();
    let mut mcp = Mcp::start(&w, &[]);
    let id = hanging(&w, &mut mcp, json!({"task": "hang"}));
    let agent = w.agent.pid(1);
    mcp.send_request(
        "tools/call",
        json!({"name": "wait", "arguments": {"ids": [id], "timeout_s": 300}}),
    );
    std::thread::sleep(Duration::from_millis(200));
    let st = mcp.close(Duration::from_secs(10));
    assert_eq!(st.code(), Some(0));
    assert!(
        mcp.stdout_ends(Duration::from_secs(5)),
        "something still holds its stdout"
    );
    std::thread::sleep(Duration::from_millis(200));
    assert!(alive(agent));
    assert_eq!(status(&w, &id), "running");
    w.run(&["kill", &id]);
    eventually(ANSWER, "the agent to be gone", || !alive(agent));
}

#[test]
fn at_most_max_sessions_run_at_once() {
    let w = World::new();
    let mut mcp = Mcp::start(&w, &["--max-sessions", "1"]);
    let id = hanging(&w, &mut mcp, json!({"task": "one"}));
    let text = mcp.refused("start", json!({"task": "two"}));
    assert!(text.contains("--max-sessions 1"), "{text}");
    assert_eq!(w.agent.calls(), 1);
    // Sessions started elsewhere do not count; an ended one frees its place.
    mcp.ok("kill", json!({"id": id}));
    w.agent.every_turn(&transcript("codex_first_turn.jsonl"));
    let s = mcp.ok("start", json!({"task": "three"}));
    mcp.ok("wait", json!({"ids": [s["id"]]}));
}

#[test]
fn the_sandbox_is_capped() {
    let w = World::new();
    w.agent.every_turn(&transcript("codex_first_turn.jsonl"));
    let mut mcp = Mcp::start(&w, &["--max-sandbox", "read-only"]);
    let text = mcp.refused("start", json!({"task": "t", "sandbox": "workspace-write"}));
    assert!(text.contains("--max-sandbox read-only"), "{text}");
    assert_eq!(w.agent.calls(), 0);
    let s = mcp.ok("start", json!({"task": "t"}));
    mcp.ok("wait", json!({"ids": [s["id"]]}));
    assert!(w.agent.argv(1).contains(&"--sandbox=read-only".to_string()));
    // claude, which runs every tool by default, is capped the same way.
    let c = mcp.ok("start", json!({"task": "t", "agent": "claude"}));
    mcp.ok("wait", json!({"ids": [c["id"]]}));
    let argv = w.agent.argv(2);
    assert!(
        argv.contains(&"--permission-mode=plan".to_string()),
        "{argv:?}"
    );
    assert!(mcp
        .refused("start", json!({"task": "t", "sandbox": "yolo"}))
        .contains("unknown sandbox"));
}

#[test]
fn sessions_work_only_under_the_roots() {
    let w = World::new();
    w.agent.every_turn(&transcript("codex_first_turn.jsonl"));
    let sub = w.work.path().join("sub");
    std::fs::create_dir(&sub).unwrap();
    let root = sub.to_str().unwrap();
    let mut mcp = Mcp::start(&w, &["--root", root]);
    let outside = w.work.path().to_str().unwrap();
    let text = mcp.refused("start", json!({"task": "t", "working_dir": outside}));
    assert!(text.contains("outside this server's roots"), "{text}");
    let dotdot = format!("{root}/..");
    assert!(mcp
        .refused("start", json!({"task": "t", "working_dir": dotdot}))
        .contains("outside"));
    assert_eq!(w.agent.calls(), 0);
    // Without working_dir: the first root.
    let s = mcp.ok("start", json!({"task": "t"}));
    mcp.ok("wait", json!({"ids": [s["id"]]}));
    assert_eq!(w.agent.cwd(1), std::fs::canonicalize(&sub).unwrap());
}

#[test]
fn bad_caps_are_usage_errors_before_any_protocol() {
    let w = World::new();
    w.run(&["mcp", "--max-sessions", "0"])
        .expect(2, EMPTY, has("--max-sessions"));
    w.run(&["mcp", "--max-sandbox", "yolo"])
        .expect(2, EMPTY, has("--max-sandbox"));
    w.run(&["mcp", "--root", "/nonexistent/zwarm-root"]).expect(
        2,
        EMPTY,
        has("--root /nonexistent/zwarm-root"),
    );
}

#[test]
fn a_server_started_at_the_depth_bound_refuses_to_start_sessions() {
    let w = World::new();
    w.agent.every_turn(&transcript("codex_first_turn.jsonl"));
    // As an agent at depth 2 (the default bound) would run it.
    let mut mcp = Mcp::start_with(&w, &[], &[("ZWARM_DEPTH", "2")]);
    let text = mcp.refused("start", json!({"task": "too deep"}));
    assert!(text.contains("ZWARM_MAX_DEPTH is 2"), "{text}");
    assert!(w.session_ids().is_empty());
    // One level up, it may; its child runs one deeper.
    let mut mcp = Mcp::start_with(&w, &[], &[("ZWARM_DEPTH", "1")]);
    let s = mcp.ok("start", json!({"task": "deep enough"}));
    mcp.ok("wait", json!({"ids": [s["id"]]}));
    let env = std::fs::read_to_string(w.agent.program().parent().unwrap().join("env-1")).unwrap();
    assert!(env.contains("ZWARM_DEPTH=2\n"), "{env}");
}

#[test]
fn diff_gives_the_change_within_its_budget() {
    let w = World::new();
    let dir = w.work.path();
    let git = |args: &[&str]| {
        let out = std::process::Command::new("git")
            .args(args)
            .current_dir(dir)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    git(&["init", "-q", "-b", "main"]);
    git(&[
        "-c",
        "user.email=dev@example.com",
        "-c",
        "user.name=dev",
        "commit",
        "-q",
        "--allow-empty",
        "-m",
        "first",
    ]);
    w.agent.every_turn(&transcript("codex_first_turn.jsonl"));
    w.agent.edit(1, "seq 1 2000 > numbers.txt");
    let mut mcp = Mcp::start(&w, &[]);
    let s = mcp.ok("start", json!({"task": "count"}));
    mcp.ok("wait", json!({"ids": [s["id"]]}));
    let d = mcp.ok("diff", json!({"id": s["id"], "max_chars": 300}));
    let patch = d["patch"].as_str().unwrap();
    assert!(patch.contains("numbers.txt"), "{d}");
    assert_eq!(patch.chars().count(), 300);
    assert!(d["omitted_chars"].as_u64().unwrap() > 5000, "{d}");
    assert_eq!(d["changes"]["files"], 1, "{d}");
    let whole = mcp.ok("diff", json!({"id": s["id"], "turn": 1, "stat": true}));
    assert!(
        whole["stat"].as_str().unwrap().contains("numbers.txt"),
        "{whole}"
    );
    assert_eq!(whole["omitted_chars"], 0);
    let text = mcp.refused("diff", json!({"id": s["id"], "turn": 9}));
    assert!(text.contains('9'), "{text}");
}

#[test]
fn an_inject_cannot_lift_the_server_s_caps() {
    let w = World::new();
    w.agent.every_turn(&transcript("codex_first_turn.jsonl"));
    // Started by a person with more than the server allows.
    let wide = w.start(&["-s", "danger-full-access", "wide"]);
    assert_eq!(w.wait(&wide), 0);
    let plain = w.start(&["plain"]);
    assert_eq!(w.wait(&plain), 0);
    let mut mcp = Mcp::start(&w, &[]);
    let text = mcp.refused("inject", json!({"id": wide, "message": "go on"}));
    assert!(text.contains("--max-sandbox workspace-write"), "{text}");
    mcp.ok("inject", json!({"id": plain, "message": "go on"}));
    mcp.ok("wait", json!({"ids": [plain]}));
    // Outside the server's roots.
    let elsewhere = crate::support::agents::work_dir();
    let mut mcp = Mcp::start(&w, &["--root", elsewhere.path().to_str().unwrap()]);
    let text = mcp.refused("inject", json!({"id": plain, "message": "again"}));
    assert!(text.contains("outside this server's roots"), "{text}");
    assert_eq!(w.json(&["show", &plain])["turns"], 2);
}
