//! The SIMD kernel (`-precision single`) against the exact kernel, in-process, where single
//! precision is hardest to keep: crystals of up to 10⁵ unit cells per axis (every spot shape),
//! up to 10⁵ φ steps, structure factors from 10⁻²⁵ to 10³⁰, images near the ends of the float
//! range, and a sensor behind the sample.
//!
//! * the reproducers of issue 14 as fixed cases;
//! * randomized parameter sets (`NANOBRAGG_RANGE_CASES`, default 400) drawn to cover those
//!   ranges, each held to the accuracy bar (on an AVX-512 CPU every other set with the
//!   eight-lane kernel, the rest with the default sixteen lanes);
//! * the same images with 1 and 2 threads.
//!
//! The bar: every pixel of the same class as the exact kernel's (finite, +inf, −inf or NaN), and
//! over the pixels finite in both, correlation ≥ 0.99999 and |sum ratio − 1| ≤ 1e-4 (for an image
//! flat to 1e-3, every pixel within 1e-5 of the largest instead of the correlation).

mod common;

use nanobragg::kernel::Silent;
use nanobragg::kernel::simd::Width;
use nanobragg::metrics::{Metrics, compare};
use nanobragg::{Precision, Simulation};
use std::path::Path;

/// finite, +inf, −inf, NaN; a finite value within 1e-4 of the largest float counts as an
/// infinity of its sign (a relative error far inside the bar moves it across the edge).
fn class(v: f32) -> u8 {
    let v = if v.is_finite() && v.abs() >= f32::MAX * 0.9999 {
        v * 2.0
    } else {
        v
    };
    if v.is_nan() {
        3
    } else if v == f32::INFINITY {
        1
    } else if v == f32::NEG_INFINITY {
        2
    } else {
        0
    }
}

/// Both kernels' images of a command line (run in `dir`, where its input files are).
fn render_both(dir: &Path, args: &[String]) -> (Vec<f32>, Vec<f32>) {
    render_both_width(dir, args, nanobragg::kernel::simd::width())
}

/// As [`render_both`], the single-precision image with the SIMD kernel of `width` (where the
/// plan goes to the SIMD kernel at all).
fn render_both_width(dir: &Path, args: &[String], width: Width) -> (Vec<f32>, Vec<f32>) {
    let sim = common::in_dir(dir, || Simulation::from_args_with_time_seed(args, -1))
        .unwrap_or_else(|e| panic!("setup failed: {e}\nargs: {}", args.join(" ")));
    let plan = sim.plan();
    let exact = nanobragg::render_plan(plan, Precision::Double, &mut Silent)
        .expect("render")
        .image;
    let single = if nanobragg::uses_simd(plan, Precision::Single) {
        let kernel = nanobragg::kernel::simd::kernel_of(width);
        nanobragg::kernel::render(plan, kernel.as_ref(), &mut Silent)
    } else {
        nanobragg::render_plan(plan, Precision::Single, &mut Silent)
    };
    (single.expect("render").image, exact)
}

/// The accuracy bar of the single-precision image against the exact one (see the module
/// documentation). `Err` names the failure.
fn bar(single: &[f32], exact: &[f32]) -> Result<(Metrics, bool), String> {
    let mismatched = single
        .iter()
        .zip(exact)
        .filter(|(s, e)| class(**s) != class(**e))
        .count();
    let (a, b): (Vec<f32>, Vec<f32>) = single
        .iter()
        .zip(exact)
        .filter(|(s, e)| s.is_finite() && e.is_finite())
        .map(|(s, e)| (*s, *e))
        .unzip();
    let m = compare(&a, &b);
    let (shape_ok, flat, peak) = common::shape_ok(&m, &b);
    if mismatched == 0 && shape_ok && (m.sum_ratio - 1.0).abs() <= 1e-4 {
        Ok((m, flat))
    } else {
        Err(format!(
            "correlation {:.9} (flat image: {flat}, largest difference {:e} of {peak:e}), sum \
             ratio {:.9} (sums {:e} vs {:e}), {mismatched} of {} pixels of another class",
            m.correlation,
            m.max_abs_diff,
            m.sum_ratio,
            m.sum,
            m.ref_sum,
            single.len()
        ))
    }
}

fn args(s: &str) -> Vec<String> {
    s.split_whitespace()
        .map(String::from)
        .chain(["-nonoise", "-nopgm"].map(String::from))
        .collect()
}

