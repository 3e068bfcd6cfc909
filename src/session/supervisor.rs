//! The hidden `__supervise` entry: one turn of one session. It holds the
//! session's run lock for its whole life (so a reader that can take the lock
//! knows it is gone), runs the agent in its own process group, waits for
//! it, and records how the turn ended.
//!
//! Protocol with the launcher:
//! - The launcher holds the session's write lock and hands it over as a
//!   descriptor ([`LOCK_FD`]): until the supervisor has recorded its agent
//!   running, the lock stays held even if the launcher dies, so no reader
//!   can settle a turn that is still being launched.
//! - On stdin, a [`LaunchRequest`]: the agent's program, arguments and
//!   working directory, and what the agent reads on its stdin (a prompt too
//!   long for one argument). Nothing of it passes through the supervisor's
//!   own argv, which the kernel caps.
//! - On stdout, one line: `ready <pid> <start_time>` once the agent runs and
//!   is recorded, or `error <message>` if it could not be started.

use crate::error::{Error, Result};
use crate::model::{Ending, ExitStatus, SessionStatus, SettledBy};
use crate::process;
use crate::process::ProcessRecord;
use crate::session::handover::{LaunchRequest, GRACE_SECS, LOCK_FD};
use crate::session::settle::{settle, TurnEnd};
use crate::store::{Store, TurnFile, WriteGuard};
use nix::fcntl::{Flock, FlockArg};
use nix::sys::signal::{killpg, sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::Pid;
use queued::{Admitted, Plan, Waiting};
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering};
use std::time::Duration;

/// The longest pause between attempts to record an ending the store could
/// not take (a full disk, a read-only remount).
const RETRY_MAX: Duration = Duration::from_secs(60);

static AGENT_PGID: AtomicI32 = AtomicI32::new(0);
static STOPPING: AtomicBool = AtomicBool::new(false);
/// The turn's timeout is armed on the alarm clock (until it fires or a stop
/// takes the clock over for its grace period).
static DEADLINE: AtomicBool = AtomicBool::new(false);
static TIMED_OUT: AtomicBool = AtomicBool::new(false);
/// The turn's timeout in seconds, once armed (for the ending's message).
static TIMEOUT_SECS: AtomicU64 = AtomicU64::new(0);

extern "C" fn on_stop(_: libc::c_int) {
    // Only async-signal-safe calls here: write (waking a queued wait),
    // killpg and alarm are.
    crate::queue::wait::notify_stop();
    begin_stop();
}

/// SIGTERM to the agent's group now, SIGKILL after the grace; false if a
/// stop was already under way.
fn begin_stop() -> bool {
    // Only async-signal-safe calls here: killpg and alarm are.
    if STOPPING.swap(true, Ordering::SeqCst) {
        return false;
    }
    let pg = AGENT_PGID.load(Ordering::SeqCst);
    if pg > 0 {
        let _ = killpg(Pid::from_raw(pg), Signal::SIGTERM);
    }
    // SAFETY: alarm only sets a timer.
    unsafe { libc::alarm(GRACE_SECS) };
    true
}

extern "C" fn on_alarm(_: libc::c_int) {
    if DEADLINE.swap(false, Ordering::SeqCst) && !STOPPING.load(Ordering::SeqCst) {
        // The deadline: stopped as `kill` stops a turn, SIGTERM then,
        // after the grace, SIGKILL.
        TIMED_OUT.store(true, Ordering::SeqCst);
        on_stop(libc::SIGALRM);
        return;
    }
    let pg = AGENT_PGID.load(Ordering::SeqCst);
    if pg > 0 {
        let _ = killpg(Pid::from_raw(pg), Signal::SIGKILL);
    }
}

