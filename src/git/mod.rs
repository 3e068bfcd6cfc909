//! The real `git`, run as a program: the one way zwarm reads or changes a
//! repository. Every call names its repository with `-C`, runs with a
//! fixed locale and without the caller's `GIT_*` variables (a `GIT_DIR` or
//! `GIT_INDEX_FILE` left in zwarm's environment by a hook must not redirect
//! it), and turns a failure into a [`GitError`] that quotes git's own words.

use std::ffi::OsStr;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

mod patch;
mod setup;
mod snapshot;
mod worktree;

pub(crate) use patch::{apply, apply_foreign, diff, Applied};
pub(crate) use setup::setup;
pub(crate) use snapshot::{changes, commit_snapshot, snapshot, tree_state, SNAPSHOT_SIZE_CAP};
pub(crate) use worktree::{
    create, delete_branch_if_merged, remove, Leftovers, Worktree, WorktreeError, WorktreeSpec,
};

/// A git command that could not be run or did not succeed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum GitError {
    #[error("{} is not inside a git repository", .0.display())]
    NotARepo(PathBuf),

    #[error("{} is a bare repository: it has no working tree to run an agent in", .0.display())]
    Bare(PathBuf),

    #[error("cannot run git: {0}")]
    Spawn(#[source] std::io::Error),

    /// git ran and failed; `stderr` is its last meaningful line.
    #[error("git {args} failed: {stderr}")]
    Failed {
        args: String,
        code: Option<i32>,
        stderr: String,
    },
}

