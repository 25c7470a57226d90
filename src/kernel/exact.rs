//! The exact kernel: scalar f64, the reference's order of operations, libm functions, no fused
//! multiply-add. Its images are bit-identical to nanoBragg.c's. The lattice factor's sines are
//! first taken from `kernel/sines.rs` with an error bound, and a pixel the bound leaves in doubt
//! is rendered again with libm's `sin` (see `pixel_with`).

use super::{InterpTrigger, Prepared, RowKernel, SerialState, sines};
use crate::cfmt::c_int;
use crate::hkl::HklGrid;
use crate::options::Shape;
use crate::plan::RenderPlan;
use crate::vec3::{V3, div3, dot, magnitude, unitize};
use std::f64::consts::PI;

/// Grating function sin(N·x)/sin(x), N at x = 0 (reference `sincg`).
#[inline(always)]
pub fn sincg(x: f64, n: f64) -> f64 {
    if x == 0.0 {
        return n;
    }
    (x * n).sin() / x.sin()
}

/// Sphere transform 3(sin x/x − cos x)/x², 1 at x = 0 (reference `sinc3`).
#[inline(always)]
pub fn sinc3(x: f64) -> f64 {
    if x == 0.0 {
        return 1.0;
    }
    3.0 * (x.sin() / x - x.cos()) / (x * x)
}

/// Kahn polarization factor. Like the reference, normalises `incident` and `diffracted` in
/// place (the re-normalised diffracted vector is used by later sources of the sub-pixel).
#[inline(always)]
pub fn polarization_factor(kahn: f64, incident: &mut V3, diffracted: &mut V3, axis: &V3) -> f64 {
    *incident = unitize(incident).1;
    *diffracted = unitize(diffracted).1;
    let cos2theta = dot(incident, diffracted);
    let cos2theta_sqr = cos2theta * cos2theta;
    let sin2theta_sqr = 1.0 - cos2theta_sqr;
    let mut psi = 0.0;
    if kahn != 0.0 {
        let b_in = unitize(&crate::vec3::cross(axis, incident)).1;
        let e_in = unitize(&crate::vec3::cross(incident, &b_in)).1;
        let e_out = dot(diffracted, &e_in);
        let b_out = dot(diffracted, &b_in);
        psi = -b_out.atan2(e_out);
    }
    0.5 * (1.0 + cos2theta_sqr - kahn * (2.0 * psi).cos() * sin2theta_sqr)
}

/// 4-point Lagrange interpolation through nodes `xa` (reference `polint`).
#[inline(always)]
fn polint(xa: &[f64; 4], ya: &[f64; 4], x: f64) -> f64 {
    let x0 = (x - xa[1]) * (x - xa[2]) * (x - xa[3]) * ya[0]
        / ((xa[0] - xa[1]) * (xa[0] - xa[2]) * (xa[0] - xa[3]));
    let x1 = (x - xa[0]) * (x - xa[2]) * (x - xa[3]) * ya[1]
        / ((xa[1] - xa[0]) * (xa[1] - xa[2]) * (xa[1] - xa[3]));
    let x2 = (x - xa[0]) * (x - xa[1]) * (x - xa[3]) * ya[2]
        / ((xa[2] - xa[0]) * (xa[2] - xa[1]) * (xa[2] - xa[3]));
    let x3 = (x - xa[0]) * (x - xa[1]) * (x - xa[2]) * ya[3]
        / ((xa[3] - xa[0]) * (xa[3] - xa[1]) * (xa[3] - xa[2]));
    x0 + x1 + x2 + x3
}

/// Tricubic interpolation of F at fractional (h, k, l): along l, then k, then h.
pub fn tricubic(g: &HklGrid, h: f64, k: f64, l: f64) -> f64 {
    let (hf, kf, lf) = (c_int(h.floor()), c_int(k.floor()), c_int(l.floor()));
    let nodes = |f: i32| [(f - 1) as f64, f as f64, (f + 1) as f64, (f + 2) as f64];
    let (hn, kn, ln) = (nodes(hf), nodes(kf), nodes(lf));
    let mut ym = [0.0; 4];
    for (i1, ymv) in ym.iter_mut().enumerate() {
        let mut yk = [0.0; 4];
        for (i2, ykv) in yk.iter_mut().enumerate() {
            let mut yl = [0.0; 4];
            for (i3, ylv) in yl.iter_mut().enumerate() {
                *ylv = g.at(
                    hf - 1 + i1 as i32 - g.min[0],
                    kf - 1 + i2 as i32 - g.min[1],
                    lf - 1 + i3 as i32 - g.min[2],
                );
            }
            *ykv = polint(&ln, &yl, l);
        }
        *ymv = polint(&kn, &yk, k);
    }
    polint(&hn, &ym, h)
}

