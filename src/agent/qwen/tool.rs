//! A qwen tool use and its result as a step: `run_shell_command` a command,
//! `write_file` and `edit` file changes, `todo_write` a plan, `web_search` a
//! search, anything else a tool call.

use crate::agent::claude::take;
use crate::turn::{FileChange, ItemStatus, Output, OutputDetail, PlanItem, StepKind};
use serde_json::Value;

/// A `tool_use` block (`id`, `name`, `input`) and where it came from.
pub(super) struct OpenTool {
    pub(super) line: u64,
    pub(super) block: Value,
    pub(super) parent: Option<String>,
}

/// A tool use with its result (its text, and whether it failed); without
/// one (the turn ended first) it is in progress.
pub(super) fn tool_step(
    mut tool: OpenTool,
    result: Option<(String, bool)>,
    detail: OutputDetail,
) -> StepKind {
    let status = match &result {
        None => ItemStatus::InProgress,
        Some((_, true)) => ItemStatus::Failed,
        Some(_) => ItemStatus::Completed,
    };
    let input = take(&mut tool.block, "/input");
    let str_of = |key: &str| input[key].as_str().unwrap_or_default().to_string();
    match tool.block["name"].as_str().unwrap_or_default() {
        "run_shell_command" => {
            let (output, exit_code) = match result {
                Some((text, failed)) => shell_output(text, failed),
                None => (String::new(), None),
            };
            StepKind::Command {
                command: str_of("command"),
                output: Output::new(output.into(), detail),
                exit_code,
                status,
            }
        }
        name @ ("write_file" | "edit" | "notebook_edit") => StepKind::FileChange {
            changes: vec![FileChange {
                path: input["file_path"]
                    .as_str()
                    .or(input["notebook_path"].as_str())
                    .unwrap_or_default()
                    .into(),
                kind: if name == "write_file" {
                    "write"
                } else {
                    "update"
                }
                .into(),
            }],
            status,
        },
        "web_search" => StepKind::WebSearch {
            query: str_of("query"),
            status,
        },
        "todo_write" => {
            let todos = input["todos"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or_default();
            let text = |t: &Value, key, default| t[key].as_str().unwrap_or(default).to_string();
            StepKind::Plan {
                items: todos
                    .iter()
                    .map(|t| PlanItem {
                        text: text(t, "content", ""),
                        status: text(t, "status", "pending"),
                    })
                    .collect(),
            }
        }
        name => {
            let (server, tool_name) =
                match name.strip_prefix("mcp__").and_then(|r| r.split_once("__")) {
                    Some((server, t)) => (Some(server.to_string()), t.to_string()),
                    None => (None, name.to_string()),
                };
            let (result, error) = match result {
                Some((text, true)) => (None, Some(text)),
                Some((text, false)) => (Some(text), None),
                None => (None, None),
            };
            StepKind::ToolCall {
                server,
                tool: tool_name,
                arguments: input,
                result,
                error,
                status,
                parent: tool.parent,
            }
        }
    }
}

/// A command that succeeds gets its output alone; one that fails a text of
/// fields (`Command:`, `Directory:`, `Output:`, `Error:`, `Exit Code:`,
/// `Signal:`, ...), of which the output and the exit code are taken.
fn shell_output(text: String, failed: bool) -> (String, Option<i64>) {
    if !failed {
        return (text, Some(0));
    }
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .map(str::trim)
    };
    let exit_code = field("Exit Code:").and_then(|c| c.parse().ok());
    let output = match (text.find("\nOutput: "), text.rfind("\nError: ")) {
        (Some(start), Some(end)) if end > start => {
            text[start + "\nOutput: ".len()..end].to_string()
        }
        _ => return (text, exit_code),
    };
    (output, exit_code)
}
