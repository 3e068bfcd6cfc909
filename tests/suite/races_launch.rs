//! Truth under concurrency: readers, `doctor --fix` and `kill` racing the
//! launch of turns, a launch held still for as long as a test likes, and a
//! stopped supervisor. Each race is run `ZWARM_RACE_ROUNDS` times (30 by
//! default; `scripts/stress.sh` runs 500 with a busy loop on each core).
//! Figures go to stderr (`--nocapture`).

use crate::support::fake::transcript;
use crate::support::output::{expect, json_of, stdout};
use crate::support::poll::eventually;
use crate::support::procs::{alive, proc_stat, signal};
use crate::support::rng::{rounds, rounds_or};
use crate::support::world::{local_time_ago, World};
use serde_json::{json, Value};
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

const STARTED: Duration = Duration::from_secs(20);

/// Sets the flag when dropped: the loops that watch it stop even when the
/// thread that would have set it panicked, so a failed assertion fails the
/// test rather than hanging it.
struct SetOnDrop<'a>(&'a AtomicBool);

impl Drop for SetOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// A finished one-turn session whose every later turn replays a completed
/// codex turn line by line, `delay` seconds apart.
fn quick_session(w: &World, delay: f64) -> String {
    w.agent
        .every_turn(&transcript("codex_resume.jsonl"))
        .turn(1, transcript("codex_first_turn.jsonl"))
        .delay(delay);
    let id = w.start(&["the task"]);
    assert_eq!(w.wait(&id), 0);
    id
}

/// Backdates a session as if it had been created an hour ago.
fn age(w: &World, id: &str) {
    let old = local_time_ago(Duration::from_secs(3600));
    w.edit_meta(id, |m| {
        m["created_at"] = json!(old);
        for t in m["turns"].as_array_mut().unwrap() {
            t["started_at"] = json!(old);
        }
    });
}

/// Every turn of the session, as (ending, settled_by).
fn endings(meta: &Value) -> Vec<(String, String)> {
    meta["turns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["ending"].as_str().unwrap_or("open").to_string(),
                t["settled_by"].as_str().unwrap_or("-").to_string(),
            )
        })
        .collect()
}

