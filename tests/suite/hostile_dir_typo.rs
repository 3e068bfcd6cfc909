//! A mistyped `--dir` creates nothing.

use crate::support::agents::{self, target_tempdir};
use crate::support::fake::{transcript, FakeAgent};
use crate::support::output::{error_of, expect, stdout};
use std::path::Path;

/// `--dir` naming a folder whose parent is missing is a usage error (exit
/// 2, one line naming the parent) and creates nothing, not even the
/// session's rights record; with an existing parent, only `.zwarm` is made.
#[test]
fn a_mistyped_dir_creates_nothing() {
    let fake = FakeAgent::new();
    fake.every_turn(&transcript("codex_first_turn.jsonl"));
    let tmp = target_tempdir("dir-typo-");
    let work = agents::work_dir();
    let xdg = tmp.path().join("xdg");
    let run = |store: &Path| {
        agents::zwarm_command(store, work.path())
            .env("XDG_STATE_HOME", &xdg)
            .env("ZWARM_CODEX_BIN", fake.program())
            .args(["start", "task"])
            .output()
            .unwrap()
    };
    let typo = tmp.path().join("no/such/.zwarm");
    let out = run(&typo);
    expect(&out, 2);
    assert!(stdout(&out).is_empty());
    let err = error_of(&out);
    let parent = tmp.path().join("no/such");
    assert!(
        err.contains(&format!("{} does not exist", parent.display())),
        "{err}"
    );
    assert!(!tmp.path().join("no").exists(), "the path was created");
    assert!(!xdg.exists(), "a rights record was written");
    assert_eq!(fake.calls(), 0);

    let real = tmp.path().join("real");
    std::fs::create_dir(&real).unwrap();
    let store = real.join(".zwarm");
    let out = run(&store);
    expect(&out, 0);
    let id = stdout(&out).trim().to_string();
    let waited = agents::zwarm_command(&store, work.path())
        .env("XDG_STATE_HOME", &xdg)
        .args(["wait", "--timeout", "30s", &id])
        .output()
        .unwrap();
    expect(&waited, 0);
    let names: Vec<_> = std::fs::read_dir(&real)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names, [".zwarm"]);
    assert!(real.join(".zwarm/sessions").is_dir());
    eprintln!("dir: a mistyped --dir was a usage error that created nothing");
}
