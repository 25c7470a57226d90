//! The worker threads, safe across `fork()`.
//!
//! rayon's global pool does not survive `fork()`: in the child its threads are gone, and the
//! first parallel call waits for them forever (this is what Python's `multiprocessing` does by
//! default). Every parallel step of the library therefore runs on a pool from [`get`], which
//! remembers the process that built it: in a forked child the parent's pools are abandoned
//! (never joined: their threads do not exist there) and fresh ones are built on first use.

use crate::error::{Error, Result};
use rayon::ThreadPool;
use std::sync::{Arc, Mutex};

/// Pools of this process, by thread count (0 = rayon's default: `RAYON_NUM_THREADS`, else one
/// per core).
struct Pools {
    pid: u32,
    pools: Vec<(usize, Arc<ThreadPool>)>,
}

static POOLS: Mutex<Pools> = Mutex::new(Pools {
    pid: 0,
    pools: Vec::new(),
});

thread_local! {
    /// The thread count [`with_threads`] sets for calls on this thread.
    static THREADS: std::cell::Cell<Option<usize>> = const { std::cell::Cell::new(None) };
}

/// Run `f` with the library's parallel work on `threads` threads (renders, statistics,
/// parsing) for the calls `f` makes on this thread; other threads are not affected.
pub fn with_threads<R>(threads: usize, f: impl FnOnce() -> R) -> R {
    let outer = THREADS.with(|t| t.replace(Some(threads.max(1))));
    struct Restore(Option<usize>);
    impl Drop for Restore {
        fn drop(&mut self) {
            THREADS.with(|t| t.set(self.0));
        }
    }
    let _restore = Restore(outer);
    f()
}

/// The pool with `threads` threads (`None`: the count [`with_threads`] set on this thread,
/// else `RAYON_NUM_THREADS`, else one per core), built on first use in this process.
pub fn get(threads: Option<usize>) -> Result<Arc<ThreadPool>> {
    let want = threads.or_else(|| THREADS.with(|t| t.get())).unwrap_or(0);
    let pid = std::process::id();
    let mut p = POOLS.lock().unwrap_or_else(|e| e.into_inner());
    if p.pid != pid {
        // first use, or a child of fork(): the parent's worker threads are not in this process
        std::mem::forget(std::mem::take(&mut p.pools));
        p.pid = pid;
    }
    if let Some((_, pool)) = p.pools.iter().find(|(n, _)| *n == want) {
        return Ok(pool.clone());
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(want)
        .thread_name(|i| format!("nanobragg-{i}"))
        .build()
        .map_err(|e| Error::invalid(format!("cannot start the worker threads: {e}")))?;
    let pool = Arc::new(pool);
    p.pools.push((want, pool.clone()));
    Ok(pool)
}

/// Run `f` on the default pool, so that the parallel iterators and joins inside it use it.
pub fn install<R: Send>(f: impl FnOnce() -> R + Send) -> Result<R> {
    Ok(get(None)?.install(f))
}

#[cfg(test)]
mod tests {
    #[test]
    fn pools_are_cached_per_thread_count() {
        let a = super::get(Some(2)).unwrap();
        let b = super::get(Some(2)).unwrap();
        assert!(std::sync::Arc::ptr_eq(&a, &b));
        assert_eq!(a.current_num_threads(), 2);
        assert_eq!(super::get(Some(1)).unwrap().current_num_threads(), 1);
        let n = super::with_threads(3, || super::get(None).unwrap().current_num_threads());
        assert_eq!(n, 3);
    }
}
