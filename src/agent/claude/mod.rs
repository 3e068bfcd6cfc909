//! Claude Code (`claude -p --output-format stream-json --verbose`): argv for
//! first and resumed turns, and its message stream (system, assistant, user,
//! result, stream_event), read in `stream`, its tool uses turned into steps
//! in `tool`.

mod stream;
#[cfg(test)]
mod tests;
mod tool;

pub use stream::{ClaudeParser, Decoded};

use super::{Agent, AgentKind, StreamParser, TurnSpec};
use crate::session::model::{TurnRecord, Usage};
use crate::trajectory::OutputDetail;
use serde_json::Value;
use std::ffi::OsString;

pub struct Claude;

impl Agent for Claude {
    fn kind(&self) -> AgentKind {
        AgentKind::Claude
    }
    fn program(&self) -> &'static str {
        "claude"
    }
    fn bin_env(&self) -> &'static str {
        "ZWARM_CLAUDE_BIN"
    }
    fn args(&self, spec: &TurnSpec) -> Vec<OsString> {
        // stream-json in print mode is refused without --verbose.
        let mut a: Vec<OsString> = ["-p", "--output-format", "stream-json", "--verbose"]
            .map(OsString::from)
            .to_vec();
        if let Some(m) = spec.model.filter(|m| !m.is_empty()) {
            a.extend(["--model".into(), m.into()]);
        }
        // Nobody can answer a permission prompt in a detached run. zwarm's
        // sandbox words map onto claude's permission modes; without one, tools
        // are allowed, as zwarm 2.3.5 ran it.
        let mode = match spec.sandbox {
            Some("read-only") => "plan",
            Some("workspace-write") => "acceptEdits",
            _ => "bypassPermissions",
        };
        a.extend(["--permission-mode".into(), mode.into()]);
        // Pinning the id on a first turn means zwarm knows it before any output.
        match spec.resume {
            Some(id) => a.extend(["--resume".into(), id.into()]),
            None => a.extend(["--session-id".into(), spec.session_id.into()]),
        }
        // Variadic flags (--mcp-config, --allowedTools, ...) would swallow a bare prompt.
        a.extend(["--".into(), spec.prompt.into()]);
        a
    }
    fn parser(&self, detail: OutputDetail) -> Box<dyn StreamParser> {
        Box::new(ClaudeParser::new(detail))
    }
    /// `result.usage` covers one invocation, which is one turn.
    fn turn_usage(&self, reported: &Usage, _s: Option<&str>, _earlier: &[TurnRecord]) -> Usage {
        reported.clone()
    }
    /// `total_cost_usd` is cumulative for the claude session, so the latest
    /// report is the session's cost. It never shrinks, but a turn that failed
    /// to start (resume not found) reports 0, which must not wipe the total.
    fn session_cost(&self, reported: Option<f64>, earlier: &[TurnRecord]) -> Option<f64> {
        let before = earlier.iter().rev().find_map(|t| t.reported_cost_usd);
        match (reported, before) {
            (Some(r), Some(b)) => Some(r.max(b)),
            (r, b) => r.or(b),
        }
    }
}

/// Moves a value out without `IndexMut`, which panics on non-objects.
fn take(v: &mut Value, pointer: &str) -> Value {
    v.pointer_mut(pointer).map(Value::take).unwrap_or_default()
}

#[cfg(test)]
mod adapter_tests {
    use super::*;

    #[test]
    fn argv_and_cost() {
        let dir = std::path::Path::new("/w");
        let spec = TurnSpec {
            prompt: "-x",
            model: Some("m"),
            sandbox: None,
            working_dir: dir,
            resume: None,
            session_id: "z1",
        };
        let args = |spec: &TurnSpec| {
            Claude
                .args(spec)
                .into_iter()
                .map(|a| a.into_string().unwrap())
                .collect::<Vec<_>>()
        };
        assert_eq!(args(&spec).join(" "), "-p --output-format stream-json --verbose --model m --permission-mode bypassPermissions --session-id z1 -- -x");
        let resumed = TurnSpec {
            resume: Some("c1"),
            model: None,
            sandbox: Some("read-only"),
            ..spec
        };
        assert_eq!(
            args(&resumed).join(" "),
            "-p --output-format stream-json --verbose --permission-mode plan --resume c1 -- -x"
        );
        assert_eq!(
            (
                Claude.session_cost(Some(0.5), &[]),
                Claude.session_cost(None, &[])
            ),
            (Some(0.5), None)
        );
    }
}
