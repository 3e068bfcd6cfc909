//! End to end: the real `codex` CLI (0.169.0, installed by
//! `scripts/install-agents.sh`) driven through zwarm against the mock
//! Responses server on 127.0.0.1. These fail, never skip, without the CLI.

use crate::support::agent_runs;
use crate::support::agents;
use crate::support::e2e::{self, find_step};
use crate::support::files::set_executable;
use crate::support::mock_responses::{self, MockServer, HELLO_COMMAND, HTTP500_MESSAGE};
use crate::support::poll::{eventually, eventually_every};
use crate::support::world::{uuid_like, World};
use std::time::{Duration, Instant};

/// A mock, and a world whose codex (with a private CODEX_HOME) is pointed
/// at it.
struct Codex {
    mock: MockServer,
    w: World,
}

impl Codex {
    fn new() -> Codex {
        let mock = MockServer::start();
        let w = World::with_agents(vec![e2e::codex(mock.port())]);
        Codex { mock, w }
    }

    fn start(&self, task: &str) -> String {
        self.w.start_with(None, task)
    }
}

impl std::ops::Deref for Codex {
    type Target = World;
    fn deref(&self) -> &World {
        &self.w
    }
}

#[test]
fn start_completes_and_trajectory_shows_the_command_and_answer() {
    let w = Codex::new();
    let id = w.start("say hi");
    let (code, s) = w.wait_shown(&id);
    assert_eq!(code, 0, "{s:#}");
    assert_eq!(s["status"], "completed");
    assert_eq!(s["ending"], "completed");
    assert_eq!(s["adapter"], "codex");
    assert_eq!(s["exit_code"], 0);
    assert!(s["error"].is_null(), "{s:#}");
    assert!(uuid_like(s["agent_session_id"].as_str().unwrap()));

    let traj = w.json(&["trajectory", &id]);
    e2e::assert_ran_the_hello_command(&traj, HELLO_COMMAND);
    let messages = find_step(&traj, "message", 1);
    let last = messages.last().expect("a final message")["text"]
        .as_str()
        .unwrap();
    assert!(
        last.starts_with("done:") && last.contains("hello-from-mock"),
        "{last}"
    );
    assert_eq!(s["last_message"].as_str(), Some(last));

    // The same, for people.
    let human = w.run(&["trajectory", &id[..8]]).stdout();
    assert!(
        human.contains(HELLO_COMMAND) && human.contains("hello-from-mock") && human.contains(last),
        "{human}"
    );
    let list = w.run(&["list"]).stdout();
    assert!(
        list.contains(&id[..8]) && list.contains("completed") && list.contains("codex"),
        "{list}"
    );
}

