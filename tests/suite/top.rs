//! `top` on a real terminal (tmux) against the fake agent: the sessions
//! appear, the selection moves, `i` injects a message the agent receives,
//! `K` kills a running session with its processes, `q` exits 0, and the
//! terminal is given back (also on SIGTERM). Without a terminal it refuses.

use crate::support::output::{has, EMPTY};
use crate::support::poll::eventually;
use crate::support::procs::{assert_no_processes, signal};
use crate::support::tmux::{script_of, Tmux};
use crate::support::world::{short, World, STARTED};
use std::path::Path;
use std::time::Duration;

/// A pane script that runs `zwarm top` as the world runs zwarm.
fn pane_script(w: &World, dir: &Path) -> String {
    script_of(&w.cmd(&["top"]), dir)
}

/// The screen's line with the selection mark.
pub(super) fn selected_line(screen: &str) -> String {
    screen
        .lines()
        .find(|l| l.starts_with('›'))
        .unwrap_or_default()
        .to_string()
}

/// Waits until the terminal is back as it was before `top` ran.
#[track_caller]
pub(super) fn assert_terminal_restored(t: &Tmux, dir: &Path, exit: &str) {
    t.wait_for(&format!("`{exit}` after top"), |s| s.contains(exit));
    let after = eventually(Duration::from_secs(5), "the settings after top", || {
        std::fs::read_to_string(dir.join("after"))
    });
    let before = std::fs::read_to_string(dir.join("before")).expect("the settings before");
    assert_eq!(after, before, "raw mode left on");
    assert_eq!(
        t.format("#{alternate_on}"),
        "0",
        "the alternate screen left on"
    );
    assert_eq!(t.format("#{cursor_flag}"), "1", "the cursor left hidden");
}

#[test]
fn top_shows_selects_injects_kills_and_quits_on_a_real_terminal() {
    let w = World::new();
    let done = w.completed(&[]);
    let a = w.start_hanging(&[]);
    let b = w.start_hanging(&[]);
    let dir = tempfile::tempdir().expect("a folder for tmux");
    let t = Tmux::start(dir.path(), &pane_script(&w, dir.path()), 100, 30);

    let screen = t.wait_for("three sessions", |s| {
        s.contains("3 sessions") && [&done, &a, &b].iter().all(|id| s.contains(short(id)))
    });
    // Running ones first, the longest running first; the finished one last.
    let order: Vec<usize> = [&a, &b, &done]
        .iter()
        .map(|id| screen.find(short(id)).expect("shown"))
        .collect();
    assert!(order[0] < order[1] && order[1] < order[2], "{screen}");
    assert!(selected_line(&screen).contains(short(&a)), "{screen}");

    t.keys(&["j"]);
    t.wait_for("the selection on the second row", |s| {
        selected_line(s).contains(short(&b))
    });
    t.keys(&["Down"]);
    t.wait_for("the selection on the finished session", |s| {
        selected_line(s).contains(short(&done))
    });

    // `i`: the message reaches the agent as the next turn of that session.
    let k = w.agent.calls() + 1;
    t.keys(&["i"]);
    t.wait_for("the inject prompt", |s| {
        s.contains(&format!("inject into {}:", short(&done)))
    });
    t.type_text("please add tests");
    t.keys(&["Enter"]);
    w.agent.wait_started(k, STARTED);
    let argv = w.agent.argv(k);
    assert_eq!(
        argv.last().map(String::as_str),
        Some("please add tests"),
        "{argv:?}"
    );
    assert!(argv.iter().any(|a| a == "resume"), "{argv:?}");
    t.wait_for("the inject reported", |s| {
        s.contains(&format!("injected turn 2 into {}", short(&done)))
    });

    // `K`, then `y`: the selected running session is killed, for good.
    t.keys(&["k", "k"]);
    t.wait_for("the selection back on the first row", |s| {
        selected_line(s).contains(short(&a))
    });
    t.keys(&["K"]);
    t.wait_for("the kill confirmation", |s| {
        s.contains(&format!("kill {} and its processes?", short(&a)))
    });
    t.keys(&["y"]);
    t.wait_for("the kill reported", |s| {
        s.contains(&format!("killed {}", short(&a)))
    });
    assert_eq!(w.meta(&a)["status"], "killed");
    assert_no_processes(&[&a]);
    assert_eq!(w.meta(&b)["status"], "running");

    t.keys(&["q"]);
    assert_terminal_restored(&t, dir.path(), "EXIT=0");
}

#[test]
fn top_gives_the_terminal_back_on_sigterm() {
    let w = World::new();
    let id = w.completed(&[]);
    let dir = tempfile::tempdir().expect("a folder for tmux");
    let t = Tmux::start(dir.path(), &pane_script(&w, dir.path()), 80, 24);
    t.wait_for("the session", |s| s.contains(short(&id)));
    assert_eq!(t.format("#{alternate_on}"), "1");
    let pid: i32 = std::fs::read_to_string(dir.path().join("pid"))
        .expect("top's pid")
        .trim()
        .parse()
        .expect("a pid");
    assert!(signal(pid, libc::SIGTERM));
    // As a shell expects of a program a signal stopped: 128 + 15.
    assert_terminal_restored(&t, dir.path(), "EXIT=143");
}

#[test]
fn top_refuses_without_a_terminal() {
    let w = World::new();
    w.run(&["top"]).expect(
        2,
        EMPTY,
        "zwarm: error: top needs a terminal, and stdout is not one; `zwarm list` prints the sessions\n",
    );
    w.run(&["--json", "top"])
        .expect(2, EMPTY, has("has no --json"));
}
