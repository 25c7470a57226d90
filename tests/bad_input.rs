//! Every class of bad input, through both front ends: the command line and the C entry that
//! takes an argument vector (`nb_sim_create`). Each case must give a clear error naming the
//! problem (one line on stderr and exit status 9; a non-OK status and `nb_last_error` for the C
//! API), no panic, no handle, and leave an existing output file untouched.
//!
//! Classes: missing files, empty files, NaN/inf values (options and files), values out of
//! range, negative counts, absurd sizes, a zero wavelength in a source file, a left-handed
//! matrix, non-UTF-8 arguments, tokens of any length (messages stay one short line).

mod common;

use common::{Scratch, expect_cli_error, listing};
use nanobragg::ffi::{nb_last_error, nb_sim, nb_sim_create, nb_status};
use std::ffi::{CStr, CString, OsStr, c_char};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

const BIN: &str = env!("CARGO_BIN_EXE_nanoBragg");
const BASE: &str = "-cell 100 100 100 90 90 90 -N 3 -detpixels 16 -pixel 0.4 -nonoise -nopgm";
const PRECIOUS: &[u8] = b"an earlier run's image";

struct Case {
    class: &'static str,
    /// Arguments after BASE; `@` stands for the case's folder.
    args: &'static str,
    files: &'static [(&'static str, &'static [u8])],
    /// Words the error must contain.
    words: &'static [&'static str],
}

