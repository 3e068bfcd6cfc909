//! A mock OpenAI Chat Completions API server that the real `qwen` CLI
//! accepts.
//!
//! Point qwen at it with [`super::agents::qwen_env`]. Qwen POSTs to
//! `/v1/chat/completions` with `"stream": true`; the mock answers with the
//! chunk stream (`data: {chat.completion.chunk}` lines, a last chunk with
//! no choices and the usage, then `data: [DONE]`), or with one
//! `chat.completion` when the request does not stream. Usage per request:
//! prompt 60 (10 of them cached), completion 8.
//!
//! The answer depends on the latest user text (see [`Scenario`]); by default:
//! a `run_shell_command` call running `echo hello-from-mock`, and once the
//! last message is a tool result, a final text `done: <output>`. A request
//! that offers no shell tool, or comes from one of qwen's own subagents
//! (whose system prompt is not the main agent's "You are Qwen Code...": the
//! managed-memory extractor that runs after a turn unless settings turn it
//! off), gets text.

#[allow(unused_imports)]
pub use super::http::{
    default_reset, Scenario, HELLO_COMMAND, HTTP400_MESSAGE, HTTP500_MESSAGE, SLOW_COMMAND,
};
use super::http::{done_text, unique_id, HttpResponse, ModelMock, RecordedRequest, RETRY_AFTER};
use serde_json::{json, Value};

/// Usage reported for every request.
pub const USAGE_PROMPT: u64 = 60;
pub const USAGE_CACHED: u64 = 10;
pub const USAGE_COMPLETION: u64 = 8;

/// The name of qwen's shell tool.
pub const SHELL_TOOL: &str = "run_shell_command";

/// The Chat Completions mock (`OPENAI_BASE_URL` is its port under
/// `http://127.0.0.1:PORT/v1`). Stops on drop.
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
    r.method == "POST" && r.route().ends_with("/chat/completions")
}

fn handle(req: &RecordedRequest) -> HttpResponse {
    let route = req.route();
    if req.method == "GET" && route.ends_with("/models") {
        return HttpResponse::json(200, &json!({"object": "list", "data": []}));
    }
    if !is_model_request(req) {
        return error(
            404,
            &format!("mock: no route for {} {}", req.method, req.path),
            "invalid_request_error",
        );
    }
    respond(&req.body)
}

fn error(status: u16, message: &str, kind: &str) -> HttpResponse {
    HttpResponse::json(
        status,
        &json!({"error": {"message": message, "type": kind, "param": null, "code": null}}),
    )
}

/// What the model says in one response.
#[derive(Debug, Clone)]
enum Answer {
    Text(String),
    Shell { id: String, command: String },
}

/// The answer to one `POST /v1/chat/completions` body.
pub fn respond(body: &Value) -> HttpResponse {
    let scenario = Scenario::from_text(&last_user_text(body));
    match scenario {
        Scenario::Http500 => return error(500, HTTP500_MESSAGE, "server_error"),
        Scenario::Http400 => return error(400, HTTP400_MESSAGE, "invalid_request_error"),
        Scenario::Http429 | Scenario::UsageLimit(_) | Scenario::Quota => {
            return error(
                429,
                "Rate limit reached for mock-model. Please try again later.",
                "rate_limit_exceeded",
            )
            .with_header("retry-after", RETRY_AFTER)
        }
        _ => {}
    }
    let answer = if let Some(output) = last_tool_result(body) {
        Answer::Text(done_text(&output))
    } else if let Scenario::Say(text) = &scenario {
        Answer::Text(text.clone())
    } else if let Some(command) = scenario.command().filter(|_| offers_shell(body)) {
        Answer::Shell {
            id: unique_id("call"),
            command,
        }
    } else if offers_shell(body) || scenario.command().is_none() {
        Answer::Text("mock: nothing to do".to_string())
    } else {
        Answer::Text("Mock side answer".to_string())
    };
    let model = body
        .get("model")
        .and_then(Value::as_str)
        .unwrap_or("mock-model")
        .to_string();
    if body.get("stream").and_then(Value::as_bool).unwrap_or(false) {
        stream(&model, &answer)
    } else {
        single(&model, &answer)
    }
}

