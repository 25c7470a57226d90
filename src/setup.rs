//! From options to a fully resolved experiment, in the reference program's order.
//!
//! This follows nanoBragg.c's `main` phase by phase (headers, options, blanks, conventions,
//! sampling rules, geometry, cell, crystal size, structure factors, sources, mosaic) so that
//! every derived value — and every random draw — comes out identical. Along the way it records
//! the lines the reference prints (the transcript) and this program's own warnings about
//! reference quirks. Nothing here prints or exits.

use crate::cfmt::{fmt_f, fmt_g, pad_left, pad_right};
use crate::cli;
use crate::crystal::{self, CellInput, Crystal};
use crate::detector::{self, Detector};
use crate::error::{Error, Result};
use crate::hkl::{self, FdumpRead, HklGrid};
use crate::io::{self, smv};
use crate::options::{Convention, Interpolation, Misset, Options, Pivot, RTD, Shape};
use crate::plan::{FixQuirks, PlanSource, RenderPlan};
use crate::rng::{Ran1, umat_to_misset};
use crate::sources::{self, BeamSampling, Source};
use crate::vec3::{M3, V3, cross, scale, unitize};

/// Thomson cross-section r_e², m².
pub const R_E_SQR: f64 = 7.94079248018965e-30;
/// Avogadro's number as the reference uses it.
pub const AVOGADRO: f64 = 6.02214179e23;

/// Spindle sampling after the auto rules.
#[derive(Clone, Copy, Debug)]
pub struct PhiSampling {
    pub phi0: f64,
    pub osc: f64,
    pub step: f64,
    pub steps: i32,
}

/// Sensor sampling after the auto rules.
#[derive(Clone, Copy, Debug)]
pub struct Thickness {
    pub thick: f64,
    pub step: f64,
    pub steps: i32,
    pub mu: f64,
}

/// Where the structure factors came from.
#[derive(Clone, Debug)]
pub enum FSource {
    /// Only default_F.
    Default,
    /// An HKL text file (written to the dump file after the run).
    Text(HklGrid),
    /// A dump file from a previous run.
    Dump(HklGrid),
}

/// Everything resolved, ready to render and write.
#[derive(Clone, Debug)]
pub struct Experiment {
    pub opts: Options,
    pub det: Detector,
    pub crystal: Crystal,
    pub n_cells: [f64; 3],
    pub oversample: i32,
    pub phi: PhiSampling,
    pub beam_sampling: BeamSampling,
    pub thickness: Thickness,
    pub mosaic_spread: f64,
    pub umats: Vec<M3>,
    pub sources: Vec<Source>,
    /// Divergence points generated (−1 when a source file was used).
    pub divsteps: i32,
    pub f_source: FSource,
    pub interpolate: bool,
    pub mask: Option<Vec<u16>>,
    pub fluence: f64,
    pub i_bg: f64,
    /// sources · domains · φ steps · oversample² (thickness layers not included).
    pub steps: i64,
    /// Lines the reference prints before the pixel loop.
    pub transcript: Vec<String>,
    /// This program's warnings (reference quirks that change what was asked for).
    pub warnings: Vec<String>,
    /// Random generator state after the misset and mosaic draws (the noise image continues
    /// the shared shuffle table).
    pub rng: Ran1,
}

impl Experiment {
    /// The grid, if any.
    pub fn grid(&self) -> Option<&HklGrid> {
        match &self.f_source {
            FSource::Default => None,
            FSource::Text(g) | FSource::Dump(g) => Some(g),
        }
    }
}

/// The negated start-up time the reference uses as its default seeds.
pub fn time_seed() -> i64 {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    -t
}

fn g3(v: &V3) -> String {
    format!("{} {} {}", fmt_g(v[0]), fmt_g(v[1]), fmt_g(v[2]))
}

