//! The render plan: everything the pixel loop needs, flat and in SI units.
//!
//! A plan is exactly the state a nanoBragg-style program holds when it enters its pixel loop
//! (detector vectors, sources, cell vectors, mosaic matrices, the F grid, scale factors), so it
//! can be built either by [`crate::setup`] from a command line or from a legacy program's
//! variables through the C ABI. Kernels see nothing else.

use crate::hkl::HklGrid;
use crate::options::Shape;
use crate::vec3::{M3, V3, rotate_axis, rotate_umat, unitize};

/// Most sub-pixels (oversample² × sensor layers) per pixel: counts stay exact in 64 bits.
pub const MAX_SUBPIXELS: u128 = 1 << 40;

/// One X-ray source as the pixel loop sees it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PlanSource {
    /// Unit vector from the sample towards the source (the reference's normalised source
    /// position; the incident direction is its negative).
    pub dir: V3,
    /// Wavelength, metres.
    pub lambda: f64,
}

/// Kernel input. Lengths in metres, angles in radians, reciprocal vectors in Å⁻¹.
#[derive(Clone, Debug)]
pub struct RenderPlan {
    /// Pixel counts (fast, slow).
    pub fpixels: usize,
    pub spixels: usize,
    /// Inclusive region of interest: xmin, xmax, ymin, ymax.
    pub roi: [i64; 4],
    /// Optional mask (fpixels·spixels values): pixels where it is 0 are skipped. Shared by
    /// the plans of a series.
    pub mask: Option<std::sync::Arc<Vec<u16>>>,
    /// Pixel edge and sub-pixels per edge.
    pub pixel_size: f64,
    pub oversample: u32,
    /// First pixel corner and detector unit axes.
    pub pix0: V3,
    pub fdet: V3,
    pub sdet: V3,
    pub odet: V3,
    /// Beam direction (used by the curved detector) and the final distances.
    pub beam: V3,
    pub distance: f64,
    pub close_distance: f64,
    pub curved: bool,
    pub point_pixel: bool,
    /// Sensor layers, layer step, total thickness and attenuation coefficient (1/m).
    pub thicksteps: u32,
    pub thickstep: f64,
    pub thick: f64,
    pub mu: f64,
    /// Recompute absorption / polarization / solid angle for every sub-pixel and multiply the
    /// running sum (reference `-oversample_thick/_polar/_omega`).
    pub oversample_thick: bool,
    pub oversample_polar: bool,
    pub oversample_omega: bool,
    pub sources: Vec<PlanSource>,
    /// Kahn factor, polarization switch and E-vector (unit).
    pub polarization: f64,
    pub nopolar: bool,
    pub polar_axis: V3,
    /// Resolution limit, metres (0 = none).
    pub dmin: f64,
    /// Spindle: φ0, step, count, axis.
    pub phi0: f64,
    pub phistep: f64,
    pub phisteps: u32,
    pub spindle: V3,
    /// Real-space cell vectors at φ = 0, metres.
    pub a0: V3,
    pub b0: V3,
    pub c0: V3,
    /// Mosaic spread (only its sign matters: > 0 applies the matrices) and domain matrices.
    pub mosaic_spread: f64,
    pub umats: Vec<M3>,
    /// Unit cells per axis, spot shape and fudge.
    pub n_cells: [f64; 3],
    pub shape: Shape,
    pub fudge: f64,
    /// Unrotated reciprocal vectors a*, b*, c* (Å⁻¹) for the GAUSS/TOPHAT shapes.
    pub recip: [V3; 3],
    /// Structure factors; `None` (or `hkls == 0`) means default_F everywhere.
    pub hkl: Option<HklGrid>,
    pub default_f: f64,
    pub interpolate: bool,
    /// Photons/m², r_e² (m²), water thickness (m), water background, and the step count the
    /// sum is divided by (sources · domains · φ steps · oversample²).
    pub fluence: f64,
    pub r_e_sqr: f64,
    pub water_size: f64,
    pub i_bg: f64,
    pub steps: f64,
    /// Quirk switches (false = the reference's behaviour).
    pub fix: FixQuirks,
}

