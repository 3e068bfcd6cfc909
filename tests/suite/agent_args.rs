//! `--agent-arg`: options handed to the agent as they are, after the ones
//! zwarm sets and before the conversation and the task; the start's on
//! every turn unless an inject gives its own; refused when they name an
//! option zwarm sets itself; and, as the rights, never widened through
//! `meta.json`.

use crate::support::fake::transcript;
use crate::support::output::{has, EMPTY};
use crate::support::world::World;

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|a| a.to_string()).collect()
}

/// The part of `argv` from `first` on.
fn from<'a>(argv: &'a [String], first: &str) -> &'a [String] {
    let at = argv
        .iter()
        .position(|a| a == first)
        .unwrap_or_else(|| panic!("{first} not in {argv:?}"));
    &argv[at..]
}

#[test]
fn the_starts_agent_args_reach_every_turn_unless_an_inject_gives_its_own() {
    let w = World::new();
    let id = w.completed(&[
        "--agent-arg",
        "-c",
        "--agent-arg",
        "model_reasoning_effort=high",
        "--agent-arg=--profile=-p",
    ]);
    let tail = |k| from(&w.agent.argv(k), "-c").to_vec();
    assert_eq!(
        tail(1),
        strings(&[
            "-c",
            "model_reasoning_effort=high",
            "--profile=-p",
            "--",
            "the task"
        ])
    );
    // A resumed codex turn: before `resume`, where `exec`'s options go.
    w.ok(&["inject", &id, "again"]);
    assert_eq!(w.wait(&id), 0);
    let thread = w.meta(&id)["agent_session_id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        tail(2),
        strings(&[
            "-c",
            "model_reasoning_effort=high",
            "--profile=-p",
            "resume",
            "--",
            &thread,
            "again"
        ])
    );
    // Its own, for one turn; the next goes back to the start's.
    w.ok(&["inject", "--agent-arg", "--oss", &id, "once"]);
    assert_eq!(w.wait(&id), 0);
    assert_eq!(
        from(&w.agent.argv(3), "--oss")[..2],
        strings(&["--oss", "resume"])
    );
    assert!(!w.agent.argv(3).contains(&"-c".to_string()));
    w.ok(&["inject", &id, "last"]);
    assert_eq!(w.wait(&id), 0);
    assert_eq!(
        tail(4)[..4],
        strings(&[
            "-c",
            "model_reasoning_effort=high",
            "--profile=-p",
            "resume"
        ])
    );

    // Recorded: the session's in meta.json, each turn's in its record.
    let meta = w.meta(&id);
    assert_eq!(
        meta["agent_args"],
        serde_json::json!(["-c", "model_reasoning_effort=high", "--profile=-p"])
    );
    let shown = w.json(&["show", &id]);
    let per_turn: Vec<&serde_json::Value> = shown["turn_records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| &t["agent_args"])
        .collect();
    assert_eq!(per_turn[2], &serde_json::json!(["--oss"]));
    assert_eq!(per_turn[0], per_turn[3]);
    assert_eq!(per_turn[0], &meta["agent_args"]);
}

#[test]
fn claude_gemini_and_qwen_get_them_before_the_conversation_and_the_prompt() {
    let w = World::new();
    w.agent.every_turn(&transcript("claude_first_turn.jsonl"));
    let id = w.start(&[
        "-a",
        "claude",
        "--agent-arg",
        "--max-turns",
        "--agent-arg",
        "3",
        "go",
    ]);
    assert_eq!(w.wait(&id), 0);
    assert_eq!(
        from(&w.agent.argv(1), "--max-turns"),
        strings(&[
            "--max-turns",
            "3",
            &format!("--session-id={id}"),
            "--",
            "go"
        ])
    );

    w.agent.every_turn(&transcript("gemini_first_turn.jsonl"));
    let id = w.start(&[
        "-a",
        "gemini",
        "--agent-arg=--include-directories=../lib",
        "go",
    ]);
    assert_eq!(w.wait(&id), 0);
    assert_eq!(
        from(&w.agent.argv(2), "--include-directories=../lib"),
        strings(&[
            "--include-directories=../lib",
            &format!("--session-id={id}"),
            "--prompt=go"
        ])
    );

    w.agent.every_turn(&transcript("qwen_say.jsonl"));
    let id = w.start(&["-a", "qwen", "--agent-arg=--max-session-turns=4", "go"]);
    assert_eq!(w.wait(&id), 0);
    assert_eq!(
        from(&w.agent.argv(3), "--max-session-turns=4"),
        strings(&[
            "--max-session-turns=4",
            &format!("--session-id={id}"),
            "--prompt=go"
        ])
    );
}

#[test]
fn an_agent_arg_zwarm_sets_itself_is_a_usage_error_naming_both() {
    let w = World::new();
    for (adapter, arg, theirs, ours) in [
        ("codex", "--model=o3", "codex's -m/--model", "its --model"),
        ("codex", "-s", "codex's -s/--sandbox", "its --sandbox"),
        (
            "codex",
            "resume",
            "codex's resume",
            "the conversation inject resumes",
        ),
        (
            "claude",
            "--output-format=json",
            "claude's --output-format",
            "the output it reads",
        ),
        (
            "claude",
            "--dangerously-skip-permissions",
            "claude's --dangerously-skip-permissions",
            "its --sandbox",
        ),
        ("gemini", "-ym", "gemini's -m/--model", "its --model"),
        (
            "gemini",
            "--resume=latest",
            "gemini's -r/--resume",
            "the conversation inject resumes",
        ),
        ("qwen", "-y", "qwen's -y/--yolo", "its --sandbox"),
        (
            "qwen",
            "--session-id=x",
            "qwen's --session-id",
            "the session id a first turn pins",
        ),
    ] {
        let flag = format!("--agent-arg={arg}");
        let out = w.run(&["start", "-a", adapter, &flag, "task"]);
        out.expect(
            2,
            EMPTY,
            has(&format!(
                "--agent-arg '{arg}' collides with {theirs}, which zwarm sets itself ({ours})"
            )),
        );
        assert_eq!(
            String::from_utf8_lossy(&out.stderr).lines().count(),
            1,
            "{out:?}"
        );
    }
    w.run(&["start", "--agent-arg", "--", "task"]).expect(
        2,
        EMPTY,
        has("would end codex's options"),
    );
    assert!(w.session_ids().is_empty(), "nothing was made");
    assert_eq!(w.agent.calls(), 0);

    // inject checks its own the same way, and changes nothing.
    let id = w.completed(&[]);
    let before = w.meta_bytes(&id);
    w.run(&["inject", "--agent-arg", "--cd=/", &id, "next"])
        .expect(2, EMPTY, has("collides with codex's -C/--cd"));
    assert_eq!(w.meta_bytes(&id), before);
    assert_eq!(w.agent.calls(), 1);
}

#[test]
fn agent_args_written_into_meta_json_never_reach_the_agent() {
    let w = World::new();
    let id = w.completed(&["--agent-arg=--oss"]);
    let original = w.meta_bytes(&id);
    for forged in [
        serde_json::json!(["--dangerously-bypass-approvals-and-sandbox"]),
        serde_json::json!([]),
        serde_json::json!(["--oss", "-c", "sandbox_mode=danger-full-access"]),
    ] {
        w.edit_meta(&id, |m| m["agent_args"] = forged.clone());
        w.run(&["inject", &id, "next"])
            .expect(1, EMPTY, has("`agent_args`"));
        assert_eq!(w.agent.calls(), 1, "{forged}: the agent ran");
        w.put_meta(&id, &original);
    }
    w.ok(&["inject", &id, "next"]);
    assert_eq!(w.wait(&id), 0);
    assert!(w.agent.argv(2).contains(&"--oss".to_string()));
}
