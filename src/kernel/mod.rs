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

use crate::plan::{CellTables, RenderPlan};
use crate::vec3::V3;
use rayon::prelude::*;

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
        }
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

/// A row renderer.
pub trait RowKernel: Sync {
    /// Render row `s` into `out` (fpixels values; pixels not rendered are left untouched),
    /// advancing `state` through the row in serial order. Appends to `omega` the solid angles
    /// the reference adds to its running sum for this row, in its order (a kernel may pre-add
    /// a pixel's terms). Returns the row's first out-of-range interpolation, if any.
    fn render_row(
        &self,
        prep: &Prepared,
        s: usize,
        state: &mut SerialState,
        out: &mut [f32],
        omega: &mut Vec<f64>,
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
    /// serial order (the reference's `omega_sum`).
    pub omega_sum: f64,
    /// Rendered by the exact kernel.
    pub exact: bool,
}

/// Render a plan with a kernel, reproducing the serial result on any number of threads.
pub fn render(plan: &RenderPlan, kernel: &dyn RowKernel, obs: &mut dyn Observer) -> Rendered {
    let prep = Prepared::new(plan);
    let f = plan.fpixels;
    let mut image = vec![0f32; f * plan.spixels];
    let mut state = prep.initial_state();
    let mut first_trigger: Option<InterpTrigger> = None;
    let mut omega_sum = 0.0f64;
    let threads = rayon::current_num_threads().max(1);
    let strictly_serial = !prep.polar_settles;
    let mut row = 0;
    let mut rank = 0usize;
    let mut block = 1;
    while row < plan.spixels {
        let end = (row + block).min(plan.spixels);
        let entry = state;
        type RowResult = (SerialState, Option<InterpTrigger>, Vec<f64>);
        let results: Vec<RowResult> = image[row * f..end * f]
            .par_chunks_mut(f)
            .enumerate()
            .map(|(i, out)| {
                let mut st = entry;
                let mut omega = Vec::new();
                let t = kernel.render_row(&prep, row + i, &mut st, out, &mut omega);
                (st, t, omega)
            })
            .collect();
        // Rows up to and including the first one whose exit state differs are final.
        let changed = results.iter().position(|(st, _, _)| *st != entry);
        let final_rows = match changed {
            Some(r) => r + 1,
            None => end - row,
        };
        for (i, (st, t, omega)) in results.iter().take(final_rows).enumerate() {
            for w in omega {
                omega_sum += w;
            }
            let s = row + i;
            if let (None, Some(t)) = (&first_trigger, t) {
                let before = (0..t.fpixel).filter(|&x| plan.is_rendered(x, s)).count();
                obs.progress(rank + before);
                obs.interp_trigger(t, rank + before);
                first_trigger = Some(*t);
            }
            rank += plan.rendered_in_row(s);
            state = *st;
        }
        obs.progress(rank);
        row += final_rows;
        if changed.is_none() && !strictly_serial {
            block = (block * 4).min(32.max(8 * threads));
        } else if strictly_serial {
            block = 1;
        }
    }
    Rendered {
        image,
        interp_trigger: first_trigger,
        omega_sum,
        exact: kernel.exact(),
    }
}