/// A fixed case: the bar holds, and the exact image has what makes the case meaningful.
fn fixed(name: &str, line: &str, what: impl Fn(&[f32]) -> bool) -> String {
    let dir = common::Scratch::new("range-fixed");
    let (single, exact) = render_both(dir.path(), &args(line));
    assert!(
        what(&exact),
        "{name}: the exact image lacks what the case tests\nargs: {line}"
    );
    let (m, _) = bar(&single, &exact).unwrap_or_else(|e| panic!("{name}: {e}\nargs: {line}"));
    format!(
        "{name:<36} corr {:.10}  sum ratio - 1 {:+.2e}",
        m.correlation,
        m.sum_ratio - 1.0
    )
}

fn sum(img: &[f32]) -> f64 {
    img.iter().map(|&v| v as f64).sum()
}

/// Issue 14's reproducers.
#[test]
fn issue_14_reproducers_meet_the_bar() {
    let lit = |img: &[f32]| sum(img) > 0.0;
    let rows = [
        fixed(
            "large cubic crystal, N 50000",
            "-cell 20 20 20 90 90 90 -default_F 100 -N 50000 -detpixels 32 -oversample 1",
            lit,
        ),
        fixed(
            "1.3 um crystal, N 233x37x690",
            "-cell 53.43 91.91 20.31 90 102.01 90 -Na 233 -Nb 37 -Nc 690 -default_F 100 \
             -lambda 0.786 -pixel 0.204 -detsize 15.81 -oversample 3",
            lit,
        ),
        fixed(
            "gauss, N 47422: one lit pixel",
            "-cell 20 20 20 90 90 90 -default_F 100 -N 47422 -detpixels 33 -oversample 1 \
             -gauss_xtal",
            |img| img.iter().filter(|&&v| v > 0.0).count() == 1,
        ),
        fixed(
            "round, N 100000",
            "-cell 20 20 20 90 90 90 -default_F 100 -N 100000 -detpixels 16 -oversample 1 \
             -round_xtal",
            lit,
        ),
        fixed(
            "50000 phi steps from phi = 0",
            "-cell 100 100 100 90 90 90 -default_F 100 -detpixels 2 -phisteps 50000 -osc 1",
            lit,
        ),
        fixed(
            "50000 phi steps from phi = 10",
            "-cell 100 100 100 90 90 90 -default_F 100 -detpixels 2 -phisteps 50000 -osc 1 \
             -phi 10",
            lit,
        ),
        fixed(
            "F 2e19 (F^2 beyond f32)",
            "-cell 100 100 100 90 90 90 -default_F 2e19 -N 5 -detpixels 8",
            |img| img.iter().all(|v| v.is_finite()) && sum(img) > 1e36,
        ),
        fixed(
            "F 1e30, fluence 1e-40",
            "-cell 100 100 100 90 90 90 -default_F 1e30 -N 5 -detpixels 8 -fluence 1e-40",
            |img| img.iter().all(|v| v.is_finite()) && sum(img) > 0.0,
        ),
        fixed(
            "all-denormal image",
            "-cell 100 100 100 90 90 90 -default_F 1e-20 -N 5 -detpixels 8",
            |img| {
                img.iter().all(|&v| v.abs() < f32::MIN_POSITIVE)
                    && img.iter().filter(|&&v| v > 0.0).count() > 32
            },
        ),
        fixed(
            "all-denormal image, F^2 below f32",
            "-cell 20 20 20 90 90 90 -default_F 3e-24 -N 30 -detpixels 33 -oversample 1",
            |img| {
                img.iter().all(|&v| v.abs() < f32::MIN_POSITIVE)
                    && img.iter().filter(|&&v| v > 0.0).count() >= 3
            },
        ),
        fixed(
            "gauss tails, F 1e25 (exact lanes)",
            "-cell 30 40 50 90 90 90 -default_F 1e25 -N 14 -detpixels 24 -gauss_xtal \
             -oversample 1",
            |img| {
                img.iter().any(|v| v.is_infinite())
                    && img.iter().filter(|v| v.is_finite() && **v > 0.0).count() >= 8
            },
        ),
        fixed(
            "sensor behind the sample (NaN)",
            "-cell 100 100 100 90 90 90 -default_F 100 -N 5 -detpixels 8 -xds \
             -close_distance -100 -detector_thick 200 -detector_abs 0.1",
            |img| img.iter().any(|v| v.is_nan()),
        ),
    ];
    println!("{}", rows.join("\n"));
}

