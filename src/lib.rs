//! # nanobragg
//!
//! A fast, exact successor to James Holton's nanoBragg.c: it renders the X-ray diffraction
//! image of a nanocrystal on a pixel detector, from the same command line, with the same
//! numbers.
//!
//! Data flow (one direction, one concern per stage):
//!
//! ```text
//! argv ─► cli (spellings, units) ─► setup (defaults, geometry, crystal, sources, mosaic, F)
//!      ─► Experiment ─► RenderPlan ─► kernel::{exact, simd} ─► image ─► stats / output / io
//! ```
//!
//! The library never prints and never exits: it returns values, transcript lines and typed
//! errors. The `nanoBragg` binary prints them; the C ABI (`ffi`) maps them to status codes.
//!
//! ```no_run
//! let sim = nanobragg::Simulation::from_args(&["-cell", "100", "100", "100", "90", "90", "90",
//!     "-default_F", "100", "-N", "5", "-detpixels", "64", "-precision", "double"]).unwrap();
//! let rendered = sim.render(&mut nanobragg::kernel::Silent).unwrap();
//! let products = sim.products(&rendered).unwrap();
//! println!("max_I = {}", products.stats.max_i);
//! ```

// Negated comparisons (`!(x > y)`) are deliberate throughout: they mirror the reference's C
// loop conditions exactly, including their behaviour for NaN.
#![allow(clippy::neg_cmp_op_on_partial_ord)]

pub mod cfmt;
pub mod cli;
pub mod cpu;
pub mod crystal;
pub mod detector;
pub mod error;
pub mod ffi;
pub mod hkl;
pub mod huge_alloc;
pub mod io;
pub mod kernel;
pub mod memory;
pub mod metrics;
pub mod mosaic;
#[cfg(feature = "mpi")]
pub mod mpi;
pub mod options;
pub mod output;
pub mod plan;
pub mod pool;
pub mod prepared;
pub mod rng;
pub mod series;
pub mod setup;
pub mod sources;
mod spare;
pub mod stats;
pub mod vec3;

/// Rust declarations of the C reference kernel in `c_ref/` (feature `c-ref`, tests only).
#[cfg(feature = "c-ref")]
#[allow(
    non_camel_case_types,
    non_snake_case,
    non_upper_case_globals,
    dead_code,
    unsafe_op_in_unsafe_fn
)]
pub mod c_ref {
    include!(concat!(env!("OUT_DIR"), "/c_ref_bindings.rs"));
}

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

pub use error::{Error, Result};
pub use options::Precision;
pub use plan::RenderPlan;
pub use prepared::{Orientation, Prepared, Variation};
pub use series::Series;
pub use setup::Experiment;

/// The single-precision kernel in use (vector width and instruction set), e.g.
/// "f32x16 on AVX-512 (chosen at run time; x86-64-v3 build)"; see [`cpu::simd`].
pub fn simd_info() -> &'static str {
    cpu::simd()
}

use cfmt::{fmt_f, fmt_g, fmt_g_prec, pad_left, pad_right};
use kernel::{Observer, Rendered};
use std::io::Write;

/// A simulation set up from a nanoBragg command line.
pub struct Simulation {
    exp: Experiment,
    plan: RenderPlan,
    /// The plan's values passed [`RenderPlan::validate_values`] (false only with
    /// `-allow_nonfinite`: the exact kernel renders it).
    checked: bool,
    /// Write Fdump.bin with the outputs (when `-hkl` was read).
    write_dump: bool,
}

/// Everything derived from a rendered image, ready to be written.
#[derive(Clone, Debug)]
pub struct Products {
    pub stats: stats::Stats,
    /// Solid-angle sum over every rendered sub-pixel and layer (steradians; the reference
    /// prints it divided by steps).
    pub omega_sum: f64,
    pub int_scale: f64,
    pub int_pixels: Vec<u16>,
    /// PGM scale and bytes, when a PGM is written.
    pub pgm: Option<(f64, Vec<u8>)>,
    /// The noise image, when written.
    pub noise: Option<output::Noise>,
    /// The `-pngfile` preview (8-bit grey), when asked for.
    pub png: Option<Vec<u8>>,
    /// Rendered pixels that are NaN or infinite, and the first of them (fast, slow).
    pub nonfinite_pixels: usize,
    pub first_nonfinite: Option<[usize; 2]>,
    /// Rendered pixels below zero (a detector facing away from the sample has negative
    /// solid angles in nanoBragg.c's formula).
    pub negative_pixels: usize,
}

/// What [`Simulation::finish`] wrote: the statistics and scales it reported, and the counts of
/// pixels that call for a warning. The images are in the files ([`Simulation::products`] gives
/// them in memory).
#[derive(Clone, Debug)]
pub struct Written {
    pub stats: stats::Stats,
    /// As [`Products::omega_sum`].
    pub omega_sum: f64,
    pub int_scale: f64,
    /// Rendered pixels that are NaN or infinite, and the first of them (fast, slow).
    pub nonfinite_pixels: usize,
    pub first_nonfinite: Option<[usize; 2]>,
    /// Rendered pixels below zero.
    pub negative_pixels: usize,
}

