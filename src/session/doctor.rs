//! A check of the whole store: what does not add up, and, when asked, the
//! repairs that lose nothing (settle what can be settled, stop stray
//! processes, move unreadable sessions aside; never delete a session's data).

use super::manager::{Liveness, Manager};
use super::stall;
use super::status::Vanished;
use crate::dir::Dir;
use crate::error::Error;
use crate::model::Session;
use crate::process;
use crate::store::rights::{self, RightsDir};
use crate::store::{WriteGuard, CREATING};
use crate::timefmt::Timestamp;
use nix::sys::signal::Signal;
use std::collections::HashMap;
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
    /// `meta.json` missing, unparsable or too large to read.
    UnreadableMeta,
    /// A finished turn whose output file is gone.
    MissingTurnFile,
    /// A session's turn files cannot be read (`turns/` unreadable, a link,
    /// not a folder).
    UnreadableTurns,
    /// A temporary file of a write that never completed.
    TempFile,
    /// A half-done `rm`.
    InterruptedRemoval,
    /// A session folder whose creation never finished (`.creating-<id>`).
    InterruptedCreation,
    /// The run lock held by a process that is not the session's supervisor.
    ForeignLockHolder,
    /// `meta.json` asks for other rights (sandbox, adapter, working
    /// directory) than the session was started with.
    RightsMismatch,
    /// A record of rights whose session is gone from this store.
    OrphanRights,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::StaleRunning => "stale_running",
            Kind::Stalled => "stalled",
            Kind::StrayProcess => "stray_process",
            Kind::UnreadableMeta => "unreadable_meta",
            Kind::MissingTurnFile => "missing_turn_file",
            Kind::UnreadableTurns => "unreadable_turns",
            Kind::TempFile => "temp_file",
            Kind::InterruptedRemoval => "interrupted_removal",
            Kind::InterruptedCreation => "interrupted_creation",
            Kind::ForeignLockHolder => "foreign_lock_holder",
            Kind::RightsMismatch => "rights_mismatch",
            Kind::OrphanRights => "orphan_rights",
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

/// Checks the store; with `fix`, repairs what it safely can. Every repair
/// that could touch live work (settling a turn, stopping a process, moving a
/// folder) is decided again under the session's write lock, where no turn
/// can be launched meanwhile; a session whose lock is held is left for
/// another time.
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
        if let Some(f) = unreadable(manager, &problem.id, &problem.error, fix) {
            out.push(f);
        }
    }

    let mut alive: HashMap<&str, bool> = HashMap::new();
    for s in &sessions {
        let liveness = manager.assess(s);
        alive.insert(&s.id, liveness == Liveness::Alive);
        check_session(manager, s, liveness, fix, stall_after, &mut out);
    }

    let root = manager.canonical_root();
    for (pid, id) in process::tagged_processes(&root) {
        if alive.get(id.as_str()).copied().unwrap_or(false) {
            continue;
        }
        let Some(rec) = process::record(pid) else {
            continue;
        };
        // Proven again, under the session's write lock, at the moment of
        // signalling: a turn launched since the sessions were read has a
        // supervisor by now, or its launcher holds the lock.
        let verdict = stray_verdict(manager, &id, fix, |guard_held| {
            let mut f = Finding::new(
                Kind::StrayProcess,
                Some(&id),
                format!(
                    "process {pid} ({}) belongs to {guard_held}",
                    command_name(pid)
                ),
            );
            if fix {
                if stop_process(&rec, &id, &root) {
                    f.done(format!("stopped process {pid}"));
                } else {
                    f.failed(format!("process {pid} did not stop"));
                }
            }
            f
        });
        out.extend(verdict);
    }

    rights_records(manager, &sessions, fix, &mut out);
    stray_files(store.root(), &store.sessions_dir(), fix, &mut out);
    stray_index_files(store.root(), fix, &mut out);
    out
}

/// The records of rights kept outside the store: each session's must agree
/// with its `meta.json` (`inject` refuses it otherwise), and a record of
/// this store whose session is gone is removed by `--fix` (it holds nothing
/// but what the session was started with).
fn rights_records(manager: &Manager, sessions: &[Session], fix: bool, out: &mut Vec<Finding>) {
    let Ok(rights) = RightsDir::from_env() else {
        return;
    };
    let root = manager.canonical_root();
    for s in sessions {
        let Ok(Some(record)) = rights.load(&s.id) else {
            continue;
        };
        if let Err(m) = rights::check_session(&record, &root, s) {
            out.push(Finding::new(
                Kind::RightsMismatch,
                Some(&s.id),
                format!("{m}; `inject` refuses this session until meta.json agrees"),
            ));
        }
    }
    let Ok(ids) = rights.ids() else {
        return;
    };
    let store = manager.store();
    for id in ids {
        let Ok(Some(record)) = rights.load(&id) else {
            continue;
        };
        let creating = store.sessions_dir().join(format!("{CREATING}{id}"));
        // A record is written just before its session folder: one under
        // way is not an orphan.
        if record.store != root
            || store.session_dir(&id).exists()
            || creating.exists()
            || record.written_at.age_seconds() < CREATING_GRACE_SECS as f64
        {
            continue;
        }
        let mut f = Finding::new(
            Kind::OrphanRights,
            Some(&id),
            format!(
                "{} records the rights of a session that is no longer in this store",
                rights.path(&id).display()
            ),
        );
        if fix {
            match rights.remove(&id) {
                Ok(_) => f.done("removed the record".into()),
                Err(e) => f.failed(format!("could not remove it: {e}")),
            }
        }
        out.push(f);
    }
}

