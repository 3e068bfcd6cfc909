//! End to end: the real `claude` CLI (Claude Code 2.1.330, installed by
//! `scripts/install-agents.sh`) driven through zwarm against the mock
//! Messages server on 127.0.0.1. These fail, never skip, without the CLI.

use crate::support::agent_runs;
use crate::support::e2e::{self, find_step};
use crate::support::mock_messages::{self, MockServer, HELLO_COMMAND, HTTP400_MESSAGE};
use crate::support::poll::eventually;
use crate::support::world::World;
use serde_json::Value;
use std::time::{Duration, Instant};

/// A Messages mock, and a world whose claude (with a private
/// CLAUDE_CONFIG_DIR) is pointed at it.
struct Claude {
    mock: MockServer,
    w: World,
}

impl Claude {
    fn new() -> Claude {
        let mock = MockServer::start();
        let w = World::with_agents(vec![e2e::claude(mock.port())]);
        Claude { mock, w }
    }

    fn start(&self, task: &str) -> String {
        self.w.start_with(Some("claude"), task)
    }

    /// The `result` line claude ended turn `turn` with.
    fn result_line(&self, id: &str, turn: u32) -> Value {
        let lines = self.turn_lines(id, turn);
        let results: Vec<&Value> = lines.iter().filter(|l| l["type"] == "result").collect();
        assert_eq!(
            results.len(),
            1,
            "one result line per invocation: {lines:#?}"
        );
        results[0].clone()
    }

    /// Waits until claude has asked to run a tool in `turn` (the command
    /// starts right after).
    fn wait_for_tool_use(&self, id: &str, turn: u32) {
        let path = self.turn_file(id, turn);
        eventually(
            Duration::from_secs(30),
            "claude to start the command",
            || {
                std::fs::read_to_string(&path)
                    .unwrap_or_default()
                    .contains("\"tool_use\"")
            },
        );
    }

    fn config_dir(&self) -> String {
        self.agent_env()
            .var("CLAUDE_CONFIG_DIR")
            .unwrap()
            .to_string()
    }
}

impl std::ops::Deref for Claude {
    type Target = World;
    fn deref(&self) -> &World {
        &self.w
    }
}

fn n(v: &Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("not a count: {v}"))
}

/// The session usage zwarm should report for these result lines: claude's
/// `result.usage` covers one invocation, so the figures add up, and its
/// `input_tokens` leaves out cache reads and writes, which keep their own
/// fields (and count in the total).
fn summed_usage(results: &[Value]) -> [u64; 5] {
    let sum = |key: &str| results.iter().map(|r| n(&r["usage"][key])).sum::<u64>();
    let (input, output) = (sum("input_tokens"), sum("output_tokens"));
    let (read, write) = (
        sum("cache_read_input_tokens"),
        sum("cache_creation_input_tokens"),
    );
    [input, output, read, write, input + output + read + write]
}

fn usage_of(u: &Value) -> [u64; 5] {
    [
        n(&u["input_tokens"]),
        n(&u["output_tokens"]),
        n(&u["cache_read_input_tokens"]),
        n(&u["cache_creation_input_tokens"]),
        n(&u["total_tokens"]),
    ]
}

fn final_text(result: &Value) -> String {
    result["result"].as_str().expect("result text").to_string()
}

