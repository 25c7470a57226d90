//! Golden parity through the `nanoBragg` binary: every reference command line, run in a folder
//! holding the reference's input files, must reproduce the reference's outputs.
//!
//! * float images (`-precision double`): bit-identical, or at worst ≤ 1 float32 ulp on ≥ 99.9 %
//!   of pixels with correlation ≥ 0.999999 (the bar); a per-case table is printed;
//! * SMV int and noise images, PGM files, Fdump.bin: byte-identical;
//! * stdout: the reference's lines (except its banner and the `mmap` pointer line);
//! * the same images with 1 and 2 rayon threads.

mod common;

use common::{Case, prepare, read_f32};
use nanobragg::metrics::compare;
use std::path::Path;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_nanoBragg");

struct Run {
    stdout: String,
    stderr: String,
    code: i32,
}

fn run(dir: &Path, args: &[String], threads: usize) -> Run {
    let o = Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .env("RAYON_NUM_THREADS", threads.to_string())
        .output()
        .expect("run nanoBragg");
    Run {
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        code: o.status.code().unwrap_or(-1),
    }
}

fn comparable_stdout(s: &str) -> Vec<String> {
    s.split('\n')
        .filter(|l| {
            !l.starts_with("nanoBragg nanocrystal")
                && !l.starts_with("nanobragg ")
                && !l.starts_with("mmap(")
        })
        .map(String::from)
        .collect()
}

/// Run one case; return a table row and the failures found.
fn check_case(
    case: &Case,
    prefix: &[&str],
    reference: &Path,
    failures: &mut Vec<String>,
) -> String {
    let dir = prepare(case);
    let args = common::with_prefix(prefix, &case.args);
    let r = run(dir.path(), &args, 2);
    if r.code != 0 {
        failures.push(format!("{}: exit {} {}", case.name, r.code, r.stderr));
        return format!("{:<28} FAILED TO RUN", case.name);
    }
    let img = read_f32(&dir.join("float.bin"));
    let gold = read_f32(&reference.join("float.bin"));
    let m = compare(&img, &gold);
    let ok = m.identical_fraction == 1.0
        || (m.within_1ulp_fraction >= 0.999 && m.max_ulp <= 1_000_000 && m.correlation >= 0.999999);
    if !ok {
        failures.push(format!(
            "{} {}: float image identical {:.6}, within 1 ulp {:.6}, correlation {:.9}",
            case.name,
            prefix.join(" "),
            m.identical_fraction,
            m.within_1ulp_fraction,
            m.correlation
        ));
    }
    // byte-identical auxiliary files (reference outputs only, not the corrected images)
    if prefix.iter().all(|p| *p != "-fix_quirks") {
        for f in ["int.img", "noise.img", "image.pgm", "Fdump.bin"] {
            let want = reference.join(f);
            if want.exists() {
                let got = std::fs::read(dir.join(f)).unwrap_or_default();
                if got != std::fs::read(&want).expect("golden file") {
                    failures.push(format!("{}: {f} differs from the reference's", case.name));
                }
            }
        }
        let want = reference.join("stdout.txt");
        if want.exists() {
            let w = comparable_stdout(&std::fs::read_to_string(&want).expect("stdout.txt"));
            let g = comparable_stdout(&r.stdout);
            if w != g {
                let first = w
                    .iter()
                    .zip(&g)
                    .position(|(a, b)| a != b)
                    .unwrap_or(w.len().min(g.len()));
                failures.push(format!(
                    "{}: stdout line {} differs:\n  want: {:?}\n  got:  {:?}",
                    case.name,
                    first + 1,
                    w.get(first),
                    g.get(first)
                ));
            }
        }
    }
    // the same image with one thread
    let r1 = run(dir.path(), &args, 1);
    if r1.code != 0 || read_f32(&dir.join("float.bin")) != img {
        failures.push(format!(
            "{}: image differs between 1 and 2 threads",
            case.name
        ));
    }
    format!(
        "{:<28} {:<11} identical {:>9.6}  within-1ulp {:>9.6}  max_ulp {:>4}  corr {:.9}",
        case.name,
        prefix
            .iter()
            .filter(|p| p.starts_with("-fix"))
            .cloned()
            .collect::<Vec<_>>()
            .join(" "),
        m.identical_fraction,
        m.within_1ulp_fraction,
        m.max_ulp,
        m.correlation
    )
}