impl Simulation {
    /// Set up from arguments (without the program name), using the current time for the seeds
    /// the reference takes from the clock.
    pub fn from_args<S: AsRef<str>>(args: &[S]) -> Result<Simulation> {
        Self::from_args_with_time_seed(args, setup::time_seed())
    }

    /// As [`Simulation::from_args`], with an explicit (negated) time seed.
    pub fn from_args_with_time_seed<S: AsRef<str>>(
        args: &[S],
        time_seed: i64,
    ) -> Result<Simulation> {
        Prepared::from_args_with_time_seed(args, time_seed)?.base()
    }

    /// A simulation of an experiment and its plan, checked by the caller (see
    /// [`Prepared::simulation`]); `checked`: the plan passed [`RenderPlan::validate_values`].
    pub fn from_parts(exp: Experiment, plan: RenderPlan, checked: bool) -> Simulation {
        Simulation {
            exp,
            plan,
            checked,
            write_dump: true,
        }
    }

    /// Whether [`Simulation::finish`] also writes Fdump.bin (when `-hkl` was read; on by
    /// default). A series writes it with its first image only.
    pub fn set_write_dump(&mut self, on: bool) {
        self.write_dump = on;
    }

    pub fn experiment(&self) -> &Experiment {
        &self.exp
    }

    pub fn plan(&self) -> &RenderPlan {
        &self.plan
    }

    /// Lines the reference prints before its pixel loop.
    pub fn transcript(&self) -> &[String] {
        &self.exp.transcript
    }

    /// Warnings about reference quirks that affect this run.
    pub fn warnings(&self) -> &[String] {
        &self.exp.warnings
    }

    /// Render with the kernel selected by `-precision`. Fails only when `obs` cancels or the
    /// worker threads cannot be started.
    pub fn render(&self, obs: &mut dyn Observer) -> Result<Rendered> {
        render_plan(&self.plan, self.precision(), obs)
    }

    /// Open the float image's file for [`Simulation::render_writing`]; `None` when it is a
    /// device, FIFO or socket (written after the render, in order).
    pub fn stage_float(&self) -> Result<Option<FloatRows>> {
        let bytes = (self.plan.fpixels * self.plan.spixels * 4) as u64;
        let placed = io::stage_placed(&self.exp.opts.floatfile, bytes)?;
        Ok(placed.map(|placed| FloatRows {
            placed,
            fpixels: self.plan.fpixels,
            block_rows: io::WRITE_BUFFER.div_ceil(4 * self.plan.fpixels.max(1)),
        }))
    }

    /// As [`Simulation::render`], writing the float image's rows into `float` (from
    /// [`Simulation::stage_float`]) as they are rendered, beside the render instead of after
    /// it; [`Simulation::finish_written`] then writes the other outputs. Without `float`, the
    /// same as [`Simulation::render`].
    pub fn render_writing(
        &self,
        obs: &mut dyn Observer,
        float: Option<&FloatRows>,
    ) -> Result<Rendered> {
        match float {
            Some(f) => {
                let kernel = row_kernel(&self.plan, self.precision());
                kernel::render_into(&self.plan, kernel.as_ref(), obs, f)
            }
            None => self.render(obs),
        }
    }

    /// Render at `precision` instead of `-precision` (double all the same for values the
    /// single-precision kernel is not made for, see [`Simulation::precision`]).
    pub fn render_at(&self, precision: Precision, obs: &mut dyn Observer) -> Result<Rendered> {
        render_plan(&self.plan, self.effective(precision), obs)
    }

    /// Render at `precision` (`None`: `-precision`) on `threads` worker threads (`None`: the
    /// default count, see [`pool::get`]); the image depends on neither count nor pool.
    pub fn render_with(
        &self,
        precision: Option<Precision>,
        threads: Option<usize>,
        obs: &mut dyn Observer,
    ) -> Result<Rendered> {
        let p = precision.unwrap_or(self.exp.opts.precision);
        match threads {
            Some(n) => pool::with_threads(n, || self.render_at(p, obs)),
            None => self.render_at(p, obs),
        }
    }

    /// The precision this simulation renders with: `-precision`, but double for values the
    /// single-precision kernel is not made for (see [`Simulation::from_args`]).
    pub fn precision(&self) -> Precision {
        self.effective(self.exp.opts.precision)
    }

    /// `precision`, or double when the plan's values are beyond the checked ranges.
    fn effective(&self, precision: Precision) -> Precision {
        if self.checked {
            precision
        } else {
            Precision::Double
        }
    }

    /// As [`Simulation::render`], on the calling thread alone (a series renders several small
    /// images at once this way); the same image, bit for bit.
    pub fn render_serial(&self, obs: &mut dyn Observer) -> Result<Rendered> {
        let k = row_kernel(&self.plan, self.precision());
        kernel::render_serial(&self.plan, k.as_ref(), obs)
    }

