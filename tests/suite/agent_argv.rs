//! The argv zwarm builds for each agent, run by the REAL agent CLIs against
//! the mock model servers: first and resumed turns, with a prompt past what
//! one argument may hold (it goes on stdin) and a short one that starts
//! with a dash (an argument). The fake agent records each turn on its way
//! to the real CLI. These fail when the CLIs are missing: run
//! `bash scripts/install-agents.sh`.

use crate::support::e2e;
use crate::support::world::World;
use crate::support::{mock_gemini, mock_messages, mock_responses};
use serde_json::Value;

/// What an agent's stdin is when zwarm hands it the prompt.
const PROMPT_FILE: &str = "/memfd:zwarm-prompt (deleted)";

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
    assert!(p.len() > 128 * 1024);
    p
}

/// `prompt` as the words of a command line, none of them long: zwarm joins
/// them with spaces into the prompt again.
fn words(prompt: &str) -> Vec<&str> {
    prompt.split(' ').collect()
}

/// `zwarm start -a <adapter> -m mock-model -s workspace-write -- prompt`:
/// the id, once the turn has ended.
fn start(w: &World, adapter: &str, prompt: &str) -> String {
    let mut args = vec![
        "-a",
        adapter,
        "-m",
        "mock-model",
        "-s",
        "workspace-write",
        "--",
    ];
    args.extend(words(prompt));
    let id = w.start(&args);
    let (code, shown) = w.wait_shown(&id);
    assert_eq!(code, 0, "{shown:#}");
    id
}

/// `zwarm inject <id> -- prompt`, once the turn has ended.
fn inject(w: &World, id: &str, prompt: &str) {
    let mut args = vec!["inject", id, "--"];
    args.extend(words(prompt));
    w.ok(&args);
    let (code, shown) = w.wait_shown(id);
    assert_eq!(code, 0, "{shown:#}");
}

fn first_of<'a>(lines: &'a [Value], key: &str) -> &'a str {
    lines
        .iter()
        .find_map(|l| l[key].as_str())
        .unwrap_or_else(|| panic!("no {key} in {lines:?}"))
}

/// Turn `k` completed, with `terminal` in its output and `reply` its answer.
fn completed(w: &World, id: &str, k: usize, terminal: &str, reply: &str) {
    let output = w.ok(&["output", "--turn", &k.to_string(), id]);
    assert!(output.contains(terminal), "{output}");
    assert!(output.contains(reply), "{output}");
    let shown = w.json(&["show", id]);
    assert_eq!(
        shown["turn_records"][k - 1]["ending"],
        "completed",
        "{shown:#}"
    );
    assert_eq!(shown["last_message"], reply, "{shown:#}");
}

/// Turn `k` of the agent got its prompt on stdin, and no argument holds it.
#[track_caller]
fn prompt_on_stdin(w: &World, k: usize) {
    assert_eq!(w.agent.stdin(k), PROMPT_FILE);
    let argv = w.agent.argv(k);
    assert!(argv.iter().all(|a| a.len() < 4096), "{argv:?}");
}

/// Turn `k` of the agent got `prompt` as its last argument.
#[track_caller]
fn prompt_as_argument(w: &World, k: usize, prompt: &str) {
    assert_eq!(w.agent.stdin(k), "/dev/null");
    assert_eq!(w.agent.argv(k).last().map(String::as_str), Some(prompt));
}