/// SplitMix64: a small deterministic generator for the randomized cases.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E3779B97F4A7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58476D1CE4E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D049BB133111EB);
        z ^ (z >> 31)
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }
    /// log-uniform in [lo, hi]
    fn log(&mut self, lo: f64, hi: f64) -> f64 {
        (lo.ln() + (hi.ln() - lo.ln()) * self.unit()).exp()
    }
    fn int(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.next() % (hi - lo + 1) as u64) as i64
    }
    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.int(0, xs.len() as i64 - 1) as usize]
    }
}

fn f(x: f64) -> String {
    format!("{x:.6}")
}

fn g(x: f64) -> String {
    format!("{x:.6e}")
}

/// What a randomized case covers (for the coverage check).
#[derive(Default, Debug)]
struct Cover {
    shape: usize,
    n_max: f64,
    phisteps: i64,
    f_max: f64,
    f_min: f64,
}

/// A random command line biased towards large crystals, long φ sweeps and extreme structure
/// factors, on a detector of 2×2 to 16×16 pixels (fewer for long sweeps).
fn random_args(r: &mut Rng, dir: &Path) -> (Vec<String>, Cover) {
    let mut a: Vec<String> = Vec::new();
    let mut c = Cover::default();
    let mut push = |s: &[String]| a.extend_from_slice(s);
    let cell = [
        r.range(15.0, 150.0),
        r.range(15.0, 150.0),
        r.range(15.0, 150.0),
    ];
    let ang = if r.chance(0.5) {
        [90.0, 90.0, 90.0]
    } else {
        [
            r.range(70.0, 110.0),
            r.range(70.0, 110.0),
            r.range(70.0, 110.0),
        ]
    };
    push(&["-cell".into()]);
    push(&cell.map(f));
    push(&ang.map(f));
    if r.chance(0.7) {
        push(&[
            "-misset".into(),
            f(r.range(-180.0, 180.0)),
            f(r.range(-90.0, 90.0)),
            f(r.range(-180.0, 180.0)),
        ]);
    }
    // cell counts: each axis small (1-100) or large (100-1e5), log-uniform
    let mut n = [1i64; 3];
    for v in &mut n {
        *v = if r.chance(0.55) {
            r.log(100.0, 100_000.0).round() as i64
        } else {
            r.log(1.0, 100.0).round() as i64
        };
    }
    if r.chance(0.3) {
        n = [n[0]; 3];
    }
    c.n_max = n.iter().copied().max().unwrap_or(1) as f64;
    push(&[
        "-Na".into(),
        n[0].to_string(),
        "-Nb".into(),
        n[1].to_string(),
        "-Nc".into(),
        n[2].to_string(),
    ]);
    c.shape = r.int(0, 3) as usize;
    match c.shape {
        0 => {}
        1 => push(&["-round_xtal".into()]),
        2 => push(&["-gauss_xtal".into()]),
        _ => push(&["-tophat_spots".into()]),
    }
    if c.shape != 0 && r.chance(0.3) {
        push(&["-fudge".into(), f(r.range(0.5, 2.0))]);
    }
    push(&["-lambda".into(), f(r.range(0.5, 2.5))]);
    // φ: a long sweep (from 0 or not) on a tiny detector, or a few steps
    let long = r.chance(0.3);
    let phisteps = if long {
        r.log(100.0, 100_000.0).round() as i64
    } else {
        r.int(1, 3)
    };
    c.phisteps = phisteps;
    if phisteps > 1 || r.chance(0.3) {
        if r.chance(0.5) {
            push(&["-phi".into(), f(r.range(-20.0, 20.0))]);
        }
        push(&[
            "-osc".into(),
            f(r.log(0.001, 5.0)),
            "-phisteps".into(),
            phisteps.to_string(),
        ]);
    }
    // detector: fewer pixels for long sweeps (at most ~2e5 pixel-steps)
    let max_px = if long {
        (200_000 / phisteps).clamp(2, 16)
    } else {
        16
    };
    let (fx, fy) = (r.int(2, max_px), r.int(2, max_px));
    push(&[
        "-detpixels_x".into(),
        fx.to_string(),
        "-detpixels_y".into(),
        fy.to_string(),
        "-pixel".into(),
        f(r.log(0.05, 1.0)),
        "-distance".into(),
        f(r.log(30.0, 300.0)),
    ]);
    push(&[r
        .pick(&["-mosflm", "-xds", "-adxv", "-denzo", "-dials"])
        .to_string()]);
    if r.chance(0.3) {
        push(&[
            "-detector_rotx".into(),
            f(r.range(-10.0, 10.0)),
            "-detector_roty".into(),
            f(r.range(-10.0, 10.0)),
            "-twotheta".into(),
            f(r.range(-30.0, 30.0)),
        ]);
    }
    if r.chance(0.3) {
        // the beam anywhere on (or off) the small detector
        push(&[
            "-Xbeam".into(),
            f(r.range(-2.0, 6.0)),
            "-Ybeam".into(),
            f(r.range(-2.0, 6.0)),
        ]);
    }
    if r.chance(0.15) {
        push(&["-curved_det".into()]);
    }
    if r.chance(0.15) {
        push(&["-point_pixel".into()]);
    }
    let small = !long && fx * fy <= 64;
    push(&[
        "-oversample".into(),
        if small { r.int(1, 3) } else { r.int(1, 2) }.to_string(),
    ]);
    if r.chance(0.2) {
        push(&[
            "-detector_thick".into(),
            f(r.range(20.0, 500.0)),
            "-thicksteps".into(),
            r.int(1, 3).to_string(),
        ]);
        if r.chance(0.5) {
            push(&["-detector_abs".into(), f(r.log(0.1, 1000.0))]);
        }
        if r.chance(0.2) {
            // the sensor behind the sample
            push(&["-close_distance".into(), f(-r.log(30.0, 300.0))]);
        }
    }
    if !long && r.chance(0.3) {
        push(&[
            "-mosaic".into(),
            f(r.log(0.001, 1.0)),
            "-mosaic_dom".into(),
            r.int(2, 5).to_string(),
            "-mosaic_seed".into(),
            r.int(1, 1000).to_string(),
        ]);
    }
    if !long && r.chance(0.25) {
        if r.chance(0.5) {
            push(&[
                "-dispersion".into(),
                f(r.range(0.1, 5.0)),
                "-dispsteps".into(),
                r.int(2, 3).to_string(),
            ]);
        } else {
            push(&[
                "-divergence".into(),
                f(r.range(0.1, 3.0)),
                "-divsteps".into(),
                r.int(2, 3).to_string(),
            ]);
        }
    }
    match r.int(0, 2) {
        0 => {}
        1 => push(&["-polar".into(), f(r.range(-1.0, 1.0))]),
        _ => push(&["-nopolar".into()]),
    }
    if r.chance(0.15) {
        push(&["-dmin".into(), f(r.range(1.0, 6.0))]);
    }
    if r.chance(0.1) {
        push(&["-water".into(), f(r.range(1.0, 100.0))]);
    }
    // structure factors: log-uniform from 1e-25 to 1e30, as default_F or a small HKL grid
    // spanning up to six decades; the fluence sometimes brings huge or tiny F back into range
    let f0 = r.log(1e-25, 1e30);
    if r.chance(0.35) {
        let (h, k, l) = (r.int(1, 4), r.int(1, 4), r.int(1, 4));
        let span = r.log(1.0, 1e6);
        let mut text = String::new();
        for i in -h..=h {
            for j in -k..=k {
                for m in -l..=l {
                    let v = if r.chance(0.1) {
                        0.0
                    } else {
                        f0 * r.log(1.0 / span, 1.0)
                    };
                    text.push_str(&format!("{i} {j} {m} {}\n", g(v)));
                }
            }
        }
        std::fs::write(dir.join("t.hkl"), text).expect("write hkl");
        let default = if r.chance(0.5) { 0.0 } else { f0 / span };
        push(&[
            "-hkl".into(),
            "t.hkl".into(),
            "-default_F".into(),
            g(default),
        ]);
        if r.chance(0.3) {
            push(&["-interpolate".into()]);
        }
        c.f_min = f0 / span;
    } else {
        push(&["-default_F".into(), g(f0)]);
        c.f_min = f0;
    }
    c.f_max = f0;
    if r.chance(0.5) {
        let fluence = 1.26e29 * (100.0 / f0).powi(2) * 10f64.powf(r.range(-45.0, 10.0));
        if fluence.is_finite() && fluence > 0.0 {
            push(&["-fluence".into(), g(fluence)]);
        }
    }
    if r.chance(0.1) {
        push(&["-fix_quirks".into()]);
    }
    push(&["-nonoise".into(), "-nopgm".into()]);
    (a, c)
}

