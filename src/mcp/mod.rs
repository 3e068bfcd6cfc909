//! `zwarm mcp`: zwarm's verbs as MCP tools, over stdio. `caps` decides what
//! a client may ask for, `schema` describes the tools, `tools` runs them
//! (the manager's calls, the `--json` documents), `remote` runs them on
//! another host, `server` speaks MCP.
//!
//! The async runtime lives here only, built when `zwarm mcp` starts: every
//! other verb, and above all every waiting supervisor (the same binary),
//! runs without one.

mod caps;
mod remote;
mod schema;
mod server;
mod tools;

pub(crate) use tools::Limits;

use crate::store::Store;
use rmcp::ServiceExt;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub(crate) enum McpError {
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
    #[error("the MCP session did not start: {0}")]
    Initialize(String),
    #[error("the MCP session failed: {0}")]
    Serve(String),
}

/// Serves one client on stdin/stdout until it closes stdin. Sessions
/// started meanwhile keep running: their supervisors are their own.
pub(crate) fn serve(store: Store, stall_after: Duration, limits: Limits) -> Result<(), McpError> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .map_err(McpError::Runtime)?;
    let server = server::Server::new(tools::Tools::new(store, stall_after, limits));
    let outcome = rt.block_on(async {
        let running = server
            .serve(rmcp::transport::stdio())
            .await
            .map_err(|e| McpError::Initialize(e.to_string()))?;
        running
            .waiting()
            .await
            .map(|_| ())
            .map_err(|e| McpError::Serve(e.to_string()))
    });
    // A tool still blocked (a kill waiting for a process group) is not
    // waited for: the client is gone, and nobody would read its answer.
    rt.shutdown_background();
    outcome
}
