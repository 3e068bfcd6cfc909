//! A check of the whole store: what does not add up, and, when asked, the
//! repairs that lose nothing (settle what can be settled, stop stray
//! processes, move unreadable sessions aside; never delete a session's data).

use super::manager::{Liveness, Manager};
use super::model::Session;
use super::stall;
use super::status::Vanished;
use crate::error::Error;
use crate::process;
use crate::timefmt::Timestamp;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A session folder without `meta.json` younger than this is being created.
const CREATING_GRACE_SECS: u64 = 10;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Active on disk with nothing behind it.
    StaleRunning,
    /// Running, but only retrying.
    Stalled,
    /// A process of a session that is not running (or no longer exists).
    StrayProcess,
    /// `meta.json` missing or unparsable.
    UnreadableMeta,
    /// A finished turn whose output file is gone.
    MissingTurnFile,
    /// A temporary file of a write that never completed.
    TempFile,
    /// A half-done `rm`.
    InterruptedRemoval,
    /// A session folder whose creation never finished (`.creating-<id>`).
    InterruptedCreation,
    /// The run lock held by a process that is not the session's supervisor.
    ForeignLockHolder,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::StaleRunning => "stale_running",
            Kind::Stalled => "stalled",
            Kind::StrayProcess => "stray_process",
            Kind::UnreadableMeta => "unreadable_meta",
            Kind::MissingTurnFile => "missing_turn_file",
            Kind::TempFile => "temp_file",
            Kind::InterruptedRemoval => "interrupted_removal",
            Kind::InterruptedCreation => "interrupted_creation",
            Kind::ForeignLockHolder => "foreign_lock_holder",
        }
    }
}

#[derive(Clone, Debug)]
pub struct Finding {
    pub kind: Kind,
    pub session: Option<String>,
    pub detail: String,
    /// What `--fix` did about it; None when nothing was done.
    pub action: Option<String>,
    pub fixed: bool,
}

impl Finding {
    fn new(kind: Kind, session: Option<&str>, detail: String) -> Self {
        Finding {
            kind,
            session: session.map(str::to_string),
            detail,
            action: None,
            fixed: false,
        }
    }

    fn done(&mut self, action: String) {
        self.action = Some(action);
        self.fixed = true;
    }

    fn failed(&mut self, why: String) {
        self.action = Some(why);
    }
}

/// Checks the store; with `fix`, repairs what it safely can.
pub fn examine(manager: &Manager, fix: bool, stall_after: Duration) -> Vec<Finding> {
    let store = manager.store();
    let mut out = Vec::new();
    let (sessions, problems) = match store.load_all() {
        Ok(x) => x,
        Err(e) => {
            out.push(Finding::new(
                Kind::UnreadableMeta,
                None,
                format!("cannot read the store: {e}"),
            ));
            return out;
        }
    };

    for problem in problems {
        let dir = store.session_dir(&problem.id);
        if matches!(problem.error, Error::Io { .. }) && is_young(&dir) {
            continue;
        }
        let mut f = Finding::new(
            Kind::UnreadableMeta,
            Some(&problem.id),
            problem.error.to_string(),
        );
        // A supervisor still runs its turn and will write there again:
        // moving the folder from under it would lose what the turn does.
        let running = manager.supervisor_running(&problem.id);
        if running {
            f.detail.push_str(
                "; its supervisor still runs a turn (the file may be rewritten when it ends)",
            );
        }
        if fix && running {
            f.failed(
                "left in place while its supervisor runs; run doctor again once it ends".into(),
            );
        } else if fix {
            match quarantine(store.root(), &dir, &problem.id) {
                Ok(to) => f.done(format!("moved the session folder to {}", to.display())),
                Err(e) => f.failed(format!("could not move it aside: {e}")),
            }
        }
        out.push(f);
    }

    let mut alive: HashMap<&str, bool> = HashMap::new();
    for s in &sessions {
        let liveness = manager.assess(s);
        alive.insert(
            &s.id,
            matches!(liveness, Liveness::Alive | Liveness::Launching),
        );
        check_session(manager, s, liveness, fix, stall_after, &mut out);
    }

    let root = std::fs::canonicalize(store.root()).unwrap_or_else(|_| store.root().to_path_buf());
    for (pid, id) in process::tagged_processes(&root) {
        if alive.get(id.as_str()).copied().unwrap_or(false) {
            continue;
        }
        let whose = if alive.contains_key(id.as_str()) {
            "a session that is not running"
        } else if crate::store::is_valid_id(&id) && store.session_dir(&id).is_dir() {
            // Its meta.json cannot be read, but its supervisor may still run
            // the turn this process belongs to: not stray then.
            if manager.supervisor_running(&id) {
                continue;
            }
            "a session whose meta.json cannot be read"
        } else {
            "a session that no longer exists"
        };
        let mut f = Finding::new(
            Kind::StrayProcess,
            Some(&id),
            format!("process {pid} ({}) belongs to {whose}", command_name(pid)),
        );
        if fix {
            if stop_process(pid) {
                f.done(format!("stopped process {pid}"));
            } else {
                f.failed(format!("process {pid} did not stop"));
            }
        }
        out.push(f);
    }

    stray_files(store.root(), &store.sessions_dir(), fix, &mut out);
    stray_index_files(store.root(), fix, &mut out);
    out
}

