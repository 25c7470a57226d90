//! Build script. A plain build only warns when the target lacks AVX2/FMA. With feature
//! `header` it regenerates the C header with cbindgen (into OUT_DIR, and into include/ when
//! NANOBRAGG_WRITE_HEADER=1), made C89/C++98-clean (see `c89`); with feature `c-ref` it
//! compiles the C reference kernel in c_ref/ and generates its bindings.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    simd_warning();
    #[cfg(feature = "header")]
    header();
    #[cfg(feature = "c-ref")]
    c_ref();
}

/// A build for an x86-64 target without AVX2 and FMA (the default when nanobragg is a
/// dependency and the dependant sets no `-C target-cpu`) gets the slower baseline SIMD kernel,
/// whose single-precision results differ in the last bits: say so instead of staying silent.
fn simd_warning() {
    let arch = std::env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    let features = std::env::var("CARGO_CFG_TARGET_FEATURE").unwrap_or_default();
    let has = |f: &str| features.split(',').any(|x| x == f);
    if arch == "x86_64" && !(has("avx2") && has("fma")) {
        println!(
            "cargo:warning=nanobragg is built for x86-64 without AVX2/FMA: its single-precision kernel runs on SSE2, slower and with last-bit differences; for AVX2 + FMA set RUSTFLAGS=\"-C target-cpu=x86-64-v3\" (README: \"Using nanobragg as a dependency\")"
        );
    }
}

#[cfg(feature = "header")]
fn header() {
    use std::path::PathBuf;
    let dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap());
    println!("cargo:rerun-if-changed=src/ffi.rs");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    println!("cargo:rerun-if-env-changed=NANOBRAGG_WRITE_HEADER");
    let config = cbindgen::Config::from_file(dir.join("cbindgen.toml")).expect("cbindgen.toml");
    let bindings = cbindgen::Builder::new()
        .with_crate(&dir)
        .with_config(config)
        .generate()
        .expect("cbindgen failed");
    let mut text = Vec::new();
    bindings.write(&mut text);
    let text = c89(&String::from_utf8(text).expect("UTF-8 header"));
    std::fs::write(out.join("nanobragg.h"), &text).expect("write header");
    if std::env::var("NANOBRAGG_WRITE_HEADER").as_deref() == Ok("1") {
        std::fs::write(dir.join("include/nanobragg.h"), &text).expect("write include/nanobragg.h");
    }
}

/// What cbindgen cannot be told: C89 and C++98 (-pedantic) have no `//` comments and no comma
/// after the last enumerator. Its `// __cplusplus` and `// extern "C"` remarks become block
/// comments; a comma ending the line before an enum's closing `} name;` is dropped.
#[cfg(feature = "header")]
fn c89(text: &str) -> String {
    let lines: Vec<String> = text
        .lines()
        .map(|l| match l.split_once("//") {
            Some((code, remark)) if l.trim_start().starts_with('#') || l.starts_with('}') => {
                format!("{code}/* {} */", remark.trim())
            }
            _ => l.to_string(),
        })
        .collect();
    let mut out = String::new();
    for (i, l) in lines.iter().enumerate() {
        let closes_enum = lines
            .get(i + 1)
            .is_some_and(|n| n.starts_with("} ") && n.ends_with(';'));
        match l.strip_suffix(',') {
            Some(head) if closes_enum => out.push_str(head),
            _ => out.push_str(l),
        }
        out.push('\n');
    }
    assert!(
        !out.lines().any(|l| l.trim_start().starts_with("//")),
        "a // comment is left in the header"
    );
    out
}

#[cfg(feature = "c-ref")]
fn c_ref() {
    use std::path::PathBuf;
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap());
    for f in ["c_ref/nb_ref.c", "c_ref/nb_ref.h", "include/nanobragg.h"] {
        println!("cargo:rerun-if-changed={f}");
    }
    // Exact IEEE double arithmetic: no fast-math, no contraction into FMA, no -march=native.
    cc::Build::new()
        .file("c_ref/nb_ref.c")
        .include("include")
        .flag("-std=c99")
        .flag("-O2")
        .flag("-ffp-contract=off")
        .flag("-fno-fast-math")
        .flag_if_supported("-mno-fma")
        .warnings(true)
        .compile("nb_ref");
    println!("cargo:rustc-link-lib=m");
    let bindings = bindgen::Builder::default()
        .header("c_ref/nb_ref.h")
        .clang_arg("-Iinclude")
        .allowlist_function("nb_ref_.*")
        .blocklist_type("nb_kernel_params")
        .raw_line("use crate::ffi::nb_kernel_params;")
        .generate()
        .expect("bindgen failed on c_ref/nb_ref.h");
    bindings
        .write_to_file(out.join("c_ref_bindings.rs"))
        .expect("write c_ref bindings");
}