fn install_handlers() -> std::io::Result<()> {
    crate::queue::wait::install()?;
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
    // SAFETY: the handlers only make async-signal-safe calls.
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
pub(crate) fn run(state_dir: &std::path::Path, id: &str, turn: u32) -> Result<i32> {
    let store = Store::new(state_dir);
    let mut raw = Vec::new();
    if let Err(e) = std::io::stdin().read_to_end(&mut raw) {
        report(&format!("error cannot read the launch request: {e}"));
        return Ok(1);
    }
    let Some(request) = LaunchRequest::decode(&raw) else {
        report("error the launch request is malformed");
        return Ok(1);
    };
    drop(raw);
    let write_lock = match store.inherited_write_lock(id, LOCK_FD) {
        Ok(lock) => lock,
        Err(e) => {
            report(&format!("error {e}"));
            return Ok(1);
        }
    };
    let run_lock_path = store.run_lock_path(id);
    // Blocking: a reader may hold it shared for an instant to test it.
    let run_lock = store.run_lock_file(id).and_then(|f| {
        Flock::lock(f, FlockArg::LockExclusive)
            .map_err(|(_, e)| Error::io("lock", &run_lock_path, e.into()))
    });
    let run_lock = match run_lock {
        Ok(lock) => lock,
        Err(e) => {
            report(&format!("error {e}"));
            return Ok(1);
        }
    };
    if let Err(e) = install_handlers() {
        report(&format!("error cannot install signal handlers: {e}"));
        return Ok(1);
    }
    let plan = match write_lock.load() {
        Ok(session) => Plan::of(&session, turn),
        Err(e) => {
            report(&format!("error {e}"));
            return Ok(1);
        }
    };
    let (write_lock, slot, waited) = match queued::admit(&store, id, turn, &plan) {
        Admitted::Start(slot) => (write_lock, slot, false),
        Admitted::DependencyFailed(why) => {
            let end = not_started(Ending::DependencyFailed, why);
            match settle(&store, &write_lock, turn, end) {
                Ok(_) => report("ended"),
                Err(e) => report(&format!("error {e}")),
            }
            return Ok(0);
        }
        Admitted::Wait => {
            let enqueued = match queued::enqueue(&store, &write_lock, id, turn, &plan) {
                Ok(enqueued) => enqueued,
                Err(why) => {
                    report(&format!("error {why}"));
                    return Ok(0);
                }
            };
            drop(write_lock);
            report(&format!("queued {}", std::process::id()));
            detach_stdout();
            let waited =
                queued::wait_turn(&store, id, turn, &plan, enqueued.ticket, enqueued.place);
            let slot = match waited {
                Ok(Waiting::Start(slot)) => slot,
                Ok(Waiting::DependencyFailed(why)) => {
                    record_end(&store, id, turn, not_started(Ending::DependencyFailed, why));
                    return Ok(0);
                }
                Ok(Waiting::Stopped) => {
                    let end = TurnEnd {
                        settled_by: SettledBy::Supervisor,
                        stop_requested: true,
                        ..Default::default()
                    };
                    record_end(&store, id, turn, end);
                    return Ok(0);
                }
                Err(e) => {
                    let why = format!("zwarm could not wait in the queue: {e}");
                    record_end(&store, id, turn, not_started(Ending::Failed, why));
                    return Ok(0);
                }
            };
            match store.write_lock(id) {
                Ok(lock) => (lock, slot, true),
                Err(e) => {
                    log(&format!(
                        "cannot take the session's lock to start turn {turn}: {e}"
                    ));
                    return Ok(0);
                }
            }
        }
    };
    match start_agent(&store, id, turn, &request, write_lock, waited) {
        Ok(agent) => {
            report(&format!("ready {} {}", agent.pid, agent.start_time));
            detach_stdout();
            supervise(&store, id, turn, agent.pid);
            // The turn is over and recorded: the slot goes to the next in
            // line, readers and `wait` go on, and the hook may start the
            // next turn.
            drop(slot);
            drop(run_lock);
            super::hook::after_turn(&store, id, turn);
        }
        // Nobody waits for a report any more: the ending is recorded here.
        Err(why) if waited => {
            let end = match why.strip_prefix("missing ") {
                Some(why) => TurnEnd {
                    spawn_error: Some(why.to_string()),
                    settled_by: SettledBy::Supervisor,
                    ..Default::default()
                },
                None => not_started(Ending::Failed, why),
            };
            record_end(&store, id, turn, end);
        }
        Err(why) => report(&format!("error {why}")),
    }
    Ok(0)
}

/// The ending of a turn whose agent never started.
fn not_started(ending: Ending, why: String) -> TurnEnd {
    TurnEnd {
        not_started: Some((ending, why)),
        settled_by: SettledBy::Supervisor,
        ..Default::default()
    }
}

/// Starts the agent and records it running, under the write lock the
/// launcher handed over (closed here, once the record is written).
fn start_agent(
    store: &Store,
    id: &str,
    turn: u32,
    request: &LaunchRequest,
    write_lock: WriteGuard,
    waited: bool,
) -> std::result::Result<ProcessRecord, String> {
    let mut session = write_lock.load().map_err(|e| e.to_string())?;
    let me = std::process::id() as i32;
    // Launched once: a turn already settled (by a reader that found its
    // launcher dead, or a kill while it was queued) or already running is
    // not started again.
    let waiting = session.turn == turn
        && session.status.is_active()
        && session.current_turn().is_some_and(|t| {
            t.is_open()
                && t.agent.is_none()
                && t.supervisor.as_ref().is_none_or(|s| waited && s.pid == me)
        });
    if !waiting {
        return Err(format!("turn {turn} is no longer waiting to be launched"));
    }
    if waited {
        // The tree may have changed while the turn waited (a session it
        // came after worked in it): its start is now.
        let root = store.canonical_root();
        let snap = super::snapshots::at_start(&session, turn, &root);
        if let Some(rec) = session.current_turn_mut() {
            rec.started_at = Some(crate::timefmt::Timestamp::now());
            if snap.is_some() {
                rec.snapshot = snap;
            }
        }
    }
    let turns = store.turns(id, true).map_err(|e| e.to_string())?;
    let open = |which: TurnFile| {
        let name = which.name(turn);
        turns
            .append_file(&name, 0o666)
            .map_err(|e| format!("create {}: {e}", turns.join(&name).display()))
    };
    let (stdout_file, stderr_file) = (open(TurnFile::Output)?, open(TurnFile::Stderr)?);
    let stdin = match &request.stdin {
        Some(bytes) => {
            Stdio::from(memory_file(bytes).map_err(|e| format!("cannot hold the prompt: {e}"))?)
        }
        None => Stdio::null(),
    };
    process::become_subreaper();
    let child = Command::new(&request.program)
        .args(&request.args)
        .current_dir(&request.working_dir)
        // Inherited by every tool process the agent starts, even in other
        // process groups and sessions: how `doctor` finds a session's
        // strays after the supervisor is gone, and how `kill` knows a
        // recorded pid is this session's before signalling it.
        .env(process::SESSION_ENV, id)
        .env(process::STORE_ENV, store.canonical_root())
        .env_remove(process::SUPERVISOR_ENV)
        .stdin(stdin)
        .stdout(stdout_file)
        .stderr(stderr_file)
        .process_group(0)
        .spawn()
        // The launcher records this one as the agent missing.
        .map_err(|e| {
            format!(
                "missing cannot start {}: {e}",
                request.program.to_string_lossy()
            )
        })?;
    let pid = child.id() as i32;
    AGENT_PGID.store(pid, Ordering::SeqCst);
    // Counted from the agent's start, not from the launch.
    let timeout = session.current_turn().and_then(|t| t.timeout_secs);
    if let Some(secs) = timeout.filter(|s| *s > 0) {
        TIMEOUT_SECS.store(secs, Ordering::SeqCst);
        DEADLINE.store(true, Ordering::SeqCst);
        // SAFETY: alarm only sets a timer.
        unsafe { libc::alarm(u32::try_from(secs).unwrap_or(u32::MAX)) };
    }
    if STOPPING.load(Ordering::SeqCst) {
        // A stop arrived before the agent existed.
        let _ = killpg(Pid::from_raw(pid), Signal::SIGTERM);
    }
    let agent = ProcessRecord {
        pid,
        start_time: process::stat(pid).map(|s| s.start_time).unwrap_or(0),
    };
    session.status = SessionStatus::Running;
    session.pid = Some(me);
    if let Some(rec) = session.current_turn_mut() {
        rec.supervisor = process::record(me);
        rec.agent = Some(agent);
        rec.boot_id = process::boot_id();
    }
    if let Err(e) = write_lock.save(&mut session) {
        // Unrecorded, the agent would run with nothing on disk to show it:
        // it is stopped, and the launcher records why.
        let _ = killpg(Pid::from_raw(pid), Signal::SIGKILL);
        let _ = waitpid(Pid::from_raw(pid), None);
        return Err(format!("cannot record the running turn: {e}"));
    }
    drop(write_lock);
    Ok(agent)
}

/// Waits for the agent and records how the turn ended.
fn supervise(store: &Store, id: &str, turn: u32, pid: i32) {
    // Stopped for its budget as a timeout stops it.
    let budget = super::budget::follow(store, id, turn, begin_stop);
    // The agent is waited for without being reaped: until it is, its pid,
    // the id of its group, cannot be handed to another process, so the
    // handlers (and the budget's follower) may still signal that group.
    // Once they can no longer, it is reaped.
    wait_exited(pid);
    let over_budget = budget.and_then(super::budget::Follower::finish);
    // SAFETY: alarm only cancels the timer.
    unsafe { libc::alarm(0) };
    AGENT_PGID.store(0, Ordering::SeqCst);
    let exit = wait_for(pid);
    let stopping = STOPPING.load(Ordering::SeqCst);
    let timed_out = TIMED_OUT.load(Ordering::SeqCst);
    if stopping {
        kill_leftovers();
    }
    // What the agent left, before anything else can change it; recorded
    // with the ending.
    let snapshot = store
        .load(id)
        .ok()
        .and_then(|s| super::snapshots::at_end(&s, turn, &store.canonical_root()));
    let end = TurnEnd {
        exit: Some(exit),
        snapshot,
        settled_by: SettledBy::Supervisor,
        // A SIGTERM sent straight to the supervisor asks for a stop as much
        // as `zwarm kill` does: the turn was killed, not interrupted.
        stop_requested: stopping && !timed_out && over_budget.is_none(),
        timed_out: timed_out.then(|| TIMEOUT_SECS.load(Ordering::SeqCst)),
        over_budget,
        ..Default::default()
    };
    record_end(store, id, turn, end);
}

/// Records the ending, trying again for as long as the store cannot take
/// the write: holding the run lock meanwhile, no reader settles the turn
/// from lesser evidence (a kill it can no longer see, an exit code).
fn record_end(store: &Store, id: &str, turn: u32, end: TurnEnd) {
    let mut pause = Duration::from_millis(500);
    loop {
        let attempt = store
            .write_lock(id)
            .and_then(|guard| settle(store, &guard, turn, end.clone()));
        let why = match attempt {
            Ok(settled) => match settled.unsaved {
                None => return,
                Some(e) => e,
            },
            Err(e) if e.is_unwritable() => e,
            // Gone (removed) or unreadable: nothing left to record into.
            Err(e) => {
                log(&format!("cannot record how turn {turn} ended: {e}"));
                return;
            }
        };
        log(&format!(
            "cannot record how turn {turn} ended yet ({why}); trying again in {}s",
            pause.as_secs()
        ));
        std::thread::sleep(pause);
        pause = (pause * 2).min(RETRY_MAX);
    }
}

/// An anonymous file holding `bytes`, positioned at its start: the agent's
/// stdin for a prompt too long for an argument. It never touches the store.
fn memory_file(bytes: &[u8]) -> std::io::Result<File> {
    // SAFETY: memfd_create takes a NUL-terminated name and flags.
    let fd = unsafe { libc::memfd_create(c"zwarm-prompt".as_ptr(), libc::MFD_CLOEXEC) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: fd was just returned to us and is owned here only.
    let mut file = unsafe { <File as std::os::fd::FromRawFd>::from_raw_fd(fd) };
    file.write_all(bytes)?;
    std::io::Seek::rewind(&mut file)?;
    Ok(file)
}

/// Blocks until the child `pid` has exited, leaving it unreaped.
fn wait_exited(pid: i32) {
    use nix::sys::wait::{waitid, Id, WaitPidFlag};
    loop {
        match waitid(
            Id::Pid(Pid::from_raw(pid)),
            WaitPidFlag::WEXITED | WaitPidFlag::WNOWAIT,
        ) {
            Err(nix::errno::Errno::EINTR) => continue,
            _ => return,
        }
    }
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

/// The supervisor's stderr is its log file, supervisor.log.
fn log(line: &str) {
    let _ = writeln!(std::io::stderr(), "zwarm supervisor: {line}");
}

/// The launcher stops reading after the first line; point stdout at /dev/null
/// so a late write can never block or fail.
fn detach_stdout() {
    if let Ok(null) = OpenOptions::new().write(true).open("/dev/null") {
        // SAFETY: dup2 onto our own stdout; both descriptors are valid.
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
        log(&format!(
            "stopping processes left behind by the agent: {left:?}"
        ));
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
        std::thread::sleep(Duration::from_millis(10));
    }
}

mod queued;
