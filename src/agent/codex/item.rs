//! A codex item object (`item.*` events) and the step it makes.

use crate::turn::lazy_text::{LazyText, SharedLine};
use crate::turn::{FileChange, ItemStatus, Output, OutputDetail, PlanItem, StepKind};
use serde::de::{Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::fmt;

/// An item object, borrowed from its line: values are kept as the JSON text
/// they are until a step asks for them, so a long turn's tens of thousands of
/// items cost no tree of values each. `web_search` items carry the key `id`
/// twice (the item id, then the search id), which a derived struct rejects;
/// the first is the id and the second is kept as `raw_id`.
pub(super) struct Item<'a> {
    pub(super) id: Option<Cow<'a, str>>,
    /// Strings of the [`COMMON`] keys.
    common: [Option<Cow<'a, str>>; COMMON.len()],
    /// A command's output, the largest text by far (see [`LazyText`]).
    output: Option<&'a RawValue>,
    /// Every other key, in order; a repeated key's last value counts.
    fields: Vec<(Cow<'a, str>, Field<'a>)>,
}

/// A value kept as the JSON text it is, or one already parsed.
enum Field<'a> {
    Raw(&'a RawValue),
    Parsed(Value),
}

impl Field<'_> {
    fn value(&self) -> Option<Value> {
        match self {
            Field::Raw(raw) => serde_json::from_str(raw.get()).ok(),
            Field::Parsed(v) => Some(v.clone()),
        }
    }
}

/// The value of a key expected to hold a string, read in one pass: the
/// string (borrowed from the line unless it has escapes), or else the value.
enum StrOr<'a> {
    Str(Cow<'a, str>),
    Other(Value),
}

impl<'de> Deserialize<'de> for StrOr<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::value::{MapAccessDeserializer, SeqAccessDeserializer};
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = StrOr<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Self::Value, E> {
                Ok(StrOr::Str(Cow::Borrowed(s)))
            }
            fn visit_str<E>(self, s: &str) -> Result<Self::Value, E> {
                Ok(StrOr::Str(Cow::Owned(s.to_string())))
            }
            fn visit_string<E>(self, s: String) -> Result<Self::Value, E> {
                Ok(StrOr::Str(Cow::Owned(s)))
            }
            fn visit_bool<E>(self, b: bool) -> Result<Self::Value, E> {
                Ok(StrOr::Other(Value::Bool(b)))
            }
            fn visit_i64<E>(self, n: i64) -> Result<Self::Value, E> {
                Ok(StrOr::Other(n.into()))
            }
            fn visit_u64<E>(self, n: u64) -> Result<Self::Value, E> {
                Ok(StrOr::Other(n.into()))
            }
            fn visit_f64<E>(self, n: f64) -> Result<Self::Value, E> {
                Ok(StrOr::Other(n.into()))
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(StrOr::Other(Value::Null))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
                Value::deserialize(SeqAccessDeserializer::new(seq)).map(StrOr::Other)
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                Value::deserialize(MapAccessDeserializer::new(map)).map(StrOr::Other)
            }
        }
        d.deserialize_any(V)
    }
}

/// Keys of nearly every item.
const COMMON: [&str; 4] = ["type", "status", "command", "text"];

fn common_index(key: &str) -> Option<usize> {
    COMMON.iter().position(|k| *k == key)
}

/// A string, borrowed from the line unless it has escapes.
#[derive(Deserialize)]
struct Str<'a>(#[serde(borrow)] Cow<'a, str>);

/// The string a JSON value holds, if it is one.
fn raw_str(raw: &RawValue) -> Option<Cow<'_, str>> {
    if !raw.get().starts_with('"') {
        return None;
    }
    serde_json::from_str::<Str>(raw.get()).ok().map(|s| s.0)
}

