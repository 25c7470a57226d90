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
