//! Links planted in a session folder, at the names zwarm writes and reads
//! (the store usually lies inside the agent's workspace, so whatever runs
//! there can plant them): never followed, the command refused with one line
//! naming the link, and what the link points at left as it was.

use crate::support::fake::transcript;
use crate::support::files::{is_link, plant, put_file, Outside};
use crate::support::output::{
    doctor_kinds, doctor_problem, error_of, expect, json_of, listed_ids, stderr, stdout, ANY, EMPTY,
};
use crate::support::world::{World, STARTED};
use serde_json::{json, Value};
use std::os::unix::fs::symlink;
use std::path::PathBuf;

/// A link planted at each name an `inject` writes in a session folder
/// (`turns/turn_2.jsonl`, `turns/turn_2.stderr`, `turns/` itself,
/// `supervisor.log`, `meta.lock`, `run.lock`) is never followed: the inject
/// fails with one error line naming the link, the agent is not started,
/// and the file or folder the link points at is byte-identical afterwards
/// with nothing new in it.
#[test]
fn an_inject_never_writes_through_a_link_in_the_session_folder() {
    let w = World::new();
    let outside = Outside::new();
    let cases: [(&str, PathBuf); 6] = [
        ("turns/turn_2.jsonl", outside.file()),
        ("turns/turn_2.stderr", outside.file()),
        ("turns", outside.folder()),
        ("supervisor.log", outside.file()),
        ("meta.lock", outside.file()),
        ("run.lock", outside.file()),
    ];
    for (name, target) in &cases {
        let id = w.completed(&[]);
        let planted = w.session_dir(&id).join(name);
        plant(&planted, target);
        let before = outside.snapshot();
        let meta_before = w.meta_bytes(&id);
        let calls = w.agent.calls();
        let out = w.run(&["inject", &id, "next"]);
        expect(&out, 1);
        assert!(stdout(&out).is_empty(), "{name}: {}", stdout(&out));
        let err = error_of(&out);
        assert!(
            err.contains(&planted.display().to_string()) && err.contains("symbolic link"),
            "{name}: the error does not name the link: {err}"
        );
        assert_eq!(w.agent.calls(), calls, "{name}: the agent was started");
        outside.assert_untouched(&before, name);
        assert!(is_link(&planted), "{name}: the link itself was replaced");
        if *name == "meta.lock" {
            // Refused before anything is written.
            assert_eq!(w.meta_bytes(&id), meta_before, "{name}");
        }
        // Whatever was recorded, the session reads as not running.
        let shown = w.json(&["show", &id]);
        assert_ne!(shown["status"], "running", "{name}: {shown}");
        assert_ne!(shown["status"], "pending", "{name}: {shown}");
    }
    eprintln!(
        "links: {} links planted in session folders before inject, none followed, each named",
        cases.len()
    );
}

/// The same names as hard links to files outside the store, which no
/// `O_NOFOLLOW` catches: the inject fails naming the file, the agent is not
/// started, and the outside files are byte-identical.
#[test]
fn an_inject_never_appends_to_a_hard_link() {
    let w = World::new();
    let outside = Outside::new();
    let names = [
        "turns/turn_2.jsonl",
        "turns/turn_2.stderr",
        "supervisor.log",
    ];
    for name in names {
        let id = w.completed(&[]);
        let planted = w.session_dir(&id).join(name);
        let _ = std::fs::remove_file(&planted);
        std::fs::hard_link(outside.file(), &planted).unwrap();
        let before = outside.snapshot();
        let calls = w.agent.calls();
        let out = w.run(&["inject", &id, "next"]);
        expect(&out, 1);
        let err = error_of(&out);
        assert!(
            err.contains(&planted.display().to_string()) && err.contains("hard links"),
            "{name}: {err}"
        );
        assert_eq!(w.agent.calls(), calls, "{name}: the agent was started");
        outside.assert_untouched(&before, name);
        std::fs::remove_file(&planted).unwrap();
    }
    eprintln!(
        "links: {} hard links planted before inject, none written through",
        names.len()
    );
}

