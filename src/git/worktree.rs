//! A session's own worktree: a new branch `zwarm/<name>` from a recorded
//! base commit, checked out at `worktrees/<short-id>` inside the store, and
//! `git worktree lock`ed for as long as zwarm keeps it.
//!
//! Every decision about a repository's worktrees (is the branch free, is the
//! folder free, may this worktree go, may this branch go) is taken under an
//! exclusive lock on a file in the repository's common git directory, so
//! sessions started at once in one repository, from any number of zwarm
//! processes, take their turns instead of tripping over git's own locks.
//!
//! zwarm never reuses, resets or deletes a branch it did not make in the
//! same call (no `-B`, no `--force` when making a worktree), and undoes only
//! what the failing call itself made.

use super::{Git, GitError};
use crate::dir::Dir;
use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};
use serde::{Deserialize, Serialize};
use std::ffi::OsStr;
use std::fs::File;
use std::io::{self, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// The lock file, in the repository's common git directory.
const LOCK: &str = "zwarm-worktrees.lock";
/// The folder of the store that holds the worktrees.
const WORKTREES: &str = "worktrees";
/// What every branch zwarm makes starts with.
pub(crate) const BRANCH_PREFIX: &str = "zwarm/";
/// The store's own ignore file: the whole store, worktrees included, stays
/// out of `git status` of the checkout it lies in.
const STORE_IGNORE: &[u8] = b"*\n";

/// What `create` is asked for.
#[derive(Clone, Copy, Debug)]
pub(crate) struct WorktreeSpec<'a> {
    /// Where zwarm was started: the repository is the one that holds it.
    pub(crate) working_dir: &'a Path,
    /// The store's root (the `.zwarm` folder); made if missing, not its
    /// parents.
    pub(crate) store_root: &'a Path,
    /// The session's full id, named in the worktree's lock reason.
    pub(crate) session_id: &'a str,
    /// The session's short id: the worktree's folder name, and the branch
    /// name when `name` is None.
    pub(crate) short_id: &'a str,
    /// `--worktree=NAME`: the branch is `zwarm/NAME`.
    pub(crate) name: Option<&'a str>,
    /// `--base`: any revision naming a commit (`HEAD` by default).
    pub(crate) base: &'a str,
}

/// A session's worktree, as recorded in its `meta.json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Worktree {
    /// The worktree's folder, absolute: `<store>/worktrees/<short-id>`.
    pub(crate) path: PathBuf,
    /// The branch checked out there, without `refs/heads/`: `zwarm/…`.
    pub(crate) branch: String,
    /// The full id of the commit the branch was made at.
    pub(crate) base: String,
    /// The branch `--base` named (`HEAD` names the branch checked out), if
    /// it named one: what the session's branch would be merged into.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) base_branch: Option<String>,
    /// The top of the checkout that held the working directory.
    pub(crate) repo: PathBuf,
    /// That checkout had uncommitted changes, which the worktree (made from
    /// the base commit) does not have.
    #[serde(default)]
    pub(crate) uncommitted_left_behind: bool,
}

/// Why a worktree could not be made, removed or its branch deleted. Each
/// message is one line naming the problem; [`WorktreeError::is_usage`] says
/// which ones the user's input caused.
#[derive(Debug, thiserror::Error)]
pub(crate) enum WorktreeError {
    #[error("{} is not inside a git repository", .0.display())]
    NotARepo(PathBuf),

    #[error("{} is a bare repository: it has no checkout to branch a worktree from", .0.display())]
    Bare(PathBuf),

    #[error("the base '{}' names no commit in {}", rev.escape_debug(), repo.display())]
    BadBase { rev: String, repo: PathBuf },

    #[error("'{}' cannot name a branch: {why}", name.escape_debug())]
    BadName { name: String, why: String },

    #[error("the branch {branch} already exists in {}, and zwarm never reuses a branch", repo.display())]
    BranchExists { branch: String, repo: PathBuf },

    #[error("{} already exists; zwarm makes every worktree anew", .0.display())]
    PathExists(PathBuf),

    #[error("the worktree {} holds changes: {}", path.display(), name_files(files))]
    Dirty { path: PathBuf, files: Vec<String> },

