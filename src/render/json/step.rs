//! Trajectory steps as JSON: one flat object a step, `type` saying which
//! other fields are present. The same objects are the elements of
//! `trajectory`'s `steps` and, with `schema_version` added, the lines of
//! `watch --json`.
//!
//! Their keys have always been written in sorted order, so `type` comes
//! last; serde writes an internally tagged enum's tag first. [`StepJson`]
//! is such an enum all the same, written through `type_last::TypeLast`, which holds
//! the tag back until the step's other fields are written.

use super::type_last::TypeLast;
use super::SCHEMA_VERSION;
use crate::turn::{FileChange, Output, PlanItem, Step, StepKind};
use serde::Serialize;
use serde::Serializer;
use serde_json::Value;

/// One step of a trajectory. Each variant's fields are in the order they
/// are written in (sorted by name, `type` after them all); `schema_version`
/// is present only on the lines of `watch --json`.
#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case", remote = "Self")]
pub(crate) enum StepJson<'a> {
    Message {
        line: u64,
        #[serde(skip_serializing_if = "Option::is_none")]
        schema_version: Option<u32>,
        text: &'a str,
        turn: u32,
    },
    Reasoning {
        line: u64,
        #[serde(skip_serializing_if = "Option::is_none")]
        schema_version: Option<u32>,
        text: &'a str,
        turn: u32,
    },
    /// Most of a long trajectory: its output is written as the turn's line
    /// held it, a JSON string needing no decoding to be written again.
    Command {
        command: &'a str,
        exit_code: Option<i64>,
        line: u64,
        output: &'a Output,
        #[serde(skip_serializing_if = "Option::is_none")]
        schema_version: Option<u32>,
        status: &'static str,
        turn: u32,
    },
    FileChange {
        changes: Changes<'a>,
        line: u64,
        #[serde(skip_serializing_if = "Option::is_none")]
        schema_version: Option<u32>,
        status: &'static str,
        turn: u32,
    },
    ToolCall {
        arguments: &'a Value,
        error: Option<&'a str>,
        line: u64,
        parent: Option<&'a str>,
        result: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        schema_version: Option<u32>,
        server: Option<&'a str>,
        status: &'static str,
        tool: &'a str,
        turn: u32,
    },
    WebSearch {
        line: u64,
        query: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        schema_version: Option<u32>,
        status: &'static str,
        turn: u32,
    },
    Plan {
        items: PlanItems<'a>,
        line: u64,
        #[serde(skip_serializing_if = "Option::is_none")]
        schema_version: Option<u32>,
        turn: u32,
    },
    Warning {
        line: u64,
        message: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        schema_version: Option<u32>,
        turn: u32,
    },
    Error {
        line: u64,
        message: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        schema_version: Option<u32>,
        turn: u32,
    },
    Other {
        event: &'a str,
        line: u64,
        raw: &'a Value,
        #[serde(skip_serializing_if = "Option::is_none")]
        schema_version: Option<u32>,
        turn: u32,
    },
}

impl Serialize for StepJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // The derived serializer (`remote = "Self"` makes it this inherent
        // function rather than the trait's), tag held back to the end.
        StepJson::serialize(self, TypeLast(s))
    }
}

/// A file change's paths, as `[{"kind":…,"path":…},…]`.
pub(crate) struct Changes<'a>(&'a [FileChange]);

impl Serialize for Changes<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Change<'a> {
            kind: &'a str,
            path: &'a str,
        }
        s.collect_seq(self.0.iter().map(|c| Change {
            kind: &c.kind,
            path: &c.path,
        }))
    }
}

/// A plan's items, as `[{"status":…,"text":…},…]`.
pub(crate) struct PlanItems<'a>(&'a [PlanItem]);

impl Serialize for PlanItems<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Item<'a> {
            status: &'a str,
            text: &'a str,
        }
        s.collect_seq(self.0.iter().map(|i| Item {
            status: &i.status,
            text: &i.text,
        }))
    }
}

/// One step of a trajectory, as an element of `trajectory`'s `steps`.
pub(crate) fn step_json(turn: u32, step: &Step) -> StepJson<'_> {
    step_doc(turn, step, None)
}

/// A step as one line of `watch --json`: each NDJSON line is a document of
/// its own, so it carries the version the step array of `trajectory` gets
/// from its enclosing document.
pub(crate) fn watch_step_json(turn: u32, step: &Step) -> StepJson<'_> {
    step_doc(turn, step, Some(SCHEMA_VERSION))
}

