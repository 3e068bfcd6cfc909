//! The pinned `gemini` CLI itself, run directly against the mock Gemini
//! API: the facts docs/agents.md tells of it (SIGTERM, stdin, a resume that
//! finds nothing). These fail, never skip, without the CLI (`bash
//! scripts/install-agents.sh`).

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

/// Without `--prompt`, a stdin that is not a terminal is the prompt, whole;
/// a resume of a conversation gemini does not have fails before any output.
#[test]
fn the_prompt_on_stdin_and_a_resume_that_finds_nothing() {
    let mock = MockServer::start();
    let env = agents::gemini_env(mock.port());
    let work = agents::work_dir();
    let prompt = format!("SCN_SAY from stdin\n{}\n", "y".repeat(200 * 1024));
    let file = work.path().join("prompt.txt");
    std::fs::write(&file, &prompt).unwrap();
    let mut cmd = gemini(&env, work.path(), &[]);
    cmd.stdin(std::fs::File::open(&file).unwrap());
    let out = run(cmd);
    assert_eq!(out.code(), Some(0));
    let results = of_type(&out.json_lines(), "result").len();
    assert_eq!(results, 1);
    let requests = mock.model_requests();
    let asked = mock_gemini::last_user_text(&requests.last().unwrap().body);
    assert!(asked.ends_with(&prompt), "{} bytes", asked.len());

    let missing = uuid::Uuid::new_v4().to_string();
    let out = run(gemini(
        &env,
        work.path(),
        &[&format!("--resume={missing}"), "--prompt=hi"],
    ));
    assert_eq!(out.code(), Some(42));
    assert!(out.stdout.is_empty(), "{}", out.describe());
    assert!(
        out.stderr.contains("Invalid session identifier") && out.stderr.contains(missing.as_str()),
        "{}",
        out.describe()
    );
}
