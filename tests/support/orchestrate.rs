//! What a mock model does as an orchestrator (`SCN_ORCHESTRATE <task>`):
//! it calls zwarm's MCP tools `start` (the child task), `wait` (for that
//! session), `show`, and then answers with the child's final message, each
//! step chosen from the tool outputs the conversation holds so far. Both
//! mocks use it, each speaking its own API.

use serde_json::{json, Value};

/// The next move.
#[derive(Debug, Clone, PartialEq)]
pub enum Next {
    /// Call the zwarm tool with these arguments.
    Call { tool: &'static str, args: Value },
    /// The final answer.
    Answer(String),
}

/// The prefix of the orchestrator's answer, before the child's message.
pub const ANSWER_PREFIX: &str = "the child said: ";

/// Given the outputs of the tool calls made so far (oldest first).
pub fn next(child_task: &str, outputs: &[String]) -> Next {
    match outputs {
        [] => Next::Call {
            tool: "start",
            args: json!({ "task": child_task }),
        },
        [started] => match field(started, "id") {
            Some(id) => Next::Call {
                tool: "wait",
                args: json!({ "ids": [id], "timeout_s": 60 }),
            },
            None => Next::Answer(format!("mock: no session id in {started:?}")),
        },
        [started, _] => Next::Call {
            tool: "show",
            args: json!({ "id": field(started, "id").unwrap_or_default() }),
        },
        [_, _, shown, ..] => Next::Answer(format!(
            "{ANSWER_PREFIX}{}",
            field(shown, "last_message")
                .unwrap_or_else(|| format!("mock: no last_message in {shown:?}"))
        )),
    }
}

/// A string field of the first JSON object in a tool's output (codex puts
/// "Wall time: ... Output:" before it; claude gives the text content,
/// which may hold the JSON or a summary beside it).
fn field(output: &str, key: &str) -> Option<String> {
    let mut from = 0;
    while let Some(at) = output[from..].find('{') {
        let start = from + at;
        let mut values = serde_json::Deserializer::from_str(&output[start..]).into_iter::<Value>();
        if let Some(Ok(v)) = values.next() {
            if let Some(s) = find_key(&v, key) {
                return Some(s);
            }
        }
        from = start + 1;
    }
    None
}

fn find_key(v: &Value, key: &str) -> Option<String> {
    match v {
        Value::Object(o) => o
            .get(key)
            .and_then(Value::as_str)
            .map(str::to_string)
            .or_else(|| o.values().find_map(|x| find_key(x, key))),
        Value::Array(a) => a.iter().find_map(|x| find_key(x, key)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_moves_follow_the_outputs() {
        let id = "3f2a9c1e-5b7d-4c8e-9a1f-2b3c4d5e6f70";
        assert_eq!(
            next("child", &[]),
            Next::Call {
                tool: "start",
                args: json!({"task": "child"})
            }
        );
        // As codex hands a structured result back to the model.
        let started = format!("Wall time: 0.0 seconds\nOutput:\n{{\"schema_version\":1,\"id\":\"{id}\",\"status\":\"running\"}}");
        assert_eq!(
            next("child", std::slice::from_ref(&started)),
            Next::Call {
                tool: "wait",
                args: json!({"ids": [id], "timeout_s": 60})
            }
        );
        let waited = "{\"ended\": [], \"running\": []}".to_string();
        assert_eq!(
            next("child", &[started.clone(), waited.clone()]),
            Next::Call {
                tool: "show",
                args: json!({"id": id})
            }
        );
        let shown = format!("started 3f2a9c1e. {{\"id\":\"{id}\",\"last_message\":\"value 42\"}}");
        assert_eq!(
            next("child", &[started, waited, shown]),
            Next::Answer(format!("{ANSWER_PREFIX}value 42"))
        );
    }
}
