//! The C entry that takes an argument vector, `nb_sim_create` (set-up only: it reads the input
//! files named, in the fuzzer's folder, and builds the render plan), then the queries on the
//! handle and `nb_sim_free`.
#![no_main]
use libfuzzer_sys::fuzz_target;
use nanobragg::ffi::*;
use std::ffi::CString;

fuzz_target!(|data: &[u8]| {
    nanobragg_fuzz_limits();
    let words: Vec<CString> = std::iter::once(CString::new("nanoBragg").unwrap())
        .chain(
            data.split(|&b| b == 0)
                .map(|w| CString::new(w).expect("split at NUL")),
        )
        .collect();
    let argv: Vec<*const std::ffi::c_char> = words.iter().map(|w| w.as_ptr()).collect();
    let mut sim: *mut nb_sim = std::ptr::null_mut();
    // SAFETY: argv holds argc valid NUL-terminated strings that outlive the call.
    let status = unsafe { nb_sim_create(argv.len() as i32, argv.as_ptr(), &mut sim) };
    if status == nb_status::NB_OK {
        let (mut f, mut s) = (0usize, 0usize);
        // SAFETY: sim is a live handle from nb_sim_create; the outputs are valid pointers.
        unsafe {
            let _ = nb_sim_image_size(sim, &mut f, &mut s);
            nb_sim_free(sim);
        }
    } else {
        assert!(sim.is_null());
        assert!(!nb_last_error().is_null());
    }
});

include!("limits.rs");
