//! Snapshots of a working tree: the files as they stand, recorded as a
//! commit without touching the index, HEAD, any branch or any file of the
//! checkout. A temporary index seeded from the real one lets git skip every
//! file whose stat data has not changed, so a snapshot of a large tree with
//! a few changes costs a few milliseconds of hashing.

use super::{failed, Git, GitError};
use crate::model::Changes;
use serde::{Deserialize, Serialize};
use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Where snapshot refs live; [`snapshot`] stores no ref elsewhere.
pub(crate) const SNAPSHOT_REFS: &str = "refs/zwarm/";

/// Untracked files larger than this are left out of snapshots.
pub(crate) const SNAPSHOT_SIZE_CAP: u64 = 10 << 20;

/// The identity snapshot commits are written with (no `user.name` needed).
const AUTHOR_NAME: &str = "zwarm";
const AUTHOR_EMAIL: &str = "zwarm@localhost";

/// A recorded working tree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Snapshot {
    /// The snapshot commit's full id.
    pub(crate) commit: String,
    /// Untracked files over the size cap, not recorded (repository-relative).
    pub(crate) left_out: Vec<String>,
}

/// Records the working tree of `git` (a checkout or a linked worktree, or
/// any folder inside one) as a commit parented on `parent` (on HEAD's commit
/// when `None`, parentless in a repository without commits), stores it at
/// `refname` (a full ref name under [`SNAPSHOT_REFS`], such as
/// `refs/zwarm/<id>/turn-1`) and returns it.
///
/// The real index, HEAD, branches and files are never touched; `.gitignore`
/// is respected; untracked files larger than `size_cap` bytes are left out
/// and named. The commit's author and committer are `zwarm <zwarm@localhost>`
/// and `message` is its message.
pub(crate) fn snapshot(
    git: &Git,
    parent: Option<&str>,
    refname: &str,
    message: &str,
    size_cap: u64,
) -> Result<Snapshot, GitError> {
    // A slip here must not move a branch or HEAD.
    if !refname.starts_with(SNAPSHOT_REFS) || refname.len() == SNAPSHOT_REFS.len() {
        return Err(GitError::Failed {
            args: format!("update-ref {refname}"),
            code: None,
            stderr: format!("a snapshot ref must be under {SNAPSHOT_REFS}"),
        });
    }
    let snap = record(git, parent, message, size_cap)?;
    git.run([
        "update-ref",
        "-m",
        "zwarm snapshot",
        "--no-deref",
        refname,
        &snap.commit,
    ])?;
    Ok(snap)
}

/// What [`snapshot`] does short of storing a ref: the commit is reachable
/// from nothing (git's garbage collection removes it in time).
pub(super) fn record(
    git: &Git,
    parent: Option<&str>,
    message: &str,
    size_cap: u64,
) -> Result<Snapshot, GitError> {
    let (top, real_index) = locate(git)?;
    let parent = match parent {
        Some(p) => Some(p.to_owned()),
        None => head_commit(&top)?,
    };

    let index = TempIndex::seeded_from(&real_index);
    let staged = top.with_index(&index.path);
    let left_out = oversize_untracked(&staged, size_cap)?;
    if left_out.is_empty() {
        staged.run(["add", "-A"])?;
    } else {
        // Leave the big files out by pathspec, so git never hashes them.
        let mut spec = b":(top)".to_vec();
        for path in &left_out {
            spec.push(0);
            spec.extend_from_slice(b":(top,exclude,literal)");
            spec.extend_from_slice(path.as_bytes());
        }
        staged.run_with_input(
            ["add", "-A", "--pathspec-from-file=-", "--pathspec-file-nul"],
            Some(&spec),
        )?;
    }
    let tree = staged.line(["write-tree"])?;

    let mut args: Vec<OsString> = vec!["commit-tree".into(), "--no-gpg-sign".into()];
    if let Some(p) = &parent {
        args.extend(["-p".into(), p.into()]);
    }
    args.extend(["-m".into(), message.into(), tree.into()]);
    let commit = as_zwarm(&top, &args)?;
    drop(index);

    Ok(Snapshot {
        commit,
        left_out: left_out
            .iter()
            .map(|p| p.to_string_lossy().into_owned())
            .collect(),
    })
}

