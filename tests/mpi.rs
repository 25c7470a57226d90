//! Real MPI (cargo feature `mpi`): `mpirun -np 3` over the program.
//!
//! * A series shared by three MPI ranks writes the same files as one process, and rank 0
//!   gathers the manifest and prints the totals.
//! * One image split across three ranks (rows in three blocks) is the one-process image, bit
//!   for bit, with every output file and the printed log, in both precisions, including a case
//!   whose interpolation switch-off changes the serial state in the middle of the image (the
//!   blocks after it are rendered again by rank 0).
//!
//! Needs Open MPI's `mpirun` (.ci/run installs it); run with
//! `cargo test --release --features mpi --test mpi`.
#![cfg(feature = "mpi")]

mod common;

use common::{Case, Scratch, listing, prepare};
use std::path::Path;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_nanoBragg");

fn words(s: &str) -> Vec<String> {
    s.split_whitespace().map(String::from).collect()
}

fn ok(o: Output, what: &str) -> Output {
    assert!(
        o.status.success(),
        "{what}: {}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

/// `mpirun -np n nanoBragg args` in `dir`, one thread per rank.
fn mpirun(dir: &Path, n: usize, args: &[String]) -> Output {
    let o = Command::new("mpirun")
        .args([
            "--allow-run-as-root",
            "--oversubscribe",
            "-np",
            &n.to_string(),
        ])
        .args(["-x", "RAYON_NUM_THREADS=1", BIN])
        .args(args)
        .current_dir(dir)
        // containers often forbid the cross-memory attach Open MPI's shared memory uses
        .env("OMPI_MCA_btl_vader_single_copy_mechanism", "none")
        .env("OMPI_MCA_btl_sm_single_copy_mechanism", "none")
        .output()
        .expect("run mpirun (Open MPI)");
    ok(o, &format!("mpirun -np {n} {args:?}"))
}

fn plain(dir: &Path, args: &[String]) -> Output {
    let o = Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .env("RAYON_NUM_THREADS", "2")
        .output()
        .expect("run nanoBragg");
    ok(o, &format!("{args:?}"))
}

/// Names and contents of the files of a folder (manifests left out).
fn files(dir: &Path, skip: &[String]) -> Vec<(String, Vec<u8>)> {
    listing(dir)
        .into_iter()
        .filter(|f| !f.ends_with(".jsonl") && !skip.contains(f))
        .map(|f| {
            let b = std::fs::read(dir.join(&f)).unwrap();
            (f, b)
        })
        .collect()
}

#[test]
fn a_series_over_three_mpi_ranks_writes_the_one_process_files() {
    let args = words(
        "-cell 90 90 90 90 90 90 -default_F 60 -N 4 -detpixels 32 -pixel 0.3 -distance 70 -osc 0.4 -misset_seed 3 -misset random -seed 8 -images 7 -floatfile img_%03d.bin -intfile img_%03d.img -noisefile noise_%03d.img -nopgm",
    );
    let one = Scratch::new("one");
    plain(one.path(), &args);
    let three = Scratch::new("three");
    let o = mpirun(three.path(), 3, &args);
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(files(three.path(), &[]), files(one.path(), &[]));
    assert!(
        out.contains("series (MPI, 3 ranks): 7 images rendered, 0 skipped"),
        "{out}"
    );
    assert!(out.contains("lists 7 of 7 images"), "{out}");
    let merged = nanobragg::series::manifest::read(three.join("series.jsonl").to_str().unwrap())
        .unwrap()
        .entries;
    let ranks: Vec<u64> = merged.iter().map(|e| e.rank).collect();
    assert_eq!(ranks, [0, 1, 2, 0, 1, 2, 0]);
    // run again: every image is complete and skipped
    let o = mpirun(three.path(), 3, &args);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("0 images rendered, 7 skipped"), "{out}");
}

/// The printed log without the `mmap(...)` line of `-mask`/`-img` (an address).
fn log(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .filter(|l| !l.starts_with("mmap("))
        .collect::<Vec<_>>()
        .join("\n")
}

fn split_equals_one_process(case: &Case, precision: &str) {
    let mut args = case.args.clone();
    args.extend(words(&format!("-precision {precision} -intfile int.img")));
    let one = prepare(case);
    let inputs = listing(one.path());
    let single = plain(one.path(), &args);
    let split = prepare(case);
    let mpi = mpirun(split.path(), 3, &args);
    let a = files(one.path(), &inputs);
    assert!(a.iter().any(|(f, _)| f == "float.bin"));
    assert_eq!(files(split.path(), &inputs), a, "{} {precision}", case.name);
    assert_eq!(
        log(&mpi),
        log(&single),
        "{} {precision}: printed log",
        case.name
    );
}

#[test]
fn one_image_split_over_three_mpi_ranks_is_the_one_process_image() {
    let cases = common::cases();
    for name in [
        "interp_fallback",
        "phi_osc",
        "mosaic",
        "noise_seed",
        "roi",
        "mask",
    ] {
        let Some(case) = cases.iter().find(|c| c.name == name) else {
            continue;
        };
        for precision in ["double", "single"] {
            split_equals_one_process(case, precision);
        }
    }
    // a case made here: spindle steps through φ = 0, mosaic domains, three sources
    let mine = Case {
        name: "made".into(),
        args: words(
            "-cell 70 80 90 75 85 95 -default_F 100 -N 5 -detpixels 61 -pixel 0.2 -distance 60 -phi -0.5 -osc 1 -phisteps 3 -mosaic 0.5 -mosaic_dom 4 -divergence 0.2 -divsteps 3 -seed 4 -floatfile float.bin -noisefile noise.img -pgmfile image.pgm",
        ),
        setup: Vec::new(),
        outputs: std::path::PathBuf::new(),
        corrected: None,
    };
    for precision in ["double", "single"] {
        split_equals_one_process(&mine, precision);
    }
}
