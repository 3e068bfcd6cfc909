//! A mock OpenAI Responses API server that the real `codex` CLI accepts.
//!
//! Point codex at it with [`super::agents::codex_env`]. Codex POSTs to
//! `/v1/responses` (`"stream": true`); the mock answers with an SSE stream
//! (`response.created`, `response.output_item.done` items,
//! `response.completed` with usage 100 input / 20 cached / 7 output).
//!
//! The answer depends on the latest user text of the request (see
//! [`Scenario`]); by default: a shell call `echo hello-from-mock`, and once the
//! last input item is a `function_call_output`, a final message
//! `done: <output>`. `GET /v1/models` gets `{"data":[],"models":[]}`.

#[allow(unused_imports)]
pub use super::http::{
    default_reset, Scenario, HELLO_COMMAND, HTTP400_MESSAGE, HTTP500_MESSAGE, SLOW_COMMAND,
};
use super::http::{
    done_text, unique_id, unix_now, HttpResponse, ModelMock, RecordedRequest, RETRY_AFTER,
};
use serde_json::{json, Value};

/// The Responses mock (codex's `base_url` is its `base_url()` plus `/v1`). Stops on drop.
pub struct MockServer(ModelMock);

impl MockServer {
    /// Binds 127.0.0.1 on a free port and starts serving.
    pub fn start() -> MockServer {
        MockServer(ModelMock::start(handle, is_model_request))
    }
}

impl std::ops::Deref for MockServer {
    type Target = ModelMock;
    fn deref(&self) -> &ModelMock {
        &self.0
    }
}

fn is_model_request(r: &RecordedRequest) -> bool {
    r.method == "POST" && r.route().ends_with("/responses")
}

fn handle(req: &RecordedRequest) -> HttpResponse {
    let route = req.route();
    if req.method == "GET" && route.ends_with("/models") {
        return HttpResponse::json(200, &json!({"data": [], "models": []}));
    }
    if !is_model_request(req) {
        return HttpResponse::json(
            404,
            &json!({"error": {"message": format!("mock: no route for {} {}", req.method, req.path),
                              "type": "invalid_request_error", "code": "not_found"}}),
        );
    }
    respond(&req.body)
}

/// The answer to one `POST /v1/responses` body.
pub fn respond(body: &Value) -> HttpResponse {
    let scenario = Scenario::from_text(&last_user_text(body));
    match scenario {
        Scenario::Http500 => {
            return HttpResponse::json(
                500,
                &json!({"error": {"message": HTTP500_MESSAGE, "type": "server_error", "code": "server_error", "param": null}}),
            )
        }
        Scenario::Http400 => {
            return HttpResponse::json(
                400,
                &json!({"error": {"message": HTTP400_MESSAGE, "type": "invalid_request_error", "code": "bad_request", "param": null}}),
            )
        }
        Scenario::Http429 | Scenario::UsageLimit(_) | Scenario::Quota => {
            return limit_reached(&scenario)
        }
        _ => {}
    }
    let item = if let Scenario::Orchestrate(task) = &scenario {
        match super::orchestrate::next(task, &function_call_outputs(body)) {
            super::orchestrate::Next::Call { tool, args } => json!({
                "type": "function_call",
                "id": unique_id("fc"),
                "call_id": unique_id("call"),
                "namespace": "mcp__zwarm",
                "name": tool,
                "arguments": args.to_string(),
                "status": "completed"
            }),
            super::orchestrate::Next::Answer(text) => message_item(&text),
        }
    } else if let Some(output) = last_item_tool_output(body) {
        // `exec_command` yields after `yield_time_ms` (at most 30 s) with
        // "Process running with session ID N": keep waiting for the command
        // through `write_stdin`, so a long command (SCN_SLOW) keeps the turn
        // running until it ends, as a real model would.
        match running_session_id(&output)
            .filter(|_| tool_names(body).iter().any(|t| t == "write_stdin"))
        {
            Some(session_id) => json!({
                "type": "function_call",
                "id": unique_id("fc"),
                "call_id": unique_id("call"),
                "name": "write_stdin",
                "arguments": json!({"session_id": session_id, "chars": "", "yield_time_ms": 30000}).to_string(),
                "status": "completed"
            }),
            None => message_item(&done_text(&output)),
        }
    } else if let Scenario::Say(text) = &scenario {
        message_item(text)
    } else if let Some(cmd) = scenario.command() {
        shell_call_item(body, &cmd)
            .unwrap_or_else(|| message_item("mock: the request offers no shell tool"))
    } else {
        message_item("mock: nothing to do")
    };
    stream(vec![item])
}

