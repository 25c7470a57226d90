// The SIMD kernel for one lane width; included by `simd/mod.rs` once per width with `F32`,
// `I32`, `F64H` (half-width f64), `Bits` (lane mask), `LANES`, `gather`, `narrow_halves`,
// `widen_halves` and the macro `enter!` defined. For the run-time AVX-512 module build.rs
// gives every function that is not `#[inline(always)]` (in optimised builds) a
// `#[target_feature]`; closures do not inherit it, so vector work stays out of closures here
// (`per_axis!`, not `array::from_fn`).
//
// The helpers are forced inline only in optimised builds: unoptimised, a forced inline keeps
// all of the callee's temporaries in the caller's frame without reuse (2.2 MB for
// `render_vec_fast`'s eight-lane frame), more than a 2 MiB thread stack holds.

use crate::kernel::{InterpTrigger, Prepared, RowKernel, SerialState};
use crate::options::Shape;
use crate::plan::RenderPlan;
use crate::vec3::{V3, cross, dot, rotate_axis, unit};
use std::ops::{Add, Mul};
use wide::f64x4;

/// `[e(0), e(1), e(2)]` for an expression `e` of the axis `k`, written out: unlike
/// `std::array::from_fn`'s closure, the expression is compiled as part of the enclosing function
/// and so with its `#[target_feature]`s (see `x16rt` in `simd/mod.rs`).
macro_rules! per_axis {
    (|$k:ident| $e:expr) => {
        [
            {
                let $k = 0usize;
                $e
            },
            {
                let $k = 1usize;
                $e
            },
            {
                let $k = 2usize;
                $e
            },
        ]
    };
}

/// `LANES` f64 lanes as two halves (the per-pixel sums).
#[derive(Clone, Copy, Debug)]
struct DL(F64H, F64H);

const HALF: usize = LANES / 2;

impl DL {
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn splat(x: f64) -> DL {
        DL(F64H::splat(x), F64H::splat(x))
    }
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn from_array(a: [f64; LANES]) -> DL {
        DL(
            F64H::from(std::array::from_fn::<f64, HALF, _>(|i| a[i])),
            F64H::from(std::array::from_fn::<f64, HALF, _>(|i| a[HALF + i])),
        )
    }
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn to_array(self) -> [f64; LANES] {
        let (a, b) = (self.0.to_array(), self.1.to_array());
        std::array::from_fn(|i| if i < HALF { a[i] } else { b[i - HALF] })
    }
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn from_f32(v: F32) -> DL {
        let (lo, hi) = widen_halves(v);
        DL(lo, hi)
    }
    /// `self·a + b` (fused).
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn mul_add(self, a: DL, b: DL) -> DL {
        DL(self.0.mul_add(a.0, b.0), self.1.mul_add(a.1, b.1))
    }
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn round_ties_even(self) -> DL {
        DL(self.0.round_ties_even(), self.1.round_ties_even())
    }
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn abs(self) -> DL {
        DL(self.0.abs(), self.1.abs())
    }
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn sqrt(self) -> DL {
        DL(self.0.sqrt(), self.1.sqrt())
    }
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn floor(self) -> DL {
        DL(self.0.floor(), self.1.floor())
    }
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn fast_max(self, o: DL) -> DL {
        DL(self.0.fast_max(o.0), self.1.fast_max(o.1))
    }
    /// NaN-aware min: `self` where `o` is NaN, `o` where `self` is.
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn min(self, o: DL) -> DL {
        DL(self.0.min(o.0), self.1.min(o.1))
    }
    /// Rounded to single precision.
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn narrow(self) -> F32 {
        narrow_halves(self.0, self.1)
    }
    /// Per-lane choice: `a` where the bit is set, else `self`.
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn blend(self, bits: Bits, a: DL) -> DL {
        // (every lane at once is the common case)
        if bits == Bits::MAX {
            return a;
        }
        let (s, a) = (self.to_array(), a.to_array());
        DL::from_array(std::array::from_fn(|l| {
            if bits >> l & 1 != 0 { a[l] } else { s[l] }
        }))
    }
}

impl Add for DL {
    type Output = DL;
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn add(self, o: DL) -> DL {
        DL(self.0 + o.0, self.1 + o.1)
    }
}

impl std::ops::Sub for DL {
    type Output = DL;
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn sub(self, o: DL) -> DL {
        DL(self.0 - o.0, self.1 - o.1)
    }
}

impl std::ops::Div for DL {
    type Output = DL;
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn div(self, o: DL) -> DL {
        DL(self.0 / o.0, self.1 / o.1)
    }
}

impl Mul for DL {
    type Output = DL;
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn mul(self, o: DL) -> DL {
        DL(self.0 * o.0, self.1 * o.1)
    }
}

/// 0, 1, 2, … in the lanes.
#[cfg_attr(not(debug_assertions), inline(always))]
fn lane_index() -> F32 {
    F32::from(std::array::from_fn::<f32, LANES, _>(|l| l as f32))
}

/// All bits set in the lanes whose bit is set in `bits`.
#[cfg_attr(not(debug_assertions), inline(always))]
fn mask32(bits: Bits) -> F32 {
    let lane_bit = I32::from(std::array::from_fn::<i32, LANES, _>(|l| 1 << l));
    wide::bytemuck::cast((I32::splat(bits as i32) & lane_bit).simd_eq(lane_bit))
}

#[cfg_attr(not(debug_assertions), inline(always))]
fn bits(m: F32) -> Bits {
    m.to_bitmask() as Bits
}

#[cfg_attr(not(debug_assertions), inline(always))]
fn splat(x: f32) -> F32 {
    F32::splat(x)
}

#[cfg_attr(not(debug_assertions), inline(always))]
fn sinpi(r: F32) -> F32 {
    // Estrin's scheme (shorter dependency chain than Horner's)
    let r2 = r * r;
    let r4 = r2 * r2;
    let lo = r2.mul_add(splat(-5.167_71), splat(std::f32::consts::PI));
    let mid = r2.mul_add(splat(-0.598_24), splat(2.550_069_4));
    let hi = r4.mul_add(splat(0.077_555_88), mid);
    r * r4.mul_add(hi, lo)
}

/// sin(πr) for |r| ≤ ½ by a degree-7 minimax polynomial: relative error < 1.1e-6 (about
/// 1e-5 at most on F_latt², far inside the accuracy bar), one multiply-add fewer than
/// [`sinpi`]. Used by the fast grating, whose six evaluations per term keep both FMA ports
/// busy: Horner's scheme, which needs one operation fewer than Estrin's (the longer chain is
/// hidden by the independent evaluations around it).
#[cfg_attr(not(debug_assertions), inline(always))]
fn sinpi7(r: F32) -> F32 {
    let r2 = r * r;
    let p = r2.mul_add(splat(-0.558_351), splat(2.543_589));
    let p = r2.mul_add(p, splat(-5.167_366_5));
    r * r2.mul_add(p, splat(3.141_589_6))
}

/// sin(Nπx)/sin(πx) up to sign as (numerator, denominator), for x any value congruent to the
/// index h, N > 1 integer.
#[cfg_attr(not(debug_assertions), inline(always))]
fn grating(x: F32, n: f32) -> (F32, F32) {
    grating_delta(x - x.round_ties_even(), n)
}

/// As [`grating`], from δ = h − round(h). |δ| is kept at least 1e-12 (where the ratio is N to
/// f32 precision), avoiding 0/0.
#[cfg_attr(not(debug_assertions), inline(always))]
fn grating_delta(delta: F32, n: f32) -> (F32, F32) {
    let delta = delta.abs().fast_max(splat(1e-12));
    let y = delta * splat(n);
    let r = y - y.round_ties_even();
    (sinpi(r), sinpi(delta))
}

/// 1.5·2²³: (y + M) − M is y rounded to the nearest integer (ties to even) for |y| < 2²².
const ROUND_MAGIC: f32 = 12_582_912.0;

/// Largest cell count per axis for [`grating_fast`] (|δ·N| ≤ N/2 must stay below 2²²).
const FAST_GRATING_MAX_N: f32 = 4_000_000.0;

/// As [`grating_delta`] without the zero guard: δ = 0 gives 0/0, which the caller detects (a
/// denominator product below 1e-30) and repairs with [`grating_delta`] — this happens only
/// where a lane's indices are all within ~1e-11 of integers. N ≤ [`FAST_GRATING_MAX_N`]. The reduced
/// argument r = δN − round(δN) comes from two multiply-adds on the unrounded product.
#[cfg_attr(not(debug_assertions), inline(always))]
fn grating_fast(delta: F32, n: f32) -> (F32, F32) {
    let k = delta.mul_add(splat(n), splat(ROUND_MAGIC)) - splat(ROUND_MAGIC);
    let r = delta.mul_add(splat(n), -k);
    (sinpi7(r), sinpi7(delta))
}

/// The fraction of the beam a sensor layer absorbs, exp(−l·τ) − exp(−(l+1)·τ) with
/// τ = thickstep·μ/ρ (ρ = d·odet), written as exp(−l·τ)·(−expm1(−τ)): the difference of two
/// close exponentials would cancel to a few digits in single precision for thin layers.
#[cfg_attr(not(debug_assertions), inline(always))]
fn capture_fraction(plan: &RenderPlan, layer: f64, rho: F32) -> F32 {
    let tau = splat((plan.thickstep * plan.mu) as f32) / rho;
    (splat(-layer as f32) * tau).exp() * -expm1(-tau)
}

/// exp(x) − 1, accurate for small |x| (series below ½, else exp(x) − 1).
#[cfg_attr(not(debug_assertions), inline(always))]
fn expm1(x: F32) -> F32 {
    let mut p = splat(1.0 / 362_880.0);
    for c in [40_320.0f32, 5040.0, 720.0, 120.0, 24.0, 6.0, 2.0, 1.0] {
        p = p.mul_add(x, splat(1.0 / c));
    }
    x.abs()
        .simd_lt(splat(0.5))
        .select(x * p, x.exp() - F32::ONE)
}

/// 3(sin x − x cos x)/x³ with x = πu, u ≥ 0 (the sphere transform), accurate near 0.
#[cfg_attr(not(debug_assertions), inline(always))]
fn sinc3_pi(u: F32) -> F32 {
    // u = n + r, sin(πu) = ±sinpi(r), cos(πu) = ±sinpi(1/2 − |r|)
    let n = u.round_ties_even();
    let r = u - n;
    let half = n * splat(0.5);
    let sign = half.floor().simd_ne(half).select(splat(-1.0), F32::ONE);
    sinc3_parts(u, r, sign)
}

/// As [`sinc3_pi`] from u's reduction u = n + r (r ∈ [−½, ½]) and `sign` = (−1)ⁿ.
#[cfg_attr(not(debug_assertions), inline(always))]
fn sinc3_parts(u: F32, r: F32, sign: F32) -> F32 {
    let x = splat(std::f32::consts::PI) * u;
    let x2 = x * x;
    // series for small x: 1 − x²/10 + x⁴/280 − x⁶/15120 + x⁸/1330560
    let mut s = splat(1.0 / 1_330_560.0);
    s = s.mul_add(x2, splat(-1.0 / 15_120.0));
    s = s.mul_add(x2, splat(1.0 / 280.0));
    s = s.mul_add(x2, splat(-0.1));
    s = s.mul_add(x2, F32::ONE);
    let sn = sinpi(r) * sign;
    let cs = sinpi(splat(0.5) - r.abs()) * sign;
    let g = splat(3.0) * (sn / x - cs) / x2;
    x.simd_lt(splat(0.5)).select(s, g)
}

/// Per-(source, φ step, domain) coefficients. The index of lane l is
/// h = A·(d_ref + Δd_l) + A·s, A = (a/λ, b/λ, c/λ) as rows.
#[derive(Clone, Copy, Debug)]
struct Step {
    /// Columns of A (h, k, l in lanes 0-2) and A·s, for the f64 reference index.
    cols: [f64x4; 3],
    off: f64x4,
    /// Rows of A in single precision, for the lane offsets.
    a32: [[f32; 3]; 3],
}

/// Per-source constants.
#[derive(Clone, Copy, Debug)]
struct SourceC {
    /// Unit vector towards the source (q = (d + dir)/λ), and 1/λ.
    dir: [f32; 3],
    inv_lambda: f32,
    /// Unit incident direction and the polarization frame (B = unit(axis × i), E = unit(i × B)).
    inc: [f32; 3],
    b: [f32; 3],
    e: [f32; 3],
    /// The same frame in f64, for the per-pixel polarization factor.
    frame64: [V3; 3],
}

impl SourceC {
    /// The constants of a source in direction `dir` (unit, towards the source) with wavelength
    /// `lambda`, for the polarization axis `axis` (unit).
    fn new(dir: &V3, lambda: f64, axis: &V3) -> SourceC {
        let inc = unit(&[-dir[0], -dir[1], -dir[2]]);
        let b = unit(&cross(axis, &inc));
        let e = unit(&cross(&inc, &b));
        SourceC {
            dir: f32s(dir),
            inv_lambda: (1.0 / lambda) as f32,
            inc: f32s(&inc),
            b: f32s(&b),
            e: f32s(&e),
            frame64: [inc, b, e],
        }
    }
}

/// Tables precomputed once per render, in double precision.
pub struct Tables {
    /// [fresh, stale] × sources × φ steps × domains.
    steps: [Vec<Step>; 2],
    /// The fresh steps by component (see [`Refs::fill`]).
    cols: StepCols,
    sources: Vec<SourceC>,
    per_source: usize,
    /// The structure factors in single precision. Grids of fewer than 2^24 entries are padded
    /// with a plane of default_F on every side (`padded`), so an index clamped to the padding
    /// reads default_F; larger grids are stored as they are.
    grid32: Vec<f32>,
    padded: bool,
    /// ROUND shape: where each source's beam meets the detector plane, in (fast, slow) pixel
    /// coordinates. On the beam axis the scattering vector vanishes and the reference's
    /// sinc3 cancels to 0 in double precision; vectors there are rendered by the exact kernel.
    beam_hits: Vec<[f64; 2]>,
    /// Axes with more than one unit cell and their counts.
    axes: Vec<(usize, f32)>,
    /// Offsets of the lanes from lane 0 on a flat detector: l·oversample·subpixel·fdet.
    flat_dp: [F32; 3],
    /// Sub-pixels per pixel (all layers).
    subpixels: usize,
    /// Offsets of each (layer, slow sub, fast sub) from the pixel's corner, in loop order (m).
    sub_offsets: Vec<V3>,
    /// Position offsets of every lane and sub-pixel from lane 0's first sub-pixel (flat detector).
    sub_shifts: Vec<[F32; 3]>,
    /// Flat detector: A·ΔP for each stale step (outer) and sub-pixel shift (inner), so a lane's
    /// index offset A·Δd is (A·ΔP − (A·d_ref)·Δr)/|P| without forming Δd (empty otherwise).
    proj: Vec<[F32; 3]>,
    /// The position offsets of `sub_shifts` in double precision (flat detector).
    sub_shifts64: Vec<[DL; 3]>,
    /// Structure factors are held as F·`f_scale` (a power of two), so every f32 term
    /// F²·F_latt² (times 2^`gauss_shift` for the GAUSS shape) stays far from both ends of the
    /// single-precision range; the f64 sums are multiplied by `unscale` (exact).
    f_scale: f64,
    unscale: f64,
    /// default_F·f_scale and its square, in f32.
    f_default: f32,
    f2_default: f32,
    /// GAUSS: F_latt² = exp(κ − 2·arg) with κ = ln(N_a²N_b²N_c²·2^gauss_shift).
    gauss_kappa: f32,
    /// Lane indices in double precision (see [`Numerics`]).
    wide: bool,
    /// Terms below single precision's range could change a pixel: lanes whose sum is that
    /// small are rendered by the exact kernel.
    range_check: bool,
    /// The parallelepiped with N > 1 on all axes, within the fast gratings' range.
    sq3: bool,
    /// Flat detector, no sensor thickness, projected shifts and no resolution cut:
    /// [`render_vec_proj`] renders the vectors.
    proj_flat: bool,
}

/// Largest estimated error of the lattice factor (relative, per term) for which the lanes'
/// indices are computed in single precision; above it they are computed in double precision.
const MAX_INDEX_ERROR: f64 = 1e-5;