/// Whether the interpolation stencil around (h, k, l) leaves the grid (reference range test on
/// the fractional indices).
#[inline(always)]
pub fn interp_out_of_range(g: &HklGrid, h: f64, k: f64, l: f64) -> bool {
    let (mn, rg) = (g.min, g.range);
    (h - mn[0] as f64 + 3.0) > rg[0] as f64
        || (h - 2.0) < mn[0] as f64
        || (k - mn[1] as f64 + 3.0) > rg[1] as f64
        || (k - 2.0) < mn[1] as f64
        || (l - mn[2] as f64 + 3.0) > rg[2] as f64
        || (l - 2.0) < mn[2] as f64
}

/// Nearest-neighbour F (reference: grid value inside the index ranges, else default_F).
#[inline(always)]
pub fn nearest_f(plan: &RenderPlan, h0: i32, k0: i32, l0: i32) -> f64 {
    match &plan.hkl {
        Some(g)
            if g.hkls != 0
                && h0 <= g.max[0]
                && h0 >= g.min[0]
                && k0 <= g.max[1]
                && k0 >= g.min[1]
                && l0 <= g.max[2]
                && l0 >= g.min[2] =>
        {
            g.at(h0 - g.min[0], k0 - g.min[1], l0 - g.min[2])
        }
        _ => plan.default_f,
    }
}

/// Values of the last evaluation of a pixel, for `-printout`. Like the reference's loop
/// variables they keep their values from one pixel to the next: a pixel whose terms are all
/// cut (`-dmin`) shows its own stol and what the pixels before it left (the cell vectors
/// start as the unrotated cell; h0, k0, l0 and F_cell, which the reference leaves
/// uninitialised, as 0).
#[derive(Clone, Copy, Debug, Default)]
pub struct PixelTrace {
    pub stol: f64,
    pub pos: V3,
    pub hkl: [f64; 3],
    pub hkl0: [i32; 3],
    pub f_cell: f64,
    pub f_latt: f64,
    pub i_sum: f64,
    pub polar: f64,
    pub omega: f64,
    pub capture: f64,
    pub cell: [V3; 3],
    pub value: f32,
}

/// The exact scalar kernel.
pub struct Exact;

impl RowKernel for Exact {
    fn render_row(
        &self,
        prep: &Prepared,
        s: usize,
        state: &mut SerialState,
        out: &mut [f32],
        omega: &mut super::OmegaTerms,
    ) -> Option<InterpTrigger> {
        let plan = prep.plan;
        let mut first = None;
        // one batch for the row (not set up again for every pixel)
        let mut steps = Steps::new();
        for (f, px) in out.iter_mut().enumerate() {
            if !plan.is_rendered(f, s) {
                continue;
            }
            let (v, t) = pixel_with(prep, f, s, state, None, Some(&mut *omega), &mut steps);
            *px = v;
            if first.is_none() {
                first = t;
            }
        }
        first
    }

    fn exact(&self) -> bool {
        true
    }
}

/// Steps of a pixel gathered before their lattice factors are computed (see [`Steps`]).
const BATCH: usize = 16;

/// Up to [`BATCH`] (sub-pixel, source, φ, domain) steps of one pixel: their Miller indices, in
/// the reference's loop order. Their lattice factors are then computed one after the other
/// (the libm calls of independent steps run back to back, so the processor overlaps them,
/// instead of each waiting behind its own step's geometry), then their F_cell and the sum, in
/// the same order: every operation and the order of the additions are the reference's.
struct Steps {
    n: usize,
    hkl: [[f64; 3]; BATCH],
    /// (stale φ, φ step, domain): the step's cell vectors, for the trace
    cell: [(bool, usize, usize); BATCH],
    /// capture, polar and omega when the step was taken (the -oversample_* factors)
    scale: [[f64; 3]; BATCH],
    f_latt: [f64; BATCH],
    /// Lattice factors from [`sines`] (with their bounds in `bound`) instead of libm's `sin`.
    fast: bool,
    bound: [f64; BATCH],
    /// Scratch for [`Steps::fast_lattice_factors`]: the sines' arguments, values and bounds.
    sine_x: [f64; 6 * BATCH],
    sine_s: [f64; 6 * BATCH],
    sine_bound: [f64; 6 * BATCH],
}