    /// Statistics, integer/PGM/noise images (noise draws continue the run's generator).
    pub fn products(&self, r: &Rendered) -> Result<Products> {
        self.products_with(r, true, true)
    }

    /// [`Simulation::products_here`] from any thread: a small image on this one, without
    /// handing it to the pool and back.
    fn products_with(&self, r: &Rendered, int: bool, scan: bool) -> Result<Products> {
        if small_products(r) {
            return Ok(self.products_here(r, int, scan));
        }
        pool::install(|| self.products_here(r, int, scan))
    }

    /// The products, with the current pool's threads unless the image is small (see
    /// [`small_products`]); `int_pixels` is left empty unless `int` (its scale is computed
    /// either way); the NaN, infinite and negative pixels are counted when `scan` (else left
    /// at 0 for the caller to fill in).
    fn products_here(&self, r: &Rendered, int: bool, scan: bool) -> Products {
        let o = &self.exp.opts;
        let plan = &self.plan;
        let parallel = !small_products(r);
        let (stats, int_scale, int_pixels) = if !int {
            let stats = stats::of(plan, r);
            let int_scale = output::int_scale(o.intfile_scale, stats.max_i);
            (stats, int_scale, Vec::new())
        } else if !parallel {
            let stats = stats::of(plan, r);
            let int_scale = output::int_scale(o.intfile_scale, stats.max_i);
            let int_pixels = output::int_image_serial(plan, &r.image, int_scale, o.adc);
            (stats, int_scale, int_pixels)
        } else if r.exact {
            // the integer image needs only max_I: compute it beside the serial sums
            let int_scale = output::int_scale(o.intfile_scale, stats::max(plan, &r.image).0);
            let (stats, int_pixels) = rayon::join(
                || stats::of(plan, r),
                || output::int_image(plan, &r.image, int_scale, o.adc),
            );
            (stats, int_scale, int_pixels)
        } else {
            let stats = stats::of(plan, r);
            let int_scale = output::int_scale(o.intfile_scale, stats.max_i);
            let int_pixels = output::int_image(plan, &r.image, int_scale, o.adc);
            (stats, int_scale, int_pixels)
        };
        let pgm = o.write_pgm.then(|| {
            let s = output::pgm_scale(o.pgm_scale, int_scale, stats.rmsd);
            (s, output::pgm_bytes(plan, &r.image, s))
        });
        let noise = o.write_noise.then(|| {
            let mut rng = self.exp.rng.clone();
            let mut seed = o.seed;
            output::noise_image(plan, &r.image, o.adc, &mut rng, &mut seed)
        });
        let png = o
            .pngfile
            .as_ref()
            .map(|_| output::png_preview(plan, &r.image));
        let (nonfinite_pixels, first_nonfinite, negative_pixels) = if scan {
            unusual_pixels(plan, r)
        } else {
            (0, None, 0)
        };
        Products {
            png,
            nonfinite_pixels,
            first_nonfinite,
            negative_pixels,
            stats,
            omega_sum: r.omega_sum,
            int_scale,
            int_pixels,
            pgm,
            noise,
        }
    }

    /// The output files this run writes (float, SMV, PGM, noise and PNG images), as named on
    /// the command line. Fdump.bin is not among them: like nanoBragg.c, a run that cannot
    /// write it warns and goes on.
    pub fn output_files(&self) -> Vec<&str> {
        let o = &self.exp.opts;
        let mut v = vec![o.floatfile.as_str(), o.intfile.as_str()];
        if o.write_pgm {
            v.push(&o.pgmfile);
        }
        if o.write_noise {
            v.push(&o.noisefile);
        }
        if let Some(p) = &o.pngfile {
            v.push(p);
        }
        v
    }

    /// Check, before rendering, that every output file can be written: its folder exists and
    /// is writable, and it is not a folder, a block device or a write-protected file (see
    /// [`io::Target`]). Writing checks again; this only makes a bad path cost no render.
    pub fn check_outputs(&self) -> Result<()> {
        for name in self.output_files() {
            io::Target::resolve(name)?;
        }
        Ok(())
    }

    /// Compute the products and write every configured output, the float image being written
    /// while the rest is computed and written; the SMV image is converted block by block as
    /// it is written, never held whole. Returns what was reported; `say` gets the reference's
    /// lines. All or nothing: when any output fails, no file is replaced and nothing is said.
    ///
    /// A large image's work runs on the worker threads (as many as the render had, see
    /// [`pool::get`]): with one, the outputs are written one after the other.
    pub fn finish(&self, r: &Rendered, say: &mut dyn FnMut(&str)) -> Result<Written> {
        self.finish_written(r, None, say)
    }

