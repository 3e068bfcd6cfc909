//! A mock Gemini API server that the real `gemini` CLI accepts.
//!
//! Point gemini at it with [`super::agents::gemini_env`]. Gemini POSTs to
//! `/v1beta/models/<model>:streamGenerateContent?alt=sse`; the mock answers
//! with an SSE stream of `GenerateContentResponse` chunks (`data:` lines
//! only), the last one carrying the usage. Usage per request: prompt 60
//! (12 of them cached), candidates 8, thoughts 3, total 71. The routing
//! classifier of the `auto` model (`:generateContent`) is told `flash`, and
//! `:countTokens` is answered too.
//!
//! The answer depends on the latest user text (see [`Scenario`]); by default:
//! a `run_shell_command` call of `echo hello-from-mock`, and once the last
//! user content carries a `functionResponse`, a final text `done: <output>`,
//! streamed in two chunks.

use super::http::{done_text, unique_id, HttpResponse, ModelMock, RecordedRequest};
#[allow(unused_imports)]
pub use super::http::{Scenario, HELLO_COMMAND, HTTP400_MESSAGE, HTTP500_MESSAGE};
use serde_json::{json, Value};

/// Usage reported for every model request.
pub const USAGE_PROMPT: u64 = 60;
pub const USAGE_CACHED: u64 = 12;
pub const USAGE_CANDIDATES: u64 = 8;
pub const USAGE_THOUGHTS: u64 = 3;
pub const USAGE_TOTAL: u64 = USAGE_PROMPT + USAGE_CANDIDATES + USAGE_THOUGHTS;

/// About 60 s, and found by `sleep` in `/proc`. Not the other mocks' loop:
/// gemini 0.61.0 refuses a command with `$(...)` ("Blocked: command
/// substitution detected").
pub const SLOW_COMMAND: &str = "echo tick; sleep 60; echo tock";

/// The Gemini API mock (`http://127.0.0.1:<port>` is the value for
/// `GOOGLE_GEMINI_BASE_URL`). Stops on drop.
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
    r.method == "POST" && r.route().ends_with(":streamGenerateContent")
}

/// The model a request names in its path (`/v1beta/models/<model>:...`).
pub fn model_of(r: &RecordedRequest) -> String {
    let route = r.route();
    let after = route.rsplit('/').next().unwrap_or_default();
    after.split(':').next().unwrap_or_default().to_string()
}

/// The model version the mock says served a request for `model`: not the
/// name asked for, so that a test can tell which one an agent reports.
pub fn served_model(model: &str) -> String {
    format!("{model}-001")
}

fn handle(req: &RecordedRequest) -> HttpResponse {
    let route = req.route();
    if req.method == "POST" && route.ends_with(":countTokens") {
        return HttpResponse::json(200, &json!({"totalTokens": USAGE_PROMPT}));
    }
    if req.method == "POST" && route.ends_with(":generateContent") {
        // The routing classifier: pick the flash model.
        let answer = json!({"reasoning": "mock", "model_choice": "flash"}).to_string();
        return HttpResponse::json(
            200,
            &chunk(&model_of(req), &[json!({"text": answer})], true),
        );
    }
    if !is_model_request(req) {
        return HttpResponse::json(
            404,
            &json!({"error": {"code": 404, "status": "NOT_FOUND",
                    "message": format!("mock: no route for {} {}", req.method, req.path)}}),
        );
    }
    respond(&model_of(req), &req.body)
}

fn api_error(code: u16, status: &str, message: &str) -> HttpResponse {
    HttpResponse::json(
        code,
        &json!({"error": {"code": code, "message": message, "status": status}}),
    )
}

