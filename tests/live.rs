//! `watch` and `wait` against turns that are still running: a fake agent that
//! writes slowly or hangs until the test ends it, stdout read line by line as
//! it arrives, and the exit statuses. Also `completions`.

mod contract;
mod support;

use contract::{decode, watch_line, Ending, Status, WaitDoc, WatchLine};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use support::fake::{transcript, World};

const LONG: Duration = Duration::from_secs(20);

/// A zwarm command running in the background, its stdout delivered line by
/// line with the instant each line arrived.
struct Live {
    child: Child,
    lines: mpsc::Receiver<(Instant, String)>,
    started: Instant,
}

impl Live {
    fn spawn(w: &World, args: &[&str]) -> Live {
        let mut child = w
            .cmd(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn zwarm");
        let started = Instant::now();
        let out = child.stdout.take().expect("piped stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                if tx.send((Instant::now(), line)).is_err() {
                    break;
                }
            }
        });
        Live {
            child,
            lines,
            started,
        }
    }

    /// The next line, waiting for it.
    fn next(&self) -> (Instant, String) {
        self.lines
            .recv_timeout(LONG)
            .expect("a line within the time limit")
    }

    fn still_running(&mut self) -> bool {
        self.child.try_wait().expect("try_wait").is_none()
    }

    /// Waits for exit: the code, when it exited, and the lines not yet taken.
    fn finish(mut self) -> (i32, Instant, Vec<(Instant, String)>) {
        let deadline = Instant::now() + LONG;
        let status = loop {
            if let Some(s) = self.child.try_wait().expect("try_wait") {
                break s;
            }
            assert!(Instant::now() < deadline, "zwarm did not exit");
            std::thread::sleep(Duration::from_millis(5));
        };
        let ended = Instant::now();
        let rest = self.lines.iter().collect();
        (status.code().expect("exited by a signal"), ended, rest)
    }
}

fn turn_file(w: &World, id: &str, turn: u32) -> PathBuf {
    w.session_dir(id).join(format!("turns/turn_{turn}.jsonl"))
}

fn lines_in(path: &PathBuf) -> usize {
    std::fs::read_to_string(path)
        .map(|t| t.lines().count())
        .unwrap_or(0)
}

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
fn watch_prints_steps_while_the_turn_is_still_being_written() {
    let w = World::new();
    let full = transcript("codex_first_turn.jsonl");
    let total = full.lines().count();
    w.agent.every_turn(&full).delay(0.3);
    let id = w.start(&["slow"]);
    let watch = Live::spawn(&w, &["watch", &id]);

    let (_, header) = watch.next();
    assert_eq!(header, "── turn 1 ──");
    let (first_at, first) = watch.next();
    assert!(first.starts_with("warning: Model metadata"), "{first}");
    let written = lines_in(&turn_file(&w, &id, 1));
    assert!(
        written < total,
        "the first step must show while the agent is still writing ({written} of {total} lines)"
    );
    assert_eq!(w.meta(&id)["status"], "running");
    let (cmd_at, cmd) = watch.next();
    assert!(
        cmd.starts_with("$ /bin/bash -lc 'echo hello-from-mock'"),
        "{cmd}"
    );

    let started = watch.started;
    let (code, ended, rest) = watch.finish();
    assert_eq!(code, 0);
    let rest: Vec<&str> = rest.iter().map(|(_, l)| l.as_str()).collect();
    assert_eq!(
        rest,
        [
            "    hello-from-mock",
            "agent: All done: mock says hi.",
            "── turn 1 completed ──"
        ]
    );
    eprintln!(
        "first step after {:?}, command after {:?}, exit after {:?}",
        first_at.duration_since(started),
        cmd_at.duration_since(first_at),
        ended.duration_since(first_at)
    );
    assert!(
        ended.duration_since(first_at) >= Duration::from_millis(900),
        "the first step came well before the end"
    );
}

#[test]
fn watch_json_streams_one_step_per_line_as_they_are_written() {
    let w = World::new();
    let full = transcript("codex_rich.jsonl");
    let total = full.lines().count();
    w.agent.every_turn(&full).delay(0.1);
    let id = w.start(&["slow"]);
    let watch = Live::spawn(&w, &["--json", "watch", &id]);

    let (first_at, first) = watch.next();
    assert!(matches!(watch_line(&first), WatchLine::Step(_)), "{first}");
    assert!(
        lines_in(&turn_file(&w, &id, 1)) < total,
        "seen while being written"
    );
    let (code, ended, rest) = watch.finish();
    assert_eq!(code, 0);
    let mut lines: Vec<(Instant, WatchLine)> = vec![(first_at, watch_line(&first))];
    lines.extend(rest.iter().map(|(t, l)| (*t, watch_line(l))));
    let (last_at, WatchLine::End(end)) = lines.pop().unwrap() else {
        panic!("the last line is the end line")
    };
    assert_eq!(
        (end.status, end.ending, end.turn),
        (Status::Completed, Ending::Completed, 1)
    );
    assert_eq!(end.session, id);
    assert!(lines.iter().all(|(_, l)| matches!(l, WatchLine::Step(_))));
    assert!(lines.len() >= 6, "every step on a line of its own");
    let spread = lines.last().unwrap().0.duration_since(first_at);
    assert!(
        spread >= Duration::from_millis(500),
        "steps arrive as written, not all at the end (spread {spread:?})"
    );
    assert!(last_at <= ended);
}

