//! A tiny std-only HTTP/1.1 server for the mock model servers.
//!
//! One thread accepts; each connection is served on its own thread. Every
//! response carries `Connection: close`, so each request is one connection
//! and no thread lingers on an idle keep-alive socket. Request bodies may be
//! sized by `Content-Length` or sent chunked. Every request is recorded
//! (method, path, body text and the body parsed as JSON).
//! Dropping the server stops the accept thread and joins it.

use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// One request the server received.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    pub method: String,
    /// The request target with its query string, e.g. `/v1/messages?beta=true`.
    pub path: String,
    /// The body as text (lossy UTF-8).
    pub body_text: String,
    /// The body parsed as JSON, or `Value::Null` when it is empty or not JSON.
    pub body: Value,
}

impl RecordedRequest {
    /// The path without the query string.
    pub fn route(&self) -> &str {
        self.path.split('?').next().unwrap_or("")
    }
}

/// A complete HTTP response.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    pub status: u16,
    pub content_type: String,
    /// Headers besides the content type, length and connection.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    pub fn json(status: u16, body: &Value) -> HttpResponse {
        HttpResponse {
            status,
            content_type: "application/json".to_string(),
            headers: Vec::new(),
            body: body.to_string().into_bytes(),
        }
    }

    /// The same response with the header `name: value` as well.
    pub fn with_header(mut self, name: &str, value: impl ToString) -> HttpResponse {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    /// The value of the header `name`, if the response has it.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// A `text/event-stream` body made of `(event name, data)` pairs.
    pub fn sse(events: &[(String, Value)]) -> HttpResponse {
        let mut body = String::new();
        for (name, data) in events {
            body.push_str("event: ");
            body.push_str(name);
            body.push_str("\ndata: ");
            body.push_str(&data.to_string());
            body.push_str("\n\n");
        }
        HttpResponse {
            status: 200,
            content_type: "text/event-stream".to_string(),
            headers: Vec::new(),
            body: body.into_bytes(),
        }
    }
}

impl HttpResponse {
    /// A `text/event-stream` body of unnamed events, one `data:` line each,
    /// ending in `data: [DONE]` (the OpenAI Chat Completions framing).
    pub fn sse_data(events: &[Value]) -> HttpResponse {
        let mut body = String::new();
        for data in events {
            body.push_str("data: ");
            body.push_str(&data.to_string());
            body.push_str("\n\n");
        }
        body.push_str("data: [DONE]\n\n");
        HttpResponse {
            status: 200,
            content_type: "text/event-stream".to_string(),
            headers: Vec::new(),
            body: body.into_bytes(),
        }
    }
}

/// Turns a recorded request into a response.
pub type Handler = dyn Fn(&RecordedRequest) -> HttpResponse + Send + Sync + 'static;

/// The server: bound to 127.0.0.1 on a free port, stopped on drop.
pub struct HttpServer {
    addr: SocketAddr,
    requests: Arc<Mutex<Vec<RecordedRequest>>>,
    stop: Arc<AtomicBool>,
    accept_thread: Option<JoinHandle<()>>,
}

