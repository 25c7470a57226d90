//! The reference program's random number generators, reproduced exactly.
//!
//! * [`Ran1`]: Numerical Recipes `ran1` (Park–Miller minimal standard with a Bays–Durham
//!   shuffle). Each caller owns its seed (`idum`, a 64-bit signed integer), but the shuffle
//!   table and its last output are **shared by all callers** of one run, as in nanoBragg.c.
//! * Gaussian deviates by the polar Box–Muller method, with a spare value kept across calls.
//! * Poisson deviates (`poidev`) with the log-gamma helper (`gammln`).
//! * Random rotation matrices on a spherical cap (`mosaic_rotation_umat`) and their
//!   conversion to XYZ missetting angles (`umat2misset`).
//!
//! Single-precision (f32) steps are kept where the reference computes in `float`.

use crate::vec3::M3;
use std::f64::consts::PI;

const IA: i64 = 16807;
const IM: i64 = 2147483647;
const AM: f64 = 1.0 / IM as f64;
const IQ: i64 = 127773;
const IR: i64 = 2836;
const NTAB: usize = 32;
const NDIV: i64 = 1 + (IM - 1) / NTAB as i64;
const EPS: f64 = 1.2e-7;
const RNMX: f64 = 1.0 - EPS;

/// Shared state of the uniform generator (the shuffle table and last output).
#[derive(Clone, Debug)]
pub struct Ran1 {
    iy: i64,
    iv: [i64; NTAB],
    /// Spare Gaussian deviate (Box–Muller produces two at a time).
    gauss_spare: Option<f32>,
}

impl Default for Ran1 {
    fn default() -> Self {
        Self::new()
    }
}

#[inline(always)]
fn schrage(idum: &mut i64) {
    let k = *idum / IQ;
    *idum = IA * (*idum - k * IQ) - IR * k;
    if *idum < 0 {
        *idum += IM;
    }
}

impl Ran1 {
    /// A fresh generator (empty shuffle table, as at program start).
    pub fn new() -> Self {
        Ran1 {
            iy: 0,
            iv: [0; NTAB],
            gauss_spare: None,
        }
    }

    /// One uniform deviate in (0, 1), as `float`. `idum` is the caller's seed state: a value
    /// ≤ 0 (or any value while the table is empty) re-initialises the shared table.
    pub fn uniform(&mut self, idum: &mut i64) -> f32 {
        if *idum <= 0 || self.iy == 0 {
            if -(*idum) < 1 {
                *idum = 1;
            } else {
                *idum = -(*idum);
            }
            for j in (0..NTAB + 8).rev() {
                schrage(idum);
                if j < NTAB {
                    self.iv[j] = *idum;
                }
            }
            self.iy = self.iv[0];
        }
        schrage(idum);
        let j = (self.iy / NDIV) as usize;
        self.iy = self.iv[j];
        self.iv[j] = *idum;
        let temp = (AM * self.iy as f64) as f32;
        if temp as f64 > RNMX {
            RNMX as f32
        } else {
            temp
        }
    }

    /// Gaussian deviate, rms 1 (polar Box–Muller, float arithmetic as the reference).
    pub fn gauss(&mut self, idum: &mut i64) -> f32 {
        if let Some(spare) = self.gauss_spare.take() {
            return spare;
        }
        let (v1, v2, rsq) = loop {
            let v1 = (2.0 * self.uniform(idum) as f64 - 1.0) as f32;
            let v2 = (2.0 * self.uniform(idum) as f64 - 1.0) as f32;
            let rsq = v1 * v1 + v2 * v2;
            if !(rsq >= 1.0 || rsq == 0.0) {
                break (v1, v2, rsq);
            }
        };
        let fac = ((-2.0 * (rsq as f64).ln()) / rsq as f64).sqrt() as f32;
        self.gauss_spare = Some(v1 * fac);
        v2 * fac
    }

