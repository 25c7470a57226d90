//! Misuse of the C API through its exported functions: every NULL pointer, wrong length and
//! invalid argument returns the documented status and a message (nb_last_error), never a
//! crash; a success clears the message.

mod common;

use nanobragg::ffi::*;
use std::ffi::{CStr, CString, c_char, c_void};
use std::ptr::{null, null_mut};

fn last_error() -> String {
    // SAFETY: nb_last_error returns a valid NUL-terminated string.
    unsafe { CStr::from_ptr(nb_last_error()) }
        .to_string_lossy()
        .into_owned()
}

/// Assert `status` and a message mentioning every word of `words`.
fn expect(status: nb_status, want: nb_status, words: &[&str]) {
    let msg = last_error();
    assert_eq!(status, want, "message: {msg}");
    assert!(!msg.is_empty(), "no message for {want:?}");
    for w in words {
        assert!(msg.contains(w), "{msg:?} does not mention {w:?}");
    }
}

struct Argv {
    _owned: Vec<CString>,
    ptrs: Vec<*const c_char>,
}

fn argv(line: &str) -> Argv {
    let owned: Vec<CString> = std::iter::once("nanoBragg")
        .chain(line.split_whitespace())
        .map(|s| CString::new(s).unwrap())
        .collect();
    let ptrs = owned.iter().map(|c| c.as_ptr()).collect();
    Argv {
        _owned: owned,
        ptrs,
    }
}

const GOOD: &str = "-default_F 100 -cell 100 100 100 90 90 90 -lambda 1 -N 3 -distance 100 -detpixels 24 -pixel 0.4 -nonoise -nopgm -floatfile float.bin";

fn create(line: &str) -> (nb_status, *mut nb_sim) {
    let a = argv(line);
    let mut sim = null_mut();
    // SAFETY: argv is a valid argument vector; sim a valid out pointer.
    let s = unsafe { nb_sim_create(a.ptrs.len() as i32, a.ptrs.as_ptr(), &mut sim) };
    (s, sim)
}

#[test]
fn creation_misuse() {
    let a = argv(GOOD);
    // SAFETY (all calls below): the pointers are NULL on purpose or valid.
    unsafe {
        expect(
            nb_sim_create(a.ptrs.len() as i32, a.ptrs.as_ptr(), null_mut()),
            nb_status::NB_ERR_NULL,
            &["out"],
        );
        let mut sim = null_mut();
        expect(
            nb_sim_create(3, null(), &mut sim),
            nb_status::NB_ERR_NULL,
            &["argv"],
        );
        assert!(sim.is_null());
        expect(
            nb_sim_create(-1, a.ptrs.as_ptr(), &mut sim),
            nb_status::NB_ERR_NULL,
            &["argc"],
        );
        let holes = [a.ptrs[0], null(), a.ptrs[1]];
        expect(
            nb_sim_create(3, holes.as_ptr(), &mut sim),
            nb_status::NB_ERR_NULL,
            &["argv[1]"],
        );
        assert!(sim.is_null());
        let bad = CString::new(vec![0xffu8, 0xfe]).unwrap();
        let nonutf8 = [a.ptrs[0], bad.as_ptr()];
        expect(
            nb_sim_create(2, nonutf8.as_ptr(), &mut sim),
            nb_status::NB_ERR_USAGE,
            &["UTF-8"],
        );
    }
    let (s, sim) = create("-lambada 1");
    expect(s, nb_status::NB_ERR_USAGE, &["-lambada", "-lambda"]);
    assert!(sim.is_null());
    let (s, _) = create(&format!("{GOOD} -hkl /nonexistent/x.hkl"));
    expect(s, nb_status::NB_ERR_INPUT, &["/nonexistent/x.hkl"]);
    let (s, _) = create(&GOOD.replace("-pixel 0.4", "-pixel 0"));
    expect(s, nb_status::NB_ERR_INVALID, &["pixel"]);
    // a detector whose buffers cannot be allocated is refused up front
    let (s, sim) = create(&GOOD.replace("-detpixels 24", "-detpixels 200000"));
    expect(s, nb_status::NB_ERR_INVALID, &["too large", "240 GB"]);
    assert!(sim.is_null());
    // a success clears the message
    let (s, sim) = create(GOOD);
    assert_eq!(s, nb_status::NB_OK, "{}", last_error());
    assert_eq!(last_error(), "");
    // SAFETY: a handle from nb_sim_create, freed once; NULL is ignored.
    unsafe {
        nb_sim_free(sim);
        nb_sim_free(null_mut());
    }
}

extern "C" fn count_lines(_line: *const c_char, user: *mut c_void) {
    // SAFETY: `user` is the &mut usize passed below.
    unsafe { *(user as *mut usize) += 1 };
}

