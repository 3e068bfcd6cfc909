//! The exit code of every command, as `--help` lists them, with a fake
//! agent replaying real transcripts; and what `output`, `trajectory` and
//! `clean` say when a file they need is gone or cannot be removed.

use crate::support::fake::transcript;
use crate::support::output::{error_of, expect, has, stderr, stdout, ANY, EMPTY};
use crate::support::world::{short, uuid_like, World};
use serde_json::{json, Value};

#[test]
fn help_prints_the_exit_code_table() {
    let w = World::new();
    let out = w.run(&["--help"]);
    expect(&out, 0);
    let help = stdout(&out);
    for row in [
        "0    success",
        "1    failure",
        "2    usage error",
        "3    no session matches the id",
        "4    a session ended without completing",
        "5    the session has a turn running",
        "124  `wait --timeout` ran out",
    ] {
        assert!(help.contains(row), "{row:?} missing from:\n{help}");
    }
    expect(&w.run(&["--no-such-flag"]), 2);
}

#[test]
fn exit_codes_start() {
    let w = World::new();
    w.agent.turn(1, transcript("codex_first_turn.jsonl"));
    let out = w.run(&["start", "the task"]);
    expect(&out, 0);
    assert!(uuid_like(stdout(&out).trim()));
    expect(&w.run(&["start", "-a", "aider", "the task"]), 2);
    expect(&w.run(&["start", "-s", "yolo", "the task"]), 2);
    let out = w.run(&["start", "-C", "no/such/dir", "the task"]);
    expect(&out, 2);
    assert_eq!(error_of(&out), "--cd no/such/dir: no such directory");
    let out = w
        .cmd(&["start", "the task"])
        .env("ZWARM_CODEX_BIN", "/nonexistent/codex")
        .output()
        .unwrap();
    expect(&out, 1);
}

#[test]
fn exit_codes_list() {
    let w = World::new();
    let out = w.run(&["list"]);
    expect(&out, 0);
    let id = w.finished("codex_first_turn.jsonl", 0);
    assert!(w.ok(&["ls", "--status", "completed"]).contains(short(&id)));
    assert!(!w.ok(&["ls", "--status", "failed"]).contains(short(&id)));
    expect(&w.run(&["list", "--status", "done"]), 2);
}

#[test]
fn exit_codes_show() {
    let w = World::new();
    let id = w.finished("codex_failed.jsonl", 1);
    let out = w.run(&["show", short(&id)]);
    // Showing a failed session succeeds: the failure is the data.
    expect(&out, 0);
    assert!(stdout(&out).contains("mock: invalid request"));
    expect(&w.run(&["show", "f00d"]), 3);
    expect(&w.run(&["show"]), 2);
}

#[test]
fn exit_codes_inject() {
    let w = World::new();
    w.agent.turn(2, transcript("codex_resume.jsonl"));
    let id = w.finished("codex_first_turn.jsonl", 0);
    expect(&w.run(&["continue", &id, "more"]), 0);
    assert_eq!(w.wait(&id), 0);
    w.agent.hang(3);
    expect(&w.run(&["inject", &id, "more"]), 0);
    expect(&w.run(&["inject", &id, "more"]), 5);
    expect(&w.run(&["inject", "f00d", "more"]), 3);
    expect(&w.run(&["inject", &id]), 2);
}

#[test]
fn exit_codes_kill() {
    let w = World::new();
    let id = w.start_hanging(&["the task"]);
    expect(&w.run(&["kill", &id]), 0);
    expect(&w.run(&["kill", &id]), 1);
    expect(&w.run(&["kill", "f00d"]), 3);
    expect(&w.run(&["kill"]), 2);
    // One bad id does not stop the others; the worst code wins.
    let other = w.start_hanging(&["the task"]);
    let out = w.run(&["kill", &other, "f00d"]);
    expect(&out, 3);
    assert_eq!(stdout(&out), format!("killed {}\n", short(&other)));
    assert_eq!(w.meta(&other)["status"], "killed");
}

#[test]
fn exit_codes_rm() {
    let w = World::new();
    let done = w.finished("codex_first_turn.jsonl", 0);
    let running = w.start_hanging(&["the task"]);
    expect(&w.run(&["rm", &running]), 5);
    expect(&w.run(&["rm", &done]), 0);
    expect(&w.run(&["rm", &done]), 3);
    expect(&w.run(&["rm"]), 2);
}

