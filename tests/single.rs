//! The SIMD kernel (`-precision single`, the default) against the reference's float images:
//!
//! * every golden case, with each kernel width the CPU runs (eight lanes, and sixteen on
//!   AVX-512): correlation ≥ 0.99999, |sum ratio − 1| ≤ 1e-4, every value finite where
//!   the reference's is (a per-case table is printed);
//! * the same float and integer images and the same printed lines (statistics included) with
//!   1 and 2 rayon threads, on every case;
//! * the row-parallel statistics agree with the serial ones, and the statistics the render
//!   takes as it goes are exactly the row-parallel ones.

mod common;

use common::{prepare, read_f32};
use nanobragg::metrics::compare;
use std::path::Path;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_nanoBragg");

/// Run the program in `dir` on `threads` threads with the kernel width `NANOBRAGG_SIMD=simd`:
/// (exit code, stderr, stdout).
fn run_width(dir: &Path, args: &[String], threads: usize, simd: &str) -> (i32, String, String) {
    let o = Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .env("RAYON_NUM_THREADS", threads.to_string())
        .env("NANOBRAGG_SIMD", simd)
        .output()
        .expect("run nanoBragg");
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stderr).into_owned(),
        String::from_utf8_lossy(&o.stdout).into_owned(),
    )
}

/// The kernel widths this CPU runs: the default, and eight lanes too where the default is
/// sixteen (AVX-512); both must meet the bars.
fn widths() -> Vec<&'static str> {
    use nanobragg::kernel::simd::{Width, width};
    if width() == Width::X16 && !cfg!(feature = "f32x16") {
        vec!["auto", "x8"]
    } else {
        vec!["auto"]
    }
}

#[test]
fn single_precision_meets_the_accuracy_bar_on_every_golden_case() {
    for simd in widths() {
        accuracy_bar_on_every_golden_case(simd);
    }
}