#[test]
fn handle_misuse() {
    let dir = common::Scratch::new("ffi");
    let sim = common::in_dir(dir.path(), || {
        let (s, sim) = create(GOOD);
        assert_eq!(s, nb_status::NB_OK, "{}", last_error());
        sim
    });
    let mut img = vec![0f32; 24 * 24];
    let (mut f, mut sl) = (0usize, 0usize);
    let mut lines = 0usize;
    let user = &mut lines as *mut usize as *mut c_void;
    // SAFETY (all calls below): the pointers are NULL on purpose or valid for the call.
    unsafe {
        expect(
            nb_sim_image_size(null(), &mut f, &mut sl),
            nb_status::NB_ERR_NULL,
            &["sim"],
        );
        expect(
            nb_sim_image_size(sim, null_mut(), &mut sl),
            nb_status::NB_ERR_NULL,
            &[],
        );
        assert_eq!(nb_sim_image_size(sim, &mut f, &mut sl), nb_status::NB_OK);
        assert_eq!((f, sl), (24, 24));
        expect(
            nb_sim_transcript(null(), Some(count_lines), user),
            nb_status::NB_ERR_NULL,
            &["sim"],
        );
        expect(
            nb_sim_warnings(null(), Some(count_lines), user),
            nb_status::NB_ERR_NULL,
            &["sim"],
        );
        assert_eq!(
            nb_sim_transcript(sim, Some(count_lines), user),
            nb_status::NB_OK
        );
        assert!(lines > 10, "{lines} transcript lines");
        assert_eq!(nb_sim_transcript(sim, None, null_mut()), nb_status::NB_OK);
        let mut params = std::mem::MaybeUninit::<nb_kernel_params>::zeroed().assume_init();
        expect(
            nb_sim_kernel_params(null(), &mut params),
            nb_status::NB_ERR_NULL,
            &["sim"],
        );
        expect(
            nb_sim_kernel_params(sim, null_mut()),
            nb_status::NB_ERR_NULL,
            &[],
        );
        // writing before any render
        expect(
            nb_sim_write_outputs(sim, None, null_mut()),
            nb_status::NB_ERR_STATE,
            &["render"],
        );
        // render: NULL handle, NULL buffer, short and long buffers, unknown precision
        expect(
            nb_sim_render(null_mut(), 0, img.as_mut_ptr(), img.len()),
            nb_status::NB_ERR_NULL,
            &["sim"],
        );
        expect(
            nb_sim_render(sim, 0, null_mut(), img.len()),
            nb_status::NB_ERR_NULL,
            &["image"],
        );
        expect(
            nb_sim_render(sim, 0, img.as_mut_ptr(), img.len() - 1),
            nb_status::NB_ERR_LENGTH,
            &["575", "576"],
        );
        expect(
            nb_sim_render(sim, 0, img.as_mut_ptr(), img.len() + 1),
            nb_status::NB_ERR_LENGTH,
            &[],
        );
        expect(
            nb_sim_render(sim, 7, img.as_mut_ptr(), img.len()),
            nb_status::NB_ERR_INVALID,
            &["precision 7"],
        );
        assert!(
            img.iter().all(|&v| v == 0.0),
            "a failed render wrote the buffer"
        );
        assert_eq!(
            nb_sim_render(sim, 1, img.as_mut_ptr(), img.len()),
            nb_status::NB_OK
        );
        assert!(img.iter().any(|&v| v > 0.0));
        expect(
            nb_sim_write_outputs(null(), None, null_mut()),
            nb_status::NB_ERR_NULL,
            &["sim"],
        );
        nb_sim_free(sim);
    }
}

#[test]
fn kernel_misuse() {
    let dir = common::Scratch::new("ffi-kernel");
    let sim = common::in_dir(dir.path(), || {
        let (s, sim) = create(GOOD);
        assert_eq!(s, nb_status::NB_OK, "{}", last_error());
        sim
    });
    // SAFETY (all calls below): `good` points into `sim`, alive until freed at the end; the
    // other pointers are NULL on purpose or valid for the call.
    unsafe {
        let mut good = std::mem::MaybeUninit::<nb_kernel_params>::zeroed().assume_init();
        assert_eq!(nb_sim_kernel_params(sim, &mut good), nb_status::NB_OK);
        let mut img = vec![0f32; 24 * 24];
        let n = img.len();
        assert_eq!(
            nb_render_kernel(&good, 1, img.as_mut_ptr(), n),
            nb_status::NB_OK
        );
        let reference = img.clone();
        assert!(reference.iter().any(|&v| v > 0.0));
        expect(
            nb_render_kernel(null(), 1, img.as_mut_ptr(), n),
            nb_status::NB_ERR_NULL,
            &["params"],
        );
        expect(
            nb_render_kernel(&good, 1, null_mut(), n),
            nb_status::NB_ERR_NULL,
            &["image"],
        );
        expect(
            nb_render_kernel(&good, 1, img.as_mut_ptr(), n - 1),
            nb_status::NB_ERR_LENGTH,
            &[],
        );
        expect(
            nb_render_kernel(&good, -3, img.as_mut_ptr(), n),
            nb_status::NB_ERR_INVALID,
            &[],
        );
        let cases: Vec<(nb_kernel_params, nb_status, &str)> = vec![
            (
                nb_kernel_params {
                    struct_size: 8,
                    ..good
                },
                nb_status::NB_ERR_INVALID,
                "struct_size",
            ),
            (
                nb_kernel_params { fpixels: 0, ..good },
                nb_status::NB_ERR_INVALID,
                "pixels",
            ),
            (
                nb_kernel_params {
                    spixels: -4,
                    ..good
                },
                nb_status::NB_ERR_INVALID,
                "pixels",
            ),
            (
                nb_kernel_params {
                    pixel_size: f64::NAN,
                    ..good
                },
                nb_status::NB_ERR_INVALID,
                "pixel",
            ),
            (
                nb_kernel_params {
                    oversample: 0,
                    ..good
                },
                nb_status::NB_ERR_INVALID,
                "oversample",
            ),
            (
                nb_kernel_params { sources: 0, ..good },
                nb_status::NB_ERR_INVALID,
                "source",
            ),
            (
                nb_kernel_params {
                    source_x: null(),
                    ..good
                },
                nb_status::NB_ERR_NULL,
                "source",
            ),
            (
                nb_kernel_params {
                    xtal_shape: 9,
                    ..good
                },
                nb_status::NB_ERR_INVALID,
                "xtal_shape",
            ),
            (
                nb_kernel_params {
                    mask_len: 3,
                    mask: img.as_ptr().cast(),
                    ..good
                },
                nb_status::NB_ERR_LENGTH,
                "mask_len",
            ),
            (
                nb_kernel_params {
                    hkls: 1,
                    fhkl: null(),
                    ..good
                },
                nb_status::NB_ERR_LENGTH,
                "fhkl_len",
            ),
            (
                nb_kernel_params {
                    hkls: 1,
                    fhkl: null(),
                    fhkl_len: 8,
                    ..good
                },
                nb_status::NB_ERR_NULL,
                "fhkl",
            ),
            (
                nb_kernel_params {
                    phisteps: 0,
                    ..good
                },
                nb_status::NB_ERR_INVALID,
                "phi",
            ),
            (
                nb_kernel_params {
                    mosaic_domains: 0,
                    ..good
                },
                nb_status::NB_ERR_INVALID,
                "mosaic",
            ),
        ];
        for (i, (p, want, word)) in cases.iter().enumerate() {
            let s = nb_render_kernel(p, 1, img.as_mut_ptr(), n);
            let msg = last_error();
            assert_eq!(s, *want, "case {i}: {msg}");
            assert!(
                msg.contains(word),
                "case {i}: {msg:?} does not mention {word:?}"
            );
        }
        assert_eq!(img, reference, "a failed call wrote the image");
        nb_sim_free(sim);
    }
}