#[test]
fn exit_codes_trajectory() {
    let w = World::new();
    let id = w.finished("codex_first_turn.jsonl", 0);
    let out = w.run(&["traj", short(&id)]);
    expect(&out, 0);
    let text = stdout(&out);
    assert!(
        text.contains("── turn 1 ──") && text.contains("All done: mock says hi."),
        "{text}"
    );
    let out = w.run(&["trajectory", &id, "--turn", "2"]);
    expect(&out, 2);
    assert_eq!(
        error_of(&out),
        format!("session {} has turns 1 to 1, not 2", short(&id))
    );
    expect(&w.run(&["trajectory", "f00d"]), 3);
}

#[test]
fn exit_codes_output() {
    let w = World::new();
    let id = w.finished("codex_first_turn.jsonl", 0);
    assert_eq!(
        w.ok(&["output", short(&id)]),
        transcript("codex_first_turn.jsonl")
    );
    expect(&w.run(&["output", &id, "--turn", "0"]), 2);
    expect(&w.run(&["output", &id, "--turn", "3"]), 2);
    expect(&w.run(&["output", "f00d"]), 3);
}

#[test]
fn a_missing_turn_file_is_an_error_unless_no_agent_ran_or_the_turn_is_starting() {
    let w = World::new();
    w.agent
        .turn(1, transcript("codex_first_turn.jsonl"))
        .turn(2, transcript("codex_resume.jsonl"));
    let id = w.start(&["first"]);
    assert_eq!(w.wait(&id), 0);
    expect(&w.run(&["inject", &id, "second"]), 0);
    assert_eq!(w.wait(&id), 0);
    let file = w.turn_file(&id, 1);
    std::fs::remove_file(&file).unwrap();
    let want = format!(
        "turn 1 of session {id} has no output file: {} is missing",
        file.display()
    );
    for args in [
        &["output", "--turn", "1", &id][..],
        &["trajectory", &id],
        &["trajectory", "--turn", "1", &id],
        &["--json", "trajectory", &id],
    ] {
        let out = w.run(args);
        expect(&out, 1);
        assert_eq!(error_of(&out), want, "{args:?}");
        assert_eq!(stdout(&out), "", "{args:?}");
    }
    // The turn that has its file still reads.
    assert_eq!(w.ok(&["output", &id]), transcript("codex_resume.jsonl"));
    assert!(w
        .ok(&["trajectory", "--turn", "2", &id])
        .contains("All done: mock says hi."));

    // An agent that never started wrote nothing, rightly.
    let out = w
        .cmd(&["start", "never runs"])
        .env("ZWARM_CODEX_BIN", w.work.path().join("no-such-codex"))
        .output()
        .unwrap();
    expect(&out, 1);
    let never = w.session_ids().into_iter().find(|s| *s != id).unwrap();
    assert_eq!(w.ok(&["output", &never]), "");
    assert_eq!(w.json(&["trajectory", &never])["steps"], json!([]));

    // Nor has a turn whose supervisor has not created its file yet; here
    // the file is taken away from under a running turn to stand for that.
    let running = w.start_hanging(&["the task"]);
    std::fs::remove_file(w.turn_file(&running, 1)).unwrap();
    assert_eq!(w.ok(&["output", &running]), "");
    assert_eq!(w.json(&["trajectory", &running])["steps"], json!([]));
}

#[test]
fn exit_codes_watch() {
    let w = World::new();
    // Followed live: lines arrive while watch runs.
    w.agent
        .turn(1, transcript("codex_first_turn.jsonl"))
        .delay(0.02);
    let id = w.start(&["the task"]);
    let out = w.run(&["watch", &id]);
    expect(&out, 0);
    let text = stdout(&out);
    assert!(text.contains("All done: mock says hi."), "{text}");
    assert!(text.contains("── turn 1 completed ──"), "{text}");

    let failed = w.finished("codex_failed.jsonl", 1);
    let out = w.run(&["--json", "watch", &failed]);
    expect(&out, 4);
    let last: Value = serde_json::from_str(stdout(&out).lines().last().unwrap()).unwrap();
    assert_eq!(last["type"], "end");
    assert_eq!(last["status"], "failed");
    expect(&w.run(&["watch", "f00d"]), 3);
}