impl<'de: 'a, 'a> Deserialize<'de> for Item<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = Item<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an item object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Item<'a>, A::Error> {
                let mut item = Item {
                    id: None,
                    common: Default::default(),
                    output: None,
                    fields: Vec::new(),
                };
                while let Some(Str(key)) = map.next_key()? {
                    let common = common_index(&key);
                    if key == "id" || common.is_some() {
                        let value: StrOr<'de> = map.next_value()?;
                        if key == "id" && item.id.is_none() {
                            item.id = Some(match value {
                                StrOr::Str(s) => s,
                                StrOr::Other(v) => Cow::Owned(v.to_string()),
                            });
                        } else if key == "id" {
                            let v = match value {
                                StrOr::Str(s) => Value::String(s.into_owned()),
                                StrOr::Other(v) => v,
                            };
                            item.fields
                                .push((Cow::Borrowed("raw_id"), Field::Parsed(v)));
                        } else if let Some(i) = common {
                            // The last value of a key wins, as in a map.
                            item.common[i] = match value {
                                StrOr::Str(s) => Some(s),
                                StrOr::Other(v) => {
                                    item.fields.push((key, Field::Parsed(v)));
                                    None
                                }
                            };
                        }
                        continue;
                    }
                    let raw: &'de RawValue = map.next_value()?;
                    if key == "aggregated_output" && raw.get().starts_with('"') {
                        item.output = Some(raw);
                    } else {
                        item.fields.push((key, Field::Raw(raw)));
                    }
                }
                Ok(item)
            }
        }
        d.deserialize_map(V(std::marker::PhantomData))
    }
}

impl<'a> Item<'a> {
    fn kind(&self) -> &str {
        self.str("type").unwrap_or("unknown")
    }

    fn field(&self, key: &str) -> Option<&Field<'a>> {
        self.fields
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }

    /// The value of a key that is not one of the [`COMMON`] strings.
    fn value(&self, key: &str) -> Option<Value> {
        self.field(key).and_then(Field::value)
    }

    /// An integer value, read without building a [`Value`] when it is
    /// plain digits (every command's exit code).
    fn int(&self, key: &str) -> Option<i64> {
        if let Some(Field::Raw(raw)) = self.field(key) {
            let text = raw.get();
            if text == "null" {
                return None;
            }
            // serde_json reads `-0` as a float, which is no exit code.
            if let (false, Ok(n)) = (text == "-0", text.parse::<i64>()) {
                return Some(n);
            }
        }
        self.value(key).and_then(|v| v.as_i64())
    }

    fn str(&self, key: &str) -> Option<&str> {
        match common_index(key) {
            Some(i) => self.common[i].as_deref(),
            None => None,
        }
    }

    /// A string of any key.
    fn text(&self, key: &str) -> Option<Cow<'a, str>> {
        match common_index(key) {
            Some(i) => self.common[i].clone(),
            None => match self.field(key)? {
                Field::Raw(raw) => raw_str(raw),
                Field::Parsed(v) => v.as_str().map(|s| Cow::Owned(s.to_string())),
            },
        }
    }

    fn string(&self, key: &str) -> String {
        self.text(key).unwrap_or_default().into_owned()
    }

    fn status(&self, default: ItemStatus) -> ItemStatus {
        self.str("status").map(ItemStatus::parse).unwrap_or(default)
    }

    fn into_raw(self) -> Value {
        let mut m = Map::new();
        for (key, field) in self.fields {
            if let Some(v) = field.value() {
                m.insert(key.into_owned(), v);
            }
        }
        if let Some(output) = self.output.and_then(raw_str) {
            m.insert(
                "aggregated_output".into(),
                Value::String(output.into_owned()),
            );
        }
        for (key, value) in COMMON.iter().zip(self.common) {
            if let Some(v) = value {
                m.insert((*key).into(), Value::String(v.into_owned()));
            }
        }
        if let Some(id) = self.id {
            m.insert("id".into(), Value::String(id.into_owned()));
        }
        Value::Object(m)
    }
}

