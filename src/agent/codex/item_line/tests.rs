use super::*;
use crate::agent::codex::decode::parsed;
use crate::testing::config;
use proptest::prelude::*;

const DETAILS: [OutputDetail; 3] = [
    OutputDetail::Whole,
    OutputDetail::Preview {
        lines: 3,
        width: 20,
    },
    OutputDetail::Preview { lines: 1, width: 1 },
];

/// What a line was read to, in a form that compares and prints.
fn seen(line: &Line) -> String {
    let item = line.item.as_ref().map(|i| {
        let id = match &i.id {
            ItemId::None => "none".to_string(),
            ItemId::Inline { len, bytes } => format!("{:?}", &bytes[..usize::from(*len)]),
            ItemId::Heap(id) => format!("{id:?}"),
        };
        // The whole output as written back to JSON too, not only its text.
        let json = match &i.step {
            StepKind::Command {
                output: Output::Whole(text),
                ..
            } => serde_json::to_string(text).unwrap(),
            _ => String::new(),
        };
        format!("{id} {:?} {json}", i.step)
    });
    format!("{} {} {item:?}", line.kind, line.rest.is_some())
}

/// The property: where this reader answers, the parser's path reads the
/// line to the same event, for every detail of output.
fn agrees(line: &str) -> Result<bool, TestCaseError> {
    let mut answered = false;
    for detail in DETAILS {
        let Some(fast) = read(line, detail) else {
            continue;
        };
        answered = true;
        let Some(slow) = parsed(line, detail) else {
            return Err(TestCaseError::fail(format!("answered for {line:?}")));
        };
        prop_assert_eq!(seen(&fast), seen(&slow), "{:?}", line);
    }
    Ok(answered)
}

/// The lines of real turns are read by this reader, as the parser reads them.
#[test]
fn recorded_items_are_read_as_the_parser_reads_them() {
    let mut answered = 0;
    for name in ["codex_rich.jsonl", "codex_mcp.jsonl"] {
        let path = format!(
            "{}/tests/data/transcripts/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        for line in std::fs::read_to_string(path).unwrap().lines() {
            answered += usize::from(agrees(line).unwrap());
        }
    }
    assert!(answered >= 10, "only {answered} lines read by hand");
}

#[test]
fn items_of_each_kind_are_read_by_hand() {
    let lines = [
        r#"{"type":"item.completed","item":{"id":"item_1","type":"agent_message","text":"hi \"you\"\n"}}"#,
        r#"{"type":"item.completed","item":{"id":"item_2","type":"reasoning","text":"**Plan**"}}"#,
        r#"{"type":"item.started","item":{"id":"item_3","type":"command_execution","command":"ls","aggregated_output":"","exit_code":null,"status":"in_progress"}}"#,
        r#"{"type":"item.completed","item":{"id":"item_3","type":"command_execution","command":"ls","aggregated_output":"a\nb\u001b[0m\n","exit_code":-2,"status":"failed"}}"#,
        r#"{"type":"item.completed","item":{"id":"item_4","type":"file_change","changes":[{"path":"a.rs","kind":"add"},{"path":"b.rs"}],"status":"completed"}}"#,
        r#"{"type":"item.completed","item":{"id":"item_5","type":"todo_list","items":[{"text":"x","completed":true},{"text":"y","completed":"true"}]}}"#,
        r#"{"type":"item.completed","item":{"id":"item_6","type":"mcp_tool_call","server":"s","tool":"t","arguments":{"a":[1]},"result":{"content":[{"type":"text","text":"ok"}]},"error":null,"status":"completed"}}"#,
        r#"{"type":"item.completed","item":{"id":"item_7","type":"web_search","id":"ws_1","query":"q","action":{"type":"search","query":"q"}}}"#,
        r#"{"type":"item.completed","item":{"id":"item_8","type":"error","message":"careful"}}"#,
        "{\"type\":\"item.updated\" , \"item\" : { \"type\" : \"reasoning\" , \"text\" : \"t\" } }\t",
        // A key given twice counts with its last value; `id` with its first.
        r#"{"type":"item.completed","item":{"id":"a","type":"agent_message","text":"1","text":"2","id":"b"}}"#,
        r#"{"type":"item.completed","item":{"type":"todo_list","items":[{"completed":true,"completed":1},{"completed":1,"completed":true},{"completed":true,"completed":"x"}]}}"#,
        r#"{"type":"item.completed","item":{"type":"file_change","changes":[{"path":"a","path":5,"kind":"add","kind":null}],"changes":[{"path":"b"}]}}"#,
        r#"{"type":"item.completed","item":{"type":"command_execution","exit_code":1,"exit_code":null,"aggregated_output":"a","aggregated_output":"b","status":"failed","status":"declined"}}"#,
    ];
    for line in lines {
        assert!(agrees(line).unwrap(), "{line}");
    }
}