#[test]
fn version_functions() {
    assert_eq!(nb_abi_version(), NANOBRAGG_ABI_VERSION);
    // SAFETY: a static NUL-terminated string.
    let v = unsafe { CStr::from_ptr(nb_version()) }.to_str().unwrap();
    assert_eq!(v, env!("CARGO_PKG_VERSION"));
}

// ---------------------------------------------------------------------------------------------
// ABI 2: the kernel level as a legacy program's loop uses it

const DOUBLE: i32 = nb_precision::NB_PRECISION_DOUBLE as i32;
const SINGLE: i32 = nb_precision::NB_PRECISION_SINGLE as i32;

/// A simulation of a golden case, created in a folder holding the golden inputs, with its
/// whole (ABI-2) kernel parameters. The folder must outlive the handle only while creating.
struct Legacy {
    _dir: common::Scratch,
    sim: *mut nb_sim,
    params: nb_kernel_params,
    case: common::Case,
}

impl Drop for Legacy {
    fn drop(&mut self) {
        // SAFETY: a handle from nb_sim_create, freed once.
        unsafe { nb_sim_free(self.sim) };
    }
}

/// `extra` goes before the case's arguments, `last` after them.
fn legacy_with(name: &str, extra: &[&str], last: &[&str]) -> Legacy {
    let case = common::all_cases()
        .into_iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("golden case {name}"));
    let dir = common::prepare(&case);
    let mut args = common::with_prefix(extra, &case.args);
    args.extend(last.iter().map(|a| a.to_string()));
    let line = args.join(" ");
    let sim = common::in_dir(dir.path(), || {
        let (s, sim) = create(&line);
        assert_eq!(s, nb_status::NB_OK, "{}", last_error());
        sim
    });
    // SAFETY: a zeroed nb_kernel_params is valid (NULL pointers, 0 values); sim is live.
    let params = unsafe {
        let mut p = std::mem::MaybeUninit::<nb_kernel_params>::zeroed().assume_init();
        let s = nb_sim_kernel_params_ex(sim, &mut p, std::mem::size_of::<nb_kernel_params>());
        assert_eq!(s, nb_status::NB_OK, "{}", last_error());
        p
    };
    assert_eq!(
        params.struct_size as usize,
        std::mem::size_of::<nb_kernel_params>()
    );
    Legacy {
        _dir: dir,
        sim,
        params,
        case,
    }
}

fn legacy(name: &str, extra: &[&str]) -> Legacy {
    legacy_with(name, extra, &[])
}

fn new_stats() -> nb_render_stats {
    nb_render_stats {
        struct_size: std::mem::size_of::<nb_render_stats>() as u32,
        ..Default::default()
    }
}

/// Render `p` (its own stats pointer is replaced) into a fresh image; the status, image and
/// statistics.
fn render(p: &nb_kernel_params, precision: i32) -> (nb_status, Vec<f32>, nb_render_stats) {
    let mut st = new_stats();
    let p = nb_kernel_params {
        stats: &mut st,
        ..*p
    };
    let mut img = vec![0f32; (p.fpixels * p.spixels) as usize];
    // SAFETY: p's pointers are valid for the call; img has fpixels*spixels floats.
    let s = unsafe { nb_render_kernel(&p, precision, img.as_mut_ptr(), img.len()) };
    (s, img, st)
}

/// The loop's statistics computed here, plainly, from an image and the kernel parameters:
/// (max, its (fast, slow) pixel, sum, sum of single-precision squares, count).
fn plain_stats(p: &nb_kernel_params, img: &[f32]) -> (f64, Option<(usize, usize)>, f64, f64, i64) {
    // SAFETY: a mask of mask_len values when non-null.
    let mask =
        (!p.mask.is_null()).then(|| unsafe { std::slice::from_raw_parts(p.mask, p.mask_len) });
    let (mut max, mut at, mut sum, mut sumsq, mut n) = (0f64, None, 0f64, 0f64, 0i64);
    for s in 0..p.spixels {
        for f in 0..p.fpixels {
            let inside = f >= p.roi_xmin && f <= p.roi_xmax && s >= p.roi_ymin && s <= p.roi_ymax;
            let i = (s * p.fpixels + f) as usize;
            if !inside || mask.is_some_and(|m| m[i] == 0) {
                continue;
            }
            let v = img[i];
            if v as f64 > max {
                max = v as f64;
                at = Some((f as usize, s as usize));
            }
            sum += v as f64;
            sumsq += (v * v) as f64;
            n += 1;
        }
    }
    (max, at, sum, sumsq, n)
}

