//! Process identity and signalling. A pid alone is not an identity (pids are
//! reused), so a process is recognised by pid + start time, and a reboot by the
//! kernel's boot id.

use nix::sys::signal::{kill, killpg, Signal};
use nix::unistd::Pid;
use serde::{Deserialize, Serialize};
use std::fs;
use std::os::fd::FromRawFd;

/// A process as we recognise it later: pid alone is ambiguous once reused, so
/// the kernel's start time (clock ticks since boot) goes with it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ProcessRecord {
    pub pid: i32,
    pub start_time: u64,
}

/// Fields of `/proc/<pid>/stat` we use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ProcStat {
    pub state: char,
    pub ppid: i32,
    pub pgrp: i32,
    pub session: i32,
    pub start_time: u64,
}

pub(crate) fn stat(pid: i32) -> Option<ProcStat> {
    let text = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_stat(&text)
}

/// The command name may hold spaces and parentheses, so fields are counted
/// from the last ')'.
pub(crate) fn parse_stat(text: &str) -> Option<ProcStat> {
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
pub(crate) fn record(pid: i32) -> Option<ProcessRecord> {
    stat(pid).map(|s| ProcessRecord {
        pid,
        start_time: s.start_time,
    })
}

/// True if the recorded process still runs (a zombie does not count).
pub(crate) fn is_alive(rec: &ProcessRecord) -> bool {
    match stat(rec.pid) {
        Some(s) => s.start_time == rec.start_time && s.state != 'Z' && s.state != 'X',
        None => false,
    }
}

/// How long ago a process started, in seconds.
pub(crate) fn started_secs_ago(pid: i32) -> Option<f64> {
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

pub(crate) fn boot_id() -> Option<String> {
    fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .ok()
        .map(|s| s.trim().to_string())
}

/// Every live process whose session id is `sid`: a detached supervisor's
/// session holds the agent and everything it started, even children that were
/// reparented after their parent died.
pub(crate) fn session_members(sid: i32) -> Vec<i32> {
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
pub(crate) fn descendants(root: i32) -> Vec<i32> {
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
pub(crate) const SESSION_ENV: &str = "ZWARM_SESSION_ID";
pub(crate) const STORE_ENV: &str = "ZWARM_SESSION_STORE";
/// The variable the launcher sets on a supervisor (with [`STORE_ENV`]):
/// the session it supervises. Its agent does not inherit it.
pub(crate) const SUPERVISOR_ENV: &str = "ZWARM_SUPERVISOR_OF";

/// Live processes tagged with a session of the store at `store` (an
/// absolute path) in their environment, as `(pid, session id)`. Processes of
/// other users cannot be read and are not listed.
pub(crate) fn tagged_processes(store: &std::path::Path) -> Vec<(i32, String)> {
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
            let mut vars = environment(&env);
            if !vars.clone().any(|kv| kv == store_var.as_slice()) {
                return None;
            }
            let id = vars.find_map(|kv| kv.strip_prefix(id_prefix.as_bytes()))?;
            let alive = stat(pid).is_some_and(|s| s.state != 'Z' && s.state != 'X');
            alive.then(|| (pid, String::from_utf8_lossy(id).into_owned()))
        })
        .collect()
}

/// The whole entries of a process's environment as `/proc` gave it. The
/// kernel copies it in pieces from a process that may be exiting or
/// exec'ing meanwhile, so the last entry can come cut short; an entry only
/// counts once its terminating NUL is there (a cut `ZWARM_SESSION_ID=`
/// would otherwise name the session "").
fn environment(env: &[u8]) -> impl Iterator<Item = &[u8]> + Clone {
    let whole = env
        .iter()
        .rposition(|b| *b == 0)
        .map_or(&env[..0], |end| &env[..end]);
    whole.split(|b| *b == 0).filter(|kv| !kv.is_empty())
}

/// What a process's environment says about whose it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mark {
    /// It carries the session's mark.
    Ours,
    /// It has ended (or is ending: the environment of an exiting process
    /// reads empty).
    Gone,
    /// It lives and does not carry the mark.
    Foreign,
}

/// Whether the recorded process carries `var`=`id` and the store at
/// `store` (an absolute path) in its environment: the mark a supervisor
/// puts on its agent (inherited by everything the agent starts), or the
/// launcher on a supervisor. A record in `meta.json` can name any pid; only
/// this mark, which no file edit can put on another user's process, says
/// the process is the session's.
pub(crate) fn mark_of(rec: &ProcessRecord, var: &str, id: &str, store: &std::path::Path) -> Mark {
    // An exec under way, or an exit, reads as no environment for an
    // instant: asked again before a live process is called foreign.
    for attempt in 0..3 {
        if !is_alive(rec) {
            return Mark::Gone;
        }
        if has_mark(rec.pid, var, id, store) {
            return if is_alive(rec) {
                Mark::Ours
            } else {
                Mark::Gone
            };
        }
        if attempt < 2 {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }
    if is_alive(rec) {
        Mark::Foreign
    } else {
        Mark::Gone
    }
}

/// Whether process `pid` has `var`=`id` and the store in its environment.
pub(crate) fn has_mark(pid: i32, var: &str, id: &str, store: &std::path::Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let Ok(env) = fs::read(format!("/proc/{pid}/environ")) else {
        return false;
    };
    let mut id_var = format!("{var}=").into_bytes();
    id_var.extend_from_slice(id.as_bytes());
    let mut store_var = format!("{STORE_ENV}=").into_bytes();
    store_var.extend_from_slice(store.as_os_str().as_bytes());
    let (mut has_id, mut has_store) = (false, false);
    for kv in environment(&env) {
        has_id |= kv == id_var.as_slice();
        has_store |= kv == store_var.as_slice();
    }
    has_id && has_store
}

/// Pids holding an exclusive lock on the file with this device and inode,
/// from `/proc/locks`. Shared holders (readers probing a lock, `wait`) are
/// left out: they hold nothing anyone else is kept from.
pub(crate) fn lock_holders(dev: u64, ino: u64) -> Vec<i32> {
    use std::io::Read;
    // One read call is one consistent snapshot of the kernel's lock list;
    // a file read in pieces while locks come and go skips entries.
    let mut size = 1 << 20;
    loop {
        let Ok(mut f) = fs::File::open("/proc/locks") else {
            return Vec::new();
        };
        let mut buf = vec![0; size];
        let Ok(n) = f.read(&mut buf) else {
            return Vec::new();
        };
        if n < size || size >= 64 << 20 {
            return parse_lock_holders(&String::from_utf8_lossy(&buf[..n]), dev, ino);
        }
        size *= 4;
    }
}

/// Pids holding an exclusive lock on the file with this device and inode,
/// from the text of `/proc/locks` ("1: FLOCK ADVISORY WRITE 1234 00:2f:5678
/// 0 EOF").
pub(crate) fn parse_lock_holders(text: &str, dev: u64, ino: u64) -> Vec<i32> {
    let major = libc::major(dev);
    let minor = libc::minor(dev);
    text.lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            // Blocked waiters are listed with "->" and hold nothing.
            if f.get(1) == Some(&"->") || f.get(3) != Some(&"WRITE") {
                return None;
            }
            let pid: i32 = f.get(4)?.parse().ok()?;
            let mut id = f.get(5)?.split(':');
            let maj = u32::from_str_radix(id.next()?, 16).ok()?;
            let min = u32::from_str_radix(id.next()?, 16).ok()?;
            let inode: u64 = id.next()?.parse().ok()?;
            (maj == major && min == minor && inode == ino).then_some(pid)
        })
        .collect()
}

