//! The real binary under concurrent use: fifty starts at once while other
//! zwarms list, show, inject and kill, three rounds into one store; and a
//! reader's brief hold on a run lock. Figures go to stderr (`--nocapture`).

use crate::support::fake::{transcript, TaskAgent, TaskCall};
use crate::support::files::{locks_under, temp_files};
use crate::support::output::{expect, json_of, listed_ids, stderr, stdout};
use crate::support::procs::assert_no_processes;
use crate::support::world::World;
use serde_json::json;
use std::collections::{BTreeSet, HashMap};
use std::process::Output;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Barrier, Mutex};
use std::time::{Duration, Instant};

const SESSIONS: usize = 50;

const ROUNDS: usize = 3;

const READERS: usize = 3;

#[derive(Default)]
struct Ops {
    start: AtomicUsize,
    list: AtomicUsize,
    show: AtomicUsize,
    inject: AtomicUsize,
    kill: AtomicUsize,
    wait: AtomicUsize,
}

impl Ops {
    fn total(&self) -> usize {
        [
            &self.start,
            &self.list,
            &self.show,
            &self.inject,
            &self.kill,
            &self.wait,
        ]
        .iter()
        .map(|c| c.load(Ordering::Relaxed))
        .sum()
    }
}

/// 50 `start`s at once, while `list` and `show` read the store in a loop,
/// every second session is continued with `inject` as soon as its first
/// turn ends, and every other is refused an `inject` and then killed (by two
/// `kill`s at once); three rounds into the same store.
#[test]
fn fifty_starts_at_once_with_list_show_inject_and_kill() {
    let t0 = Instant::now();
    let w = World::new();
    let agent = TaskAgent::new();
    agent
        .on("quick", &transcript("codex_first_turn.jsonl"))
        .on("more", &transcript("codex_resume.jsonl"))
        .on("hang", &transcript("codex_sigterm.jsonl"))
        .hang("hang");
    let ops = Ops::default();
    let zwarm = |counter: &AtomicUsize, args: &[&str]| -> Output {
        counter.fetch_add(1, Ordering::Relaxed);
        w.cmd_with(&agent.program(), args)
            .output()
            .expect("run zwarm")
    };
    let problems = Mutex::new(Vec::<String>::new());
    let mut sessions: Vec<(String, bool)> = Vec::new();

    for round in 0..ROUNDS {
        let barrier = Barrier::new(SESSIONS);
        let done = AtomicBool::new(false);
        let known = Mutex::new(Vec::<String>::new());
        let started: Vec<(String, bool)> = std::thread::scope(|sc| {
            for r in 0..READERS {
                let (done, known, problems, ops, zwarm) = (&done, &known, &problems, &ops, &zwarm);
                sc.spawn(move || {
                    let mut i = r;
                    while !done.load(Ordering::Relaxed) {
                        let out = zwarm(&ops.list, &["--json", "list"]);
                        expect(&out, 0);
                        let list = json_of(&out);
                        for p in list["problems"].as_array().unwrap() {
                            problems.lock().unwrap().push(format!("list: {p}"));
                        }
                        if !stderr(&out).is_empty() {
                            problems
                                .lock()
                                .unwrap()
                                .push(format!("list: {}", stderr(&out)));
                        }
                        let id = {
                            let k = known.lock().unwrap();
                            i += 1;
                            (!k.is_empty()).then(|| k[i % k.len()].clone())
                        };
                        if let Some(id) = id {
                            let out = zwarm(&ops.show, &["--json", "show", &id]);
                            expect(&out, 0);
                            let st = json_of(&out)["status"].as_str().unwrap().to_string();
                            assert!(
                                ["pending", "running", "completed", "killed"]
                                    .contains(&st.as_str()),
                                "{id}: {st}"
                            );
                        }
                    }
                });
            }
            let handles: Vec<_> = (0..SESSIONS)
                .map(|i| {
                    let (barrier, known, ops, zwarm, agent) =
                        (&barrier, &known, &ops, &zwarm, &agent);
                    sc.spawn(move || {
                        let quick = i % 2 == 0;
                        let task = format!("{} {round}-{i}", if quick { "quick" } else { "hang" });
                        barrier.wait();
                        let out = zwarm(&ops.start, &["start", &task]);
                        expect(&out, 0);
                        let id = stdout(&out).trim().to_string();
                        known.lock().unwrap().push(id.clone());
                        if quick {
                            expect(&zwarm(&ops.wait, &["wait", "--timeout", "60s", &id]), 0);
                            // Its turn has ended: nothing may call it busy now.
                            expect(&zwarm(&ops.inject, &["inject", &id, "more please"]), 0);
                        } else {
                            expect(&zwarm(&ops.inject, &["inject", &id, "more please"]), 5);
                            agent.wait_started(&id, Duration::from_secs(60));
                            let (a, b) = std::thread::scope(|s2| {
                                let a = s2.spawn(|| zwarm(&ops.kill, &["kill", &id]));
                                let b = s2.spawn(|| zwarm(&ops.kill, &["kill", &id]));
                                (a.join().unwrap(), b.join().unwrap())
                            });
                            // Both stop it, or one finds it already stopped.
                            let codes = [a.status.code(), b.status.code()];
                            assert!(
                                codes.contains(&Some(0))
                                    && codes.iter().all(|c| matches!(c, Some(0 | 1))),
                                "kill, kill: {codes:?}\n{}\n{}",
                                stderr(&a),
                                stderr(&b)
                            );
                        }
                        (id, quick)
                    })
                })
                .collect();
            // The readers stop whatever became of the starters, so that a
            // failed assertion fails the test rather than hanging it.
            let joined: Vec<_> = handles.into_iter().map(|h| h.join()).collect();
            done.store(true, Ordering::Relaxed);
            joined
                .into_iter()
                .map(|j| j.unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
                .collect()
        });
        sessions.extend(started);
    }

    let quick: Vec<&str> = sessions
        .iter()
        .filter(|(_, q)| *q)
        .map(|(id, _)| id.as_str())
        .collect();
    let mut args = vec!["wait", "--timeout", "60s"];
    args.extend(&quick);
    expect(&zwarm(&ops.wait, &args), 0);

    // Every session is there, and nothing else, and zwarm reads each one.
    let ids: BTreeSet<String> = sessions.iter().map(|(id, _)| id.clone()).collect();
    assert_eq!(ids.len(), SESSIONS * ROUNDS);
    let list = w.json(&["list"]);
    assert_eq!(list["problems"], json!([]), "{list}");
    assert_eq!(listed_ids(&list).into_iter().collect::<BTreeSet<_>>(), ids);

    // Each agent started exactly once per recorded turn, for its own session.
    let calls = agent.calls();
    let mut by_session: HashMap<&str, Vec<&TaskCall>> = HashMap::new();
    for c in &calls {
        by_session.entry(c.session.as_str()).or_default().push(c);
    }
    for (id, quick) in &sessions {
        let raw = w.meta(id);
        let turns = raw["turns"].as_array().unwrap();
        let mine = by_session.get(id.as_str()).cloned().unwrap_or_default();
        let prompts: Vec<&str> = mine.iter().map(|c| c.prompt.as_str()).collect();
        if *quick {
            assert_eq!(raw["status"], "completed", "{id}: {raw}");
            assert_eq!(turns.len(), 2, "{id}: {raw}");
            assert!(turns.iter().all(|t| t["ending"] == "completed"), "{raw}");
            assert_eq!(prompts.len(), 2, "{id}: {prompts:?}");
            assert!(prompts[0].starts_with("quick ") && prompts[1] == "more please");
        } else {
            assert_eq!(raw["status"], "killed", "{id}: {raw}");
            assert_eq!(turns.len(), 1, "{id}: {raw}");
            assert_eq!(turns[0]["ending"], "killed");
            assert_eq!(prompts.len(), 1, "{id}: {prompts:?}");
            assert!(prompts[0].starts_with("hang "));
        }
        for (t, c) in turns.iter().zip(&mine) {
            assert_eq!(t["agent"]["pid"], c.pid, "{id}: {raw}");
        }
        assert!(temp_files(&w.session_dir(id)).is_empty(), "{id}");
    }
    assert_eq!(calls.len(), SESSIONS * ROUNDS / 2 * 3);

    let ids_: Vec<&str> = ids.iter().map(String::as_str).collect();
    assert_no_processes(&ids_);
    let held = locks_under(w.state.path());
    assert!(held.is_empty(), "locks still held: {held:?}");
    let problems = problems.into_inner().unwrap();
    assert!(
        problems.is_empty(),
        "{} problems: {problems:#?}",
        problems.len()
    );

    eprintln!(
        "concurrency: {} sessions ({ROUNDS} rounds of {SESSIONS} concurrent starts), \
         {} zwarm operations (start {}, list {}, show {}, inject {}, kill {}, wait {}), \
         {} agent starts, all statuses true, no turn started twice, no lock held, in {:.1}s",
        ids.len(),
        ops.total(),
        ops.start.load(Ordering::Relaxed),
        ops.list.load(Ordering::Relaxed),
        ops.show.load(Ordering::Relaxed),
        ops.inject.load(Ordering::Relaxed),
        ops.kill.load(Ordering::Relaxed),
        ops.wait.load(Ordering::Relaxed),
        calls.len(),
        t0.elapsed().as_secs_f64()
    );
}

/// `wait` holds the run lock shared for an instant as a turn ends, and a
/// reader tests it: neither is a supervisor, so neither may make a
/// concurrent `inject` or `kill` see a turn running.
#[test]
fn a_readers_hold_on_the_run_lock_is_not_a_running_turn() {
    let w = World::new();
    let id = w.finished("codex_first_turn.jsonl", 0);
    let k = w.agent.calls() + 1;
    w.agent.turn(k, transcript("codex_resume.jsonl"));
    let lock = std::fs::File::open(w.session_dir(&id).join("run.lock")).unwrap();
    let held = nix::fcntl::Flock::lock(lock, nix::fcntl::FlockArg::LockShared).unwrap();
    // The new supervisor waits for the reader to let go, as it would.
    let release = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        drop(held);
    });
    let out = w.run(&["inject", &id, "more"]);
    release.join().unwrap();
    expect(&out, 0);
    assert_eq!(w.wait(&id), 0);
    assert_eq!(w.meta(&id)["turns"][1]["ending"], "completed");
}