    /// As [`Simulation::finish`] for a render by [`Simulation::render_writing`], whose float
    /// image is already in `float` when it is given.
    pub fn finish_written(
        &self,
        r: &Rendered,
        float: Option<FloatRows>,
        say: &mut dyn FnMut(&str),
    ) -> Result<Written> {
        let floatfile = &self.exp.opts.floatfile;
        let bytes = io::float::le_bytes(&r.image);
        let float = move || match float {
            Some(w) => w.placed.finish(),
            None => io::stage(floatfile, &|w| w.write_all(&bytes)),
        };
        let p = if r.image.len() < THREADED_WRITES {
            let p = self.products_with(r, false, true)?;
            self.commit_outputs(r, &p, float(), false, true, say)?;
            p
        } else {
            let mut lines = Vec::new();
            let p = pool::install(|| {
                // the other outputs are staged as soon as their images exist, beside the
                // float image's write (or, when it was written during the render, its
                // staging), which is followed by the count of NaN, infinite and negative
                // pixels (the render's, or a scan; an image that is refused for them leaves
                // only staged files, which are dropped)
                let ((float, scan), (p, others)) = rayon::join(
                    || (float(), unusual_pixels(&self.plan, r)),
                    || {
                        let p = self.products_here(r, false, false);
                        let others = self.stage_others(r, &p, true, true);
                        (p, others)
                    },
                );
                let (nonfinite_pixels, first_nonfinite, negative_pixels) = scan;
                let p = Products {
                    nonfinite_pixels,
                    first_nonfinite,
                    negative_pixels,
                    ..p
                };
                self.refuse_nonfinite(r, &p)?;
                self.commit_all(r, &p, float, others?, &mut |l| lines.push(l.to_string()))?;
                Ok(p)
            })??;
            for l in &lines {
                say(l);
            }
            p
        };
        Ok(Written {
            stats: p.stats,
            omega_sum: p.omega_sum,
            int_scale: p.int_scale,
            nonfinite_pixels: p.nonfinite_pixels,
            first_nonfinite: p.first_nonfinite,
            negative_pixels: p.negative_pixels,
        })
    }

    /// Write every configured output file of a render whose products are `p` (all or nothing,
    /// see [`io::stage()`]), then call `say` with each line the reference prints, in its order.
    /// Fdump.bin is written when `-hkl` was read; if it cannot be written a warning line is
    /// reported and the run goes on, as in the reference.
    pub fn write_outputs(
        &self,
        r: &Rendered,
        p: &Products,
        say: &mut dyn FnMut(&str),
    ) -> Result<()> {
        let bytes = io::float::le_bytes(&r.image);
        let float = io::stage(&self.exp.opts.floatfile, &|w| w.write_all(&bytes));
        if r.image.len() < THREADED_WRITES {
            return self.commit_outputs(r, p, float, false, false, say);
        }
        let mut lines = Vec::new();
        pool::install(|| {
            self.commit_outputs(r, p, float, true, false, &mut |l| lines.push(l.to_string()))
        })??;
        for l in &lines {
            say(l);
        }
        Ok(())
    }

    /// Refuse an image with NaN or infinite pixels, stage the other outputs beside the staged
    /// float image (see [`Simulation::stage_others`] for `parallel` and `stream`), put them
    /// all in place, then say the reference's lines.
    fn commit_outputs(
        &self,
        r: &Rendered,
        p: &Products,
        float: Result<io::Staged>,
        parallel: bool,
        stream: bool,
        say: &mut dyn FnMut(&str),
    ) -> Result<()> {
        self.refuse_nonfinite(r, p)?;
        let others = self.stage_others(r, p, parallel, stream)?;
        self.commit_all(r, p, float, others, say)
    }

    /// Refuse an image with NaN or infinite pixels (as `p` counts them) unless
    /// `-allow_nonfinite`; called before any output is put in place.
    fn refuse_nonfinite(&self, r: &Rendered, p: &Products) -> Result<()> {
        let o = &self.exp.opts;
        if let (Some([f, s]), false) = (p.first_nonfinite, o.allow_nonfinite) {
            let first = r.image[s * self.plan.fpixels + f];
            let why = if first.is_nan() {
                "not a number (the experiment is out of range)"
            } else {
                "infinite: brighter than a 32-bit float holds (3.4e38); lower -fluence, -default_F or the structure factors"
            };
            let rendered = self.plan.rendered_pixels();
            return Err(Error::invalid(format!(
                "{} of {rendered} rendered pixels are NaN or infinite; the first, pixel {f} {s}, is {why}; no file written (-allow_nonfinite writes them, as nanoBragg.c does)",
                p.nonfinite_pixels
            )));
        }
        Ok(())
    }

