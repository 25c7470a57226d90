//! Image series through the `nanoBragg` binary and the library: every image of a series is
//! byte-identical in every output file to the single-image run of its options (the command
//! line followed by the manifest's `args`), in both precisions and with 1 and 2 threads; 1, 2
//! and 3 ranks (explicit and from a launcher's environment) give the same files; a killed
//! series resumes to the same files as an uninterrupted one; bad series input is a one-line
//! error before anything is rendered.

mod common;

use common::{Scratch, expect_cli_error, listing};
use nanobragg::series::manifest;
use std::path::Path;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_nanoBragg");

fn words(s: &str) -> Vec<String> {
    s.split_whitespace().map(String::from).collect()
}

fn run(dir: &Path, args: &[String], threads: usize, env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(BIN);
    c.args(args)
        .current_dir(dir)
        .env("RAYON_NUM_THREADS", threads.to_string());
    for (k, v) in env {
        c.env(k, v);
    }
    let o = c.output().expect("run nanoBragg");
    assert!(
        o.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

/// The entries of a series' manifest, by image.
fn entries(path: &Path) -> Vec<manifest::Entry> {
    let mut v = manifest::read(path.to_str().unwrap()).unwrap().entries;
    v.sort_by_key(|e| e.image);
    v
}

/// Every output file of every image of `dir`'s manifest is byte-identical to the single run
/// of `base` (series options removed) followed by the image's args, with its file names.
fn check_against_single_runs(dir: &Path, base: &str, threads: usize, first: &str) {
    let es = entries(&dir.join("series.jsonl"));
    assert!(!es.is_empty());
    for e in &es {
        let single = Scratch::new("single");
        for f in listing(dir)
            .iter()
            .filter(|f| f.ends_with(".hkl") || f.ends_with(".mat"))
        {
            std::fs::copy(dir.join(f), single.join(f)).unwrap();
        }
        let mut args = words(base);
        let names: Vec<String> = e
            .outputs
            .iter()
            .map(|o| {
                Path::new(&o.file)
                    .file_name()
                    .unwrap()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        for (o, n) in e.outputs.iter().zip(&names) {
            let opt = output_option(&o.file, first);
            args.extend([opt.to_string(), n.clone()]);
        }
        args.extend(e.args.iter().cloned());
        run(single.path(), &args, threads, &[]);
        for n in &names {
            let a = std::fs::read(dir.join(n)).unwrap();
            let b = std::fs::read(single.join(n)).unwrap();
            assert!(
                a == b,
                "image {}: {n} differs from the single run {args:?}",
                e.image
            );
        }
    }
}

/// Which option writes a file, from its name's prefix (the tests name them so).
fn output_option(file: &str, _first: &str) -> &'static str {
    let f = Path::new(file)
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    match () {
        _ if f.starts_with("noise") => "-noisefile",
        _ if f.ends_with(".bin") => "-floatfile",
        _ if f.ends_with(".img") => "-intfile",
        _ if f.ends_with(".pgm") => "-pgmfile",
        _ => "-pngfile",
    }
}

const OUT: &str =
    "-floatfile img_%03d.bin -intfile img_%03d.img -noisefile noise_%03d.img -pgmfile img_%03d.pgm";

#[test]
fn rotation_scan_equals_single_runs_in_both_precisions() {
    for precision in ["double", "single"] {
        for threads in [1, 2] {
            let base = format!(
                "-cell 70 80 90 75 85 95 -default_F 100 -N 4 -detpixels 48 -pixel 0.2 -distance 60 -phi 3 -osc 0.7 -phisteps 2 -mosaic 0.3 -mosaic_dom 3 -seed 11 -precision {precision}"
            );
            let dir = Scratch::new("scan");
            let args = words(&format!("{base} -images 5 {OUT}"));
            let o = run(dir.path(), &args, threads, &[]);
            let es = entries(&dir.join("series.jsonl"));
            assert_eq!(es.len(), 5);
            assert!(
                es[0].args.is_empty(),
                "image 1 is the run of the options given"
            );
            assert_eq!(es[2].args[..2], ["-phi".to_string(), "4.4".to_string()]);
            check_against_single_runs(dir.path(), &base, 3 - threads, "img");
            let out = String::from_utf8_lossy(&o.stdout);
            assert!(
                out.contains("series: 5 images rendered, 0 skipped"),
                "{out}"
            );
        }
    }
}

#[test]
fn shots_with_random_orientation_noise_fluence_and_size() {
    for precision in ["double", "single"] {
        let base = format!(
            "-cell 60 60 60 90 90 90 -default_F 50 -detpixels 40 -pixel 0.25 -distance 50 -misset_seed 21 -misset random -seed 5 -precision {precision}"
        );
        let dir = Scratch::new("shots");
        let args = words(&format!(
            "{base} -N 3 -images 4 -random_fluence 0.3 -random_N 2 5 {OUT}"
        ));
        run(dir.path(), &args, 2, &[]);
        let es = entries(&dir.join("series.jsonl"));
        assert_eq!(es.len(), 4);
        // every image has its own orientation and noise seeds, derived from the base seeds
        let noise: Vec<i64> = es.iter().map(|e| e.seeds.noise.unwrap()).collect();
        let misset: Vec<i64> = es.iter().map(|e| e.seeds.misset.unwrap()).collect();
        assert_eq!((noise[0], misset[0]), (5, 21));
        for k in 1..4 {
            assert_eq!(
                noise[k],
                nanobragg::series::seeds::seed(
                    5,
                    k as u64 + 1,
                    nanobragg::series::seeds::Stream::Noise
                ) as i64
            );
            assert_eq!(
                misset[k],
                nanobragg::series::seeds::seed(
                    21,
                    k as u64 + 1,
                    nanobragg::series::seeds::Stream::Misset
                ) as i64
            );
        }
        // -misset_seed comes last in each image's options
        assert_eq!(es[1].args[es[1].args.len() - 2], "-misset_seed");
        check_against_single_runs(dir.path(), &format!("{base} -N 3"), 1, "img");
    }
}

#[test]
fn a_shot_list_equals_single_runs() {
    let base = "-cell 80 80 80 90 90 90 -default_F 80 -N 3 -detpixels 40 -pixel 0.25 -distance 60 -seed 9 -misset_seed 4 -precision double";
    let dir = Scratch::new("list");
    std::fs::write(dir.join("a.mat"), "0.0125 0 0\n0 0.0125 0\n0 0 0.0125\n").unwrap();
    std::fs::write(
        dir.join("shots.txt"),
        "# one line per image\n-phi 10 -fluence 2e24\n\n-misset 10 20 30 -N 5   # a bigger crystal\n-misset random -seed 77\n-mat a.mat -floatfile special.bin\n",
    )
    .unwrap();
    let args = words(&format!("{base} -shots shots.txt {OUT}"));
    run(dir.path(), &args, 2, &[]);
    let es = entries(&dir.join("series.jsonl"));
    assert_eq!(es.len(), 4);
    assert_eq!(es[3].outputs[0].file, "special.bin");
    assert_eq!(
        es[2].seeds.misset,
        Some(nanobragg::series::seeds::seed(4, 3, nanobragg::series::seeds::Stream::Misset) as i64)
    );
    assert_eq!(es[2].seeds.noise, Some(77));
    check_against_single_runs(dir.path(), base, 2, "img");
}

/// A series' files (sorted names and contents), without the manifests.
fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    listing(dir)
        .into_iter()
        .filter(|f| !f.ends_with(".jsonl"))
        .map(|f| {
            let b = std::fs::read(dir.join(&f)).unwrap();
            (f, b)
        })
        .collect()
}

const RANKED: &str = "-cell 90 90 90 90 90 90 -default_F 60 -N 4 -detpixels 32 -pixel 0.3 -distance 70 -osc 0.4 -misset_seed 3 -misset random -seed 8 -images 7";

#[test]
fn one_two_and_three_ranks_give_the_same_files() {
    let one = Scratch::new("r1");
    run(one.path(), &words(&format!("{RANKED} {OUT}")), 2, &[]);
    let want = files(one.path());
    assert_eq!(want.len(), 7 * 4);
    for n in [2, 3] {
        let dir = Scratch::new("rn");
        for r in 0..n {
            let args = words(&format!("{RANKED} {OUT} -rank {r} -ranks {n}"));
            run(dir.path(), &args, 1, &[]);
        }
        assert_eq!(files(dir.path()), want, "{n} ranks");
        let parts = manifest::parts_of(dir.join("series.jsonl").to_str().unwrap()).unwrap();
        assert_eq!(parts.len(), n);
        let m = manifest::merge(dir.join("series.jsonl").to_str().unwrap()).unwrap();
        assert_eq!((m.present, m.images, m.missing.len()), (7, 7, 0));
    }
    // ranks from the launchers' variables
    let launchers: [&[(&str, &str)]; 3] = [
        &[("OMPI_COMM_WORLD_RANK", "R"), ("OMPI_COMM_WORLD_SIZE", "3")],
        &[("PMI_RANK", "R"), ("PMI_SIZE", "3")],
        &[
            ("SLURM_PROCID", "R"),
            ("SLURM_NTASKS", "3"),
            ("SLURM_STEP_ID", "0"),
        ],
    ];
    for vars in launchers {
        let dir = Scratch::new("env");
        for r in ["0", "1", "2"] {
            let env: Vec<(&str, &str)> = vars
                .iter()
                .map(|(k, v)| (*k, if *v == "R" { r } else { *v }))
                .collect();
            run(dir.path(), &words(&format!("{RANKED} {OUT}")), 1, &env);
        }
        assert_eq!(files(dir.path()), want, "{vars:?}");
    }
    // a Slurm job array of three tasks numbered 1-3
    let dir = Scratch::new("array");
    for id in ["1", "2", "3"] {
        let env = [
            ("SLURM_ARRAY_TASK_ID", id),
            ("SLURM_ARRAY_TASK_COUNT", "3"),
            ("SLURM_ARRAY_TASK_MIN", "1"),
        ];
        run(dir.path(), &words(&format!("{RANKED} {OUT}")), 1, &env);
    }
    assert_eq!(files(dir.path()), want, "job array");
}

#[test]
fn merge_reports_missing_images() {
    let dir = Scratch::new("merge");
    for r in [0, 2] {
        run(
            dir.path(),
            &words(&format!("{RANKED} {OUT} -rank {r} -ranks 3")),
            1,
            &[],
        );
    }
    let merge = || {
        Command::new(BIN)
            .args(["-merge", "series.jsonl"])
            .current_dir(dir.path())
            .output()
            .unwrap()
    };
    let o = merge();
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(out.contains("5 of 7 images listed"), "{out}");
    assert!(out.contains("missing 2 images: 2, 5"), "{out}");
    // the missing rank, then the merge is complete
    run(
        dir.path(),
        &words(&format!("{RANKED} {OUT} -rank 1 -ranks 3")),
        1,
        &[],
    );
    let o = merge();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stdout));
    assert_eq!(entries(&dir.join("series.jsonl")).len(), 7);
}

