//! The committed C header must equal what cbindgen generates from src/ffi.rs now.
//! Regenerate with: NANOBRAGG_WRITE_HEADER=1 cargo build --features header
#![cfg(feature = "header")]

#[test]
fn committed_header_is_up_to_date() {
    let generated = std::fs::read_to_string(concat!(env!("OUT_DIR"), "/nanobragg.h"))
        .expect("generated header");
    let committed =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/include/nanobragg.h"))
            .expect("include/nanobragg.h");
    assert!(
        generated == committed,
        "include/nanobragg.h is stale: run NANOBRAGG_WRITE_HEADER=1 cargo build --features header"
    );
}