/// Corrections selected by `-fix_quirks` that affect the pixel loop.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FixQuirks {
    /// φ = 0 uses the unrotated cell instead of the orientation left by the previous step.
    pub phi_zero: bool,
    /// An out-of-range interpolation falls back for that evaluation only.
    pub interp_local: bool,
    /// `-nopolar` wins over `-oversample_polar`.
    pub nopolar_wins: bool,
}

/// Cell vectors for every (start state, φ step, mosaic domain).
#[derive(Clone, Debug)]
pub struct CellTables {
    /// `[fresh, stale]` × phisteps × domains → [a, b, c] (metres).
    pub cells: [Vec<[V3; 3]>; 2],
    /// The two start states give different cells (some φ is exactly 0 after a rotation).
    pub start_matters: bool,
    pub domains: usize,
}

impl CellTables {
    #[inline(always)]
    pub fn get(&self, stale: bool, phi: usize, domain: usize) -> &[V3; 3] {
        &self.cells[stale as usize][phi * self.domains + domain]
    }
}

impl RenderPlan {
    /// φ of step `p`, as the reference computes it.
    #[inline(always)]
    pub fn phi(&self, p: u32) -> f64 {
        self.phi0 + self.phistep * p as f64
    }

    /// Number of mosaic domains.
    pub fn domains(&self) -> usize {
        self.umats.len().max(1)
    }

    /// Precompute the cell vectors the loop uses. In the reference the spindle rotation is
    /// skipped when φ is exactly 0, so that step reuses whatever orientation was left by the
    /// last rotation — the unrotated cell only before the first rotation of the run ("fresh"),
    /// afterwards the orientation of the last non-zero φ ("stale").
    pub fn cell_tables(&self) -> CellTables {
        let domains = self.domains();
        let steps = self.phisteps as usize;
        let rot = |phi: f64| {
            [
                rotate_axis(&self.a0, &self.spindle, phi),
                rotate_axis(&self.b0, &self.spindle, phi),
                rotate_axis(&self.c0, &self.spindle, phi),
            ]
        };
        let unrotated = [self.a0, self.b0, self.c0];
        let last_nonzero = (0..self.phisteps)
            .rev()
            .map(|p| self.phi(p))
            .find(|f| *f != 0.0);
        let mut tables = [Vec::new(), Vec::new()];
        for (kind, table) in tables.iter_mut().enumerate() {
            let mut cur = match (kind, last_nonzero) {
                (1, Some(f)) => rot(f),
                _ => unrotated,
            };
            for p in 0..steps {
                let phi = self.phi(p as u32);
                if phi != 0.0 {
                    cur = rot(phi);
                } else if self.fix.phi_zero {
                    cur = unrotated;
                }
                for m in 0..domains {
                    let cell = if self.mosaic_spread > 0.0 {
                        let u = &self.umats[m];
                        [
                            rotate_umat(&cur[0], u),
                            rotate_umat(&cur[1], u),
                            rotate_umat(&cur[2], u),
                        ]
                    } else {
                        cur
                    };
                    table.push(cell);
                }
            }
        }
        let start_matters = tables[0] != tables[1];
        CellTables {
            cells: tables,
            start_matters,
            domains,
        }
    }

    /// The E-vector used by successive polarization evaluations. The reference normalises the
    /// axis in place at every evaluation; repeated normalisation can move the last bit, so
    /// evaluation k uses unitize^(k+1)(axis). Returns the sequence and, for each index, the
    /// index of the next evaluation's axis (the sequence ends in a fixed point or a cycle).
    pub fn polar_axis_sequence(&self) -> (Vec<V3>, Vec<usize>) {
        let mut seq: Vec<V3> = Vec::new();
        let mut v = unitize(&self.polar_axis).1;
        loop {
            if let Some(j) = seq.iter().position(|u| *u == v) {
                let mut next: Vec<usize> = (1..=seq.len()).collect();
                *next.last_mut().expect("non-empty") = j;
                return (seq, next);
            }
            seq.push(v);
            v = unitize(&v).1;
            if seq.len() > 64 {
                // cannot happen for finite vectors; keep the last as a fixed point
                let n = seq.len();
                let mut next: Vec<usize> = (1..=n).collect();
                next[n - 1] = n - 1;
                return (seq, next);
            }
        }
    }

