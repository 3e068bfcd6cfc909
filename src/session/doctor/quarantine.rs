//! Moving aside what cannot be mended in place, into the store's
//! `quarantine/`: nothing is deleted.

use crate::dir::Dir;
use crate::timefmt::Timestamp;
use std::path::{Path, PathBuf};

/// Moves the entry `name` of `sessions/` into `quarantine/` (or a folder
/// `sub` of it) as `to`, keeping all of it. Neither folder is reached
/// through a link: a planted `quarantine` link would otherwise carry a
/// session out of the store.
pub(super) fn quarantine_entry(root: &Path, name: &str, to: &str) -> std::io::Result<PathBuf> {
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
pub(super) fn quarantine_session(root: &Path, id: &str) -> std::io::Result<PathBuf> {
    quarantine_entry(root, id, &format!("{id}.{}", stamp()))
}

/// Moves a leftover temporary file of session `id` aside.
pub(super) fn quarantine_file(root: &Path, id: &str, name: &str) -> std::io::Result<PathBuf> {
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

pub(super) fn stamp() -> String {
    Timestamp::now().0.format("%Y%m%dT%H%M%S%.6f").to_string()
}
