//! Text from the task and from the agent is shown, never obeyed: escape
//! sequences, control, bidi and invisible characters reach the terminal as
//! visible stand-ins in every human view, with or without colour, while
//! `--json` and `output` keep the text as it was.

use crate::support::fake::CODEX_THREAD;
use crate::support::output::{expect, stderr, stdout};
use crate::support::world::World;
use serde_json::{json, Value};

/// A task that would retitle the terminal window and clear its screen.
const HOSTILE_TASK: &str = "\x1b]0;pwned\x07\x1b[2J";

/// A codex turn whose command, output, file name, message and error hold
/// escape sequences and other control characters.
fn hostile_turn() -> String {
    [
        json!({"type": "thread.started", "thread_id": CODEX_THREAD}),
        json!({"type": "turn.started"}),
        json!({"type": "item.completed", "item": {
            "id": "item_1", "type": "command_execution",
            "command": "printf '\x1b[31m'",
            "aggregated_output": "\x1b[1A\x1b[2Kclobbered\n50%\r100%\n\x1b]52;c;cHduZWQ=\x07\n",
            "exit_code": 0, "status": "completed"}}),
        json!({"type": "item.completed", "item": {
            "id": "item_2", "type": "file_change",
            "changes": [{"path": "/w/\x1b[2Jx.txt", "kind": "add"}],
            "status": "completed"}}),
        json!({"type": "item.completed", "item": {
            "id": "item_3", "type": "agent_message",
            "text": "done\x1b[8m hidden\u{9b}2J"}}),
        json!({"type": "turn.failed", "error": {"message": "bad\x1b[2Jend"}}),
    ]
    .iter()
    .map(|v| format!("{v}\n"))
    .collect()
}

/// `out` without zwarm's own colour codes (SGR sequences) holds no control
/// character but newline and tab. An agent's own SGR sequences would pass
/// here: the callers look for them, shown, as well.
#[track_caller]
fn assert_no_raw_controls(what: &str, out: &str) {
    let mut rest = out;
    let mut plain = String::new();
    while let Some(at) = rest.find("\x1b[") {
        plain.push_str(&rest[..at]);
        let after = &rest[at + 2..];
        let params = after
            .find(|c: char| !c.is_ascii_digit() && c != ';')
            .unwrap_or(after.len());
        if after[params..].starts_with('m') {
            rest = &after[params + 1..];
        } else {
            plain.push_str("\x1b[");
            rest = after;
        }
    }
    plain.push_str(rest);
    let raw: Vec<char> = plain
        .chars()
        .filter(|&c| c.is_control() && c != '\n' && c != '\t')
        .collect();
    assert!(raw.is_empty(), "{what} printed {raw:?} raw: {out:?}");
}