#[test]
fn kernel_statistics_are_the_loops() {
    for (name, extra) in [
        ("cubic_default", &[][..]),
        ("roi", &[]),
        ("mask", &[]),
        ("thickness", &[]),
        ("mosaic", &[]),
        ("water_fluence", &[]),
    ] {
        let l = legacy(name, extra);
        let p = &l.params;
        let (s, img, st) = render(p, DOUBLE);
        assert_eq!(s, nb_status::NB_OK, "{name}: {}", last_error());
        assert_eq!(st.exact_kernel, 1);
        // the image is the reference's
        let gold = common::read_f32(&l.case.outputs.join("float.bin"));
        assert!(img == gold, "{name}: image differs from the reference's");
        // the sums, computed here
        let (max, at, sum, sumsq, n) = plain_stats(p, &img);
        assert_eq!(
            (st.max_I, st.sum, st.sumsqr, st.sumn),
            (max, sum, sumsq, n),
            "{name}"
        );
        // the position: the last sub-pixel of the maximum's pixel
        let (f, sl) = at.expect("a positive pixel");
        let sub = p.pixel_size / p.oversample as f64;
        let pos = |i: usize| {
            sub * (i * p.oversample as usize + p.oversample as usize - 1) as f64 + sub / 2.0
        };
        assert_eq!(
            (st.max_I_x, st.max_I_y),
            (pos(f), pos(sl)),
            "{name}: max_I position"
        );
        // the CLI's statistics and solid angle, from the same render
        let sim = common::in_dir(l._dir.path(), || {
            nanobragg::Simulation::from_args_with_time_seed(
                &common::with_prefix(&["-precision", "double"], &l.case.args),
                -1,
            )
            .expect("setup")
        });
        let r = sim.render(&mut nanobragg::kernel::Silent).expect("render");
        let cli = sim.products(&r).expect("products").stats;
        assert_eq!(
            (cli.max_i, cli.max_pos, cli.sum, cli.sumsq, cli.count as i64),
            (
                st.max_I,
                [st.max_I_x, st.max_I_y],
                st.sum,
                st.sumsqr,
                st.sumn
            ),
            "{name}: CLI statistics"
        );
        assert_eq!(r.omega_sum, st.omega_sum, "{name}: omega_sum");
        // the solid-angle line the reference printed
        let stdout = std::fs::read_to_string(l.case.outputs.join("stdout.txt")).expect("stdout");
        let want = stdout
            .lines()
            .find(|x| x.starts_with("solid angle subtended"))
            .expect("solid angle line");
        let steps = p.steps as f64;
        let got = format!(
            "solid angle subtended by detector = {} steradian ( {}% sphere)",
            nanobragg::cfmt::fmt_g(st.omega_sum / steps),
            nanobragg::cfmt::fmt_g(100.0 * st.omega_sum / steps / 4.0 / std::f64::consts::PI)
        );
        assert_eq!(got, want, "{name}");
    }
}

#[test]
fn single_precision_statistics_are_the_clis() {
    for (name, exact) in [
        ("cubic_default", 0),
        ("mosaic", 0),
        ("tophat_spots", 1),
        ("oversample_flags", 1),
    ] {
        let l = legacy(name, &[]);
        let (s, img, st) = render(&l.params, SINGLE);
        assert_eq!(s, nb_status::NB_OK, "{name}: {}", last_error());
        assert_eq!(st.exact_kernel, exact, "{name}: kernel used");
        let sim = common::in_dir(l._dir.path(), || {
            nanobragg::Simulation::from_args_with_time_seed(
                &common::with_prefix(&["-precision", "single"], &l.case.args),
                -1,
            )
            .expect("setup")
        });
        let r = sim.render(&mut nanobragg::kernel::Silent).expect("render");
        assert!(r.image == img, "{name}: image differs from the CLI's");
        let cli = sim.products(&r).expect("products").stats;
        assert_eq!(
            (cli.max_i, cli.max_pos, cli.sum, cli.sumsq, cli.count as i64),
            (
                st.max_I,
                [st.max_I_x, st.max_I_y],
                st.sum,
                st.sumsqr,
                st.sumn
            ),
            "{name}: CLI statistics"
        );
        assert_eq!(r.omega_sum, st.omega_sum, "{name}: omega_sum");
    }
}

/// nanoBragg's F layout: separately allocated rows behind plane and row pointer arrays.
struct Rows {
    _rows: Vec<Vec<f64>>,
    _planes: Vec<Vec<*const f64>>,
    top: Vec<*const *const f64>,
}

fn rows_of(p: &nb_kernel_params) -> Rows {
    let r = |lo: i32, hi: i32| (hi - lo + 2) as usize;
    let (nh, nk, nl) = (
        r(p.h_min, p.h_max),
        r(p.k_min, p.k_max),
        r(p.l_min, p.l_max),
    );
    // SAFETY: fhkl has fhkl_len values.
    let flat = unsafe { std::slice::from_raw_parts(p.fhkl, p.fhkl_len) };
    assert_eq!(flat.len(), nh * nk * nl);
    let rows: Vec<Vec<f64>> = flat.chunks(nl).map(|c| c.to_vec()).collect();
    let planes: Vec<Vec<*const f64>> = rows
        .chunks(nk)
        .map(|plane| plane.iter().map(|row| row.as_ptr()).collect())
        .collect();
    let top = planes.iter().map(|pl| pl.as_ptr()).collect();
    Rows {
        _rows: rows,
        _planes: planes,
        top,
    }
}