/// Lines this reader leaves to the parser: it answers only where it can
/// prove its reading the parser's.
#[test]
fn unusual_items_are_left_to_the_parser() {
    let lines = [
        // A key order codex does not write, and extra keys.
        r#"{"item":{"type":"reasoning","text":"t"},"type":"item.completed"}"#,
        r#"{"type":"item.completed","item":{"type":"reasoning","text":"t"},"x":1}"#,
        // Kinds it does not make steps of, or a search without its query.
        r#"{"type":"item.completed","item":{"type":"collab_tool_call","tool":"spawn"}}"#,
        r#"{"type":"item.completed","item":{"type":"web_search","action":{"query":"q"}}}"#,
        // Values of other types, and escapes it does not decode.
        r#"{"type":"item.completed","item":{"id":7,"type":"reasoning","text":"t"}}"#,
        r#"{"type":"item.completed","item":{"type":"reasoning","text":"\u00e9"}}"#,
        r#"{"type":"item.completed","item":{"type":"command_execution","exit_code":1.0}}"#,
        r#"{"type":"item.completed","item":{"type":"command_execution","aggregated_output":7}}"#,
        r#"{"type":"item.completed","item":{"type":"file_change","changes":[1]}}"#,
        // Not JSON.
        r#"{"type":"item.completed","item":{"type":"reasoning","text":"t"}"#,
        "{\"type\":\"item.completed\",\"item\":{\"type\":\"reasoning\",\"text\":\"\t\"}}",
        r#"{"type":"item.completed","item":{"type":"command_execution","aggregated_output":"\x"}}"#,
    ];
    for line in lines {
        for detail in DETAILS {
            assert!(read(line, detail).is_none(), "{line}");
        }
    }
}

fn string_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        8 => "[a-z ]{0,8}",
        2 => Just(r"\n".to_string()),
        2 => Just(r#"\""#.to_string()),
        1 => Just(r"\\".to_string()),
        1 => Just(r"\/".to_string()),
        1 => Just(r"\t".to_string()),
        2 => Just("é😀".to_string()),
        2 => "[a-z]{60,80}",
        // Escapes this reader decodes only in a command's output, and what
        // JSON does not allow.
        1 => Just(r"\u001b".to_string()),
        1 => Just(r"\ud800".to_string()),
        1 => prop::sample::select(vec![r"\u00zz", r"\x", "\t"]).prop_map(str::to_string),
    ];
    prop::collection::vec(piece, 0..6).prop_map(|p| format!("\"{}\"", p.concat()))
}

fn value_text() -> impl Strategy<Value = String> {
    let fixed = prop::sample::select(vec![
        "null",
        "true",
        "false",
        "0",
        "1",
        "-1",
        "101",
        "-0",
        "1.5",
        "1e2",
        "12345678901234567890",
        "[]",
        "{}",
        "[1,\"a\"]",
        r#"{"text":"x","completed":true}"#,
        r#"[{"path":"a","kind":"add"},{"path":"b"},{"kind":"delete","path":"c","path":"d"}]"#,
        r#"[{"path":5,"kind":null},{}]"#,
        r#"[{"text":"t","completed":false},{"completed":true,"text":"u"},{"completed":"true"}]"#,
        r#"[{"text":"\n\"","completed":true,"completed":1}]"#,
        r#"{"content":[{"type":"text","text":"hi"},{"type":"image"}],"structured_content":{"a":1}}"#,
        r#"{"structured_content":null}"#,
        r#"{"message":"boom"}"#,
        r#"{"type":"search","query":"q"}"#,
        r#"[1]"#,
        r#"{"a":{"b":[{}]}}"#,
        r#"{"a" : [ 1 , 2 ] }"#,
    ])
    .prop_map(str::to_string);
    let broken = prop::sample::select(vec!["[", "tru", "01", "\"a"]).prop_map(str::to_string);
    prop_oneof![12 => fixed, 12 => string_text(), 1 => broken]
}

