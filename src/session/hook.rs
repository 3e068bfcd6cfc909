//! The end-of-turn hook (`start --on-end CMD`): run by the supervisor once
//! the turn's ending is recorded and its run lock let go, so that `wait`
//! is not held up and the hook may itself `zwarm inject` the session.
//! Whatever the hook does, the session's status stays what was recorded.

use crate::process;
use crate::store::Store;
use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long a hook may run before it is stopped.
const LIMIT: Duration = Duration::from_secs(60);

/// Marks a hook's processes, which `doctor` and `kill` leave alone (they
/// carry no store mark either).
pub(crate) const HOOK_ENV: &str = "ZWARM_HOOK";

/// Runs turn `turn`'s hook, if it has one, with its output appended to
/// `turns/turn_N.hook.log`.
pub(crate) fn after_turn(store: &Store, id: &str, turn: u32) {
    let Ok(session) = store.load(id) else {
        return;
    };
    let Some(record) = session.turns.iter().rev().find(|t| t.turn == turn) else {
        return;
    };
    let Some(command) = record.on_end.as_deref().filter(|c| !c.trim().is_empty()) else {
        return;
    };
    let log = match store.turns(id, false).and_then(|turns| {
        turns
            .append_file(&format!("turn_{turn}.hook.log"), 0o666)
            .map_err(|e| crate::error::Error::io("open", store.turn_path(id, turn), e))
    }) {
        Ok(log) => log,
        Err(_) => return,
    };
    let (Ok(out), Ok(err)) = (log.try_clone(), log.try_clone()) else {
        return;
    };
    let spawned = Command::new("sh")
        .arg("-c")
        .arg(command)
        .current_dir(&session.working_dir)
        .env_remove(process::SUPERVISOR_ENV)
        .env_remove(process::STORE_ENV)
        .env(process::SESSION_ENV, id)
        .env("ZWARM_TURN", turn.to_string())
        .env("ZWARM_STATUS", session.status.as_str())
        .env("ZWARM_ENDING", record.ending().map_or("", |e| e.as_str()))
        .env(HOOK_ENV, "1")
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        // Its own group: stopped as one at the limit, and apart from the
        // agent's.
        .process_group(0)
        .spawn();
    let Ok(mut child) = spawned else {
        return;
    };
    let limit = std::env::var("ZWARM_TEST_HOOK_LIMIT_MS")
        .ok()
        .and_then(|ms| ms.parse().ok())
        .map_or(LIMIT, Duration::from_millis);
    let started = Instant::now();
    // A hook is short and rare: a plain wait with a deadline is enough.
    loop {
        match child.try_wait() {
            Ok(Some(_)) | Err(_) => return,
            Ok(None) if started.elapsed() >= limit => break,
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
        }
    }
    let group = Pid::from_raw(child.id() as i32);
    let _ = killpg(group, Signal::SIGTERM);
    std::thread::sleep(Duration::from_secs(2));
    let _ = killpg(group, Signal::SIGKILL);
    let _ = child.wait();
}
