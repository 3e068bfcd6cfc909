//! Folders of the store, opened once and worked in relative to their
//! descriptor, never through a symbolic link.
//!
//! The store usually lies inside the agent's own workspace, where the agent
//! (or anything it runs) may plant a link at any name zwarm later writes:
//! `turns/turn_3.jsonl` pointing at `~/.bashrc` would have the next turn's
//! output appended there, a linked `turns/` or `list-index/` would receive
//! new files wherever it points. So every folder below the store's root is
//! opened with `O_NOFOLLOW`, every file in it with `openat` relative to that
//! folder and `O_NOFOLLOW` too, and a folder zwarm creates is refused when a
//! link stands at its name. Only the root itself, which the user named, is
//! reached by its path as given. Files that must be regular (all of them)
//! are opened without blocking and checked, so a FIFO planted at a name can
//! neither hang zwarm nor be written to.

use nix::errno::Errno;
use nix::fcntl::{openat, renameat, OFlag};
use nix::sys::stat::{fstat, fstatat, mkdirat, FileStat, Mode, SFlag};
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};

/// An open folder, and the path it was opened as (for messages only).
#[derive(Debug)]
pub(crate) struct Dir {
    fd: OwnedFd,
    path: PathBuf,
}

const DIR_FLAGS: OFlag = OFlag::O_RDONLY
    .union(OFlag::O_DIRECTORY)
    .union(OFlag::O_CLOEXEC);

impl Dir {
    /// The folder at `path`, links in it followed: for the store's root,
    /// which the user chose.
    pub(crate) fn open(path: &Path) -> io::Result<Dir> {
        let fd = nix::fcntl::open(path, DIR_FLAGS, Mode::empty()).map_err(io::Error::from)?;
        Ok(Dir {
            // SAFETY: `open` just returned this descriptor; nothing else owns it.
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
            path: path.to_path_buf(),
        })
    }

    /// The folder at `path`, refused if its last component is a link.
    pub(crate) fn open_no_link(path: &Path) -> io::Result<Dir> {
        let fd = nix::fcntl::open(path, DIR_FLAGS | OFlag::O_NOFOLLOW, Mode::empty())
            .map_err(io::Error::from)?;
        Ok(Dir {
            // SAFETY: `open` just returned this descriptor; nothing else owns it.
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
            path: path.to_path_buf(),
        })
    }

    /// The folder `name` in this one, refused if it is a link.
    pub(crate) fn sub(&self, name: &str) -> io::Result<Dir> {
        let fd = self.openat(name, DIR_FLAGS | OFlag::O_NOFOLLOW, Mode::empty())?;
        Ok(Dir {
            fd,
            path: self.path.join(name),
        })
    }

    /// The folder `name` in this one, made (with `mode`, less the umask) if
    /// it is missing; refused if a link or anything else stands there.
    pub(crate) fn make_sub(&self, name: &str, mode: u32) -> io::Result<Dir> {
        self.make_dir(name, mode)?;
        self.sub(name)
    }

    /// Makes the folder `name` (with `mode`, less the umask): true if it was
    /// made, false if something (a link, not followed, included) already
    /// stands at the name.
    pub(crate) fn make_dir(&self, name: &str, mode: u32) -> io::Result<bool> {
        match mkdirat(
            Some(self.fd.as_raw_fd()),
            name,
            Mode::from_bits_truncate(mode),
        ) {
            Ok(()) => Ok(true),
            Err(Errno::EEXIST) => Ok(false),
            Err(e) => Err(self.explain(name, e)),
        }
    }

    /// Makes the folder `name`, which must not exist yet.
    pub(crate) fn make_new_sub(&self, name: &str, mode: u32) -> io::Result<Dir> {
        mkdirat(
            Some(self.fd.as_raw_fd()),
            name,
            Mode::from_bits_truncate(mode),
        )
        .map_err(|e| match e {
            // Said of a link as of anything else at the name, but a link
            // deserves its own words.
            Errno::EEXIST => self.explain(name, Errno::ELOOP),
            e => self.explain(name, e),
        })
        .map_err(|e| match e.raw_os_error() {
            Some(libc::ELOOP) => io::Error::from(io::ErrorKind::AlreadyExists),
            _ => e,
        })?;
        self.sub(name)
    }

    /// The regular file `name`, for reading.
    pub(crate) fn read_file(&self, name: &str) -> io::Result<File> {
        self.regular(name, OFlag::O_RDONLY, 0)
    }