/// The session's write lock for a decision of doctor's: with `fix`, taken
/// (None while somebody holds it); without, only asked about, as a report
/// writes nothing, not even a lock file (Some(None) when free).
fn decision_lock(manager: &Manager, id: &str, fix: bool) -> Option<Option<WriteGuard>> {
    if fix {
        manager.store().try_write_lock(id).ok()?.map(Some)
    } else {
        (!manager.store().write_lock_busy(id)).then_some(None)
    }
}

/// A session whose `meta.json` cannot be read: reported; with `fix`, moved
/// into quarantine unless it is too large to read (nothing else is wrong
/// with it that a move would mend) or a supervisor still works in it.
fn unreadable(manager: &Manager, id: &str, error: &Error, fix: bool) -> Option<Finding> {
    let store = manager.store();
    let dir = store.session_dir(id);
    if matches!(error, Error::Io { .. }) && is_young(&dir) {
        return None;
    }
    let mut f = Finding::new(Kind::UnreadableMeta, Some(id), error.to_string());
    // No turn can be launched from a file that cannot be read: a launch
    // already under way (holding the lock) is all there is to wait for,
    // and asking leaves the folder exactly as it was.
    let launching = store.write_lock_busy(id);
    let running = manager.supervisor_running(id);
    if running {
        f.detail.push_str(
            "; its supervisor still runs a turn (the file may be rewritten when it ends)",
        );
    }
    if !fix {
        return Some(f);
    }
    if matches!(error, Error::MetaTooLarge { .. }) {
        f.failed("left in place: move the file aside or truncate it yourself".into());
    } else if running || launching {
        f.failed(
            "left in place while a turn runs or is launched; run doctor again once it ends".into(),
        );
    } else {
        match quarantine_session(store.root(), id) {
            Ok(to) => f.done(format!("moved the session folder to {}", to.display())),
            Err(e) => f.failed(format!("could not move it aside: {e}")),
        }
    }
    Some(f)
}

/// Whose process a marked process is, decided under the session's write
/// lock; `found` makes the finding (and stops the process, with `--fix`)
/// while the lock is held. None when the process is not stray: its session
/// runs, or is being launched, or its lock is busy.
fn stray_verdict(
    manager: &Manager,
    id: &str,
    fix: bool,
    found: impl FnOnce(&str) -> Finding,
) -> Option<Finding> {
    let store = manager.store();
    if !crate::store::is_valid_id(id) || !store.session_dir(id).exists() {
        // A session being created has no processes yet; a removed one can
        // have no more turns.
        let creating = store.sessions_dir().join(format!("{CREATING}{id}"));
        return (!creating.exists()).then(|| found("a session that no longer exists"));
    }
    let guard = decision_lock(manager, id, fix)?;
    if manager.supervisor_running(id) {
        return None;
    }
    let loaded = match &guard {
        Some(g) => g.load(),
        None => store.load(id),
    };
    let whose = match loaded {
        Ok(s) if manager.assess(&s) == Liveness::Alive => return None,
        Ok(_) => "a session that is not running",
        Err(_) => "a session whose meta.json cannot be read",
    };
    let finding = found(whose);
    drop(guard);
    Some(finding)
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
    if liveness.unsettled() {
        if let Some(f) = stale(manager, s, fix) {
            out.push(f);
        }
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
    let finished: Vec<u32> = s
        .turns
        .iter()
        .filter(|t| !t.is_open() && !s.turn_may_lack_output(t.turn))
        .map(|t| t.turn)
        .collect();
    if finished.is_empty() {
        return;
    }
    let turns = match store.turns(&s.id, false) {
        Ok(dir) => dir,
        Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            for turn in finished {
                out.push(missing_turn_file(&s.id, turn));
            }
            return;
        }
        Err(e) => {
            out.push(Finding::new(
                Kind::UnreadableTurns,
                Some(&s.id),
                format!("its turn files cannot be read: {e}"),
            ));
            return;
        }
    };
    for turn in finished {
        match turns.stat(&crate::store::TurnFile::Output.name(turn)) {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                out.push(missing_turn_file(&s.id, turn))
            }
            Err(e) => out.push(Finding::new(
                Kind::UnreadableTurns,
                Some(&s.id),
                format!("turn {turn}'s output file cannot be read: {e}"),
            )),
        }
    }
}