/// A pixel's running sum and first out-of-range interpolation.
struct Sums {
    fpixel: usize,
    spixel: usize,
    os_polar: bool,
    i_sum: f64,
    trigger: Option<InterpTrigger>,
    /// With fast sines: the largest relative bound of a term added, and the terms added.
    term_bound: f64,
    terms: usize,
}

impl Steps {
    fn new() -> Self {
        Steps {
            n: 0,
            hkl: [[0.0; 3]; BATCH],
            cell: [(false, 0, 0); BATCH],
            scale: [[0.0; 3]; BATCH],
            f_latt: [0.0; BATCH],
            fast: false,
            bound: [0.0; BATCH],
            sine_x: [0.0; 6 * BATCH],
            sine_s: [0.0; 6 * BATCH],
            sine_bound: [0.0; 6 * BATCH],
        }
    }

    #[inline(always)]
    fn push(&mut self, hkl: [f64; 3], cell: (bool, usize, usize), scale: [f64; 3]) {
        self.hkl[self.n] = hkl;
        self.cell[self.n] = cell;
        self.scale[self.n] = scale;
        self.n += 1;
    }

    /// The gathered steps' lattice factors, then their terms added to `sums`; empties the batch.
    fn finish(
        &mut self,
        prep: &Prepared,
        st: &mut SerialState,
        sums: &mut Sums,
        last: &mut PixelTrace,
        tracing: bool,
    ) {
        let plan = prep.plan;
        let n = self.n;
        self.n = 0;
        // Where F_cell is 0 the term is +0 whatever the (finite) F_latt: such a step's F_latt
        // is taken as 0, which adds the same (nothing, or +0 with -water_size). Not when the
        // trace shows F_latt, nor when an -oversample_* factor multiplies the sum after each
        // term; interpolation, once off, stays off for the rest of the pixel.
        let zero_f_skips = !tracing
            && prep.f_may_be_zero()
            && !st.interp_on
            && !plan.oversample_thick
            && !sums.os_polar
            && !plan.oversample_omega;
        if self.fast {
            self.fast_lattice_factors(plan, n, zero_f_skips);
        } else {
            for i in 0..n {
                self.f_latt[i] = if zero_f_skips && nearest_f_is_zero(plan, &self.hkl[i]) {
                    0.0
                } else {
                    lattice_factor(plan, &self.hkl[i])
                };
            }
        }
        for i in 0..n {
            let [h, k, l] = self.hkl[i];
            let f_latt = self.f_latt[i];
            let [h0, k0, l0] = nearest_hkl(&self.hkl[i]);
            if f_latt == 0.0 && plan.water_size == 0.0 {
                if self.fast && self.bound[i] != 0.0 {
                    // a fast F_latt of 0 that libm's sines need not give (underflow, or an
                    // argument beyond the reduction): libm's pass may add this term
                    sums.term_bound = f64::INFINITY;
                }
                continue;
            }
            let mut f_cell = 0.0;
            let mut nearest = !st.interp_on;
            if st.interp_on {
                let g = plan.hkl.as_ref().expect("interpolation needs a grid");
                if interp_out_of_range(g, h, k, l) {
                    if sums.trigger.is_none() {
                        sums.trigger = Some(InterpTrigger {
                            fpixel: sums.fpixel,
                            spixel: sums.spixel,
                            hkl: [h, k, l],
                            hkl0: [h0, k0, l0],
                        });
                    }
                    if !plan.fix.interp_local {
                        st.interp_on = false;
                    }
                    nearest = true;
                } else {
                    f_cell = tricubic(g, h, k, l);
                }
            }
            if nearest {
                f_cell = nearest_f(plan, h0, k0, l0);
            }
            let [capture, polar, omega] = self.scale[i];
            let term = f_cell * f_cell * f_latt * f_latt;
            let mut i_sum = sums.i_sum + term;
            if plan.oversample_thick {
                i_sum *= capture;
            }
            if sums.os_polar {
                i_sum *= polar;
            }
            if plan.oversample_omega {
                i_sum *= omega;
            }
            sums.i_sum = i_sum;
            if self.fast {
                // ((F·F)·F_latt)·F_latt: F_latt's bound twice, and the two roundings by
                // F_latt in each of the two passes. Relative rounding errors hold only for
                // normal results: a product near the subnormal range has none.
                let normal = |x: f64| x.abs() >= TINY;
                // (F·F = 0 makes the term +0 in both passes, as F = 0 does)
                let b = if f_cell * f_cell == 0.0 || f_latt == 0.0 {
                    self.bound[i]
                } else if normal(f_cell * f_cell)
                    && normal(f_cell * f_cell * f_latt)
                    && normal(term)
                {
                    2.0 * self.bound[i] + 4.0 * EPS
                } else {
                    f64::INFINITY
                };
                sums.term_bound = sums.term_bound.max(b);
                sums.terms += 1;
            }
            if tracing {
                // (stol: set when the step was taken, before the -dmin cut)
                last.hkl = [h, k, l];
                last.hkl0 = [h0, k0, l0];
                last.f_cell = f_cell;
                last.f_latt = f_latt;
                let (stale, p, m) = self.cell[i];
                last.cell = *prep.cells.get(stale, p, m);
            }
        }
    }
}

