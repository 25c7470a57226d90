//! Detector geometry: pixel counts, beam-centre defaults, conventions, pivots and rotations.
//!
//! Mirrors nanoBragg.c's "fill in blanks", "conventions" and "geometry" phases. All lengths are
//! metres, angles radians. The results are the vectors the pixel loop uses (`pix0`, `fdet`,
//! `sdet`, `odet`) and the recomputed beam centre / near point / distances that go into the
//! headers and the printed summary.

use crate::options::{Convention, Options, Pivot};
use crate::vec3::{V3, cross, dot, rotate_axis, rotate_xyz, unitize};

/// Detector and beam after the conventions and geometry phases.
#[derive(Clone, Debug)]
pub struct Detector {
    pub convention: Convention,
    pub pivot: Pivot,
    /// Pixel counts fast and slow.
    pub fpixels: i32,
    pub spixels: i32,
    /// Pixel edge, metres.
    pub pixel_size: f64,
    /// Detector size fast/slow, metres (as given; not re-rounded to whole pixels).
    pub detsize_f: f64,
    pub detsize_s: f64,
    /// Header beam centre (as given or defaulted, never recomputed), metres.
    pub xbeam: f64,
    pub ybeam: f64,
    /// Pre-geometry near point (printed as Xclose/Yclose), metres.
    pub xclose: f64,
    pub yclose: f64,
    /// Recomputed direct-beam position on the fast/slow axes, metres.
    pub fbeam: f64,
    pub sbeam: f64,
    /// Recomputed near point on the fast/slow axes, metres.
    pub fclose: f64,
    pub sclose: f64,
    /// Final distances: along the beam and along the detector normal, metres.
    pub distance: f64,
    pub close_distance: f64,
    /// XDS origin in pixels (recomputed).
    pub orgx: f64,
    pub orgy: f64,
    /// DIALS origin in mm.
    pub dials_origin: V3,
    /// Unit vectors after rotation: fast, slow, normal; beam direction; E-vector; spindle.
    pub fdet: V3,
    pub sdet: V3,
    pub odet: V3,
    pub beam: V3,
    pub polar: V3,
    pub spindle: V3,
    pub twotheta_axis: V3,
    /// beam × polar, normalised (the "vertical" divergence axis).
    pub vert: V3,
    /// Position of the first pixel's corner, metres.
    pub pix0: V3,
    /// Detector 2θ, radians (for the header).
    pub twotheta: f64,
    /// Whether `-odet_vector` had to be regenerated from fdet × sdet.
    pub odet_regenerated: bool,
    /// ROI limits, inclusive.
    pub roi: [i32; 4],
}

