//! The MCP side: the handler rmcp calls for `tools/list` and `tools/call`.
//! Every tool body blocks, so each runs on a thread of its own, never on
//! the event loop: a long `wait` must not hold up a `list` sent meanwhile.

use super::caps;
use super::schema::{self, WAIT_DEFAULT_S, WAIT_MAX_S};
use super::tools::{self, Reply, ToolError, Tools};
use crate::model::Session;
use crate::session::manager::Manager;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation,
    ListToolsResult, PaginatedRequestParams, ProgressNotificationParam, ServerCapabilities,
    ServerConfig, Tool,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData as McpError, RoleServer, ServerHandler};
use serde::Deserialize;
use serde_json::Value;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How often a waiting `wait` tells a client that asked for progress that
/// it is still waiting (clients reset their call timeouts on it).
const PROGRESS_EVERY: Duration = Duration::from_secs(10);

pub(crate) struct Server {
    tools: Arc<Tools>,
    progress_every: Duration,
}

#[derive(Deserialize)]
struct WaitArgs {
    ids: Vec<String>,
    #[serde(default)]
    any: bool,
    timeout_s: Option<u64>,
}

impl Server {
    pub(crate) fn new(tools: Tools) -> Server {
        // Tests wait for several notifications without waiting 10 s each.
        let progress_every = std::env::var("ZWARM_TEST_PROGRESS_MS")
            .ok()
            .and_then(|v| v.parse().ok())
            .map_or(PROGRESS_EVERY, Duration::from_millis);
        Server {
            tools: Arc::new(tools),
            progress_every,
        }
    }

    /// Runs `f` on a blocking thread.
    async fn blocking<F>(&self, f: F) -> Result<Reply, ToolError>
    where
        F: FnOnce(&Tools) -> Result<Reply, ToolError> + Send + 'static,
    {
        let tools = Arc::clone(&self.tools);
        tokio::task::spawn_blocking(move || f(&tools))
            .await
            .unwrap_or_else(|e| Err(ToolError::Refused(format!("the tool stopped: {e}"))))
    }

    async fn wait(
        &self,
        arguments: Value,
        ctx: &RequestContext<RoleServer>,
    ) -> Result<Reply, ToolError> {
        let a: WaitArgs = tools::args(&arguments)?;
        let timeout = Duration::from_secs(a.timeout_s.unwrap_or(WAIT_DEFAULT_S).min(WAIT_MAX_S));
        let asked = a.ids.clone();
        let tools = Arc::clone(&self.tools);
        let ids = tokio::task::spawn_blocking(move || tools.resolve_all(&asked))
            .await
            .unwrap_or_else(|e| Err(ToolError::Refused(format!("the tool stopped: {e}"))))?;
        // One plain thread a session, asleep in the kernel on its
        // supervisor's lock: not the runtime's blocking pool, whose threads
        // the runtime would wait for at exit. A thread left behind by a
        // cancelled or timed-out wait ends with its session's turn.
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        for (n, id) in ids.iter().enumerate() {
            let tx = tx.clone();
            let m: Manager = self.tools.manager();
            let id = id.clone();
            std::thread::Builder::new()
                .name("zwarm-wait".into())
                .spawn(move || {
                    let _ = tx.send((n, m.block_until_ended(&id)));
                })
                .map_err(|e| ToolError::Refused(format!("cannot start a thread: {e}")))?;
        }
        drop(tx);
        let token = ctx.meta.get_progress_token();
        let started = Instant::now();
        let deadline = tokio::time::sleep(timeout);
        tokio::pin!(deadline);
        let mut tick = tokio::time::interval_at(
            tokio::time::Instant::now() + self.progress_every,
            self.progress_every,
        );
        let mut ended: Vec<Option<Session>> = vec![None; ids.len()];
        let mut remaining = ids.len();
        while remaining > 0 {
            tokio::select! {
                got = rx.recv() => match got {
                    Some((n, result)) => {
                        ended[n] = Some(result?);
                        remaining -= 1;
                        if a.any {
                            break;
                        }
                    }
                    None => break,
                },
                () = &mut deadline => break,
                _ = tick.tick(), if token.is_some() => {
                    if let Some(t) = &token {
                        let waited = started.elapsed().as_secs_f64();
                        let note = format!(
                            "{} of {} session(s) ended after {:.0} s",
                            ids.len() - remaining, ids.len(), waited
                        );
                        let p = ProgressNotificationParam::new(t.clone(), waited)
                            .with_total(timeout.as_secs_f64())
                            .with_message(note);
                        let _ = ctx.peer.notify_progress(p).await;
                    }
                }
                // Only the waiting stops: the sessions go on.
                () = ctx.ct.cancelled() => {
                    return Err(ToolError::Refused("the wait was cancelled".into()));
                }
            }
        }
        let tools = Arc::clone(&self.tools);
        let any = a.any;
        tokio::task::spawn_blocking(move || tools.waited(&ids, ended, any))
            .await
            .unwrap_or_else(|e| Err(ToolError::Refused(format!("the tool stopped: {e}"))))
    }
}