/// The step of `item`, decoded from `line` if that was read whole.
pub(super) fn item_step(
    item: Item,
    detail: OutputDetail,
    default_status: ItemStatus,
    line: Option<&SharedLine>,
) -> StepKind {
    let status = item.status(default_status);
    match item.kind() {
        "agent_message" => StepKind::Message {
            text: item.string("text"),
        },
        "reasoning" => StepKind::Reasoning {
            text: item.string("text"),
        },
        "command_execution" => StepKind::Command {
            command: item.string("command"),
            output: item
                .output
                .and_then(|raw| Output::from_json_in(raw, detail, line))
                .unwrap_or_else(|| Output::new(LazyText::default(), detail)),
            exit_code: item.int("exit_code"),
            status,
        },
        "file_change" => StepKind::FileChange {
            changes: item
                .value("changes")
                .as_ref()
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .map(|c| FileChange {
                            path: c["path"].as_str().unwrap_or_default().to_string(),
                            kind: c["kind"].as_str().unwrap_or("update").to_string(),
                        })
                        .collect()
                })
                .unwrap_or_default(),
            status,
        },
        "mcp_tool_call" => StepKind::ToolCall {
            server: item.text("server").map(Cow::into_owned),
            tool: item.string("tool"),
            arguments: item.value("arguments").unwrap_or(Value::Null),
            result: item.value("result").as_ref().and_then(mcp_result_text),
            error: item
                .value("error")
                .and_then(|e| e["message"].as_str().map(str::to_string)),
            status,
            parent: None,
        },
        "collab_tool_call" => StepKind::ToolCall {
            server: None,
            tool: format!(
                "collab:{}",
                item.text("tool").as_deref().unwrap_or("unknown")
            ),
            arguments: serde_json::json!({
                "prompt": item.value("prompt"),
                "receiver_thread_ids": item.value("receiver_thread_ids"),
            }),
            result: item.value("agents_states").map(|v| v.to_string()),
            error: None,
            status,
            parent: None,
        },
        "web_search" => StepKind::WebSearch {
            query: item
                .text("query")
                .map(Cow::into_owned)
                .or_else(|| {
                    item.value("action")
                        .and_then(|a| a["query"].as_str().map(str::to_string))
                })
                .unwrap_or_default(),
            status,
        },
        "todo_list" => StepKind::Plan {
            items: item
                .value("items")
                .as_ref()
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .map(|i| PlanItem {
                            text: i["text"].as_str().unwrap_or_default().to_string(),
                            status: if i["completed"].as_bool() == Some(true) {
                                "completed"
                            } else {
                                "pending"
                            }
                            .to_string(),
                        })
                        .collect()
                })
                .unwrap_or_default(),
        },
        "error" => StepKind::Warning {
            message: item.string("message"),
        },
        other => StepKind::Other {
            kind: format!("item:{other}"),
            raw: item.into_raw(),
        },
    }
}

/// The text of an MCP result: its text blocks, else its structured content.
pub(super) fn mcp_result_text(result: &Value) -> Option<String> {
    if result.is_null() {
        return None;
    }
    let texts: Vec<&str> = result["content"]
        .as_array()
        .map(|blocks| blocks.iter().filter_map(|b| b["text"].as_str()).collect())
        .unwrap_or_default();
    if !texts.is_empty() {
        return Some(texts.join("\n"));
    }
    match &result["structured_content"] {
        Value::Null => Some(result.to_string()),
        v => Some(v.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An exit code read from its digits is the one a parsed value gives,
    /// whatever JSON number (or other value) the key holds.
    #[test]
    fn integers_read_from_digits_equal_parsed_values() {
        for text in [
            "0",
            "1",
            "-1",
            "101",
            "-0",
            "2.0",
            "1e2",
            "-1E-2",
            "9223372036854775807",
            "9223372036854775808",
            "-9223372036854775808",
            "-9223372036854775809",
            "18446744073709551616",
            "null",
            "\"1\"",
            "true",
            "[1]",
        ] {
            let line = format!(r#"{{"type":"command_execution","exit_code":{text}}}"#);
            let item: Item = serde_json::from_str(&line).unwrap();
            let parsed = serde_json::from_str::<Value>(text).unwrap().as_i64();
            assert_eq!(item.int("exit_code"), parsed, "{text}");
        }
    }
}
