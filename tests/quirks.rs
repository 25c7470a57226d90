//! Reference quirks: kept by default with one warning each, corrected by `-fix_quirks`
//! (README, "Differences from nanoBragg.c with -fix_quirks").

mod common;

use nanobragg::Simulation;
use nanobragg::kernel::Silent;
use nanobragg::metrics::compare;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_nanoBragg");
const BASE: &str = "-precision double -default_F 100 -cell 100 100 100 90 90 90 -lambda 1 -N 5 -distance 100 -detpixels 48 -pixel 0.2 -oversample 1 -nonoise -nopgm";

fn args(s: &str) -> Vec<String> {
    s.split_whitespace().map(String::from).collect()
}

fn image(line: &str) -> Vec<f32> {
    let sim = Simulation::from_args_with_time_seed(&args(line), -1).expect("setup");
    sim.render(&mut Silent).expect("render").image
}

fn warnings(line: &str) -> Vec<String> {
    Simulation::from_args_with_time_seed(&args(line), -1)
        .expect("setup")
        .warnings()
        .to_vec()
}

fn one_warning_about(line: &str, word: &str) {
    let w = warnings(line);
    let hits: Vec<&String> = w.iter().filter(|m| m.contains(word)).collect();
    assert_eq!(
        hits.len(),
        1,
        "{line}: expected one warning about {word}, got {w:?}"
    );
    assert!(
        hits[0].contains("-fix_quirks") || hits[0].contains("-fix_cell"),
        "{}",
        hits[0]
    );
    let fixed = warnings(&format!("-fix_quirks -fix_cell {line}"));
    assert!(
        fixed.iter().all(|m| !m.contains(word)),
        "{line}: warning despite -fix_quirks: {fixed:?}"
    );
}

#[test]
fn plain_runs_have_no_warnings() {
    assert!(warnings(BASE).is_empty());
    assert!(warnings(&format!("{BASE} -phi 10 -osc 2 -phisteps 2")).is_empty());
}

#[test]
fn phi_zero_uses_the_unrotated_cell_with_fix_quirks() {
    let line = format!("{BASE} -phi 0 -osc 2 -phisteps 2");
    one_warning_about(&line, "phi = 0");
    // reference: every phi = 0 step after the first reuses the phi = 1° orientation, so the
    // image equals the pure phi = 1° image except in pixel 0
    let quirk = image(&line);
    let one_deg = image(&format!("{BASE} -phi 1 -phisteps 1"));
    let differ = quirk.iter().zip(&one_deg).filter(|(a, b)| a != b).count();
    assert_eq!(differ, 1);
    assert_ne!(quirk[0], one_deg[0]);
    // corrected: the mean of the phi = 0 and phi = 1° images (steps = 2 in both)
    let fixed = image(&format!("-fix_quirks {line}"));
    let zero = image(&format!("{BASE} -phi 0 -phisteps 1"));
    for i in 0..fixed.len() {
        let mean = (zero[i] as f64 + one_deg[i] as f64) / 2.0;
        assert!(
            (fixed[i] as f64 - mean).abs() <= 1e-6 * mean.abs() + 1e-30,
            "pixel {i}"
        );
    }
}

#[test]
fn misset_seed_collision() {
    let line = format!("{BASE} -misset random -misset_seed 777 -lambda 1.0");
    one_warning_about(&line, "misset angles");
    let quirk = image(&line);
    let angles = image(&format!("{BASE} -misset 777 0 1"));
    assert_eq!(quirk, angles);
    let fixed = image(&format!("-fix_quirks {line}"));
    assert_ne!(fixed, angles);
    // -fix_quirks: a genuine random orientation from seed 777, the same as with the seed last
    assert_eq!(
        fixed,
        image(&format!("{BASE} -misset random -misset_seed 777"))
    );
}

