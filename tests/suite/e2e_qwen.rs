//! End to end: the real `qwen` CLI (Qwen Code 0.24.4, installed by
//! `scripts/install-agents.sh`) driven through zwarm against the mock Chat
//! Completions server on 127.0.0.1, with a private `HOME` holding only the
//! settings the test writes. These fail, never skip, without the CLI.

use crate::support::agent_runs;
use crate::support::e2e::{self, find_step};
use crate::support::mock_chat::{
    self, MockServer, HELLO_COMMAND, HTTP400_MESSAGE, SLOW_COMMAND, USAGE_CACHED, USAGE_COMPLETION,
    USAGE_PROMPT,
};
use crate::support::poll::eventually;
use crate::support::world::World;
use serde_json::Value;
use std::time::{Duration, Instant};

/// A Chat Completions mock, and a world whose qwen is pointed at it.
struct Qwen {
    mock: MockServer,
    w: World,
}

impl Qwen {
    fn new() -> Qwen {
        let mock = MockServer::start();
        let w = World::with_agents(vec![e2e::qwen(mock.port())]);
        Qwen { mock, w }
    }

    fn start(&self, task: &str) -> String {
        self.w.start_with(Some("qwen"), task)
    }

    /// The private `HOME` qwen runs with: every process it starts has it.
    fn home(&self) -> String {
        self.agent_env().var("HOME").unwrap().to_string()
    }

    /// What the mock served so far, as `show --json` counts usage:
    /// `[input, cached, output, total]`.
    fn served(&self) -> [u64; 4] {
        let n = self.mock.model_requests().len() as u64;
        [
            n * USAGE_PROMPT,
            n * USAGE_CACHED,
            n * USAGE_COMPLETION,
            n * (USAGE_PROMPT + USAGE_COMPLETION),
        ]
    }
}

impl std::ops::Deref for Qwen {
    type Target = World;
    fn deref(&self) -> &World {
        &self.w
    }
}

fn usage_of(u: &Value) -> [u64; 4] {
    let n = |k: &str| u[k].as_u64().unwrap_or(0);
    [
        n("input_tokens"),
        n("cached_input_tokens"),
        n("output_tokens"),
        n("total_tokens"),
    ]
}