impl HttpServer {
    pub fn start(handler: Arc<Handler>) -> HttpServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("mock server: bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("mock server: local_addr");
        let requests: Arc<Mutex<Vec<RecordedRequest>>> = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let accept_thread = {
            let requests = Arc::clone(&requests);
            let stop = Arc::clone(&stop);
            std::thread::Builder::new()
                .name(format!("mock-http-{}", addr.port()))
                .spawn(move || {
                    for conn in listener.incoming() {
                        if stop.load(Ordering::SeqCst) {
                            break;
                        }
                        let Ok(stream) = conn else { continue };
                        let requests = Arc::clone(&requests);
                        let handler = Arc::clone(&handler);
                        let _ = std::thread::Builder::new()
                            .name("mock-http-conn".to_string())
                            .spawn(move || serve_connection(stream, &requests, &*handler));
                    }
                })
                .expect("mock server: spawn accept thread")
        };
        HttpServer {
            addr,
            requests,
            stop,
            accept_thread: Some(accept_thread),
        }
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// A snapshot of every request received so far, oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.requests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

/// A model API mock: the server, and which of its requests are calls of
/// the model (the others list models, fetch settings, ...).
pub struct ModelMock {
    http: HttpServer,
    is_model_request: fn(&RecordedRequest) -> bool,
}

impl ModelMock {
    /// Binds 127.0.0.1 on a free port and starts serving.
    pub fn start(
        handler: fn(&RecordedRequest) -> HttpResponse,
        is_model_request: fn(&RecordedRequest) -> bool,
    ) -> ModelMock {
        ModelMock {
            http: HttpServer::start(Arc::new(handler)),
            is_model_request,
        }
    }

    pub fn port(&self) -> u16 {
        self.http.port()
    }

    /// Every request received so far, oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.http.requests()
    }

    /// Only the model requests, oldest first.
    pub fn model_requests(&self) -> Vec<RecordedRequest> {
        self.requests()
            .into_iter()
            .filter(|r| (self.is_model_request)(r))
            .collect()
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the blocking accept() so the thread sees the flag.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(t) = self.accept_thread.take() {
            let _ = t.join();
        }
    }
}

fn serve_connection(stream: TcpStream, requests: &Mutex<Vec<RecordedRequest>>, handler: &Handler) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    let _ = stream.set_write_timeout(Some(Duration::from_secs(30)));
    let Ok(write_half) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(stream);
    let mut writer = write_half;
    let Some(req) = read_request(&mut reader, &mut writer) else {
        return;
    };
    requests
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(req.clone());
    let resp = handler(&req);
    let mut head = format!(
        "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nCache-Control: no-cache\r\nConnection: close\r\n",
        resp.status,
        reason(resp.status),
        resp.content_type,
        resp.body.len()
    );
    for (name, value) in &resp.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    let _ = writer.write_all(head.as_bytes());
    if req.method != "HEAD" {
        let _ = writer.write_all(&resp.body);
    }
    let _ = writer.flush();
    let _ = writer.shutdown(Shutdown::Write);
    // Drain whatever the client still sends so the close is graceful.
    let mut sink = [0u8; 1024];
    let _ = reader
        .get_ref()
        .set_read_timeout(Some(Duration::from_millis(200)));
    while matches!(reader.read(&mut sink), Ok(n) if n > 0) {}
}

fn read_request(
    reader: &mut BufReader<TcpStream>,
    writer: &mut TcpStream,
) -> Option<RecordedRequest> {
    let mut line = String::new();
    if reader.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_string();
    let path = parts.next()?.to_string();

    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).ok()? == 0 {
            return None;
        }
        let h = h.trim_end_matches(['\r', '\n']);
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    let get = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    if get("expect").is_some_and(|v| v.eq_ignore_ascii_case("100-continue")) {
        let _ = writer.write_all(b"HTTP/1.1 100 Continue\r\n\r\n");
        let _ = writer.flush();
    }
    let chunked =
        get("transfer-encoding").is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
    let body = if chunked {
        read_chunked(reader)?
    } else {
        let len: usize = get("content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0u8; len];
        reader.read_exact(&mut body).ok()?;
        body
    };
    let body_text = String::from_utf8_lossy(&body).into_owned();
    let body_json = serde_json::from_slice(&body).unwrap_or(Value::Null);
    Some(RecordedRequest {
        method,
        path,
        body_text,
        body: body_json,
    })
}

fn read_chunked(reader: &mut BufReader<TcpStream>) -> Option<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let mut size_line = String::new();
        if reader.read_line(&mut size_line).ok()? == 0 {
            return None;
        }
        let size_hex = size_line.trim().split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size_hex, 16).ok()?;
        if size == 0 {
            // Trailers, then the final blank line.
            loop {
                let mut t = String::new();
                if reader.read_line(&mut t).ok()? == 0 || t.trim().is_empty() {
                    return Some(body);
                }
            }
        }
        let start = body.len();
        body.resize(start + size, 0);
        reader.read_exact(&mut body[start..]).ok()?;
        let mut crlf = String::new();
        reader.read_line(&mut crlf).ok()?;
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        529 => "Overloaded",
        _ => "Status",
    }
}

/// A process-unique id such as `call_1a2b3c_7`: unique across mock servers
/// too, so a resumed conversation never sees a repeated tool-call id.
pub fn unique_id(prefix: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    format!(
        "{prefix}_{:x}{:x}_{n}",
        nanos & 0xffff_ffff,
        std::process::id()
    )
}

