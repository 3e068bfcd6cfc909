//! A mock Anthropic Messages API server that the real `claude` CLI accepts.
//!
//! Point claude at it with [`super::agents::claude_env`]. Claude POSTs to
//! `/v1/messages?beta=true` with `"stream": true`; the mock answers with the
//! Messages SSE stream (`message_start`, `content_block_start/delta/stop`,
//! `message_delta`, `message_stop`), or with one JSON message when the
//! request does not stream. Usage per request: input 50, output 9,
//! cache_creation 5, cache_read 7.
//!
//! The answer depends on the latest user text (see [`Scenario`]); by default:
//! a `Bash` tool_use running `echo hello-from-mock`, and once the last user
//! message carries a `tool_result`, a final text `done: <output>`. A request
//! that offers no `Bash` tool (a side request such as a title) gets text.

#[allow(unused_imports)]
pub use super::http::{
    default_reset, Scenario, HELLO_COMMAND, HTTP400_MESSAGE, HTTP500_MESSAGE, SLOW_COMMAND,
};
use super::http::{
    done_text, unique_id, unix_now, HttpResponse, ModelMock, RecordedRequest, RETRY_AFTER,
};
use serde_json::{json, Value};

/// Usage reported for every request.
pub const USAGE_INPUT: u64 = 50;
pub const USAGE_OUTPUT: u64 = 9;
pub const USAGE_CACHE_CREATION: u64 = 5;
pub const USAGE_CACHE_READ: u64 = 7;

/// The Messages mock (its `base_url()` is the value for `ANTHROPIC_BASE_URL`). Stops on drop.
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
    r.method == "POST" && r.route().ends_with("/messages")
}

fn handle(req: &RecordedRequest) -> HttpResponse {
    let route = req.route();
    if req.method == "GET" && route.ends_with("/models") {
        return HttpResponse::json(
            200,
            &json!({"data": [], "models": [], "has_more": false, "first_id": null, "last_id": null}),
        );
    }
    if req.method == "POST" && route.ends_with("/messages/count_tokens") {
        return HttpResponse::json(200, &json!({"input_tokens": USAGE_INPUT}));
    }
    if !is_model_request(req) {
        return HttpResponse::json(
            404,
            &json!({"type": "error", "error": {"type": "not_found_error",
                    "message": format!("mock: no route for {} {}", req.method, req.path)}}),
        );
    }
    respond(&req.body)
}

/// One content block of the answer.
#[derive(Debug, Clone)]
enum Block {
    Text(String),
    Bash {
        id: String,
        command: String,
    },
    /// A call of another tool (zwarm's MCP tools: `mcp__zwarm__<name>`).
    Tool {
        id: String,
        name: String,
        input: Value,
    },
}

/// The answer to one `POST /v1/messages` body.
pub fn respond(body: &Value) -> HttpResponse {
    let scenario = Scenario::from_text(&last_user_text(body));
    match scenario {
        Scenario::Http500 => {
            return HttpResponse::json(
                500,
                &json!({"type": "error", "error": {"type": "api_error", "message": HTTP500_MESSAGE}}),
            )
        }
        Scenario::Http400 => {
            return HttpResponse::json(
                400,
                &json!({"type": "error", "error": {"type": "invalid_request_error", "message": HTTP400_MESSAGE}}),
            )
        }
        Scenario::Http429 | Scenario::UsageLimit(_) | Scenario::Quota => {
            return limit_reached(&scenario)
        }
        _ => {}
    }
    let block = if let Scenario::Orchestrate(task) = &scenario {
        match super::orchestrate::next(task, &tool_results(body)) {
            super::orchestrate::Next::Call { tool, args } => Block::Tool {
                id: unique_id("toolu"),
                name: format!("mcp__zwarm__{tool}"),
                input: args,
            },
            super::orchestrate::Next::Answer(text) => Block::Text(text),
        }
    } else if let Some(output) = last_tool_result(body) {
        Block::Text(done_text(&output))
    } else if let Scenario::Say(text) = &scenario {
        Block::Text(text.clone())
    } else if let Some(command) = scenario.command().filter(|_| offers_tool(body, "Bash")) {
        Block::Bash {
            id: unique_id("toolu"),
            command,
        }
    } else if offers_any_tool(body) || scenario.command().is_none() {
        Block::Text("mock: nothing to do".to_string())
    } else {
        // A side request without tools (e.g. a title): a short text.
        Block::Text("Mock title".to_string())
    };
    let model = body
        .get("model")
        .and_then(Value::as_str)
        .unwrap_or("mock-model")
        .to_string();
    let streaming = body.get("stream").and_then(Value::as_bool).unwrap_or(false);
    if streaming {
        stream(&model, &block)
    } else {
        single(&model, &block)
    }
}

/// The 429 the Messages API answers when a limit is reached: for the
/// account's usage limit, with the unified limiter's headers of a 5-hour
/// limit that claude reads when it signs in to a subscription or a gateway
/// (see [`super::agents::claude_gateway_env`]), and ignores with an API key.
fn limit_reached(scenario: &Scenario) -> HttpResponse {
    let resp = HttpResponse::json(
        429,
        &json!({"type": "error", "error": {"type": "rate_limit_error",
            "message": "This request would exceed your account's rate limit. Please try again later."}}),
    );
    let resp = match scenario {
        Scenario::UsageLimit(reset) => resp
            .with_header("anthropic-ratelimit-unified-status", "rejected")
            .with_header("anthropic-ratelimit-unified-reset", reset)
            .with_header(
                "anthropic-ratelimit-unified-representative-claim",
                "five_hour",
            )
            .with_header("anthropic-ratelimit-unified-5h-status", "rejected")
            .with_header("anthropic-ratelimit-unified-5h-reset", reset)
            .with_header("anthropic-ratelimit-unified-5h-utilization", "1.0")
            .with_header("retry-after", reset.saturating_sub(unix_now())),
        _ => resp.with_header("retry-after", RETRY_AFTER),
    };
    resp.with_header("request-id", "req_mock_1")
}

