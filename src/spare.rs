//! A zeroed image buffer made ready on an idle worker thread while the set-up goes on.
//!
//! A render's first row is rendered alone, before the others (see `kernel::drive`), and its
//! first write to the fresh image buffer waits for the kernel to map and zero that memory:
//! one 2 MiB page with the program's allocator, ~0.3-0.5 ms on the project's 2-core VM, where
//! a first touch of memory is dear. With more than one worker thread, one of them is idle
//! while the command line and input files are read on the calling thread; [`start`] has it
//! allocate the image and then ask Linux to map its first pages (`MADV_POPULATE_WRITE`, which
//! changes no contents), and the render [`take`]s that buffer instead of a new one. The
//! buffer is handed over as soon as it is allocated: the mapping may still be under way, and
//! the render's own writes go on beside it.
//!
//! Only a buffer of a huge page (2 MiB) or more is mapped ahead, its first huge page on its own
//! first (what the first row needs). A smaller one is in 4 KiB pages: mapping them ahead
//! holds the address-space lock against the set-up's own allocations for as long as the
//! render's threads need to fault them side by side (perf_mosaic_spectrum_512 and
//! perf004_triclinic_512 ran 9.67 -> 9.51 ms and 5.12 -> 5.07 ms without it; with the first
//! huge page on its own, perf001 7.06 -> 6.90 ms and perf002 12.32 -> 12.09 ms: medians of 41
//! alternating runs on two threads of a 2-core Xeon VM).
//!
//! One spare at a time, for the process. A render of another size drops it and allocates its
//! own. With one worker thread nothing is done ahead: that thread is the one that renders. A
//! child of `fork()` never uses its parent's spare, nor its lock: a thread of the parent may
//! have held the lock at the fork, and in the child nothing would release it.

#[cfg(test)]
use std::sync::atomic::AtomicUsize;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Condvar, Mutex};

/// At most this many bytes of the spare are mapped ahead (the rest is faulted in by the
/// render, spread over its threads).
const AHEAD: usize = 4 << 20;

enum State {
    Idle,
    /// A worker will allocate a buffer of this many floats (unless it is taken first).
    Queued(usize),
    /// A worker is allocating the buffer.
    Allocating,
    Ready(Vec<f32>),
}

/// A slot for one spare buffer and the signal that its allocation ended.
struct Spare {
    /// The process that uses the slot (0 before the first use): checked before the lock is
    /// taken, so that a child of `fork()` never waits for it.
    owner: AtomicU32,
    slot: Mutex<State>,
    allocated: Condvar,
    /// Buffers whose first pages were mapped ahead, and fills that ended.
    #[cfg(test)]
    populated: AtomicUsize,
    #[cfg(test)]
    fills: AtomicUsize,
}

/// The process's spare.
static SPARE: Spare = Spare::new();

/// Have an idle worker of the default pool prepare a zeroed buffer of `len` floats for the
/// next render, when the pool has more than one thread and no spare is pending.
pub fn start(len: usize) {
    SPARE.start(len);
}

/// A zeroed buffer of `len` floats: the spare when it has that length, else a new one.
pub fn take(len: usize) -> Vec<f32> {
    SPARE.take(len)
}

impl Spare {
    const fn new() -> Spare {
        Spare {
            owner: AtomicU32::new(0),
            slot: Mutex::new(State::Idle),
            allocated: Condvar::new(),
            #[cfg(test)]
            populated: AtomicUsize::new(0),
            #[cfg(test)]
            fills: AtomicUsize::new(0),
        }
    }

