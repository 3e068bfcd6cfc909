//! Hostile store contents: unreadable `meta.json` files of every kind,
//! readable ones holding surprises, path-like ids and things in `sessions/`
//! that are not sessions. Each is named or refused, never guessed at, and
//! nothing in the store changes.

use crate::support::agents::target_tempdir;
use crate::support::files::{assert_unchanged, snapshot};
use crate::support::output::Ran;
use crate::support::output::{error_of, expect, has, session_in, stderr, stdout};
use crate::support::rng::Rng;
use crate::support::world::{reopen, World};
use serde_json::{json, Value};

/// Every command a user might point at a session, read-only ones first.
fn poke(w: &World, id: &str) -> Vec<(String, Ran)> {
    [
        vec!["show", id],
        vec!["--json", "show", id],
        vec!["trajectory", id],
        vec!["output", id],
        vec!["kill", id],
        vec!["wait", "--timeout", "1s", id],
    ]
    .into_iter()
    .map(|args| (args.join(" "), w.run(&args)))
    .collect()
}

#[test]
fn unreadable_meta_files_are_named_and_left_alone() {
    let w = World::new();
    let good = w.finished("codex_first_turn.jsonl", 0);
    let text = String::from_utf8(w.meta_bytes(&good)).unwrap();
    let mut without_task: Value = serde_json::from_str(&text).unwrap();
    without_task.as_object_mut().unwrap().remove("task");
    let mut non_utf8 = text.replace("the task", "@@").into_bytes();
    let at = non_utf8.windows(2).position(|p| p == b"@@").unwrap();
    non_utf8.splice(at..at + 2, [b'c', b'a', b'f', 0xe9, 0xff, 0xfe]);
    let mut garbage = vec![0u8; 4096];
    let mut rng = Rng::new("hostile meta");
    garbage.iter_mut().for_each(|b| *b = rng.next() as u8);
    // Not a byte that could start a JSON value.
    garbage[0] = 0x01;

    let cases: Vec<(&str, Option<Vec<u8>>, &str)> = vec![
        ("non-UTF-8 bytes", Some(non_utf8), "invalid unicode"),
        ("empty file", Some(Vec::new()), "meta.json is empty"),
        (
            "whitespace only",
            Some(b" \n\t\n".to_vec()),
            "meta.json is empty",
        ),
        (
            "cut short",
            Some(text.as_bytes()[..text.len() / 2].to_vec()),
            "EOF while parsing",
        ),
        ("binary garbage", Some(garbage), "expected value"),
        (
            "JSON but not an object",
            Some(b"[1, 2, 3]\n".to_vec()),
            "invalid type",
        ),
        ("null", Some(b"null".to_vec()), "invalid type"),
        (
            "a required key missing",
            Some(serde_json::to_vec(&without_task).unwrap()),
            "missing field `task`",
        ),
        (
            "a key of the wrong type",
            Some(
                text.replace("\"turn\": 1", "\"turn\": \"one\"")
                    .into_bytes(),
            ),
            "invalid type",
        ),
        ("missing", None, "meta.json is missing"),
    ];
    let mut bad = Vec::new();
    for (what, bytes, expected) in &cases {
        let id = w.clone_session(&good);
        let meta = w.session_dir(&id).join("meta.json");
        match bytes {
            Some(b) => std::fs::write(&meta, b).unwrap(),
            None => std::fs::remove_file(&meta).unwrap(),
        }
        bad.push((id, *what, *expected));
    }
    // A folder where meta.json should be.
    let dir_case = w.clone_session(&good);
    let meta = w.session_dir(&dir_case).join("meta.json");
    std::fs::remove_file(&meta).unwrap();
    std::fs::create_dir(&meta).unwrap();
    bad.push((dir_case, "meta.json is a folder", "not a regular file"));

    let before = snapshot(w.state.path());
    for (id, what, expected) in &bad {
        for (cmd, out) in poke(&w, id) {
            expect(&out, 1);
            let err = error_of(&out);
            assert!(
                err.contains(id.as_str()) && err.contains(expected),
                "{what}: `{cmd}`: {err}"
            );
            assert!(stdout(&out).is_empty(), "{what}: `{cmd}`: {}", stdout(&out));
        }
        let out = w.run(&["inject", id, "more"]);
        expect(&out, 1);
        assert!(error_of(&out).contains(expected), "{what}: inject");
    }
    let out = w.run(&["list"]);
    expect(&out, 0);
    assert!(stdout(&out).contains(&good[..8]), "{}", stdout(&out));
    let warnings = stderr(&out);
    assert_eq!(warnings.lines().count(), bad.len(), "{warnings}");
    for (id, what, expected) in &bad {
        assert!(
            warnings.lines().any(|l| l
                .starts_with(&format!("zwarm: warning: skipped session {id}: "))
                && l.contains(expected)),
            "{what}: {warnings}"
        );
    }
    let list = w.json_warned(&["list"], warnings.as_str());
    assert_eq!(list["sessions"].as_array().unwrap().len(), 1);
    assert_eq!(list["problems"].as_array().unwrap().len(), bad.len());
    expect(&w.run(&["doctor"]), 1);
    expect(&w.run(&["kill", "--all"]), 0);
    expect(&w.run(&["clean", "--older-than", "0s"]), 0);
    assert_unchanged(
        &before,
        &snapshot(w.state.path()),
        "reading unreadable sessions",
    );

    // `rm` is asked to delete: it refuses what it cannot read rather than
    // guess, and deletes nothing.
    for (id, what, _) in &bad {
        expect(&w.run(&["rm", id]), 1);
        assert!(w.session_dir(id).exists(), "{what}");
    }
    eprintln!(
        "hostile: {} unreadable meta.json kinds ({}) each refused with exit 1 by 8 commands, \
         skipped by list, nothing changed",
        bad.len(),
        bad.iter().map(|b| b.1).collect::<Vec<_>>().join(", ")
    );
}

