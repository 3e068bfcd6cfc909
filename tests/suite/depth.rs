//! `ZWARM_DEPTH` and `ZWARM_MAX_DEPTH`: agents that start sessions are
//! bounded, and an agent cannot lift the bound by editing its own
//! environment.

use crate::support::fake::transcript;
use crate::support::output::{has, EMPTY};
use crate::support::world::World;

fn env_of(w: &World, k: usize) -> String {
    std::fs::read_to_string(w.agent.program().parent().unwrap().join(format!("env-{k}")))
        .unwrap_or_default()
}

#[test]
fn a_start_past_the_bound_is_refused_and_creates_nothing() {
    let w = World::new();
    for (depth, max) in [("2", None), ("0", Some("0")), ("9", Some("9"))] {
        let mut cmd = w.cmd(&["start", "task"]);
        cmd.env("ZWARM_DEPTH", depth);
        match max {
            Some(m) => cmd.env("ZWARM_MAX_DEPTH", m),
            None => cmd.env_remove("ZWARM_MAX_DEPTH"),
        };
        let out = cmd.output().unwrap();
        assert_eq!(out.status.code(), Some(1), "depth {depth} max {max:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("ZWARM_MAX_DEPTH"), "{err}");
    }
    assert!(w.session_ids().is_empty());
}

#[test]
fn an_agent_is_one_deeper_and_cannot_raise_its_bound() {
    let w = World::new();
    w.agent.every_turn(&transcript("codex_first_turn.jsonl"));
    // The agent tries to start a session of its own with the bound lifted
    // and its depth forgotten.
    let nested = format!(
        "ZWARM_MAX_DEPTH=9 ZWARM_DEPTH=0 '{}' --dir '{}' start nested >/dev/null 2>nested.err; echo $? > nested.code",
        env!("CARGO_BIN_EXE_zwarm"),
        w.state.path().display()
    );
    w.agent.edit(1, &nested);
    let out = w
        .cmd(&["start", "outer"])
        .env("ZWARM_MAX_DEPTH", "1")
        .output()
        .unwrap();
    assert!(out.status.success());
    let id = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert_eq!(w.wait(&id), 0);
    let env = env_of(&w, 1);
    assert!(env.contains("ZWARM_DEPTH=1\n"), "{env}");
    assert!(env.contains("ZWARM_MAX_DEPTH=1\n"), "{env}");
    let code = std::fs::read_to_string(w.work.path().join("nested.code")).unwrap();
    assert_eq!(code.trim(), "1");
    let err = std::fs::read_to_string(w.work.path().join("nested.err")).unwrap();
    assert!(err.contains("depth 1 and ZWARM_MAX_DEPTH is 1"), "{err}");
    assert_eq!(w.session_ids(), [id]);
}

#[test]
fn under_the_default_bound_an_agent_may_start_sessions() {
    let w = World::new();
    w.agent.every_turn(&transcript("codex_first_turn.jsonl"));
    let nested = format!(
        "'{}' --dir '{}' start nested > nested.id; echo $? > nested.code",
        env!("CARGO_BIN_EXE_zwarm"),
        w.state.path().display()
    );
    w.agent.edit(1, &nested);
    let id = w.start(&["outer"]);
    assert_eq!(w.wait(&id), 0);
    let code = std::fs::read_to_string(w.work.path().join("nested.code")).unwrap();
    assert_eq!(code.trim(), "0");
    let child = std::fs::read_to_string(w.work.path().join("nested.id")).unwrap();
    assert_eq!(w.wait(child.trim()), 0);
    assert!(env_of(&w, 2).contains("ZWARM_DEPTH=2\n"));
    w.run(&["show", child.trim()])
        .expect(0, has("completed"), EMPTY);
}