    /// Poisson deviate with mean `xm` (photons), as the reference's `poidev`.
    ///
    /// Means above 1e6 use a Gaussian approximation that is not rounded to an integer;
    /// means below 12 multiply uniforms; the rest use the rejection method with a
    /// Lorentzian comparison function.
    /// ln k! of the rejection method's candidates `k` is taken from (and added to) `table`:
    /// the same values, each computed once per table (keep one table for many draws).
    pub fn poisson(&mut self, xm: f32, idum: &mut i64, table: &mut LnFactorials) -> f32 {
        if xm as f64 > 1.0e6 {
            return (xm as f64 + (xm as f64).sqrt() * self.gauss(idum) as f64) as f32;
        }
        if (xm as f64) < 12.0 {
            // the product of uniforms, the first being 1·u = u, until it is no longer above
            // g = exp(−xm) as float
            let mut t = self.uniform(idum);
            if (t as f64) < below_exp_neg(xm as f64) {
                return 0.0;
            }
            let g = ((-xm) as f64).exp() as f32;
            let mut em: f32 = 0.0;
            while t > g {
                em += 1.0;
                t *= self.uniform(idum);
            }
            return em;
        }
        let sq = (2.0 * xm as f64).sqrt() as f32;
        let alxm = (xm as f64).ln() as f32;
        let g: f32 = xm * alxm - gammln((xm as f64 + 1.0) as f32);
        loop {
            let (y, mut em) = loop {
                let y = (PI * self.uniform(idum) as f64).tan() as f32;
                let em: f32 = sq * y + xm;
                if !(em < 0.0) {
                    break (y, em);
                }
            };
            em = (em as f64).floor() as f32;
            let e: f32 = em * alxm - table.get(em, xm) - g;
            let scale = 0.9 * (1.0 + (y * y) as f64);
            if accepts(self.uniform(idum), scale, e as f64) {
                return em;
            }
        }
    }

    /// A random rotation matrix on a spherical cap of half-angle `mosaicity` (radians,
    /// narrowed to `float` as in the reference): three uniforms give an axis and an angle.
    pub fn cap_rotation(&mut self, mosaicity: f32, idum: &mut i64) -> M3 {
        let r1 = 2.0 * self.uniform(idum) as f64 - 1.0;
        let r2 = 2.0 * self.uniform(idum) as f64 - 1.0;
        let r3 = 2.0 * self.uniform(idum) as f64 - 1.0;
        let xyrad = (1.0 - r2 * r2).sqrt();
        let rot = (mosaicity * ((1.0 - r3 * r3) as f32).powf((1.0f64 / 3.0) as f32)) as f64;
        let v1 = xyrad * (PI * r1).sin();
        let v2 = xyrad * (PI * r1).cos();
        let v3 = r2;
        let t1 = rot.cos();
        let t2 = 1.0 - t1;
        let t3 = v1 * v1;
        let t6 = t2 * v1;
        let t7 = t6 * v2;
        let t8 = rot.sin();
        let t9 = t8 * v3;
        let t11 = t6 * v3;
        let t12 = t8 * v2;
        let t15 = v2 * v2;
        let t19 = t2 * v2 * v3;
        let t20 = t8 * v1;
        let t24 = v3 * v3;
        [
            t1 + t2 * t3,
            t7 - t9,
            t11 + t12,
            t7 + t9,
            t1 + t2 * t15,
            t19 - t20,
            t11 - t12,
            t19 + t20,
            t1 + t2 * t24,
        ]
    }
}

/// Relative slack for the bounds below: above the rounding of a float (2⁻²⁴), libm's error
/// and the few double roundings of the bounds themselves.
const SLACK: f64 = 1.0 / (1u64 << 22) as f64;

/// 1 − x less the float rounding: below `exp(-x) as f32` for every x ≥ 0, since
/// exp(−x) ≥ 1 − x (beyond x = 1 it is negative, so no uniform is below it); for x < 0 it is
/// above 1, and every uniform is below exp(−x) ≥ 1 too.
/// A first uniform under it ends the small-mean loop at 0 without `exp` (the common case for
/// a faint pixel).
#[inline(always)]
fn below_exp_neg(x: f64) -> f64 {
    1.0 - x - SLACK
}

