//! One experiment prepared once, rendered many times with cheap per-image variations.
//!
//! [`Prepared`] runs the shared set-up stages once (the HKL file or Fdump.bin is read and
//! gridded, the detector placed, the sources made: see [`crate::setup`]); [`Prepared::vary`]
//! then re-runs only the per-image stages (orientation, crystal size, spindle start, mosaic
//! domains, seeds) and returns a [`Simulation`] that shares the structure factors and the mask
//! with every other one, ready to render. A variation costs microseconds; the render dominates.
//!
//! ```no_run
//! use nanobragg::{Prepared, Variation, kernel::Silent};
//! let exp = Prepared::from_args(&["-cell", "100", "100", "100", "90", "90", "90",
//!     "-default_F", "100", "-N", "5", "-detpixels", "128", "-nonoise", "-nopgm"]).unwrap();
//! for i in 0..10 {
//!     let sim = exp.vary(&Variation::new().phi(0.1 * i as f64).seed(i + 1)).unwrap();
//!     let image = sim.render(&mut Silent).unwrap().image;
//!     assert_eq!(image.len(), 128 * 128);
//! }
//! ```

use crate::error::{Error, Result};
use crate::options::{Misset, Options, RTD};
use crate::setup::{self, ImageStages, Shared};
use crate::vec3::M3;
use crate::{Simulation, memory};
use std::sync::{Arc, Mutex};

/// An orientation for a variation.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Orientation {
    /// Missetting rotations about X, Y, Z in degrees, as `-misset a b c`.
    Misset([f64; 3]),
    /// A random orientation drawn from this seed, as `-misset random -misset_seed SEED`.
    Random { seed: i32 },
    /// A rotation matrix U (row-major, proper: UᵀU = 1 within 1e-9, det U = +1) applied to
    /// the reciprocal cell a*, b*, c* (v ← U·v) in place of any `-misset`. No command-line
    /// equivalent.
    Matrix(M3),
}

/// What differs for one image; `None` keeps the command line's value. Units are the command
/// line's: degrees, photons/m², unit cells.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Variation {
    /// Spindle start φ0, degrees (`-phi`); the oscillation and its steps are the command
    /// line's.
    pub phi: Option<f64>,
    pub orientation: Option<Orientation>,
    /// Noise seed (`-seed`).
    pub seed: Option<i32>,
    /// Mosaic-domain seed (`-mosaic_seed`).
    pub mosaic_seed: Option<i32>,
    /// Fluence, photons/m² (`-fluence`; not with `-flux`).
    pub fluence: Option<f64>,
    /// Unit cells along a, b, c (`-Na -Nb -Nc`; not with `-xtalsize`/`-sample_size`).
    pub n_cells: Option<[u32; 3]>,
}

impl Variation {
    /// No change.
    pub fn new() -> Variation {
        Variation::default()
    }
    /// Spindle start φ0, degrees.
    pub fn phi(mut self, degrees: f64) -> Variation {
        self.phi = Some(degrees);
        self
    }
    /// Misset angles about X, Y, Z, degrees.
    pub fn misset(mut self, degrees: [f64; 3]) -> Variation {
        self.orientation = Some(Orientation::Misset(degrees));
        self
    }
    /// A random orientation from `seed`.
    pub fn random_orientation(mut self, seed: i32) -> Variation {
        self.orientation = Some(Orientation::Random { seed });
        self
    }
    /// A rotation matrix (row-major) for the reciprocal cell.
    pub fn rotation(mut self, u: M3) -> Variation {
        self.orientation = Some(Orientation::Matrix(u));
        self
    }
    /// Noise seed.
    pub fn seed(mut self, seed: i32) -> Variation {
        self.seed = Some(seed);
        self
    }
    /// Mosaic-domain seed.
    pub fn mosaic_seed(mut self, seed: i32) -> Variation {
        self.mosaic_seed = Some(seed);
        self
    }
    /// Fluence, photons/m².
    pub fn fluence(mut self, photons_per_m2: f64) -> Variation {
        self.fluence = Some(photons_per_m2);
        self
    }
    /// Unit cells along a, b and c.
    pub fn cells(mut self, n: [u32; 3]) -> Variation {
        self.n_cells = Some(n);
        self
    }

