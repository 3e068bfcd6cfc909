//! `wait` blocks until turns end: all of them or `--any`, with a timeout,
//! exiting 4 when one failed; it wakes within 50 ms of the end and uses no
//! CPU while it waits.

use crate::support::contract::{decode, Ending, Status, WaitDoc};
use crate::support::fake::transcript;
use crate::support::live::{Live, LONG};
use crate::support::output::{has, ANY};
use crate::support::world::World;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::process::Stdio;
use std::time::{Duration, Instant};

fn kill_agent(w: &World, k: usize) {
    kill(Pid::from_raw(w.agent.pid(k)), Signal::SIGKILL).expect("kill the fake agent");
}

/// `utime + stime` of a process, in clock ticks.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("read stat");
    let after_name = &stat[stat.rfind(')').expect("comm") + 2..];
    let fields: Vec<&str> = after_name.split(' ').collect();
    // Fields 14 and 15 of stat(5); the slice starts at field 3.
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

/// Two sessions, `a` and `b`, whose agents hang (their turns complete
/// once killed) and have both started.
fn two_hanging_sessions(w: &World) -> (String, String) {
    w.agent
        .every_turn(&transcript("codex_first_turn.jsonl"))
        .hang(1)
        .hang(2);
    let a = w.start(&["a"]);
    let b = w.start(&["b"]);
    w.agent.wait_started(2, LONG);
    (a, b)
}

#[test]
fn wait_for_all_returns_when_the_last_one_ends() {
    let w = World::new();
    let (a, b) = two_hanging_sessions(&w);
    let mut wait = Live::spawn(&w, &["--json", "wait", &a, &b]);
    std::thread::sleep(Duration::from_millis(200));
    assert!(wait.still_running());
    kill_agent(&w, 1);
    std::thread::sleep(Duration::from_millis(300));
    assert!(wait.still_running(), "b still runs");
    kill_agent(&w, 2);
    let (code, _, rest) = wait.finish();
    assert_eq!(code, 0, "both completed (their streams say so)");
    let text: String = rest.into_iter().map(|(_, l)| l + "\n").collect();
    let doc: WaitDoc = decode("wait --json", &text);
    assert!(!doc.timed_out);
    let got: Vec<(&str, Status)> = doc
        .sessions
        .iter()
        .map(|s| (s.id.as_str(), s.status))
        .collect();
    assert_eq!(
        got,
        [
            (a.as_str(), Status::Completed),
            (b.as_str(), Status::Completed)
        ]
    );
}

#[test]
fn wait_any_returns_when_the_first_one_ends() {
    let w = World::new();
    let (a, b) = two_hanging_sessions(&w);
    let mut wait = Live::spawn(&w, &["--json", "wait", "--any", &a, &b]);
    std::thread::sleep(Duration::from_millis(200));
    assert!(wait.still_running());
    let t = Instant::now();
    kill_agent(&w, 2);
    let (code, ended, rest) = wait.finish();
    assert_eq!(code, 0);
    assert!(ended.duration_since(t) < Duration::from_secs(1));
    let text: String = rest.into_iter().map(|(_, l)| l + "\n").collect();
    let doc: WaitDoc = decode("wait --any --json", &text);
    let got: Vec<Status> = doc.sessions.iter().map(|s| s.status).collect();
    assert_eq!(got, [Status::Running, Status::Completed], "a still runs");
}

#[test]
fn wait_timeout_exits_124() {
    let w = World::new();
    w.agent
        .every_turn(&transcript("codex_first_turn.jsonl"))
        .hang(1);
    let id = w.start(&["hangs"]);
    let t = Instant::now();
    let (code, out) = w.json_any(&["wait", "--timeout", "300ms", &id]);
    let took = t.elapsed();
    assert_eq!(code, 124);
    assert!(took >= Duration::from_millis(300), "{took:?}");
    assert!(
        took < Duration::from_secs(5),
        "{took:?}: the agent hangs for 600 s"
    );
    let doc: WaitDoc = decode("wait --timeout --json", &out);
    assert!(doc.timed_out);
    assert_eq!(doc.sessions[0].status, Status::Running);

    w.run(&["wait", "--timeout", "0.1s", &id])
        .expect(124, ANY, has("timed out"));
}

