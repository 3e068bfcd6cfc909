//! Qwen's parser on the captured transcripts, and its argv.

use super::*;
use crate::agent::test_support::{
    argv, cmd, err, ids_in_transcripts, msg, run_path, transcript, NOT_CONVERSATION_IDS,
};
use crate::turn::{ItemStatus, Outcome, Step, StepKind, TurnSummary};

fn run(name: &str) -> (Vec<Step>, TurnSummary) {
    run_path(QwenParser::default(), &transcript(name))
}

fn usage(input: u64, cached: u64, output: u64) -> Usage {
    Usage {
        input_tokens: input,
        output_tokens: output,
        total_tokens: input + output,
        cached_input_tokens: cached,
        ..Default::default()
    }
}

const DONE: &str = "done: Command: echo hello-from-mock\nDirectory: (root)\nOutput: hello-from-mock\nError: (none)\nExit Code: 0\nSignal: (none)\nProcess Group PGID: (none)";

#[test]
fn a_plain_answer() {
    let (steps, s) = run("qwen_say.jsonl");
    assert_eq!(steps, [msg(3, "hello there")]);
    assert_eq!(s.outcome, Some(Outcome::Completed));
    assert_eq!(s.messages, ["hello there"]);
    assert_eq!(s.model.as_deref(), Some("mock-model"));
    assert_eq!(
        s.agent_session_id.as_deref(),
        Some("12345678-0000-4000-8000-00000000000a")
    );
    assert_eq!(s.usage, Some(usage(60, 10, 8)));
    assert_eq!((s.events, s.skipped_lines, s.cost_usd), (4, 0, None));
}

#[test]
fn a_shell_call_with_its_output() {
    let (steps, s) = run("qwen_first_turn.jsonl");
    assert_eq!(
        steps,
        [
            cmd(
                3,
                "echo hello-from-mock",
                "hello-from-mock",
                Some(0),
                ItemStatus::Completed
            ),
            msg(5, DONE),
        ]
    );
    assert_eq!(s.outcome, Some(Outcome::Completed));
    // Two requests of 60 + 8 tokens, 10 cached.
    assert_eq!(s.usage, Some(usage(120, 20, 16)));
}

#[test]
fn a_failed_command_keeps_its_output_and_exit_code() {
    let (steps, s) = run("qwen_failed_command.jsonl");
    assert_eq!(
        steps[0],
        cmd(
            3,
            "echo oops >&2; echo out; exit 3",
            "out\noops",
            Some(3),
            ItemStatus::Failed
        )
    );
    assert_eq!(s.outcome, Some(Outcome::Completed));
}

#[test]
fn a_resumed_turn_counts_its_own_responses_not_qwens_running_total() {
    let (steps, s) = run("qwen_resume.jsonl");
    assert_eq!(steps, [msg(3, "resumed answer")]);
    // One request; the result's usage (120) is the session's running total.
    assert_eq!(s.usage, Some(usage(60, 10, 8)));
    let (steps, s) = run("qwen_resume_2.jsonl");
    assert_eq!(steps.len(), 2);
    // Two requests; the result says 240, all four of the session.
    assert_eq!(s.usage, Some(usage(120, 20, 16)));
    assert_eq!(
        s.agent_session_id.as_deref(),
        Some("a1b2c3d4-0000-4000-8000-000000000001")
    );
}

#[test]
fn a_turns_usage_is_what_its_stream_counted() {
    let id = "a1b2c3d4-0000-4000-8000-000000000001";
    let mut earlier = TurnRecord::open(1, None);
    earlier.agent_session_id = Some(id.into());
    earlier.usage = Some(usage(60, 10, 8));
    earlier.reported_usage = earlier.usage.clone();
    let own = Qwen.turn_usage(&usage(120, 20, 16), Some(id), &[earlier]);
    assert_eq!(own, usage(120, 20, 16));
    assert_eq!(Qwen.session_cost(Some(1.0), &[]), None);
}

