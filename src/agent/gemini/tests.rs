//! The parser fed every captured transcript, compared step by step, and
//! lines the captures do not hold.

use super::*;
use crate::agent::test_support::{cmd, err, msg, st, transcript, warn};
use crate::model::Usage;
use crate::turn::{ItemStatus, Outcome, Step, StepKind, TurnSummary};
use serde_json::json;
use ItemStatus::*;

const HELLO: &str = "echo hello-from-mock";
const DONE: &str = "done: hello-from-mock";
const SESSION: &str = "b9f557de-c7c7-4460-be9f-97fe57309a51";

fn run(name: &str) -> (Vec<Step>, TurnSummary) {
    crate::agent::test_support::run_path(GeminiParser::default(), &transcript(name))
}
fn run_bytes(bytes: &[u8]) -> (Vec<Step>, TurnSummary) {
    crate::agent::test_support::run_bytes(GeminiParser::default(), bytes)
}
/// What the mock serves per request, `n` requests: prompt 60 of which 12
/// cached, candidates 8, and a total that also counts 3 thinking tokens.
fn served(n: u64) -> Option<Usage> {
    Some(Usage {
        input_tokens: 60 * n,
        output_tokens: 8 * n,
        total_tokens: 71 * n,
        cached_input_tokens: 12 * n,
        ..Default::default()
    })
}

#[test]
fn first_turn_a_command_and_the_answer_streamed_in_pieces() {
    let (steps, s) = run("gemini_first_turn.jsonl");
    assert_eq!(
        steps,
        vec![
            cmd(3, HELLO, "hello-from-mock", None, Completed),
            msg(5, DONE)
        ]
    );
    assert_eq!(s.agent_session_id.as_deref(), Some(SESSION));
    // The model the API says served it, not the one asked for.
    assert_eq!(s.model.as_deref(), Some("gemini-2.5-flash-001"));
    assert_eq!(s.outcome, Some(Outcome::Completed));
    assert_eq!(s.usage, served(2));
    assert_eq!(s.messages, [DONE]);
    assert_eq!((s.events, s.skipped_lines), (7, 0));
    assert_eq!(s.last_error, None);
}

#[test]
fn resumed_turns_keep_the_conversation_and_report_their_own_usage() {
    let (steps, s) = run("gemini_resume.jsonl");
    assert_eq!(steps, vec![msg(3, "second answer")]);
    assert_eq!(s.agent_session_id.as_deref(), Some(SESSION));
    assert_eq!(s.usage, served(1));
    let (steps, s) = run("gemini_resume_2.jsonl");
    assert_eq!(
        steps,
        vec![
            cmd(3, HELLO, "hello-from-mock", None, Completed),
            msg(5, DONE)
        ]
    );
    assert_eq!(s.agent_session_id.as_deref(), Some(SESSION));
    // Two requests in this invocation, not the conversation's five.
    assert_eq!(s.usage, served(2));
    assert_eq!(
        Gemini.turn_usage(&s.usage.clone().unwrap(), None, &[]),
        served(2).unwrap()
    );
}

#[test]
fn a_command_that_exits_non_zero_is_reported_as_it_ran() {
    let (steps, s) = run("gemini_command_exit_3.jsonl");
    assert_eq!(
        steps,
        vec![
            cmd(
                3,
                "echo out; echo err >&2; exit 3",
                "out\nerr",
                None,
                Completed
            ),
            msg(5, "done: out\nerr"),
        ]
    );
    assert_eq!(s.outcome, Some(Outcome::Completed));
}

#[test]
fn the_api_error_is_the_apis_own_message() {
    let (steps, s) = run("gemini_api_error_400.jsonl");
    assert_eq!(steps, vec![err(3, "mock: prompt is invalid")]);
    assert_eq!(
        s.outcome,
        Some(Outcome::Failed("mock: prompt is invalid".into()))
    );
    assert_eq!(s.last_error.as_deref(), Some("mock: prompt is invalid"));
    assert_eq!(s.usage, Some(Usage::default()));
    // No model served it: the one asked for stands.
    assert_eq!(s.model.as_deref(), Some("gemini-2.5-flash"));
}

#[test]
fn a_killed_turn_leaves_its_command_in_progress_and_no_outcome() {
    let (steps, s) = run("gemini_sigterm.jsonl");
    assert_eq!(
        steps,
        vec![cmd(
            3,
            "echo tick; sleep 60; echo tock",
            "",
            None,
            InProgress
        )]
    );
    assert_eq!(s.outcome, None);
    assert_eq!(s.usage, None);
    assert_eq!(
        s.agent_session_id.as_deref(),
        Some("71b630b0-256f-4071-b9bb-0f205fed54eb")
    );
}

#[test]
fn the_auto_model_keeps_its_name_when_two_models_served() {
    let (steps, s) = run("gemini_auto_model.jsonl");
    assert_eq!(steps, vec![msg(3, "routed")]);
    assert_eq!(s.model.as_deref(), Some("auto"));
    // The router's request counts too.
    assert_eq!(s.usage, served(2));
    let (steps, s) = run("gemini_auto_edit_no_shell.jsonl");
    assert_eq!(steps, vec![msg(3, "mock: nothing to do")]);
    assert_eq!(s.outcome, Some(Outcome::Completed));
}

