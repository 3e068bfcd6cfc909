//! Process identity and signalling. A pid alone is not an identity (pids are
//! reused), so a process is recognised by pid + start time, and a reboot by the
//! kernel's boot id.

use crate::session::model::ProcessRecord;
use nix::sys::signal::{kill, killpg, Signal};
use nix::unistd::Pid;
use std::fs;
use std::os::fd::FromRawFd;

/// Fields of `/proc/<pid>/stat` we use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProcStat {
    pub state: char,
    pub ppid: i32,
    pub pgrp: i32,
    pub session: i32,
    pub start_time: u64,
}

pub fn stat(pid: i32) -> Option<ProcStat> {
    let text = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_stat(&text)
}

/// The command name may hold spaces and parentheses, so fields are counted
/// from the last ')'.
pub fn parse_stat(text: &str) -> Option<ProcStat> {
    let rest = &text[text.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // After the name: state(3) ppid(4) pgrp(5) session(6) ... starttime(22).
    Some(ProcStat {
        state: f.first()?.chars().next()?,
        ppid: f.get(1)?.parse().ok()?,
        pgrp: f.get(2)?.parse().ok()?,
        session: f.get(3)?.parse().ok()?,
        start_time: f.get(19)?.parse().ok()?,
    })
}

/// The record of a live process, to recognise it later.
pub fn record(pid: i32) -> Option<ProcessRecord> {
    stat(pid).map(|s| ProcessRecord {
        pid,
        start_time: s.start_time,
    })
}

/// True if the recorded process still runs (a zombie does not count).
pub fn is_alive(rec: &ProcessRecord) -> bool {
    match stat(rec.pid) {
        Some(s) => s.start_time == rec.start_time && s.state != 'Z' && s.state != 'X',
        None => false,
    }
}

/// How long ago a process started, in seconds.
pub fn started_secs_ago(pid: i32) -> Option<f64> {
    let start = stat(pid)?.start_time;
    let uptime: f64 = fs::read_to_string("/proc/uptime")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    // SAFETY: sysconf only reads a configuration value.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    (hz > 0).then(|| uptime - start as f64 / hz as f64)
}

pub fn boot_id() -> Option<String> {
    fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .ok()
        .map(|s| s.trim().to_string())
}

/// Every live process whose session id is `sid`: a detached supervisor's
/// session holds the agent and everything it started, even children that were
/// reparented after their parent died.
pub fn session_members(sid: i32) -> Vec<i32> {
    let Ok(dir) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|&pid| {
            stat(pid).is_some_and(|s| s.session == sid && s.state != 'Z' && s.state != 'X')
        })
        .collect()
}

/// Every live descendant of `root` (children, their children, ...), found by
/// parent links. Tool commands an agent starts in sessions of their own are
/// found this way, where a group or session signal would miss them.
pub fn descendants(root: i32) -> Vec<i32> {
    let Ok(dir) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    let procs: Vec<(i32, i32)> = dir
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter_map(|pid| {
            stat(pid)
                .filter(|s| s.state != 'Z' && s.state != 'X')
                .map(|s| (pid, s.ppid))
        })
        .collect();
    let mut found = vec![root];
    let mut i = 0;
    while i < found.len() {
        let parent = found[i];
        found.extend(
            procs
                .iter()
                .filter(|(_, pp)| *pp == parent)
                .map(|(p, _)| *p),
        );
        i += 1;
    }
    found.remove(0);
    found
}

/// The variables the supervisor sets on its agent: the session id, and the
/// store it belongs to (ids are unique, but another store's sessions are not
/// this store's business).
pub const SESSION_ENV: &str = "ZWARM_SESSION_ID";
pub const STORE_ENV: &str = "ZWARM_SESSION_STORE";

