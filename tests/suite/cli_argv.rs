//! The argv zwarm gives the agents, as a fake agent records it: options,
//! defaults, a task that looks like a flag, codex's resumed thread and
//! claude's pinned then resumed session, and what a resumed turn counts.

use crate::support::fake::{transcript, CLAUDE_SESSION, CODEX_THREAD};
use crate::support::output::{expect, stdout};
use crate::support::world::{short, World};
use serde_json::json;

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