#[test]
fn a_killed_series_resumes_to_the_same_files() {
    let series = "-cell 90 90 90 90 90 90 -default_F 60 -N 6 -detpixels 160 -pixel 0.1 -distance 70 -osc 0.3 -seed 8 -images 24 -precision double";
    let whole = Scratch::new("whole");
    run(whole.path(), &words(&format!("{series} {OUT}")), 2, &[]);
    let want = files(whole.path());
    let dir = Scratch::new("killed");
    let mut child = Command::new(BIN)
        .args(words(&format!("{series} {OUT}")))
        .current_dir(dir.path())
        .env("RAYON_NUM_THREADS", "2")
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // stop it once it has listed an image (or when it has ended)
    let manifest = dir.join("series.jsonl");
    for _ in 0..20000 {
        let listed = std::fs::read_to_string(&manifest).map_or(0, |t| t.lines().count());
        if listed >= 2 || child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    // as a scheduler pre-empts a job: SIGTERM (the handler removes the temporaries of the
    // images under way and exits with 128 + 15)
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let status = child.wait().unwrap();
    assert!(status.code() == Some(143) || status.success(), "{status:?}");
    let done_before = entries(&manifest).len();
    // no temporary file left behind, and every listed image complete
    assert!(
        listing(dir.path()).iter().all(|f| !f.ends_with(".tmp")),
        "{:?}",
        listing(dir.path())
    );
    let o = run(dir.path(), &words(&format!("{series} {OUT}")), 1, &[]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains(&format!("{} skipped", done_before.min(24))) || done_before > 24,
        "{done_before} done before: {out}"
    );
    assert_eq!(files(dir.path()), want);
    // a torn last line (a stop while writing it) is dropped and the series completes
    let text = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(&manifest, &text[..text.len() - 10]).unwrap();
    std::fs::remove_file(dir.join("img_024.bin")).unwrap();
    let o = run(dir.path(), &words(&format!("{series} {OUT}")), 2, &[]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("series: 1 images rendered, 23 skipped"),
        "{out}"
    );
    assert_eq!(files(dir.path()), want);
    assert_eq!(entries(&manifest).len(), 24);
}

const SMALL: &str = "-cell 90 90 90 90 90 90 -default_F 60 -N 4 -detpixels 16 -pixel 0.5";

#[test]
fn bad_series_input_is_one_line_before_anything_is_rendered() {
    let dir = Scratch::new("bad");
    std::fs::write(dir.join("shots.txt"), "-phi 1\n-phi 2 -seed x\n").unwrap();
    std::fs::write(dir.join("shared.txt"), "-phi 1\n\n-distance 50\n").unwrap();
    std::fs::write(dir.join("stray.txt"), "-phi 1\n7 -phi 2\n").unwrap();
    std::fs::write(dir.join("two.txt"), "-phi 1\n-phi 2\n").unwrap();
    let cases: &[(&str, &[&str])] = &[
        (
            "-images 3 -nonoise -nopgm",
            &["-floatfile", "floatimage.bin", "%0Nd", "3 images"],
        ),
        (
            "-images 3 -nonoise -nopgm -floatfile f_%d.bin",
            &["-intfile", "intimage.img"],
        ),
        (
            "-images 3 -nopgm -floatfile f_%d.bin -intfile i_%d.img -noisefile n_%d.img",
            &["-seed"],
        ),
        (
            "-images 3 -nonoise -nopgm -floatfile f_%s.bin -intfile i_%d.img",
            &["-floatfile", "f_%s.bin"],
        ),
        (
            "-images 2 -misset random -nonoise -nopgm -floatfile f_%d.bin -intfile i_%d.img",
            &["-misset_seed"],
        ),
        (
            "-shots shots.txt -nonoise -nopgm -floatfile f_%d.bin -intfile i_%d.img",
            &["shots.txt, line 2", "-seed", "'x'"],
        ),
        (
            "-shots shared.txt -nonoise -nopgm -floatfile f_%d.bin -intfile i_%d.img",
            &["shared.txt, line 3", "-distance", "cannot change"],
        ),
        (
            "-shots stray.txt -nonoise -nopgm -floatfile f_%d.bin -intfile i_%d.img",
            &["stray.txt, line 2", "'7'"],
        ),
        (
            "-shots missing.txt -nonoise -nopgm",
            &["missing.txt", "cannot read"],
        ),
        (
            "-shots two.txt -images 5 -nonoise -nopgm",
            &["-images 5", "2 shots"],
        ),
        (
            "-images 3 -nonoise -nopgm -floatfile f_%d.bin -intfile i_%d.img -rank 3 -ranks 3",
            &["-rank 3", "-ranks 3"],
        ),
        (
            "-images 3 -nonoise -nopgm -floatfile f_%d.bin -intfile i_%d.img -rank 1",
            &["-rank", "-ranks"],
        ),
        ("-images 0 -nonoise -nopgm", &["-images", "at least 1"]),
        (
            "-images 3 -nonoise -nopgm -floatfile f_%d.bin -intfile i_%d.img -random_N 3 2",
            &["-random_N"],
        ),
        (
            "-images 3 -nonoise -nopgm -floatfile f_%d.bin -intfile i_%d.img -random_fluence 0.1",
            &["-seed"],
        ),
        (
            "-images 2 -misset random -nonoise -nopgm -floatfile f_%d.bin -intfile i_%d.img -misset_seed 5",
            &["-misset_seed", "-fix_quirks"],
        ),
    ];
    for (extra, want) in cases {
        let args = words(&format!("{SMALL} {extra}"));
        expect_cli_error(BIN, dir.path(), &args, want);
    }
    // a rank from a launcher that does not fit
    let o = Command::new(BIN)
        .args(words(&format!(
            "{SMALL} -images 3 -nonoise -nopgm -floatfile f_%d.bin -intfile i_%d.img"
        )))
        .current_dir(dir.path())
        .env("PMI_RANK", "4")
        .env("PMI_SIZE", "4")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(9));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("PMI_RANK=4 is not below PMI_SIZE=4"), "{err}");
    assert_eq!(
        listing(dir.path()),
        ["shared.txt", "shots.txt", "stray.txt", "two.txt"]
    );
    // two images of a shot list writing one file
    std::fs::write(dir.join("same.txt"), "-floatfile a.bin\n-floatfile a.bin\n").unwrap();
    expect_cli_error(
        BIN,
        dir.path(),
        words(&format!(
            "{SMALL} -shots same.txt -nonoise -nopgm -intfile i_%d.img"
        )),
        &["same.txt, line 2", "a.bin", "image 1"],
    );
}

