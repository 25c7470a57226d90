//! The shared stages: what every image of a series has in common (headers, options, detector,
//! sampling, geometry, structure factors, sources), each returning its value with the lines it
//! prints and the warnings it raises. See [`super`] for the order.

use super::{FSource, PhiSampling, Stage, Thickness, g3};
use crate::cfmt::fmt_g;
use crate::cli;
use crate::detector::{self, Detector};
use crate::error::{Error, Result};
use crate::hkl::{self, FdumpRead};
use crate::io::{self, smv};
use crate::options::{Convention, Options, Pivot, RTD};
use crate::sources::{self, BeamSampling, Source};

/// What the `-mask` and `-img` headers set.
#[derive(Clone, Debug)]
pub struct Headers {
    /// The defaults with the headers' values applied.
    pub opts: Options,
    /// The mask image, if any.
    pub mask: Option<smv::SmvFile>,
}

/// Stage "headers": read the mask, then the img file, before the command line, as the
/// reference does (their values are overridden by the command line).
pub fn headers(pre: &cli::Prescan, time_seed: i64) -> Result<Stage<Headers>> {
    let mut st = Stage::new(Headers {
        opts: Options::new(time_seed),
        mask: None,
    });
    st.value.opts.fix_quirks = pre.fix_quirks;
    for (name, is_mask) in [(&pre.mask, true), (&pre.img, false)] {
        let Some(name) = name else { continue };
        let f = smv::parse(name, &io::read_file(name)?)?;
        st.lines.push(format!("reading {name}"));
        st.lines
            .push(format!("mmap({name}) = {:p}", f.pixels.as_ptr()));
        apply_header(&mut st.value.opts, &f, is_mask, &mut st.warnings, name);
        if is_mask {
            st.value.mask = Some(f);
        }
    }
    Ok(st)
}

/// The parsed command line.
#[derive(Clone, Debug)]
pub struct Parsed {
    pub opts: Options,
    /// Some option of the line looked for more arguments than followed it (an image's
    /// options appended to the line could change what it does).
    pub lookahead_short: bool,
    /// The options given, by argument index.
    pub keys: Vec<(usize, cli::table::Key)>,
}

/// Stage "options": parse the command line over the headers' values, check it, and fill in
/// the blanks (fluence from flux, the sample clipped by the beam).
pub fn options(args: &[String], headers: Options) -> Result<Stage<Parsed>> {
    let mut o = headers;
    let mut st = Stage::new(());
    let report = cli::parse_report(args, &mut o, &mut st.warnings)?;
    if report.action != cli::Action::Run {
        return Err(Error::usage("help or version requested"));
    }
    super::checks::validate_options(&o)?;
    if o.flux != 0.0 && o.exposure > 0.0 && o.beamsize >= 0.0 {
        o.fluence = o.flux * o.exposure / o.beamsize / o.beamsize;
    }
    if o.beamsize >= 0.0 {
        for (k, side) in [(1, "high"), (2, "wide")] {
            if o.beamsize < o.sample_size[k] {
                st.lines.push(format!(
                    "WARNING: clipping sample ({} m {side}) with beam ({} m)",
                    fmt_g(o.sample_size[k]),
                    fmt_g(o.beamsize)
                ));
                o.sample_size[k] = o.beamsize;
            }
        }
    }
    Ok(st.with(Parsed {
        opts: o,
        lookahead_short: report.lookahead_short,
        keys: report.keys,
    }))
}

/// Stage "detector": the convention's axes and defaults, checked against the mask.
pub fn detector(o: &Options, mask: Option<(&str, &smv::SmvFile)>) -> Result<Stage<Detector>> {
    let det = detector::conventions(o);
    let mut st = Stage::new(());
    if det.fpixels <= 0 || det.spixels <= 0 {
        return Err(Error::invalid(format!(
            "the detector has {}x{} pixels: check -detpixels, -detsize and -pixel",
            det.fpixels, det.spixels
        )));
    }
    if o.pivot_given && o.convention != Convention::Custom && o.pivot != det.pivot && !o.fix_quirks
    {
        st.warnings.push(format!(
            "-pivot {} is overridden by the {} convention, which pivots about the {}, as nanoBragg.c does; -fix_quirks honours -pivot",
            if o.pivot == Pivot::Sample { "sample" } else { "beam" },
            o.convention.name(),
            if det.pivot == Pivot::Sample { "sample" } else { "direct beam spot" }
        ));
    }
    if det.odet_regenerated {
        st.lines
            .push("WARNING: auto-generating odet_vector".to_string());
    }
    if let Some((name, m)) = mask
        && (m.width != det.fpixels || m.height != det.spixels)
    {
        return Err(Error::input(
            name,
            None,
            format!(
                "mask is {}x{} pixels but the detector is {}x{}",
                m.width, m.height, det.fpixels, det.spixels
            ),
        ));
    }
    Ok(st.with(det))
}

