//! Readies a new worktree before any agent runs in it: the files
//! `.worktreeinclude` names are copied from the main checkout, submodules
//! are initialised, and the user's `--setup` command runs there.
//!
//! `.worktreeinclude` is in gitignore syntax, as Claude Code and agent-deck
//! read it: a file is copied when a pattern there matches it *and* git
//! ignores it in the main checkout (an `.env`, a `node_modules/`), that is
//! what a fresh checkout lacks. Tracked files are in the worktree already,
//! and untracked ones that are not ignored would show up as the agent's
//! work. Copies keep their mode; a symbolic link is copied as a link, never
//! followed, and no folder is entered through one on either side.

use super::worktree::Worktree;
use super::Git;
use crate::dir::Dir;
use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sys::stat::{Mode, SFlag};
use std::collections::HashSet;
use std::ffi::OsStr;
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path};
use std::process::{Command, Stdio};

/// The file naming what to copy, at the top of the main checkout.
const INCLUDE: &str = ".worktreeinclude";
/// How many of a failed step's last stderr lines its error quotes.
const LAST_LINES: usize = 5;
/// How much of a step's stderr is kept to find those lines in.
const TAIL_BYTES: usize = 16 << 10;
/// The variables that would point a git run by the setup command at
/// another repository than the worktree's.
const REPO_VARS: &[&str] = &[
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_COMMON_DIR",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_NAMESPACE",
    "GIT_PREFIX",
];

/// A setup step that failed: the session ends `setup_failed` with this as
/// its error, before any agent runs.
#[derive(Debug, thiserror::Error)]
#[error("setup failed ({step}): {last_lines}")]
pub(crate) struct SetupFailed {
    /// Which step: copying, submodules, or the setup command.
    pub(crate) step: String,
    /// The step's last lines of stderr (or what else went wrong).
    pub(crate) last_lines: String,
}

impl SetupFailed {
    fn new(step: impl Into<String>, last_lines: impl Into<String>) -> Self {
        SetupFailed {
            step: step.into(),
            last_lines: last_lines.into(),
        }
    }
}

/// Readies `wt` (see the module notes): copies from `main_checkout`, then
/// submodules, then `sh -c <setup_cmd>` in the worktree. Everything the
/// steps print goes to the file `log` (appended to; made if missing, never
/// through a link).
pub(crate) fn setup(
    wt: &Worktree,
    main_checkout: &Path,
    setup_cmd: Option<&str>,
    log: &Path,
) -> Result<(), SetupFailed> {
    setup_with(&Git::at(&wt.path), wt, main_checkout, setup_cmd, log)
}

/// [`setup`], with the worktree's git runner given (tests add config).
fn setup_with(
    git: &Git,
    wt: &Worktree,
    main_checkout: &Path,
    setup_cmd: Option<&str>,
    log: &Path,
) -> Result<(), SetupFailed> {
    let mut log = open_log(log).map_err(|e| {
        SetupFailed::new("opening the setup log", format!("{}: {e}", log.display()))
    })?;
    let logged = |e: io::Error| SetupFailed::new("writing the setup log", e.to_string());

    const COPYING: &str = "copying the files .worktreeinclude names";
    let store = wt.path.parent().and_then(Path::parent);
    let copied = copy_included(main_checkout, &wt.path, store)
        .map_err(|why| SetupFailed::new(COPYING, why))?;
    if let Some(copied) = copied {
        writeln!(
            log,
            "$ # {COPYING}: {} copied, {} already there, {} skipped",
            copied.copied, copied.kept, copied.skipped
        )
        .map_err(logged)?;
    }

    if std::fs::symlink_metadata(wt.path.join(".gitmodules")).is_ok_and(|m| m.is_file()) {
        const SUBMODULES: &str = "git submodule update --init --recursive";
        writeln!(log, "$ {SUBMODULES}").map_err(logged)?;
        let out = git
            .output(["submodule", "update", "--init", "--recursive"], None)
            .map_err(|e| SetupFailed::new(SUBMODULES, e.to_string()))?;
        log.write_all(&out.stdout).map_err(logged)?;
        log.write_all(&out.stderr).map_err(logged)?;
        if !out.status.success() {
            return Err(SetupFailed::new(
                SUBMODULES,
                last_lines(&out.stderr, &out.status),
            ));
        }
    }

    if let Some(cmd) = setup_cmd {
        let step = format!("setup command `{cmd}`");
        writeln!(log, "$ {cmd}").map_err(logged)?;
        run_command(cmd, &wt.path, &log).map_err(|why| SetupFailed::new(step, why))?;
    }
    Ok(())
}