fn missing_turn_file(id: &str, turn: u32) -> Finding {
    Finding::new(
        Kind::MissingTurnFile,
        Some(id),
        format!("turn {turn} has no output file (turns/turn_{turn}.jsonl)"),
    )
}

/// An active session with nothing behind it, proven under its write lock
/// (a turn being launched holds it, and is not stale); with `fix`, settled
/// under that same lock.
fn stale(manager: &Manager, s: &Session, fix: bool) -> Option<Finding> {
    let guard = decision_lock(manager, &s.id, fix)?;
    let s = match &guard {
        Some(g) => g.load().ok()?,
        None => s.clone(),
    };
    let why = match manager.assess(&s) {
        Liveness::Orphaned(Vanished::Reboot) => "the machine restarted during its turn",
        // zwarm 2.3.5 ran the agent without a supervisor.
        Liveness::Orphaned(_) if s.turns.is_empty() => {
            "its agent is gone without recording an ending"
        }
        Liveness::Orphaned(_) => "its supervisor and agent are gone without recording an ending",
        Liveness::Unlaunched if !manager.marked_processes(&s.id).is_empty() => {
            "its supervisor died before recording its agent, whose processes still run"
        }
        Liveness::Unlaunched => "its supervisor never started",
        Liveness::Ended | Liveness::Alive => return None,
    };
    let mut f = Finding::new(
        Kind::StaleRunning,
        Some(&s.id),
        format!("{} on disk, but {why}", s.status),
    );
    if let Some(guard) = guard {
        match manager.settle_proven(&guard, s) {
            Ok(settled) if settled.session.status.is_active() => f.failed(
                "left as it is while processes of the session run; `--fix` stops them, then run doctor again"
                    .into(),
            ),
            Ok(settled) => match settled.unsaved {
                None => f.done(format!("settled as {}", settled.session.status)),
                Some(e) => f.failed(format!("could not record it: {e}")),
            },
            Err(e) => f.failed(format!("could not settle it: {e}")),
        }
    }
    Some(f)
}