/// Per-run numerical choices: term scaling, index precision and range check.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Numerics {
    f_scale: f64,
    unscale: f64,
    gauss_shift: i32,
    range_check: bool,
    wide: bool,
}

/// Smallest e with x ≤ 2^e, for finite x > 0 (0 otherwise).
fn ceil_log2(x: f64) -> i32 {
    if x.is_finite() && x > 0.0 {
        x.log2().ceil() as i32
    } else {
        0
    }
}

impl Numerics {
    fn new(plan: &RenderPlan) -> Numerics {
        let nabc: f64 = plan.n_cells.iter().map(|n| n.max(1.0)).product();
        let l_max = nabc * nabc;
        // GAUSS: F_latt² scaled so its largest value is 2^100 (exp(κ − 2·arg) ≤ 2^100)
        let gauss_shift = if plan.shape == Shape::Gauss {
            100 - ceil_log2(l_max)
        } else {
            0
        };
        let l_scaled = ceil_log2(l_max) + gauss_shift;
        let mut f_max = plan.default_f.abs();
        if let Some(g) = plan.hkl.as_ref() {
            for v in g.data.iter() {
                f_max = f_max.max(v.abs());
            }
        }
        // (F_max·s)²·F_latt²max ≤ 2^112: a chunk of 32 terms, with interpolation overshoot,
        // stays below 2^122
        let half = ((112 - l_scaled - 2 * ceil_log2(f_max)) / 2).clamp(-500, 500);
        let f_scale = 2f64.powi(half);
        let unscale = 2f64.powi(-2 * half) * 2f64.powi(-gauss_shift);

        // Terms below 2^-126 (scaled) lose precision. What they could add to a pixel:
        let r_min = if plan.curved {
            plan.distance.abs()
        } else {
            plan.close_distance.abs()
        };
        let omega_max = if plan.point_pixel {
            1.0 / (r_min * r_min)
        } else {
            plan.pixel_size * plan.pixel_size * plan.close_distance.abs() / (r_min * r_min * r_min)
        };
        let polar_max = if plan.nopolar {
            1.0
        } else {
            1.0 + 0.5 * plan.polarization.abs()
        };
        let capture_max = if plan.thick == 0.0 || (plan.close_distance > 0.0 && plan.mu >= 0.0) {
            1.0
        } else {
            f64::INFINITY
        };
        let lost = plan.thicksteps as f64
            * 2f64.powi(-126)
            * unscale
            * plan.r_e_sqr
            * plan.fluence
            * omega_max
            * polar_max
            * capture_max;
        let range_check = !(lost < 2f64.powi(-152));

        // Single-precision lane index: error ≈ 2^-24·(1 + 4·|A·Δd|) (rounding of the fraction,
        // of the offset and of the offset's direction), Δd at most the vector's extent over
        // the distance; the lattice factor's phase multiplies it by the sensitivity below.
        let lambda_min = plan
            .sources
            .iter()
            .map(|s| s.lambda)
            .fold(f64::INFINITY, f64::min);
        let a_max = [plan.a0, plan.b0, plan.c0]
            .iter()
            .map(crate::vec3::magnitude)
            .fold(0.0, f64::max)
            / lambda_min;
        let extent = (LANES + 1) as f64 * plan.pixel_size + plan.thick;
        let offset = a_max * extent / r_min;
        let eps = 2f64.powi(-24) * (1.0 + 4.0 * offset);
        let n_max = plan
            .n_cells
            .iter()
            .copied()
            .filter(|&n| n > 1.0)
            .fold(0.0, f64::max);
        let sensitivity = match plan.shape {
            Shape::Square => n_max,
            Shape::Round => n_max * plan.fudge.abs().sqrt(),
            Shape::Gauss => {
                let r: f64 = plan.recip.iter().map(crate::vec3::magnitude).sum();
                6.0 * plan.fudge.abs() * nabc * r
            }
            Shape::Tophat => 0.0,
        };
        let index_error = eps * sensitivity;
        let wide = !(index_error <= MAX_INDEX_ERROR) || range_check;
        Numerics {
            f_scale,
            unscale,
            gauss_shift,
            range_check,
            wide,
        }
    }
}

/// Largest (step × sub-pixel) table of projected shifts (entries of 3 vectors).
const PROJ_MAX: usize = 1 << 15;

fn f32s(v: &V3) -> [f32; 3] {
    [v[0] as f32, v[1] as f32, v[2] as f32]
}

impl Tables {
    fn new(prep: &Prepared) -> Tables {
        let mut t = Tables::build(prep);
        let off0 = t.sub_offsets[0];
        t.sub_shifts = t
            .sub_offsets
            .iter()
            .map(|off| per_axis!(|k| t.flat_dp[k] + splat((off[k] - off0[k]) as f32)))
            .collect();
        if t.wide {
            let plan = prep.plan;
            let os = plan.oversample as f64;
            let step = os * (plan.pixel_size / os);
            let lane_off = DL::from_array(std::array::from_fn(|l| l as f64 * step));
            t.sub_shifts64 = t
                .sub_offsets
                .iter()
                .map(|off| {
                    per_axis!(|k| {
                        lane_off * DL::splat(plan.fdet[k]) + DL::splat(off[k] - off0[k])
                    })
                })
                .collect();
        }
        let plan = prep.plan;
        t.sq3 = plan.shape == Shape::Square
            && t.axes.len() == 3
            && t.axes.iter().all(|&(_, n)| n <= FAST_GRATING_MAX_N);
        if !prep.plan.curved && !t.wide && t.steps[1].len() * t.sub_shifts.len() <= PROJ_MAX {
            t.proj = t.steps[1]
                .iter()
                .flat_map(|st| {
                    t.sub_shifts
                        .iter()
                        .map(|sh| per_axis!(|k| dot8(sh, &st.a32[k])))
                })
                .collect();
        }
        t.proj_flat = !plan.curved
            && plan.thick == 0.0
            && !t.proj.is_empty()
            && plan.dmin <= 0.0;
        t
    }

    fn build(prep: &Prepared) -> Tables {
        let plan = prep.plan;
        let domains = prep.cells.domains;
        let phis = plan.phisteps as usize;
        let axis = unit(&plan.polar_axis);
        let mut sources = Vec::new();
        let mut steps = [Vec::new(), Vec::new()];
        for s in &plan.sources {
            sources.push(SourceC::new(&s.dir, s.lambda, &axis));
            for (kind, table) in steps.iter_mut().enumerate() {
                for p in 0..phis {
                    for m in 0..domains {
                        let cell = prep.cells.get(kind == 1, p, m);
                        let a: [V3; 3] = per_axis!(|k| {
                            let v = cell[k];
                            [v[0] / s.lambda, v[1] / s.lambda, v[2] / s.lambda]
                        });
                        table.push(Step {
                            cols: std::array::from_fn(|c| {
                                f64x4::from([a[0][c], a[1][c], a[2][c], 0.0])
                            }),
                            off: f64x4::from([
                                dot(&a[0], &s.dir),
                                dot(&a[1], &s.dir),
                                dot(&a[2], &s.dir),
                                0.0,
                            ]),
                            a32: [f32s(&a[0]), f32s(&a[1]), f32s(&a[2])],
                        });
                    }
                }
            }
        }
        let os = plan.oversample as f64;
        let lane_off = lane_index() * splat((os * (plan.pixel_size / os)) as f32);
        let num = Numerics::new(plan);
        let fs = num.f_scale;
        let nabc: f64 = plan.n_cells.iter().map(|n| n.max(1.0)).product();
        let mut t = Tables {
            cols: StepCols::new(&steps[1]),
            steps,
            sources,
            per_source: phis * domains,
            axes: (0..3)
                .filter(|&k| plan.n_cells[k] > 1.0)
                .map(|k| (k, plan.n_cells[k] as f32))
                .collect(),
            flat_dp: per_axis!(|k| lane_off * splat(plan.fdet[k] as f32)),
            // at most 2^40 (RenderPlan::validate), so the product is exact
            subpixels: plan.oversample as usize * plan.oversample as usize * plan.thicksteps as usize,
            sub_offsets: {
                let sp = plan.pixel_size / os;
                let mut v = Vec::new();
                for layer in 0..plan.thicksteps {
                    for sy in 0..plan.oversample {
                        for sx in 0..plan.oversample {
                            let (fo, so, oo) = (
                                sp * (sx as f64 + 0.5),
                                sp * (sy as f64 + 0.5),
                                layer as f64 * plan.thickstep,
                            );
                            v.push(per_axis!(|k| {
                                fo * plan.fdet[k] + so * plan.sdet[k] + oo * plan.odet[k]
                            }));
                        }
                    }
                }
                v
            },
            sub_shifts: Vec::new(),
            proj: Vec::new(),
            grid32: Vec::new(),
            padded: false,
            beam_hits: Vec::new(),
            sub_shifts64: Vec::new(),
            f_scale: fs,
            unscale: num.unscale,
            f_default: (plan.default_f * fs) as f32,
            f2_default: ((plan.default_f * fs) * (plan.default_f * fs)) as f32,
            gauss_kappa: (2.0 * nabc.ln() + num.gauss_shift as f64 * std::f64::consts::LN_2) as f32,
            wide: num.wide,
            range_check: num.range_check,
            sq3: false,
            proj_flat: false,
        };
        if matches!(plan.shape, Shape::Round | Shape::Gauss) {
            t.beam_hits = plan
                .sources
                .iter()
                .filter_map(|src| {
                    let b = [-src.dir[0], -src.dir[1], -src.dir[2]];
                    let along = dot(&b, &plan.odet);
                    (along.abs() > 1e-12).then(|| {
                        let tb = dot(&plan.pix0, &plan.odet) / along;
                        let p: V3 = per_axis!(|k| tb * b[k] - plan.pix0[k]);
                        [
                            dot(&p, &plan.fdet) / plan.pixel_size,
                            dot(&p, &plan.sdet) / plan.pixel_size,
                        ]
                    })
                })
                .collect();
        }
        if let Some(g) = &plan.hkl {
            let dims = g.range.map(|r| (r + 2) as usize);
            if dims.iter().product::<usize>() < 1 << 24 {
                let default = t.f_default;
                let mut p = vec![default; dims.iter().product()];
                for h in 0..g.range[0] {
                    for k in 0..g.range[1] {
                        for l in 0..g.range[2] {
                            let at = ((h as usize + 1) * dims[1] + k as usize + 1) * dims[2]
                                + l as usize
                                + 1;
                            p[at] = (g.at(h, k, l) * fs) as f32;
                        }
                    }
                }
                t.grid32 = p;
                t.padded = true;
            } else {
                t.grid32 = g.data.iter().map(|v| (*v * fs) as f32).collect();
            }
        }
        t
    }
}

/// Whether a source's beam meets the detector within a pixel of the vector (row `s`, pixels
/// `f0..f0 + LANES`).
fn near_beam(t: &Tables, s: usize, f0: usize) -> bool {
    t.beam_hits.iter().any(|&[fu, sv]| {
        (sv - (s as f64 + 0.5)).abs() <= 1.5
            && fu >= f0 as f64 - 1.0
            && fu <= (f0 + LANES) as f64 + 1.0
    })
}

/// Lane state while rendering one vector.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Lanes {
    /// Lanes whose φ orientation is already "stale" (a loop has run).
    stale: Bits,
    /// Lanes with interpolation still on.
    interp: Bits,
}

/// A trigger: the lane and its (h, k, l) and nearest indices.
type Trigger = (usize, [f64; 3], [i32; 3]);

struct VecOut {
    /// (Vectors rather than arrays: written and read whole, so copies of the result do not
    /// stall on store forwarding.)
    value: F32,
    /// Sum of the pixel's solid angles over its sub-pixels and layers.
    omega: DL,
    exit: Lanes,
    /// The lowest lane whose interpolation left the grid.
    trigger: Option<Trigger>,
    /// Lanes the exact kernel must render (see [`small_lanes`]).
    redo: Bits,
}

/// The SIMD kernel (its tables are built on first use, from the first row's plan).
#[derive(Default)]
pub struct Simd {
    tables: std::sync::OnceLock<Tables>,
}

impl RowKernel for Simd {
    fn render_row(
        &self,
        prep: &Prepared,
        s: usize,
        state: &mut SerialState,
        out: &mut [f32],
        omega: &mut crate::kernel::OmegaTerms,
    ) -> Option<InterpTrigger> {
        // (`enter!` is defined by the module that includes this file: a plain call, or the
        // call into code compiled for instruction sets checked at run time)
        enter!(self.row(prep, s, state, out, omega))
    }
}

impl Simd {
    /// [`RowKernel::render_row`].
    fn row(
        &self,
        prep: &Prepared,
        s: usize,
        state: &mut SerialState,
        out: &mut [f32],
        omega: &mut crate::kernel::OmegaTerms,
    ) -> Option<InterpTrigger> {
        let plan = prep.plan;
        let tables = self.tables.get_or_init(|| Tables::new(prep));
        let (fr, sr) = crate::stats::roi_ranges(plan);
        if !sr.contains(&s) {
            return None;
        }
        let mut first: Option<InterpTrigger> = None;
        let mut row_omega = 0.0;
        let mut omega_lanes = DL::splat(0.0);
        // this thread's buffers, for the whole row
        let mut scratch = SCRATCH.with(|b| b.take());
        let mut f0 = fr.start - fr.start % LANES;
        while f0 < fr.end {
            let active = active_lanes(plan, &fr, s, f0);
            if active == 0 {
                f0 += LANES;
                continue;
            }
            if near_beam(tables, s, f0) {
                let mut terms = crate::kernel::OmegaTerms::default();
                for l in 0..LANES {
                    if active & (1 << l) == 0 {
                        continue;
                    }
                    terms.clear();
                    let (v, trig) =
                        crate::kernel::exact::pixel(prep, f0 + l, s, state, None, Some(&mut terms));
                    out[f0 + l] = v;
                    row_omega += terms.total();
                    if first.is_none() {
                        first = trig;
                    }
                }
                f0 += LANES;
                continue;
            }
            // Render with the state at the vector's start; if a lane changes the state, the
            // lanes after it (in serial order) are rendered again from the changed state.
            let mut done: Bits = 0;
            while done != active {
                let lanes = Lanes {
                    stale: if state.stale_phi { Bits::MAX } else { 0 },
                    interp: if state.interp_on { Bits::MAX } else { 0 },
                };
                let todo = active & !done;
                let fast =
                    !(plan.oversample_thick || plan.oversample_omega || plan.oversample_polar)
                        && lanes.stale == Bits::MAX
                        && (lanes.interp == 0 || !plan.interpolate);
                let r = if fast {
                    render_vec_fast(plan, tables, s, f0, todo, lanes, &mut scratch)
                } else {
                    render_vec(plan, tables, s, f0, todo, lanes)
                };
                let (value, vomega) = (r.value.to_array(), r.omega.to_array());
                if first.is_none()
                    && let Some((l, hkl, hkl0)) = r.trigger {
                        first = Some(InterpTrigger {
                            fpixel: f0 + l,
                            spixel: s,
                            hkl,
                            hkl0,
                        });
                    }
                // lanes whose terms fell below single precision's range: the exact kernel
                let redo = r.redo;
                if r.exit == lanes {
                    // no lane changed the state: all of them are final
                    if todo == Bits::MAX && redo == 0 && f0 + LANES <= out.len() {
                        // the common case: a whole vector, stored at once; its solid angles go
                        // to per-lane sums (no serial chain of adds through the row)
                        out[f0..f0 + LANES].copy_from_slice(&value);
                        omega_lanes = omega_lanes + r.omega;
                    } else {
                        for l in 0..LANES {
                            if todo & (1 << l) != 0 {
                                if redo & (1 << l) != 0 {
                                    row_omega +=
                                        exact_lane(prep, f0 + l, s, state, out, &mut first);
                                } else {
                                    out[f0 + l] = value[l];
                                    row_omega += vomega[l];
                                }
                            }
                        }
                    }
                    done = active;
                    continue;
                }
                for l in 0..LANES {
                    let bit: Bits = 1 << l;
                    if todo & bit == 0 {
                        continue;
                    }
                    if redo & bit != 0 {
                        // (the lane's exit state is the vector's, below)
                        let entry_state = *state;
                        row_omega += exact_lane(prep, f0 + l, s, state, out, &mut first);
                        *state = SerialState {
                            polar_idx: state.polar_idx,
                            ..entry_state
                        };
                    } else {
                        out[f0 + l] = value[l];
                        row_omega += vomega[l];
                    }
                    done |= bit;
                    let stale = r.exit.stale & bit != 0;
                    let interp = r.exit.interp & bit != 0;
                    if stale != state.stale_phi || interp != state.interp_on {
                        state.stale_phi = stale;
                        state.interp_on = interp;
                        break;
                    }
                }
            }
            f0 += LANES;
        }
        SCRATCH.with(|b| b.replace(scratch));
        for w in omega_lanes.to_array() {
            row_omega += w;
        }
        omega.push(row_omega);
        first
    }
}