/// The inputs a run needs: structure factors (`-hkl`, a previous run's dump file, or
/// `-default_F`) and a crystal. Returns the dump file's bytes when it will be read.
pub fn inputs(o: &Options) -> Result<Option<Vec<u8>>> {
    let dump = if o.hklfile.is_none() {
        std::fs::read(&o.dumpfile).ok()
    } else {
        None
    };
    if o.hklfile.is_none() && dump.is_none() && o.default_f == 0.0 {
        return Err(Error::usage(format!(
            "no structure factors: give -hkl FILE or -default_F F (no {} from a previous run either)",
            o.dumpfile
        )));
    }
    if o.matfile.is_none() && o.cell_lengths[0] == 0.0 {
        return Err(Error::usage(
            "no crystal: give -cell a b c alpha beta gamma or -mat FILE",
        ));
    }
    Ok(dump)
}

/// Beam, sensor and mosaic sampling after the auto rules (φ sampling is per image).
#[derive(Clone, Copy, Debug)]
pub struct Sampling {
    pub beam: BeamSampling,
    pub thickness: Thickness,
    pub mosaic_domains: i32,
    /// Mosaic spread, radians.
    pub mosaic_spread: f64,
}

/// Stage "sampling": the reference's auto rules for divergence, dispersion, sensor layers and
/// mosaic domains; absurd counts are refused before any table is made.
pub fn sampling(o: &Options) -> Result<Stage<Sampling>> {
    let mut st = Stage::new(());
    let phi = phi_sampling(o);
    let mut bs = BeamSampling {
        hdivrange: o.hdivrange,
        hdivstep: o.hdivstep,
        hdivsteps: o.hdivsteps,
        vdivrange: o.vdivrange,
        vdivstep: o.vdivstep,
        vdivsteps: o.vdivsteps,
        dispersion: o.dispersion,
        dispstep: -1.0,
        dispsteps: o.dispsteps,
        round_div: o.round_div,
    };
    auto_steps(&mut bs.hdivsteps, &mut bs.hdivrange, &mut bs.hdivstep, 1.0);
    auto_steps(&mut bs.vdivsteps, &mut bs.vdivrange, &mut bs.vdivstep, 1.0);
    auto_steps(&mut bs.dispsteps, &mut bs.dispersion, &mut bs.dispstep, 1.0);
    let mut th = thickness_sampling(o);
    if th.thick > 0.0 && th.mu < 0.0 {
        th.mu = 1.0 / th.thick;
        st.lines.push(format!(
            "WARNING: setting detector attenuation depth to {} m",
            fmt_g(th.mu)
        ));
    }
    let (mosaic_domains, mosaic_spread) = mosaic_sampling(o, &mut st.lines);
    sanity(&mut bs.hdivsteps, &mut bs.hdivrange, &mut bs.hdivstep);
    sanity(&mut bs.vdivsteps, &mut bs.vdivrange, &mut bs.vdivstep);
    sanity(&mut bs.dispsteps, &mut bs.dispersion, &mut bs.dispstep);
    if th.thick <= 0.0 || th.step <= 0.0 || th.steps <= 0 {
        th.steps = 1;
        th.thick = 0.0;
        th.step = 0.0;
    }
    // absurd counts are refused before their tables (and printed lines) are made; a source
    // file's sources are bounded by its size
    let count = |n: i32| n.max(1) as u128;
    let generated = if o.sourcefile.is_some() {
        1
    } else {
        count(bs.hdivsteps) * count(bs.vdivsteps) * count(bs.dispsteps)
    };
    crate::memory::check_sampling(
        generated,
        count(phi.steps),
        count(mosaic_domains),
        count(th.steps),
    )?;
    Ok(st.with(Sampling {
        beam: bs,
        thickness: th,
        mosaic_domains,
        mosaic_spread,
    }))
}

