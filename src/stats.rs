//! End-of-run statistics, computed in the reference's serial order and precision.

use crate::plan::RenderPlan;

/// The statistics the reference prints after the loop (`max_I`, `mean`, `rms`, `rmsd`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Stats {
    /// Largest pixel value (as stored, f32 widened) and the (Fdet, Sdet) position, metres, of
    /// the last sub-pixel of that pixel.
    pub max_i: f64,
    pub max_pos: [f64; 2],
    pub mean: f64,
    pub rms: f64,
    pub rmsd: f64,
    /// Rendered pixels (inside the ROI, not masked).
    pub count: usize,
}

/// Compute the statistics of a rendered image.
///
/// Mean and rms run over rendered pixels; the squares for rms are single precision, as in the
/// reference. The rmsd pass runs over every ROI pixel, masked ones included.
pub fn compute(plan: &RenderPlan, image: &[f32]) -> Stats {
    let mut max_i = 0.0f64;
    let mut max_pos = [0.0; 2];
    let mut sum = 0.0f64;
    let mut sumsq = 0.0f64;
    let mut n: i64 = 0;
    let last_sub = plan.oversample - 1;
    for s in 0..plan.spixels {
        for f in 0..plan.fpixels {
            if !plan.is_rendered(f, s) {
                continue;
            }
            let v = image[s * plan.fpixels + f];
            if v as f64 > max_i {
                max_i = v as f64;
                max_pos = [
                    plan.sub_position(f, last_sub),
                    plan.sub_position(s, last_sub),
                ];
            }
            sum += v as f64;
            sumsq += (v * v) as f64;
            n += 1;
        }
    }
    let count = n as usize;
    if n <= 0 {
        n = 1;
    }
    let mean = sum / n as f64;
    if n <= 1 {
        n = 2;
    }
    let rms = (sumsq / (n - 1) as f64).sqrt();
    let mut sq = 0.0f64;
    let mut m: i64 = 0;
    for s in 0..plan.spixels {
        for f in 0..plan.fpixels {
            let (fi, si) = (f as i64, s as i64);
            if fi < plan.roi[0] || fi > plan.roi[1] || si < plan.roi[2] || si > plan.roi[3] {
                continue;
            }
            let t = image[s * plan.fpixels + f] as f64 - mean;
            sq += t * t;
            m += 1;
        }
    }
    if m <= 1 {
        m = 2;
    }
    let rmsd = (sq / (m - 1) as f64).sqrt();
    Stats {
        max_i,
        max_pos,
        mean,
        rms,
        rmsd,
        count,
    }
}