    /// Whether pixel (f, s) is rendered (inside the ROI and not masked).
    #[inline(always)]
    pub fn is_rendered(&self, f: usize, s: usize) -> bool {
        let (fi, si) = (f as i64, s as i64);
        if fi < self.roi[0] || fi > self.roi[1] || si < self.roi[2] || si > self.roi[3] {
            return false;
        }
        match &self.mask {
            Some(m) => m[s * self.fpixels + f] != 0,
            None => true,
        }
    }

    /// Pixels rendered in row `s` (as many as [`RenderPlan::is_rendered`] accepts; without a
    /// mask, the ROI's width within the detector, not counted pixel by pixel).
    pub fn rendered_in_row(&self, s: usize) -> usize {
        let (fr, sr) = crate::stats::roi_ranges(self);
        if !sr.contains(&s) {
            return 0;
        }
        match &self.mask {
            Some(m) => m[s * self.fpixels + fr.start..s * self.fpixels + fr.end]
                .iter()
                .filter(|&&v| v != 0)
                .count(),
            None => fr.len(),
        }
    }

    /// Pixels rendered in all (ROI and mask).
    pub fn rendered_pixels(&self) -> usize {
        (0..self.spixels).map(|s| self.rendered_in_row(s)).sum()
    }

    /// Sub-pixel position along one detector axis for pixel index `i` and sub-pixel `sub`:
    /// `subpixel·(i·oversample + sub) + subpixel/2` (reference Fdet/Sdet).
    #[inline(always)]
    pub fn sub_position(&self, i: usize, sub: u32) -> f64 {
        let subpixel = self.pixel_size / self.oversample as f64;
        subpixel * (i * self.oversample as usize + sub as usize) as f64 + subpixel / 2.0
    }

    /// Lab position of a sub-pixel of sensor layer `t` (metres): `F·fdet + S·sdet + O·odet +
    /// pix0`, or on the curved detector the beam-axis point at `distance` rotated about sdet
    /// and fdet by the flat position's lab y and z over the distance.
    #[inline(always)]
    pub fn subpixel_position(
        &self,
        fpixel: usize,
        spixel: usize,
        subf: u32,
        subs: u32,
        t: u32,
    ) -> V3 {
        let fdet_pos = self.sub_position(fpixel, subf);
        let sdet_pos = self.sub_position(spixel, subs);
        let odet_pos = t as f64 * self.thickstep;
        let mut pos = [0.0; 3];
        for (k, p) in pos.iter_mut().enumerate() {
            *p = fdet_pos * self.fdet[k]
                + sdet_pos * self.sdet[k]
                + odet_pos * self.odet[k]
                + self.pix0[k];
        }
        if self.curved {
            let v = [
                self.distance * self.beam[0],
                self.distance * self.beam[1],
                self.distance * self.beam[2],
            ];
            let nv = rotate_axis(&v, &self.sdet, pos[1] / self.distance);
            pos = rotate_axis(&nv, &self.fdet, pos[2] / self.distance);
        }
        pos
    }

    /// Check the plan describes a renderable experiment: [`validate_grid`], [`RenderPlan::validate_sizes`] and
    /// [`RenderPlan::validate_values`] (the C kernel entry relies on this; the names are those
    /// of `nb_kernel_params`).
    pub fn validate(&self) -> crate::error::Result<()> {
        if let Some(g) = &self.hkl {
            validate_grid(g)?;
        }
        self.validate_sizes()?;
        self.validate_values()
    }