#[test]
fn failed_tools_warnings_errors_and_unknown_lines_are_all_kept() {
    let lines = [
        json!({"type": "init", "session_id": SESSION, "model": "m"}),
        json!({"type": "tool_use", "tool_name": "run_shell_command", "tool_id": "a",
               "parameters": {"command": "ls"}}),
        json!({"type": "tool_use", "tool_name": "read_file", "tool_id": "b",
               "parameters": {"file_path": "x"}}),
        json!({"type": "tool_result", "tool_id": "b", "status": "error", "output": "no x",
               "error": {"type": "file_not_found", "message": "File not found: x"}}),
        json!({"type": "tool_result", "tool_id": "a", "status": "error",
               "output": "Tool \"run_shell_command\" not found."}),
        json!({"type": "tool_result", "tool_id": "zz", "status": "success", "output": "?"}),
        json!({"type": "tool_use", "tool_name": "google_web_search", "tool_id": "c",
               "parameters": {"query": "rust"}}),
        json!({"type": "tool_result", "tool_id": "c", "status": "success", "output": "hits"}),
        json!({"type": "message", "role": "assistant", "content": "whole", "delta": false}),
        json!({"type": "error", "severity": "warning", "message": "Loop detected"}),
        json!({"type": "message", "role": "assistant", "content": "a", "delta": true}),
        json!({"type": "error", "severity": "error", "message": "quota"}),
        json!({"type": "thought", "content": "hm"}),
        json!({"type": "message", "role": "system", "content": "?"}),
        json!({"type": "tool_use", "tool_name": "write_file", "tool_id": "d",
               "parameters": {"file_path": "y"}}),
        json!({"type": "message", "role": "assistant", "content": "tail", "delta": true}),
    ];
    let mut bytes: Vec<u8> = Vec::new();
    for l in &lines {
        bytes.extend(l.to_string().bytes());
        bytes.push(b'\n');
    }
    bytes.extend(b"not json\n[1]\n");
    let (steps, s) = run_bytes(&bytes);
    let call = |line, tool: &str, arguments, result: Option<&str>, error: Option<&str>, status| {
        st(
            line,
            StepKind::ToolCall {
                server: None,
                tool: tool.into(),
                arguments,
                result: result.map(str::to_string),
                error: error.map(str::to_string),
                status,
                parent: None,
            },
        )
    };
    assert_eq!(
        steps,
        vec![
            call(
                3,
                "read_file",
                json!({"file_path": "x"}),
                None,
                Some("File not found: x"),
                Failed
            ),
            cmd(
                2,
                "ls",
                "Tool \"run_shell_command\" not found.",
                None,
                Failed
            ),
            st(
                6,
                StepKind::Other {
                    kind: "tool_result".into(),
                    raw: lines[5].clone()
                }
            ),
            st(
                7,
                StepKind::WebSearch {
                    query: "rust".into(),
                    status: Completed
                }
            ),
            msg(9, "whole"),
            warn(10, "Loop detected"),
            msg(11, "a"),
            err(12, "quota"),
            st(
                13,
                StepKind::Other {
                    kind: "thought".into(),
                    raw: lines[12].clone()
                }
            ),
            st(
                14,
                StepKind::Other {
                    kind: "message".into(),
                    raw: lines[13].clone()
                }
            ),
            msg(16, "tail"),
            call(
                15,
                "write_file",
                json!({"file_path": "y"}),
                None,
                None,
                InProgress
            ),
        ]
    );
    assert_eq!(s.messages, ["whole", "a", "tail"]);
    assert_eq!(s.last_error.as_deref(), Some("quota"));
    assert_eq!((s.events, s.skipped_lines), (16, 2));
    assert_eq!(s.outcome, None);
}

#[test]
fn error_messages_unwrap_the_apis_body_when_there_is_one() {
    let m = |message: &str| stream::api_error(&json!({"type": "x", "message": message}));
    let plain = |m: &str| (m.to_string(), false);
    assert_eq!(
        m(r#"[API Error: {"error":{"code":400,"message":"bad","status":"INVALID_ARGUMENT"}}]"#),
        plain("bad")
    );
    assert_eq!(m("[API Error: fetch failed]"), plain("fetch failed"));
    assert_eq!(
        m("[API Error: slow (Status: UNAVAILABLE)]"),
        plain("slow (Status: UNAVAILABLE)")
    );
    assert_eq!(m("Operation cancelled."), plain("Operation cancelled."));
    let limited = |advice: &str| m(&format!("[API Error: quota]\n{advice} and more"));
    assert_eq!(
        limited("Please wait and try again later. To increase your limits, ..."),
        ("quota".to_string(), true)
    );
    assert_eq!(
        limited("Possible quota limitations in place or slow response times detected."),
        ("quota".to_string(), true)
    );
    assert_eq!(limited("Something else"), plain("quota"));
    assert_eq!(
        stream::api_error(&json!({"type": "FatalTurnLimitedError"})),
        plain("FatalTurnLimitedError")
    );
    assert_eq!(stream::api_error(&json!(null)), plain("failed"));
}

#[test]
fn a_429_once_the_retries_are_spent_is_a_rate_limit_without_a_reset() {
    let (steps, s) = run("gemini_rate_limited.jsonl");
    assert_eq!(steps, vec![err(3, "mock: quota exceeded")]);
    assert_eq!(
        s.outcome,
        Some(Outcome::Failed("mock: quota exceeded".into()))
    );
    assert_eq!(
        s.usage_limit,
        Some(crate::turn::UsageLimit::new("mock: quota exceeded"))
    );
    // A 400 is no rate limit.
    assert_eq!(run("gemini_api_error_400.jsonl").1.usage_limit, None);
}
