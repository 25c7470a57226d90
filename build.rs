//! Build script. A plain build only warns when the target lacks AVX2/FMA. With feature
//! `header` it regenerates the C header with cbindgen (into OUT_DIR, and into include/ when
//! NANOBRAGG_WRITE_HEADER=1), made C89/C++98-clean (see `c89`); with feature `c-ref` it
//! compiles the C reference kernel in c_ref/ and generates its bindings.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    simd_warning();
    avx512_kernel_source();
    #[cfg(feature = "header")]
    header();
    #[cfg(feature = "c-ref")]
    c_ref();
}

/// A build for an x86-64 target without AVX2 and FMA (the default when nanobragg is a
/// dependency and the dependant sets no `-C target-cpu`) gets the slower baseline SIMD kernel
/// on CPUs without AVX-512, whose single-precision results differ in the last bits: say so
/// instead of staying silent.
fn simd_warning() {
    let arch = std::env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    let features = std::env::var("CARGO_CFG_TARGET_FEATURE").unwrap_or_default();
    let has = |f: &str| features.split(',').any(|x| x == f);
    if arch == "x86_64" && !(has("avx2") && has("fma")) {
        println!(
            "cargo:warning=nanobragg is built for x86-64 without AVX2/FMA: its single-precision kernel runs on SSE2 (on AVX-512 only where the CPU has it), slower and with last-bit differences; for AVX2 + FMA set RUSTFLAGS=\"-C target-cpu=x86-64-v3\" (README: \"Using nanobragg as a dependency\")"
        );
    }
}

/// The instruction sets of the SIMD kernel's run-time AVX-512 variant (`simd::x16rt`).
const AVX512_FEATURES: &str = "avx512f,avx512dq,avx512vl,avx512bw,avx2,fma";

/// The SIMD kernel's source (`src/kernel/simd/lanes.rs`) for the 16-lane module chosen at run
/// time on AVX-512 CPUs: every function that is not `#[inline(always)]` (also written
/// `#[cfg_attr(not(debug_assertions), inline(always))]`) and not a trait method gets
/// `#[target_feature(enable = AVX512_FEATURES)]`, so that the whole kernel is compiled for
/// AVX-512 and the vector types' intrinsics inline into it (a function without the features
/// could not inline them). In debug builds the helpers are then ordinary functions without the
/// features: correct, calling the intrinsics out of line. The unit tests at the end are left
/// out (they run in the 8-lane module). Written to `$OUT_DIR/lanes_avx512.rs`.
fn avx512_kernel_source() {
    let src_path = "src/kernel/simd/lanes.rs";
    println!("cargo:rerun-if-changed={src_path}");
    let src = std::fs::read_to_string(src_path).expect("read src/kernel/simd/lanes.rs");
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR").unwrap());
    std::fs::write(out.join("lanes_avx512.rs"), with_target_features(&src))
        .expect("write lanes_avx512.rs");
}

/// See [`avx512_kernel_source`]. Relies on rustfmt's layout: a trait impl opens with a line
/// `impl … for … {` at column 0 and closes with `}` at column 0; attributes are on their own
/// lines above the item.
fn with_target_features(src: &str) -> String {
    let mut out = String::with_capacity(src.len() + 4096);
    let mut in_trait_impl = false;
    let mut inline_always = false;
    for line in src.lines() {
        if line.starts_with("#[cfg(test)]") {
            break;
        }
        let t = line.trim_start();
        if line.starts_with("impl") && line.contains(" for ") && line.ends_with('{') {
            in_trait_impl = true;
        } else if line == "}" {
            in_trait_impl = false;
        }
        let is_fn = ["fn ", "pub fn ", "pub(crate) fn ", "pub(super) fn "]
            .iter()
            .any(|p| t.starts_with(p));
        if is_fn && !in_trait_impl && !inline_always {
            let indent = &line[..line.len() - t.len()];
            out.push_str(&format!(
                "{indent}#[target_feature(enable = \"{AVX512_FEATURES}\")]\n"
            ));
        }
        // `#[inline(always)]`, or `#[cfg_attr(not(debug_assertions), inline(always))]`
        if t.starts_with("#[") && t.contains("inline(always)") {
            inline_always = true;
        } else if !(t.starts_with("#[") || t.starts_with("///") || t.starts_with("//")) {
            inline_always = false;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

#[cfg(feature = "header")]
fn header() {
    use std::path::PathBuf;
    let dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap());
    // cbindgen reads the whole crate (a public constant anywhere is exported), so any source
    // change can change the header: the staleness test must see a fresh one
    println!("cargo:rerun-if-changed=src");
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
