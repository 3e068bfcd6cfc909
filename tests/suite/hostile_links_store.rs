//! Links and other surprises planted in the store outside the session
//! folders: the list index, `quarantine/`, `sessions/` itself, a removal in
//! progress, a FIFO at `meta.json`. Never followed, never hung on.

use crate::support::files::{is_link, plant, Outside};
use crate::support::output::{
    doctor_kinds, doctor_problem, error_of, expect, json_of, listed_ids, ANY, EMPTY,
};
use crate::support::poll::within;
use crate::support::procs::dead_pid;
use crate::support::world::World;
use serde_json::Value;
use std::os::unix::fs::symlink;
use std::process::Stdio;
use std::time::Duration;

/// The list index (`.zwarm/list-index/`) linked to an outside folder gets
/// nothing written into it by a `list` of finished, settled sessions, which
/// without the link does write the index; a shard (`list-index/<digit>`)
/// planted as a link to a copy of the real shard is not read as the index
/// (its session is read from `meta.json` and the shard rewritten as a file
/// of the store's own), and its target is untouched.
#[test]
fn list_never_reads_or_writes_the_index_through_a_link() {
    let a = World::new();
    let b = World::new();
    let outside = Outside::new();
    let ids_a: Vec<String> = (0..3).map(|_| a.completed(&[])).collect();
    let ids_b: Vec<String> = (0..3).map(|_| b.completed(&[])).collect();
    let index_a = a.state.path().join("list-index");
    plant(&index_a, &outside.folder());
    // Only files settled for two seconds are indexed.
    std::thread::sleep(Duration::from_millis(2100));

    let before = outside.snapshot();
    let mut listed = listed_ids(&a.run(&["--json", "list"]).expect(0, ANY, EMPTY).json());
    listed.sort();
    let mut want = ids_a.clone();
    want.sort();
    assert_eq!(listed, want);
    outside.assert_untouched(&before, "a linked list-index/");
    assert!(is_link(&index_a));
    // Without the link, the same listing writes the index.
    std::fs::remove_file(&index_a).unwrap();
    expect(&a.run(&["list"]), 0);
    let shards = std::fs::read_dir(&index_a).unwrap().count();
    assert!(
        shards > 0,
        "list wrote no index: the case above proved nothing"
    );

    // A shard linked to a copy of the real one.
    expect(&b.run(&["list"]), 0);
    let index_b = b.state.path().join("list-index");
    let digit = &ids_b[0][..1];
    let shard = index_b.join(digit);
    let copy = outside.path().join("shard");
    std::fs::copy(&shard, &copy).unwrap();
    plant(&shard, &copy);
    // A shard of a digit no session has is not rewritten: left as it is.
    let unused = (0..16)
        .map(|d| format!("{d:x}"))
        .find(|d| !ids_b.iter().any(|id| id.starts_with(d.as_str())))
        .unwrap();
    let idle = index_b.join(&unused);
    plant(&idle, &outside.file());
    let before = outside.snapshot();
    let list = b.run(&["--json", "list"]).expect(0, ANY, EMPTY).json();
    assert_eq!(listed_ids(&list).len(), 3);
    outside.assert_untouched(&before, "a linked shard");
    assert!(
        !is_link(&shard) && shard.is_file(),
        "the linked shard was read as the index (it was not rewritten)"
    );
    assert!(is_link(&idle), "a shard with no change was replaced");
    eprintln!(
        "links: a linked list-index/ and a linked shard were neither read nor written through"
    );
}

