//! Pids in `meta.json` that name processes zwarm did not start (another
//! user's, or this user's without the session's mark) are never signalled.

use crate::support::fake::transcript;
use crate::support::output::{error_of, expect, stdout};
use crate::support::poll::eventually;
use crate::support::procs::{alive, proc_stat};
use crate::support::world::{local_time_ago, World};
use serde_json::json;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const STARTED: Duration = Duration::from_secs(20);

/// A `sleep` of user `nobody`, leading its own session and process group.
fn strangers_process() -> Option<Child> {
    let child = Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--",
            "setsid",
            "sleep",
            "600",
        ])
        .stdin(Stdio::null())
        .spawn()
        .ok()?;
    let pid = child.id() as i32;
    eventually(STARTED, "setsid to lead its own session", || {
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .ok()
            .and_then(|t| {
                let rest = t[t.rfind(')')? + 1..].to_string();
                let f: Vec<String> = rest.split_whitespace().map(String::from).collect();
                Some(f[3] == pid.to_string() && f[2] == pid.to_string())
            })
            .unwrap_or(false)
            && std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|c| c.trim() == "sleep")
    });
    Some(child)
}

/// A `meta.json` forged to name another user's process as a running turn's
/// agent and supervisor (pid and start time right), and a zwarm 2.3.5
/// session naming it as its agent: `kill` refuses, says why, and the
/// process lives.
#[test]
fn a_forged_pid_of_another_users_process_is_never_signalled() {
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    assert!(
        root,
        "this test runs the stranger's process as user nobody, which needs root (setpriv)"
    );
    let w = World::new();
    let mut stranger = strangers_process().expect("setpriv and setsid");
    let pid = stranger.id() as i32;
    let (_, start) = proc_stat(pid).unwrap();
    let rec = json!({"pid": pid, "start_time": start});

    // A session of today's zwarm, its record pointed at the stranger.
    w.agent.turn(1, transcript("codex_first_turn.jsonl"));
    let forged = w.start(&["the task"]);
    w.wait(&forged);
    w.edit_meta(&forged, |m| {
        m["status"] = json!("running");
        m["pid"] = json!(pid);
        let t = &mut m["turns"][0];
        for k in ["ended_at", "ending", "exit", "error", "settled_by"] {
            t.as_object_mut().unwrap().remove(k);
        }
        t["supervisor"] = rec.clone();
        t["agent"] = rec.clone();
    });
    // It reads as running: the recorded agent is alive.
    assert_eq!(w.json(&["show", &forged])["status"], "running");
    let out = w.run(&["kill", &forged]);
    expect(&out, 1);
    let err = error_of(&out);
    assert!(
        err.contains(&format!("refusing to signal process {pid}")),
        "{err}"
    );
    assert!(alive(pid), "the stranger was signalled");
    let out = w.run(&["--json", "doctor", "--fix"]);
    assert!(
        !stdout(&out).contains("stopped process"),
        "{}",
        stdout(&out)
    );
    assert!(alive(pid), "doctor signalled the stranger");

    // A zwarm 2.3.5 session (no turn records) whose pid is the stranger,
    // written while it ran: everything 2.3.5 promised of its agent holds,
    // but the process is another user's.
    let legacy = w.start(&["the task"]);
    w.wait(&legacy);
    w.edit_meta(&legacy, |m| {
        let obj = m.as_object_mut().unwrap();
        obj.remove("turns");
        obj.remove("agent_session_id");
        m["status"] = json!("running");
        m["pid"] = json!(pid);
        m["created_at"] = json!(local_time_ago(Duration::from_secs(30)));
        m["updated_at"] = json!(local_time_ago(Duration::ZERO));
    });
    let out = w.run(&["kill", &legacy]);
    expect(&out, 1);
    let err = error_of(&out);
    assert!(err.contains("belongs to another user"), "{err}");
    assert!(alive(pid), "the stranger was signalled");
    let _ = stranger.kill();
    let _ = stranger.wait();
    eprintln!(
        "races: a forged meta.json and a 2.3.5 session naming another user's process: \
         refused by kill, left alone by doctor --fix, the process untouched"
    );
}

/// A recorded agent pid that is alive but carries no mark of the session
/// (a process of this user that zwarm did not start) is refused as well.
#[test]
fn an_unmarked_process_of_this_user_is_never_signalled() {
    let w = World::new();
    let mut stranger = Command::new("sleep")
        .arg("600")
        .process_group(0)
        .spawn()
        .unwrap();
    let pid = stranger.id() as i32;
    let (_, start) = proc_stat(pid).unwrap();
    w.agent.turn(1, transcript("codex_first_turn.jsonl"));
    let id = w.start(&["the task"]);
    w.wait(&id);
    w.edit_meta(&id, |m| {
        m["status"] = json!("running");
        let t = &mut m["turns"][0];
        for k in ["ended_at", "ending", "exit", "error", "settled_by"] {
            t.as_object_mut().unwrap().remove(k);
        }
        t["agent"] = json!({"pid": pid, "start_time": start});
    });
    let out = w.run(&["kill", &id]);
    expect(&out, 1);
    assert!(
        error_of(&out).contains("does not carry ZWARM_SESSION_ID"),
        "{}",
        error_of(&out)
    );
    assert!(alive(pid));
    let _ = stranger.kill();
    let _ = stranger.wait();
}
