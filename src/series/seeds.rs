//! Per-image seeds and draws: pure functions of a base seed and the image number, never of
//! the rank, the thread or the time.
//!
//! With `S` the base seed as typed (`-seed S`, `-misset_seed S`, a 32-bit integer), `i` the
//! image number (from 1) and `T` a constant per stream ([`Stream`]), all in 64-bit unsigned
//! arithmetic modulo 2⁶⁴:
//!
//! ```text
//! z(S, i, T)   = splitmix64(splitmix64(T + (S mod 2³²)) + i)
//! seed(S, 1)   = S                                   (image 1 is the run of the options given)
//! seed(S, i)   = 1 + z(S, i, T) mod 2147483646      (i ≥ 2: from 1 to 2³¹ − 2)
//! uniform(S, i, T, k) = (⌊z(S, i, T + k) / 2¹¹⌋ + ½) / 2⁵³   (in (0, 1), k = 0, 1, …)
//! ```
//!
//! `splitmix64(x)` is Steele, Lea and Flood's mixing function (as in Java's SplittableRandom):
//! `x += 0x9E3779B97F4A7C15; x = (x ^ x>>30)·0xBF58476D1CE4E5B9; x = (x ^ x>>27)·0x94D049BB133111EB;
//! x ^ x>>31`.

/// The independent streams drawn from a base seed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stream {
    /// The noise seed (`-seed`).
    Noise,
    /// The random-orientation seed (`-misset_seed`).
    Misset,
    /// The per-image fluence (`-random_fluence`, from `-seed`).
    Fluence,
    /// The per-image unit-cell count (`-random_N`, from `-seed`).
    Cells,
}

impl Stream {
    /// The stream's constant T: its name's bytes, as a big-endian integer.
    pub fn constant(self) -> u64 {
        let name: &[u8] = match self {
            Stream::Noise => b"noise",
            Stream::Misset => b"misset",
            Stream::Fluence => b"fluence",
            Stream::Cells => b"cells",
        };
        name.iter().fold(0u64, |a, &b| (a << 8) | b as u64)
    }
}

/// Steele, Lea and Flood's splitmix64 finaliser.
pub fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// The 64-bit draw z(S, i, T) of image `i` from base seed `base` in stream constant `t`.
fn z(base: i32, image: u64, t: u64) -> u64 {
    splitmix64(splitmix64(t.wrapping_add(base as u32 as u64)).wrapping_add(image))
}

/// The seed of image `image` (from 1): the base seed itself for image 1, else a seed from 1
/// to 2³¹ − 2 (as typed after `-seed`; the program stores it negated, as the reference does).
pub fn seed(base: i32, image: u64, stream: Stream) -> i32 {
    if image == 1 {
        return base;
    }
    (1 + z(base, image, stream.constant()) % 2_147_483_646) as i32
}

/// The `k`-th uniform deviate in (0, 1) of image `image` in `stream`.
pub fn uniform(base: i32, image: u64, stream: Stream, k: u64) -> f64 {
    let bits = z(base, image, stream.constant().wrapping_add(k)) >> 11;
    (bits as f64 + 0.5) / (1u64 << 53) as f64
}

/// A fluence drawn for image `image`: log-normal with mean `mean` and relative rms `rel`,
/// `mean·exp(σ·g − σ²/2)` with σ² = ln(1 + rel²) and g = √(−2 ln u₀)·cos(2π u₁) (Box–Muller).
pub fn fluence(base: i32, image: u64, mean: f64, rel: f64) -> f64 {
    let sigma = (1.0 + rel * rel).ln().sqrt();
    let u0 = uniform(base, image, Stream::Fluence, 0);
    let u1 = uniform(base, image, Stream::Fluence, 1);
    let g = (-2.0 * u0.ln()).sqrt() * (2.0 * std::f64::consts::PI * u1).cos();
    mean * (sigma * g - sigma * sigma / 2.0).exp()
}

/// A unit-cell count drawn for image `image`, uniform from `lo` to `hi`.
pub fn cells(base: i32, image: u64, lo: u32, hi: u32) -> u32 {
    let span = (hi - lo) as u64 + 1;
    lo + (z(base, image, Stream::Cells.constant()) % span) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix_reference_values() {
        // the first outputs of SplittableRandom(0).nextLong()
        assert_eq!(splitmix64(0), 0xE220_A839_7B1D_CDAF);
        assert_eq!(splitmix64(0x9E37_79B9_7F4A_7C15), 0x6E78_9E6A_A1B9_65F4);
    }

    #[test]
    fn seeds_are_pure_and_in_range() {
        assert_eq!(seed(42, 1, Stream::Noise), 42);
        assert_eq!(seed(-7, 1, Stream::Misset), -7);
        let a: Vec<i32> = (2..1000).map(|i| seed(42, i, Stream::Noise)).collect();
        let b: Vec<i32> = (2..1000).map(|i| seed(42, i, Stream::Noise)).collect();
        assert_eq!(a, b);
        assert!(a.iter().all(|s| (1..=2_147_483_646).contains(s)));
        // streams and base seeds differ
        assert_ne!(seed(42, 2, Stream::Noise), seed(42, 2, Stream::Misset));
        assert_ne!(seed(42, 2, Stream::Noise), seed(43, 2, Stream::Noise));
        let mut sorted = a.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), a.len());
    }

    #[test]
    fn draws_have_the_stated_distributions() {
        let n = 20000;
        let f: Vec<f64> = (1..=n).map(|i| fluence(5, i, 1e24, 0.2)).collect();
        let mean = f.iter().sum::<f64>() / n as f64;
        let rms = (f.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64).sqrt();
        assert!((mean / 1e24 - 1.0).abs() < 0.01, "{mean}");
        assert!((rms / mean - 0.2).abs() < 0.01, "{rms}");
        assert!(f.iter().all(|x| *x > 0.0));
        let c: Vec<u32> = (1..=n).map(|i| cells(5, i, 3, 7)).collect();
        assert!(c.iter().all(|x| (3..=7).contains(x)));
        for v in 3..=7 {
            let k = c.iter().filter(|x| **x == v).count();
            assert!((k as f64 / n as f64 - 0.2).abs() < 0.02, "{v}: {k}");
        }
        assert_eq!(fluence(5, 1, 1e24, 0.0), 1e24);
    }
}
