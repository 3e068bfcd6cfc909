//! `top --all-hosts` and `top --host NAME` on a real terminal (tmux), the
//! remote a real OpenSSH server on a loopback port: remote rows beside this
//! store's, their steps in the preview, `i` and `K` run there, and a host
//! that stops answering (or never does) shown stale while this store's rows
//! keep moving.

use super::top::{assert_terminal_restored, selected_line};
use crate::support::fake::transcript;
use crate::support::output::{ANY, EMPTY};
use crate::support::poll::eventually;
use crate::support::sshd::SshHost;
use crate::support::tmux::{script_of, Tmux};
use crate::support::world::{short, STARTED};
use std::time::{Duration, Instant};

/// Starts a session on `name` and waits for its turn; its id.
fn completed_there(h: &SshHost, name: &str, task: &str) -> String {
    let id = h
        .run(&["start", "--host", name, task])
        .expect(0, ANY, EMPTY)
        .stdout()
        .trim()
        .to_string();
    h.run(&["wait", &format!("{name}:{id}")])
        .expect(0, ANY, EMPTY);
    id
}

#[test]
fn top_all_hosts_shows_every_host_and_one_that_stops_answering_goes_stale() {
    let mut h = SshHost::start();
    h.add("r1");
    h.far
        .agent
        .every_turn(&transcript("codex_first_turn.jsonl"));
    let remote = completed_there(&h, "r1", "there");
    let here = h.near.completed(&[]);
    h.add_hanging("hang", 30);

    let dir = tempfile::tempdir().expect("a folder for tmux");
    let cmd = h.cmd(&["top", "--all-hosts", "--host-timeout", "1s"]);
    let t = Tmux::start(dir.path(), &script_of(&cmd, dir.path()), 150, 40);
    let on_r1 = format!("r1:{}", short(&remote));
    // This store's row and r1's at once, though `hang` never answers: it
    // is given up on at its bound, and said so.
    let began = Instant::now();
    let screen = t.wait_for("a local row and a remote row", |s| {
        s.contains(short(&here)) && s.contains(&on_r1)
    });
    assert!(
        began.elapsed() < Duration::from_secs(8),
        "the rows took {:?}",
        began.elapsed()
    );
    assert!(screen.starts_with("2 sessions"), "{screen}");
    t.wait_for("the hanging host stale", |s| {
        s.contains("hang: stale, never seen — host hang did not answer within 1 s")
    });

    // The remote row selected: its steps, fetched from r1.
    t.keys(&["G"]);
    t.wait_for("r1's row selected, its steps shown", |s| {
        selected_line(s).contains(&on_r1)
            && s.contains(&format!("{on_r1} · steps"))
            && s.contains("All done: mock says hi.")
    });

    // `i` on it: the message reaches r1's agent as its next turn.
    let k = h.far.agent.calls() + 1;
    t.keys(&["i"]);
    t.wait_for("the inject prompt", |s| {
        s.contains(&format!("inject into {on_r1}:"))
    });
    t.type_text("and again");
    t.keys(&["Enter"]);
    h.far.agent.wait_started(k, STARTED);
    assert_eq!(
        h.far.agent.argv(k).last().map(String::as_str),
        Some("and again")
    );
    t.wait_for("the inject reported", |s| {
        s.contains(&format!("injected turn 2 into {on_r1}"))
    });
    eventually(Duration::from_secs(15), "r1's second turn over", || {
        (h.far.meta(&remote)["status"] == "completed").then_some(())
    });

    // r1 stops answering: its row stays, as last seen, marked stale.
    h.stop();
    let screen = t.wait_for("r1 stale", |s| {
        s.contains("r1: stale, last seen") && s.contains("host r1 is unreachable")
    });
    let row = screen
        .lines()
        .find(|l| l.contains(&on_r1))
        .unwrap_or_else(|| panic!("r1's row is kept: {screen}"));
    assert!(
        row.contains("[stale]") && !row.contains("failed"),
        "its status is kept, not guessed: {screen}"
    );
    // This store's rows keep moving meanwhile.
    let newer = h.near.completed(&[]);
    let screen = t.wait_for("a new local session", |s| s.contains(short(&newer)));
    assert!(screen.starts_with("3 sessions"), "{screen}");

    t.keys(&["q"]);
    assert_terminal_restored(&t, dir.path(), "EXIT=0");
}

#[test]
fn top_host_shows_that_host_alone_and_kills_there() {
    let h = SshHost::start();
    h.add("r1");
    let k = h.far.agent.calls() + 1;
    h.far
        .agent
        .turn(k, transcript("codex_sigterm.jsonl"))
        .hang(k);
    let hanging = h
        .run(&["start", "--host", "r1", "hang there"])
        .expect(0, ANY, EMPTY)
        .stdout()
        .trim()
        .to_string();
    h.far.agent.wait_hanging(k, STARTED);
    let here = h.near.completed(&[]);

    let dir = tempfile::tempdir().expect("a folder for tmux");
    let cmd = h.cmd(&["top", "--host", "r1"]);
    let t = Tmux::start(dir.path(), &script_of(&cmd, dir.path()), 120, 30);
    let on_r1 = format!("r1:{}", short(&hanging));
    let screen = t.wait_for("r1's session", |s| s.contains(&on_r1));
    assert!(screen.starts_with("1 session:"), "{screen}");
    assert!(!screen.contains(short(&here)), "only r1's: {screen}");
    assert!(selected_line(&screen).contains("running"), "{screen}");

    t.keys(&["K"]);
    t.wait_for("the kill confirmation", |s| {
        s.contains(&format!("kill {on_r1} and its processes?"))
    });
    t.keys(&["y"]);
    t.wait_for("the kill reported", |s| {
        s.contains(&format!("killed {on_r1}"))
    });
    assert_eq!(h.far.meta(&hanging)["status"], "killed");
    t.wait_for("r1's row killed", |s| selected_line(s).contains("killed"));

    t.keys(&["q"]);
    assert_terminal_restored(&t, dir.path(), "EXIT=0");
}

#[test]
fn top_refuses_all_hosts_with_host_and_a_remote_it_does_not_know() {
    let h = SshHost::start();
    h.run(&["top", "--all-hosts", "--host", "r1"]).expect(
        2,
        EMPTY,
        "zwarm: error: --all-hosts shows every host: give no --host\n",
    );
    h.run(&["top", "--host", "nowhere"]).expect(
        1,
        EMPTY,
        crate::support::output::has("no remote named 'nowhere'"),
    );
}
