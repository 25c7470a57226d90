//! The C side of the C API, compiled with the system C compiler (`$CC`, else `cc`) against
//! include/nanobragg.h and the library cargo built beside the test binaries:
//!
//! * c_ref/nb_driver.c, a legacy-style main(), linked against the static and against the
//!   shared library, writes the same files as the nanoBragg CLI, byte for byte, and prints the
//!   same statistics lines, on golden cases;
//! * c_ref/nb_threads.c renders two handles at once from two C threads.

mod common;

use common::{Case, Scratch, prepare};
use std::path::{Path, PathBuf};
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_nanoBragg");

/// The folder holding libnanobragg.{a,so}: `cargo test` compiles the library once, with every
/// crate type of `[lib]` (rlib, staticlib, cdylib), into the `deps` folder of the test binaries,
/// so the C programs link the very build these tests run against (no nested cargo build).
fn lib_dir() -> PathBuf {
    let deps = Path::new(BIN)
        .parent()
        .expect("profile folder")
        .join("deps");
    for lib in ["libnanobragg.a", "libnanobragg.so"] {
        assert!(
            deps.join(lib).exists(),
            "{} missing: cargo test builds it beside the test binaries",
            deps.join(lib).display()
        );
    }
    deps
}

fn manifest() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Compile `source` (in c_ref/) into `out`, linked statically or dynamically.
fn compile(source: &str, out: &Path, shared: bool) {
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let lib = lib_dir();
    let mut cmd = Command::new(&cc);
    cmd.args([
        "-std=c99",
        "-D_POSIX_C_SOURCE=200809L",
        "-O2",
        "-Wall",
        "-Werror",
    ])
    .arg("-I")
    .arg(manifest().join("include"))
    .arg(manifest().join("c_ref").join(source))
    .arg("-o")
    .arg(out);
    if shared {
        cmd.arg("-L")
            .arg(&lib)
            .arg("-lnanobragg")
            .arg(format!("-Wl,-rpath,{}", lib.display()));
    } else {
        // the static library and the system libraries Rust's std needs
        cmd.arg(lib.join("libnanobragg.a")).args([
            "-lgcc_s",
            "-lutil",
            "-lrt",
            "-lpthread",
            "-lm",
            "-ldl",
            "-lc",
        ]);
    }
    cmd.arg("-lpthread");
    let o = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cc}: {e}"));
    assert!(
        o.status.success(),
        "{cc} failed on {source}:\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

struct Run {
    stdout: String,
    code: i32,
}

fn run(program: &Path, args: &[String], dir: &Path) -> Run {
    let o = Command::new(program)
        .args(args)
        .current_dir(dir)
        .env("RAYON_NUM_THREADS", "2")
        .output()
        .expect("run");
    Run {
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        code: o.status.code().unwrap_or(-1),
    }
}

/// Regular files of a folder with their bytes.
fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .expect("dir")
        .map(|e| e.expect("entry"))
        .filter(|e| e.file_type().map(|t| t.is_file()).unwrap_or(false))
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).expect("read"),
            )
        })
        .collect();
    v.sort();
    v
}

/// The lines from the solid-angle line on (the statistics and file lines).
fn tail(stdout: &str) -> Vec<&str> {
    let lines: Vec<&str> = stdout.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.starts_with("solid angle subtended"))
        .expect("statistics lines");
    lines[at..].to_vec()
}

fn golden_case(name: &str) -> Case {
    common::all_cases()
        .into_iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("golden case {name}"))
}

#[test]
fn the_c_driver_writes_what_the_cli_writes() {
    let build = Scratch::new("cdriver");
    let drivers = [
        ("static", build.join("nb_driver_static")),
        ("shared", build.join("nb_driver_shared")),
    ];
    compile("nb_driver.c", &drivers[0].1, false);
    compile("nb_driver.c", &drivers[1].1, true);
    // cases covering the float, SMV int and noise, PGM and Fdump.bin writers, both kernels
    let cases: [(&str, &[&str]); 7] = [
        ("cubic_default", &[]),
        ("hkl_cubic", &[]),
        ("noise_seed", &[]),
        ("pgm_scale", &[]),
        ("mosaic", &["-precision", "double"]),
        ("triclinic_misset", &["-precision", "double"]),
        ("seed_src_weights", &[]),
    ];
    let mut compared = 0;
    for (name, extra) in cases {
        let case = golden_case(name);
        let args = common::with_prefix(extra, &case.args);
        let cli_dir = prepare(&case);
        let before = files(cli_dir.path());
        let cli = run(Path::new(BIN), &args, cli_dir.path());
        assert_eq!(cli.code, 0, "{name}: CLI failed");
        let cli_files = files(cli_dir.path());
        assert!(cli_files.len() > before.len(), "{name}: no outputs");
        for (kind, driver) in &drivers {
            let dir = prepare(&case);
            let r = run(driver, &args, dir.path());
            assert_eq!(r.code, 0, "{name} ({kind}): driver failed:\n{}", r.stdout);
            let got = files(dir.path());
            let names = |v: &[(String, Vec<u8>)]| v.iter().map(|f| f.0.clone()).collect::<Vec<_>>();
            assert_eq!(names(&got), names(&cli_files), "{name} ({kind}): file sets");
            for ((n, a), (_, b)) in got.iter().zip(&cli_files) {
                assert!(a == b, "{name} ({kind}): {n} differs from the CLI's");
            }
            assert_eq!(
                tail(&r.stdout),
                tail(&cli.stdout),
                "{name} ({kind}): statistics"
            );
            compared += 1;
        }
    }
    assert_eq!(compared, 14);
}

#[test]
fn the_c_driver_reports_errors_like_the_cli() {
    let build = Scratch::new("cdriver-err");
    let driver = build.join("nb_driver_static");
    compile("nb_driver.c", &driver, false);
    let dir = Scratch::new("cdriver-err-run");
    let o = Command::new(&driver)
        .args(["-lambada", "1"])
        .current_dir(dir.path())
        .output()
        .expect("run");
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(9));
    assert!(err.contains("-lambada") && err.contains("-lambda"), "{err}");
}

#[test]
fn two_handles_render_at_once_from_two_c_threads() {
    let build = Scratch::new("cthreads");
    let program = build.join("nb_threads");
    compile("nb_threads.c", &program, true);
    let dir = Scratch::new("cthreads-run");
    let a = "-default_F 100 -cell 100 100 100 90 90 90 -lambda 1 -N 5 -distance 100 -detpixels 96 -pixel 0.1 -oversample 2 -nonoise -nopgm -mosaic 0.5 -mosaic_domains 4 -mosaic_seed 7";
    let b = "-default_F 50 -cell 70 80 90 85 95 105 -misset 10 5 3 -lambda 1.5 -N 6 -distance 80 -detpixels 80 -pixel 0.2 -precision double -nonoise -nopgm";
    let o = Command::new(&program)
        .args([a, b])
        .current_dir(dir.path())
        .output()
        .expect("run");
    assert!(
        o.status.success(),
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "ok");
}
