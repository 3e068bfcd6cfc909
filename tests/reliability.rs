//! Reliability: the real binary, with fake agents, under concurrent use,
//! crashes at random moments, writers killed mid-write, a full disk, hostile
//! store contents, and `doctor` over a store with every kind of damage.
//! Each test prints its figures on stderr (`-- --nocapture` shows them).
//! Random choices come from a seed that is printed; `ZWARM_TEST_SEED`
//! replays one.

mod support;

use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::hash::{Hash, Hasher};
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Barrier, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use support::fake::{error_of, expect, stderr, stdout, transcript, TaskAgent, World};
use zwarm::store::{parse_meta, Store};

const STARTED: Duration = Duration::from_secs(10);

// ---------------------------------------------------------------- helpers

struct Rng(u64);

impl Rng {
    fn new(test: &str) -> Rng {
        let seed = std::env::var("ZWARM_TEST_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .unwrap()
                    .as_nanos() as u64
            })
            | 1;
        eprintln!("{test}: seed {seed}");
        Rng(seed)
    }

    /// xorshift64*: plenty for choosing moments to crash.
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn millis(&mut self, n: u64) -> Duration {
        Duration::from_micros(self.below(n * 1000))
    }
}

fn json_of(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\nstderr: {}", stdout(out), stderr(out)))
}

/// Process state and start time from `/proc/<pid>/stat`.
fn proc_stat(pid: i32) -> Option<(char, u64)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let f: Vec<&str> = text[text.rfind(')')? + 1..].split_whitespace().collect();
    Some((f.first()?.chars().next()?, f.get(19)?.parse().ok()?))
}

fn alive(pid: i32) -> bool {
    proc_stat(pid).is_some_and(|(s, _)| s != 'Z' && s != 'X')
}

#[track_caller]
fn wait_dead(pid: i32) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while alive(pid) {
        assert!(Instant::now() < deadline, "process {pid} is still alive");
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn sigkill(pid: i32) {
    unsafe { libc::kill(pid, libc::SIGKILL) };
}

/// The agent leads its own process group; its `sleep`s go with it.
fn sigkill_group(pgid: i32) {
    unsafe { libc::killpg(pgid, libc::SIGKILL) };
}

/// Live processes whose environment carries one of these session ids, or
/// whose command line names one (supervisors).
fn processes_of(ids: &BTreeSet<String>) -> Vec<i32> {
    let me = std::process::id() as i32;
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|&pid| pid != me && alive(pid))
        .filter(|pid| {
            let parts = |file: &str| {
                std::fs::read(format!("/proc/{pid}/{file}"))
                    .unwrap_or_default()
                    .split(|&b| b == 0)
                    .map(|p| String::from_utf8_lossy(p).into_owned())
                    .collect::<Vec<_>>()
            };
            parts("cmdline").iter().any(|a| ids.contains(a))
                || parts("environ").iter().any(|kv| {
                    kv.strip_prefix("ZWARM_SESSION_ID=")
                        .is_some_and(|id| ids.contains(id))
                })
        })
        .collect()
}

#[track_caller]
fn assert_no_processes(ids: &BTreeSet<String>) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let left = processes_of(ids);
        if left.is_empty() {
            return;
        }
        assert!(Instant::now() < deadline, "processes left behind: {left:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Every lock (flock or POSIX) that any process holds on a file under
/// `root`, as "pid path", from `/proc/locks`.
fn locks_under(root: &Path) -> Vec<String> {
    let mut files = HashMap::new();
    for (path, _) in walk(root) {
        if let Ok(m) = std::fs::symlink_metadata(&path) {
            files.insert((libc::major(m.dev()), libc::minor(m.dev()), m.ino()), path);
        }
    }
    let text = std::fs::read_to_string("/proc/locks").unwrap_or_default();
    text.lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.get(1) == Some(&"->") {
                return None;
            }
            let mut dev = f.get(5)?.split(':');
            let key = (
                u32::from_str_radix(dev.next()?, 16).ok()?,
                u32::from_str_radix(dev.next()?, 16).ok()?,
                dev.next()?.parse().ok()?,
            );
            let path = files.get(&key)?;
            Some(format!("{} {}", f.get(4)?, path.display()))
        })
        .collect()
}