    /// The slot, locked; `None` in a process other than the one that first used it (a child
    /// of `fork()`), which leaves the spare alone.
    fn slot(&self) -> Option<std::sync::MutexGuard<'_, State>> {
        let pid = std::process::id();
        match self
            .owner
            .compare_exchange(0, pid, Ordering::AcqRel, Ordering::Acquire)
        {
            Ok(_) => {}
            Err(owner) if owner == pid => {}
            Err(_) => return None,
        }
        Some(self.slot.lock().unwrap_or_else(|e| e.into_inner()))
    }

    fn start(&'static self, len: usize) {
        let Ok(pool) = crate::pool::get(None) else {
            return;
        };
        if pool.current_num_threads() < 2 || len == 0 {
            return;
        }
        {
            let Some(mut s) = self.slot() else {
                return;
            };
            if !matches!(*s, State::Idle) {
                return;
            }
            *s = State::Queued(len);
        }
        pool.spawn(move || {
            // (a panic on a pool thread would abort the process; here it only loses the spare)
            let _ = std::panic::catch_unwind(|| self.fill(len));
        });
    }

    fn take(&self, len: usize) -> Vec<f32> {
        let Some(mut s) = self.slot() else {
            return vec![0f32; len];
        };
        while matches!(*s, State::Allocating) {
            s = self.allocated.wait(s).unwrap_or_else(|e| e.into_inner());
        }
        // a queued fill is not waited for (the render may run on the pool's last free
        // thread): it finds the slot idle and does nothing; a spare of another length is dropped
        match std::mem::replace(&mut *s, State::Idle) {
            State::Ready(v) if v.len() == len => v,
            _ => {
                drop(s);
                vec![0f32; len]
            }
        }
    }

    /// The worker's part of [`Spare::start`].
    fn fill(&self, len: usize) {
        {
            let Some(mut s) = self.slot() else {
                return;
            };
            if !matches!(*s, State::Queued(l) if l == len) {
                return;
            }
            *s = State::Allocating;
        }
        // ready (or idle again), and a waiting render woken, however the allocation ends
        struct Done<'a>(&'a Spare, Option<Vec<f32>>);
        impl Drop for Done<'_> {
            fn drop(&mut self) {
                // (a fill runs only in the slot's process, whose slot this is)
                if let Some(mut s) = self.0.slot() {
                    *s = match self.1.take() {
                        Some(v) => State::Ready(v),
                        None => State::Idle,
                    };
                }
                self.0.allocated.notify_all();
            }
        }
        let mut done = Done(self, None);
        let Some(v) = zeroed(len) else {
            return;
        };
        let ahead = (v.as_ptr() as usize, len.min(AHEAD / 4) * 4);
        done.1 = Some(v);
        drop(done);
        // (only pages the image's first rows need first: the render's first row waits for
        // the first of them; a buffer below a huge page is left to the render, whose threads
        // fault its pages side by side)
        if len * 4 >= crate::memory::HUGE_PAGE {
            let first = ahead.1.min(crate::memory::HUGE_PAGE);
            populate(ahead.0, first);
            populate(ahead.0 + first, ahead.1 - first);
            #[cfg(test)]
            self.populated.fetch_add(1, Ordering::Release);
        }
        #[cfg(test)]
        self.fills.fetch_add(1, Ordering::Release);
    }
}

/// A zeroed buffer of `len` floats, or `None` when it would pass the address-space limit or
/// the allocation fails (the run's own memory check then decides, and says why). Only
/// reserved here: the system maps zero pages when they are first written.
fn zeroed(len: usize) -> Option<Vec<f32>> {
    let layout = std::alloc::Layout::array::<f32>(len).ok()?;
    if layout.size() == 0 || !crate::memory::reservable(layout.size() as u128) {
        return None;
    }
    // SAFETY: the layout has a non-zero size.
    let p = unsafe { std::alloc::alloc_zeroed(layout) }.cast::<f32>();
    if p.is_null() {
        return None;
    }
    // SAFETY: `p` was allocated by the global allocator with `Vec<f32>`'s layout for `len`
    // elements, all initialised (zero bits are 0.0).
    Some(unsafe { Vec::from_raw_parts(p, len, len) })
}

