//! Crashes at random moments: the supervisor SIGKILLed, or supervisor and
//! agent together, mid-turn; a reboot; a pid reused by another process.
//! Each session is settled truthfully by whoever reads it next. Random
//! choices come from a printed seed; `ZWARM_TEST_SEED` replays one.

use crate::support::fake::transcript;
use crate::support::output::{error_of, expect, session_in};
use crate::support::poll::eventually;
use crate::support::procs::{alive, proc_stat, sigkill, sigkill_group, wait_dead};
use crate::support::rng::Rng;
use crate::support::world::{local_time_ago, reopen, World, STARTED};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// A `kill` that finds the supervisor gone stops the agent itself, and the
/// turn ends when it saw the agent go, not when its output last changed.
#[test]
fn a_kill_after_the_supervisor_died_records_when_it_stopped_the_agent() {
    let w = World::new();
    let id = w.start_hanging(&[]);
    let agent = w.meta(&id)["turns"][0]["agent"]["pid"].as_i64().unwrap() as i32;
    w.agent.wait_hanging(1, STARTED);
    let sup = w.supervisor_of(&id);
    sigkill(sup);
    wait_dead(sup);
    std::thread::sleep(Duration::from_millis(1500));
    let before_kill = local_time_ago(Duration::ZERO);
    expect(&w.run(&["kill", &id]), 0);
    wait_dead(agent);
    let meta = w.meta(&id);
    let turn = &meta["turns"][0];
    assert_eq!(turn["ending"], "killed", "{meta}");
    let ended = turn["ended_at"].as_str().unwrap();
    assert!(ended >= before_kill.as_str(), "{ended} < {before_kill}");
}

/// True if the stream holds a complete `turn.completed` line.
fn stream_completed(path: &Path) -> bool {
    let bytes = std::fs::read(path).unwrap_or_default();
    let whole = match bytes.iter().rposition(|&b| b == b'\n') {
        Some(i) => &bytes[..=i],
        None => &[][..],
    };
    whole
        .split(|&b| b == b'\n')
        .any(|l| serde_json::from_slice::<Value>(l).is_ok_and(|v| v["type"] == "turn.completed"))
}

const CRASHES: usize = 6;

/// The supervisor is SIGKILLed at a random moment of a turn whose agent
/// takes about half a second. While the agent lives (the very process
/// recorded: pid and start time) the session reads `running`; when the
/// agent finishes, it is settled `completed` from its stream.
#[test]
fn a_supervisor_killed_at_random_moments_lets_the_agent_finish_and_settles() {
    let t0 = Instant::now();
    let mut rng = Rng::new("supervisor SIGKILL");
    let w = World::new();
    w.agent.delay(0.07);
    let (mut running_seen, mut by_reader) = (0, 0);
    for k in 1..=CRASHES {
        w.agent.turn(k, transcript("codex_first_turn.jsonl"));
        let id = w.start(&["the task"]);
        w.agent.wait_started(k, STARTED);
        let agent = w.agent.pid(k);
        let (_, agent_start) = proc_stat(agent).expect("the agent runs");
        let recorded = w.meta(&id)["turns"][0]["agent"].clone();
        assert_eq!(recorded, json!({"pid": agent, "start_time": agent_start}));
        let sup = w.supervisor_of(&id);
        std::thread::sleep(rng.millis(900));
        sigkill(sup);
        wait_dead(sup);

        let before = alive(agent);
        let shown = w.json(&["show", &id]);
        let after = alive(agent);
        if after {
            assert_eq!(shown["status"], "running", "{shown}");
            running_seen += 1;
        } else if !before {
            assert_eq!(shown["status"], "completed", "{shown}");
        }
        assert_eq!(w.wait(&id), 0, "{}", w.meta(&id));
        let meta = w.meta(&id);
        assert_eq!(meta["status"], "completed", "{meta}");
        assert_eq!(meta["turns"][0]["ending"], "completed");
        assert_eq!(meta["messages"][1]["content"], "All done: mock says hi.");
        if meta["turns"][0]["settled_by"] == "reader" {
            by_reader += 1;
        }
    }
    eprintln!(
        "crash: supervisor SIGKILLed at {CRASHES} random moments: all completed, \
         {running_seen} read as running while the agent lived, {by_reader} settled by a reader, \
         in {:.1}s",
        t0.elapsed().as_secs_f64()
    );
}

