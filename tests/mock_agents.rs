//! Proves the mock model servers in `tests/support/` are accepted by the
//! REAL agent CLIs (run directly, not through zwarm). These tests fail when
//! the CLIs are missing: run `bash scripts/install-agents.sh`.

mod support;

use serde_json::{json, Value};
use std::path::Path;
use std::time::Duration;
use support::agents::{self, AgentEnv, RunOutput};
use support::{mock_messages, mock_responses};

const TIMEOUT: Duration = Duration::from_secs(60);

fn codex(env: &AgentEnv, cwd: &Path, args: &[&str]) -> RunOutput {
    let mut cmd = agents::agent_command(&agents::codex_bin(), cwd, env);
    cmd.args(args);
    let out = agents::run_with_timeout(cmd, TIMEOUT);
    eprintln!("codex {args:?}\n{}", out.describe());
    out
}

fn claude(env: &AgentEnv, cwd: &Path, args: &[&str]) -> RunOutput {
    let mut cmd = agents::agent_command(&agents::claude_bin(), cwd, env);
    cmd.args(args);
    let out = agents::run_with_timeout(cmd, TIMEOUT);
    eprintln!("claude {args:?}\n{}", out.describe());
    out
}

fn of_type<'a>(lines: &'a [Value], t: &str) -> Vec<&'a Value> {
    lines.iter().filter(|l| l["type"] == t).collect()
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

// ---- the mocks' own logic, without the CLIs ----

fn sse_items(resp: &support::http::HttpResponse) -> Vec<Value> {
    String::from_utf8_lossy(&resp.body)
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .filter_map(|d| serde_json::from_str::<Value>(d).ok())
        .collect()
}

