//! The C reference kernel (c_ref/, compiled by build.rs) against the Rust kernels, in-process:
//! every golden case, plus randomized parameter sets. Needs `--features c-ref`.
#![cfg(feature = "c-ref")]

mod common;

use common::{Case, prepare, read_f32, with_prefix};
use nanobragg::ffi::{nb_kernel_params, params_from_plan};
use nanobragg::kernel::Silent;
use nanobragg::metrics::compare;
use nanobragg::{Precision, RenderPlan, Simulation};

/// Render a plan with the C reference kernel.
fn c_render(plan: &RenderPlan) -> Vec<f32> {
    let src = [
        plan.sources.iter().map(|s| s.dir[0]).collect::<Vec<_>>(),
        plan.sources.iter().map(|s| s.dir[1]).collect(),
        plan.sources.iter().map(|s| s.dir[2]).collect(),
        plan.sources.iter().map(|s| s.lambda).collect(),
    ];
    let params: nb_kernel_params = params_from_plan(plan, &src);
    let mut img = vec![0f32; plan.fpixels * plan.spixels];
    // SAFETY: params point into `plan` and `src`, alive for the call; img has the right size.
    let rc = unsafe { nanobragg::c_ref::nb_ref_render(&params, img.as_mut_ptr(), img.len()) };
    assert_eq!(rc, 0, "nb_ref_render failed");
    img
}

/// The SIMD kernel's accuracy bar against an image: finite wherever the other image is, and on
/// those pixels correlation ≥ 0.99999 (for a flat image every pixel within 1e-5 of the largest
/// instead, see [`common::shape_ok`]) and |sum ratio − 1| ≤ 1e-4 (pixels the reference itself
/// renders as NaN or inf, which it does in some corner cases, are left out of the sums).
/// `Err` names the failure.
/// Returns the metrics and whether the image is flat.
fn simd_bar(simd: &[f32], c_img: &[f32]) -> Result<(nanobragg::metrics::Metrics, bool), String> {
    let (a, b): (Vec<f32>, Vec<f32>) = simd
        .iter()
        .zip(c_img)
        .filter(|(_, r)| r.is_finite())
        .map(|(s, r)| (*s, *r))
        .unzip();
    let m = compare(&a, &b);
    let (shape_ok, flat, peak) = common::shape_ok(&m, &b);
    if shape_ok && (m.sum_ratio - 1.0).abs() <= 1e-4 && m.non_finite == 0 {
        Ok((m, flat))
    } else {
        Err(format!(
            "correlation {:.9} (flat image: {flat}, largest difference {:e} of {peak:e}), sum \
             ratio {:.9}, {} non-finite pixels ({} of {} compared)",
            m.correlation,
            m.max_abs_diff,
            m.sum_ratio,
            m.non_finite,
            a.len(),
            simd.len()
        ))
    }
}

fn sim_for(case: &Case, dir: &std::path::Path, extra: &[&str]) -> Simulation {
    common::in_dir(dir, || {
        Simulation::from_args_with_time_seed(&with_prefix(extra, &case.args), -1).expect("setup")
    })
}