fn check_session(
    manager: &Manager,
    s: &Session,
    liveness: Liveness,
    fix: bool,
    stall_after: Duration,
    out: &mut Vec<Finding>,
) {
    let store = manager.store();
    let why = match liveness {
        Liveness::Orphaned(Vanished::Reboot) => Some("the machine restarted during its turn"),
        // zwarm 2.3.5 ran the agent without a supervisor.
        Liveness::Orphaned(Vanished::Supervisor | Vanished::Agent) if s.turns.is_empty() => {
            Some("its agent is gone without recording an ending")
        }
        Liveness::Orphaned(_) => {
            Some("its supervisor and agent are gone without recording an ending")
        }
        Liveness::NeverStarted => Some("its supervisor never started"),
        _ => None,
    };
    if let Some(why) = why {
        let mut f = Finding::new(
            Kind::StaleRunning,
            Some(&s.id),
            format!("{} on disk, but {why}", s.status),
        );
        if fix {
            match manager.refresh(s.clone()) {
                Ok(settled) => f.done(format!("settled as {}", settled.status)),
                Err(e) => f.failed(format!("could not settle it: {e}")),
            }
        }
        out.push(f);
    }
    if liveness == Liveness::Alive {
        if let Some(st) = stall::detect(store, s, stall_after) {
            out.push(Finding::new(
                Kind::Stalled,
                Some(&s.id),
                format!(
                    "running, but only retrying for {} ({} retries{})",
                    crate::timefmt::compact_duration(st.since.age_seconds()),
                    st.retries,
                    st.last_retry
                        .as_deref()
                        .map(|r| format!(": {}", crate::agent::first_line(r)))
                        .unwrap_or_default()
                ),
            ));
        }
        if let Some(holder) = foreign_lock_holder(manager, s) {
            out.push(Finding::new(
                Kind::ForeignLockHolder,
                Some(&s.id),
                format!(
                    "its run lock is held by process {holder} ({}), not by its supervisor; \
                     the session reads as running until that process ends",
                    command_name(holder)
                ),
            ));
        }
    }
    for t in s
        .turns
        .iter()
        .filter(|t| !t.is_open() && !s.turn_may_lack_output(t.turn))
    {
        if !store.turn_path(&s.id, t.turn).exists() {
            out.push(Finding::new(
                Kind::MissingTurnFile,
                Some(&s.id),
                format!(
                    "turn {} has no output file (turns/turn_{}.jsonl)",
                    t.turn, t.turn
                ),
            ));
        }
    }
}

/// Leftovers of interrupted writes and removals.
fn stray_files(root: &Path, sessions: &Path, fix: bool, out: &mut Vec<Finding>) {
    let Ok(entries) = std::fs::read_dir(sessions) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        if let Some(id) = name.strip_prefix(".removing-") {
            let mut f = Finding::new(
                Kind::InterruptedRemoval,
                Some(id),
                format!("{} is what remains of an interrupted `rm`", path.display()),
            );
            if fix {
                match std::fs::remove_dir_all(&path) {
                    Ok(()) => f.done("finished the removal".into()),
                    Err(e) => f.failed(format!("could not finish the removal: {e}")),
                }
            }
            out.push(f);
            continue;
        }
        if let Some(id) = name.strip_prefix(".creating-") {
            // Made and renamed into place within moments; a young one is a
            // `start` under way.
            if is_young(&path) {
                continue;
            }
            let mut f = Finding::new(
                Kind::InterruptedCreation,
                Some(id),
                format!(
                    "{} is a session whose creation never finished (it never started)",
                    path.display()
                ),
            );
            if fix {
                match quarantine(root, &path, id) {
                    Ok(to) => f.done(format!("moved it to {}", to.display())),
                    Err(e) => f.failed(format!("could not move it aside: {e}")),
                }
            }
            out.push(f);
            continue;
        }
        if !crate::store::is_valid_id(&name) {
            continue;
        }
        let Ok(files) = std::fs::read_dir(&path) else {
            continue;
        };
        for file in files.flatten() {
            let fname = file.file_name().to_string_lossy().into_owned();
            let Some(pid) = temp_file_writer(&fname) else {
                continue;
            };
            if process::stat(pid).is_some() && !is_old(&file.path()) {
                continue; // a write in progress
            }
            let mut f = Finding::new(
                Kind::TempFile,
                Some(&name),
                format!("{fname} was left by a write that never completed"),
            );
            if fix {
                match quarantine_file(root, &file.path(), &name) {
                    Ok(to) => f.done(format!("moved it to {}", to.display())),
                    Err(e) => f.failed(format!("could not move it aside: {e}")),
                }
            }
            out.push(f);
        }
    }
}

