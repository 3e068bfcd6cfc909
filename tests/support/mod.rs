//! Shared helpers for the end-to-end tests: `mod support;` in a test file.
//!
//! - [`mock_responses`]: a mock OpenAI Responses API server for codex.
//! - [`mock_messages`]: a mock Anthropic Messages API server for claude.
//! - [`agents`]: where the pinned CLIs are, and their environment against a
//!   mock.
//! - [`e2e`]: zwarm with the real agent CLIs' environments, for the
//!   end-to-end tests.
//! - [`fake`]: a scripted fake agent replaying recorded JSONL, and a zwarm
//!   test world around it.
//! - [`http`]: the std-only HTTP server and the scenario keywords both mocks
//!   share.
#![allow(dead_code)]

pub mod agents;
pub mod e2e;
pub mod fake;
pub mod http;
pub mod mock_messages;
pub mod mock_responses;
