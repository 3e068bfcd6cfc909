//! End to end: the real `gemini` CLI (Gemini CLI 0.61.0, installed by
//! `scripts/install-agents.sh`) driven through zwarm against the mock Gemini
//! API on 127.0.0.1. These fail, never skip, without the CLI.

use crate::support::agent_runs;
use crate::support::e2e::{self, find_step};
use crate::support::legacy;
use crate::support::mock_gemini::{self, MockServer, HELLO_COMMAND, HTTP400_MESSAGE};
use crate::support::poll::eventually;
use crate::support::world::World;
use serde_json::Value;
use std::time::{Duration, Instant};

/// The model every test asks for: the default (`auto`) first asks a
/// routing classifier, which makes the requests harder to count.
const MODEL: &str = "gemini-2.5-flash";

/// A Gemini API mock, and a world whose gemini (with a private home) is
/// pointed at it.
struct Gemini {
    mock: MockServer,
    w: World,
}

impl Gemini {
    fn new() -> Gemini {
        let mock = MockServer::start();
        let w = World::with_agents(vec![e2e::gemini(mock.port())]);
        Gemini { mock, w }
    }

    fn start(&self, task: &str) -> String {
        let work = self.w.work.path().to_str().unwrap();
        self.w
            .start(&["-a", "gemini", "-m", MODEL, "-C", work, task])
    }

    /// The `result` line gemini ended turn `turn` with.
    fn result_line(&self, id: &str, turn: u32) -> Value {
        let lines = self.turn_lines(id, turn);
        let results: Vec<&Value> = lines.iter().filter(|l| l["type"] == "result").collect();
        assert_eq!(results.len(), 1, "one result per invocation: {lines:#?}");
        results[0].clone()
    }

    /// Gemini's private home: every process it starts has it in its
    /// environment.
    fn home(&self) -> String {
        self.agent_env()
            .var("GEMINI_CLI_HOME")
            .expect("GEMINI_CLI_HOME")
            .to_string()
    }

    /// What the mock served so far, as gemini counts it: prompt (cached
    /// part included), candidates, total (thinking included), cached.
    fn served(&self) -> [u64; 4] {
        let n = self.mock.model_requests().len() as u64;
        [
            n * mock_gemini::USAGE_PROMPT,
            n * mock_gemini::USAGE_CANDIDATES,
            n * mock_gemini::USAGE_TOTAL,
            n * mock_gemini::USAGE_CACHED,
        ]
    }
}

impl std::ops::Deref for Gemini {
    type Target = World;
    fn deref(&self) -> &World {
        &self.w
    }
}

fn usage_of(u: &Value) -> [u64; 4] {
    let n = |k: &str| u[k].as_u64().unwrap_or_else(|| panic!("no {k} in {u}"));
    [
        n("input_tokens"),
        n("output_tokens"),
        n("total_tokens"),
        n("cached_input_tokens"),
    ]
}

