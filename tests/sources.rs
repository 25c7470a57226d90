//! Source-file semantics (X Y Z weight λ per line), as the reference and its published spec
//! agree: the weight column is read but does not weight the sum (every source counts once,
//! through the division by the number of steps); the wavelength column is used per source.
//! Checked on both kernels.

mod common;

use common::{Scratch, expect_cli_error, read_f32};
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_nanoBragg");

const BASE: &str = "-lambda 0.9768 -default_F 100 -cell 100 100 100 90 90 90 -N 5 -distance 100 -detpixels 96 -pixel 0.1 -oversample 1 -nointerpolate -nonoise -nopgm -floatfile float.bin";

/// Run `args` in a scratch folder holding `files`; the float image and the stderr text.
fn render(files: &[(&str, &str)], args: &str) -> (Vec<f32>, String) {
    let dir = Scratch::new("src");
    for (name, text) in files {
        std::fs::write(dir.join(name), text).expect("write input");
    }
    let o = Command::new(BIN)
        .args(args.split_whitespace())
        .current_dir(dir.path())
        .output()
        .expect("run nanoBragg");
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(o.status.success(), "`{args}` failed: {err}");
    (read_f32(&dir.join("float.bin")), err)
}

fn bits(img: &[f32]) -> Vec<u32> {
    img.iter().map(|v| v.to_bits()).collect()
}

const PRECISIONS: [&str; 2] = ["-precision double", "-precision single"];

#[test]
fn weights_do_not_weight_the_sum() {
    let positions = ["-10.0 0.0 0.0", "-10.0 0.001 0.0"];
    let file = |w: [&str; 2]| {
        format!(
            "{} {} 0.9768e-10\n{} {} 0.9768e-10\n",
            positions[0], w[0], positions[1], w[1]
        )
    };
    for p in PRECISIONS {
        let args = format!("-sourcefile s.txt {BASE} {p}");
        let (weighted, _) = render(&[("s.txt", &file(["1.0", "0.2"]))], &args);
        let (equal, _) = render(&[("s.txt", &file(["1.0", "1.0"]))], &args);
        let (zero_neg, _) = render(&[("s.txt", &file(["0.0", "-1.0"]))], &args);
        let (large, _) = render(&[("s.txt", &file(["1e6", "3.5"]))], &args);
        assert!(weighted.iter().any(|&v| v > 0.0), "{p}: empty image");
        assert_eq!(
            bits(&weighted),
            bits(&equal),
            "{p}: weights 1.0/0.2 vs equal"
        );
        assert_eq!(bits(&zero_neg), bits(&equal), "{p}: zero/negative weights");
        assert_eq!(bits(&large), bits(&equal), "{p}: unequal large weights");
    }
}

#[test]
fn one_source_equals_no_source_file() {
    // the default source: 10 m up-beam of the sample (the beam runs along +x), weight 1, -lambda
    for p in PRECISIONS {
        let (none, _) = render(&[], &format!("{BASE} {p}"));
        for line in [
            "-10.0 0.0 0.0 1.0 0.9768e-10\n",
            "-10.0 0.0 0.0\n",
            "-10 0 0 7.5\n",
        ] {
            let (one, _) = render(
                &[("one.txt", line)],
                &format!("-sourcefile one.txt {BASE} {p}"),
            );
            assert_eq!(bits(&one), bits(&none), "{p}: source line {line:?}");
        }
    }
}

#[test]
fn the_wavelength_column_is_used_per_source() {
    for p in PRECISIONS {
        let args = format!("-sourcefile s.txt {BASE} {p}");
        let (given, _) = render(&[("s.txt", "-10 0 0 1 1.05e-10\n")], &args);
        let (default, _) = render(&[("s.txt", "-10 0 0 1\n")], &args);
        // the same as asking for that wavelength on the command line
        let (cli, _) = render(&[], &format!("{} {p}", BASE.replace("0.9768", "1.05")));
        assert_ne!(bits(&given), bits(&default), "{p}: λ column ignored");
        assert_eq!(
            bits(&given),
            bits(&cli),
            "{p}: λ column differs from -lambda"
        );
    }
}

#[test]
fn divergence_options_beside_a_source_file_are_named_in_one_warning() {
    let args = format!("-sourcefile s.txt -hdivrange 0.5 -dispersion 0.1 -divsteps 3 {BASE}");
    let (img, err) = render(&[("s.txt", "-10 0 0 1 0.9768e-10\n")], &args);
    let warn: Vec<&str> = err.lines().filter(|l| l.contains("ignored")).collect();
    assert_eq!(warn.len(), 1, "{err}");
    for opt in ["-hdivrange", "-dispersion", "-divsteps"] {
        assert!(warn[0].contains(opt), "{opt} not named: {}", warn[0]);
    }
    // and the image is the one without those options
    let (plain, _) = render(
        &[("s.txt", "-10 0 0 1 0.9768e-10\n")],
        &format!("-sourcefile s.txt {BASE}"),
    );
    assert_eq!(bits(&img), bits(&plain));
}

#[test]
fn a_non_numeric_weight_is_an_error_naming_the_line() {
    let dir = Scratch::new("srcbad");
    std::fs::write(
        dir.join("s.txt"),
        "-10 0 0 1 1e-10\n-10 0.001 0 heavy 1e-10\n",
    )
    .unwrap();
    expect_cli_error(
        BIN,
        dir.path(),
        format!("-sourcefile s.txt {BASE}").split_whitespace(),
        &["s.txt, line 2", "weight 'heavy'"],
    );
}