    /// Stage every output but the float image (the SMV images on the current pool's threads
    /// when `parallel`; the integer image converted from the float image as it is written
    /// when `stream`, else from `p.int_pixels`).
    fn stage_others(
        &self,
        r: &Rendered,
        p: &Products,
        parallel: bool,
        stream: bool,
    ) -> Result<Others> {
        let o = &self.exp.opts;
        let (hdr, noise_hdr) = self.exp.smv_header();
        let head = io::smv::header_block(&hdr);
        let (plan, scale, adc) = (&self.plan, p.int_scale, o.adc);
        let int_writer = |w: &mut dyn Write| {
            w.write_all(&head)?;
            w.write_all(&io::smv::pixel_bytes(&p.int_pixels))
        };
        // streamed: made and written in blocks, on the pool's threads when `parallel` (so a
        // thread that has written the float image takes the blocks that are left)
        let per = output::int_block_rows(plan);
        let int_rows = |k: usize, put: io::Put| {
            let rows = k * per..((k + 1) * per).min(plan.spixels);
            output::put_int_rows(plan, &r.image, scale, adc, rows, put)
        };
        let int_blocks = io::Blocks {
            head: &head,
            count: if plan.fpixels == 0 {
                0
            } else {
                plan.spixels.div_ceil(per)
            },
            len: per * plan.fpixels * 2,
            size: (head.len() + r.image.len() * 2) as u64,
            fill: &int_rows,
        };
        let noise_writer = p.noise.as_ref().map(|n| smv_writer(&noise_hdr, &n.pixels));
        let pgm_bytes = p.pgm.as_ref().map(|(scale, bytes)| {
            io::pgm::encode(self.plan.fpixels, self.plan.spixels, *scale, bytes)
        });
        let png_bytes = match (&o.pngfile, &p.png) {
            (Some(file), Some(gray)) => Some(
                io::png::encode(self.plan.fpixels, self.plan.spixels, gray)
                    .map_err(|e| Error::output(file, e.to_string()))?,
            ),
            _ => None,
        };
        let int = || {
            if stream {
                io::stage_blocks(&o.intfile, &int_blocks, parallel)
            } else {
                io::stage(&o.intfile, &int_writer)
            }
        };
        let noise = || noise_writer.as_ref().map(|nw| io::stage(&o.noisefile, nw));
        let rest = || {
            let dump = match &self.exp.f_source {
                setup::FSource::Text(g) if self.write_dump => {
                    Some(io::stage(&o.dumpfile, &|w: &mut dyn Write| {
                        g.write_fdump(w)
                    }))
                }
                _ => None,
            };
            let pgm = pgm_bytes
                .as_ref()
                .map(|b| io::stage(&o.pgmfile, &|w: &mut dyn Write| w.write_all(b)));
            let png = match (&o.pngfile, &png_bytes) {
                (Some(f), Some(b)) => Some(io::stage(f, &|w: &mut dyn Write| w.write_all(b))),
                _ => None,
            };
            (dump, pgm, png)
        };
        let ((int, noise), (dump, pgm, png)) = if parallel {
            rayon::join(|| rayon::join(int, noise), rest)
        } else {
            ((int(), noise()), rest())
        };
        Ok(Others {
            int,
            noise,
            dump,
            pgm,
            png,
        })
    }

    /// Put the staged float image and `others` in place (all or nothing), then say the
    /// reference's lines.
    fn commit_all(
        &self,
        r: &Rendered,
        p: &Products,
        float: Result<io::Staged>,
        others: Others,
        say: &mut dyn FnMut(&str),
    ) -> Result<()> {
        let o = &self.exp.opts;
        let Others {
            int,
            noise,
            dump,
            pgm,
            png,
        } = others;
        let mut lines = Vec::new();
        let mut staged = Vec::new();
        match dump {
            Some(Ok(d)) => staged.push(d),
            Some(Err(e)) => lines.push(format!(
                "WARNING: unable to open dump file: {} ({e})",
                o.dumpfile
            )),
            None => {}
        }
        let st = &p.stats;
        let steps = self.exp.steps as f64;
        lines.push(String::new());
        lines.push(format!(
            "solid angle subtended by detector = {} steradian ( {}% sphere)",
            fmt_g(p.omega_sum / steps),
            fmt_g(100.0 * p.omega_sum / steps / 4.0 / std::f64::consts::PI)
        ));
        lines.push(format!(
            "writing {} as {} 4-byte floats",
            o.floatfile,
            r.image.len()
        ));
        staged.push(float?);
        lines.push(format!(
            "max_I = {}  at {} {}",
            fmt_g(st.max_i),
            fmt_g(st.max_pos[0]),
            fmt_g(st.max_pos[1])
        ));
        lines.push(format!(
            "mean= {} rms= {} rmsd= {}",
            fmt_g(st.mean),
            fmt_g(st.rms),
            fmt_g(st.rmsd)
        ));
        lines.push(format!("intfile_scale = {}", fmt_g(p.int_scale)));
        lines.push(format!("writing {} as 2-byte integers", o.intfile));
        staged.push(int?);
        if let (Some((scale, _)), Some(pgm)) = (&p.pgm, pgm) {
            lines.push(format!("pgm_scale = {}", fmt_g(*scale)));
            lines.push(format!("writing {} as 1-byte integers", o.pgmfile));
            staged.push(pgm?);
        }
        if let (Some(n), Some(noise)) = (&p.noise, noise) {
            lines.push(format!(
                "{} photons on noise image ({} overloads)",
                fmt_f(n.photons, 0),
                n.overloads
            ));
            lines.push(format!("writing {} as 2-byte integers", o.noisefile));
            staged.push(noise?);
        }
        if let (Some(file), Some(png)) = (&o.pngfile, png) {
            lines.push(format!("writing {file} as a log-scaled 8-bit PNG preview"));
            staged.push(png?);
        }
        io::commit(staged)?;
        for l in &lines {
            say(l);
        }
        Ok(())
    }

