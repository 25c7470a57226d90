//! A global allocator for programs that render large images: every allocation of at least
//! 2 MiB gets an anonymous mapping of its own that starts on a 2 MiB boundary
//! and is advised for transparent huge pages (`madvise(MADV_HUGEPAGE)`) before anything
//! touches it; everything else goes to the system allocator.
//!
//! Why: glibc serves a large allocation from a mapping of its own with a 16-byte header, so the
//! buffer starts just past a page boundary and only the 2 MiB pages wholly inside it can be
//! huge (see [`crate::memory::advise_huge_pages`]): a 1024² float image (4 MiB) keeps half
//! of its pages at 4 KiB, 513 page faults where two would do. Where a page fault is dear (a
//! virtual machine: ~1.5 µs per 4 KiB page on the project's 2-core EPYC VM) that is a
//! measurable part of a short render. Aligned, the image costs two faults; the kernel zeroes
//! the same bytes either way.
//!
//! The library never installs it (a library does not choose its users' allocator); the
//! `nanoBragg` program does, with `#[global_allocator]`. Mappings are zero-filled by the
//! kernel, so `alloc_zeroed` writes nothing, and a freed mapping goes back to the system at
//! once (`munmap`). Off Linux, or with pages other than 4 KiB, it is the system allocator.

use crate::memory::HUGE_PAGE;
use std::alloc::{GlobalAlloc, Layout, System};

/// Allocations of this many bytes or more get a 2 MiB-aligned mapping of their own.
const THRESHOLD: usize = HUGE_PAGE;

/// The only base page size this allocator maps for (others: the system allocator).
const PAGE: usize = 4096;

/// The allocator: large blocks as 2 MiB-aligned, huge-page-advised mappings, the rest from
/// [`System`].
#[derive(Clone, Copy, Debug, Default)]
pub struct HugePageAlloc;

/// Whether `layout` is served by a mapping of its own.
fn mapped(layout: &Layout) -> bool {
    cfg!(target_os = "linux")
        && layout.size() >= THRESHOLD
        && layout.align() <= HUGE_PAGE
        && page_size() == PAGE
}

/// The system's page size, read once (`sysconf`; 0 when unknown).
pub(crate) fn page_size() -> usize {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static SIZE: AtomicUsize = AtomicUsize::new(usize::MAX);
    let s = SIZE.load(Ordering::Relaxed);
    if s != usize::MAX {
        return s;
    }
    #[cfg(unix)]
    // SAFETY: sysconf has no preconditions.
    let s = usize::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).unwrap_or(0);
    #[cfg(not(unix))]
    let s = 0;
    SIZE.store(s, Ordering::Relaxed);
    s
}

/// The length of the mapping that holds `size` bytes.
fn mapping_len(size: usize) -> Option<usize> {
    size.checked_next_multiple_of(PAGE)
}

/// A fresh, zero-filled mapping of at least `size` bytes starting on a 2 MiB boundary,
/// advised for huge pages; null when the system refuses.
#[cfg(target_os = "linux")]
fn map_aligned(size: usize) -> *mut u8 {
    let Some(len) = mapping_len(size) else {
        return std::ptr::null_mut();
    };
    // room to slide the start to the next 2 MiB boundary; the slack is unmapped again
    let Some(span) = len.checked_add(HUGE_PAGE - PAGE) else {
        return std::ptr::null_mut();
    };
    // SAFETY: a new private anonymous mapping; nothing else refers to its addresses.
    unsafe {
        let p = libc::mmap(
            std::ptr::null_mut(),
            span,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        );
        if p == libc::MAP_FAILED {
            return std::ptr::null_mut();
        }
        let base = p as usize;
        let start = base.next_multiple_of(HUGE_PAGE);
        let head = start - base;
        let tail = span - head - len;
        if head > 0 {
            libc::munmap(p, head);
        }
        if tail > 0 {
            libc::munmap((start + len) as *mut libc::c_void, tail);
        }
        // advice only: without huge pages the mapping works as any other
        libc::madvise(start as *mut libc::c_void, len, libc::MADV_HUGEPAGE);
        start as *mut u8
    }
}

#[cfg(not(target_os = "linux"))]
fn map_aligned(_size: usize) -> *mut u8 {
    std::ptr::null_mut()
}

