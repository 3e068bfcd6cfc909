//! `--max-tokens` and `--max-cost`: budgets for all of a session's turns.
//! A turn whose agent reports usage as it goes (claude) is stopped by its
//! supervisor once the session's tokens reach the budget, ending
//! `budget_exceeded`; claude is given what is left of the cost budget and
//! stops itself; an agent that reports only at a turn's end (codex)
//! finishes its turn, and the next inject is refused. Bad budgets are
//! usage errors that create nothing.

use crate::support::contract::{self, decode, ListDoc, ShowDoc};
use crate::support::e2e;
use crate::support::fake::{transcript, CLAUDE_SESSION};
use crate::support::mock_messages;
use crate::support::output::{error_of, has, ANY, EMPTY};
use crate::support::procs::wait_dead;
use crate::support::world::{World, STARTED};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// A claude-shaped stream: its init line, then `responses` responses, each
/// an `assistant` line reporting `tokens` tokens of input (a tool use)
/// followed by its tool's result.
fn growing_claude_stream(responses: usize, tokens: u64) -> String {
    let line = |v: Value| format!("{v}\n");
    let mut out = line(json!({
        "type": "system", "subtype": "init", "session_id": CLAUDE_SESSION, "model": "claude-mock",
    }));
    for i in 1..=responses {
        let tool = format!("toolu_{i}");
        out.push_str(&line(json!({
            "type": "assistant", "session_id": CLAUDE_SESSION,
            "message": {
                "id": format!("msg_{i}"), "role": "assistant", "model": "claude-mock",
                "content": [{"type": "tool_use", "id": tool, "name": "Bash",
                             "input": {"command": format!("echo {i}")}}],
                "usage": {"input_tokens": tokens, "output_tokens": 0,
                          "cache_read_input_tokens": 0, "cache_creation_input_tokens": 0},
            },
        })));
        out.push_str(&line(json!({
            "type": "user", "session_id": CLAUDE_SESSION,
            "message": {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": tool, "content": format!("{i}")}]},
        })));
    }
    out
}

/// The tokens in an error "token budget exceeded: U of L tokens".
fn tokens_used(error: &str, limit: &str) -> u64 {
    let used = error
        .strip_prefix("token budget exceeded: ")
        .and_then(|r| r.strip_suffix(&format!(" of {limit} tokens")))
        .unwrap_or_else(|| panic!("not a token budget error: {error}"));
    used.replace(',', "").parse().unwrap()
}

#[test]
fn a_turn_that_reports_usage_as_it_goes_is_stopped_once_the_session_reaches_its_token_budget() {
    let w = World::new();
    // Twenty responses of 100 tokens, a line every 0.2 s: 8 s in all, then
    // it hangs. The budget is reached at the third.
    w.agent
        .turn(1, growing_claude_stream(20, 100))
        .delay(0.2)
        .hang(1);
    let t = Instant::now();
    let id = w.start(&["-a", "claude", "--max-tokens", "250", "big job"]);
    w.agent.wait_started(1, STARTED);
    let agent = w.agent.pid(1);
    let (code, s) = w.wait_shown(&id);
    assert_eq!(code, 4, "{s:#}");
    assert!(t.elapsed() < Duration::from_secs(7), "{:?}", t.elapsed());
    wait_dead(agent);
    assert_eq!(s["status"], "failed");
    assert_eq!(s["ending"], "budget_exceeded");
    let used = tokens_used(s["error"].as_str().unwrap(), "250");
    assert!((300..=500).contains(&used), "{s:#}");
    // Stopped mid-stream: most of the responses were never written.
    let responses = w
        .turn_lines(&id, 1)
        .iter()
        .filter(|l| l["type"] == "assistant")
        .count();
    assert!((3..10).contains(&responses), "{responses} responses");
    assert!(s["usage"]["total_tokens"].as_u64().unwrap() >= 300, "{s:#}");
    assert_eq!(
        s["budget"],
        json!({"max_tokens": 250, "max_cost_usd": null})
    );
    assert_eq!(s["turn_records"][0]["budget"], s["budget"]);
    // As docs/json.md says, for a consumer that knows no more than it.
    let (_, text) = w.json_any(&["show", &id]);
    let doc: ShowDoc = decode("show --json", &text);
    assert_eq!(doc.ending, Some(contract::Ending::BudgetExceeded));
    let (_, text) = w.json_any(&["list"]);
    let list: ListDoc = decode("list --json", &text);
    let budget = contract::Budget {
        max_tokens: Some(250),
        max_cost_usd: None,
    };
    assert_eq!(list.sessions[0].budget.as_ref(), Some(&budget));
    assert_eq!(doc.turn_records[0].budget.as_ref(), Some(&budget));
    assert_eq!(s["turn_records"][0]["signal"], 15, "stopped by SIGTERM");
    w.run(&["show", &id])
        .expect(0, has("token budget exceeded: "), EMPTY);
    // Spent: no further turn, unless it is given more.
    let out = w.run(&["inject", &id, "go on"]);
    out.expect(1, EMPTY, has("hint: give the next turn a larger budget"));
    assert!(error_of(&out).contains(" of 250 tokens"), "{out:?}");
    assert_eq!(w.agent.calls(), 1);
}

#[test]
fn a_turn_within_its_token_budget_completes() {
    let w = World::new();
    w.agent
        .turn(1, transcript("claude_first_turn.jsonl"))
        .delay(0.1);
    let id = w.start(&["-a", "claude", "--max-tokens", "100000", "small job"]);
    let (code, s) = w.wait_shown(&id);
    assert_eq!(code, 0, "{s:#}");
    assert_eq!(s["ending"], "completed");
    let meta = w.meta(&id);
    assert_eq!(meta["max_tokens"], 100000);
    assert_eq!(meta["turns"][0]["max_tokens"], 100000);
    assert!(meta.get("max_cost_usd").is_none(), "written only when set");
    // A session without a budget writes none.
    w.agent.turn(2, transcript("claude_first_turn.jsonl"));
    let plain = w.start(&["-a", "claude", "no budget"]);
    assert_eq!(w.wait(&plain), 0);
    let meta = w.meta(&plain);
    assert!(meta.get("max_tokens").is_none() && meta["turns"][0].get("max_tokens").is_none());
    assert_eq!(w.json(&["show", &plain])["budget"], Value::Null);
}

#[test]
fn an_agent_that_reports_usage_at_the_end_finishes_its_turn_and_the_next_inject_is_refused() {
    let w = World::new();
    // 200 input and 14 output tokens, reported once the turn completes.
    w.agent.every_turn(&transcript("codex_first_turn.jsonl"));
    let id = w.start(&["--max-tokens", "100", "the task"]);
    assert_eq!(w.wait(&id), 0, "the turn itself completes");
    let shown = w.json(&["show", &id]);
    assert_eq!(shown["ending"], "completed");
    let out = w.run(&["inject", &id, "more"]);
    out.expect(1, EMPTY, ANY);
    assert_eq!(
        error_of(&out),
        format!(
            "session {} has used up its budget: token budget exceeded: 214 of 100 tokens",
            &id[..8]
        )
    );
    // Nothing was started or written, and the session reads as before.
    assert_eq!(w.agent.calls(), 1);
    assert_eq!(w.json(&["show", &id]), shown);
    assert_eq!(w.wait(&id), 0);
    // An inject may give its turn a larger budget, which the next inject
    // does not inherit: the start's holds again.
    w.run(&["inject", "--max-tokens", "1000", &id, "more"])
        .expect(0, ANY, EMPTY);
    assert_eq!(w.wait(&id), 0);
    let meta = w.meta(&id);
    assert_eq!(meta["max_tokens"], 100);
    assert_eq!(meta["turns"][1]["max_tokens"], 1000);
    w.run(&["inject", &id, "more"])
        .expect(1, EMPTY, has("token budget exceeded"));
    // codex reports no cost: a cost budget is a usage error.
    w.run(&["inject", "--max-cost", "1", &id, "more"])
        .expect(2, EMPTY, has("--max-cost"));
    assert_eq!(w.agent.calls(), 2);
}

#[test]
fn bad_budgets_are_usage_errors_that_create_nothing() {
    let w = World::new();
    for (opt, value) in [
        ("--max-tokens", "0"),
        ("--max-tokens", "-5"),
        ("--max-tokens", "1.5"),
        ("--max-tokens", "lots"),
        ("--max-cost", "-1"),
        ("--max-cost", "0"),
        ("--max-cost", "$0"),
        ("--max-cost", "NaN"),
        ("--max-cost", "five"),
    ] {
        for args in [
            vec!["start", "-a", "claude", opt, value, "task"],
            vec!["start", "-a", "claude", &format!("{opt}={value}"), "task"],
        ] {
            let out = w.run(&args);
            out.expect(2, EMPTY, has(opt));
            let first = out.stderr().lines().next().unwrap_or_default().to_string();
            assert!(
                first.starts_with("error: invalid value") && first.contains(value),
                "{args:?}: {first}"
            );
        }
    }
    // codex reports no cost.
    let out = w.run(&["start", "--max-cost", "2.50", "task"]);
    out.expect(2, EMPTY, ANY);
    assert!(error_of(&out).starts_with("--max-cost needs an agent that reports its cost"));
    assert!(w.session_ids().is_empty(), "{:?}", w.session_ids());
    assert_eq!(w.agent.calls(), 0);
}

/// The real claude against its mock, whose every response costs about
/// $0.0004: given $0.0003 of budget, it stops itself after the first.
#[test]
fn claude_stops_itself_at_the_cost_budget_and_is_given_what_is_left_of_it() {
    let mock = mock_messages::MockServer::start();
    let w = World::recording(e2e::claude(mock.port()));
    let work = w.work.path().to_str().unwrap().to_owned();
    let id = w
        .run(&[
            "start",
            "-a",
            "claude",
            "--max-cost",
            "0.0003",
            "-C",
            &work,
            "say hello",
        ])
        .expect(0, ANY, EMPTY)
        .stdout()
        .trim()
        .to_owned();
    let (code, s) = w.wait_shown(&id);
    assert_eq!(code, 4, "{s:#}");
    assert_eq!(s["ending"], "budget_exceeded", "{s:#}");
    let cost = s["cost_usd"].as_f64().unwrap();
    assert!(cost > 0.0003, "{s:#}");
    assert_eq!(
        s["error"],
        format!("cost budget exceeded: ${cost:.4} of $0.0003")
    );
    assert!(w
        .agent
        .argv(1)
        .contains(&"--max-budget-usd=0.0003".to_string()));
    // Spent: refused, with the figures.
    w.run(&["inject", &id, "go on"])
        .expect(1, EMPTY, has("cost budget exceeded"));
    // Given more, the turn gets what is left of it: claude counts only
    // what its own invocation costs.
    w.run(&["inject", "--max-cost", "0.01", &id, "SCN_SAY fine"])
        .expect(0, ANY, EMPTY);
    let (code, s) = w.wait_shown(&id);
    assert_eq!(code, 0, "{s:#}");
    let given: f64 = w
        .agent
        .argv(2)
        .iter()
        .find_map(|a| a.strip_prefix("--max-budget-usd="))
        .expect("a cost budget for turn 2")
        .parse()
        .unwrap();
    assert!((given - (0.01 - cost)).abs() < 1e-9, "{given} vs {cost}");
    assert_eq!(s["turn_records"][1]["budget"]["max_cost_usd"], 0.01);
}

/// The real claude, its mock's first response a minute-long command: the
/// tokens of that response reach the budget, and the turn is stopped
/// while the command runs.
#[test]
fn claude_is_stopped_mid_turn_once_its_responses_reach_the_token_budget() {
    let mock = mock_messages::MockServer::start();
    let w = World::with_agents(vec![e2e::claude(mock.port())]);
    let work = w.work.path().to_str().unwrap().to_owned();
    let t = Instant::now();
    let id = w
        .run(&[
            "start",
            "-a",
            "claude",
            "--max-tokens",
            "50",
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
    assert_eq!(s["ending"], "budget_exceeded", "{s:#}");
    assert!(t.elapsed() < Duration::from_secs(40), "{:?}", t.elapsed());
    let used = tokens_used(s["error"].as_str().unwrap(), "50");
    let per_response = mock_messages::USAGE_INPUT
        + mock_messages::USAGE_CACHE_CREATION
        + mock_messages::USAGE_CACHE_READ;
    assert!(used > per_response, "{s:#}");
}