const CASES: &[Case] = &[
    Case {
        class: "missing file",
        args: "-hkl @/missing.hkl",
        files: &[],
        words: &["missing.hkl", "cannot read"],
    },
    Case {
        class: "missing file",
        args: "-default_F 1 -mat @/missing.mat",
        files: &[],
        words: &["missing.mat", "cannot read"],
    },
    Case {
        class: "empty file",
        args: "-hkl @/empty.hkl",
        files: &[("empty.hkl", b"")],
        words: &["empty.hkl", "no reflections"],
    },
    Case {
        class: "empty file",
        args: "-default_F 1 -mat @/empty.mat",
        files: &[("empty.mat", b"")],
        words: &["empty.mat", "9 numbers"],
    },
    Case {
        class: "empty file",
        args: "-default_F 1 -sourcefile @/empty.txt",
        files: &[("empty.txt", b"")],
        words: &["empty.txt", "no sources"],
    },
    Case {
        class: "empty file",
        args: "-default_F 1 -img @/empty.img",
        files: &[("empty.img", b"")],
        words: &["empty.img", "SMV"],
    },
    Case {
        class: "empty file",
        args: "-dump @/Fdump.bin",
        files: &[("Fdump.bin", b"")],
        words: &["Fdump.bin", "not a valid Fdump file"],
    },
    Case {
        class: "NaN/inf value",
        args: "-default_F 1 -distance nan",
        files: &[],
        words: &["-distance", "not finite"],
    },
    Case {
        class: "NaN/inf value",
        args: "-default_F 1 -lambda inf",
        files: &[],
        words: &["-lambda", "not finite"],
    },
    Case {
        class: "NaN/inf value",
        args: "-hkl @/nan.hkl",
        files: &[("nan.hkl", b"1 2 3 4\n1 2 4 nan\n")],
        words: &["nan.hkl, line 2", "not a finite number"],
    },
    Case {
        class: "NaN/inf value",
        args: "-default_F 1 -mat @/inf.mat",
        files: &[("inf.mat", b"1 0 0\n0 inf 0\n0 0 1\n")],
        words: &["inf.mat, line 2", "'inf'"],
    },
    Case {
        class: "negative count",
        args: "-default_F 1 -N -3",
        files: &[],
        words: &["-N", "cannot be negative"],
    },
    Case {
        class: "negative count",
        args: "-default_F 1 -Nb -1",
        files: &[],
        words: &["-Nb", "cannot be negative"],
    },
    Case {
        class: "negative count",
        args: "-default_F 1 -detpixels -5",
        files: &[],
        words: &["-detpixels", "must be positive"],
    },
    Case {
        class: "absurd size",
        args: "-default_F 1 -detpixels 200000",
        files: &[],
        words: &["too large", "240 GB"],
    },
    Case {
        class: "absurd size",
        args: "-default_F 1 -mosaic 1 -mosaic_dom 1000000000",
        files: &[],
        words: &["1000000000 mosaic domains", "648 GB", "more than"],
    },
    Case {
        class: "absurd size",
        args: "-default_F 1 -phisteps 1000000000",
        files: &[],
        words: &["1000000000 phi steps", "more than"],
    },
    Case {
        class: "absurd size",
        args: "-default_F 1 -divergence 1 -divsteps 100000",
        files: &[],
        words: &["10000000000 sources", "more than"],
    },
    Case {
        class: "absurd size",
        args: "-default_F 1 -detector_thick 0.1 -thicksteps 1000000000",
        files: &[],
        words: &["1000000000 sensor layers", "more than"],
    },
    Case {
        class: "absurd size",
        args: "-default_F 1 -oversample 100000",
        files: &[],
        words: &["sub-pixel tables of -oversample 100000", "more than"],
    },
    Case {
        class: "NaN or inf value",
        args: "-default_F 1 -osc nan",
        files: &[],
        words: &["-osc", "'nan' is not finite"],
    },
    Case {
        class: "NaN or inf value",
        args: "-default_F 1 -polar nan",
        files: &[],
        words: &["-polar", "not finite"],
    },
    Case {
        class: "NaN or inf value",
        args: "-default_F 1 -dispersion nan",
        files: &[],
        words: &["-dispersion", "not finite"],
    },
    Case {
        class: "NaN or inf value",
        args: "-default_F 1 -adc nan",
        files: &[],
        words: &["-adc", "not finite"],
    },
    Case {
        class: "NaN or inf value",
        args: "-default_F 1 -scale nan",
        files: &[],
        words: &["-scale", "not finite"],
    },
    Case {
        class: "NaN or inf value",
        args: "-default_F 1 -pgmscale nan",
        files: &[],
        words: &["-pgmscale", "not finite"],
    },
    Case {
        class: "NaN or inf value",
        args: "-default_F 1 -Xbeam inf",
        files: &[],
        words: &["-Xbeam", "not finite"],
    },
    Case {
        class: "NaN or inf value",
        args: "-default_F 1 -twotheta nan",
        files: &[],
        words: &["-twotheta", "not finite"],
    },
    Case {
        class: "NaN or inf value",
        args: "-default_F 1 -misset nan 0 0",
        files: &[],
        words: &["-misset", "not finite"],
    },
    Case {
        class: "NaN or inf value",
        args: "-dump @/F.bin",
        // an Fdump file for h = k = l = 0 whose first structure factor is NaN
        files: &[(
            "F.bin",
            b"0 0 0 0 0 0\n\x0c\0\0\0\0\0\0\xf8\x7f\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0",
        )],
        words: &["F.bin", "0 0 0", "is nan", "damaged"],
    },
    Case {
        class: "out of range",
        args: "-default_F 1 -distance 1e300",
        files: &[],
        words: &["-distance 1e+300 mm", "out of range"],
    },
    Case {
        class: "out of range",
        args: "-default_F 1 -lambda 1e-300",
        files: &[],
        words: &["-lambda", "1e-300 A is out of range"],
    },
    Case {
        class: "out of range",
        args: "-default_F 1 -pixel 1e300",
        files: &[],
        words: &["-pixel", "out of range"],
    },
    Case {
        class: "out of range",
        args: "-default_F 1 -Xbeam 1e308",
        files: &[],
        words: &["-Xbeam", "out of range"],
    },
    Case {
        class: "out of range",
        args: "-default_F 1e308",
        files: &[],
        words: &["-default_F", "out of range"],
    },
    Case {
        class: "out of range",
        args: "-default_F 1 -twotheta 1e308",
        files: &[],
        words: &["-twotheta", "out of range"],
    },
    Case {
        class: "out of range",
        args: "-hkl @/big.hkl",
        files: &[("big.hkl", b"0 0 0 1\n1 0 0 1e308\n")],
        words: &["big.hkl, line 2", "out of range"],
    },
    Case {
        class: "out of range",
        args: "-default_F 1 -N 2000000",
        files: &[],
        words: &["2e+06 unit cells along a", "-N"],
    },
    Case {
        class: "out of range",
        args: "-default_F 1 -xtalsize 100",
        files: &[],
        words: &["unit cells along a", "-xtalsize"],
    },
    Case {
        class: "out of range",
        args: "-default_F 1 -N 100000",
        files: &[],
        words: &["-oversample", "chosen automatically from the crystal size"],
    },
    Case {
        class: "zero wavelength in a source file",
        args: "-default_F 1 -sourcefile @/src.txt",
        files: &[("src.txt", b"-10 0 0 1 0\n")],
        words: &["src.txt, line 1", "lambda 0 is not a positive wavelength"],
    },
    Case {
        class: "zero wavelength in a source file",
        args: "-default_F 1 -sourcefile @/src.txt",
        // nanoBragg.c reads the missing columns of an unterminated last line as 0
        files: &[("src.txt", b"-10 0 0 1")],
        words: &["src.txt", "no newline", "-allow_nonfinite"],
    },
];