    /// The regular file `name`, made with `mode` if missing, for appending.
    /// Refused if it has other names: `O_NOFOLLOW` says nothing of hard
    /// links, and a file planted at `name` as a hard link to one outside the
    /// store would receive what is appended here.
    pub(crate) fn append_file(&self, name: &str, mode: u32) -> io::Result<File> {
        let file = self.regular(
            name,
            OFlag::O_WRONLY | OFlag::O_APPEND | OFlag::O_CREAT,
            mode,
        )?;
        let st = fstat(file.as_raw_fd()).map_err(io::Error::from)?;
        if st.st_nlink > 1 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "it has {} hard links; zwarm does not write to a file with another name",
                    st.st_nlink
                ),
            ));
        }
        Ok(file)
    }

    /// A lock file: made if missing where this process may write, else
    /// opened for reading, which is all `flock` needs (a store this user may
    /// read but not write still has its locks honoured).
    pub(crate) fn lock_file(&self, name: &str) -> io::Result<File> {
        match self.regular(name, OFlag::O_RDWR | OFlag::O_CREAT, 0o666) {
            // Missing too: the store cannot be written, which is the news.
            Err(e) if is_unwritable(&e) => self.read_file(name).map_err(|_| e),
            opened => opened,
        }
    }

    /// Writes `name` so that a reader sees the old content or the new,
    /// never a mix, and the new content is on disk before it replaces the
    /// old. The temporary file is made new (`O_EXCL`): a link planted at its
    /// name is neither followed nor its target truncated.
    pub(crate) fn write_atomic(&self, name: &str, bytes: &[u8], mode: u32) -> io::Result<()> {
        let tmp = format!(".{name}.{}.tmp", std::process::id());
        let result = (|| -> io::Result<()> {
            let mut f = self.create_temp(&tmp, mode)?;
            f.write_all(bytes)?;
            f.sync_all()?;
            self.rename(&tmp, self, name)?;
            // The rename itself must reach the disk too.
            self.sync()
        })();
        if result.is_err() {
            let _ = self.remove_file(&tmp);
        }
        result
    }

    /// Creates the temporary file `name` with `mode` (less the umask),
    /// never opening what is there already. Anything there (left by a
    /// writer that died, whose pid this process now has) is removed, once.
    pub(crate) fn create_temp(&self, name: &str, mode: u32) -> io::Result<File> {
        let flags = OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_NOFOLLOW;
        let create = || {
            self.openat(
                name,
                flags | OFlag::O_CLOEXEC,
                Mode::from_bits_truncate(mode),
            )
            .map(File::from)
        };
        match create() {
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                self.remove_file(name)?;
                create()
            }
            created => created,
        }
    }

    /// Renames `from` in this folder to `to` in `into` (which may be this
    /// one). A rename replaces a link at `to`; it never follows one.
    pub(crate) fn rename(&self, from: &str, into: &Dir, to: &str) -> io::Result<()> {
        renameat(
            Some(self.fd.as_raw_fd()),
            from,
            Some(into.fd.as_raw_fd()),
            to,
        )
        .map_err(|e| self.explain(from, e))
    }

    /// The entries of this folder, read through its descriptor: the folder
    /// listed is the one opened, whatever has been renamed or linked into
    /// its path since.
    pub(crate) fn entries(&self) -> io::Result<std::fs::ReadDir> {
        std::fs::read_dir(self.by_descriptor())
    }

    /// Removes the folder `name` in this one with everything in it. The
    /// walk never follows a link (a link at `name` itself is removed, not
    /// its target), and starts from this folder's descriptor.
    pub(crate) fn remove_tree(&self, name: &str) -> io::Result<()> {
        std::fs::remove_dir_all(self.by_descriptor().join(name))
    }

    /// A path that reaches this very folder through its open descriptor.
    fn by_descriptor(&self) -> PathBuf {
        PathBuf::from(format!("/proc/self/fd/{}", self.fd.as_raw_fd()))
    }

    pub(crate) fn remove_file(&self, name: &str) -> io::Result<()> {
        nix::unistd::unlinkat(
            Some(self.fd.as_raw_fd()),
            name,
            nix::unistd::UnlinkatFlags::NoRemoveDir,
        )
        .map_err(io::Error::from)
    }

    /// What stands at `name`, links not followed.
    pub(crate) fn stat(&self, name: &str) -> io::Result<FileStat> {
        fstatat(
            Some(self.fd.as_raw_fd()),
            name,
            nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW,
        )
        .map_err(io::Error::from)
    }

    /// What this folder itself is (its owner and mode, say).
    pub(crate) fn stat_self(&self) -> io::Result<FileStat> {
        fstat(self.fd.as_raw_fd()).map_err(io::Error::from)
    }

    /// Whether a symbolic link stands at `name`.
    pub(crate) fn is_link(&self, name: &str) -> bool {
        self.stat(name)
            .is_ok_and(|st| SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT == SFlag::S_IFLNK)
    }

    /// Flushes this folder's entries (a name made, renamed or removed in
    /// it) to the disk.
    pub(crate) fn sync(&self) -> io::Result<()> {
        nix::unistd::fsync(self.fd.as_raw_fd()).map_err(io::Error::from)
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// The path of `name` in this folder, for messages.
    pub(crate) fn join(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    pub(crate) fn raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    /// A regular file `name` opened with `flags`: no link followed, no wait
    /// on a FIFO, anything but a regular file refused.
    fn regular(&self, name: &str, flags: OFlag, mode: u32) -> io::Result<File> {
        let flags = flags | OFlag::O_NOFOLLOW | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC;
        let file = File::from(self.openat(name, flags, Mode::from_bits_truncate(mode))?);
        let st = fstat(file.as_raw_fd()).map_err(io::Error::from)?;
        if SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT != SFlag::S_IFREG {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, NotRegular));
        }
        Ok(file)
    }

    fn openat(&self, name: &str, flags: OFlag, mode: Mode) -> io::Result<OwnedFd> {
        let fd = openat(Some(self.fd.as_raw_fd()), name, flags, mode)
            .map_err(|e| self.explain(name, e))?;
        // SAFETY: `openat` just returned this descriptor; nothing else owns it.
        Ok(unsafe { OwnedFd::from_raw_fd(fd) })
    }

    /// The error of a call on `name`, worded for a link where one stands:
    /// the kernel only says "too many levels of symbolic links".
    fn explain(&self, name: &str, e: Errno) -> io::Error {
        if matches!(e, Errno::ELOOP | Errno::ENOTDIR) && self.is_link(name) {
            return io::Error::new(
                io::ErrorKind::InvalidInput,
                "it is a symbolic link, which zwarm does not follow",
            );
        }
        io::Error::from(e)
    }
}

