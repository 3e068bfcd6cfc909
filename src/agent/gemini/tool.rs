//! A `tool_use` and its `tool_result` as a step: the shell a command, the
//! web search a search, anything else a tool call.

use crate::turn::{ItemStatus, Output, OutputDetail, StepKind};
use serde_json::Value;

/// A `tool_use` line waiting for its result.
pub(super) struct OpenTool {
    pub(super) line: u64,
    pub(super) id: String,
    pub(super) name: String,
    pub(super) parameters: Value,
}

/// A `tool_use` with its `tool_result` line; without one (the turn ended
/// first) it is in progress.
pub(super) fn tool_step(tool: OpenTool, result: Option<&Value>, detail: OutputDetail) -> StepKind {
    let status = match result.map(|r| r["status"].as_str().unwrap_or_default()) {
        None => ItemStatus::InProgress,
        Some("success") => ItemStatus::Completed,
        Some(_) => ItemStatus::Failed,
    };
    let output = result.map(output_text).unwrap_or_default();
    let str_of = |key: &str| {
        tool.parameters[key]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    match tool.name.as_str() {
        // The stream says whether the tool ran, not how the command exited:
        // `exit 3` is a success whose output is what it printed.
        "run_shell_command" => StepKind::Command {
            command: str_of("command"),
            output: Output::new(output.into(), detail),
            exit_code: None,
            status,
        },
        "google_web_search" => StepKind::WebSearch {
            query: str_of("query"),
            status,
        },
        _ => {
            let failed = status == ItemStatus::Failed;
            let (result, error) = match result {
                Some(_) if failed => (None, Some(error_text(result, output))),
                Some(_) => (Some(output), None),
                None => (None, None),
            };
            StepKind::ToolCall {
                server: None,
                tool: tool.name,
                arguments: tool.parameters,
                result,
                error,
                status,
                parent: None,
            }
        }
    }
}

/// What a result line says the tool printed: `output`, a string in 0.61.0.
fn output_text(r: &Value) -> String {
    match &r["output"] {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// A failed tool's error: `error.message`, else its output.
fn error_text(r: Option<&Value>, output: String) -> String {
    r.and_then(|r| r["error"]["message"].as_str())
        .map(str::to_string)
        .unwrap_or(output)
}