/// Live (not zombie) members of process group `pgid`.
pub(crate) fn group_members(pgid: i32) -> Vec<i32> {
    let Ok(dir) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|&pid| {
            stat(pid).is_some_and(|s| s.pgrp == pgid && s.state != 'Z' && s.state != 'X')
        })
        .collect()
}

/// A process as a person would want it named in an error: `1234 (sleep,
/// state D)`.
pub(crate) fn describe(pid: i32) -> String {
    let comm = fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
    match stat(pid) {
        Some(s) => format!("{pid} ({}, state {})", comm.trim(), s.state),
        None => format!("{pid} (gone)"),
    }
}

/// The real user id a process runs as.
pub(crate) fn owner(pid: i32) -> Option<u32> {
    use std::os::unix::fs::MetadataExt;
    fs::metadata(format!("/proc/{pid}")).ok().map(|m| m.uid())
}

/// Sends `sig` to the recorded process if it is still that process and
/// `still_ours` holds of it at the moment of sending: the process is pinned
/// with a pidfd first, so a pid reused between the check and the signal
/// cannot be hit. Returns whether the signal was sent.
pub(crate) fn signal_pinned(
    rec: &ProcessRecord,
    sig: Signal,
    still_ours: impl Fn(i32) -> bool,
) -> bool {
    if !signallable(rec.pid) {
        return false;
    }
    // SAFETY: pidfd_open takes a pid and flags and returns a new fd or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, rec.pid, 0) } as i32;
    if fd < 0 {
        // No pidfds (old kernel): the start time still tells a reused pid.
        return is_alive(rec) && still_ours(rec.pid) && kill(Pid::from_raw(rec.pid), sig).is_ok();
    }
    // SAFETY: fd was just returned to us and is owned here only.
    let fd = unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) };
    if !is_alive(rec) || !still_ours(rec.pid) {
        return false;
    }
    use std::os::fd::AsRawFd;
    // SAFETY: pidfd_send_signal takes the pidfd, a signal, no info, no flags.
    let sent = unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            fd.as_raw_fd(),
            sig as libc::c_int,
            std::ptr::null::<libc::siginfo_t>(),
            0,
        )
    };
    sent == 0
}