/// Lanes of the vector at pixel `f0` of row `s` inside the region of interest `fr` and not
/// masked out.
fn active_lanes(plan: &RenderPlan, fr: &std::ops::Range<usize>, s: usize, f0: usize) -> Bits {
    if plan.mask.is_none() && fr.start <= f0 && f0 + LANES <= fr.end {
        return Bits::MAX; // the common case: every lane inside the region, no mask
    }
    let mut active: Bits = 0;
    for l in 0..LANES {
        let f = f0 + l;
        if fr.contains(&f)
            && plan
                .mask
                .as_ref()
                .is_none_or(|m| m[s * plan.fpixels + f] != 0)
        {
            active |= 1 << l;
        }
    }
    active
}

/// Render pixel `f` of row `s` with the exact kernel in place of a lane (see [`small_lanes`]);
/// returns the pixel's solid-angle sum. (Returned, not added through a reference: the row's
/// running sum then stays in a register in the caller's lane loop.)
#[cold]
#[inline(never)]
fn exact_lane(
    prep: &Prepared,
    f: usize,
    s: usize,
    state: &mut SerialState,
    out: &mut [f32],
    first: &mut Option<InterpTrigger>,
) -> f64 {
    let mut terms = crate::kernel::OmegaTerms::default();
    let (v, trig) = crate::kernel::exact::pixel(prep, f, s, state, None, Some(&mut terms));
    out[f] = v;
    if first.is_none() {
        *first = trig;
    }
    terms.total()
}

/// One sub-pixel of a vector: the lanes' offsets from the vector's reference direction, and
/// their directions (f32).
#[derive(Clone, Copy)]
struct Sub {
    dd: [F32; 3],
    d: [F32; 3],
    /// |P| − |p_ref| (m).
    dr: F32,
}

/// Per-thread buffers of [`render_vec_fast`]: full sub-pixel geometry and radial quantities.
#[derive(Default)]
struct Scratch {
    subs: Vec<Sub>,
    geos: Vec<Geo>,
    /// f64 lane offsets of every sub-pixel (wide path).
    dds: Vec<[DL; 3]>,
    /// The steps' reference indices (projected-shift paths).
    refs: Refs,
}

thread_local! {
    static SCRATCH: std::cell::RefCell<Scratch> = std::cell::RefCell::new(Scratch::default());
}

/// A sub-pixel's radial quantities for the projected-shift path: 1/|P| and |P| − |p|.
#[derive(Clone, Copy)]
struct Geo {
    inv: F32,
    dr: F32,
}

/// The reference point of a vector (lane 0, first sub-pixel): position, distance and unit
/// direction, in f64.
#[derive(Clone, Copy)]
struct Frame {
    p: V3,
    r2: f64,
    r: f64,
    d: V3,
}

impl Frame {
    fn new(p: V3) -> Frame {
        let r2 = p[0] * p[0] + p[1] * p[1] + p[2] * p[2];
        let r = r2.sqrt();
        let inv = 1.0 / r;
        Frame {
            p,
            r2,
            r,
            d: [p[0] * inv, p[1] * inv, p[2] * inv],
        }
    }

    /// The frame's constants as f32 vectors, made once for all sub-pixels of a vector.
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn splats(&self) -> Splats {
        Splats {
            two_p: per_axis!(|k| splat((2.0 * self.p[k]) as f32)),
            r2: splat(self.r2 as f32),
            r: splat(self.r as f32),
            d: per_axis!(|k| splat(self.d[k] as f32)),
        }
    }

    /// As [`Splats::lanes`] in f64: the offsets Δd only.
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn lanes64(&self, dp: &[DL; 3]) -> [DL; 3] {
        let mut u = DL::splat(0.0);
        for k in 0..3 {
            u = dp[k].mul_add(dp[k] + DL::splat(2.0 * self.p[k]), u);
        }
        let r = (DL::splat(self.r2) + u).sqrt();
        let dr = u / (r + DL::splat(self.r));
        per_axis!(|k| (dp[k] - DL::splat(self.d[k]) * dr) / r)
    }

}

/// A [`Frame`]'s position (doubled), squared distance, distance and unit direction as f32
/// vectors.
#[derive(Clone, Copy)]
struct Splats {
    two_p: [F32; 3],
    r2: F32,
    r: F32,
    d: [F32; 3],
}

impl Splats {
    /// |P|² − |p|² = ΔP·(2p + ΔP) for positions P = p + ΔP, without cancellation.
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn r2_change(&self, dp: &[F32; 3]) -> F32 {
        let mut u = F32::ZERO;
        for k in 0..3 {
            u = dp[k].mul_add(dp[k] + self.two_p[k], u);
        }
        u
    }

    /// 1/|P| and Δr = |P| − |p| for positions P = p + ΔP, without cancellation.
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn radial(&self, dp: &[F32; 3]) -> Geo {
        let u = self.r2_change(dp);
        let r = (self.r2 + u).sqrt();
        // one division for both 1/r and 1/(r + r0)
        let sum = r + self.r;
        let w = F32::ONE / (r * sum);
        Geo {
            inv: w * sum,
            dr: u * (w * r),
        }
    }

    /// Directions of positions P = p + ΔP (ΔP small, f32 lanes) as offsets Δd from `d`, without
    /// cancellation: |P|² − |p|² = ΔP·(2p + ΔP), Δd = (ΔP − d·(|P| − |p|))/|P|.
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn lanes(&self, dp: &[F32; 3]) -> Sub {
        let u = self.r2_change(dp);
        let r = (self.r2 + u).sqrt();
        let inv = F32::ONE / r;
        let dr = u / (r + self.r);
        let dd: [F32; 3] = per_axis!(|k| (dp[k] - self.d[k] * dr) * inv);
        let d: [F32; 3] = per_axis!(|k| dd[k] + self.d[k]);
        Sub { dd, d, dr }
    }

    /// [`Splats::radial`] of every shift, in `geos` (sized once per thread and run, then
    /// overwritten: no per-vector pushes).
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn radial_all<'a>(&self, shifts: &[[F32; 3]], geos: &'a mut Vec<Geo>) -> &'a [Geo] {
        let zero = Geo {
            inv: F32::ZERO,
            dr: F32::ZERO,
        };
        geos.resize(shifts.len(), zero);
        for (g, dp) in geos.iter_mut().zip(shifts) {
            *g = self.radial(dp);
        }
        geos
    }
}

/// Lanes of `todo` whose scattering vector passes the resolution cut for source `src`.
#[cfg_attr(not(debug_assertions), inline(always))]
fn live_lanes(plan: &RenderPlan, src: &SourceC, d: &[F32; 3], todo: Bits) -> Bits {
    if plan.dmin <= 0.0 {
        return todo;
    }
    let mut q2 = F32::ZERO;
    for k in 0..3 {
        let q = d[k] + splat(src.dir[k]);
        q2 = q.mul_add(q, q2);
    }
    let stol = splat(0.5 * src.inv_lambda) * q2.sqrt();
    let cut =
        bits(stol.simd_gt(F32::ZERO)) & bits(splat(plan.dmin as f32).simd_gt(splat(0.5) / stol));
    todo & !cut
}

/// F_latt² for one step from the lanes' index offsets `x`.
#[cfg_attr(not(debug_assertions), inline(always))]
fn latt2_of(plan: &RenderPlan, t: &Tables, x: &[F32; 3]) -> F32 {
    if plan.shape == Shape::Square {
        let mut num = F32::ONE;
        let mut den = F32::ONE;
        for &(k, n) in &t.axes {
            let (a, b) = grating(x[k], n);
            num *= a;
            den *= b;
        }
        let q = num / den;
        q * q
    } else {
        shape_latt2(plan, x, t.gauss_kappa).0
    }
}

/// The vector renderer for the common case (no -oversample_* flags, no pending φ or
/// interpolation state change): geometry of every sub-pixel first, then each (source, φ,
/// domain) step over all sub-pixels, whose terms are independent.
fn render_vec_fast(
    plan: &RenderPlan,
    t: &Tables,
    s: usize,
    f0: usize,
    todo: Bits,
    entry: Lanes,
    scratch: &mut Scratch,
) -> VecOut {
    let Scratch {
        subs,
        geos,
        dds,
        refs,
    } = scratch;
    if t.proj_flat {
        return render_vec_proj(plan, t, s, f0, todo, entry, geos, refs);
    }
    let os = plan.oversample;
    let grid = plan.hkl.as_ref().filter(|g| g.hkls != 0);
    subs.clear();
    // one reference direction per vector (lane 0, first sub-pixel); every sub-pixel of every
    // lane is a small offset from it
    let corner = vector_corner(plan, s, f0);
    let off0 = t.sub_offsets[0];
    let first: V3 = per_axis!(|k| corner[k] + off0[k]);
    let frame = if plan.curved {
        Frame::new(curve(plan, &first, plan.pixel_size).0)
    } else {
        Frame::new(first)
    };
    let per_layer = (os * os) as usize;
    let mut omega = DL::splat(0.0);
    let mut capture = DL::splat(1.0);
    // projected shifts need no per-sub-pixel direction except for polarization, omega and
    // absorption (first sub-pixel of each layer) and the resolution cut (then not used)
    let use_proj = !t.proj.is_empty() && plan.dmin <= 0.0;
    let c = frame.splats();
    if use_proj {
        c.radial_all(&t.sub_shifts, geos);
    }
    let stride = match (use_proj, plan.thick != 0.0) {
        (false, _) => 1,
        (true, true) => per_layer,
        (true, false) => t.sub_offsets.len(),
    };
    for (i, off) in t.sub_offsets.iter().enumerate().step_by(stride) {
        let sub = if plan.curved {
            let flat: V3 = per_axis!(|k| corner[k] + off[k]);
            let (p0, dp) = curve(plan, &flat, plan.pixel_size);
            let shift: [F32; 3] =
                per_axis!(|k| dp[k] + splat((p0[k] - frame.p[k]) as f32));
            c.lanes(&shift)
        } else {
            c.lanes(&t.sub_shifts[i])
        };
        if i == 0 {
            omega = omega64(plan, DL::splat(frame.r) + DL::from_f32(sub.dr));
        }
        if i % per_layer == 0 && plan.thick != 0.0 {
            let layer = (i / per_layer) as f64;
            capture = capture64(
                plan,
                layer,
                dot64(&direction64(&frame.d, &sub.dd), &plan.odet),
            );
        }
        subs.push(sub);
    }
    let polar = first_polarization(plan, t, &frame, subs, todo);
    if t.wide {
        dds.clear();
        for (i, off) in t.sub_offsets.iter().enumerate() {
            let dp: [DL; 3] = if plan.curved {
                let flat: V3 = per_axis!(|k| corner[k] + off[k]);
                let (p0, dp) = curve64(plan, &flat, plan.pixel_size);
                per_axis!(|k| dp[k] + DL::splat(p0[k] - frame.p[k]))
            } else {
                t.sub_shifts64[i]
            };
            dds.push(frame.lanes64(&dp));
        }
    }
    // the scaled terms (see `Tables::unscale`)
    let mut scaled = DL::splat(0.0);
    let mut tiny = F32::ZERO;
    let f2_default = splat(t.f2_default);
    let dref = frame.d.map(f64x4::splat);
    // The steps of every source are one table, source after source; without a resolution cut
    // (whose live lanes depend on the source) they are summed as one run, so steps pair across
    // sources (with one step per source nothing would pair) and the per-run work is done once.
    let (groups, per_group) = if plan.dmin > 0.0 {
        (t.sources.len(), t.per_source)
    } else {
        (1, t.steps[1].len())
    };
    for si in 0..groups {
        let live: Vec<Bits> = if plan.dmin > 0.0 {
            subs.iter()
                .map(|sub| live_lanes(plan, &t.sources[si], &sub.d, todo))
                .collect()
        } else {
            Vec::new()
        };
        let steps = &t.steps[1][si * per_group..(si + 1) * per_group];
        if t.wide {
            let (sum, flagged) = sum_wide_any(&WideArgs {
                plan,
                t,
                grid,
                steps,
                dds: &dds[..],
                live: &live[..],
                dref,
            });
            scaled = scaled + sum;
            tiny |= flagged;
            continue;
        }
        if use_proj {
            let nsub = geos.len();
            let proj = &t.proj[si * per_group * nsub..(si + 1) * per_group * nsub];
            let args = (plan, t, steps, &subs[..], &[][..], f2_default, dref);
            scaled = scaled + sum_proj_any(args, grid, proj, geos, refs, &frame.d);
            continue;
        }
        let args = (plan, t, steps, &subs[..], &live[..], f2_default, dref);
        scaled = scaled
            + match (grid, plan.dmin > 0.0, t.sq3) {
                (None, false, true) => sum_steps::<false, false, true>(args, grid),
                (None, false, false) => sum_steps::<false, false, false>(args, grid),
                (None, true, true) => sum_steps::<false, true, true>(args, grid),
                (None, true, false) => sum_steps::<false, true, false>(args, grid),
                (Some(_), false, true) => sum_steps::<true, false, true>(args, grid),
                (Some(_), false, false) => sum_steps::<true, false, false>(args, grid),
                (Some(_), true, true) => sum_steps::<true, true, true>(args, grid),
                (Some(_), true, false) => sum_steps::<true, true, false>(args, grid),
            };
    }
    let redo = if t.range_check {
        small_lanes(plan, t, scaled, bits(tiny) & todo)
    } else {
        0
    };
    vec_out(plan, t, scaled, capture * polar * omega, omega, entry, redo)
}

/// The pixels' values from their scaled sums and factors (capture · polarization · solid
/// angle), as the reference scales them.
#[cfg_attr(not(debug_assertions), inline(always))]
fn vec_out(
    plan: &RenderPlan,
    t: &Tables,
    scaled: DL,
    factors: DL,
    omega: DL,
    entry: Lanes,
    redo: Bits,
) -> VecOut {
    let i_sum = DL::splat(plan.i_bg) + scaled * DL::splat(t.unscale);
    let v = DL::splat(plan.r_e_sqr * plan.fluence / plan.steps) * i_sum * factors;
    VecOut {
        value: v.narrow(),
        omega: omega * DL::splat(t.subpixels as f64),
        exit: entry,
        trigger: None,
        redo,
    }
}

/// Position of the corner of the vector's first pixel (fast index `f0`, row `s`), m.
#[cfg_attr(not(debug_assertions), inline(always))]
fn vector_corner(plan: &RenderPlan, s: usize, f0: usize) -> V3 {
    per_axis!(|k| {
        (f0 as f64 * plan.pixel_size) * plan.fdet[k]
            + (s as f64 * plan.pixel_size) * plan.sdet[k]
            + plan.pix0[k]
    })
}

/// Polarization of the first (sub-pixel, source) each lane of `todo` keeps after the
/// resolution cut (a pixel whose every term is cut keeps polar = 0, as in the reference); 1
/// with -nopolar.
#[cfg_attr(not(debug_assertions), inline(always))]
fn first_polarization(plan: &RenderPlan, t: &Tables, frame: &Frame, subs: &[Sub], todo: Bits) -> DL {
    if plan.nopolar {
        return DL::splat(1.0);
    }
    let mut polar = DL::splat(0.0);
    let mut pending = todo;
    for sub in subs {
        for src in &t.sources {
            let need = live_lanes(plan, src, &sub.d, pending);
            if need != 0 {
                let d64 = direction64(&frame.d, &sub.dd);
                polar = polar.blend(need, polarization64(plan.polarization, src, &d64));
                pending &= !need;
                if pending == 0 {
                    return polar;
                }
            }
        }
    }
    polar
}

