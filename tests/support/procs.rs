//! Processes, seen through `/proc`: whether one lives, which belong to a
//! session, and signals.

use super::poll::eventually;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command};
use std::time::Duration;

/// How long a process being torn down may linger.
const GONE: Duration = Duration::from_secs(5);

/// A process's state letter and start time (in clock ticks since boot),
/// from `/proc/<pid>/stat`.
pub fn proc_stat(pid: i32) -> Option<(char, u64)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let f: Vec<&str> = text[text.rfind(')')? + 1..].split_whitespace().collect();
    Some((f.first()?.chars().next()?, f.get(19)?.parse().ok()?))
}

/// Exists and is neither a zombie nor dead.
pub fn alive(pid: i32) -> bool {
    proc_stat(pid).is_some_and(|(s, _)| s != 'Z' && s != 'X')
}

/// Waits until `pid` is gone.
#[track_caller]
pub fn wait_dead(pid: i32) {
    eventually(GONE, &format!("process {pid} to die"), || !alive(pid));
}

/// Sends `sig` to `pid`; whether it could be sent.
pub fn signal(pid: i32, sig: libc::c_int) -> bool {
    // SAFETY: kill takes a pid and a signal number.
    unsafe { libc::kill(pid, sig) == 0 }
}

pub fn sigkill(pid: i32) {
    signal(pid, libc::SIGKILL);
}

/// SIGKILLs a whole process group (an agent leads its own, with its
/// `sleep`s in it).
pub fn sigkill_group(pgid: i32) {
    // SAFETY: killpg takes a process group and a signal number.
    unsafe { libc::killpg(pgid, libc::SIGKILL) };
}

/// Live processes of these sessions: supervisors (the id is one of their
/// arguments) and whatever runs with one of the ids as `ZWARM_SESSION_ID`.
pub fn processes_of(ids: &[&str]) -> Vec<i32> {
    let me = std::process::id() as i32;
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let parts = |pid: i32, file: &str| -> Vec<Vec<u8>> {
        std::fs::read(format!("/proc/{pid}/{file}"))
            .unwrap_or_default()
            .split(|&b| b == 0)
            .map(<[u8]>::to_vec)
            .collect()
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|&pid| pid != me && alive(pid))
        .filter(|&pid| {
            parts(pid, "cmdline")
                .iter()
                .any(|a| ids.iter().any(|id| a == id.as_bytes()))
                || parts(pid, "environ").iter().any(|kv| {
                    kv.strip_prefix(b"ZWARM_SESSION_ID=")
                        .is_some_and(|v| ids.iter().any(|id| v == id.as_bytes()))
                })
        })
        .collect()
}

/// Waits until no process of these sessions is left.
#[track_caller]
pub fn assert_no_processes(ids: &[&str]) {
    eventually(
        GONE,
        &format!("the processes of {ids:?} to be gone"),
        || {
            let left = processes_of(ids);
            if left.is_empty() {
                Ok(())
            } else {
                Err(left)
            }
        },
    );
}

/// `sleep 600` in its own process group, with `env` added.
pub fn sleeper(env: &[(&str, &str)]) -> Child {
    let mut cmd = Command::new("sleep");
    cmd.arg("600").process_group(0);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.spawn().expect("spawn sleep")
}

/// The pid of a process that has exited (and been reaped).
pub fn dead_pid() -> u32 {
    let mut c = Command::new("true").spawn().expect("spawn true");
    c.wait().expect("wait for true");
    c.id()
}
