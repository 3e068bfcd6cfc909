//! `doctor` and `doctor --fix` over a store with every kind of damage, a
//! running session with a damaged `meta.json`, and another store beside
//! it: it reports without changing anything, repairs without losing
//! anything, and touches nothing that is not its own.

use crate::support::files::{assert_unchanged, snapshot, Snapshot};
use crate::support::output::{expect, has, json_of, stderr, stdout, EMPTY};
use crate::support::procs::{alive, sigkill, sigkill_group, sleeper, wait_dead};
use crate::support::world::{local_time_ago, World};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant, SystemTime};

/// Unreadable `meta.json` files: each is refused with one line naming it
/// (exit 1, with a `doctor` hint), `list` skips it with a warning and lists
/// the rest, and nothing in the store changes.
/// A running session whose meta.json was damaged is still running: doctor
/// names the damage but neither moves its folder nor stops its agent.
#[test]
fn doctor_fix_leaves_a_running_session_with_a_damaged_meta_alone() {
    let w = World::new();
    let id = w.start_hanging(&[]);
    let sup = w.supervisor_of(&id);
    let agent = w.meta(&id)["turns"][0]["agent"]["pid"].as_i64().unwrap() as i32;
    std::fs::write(w.session_dir(&id).join("meta.json"), b"{ damaged").unwrap();
    let (code, out) = w.json_any(&["doctor", "--fix"]);
    assert_eq!(code, 1, "{out}");
    let doc: Value = serde_json::from_str(&out).unwrap();
    let findings = doc["problems"].as_array().unwrap();
    assert_eq!(findings.len(), 1, "{out}");
    assert_eq!(findings[0]["kind"], "unreadable_meta");
    assert!(
        findings[0]["detail"]
            .as_str()
            .unwrap()
            .contains("supervisor still runs"),
        "{out}"
    );
    assert_eq!(findings[0]["fixed"], false, "{out}");
    assert!(w.session_dir(&id).join("turns").is_dir(), "moved away");
    assert!(alive(sup) && alive(agent), "stopped");
    sigkill(sup);
    sigkill_group(agent);
    wait_dead(sup);
    wait_dead(agent);
}

fn kinds(doc: &Value) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for p in doc["problems"].as_array().unwrap() {
        *out.entry(p["kind"].as_str().unwrap().to_string())
            .or_default() += 1;
    }
    out
}