fn usage(output_tokens: u64) -> Value {
    json!({
        "input_tokens": USAGE_INPUT,
        "output_tokens": output_tokens,
        "cache_creation_input_tokens": USAGE_CACHE_CREATION,
        "cache_read_input_tokens": USAGE_CACHE_READ
    })
}

fn stop_reason(block: &Block) -> &'static str {
    match block {
        Block::Text(_) => "end_turn",
        Block::Bash { .. } | Block::Tool { .. } => "tool_use",
    }
}

fn stream(model: &str, block: &Block) -> HttpResponse {
    let id = unique_id("msg");
    let (start, delta) = match block {
        Block::Text(text) => (
            json!({"type": "text", "text": ""}),
            json!({"type": "text_delta", "text": text}),
        ),
        Block::Bash { id, command } => (
            json!({"type": "tool_use", "id": id, "name": "Bash", "input": {}}),
            json!({"type": "input_json_delta",
                   "partial_json": json!({"command": command, "description": "Run a shell command"}).to_string()}),
        ),
        Block::Tool { id, name, input } => (
            json!({"type": "tool_use", "id": id, "name": name, "input": {}}),
            json!({"type": "input_json_delta", "partial_json": input.to_string()}),
        ),
    };
    let ev = |name: &str, data: Value| (name.to_string(), data);
    HttpResponse::sse(&[
        ev(
            "message_start",
            json!({"type": "message_start", "message": {
                "id": id, "type": "message", "role": "assistant", "model": model,
                "content": [], "stop_reason": null, "stop_sequence": null, "usage": usage(1)
            }}),
        ),
        ev(
            "content_block_start",
            json!({"type": "content_block_start", "index": 0, "content_block": start}),
        ),
        ev(
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 0, "delta": delta}),
        ),
        ev(
            "content_block_stop",
            json!({"type": "content_block_stop", "index": 0}),
        ),
        ev(
            "message_delta",
            json!({"type": "message_delta",
                   "delta": {"stop_reason": stop_reason(block), "stop_sequence": null},
                   "usage": {"output_tokens": USAGE_OUTPUT}}),
        ),
        ev("message_stop", json!({"type": "message_stop"})),
    ])
}

fn single(model: &str, block: &Block) -> HttpResponse {
    let content = match block {
        Block::Text(text) => json!({"type": "text", "text": text}),
        Block::Bash { id, command } => {
            json!({"type": "tool_use", "id": id, "name": "Bash", "input": {"command": command}})
        }
        Block::Tool { id, name, input } => {
            json!({"type": "tool_use", "id": id, "name": name, "input": input})
        }
    };
    HttpResponse::json(
        200,
        &json!({
            "id": unique_id("msg"), "type": "message", "role": "assistant", "model": model,
            "content": [content], "stop_reason": stop_reason(block), "stop_sequence": null,
            "usage": usage(USAGE_OUTPUT)
        }),
    )
}

fn tools(body: &Value) -> &[Value] {
    body.get("tools")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

fn offers_tool(body: &Value, name: &str) -> bool {
    tools(body)
        .iter()
        .any(|t| t.get("name").and_then(Value::as_str) == Some(name))
}

fn offers_any_tool(body: &Value) -> bool {
    !tools(body).is_empty()
}

fn messages(body: &Value) -> &[Value] {
    body.get("messages")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

fn blocks(message: &Value) -> Vec<Value> {
    match message.get("content") {
        Some(Value::String(s)) => vec![json!({"type": "text", "text": s})],
        Some(Value::Array(a)) => a.clone(),
        _ => Vec::new(),
    }
}

fn block_type(block: &Value) -> &str {
    block.get("type").and_then(Value::as_str).unwrap_or("")
}

/// The text of the latest user message that is not a tool result (its text
/// blocks joined by newlines); empty when there is none.
pub fn last_user_text(body: &Value) -> String {
    for m in messages(body).iter().rev() {
        if m.get("role").and_then(Value::as_str) != Some("user") {
            continue;
        }
        let blocks = blocks(m);
        if blocks.iter().any(|b| block_type(b) == "tool_result") {
            continue;
        }
        let text = blocks
            .iter()
            .filter(|b| block_type(b) == "text")
            .filter_map(|b| b.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join("\n");
        if !text.is_empty() {
            return text;
        }
    }
    String::new()
}

/// The output of the `tool_result` in the last message, when the last
/// message is a user message carrying one.
pub fn last_tool_result(body: &Value) -> Option<String> {
    let last = messages(body).last()?;
    if last.get("role").and_then(Value::as_str) != Some("user") {
        return None;
    }
    blocks(last)
        .iter()
        .rev()
        .find(|b| block_type(b) == "tool_result")
        .map(|b| tool_result_text(b.get("content").unwrap_or(&Value::Null)))
}

/// Every `tool_result` in the conversation, as text, oldest first.
pub fn tool_results(body: &Value) -> Vec<String> {
    messages(body)
        .iter()
        .flat_map(blocks)
        .filter(|b| block_type(b) == "tool_result")
        .map(|b| tool_result_text(b.get("content").unwrap_or(&Value::Null)))
        .collect()
}

fn tool_result_text(content: &Value) -> String {
    match content {
        Value::String(s) => s.clone(),
        Value::Array(parts) => parts
            .iter()
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}
