//! Images derived from the float image: the scaled SMV integer image, the PGM greymap and the
//! Poisson-noise image, with the reference's scaling, rounding, clipping and random draws.

use crate::cfmt::c_int;
use crate::plan::RenderPlan;
use crate::rng::Ran1;

/// Indices of the ROI pixels in raster order.
fn roi_indices(plan: &RenderPlan) -> impl Iterator<Item = usize> + '_ {
    let (fr, sr) = crate::stats::roi_ranges(plan);
    sr.flat_map(move |s| fr.clone().map(move |f| s * plan.fpixels + f))
}

/// Scale of the integer image: `-scale` when positive, else 55000/max_I (1 if max_I ≤ 0).
pub fn int_scale(requested: f64, max_i: f64) -> f64 {
    if requested <= 0.0 {
        if max_i > 0.0 { 55000.0 / max_i } else { 1.0 }
    } else {
        requested
    }
}

/// Integer image: ROI pixels become floor(float32(value·scale + adc + 0.5)) after clipping to
/// [0, 65535]; pixels outside the ROI are 0. Rows in parallel on the current pool.
pub fn int_image(plan: &RenderPlan, image: &[f32], scale: f64, adc: f64) -> Vec<u16> {
    use rayon::prelude::*;
    let mut out = vec![0u16; image.len()];
    crate::memory::advise_huge_pages(&mut out);
    out.par_chunks_mut(plan.fpixels.max(1))
        .enumerate()
        .for_each(|(s, row)| int_row(plan, image, scale, adc, s, row));
    out
}

/// As [`int_image`], on the calling thread (small images).
pub fn int_image_serial(plan: &RenderPlan, image: &[f32], scale: f64, adc: f64) -> Vec<u16> {
    let mut out = vec![0u16; image.len()];
    for (s, row) in out.chunks_mut(plan.fpixels.max(1)).enumerate() {
        int_row(plan, image, scale, adc, s, row);
    }
    out
}

/// Rows of the integer image in one block of [`put_int_rows`]: blocks of at least 64 KiB
/// (one write each; a row is never split).
pub fn int_block_rows(plan: &RenderPlan) -> usize {
    (crate::io::WRITE_BUFFER / 2)
        .div_ceil(plan.fpixels.max(1))
        .max(1)
}

