//! Sleeping in the kernel until something happens, in a way a stop request
//! ends at once.
//!
//! A signal that arrives just before a blocking call is entered would be
//! lost to it, so no wait relies on being interrupted: the stop handler
//! writes a byte into a pipe ([`notify_stop`]), and every wait polls that
//! pipe beside what it waits for. A lock, which cannot be polled, is taken
//! by a thread of its own that reports on a pipe when it has it.

use nix::fcntl::{Flock, FlockArg, OFlag};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

/// The write end of the stop pipe, for the signal handler.
static STOP_WRITE: AtomicI32 = AtomicI32::new(-1);
static STOPPED: AtomicBool = AtomicBool::new(false);
static STOP_READ: OnceLock<OwnedFd> = OnceLock::new();

/// How a wait ended.
#[derive(Debug)]
pub(crate) enum Waited<T> {
    Done(T),
    /// A stop was asked for.
    Stopped,
}

/// Makes the stop pipe; before the stop handler is installed.
pub(crate) fn install() -> io::Result<()> {
    if STOP_READ.get().is_some() {
        return Ok(());
    }
    let (read, write) =
        nix::unistd::pipe2(OFlag::O_CLOEXEC | OFlag::O_NONBLOCK).map_err(io::Error::from)?;
    STOP_WRITE.store(write.as_raw_fd(), Ordering::SeqCst);
    // Kept open for the life of the process: the handler may write any time.
    std::mem::forget(write);
    let _ = STOP_READ.set(read);
    Ok(())
}

/// Called from a signal handler: only async-signal-safe calls.
pub(crate) fn notify_stop() {
    STOPPED.store(true, Ordering::SeqCst);
    let fd = STOP_WRITE.load(Ordering::SeqCst);
    if fd >= 0 {
        // SAFETY: write(2) is async-signal-safe; a full pipe already wakes
        // every waiter, so a failed write loses nothing.
        unsafe { libc::write(fd, b"s".as_ptr().cast(), 1) };
    }
}

pub(crate) fn stopped() -> bool {
    STOPPED.load(Ordering::SeqCst)
}

/// Sleeps until `fd` is readable, `until` has passed, or a stop is asked
/// for. `Done(true)`: readable; `Done(false)`: the time came.
pub(crate) fn readable(fd: BorrowedFd, until: Option<SystemTime>) -> io::Result<Waited<bool>> {
    loop {
        if stopped() {
            return Ok(Waited::Stopped);
        }
        let timeout = match until {
            None => PollTimeout::NONE,
            Some(t) => match t.duration_since(SystemTime::now()) {
                Ok(left) => PollTimeout::try_from(left.min(Duration::from_secs(3600)))
                    .unwrap_or(PollTimeout::MAX),
                Err(_) => return Ok(Waited::Done(false)),
            },
        };
        let mut fds = vec![PollFd::new(fd, PollFlags::POLLIN)];
        if let Some(stop) = STOP_READ.get() {
            fds.push(PollFd::new(stop.as_fd(), PollFlags::POLLIN));
        }
        match poll(&mut fds, timeout) {
            Ok(0) => {
                // A long wait is cut into hours (the limit of one poll); the
                // clock is read again.
                continue;
            }
            Ok(_) => {
                let ready = fds[0]
                    .revents()
                    .is_some_and(|r| !(r & (PollFlags::POLLIN | PollFlags::POLLHUP)).is_empty());
                if ready && !stopped() {
                    return Ok(Waited::Done(true));
                }
            }
            Err(nix::errno::Errno::EINTR) => {}
            Err(e) => return Err(e.into()),
        }
    }
}

/// Sleeps until `until`, unless a stop is asked for first.
pub(crate) fn sleep_until(until: SystemTime) -> io::Result<Waited<()>> {
    // A pipe never written: only the stop pipe or the time can end it.
    let (never, _keep) = nix::unistd::pipe2(OFlag::O_CLOEXEC).map_err(io::Error::from)?;
    loop {
        match readable(never.as_fd(), Some(until))? {
            Waited::Stopped => return Ok(Waited::Stopped),
            Waited::Done(false) => return Ok(Waited::Done(())),
            Waited::Done(true) => {}
        }
    }
}

/// Takes `file`'s lock, however long it takes, unless a stop is asked for
/// first. The lock is taken by a thread, which blocks no signal of this
/// process's (they reach the thread that waits here).
pub(crate) fn lock(file: File, arg: FlockArg) -> io::Result<Waited<Flock<File>>> {
    let (done_read, done_write) = nix::unistd::pipe2(OFlag::O_CLOEXEC).map_err(io::Error::from)?;
    let taker = std::thread::Builder::new()
        .name("zwarm-lock".into())
        .stack_size(64 * 1024)
        .spawn(move || {
            let _ = nix::sys::signal::SigSet::all().thread_block();
            let taken = Flock::lock(file, arg).map_err(|(_, e)| io::Error::from(e));
            let _ = io::Write::write_all(&mut File::from(done_write), b"l");
            taken
        })?;
    match readable(done_read.as_fd(), None)? {
        Waited::Done(_) => match taker.join() {
            Ok(taken) => taken.map(Waited::Done),
            Err(_) => Err(io::Error::other("the thread taking a lock failed")),
        },
        // The thread stays blocked: the process is on its way out.
        Waited::Stopped => Ok(Waited::Stopped),
    }
}

/// An inotify instance on some folders, woken when an entry in them is
/// removed or let go of (its maker closed it, or died).
pub(crate) struct Watch {
    inotify: nix::sys::inotify::Inotify,
}

impl Watch {
    pub(crate) fn new(dirs: &[&crate::dir::Dir]) -> io::Result<Watch> {
        use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify};
        let inotify = Inotify::init(InitFlags::IN_NONBLOCK | InitFlags::IN_CLOEXEC)
            .map_err(io::Error::from)?;
        for dir in dirs {
            // The folder already opened, by its descriptor: no path that a
            // link could have been put in since.
            let path = format!("/proc/self/fd/{}", dir.raw_fd());
            inotify
                .add_watch(
                    path.as_str(),
                    AddWatchFlags::IN_DELETE
                        | AddWatchFlags::IN_CLOSE_WRITE
                        | AddWatchFlags::IN_MOVED_FROM
                        | AddWatchFlags::IN_ONLYDIR,
                )
                .map_err(io::Error::from)?;
        }
        Ok(Watch { inotify })
    }

    /// Sleeps until something happened in the folders (or a stop).
    pub(crate) fn next(&self) -> io::Result<Waited<()>> {
        match readable(self.inotify.as_fd(), None)? {
            Waited::Stopped => Ok(Waited::Stopped),
            Waited::Done(_) => {
                // What happened is read again from the folders; the events
                // only wake.
                while let Ok(events) = self.inotify.read_events() {
                    if events.is_empty() {
                        break;
                    }
                }
                Ok(Waited::Done(()))
            }
        }
    }
}