/// [`sum_proj`] for the run's structure factors (grid or default_F) and lattice shape.
#[inline]
fn sum_proj_any(
    args: StepArgs,
    grid: Option<&crate::hkl::HklGrid>,
    proj: &[[F32; 3]],
    geos: &[Geo],
    refs: &mut Refs,
    d: &[f64; 3],
) -> DL {
    match (grid, args.1.sq3) {
        (None, true) => sum_proj::<false, true>(args, grid, proj, geos, refs, d),
        (None, false) => sum_proj::<false, false>(args, grid, proj, geos, refs, d),
        (Some(_), true) => sum_proj::<true, true>(args, grid, proj, geos, refs, d),
        (Some(_), false) => sum_proj::<true, false>(args, grid, proj, geos, refs, d),
    }
}

/// [`render_vec_fast`] on a flat detector without sensor thickness or resolution cut, with
/// projected shifts ([`Tables::proj_flat`]): the same quantities in the same order, without
/// the general case's loops and buffers.
#[inline]
#[allow(clippy::too_many_arguments)]
fn render_vec_proj(
    plan: &RenderPlan,
    t: &Tables,
    s: usize,
    f0: usize,
    todo: Bits,
    entry: Lanes,
    scratch: &mut Vec<Geo>,
    refs: &mut Refs,
) -> VecOut {
    let corner = vector_corner(plan, s, f0);
    let off0 = t.sub_offsets[0];
    let frame = Frame::new(per_axis!(|k| corner[k] + off0[k]));
    let c = frame.splats();
    let dp = &t.sub_shifts[0];
    let geo;
    let geos: &[Geo] = if t.sub_shifts.len() == 1 {
        geo = c.radial(dp);
        std::slice::from_ref(&geo)
    } else {
        c.radial_all(&t.sub_shifts, scratch)
    };
    let sub = c.lanes(dp);
    let omega = omega64(plan, DL::splat(frame.r) + DL::from_f32(sub.dr));
    let polar = first_polarization(plan, t, &frame, std::slice::from_ref(&sub), todo);
    let grid = plan.hkl.as_ref().filter(|g| g.hkls != 0);
    let steps = &t.steps[1][..];
    let dref = frame.d.map(f64x4::splat);
    let args = (plan, t, steps, std::slice::from_ref(&sub), &[][..], splat(t.f2_default), dref);
    // a single term without the accumulators; the dispatch is not folded into
    // `sum_proj_any`, which is not inlined then (a call per vector, 5 % of perf001's render)
    let scaled = if steps.len() == 1 && geos.len() == 1 {
        match (grid, t.sq3) {
            (None, true) => one_proj::<false, true>(&args, grid, &t.proj[0], &geos[0]),
            (None, false) => one_proj::<false, false>(&args, grid, &t.proj[0], &geos[0]),
            (Some(_), true) => one_proj::<true, true>(&args, grid, &t.proj[0], &geos[0]),
            (Some(_), false) => one_proj::<true, false>(&args, grid, &t.proj[0], &geos[0]),
        }
    } else {
        sum_proj_any(args, grid, &t.proj, geos, refs, &frame.d)
    };
    let redo = if t.range_check {
        small_lanes(plan, t, scaled, 0)
    } else {
        0
    };
    // (no capture fraction without sensor thickness: the general path's factor 1, exactly)
    vec_out(plan, t, scaled, polar * omega, omega, entry, redo)
}

type StepArgs<'a> = (
    &'a RenderPlan,
    &'a Tables,
    &'a [Step],
    &'a [Sub],
    &'a [Bits],
    F32,
    [f64x4; 3],
);

/// One (step, sub-pixel) term F²·F_latt² (masked by the sub-pixel's resolution cut).
#[cfg_attr(not(debug_assertions), inline(always))]
fn term<const GRID: bool, const DMIN: bool, const SQ3: bool, const GUARD: bool>(
    args: &StepArgs,
    grid: Option<&crate::hkl::HklGrid>,
    st: &Step,
    (fr, hi): &([f32; 3], [f64; 3]),
    sub: &Sub,
    i: usize,
) -> (F32, F32) {
    let x = [
        offset(st, fr, &sub.dd, 0),
        offset(st, fr, &sub.dd, 1),
        offset(st, fr, &sub.dd, 2),
    ];
    let (term, den) = term_x::<GRID, SQ3, GUARD>(args, grid, hi, &x);
    if DMIN {
        (term & mask32(args.4[i]), den)
    } else {
        (term, den)
    }
}

/// Smallest |denominator| of the fast gratings' F_latt that keeps its digits: all three
/// indices within ~1e-11 of an integer (as on the beam axis) fall below it.
const DEN_MIN: f32 = 1e-30;

/// F²·F_latt² from the lanes' indices x relative to the reference lane's nearest integers hi,
/// and |denominator| of the fast gratings (1 for other shapes). Unless `GUARD`, a denominator
/// below [`DEN_MIN`] is only reported (the caller renders the vector again with `GUARD`, which
/// uses the guarded gratings for such terms): no branch in the hot loop.
#[cfg_attr(not(debug_assertions), inline(always))]
fn term_x<const GRID: bool, const SQ3: bool, const GUARD: bool>(
    (plan, t, _, _, _, f2_default, _): &StepArgs,
    grid: Option<&crate::hkl::HklGrid>,
    hi: &[f64; 3],
    x: &[F32; 3],
) -> (F32, F32) {
    let rx = [
        x[0].round_ties_even(),
        x[1].round_ties_even(),
        x[2].round_ties_even(),
    ];
    // F first: where it is 0 on every lane (typically beyond the resolution of the HKL file,
    // with default_F 0) the term is exactly 0 whatever F_latt is, so the gratings are skipped
    let f2 = if GRID {
        let f = nearest(grid.expect("grid"), t, hi, &rx);
        if f.simd_eq(F32::ZERO).all() {
            return (F32::ZERO, F32::ONE);
        }
        f * f
    } else {
        *f2_default
    };
    let latt2 = if SQ3 {
        let n = [
            plan.n_cells[0] as f32,
            plan.n_cells[1] as f32,
            plan.n_cells[2] as f32,
        ];
        let dl = [x[0] - rx[0], x[1] - rx[1], x[2] - rx[2]];
        let (a0, b0) = grating_fast(dl[0], n[0]);
        let (a1, b1) = grating_fast(dl[1], n[1]);
        let (a2, b2) = grating_fast(dl[2], n[2]);
        let den = b0 * b1 * b2;
        let mut q = (a0 * a1 * a2) / den;
        let den = den.abs();
        // a denominator below the normal range loses its digits: the guarded gratings instead
        if GUARD && den.simd_lt(splat(DEN_MIN)).any() {
            let (a0, b0) = grating_delta(dl[0], n[0]);
            let (a1, b1) = grating_delta(dl[1], n[1]);
            let (a2, b2) = grating_delta(dl[2], n[2]);
            q = (a0 * a1 * a2) / (b0 * b1 * b2);
        }
        (q * q, if GUARD { F32::ONE } else { den })
    } else {
        (latt2_of(plan, t, x), F32::ONE)
    };
    (latt2.0 * f2, latt2.1)
}

/// Whether one of the fast gratings' denominators of a vector's sum `fast` fell below
/// [`DEN_MIN`]: then the sum is computed again with the guarded gratings. (A test, not a
/// function taking the re-sum as a closure: closures are not compiled for the enclosing
/// function's `#[target_feature]`s, see `x16rt`.)
#[cfg_attr(not(debug_assertions), inline(always))]
fn tiny_denominator(fast: &(DL, F32)) -> bool {
    fast.1.simd_lt(splat(DEN_MIN)).any()
}

/// As [`sum_steps`] (no resolution cut) with the lanes' index offsets from projected shifts:
/// x = frac(h_ref) + (A·ΔP − (A·d_ref)·Δr)/|P|.
// A function of its own (one per specialisation): inlined, the specialisations made
// `render_vec_fast` ~300 KB of code, which LLVM took minutes to compile.
#[inline(never)]
fn sum_proj<const GRID: bool, const SQ3: bool>(
    args: StepArgs,
    grid: Option<&crate::hkl::HklGrid>,
    proj: &[[F32; 3]],
    geos: &[Geo],
    refs: &mut Refs,
    d: &[f64; 3],
) -> DL {
    // (the projected paths sum every fresh step, the table `Refs::fill` reads)
    debug_assert_eq!(args.2.len(), args.1.steps[1].len());
    let fast = sum_proj_pass::<GRID, SQ3, false>(&args, grid, proj, geos, refs, d);
    if tiny_denominator(&fast) {
        sum_proj_pass::<GRID, SQ3, true>(&args, grid, proj, geos, refs, d).0
    } else {
        fast.0
    }
}

/// One pass of [`sum_proj`] over every step, with the guarded gratings (`GUARD`) or the
/// smallest |denominator| reported: the steps' reference indices for the reference direction
/// `d` a chunk at a time (see [`Refs`]). A chunk is a multiple of four steps, so the loops of
/// [`sum_proj_g`] group the steps of every chunk as they would group the whole run, and the
/// sums are the same bit for bit.
// (not forced inline: it calls `Refs::fill`, which has `x16rt`'s target features)
#[inline]
fn sum_proj_pass<const GRID: bool, const SQ3: bool, const GUARD: bool>(
    args: &StepArgs,
    grid: Option<&crate::hkl::HklGrid>,
    proj: &[[F32; 3]],
    geos: &[Geo],
    refs: &mut Refs,
    d: &[f64; 3],
) -> (DL, F32) {
    let steps = args.2.len();
    let mut sum = Sum::default();
    for j0 in (0..steps).step_by(Refs::CHUNK) {
        let end = (j0 + Refs::CHUNK).min(steps);
        refs.fill(&args.1.cols, d, GRID, j0..end);
        sum_proj_g::<GRID, SQ3, GUARD>(args, grid, proj, geos, refs, j0..end, &mut sum);
    }
    sum.total()
}

/// [`sum_proj`] for one step and one sub-pixel (one source, φ step and domain, no
/// oversampling): the same operations without the accumulators' bookkeeping.
#[cfg_attr(not(debug_assertions), inline(always))]
fn one_proj<const GRID: bool, const SQ3: bool>(
    args: &StepArgs,
    grid: Option<&crate::hkl::HklGrid>,
    p: &[F32; 3],
    g: &Geo,
) -> DL {
    let r = reference_c(&args.2[0], &args.6);
    let (term, den) = term_proj::<GRID, SQ3, false>(args, grid, &r, p, g);
    // as `Sum`: one term added to zeroed accumulators, its |denominator| to 1
    let term = if F32::ONE.fast_min(den).simd_lt(splat(DEN_MIN)).any() {
        term_proj::<GRID, SQ3, true>(args, grid, &r, p, g).0
    } else {
        term
    };
    DL::splat(0.0) + DL::from_f32((F32::ZERO + term) + F32::ZERO)
}

/// A sub-pixel's index offsets from its projected shift `p` (see [`sum_proj`]).
#[cfg_attr(not(debug_assertions), inline(always))]
fn proj_x(fr: &[f32; 3], c: &[f32; 3], p: &[F32; 3], g: &Geo) -> [F32; 3] {
    per_axis!(|k| {
        splat(-c[k])
            .mul_add(g.dr, p[k])
            .mul_add(g.inv, splat(fr[k]))
    })
}

/// A step's reference index as [`reference_c`] gives it: fraction (f32), integer part (f64)
/// and the step's A·d_ref (f32).
type ProjRef = ([f32; 3], [f64; 3], [f32; 3]);

/// One term of [`sum_proj`]: the sub-pixel's index offsets from its projected shift `p`, then
/// [`term_x`].
#[cfg_attr(not(debug_assertions), inline(always))]
fn term_proj<const GRID: bool, const SQ3: bool, const GUARD: bool>(
    args: &StepArgs,
    grid: Option<&crate::hkl::HklGrid>,
    (fr, hi, c): &ProjRef,
    p: &[F32; 3],
    g: &Geo,
) -> (F32, F32) {
    term_x::<GRID, SQ3, GUARD>(args, grid, hi, &proj_x(fr, c, p, g))
}

/// [`sum_proj`]'s terms of the steps `range` (whose reference indices `refs` holds, the
/// range's first step at 0) added to `sum`, with the guarded gratings (`GUARD`) or the
/// smallest |denominator| reported.
#[cfg_attr(not(debug_assertions), inline(always))]
fn sum_proj_g<const GRID: bool, const SQ3: bool, const GUARD: bool>(
    args: &StepArgs,
    grid: Option<&crate::hkl::HklGrid>,
    proj: &[[F32; 3]],
    geos: &[Geo],
    refs: &Refs,
    range: std::ops::Range<usize>,
    sum: &mut Sum,
) {
    let (j0, end) = (range.start, range.end);
    let nsub = geos.len();
    if nsub == 1 {
        let g = &geos[0];
        // with 32 vector registers (16 lanes) and default_F (no gathers), four steps' chains
        // in flight; the terms are added as two pairs, in the order of the two-step loop (the
        // same sums, bit for bit). perf_sources_256's one-thread render 68.7 -> 66.1 ms; with
        // a grid the mosaic case's was no faster (8.59 -> 8.66 ms).
        let mut j = j0;
        if LANES == 16 && !GRID {
            while j + 4 <= end {
                // (written out: closures are not compiled for `x16rt`'s target features)
                let (r0, r1) = (refs.get::<GRID>(j - j0), refs.get::<GRID>(j + 1 - j0));
                let (r2, r3) = (refs.get::<GRID>(j + 2 - j0), refs.get::<GRID>(j + 3 - j0));
                let t0 = term_proj::<GRID, SQ3, GUARD>(args, grid, &r0, &proj[j], g);
                let t1 = term_proj::<GRID, SQ3, GUARD>(args, grid, &r1, &proj[j + 1], g);
                let t2 = term_proj::<GRID, SQ3, GUARD>(args, grid, &r2, &proj[j + 2], g);
                let t3 = term_proj::<GRID, SQ3, GUARD>(args, grid, &r3, &proj[j + 3], g);
                sum.add2_den([t0, t1]);
                sum.add2_den([t2, t3]);
                j += 4;
            }
        }
        while j + 2 <= end {
            let (r0, r1) = (refs.get::<GRID>(j - j0), refs.get::<GRID>(j + 1 - j0));
            sum.add2_den([
                term_proj::<GRID, SQ3, GUARD>(args, grid, &r0, &proj[j], g),
                term_proj::<GRID, SQ3, GUARD>(args, grid, &r1, &proj[j + 1], g),
            ]);
            j += 2;
        }
        if j < end {
            let r = refs.get::<GRID>(j - j0);
            sum.add1_den(term_proj::<GRID, SQ3, GUARD>(args, grid, &r, &proj[j], g));
        }
    } else {
        for j in j0..end {
            let r = refs.get::<GRID>(j - j0);
            let p = &proj[j * nsub..(j + 1) * nsub];
            let mut i = 0;
            while i + 1 < nsub {
                let t0 = term_proj::<GRID, SQ3, GUARD>(args, grid, &r, &p[i], &geos[i]);
                let t1 = term_proj::<GRID, SQ3, GUARD>(args, grid, &r, &p[i + 1], &geos[i + 1]);
                sum.add2_den([t0, t1]);
                i += 2;
            }
            if i < nsub {
                sum.add1_den(term_proj::<GRID, SQ3, GUARD>(args, grid, &r, &p[i], &geos[i]));
            }
        }
    }
}

/// A pixel vector's running sum: two f32 accumulators (two independent chains; four measured
/// slower, their registers spill with sixteen vector registers), moved to f64 every 32 terms,
/// and the smallest |denominator| seen (see [`term_x`]).
struct Sum {
    acc: [F32; 2],
    pending: usize,
    total: DL,
    den: F32,
}

impl Default for Sum {
    fn default() -> Sum {
        Sum {
            acc: [F32::ZERO; 2],
            pending: 0,
            total: DL::splat(0.0),
            den: F32::ONE,
        }
    }
}