#[test]
fn single_precision_meets_the_bar_on_randomized_extreme_parameters() {
    let cases: u64 = std::env::var("NANOBRAGG_RANGE_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(400);
    let mut r = Rng(0x0014_5eed_ba5e);
    let (mut worst_corr, mut worst_sum) = (1.0f64, 0.0f64);
    let mut worst_case = (String::new(), String::new());
    let mut shapes = [0usize; 4];
    let (mut big_n, mut huge_n, mut long_phi, mut huge_f, mut tiny_f, mut lit) = (0, 0, 0, 0, 0, 0);
    let mut failures = Vec::new();
    let (mut flat_images, mut worst_flat) = (0, 0.0f64);
    for i in 0..cases {
        let dir = common::Scratch::new("range-rand");
        let (args, c) = random_args(&mut r, dir.path());
        // on an AVX-512 CPU every other set renders with eight lanes: both widths meet the bar
        let width = match nanobragg::kernel::simd::width() {
            Width::X16 if i % 2 == 1 => Width::X8,
            w => w,
        };
        let (single, exact) = render_both_width(dir.path(), &args, width);
        match bar(&single, &exact) {
            Ok((m, flat)) => {
                if flat {
                    flat_images += 1;
                    worst_flat = worst_flat.max(m.max_abs_diff / common::peak(&exact));
                } else if m.correlation < worst_corr {
                    worst_corr = m.correlation;
                    worst_case.0 = args.join(" ");
                }
                if (m.sum_ratio - 1.0).abs() > worst_sum {
                    worst_sum = (m.sum_ratio - 1.0).abs();
                    worst_case.1 = args.join(" ");
                }
            }
            Err(e) => {
                // (the folder with the case's input files is kept)
                failures.push(format!(
                    "case {i}: {e}\nargs: {}\nin {}",
                    args.join(" "),
                    dir.path().display()
                ));
                std::mem::forget(dir);
            }
        }
        shapes[c.shape] += 1;
        big_n += usize::from(c.n_max >= 1e3);
        huge_n += usize::from(c.n_max >= 3e4);
        long_phi += usize::from(c.phisteps >= 1e4 as i64);
        huge_f += usize::from(c.f_max >= 1e20);
        tiny_f += usize::from(c.f_min <= 1e-15);
        lit += usize::from(exact.iter().any(|&v| v.is_finite() && v != 0.0));
    }
    println!(
        "{cases} randomized parameter sets: shapes (square, round, gauss, tophat) {shapes:?}; \
         N >= 1e3 on an axis: {big_n}, >= 3e4: {huge_n}; phisteps >= 1e4: {long_phi}; \
         F >= 1e20: {huge_f}; F <= 1e-15: {tiny_f}; images with a finite non-zero pixel: {lit} \
         ({flat_images} flat, largest difference {worst_flat:.1e} of the peak)\n\
         worst correlation {worst_corr:.10} ({})\n\
         worst |sum ratio - 1| {worst_sum:.2e} ({})",
        worst_case.0, worst_case.1
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // the draw covers what the test is about
    if cases >= 400 {
        assert!(
            shapes.iter().all(|&s| s >= cases as usize / 8),
            "{shapes:?}"
        );
        assert!(huge_n >= cases as usize / 10 && long_phi >= cases as usize / 40);
        assert!(huge_f >= cases as usize / 10 && tiny_f >= cases as usize / 10);
        assert!(lit >= cases as usize / 2, "{lit} images with a lit pixel");
    }
}

/// The images do not depend on the number of threads, also where lanes fall back to the exact
/// kernel or the wide-index path is taken.
#[test]
fn extreme_runs_do_not_depend_on_the_thread_count() {
    for line in [
        "-cell 20 20 20 90 90 90 -default_F 100 -N 50000 -detpixels 24 -oversample 1",
        "-cell 30 40 50 90 90 90 -default_F 1e25 -N 14 -detpixels 24 -gauss_xtal -oversample 1",
        "-cell 100 100 100 90 90 90 -default_F 100 -detpixels 4 -phisteps 3000 -osc 1 -oversample 1",
        "-cell 20 20 20 90 90 90 -default_F 100 -N 100000 -detpixels 24 -round_xtal -oversample 1",
    ] {
        let a = args(line);
        let sim = Simulation::from_args_with_time_seed(&a, -1).expect("setup");
        let render = |threads: usize| {
            nanobragg::pool::with_threads(threads, || {
                nanobragg::render_plan(sim.plan(), Precision::Single, &mut Silent)
                    .expect("render")
                    .image
            })
        };
        let one = render(1);
        let two = render(2);
        assert!(
            one.iter()
                .zip(&two)
                .all(|(a, b)| a.to_bits() == b.to_bits()),
            "images differ between 1 and 2 threads: {line}"
        );
    }
}
