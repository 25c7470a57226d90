//! Limits on what the command line may ask for, and the check of the parsed options against
//! them (values from `-img`/`-mask` headers included).

use crate::cfmt::fmt_g;
use crate::error::{Error, Result};
use crate::options::{Convention, Options, RTD};

/// Largest length accepted, metres: beyond it the squares and cubes of distances overflow.
pub const MAX_LENGTH: f64 = 1e30;
/// Wavelengths accepted, metres.
pub const LAMBDA_RANGE: (f64, f64) = (1e-30, 1e30);
/// Largest angle accepted, degrees (beyond it the angle is lost to rounding).
pub const MAX_ANGLE: f64 = 1e9;
/// Largest structure factor accepted: F² must be finite.
pub const MAX_F: f64 = 1e150;
/// Most unit cells along an axis.
pub const MAX_CELLS: f64 = 1e6;

/// Refuse options that describe no experiment or lie beyond the limits above.
pub fn validate_options(o: &Options) -> Result<()> {
    validate_values(o)?;
    validate_detector(o)
}

/// Values finite and within range (lengths, wavelength, angles, F).
fn validate_values(o: &Options) -> Result<()> {
    let bad = |m: String| Err(Error::invalid(m));
    // values from the command line are finite (the parser refuses others); these may come
    // from an -img/-mask header
    let finite = [
        ("-lambda/-energy", o.lambda0),
        ("-distance", o.distance),
        ("-pixel", o.pixel_size),
        ("-fluence", o.fluence),
        ("-phi", o.phi0),
        ("-default_F", o.default_f),
        ("-water", o.water_size),
        ("-dmin", o.dmin),
        ("-detector_thick", o.detector_thick),
    ];
    for (name, v) in finite {
        if !v.is_finite() {
            return bad(format!("{name}: value is not finite"));
        }
    }
    // lengths in metres, shown in the option's unit (NaN: not given)
    let mm = 1e3;
    let lengths = [
        ("-distance", o.distance, mm, "mm"),
        ("-close_distance", o.close_distance, mm, "mm"),
        ("-pixel", o.pixel_size, mm, "mm"),
        ("-detsize_f", o.detsize[0], mm, "mm"),
        ("-detsize_s", o.detsize[1], mm, "mm"),
        ("-Xbeam", o.xbeam, mm, "mm"),
        ("-Ybeam", o.ybeam, mm, "mm"),
        ("-Xclose", o.xclose, mm, "mm"),
        ("-Yclose", o.yclose, mm, "mm"),
        ("-detector_thick", o.detector_thick, 1e6, "um"),
        ("-sample_x/-xtal_x", o.sample_size[0], mm, "mm"),
        ("-sample_y/-xtal_y", o.sample_size[1], mm, "mm"),
        ("-sample_z/-xtal_z", o.sample_size[2], mm, "mm"),
        ("-water", o.water_size, 1e6, "um"),
        ("-beamsize", o.beamsize, mm, "mm"),
        ("-dmin", o.dmin, 1e10, "A"),
    ];
    for (name, v, unit, unit_name) in lengths {
        if v.abs() > MAX_LENGTH {
            return bad(format!(
                "{name} {} {unit_name} is out of range (at most {} {unit_name} in size)",
                fmt_g(v * unit),
                fmt_g(MAX_LENGTH * unit)
            ));
        }
    }
    if !(o.lambda0 > 0.0) {
        return bad(format!(
            "the wavelength must be positive (got {} m)",
            fmt_g(o.lambda0)
        ));
    }
    if o.lambda0 < LAMBDA_RANGE.0 || o.lambda0 > LAMBDA_RANGE.1 {
        return bad(format!(
            "-lambda/-energy: a wavelength of {} A is out of range ({} to {} A)",
            fmt_g(o.lambda0 * 1e10),
            fmt_g(LAMBDA_RANGE.0 * 1e10),
            fmt_g(LAMBDA_RANGE.1 * 1e10)
        ));
    }
    let angles = [
        ("-phi", o.phi0),
        ("-osc", o.osc),
        ("-phistep", o.phistep),
        ("-twotheta", o.twotheta),
        ("-detector_rotx", o.det_rot[0]),
        ("-detector_roty", o.det_rot[1]),
        ("-detector_rotz", o.det_rot[2]),
        ("-mosaic", o.mosaic_spread),
        ("-cell alpha", o.cell_angles[0]),
        ("-cell beta", o.cell_angles[1]),
        ("-cell gamma", o.cell_angles[2]),
    ];
    let misset = match o.misset {
        crate::options::Misset::Angles(a) => a,
        _ => [0.0; 3],
    };
    for (name, v) in angles
        .into_iter()
        .chain(misset.iter().map(|a| ("-misset", *a)))
    {
        if (v * RTD).abs() > MAX_ANGLE {
            return bad(format!(
                "{name} {} deg is out of range (at most {} deg)",
                fmt_g(v * RTD),
                fmt_g(MAX_ANGLE)
            ));
        }
    }
    if o.default_f.abs() > MAX_F {
        return bad(format!(
            "-default_F {} is out of range (|F| at most {}, so that F squared is finite)",
            fmt_g(o.default_f),
            fmt_g(MAX_F)
        ));
    }
    Ok(())
}

/// The detector's pixels, size and direction vectors, and the cell length.
fn validate_detector(o: &Options) -> Result<()> {
    let bad = |m: String| Err(Error::invalid(m));
    if !(o.pixel_size > 0.0) {
        return bad(format!(
            "the pixel size must be positive (got {} mm)",
            fmt_g(o.pixel_size * 1000.0)
        ));
    }
    if o.pixels[0] < 0 || o.pixels[1] < 0 {
        return bad(format!(
            "negative pixel count {}x{}",
            o.pixels[0], o.pixels[1]
        ));
    }
    if !(o.detsize[0] > 0.0 && o.detsize[1] > 0.0) && (o.pixels[0] == 0 || o.pixels[1] == 0) {
        return bad("the detector size must be positive".to_string());
    }
    let count = |k: usize| {
        if o.pixels[k] > 0 {
            o.pixels[k] as f64
        } else {
            (o.detsize[k] / o.pixel_size).ceil()
        }
    };
    let npix = count(0) * count(1);
    if npix > 1.0e9 || count(0) > 1e6 || count(1) > 1e6 {
        return bad(format!(
            "the detector is too large: {} pixels (at most 10^9), which would need {} of image buffers",
            crate::cfmt::fmt_g(npix),
            crate::memory::human((npix * 6.0) as u128)
        ));
    }
    for v in [
        o.fdet,
        o.sdet,
        o.odet,
        o.beam,
        o.polar_vector,
        o.spindle,
        o.twotheta_axis,
    ] {
        if !v.iter().all(|x| x.is_finite()) {
            return bad("a direction vector has a non-finite component".to_string());
        }
    }
    if o.convention == Convention::Custom {
        for (name, v) in [
            ("-fdet_vector", o.fdet),
            ("-sdet_vector", o.sdet),
            ("-beam_vector", o.beam),
        ] {
            if v == [0.0; 3] {
                return bad(format!("{name} is the zero vector"));
            }
        }
    }
    if o.user_cell && !(o.cell_lengths[0] > 0.0) {
        return bad(format!(
            "the cell length a must be positive (got {})",
            fmt_g(o.cell_lengths[0])
        ));
    }
    Ok(())
}