impl Sum {
    /// At most this many terms are in the f32 accumulators (see `Tables::unscale`): they are
    /// moved to f64 once `MAX_PENDING - 1` are, so adding two more cannot pass the bound.
    const MAX_PENDING: usize = 32;

    #[cfg_attr(not(debug_assertions), inline(always))]
    fn add2(&mut self, t: [F32; 2]) {
        self.acc[0] += t[0];
        self.acc[1] += t[1];
        self.pending += 2;
        if self.pending >= Self::MAX_PENDING - 1 {
            self.flush();
        }
    }

    #[cfg_attr(not(debug_assertions), inline(always))]
    fn add1(&mut self, t: F32) {
        self.acc[0] += t;
        self.pending += 1;
        if self.pending >= Self::MAX_PENDING - 1 {
            self.flush();
        }
    }

    /// [`Sum::add2`] for terms with their |denominators| (see [`term_x`]).
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn add2_den(&mut self, t: [(F32, F32); 2]) {
        self.add2([t[0].0, t[1].0]);
        self.den = self.den.fast_min(t[0].1).fast_min(t[1].1);
    }

    /// [`Sum::add1`] for a term with its |denominator|.
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn add1_den(&mut self, t: (F32, F32)) {
        self.add1(t.0);
        self.den = self.den.fast_min(t.1);
    }

    #[cfg_attr(not(debug_assertions), inline(always))]
    fn flush(&mut self) {
        self.total = self.total + DL::from_f32(self.acc[0] + self.acc[1]);
        self.acc = [F32::ZERO; 2];
        self.pending = 0;
    }

    /// The sum in f64 and the smallest |denominator|.
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn total(mut self) -> (DL, F32) {
        self.flush();
        (self.total, self.den)
    }
}

/// Σ over steps and sub-pixels of F²·F_latt², specialised for a structure-factor grid (`GRID`),
/// a resolution cut (`DMIN`) and the parallelepiped with N > 1 on all axes (`SQ3`). Two
/// independent terms are evaluated per iteration (two sub-pixels, or two steps when there is
/// one sub-pixel) so their long dependency chains overlap. Terms are summed in f32 and moved
/// to f64 every few dozen.
// not inlined: see `sum_proj`
#[inline(never)]
fn sum_steps<const GRID: bool, const DMIN: bool, const SQ3: bool>(
    args: StepArgs,
    grid: Option<&crate::hkl::HklGrid>,
) -> DL {
    let fast = sum_steps_g::<GRID, DMIN, SQ3, false>(args, grid);
    if tiny_denominator(&fast) {
        sum_steps_g::<GRID, DMIN, SQ3, true>(args, grid).0
    } else {
        fast.0
    }
}

/// [`sum_steps`] with the guarded gratings (`GUARD`) or the smallest |denominator| reported.
#[cfg_attr(not(debug_assertions), inline(always))]
fn sum_steps_g<const GRID: bool, const DMIN: bool, const SQ3: bool, const GUARD: bool>(
    args: StepArgs,
    grid: Option<&crate::hkl::HklGrid>,
) -> (DL, F32) {
    let (_, _, steps, subs, _, _, dref) = args;
    let mut sum = Sum::default();
    if subs.len() == 1 {
        let sub = &subs[0];
        let mut pairs = steps.chunks_exact(2);
        for pair in pairs.by_ref() {
            let (r0, r1) = (reference(&pair[0], &dref), reference(&pair[1], &dref));
            sum.add2_den([
                term::<GRID, DMIN, SQ3, GUARD>(&args, grid, &pair[0], &r0, sub, 0),
                term::<GRID, DMIN, SQ3, GUARD>(&args, grid, &pair[1], &r1, sub, 0),
            ]);
        }
        for st in pairs.remainder() {
            sum.add1_den(term::<GRID, DMIN, SQ3, GUARD>(&args, grid, st, &reference(st, &dref), sub, 0));
        }
    } else {
        for st in steps {
            let r = reference(st, &dref);
            let mut i = 0;
            while i + 1 < subs.len() {
                let t0 = term::<GRID, DMIN, SQ3, GUARD>(&args, grid, st, &r, &subs[i], i);
                let t1 = term::<GRID, DMIN, SQ3, GUARD>(&args, grid, st, &r, &subs[i + 1], i + 1);
                sum.add2_den([t0, t1]);
                i += 2;
            }
            if i < subs.len() {
                sum.add1_den(term::<GRID, DMIN, SQ3, GUARD>(&args, grid, st, &r, &subs[i], i));
            }
        }
    }
    sum.total()
}

/// Render lanes `todo` of the vector starting at fast index `f0` in row `s`: the general
/// renderer (φ orientation or interpolation state changing inside the vector, -oversample_*
/// flags). Lane indices are computed in double precision.
#[allow(clippy::too_many_lines)]
fn render_vec(
    plan: &RenderPlan,
    t: &Tables,
    s: usize,
    f0: usize,
    todo: Bits,
    entry: Lanes,
) -> VecOut {
    let os = plan.oversample;
    let subpixel = plan.pixel_size / os as f64;
    let os_polar = plan.oversample_polar && !(plan.fix.nopolar_wins && plan.nopolar);
    let flags = plan.oversample_thick || os_polar || plan.oversample_omega;
    let grid = plan.hkl.as_ref().filter(|g| g.hkls != 0);
    let water = plan.water_size != 0.0;

    // lane offsets along the fast axis (flat detector): l·os·subpixel·fdet
    let lane_step = os as f64 * subpixel;
    let lane_off = DL::from_array(std::array::from_fn(|l| l as f64 * lane_step));
    let flat_dp: [DL; 3] = per_axis!(|k| lane_off * DL::splat(plan.fdet[k]));

    let mut i_sum = DL::splat(plan.i_bg);
    // the scaled terms (see `Tables::unscale`), moved from f32 every few dozen
    let mut scaled = DL::splat(0.0);
    let mut tiny = F32::ZERO;
    let mut polar = F32::splat(if plan.nopolar { 1.0 } else { 0.0 });
    let mut omega = F32::ZERO;
    let mut capture: F32;
    let mut omega_set = false;
    let mut omega_acc = DL::splat(0.0);
    // the factors applied at the end, in f64 (see `omega64`)
    let mut omega64 = DL::splat(0.0);
    let mut capture64 = DL::splat(0.0);
    let mut polar64 = DL::splat(if plan.nopolar { 1.0 } else { 0.0 });
    let mut lanes = entry;
    let mut trigger: [Option<([f64; 3], [i32; 3])>; LANES] = [None; LANES];
    let unscale = DL::splat(t.unscale);

    for layer in 0..plan.thicksteps {
        let odet_pos = layer as f64 * plan.thickstep;
        capture = splat(if plan.thick == 0.0 { 1.0 } else { 0.0 });
        capture64 = DL::splat(if plan.thick == 0.0 { 1.0 } else { 0.0 });
        let mut capture_set = plan.thick == 0.0;
        for subs in 0..os {
            let sdet_pos = plan.sub_position(s, subs);
            for subf in 0..os {
                // lane 0 in f64, the other lanes as offsets from it
                let fdet_pos = plan.sub_position(f0, subf);
                let mut pref = [0.0; 3];
                for (k, p) in pref.iter_mut().enumerate() {
                    *p = fdet_pos * plan.fdet[k]
                        + sdet_pos * plan.sdet[k]
                        + odet_pos * plan.odet[k]
                        + plan.pix0[k];
                }
                let dp64 = if plan.curved {
                    let (pr, dp) = curve64(plan, &pref, lane_step);
                    pref = pr;
                    dp
                } else {
                    flat_dp
                };
                let frame = Frame::new(pref);
                let dd64 = frame.lanes64(&dp64);
                let dp: [F32; 3] = per_axis!(|k| dp64[k].narrow());
                let Sub { dd, d, dr } = frame.splats().lanes(&dp);
                let (rref, dref) = (frame.r, frame.d);
                let dref4 = dref.map(f64x4::splat);

                if !omega_set || plan.oversample_omega {
                    let r = splat(rref as f32) + dr;
                    omega = if plan.point_pixel {
                        F32::ONE / (r * r)
                    } else {
                        splat((plan.pixel_size * plan.pixel_size * plan.close_distance) as f32)
                            / (r * r * r)
                    };
                    omega64 = self::omega64(plan, DL::splat(rref) + DL::from_f32(dr));
                    omega_set = true;
                }
                omega_acc = omega_acc + omega64;
                if !capture_set || plan.oversample_thick {
                    capture = capture_fraction(plan, layer as f64, dot8(&d, &f32s(&plan.odet)));
                    capture64 = self::capture64(
                        plan,
                        layer as f64,
                        dot64(&direction64(&dref, &dd), &plan.odet),
                    );
                    capture_set = true;
                }
                for (si, src) in t.sources.iter().enumerate() {
                    let live = live_lanes(plan, src, &d, todo);
                    if live == 0 {
                        continue;
                    }
                    let need = if os_polar {
                        live
                    } else {
                        live & bits(polar.simd_eq(F32::ZERO))
                    };
                    if need != 0 {
                        polar = mask32(need)
                            .select(polarization(plan.polarization as f32, src, &d), polar);
                        polar64 = polar64.blend(
                            need,
                            polarization64(plan.polarization, src, &direction64(&dref, &dd)),
                        );
                    }
                    let range = si * t.per_source..(si + 1) * t.per_source;
                    let stale_steps = &t.steps[1][range.clone()];
                    let fresh_steps = &t.steps[0][range];
                    let fresh = live & !lanes.stale;
                    let mut acc = F32::ZERO;
                    let mut pending = 0;
                    for (pm, st) in stale_steps.iter().enumerate() {
                        let (mut latt2, mut zero, mut hkl) = step_wide(plan, t, st, &dref4, &dd64);
                        if fresh != 0 {
                            let (l2f, zf, hklf) =
                                step_wide(plan, t, &fresh_steps[pm], &dref4, &dd64);
                            let m = mask32(fresh);
                            latt2 = m.select(l2f, latt2);
                            zero = m.select(zf, zero);
                            for k in 0..3 {
                                hkl[k] = hkl[k].blend(fresh, hklf[k]);
                            }
                        }
                        let mut contrib = live;
                        if !water {
                            contrib &= !bits(zero);
                        }
                        if contrib == 0 {
                            continue;
                        }
                        let f = match grid {
                            None => splat(t.f_default),
                            Some(g) => structure_factor(
                                plan,
                                g,
                                t,
                                &hkl,
                                contrib,
                                &mut lanes,
                                &mut trigger,
                            ),
                        };
                        let term = latt2 * f * f;
                        let cm = mask32(contrib);
                        if t.range_check {
                            tiny |= term.simd_lt(splat(TINY)) & f.simd_ne(F32::ZERO) & !zero & cm;
                        }
                        if flags {
                            let mut m = F32::ONE;
                            if plan.oversample_thick {
                                m *= capture;
                            }
                            if os_polar {
                                m *= polar;
                            }
                            if plan.oversample_omega {
                                m *= omega;
                            }
                            let upd = (i_sum + DL::from_f32(term) * unscale) * DL::from_f32(m);
                            i_sum = i_sum.blend(contrib, upd);
                        } else {
                            acc += term & cm;
                            pending += 1;
                            if pending == 32 {
                                scaled = scaled + DL::from_f32(acc);
                                acc = F32::ZERO;
                                pending = 0;
                            }
                        }
                    }
                    scaled = scaled + DL::from_f32(acc);
                    lanes.stale |= live;
                }
            }
        }
    }
    let redo = if t.range_check && !flags {
        small_lanes(plan, t, scaled, bits(tiny) & todo)
    } else {
        0
    };
    let i_sum = i_sum + scaled * unscale;
    let mut fin = DL::splat(1.0);
    if !plan.oversample_thick {
        fin = fin * capture64;
    }
    if !os_polar {
        fin = fin * polar64;
    }
    if !plan.oversample_omega {
        fin = fin * omega64;
    }
    let v = DL::splat(plan.r_e_sqr * plan.fluence / plan.steps) * i_sum * fin;
    VecOut {
        value: v.narrow(),
        omega: omega_acc,
        exit: lanes,
        trigger: trigger
            .iter()
            .enumerate()
            .find_map(|(l, t)| t.map(|(h, h0)| (l, h, h0))),
        redo,
    }
}

#[cfg_attr(not(debug_assertions), inline(always))]
fn dot8(d: &[F32; 3], v: &[f32; 3]) -> F32 {
    d[0].mul_add(splat(v[0]), d[1].mul_add(splat(v[1]), d[2] * splat(v[2])))
}

/// Curved detector: lane 0's position and the lanes' offsets from it (f64). Each lane is the
/// beam-axis point at `distance` rotated about sdet and fdet by its flat position's lab y and z
/// over the distance (in double).
fn curve64(plan: &RenderPlan, pref_flat: &V3, lane_step: f64) -> (V3, [DL; 3]) {
    let v = [
        plan.distance * plan.beam[0],
        plan.distance * plan.beam[1],
        plan.distance * plan.beam[2],
    ];
    let at = |l: usize| {
        let flat: V3 = per_axis!(|k| pref_flat[k] + l as f64 * lane_step * plan.fdet[k]);
        let nv = rotate_axis(&v, &plan.sdet, flat[1] / plan.distance);
        rotate_axis(&nv, &plan.fdet, flat[2] / plan.distance)
    };
    let p0 = at(0);
    let mut dp = [[0f64; LANES]; 3];
    for l in 1..LANES {
        let p = at(l);
        for k in 0..3 {
            dp[k][l] = p[k] - p0[k];
        }
    }
    (p0, per_axis!(|k| DL::from_array(dp[k])))
}

/// As [`curve64`], the offsets in f32.
fn curve(plan: &RenderPlan, pref_flat: &V3, lane_step: f64) -> (V3, [F32; 3]) {
    let (p0, dp) = curve64(plan, pref_flat, lane_step);
    (p0, per_axis!(|k| dp[k].narrow()))
}

/// The reference lane's indices for one step in f64: fractions (in [−½, ½]) and nearest
/// integers, for h, k, l.
#[cfg_attr(not(debug_assertions), inline(always))]
fn reference(st: &Step, dref: &[f64x4; 3]) -> ([f32; 3], [f64; 3]) {
    let h = st.cols[0].mul_add(
        dref[0],
        st.cols[1].mul_add(dref[1], st.cols[2].mul_add(dref[2], st.off)),
    );
    let hi = h.round_ties_even();
    let fr = (h - hi).to_array();
    let hi = hi.to_array();
    (
        [fr[0] as f32, fr[1] as f32, fr[2] as f32],
        [hi[0], hi[1], hi[2]],
    )
}

/// As [`reference`], also returning A·d_ref (the index without the source term), in f32.
#[cfg_attr(not(debug_assertions), inline(always))]
fn reference_c(st: &Step, dref: &[f64x4; 3]) -> ProjRef {
    let c = st.cols[0].mul_add(dref[0], st.cols[1].mul_add(dref[1], st.cols[2] * dref[2]));
    let h = c + st.off;
    let hi = h.round_ties_even();
    let (fr, hi, c) = ((h - hi).to_array(), hi.to_array(), c.to_array());
    (
        [fr[0] as f32, fr[1] as f32, fr[2] as f32],
        [hi[0], hi[1], hi[2]],
        [c[0] as f32, c[1] as f32, c[2] as f32],
    )
}

/// The fresh steps' coefficients by component, for [`Refs::fill`]: `a[m][k][j]` is lane k of
/// step j's column m (`Step::cols`), `off[k][j]` lane k of its A·s; zero-padded to a multiple
/// of `LANES` steps.
#[derive(Default)]
struct StepCols {
    a: [[Vec<f64>; 3]; 3],
    off: [Vec<f64>; 3],
}

impl StepCols {
    fn new(steps: &[Step]) -> StepCols {
        let n = steps.len().next_multiple_of(LANES);
        let lane = |v: &f64x4, k: usize| v.to_array()[k];
        let mut c = StepCols::default();
        for k in 0..3 {
            c.off[k] = (0..n).map(|j| steps.get(j).map_or(0.0, |st| lane(&st.off, k))).collect();
            for m in 0..3 {
                c.a[m][k] = (0..n)
                    .map(|j| steps.get(j).map_or(0.0, |st| lane(&st.cols[m], k)))
                    .collect();
            }
        }
        c
    }
}