/// Pixel counts, beam-centre/near-point defaults, ROI, conventions and vector clean-up
/// (everything before the banner). Also returns the clipped sample size lines' data via
/// `Options` mutation done by the caller.
pub fn conventions(o: &Options) -> Detector {
    let pixel_size = o.pixel_size;
    let mut detsize_f = o.detsize[0];
    let mut detsize_s = o.detsize[1];
    if o.pixels[0] != 0 {
        detsize_f = pixel_size * o.pixels[0] as f64;
    }
    if o.pixels[1] != 0 {
        detsize_s = pixel_size * o.pixels[1] as f64;
    }
    let fpixels = crate::cfmt::c_int((detsize_f / pixel_size - 0.5).ceil());
    let spixels = crate::cfmt::c_int((detsize_s / pixel_size - 0.5).ceil());

    let mut fclose = f64::NAN;
    let mut sclose = f64::NAN;
    if !o.orgx.is_nan() {
        fclose = (o.orgx - 0.5) * pixel_size;
    }
    if !o.orgy.is_nan() {
        sclose = (o.orgy - 0.5) * pixel_size;
    }
    if fclose.is_nan() {
        fclose = (detsize_f - 0.0 * pixel_size) / 2.0;
    }
    if sclose.is_nan() {
        sclose = (detsize_s + 0.0 * pixel_size) / 2.0;
    }
    let xclose = if o.xclose.is_nan() { fclose } else { o.xclose };
    let yclose = if o.yclose.is_nan() { sclose } else { o.yclose };
    let fbeam;
    let sbeam;

    let mut roi = o.roi;
    if roi[0] < 0 {
        roi[0] = 0;
    }
    if roi[1] < 0 {
        roi[1] = fpixels;
    }
    if roi[2] < 0 {
        roi[2] = 0;
    }
    if roi[3] < 0 {
        roi[3] = spixels;
    }

    let mut xbeam = o.xbeam;
    let mut ybeam = o.ybeam;
    let (mut beam, mut fdet, mut sdet, mut odet) = (o.beam, o.fdet, o.sdet, o.odet);
    let (mut twotheta_axis, mut polar, mut spindle) = (o.twotheta_axis, o.polar_vector, o.spindle);
    let mut pivot = o.pivot;
    match o.convention {
        Convention::Adxv => {
            if xbeam.is_nan() {
                xbeam = (detsize_f + pixel_size) / 2.0;
            }
            if ybeam.is_nan() {
                ybeam = (detsize_s - pixel_size) / 2.0;
            }
            beam = [0.0, 0.0, 1.0];
            fdet = [1.0, 0.0, 0.0];
            sdet = [0.0, -1.0, 0.0];
            odet = [0.0, 0.0, 1.0];
            twotheta_axis = [-1.0, 0.0, 0.0];
            polar = [1.0, 0.0, 0.0];
            spindle = [1.0, 0.0, 0.0];
            fbeam = xbeam;
            sbeam = detsize_s - ybeam;
            pivot = Pivot::Beam;
        }
        Convention::Mosflm | Convention::Denzo => {
            if xbeam.is_nan() {
                xbeam = (detsize_s + pixel_size) / 2.0;
            }
            if ybeam.is_nan() {
                ybeam = (detsize_f + pixel_size) / 2.0;
            }
            beam = [1.0, 0.0, 0.0];
            odet = [1.0, 0.0, 0.0];
            fdet = [0.0, 0.0, 1.0];
            sdet = [0.0, -1.0, 0.0];
            twotheta_axis = [0.0, 0.0, -1.0];
            polar = [0.0, 0.0, 1.0];
            spindle = [0.0, 0.0, 1.0];
            let half = if o.convention == Convention::Mosflm {
                0.5
            } else {
                0.0
            };
            fbeam = ybeam + half * pixel_size;
            sbeam = xbeam + half * pixel_size;
            pivot = Pivot::Beam;
        }
        Convention::Xds | Convention::Dials => {
            if xbeam.is_nan() {
                xbeam = xclose;
            }
            if ybeam.is_nan() {
                ybeam = yclose;
            }
            beam = [0.0, 0.0, 1.0];
            fdet = [1.0, 0.0, 0.0];
            sdet = [0.0, 1.0, 0.0];
            odet = [0.0, 0.0, 1.0];
            if o.convention == Convention::Xds {
                twotheta_axis = [1.0, 0.0, 0.0];
                polar = [1.0, 0.0, 0.0];
                spindle = [1.0, 0.0, 0.0];
            } else {
                twotheta_axis = [0.0, 1.0, 0.0];
                polar = [0.0, 1.0, 0.0];
                spindle = [0.0, 1.0, 0.0];
            }
            fbeam = xbeam;
            sbeam = ybeam;
            pivot = Pivot::Sample;
        }
        Convention::Custom => {
            if xbeam.is_nan() {
                xbeam = xclose;
            }
            if ybeam.is_nan() {
                ybeam = yclose;
            }
            fbeam = xbeam;
            sbeam = ybeam;
            fclose = xbeam;
            sclose = ybeam;
        }
    }
    if o.fix_quirks && o.pivot_given {
        pivot = o.pivot;
    }

    beam = unitize(&beam).1;
    fdet = unitize(&fdet).1;
    sdet = unitize(&sdet).1;
    let (olen, ounit) = unitize(&odet);
    odet = ounit;
    let odet_regenerated = olen != 1.0;
    if odet_regenerated {
        odet = unitize(&cross(&fdet, &sdet)).1;
    }
    polar = unitize(&polar).1;
    spindle = unitize(&spindle).1;
    let vert = unitize(&cross(&beam, &polar)).1;

    Detector {
        convention: o.convention,
        pivot,
        fpixels,
        spixels,
        pixel_size,
        detsize_f,
        detsize_s,
        xbeam,
        ybeam,
        xclose,
        yclose,
        fbeam,
        sbeam,
        fclose,
        sclose,
        distance: o.distance,
        close_distance: o.close_distance,
        orgx: f64::NAN,
        orgy: f64::NAN,
        dials_origin: [0.0; 3],
        fdet,
        sdet,
        odet,
        beam,
        polar,
        spindle,
        twotheta_axis,
        vert,
        pix0: [0.0; 3],
        twotheta: o.twotheta,
        odet_regenerated,
        roi,
    }
}