#[test]
fn the_library_renders_series_images_and_variations() {
    use nanobragg::{Orientation, Prepared, Series, Variation, kernel::Silent};
    let dir = Scratch::new("lib");
    let base = words(
        "-cell 70 80 90 75 85 95 -default_F 100 -N 4 -detpixels 32 -pixel 0.3 -distance 60 -misset 5 6 7 -seed 3 -precision double -nonoise -nopgm",
    );
    let p = Prepared::from_args(&base).unwrap();
    let render = |s: nanobragg::Simulation| s.render(&mut Silent).unwrap().image;
    // the base image is the single run's
    let single = render(nanobragg::Simulation::from_args(&base).unwrap());
    assert_eq!(render(p.base().unwrap()), single);
    // each variation equals the run with the equivalent options
    let cases: Vec<(Variation, &str)> = vec![
        (Variation::new().phi(12.5), "-phi 12.5"),
        (Variation::new().misset([1.0, 2.0, 3.0]), "-misset 1 2 3"),
        (
            Variation::new().random_orientation(17),
            "-misset random -misset_seed 17",
        ),
        (
            Variation::new().fluence(3e23).cells([2, 3, 5]),
            "-fluence 3e23 -Na 2 -Nb 3 -Nc 5",
        ),
        (
            Variation::new().mosaic_seed(4).seed(9),
            "-mosaic_seed 4 -seed 9",
        ),
    ];
    for (v, extra) in cases {
        let mut args = base.clone();
        args.extend(words(extra));
        let want = render(nanobragg::Simulation::from_args(&args).unwrap());
        assert_eq!(render(p.vary(&v).unwrap()), want, "{extra}");
        assert_eq!(
            render(p.with_options(&words(extra)).unwrap()),
            want,
            "{extra}"
        );
    }
    // an identity matrix in place of the misset is the unmisset crystal
    let mut unmisset = base.clone();
    unmisset.retain(|a| !["-misset", "5", "6", "7"].contains(&a.as_str()));
    let want = render(nanobragg::Simulation::from_args(&unmisset).unwrap());
    let id = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0];
    assert_eq!(
        render(p.vary(&Variation::new().rotation(id)).unwrap()),
        want
    );
    let bad = p.vary(&Variation {
        orientation: Some(Orientation::Matrix([
            2.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0,
        ])),
        ..Variation::default()
    });
    match bad {
        Err(e) => assert!(e.to_string().contains("not a rotation"), "{e}"),
        Ok(_) => panic!("a scaling matrix was taken for a rotation"),
    }
    // Series::image(i) is the binary's image i
    let mut args = base.clone();
    args.extend(words(
        "-osc 0.5 -images 3 -floatfile f_%d.bin -intfile i_%d.img",
    ));
    let s = Series::from_args(&args).unwrap();
    run(dir.path(), &args, 2, &[]);
    for i in 1..=3 {
        let img = render(s.image(i).unwrap());
        let file = common::read_f32(&dir.join(&format!("f_{i}.bin")));
        assert_eq!(img, file, "image {i}");
    }
    assert!(s.image(4).is_err() && s.image(0).is_err());
}

