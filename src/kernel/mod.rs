//! Pixel kernels and the deterministic parallel driver.
//!
//! Kernels render one detector row at a time from a [`Prepared`] plan. The reference's pixel
//! loop carries a little state from pixel to pixel in serial order (the orientation left by
//! the last spindle rotation, the run-wide switch-off of interpolation, the in-place
//! re-normalised E-vector). That state is made explicit as [`SerialState`]: a kernel takes the
//! state at the start of its row and returns the state at its end.
//!
//! The driver renders blocks of rows in parallel, all starting from the same state. Because the
//! state changes at most a few times per run, it almost never changes inside a block; when it
//! does, the rows after the one that changed it are rendered again with the new state. The
//! result is the serial (one-thread) reference result, whatever the number of threads.

pub mod exact;
pub mod simd;
mod sines;

use crate::plan::{CellTables, RenderPlan};
use crate::vec3::V3;

/// Per-run state the reference carries across pixels in serial order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SerialState {
    /// The orientation left by a spindle rotation is in effect (no longer the unrotated cell).
    pub stale_phi: bool,
    /// Tricubic interpolation still enabled.
    pub interp_on: bool,
    /// Index into the E-vector sequence for the next polarization evaluation.
    pub polar_idx: u32,
}

/// The first evaluation whose interpolation stencil left the F grid.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct InterpTrigger {
    pub fpixel: usize,
    pub spixel: usize,
    pub hkl: [f64; 3],
    pub hkl0: [i32; 3],
}

/// A plan with its precomputed tables.
pub struct Prepared<'a> {
    pub plan: &'a RenderPlan,
    pub cells: CellTables,
    /// E-vector for successive polarization evaluations and the successor index of each.
    pub polar_axes: Vec<V3>,
    pub polar_next: Vec<u32>,
    /// The E-vector sequence reaches a fixed point (otherwise it cycles and rows must be
    /// rendered strictly in order).
    pub polar_settles: bool,
    /// See [`Prepared::f_may_be_zero`].
    zero_f: std::sync::OnceLock<bool>,
}

impl<'a> Prepared<'a> {
    pub fn new(plan: &'a RenderPlan) -> Prepared<'a> {
        let cells = plan.cell_tables();
        let (polar_axes, next) = plan.polar_axis_sequence();
        let last = next.len() - 1;
        let polar_settles = next[last] == last;
        Prepared {
            plan,
            cells,
            polar_axes,
            polar_next: next.into_iter().map(|n| n as u32).collect(),
            polar_settles,
            zero_f: std::sync::OnceLock::new(),
        }
    }

    /// Whether a structure factor a step can look up is 0 (default_F, or an entry of the
    /// grid): only then does the exact kernel look F_cell up before a step's lattice factor.
    /// Found on first use (one pass over the grid).
    pub fn f_may_be_zero(&self) -> bool {
        *self.zero_f.get_or_init(|| {
            let p = self.plan;
            p.default_f == 0.0 || p.hkl.as_ref().is_some_and(|g| g.hkls != 0 && g.has_zero())
        })
    }

    /// State at the start of the run.
    pub fn initial_state(&self) -> SerialState {
        SerialState {
            stale_phi: !self.cells.start_matters,
            interp_on: self.plan.interpolate,
            polar_idx: 0,
        }
    }
}

/// The solid angles a row adds to the reference's running sum, in its order, run-length
/// encoded: the exact kernel adds a pixel's cached ω once per sub-pixel and sensor layer, so
/// consecutive terms are mostly equal, and a row's terms stay small whatever `-oversample`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct OmegaTerms(Vec<(f64, u64)>);

impl OmegaTerms {
    /// Append one term.
    #[inline]
    pub fn push(&mut self, w: f64) {
        match self.0.last_mut() {
            Some((v, n)) if v.to_bits() == w.to_bits() => *n += 1,
            _ => self.0.push((w, 1)),
        }
    }

    /// Append every term of `other`, in order.
    pub fn extend(&mut self, other: &OmegaTerms) {
        for &(w, n) in &other.0 {
            match self.0.last_mut() {
                Some((v, m)) if v.to_bits() == w.to_bits() => *m += n,
                _ => self.0.push((w, n)),
            }
        }
    }