fn accuracy_bar_on_every_golden_case(simd: &str) {
    let mut failures = Vec::new();
    let mut table = vec![format!(
        "case (NANOBRAGG_SIMD={simd})     -precision single vs reference float image"
    )];
    let mut worst_corr = 1.0f64;
    let mut worst_sum = 0.0f64;
    for case in common::all_cases() {
        let dir = prepare(&case);
        // the default kernel: no -precision option
        let (code, err, out) = run_width(dir.path(), &case.args, 2, simd);
        if code != 0 {
            failures.push(format!("{}: exit {code}: {err}", case.name));
            continue;
        }
        let img = read_f32(&dir.join("float.bin"));
        let gold = read_f32(&case.outputs.join("float.bin"));
        let m = compare(&img, &gold);
        let gold_finite = gold.iter().filter(|v| v.is_finite()).count();
        let finite = img
            .iter()
            .zip(&gold)
            .all(|(a, b)| a.is_finite() || !b.is_finite());
        let sum_dev = (m.sum_ratio - 1.0).abs();
        let ok = m.correlation >= 0.99999 && sum_dev <= 1e-4 && finite;
        if !ok {
            failures.push(format!(
                "{} ({simd}): correlation {:.9}, sum ratio {:.9}, finite {finite}",
                case.name, m.correlation, m.sum_ratio
            ));
        }
        worst_corr = worst_corr.min(m.correlation);
        worst_sum = worst_sum.max(sum_dev);
        table.push(format!(
            "{:<28} corr {:.10}  sum_ratio-1 {:+.2e}  max_abs_diff {:.3e}  finite {}/{}",
            case.name,
            m.correlation,
            m.sum_ratio - 1.0,
            m.max_abs_diff,
            img.iter().filter(|v| v.is_finite()).count(),
            gold_finite
        ));
        // thread count does not change the images or the printed statistics
        // (cases that name their outputs differently compare the float image and lines only)
        let int2 = std::fs::read(dir.join("intimage.img")).ok();
        let (code1, _, out1) = run_width(dir.path(), &case.args, 1, simd);
        if code1 != 0 || read_f32(&dir.join("float.bin")) != img {
            failures.push(format!(
                "{}: single-precision image differs between 1 and 2 threads",
                case.name
            ));
        }
        // (the reference's mmap line prints an address, which differs from run to run)
        let lines = |o: &str| -> Vec<String> {
            o.lines()
                .filter(|l| !l.starts_with("mmap("))
                .map(String::from)
                .collect()
        };
        if std::fs::read(dir.join("intimage.img")).ok() != int2 || lines(&out1) != lines(&out) {
            failures.push(format!(
                "{}: integer image or printed lines differ between 1 and 2 threads",
                case.name
            ));
        }
    }
    table.push(format!(
        "worst correlation {worst_corr:.10}, worst |sum ratio - 1| {worst_sum:.2e}"
    ));
    println!("{}", table.join("\n"));
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn row_parallel_statistics_match_the_serial_ones() {
    for name in ["cubic_default", "mask", "roi", "hkl_cubic"] {
        let case = common::all_cases()
            .into_iter()
            .find(|c| c.name == name)
            .expect("case");
        let dir = prepare(&case);
        let args: Vec<&str> = case.args.iter().map(String::as_str).collect();
        let sim = common::in_dir(dir.path(), || {
            nanobragg::Simulation::from_args_with_time_seed(&args, -1).expect("setup")
        });
        let r = sim.render(&mut nanobragg::kernel::Silent).expect("render");
        let serial = nanobragg::stats::compute(sim.plan(), &r.image);
        let rows = nanobragg::stats::compute_rows(sim.plan(), &r.image);
        assert_eq!(
            r.stats,
            Some(rows),
            "{name}: statistics taken during the render"
        );
        assert_eq!(serial.max_i, rows.max_i, "{name}");
        assert_eq!(serial.max_pos, rows.max_pos, "{name}");
        assert_eq!(serial.count, rows.count, "{name}");
        for (a, b, what) in [
            (serial.mean, rows.mean, "mean"),
            (serial.rms, rows.rms, "rms"),
            (serial.rmsd, rows.rmsd, "rmsd"),
        ] {
            assert!(
                (a - b).abs() <= 1e-12 * a.abs().max(1e-300),
                "{name} {what}: serial {a} rows {b}"
            );
        }
    }
}

/// A pixel centre on the direct beam has h = k = l = 0 exactly: the fast gratings'
/// denominator is 0 there (and below f32's normal range near it), so the vector is summed
/// again with the guarded gratings. Its value must equal the exact kernel's, N³²·F², as
/// must its neighbours', with and without a sub-pixel grid and an HKL-free default_F.
#[test]
fn pixels_on_the_direct_beam_match_the_exact_kernel() {
    use nanobragg::kernel::Silent;
    use nanobragg::{Precision, Simulation};
    for oversample in ["1", "3"] {
        // 9 × 9 pixels of 0.1 mm; the beam meets the detector at the centre of pixel (4, 4)
        // (MOSFLM convention: beam centre = -Xbeam/-Ybeam + half a pixel)
        let args: Vec<String> = format!(
            "-cell 100 100 100 90 90 90 -default_F 100 -N 5 -lambda 1 -distance 100 \
             -detpixels 9 -pixel 0.1 -Xbeam 0.4 -Ybeam 0.4 -oversample {oversample} -nopolar"
        )
        .split_whitespace()
        .map(String::from)
        .collect();
        let sim = Simulation::from_args(&args).expect("setup");
        let plan = sim.plan();
        let fast = nanobragg::render_plan(plan, Precision::Single, &mut Silent).expect("simd");
        let exact = nanobragg::render_plan(plan, Precision::Double, &mut Silent).expect("f64");
        let (i_max, &max) = exact
            .image
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .expect("pixels");
        assert_eq!(i_max, 4 * 9 + 4, "oversample {oversample}: brightest pixel");
        assert!(max > 0.0);
        let on_axis = fast.image[i_max];
        assert!(
            ((on_axis - max) / max).abs() < 1e-5,
            "oversample {oversample}: on the beam {on_axis} (SIMD) vs {max} (exact)"
        );
        for (i, (a, b)) in fast.image.iter().zip(&exact.image).enumerate() {
            assert!(
                a.is_finite() && (a - b).abs() <= 1e-5 * max,
                "oversample {oversample}, pixel {i}: {a} (SIMD) vs {b} (exact)"
            );
        }
    }
}