/// One vector's reference indices of a chunk of fresh steps, as [`reference_c`] gives them
/// (the same operations in the same order, on `LANES` steps at a time instead of one step's
/// three axes): per axis k, `fr[k][j]`, `hi[k][j]` and `c[k][j]` for the chunk's step j.
/// Filled once per vector and chunk, so the step loops read broadcasts instead of forming them
/// between their terms (perf_sources_256's one-thread run 64.7 -> 57.9 ms, the mosaic case's
/// 12.2 -> 11.4 ms).
#[derive(Default)]
struct Refs {
    fr: [Vec<f32>; 3],
    hi: [Vec<f64>; 3],
    c: [Vec<f32>; 3],
}

impl Refs {
    /// Steps whose reference indices are held at once (a multiple of `LANES` and of four):
    /// 12 KiB a thread, however many steps a run has.
    const CHUNK: usize = 256;

    /// The reference indices of `steps` (at most [`Refs::CHUNK`], from a multiple of it) for
    /// the reference direction `d` (unit, f64); the integer parts only when `with_hi`
    /// (structure-factor lookups).
    fn fill(&mut self, cols: &StepCols, d: &[f64; 3], with_hi: bool, steps: std::ops::Range<usize>) {
        debug_assert!(steps.start.is_multiple_of(Self::CHUNK) && steps.len() <= Self::CHUNK);
        // (the tables are padded to whole vectors of steps)
        let (j0, n) = (steps.start, steps.len().next_multiple_of(LANES));
        let dref = d.map(F64H::splat);
        for k in 0..3 {
            let (fr, hi, c) = (&mut self.fr[k], &mut self.hi[k], &mut self.c[k]);
            fr.resize(n, 0.0);
            c.resize(n, 0.0);
            hi.resize(if with_hi { n } else { 0 }, 0.0);
            let part = j0..j0 + n;
            let ins = cols.a[0][k][part.clone()]
                .chunks_exact(LANES)
                .zip(cols.a[1][k][part.clone()].chunks_exact(LANES))
                .zip(cols.a[2][k][part.clone()].chunks_exact(LANES))
                .zip(cols.off[k][part].chunks_exact(LANES));
            let outs = fr.chunks_exact_mut(LANES).zip(c.chunks_exact_mut(LANES));
            for (i, ((((a0, a1), a2), off), (fr, c))) in ins.zip(outs).enumerate() {
                let mut h = [F64H::splat(0.0); 2];
                let mut hk = [F64H::splat(0.0); 2];
                let mut ck = [F64H::splat(0.0); 2];
                for half in 0..2 {
                    let at = half * HALF;
                    let (b0, b1, b2) = (half64(a0, at), half64(a1, at), half64(a2, at));
                    ck[half] = b0.mul_add(dref[0], b1.mul_add(dref[1], b2 * dref[2]));
                    h[half] = ck[half] + half64(off, at);
                    hk[half] = h[half].round_ties_even();
                }
                fr.copy_from_slice(&narrow_halves(h[0] - hk[0], h[1] - hk[1]).to_array());
                c.copy_from_slice(&narrow_halves(ck[0], ck[1]).to_array());
                if with_hi {
                    let j = i * LANES;
                    hi[j..j + HALF].copy_from_slice(&hk[0].to_array());
                    hi[j + HALF..j + LANES].copy_from_slice(&hk[1].to_array());
                }
            }
        }
    }

    /// The reference index of the chunk's step j (see [`reference_c`]); the integer parts
    /// (filled only for lookups) when `GRID`, else 0.
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn get<const GRID: bool>(&self, j: usize) -> ProjRef {
        (
            per_axis!(|k| self.fr[k][j]),
            if GRID {
                per_axis!(|k| self.hi[k][j])
            } else {
                [0.0; 3]
            },
            per_axis!(|k| self.c[k][j]),
        )
    }
}

/// `v[at..at + HALF]` as f64 lanes.
#[cfg_attr(not(debug_assertions), inline(always))]
fn half64(v: &[f64], at: usize) -> F64H {
    F64H::from(<[f64; HALF]>::try_from(&v[at..at + HALF]).expect("HALF lanes"))
}

/// As [`reference`], the fractions in f64.
#[cfg_attr(not(debug_assertions), inline(always))]
fn reference64(st: &Step, dref: &[f64x4; 3]) -> ([f64; 3], [f64; 3]) {
    let h = st.cols[0].mul_add(
        dref[0],
        st.cols[1].mul_add(dref[1], st.cols[2].mul_add(dref[2], st.off)),
    );
    let hi = h.round_ties_even();
    let (fr, hi) = ((h - hi).to_array(), hi.to_array());
    ([fr[0], fr[1], fr[2]], [hi[0], hi[1], hi[2]])
}

/// The rows of a step's A (a/λ, b/λ, c/λ) in f64.
#[cfg_attr(not(debug_assertions), inline(always))]
fn rows64(st: &Step) -> [[f64; 3]; 3] {
    let c = st.cols.map(|v| v.to_array());
    per_axis!(|k| [c[0][k], c[1][k], c[2][k]])
}

/// A lane's index along axis `k` relative to the reference lane's nearest integer, in f64:
/// frac(h_ref) + A·Δd.
#[cfg_attr(not(debug_assertions), inline(always))]
fn index64(fr: &[f64; 3], rows: &[[f64; 3]; 3], dd: &[DL; 3], k: usize) -> DL {
    let a = &rows[k];
    dd[0].mul_add(
        DL::splat(a[0]),
        dd[1].mul_add(
            DL::splat(a[1]),
            dd[2].mul_add(DL::splat(a[2]), DL::splat(fr[k])),
        ),
    )
}

/// sin(Nπx)/sin(πx) up to sign as (numerator, denominator) from an f64 index offset `x` and
/// its nearest integer `rx`: δ = |x − rx| and the reduced argument r = Nδ − round(Nδ) are
/// formed in f64, so the error of r does not grow with N; the sines are f32 polynomials. |δ|
/// is kept at least 1e-12 (where the ratio is N to 1e-12 for N ≤ 10⁶), so a product of three
/// denominators stays a normal f32.
#[cfg_attr(not(debug_assertions), inline(always))]
fn grating_wide(x: DL, rx: DL, n: f64) -> (F32, F32) {
    grating_wide_raw((x - rx).abs().fast_max(DL::splat(1e-12)), n)
}

/// As [`grating_wide`] from δ = x − round(x) without the guard (the ratio is even in δ).
#[cfg_attr(not(debug_assertions), inline(always))]
fn grating_wide_raw(d: DL, n: f64) -> (F32, F32) {
    let y = d * DL::splat(n);
    let r = y - y.round_ties_even();
    (sinpi7(r.narrow()), sinpi7(d.narrow()))
}

/// Spot shapes of the wide path.
const SQ3: u8 = 0;
const SQUARE: u8 = 1;
const ROUND: u8 = 2;
const GAUSS: u8 = 3;

#[cfg_attr(not(debug_assertions), inline(always))]
fn shape_kind(plan: &RenderPlan, t: &Tables) -> u8 {
    match plan.shape {
        Shape::Square if t.axes.len() == 3 => SQ3,
        Shape::Round => ROUND,
        Shape::Gauss => GAUSS,
        _ => SQUARE,
    }
}

/// F_latt² (GAUSS scaled, see [`gauss_latt2`]) and the lanes where the reference's F_latt is
/// exactly 0, from f64 index offsets `x` and their nearest integers `rx`.
#[cfg_attr(not(debug_assertions), inline(always))]
fn latt_wide<const SHAPE: u8>(
    plan: &RenderPlan,
    t: &Tables,
    x: &[DL; 3],
    rx: &[DL; 3],
) -> (F32, F32) {
    let n = plan.n_cells;
    match SHAPE {
        SQ3 => {
            let (a0, b0) = grating_wide_raw(x[0] - rx[0], n[0]);
            let (a1, b1) = grating_wide_raw(x[1] - rx[1], n[1]);
            let (a2, b2) = grating_wide_raw(x[2] - rx[2], n[2]);
            let den = b0 * b1 * b2;
            let mut q = (a0 * a1 * a2) / den;
            // all three indices within ~1e-11 of integers: the guarded gratings (see
            // `term_x`)
            if den.abs().simd_lt(splat(1e-30)).any() {
                let (a0, b0) = grating_wide(x[0], rx[0], n[0]);
                let (a1, b1) = grating_wide(x[1], rx[1], n[1]);
                let (a2, b2) = grating_wide(x[2], rx[2], n[2]);
                q = (a0 * a1 * a2) / (b0 * b1 * b2);
            }
            (q * q, F32::ZERO)
        }
        SQUARE => {
            let mut num = F32::ONE;
            let mut den = F32::ONE;
            for &(k, _) in &t.axes {
                let (a, b) = grating_wide(x[k], rx[k], n[k]);
                num *= a;
                den *= b;
            }
            let q = num / den;
            (q * q, F32::ZERO)
        }
        ROUND => {
            // u = √(Σ(N·δ)²·fudge) and its reduction u − round(u) in f64
            let mut h2 = DL::splat(0.0);
            for k in 0..3 {
                let y = (x[k] - rx[k]) * DL::splat(n[k]);
                h2 = y.mul_add(y, h2);
            }
            let u = (h2 * DL::splat(plan.fudge)).sqrt();
            let m = u.round_ties_even();
            let r = u - m;
            let parity = m - (m * DL::splat(0.5)).floor() * DL::splat(2.0);
            let sign = DL::splat(1.0) - parity - parity;
            let nabc = (n[0] * n[1] * n[2]) as f32;
            let v = splat(nabc * 0.723_601_2) * sinc3_parts(u.narrow(), r.narrow(), sign.narrow());
            (v * v, F32::ZERO)
        }
        _ => {
            let dl: [DL; 3] = per_axis!(|k| x[k] - rx[k]);
            let rc = &plan.recip;
            let mut rs = DL::splat(0.0);
            for c in 0..3 {
                let comp = dl[0].mul_add(
                    DL::splat(rc[0][c]),
                    dl[1].mul_add(DL::splat(rc[1][c]), dl[2] * DL::splat(rc[2][c])),
                );
                rs = comp.mul_add(comp, rs);
            }
            let f = n[0] * n[0] * n[1] * n[1] * n[2] * n[2] / 0.63 * plan.fudge;
            gauss_latt2((rs * DL::splat(f)).narrow(), t.gauss_kappa)
        }
    }
}

/// One step of the general renderer with f64 lane indices: F_latt², the lanes where the
/// reference's F_latt is 0, and the lanes' absolute fractional indices (f64).
#[cfg_attr(not(debug_assertions), inline(always))]
fn step_wide(
    plan: &RenderPlan,
    t: &Tables,
    st: &Step,
    dref: &[f64x4; 3],
    dd: &[DL; 3],
) -> (F32, F32, [DL; 3]) {
    let (fr, hi) = reference64(st, dref);
    let rows = rows64(st);
    let x: [DL; 3] = per_axis!(|k| index64(&fr, &rows, dd, k));
    let rx: [DL; 3] = per_axis!(|k| x[k].round_ties_even());
    let (latt2, zero) = match shape_kind(plan, t) {
        SQ3 => latt_wide::<SQ3>(plan, t, &x, &rx),
        SQUARE => latt_wide::<SQUARE>(plan, t, &x, &rx),
        ROUND => latt_wide::<ROUND>(plan, t, &x, &rx),
        _ => latt_wide::<GAUSS>(plan, t, &x, &rx),
    };
    let hkl = per_axis!(|k| x[k] + DL::splat(hi[k]));
    (latt2, zero, hkl)
}

/// Scaled terms below this are flagged: below 2^-126 single precision loses them.
const TINY: f32 = 7.888_609e-31; // 2^-100

/// Lanes of `flagged` (a term of theirs was tiny though the reference's is not 0) whose
/// scaled sum is so small that the lost terms could matter: the exact kernel renders them.
fn small_lanes(plan: &RenderPlan, t: &Tables, scaled: DL, flagged: Bits) -> Bits {
    if flagged == 0 {
        return 0;
    }
    let nterms = (t.sources.len() * t.per_source * t.subpixels) as f64;
    let limit = nterms * 2f64.powi(-76);
    let bg = plan.i_bg / t.unscale;
    let v = scaled.to_array();
    let mut out: Bits = 0;
    for l in 0..LANES {
        if flagged >> l & 1 != 0 && !(v[l] + bg >= limit) {
            out |= 1 << l;
        }
    }
    out
}

/// The inputs of [`sum_wide`].
struct WideArgs<'a> {
    plan: &'a RenderPlan,
    t: &'a Tables,
    grid: Option<&'a crate::hkl::HklGrid>,
    steps: &'a [Step],
    dds: &'a [[DL; 3]],
    live: &'a [Bits],
    dref: [f64x4; 3],
}

/// One scaled term F²·F_latt² of the wide path for sub-pixel `i`; flags in `tiny` the lanes
/// where it is below [`TINY`] though the reference's term is not 0.
#[cfg_attr(not(debug_assertions), inline(always))]
fn term_wide<const GRID: bool, const DMIN: bool, const SHAPE: u8>(
    a: &WideArgs,
    fr: &[f64; 3],
    hi: &[f64; 3],
    rows: &[[f64; 3]; 3],
    i: usize,
    tiny: &mut F32,
) -> F32 {
    let dd = &a.dds[i];
    let x: [DL; 3] = per_axis!(|k| index64(fr, rows, dd, k));
    let rx: [DL; 3] = per_axis!(|k| x[k].round_ties_even());
    let f2 = if GRID {
        let rx32 = per_axis!(|k| rx[k].narrow());
        let f = nearest(a.grid.expect("grid"), a.t, hi, &rx32);
        if f.simd_eq(F32::ZERO).all() {
            return F32::ZERO;
        }
        f * f
    } else {
        splat(a.t.f2_default)
    };
    let (latt2, zero) = latt_wide::<SHAPE>(a.plan, a.t, &x, &rx);
    let mut term = latt2 * f2;
    if DMIN {
        term &= mask32(a.live[i]);
    }
    if a.t.range_check {
        let mut nonzero = f2.simd_ne(F32::ZERO);
        if SHAPE == GAUSS {
            nonzero &= !zero;
        }
        if DMIN {
            nonzero &= mask32(a.live[i]);
        }
        *tiny |= term.simd_lt(splat(TINY)) & nonzero;
    }
    term
}

/// Σ over steps and sub-pixels of the scaled terms with f64 lane indices (large crystals, or
/// a range check), and the flagged lanes (see [`term_wide`]). Two independent terms per
/// iteration, as in [`sum_steps`]; f32 sums moved to f64 every 32 terms.
#[cfg_attr(not(debug_assertions), inline(always))]
fn sum_wide<const GRID: bool, const DMIN: bool, const SHAPE: u8>(a: &WideArgs) -> (DL, F32) {
    let mut sum = Sum::default();
    let mut tiny = F32::ZERO;
    let nsub = a.dds.len();
    if nsub == 1 {
        let mut pairs = a.steps.chunks_exact(2);
        for pair in pairs.by_ref() {
            let (fr0, hi0) = reference64(&pair[0], &a.dref);
            let (fr1, hi1) = reference64(&pair[1], &a.dref);
            let (rows0, rows1) = (rows64(&pair[0]), rows64(&pair[1]));
            let t0 = term_wide::<GRID, DMIN, SHAPE>(a, &fr0, &hi0, &rows0, 0, &mut tiny);
            let t1 = term_wide::<GRID, DMIN, SHAPE>(a, &fr1, &hi1, &rows1, 0, &mut tiny);
            sum.add2([t0, t1]);
        }
        for st in pairs.remainder() {
            let (fr, hi) = reference64(st, &a.dref);
            let t = term_wide::<GRID, DMIN, SHAPE>(a, &fr, &hi, &rows64(st), 0, &mut tiny);
            sum.add1(t);
        }
    } else {
        for st in a.steps {
            let (fr, hi) = reference64(st, &a.dref);
            let rows = rows64(st);
            let mut i = 0;
            while i + 1 < nsub {
                let t0 = term_wide::<GRID, DMIN, SHAPE>(a, &fr, &hi, &rows, i, &mut tiny);
                let t1 = term_wide::<GRID, DMIN, SHAPE>(a, &fr, &hi, &rows, i + 1, &mut tiny);
                sum.add2([t0, t1]);
                i += 2;
            }
            if i < nsub {
                let t = term_wide::<GRID, DMIN, SHAPE>(a, &fr, &hi, &rows, i, &mut tiny);
                sum.add1(t);
            }
        }
    }
    (sum.total().0, tiny)
}