/// Rows `rows` of the integer image of [`int_image`], as little-endian 16-bit values handed
/// to `put`: computed into a small buffer of the calling thread's (kept for its next block)
/// instead of a whole image in fresh memory, whose first touch costs more than the conversion.
pub fn put_int_rows(
    plan: &RenderPlan,
    image: &[f32],
    scale: f64,
    adc: f64,
    rows: std::ops::Range<usize>,
    put: crate::io::Put,
) -> std::io::Result<()> {
    thread_local! {
        static BLOCK: std::cell::RefCell<Vec<u16>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    let f = plan.fpixels.max(1);
    BLOCK.with_borrow_mut(|block| {
        block.clear();
        block.resize(rows.len() * f, 0);
        for (j, row) in block.chunks_mut(f).enumerate() {
            int_row(plan, image, scale, adc, rows.start + j, row);
        }
        put(&crate::io::smv::pixel_bytes(block))
    })
}

/// Row `s` of the integer image (left 0 outside the ROI).
fn int_row(plan: &RenderPlan, image: &[f32], scale: f64, adc: f64, s: usize, row: &mut [u16]) {
    let (fr, sr) = crate::stats::roi_ranges(plan);
    if !sr.contains(&s) {
        return;
    }
    let f = plan.fpixels;
    let src = &image[s * f + fr.start..s * f + fr.end];
    for (px, &v) in row[fr.clone()].iter_mut().zip(src) {
        // clipped to [0, 65535]; NaN fails both tests and becomes 0, as the reference's int
        // conversion leaves it after 16-bit truncation. Written branch-free so that the loop
        // vectorises.
        let t = v as f64 * scale + adc;
        let t = if t > 0.0 { t } else { 0.0 };
        let t = if t < 65535.0 { t } else { 65535.0 };
        let x = (t + 0.5) as f32;
        // SAFETY: x is finite and in [0.5, 65535.5], so the conversion is defined; for
        // positive values truncation is the reference's floor.
        *px = unsafe { x.to_int_unchecked::<i32>() } as u16;
    }
}

/// PGM scale: `-pgmscale` when positive, else 250/(5·rmsd), or the integer scale if rmsd = 0.
pub fn pgm_scale(requested: f64, int_scale: f64, rmsd: f64) -> f64 {
    if requested <= 0.0 {
        if rmsd > 0.0 {
            250.0 / (5.0 * rmsd)
        } else {
            int_scale
        }
    } else {
        requested
    }
}

/// PGM bytes: ROI pixels value·scale capped at 255 and truncated; 0 elsewhere.
pub fn pgm_bytes(plan: &RenderPlan, image: &[f32], scale: f64) -> Vec<u8> {
    let mut out = vec![0u8; image.len()];
    for i in roi_indices(plan) {
        let t = image[i] as f64 * scale;
        out[i] = c_int(if t > 255.0 { 255.0 } else { t }) as u8;
    }
    out
}

/// The `-pngfile` preview: ROI pixels on a log scale, 255·ln(1 + I/m)/ln(1 + max/m) rounded,
/// with m the median of the positive ROI pixels (the background level, so it shows as grey
/// while the Bragg spots keep their contrast); 0 elsewhere and for I ≤ 0 or NaN.
pub fn png_preview(plan: &RenderPlan, image: &[f32]) -> Vec<u8> {
    let mut positive: Vec<f32> = roi_indices(plan)
        .map(|i| image[i])
        .filter(|v| *v > 0.0 && v.is_finite())
        .collect();
    let mut out = vec![0u8; image.len()];
    if positive.is_empty() {
        return out;
    }
    let mid = positive.len() / 2;
    let m = *positive.select_nth_unstable_by(mid, f32::total_cmp).1 as f64;
    let max = positive.iter().fold(0f32, |a, &v| a.max(v)) as f64;
    let top = (max / m).ln_1p();
    for i in roi_indices(plan) {
        let v = image[i] as f64;
        if v > 0.0 && v.is_finite() {
            out[i] = (255.0 * (v / m).ln_1p() / top).round().clamp(0.0, 255.0) as u8;
        }
    }
    out
}

/// The noise image and its totals.
#[derive(Clone, Debug, PartialEq)]
pub struct Noise {
    pub pixels: Vec<u16>,
    /// Sum of the Poisson deviates (before the ADC offset).
    pub photons: f64,
    /// Pixels clipped at 65535.
    pub overloads: u32,
}

/// Poisson noise: every ROI pixel (masked ones included) draws a deviate with its float value
/// as the mean, in raster order; the ADC offset is added, values above 65535 are clipped and
/// counted, and the result is truncated.
pub fn noise_image(
    plan: &RenderPlan,
    image: &[f32],
    adc: f64,
    rng: &mut Ran1,
    seed: &mut i64,
) -> Noise {
    let mut out = vec![0u16; image.len()];
    let mut photons = 0.0f64;
    let mut overloads = 0u32;
    let mut ln_factorials = crate::rng::LnFactorials::default();
    for i in roi_indices(plan) {
        let mut t = rng.poisson(image[i], seed, &mut ln_factorials) as f64;
        photons += t;
        t += adc;
        if t > 65535.0 {
            t = 65535.0;
            overloads += 1;
        }
        out[i] = c_int(t) as u16;
    }
    Noise {
        pixels: out,
        photons,
        overloads,
    }
}

#[cfg(test)]
mod tests {
    /// The integer image made block by block is the integer image, byte for byte: rows
    /// narrower and wider than a block, a region of interest, NaN, negative and overloaded
    /// pixels.
    #[test]
    fn written_integer_image_is_the_integer_image() {
        for args in [
            "-cell 100 100 100 90 90 90 -default_F 1 -detpixels_f 300 -detpixels_s 250 -roi 10 250 1 200",
            "-cell 100 100 100 90 90 90 -default_F 1 -detpixels_f 40000 -detpixels_s 3",
            "-cell 100 100 100 90 90 90 -default_F 1 -detpixels 7",
        ] {
            let args: Vec<&str> = args.split_whitespace().collect();
            let sim = crate::Simulation::from_args(&args).expect("setup");
            let plan = sim.plan();
            let mut x = 0x2545_F491_4F6C_DD1Du64;
            let image: Vec<f32> = (0..plan.fpixels * plan.spixels)
                .map(|i| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    match i % 97 {
                        0 => f32::NAN,
                        1 => -3.0,
                        2 => 1e9,
                        _ => (x >> 40) as f32 / 1e3,
                    }
                })
                .collect();
            let (scale, adc) = (1.7, 40.0);
            let mut written = Vec::new();
            let per = super::int_block_rows(plan);
            for first in (0..plan.spixels).step_by(per) {
                let rows = first..(first + per).min(plan.spixels);
                super::put_int_rows(plan, &image, scale, adc, rows, &mut |b: &[u8]| {
                    written.extend_from_slice(b);
                    Ok(())
                })
                .unwrap();
            }
            let whole = super::int_image_serial(plan, &image, scale, adc);
            assert_eq!(
                written,
                crate::io::smv::pixel_bytes(&whole).to_vec(),
                "{args:?}"
            );
            assert!(whole.contains(&65535) && whole.contains(&0));
        }
    }
}