/// Whether git could find a repository from `dir`, told without running
/// it: `start` asks this of every working directory, and two spawns of git
/// were a third of its time outside a repository. Git looks, in `dir` and
/// each folder above it, for a `.git` (a folder, or a file naming one) and
/// for the folder itself being a git directory, which has a `HEAD`; zwarm
/// removes the `GIT_*` variables that could point it elsewhere. So where no
/// folder on the real path up from `dir` holds either name, git would find
/// nothing. Anything unsure (a path that cannot be resolved, a name that
/// cannot be looked up) leaves the answer to git.
fn might_be_in_a_repo(dir: &Path) -> bool {
    let Ok(real) = std::fs::canonicalize(dir) else {
        return true;
    };
    real.ancestors().any(|folder| {
        [".git", "HEAD"].iter().any(|name| {
            !matches!(std::fs::symlink_metadata(folder.join(name)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound)
        })
    })
}

/// A repository's working tree (or any folder inside one), as git's `-C`.
#[derive(Clone, Debug)]
pub(crate) struct Git {
    dir: PathBuf,
    /// Extra environment for every call (a temporary index, for snapshots).
    env: Vec<(String, PathBuf)>,
}

impl Git {
    pub(crate) fn at(dir: impl Into<PathBuf>) -> Self {
        Git {
            dir: dir.into(),
            env: Vec::new(),
        }
    }

    /// The same repository with `GIT_INDEX_FILE` set for every call.
    pub(crate) fn with_index(&self, index: impl Into<PathBuf>) -> Self {
        let mut git = self.clone();
        git.env.push(("GIT_INDEX_FILE".into(), index.into()));
        git
    }

    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// The command `git -C <dir> <args>`, ready to run.
    pub(crate) fn command<I, S>(&self, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut cmd = Command::new("git");
        cmd.arg("-C").arg(&self.dir).args(args);
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("GIT_") {
                cmd.env_remove(&key);
            }
        }
        cmd.env("LC_ALL", "C")
            // Never wait for a password or an editor.
            .env("GIT_TERMINAL_PROMPT", "0")
            .env("GIT_EDITOR", "true")
            .stdin(Stdio::null());
        for (key, value) in &self.env {
            cmd.env(key, value);
        }
        cmd
    }

    /// Runs git and returns its stdout; a non-zero exit is an error.
    pub(crate) fn run<I, S>(&self, args: I) -> Result<Vec<u8>, GitError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.run_with_input(args, None)
    }

    /// Runs git with `input` on its stdin.
    pub(crate) fn run_with_input<I, S>(
        &self,
        args: I,
        input: Option<&[u8]>,
    ) -> Result<Vec<u8>, GitError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let args: Vec<_> = args.into_iter().map(|a| a.as_ref().to_owned()).collect();
        let out = self.output(&args, input)?;
        if out.status.success() {
            Ok(out.stdout)
        } else {
            Err(failed(&args, &out))
        }
    }

    /// Runs git and returns its whole output, whatever its exit status.
    pub(crate) fn output<I, S>(&self, args: I, input: Option<&[u8]>) -> Result<Output, GitError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut cmd = self.command(args);
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        if input.is_some() {
            cmd.stdin(Stdio::piped());
        }
        let mut child = cmd.spawn().map_err(GitError::Spawn)?;
        if let (Some(bytes), Some(mut stdin)) = (input, child.stdin.take()) {
            // A git that exits early closes its stdin: what it said matters,
            // not the broken pipe.
            let _ = stdin.write_all(bytes);
        }
        child.wait_with_output().map_err(GitError::Spawn)
    }

    /// stdout as one trimmed line of text.
    pub(crate) fn line<I, S>(&self, args: I) -> Result<String, GitError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let out = self.run(args)?;
        Ok(String::from_utf8_lossy(&out).trim_end().to_owned())
    }

    /// The top of the working tree that holds `dir`.
    pub(crate) fn toplevel(&self) -> Result<PathBuf, GitError> {
        if !might_be_in_a_repo(&self.dir) {
            return Err(GitError::NotARepo(self.dir.clone()));
        }
        let bare = self.output(["rev-parse", "--is-bare-repository"], None)?;
        if !bare.status.success() {
            return Err(GitError::NotARepo(self.dir.clone()));
        }
        if bare.stdout.starts_with(b"true") {
            return Err(GitError::Bare(self.dir.clone()));
        }
        match self.line(["rev-parse", "--show-toplevel"]) {
            Ok(top) if !top.is_empty() => Ok(PathBuf::from(top)),
            // Inside a repository's git directory: no working tree here.
            _ => Err(GitError::Bare(self.dir.clone())),
        }
    }

    /// The repository's common git directory (shared by all its worktrees).
    pub(crate) fn common_dir(&self) -> Result<PathBuf, GitError> {
        let dir = PathBuf::from(self.line([
            "rev-parse",
            "--path-format=absolute",
            "--git-common-dir",
        ])?);
        Ok(dir)
    }

    /// The full commit id `rev` names; an error naming `rev` if none.
    pub(crate) fn commit_of(&self, rev: &str) -> Result<String, GitError> {
        let spec = format!("{rev}^{{commit}}");
        self.line([
            "rev-parse",
            "--verify",
            "--quiet",
            "--end-of-options",
            &spec,
        ])
        .map_err(|_| GitError::Failed {
            args: format!("rev-parse {rev}"),
            code: None,
            stderr: format!("'{}' names no commit", rev.escape_debug()),
        })
    }
}