#[test]
fn a_response_split_by_block_type_counts_once() {
    // qwen starts a new assistant line when the block type changes; only
    // the response's last line carries its usage.
    let lines = [
        r#"{"type":"assistant","session_id":"s","parent_tool_use_id":null,"message":{"content":[{"type":"thinking","thinking":"plan"}],"usage":{"input_tokens":0,"output_tokens":0}}}"#,
        r#"{"type":"assistant","session_id":"s","parent_tool_use_id":null,"message":{"content":[{"type":"text","text":"hi"}],"usage":{"input_tokens":60,"output_tokens":8,"cache_read_input_tokens":10,"total_tokens":68}}}"#,
        r#"{"type":"result","subtype":"success","session_id":"s","is_error":false,"result":"hi","usage":{"input_tokens":600,"output_tokens":80,"total_tokens":680}}"#,
    ]
    .join("\n");
    let (steps, s) = crate::agent::test_support::run_bytes(QwenParser::default(), lines.as_bytes());
    assert_eq!(steps.len(), 2);
    assert_eq!(s.usage, Some(usage(60, 10, 8)));
    assert_eq!(s.messages, ["hi"]);
}

#[test]
fn an_api_error_fails_the_turn_with_the_apis_message() {
    for name in [
        "qwen_api_error_400.jsonl",
        "qwen_api_error_500_retries.jsonl",
    ] {
        let (steps, s) = run(name);
        let message = if name.contains("400") {
            "[API Error: 400 mock: prompt is invalid]"
        } else {
            "[API Error: 500 mock: internal server error]"
        };
        // Said once, though both the text and the result carry it.
        assert_eq!(steps, [err(3, message)], "{name}");
        assert_eq!(s.outcome, Some(Outcome::Failed(message.into())), "{name}");
        assert!(s.messages.is_empty(), "{name}");
        assert_eq!(s.usage, Some(Usage::default()), "{name}");
    }
}

#[test]
fn a_killed_turn_has_its_command_cancelled_and_no_outcome() {
    let (steps, s) = run("qwen_sigterm.jsonl");
    assert_eq!(steps.len(), 1);
    // SIGTERM cancels the tool call, and qwen says so before it exits.
    assert!(
        matches!(
            &steps[0].kind,
            StepKind::Command { status: ItemStatus::Failed, command, exit_code: None, output }
                if command.contains("tick")
                    && output.whole().is_some_and(|t| t.to_str().starts_with("[Operation Cancelled]"))
        ),
        "{steps:?}"
    );
    assert_eq!(s.outcome, None);
    // The response that asked for the command was paid for.
    assert_eq!(s.usage, Some(usage(60, 10, 8)));
}

#[test]
fn a_run_aborted_by_its_tool_call_budget_leaves_the_call_unrun() {
    let (steps, s) = run("qwen_max_tool_calls.jsonl");
    assert_eq!(
        steps,
        [cmd(
            3,
            "echo hello-from-mock",
            "",
            None,
            ItemStatus::InProgress
        )]
    );
    assert_eq!((s.outcome, s.usage), (None, Some(usage(60, 10, 8))));
}

#[test]
fn a_prompt_on_stdin_answers_as_an_argument_would() {
    let (steps, s) = run("qwen_prompt_on_stdin.jsonl");
    assert_eq!(steps, [msg(3, "from stdin")]);
    assert_eq!(s.outcome, Some(Outcome::Completed));
}

#[test]
fn nothing_is_dropped_of_lines_this_version_does_not_know() {
    let lines = [
        r#"{"type":"stream_event","session_id":"s","event":{"type":"goal_state","goal_state":{"v":2,"goal":"ship it","activity":"working"}}}"#,
        r#"{"type":"stream_event","session_id":"s","event":{"type":"content_block_delta","delta":{"text":"x"}}}"#,
        r#"{"type":"system","subtype":"session_state","session_id":"s"}"#,
        r#"{"type":"assistant","session_id":"s","parent_tool_use_id":null,"message":{"content":[{"type":"thinking","thinking":"hmm"},{"type":"image","source":{}}]}}"#,
        r#"{"type":"user","session_id":"s","message":{"content":[{"type":"tool_result","tool_use_id":"nobody","content":"x"},{"type":"text","text":"note"}]}}"#,
        r#"{"type":"assistant","session_id":"s","parent_tool_use_id":null,"message":{"content":[{"type":"tool_use","id":"t1","name":"write_file","input":{"file_path":"/p/a.txt","content":"x"}},{"type":"tool_use","id":"t2","name":"mcp__zwarm__list","input":{}}]}}"#,
        r#"{"type":"user","session_id":"s","message":{"content":[{"type":"tool_result","tool_use_id":"t2","is_error":true,"content":"no"}]}}"#,
        r#"{"type":"result","subtype":"error_max_turns","session_id":"s","is_error":true,"usage":{"input_tokens":5,"output_tokens":1},"error":{"message":"Reached max session turns"}}"#,
    ]
    .join("\n");
    let (steps, s) = crate::agent::test_support::run_bytes(QwenParser::default(), lines.as_bytes());
    let kinds: Vec<String> = steps
        .iter()
        .map(|s| match &s.kind {
            StepKind::Other { kind, .. } => kind.clone(),
            k => k.name().to_string(),
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "stream_event:goal_state",
            "system",
            "reasoning",
            "assistant:image",
            "tool_result",
            "user:text",
            "tool_call",
            "file_change",
            "error"
        ]
    );
    assert_eq!(
        steps[6].kind,
        StepKind::ToolCall {
            server: Some("zwarm".into()),
            tool: "list".into(),
            arguments: serde_json::json!({}),
            result: None,
            error: Some("no".into()),
            status: ItemStatus::Failed,
            parent: None,
        }
    );
    assert_eq!(
        s.outcome,
        Some(Outcome::Failed("Reached max session turns".into()))
    );
    // No line carried usage but the result, which is a running total.
    assert_eq!(s.usage, Some(Usage::default()));
}