    /// Remove every term.
    pub fn clear(&mut self) {
        self.0.clear();
    }

    /// The terms added one by one, in order, from zero.
    pub fn total(&self) -> f64 {
        let mut sum = 0.0;
        self.add_to(&mut sum);
        sum
    }

    /// Add the terms to `sum` one by one, in order (the reference's rounding).
    pub fn add_to(&self, sum: &mut f64) {
        for &(w, n) in &self.0 {
            for _ in 0..n {
                *sum += w;
            }
        }
    }
}

/// A row renderer.
pub trait RowKernel: Sync {
    /// Render row `s` into `out` (fpixels values; pixels not rendered are left untouched),
    /// advancing `state` through the row in serial order. Appends to `omega` the solid angles
    /// the reference adds to its running sum for this row, in its order (the exact kernel), or
    /// partial sums of them (the SIMD kernel adds a pixel's terms, and a row's whole vectors
    /// lane by lane: a fixed order, so the sum does not depend on the thread count). Returns
    /// the row's first out-of-range interpolation, if any.
    fn render_row(
        &self,
        prep: &Prepared,
        s: usize,
        state: &mut SerialState,
        out: &mut [f32],
        omega: &mut OmegaTerms,
    ) -> Option<InterpTrigger>;

    /// The kernel reproduces the reference bit for bit (its statistics are then summed in the
    /// reference's serial order too).
    fn exact(&self) -> bool {
        false
    }
}

/// Progress of a render, reported in serial order.
pub trait Observer {
    /// Rows `..rows_done` are final; `rank_done` pixels rendered so far.
    fn progress(&mut self, _rank_done: usize) {}
    /// The first out-of-range interpolation, reported before the progress that includes it;
    /// `rank` is the serial index of the pixel among rendered pixels.
    fn interp_trigger(&mut self, _t: &InterpTrigger, _rank: usize) {}
    /// Asked after every progress report (at least every 50 ms while rows are rendered): true
    /// stops the render (rows being rendered finish), which then returns
    /// [`crate::Error::Cancelled`].
    fn stop_requested(&mut self) -> bool {
        false
    }
}

/// An observer that ignores everything.
pub struct Silent;
impl Observer for Silent {}

/// A rendered image and what happened while rendering it.
#[derive(Clone, Debug)]
pub struct Rendered {
    /// fpixels·spixels values, slow index outer.
    pub image: Vec<f32>,
    /// First out-of-range interpolation in serial order.
    pub interp_trigger: Option<InterpTrigger>,
    /// Sum of the solid angles of every rendered sub-pixel and sensor layer (sr), summed in
    /// serial order by the exact kernel (the reference's `omega_sum`, bit for bit), in the
    /// fixed order of [`RowKernel::render_row`]'s partial sums by the SIMD kernel.
    pub omega_sum: f64,
    /// Rendered by the exact kernel.
    pub exact: bool,
    /// For a non-exact kernel, the image statistics ([`crate::stats::compute_rows`]), taken
    /// row by row while the rows were still in cache.
    pub stats: Option<crate::stats::Stats>,
    /// Likewise the NaN, infinite and negative pixels, counted with the statistics (else the
    /// outputs search the image for them).
    pub unusual: Option<crate::stats::Unusual>,
}

/// What a row's rendering produced, before it is known to be final.
struct RowDone {
    exit: SerialState,
    trigger: Option<InterpTrigger>,
    omega: OmegaTerms,
    stats: crate::stats::RowStats,
}

/// Serial bookkeeping of the driver: rows are accepted in order, each from the state the row
/// before it left.
struct Ledger<'o> {
    plan: &'o RenderPlan,
    obs: &'o mut dyn Observer,
    state: SerialState,
    first_trigger: Option<InterpTrigger>,
    omega_sum: f64,
    /// Every solid angle added, in order (kept for a block of rows: see [`render_block`]).
    omega_terms: Option<OmegaTerms>,
    rank: usize,
    /// First row of the rows rendered; `row_stats[s - first]` is row s's.
    first: usize,
    row_stats: Vec<crate::stats::RowStats>,
}

