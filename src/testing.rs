//! What the property tests of several modules share: their bounds, and
//! generators of JSON and of turn-file lines like the agents'.
#![cfg(test)]

use proptest::prelude::*;

pub(crate) const CASES: u32 = 500;

pub(crate) fn config() -> ProptestConfig {
    ProptestConfig {
        cases: CASES,
        // Failures are reproduced from the printed seed; no files in the tree.
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Lines that look like what agents write, broken in the ways real streams
/// break: recorded lines, their prefixes (torn), with bytes flipped, random
/// JSON, and raw bytes including invalid UTF-8.
pub(crate) fn line() -> impl Strategy<Value = Vec<u8>> {
    let recorded: Vec<Vec<u8>> = ["codex_rich.jsonl", "claude_rich.jsonl", "codex_mcp.jsonl"]
        .iter()
        .flat_map(|n| {
            let path = format!("{}/tests/data/transcripts/{n}", env!("CARGO_MANIFEST_DIR"));
            std::fs::read_to_string(path)
                .unwrap()
                .lines()
                .map(|l| l.as_bytes().to_vec())
                .collect::<Vec<_>>()
        })
        .collect();
    let pick = proptest::sample::select(recorded);
    prop_oneof![
        pick.clone(),
        (pick.clone(), any::<prop::sample::Index>()).prop_map(|(l, i)| {
            let cut = i.index(l.len() + 1);
            l[..cut].to_vec()
        }),
        (pick, any::<prop::sample::Index>(), any::<u8>()).prop_map(|(mut l, i, b)| {
            if !l.is_empty() {
                let at = i.index(l.len());
                l[at] = b;
            }
            l
        }),
        json_value().prop_map(|v| v.to_string().into_bytes()),
        prop::collection::vec(any::<u8>(), 0..200),
    ]
    .prop_map(|l: Vec<u8>| l.into_iter().filter(|b| *b != b'\n').collect())
}

pub(crate) fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        "[a-z_.]{0,12}".prop_map(serde_json::Value::from),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        let keys = prop_oneof![
            Just("type".to_string()),
            Just("item".to_string()),
            Just("message".to_string()),
            Just("usage".to_string()),
            Just("content".to_string()),
            Just("subtype".to_string()),
            "[a-z_]{1,8}",
        ];
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
            prop::collection::btree_map(keys, inner, 0..5)
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Text with what makes previews hard: line ends of both kinds, trailing
/// blanks, quotes and backslashes (escaped in JSON), control and wide chars.
pub(crate) fn tricky_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("\n".to_string()),
        Just("\r\n".to_string()),
        Just(" ".to_string()),
        Just("\t".to_string()),
        Just("\"".to_string()),
        Just("\\".to_string()),
        Just("\\n".to_string()),
        Just("\u{1b}[31m".to_string()),
        Just("é😀\u{a0}\u{2028}".to_string()),
        "[a-z]{1,30}",
        "[a-z]{190,210}",
    ];
    prop::collection::vec(piece, 0..40).prop_map(|p| p.concat())
}
