//! `rm` and `kill`: a running session is refused or stopped with its
//! whole process tree, a finished one removed; `kill --all` stops every
//! running session and nothing else.

use crate::support::output::{error_of, expect, has, stdout, EMPTY};
use crate::support::procs::{alive, assert_no_processes, wait_dead};
use crate::support::world::{short, World};

#[test]
fn rm_refuses_a_running_session_and_removes_a_finished_one() {
    let w = World::new();
    let done = w.finished("codex_first_turn.jsonl", 0);
    let running = w.start_hanging(&["the task"]);

    let out = w.run(&["rm", short(&running)]);
    expect(&out, 5);
    assert_eq!(
        error_of(&out),
        format!("session {running} has turn 1 running")
    );
    assert!(w.session_dir(&running).exists());
    assert!(alive(w.agent.pid(2)));

    let out = w.run(&["rm", short(&done)]);
    expect(&out, 0);
    assert_eq!(stdout(&out), format!("removed {}\n", short(&done)));
    assert!(!w.session_dir(&done).exists());
    expect(&w.run(&["show", &done]), 3);

    let out = w.run(&["rm", "--force", short(&running)]);
    expect(&out, 0);
    assert!(!w.session_dir(&running).exists());
    wait_dead(w.agent.pid(2));
    assert_no_processes(&[&running]);
}

#[test]
fn kill_all_stops_every_running_session_and_nothing_else() {
    let w = World::new();
    let done = w.finished("codex_first_turn.jsonl", 0);
    let before = w.meta_bytes(&done);
    let a = w.start_hanging(&["a"]);
    let b = w.start_hanging(&["b"]);
    let out = w.run(&["kill", "--all"]);
    expect(&out, 0);
    let mut said: Vec<String> = stdout(&out).lines().map(str::to_string).collect();
    said.sort();
    let mut want = vec![
        format!("killed {}", short(&a)),
        format!("killed {}", short(&b)),
    ];
    want.sort();
    assert_eq!(said, want);
    for id in [&a, &b] {
        assert_eq!(w.meta(id)["status"], "killed");
        assert_no_processes(&[id]);
    }
    wait_dead(w.agent.pid(2));
    wait_dead(w.agent.pid(3));
    assert_eq!(w.meta_bytes(&done), before);

    w.run(&["kill", "--all"])
        .expect(0, EMPTY, has("no running sessions"));
    expect(&w.run(&["kill", "--all", &a]), 2);
}

#[test]
fn kill_delete_stops_and_removes() {
    let w = World::new();
    let id = w.start_hanging(&["the task"]);
    let out = w.run(&["kill", "--delete", short(&id)]);
    expect(&out, 0);
    assert_eq!(stdout(&out), format!("killed and removed {}\n", short(&id)));
    assert!(!w.session_dir(&id).exists());
    wait_dead(w.agent.pid(1));
    assert_no_processes(&[&id]);
    assert!(w.session_ids().is_empty(), "{:?}", w.session_ids());
}