/// `doctor --fix` with `.zwarm/quarantine` (or a session's folder in it)
/// linked to an outside folder moves nothing through the link: the
/// unreadable session and the leftover temporary file stay where they
/// are, the finding says why, and the outside folder is untouched. Without
/// the link the same repair moves them into quarantine.
#[test]
fn doctor_fix_never_quarantines_through_a_link() {
    let w = World::new();
    let outside = Outside::new();
    let broken = w.completed(&[]);
    w.put_meta(&broken, b"{\"id\": ");
    let leftover = w.completed(&[]);
    let tmp_name = format!(".meta.json.{}.tmp", dead_pid());
    std::fs::write(w.session_dir(&leftover).join(&tmp_name), b"half").unwrap();
    let quarantine = w.state.path().join("quarantine");
    plant(&quarantine, &outside.folder());
    let before = outside.snapshot();

    let (code, doc) = w.json_any(&["doctor", "--fix"]);
    assert_eq!(code, 1, "{doc}");
    let doc: Value = serde_json::from_str(&doc).unwrap();
    for id in [&broken, &leftover] {
        let p = doctor_problem(&doc, id);
        assert_eq!(p["fixed"], false, "{doc:#}");
        assert!(
            p["action"].as_str().unwrap().contains("symbolic link"),
            "{doc:#}"
        );
    }
    assert_eq!(doctor_kinds(&doc, &broken), ["unreadable_meta"]);
    assert_eq!(doctor_kinds(&doc, &leftover), ["temp_file"]);
    assert!(w.session_dir(&broken).join("meta.json").is_file());
    assert!(w.session_dir(&leftover).join(&tmp_name).is_file());
    outside.assert_untouched(&before, "a linked quarantine/");

    // A real quarantine/, with the session's own folder in it linked.
    std::fs::remove_file(&quarantine).unwrap();
    std::fs::create_dir(&quarantine).unwrap();
    plant(&quarantine.join(&leftover), &outside.folder());
    let (code, doc) = w.json_any(&["doctor", "--fix"]);
    assert_eq!(code, 1, "{doc}");
    let doc: Value = serde_json::from_str(&doc).unwrap();
    assert_eq!(doctor_problem(&doc, &leftover)["fixed"], false, "{doc:#}");
    assert_eq!(doctor_problem(&doc, &broken)["fixed"], true, "{doc:#}");
    assert!(w.session_dir(&leftover).join(&tmp_name).is_file());
    outside.assert_untouched(&before, "a linked quarantine/<id>/");

    // Without links, the temporary file is moved too.
    std::fs::remove_file(quarantine.join(&leftover)).unwrap();
    let (_, doc) = w.json_any(&["doctor", "--fix"]);
    let doc: Value = serde_json::from_str(&doc).unwrap();
    assert_eq!(doctor_problem(&doc, &leftover)["fixed"], true, "{doc:#}");
    assert!(!w.session_dir(&leftover).join(&tmp_name).exists());
    outside.assert_untouched(&before, "doctor --fix");
    eprintln!("links: doctor --fix moved nothing through a linked quarantine/ or quarantine/<id>/");
}

/// The store's `sessions` folder itself linked to an outside folder (here
/// holding a session and an unfinished removal): every command that would
/// read or write a session refuses, naming the link, `start` creates
/// nothing, and the outside folder is untouched.
#[test]
fn a_linked_sessions_folder_is_refused_by_every_command() {
    let w = World::new();
    let outside = Outside::new();
    let id = w.completed(&[]);
    let sessions = w.state.path().join("sessions");
    let moved = outside.path().join("sessions");
    std::fs::rename(&sessions, &moved).unwrap();
    std::fs::create_dir(moved.join(".removing-0123abcd")).unwrap();
    std::fs::write(moved.join(".removing-0123abcd/file"), b"keep me").unwrap();
    symlink(&moved, &sessions).unwrap();
    let before = outside.snapshot();
    let calls = w.agent.calls();
    let commands: [&[&str]; 9] = [
        &["list"],
        &["show", &id],
        &["trajectory", &id],
        &["wait", "--timeout", "1s", &id],
        &["inject", &id, "next"],
        &["start", "another task"],
        &["kill", &id],
        &["rm", &id],
        &["rm", "--force", &id],
    ];
    for args in commands {
        let out = w.run(args);
        expect(&out, 1);
        let err = error_of(&out);
        assert!(
            err.contains(&sessions.display().to_string()) && err.contains("symbolic link"),
            "{args:?}: reading or writing through the link is not refused naming it: {err}"
        );
        outside.assert_untouched(&before, &format!("{args:?}"));
    }
    assert_eq!(w.agent.calls(), calls, "an agent was started");
    assert!(is_link(&sessions));
    eprintln!(
        "links: a linked sessions/ was refused by {} commands, naming it",
        commands.len()
    );
}

