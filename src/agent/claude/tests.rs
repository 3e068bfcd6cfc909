//! The parser fed real transcripts, compared step by step, and broken ones.

use super::*;
use crate::agent::test_support::{cmd, err, msg, st, transcript, TRANSCRIPTS as DIR};
use crate::turn::{
    FileChange, ItemStatus, Outcome, PlanItem, Step, StepKind, StreamParser, TurnSummary,
};
use serde_json::json;
use ItemStatus::*;

const HELLO: &str = "echo hello-from-claude-mock";
const DONE: &str = "All done: claude mock says hi.";

fn run(name: &str) -> (Vec<Step>, TurnSummary) {
    crate::agent::test_support::run_path(ClaudeParser::default(), &transcript(name))
}
fn run_bytes(bytes: &[u8]) -> (Vec<Step>, TurnSummary) {
    crate::agent::test_support::run_bytes(ClaudeParser::default(), bytes)
}
fn call(
    line: u64,
    tool: &str,
    arguments: Value,
    result: Result<&str, &str>,
    parent: Option<&str>,
) -> Step {
    let (server, tool) = match tool.split_once('/') {
        Some((s, t)) => (Some(s.to_string()), t.to_string()),
        None => (None, tool.to_string()),
    };
    let status = if result.is_ok() { Completed } else { Failed };
    let (result, error) = (
        result.ok().map(str::to_string),
        result.err().map(str::to_string),
    );
    let parent = parent.map(str::to_string);
    st(
        line,
        StepKind::ToolCall {
            server,
            tool,
            arguments,
            result,
            error,
            status,
            parent,
        },
    )
}
fn usage(input: u64, write: u64, read: u64, output: u64) -> Option<Usage> {
    let (input_tokens, output_tokens, total_tokens) =
        (input, output, input + write + read + output);
    let (cache_creation_input_tokens, cache_read_input_tokens) = (write, read);
    let u = Usage {
        input_tokens,
        output_tokens,
        total_tokens,
        cache_creation_input_tokens,
        cache_read_input_tokens,
        ..Default::default()
    };
    Some(u)
}

#[test]
fn completed_runs() {
    let hello = || {
        vec![
            cmd(2, HELLO, "hello-from-claude-mock", Some(0), Completed),
            msg(4, DONE),
        ]
    };
    let (steps, s) = run("claude_first_turn.jsonl");
    assert_eq!(steps, hello());
    assert_eq!(
        s.agent_session_id.as_deref(),
        Some("172a5050-90bc-4c0c-bb9a-1cf25846f716")
    );
    assert_eq!(s.model.as_deref(), Some("claude-opus-5-5"));
    assert_eq!(
        (s.outcome, s.usage, s.cost_usd),
        (
            Some(Outcome::Completed),
            usage(100, 0, 0, 18),
            Some(0.00076)
        )
    );
    assert_eq!(
        (s.messages, s.events, s.skipped_lines, s.last_error),
        (vec![DONE.to_string()], 5, 0, None)
    );
    for (file, cost) in [
        ("claude_resume.jsonl", 0.00114),
        ("claude_resume_2.jsonl", 0.00152),
    ] {
        let (steps, s) = run(file);
        assert_eq!(steps, [msg(2, DONE)]);
        assert_eq!(
            s.agent_session_id.as_deref(),
            Some("172a5050-90bc-4c0c-bb9a-1cf25846f716")
        );
        assert_eq!(
            (s.usage, s.cost_usd, s.messages.len()),
            (usage(50, 0, 0, 9), Some(cost), 1)
        );
    }
    for (file, id, cost) in [
        (
            "claude_pinned_session_id.jsonl",
            "fdd55d43-4e52-47c4-ace7-fd342f317a19",
            0.0008128,
        ),
        (
            "claude_fork_session.jsonl",
            "e9a1ac00-4a71-4f48-adb6-8b674b696c43",
            0.0016256,
        ),
    ] {
        let (steps, s) = run(file);
        assert_eq!(
            (steps, s.agent_session_id.as_deref(), s.cost_usd),
            (hello(), Some(id), Some(cost))
        );
    }
    // stream_event and system/status lines add nothing but the event count.
    let (steps, s) = run("claude_partial_messages.jsonl");
    assert_eq!(
        steps,
        [
            cmd(6, HELLO, "hello-from-claude-mock", Some(0), Completed),
            msg(15, DONE)
        ]
    );
    assert_eq!((s.events, s.skipped_lines, s.messages.len()), (19, 0, 1));
    assert_eq!(
        (s.outcome, s.usage),
        (Some(Outcome::Completed), usage(100, 10, 14, 18))
    );
}