/// Return a mapping made by [`map_aligned`] for `size` bytes.
///
/// # Safety
/// `ptr` came from `map_aligned(size)` and is not used afterwards.
unsafe fn unmap(ptr: *mut u8, size: usize) {
    #[cfg(target_os = "linux")]
    if let Some(len) = mapping_len(size) {
        // SAFETY: the caller passes a live mapping of `len` bytes from `map_aligned`.
        unsafe { libc::munmap(ptr.cast(), len) };
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (ptr, size);
}

// SAFETY: blocks of mapped layouts are fresh mappings of at least `size` bytes, aligned to
// 2 MiB (≥ the layout's alignment) and returned to the system only by `dealloc` with the same
// layout (so the same decision and the same length); all other blocks are `System`'s.
unsafe impl GlobalAlloc for HugePageAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if mapped(&layout) {
            map_aligned(layout.size())
        } else {
            // SAFETY: forwarded with the caller's guarantees.
            unsafe { System.alloc(layout) }
        }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if mapped(&layout) {
            // the kernel zero-fills new mappings
            map_aligned(layout.size())
        } else {
            // SAFETY: forwarded with the caller's guarantees.
            unsafe { System.alloc_zeroed(layout) }
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if mapped(&layout) {
            // SAFETY: a mapped layout's block came from `map_aligned(layout.size())`.
            unsafe { unmap(ptr, layout.size()) }
        } else {
            // SAFETY: forwarded with the caller's guarantees.
            unsafe { System.dealloc(ptr, layout) }
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller guarantees a valid layout for `new_size` with the same alignment.
        let new = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        match (mapped(&layout), mapped(&new)) {
            // SAFETY: forwarded with the caller's guarantees.
            (false, false) => unsafe { System.realloc(ptr, layout, new_size) },
            (true, true) if mapping_len(layout.size()) == mapping_len(new_size) => ptr,
            _ => {
                // SAFETY: `new` has a non-zero size (≥ the old block's or ≥ THRESHOLD, or
                // the caller's non-zero new_size); the blocks do not overlap; the old block
                // is freed with its own layout.
                unsafe {
                    let fresh = self.alloc(new);
                    if !fresh.is_null() {
                        std::ptr::copy_nonoverlapping(ptr, fresh, layout.size().min(new_size));
                        self.dealloc(ptr, layout);
                    }
                    fresh
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: usize = 1 << 20;

    #[test]
    fn large_blocks_are_aligned_zeroed_and_writable() {
        let a = HugePageAlloc;
        for size in [2 * MIB, 4 * MIB, 4 * MIB + 12, 7 * MIB + 4096] {
            let layout = Layout::from_size_align(size, 4).unwrap();
            // SAFETY: a non-zero layout; the block is freed with it below.
            unsafe {
                let p = a.alloc_zeroed(layout);
                assert!(!p.is_null());
                if cfg!(target_os = "linux") {
                    assert_eq!(p as usize % HUGE_PAGE, 0, "size {size}");
                }
                let s = std::slice::from_raw_parts_mut(p, size);
                assert!(s.iter().all(|&b| b == 0), "size {size}: not zeroed");
                s.fill(0xa5);
                assert_eq!(s[size - 1], 0xa5);
                a.dealloc(p, layout);
            }
        }
    }

    #[test]
    fn small_blocks_come_from_the_system_allocator() {
        let a = HugePageAlloc;
        let layout = Layout::from_size_align(THRESHOLD - 1, 8).unwrap();
        assert!(!mapped(&layout));
        assert!(!mapped(
            &Layout::from_size_align(THRESHOLD, 2 * HUGE_PAGE).unwrap()
        ));
        // SAFETY: a non-zero layout; freed with it.
        unsafe {
            let p = a.alloc_zeroed(layout);
            assert!(!p.is_null());
            assert!(
                std::slice::from_raw_parts(p, layout.size())
                    .iter()
                    .all(|&b| b == 0)
            );
            a.dealloc(p, layout);
        }
    }

    /// Growing and shrinking across the threshold, and within one mapping, keeps the bytes.
    #[test]
    fn realloc_keeps_contents_across_the_threshold() {
        let a = HugePageAlloc;
        let sizes = [1000, 3 * MIB, 3 * MIB + 100, 9 * MIB, 5 * MIB, 64, 2 * MIB];
        let first = Layout::from_size_align(sizes[0], 8).unwrap();
        // SAFETY: each block is reallocated with the layout it was allocated with; the last
        // one is freed with its own.
        unsafe {
            let mut p = a.alloc(first);
            assert!(!p.is_null());
            let pattern = |i: usize| (i % 251) as u8;
            for i in 0..sizes[0] {
                *p.add(i) = pattern(i);
            }
            let mut layout = first;
            let mut valid = sizes[0];
            for &size in &sizes[1..] {
                p = a.realloc(p, layout, size);
                assert!(!p.is_null());
                valid = valid.min(size);
                let s = std::slice::from_raw_parts_mut(p, size);
                for (i, &b) in s[..valid].iter().enumerate() {
                    assert_eq!(b, pattern(i), "byte {i} after realloc to {size}");
                }
                for (i, b) in s.iter_mut().enumerate().skip(valid) {
                    *b = pattern(i);
                }
                valid = size;
                layout = Layout::from_size_align(size, 8).unwrap();
            }
            a.dealloc(p, layout);
        }
    }
}