#[test]
fn responses_mock_picks_the_offered_shell_tool() {
    let user = |text: &str| json!({"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]});
    let slow = mock_responses::SLOW_COMMAND;
    for (tool, key, expect) in [
        ("exec_command", "cmd", json!(slow)),
        ("shell_command", "command", json!(slow)),
        ("shell", "command", json!(["bash", "-lc", slow])),
    ] {
        let body =
            json!({"tools": [{"type": "function", "name": tool}], "input": [user("SCN_SLOW")]});
        let events = sse_items(&mock_responses::respond(&body));
        let item = &events[1]["item"];
        assert_eq!(item["type"], "function_call");
        assert_eq!(item["name"], tool);
        let args: Value = serde_json::from_str(item["arguments"].as_str().unwrap()).unwrap();
        assert_eq!(args[key], expect);
        assert_eq!(events[2]["response"]["usage"]["input_tokens"], 100);
    }
    let body = json!({"input": [user("x"), {"type": "function_call_output", "call_id": "c", "output": "out\n"}]});
    let events = sse_items(&mock_responses::respond(&body));
    assert_eq!(events[1]["item"]["content"][0]["text"], "done: out");
    // A command still running after exec_command yielded is polled again.
    let running = "Chunk ID: 1\nWall time: 30.0 seconds\nProcess running with session ID 4242\nOutput:\ntick 1\n";
    let body = json!({"tools": [{"name": "exec_command"}, {"name": "write_stdin"}],
                      "input": [user("SCN_SLOW"), {"type": "function_call_output", "call_id": "c", "output": running}]});
    let events = sse_items(&mock_responses::respond(&body));
    assert_eq!(events[1]["item"]["name"], "write_stdin");
    let args: Value =
        serde_json::from_str(events[1]["item"]["arguments"].as_str().unwrap()).unwrap();
    assert_eq!(args["session_id"], 4242);
}

#[test]
fn messages_mock_non_streaming_and_tool_result() {
    let body = json!({"model": "m", "tools": [{"name": "Bash"}], "messages": [
        {"role": "user", "content": "hi"}]});
    let resp = mock_messages::respond(&body);
    let msg: Value = serde_json::from_slice(&resp.body).unwrap();
    assert_eq!(msg["content"][0]["type"], "tool_use");
    assert_eq!(
        msg["content"][0]["input"]["command"],
        "echo hello-from-mock"
    );
    assert_eq!(msg["stop_reason"], "tool_use");
    let body = json!({"model": "m", "stream": true, "messages": [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "t", "name": "Bash", "input": {}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t", "content": [{"type": "text", "text": "out"}]}]}]});
    let events = sse_items(&mock_messages::respond(&body));
    assert_eq!(events[2]["delta"]["text"], "done: out");
    assert_eq!(events[4]["delta"]["stop_reason"], "end_turn");
    // A request without tools (a side request) never gets a tool call.
    let body = json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]});
    let msg: Value = serde_json::from_slice(&mock_messages::respond(&body).body).unwrap();
    assert_eq!(msg["content"][0]["type"], "text");
}

#[test]
fn mock_server_reads_chunked_bodies_and_answers_models() {
    use std::io::{Read, Write};
    let mock = mock_responses::MockServer::start();
    let mut s = std::net::TcpStream::connect(("127.0.0.1", mock.port())).unwrap();
    let body =
        r#"{"input":[{"type":"message","role":"user","content":"SCN_SAY chunked"}],"tools":[]}"#;
    let (a, b) = body.split_at(10);
    write!(
        s,
        "POST /v1/responses HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n{a}\r\n{:x}\r\n{b}\r\n0\r\n\r\n",
        a.len(),
        b.len()
    )
    .unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
    assert!(resp.contains("\"text\":\"chunked\""), "{resp}");
    let reqs = mock.requests();
    assert_eq!(reqs[0].body["tools"], json!([]));

    let mut s = std::net::TcpStream::connect(("127.0.0.1", mock.port())).unwrap();
    write!(s, "GET /v1/models HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    assert!(resp.ends_with(r#"{"data":[],"models":[]}"#), "{resp}");
    // A client that connects and stays silent must not hang the drop.
    let _idle = std::net::TcpStream::connect(("127.0.0.1", mock.port())).unwrap();
    let t = std::time::Instant::now();
    drop(mock);
    assert!(t.elapsed() < Duration::from_secs(2));
}

#[test]
fn missing_cli_panics_with_the_install_hint() {
    let empty = agents::target_tempdir("no-agents-");
    let err =
        std::panic::catch_unwind(|| agents::locate_in(empty.path(), "codex", "@openai/codex"))
            .expect_err("a missing CLI must panic");
    let msg = err.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(msg.contains("run scripts/install-agents.sh"), "{msg}");
}

/// Waits until a `sleep` runs with `name=value` in its environment, i.e.
/// the agent is executing the SCN_SLOW loop.
fn wait_for_tool_sleep(name: &str, value: &str, spawned: &mut agents::Spawned) {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let sleeping = agents::processes_with_env(name, value)
            .into_iter()
            .any(|pid| {
                std::fs::read_to_string(format!("/proc/{pid}/comm"))
                    .is_ok_and(|c| c.trim() == "sleep")
            });
        if sleeping {
            return;
        }
        assert!(
            spawned.is_running(),
            "the agent exited before running the slow command"
        );
        assert!(
            std::time::Instant::now() < deadline,
            "the slow command never started"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn wait_until_gone(name: &str, value: &str) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let left = agents::processes_with_env(name, value);
        if left.is_empty() {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "processes left behind: {left:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// SCN_SLOW keeps a codex turn running (the mock polls the yielded command
/// with `write_stdin`); SIGTERM to the group ends it with no terminal event
/// and nothing left running.
#[test]
fn codex_slow_turn_keeps_running_until_killed() {
    let mock = mock_responses::MockServer::start();
    let env = agents::codex_env(mock.port());
    let work = agents::work_dir();
    let mut cmd = agents::agent_command(&agents::codex_bin(), work.path(), &env);
    cmd.args(codex_args(&["--", "SCN_SLOW"]));
    let mut run = agents::spawn_agent(cmd);
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

/// Same for claude: the Bash tool runs the loop in the foreground.
#[test]
fn claude_slow_turn_keeps_running_until_killed() {
    let mock = mock_messages::MockServer::start();
    let env = agents::claude_env(mock.port());
    let work = agents::work_dir();
    let mut cmd = agents::agent_command(&agents::claude_bin(), work.path(), &env);
    cmd.args(claude_args(&["--", "SCN_SLOW"]));
    let mut run = agents::spawn_agent(cmd);
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
