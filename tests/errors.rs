//! Bad input: every class gets a one-line error on stderr naming the problem, exit status 9,
//! no panic, and no output file created or damaged.

mod common;

use common::{Scratch, expect_cli_error, listing as files};
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_nanoBragg");
const GOOD: &str =
    "-default_F 100 -cell 100 100 100 90 90 90 -N 3 -detpixels 16 -pixel 0.4 -nonoise -nopgm";

/// Run with `args` in a folder holding `inputs` (name, bytes); expect failure whose stderr
/// contains every string in `want`.
fn fails(args: &str, inputs: &[(&str, &[u8])], want: &[&str]) {
    let dir = Scratch::new("err");
    for (n, b) in inputs {
        std::fs::write(dir.join(n), b).expect("write input");
    }
    expect_cli_error(BIN, dir.path(), args.split_whitespace(), want);
}

#[test]
fn unknown_options_are_errors_with_a_suggestion() {
    fails(
        &format!("{GOOD} -dispstesp 3"),
        &[],
        &["unknown option '-dispstesp'", "'-dispsteps'"],
    );
    fails(
        &format!("{GOOD} -hdivv 0.3"),
        &[],
        &["unknown option '-hdivv'", "-hdiv"],
    );
    fails(&format!("{GOOD} -lamda 1"), &[], &["'-lamda'", "-lambda"]);
    fails(
        &format!("{GOOD} -trace_pixel 1 2"),
        &[],
        &["unknown option '-trace_pixel'"],
    );
}

#[test]
fn missing_values_are_errors() {
    fails(
        &format!("{GOOD} -distance"),
        &[],
        &["-distance", "missing value"],
    );
    fails(&format!("{GOOD} -roi 1 2 3"), &[], &["-roi", "4 values"]);
    fails(
        &format!("{GOOD} -detector_thick"),
        &[],
        &["-detector_thick", "missing value"],
    );
    fails(
        &format!("{GOOD} -misset 10 20"),
        &[],
        &["-misset", "three angles"],
    );
    fails(&format!("{GOOD} -hkl"), &[], &["-hkl", "missing value"]);
}

#[test]
fn non_numeric_values_are_errors() {
    fails(
        &format!("{GOOD} -distance 10mm"),
        &[],
        &["-distance", "'10mm'", "number"],
    );
    fails(
        &format!("{GOOD} -N five"),
        &[],
        &["-N", "'five'", "integer"],
    );
    fails(
        &format!("{GOOD} -oversample two"),
        &[],
        &["-oversample", "'two'", "integer"],
    );
    fails(
        &format!("{GOOD} -pivot middle"),
        &[],
        &["-pivot", "'middle'"],
    );
    fails(
        &format!("{GOOD} -precision quad"),
        &[],
        &["-precision", "'quad'"],
    );
    fails(
        &format!("{GOOD} -detector_abs thick"),
        &[],
        &["-detector_abs", "'thick'"],
    );
}

#[test]
fn stray_arguments_are_errors() {
    fails(&format!("{GOOD} 42"), &[], &["unexpected argument '42'"]);
    fails(
        &format!("-cell 100 100 100 90 90 90 90 {GOOD}"),
        &[],
        &["unexpected argument '90'"],
    );
}

#[test]
fn unreadable_input_files_are_errors() {
    fails(
        &format!("{GOOD} -hkl missing.hkl"),
        &[],
        &["missing.hkl", "cannot read"],
    );
    fails(&format!("{GOOD} -mat missing.mat"), &[], &["missing.mat"]);
    fails(
        &format!("{GOOD} -sourcefile missing.txt"),
        &[],
        &["missing.txt"],
    );
    fails(&format!("{GOOD} -mask missing.img"), &[], &["missing.img"]);
    fails(&format!("{GOOD} -img missing.img"), &[], &["missing.img"]);
}

#[test]
fn malformed_hkl_files_name_the_line() {
    let args = format!("{GOOD} -hkl bad.hkl");
    fails(
        &args,
        &[("bad.hkl", b"0 0 0 10\n1 2 3 4 5\n")],
        &["bad.hkl, line 2", "4 columns"],
    );
    fails(
        &args,
        &[("bad.hkl", b"0 0 0 10\n# ok\n1 0.5 0 3\n")],
        &["bad.hkl, line 3", "integer"],
    );
    fails(
        &args,
        &[("bad.hkl", b"0 0 0 ten\n")],
        &["bad.hkl, line 1", "'ten'"],
    );
    fails(
        &args,
        &[("bad.hkl", b"\n\n")],
        &["bad.hkl", "no reflections"],
    );
    // large files (4 MiB and more) are read in parallel halves: the line numbers stay those
    // of the file, and the first bad line in file order is the one reported
    let mut big = String::new();
    for i in 0..400_000 {
        big.push_str(&format!("{} {} {} 10.5\n", i % 20, (i / 20) % 20, i / 400));
    }
    assert!(big.len() >= 4 << 20, "{}", big.len());
    let late = big.replacen("7 2 919 10.5", "7 2 919 x", 1);
    let late_line = late.lines().position(|l| l.ends_with(" x")).unwrap() + 1;
    assert!(late_line > 200_000, "{late_line}");
    fails(
        &args,
        &[("bad.hkl", late.as_bytes())],
        &[&format!("bad.hkl, line {late_line}:"), "'x'"],
    );
    let both = late.replacen("3 0 0 10.5", "3 0 0 y", 1);
    fails(
        &args,
        &[("bad.hkl", both.as_bytes())],
        &["bad.hkl, line 4:", "'y'"],
    );
}