/// [`sum_wide`] for the plan's structure factors, resolution cut and shape.
fn sum_wide_any(a: &WideArgs) -> (DL, F32) {
    fn by_shape<const GRID: bool, const DMIN: bool>(a: &WideArgs) -> (DL, F32) {
        match shape_kind(a.plan, a.t) {
            SQ3 => sum_wide::<GRID, DMIN, SQ3>(a),
            SQUARE => sum_wide::<GRID, DMIN, SQUARE>(a),
            ROUND => sum_wide::<GRID, DMIN, ROUND>(a),
            _ => sum_wide::<GRID, DMIN, GAUSS>(a),
        }
    }
    match (a.grid.is_some(), a.plan.dmin > 0.0) {
        (false, false) => by_shape::<false, false>(a),
        (false, true) => by_shape::<false, true>(a),
        (true, false) => by_shape::<true, false>(a),
        (true, true) => by_shape::<true, true>(a),
    }
}

/// A lane's index along axis `k`, relative to the reference lane's nearest integer.
#[cfg_attr(not(debug_assertions), inline(always))]
fn offset(st: &Step, fr: &[f32; 3], dd: &[F32; 3], k: usize) -> F32 {
    let a = &st.a32[k];
    dd[0].mul_add(
        splat(a[0]),
        dd[1].mul_add(splat(a[1]), dd[2].mul_add(splat(a[2]), splat(fr[k]))),
    )
}

/// F_latt² of the ROUND, GAUSS and TOPHAT shapes from the lanes' index offsets (GAUSS scaled
/// by 2^gauss_shift: `kappa` is its κ), and the lanes where the reference's F_latt is 0.
#[cfg_attr(not(debug_assertions), inline(always))]
fn shape_latt2(plan: &RenderPlan, x: &[F32; 3], kappa: f32) -> (F32, F32) {
    let n = plan.n_cells;
    let nabc = (n[0] * n[1] * n[2]) as f32;
    let dl: [F32; 3] = per_axis!(|k| x[k] - x[k].round_ties_even());
    let fudge = splat(plan.fudge as f32);
    match plan.shape {
        Shape::Round => {
            let mut hrad = F32::ZERO;
            for k in 0..3 {
                let y = dl[k] * splat(n[k] as f32);
                hrad = y.mul_add(y, hrad);
            }
            let v = splat(nabc * 0.723_601_2) * sinc3_pi((hrad * fudge).sqrt());
            (v * v, F32::ZERO)
        }
        shape => {
            let r = &plan.recip;
            let mut rs = F32::ZERO;
            for c in 0..3 {
                let comp = dl[0].mul_add(
                    splat(r[0][c] as f32),
                    dl[1].mul_add(splat(r[1][c] as f32), dl[2] * splat(r[2][c] as f32)),
                );
                rs = comp.mul_add(comp, rs);
            }
            rs *= splat((n[0] * n[0] * n[1] * n[1] * n[2] * n[2]) as f32);
            if shape == Shape::Gauss {
                let arg = rs / splat(0.63) * fudge;
                gauss_latt2(arg, kappa)
            } else {
                let inside = (rs * fudge).simd_lt(splat(0.3969));
                let latt = inside.select(splat(nabc), F32::ZERO);
                (latt * latt, !inside)
            }
        }
    }
}

/// GAUSS: F_latt² = (N_a·N_b·N_c·exp(−arg))², computed as exp(κ − 2·arg) so that it is scaled
/// into single precision's range, and the lanes where the reference's exp(−arg) is exactly 0
/// (arg beyond ≈ 745.13 in double).
#[cfg_attr(not(debug_assertions), inline(always))]
fn gauss_latt2(arg: F32, kappa: f32) -> (F32, F32) {
    (
        (splat(kappa) - arg - arg).exp(),
        arg.simd_gt(splat(745.133_2)),
    )
}

/// Nearest-neighbour structure factor per lane (default_F outside the grid), from the
/// reference lane's nearest integers `hi` and the lanes' integer offsets `rx` from them
/// (already rounded: the index is truncated).
/// Grid offsets and the flat index are small integers, exact in f32 (the grid has fewer than
/// 2^24 entries, else the i32 path is used).
#[cfg_attr(not(debug_assertions), inline(always))]
fn nearest(g: &crate::hkl::HklGrid, t: &Tables, hi: &[f64; 3], rx: &[F32; 3]) -> F32 {
    if !t.padded {
        return nearest_i32(g, t, hi, rx);
    }
    // offsets from the grid's first entry, clamped to the padding planes (−1 and range), which
    // hold default_F; the padded table has range + 2 entries per axis
    let mut dh = [F32::ZERO; 3];
    let mut outside = F32::ZERO;
    for k in 0..3 {
        let d = rx[k] + splat((hi[k] - g.min[k] as f64) as f32);
        outside |= d.simd_lt(F32::ZERO) | d.simd_gt(splat((g.range[k] - 1) as f32));
        dh[k] = d.fast_max(splat(-1.0)).fast_min(splat(g.range[k] as f32)) + F32::ONE;
    }
    // every lane beyond the file's indices (most of a detector's outer part) reads the
    // padding: default_F, without the gather's wait for memory
    if outside.all() {
        return splat(t.f_default);
    }
    let idx = dh[0]
        .mul_add(splat((g.range[1] + 2) as f32), dh[1])
        .mul_add(splat((g.range[2] + 2) as f32), dh[2]);
    gather(&t.grid32, idx.fast_trunc_int())
}

#[cfg_attr(not(debug_assertions), inline(always))]
fn nearest_i32(g: &crate::hkl::HklGrid, t: &Tables, hi: &[f64; 3], rx: &[F32; 3]) -> F32 {
    let grid32 = &t.grid32;
    let mut dh = [I32::ZERO; 3];
    let mut inside = I32::splat(-1);
    for k in 0..3 {
        let base = I32::splat(hi[k] as i32 - g.min[k]);
        dh[k] = base + rx[k].round_int();
        inside &= dh[k].simd_gt(I32::splat(-1)) & dh[k].simd_lt(I32::splat(g.range[k]));
    }
    let inside_f: F32 = wide::bytemuck::cast(inside);
    // as in `nearest`: no lane inside the grid, no lookups
    if !inside_f.any() {
        return splat(t.f_default);
    }
    let idx = (dh[0] * I32::splat(g.range[1] + 1) + dh[1]) * I32::splat(g.range[2] + 1) + dh[2];
    let idx = (idx & inside).to_array();
    let vals = F32::from(std::array::from_fn::<f32, LANES, _>(|l| {
        grid32[idx[l] as usize]
    }));
    inside_f.select(vals, splat(t.f_default))
}

/// Kahn polarization factor for the eight lanes, without trigonometry:
/// cos 2ψ = (x² − y²)/(x² + y²) with x = d·E, y = d·B.
#[cfg_attr(not(debug_assertions), inline(always))]
fn polarization(kahn: f32, src: &SourceC, d: &[F32; 3]) -> F32 {
    let c2 = dot8(d, &src.inc);
    let c2s = c2 * c2;
    if kahn == 0.0 {
        return splat(0.5) * (F32::ONE + c2s);
    }
    let s2s = F32::ONE - c2s;
    let x = dot8(d, &src.e);
    let y = dot8(d, &src.b);
    let r = x.mul_add(x, y * y);
    let cos2psi = r.simd_eq(F32::ZERO).select(F32::ONE, (x * x - y * y) / r);
    splat(0.5) * (F32::ONE + c2s - splat(kahn) * cos2psi * s2s)
}

/// A lane direction in f64: the reference direction plus the lane's (small) f32 offset.
#[cfg_attr(not(debug_assertions), inline(always))]
fn direction64(dref: &V3, dd: &[F32; 3]) -> [DL; 3] {
    per_axis!(|k| DL::splat(dref[k]) + DL::from_f32(dd[k]))
}

#[cfg_attr(not(debug_assertions), inline(always))]
fn dot64(d: &[DL; 3], v: &V3) -> DL {
    d[0] * DL::splat(v[0]) + d[1] * DL::splat(v[1]) + d[2] * DL::splat(v[2])
}

/// The per-pixel factors (solid angle, polarization, capture fraction) are computed in f64:
/// on a flat background (water) they decide the last bits of every pixel.
///
/// Solid angle of sub-pixels at distance `r` (m).
#[cfg_attr(not(debug_assertions), inline(always))]
fn omega64(plan: &RenderPlan, r: DL) -> DL {
    let r2 = r * r;
    if plan.point_pixel {
        DL::splat(1.0) / r2
    } else {
        DL::splat(plan.pixel_size * plan.pixel_size * plan.close_distance) / (r2 * r)
    }
}

/// Kahn polarization factor (as [`polarization`]) in f64.
#[cfg_attr(not(debug_assertions), inline(always))]
fn polarization64(kahn: f64, src: &SourceC, d: &[DL; 3]) -> DL {
    let [inc, b, e] = &src.frame64;
    let c2 = dot64(d, inc);
    let c2s = c2 * c2;
    let one = DL::splat(1.0);
    if kahn == 0.0 {
        return DL::splat(0.5) * (one + c2s);
    }
    let (x, y) = (dot64(d, e), dot64(d, b));
    // on the beam axis (x = y = 0) the quotient is 0/0 and the reference takes cos 2ψ = 1:
    // the NaN-aware min gives 1 there and leaves every other quotient (≤ 1 after rounding,
    // as x² − y² ≤ x² + y²) as it is
    let cos2psi = ((x * x - y * y) / (x * x + y * y)).min(one);
    DL::splat(0.5) * (one + c2s - DL::splat(kahn) * cos2psi * (one - c2s))
}

/// Capture fraction in f64, from ρ = d·odet, by the reference's formula
/// exp(−l·t·μ/ρ) − exp(−(l+1)·t·μ/ρ): in double precision its cancellation for thin layers
/// costs nothing visible, and a sensor behind the sample (ρ < 0) gives the reference's
/// inf − inf = NaN.
#[cfg_attr(not(debug_assertions), inline(always))]
fn capture64(plan: &RenderPlan, layer: f64, rho: DL) -> DL {
    let rho = rho.to_array();
    DL::from_array(std::array::from_fn(|l| {
        (-layer * plan.thickstep * plan.mu / rho[l]).exp()
            - (-(layer + 1.0) * plan.thickstep * plan.mu / rho[l]).exp()
    }))
}

/// F_cell per lane: tricubic interpolation where it is on and in range, else the nearest
/// structure factor (default_F outside the grid). Lanes whose interpolation runs out of range
/// record the trigger and (as in the reference) switch interpolation off.
#[allow(clippy::too_many_arguments)]
fn structure_factor(
    plan: &RenderPlan,
    g: &crate::hkl::HklGrid,
    t: &Tables,
    hkl: &[DL; 3],
    contrib: Bits,
    lanes: &mut Lanes,
    trigger: &mut [Option<([f64; 3], [i32; 3])>; LANES],
) -> F32 {
    let (h, k, l) = (hkl[0].to_array(), hkl[1].to_array(), hkl[2].to_array());
    let near = |x: f64| (x - 0.5).ceil() as i32;
    let mut out = [t.f_default; LANES];
    let mut interp_lanes: Bits = 0;
    for lane in 0..LANES {
        let bit: Bits = 1 << lane;
        if contrib & bit == 0 {
            continue;
        }
        let h0 = [near(h[lane]), near(k[lane]), near(l[lane])];
        if lanes.interp & bit != 0 {
            if crate::kernel::exact::interp_out_of_range(g, h[lane], k[lane], l[lane]) {
                if trigger[lane].is_none() {
                    trigger[lane] = Some(([h[lane], k[lane], l[lane]], h0));
                }
                if !plan.fix.interp_local {
                    lanes.interp &= !bit;
                }
            } else {
                interp_lanes |= bit;
                continue;
            }
        }
        out[lane] = (crate::kernel::exact::nearest_f(plan, h0[0], h0[1], h0[2]) * t.f_scale) as f32;
    }
    let mut v = F32::from(out);
    if interp_lanes != 0 {
        v = mask32(interp_lanes).select(tricubic(g, hkl, t.f_scale), v);
    }
    v
}