/// Leftovers of interrupted writes, removals and creations.
fn stray_files(root: &Path, sessions: &Path, fix: bool, out: &mut Vec<Finding>) {
    // Listed and acted on through the folder opened here, never by a path
    // that a link could send elsewhere.
    let Ok(folder) = Dir::open_no_link(sessions) else {
        return;
    };
    let Ok(entries) = folder.entries() else {
        return;
    };
    // Creators hold the sessions folder's lock shared while their folder
    // has its temporary name: only while it can be had exclusively is no
    // creation under way, and only then is one of those folders moved.
    let creations_idle = crate::store::flock_dir(&folder, libc::LOCK_EX | libc::LOCK_NB).is_ok();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = sessions.join(&name);
        if let Some(id) = name.strip_prefix(crate::store::REMOVING) {
            let mut f = Finding::new(
                Kind::InterruptedRemoval,
                Some(id),
                format!("{} is what remains of an interrupted `rm`", path.display()),
            );
            if fix {
                match folder.remove_tree(&name) {
                    Ok(()) => f.done("finished the removal".into()),
                    Err(e) => f.failed(format!("could not finish the removal: {e}")),
                }
            }
            out.push(f);
            continue;
        }
        if let Some(id) = name.strip_prefix(CREATING) {
            // Made and renamed into place within moments; a young one, or
            // any while a creation is under way, is a `start` at work.
            if is_young(&path) || !creations_idle {
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
                match quarantine_entry(root, &name, &format!("{id}.{}", stamp())) {
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
        // A linked session folder is named by `load`; nothing in it is ours.
        let Ok(session) = folder.sub(&name) else {
            continue;
        };
        let Ok(files) = session.entries() else {
            continue;
        };
        for file in files.flatten() {
            let fname = file.file_name().to_string_lossy().into_owned();
            let Some(pid) = temp_file_writer(&fname) else {
                continue;
            };
            if process::stat(pid).is_some() && !is_old(&path.join(&fname)) {
                continue; // a write in progress
            }
            // Gone since it was listed: the write completed (renamed into
            // place) before its writer exited.
            if session.stat(&fname).is_err() {
                continue;
            }
            let mut f = Finding::new(
                Kind::TempFile,
                Some(&name),
                format!("{fname} was left by a write that never completed"),
            );
            if fix {
                match quarantine_file(root, &name, &fname) {
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
    let Ok(dir) = Dir::open_no_link(&root.join(crate::store::list_index::DIR_NAME)) else {
        return;
    };
    let Ok(entries) = dir.entries() else {
        return;
    };
    for file in entries.flatten() {
        let name = file.file_name().to_string_lossy().into_owned();
        let Some(pid) = temp_file_writer(&name) else {
            continue;
        };
        let path = dir.join(&name);
        if process::stat(pid).is_some() && !is_old(&path) {
            continue; // a write in progress
        }
        if dir.stat(&name).is_err() {
            continue; // completed since it was listed
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
            match dir.remove_file(&name) {
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
    std::fs::symlink_metadata(path)
        .ok()?
        .modified()
        .ok()?
        .elapsed()
        .ok()
}

/// Moves the entry `name` of `sessions/` into `quarantine/` (or a folder
/// `sub` of it) as `to`, keeping all of it. Neither folder is reached
/// through a link: a planted `quarantine` link would otherwise carry a
/// session out of the store.
fn quarantine_entry(root: &Path, name: &str, to: &str) -> std::io::Result<PathBuf> {
    let store = Dir::open(root)?;
    let sessions = store.sub("sessions").map_err(naming(&store, "sessions"))?;
    let q = quarantine(&store)?;
    sessions
        .rename(name, &q, to)
        .map_err(naming(&sessions, name))?;
    Ok(q.join(to))
}

/// The store's quarantine folder, made if missing; a link there is refused.
fn quarantine(store: &Dir) -> std::io::Result<Dir> {
    store
        .make_sub("quarantine", 0o777)
        .map_err(naming(store, "quarantine"))
}

/// An error about `name` in `dir`, saying which entry it is about.
fn naming<'a>(dir: &'a Dir, name: &'a str) -> impl Fn(std::io::Error) -> std::io::Error + 'a {
    move |e| std::io::Error::new(e.kind(), format!("{}: {e}", dir.join(name).display()))
}

/// Moves an unreadable session folder out of `sessions/`.
fn quarantine_session(root: &Path, id: &str) -> std::io::Result<PathBuf> {
    quarantine_entry(root, id, &format!("{id}.{}", stamp()))
}

/// Moves a leftover temporary file of session `id` aside.
fn quarantine_file(root: &Path, id: &str, name: &str) -> std::io::Result<PathBuf> {
    let store = Dir::open(root)?;
    let sessions = store.sub("sessions").map_err(naming(&store, "sessions"))?;
    let session = sessions.sub(id).map_err(naming(&sessions, id))?;
    let q = quarantine(&store)?;
    let q = q.make_sub(id, 0o777).map_err(naming(&q, id))?;
    let to = format!("{name}.{}", stamp());
    session
        .rename(name, &q, &to)
        .map_err(naming(&session, name))?;
    Ok(q.join(&to))
}

fn stamp() -> String {
    Timestamp::now().0.format("%Y%m%dT%H%M%S%.6f").to_string()
}

/// SIGTERM, a short grace, then SIGKILL, each only while the process still
/// carries the session's mark.
fn stop_process(rec: &crate::process::ProcessRecord, id: &str, root: &Path) -> bool {
    let marked = |pid: i32| process::has_mark(pid, process::SESSION_ENV, id, root);
    process::signal_pinned(rec, Signal::SIGTERM, marked);
    let deadline = Instant::now() + Duration::from_secs(2);
    while process::is_alive(rec) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    process::signal_pinned(rec, Signal::SIGKILL, marked);
    let deadline = Instant::now() + Duration::from_secs(1);
    while process::is_alive(rec) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    !process::is_alive(rec)
}

fn command_name(pid: i32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "?".into())
}

/// The holder of the session's run lock, if that is not its supervisor.
/// `s` may be older than the lock's holder: a turn injected since it was
/// read has a supervisor of its own. So the holder counts as foreign only if
/// a read made after the holder was seen still shows the same open turn
/// with another supervisor (a later turn needs this one closed first).
fn foreign_lock_holder(manager: &Manager, s: &Session) -> Option<i32> {
    let running = |s: &Session| {
        let t = s.current_turn().filter(|t| t.is_open())?;
        Some((t.turn, t.supervisor?.pid))
    };
    let (turn, supervisor) = running(s)?;
    let st = manager.store().session(&s.id).ok()?.stat("run.lock").ok()?;
    let holder = process::lock_holders(st.st_dev, st.st_ino)
        .into_iter()
        .find(|&pid| pid != supervisor)?;
    let fresh = manager.store().load(&s.id).ok()?;
    (running(&fresh) == Some((turn, supervisor))).then_some(holder)
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let moved: Vec<_> = std::fs::read_dir(root.path().join("quarantine"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert_eq!(moved.len(), 1);
        assert!(moved[0].join("meta.json").is_file(), "nothing lost");
    }

    #[test]
    fn finds_and_removes_what_a_write_of_the_index_left() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join(crate::store::list_index::DIR_NAME);
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
