//! Every status path of a turn, with a fake agent replaying real
//! transcripts: completed, failed, exited without a terminal event, killed
//! by zwarm, by a signal to the supervisor or to the agent, a supervisor
//! that vanished, and an agent that only reconnected. Turns are waited for
//! with zwarm's own `wait`, never with sleeps.

use crate::support::fake::{transcript, transcript_lines, CODEX_THREAD};
use crate::support::output::{expect, stdout};
use crate::support::procs::{assert_no_processes, signal, wait_dead};
use crate::support::world::{short, uuid_like, World, STARTED};
use serde_json::json;

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

#[test]
fn turn_failed_is_failed_with_its_error() {
    let w = World::new();
    let id = w.finished("codex_failed.jsonl", 1);
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
    let id = w.finished("codex_sigterm.jsonl", 0);
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
    let id = w.start_hanging(&["the task"]);
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
    wait_dead(agent);
    assert_no_processes(&[&id]);
    assert_eq!(w.wait(&id), 4);
}

#[test]
fn sigterm_to_the_supervisor_is_recorded_as_killed() {
    let w = World::new();
    let id = w.start_hanging(&["the task"]);
    let supervisor = w.meta(&id)["pid"].as_i64().unwrap() as i32;
    assert!(signal(supervisor, libc::SIGTERM), "kill -TERM {supervisor}");
    assert_eq!(w.wait(&id), 4);
    let meta = w.meta(&id);
    assert_eq!(meta["status"], "killed", "{meta:#}");
    assert_eq!(meta["turns"][0]["ending"], "killed");
    wait_dead(w.agent.pid(1));
    assert_no_processes(&[&id]);
}

#[test]
fn an_agent_killed_from_outside_is_failed_as_interrupted() {
    let w = World::new();
    let id = w.start_hanging(&["the task"]);
    assert!(
        signal(w.agent.pid(1), libc::SIGKILL),
        "kill -KILL the agent"
    );
    assert_eq!(w.wait(&id), 4);
    let meta = w.meta(&id);
    assert_eq!(meta["status"], "failed");
    assert_eq!(meta["exit_code"], -9);
    assert_eq!(meta["turns"][0]["ending"], "interrupted");
    assert_eq!(
        meta["error"],
        "interrupted: the agent was killed by SIGKILL before finishing its turn"
    );
    assert_no_processes(&[&id]);
}

#[test]
fn a_vanished_supervisor_is_settled_by_the_next_reader() {
    let w = World::new();
    let id = w.start_hanging(&["the task"]);
    let supervisor = w.meta(&id)["pid"].as_i64().unwrap() as i32;
    assert!(signal(supervisor, libc::SIGKILL), "kill -KILL {supervisor}");
    wait_dead(supervisor);
    // The agent outlives it and still works: the session still runs.
    assert_eq!(w.json(&["show", &id])["status"], "running");
    assert!(
        signal(w.agent.pid(1), libc::SIGKILL),
        "kill -KILL the agent"
    );
    wait_dead(w.agent.pid(1));
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
    // Retrying, and still at it.
    w.agent
        .turn(
            1,
            transcript_lines("codex_failed_after_retries.jsonl", 0..5),
        )
        .hang(1);
    let retrying = w.start(&["the task"]);
    w.agent.wait_hanging(1, STARTED);
    let shown = w.json(&["show", &retrying]);
    assert_eq!(shown["status"], "running");
    assert!(shown["error"].is_null());
    expect(&w.run(&["kill", &retrying]), 0);

    // Retries, then the turn goes through.
    let recovered = transcript_lines("codex_failed_after_retries.jsonl", 0..5)
        + &transcript_lines("codex_first_turn.jsonl", 3..7);
    w.agent.turn(2, recovered);
    let id = w.start(&["the task"]);
    assert_eq!(w.wait(&id), 0);
    let meta = w.meta(&id);
    assert_eq!(meta["status"], "completed");
    assert!(meta["error"].is_null());
    let warnings = w
        .steps(&id)
        .into_iter()
        .filter(|s| s["type"] == "warning")
        .filter(|s| s["message"].as_str().unwrap().starts_with("Reconnecting"))
        .count();
    assert_eq!(warnings, 2);

    // Retries that run out end in turn.failed, whose message is the error.
    let id = w.finished("codex_failed_after_retries.jsonl", 1);
    let meta = w.meta(&id);
    assert_eq!(meta["status"], "failed");
    assert_eq!(
        meta["error"],
        "We’re currently experiencing high demand, which may cause temporary errors."
    );
}
