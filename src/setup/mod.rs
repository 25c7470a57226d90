//! From options to a fully resolved experiment, in the reference program's order, as stages.
//!
//! Set-up follows nanoBragg.c's `main` phase by phase so that every derived value — and every
//! random draw — comes out identical. Each phase is a stage: a function that returns a typed
//! value with the lines the reference prints for it (the transcript) and this program's
//! warnings about reference quirks ([`Stage`]). Nothing here prints or exits.
//!
//! The stages fall in two groups. The **shared** stages ([`stages`]) hold what every image of a
//! series has in common: headers (`-mask`, `-img`), options (parse, checks, blanks), detector
//! (convention), sampling (divergence, dispersion, sensor layers, mosaic domains), geometry
//! (detector placement), structure factors (HKL file or Fdump.bin), the `-stol` file and the
//! sources. The **per-image** stages ([`image`]) hold what an image may change: its options
//! (spindle start, orientation, seeds, fluence, cell counts, output names), interpolation,
//! crystal orientation (random misset draws), crystal size and oversampling, mosaic domains.
//!
//! [`prepare`] runs every stage once in the reference's order (so errors come in its order
//! too) and returns the shared stages ([`Shared`]) with the command line's own image
//! ([`ImageStages`]); [`Shared::image`] re-runs only the per-image stages for other options,
//! and [`Shared::experiment`] assembles an [`Experiment`], its transcript in the reference's
//! order: headers, options, detector, banner, sampling, geometry, interpolation, crystal, size,
//! structure factors, stol, sensor layers, φ steps, sources, mosaic, summary.

pub mod checks;
pub mod image;
pub mod stages;
mod summary;

pub use checks::{LAMBDA_RANGE, MAX_ANGLE, MAX_CELLS, MAX_F, MAX_LENGTH, validate_options};
pub use image::read_matrix;

use crate::cfmt::fmt_g;
use crate::cli;
use crate::crystal::Crystal;
use crate::detector::Detector;
use crate::error::{Error, Result};
use crate::hkl::HklGrid;
use crate::io::smv;
use crate::options::{Options, RTD};
use crate::plan::{FixQuirks, PlanSource, RenderPlan};
use crate::rng::Ran1;
use crate::sources::{BeamSampling, Source};
use crate::vec3::{M3, V3, unitize};
use std::sync::Arc;

/// Thomson cross-section r_e², m².
pub const R_E_SQR: f64 = 7.94079248018965e-30;
/// Avogadro's number as the reference uses it.
pub const AVOGADRO: f64 = 6.02214179e23;

/// A stage's value, the lines the reference prints for it (in order) and this program's
/// warnings.
#[derive(Clone, Debug)]
pub struct Stage<T> {
    pub value: T,
    pub lines: Vec<String>,
    pub warnings: Vec<String>,
}

impl<T> Stage<T> {
    /// A value with no lines and no warnings yet.
    pub fn new(value: T) -> Stage<T> {
        Stage {
            value,
            lines: Vec::new(),
            warnings: Vec::new(),
        }
    }

    /// The lines and warnings collected so far, with a value.
    pub fn with<U>(self, value: U) -> Stage<U> {
        Stage {
            value,
            lines: self.lines,
            warnings: self.warnings,
        }
    }
}

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

/// The shared stages of an experiment: everything the images of a series have in common.
#[derive(Clone, Debug)]
pub struct Shared {
    /// The command line (without the program name).
    pub args: Vec<String>,
    /// The defaults with the `-mask`/`-img` headers applied (before the command line).
    pub header_opts: Options,
    /// Header lines and warnings.
    pub headers: Stage<()>,
    /// The mask's pixels and its file name.
    pub mask: Option<Arc<Vec<u16>>>,
    pub mask_name: Option<String>,
    pub options: Stage<stages::Parsed>,
    /// The convention's detector (not placed yet) and its lines.
    pub detector: Stage<Detector>,
    pub sampling: Stage<stages::Sampling>,
    /// The placed detector.
    pub geometry: Stage<Detector>,
    pub structure: Stage<FSource>,
    pub stol: Stage<()>,
    pub sources: Stage<stages::SourceSet>,
    /// The command line's `-mat` file, read once.
    pub matrix: Option<image::MatrixFile>,
}