#[test]
fn start_completes_with_the_command_and_its_output_in_the_trajectory() {
    let w = Gemini::new();
    let id = w.start("say hi");
    let (code, s) = w.wait_shown(&id);
    assert_eq!(code, 0, "{s:#}");
    assert_eq!(s["status"], "completed");
    assert_eq!(s["ending"], "completed");
    assert_eq!(s["exit_code"], 0);
    assert!(s["error"].is_null(), "{s:#}");
    // zwarm pins gemini's session id to its own on the first turn.
    assert_eq!(s["agent_session_id"], id.as_str());
    assert_eq!(w.result_line(&id, 1)["status"], "success");
    assert_eq!(w.turn_lines(&id, 1)[0]["session_id"], id.as_str());
    assert_eq!(s["adapter"], "gemini");
    assert_eq!(w.meta(&id)["adapter"], "gemini");
    // zwarm 2.3.5 reads `adapter` as any string: the session stays its.
    legacy::assert_235_format(&id, w.meta(&id).as_object().unwrap());
    assert_eq!(s["model"], MODEL);
    // The model the API said served it.
    assert_eq!(
        s["turn_records"][0]["reported_model"],
        mock_gemini::served_model(MODEL).as_str()
    );
    let list = w.json(&["list"]);
    let listed: Vec<&Value> = list["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["id"] == id.as_str())
        .collect();
    assert_eq!(listed.len(), 1, "{list:#}");
    assert_eq!(listed[0]["adapter"], "gemini");

    let traj = w.json(&["trajectory", &id]);
    let commands = find_step(&traj, "command", 1);
    assert_eq!(commands.len(), 1, "{traj:#}");
    assert_eq!(commands[0]["command"], HELLO_COMMAND);
    assert_eq!(commands[0]["output"], "hello-from-mock");
    assert_eq!(commands[0]["status"], "completed");
    // The answer arrives in two pieces: one message.
    let messages = find_step(&traj, "message", 1);
    assert_eq!(messages.len(), 1, "{traj:#}");
    assert_eq!(messages[0]["text"], "done: hello-from-mock");
    assert_eq!(s["last_message"], "done: hello-from-mock");
    assert!(find_step(&traj, "error", 1).is_empty(), "{traj:#}");

    let human = w.ok(&["trajectory", &id[..8]]);
    assert!(
        human.contains(HELLO_COMMAND) && human.contains("done: hello-from-mock"),
        "{human}"
    );
    let watched = w.ok(&["watch", &id[..8]]);
    assert!(
        watched.contains(HELLO_COMMAND) && watched.contains("turn 1 completed"),
        "{watched}"
    );
    let table = w.ok(&["list"]);
    assert!(
        table.contains(&id[..8]) && table.contains("gemini"),
        "{table}"
    );
    // Two requests, a tool call and the answer; usage is what they served.
    assert_eq!(w.mock.model_requests().len(), 2);
    assert_eq!(usage_of(&s["usage"]), w.served());
    assert!(s["cost_usd"].is_null(), "gemini reports no cost: {s:#}");
    let doctor = w.json(&["doctor"]);
    assert_eq!(doctor["problems"], serde_json::json!([]), "{doctor:#}");
}

#[test]
fn inject_resumes_the_conversation_and_usage_is_what_the_mock_served() {
    let w = Gemini::new();
    let id = w.start("first");
    let (code, s1) = w.wait_shown(&id);
    assert_eq!(code, 0, "{s1:#}");
    let turn1 = w.mock.model_requests().len();
    assert_eq!(usage_of(&s1["usage"]), w.served());

    // A message that looks like a flag must still reach gemini as the prompt.
    w.inject(&id, "-x SCN_SAY second answer");
    let (code, s2) = w.wait_shown(&id);
    assert_eq!(code, 0, "{s2:#}");
    assert_eq!(s2["status"], "completed");
    assert_eq!(s2["turns"], 2);
    assert_eq!(s2["turn_records"][1]["ending"], "completed");
    assert_eq!(s2["turn_records"][1]["agent_session_id"], id.as_str());
    assert_eq!(w.turn_lines(&id, 2)[0]["session_id"], id.as_str());
    assert_eq!(s2["last_message"], "second answer");

    // Native resume: the turn 2 request carries turn 1, tool output included.
    let requests = w.mock.model_requests();
    let turn2 = &requests[turn1..];
    assert_eq!(turn2.len(), 1);
    let body = &turn2[0].body;
    assert!(
        mock_gemini::last_user_text(body).contains("-x SCN_SAY second answer"),
        "{body:#}"
    );
    let earlier = mock_gemini::function_outputs(body);
    assert!(
        earlier.iter().any(|o| o.contains("hello-from-mock")),
        "{body:#}"
    );
    assert!(body.to_string().contains("first"), "{body:#}");

    // Each invocation reports its own usage: the session's is everything
    // the mock served, the turn's only its own request.
    assert_eq!(usage_of(&s2["usage"]), w.served());
    assert_eq!(
        usage_of(&s2["turn_records"][1]["usage"]),
        [
            mock_gemini::USAGE_PROMPT,
            mock_gemini::USAGE_CANDIDATES,
            mock_gemini::USAGE_TOTAL,
            mock_gemini::USAGE_CACHED
        ]
    );
    let stats = &w.result_line(&id, 2)["stats"];
    assert_eq!(stats["input_tokens"], mock_gemini::USAGE_PROMPT);

    let traj = w.json(&["trajectory", &id]);
    assert_eq!(find_step(&traj, "command", 1).len(), 1, "{traj:#}");
    assert!(find_step(&traj, "command", 2).is_empty(), "{traj:#}");
    let roles: Vec<&str> = s2["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["user", "assistant", "user", "assistant"]);
}

#[test]
fn http_400_fails_with_the_api_message() {
    let w = Gemini::new();
    let id = w.start("SCN_HTTP400 please fail");
    let (code, s) = w.wait_shown(&id);
    assert_eq!(code, 4, "wait exits 4 for a failed session: {s:#}");
    assert_eq!(s["status"], "failed");
    assert_eq!(s["ending"], "failed");
    // gemini exits with the HTTP status, modulo 256.
    assert_eq!(s["exit_code"], 400 % 256);
    assert_eq!(s["error"], HTTP400_MESSAGE, "{s:#}");
    assert!(s["last_message"].is_null(), "{s:#}");
    let traj = w.json(&["trajectory", &id]);
    let errors = find_step(&traj, "error", 1);
    assert_eq!(errors.len(), 1, "{traj:#}");
    assert_eq!(errors[0]["message"], HTTP400_MESSAGE);
    let human = w.ok(&["show", &id[..8]]);
    assert!(human.contains(HTTP400_MESSAGE), "{human}");
}

#[test]
fn kill_of_a_slow_turn_leaves_killed_and_no_process() {
    let w = Gemini::new();
    let id = w.start("SCN_SLOW keep busy");
    let home = w.home();
    let path = w.turn_file(&id, 1);
    eventually(
        Duration::from_secs(30),
        "gemini to start the command",
        || {
            std::fs::read_to_string(&path)
                .unwrap_or_default()
                .contains("\"tool_use\"")
        },
    );
    // The command runs in a session of its own, outside the agent's group.
    eventually(Duration::from_secs(10), "the slow command to run", || {
        agent_runs::processes_with_env("GEMINI_CLI_HOME", &home)
            .into_iter()
            .any(|pid| {
                std::fs::read_to_string(format!("/proc/{pid}/comm"))
                    .is_ok_and(|c| c.trim() == "sleep")
            })
    });
    assert_eq!(w.json(&["show", &id])["status"], "running");
    let out = w.run(&["inject", &id[..8], "SCN_SAY too soon"]);
    assert_eq!(out.code(), 5, "inject while a turn runs is refused");

    let t = Instant::now();
    let out = w.run(&["kill", &id[..8]]);
    let took = t.elapsed();
    assert_eq!(out.code(), 0, "{}", out.stderr());
    assert!(took < Duration::from_secs(5), "kill took {took:?}");
    let s = w.json(&["show", &id]);
    assert_eq!(s["status"], "killed");
    assert_eq!(s["ending"], "killed");
    agent_runs::wait_until_gone("GEMINI_CLI_HOME", &home);
    let (code, _) = w.wait_shown(&id);
    assert_eq!(code, 4, "wait exits 4 for a killed session");
    let traj = w.json(&["trajectory", &id]);
    let commands = find_step(&traj, "command", 1);
    assert_eq!(commands.len(), 1, "{traj:#}");
    assert_eq!(commands[0]["command"], mock_gemini::SLOW_COMMAND);
    assert_eq!(commands[0]["status"], "in_progress");

    // It resumes: the killed turn's prompt is in the conversation, its
    // unfinished tool call is not, and its usage was never reported.
    let before = w.mock.model_requests().len();
    w.inject(&id, "SCN_SAY back again");
    let (code, s) = w.wait_shown(&id);
    assert_eq!(code, 0, "{s:#}");
    assert_eq!(s["turn_records"][0]["ending"], "killed");
    assert!(s["turn_records"][0]["usage"].is_null(), "{s:#}");
    assert_eq!(s["turn_records"][1]["agent_session_id"], id.as_str());
    assert_eq!(s["last_message"], "back again");
    let requests = w.mock.model_requests();
    assert_eq!(requests.len(), before + 1);
    let body = &requests[before].body;
    assert!(body.to_string().contains("SCN_SLOW keep busy"), "{body:#}");
    assert!(!body.to_string().contains("functionCall"), "{body:#}");
    assert!(mock_gemini::function_outputs(body).is_empty(), "{body:#}");
    assert_eq!(
        usage_of(&s["usage"])[0],
        mock_gemini::USAGE_PROMPT,
        "only the resumed turn's request counts: {s:#}"
    );
}
