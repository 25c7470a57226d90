//! The parity bundle tool (`nanoBragg-parity`) against the reference's stored float images.

mod common;

use common::{Scratch, golden};
use std::path::{Path, PathBuf};
use std::process::Command;

const TOOL: &str = env!("CARGO_BIN_EXE_nanoBragg-parity");

/// The issue's command line (golden case seed_src_weights, which adds -nopgm).
const SEED_SRC: &str = "-sourcefile two_sources.txt -lambda 0.9768 -default_F 100 -cell 100 100 100 90 90 90 -distance 100 -detpixels_x 256 -detpixels_y 256 -pixel 0.1 -oversample 1 -phisteps 1 -mosaic_domains 1 -nointerpolate -nonoise -floatfile out.bin";

fn tool(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let o = Command::new(TOOL)
        .args(args)
        .current_dir(dir)
        .env_remove("NB_C_BIN")
        .output()
        .expect("run nanoBragg-parity");
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// The one bundle under `root/name/`.
fn bundle(root: &Path, name: &str) -> PathBuf {
    let dirs: Vec<PathBuf> = std::fs::read_dir(root.join(name))
        .expect("report folder")
        .map(|e| e.expect("entry").path())
        .collect();
    assert_eq!(dirs.len(), 1, "{dirs:?}");
    let stamp = dirs[0].file_name().unwrap().to_string_lossy().to_string();
    // YYYYMMDDTHHMMSSZ
    assert_eq!(stamp.len(), 16, "{stamp}");
    assert!(
        stamp.ends_with('Z') && stamp.as_bytes()[8] == b'T',
        "{stamp}"
    );
    dirs[0].clone()
}

fn metrics(b: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(b.join("metrics.json")).expect("metrics.json"))
        .expect("valid JSON")
}

fn scratch_with_inputs() -> Scratch {
    let s = Scratch::new("parity");
    std::fs::copy(
        golden().join("inputs/two_sources.txt"),
        s.join("two_sources.txt"),
    )
    .expect("copy");
    s
}

#[test]
fn the_seed_src_weights_command_passes_the_double_bars_and_writes_a_bundle() {
    let dir = scratch_with_inputs();
    let reference = golden().join("cases/seed_src_weights/float.bin");
    let mut args = vec![
        "--c-image",
        reference.to_str().unwrap(),
        "--thresholds",
        "double",
        "--name",
        "seed_src_weights",
        "--",
    ];
    args.extend(SEED_SRC.split_whitespace());
    let (code, out, err) = tool(dir.path(), &args);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("PASS"), "{out}");
    let b = bundle(&dir.join("reports"), "seed_src_weights");
    let m = metrics(&b);
    for key in [
        "rust_sum",
        "c_sum",
        "sum_ratio",
        "correlation",
        "max_abs_diff",
        "max_ulp",
        "identical_fraction",
    ] {
        assert!(m[key].is_number(), "{key} missing: {m}");
    }
    assert_eq!(m["pass"], true);
    assert_eq!(m["thresholds"]["corr_min"], 0.999999);
    assert!(m["correlation"].as_f64().unwrap() >= 0.999999);
    assert!((m["sum_ratio"].as_f64().unwrap() - 1.0).abs() <= 1e-6);
    // the sums are those of the two images
    let rust = common::read_f32(&b.join("rust/out.bin"));
    let c = common::read_f32(&reference);
    let sum = |v: &[f32]| v.iter().map(|&x| x as f64).sum::<f64>();
    assert!((m["rust_sum"].as_f64().unwrap() - sum(&rust)).abs() <= 1e-9 * sum(&rust));
    assert!((m["c_sum"].as_f64().unwrap() - sum(&c)).abs() <= 1e-9 * sum(&c));
    // commands, environment, notes, the run's own outputs
    let commands = std::fs::read_to_string(b.join("commands.txt")).unwrap();
    assert!(commands.contains("-sourcefile") && commands.contains("two_sources.txt"));
    assert!(commands.contains(reference.to_str().unwrap()));
    let env: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(b.join("env.json")).unwrap()).unwrap();
    assert!(
        env["tool"]
            .as_str()
            .unwrap()
            .starts_with("nanoBragg-parity ")
    );
    assert!(env["cpu_features"].is_array() && env["available_parallelism"].is_number());
    let notes = std::fs::read_to_string(b.join("notes.md")).unwrap();
    assert!(notes.contains("PASS") && notes.contains("correlation"));
    assert!(b.join("rust/stdout.txt").exists());
    // and in double precision the image is the reference's, bit for bit
    let mut args = vec![
        "--c-image",
        reference.to_str().unwrap(),
        "--name",
        "d",
        "--",
    ];
    args.extend(SEED_SRC.split_whitespace());
    args.extend(["-precision", "double"]);
    assert_eq!(tool(dir.path(), &args).0, 0);
    let m = metrics(&bundle(&dir.join("reports"), "d"));
    assert_eq!(m["identical_fraction"], 1.0);
    assert_eq!(m["max_ulp"], 0);
}

