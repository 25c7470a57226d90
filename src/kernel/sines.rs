//! Sines for the exact kernel with a bound on their difference from libm's.
//!
//! The exact kernel's images must equal the reference's bit for bit, and the reference calls
//! libm's `sin` six times per step (the grating function), which is most of its time. The exact
//! kernel therefore first renders a pixel with these sines (a few vector operations each,
//! instead of a libm call), carrying a bound on how far every quantity can be from the value
//! the libm sines would give, and keeps the pixel only when every value inside the final bound
//! rounds to the same single-precision number; otherwise it renders the pixel again with
//! libm's `sin` (see `exact.rs`). Either way the pixel is the reference's.
//!
//! Method: x = kπ + r with k the nearest integer to x/π and r reduced with π split into three
//! parts (the first of 27 significant bits, the second of 25, so that k·P1 and k·P2 are exact
//! for |k| < 2²⁶, and
//! x − k·P1 is exact by Sterbenz's lemma), then sin x = (−1)ᵏ·sin r by the Taylor series to
//! r²¹ (|r| ≤ π/2: the first omitted term, r²³/23!, is below 1.3e-18 relative). Plain
//! multiplications and additions only, no fused multiply-add, so the bound holds in every
//! build; the loop over a batch of arguments vectorises.
//!
//! Bound on |sin'(x) − libm sin(x)| / |sin x|, per argument:
//! * series, its coefficients and its evaluation (Estrin's scheme; z⁸ by repeated squaring
//!   carries up to 15 rounding errors, on the smallest coefficients): < 17 rounding errors of
//!   2⁻⁵³ in the correction r·z·q, which is at most 0.65 of |sin r| for |r| ≤ π/2, so below
//!   2⁻⁴⁸·⁹ of sin r; the truncation below 2⁻⁵⁹;
//! * the reduction: 2 rounding errors of r, plus |k|·2⁻¹⁰⁷ absolute (the part of π beyond the
//!   three pieces, 8.7e-35 per unit of k, and the rounding of k·P3 and of r1 − k·P2);
//!   its relative effect on sin r is at most its relative effect on r (|r·cot r| ≤ 1);
//! * libm's own error: glibc's `sin` is within one ulp (2⁻⁵² relative); two are allowed.
//!
//! Sum below 2⁻⁴⁸, rounded up with a factor 8: [`REL`] + (|k| + 1)·[`ABS_K`]/|r|. Arguments
//! beyond ±2²⁷, non-finite ones and results below 1e-290 get an infinite bound (the caller
//! then uses libm).

/// Relative part of the bound (see the module notes).
const REL: f64 = 1.0 / 35_184_372_088_832.0; // 2^-45
/// Absolute error of the reduced argument per unit of |k| (2⁻¹⁰⁰, the analysis gives 2⁻¹⁰⁷).
const ABS_K: f64 = 7.888_609_052_210_118e-31; // 2^-100
/// Largest |x| (2²⁷: |k| ≤ 2²⁵·⁴ < 2²⁶).
const MAX_ARG: f64 = 134_217_728.0;
/// 1.5·2⁵²: (y + M) − M is y rounded to the nearest integer, ties to even, for |y| < 2⁵¹.
const M: f64 = 6_755_399_441_055_744.0;
/// π = P1 + P2 + P3 + 8.7e-35; P1 has 27 significant bits, P2 25.
const P1: f64 = 3.141_592_651_605_606;
const P2: f64 = 1.984_187_147_918_703_4e-9;
const P3: f64 = 1.144_237_745_221_966_4e-17;
/// (−1)ⁿ/(2n+1)! for n = 1..10.
const C: [f64; 10] = [
    -0.166_666_666_666_666_66,
    0.008_333_333_333_333_333,
    -0.000_198_412_698_412_698_4,
    2.755_731_922_398_589_3e-6,
    -2.505_210_838_544_172e-8,
    1.605_904_383_682_161_3e-10,
    -7.647_163_731_819_816e-13,
    2.811_457_254_345_520_6e-15,
    -8.220_635_246_624_33e-18,
    1.957_294_106_339_126_3e-20,
];