/// Stage "geometry": place the detector (pivot, rotations, 2θ, first pixel).
pub fn geometry(o: &Options, mut det: Detector) -> Result<Stage<Detector>> {
    let mut st = Stage::new(());
    st.lines
        .push(format!("{} convention selected.", det.convention.name()));
    st.lines.push(
        if det.pivot == Pivot::Sample {
            "pivoting detector around sample"
        } else {
            "pivoting detector around direct beam spot"
        }
        .to_string(),
    );
    let pix0 = match (o.pix0, o.fix_quirks) {
        (Some(p), true) => Some(p),
        (Some(_), false) => {
            st.warnings.push("-pix0_vector is ignored, as nanoBragg.c does (the first pixel is placed from the beam centre); -fix_quirks honours it".to_string());
            None
        }
        _ => None,
    };
    detector::place(&mut det, &o.det_rot, pix0);
    st.lines.push(format!(
        "XDS incident beam: {}",
        g3(&det.beam_in_detector_frame())
    ));
    if !(det.distance.is_finite() && det.close_distance.is_finite()) || det.distance == 0.0 {
        return Err(Error::invalid(
            "the detector distance is zero or not finite",
        ));
    }
    Ok(st.with(det))
}

/// Stage "structure factors": the HKL file (written to the dump file after the run), a
/// previous run's dump file, or `-default_F` alone.
pub fn structure_factors(o: &Options, dump: Option<&[u8]>) -> Result<Stage<FSource>> {
    let mut st = Stage::new(());
    let f = if let Some(h) = &o.hklfile {
        let text = io::read_text(h)?;
        st.lines.push(format!("counting entries in {h}"));
        let mode = if o.fix_quirks {
            hkl::HklRead::Exact
        } else {
            hkl::HklRead::Reference
        };
        let read = hkl::read_hkl(h, &text, o.default_f, mode)?;
        if let Some((line, token)) = &read.stopped {
            st.warnings.push(format!(
                "{h}, line {line}: the Miller index '{}' stops nanoBragg.c's second reading pass, so this reflection and every later one keep their initial value ({}), also in the dump file, as nanoBragg.c does; -fix_quirks reads them",
                crate::cfmt::clip(token),
                fmt_g(o.default_f)
            ));
        }
        let g = read.grid;
        if o.default_f != 0.0 {
            st.lines.push(format!(
                "initializing to default_F = {}:",
                fmt_g(o.default_f)
            ));
            st.lines.push("done initializing:".to_string());
        }
        st.lines.push(format!("re-reading {h}"));
        st.lines
            .push(format!("writing dump file for next time: {}", o.dumpfile));
        FSource::Text(g)
    } else if let Some(b) = dump {
        st.lines.push(format!("reading Fs from {}", o.dumpfile));
        let mode = if o.fix_quirks {
            FdumpRead::Exact
        } else {
            FdumpRead::Reference
        };
        let d = hkl::read_fdump(&o.dumpfile, b, mode)?;
        if d.swallowed > 0 {
            st.warnings.push(format!(
                "{}: the first {} byte(s) of the structure factors look like white space and are skipped, shifting every value, as nanoBragg.c does; -fix_quirks reads the file exactly",
                o.dumpfile, d.swallowed
            ));
        }
        FSource::Dump(d.grid)
    } else {
        FSource::Default
    };
    Ok(st.with(f))
}

/// Stage "stol": the `-stol` file is read and checked (its values are not used, as in the
/// reference's pixel loop).
pub fn stol(o: &Options) -> Result<Stage<()>> {
    let mut st = Stage::new(());
    if let Some(s) = &o.stolfile {
        st.lines.push(format!("reading {s}"));
        let text = io::read_text(s)?;
        let rows = text
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
            .count();
        if rows == 0 {
            return Err(Error::input(s, None, "no data in the stol file"));
        }
    }
    Ok(st)
}

/// The sources and the divergence points generated (−1 when a source file was read).
#[derive(Clone, Debug)]
pub struct SourceSet {
    pub sources: Vec<Source>,
    pub divsteps: i32,
}