#[test]
fn nanobraggs_f_rows_render_like_the_contiguous_grid() {
    for name in ["hkl_cubic", "interp_fallback", "mat_hkl"] {
        let l = legacy(name, &[]);
        assert!(l.params.hkls > 0 && !l.params.fhkl.is_null());
        let rows = rows_of(&l.params);
        let p = nb_kernel_params {
            fhkl: null(),
            fhkl_len: 0,
            fhkl_rows: rows.top.as_ptr(),
            ..l.params
        };
        let (s, img, st) = render(&p, DOUBLE);
        assert_eq!(s, nb_status::NB_OK, "{name}: {}", last_error());
        let gold = common::read_f32(&l.case.outputs.join("float.bin"));
        assert!(
            img == gold,
            "{name}: image from rows differs from the reference's"
        );
        let (s2, img2, st2) = render(&l.params, DOUBLE);
        assert_eq!(s2, nb_status::NB_OK);
        assert!(
            img == img2 && st == st2,
            "{name}: rows and contiguous grid differ"
        );
        let (s3, img3, _) = render(&p, SINGLE);
        let (_, img4, _) = render(&l.params, SINGLE);
        assert_eq!(s3, nb_status::NB_OK);
        assert!(
            img3 == img4,
            "{name}: single precision, rows and contiguous grid differ"
        );
    }
}

#[test]
fn abi2_misuse() {
    let l = legacy("hkl_cubic", &[]);
    let good = l.params;
    let n = (good.fpixels * good.spixels) as usize;
    let mut img = vec![-1f32; n];
    let rows = rows_of(&good);
    let row_params = nb_kernel_params {
        fhkl: null(),
        fhkl_len: 0,
        fhkl_rows: rows.top.as_ptr(),
        ..good
    };
    // a NULL plane, a NULL row
    let mut top = rows.top.clone();
    top[2] = null();
    let mut plane = rows._planes[1].clone();
    plane[3] = null();
    let mut top2 = rows.top.clone();
    top2[1] = plane.as_ptr();
    let mut bad_stats = new_stats();
    bad_stats.struct_size = 12;
    let cases: Vec<(nb_kernel_params, nb_status, &str)> = vec![
        (
            nb_kernel_params {
                fhkl_rows: top.as_ptr(),
                ..row_params
            },
            nb_status::NB_ERR_NULL,
            "fhkl_rows[2] is NULL",
        ),
        (
            nb_kernel_params {
                fhkl_rows: top2.as_ptr(),
                ..row_params
            },
            nb_status::NB_ERR_NULL,
            "fhkl_rows[1][3] is NULL",
        ),
        (
            nb_kernel_params {
                fhkl_rows: rows.top.as_ptr(),
                ..good
            },
            nb_status::NB_ERR_INVALID,
            "both fhkl and fhkl_rows",
        ),
        (
            nb_kernel_params {
                stats: &mut bad_stats,
                ..good
            },
            nb_status::NB_ERR_INVALID,
            "stats->struct_size is 12",
        ),
        (
            nb_kernel_params {
                struct_size: good.struct_size - 8,
                ..good
            },
            nb_status::NB_ERR_INVALID,
            "struct_size",
        ),
        (
            nb_kernel_params {
                struct_size: NB_KERNEL_PARAMS_V1_SIZE + 8,
                ..good
            },
            nb_status::NB_ERR_INVALID,
            "ABI 1",
        ),
    ];
    for (i, (p, want, word)) in cases.iter().enumerate() {
        // SAFETY: the pointers are valid or NULL on purpose.
        let s = unsafe { nb_render_kernel(p, 1, img.as_mut_ptr(), n) };
        expect(s, *want, &[word]);
        assert!(
            img.iter().all(|&v| v == -1.0),
            "case {i}: a failed call wrote the image"
        );
    }
    assert_eq!(bad_stats.max_I, 0.0, "refused stats were written");
    // hkls = 0: no grid, whatever the F pointers (dangling: never read) and ranges say
    let p = nb_kernel_params {
        hkls: 0,
        fhkl: std::ptr::dangling(),
        fhkl_len: 1,
        fhkl_rows: std::ptr::dangling(),
        h_max: -100,
        ..good
    };
    let (s, img0, _) = render(&p, DOUBLE);
    assert_eq!(s, nb_status::NB_OK, "{}", last_error());
    let no_grid = nb_kernel_params {
        hkls: 0,
        fhkl: null(),
        fhkl_len: 0,
        ..good
    };
    assert!(
        img0 == render(&no_grid, DOUBLE).1,
        "hkls = 0 read the F pointers or ranges"
    );

    // nb_sim_kernel_params_ex
    let mut out = good;
    // SAFETY (all calls below): the pointers are NULL on purpose or valid.
    unsafe {
        let full = std::mem::size_of::<nb_kernel_params>();
        expect(
            nb_sim_kernel_params_ex(null(), &mut out, full),
            nb_status::NB_ERR_NULL,
            &["sim"],
        );
        expect(
            nb_sim_kernel_params_ex(l.sim, null_mut(), full),
            nb_status::NB_ERR_NULL,
            &["out"],
        );
        expect(
            nb_sim_kernel_params_ex(l.sim, &mut out, full - 8),
            nb_status::NB_ERR_LENGTH,
            &["out_size", &full.to_string()],
        );
        // nb_sim_write_image_outputs
        let st = new_stats();
        expect(
            nb_sim_write_image_outputs(null(), img.as_ptr(), n, &st, None, null_mut()),
            nb_status::NB_ERR_NULL,
            &["sim"],
        );
        expect(
            nb_sim_write_image_outputs(l.sim, null(), n, &st, None, null_mut()),
            nb_status::NB_ERR_NULL,
            &["image"],
        );
        expect(
            nb_sim_write_image_outputs(l.sim, img.as_ptr(), n, null(), None, null_mut()),
            nb_status::NB_ERR_NULL,
            &["stats"],
        );
        expect(
            nb_sim_write_image_outputs(l.sim, img.as_ptr(), n - 1, &st, None, null_mut()),
            nb_status::NB_ERR_LENGTH,
            &["image_len"],
        );
        expect(
            nb_sim_write_image_outputs(l.sim, img.as_ptr(), n, &bad_stats, None, null_mut()),
            nb_status::NB_ERR_INVALID,
            &["struct_size"],
        );
    }
    assert!(
        !l._dir.join("float.bin").exists(),
        "a refused call wrote an output file"
    );
}