fn args_of(case: &Case, dir: &Path) -> Vec<Vec<u8>> {
    let at = dir.to_str().expect("UTF-8 temp path");
    format!("{BASE} {} -floatfile @/float.bin", case.args)
        .split_whitespace()
        .map(|w| w.replace('@', at).into_bytes())
        .collect()
}

fn prepare(case: &Case) -> Scratch {
    let dir = Scratch::new("bad");
    for (name, bytes) in case.files {
        std::fs::write(dir.join(name), bytes).expect("write input");
    }
    std::fs::write(dir.join("float.bin"), PRECIOUS).expect("write earlier output");
    dir
}

/// The command line: exit 9, one error line with the words, nothing written.
fn check_cli(what: &str, dir: &Path, args: &[Vec<u8>], words: &[&str]) {
    expect_cli_error(BIN, dir, args.iter().map(|a| OsStr::from_bytes(a)), words);
    assert_eq!(
        std::fs::read(dir.join("float.bin")).expect("float.bin"),
        PRECIOUS,
        "{what}: earlier output damaged"
    );
}

/// The C API: a non-OK status, the words in nb_last_error, no handle, nothing written.
fn check_c(what: &str, dir: &Path, args: &[Vec<u8>], words: &[&str]) {
    let before = listing(dir);
    let owned: Vec<CString> = std::iter::once(b"nanoBragg".to_vec())
        .chain(args.iter().cloned())
        .map(|a| CString::new(a).expect("no NUL"))
        .collect();
    let argv: Vec<*const c_char> = owned.iter().map(|c| c.as_ptr()).collect();
    let mut sim: *mut nb_sim = std::ptr::null_mut();
    // SAFETY: argv holds argc valid strings that outlive the call; sim is a valid out pointer.
    let status = unsafe { nb_sim_create(argv.len() as i32, argv.as_ptr(), &mut sim) };
    // SAFETY: nb_last_error returns a valid NUL-terminated string.
    let msg = unsafe { CStr::from_ptr(nb_last_error()) }
        .to_string_lossy()
        .into_owned();
    assert_ne!(status, nb_status::NB_OK, "{what}");
    assert!(sim.is_null(), "{what}: a handle on failure");
    for w in words {
        assert!(msg.contains(w), "{what}: {msg:?} lacks {w:?}");
    }
    assert_eq!(listing(dir), before, "{what}: files created or removed");
    assert_eq!(
        std::fs::read(dir.join("float.bin")).expect("float.bin"),
        PRECIOUS,
        "{what}: earlier output damaged"
    );
}