/// The scenario keywords shared by both mocks, found in the latest user text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scenario {
    /// One shell call `echo hello-from-mock`, then a final message quoting
    /// the tool output (`done: ...`).
    Default,
    /// `SCN_SLOW`: one shell call that takes about 60 s ([`SLOW_COMMAND`]).
    Slow,
    /// `SCN_HTTP500`: HTTP 500 with a JSON error body.
    Http500,
    /// `SCN_HTTP400`: HTTP 400 whose error message is `mock: prompt is invalid`.
    Http400,
    /// `SCN_HTTP429`: HTTP 429, a rate limit with no reset but `retry-after`.
    Http429,
    /// `SCN_USAGE_LIMIT [<unix seconds>]`: HTTP 429, the account's usage
    /// limit reached, lifting at the time given, else at [`default_reset`].
    UsageLimit(u64),
    /// `SCN_QUOTA`: HTTP 429, the account's quota spent (the Responses
    /// API's `insufficient_quota`; the Messages API has no such 429, and
    /// its mock answers as for `SCN_HTTP429`).
    Quota,
    /// `SCN_SAY <text>`: no tool call; the final message is exactly `<text>`.
    Say(String),
    /// `SCN_CMD <command>`: one shell call running `<command>` (to end of line).
    Cmd(String),
    /// `SCN_ORCHESTRATE <task>`: zwarm's MCP tools called in turn (see
    /// [`super::orchestrate`]): `start` with `<task>`, `wait`, `show`, then
    /// an answer quoting the child's final message.
    Orchestrate(String),
}

pub const HELLO_COMMAND: &str = "echo hello-from-mock";
/// About 60 s. Not a bare `sleep 60`: Claude Code 2.1.330 refuses a standalone
/// sleep ("Blocked: standalone sleep 60 ..."); this loop is what the captured
/// transcripts used.
pub const SLOW_COMMAND: &str = "for i in $(seq 1 60); do echo tick $i; sleep 1; done";
pub const HTTP400_MESSAGE: &str = "mock: prompt is invalid";
pub const HTTP500_MESSAGE: &str = "mock: internal server error";
/// What `retry-after` says of a `SCN_HTTP429`, in seconds.
pub const RETRY_AFTER: u64 = 20;

/// The Unix time now, in seconds.
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Two hours from now, on a whole minute: the agents show a reset to the
/// minute.
pub fn default_reset() -> u64 {
    (unix_now() / 60 + 120) * 60
}

impl Scenario {
    pub fn from_text(text: &str) -> Scenario {
        if text.contains("SCN_HTTP500") {
            Scenario::Http500
        } else if text.contains("SCN_HTTP400") {
            Scenario::Http400
        } else if text.contains("SCN_HTTP429") {
            Scenario::Http429
        } else if let Some(rest) = after_keyword(text, "SCN_USAGE_LIMIT") {
            Scenario::UsageLimit(rest.trim().parse().unwrap_or_else(|_| default_reset()))
        } else if text.contains("SCN_QUOTA") {
            Scenario::Quota
        } else if let Some(rest) = after_keyword(text, "SCN_ORCHESTRATE") {
            Scenario::Orchestrate(rest)
        } else if let Some(rest) = after_keyword(text, "SCN_SAY") {
            Scenario::Say(rest)
        } else if let Some(rest) = after_keyword(text, "SCN_CMD") {
            Scenario::Cmd(rest)
        } else if text.contains("SCN_SLOW") {
            Scenario::Slow
        } else {
            Scenario::Default
        }
    }

    /// The shell command this scenario runs as its tool call, if any.
    pub fn command(&self) -> Option<String> {
        match self {
            Scenario::Default => Some(HELLO_COMMAND.to_string()),
            Scenario::Slow => Some(SLOW_COMMAND.to_string()),
            Scenario::Cmd(c) => Some(c.clone()),
            _ => None,
        }
    }
}

/// The text after `keyword` up to the end of its line (one leading space
/// dropped), when `keyword` occurs.
fn after_keyword(text: &str, keyword: &str) -> Option<String> {
    let at = text.find(keyword)?;
    let rest = &text[at + keyword.len()..];
    let rest = rest.split(['\n', '\r']).next().unwrap_or("");
    Some(rest.strip_prefix(' ').unwrap_or(rest).to_string())
}

/// The final message after a tool call: `done: <tool output, trimmed>`.
/// codex's `exec_command` wraps the output in a header ("Chunk ID: ...",
/// "Wall time: ...", "Output:"); only the part after `Output:` is quoted.
pub fn done_text(tool_output: &str) -> String {
    let output = match tool_output.rfind("Output:\n") {
        Some(at) => &tool_output[at + "Output:\n".len()..],
        None => tool_output,
    };
    format!("done: {}", output.trim())
}