    /// The `-printout` lines for the selected pixel (or every rendered pixel), computed with
    /// the exact kernel in serial order.
    pub fn printout_lines(&self) -> Vec<String> {
        let o = &self.exp.opts;
        if !o.printout {
            return Vec::new();
        }
        let mut lines = Vec::new();
        printout(
            &self.plan,
            o.printout_pixel,
            o.lambda0,
            self.exp.steps as f64,
            &mut |_| {},
            &mut |l| lines.extend(l),
        );
        lines
    }
}

/// The reference's `-printout` pass: every rendered pixel in serial order with the exact
/// kernel; `on_lines` gets the dump of the pixel `pixel` = (fast, slow), or of every pixel when
/// the fast index is negative; `on_trigger` gets the first out-of-range interpolation when it
/// happens, before the dump of the pixel it happened in (where the reference prints its
/// warning).
pub fn printout(
    plan: &RenderPlan,
    pixel: [i32; 2],
    lambda0: f64,
    steps: f64,
    on_trigger: &mut dyn FnMut(&kernel::InterpTrigger),
    on_lines: &mut dyn FnMut(Vec<String>),
) {
    let prep = kernel::Prepared::new(plan);
    let mut st = prep.initial_state();
    let [pf, ps] = pixel;
    // carried from pixel to pixel, as the reference's loop variables are
    let mut tr = kernel::exact::PixelTrace {
        cell: [plan.a0, plan.b0, plan.c0],
        ..Default::default()
    };
    for s in 0..plan.spixels {
        for f in 0..plan.fpixels {
            if !plan.is_rendered(f, s) {
                continue;
            }
            let (_, trigger) = kernel::exact::pixel(&prep, f, s, &mut st, Some(&mut tr), None);
            if let Some(t) = &trigger {
                on_trigger(t);
            }
            if (f as i64 == pf as i64 && s as i64 == ps as i64) || pf < 0 {
                on_lines(trace_lines(f, s, &tr, lambda0, steps));
            }
        }
    }
}

/// The reference's interpolation warning as it prints it: two lines, the second without its
/// newline (the next output continues it).
pub fn interp_warning(t: &kernel::InterpTrigger) -> String {
    format!(
        "WARNING: out of range for three point interpolation: h,k,l,h0,k0,l0: {},{},{},{},{},{} \nWARNING: further warnings will not be printed! ",
        fmt_g(t.hkl[0]),
        fmt_g(t.hkl[1]),
        fmt_g(t.hkl[2]),
        t.hkl0[0],
        t.hkl0[1],
        t.hkl0[2]
    )
}

/// Rendered pixels of `image` that are NaN or infinite (their count and the first, as fast,
/// slow), and those below zero (the CLI's pixel warnings; [`Products`] carries them).
pub fn unusual(plan: &RenderPlan, image: &[f32]) -> (usize, Option<[usize; 2]>, usize) {
    unusual_tuple(stats::unusual(plan, image))
}

fn unusual_tuple(u: stats::Unusual) -> (usize, Option<[usize; 2]>, usize) {
    (u.nonfinite, u.first_nonfinite, u.negative)
}

/// The float image's file, written while the image is rendered (see
/// [`Simulation::stage_float`]): blocks of rows of 64 KiB or more, each at its place.
pub struct FloatRows {
    placed: io::Placed,
    fpixels: usize,
    block_rows: usize,
}

impl kernel::RowSink for FloatRows {
    fn block_rows(&self) -> usize {
        self.block_rows
    }

    fn put(&self, first: usize, values: &[f32]) {
        let at = (first * self.fpixels * 4) as u64;
        self.placed.write_at(at, &io::float::le_bytes(values));
    }
}

/// [`unusual`] for a render: as its rows counted them, else from a search of the image.
fn unusual_pixels(plan: &RenderPlan, r: &Rendered) -> (usize, Option<[usize; 2]>, usize) {
    unusual_tuple(r.unusual.unwrap_or_else(|| stats::unusual(plan, &r.image)))
}

/// Writes an SMV image: the 512-byte header block, then the pixels.
fn smv_writer<'a>(
    h: &io::smv::SmvHeader,
    pixels: &'a [u16],
) -> impl Fn(&mut dyn Write) -> std::io::Result<()> + Sync + 'a {
    let (head, body) = (io::smv::header_block(h), io::smv::pixel_bytes(pixels));
    move |w: &mut dyn Write| {
        w.write_all(&head)?;
        w.write_all(&body)
    }
}

