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
//! let rendered = sim.render(&mut nanobragg::kernel::Silent);
//! let products = sim.products(&rendered);
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
pub mod io;
pub mod kernel;
pub mod memory;
pub mod metrics;
pub mod mosaic;
pub mod options;
pub mod output;
pub mod plan;
pub mod rng;
pub mod setup;
pub mod sources;
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

pub use error::{Error, Result};
pub use options::Precision;
pub use plan::RenderPlan;
pub use setup::Experiment;

use cfmt::{fmt_f, fmt_g, fmt_g_prec, pad_left, pad_right};
use kernel::{Observer, Rendered};

/// A simulation set up from a nanoBragg command line.
pub struct Simulation {
    exp: Experiment,
    plan: RenderPlan,
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
        let args: Vec<String> = args.iter().map(|a| a.as_ref().to_string()).collect();
        let exp = setup::resolve(&args, time_seed)?;
        let plan = exp.plan();
        plan.validate()?;
        memory::check(&plan, &exp.opts)?;
        Ok(Simulation { exp, plan })
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

    /// Render with the kernel selected by `-precision`.
    pub fn render(&self, obs: &mut dyn Observer) -> Rendered {
        render_plan(&self.plan, self.exp.opts.precision, obs)
    }

    /// Statistics, integer/PGM/noise images (noise draws continue the run's generator).
    pub fn products(&self, r: &Rendered) -> Products {
        let o = &self.exp.opts;
        let plan = &self.plan;
        let (stats, int_scale, int_pixels) = if r.exact {
            // the integer image needs only max_I: compute it beside the serial sums
            let int_scale = output::int_scale(o.intfile_scale, stats::max(plan, &r.image).0);
            let (stats, int_pixels) = rayon::join(
                || stats::compute(plan, &r.image),
                || output::int_image(plan, &r.image, int_scale, o.adc),
            );
            (stats, int_scale, int_pixels)
        } else {
            let stats = r
                .stats
                .unwrap_or_else(|| stats::compute_rows(plan, &r.image));
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
        Products {
            png,
            stats,
            omega_sum: r.omega_sum,
            int_scale,
            int_pixels,
            pgm,
            noise,
        }
    }

    /// Compute the products and write every configured output, the float image being written
    /// while the rest is computed. Returns the products; `say` gets the reference's lines.
    pub fn finish(&self, r: &Rendered, say: &mut dyn FnMut(&str)) -> Result<Products> {
        let floatfile = &self.exp.opts.floatfile;
        std::thread::scope(|sc| {
            let float =
                sc.spawn(|| io::Staged::write(floatfile, &[&io::float::le_bytes(&r.image)]));
            let p = self.products(r);
            self.commit_outputs(r, &p, Some(float), say)?;
            Ok(p)
        })
    }

    /// Write every configured output file (atomically), calling `say` with each line the
    /// reference prints, in its order. Fdump.bin is written first when `-hkl` was read; if it
    /// cannot be written a warning line is reported and the run continues, as in the reference.
    pub fn write_outputs(
        &self,
        r: &Rendered,
        p: &Products,
        say: &mut dyn FnMut(&str),
    ) -> Result<()> {
        self.commit_outputs(r, p, None, say)
    }

    /// Stage the outputs (in parallel), then rename them into place in the reference's order,
    /// printing its lines; an output that fails stops the ones after it.
    fn commit_outputs(
        &self,
        r: &Rendered,
        p: &Products,
        float: Option<std::thread::ScopedJoinHandle<'_, Result<io::Staged>>>,
        say: &mut dyn FnMut(&str),
    ) -> Result<()> {
        let o = &self.exp.opts;
        let (hdr, noise_hdr) = self.exp.smv_header();
        let (float, int, pgm, noise) = std::thread::scope(|sc| {
            let int = sc.spawn(|| {
                io::Staged::write(
                    &o.intfile,
                    &[
                        &io::smv::header_block(&hdr),
                        &io::smv::pixel_bytes(&p.int_pixels),
                    ],
                )
            });
            let pgm = p.pgm.as_ref().map(|(scale, bytes)| {
                io::Staged::write(
                    &o.pgmfile,
                    &[&io::pgm::encode(
                        self.plan.fpixels,
                        self.plan.spixels,
                        *scale,
                        bytes,
                    )],
                )
            });
            let noise = p.noise.as_ref().map(|n| {
                io::Staged::write(
                    &o.noisefile,
                    &[
                        &io::smv::header_block(&noise_hdr),
                        &io::smv::pixel_bytes(&n.pixels),
                    ],
                )
            });
            let float = match float {
                Some(job) => job
                    .join()
                    .unwrap_or_else(|_| Err(Error::output(&o.floatfile, "writer thread failed"))),
                None => io::Staged::write(&o.floatfile, &[&io::float::le_bytes(&r.image)]),
            };
            let int = int
                .join()
                .unwrap_or_else(|_| Err(Error::output(&o.intfile, "writer thread failed")));
            (float, int, pgm, noise)
        });
        if let setup::FSource::Text(g) = &self.exp.f_source {
            if let Err(e) = io::write_atomic(&o.dumpfile, &g.to_fdump()) {
                say(&format!(
                    "WARNING: unable to open dump file: {} ({e})",
                    o.dumpfile
                ));
            }
        }
        let st = &p.stats;
        say("");
        let steps = self.exp.steps as f64;
        say(&format!(
            "solid angle subtended by detector = {} steradian ( {}% sphere)",
            fmt_g(p.omega_sum / steps),
            fmt_g(100.0 * p.omega_sum / steps / 4.0 / std::f64::consts::PI)
        ));
        say(&format!(
            "writing {} as {} 4-byte floats",
            o.floatfile,
            r.image.len()
        ));
        float?.commit()?;
        say(&format!(
            "max_I = {}  at {} {}",
            fmt_g(st.max_i),
            fmt_g(st.max_pos[0]),
            fmt_g(st.max_pos[1])
        ));
        say(&format!(
            "mean= {} rms= {} rmsd= {}",
            fmt_g(st.mean),
            fmt_g(st.rms),
            fmt_g(st.rmsd)
        ));
        say(&format!("intfile_scale = {}", fmt_g(p.int_scale)));
        say(&format!("writing {} as 2-byte integers", o.intfile));
        int?.commit()?;
        if let (Some((scale, _)), Some(staged)) = (&p.pgm, pgm) {
            say(&format!("pgm_scale = {}", fmt_g(*scale)));
            say(&format!("writing {} as 1-byte integers", o.pgmfile));
            staged?.commit()?;
        }
        if let (Some(n), Some(staged)) = (&p.noise, noise) {
            say(&format!(
                "{} photons on noise image ({} overloads)",
                fmt_f(n.photons, 0),
                n.overloads
            ));
            say(&format!("writing {} as 2-byte integers", o.noisefile));
            staged?.commit()?;
        }
        if let (Some(file), Some(gray)) = (&o.pngfile, &p.png) {
            let bytes = io::png::encode(self.plan.fpixels, self.plan.spixels, gray)
                .map_err(|e| Error::output(file, e.to_string()))?;
            io::write_atomic(file, &bytes)?;
            say(&format!("writing {file} as a log-scaled 8-bit PNG preview"));
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
        let plan = &self.plan;
        let prep = kernel::Prepared::new(plan);
        let mut st = prep.initial_state();
        let [pf, ps] = o.printout_pixel;
        let mut lines = Vec::new();
        for s in 0..plan.spixels {
            for f in 0..plan.fpixels {
                if !plan.is_rendered(f, s) {
                    continue;
                }
                let mut tr = kernel::exact::PixelTrace::default();
                kernel::exact::pixel(&prep, f, s, &mut st, Some(&mut tr), None);
                if (f as i32 == pf && s as i32 == ps) || pf < 0 {
                    lines.extend(trace_lines(
                        f,
                        s,
                        &tr,
                        self.exp.opts.lambda0,
                        self.exp.steps as f64,
                    ));
                }
            }
        }
        lines
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

/// Render a plan with the kernel for `precision`.
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
pub fn render_plan(plan: &RenderPlan, precision: Precision, obs: &mut dyn Observer) -> Rendered {
    let whole_cells = plan.n_cells.iter().all(|n| n.fract() == 0.0);
    let running_products = plan.oversample_thick || plan.oversample_polar || plan.oversample_omega;
    let step_shape = plan.shape == options::Shape::Tophat;
    let cells: f64 = plan.n_cells.iter().map(|n| n.max(1.0)).product();
    let fits = cells <= kernel::simd::MAX_CELLS;
    match precision {
        Precision::Single if whole_cells && !running_products && !step_shape && fits => {
            kernel::render(plan, &kernel::simd::Simd::default(), obs)
        }
        _ => kernel::render(plan, &kernel::exact::Exact, obs),
    }
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