impl AsFd for Dir {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// The refusal of something other than a regular file where one is read
/// or written.
#[derive(Debug)]
struct NotRegular;

impl std::fmt::Display for NotRegular {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("it is not a regular file")
    }
}

impl std::error::Error for NotRegular {}

/// Whether `e` refused a file for not being a regular one (a FIFO, a
/// device, a folder).
pub(crate) fn is_not_regular(e: &io::Error) -> bool {
    e.get_ref().is_some_and(|inner| inner.is::<NotRegular>())
}

/// A file holding more than a bounded read takes: at least this many bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TooLarge(pub u64);

/// The whole of `file`, unless it holds more than `max` bytes. Its size is
/// asked first, and the read is bounded all the same: the file may grow
/// while it is read, and whoever wrote it could otherwise exhaust memory.
pub(crate) fn read_bounded(file: File, max: u64) -> io::Result<Result<Vec<u8>, TooLarge>> {
    let size = file.metadata()?.len();
    if size > max {
        return Ok(Err(TooLarge(size)));
    }
    let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    file.take(max + 1).read_to_end(&mut bytes)?;
    Ok(if bytes.len() as u64 > max {
        Err(TooLarge(bytes.len() as u64))
    } else {
        Ok(bytes)
    })
}

/// Whether an error says this process may not write there (permissions, a
/// read-only mount) or there is no room (a full disk, a spent quota), as
/// opposed to a write that failed for a reason worth reporting as such.
pub(crate) fn is_unwritable(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::PermissionDenied
        || matches!(
            e.raw_os_error(),
            Some(libc::EROFS | libc::ENOSPC | libc::EDQUOT | libc::EPERM)
        )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn setup() -> (tempfile::TempDir, Dir, PathBuf) {
        let tmp = tempfile::tempdir().unwrap();
        let root = Dir::open(tmp.path()).unwrap();
        let outside = tmp.path().join("outside");
        std::fs::create_dir(&outside).unwrap();
        std::fs::write(outside.join("precious"), b"keep me").unwrap();
        (tmp, root, outside)
    }

    #[test]
    fn links_are_never_followed() {
        let (tmp, root, outside) = setup();
        symlink(&outside, tmp.path().join("linked")).unwrap();
        symlink(outside.join("precious"), tmp.path().join("file")).unwrap();
        for err in [
            root.sub("linked").unwrap_err(),
            root.make_sub("linked", 0o755).unwrap_err(),
            root.make_new_sub("linked", 0o755).unwrap_err(),
            root.append_file("file", 0o644).unwrap_err(),
            root.read_file("file").unwrap_err(),
            root.lock_file("file").unwrap_err(),
        ] {
            assert!(err.to_string().contains("symbolic link"), "{err}");
        }
        root.write_atomic("file", b"new", 0o644).unwrap();
        assert_eq!(std::fs::read(outside.join("precious")).unwrap(), b"keep me");
        assert_eq!(std::fs::read(tmp.path().join("file")).unwrap(), b"new");
        assert_eq!(std::fs::read_dir(&outside).unwrap().count(), 1);
    }

    #[test]
    fn a_hard_link_is_never_appended_to() {
        let (tmp, root, outside) = setup();
        std::fs::hard_link(outside.join("precious"), tmp.path().join("linked")).unwrap();
        let err = root.append_file("linked", 0o644).unwrap_err();
        assert!(err.to_string().contains("2 hard links"), "{err}");
        assert_eq!(std::fs::read(outside.join("precious")).unwrap(), b"keep me");
        // Its own file, once the other name is gone.
        std::fs::remove_file(outside.join("precious")).unwrap();
        root.append_file("linked", 0o644)
            .unwrap()
            .write_all(b"!")
            .unwrap();
        assert_eq!(
            std::fs::read(tmp.path().join("linked")).unwrap(),
            b"keep me!"
        );
    }

    #[test]
    fn a_fifo_is_refused_without_waiting() {
        let (tmp, root, _) = setup();
        nix::unistd::mkfifo(&tmp.path().join("fifo"), Mode::from_bits_truncate(0o644)).unwrap();
        for err in [
            root.read_file("fifo").unwrap_err(),
            root.append_file("fifo", 0o644).unwrap_err(),
        ] {
            assert!(
                err.to_string().contains("not a regular file")
                    || err.raw_os_error() == Some(libc::ENXIO),
                "{err}"
            );
        }
    }

    #[test]
    fn a_bounded_read_refuses_what_is_too_large() {
        let (tmp, root, _) = setup();
        std::fs::write(tmp.path().join("f"), b"12345").unwrap();
        let read = |max| read_bounded(root.read_file("f").unwrap(), max).unwrap();
        assert_eq!(read(5), Ok(b"12345".to_vec()));
        assert_eq!(read(4), Err(TooLarge(5)));
        nix::unistd::mkfifo(&tmp.path().join("fifo"), Mode::from_bits_truncate(0o644)).unwrap();
        assert!(is_not_regular(&root.read_file("fifo").unwrap_err()));
        assert!(!is_not_regular(&root.read_file("missing").unwrap_err()));
    }

    #[test]
    fn links_are_recognised_and_made_folders_reported() {
        let (tmp, root, outside) = setup();
        symlink(&outside, tmp.path().join("linked")).unwrap();
        assert!(root.is_link("linked"));
        assert!(!root.is_link("outside") && !root.is_link("missing"));
        assert!(!root.make_dir("linked", 0o700).unwrap());
        assert!(root.make_dir("new", 0o700).unwrap());
        assert!(!root.make_dir("new", 0o700).unwrap());
        root.sync().unwrap();
        let new = root.sub("new").unwrap();
        assert_eq!(new.stat_self().unwrap().st_mode & 0o077, 0);
    }

    #[test]
    fn folders_are_made_once_and_reopened() {
        let (tmp, root, _) = setup();
        let a = root.make_sub("a", 0o700).unwrap();
        a.append_file("f", 0o600).unwrap().write_all(b"x").unwrap();
        assert!(root.make_new_sub("a", 0o700).is_err());
        let again = root.make_sub("a", 0o700).unwrap();
        assert_eq!(
            std::io::read_to_string(again.read_file("f").unwrap()).unwrap(),
            "x"
        );
        assert!(tmp.path().join("a/f").is_file());
    }
}