/// `meta.json` files that read but hold surprises: a status no zwarm
/// writes, keys zwarm does not know, optional keys missing, an id that is
/// not its folder's. Reads show them and change nothing; a settle keeps
/// the unknown keys.
#[test]
fn odd_but_readable_meta_files_are_shown_and_kept() {
    let w = World::new();
    let good = w.finished("codex_first_turn.jsonl", 0);

    let unknown = w.clone_session(&good);
    w.edit_meta(&unknown, |m| m["status"] = json!("paused"));
    let sparse = w.clone_session(&good);
    w.edit_meta(&sparse, |m| {
        let o = m.as_object_mut().unwrap();
        for k in [
            "messages",
            "token_usage",
            "model",
            "turns",
            "source",
            "adapter",
            "pid",
            "exit_code",
            "error",
            "turn",
        ] {
            o.remove(k);
        }
        o.insert("written_by".into(), json!("a future zwarm"));
        o.insert("extra".into(), json!({"nested": [1, 2, {"x": null}]}));
    });
    let before = snapshot(w.state.path());
    let list = w.json(&["list"]);
    assert!(list["problems"].as_array().unwrap().is_empty(), "{list}");
    assert_eq!(session_in(&list, &unknown)["status"], "unknown");
    assert_eq!(session_in(&list, &sparse)["status"], "completed");
    for id in [&unknown, &sparse] {
        for (cmd, out) in poke(&w, id) {
            let code = out.status.code().unwrap();
            match cmd.split(' ').find(|c| !c.starts_with('-')).unwrap() {
                "kill" => {
                    assert_eq!(code, 1, "{cmd}: {}", stderr(&out));
                    assert!(
                        error_of(&out).contains("is not running"),
                        "{}",
                        stderr(&out)
                    );
                }
                // A status zwarm does not know is not a completion.
                "wait" => assert_eq!(code, if id == &sparse { 0 } else { 4 }, "{cmd}"),
                _ => assert_eq!(code, 0, "{cmd}: {}", stderr(&out)),
            }
        }
    }
    expect(&w.run(&["list"]), 0);
    expect(&w.run(&["kill", "--all"]), 0);
    assert_unchanged(&before, &snapshot(w.state.path()), "reading odd sessions");

    // Unknown keys survive a write: a stale running session is settled.
    let stale = w.start_hanging(&[]);
    w.crash(&stale);
    w.edit_meta(&stale, |m| {
        m["written_by"] = json!("a future zwarm");
        m["turns"][0]["future_turn_key"] = json!(42);
    });
    assert_eq!(w.json(&["show", &stale])["status"], "failed");
    let m = w.meta(&stale);
    assert_eq!(m["written_by"], "a future zwarm", "{m}");
    assert_eq!(m["status"], "failed");

    // A copied folder whose meta.json still names the original: reads and
    // writes go to the folder the user named, never to the other session.
    let copy = uuid::Uuid::new_v4().to_string();
    let from = w.session_dir(&stale);
    std::fs::create_dir_all(w.session_dir(&copy).join("turns")).unwrap();
    for f in ["meta.json", "turns/turn_1.jsonl", "turns/turn_1.stderr"] {
        std::fs::copy(from.join(f), w.session_dir(&copy).join(f)).unwrap();
    }
    w.edit_meta(&copy, reopen);
    let original = std::fs::read(from.join("meta.json")).unwrap();
    let out = w.run(&["show", &copy]);
    expect(&out, 1);
    let err = error_of(&out);
    assert!(
        err.contains(&format!("it names session {stale}, not {copy}")),
        "{err}"
    );
    expect(&w.run(&["rm", &copy]), 1);
    assert_eq!(std::fs::read(from.join("meta.json")).unwrap(), original);
    let list = w.json_warned(
        &["list"],
        has(&format!("zwarm: warning: skipped session {copy}: ")),
    );
    assert_eq!(list["problems"][0]["id"], copy.as_str(), "{list}");
    eprintln!(
        "hostile: unknown status, unknown and missing keys: shown, nothing rewritten by reads, \
         unknown keys kept by a settle; a copied folder naming another session refused"
    );
}