/// Tricubic (4×4×4 Lagrange) interpolation for all lanes (callers blend the lanes they need),
/// of the structure factors times `scale`.
fn tricubic(g: &crate::hkl::HklGrid, hkl: &[DL; 3], scale: f64) -> F32 {
    let a: [[f64; LANES]; 3] = [hkl[0].to_array(), hkl[1].to_array(), hkl[2].to_array()];
    let fl: [[f64; LANES]; 3] = per_axis!(|k| std::array::from_fn(|l| a[k][l].floor()));
    let mut w = [[F32::ZERO; 4]; 3];
    for k in 0..3 {
        let t = F32::from(std::array::from_fn::<f32, LANES, _>(|l| {
            (a[k][l] - fl[k][l]) as f32
        }));
        let (tm1, tm2, tp1) = (t - F32::ONE, t - splat(2.0), t + F32::ONE);
        w[k][0] = -(t * tm1 * tm2) * splat(1.0 / 6.0);
        w[k][1] = tp1 * tm1 * tm2 * splat(0.5);
        w[k][2] = -(tp1 * t * tm2) * splat(0.5);
        w[k][3] = tp1 * t * tm1 * splat(1.0 / 6.0);
    }
    // lanes that do not interpolate may sit anywhere: keep their (unused) reads in the grid
    let safe = |x: f64, min: i32, range: i32| -> i32 {
        (x as i32 - 1 - min).max(0).min((range - 3).max(0))
    };
    let base: [[i32; 3]; LANES] =
        std::array::from_fn(|l| per_axis!(|k| safe(fl[k][l], g.min[k], g.range[k])));
    let mut acc = F32::ZERO;
    for i in 0..4 {
        for j in 0..4 {
            let wij = w[0][i] * w[1][j];
            for m in 0..4 {
                let vals: [f32; LANES] = std::array::from_fn(|l| {
                    let b = base[l];
                    (g.at(b[0] + i as i32, b[1] + j as i32, b[2] + m as i32) * scale) as f32
                });
                acc = (wij * w[2][m]).mul_add(F32::from(vals), acc);
            }
        }
    }
    acc
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Largest relative error of a sin(πr) approximation over r ∈ [−½, ½].
    fn worst_sinpi_error(f: fn(F32) -> F32) -> f64 {
        let mut worst = 0.0f64;
        for i in -5000..=5000 {
            let r = i as f64 / 10000.0;
            let got = f(splat(r as f32)).to_array()[0] as f64;
            let want = (std::f64::consts::PI * (r as f32) as f64).sin();
            if want != 0.0 {
                worst = worst.max(((got - want) / want).abs());
            }
        }
        worst
    }

    #[test]
    fn sinpi_is_accurate() {
        let worst = worst_sinpi_error(sinpi);
        assert!(worst < 3e-7, "{worst}");
    }

    #[test]
    fn sinpi7_is_accurate() {
        let worst = worst_sinpi_error(sinpi7);
        assert!(worst < 1.2e-6, "{worst}");
    }

    #[test]
    fn grating_matches_the_formula() {
        for &(x, n) in &[
            (0.01f64, 10.0f32),
            (0.003, 50.0),
            (0.2, 7.0),
            (-0.49, 20.0),
            (0.0, 5.0),
            (0.4999, 1000.0),
        ] {
            let (num, den) = grating(splat(x as f32), n);
            let got = (num / den).to_array()[0].abs() as f64;
            let xf = x as f32 as f64;
            let n = n as f64;
            let want = if xf == 0.0 {
                n
            } else {
                ((std::f64::consts::PI * xf * n).sin() / (std::f64::consts::PI * xf).sin()).abs()
            };
            assert!(
                (got - want).abs() <= 1e-6 * n + 1e-5 * want,
                "x={x} n={n}: {got} vs {want}"
            );
        }
    }

    #[test]
    fn fast_grating_matches_the_formula() {
        for &(d, n) in &[
            (0.01f64, 10.0f32),
            (0.003, 50.0),
            (0.2, 7.0),
            (-0.49, 20.0),
            (0.4999, 1000.0),
            (-0.0371, 333.0),
            (0.25, 3_999_999.0),
        ] {
            let (num, den) = grating_fast(splat(d as f32), n);
            let got = (num / den).to_array()[0].abs() as f64;
            let df = d as f32 as f64;
            let n = n as f64;
            let want =
                ((std::f64::consts::PI * df * n).sin() / (std::f64::consts::PI * df).sin()).abs();
            let tol = 2e-6 * n + 3e-6 * want;
            assert!((got - want).abs() <= tol, "δ={d} n={n}: {got} vs {want}");
        }
    }

    #[test]
    fn wide_grating_matches_the_formula_for_large_n() {
        // offsets up to ±0.6 from the reference integer, N up to 10^6: the reduced argument
        // comes from f64, so the error stays at the sine polynomials' level
        let mut worst = 0.0f64;
        for &n in &[4.0f64, 24.0, 1352.0, 50_000.0, 99_991.0, 1_000_000.0] {
            for i in 0..4000 {
                let x = -0.6 + 1.2 * (i as f64 + 0.37) / 4000.0;
                let xs = DL::splat(x);
                let (num, den) = grating_wide(xs, xs.round_ties_even(), n);
                let got = (num / den).to_array()[0] as f64;
                let pi = std::f64::consts::PI;
                let want = ((pi * x * n).sin() / (pi * x).sin()).abs();
                let err = (got.abs() - want).abs() / n;
                worst = worst.max(err);
                assert!(err < 3e-6, "x={x} n={n}: {got} vs {want}");
            }
        }
        assert!(worst > 0.0);
    }

    #[test]
    fn expm1_is_accurate() {
        for i in -400..=400 {
            let x = i as f64 / 100.0;
            let got = expm1(splat(x as f32)).to_array()[0] as f64;
            let want = (x as f32 as f64).exp_m1();
            assert!(
                ((got - want) / want).abs() < 3e-7 || x == 0.0,
                "x={x}: {got} vs {want}"
            );
        }
    }

    #[test]
    fn widening_is_exact_in_every_lane() {
        let edges = [
            0.0f32,
            -0.0,
            1.0,
            -1.5,
            f32::MIN_POSITIVE,
            1e-45,
            -3e-42,
            f32::MAX,
            f32::MIN,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::NAN,
            0.1,
            -7.25e-9,
            6.02e23,
            -2.5e-30,
        ];
        for shift in 0..edges.len() {
            let a: [f32; LANES] = std::array::from_fn(|l| edges[(l + shift) % edges.len()]);
            let got = DL::from_f32(F32::from(a)).to_array().map(f64::to_bits);
            assert_eq!(got, a.map(|v| (v as f64).to_bits()), "{a:?}");
            // and back: the narrowing returns the lanes (NaN as NaN)
            let back = DL::from_f32(F32::from(a)).narrow().to_array().map(f32::to_bits);
            assert_eq!(back, a.map(f32::to_bits), "{a:?}");
        }
    }

    /// The projected-shift path without loops ([`render_vec_proj`]) gives every lane's value
    /// and solid angle bit for bit as the general path, for one and several sub-pixels,
    /// structure-factor grids, mosaic domains and sources, Kahn polarization and other shapes.
    #[test]
    fn projected_path_equals_the_general_path() {
        let cases = [
            "-default_F 100 -cell 100 100 100 90 90 90 -lambda 6.2 -N 5 -distance 100 -detpixels 64 -mosflm",
            "-default_F 100 -cell 100 100 100 90 90 90 -lambda 1 -N 10 -distance 100 -detpixels 64 -oversample 3",
            "-hkl tests/data/golden/inputs/P1_cubic.hkl -cell 100 100 100 90 90 90 -lambda 1 -N 20 -mosaic 0.2 -mosaic_dom 4 -dispersion 0.2 -dispsteps 3 -distance 60 -detpixels 64 -oversample 2",
            "-default_F 10 -cell 70 80 90 85 95 105 -misset 10 5 3 -N 8 -polar 0.7 -distance 50 -detpixels 64 -oversample 1 -round_xtal",
            "-default_F 10 -cell 70 80 90 85 95 105 -N 3 -gauss_xtal -distance 30 -detpixels 48 -oversample 2 -phi 0 -osc 1 -phisteps 2",
            // the direct beam on a pixel's centre: indices 0 there, the guarded gratings
            "-default_F 100 -cell 100 100 100 90 90 90 -lambda 1 -N 5 -distance 100 -detpixels 17 -pixel 0.1 -Xbeam 0.4 -Ybeam 0.4 -oversample 1 -nopolar",
            "-default_F 100 -cell 100 100 100 90 90 90 -lambda 1 -N 5 -distance 100 -detpixels 17 -pixel 0.1 -Xbeam 0.4 -Ybeam 0.4 -oversample 3",
        ];
        for args in cases {
            let argv: Vec<&str> = args.split_whitespace().collect();
            let sim = crate::Simulation::from_args(&argv).expect("setup");
            let prep = Prepared::new(sim.plan());
            let plan = prep.plan;
            let fast = Tables::new(&prep);
            assert!(fast.proj_flat, "{args}: not a projected-path case");
            let mut general = Tables::new(&prep);
            general.proj_flat = false;
            let entry = Lanes {
                stale: Bits::MAX,
                interp: 0,
            };
            let mut scratch = Scratch::default();
            for s in 0..plan.spixels {
                for f0 in (0..=plan.fpixels.saturating_sub(LANES)).step_by(LANES) {
                    if near_beam(&fast, s, f0) {
                        continue;
                    }
                    let a = render_vec_fast(plan, &fast, s, f0, Bits::MAX, entry, &mut scratch);
                    let b = render_vec_fast(plan, &general, s, f0, Bits::MAX, entry, &mut scratch);
                    let (va, vb) = (a.value.to_array(), b.value.to_array());
                    let (oa, ob) = (a.omega.to_array(), b.omega.to_array());
                    for l in 0..LANES {
                        assert_eq!(va[l].to_bits(), vb[l].to_bits(), "{args}: s {s} f {}", f0 + l);
                        assert_eq!(oa[l].to_bits(), ob[l].to_bits(), "{args}: s {s} f {}", f0 + l);
                    }
                    assert_eq!((a.redo, a.exit), (b.redo, b.exit), "{args}: s {s} f0 {f0}");
                }
            }
        }
    }

    /// A run's SIMD tables, with the run they belong to.
    fn tables_for(args: &str) -> (crate::Simulation, Tables) {
        let argv: Vec<&str> = args.split_whitespace().collect();
        let sim = crate::Simulation::from_args(&argv).expect("setup");
        let t = Tables::new(&Prepared::new(sim.plan()));
        (sim, t)
    }

    /// The reference indices computed a chunk of steps at a time ([`Refs::fill`]) are each
    /// step's own ([`reference_c`]): bit for bit where both use the same multiply-add (the
    /// default build; a build without FMA gives `wide`'s f64x4 separate roundings, so there the
    /// 16-lane fractions may differ in the last bits), over 600 steps (three chunks, the last
    /// one partial) and directions all over the sphere, with and without the integer parts.
    #[test]
    fn chunked_reference_indices_are_each_steps_own() {
        let (_, t) = tables_for(
            "-default_F 100 -cell 70 80 90 85 95 105 -misset 10 5 3 -lambda 1 -N 5 -mosaic 1 -mosaic_dom 3 -dispersion 0.5 -dispsteps 200 -distance 100 -detpixels 16",
        );
        let steps = &t.steps[1];
        assert_eq!(steps.len(), 600);
        let same_fma = cfg!(target_feature = "fma") || LANES == 8;
        let mut refs = Refs::default();
        let mut rng = 0x9e37_79b9_7f4a_7c15u64;
        let mut unit = || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            let a = (rng % 10_000) as f64 / 10_000.0 * std::f64::consts::TAU;
            let z = ((rng >> 20) % 10_000) as f64 / 5_000.0 - 1.0;
            let r = (1.0 - z * z).sqrt();
            [r * a.cos(), r * a.sin(), z]
        };
        for _ in 0..20 {
            let d = unit();
            let dref = d.map(f64x4::splat);
            for with_hi in [true, false] {
                for j0 in (0..steps.len()).step_by(Refs::CHUNK) {
                    let end = (j0 + Refs::CHUNK).min(steps.len());
                    refs.fill(&t.cols, &d, with_hi, j0..end);
                    for j in j0..end {
                        let (fr, hi, c) = reference_c(&steps[j], &dref);
                        let (gfr, ghi, gc) = if with_hi {
                            refs.get::<true>(j - j0)
                        } else {
                            refs.get::<false>(j - j0)
                        };
                        for k in 0..3 {
                            let ctx = format!("step {j}, axis {k}, d {d:?}");
                            if same_fma {
                                assert_eq!(gfr[k].to_bits(), fr[k].to_bits(), "{ctx}");
                                assert_eq!(gc[k].to_bits(), c[k].to_bits(), "{ctx}");
                            } else {
                                assert!((gfr[k] - fr[k]).abs() <= 1e-6, "{ctx}");
                                assert!((gc[k] - c[k]).abs() <= 1e-6 * c[k].abs().max(1.0), "{ctx}");
                            }
                            let want = if with_hi { hi[k] } else { 0.0 };
                            assert_eq!(ghi[k], want, "{ctx}");
                        }
                    }
                }
            }
        }
    }

    /// The per-step tables (both spindle states' coefficients and their copy by component)
    /// fit in what the memory check counts for a sampling ([`crate::memory::sampling_bytes`]).
    #[test]
    fn step_tables_fit_the_memory_checks_count() {
        let (sim, t) = tables_for(
            "-default_F 100 -cell 70 80 90 85 95 105 -lambda 1 -N 5 -mosaic 1 -mosaic_dom 7 -dispersion 0.5 -dispsteps 90 -phi 0 -osc 1 -phisteps 3 -distance 100 -detpixels 16",
        );
        let plan = sim.plan();
        let steps = t.steps[0].len() + t.steps[1].len();
        assert_eq!(steps, 2 * 90 * 7 * 3);
        let cols: usize = t.cols.a.iter().flatten().chain(&t.cols.off).map(|v| v.len() * 8).sum();
        let used = (steps * std::mem::size_of::<Step>() + cols) as u128;
        let counted = crate::memory::sampling_bytes(
            plan.sources.len() as u128,
            plan.phisteps as u128,
            plan.domains() as u128,
            plan.thicksteps as u128,
        )
        .expect("a count");
        assert!(used <= counted, "{used} bytes of step tables, {counted} counted");
    }

    /// The structure-factor lookups, padded ([`nearest`]) and unpadded ([`nearest_i32`], for
    /// grids of 2^24 entries or more), give each lane the grid's value inside the file's
    /// indices and default_F outside, for vectors wholly inside, wholly outside (no memory is
    /// read then) and across the edges.
    #[test]
    fn lookups_give_the_grid_inside_and_default_f_outside() {
        let argv: Vec<&str> = "-hkl tests/data/golden/inputs/P1_cubic.hkl -default_F 7 -cell 100 100 100 90 90 90 -N 5 -detpixels 32"
            .split_whitespace()
            .collect();
        let sim = crate::Simulation::from_args(&argv).expect("setup");
        let prep = Prepared::new(sim.plan());
        let g = prep.plan.hkl.as_ref().expect("a grid");
        let padded = Tables::new(&prep);
        assert!(padded.padded);
        // the same values without the padding, laid out as the f64 grid
        let d = g.range.map(|r| (r + 1) as usize);
        let mut plain = Tables::new(&prep);
        plain.padded = false;
        plain.grid32 = vec![f32::NAN; d[0] * d[1] * d[2]];
        let at = |h: i32, k: i32, l: i32| {
            ((h as usize + 1) * (d[1] + 1) + k as usize + 1) * (d[2] + 1) + l as usize + 1
        };
        for h in 0..g.range[0] {
            for k in 0..g.range[1] {
                for l in 0..g.range[2] {
                    plain.grid32[(h as usize * d[1] + k as usize) * d[2] + l as usize] =
                        padded.grid32[at(h, k, l)];
                }
            }
        }
        let want = |h: i32, k: i32, l: i32| {
            let r = [h - g.min[0], k - g.min[1], l - g.min[2]];
            if (0..3).all(|a| r[a] >= 0 && r[a] < g.range[a]) {
                padded.grid32[at(r[0], r[1], r[2])]
            } else {
                // default_F, scaled as the grid's values are
                padded.f_default
            }
        };
        let mut rng = 0x2545_f491_4f6c_dd1du64;
        let mut next = |n: i32| {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            (rng % n as u64) as i32
        };
        let (mut outside, mut mixed, mut inside) = (0, 0, 0);
        for _ in 0..20_000 {
            // reference indices around the grid (-12..12 here), lanes within a few of them
            let spread = [2, 5, 12][next(3) as usize];
            let hi = [0; 3].map(|_| (next(61) - 30) as f64);
            let off: [[i32; LANES]; 3] = [0; 3].map(|_| [0; LANES].map(|_| next(2 * spread + 1) - spread));
            let rx = per_axis!(|k| F32::from(off[k].map(|o| o as f32)));
            let a = nearest(g, &padded, &hi, &rx).to_array();
            let b = nearest(g, &plain, &hi, &rx).to_array();
            let mut n_in = 0;
            for l in 0..LANES {
                let hkl = per_axis!(|k| hi[k] as i32 + off[k][l]);
                let w = want(hkl[0], hkl[1], hkl[2]);
                n_in += usize::from((0..3).all(|k| hkl[k] >= g.min[k] && hkl[k] <= g.max[k]));
                assert_eq!(a[l].to_bits(), w.to_bits(), "padded, {hkl:?}");
                assert_eq!(b[l].to_bits(), w.to_bits(), "unpadded, {hkl:?}");
            }
            match n_in {
                0 => outside += 1,
                n if n == LANES => inside += 1,
                _ => mixed += 1,
            }
        }
        assert!(outside > 1000 && mixed > 1000 && inside > 100, "{outside} {mixed} {inside}");
    }

    #[test]
    fn vector_polarization_equals_the_reference_formula() {
        let axis = [0.0, 0.0, 1.0];
        let dir = [-1.0, 0.0, 0.0]; // beam along +x
        let src = SourceC::new(&dir, 1e-10, &axis);
        // lane 0 on the beam axis (x = y = 0: cos 2ψ = 1, the reference's atan2(0, 0) = 0);
        // the others spread over the sphere
        let d: [[f64; 3]; LANES] = std::array::from_fn(|l| {
            if l == 0 {
                [1.0, 0.0, 0.0]
            } else {
                let (t, p) = (0.37 * l as f64, 1.1 + 0.53 * l as f64);
                [t.cos(), t.sin() * p.cos(), t.sin() * p.sin()]
            }
        });
        let lanes: [DL; 3] = per_axis!(|k| DL::from_array(std::array::from_fn(|l| d[l][k])));
        for kahn in [0.0, 0.5, 1.0] {
            let got = polarization64(kahn, &src, &lanes).to_array();
            for l in 0..LANES {
                let (mut inc, mut out) = (src.frame64[0], d[l]);
                let want = crate::kernel::exact::polarization_factor(kahn, &mut inc, &mut out, &axis);
                assert!(
                    (got[l] - want).abs() <= 1e-15,
                    "kahn {kahn}, lane {l}: {} vs {want}",
                    got[l]
                );
            }
        }
    }

    #[test]
    fn sinc3_matches_the_formula() {
        for i in 0..400 {
            let u = i as f64 * 0.05;
            let x = std::f64::consts::PI * u;
            let want = if x == 0.0 {
                1.0
            } else {
                3.0 * (x.sin() / x - x.cos()) / (x * x)
            };
            let got = sinc3_pi(splat(u as f32)).to_array()[0] as f64;
            assert!((got - want).abs() < 2e-6, "u={u}: {got} vs {want}");
        }
    }
}
