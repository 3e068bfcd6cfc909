//! The argv the adapters build, run by the REAL agent CLIs against the mock
//! model servers: first and resumed turns, with the prompt as an argument
//! and on stdin (a regular file holding a prompt longer than one argument
//! may be). These tests fail when the CLIs are missing: run
//! `bash scripts/install-agents.sh`.

mod support;

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;
use support::agents::{self, AgentEnv, RunOutput};
use support::{mock_messages, mock_responses};
use zwarm::agent::{AgentKind, PromptVia, TurnSpec, PROMPT_ARG_MAX};

const TIMEOUT: Duration = Duration::from_secs(90);

/// A prompt of about 200 KiB, past the kernel's 128 KiB for one argument,
/// that makes either mock answer `reply` without a tool call. Its first and
/// last lines are distinct, so a cut shows.
fn long_prompt(reply: &str) -> String {
    let mut p = format!("SCN_SAY {reply}\n");
    let mut n = 0;
    while p.len() < 200 * 1024 {
        p.push_str(&format!(
            "filler line {n:06}: the prompt must arrive whole\n"
        ));
        n += 1;
    }
    p.push_str("last line of the long prompt");
    assert!(p.len() > 128 * 1024 && p.len() > PROMPT_ARG_MAX);
    p
}

/// Runs `kind`'s CLI with the argv its adapter builds for one turn, the
/// prompt on stdin from a regular file when `spec.prompt_via` says so.
fn run(kind: AgentKind, env: &AgentEnv, work: &Path, spec: &TurnSpec) -> RunOutput {
    let agent = kind.adapter();
    let program = match kind {
        AgentKind::Codex => agents::codex_bin(),
        AgentKind::Claude => agents::claude_bin(),
    };
    let args = agent.args(spec);
    let mut cmd = agents::agent_command(&program, work, env);
    cmd.args(&args);
    let _prompt_file;
    if spec.prompt_via == PromptVia::Stdin {
        let file = tempfile::NamedTempFile::new().expect("a prompt file");
        std::fs::write(file.path(), spec.prompt).expect("write the prompt");
        cmd.stdin(Stdio::from(
            std::fs::File::open(file.path()).expect("open the prompt"),
        ));
        _prompt_file = file;
    }
    let out = agents::run_with_timeout(cmd, TIMEOUT);
    eprintln!(
        "{} {:?} (prompt of {} bytes via {:?})\n{}",
        agent.program(),
        args.iter()
            .map(|a| a.to_string_lossy().chars().take(60).collect::<String>())
            .collect::<Vec<_>>(),
        spec.prompt.len(),
        spec.prompt_via,
        out.describe()
    );
    out
}

fn spec<'a>(
    prompt: &'a str,
    work: &'a Path,
    resume: Option<&'a str>,
    session_id: &'a str,
) -> TurnSpec<'a> {
    TurnSpec {
        prompt,
        prompt_via: PromptVia::for_prompt(prompt),
        model: Some("mock-model"),
        sandbox: Some("workspace-write"),
        working_dir: work,
        resume,
        session_id,
    }
}

fn first_of<'a>(lines: &'a [serde_json::Value], key: &str) -> &'a str {
    lines
        .iter()
        .find_map(|l| l[key].as_str())
        .unwrap_or_else(|| panic!("no {key} in {lines:?}"))
}

fn completed(out: &RunOutput, terminal: &str, reply: &str) {
    assert_eq!(out.code(), Some(0), "{}", out.describe());
    assert!(out.stdout.contains(terminal), "{}", out.describe());
    assert!(out.stdout.contains(reply), "{}", out.describe());
}

#[test]
fn codex_takes_a_long_prompt_on_stdin_in_first_and_resumed_turns() {
    let mock = mock_responses::MockServer::start();
    let env = agents::codex_env(mock.port());
    let work = agents::work_dir();
    let dir = work.path();

    let prompt = long_prompt("codex-long-1");
    let first = spec(&prompt, dir, None, "");
    assert_eq!(first.prompt_via, PromptVia::Stdin);
    let out = run(AgentKind::Codex, &env, dir, &first);
    completed(&out, "turn.completed", "codex-long-1");
    assert!(!out.stderr.contains("Reading"), "{}", out.stderr);
    let thread = first_of(&out.json_lines(), "thread_id").to_string();
    assert!(AgentKind::Codex.adapter().valid_conversation_id(&thread));
    let reqs = mock.model_requests();
    assert_eq!(mock_responses::last_user_text(&reqs[0].body), prompt);

    let prompt = long_prompt("codex-long-2");
    let out = run(
        AgentKind::Codex,
        &env,
        dir,
        &spec(&prompt, dir, Some(&thread), ""),
    );
    completed(&out, "turn.completed", "codex-long-2");
    assert_eq!(first_of(&out.json_lines(), "thread_id"), thread);
    let reqs = mock.model_requests();
    assert_eq!(reqs.len(), 2);
    assert_eq!(mock_responses::last_user_text(&reqs[1].body), prompt);

    // A short prompt, which starts with a dash, as the argument.
    let short = "-SCN_SAY codex-short";
    let third = spec(short, dir, Some(&thread), "");
    assert_eq!(third.prompt_via, PromptVia::Argument);
    let out = run(AgentKind::Codex, &env, dir, &third);
    completed(&out, "turn.completed", "codex-short");
    assert_eq!(first_of(&out.json_lines(), "thread_id"), thread);
    let reqs = mock.model_requests();
    assert_eq!(mock_responses::last_user_text(&reqs[2].body), short);
}

#[test]
fn claude_takes_a_long_prompt_on_stdin_in_first_and_resumed_turns() {
    let mock = mock_messages::MockServer::start();
    let env = agents::claude_env(mock.port());
    let work = agents::work_dir();
    let dir = work.path();
    let pinned = uuid::Uuid::new_v4().to_string();

    let prompt = long_prompt("claude-long-1");
    let first = spec(&prompt, dir, None, &pinned);
    assert_eq!(first.prompt_via, PromptVia::Stdin);
    let out = run(AgentKind::Claude, &env, dir, &first);
    completed(&out, "\"result\"", "claude-long-1");
    assert_eq!(first_of(&out.json_lines(), "session_id"), pinned);
    let reqs = mock.model_requests();
    let seen = mock_messages::last_user_text(&reqs[0].body);
    assert!(seen.contains(&prompt), "{} bytes seen", seen.len());

    let prompt = long_prompt("claude-long-2");
    let out = run(
        AgentKind::Claude,
        &env,
        dir,
        &spec(&prompt, dir, Some(&pinned), "unused"),
    );
    completed(&out, "\"result\"", "claude-long-2");
    assert_eq!(first_of(&out.json_lines(), "session_id"), pinned);
    let reqs = mock.model_requests();
    assert_eq!(reqs.len(), 2);
    let seen = mock_messages::last_user_text(&reqs[1].body);
    assert!(seen.contains(&prompt), "{} bytes seen", seen.len());

    // A short prompt, which starts with a dash, as the argument.
    let short = "-SCN_SAY claude-short";
    let third = spec(short, dir, Some(&pinned), "unused");
    assert_eq!(third.prompt_via, PromptVia::Argument);
    let out = run(AgentKind::Claude, &env, dir, &third);
    completed(&out, "\"result\"", "claude-short");
    let reqs = mock.model_requests();
    assert!(mock_messages::last_user_text(&reqs[2].body).contains(short));
}