/// Live processes tagged with a session of the store at `store` (an
/// absolute path) in their environment, as `(pid, session id)`. Processes of
/// other users cannot be read and are not listed.
pub fn tagged_processes(store: &std::path::Path) -> Vec<(i32, String)> {
    let Ok(dir) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    let id_prefix = format!("{SESSION_ENV}=");
    let store_var = {
        use std::os::unix::ffi::OsStrExt;
        let mut v = format!("{STORE_ENV}=").into_bytes();
        v.extend_from_slice(store.as_os_str().as_bytes());
        v
    };
    let me = std::process::id() as i32;
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|&pid| pid != me)
        .filter_map(|pid| {
            let env = fs::read(format!("/proc/{pid}/environ")).ok()?;
            let mut vars = env.split(|b| *b == 0);
            if !vars.clone().any(|kv| kv == store_var.as_slice()) {
                return None;
            }
            let id = vars.find_map(|kv| kv.strip_prefix(id_prefix.as_bytes()))?;
            let alive = stat(pid).is_some_and(|s| s.state != 'Z' && s.state != 'X');
            alive.then(|| (pid, String::from_utf8_lossy(id).into_owned()))
        })
        .collect()
}

/// Makes this process the reaper of its orphaned descendants, so a tool
/// command whose agent died is reparented here rather than to init, and
/// stays findable by [`descendants`].
pub fn become_subreaper() {
    // SAFETY: PR_SET_CHILD_SUBREAPER takes one integer argument.
    unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
}

/// Whether a pid from a file may be signalled at all: 0 and -1 mean "my
/// group" and "every process" to kill(2), 1 is init, and negative values
/// name groups.
fn signallable(pid: i32) -> bool {
    pid > 1
}

/// Signals a recorded process only if it is still the same process.
pub fn signal_if_same(rec: &ProcessRecord, sig: Signal) -> bool {
    signallable(rec.pid) && is_alive(rec) && kill(Pid::from_raw(rec.pid), sig).is_ok()
}

/// Signals the process group led by a recorded process, if that leader is
/// still the same process.
pub fn signal_group_if_same(rec: &ProcessRecord, sig: Signal) -> bool {
    signallable(rec.pid) && is_alive(rec) && killpg(Pid::from_raw(rec.pid), sig).is_ok()
}

/// Signals every member of a session, except `except`.
pub fn signal_session(sid: i32, sig: Signal, except: i32) -> usize {
    if !signallable(sid) {
        return 0;
    }
    let mut n = 0;
    for pid in session_members(sid) {
        if pid != except && kill(Pid::from_raw(pid), sig).is_ok() {
            n += 1;
        }
    }
    n
}

/// Blocks until a process that is not our child exits, using a pidfd (no
/// polling); falls back to a slow poll where pidfds are not available.
pub fn wait_for_exit(rec: &ProcessRecord) {
    // SAFETY: pidfd_open takes a pid and flags and returns a new fd or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, rec.pid, 0) } as i32;
    if fd >= 0 {
        // SAFETY: fd was just returned to us and is owned here only.
        let fd = unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) };
        // The pid may have been reused between the caller's check and the
        // open; the start time says whether this is still the same process.
        if is_alive(rec) {
            use std::os::fd::AsFd;
            let mut pfd = [nix::poll::PollFd::new(
                fd.as_fd(),
                nix::poll::PollFlags::POLLIN,
            )];
            while let Err(nix::errno::Errno::EINTR) =
                nix::poll::poll(&mut pfd, nix::poll::PollTimeout::NONE)
            {}
        }
        return;
    }
    while is_alive(rec) {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

pub fn signal_name(sig: i32) -> String {
    Signal::try_from(sig)
        .map(|s| s.as_str().to_string())
        .unwrap_or_else(|_| format!("signal {sig}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_stat_with_awkward_names() {
        let line =
            "1234 (a (b) c) S 1 1234 1234 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 98765 1000 200";
        let s = parse_stat(line).unwrap();
        assert_eq!(
            (s.state, s.ppid, s.pgrp, s.session, s.start_time),
            ('S', 1, 1234, 1234, 98765)
        );
    }

    #[test]
    fn recognises_itself_and_rejects_a_wrong_start_time() {
        let me = record(std::process::id() as i32).unwrap();
        assert!(is_alive(&me));
        let other = ProcessRecord {
            pid: me.pid,
            start_time: me.start_time + 1,
        };
        assert!(!is_alive(&other));
        assert!(boot_id().is_some_and(|b| b.len() >= 32));
    }

    #[test]
    fn a_process_just_started_is_young() {
        let mut child = std::process::Command::new("sleep")
            .arg("5")
            .spawn()
            .unwrap();
        let age = started_secs_ago(child.id() as i32).unwrap();
        child.kill().unwrap();
        child.wait().unwrap();
        assert!((-0.1..2.0).contains(&age), "{age}");
    }
}