/// Temporary files of the list index whose writer is gone. The index is a
/// cache: removing them loses nothing.
fn stray_index_files(root: &Path, fix: bool, out: &mut Vec<Finding>) {
    let Ok(entries) = std::fs::read_dir(root.join(crate::list_index::DIR_NAME)) else {
        return;
    };
    for file in entries.flatten() {
        let Some(pid) = temp_file_writer(&file.file_name().to_string_lossy()) else {
            continue;
        };
        let path = file.path();
        if process::stat(pid).is_some() && !is_old(&path) {
            continue; // a write in progress
        }
        let mut f = Finding::new(
            Kind::TempFile,
            None,
            format!(
                "{} was left by a write of the list index that never completed",
                path.display()
            ),
        );
        if fix {
            match std::fs::remove_file(&path) {
                Ok(()) => f.done("removed it (the index is a cache)".into()),
                Err(e) => f.failed(format!("could not remove it: {e}")),
            }
        }
        out.push(f);
    }
}

/// `.meta.json.<pid>.tmp` → the writer's pid.
fn temp_file_writer(name: &str) -> Option<i32> {
    let rest = name.strip_prefix('.')?.strip_suffix(".tmp")?;
    rest.rsplit_once('.')?.1.parse().ok()
}

fn is_young(dir: &Path) -> bool {
    modified_age(dir).is_some_and(|age| age < Duration::from_secs(CREATING_GRACE_SECS))
}

fn is_old(path: &Path) -> bool {
    modified_age(path).is_some_and(|age| age > Duration::from_secs(3600))
}

fn modified_age(path: &Path) -> Option<Duration> {
    std::fs::metadata(path)
        .ok()?
        .modified()
        .ok()?
        .elapsed()
        .ok()
}

fn quarantine_dir(root: &Path) -> PathBuf {
    root.join("quarantine")
}

/// Moves an unreadable session folder out of `sessions/`, keeping all of it.
fn quarantine(root: &Path, dir: &Path, id: &str) -> std::io::Result<PathBuf> {
    let q = quarantine_dir(root);
    std::fs::create_dir_all(&q)?;
    let to = q.join(format!("{id}.{}", stamp()));
    std::fs::rename(dir, &to)?;
    Ok(to)
}

fn quarantine_file(root: &Path, file: &Path, id: &str) -> std::io::Result<PathBuf> {
    let q = quarantine_dir(root).join(id);
    std::fs::create_dir_all(&q)?;
    let name = file.file_name().unwrap_or_default().to_string_lossy();
    let to = q.join(format!("{name}.{}", stamp()));
    std::fs::rename(file, &to)?;
    Ok(to)
}

fn stamp() -> String {
    Timestamp::now().0.format("%Y%m%dT%H%M%S%.6f").to_string()
}

/// SIGTERM, a short grace, then SIGKILL.
fn stop_process(pid: i32) -> bool {
    let Some(rec) = process::record(pid) else {
        return true;
    };
    let _ = kill(Pid::from_raw(pid), Signal::SIGTERM);
    let deadline = Instant::now() + Duration::from_secs(2);
    while process::is_alive(&rec) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    process::signal_if_same(&rec, Signal::SIGKILL);
    let deadline = Instant::now() + Duration::from_secs(1);
    while process::is_alive(&rec) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    !process::is_alive(&rec)
}

fn command_name(pid: i32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "?".into())
}

/// The holder of the session's run lock, if that is not its supervisor.
fn foreign_lock_holder(manager: &Manager, s: &Session) -> Option<i32> {
    let supervisor = s.current_turn()?.supervisor?;
    let lock = manager.store().run_lock_path(&s.id);
    let meta = std::fs::metadata(&lock).ok()?;
    let locks = std::fs::read_to_string("/proc/locks").ok()?;
    lock_holders(&locks, meta.dev(), meta.ino())
        .into_iter()
        .find(|&pid| pid != supervisor.pid)
}