#[test]
fn an_abi1_struct_is_read_only_to_its_size() {
    let l = legacy("hkl_cubic", &[]);
    let v1 = NB_KERNEL_PARAMS_V1_SIZE as usize;
    // ABI 1's nb_kernel_params ended with fix_quirks, padded to 8 bytes
    assert_eq!(
        v1,
        (std::mem::offset_of!(nb_kernel_params, fix_quirks) + 4).next_multiple_of(8)
    );
    // the ABI-1 call fills no more than an ABI-1 struct
    let mut buf = vec![0xA5u8; std::mem::size_of::<nb_kernel_params>() + 64];
    // SAFETY: buf has room for a whole struct; the call may write v1 bytes (u8 alignment is
    // enough for a byte copy, the library writes bytes).
    let s = unsafe { nb_sim_kernel_params(l.sim, buf.as_mut_ptr().cast()) };
    assert_eq!(s, nb_status::NB_OK, "{}", last_error());
    assert!(
        buf[v1..].iter().all(|&b| b == 0xA5),
        "wrote past the ABI-1 struct"
    );
    assert_eq!(
        u32::from_ne_bytes(buf[..4].try_into().unwrap()),
        NB_KERNEL_PARAMS_V1_SIZE
    );
    // an ABI-1 struct followed by garbage renders as the whole struct with its defaults
    let mut whole = std::mem::MaybeUninit::<nb_kernel_params>::uninit();
    let garbage = vec![0xA5u8; std::mem::size_of::<nb_kernel_params>()];
    // SAFETY: the first v1 bytes of a valid struct, then garbage bytes: read by the library
    // only up to struct_size (which this test checks), never as a Rust value.
    let p = unsafe {
        std::ptr::copy_nonoverlapping(
            garbage.as_ptr(),
            whole.as_mut_ptr().cast::<u8>(),
            garbage.len(),
        );
        std::ptr::copy_nonoverlapping(buf.as_ptr(), whole.as_mut_ptr().cast::<u8>(), v1);
        whole.as_ptr()
    };
    let n = (l.params.fpixels * l.params.spixels) as usize;
    let mut img = vec![0f32; n];
    // SAFETY: p points to a struct whose first struct_size bytes are an ABI-1 struct.
    let s = unsafe { nb_render_kernel(p, 1, img.as_mut_ptr(), n) };
    assert_eq!(s, nb_status::NB_OK, "{}", last_error());
    let gold = common::read_f32(&l.case.outputs.join("float.bin"));
    assert!(img == gold, "the ABI-1 struct rendered a different image");
}

type Calls = Vec<(usize, usize)>;

extern "C" fn record_progress(done: usize, total: usize, user: *mut c_void) -> i32 {
    // SAFETY: `user` is the &mut (Calls, Option<usize>) passed by the test.
    let (calls, stop_at) = unsafe { &mut *(user as *mut (Calls, Option<usize>)) };
    calls.push((done, total));
    i32::from(stop_at.is_some_and(|k| calls.len() >= k))
}

extern "C" fn collect_text(text: *const c_char, user: *mut c_void) {
    // SAFETY: `user` is the &mut String passed by the test; text is NUL-terminated.
    unsafe {
        (*(user as *mut String)).push_str(&CStr::from_ptr(text).to_string_lossy());
    }
}

#[test]
fn progress_reports_and_stops() {
    let l = legacy("roi", &[]);
    let mut state: (Calls, Option<usize>) = (Vec::new(), None);
    let p = nb_kernel_params {
        progress: Some(record_progress),
        user: &mut state as *mut _ as *mut c_void,
        ..l.params
    };
    let (s, img, st) = render(&p, DOUBLE);
    assert_eq!(s, nb_status::NB_OK, "{}", last_error());
    let calls = &state.0;
    let rendered = st.sumn as usize;
    assert_eq!(rendered, 61 * 71, "-roi 20 80 30 100");
    assert!(!calls.is_empty());
    assert!(calls.iter().all(|&(_, t)| t == rendered), "total");
    assert!(calls.windows(2).all(|w| w[0].0 <= w[1].0), "done decreased");
    assert_eq!(calls.last().unwrap().0, rendered, "last report");
    // stop at the first report: NB_ERR_CANCELLED, nothing written
    let mut state: (Calls, Option<usize>) = (Vec::new(), Some(1));
    let mut st = new_stats();
    let p = nb_kernel_params {
        progress: Some(record_progress),
        user: &mut state as *mut _ as *mut c_void,
        stats: &mut st,
        ..l.params
    };
    let mut out = vec![-1f32; img.len()];
    // SAFETY: valid pointers for the call.
    let s = unsafe { nb_render_kernel(&p, 1, out.as_mut_ptr(), out.len()) };
    expect(s, nb_status::NB_ERR_CANCELLED, &["progress callback"]);
    assert_eq!(state.0.len(), 1, "reports after the stop");
    assert!(
        out.iter().all(|&v| v == -1.0),
        "a stopped render wrote the image"
    );
    assert_eq!(st, new_stats(), "a stopped render wrote the statistics");
}

