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

/// The ROI clipped to the detector: (fast range, slow range), both inclusive-exclusive.
pub fn roi_ranges(plan: &RenderPlan) -> (std::ops::Range<usize>, std::ops::Range<usize>) {
    let clip = |lo: i64, hi: i64, n: usize| {
        let a = lo.max(0) as usize;
        let b = (hi + 1).clamp(0, n as i64) as usize;
        a.min(b)..b
    };
    (
        clip(plan.roi[0], plan.roi[1], plan.fpixels),
        clip(plan.roi[2], plan.roi[3], plan.spixels),
    )
}

/// The largest rendered pixel value (0 if none is positive) and its index (first occurrence).
pub fn max(plan: &RenderPlan, image: &[f32]) -> (f64, Option<usize>) {
    let (fr, sr) = roi_ranges(plan);
    let mut best = 0.0f32;
    let mut at = None;
    for s in sr {
        let row = &image[s * plan.fpixels..(s + 1) * plan.fpixels];
        let mask = plan
            .mask
            .as_ref()
            .map(|m| &m[s * plan.fpixels..(s + 1) * plan.fpixels]);
        // the row's maximum first (vectorisable), then its position only when it is a new best
        let row_max = fr
            .clone()
            .filter(|&f| mask.is_none_or(|m| m[f] != 0))
            .map(|f| row[f])
            .fold(0.0f32, |a, v| if v > a { v } else { a });
        if row_max > best {
            best = row_max;
            at = fr
                .clone()
                .find(|&f| row[f] == row_max && mask.is_none_or(|m| m[f] != 0))
                .map(|f| s * plan.fpixels + f);
        }
    }
    (best as f64, at)
}

/// Compute the statistics of a rendered image.
///
/// Mean and rms run over rendered pixels; the squares for rms are single precision, as in the
/// reference. The rmsd pass runs over every ROI pixel, masked ones included.
pub fn compute(plan: &RenderPlan, image: &[f32]) -> Stats {
    let (fr, sr) = roi_ranges(plan);
    let mut max_i = 0.0f64;
    let mut max_at = None;
    let mut sum = 0.0f64;
    let mut sumsq = 0.0f64;
    let mut n: i64 = 0;
    for s in sr.clone() {
        let row = &image[s * plan.fpixels..(s + 1) * plan.fpixels];
        let mask = plan
            .mask
            .as_ref()
            .map(|m| &m[s * plan.fpixels..(s + 1) * plan.fpixels]);
        for f in fr.clone() {
            if let Some(m) = mask {
                if m[f] == 0 {
                    continue;
                }
            }
            let v = row[f];
            if v as f64 > max_i {
                max_i = v as f64;
                max_at = Some((f, s));
            }
            sum += v as f64;
            sumsq += (v * v) as f64;
            n += 1;
        }
    }
    let last_sub = plan.oversample - 1;
    let max_pos = max_at.map_or([0.0; 2], |(f, s)| {
        [
            plan.sub_position(f, last_sub),
            plan.sub_position(s, last_sub),
        ]
    });
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
    let mut m = (fr.len() * sr.len()) as i64;
    for s in sr {
        for &v in &image[s * plan.fpixels + fr.start..s * plan.fpixels + fr.end] {
            let t = v as f64 - mean;
            sq += t * t;
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