fn failed(args: &[std::ffi::OsString], out: &Output) -> GitError {
    let stderr = String::from_utf8_lossy(&out.stderr);
    let last = stderr
        .lines()
        .map(str::trim)
        .rfind(|l| !l.is_empty() && !l.starts_with("hint:"))
        .unwrap_or("no message")
        .to_owned();
    GitError::Failed {
        args: args
            .iter()
            .map(|a| a.to_string_lossy())
            .collect::<Vec<_>>()
            .join(" "),
        code: out.status.code(),
        stderr: last,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh repository with one commit, for tests of git's callers.
    pub(crate) fn repo() -> (tempfile::TempDir, Git) {
        let tmp = tempfile::tempdir().unwrap();
        let git = Git::at(tmp.path());
        git.run(["init", "-q", "-b", "main"]).unwrap();
        git.run(["config", "user.email", "test@example.com"])
            .unwrap();
        git.run(["config", "user.name", "test"]).unwrap();
        std::fs::write(tmp.path().join("a.txt"), "a\n").unwrap();
        git.run(["add", "a.txt"]).unwrap();
        git.run(["commit", "-q", "-m", "first"]).unwrap();
        (tmp, git)
    }

    /// The working tree's files and their bytes, outside `.git`, sorted.
    pub(crate) fn working_files(top: &Path) -> Vec<(PathBuf, Vec<u8>)> {
        fn collect(top: &Path, dir: &Path, out: &mut Vec<(PathBuf, Vec<u8>)>) {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.file_name() == Some(OsStr::new(".git")) {
                    continue;
                }
                if path.is_dir() {
                    collect(top, &path, out);
                } else {
                    let rel = path.strip_prefix(top).unwrap().to_path_buf();
                    out.push((rel, std::fs::read(&path).unwrap()));
                }
            }
        }
        let mut files = Vec::new();
        collect(top, top, &mut files);
        files.sort();
        files
    }

    #[test]
    fn finds_the_top_the_common_dir_and_commits() {
        let (tmp, git) = repo();
        std::fs::create_dir(tmp.path().join("sub")).unwrap();
        let top = Git::at(tmp.path().join("sub")).toplevel().unwrap();
        assert_eq!(top, tmp.path().canonicalize().unwrap());
        assert!(git.common_dir().unwrap().ends_with(".git"));
        assert_eq!(git.commit_of("HEAD").unwrap().len(), 40);
        let err = git.commit_of("no-such-branch").unwrap_err().to_string();
        assert!(err.contains("'no-such-branch' names no commit"), "{err}");
    }

    #[test]
    fn outside_a_repository_and_in_a_bare_one_it_says_so() {
        let tmp = tempfile::tempdir().unwrap();
        assert!(matches!(
            Git::at(tmp.path()).toplevel(),
            Err(GitError::NotARepo(_))
        ));
        let bare = tmp.path().join("bare.git");
        Git::at(tmp.path())
            .run([
                OsStr::new("init"),
                OsStr::new("-q"),
                OsStr::new("--bare"),
                bare.as_os_str(),
            ])
            .unwrap();
        assert!(matches!(Git::at(&bare).toplevel(), Err(GitError::Bare(_))));
    }

    #[test]
    fn a_folder_is_known_to_be_outside_any_repository_only_when_git_would_say_so() {
        let tmp = tempfile::tempdir().unwrap();
        let real = tmp.path().canonicalize().unwrap();
        // Wherever the temporary folder lies, a folder below it can only be
        // told apart from the folders above it by what is made here.
        let above = real.ancestors().skip(1).any(|f| {
            f.join(".git").symlink_metadata().is_ok() || f.join("HEAD").symlink_metadata().is_ok()
        });
        let plain = real.join("plain/deep");
        std::fs::create_dir_all(&plain).unwrap();
        assert_eq!(might_be_in_a_repo(&plain), above);
        // A `.git` file (a linked worktree's, a submodule's), a bare
        // repository's own folder, a link into a repository: git may find one.
        let linked = real.join("linked/sub");
        std::fs::create_dir_all(&linked).unwrap();
        std::fs::write(real.join("linked/.git"), "gitdir: /nowhere\n").unwrap();
        assert!(might_be_in_a_repo(&linked));
        let bare = real.join("bare.git/objects");
        std::fs::create_dir_all(&bare).unwrap();
        std::fs::write(real.join("bare.git/HEAD"), "ref: refs/heads/main\n").unwrap();
        assert!(might_be_in_a_repo(&bare));
        std::os::unix::fs::symlink(&linked, real.join("plain/link")).unwrap();
        assert!(might_be_in_a_repo(&real.join("plain/link")));
        // A path that cannot be resolved is git's to judge.
        assert!(might_be_in_a_repo(&real.join("missing")));
        // And where it says no repository can be found, git agrees.
        if !above {
            let out = Git::at(&plain)
                .output(["rev-parse", "--is-bare-repository"], None)
                .unwrap();
            assert!(!out.status.success());
        }
    }

    #[test]
    fn a_failure_quotes_gits_last_line() {
        let (_tmp, git) = repo();
        let err = git.run(["checkout", "nowhere"]).unwrap_err().to_string();
        assert!(err.starts_with("git checkout nowhere failed: "), "{err}");
        assert!(err.contains("nowhere"), "{err}");
    }
}