/// The text a render printed through `print`.
fn printed(p: &nb_kernel_params, precision: i32) -> (String, Vec<f32>) {
    let mut text = String::new();
    let p = nb_kernel_params {
        print: Some(collect_text),
        user: &mut text as *mut String as *mut c_void,
        ..*p
    };
    let (s, img, _) = render(&p, precision);
    assert_eq!(s, nb_status::NB_OK, "{}", last_error());
    (text, img)
}

#[test]
fn the_loop_prints_what_the_reference_printed() {
    // progress lines, and the interpolation warning among them: the reference's stdout between
    // its set-up lines and the empty line before the solid angle
    for name in ["cubic_default", "interp_fallback", "roi", "mask"] {
        let l = legacy(name, &[]);
        assert_eq!(l.params.progress_meter, 1);
        let (text, _) = printed(&l.params, DOUBLE);
        let gold = std::fs::read_to_string(l.case.outputs.join("stdout.txt")).expect("stdout");
        // the loop's text ends before the empty line nanoBragg prints after it
        let end = gold.find("\nsolid angle subtended").expect("solid angle");
        // and starts after the last set-up line
        let mut transcript = String::new();
        // SAFETY: a live handle; the callback appends to `transcript`.
        let s = unsafe {
            nb_sim_transcript(
                l.sim,
                Some(collect_line),
                &mut transcript as *mut String as *mut c_void,
            )
        };
        assert_eq!(s, nb_status::NB_OK);
        let last = transcript.lines().last().expect("set-up lines");
        let start = gold[..end]
            .rfind(&format!("{last}\n"))
            .expect("last set-up line")
            + last.len()
            + 1;
        assert_eq!(text, gold[start..end], "{name}: the loop's output");
        assert!(text.contains("% done\n"), "{name}: no progress lines");
        assert_eq!(text.contains("WARNING"), name == "interp_fallback");
    }
    // -noprogress: silent
    let l = legacy("cubic_default", &["-noprogress"]);
    assert_eq!(l.params.progress_meter, 0);
    assert_eq!(printed(&l.params, DOUBLE).0, "");
}

#[test]
fn printout_dumps_the_pixel_in_serial_order() {
    let l = legacy("interp_fallback", &["-printout_pixel", "70", "40"]);
    assert_eq!(
        (
            l.params.printout,
            l.params.printout_fpixel,
            l.params.printout_spixel
        ),
        (1, 70, 40)
    );
    for precision in [DOUBLE, SINGLE] {
        let (text, img) = printed(&l.params, precision);
        // the warning of pixel 0 first (continued by the dump, as in the reference), then one
        // dump, no progress lines
        assert!(text.starts_with("WARNING: out of range for three point interpolation: h,k,l,h0,k0,l0: -2.50295,15.7214,-15.7214,-3,16,-16 \nWARNING: further warnings will not be printed!   70   40 : stol = "), "{text}");
        assert!(!text.contains("% done"));
        assert_eq!(text.matches(" : stol = ").count(), 1);
        assert!(text.ends_with('\n'));
        // the dump's pixel value is the image's (exact kernel: the double image)
        let v = text
            .lines()
            .find_map(|x| x.strip_prefix("pixel   "))
            .expect("pixel line");
        let (_, exact, _) = render(&l.params, DOUBLE);
        let want = exact[40 * l.params.fpixels as usize + 70];
        assert_eq!(v.trim().parse::<f32>().unwrap(), want, "{v}");
        assert!(precision == SINGLE || img == exact);
    }
    // every pixel of a small detector
    let l = legacy_with("cubic_default", &["-printout"], &["-detpixels", "3"]);
    let (text, _) = printed(&l.params, DOUBLE);
    assert_eq!(text.matches(" : stol = ").count(), 9, "{text}");
}

#[test]
fn image_outputs_print_the_callers_statistics() {
    let l = legacy("noise_seed", &[]);
    let (s, img, st) = render(&l.params, DOUBLE);
    assert_eq!(s, nb_status::NB_OK);
    let write = |st: &nb_render_stats| {
        let mut lines = String::new();
        // SAFETY: a live handle, valid image and stats.
        let s = common::in_dir(l._dir.path(), || unsafe {
            nb_sim_write_image_outputs(
                l.sim,
                img.as_ptr(),
                img.len(),
                st,
                Some(collect_line),
                &mut lines as *mut String as *mut c_void,
            )
        });
        assert_eq!(s, nb_status::NB_OK, "{}", last_error());
        lines
    };
    // the loop's statistics: the reference's lines and files
    let lines = write(&st);
    let gold = std::fs::read_to_string(l.case.outputs.join("stdout.txt")).expect("stdout");
    let tail = &gold[gold.find("\nsolid angle").expect("solid angle")..];
    assert_eq!(lines, tail);
    for f in ["float.bin", "int.img", "noise.img"] {
        assert!(
            std::fs::read(l._dir.join(f)).ok() == std::fs::read(l.case.outputs.join(f)).ok(),
            "{f} differs from the reference's"
        );
    }
    // other statistics: other lines (these are printed, not recomputed)
    let other = nb_render_stats {
        max_I: st.max_I * 2.0,
        omega_sum: st.omega_sum * 2.0,
        sum: st.sum * 3.0,
        ..st
    };
    let lines = write(&other);
    let g = nanobragg::cfmt::fmt_g;
    assert!(
        lines.contains(&format!(
            "solid angle subtended by detector = {} ",
            g(other.omega_sum / l.params.steps as f64)
        )),
        "{lines}"
    );
    assert!(
        lines.contains(&format!("max_I = {}  at ", g(other.max_I))),
        "{lines}"
    );
    assert!(
        lines.contains(&format!("mean= {} ", g(other.sum / other.sumn as f64))),
        "{lines}"
    );
    assert!(
        lines.contains(&format!("intfile_scale = {}\n", g(55000.0 / other.max_I))),
        "{lines}"
    );
}

