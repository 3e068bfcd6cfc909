//! The pinned `gemini` CLI itself, run directly against the mock Gemini
//! API: the facts docs/agents.md tells of it (SIGTERM, a resume that finds
//! nothing; `agent_argv.rs` has the prompt on stdin). These fail, never
//! skip, without the CLI (`bash scripts/install-agents.sh`).

use crate::support::agent_runs::{self, of_type, RunOutput};
use crate::support::agents::{self, AgentEnv};
use crate::support::mock_gemini::{self, MockServer};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(60);

fn gemini(env: &AgentEnv, cwd: &Path, args: &[&str]) -> Command {
    let mut cmd = agent_runs::agent_command(&agents::gemini_bin(), cwd, env);
    cmd.args([
        "--output-format=stream-json",
        "--model=gemini-2.5-flash",
        "--approval-mode=yolo",
    ]);
    cmd.args(args);
    cmd
}

fn run(cmd: Command) -> RunOutput {
    let out = agent_runs::run_with_timeout(cmd, TIMEOUT);
    eprintln!("{}", out.describe());
    out
}

/// SIGTERM ends gemini at once, exit 0, without a `result` line: only the
/// missing line tells the turn did not finish. The shell command it was
/// running has a session of its own and outlives it.
#[test]
fn sigterm_exits_0_without_a_result_and_the_command_outlives_it() {
    let mock = MockServer::start();
    let env = agents::gemini_env(mock.port());
    let home = env.var("GEMINI_CLI_HOME").unwrap().to_string();
    let work = agents::work_dir();
    let mut spawned = agent_runs::spawn_agent(gemini(&env, work.path(), &["--prompt=SCN_SLOW"]));
    agent_runs::wait_for_tool_sleep("GEMINI_CLI_HOME", &home, &mut spawned);
    let out = spawned.kill(libc::SIGTERM);
    assert_eq!(out.code(), Some(0), "{}", out.describe());
    let lines = out.json_lines();
    assert!(of_type(&lines, "result").is_empty(), "{}", out.describe());
    assert_eq!(lines.last().unwrap()["type"], "tool_use");
    assert_eq!(
        lines.last().unwrap()["parameters"]["command"],
        mock_gemini::SLOW_COMMAND
    );
    let left = agent_runs::processes_with_env("GEMINI_CLI_HOME", &home);
    assert!(
        !left.is_empty(),
        "the command was expected to outlive gemini"
    );
    for pid in left {
        // SAFETY: plain kill(2) of a process this test's agent started.
        unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
    }
    agent_runs::wait_until_gone("GEMINI_CLI_HOME", &home);
}

/// A resume of a conversation gemini does not have fails before any
/// output, with exit code 42.
#[test]
fn a_resume_that_finds_nothing_exits_42_with_nothing_on_stdout() {
    let mock = MockServer::start();
    let env = agents::gemini_env(mock.port());
    let work = agents::work_dir();
    let missing = uuid::Uuid::new_v4().to_string();
    let out = run(gemini(
        &env,
        work.path(),
        &[&format!("--resume={missing}"), "--prompt=hi"],
    ));
    assert_eq!(out.code(), Some(42));
    assert!(out.stdout.is_empty(), "{}", out.describe());
    // In a folder with no conversation yet: "No previous sessions found for
    // this project."; with others: "Invalid session identifier <id>".
    assert!(
        out.stderr.contains("Error resuming session: "),
        "{}",
        out.describe()
    );
    assert!(mock.model_requests().is_empty());
}
