//! A zeroed image buffer made ready on an idle worker thread while the set-up goes on.
//!
//! A render's first row is rendered alone, before the others (see `kernel::drive`), and its
//! first write to the fresh image buffer waits for the kernel to zero that memory: one 2 MiB
//! page with the program's allocator, ~0.3-0.5 ms on the project's 2-core VM, where a first
//! touch of memory is dear. With more than one worker thread, one of them is idle while the
//! command line and input files are read on the calling thread; [`start`] has it allocate the
//! image and write to its first pages then, and the render [`take`]s that buffer instead of a
//! new one. The contents are the same (zeros); only the time of the page faults moves.
//!
//! One spare at a time, for the process. A render of another size drops it and allocates its
//! own. With one worker thread nothing is done ahead: that thread is the one that renders.

use std::sync::{Condvar, Mutex};

/// At most this many bytes of the spare are written ahead (the rest is faulted in by the
/// render, spread over its threads): the writes must end within the set-up they hide behind.
const AHEAD: usize = 4 << 20;

/// The spare's state, for process `pid` (a child of `fork()` has no worker filling it).
struct Slot {
    pid: u32,
    state: State,
}

enum State {
    Idle,
    /// A worker will fill a buffer of this many floats (unless it is taken first).
    Queued(usize),
    /// A worker is filling the buffer.
    Filling,
    Ready(Vec<f32>),
}

/// A slot for one spare buffer and the signal that its fill ended.
struct Spare {
    slot: Mutex<Slot>,
    filled: Condvar,
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
            slot: Mutex::new(Slot {
                pid: 0,
                state: State::Idle,
            }),
            filled: Condvar::new(),
        }
    }

    fn slot(&self) -> std::sync::MutexGuard<'_, Slot> {
        let mut s = self.slot.lock().unwrap_or_else(|e| e.into_inner());
        let pid = std::process::id();
        if s.pid != pid {
            *s = Slot {
                pid,
                state: State::Idle,
            };
        }
        s
    }

    fn start(&'static self, len: usize) {
        let Ok(pool) = crate::pool::get(None) else {
            return;
        };
        if pool.current_num_threads() < 2 || len == 0 {
            return;
        }
        {
            let mut s = self.slot();
            if !matches!(s.state, State::Idle) {
                return;
            }
            s.state = State::Queued(len);
        }
        pool.spawn(move || {
            // (a panic on a pool thread would abort the process; here it only loses the spare)
            let _ = std::panic::catch_unwind(|| self.fill(len));
        });
    }

    fn take(&self, len: usize) -> Vec<f32> {
        let mut s = self.slot();
        while matches!(s.state, State::Filling) {
            s = self.filled.wait(s).unwrap_or_else(|e| e.into_inner());
        }
        // a queued fill is not waited for (the render may run on the pool's last free
        // thread): it finds the slot idle and does nothing; a spare of another length is dropped
        match std::mem::replace(&mut s.state, State::Idle) {
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
            let mut s = self.slot();
            if !matches!(s.state, State::Queued(l) if l == len) {
                return;
            }
            s.state = State::Filling;
        }
        // back to idle or ready (and a waiting render woken) however this ends
        struct Done<'a>(&'a Spare, Option<Vec<f32>>);
        impl Drop for Done<'_> {
            fn drop(&mut self) {
                let mut s = self.0.slot();
                s.state = match self.1.take() {
                    Some(v) => State::Ready(v),
                    None => State::Idle,
                };
                self.0.filled.notify_all();
            }
        }
        let mut done = Done(self, None);
        let bytes = (len as u128).checked_mul(4);
        // a buffer the run may not have is left to the run's own memory check to refuse
        if crate::memory::refuse_beyond(bytes, |_, _| String::new()).is_err() {
            return;
        }
        let mut v = vec![0f32; len];
        let ahead = len.min(AHEAD / 4);
        // one write per 4 KiB page; volatile, as the compiler may drop a store of the zero
        // that a zeroed allocation already holds
        for i in (0..ahead).step_by(1024) {
            // SAFETY: `i < len`, inside the buffer this function owns.
            unsafe { std::ptr::write_volatile(v.as_mut_ptr().add(i), 0.0) };
        }
        done.1 = Some(v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    impl Spare {
        /// Wait until no fill is queued or running (the test's pool has idle threads).
        fn settle(&self) {
            let mut s = self.slot();
            while matches!(s.state, State::Queued(_) | State::Filling) {
                s = self.filled.wait(s).unwrap_or_else(|e| e.into_inner());
            }
        }

        fn ready(&self) -> Option<*const f32> {
            match &self.slot().state {
                State::Ready(v) => Some(v.as_ptr()),
                _ => None,
            }
        }
    }

    #[test]
    fn a_spare_of_the_renders_size_is_handed_over_zeroed() {
        static S: Spare = Spare::new();
        crate::pool::with_threads(2, || {
            let n = 3 << 20; // 12 MiB: more than is written ahead
            S.start(n);
            S.settle();
            let spare = S.ready().expect("the worker filled the spare");
            let v = S.take(n);
            assert_eq!((v.as_ptr(), v.len()), (spare, n));
            assert!(v.iter().all(|&x| x.to_bits() == 0));
            assert!(S.ready().is_none());
            // taken: the next render of the size allocates its own
            let w = S.take(n);
            assert_ne!(w.as_ptr(), v.as_ptr());
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
            assert!(matches!(S.slot().state, State::Idle));
        });
    }

    #[test]
    fn nothing_is_prepared_ahead_with_one_thread() {
        static S: Spare = Spare::new();
        crate::pool::with_threads(1, || {
            S.start(5000);
            assert!(matches!(S.slot().state, State::Idle));
        });
    }
}