/// Pids holding a lock on the file with this device and inode, from the
/// text of `/proc/locks` ("1: FLOCK ADVISORY WRITE 1234 00:2f:5678 0 EOF").
fn lock_holders(text: &str, dev: u64, ino: u64) -> Vec<i32> {
    let major = libc::major(dev);
    let minor = libc::minor(dev);
    text.lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            // Blocked waiters are listed with "->" and hold nothing.
            let f = if f.get(1) == Some(&"->") {
                return None;
            } else {
                f
            };
            let pid: i32 = f.get(4)?.parse().ok()?;
            let mut id = f.get(5)?.split(':');
            let maj = u32::from_str_radix(id.next()?, 16).ok()?;
            let min = u32::from_str_radix(id.next()?, 16).ok()?;
            let inode: u64 = id.next()?.parse().ok()?;
            (maj == major && min == minor && inode == ino).then_some(pid)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_lock_holders() {
        let text = "1: FLOCK  ADVISORY  WRITE 4242 00:2f:1234 0 EOF\n\
                    1: -> FLOCK  ADVISORY  WRITE 5151 00:2f:1234 0 EOF\n\
                    2: POSIX  ADVISORY  WRITE 77 08:01:99 0 EOF\n";
        let dev = libc::makedev(0, 0x2f);
        assert_eq!(lock_holders(text, dev, 1234), vec![4242]);
        assert_eq!(lock_holders(text, libc::makedev(8, 1), 99), vec![77]);
        assert!(lock_holders(text, dev, 99).is_empty());
    }

    #[test]
    fn a_creation_that_never_finished_is_moved_aside_once_it_is_not_under_way() {
        let root = tempfile::tempdir().unwrap();
        let sessions = root.path().join("sessions");
        let id = "0b5e7a1c-0000-4000-8000-000000000001";
        let left = sessions.join(format!(".creating-{id}"));
        std::fs::create_dir_all(left.join("turns")).unwrap();
        std::fs::write(left.join("meta.json"), b"{}").unwrap();
        let mut found = Vec::new();
        stray_files(root.path(), &sessions, true, &mut found);
        assert!(found.is_empty(), "a start under way: {found:?}");
        std::fs::File::open(&left)
            .unwrap()
            .set_modified(std::time::SystemTime::now() - Duration::from_secs(60))
            .unwrap();
        stray_files(root.path(), &sessions, false, &mut found);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(
            (found[0].kind, found[0].session.as_deref()),
            (Kind::InterruptedCreation, Some(id))
        );
        assert!(left.exists(), "reported, not moved");
        let mut fixed = Vec::new();
        stray_files(root.path(), &sessions, true, &mut fixed);
        assert!(fixed[0].fixed, "{fixed:?}");
        assert!(!left.exists());
        let moved: Vec<_> = std::fs::read_dir(quarantine_dir(root.path()))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert_eq!(moved.len(), 1);
        assert!(moved[0].join("meta.json").is_file(), "nothing lost");
    }

    #[test]
    fn finds_and_removes_what_a_write_of_the_index_left() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join(crate::list_index::DIR_NAME);
        std::fs::create_dir(&dir).unwrap();
        let dead_pid = {
            let mut c = std::process::Command::new("true").spawn().unwrap();
            c.wait().unwrap();
            c.id()
        };
        let left = dir.join(format!(".a.{dead_pid}.tmp"));
        let writing = dir.join(format!(".b.{}.tmp", std::process::id()));
        for file in [&left, &writing, &dir.join("a")] {
            std::fs::write(file, b"x").unwrap();
        }
        let mut found = Vec::new();
        stray_index_files(root.path(), false, &mut found);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].kind, Kind::TempFile);
        assert!(found[0].detail.contains(&format!(".a.{dead_pid}.tmp")));
        assert!(left.exists());
        let mut fixed = Vec::new();
        stray_index_files(root.path(), true, &mut fixed);
        assert!(fixed[0].fixed);
        assert!(!left.exists());
        assert!(writing.exists() && dir.join("a").exists());
    }

    #[test]
    fn recognises_temp_files() {
        assert_eq!(temp_file_writer(".meta.json.4242.tmp"), Some(4242));
        assert_eq!(temp_file_writer("meta.json"), None);
        assert_eq!(temp_file_writer(".meta.json.x.tmp"), None);
    }
}