/// Apply an SMV header's keys to the options (the reference reads the mask first, then the
/// img file, before parsing the command line).
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
/// it names; writes nothing.
pub fn resolve(args: &[String], time_seed: i64) -> Result<Experiment> {
    let mut out: Vec<String> = Vec::new();
    let mut warn: Vec<String> = Vec::new();
    let pre = cli::prescan(args);
    let mut o = Options::new(time_seed);
    o.fix_quirks = pre.fix_quirks;
    let fix = pre.fix_quirks;

    // ---- headers: mask first, then img ----
    let mut mask_file = None;
    if let Some(m) = &pre.mask {
        let f = smv::parse(m, &io::read_file(m)?)?;
        out.push(format!("reading {m}"));
        out.push(format!("mmap({m}) = {:p}", f.pixels.as_ptr()));
        apply_header(&mut o, &f, true, &mut warn, m);
        mask_file = Some(f);
    }
    if let Some(i) = &pre.img {
        let f = smv::parse(i, &io::read_file(i)?)?;
        out.push(format!("reading {i}"));
        out.push(format!("mmap({i}) = {:p}", f.pixels.as_ptr()));
        apply_header(&mut o, &f, false, &mut warn, i);
    }

    // ---- options ----
    let action = cli::parse_into(args, &mut o, &mut warn)?;
    if action != cli::Action::Run {
        return Err(Error::usage("help or version requested"));
    }
    validate_options(&o)?;

    // ---- fill in blanks ----
    if o.flux != 0.0 && o.exposure > 0.0 && o.beamsize >= 0.0 {
        o.fluence = o.flux * o.exposure / o.beamsize / o.beamsize;
    }
    if o.beamsize >= 0.0 {
        if o.beamsize < o.sample_size[1] {
            out.push(format!(
                "WARNING: clipping sample ({} m high) with beam ({} m)",
                fmt_g(o.sample_size[1]),
                fmt_g(o.beamsize)
            ));
            o.sample_size[1] = o.beamsize;
        }
        if o.beamsize < o.sample_size[2] {
            out.push(format!(
                "WARNING: clipping sample ({} m wide) with beam ({} m)",
                fmt_g(o.sample_size[2]),
                fmt_g(o.beamsize)
            ));
            o.sample_size[2] = o.beamsize;
        }
    }
    let mut det = detector::conventions(&o);
    if det.fpixels <= 0 || det.spixels <= 0 {
        return Err(Error::invalid(format!(
            "the detector has {}x{} pixels: check -detpixels, -detsize and -pixel",
            det.fpixels, det.spixels
        )));
    }
    if o.pivot_given && o.convention != Convention::Custom && o.pivot != det.pivot && !fix {
        warn.push(format!(
            "-pivot {} is overridden by the {} convention, which pivots about the {}, as nanoBragg.c does; -fix_quirks honours -pivot",
            if o.pivot == Pivot::Sample { "sample" } else { "beam" },
            o.convention.name(),
            if det.pivot == Pivot::Sample { "sample" } else { "direct beam spot" }
        ));
    }
    if det.odet_regenerated {
        out.push("WARNING: auto-generating odet_vector".to_string());
    }
    if let Some(m) = &mask_file
        && (m.width != det.fpixels || m.height != det.spixels)
    {
        return Err(Error::input(
            pre.mask.as_deref().unwrap_or(""),
            None,
            format!(
                "mask is {}x{} pixels but the detector is {}x{}",
                m.width, m.height, det.fpixels, det.spixels
            ),
        ));
    }

    out.push(BANNER.to_string());

    // ---- structure factors available? crystal given? ----
    let dump_bytes = if o.hklfile.is_none() {
        std::fs::read(&o.dumpfile).ok()
    } else {
        None
    };
    if o.hklfile.is_none() && dump_bytes.is_none() && o.default_f == 0.0 {
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

    // ---- sampling rules ----
    let phi = phi_sampling(&o);
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
    let mut th = thickness_sampling(&o);
    if th.thick > 0.0 && th.mu < 0.0 {
        th.mu = 1.0 / th.thick;
        out.push(format!(
            "WARNING: setting detector attenuation depth to {} m",
            fmt_g(th.mu)
        ));
    }
    let (mosaic_domains, mosaic_spread) = mosaic_sampling(&o, &mut out);
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

    // ---- geometry ----
    out.push(format!("{} convention selected.", det.convention.name()));
    out.push(
        if det.pivot == Pivot::Sample {
            "pivoting detector around sample"
        } else {
            "pivoting detector around direct beam spot"
        }
        .to_string(),
    );
    let pix0 = match (o.pix0, fix) {
        (Some(p), true) => Some(p),
        (Some(_), false) => {
            warn.push("-pix0_vector is ignored, as nanoBragg.c does (the first pixel is placed from the beam centre); -fix_quirks honours it".to_string());
            None
        }
        _ => None,
    };
    detector::place(&mut det, &o.det_rot, pix0);
    out.push(format!(
        "XDS incident beam: {}",
        g3(&det.beam_in_detector_frame())
    ));
    if !(det.distance.is_finite() && det.close_distance.is_finite()) || det.distance == 0.0 {
        return Err(Error::invalid(
            "the detector distance is zero or not finite",
        ));
    }

    let mut interpolate = match o.interpolate {
        Interpolation::On => true,
        Interpolation::Off => false,
        Interpolation::Auto => {
            let [na, nb, nc] = o.n_cells;
            if na <= 2.0 || nb <= 2.0 || nc <= 2.0 {
                out.push("auto-selected tricubic interpolation of structure factors".to_string());
                true
            } else {
                out.push("auto-selected no interpolation".to_string());
                false
            }
        }
    };

    // ---- crystal ----
    let mut rng = Ran1::new();
    let matrix = match &o.matfile {
        Some(m) => {
            let text = io::read_text(m)?;
            out.push(format!("reading {m}"));
            Some(read_matrix(m, &text, o.lambda0)?)
        }
        None => None,
    };
    let mut misset = match o.misset {
        Misset::Angles(a) => Some(a),
        _ => None,
    };
    if o.misset == Misset::Random {
        let mut seed = o.misset_seed;
        let u = rng.cap_rotation(90.0, &mut seed);
        let a = umat_to_misset(&u);
        out.push(format!(
            "random orientation misset angles: {} {} {} deg",
            fmt_f(a[0] * RTD, 6),
            fmt_f(a[1] * RTD, 6),
            fmt_f(a[2] * RTD, 6)
        ));
        misset = Some(a);
    }
    let cr = crystal::build(&CellInput {
        cell: o.user_cell.then_some((o.cell_lengths, o.cell_angles)),
        matrix,
        misset,
        textbook_cstar: o.fix_cell,
    });
    if cr.cstar_quirk && !o.fix_cell {
        warn.push("the oblique cell's reciprocal c* z component uses nanoBragg.c's non-textbook formula, so the cell angles differ slightly from -cell (see \"Unit Cell\"); -fix_cell uses the textbook relations".to_string());
    }
    out.extend(cr.messages.iter().cloned());
    out.extend(cell_lines(&cr));
    let finite_cell = cr
        .a0
        .iter()
        .chain(&cr.b0)
        .chain(&cr.c0)
        .all(|x| x.is_finite());
    match &o.matfile {
        Some(m) if finite_cell && cr.volume < 0.0 => {
            return Err(Error::input(
                m,
                None,
                "the matrix is left-handed (negative determinant): a*, b*, c* must form a right-handed set",
            ));
        }
        Some(m) if !finite_cell || !(cr.volume > 0.0) => {
            return Err(Error::input(
                m,
                None,
                "the matrix is singular: its reciprocal vectors span no volume",
            ));
        }
        None if !finite_cell => {
            return Err(Error::invalid(
                "the unit cell is degenerate: check the -cell lengths and angles (the angles must make a cell with volume)",
            ));
        }
        _ => {}
    }

    // ---- crystal size, oversampling ----
    let mut n = o.n_cells;
    let lens = [
        crate::vec3::magnitude(&cr.a0),
        crate::vec3::magnitude(&cr.b0),
        crate::vec3::magnitude(&cr.c0),
    ];
    for k in 0..3 {
        if o.sample_size[k] > 0.0 {
            n[k] = (o.sample_size[k] / lens[k]).ceil();
        }
        if n[k] <= 1.0 {
            n[k] = 1.0;
        }
    }
    for k in 0..3 {
        if n[k] > MAX_CELLS {
            let from = if o.sample_size[k] > 0.0 {
                "from the crystal size, -xtalsize/-sample_size"
            } else {
                "-N/-Na/-Nb/-Nc"
            };
            return Err(Error::invalid(format!(
                "{} unit cells along {} ({from}): at most 10^6 per axis",
                fmt_g(n[k]),
                ["a", "b", "c"][k]
            )));
        }
    }
    let xtal = [lens[0] * n[0], lens[1] * n[1], lens[2] * n[2]];
    out.push(format!(
        "crystal is {} x {} x {} microns",
        fmt_g(xtal[0] * 1e6),
        fmt_g(xtal[1] * 1e6),
        fmt_g(xtal[2] * 1e6)
    ));
    let mut xmax = xtal[0];
    if xmax < xtal[1] {
        xmax = xtal[1];
    }
    if xmax < xtal[2] {
        xmax = xtal[2];
    }
    let reciprocal_pixel = o.lambda0 * det.distance / det.pixel_size;
    let mut recommended = crate::cfmt::c_int((3.0 * xmax / reciprocal_pixel).ceil());
    if recommended <= 0 {
        recommended = 1;
    }
    let mut oversample = o.oversample;
    if oversample <= 0 {
        oversample = recommended;
        out.push(format!("auto-selected {oversample}-fold oversampling"));
    }
    if oversample < recommended {
        out.push(format!(
            "WARNING: maximum dimension of sample is {} A",
            fmt_g(xmax * 1e10)
        ));
        out.push(format!(
            "         but reciprocal pixel size is {} A",
            fmt_g(reciprocal_pixel * 1e10)
        ));
        out.push("         intensity may vary significantly across a pixel!".to_string());
        out.push(format!(
            "         recommend -oversample {recommended} to work around this"
        ));
    }
    let volume = xtal[0] * xtal[1] * xtal[2];
    let mw = volume * 1.2e6 * AVOGADRO / (n[0] * n[1] * n[2]);
    out.push(format!("approximate MW = {}", fmt_g(mw)));

    // ---- structure factors ----
    let f_source = if let Some(h) = &o.hklfile {
        let text = io::read_text(h)?;
        out.push(format!("counting entries in {h}"));
        let mode = if fix {
            hkl::HklRead::Exact
        } else {
            hkl::HklRead::Reference
        };
        let read = hkl::read_hkl(h, &text, o.default_f, mode)?;
        if let Some((line, token)) = &read.stopped {
            warn.push(format!(
                "{h}, line {line}: the Miller index '{}' stops nanoBragg.c's second reading pass, so this reflection and every later one keep their initial value ({}), also in the dump file, as nanoBragg.c does; -fix_quirks reads them",
                crate::cfmt::clip(token),
                fmt_g(o.default_f)
            ));
        }
        let g = read.grid;
        if o.default_f != 0.0 {
            out.push(format!(
                "initializing to default_F = {}:",
                fmt_g(o.default_f)
            ));
            out.push("done initializing:".to_string());
        }
        out.push(format!("re-reading {h}"));
        out.push(format!("writing dump file for next time: {}", o.dumpfile));
        FSource::Text(g)
    } else if let Some(b) = &dump_bytes {
        out.push(format!("reading Fs from {}", o.dumpfile));
        let mode = if fix {
            FdumpRead::Exact
        } else {
            FdumpRead::Reference
        };
        let d = hkl::read_fdump(&o.dumpfile, b, mode)?;
        if d.swallowed > 0 {
            warn.push(format!(
                "{}: the first {} byte(s) of the structure factors look like white space and are skipped, shifting every value, as nanoBragg.c does; -fix_quirks reads the file exactly",
                o.dumpfile, d.swallowed
            ));
        }
        FSource::Dump(d.grid)
    } else {
        FSource::Default
    };
    let hkls = match &f_source {
        FSource::Default => 0,
        FSource::Text(g) | FSource::Dump(g) => g.hkls,
    };
    if hkls == 0 {
        interpolate = false;
    }

    if let Some(s) = &o.stolfile {
        out.push(format!("reading {s}"));
        let text = io::read_text(s)?;
        let rows = text
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
            .count();
        if rows == 0 {
            return Err(Error::input(s, None, "no data in the stol file"));
        }
    }

    for t in 0..th.steps {
        out.push(format!(
            "thick{} = {} um",
            t,
            fmt_g(th.step * t as f64 * 1e6)
        ));
    }
    for p in 0..phi.steps {
        out.push(format!(
            "phi{} = {}",
            p,
            fmt_g((phi.phi0 + phi.step * p as f64) * RTD)
        ));
    }

    // ---- sources ----
    let (srcs, divsteps) = if let Some(sf) = &o.sourcefile {
        if !o.divergence_options.is_empty() {
            let mut names = o.divergence_options.clone();
            names.dedup();
            warn.push(format!(
                "{} ignored: the source file {sf} defines the sources, as in nanoBragg.c",
                names.join(", ")
            ));
        }
        let text = io::read_text(sf)?;
        let f = sources::read_source_file(sf, &text, &det.beam, o.lambda0, !fix)?;
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
            warn.push(format!("{sf}: {what}, as nanoBragg.c does; -fix_quirks uses the defaults (and skips blank lines)"));
        }
        (f.sources, -1)
    } else {
        let g = sources::generate(&bs, &det.beam, &det.polar, &det.vert, o.lambda0);
        out.extend(g.lines);
        (g.sources, g.divsteps)
    };
    if srcs.is_empty() {
        return Err(Error::invalid("no sources: the divergence grid is empty"));
    }
    out.push(format!("  created a total of {} sources:", srcs.len()));
    for s in &srcs {
        out.push(format!(
            "{} {} {}   {} {}",
            fmt_g(s.pos[0]),
            fmt_g(s.pos[1]),
            fmt_g(s.pos[2]),
            fmt_g(s.weight),
            fmt_g(s.lambda)
        ));
    }

    // ---- mosaic domains ----
    let mut mseed = o.mosaic_seed;
    let umats = crate::mosaic::domain_matrices(
        mosaic_spread,
        mosaic_domains as usize,
        &mut rng,
        &mut mseed,
    );
    out.push(format!(
        "  created a total of {mosaic_domains} mosaic domains"
    ));

    if oversample <= 0 {
        oversample = 1;
    }
    let steps = srcs.len() as i64
        * mosaic_domains as i64
        * phi.steps as i64
        * oversample as i64
        * oversample as i64;

    // ---- summary ----
    out.push(format!(
        "  {} initialized hkls (all others ={})",
        hkls,
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
    out.push(format!(
        "  distance={} detsize={}x{}  pixel={} meters ({}x{} pixels)",
        fmt_g(det.distance),
        fmt_g(det.detsize_f),
        fmt_g(det.detsize_s),
        fmt_g(det.pixel_size),
        det.fpixels,
        det.spixels
    ));
    out.push(format!(
        "  sensor is {} m thick in {} layers with mu= {}",
        fmt_g(th.thick),
        th.steps,
        fmt_g(th.mu)
    ));
    out.push(format!(
        "  Xbeam={} Ybeam={}",
        fmt_g(det.xbeam),
        fmt_g(det.ybeam)
    ));
    out.push(format!(
        "  Fbeam={} Sbeam={}",
        fmt_g(det.fbeam),
        fmt_g(det.sbeam)
    ));
    out.push(format!(
        "  Xclose={} Yclose={}",
        fmt_g(det.xclose),
        fmt_g(det.yclose)
    ));
    out.push(format!(
        "  Fclose={} Sclose={}",
        fmt_g(det.fclose),
        fmt_g(det.sclose)
    ));
    out.push(format!("  DIRECTION_OF_DETECTOR_X-AXIS= {}", g3(&det.fdet)));
    out.push(format!("  DIRECTION_OF_DETECTOR_Y-AXIS= {}", g3(&det.sdet)));
    out.push(format!("  DIRECTION_OF_DETECTOR_Z-AXIS= {}", g3(&det.odet)));
    out.push(format!("  INCIDENT_BEAM_DIRECTION= {}", g3(&det.beam)));
    out.push(format!("  spindle ROTATION_AXIS= {}", g3(&det.spindle)));
    out.push(format!(
        "  POLARIZATION_PLANE_NORMAL= {}",
        g3(&cross(&det.beam, &det.polar))
    ));
    out.push(format!("  dials origin= {}", g3(&det.dials_origin)));
    out.push(format!(
        "  roi: {} < x < {} && {} < y < {}",
        det.roi[0], det.roi[1], det.roi[2], det.roi[3]
    ));
    out.push(format!(
        "  hdivrange={} hdivstep={}  radians",
        fmt_g(bs.hdivrange),
        fmt_g(bs.hdivstep)
    ));
    out.push(format!(
        "  vdivrange={} vdivstep={}  radians",
        fmt_g(bs.vdivrange),
        fmt_g(bs.vdivstep)
    ));
    out.push(format!("  {divsteps} divergence steps"));
    out.push(format!("  {} sources", srcs.len()));
    out.push(format!(
        "  {} mosaic domains over mosaic spread of {} degrees",
        mosaic_domains,
        fmt_g(mosaic_spread * RTD)
    ));
    out.push(format!(
        "  {} phi steps from {} to {} degrees",
        phi.steps,
        fmt_g(phi.phi0 * RTD),
        fmt_g((phi.phi0 + phi.osc) * RTD)
    ));
    let mut os_line = format!("  {oversample}x{oversample} pixel oversample steps");
    if o.oversample_thick {
        os_line.push_str(" +thick");
    }
    if o.oversample_polar {
        os_line.push_str(" +polar");
    }
    if o.oversample_omega {
        os_line.push_str(" +omega");
    }
    out.push(os_line);
    if let Some(m) = &pre.mask {
        out.push(format!("  skipping zero-flagged pixels in {m}"));
    }
    if o.write_noise {
        out.push(String::new());
        out.push("  noise image paramters:".to_string());
        out.push(format!("  seed: {}", o.seed));
        out.push(format!("  water droplet size: {} m", fmt_g(o.water_size)));
    }

    // ---- quirk warnings that depend on the resolved run ----
    if !fix {
        let phis: Vec<f64> = (0..phi.steps)
            .map(|p| phi.phi0 + phi.step * p as f64)
            .collect();
        if phis.contains(&0.0) && phis.iter().any(|f| *f != 0.0) {
            warn.push("the phi = 0 step reuses the crystal orientation of the previous phi step instead of the unrotated cell, as nanoBragg.c does; -fix_quirks uses the unrotated cell".to_string());
        }
        if o.nopolar && o.oversample_polar {
            warn.push("-oversample_polar re-enables the polarization factor despite -nopolar, as nanoBragg.c does; -fix_quirks keeps it off".to_string());
        }
    }

    let i_bg = 2.57
        * 2.57
        * R_E_SQR
        * o.fluence
        * o.water_size
        * o.water_size
        * o.water_size
        * 1e6
        * AVOGADRO
        / 18.0;
    let fluence = o.fluence;
    let mask = mask_file.map(|m| m.pixels);
    Ok(Experiment {
        det,
        crystal: cr,
        n_cells: n,
        oversample,
        phi,
        beam_sampling: bs,
        thickness: th,
        mosaic_spread,
        umats,
        sources: srcs,
        divsteps,
        f_source,
        interpolate,
        mask,
        fluence,
        i_bg,
        steps,
        transcript: out,
        warnings: warn,
        rng,
        opts: o,
    })
}

/// The first line printed. Not the reference's banner: this program names itself.
pub const BANNER: &str = concat!(
    "nanobragg ",
    env!("CARGO_PKG_VERSION"),
    ": nanoBragg-compatible nanocrystal diffraction simulator"
);

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

fn validate_options(o: &Options) -> Result<()> {
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

fn phi_sampling(o: &Options) -> PhiSampling {
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

/// Read a MOSFLM A matrix: nine numbers (whitespace separated, further lines ignored); its
/// columns are a*, b*, c*, divided here by λ0 in Å.
pub fn read_matrix(path: &str, text: &str, lambda0: f64) -> Result<[V3; 3]> {
    let mut nums = Vec::with_capacity(9);
    'lines: for (n, line) in text.lines().enumerate() {
        for tok in line.split_whitespace() {
            let v = crate::cfmt::parse_f64_strict(tok)
                .filter(|v| v.is_finite())
                .ok_or_else(|| {
                    Error::input(
                        path,
                        Some(n + 1),
                        format!("'{}' is not a number", crate::cfmt::clip(tok)),
                    )
                })?;
            nums.push(v);
            if nums.len() == 9 {
                break 'lines;
            }
        }
    }
    if nums.len() < 9 {
        return Err(Error::input(
            path,
            None,
            format!("expected 9 numbers (a 3x3 matrix), found {}", nums.len()),
        ));
    }
    let s = 1e-10 / lambda0;
    Ok([
        scale(&[nums[0], nums[3], nums[6]], s),
        scale(&[nums[1], nums[4], nums[7]], s),
        scale(&[nums[2], nums[5], nums[8]], s),
    ])
}

fn cell_lines(c: &Crystal) -> Vec<String> {
    let mut v = Vec::new();
    let d = &c.direct;
    let r = &c.reciprocal;
    v.push(format!(
        "Unit Cell: {} {} {} {} {} {}",
        fmt_g(d.lengths[0]),
        fmt_g(d.lengths[1]),
        fmt_g(d.lengths[2]),
        fmt_g(d.angles[0] * RTD),
        fmt_g(d.angles[1] * RTD),
        fmt_g(d.angles[2] * RTD)
    ));
    v.push(format!(
        "Recp Cell: {} {} {} {} {} {}",
        fmt_g(r.lengths[0]),
        fmt_g(r.lengths[1]),
        fmt_g(r.lengths[2]),
        fmt_g(r.angles[0] * RTD),
        fmt_g(r.angles[1] * RTD),
        fmt_g(r.angles[2] * RTD)
    ));
    v.push(format!("volume = {} A^3", fmt_g(c.volume)));
    let block = |title: &str, names: [&str; 3], vecs: &[V3; 3]| {
        let mut b = vec![title.to_string()];
        b.push(format!(
            "     {}  {}  {}",
            pad_right(names[0], 10),
            pad_right(names[1], 10),
            pad_right(names[2], 10)
        ));
        for (k, axis) in ["X", "Y", "Z"].iter().enumerate() {
            b.push(format!(
                "{}: {} {} {}",
                axis,
                pad_left(&fmt_f(vecs[0][k], 8), 11),
                pad_left(&fmt_f(vecs[1][k], 8), 11),
                pad_left(&fmt_f(vecs[2][k], 8), 11)
            ));
        }
        b
    };
    v.extend(block(
        "real-space cell vectors (Angstrom):",
        ["a", "b", "c"],
        &c.a_ang,
    ));
    v.extend(block(
        "reciprocal-space cell vectors (Angstrom^-1):",
        ["a_star", "b_star", "c_star"],
        &c.recip,
    ));
    v
}

impl Experiment {
    /// The kernel input for this experiment.
    pub fn plan(&self) -> RenderPlan {
        let d = &self.det;
        let o = &self.opts;
        RenderPlan {
            fpixels: d.fpixels as usize,
            spixels: d.spixels as usize,
            roi: [
                d.roi[0] as i64,
                d.roi[1] as i64,
                d.roi[2] as i64,
                d.roi[3] as i64,
            ],
            mask: self.mask.clone(),
            pixel_size: d.pixel_size,
            oversample: self.oversample as u32,
            pix0: d.pix0,
            fdet: d.fdet,
            sdet: d.sdet,
            odet: d.odet,
            beam: d.beam,
            distance: d.distance,
            close_distance: d.close_distance,
            curved: o.curved_det,
            point_pixel: o.point_pixel,
            thicksteps: self.thickness.steps as u32,
            thickstep: self.thickness.step,
            thick: self.thickness.thick,
            mu: self.thickness.mu,
            oversample_thick: o.oversample_thick,
            oversample_polar: o.oversample_polar,
            oversample_omega: o.oversample_omega,
            sources: self
                .sources
                .iter()
                .map(|s| PlanSource {
                    dir: unitize(&s.pos).1,
                    lambda: s.lambda,
                })
                .collect(),
            polarization: o.polarization,
            nopolar: o.nopolar,
            polar_axis: d.polar,
            dmin: o.dmin,
            phi0: self.phi.phi0,
            phistep: self.phi.step,
            phisteps: self.phi.steps as u32,
            spindle: d.spindle,
            a0: self.crystal.a0,
            b0: self.crystal.b0,
            c0: self.crystal.c0,
            mosaic_spread: self.mosaic_spread,
            umats: self.umats.clone(),
            n_cells: self.n_cells,
            shape: o.shape,
            fudge: o.fudge,
            recip: self.crystal.recip,
            hkl: self.grid().cloned(),
            default_f: o.default_f,
            interpolate: self.interpolate,
            fluence: self.fluence,
            r_e_sqr: R_E_SQR,
            water_size: o.water_size,
            i_bg: self.i_bg,
            steps: self.steps as f64,
            fix: FixQuirks {
                phi_zero: o.fix_quirks,
                interp_local: o.fix_quirks,
                nopolar_wins: o.fix_quirks,
            },
        }
    }

    /// SMV header values; `noise` selects the DENZO lines' `+0.0·pixel` form of the noise file.
    pub fn smv_header(&self) -> (smv::SmvHeader, smv::SmvHeader) {
        let d = &self.det;
        let p = d.pixel_size;
        let h = smv::SmvHeader {
            size1: d.fpixels,
            size2: d.spixels,
            pixel_size: p * 1000.0,
            distance: d.distance * 1000.0,
            wavelength: self.opts.lambda0 * 1e10,
            beam_center_x: d.xbeam * 1000.0,
            beam_center_y: d.ybeam * 1000.0,
            adxv_center: [d.fbeam * 1000.0, (d.detsize_s - d.sbeam) * 1000.0],
            mosflm_center: [(d.sbeam - 0.5 * p) * 1000.0, (d.fbeam - 0.5 * p) * 1000.0],
            denzo_beam: [(d.sbeam - 0.0 * p) * 1000.0, (d.fbeam - 0.0 * p) * 1000.0],
            dials_origin: d.dials_origin,
            xds_org: [d.orgx, d.orgy],
            close_distance: d.close_distance * 1000.0,
            phi: self.phi.phi0 * RTD,
            osc_start: self.phi.phi0 * RTD,
            osc_range: self.phi.osc * RTD,
            twotheta: d.twotheta * RTD,
        };
        let mut noise = h.clone();
        noise.denzo_beam = [(d.sbeam + 0.0 * p) * 1000.0, (d.fbeam + 0.0 * p) * 1000.0];
        (h, noise)
    }
}
