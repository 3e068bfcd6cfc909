//! Usage limits and the queue: while an agent's account limit holds,
//! pending sessions of that agent wait for its reset (or, with no reset
//! known, until a session of it is retried or started by hand); `retry`
//! sends the latest message again, now or `--at-reset`.

use crate::support::fake::transcript;
use crate::support::output::{has, ANY, EMPTY};
use crate::support::poll::eventually;
use crate::support::world::World;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The captured claude usage limit, its reset moved to `secs` from now.
fn limit_resetting_in(secs: u64) -> String {
    let at = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + secs;
    transcript("claude_usage_limit.jsonl").replace("1796317200", &at.to_string())
}

fn status(w: &World, id: &str) -> String {
    w.json(&["show", id])["status"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn a_queued_session_waits_for_its_agent_s_limit_to_reset() {
    let w = World::new();
    w.agent.turn(1, limit_resetting_in(4)).exit(1, 1);
    w.agent.turn(2, transcript("claude_first_turn.jsonl"));
    let a = w.start(&["-a", "claude", "a"]);
    assert_eq!(w.wait(&a), 4);
    assert_eq!(w.json(&["show", &a])["ending"], "rate_limited");
    let b = w.start(&["-a", "claude", "--max-running", "4", "b"]);
    let shown = w.json(&["show", &b]);
    assert_eq!(shown["status"], "pending", "{shown}");
    assert_eq!(shown["queue"]["limited"], true);
    assert!(shown["queue"]["waits_until"].is_string(), "{shown}");
    w.run(&["show", &b]).expect(
        0,
        has("waiting for its agent's usage limit to lift at"),
        EMPTY,
    );
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(w.agent.calls(), 1, "it started into the limit");
    // Once the reset has passed, it starts by itself.
    assert_eq!(w.wait(&b), 0);
    assert_eq!(w.agent.calls(), 2);
}

#[test]
fn a_limit_with_no_known_reset_holds_the_queue_until_a_retry() {
    let w = World::new();
    w.agent
        .turn(1, transcript("claude_rate_limited.jsonl"))
        .exit(1, 1);
    w.agent.turn(2, transcript("codex_first_turn.jsonl"));
    w.agent.every_turn(&transcript("claude_first_turn.jsonl"));
    let a = w.start(&["-a", "claude", "a"]);
    assert_eq!(w.wait(&a), 4);
    let s = w.json(&["show", &a]);
    assert_eq!(s["ending"], "rate_limited", "{s}");
    assert!(s["resets_at"].is_null());
    let b = w.start(&["-a", "claude", "--max-running", "4", "b"]);
    let c = w.start(&["-a", "claude", "--max-running", "4", "c"]);
    for id in [&b, &c] {
        let q = &w.json(&["show", id])["queue"];
        assert_eq!(q["limited"], true, "{q}");
        assert!(q["waits_until"].is_null());
    }
    w.run(&["list"]).expect(0, has("pending limited"), EMPTY);
    // Another agent's sessions are not held.
    let other = w.start(&["--max-running", "4", "codex's"]);
    eventually(Duration::from_secs(20), "the codex session to run", || {
        w.agent.calls() >= 2
    });
    assert_eq!(w.wait(&other), 0);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(status(&w, &b), "pending");
    // Retried by hand: its message again, now; the held sessions follow
    // (released as the limit is lifted, they may start before it).
    w.run(&["retry", &a]).expect(0, ANY, EMPTY);
    assert_eq!(w.wait(&a), 0);
    assert_eq!(w.wait(&b), 0);
    assert_eq!(w.wait(&c), 0);
    assert_eq!(w.json(&["show", &a])["turns"], 2);
    let resumed: Vec<Vec<String>> = (3..=5)
        .map(|k| w.agent.argv(k))
        .filter(|argv| argv.iter().any(|x| x.starts_with("--resume")))
        .collect();
    assert_eq!(resumed.len(), 1, "{resumed:?}");
    assert_eq!(
        resumed[0].last().map(String::as_str),
        Some("a"),
        "{resumed:?}"
    );
}

#[test]
fn retry_at_reset_is_pending_until_the_reset() {
    let w = World::new();
    w.agent.turn(1, limit_resetting_in(3)).exit(1, 1);
    w.agent.turn(2, transcript("claude_first_turn.jsonl"));
    let a = w.start(&["-a", "claude", "the task"]);
    assert_eq!(w.wait(&a), 4);
    w.run(&["retry", "--at-reset", &a]).expect(0, ANY, EMPTY);
    let s = w.json(&["show", &a]);
    assert_eq!(s["status"], "pending", "{s}");
    assert!(s["queue"]["waits_until"].is_string(), "{s}");
    assert_eq!(w.agent.calls(), 1);
    assert_eq!(w.wait(&a), 0);
    let s = w.json(&["show", &a]);
    assert_eq!(
        (s["turns"].as_u64(), s["status"].as_str()),
        (Some(2), Some("completed"))
    );
    // The same message, resumed in the same conversation.
    let argv = w.agent.argv(2);
    assert_eq!(
        argv.last().map(String::as_str),
        Some("the task"),
        "{argv:?}"
    );
    assert!(argv.iter().any(|a| a.starts_with("--resume")), "{argv:?}");
}

#[test]
fn retry_refuses_what_it_cannot_do() {
    let w = World::new();
    let done = w.completed(&[]);
    // Nothing to wait for: the latest turn met no limit.
    w.run(&["retry", "--at-reset", &done])
        .expect(2, EMPTY, has("has no reset time to wait for"));
    assert_eq!(w.json(&["show", &done])["turns"], 1);
    w.run(&["retry", "ffffffff"]).expect(3, EMPTY, ANY);
    let running = w.start_hanging(&[]);
    w.run(&["retry", &running]).expect(5, EMPTY, has("running"));
    w.run(&["kill", &running]).expect(0, ANY, EMPTY);
    // A finished session: its latest message again.
    w.run(&["retry", &done]).expect(0, ANY, EMPTY);
    assert_eq!(w.wait(&done), 0);
    assert_eq!(w.json(&["show", &done])["turns"], 2);
}