impl Steps {
    /// The square shape's F_latt of the first `n` steps as [`lattice_factor`] computes it, with
    /// the sines from [`sines`] (all of the batch at once) and a bound on each result's
    /// relative difference from [`lattice_factor`]'s (see [`pixel_with`]); 0 (exactly) for
    /// steps whose nearest F is 0 when `zero_f_skips` (as in [`Steps::finish`]).
    fn fast_lattice_factors(&mut self, plan: &RenderPlan, n: usize, zero_f_skips: bool) {
        let mut skip = [false; BATCH];
        let x = &mut self.sine_x;
        let mut m = 0;
        for (hkl, skip) in self.hkl[..n].iter().zip(&mut skip) {
            *skip = zero_f_skips && nearest_f_is_zero(plan, hkl);
            if *skip {
                continue;
            }
            for (&h, &cells) in hkl.iter().zip(&plan.n_cells) {
                if cells > 1.0 {
                    // sincg(π·h, N): sin(π·h·N) / sin(π·h)
                    x[m] = PI * h;
                    x[m + 1] = x[m] * cells;
                    m += 2;
                }
            }
        }
        let (s, bound) = (&mut self.sine_s, &mut self.sine_bound);
        sines::sines(&x[..m], &mut s[..m], &mut bound[..m]);
        let mut m = 0;
        for (i, &skip) in skip[..n].iter().enumerate() {
            if skip {
                (self.f_latt[i], self.bound[i]) = (0.0, 0.0);
                continue;
            }
            let (mut f, mut b) = (1.0, 0.0);
            for &cells in &plan.n_cells {
                if cells > 1.0 {
                    if x[m] == 0.0 {
                        f *= cells;
                    } else {
                        f *= s[m + 1] / s[m];
                        // both sines' bounds, and the division's rounding in each of the two
                        b += bound[m] + bound[m + 1] + 2.0 * EPS;
                    }
                    b += 2.0 * EPS; // the product's rounding
                    m += 2;
                }
            }
            // (a NaN f fails the test)
            if !(f.abs() >= 1e-280 && f.abs() <= 1e280) {
                b = f64::INFINITY;
            }
            (self.f_latt[i], self.bound[i]) = (f, b);
        }
    }
}

/// Half an ulp of 1 (2⁻⁵³): the relative rounding error of one operation.
const EPS: f64 = f64::EPSILON / 2.0;

/// Products below this (far above the subnormal range, 2.2e-308) get no relative error bound.
const TINY: f64 = 1e-290;

/// Whether the nearest structure factor of indices (h, k, l) is 0, for indices small enough
/// that F_latt is finite (a finite argument's sine is finite, and nonzero unless the argument
/// is 0, which sincg handles): beyond them, and for NaN, the lattice factor is computed.
#[inline(always)]
fn nearest_f_is_zero(plan: &RenderPlan, hkl: &[f64; 3]) -> bool {
    if !hkl.iter().all(|x| x.abs() < 1e9) {
        return false;
    }
    let [h0, k0, l0] = nearest_hkl(hkl);
    nearest_f(plan, h0, k0, l0) == 0.0
}

/// The nearest integer indices h0, k0, l0 of (h, k, l), as the reference rounds them:
/// ceil(h − 0.5), converted as C converts.
#[inline(always)]
fn nearest_hkl(hkl: &[f64; 3]) -> [i32; 3] {
    hkl.map(|x| c_int((x - 0.5).ceil()))
}