/// Commits the tree of `snapshot` on the branch checked out in `git`'s
/// worktree (`start --commit-turns`): zwarm, not the agent, whose sandbox
/// may keep `.git` read-only, records the turn's result. The branch moves
/// only from the commit it was on (a compare-and-swap), and the index is
/// then reset to it, the files left as they are. None when the snapshot
/// holds nothing the branch does not.
pub(crate) fn commit_snapshot(
    git: &Git,
    snapshot: &str,
    message: &str,
) -> Result<Option<String>, GitError> {
    let branch = git.line(["symbolic-ref", "--quiet", "HEAD"])?;
    let head = git.commit_of("HEAD")?;
    let tree = git.line(["rev-parse", "--verify", &format!("{snapshot}^{{tree}}")])?;
    if git.line(["rev-parse", "--verify", "HEAD^{tree}"])? == tree {
        return Ok(None);
    }
    let args: Vec<OsString> = [
        "commit-tree",
        "--no-gpg-sign",
        "-p",
        &head,
        "-m",
        message,
        &tree,
    ]
    .iter()
    .map(OsString::from)
    .collect();
    let commit = as_zwarm(git, &args)?;
    git.run([
        "update-ref",
        "-m",
        "zwarm: the turn's result",
        &branch,
        &commit,
        &head,
    ])?;
    git.run(["reset", "-q", "--no-refresh"])?;
    Ok(Some(commit))
}

/// The same repository run from the top of its working tree (paths from
/// git are then repository-relative), and the path of its real index.
fn locate(git: &Git) -> Result<(Git, PathBuf), GitError> {
    let out = git.run([
        "rev-parse",
        "--path-format=absolute",
        "--show-toplevel",
        "--git-path",
        "index",
    ])?;
    let mut lines = out.split(|&b| b == b'\n').filter(|l| !l.is_empty());
    let (Some(top), Some(index)) = (lines.next(), lines.next()) else {
        return Err(GitError::Bare(git.dir().to_path_buf()));
    };
    let mut at_top = git.clone();
    at_top.dir = PathBuf::from(OsStr::from_bytes(top));
    Ok((at_top, PathBuf::from(OsStr::from_bytes(index))))
}

/// HEAD's commit, or `None` before the first commit.
fn head_commit(git: &Git) -> Result<Option<String>, GitError> {
    let out = git.output(["rev-parse", "--verify", "--quiet", "HEAD^{commit}"], None)?;
    let id = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    Ok((out.status.success() && !id.is_empty()).then_some(id))
}

/// Untracked, not ignored, regular files larger than `cap` bytes.
fn oversize_untracked(git: &Git, cap: u64) -> Result<Vec<OsString>, GitError> {
    if cap == u64::MAX {
        return Ok(Vec::new());
    }
    let out = git.run(["ls-files", "--others", "--exclude-standard", "-z"])?;
    let mut big = Vec::new();
    for path in out.split(|&b| b == 0).filter(|p| !p.is_empty()) {
        let path = OsStr::from_bytes(path);
        let Ok(meta) = std::fs::symlink_metadata(git.dir().join(path)) else {
            continue;
        };
        if meta.is_file() && meta.len() > cap {
            big.push(path.to_owned());
        }
    }
    Ok(big)
}

/// Runs git as zwarm (author and committer) and returns stdout's first line.
fn as_zwarm(git: &Git, args: &[OsString]) -> Result<String, GitError> {
    let mut cmd = git.command(args);
    for who in ["AUTHOR", "COMMITTER"] {
        cmd.env(format!("GIT_{who}_NAME"), AUTHOR_NAME)
            .env(format!("GIT_{who}_EMAIL"), AUTHOR_EMAIL);
    }
    let out = cmd.output().map_err(GitError::Spawn)?;
    if !out.status.success() {
        return Err(failed(args, &out));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim_end().to_owned())
}