/// Supervisor and agent are both SIGKILLed at a random moment, in a random
/// order (so sometimes mid-way through the supervisor recording the
/// agent's death). The next `list` settles the session: `completed` if the
/// stream got as far as `turn.completed`, else failed as interrupted with
/// the reason in `error`; never `running`, never settled twice.
#[test]
fn supervisor_and_agent_killed_at_random_moments_are_settled_by_the_next_read() {
    let t0 = Instant::now();
    let mut rng = Rng::new("supervisor and agent SIGKILL");
    let w = World::new();
    w.agent.delay(0.07);
    let mut outcomes: BTreeMap<String, usize> = BTreeMap::new();
    for k in 1..=CRASHES {
        w.agent.turn(k, transcript("codex_first_turn.jsonl"));
        let id = w.start(&["the task"]);
        w.agent.wait_started(k, STARTED);
        let agent = w.agent.pid(k);
        let sup = w.supervisor_of(&id);
        std::thread::sleep(rng.millis(900));
        if rng.below(2) == 0 {
            sigkill(sup);
            sigkill_group(agent);
        } else {
            sigkill_group(agent);
            std::thread::sleep(rng.millis(5));
            sigkill(sup);
        }
        wait_dead(sup);
        wait_dead(agent);

        let completed = stream_completed(&w.turn_file(&id, 1));
        let list = w.json(&["list"]);
        let s = session_in(&list, &id);
        let meta = w.meta(&id);
        assert_eq!(s["status"], meta["status"], "the read did not record it");
        if completed {
            assert_eq!(s["status"], "completed", "{s}");
        } else {
            assert_eq!(s["status"], "failed", "{s}");
            assert_eq!(s["ending"], "interrupted", "{s}");
            let err = s["error"].as_str().unwrap();
            assert!(err.starts_with("interrupted: "), "{err}");
        }
        let rec = &meta["turns"][0];
        assert!(rec["ended_at"].is_string(), "{meta}");
        *outcomes
            .entry(format!(
                "{} by {}",
                rec["ending"].as_str().unwrap(),
                rec["settled_by"].as_str().unwrap()
            ))
            .or_default() += 1;
        // Settled once: a second read changes nothing.
        let before = w.meta_bytes(&id);
        w.json(&["show", &id]);
        assert_eq!(w.meta_bytes(&id), before);
    }
    eprintln!(
        "crash: supervisor and agent SIGKILLed at {CRASHES} random moments: {outcomes:?}, \
         none left running, in {:.1}s",
        t0.elapsed().as_secs_f64()
    );
}

/// A reboot: the turn's recorded boot id is not this boot's, and its
/// processes are gone. The next read settles it as interrupted by the
/// restart.
#[test]
fn a_session_running_across_a_reboot_is_settled_as_interrupted() {
    let w = World::new();
    let id = w.start_hanging(&[]);
    w.crash(&id);
    let boot = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").unwrap();
    assert_eq!(w.meta(&id)["turns"][0]["boot_id"], boot.trim());
    w.edit_meta(&id, |m| {
        m["turns"][0]["boot_id"] = json!("00000000-0000-4000-8000-000000000000")
    });

    let list = w.json(&["list"]);
    let s = session_in(&list, &id);
    assert_eq!(s["status"], "failed", "{s}");
    assert_eq!(s["ending"], "interrupted");
    assert_eq!(
        s["error"],
        "interrupted: the machine restarted during this turn"
    );
    assert_eq!(w.meta(&id)["turns"][0]["settled_by"], "reader");
    eprintln!("crash: reboot (boot id changed) settled as interrupted");
}