/// F_latt of one step from its Miller indices (the reference's shape branches).
#[inline(always)]
fn lattice_factor(plan: &RenderPlan, hkl: &[f64; 3]) -> f64 {
    let [na, nb, nc] = plan.n_cells;
    let [h, k, l] = *hkl;
    if plan.shape == Shape::Square {
        let mut f_latt = 1.0;
        if na > 1.0 {
            f_latt *= sincg(PI * h, na);
        }
        if nb > 1.0 {
            f_latt *= sincg(PI * k, nb);
        }
        if nc > 1.0 {
            f_latt *= sincg(PI * l, nc);
        }
        return f_latt;
    }
    // the offsets from the nearest reflection
    let [h0, k0, l0] = nearest_hkl(hkl);
    let d = [h - h0 as f64, k - k0 as f64, l - l0 as f64];
    match plan.shape {
        Shape::Round => {
            let hrad_sqr = d[0] * d[0] * na * na + d[1] * d[1] * nb * nb + d[2] * d[2] * nc * nc;
            na * nb * nc * 0.723601254558268 * sinc3(PI * (hrad_sqr * plan.fudge).sqrt())
        }
        Shape::Gauss => na * nb * nc * (-(rad_star_sqr(plan, &d) / 0.63 * plan.fudge)).exp(),
        // (Square returned above)
        Shape::Tophat | Shape::Square => {
            na * nb * nc * f64::from(u8::from(rad_star_sqr(plan, &d) * plan.fudge < 0.3969))
        }
    }
}

/// |Δh·a* + Δk·b* + Δl·c*|²·(Na·Nb·Nc)² for the offsets `d` from the nearest reflection.
#[inline(always)]
fn rad_star_sqr(plan: &RenderPlan, d: &[f64; 3]) -> f64 {
    let [na, nb, nc] = plan.n_cells;
    let [sa, sb, sc] = &plan.recip;
    let dx = d[0] * sa[0] + d[1] * sb[0] + d[2] * sc[0];
    let dy = d[0] * sa[1] + d[1] * sb[1] + d[2] * sc[1];
    let dz = d[0] * sa[2] + d[1] * sb[2] + d[2] * sc[2];
    (dx * dx + dy * dy + dz * dz) * na * na * nb * nb * nc * nc
}

/// Render one pixel exactly as the reference's loop body. Returns the value and the first
/// out-of-range interpolation in this pixel.
pub fn pixel(
    prep: &Prepared,
    fpixel: usize,
    spixel: usize,
    st: &mut SerialState,
    trace: Option<&mut PixelTrace>,
    omega_terms: Option<&mut super::OmegaTerms>,
) -> (f32, Option<InterpTrigger>) {
    pixel_with(
        prep,
        fpixel,
        spixel,
        st,
        trace,
        omega_terms,
        &mut Steps::new(),
    )
}

/// [`pixel`] with the caller's (empty) batch of steps, which it leaves empty.
///
/// Where [`fast_sines_apply`], the pixel is first rendered with the sines of [`sines`] and a
/// bound on the relative difference of its sum from the sum libm's `sin` would give; if every
/// sum within that bound gives the same single-precision pixel value, that value is the
/// reference's and is kept. Otherwise (about one pixel in 100,000 on the perf cases) the pixel
/// is rendered again from the same state with libm's `sin`. Everything else (geometry, state
/// changes, the solid-angle terms) does not depend on the sines, so the first pass's are kept.
fn pixel_with(
    prep: &Prepared,
    fpixel: usize,
    spixel: usize,
    st: &mut SerialState,
    trace: Option<&mut PixelTrace>,
    omega_terms: Option<&mut super::OmegaTerms>,
    steps: &mut Steps,
) -> (f32, Option<InterpTrigger>) {
    if trace.is_none() && fast_sines_apply(prep.plan) {
        let entry = *st;
        steps.fast = true;
        let (v, t, sure) = pixel_pass(prep, fpixel, spixel, st, None, omega_terms, steps);
        steps.fast = false;
        if sure && !forced_retry() {
            return (v, t);
        }
        *st = entry;
        let (v, t, _) = pixel_pass(prep, fpixel, spixel, st, None, None, steps);
        return (v, t);
    }
    let (v, t, _) = pixel_pass(prep, fpixel, spixel, st, trace, omega_terms, steps);
    (v, t)
}

/// Whether a test asks for every pixel to be rendered again (never, outside the tests).
#[cfg(not(test))]
#[inline(always)]
fn forced_retry() -> bool {
    false
}
#[cfg(test)]
use tests::forced_retry;

/// Whether a plan's pixels may be rendered with the sines of [`sines`] first (see
/// [`pixel_with`]): the square shape with at least one axis of more than one cell (the
/// lattice factor is then all the sines), no `-oversample_thick/_polar/_omega` (which scale the
/// sum after every term) and a background that is not negative (so every term and partial
/// sum is ≥ 0).
fn fast_sines_apply(plan: &RenderPlan) -> bool {
    let os_polar = plan.oversample_polar && !(plan.fix.nopolar_wins && plan.nopolar);
    plan.shape == Shape::Square
        && plan.n_cells.iter().any(|&n| n > 1.0)
        && !plan.oversample_thick
        && !os_polar
        && !plan.oversample_omega
        && plan.i_bg >= 0.0
}