/// The per-image stages of one image.
#[derive(Clone, Debug)]
pub struct ImageStages {
    /// The image's options (the command line's, with the image's own applied).
    pub opts: Options,
    /// Warnings from parsing the image's own options.
    pub option_warnings: Vec<String>,
    pub interpolation: Stage<bool>,
    pub crystal: Stage<image::Oriented>,
    pub size: Stage<image::Size>,
    pub phi: PhiSampling,
    pub mosaic: Stage<Vec<M3>>,
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
    pub mask: Option<Arc<Vec<u16>>>,
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

/// Resolve a command line (without the program name) into an experiment. Reads the input files
/// it names; writes nothing.
pub fn resolve(args: &[String], time_seed: i64) -> Result<Experiment> {
    let (shared, image) = prepare(args, time_seed)?;
    Ok(shared.experiment(image))
}

/// Run every stage for a command line, in the reference's order: the shared stages and the
/// command line's own image.
pub fn prepare(args: &[String], time_seed: i64) -> Result<(Shared, ImageStages)> {
    let pre = cli::prescan(args);
    let headers = stages::headers(&pre, time_seed)?;
    let header_opts = headers.value.opts.clone();
    let mask_file = headers.value.mask;
    let headers = Stage {
        value: (),
        lines: headers.lines,
        warnings: headers.warnings,
    };
    let options = stages::options(args, header_opts.clone())?;
    let o = &options.value.opts;
    let detector = stages::detector(o, pre.mask.as_deref().zip(mask_file.as_ref()))?;
    let dump = stages::inputs(o)?;
    let sampling = stages::sampling(o)?;
    let geometry = stages::geometry(o, detector.value.clone())?;
    // the image buffer's first pages, faulted in by an idle worker while the rest is set up
    crate::spare::start(geometry.value.pixels());
    // the command line's image: its crystal comes before the structure factors
    let interp_auto = image::interpolation(o, 1);
    let matrix = match &o.matfile {
        Some(m) => Some((
            m.clone(),
            read_matrix(m, &crate::io::read_text(m)?, o.lambda0)?,
        )),
        None => None,
    };
    let crystal = image::crystal(o, None, matrix.as_ref())?;
    let size = image::size(o, &crystal.value.crystal, &geometry.value)?;
    let structure = stages::structure_factors(o, dump.as_deref())?;
    let stol = stages::stol(o)?;
    let sources = stages::sources(o, &geometry.value, &sampling.value.beam)?;
    let shared = Shared {
        args: args.to_vec(),
        header_opts,
        headers,
        mask: mask_file.map(|m| Arc::new(m.pixels)),
        mask_name: pre.mask.clone(),
        options,
        detector,
        sampling,
        geometry,
        structure,
        stol,
        sources,
        matrix,
    };
    let mut interpolation = interp_auto;
    interpolation.value &= shared.hkls() != 0;
    let mut oriented = crystal;
    let mosaic = image::mosaic(
        &shared.options.value.opts,
        &shared.sampling.value,
        &mut oriented.value.rng,
    );
    let opts = shared.options.value.opts.clone();
    let phi = stages::phi_sampling(&opts);
    Ok((
        shared,
        ImageStages {
            opts,
            option_warnings: Vec::new(),
            interpolation,
            crystal: oriented,
            size,
            phi,
            mosaic,
        },
    ))
}

impl Shared {
    /// The command line's options (after the headers and the blanks).
    pub fn opts(&self) -> &Options {
        &self.options.value.opts
    }

    /// Reflections read (0: no grid, `-default_F` everywhere).
    pub fn hkls(&self) -> usize {
        match &self.structure.value {
            FSource::Default => 0,
            FSource::Text(g) | FSource::Dump(g) => g.hkls,
        }
    }

    /// Run the per-image stages for an image's options (from [`Shared::image_options`] or a
    /// variation); `rotation` turns the reciprocal cell after the misset.
    pub fn image(
        &self,
        opts: Options,
        option_warnings: Vec<String>,
        rotation: Option<&M3>,
    ) -> Result<ImageStages> {
        let interpolation = image::interpolation(&opts, self.hkls());
        let mut crystal = image::crystal(&opts, rotation, self.matrix.as_ref())?;
        let size = image::size(&opts, &crystal.value.crystal, &self.geometry.value)?;
        let mosaic = image::mosaic(&opts, &self.sampling.value, &mut crystal.value.rng);
        let phi = stages::phi_sampling(&opts);
        Ok(ImageStages {
            opts,
            option_warnings,
            interpolation,
            crystal,
            size,
            phi,
            mosaic,
        })
    }

