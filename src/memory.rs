//! The memory guard: a run whose buffers cannot fit is refused before anything is allocated,
//! with the size it would need (an allocation failure would abort the process instead).

use crate::error::{Error, Result};
use crate::options::Options;
use crate::plan::RenderPlan;

/// Bytes of the large buffers a run allocates: the float image and its row statistics, the
/// 16-bit SMV image, the noise image and PGM bytes when written, and the structure factors
/// (the f64 grid and the SIMD kernel's f32 copy with its padding).
pub fn needed_bytes(plan: &RenderPlan, o: &Options) -> u128 {
    let pixels = plan.fpixels as u128 * plan.spixels as u128;
    let mut per_pixel = 4 + 2; // float32 image, 16-bit integer image
    if o.write_noise {
        per_pixel += 2;
    }
    if o.write_pgm {
        per_pixel += 1;
    }
    let grid = plan.hkl.as_ref().map_or(0, |g| grid_bytes(&g.range));
    pixels * per_pixel + grid
}

/// Bytes of a structure-factor grid with `range` indices per axis: the f64 grid (one padding
/// plane per axis) and the SIMD kernel's f32 copy (padded on both sides).
pub fn grid_bytes(range: &[i32; 3]) -> u128 {
    let planes = |pad: i32| -> u128 { range.iter().map(|&r| (r.max(0) + pad) as u128).product() };
    planes(1) * 8 + planes(2) * 4
}

/// Err with `message(need, available)` (sizes for people) when `need` bytes exceed the
/// memory available; Ok when they fit or the available memory is unknown.
pub fn refuse_beyond(need: u128, message: impl FnOnce(&str, &str) -> String) -> Result<()> {
    match available_bytes() {
        Some(have) if need > have => Err(Error::invalid(message(&human(need), &human(have)))),
        _ => Ok(()),
    }
}

/// Memory this run may use: `NANOBRAGG_MEMORY_LIMIT` (bytes) when set, else the operating
/// system's estimate of available memory (Linux `MemAvailable`), else unknown.
pub fn available_bytes() -> Option<u128> {
    if let Some(v) = std::env::var_os("NANOBRAGG_MEMORY_LIMIT") {
        return v.to_str().and_then(|s| s.trim().parse().ok());
    }
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = info.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kb: u128 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Refuse a run whose buffers do not fit in the available memory.
pub fn check(plan: &RenderPlan, o: &Options) -> Result<()> {
    refuse_beyond(needed_bytes(plan, o), |need, have| {
        format!(
            "a {}x{} detector needs {need} of image buffers, more than the {have} of memory available (NANOBRAGG_MEMORY_LIMIT overrides the estimate)",
            plan.fpixels, plan.spixels
        )
    })
}

/// Bytes of the per-step tables a sampling needs: per (source, φ step, mosaic domain) the
/// kernels' coefficients in both spindle states, per domain a matrix, per source, φ step and
/// sensor layer a table entry and a printed line. An upper bound, not an exact count.
pub fn sampling_bytes(sources: u128, phisteps: u128, domains: u128, layers: u128) -> u128 {
    let steps = sources.saturating_mul(phisteps).saturating_mul(domains);
    steps
        .saturating_mul(2 * 256)
        .saturating_add(domains.saturating_mul(72 + 64))
        .saturating_add(sources.saturating_add(phisteps).saturating_mul(128))
        .saturating_add(layers.saturating_mul(512))
}

/// Refuse a sampling (counts of sources, φ steps, mosaic domains, sensor layers) whose tables
/// do not fit in the available memory, before any of them is built.
pub fn check_sampling(sources: u128, phisteps: u128, domains: u128, layers: u128) -> Result<()> {
    refuse_beyond(
        sampling_bytes(sources, phisteps, domains, layers),
        |need, have| {
            format!(
                "{sources} sources x {phisteps} phi steps x {domains} mosaic domains and {layers} sensor layers need {need} of tables, more than the {have} of memory available"
            )
        },
    )
}

/// A byte count for people: "384 MB", "1.5 GB".
pub fn human(bytes: u128) -> String {
    let units = ["bytes", "kB", "MB", "GB", "TB", "PB"];
    let mut v = bytes as f64;
    let mut u = 0;
    while v >= 1000.0 && u + 1 < units.len() {
        v /= 1000.0;
        u += 1;
    }
    if u == 0 {
        format!("{bytes} bytes")
    } else if v < 10.0 {
        format!("{v:.1} {}", units[u])
    } else {
        format!("{v:.0} {}", units[u])
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn human_sizes() {
        assert_eq!(super::human(512), "512 bytes");
        assert_eq!(super::human(384_000_000), "384 MB");
        assert_eq!(super::human(1_500_000_000), "1.5 GB");
        assert_eq!(super::human(240_000_000_000), "240 GB");
    }
}