    #[error("{} is not a worktree of {}", path.display(), repo.display())]
    NotAWorktree { path: PathBuf, repo: PathBuf },

    #[error("the branch {branch} is checked out in {}", path.display())]
    CheckedOut { branch: String, path: PathBuf },

    #[error("the branch {branch} does not exist")]
    NoBranch { branch: String },

    #[error(transparent)]
    Git(#[from] GitError),

    #[error("cannot {what} {}: {source}", path.display())]
    Io {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

impl WorktreeError {
    /// Whether the user's input is at fault (exit 2): no repository, a bare
    /// one, a base or a name git refuses, a branch that exists.
    pub(crate) fn is_usage(&self) -> bool {
        matches!(
            self,
            WorktreeError::NotARepo(_)
                | WorktreeError::Bare(_)
                | WorktreeError::BadBase { .. }
                | WorktreeError::BadName { .. }
                | WorktreeError::BranchExists { .. }
        )
    }

    fn io(what: &'static str, path: &Path, source: io::Error) -> Self {
        WorktreeError::Io {
            what,
            path: path.to_path_buf(),
            source,
        }
    }
}

/// At most ten file names, then how many more.
fn name_files(files: &[String]) -> String {
    const SHOWN: usize = 10;
    let mut text = files
        .iter()
        .take(SHOWN)
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(", ");
    if files.len() > SHOWN {
        text.push_str(&format!(" and {} more", files.len() - SHOWN));
    }
    text
}

/// The lock reason of a session's worktree.
pub(crate) fn lock_reason(session_id: &str) -> String {
    format!("zwarm session {session_id}")
}

/// Makes the session's branch and worktree, locked; see the module notes.
/// Input errors are found before anything is made.
pub(crate) fn create(spec: &WorktreeSpec<'_>) -> Result<Worktree, WorktreeError> {
    let here = Git::at(spec.working_dir);
    let repo = here.toplevel().map_err(|e| match e {
        GitError::NotARepo(path) => WorktreeError::NotARepo(path),
        GitError::Bare(path) => WorktreeError::Bare(path),
        e => WorktreeError::Git(e),
    })?;
    let git = Git::at(&repo);
    let base = git
        .commit_of(spec.base)
        .map_err(|_| WorktreeError::BadBase {
            rev: spec.base.to_owned(),
            repo: repo.clone(),
        })?;
    let base_branch = branch_named_by(&git, spec.base);
    check_short_id(spec.short_id)?;
    let branch = branch_name(&git, spec.name.unwrap_or(spec.short_id))?;

    let lock = lock_repo(&git)?;
    if branch_tip(&git, &branch)?.is_some() {
        return Err(WorktreeError::BranchExists { branch, repo });
    }
    let (store, store_path) = open_store(spec.store_root)?;
    ignore_store(&store)?;
    let worktrees = store
        .make_sub(WORKTREES, 0o777)
        .map_err(|e| WorktreeError::io("make", &store_path.join(WORKTREES), e))?;
    let path = store_path.join(WORKTREES).join(spec.short_id);
    match worktrees.stat(spec.short_id) {
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {}
        Ok(_) => return Err(WorktreeError::PathExists(path)),
        Err(e) => return Err(WorktreeError::io("look at", &path, e)),
    }
    let uncommitted_left_behind = has_changes(&here)?;

    // The branch first, on its own: made here, so undone here if the
    // worktree cannot be made.
    git.run(["branch", "--no-track", &branch, &base])?;
    let made = git.run([
        OsStr::new("worktree"),
        OsStr::new("add"),
        OsStr::new("--lock"),
        OsStr::new("--reason"),
        OsStr::new(&lock_reason(spec.session_id)),
        path.as_os_str(),
        OsStr::new(&branch),
    ]);
    let checked = made.map_err(WorktreeError::from).and_then(|_| {
        // git reached the folder by its path: it must be the one expected,
        // not one a link planted since led it to.
        match std::fs::canonicalize(&path) {
            Ok(real) if real == path => Ok(()),
            Ok(real) => Err(WorktreeError::io(
                "make",
                &path,
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!(
                        "it leads to {} through a symbolic link, which zwarm does not follow",
                        real.display()
                    ),
                ),
            )),
            Err(e) => Err(WorktreeError::io("look at", &path, e)),
        }
    });
    if let Err(e) = checked {
        undo(&git, &worktrees, spec.short_id, &path, &branch, &base);
        return Err(e);
    }
    // git wrote the files and then the index within the same second, the
    // precision at which it compares them, so it trusts no entry's stat data
    // and every snapshot would hash the whole tree again, turn after turn
    // (an agent whose sandbox keeps `.git` read-only never refreshes the
    // index). Refreshed once the clock has passed that second, the index
    // is trusted. The worktree is still zwarm's alone (no agent has
    // started), and a refresh changes only the stat data the index keeps;
    // a failure costs speed, not correctness. The repository's other
    // worktrees need not wait for it.
    drop(lock);
    let into_second = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    std::thread::sleep(std::time::Duration::from_nanos(
        u64::from(1_000_000_000 - into_second.min(999_999_999)) + 10_000_000,
    ));
    let _ = Git::at(&path).output(["update-index", "-q", "--refresh"], None);
    Ok(Worktree {
        path,
        branch,
        base,
        base_branch,
        repo,
        uncommitted_left_behind,
    })
}

/// Takes back what a failed `create` made: the worktree (new, so nothing
/// of anybody's is lost) and the branch, if it still points where it was
/// made.
fn undo(git: &Git, worktrees: &Dir, short_id: &str, path: &Path, branch: &str, base: &str) {
    let registered = listed(git)
        .map(|all| all.iter().any(|w| w.path == path))
        .unwrap_or(false);
    if registered {
        let _ = git.run([
            OsStr::new("worktree"),
            OsStr::new("remove"),
            OsStr::new("--force"),
            OsStr::new("--force"),
            path.as_os_str(),
        ]);
    } else if worktrees.stat(short_id).is_ok() {
        // Nothing stood there before this call, under the lock.
        let _ = worktrees.remove_tree(short_id);
    }
    let _ = git.run(["update-ref", "-d", &format!("refs/heads/{branch}"), base]);
}

/// Whether the checkout `git` is in has uncommitted changes or untracked
/// files (ignored ones aside).
fn has_changes(git: &Git) -> Result<bool, GitError> {
    let out = git.run(["--no-optional-locks", "status", "--porcelain=v1", "-z"])?;
    Ok(!out.is_empty())
}

/// The branch for `name`: `zwarm/<name>`, if git accepts it as a branch.
fn branch_name(git: &Git, name: &str) -> Result<String, WorktreeError> {
    let refuse = |why: String| WorktreeError::BadName {
        name: name.to_owned(),
        why,
    };
    if name.is_empty() {
        return Err(refuse("it is empty".into()));
    }
    if name.starts_with('-') {
        return Err(refuse("it begins with '-'".into()));
    }
    let branch = format!("{BRANCH_PREFIX}{name}");
    let out = git.output(["check-ref-format", "--branch", &branch], None)?;
    // `--branch` would expand `@{-1}` and the like: only the name as given
    // is accepted.
    if !out.status.success() || String::from_utf8_lossy(&out.stdout).trim_end() != branch {
        return Err(refuse(format!(
            "git does not accept {branch} as a branch name"
        )));
    }
    Ok(branch)
}

/// A short id must be one plain folder name.
fn check_short_id(id: &str) -> Result<(), WorktreeError> {
    if id.is_empty()
        || id.len() > 64
        || !id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        || id.starts_with('-')
    {
        return Err(WorktreeError::BadName {
            name: id.to_owned(),
            why: "a session's short id is letters, digits, '-' and '_'".into(),
        });
    }
    Ok(())
}

/// The branch `rev` names, if it names one (`HEAD` names the branch
/// checked out).
fn branch_named_by(git: &Git, rev: &str) -> Option<String> {
    if rev.starts_with('-') {
        return None;
    }
    let full = git.line(["rev-parse", "--symbolic-full-name", rev]).ok()?;
    full.strip_prefix("refs/heads/").map(str::to_owned)
}

/// The commit a branch points at; None if there is no such branch.
fn branch_tip(git: &Git, branch: &str) -> Result<Option<String>, GitError> {
    let full = format!("refs/heads/{branch}");
    let out = git.output(["rev-parse", "--verify", "--quiet", &full], None)?;
    Ok(match out.status.code() {
        Some(0) => Some(String::from_utf8_lossy(&out.stdout).trim_end().to_owned()),
        Some(1) => None,
        _ => {
            git.run(["rev-parse", "--verify", "--quiet", &full])?;
            None
        }
    })
}

/// The store's root, made if missing (its parents must exist), and its
/// path, absolute and with no links left in it.
fn open_store(root: &Path) -> Result<(Dir, PathBuf), WorktreeError> {
    let root = std::path::absolute(root).map_err(|e| WorktreeError::io("find", root, e))?;
    match std::fs::create_dir(&root) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(WorktreeError::io("make the store", &root, e)),
    }
    let real = std::fs::canonicalize(&root).map_err(|e| WorktreeError::io("open", &root, e))?;
    let dir = Dir::open(&real).map_err(|e| WorktreeError::io("open", &real, e))?;
    Ok((dir, real))
}

/// Writes the store's `.gitignore` if nothing stands at its name (a link
/// there is neither followed nor replaced).
fn ignore_store(store: &Dir) -> Result<(), WorktreeError> {
    let path = store.join(".gitignore");
    let opened = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o666)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&path);
    let write = |mut file: File| file.write_all(STORE_IGNORE);
    match opened {
        Ok(file) => write(file).map_err(|e| WorktreeError::io("write", &path, e)),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(WorktreeError::io("make", &path, e)),
    }
}

