//! The SMV reader (-img, -mask): header and pixels.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    nanobragg_fuzz_limits();
    if let Ok(f) = nanobragg::io::smv::parse("fuzz.img", data) {
        // a parsed file answers header queries
        for key in [
            "SIZE1",
            "SIZE2",
            "PIXEL_SIZE",
            "DISTANCE",
            "WAVELENGTH",
            "BEAM_CENTER_X",
        ] {
            let _ = f.value_of(key);
        }
    }
});

include!("limits.rs");