    /// Sizes consistent and counts positive: what the kernels need to run safely (the
    /// structure-factor grid apart: [`validate_grid`]).
    pub fn validate_sizes(&self) -> crate::error::Result<()> {
        use crate::error::Error;
        let bad = |m: String| Err(Error::invalid(m));
        if self.fpixels == 0 || self.spixels == 0 {
            return bad("the detector has no pixels".into());
        }
        let Some(pixels) = self
            .fpixels
            .checked_mul(self.spixels)
            .filter(|n| *n <= 1 << 30)
        else {
            return bad(format!(
                "the detector is too large: {}x{} pixels (at most 2^30)",
                self.fpixels, self.spixels
            ));
        };
        if self.oversample == 0 || self.thicksteps == 0 || self.phisteps == 0 {
            return bad("oversample, detector_thicksteps and phisteps must be at least 1".into());
        }
        let subpixels = (self.oversample as u128).pow(2) * self.thicksteps as u128;
        if subpixels > MAX_SUBPIXELS {
            return bad(format!(
                "oversample {}² x {} sensor layers = {subpixels} sub-pixels per pixel (at most 2^40)",
                self.oversample, self.thicksteps
            ));
        }
        if self.sources.is_empty() {
            return bad("there are no sources".into());
        }
        if self.umats.is_empty() {
            return bad("there are no mosaic domains".into());
        }
        if self.mask.as_ref().is_some_and(|m| m.len() != pixels) {
            return bad("the mask size does not match the detector".into());
        }
        Ok(())
    }

    /// Every value finite and within the ranges the command line accepts, so that the image
    /// is finite where the arithmetic is (a run with `-allow_nonfinite` may skip this; it is
    /// then rendered by the exact kernel). The structure-factor grid is checked by
    /// [`validate_grid`], once for all the images that share it.
    pub fn validate_values(&self) -> crate::error::Result<()> {
        use crate::error::Error;
        use crate::setup::{LAMBDA_RANGE, MAX_ANGLE, MAX_CELLS, MAX_F, MAX_LENGTH};
        let bad = |m: String| Err(Error::invalid(m));
        let length = |name: &str, v: f64| -> crate::error::Result<()> {
            if v.is_finite() && v.abs() <= MAX_LENGTH {
                Ok(())
            } else {
                bad(format!(
                    "{name} is {} m: out of range",
                    crate::cfmt::fmt_g(v)
                ))
            }
        };
        if !(self.pixel_size > 0.0) {
            return bad("the pixel size must be positive".into());
        }
        length("pixel_size", self.pixel_size)?;
        length("distance", self.distance)?;
        length("close_distance", self.close_distance)?;
        length("detector_thick", self.thick)?;
        length("detector_thickstep", self.thickstep)?;
        length("water_size", self.water_size)?;
        length("dmin", self.dmin)?;
        for (name, v) in [
            ("pix0_vector", self.pix0),
            ("a0", self.a0),
            ("b0", self.b0),
            ("c0", self.c0),
        ] {
            for x in v {
                length(name, x)?;
            }
        }
        let vectors = [
            ("fdet_vector", self.fdet),
            ("sdet_vector", self.sdet),
            ("odet_vector", self.odet),
            ("beam_vector", self.beam),
            ("polar_vector", self.polar_axis),
            ("spindle_vector", self.spindle),
            ("a_star", self.recip[0]),
            ("b_star", self.recip[1]),
            ("c_star", self.recip[2]),
        ];
        for (name, v) in vectors {
            if !v.iter().all(|x| x.is_finite()) {
                return bad(format!("{name} has a non-finite component"));
            }
        }
        for s in &self.sources {
            if !s.dir.iter().all(|x| x.is_finite()) || s.dir == [0.0; 3] {
                return bad("a source direction is zero or not finite".into());
            }
            if !(s.lambda >= LAMBDA_RANGE.0 && s.lambda <= LAMBDA_RANGE.1) {
                return bad(format!(
                    "a source wavelength is {} m (from {} to {} m)",
                    crate::cfmt::fmt_g(s.lambda),
                    crate::cfmt::fmt_g(LAMBDA_RANGE.0),
                    crate::cfmt::fmt_g(LAMBDA_RANGE.1)
                ));
            }
        }
        if self.umats.iter().any(|m| !m.iter().all(|x| x.is_finite())) {
            return bad("a mosaic domain matrix is not finite".into());
        }
        for (name, v) in [("phi0", self.phi0), ("phistep", self.phistep)] {
            if !(v.abs() * crate::options::RTD <= MAX_ANGLE) {
                return bad(format!(
                    "{name} is {} rad: out of range",
                    crate::cfmt::fmt_g(v)
                ));
            }
        }
        if !self.n_cells.iter().all(|n| *n >= 0.0 && *n <= MAX_CELLS) {
            return bad(format!(
                "the unit-cell counts must be between 0 and 10^6 (got {:?})",
                self.n_cells
            ));
        }
        if !(self.default_f.abs() <= MAX_F) {
            return bad(format!(
                "default_f is {}: |F| must be finite and at most {}",
                crate::cfmt::fmt_g(self.default_f),
                crate::cfmt::fmt_g(MAX_F)
            ));
        }
        let finite = [
            ("mu", self.mu),
            ("polarization", self.polarization),
            ("mosaic_spread", self.mosaic_spread),
            ("fudge", self.fudge),
            ("fluence", self.fluence),
            ("r_e_sqr", self.r_e_sqr),
            ("i_bg", self.i_bg),
        ];
        for (name, v) in finite {
            if !v.is_finite() {
                return bad(format!("{name} is not finite"));
            }
        }
        if !(self.steps > 0.0 && self.steps.is_finite()) {
            return bad("steps must be positive".into());
        }
        Ok(())
    }
}

