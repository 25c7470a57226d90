//! End-of-run statistics. For the exact kernel they are summed in the reference's serial order
//! and precision ([`compute`]); for the SIMD kernel, whose image differs from the reference's in
//! the last bits anyway, rows are summed in parallel and the row sums added in row order
//! ([`compute_rows`]), which is as deterministic and does not depend on the thread count.

use crate::plan::RenderPlan;

/// The statistics the reference prints after the loop (`max_I`, `mean`, `rms`, `rmsd`), with
/// the loop's sums they come from.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Stats {
    /// Largest pixel value (as stored, f32 widened) and the (Fdet, Sdet) position, metres, of
    /// the last sub-pixel of that pixel.
    pub max_i: f64,
    pub max_pos: [f64; 2],
    /// Σ value and Σ value² (each square in single precision) over rendered pixels: the
    /// reference's `sum` and `sumsqr` as its loop leaves them.
    pub sum: f64,
    pub sumsq: f64,
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
            if let Some(m) = mask
                && m[f] == 0
            {
                continue;
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
    finish(plan, image, max_i, max_pos, sum, sumsq, n)
}

/// The reference's statistics after its loop, from what the loop accumulated (the largest value
/// and its position, `sum`, `sumsqr` and the count `sumn`): mean and rms from the sums (a count
/// ≤ 0 counts as 1 for the mean, ≤ 1 as 2 for the rms), then the rmsd pass about that mean over
/// every ROI pixel of `image`, masked ones included, in raster order.
pub fn finish(
    plan: &RenderPlan,
    image: &[f32],
    max_i: f64,
    max_pos: [f64; 2],
    sum: f64,
    sumsq: f64,
    mut n: i64,
) -> Stats {
    let (fr, sr) = roi_ranges(plan);
    let count = n.max(0) as usize;
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
        sum,
        sumsq,
        mean,
        rms,
        rmsd,
        count,
    }
}

/// The statistics of a render: for the exact kernel summed in the reference's serial order
/// ([`compute`]), otherwise the ones the render took row by row ([`compute_rows`]). What the
/// CLI prints and the C API returns.
pub fn of(plan: &RenderPlan, r: &crate::kernel::Rendered) -> Stats {
    if r.exact {
        compute(plan, &r.image)
    } else {
        r.stats.unwrap_or_else(|| compute_rows(plan, &r.image))
    }
}

/// One row's contribution to the statistics (zero for a row outside the ROI).
///
/// Besides the sums over rendered pixels it carries, for the rmsd, the mean and the sum of
/// squared deviations from that mean over every ROI pixel of the row (masked ones included),
/// so rows merge exactly like Chan et al.'s parallel variance: no pass over the image needs
/// the global mean.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct RowStats {
    sum: f64,
    sumsq: f64,
    n: i64,
    /// Largest value and its fast index (first occurrence).
    max: f32,
    max_f: Option<usize>,
    /// ROI pixels of the row, their mean and Σ(v − mean)².
    all: usize,
    all_mean: f64,
    all_m2: f64,
    /// Rendered pixels that are NaN or infinite (and the fast index of the first), and
    /// negative ones.
    nonfinite: usize,
    first_nonfinite: Option<usize>,
    negative: usize,
}

/// Rendered pixels an image must be checked for before it is written: NaN or infinite ones
/// (with the (fast, slow) position of the first in raster order) and negative ones.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Unusual {
    pub nonfinite: usize,
    pub first_nonfinite: Option<[usize; 2]>,
    pub negative: usize,
}

/// Partial sums in eight interleaved accumulators (a fixed order, so deterministic), which
/// breaks the add latency chain and vectorises.
const ACC: usize = 8;

/// Eight interleaved partial sums, sums of squares, maxima and minima (of the values and 0).
struct Partial {
    sum: [f64; ACC],
    sumsq: [f64; ACC],
    max: [f32; ACC],
    min: [f32; ACC],
}

impl Partial {
    #[inline(always)]
    fn add(&mut self, j: usize, v: f32) {
        self.sum[j] += v as f64;
        self.sumsq[j] += (v * v) as f64;
        self.max[j] = if v > self.max[j] { v } else { self.max[j] };
        self.min[j] = if v < self.min[j] { v } else { self.min[j] };
    }
}

