//! The run summary the reference prints before its pixel loop, and the quirk warnings that
//! depend on the resolved run: both from the stages' values.

use super::{PhiSampling, Shared, g3, image::Size};
use crate::cfmt::{fmt_f, fmt_g};
use crate::options::{Options, RTD, Shape};
use crate::vec3::cross;

/// The summary block, from the shared stages and an image's options, size and spindle.
pub fn summary_lines(sh: &Shared, o: &Options, size: &Size, phi: &PhiSampling) -> Vec<String> {
    let mut out = Vec::with_capacity(40);
    let n = size.n_cells;
    let bs = &sh.sampling.value.beam;
    out.push(format!(
        "  {} initialized hkls (all others ={})",
        sh.hkls(),
        fmt_g(o.default_f)
    ));
    let shape = match o.shape {
        Shape::Round => "ellipsoidal",
        Shape::Square => "parallelpiped",
        Shape::Gauss => "gaussian",
        Shape::Tophat => "tophat-spot",
    };
    out.push(format!(
        "  {} xtal: {}x{}x{} cells",
        shape,
        fmt_f(n[0], 0),
        fmt_f(n[1], 0),
        fmt_f(n[2], 0)
    ));
    out.push(format!(
        "  wave={} meters +/- {}% in {} steps",
        fmt_g(o.lambda0),
        fmt_g(bs.dispersion * 100.0),
        bs.dispsteps
    ));
    if o.nopolar {
        out.push("  polarization effect disabled".to_string());
    } else {
        out.push(format!(
            "  Kahn polarization factor: {}",
            fmt_f(o.polarization, 6)
        ));
    }
    if o.curved_det {
        out.push("  curved detector: all pixels same distance from origin".to_string());
    }
    if o.point_pixel {
        out.push("  pixel obliquity effect disabled".to_string());
    }
    out.push(format!(
        "  incident fluence: {} photons/m^2",
        fmt_g(o.fluence)
    ));
    out.extend(detector_lines(sh));
    out.extend(sampling_lines(sh, size, phi, o));
    if let Some(m) = &sh.mask_name {
        out.push(format!("  skipping zero-flagged pixels in {m}"));
    }
    if o.write_noise {
        out.push(String::new());
        out.push("  noise image paramters:".to_string());
        out.push(format!("  seed: {}", o.seed));
        out.push(format!("  water droplet size: {} m", fmt_g(o.water_size)));
    }
    out
}

/// Detector geometry lines of the summary.
fn detector_lines(sh: &Shared) -> Vec<String> {
    let det = &sh.geometry.value;
    let th = &sh.sampling.value.thickness;
    vec![
        format!(
            "  distance={} detsize={}x{}  pixel={} meters ({}x{} pixels)",
            fmt_g(det.distance),
            fmt_g(det.detsize_f),
            fmt_g(det.detsize_s),
            fmt_g(det.pixel_size),
            det.fpixels,
            det.spixels
        ),
        format!(
            "  sensor is {} m thick in {} layers with mu= {}",
            fmt_g(th.thick),
            th.steps,
            fmt_g(th.mu)
        ),
        format!("  Xbeam={} Ybeam={}", fmt_g(det.xbeam), fmt_g(det.ybeam)),
        format!("  Fbeam={} Sbeam={}", fmt_g(det.fbeam), fmt_g(det.sbeam)),
        format!(
            "  Xclose={} Yclose={}",
            fmt_g(det.xclose),
            fmt_g(det.yclose)
        ),
        format!(
            "  Fclose={} Sclose={}",
            fmt_g(det.fclose),
            fmt_g(det.sclose)
        ),
        format!("  DIRECTION_OF_DETECTOR_X-AXIS= {}", g3(&det.fdet)),
        format!("  DIRECTION_OF_DETECTOR_Y-AXIS= {}", g3(&det.sdet)),
        format!("  DIRECTION_OF_DETECTOR_Z-AXIS= {}", g3(&det.odet)),
        format!("  INCIDENT_BEAM_DIRECTION= {}", g3(&det.beam)),
        format!("  spindle ROTATION_AXIS= {}", g3(&det.spindle)),
        format!(
            "  POLARIZATION_PLANE_NORMAL= {}",
            g3(&cross(&det.beam, &det.polar))
        ),
        format!("  dials origin= {}", g3(&det.dials_origin)),
        format!(
            "  roi: {} < x < {} && {} < y < {}",
            det.roi[0], det.roi[1], det.roi[2], det.roi[3]
        ),
    ]
}

/// Divergence, sources, mosaic, spindle and oversampling lines of the summary.
fn sampling_lines(sh: &Shared, size: &Size, phi: &PhiSampling, o: &Options) -> Vec<String> {
    let s = &sh.sampling.value;
    let bs = &s.beam;
    let os = size.oversample;
    let mut os_line = format!("  {os}x{os} pixel oversample steps");
    for (on, flag) in [
        (o.oversample_thick, " +thick"),
        (o.oversample_polar, " +polar"),
        (o.oversample_omega, " +omega"),
    ] {
        if on {
            os_line.push_str(flag);
        }
    }
    vec![
        format!(
            "  hdivrange={} hdivstep={}  radians",
            fmt_g(bs.hdivrange),
            fmt_g(bs.hdivstep)
        ),
        format!(
            "  vdivrange={} vdivstep={}  radians",
            fmt_g(bs.vdivrange),
            fmt_g(bs.vdivstep)
        ),
        format!("  {} divergence steps", sh.sources.value.divsteps),
        format!("  {} sources", sh.sources.value.sources.len()),
        format!(
            "  {} mosaic domains over mosaic spread of {} degrees",
            s.mosaic_domains,
            fmt_g(s.mosaic_spread * RTD)
        ),
        format!(
            "  {} phi steps from {} to {} degrees",
            phi.steps,
            fmt_g(phi.phi0 * RTD),
            fmt_g((phi.phi0 + phi.osc) * RTD)
        ),
        os_line,
    ]
}

/// Warnings about reference quirks that depend on the resolved run (φ steps, polarization).
pub fn quirk_warnings(o: &Options, phi: &PhiSampling) -> Vec<String> {
    let mut warn = Vec::new();
    if o.fix_quirks {
        return warn;
    }
    let phis: Vec<f64> = (0..phi.steps)
        .map(|p| phi.phi0 + phi.step * p as f64)
        .collect();
    if phis.contains(&0.0) && phis.iter().any(|f| *f != 0.0) {
        warn.push("the phi = 0 step reuses the crystal orientation of the previous phi step instead of the unrotated cell, as nanoBragg.c does; -fix_quirks uses the unrotated cell".to_string());
    }
    if o.nopolar && o.oversample_polar {
        warn.push("-oversample_polar re-enables the polarization factor despite -nopolar, as nanoBragg.c does; -fix_quirks keeps it off".to_string());
    }
    warn
}