/// `doctor` with the store's `sessions` folder linked to an outside folder
/// removes nothing there: an unfinished removal (`.removing-<id>`) in the
/// link's target is not the store's to finish. It reports the link.
#[test]
fn doctor_fix_never_removes_through_a_linked_sessions_folder() {
    let w = World::new();
    let outside = Outside::new();
    let sessions = w.state.path().join("sessions");
    let target = outside.path().join("sessions");
    std::fs::create_dir_all(target.join(".removing-0123abcd")).unwrap();
    std::fs::write(target.join(".removing-0123abcd/file"), b"keep me").unwrap();
    symlink(&target, &sessions).unwrap();
    let before = outside.snapshot();
    let (code, doc) = w.json_any(&["doctor", "--fix"]);
    outside.assert_untouched(
        &before,
        "BUG (src/session/doctor.rs, stray_files): `doctor --fix` finished an \
         interrupted removal by path through the linked sessions/ folder, deleting \
         .removing-0123abcd outside the store",
    );
    let doc: Value = serde_json::from_str(&doc).unwrap();
    assert_eq!(
        code, 1,
        "BUG (src/session/doctor.rs): doctor calls a store whose sessions/ is a link healthy: {doc:#}"
    );
    assert!(
        doc.to_string().contains("symbolic link"),
        "BUG (src/session/doctor.rs): doctor does not name the linked sessions/: {doc:#}"
    );
    eprintln!("links: doctor --fix removed nothing through a linked sessions/");
}

/// A link at `.removing-<id>`, the name `rm` renames a session to before
/// removing it, is not followed: the link itself is cleared away, the
/// session removed, the link's target untouched.
#[test]
fn rm_never_removes_through_a_link_at_its_removal_name() {
    let w = World::new();
    let outside = Outside::new();
    for args in [&["rm"][..], &["rm", "--force"]] {
        let id = w.completed(&[]);
        let planted = w.state.path().join(format!("sessions/.removing-{id}"));
        plant(&planted, &outside.folder());
        let before = outside.snapshot();
        let mut args = args.to_vec();
        args.push(&id);
        let out = w.run(&args);
        expect(&out, 0);
        outside.assert_untouched(&before, "rm");
        assert!(!w.session_dir(&id).exists(), "{args:?}");
        assert!(std::fs::symlink_metadata(&planted).is_err(), "{args:?}");
    }
    eprintln!("links: rm with a link at .removing-<id> removed the link, not its target");
}

/// A FIFO planted at `meta.json` does not hang `list` (or `show`): it is
/// reported as not a regular file, and the other sessions are listed.
#[test]
fn a_fifo_at_meta_json_hangs_no_reader() {
    let w = World::new();
    let good = w.completed(&[]);
    let id = w.completed(&[]);
    let meta = w.session_dir(&id).join("meta.json");
    std::fs::remove_file(&meta).unwrap();
    let c = std::ffi::CString::new(meta.to_str().unwrap()).unwrap();
    // SAFETY: mkfifo with a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
    for args in [&["--json", "list"][..], &["show", &id]] {
        let mut child = w
            .cmd(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        if !within(Duration::from_secs(10), || {
            child.try_wait().unwrap().is_some()
        }) {
            let _ = child.kill();
            panic!("{args:?} hangs on a FIFO at meta.json");
        }
        let out = child.wait_with_output().unwrap();
        if args[0] == "--json" {
            expect(&out, 0);
            let list = json_of(&out);
            assert_eq!(listed_ids(&list), [good.as_str()], "{list:#}");
            assert_eq!(list["problems"][0]["id"], id.as_str(), "{list:#}");
            assert!(list["problems"][0]["error"]
                .as_str()
                .unwrap()
                .contains("not a regular file"));
        } else {
            expect(&out, 1);
            assert!(error_of(&out).contains("not a regular file"));
        }
    }
    eprintln!("hostile: a FIFO at meta.json hung neither list nor show");
}