/// Whether a folder (not a link) stands at `path`.
fn is_real_dir(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.is_dir())
}

/// The repository's worktree lock, held until dropped.
fn lock_repo(git: &Git) -> Result<Flock<File>, WorktreeError> {
    let common = git.common_dir()?;
    let dir = Dir::open(&common).map_err(|e| WorktreeError::io("open", &common, e))?;
    let mut file = dir
        .lock_file(LOCK)
        .map_err(|e| WorktreeError::io("open", &common.join(LOCK), e))?;
    loop {
        match Flock::lock(file, FlockArg::LockExclusive) {
            Ok(lock) => return Ok(lock),
            Err((again, Errno::EINTR)) => file = again,
            Err((_, e)) => return Err(WorktreeError::io("lock", &common.join(LOCK), e.into())),
        }
    }
}

/// One worktree as `git worktree list --porcelain` describes it.
#[derive(Debug)]
struct Listed {
    path: PathBuf,
    /// The full ref checked out, if any.
    branch: Option<String>,
    /// The lock reason (maybe empty), if locked.
    locked: Option<String>,
}

fn listed(git: &Git) -> Result<Vec<Listed>, GitError> {
    let out = git.run(["worktree", "list", "--porcelain", "-z"])?;
    Ok(parse_list(&out))
}

fn parse_list(out: &[u8]) -> Vec<Listed> {
    let mut all = Vec::new();
    let mut current: Option<Listed> = None;
    for field in out.split(|&b| b == 0) {
        if field.is_empty() {
            all.extend(current.take());
            continue;
        }
        let (key, value) = match field.iter().position(|&b| b == b' ') {
            Some(i) => (&field[..i], &field[i + 1..]),
            None => (field, &b""[..]),
        };
        match key {
            b"worktree" => {
                all.extend(current.take());
                current = Some(Listed {
                    path: PathBuf::from(OsStr::from_bytes(value)),
                    branch: None,
                    locked: None,
                });
            }
            b"branch" => {
                if let Some(w) = current.as_mut() {
                    w.branch = Some(String::from_utf8_lossy(value).into_owned());
                }
            }
            b"locked" => {
                if let Some(w) = current.as_mut() {
                    w.locked = Some(String::from_utf8_lossy(value).into_owned());
                }
            }
            _ => {}
        }
    }
    all.extend(current);
    all
}

mod remove;
#[cfg(test)]
pub(crate) use remove::{changed_files, exists};
pub(crate) use remove::{delete_branch_if_merged, remove, Leftovers};

#[cfg(test)]
pub(crate) mod tests;
