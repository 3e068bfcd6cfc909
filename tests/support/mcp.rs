//! A small MCP client over stdio, written here so the server is checked
//! against the protocol's messages themselves: `zwarm mcp` is spawned, and
//! JSON-RPC lines go to its stdin and come from its stdout. Notifications
//! that arrive while a response is awaited are kept in [`Mcp::notes`].

use super::world::World;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

/// How long a response may take (a tool call that waits says so itself).
pub const ANSWER: Duration = Duration::from_secs(30);

/// The client's name in `initialize`: sessions say `orchestrator:zwarm-tests`.
pub const CLIENT: &str = "zwarm tests";

pub struct Mcp {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<Value>,
    /// Notifications (and requests) from the server, in order.
    pub notes: Vec<Value>,
    next_id: u64,
}

impl Mcp {
    /// `zwarm mcp args...` in `world`, initialized.
    pub fn start(world: &World, args: &[&str]) -> Mcp {
        Mcp::start_with(world, args, &[])
    }

    /// [`Mcp::start`] with more environment.
    pub fn start_with(world: &World, args: &[&str], env: &[(&str, &str)]) -> Mcp {
        let mut all = vec!["mcp"];
        all.extend_from_slice(args);
        let mut cmd = world.cmd(&all);
        cmd.envs(env.iter().copied());
        Mcp::start_cmd(cmd)
    }

    /// A server run by `cmd` (`zwarm mcp ...`), initialized.
    pub fn start_cmd(cmd: Command) -> Mcp {
        let mut mcp = Mcp::spawn(cmd);
        let init = mcp.request(
            "initialize",
            json!({
                "protocolVersion": "2025-06-18",
                "capabilities": {},
                "clientInfo": {"name": CLIENT, "version": "1.0"}
            }),
        );
        assert_eq!(init["result"]["serverInfo"]["name"], "zwarm", "{init}");
        mcp.notify("notifications/initialized", json!({}));
        mcp
    }

    /// The server, not yet initialized.
    pub fn spawn(mut cmd: Command) -> Mcp {
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn zwarm mcp");
        let stdout = child.stdout.take().expect("its stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                // Anything on stdout that is not a protocol message is a bug.
                let v: Value = serde_json::from_str(&line)
                    .unwrap_or_else(|e| panic!("not JSON-RPC on stdout ({e}): {line}"));
                if tx.send(v).is_err() {
                    break;
                }
            }
        });
        Mcp {
            stdin: child.stdin.take(),
            child,
            lines,
            notes: Vec::new(),
            next_id: 1,
        }
    }

    pub fn send(&mut self, msg: &Value) {
        let stdin = self.stdin.as_mut().expect("stdin still open");
        writeln!(stdin, "{msg}").expect("write to zwarm mcp");
        stdin.flush().expect("flush");
    }

    pub fn notify(&mut self, method: &str, params: Value) {
        self.send(&json!({"jsonrpc": "2.0", "method": method, "params": params}));
    }

    /// Sends a request; its id.
    pub fn send_request(&mut self, method: &str, params: Value) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        self.send(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        id
    }

    /// The response to request `id`, within `within`.
    #[track_caller]
    pub fn response_within(&mut self, id: u64, within: Duration) -> Value {
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(v) if v.get("id") == Some(&json!(id)) && v.get("method").is_none() => return v,
                Ok(v) => self.notes.push(v),
                Err(RecvTimeoutError::Timeout) => {
                    panic!("no response to request {id} in {within:?}")
                }
                Err(RecvTimeoutError::Disconnected) => {
                    panic!("zwarm mcp closed stdout before answering {id}")
                }
            }
        }
    }

    #[track_caller]
    pub fn response(&mut self, id: u64) -> Value {
        self.response_within(id, ANSWER)
    }

    #[track_caller]
    pub fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.send_request(method, params);
        self.response(id)
    }

    /// `tools/call`: the result (a protocol error fails the test).
    #[track_caller]
    pub fn call(&mut self, tool: &str, arguments: Value) -> Value {
        let r = self.request("tools/call", json!({"name": tool, "arguments": arguments}));
        assert!(r.get("error").is_none(), "protocol error for {tool}: {r}");
        r["result"].clone()
    }

    /// A call that must succeed: its structured content.
    #[track_caller]
    pub fn ok(&mut self, tool: &str, arguments: Value) -> Value {
        let r = self.call(tool, arguments);
        assert_eq!(r["isError"], false, "{tool} failed: {r}");
        assert!(
            r["content"][0]["text"]
                .as_str()
                .is_some_and(|t| !t.is_empty()),
            "{r}"
        );
        r["structuredContent"].clone()
    }

    /// A call that must fail as a tool (not the protocol): its one line.
    #[track_caller]
    pub fn refused(&mut self, tool: &str, arguments: Value) -> String {
        let r = self.call(tool, arguments);
        assert_eq!(r["isError"], true, "{tool} did not fail: {r}");
        let text = r["content"][0]["text"]
            .as_str()
            .expect("a message")
            .to_string();
        assert!(!text.contains('\n'), "{text}");
        text
    }

    /// Whether the server's stdout reached its end within `within`: no
    /// process it started (a supervisor, an agent) kept it open.
    pub fn stdout_ends(&mut self, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(v) => self.notes.push(v),
                Err(RecvTimeoutError::Disconnected) => return true,
                Err(RecvTimeoutError::Timeout) => return false,
            }
        }
    }

    /// Closes stdin and waits for the server to exit.
    #[track_caller]
    pub fn close(&mut self, within: Duration) -> ExitStatus {
        drop(self.stdin.take());
        let deadline = Instant::now() + within;
        loop {
            if let Some(st) = self.child.try_wait().expect("wait for zwarm mcp") {
                return st;
            }
            assert!(
                Instant::now() < deadline,
                "zwarm mcp did not exit within {within:?} of its stdin closing"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Mcp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