#[test]
fn malformed_matrix_files_are_errors() {
    let args = "-default_F 100 -N 3 -detpixels 16 -pixel 0.4 -nonoise -nopgm -mat bad.mat";
    fails(
        args,
        &[("bad.mat", b"0.01 0 0\n0 0.01 0\n")],
        &["bad.mat", "9 numbers"],
    );
    fails(
        args,
        &[("bad.mat", b"0.01 0 0\n0 x 0\n0 0 0.01\n")],
        &["bad.mat, line 2", "'x'"],
    );
}

#[test]
fn malformed_source_files_name_the_line() {
    let args = format!("{GOOD} -sourcefile s.txt");
    fails(
        &args,
        &[("s.txt", b"-10 0 0 1 1e-10\n-10 0 0 heavy 1e-10\n")],
        &["s.txt, line 2", "weight", "'heavy'"],
    );
    fails(
        &args,
        &[("s.txt", b"-10 0 0 1 1e-10 7\n")],
        &["s.txt, line 1", "5 columns"],
    );
    fails(&args, &[("s.txt", b"\n")], &["s.txt", "no sources"]);
}

#[test]
fn malformed_smv_files_are_errors() {
    let mut good = b"{\nHEADER_BYTES=512;\nDIM=2;\nBYTE_ORDER=little_endian;\nTYPE=unsigned_short;\nSIZE1=16;\nSIZE2=16;\nPIXEL_SIZE=0.4;\n}\x0c".to_vec();
    good.resize(512, b' ');
    let mut truncated = good.clone();
    truncated.extend_from_slice(&[1u8; 100]);
    fails(
        &format!("{GOOD} -mask m.img"),
        &[("m.img", &truncated)],
        &["m.img", "truncated"],
    );
    fails(
        &format!("{GOOD} -img m.img"),
        &[("m.img", b"P5\n16 16\n255\n")],
        &["m.img", "SMV"],
    );
    let mut nosize = b"{\nHEADER_BYTES=512;\n}".to_vec();
    nosize.resize(1024, b' ');
    fails(
        &format!("{GOOD} -img m.img"),
        &[("m.img", &nosize)],
        &["m.img", "SIZE1"],
    );
    let mut full = good.clone();
    full.extend_from_slice(&[1u8; 512]);
    fails(
        &format!("{GOOD} -mask m.img -detpixels 8"),
        &[("m.img", &full)],
        &["m.img", "16x16", "8x8"],
    );
}

#[test]
fn corrupt_fdump_files_are_errors() {
    let args = "-cell 100 100 100 90 90 90 -N 3 -detpixels 16 -pixel 0.4 -nonoise -nopgm";
    let mut b = b"0 1 0 1 0 1\n\x0c".to_vec();
    b.extend_from_slice(&[0u8; 100]);
    fails(args, &[("Fdump.bin", &b)], &["Fdump.bin", "truncated"]);
    fails(
        args,
        &[("Fdump.bin", b"not a dump")],
        &["Fdump.bin", "six integers"],
    );
}

#[test]
fn impossible_geometry_is_an_error() {
    let base = "-default_F 100 -cell 100 100 100 90 90 90 -N 3 -nonoise -nopgm";
    fails(
        &format!("{base} -detpixels 0"),
        &[],
        &["-detpixels", "positive"],
    );
    fails(
        &format!("{base} -detpixels_x -4 -detpixels_y 16"),
        &[],
        &["positive"],
    );
    fails(
        &format!("{base} -detpixels 16 -pixel 0"),
        &[],
        &["pixel size"],
    );
    fails(
        &format!("{base} -detpixels 16 -pixel -0.1"),
        &[],
        &["pixel size"],
    );
    fails(
        &format!("{base} -detpixels 16 -lambda 0"),
        &[],
        &["wavelength"],
    );
    fails(
        &format!("{base} -detpixels 16 -energy 0"),
        &[],
        &["-lambda/-energy", "not finite"],
    );
    fails(
        &format!("{base} -detpixels 16 -distance 0"),
        &[],
        &["distance"],
    );
    fails(
        &format!("{base} -detpixels 16 -distance nan"),
        &[],
        &["-distance", "not finite"],
    );
    fails(
        &format!("{base} -detpixels 16 -lambda inf"),
        &[],
        &["not finite"],
    );
    fails(
        &format!("{base} -detpixels 16 -fdet_vector 0 0 0"),
        &[],
        &["-fdet_vector", "zero vector"],
    );
    fails(
        "-default_F 100 -cell 0 100 100 90 90 90 -detpixels 16 -nonoise -nopgm",
        &[],
        &["cell length a"],
    );
}