fn trace_lines(
    f: usize,
    s: usize,
    t: &kernel::exact::PixelTrace,
    lambda0: f64,
    steps: f64,
) -> Vec<String> {
    let p = t.pos;
    let twotheta = (p[1] * p[1] + p[2] * p[2]).sqrt().atan2(p[0]);
    let stol2 = (twotheta / 2.0).sin() / (lambda0 * 1e10);
    let g10 = |x: f64| pad_left(&fmt_g_prec(x, 10), 15);
    let mut v = vec![
        format!(
            "{} {} : stol = {} or {}",
            pad_left(&f.to_string(), 4),
            pad_left(&s.to_string(), 4),
            fmt_g(t.stol),
            fmt_g(stol2)
        ),
        format!("at {} {} {}", fmt_g(p[0]), fmt_g(p[1]), fmt_g(p[2])),
        format!(
            "hkl= {} {} {}  hkl0= {} {} {}",
            fmt_f(t.hkl[0], 6),
            fmt_f(t.hkl[1], 6),
            fmt_f(t.hkl[2], 6),
            t.hkl0[0],
            t.hkl0[1],
            t.hkl0[2]
        ),
        format!(
            " F_cell={}  F_latt={}   I = {}",
            fmt_g(t.f_cell),
            fmt_g(t.f_latt),
            fmt_g(t.i_sum)
        ),
        format!("I/steps {}", g10(t.i_sum / steps)),
        format!("polar   {}", g10(t.polar)),
        format!("omega   {}", g10(t.omega)),
        format!("capfrac {}", g10(t.capture)),
        format!("pixel   {}", g10(t.value as f64)),
        "real-space cell vectors (Angstrom):".to_string(),
        format!(
            "     {}  {}  {}",
            pad_right("a", 10),
            pad_right("b", 10),
            pad_right("c", 10)
        ),
    ];
    for (k, axis) in ["X", "Y", "Z"].iter().enumerate() {
        v.push(format!(
            "{}: {} {} {}",
            axis,
            pad_left(&fmt_f(t.cell[0][k] * 1e10, 8), 11),
            pad_left(&fmt_f(t.cell[1][k] * 1e10, 8), 11),
            pad_left(&fmt_f(t.cell[2][k] * 1e10, 8), 11)
        ));
    }
    v
}

/// Whether a render's products are computed on the calling thread: a small image whose
/// statistics need no parallel pass (taken by the render, or summed serially for the exact
/// kernel).
fn small_products(r: &Rendered) -> bool {
    r.image.len() < THREADED_WRITES && (r.exact || r.stats.is_some())
}

/// The outputs other than the float image, staged (see [`io::stage()`]); `None` where the run
/// has no such output.
struct Others {
    int: Result<io::Staged>,
    noise: Option<Result<io::Staged>>,
    dump: Option<Result<io::Staged>>,
    pgm: Option<Result<io::Staged>>,
    png: Option<Result<io::Staged>>,
}

/// Images of at least this many pixels compute their products and write their files on the
/// worker threads; smaller ones (a series of small images) on the calling thread, where
/// handing the work to the pool and back costs more than it saves.
const THREADED_WRITES: usize = 1 << 16;

/// Render a plan with the kernel for `precision` (errors: see [`kernel::render`]).
///
/// The exact kernel also renders two kinds of single-precision request:
/// * fractional N (possible only through the C kernel API): the SIMD kernel reduces N·δ to the
///   nearest integer, which needs whole numbers of unit cells;
/// * `-oversample_thick/_polar/_omega`: the reference multiplies the running sum by the factor
///   after every term, so terms far below single precision's range (and sums beyond it) decide
///   the pixel;
/// * `-tophat_spots`: F_latt jumps from N_a·N_b·N_c to 0 at a threshold, and single-precision
///   indices would put some terms on the other side of it;
/// * crystals of more than 2^60 unit cells: F_latt² would leave single precision's range.
pub fn render_plan(
    plan: &RenderPlan,
    precision: Precision,
    obs: &mut dyn Observer,
) -> Result<Rendered> {
    kernel::render(plan, row_kernel(plan, precision).as_ref(), obs)
}

/// The kernel that renders `plan` at `precision`: SIMD where [`uses_simd`] says so, else the
/// exact one.
pub fn row_kernel(plan: &RenderPlan, precision: Precision) -> Box<dyn kernel::RowKernel> {
    if uses_simd(plan, precision) {
        kernel::simd::kernel()
    } else {
        Box::new(kernel::exact::Exact)
    }
}