/// sin(x) and the bound on its relative difference from libm's sin(x) (infinite where none
/// holds, see the module notes).
#[inline(always)]
pub fn sine(x: f64) -> (f64, f64) {
    let k = (x * std::f64::consts::FRAC_1_PI + M) - M;
    let r = ((x - k * P1) - k * P2) - k * P3;
    // q(z) = Σ C[i]·zⁱ by Estrin's scheme: a short dependency chain, as a pixel's few sines
    // are waited for one after the other
    let z = r * r;
    let z2 = z * z;
    let z4 = z2 * z2;
    let z8 = z4 * z4;
    let a = [
        C[0] + C[1] * z,
        C[2] + C[3] * z,
        C[4] + C[5] * z,
        C[6] + C[7] * z,
        C[8] + C[9] * z,
    ];
    let b = [a[0] + a[1] * z2, a[2] + a[3] * z2];
    let q = (b[0] + b[1] * z4) + a[4] * z8;
    let p = r + (r * z) * q;
    let half = k * 0.5;
    let odd = half - ((half + M) - M) != 0.0;
    let s = if odd { -p } else { p };
    // (NaN fails the range test)
    let ok = x.abs() <= MAX_ARG && p.abs() >= 1e-290;
    let bound = REL + (k.abs() + 1.0) * ABS_K / r.abs();
    (s, if ok { bound } else { f64::INFINITY })
}

/// [`sine`] of every `x`, into `s` and `bound` (as long as `x`).
pub fn sines(x: &[f64], s: &mut [f64], bound: &mut [f64]) {
    for ((&x, s), b) in x.iter().zip(s.iter_mut()).zip(bound.iter_mut()) {
        (*s, *b) = sine(x);
    }
}

#[cfg(test)]
mod tests {
    use super::{MAX_ARG, sine};

    /// Against this machine's libm: |sin' − sin| ≤ bound·|sin| for arguments of every scale
    /// the kernel meets (π·h and N·π·h), near multiples of π (where r is tiny) included.
    #[test]
    fn the_bound_holds_against_libm() {
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 11) as f64 / (1u64 << 53) as f64
        };
        let mut checked = 0;
        let mut worst: f64 = 0.0;
        for i in 0..400_000 {
            let scale = [1e-6, 1e-3, 1.0, 10.0, 1e3, 1e5, MAX_ARG][i % 7];
            let mut a = (2.0 * next() - 1.0) * scale;
            if i % 5 == 0 {
                // π·h near an integer h, as at a Bragg reflection
                let h = (a / std::f64::consts::PI).round() + (next() - 0.5) * 1e-9;
                a = std::f64::consts::PI * h;
            }
            let (s, bound) = sine(a);
            let libm = a.sin();
            if bound.is_finite() {
                let diff = (s - libm).abs();
                assert!(
                    diff <= bound * libm.abs(),
                    "x = {a:e}: {s:e} vs libm {libm:e}, bound {bound:e}"
                );
                // (where the reduction's part of the bound is small, against the rest)
                if bound <= 2.0 * super::REL {
                    worst = worst.max(diff / (libm.abs() * super::REL));
                }
                checked += 1;
            }
        }
        assert!(checked > 390_000, "only {checked} arguments had a bound");
        // the bound has room (the observed error is a small part of it) but is not loose far
        // beyond the errors seen, which would only cost retries
        assert!(
            (1e-3..0.1).contains(&worst),
            "worst error {worst} of the relative bound REL"
        );
    }

    #[test]
    fn no_bound_where_none_holds() {
        for x in [f64::NAN, f64::INFINITY, -f64::INFINITY, 2.0 * MAX_ARG, 0.0] {
            assert!(sine(x).1.is_infinite(), "{x}");
        }
    }
}
