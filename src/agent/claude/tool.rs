//! A tool use and its result as a step: `Bash` a command, edits file
//! changes, `TodoWrite` a plan, anything else a tool call.

use super::take;
use crate::turn::{FileChange, ItemStatus, Output, OutputDetail, PlanItem, StepKind};
use serde_json::Value;

/// A `tool_use` block (`id`, `name`, `input`) and where it came from.
pub(super) struct OpenTool {
    pub(super) line: u64,
    pub(super) block: Value,
    pub(super) parent: Option<String>,
}

/// A tool_result block with what its line says about it.
pub(super) struct ToolResult {
    pub(super) text: String,
    pub(super) is_error: bool,
    pub(super) declined: bool,
    /// The line's `tool_use_result` (tool-specific structure, or a string).
    pub(super) extra: Value,
}

/// Message content is an array of blocks, or a bare string for plain text.
pub(crate) fn content_blocks(content: Value) -> Vec<Value> {
    match content {
        Value::Array(blocks) => blocks,
        Value::String(text) => vec![serde_json::json!({"type": "text", "text": text})],
        _ => Vec::new(),
    }
}

/// [`result_text`] of a content taken out of its block: a string (most
/// results, and the longest part of a long turn) is moved, not copied.
pub(super) fn result_text_of(content: Value) -> String {
    match content {
        Value::String(s) => s,
        other => result_text(&other),
    }
}

/// A tool_result's content: a string, or blocks of which only text is readable.
pub(crate) fn result_text(content: &Value) -> String {
    match content {
        Value::String(s) => s.clone(),
        Value::Array(blocks) => {
            let text = |b: &Value| b["text"].as_str().map(str::to_string);
            let texts: Vec<String> = blocks
                .iter()
                .map(|b| {
                    text(b)
                        .unwrap_or_else(|| format!("[{}]", b["type"].as_str().unwrap_or("block")))
                })
                .collect();
            texts.join("\n")
        }
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// A tool use with its result; without one (the turn ended first) it is in progress.
pub(super) fn tool_step(
    mut tool: OpenTool,
    result: Option<ToolResult>,
    detail: OutputDetail,
) -> StepKind {
    let status = match &result {
        None => ItemStatus::InProgress,
        Some(r) if r.declined => ItemStatus::Declined,
        Some(r) if r.is_error => ItemStatus::Failed,
        Some(_) => ItemStatus::Completed,
    };
    let input = take(&mut tool.block, "/input");
    let str_of = |key: &str| input[key].as_str().unwrap_or_default().to_string();
    match tool.block["name"].as_str().unwrap_or_default() {
        "Bash" => {
            let (output, exit_code) = result.map(bash_output).unwrap_or_default();
            StepKind::Command {
                command: str_of("command"),
                output: Output::new(output.into(), detail),
                exit_code,
                status,
            }
        }
        "Write" | "Edit" | "MultiEdit" | "NotebookEdit" => {
            let path = input["file_path"]
                .as_str()
                .or(input["notebook_path"].as_str())
                .unwrap_or_default();
            let kind = result
                .as_ref()
                .and_then(|r| r.extra["type"].as_str())
                .unwrap_or("update");
            StepKind::FileChange {
                changes: vec![FileChange {
                    path: path.into(),
                    kind: kind.into(),
                }],
                status,
            }
        }
        "WebSearch" | "web_search" => StepKind::WebSearch {
            query: str_of("query"),
            status,
        },
        "TodoWrite" => {
            let todos = input["todos"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or_default();
            let text = |t: &Value, key, default| t[key].as_str().unwrap_or(default).to_string();
            let item = |t| PlanItem {
                text: text(t, "content", ""),
                status: text(t, "status", "pending"),
            };
            StepKind::Plan {
                items: todos.iter().map(item).collect(),
            }
        }
        name => {
            let (server, tool_name) =
                match name.strip_prefix("mcp__").and_then(|r| r.split_once("__")) {
                    Some((server, t)) => (Some(server.to_string()), t.to_string()),
                    None => (None, name.to_string()),
                };
            let (result, error) = match result {
                Some(r) if r.is_error || r.declined => (None, Some(r.text)),
                Some(r) => (Some(r.text), None),
                None => (None, None),
            };
            let parent = tool.parent;
            StepKind::ToolCall {
                server,
                tool: tool_name,
                arguments: input,
                result,
                error,
                status,
                parent,
            }
        }
    }
}

/// Claude reports no exit code: success means 0, a failure's text starts
/// "Exit code N" (137 when killed), and a rejected call never ran.
fn bash_output(r: ToolResult) -> (String, Option<i64>) {
    if r.declined {
        return (r.text, None);
    }
    let streams = ["stdout", "stderr"].map(|k| r.extra[k].as_str());
    let structured = (r.extra.is_object() && streams.iter().any(Option::is_some)).then(|| {
        let parts: Vec<&str> = streams
            .into_iter()
            .flatten()
            .filter(|s| !s.is_empty())
            .collect();
        parts.join("\n")
    });
    if !r.is_error {
        return (structured.unwrap_or(r.text), Some(0));
    }
    let (first, rest) = r.text.split_once('\n').unwrap_or((r.text.as_str(), ""));
    match first
        .strip_prefix("Exit code ")
        .and_then(|n| n.trim().parse().ok())
    {
        // The code has its own field; the rest is what the command printed.
        Some(code) => (structured.unwrap_or_else(|| rest.to_string()), Some(code)),
        None => (structured.unwrap_or(r.text), None),
    }
}