/// A session's own folder (`sessions/<id>`) as a link to a session folder
/// outside: every command refuses to read or write through it, `list`
/// reports it, `doctor --fix` moves the link (not its target) into
/// quarantine, and the outside folder is untouched.
#[test]
fn a_linked_session_folder_is_refused_and_only_the_link_is_moved() {
    let w = World::new();
    let outside = Outside::new();
    let id = w.completed(&[]);
    let folder = w.session_dir(&id);
    let target = outside.path().join(&id);
    std::fs::rename(&folder, &target).unwrap();
    symlink(&target, &folder).unwrap();
    let before = outside.snapshot();
    let calls = w.agent.calls();
    let commands: [&[&str]; 7] = [
        &["show", &id],
        &["trajectory", &id],
        &["wait", "--timeout", "1s", &id],
        &["inject", &id, "next"],
        &["kill", &id],
        &["rm", &id],
        &["rm", "--force", &id],
    ];
    for args in commands {
        let out = w.run(args);
        expect(&out, 1);
        let err = error_of(&out);
        assert!(
            err.contains(&id) && err.contains("symbolic link"),
            "{args:?}: reading through the linked folder is not refused: {err}"
        );
        outside.assert_untouched(&before, &format!("{args:?}"));
    }
    let out = w.run(&["--json", "list"]);
    expect(&out, 0);
    let list = json_of(&out);
    assert_eq!(listed_ids(&list), Vec::<String>::new(), "{list:#}");
    assert_eq!(list["problems"][0]["id"], id.as_str(), "{list:#}");
    let (code, doc) = w.json_any(&["doctor", "--fix"]);
    assert_eq!(code, 0, "{doc}");
    let doc: Value = serde_json::from_str(&doc).unwrap();
    assert_eq!(doctor_problem(&doc, &id)["fixed"], true, "{doc:#}");
    let moved: Vec<PathBuf> = std::fs::read_dir(w.state.path().join("quarantine"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(moved.len(), 1);
    assert!(is_link(&moved[0]), "the link's target was moved");
    outside.assert_untouched(&before, "doctor --fix");
    assert_eq!(w.agent.calls(), calls);
    eprintln!(
        "links: a linked session folder was refused by {} commands and list; doctor --fix moved only the link",
        commands.len()
    );
}

/// `meta.json` as a link to a valid-looking session outside the store is
/// never read as the session: `show` and `inject` refuse it naming the
/// link, `list` reports it as a problem instead of listing the forged
/// content, `doctor` reports it as unreadable and `doctor --fix` moves the
/// folder (link and all) into quarantine; the file outside is untouched.
#[test]
fn a_linked_meta_json_is_never_read_as_the_session() {
    let w = World::new();
    let outside = Outside::new();
    let good = w.completed(&[]);
    let id = w.completed(&[]);
    let forged = outside.path().join("meta.json");
    let mut meta = w.meta(&id);
    meta["task"] = json!("FORGED OUTSIDE");
    std::fs::write(&forged, serde_json::to_vec_pretty(&meta).unwrap()).unwrap();
    let planted = w.session_dir(&id).join("meta.json");
    plant(&planted, &forged);
    let before = outside.snapshot();
    let calls = w.agent.calls();

    // Read through the link: refused.
    for args in [
        &["show", &id][..],
        &["inject", &id, "next"],
        &["trajectory", &id],
    ] {
        let out = w.run(args);
        expect(&out, 1);
        let err = error_of(&out);
        assert!(
            err.contains(&planted.display().to_string()) && err.contains("symbolic link"),
            "{args:?}: the read through the link is not refused naming it: {err}"
        );
        assert!(
            !stdout(&out).contains("FORGED"),
            "{args:?}: read the forged file"
        );
    }
    assert_eq!(w.agent.calls(), calls, "the agent was started");

    let out = w.run(&["--json", "list"]);
    expect(&out, 0);
    let list = json_of(&out);
    assert_eq!(listed_ids(&list), [good.as_str()], "{list:#}");
    let problems = list["problems"].as_array().unwrap();
    assert_eq!(problems.len(), 1, "{list:#}");
    assert_eq!(problems[0]["id"], id.as_str());
    assert!(
        problems[0]["error"]
            .as_str()
            .unwrap()
            .contains("symbolic link"),
        "{list:#}"
    );
    let out = w.run(&["list"]);
    expect(&out, 0);
    assert!(!stdout(&out).contains("FORGED"), "{}", stdout(&out));
    assert!(stdout(&out).contains(&good[..8]), "{}", stdout(&out));
    assert!(
        stderr(&out).contains(&id) && stderr(&out).contains("symbolic link"),
        "{}",
        stderr(&out)
    );

    let (code, doc) = w.json_any(&["doctor"]);
    assert_eq!(code, 1);
    let doc: Value = serde_json::from_str(&doc).unwrap();
    assert_eq!(doctor_kinds(&doc, &id), ["unreadable_meta"], "{doc:#}");
    let (code, doc) = w.json_any(&["doctor", "--fix"]);
    assert_eq!(code, 0, "everything was repaired: {doc}");
    let doc: Value = serde_json::from_str(&doc).unwrap();
    let p = doctor_problem(&doc, &id);
    assert_eq!(p["fixed"], true, "{doc:#}");
    assert!(!w.session_dir(&id).exists());
    let moved: Vec<PathBuf> = std::fs::read_dir(w.state.path().join("quarantine"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(moved.len(), 1, "{moved:?}");
    assert!(is_link(&moved[0].join("meta.json")), "moved as it was");
    outside.assert_untouched(&before, "a linked meta.json");
    assert_eq!(w.agent.calls(), calls);
    eprintln!("links: meta.json linked to a forged session was refused by show, inject, trajectory, list and doctor, and quarantined");
}

/// The stall marker `turns/turn_1.stall` planted as a link to a marker
/// outside is neither read (the stall is not dated from it) nor written
/// through (the marker is replaced by a file of the store's own). A regular
/// file with the same bytes is read, so the link was refused, not ignored
/// for its content.
#[test]
fn a_linked_stall_marker_is_neither_read_nor_written_through() {
    let w = World::new();
    let outside = Outside::new();
    // Work first (a command ran), then only retries: a stall whose start
    // is recorded in the marker.
    let work: String = transcript("codex_first_turn.jsonl")
        .lines()
        .take(5)
        .map(|l| format!("{l}\n"))
        .collect();
    let retries: String = transcript("codex_connection_refused_then_sigterm.jsonl")
        .lines()
        .skip(3)
        .take(5)
        .map(|l| format!("{l}\n"))
        .collect();
    assert!(retries.contains("Reconnecting"), "{retries}");
    w.agent.turn(1, format!("{work}{retries}")).hang(1);
    let id = w.start(&["the task"]);
    w.agent.wait_hanging(1, STARTED);
    let ancient = "2001-01-01T00:00:00.000000";
    let marker = json!({"offset": work.len(), "since": ancient}).to_string();
    let forged = outside.path().join("stall");
    std::fs::write(&forged, &marker).unwrap();
    let planted = w.session_dir(&id).join("turns/turn_1.stall");
    plant(&planted, &forged);
    let before = outside.snapshot();

    let stalled_since = |w: &World| {
        let shown = w
            .run(&["--json", "--stall-after", "0s", "show", &id])
            .expect(0, ANY, EMPTY)
            .json();
        assert_eq!(shown["status"], "running", "{shown:#}");
        shown["stalled"]["since"]
            .as_str()
            .unwrap_or_else(|| panic!("not stalled: {shown:#}"))
            .to_string()
    };
    let since = stalled_since(&w);
    assert_ne!(since, ancient, "the stall was dated from the linked marker");
    outside.assert_untouched(&before, "turns/turn_1.stall");
    assert!(
        !is_link(&planted) && planted.is_file(),
        "the link was not replaced by the store's own marker"
    );
    // The same bytes in a file of the store are the marker.
    put_file(&planted, marker.as_bytes());
    assert_eq!(stalled_since(&w), ancient, "the marker format is read");
    expect(&w.run(&["kill", &id]), 0);
    eprintln!("links: a linked stall marker was neither read nor written through");
}
