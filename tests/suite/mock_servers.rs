//! The mock model servers' own logic, without the CLIs, and the loud
//! failure when a CLI is missing.

use crate::support::agents;
use crate::support::http::HttpResponse;
use crate::support::{mock_chat, mock_messages, mock_responses};
use serde_json::{json, Value};
use std::time::Duration;

fn sse_items(resp: &HttpResponse) -> Vec<Value> {
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
fn chat_mock_calls_qwens_shell_for_the_main_agent_only() {
    let main = json!({"role": "system", "content": "You are Qwen Code, an agent"});
    let shell = json!([{"type": "function", "function": {"name": "run_shell_command"}}]);
    let body = json!({"model": "m", "stream": true, "tools": shell, "messages": [
        main, {"role": "user", "content": [{"type": "text", "text": "SCN_CMD ls -1"}]}]});
    let resp = mock_chat::respond(&body);
    assert!(String::from_utf8_lossy(&resp.body).ends_with("data: [DONE]\n\n"));
    let chunks = sse_items(&resp);
    let call = &chunks[0]["choices"][0]["delta"]["tool_calls"][0];
    assert_eq!(call["function"]["name"], "run_shell_command");
    let args: Value =
        serde_json::from_str(call["function"]["arguments"].as_str().unwrap()).unwrap();
    assert_eq!(args["command"], "ls -1");
    assert_eq!(chunks[1]["choices"][0]["finish_reason"], "tool_calls");
    assert_eq!(chunks[2]["usage"]["prompt_tokens"], mock_chat::USAGE_PROMPT);
    assert_eq!(chunks[2]["choices"], json!([]));
    // The tool's output comes back: the answer quotes it.
    let body = json!({"model": "m", "tools": shell, "messages": [
        main, {"role": "user", "content": "go"},
        {"role": "assistant", "content": null, "tool_calls": [{"id": "c", "type": "function",
            "function": {"name": "run_shell_command", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "c", "content": "out"}]});
    let done: Value = serde_json::from_slice(&mock_chat::respond(&body).body).unwrap();
    assert_eq!(done["choices"][0]["message"]["content"], "done: out");
    // A subagent of qwen's own (its system prompt is not the main one) gets text.
    let body = json!({"model": "m", "tools": shell, "messages": [
        {"role": "system", "content": "You are now acting as the managed memory extraction subagent"},
        {"role": "user", "content": "hi"}]});
    let side: Value = serde_json::from_slice(&mock_chat::respond(&body).body).unwrap();
    assert!(
        side["choices"][0]["message"]["content"].is_string(),
        "{side}"
    );
    // An API error, as the OpenAI API shapes it.
    let body = json!({"messages": [{"role": "user", "content": "SCN_HTTP400"}]});
    let resp = mock_chat::respond(&body);
    let err: Value = serde_json::from_slice(&resp.body).unwrap();
    assert_eq!(
        (resp.status, &err["error"]["message"]),
        (400, &json!(mock_chat::HTTP400_MESSAGE))
    );
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
fn the_mocks_answer_429_for_limits_as_the_apis_do() {
    let codex = |text: &str| {
        let body = json!({"input": [{"type": "message", "role": "user", "content": text}]});
        mock_responses::respond(&body)
    };
    let resp = codex("SCN_USAGE_LIMIT 1796317200");
    assert_eq!(resp.status, 429);
    let error = &serde_json::from_slice::<Value>(&resp.body).unwrap()["error"];
    assert_eq!(error["type"], "usage_limit_reached");
    assert_eq!(error["resets_at"], 1_796_317_200);
    assert_eq!(error["plan_type"], "plus");
    // Without a time, two hours ahead on a whole minute.
    let resp = codex("SCN_USAGE_LIMIT");
    let error = &serde_json::from_slice::<Value>(&resp.body).unwrap()["error"];
    let reset = error["resets_at"].as_u64().unwrap();
    assert_eq!(reset % 60, 0);
    assert!((7140..=7200).contains(&error["resets_in_seconds"].as_u64().unwrap()));
    let resp = codex("SCN_QUOTA");
    let error = &serde_json::from_slice::<Value>(&resp.body).unwrap()["error"];
    assert_eq!(
        (resp.status, &error["type"]),
        (429, &json!("insufficient_quota"))
    );
    let resp = codex("SCN_HTTP429");
    assert_eq!((resp.status, resp.header("retry-after")), (429, Some("20")));

    let claude = |text: &str| {
        mock_messages::respond(&json!({"messages": [{"role": "user", "content": text}]}))
    };
    let resp = claude("SCN_USAGE_LIMIT 1796317200");
    assert_eq!(resp.status, 429);
    let error = &serde_json::from_slice::<Value>(&resp.body).unwrap()["error"];
    assert_eq!(error["type"], "rate_limit_error");
    for (name, value) in [
        ("anthropic-ratelimit-unified-status", "rejected"),
        ("anthropic-ratelimit-unified-reset", "1796317200"),
        (
            "anthropic-ratelimit-unified-representative-claim",
            "five_hour",
        ),
    ] {
        assert_eq!(resp.header(name), Some(value), "{name}");
    }
    for text in ["SCN_HTTP429", "SCN_QUOTA"] {
        let resp = claude(text);
        assert_eq!(resp.status, 429);
        assert_eq!(resp.header("anthropic-ratelimit-unified-status"), None);
        assert_eq!(resp.header("retry-after"), Some("20"));
    }
}

#[test]
fn the_mocks_send_their_headers() {
    use std::io::{Read, Write};
    let mock = mock_messages::MockServer::start();
    let mut s = std::net::TcpStream::connect(("127.0.0.1", mock.port())).unwrap();
    let body = r#"{"messages":[{"role":"user","content":"SCN_USAGE_LIMIT 1796317200"}]}"#;
    write!(
        s,
        "POST /v1/messages HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    let (head, rest) = resp.split_once("\r\n\r\n").unwrap();
    assert!(
        head.starts_with("HTTP/1.1 429 Too Many Requests\r\n"),
        "{resp}"
    );
    assert!(
        head.contains("\r\nanthropic-ratelimit-unified-reset: 1796317200\r\n"),
        "{resp}"
    );
    assert!(rest.contains("rate_limit_error"), "{resp}");
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