/// e⁰ + e + e²/2 + … + e⁵/5!: below exp(e) for every e (an odd-degree Taylor polynomial).
#[inline(always)]
fn exp_taylor5(e: f64) -> f64 {
    1.0 + e * (1.0 + e * (0.5 + e * (1.0 / 6.0 + e * (1.0 / 24.0 + e * (1.0 / 120.0)))))
}

/// The rejection test of the Poisson deviate, `!(u > (scale · exp(e)) as f32)`, decided from
/// bounds of exp(e) where they suffice: exp(e) ≥ T₅(e), and exp(e) = 1/exp(−e) ≤ 1/T₅(−e)
/// when T₅(−e) > 0. `exp` is called only for a uniform within the bounds' gap (a few per
/// cent of the candidates); the outcome is the same as with `exp` always.
#[inline(always)]
fn accepts(u: f32, scale: f64, e: f64) -> bool {
    let u = u as f64;
    let low = exp_taylor5(e);
    if low > 0.0 && u <= scale * low * (1.0 - SLACK) {
        return true;
    }
    // u ≥ scale/T₅(−e)·(1 + slack), without the division
    let den = exp_taylor5(-e);
    if den > 0.0 && u * den >= scale * (1.0 + SLACK) {
        return false;
    }
    !(u > (scale * e.exp()) as f32 as f64)
}

/// ln k! for integer k ≥ 0 as the reference's Poisson deviate computes it,
/// `gammln((float)(k + 1.0))`, remembered for the candidates near the mean.
#[derive(Clone, Debug, Default)]
pub struct LnFactorials {
    /// ln k! by k; NaN where not computed yet.
    values: Vec<f32>,
}

impl LnFactorials {
    /// ln k! for `k`, a non-negative integer-valued float drawn around the mean `mean`.
    /// Values up to 2·mean + 64 are remembered (the table grows to about twice the largest
    /// mean); the Lorentzian comparison function's far tail, rarely accepted, is computed
    /// each time, so one wild candidate does not grow the table.
    #[inline]
    pub fn get(&mut self, k: f32, mean: f32) -> f32 {
        let compute = |k: f32| gammln((k as f64 + 1.0) as f32);
        if !(k >= 0.0 && k <= 2.0 * mean + 64.0 && k < (1 << 22) as f32) {
            return compute(k);
        }
        let i = k as usize;
        if i >= self.values.len() {
            self.values.resize((i + 1).next_power_of_two(), f32::NAN);
        }
        let v = self.values[i];
        if v.is_nan() {
            let v = compute(k);
            self.values[i] = v;
            v
        } else {
            v
        }
    }
}

/// ln Γ(xx) (Lanczos series), computed in double from a `float` argument, returned as `float`.
pub fn gammln(xx: f32) -> f32 {
    const COF: [f64; 6] = [
        76.18009172947146,
        -86.50532032941677,
        24.01409824083091,
        -1.231739572450155,
        0.1208650973866179e-2,
        -0.5395239384953e-5,
    ];
    let x = xx as f64;
    let mut y = x;
    let mut tmp = x + 5.5;
    tmp -= (x + 0.5) * tmp.ln();
    let mut ser = 1.000000000190015;
    for c in COF {
        y += 1.0;
        ser += c / y;
    }
    (-tmp + (2.5066282746310005 * ser / x).ln()) as f32
}