/// Every file and folder under `root`, not following symlinks.
fn walk(root: &Path) -> Vec<(PathBuf, std::fs::Metadata)> {
    let mut out = Vec::new();
    let mut todo = vec![root.to_path_buf()];
    while let Some(dir) = todo.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            let Ok(m) = std::fs::symlink_metadata(e.path()) else {
                continue;
            };
            if m.is_dir() {
                todo.push(e.path());
            }
            out.push((e.path(), m));
        }
    }
    out
}

/// What is under `root`: each path with a hash of its contents (a link's
/// target for a symlink), to prove that a command changed nothing.
fn snapshot(root: &Path) -> BTreeMap<PathBuf, u64> {
    walk(root)
        .into_iter()
        .map(|(path, m)| {
            let mut h = std::collections::hash_map::DefaultHasher::new();
            if m.is_file() {
                std::fs::read(&path).unwrap_or_default().hash(&mut h);
            } else if m.is_symlink() {
                std::fs::read_link(&path).ok().hash(&mut h);
            }
            (path, h.finish())
        })
        .collect()
}

#[track_caller]
fn assert_same(before: &BTreeMap<PathBuf, u64>, after: &BTreeMap<PathBuf, u64>, what: &str) {
    let changed: Vec<_> = before
        .iter()
        .filter(|(p, h)| after.get(*p) != Some(h))
        .map(|(p, _)| p)
        .chain(after.keys().filter(|p| !before.contains_key(*p)))
        .collect();
    assert!(changed.is_empty(), "{what} changed the store: {changed:?}");
}

/// Temporary files of `meta.json` writes left in a session folder.
fn temp_files(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with(".meta.json.") && n.ends_with(".tmp"))
                .collect()
        })
        .unwrap_or_default()
}

/// Replaces a file the way zwarm does, so no reader sees half of it.
fn put(path: &Path, bytes: &[u8]) {
    let tmp = path.with_extension("test-edit");
    std::fs::write(&tmp, bytes).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

fn edit_meta(w: &World, id: &str, f: impl FnOnce(&mut Value)) {
    let mut meta = w.meta(id);
    f(&mut meta);
    put(
        &w.session_dir(id).join("meta.json"),
        &serde_json::to_vec_pretty(&meta).unwrap(),
    );
}

/// Turns a finished session back into one that claims its turn is running.
fn reopen(meta: &mut Value) {
    meta["status"] = json!("running");
    meta["error"] = Value::Null;
    meta["exit_code"] = Value::Null;
    let t = meta["turns"].as_array_mut().unwrap().last_mut().unwrap();
    for k in ["ended_at", "ending", "exit", "error", "settled_by"] {
        t.as_object_mut().unwrap().remove(k);
    }
}

/// A copy of a session under a new id.
fn clone_session(w: &World, from: &str) -> String {
    let id = uuid::Uuid::new_v4().to_string();
    let dir = w.session_dir(&id);
    std::fs::create_dir_all(dir.join("turns")).unwrap();
    for e in std::fs::read_dir(w.session_dir(from).join("turns")).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), dir.join("turns").join(e.file_name())).unwrap();
    }
    let mut meta = w.meta(from);
    meta["id"] = json!(id);
    std::fs::write(
        dir.join("meta.json"),
        serde_json::to_vec_pretty(&meta).unwrap(),
    )
    .unwrap();
    id
}

/// Starts a session replaying `name`, exiting `exit`, and waits for it.
fn finished(w: &World, name: &str, exit: i32) -> String {
    let k = w.agent.calls() + 1;
    w.agent.turn(k, transcript(name)).exit(k, exit);
    let id = w.start(&["the task"]);
    w.wait(&id);
    id
}

/// Starts a codex session whose agent prints the start of a turn, then runs
/// until killed; returns once the agent runs.
fn start_hanging(w: &World) -> String {
    let k = w.agent.calls() + 1;
    w.agent.turn(k, transcript("codex_sigterm.jsonl")).hang(k);
    let id = w.start(&["the task"]);
    w.agent.wait_started(k, STARTED);
    id
}

fn supervisor_of(w: &World, id: &str) -> i32 {
    w.meta(id)["pid"].as_i64().expect("a supervisor pid") as i32
}