#[test]
fn a_failed_bar_gives_a_nonzero_exit_and_says_which() {
    let dir = scratch_with_inputs();
    // the reference image, one per cent brighter
    let img = common::read_f32(&golden().join("cases/seed_src_weights/float.bin"));
    let bright: Vec<u8> = img.iter().flat_map(|v| (v * 1.01).to_le_bytes()).collect();
    std::fs::write(dir.join("bright.bin"), bright).unwrap();
    let mut args = vec!["--c-image", "bright.bin", "--name", "bright", "--"];
    args.extend(SEED_SRC.split_whitespace());
    let (code, out, _) = tool(dir.path(), &args);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("FAIL") && out.contains("sum_ratio"), "{out}");
    let m = metrics(&bundle(&dir.join("reports"), "bright"));
    assert_eq!(m["pass"], false);
    assert!(m["failures"][0].as_str().unwrap().contains("sum_ratio"));
}

#[test]
fn usage_errors_exit_2() {
    let dir = scratch_with_inputs();
    // no reference at all
    let mut args = vec!["--"];
    args.extend(SEED_SRC.split_whitespace());
    let (code, _, err) = tool(dir.path(), &args);
    assert_eq!(code, 2);
    assert!(err.contains("no reference"), "{err}");
    // a bad nanoBragg argument
    let (code, _, err) = tool(dir.path(), &["--c-image", "x.bin", "--", "-lambada", "1"]);
    assert_eq!(code, 2);
    assert!(err.contains("-lambada"), "{err}");
    // an unknown tool option
    let (code, _, err) = tool(dir.path(), &["--frobnicate"]);
    assert_eq!(code, 2);
    assert!(err.contains("--frobnicate"), "{err}");
}

#[test]
fn the_matrix_in_tests_passes_against_the_stored_images() {
    let out = Scratch::new("matrix");
    let matrix = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/parity/matrix.yaml");
    let (code, stdout, err) = tool(
        out.path(),
        &[
            "--matrix",
            matrix.to_str().unwrap(),
            "--out",
            out.join("r").to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "{stdout}\n{err}");
    for run in [
        "seed_src_weights-double",
        "seed_src_weights-single",
        "src_lambda_column-double",
        "src_lambda_column-single",
        "src_zero_weights",
        "hkl_cubic",
    ] {
        let line = stdout
            .lines()
            .find(|l| l.starts_with(run))
            .unwrap_or_else(|| panic!("{run} missing:\n{stdout}"));
        assert!(line.ends_with("PASS"), "{line}");
        assert_eq!(metrics(&bundle(&out.join("r"), run))["pass"], true);
    }
    assert!(stdout.contains("6 runs, 0 failed"), "{stdout}");
    // the per-run threshold override is applied
    let m = metrics(&bundle(&out.join("r"), "seed_src_weights-double"));
    assert_eq!(m["thresholds"]["max_abs_max"], 0.0);
}