    /// An image's options: the command line's, followed by `extra` (options of the per-image
    /// kinds only: see [`cli::per_image`]). Returns them with the warnings parsing raised.
    pub fn image_options(&self, extra: &[String]) -> Result<(Options, Vec<String>)> {
        let mut o = self.opts().clone();
        let mut warnings = Vec::new();
        if extra.is_empty() {
            return Ok((o, warnings));
        }
        if self.options.value.lookahead_short {
            return Err(Error::usage(LOOKAHEAD_MESSAGE));
        }
        let base = self.opts();
        cli::parse_per_image(extra, &mut o, &mut warnings)?;
        if o.fluence != base.fluence
            && base.flux != 0.0
            && base.exposure > 0.0
            && base.beamsize >= 0.0
        {
            return Err(Error::usage(
                "-fluence of an image has no effect with -flux, -exposure and -beamsize (they set the fluence): give -fluence instead of -flux",
            ));
        }
        validate_options(&o)?;
        Ok((o, warnings))
    }

    /// Assemble an image's experiment: its values, its transcript in the reference's order and
    /// its warnings.
    pub fn experiment(&self, img: ImageStages) -> Experiment {
        let o = img.opts;
        let sampling = &self.sampling.value;
        let size = img.size.value;
        let mut out = Vec::with_capacity(96);
        let mut warn = Vec::new();
        for (lines, warnings) in [
            (&self.headers.lines, &self.headers.warnings),
            (&self.options.lines, &self.options.warnings),
            (&Vec::new(), &img.option_warnings),
            (&self.detector.lines, &self.detector.warnings),
        ] {
            out.extend(lines.iter().cloned());
            warn.extend(warnings.iter().cloned());
        }
        out.push(BANNER.to_string());
        out.extend(self.sampling.lines.iter().cloned());
        for (lines, warnings) in [
            (&self.geometry.lines, &self.geometry.warnings),
            (&img.interpolation.lines, &img.interpolation.warnings),
            (&img.crystal.lines, &img.crystal.warnings),
            (&img.size.lines, &img.size.warnings),
            (&self.structure.lines, &self.structure.warnings),
            (&self.stol.lines, &self.stol.warnings),
        ] {
            out.extend(lines.iter().cloned());
            warn.extend(warnings.iter().cloned());
        }
        out.extend(stages::thickness_lines(&sampling.thickness));
        out.extend(image::phi_lines(&img.phi));
        out.extend(self.sources.lines.iter().cloned());
        warn.extend(self.sources.warnings.iter().cloned());
        out.extend(img.mosaic.lines.iter().cloned());
        out.extend(summary::summary_lines(self, &o, &size, &img.phi));
        warn.extend(summary::quirk_warnings(&o, &img.phi));
        let srcs = &self.sources.value.sources;
        let steps = srcs.len() as i64
            * sampling.mosaic_domains as i64
            * img.phi.steps as i64
            * size.oversample as i64
            * size.oversample as i64;
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
        Experiment {
            det: self.geometry.value.clone(),
            crystal: img.crystal.value.crystal,
            n_cells: size.n_cells,
            oversample: size.oversample,
            phi: img.phi,
            beam_sampling: sampling.beam,
            thickness: sampling.thickness,
            mosaic_spread: sampling.mosaic_spread,
            umats: img.mosaic.value,
            sources: srcs.clone(),
            divsteps: self.sources.value.divsteps,
            f_source: self.structure.value.clone(),
            interpolate: img.interpolation.value,
            mask: self.mask.clone(),
            fluence: o.fluence,
            i_bg,
            steps,
            transcript: out,
            warnings: warn,
            rng: img.crystal.value.rng,
            opts: o,
        }
    }
}

/// Why an image's options cannot follow the command line.
pub const LOOKAHEAD_MESSAGE: &str = "the command line ends with an option that reads the arguments after it (-misset_seed within the last three arguments, which nanoBragg.c also reads as misset angles, or -curved_det last), so the options of each image would change what it does: put -misset_seed before -misset random, or give -fix_quirks";

/// The first line printed. Not the reference's banner: this program names itself.
pub const BANNER: &str = concat!(
    "nanobragg ",
    env!("CARGO_PKG_VERSION"),
    ": nanoBragg-compatible nanocrystal diffraction simulator"
);

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