impl Ledger<'_> {
    /// Accept row `s` (rendered from `self.state`); returns whether the state changed.
    fn accept(&mut self, s: usize, d: RowDone) -> bool {
        d.omega.add_to(&mut self.omega_sum);
        if let Some(t) = &mut self.omega_terms {
            t.extend(&d.omega);
        }
        if let (None, Some(t)) = (&self.first_trigger, &d.trigger) {
            let before = (0..t.fpixel)
                .filter(|&x| self.plan.is_rendered(x, s))
                .count();
            self.obs.progress(self.rank + before);
            self.obs.interp_trigger(t, self.rank + before);
            self.first_trigger = Some(*t);
        }
        self.rank += self.plan.rendered_in_row(s);
        // (rows are accepted in order, each once)
        debug_assert_eq!(s - self.first, self.row_stats.len());
        self.row_stats.push(d.stats);
        let changed = d.exit != self.state;
        self.state = d.exit;
        changed
    }
}

/// How often the calling thread reports progress while the pool renders.
const PROGRESS_INTERVAL: std::time::Duration = std::time::Duration::from_millis(50);

/// Render a plan with a kernel, reproducing the serial result on any number of threads.
///
/// The pool's threads take rows in order from a shared counter, each rendering its row from
/// the state at the start of the pass; the calling thread accepts finished rows in order and
/// reports progress. The serial state changes only a few times per run: when a row leaves a
/// different state, the rows after it are rendered again, from that state, in a new pass.
/// Fails when the observer cancels the render or the worker threads cannot be started.
pub fn render(
    plan: &RenderPlan,
    kernel: &dyn RowKernel,
    obs: &mut dyn Observer,
) -> crate::Result<Rendered> {
    render_whole(plan, kernel, obs, Mode::default())
}

/// As [`render`], handing the rows to `sink` as they are rendered (see [`RowSink`]).
pub fn render_into(
    plan: &RenderPlan,
    kernel: &dyn RowKernel,
    obs: &mut dyn Observer,
    sink: &dyn RowSink,
) -> crate::Result<Rendered> {
    let mode = Mode {
        sink: Some(sink),
        ..Mode::default()
    };
    render_whole(plan, kernel, obs, mode)
}

/// As [`render`], on the calling thread alone (no worker threads): a series of small images
/// renders several at once this way. The same image, bit for bit.
pub fn render_serial(
    plan: &RenderPlan,
    kernel: &dyn RowKernel,
    obs: &mut dyn Observer,
) -> crate::Result<Rendered> {
    let mode = Mode {
        keep: false,
        serial: true,
        sink: None,
    };
    render_whole(plan, kernel, obs, mode)
}

/// Every row of the image, from the initial state.
fn render_whole(
    plan: &RenderPlan,
    kernel: &dyn RowKernel,
    obs: &mut dyn Observer,
    mode: Mode,
) -> crate::Result<Rendered> {
    let prep = Prepared::new(plan);
    let entry = prep.initial_state();
    let d = drive(&prep, kernel, 0..plan.spixels, entry, obs, mode)?;
    let stats = (!kernel.exact()).then(|| crate::stats::combine(plan, &d.row_stats));
    let unusual = (!kernel.exact()).then(|| crate::stats::unusual_of(&d.row_stats));
    Ok(Rendered {
        image: d.image,
        interp_trigger: d.first_trigger,
        omega_sum: d.omega_sum,
        exact: kernel.exact(),
        stats,
        unusual,
    })
}

/// How the driver runs.
#[derive(Clone, Copy, Default)]
struct Mode<'s> {
    /// Keep every solid-angle term (a block of rows).
    keep: bool,
    /// Render on the calling thread only.
    serial: bool,
    /// Where rows go as they are rendered.
    sink: Option<&'s dyn RowSink>,
}

/// Takes an image's rows while it is rendered (the command-line program writes the float
/// image's file so, beside the render, instead of after it).
///
/// Rows come in blocks of [`RowSink::block_rows`] rows (the last block of the image may be
/// shorter), each as soon as its rows are rendered, from any thread and in any order. A block
/// with rows that are rendered again (after a change of the serial state, see [`render`])
/// comes again; the last time a block comes, it holds the image's values.
pub trait RowSink: Sync {
    /// Rows per block (at least 1).
    fn block_rows(&self) -> usize;
    /// Rows `first..` of the image, `values` holding whole rows.
    fn put(&self, first: usize, values: &[f32]);
}