/// Whether [`render_plan`] renders `plan` at `precision` with the SIMD kernel.
pub fn uses_simd(plan: &RenderPlan, precision: Precision) -> bool {
    let whole_cells = plan.n_cells.iter().all(|n| n.fract() == 0.0);
    let running_products = plan.oversample_thick || plan.oversample_polar || plan.oversample_omega;
    let step_shape = plan.shape == options::Shape::Tophat;
    let cells: f64 = plan.n_cells.iter().map(|n| n.max(1.0)).product();
    let fits = cells <= kernel::simd::MAX_CELLS;
    precision == Precision::Single && whole_cells && !running_products && !step_shape && fits
}

/// Progress lines in the reference's format (`N% done`) for rendered-pixel counters in
/// `from..to`, given the ROI pixel total the reference uses.
pub fn progress_lines(from: usize, to: usize, total: usize) -> Vec<String> {
    let mut v = Vec::new();
    let step = total / 100;
    if step == 0 {
        return v;
    }
    // a counter prints when it is a multiple of total/20, or of total/100 in the first and
    // last tenth: visit the multiples of both in order instead of every counter
    let big = total / 20;
    let (mut c, mut b) = (from.div_ceil(step) * step, from.div_ceil(big) * big);
    loop {
        let next = c.min(b);
        if next >= to {
            break;
        }
        if next % big == 0 || ((10 * next < total || 10 * next > 9 * total) && next % step == 0) {
            v.push(format!("{}% done", next * 100 / total));
        }
        if c == next {
            c += step;
        }
        if b == next {
            b += big;
        }
    }
    v
}

/// The reference's progress total: (xmax − xmin + 1)·(ymax − ymin + 1) from the ROI limits.
pub fn progress_total(plan: &RenderPlan) -> usize {
    let r = plan.roi;
    ((r[1] - r[0] + 1) * (r[3] - r[2] + 1)).max(0) as usize
}

#[cfg(test)]
mod tests {
    /// `unusual`, and the same counts taken row by row with the statistics (what a SIMD
    /// render carries), against a pixel-by-pixel count: with a region of interest, with and
    /// without a mask, and odd values in and out of them, in blocks of every kind (clean, one
    /// bad pixel, bad pixels outside).
    #[test]
    fn unusual_pixels_match_a_direct_count() {
        let args: Vec<&str> = "-cell 100 100 100 90 90 90 -default_F 1 -detpixels_f 300 \
             -detpixels_s 7 -roi 10 250 1 5"
            .split_whitespace()
            .collect();
        let sim = crate::Simulation::from_args(&args).expect("setup");
        let mut masked = sim.plan().clone();
        let n = masked.fpixels * masked.spixels;
        let mut x = 12345u64;
        let mut next = || {
            x = crate::series::seeds::splitmix64(x);
            x
        };
        masked.mask = Some(std::sync::Arc::new(
            (0..n).map(|_| (next() % 3 != 0) as u16).collect(),
        ));
        let mut image = vec![1.0f32; n];
        let odd = [
            f32::NAN,
            f32::INFINITY,
            f32::NEG_INFINITY,
            -1.0,
            -0.0,
            0.0,
            f32::MAX,
        ];
        for _ in 0..200 {
            let r = next();
            image[(r % n as u64) as usize] = odd[(r >> 40) as usize % odd.len()];
        }
        // a row whose only odd pixels are negative (its sums stay finite)...
        let f = masked.fpixels;
        image[3 * f..4 * f].fill(2.0);
        image[3 * f + 20] = -1.0;
        image[3 * f + 200] = -3.0;
        // and one whose only odd pixels are NaN and infinite, and one with only an infinity
        image[4 * f..5 * f].fill(2.0);
        image[4 * f + 30] = f32::NAN;
        image[4 * f + 240] = f32::INFINITY;
        image[2 * f..3 * f].fill(2.0);
        image[2 * f + 50] = f32::INFINITY;
        let by_rows = |plan: &crate::RenderPlan, image: &[f32]| {
            let rows: Vec<_> = image
                .chunks(plan.fpixels)
                .enumerate()
                .map(|(s, row)| crate::stats::row_stats(plan, s, row))
                .collect();
            let u = crate::stats::unusual_of(&rows);
            (u.nonfinite, u.first_nonfinite, u.negative)
        };
        for plan in [sim.plan(), &masked] {
            let f = plan.fpixels;
            let (mut nonfinite, mut first, mut negative) = (0, None, 0);
            for (i, v) in image.iter().enumerate() {
                if !plan.is_rendered(i % f, i / f) {
                    continue;
                }
                if !v.is_finite() {
                    nonfinite += 1;
                    first.get_or_insert([i % f, i / f]);
                } else if *v < 0.0 {
                    negative += 1;
                }
            }
            assert!(nonfinite > 0 && negative > 0);
            let direct = (nonfinite, first, negative);
            assert_eq!(super::unusual(plan, &image), direct);
            assert_eq!(by_rows(plan, &image), direct);
            let clean = vec![0.5f32; n];
            assert_eq!(super::unusual(plan, &clean), (0, None, 0));
            assert_eq!(by_rows(plan, &clean), (0, None, 0));
        }
    }
}
