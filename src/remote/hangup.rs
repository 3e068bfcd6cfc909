//! The far side of a verb that blocks (`wait`, `watch`): run as a child that
//! is stopped when the connection it answers on goes away.
//!
//! Over ssh without a terminal nothing tells a process that its link was
//! cut: it learns only when it next writes. A `wait` on a session that hangs
//! writes nothing for hours, so it would outlive the command that asked for
//! it. Here the reply's stream is watched for its reader going away (POLLHUP
//! or POLLERR on our stdout, whether ssh gave us a socket or a pipe), and
//! the child, ours because we have not reaped it, is stopped then.

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::convert::Infallible;
use std::os::fd::{AsFd, BorrowedFd, FromRawFd, OwnedFd};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Child, Command, ExitStatus};

/// Runs `cmd` with our stdout and stderr until it ends, or until nobody
/// reads our stdout any more; exits with its status. Returns only if it
/// cannot be started.
pub(crate) fn run_until_hangup(mut cmd: Command) -> std::io::Result<Infallible> {
    let parent = std::process::id() as libc::pid_t;
    // SAFETY: between fork and exec the closure calls only prctl, getppid
    // and _exit, all async-signal-safe, and allocates nothing.
    unsafe {
        cmd.pre_exec(move || {
            // Should this process die first, the child follows it.
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM, 0, 0, 0);
            if libc::getppid() != parent {
                libc::_exit(1);
            }
            Ok(())
        });
    }
    let mut child = cmd.spawn()?;
    let status = match pidfd(&child) {
        Some(fd) => watch_on(&mut child, &fd, std::io::stdout().as_fd())?,
        None => child.wait()?,
    };
    std::process::exit(code(status))
}

fn pidfd(child: &Child) -> Option<OwnedFd> {
    // SAFETY: pidfd_open takes a pid and flags and returns a new fd or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, child.id() as libc::pid_t, 0) };
    // SAFETY: a non-negative return is a new fd owned here only.
    (fd >= 0).then(|| unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// Waits for the child's end or for the reader of stdout to go away,
/// whichever comes first; in the second case the child is stopped.
fn watch_on(
    child: &mut Child,
    pidfd: &OwnedFd,
    out: BorrowedFd<'_>,
) -> std::io::Result<ExitStatus> {
    let mut fds = [
        PollFd::new(pidfd.as_fd(), PollFlags::POLLIN),
        // No events asked for: POLLHUP and POLLERR are always reported.
        PollFd::new(out, PollFlags::empty()),
    ];
    loop {
        match poll(&mut fds, PollTimeout::NONE) {
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(e.into()),
            Ok(_) => {}
        }
        let gone = |f: &PollFd| {
            f.revents().is_some_and(|r| {
                r.intersects(PollFlags::POLLHUP | PollFlags::POLLERR | PollFlags::POLLNVAL)
            })
        };
        if fds[0].revents().is_some_and(|r| !r.is_empty()) {
            return child.wait();
        }
        if gone(&fds[1]) {
            // Not yet reaped, so the pid is still our child's.
            let _ = kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM);
            return child.wait();
        }
    }
}

fn code(status: ExitStatus) -> i32 {
    status
        .code()
        .or_else(|| status.signal().map(|s| 128 + s))
        .unwrap_or(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Stdio;
    use std::time::{Duration, Instant};

    #[test]
    fn a_child_is_stopped_when_its_reader_goes_away() {
        let (read, write) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).unwrap();
        let mut child = Command::new("sleep")
            .arg("30")
            .stdout(Stdio::from(write.try_clone().unwrap()))
            .spawn()
            .unwrap();
        let fd = pidfd(&child).expect("pidfds");
        let started = Instant::now();
        let reader = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(200));
            drop(read);
        });
        let status = watch_on(&mut child, &fd, write.as_fd()).unwrap();
        reader.join().unwrap();
        assert!(started.elapsed() >= Duration::from_millis(200));
        assert!(started.elapsed() < Duration::from_secs(10));
        assert_eq!(status.signal(), Some(libc::SIGTERM));
        assert_eq!(code(status), 128 + libc::SIGTERM);
    }

    #[test]
    fn a_child_that_ends_gives_its_status() {
        let (_read, write) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).unwrap();
        let mut child = Command::new("sh").args(["-c", "exit 4"]).spawn().unwrap();
        let fd = pidfd(&child).expect("pidfds");
        let status = watch_on(&mut child, &fd, write.as_fd()).unwrap();
        assert_eq!(code(status), 4);
    }
}