/// The 429 the Responses API answers when a limit is reached.
fn limit_reached(scenario: &Scenario) -> HttpResponse {
    let error = match scenario {
        Scenario::UsageLimit(reset) => json!({
            "type": "usage_limit_reached", "message": "You've hit your usage limit.",
            "plan_type": "plus", "resets_at": reset,
            "resets_in_seconds": reset.saturating_sub(unix_now())
        }),
        Scenario::Quota => json!({
            "type": "insufficient_quota", "code": "insufficient_quota", "param": null,
            "message": "You exceeded your current quota, please check your plan and billing details."
        }),
        _ => json!({
            "type": "requests", "code": "rate_limit_exceeded", "param": null,
            "message": "Rate limit reached for mock-model on requests per min (RPM): Limit 3, Used 3, Requested 1. Please try again in 20s."
        }),
    };
    let resp = HttpResponse::json(429, &json!({ "error": error }));
    match scenario {
        Scenario::Http429 => resp.with_header("retry-after", RETRY_AFTER),
        _ => resp,
    }
}

/// The SSE stream of one successful response carrying `items`.
pub fn stream(items: Vec<Value>) -> HttpResponse {
    let id = unique_id("resp");
    let mut events = vec![(
        "response.created".to_string(),
        json!({"type": "response.created", "response": {"id": id}}),
    )];
    for (i, item) in items.into_iter().enumerate() {
        events.push((
            "response.output_item.done".to_string(),
            json!({"type": "response.output_item.done", "output_index": i, "item": item}),
        ));
    }
    events.push((
        "response.completed".to_string(),
        json!({"type": "response.completed", "response": {"id": id, "usage": {
            "input_tokens": 100,
            "input_tokens_details": {"cached_tokens": 20},
            "output_tokens": 7,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": 107
        }}}),
    ));
    HttpResponse::sse(&events)
}

/// A final assistant message item.
pub fn message_item(text: &str) -> Value {
    json!({
        "type": "message",
        "role": "assistant",
        "id": unique_id("msg"),
        "status": "completed",
        "content": [{"type": "output_text", "text": text, "annotations": []}]
    })
}

/// A `function_call` item running `cmd` through whichever shell tool the
/// request offers: `exec_command` {cmd}, `shell_command` {command} or
/// `shell` {command: [bash, -lc, cmd]}. `None` when none is offered.
pub fn shell_call_item(body: &Value, cmd: &str) -> Option<Value> {
    let tools = tool_names(body);
    let has = |n: &str| tools.iter().any(|t| t == n);
    let (name, args) = if has("exec_command") {
        // Wait up to the 30 s maximum before codex yields a running command.
        ("exec_command", json!({"cmd": cmd, "yield_time_ms": 30000}))
    } else if has("shell_command") {
        ("shell_command", json!({"command": cmd}))
    } else if has("shell") {
        ("shell", json!({"command": ["bash", "-lc", cmd]}))
    } else {
        return None;
    };
    Some(json!({
        "type": "function_call",
        "id": unique_id("fc"),
        "call_id": unique_id("call"),
        "name": name,
        "arguments": args.to_string(),
        "status": "completed"
    }))
}

/// The names of the tools offered in the request's `tools` array.
pub fn tool_names(body: &Value) -> Vec<String> {
    body.get("tools")
        .and_then(Value::as_array)
        .map(|tools| {
            tools
                .iter()
                .filter_map(|t| {
                    t.get("name")
                        .or_else(|| t.pointer("/function/name"))
                        .and_then(Value::as_str)
                        .map(str::to_string)
                })
                .collect()
        })
        .unwrap_or_default()
}

fn input_items(body: &Value) -> &[Value] {
    body.get("input")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

/// The text of the latest user message in `input` (all its text parts joined
/// by newlines); empty when there is none.
pub fn last_user_text(body: &Value) -> String {
    input_items(body)
        .iter()
        .rev()
        .find(|it| it.get("role").and_then(Value::as_str) == Some("user"))
        .map(|it| content_text(it.get("content").unwrap_or(&Value::Null)))
        .unwrap_or_default()
}

/// Every `function_call_output` (and `custom_tool_call_output`) in `input`,
/// as text, oldest first.
pub fn function_call_outputs(body: &Value) -> Vec<String> {
    input_items(body)
        .iter()
        .filter(|it| is_tool_output(it))
        .map(|it| content_text(it.get("output").unwrap_or(&Value::Null)))
        .collect()
}

fn is_tool_output(item: &Value) -> bool {
    matches!(
        item.get("type").and_then(Value::as_str),
        Some("function_call_output" | "custom_tool_call_output" | "local_shell_call_output")
    )
}

/// The output text when the last input item is a tool output.
pub fn last_item_tool_output(body: &Value) -> Option<String> {
    let last = input_items(body).last()?;
    is_tool_output(last).then(|| content_text(last.get("output").unwrap_or(&Value::Null)))
}

/// Text from a string, an array of content parts (`text` fields), or an
/// object with `content`/`output`/`text`.
fn content_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(parts) => parts
            .iter()
            .map(content_text)
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join("\n"),
        Value::Object(o) => ["text", "content", "output"]
            .iter()
            .find_map(|k| o.get(*k))
            .map(content_text)
            .unwrap_or_default(),
        _ => String::new(),
    }
}

/// The unified-exec session id in an `exec_command`/`write_stdin` output
/// that says the process is still running.
pub fn running_session_id(output: &str) -> Option<u64> {
    let at = output.find("Process running with session ID ")?;
    output[at + "Process running with session ID ".len()..]
        .split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}