#[test]
fn pivot_is_honoured_with_fix_quirks() {
    let line = format!("{BASE} -pivot sample -twotheta 10 -Xclose 4 -Yclose 5");
    one_warning_about(&line, "-pivot");
    let sim = Simulation::from_args_with_time_seed(&args(&line), -1).unwrap();
    assert!(
        sim.transcript()
            .iter()
            .any(|l| l == "pivoting detector around direct beam spot")
    );
    let sim =
        Simulation::from_args_with_time_seed(&args(&format!("-fix_quirks {line}")), -1).unwrap();
    assert!(
        sim.transcript()
            .iter()
            .any(|l| l == "pivoting detector around sample")
    );
    // sample pivot keeps the near point: the close distance stays 100 mm after the swing
    assert!((sim.experiment().det.close_distance - 0.1).abs() < 1e-12);
}

#[test]
fn pix0_vector_is_honoured_with_fix_quirks() {
    let line = format!("{BASE} -pix0_vector 0.1 0.004 -0.006");
    one_warning_about(&line, "-pix0_vector");
    let quirk = Simulation::from_args_with_time_seed(&args(&line), -1).unwrap();
    assert_ne!(quirk.plan().pix0, [0.1, 0.004, -0.006]);
    let fixed =
        Simulation::from_args_with_time_seed(&args(&format!("-fix_quirks {line}")), -1).unwrap();
    assert_eq!(fixed.plan().pix0, [0.1, 0.004, -0.006]);
    // the header/summary values follow the honoured origin: DIALS origin = 1000·pix0 components
    let d = fixed.experiment().det.dials_origin;
    assert!(
        (d[0] + 6.0).abs() < 1e-9 && (d[1] - 4.0).abs() < 1e-9 && (d[2] + 100.0).abs() < 1e-9,
        "{d:?}"
    );
}

#[test]
fn twotheta_axis_collision() {
    // the reference also reads the axis's first component as a 2θ angle (degrees)
    let line = format!("{BASE} -twotheta_axis 2 0 -1");
    one_warning_about(&line, "2theta");
    let sim = Simulation::from_args_with_time_seed(&args(&line), -1).unwrap();
    assert_eq!(sim.experiment().det.twotheta, 2.0 / nanobragg::options::RTD);
    let sim =
        Simulation::from_args_with_time_seed(&args(&format!("-fix_quirks {line}")), -1).unwrap();
    assert_eq!(sim.experiment().det.twotheta, 0.0);
    // a zero first component cannot be told apart: no warning
    assert!(warnings(&format!("{BASE} -twotheta_axis 0 0 -1")).is_empty());
}

#[test]
fn nopolar_wins_over_oversample_polar_with_fix_quirks() {
    let line = format!("{BASE} -nopolar -oversample_polar -polar 0.5 -nopolar");
    one_warning_about(&line, "-oversample_polar");
    let quirk = image(&line);
    let polarized = image(&format!("{BASE} -polar 0.5 -oversample_polar"));
    assert_eq!(quirk, polarized);
    let fixed = image(&format!("-fix_quirks {line}"));
    assert_eq!(fixed, image(&format!("{BASE} -nopolar")));
}

#[test]
fn curved_det_as_last_argument() {
    let line = format!("{BASE} -curved_det");
    one_warning_about(&line, "-curved_det");
    assert_eq!(image(&line), image(BASE));
    assert_eq!(
        image(&format!("-fix_quirks {line}")),
        image(&format!("{BASE} -curved_det -nopgm"))
    );
}