/// Whether every sum within `sums`' bound of `sums.i_sum` gives the pixel value `value`
/// (with the factors the pixel's sum is scaled by). Each of the scaling operations is
/// correctly rounded and monotonic in the sum, so it suffices that both ends of the interval
/// give it.
fn certain(plan: &RenderPlan, sums: &Sums, factors: [f64; 3], value: f32) -> bool {
    // the sum of n + 1 non-negative values (the background first) with terms within
    // `term_bound` of the libm ones: the difference of the two sums is within term_bound of
    // the sum, plus the two sums' own rounding (n + 1 additions each)
    let n = sums.terms as f64 + 1.0;
    let rel = 1.01 * (sums.term_bound + 2.0 * n * EPS) + 4.0 * EPS;
    if !(rel < 1e-6) || !sums.i_sum.is_finite() {
        return false;
    }
    let pixel = |i_sum: f64| pixel_value(plan, sums.os_polar, i_sum, factors);
    let (lo, hi) = (
        pixel(sums.i_sum * (1.0 - rel)),
        pixel(sums.i_sum * (1.0 + rel)),
    );
    lo.to_bits() == value.to_bits() && hi.to_bits() == value.to_bits()
}

/// A pixel's value from its sum, as the reference scales it: r_e²·fluence·I/steps, times the
/// capture fraction, polarization and solid angle unless an `-oversample_*` flag already
/// applied them to every term, rounded to single precision.
#[inline(always)]
fn pixel_value(plan: &RenderPlan, os_polar: bool, i_sum: f64, factors: [f64; 3]) -> f32 {
    let [capture, polar, omega] = factors;
    let mut test = plan.r_e_sqr * plan.fluence * i_sum / plan.steps;
    if !plan.oversample_thick {
        test *= capture;
    }
    if !os_polar {
        test *= polar;
    }
    if !plan.oversample_omega {
        test *= omega;
    }
    (0.0 + test) as f32
}

/// One rendering of a pixel (see [`pixel_with`]): value, first out-of-range interpolation, and
/// whether the value is certain (always, unless the batch uses fast sines).
fn pixel_pass(
    prep: &Prepared,
    fpixel: usize,
    spixel: usize,
    st: &mut SerialState,
    trace: Option<&mut PixelTrace>,
    mut omega_terms: Option<&mut super::OmegaTerms>,
    steps: &mut Steps,
) -> (f32, Option<InterpTrigger>, bool) {
    let plan = prep.plan;
    let os = plan.oversample;
    let os_polar = plan.oversample_polar && !(plan.fix.nopolar_wins && plan.nopolar);
    let tracing = trace.is_some();
    let mut sums = Sums {
        fpixel,
        spixel,
        os_polar,
        i_sum: plan.i_bg,
        trigger: None,
        term_bound: 0.0,
        terms: 0,
    };
    let mut polar = if plan.nopolar { 1.0 } else { 0.0 };
    let mut omega = 0.0;
    let mut capture = 0.0;
    // the reference's loop variables carry over from the pixel before (see PixelTrace)
    let mut last = trace.as_deref().copied().unwrap_or_default();
    for t in 0..plan.thicksteps {
        capture = if plan.thick == 0.0 { 1.0 } else { 0.0 };
        for subs in 0..os {
            for subf in 0..os {
                let pos = plan.subpixel_position(fpixel, spixel, subf, subs, t);
                let (airpath, mut d) = unitize(&pos);
                if omega == 0.0 || plan.oversample_omega {
                    omega = plan.pixel_size * plan.pixel_size / airpath / airpath
                        * plan.close_distance
                        / airpath;
                    if plan.point_pixel {
                        omega = 1.0 / airpath / airpath;
                    }
                }
                if let Some(terms) = omega_terms.as_deref_mut() {
                    terms.push(omega);
                }
                if capture == 0.0 || plan.oversample_thick {
                    let parallax = dot(&d, &plan.odet);
                    let ti = t as i64;
                    capture = ((-ti) as f64 * plan.thickstep * plan.mu / parallax).exp()
                        - ((-(ti + 1)) as f64 * plan.thickstep * plan.mu / parallax).exp();
                }
                for src in &plan.sources {
                    let mut incident = [-src.dir[0], -src.dir[1], -src.dir[2]];
                    let lambda = src.lambda;
                    let q = div3(
                        [d[0] - incident[0], d[1] - incident[1], d[2] - incident[2]],
                        lambda,
                    );
                    // stol only for the resolution cut and the trace (its square root and
                    // division would otherwise hold up every step)
                    if tracing || plan.dmin > 0.0 {
                        let stol = 0.5 * magnitude(&q);
                        if tracing {
                            last.stol = stol;
                        }
                        if plan.dmin > 0.0 && stol > 0.0 && plan.dmin > 0.5 / stol {
                            continue;
                        }
                    }
                    if polar == 0.0 || os_polar {
                        let axis = prep.polar_axes[st.polar_idx as usize];
                        st.polar_idx = prep.polar_next[st.polar_idx as usize];
                        polar =
                            polarization_factor(plan.polarization, &mut incident, &mut d, &axis);
                    }
                    let stale = st.stale_phi;
                    for p in 0..plan.phisteps as usize {
                        for m in 0..prep.cells.domains {
                            let [a, b, c] = prep.cells.get(stale, p, m);
                            let hkl = [dot(a, &q), dot(b, &q), dot(c, &q)];
                            steps.push(hkl, (stale, p, m), [capture, polar, omega]);
                            if steps.n == BATCH {
                                steps.finish(prep, st, &mut sums, &mut last, tracing);
                            }
                        }
                    }
                    st.stale_phi = true;
                }
                last.pos = pos;
            }
        }
    }
    steps.finish(prep, st, &mut sums, &mut last, tracing);
    let (i_sum, trigger) = (sums.i_sum, sums.trigger);
    let value = pixel_value(plan, os_polar, i_sum, [capture, polar, omega]);
    if let Some(tr) = trace {
        last.i_sum = i_sum;
        last.polar = polar;
        last.omega = omega;
        last.capture = capture;
        last.value = value;
        *tr = last;
    }
    let sure = !steps.fast || certain(plan, &sums, [capture, polar, omega], value);
    (value, trigger, sure)
}