#[test]
fn rich_and_mcp_runs() {
    let (steps, s) = run("claude_rich.jsonl");
    let missing = "ls: cannot access '/nonexistent_dir_xyz': No such file or directory";
    let change = FileChange {
        path: "/home/dev/project/hello.txt".into(),
        kind: "create".into(),
    };
    assert_eq!(
        steps,
        [
            st(
                3,
                StepKind::Reasoning {
                    text: "I should list a missing dir first.".into()
                }
            ),
            msg(4, "Let me look around."),
            cmd(5, "ls /nonexistent_dir_xyz", missing, Some(2), Failed),
            st(
                7,
                StepKind::FileChange {
                    changes: vec![change],
                    status: Completed
                }
            ),
            cmd(9, "echo ok-$((6*7))", "ok-42", Some(0), Completed),
            msg(11, "Done: wrote hello.txt."),
        ]
    );
    assert_eq!(
        s.messages,
        ["Let me look around.", "Done: wrote hello.txt."]
    );
    // The result's figures, not six copies of the per-message usage.
    assert_eq!(
        (s.usage, s.cost_usd, s.events),
        (usage(200, 20, 28, 36), Some(0.0016256), 12)
    );

    let (steps, s) = run("claude_mcp.jsonl");
    let StepKind::ToolCall {
        error: Some(boom), ..
    } = &steps[1].kind
    else {
        panic!("{:?}", steps[1])
    };
    assert!(
        boom.starts_with("boom failed\n\nThis tool's input schema"),
        "{boom}"
    );
    let missing = "File does not exist. Note: your current working directory is /home/dev/project.";
    assert_eq!(
        steps,
        [
            call(
                2,
                "echo/echo",
                json!({"text": "hi mcp"}),
                Ok(r#"{"echoed":"hi mcp"}"#),
                None
            ),
            call(4, "echo/boom", json!({}), Err(boom), None),
            call(
                6,
                "Read",
                json!({"file_path": "/home/dev/project/nope.txt"}),
                Err(missing),
                None
            ),
            msg(8, "mcp done"),
        ]
    );
    assert_eq!((s.outcome, s.last_error), (Some(Outcome::Completed), None));
}

#[test]
fn failed_runs() {
    let retries = |n: u64, what: &str| -> Vec<Step> {
        let warn = |i: u64| StepKind::Warning {
            message: format!("API retry {i}/{n}: {what}"),
        };
        (1..=n).map(|i| st(i + 1, warn(i))).collect()
    };
    let e500 = "API Error: 500 mock: internal. This is a server-side issue, usually temporary — try again in a \
                moment. If it persists, check your inference gateway (127.0.0.1:18789).";
    let refused =
        "API Error: Connection refused — a firewall or proxy may be blocking it (ECONNREFUSED)";
    let cases = [
        (
            "claude_error_max_turns.jsonl",
            vec![
                cmd(2, HELLO, "hello-from-claude-mock", Some(0), Completed),
                err(4, "max turns reached: Reached maximum number of turns (1)"),
            ],
        ),
        // The tool never ran: it stays in progress, shown where the turn ended.
        (
            "claude_error_max_budget.jsonl",
            vec![
                cmd(2, HELLO, "", None, InProgress),
                err(3, "budget exhausted: Reached maximum budget ($0.0001)"),
            ],
        ),
        // subtype "success", yet is_error: one Error step, not two.
        (
            "claude_api_error_400.jsonl",
            vec![err(2, "API Error: 400 mock: prompt is invalid")],
        ),
        (
            "claude_api_error_401_retries.jsonl",
            [
                retries(10, "authentication_failed (status 401)"),
                vec![err(12, "Invalid API key · Fix external API key")],
            ]
            .concat(),
        ),
        (
            "claude_api_error_500_retries.jsonl",
            [retries(2, "server_error (status 500)"), vec![err(4, e500)]].concat(),
        ),
        (
            "claude_connection_refused.jsonl",
            [retries(1, "unknown"), vec![err(3, refused)]].concat(),
        ),
        (
            "claude_resume_not_found.jsonl",
            vec![err(
                1,
                "No conversation found with session ID: 11111111-2222-3333-4444-555555555555",
            )],
        ),
    ];
    for (file, expected) in cases {
        let (steps, s) = run(file);
        assert_eq!(steps, expected, "{file}");
        let StepKind::Error { message } = &expected.last().unwrap().kind else {
            unreachable!()
        };
        assert_eq!(s.outcome, Some(Outcome::Failed(message.clone())), "{file}");
        assert_eq!(s.last_error.as_ref(), Some(message), "{file}");
        assert!(
            s.messages.is_empty() && s.retries_since_progress == 0,
            "{file}"
        );
        // Failed requests and a missed resume used nothing; the limits
        // stopped the turn after one answered request, which the budget
        // stop's result leaves out of its (zero) usage.
        let used = match file {
            "claude_error_max_turns.jsonl" | "claude_error_max_budget.jsonl" => usage(50, 5, 7, 9),
            _ => usage(0, 0, 0, 0),
        };
        assert_eq!(s.usage, used, "{file}");
    }
    let (_, s) = run("claude_api_error_401_retries.jsonl");
    assert_eq!(
        s.last_retry.as_deref(),
        Some("API retry 10/10: authentication_failed (status 401)")
    );
    let (_, s) = run("claude_resume_not_found.jsonl");
    let id = Some("11111111-2222-3333-4444-555555555555");
    assert_eq!(
        (s.agent_session_id.as_deref(), s.model, s.cost_usd),
        (id, None, Some(0.0))
    );
}

#[test]
fn signals() {
    let (steps, s) = run("claude_sigint.jsonl");
    let lp = "for i in $(seq 1 60); do echo tick $i; sleep 1; done";
    let StepKind::Command { output, .. } = &steps[0].kind else {
        panic!("{steps:?}")
    };
    let output = output.whole().unwrap().to_str();
    assert!(output.starts_with("The user doesn't want to proceed"));
    let notice = StepKind::Warning {
        message: "[Request interrupted by user for tool use]".into(),
    };
    assert_eq!(steps, [cmd(2, lp, &output, None, Declined), st(6, notice)]);
    assert_eq!(
        (s.outcome, s.last_error),
        (Some(Outcome::Interrupted("aborted_tools".into())), None)
    );
    assert_eq!(s.usage, usage(50, 5, 7, 9));

    let (steps, s) = run("claude_sigterm.jsonl");
    assert_eq!(
        steps,
        [cmd(
            2,
            lp,
            "tick 1\ntick 2\ntick 3\ntick 4",
            Some(137),
            Failed
        )]
    );
    // No result line, but the one response it streamed was paid for.
    assert_eq!(
        (s.outcome, s.usage, s.cost_usd, s.events),
        (None, usage(50, 5, 7, 9), None, 5)
    );
}

#[test]
fn usage_of_a_turn_cut_short_is_what_its_responses_streamed() {
    for entry in std::fs::read_dir(DIR).unwrap().flatten() {
        let name = entry.file_name().into_string().unwrap();
        if !name.starts_with("claude_") {
            continue;
        }
        let text = std::fs::read_to_string(entry.path()).unwrap();
        let (_, whole) = run(&name);
        let cut: String = text
            .lines()
            .filter(|l| serde_json::from_str::<Value>(l).unwrap()["type"] != "result")
            .map(|l| format!("{l}\n"))
            .collect();
        let (_, s) = run_bytes(cut.as_bytes());
        // Split blocks repeat their response's usage and the mocks reuse
        // message ids across responses: the sum must still match claude's.
        let expected = whole.usage.filter(|u| !u.is_empty());
        assert_eq!(s.usage, expected, "{name}");
    }
}

/// Feeds `lines` to a parser twice, once decoded as it decodes them (lines
/// that carry nothing skimmed) and once each parsed whole into a `Value`,
/// and returns both steps and summaries.
fn skimmed_and_whole(lines: &[Vec<u8>]) -> [(Vec<Step>, TurnSummary); 2] {
    let mut skimmed = ClaudeParser::default();
    let mut whole = ClaudeParser::default();
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for (n, line) in lines.iter().enumerate() {
        let n = n as u64 + 1;
        skimmed.feed(n, line, &mut |s| a.push(s));
        whole.apply(n, serde_json::from_slice(line).ok().into(), &mut |s| {
            b.push(s)
        });
    }
    skimmed.finish(&mut |s| a.push(s));
    whole.finish(&mut |s| b.push(s));
    [(a, skimmed.summary().clone()), (b, whole.summary().clone())]
}

/// A line skimmed for its type and session id leads the parser to the same
/// steps and summary as parsing it whole, whatever the rest of the line
/// holds: real transcripts, and lines whose later keys, escapes, numbers,
/// nesting or bytes the whole parse would read otherwise or refuse.
#[test]
fn skimmed_lines_read_as_parsed_ones() {
    for entry in std::fs::read_dir(DIR).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().into_string().unwrap();
        if !name.starts_with("claude_") {
            continue;
        }
        let text = std::fs::read(entry.path()).unwrap();
        let lines: Vec<Vec<u8>> = text.split(|b| *b == b'\n').map(<[u8]>::to_vec).collect();
        let [skimmed, whole] = skimmed_and_whole(&lines);
        assert_eq!(skimmed, whole, "{name}");
    }
    let deep = format!(
        r#"{{"type":"stream_event","x":{}1{}}}"#,
        "[".repeat(200),
        "]".repeat(200)
    );
    let odd: Vec<&[u8]> = vec![
        br#"{"type":"stream_event","event":{"type":"message_stop"},"session_id":"s1"}"#,
        br#"{"type":"stream_event","session_id":"s1","type":"assistant"}"#,
        br#"{"type":"stream_event","session_id":"s1","\u0074ype":"result"}"#,
        br#"{"type":"stream_event","type":5}"#,
        br#"{"type":"stream_event","session_id":7}"#,
        br#"{"type":"stream_event","session_id":"a","session_id":"b"}"#,
        br#"{"type":"stream_event","x":"\ud800"}"#,
        br#"{"type":"stream_event","x":"\ud83d\ude00 \u00e9\n"}"#,
        br#"{"type":"stream_event","x":1e400}"#,
        br#"{"type":"stream_event","x":-0.5e-3}"#,
        br#"{"type":"stream_event","x":[1,2}"#,
        br#"{"type":"stream_event","x":"\q"}"#,
        br#"{"type":"stream_event"} x"#,
        br#"{"type":"stream_event"}  "#,
        b"{\"type\":\"stream_event\",\"x\":\"\xff\"}",
        b"{\"type\":\"stream_event\",\"x\":\"a\tb\"}",
        // Bytes that are not UTF-8, in a line parsed whole and after one.
        b"{\"type\":\"assistant\",\"message\":{\"content\":\"\xff\"}}",
        b"{\"type\":\"result\",\"subtype\":\"success\"}\xc3",
        br#"{"type":"keep_alive","session_id":"s2"}"#,
        br#"{"type":"stream_event_x","session_id":"s3"}"#,
        br#"{"type":"system","subtype":"status","session_id":"s4"}"#,
        br#"{"type":"system","session_id":"s4"}"#,
        br#"{"type":"system","subtype":5,"session_id":"s4"}"#,
        br#"{"type":"system","subtype":"status","subtype":"init","model":"m"}"#,
        br#"{"type":"system","subtype":"init","subtype":"status","model":"m"}"#,
        br#"{"type":"system","subtype":"api_retry","attempt":1,"max_retries":3}"#,
        br#"{"type":"system","subtype":"status","\u0073ubtype":"api_retry"}"#,
        br#"{"type":"system","subtype":"status","type":"result","result":"r"}"#,
        br#"{"type":"system","subtype":"status","x":1e400}"#,
        br#"{"type":"system","subtype":"status"} x"#,
        deep.as_bytes(),
    ];
    for line in odd {
        // Each alone (the session id is taken from the first line that has
        // one), and after a line that sets it.
        let alone = [line.to_vec()];
        let [skimmed, whole] = skimmed_and_whole(&alone);
        assert_eq!(skimmed, whole, "{}", String::from_utf8_lossy(line));
        let after = [
            br#"{"type":"keep_alive","session_id":"s0"}"#.to_vec(),
            line.to_vec(),
        ];
        let [skimmed, whole] = skimmed_and_whole(&after);
        assert_eq!(skimmed, whole, "{}", String::from_utf8_lossy(line));
    }
    // A skimmed system line ends a run of retries as a parsed one does.
    let retried = [
        br#"{"type":"system","subtype":"api_retry","attempt":1,"max_retries":3}"#.to_vec(),
        br#"{"type":"system","subtype":"status","session_id":"s5"}"#.to_vec(),
    ];
    let [skimmed, whole] = skimmed_and_whole(&retried);
    assert_eq!(skimmed.1.retries_since_progress, 0);
    assert_eq!(skimmed, whole);
}

mod odd_runs;
