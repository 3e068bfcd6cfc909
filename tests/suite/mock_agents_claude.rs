//! The pinned `claude` CLI itself, run directly against the mock Messages
//! server: what it prints for each scenario the mock plays. These fail,
//! never skip, without the CLI (`bash scripts/install-agents.sh`).

use crate::support::agent_runs::{self, of_type, wait_for_tool_sleep, wait_until_gone, RunOutput};
use crate::support::agents::{self, AgentEnv};
use crate::support::mock_messages;
use serde_json::Value;
use std::path::Path;
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(60);

fn claude(env: &AgentEnv, cwd: &Path, args: &[&str]) -> RunOutput {
    let mut cmd = agent_runs::agent_command(&agents::claude_bin(), cwd, env);
    cmd.args(args);
    let out = agent_runs::run_with_timeout(cmd, TIMEOUT);
    eprintln!("claude {args:?}\n{}", out.describe());
    out
}

const CLAUDE_PRINT: &[&str] = &[
    "-p",
    "--output-format",
    "stream-json",
    "--verbose",
    "--dangerously-skip-permissions",
];

fn claude_args<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut v: Vec<&str> = CLAUDE_PRINT.to_vec();
    v.extend_from_slice(extra);
    v
}

fn result_line(out: &RunOutput) -> Value {
    let lines = out.json_lines();
    let results = of_type(&lines, "result");
    assert_eq!(results.len(), 1, "one result line\n{}", out.describe());
    results[0].clone()
}

#[test]
fn claude_print_and_resume_against_mock() {
    let mock = mock_messages::MockServer::start();
    let env = agents::claude_env(mock.port());
    let work = agents::work_dir();
    let sid = uuid::Uuid::new_v4().to_string();
    let out = claude(
        &env,
        work.path(),
        &claude_args(&["--session-id", &sid, "--", "hi"]),
    );
    assert_eq!(out.code(), Some(0), "{}", out.describe());
    let lines = out.json_lines();
    assert_eq!(lines[0]["type"], "system");
    assert_eq!(lines[0]["subtype"], "init");
    assert_eq!(lines[0]["session_id"], sid.as_str());
    let result = result_line(&out);
    assert_eq!(result["subtype"], "success");
    assert_eq!(result["is_error"], false);
    assert_eq!(result["session_id"], sid.as_str());
    assert_eq!(result["result"], "done: hello-from-mock");
    assert_eq!(result["num_turns"], 2);
    assert_eq!(result["usage"]["input_tokens"], 100);
    assert_eq!(result["usage"]["output_tokens"], 18);
    assert_eq!(result["usage"]["cache_creation_input_tokens"], 10);
    assert_eq!(result["usage"]["cache_read_input_tokens"], 14);
    let tool_result = lines
        .iter()
        .filter(|l| l["type"] == "user")
        .flat_map(|l| {
            l["message"]["content"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .find(|b| b["type"] == "tool_result")
        .unwrap_or_else(|| panic!("no tool_result\n{}", out.describe()));
    assert_eq!(tool_result["content"], "hello-from-mock");
    assert_eq!(mock.model_requests().len(), 2);

    let again = claude(
        &env,
        work.path(),
        &claude_args(&["--resume", &sid, "--", "again"]),
    );
    assert_eq!(again.code(), Some(0), "{}", again.describe());
    let result = result_line(&again);
    assert_eq!(result["subtype"], "success");
    assert_eq!(result["is_error"], false);
    assert_eq!(
        result["session_id"],
        sid.as_str(),
        "resume keeps the session id"
    );
    let reqs = mock.model_requests();
    assert_eq!(reqs.len(), 4);
    let resumed = &reqs[2].body;
    assert!(mock_messages::last_user_text(resumed).ends_with("again"));
    let history = mock_messages::tool_results(resumed);
    assert_eq!(history, vec!["hello-from-mock".to_string()]);
}

#[test]
fn claude_http400_is_an_error_result() {
    let mock = mock_messages::MockServer::start();
    let env = agents::claude_env(mock.port());
    let work = agents::work_dir();
    let out = claude(&env, work.path(), &claude_args(&["--", "SCN_HTTP400"]));
    assert_eq!(out.code(), Some(1), "{}", out.describe());
    let result = result_line(&out);
    assert_eq!(result["is_error"], true);
    assert_eq!(result["api_error_status"], 400);
    let text = result["result"].as_str().unwrap_or("");
    assert!(text.contains(mock_messages::HTTP400_MESSAGE), "{text}");
}

/// With `CLAUDE_CODE_MAX_RETRIES=0` (set by `claude_env`) a 500 fails at once.
#[test]
fn claude_http500_fails_fast_and_say_works() {
    let mock = mock_messages::MockServer::start();
    let env = agents::claude_env(mock.port());
    let work = agents::work_dir();
    let out = claude(&env, work.path(), &claude_args(&["--", "SCN_HTTP500"]));
    assert_eq!(out.code(), Some(1), "{}", out.describe());
    let result = result_line(&out);
    assert_eq!(result["is_error"], true);
    assert_eq!(result["api_error_status"], 500);
    assert!(out.elapsed < Duration::from_secs(15), "{:?}", out.elapsed);

    let out = claude(
        &env,
        work.path(),
        &claude_args(&["--", "SCN_SAY just words"]),
    );
    assert_eq!(out.code(), Some(0), "{}", out.describe());
    assert_eq!(result_line(&out)["result"], "just words");
}

/// Same for claude: the Bash tool runs the loop in the foreground.
#[test]
fn claude_slow_turn_keeps_running_until_killed() {
    let mock = mock_messages::MockServer::start();
    let env = agents::claude_env(mock.port());
    let work = agents::work_dir();
    let mut cmd = agent_runs::agent_command(&agents::claude_bin(), work.path(), &env);
    cmd.args(claude_args(&["--", "SCN_SLOW"]));
    let mut run = agent_runs::spawn_agent(cmd);
    let dir = env.var("CLAUDE_CONFIG_DIR").unwrap().to_string();
    wait_for_tool_sleep("CLAUDE_CONFIG_DIR", &dir, &mut run);
    std::thread::sleep(Duration::from_secs(1));
    assert!(run.is_running());
    let out = run.kill(libc::SIGTERM);
    eprintln!("claude SCN_SLOW + SIGTERM\n{}", out.describe());
    assert!(
        out.json_lines().iter().all(|l| l["type"] != "result"),
        "{}",
        out.describe()
    );
    assert!(out.stdout.contains("seq 1 60"), "{}", out.describe());
    wait_until_gone("CLAUDE_CONFIG_DIR", &dir);
}