const PINNED: &str = "52afcdf0-2eae-495a-b1bf-ee9cec877555";
const RESUMED: &str = "0eca613e-1170-4972-903b-118a5e093f7c";

fn spec<'a>(resume: Option<&'a str>, prompt_via: PromptVia) -> TurnSpec<'a> {
    TurnSpec {
        prompt: "-x",
        prompt_via,
        model: Some("m"),
        sandbox: None,
        working_dir: std::path::Path::new("/w"),
        resume,
        session_id: PINNED,
        max_budget_usd: None,
        agent_args: &[],
    }
}

#[test]
fn argv_for_first_and_resumed_turns_with_the_prompt_as_argument_or_on_stdin() {
    let head = [
        "--output-format=stream-json",
        "--model=m",
        "--approval-mode=yolo",
    ];
    let with =
        |tail: &[&str]| -> Vec<String> { head.iter().chain(tail).map(|a| a.to_string()).collect() };
    let first = format!("--session-id={PINNED}");
    let resume = format!("--resume={RESUMED}");
    assert_eq!(
        argv(&Qwen, &spec(None, PromptVia::Argument)),
        with(&[&first, "--prompt=-x"])
    );
    assert_eq!(argv(&Qwen, &spec(None, PromptVia::Stdin)), with(&[&first]));
    assert_eq!(
        argv(&Qwen, &spec(Some(RESUMED), PromptVia::Argument)),
        with(&[&resume, "--prompt=-x"])
    );
    assert_eq!(
        argv(&Qwen, &spec(Some(RESUMED), PromptVia::Stdin)),
        with(&[&resume])
    );
}

#[test]
fn argv_modes_and_values_that_look_like_options() {
    let mode = |sandbox: Option<&str>| {
        let spec = TurnSpec {
            sandbox,
            model: None,
            ..spec(None, PromptVia::Stdin)
        };
        argv(&Qwen, &spec)[1].clone()
    };
    assert_eq!(mode(Some("read-only")), "--approval-mode=plan");
    assert_eq!(mode(Some("workspace-write")), "--approval-mode=auto-edit");
    assert_eq!(mode(Some("danger-full-access")), "--approval-mode=yolo");
    assert_eq!(mode(None), "--approval-mode=yolo");
    let hostile = TurnSpec {
        prompt: "--yolo",
        prompt_via: PromptVia::Argument,
        model: Some("--approval-mode=yolo"),
        sandbox: Some("read-only"),
        working_dir: std::path::Path::new("/w"),
        resume: Some("--continue"),
        session_id: "-c",
        max_budget_usd: Some(1.0),
        agent_args: &[],
    };
    assert_eq!(
        argv(&Qwen, &hostile),
        [
            "--output-format=stream-json",
            "--model=--approval-mode=yolo",
            "--approval-mode=plan",
            "--resume=--continue",
            "--prompt=--yolo"
        ]
    );
}

#[test]
fn conversation_ids_are_session_uuids() {
    let real = ids_in_transcripts("qwen_", "session_id");
    assert!(real.len() >= 5, "{real:?}");
    for id in &real {
        assert!(Qwen.valid_conversation_id(id), "{id}");
    }
    for id in NOT_CONVERSATION_IDS {
        assert!(!Qwen.valid_conversation_id(id), "{id:?}");
    }
}

#[test]
fn found_on_path_or_where_its_variable_says() {
    assert_eq!((Qwen.program(), Qwen.bin_env()), ("qwen", "ZWARM_QWEN_BIN"));
    assert!(!Qwen.reports_cost());
}
