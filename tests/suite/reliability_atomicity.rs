//! `meta.json` is written whole or not at all: zwarms killed at random
//! moments while they write it, and a full disk, leave every reader a
//! whole file and no lock held; `doctor --fix` moves the leftovers aside.

use crate::support::disk::SmallDisk;
use crate::support::files::{locks_under, temp_files, walk};
use crate::support::output::{expect, json_of, session_in, stderr};
use crate::support::poll::eventually;
use crate::support::rng::Rng;
use crate::support::world::{reopen, World};
use serde_json::{json, Value};
use std::os::unix::process::CommandExt;
use std::process::Stdio;
use std::time::{Duration, Instant};

/// How many times a writer is killed.
const WRITER_KILLS: usize = 40;
/// How many stale sessions each writer has to settle.
const STALE: usize = 60;

/// The task the test gives session `i`: a length of its own, so that a file
/// holding another session's write could not pass for this one's.
fn task_of(i: usize) -> String {
    format!("task {i} {}", "w".repeat(i * 37 % 500))
}

/// What a reader finds in `meta.json`: it parses, it is the session's own,
/// and its task is what the test wrote. Returns whether it is settled.
#[track_caller]
fn whole_meta(w: &World, i: usize, id: &str) -> bool {
    let path = w.session_dir(id).join("meta.json");
    let bytes = std::fs::read(&path).unwrap();
    let meta: Value = serde_json::from_slice(&bytes).unwrap_or_else(|e| {
        panic!(
            "torn meta.json of {id}: {e}: {}",
            String::from_utf8_lossy(&bytes)
        )
    });
    assert_eq!(meta["id"], id, "{meta}");
    assert_eq!(meta["task"], task_of(i).as_str(), "{id}");
    meta["status"] != "running"
}

/// How many of the sessions are settled, each `meta.json` read whole.
#[track_caller]
fn settled(w: &World, ids: &[String]) -> usize {
    ids.iter()
        .enumerate()
        .filter(|(i, id)| whole_meta(w, *i, id))
        .count()
}