#[test]
fn control_characters_from_the_task_and_the_agent_are_shown_not_obeyed() {
    let w = World::new();
    w.agent.turn(1, hostile_turn()).exit(1, 0);
    let id = w.start(&[HOSTILE_TASK]);
    assert_eq!(w.wait(&id), 4);
    let task = "^[]0;pwned^G^[[2J";
    let error = "bad^[[2Jend";
    let message = "done^[[8m hidden<U+009B>2J";

    for color in ["never", "always"] {
        let run = |args: &[&str]| {
            let mut all = vec!["--color", color];
            all.extend_from_slice(args);
            let out = w.run(&all);
            assert_no_raw_controls(&format!("{all:?} (stderr)"), &stderr(&out));
            stdout(&out)
        };
        let list = run(&["list"]);
        let show = run(&["show", &id]);
        let trajectory = run(&["trajectory", &id]);
        let watch = run(&["watch", &id]);
        let wait = run(&["wait", &id]);
        for (what, out) in [
            ("list", &list),
            ("show", &show),
            ("trajectory", &trajectory),
            ("watch", &watch),
            ("wait", &wait),
        ] {
            assert_no_raw_controls(&format!("{what} --color {color}"), out);
            // zwarm's own colours are there exactly when asked for.
            assert_eq!(
                out.contains("\x1b[0m"),
                color == "always",
                "{what}: {out:?}"
            );
        }
        assert!(list.contains(task), "{list:?}");
        for shown in [task, error, message] {
            assert!(show.contains(shown), "{shown:?} not in {show:?}");
        }
        for shown in [
            "printf '^[[31m'",
            "    ^[[1A^[[2Kclobbered",
            "    50%^M100%",
            "    ^[]52;c;cHduZWQ=^G",
            "/w/^[[2Jx.txt",
            message,
            error,
        ] {
            assert!(
                trajectory.contains(shown),
                "{shown:?} not in {trajectory:?}"
            );
            assert!(watch.contains(shown), "{shown:?} not in {watch:?}");
        }
        assert!(wait.contains(error), "{wait:?}");
    }

    // Programs get the text as it was, and `output` the agent's bytes.
    let doc = w.json(&["show", &id]);
    assert_eq!(doc["task"], HOSTILE_TASK);
    assert_eq!(doc["error"], "bad\x1b[2Jend");
    assert_eq!(doc["last_message"], "done\x1b[8m hidden\u{9b}2J");
    let raw = w.json(&["trajectory", &id]).to_string();
    assert!(raw.contains(r"\u001b]52;c;cHduZWQ=\u0007"), "{raw}");
    assert_eq!(w.ok(&["output", &id]), hostile_turn());
}

/// A task and an agent message that read in another order than they are
/// written (RIGHT-TO-LEFT OVERRIDE) and hide a character (ZERO WIDTH SPACE).
#[test]
fn bidi_and_invisible_characters_from_the_task_and_the_agent_are_shown() {
    let w = World::new();
    let task = "rename \u{202e}fdp.exe\u{200b} back";
    let message = "renamed \u{202e}gpj.exe\u{200b} as asked";
    let turn: String = [
        json!({"type": "thread.started", "thread_id": CODEX_THREAD}),
        json!({"type": "turn.started"}),
        json!({"type": "item.completed", "item": {
            "id": "item_1", "type": "agent_message", "text": message}}),
        json!({"type": "turn.completed", "usage": {"input_tokens": 3, "output_tokens": 2}}),
    ]
    .iter()
    .map(|v| format!("{v}\n"))
    .collect();
    w.agent.turn(1, turn);
    let id = w.start(&[task]);
    assert_eq!(w.wait(&id), 0);
    let shown_task = "rename <U+202E>fdp.exe<U+200B> back";
    let shown_message = "renamed <U+202E>gpj.exe<U+200B> as asked";

    for color in ["never", "always"] {
        let run = |args: &[&str]| {
            let mut all = vec!["--color", color];
            all.extend_from_slice(args);
            let out = w.cmd(&all).env("COLUMNS", "200").output().unwrap();
            expect(&out, 0);
            stdout(&out)
        };
        let list = run(&["list"]);
        let show = run(&["show", &id]);
        let trajectory = run(&["trajectory", &id]);
        for (what, out) in [
            ("list", &list),
            ("show", &show),
            ("trajectory", &trajectory),
        ] {
            assert!(
                !out.contains(['\u{202e}', '\u{200b}']),
                "{what} --color {color} printed them raw: {out:?}"
            );
        }
        assert!(list.contains(shown_task), "{list:?}");
        for shown in [shown_task, shown_message] {
            assert!(show.contains(shown), "{shown:?} not in {show:?}");
        }
        assert!(trajectory.contains(shown_message), "{trajectory:?}");
    }

    // Programs get the text as it was.
    let doc = w.json(&["show", &id]);
    assert_eq!(doc["task"], task);
    assert_eq!(doc["last_message"], message);
    assert_eq!(w.json(&["list"])["sessions"][0]["task"], task);
    let texts: Vec<Value> = w.steps(&id).iter().map(|s| s["text"].clone()).collect();
    assert!(texts.contains(&json!(message)), "{texts:?}");
}
