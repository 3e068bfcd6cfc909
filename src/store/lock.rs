//! The two locks of a session (see the module notes of [`super`]) and the
//! [`WriteGuard`] that proves the write lock is held.

use super::*;

impl Store {
    /// Load, change and save one session under its write lock.
    #[cfg(test)]
    pub(crate) fn update<T>(
        &self,
        id: &str,
        f: impl FnOnce(&mut Session) -> Result<T>,
    ) -> Result<T> {
        self.write_lock(id)?.update(f)
    }

    /// The session's write lock, waiting for it as long as it takes.
    pub(crate) fn write_lock(&self, id: &str) -> Result<WriteGuard> {
        let dir = self.session(id)?;
        let lock = lock_in(&dir, FlockArg::LockExclusive)?
            .ok_or_else(|| Error::io("lock", self.session_dir(id).join(WRITE_LOCK), busy()))?;
        Ok(WriteGuard {
            lock: LockHold::Owned(lock),
            dir,
            id: id.to_string(),
            path: self.session_dir(id),
        })
    }

    /// The session's write lock if nobody holds it now; None if somebody
    /// does (a turn being launched, or a write under way).
    pub(crate) fn try_write_lock(&self, id: &str) -> Result<Option<WriteGuard>> {
        let dir = self.session(id)?;
        Ok(
            lock_in(&dir, FlockArg::LockExclusiveNonblock)?.map(|lock| WriteGuard {
                lock: LockHold::Owned(lock),
                dir,
                id: id.to_string(),
                path: self.session_dir(id),
            }),
        )
    }

    /// Whether somebody holds the session's write lock now, asked without
    /// writing anything (no lock file is made): for reports, which must
    /// leave the store as they found it.
    pub(crate) fn write_lock_busy(&self, id: &str) -> bool {
        let Ok(dir) = self.session(id) else {
            return false;
        };
        let Ok(file) = dir.read_file(WRITE_LOCK) else {
            return false;
        };
        Flock::lock(file, FlockArg::LockExclusiveNonblock).is_err()
    }

