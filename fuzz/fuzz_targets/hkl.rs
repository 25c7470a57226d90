//! The HKL text reader: any bytes give a grid or an error, never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    nanobragg_fuzz_limits();
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = nanobragg::hkl::read_hkl_text("fuzz.hkl", text, 0.0);
        let _ = nanobragg::hkl::read_hkl_text("fuzz.hkl", text, 17.5);
    }
});

include!("limits.rs");