/// Ask Linux to map the pages of `bytes` bytes at address `at` for writing, now
/// (`MADV_POPULATE_WRITE`, Linux 5.14 and later; elsewhere nothing is done).
fn populate(at: usize, bytes: usize) {
    #[cfg(target_os = "linux")]
    {
        let page = crate::huge_alloc::page_size();
        if page == 0 {
            return;
        }
        let from = at / page * page;
        let to = at.saturating_add(bytes).next_multiple_of(page);
        // SAFETY: populating maps pages and changes no byte in them; the range may meanwhile
        // be the render's (it owns the buffer once taken), whose writes it does not disturb,
        // or unmapped (then madvise fails, which is ignored).
        unsafe {
            libc::madvise(
                from as *mut libc::c_void,
                to - from,
                libc::MADV_POPULATE_WRITE,
            );
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (at, bytes);
}

#[cfg(test)]
mod tests {
    use super::*;

    impl Spare {
        /// Wait until no allocation is queued or running (the test's pool has idle threads).
        fn settle(&self) {
            let mut s = self.slot().expect("this process's slot");
            while matches!(*s, State::Queued(_) | State::Allocating) {
                s = self.allocated.wait(s).unwrap_or_else(|e| e.into_inner());
            }
        }

        fn ready(&self) -> Option<*const f32> {
            match &*self.slot().expect("this process's slot") {
                State::Ready(v) => Some(v.as_ptr()),
                _ => None,
            }
        }
    }

    /// Pages of `bytes` bytes at `at` that are mapped (`mincore`).
    #[cfg(target_os = "linux")]
    fn resident_pages(at: usize, bytes: usize) -> usize {
        let page = crate::huge_alloc::page_size();
        let from = at / page * page;
        let pages = (at + bytes - from).div_ceil(page);
        let mut v = vec![0u8; pages];
        // SAFETY: `v` has one byte per page of the range, which lies in a live allocation.
        let r = unsafe { libc::mincore(from as *mut libc::c_void, pages * page, v.as_mut_ptr()) };
        assert_eq!(r, 0);
        v.iter().filter(|&&b| b & 1 != 0).count()
    }

    #[test]
    fn a_spare_of_the_renders_size_is_handed_over_zeroed_with_its_first_pages_mapped() {
        static S: Spare = Spare::new();
        crate::pool::with_threads(2, || {
            // 40 MiB: more than is mapped ahead, and more than glibc ever serves from memory
            // it has used before (32 MiB at most), so the pages start unmapped
            let n = 10 << 20;
            S.start(n);
            S.settle();
            let spare = S.ready().expect("the worker allocated the spare");
            let v = S.take(n);
            assert_eq!((v.as_ptr(), v.len()), (spare, n));
            while S.populated.load(Ordering::Acquire) == 0 {
                std::thread::yield_now();
            }
            // (before the contents are read: a read maps pages too)
            #[cfg(target_os = "linux")]
            {
                let at = v.as_ptr() as usize;
                let page = crate::huge_alloc::page_size();
                let ahead = resident_pages(at, AHEAD);
                assert!(ahead >= AHEAD / page, "{ahead} pages mapped ahead");
                // the rest is left to the render
                let rest = resident_pages(at + AHEAD + page, 4 << 20);
                assert_eq!(rest, 0, "pages mapped beyond what was asked");
            }
            assert!(v.iter().all(|&x| x.to_bits() == 0));
            // taken: the next render of the size allocates its own
            assert!(S.ready().is_none());
            let w = S.take(n);
            assert_ne!(w.as_ptr(), v.as_ptr());
        });
    }

    #[test]
    fn a_spare_below_a_huge_page_is_not_mapped_ahead() {
        static S: Spare = Spare::new();
        crate::pool::with_threads(2, || {
            let n = (crate::memory::HUGE_PAGE / 4) - 1024;
            S.start(n);
            S.settle();
            let v = S.take(n);
            assert_eq!(v.len(), n);
            while S.fills.load(Ordering::Acquire) == 0 {
                std::thread::yield_now();
            }
            assert_eq!(S.populated.load(Ordering::Acquire), 0);
            assert!(v.iter().all(|&x| x.to_bits() == 0));
        });
    }

    /// A child of `fork()` takes a buffer of its own at once, even where a thread of the
    /// parent held the slot's lock at the fork (in the child nothing releases it).
    #[cfg(target_os = "linux")]
    #[test]
    fn a_forked_child_never_waits_for_its_parents_lock() {
        static S: Spare = Spare::new();
        crate::pool::with_threads(2, || {
            S.start(4096);
            S.settle();
            let (locked, is_locked) = std::sync::mpsc::channel();
            let (release, released) = std::sync::mpsc::channel::<()>();
            let holder = std::thread::spawn(move || {
                let slot = S.slot().expect("this process's slot");
                locked.send(()).unwrap();
                released.recv().unwrap();
                drop(slot);
            });
            is_locked.recv().unwrap();
            // SAFETY: the child only takes a buffer (an allocation) and exits.
            let pid = unsafe { libc::fork() };
            assert!(pid >= 0);
            if pid == 0 {
                // SAFETY: alarm and _exit are async-signal-safe.
                unsafe { libc::alarm(10) }; // a wait for the lock ends here
                let v = S.take(4096);
                let ok = v.len() == 4096 && v.iter().all(|x| x.to_bits() == 0);
                unsafe { libc::_exit(if ok { 0 } else { 1 }) };
            }
            release.send(()).unwrap();
            holder.join().unwrap();
            let mut status = 0;
            // SAFETY: a child of this process; `status` is written by the call.
            assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
            assert!(
                libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
                "the child failed or waited (status {status:#x})"
            );
        });
    }

    #[test]
    fn a_spare_of_another_size_is_dropped() {
        static S: Spare = Spare::new();
        crate::pool::with_threads(2, || {
            S.start(5000);
            S.settle();
            assert!(S.ready().is_some());
            let v = S.take(4000);
            assert_eq!(v.len(), 4000);
            assert!(v.iter().all(|&x| x.to_bits() == 0));
            assert!(S.ready().is_none());
            assert!(matches!(*S.slot().unwrap(), State::Idle));
        });
    }

    #[test]
    fn a_render_before_the_worker_allocates_its_own_and_the_late_fill_does_nothing() {
        static S: Spare = Spare::new();
        crate::pool::with_threads(2, || {
            let pool = crate::pool::get(None).expect("pool");
            // both workers held, so the fill stays queued
            let (hold, wait) = std::sync::mpsc::channel::<()>();
            let wait = std::sync::Arc::new(Mutex::new(wait));
            let held = std::sync::Arc::new(AtomicUsize::new(0));
            for _ in 0..2 {
                let (wait, held) = (wait.clone(), held.clone());
                pool.spawn(move || {
                    held.fetch_add(1, Ordering::AcqRel);
                    let _ = wait.lock().unwrap_or_else(|e| e.into_inner()).recv();
                });
            }
            while held.load(Ordering::Acquire) < 2 {
                std::thread::yield_now();
            }
            S.start(5000);
            assert!(matches!(*S.slot().unwrap(), State::Queued(5000)));
            let v = S.take(5000);
            assert_eq!(v.len(), 5000);
            assert!(v.iter().all(|&x| x.to_bits() == 0));
            assert!(matches!(*S.slot().unwrap(), State::Idle));
            // the queued fill, when it runs, finds the slot idle: no spare is made after all
            S.fill(5000);
            assert!(matches!(*S.slot().unwrap(), State::Idle));
            assert_eq!(S.populated.load(Ordering::Acquire), 0);
            for _ in 0..2 {
                let _ = hold.send(());
            }
        });
    }

    #[test]
    fn nothing_is_prepared_ahead_with_one_thread() {
        static S: Spare = Spare::new();
        crate::pool::with_threads(1, || {
            S.start(5000);
            assert!(matches!(*S.slot().unwrap(), State::Idle));
        });
    }
}
