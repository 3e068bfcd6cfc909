//! The queue: `--max-running N` (per `--group`), `--after`. Sessions wait
//! pending with their supervisors asleep, start in the order they were
//! queued, never more than N at once, and let go of their places when they
//! end, die or are killed.

use crate::support::fake::transcript;
use crate::support::gated::GatedAgent;
use crate::support::output::{has, ANY, EMPTY};
use crate::support::poll::eventually;
use crate::support::world::{short, World};
use serde_json::Value;
use std::time::Duration;

struct Queue {
    w: World,
    agent: GatedAgent,
}

impl Queue {
    fn new() -> Queue {
        Queue {
            w: World::new(),
            agent: GatedAgent::new(&transcript("codex_first_turn.jsonl")),
        }
    }

    /// `zwarm start <args> <task>` with the gated agent; the id.
    #[track_caller]
    fn start(&self, args: &[&str]) -> String {
        let mut all = vec!["start"];
        all.extend_from_slice(args);
        let out = self
            .w
            .cmd_with(&self.agent.program(), &all)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    #[track_caller]
    fn run(&self, args: &[&str]) -> std::process::Output {
        self.w
            .cmd_with(&self.agent.program(), args)
            .output()
            .unwrap()
    }

    fn show(&self, id: &str) -> Value {
        self.w.json(&["show", id])
    }

    fn status(&self, id: &str) -> String {
        self.show(id)["status"].as_str().unwrap().to_string()
    }
}

#[test]
fn sessions_start_in_the_order_they_were_queued_and_never_more_than_the_limit() {
    let q = Queue::new();
    let ids: Vec<String> = (1..=6)
        .map(|i| q.start(&["--max-running", "2", &format!("task {i}")]))
        .collect();
    q.agent.wait_starts(2);
    assert_eq!(q.agent.started(), ids[..2]);
    // The rest are pending, each with its place in line.
    let list = q.w.json(&["list"]);
    for (n, id) in ids[2..].iter().enumerate() {
        let s = list["sessions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["id"] == **id)
            .unwrap();
        assert_eq!(s["status"], "pending");
        assert_eq!(s["queue"]["position"], n + 1, "{s}");
        assert_eq!(s["queue"]["max_running"], 2);
        assert_eq!(s["queue"]["group"], "default");
    }
    q.w.run(&["show", &ids[5]])
        .expect(0, has("#4 in line (2 of at most 2 running)"), EMPTY);
    q.w.run(&["list"]).expect(0, has("pending #1"), EMPTY);
    // Ended out of order, the slots go to the queue in its order.
    q.agent.release(&ids[1], 0);
    q.agent.wait_starts(3);
    q.agent.release(&ids[0], 0);
    q.agent.wait_starts(4);
    // One slot at a time: two freed at once go to the next two in line,
    // whose agents may then log their starts in either order.
    q.agent.release(&ids[2], 0);
    q.agent.wait_starts(5);
    q.agent.release(&ids[3], 0);
    q.agent.wait_starts(6);
    for id in &ids[4..] {
        q.agent.release(id, 0);
    }
    for id in &ids {
        assert_eq!(q.w.wait(id), 0, "{}", q.show(id));
    }
    assert_eq!(q.agent.started(), ids);
    assert_eq!(q.agent.most_at_once(), 2, "{:?}", q.agent.log());
    // Its supervisor started its agent when its slot came: the turn's
    // start is then, its time in line is kept apart.
    let last = q.show(&ids[5]);
    assert!(q.w.meta(&ids[5])["turns"][0]["queue"]["queued_at"].is_string());
    assert_eq!(last["ending"], "completed");
}

#[test]
fn sessions_started_and_ended_at_once_never_run_more_than_the_limit() {
    let q = Queue::new();
    q.agent.auto_release(0.15);
    let ids: Vec<String> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..12)
            .map(|i| {
                let q = &q;
                scope.spawn(move || q.start(&["--max-running", "3", &format!("t{i}")]))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for id in &ids {
        assert_eq!(q.w.wait(id), 0, "{}", q.show(id));
    }
    assert_eq!(q.agent.starts(), 12);
    let most = q.agent.most_at_once();
    assert!(
        (2..=3).contains(&most),
        "{most} at once: {:?}",
        q.agent.log()
    );
}

#[test]
fn groups_are_counted_apart() {
    let q = Queue::new();
    let a = q.start(&["--max-running", "1", "--group", "db", "a"]);
    let b = q.start(&["--max-running", "1", "--group", "web", "b"]);
    let c = q.start(&["--max-running", "1", "--group", "db", "c"]);
    q.agent.wait_starts(2);
    assert_eq!(q.status(&c), "pending");
    assert_eq!(q.show(&c)["queue"]["group"], "db");
    q.w.run(&["show", &c]).expect(0, has("of group db"), EMPTY);
    q.agent.release(&a, 0);
    q.agent.wait_starts(3);
    q.agent.release(&b, 0);
    q.agent.release(&c, 0);
    for id in [&a, &b, &c] {
        assert_eq!(q.w.wait(id), 0);
    }
}

#[test]
fn a_crashed_running_supervisor_frees_its_slot() {
    let q = Queue::new();
    let a = q.start(&["--max-running", "1", "a"]);
    let b = q.start(&["--max-running", "1", "b"]);
    q.agent.wait_starts(1);
    assert_eq!(q.status(&b), "pending");
    q.w.crash(&a);
    q.agent.wait_starts(2);
    assert_eq!(q.agent.started(), [a.clone(), b.clone()]);
    q.agent.release(&b, 0);
    assert_eq!(q.w.wait(&b), 0);
    assert_eq!(q.status(&a), "failed");
}

#[test]
fn a_pending_session_killed_leaves_the_line_and_kill_all_takes_the_pending_too() {
    let q = Queue::new();
    let a = q.start(&["--max-running", "1", "a"]);
    let b = q.start(&["--max-running", "1", "b"]);
    let c = q.start(&["--max-running", "1", "c"]);
    q.agent.wait_starts(1);
    assert_eq!(q.show(&c)["queue"]["position"], 2);
    q.w.run(&["kill", &b]).expect(0, has("killed"), EMPTY);
    let killed = q.show(&b);
    assert_eq!(killed["status"], "killed");
    assert_eq!(killed["ending"], "killed");
    assert_eq!(q.show(&c)["queue"]["position"], 1);
    // `wait` on a pending session waits for it.
    let d = q.start(&["--max-running", "1", "d"]);
    q.agent.release(&a, 0);
    q.agent.wait_starts(2);
    assert_eq!(q.agent.started(), [a.clone(), c.clone()]);
    assert_eq!(q.status(&d), "pending");
    q.w.run(&["kill", "--all"]).expect(0, ANY, EMPTY);
    for id in [&c, &d] {
        assert_eq!(q.status(id), "killed", "{}", q.show(id));
    }
    assert_eq!(q.agent.starts(), 2, "the killed pending session never ran");
    // Nothing is left in line or running.
    let doc = q.w.json(&["doctor"]);
    assert_eq!(doc["problems"], serde_json::json!([]), "{doc}");
}

#[test]
fn wait_blocks_on_a_pending_session_until_it_ends() {
    let q = Queue::new();
    let a = q.start(&["--max-running", "1", "a"]);
    let b = q.start(&["--max-running", "1", "b"]);
    q.agent.wait_starts(1);
    let waiter =
        q.w.cmd(&["wait", "--timeout", "30s", &b])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    q.agent.release(&a, 0);
    q.agent.wait_starts(2);
    q.agent.release(&b, 0);
    let out = waiter.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(q.status(&b), "completed");
}

#[test]
fn a_session_after_others_starts_once_they_completed() {
    let q = Queue::new();
    let a = q.start(&["a"]);
    let b = q.start(&["b"]);
    let c = q.start(&["--after", &format!("{},{}", short(&a), short(&b)), "c"]);
    q.agent.wait_starts(2);
    let shown = q.show(&c);
    assert_eq!(shown["status"], "pending");
    assert_eq!(shown["queue"]["after"], serde_json::json!([a, b]));
    q.w.run(&["list"])
        .expect(0, has(&format!("after {}", short(&a))), EMPTY);
    q.agent.release(&a, 0);
    assert_eq!(q.w.wait(&a), 0);
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(q.agent.starts(), 2, "c started before b ended");
    q.agent.release(&b, 0);
    q.agent.wait_starts(3);
    q.agent.release(&c, 0);
    assert_eq!(q.w.wait(&c), 0);
}

#[test]
fn a_failed_dependency_fails_the_chain_without_running_it() {
    let q = Queue::new();
    let a = q.start(&["a"]);
    let b = q.start(&["--after", &a, "b"]);
    let c = q.start(&["--after", &b, "c"]);
    q.agent.wait_starts(1);
    q.agent.release(&a, 1);
    assert_eq!(q.w.wait(&c), 4);
    for (id, dep) in [(&b, &a), (&c, &b)] {
        let s = q.show(id);
        assert_eq!(s["status"], "failed");
        assert_eq!(s["ending"], "dependency_failed");
        assert!(
            s["error"]
                .as_str()
                .unwrap()
                .starts_with(&format!("dependency {} ended failed", short(dep))),
            "{s}"
        );
    }
    assert_eq!(q.agent.starts(), 1);
    // A dependency that already failed: the new session ends at once.
    let d = q.run(&["start", "--after", &a, "d"]);
    assert!(String::from_utf8_lossy(&d.stderr).contains(&format!("dependency {}", short(&a))));
    let d =
        q.w.session_ids()
            .into_iter()
            .find(|s| ![&a, &b, &c].contains(&s))
            .unwrap();
    assert_eq!(q.show(&d)["ending"], "dependency_failed");
    assert_eq!(q.agent.starts(), 1);
}

#[test]
fn a_session_after_a_killed_one_fails_naming_it() {
    let q = Queue::new();
    let a = q.start(&["a"]);
    let b = q.start(&["--after", &a, "b"]);
    q.agent.wait_starts(1);
    q.w.run(&["kill", &a]).expect(0, ANY, EMPTY);
    let (code, s) = q.w.wait_shown(&b);
    assert_eq!(code, 4);
    assert_eq!(s["ending"], "dependency_failed");
    assert!(s["error"].as_str().unwrap().contains("ended killed"), "{s}");
}

#[test]
fn an_inject_into_a_full_group_queues_its_turn_with_the_start_s_limit() {
    let q = Queue::new();
    let a = q.start(&["--max-running", "1", "a"]);
    q.agent.wait_starts(1);
    q.agent.release(&a, 0);
    assert_eq!(q.w.wait(&a), 0);
    let b = q.start(&["--max-running", "1", "b"]);
    q.agent.wait_starts(2);
    // The limit given to `start` is the session's for later turns.
    let out = q.run(&["inject", &a, "again"]);
    assert!(out.status.success());
    assert_eq!(q.status(&a), "pending");
    assert_eq!(q.show(&a)["queue"]["position"], 1);
    q.agent.release(&b, 0);
    q.agent.wait_starts(3);
    q.agent.release(&a, 0);
    assert_eq!(q.w.wait(&a), 0);
    assert_eq!(q.show(&a)["turns"], 2);
    // An inject may lift it for its own turn.
    let c = q.start(&["--max-running", "1", "c"]);
    q.agent.wait_starts(4);
    let out = q.run(&["inject", "--max-running", "2", &a, "third"]);
    assert!(out.status.success());
    q.agent.wait_starts(5);
    q.agent.release(&a, 0);
    q.agent.release(&c, 0);
    assert_eq!(q.w.wait(&a), 0);
    assert_eq!(q.w.wait(&c), 0);
}

#[test]
fn bad_queue_options_are_usage_errors_that_create_nothing() {
    let w = World::new();
    for args in [
        &["--max-running", "0"][..],
        &["--max-running", "-1"],
        &["--max-running", "many"],
        &["--group", "../up"],
        &["--group", ""],
        &["--after", "not-an-id!"],
        &["--after", "--max-running"],
    ] {
        let mut all = vec!["start"];
        all.extend_from_slice(args);
        all.push("task");
        w.run(&all).expect(2, EMPTY, ANY);
    }
    // An id that names no session: not found, exit 3.
    w.run(&["start", "--after", "abcdef12", "task"])
        .expect(3, EMPTY, has("abcdef12"));
    w.run(&["start", "--max-running", "0", "task"]).expect(
        2,
        EMPTY,
        has("0 would never start anything"),
    );
    assert!(w.session_ids().is_empty());
    let env = w
        .cmd(&["start", "task"])
        .env("ZWARM_MAX_RUNNING", "0")
        .output()
        .unwrap();
    assert_eq!(env.status.code(), Some(2));
    assert!(w.session_ids().is_empty());
}

#[test]
fn zwarm_max_running_sets_the_limit() {
    let q = Queue::new();
    let a =
        q.w.cmd_with(&q.agent.program(), &["start", "a"])
            .env("ZWARM_MAX_RUNNING", "1")
            .output()
            .unwrap();
    let a = String::from_utf8_lossy(&a.stdout).trim().to_string();
    let b =
        q.w.cmd_with(&q.agent.program(), &["start", "b"])
            .env("ZWARM_MAX_RUNNING", "1")
            .output()
            .unwrap();
    let b = String::from_utf8_lossy(&b.stdout).trim().to_string();
    q.agent.wait_starts(1);
    assert_eq!(q.status(&b), "pending");
    assert_eq!(q.w.meta(&b)["max_running"], 1);
    q.agent.release(&a, 0);
    q.agent.wait_starts(2);
    q.agent.release(&b, 0);
    assert_eq!(q.w.wait(&b), 0);
}

#[test]
fn a_waiting_supervisor_sleeps() {
    let q = Queue::new();
    let a = q.start(&["--max-running", "1", "a"]);
    let ids: Vec<String> = (0..3)
        .map(|i| q.start(&["--max-running", "1", &format!("w{i}")]))
        .collect();
    q.agent.wait_starts(1);
    let cpu = |pid: i32| -> u64 {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
        let rest = &stat[stat.rfind(')').unwrap() + 2..];
        let f: Vec<&str> = rest.split(' ').collect();
        f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap()
    };
    let sups: Vec<i32> = ids.iter().map(|id| q.w.supervisor_of(id)).collect();
    let before: Vec<u64> = sups.iter().map(|&p| cpu(p)).collect();
    std::thread::sleep(Duration::from_millis(1500));
    let after: Vec<u64> = sups.iter().map(|&p| cpu(p)).collect();
    assert_eq!(before, after, "a waiting supervisor used CPU");
    q.agent.release(&a, 0);
    for id in &ids {
        eventually(Duration::from_secs(20), "the next to start", || {
            q.status(id) == "running"
        });
        q.agent.release(id, 0);
        assert_eq!(q.w.wait(id), 0);
    }
}