fn key() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "id",
        "type",
        "status",
        "command",
        "text",
        "aggregated_output",
        "exit_code",
        "server",
        "tool",
        "query",
        "message",
        "arguments",
        "result",
        "error",
        "changes",
        "items",
        "action",
        "raw_id",
        "other",
        "ty\\u0070e",
    ])
    .prop_map(|k| format!("\"{k}\""))
}

/// A key with a value of the type codex writes for it.
fn typed_pair() -> impl Strategy<Value = (String, String)> {
    let string_key = prop::sample::select(vec![
        "id",
        "command",
        "text",
        "server",
        "tool",
        "query",
        "message",
        "status",
        "aggregated_output",
    ]);
    let of = |values: Vec<&'static str>| prop::sample::select(values).prop_map(str::to_string);
    prop_oneof![
        4 => (string_key, string_text()).prop_map(|(k, v)| (format!("\"{k}\""), v)),
        1 => of(vec!["null", "0", "1", "-1", "101"]).prop_map(|v| ("\"exit_code\"".into(), v)),
        1 => of(vec![
            "[]",
            r#"[{"path":"a","kind":"add"},{"path":"b"}]"#,
            r#"[{"kind":"delete","path":"c","path":"d\n"},{}]"#,
            r#"[{"path":5,"kind":null}]"#,
        ])
        .prop_map(|v| ("\"changes\"".into(), v)),
        1 => of(vec![
            "[]",
            r#"[{"text":"t","completed":false},{"completed":true,"text":"u"}]"#,
            r#"[{"text":"\"","completed":true,"completed":1},{"completed":"true"}]"#,
        ])
        .prop_map(|v| ("\"items\"".into(), v)),
        1 => (
            of(vec!["\"arguments\"", "\"result\"", "\"error\"", "\"action\"", "\"x\""]),
            of(vec![
                "null",
                r#"{"a":[1,{"b":null}]}"#,
                r#"{"content":[{"type":"text","text":"hi"},{"type":"text","text":"there"}]}"#,
                r#"{"content":[],"structured_content":{"a":1}}"#,
                r#"{"message":"boom"}"#,
                r#"{"type":"search","query":"q"}"#,
                "\"s\"",
            ]),
        ),
    ]
}

fn item_type() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "\"agent_message\"",
        "\"reasoning\"",
        "\"command_execution\"",
        "\"file_change\"",
        "\"todo_list\"",
        "\"mcp_tool_call\"",
        "\"web_search\"",
        "\"error\"",
        "\"collab_tool_call\"",
        "\"other\"",
        "\"reas\\u006fning\"",
        "5",
    ])
    .prop_map(str::to_string)
}

fn status() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "\"completed\"",
        "\"in_progress\"",
        "\"failed\"",
        "\"declined\"",
        "\"odd\"",
        "\"fail\\u0065d\"",
        "null",
    ])
    .prop_map(str::to_string)
}

fn blank() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec!["", "", "", " ", "\t", "\n "])
}

proptest! {
    // More cases than the usual: a case tells something only where the
    // reader answers, about a quarter of them.
    #![proptest_config(ProptestConfig { cases: config().cases * 8, ..config() })]

    /// Items of every kind, with keys repeated, values of every type,
    /// escapes and blanks: wherever this reader answers, it reads the line
    /// as the parser does.
    #[test]
    fn items_are_read_as_the_parser_reads_them(
        event in prop::sample::select(vec![
            "item.started", "item.completed", "item.updated", "turn.started", "item.other",
        ]),
        kind in item_type(),
        status in prop::option::of(status()),
        pairs in prop::collection::vec(prop_oneof![4 => typed_pair(), 1 => (key(), value_text())], 0..8),
        at in any::<prop::sample::Index>(),
        blanks in prop::collection::vec(blank(), 8),
    ) {
        let mut fields: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}:{}{v}", blanks[0])).collect();
        fields.insert(at.index(fields.len() + 1), format!("\"type\":{kind}"));
        if let Some(status) = status {
            fields.push(format!("\"status\":{status}"));
        }
        let b = &blanks;
        let line = format!(
            "{}{{\"type\":\"{event}\"{},\"item\"{}:{}{{{}{}}}{}}}{}",
            b[1], b[2], b[3], b[4], b[5], fields.join(&format!(",{}", b[6])), b[7], b[1],
        );
        agrees(&line)?;
    }
}