extern "C" fn collect_line(line: *const c_char, user: *mut c_void) {
    // SAFETY: `user` is the &mut String passed by the test; line is NUL-terminated.
    unsafe {
        let s = &mut *(user as *mut String);
        s.push_str(&CStr::from_ptr(line).to_string_lossy());
        s.push('\n');
    }
}

#[test]
fn series_misuse_and_images() {
    const SERIES: &str = "-default_F 100 -cell 100 100 100 90 90 90 -N 3 -detpixels 24 -pixel 0.4 -osc 0.5 -nonoise -nopgm -precision double -images 3 -floatfile f_%d.bin -intfile i_%d.img";
    let a = argv(SERIES);
    let mut series = null_mut();
    // SAFETY (all calls below): the pointers are NULL on purpose or valid.
    unsafe {
        expect(
            nb_series_create(a.ptrs.len() as i32, a.ptrs.as_ptr(), null_mut()),
            nb_status::NB_ERR_NULL,
            &["out"],
        );
        expect(
            nb_series_create(-1, a.ptrs.as_ptr(), &mut series),
            nb_status::NB_ERR_NULL,
            &["argc"],
        );
        let bad = argv("-default_F 100 -cell 100 100 100 90 90 90 -images 3 -nonoise -nopgm");
        expect(
            nb_series_create(bad.ptrs.len() as i32, bad.ptrs.as_ptr(), &mut series),
            nb_status::NB_ERR_USAGE,
            &["-floatfile", "%d"],
        );
        assert!(series.is_null());
        assert_eq!(
            nb_series_create(a.ptrs.len() as i32, a.ptrs.as_ptr(), &mut series),
            nb_status::NB_OK
        );
        let (mut n, mut f, mut s) = (0u64, 0usize, 0usize);
        expect(
            nb_series_info(null(), &mut n, &mut f, &mut s),
            nb_status::NB_ERR_NULL,
            &["series"],
        );
        assert_eq!(
            nb_series_info(series, &mut n, &mut f, &mut s),
            nb_status::NB_OK
        );
        assert_eq!((n, f, s), (3, 24, 24));
        assert_eq!(
            nb_series_info(series, null_mut(), null_mut(), null_mut()),
            nb_status::NB_OK
        );
        let mut buf = vec![0f32; 24 * 24];
        let mut st = new_stats();
        let p = nb_precision::NB_PRECISION_DEFAULT as i32;
        expect(
            nb_series_render_image(null(), 1, p, buf.as_mut_ptr(), buf.len(), null_mut()),
            nb_status::NB_ERR_NULL,
            &["series"],
        );
        expect(
            nb_series_render_image(series, 1, p, null_mut(), buf.len(), null_mut()),
            nb_status::NB_ERR_NULL,
            &["buffer"],
        );
        for bad_image in [0, 4] {
            expect(
                nb_series_render_image(
                    series,
                    bad_image,
                    p,
                    buf.as_mut_ptr(),
                    buf.len(),
                    null_mut(),
                ),
                nb_status::NB_ERR_INVALID,
                &["not in the series", "1 to 3"],
            );
        }
        expect(
            nb_series_render_image(series, 1, p, buf.as_mut_ptr(), 7, null_mut()),
            nb_status::NB_ERR_LENGTH,
            &["7 floats"],
        );
        expect(
            nb_series_render_image(series, 1, 99, buf.as_mut_ptr(), buf.len(), null_mut()),
            nb_status::NB_ERR_INVALID,
            &["precision 99"],
        );
        let mut wrong = new_stats();
        wrong.struct_size = 3;
        expect(
            nb_series_render_image(series, 1, p, buf.as_mut_ptr(), buf.len(), &mut wrong),
            nb_status::NB_ERR_INVALID,
            &["struct_size"],
        );
        // image i is the library's Series::image(i)
        let lib =
            nanobragg::Series::from_args(&SERIES.split_whitespace().collect::<Vec<_>>()).unwrap();
        for i in 1..=3u64 {
            assert_eq!(
                nb_series_render_image(series, i, p, buf.as_mut_ptr(), buf.len(), &mut st),
                nb_status::NB_OK
            );
            assert_eq!(last_error(), "");
            let want = lib
                .image(i)
                .unwrap()
                .render(&mut nanobragg::kernel::Silent)
                .unwrap();
            assert_eq!(buf, want.image, "image {i}");
            assert_eq!(
                st.sum,
                nanobragg::stats::of(lib.image(i).unwrap().plan(), &want).sum
            );
            assert_eq!(st.exact_kernel, 1);
        }
        nb_series_free(series);
        nb_series_free(null_mut());
    }
}