#[test]
fn start_completes_and_trajectory_shows_the_command_and_answer() {
    let w = Claude::new();
    let id = w.start("say hi");
    let (code, s) = w.wait_shown(&id);
    assert_eq!(code, 0, "{s:#}");
    assert_eq!(s["status"], "completed");
    assert_eq!(s["ending"], "completed");
    assert_eq!(s["exit_code"], 0);
    assert!(s["error"].is_null(), "{s:#}");
    assert_eq!(s["turns"], 1);
    // zwarm pins claude's session id to its own on the first turn.
    assert_eq!(s["agent_session_id"], id.as_str());
    // `--json` speaks the name people type; meta.json keeps 2.3.5's.
    assert_eq!(s["adapter"], "claude");
    assert_eq!(w.meta(&id)["adapter"], "claude_code");
    let list = w.json(&["list"]);
    let listed: Vec<&Value> = list["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["id"] == id.as_str())
        .collect();
    assert_eq!(listed.len(), 1, "{list:#}");
    assert_eq!(listed[0]["adapter"], "claude");
    assert_eq!(listed[0]["status"], "completed");

    let result = w.result_line(&id, 1);
    assert_eq!(result["session_id"], id.as_str());
    let answer = final_text(&result);
    assert!(
        answer.starts_with("done:") && answer.contains("hello-from-mock"),
        "{answer}"
    );
    assert_eq!(s["last_message"], answer.as_str());

    let traj = w.json(&["trajectory", &id]);
    let commands = find_step(&traj, "command", 1);
    assert_eq!(commands.len(), 1, "{traj:#}");
    assert_eq!(commands[0]["command"], HELLO_COMMAND);
    assert_eq!(commands[0]["output"], "hello-from-mock");
    assert_eq!(commands[0]["exit_code"], 0);
    assert_eq!(commands[0]["status"], "completed");
    let messages = find_step(&traj, "message", 1);
    assert_eq!(
        messages.last().expect("a final message")["text"],
        answer.as_str(),
        "{traj:#}"
    );
    assert!(find_step(&traj, "error", 1).is_empty(), "{traj:#}");

    // The same, for people.
    let human = w.ok(&["trajectory", &id[..8]]);
    assert!(
        human.contains(HELLO_COMMAND)
            && human.contains("hello-from-mock")
            && human.contains(&answer),
        "{human}"
    );
    let table = w.ok(&["list"]);
    assert!(
        table.contains(&id[..8]) && table.contains("completed") && table.contains("claude"),
        "{table}"
    );

    // Usage is what the result line reported, with the cache as its own
    // fields; the mock's two requests each carry cache reads and writes.
    assert_eq!(
        usage_of(&s["usage"]),
        summed_usage(std::slice::from_ref(&result))
    );
    assert_eq!(
        usage_of(&s["turn_records"][0]["usage"]),
        summed_usage(std::slice::from_ref(&result))
    );
    assert!(n(&s["usage"]["cache_read_input_tokens"]) >= 2 * mock_messages::USAGE_CACHE_READ);
    assert!(
        n(&s["usage"]["cache_creation_input_tokens"]) >= 2 * mock_messages::USAGE_CACHE_CREATION
    );
    let cost = result["total_cost_usd"].as_f64().unwrap();
    assert!(cost > 0.0, "{result:#}");
    assert_eq!(s["cost_usd"].as_f64(), Some(cost));
}

#[test]
fn inject_resumes_the_same_claude_session_and_sums_usage() {
    let w = Claude::new();
    let id = w.start("first");
    let (code, s1) = w.wait_shown(&id);
    assert_eq!(code, 0, "{s1:#}");
    let conversation = s1["agent_session_id"].as_str().unwrap().to_string();
    let turn1_requests = w.mock.model_requests().len();
    assert!(turn1_requests >= 2, "a tool call, then the answer");

    // A message that looks like a flag must still reach claude as the prompt.
    w.inject(&id, "-x SCN_SAY second answer");
    let (code, s2) = w.wait_shown(&id);
    assert_eq!(code, 0, "{s2:#}");
    assert_eq!(s2["status"], "completed");
    assert_eq!(s2["turns"], 2);
    assert_eq!(s2["turn_records"].as_array().unwrap().len(), 2);
    assert_eq!(s2["turn_records"][1]["ending"], "completed");
    assert_eq!(
        s2["turn_records"][1]["agent_session_id"],
        conversation.as_str(),
        "resumed, not a new conversation"
    );
    assert_eq!(s2["agent_session_id"], conversation.as_str());
    assert!(s2["error"].is_null(), "{s2:#}");
    assert_eq!(s2["last_message"], "second answer");
    let meta = w.meta(&id);
    assert_eq!(meta["agent_session_id"], conversation.as_str());
    assert_eq!(meta["turns"].as_array().unwrap().len(), 2);
    assert_eq!(w.result_line(&id, 2)["session_id"], conversation.as_str());

    // Native resume: turn 2's request carries turn 1's conversation,
    // tool result included.
    let requests = w.mock.model_requests();
    let turn2 = requests[turn1_requests..]
        .iter()
        .find(|r| mock_messages::last_user_text(&r.body).contains("SCN_SAY"))
        .expect("a turn 2 request");
    let earlier = mock_messages::tool_results(&turn2.body);
    assert!(
        earlier.iter().any(|o| o.contains("hello-from-mock")),
        "turn 2 request: {:#}",
        turn2.body
    );

    // Each invocation reports only its own usage: the session sums them.
    let results = [w.result_line(&id, 1), w.result_line(&id, 2)];
    assert_eq!(usage_of(&s2["usage"]), summed_usage(&results));
    assert_eq!(
        usage_of(&s2["turn_records"][1]["usage"]),
        summed_usage(&results[1..])
    );
    assert!(
        n(&s2["usage"]["input_tokens"]) > n(&s1["usage"]["input_tokens"]),
        "{s2:#}"
    );
    // total_cost_usd is the session's running total: the latest one counts.
    let (c1, c2) = (
        results[0]["total_cost_usd"].as_f64().unwrap(),
        results[1]["total_cost_usd"].as_f64().unwrap(),
    );
    assert!(c2 > c1, "cumulative: {c1} then {c2}");
    assert_eq!(s2["cost_usd"].as_f64(), Some(c2));

    let roles: Vec<&str> = s2["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["user", "assistant", "user", "assistant"]);

    let traj = w.json(&["trajectory", &id]);
    assert_eq!(find_step(&traj, "command", 1).len(), 1, "{traj:#}");
    assert!(find_step(&traj, "command", 2).is_empty(), "{traj:#}");
    assert_eq!(
        find_step(&traj, "message", 2).last().unwrap()["text"],
        "second answer"
    );
}

#[test]
fn kill_of_a_slow_turn_leaves_killed_and_no_process() {
    let w = Claude::new();
    let id = w.start("SCN_SLOW keep busy");
    w.wait_for_tool_use(&id, 1);
    let meta = w.json(&["show", &id]);
    assert_eq!(meta["status"], "running");
    let config = w.config_dir();
    assert!(
        !agent_runs::processes_with_env("CLAUDE_CONFIG_DIR", &config).is_empty(),
        "claude should be running now"
    );

    let t = Instant::now();
    let out = w.run(&["kill", &id[..8]]);
    let took = t.elapsed();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Claude exits on SIGTERM at once: no need for the supervisor's grace period.
    assert!(took < Duration::from_secs(5), "kill took {took:?}");
    let s = w.json(&["show", &id]);
    assert_eq!(s["status"], "killed");
    assert_eq!(s["ending"], "killed");
    let left = agent_runs::processes_with_env("CLAUDE_CONFIG_DIR", &config);
    assert!(left.is_empty(), "claude processes left behind: {left:?}");

    let (code, _) = w.wait_shown(&id);
    assert_eq!(code, 4, "wait exits 4 for a killed session");
    // The command the agent was running shows, unfinished or killed.
    let traj = w.json(&["trajectory", &id]);
    let commands = find_step(&traj, "command", 1);
    assert_eq!(commands.len(), 1, "{traj:#}");
    assert_eq!(commands[0]["command"], mock_messages::SLOW_COMMAND);

    // A killed claude session resumes: same conversation, earlier prompt in context.
    let before = w.mock.model_requests().len();
    w.inject(&id, "SCN_SAY back again");
    let (code, s) = w.wait_shown(&id);
    assert_eq!(code, 0, "{s:#}");
    assert_eq!(s["status"], "completed");
    assert_eq!(s["turn_records"][0]["ending"], "killed");
    assert_eq!(s["turn_records"][1]["agent_session_id"], id.as_str());
    assert!(s["error"].is_null(), "{s:#}");
    assert_eq!(s["last_message"], "back again");
    let requests = w.mock.model_requests();
    assert!(
        requests[before..]
            .iter()
            .any(|r| r.body_text.contains("SCN_SLOW keep busy")),
        "turn 2 lost turn 1's context"
    );
    // The killed turn has no result line, yet its response was paid for:
    // it counts as streamed, and claude's cumulative cost includes it.
    let result = w.result_line(&id, 2);
    let killed = usage_of(&s["turn_records"][0]["usage"]);
    let (input, output, read, write) = (killed[0], killed[1], killed[2], killed[3]);
    assert_eq!(
        (input, read, write),
        (
            mock_messages::USAGE_INPUT,
            mock_messages::USAGE_CACHE_READ,
            mock_messages::USAGE_CACHE_CREATION
        ),
        "{s:#}"
    );
    // claude streams a response's usage as of its start: the output count
    // is a lower bound.
    assert!((1..=mock_messages::USAGE_OUTPUT).contains(&output), "{s:#}");
    let mut total = summed_usage(std::slice::from_ref(&result));
    for (t, k) in total.iter_mut().zip(killed) {
        *t += k;
    }
    assert_eq!(usage_of(&s["usage"]), total);
    let own_cost = result["model_usage_since_last_result"]
        .as_object()
        .unwrap()
        .values()
        .map(|m| m["costUSD"].as_f64().unwrap())
        .sum::<f64>();
    let cost = result["total_cost_usd"].as_f64().unwrap();
    assert!(cost > own_cost, "the killed run is in claude's total");
    assert_eq!(s["cost_usd"].as_f64(), Some(cost));
}

#[test]
fn inject_while_a_claude_turn_runs_is_refused() {
    // Claude has no lock against two resumes of one session: zwarm is the lock.
    let w = Claude::new();
    let id = w.start("SCN_SLOW keep busy");
    w.wait_for_tool_use(&id, 1);
    let before = w.meta_bytes(&id);
    let out = w.run(&["inject", &id[..8], "SCN_SAY too soon"]);
    assert_eq!(out.status.code(), Some(5), "{out:?}");
    let after = w.meta_bytes(&id);
    assert_eq!(before, after, "a refused inject changes nothing");
    assert!(!w.turn_file(&id, 2).exists());
    let out = w.run(&["kill", &id]);
    assert!(out.status.success());
}

#[test]
fn http_400_fails_with_the_api_message() {
    let w = Claude::new();
    let id = w.start("SCN_HTTP400 please fail");
    let (code, s) = w.wait_shown(&id);
    assert_eq!(code, 4, "wait exits 4 for a failed session: {s:#}");
    assert_eq!(s["status"], "failed");
    assert_eq!(s["ending"], "failed");
    assert_eq!(s["exit_code"], 1);
    let error = s["error"].as_str().expect("an error");
    assert!(error.contains(HTTP400_MESSAGE), "{error}");
    assert!(s["last_message"].is_null(), "{s:#}");

    // claude reports `subtype: success` with `is_error: true` here: the
    // result line must not count as a completed turn.
    let result = w.result_line(&id, 1);
    assert_eq!(
        (&result["subtype"], &result["is_error"]),
        (&"success".into(), &true.into())
    );

    let traj = w.json(&["trajectory", &id]);
    let errors = find_step(&traj, "error", 1);
    assert_eq!(errors.len(), 1, "{traj:#}");
    assert!(errors[0]["message"]
        .as_str()
        .unwrap()
        .contains(HTTP400_MESSAGE));
    assert!(find_step(&traj, "message", 1).is_empty(), "{traj:#}");
    let human = w.ok(&["show", &id[..8]]);
    assert!(human.contains(HTTP400_MESSAGE), "{human}");
}