/// The image's rows during a parallel pass, reached through a raw pointer: the pass's counter
/// gives every row to one thread, which alone writes it, and a block of rows is read only when
/// every row of it is finished and before any is handed out again (the next pass starts after
/// this one's threads have all left it).
struct SharedRows {
    base: *mut f32,
    f: usize,
}

// SAFETY: see the type's documentation: each row is written by one thread at a time, and read
// only after its writer has published it (the block counters' acquire-release updates).
unsafe impl Sync for SharedRows {}

impl SharedRows {
    /// Row `j` for writing.
    ///
    /// # Safety
    /// No other reference to row `j` may exist while the result lives, and `j` must be one of
    /// the image's rows.
    #[allow(clippy::mut_from_ref)]
    unsafe fn row(&self, j: usize) -> &mut [f32] {
        // SAFETY: row j lies inside the image buffer (caller), and is not shared (caller).
        unsafe { std::slice::from_raw_parts_mut(self.base.add(j * self.f), self.f) }
    }

    /// Rows `r`, for reading.
    ///
    /// # Safety
    /// The rows must be inside the image and finished, and no thread may write them while the
    /// result lives.
    unsafe fn rows(&self, r: std::ops::Range<usize>) -> &[f32] {
        // SAFETY: as the caller guarantees.
        unsafe { std::slice::from_raw_parts(self.base.add(r.start * self.f), r.len() * self.f) }
    }
}

/// Counts the finished rows of each block of a [`RowSink`], so that the thread that finishes
/// a block's last row hands the block over.
struct BlockCounts<'s> {
    sink: &'s dyn RowSink,
    /// Rows per block, first row (of the image) of the range, rows in the range.
    per: usize,
    first: usize,
    rows: usize,
    done: Vec<std::sync::atomic::AtomicUsize>,
}

impl<'s> BlockCounts<'s> {
    fn new(sink: &'s dyn RowSink, first: usize, rows: usize) -> BlockCounts<'s> {
        let per = sink.block_rows().max(1);
        BlockCounts {
            sink,
            per,
            first,
            rows,
            done: (0..rows.div_ceil(per))
                .map(|_| Default::default())
                .collect(),
        }
    }

    /// The range's rows of block `b`.
    fn block(&self, b: usize) -> std::ops::Range<usize> {
        b * self.per..((b + 1) * self.per).min(self.rows)
    }

    /// Row `j` of the range is finished; when it is its block's last, the block's rows (read
    /// by `read`) go to the sink.
    fn finished<'i>(&self, j: usize, read: impl FnOnce(std::ops::Range<usize>) -> &'i [f32]) {
        use std::sync::atomic::Ordering;
        let b = j / self.per;
        let r = self.block(b);
        // (acquire-release: the last finisher sees every row the others wrote)
        if self.done[b].fetch_add(1, Ordering::AcqRel) + 1 == r.len() {
            let first = self.first + r.start;
            self.sink.put(first, read(r));
        }
    }

    /// Rows from `from` on are to be rendered again: each block counts only its rows before.
    fn reset_from(&mut self, from: usize) {
        for b in from / self.per..self.done.len() {
            let r = self.block(b);
            *self.done[b].get_mut() = from.saturating_sub(r.start).min(r.len());
        }
    }
}

/// Rows of an image rendered from a given serial state (a process's share of one image split
/// over several: see `crate::mpi`).
#[derive(Clone, Debug)]
pub struct Block {
    /// The rows, and the state their first row was rendered from.
    pub rows: std::ops::Range<usize>,
    pub entry: SerialState,
    /// The state the last row left.
    pub exit: SerialState,
    /// The rows' pixels (rows.len()·fpixels values).
    pub image: Vec<f32>,
    /// The first out-of-range interpolation among the rows, in serial order.
    pub trigger: Option<InterpTrigger>,
    /// Every solid angle the rows add to the reference's running sum, in order.
    pub omega_terms: OmegaTerms,
}