#[test]
fn codex_takes_a_long_prompt_on_stdin_in_first_and_resumed_turns() {
    let mock = mock_responses::MockServer::start();
    let w = World::recording(e2e::codex(mock.port()));

    let prompt = long_prompt("codex-long-1");
    let id = start(&w, "codex", &prompt);
    prompt_on_stdin(&w, 1);
    completed(&w, &id, 1, "turn.completed", "codex-long-1");
    let stderr = w.ok(&["output", "--stderr", "--turn", "1", &id]);
    assert!(!stderr.contains("Reading"), "{stderr}");
    let thread = first_of(&w.turn_lines(&id, 1), "thread_id").to_string();
    assert_eq!(w.json(&["show", &id])["agent_session_id"], thread.as_str());
    let reqs = mock.model_requests();
    assert_eq!(mock_responses::last_user_text(&reqs[0].body), prompt);

    let prompt = long_prompt("codex-long-2");
    inject(&w, &id, &prompt);
    prompt_on_stdin(&w, 2);
    assert!(w.agent.argv(2).contains(&thread), "{:?}", w.agent.argv(2));
    completed(&w, &id, 2, "turn.completed", "codex-long-2");
    assert_eq!(first_of(&w.turn_lines(&id, 2), "thread_id"), thread);
    let reqs = mock.model_requests();
    assert_eq!(reqs.len(), 2);
    assert_eq!(mock_responses::last_user_text(&reqs[1].body), prompt);

    // A short prompt, which starts with a dash, as the argument.
    let short = "-SCN_SAY codex-short";
    inject(&w, &id, short);
    prompt_as_argument(&w, 3, short);
    completed(&w, &id, 3, "turn.completed", "codex-short");
    assert_eq!(first_of(&w.turn_lines(&id, 3), "thread_id"), thread);
    let reqs = mock.model_requests();
    assert_eq!(mock_responses::last_user_text(&reqs[2].body), short);
}

#[test]
fn claude_takes_a_long_prompt_on_stdin_in_first_and_resumed_turns() {
    let mock = mock_messages::MockServer::start();
    let w = World::recording(e2e::claude(mock.port()));

    // zwarm pins claude's session id to its own.
    let prompt = long_prompt("claude-long-1");
    let id = start(&w, "claude", &prompt);
    prompt_on_stdin(&w, 1);
    completed(&w, &id, 1, "\"result\"", "claude-long-1");
    assert_eq!(first_of(&w.turn_lines(&id, 1), "session_id"), id);
    let reqs = mock.model_requests();
    let seen = mock_messages::last_user_text(&reqs[0].body);
    assert!(seen.contains(&prompt), "{} bytes seen", seen.len());

    let prompt = long_prompt("claude-long-2");
    inject(&w, &id, &prompt);
    prompt_on_stdin(&w, 2);
    completed(&w, &id, 2, "\"result\"", "claude-long-2");
    assert_eq!(first_of(&w.turn_lines(&id, 2), "session_id"), id);
    let reqs = mock.model_requests();
    assert_eq!(reqs.len(), 2);
    let seen = mock_messages::last_user_text(&reqs[1].body);
    assert!(seen.contains(&prompt), "{} bytes seen", seen.len());

    // A short prompt, which starts with a dash, as the argument.
    let short = "-SCN_SAY claude-short";
    inject(&w, &id, short);
    prompt_as_argument(&w, 3, short);
    completed(&w, &id, 3, "\"result\"", "claude-short");
    let reqs = mock.model_requests();
    assert!(mock_messages::last_user_text(&reqs[2].body).contains(short));
}

#[test]
fn gemini_takes_a_long_prompt_on_stdin_then_a_short_one_as_its_prompt_option() {
    let mock = mock_gemini::MockServer::start();
    let w = World::recording(e2e::gemini(mock.port()));

    // zwarm pins gemini's session id to its own.
    let prompt = long_prompt("gemini-long-1");
    let id = start(&w, "gemini", &prompt);
    prompt_on_stdin(&w, 1);
    completed(&w, &id, 1, "\"result\"", "gemini-long-1");
    assert_eq!(first_of(&w.turn_lines(&id, 1), "session_id"), id);
    let reqs = mock.model_requests();
    let seen = mock_gemini::last_user_text(&reqs[0].body);
    assert!(seen.ends_with(&prompt), "{} bytes seen", seen.len());

    // A short prompt, which starts with a dash, in `--prompt=`; stdin empty.
    let short = "-SCN_SAY gemini-short";
    inject(&w, &id, short);
    assert_eq!(w.agent.stdin(2), "/dev/null");
    let argv = w.agent.argv(2);
    assert_eq!(argv.last(), Some(&format!("--prompt={short}")), "{argv:?}");
    assert!(argv.contains(&format!("--resume={id}")), "{argv:?}");
    completed(&w, &id, 2, "\"result\"", "gemini-short");
    let reqs = mock.model_requests();
    assert_eq!(reqs.len(), 2);
    assert_eq!(mock_gemini::last_user_text(&reqs[1].body), short);
}