#[test]
fn missing_crystal_or_structure_factors_are_errors() {
    fails(
        "-cell 100 100 100 90 90 90 -detpixels 16",
        &[],
        &["no structure factors", "-hkl", "-default_F"],
    );
    fails(
        "-default_F 100 -detpixels 16",
        &[],
        &["no crystal", "-cell", "-mat"],
    );
}

#[test]
fn a_failed_run_leaves_existing_outputs_untouched() {
    // failure during setup: nothing is written
    let dir = Scratch::new("keep");
    std::fs::write(dir.join("float.bin"), b"precious").expect("write");
    let o = Command::new(BIN)
        .args(format!("{GOOD} -floatfile float.bin -distance 0").split_whitespace())
        .current_dir(dir.path())
        .output()
        .expect("run");
    assert_eq!(o.status.code(), Some(9));
    assert_eq!(
        std::fs::read(dir.join("float.bin")).expect("read"),
        b"precious"
    );

    // an output that cannot be written (its folder does not exist): refused before the
    // render, and no output replaced, the float image included; no temporary is left
    std::fs::write(dir.join("int.img"), b"old int").expect("write");
    let o = Command::new(BIN)
        .args(format!("{GOOD} -floatfile float.bin -intfile nodir/int.img").split_whitespace())
        .current_dir(dir.path())
        .output()
        .expect("run");
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(9), "{err}");
    assert!(
        err.contains("nodir/int.img") && err.contains("the folder nodir does not exist"),
        "{err}"
    );
    assert_eq!(
        std::fs::read(dir.join("float.bin")).expect("float"),
        b"precious"
    );
    assert_eq!(std::fs::read(dir.join("int.img")).expect("int"), b"old int");
    let left: Vec<String> = files(dir.path())
        .into_iter()
        .filter(|f| f.contains(".tmp"))
        .collect();
    assert!(left.is_empty(), "temporary files left: {left:?}");
}

#[test]
fn help_and_version_succeed() {
    let o = Command::new(BIN).arg("-help").output().expect("run");
    assert!(o.status.success());
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("-lambda") && text.contains("-fix_quirks") && text.contains("-precision")
    );
    let o = Command::new(BIN).arg("--version").output().expect("run");
    assert!(o.status.success());
    assert!(String::from_utf8_lossy(&o.stdout).contains(env!("CARGO_PKG_VERSION")));
}

#[test]
fn buffers_that_cannot_fit_are_refused_before_allocating() {
    // beyond the absolute limit: the size it would need is named
    fails(
        "-cell 100 100 100 90 90 90 -default_F 1 -detpixels 200000 -nonoise -nopgm",
        &[],
        &["too large", "4e+10 pixels", "240 GB"],
    );
    // beyond the memory available (set here by NANOBRAGG_MEMORY_LIMIT)
    let dir = Scratch::new("mem");
    let o = Command::new(BIN)
        .args("-cell 100 100 100 90 90 90 -default_F 1 -detpixels 8000".split_whitespace())
        .current_dir(dir.path())
        .env("NANOBRAGG_MEMORY_LIMIT", "100000000")
        .output()
        .expect("run");
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(9), "{err}");
    // 8000² pixels × (4 float + 2 SMV + 2 noise + 1 PGM bytes) = 576 MB, plus tables
    assert!(
        err.contains("needs 577 MB")
            && err.contains("8000x8000 detector's image buffers")
            && err.contains("100 MB this run may use (NANOBRAGG_MEMORY_LIMIT)"),
        "{err}"
    );
    assert_eq!(files(dir.path()).len(), 0, "output written");
    // the same run fits without the limit's pressure on a smaller detector
    let o = Command::new(BIN)
        .args(
            "-cell 100 100 100 90 90 90 -default_F 1 -N 2 -detpixels 64 -nonoise -nopgm"
                .split_whitespace(),
        )
        .current_dir(dir.path())
        .env("NANOBRAGG_MEMORY_LIMIT", "100000000")
        .output()
        .expect("run");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn an_hkl_file_whose_grid_cannot_fit_is_refused_before_allocating() {
    // two reflections far apart: a 1201³ grid (14 GB of f64) under a 1 GB budget
    let dir = Scratch::new("hklmem");
    std::fs::write(
        dir.path().join("far.hkl"),
        "-600 -600 -600 1\n600 600 600 1\n",
    )
    .unwrap();
    let o = Command::new(BIN)
        .args("-cell 100 100 100 90 90 90 -hkl far.hkl -detpixels 8".split_whitespace())
        .current_dir(dir.path())
        .env("NANOBRAGG_MEMORY_LIMIT", "1000000000")
        .output()
        .expect("run");
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(9), "{err}");
    assert!(
        err.contains("structure-factor grid of 21 GB") && err.contains("1.0 GB"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(
        files(dir.path()),
        vec!["far.hkl".to_string()],
        "output written"
    );
}