/// Render `rows` of `plan` from serial state `entry`, exactly as those rows of a whole render
/// whose earlier rows left `entry`. `obs` may cancel; its progress counts the block's pixels.
pub fn render_block(
    plan: &RenderPlan,
    kernel: &dyn RowKernel,
    rows: std::ops::Range<usize>,
    entry: SerialState,
    obs: &mut dyn Observer,
) -> crate::Result<Block> {
    let prep = Prepared::new(plan);
    let mode = Mode {
        keep: true,
        serial: false,
        sink: None,
    };
    let d = drive(&prep, kernel, rows.clone(), entry, obs, mode)?;
    Ok(Block {
        rows,
        entry,
        exit: d.exit,
        image: d.image,
        trigger: d.first_trigger,
        omega_terms: d.omega_terms.unwrap_or_default(),
    })
}

/// The state a whole render starts from.
pub fn initial_state(plan: &RenderPlan) -> SerialState {
    Prepared::new(plan).initial_state()
}

/// What the driver produced for a range of rows.
struct Driven {
    image: Vec<f32>,
    exit: SerialState,
    first_trigger: Option<InterpTrigger>,
    omega_sum: f64,
    omega_terms: Option<OmegaTerms>,
    row_stats: Vec<crate::stats::RowStats>,
}