/// Stage "sources": the source file, or the divergence × dispersion grid.
pub fn sources(o: &Options, det: &Detector, bs: &BeamSampling) -> Result<Stage<SourceSet>> {
    let mut st = Stage::new(());
    let (srcs, divsteps) = if let Some(sf) = &o.sourcefile {
        if !o.divergence_options.is_empty() {
            let mut names = o.divergence_options.clone();
            names.dedup();
            st.warnings.push(format!(
                "{} ignored: the source file {sf} defines the sources, as in nanoBragg.c",
                names.join(", ")
            ));
        }
        let text = io::read_text(sf)?;
        let f = sources::read_source_file(sf, &text, &det.beam, o.lambda0, !o.fix_quirks)?;
        if let Some(line) = f.zero_filled {
            let what = format!(
                "line {line} has no newline or ends in CR LF, so nanoBragg.c reads its missing columns (all of them, for a blank line) as 0, and a zero wavelength makes every pixel NaN"
            );
            if !o.allow_nonfinite {
                return Err(Error::input(
                    sf,
                    None,
                    format!(
                        "{what}; fix the line ending, or give -fix_quirks to use the defaults and skip blank lines (-allow_nonfinite renders it as nanoBragg.c does)"
                    ),
                ));
            }
            st.warnings.push(format!(
                "{sf}: {what}, as nanoBragg.c does; -fix_quirks uses the defaults (and skips blank lines)"
            ));
        }
        (f.sources, -1)
    } else {
        let g = sources::generate(bs, &det.beam, &det.polar, &det.vert, o.lambda0);
        st.lines.extend(g.lines);
        (g.sources, g.divsteps)
    };
    if srcs.is_empty() {
        return Err(Error::invalid("no sources: the divergence grid is empty"));
    }
    st.lines
        .push(format!("  created a total of {} sources:", srcs.len()));
    // a generated grid repeats each position and weight for every wavelength: a column's
    // value is formatted again only when it changes (thousands of sources cost ~1 ms else)
    let mut cols: [Option<(u64, String)>; 5] = Default::default();
    for s in &srcs {
        let values = [s.pos[0], s.pos[1], s.pos[2], s.weight, s.lambda];
        for (col, x) in cols.iter_mut().zip(values) {
            if col.as_ref().is_none_or(|(bits, _)| *bits != x.to_bits()) {
                *col = Some((x.to_bits(), fmt_g(x)));
            }
        }
        let g = |i: usize| cols[i].as_ref().map_or("", |(_, t)| t.as_str());
        st.lines
            .push(format!("{} {} {}   {} {}", g(0), g(1), g(2), g(3), g(4)));
    }
    Ok(st.with(SourceSet {
        sources: srcs,
        divsteps,
    }))
}

/// The `thick0 = ...` lines of the sensor layers.
pub fn thickness_lines(th: &Thickness) -> Vec<String> {
    (0..th.steps)
        .map(|t| format!("thick{} = {} um", t, fmt_g(th.step * t as f64 * 1e6)))
        .collect()
}

fn apply_header(
    o: &mut Options,
    f: &smv::SmvFile,
    is_mask: bool,
    warnings: &mut Vec<String>,
    name: &str,
) {
    o.pixels = [f.width, f.height];
    let val = |k: &str| f.value_of(k).filter(|v| !v.is_nan());
    if let Some(v) = val("PIXEL_SIZE") {
        o.pixel_size = v / 1000.0;
    }
    o.detsize = [
        o.pixel_size * f.width as f64,
        o.pixel_size * f.height as f64,
    ];
    if let Some(v) = val("DISTANCE") {
        o.distance = v / 1000.0;
    }
    if let Some(v) = val("CLOSE_DISTANCE") {
        o.close_distance = v / 1000.0;
    }
    if let Some(v) = val("WAVELENGTH") {
        o.lambda0 = v / 1e10;
    }
    if let Some(v) = val("BEAM_CENTER_X") {
        o.xbeam = v / 1000.0;
    }
    if let Some(v) = val("BEAM_CENTER_Y") {
        o.ybeam = if is_mask {
            o.detsize[1] - v / 1000.0
        } else {
            v / 1000.0
        };
    }
    if let Some(v) = val("ORGX") {
        o.orgx = v;
    }
    if let Some(v) = val("ORGY") {
        o.orgy = v;
    }
    if let Some(v) = val("PHI") {
        o.phi0 = v / RTD;
    }
    if let Some(v) = val("OSC_RANGE") {
        o.osc = v / RTD;
    }
    if let Some(v) = val("TWOTHETA") {
        if o.fix_quirks {
            o.twotheta = v / RTD;
        } else if v != 0.0 {
            warnings.push(format!(
                "TWOTHETA={} in {name} is ignored, as nanoBragg.c does; -fix_quirks applies it",
                fmt_g(v)
            ));
        }
    }
}