/// The log file, for appending, reached without following a link at its
/// name.
fn open_log(path: &Path) -> io::Result<File> {
    let (parent, name) = match (path.parent(), path.file_name().and_then(OsStr::to_str)) {
        (Some(parent), Some(name)) => (parent, name),
        _ => return Err(io::Error::from(io::ErrorKind::InvalidInput)),
    };
    let parent = if parent.as_os_str().is_empty() {
        Path::new(".")
    } else {
        parent
    };
    Dir::open(parent)?.append_file(name, 0o666)
}

/// Runs `sh -c cmd` in `dir`, its stdout into `log`, its stderr into `log`
/// too and kept: on failure, its last lines are the error.
fn run_command(cmd: &str, dir: &Path, log: &File) -> Result<(), String> {
    let mut command = Command::new("sh");
    command
        .arg("-c")
        .arg(cmd)
        .current_dir(dir)
        .env("PWD", dir)
        .stdin(Stdio::null())
        .stdout(log.try_clone().map_err(|e| e.to_string())?)
        .stderr(Stdio::piped());
    for var in REPO_VARS {
        command.env_remove(var);
    }
    let mut child = command.spawn().map_err(|e| format!("cannot run sh: {e}"))?;
    let mut tail = Vec::new();
    if let Some(mut stderr) = child.stderr.take() {
        let mut log = log;
        let mut buf = [0u8; 8192];
        loop {
            match stderr.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    // The log is best kept, but the command runs on.
                    let _ = log.write_all(&buf[..n]);
                    tail.extend_from_slice(&buf[..n]);
                    if tail.len() > 2 * TAIL_BYTES {
                        tail.drain(..tail.len() - TAIL_BYTES);
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
    }
    let status = child.wait().map_err(|e| e.to_string())?;
    if status.success() {
        Ok(())
    } else {
        Err(last_lines(&tail, &status))
    }
}

/// The last few non-empty lines of `stderr`, or how the step ended when it
/// said nothing.
fn last_lines(stderr: &[u8], status: &std::process::ExitStatus) -> String {
    let text = String::from_utf8_lossy(stderr);
    let mut lines: Vec<&str> = text
        .lines()
        .map(str::trim_end)
        .filter(|l| !l.trim().is_empty())
        .rev()
        .take(LAST_LINES)
        .collect();
    lines.reverse();
    if lines.is_empty() {
        use std::os::unix::process::ExitStatusExt;
        return match (status.code(), status.signal()) {
            (Some(code), _) => format!("exited with status {code}, saying nothing on stderr"),
            (None, Some(sig)) => format!(
                "killed by {}, saying nothing on stderr",
                crate::process::signal_name(sig)
            ),
            _ => "failed, saying nothing on stderr".into(),
        };
    }
    lines.join("\n")
}

/// What copying did.
#[derive(Debug, Default, PartialEq, Eq)]
struct Copied {
    copied: usize,
    /// Already in the worktree (the base commit has it): left as it is.
    kept: usize,
    /// Neither a regular file nor a link, or a name zwarm does not handle.
    skipped: usize,
}

/// Copies what `.worktreeinclude` names from `main` to `worktree`; None if
/// there is no such file. Nothing under `store` is ever copied.
fn copy_included(
    main: &Path,
    worktree: &Path,
    store: Option<&Path>,
) -> Result<Option<Copied>, String> {
    let src_root = Dir::open(main).map_err(|e| format!("{}: {e}", main.display()))?;
    match src_root.stat(INCLUDE) {
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => return Ok(None),
        Err(e) => return Err(format!("{}: {e}", main.join(INCLUDE).display())),
        Ok(st) if kind(st.st_mode) != SFlag::S_IFREG => {
            return Err(format!(
                "{} is not a regular file (zwarm does not follow links)",
                main.join(INCLUDE).display()
            ))
        }
        Ok(_) => {}
    }
    let git = Git::at(main);
    let include = main.join(INCLUDE);
    let mut from = OsStr::new("--exclude-from=").to_owned();
    from.push(&include);
    let named = git
        .run([
            OsStr::new("ls-files"),
            OsStr::new("-z"),
            OsStr::new("--others"),
            OsStr::new("--ignored"),
            &from,
        ])
        .map_err(|e| e.to_string())?;
    let ignored = git
        .run([
            "ls-files",
            "-z",
            "--others",
            "--ignored",
            "--exclude-standard",
        ])
        .map_err(|e| e.to_string())?;
    let ignored: HashSet<&[u8]> = ignored.split(|&b| b == 0).collect();
    // The store inside the checkout, relative to its top, if it is there.
    let store = store.and_then(|s| {
        let real_main = std::fs::canonicalize(main).ok()?;
        let real_store = std::fs::canonicalize(s).ok()?;
        real_store
            .strip_prefix(&real_main)
            .ok()
            .map(Path::to_path_buf)
    });

    let dst_root =
        Dir::open_no_link(worktree).map_err(|e| format!("{}: {e}", worktree.display()))?;
    let mut done = Copied::default();
    for name in named.split(|&b| b == 0) {
        if name.is_empty() || !ignored.contains(name) {
            continue;
        }
        let rel = Path::new(OsStr::from_bytes(name));
        if store.as_deref().is_some_and(|s| rel.starts_with(s)) {
            continue;
        }
        match copy_one(&src_root, &dst_root, rel) {
            Ok(Some(true)) => done.copied += 1,
            Ok(Some(false)) => done.kept += 1,
            Ok(None) => done.skipped += 1,
            Err(e) => return Err(format!("{}: {e}", rel.display())),
        }
    }
    Ok(Some(done))
}

/// Copies the file or link `rel`: Some(true) if copied, Some(false) if the
/// worktree has something at its name already, None if skipped.
fn copy_one(src_root: &Dir, dst_root: &Dir, rel: &Path) -> io::Result<Option<bool>> {
    let mut parts = Vec::new();
    for part in rel.components() {
        match part {
            Component::Normal(p) => match p.to_str() {
                Some(p) => parts.push(p),
                None => return Ok(None),
            },
            _ => return Ok(None),
        }
    }
    let Some((leaf, folders)) = parts.split_last() else {
        return Ok(None);
    };
    let (mut src, mut dst) = (None::<Dir>, None::<Dir>);
    for folder in folders {
        let next_src = src.as_ref().unwrap_or(src_root).sub(folder)?;
        let mode = next_src.stat_self()?.st_mode & 0o7777;
        let next_dst = dst.as_ref().unwrap_or(dst_root).make_sub(folder, mode)?;
        src = Some(next_src);
        dst = Some(next_dst);
    }
    let (src, dst) = (
        src.as_ref().unwrap_or(src_root),
        dst.as_ref().unwrap_or(dst_root),
    );
    let st = src.stat(leaf)?;
    let made = match kind(st.st_mode) {
        SFlag::S_IFREG => {
            let mut from = src.read_file(leaf)?;
            let flags = OFlag::O_WRONLY
                | OFlag::O_CREAT
                | OFlag::O_EXCL
                | OFlag::O_NOFOLLOW
                | OFlag::O_CLOEXEC;
            match nix::fcntl::openat(
                Some(dst.raw_fd()),
                *leaf,
                flags,
                Mode::S_IRUSR | Mode::S_IWUSR,
            ) {
                Ok(fd) => {
                    // SAFETY: `openat` just returned this descriptor; nothing
                    // else owns it.
                    let mut to = File::from(unsafe { OwnedFd::from_raw_fd(fd) });
                    io::copy(&mut from, &mut to)?;
                    nix::sys::stat::fchmod(
                        to.as_raw_fd(),
                        Mode::from_bits_truncate(st.st_mode & 0o777),
                    )
                    .map_err(io::Error::from)?;
                    true
                }
                Err(Errno::EEXIST) => false,
                Err(e) => return Err(e.into()),
            }
        }
        SFlag::S_IFLNK => {
            let target =
                nix::fcntl::readlinkat(Some(src.raw_fd()), *leaf).map_err(io::Error::from)?;
            match nix::unistd::symlinkat(target.as_os_str(), Some(dst.raw_fd()), *leaf) {
                Ok(()) => true,
                Err(Errno::EEXIST) => false,
                Err(e) => return Err(e.into()),
            }
        }
        _ => return Ok(None),
    };
    Ok(Some(made))
}

fn kind(mode: u32) -> SFlag {
    SFlag::from_bits_truncate(mode) & SFlag::S_IFMT
}

#[cfg(test)]
mod tests;