#[cfg(test)]
mod tests {
    use super::*;

    thread_local! {
        static FORCE_RETRY: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    }

    /// Whether a test asks every fast pass on this thread to be rendered again (the retry
    /// path, which real images take about once in 100,000 pixels).
    pub(super) fn forced_retry() -> bool {
        FORCE_RETRY.with(|f| f.get())
    }

    /// Render every pixel of `args`' plan with [`pixel_with`] and with libm's sines only
    /// ([`pixel_pass`] without fast sines): the values, the serial state after each pixel, the
    /// first out-of-range interpolation and the solid-angle terms must be the same. Returns the
    /// number of pixels.
    fn same_as_libm(args: &str, fast_expected: bool) -> usize {
        let args: Vec<&str> = args.split_whitespace().collect();
        let sim = crate::Simulation::from_args(&args).expect("setup");
        let prep = Prepared::new(sim.plan());
        assert_eq!(fast_sines_apply(prep.plan), fast_expected, "{args:?}");
        let (mut fast_st, mut libm_st) = (prep.initial_state(), prep.initial_state());
        let (mut fast_w, mut libm_w) = (super::super::OmegaTerms::default(), Default::default());
        let mut steps = Steps::new();
        let mut pixels = 0;
        for s in 0..prep.plan.spixels {
            for f in 0..prep.plan.fpixels {
                let (v, t) = pixel_with(
                    &prep,
                    f,
                    s,
                    &mut fast_st,
                    None,
                    Some(&mut fast_w),
                    &mut steps,
                );
                let (w, u, sure) = pixel_pass(
                    &prep,
                    f,
                    s,
                    &mut libm_st,
                    None,
                    Some(&mut libm_w),
                    &mut steps,
                );
                assert!(sure);
                assert_eq!(v.to_bits(), w.to_bits(), "{args:?}: pixel {f} {s}");
                assert_eq!(fast_st, libm_st, "{args:?}: state after pixel {f} {s}");
                assert_eq!(t, u, "{args:?}: trigger of pixel {f} {s}");
                pixels += 1;
            }
        }
        assert_eq!(fast_w, libm_w, "{args:?}: solid-angle terms");
        pixels
    }