#[test]
fn wait_exits_4_when_a_turn_failed_or_was_killed() {
    let w = World::new();
    w.agent
        .turn(1, transcript("codex_first_turn.jsonl"))
        .turn(2, transcript("codex_failed.jsonl"))
        .hang(2);
    let ok = w.start(&["ok"]);
    let failing = w.start(&["fails"]);
    w.agent.wait_started(2, LONG);
    let wait = Live::spawn(&w, &["--json", "wait", &ok, &failing]);
    std::thread::sleep(Duration::from_millis(200));
    kill_agent(&w, 2);
    let (code, _, rest) = wait.finish();
    assert_eq!(code, 4, "one failed");
    let text: String = rest.into_iter().map(|(_, l)| l + "\n").collect();
    let doc: WaitDoc = decode("wait --json", &text);
    let got: Vec<(Status, Option<Ending>)> =
        doc.sessions.iter().map(|s| (s.status, s.ending)).collect();
    assert_eq!(
        got,
        [
            (Status::Completed, Some(Ending::Completed)),
            (Status::Failed, Some(Ending::Failed))
        ]
    );
    assert!(doc.sessions[1].error.is_some());

    w.agent.hang(3).turn(3, "");
    let killed = w.start(&["killed"]);
    w.agent.wait_started(3, LONG);
    let wait = Live::spawn(&w, &["wait", &killed]);
    std::thread::sleep(Duration::from_millis(200));
    w.ok(&["kill", &killed]);
    let (code, _, rest) = wait.finish();
    assert_eq!(code, 4);
    assert!(rest[0].1.contains("killed"), "{rest:?}");
}

/// Wake-up latency: from the instant the agent dies to the instant `wait`
/// has exited, over several runs.
#[test]
fn wait_wakes_within_50ms_of_the_end() {
    let w = World::new();
    w.agent.every_turn(&transcript("codex_first_turn.jsonl"));
    const RUNS: usize = 9;
    let mut ms = Vec::with_capacity(RUNS);
    for k in 1..=RUNS {
        w.agent.hang(k);
        let id = w.start(&["hangs"]);
        w.agent.wait_started(k, LONG);
        let mut wait = w
            .cmd(&["wait", &id])
            .stdout(Stdio::null())
            .spawn()
            .expect("spawn wait");
        std::thread::sleep(Duration::from_millis(150));
        assert!(wait.try_wait().unwrap().is_none(), "wait blocks");
        let t = Instant::now();
        kill_agent(&w, k);
        let status = wait.wait().expect("wait for zwarm wait");
        ms.push(t.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(status.code(), Some(0));
    }
    let mut sorted = ms.clone();
    sorted.sort_by(f64::total_cmp);
    let median = sorted[RUNS / 2];
    eprintln!(
        "wait wake-up latency (ms), {RUNS} runs: {:?}; median {median:.1}, min {:.1}, max {:.1}",
        ms.iter()
            .map(|m| (m * 10.0).round() / 10.0)
            .collect::<Vec<_>>(),
        sorted[0],
        sorted[RUNS - 1]
    );
    assert!(median < 50.0, "median wake-up {median:.1} ms: {ms:?}");
}

#[test]
fn wait_uses_no_cpu_while_blocked() {
    let w = World::new();
    let (a, b) = two_hanging_sessions(&w);
    let mut wait = w
        .cmd(&["wait", &a, &b])
        .stdout(Stdio::null())
        .spawn()
        .expect("spawn wait");
    std::thread::sleep(Duration::from_millis(300));
    let before = cpu_ticks(wait.id());
    std::thread::sleep(Duration::from_secs(1));
    let after = cpu_ticks(wait.id());
    eprintln!("wait used {} clock ticks of CPU in 1 s", after - before);
    assert!(after - before <= 1, "{before} -> {after} ticks in 1 s");
    assert!(wait.try_wait().unwrap().is_none());
    kill_agent(&w, 1);
    kill_agent(&w, 2);
    assert_eq!(wait.wait().unwrap().code(), Some(0));
}