#[test]
fn inject_resumes_the_thread_and_usage_is_the_threads_total() {
    let w = Codex::new();
    let id = w.start("first");
    let (code, s1) = w.wait_shown(&id);
    assert_eq!(code, 0, "{s1:#}");
    let thread = s1["agent_session_id"].as_str().unwrap().to_string();
    let turn1_requests = w.mock.model_requests().len();

    let out = w.run(&["inject", &id[..8], "SCN_SAY second answer"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (code, s2) = w.wait_shown(&id);
    assert_eq!(code, 0, "{s2:#}");
    assert_eq!(s2["turns"], 2);
    assert_eq!(
        s2["turn_records"][1]["agent_session_id"],
        thread.as_str(),
        "resumed, not a new thread"
    );
    assert_eq!(s2["turn_records"][1]["ending"], "completed");
    assert_eq!(s2["last_message"], "second answer");

    // Native resume: turn 2's request carries turn 1's tool output.
    let requests = w.mock.model_requests();
    let turn2 = &requests[turn1_requests];
    let outputs = mock_responses::function_call_outputs(&turn2.body);
    assert!(
        outputs.iter().any(|o| o.contains("hello-from-mock")),
        "turn 2 request: {:#}",
        turn2.body
    );

    // Each request reports 100 input (20 cached) and 7 output tokens; codex
    // reports the thread's running total, so the session total is the number
    // of requests times that, not a sum of per-turn reports.
    let n = requests.len() as u64;
    let usage = &s2["usage"];
    assert_eq!(usage["input_tokens"], 100 * n, "{usage:#}");
    assert_eq!(usage["cached_input_tokens"], 20 * n);
    assert_eq!(usage["output_tokens"], 7 * n);
    assert_eq!(usage["total_tokens"], 107 * n);
    let t1 = s2["turn_records"][0]["usage"]["input_tokens"]
        .as_u64()
        .unwrap();
    let t2 = s2["turn_records"][1]["usage"]["input_tokens"]
        .as_u64()
        .unwrap();
    assert_eq!(
        (t1, t2),
        (
            100 * turn1_requests as u64,
            100 * (n - turn1_requests as u64)
        )
    );

    let shown = w.json(&["show", &id]);
    let roles: Vec<&str> = shown["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["user", "assistant", "user", "assistant"]);
}

#[test]
fn kill_of_a_slow_turn_leaves_killed_and_no_process() {
    let w = Codex::new();
    let id = w.start("SCN_SLOW keep busy");
    // Wait until codex runs the slow command.
    let turn = w.turn_file(&id, 1);
    eventually(
        Duration::from_secs(30),
        "codex to start the slow command",
        || {
            std::fs::read_to_string(&turn)
                .unwrap_or_default()
                .contains("command_execution")
        },
    );
    let meta = w.json(&["show", &id]);
    assert_eq!(meta["status"], "running");
    let supervisor = meta["pid"].as_i64().unwrap() as i32;

    let t = Instant::now();
    let out = w.run(&["kill", &id[..8]]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        t.elapsed() < Duration::from_secs(10),
        "kill took {:?}",
        t.elapsed()
    );
    let s = w.json(&["show", &id]);
    assert_eq!(s["status"], "killed");
    assert_eq!(s["ending"], "killed");

    let home = w.agent_env().var("CODEX_HOME").unwrap();
    let left = agent_runs::processes_with_env("CODEX_HOME", home);
    assert!(
        left.is_empty(),
        "agent processes left behind: {}",
        describe(&left)
    );
    assert_eq!(
        session_members(supervisor),
        Vec::<i32>::new(),
        "processes left in the session"
    );

    // Killing it again changes nothing and says so.
    let before = w.meta_bytes(&id);
    let again = w.run(&["kill", &id]);
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("not running"));
    let after = w.meta_bytes(&id);
    assert_eq!(before, after);
}

/// A port on 127.0.0.1 that nothing listens on.
fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// Codex retries an unreachable endpoint forever ("Reconnecting... waiting
/// for network"): the turn is alive, so it stays `running`, and once it has
/// only retried for longer than --stall-after, list and show say it stalled.
#[test]
fn an_unreachable_endpoint_shows_as_stalled_while_running() {
    let w = Codex {
        mock: MockServer::start(),
        w: World::with_agents(vec![e2e::codex(closed_port())]),
    };
    let id = w.start("say hi");
    let shown = eventually_every(
        Duration::from_millis(200),
        Duration::from_secs(60),
        "the session to show as stalled",
        || {
            let out = w.run(&["--stall-after", "1s", "show", &id]);
            let text = String::from_utf8_lossy(&out.stdout).into_owned();
            if text.contains("stalled") {
                Ok(text)
            } else {
                Err(text)
            }
        },
    );
    assert!(shown.contains("running"), "{shown}");
    assert!(shown.contains("Reconnecting"), "{shown}");
    let listed =
        String::from_utf8_lossy(&w.run(&["--stall-after", "1s", "list"]).stdout).into_owned();
    assert!(listed.contains("stalled"), "{listed}");
    assert!(listed.contains("1 running (1 stalled)"), "{listed}");
    // With a longer threshold the same turn is just running.
    let patient =
        String::from_utf8_lossy(&w.run(&["--stall-after", "1h", "list"]).stdout).into_owned();
    assert!(!patient.contains("stalled"), "{patient}");
    assert_eq!(w.json(&["show", &id])["status"], "running");

    let out = w.run(&["kill", &id]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(w.json(&["show", &id])["status"], "killed");
}

#[test]
fn http_500_fails_with_the_error_message() {
    let w = Codex::new();
    let id = w.start("SCN_HTTP500 please fail");
    let (code, s) = w.wait_shown(&id);
    assert_eq!(code, 4, "wait exits 4 for a failed session: {s:#}");
    assert_eq!(s["status"], "failed");
    assert_eq!(s["ending"], "failed");
    assert_eq!(s["exit_code"], 1);
    // Codex words a 500 as a generic "high demand" error.
    let error = s["error"].as_str().unwrap();
    assert!(
        error.contains("high demand") || error.contains(HTTP500_MESSAGE),
        "{error}"
    );
    let traj = w.json(&["trajectory", &id]);
    assert!(!find_step(&traj, "error", 1).is_empty(), "{traj:#}");
}

#[test]
fn a_bad_flag_fails_with_codex_stderr() {
    // A wrapper that passes zwarm's argv plus a removed flag to the real codex:
    // codex exits 2 with a usage error and writes nothing on stdout.
    let w = Codex::new();
    let wrapper = w.work.path().join("codex-with-bad-flag");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\nexec '{}' \"$@\" --full-auto\n",
            agents::codex_bin().display()
        ),
    )
    .unwrap();
    set_executable(&wrapper);
    let out = w
        .cmd(&["start", "-C", w.work.path().to_str().unwrap(), "hi"])
        .env("ZWARM_CODEX_BIN", &wrapper)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let id = String::from_utf8(out.stdout).unwrap().trim().to_string();
    let (code, s) = w.wait_shown(&id);
    assert_eq!(code, 4);
    assert_eq!(s["status"], "failed");
    assert_eq!(s["exit_code"], 2);
    let error = s["error"].as_str().unwrap();
    assert!(error.contains("--full-auto"), "{error}");
}

/// Live processes whose session id is `sid`.
fn session_members(sid: i32) -> Vec<i32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            let Some((_, rest)) = stat.rsplit_once(')') else {
                return false;
            };
            let f: Vec<&str> = rest.split_whitespace().collect();
            f.first() != Some(&"Z") && f.get(3).and_then(|s| s.parse::<i32>().ok()) == Some(sid)
        })
        .collect()
}

/// pid, state, ppid, pgid, sid and command line of each process, for failure messages.
fn describe(pids: &[u32]) -> String {
    pids.iter()
        .map(|p| {
            let stat = std::fs::read_to_string(format!("/proc/{p}/stat")).unwrap_or_default();
            let cmd = std::fs::read(format!("/proc/{p}/cmdline")).unwrap_or_default();
            let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
            let fields: Vec<&str> = stat
                .rsplit_once(')')
                .map(|(_, r)| r.split_whitespace().take(4).collect())
                .unwrap_or_default();
            format!("\n  {p} {fields:?} {cmd}")
        })
        .collect()
}