/// The blocks MPI splits an image into, rendered one after the other from the state the
/// previous block left, reassemble the whole render bit for bit (image and solid-angle sum,
/// added in serial order), whatever the block boundaries; a block rendered from the state the
/// first row leaves (as ranks after the first start) is the same where that state holds.
#[test]
fn blocks_of_rows_reassemble_the_render() {
    use nanobragg::kernel::{self, Silent};
    for (args, precision) in [
        (
            "-hkl P1_sparse.hkl -default_F 5 -cell 100 100 100 90 90 90 -N 5 -interpolate -distance 40 -detpixels 64 -pixel 0.2 -oversample 1",
            nanobragg::Precision::Double,
        ),
        (
            "-default_F 100 -cell 70 80 90 75 85 95 -N 5 -detpixels 45 -pixel 0.3 -phi -0.5 -osc 1 -phisteps 3 -mosaic 0.5 -mosaic_dom 3",
            nanobragg::Precision::Single,
        ),
        (
            "-default_F 100 -cell 70 80 90 75 85 95 -N 5 -detpixels 45 -pixel 0.3 -phi -0.5 -osc 1 -phisteps 3 -mosaic 0.5 -mosaic_dom 3",
            nanobragg::Precision::Double,
        ),
    ] {
        let dir = common::Scratch::new("blocks");
        std::fs::copy(
            common::golden().join("inputs/P1_sparse.hkl"),
            dir.join("P1_sparse.hkl"),
        )
        .unwrap();
        let sim = common::in_dir(dir.path(), || {
            nanobragg::Simulation::from_args(&words(args)).unwrap()
        });
        let plan = sim.plan();
        let whole = nanobragg::render_plan(plan, precision, &mut Silent).unwrap();
        let simd = nanobragg::uses_simd(plan, precision);
        let k: Box<dyn kernel::RowKernel> = if simd {
            kernel::simd::kernel()
        } else {
            Box::new(kernel::exact::Exact)
        };
        let n = plan.spixels;
        for cuts in [
            vec![0, n],
            vec![0, 1, n],
            vec![0, n / 3, 2 * n / 3, n],
            vec![0, 7, 8, n],
        ] {
            let mut state = kernel::initial_state(plan);
            let (mut image, mut omega, mut trigger) = (Vec::new(), 0.0f64, None);
            for w in cuts.windows(2) {
                let b =
                    kernel::render_block(plan, k.as_ref(), w[0]..w[1], state, &mut Silent).unwrap();
                image.extend_from_slice(&b.image);
                b.omega_terms.add_to(&mut omega);
                trigger = trigger.or(b.trigger);
                state = b.exit;
            }
            assert!(image == whole.image, "{args}: {cuts:?}");
            assert_eq!(
                omega.to_bits(),
                whole.omega_sum.to_bits(),
                "{args}: {cuts:?}"
            );
            assert_eq!(trigger, whole.interp_trigger, "{args}: {cuts:?}");
        }
        // ranks after the first start from the state row 0 leaves
        let after0 = kernel::render_block(
            plan,
            k.as_ref(),
            0..1,
            kernel::initial_state(plan),
            &mut Silent,
        )
        .unwrap()
        .exit;
        let mut state = kernel::initial_state(plan);
        for w in [0, n / 2, n].windows(2) {
            let guess = if w[0] == 0 { state } else { after0 };
            let b = kernel::render_block(plan, k.as_ref(), w[0]..w[1], guess, &mut Silent).unwrap();
            if guess == state {
                let start = w[0] * plan.fpixels;
                assert!(
                    b.image == whole.image[start..start + b.image.len()],
                    "{args}"
                );
            }
            state = b.exit;
        }
    }
}
