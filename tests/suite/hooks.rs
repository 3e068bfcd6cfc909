//! `--on-end`: a command run after each turn, once its ending is recorded
//! and its run lock let go; it never changes what was recorded, is stopped
//! at its time limit, and `doctor` and `kill` leave it alone.

use crate::support::fake::transcript;
use crate::support::output::{ANY, EMPTY};
use crate::support::poll::eventually;
use crate::support::world::World;
use std::time::{Duration, Instant};

const SAY: &str = r#"printf '%s %s %s %s' "$ZWARM_SESSION_ID" "$ZWARM_TURN" "$ZWARM_STATUS" "$ZWARM_ENDING" > "hook-$ZWARM_TURN.out"; echo logged; exit 3"#;

#[test]
fn the_hook_runs_after_each_turn_with_its_outcome_and_changes_nothing() {
    let w = World::new();
    w.agent.every_turn(&transcript("codex_first_turn.jsonl"));
    let id = w.start(&["--on-end", SAY, "task"]);
    assert_eq!(w.wait(&id), 0);
    let out = w.work.path().join("hook-1.out");
    eventually(Duration::from_secs(10), "the hook's output", || {
        out.exists()
    });
    eventually(Duration::from_secs(10), "the hook's whole output", || {
        std::fs::read_to_string(&out).is_ok_and(|t| t == format!("{id} 1 completed completed"))
    });
    let log = w.session_dir(&id).join("turns/turn_1.hook.log");
    eventually(Duration::from_secs(10), "the hook's log", || {
        std::fs::read_to_string(&log).is_ok_and(|t| t.contains("logged"))
    });
    // It failed (exit 3): the session is as recorded.
    assert_eq!(w.json(&["show", &id])["status"], "completed");
    // A later turn runs the start's hook unless it gives its own.
    w.agent.turn(2, transcript("codex_failed.jsonl")).exit(2, 1);
    w.run(&["inject", &id, "second"]).expect(0, ANY, EMPTY);
    assert_eq!(w.wait(&id), 4);
    let out = w.work.path().join("hook-2.out");
    eventually(Duration::from_secs(10), "the second hook", || {
        std::fs::read_to_string(&out).is_ok_and(|t| t == format!("{id} 2 failed failed"))
    });
    w.run(&["inject", "--on-end", "touch own-hook", &id, "third"])
        .expect(0, ANY, EMPTY);
    assert_eq!(w.wait(&id), 0);
    let own = w.work.path().join("own-hook");
    eventually(Duration::from_secs(10), "the inject's own hook", || {
        own.exists()
    });
    assert!(!w.work.path().join("hook-3.out").exists());
}

#[test]
fn a_hanging_hook_holds_up_nothing_is_left_alone_and_is_stopped_at_its_limit() {
    let w = World::new();
    w.agent.every_turn(&transcript("codex_first_turn.jsonl"));
    let id = w
        .cmd(&[
            "start",
            "--on-end",
            "echo $$ > hook.pid; exec sleep 60",
            "task",
        ])
        .env("ZWARM_TEST_HOOK_LIMIT_MS", "3000")
        .output()
        .unwrap();
    assert!(id.status.success());
    let id = String::from_utf8_lossy(&id.stdout).trim().to_owned();
    let t = Instant::now();
    assert_eq!(w.wait(&id), 0);
    assert!(
        t.elapsed() < Duration::from_secs(3),
        "wait waited for the hook"
    );
    let pid_file = w.work.path().join("hook.pid");
    eventually(Duration::from_secs(10), "the hook to start", || {
        std::fs::read_to_string(&pid_file).is_ok_and(|t| t.ends_with('\n'))
    });
    let pid: i32 = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let alive = || std::path::Path::new(&format!("/proc/{pid}")).exists();
    assert!(alive());
    // Neither doctor nor kill takes it for the session's.
    let doc = w
        .run(&["--json", "doctor", "--fix"])
        .expect(0, ANY, EMPTY)
        .json();
    assert_eq!(doc["problems"], serde_json::json!([]));
    w.run(&["kill", &id]).expect(1, ANY, ANY);
    assert!(alive(), "the hook was signalled");
    // Stopped at its limit.
    eventually(Duration::from_secs(15), "the hook to be stopped", || {
        !alive()
    });
    assert_eq!(w.json(&["show", &id])["status"], "completed");
}

#[test]
fn a_hook_may_start_the_next_turn() {
    let w = World::new();
    w.agent.every_turn(&transcript("codex_first_turn.jsonl"));
    let hook = format!(
        r#"[ "$ZWARM_TURN" = 1 ] && '{}' --dir '{}' inject "$ZWARM_SESSION_ID" "again""#,
        env!("CARGO_BIN_EXE_zwarm"),
        w.state.path().display()
    );
    let id = w.start(&["--on-end", &hook, "task"]);
    assert_eq!(w.wait(&id), 0);
    eventually(Duration::from_secs(20), "the hook's turn to end", || {
        let s = w.json(&["show", &id]);
        s["turns"] == 2 && s["status"] == "completed"
    });
}
