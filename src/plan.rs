//! The render plan: everything the pixel loop needs, flat and in SI units.
//!
//! A plan is exactly the state a nanoBragg-style program holds when it enters its pixel loop
//! (detector vectors, sources, cell vectors, mosaic matrices, the F grid, scale factors), so it
//! can be built either by [`crate::setup`] from a command line or from a legacy program's
//! variables through the C ABI. Kernels see nothing else.

use crate::hkl::HklGrid;
use crate::options::Shape;
use crate::vec3::{M3, V3, rotate_axis, rotate_umat, unitize};

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
    /// Optional mask (fpixels·spixels values): pixels where it is 0 are skipped.
    pub mask: Option<Vec<u16>>,
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

    /// Pixels rendered in row `s`.
    pub fn rendered_in_row(&self, s: usize) -> usize {
        (0..self.fpixels)
            .filter(|&f| self.is_rendered(f, s))
            .count()
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

    /// Check the plan describes a renderable experiment (sizes consistent, values finite).
    pub fn validate(&self) -> crate::error::Result<()> {
        use crate::error::Error;
        let bad = |m: &str| Err(Error::invalid(m.to_string()));
        if self.fpixels == 0 || self.spixels == 0 {
            return bad("the detector has no pixels");
        }
        if self.oversample == 0 {
            return bad("oversample must be at least 1");
        }
        if self.thicksteps == 0 || self.phisteps == 0 {
            return bad("sensor layers and phi steps must be at least 1");
        }
        if self.sources.is_empty() {
            return bad("there are no sources");
        }
        if self.umats.is_empty() {
            return bad("there are no mosaic domains");
        }
        if let Some(m) = &self.mask
            && m.len() != self.fpixels * self.spixels
        {
            return bad("the mask size does not match the detector");
        }
        if let Some(g) = &self.hkl {
            let n: usize = g.range.iter().map(|r| (*r + 1).max(0) as usize).product();
            if g.data.len() != n || g.range.iter().any(|r| *r < 1) {
                return bad("the structure-factor grid size does not match its index ranges");
            }
        }
        if !(self.pixel_size > 0.0) || !self.pixel_size.is_finite() {
            return bad("the pixel size must be positive");
        }
        if self
            .sources
            .iter()
            .any(|s| !s.dir.iter().all(|x| x.is_finite()))
        {
            return bad("a source direction is not finite");
        }
        Ok(())
    }
}