/// Place the detector: distances, pivot, rotations, recomputed centres (reference
/// main/geometry). `pix0_override` is the `-pix0_vector` honoured under `-fix_quirks`.
pub fn place(d: &mut Detector, rot: &V3, pix0_override: Option<V3>) {
    let [rx, ry, rz] = *rot;
    let rotated_normal = rotate_xyz(&d.odet, rx, ry, rz);
    let mut ratio = dot(&d.beam, &rotated_normal);
    if ratio == 0.0 {
        ratio = f64::MIN_POSITIVE;
    }
    if d.close_distance.is_nan() {
        d.close_distance = (ratio * d.distance).abs();
    }
    d.distance = d.close_distance / ratio;

    if d.pivot == Pivot::Sample {
        let mut p = [0.0; 3];
        for (k, pk) in p.iter_mut().enumerate() {
            *pk = -d.fclose * d.fdet[k] - d.sclose * d.sdet[k] + d.close_distance * d.odet[k];
        }
        p = rotate_xyz(&p, rx, ry, rz);
        d.pix0 = rotate_axis(&p, &d.twotheta_axis, d.twotheta);
    }
    for v in [&mut d.fdet, &mut d.sdet, &mut d.odet] {
        *v = rotate_xyz(v, rx, ry, rz);
        *v = rotate_axis(v, &d.twotheta_axis, d.twotheta);
    }
    if d.pivot == Pivot::Beam {
        for k in 0..3 {
            d.pix0[k] = -d.fbeam * d.fdet[k] - d.sbeam * d.sdet[k] + d.distance * d.beam[k];
        }
    }
    if let Some(p) = pix0_override {
        d.pix0 = p;
    }
    d.fclose = -dot(&d.pix0, &d.fdet);
    d.sclose = -dot(&d.pix0, &d.sdet);
    d.close_distance = dot(&d.pix0, &d.odet);
    let mut w = [0.0; 3];
    for (k, wk) in w.iter_mut().enumerate() {
        *wk = d.close_distance / ratio * d.beam[k] - d.pix0[k];
    }
    d.fbeam = dot(&d.fdet, &w);
    d.sbeam = dot(&d.sdet, &w);
    d.distance = d.close_distance / ratio;
    d.orgx = d.fclose / d.pixel_size + 0.5;
    d.orgy = d.sclose / d.pixel_size + 0.5;
    d.dials_origin = [
        1000.0 * dot(&d.pix0, &[0.0, 0.0, 1.0]),
        1000.0 * dot(&d.pix0, &[0.0, 1.0, 0.0]),
        1000.0 * dot(&d.pix0, &[-1.0, 0.0, 0.0]),
    ];
}

impl Detector {
    /// Pixels of the image (fast × slow; 0 for a negative count).
    pub fn pixels(&self) -> usize {
        self.fpixels.max(0) as usize * self.spixels.max(0) as usize
    }

