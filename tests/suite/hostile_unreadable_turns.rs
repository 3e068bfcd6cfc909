//! A `turns/` folder that cannot be read is named by `doctor`, and its
//! fix follows no link.

use crate::support::files::{is_link, Outside};
use crate::support::output::{doctor_kinds, expect, stdout};
use crate::support::world::World;
use serde_json::Value;
use std::os::unix::fs::symlink;

/// `doctor` calls a `turns/` that is a regular file, or a link to an
/// outside folder holding the turn files, `unreadable_turns`, not
/// `missing_turn_file`; `--fix` changes neither it nor the outside folder.
#[test]
fn doctor_calls_an_unreadable_turns_folder_so() {
    let w = World::new();
    let outside = Outside::new();
    let as_file = w.completed(&[]);
    let as_link = w.completed(&[]);
    let turns = w.session_dir(&as_file).join("turns");
    std::fs::remove_dir_all(&turns).unwrap();
    std::fs::write(&turns, b"not a folder").unwrap();
    // The link's target holds the very turn files: only a doctor that
    // followed it would find nothing wrong.
    let turns = w.session_dir(&as_link).join("turns");
    let copy = outside.path().join("turns");
    std::fs::rename(&turns, &copy).unwrap();
    symlink(&copy, &turns).unwrap();
    let before = outside.snapshot();
    for args in [&["doctor"][..], &["doctor", "--fix"]] {
        let (code, doc) = w.json_any(args);
        assert_eq!(code, 1, "{doc}");
        let doc: Value = serde_json::from_str(&doc).unwrap();
        for id in [&as_file, &as_link] {
            assert_eq!(doctor_kinds(&doc, id), ["unreadable_turns"], "{doc:#}");
        }
        assert_eq!(doc["problems"].as_array().unwrap().len(), 2, "{doc:#}");
    }
    let human = w.run(&["doctor"]);
    expect(&human, 1);
    assert!(
        stdout(&human).contains("unreadable_turns") && !stdout(&human).contains("missing_turn"),
        "{}",
        stdout(&human)
    );
    outside.assert_untouched(&before, "doctor --fix");
    assert!(w
        .session_dir(&as_file)
        .join("turns")
        .metadata()
        .unwrap()
        .is_file());
    assert!(is_link(&turns));
    eprintln!("doctor: a turns/ that is a file or a link was called unreadable_turns");
}