/// Auto rule shared by divergence and dispersion (reference-behaviour 3.7).
fn auto_steps(steps: &mut i32, range: &mut f64, step: &mut f64, count_only_range: f64) {
    if *steps <= 0 {
        if *range < 0.0 {
            if *step <= 0.0 {
                *steps = 1;
                *range = 0.0;
                *step = 0.0;
            } else {
                *range = *step;
                *steps = 2;
            }
        } else if *step <= 0.0 {
            *step = *range;
            *steps = 2;
        } else {
            *steps = crate::cfmt::c_int((*range / *step).ceil());
        }
    } else if *range < 0.0 {
        if *step <= 0.0 {
            *range = count_only_range;
            *step = *range / *steps as f64;
        } else {
            *range = *step;
            *steps = 2;
        }
    } else if *step <= 0.0 {
        if *steps <= 1 {
            *steps = 2;
        }
        *step = *range / (*steps - 1) as f64;
    }
}

fn sanity(steps: &mut i32, range: &mut f64, step: &mut f64) {
    if *range <= 0.0 || *step <= 0.0 || *steps <= 0 {
        *steps = 1;
        *range = 0.0;
        *step = 0.0;
    }
}

/// Resolve a command line (without the program name) into an experiment. Reads the input files
pub fn phi_sampling(o: &Options) -> PhiSampling {
    let (mut osc, mut step, mut steps) = (o.osc, o.phistep, o.phisteps);
    if steps < 0 {
        if osc < 0.0 {
            if step <= 0.0 {
                steps = 1;
                osc = 0.0;
                step = 0.0;
            } else {
                osc = step;
                steps = 2;
            }
        } else if step <= 0.0 {
            steps = 2;
            step = osc / 2.0;
        } else {
            steps = crate::cfmt::c_int((osc / step).ceil());
        }
    } else {
        if steps == 0 {
            steps = 1;
        }
        if osc < 0.0 {
            if step <= 0.0 {
                osc = 1.0 / RTD;
                step = osc / steps as f64;
            } else {
                osc = step;
                steps = 2;
            }
        } else if step < 0.0 {
            step = osc / steps as f64;
        }
    }
    PhiSampling {
        phi0: o.phi0,
        osc,
        step,
        steps,
    }
}

fn thickness_sampling(o: &Options) -> Thickness {
    let (mut thick, mut steps) = (o.detector_thick, o.detector_thicksteps);
    let step;
    if steps <= 0 {
        if thick < 0.0 {
            steps = 1;
            thick = 0.0;
            step = 0.0;
        } else {
            steps = 2;
            step = thick / steps as f64;
        }
    } else if thick < 0.0 {
        thick = 0.5e-6;
        step = thick / steps as f64;
    } else {
        if steps <= 1 {
            steps = 2;
        }
        step = thick / (steps - 1) as f64;
    }
    Thickness {
        thick,
        step,
        steps,
        mu: o.detector_mu,
    }
}

fn mosaic_sampling(o: &Options, out: &mut Vec<String>) -> (i32, f64) {
    let (mut domains, mut spread) = (o.mosaic_domains, o.mosaic_spread);
    if domains <= 0 {
        if spread < 0.0 {
            domains = 1;
            spread = 0.0;
        } else if spread == 0.0 {
            domains = 1;
        } else {
            out.push(
                "WARNING: finite mosaicity with only one domain! upping to 10 mosaic domains"
                    .to_string(),
            );
            domains = 10;
        }
    } else if spread < 0.0 {
        out.push("WARNING: no mosaic spread specified.  setting mosaic_domains = 1".to_string());
        spread = 0.0;
        domains = 1;
    } else if spread == 0.0 {
        out.push("WARNING: zero mosaic spread specified.  setting mosaic_domains = 1".to_string());
        domains = 1;
    }
    (domains, spread)
}