/// XYZ missetting angles (radians) of a rotation matrix, after the reference's row
/// normalisation (and its repair of empty rows, unreachable for true rotations).
pub fn umat_to_misset(umat: &M3) -> [f64; 3] {
    let [
        mut uxx,
        mut uxy,
        mut uxz,
        mut uyx,
        mut uyy,
        mut uyz,
        mut uzx,
        mut uzy,
        mut uzz,
    ] = *umat;
    let norm_rows = |uxx: &mut f64,
                     uxy: &mut f64,
                     uxz: &mut f64,
                     uyx: &mut f64,
                     uyy: &mut f64,
                     uyz: &mut f64,
                     uzx: &mut f64,
                     uzy: &mut f64,
                     uzz: &mut f64| {
        let mx = (*uxx * *uxx + *uxy * *uxy + *uxz * *uxz).sqrt();
        let my = (*uyx * *uyx + *uyy * *uyy + *uyz * *uyz).sqrt();
        let mz = (*uzx * *uzx + *uzy * *uzy + *uzz * *uzz).sqrt();
        if mx > 0.0 {
            *uxx /= mx;
            *uxy /= mx;
            *uxz /= mx;
        }
        if my > 0.0 {
            *uyx /= my;
            *uyy /= my;
            *uyz /= my;
        }
        if mz > 0.0 {
            *uzx /= mz;
            *uzy /= mz;
            *uzz /= mz;
        }
        (mx, my, mz)
    };
    let (mx, my, mz) = norm_rows(
        &mut uxx, &mut uxy, &mut uxz, &mut uyx, &mut uyy, &mut uyz, &mut uzx, &mut uzy, &mut uzz,
    );
    if mx >= 0.0 && my <= 0.0 && mz <= 0.0 {
        (uyx, uyy, uyz) = (0.0, 1.0, 0.0);
        (uzx, uzy, uzz) = (0.0, 0.0, 1.0);
    }
    if mx <= 0.0 && my >= 0.0 && mz <= 0.0 {
        (uxx, uxy, uxz) = (1.0, 0.0, 0.0);
        (uzx, uzy, uzz) = (0.0, 0.0, 1.0);
    }
    if mx <= 0.0 && my <= 0.0 && mz >= 0.0 {
        (uxx, uxy, uxz) = (1.0, 0.0, 0.0);
        (uyx, uyy, uyz) = (0.0, 1.0, 0.0);
    }
    // Rows of zero length are rebuilt from the cross product of the other two (twice).
    for _ in 0..2 {
        let unitv = |x: f64, y: f64, z: f64| {
            let m = (x * x + y * y + z * z).sqrt();
            if m > 0.0 {
                (x / m, y / m, z / m)
            } else {
                (x, y, z)
            }
        };
        let xcy = unitv(
            uxy * uyz - uxz * uyy,
            uxz * uyx - uxx * uyz,
            uxx * uyy - uxy * uyx,
        );
        let ycz = unitv(
            uyy * uzz - uyz * uzy,
            uyz * uzx - uyx * uzz,
            uyx * uzy - uyy * uzx,
        );
        let zcx = unitv(
            uzy * uxz - uzz * uxy,
            uzz * uxx - uzx * uxz,
            uzx * uxy - uzy * uxx,
        );
        if mx <= 0.0 {
            (uxx, uxy, uxz) = ycz;
        }
        if my <= 0.0 {
            (uyx, uyy, uyz) = zcx;
        }
        if mz <= 0.0 {
            (uzx, uzy, uzz) = xcy;
        }
    }
    norm_rows(
        &mut uxx, &mut uxy, &mut uxz, &mut uyx, &mut uyy, &mut uyz, &mut uzx, &mut uzy, &mut uzz,
    );
    if uzx * uzx < 1.0 {
        [
            uzy.atan2(uzz),
            (-uzx).atan2((uzy * uzy + uzz * uzz).sqrt()),
            uyx.atan2(uxx),
        ]
    } else {
        [
            1f64.atan2(1.0) * 4.0,
            1f64.atan2(1.0) * 2.0,
            uxy.atan2(-uyy),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Park–Miller minimal standard, computed directly with 64-bit products (no Schrage).
    fn lehmer(x: i64) -> i64 {
        (x * IA) % IM
    }

    #[test]
    fn uniform_follows_park_miller_with_shuffle() {
        let mut r = Ran1::new();
        let mut seed = -42;
        let first = r.uniform(&mut seed);
        // Independent recomputation of the initialisation and first draw.
        let mut x = 42i64;
        let mut iv = [0i64; 32];
        for j in (0..40).rev() {
            x = lehmer(x);
            if j < 32 {
                iv[j] = x;
            }
        }
        let iy = iv[0];
        x = lehmer(x);
        let j = (iy / NDIV) as usize;
        let out = iv[j];
        assert_eq!(seed, x);
        assert_eq!(first, (out as f64 / IM as f64) as f32);
        assert!(first > 0.0 && first < 1.0);
    }

    #[test]
    fn seeds_zero_and_positive_restart_table() {
        let mut a = Ran1::new();
        let mut b = Ran1::new();
        let (mut s0, mut s1) = (0i64, -1i64);
        assert_eq!(a.uniform(&mut s0), b.uniform(&mut s1));
        // a positive seed continues the shared table once it exists
        let mut c = Ran1::new();
        let mut s = -5;
        c.uniform(&mut s);
        let mut t = 123;
        let mut d = c.clone();
        let mut t2 = 123;
        assert_eq!(c.uniform(&mut t), d.uniform(&mut t2));
        assert_ne!(t, 1);
    }

    /// The reference's Poisson deviate as it reads: `exp` for every pixel and candidate, ln k!
    /// by `gammln` each time.
    fn poisson_as_written(r: &mut Ran1, xm: f32, idum: &mut i64) -> f32 {
        if xm as f64 > 1.0e6 {
            return (xm as f64 + (xm as f64).sqrt() * r.gauss(idum) as f64) as f32;
        }
        if (xm as f64) < 12.0 {
            let g = ((-xm) as f64).exp() as f32;
            let (mut em, mut t) = (-1.0f32, 1.0f32);
            loop {
                em += 1.0;
                t *= r.uniform(idum);
                if !(t > g) {
                    return em;
                }
            }
        }
        let sq = (2.0 * xm as f64).sqrt() as f32;
        let alxm = (xm as f64).ln() as f32;
        let g: f32 = xm * alxm - gammln((xm as f64 + 1.0) as f32);
        loop {
            let (y, em) = loop {
                let y = (PI * r.uniform(idum) as f64).tan() as f32;
                let em: f32 = sq * y + xm;
                if !(em < 0.0) {
                    break (y, (em as f64).floor() as f32);
                }
            };
            let e: f32 = em * alxm - gammln((em as f64 + 1.0) as f32) - g;
            let t = (0.9 * (1.0 + (y * y) as f64) * (e as f64).exp()) as f32;
            if !(r.uniform(idum) > t) {
                return em;
            }
        }
    }

    #[test]
    fn poisson_draws_equal_the_reference_as_written() {
        // means over the branches and their edges: negative, 0, faint, < 12, 12, large, > 1e6
        let mut means: Vec<f32> = vec![-3.0, 0.0, 1e-30, 1e-6, 0.3, 11.999, 12.0, 12.5, 2e6];
        let mut x = 0.001f32;
        while x < 20_000.0 {
            means.push(x);
            x *= 1.07;
        }
        let (mut a, mut b) = (Ran1::new(), Ran1::new());
        let (mut sa, mut sb) = (-1234i64, -1234i64);
        let mut table = super::LnFactorials::default();
        for round in 0..300 {
            for (i, &m) in means.iter().enumerate() {
                let want = poisson_as_written(&mut b, m, &mut sb);
                let got = a.poisson(m, &mut sa, &mut table);
                assert_eq!(
                    got.to_bits(),
                    want.to_bits(),
                    "round {round}, mean {m} ({i})"
                );
            }
        }
        assert_eq!(sa, sb, "the generators drew as many uniforms");
    }

    #[test]
    fn exp_bounds_hold_and_decide_as_exp_does() {
        let mut e = -40.0f64;
        let mut k = 0u32;
        while e < 3.0 {
            let exp = e.exp();
            // the bounds as used: with their slack, on the right side of exp(e)
            assert!(exp_taylor5(e) * (1.0 - SLACK) < exp, "{e}");
            let den = exp_taylor5(-e);
            if den > 0.0 {
                assert!(1.0 / den * (1.0 + SLACK) > exp, "{e}");
            }
            if e <= 0.0 {
                assert!(below_exp_neg(-e) < ((e).exp() as f32) as f64, "{e}");
            }
            // uniforms at and beside the threshold t, and across (0, 1)
            let scale = 0.9 * (1.0 + (k % 7) as f64 * 0.3);
            let t = (scale * exp) as f32;
            let near = [
                t,
                f32::from_bits(t.to_bits().saturating_sub(1)),
                f32::from_bits(t.to_bits() + 1),
            ];
            for u in near.into_iter().chain((1..20).map(|j| j as f32 / 20.0)) {
                assert_eq!(
                    accepts(u, scale, e),
                    !(u > t),
                    "u {u}, e {e}, scale {scale}"
                );
            }
            e += 0.001;
            k += 1;
        }
    }

    #[test]
    fn poisson_mean_and_branches() {
        let mut r = Ran1::new();
        let mut table = super::LnFactorials::default();
        let mut seed = -7;
        for &mean in &[0.5f32, 5.0, 50.0, 5000.0] {
            let n = 4000;
            let s: f64 = (0..n)
                .map(|_| r.poisson(mean, &mut seed, &mut table) as f64)
                .sum();
            let m = s / n as f64;
            assert!((m - mean as f64).abs() < 5.0 * (mean as f64 / n as f64).sqrt() + 0.01);
        }
        let big = r.poisson(4e6, &mut seed, &mut table);
        assert!((big - 4e6).abs() < 2e4);
        assert_eq!(r.poisson(0.0, &mut seed, &mut table), 0.0);
        assert_eq!(r.poisson(-3.0, &mut seed, &mut table), 0.0);
    }

    #[test]
    fn ln_factorials_equal_gammln_and_draws_are_unchanged() {
        let mut t = super::LnFactorials::default();
        for (k, mean) in [
            (0u32, 12.0),
            (1, 12.0),
            (7, 12.0),
            (600, 500.0),
            (70_000, 12.0),
        ] {
            let k = k as f32;
            // twice: computed, then remembered (or computed again, far from the mean)
            let direct = gammln((k as f64 + 1.0) as f32).to_bits();
            assert_eq!(t.get(k, mean).to_bits(), direct);
            assert_eq!(t.get(k, mean).to_bits(), direct);
        }
        assert!(t.values.len() < 2048, "the far candidate grew the table");
        // one table across many draws gives the draws of a fresh table each time
        let (mut a, mut b) = (Ran1::new(), Ran1::new());
        let (mut sa, mut sb) = (-99i64, -99i64);
        let mut table = super::LnFactorials::default();
        for i in 0..3000 {
            let mean = 12.0 + (i % 97) as f32 * 3.7;
            let x = a.poisson(mean, &mut sa, &mut table);
            let y = b.poisson(mean, &mut sb, &mut super::LnFactorials::default());
            assert_eq!(x.to_bits(), y.to_bits(), "draw {i}");
        }
    }

    #[test]
    fn gammln_matches_factorials() {
        let mut f = 1.0f64;
        for n in 1..20 {
            f *= n as f64;
            let g = gammln((n + 1) as f32) as f64;
            assert!((g - f.ln()).abs() < 1e-5 * f.ln().max(1.0), "n={n}");
        }
    }

    #[test]
    fn cap_rotation_is_a_rotation_within_the_cap() {
        let mut r = Ran1::new();
        let mut seed = -12345678;
        for _ in 0..100 {
            let m = r.cap_rotation(0.1, &mut seed);
            // orthonormal
            for i in 0..3 {
                for j in 0..3 {
                    let d: f64 = (0..3).map(|k| m[3 * i + k] * m[3 * j + k]).sum();
                    assert!((d - if i == j { 1.0 } else { 0.0 }).abs() < 1e-12);
                }
            }
            let angle = ((m[0] + m[4] + m[8] - 1.0) / 2.0).clamp(-1.0, 1.0).acos();
            assert!(angle <= 0.1 + 1e-6);
        }
    }

    #[test]
    fn misset_angles_reproduce_the_matrix() {
        let mut r = Ran1::new();
        let mut seed = -777;
        let u = r.cap_rotation(90.0, &mut seed);
        let [rx, ry, rz] = umat_to_misset(&u);
        // rebuild R = Rz·Ry·Rx and compare
        let v = [0.3, 0.5, -0.8];
        let a = crate::vec3::rotate_xyz(&v, rx, ry, rz);
        let b = crate::vec3::rotate_umat(&v, &u);
        for k in 0..3 {
            assert!((a[k] - b[k]).abs() < 1e-12);
        }
    }
}
