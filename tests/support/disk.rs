//! A small disk for the store: a tmpfs mounted over a folder, where this
//! process may mount (as root, or in a user and mount namespace).

use std::ffi::CString;
use std::io::Write;
use std::path::{Path, PathBuf};

pub struct SmallDisk {
    at: PathBuf,
}

fn c_path(path: &Path) -> CString {
    CString::new(path.to_str().expect("a UTF-8 path")).expect("a path without NUL")
}

impl SmallDisk {
    /// A tmpfs of `size` (e.g. `1m`) over `at`; None where mounting is not
    /// permitted.
    pub fn mount(at: &Path, size: &str) -> Option<SmallDisk> {
        let target = CString::new(at.to_str()?).ok()?;
        let opts = CString::new(format!("size={size}")).ok()?;
        // SAFETY: mount with valid C strings.
        let rc = unsafe {
            libc::mount(
                c"tmpfs".as_ptr(),
                target.as_ptr(),
                c"tmpfs".as_ptr(),
                0,
                opts.as_ptr().cast(),
            )
        };
        (rc == 0).then(|| SmallDisk { at: at.into() })
    }

    /// Writes a filler file until the disk is full.
    pub fn fill(&self) {
        let mut f = std::fs::File::create(self.at.join("filler")).unwrap();
        let chunk = [0u8; 4096];
        while f.write_all(&chunk).is_ok() {}
        let mut byte = 0;
        while f.write_all(&chunk[..1]).is_ok() {
            byte += 1;
            assert!(byte < 8192);
        }
    }

    /// Removes the filler.
    pub fn free(&self) {
        std::fs::remove_file(self.at.join("filler")).unwrap();
    }

    /// A read-only view of the disk laid over it (a bind mount remounted
    /// read-only): files already open stay writable, as they would across
    /// an `mount -o remount,ro` of a disk found failing, but nothing can be
    /// opened for writing or created until the view is taken away.
    pub fn read_only(&self) -> ReadOnly {
        let target = c_path(&self.at);
        // SAFETY: bind mounts of our own tmpfs onto itself.
        unsafe {
            let rc = libc::mount(
                target.as_ptr(),
                target.as_ptr(),
                std::ptr::null(),
                libc::MS_BIND,
                std::ptr::null(),
            );
            assert_eq!(rc, 0, "bind: {}", std::io::Error::last_os_error());
            let rc = libc::mount(
                std::ptr::null(),
                target.as_ptr(),
                std::ptr::null(),
                libc::MS_REMOUNT | libc::MS_BIND | libc::MS_RDONLY,
                std::ptr::null(),
            );
            assert_eq!(rc, 0, "remount ro: {}", std::io::Error::last_os_error());
        }
        ReadOnly { target }
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let target = c_path(&self.at);
        // SAFETY: unmounting our own tmpfs.
        unsafe { libc::umount2(target.as_ptr(), libc::MNT_DETACH) };
    }
}

/// The read-only view of a [`SmallDisk`]; taken away when dropped.
pub struct ReadOnly {
    target: CString,
}

impl Drop for ReadOnly {
    fn drop(&mut self) {
        // SAFETY: unmounting the view laid over our own tmpfs.
        unsafe { libc::umount2(self.target.as_ptr(), libc::MNT_DETACH) };
    }
}