#[test]
fn every_bad_input_class_fails_cleanly_in_the_cli_and_the_c_api() {
    let mut classes = std::collections::BTreeSet::new();
    for case in CASES {
        let dir = prepare(case);
        let args = args_of(case, dir.path());
        let what = format!("{} ({})", case.class, case.args);
        check_cli(&what, dir.path(), &args, case.words);
        check_c(&what, dir.path(), &args, case.words);
        classes.insert(case.class);
    }
    assert_eq!(classes.len(), 8, "{classes:?}");
}

#[test]
fn non_utf8_arguments_fail_cleanly_in_the_cli_and_the_c_api() {
    let case = Case {
        class: "non-UTF-8 path",
        args: "-default_F 1",
        files: &[],
        words: &[],
    };
    let dir = prepare(&case);
    let mut args = args_of(&case, dir.path());
    args.push(b"-hkl".to_vec());
    args.push(b"in\xffput.hkl".to_vec());
    // the message names the argument by its position (argv[0] being the program)
    let position = format!("argument {} (", args.len());
    check_cli(
        "non-UTF-8 path",
        dir.path(),
        &args,
        &[&position, "not valid UTF-8"],
    );
    check_c("non-UTF-8 path", dir.path(), &args, &["not UTF-8"]);
}

#[test]
fn a_huge_token_gives_a_short_one_line_message() {
    let case = Case {
        class: "overlong token",
        args: "-default_F 1",
        files: &[],
        words: &[],
    };
    let dir = prepare(&case);
    let mut args = args_of(&case, dir.path());
    let token = format!("1{}x", "0".repeat(100_000));
    args.push(b"-distance".to_vec());
    args.push(token.clone().into_bytes());
    let words = ["-distance", "(100002 characters)"];
    check_cli("overlong token", dir.path(), &args, &words);
    check_c("overlong token", dir.path(), &args, &words);
    let o = std::process::Command::new(BIN)
        .args(args.iter().map(|a| OsStr::from_bytes(a)))
        .current_dir(dir.path())
        .output()
        .expect("run");
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.len() < 300, "{} bytes", err.len());
    // a bad HKL line is cut too, and a control character in a name cannot break the line
    std::fs::write(dir.join("long.hkl"), format!("1 2 3 {token}\n")).unwrap();
    let mut args = args_of(&case, dir.path());
    args.push(b"-hkl".to_vec());
    args.push(dir.join("long.hkl").into_os_string().into_encoded_bytes());
    check_cli(
        "overlong HKL token",
        dir.path(),
        &args,
        &["line 1", "(100002 characters)"],
    );
    let mut args = args_of(&case, dir.path());
    args.push(b"-hkl".to_vec());
    args.push(b"no\nsuch.hkl".to_vec());
    check_cli("newline in a name", dir.path(), &args, &["no\\nsuch.hkl"]);
}

#[test]
fn a_left_handed_matrix_is_named() {
    let dir = Scratch::new("left");
    std::fs::write(dir.join("float.bin"), PRECIOUS).unwrap();
    std::fs::write(dir.join("left.mat"), "-0.01 0 0\n0 0.01 0\n0 0 0.01\n").unwrap();
    let at = dir.path().to_str().expect("UTF-8 temp path");
    // without -cell, which would take precedence over the matrix
    let args: Vec<Vec<u8>> = format!(
        "-mat {at}/left.mat -default_F 1 -N 3 -detpixels 16 -nonoise -nopgm -floatfile {at}/float.bin"
    )
    .split_whitespace()
    .map(|w| w.as_bytes().to_vec())
    .collect();
    let words = ["left.mat", "left-handed"];
    check_cli("left-handed matrix", dir.path(), &args, &words);
    check_c("left-handed matrix", dir.path(), &args, &words);
}
