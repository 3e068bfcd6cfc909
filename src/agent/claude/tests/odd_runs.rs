//! Runs at the edges: subagents, plans, edits, tools left open, and lines
//! torn, stray or mangled.

use super::*;

#[test]
fn subagents_plans_edits_and_open_tools() {
    let lines = [
        r#"{"type":"assistant","message":{"content":[{"type":"tool_use","id":"t1","name":"Task","input":{"prompt":"look"}}]}}"#,
        r#"{"type":"user","parent_tool_use_id":"t1","message":{"content":[{"type":"text","text":"look"}]}}"#,
        r#"{"type":"assistant","parent_tool_use_id":"t1","message":{"content":[{"type":"tool_use","id":"t2","name":"Grep","input":{"pattern":"x"}}]}}"#,
        r#"{"type":"user","parent_tool_use_id":"t1","message":{"content":[{"type":"tool_result","tool_use_id":"t2","content":[{"type":"text","text":"a.rs"},{"type":"image"}]}]}}"#,
        r#"{"type":"assistant","parent_tool_use_id":"t1","message":{"content":[{"type":"text","text":"found a.rs"},{"type":"redacted_thinking","data":"zz"},{"type":"thinking","thinking":""}]}}"#,
        r#"{"type":"user","message":{"content":[{"type":"tool_result","tool_use_id":"t1","content":"a.rs has it"}]}}"#,
        r#"{"type":"assistant","message":{"content":[{"type":"tool_use","id":"t3","name":"TodoWrite","input":{"todos":[{"content":"fix","status":"in_progress"}]}}]}}"#,
        r#"{"type":"assistant","message":{"content":[{"type":"tool_use","id":"t4","name":"MultiEdit","input":{"file_path":"a.rs"}}]}}"#,
        r#"{"type":"assistant","message":{"content":[{"type":"tool_use","id":"t5","name":"WebSearch","input":{"query":"q"}}]}}"#,
        r#"{"type":"user","message":{"content":[{"type":"tool_result","tool_use_id":"t9","content":"stray"}]}}"#,
        r#"{"type":"mystery","a":1}"#,
        r#"[1,2]"#,
    ];
    let (steps, s) = run_bytes(lines.join("\n").as_bytes());
    let todo = vec![PlanItem {
        text: "fix".into(),
        status: "in_progress".into(),
    }];
    let edit = vec![FileChange {
        path: "a.rs".into(),
        kind: "update".into(),
    }];
    let other = |line, kind: &str, raw| {
        st(
            line,
            StepKind::Other {
                kind: kind.into(),
                raw,
            },
        )
    };
    assert_eq!(
        steps,
        [
            call(
                3,
                "Grep",
                json!({"pattern": "x"}),
                Ok("a.rs\n[image]"),
                Some("t1")
            ),
            msg(5, "found a.rs"),
            st(
                5,
                StepKind::Reasoning {
                    text: "(redacted)".into()
                }
            ),
            call(
                1,
                "Task",
                json!({"prompt": "look"}),
                Ok("a.rs has it"),
                None
            ),
            other(
                10,
                "tool_result",
                json!({"type": "tool_result", "tool_use_id": "t9", "content": "stray"})
            ),
            other(11, "mystery", json!({"type": "mystery", "a": 1})),
            other(12, "unknown", json!([1, 2])),
            // Still open when the stream ended, in the order they started.
            st(7, StepKind::Plan { items: todo }),
            st(
                8,
                StepKind::FileChange {
                    changes: edit,
                    status: InProgress
                }
            ),
            st(
                9,
                StepKind::WebSearch {
                    query: "q".into(),
                    status: InProgress
                }
            ),
        ]
    );
    assert!(s.messages.is_empty() && s.outcome.is_none() && s.skipped_lines == 0);
}