#[test]
fn watch_exit_status_says_how_the_turn_ended() {
    let w = World::new();
    let _stop = w.stop_all_on_drop();
    w.agent
        .turn(1, transcript("codex_failed.jsonl"))
        .exit(1, 1)
        .delay(0.15);
    let failed = w.start(&["fails"]);
    let watch = Live::spawn(&w, &["watch", &failed]);
    let (code, _, rest) = watch.finish();
    let last = &rest.last().unwrap().1;
    assert_eq!(code, 4, "{rest:?}");
    assert!(last.starts_with("── turn 1 failed ──"), "{last}");

    let full = transcript("codex_first_turn.jsonl");
    let unfinished: String = full.lines().take(5).map(|l| format!("{l}\n")).collect();
    w.agent.turn(2, unfinished).hang(2);
    let killed = w.start(&["hangs"]);
    // Everything is written before watch starts: it shows what is there.
    let deadline = Instant::now() + LONG;
    while lines_in(&turn_file(&w, &killed, 1)) < 5 {
        assert!(Instant::now() < deadline, "the fake agent never wrote");
        std::thread::sleep(Duration::from_millis(10));
    }
    let mut watch = Live::spawn(&w, &["--json", "watch", &killed]);
    let names: Vec<&str> = (0..2)
        .map(|_| match watch_line(&watch.next().1) {
            WatchLine::Step(s) => s.name(),
            WatchLine::End(e) => panic!("ended early: {e:?}"),
        })
        .collect();
    assert_eq!(names, ["warning", "command"]);
    std::thread::sleep(Duration::from_millis(300));
    assert!(watch.still_running(), "the turn hangs, so watch goes on");
    w.ok(&["kill", &killed]);
    let (code, _, rest) = watch.finish();
    assert_eq!(code, 4);
    let WatchLine::End(end) = watch_line(&rest.last().unwrap().1) else {
        panic!("ends with the end line: {rest:?}")
    };
    assert_eq!((end.status, end.ending), (Status::Killed, Ending::Killed));
}

#[test]
fn watch_of_a_finished_session_prints_its_last_turn_and_exits_at_once() {
    let w = World::new();
    w.agent
        .turn(1, transcript("codex_first_turn.jsonl"))
        .turn(2, transcript("codex_resume.jsonl"));
    let id = w.start(&["first"]);
    assert_eq!(w.wait(&id), 0);
    w.ok(&["inject", &id, "second"]);
    assert_eq!(w.wait(&id), 0);
    let t = Instant::now();
    let out = w.run(&["watch", &id]);
    let took = t.elapsed();
    assert_eq!(out.status.code(), Some(0));
    let text = support::fake::stdout(&out);
    assert!(text.starts_with("── turn 2 ──\n"), "{text}");
    assert!(!text.contains("turn 1"), "only the last turn: {text}");
    assert!(
        !text.contains("hello-from-mock"),
        "turn 1's command: {text}"
    );
    assert!(text.ends_with("── turn 2 completed ──\n"), "{text}");
    assert!(
        took < Duration::from_secs(5),
        "took {took:?}: watch of a finished turn must not follow it"
    );
}

#[test]
fn wait_for_all_returns_when_the_last_one_ends() {
    let w = World::new();
    let _stop = w.stop_all_on_drop();
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
    let _stop = w.stop_all_on_drop();
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
    let _stop = w.stop_all_on_drop();
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

    let out = w.run(&["wait", "--timeout", "0.1s", &id]);
    assert_eq!(out.status.code(), Some(124));
    assert!(support::fake::stderr(&out).contains("timed out"));
}

#[test]
fn wait_exits_4_when_a_turn_failed_or_was_killed() {
    let w = World::new();
    let _stop = w.stop_all_on_drop();
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
    let _stop = w.stop_all_on_drop();
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
    let _stop = w.stop_all_on_drop();
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

#[test]
fn completions_for_bash_zsh_and_fish() {
    let w = World::new();
    for (shell, marker) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef zwarm"),
        ("fish", "complete -c zwarm"),
    ] {
        let script = w.ok(&["completions", shell]);
        assert!(script.contains(marker), "{shell}: {marker}");
        for sub in [
            "start",
            "list",
            "show",
            "inject",
            "kill",
            "rm",
            "trajectory",
            "watch",
            "wait",
            "clean",
            "completions",
        ] {
            assert!(script.contains(sub), "{shell} completes `{sub}`");
        }
        assert!(
            !script.contains("__supervise"),
            "{shell}: the internal command is not offered"
        );
        if shell == "bash" {
            let path = w.work.path().join("zwarm.bash");
            std::fs::write(&path, &script).unwrap();
            let check = std::process::Command::new("bash")
                .arg("-n")
                .arg(&path)
                .output()
                .expect("run bash -n");
            assert!(
                check.status.success(),
                "bash -n: {}",
                String::from_utf8_lossy(&check.stderr)
            );
        }
    }
    let out = w.run(&["completions", "tcsh-ish"]);
    assert_eq!(out.status.code(), Some(2));
}