fn usage() -> Value {
    json!({
        "prompt_tokens": USAGE_PROMPT,
        "completion_tokens": USAGE_COMPLETION,
        "total_tokens": USAGE_PROMPT + USAGE_COMPLETION,
        "prompt_tokens_details": {"cached_tokens": USAGE_CACHED}
    })
}

fn shell_arguments(command: &str) -> String {
    json!({"command": command, "description": "Run a shell command", "is_background": false})
        .to_string()
}

fn stream(model: &str, answer: &Answer) -> HttpResponse {
    let id = unique_id("chatcmpl");
    let chunk = |choices: Value, usage: Value| {
        json!({"id": id, "object": "chat.completion.chunk", "created": 1_764_000_000u64,
               "model": model, "choices": choices, "usage": usage})
    };
    let (delta, finish) = match answer {
        Answer::Text(text) => (json!({"role": "assistant", "content": text}), "stop"),
        Answer::Shell { id, command } => (
            json!({"role": "assistant", "content": null, "tool_calls": [{
                "index": 0, "id": id, "type": "function",
                "function": {"name": SHELL_TOOL, "arguments": shell_arguments(command)}
            }]}),
            "tool_calls",
        ),
    };
    HttpResponse::sse_data(&[
        chunk(
            json!([{"index": 0, "delta": delta, "finish_reason": null}]),
            Value::Null,
        ),
        chunk(
            json!([{"index": 0, "delta": {}, "finish_reason": finish}]),
            Value::Null,
        ),
        chunk(json!([]), usage()),
    ])
}

fn single(model: &str, answer: &Answer) -> HttpResponse {
    let (message, finish) = match answer {
        Answer::Text(text) => (json!({"role": "assistant", "content": text}), "stop"),
        Answer::Shell { id, command } => (
            json!({"role": "assistant", "content": null, "tool_calls": [{
                "id": id, "type": "function",
                "function": {"name": SHELL_TOOL, "arguments": shell_arguments(command)}
            }]}),
            "tool_calls",
        ),
    };
    HttpResponse::json(
        200,
        &json!({"id": unique_id("chatcmpl"), "object": "chat.completion",
                "created": 1_764_000_000u64, "model": model,
                "choices": [{"index": 0, "message": message, "finish_reason": finish}],
                "usage": usage()}),
    )
}

fn offers_shell(body: &Value) -> bool {
    let subagent = messages(body)
        .first()
        .filter(|m| role(m) == "system")
        .is_some_and(|m| !content_text(m).starts_with("You are Qwen Code"));
    !subagent
        && body
            .get("tools")
            .and_then(Value::as_array)
            .is_some_and(|tools| {
                tools.iter().any(|t| {
                    t.pointer("/function/name").and_then(Value::as_str) == Some(SHELL_TOOL)
                })
            })
}

fn messages(body: &Value) -> &[Value] {
    body.get("messages")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

fn role(m: &Value) -> &str {
    m.get("role").and_then(Value::as_str).unwrap_or("")
}

/// A message's text: a string, or its text parts joined by newlines.
fn content_text(m: &Value) -> String {
    match m.get("content") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(parts)) => parts
            .iter()
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}

/// The text of the latest user message; empty when there is none.
pub fn last_user_text(body: &Value) -> String {
    messages(body)
        .iter()
        .rev()
        .filter(|m| role(m) == "user")
        .map(content_text)
        .find(|t| !t.is_empty())
        .unwrap_or_default()
}

/// The tool result, when the last message is one.
pub fn last_tool_result(body: &Value) -> Option<String> {
    let last = messages(body).last()?;
    (role(last) == "tool").then(|| content_text(last))
}

/// Every user and tool text of the conversation, oldest first: what a
/// resumed request carries of the turns before it.
pub fn conversation_texts(body: &Value) -> Vec<String> {
    messages(body)
        .iter()
        .filter(|m| matches!(role(m), "user" | "tool" | "assistant"))
        .map(content_text)
        .collect()
}
