//! A turn that the account's usage or rate limit stopped ends
//! `rate_limited` (status `failed`), with when the limit lifts where the
//! agent said: from the captured transcripts replayed, and from the real
//! CLIs against mocks that answer 429.

use crate::support::e2e::{self, Agent};
use crate::support::fake::transcript;
use crate::support::mock_messages;
use crate::support::mock_responses::{self, default_reset};
use crate::support::output::{has, ANY, EMPTY};
use crate::support::world::World;
use chrono::{DateTime, Local, NaiveDateTime};

/// The local time of a Unix time, as a naive date and time.
fn local(unix: i64) -> NaiveDateTime {
    DateTime::from_timestamp(unix, 0)
        .unwrap()
        .with_timezone(&Local)
        .naive_local()
}

/// As zwarm writes a timestamp.
fn written(t: NaiveDateTime) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6f").to_string()
}

/// What `list` and `show` say of a reset at `t`: the time, and the date
/// when it is not today.
fn limited_until(t: NaiveDateTime) -> String {
    if t.date() == Local::now().naive_local().date() {
        format!("limited until {}", t.format("%H:%M"))
    } else {
        format!("limited until {}", t.format("%Y-%m-%d %H:%M"))
    }
}

/// The session ended `rate_limited` with `resets_at` (as zwarm writes it),
/// and says so to people, with the reset when known.
fn assert_rate_limited(w: &World, id: &str, resets_at: Option<NaiveDateTime>) {
    let s = w.json(&["show", id]);
    assert_eq!(s["status"], "failed", "{s:#}");
    assert_eq!(s["ending"], "rate_limited", "{s:#}");
    let expected = resets_at.map(written);
    assert_eq!(s["resets_at"].as_str(), expected.as_deref(), "{s:#}");
    let turn = s["turn_records"].as_array().unwrap().last().unwrap();
    assert_eq!(turn["ending"], "rate_limited");
    assert_eq!(turn["resets_at"].as_str(), expected.as_deref(), "{s:#}");
    let error = s["error"].as_str().unwrap();
    match resets_at {
        Some(t) => {
            let until = format!("rate limited until {}: ", t.format("%Y-%m-%d %H:%M"));
            assert!(error.starts_with(&until), "{error}");
            let said = limited_until(t);
            w.run(&["show", id]).expect(0, has(&said), EMPTY);
            w.run(&["list"]).expect(0, has(&said), EMPTY);
        }
        None => {
            assert!(error.starts_with("rate limited: "), "{error}");
            let shown = w.run(&["show", id]).stdout();
            assert!(!shown.contains("limited until"), "{shown}");
        }
    }
    let listed = w.json(&["list"]);
    let listed = listed["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["id"] == id)
        .unwrap();
    assert_eq!(listed["resets_at"].as_str(), expected.as_deref());
}

#[test]
fn a_codex_turn_at_its_usage_limit_is_rate_limited_until_the_time_it_gave() {
    let w = World::new();
    w.agent
        .turn(1, transcript("codex_usage_limit_next_day.jsonl"))
        .exit(1, 1);
    let id = w.start(&["the task"]);
    assert_eq!(w.wait(&id), 4, "a rate-limited turn did not complete");
    let reset = NaiveDateTime::parse_from_str("2026-12-04 17:00", "%Y-%m-%d %H:%M").unwrap();
    assert_rate_limited(&w, &id, Some(reset));
    let error = w.json(&["show", &id])["error"].clone();
    assert_eq!(
        error,
        "rate limited until 2026-12-04 17:00: You’ve hit your usage limit. Upgrade to Pro (https://chatgpt.com/explore/pro), visit https://chatgpt.com/settings/usage to purchase more credits or try again at Dec 4th, 2026 5:00 PM."
    );
    // `wait` names it too.
    w.run(&["wait", &id])
        .expect(4, has("failed: rate limited until 2026-12-04 17:00"), ANY);

    // A later turn that completes is no longer limited.
    w.agent.turn(2, transcript("codex_first_turn.jsonl"));
    w.run(&["inject", &id, "go on"]).expect(0, ANY, EMPTY);
    assert_eq!(w.wait(&id), 0);
    let s = w.json(&["show", &id]);
    assert_eq!(
        (&s["ending"], &s["resets_at"]),
        (&"completed".into(), &().into())
    );
    assert_eq!(
        s["turn_records"][0]["resets_at"],
        "2026-12-04T17:00:00.000000"
    );
    let list = w.run(&["list"]).stdout();
    assert!(!list.contains("limited"), "{list}");
}

#[test]
fn a_quota_or_a_rate_limit_without_a_reset_is_rate_limited_until_unknown() {
    let w = World::new();
    for name in [
        "codex_quota_exceeded.jsonl",
        "codex_usage_limit_no_reset.jsonl",
    ] {
        let id = w.finished(name, 1);
        assert_rate_limited(&w, &id, None);
    }
}

#[test]
fn a_claude_turn_at_its_usage_limit_is_rate_limited_until_the_reset_it_reported() {
    let w = World::new();
    w.agent
        .turn(1, transcript("claude_usage_limit_weekly.jsonl"))
        .exit(1, 1);
    let id = w.start(&["-a", "claude", "the task"]);
    assert_eq!(w.wait(&id), 4);
    assert_rate_limited(&w, &id, Some(local(1_796_317_200 + 3 * 86400)));
}

#[test]
fn a_gemini_turn_answered_429_until_its_retries_were_spent_is_rate_limited() {
    // The real CLI retries for minutes before it says so: its transcript.
    let w = World::new();
    w.agent
        .turn(1, transcript("gemini_rate_limited.jsonl"))
        .exit(1, 429 % 256);
    let id = w.start(&["-a", "gemini", "the task"]);
    assert_eq!(w.wait(&id), 4);
    assert_rate_limited(&w, &id, None);
    assert_eq!(
        w.json(&["show", &id])["error"],
        "rate limited: mock: quota exceeded"
    );
}

/// The real agent against a mock that answers `task` with a 429: `wait`
/// exits 4 and the session is `rate_limited`, until `resets_at` if given.
fn a_real_agent_is_rate_limited(agent: Agent, adapter: &str, task: &str, resets_at: Option<i64>) {
    let w = World::with_agents(vec![agent]);
    let id = w.start_with(Some(adapter), task);
    let (code, s) = w.wait_shown(&id);
    assert_eq!(code, 4, "{s:#}");
    assert_rate_limited(&w, &id, resets_at.map(local));
}

#[test]
fn codex_at_its_usage_limit_is_rate_limited_until_the_reset() {
    let mock = mock_responses::MockServer::start();
    let reset = default_reset();
    a_real_agent_is_rate_limited(
        e2e::codex(mock.port()),
        "codex",
        &format!("SCN_USAGE_LIMIT {reset}"),
        Some(reset as i64),
    );
}

#[test]
fn codex_out_of_quota_is_rate_limited() {
    let mock = mock_responses::MockServer::start();
    a_real_agent_is_rate_limited(e2e::codex(mock.port()), "codex", "SCN_QUOTA", None);
}

#[test]
fn claude_at_its_usage_limit_is_rate_limited_until_the_reset() {
    let mock = mock_messages::MockServer::start();
    let reset = default_reset();
    a_real_agent_is_rate_limited(
        e2e::claude_gateway(mock.port()),
        "claude",
        &format!("SCN_USAGE_LIMIT {reset}"),
        Some(reset as i64),
    );
}

#[test]
fn claude_answered_429_is_rate_limited() {
    let mock = mock_messages::MockServer::start();
    a_real_agent_is_rate_limited(e2e::claude(mock.port()), "claude", "SCN_HTTP429", None);
}
