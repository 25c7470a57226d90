//! The MOSFLM orientation-matrix reader (-mat).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    nanobragg_fuzz_limits();
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = nanobragg::setup::read_matrix("A.mat", text, 1.0);
    }
});

include!("limits.rs");