#[test]
fn start_completes_with_the_command_and_its_output_in_the_trajectory() {
    let w = Qwen::new();
    let id = w.start("run the command");
    let (code, s) = w.wait_shown(&id);
    assert_eq!(code, 0, "{s:#}");
    assert_eq!(
        (&s["status"], &s["ending"], &s["exit_code"]),
        (&"completed".into(), &"completed".into(), &0.into()),
        "{s:#}"
    );
    assert!(s["error"].is_null(), "{s:#}");
    // zwarm pins qwen's session id to its own on the first turn.
    assert_eq!(s["agent_session_id"], id.as_str());
    assert_eq!(s["adapter"], "qwen");
    let meta = w.meta(&id);
    assert_eq!(meta["adapter"], "qwen");
    // zwarm 2.3.5 reads `adapter` as any string: such a session loads there.
    crate::support::legacy::assert_235_format(&id, meta.as_object().unwrap());
    let list = w.json(&["list"]);
    let listed = list["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["id"] == id.as_str())
        .expect("listed");
    assert_eq!(
        (&listed["adapter"], &listed["status"]),
        (&"qwen".into(), &"completed".into())
    );

    let traj = w.json(&["trajectory", &id]);
    e2e::assert_ran_the_hello_command(&traj, HELLO_COMMAND);
    let commands = find_step(&traj, "command", 1);
    assert_eq!(commands[0]["output"], "hello-from-mock", "{traj:#}");
    assert_eq!(commands[0]["status"], "completed");
    let answer = s["last_message"].as_str().expect("a final message");
    assert!(
        answer.starts_with("done:") && answer.contains("hello-from-mock"),
        "{answer}"
    );
    assert_eq!(
        find_step(&traj, "message", 1).last().unwrap()["text"],
        answer
    );
    assert!(find_step(&traj, "error", 1).is_empty(), "{traj:#}");
    let human = w.ok(&["trajectory", &id[..8]]);
    assert!(
        human.contains(HELLO_COMMAND) && human.contains("hello-from-mock"),
        "{human}"
    );
    let watched = w.ok(&["watch", &id[..8]]);
    assert!(watched.contains("hello-from-mock"), "{watched}");
    let table = w.ok(&["list"]);
    assert!(
        table.contains(&id[..8]) && table.contains("qwen"),
        "{table}"
    );

    // A tool call, then the answer: two requests, and the usage is what the
    // mock served for them.
    assert_eq!(w.mock.model_requests().len(), 2);
    assert_eq!(usage_of(&s["usage"]), w.served(), "{s:#}");
    assert!(s["cost_usd"].is_null(), "qwen reports no cost: {s:#}");
    let doctor = w.json(&["doctor"]);
    assert_eq!(doctor["problems"], serde_json::json!([]), "{doctor:#}");
}

#[test]
fn inject_resumes_natively_and_usage_is_what_the_mock_served() {
    let w = Qwen::new();
    let id = w.start("first");
    let (code, s1) = w.wait_shown(&id);
    assert_eq!(code, 0, "{s1:#}");
    let served1 = w.served();
    assert_eq!(usage_of(&s1["usage"]), served1, "{s1:#}");
    let turn1_requests = w.mock.model_requests().len();

    // A message that looks like an option still reaches qwen as the prompt.
    w.inject(&id, "-x SCN_SAY second answer");
    let (code, s2) = w.wait_shown(&id);
    assert_eq!(code, 0, "{s2:#}");
    assert_eq!(s2["status"], "completed");
    assert_eq!(s2["turns"], 2);
    assert_eq!(s2["turn_records"][1]["agent_session_id"], id.as_str());
    assert_eq!(s2["last_message"], "second answer");

    // Native resume: the request carries turn 1's tool call and output.
    let requests = w.mock.model_requests();
    let turn2 = &requests[turn1_requests..];
    assert_eq!(turn2.len(), 1, "one request for a plain answer");
    let texts = mock_chat::conversation_texts(&turn2[0].body);
    assert!(
        texts.iter().any(|t| t.contains("hello-from-mock")),
        "{texts:#?}"
    );
    assert!(
        mock_chat::last_user_text(&turn2[0].body).contains("-x SCN_SAY second answer"),
        "{:#}",
        turn2[0].body
    );

    // qwen reports the session's running total after a resume; zwarm counts
    // each response once, as the mock served it.
    let last = w.turn_lines(&id, 2);
    let result = last.iter().find(|l| l["type"] == "result").unwrap();
    assert_eq!(
        result["usage"]["input_tokens"].as_u64(),
        Some(3 * USAGE_PROMPT),
        "qwen's own total: {result:#}"
    );
    assert_eq!(usage_of(&s2["usage"]), w.served(), "{s2:#}");
    let turn2_usage = usage_of(&s2["turn_records"][1]["usage"]);
    assert_eq!(
        turn2_usage,
        [
            USAGE_PROMPT,
            USAGE_CACHED,
            USAGE_COMPLETION,
            USAGE_PROMPT + USAGE_COMPLETION
        ]
    );
}

#[test]
fn an_api_error_fails_with_the_apis_message() {
    let w = Qwen::new();
    let id = w.start("SCN_HTTP400 please fail");
    let (code, s) = w.wait_shown(&id);
    assert_eq!(code, 4, "wait exits 4 for a failed session: {s:#}");
    assert_eq!(
        (&s["status"], &s["ending"]),
        (&"failed".into(), &"failed".into())
    );
    assert_eq!(s["exit_code"], 1);
    let error = s["error"].as_str().expect("an error");
    assert!(error.contains(HTTP400_MESSAGE), "{error}");
    assert!(s["last_message"].is_null(), "{s:#}");
    let traj = w.json(&["trajectory", &id]);
    let errors = find_step(&traj, "error", 1);
    assert_eq!(errors.len(), 1, "{traj:#}");
    assert!(find_step(&traj, "message", 1).is_empty(), "{traj:#}");
}

#[test]
fn kill_of_a_slow_turn_leaves_killed_and_no_process_and_the_next_turn_resumes() {
    let w = Qwen::new();
    let id = w.start("SCN_SLOW keep busy");
    let home = w.home();
    eventually(Duration::from_secs(60), "qwen to start the command", || {
        std::fs::read_to_string(w.turn_file(&id, 1))
            .unwrap_or_default()
            .contains("\"tool_use\"")
    });
    assert_eq!(w.json(&["show", &id])["status"], "running");
    // qwen re-spawns itself and runs the command in a session of its own:
    // the kill must reach them all.
    assert!(agent_runs::processes_with_env("HOME", &home).len() >= 3);
    let t = Instant::now();
    let out = w.run(&["kill", &id[..8]]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let took = t.elapsed();
    assert!(took < Duration::from_secs(15), "kill took {took:?}");
    let s = w.json(&["show", &id]);
    assert_eq!(
        (&s["status"], &s["ending"]),
        (&"killed".into(), &"killed".into())
    );
    let left = agent_runs::processes_with_env("HOME", &home);
    assert!(left.is_empty(), "qwen processes left behind: {left:?}");
    let (code, _) = w.wait_shown(&id);
    assert_eq!(code, 4);
    let traj = w.json(&["trajectory", &id]);
    let commands = find_step(&traj, "command", 1);
    assert_eq!(commands.len(), 1, "{traj:#}");
    assert_eq!(commands[0]["command"], SLOW_COMMAND);

    // With an option zwarm does not model, which qwen accepts.
    w.ok(&[
        "inject",
        "--agent-arg=--max-session-turns=5",
        &id[..8],
        "SCN_SAY back again",
    ]);
    let (code, s) = w.wait_shown(&id);
    assert_eq!(code, 0, "{s:#}");
    assert_eq!(s["last_message"], "back again");
    assert_eq!(s["turn_records"][1]["agent_session_id"], id.as_str());
    assert_eq!(
        s["turn_records"][1]["agent_args"],
        serde_json::json!(["--max-session-turns=5"])
    );
    // The killed turn's response was paid for: it counts, as streamed, and
    // the session's total is what the mock served (qwen's own running total
    // after the resume leaves it out when the kill came before qwen saved it).
    let killed = usage_of(&s["turn_records"][0]["usage"]);
    assert_eq!(killed[0], USAGE_PROMPT, "{s:#}");
    assert_eq!(usage_of(&s["usage"]), w.served(), "{s:#}");
}