fn step_doc(turn: u32, step: &Step, schema_version: Option<u32>) -> StepJson<'_> {
    let line = step.line;
    match &step.kind {
        StepKind::Message { text } => StepJson::Message {
            line,
            schema_version,
            text,
            turn,
        },
        StepKind::Reasoning { text } => StepJson::Reasoning {
            line,
            schema_version,
            text,
            turn,
        },
        StepKind::Command {
            command,
            output,
            exit_code,
            status,
        } => StepJson::Command {
            command,
            exit_code: *exit_code,
            line,
            output,
            schema_version,
            status: status.as_str(),
            turn,
        },
        StepKind::FileChange { changes, status } => StepJson::FileChange {
            changes: Changes(changes),
            line,
            schema_version,
            status: status.as_str(),
            turn,
        },
        StepKind::ToolCall {
            server,
            tool,
            arguments,
            result,
            error,
            status,
            parent,
        } => StepJson::ToolCall {
            arguments,
            error: error.as_deref(),
            line,
            parent: parent.as_deref(),
            result: result.as_deref(),
            schema_version,
            server: server.as_deref(),
            status: status.as_str(),
            tool,
            turn,
        },
        StepKind::WebSearch { query, status } => StepJson::WebSearch {
            line,
            query,
            schema_version,
            status: status.as_str(),
            turn,
        },
        StepKind::Plan { items } => StepJson::Plan {
            items: PlanItems(items),
            line,
            schema_version,
            turn,
        },
        StepKind::Warning { message } => StepJson::Warning {
            line,
            message,
            schema_version,
            turn,
        },
        StepKind::Error { message } => StepJson::Error {
            line,
            message,
            schema_version,
            turn,
        },
        StepKind::Other { kind, raw } => StepJson::Other {
            event: kind,
            line,
            raw,
            schema_version,
            turn,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::turn::ItemStatus;
    use serde_json::json;

    /// One step of every kind.
    fn every_kind() -> Vec<StepKind> {
        vec![
            StepKind::Message { text: "hi".into() },
            StepKind::Reasoning { text: "hmm".into() },
            StepKind::Command {
                command: "ls -l".into(),
                output: "a\nb\n".into(),
                exit_code: Some(2),
                status: ItemStatus::Failed,
            },
            StepKind::Command {
                command: "sleep 9".into(),
                output: "".into(),
                exit_code: None,
                status: ItemStatus::InProgress,
            },
            StepKind::FileChange {
                changes: vec![FileChange {
                    path: "/p/a.txt".into(),
                    kind: "add".into(),
                }],
                status: ItemStatus::Completed,
            },
            StepKind::ToolCall {
                server: Some("echo".into()),
                tool: "echo".into(),
                arguments: json!({"text": "hi", "a": [1, {"z": null, "b": 2}]}),
                result: Some("echo: hi".into()),
                error: None,
                status: ItemStatus::Completed,
                parent: None,
            },
            StepKind::ToolCall {
                server: None,
                tool: "Bash".into(),
                arguments: Value::Null,
                result: None,
                error: Some("denied".into()),
                status: ItemStatus::Declined,
                parent: Some("toolu_1".into()),
            },
            StepKind::WebSearch {
                query: "serde".into(),
                status: ItemStatus::Completed,
            },
            StepKind::Plan {
                items: vec![PlanItem {
                    text: "read".into(),
                    status: "pending".into(),
                }],
            },
            StepKind::Warning {
                message: "retrying".into(),
            },
            StepKind::Error {
                message: "fatal".into(),
            },
            StepKind::Other {
                kind: "item:hologram".into(),
                raw: json!({"type": "hologram", "id": "item_1"}),
            },
        ]
    }

    #[test]
    fn keys_are_sorted_and_type_is_last_at_every_level() {
        for kind in every_kind() {
            let name = kind.name();
            let step = Step { line: 7, kind };
            for doc in [step_json(3, &step), watch_step_json(3, &step)] {
                let written = serde_json::to_string(&doc).unwrap();
                // serde_json's maps are sorted: written again from one, the
                // same text is the same order.
                let value: Value = serde_json::from_str(&written).unwrap();
                assert_eq!(written, value.to_string());
                assert!(
                    written.ends_with(&format!(",\"turn\":3,\"type\":\"{name}\"}}")),
                    "{written}"
                );
            }
        }
    }

    #[test]
    fn the_fields_of_each_type_are_those_the_documents_name() {
        let text = |kind: StepKind, watch: bool| {
            let step = Step { line: 2, kind };
            let doc = if watch {
                watch_step_json(1, &step)
            } else {
                step_json(1, &step)
            };
            serde_json::to_string(&doc).unwrap()
        };
        let kinds = every_kind();
        assert_eq!(
            text(kinds[0].clone(), false),
            r#"{"line":2,"text":"hi","turn":1,"type":"message"}"#
        );
        assert_eq!(
            text(kinds[2].clone(), true),
            r#"{"command":"ls -l","exit_code":2,"line":2,"output":"a\nb\n","schema_version":1,"status":"failed","turn":1,"type":"command"}"#
        );
        assert_eq!(
            text(kinds[4].clone(), false),
            r#"{"changes":[{"kind":"add","path":"/p/a.txt"}],"line":2,"status":"completed","turn":1,"type":"file_change"}"#
        );
        assert_eq!(
            text(kinds[6].clone(), false),
            r#"{"arguments":null,"error":"denied","line":2,"parent":"toolu_1","result":null,"server":null,"status":"declined","tool":"Bash","turn":1,"type":"tool_call"}"#
        );
        assert_eq!(
            text(kinds[8].clone(), true),
            r#"{"items":[{"status":"pending","text":"read"}],"line":2,"schema_version":1,"turn":1,"type":"plan"}"#
        );
        assert_eq!(
            text(kinds[11].clone(), false),
            r#"{"event":"item:hologram","line":2,"raw":{"id":"item_1","type":"hologram"},"turn":1,"type":"other"}"#
        );
    }
}
