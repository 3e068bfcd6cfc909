//! The hidden `__supervise` entry: one turn of one session. It holds the
//! session's run lock for its whole life (so a reader that can take the lock
//! knows it is gone), runs the agent in its own process group with stdin from
//! /dev/null, waits for it, and records how the turn ended.
//!
//! Protocol with the launcher: one line on stdout, `ready <pid> <start_time>`
//! once the agent runs, or `error <message>` if it could not be started.

use crate::error::{Error, Result};
use crate::process;
use crate::session::model::ExitStatus;
use crate::session::settle::{settle, TurnEnd};
use crate::store::{open_lock_file, Store};
use nix::fcntl::{Flock, FlockArg};
use nix::sys::signal::{killpg, sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::Pid;
use std::ffi::OsString;
use std::fs::OpenOptions;
use std::io::Write;
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};

/// How long the agent gets to exit after SIGTERM before its group is killed.
pub const GRACE_SECS: u32 = 5;

static AGENT_PGID: AtomicI32 = AtomicI32::new(0);
static STOPPING: AtomicBool = AtomicBool::new(false);

extern "C" fn on_stop(_: libc::c_int) {
    // Only async-signal-safe calls here: killpg and alarm are.
    if !STOPPING.swap(true, Ordering::SeqCst) {
        let pg = AGENT_PGID.load(Ordering::SeqCst);
        if pg > 0 {
            let _ = killpg(Pid::from_raw(pg), Signal::SIGTERM);
        }
        unsafe { libc::alarm(GRACE_SECS) };
    }
}

extern "C" fn on_alarm(_: libc::c_int) {
    let pg = AGENT_PGID.load(Ordering::SeqCst);
    if pg > 0 {
        let _ = killpg(Pid::from_raw(pg), Signal::SIGKILL);
    }
}

fn install_handlers() -> nix::Result<()> {
    // No SA_RESTART: waitpid must return EINTR so the loop sees the signal.
    let stop = SigAction::new(
        SigHandler::Handler(on_stop),
        SaFlags::empty(),
        SigSet::empty(),
    );
    let alarm = SigAction::new(
        SigHandler::Handler(on_alarm),
        SaFlags::empty(),
        SigSet::empty(),
    );
    unsafe {
        sigaction(Signal::SIGTERM, &stop)?;
        sigaction(Signal::SIGINT, &stop)?;
        sigaction(Signal::SIGALRM, &alarm)?;
        // Detached: a hangup is nobody's request to stop.
        sigaction(
            Signal::SIGHUP,
            &SigAction::new(SigHandler::SigIgn, SaFlags::empty(), SigSet::empty()),
        )?;
    }
    Ok(())
}

