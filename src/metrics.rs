//! Image comparison metrics (parity tests, the parity tool, benchmarks).

/// How closely an image matches a reference image of the same size.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Metrics {
    pub pixels: usize,
    /// Fraction of pixels whose float32 bits are identical.
    pub identical_fraction: f64,
    /// Fraction within one float32 ulp (ordered-bits distance ≤ 1).
    pub within_1ulp_fraction: f64,
    /// Largest ordered-bits distance (ulps) between corresponding pixels.
    pub max_ulp: u64,
    /// Largest absolute difference.
    pub max_abs_diff: f64,
    /// Pearson correlation (1 when both images are constant: the sum ratio then compares them;
    /// 0 when only one is).
    pub correlation: f64,
    /// Sums of both images and their ratio (this / reference).
    pub sum: f64,
    pub ref_sum: f64,
    pub sum_ratio: f64,
    /// Pixels that are NaN or infinite in this image but finite in the reference.
    pub non_finite: usize,
}

/// Map float bits to a monotonically ordered integer (so ulp distance is a difference).
fn ordered(x: f32) -> i64 {
    let b = x.to_bits() as i32;
    if b < 0 {
        -((b & 0x7fff_ffff) as i64) - 1
    } else {
        b as i64
    }
}

/// Distance in float32 ulps between two values (0 for identical bits, and for +0/−0).
pub fn ulp_distance(a: f32, b: f32) -> u64 {
    if a.to_bits() == b.to_bits() {
        return 0;
    }
    if a.is_nan() || b.is_nan() {
        return u64::MAX;
    }
    (ordered(a) - ordered(b)).unsigned_abs()
}

/// Compare `img` with `reference`. Panics if the sizes differ.
pub fn compare(img: &[f32], reference: &[f32]) -> Metrics {
    assert_eq!(img.len(), reference.len(), "image sizes differ");
    let n = img.len();
    let (mut same, mut near, mut max_ulp, mut max_abs, mut nonfin) =
        (0usize, 0usize, 0u64, 0f64, 0usize);
    let (mut sa, mut sb) = (0f64, 0f64);
    let (mut saa, mut sbb, mut sab) = (0f64, 0f64, 0f64);
    for (&a, &b) in img.iter().zip(reference) {
        let u = ulp_distance(a, b);
        if u == 0 {
            same += 1;
        }
        if u <= 1 {
            near += 1;
        }
        max_ulp = max_ulp.max(u);
        if !a.is_finite() && b.is_finite() {
            nonfin += 1;
        }
        let (a, b) = (a as f64, b as f64);
        max_abs = max_abs.max((a - b).abs());
        sa += a;
        sb += b;
    }
    let nf = n.max(1) as f64;
    // second pass about the means (no cancellation when the spread is small)
    let (ma, mb) = (sa / nf, sb / nf);
    for (&a, &b) in img.iter().zip(reference) {
        let (da, db) = (a as f64 - ma, b as f64 - mb);
        saa += da * da;
        sbb += db * db;
        sab += da * db;
    }
    let (cov, va, vb) = (sab / nf, saa / nf, sbb / nf);
    let correlation = if va > 0.0 && vb > 0.0 {
        cov / (va.sqrt() * vb.sqrt())
    } else if va == 0.0 && vb == 0.0 {
        // both images constant: perfectly (linearly) related; their level is the sum ratio's
        1.0
    } else {
        0.0
    };
    Metrics {
        pixels: n,
        identical_fraction: same as f64 / nf,
        within_1ulp_fraction: near as f64 / nf,
        max_ulp,
        max_abs_diff: max_abs,
        correlation,
        sum: sa,
        ref_sum: sb,
        sum_ratio: if sb != 0.0 {
            sa / sb
        } else if sa == 0.0 {
            1.0
        } else {
            f64::INFINITY
        },
        non_finite: nonfin,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ulps() {
        assert_eq!(ulp_distance(1.0, 1.0), 0);
        assert_eq!(ulp_distance(1.0, f32::from_bits(1.0f32.to_bits() + 1)), 1);
        assert_eq!(ulp_distance(0.0, -0.0), 1);
        assert_eq!(ulp_distance(f32::from_bits(1), -f32::from_bits(1)), 3);
    }

    #[test]
    fn metrics_of_identical_and_scaled_images() {
        let a = vec![1.0f32, 2.0, 3.0, 4.0];
        let m = compare(&a, &a);
        assert_eq!(m.identical_fraction, 1.0);
        assert!((m.correlation - 1.0).abs() < 1e-12);
        assert_eq!(m.sum_ratio, 1.0);
        let b: Vec<f32> = a.iter().map(|x| x * 2.0).collect();
        let m = compare(&b, &a);
        assert_eq!(m.identical_fraction, 0.0);
        assert!((m.correlation - 1.0).abs() < 1e-12);
        assert!((m.sum_ratio - 2.0).abs() < 1e-12);
        assert_eq!(m.max_abs_diff, 4.0);
        let c = vec![4.0f32, 3.0, 2.0, 1.0];
        assert!((compare(&c, &a).correlation + 1.0).abs() < 1e-12);
    }
}
