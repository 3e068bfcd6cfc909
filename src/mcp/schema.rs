//! The tools as an MCP client sees them: names, descriptions, input and
//! output schemas, annotations. The output schemas describe the same JSON
//! documents as `zwarm --json` (docs/json.md), so a client can lean on
//! `structuredContent` alone.

use serde_json::{json, Value};

/// How long `wait` waits unless told, and at most: below the tool-call
/// timeouts clients set by default, so a wait returns "still running"
/// rather than being cut off.
pub(crate) const WAIT_DEFAULT_S: u64 = 50;
pub(crate) const WAIT_MAX_S: u64 = 300;

/// `trajectory`'s size budget unless told, in characters of JSON.
pub(crate) const TRAJECTORY_BUDGET: usize = 20_000;

fn id_prop() -> Value {
    json!({"type": "string", "description": "A session id or any unique prefix of one"})
}

/// One session as `list` shows it (docs/json.md, "session").
fn session_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "id": {"type": "string"},
            "short_id": {"type": "string"},
            "status": {"type": "string", "enum": ["pending", "running", "completed", "failed", "killed", "unknown"]},
            "ending": {"type": ["string", "null"]},
            "adapter": {"type": "string"},
            "model": {"type": "string"},
            "task": {"type": "string"},
            "working_dir": {"type": "string"},
            "source": {"type": "string"},
            "turns": {"type": "integer"},
            "error": {"type": ["string", "null"]},
            "last_message": {"type": ["string", "null"]},
            "usage": {"type": "object"},
            "queue": {"type": ["object", "null"]}
        },
        "required": ["id", "status", "turns"]
    })
}

fn with_version(mut schema: Value) -> Value {
    if let Some(props) = schema.get_mut("properties").and_then(Value::as_object_mut) {
        props.insert("schema_version".into(), json!({"type": "integer"}));
    }
    if let Some(req) = schema.get_mut("required").and_then(Value::as_array_mut) {
        req.push(json!("schema_version"));
    }
    schema
}

fn session_doc_schema() -> Value {
    with_version(session_schema())
}

/// The tools that take `host`: all of them.
pub(crate) const ON_REMOTES: &[&str] = &[
    "start",
    "list",
    "show",
    "trajectory",
    "diff",
    "wait",
    "inject",
    "kill",
];

/// Every tool, as `tools/list` returns them.
pub(crate) fn tools() -> Vec<Value> {
    let mut all = local_tools();
    for t in &mut all {
        let on_remotes = t["name"].as_str().is_some_and(|n| ON_REMOTES.contains(&n));
        if let Some(props) = t["inputSchema"]["properties"].as_object_mut() {
            if on_remotes {
                props.insert("host".into(), host_prop());
            }
        }
    }
    all
}

/// A remote's name: the tool runs there, as `zwarm --host NAME` would.
fn host_prop() -> Value {
    json!({
        "type": "string",
        "description": "Run on this remote (a name `zwarm remote ls` lists) over SSH, as `zwarm --host NAME` does; ids and working_dir are then of that host. The sandbox and session caps hold there too; the roots, paths of this machine, do not [default: this machine]"
    })
}