    /// The session's write lock, waiting for it at most `patience`; the
    /// error names the process that holds it.
    pub(crate) fn write_lock_within(&self, id: &str, patience: Duration) -> Result<WriteGuard> {
        let deadline = Instant::now() + patience;
        loop {
            if let Some(guard) = self.try_write_lock(id)? {
                return Ok(guard);
            }
            if Instant::now() >= deadline {
                return Err(Error::Locked {
                    id: id.to_string(),
                    holder: self.write_lock_holder(id),
                });
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// The process holding the session's write lock, if one can be named.
    pub(crate) fn write_lock_holder(&self, id: &str) -> Option<i32> {
        let dir = self.session(id).ok()?;
        let st = dir.stat(WRITE_LOCK).ok()?;
        crate::process::lock_holders(st.st_dev, st.st_ino)
            .into_iter()
            .find(|&p| p != std::process::id() as i32)
    }

    /// The write lock a launcher handed to this supervisor as descriptor
    /// `fd`, checked to be that session's lock file.
    pub(crate) fn inherited_write_lock(&self, id: &str, fd: RawFd) -> Result<WriteGuard> {
        let dir = self.session(id)?;
        let path = self.session_dir(id).join(WRITE_LOCK);
        let ours = dir
            .stat(WRITE_LOCK)
            .map_err(|e| Error::io("open", &path, e))?;
        let given = nix::sys::stat::fstat(fd).map_err(|e| Error::io("open", &path, e.into()))?;
        if (given.st_dev, given.st_ino) != (ours.st_dev, ours.st_ino) {
            return Err(Error::io(
                "lock",
                path,
                std::io::Error::other("the descriptor handed over is not this lock file"),
            ));
        }
        Ok(WriteGuard {
            // SAFETY: the launcher passed this descriptor to this process
            // for it alone; it is closed with the guard.
            lock: LockHold::Inherited(unsafe { File::from_raw_fd(fd) }),
            dir,
            id: id.to_string(),
            path: self.session_dir(id),
        })
    }

    /// Whether a supervisor holds the session's run lock. Only the lock
    /// file is opened, for reading, never made: a reader must not need to
    /// write the store to learn that.
    pub(crate) fn run_lock_held(&self, id: &str) -> bool {
        let Ok(dir) = self.session(id) else {
            return false;
        };
        let Ok(file) = dir.read_file(RUN_LOCK) else {
            return false;
        };
        // Shared: only the supervisor's exclusive lock refuses it. An
        // exclusive probe would also fail while another reader probes, or
        // while `wait` holds it shared as a turn ends.
        Flock::lock(file, FlockArg::LockSharedNonblock).is_err()
    }

    /// The run lock file, opened for a supervisor to hold or a waiter to
    /// wait on.
    pub(crate) fn run_lock_file(&self, id: &str) -> Result<File> {
        self.session(id)?
            .lock_file(RUN_LOCK)
            .map_err(|e| Error::io("open", self.run_lock_path(id), e))
    }
}

/// Takes `flock` on an open folder (released when the folder is closed).
pub(crate) fn flock_dir(dir: &Dir, op: libc::c_int) -> std::io::Result<()> {
    loop {
        // SAFETY: flock takes a descriptor we own for the call's length.
        if unsafe { libc::flock(dir.raw_fd(), op) } == 0 {
            return Ok(());
        }
        let e = std::io::Error::last_os_error();
        if e.kind() != ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

pub(super) fn busy() -> std::io::Error {
    std::io::Error::from(ErrorKind::WouldBlock)
}

/// The write lock of the session folder `dir`: None if `arg` does not wait
/// and somebody holds it.
pub(super) fn lock_in(dir: &Dir, arg: FlockArg) -> Result<Option<Flock<File>>> {
    let path = dir.join(WRITE_LOCK);
    let mut file = dir
        .lock_file(WRITE_LOCK)
        .map_err(|e| Error::io("open", &path, e))?;
    loop {
        match Flock::lock(file, arg) {
            Ok(lock) => return Ok(Some(lock)),
            Err((_, nix::errno::Errno::EWOULDBLOCK)) => return Ok(None),
            Err((f, nix::errno::Errno::EINTR)) => file = f,
            Err((_, e)) => return Err(Error::io("lock", path, e.into())),
        }
    }
}

/// How a [`WriteGuard`] holds the lock.
#[derive(Debug)]
pub(super) enum LockHold {
    /// Taken by this process; released when dropped.
    Owned(#[allow(dead_code)] Flock<File>),
    /// Handed over by a launcher, which may still hold it too: dropping it
    /// only closes this process's descriptor (an explicit unlock would
    /// release the lock under the launcher as well).
    Inherited(#[allow(dead_code)] File),
}

/// Proof of holding a session's write lock, and the only way to write its
/// `meta.json`.
#[derive(Debug)]
pub(crate) struct WriteGuard {
    pub(super) lock: LockHold,
    pub(super) dir: Dir,
    pub(super) id: String,
    pub(super) path: PathBuf,
}

impl WriteGuard {
    /// The session's folder.
    pub(crate) fn dir(&self) -> &Dir {
        &self.dir
    }

    pub(crate) fn load(&self) -> Result<Session> {
        load_in(&self.dir, &self.id, &self.path.join(META))
    }

    /// Writes `meta.json` atomically as `session` says, stamping
    /// `updated_at`.
    pub(crate) fn save(&self, session: &mut Session) -> Result<()> {
        let before = session.updated_at;
        session.updated_at = crate::timefmt::Timestamp::now();
        let saved = self.save_as_is(session);
        if saved.is_err() {
            session.updated_at = before;
        }
        saved
    }

    /// Writes `meta.json` exactly as `session` says.
    pub(crate) fn save_as_is(&self, session: &Session) -> Result<()> {
        check_id(&session.id)?;
        if session.id != self.id {
            return Err(Error::Usage(format!(
                "refusing to write session {} into the folder of {}",
                session.id, self.id
            )));
        }
        self.dir
            .write_atomic(META, &serialize(session), 0o666)
            .map_err(|e| Error::io("write", self.path.join(META), e))
    }

    /// Load, change and save, under this lock.
    pub(crate) fn update<T>(&self, f: impl FnOnce(&mut Session) -> Result<T>) -> Result<T> {
        let mut session = self.load()?;
        let out = f(&mut session)?;
        self.save(&mut session)?;
        Ok(out)
    }

    /// The descriptor holding the lock, to hand it to a supervisor.
    pub(crate) fn lock_fd(&self) -> RawFd {
        match &self.lock {
            LockHold::Owned(f) => f.as_raw_fd(),
            LockHold::Inherited(f) => f.as_raw_fd(),
        }
    }
}