/// Sends `sig` to the process group led by the recorded process, if the
/// leader is still that process and `still_ours` holds of it.
pub(crate) fn signal_group_pinned(
    rec: &ProcessRecord,
    sig: Signal,
    still_ours: impl Fn(i32) -> bool,
) -> bool {
    signallable(rec.pid)
        && is_alive(rec)
        && still_ours(rec.pid)
        && killpg(Pid::from_raw(rec.pid), sig).is_ok()
}

/// Makes this process the reaper of its orphaned descendants, so a tool
/// command whose agent died is reparented here rather than to init, and
/// stays findable by [`descendants`].
pub(crate) fn become_subreaper() {
    // SAFETY: PR_SET_CHILD_SUBREAPER takes one integer argument.
    unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
}

/// Whether a pid from a file may be signalled at all: 0 and -1 mean "my
/// group" and "every process" to kill(2), 1 is init, and negative values
/// name groups.
fn signallable(pid: i32) -> bool {
    pid > 1
}

/// Signals every member of a session, except `except`.
pub(crate) fn signal_session(sid: i32, sig: Signal, except: i32) -> usize {
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
pub(crate) fn wait_for_exit(rec: &ProcessRecord) {
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

pub(crate) fn signal_name(sig: i32) -> String {
    Signal::try_from(sig)
        .map(|s| s.as_str().to_string())
        .unwrap_or_else(|_| format!("signal {sig}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_lock_holders() {
        let text = "1: FLOCK  ADVISORY  WRITE 4242 00:2f:1234 0 EOF\n\
                    1: -> FLOCK  ADVISORY  WRITE 5151 00:2f:1234 0 EOF\n\
                    2: POSIX  ADVISORY  WRITE 77 08:01:99 0 EOF\n\
                    3: FLOCK  ADVISORY  READ 88 00:2f:1234 0 EOF\n";
        let dev = libc::makedev(0, 0x2f);
        assert_eq!(parse_lock_holders(text, dev, 1234), vec![4242]);
        assert_eq!(parse_lock_holders(text, libc::makedev(8, 1), 99), vec![77]);
        assert!(parse_lock_holders(text, dev, 99).is_empty());
    }

    #[test]
    fn an_environment_cut_short_keeps_only_its_whole_entries() {
        let whole: Vec<&[u8]> = environment(b"A=1\0ZWARM_SESSION_ID=abc\0").collect();
        assert_eq!(whole, [&b"A=1"[..], b"ZWARM_SESSION_ID=abc"]);
        let cut: Vec<&[u8]> = environment(b"A=1\0ZWARM_SESSION_ID=").collect();
        assert_eq!(cut, [&b"A=1"[..]]);
        assert_eq!(environment(b"ZWARM_SESSION_ID=ab").count(), 0);
        assert_eq!(environment(b"").count(), 0);
    }

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