/// A `kill` that finds the supervisor gone stops the agent itself, and the
/// turn ends when it saw the agent go, not when its output last changed.
#[test]
fn a_kill_after_the_supervisor_died_records_when_it_stopped_the_agent() {
    let w = World::new();
    let _stop = w.stop_all_on_drop();
    let id = start_hanging(&w);
    let agent = w.meta(&id)["turns"][0]["agent"]["pid"].as_i64().unwrap() as i32;
    w.agent.wait_hanging(1, STARTED);
    let sup = supervisor_of(&w, &id);
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

/// SIGKILLs a session's supervisor and agent, as a crash or the OOM killer
/// would, and waits until both are gone.
fn kill_both(w: &World, id: &str) {
    let sup = supervisor_of(w, id);
    let agent = w.meta(id)["turns"][0]["agent"]["pid"].as_i64().unwrap() as i32;
    sigkill(sup);
    sigkill_group(agent);
    wait_dead(sup);
    wait_dead(agent);
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

/// A local time without offset, as `meta.json` holds them.
fn local_time_ago(ago: Duration) -> String {
    let t = chrono::Local::now().naive_local() - chrono::Duration::from_std(ago).unwrap();
    t.format("%Y-%m-%dT%H:%M:%S%.6f").to_string()
}

fn session_in<'a>(list: &'a Value, id: &str) -> &'a Value {
    list["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == id)
        .unwrap_or_else(|| panic!("{id} is not listed: {list}"))
}

// ------------------------------------------------------------ concurrency

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
    let _stop = w.stop_all_on_drop();
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

    // Every session is there, and nothing else.
    let ids: BTreeSet<String> = sessions.iter().map(|(id, _)| id.clone()).collect();
    assert_eq!(ids.len(), SESSIONS * ROUNDS);
    let store = Store::new(w.state.path());
    assert_eq!(
        store.ids().unwrap().into_iter().collect::<BTreeSet<_>>(),
        ids
    );

    // Each agent started exactly once per recorded turn, for its own session.
    let calls = agent.calls();
    let mut by_session: HashMap<&str, Vec<&support::fake::TaskCall>> = HashMap::new();
    for c in &calls {
        by_session.entry(c.session.as_str()).or_default().push(c);
    }
    for (id, quick) in &sessions {
        let bytes = std::fs::read(w.session_dir(id).join("meta.json")).unwrap();
        let meta = parse_meta(&bytes).unwrap_or_else(|e| panic!("{id}: {e}"));
        let raw: Value = serde_json::from_slice(&bytes).unwrap();
        let turns = raw["turns"].as_array().unwrap();
        let mine = by_session.get(id.as_str()).cloned().unwrap_or_default();
        let prompts: Vec<&str> = mine.iter().map(|c| c.prompt.as_str()).collect();
        if *quick {
            assert_eq!(meta.status.as_str(), "completed", "{id}: {raw}");
            assert_eq!(turns.len(), 2, "{id}: {raw}");
            assert!(turns.iter().all(|t| t["ending"] == "completed"), "{raw}");
            assert_eq!(prompts.len(), 2, "{id}: {prompts:?}");
            assert!(prompts[0].starts_with("quick ") && prompts[1] == "more please");
        } else {
            assert_eq!(meta.status.as_str(), "killed", "{id}: {raw}");
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

    assert_no_processes(&ids);
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
    let _stop = w.stop_all_on_drop();
    let id = finished(&w, "codex_first_turn.jsonl", 0);
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

// ---------------------------------------------------------------- crashes

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
    let _stop = w.stop_all_on_drop();
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
        let sup = supervisor_of(&w, &id);
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
    let _stop = w.stop_all_on_drop();
    w.agent.delay(0.07);
    let mut outcomes: BTreeMap<String, usize> = BTreeMap::new();
    for k in 1..=CRASHES {
        w.agent.turn(k, transcript("codex_first_turn.jsonl"));
        let id = w.start(&["the task"]);
        w.agent.wait_started(k, STARTED);
        let agent = w.agent.pid(k);
        let sup = supervisor_of(&w, &id);
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

        let completed = stream_completed(&w.session_dir(&id).join("turns/turn_1.jsonl"));
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
        let before = std::fs::read(w.session_dir(&id).join("meta.json")).unwrap();
        w.json(&["show", &id]);
        assert_eq!(
            std::fs::read(w.session_dir(&id).join("meta.json")).unwrap(),
            before
        );
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
    let _stop = w.stop_all_on_drop();
    let id = start_hanging(&w);
    kill_both(&w, &id);
    let boot = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").unwrap();
    assert_eq!(w.meta(&id)["turns"][0]["boot_id"], boot.trim());
    edit_meta(&w, &id, |m| {
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
        edit_meta(&w, id, |m| {
            reopen(m);
            m["pid"] = json!(pid);
            m["turns"][0]["supervisor"] = wrong.clone();
            m["turns"][0]["agent"] = wrong.clone();
        })
    };

    // Nothing holds the run lock: a read settles it as interrupted.
    let a = finished(&w, "codex_sigterm.jsonl", 143);
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
    let b = finished(&w, "codex_sigterm.jsonl", 143);
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
    let c = finished(&w, "codex_sigterm.jsonl", 143);
    let later = Command::new("sleep")
        .arg("600")
        .process_group(0)
        .spawn()
        .unwrap();
    let later_pid = later.id() as i32;
    edit_meta(&w, &c, |m| {
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
        edit_meta(&w, &c, |m| {
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
    edit_meta(&w, &c, |m| {
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
    let deadline = Instant::now() + STARTED;
    while !leads_its_session(leader.id()) {
        assert!(Instant::now() < deadline, "setsid never made its session");
        std::thread::sleep(Duration::from_millis(5));
    }
    edit_meta(&w, &c, |m| {
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

// ------------------------------------------------------------- atomicity

/// Set in the child that `meta_json_survives_writers_killed_at_random_moments`
/// runs: "<state dir>\n<session id>".
const WRITER_ENV: &str = "ZWARM_RELIABILITY_WRITER";
const WRITER_KILLS: usize = 40;

/// The writer the test below kills: returns at once unless it is that
/// test's child.
#[test]
fn writer_child() {
    let Ok(spec) = std::env::var(WRITER_ENV) else {
        return;
    };
    let (dir, id) = spec.split_once('\n').unwrap();
    let store = Store::new(dir);
    loop {
        store
            .update(id, |s| {
                let n = s.other.get("writes").and_then(Value::as_u64).unwrap_or(0) + 1;
                s.other.insert("writes".into(), json!(n));
                // A new length each write: a torn file could not pass for
                // a whole one.
                s.task = "w".repeat(task_len(n));
                Ok(())
            })
            .unwrap();
    }
}

fn task_len(writes: u64) -> usize {
    (writes * 7919 % 30_000) as usize
}

/// What a reader finds in `meta.json`: it parses, and its task fits its
/// write count. Returns the count.
#[track_caller]
fn whole_meta(path: &Path) -> u64 {
    let bytes = std::fs::read(path).unwrap();
    let s = parse_meta(&bytes).unwrap_or_else(|e| panic!("torn meta.json: {e}"));
    let n = s.other.get("writes").and_then(Value::as_u64).unwrap_or(0);
    if n > 0 {
        assert_eq!(s.task.len(), task_len(n), "write {n}");
    }
    n
}

/// A process looping on `Store::update` of one session is SIGKILLed at a
/// random moment, 40 times over; a reader polls meta.json meanwhile. Every
/// read parses, no lock stays held, and `doctor --fix` moves the temporary
/// files of interrupted writes aside.
#[test]
fn meta_json_survives_writers_killed_at_random_moments() {
    let t0 = Instant::now();
    let mut rng = Rng::new("killed writers");
    let w = World::new();
    let id = finished(&w, "codex_first_turn.jsonl", 0);
    let meta = w.session_dir(&id).join("meta.json");
    let exe = std::env::current_exe().unwrap();
    let (mut reads, mut last) = (0u64, 0u64);
    for _ in 0..WRITER_KILLS {
        let mut child = Command::new(&exe)
            .args(["--exact", "writer_child", "--nocapture", "--test-threads=1"])
            .env(WRITER_ENV, format!("{}\n{id}", w.state.path().display()))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Kills before its first write would prove nothing.
        let deadline = Instant::now() + Duration::from_secs(20);
        while whole_meta(&meta) == last {
            reads += 1;
            assert!(Instant::now() < deadline, "the writer never wrote");
            std::thread::sleep(Duration::from_micros(500));
        }
        let kill_at = Instant::now() + rng.millis(25);
        while Instant::now() < kill_at {
            whole_meta(&meta);
            reads += 1;
        }
        child.kill().unwrap();
        child.wait().unwrap();
        let n = whole_meta(&meta);
        assert!(n > last, "writes went backwards: {n} after {last}");
        last = n;
    }
    let held = locks_under(w.state.path());
    assert!(
        held.is_empty(),
        "locks held after the writers died: {held:?}"
    );
    assert_eq!(w.json(&["show", &id])["status"], "completed");

    let left = temp_files(&w.session_dir(&id));
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
    assert!(temp_files(&w.session_dir(&id)).is_empty());
    let quarantined = walk(&w.state.path().join("quarantine")).len();
    assert!(left.is_empty() || quarantined > left.len(), "{quarantined}");
    eprintln!(
        "atomicity: {WRITER_KILLS} writers SIGKILLed at random moments after {last} completed \
         writes; {reads} concurrent reads, every meta.json whole; {} temp files left, all \
         moved aside by doctor --fix; in {:.1}s",
        left.len(),
        t0.elapsed().as_secs_f64()
    );
}

/// A small file system for the store: a 1 MiB tmpfs mounted over it where
/// this process may mount, else nothing (the caller then caps file sizes
/// with RLIMIT_FSIZE instead, which fails writes with EFBIG as a full disk
/// fails them with ENOSPC).
struct SmallDisk {
    at: PathBuf,
}

impl SmallDisk {
    fn mount(at: &Path) -> Option<SmallDisk> {
        let c = |s: &str| std::ffi::CString::new(s).unwrap();
        let target = c(at.to_str()?);
        let rc = unsafe {
            libc::mount(
                c("tmpfs").as_ptr(),
                target.as_ptr(),
                c("tmpfs").as_ptr(),
                0,
                c("size=1m").as_ptr().cast(),
            )
        };
        (rc == 0).then(|| SmallDisk { at: at.into() })
    }

    /// Writes a filler file until the disk is full.
    fn fill(&self) {
        use std::io::Write;
        let mut f = std::fs::File::create(self.at.join("filler")).unwrap();
        let chunk = [0u8; 4096];
        while f.write_all(&chunk).is_ok() {}
        let mut byte = 0;
        while f.write_all(&chunk[..1]).is_ok() {
            byte += 1;
            assert!(byte < 8192);
        }
    }

    fn free(&self) {
        std::fs::remove_file(self.at.join("filler")).unwrap();
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let target = std::ffi::CString::new(self.at.to_str().unwrap()).unwrap();
        unsafe { libc::umount2(target.as_ptr(), libc::MNT_DETACH) };
    }
}

/// `meta.json` cannot be written for want of space: a reader shows the
/// session settled all the same (in memory, as in a read-only store), the
/// old `meta.json` is intact and no temporary file is left; once there is
/// room, the same command records the ending.
#[test]
fn a_full_disk_leaves_readers_showing_the_truth_and_keeps_the_old_meta() {
    let w = World::new();
    let _stop = w.stop_all_on_drop();
    let disk = SmallDisk::mount(w.state.path());
    let id = start_hanging(&w);
    kill_both(&w, &id);
    let meta = w.session_dir(&id).join("meta.json");
    let before = std::fs::read(&meta).unwrap();
    let limited = |args: &[&str]| {
        let mut cmd = w.cmd(args);
        if disk.is_none() {
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

// --------------------------------------------------------- hostile input

/// Every command a user might point at a session, read-only ones first.
fn poke(w: &World, id: &str) -> Vec<(String, Output)> {
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

/// Unreadable `meta.json` files: each is refused with one line naming it
/// (exit 1, with a `doctor` hint), `list` skips it with a warning and lists
/// the rest, and nothing in the store changes.
/// A running session whose meta.json was damaged is still running: doctor
/// names the damage but neither moves its folder nor stops its agent.
#[test]
fn doctor_fix_leaves_a_running_session_with_a_damaged_meta_alone() {
    let w = World::new();
    let id = start_hanging(&w);
    let sup = supervisor_of(&w, &id);
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

#[test]
fn unreadable_meta_files_are_named_and_left_alone() {
    let w = World::new();
    let good = finished(&w, "codex_first_turn.jsonl", 0);
    let text =
        String::from_utf8(std::fs::read(w.session_dir(&good).join("meta.json")).unwrap()).unwrap();
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
        let id = clone_session(&w, &good);
        let meta = w.session_dir(&id).join("meta.json");
        match bytes {
            Some(b) => std::fs::write(&meta, b).unwrap(),
            None => std::fs::remove_file(&meta).unwrap(),
        }
        bad.push((id, *what, *expected));
    }
    // A folder where meta.json should be.
    let dir_case = clone_session(&w, &good);
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
    let list = w.json(&["list"]);
    assert_eq!(list["sessions"].as_array().unwrap().len(), 1);
    assert_eq!(list["problems"].as_array().unwrap().len(), bad.len());
    expect(&w.run(&["doctor"]), 1);
    expect(&w.run(&["kill", "--all"]), 0);
    expect(&w.run(&["clean", "--older-than", "0s"]), 0);
    assert_same(
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
    let _stop = w.stop_all_on_drop();
    let good = finished(&w, "codex_first_turn.jsonl", 0);

    let unknown = clone_session(&w, &good);
    edit_meta(&w, &unknown, |m| m["status"] = json!("paused"));
    let sparse = clone_session(&w, &good);
    edit_meta(&w, &sparse, |m| {
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
    assert_same(&before, &snapshot(w.state.path()), "reading odd sessions");

    // Unknown keys survive a write: a stale running session is settled.
    let stale = start_hanging(&w);
    kill_both(&w, &stale);
    edit_meta(&w, &stale, |m| {
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
    edit_meta(&w, &copy, reopen);
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
    let list = w.json(&["list"]);
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
    let good = finished(&w, "codex_first_turn.jsonl", 0);
    let sessions = w.state.path().join("sessions");

    // Outside the store: a folder that looks like a session.
    let outside = support::agents::target_tempdir("outside-");
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
    assert_same(&before, &snapshot(w.state.path()), "path-like ids");
    assert_same(
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

/// A turn that replays `bytes` (and `stderr`, exit `exit`), waited for.
fn replayed(w: &World, bytes: &[u8], stderr: &[u8], exit: i32) -> String {
    let k = w.agent.calls() + 1;
    w.agent.turn(k, bytes).exit(k, exit);
    if !stderr.is_empty() {
        std::fs::write(
            w.agent.program().with_file_name(format!("stderr-{k}")),
            stderr,
        )
        .unwrap();
    }
    let id = w.start(&["the task"]);
    w.wait(&id);
    id
}

/// What the agent writes is hostile: bytes that are not UTF-8, a 50 MB
/// line, a torn last line, nothing at all; or the `turns/` folder goes.
/// Each session still settles to the status its stream supports, `show`,
/// `trajectory` and `output` work, and `output` gives back every byte.
#[test]
fn hostile_turn_files_settle_and_stay_readable() {
    let t0 = Instant::now();
    let w = World::new();
    let _stop = w.stop_all_on_drop();
    let first = transcript("codex_first_turn.jsonl");
    let lines: Vec<&str> = first.lines().collect();
    let with = |at: usize, extra: &[u8]| {
        let mut out = Vec::new();
        for (i, l) in lines.iter().enumerate() {
            if i == at {
                out.extend_from_slice(extra);
            }
            out.extend_from_slice(l.as_bytes());
            out.push(b'\n');
        }
        out
    };
    let mut tried = Vec::new();

    // Not UTF-8: a stray binary line, and a JSON line with a bad string.
    let bytes = with(
        5,
        b"\xff\xfe\x00 not json \xc3\x28\n{\"type\":\"item.completed\",\"item\":{\"id\":\"x\",\"type\":\"agent_message\",\"text\":\"caf\xe9\"}}\n",
    );
    let id = replayed(&w, &bytes, b"", 0);
    let m = w.meta(&id);
    assert_eq!(m["status"], "completed", "{m}");
    assert_eq!(m["turns"][0]["skipped_lines"], 2, "{m}");
    // Counted where both kinds of reader see it.
    let shown = w.json(&["show", &id]);
    assert_eq!(shown["turn_records"][0]["skipped_lines"], 2, "{shown}");
    let out = w.run(&["show", &id]);
    assert!(
        stdout(&out).contains(", 2 unreadable lines skipped"),
        "{}",
        stdout(&out)
    );
    let out = w.run(&["output", &id]);
    expect(&out, 0);
    assert_eq!(out.stdout, bytes, "output is not the agent's bytes");
    expect(&w.run(&["trajectory", &id]), 0);
    tried.push("non-UTF-8 lines");

    // Not UTF-8 on stderr of an agent that wrote nothing.
    let id = replayed(&w, b"", b"error: bad token \xff\xfe in config\n", 1);
    let m = w.meta(&id);
    assert_eq!(m["status"], "failed", "{m}");
    let err = m["error"].as_str().unwrap();
    assert!(
        err.starts_with("error: bad token \u{fffd}\u{fffd} in config"),
        "{err}"
    );
    tried.push("non-UTF-8 stderr");

    // A 50 MB single line: a command's output.
    let big = 50 * 1024 * 1024;
    let mut line = br#"{"type":"item.completed","item":{"id":"item_9","type":"command_execution","command":"cat big","aggregated_output":""#.to_vec();
    line.resize(line.len() + big, b'x');
    line.extend_from_slice(b"\",\"exit_code\":0,\"status\":\"completed\"}}\n");
    let bytes = with(5, &line);
    let t = Instant::now();
    let id = replayed(&w, &bytes, b"", 0);
    let settled = t.elapsed();
    let m = w.meta(&id);
    assert_eq!(m["status"], "completed", "{}", m["error"]);
    let meta_len = std::fs::metadata(w.session_dir(&id).join("meta.json"))
        .unwrap()
        .len();
    assert!(meta_len < 64 * 1024, "meta.json is {meta_len} bytes");
    let t = Instant::now();
    let out = w.run(&["trajectory", &id]);
    let traj = t.elapsed();
    expect(&out, 0);
    assert!(
        out.stdout.len() < 1024 * 1024,
        "trajectory printed {} bytes",
        out.stdout.len()
    );
    let out = w.run(&["output", &id]);
    expect(&out, 0);
    assert_eq!(out.stdout.len(), bytes.len());
    expect(&w.run(&["list"]), 0);
    tried.push("a 50 MB line");

    // A torn last line: the turn never finished.
    let torn = &first.as_bytes()[..first.len() - 40];
    let id = replayed(&w, torn, b"", 0);
    let m = w.meta(&id);
    assert_eq!(m["status"], "failed", "{m}");
    assert_eq!(m["turns"][0]["ending"], "interrupted");
    assert_eq!(m["turns"][0]["skipped_lines"], 1);
    assert_eq!(w.run(&["output", &id]).stdout, torn);
    tried.push("a torn last line");

    // Nothing at all, exit 0.
    let id = replayed(&w, b"", b"", 0);
    let m = w.meta(&id);
    assert_eq!(m["status"], "failed", "{m}");
    assert_eq!(
        m["error"],
        "the agent exited with code 0 without any output"
    );
    let shown = w.run(&["trajectory", &id]);
    expect(&shown, 0);
    tried.push("empty output");

    // A finished turn's file emptied afterwards: what was recorded stays.
    let id = replayed(&w, first.as_bytes(), b"", 0);
    std::fs::write(w.session_dir(&id).join("turns/turn_1.jsonl"), b"").unwrap();
    let before = snapshot(w.state.path());
    assert_eq!(w.json(&["show", &id])["status"], "completed");
    expect(&w.run(&["trajectory", &id]), 0);
    assert_eq!(w.run(&["output", &id]).stdout, b"");
    assert_same(
        &before,
        &snapshot(w.state.path()),
        "reading an emptied turn",
    );
    tried.push("an emptied turn file");

    // The turns/ folder gone, from a finished session and from one whose
    // supervisor and agent then died.
    let done = replayed(&w, first.as_bytes(), b"", 0);
    std::fs::remove_dir_all(w.session_dir(&done).join("turns")).unwrap();
    let before = snapshot(w.state.path());
    assert_eq!(w.json(&["show", &done])["status"], "completed");
    // What the turn did is gone: said so, never shown as an empty turn.
    for cmd in ["trajectory", "output"] {
        let out = w.run(&[cmd, &done]);
        expect(&out, 1);
        assert!(out.stdout.is_empty(), "{cmd}");
        assert!(
            error_of(&out).starts_with(&format!("turn 1 of session {done} has no output file")),
            "{cmd}: {}",
            error_of(&out)
        );
    }
    let out = w.run(&["doctor"]);
    expect(&out, 1);
    assert!(
        stdout(&out).contains(&format!(
            "{}  missing_turn_file: turn 1 has no output file (turns/turn_1.jsonl)",
            &done[..8]
        )),
        "{}",
        stdout(&out)
    );
    assert_same(&before, &snapshot(w.state.path()), "reading without turns/");
    let running = start_hanging(&w);
    std::fs::remove_dir_all(w.session_dir(&running).join("turns")).unwrap();
    kill_both(&w, &running);
    let shown = w.json(&["show", &running]);
    assert_eq!(shown["status"], "failed", "{shown}");
    assert_eq!(shown["ending"], "interrupted");
    expect(&w.run(&["list"]), 0);
    tried.push("a missing turns/ folder");

    eprintln!(
        "hostile: {} turn-file cases ({}) settled truthfully and stayed readable; the 50 MB \
         line settled in {:.1}s and its trajectory took {:.1}s; in {:.1}s",
        tried.len(),
        tried.join(", "),
        settled.as_secs_f64(),
        traj.as_secs_f64(),
        t0.elapsed().as_secs_f64()
    );
}

// ----------------------------------------------------------------- doctor

/// `sleep 600` in its own process group, with `env` added.
fn sleeper(env: &[(&str, &str)]) -> std::process::Child {
    let mut cmd = Command::new("sleep");
    cmd.arg("600").process_group(0);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.spawn().unwrap()
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
    let _stop = w.stop_all_on_drop();
    let other = World::new();
    let _stop_other = other.stop_all_on_drop();
    let root = w.state.path().canonicalize().unwrap();
    let healthy = finished(&w, "codex_first_turn.jsonl", 0);
    let running = start_hanging(&w);
    let running_agent = w.agent.pid(w.agent.calls());
    let stale = start_hanging(&w);
    kill_both(&w, &stale);
    let locked = start_hanging(&w);
    kill_both(&w, &locked);
    let never = clone_session(&w, &healthy);
    edit_meta(&w, &never, |m| {
        let old = local_time_ago(Duration::from_secs(120));
        m["status"] = json!("pending");
        m["pid"] = Value::Null;
        m["created_at"] = json!(old);
        m["turns"] = json!([{"turn": 1, "started_at": old}]);
    });
    let unparsable = clone_session(&w, &healthy);
    std::fs::write(w.session_dir(&unparsable).join("meta.json"), b"{\"id\": ").unwrap();
    let no_meta = clone_session(&w, &healthy);
    std::fs::remove_file(w.session_dir(&no_meta).join("meta.json")).unwrap();
    // Older than a session being created.
    std::fs::File::open(w.session_dir(&no_meta))
        .unwrap()
        .set_modified(SystemTime::now() - Duration::from_secs(60))
        .unwrap();
    let no_turn = clone_session(&w, &healthy);
    std::fs::remove_file(w.session_dir(&no_turn).join("turns/turn_1.jsonl")).unwrap();
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
    let theirs = start_hanging(&other);
    let theirs_agent = other.agent.pid(1);
    let other_root = other.state.path().canonicalize().unwrap();
    let their_stray = sleeper(&[
        ("ZWARM_SESSION_ID", &uuid::Uuid::new_v4().to_string()),
        ("ZWARM_SESSION_STORE", other_root.to_str().unwrap()),
    ]);
    // A lock held by a process that is not the session's supervisor.
    let lock = std::fs::File::open(w.session_dir(&locked).join("run.lock")).unwrap();
    let held = nix::fcntl::Flock::lock(lock, nix::fcntl::FlockArg::LockExclusive).unwrap();
    let quarantined: Vec<(PathBuf, BTreeMap<PathBuf, u64>)> = [&unparsable, &no_meta]
        .iter()
        .map(|id| (w.session_dir(id), snapshot(&w.session_dir(id))))
        .collect();

    // Report only.
    let before = snapshot(w.state.path());
    let out = w.run(&["doctor"]);
    expect(&out, 1);
    let report = stdout(&out);
    assert!(
        stderr(&out).contains("10 problem(s) found; `zwarm doctor --fix` repairs what it can"),
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
    ] {
        assert!(report.contains(&needle), "missing {needle:?} in\n{report}");
    }
    assert_same(&before, &snapshot(w.state.path()), "doctor without --fix");
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
    ] {
        assert!(report.contains(&needle), "missing {needle:?} in\n{report}");
    }
    assert!(
        stderr(&out).contains("10 problem(s) found, 9 fixed"),
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
        let now: BTreeMap<PathBuf, u64> = snapshot(&moved)
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
    let out = w.run(&["doctor"]);
    expect(&out, 0);
    assert_eq!(stdout(&out), "");
    assert!(
        stderr(&out).contains("no problems found"),
        "{}",
        stderr(&out)
    );
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