/// A private index file beside the real one, removed when dropped.
struct TempIndex {
    path: PathBuf,
}

impl TempIndex {
    /// A copy of `real` (with its modification time, so git's check for
    /// racily clean entries judges the copy as it would the original); an
    /// absent file when there is no real index or it cannot be copied, and
    /// git then starts from an empty index.
    fn seeded_from(real: &Path) -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let name = format!("zwarm-index-{}-{n}", std::process::id());
        let path = real.with_file_name(name);
        let index = TempIndex { path };
        index.remove();
        if std::fs::copy(real, &index.path).is_ok() && !index.keep_mtime_of(real) {
            index.remove();
        }
        index
    }

    fn keep_mtime_of(&self, real: &Path) -> bool {
        let Ok(mtime) = std::fs::metadata(real).and_then(|m| m.modified()) else {
            return false;
        };
        std::fs::OpenOptions::new()
            .write(true)
            .open(&self.path)
            .and_then(|f| f.set_modified(mtime))
            .is_ok()
    }

    fn remove(&self) {
        let _ = std::fs::remove_file(&self.path);
        let mut lock = self.path.clone().into_os_string();
        lock.push(".lock");
        let _ = std::fs::remove_file(lock);
    }
}

impl Drop for TempIndex {
    fn drop(&mut self) {
        self.remove();
    }
}

/// The files, inserted and deleted lines from `from` to `to` (commits or
/// trees); a binary file counts as a file with no lines.
pub(crate) fn changes(git: &Git, from: &str, to: &str) -> Result<Changes, GitError> {
    let out = git.run([
        "diff",
        "--numstat",
        "-z",
        "-M",
        "--no-ext-diff",
        "--no-textconv",
        "--end-of-options",
        from,
        to,
        "--",
    ])?;
    Ok(parse_numstat(&out))
}

/// `git diff --numstat -z`: `added TAB deleted TAB path NUL`, or for a
/// rename `added TAB deleted TAB NUL old NUL new NUL`; `-` for binary.
fn parse_numstat(out: &[u8]) -> Changes {
    let mut changes = Changes::default();
    let mut fields = out.split(|&b| b == 0);
    while let Some(record) = fields.next() {
        if record.is_empty() {
            continue;
        }
        let mut parts = record.splitn(3, |&b| b == b'\t');
        let count = |p: Option<&[u8]>| {
            std::str::from_utf8(p.unwrap_or_default())
                .ok()
                .and_then(|s| s.parse::<u64>().ok())
                .unwrap_or(0)
        };
        changes.files += 1;
        changes.insertions += count(parts.next());
        changes.deletions += count(parts.next());
        if parts.next().is_some_and(<[u8]>::is_empty) {
            // A rename: the old and the new path follow.
            fields.next();
            fields.next();
        }
    }
    changes
}

/// A worktree's state against the commit it started from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct TreeState {
    /// Uncommitted changes: tracked files changed, or untracked files not
    /// ignored.
    pub(crate) dirty: bool,
    /// Commits on HEAD that `base` does not have.
    pub(crate) ahead: u32,
}

/// Whether the working tree of `git` has uncommitted changes, and how many
/// commits its HEAD has beyond `base`. Does not write the index.
pub(crate) fn tree_state(git: &Git, base: &str) -> Result<TreeState, GitError> {
    let status = git.run([
        "--no-optional-locks",
        "status",
        "--porcelain",
        "-z",
        "--untracked-files=normal",
    ])?;
    let dirty = !status.is_empty();
    let ahead = match head_commit(git)? {
        None => 0,
        Some(head) => {
            let range = format!("{base}..{head}");
            let n = git.line(["rev-list", "--count", "--end-of-options", &range])?;
            n.parse().unwrap_or(0)
        }
    };
    Ok(TreeState { dirty, ahead })
}

#[cfg(test)]
mod tests;