/// Render `range` from `entry` (see [`render`] and [`Mode`]).
fn drive(
    prep: &Prepared,
    kernel: &dyn RowKernel,
    range: std::ops::Range<usize>,
    entry: SerialState,
    obs: &mut dyn Observer,
    mode: Mode,
) -> crate::Result<Driven> {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    let plan = prep.plan;
    let pool = if mode.serial {
        None
    } else {
        Some(crate::pool::get(None)?)
    };
    let f = plan.fpixels;
    let first = range.start;
    let rows = range.len();
    // (zeroed; made ready during the set-up when a worker was free, see `spare`)
    let mut image = crate::spare::take(f * rows);
    // (the rows are written in any order: one fault per 2 MiB, see advise_huge_pages)
    crate::memory::advise_huge_pages(&mut image);
    let mut counts = mode.sink.map(|s| BlockCounts::new(s, first, rows));
    let with_stats = !kernel.exact();
    // `j` is the row's index in the range
    let render_row = |j: usize, entry: SerialState, out: &mut [f32]| {
        let s = first + j;
        let mut exit = entry;
        let mut omega = OmegaTerms::default();
        let trigger = kernel.render_row(prep, s, &mut exit, out, &mut omega);
        let stats = if with_stats {
            crate::stats::row_stats(plan, s, out)
        } else {
            Default::default()
        };
        RowDone {
            exit,
            trigger,
            omega,
            stats,
        }
    };
    let mut ledger = Ledger {
        plan,
        obs,
        state: entry,
        first_trigger: None,
        omega_sum: 0.0,
        omega_terms: mode.keep.then(OmegaTerms::default),
        rank: 0,
        first,
        row_stats: Vec::with_capacity(rows),
    };
    let threads = pool.as_ref().map_or(1, |p| p.current_num_threads().max(1));
    let mut cancelled = false;
    let parallel = match &pool {
        Some(p) if threads > 1 && prep.polar_settles && rows > 1 => Some(p),
        _ => None,
    };
    if let Some(pool) = parallel {
        debug_assert_eq!(image.len(), rows * f);
        let shared = SharedRows {
            base: image.as_mut_ptr(),
            f,
        };
        // SAFETY (both): rows of the range, finished (every row of the block), and not handed
        // out again before this pass has ended
        let read = |r: std::ops::Range<usize>| unsafe { shared.rows(r) };
        // boxed: the slots are made here, on the one thread, before any row; the results,
        // ~170 bytes a row, are written by the workers
        let results: Vec<Mutex<Option<Box<RowDone>>>> =
            (0..rows).map(|_| Mutex::new(None)).collect();
        let finished: Vec<AtomicBool> = (0..rows).map(|_| AtomicBool::new(false)).collect();
        let caller = std::thread::current();
        // a caller that is itself one of the pool's threads runs its share of the broadcast
        // only after the scope's body returns
        let workers = threads - usize::from(pool.current_thread_index().is_some());
        // the first row here: it usually changes the state (the first spindle rotation), which
        // would otherwise end the first parallel pass at once
        // SAFETY: no worker runs yet; row 0 is the range's
        let d = render_row(0, ledger.state, unsafe { shared.row(0) });
        ledger.accept(first, d);
        if let Some(c) = &counts {
            c.finished(0, read);
        }
        let mut start = 1;
        while start < rows && !cancelled {
            let entry = ledger.state;
            let next = AtomicUsize::new(start);
            // the first row of this pass that left a different state
            let halt = AtomicUsize::new(usize::MAX);
            // workers that have left the pass (counted on unwinding too, so a panicking row
            // cannot leave the caller waiting)
            let exited = AtomicUsize::new(0);
            let mut accepted = start;
            pool.in_place_scope(|sc| {
                sc.spawn_broadcast(|_, _| {
                    struct Leave<'a>(&'a AtomicUsize, &'a std::thread::Thread);
                    impl Drop for Leave<'_> {
                        fn drop(&mut self) {
                            self.0.fetch_add(1, Ordering::AcqRel);
                            self.1.unpark();
                        }
                    }
                    let _leave = Leave(&exited, &caller);
                    loop {
                        let s = next.fetch_add(1, Ordering::Relaxed);
                        if s >= rows || s > halt.load(Ordering::Acquire) {
                            break;
                        }
                        // SAFETY: the counter gave row s to this thread alone in this pass
                        let d = render_row(s, entry, unsafe { shared.row(s) });
                        if d.exit != entry {
                            halt.fetch_min(s, Ordering::AcqRel);
                        }
                        *results[s].lock().unwrap_or_else(|e| e.into_inner()) = Some(Box::new(d));
                        finished[s].store(true, Ordering::Release);
                        if let Some(c) = &counts {
                            c.finished(s, read);
                        }
                    }
                });
                // accept finished rows in order until the pass ends or the state changes
                loop {
                    let mut changed = false;
                    while accepted < rows && finished[accepted].load(Ordering::Acquire) {
                        let d = results[accepted]
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .take()
                            .expect("a finished row has a result");
                        changed = ledger.accept(first + accepted, *d);
                        accepted += 1;
                        if changed {
                            break;
                        }
                    }
                    ledger.obs.progress(ledger.rank);
                    if ledger.obs.stop_requested() {
                        // the workers take no further row; the scope waits for the ones
                        // they are rendering
                        halt.store(0, Ordering::Release);
                        cancelled = true;
                        break;
                    }
                    if changed || accepted == rows {
                        break;
                    }
                    if exited.load(Ordering::Acquire) == workers
                        && !finished[accepted].load(Ordering::Acquire)
                    {
                        // every worker left with rows missing: one panicked, and the scope
                        // re-raises its panic when it ends
                        break;
                    }
                    std::thread::park_timeout(PROGRESS_INTERVAL);
                }
            });
            // rows after a state change were rendered from the old state: render them again
            for flag in &finished[accepted..] {
                flag.store(false, Ordering::Relaxed);
            }
            if let Some(c) = &mut counts {
                c.reset_from(accepted);
            }
            start = accepted;
        }
    } else {
        // one row at a time, in order (a cycling E-vector sequence changes the state at
        // every polarization evaluation)
        for s in 0..rows {
            let d = render_row(s, ledger.state, &mut image[s * f..(s + 1) * f]);
            ledger.accept(first + s, d);
            if let Some(c) = &counts {
                c.finished(s, |r| &image[r.start * f..r.end * f]);
            }
            ledger.obs.progress(ledger.rank);
            if ledger.obs.stop_requested() {
                cancelled = true;
                break;
            }
        }
    }
    if cancelled {
        return Err(crate::Error::Cancelled);
    }
    Ok(Driven {
        image,
        exit: ledger.state,
        first_trigger: ledger.first_trigger,
        omega_sum: ledger.omega_sum,
        omega_terms: ledger.omega_terms,
        row_stats: ledger.row_stats,
    })
}