/// A store with every kind of damage `doctor` knows, beside a healthy
/// session, a running one, an unrelated process and another store with a
/// running session. `doctor` reports and changes nothing; `--fix` settles,
/// stops and moves aside (deleting nothing of a session), touches nothing
/// else, and says what it did.
#[test]
fn doctor_reports_everything_and_fix_repairs_without_losing_anything() {
    let t0 = Instant::now();
    let w = World::new();
    let other = World::new();
    let root = w.state.path().canonicalize().unwrap();
    let healthy = w.finished("codex_first_turn.jsonl", 0);
    let running = w.start_hanging(&[]);
    let running_agent = w.agent.pid(w.agent.calls());
    let stale = w.start_hanging(&[]);
    w.crash(&stale);
    let locked = w.start_hanging(&[]);
    w.crash(&locked);
    let never = w.clone_session(&healthy);
    w.edit_meta(&never, |m| {
        let old = local_time_ago(Duration::from_secs(120));
        m["status"] = json!("pending");
        m["pid"] = Value::Null;
        m["created_at"] = json!(old);
        m["turns"] = json!([{"turn": 1, "started_at": old}]);
    });
    let unparsable = w.clone_session(&healthy);
    std::fs::write(w.session_dir(&unparsable).join("meta.json"), b"{\"id\": ").unwrap();
    let no_meta = w.clone_session(&healthy);
    std::fs::remove_file(w.session_dir(&no_meta).join("meta.json")).unwrap();
    // Older than a session being created.
    std::fs::File::open(w.session_dir(&no_meta))
        .unwrap()
        .set_modified(SystemTime::now() - Duration::from_secs(60))
        .unwrap();
    let no_turn = w.clone_session(&healthy);
    std::fs::remove_file(w.turn_file(&no_turn, 1)).unwrap();
    let dead_pid = {
        let mut c = Command::new("true").spawn().unwrap();
        c.wait().unwrap();
        c.id()
    };
    let temp = format!(".meta.json.{dead_pid}.tmp");
    std::fs::write(w.session_dir(&healthy).join(&temp), b"{\"id\": \"half").unwrap();
    let removing = w
        .state
        .path()
        .join("sessions")
        .join(format!(".removing-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(removing.join("turns")).unwrap();
    let gone = uuid::Uuid::new_v4().to_string();
    let root_s = root.to_str().unwrap();
    let mut strays = [
        sleeper(&[
            ("ZWARM_SESSION_ID", &healthy),
            ("ZWARM_SESSION_STORE", root_s),
        ]),
        sleeper(&[("ZWARM_SESSION_ID", &gone), ("ZWARM_SESSION_STORE", root_s)]),
    ];
    let unrelated = sleeper(&[]);
    // Another store: its running agent and its own stray are not ours.
    let theirs = other.start_hanging(&[]);
    let theirs_agent = other.agent.pid(1);
    let other_root = other.state.path().canonicalize().unwrap();
    let their_stray = sleeper(&[
        ("ZWARM_SESSION_ID", &uuid::Uuid::new_v4().to_string()),
        ("ZWARM_SESSION_STORE", other_root.to_str().unwrap()),
    ]);
    // A lock held by a process that is not the session's supervisor.
    let lock = std::fs::File::open(w.session_dir(&locked).join("run.lock")).unwrap();
    let held = nix::fcntl::Flock::lock(lock, nix::fcntl::FlockArg::LockExclusive).unwrap();
    let quarantined: Vec<(PathBuf, Snapshot)> = [&unparsable, &no_meta]
        .iter()
        .map(|id| (w.session_dir(id), snapshot(&w.session_dir(id))))
        .collect();

    // Report only.
    let before = snapshot(w.state.path());
    let out = w.run(&["doctor"]);
    expect(&out, 1);
    let report = stdout(&out);
    assert!(
        stderr(&out).contains("11 problem(s) found; `zwarm doctor --fix` repairs what it can"),
        "{}\n{report}",
        stderr(&out)
    );
    let doc = json_of(&w.run(&["--json", "doctor"]));
    assert_eq!(doc["healthy"], false);
    assert_eq!(doc["fix"], false);
    let expected: BTreeMap<String, usize> = [
        ("stale_running", 2),
        ("stray_process", 2),
        ("unreadable_meta", 2),
        ("missing_turn_file", 1),
        ("temp_file", 1),
        ("interrupted_removal", 1),
        ("foreign_lock_holder", 1),
        // The running slots of the two supervisors killed outright.
        ("dead_queue_entry", 1),
    ]
    .into_iter()
    .map(|(k, n)| (k.to_string(), n))
    .collect();
    assert_eq!(kinds(&doc), expected, "{report}");
    let me = std::process::id();
    for needle in [
        format!(
            "{}  stale_running: running on disk, but its supervisor and agent are gone",
            &stale[..8]
        ),
        format!(
            "{}  stale_running: pending on disk, but its supervisor never started",
            &never[..8]
        ),
        format!(
            "{}  stray_process: process {} (sleep) belongs to a session that is not running",
            &healthy[..8],
            strays[0].id()
        ),
        format!(
            "{}  stray_process: process {} (sleep) belongs to a session that no longer exists",
            &gone[..8],
            strays[1].id()
        ),
        format!("{}  unreadable_meta: cannot read session", &unparsable[..8]),
        format!("{}  unreadable_meta: cannot read session", &no_meta[..8]),
        format!(
            "{}  missing_turn_file: turn 1 has no output file",
            &no_turn[..8]
        ),
        format!(
            "{}  temp_file: {temp} was left by a write that never completed",
            &healthy[..8]
        ),
        format!(
            "{}  foreign_lock_holder: its run lock is held by process {me}",
            &locked[..8]
        ),
        "-         dead_queue_entry: 2 entries in ".to_string(),
    ] {
        assert!(report.contains(&needle), "missing {needle:?} in\n{report}");
    }
    assert_unchanged(&before, &snapshot(w.state.path()), "doctor without --fix");
    for p in strays.iter().chain([&unrelated, &their_stray]) {
        assert!(alive(p.id() as i32));
    }

    // Repair.
    drop(held);
    let out = w.run(&["doctor", "--fix"]);
    expect(&out, 1);
    let report = stdout(&out);
    for needle in [
        format!("{}  stale_running: running on disk, but its supervisor and agent are gone without recording an ending  -> settled as failed", &stale[..8]),
        format!("{}  stale_running: running on disk, but its supervisor and agent are gone without recording an ending  -> settled as failed", &locked[..8]),
        format!("{}  stale_running: pending on disk, but its supervisor never started  -> settled as failed", &never[..8]),
        format!("-> stopped process {}", strays[0].id()),
        format!("-> stopped process {}", strays[1].id()),
        "-> moved the session folder to ".to_string(),
        "-> finished the removal".to_string(),
        format!("{}  missing_turn_file: turn 1 has no output file (turns/turn_1.jsonl)\n", &no_turn[..8]),
        "(counted nowhere)  -> removed 2".to_string(),
    ] {
        assert!(report.contains(&needle), "missing {needle:?} in\n{report}");
    }
    assert!(
        stderr(&out).contains("11 problem(s) found, 10 fixed"),
        "{}",
        stderr(&out)
    );
    for id in [&stale, &locked, &never] {
        assert_eq!(w.meta(id)["status"], "failed", "{id}");
    }
    for p in &mut strays {
        let _ = p.wait();
    }
    for p in [&unrelated, &their_stray] {
        assert!(
            alive(p.id() as i32),
            "doctor --fix stopped a process not its own"
        );
    }
    assert!(alive(running_agent) && alive(theirs_agent));
    assert_eq!(w.json(&["show", &running])["status"], "running");
    assert_eq!(other.json(&["show", &theirs])["status"], "running");
    assert!(!removing.exists());
    // Moved aside whole, not deleted.
    let q = w.state.path().join("quarantine");
    for (dir, files) in &quarantined {
        assert!(!dir.exists());
        let name = dir.file_name().unwrap().to_str().unwrap();
        let moved = std::fs::read_dir(&q)
            .unwrap()
            .flatten()
            .find(|e| {
                e.file_name()
                    .to_str()
                    .unwrap()
                    .starts_with(&format!("{name}."))
            })
            .unwrap_or_else(|| panic!("{name} is not in quarantine/"))
            .path();
        let now: Snapshot = snapshot(&moved)
            .into_iter()
            .map(|(p, h)| (dir.join(p.strip_prefix(&moved).unwrap()), h))
            .collect();
        assert_eq!(&now, files, "{name} changed on the way to quarantine/");
    }
    let kept = std::fs::read(
        q.join(&healthy)
            .read_dir()
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
            .path(),
    )
    .unwrap();
    assert_eq!(kept, b"{\"id\": \"half");

    // What is left is what cannot be repaired; then nothing.
    let doc = json_of(&w.run(&["--json", "doctor"]));
    assert_eq!(
        kinds(&doc),
        BTreeMap::from([("missing_turn_file".to_string(), 1)])
    );
    expect(&w.run(&["rm", &no_turn]), 0);
    w.run(&["doctor"])
        .expect(0, EMPTY, has("no problems found"));
    let doc = json_of(&w.run(&["--json", "doctor", "--fix"]));
    assert_eq!(doc["healthy"], true);

    for mut p in [unrelated, their_stray] {
        p.kill().unwrap();
        p.wait().unwrap();
    }
    eprintln!(
        "doctor: 10 problems of 7 kinds reported without changing anything; --fix settled 3, \
         stopped 2 strays, quarantined 2 sessions and 1 temp file intact, finished 1 removal; \
         an unrelated process and another store's agent and stray untouched; in {:.1}s",
        t0.elapsed().as_secs_f64()
    );
}

/// `doctor --fix` in one store never touches the processes of another
/// store's sessions, running or not.
#[test]
fn doctor_fix_leaves_other_stores_alone() {
    let ours = World::new();
    let theirs = World::new();
    theirs
        .agent
        .turn(1, "{\"type\":\"thread.started\",\"thread_id\":\"t\"}\n")
        .hang(1);
    let id = theirs.start(&["keeps running"]);
    theirs.agent.wait_hanging(1, Duration::from_secs(10));
    let out = ours.run(&["doctor", "--fix"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let pid = theirs.agent.pid(1);
    assert!(
        std::path::Path::new(&format!("/proc/{pid}")).exists(),
        "doctor in another store stopped this agent"
    );
    assert_eq!(theirs.json(&["show", &id])["status"], "running");
}
