//! `watch` follows a turn live: steps are shown while the agent is still
//! writing them, and the exit status says how the turn ended.

use crate::support::contract::{watch_line, Ending, Status, WatchLine};
use crate::support::fake::transcript;
use crate::support::live::{Live, LONG};
use crate::support::output::stdout;
use crate::support::poll::eventually;
use crate::support::world::World;
use std::path::Path;
use std::time::{Duration, Instant};

fn lines_in(path: &Path) -> usize {
    std::fs::read_to_string(path)
        .map(|t| t.lines().count())
        .unwrap_or(0)
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
    let written = lines_in(&w.turn_file(&id, 1));
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
        lines_in(&w.turn_file(&id, 1)) < total,
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
    eventually(LONG, "the fake agent to write 5 lines", || {
        lines_in(&w.turn_file(&killed, 1)) >= 5
    });
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
    let text = stdout(&out);
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
