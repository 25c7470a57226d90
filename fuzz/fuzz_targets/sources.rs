//! The source-file reader (-sourcefile), with the reference's end-of-line rule and without.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    nanobragg_fuzz_limits();
    if let Ok(text) = std::str::from_utf8(data) {
        let beam = [1.0, 0.0, 0.0];
        for eol in [false, true] {
            let _ = nanobragg::sources::read_source_file("sources.txt", text, &beam, 1e-10, eol);
        }
    }
});

include!("limits.rs");