/// The statistics of row `s` of a rendered image (`row` holds the row's fpixels values).
pub fn row_stats(plan: &RenderPlan, s: usize, row: &[f32]) -> RowStats {
    let (fr, sr) = roi_ranges(plan);
    if !sr.contains(&s) || fr.is_empty() {
        return RowStats::default();
    }
    let f = plan.fpixels;
    let mask = plan.mask.as_ref().map(|m| &m[s * f..(s + 1) * f]);
    let keep = |x: usize| mask.is_none_or(|m| m[x] != 0);
    let mut p = Partial {
        sum: [0.0; ACC],
        sumsq: [0.0; ACC],
        max: [0.0; ACC],
        min: [0.0; ACC],
    };
    let vals = &row[fr.clone()];
    let (n, all_sum) = match mask {
        None => {
            let mut chunks = vals.chunks_exact(ACC);
            for c in chunks.by_ref() {
                for (j, &v) in c.iter().enumerate() {
                    p.add(j, v);
                }
            }
            for (j, &v) in chunks.remainder().iter().enumerate() {
                p.add(j, v);
            }
            (fr.len() as i64, None)
        }
        Some(m) => {
            let mut n = 0;
            let mut all = [0f64; ACC];
            for (i, (&v, &k)) in vals.iter().zip(&m[fr.clone()]).enumerate() {
                p.add(i % ACC, if k != 0 { v } else { 0.0 });
                all[i % ACC] += v as f64;
                n += (k != 0) as i64;
            }
            (n, Some(all.iter().sum::<f64>()))
        }
    };
    let max = p.max.iter().fold(0f32, |a, &v| if v > a { v } else { a });
    let max_f = (max > 0.0)
        .then(|| first_equal(vals, max, |i| keep(fr.start + i)).map(|i| fr.start + i))
        .flatten();
    let sum: f64 = p.sum.iter().sum();
    // a NaN or an infinity among the rendered values (masked ones were added as 0) leaves
    // the sum non-finite (f32 values cannot overflow an f64 sum of any image's size), and a
    // negative one the minimum below 0: only such a row is searched pixel by pixel
    let min = p.min.iter().fold(0f32, |a, &v| if v < a { v } else { a });
    let (nonfinite, first_nonfinite, negative) = if sum.is_finite() && min >= 0.0 {
        (0, None, 0)
    } else {
        unusual_in(vals, |i| keep(fr.start + i), fr.start)
    };
    let all_mean = all_sum.unwrap_or(sum) / vals.len() as f64;
    // lane j sums the elements i ≡ j (mod ACC) in order, as the chunks below give them (the
    // exact chunks first, so that the accumulators stay in registers)
    let mut m2 = [0f64; ACC];
    let mut chunks = vals.chunks_exact(ACC);
    for chunk in chunks.by_ref() {
        for (a, &v) in m2.iter_mut().zip(chunk) {
            let t = v as f64 - all_mean;
            *a += t * t;
        }
    }
    for (a, &v) in m2.iter_mut().zip(chunks.remainder()) {
        let t = v as f64 - all_mean;
        *a += t * t;
    }
    RowStats {
        sum,
        sumsq: p.sumsq.iter().sum(),
        n,
        max,
        max_f,
        all: vals.len(),
        all_mean,
        all_m2: m2.iter().sum(),
        nonfinite,
        first_nonfinite,
        negative,
    }
}

/// Among `vals` (a row's ROI pixels, the first at fast index `f0`) the kept ones that are NaN
/// or infinite (their count and the first one's fast index) and the negative ones.
fn unusual_in(
    vals: &[f32],
    keep: impl Fn(usize) -> bool,
    f0: usize,
) -> (usize, Option<usize>, usize) {
    let (mut nonfinite, mut first, mut negative) = (0, None, 0);
    for (i, v) in vals.iter().enumerate() {
        if !keep(i) || (v.is_finite() && *v >= 0.0) {
            continue;
        }
        if v.is_finite() {
            negative += 1;
        } else {
            first.get_or_insert(f0 + i);
            nonfinite += 1;
        }
    }
    (nonfinite, first, negative)
}

/// The unusual pixels of `image`, searched for row by row: a row's ROI pixels are first tested
/// all at once (the test vectorises: usually every one is a finite value ≥ 0, and NaN fails
/// both comparisons), and only a row that fails is searched pixel by pixel.
pub fn unusual(plan: &RenderPlan, image: &[f32]) -> Unusual {
    let (fr, sr) = roi_ranges(plan);
    let f = plan.fpixels;
    let mut u = Unusual::default();
    for s in sr {
        let vals = &image[s * f + fr.start..s * f + fr.end];
        if vals
            .iter()
            .fold(true, |ok, v| ok & (*v >= 0.0) & (*v <= f32::MAX))
        {
            continue;
        }
        let mask = plan.mask.as_ref().map(|m| &m[s * f..(s + 1) * f]);
        let keep = |i: usize| mask.is_none_or(|m| m[fr.start + i] != 0);
        u.add_row(s, unusual_in(vals, keep, fr.start));
    }
    u
}