/// A process that is not the session's: spawned by the test, leading its
/// own process group, its pid written into sessions with a wrong start
/// time. No read calls it alive and no `kill` signals it.
#[test]
fn a_reused_pid_is_neither_alive_nor_signalled() {
    let w = World::new();
    let stranger = Command::new("sleep")
        .arg("600")
        .process_group(0)
        .spawn()
        .unwrap();
    let pid = stranger.id() as i32;
    let (_, start) = proc_stat(pid).unwrap();
    let wrong = json!({"pid": pid, "start_time": start + 1000});
    let reuse = |id: &str| {
        w.edit_meta(id, |m| {
            reopen(m);
            m["pid"] = json!(pid);
            m["turns"][0]["supervisor"] = wrong.clone();
            m["turns"][0]["agent"] = wrong.clone();
        })
    };

    // Nothing holds the run lock: a read settles it as interrupted.
    let a = w.finished("codex_sigterm.jsonl", 143);
    reuse(&a);
    let shown = w.json(&["show", &a]);
    assert_eq!(shown["status"], "failed", "{shown}");
    assert_eq!(shown["ending"], "interrupted");
    let out = w.run(&["kill", &a]);
    expect(&out, 1);
    assert!(error_of(&out).contains("is not running (it is failed)"));
    assert!(alive(pid), "the stranger was signalled");

    // Something else holds the run lock for a moment (as if the supervisor
    // were alive): `kill` waits for it, and still signals no stranger.
    let b = w.finished("codex_sigterm.jsonl", 143);
    reuse(&b);
    let lock = std::fs::File::open(w.session_dir(&b).join("run.lock")).unwrap();
    let held = nix::fcntl::Flock::lock(lock, nix::fcntl::FlockArg::LockExclusive).unwrap();
    assert_eq!(w.json(&["show", &b])["status"], "running");
    let release = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(800));
        drop(held);
    });
    let out = w.run(&["kill", &b]);
    release.join().unwrap();
    expect(&out, 0);
    assert_eq!(w.meta(&b)["status"], "killed");
    assert!(alive(pid), "the stranger was signalled");

    // A zwarm 2.3.5 session records only a pid, no start time: a process
    // that started after the session was last written cannot be its agent.
    let c = w.finished("codex_sigterm.jsonl", 143);
    let later = Command::new("sleep")
        .arg("600")
        .process_group(0)
        .spawn()
        .unwrap();
    let later_pid = later.id() as i32;
    w.edit_meta(&c, |m| {
        m["status"] = json!("running");
        m["pid"] = json!(later_pid);
        m["updated_at"] = json!(local_time_ago(Duration::from_secs(10)));
        m.as_object_mut().unwrap().remove("turns");
    });
    let legacy = w.json(&["show", &c]);
    assert_eq!(legacy["status"], "failed", "{legacy}");
    expect(&w.run(&["kill", &c]), 1);
    assert!(alive(later_pid), "the stranger was signalled");
    // Nor can a process that leads no session of its own (2.3.5 started its
    // agent with `start_new_session=True`), nor one that started before the
    // session was created, nor init: `kill` signals the pid's whole group.
    for (who, not_it) in [("own group only", pid), ("init", 1)] {
        w.edit_meta(&c, |m| {
            m["status"] = json!("running");
            m["pid"] = json!(not_it);
            m["updated_at"] = json!(local_time_ago(Duration::ZERO));
            m.as_object_mut().unwrap().remove("turns");
        });
        let shown = w.json(&["show", &c]);
        assert_eq!(shown["status"], "failed", "{who}: {shown}");
    }
    assert!(alive(pid), "the stranger was signalled");
    // `setsid` makes itself a session leader and execs, keeping its pid.
    let old_leader = Command::new("setsid")
        .args(["sleep", "600"])
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    w.edit_meta(&c, |m| {
        m["status"] = json!("running");
        m["pid"] = json!(old_leader.id());
        m["created_at"] = json!(local_time_ago(Duration::ZERO));
        m["updated_at"] = json!(local_time_ago(Duration::ZERO));
        m.as_object_mut().unwrap().remove("turns");
    });
    assert_eq!(
        w.json(&["show", &c])["status"],
        "failed",
        "started too early"
    );
    // The same session with an agent as 2.3.5 started it (its own session,
    // started after the session was created, before it was last written)
    // reads as running.
    let leader = Command::new("setsid")
        .args(["sleep", "600"])
        .spawn()
        .unwrap();
    // `setsid` calls setsid(2) after it has started: wait for it.
    let leads_its_session = |pid: u32| {
        let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let f: Vec<&str> = text[text.rfind(')').map_or(0, |i| i + 1)..]
            .split_whitespace()
            .collect();
        f.get(3) == Some(&pid.to_string().as_str())
    };
    eventually(STARTED, "setsid to make its session", || {
        leads_its_session(leader.id())
    });
    w.edit_meta(&c, |m| {
        m["status"] = json!("running");
        m["pid"] = json!(leader.id());
        m["created_at"] = json!(local_time_ago(Duration::from_secs(10)));
        m["updated_at"] = json!(local_time_ago(Duration::ZERO));
        m.as_object_mut().unwrap().remove("turns");
    });
    assert_eq!(w.json(&["show", &c])["status"], "running");

    for mut p in [stranger, later, leader, old_leader] {
        p.kill().unwrap();
        p.wait().unwrap();
    }
    eprintln!("crash: a reused pid (3 sessions) was never called alive nor signalled");
}
