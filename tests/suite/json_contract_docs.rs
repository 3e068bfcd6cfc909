//! The strict consumer types refuse what they must, and every example in
//! docs/json.md decodes with them.

use crate::support::contract::*;
use std::collections::BTreeSet;

/// The consumer types are as strict as they claim: an extra or a missing
/// field fails to decode.
#[test]
fn the_consumer_types_reject_unknown_and_missing_fields() {
    let step = r#"{"type":"message","turn":1,"line":2,"text":"hi"}"#;
    serde_json::from_str::<Step>(step).expect("the step itself decodes");
    let extra = r#"{"type":"message","turn":1,"line":2,"text":"hi","mood":"ok"}"#;
    assert!(serde_json::from_str::<Step>(extra).is_err());
    let missing =
        r#"{"type":"command","turn":1,"line":2,"command":"ls","output":"","status":"completed"}"#;
    assert!(
        serde_json::from_str::<Step>(missing).is_err(),
        "a nullable field must still be present"
    );
    let doc = r#"{"schema_version":1,"results":[{"id":"a","ok":true,"status":null}]}"#;
    assert!(serde_json::from_str::<ActionDoc>(doc).is_err());
}

/// The examples in docs/json.md are documents of the shapes they illustrate.
#[test]
fn the_examples_in_docs_json_md_decode() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/json.md");
    let text = std::fs::read_to_string(&path).expect("read docs/json.md");
    let mut section = String::new();
    let mut block: Option<(String, String)> = None;
    let mut seen = Vec::new();
    for line in text.lines() {
        if let Some((fence, body)) = block.as_mut() {
            if line == "```" {
                let (fence, body) = (std::mem::take(fence), std::mem::take(body));
                block = None;
                check_example(&section, &fence, &body);
                seen.push(section.clone());
            } else {
                body.push_str(line);
                body.push('\n');
            }
        } else if let Some(fence) = line.strip_prefix("```") {
            block = Some((fence.to_string(), String::new()));
        } else if let Some(h) = line.strip_prefix("## ") {
            section = h.to_string();
        }
    }
    for s in [
        "start and inject",
        "list",
        "show",
        "kill and rm",
        "wait",
        "clean",
        "doctor",
        "trajectory",
        "watch",
        "Steps",
        "version",
        "remote",
        "Remotes",
    ] {
        assert!(seen.iter().any(|x| x == s), "no example under `## {s}`");
    }
}

fn check_example(section: &str, fence: &str, body: &str) {
    let what = format!("docs/json.md, {section}");
    match (section, fence) {
        ("start and inject", "json") => {
            decode::<SessionDoc>(&what, body);
        }
        ("list", "json") => {
            decode::<ListDoc>(&what, body);
        }
        ("show", "json") => {
            decode::<ShowDoc>(&what, body);
        }
        ("kill and rm", "json") => {
            decode::<ActionDoc>(&what, body);
        }
        ("wait", "json") => {
            decode::<WaitDoc>(&what, body);
        }
        ("clean", "json") => {
            decode::<CleanDoc>(&what, body);
        }
        ("doctor", "json") => {
            decode::<DoctorDoc>(&what, body);
        }
        ("trajectory", "json") => {
            decode::<TrajectoryDoc>(&what, body);
        }
        ("diff", "json") => {
            decode::<DiffDoc>(&what, body);
        }
        ("apply", "json") => {
            decode::<ApplyDoc>(&what, body);
        }
        ("version", "json") => {
            decode::<VersionDoc>(&what, body);
        }
        ("remote", "json") => {
            decode::<RemotesDoc>(&what, body);
        }
        ("Remotes", "json") => {
            let doc = decode::<AllHostsDoc>(&what, body);
            assert!(doc.sessions.iter().all(|s| s.host.is_some()), "{what}");
        }
        ("watch", "") => {
            let lines: Vec<WatchLine> = body.lines().map(watch_line).collect();
            assert!(matches!(lines.last(), Some(WatchLine::End(_))), "{what}");
        }
        ("watch", "sh") => {}
        ("Steps", "") => {
            let kinds: BTreeSet<&str> = body
                .lines()
                .map(|l| decode::<Step>(&what, l).name())
                .collect();
            assert_eq!(kinds.len(), 10, "one of each step type: {kinds:?}");
        }
        _ => panic!("{what}: an example this test does not know (```{fence})"),
    }
}