/// `list` and `show` in a loop while a session of an hour ago is continued
/// turn after turn: a reader must never settle the turn being launched (the
/// old grace was measured from the session's creation, so every reader in
/// that window called it failed, "supervisor never started"). Each turn is
/// `running` or `pending` while its agent runs, then `completed`.
#[test]
fn readers_never_settle_a_turn_being_launched_on_an_old_session() {
    let t0 = Instant::now();
    let w = World::new();
    let id = quick_session(&w, 0.005);
    age(&w, &id);
    let done = AtomicBool::new(false);
    let reads = AtomicUsize::new(0);
    let seen_failed = Mutex::new(Vec::<String>::new());
    let n = rounds();
    std::thread::scope(|sc| {
        for reader in 0..2 {
            let (done, reads, seen_failed, w, id) = (&done, &reads, &seen_failed, &w, &id);
            sc.spawn(move || {
                while !done.load(Ordering::Relaxed) {
                    let args: &[&str] = if reader == 0 {
                        &["--json", "list"]
                    } else {
                        &["--json", "show", id]
                    };
                    let out = w.run(args);
                    expect(&out, 0);
                    let doc = json_of(&out);
                    let s = if reader == 0 {
                        doc["sessions"]
                            .as_array()
                            .unwrap()
                            .iter()
                            .find(|s| s["id"] == id.as_str())
                            .cloned()
                            .unwrap()
                    } else {
                        doc
                    };
                    if !["pending", "running", "completed"].contains(&s["status"].as_str().unwrap())
                    {
                        seen_failed.lock().unwrap().push(s.to_string());
                    }
                    reads.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
        let _stop_readers = SetOnDrop(&done);
        for _ in 0..n {
            expect(&w.run(&["inject", &id, "more"]), 0);
            expect(&w.run(&["wait", "--timeout", "60s", &id]), 0);
        }
    });
    let seen = seen_failed.into_inner().unwrap();
    assert!(seen.is_empty(), "a reader saw: {seen:#?}");
    let meta = w.meta(&id);
    let ends = endings(&meta);
    assert_eq!(ends.len(), n + 1, "{meta}");
    assert!(
        ends.iter()
            .all(|(e, by)| e == "completed" && by == "supervisor"),
        "{ends:?}"
    );
    assert_eq!(w.agent.calls(), n + 1);
    eprintln!(
        "races: {n} injects into a session of an hour ago beside {} reads, every turn completed \
         and settled by its supervisor, none seen failed, in {:.1}s",
        reads.load(Ordering::Relaxed),
        t0.elapsed().as_secs_f64()
    );
}

/// `doctor --fix` in a loop beside turns being launched: continued turns of
/// one session and fifty sessions started at once. No agent is stopped as
/// a stray, no creation under way is moved aside, every turn completes.
#[test]
fn doctor_fix_in_a_loop_stops_no_live_agent_and_moves_no_creation() {
    let t0 = Instant::now();
    let w = World::new();
    let id = quick_session(&w, 0.002);
    age(&w, &id);
    let n = rounds();
    let done = AtomicBool::new(false);
    let doctors = AtomicUsize::new(0);
    let acted = Mutex::new(Vec::<String>::new());
    let started: Vec<String> = std::thread::scope(|sc| {
        {
            let (done, doctors, acted, w) = (&done, &doctors, &acted, &w);
            sc.spawn(move || {
                while !done.load(Ordering::Relaxed) {
                    let out = w.run(&["--json", "doctor", "--fix"]);
                    let doc = json_of(&out);
                    for p in doc["problems"].as_array().unwrap() {
                        // Nothing in this store needs repairing, whatever
                        // moment doctor looks at it.
                        acted.lock().unwrap().push(p.to_string());
                    }
                    doctors.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
        let _stop_doctor = SetOnDrop(&done);
        let injects = sc.spawn(|| {
            for _ in 0..n {
                expect(&w.run(&["inject", &id, "more"]), 0);
                expect(&w.run(&["wait", "--timeout", "60s", &id]), 0);
            }
        });
        let starts: Vec<_> = (0..50)
            .map(|i| {
                let w = &w;
                sc.spawn(move || {
                    let out = w.run(&["start", &format!("task {i}")]);
                    expect(&out, 0);
                    stdout(&out).trim().to_string()
                })
            })
            .collect();
        let ids: Vec<String> = starts.into_iter().map(|h| h.join().unwrap()).collect();
        let mut args = vec!["wait", "--timeout", "60s"];
        args.extend(ids.iter().map(String::as_str));
        let waited = w.run(&args);
        let injected = injects.join();
        done.store(true, Ordering::Relaxed);
        injected.unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        expect(&waited, 0);
        ids
    });
    let acted = acted.into_inner().unwrap();
    assert!(acted.is_empty(), "doctor found or did: {acted:#?}");
    assert!(!w.state.path().join("quarantine").exists());
    let ends = endings(&w.meta(&id));
    assert_eq!(ends.len(), n + 1);
    assert!(ends.iter().all(|(e, _)| e == "completed"), "{ends:?}");
    for s in &started {
        let ends = endings(&w.meta(s));
        assert_eq!(ends, [("completed".into(), "supervisor".into())], "{s}");
    }
    eprintln!(
        "races: {} doctor --fix runs beside {n} injects and 50 concurrent starts: no agent \
         stopped, nothing moved, every turn completed, in {:.1}s",
        doctors.load(Ordering::Relaxed),
        t0.elapsed().as_secs_f64()
    );
}

/// An `inject` held still (SIGSTOP) between writing its turn and starting
/// the supervisor, on a session and a turn both dated an hour back: while
/// the launcher lives, nothing settles the turn — not `list`, `show`,
/// `wait` nor `doctor --fix` — and once it continues the turn runs and
/// completes.
#[test]
fn a_launch_held_still_is_never_settled_while_its_launcher_lives() {
    let t0 = Instant::now();
    let w = World::new();
    let id = quick_session(&w, 0.0);
    age(&w, &id);
    let launcher = w
        .cmd(&["inject", &id, "more"])
        .env("ZWARM_TEST_STOP_BEFORE_SUPERVISOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = launcher.id() as i32;
    eventually(STARTED, "the launcher to stop itself", || {
        proc_stat(pid).is_some_and(|(s, _)| s == 'T')
    });
    // As old as can be: no grace period of any length can explain it.
    w.edit_meta(&id, |m| {
        m["turns"][1]["started_at"] = json!(local_time_ago(Duration::from_secs(3600)));
    });
    let rounds = rounds_or(10);
    for _ in 0..rounds {
        let shown = w.json(&["show", &id]);
        assert_eq!(shown["status"], "pending", "{shown}");
        assert_eq!(shown["turns"], 2);
        let listed = w.json(&["list"]);
        assert_eq!(listed["sessions"][0]["status"], "pending", "{listed}");
        let out = w.run(&["--json", "wait", "--timeout", "0", &id]);
        expect(&out, 124);
        let out = w.run(&["--json", "doctor", "--fix"]);
        assert_eq!(json_of(&out)["problems"], json!([]), "{}", stdout(&out));
    }
    assert!(w.meta(&id)["turns"][1]["ending"].is_null());
    assert_eq!(w.agent.calls(), 1, "no agent started yet");
    signal(pid, libc::SIGCONT);
    let out = launcher.wait_with_output().unwrap();
    expect(&out, 0);
    expect(&w.run(&["wait", "--timeout", "60s", &id]), 0);
    assert_eq!(
        endings(&w.meta(&id)),
        [
            ("completed".into(), "supervisor".into()),
            ("completed".into(), "supervisor".into())
        ]
    );
    eprintln!(
        "races: a launch held stopped through {rounds} rounds of show, list, wait and doctor \
         --fix was never settled; continued, it completed ({:.1}s)",
        t0.elapsed().as_secs_f64()
    );
}

/// `kill` of a session whose supervisor is stopped (SIGSTOP): the agent's
/// group is signalled directly, the supervisor continued; `kill` says
/// "killed" only once the agent is gone, and the ending is `killed`.
#[test]
fn kill_with_a_stopped_supervisor_stops_the_agent_before_saying_so() {
    let w = World::new();
    let n = rounds_or(5);
    let t0 = Instant::now();
    for _ in 0..n {
        let id = w.start_hanging(&[]);
        let (sup, agent) = w.turn_pids(&id);
        signal(sup, libc::SIGSTOP);
        eventually(STARTED, "the supervisor to stop", || {
            proc_stat(sup).is_some_and(|(s, _)| s == 'T')
        });
        let t = Instant::now();
        let out = w.run(&["--json", "kill", &id]);
        expect(&out, 0);
        let doc = json_of(&out);
        assert_eq!(
            doc["results"][0],
            json!({"id": id, "ok": true, "status": "killed", "error": null,
                   "agent_stopped": true, "ending_recorded": true})
        );
        assert!(!alive(agent), "kill said killed, the agent {agent} lives");
        assert!(t.elapsed() < Duration::from_secs(12), "{:?}", t.elapsed());
        eventually(STARTED, "the supervisor to finish", || !alive(sup));
        let meta = w.meta(&id);
        assert_eq!(meta["status"], "killed", "{meta}");
        assert_eq!(meta["turns"][0]["ending"], "killed", "{meta}");
    }
    eprintln!(
        "races: {n} kills of sessions whose supervisor was stopped: each agent gone before \
         `kill` answered, each turn recorded killed ({:.1}s)",
        t0.elapsed().as_secs_f64()
    );
}