    /// Every pixel of the exact kernel (fast sines, certified, libm where uncertain) equals the
    /// pixel rendered with libm's `sin` throughout, bit for bit, and leaves the same state.
    #[test]
    fn fast_sines_give_the_libm_pixels() {
        let cases = [
            "-cell 100 100 100 90 90 90 -lambda 1.0 -N 10 -default_F 100 -distance 100 -detpixels 96 -pixel 1 -oversample 1",
            "-cell 100 100 100 90 90 90 -lambda 6.2 -N 5 -default_F 100 -distance 100 -detpixels 96 -pixel 1 -oversample 1 -mosflm",
            "-cell 70 80 90 85 95 105 -lambda 1.5 -N 8 -misset 10 5 3 -default_F 100 -distance 100 -detpixels 48 -pixel 1.5 -oversample 2",
            "-cell 50 60 70 90 90 90 -lambda 1.2 -Na 3 -Nb 1 -Nc 40 -mosaic 0.5 -mosaic_dom 4 -dispersion 0.1 -dispsteps 2 -default_F 10 -water 50 -distance 80 -detpixels 48 -pixel 1 -oversample 1",
            // (review of the change) arguments beyond the reduction's range, where the fast
            // lattice factor can be 0 or infinite and a term must not be dropped
            "-cell 1e32 1e32 1e32 90 90 90 -lambda 1.0 -Na 2 -Nb 2 -Nc 2 -default_F 100 -distance 100 -detpixels 64 -pixel 1 -oversample 1",
            // terms near the subnormal range, where rounding errors are not relative
            "-cell 100 100 100 90 90 90 -lambda 1 -N 10 -default_F 2.8765850351523314e-155 -distance 100 -detpixels 8 -pixel 1 -oversample 1 -point_pixel -fluence 4.380942816599794e+301",
        ];
        let pixels: usize = cases.iter().map(|a| same_as_libm(a, true)).sum();
        assert_eq!(pixels, 2 * 96 * 96 + 2 * 48 * 48 + 64 * 64 + 8 * 8);
    }

    /// The retry path: with every fast pass rendered again, the pixels, states, triggers and
    /// solid-angle terms are still libm's (interpolation switching off, and a zero F beyond
    /// the HKL file's range included).
    #[test]
    fn retried_pixels_are_the_libm_pixels() {
        let hkl = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/data/golden/inputs/P1_cubic.hkl"
        );
        let cases = [
            format!(
                "-hkl {hkl} -cell 100 100 100 90 90 90 -lambda 1.0 -N 10 -mosaic 0.3 -mosaic_dom 3 -distance 100 -detpixels 48 -pixel 0.5 -oversample 1 -interpolate"
            ),
            "-cell 100 100 100 90 90 90 -lambda 1.0 -N 10 -default_F 100 -distance 100 -detpixels 32 -pixel 1 -oversample 2".to_string(),
        ];
        FORCE_RETRY.with(|f| f.set(true));
        let pixels: usize = cases.iter().map(|a| same_as_libm(a, true)).sum();
        FORCE_RETRY.with(|f| f.set(false));
        assert_eq!(pixels, 48 * 48 + 32 * 32);
    }

    /// A sum whose bound straddles a single-precision rounding boundary is not certain; the
    /// same sum with no room for doubt is.
    #[test]
    fn a_value_at_a_rounding_boundary_is_not_certain() {
        let args: Vec<&str> = "-cell 100 100 100 90 90 90 -default_F 100 -N 10 -detpixels 8"
            .split_whitespace()
            .collect();
        let sim = crate::Simulation::from_args(&args).expect("setup");
        let plan = sim.plan();
        let factors = [1.0, 0.9, 1e-7];
        let scale = plan.r_e_sqr * plan.fluence / plan.steps * factors[0] * factors[1] * factors[2];
        let pixel = |i: f64| {
            (0.0 + plan.r_e_sqr * plan.fluence * i / plan.steps
                * factors[0]
                * factors[1]
                * factors[2]) as f32
        };
        // a sum whose value is half way between two f32 values, and one on an f32 value
        let v = 1234.5678f32;
        let mid = (v as f64 + f32::from_bits(v.to_bits() + 1) as f64) / 2.0;
        for (target, expect) in [(mid, false), (v as f64, true)] {
            let sums = Sums {
                fpixel: 0,
                spixel: 0,
                os_polar: false,
                i_sum: target / scale,
                trigger: None,
                term_bound: 1e-13,
                terms: 9,
            };
            let value = pixel(sums.i_sum);
            assert_eq!(certain(plan, &sums, factors, value), expect, "{target}");
        }
        // no bound at all: never certain
        let sums = Sums {
            fpixel: 0,
            spixel: 0,
            os_polar: false,
            i_sum: v as f64 / scale,
            trigger: None,
            term_bound: f64::INFINITY,
            terms: 1,
        };
        assert!(!certain(plan, &sums, factors, pixel(sums.i_sum)));
    }
}