#[test]
fn interpolation_fallback_is_order_dependent_only_in_the_reference() {
    // a sparse grid and a wide angle: some evaluations leave the grid early in the image
    let dir = common::Scratch::new("interp");
    let mut hkl = String::new();
    for h in -4..=4 {
        for k in -4..=4 {
            for l in -4..=4 {
                hkl.push_str(&format!(
                    "{h} {k} {l} {}\n",
                    10 + ((h * 7 + k * 3 + l) & 15)
                ));
            }
        }
    }
    std::fs::write(dir.join("t.hkl"), hkl).unwrap();
    let line = "-precision double -hkl t.hkl -default_F 5 -cell 100 100 100 90 90 90 -lambda 1 -N 5 -interpolate -distance 60 -detpixels 40 -pixel 0.6 -oversample 1 -nonoise -nopgm";
    common::in_dir(dir.path(), || {
        let full = image(line);
        // the same pixels rendered as a region of interest that starts after the first
        // out-of-range evaluation: the reference's run-wide switch-off moves, values change
        let roi = " -roi 20 39 20 39";
        let part = image(&format!("{line}{roi}"));
        let n = 40;
        let region = |img: &[f32]| -> Vec<f32> {
            (20..40)
                .flat_map(|s| (20..40).map(move |f| (s, f)))
                .map(|(s, f)| img[s * n + f])
                .collect()
        };
        assert_ne!(
            region(&full),
            region(&part),
            "test needs an order-dependent case"
        );
        // corrected: each evaluation falls back on its own, so values do not depend on the region
        let full_fix = image(&format!("-fix_quirks {line}"));
        let part_fix = image(&format!("-fix_quirks {line}{roi}"));
        assert_eq!(region(&full_fix), region(&part_fix));
    });
}

#[test]
fn triclinic_cell_textbook_relations_with_fix_cell() {
    let line = "-precision double -default_F 100 -cell 70 80 90 75 85 95 -N 3 -detpixels 16 -nonoise -nopgm";
    one_warning_about(line, "c* z component");
    let sim =
        Simulation::from_args_with_time_seed(&args(&format!("-fix_cell {line}")), -1).unwrap();
    let a = sim.experiment().crystal.direct.angles;
    let rtd = nanobragg::options::RTD;
    assert!(
        (a[0] * rtd - 75.0).abs() < 1e-9
            && (a[1] * rtd - 85.0).abs() < 1e-9
            && (a[2] * rtd - 95.0).abs() < 1e-9
    );
}

#[test]
fn sourcefile_with_divergence_options_warns_once() {
    let dir = common::Scratch::new("src");
    std::fs::write(dir.join("s.txt"), "-10 0 0 1 1e-10\n").unwrap();
    let o = Command::new(BIN)
        .args(args(&format!(
            "{BASE} -sourcefile s.txt -divergence 1 -dispersion 0.5 -dispsteps 3"
        )))
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 1, "{err}");
    assert!(
        lines[0].contains("-divergence")
            && lines[0].contains("-dispersion")
            && lines[0].contains("-dispsteps")
    );
    // and the image is the reference's: the same as without those options
    let a = common::in_dir(dir.path(), || {
        image(&format!(
            "{BASE} -sourcefile s.txt -divergence 1 -dispersion 0.5 -dispsteps 3"
        ))
    });
    let b = common::in_dir(dir.path(), || image(&format!("{BASE} -sourcefile s.txt")));
    assert_eq!(compare(&a, &b).identical_fraction, 1.0);
}

#[test]
fn img_header_twotheta() {
    let dir = common::Scratch::new("tt");
    let mut h = b"{\nHEADER_BYTES=512;\nSIZE1=24;\nSIZE2=24;\nPIXEL_SIZE=0.4;\nDISTANCE=80;\nTWOTHETA=10;\n}".to_vec();
    h.resize(512, b' ');
    h.extend(std::iter::repeat_n(0u8, 24 * 24 * 2));
    std::fs::write(dir.join("h.img"), h).unwrap();
    let line = "-precision double -img h.img -default_F 100 -cell 100 100 100 90 90 90 -N 5 -nonoise -nopgm";
    common::in_dir(dir.path(), || {
        one_warning_about(line, "TWOTHETA");
        let fixed = image(&format!("-fix_quirks {line}"));
        let explicit = image(
            "-fix_quirks -precision double -default_F 100 -cell 100 100 100 90 90 90 -N 5 -detpixels 24 -pixel 0.4 -distance 80 -twotheta 10 -nonoise -nopgm",
        );
        assert_eq!(fixed, explicit);
        assert_ne!(fixed, image(line));
    });
}