fn local_tools() -> Vec<Value> {
    let sessions = json!({"type": "array", "items": session_schema()});
    vec![
        json!({
            "name": "start",
            "title": "Start a session",
            "description": "Start a coding agent (codex, claude, gemini or qwen) on a task in the background. Returns at once with the session (status pending or running); use wait, show and trajectory to follow it.",
            "inputSchema": {
                "type": "object",
                "properties": {
                    "task": {"type": "string", "description": "What the agent should do"},
                    "agent": {"type": "string", "enum": ["codex", "claude", "gemini", "qwen"], "default": "codex"},
                    "model": {"type": "string", "description": "Model to ask the agent for [default: the agent's own]"},
                    "working_dir": {"type": "string", "description": "Directory the agent works in, under the server's roots [default: the server's first root]"},
                    "sandbox": {"type": "string", "enum": ["read-only", "workspace-write", "danger-full-access"], "description": "What the agent may do, up to the server's --max-sandbox"},
                    "timeout_s": {"type": "integer", "minimum": 1, "description": "Stop each turn after this many seconds (ending timed_out)"},
                    "max_running": {"type": "integer", "minimum": 1, "description": "Run at most this many of its group at once; the rest wait (pending)"},
                    "group": {"type": "string", "description": "The queue group max_running counts in"},
                    "after": {"type": "array", "items": {"type": "string"}, "description": "Session ids that must complete first"},
                    "max_tokens": {"type": "integer", "minimum": 1, "description": "Stop the session at this many tokens (ending budget_exceeded)"},
                    "max_cost_usd": {"type": "number", "exclusiveMinimum": 0, "description": "Stop the session at this cost (claude)"},
                    "worktree": {"type": ["boolean", "string"], "description": "true: a git worktree and branch zwarm/<short id> of its own; a string: the branch zwarm/<string>"}
                },
                "required": ["task"]
            },
            "outputSchema": session_doc_schema(),
            "annotations": {"readOnlyHint": false, "destructiveHint": false, "openWorldHint": true}
        }),
        json!({
            "name": "list",
            "title": "List sessions",
            "description": "Sessions in the store, newest first.",
            "inputSchema": {
                "type": "object",
                "properties": {
                    "status": {"type": "string", "enum": ["pending", "running", "completed", "failed", "killed"]},
                    "limit": {"type": "integer", "minimum": 1, "default": 50}
                }
            },
            "outputSchema": {
                "type": "object",
                "properties": {
                    "schema_version": {"type": "integer"},
                    "sessions": sessions,
                    "problems": {"type": "array", "items": {"type": "object"}},
                    "total": {"type": "integer", "description": "Sessions that matched before the limit"}
                },
                "required": ["schema_version", "sessions"]
            },
            "annotations": {"readOnlyHint": true, "openWorldHint": false}
        }),
        json!({
            "name": "show",
            "title": "Show a session",
            "description": "Everything about one session: status, turns and how each ended, messages, usage, error.",
            "inputSchema": {"type": "object", "properties": {"id": id_prop()}, "required": ["id"]},
            "outputSchema": {
                "type": "object",
                "properties": {
                    "schema_version": {"type": "integer"},
                    "id": {"type": "string"},
                    "status": {"type": "string"},
                    "turn_records": {"type": "array", "items": {"type": "object"}},
                    "messages": {"type": "array", "items": {"type": "object"}}
                },
                "required": ["schema_version", "id", "status", "turn_records", "messages"]
            },
            "annotations": {"readOnlyHint": true, "openWorldHint": false}
        }),
        json!({
            "name": "trajectory",
            "title": "What a session's agent did",
            "description": "The session's steps (messages, commands, file changes, tool calls...), turn by turn, within a size budget. When steps are left out, next_step says where to go on from.",
            "inputSchema": {
                "type": "object",
                "properties": {
                    "id": id_prop(),
                    "since_step": {"type": "integer", "minimum": 0, "default": 0, "description": "Skip this many steps (the next_step of an earlier call)"},
                    "max_chars": {"type": "integer", "minimum": 1, "default": TRAJECTORY_BUDGET, "description": "At most this many characters of steps"}
                },
                "required": ["id"]
            },
            "outputSchema": {
                "type": "object",
                "properties": {
                    "schema_version": {"type": "integer"},
                    "session": {"type": "string"},
                    "status": {"type": "string"},
                    "steps": {"type": "array", "items": {"type": "object"}},
                    "first_step": {"type": "integer"},
                    "next_step": {"type": "integer"},
                    "total_steps": {"type": "integer"},
                    "omitted_steps": {"type": "integer", "description": "Steps after these left out for the budget"}
                },
                "required": ["schema_version", "session", "steps", "next_step", "total_steps", "omitted_steps"]
            },
            "annotations": {"readOnlyHint": true, "openWorldHint": false}
        }),
        json!({
            "name": "diff",
            "title": "What a session changed",
            "description": "The change a session (or one of its turns) made to its working tree, from the snapshots zwarm keeps of each turn in git: the files, their counts, and the patch within a size budget (or git's --stat).",
            "inputSchema": {
                "type": "object",
                "properties": {
                    "id": id_prop(),
                    "turn": {"type": "integer", "minimum": 1, "description": "Only this turn's change (default: the whole session's)"},
                    "stat": {"type": "boolean", "default": false, "description": "git's --stat instead of the patch"},
                    "max_chars": {"type": "integer", "minimum": 1, "default": TRAJECTORY_BUDGET, "description": "At most this many characters of patch"}
                },
                "required": ["id"]
            },
            "outputSchema": {
                "type": "object",
                "properties": {
                    "schema_version": {"type": "integer"},
                    "id": {"type": "string"},
                    "from": {"type": "string"},
                    "to": {"type": "string"},
                    "changes": {"type": "object"},
                    "patch": {"type": "string"},
                    "stat": {"type": "string"},
                    "omitted_chars": {"type": "integer", "description": "Characters of the patch left out for the budget"}
                },
                "required": ["schema_version", "id", "from", "to", "changes", "omitted_chars"]
            },
            "annotations": {"readOnlyHint": true, "openWorldHint": false}
        }),
        json!({
            "name": "wait",
            "title": "Wait for sessions",
            "description": format!("Wait until the sessions' current turns end (or one of them, with any), at most timeout_s seconds (default {WAIT_DEFAULT_S}, at most {WAIT_MAX_S}). Sessions still running are not an error: they are listed in running; call wait again."),
            "inputSchema": {
                "type": "object",
                "properties": {
                    "ids": {"type": "array", "items": {"type": "string"}, "minItems": 1},
                    "any": {"type": "boolean", "default": false},
                    "timeout_s": {"type": "integer", "minimum": 0, "maximum": WAIT_MAX_S, "default": WAIT_DEFAULT_S}
                },
                "required": ["ids"]
            },
            "outputSchema": {
                "type": "object",
                "properties": {
                    "schema_version": {"type": "integer"},
                    "timed_out": {"type": "boolean"},
                    "ended": {"type": "array", "items": {"type": "string"}},
                    "running": {"type": "array", "items": {"type": "string"}},
                    "sessions": sessions
                },
                "required": ["schema_version", "timed_out", "ended", "running", "sessions"]
            },
            "annotations": {"readOnlyHint": true, "openWorldHint": false}
        }),
        json!({
            "name": "inject",
            "title": "Continue a session",
            "description": "Send the next message of a session's conversation: a new turn, in which the agent keeps its whole context. Refused while a turn runs.",
            "inputSchema": {
                "type": "object",
                "properties": {"id": id_prop(), "message": {"type": "string"}},
                "required": ["id", "message"]
            },
            "outputSchema": session_doc_schema(),
            "annotations": {"readOnlyHint": false, "destructiveHint": false, "openWorldHint": true}
        }),
        json!({
            "name": "kill",
            "title": "Stop a session",
            "description": "Stop a session's running turn and every process its agent started.",
            "inputSchema": {"type": "object", "properties": {"id": id_prop()}, "required": ["id"]},
            "outputSchema": {
                "type": "object",
                "properties": {
                    "schema_version": {"type": "integer"},
                    "results": {"type": "array", "items": {"type": "object"}}
                },
                "required": ["schema_version", "results"]
            },
            "annotations": {"readOnlyHint": false, "destructiveHint": true, "idempotentHint": true, "openWorldHint": false}
        }),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_tool_has_object_schemas_and_a_read_only_word() {
        for t in tools() {
            for key in ["inputSchema", "outputSchema"] {
                assert_eq!(t[key]["type"], "object", "{} {key}", t["name"]);
            }
            assert!(
                t["annotations"]["readOnlyHint"].is_boolean(),
                "{}",
                t["name"]
            );
            let name = t["name"].as_str().unwrap();
            assert_eq!(
                t["inputSchema"]["properties"]["host"].is_object(),
                super::ON_REMOTES.contains(&name),
                "{name}"
            );
        }
    }
}
