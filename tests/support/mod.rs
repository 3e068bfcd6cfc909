//! What the suites share: one [`world::World`] to run zwarm in, the agents
//! that stand in for the real CLIs, the mock model servers, and helpers for
//! processes, files and waiting.
//!
//! - [`world`]: a store, a work dir and agents, and zwarm run in them.
//! - [`output`]: what a run printed, checked at once ([`output::Ran::expect`]).
//! - [`fake`]: a scripted fake agent replaying recorded JSONL (or recording
//!   a real CLI's turns), and one for many sessions at once.
//! - [`gated`]: an agent whose turns end when a test releases them.
//! - [`agents`]: where the pinned CLIs are, and their environment against a
//!   mock.
//! - [`agent_runs`]: the CLIs run directly, and the processes they leave.
//! - [`e2e`]: the real CLIs in a world, and what their trajectories hold.
//! - [`mock_responses`]: a mock OpenAI Responses API server for codex.
//! - [`mock_messages`]: a mock Anthropic Messages API server for claude.
//! - [`mock_gemini`]: a mock Gemini API server for gemini.
//! - [`mock_chat`]: a mock OpenAI Chat Completions API server for qwen.
//! - [`http`]: the std-only HTTP server and the scenario keywords the mocks
//!   share.
//! - [`orchestrate`]: a mock model's moves as an orchestrator calling zwarm's
//!   MCP tools.
//! - [`legacy`]: the store zwarm 2.3.5 wrote, as a fixture.
//! - [`live`]: a zwarm run followed line by line as it prints.
//! - [`mcp`]: a small MCP client of `zwarm mcp` over stdio.
//! - [`contract`]: the consumer's types for the `--json` documents.
//! - [`poll`]: [`poll::eventually`], instead of deadline loops.
//! - [`procs`]: processes seen through `/proc`, and signals.
//! - [`files`]: snapshots of folders, locks held, files written whole.
//! - [`disk`]: a small tmpfs for a full disk.
//! - [`rng`]: seeded random choices.
//! - [`sshd`]: a real OpenSSH server on a loopback port, a remote host
//!   with its own store.
//! - [`tmux`]: a real terminal (a private tmux server) for `zwarm top`.

pub mod agent_runs;
pub mod agents;
pub mod contract;
pub mod disk;
pub mod e2e;
pub mod fake;
pub mod files;
pub mod gated;
pub mod http;
pub mod legacy;
pub mod live;
pub mod mcp;
pub mod mock_chat;
pub mod mock_gemini;
pub mod mock_messages;
pub mod mock_responses;
pub mod orchestrate;
pub mod output;
pub mod poll;
pub mod procs;
pub mod rng;
pub mod sshd;
pub mod tmux;
pub mod world;