#[test]
fn c_ref_matches_golden_and_rust_on_every_case() {
    let mut rows = Vec::new();
    let mut runs: Vec<(Case, Vec<&str>, std::path::PathBuf)> = Vec::new();
    for c in common::all_cases() {
        let out = c.outputs.join("float.bin");
        runs.push((c.clone(), vec![], out));
        if let Some(corr) = &c.corrected {
            runs.push((c.clone(), vec!["-fix_quirks"], corr.join("float.bin")));
        }
    }
    for (case, extra, golden) in &runs {
        let dir = prepare(case);
        let sim = sim_for(case, dir.path(), extra);
        let plan = sim.plan();
        let c_img = c_render(plan);
        let rust = nanobragg::render_plan(plan, Precision::Double, &mut Silent)
            .expect("render")
            .image;
        let simd = nanobragg::render_plan(plan, Precision::Single, &mut Silent)
            .expect("render")
            .image;
        let reference = read_f32(golden);
        let m_c = compare(&c_img, &reference);
        let m_r = compare(&rust, &c_img);
        let (m_s, _) = simd_bar(&simd, &c_img)
            .unwrap_or_else(|e| panic!("{}: SIMD kernel vs c_ref: {e}", case.name));
        rows.push(format!(
            "{:<28} {:>9} c_ref-vs-golden identical {:.6} max_ulp {:>3} | rust-vs-c_ref identical {:.6} | simd-vs-c_ref corr {:.10} sum_ratio-1 {:+.1e}",
            case.name,
            extra.join(" "),
            m_c.identical_fraction,
            m_c.max_ulp,
            m_r.identical_fraction,
            m_s.correlation,
            m_s.sum_ratio - 1.0
        ));
        assert_eq!(
            m_r.identical_fraction, 1.0,
            "{}: Rust exact kernel differs from c_ref",
            case.name
        );
        assert_eq!(
            m_c.identical_fraction, 1.0,
            "{}: c_ref differs from the golden image",
            case.name
        );
    }
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

/// A random nanoBragg command line exercising cells, orientations, detector geometry, sources,
/// mosaic, shapes, oversampling, thickness and structure factors.
fn random_args(r: &mut Rng, dir: &std::path::Path) -> Vec<String> {
    let mut a: Vec<String> = Vec::new();
    let mut push = |s: &[String]| a.extend_from_slice(s);
    let cell = [
        r.range(30.0, 90.0),
        r.range(30.0, 90.0),
        r.range(30.0, 90.0),
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
    push(&[
        "-cell".into(),
        f(cell[0]),
        f(cell[1]),
        f(cell[2]),
        f(ang[0]),
        f(ang[1]),
        f(ang[2]),
    ]);
    if r.chance(0.7) {
        push(&[
            "-misset".into(),
            f(r.range(-180.0, 180.0)),
            f(r.range(-90.0, 90.0)),
            f(r.range(-180.0, 180.0)),
        ]);
    } else if r.chance(0.5) {
        push(&[
            "-misset_seed".into(),
            r.int(1, 100000).to_string(),
            "-misset".into(),
            "random".into(),
        ]);
    }
    let n = [r.int(1, 12), r.int(1, 12), r.int(1, 12)];
    push(&[
        "-Na".into(),
        n[0].to_string(),
        "-Nb".into(),
        n[1].to_string(),
        "-Nc".into(),
        n[2].to_string(),
    ]);
    push(&["-lambda".into(), f(r.range(0.7, 2.5))]);
    let px = r.int(12, 28);
    push(&[
        "-detpixels_x".into(),
        px.to_string(),
        "-detpixels_y".into(),
        r.int(12, 28).to_string(),
    ]);
    push(&[
        "-pixel".into(),
        f(r.range(0.1, 1.5)),
        "-distance".into(),
        f(r.range(40.0, 200.0)),
    ]);
    push(&[r
        .pick(&["-mosflm", "-xds", "-adxv", "-denzo", "-dials"])
        .to_string()]);
    if r.chance(0.4) {
        push(&[
            "-detector_rotx".into(),
            f(r.range(-10.0, 10.0)),
            "-detector_roty".into(),
            f(r.range(-10.0, 10.0)),
            "-detector_rotz".into(),
            f(r.range(-10.0, 10.0)),
        ]);
    }
    if r.chance(0.3) {
        push(&["-twotheta".into(), f(r.range(-30.0, 30.0))]);
    }
    if r.chance(0.3) {
        push(&[
            "-Xbeam".into(),
            f(r.range(0.0, 10.0)),
            "-Ybeam".into(),
            f(r.range(0.0, 10.0)),
        ]);
    }
    if r.chance(0.2) {
        push(&["-curved_det".into()]);
    }
    if r.chance(0.2) {
        push(&["-point_pixel".into()]);
    }
    push(&["-oversample".into(), r.int(1, 3).to_string()]);
    if r.chance(0.3) {
        push(&[
            "-detector_thick".into(),
            f(r.range(50.0, 500.0)),
            "-thicksteps".into(),
            r.int(1, 4).to_string(),
        ]);
        if r.chance(0.5) {
            push(&["-detector_abs".into(), f(r.range(100.0, 800.0))]);
        }
    }
    for flag in [
        "-oversample_thick",
        "-oversample_polar",
        "-oversample_omega",
    ] {
        if r.chance(0.15) {
            push(&[flag.into()]);
        }
    }
    match r.int(0, 3) {
        0 => {}
        1 => push(&["-round_xtal".into()]),
        2 => push(&["-gauss_xtal".into()]),
        _ => push(&[
            "-tophat_spots".into(),
            "-fudge".into(),
            f(r.range(0.5, 2.0)),
        ]),
    }
    if r.chance(0.4) {
        push(&[
            "-mosaic".into(),
            f(r.range(0.0, 2.0)),
            "-mosaic_dom".into(),
            r.int(1, 5).to_string(),
            "-mosaic_seed".into(),
            r.int(1, 1000).to_string(),
        ]);
    }
    if r.chance(0.4) {
        push(&[
            "-phi".into(),
            f(r.range(-20.0, 20.0)),
            "-osc".into(),
            f(r.range(0.1, 5.0)),
            "-phisteps".into(),
            r.int(1, 3).to_string(),
        ]);
    } else if r.chance(0.3) {
        push(&[
            "-osc".into(),
            f(r.range(0.1, 5.0)),
            "-phisteps".into(),
            r.int(2, 3).to_string(),
        ]);
    }
    match r.int(0, 3) {
        0 => {}
        1 => push(&[
            "-divergence".into(),
            f(r.range(0.1, 3.0)),
            "-divsteps".into(),
            r.int(2, 3).to_string(),
            r.pick(&["-round_div", "-square_div"]).into(),
        ]),
        2 => push(&[
            "-dispersion".into(),
            f(r.range(0.1, 5.0)),
            "-dispsteps".into(),
            r.int(2, 3).to_string(),
        ]),
        _ => {
            let mut text = String::new();
            for _ in 0..r.int(1, 3) {
                text.push_str(&format!(
                    "{} {} {} {} {}e-10\n",
                    f(-10.0),
                    f(r.range(-0.01, 0.01)),
                    f(r.range(-0.01, 0.01)),
                    f(r.range(-1.0, 1.0)),
                    f(r.range(0.8, 1.6))
                ));
            }
            std::fs::write(dir.join("src.txt"), text).expect("write sources");
            push(&["-sourcefile".into(), "src.txt".into()]);
        }
    }
    match r.int(0, 2) {
        0 => {}
        1 => push(&["-polar".into(), f(r.range(-1.0, 1.0))]),
        _ => push(&["-nopolar".into()]),
    }
    if r.chance(0.2) {
        push(&["-dmin".into(), f(r.range(1.0, 6.0))]);
    }
    if r.chance(0.15) {
        push(&["-water".into(), f(r.range(1.0, 100.0))]);
    }
    if r.chance(0.4) {
        // a small structure-factor file, with interpolation sometimes forced; half of them
        // with F = 0 outside the file and at some of its reflections (the exact kernel skips
        // the lattice factor of such steps)
        let (h, k, l) = (r.int(2, 6), r.int(2, 6), r.int(2, 6));
        let zeros = r.chance(0.5);
        let mut text = String::new();
        for i in -h..=h {
            for j in -k..=k {
                for m in -l..=l {
                    let v = if zeros && r.chance(0.2) {
                        0.0
                    } else {
                        r.range(0.0, 200.0)
                    };
                    text.push_str(&format!("{i} {j} {m} {}\n", f(v)));
                }
            }
        }
        std::fs::write(dir.join("t.hkl"), text).expect("write hkl");
        push(&[
            "-hkl".into(),
            "t.hkl".into(),
            "-default_F".into(),
            if zeros {
                "0".into()
            } else {
                f(r.range(0.0, 50.0))
            },
        ]);
        push(&[r
            .pick(&["-interpolate", "-nointerpolate", "-progress"])
            .into()]);
    } else {
        push(&["-default_F".into(), f(r.range(1.0, 200.0))]);
    }
    if r.chance(0.2) {
        let x0 = r.int(0, 8);
        let y0 = r.int(0, 8);
        push(&[
            "-roi".into(),
            x0.to_string(),
            (x0 + r.int(0, 10)).to_string(),
            y0.to_string(),
            (y0 + r.int(0, 10)).to_string(),
        ]);
    }
    if r.chance(0.15) {
        push(&["-fix_quirks".into()]);
    }
    push(&["-nonoise".into(), "-nopgm".into()]);
    a
}

#[test]
fn c_ref_matches_rust_on_randomized_parameter_sets() {
    let cases: u64 = std::env::var("NANOBRAGG_RANDOM_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1000);
    let mut r = Rng(0x5eed_c0ff_ee00);
    let mut kinds = std::collections::BTreeMap::new();
    let (mut worst_corr, mut worst_sum) = (1.0f64, 0.0f64);
    let (mut flat_images, mut worst_flat) = (0, 0.0f64);
    for i in 0..cases {
        let dir = common::Scratch::new("rand");
        let args = random_args(&mut r, dir.path());
        let sim = common::in_dir(dir.path(), || {
            Simulation::from_args_with_time_seed(&args, -1)
        })
        .unwrap_or_else(|e| panic!("case {i}: setup failed: {e}\nargs: {}", args.join(" ")));
        let plan = sim.plan();
        let c_img = c_render(plan);
        let rust = nanobragg::render_plan(plan, Precision::Double, &mut Silent)
            .expect("render")
            .image;
        let m = compare(&rust, &c_img);
        assert_eq!(
            m.identical_fraction,
            1.0,
            "case {i}: Rust exact kernel differs from c_ref (max ulp {})\nargs: {}",
            m.max_ulp,
            args.join(" ")
        );
        let simd = nanobragg::render_plan(plan, Precision::Single, &mut Silent)
            .expect("render")
            .image;
        let m_s = simd_bar(&simd, &c_img).unwrap_or_else(|e| {
            panic!(
                "case {i}: SIMD kernel vs c_ref: {e}\nargs: {}",
                args.join(" ")
            )
        });
        let (m_s, flat) = m_s;
        if flat {
            flat_images += 1;
            worst_flat = worst_flat.max(m_s.max_abs_diff / common::peak(&c_img));
        } else {
            worst_corr = worst_corr.min(m_s.correlation);
        }
        worst_sum = worst_sum.max((m_s.sum_ratio - 1.0).abs());
        for a in &args {
            if a.starts_with('-') && a[1..].starts_with(|c: char| c.is_ascii_alphabetic()) {
                *kinds.entry(a.clone()).or_insert(0) += 1;
            }
        }
    }
    println!(
        "{cases} randomized parameter sets: exact kernel bit-identical to c_ref; SIMD kernel worst correlation {worst_corr:.10}, worst |sum ratio - 1| {worst_sum:.2e}, {flat_images} flat images (largest difference {worst_flat:.2e} of the peak); option coverage: {kinds:?}"
    );
}