/// Check a structure-factor grid: its size matches its index ranges, every value is finite
/// and at most [`crate::setup::MAX_F`].
pub fn validate_grid(g: &HklGrid) -> crate::error::Result<()> {
    use crate::error::Error;
    use crate::setup::MAX_F;
    let bad = |m: String| Err(Error::invalid(m));
    let n = g
        .range
        .iter()
        .try_fold(1usize, |a, r| a.checked_mul(usize::try_from(*r).ok()? + 1));
    if n != Some(g.data.len()) || g.range.iter().any(|r| *r < 1) {
        return bad("the structure-factor grid size does not match its index ranges".into());
    }
    if let Some(v) = g.data.iter().find(|v| !(v.abs() <= MAX_F)) {
        return bad(format!(
            "a structure factor is {} (|F| must be finite and at most {})",
            crate::cfmt::fmt_g(*v),
            crate::cfmt::fmt_g(MAX_F)
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    /// The per-row count equals a pixel-by-pixel count of `is_rendered` for ROIs inside,
    /// across and outside the detector, empty ones, and with a mask.
    #[test]
    fn rendered_in_row_counts_what_is_rendered() {
        let argv: Vec<&str> =
            "-cell 100 100 100 90 90 90 -default_F 1 -detpixels_f 13 -detpixels_s 7"
                .split_whitespace()
                .collect();
        let sim = crate::Simulation::from_args(&argv).expect("setup");
        let mut plan = sim.plan().clone();
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        let mask: Vec<u16> = (0..13 * 7)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                u16::from(x.is_multiple_of(3))
            })
            .collect();
        for mask in [None, Some(std::sync::Arc::new(mask))] {
            plan.mask = mask;
            for roi in [
                [0, 12, 0, 6],
                [3, 9, 2, 5],
                [-4, 30, -2, 20],
                [5, 4, 0, 6],
                [13, 20, 0, 6],
                [-9, -1, 0, 6],
                [12, 12, 6, 6],
                [0, 12, 7, 9],
            ] {
                plan.roi = roi;
                for s in 0..plan.spixels {
                    let want = (0..plan.fpixels)
                        .filter(|&f| plan.is_rendered(f, s))
                        .count();
                    assert_eq!(plan.rendered_in_row(s), want, "roi {roi:?} row {s}");
                }
            }
        }
    }
}