#[test]
fn exit_codes_wait() {
    let w = World::new();
    let done = w.finished("codex_first_turn.jsonl", 0);
    let failed = w.finished("codex_failed.jsonl", 1);
    let completed = format!("{} completed\n", short(&done));
    w.run(&["wait", &done]).expect(0, &completed, EMPTY);
    expect(&w.run(&["wait", &done, &failed]), 4);
    let running = w.start_hanging(&["the task"]);
    w.run(&["wait", "--timeout", "100ms", &running])
        .expect(124, ANY, has("timed out"));
    expect(&w.run(&["wait", "--any", &running, &done]), 0);
    expect(&w.run(&["wait", "--timeout", "soon", &done]), 2);
    expect(&w.run(&["wait", "f00d"]), 3);
    // A zero timeout is a poll: what has ended is not a timeout.
    w.run(&["wait", "--timeout", "0", &done])
        .expect(0, &completed, EMPTY);
    expect(&w.run(&["wait", "--timeout", "0", &done, &failed]), 4);
    expect(&w.run(&["wait", "--timeout", "0", &done, &running]), 124);
    expect(
        &w.run(&["wait", "--any", "--timeout", "0", &done, &running]),
        0,
    );
    let out = w.run(&["wait", "--timeout", "99999999999999999d", &done]);
    expect(&out, 2);
    assert!(
        stderr(&out).contains("too long a duration"),
        "{}",
        stderr(&out)
    );
    assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
}

#[test]
fn exit_codes_clean() {
    let w = World::new();
    let id = w.finished("codex_first_turn.jsonl", 0);
    w.run(&["clean"]).expect(0, EMPTY, has("nothing to clean"));
    let out = w.run(&["clean", "--older-than", "0s"]);
    expect(&out, 0);
    assert!(stdout(&out).starts_with(&format!("would remove {}", short(&id))));
    assert!(w.session_dir(&id).exists());
    let out = w.run(&["clean", "--older-than", "0s", "--yes"]);
    expect(&out, 0);
    assert!(stdout(&out).starts_with(&format!("removed {}", short(&id))));
    assert!(!w.session_dir(&id).exists());
    expect(&w.run(&["clean", "--older-than", "a while"]), 2);
}

#[test]
fn clean_reports_each_session_it_could_not_remove() {
    let w = World::new();
    let stuck = w.finished("codex_first_turn.jsonl", 0);
    let gone = w.finished("codex_first_turn.jsonl", 0);
    // Root may write anywhere: what blocks the removal is the session's
    // folder being a mount point (bound onto itself), which no rename moves.
    let held = w.session_dir(&stuck);
    let target = std::ffi::CString::new(held.to_str().unwrap()).unwrap();
    // SAFETY: a bind mount of a folder of this test onto itself.
    let bound = unsafe {
        libc::mount(
            target.as_ptr(),
            target.as_ptr(),
            std::ptr::null(),
            libc::MS_BIND,
            std::ptr::null(),
        )
    };
    assert_eq!(
        bound,
        0,
        "this test needs to bind-mount a folder (root): {}",
        std::io::Error::last_os_error()
    );
    struct Unmount(std::ffi::CString);
    impl Drop for Unmount {
        fn drop(&mut self) {
            // SAFETY: unmounting the bind mount made above.
            unsafe { libc::umount2(self.0.as_ptr(), libc::MNT_DETACH) };
        }
    }
    let _unmount = Unmount(target);

    let out = w.run(&["--json", "clean", "--older-than", "0s", "--yes"]);
    out.expect(1, ANY, EMPTY);
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["sessions"].as_array().unwrap().len(), 1);
    assert_eq!(doc["sessions"][0]["id"], gone.as_str());
    let failed = doc["failed"].as_array().unwrap();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["id"], stuck.as_str());
    let why = failed[0]["error"].as_str().unwrap();
    let dir = w.session_dir(&stuck);
    assert!(
        why.starts_with(&format!("remove {}: ", dir.display())),
        "{why}"
    );
    assert!(!w.session_dir(&gone).exists() && dir.exists());

    let out = w.run(&["clean", "--older-than", "0s", "--yes"]);
    expect(&out, 1);
    assert_eq!(stdout(&out), "");
    assert_eq!(
        error_of(&out),
        format!("session {} could not be removed: {why}", short(&stuck))
    );
    assert!(dir.exists());
}
