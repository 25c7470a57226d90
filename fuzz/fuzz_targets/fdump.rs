//! The Fdump.bin reader, in both white-space modes.
#![no_main]
use libfuzzer_sys::fuzz_target;
use nanobragg::hkl::{FdumpRead, read_fdump};

fuzz_target!(|data: &[u8]| {
    nanobragg_fuzz_limits();
    let _ = read_fdump("Fdump.bin", data, FdumpRead::Reference);
    let _ = read_fdump("Fdump.bin", data, FdumpRead::Exact);
});

include!("limits.rs");