/// Runs the turn; returns the process exit code for the supervisor itself.
pub fn run(
    state_dir: &std::path::Path,
    id: &str,
    turn: u32,
    program: &OsString,
    args: &[OsString],
) -> Result<i32> {
    let store = Store::new(state_dir);
    let session = store.load(id)?;
    let lock_path = store.run_lock_path(id);
    // Blocking: a reader may hold it for an instant to test it.
    let _run_lock = Flock::lock(open_lock_file(&lock_path)?, FlockArg::LockExclusive)
        .map_err(|(_, e)| Error::io("lock", &lock_path, e.into()))?;

    let out_path = store.turn_path(id, turn);
    let err_path = store.stderr_path(id, turn);
    let open = |p: &std::path::Path| {
        OpenOptions::new()
            .create(true)
            .append(true)
            .open(p)
            .map_err(|e| Error::io("create", p, e))
    };
    let (stdout_file, stderr_file) = match (open(&out_path), open(&err_path)) {
        (Ok(o), Ok(e)) => (o, e),
        (Err(e), _) | (_, Err(e)) => {
            report(&format!("error {e}"));
            return Ok(1);
        }
    };
    process::become_subreaper();
    install_handlers()
        .map_err(|e| Error::io("install signal handlers for", &lock_path, e.into()))?;

    let child = Command::new(program)
        .args(args)
        .current_dir(&session.working_dir)
        // Inherited by every tool process the agent starts, even in other
        // process groups and sessions: how `doctor` finds a session's
        // strays after the supervisor is gone.
        .env(process::SESSION_ENV, id)
        .env(
            process::STORE_ENV,
            std::fs::canonicalize(store.root()).unwrap_or_else(|_| store.root().to_path_buf()),
        )
        .stdin(Stdio::null())
        .stdout(stdout_file)
        .stderr(stderr_file)
        .process_group(0)
        .spawn();
    let child = match child {
        Ok(c) => c,
        Err(e) => {
            report(&format!(
                "error cannot start {}: {e}",
                program.to_string_lossy()
            ));
            return Ok(1);
        }
    };
    let pid = child.id() as i32;
    AGENT_PGID.store(pid, Ordering::SeqCst);
    if STOPPING.load(Ordering::SeqCst) {
        // A stop arrived before the agent existed.
        let _ = killpg(Pid::from_raw(pid), Signal::SIGTERM);
    }
    let start_time = process::stat(pid).map(|s| s.start_time).unwrap_or(0);
    report(&format!("ready {pid} {start_time}"));
    detach_stdout();

    let exit = wait_for(pid);
    unsafe { libc::alarm(0) };
    if STOPPING.load(Ordering::SeqCst) {
        kill_leftovers();
        // A SIGTERM sent straight to the supervisor asks for a stop as much
        // as `zwarm kill` does: the turn was killed, not interrupted.
        store.update(id, |s| {
            if let Some(rec) = s.turns.iter_mut().rev().find(|t| t.turn == turn) {
                rec.stop_requested_at
                    .get_or_insert_with(crate::timefmt::Timestamp::now);
            }
            Ok(())
        })?;
    }
    settle(
        &store,
        id,
        turn,
        TurnEnd {
            exit: Some(exit),
            settled_by: "supervisor",
            ..Default::default()
        },
    )?;
    Ok(0)
}

fn wait_for(pid: i32) -> ExitStatus {
    loop {
        match waitpid(Pid::from_raw(pid), None) {
            Ok(WaitStatus::Exited(_, code)) => return ExitStatus::Code(code),
            Ok(WaitStatus::Signaled(_, sig, _)) => return ExitStatus::Signal(sig as i32),
            Ok(_) | Err(nix::errno::Errno::EINTR) => continue,
            // ECHILD cannot happen for our own child; treat it as lost.
            Err(_) => return ExitStatus::Signal(libc::SIGKILL),
        }
    }
}

fn report(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

/// The launcher stops reading after the first line; point stdout at /dev/null
/// so a late write can never block or fail.
fn detach_stdout() {
    if let Ok(null) = OpenOptions::new().write(true).open("/dev/null") {
        unsafe { libc::dup2(null.as_raw_fd(), libc::STDOUT_FILENO) };
    }
}

/// After a stop, whatever the agent started goes too: members of this
/// session, and descendants that left it (codex runs each tool command in a
/// session of its own), which were reparented here when the agent died.
fn kill_leftovers() {
    let me = std::process::id() as i32;
    for _ in 0..50 {
        let mut left = process::descendants(me);
        left.extend(
            process::session_members(me)
                .into_iter()
                .filter(|&p| p != me),
        );
        if left.is_empty() {
            return;
        }
        // The supervisor's stderr is its log file, supervisor.log.
        let _ = writeln!(
            std::io::stderr(),
            "zwarm supervisor: stopping processes left behind by the agent: {left:?}"
        );
        for pid in left {
            let _ = nix::sys::signal::kill(Pid::from_raw(pid), Signal::SIGKILL);
        }
        // Reap what was reparented to us.
        while let Ok(status) = waitpid(
            Pid::from_raw(-1),
            Some(nix::sys::wait::WaitPidFlag::WNOHANG),
        ) {
            if status == WaitStatus::StillAlive {
                break;
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}
