//! Qwen Code (`qwen --output-format stream-json`): argv for first and
//! resumed turns, and its message stream, shaped like claude's (system,
//! assistant, user, result), read in `stream`, its tools turned into steps
//! in `tool`.

mod meter;
mod stream;
#[cfg(test)]
mod tests;
mod tool;

pub(crate) use stream::QwenParser;

use super::agent_args::{CD, MODEL, OUTPUT, RESUME, SANDBOX, SESSION_ID, TASK};
use super::{is_uuid, long_opt, Agent, PromptVia, Reserved, TurnSpec, UsageMeter};
use crate::model::{TurnRecord, Usage};
use std::ffi::OsString;

pub(crate) struct Qwen;

impl Agent for Qwen {
    fn program(&self) -> &'static str {
        "qwen"
    }
    fn bin_env(&self) -> &'static str {
        "ZWARM_QWEN_BIN"
    }
    /// `--output-format=stream-json [--model=M] --approval-mode=MODE
    /// [AGENT_ARGS]`, then
    /// `--session-id=ID` for a first turn or `--resume=ID` for a later one,
    /// then `--prompt=PROMPT`, or nothing when the prompt is on stdin.
    fn args(&self, spec: &TurnSpec) -> Vec<OsString> {
        let mut a = vec![OsString::from("--output-format=stream-json")];
        if let Some(m) = spec.model.filter(|m| !m.is_empty()) {
            a.push(long_opt("--model", m));
        }
        // Nobody can answer an approval prompt in a detached run. zwarm's
        // sandbox words map onto qwen's approval modes as onto claude's
        // permission modes; without one, tools are allowed.
        let mode = match spec.sandbox {
            Some("read-only") => "plan",
            Some("workspace-write") => "auto-edit",
            _ => "yolo",
        };
        a.push(long_opt("--approval-mode", mode));
        a.extend(spec.agent_args.iter().map(OsString::from));
        a.push(match spec.resume {
            Some(id) => long_opt("--resume", id),
            None => long_opt("--session-id", spec.session_id),
        });
        // qwen ignores a prompt after `--` (it then looks for one on stdin),
        // so the prompt is the value of `--prompt`, where nothing in it can
        // be read as an option. Without it, qwen reads the prompt on stdin.
        if spec.prompt_via == PromptVia::Argument {
            a.push(long_opt("--prompt", spec.prompt));
        }
        a
    }

    fn reserved_options(&self) -> &'static [Reserved] {
        const R: &[Reserved] = &[
            Reserved::new("--output-format", Some("-o"), OUTPUT),
            Reserved::new("--input-format", None, OUTPUT),
            Reserved::new("--model", Some("-m"), MODEL),
            Reserved::new("--approval-mode", None, SANDBOX),
            Reserved::new("--yolo", Some("-y"), SANDBOX),
            Reserved::new("--worktree", None, CD),
            Reserved::new("--session-id", None, SESSION_ID),
            Reserved::new("--resume", Some("-r"), RESUME),
            Reserved::new("--continue", Some("-c"), RESUME),
            Reserved::new("--fork-session", None, RESUME),
            Reserved::new("--prompt", Some("-p"), TASK),
            Reserved::new("--prompt-interactive", Some("-i"), TASK),
        ];
        R
    }

    /// Session ids are UUIDs, the only form `--session-id` accepts.
    fn valid_conversation_id(&self, id: &str) -> bool {
        is_uuid(id)
    }

    /// The parser sums the invocation's responses, which is one turn: qwen's
    /// `result.usage` (the running total of the session's saved history)
    /// is not used, see [`QwenParser`].
    fn turn_usage(&self, reported: &Usage, _s: Option<&str>, _earlier: &[TurnRecord]) -> Usage {
        reported.clone()
    }

    /// Qwen reports no cost.
    fn session_cost(&self, _reported: Option<f64>, _earlier: &[TurnRecord]) -> Option<f64> {
        None
    }

    /// Each response's usage is in the stream as it ends.
    fn usage_meter(&self) -> Option<Box<dyn UsageMeter>> {
        Some(Box::<meter::QwenMeter>::default())
    }
}
