//! `--timeout`: a turn whose agent runs too long is stopped by its
//! supervisor and ends `timed_out`, counted from the agent's start; a
//! start's timeout holds for later turns unless an inject gives its own.

use crate::support::fake::transcript;
use crate::support::output::{has, ANY, EMPTY};
use crate::support::procs::wait_dead;
use crate::support::world::World;
use std::time::{Duration, Instant};

#[test]
fn a_turn_past_its_timeout_is_stopped_and_ends_timed_out() {
    let w = World::new();
    w.agent.turn(1, transcript("codex_sigterm.jsonl")).hang(1);
    let t = Instant::now();
    let id = w.start(&["--timeout", "1s", "long job"]);
    w.agent.wait_hanging(1, Duration::from_secs(10));
    let agent = w.agent.pid(1);
    assert_eq!(w.wait(&id), 4, "a timed-out turn did not complete");
    assert!(t.elapsed() < Duration::from_secs(8), "{:?}", t.elapsed());
    wait_dead(agent);
    let s = w.json(&["show", &id]);
    assert_eq!(s["status"], "failed");
    assert_eq!(s["ending"], "timed_out");
    assert_eq!(s["error"], "timed out after 1s");
    w.run(&["show", &id])
        .expect(0, has("timed out after 1s"), EMPTY);
}

#[test]
fn the_starts_timeout_holds_for_later_turns_unless_an_inject_gives_its_own() {
    let w = World::new();
    w.agent.every_turn(&transcript("codex_first_turn.jsonl"));
    let id = w.start(&["--timeout", "1s", "quick"]);
    assert_eq!(w.wait(&id), 0, "a turn within its time completes");
    // Turn 2 inherits 1s and hangs: timed out.
    w.agent.turn(2, transcript("codex_sigterm.jsonl")).hang(2);
    w.run(&["inject", &id, "hang"]).expect(0, ANY, EMPTY);
    assert_eq!(w.wait(&id), 4);
    assert_eq!(w.json(&["show", &id])["ending"], "timed_out");
    // Turn 3 gives itself longer, and finishes in it.
    w.run(&["inject", "--timeout", "1h", &id, "quick again"])
        .expect(0, ANY, EMPTY);
    assert_eq!(w.wait(&id), 0);
    let meta = w.meta(&id);
    let secs: Vec<_> = meta["turns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["timeout_secs"].clone())
        .collect();
    assert_eq!(
        secs,
        [
            serde_json::json!(1),
            serde_json::json!(1),
            serde_json::json!(3600)
        ]
    );
}

#[test]
fn a_timeout_of_no_time_is_a_usage_error_and_starts_nothing() {
    let w = World::new();
    for bad in ["0s", "0", "-5s", "soon"] {
        let arg = format!("--timeout={bad}");
        w.run(&["start", &arg, "task"])
            .expect(2, EMPTY, has("--timeout"));
    }
    assert!(w.json(&["list"])["sessions"].as_array().unwrap().is_empty());
}

/// The real agent CLIs, their mock models running a minute-long command:
/// stopped at the deadline, and `timed_out`.
fn a_real_agent_is_stopped_at_its_deadline(agent: crate::support::e2e::Agent, adapter: &str) {
    let w = World::with_agents(vec![agent]);
    let work = w.work.path().to_str().unwrap().to_owned();
    let t = Instant::now();
    let id = w
        .run(&[
            "start",
            "-a",
            adapter,
            "--timeout",
            "3s",
            "-C",
            &work,
            "SCN_SLOW",
        ])
        .expect(0, ANY, EMPTY)
        .stdout()
        .trim()
        .to_owned();
    let (code, s) = w.wait_shown(&id);
    assert_eq!(code, 4, "{s:#}");
    assert_eq!(s["ending"], "timed_out", "{s:#}");
    assert_eq!(s["error"], "timed out after 3s");
    assert!(t.elapsed() < Duration::from_secs(30), "{:?}", t.elapsed());
}

#[test]
fn codex_is_stopped_at_its_deadline() {
    let mock = crate::support::mock_responses::MockServer::start();
    a_real_agent_is_stopped_at_its_deadline(crate::support::e2e::codex(mock.port()), "codex");
}

#[test]
fn claude_is_stopped_at_its_deadline() {
    let mock = crate::support::mock_messages::MockServer::start();
    a_real_agent_is_stopped_at_its_deadline(crate::support::e2e::claude(mock.port()), "claude");
}