/// The writers are zwarms: a `list` that settles sixty stale sessions, one
/// `meta.json` write after another, SIGKILLed at a random moment once it
/// has written, 40 times over, while a reader polls every `meta.json`.
/// Every read parses and is the session's own, no write is undone, no lock
/// stays held, and `doctor --fix` moves the temporary files of interrupted
/// writes aside.
#[test]
fn meta_json_survives_writers_killed_at_random_moments() {
    let t0 = Instant::now();
    let mut rng = Rng::new("killed writers");
    let w = World::new();
    let done = w.finished("codex_first_turn.jsonl", 0);
    let ids: Vec<String> = (0..STALE).map(|_| w.clone_session(&done)).collect();
    let (mut reads, mut writes) = (0usize, 0usize);
    for _ in 0..WRITER_KILLS {
        // Each round, every session claims its turn is running again; its
        // supervisor and agent are long gone, so a reader settles it.
        for (i, id) in ids.iter().enumerate() {
            w.edit_meta(id, |m| {
                reopen(m);
                m["task"] = json!(task_of(i));
            });
        }
        let mut writer = w
            .cmd(&["list"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn zwarm list");
        // Kills before its first write would prove nothing.
        let first = eventually(Duration::from_secs(20), "the writer to write", || {
            reads += STALE;
            Some(settled(&w, &ids)).filter(|&n| n > 0)
        });
        let kill_at = Instant::now() + rng.millis(25);
        let mut seen = first;
        while Instant::now() < kill_at {
            seen = settled(&w, &ids);
            reads += STALE;
        }
        let _ = writer.kill();
        writer.wait().unwrap();
        let n = settled(&w, &ids);
        reads += STALE;
        assert!(n >= seen, "writes were undone: {n} settled after {seen}");
        writes += n;
    }
    let held = locks_under(w.state.path());
    assert!(
        held.is_empty(),
        "locks held after the writers died: {held:?}"
    );
    // Whatever the writers left unsettled, this read settles.
    let list = w.json(&["list"]);
    assert_eq!(list["problems"], json!([]), "{list}");
    assert_eq!(session_in(&list, &done)["status"], "completed");
    // Their streams went as far as `turn.completed`.
    for id in &ids {
        assert_eq!(session_in(&list, id)["status"], "completed", "{id}");
    }

    let left: Vec<String> = ids
        .iter()
        .flat_map(|id| temp_files(&w.session_dir(id)))
        .collect();
    let out = w.run(&["--json", "doctor", "--fix"]);
    expect(&out, 0);
    let doc = json_of(&out);
    let moved = doc["problems"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["kind"] == "temp_file" && p["fixed"] == true)
        .count();
    assert_eq!(moved, left.len(), "{doc}");
    for id in &ids {
        assert!(temp_files(&w.session_dir(id)).is_empty(), "{id}");
    }
    let quarantined = walk(&w.state.path().join("quarantine")).len();
    assert!(left.is_empty() || quarantined > left.len(), "{quarantined}");
    eprintln!(
        "atomicity: {WRITER_KILLS} zwarm lists SIGKILLed at random moments while settling \
         {STALE} sessions each, after {writes} completed writes; {reads} concurrent reads, every \
         meta.json whole; {} temp files left, all moved aside by doctor --fix; in {:.1}s",
        left.len(),
        t0.elapsed().as_secs_f64()
    );
}

/// `meta.json` cannot be written for want of space: a reader shows the
/// session settled all the same (in memory, as in a read-only store), the
/// old `meta.json` is intact and no temporary file is left; once there is
/// room, the same command records the ending.
#[test]
fn a_full_disk_leaves_readers_showing_the_truth_and_keeps_the_old_meta() {
    let w = World::new();
    let disk = SmallDisk::mount(w.state.path(), "1m");
    let id = w.start_hanging(&[]);
    w.crash(&id);
    let meta = w.session_dir(&id).join("meta.json");
    let before = std::fs::read(&meta).unwrap();
    let limited = |args: &[&str]| {
        let mut cmd = w.cmd(args);
        if disk.is_none() {
            // SAFETY: between fork and exec only async-signal-safe calls
            // (signal, setrlimit) run, and nothing is allocated.
            unsafe {
                cmd.pre_exec(|| {
                    libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
                    let cap = libc::rlimit {
                        rlim_cur: 256,
                        rlim_max: libc::RLIM_INFINITY,
                    };
                    libc::setrlimit(libc::RLIMIT_FSIZE, &cap);
                    Ok(())
                });
            }
        }
        cmd.output().unwrap()
    };
    if let Some(d) = &disk {
        d.fill();
    }
    // `show` settles the orphaned turn, which means writing meta.json.
    for args in [
        &["--json", "show", &id][..],
        &["--json", "wait", "--timeout", "5s", &id][..],
    ] {
        let out = limited(args);
        let shown = json_of(&out);
        let shown = if shown["sessions"].is_array() {
            shown["sessions"][0].clone()
        } else {
            shown
        };
        assert_eq!(shown["status"], "failed", "{args:?}: {shown}");
        assert_eq!(shown["ending"], "interrupted", "{args:?}: {shown}");
        assert!(stderr(&out).is_empty(), "{args:?}: {}", stderr(&out));
    }
    assert_eq!(std::fs::read(&meta).unwrap(), before);
    assert!(temp_files(&w.session_dir(&id)).is_empty());
    // `list` counts it, settled, and has nothing to complain about.
    let out = limited(&["--json", "list"]);
    expect(&out, 0);
    let listed = json_of(&out);
    assert_eq!(session_in(&listed, &id)["status"], "failed", "{listed}");
    assert_eq!(listed["problems"], json!([]), "{listed}");
    assert!(stderr(&out).is_empty(), "{}", stderr(&out));
    assert_eq!(std::fs::read(&meta).unwrap(), before);

    if let Some(d) = &disk {
        d.free();
    }
    let shown = w.json(&["show", &id]);
    assert_eq!(shown["status"], "failed");
    assert_eq!(shown["ending"], "interrupted");
    assert_ne!(
        std::fs::read(&meta).unwrap(),
        before,
        "recorded once there is room"
    );
    eprintln!(
        "atomicity: a full disk ({}) left show, wait and list showing the settled session, meta.json kept",
        if disk.is_some() {
            "1 MiB tmpfs"
        } else {
            "RLIMIT_FSIZE: mounting is not permitted here"
        }
    );
}