/// A result the client shows: the document as `structuredContent` (what
/// codex hands its model), a line for people as the text; an error as its
/// one line, with the document where there is one.
fn result(r: Result<Reply, ToolError>) -> CallToolResult {
    match r {
        Ok(Reply { doc, summary }) => {
            let mut res = CallToolResult::success(vec![ContentBlock::text(summary)]);
            res.structured_content = Some(doc);
            res
        }
        Err(ToolError::Failed { message, doc }) => {
            let mut res = CallToolResult::error(vec![ContentBlock::text(message)]);
            res.structured_content = Some(doc);
            res
        }
        Err(e) => CallToolResult::error(vec![ContentBlock::text(one_line(&e))]),
    }
}

fn one_line(e: &ToolError) -> String {
    let mut text = e.to_string();
    if let ToolError::Zwarm(z) = e {
        if let Some(h) = z.hint() {
            text = format!("{text} (hint: {h})");
        }
    }
    text.replace('\n', " ")
}

impl ServerHandler for Server {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("zwarm", env!("CARGO_PKG_VERSION")))
            .with_instructions(
                "zwarm runs coding agents (codex, claude) as background sessions. start returns at \
                 once; wait returns which sessions ended and which still run (call it again); show \
                 and trajectory tell what a session did; inject continues its conversation.",
            )
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _ctx: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        let tools = schema::tools()
            .into_iter()
            .map(serde_json::from_value::<Tool>)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| McpError::internal_error(format!("tool definitions: {e}"), None))?;
        Ok(ListToolsResult::with_all_items(tools))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        let arguments = Value::Object(request.arguments.clone().unwrap_or_default());
        if let Some(host) = arguments.get("host").filter(|h| !h.is_null()) {
            let Some(host) = host.as_str().map(str::to_string) else {
                return Ok(result(Err(ToolError::Refused(
                    "invalid arguments: host is not a string".into(),
                )))
                .into());
            };
            let tool = request.name.to_string();
            let name = ctx
                .peer
                .peer_info()
                .map(|i| i.client_info.name.clone())
                .or_else(|| ctx.meta.client_info().map(|i| i.name));
            let source = caps::source(name.as_deref());
            let r = self
                .blocking(move |t| t.remote(&host, &tool, &arguments, source))
                .await;
            return Ok(result(r).into());
        }
        let r = match request.name.as_ref() {
            "start" => {
                // A client of the stateless protocol (claude's `server/discover`)
                // never sends `initialize`: its name comes with every request.
                let name = ctx
                    .peer
                    .peer_info()
                    .map(|i| i.client_info.name.clone())
                    .or_else(|| ctx.meta.client_info().map(|i| i.name));
                let source = caps::source(name.as_deref());
                self.blocking(move |t| t.start(tools::args(&arguments)?, source))
                    .await
            }
            "list" => {
                self.blocking(move |t| t.list(tools::args(&arguments)?))
                    .await
            }
            "show" => {
                self.blocking(move |t| t.show(tools::args(&arguments)?))
                    .await
            }
            "trajectory" => {
                self.blocking(move |t| t.trajectory(tools::args(&arguments)?))
                    .await
            }
            "diff" => {
                self.blocking(move |t| t.diff(tools::args(&arguments)?))
                    .await
            }
            "inject" => {
                self.blocking(move |t| t.inject(tools::args(&arguments)?))
                    .await
            }
            "kill" => {
                self.blocking(move |t| t.kill(tools::args(&arguments)?))
                    .await
            }
            "wait" => self.wait(arguments, &ctx).await,
            other => {
                return Err(McpError::invalid_params(
                    format!("no tool named {other:?}"),
                    None,
                ));
            }
        };
        Ok(result(r).into())
    }
}