/// The answer to one `:streamGenerateContent` body.
pub fn respond(model: &str, body: &Value) -> HttpResponse {
    let scenario = Scenario::from_text(&last_user_text(body));
    match scenario {
        Scenario::Http400 => return api_error(400, "INVALID_ARGUMENT", HTTP400_MESSAGE),
        Scenario::Http500 => return api_error(500, "INTERNAL", HTTP500_MESSAGE),
        Scenario::Http429 | Scenario::UsageLimit(_) | Scenario::Quota => {
            return api_error(429, "RESOURCE_EXHAUSTED", "mock: quota exceeded")
        }
        _ => {}
    }
    let command = match &scenario {
        Scenario::Slow => Some(SLOW_COMMAND.to_string()),
        other => other.command(),
    };
    let chunks = if let Some(output) = last_function_output(body) {
        text_chunks(&done_text(&shell_output(&output)))
    } else if let Scenario::Say(text) = &scenario {
        text_chunks(text)
    } else if let Some(command) = command.filter(|_| offers_tool(body, "run_shell_command")) {
        vec![vec![json!({"functionCall": {
            "id": unique_id("call"),
            "name": "run_shell_command",
            "args": {"command": command, "description": "Run a shell command"}
        }})]]
    } else {
        text_chunks("mock: nothing to do")
    };
    let mut sse = String::new();
    for (i, parts) in chunks.iter().enumerate() {
        let last = i + 1 == chunks.len();
        sse.push_str("data: ");
        sse.push_str(&chunk(model, parts, last).to_string());
        sse.push_str("\r\n\r\n");
    }
    HttpResponse {
        status: 200,
        content_type: "text/event-stream".to_string(),
        headers: Vec::new(),
        body: sse.into_bytes(),
    }
}

/// A text answer in two chunks, as the API streams longer ones.
fn text_chunks(text: &str) -> Vec<Vec<Value>> {
    let cut = text
        .char_indices()
        .map(|(i, _)| i)
        .nth(text.chars().count() / 2)
        .unwrap_or(0);
    let (a, b) = text.split_at(cut);
    [a, b]
        .iter()
        .filter(|t| !t.is_empty())
        .map(|t| vec![json!({ "text": t })])
        .collect()
}

/// One `GenerateContentResponse`; the last of a stream carries the finish
/// reason and the usage.
fn chunk(model: &str, parts: &[Value], last: bool) -> Value {
    let mut candidate = json!({"content": {"role": "model", "parts": parts}, "index": 0});
    let mut v = json!({
        "candidates": [],
        "modelVersion": served_model(model),
        "responseId": "mock-response",
    });
    if last {
        candidate["finishReason"] = json!("STOP");
        v["usageMetadata"] = json!({
            "promptTokenCount": USAGE_PROMPT,
            "cachedContentTokenCount": USAGE_CACHED,
            "candidatesTokenCount": USAGE_CANDIDATES,
            "thoughtsTokenCount": USAGE_THOUGHTS,
            "totalTokenCount": USAGE_TOTAL,
        });
    }
    v["candidates"] = json!([candidate]);
    v
}

fn contents(body: &Value) -> &[Value] {
    body["contents"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

fn parts(content: &Value) -> &[Value] {
    content["parts"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

/// The text parts of the last user content.
pub fn last_user_text(body: &Value) -> String {
    contents(body)
        .iter()
        .rev()
        .find(|c| c["role"] == "user")
        .map(|c| {
            parts(c)
                .iter()
                .filter_map(|p| p["text"].as_str())
                .collect::<Vec<_>>()
                .join("\n")
        })
        .unwrap_or_default()
}

/// What a function's result says, as the model receives it.
fn function_output(part: &Value) -> Option<String> {
    let response = &part.get("functionResponse")?["response"];
    Some(
        response["output"]
            .as_str()
            .or(response["error"].as_str())
            .map(str::to_string)
            .unwrap_or_else(|| response.to_string()),
    )
}

/// The function result the last content carries, if it is one.
pub fn last_function_output(body: &Value) -> Option<String> {
    let last = contents(body).last()?;
    parts(last).iter().find_map(function_output)
}

/// Every function result in the conversation, oldest first.
pub fn function_outputs(body: &Value) -> Vec<String> {
    contents(body)
        .iter()
        .flat_map(parts)
        .filter_map(function_output)
        .collect()
}

/// What the command printed, out of the shell tool's report to the model
/// (`Output: ...` up to `Process Group PGID: ...` or another field).
pub fn shell_output(report: &str) -> String {
    let Some(at) = report.find("Output: ") else {
        return report.to_string();
    };
    let fields = [
        "\nProcess Group PGID:",
        "\nExit Code:",
        "\nError:",
        "\nSignal:",
        "\nBackground PIDs:",
        "\n</untrusted_context>",
    ];
    let rest = &report[at + "Output: ".len()..];
    let end = fields
        .iter()
        .filter_map(|f| rest.find(f))
        .min()
        .unwrap_or(rest.len());
    rest[..end].to_string()
}

/// Whether the request offers the function `name`.
pub fn offers_tool(body: &Value, name: &str) -> bool {
    body["tools"].as_array().is_some_and(|tools| {
        tools.iter().any(|t| {
            t["functionDeclarations"]
                .as_array()
                .is_some_and(|d| d.iter().any(|f| f["name"] == name))
        })
    })
}
