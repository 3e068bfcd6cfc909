//! What runs or lies about with nothing to answer for it: processes of
//! sessions that do not run, leftovers of interrupted writes, removals and
//! creations.

use super::quarantine::{quarantine_entry, quarantine_file, stamp};
use super::{command_name, decision_lock, is_old, is_young, Finding, Kind};
use crate::dir::Dir;
use crate::model::SessionId;
use crate::process;
use crate::session::manager::{Liveness, Manager};
use crate::store::CREATING;
use nix::sys::signal::Signal;
use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

/// Processes marked as a session's while that session does not run; with
/// `fix`, stopped.
pub(super) fn stray_processes(
    manager: &Manager,
    alive: &HashMap<&str, bool>,
    fix: bool,
    out: &mut Vec<Finding>,
) {
    let root = manager.canonical_root();
    for (pid, id) in process::tagged_processes(&root) {
        if alive.get(id.as_str()).copied().unwrap_or(false) {
            continue;
        }
        let Some(rec) = process::record(pid) else {
            continue;
        };
        // Proven again on the record that will be signalled: the listing's
        // reading of its environment can predate an exec or an exit.
        if process::mark_of(&rec, process::SESSION_ENV, &id, &root) != process::Mark::Ours {
            continue;
        }
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
    if !SessionId::is_valid(id) || !store.session_dir(id).exists() {
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

/// Leftovers of interrupted writes, removals and creations.
pub(super) fn stray_files(root: &Path, sessions: &Path, fix: bool, out: &mut Vec<Finding>) {
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
        if !SessionId::is_valid(&name) {
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
pub(super) fn stray_index_files(root: &Path, fix: bool, out: &mut Vec<Finding>) {
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
pub(super) fn temp_file_writer(name: &str) -> Option<i32> {
    let rest = name.strip_prefix('.')?.strip_suffix(".tmp")?;
    rest.rsplit_once('.')?.1.parse().ok()
}