    /// Beam direction in the detector frame (the "XDS incident beam" line).
    pub fn beam_in_detector_frame(&self) -> V3 {
        [
            dot(&self.beam, &self.fdet),
            dot(&self.beam, &self.sdet),
            dot(&self.beam, &self.odet),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn det(args: &str) -> Detector {
        let a: Vec<String> = args.split_whitespace().map(String::from).collect();
        let mut o = Options::new(-1);
        let mut w = vec![];
        crate::cli::parse_into(&a, &mut o, &mut w).unwrap();
        let mut d = conventions(&o);
        place(&mut d, &o.det_rot, None);
        d
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    /// reference-behaviour 4.2: MOSFLM, 1024 × 0.1 mm, 100 mm, -Xbeam 51.2 -Ybeam 51.2.
    #[test]
    fn mosflm_worked_example() {
        let d = det("-detpixels 1024 -pixel 0.1 -distance 100 -Xbeam 51.2 -Ybeam 51.2");
        assert!(close(d.fbeam, 0.05125) && close(d.sbeam, 0.05125));
        assert!(close(d.pix0[0], 0.1) && close(d.pix0[1], 0.05125) && close(d.pix0[2], -0.05125));
        assert!(close(d.dials_origin[0], -51.25));
        assert!(close(d.dials_origin[1], 51.25));
        assert!(close(d.dials_origin[2], -100.0));
    }

    /// Default beam position per convention, in pixels from the edge (N even): ADXV/DENZO
    /// N/2+0.5, MOSFLM N/2+1, XDS/DIALS/CUSTOM N/2.
    #[test]
    fn default_beam_positions() {
        for (conv, want) in [
            ("-adxv", 64.5),
            ("-denzo", 64.5),
            ("-mosflm", 65.0),
            ("-xds", 64.0),
            ("-dials", 64.0),
        ] {
            let d = det(&format!("-detpixels 128 -pixel 0.1 {conv}"));
            let pf = d.fbeam / d.pixel_size;
            assert!((pf - want).abs() < 1e-9, "{conv}: {pf}");
        }
        let d = det("-detpixels 128 -pixel 0.1 -fdet_vector 0 0 1");
        assert!((d.fbeam / d.pixel_size - 64.0).abs() < 1e-9);
    }

    #[test]
    fn pixel_count_rounds_half_down_and_beats_detsize() {
        let d = det("-detsize 10.06 -pixel 0.4");
        assert_eq!(d.fpixels, 25);
        assert!(close(d.detsize_f, 0.01006));
        let d = det("-detsize 20 -detpixels 16 -pixel 0.5");
        assert!(close(d.detsize_f, 0.008));
    }

    #[test]
    fn convention_overrides_pivot_unless_custom() {
        assert_eq!(det("-pivot sample -twotheta 10").pivot, Pivot::Beam);
        assert_eq!(det("-xds -pivot beam").pivot, Pivot::Sample);
        assert_eq!(det("-fdet_vector 0 0 1 -pivot sample").pivot, Pivot::Sample);
        assert_eq!(
            det("-pivot sample -twotheta 10 -fix_quirks").pivot,
            Pivot::Sample
        );
    }

    #[test]
    fn xds_geometry_puts_beam_at_orgx() {
        let d = det("-xds -detpixels 128 -pixel 0.1 -ORGX 40 -ORGY 70 -distance 100");
        assert!(close(d.orgx, 40.0) && close(d.orgy, 70.0));
        // beam along +z hits (ORGX-0.5, ORGY-0.5) pixels for an untilted detector
        assert!(close(d.fbeam, 39.5e-4) && close(d.sbeam, 69.5e-4));
        assert_eq!(d.beam_in_detector_frame(), [0.0, 0.0, 1.0]);
    }

    #[test]
    fn twotheta_swings_about_the_sample_and_keeps_distance() {
        let d = det("-xds -detpixels 100 -pixel 0.1 -distance 100 -twotheta 30");
        // the near point stays at the close distance from the sample
        assert!(close(d.close_distance, 0.1));
        // detector normal rotated by 30° about the XDS 2θ axis (+x)
        let c = (30f64).to_radians().cos();
        assert!((d.odet[2] - c).abs() < 1e-12);
        assert!((d.odet[1].abs() - 0.5).abs() < 1e-12);
    }

    #[test]
    fn odet_is_regenerated_when_not_unit() {
        let d = det("-odet_vector 2 0 0");
        assert!(d.odet_regenerated);
        assert_eq!(d.odet, [1.0, 0.0, 0.0]);
    }

    /// 2θ is not in the beam/normal ratio: with MOSFLM (beam pivot) and only a 2θ swing the
    /// ratio is 1, so the final distance equals the close distance, which is the beam-spot
    /// distance projected on the swung normal.
    #[test]
    fn twotheta_excluded_from_distance_ratio() {
        let d = det("-detpixels 128 -pixel 0.1 -distance 100 -twotheta 10");
        assert_eq!(d.distance, d.close_distance);
        assert!(close(d.close_distance, 0.1 * (10f64).to_radians().cos()));
    }
}
