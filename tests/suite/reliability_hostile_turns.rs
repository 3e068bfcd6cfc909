//! What the agent writes is hostile: bytes that are not UTF-8, a 50 MB
//! line, a torn last line, nothing at all; or the `turns/` folder goes.

use crate::support::fake::transcript;
use crate::support::files::{assert_unchanged, snapshot};
use crate::support::output::{error_of, expect, stdout};
use crate::support::world::World;
use std::time::Instant;

/// A turn that replays `bytes` (and `stderr`, exit `exit`), waited for.
fn replayed(w: &World, bytes: &[u8], stderr: &[u8], exit: i32) -> String {
    let k = w.agent.calls() + 1;
    w.agent.turn(k, bytes).exit(k, exit);
    if !stderr.is_empty() {
        std::fs::write(
            w.agent.program().with_file_name(format!("stderr-{k}")),
            stderr,
        )
        .unwrap();
    }
    let id = w.start(&["the task"]);
    w.wait(&id);
    id
}

/// What the agent writes is hostile: bytes that are not UTF-8, a 50 MB
/// line, a torn last line, nothing at all; or the `turns/` folder goes.
/// Each session still settles to the status its stream supports, `show`,
/// `trajectory` and `output` work, and `output` gives back every byte.
#[test]
fn hostile_turn_files_settle_and_stay_readable() {
    let t0 = Instant::now();
    let w = World::new();
    let first = transcript("codex_first_turn.jsonl");
    let lines: Vec<&str> = first.lines().collect();
    let with = |at: usize, extra: &[u8]| {
        let mut out = Vec::new();
        for (i, l) in lines.iter().enumerate() {
            if i == at {
                out.extend_from_slice(extra);
            }
            out.extend_from_slice(l.as_bytes());
            out.push(b'\n');
        }
        out
    };
    let mut tried = Vec::new();

    // Not UTF-8: a stray binary line, and a JSON line with a bad string.
    let bytes = with(
        5,
        b"\xff\xfe\x00 not json \xc3\x28\n{\"type\":\"item.completed\",\"item\":{\"id\":\"x\",\"type\":\"agent_message\",\"text\":\"caf\xe9\"}}\n",
    );
    let id = replayed(&w, &bytes, b"", 0);
    let m = w.meta(&id);
    assert_eq!(m["status"], "completed", "{m}");
    assert_eq!(m["turns"][0]["skipped_lines"], 2, "{m}");
    // Counted where both kinds of reader see it.
    let shown = w.json(&["show", &id]);
    assert_eq!(shown["turn_records"][0]["skipped_lines"], 2, "{shown}");
    let out = w.run(&["show", &id]);
    assert!(
        stdout(&out).contains(", 2 unreadable lines skipped"),
        "{}",
        stdout(&out)
    );
    let out = w.run(&["output", &id]);
    expect(&out, 0);
    assert_eq!(out.stdout, bytes, "output is not the agent's bytes");
    expect(&w.run(&["trajectory", &id]), 0);
    tried.push("non-UTF-8 lines");

    // Not UTF-8 on stderr of an agent that wrote nothing.
    let id = replayed(&w, b"", b"error: bad token \xff\xfe in config\n", 1);
    let m = w.meta(&id);
    assert_eq!(m["status"], "failed", "{m}");
    let err = m["error"].as_str().unwrap();
    assert!(
        err.starts_with("error: bad token \u{fffd}\u{fffd} in config"),
        "{err}"
    );
    tried.push("non-UTF-8 stderr");

    // A 50 MB single line: a command's output.
    let big = 50 * 1024 * 1024;
    let mut line = br#"{"type":"item.completed","item":{"id":"item_9","type":"command_execution","command":"cat big","aggregated_output":""#.to_vec();
    line.resize(line.len() + big, b'x');
    line.extend_from_slice(b"\",\"exit_code\":0,\"status\":\"completed\"}}\n");
    let bytes = with(5, &line);
    let t = Instant::now();
    let id = replayed(&w, &bytes, b"", 0);
    let settled = t.elapsed();
    let m = w.meta(&id);
    assert_eq!(m["status"], "completed", "{}", m["error"]);
    let meta_len = std::fs::metadata(w.session_dir(&id).join("meta.json"))
        .unwrap()
        .len();
    assert!(meta_len < 64 * 1024, "meta.json is {meta_len} bytes");
    let t = Instant::now();
    let out = w.run(&["trajectory", &id]);
    let traj = t.elapsed();
    expect(&out, 0);
    assert!(
        out.stdout.len() < 1024 * 1024,
        "trajectory printed {} bytes",
        out.stdout.len()
    );
    let out = w.run(&["output", &id]);
    expect(&out, 0);
    assert_eq!(out.stdout.len(), bytes.len());
    expect(&w.run(&["list"]), 0);
    tried.push("a 50 MB line");

    // A torn last line: the turn never finished.
    let torn = &first.as_bytes()[..first.len() - 40];
    let id = replayed(&w, torn, b"", 0);
    let m = w.meta(&id);
    assert_eq!(m["status"], "failed", "{m}");
    assert_eq!(m["turns"][0]["ending"], "interrupted");
    assert_eq!(m["turns"][0]["skipped_lines"], 1);
    assert_eq!(w.run(&["output", &id]).stdout, torn);
    tried.push("a torn last line");

    // Nothing at all, exit 0.
    let id = replayed(&w, b"", b"", 0);
    let m = w.meta(&id);
    assert_eq!(m["status"], "failed", "{m}");
    assert_eq!(
        m["error"],
        "the agent exited with code 0 without any output"
    );
    let shown = w.run(&["trajectory", &id]);
    expect(&shown, 0);
    tried.push("empty output");

    // A finished turn's file emptied afterwards: what was recorded stays.
    let id = replayed(&w, first.as_bytes(), b"", 0);
    std::fs::write(w.turn_file(&id, 1), b"").unwrap();
    let before = snapshot(w.state.path());
    assert_eq!(w.json(&["show", &id])["status"], "completed");
    expect(&w.run(&["trajectory", &id]), 0);
    assert_eq!(w.run(&["output", &id]).stdout, b"");
    assert_unchanged(
        &before,
        &snapshot(w.state.path()),
        "reading an emptied turn",
    );
    tried.push("an emptied turn file");

    // The turns/ folder gone, from a finished session and from one whose
    // supervisor and agent then died.
    let done = replayed(&w, first.as_bytes(), b"", 0);
    std::fs::remove_dir_all(w.session_dir(&done).join("turns")).unwrap();
    let before = snapshot(w.state.path());
    assert_eq!(w.json(&["show", &done])["status"], "completed");
    // What the turn did is gone: said so, never shown as an empty turn.
    for cmd in ["trajectory", "output"] {
        let out = w.run(&[cmd, &done]);
        expect(&out, 1);
        assert!(out.stdout.is_empty(), "{cmd}");
        assert!(
            error_of(&out).starts_with(&format!("turn 1 of session {done} has no output file")),
            "{cmd}: {}",
            error_of(&out)
        );
    }
    let out = w.run(&["doctor"]);
    expect(&out, 1);
    assert!(
        stdout(&out).contains(&format!(
            "{}  missing_turn_file: turn 1 has no output file (turns/turn_1.jsonl)",
            &done[..8]
        )),
        "{}",
        stdout(&out)
    );
    assert_unchanged(&before, &snapshot(w.state.path()), "reading without turns/");
    let running = w.start_hanging(&[]);
    std::fs::remove_dir_all(w.session_dir(&running).join("turns")).unwrap();
    w.crash(&running);
    let shown = w.json(&["show", &running]);
    assert_eq!(shown["status"], "failed", "{shown}");
    assert_eq!(shown["ending"], "interrupted");
    expect(&w.run(&["list"]), 0);
    tried.push("a missing turns/ folder");

    eprintln!(
        "hostile: {} turn-file cases ({}) settled truthfully and stayed readable; the 50 MB \
         line settled in {:.1}s and its trajectory took {:.1}s; in {:.1}s",
        tried.len(),
        tried.join(", "),
        settled.as_secs_f64(),
        traj.as_secs_f64(),
        t0.elapsed().as_secs_f64()
    );
}
