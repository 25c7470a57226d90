//! The C side of the C API, compiled with the system C compiler (`$CC`, else `cc`) against
//! include/nanobragg.h and the library cargo built beside the test binaries:
//!
//! * c_ref/nb_driver.c, a legacy-style main(), linked against the static and against the
//!   shared library, writes the same files as the nanoBragg CLI, byte for byte, and prints the
//!   same statistics lines, on golden cases;
//! * c_ref/nb_legacy.c, a C89 nanoBragg-style main() whose pixel loop is nb_render_kernel()
//!   (F in separately allocated rows, the loop's printing and statistics through the kernel
//!   API), reproduces the reference's files and stdout on every golden case, static and shared,
//!   with an integration of at most 30 lines;
//! * c_ref/nb_abi1_caller.c, built against the ABI-1 header, still works with this library;
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
    compile_with(
        source,
        out,
        shared,
        &["-std=c99"],
        &manifest().join("include"),
    );
}

/// As [`compile`], with the given dialect flags and header folder.
fn compile_with(source: &str, out: &Path, shared: bool, dialect: &[&str], include: &Path) {
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let lib = lib_dir();
    let mut cmd = Command::new(&cc);
    cmd.args(dialect)
        .args(["-D_POSIX_C_SOURCE=200809L", "-O2", "-Wall", "-Werror"])
        .arg("-I")
        .arg(include)
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

/// The reference's stdout lines a run must reproduce: all but its banner and the `mmap`
/// pointer line (as tests/golden.rs).
fn comparable_stdout(s: &str) -> Vec<&str> {
    s.split('\n')
        .filter(|l| {
            !l.starts_with("nanoBragg nanocrystal")
                && !l.starts_with("nanobragg ")
                && !l.starts_with("mmap(")
        })
        .collect()
}

/// c_ref/nb_legacy.c built as C89 against the static and the shared library.
fn legacy_drivers(build: &Scratch) -> [(&'static str, PathBuf); 2] {
    let drivers = [
        ("static", build.join("nb_legacy_static")),
        ("shared", build.join("nb_legacy_shared")),
    ];
    let c89 = ["-std=c89", "-pedantic", "-Wextra"];
    let include = manifest().join("include");
    compile_with("nb_legacy.c", &drivers[0].1, false, &c89, &include);
    compile_with("nb_legacy.c", &drivers[1].1, true, &c89, &include);
    drivers
}

#[test]
fn the_legacy_driver_reproduces_the_reference() {
    let build = Scratch::new("legacy");
    let drivers = legacy_drivers(&build);
    let mut failures = Vec::new();
    let mut files_compared = 0;
    let cases = common::all_cases();
    for case in &cases {
        for (kind, driver) in &drivers {
            let dir = prepare(case);
            let r = run(driver, &case.args, dir.path());
            if r.code != 0 {
                failures.push(format!("{} ({kind}): exit {}", case.name, r.code));
                continue;
            }
            for f in [
                "float.bin",
                "int.img",
                "noise.img",
                "image.pgm",
                "Fdump.bin",
            ] {
                let want = case.outputs.join(f);
                if want.exists() {
                    files_compared += 1;
                    if std::fs::read(dir.join(f)).ok() != std::fs::read(&want).ok() {
                        failures.push(format!("{} ({kind}): {f} differs", case.name));
                    }
                }
            }
            let gold = std::fs::read_to_string(case.outputs.join("stdout.txt")).expect("stdout");
            let (want, got) = (comparable_stdout(&gold), comparable_stdout(&r.stdout));
            if want != got {
                let at = want.iter().zip(&got).position(|(a, b)| a != b);
                let at = at.unwrap_or(want.len().min(got.len()));
                failures.push(format!(
                    "{} ({kind}): stdout line {} differs:\n  want: {:?}\n  got:  {:?}",
                    case.name,
                    at + 1,
                    want.get(at),
                    got.get(at)
                ));
            }
            // the lines the statistics and solid angle are printed from
            for key in ["solid angle subtended", "max_I = ", "mean= "] {
                assert!(
                    got.iter().any(|l| l.starts_with(key)),
                    "{}: {key}",
                    case.name
                );
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(cases.len() >= 52);
    assert!(files_compared >= 2 * cases.len());
}

#[test]
fn the_legacy_driver_prints_the_printout_dump_like_the_cli() {
    let build = Scratch::new("legacy-printout");
    let drivers = legacy_drivers(&build);
    for (name, prefix) in [
        ("cubic_default", &["-printout_pixel", "70", "61"][..]),
        ("interp_fallback", &["-printout_pixel", "3", "100"]),
    ] {
        let case = golden_case(name);
        let args = common::with_prefix(prefix, &case.args);
        let cli_dir = prepare(&case);
        let cli_args = common::with_prefix(&["-precision", "double"], &args);
        let cli = run(Path::new(BIN), &cli_args, cli_dir.path());
        assert_eq!(cli.code, 0);
        assert!(cli.stdout.contains(" : stol = "), "{name}: no dump");
        for (kind, driver) in &drivers {
            let dir = prepare(&case);
            let r = run(driver, &args, dir.path());
            assert_eq!(r.code, 0, "{name} ({kind})");
            assert_eq!(
                comparable_stdout(&r.stdout),
                comparable_stdout(&cli.stdout),
                "{name} ({kind}): stdout"
            );
            assert!(
                std::fs::read(dir.join("float.bin")).ok()
                    == std::fs::read(case.outputs.join("float.bin")).ok(),
                "{name} ({kind}): float.bin"
            );
        }
    }
}

#[test]
fn the_legacy_kernel_integration_is_at_most_30_lines() {
    let text = std::fs::read_to_string(manifest().join("c_ref/nb_legacy.c")).expect("source");
    let (mut inside, mut lines, mut regions) = (false, 0, 0);
    for l in text.lines() {
        let t = l.trim();
        if t.starts_with("/* ---- end nanobragg kernel") {
            assert!(inside);
            inside = false;
        } else if t.starts_with("/* ---- nanobragg kernel") {
            assert!(!inside);
            inside = true;
            regions += 1;
        } else if inside && !t.is_empty() {
            lines += 1;
        }
    }
    assert!(!inside && regions == 2, "markers");
    assert!(lines <= 30, "the kernel integration has {lines} lines");
    assert!(text.contains("nb_render_kernel(&p,") && text.contains("p.fhkl_rows ="));
}

#[test]
fn an_abi1_caller_still_works() {
    let build = Scratch::new("abi1");
    let program = build.join("nb_abi1_caller");
    compile_with(
        "nb_abi1_caller.c",
        &program,
        false,
        &["-std=c99"],
        &manifest().join("tests/data/abi1"),
    );
    for name in ["hkl_cubic", "mosaic", "roi"] {
        let case = golden_case(name);
        let dir = prepare(&case);
        let mut args = vec!["abi1.bin".to_string()];
        args.extend(case.args.iter().cloned());
        let r = run(&program, &args, dir.path());
        assert_eq!(r.code, 0, "{name}: {}", r.stdout);
        assert_eq!(r.stdout.trim(), "696 ok", "ABI-1 struct size");
        assert!(
            std::fs::read(dir.join("abi1.bin")).ok()
                == std::fs::read(case.outputs.join("float.bin")).ok(),
            "{name}: the ABI-1 caller's image differs from the reference's"
        );
    }
}

#[test]
fn the_legacy_driver_reproduces_the_references_printout() {
    let build = Scratch::new("legacy-ref-printout");
    let drivers = legacy_drivers(&build);
    let data = manifest().join("tests/data/reference_printout");
    let inputs = golden_case("cubic_default");
    for name in ["every_pixel", "interp_before_dump"] {
        let want = data.join(name);
        let args: Vec<String> = std::fs::read_to_string(want.join("args.txt"))
            .expect("args")
            .split_whitespace()
            .map(String::from)
            .collect();
        let gold = std::fs::read_to_string(want.join("stdout.txt")).expect("stdout");
        assert!(
            gold.contains(" : stol = "),
            "{name}: no dump in the reference's stdout"
        );
        for (kind, driver) in &drivers {
            let dir = prepare(&inputs);
            let r = run(driver, &args, dir.path());
            assert_eq!(r.code, 0, "{name} ({kind})");
            assert_eq!(
                comparable_stdout(&r.stdout),
                comparable_stdout(&gold),
                "{name} ({kind}): stdout"
            );
            assert!(
                std::fs::read(dir.join("float.bin")).ok()
                    == std::fs::read(want.join("float.bin")).ok(),
                "{name} ({kind}): float.bin"
            );
        }
    }
}
