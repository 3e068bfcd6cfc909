//! The pinned `codex` CLI itself, run directly against the mock Responses
//! server: what it prints for each scenario the mock plays, so the mock
//! and the transcripts stay true to the real CLI. These fail, never skip,
//! without the CLI (`bash scripts/install-agents.sh`).

use crate::support::agent_runs::{self, of_type, wait_for_tool_sleep, wait_until_gone, RunOutput};
use crate::support::agents::{self, AgentEnv};
use crate::support::mock_responses;
use serde_json::Value;
use std::path::Path;
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(60);

fn codex(env: &AgentEnv, cwd: &Path, args: &[&str]) -> RunOutput {
    let mut cmd = agent_runs::agent_command(&agents::codex_bin(), cwd, env);
    cmd.args(args);
    let out = agent_runs::run_with_timeout(cmd, TIMEOUT);
    eprintln!("codex {args:?}\n{}", out.describe());
    out
}

const CODEX_EXEC: &[&str] = &[
    "exec",
    "--json",
    "--skip-git-repo-check",
    "--dangerously-bypass-approvals-and-sandbox",
];

fn codex_args<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut v: Vec<&str> = CODEX_EXEC.to_vec();
    v.extend_from_slice(extra);
    v
}

#[test]
fn codex_exec_completes_against_mock() {
    let mock = mock_responses::MockServer::start();
    let env = agents::codex_env(mock.port());
    let work = agents::work_dir();
    let out = codex(&env, work.path(), &codex_args(&["--", "hi"]));
    assert_eq!(out.code(), Some(0), "{}", out.describe());
    let lines = out.json_lines();
    assert_eq!(lines[0]["type"], "thread.started", "{}", out.describe());
    assert!(out.stdout.contains("turn.completed"), "{}", out.describe());
    let cmd = lines
        .iter()
        .find(|l| l["type"] == "item.completed" && l["item"]["type"] == "command_execution")
        .unwrap_or_else(|| panic!("no command_execution item\n{}", out.describe()));
    assert_eq!(cmd["item"]["aggregated_output"], "hello-from-mock\n");
    assert_eq!(cmd["item"]["exit_code"], 0);
    let done = of_type(&lines, "turn.completed");
    assert_eq!(done[0]["usage"]["input_tokens"], 200);
    assert_eq!(done[0]["usage"]["cached_input_tokens"], 40);
    assert_eq!(done[0]["usage"]["output_tokens"], 14);
    let reqs = mock.model_requests();
    assert_eq!(reqs.len(), 2, "{:?}", mock.requests());
    assert!(mock_responses::function_call_outputs(&reqs[1].body)[0].contains("hello-from-mock"));
}

fn thread_id(out: &RunOutput) -> String {
    let lines = out.json_lines();
    of_type(&lines, "thread.started")
        .first()
        .and_then(|l| l["thread_id"].as_str())
        .unwrap_or_else(|| panic!("no thread.started\n{}", out.describe()))
        .to_string()
}

fn command_items(out: &RunOutput) -> Vec<Value> {
    out.json_lines()
        .into_iter()
        .filter(|l| l["type"] == "item.completed" && l["item"]["type"] == "command_execution")
        .map(|l| l["item"].clone())
        .collect()
}

#[test]
fn codex_resume_keeps_thread_and_history() {
    let mock = mock_responses::MockServer::start();
    let env = agents::codex_env(mock.port());
    let work = agents::work_dir();
    let first = codex(&env, work.path(), &codex_args(&["--", "hi"]));
    assert_eq!(first.code(), Some(0), "{}", first.describe());
    let id = thread_id(&first);
    assert_eq!(mock.model_requests().len(), 2);

    // Flags before `resume`, the bypass flag after it is accepted too.
    let second = codex(
        &env,
        work.path(),
        &codex_args(&["resume", &id, "--", "second"]),
    );
    assert_eq!(second.code(), Some(0), "{}", second.describe());
    assert_eq!(thread_id(&second), id, "resume keeps the thread id");
    assert!(
        second.stdout.contains("turn.completed"),
        "{}",
        second.describe()
    );
    let reqs = mock.model_requests();
    assert_eq!(reqs.len(), 4, "second turn: a shell call, then the answer");
    let resumed = &reqs[2].body;
    assert_eq!(mock_responses::last_user_text(resumed), "second");
    let outputs = mock_responses::function_call_outputs(resumed);
    assert_eq!(outputs.len(), 1, "history carries turn 1's tool output");
    assert!(outputs[0].contains("hello-from-mock"), "{outputs:?}");
    // Usage is cumulative for the thread: 4 requests of 100.
    let done = of_type(&second.json_lines(), "turn.completed")[0].clone();
    assert_eq!(done["usage"]["input_tokens"], 400);
}