/// Ids that are paths, and a store with things in it that are not
/// sessions: a symlinked session folder pointing outside the store, stray
/// files and folders. Ids are refused before they touch a path (exit 2);
/// the symlink is named and never followed; `list` keeps working.
#[test]
fn path_like_ids_and_foreign_folders_are_refused() {
    let w = World::new();
    let good = w.finished("codex_first_turn.jsonl", 0);
    let sessions = w.state.path().join("sessions");

    // Outside the store: a folder that looks like a session.
    let outside = target_tempdir("outside-");
    let linked = uuid::Uuid::new_v4().to_string();
    let mut meta = w.meta(&good);
    meta["id"] = json!(linked);
    reopen(&mut meta);
    std::fs::create_dir_all(outside.path().join("turns")).unwrap();
    std::fs::write(
        outside.path().join("meta.json"),
        serde_json::to_vec_pretty(&meta).unwrap(),
    )
    .unwrap();
    std::fs::write(outside.path().join("precious.txt"), "keep me").unwrap();
    std::os::unix::fs::symlink(outside.path(), sessions.join(&linked)).unwrap();

    // Things in sessions/ that are not sessions.
    std::fs::write(sessions.join("notes.txt"), "mine").unwrap();
    std::fs::create_dir(sessions.join("not-a-session")).unwrap();
    std::fs::write(sessions.join(uuid::Uuid::new_v4().to_string()), "a file").unwrap();
    {
        use std::os::unix::ffi::OsStrExt;
        let name = std::ffi::OsStr::from_bytes(b"caf\xe9-\xff");
        std::fs::create_dir(sessions.join(name)).unwrap();
    }

    let before = snapshot(w.state.path());
    let outside_before = snapshot(outside.path());
    let ids = [
        "../x",
        "a/b",
        "..",
        ".",
        "/etc/passwd",
        "~",
        "%2e%2e",
        "abc def",
        "abc\n",
        "é",
        "-x",
        "abc*",
        "$(id)",
    ];
    let long = "a".repeat(65);
    let mut refused = 0;
    for id in ids.iter().copied().chain([long.as_str()]) {
        for args in [
            vec!["show", id],
            vec!["trajectory", id],
            vec!["output", id],
            vec!["inject", id, "more"],
            vec!["kill", id],
            vec!["rm", id],
            vec!["wait", "--timeout", "1s", id],
        ] {
            let mut full = args.clone();
            if id.starts_with('-') {
                full.insert(full.len() - if args[0] == "inject" { 2 } else { 1 }, "--");
            }
            let out = w.run(&full);
            expect(&out, 2);
            let err = error_of(&out);
            assert!(err.starts_with("invalid session id"), "{full:?}: {err}");
            refused += 1;
        }
    }

    // The symlinked folder: named, refused, not followed.
    let out = w.run(&["list"]);
    expect(&out, 0);
    assert!(stdout(&out).contains(&good[..8]));
    let warnings = stderr(&out);
    assert!(
        warnings.contains(&linked) && warnings.contains("symbolic link"),
        "{warnings}"
    );
    for (cmd, out) in poke(&w, &linked) {
        expect(&out, 1);
        let err = error_of(&out);
        assert!(err.contains("symbolic link"), "{cmd}: {err}");
    }
    for args in [
        vec!["rm", &linked],
        vec!["rm", "--force", &linked],
        vec!["inject", &linked, "x"],
    ] {
        expect(&w.run(&args), 1);
    }
    expect(&w.run(&["kill", "--all"]), 0);
    assert_unchanged(&before, &snapshot(w.state.path()), "path-like ids");
    assert_unchanged(
        &outside_before,
        &snapshot(outside.path()),
        "the symlinked session",
    );
    eprintln!(
        "hostile: {refused} commands with {} path-like ids refused with exit 2; a symlinked \
         session folder named and never followed; 4 non-session entries ignored",
        ids.len() + 1
    );
}