/// The unusual pixels of an image from its rows' [`RowStats`] (`rows[s]` for row s).
pub fn unusual_of(rows: &[RowStats]) -> Unusual {
    let mut u = Unusual::default();
    for (s, r) in rows.iter().enumerate() {
        u.add_row(s, (r.nonfinite, r.first_nonfinite, r.negative));
    }
    u
}

impl Unusual {
    /// Add row `s`'s NaN or infinite pixels (with the first one's fast index) and negative
    /// ones; rows come in order.
    fn add_row(&mut self, s: usize, (nonfinite, first, negative): (usize, Option<usize>, usize)) {
        self.nonfinite += nonfinite;
        self.negative += negative;
        if self.first_nonfinite.is_none() {
            self.first_nonfinite = first.map(|f| [f, s]);
        }
    }
}

/// The first index i with `vals[i] == x` and `keep(i)`: blocks of [`ACC`] values are compared
/// at once (vectorisable) and only a block holding `x` is searched element by element.
fn first_equal(vals: &[f32], x: f32, keep: impl Fn(usize) -> bool) -> Option<usize> {
    let mut chunks = vals.chunks_exact(ACC);
    let mut base = 0;
    for c in chunks.by_ref() {
        if c.iter().fold(false, |any, &v| any | (v == x))
            && let Some(j) = (0..ACC).find(|&j| c[j] == x && keep(base + j))
        {
            return Some(base + j);
        }
        base += ACC;
    }
    let rest = chunks.remainder();
    (0..rest.len())
        .find(|&j| rest[j] == x && keep(base + j))
        .map(|j| base + j)
}

/// The statistics from every row's [`RowStats`] (`rows[s]` for row s), added in row order.
pub fn combine(plan: &RenderPlan, rows: &[RowStats]) -> Stats {
    let (mut sum, mut sumsq, mut n) = (0.0f64, 0.0f64, 0i64);
    let (mut max_i, mut max_at) = (0.0f64, None);
    for (s, r) in rows.iter().enumerate() {
        sum += r.sum;
        sumsq += r.sumsq;
        n += r.n;
        if r.max as f64 > max_i {
            max_i = r.max as f64;
            max_at = r.max_f.map(|x| (x, s));
        }
    }
    let last_sub = plan.oversample - 1;
    let max_pos = max_at.map_or([0.0; 2], |(x, s)| {
        [
            plan.sub_position(x, last_sub),
            plan.sub_position(s, last_sub),
        ]
    });
    let count = n as usize;
    let mean = sum / n.max(1) as f64;
    let rms = (sumsq / (n.max(2) - 1) as f64).sqrt();
    // Σ over ROI pixels of (v − mean)², row by row: Σ(v − m_r)² + count_r·(m_r − mean)²
    let (mut sq, mut m) = (0.0f64, 0usize);
    for r in rows {
        let d = r.all_mean - mean;
        sq += r.all_m2 + r.all as f64 * d * d;
        m += r.all;
    }
    let m = (m as i64).max(2);
    Stats {
        max_i,
        max_pos,
        sum,
        sumsq,
        mean,
        rms,
        rmsd: (sq / (m - 1) as f64).sqrt(),
        count,
    }
}

/// As [`compute`], with the sums taken per row in parallel ([`row_stats`]) and the rows added
/// in row order ([`combine`]): the same maximum and position, sums that differ from the serial
/// ones only by rounding, and no dependence on the thread count. The SIMD render computes the
/// same row statistics as it goes.
pub fn compute_rows(plan: &RenderPlan, image: &[f32]) -> Stats {
    use rayon::prelude::*;
    let f = plan.fpixels.max(1);
    let rows: Vec<RowStats> = image
        .par_chunks(f)
        .enumerate()
        .map(|(s, row)| row_stats(plan, s, row))
        .collect();
    combine(plan, &rows)
}

#[cfg(test)]
mod tests {
    use super::first_equal;

    /// The blocked search finds what a plain search finds: values that repeat, the target in
    /// the remainder, in a block whose matches are all masked, and absent.
    #[test]
    fn first_equal_is_the_first_kept_match() {
        let mut x = 12345u32;
        let mut next = || {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            (x >> 16) % 5
        };
        for len in [0, 1, 7, 8, 9, 31, 64, 77] {
            let vals: Vec<f32> = (0..len).map(|_| next() as f32).collect();
            let masked: Vec<bool> = (0..len).map(|_| next() == 0).collect();
            for target in [0.0, 1.0, 4.0, 7.0] {
                let keep = |i: usize| !masked[i];
                let plain = (0..len).find(|&i| vals[i] == target && keep(i));
                assert_eq!(first_equal(&vals, target, keep), plain, "{len} {target}");
                let all = (0..len).find(|&i| vals[i] == target);
                assert_eq!(first_equal(&vals, target, |_| true), all, "{len} {target}");
            }
        }
    }
}