    /// Apply to the command line's options; returns the rotation matrix to apply, if any.
    pub fn apply(&self, o: &mut Options) -> Result<Option<M3>> {
        let mut rotation = None;
        if let Some(p) = self.phi {
            if !(p.abs() <= setup::MAX_ANGLE) {
                return Err(Error::invalid(format!("phi {p} deg is out of range")));
            }
            o.phi0 = p / RTD;
        }
        match self.orientation {
            Some(Orientation::Misset(a)) => {
                o.misset = Misset::Angles([a[0] / RTD, a[1] / RTD, a[2] / RTD]);
            }
            Some(Orientation::Random { seed }) => {
                o.misset = Misset::Random;
                o.misset_seed = -(seed as i64);
            }
            Some(Orientation::Matrix(u)) => {
                check_rotation(&u)?;
                o.misset = Misset::None;
                rotation = Some(u);
            }
            None => {}
        }
        if let Some(s) = self.seed {
            o.seed = -(s as i64);
        }
        if let Some(s) = self.mosaic_seed {
            o.mosaic_seed = -(s as i64);
        }
        if let Some(f) = self.fluence {
            if !(f >= 0.0 && f.is_finite()) {
                return Err(Error::invalid(format!(
                    "the fluence must be finite and not negative (got {f})"
                )));
            }
            if o.flux != 0.0 && o.exposure > 0.0 && o.beamsize >= 0.0 {
                return Err(Error::invalid(
                    "a fluence variation has no effect with -flux, -exposure and -beamsize (they set the fluence): give -fluence instead of -flux",
                ));
            }
            o.fluence = f;
        }
        if let Some(n) = self.n_cells {
            if o.sample_size.iter().any(|s| *s > 0.0) {
                return Err(Error::invalid(
                    "a cell-count variation has no effect with -xtalsize/-sample_size (they set the cell counts): give -N instead",
                ));
            }
            if n.iter().any(|&k| k as f64 > setup::MAX_CELLS) {
                return Err(Error::invalid(format!(
                    "{n:?} unit cells: at most 10^6 per axis"
                )));
            }
            o.n_cells = n.map(|k| k as f64);
        }
        setup::validate_options(o)?;
        Ok(rotation)
    }
}

/// Refuse a matrix that is not a proper rotation (to 1e-9).
fn check_rotation(u: &M3) -> Result<()> {
    let ok = u.iter().all(|x| x.is_finite())
        && (0..3).all(|i| {
            (0..3).all(|j| {
                let dot: f64 = (0..3).map(|k| u[3 * k + i] * u[3 * k + j]).sum();
                (dot - if i == j { 1.0 } else { 0.0 }).abs() <= 1e-9
            })
        });
    let det = u[0] * (u[4] * u[8] - u[5] * u[7]) - u[1] * (u[3] * u[8] - u[5] * u[6])
        + u[2] * (u[3] * u[7] - u[4] * u[6]);
    if ok && det > 0.0 {
        Ok(())
    } else {
        Err(Error::invalid(
            "the orientation matrix is not a rotation (it must be orthonormal with determinant +1)",
        ))
    }
}

/// An experiment whose shared stages are set up: render the command line's image
/// ([`Prepared::base`]), variations of it ([`Prepared::vary`]) or images with their own
/// command-line options ([`Prepared::with_options`]). `Sync`: threads may vary it at once.
pub struct Prepared {
    shared: Arc<Shared>,
    base: ImageStages,
    /// The largest memory need checked so far (bytes): a variation that needs no more is not
    /// checked again.
    checked: Mutex<u128>,
}

