//! The process's allocator: the system's (glibc) until a turn is decoded on
//! several threads, mimalloc's from then on.
//!
//! Reading a large turn builds each line's decoded form on one thread and
//! frees it on another. glibc's arenas take a lock for every such free
//! (futex waits were 15 % of a busy turn's profile); mimalloc frees across
//! threads without one. But mimalloc spreads a short command's few
//! allocations over a page per size class: `list` of 1,000 sessions took
//! 534 page faults against glibc's 300, 0.7 ms more, and the short
//! commands (`list`, `show`, `start`, a waiting supervisor) gain nothing
//! from it. So [`use_for_threads`] switches new allocations over where the
//! threads start, and every block is freed or grown by the allocator whose
//! block it is, which mimalloc's page map tells.

use std::alloc::{GlobalAlloc, Layout, System};
use std::ffi::c_void;
use std::sync::atomic::{AtomicBool, Ordering};

/// Whether new allocations go to mimalloc.
static THREADED: AtomicBool = AtomicBool::new(false);

/// New allocations go to mimalloc from now on, in every thread. Called
/// before the threads that decode a turn start; a thread that still sees
/// the old value allocates from the system, which is only slower.
pub(crate) fn use_for_threads() {
    THREADED.store(true, Ordering::Relaxed);
}

extern "C" {
    // mimalloc's own page map: true exactly for memory of its arenas, and
    // false for any address before it has allocated anything (its process
    // initialisation, which runs before `main`, sets the map up empty).
    fn mi_is_in_heap_region(p: *const c_void) -> bool;
}

/// Whose block `ptr` is.
fn is_mimallocs(ptr: *mut u8) -> bool {
    // SAFETY: only reads mimalloc's page map, which lives as long as the
    // process and is read without locks by mimalloc's own free.
    unsafe { mi_is_in_heap_region(ptr as *const c_void) }
}

pub(crate) struct Allocator;

// SAFETY: each block is allocated by exactly one of the two allocators and
// is freed or grown by that same one, told by `is_mimallocs`; the layouts
// are passed through unchanged, so each keeps its own contract.
unsafe impl GlobalAlloc for Allocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract for `alloc`, passed on.
        unsafe {
            if THREADED.load(Ordering::Relaxed) {
                mimalloc::MiMalloc.alloc(layout)
            } else {
                System.alloc(layout)
            }
        }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract for `alloc_zeroed`, passed on.
        unsafe {
            if THREADED.load(Ordering::Relaxed) {
                mimalloc::MiMalloc.alloc_zeroed(layout)
            } else {
                System.alloc_zeroed(layout)
            }
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by the allocator it is handed back to.
        unsafe {
            if is_mimallocs(ptr) {
                mimalloc::MiMalloc.dealloc(ptr, layout)
            } else {
                System.dealloc(ptr, layout)
            }
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: `ptr` is grown by the allocator that made it, so the
        // block stays that allocator's.
        unsafe {
            if is_mimallocs(ptr) {
                mimalloc::MiMalloc.realloc(ptr, layout, new_size)
            } else {
                System.realloc(ptr, layout, new_size)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Blocks made before and after the switch are each freed and grown by
    /// their own allocator, across threads, and keep their bytes.
    #[test]
    fn blocks_go_back_to_the_allocator_that_made_them() {
        let before: Vec<Vec<u8>> = (0..64).map(|i| vec![i as u8; 24 + i * 37]).collect();
        // SAFETY: a Layout of non-zero size, freed right after.
        let system = unsafe {
            let layout = Layout::from_size_align(64, 8).unwrap();
            let p = System.alloc(layout);
            let ours = is_mimallocs(p);
            System.dealloc(p, layout);
            ours
        };
        assert!(!system, "a system block taken for mimalloc's");
        use_for_threads();
        let after: Vec<Vec<u8>> = (0..64).map(|i| vec![!(i as u8); 24 + i * 41]).collect();
        assert!(after.iter().all(|v| is_mimallocs(v.as_ptr().cast_mut())));
        // Freed and grown on another thread than the one that made them.
        let (before, after) = std::thread::spawn(move || {
            let mut before = before;
            let mut after = after;
            for v in before.iter_mut().chain(after.iter_mut()) {
                let last = v[0];
                v.resize(v.len() * 3, last);
            }
            (before, after)
        })
        .join()
        .unwrap();
        for (i, v) in before.iter().enumerate() {
            assert!(v.iter().all(|b| *b == i as u8));
        }
        for (i, v) in after.iter().enumerate() {
            assert!(v.iter().all(|b| *b == !(i as u8)));
        }
    }
}