#[test]
fn golden_cases_reproduce_the_reference() {
    let mut failures = Vec::new();
    let mut table = vec![
        "case                         mode        float image vs reference (-precision double)"
            .to_string(),
    ];
    for case in common::all_cases() {
        table.push(check_case(
            &case,
            &["-precision", "double"],
            &case.outputs,
            &mut failures,
        ));
        if let Some(c) = &case.corrected {
            table.push(check_case(
                &case,
                &["-precision", "double", "-fix_quirks"],
                c,
                &mut failures,
            ));
        }
    }
    println!("{}", table.join("\n"));
    assert!(
        failures.is_empty(),
        "golden mismatches:\n{}",
        failures.join("\n")
    );
}

#[test]
fn fdump_written_by_us_is_read_back_identically() {
    let case = common::cases()
        .into_iter()
        .find(|c| c.name == "hkl_cubic")
        .expect("hkl_cubic");
    let dir = prepare(&case);
    let args = common::with_prefix(&["-precision", "double"], &case.args);
    assert_eq!(run(dir.path(), &args, 2).code, 0);
    let first = read_f32(&dir.join("float.bin"));
    let dump = std::fs::read(dir.join("Fdump.bin")).expect("Fdump.bin written");
    assert_eq!(
        dump,
        std::fs::read(case.outputs.join("Fdump.bin")).expect("golden Fdump")
    );
    // same command without -hkl: structure factors come from our Fdump.bin
    let no_hkl: Vec<String> = args
        .iter()
        .enumerate()
        .filter(|(i, a)| *a != "-hkl" && !(i > &0 && args[i - 1] == "-hkl"))
        .map(|(_, a)| a.clone())
        .collect();
    std::fs::remove_file(dir.join("float.bin")).expect("rm");
    let r = run(dir.path(), &no_hkl, 2);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("reading Fs from Fdump.bin"));
    assert_eq!(read_f32(&dir.join("float.bin")), first);
}

#[test]
fn default_output_files_are_written_like_the_reference() {
    let case = common::cases()
        .into_iter()
        .find(|c| c.name == "cubic_default")
        .expect("case");
    let dir = prepare(&case);
    let mut args: Vec<String> = case
        .args
        .iter()
        .filter(|a| !["-nonoise", "-nopgm"].contains(&a.as_str()))
        .cloned()
        .collect();
    args.splice(0..0, ["-seed".to_string(), "7".to_string()]);
    let r = run(dir.path(), &args, 2);
    assert_eq!(r.code, 0, "{}", r.stderr);
    for f in ["float.bin", "intimage.img", "image.pgm", "noiseimage.img"] {
        assert!(dir.join(f).exists(), "{f} not written");
    }
    // a given seed gives the identical noise file
    let noise = std::fs::read(dir.join("noiseimage.img")).expect("noise");
    std::fs::remove_file(dir.join("noiseimage.img")).expect("rm");
    assert_eq!(run(dir.path(), &args, 1).code, 0);
    assert_eq!(
        std::fs::read(dir.join("noiseimage.img")).expect("noise"),
        noise
    );
    // -nonoise -nopgm: only the float and int files
    let dir2 = prepare(&case);
    let r = run(dir2.path(), &case.args, 2);
    assert_eq!(r.code, 0);
    assert!(dir2.join("intimage.img").exists());
    assert!(!dir2.join("image.pgm").exists() && !dir2.join("noiseimage.img").exists());
}
