//! What git keeps of this store's sessions once they are gone: their
//! snapshot refs and branches. Whose they are is read from the trailers of
//! the snapshots' messages, as another store may share a repository.

use super::snapshots::{BRANCH_TRAILER, STORE_TRAILER};
use crate::git::Git;
use crate::model::Session;
use crate::store::{Store, CREATING};
use std::collections::{BTreeSet, HashSet};
use std::path::{Path, PathBuf};

/// The snapshot refs of one gone session of this store.
pub(crate) struct GoneSnapshots {
    pub id: String,
    /// The repository's common git directory.
    pub repo: PathBuf,
    pub refs: Vec<String>,
    /// When its newest snapshot was taken (seconds since the epoch): when
    /// it was removed, at the latest.
    pub newest: i64,
    /// Its branch, if it had one and the branch is still there.
    pub branch: Option<String>,
}

/// The gone sessions of `store` that git still keeps something of, in every
/// repository its sessions work in, that it remembers (see
/// `Store::remember_repo`), and the one that holds it.
pub(crate) fn gone_snapshots(store: &Store, sessions: &[Session]) -> Vec<GoneSnapshots> {
    let root = store.canonical_root();
    let remembered = store.repos();
    let ids: HashSet<&str> = sessions.iter().map(|s| s.id.as_str()).collect();
    let repos: BTreeSet<PathBuf> = sessions
        .iter()
        .filter(|s| s.snapshots || s.worktree.is_some())
        .map(|s| match &s.worktree {
            Some(w) => PathBuf::from(&w.repo),
            None => PathBuf::from(&s.working_dir),
        })
        .chain(root.parent().map(Path::to_path_buf))
        .chain(remembered.iter().cloned())
        .filter_map(|dir| Git::at(dir).common_dir().ok())
        .collect();
    let store_line = format!("{STORE_TRAILER}{}", root.display());
    let mut out = Vec::new();
    for repo in repos {
        let git = Git::at(&repo);
        for (id, refs) in refs_by_session(&git) {
            // A session's folder exists before its first ref: one listed
            // after the sessions were read, or being created, is not gone.
            if ids.contains(id.as_str()) || has_folder(store, &id) {
                continue;
            }
            let Some((newest, message)) = newest_of(&git, &refs) else {
                continue;
            };
            if !message.lines().any(|l| l == store_line) {
                continue;
            }
            let branch = message
                .lines()
                .find_map(|l| l.strip_prefix(BRANCH_TRAILER))
                .filter(|b| {
                    git.run([
                        "rev-parse",
                        "--verify",
                        "--quiet",
                        &format!("refs/heads/{b}"),
                    ])
                    .is_ok()
                })
                .map(str::to_owned);
            out.push(GoneSnapshots {
                id,
                repo: repo.clone(),
                refs,
                newest,
                branch,
            });
        }
    }
    out
}

/// Whether the store still has a folder for session `id`, whole or being
/// created.
fn has_folder(store: &Store, id: &str) -> bool {
    store.session_dir(id).exists()
        || store
            .sessions_dir()
            .join(format!("{CREATING}{id}"))
            .exists()
}

/// Drops the snapshot refs of a gone session, each only if it still points
/// where it was found.
pub(crate) fn drop_snapshots(gone: &GoneSnapshots) -> Result<(), crate::git::GitError> {
    let git = Git::at(&gone.repo);
    let mut input = String::new();
    for r in &gone.refs {
        let at = git.line(["rev-parse", "--verify", r])?;
        input.push_str(&format!("delete {r} {at}\n"));
    }
    git.run_with_input(["update-ref", "--stdin"], Some(input.as_bytes()))?;
    Ok(())
}

/// Every `refs/zwarm/<id>/…` ref, by session.
fn refs_by_session(git: &Git) -> Vec<(String, Vec<String>)> {
    let Ok(out) = git.run(["for-each-ref", "--format=%(refname)", "refs/zwarm/"]) else {
        return Vec::new();
    };
    let mut by: Vec<(String, Vec<String>)> = Vec::new();
    for r in String::from_utf8_lossy(&out).lines() {
        let Some(id) = r
            .strip_prefix("refs/zwarm/")
            .and_then(|r| r.split('/').next())
        else {
            continue;
        };
        match by.last_mut() {
            Some((last, refs)) if last == id => refs.push(r.to_owned()),
            _ => by.push((id.to_owned(), vec![r.to_owned()])),
        }
    }
    by
}

/// The newest of `refs` by commit time, with its message.
fn newest_of(git: &Git, refs: &[String]) -> Option<(i64, String)> {
    let mut args = vec!["log", "--no-walk", "-1", "--format=%ct%n%B"];
    args.extend(refs.iter().map(String::as_str));
    let out = git.run(args).ok()?;
    let text = String::from_utf8_lossy(&out).into_owned();
    let (time, message) = text.split_once('\n')?;
    Some((time.trim().parse().ok()?, message.to_owned()))
}