impl Prepared {
    /// Set up from arguments (without the program name), the clock giving the seeds the
    /// reference takes from it.
    pub fn from_args<S: AsRef<str>>(args: &[S]) -> Result<Prepared> {
        Self::from_args_with_time_seed(args, setup::time_seed())
    }

    /// As [`Prepared::from_args`], with an explicit (negated) time seed.
    pub fn from_args_with_time_seed<S: AsRef<str>>(args: &[S], time_seed: i64) -> Result<Prepared> {
        let args: Vec<String> = args.iter().map(|a| a.as_ref().to_string()).collect();
        // on the calling thread: the pool's threads may still be starting or probing the
        // memory limits (see `memory::warm`); a large HKL file is read on the pool
        let (shared, base) = setup::prepare(&args, time_seed)?;
        if let setup::FSource::Text(g) | setup::FSource::Dump(g) = &shared.structure.value {
            crate::plan::validate_grid(g)?;
        }
        Ok(Prepared {
            shared: Arc::new(shared),
            base,
            checked: Mutex::new(0),
        })
    }

    /// The shared stages.
    pub fn shared(&self) -> &Shared {
        &self.shared
    }

    /// Pixels of every image (fast × slow).
    pub fn base_pixels(&self) -> usize {
        self.shared.geometry.value.pixels()
    }

    /// The command line's options.
    pub fn options(&self) -> &Options {
        self.shared.opts()
    }

    /// The command line's own image.
    pub fn base(&self) -> Result<Simulation> {
        self.simulation(self.base.clone())
    }

    /// A variation of the command line's image (see [`Variation`]).
    pub fn vary(&self, v: &Variation) -> Result<Simulation> {
        let mut o = self.shared.opts().clone();
        let rotation = v.apply(&mut o)?;
        self.simulation(self.shared.image(o, Vec::new(), rotation.as_ref())?)
    }

    /// The image of the command line followed by `extra` (options an image may change:
    /// [`crate::cli::per_image`]); the same as the run of those arguments.
    pub fn with_options(&self, extra: &[String]) -> Result<Simulation> {
        if extra.is_empty() {
            return self.base();
        }
        let (o, warnings) = self.shared.image_options(extra)?;
        self.simulation(self.shared.image(o, warnings, None)?)
    }

    /// Assemble, plan and check an image.
    pub fn simulation(&self, img: ImageStages) -> Result<Simulation> {
        let exp = self.shared.experiment(img);
        let plan = exp.plan();
        plan.validate_sizes()?;
        // values beyond the checked ranges (only with -allow_nonfinite, which asks for
        // nanoBragg.c's NaN images) are rendered by the exact kernel
        let checked = match plan.validate_values() {
            Err(_) if exp.opts.allow_nonfinite => false,
            r => r.map(|()| true)?,
        };
        let o = &exp.opts;
        let extra = 2 * u128::from(o.write_noise)
            + u128::from(o.write_pgm)
            + u128::from(o.pngfile.is_some());
        let simd = checked && crate::uses_simd(&plan, o.precision);
        let auto = |m: String| {
            format!(
                "{m}; -oversample {} was chosen automatically from the crystal size (-N, -xtalsize): give -oversample to set it",
                plan.oversample
            )
        };
        let explain = |e: Error| match e {
            Error::Memory(m) if o.oversample <= 0 => Error::Memory(auto(m)),
            Error::Invalid(m) if o.oversample <= 0 => Error::Invalid(auto(m)),
            e => e,
        };
        memory::check_work(&plan).map_err(explain)?;
        // images of a series share their sizes: the memory check runs again only for a
        // larger need than one that passed
        let need = memory::Needs::of(&plan, extra, simd).total();
        let mut passed = self.checked.lock().unwrap_or_else(|e| e.into_inner());
        if need.is_none_or(|n| n > *passed) {
            memory::check_plan(&plan, extra, simd).map_err(explain)?;
            *passed = need.unwrap_or(u128::MAX);
        }
        drop(passed);
        Ok(Simulation::from_parts(exp, plan, checked))
    }
}