/// `-s workspace-write` (the sandbox, not the bypass) as root in this
/// container: commands run, writes inside the working directory succeed,
/// writes elsewhere fail with EROFS. `-s`/`-C` go BEFORE
/// `resume`; after it they are a usage error (exit 2).
#[test]
fn codex_workspace_write_sandbox_and_resume_flag_placement() {
    let mock = mock_responses::MockServer::start();
    let env = agents::codex_env(mock.port());
    let work = agents::work_dir();
    let elsewhere = agents::target_tempdir("sandbox-outside-");
    let dir = work.path().to_str().unwrap();
    let probe = format!(
        "SCN_CMD touch inside.txt && echo inside-ok; touch {}/outside.txt || echo outside-denied",
        elsewhere.path().display()
    );
    // workspace-write also lets commands write to /tmp and $TMPDIR; turn
    // that off so "elsewhere" is outside the sandbox wherever the checkout
    // lives (a clone under /tmp would otherwise be writable).
    let sandboxed = [
        "exec",
        "--json",
        "--skip-git-repo-check",
        "-c",
        "sandbox_workspace_write.exclude_slash_tmp=true",
        "-c",
        "sandbox_workspace_write.exclude_tmpdir_env_var=true",
        "-s",
        "workspace-write",
        "-C",
        dir,
    ];
    let mut args = sandboxed.to_vec();
    args.extend(["--", probe.as_str()]);
    let first = codex(&env, work.path(), &args);
    assert_eq!(first.code(), Some(0), "{}", first.describe());
    let cmds = command_items(&first);
    assert_eq!(cmds.len(), 1, "{}", first.describe());
    let output = cmds[0]["aggregated_output"].as_str().unwrap();
    assert!(output.contains("inside-ok"), "{output}");
    assert!(output.contains("outside-denied"), "{output}");
    assert!(work.path().join("inside.txt").exists());
    assert!(!elsewhere.path().join("outside.txt").exists());

    let id = thread_id(&first);
    let mut args = sandboxed.to_vec();
    args.extend([
        "resume",
        &id,
        "--",
        "SCN_CMD touch resumed.txt && echo resumed-ok",
    ]);
    let second = codex(&env, work.path(), &args);
    assert_eq!(second.code(), Some(0), "{}", second.describe());
    assert_eq!(thread_id(&second), id);
    assert!(
        work.path().join("resumed.txt").exists(),
        "{}",
        second.describe()
    );

    let wrong = codex(
        &env,
        work.path(),
        &[
            "exec",
            "--json",
            "resume",
            "-s",
            "workspace-write",
            &id,
            "--",
            "x",
        ],
    );
    assert_eq!(wrong.code(), Some(2), "{}", wrong.describe());
    assert!(
        wrong.stderr.contains("unexpected argument '-s'"),
        "{}",
        wrong.describe()
    );
}

#[test]
fn codex_http500_fails_the_turn() {
    let mock = mock_responses::MockServer::start();
    let env = agents::codex_env(mock.port());
    let work = agents::work_dir();
    let out = codex(
        &env,
        work.path(),
        &codex_args(&["--", "SCN_HTTP500 please"]),
    );
    assert_eq!(out.code(), Some(1), "{}", out.describe());
    let lines = out.json_lines();
    assert!(of_type(&lines, "turn.completed").is_empty());
    let failed = of_type(&lines, "turn.failed");
    assert_eq!(failed.len(), 1, "{}", out.describe());
    assert_eq!(mock.model_requests().len(), 1, "no retries");
}

#[test]
fn codex_http400_and_say() {
    let mock = mock_responses::MockServer::start();
    let env = agents::codex_env(mock.port());
    let work = agents::work_dir();
    let out = codex(&env, work.path(), &codex_args(&["--", "SCN_HTTP400"]));
    assert_eq!(out.code(), Some(1), "{}", out.describe());
    let lines = out.json_lines();
    let failed = of_type(&lines, "turn.failed");
    let msg = failed[0]["error"]["message"].as_str().unwrap_or("");
    assert!(msg.contains(mock_responses::HTTP400_MESSAGE), "{msg}");

    let out = codex(
        &env,
        work.path(),
        &codex_args(&["--", "first line\nSCN_SAY exactly this, please\nnot this"]),
    );
    assert_eq!(out.code(), Some(0), "{}", out.describe());
    let lines = out.json_lines();
    let msgs: Vec<_> = lines
        .iter()
        .filter(|l| l["item"]["type"] == "agent_message")
        .collect();
    assert_eq!(msgs.len(), 1, "{}", out.describe());
    assert_eq!(msgs[0]["item"]["text"], "exactly this, please");
    assert!(command_items(&out).is_empty());
}

/// SCN_SLOW keeps a codex turn running (the mock polls the yielded command
/// with `write_stdin`); SIGTERM to the group ends it with no terminal event
/// and nothing left running.
#[test]
fn codex_slow_turn_keeps_running_until_killed() {
    let mock = mock_responses::MockServer::start();
    let env = agents::codex_env(mock.port());
    let work = agents::work_dir();
    let mut cmd = agent_runs::agent_command(&agents::codex_bin(), work.path(), &env);
    cmd.args(codex_args(&["--", "SCN_SLOW"]));
    let mut run = agent_runs::spawn_agent(cmd);
    let home = env.var("CODEX_HOME").unwrap().to_string();
    wait_for_tool_sleep("CODEX_HOME", &home, &mut run);
    std::thread::sleep(Duration::from_secs(1));
    assert!(run.is_running());
    let out = run.kill(libc::SIGTERM);
    eprintln!("codex SCN_SLOW + SIGTERM\n{}", out.describe());
    assert!(!out.stdout.contains("turn.completed"), "{}", out.describe());
    assert!(!out.stdout.contains("turn.failed"), "{}", out.describe());
    assert!(out.stdout.contains("seq 1 60"), "{}", out.describe());
    wait_until_gone("CODEX_HOME", &home);
}