#[test]
fn torn_stray_and_mangled_lines() {
    let mut bytes = std::fs::read(format!("{DIR}claude_rich.jsonl")).unwrap();
    let (steps, summary) = run_bytes(&bytes);
    bytes.extend_from_slice(b"npm WARN something\n{\"type\":\"assistant\",\"message\":{\"con");
    let (steps2, mut summary2) = run_bytes(&bytes);
    assert_eq!((steps2, summary2.skipped_lines), (steps, 2));
    summary2.skipped_lines = 0;
    assert_eq!(summary2, summary);

    // Each value the parser reads, swapped for values of other types.
    let swaps = [
        Value::Null,
        7.into(),
        "x".into(),
        json!([{"type": "text"}]),
        json!({}),
    ];
    let objects = [
        "",
        "/message",
        "/message/content/0",
        "/message/content/0/input",
        "/tool_use_result",
        "/usage",
    ];
    for entry in std::fs::read_dir(DIR)
        .unwrap()
        .flatten()
        .filter(|e| e.path().extension() == Some("jsonl".as_ref()))
    {
        let mut p = ClaudeParser::default();
        for line in std::fs::read_to_string(entry.path()).unwrap().lines() {
            let v: Value = serde_json::from_str(line).unwrap();
            for at in objects {
                let keys: Vec<String> = v
                    .pointer(at)
                    .and_then(Value::as_object)
                    .map(|m| m.keys().cloned().collect())
                    .unwrap_or_default();
                for (key, swap) in keys.iter().flat_map(|k| swaps.iter().map(move |s| (k, s))) {
                    let mut m = v.clone();
                    m.pointer_mut(at).unwrap()[key.as_str()] = swap.clone();
                    p.feed(1, m.to_string().as_bytes(), &mut |_| {});
                }
            }
        }
        p.finish(&mut |_| {});
    }
    // Arbitrary bytes, heavy on JSON punctuation and the words the parser looks for.
    let (alphabet, mut seed) = (
        b"{}[]\":,0tnu\\\n type assistant user result\xff",
        0x9e37_79b9_7f4a_7c15u64,
    );
    let bytes: Vec<u8> = (0..200_000)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            alphabet[(seed % alphabet.len() as u64) as usize]
        })
        .collect();
    run_bytes(&bytes);
}

/// Stopped at its budget after three responses, claude's result counts two
/// of them in `usage` and all three in the invocation's per-model figures;
/// the turn is known to have stopped at its budget.
#[test]
fn a_budget_stop_counts_every_response_it_paid_for() {
    let response = |id: &str| {
        json!({"type": "assistant", "message": {"id": id, "content": [],
            "usage": {"input_tokens": 50, "output_tokens": 1,
                      "cache_read_input_tokens": 7, "cache_creation_input_tokens": 5}}})
        .to_string()
    };
    let user = r#"{"type":"user","message":{"content":[]}}"#.to_string();
    let result = json!({"type": "result", "subtype": "error_max_budget_usd", "is_error": true,
        "terminal_reason": "budget_exhausted", "errors": ["Reached maximum budget ($0.001)"],
        "total_cost_usd": 0.0012192,
        "usage": {"input_tokens": 100, "output_tokens": 18,
                  "cache_read_input_tokens": 14, "cache_creation_input_tokens": 10},
        "model_usage_since_last_result": {"m": {"inputTokens": 150, "outputTokens": 27,
            "cacheReadInputTokens": 21, "cacheCreationInputTokens": 15, "costUSD": 0.0012192}}})
    .to_string();
    let lines = [
        response("a"),
        user.clone(),
        response("b"),
        user,
        response("c"),
        result,
    ];
    let (_, s) = run_bytes(lines.join("\n").as_bytes());
    assert_eq!(s.usage, usage(150, 15, 21, 27));
    assert!(s.budget_exhausted);
    let (_, s) = run("claude_error_max_budget.jsonl");
    assert!(s.budget_exhausted);
    let (_, s) = run("claude_error_max_turns.jsonl");
    assert!(!s.budget_exhausted);
}
